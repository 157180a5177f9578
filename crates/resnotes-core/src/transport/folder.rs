//! A shared folder (Dropbox, iCloud, Syncthing, a network share, a USB stick) as a target.

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use super::{AtPath, Transport, TransportError, Written};
use crate::format::stream::copy_with_progress;

/// Temp files older than this are left over from a crashed writer and are removed.
const ORPHAN_AGE: std::time::Duration = std::time::Duration::from_secs(600);

/// Whether `name` is one of our temp files (`.<entry name>.<random>.tmp`).
pub fn is_temp_name(name: &str) -> bool {
    name.starts_with('.') && name.ends_with(".tmp")
}

/// Removes temp files older than `age` in `dir`: a writer killed between staging and publishing
/// leaves one behind. Readers never look at them; younger ones may belong to a live writer.
fn sweep_orphans(dir: &Path, age: std::time::Duration) {
    let Ok(rd) = fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        let name = e.file_name();
        if !name.to_str().is_some_and(is_temp_name) {
            continue;
        }
        let old = e
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|d| d >= age);
        if old {
            let _ = fs::remove_file(e.path());
        }
    }
}

/// A workspace folder on the local file system.
#[derive(Debug, Clone)]
pub struct Folder {
    root: PathBuf,
    batch_sync: bool,
}

impl Folder {
    /// A folder target rooted at `root` (which must exist when syncing).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Folder { root: root.into(), batch_sync: true }
    }

    /// With `false`, every file is fsynced on its own instead of once per batch (for
    /// benchmarks comparing the two).
    pub fn with_batch_sync(mut self, on: bool) -> Self {
        self.batch_sync = on;
        self
    }

    /// The root folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn full(&self, path: &str) -> PathBuf {
        let mut p = self.root.clone();
        for part in path.split('/').filter(|s| !s.is_empty()) {
            p.push(part);
        }
        p
    }

    /// Opens a file for reading only if it is a plain file: not a symbolic link (a shared folder
    /// must not make this device read files elsewhere on it), not a device or a pipe (reading one
    /// never ends, opening a pipe would wait). Returns the file and its length, `None` if absent.
    fn open_plain(&self, path: &str) -> Result<Option<(File, u64)>, TransportError> {
        let mut opts = OpenOptions::new();
        opts.read(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
        }
        let f = match opts.open(self.full(path)) {
            Ok(f) => f,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            #[cfg(unix)]
            Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
                return Err(self.refuse(path, "it is a symbolic link".into()))
            }
            Err(e) => return Err(self.fail("read", path, e)),
        };
        let meta = f.metadata().map_err(|e| self.fail("read", path, e))?;
        if !meta.is_file() {
            return Err(
                self.refuse(path, "it is not a plain file (a folder, device or pipe)".into())
            );
        }
        Ok(Some((f, meta.len())))
    }

    /// A file in the folder that is refused whatever its content.
    fn refuse(&self, path: &str, why: String) -> TransportError {
        TransportError::Failed {
            location: self.location(),
            op: "read",
            path: path.to_string(),
            reason: format!("{why}; it was not read"),
        }
    }

    fn fail(&self, op: &'static str, path: &str, e: std::io::Error) -> TransportError {
        // A full disk (ENOSPC) or an exceeded quota (EDQUOT) gets a sentence that says what to do.
        let full = matches!(e.kind(), ErrorKind::StorageFull | ErrorKind::QuotaExceeded);
        let reason = if full {
            "the disk is full; free some space there, the entries wait on this device and are written later".to_string()
        } else {
            e.to_string()
        };
        TransportError::Failed { location: self.location(), op, path: path.to_string(), reason }
    }

    /// Creates a hidden temp file beside `dest` and lets `write` fill it (fsynced unless
    /// `defer_sync`, in which case the caller flushes the whole batch at once); returns the
    /// temp path. Entries are written in one call, attachments streamed.
    fn stage(
        &self,
        path: &str,
        dest: &Path,
        defer_sync: bool,
        write: impl FnOnce(&mut File) -> std::io::Result<()>,
    ) -> Result<PathBuf, TransportError> {
        let dir = dest.parent().expect("entry paths have a parent");
        create_dirs(dir).map_err(|e| self.fail("create folder for", path, e))?;
        let name = dest.file_name().and_then(|n| n.to_str()).unwrap_or("entry");
        let tmp = dir.join(format!(".{name}.{}.tmp", uuid::Uuid::new_v4().simple()));
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(|e| self.fail("write", path, e))?;
        let res = write(&mut f).and_then(|_| if defer_sync { Ok(()) } else { f.sync_all() });
        if let Err(e) = res {
            let _ = fs::remove_file(&tmp);
            return Err(self.fail("write", path, e));
        }
        Ok(tmp)
    }

    /// Moves a staged file to `dest` unless a file is there: `Ok(false)` when one is (the staged
    /// file is removed and the caller compares). `hard_link` fails if `dest` appeared meanwhile,
    /// so another writer's file is never replaced; file systems without hard links (FAT, some
    /// network shares) fall back to rename.
    fn place_new(&self, path: &str, tmp: &Path, dest: &Path) -> Result<bool, TransportError> {
        let placed = if dest.exists() {
            Err(ErrorKind::AlreadyExists.into())
        } else {
            fs::hard_link(tmp, dest).or_else(|e| {
                if e.kind() == ErrorKind::AlreadyExists {
                    Err(e)
                } else {
                    fs::rename(tmp, dest)
                }
            })
        };
        let _ = fs::remove_file(tmp);
        match placed {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(self.fail("rename", path, e)),
        }
    }

    /// Replaces a file at `dest` (a cut-off copy, or a forged entry) with a staged file, whole.
    fn replace(&self, path: &str, tmp: &Path, dest: &Path) -> Result<Written, TransportError> {
        fs::rename(tmp, dest).map_err(|e| {
            let _ = fs::remove_file(tmp);
            self.fail("rename", path, e)
        })?;
        if let Some(d) = dest.parent() {
            sync_dir(d);
        }
        Ok(Written::Created)
    }

    fn compare_existing(
        &self,
        path: &str,
        dest: &Path,
        bytes: &[u8],
    ) -> Result<Written, TransportError> {
        let Some(existing) = self.read(path)? else {
            return Err(self.fail("read", path, ErrorKind::NotFound.into()));
        };
        if existing == bytes {
            Ok(Written::AlreadyPresent)
        } else if existing.len() < bytes.len() && bytes.starts_with(&existing) {
            // A copy cut short (by a sync tool or a crash of a non-atomic writer): replace it whole.
            let tmp = self.stage(path, dest, false, |f| f.write_all(bytes))?;
            self.replace(path, &tmp, dest)
        } else {
            Err(TransportError::Conflict { location: self.location(), path: path.to_string() })
        }
    }
}

/// Flushes every dirty page of the file system holding `root` (Linux `syncfs`): one call makes a
/// whole batch of staged files durable, instead of one fsync per file.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)] // the engine's one unsafe call: libc has no safe syncfs
fn sync_file_system(root: &Path) -> bool {
    use std::os::fd::AsRawFd;
    match File::open(root) {
        // SAFETY: syncfs only reads the descriptor, which stays open for the call.
        Ok(f) => unsafe { libc::syncfs(f.as_raw_fd()) == 0 },
        Err(_) => false,
    }
}

#[cfg(not(target_os = "linux"))]
fn sync_file_system(_root: &Path) -> bool {
    false
}

/// Creates `dir` and its missing parents, and fsyncs the folder holding each new one: a folder's
/// name is an entry in its parent, and without that fsync a power cut can take back a new folder
/// (and every entry fsynced inside it) on file systems without a journal (ext2, FAT).
fn create_dirs(dir: &Path) -> std::io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let missing: Vec<&Path> = dir.ancestors().take_while(|p| !p.exists()).collect();
    fs::create_dir_all(dir)?;
    for new in missing {
        if let Some(parent) = new.parent() {
            sync_dir(parent);
        }
    }
    Ok(())
}

fn sync_dir(dir: &Path) {
    // Directory fsync makes the renames durable; not every platform/file system supports it.
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

impl Transport for Folder {
    fn location(&self) -> String {
        self.root.display().to_string()
    }

    fn check(&self) -> Result<(), TransportError> {
        match fs::metadata(&self.root) {
            Ok(m) if m.is_dir() => Ok(()),
            Ok(_) => Err(TransportError::Unreachable {
                location: self.location(),
                reason: "not a folder".into(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(TransportError::Unreachable {
                    location: self.location(),
                    reason: "the folder does not exist (is the drive or share connected?)".into(),
                })
            }
            Err(e) => Err(TransportError::Unreachable {
                location: self.location(),
                reason: e.to_string(),
            }),
        }
    }

    fn create_root(&self) -> Result<(), TransportError> {
        if self.root.exists() {
            return self.check();
        }
        let parent = self.root.parent().filter(|p| !p.as_os_str().is_empty());
        match parent {
            Some(p) if p.is_dir() => {
                create_dirs(&self.root).map_err(|e| TransportError::Unreachable {
                    location: self.location(),
                    reason: format!("it could not be created ({e})"),
                })
            }
            _ => Err(TransportError::Unreachable {
                location: self.location(),
                reason: format!(
                    "{} does not exist either; create it first or choose another folder",
                    parent.map_or_else(|| "its parent".into(), |p| p.display().to_string())
                ),
            }),
        }
    }

    fn read(&self, path: &str) -> Result<Option<Vec<u8>>, TransportError> {
        use std::io::Read;
        let max = super::MAX_READ_BYTES;
        let too_big = || {
            self.refuse(
                path,
                format!("it is larger than {} MiB, more than any entry can be", max >> 20),
            )
        };
        let Some((f, len)) = self.open_plain(path)? else { return Ok(None) };
        if len > max {
            return Err(too_big());
        }
        let mut bytes = Vec::with_capacity(len as usize);
        // `take` bounds a file that grows while it is read.
        f.take(max + 1).read_to_end(&mut bytes).map_err(|e| self.fail("read", path, e))?;
        if bytes.len() as u64 > max {
            return Err(too_big());
        }
        Ok(Some(bytes))
    }

    fn exists(&self, path: &str) -> Result<bool, TransportError> {
        match fs::metadata(self.full(path)) {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
            Err(e) => Err(self.fail("stat", path, e)),
        }
    }

    fn list(&self, dir: &str) -> Result<Vec<String>, TransportError> {
        let rd = match fs::read_dir(self.full(dir)) {
            Ok(rd) => rd,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(vec![]),
            Err(e) => return Err(self.fail("list", dir, e)),
        };
        let mut names = Vec::new();
        for item in rd {
            let item = item.map_err(|e| self.fail("list", dir, e))?;
            if let Some(n) = item.file_name().to_str() {
                names.push(n.to_string());
            }
        }
        names.sort();
        Ok(names)
    }

    fn write_new(&self, path: &str, bytes: &[u8]) -> Result<Written, TransportError> {
        self.write_batch(&[(path.to_string(), bytes.to_vec())]).pop().expect("one result")
    }

    fn make_durable(&self, path: &str) -> Result<(), TransportError> {
        let full = self.full(path);
        let flush = |p: &Path| fs::File::open(p).and_then(|f| f.sync_all());
        flush(&full).map_err(|e| self.fail("flush", path, e))?;
        // The folder's entry for it too; not every file system can flush a folder.
        if let Some(dir) = full.parent() {
            let _ = flush(dir);
        }
        Ok(())
    }

    fn remove(&self, path: &str) -> Result<bool, TransportError> {
        match fs::remove_file(self.full(path)) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
            Err(e) => Err(self.fail("remove", path, e)),
        }
    }

    fn overwrite(&self, path: &str, bytes: &[u8]) -> Result<(), TransportError> {
        // Staged, made durable, then renamed over the old file: a reader sees the old file or
        // the new one, never a mix.
        let dest = self.full(path);
        let tmp = self.stage(path, &dest, false, |f| f.write_all(bytes))?;
        self.replace(path, &tmp, &dest).map(|_| ())
    }

    fn write_batch(&self, files: &[(String, Vec<u8>)]) -> Vec<Result<Written, TransportError>> {
        // Stage every file, make them all durable (one syncfs on Linux, else one fsync each),
        // then publish them all, then fsync each folder once.
        let defer = self.batch_sync && cfg!(target_os = "linux") && files.len() > 1;
        let mut swept = std::collections::BTreeSet::new();
        for (path, _) in files {
            if let Some(dir) = self.full(path).parent() {
                if swept.insert(dir.to_path_buf()) {
                    sweep_orphans(dir, ORPHAN_AGE);
                }
            }
        }
        let staged: Vec<_> = files
            .iter()
            .map(|(path, bytes)| {
                let dest = self.full(path);
                if dest.exists() {
                    return Ok((None, dest));
                }
                self.stage(path, &dest, defer, |f| f.write_all(bytes)).map(|t| (Some(t), dest))
            })
            .collect();
        if defer && !sync_file_system(&self.root) {
            // syncfs failed: fall back to one fsync per staged file.
            for (tmp, _) in staged.iter().flatten() {
                if let Some(t) = tmp {
                    if let Ok(f) = File::open(t) {
                        let _ = f.sync_all();
                    }
                }
            }
        }
        let mut dirs = std::collections::BTreeSet::new();
        let results = files
            .iter()
            .zip(staged)
            .map(|((path, bytes), st)| {
                let (tmp, dest) = st?;
                match tmp {
                    None => self.compare_existing(path, &dest, bytes),
                    Some(tmp) => {
                        let r = match self.place_new(path, &tmp, &dest) {
                            Ok(true) => Ok(Written::Created),
                            Ok(false) => self.compare_existing(path, &dest, bytes),
                            Err(e) => Err(e),
                        };
                        if let Some(d) = dest.parent() {
                            dirs.insert(d.to_path_buf());
                        }
                        r
                    }
                }
            })
            .collect();
        for d in dirs {
            sync_dir(&d);
        }
        results
    }

    fn size(&self, path: &str) -> Result<Option<u64>, TransportError> {
        match fs::metadata(self.full(path)) {
            Ok(m) => Ok(Some(m.len())),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.fail("stat", path, e)),
        }
    }

    fn download(
        &self,
        path: &str,
        dest: &Path,
        limit: u64,
        progress: &mut dyn FnMut(u64),
    ) -> Result<bool, TransportError> {
        use std::io::Read;
        let Some((src, _)) = self.open_plain(path)? else { return Ok(false) };
        let mut out =
            File::create(dest).map_err(|e| super::local_failure(self, "save", path, e))?;
        let n = copy_with_progress(src.take(limit.saturating_add(1)), &mut out, progress)
            .map_err(|e| self.fail("read", path, e))?;
        if n > limit {
            return Err(super::too_large(self, path, limit));
        }
        Ok(true)
    }

    fn upload(
        &self,
        path: &str,
        src: &Path,
        progress: &mut dyn FnMut(u64),
    ) -> Result<Written, TransportError> {
        let dest = self.full(path);
        let len = fs::metadata(src)
            .map_err(|e| super::local_failure(self, "read local copy of", path, e))?
            .len();
        let replace = match AtPath::of(self.size(path)?, len) {
            AtPath::SameLength => return self.compare_files(path, src, &dest),
            AtPath::Longer => {
                return Err(TransportError::Conflict {
                    location: self.location(),
                    path: path.to_string(),
                })
            }
            AtPath::CutOff => true,
            AtPath::Nothing => false,
        };
        sweep_orphans(dest.parent().expect("asset paths have a parent"), ORPHAN_AGE);
        let input = File::open(src)
            .map_err(|e| super::local_failure(self, "read local copy of", path, e))?;
        let tmp =
            self.stage(path, &dest, false, |f| copy_with_progress(input, f, progress).map(|_| ()))?;
        if replace {
            // A cut-off copy of this asset: replace it whole.
            return self.replace(path, &tmp, &dest);
        }
        if !self.place_new(path, &tmp, &dest)? {
            return self.compare_files(path, src, &dest);
        }
        sync_dir(dest.parent().expect("asset paths have a parent"));
        Ok(Written::Created)
    }
}

impl Folder {
    /// Compares two files of equal length chunk by chunk.
    fn compare_files(
        &self,
        path: &str,
        src: &Path,
        dest: &Path,
    ) -> Result<Written, TransportError> {
        use std::io::Read;
        let open = |p: &Path| File::open(p).map(std::io::BufReader::new);
        let (mut a, mut b) = match (open(src), open(dest)) {
            (Ok(a), Ok(b)) => (a, b),
            (Err(e), _) | (_, Err(e)) => return Err(self.fail("read", path, e)),
        };
        let (mut x, mut y) = (vec![0u8; 64 * 1024], vec![0u8; 64 * 1024]);
        loop {
            let n = a.read(&mut x).map_err(|e| self.fail("read", path, e))?;
            if n == 0 {
                return Ok(Written::AlreadyPresent);
            }
            b.read_exact(&mut y[..n]).map_err(|e| self.fail("read", path, e))?;
            if x[..n] != y[..n] {
                return Err(TransportError::Conflict {
                    location: self.location(),
                    path: path.to_string(),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_temp_files_are_swept_young_ones_and_entries_kept() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        for n in [".0.age.abc.tmp", ".1.age.def.tmp", "0.age", "notes.txt"] {
            fs::write(dir.join(n), b"x").unwrap();
        }
        sweep_orphans(dir, std::time::Duration::from_secs(3600));
        assert_eq!(fs::read_dir(dir).unwrap().count(), 4, "young temp files stay");
        sweep_orphans(dir, std::time::Duration::ZERO);
        let mut left: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(left, vec!["0.age", "notes.txt"]);
    }

    #[test]
    fn append_only_writes() {
        let dir = tempfile::tempdir().unwrap();
        let f = Folder::new(dir.path());
        assert_eq!(f.read("a/b/1.age").unwrap(), None);
        assert_eq!(f.write_new("a/b/1.age", b"one").unwrap(), Written::Created);
        assert_eq!(f.write_new("a/b/1.age", b"one").unwrap(), Written::AlreadyPresent);
        assert!(matches!(f.write_new("a/b/1.age", b"two"), Err(TransportError::Conflict { .. })));
        assert_eq!(f.read("a/b/1.age").unwrap().unwrap(), b"one");
        // A torn copy (a strict prefix) is replaced whole; a longer file is a conflict.
        assert_eq!(f.write_new("a/b/1.age", b"one and more").unwrap(), Written::Created);
        assert_eq!(f.read("a/b/1.age").unwrap().unwrap(), b"one and more");
        assert!(matches!(f.write_new("a/b/1.age", b"one"), Err(TransportError::Conflict { .. })));
        assert_eq!(f.list("a/b").unwrap(), vec!["1.age".to_string()], "no temp file left behind");
        assert_eq!(f.list("missing").unwrap(), Vec::<String>::new());
        assert!(Folder::new(dir.path().join("nope")).check().is_err());
    }

    #[test]
    fn streamed_uploads_follow_the_same_rules() {
        let dir = tempfile::tempdir().unwrap();
        let f = Folder::new(dir.path().join("t"));
        let local = dir.path().join("local");
        let big: Vec<u8> = (0..300_000u32).map(|i| i as u8).collect();
        fs::write(&local, &big).unwrap();
        let mut seen = 0;
        assert_eq!(
            f.upload("c/assets/1/0.age", &local, &mut |n| seen = n).unwrap(),
            Written::Created
        );
        assert_eq!(seen, big.len() as u64);
        assert_eq!(
            f.upload("c/assets/1/0.age", &local, &mut |_| ()).unwrap(),
            Written::AlreadyPresent
        );
        assert_eq!(f.size("c/assets/1/0.age").unwrap(), Some(big.len() as u64));
        // Cut-off copy: replaced whole.
        fs::write(dir.path().join("t/c/assets/1/0.age"), &big[..1000]).unwrap();
        assert_eq!(f.upload("c/assets/1/0.age", &local, &mut |_| ()).unwrap(), Written::Created);
        let out = dir.path().join("out");
        assert!(f.download("c/assets/1/0.age", &out, u64::MAX, &mut |_| ()).unwrap());
        assert_eq!(fs::read(&out).unwrap(), big);
        assert!(
            matches!(
                f.download("c/assets/1/0.age", &out, 1000, &mut |_| ()),
                Err(TransportError::Failed { .. })
            ),
            "a file longer than the limit is refused"
        );
        assert!(!f.download("c/assets/1/1.age", &out, u64::MAX, &mut |_| ()).unwrap());
        // Same length, other bytes: a conflict, left untouched.
        let mut other = big.clone();
        other[5] ^= 1;
        fs::write(&local, &other).unwrap();
        assert!(matches!(
            f.upload("c/assets/1/0.age", &local, &mut |_| ()),
            Err(TransportError::Conflict { .. })
        ));
        assert_eq!(fs::read(dir.path().join("t/c/assets/1/0.age")).unwrap(), big);
        assert_eq!(f.list("c/assets/1").unwrap(), vec!["0.age".to_string()]);
    }
}
