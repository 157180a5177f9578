//! An in-memory target for tests, able to inject faults: unreachable, failing reads or writes,
//! truncated reads (a file still being copied) and lost files (a restored old backup).

use std::collections::BTreeMap;
use std::sync::Mutex;

use super::{Transport, TransportError, Written};

/// A fault to inject on the next operations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Every operation fails as unreachable.
    Offline,
    /// Writes fail (disk full, permission).
    FailWrites,
    /// Reads of paths containing this text fail.
    FailReadsOf(String),
    /// Every operation after the first `n` served fails as unreachable: a cut (power loss, a
    /// killed process, a dropped network) at any point of a cycle.
    CutAfter(u64),
}

/// In-memory files keyed by path, plus active faults and an operation counter.
#[derive(Default)]
pub struct Memory {
    name: String,
    files: Mutex<BTreeMap<String, Vec<u8>>>,
    faults: Mutex<Vec<Fault>>,
    ops: Mutex<u64>,
    /// How many times each path was read whole.
    reads: Mutex<BTreeMap<String, u64>>,
}

impl Memory {
    /// An empty target called `memory:<name>`.
    pub fn new(name: &str) -> Self {
        Memory { name: format!("memory:{name}"), ..Self::default() }
    }
    /// Turns a fault on.
    pub fn inject(&self, f: Fault) {
        self.faults.lock().unwrap().push(f);
    }
    /// Turns all faults off.
    pub fn heal(&self) {
        self.faults.lock().unwrap().clear();
    }
    /// Replaces a file's bytes directly (to simulate damage or truncation).
    pub fn put_raw(&self, path: &str, bytes: Vec<u8>) {
        self.files.lock().unwrap().insert(path.to_string(), bytes);
    }
    /// Removes every file whose path starts with `prefix` (a folder that went backwards).
    pub fn remove_prefix(&self, prefix: &str) {
        self.files.lock().unwrap().retain(|k, _| !k.starts_with(prefix));
    }
    /// A copy of all files.
    pub fn snapshot(&self) -> BTreeMap<String, Vec<u8>> {
        self.files.lock().unwrap().clone()
    }
    /// Number of operations served so far.
    pub fn ops(&self) -> u64 {
        *self.ops.lock().unwrap()
    }
    /// How many times `path` was read whole (downloaded) so far.
    pub fn reads_of(&self, path: &str) -> u64 {
        self.reads.lock().unwrap().get(path).copied().unwrap_or(0)
    }

    fn gate(&self, op: &'static str, path: &str, write: bool) -> Result<(), TransportError> {
        let served = {
            let mut ops = self.ops.lock().unwrap();
            *ops += 1;
            *ops - 1
        };
        for f in self.faults.lock().unwrap().iter() {
            let hit = match f {
                Fault::Offline => true,
                Fault::FailWrites => write,
                Fault::FailReadsOf(s) => !write && path.contains(s.as_str()),
                Fault::CutAfter(n) => served >= *n,
            };
            if hit {
                if matches!(f, Fault::Offline | Fault::CutAfter(_)) {
                    return Err(TransportError::Unreachable {
                        location: self.location(),
                        reason: "injected: offline".into(),
                    });
                }
                return Err(TransportError::Failed {
                    location: self.location(),
                    op,
                    path: path.into(),
                    reason: "injected fault".into(),
                });
            }
        }
        Ok(())
    }
}

impl Transport for Memory {
    fn location(&self) -> String {
        self.name.clone()
    }
    fn check(&self) -> Result<(), TransportError> {
        self.gate("check", "", false)
    }
    fn read(&self, path: &str) -> Result<Option<Vec<u8>>, TransportError> {
        self.gate("read", path, false)?;
        *self.reads.lock().unwrap().entry(path.to_string()).or_default() += 1;
        Ok(self.files.lock().unwrap().get(path).cloned())
    }
    fn size(&self, path: &str) -> Result<Option<u64>, TransportError> {
        self.gate("stat", path, false)?;
        Ok(self.files.lock().unwrap().get(path).map(|b| b.len() as u64))
    }
    fn exists(&self, path: &str) -> Result<bool, TransportError> {
        self.gate("stat", path, false)?;
        Ok(self.files.lock().unwrap().contains_key(path))
    }
    fn list(&self, dir: &str) -> Result<Vec<String>, TransportError> {
        self.gate("list", dir, false)?;
        let prefix = if dir.is_empty() { String::new() } else { format!("{dir}/") };
        let mut names: Vec<String> = self
            .files
            .lock()
            .unwrap()
            .keys()
            .filter_map(|k| k.strip_prefix(&prefix))
            .map(|rest| rest.split('/').next().unwrap_or("").to_string())
            .collect();
        names.dedup();
        Ok(names)
    }
    fn remove(&self, path: &str) -> Result<bool, TransportError> {
        self.gate("remove", path, true)?;
        Ok(self.files.lock().unwrap().remove(path).is_some())
    }
    fn overwrite(&self, path: &str, bytes: &[u8]) -> Result<(), TransportError> {
        self.gate("write", path, true)?;
        self.files.lock().unwrap().insert(path.to_string(), bytes.to_vec());
        Ok(())
    }
    fn write_new(&self, path: &str, bytes: &[u8]) -> Result<Written, TransportError> {
        self.gate("write", path, true)?;
        let mut files = self.files.lock().unwrap();
        match files.get(path) {
            Some(existing) if existing == bytes => Ok(Written::AlreadyPresent),
            Some(_) => {
                Err(TransportError::Conflict { location: self.name.clone(), path: path.into() })
            }
            None => {
                files.insert(path.to_string(), bytes.to_vec());
                Ok(Written::Created)
            }
        }
    }
}
