//! Adding a device without typing the passphrase (FORMAT.md §3.1): this device writes a
//! one-time invitation to a target and shows its setup code; the new device joins with the code
//! and uses the invitation up. Invitations this device made are removed once they expire.

use crate::docs::Replica;
use crate::error::{Error, Result};
use crate::format::crypto::WorkspaceKey;
use crate::format::epoch::{EpochId, EpochSecret};
use crate::format::invite::{self, CodeTarget, SetupCode};
use crate::store;
use crate::transport::{Target, TargetKind, Transport};
use crate::workspace::{epochs, Clock, Workspace};
use serde::{Deserialize, Serialize};

/// How long a setup code works unless the user says otherwise: long enough to walk to the
/// other device, short enough that a code seen over a shoulder is soon worth nothing.
pub const DEFAULT_INVITE_MS: i64 = 60 * 60 * 1000;

/// An invitation this device wrote and has not seen expire: removed from its target once it
/// has (store meta `invitations`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
struct Pending {
    target: String,
    path: String,
    expires_at: i64,
}

const PENDING_KEY: &str = "invitations";

fn pending(replica: &Replica) -> Result<Vec<Pending>> {
    Ok(store::meta(&replica.conn, PENDING_KEY)?
        .and_then(|v| serde_json::from_str(&v).ok())
        .unwrap_or_default())
}

fn keep_pending(replica: &Replica, list: &[Pending]) -> Result<()> {
    let text = serde_json::to_string(list).expect("plain data serializes");
    Ok(store::set_meta(&replica.conn, PENDING_KEY, &text)?)
}

/// A sentence for a code that cannot be used (any more).
fn used_or_expired() -> Error {
    Error::Invalid(
        "this setup code was already used, or it expired: make a new one on one of your devices (Add a device) and try again".into(),
    )
}

impl Workspace {
    /// Makes a one-time setup code for a new device, valid for `valid_ms`, on the target
    /// `target` (an id, a prefix or a location; `None`: the first target).
    pub fn invite(&self, target: Option<&str>, valid_ms: i64) -> Result<SetupCode> {
        let t = match target {
            Some(q) => self.replica.find_target(q)?,
            None => self.targets()?.into_iter().next().ok_or_else(|| {
                Error::Invalid(
                    "this device does not sync with a folder or server yet: share the workspace first, then add a device".into(),
                )
            })?,
        };
        let tr = self.replica.transport_for(&t)?;
        self.invite_with(&t, tr.as_ref(), valid_ms)
    }

    /// Withdraws a setup code this device made before it is used: its invitation is removed
    /// from its target, so the code opens nothing from now on.
    pub fn cancel_invite(&self, code: &SetupCode) -> Result<()> {
        let r = &self.replica;
        let mut list = pending(r)?;
        let path = code.file_path();
        let Some(p) = list.iter().find(|p| p.path == path).cloned() else {
            return Err(Error::Invalid("this setup code was not made on this device".into()));
        };
        let t = self.targets()?.into_iter().find(|t| t.id == p.target);
        if let Some(t) = t {
            r.transport_for(&t)?.remove(&path)?;
        }
        list.retain(|q| q.path != path);
        keep_pending(r, &list)
    }

    /// [`Workspace::invite`] with a given transport (tests pass their own).
    pub fn invite_with(&self, t: &Target, tr: &dyn Transport, valid_ms: i64) -> Result<SetupCode> {
        if !self.replica.keys.epoch0().is_encrypted() {
            return Err(Error::Invalid(
                "this workspace is not encrypted, so a new device needs no code: join it with the plaintext option".into(),
            ));
        }
        if valid_ms <= 0 {
            return Err(Error::Invalid("a setup code must stay valid for some time".into()));
        }
        let r = &self.replica;
        let expires_at = r.now().saturating_add(valid_ms);
        let target = CodeTarget { kind: t.kind.as_str().into(), location: t.location.clone() };
        // The newest key this device writes with, and which epoch it is (FORMAT.md §5.2).
        let epoch = store::epochs::newest(&r.conn)?;
        let key = crate::docs::replica::epoch_key(&r.conn, &r.keys, &epoch)?;
        let named = (!epoch.is_zero())
            .then_some(invite::InvitedEpoch { client_id: epoch.client, index: epoch.index });
        let (code, file) = invite::create(r.workspace, &key, named, r.client, expires_at, target)?;
        tr.write_new(&code.file_path(), &file)?;
        let mut list = pending(r)?;
        list.push(Pending { target: t.id.clone(), path: code.file_path(), expires_at });
        keep_pending(r, &list)?;
        Ok(code)
    }

    /// Joins the workspace on `target` as a new device with a setup code instead of the
    /// passphrase, and uses the code up (its invitation is removed from the target before
    /// anything is written here, so a code works once). A code that expired, was used, or is
    /// for another workspace is refused in a sentence, and `dir` is left untouched.
    pub fn join_with_code(
        dir: &std::path::Path,
        kind: TargetKind,
        target: &dyn Transport,
        code: &SetupCode,
        clock: Clock,
    ) -> Result<Self> {
        let m = Self::joinable(dir, target)?;
        let location = target.location();
        if m.workspace_id != code.workspace {
            return Err(Error::Invalid(format!(
                "this setup code is for another workspace than the one in {location}: check the folder or server, or ask for a new code"
            )));
        }
        let path = code.file_path();
        if clock() > code.expires_at {
            let _ = target.remove(&path);
            return Err(used_or_expired());
        }
        let file = target.read(&path)?.ok_or_else(used_or_expired)?;
        let inv = code.open(&file)?;
        // A later key epoch's key (version 2) leads to the first key through its record.
        let epoch = match inv.epoch {
            None => None,
            Some(e) => {
                let started = EpochId { client: e.client_id, index: e.index };
                let secret = EpochSecret::parse(inv.identity.as_bytes())?;
                let (lamport, keys) = epochs::read_record(target, &m, &started, &secret)?;
                Some((started, lamport, keys))
            }
        };
        let key = match &epoch {
            None => WorkspaceKey::parse(&inv.identity, &m.workspace_id)?,
            Some((_, _, keys)) => epochs::first_key(keys, &m.workspace_id),
        };
        let why = "the invitation's key does not match the workspace's recipient";
        Self::check_key(&key, &m, target, why)?;
        // Used up before this device exists: a code that cannot be used up is not used, and of
        // two devices that read the invitation at once only the one that removes it joins.
        if !target.remove(&path)? {
            return Err(used_or_expired());
        }
        let mut ws = Self::joined(dir, kind, target, &m, key, clock)?;
        if let Some((started, lamport, keys)) = epoch {
            ws.replica.learn_epoch(started, lamport, None, &keys)?;
        }
        Ok(ws)
    }
}

impl Replica {
    /// Removes from target `t` the invitations this device wrote there that have expired (one
    /// request each, only while such invitations exist: an idle cycle costs nothing more).
    pub(crate) fn sweep_invitations(&self, t: &Target, tr: &dyn Transport) -> Result<()> {
        let list = pending(self)?;
        if list.is_empty() {
            return Ok(());
        }
        let now = self.now();
        let mut kept = Vec::new();
        for p in list {
            if p.target == t.id && p.expires_at < now {
                if let Err(e) = tr.remove(&p.path) {
                    tracing::warn!("could not remove an expired invitation: {e}");
                    kept.push(p);
                }
            } else {
                kept.push(p);
            }
        }
        keep_pending(self, &kept)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicI64, Ordering};
    use std::sync::Arc;

    use super::*;
    use crate::transport::Folder;
    use crate::workspace::{system_clock, DB_FILE};

    fn clock_at(now: &Arc<AtomicI64>) -> Clock {
        let now = now.clone();
        Box::new(move || now.load(Ordering::SeqCst))
    }

    #[test]
    fn a_code_adds_one_device_once_and_expires() {
        let tmp = tempfile::tempdir().unwrap();
        let shared = tmp.path().join("shared");
        std::fs::create_dir_all(&shared).unwrap();
        let folder = Folder::new(shared.to_str().unwrap());
        let now = Arc::new(AtomicI64::new(1_800_000_000_000));
        let mut a = Workspace::init(&tmp.path().join("a"), false, clock_at(&now)).unwrap();
        let t = a.add_target(TargetKind::Folder, &folder, Some("pass phrase"), 2).unwrap();
        a.new_note("from a", "x").unwrap();
        a.sync_all(&mut |_| {}).unwrap();

        let code = a.invite(None, DEFAULT_INVITE_MS).unwrap();
        assert_eq!(code.target.location, t.location);
        let text = code.to_text();
        assert!(shared.join(code.file_path()).exists());
        // A new device joins with the code alone, and the code is used up.
        let code = SetupCode::parse(&text).unwrap();
        let join = |name: &str, code: &SetupCode| {
            Workspace::join_with_code(
                &tmp.path().join(name),
                TargetKind::Folder,
                &folder,
                code,
                system_clock(),
            )
        };
        let mut b = join("b", &code).unwrap();
        b.sync_all(&mut |_| {}).unwrap();
        assert_eq!(b.list(None).unwrap()[0].title, "from a");
        assert!(!shared.join(code.file_path()).exists(), "used up");
        let err = join("c", &code).err().unwrap();
        assert!(err.to_string().contains("already used, or it expired"), "{err}");
        assert!(!tmp.path().join("c").join(DB_FILE).exists(), "nothing written");

        // An expired code opens nothing, even while its file is still there.
        let old = a.invite(None, 1000).unwrap();
        let late = Workspace::join_with_code(
            &tmp.path().join("d"),
            TargetKind::Folder,
            &folder,
            &old,
            Box::new(|| 1_800_000_002_000),
        );
        assert!(late.err().unwrap().to_string().contains("expired"));
        // A code that was never used: its device removes it once it has expired.
        let unused = a.invite(None, 1000).unwrap();
        assert!(shared.join(unused.file_path()).exists());
        now.fetch_add(5000, Ordering::SeqCst);
        a.sync_all(&mut |_| {}).unwrap();
        assert!(!shared.join(unused.file_path()).exists(), "swept");
        // Left to sweep: the used code's (its file is gone; removing it at its expiry is a no-op).
        let left = pending(&a.replica).unwrap();
        assert_eq!(left.iter().map(|p| p.path.clone()).collect::<Vec<_>>(), [code.file_path()]);
        // Only the entries' folders and index.json are left: invitations leave nothing.
        let left: Vec<_> = std::fs::read_dir(shared.join("invites")).unwrap().collect();
        assert!(left.is_empty(), "{left:?}");

        // A code withdrawn before it is used opens nothing.
        let withdrawn = a.invite(None, 60_000).unwrap();
        a.cancel_invite(&withdrawn).unwrap();
        assert!(!shared.join(withdrawn.file_path()).exists());
        assert!(join("g", &withdrawn).err().unwrap().to_string().contains("already used"));
        // A code of another workspace is refused in words.
        let other = Workspace::init(&tmp.path().join("e"), false, system_clock()).unwrap();
        let foreign =
            SetupCode { workspace: other.workspace_id(), ..a.invite(None, 60_000).unwrap() };
        let err = join("f", &foreign).err().unwrap();
        assert!(err.to_string().contains("another workspace"), "{err}");
        let _ = &mut a;
    }
}
