//! Connecting a device that already has notes to sync: what a chosen folder holds, and joining
//! another device's workspace without losing the notes written here before.
//!
//! The app starts on a local workspace of its own, so "join" cannot simply create a fresh data
//! dir as `resnotes join` does: the notes written offline are copied into the joined workspace
//! and the old database is kept in `replaced-<time>/` inside the data dir.

use std::path::Path;

use serde::Serialize;
use ts_rs::TS;
use uuid::Uuid;

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::transport::{read_manifest, Folder, Target, TargetKind, Transport, WebDav};
use crate::workspace::{check_passphrase, Clock, Workspace, DB_FILE, KEY_FILE};
pub use crate::workspace::{strength, Strength};

/// A sync target as a user describes it in a settings form.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TargetSpec {
    /// A local, mounted or synced folder (absolute path).
    Folder {
        /// Absolute path.
        path: String,
    },
    /// A directory on a WebDAV server.
    Webdav {
        /// `https://…` (or `http://` on a trusted network) of the directory.
        url: String,
        /// User name, if the server asks for one.
        username: Option<String>,
        /// Password; stored for this device only, never written to the target or the log.
        password: Option<String>,
        /// Sends the password over plain `http://` to a host that is not this machine: only
        /// when the user chose to, for a network they trust (refused otherwise).
        #[serde(default)]
        #[ts(optional)]
        allow_http: Option<bool>,
    },
    /// A bucket (and prefix) of an S3-compatible object store.
    S3 {
        /// `s3://bucket/prefix?endpoint=…&region=…` (README, "S3").
        url: String,
        /// Access key; without one, the standard AWS environment variables or profile file are
        /// used at every sync (and nothing is stored).
        access_key: Option<String>,
        /// Secret key of the access key; stored for this device only.
        secret_key: Option<String>,
    },
}

impl TargetSpec {
    /// The kind of target described.
    pub fn kind(&self) -> TargetKind {
        match self {
            TargetSpec::Folder { .. } => TargetKind::Folder,
            TargetSpec::Webdav { .. } => TargetKind::Webdav,
            TargetSpec::S3 { .. } => TargetKind::S3,
        }
    }

    /// The transport for this target (checks the path or URL, not the connection).
    pub fn transport(&self) -> Result<Box<dyn Transport>> {
        match self {
            TargetSpec::Folder { path } => {
                let p = path.trim();
                if p.is_empty() || !Path::new(p).is_absolute() {
                    return Err(Error::Invalid(format!(
                        "choose a folder with its full path (got '{p}')"
                    )));
                }
                Ok(Box::new(Folder::new(p)))
            }
            TargetSpec::Webdav { url, username, password, allow_http } => {
                let user =
                    username.as_deref().map(str::trim).filter(|u| !u.is_empty()).map(String::from);
                let pass = password.clone().filter(|p| !p.is_empty());
                let dav = WebDav::new(url.trim(), user, pass)?;
                if dav.sends_password_in_clear() && *allow_http != Some(true) {
                    return Err(Error::Invalid(format!(
                        "{} would send your WebDAV password unencrypted (http://) over the network; use its https:// address, or allow plain http only for a network you trust",
                        dav.location()
                    )));
                }
                Ok(Box::new(dav))
            }
            TargetSpec::S3 { url, .. } => {
                let (key, secret) = self.s3_keys();
                Ok(TargetKind::S3.connect(url.trim(), key, secret)?)
            }
        }
    }

    /// The user name and password (S3: access key and secret key) to store for this device:
    /// those the user gave, never keys read from the AWS environment.
    pub fn credentials(&self, dav: &dyn Transport) -> (Option<String>, Option<String>) {
        match self {
            TargetSpec::Folder { .. } => (None, None),
            // The URL may carry credentials too; the transport has taken them out of it.
            TargetSpec::Webdav { .. } => dav.credentials(),
            // Keys given by the user are stored; those of the AWS environment are read again at
            // every sync (they may be rotated there).
            TargetSpec::S3 { .. } => self.s3_keys(),
        }
    }

    /// The access key and secret key the user typed (trimmed; empty is none).
    fn s3_keys(&self) -> (Option<String>, Option<String>) {
        let TargetSpec::S3 { access_key, secret_key, .. } = self else { return (None, None) };
        let access_key = access_key.as_deref().map(str::trim).filter(|v| !v.is_empty());
        let secret_key = secret_key.as_deref().filter(|v| !v.is_empty());
        (access_key.map(String::from), secret_key.map(String::from))
    }
}

/// Adds `spec` to this device's workspace: an empty target becomes the shared workspace (a
/// passphrase is needed when the workspace has never been shared), one of this workspace is
/// added as it is. Credentials are stored for this device. Returns the target and where the
/// password was stored when no system keyring holds it.
pub fn share(
    ws: &Workspace,
    spec: &TargetSpec,
    passphrase: Option<&str>,
    log_n: u8,
) -> Result<(Target, Option<std::path::PathBuf>)> {
    let tr = spec.transport()?;
    tr.create_root()?;
    if !ws.manifest_known()? && inspect(ws, tr.as_ref())? == Contents::Empty {
        check_passphrase(passphrase.unwrap_or(""))?;
    }
    let target = ws.add_target(spec.kind(), tr.as_ref(), passphrase, log_n)?;
    let (user, pass) = spec.credentials(tr.as_ref());
    let stored = if user.is_some() || pass.is_some() {
        ws.set_credentials(&target.id, user.as_deref(), pass.as_deref())?
    } else {
        None
    };
    Ok((target, stored))
}

/// What a folder (or server directory) chosen as a sync target holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Contents {
    /// Nothing (but sync-tool junk): this device's workspace can be shared there.
    Empty,
    /// This device's own workspace: it can be added as one more target.
    ThisWorkspace,
    /// Another workspace: it can be joined, with its passphrase if `encrypted`.
    OtherWorkspace {
        /// Whether a passphrase is needed.
        encrypted: bool,
    },
    /// A folder that does not exist yet, in a folder that does: it can be created
    /// ([`create_folder`]) after the user agrees.
    Missing,
}

/// Looks at the target `spec` describes ([`inspect`]); a folder that does not exist yet but
/// whose parent does is [`Contents::Missing`] (the app offers to create it), one whose parent is
/// missing too is an error that names the missing part.
pub fn inspect_spec(ws: &Workspace, spec: &TargetSpec) -> Result<Contents> {
    let tr = spec.transport()?;
    if let TargetSpec::Folder { path } = spec {
        let p = Path::new(path.trim());
        if !p.exists() {
            return match p.parent().filter(|d| d.is_dir()) {
                Some(_) => Ok(Contents::Missing),
                None => Err(Error::Invalid(format!(
                    "{} does not exist, and neither does {}; create it first or choose another folder",
                    p.display(),
                    p.parent().map_or_else(|| "its parent".into(), |d| d.display().to_string())
                ))),
            };
        }
    }
    inspect(ws, tr.as_ref())
}

/// Creates the folder `spec` names (its last part only), after the user agreed to
/// [`Contents::Missing`].
pub fn create_folder(spec: &TargetSpec) -> Result<()> {
    Ok(spec.transport()?.create_root()?)
}

/// Looks at `target` for [`Contents`]. A folder with other files, an unreadable `index.json`
/// or an unreachable target is an error that says so.
pub fn inspect(ws: &Workspace, target: &dyn Transport) -> Result<Contents> {
    target.check()?;
    match read_manifest(target)? {
        Some(m) => {
            if m.workspace_id == ws.workspace_id() {
                Ok(Contents::ThisWorkspace)
            } else {
                Ok(Contents::OtherWorkspace { encrypted: m.encryption.key_wrap.is_some() })
            }
        }
        None if target.list("")?.iter().any(|n| !crate::format::path::is_ignored_name(n)) => {
            Err(Error::FolderNotEmpty(target.location()))
        }
        None => Ok(Contents::Empty),
    }
}

/// Joins the workspace on `target` from a data dir that already holds a workspace with no
/// targets: checks the passphrase first (a wrong one changes nothing), copies every live note
/// into the joined workspace, keeps the old database in `replaced-<ms>/` and puts the joined one
/// in its place. No workspace may be open on `dir` while this runs. Returns the notes carried.
pub fn join_keeping_notes(
    dir: &Path,
    spec: &TargetSpec,
    passphrase: Option<&str>,
    accept_plaintext: bool,
    clock: Clock,
    now_ms: i64,
) -> Result<usize> {
    join_keeping_notes_by(dir, spec, now_ms, |staging, kind, target| {
        Workspace::join(staging, kind, target, passphrase, accept_plaintext, clock)
    })
}

/// [`join_keeping_notes`] with a setup code (FORMAT.md §3.1) instead of the passphrase: the
/// code is used up as the joined workspace is made (a wrong one changes nothing here).
pub fn join_keeping_notes_with_code(
    dir: &Path,
    spec: &TargetSpec,
    code: &crate::format::invite::SetupCode,
    clock: Clock,
    now_ms: i64,
) -> Result<usize> {
    join_keeping_notes_by(dir, spec, now_ms, |staging, kind, target| {
        Workspace::join_with_code(staging, kind, target, code, clock)
    })
}

/// The work of [`join_keeping_notes`]: `join` makes the new workspace in the staging dir.
fn join_keeping_notes_by(
    dir: &Path,
    spec: &TargetSpec,
    now_ms: i64,
    join: impl FnOnce(&Path, TargetKind, &dyn Transport) -> Result<Workspace>,
) -> Result<usize> {
    let tr = spec.transport()?;
    let (kind, target) = (spec.kind(), tr.as_ref());
    let old = Workspace::open(dir)?;
    if let Some(t) = old.targets()?.first() {
        return Err(Error::Invalid(format!(
            "this device already syncs its own workspace with {}; remove that target before joining another workspace",
            t.location
        )));
    }
    let staging = dir.join(format!("joining-{}", Uuid::new_v4().simple()));
    let joined = (|| -> Result<usize> {
        let mut new = join(&staging, kind, target)?;
        let mut carried = 0;
        for summary in old.list(None)? {
            let note = old.note(&summary.id)?;
            new.new_note(&note.title, &note.body)?;
            carried += 1;
        }
        // The new device keeps the name this one had.
        if let Some(name) = old.device_name()? {
            new.name_this_device(&name)?;
        }
        // Seal while this is still the only device writing, so the notes sync as few entries.
        new.seal_pending(crate::sync::SEAL_MAX_CHANGES, crate::sync::SEAL_MAX_BYTES)?;
        Ok(carried)
    })();
    let carried = match joined {
        Ok(n) => n,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(e);
        }
    };
    // Both connections close here, so their write-ahead logs are folded into the databases.
    drop(old);
    let backup = dir.join(format!("replaced-{now_ms}"));
    std::fs::create_dir_all(&backup)
        .map_err(|e| Error::io(format!("cannot create {}", backup.display()), e))?;
    let files = [
        DB_FILE.to_string(),
        format!("{DB_FILE}-wal"),
        format!("{DB_FILE}-shm"),
        KEY_FILE.to_string(),
        crate::docs::DEVICE_KEY_FILE.to_string(),
    ];
    let moves = |from: &Path, to: &Path| -> Result<()> {
        for f in &files {
            let src = from.join(f);
            if src.exists() {
                std::fs::rename(&src, to.join(f))
                    .map_err(|e| Error::io(format!("cannot move {}", src.display()), e))?;
            }
        }
        Ok(())
    };
    moves(dir, &backup)?;
    moves(&staging, dir)?;
    let _ = std::fs::remove_dir_all(&staging);
    let (user, pass) = spec.credentials(target);
    if user.is_some() || pass.is_some() {
        let ws = Workspace::open(dir)?;
        let t = ws.find_target(&target.location())?;
        ws.set_credentials(&t.id, user.as_deref(), pass.as_deref())?;
    }
    Ok(carried)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clock() -> Clock {
        Box::new(|| 1_700_000_000_000)
    }

    #[test]
    fn joining_keeps_offline_notes_and_a_wrong_passphrase_changes_nothing() {
        std::env::set_var("RESNOTES_TEST_ONLY_WEAK_SCRYPT_LOG_N", "10");
        let tmp = tempfile::tempdir().unwrap();
        let (a_dir, b_dir, shared) =
            (tmp.path().join("a"), tmp.path().join("b"), tmp.path().join("shared"));
        std::fs::create_dir_all(&shared).unwrap();
        let folder = Folder::new(shared.to_str().unwrap());
        let spec = TargetSpec::Folder { path: shared.to_str().unwrap().into() };

        let mut a = Workspace::init(&a_dir, false, clock()).unwrap();
        a.new_note("From A", "written on A").unwrap();
        assert_eq!(inspect(&a, &folder).unwrap(), Contents::Empty);
        assert_eq!(share(&a, &spec, Some("short"), 10).unwrap_err().code(), "weak_passphrase");
        share(&a, &spec, Some("correct horse battery"), 10).unwrap();
        assert_eq!(inspect(&a, &folder).unwrap(), Contents::ThisWorkspace);
        a.sync_all(&mut |_| {}).unwrap();

        let mut b = Workspace::init(&b_dir, false, clock()).unwrap();
        b.new_note("Offline on B", "keep me").unwrap();
        assert_eq!(inspect(&b, &folder).unwrap(), Contents::OtherWorkspace { encrypted: true });
        drop(b);

        let err = join_keeping_notes(&b_dir, &spec, Some("wrong passphrase!"), false, clock(), 5)
            .unwrap_err();
        assert_eq!(err.code(), "wrong_passphrase");
        let b = Workspace::open(&b_dir).unwrap();
        assert_eq!(b.list(None).unwrap().len(), 1);
        assert_ne!(b.workspace_id(), a.workspace_id());
        assert_eq!(
            std::fs::read_dir(&b_dir)
                .unwrap()
                .filter(|e| e
                    .as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with("joining-"))
                .count(),
            0
        );
        drop(b);

        assert_eq!(
            join_keeping_notes(&b_dir, &spec, Some("correct horse battery"), false, clock(), 6)
                .unwrap(),
            1
        );
        assert!(b_dir.join("replaced-6").join(DB_FILE).exists());
        let mut b = Workspace::open(&b_dir).unwrap();
        assert_eq!(b.workspace_id(), a.workspace_id());
        b.sync_all(&mut |_| {}).unwrap();
        a.sync_all(&mut |_| {}).unwrap();
        let titles = |w: &Workspace| {
            let mut t: Vec<String> = w.list(None).unwrap().into_iter().map(|n| n.title).collect();
            t.sort();
            t
        };
        assert_eq!(titles(&a), vec!["From A", "Offline on B"]);
        assert_eq!(titles(&b), titles(&a));
        // The joined device goes on signing with the key its first entries were signed with
        // (its key moved with its database): its next entries reach A too.
        b.new_note("After the join", "from B").unwrap();
        b.sync_all(&mut |_| {}).unwrap();
        let reports = a.sync_all(&mut |_| {}).unwrap();
        assert!(reports.iter().all(|r| r.problems.is_empty()), "{reports:?}");
        assert_eq!(titles(&a), vec!["After the join", "From A", "Offline on B"]);

        // A device that already syncs is refused rather than silently switched.
        drop(b);
        let other = tmp.path().join("other");
        std::fs::create_dir_all(&other).unwrap();
        let c = Workspace::init(&tmp.path().join("c"), false, clock()).unwrap();
        c.add_target(
            TargetKind::Folder,
            &Folder::new(other.to_str().unwrap()),
            Some("another passphrase"),
            10,
        )
        .unwrap();
        drop(c);
        let err = join_keeping_notes(
            &tmp.path().join("c"),
            &spec,
            Some("correct horse battery"),
            false,
            clock(),
            7,
        )
        .unwrap_err();
        assert_eq!(err.code(), "invalid_input");
    }

    #[test]
    fn a_password_is_never_sent_in_the_clear_unless_allowed() {
        let spec = |url: &str, allow_http: Option<bool>| TargetSpec::Webdav {
            url: url.into(),
            username: Some("me".into()),
            password: Some("pw".into()),
            allow_http,
        };
        let err = spec("http://cloud.example.org/dav/", None).transport().err().unwrap();
        assert!(err.to_string().contains("unencrypted (http://)"), "{err}");
        assert!(spec("http://cloud.example.org/dav/", Some(false)).transport().is_err());
        assert!(spec("http://cloud.example.org/dav/", Some(true)).transport().is_ok());
        assert!(spec("https://cloud.example.org/dav/", None).transport().is_ok());
        assert!(spec("http://127.0.0.1:8080/dav/", None).transport().is_ok(), "loopback");
    }
}
