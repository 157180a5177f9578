//! Passwords of WebDAV targets, for this device only: in the OS keyring (Secret Service on
//! Linux, Keychain on macOS, Credential Manager on Windows) when one answers, else in a file per
//! target under `<data-dir>/credentials/` readable only by the user (mode 0600). Never in the
//! database, the log, `status` or messages.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Keyring service name; the account is `<target>@<data dir>`, so data dirs never collide.
const SERVICE: &str = "resilient-notes";

/// Where a password was stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Place {
    /// The OS keyring.
    Keyring,
    /// A file readable only by the user (no keyring answered).
    File(PathBuf),
}

fn file(dir: &Path, target: &str) -> PathBuf {
    dir.join("credentials").join(target)
}

/// Whether to try the OS keyring: not when `RESNOTES_NO_KEYRING` is set, and on Linux only with
/// a D-Bus session (without one, libdbus would try to start a bus of its own).
fn keyring_usable() -> bool {
    if std::env::var_os("RESNOTES_NO_KEYRING").is_some() {
        return false;
    }
    !cfg!(target_os = "linux") || std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some()
}

fn entry(dir: &Path, target: &str) -> Option<keyring::Entry> {
    keyring::Entry::new(SERVICE, &format!("{target}@{}", dir.display())).ok()
}

/// Stores a target's password: in the keyring if possible, else in a file.
pub(crate) fn save(dir: &Path, target: &str, password: &str) -> Result<Place> {
    if keyring_usable() {
        match entry(dir, target).map(|e| e.set_password(password)) {
            Some(Ok(())) => {
                let _ = std::fs::remove_file(file(dir, target));
                return Ok(Place::Keyring);
            }
            Some(Err(e)) => tracing::info!("no OS keyring ({e}); storing the password in a file"),
            None => {}
        }
    }
    save_file(dir, target, password).map(Place::File)
}

fn save_file(dir: &Path, target: &str, password: &str) -> Result<PathBuf> {
    use std::io::Write;
    let folder = dir.join("credentials");
    std::fs::create_dir_all(&folder)
        .map_err(|e| Error::io(format!("cannot create {}", folder.display()), e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o700));
    }
    let path = file(dir, target);
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f =
        opts.open(&path).map_err(|e| Error::io(format!("cannot write {}", path.display()), e))?;
    f.write_all(password.as_bytes())
        .and_then(|_| f.sync_all())
        .map_err(|e| Error::io(format!("cannot write {}", path.display()), e))?;
    Ok(path)
}

/// A target's password, if one is stored (the file first: it needs no round trip).
pub(crate) fn load(dir: &Path, target: &str) -> Option<String> {
    if let Ok(p) = std::fs::read_to_string(file(dir, target)) {
        return Some(p);
    }
    if keyring_usable() {
        return entry(dir, target).and_then(|e| e.get_password().ok());
    }
    None
}

/// Forgets a target's password, wherever it is.
pub(crate) fn remove(dir: &Path, target: &str) {
    let _ = std::fs::remove_file(file(dir, target));
    if keyring_usable() {
        if let Some(e) = entry(dir, target) {
            let _ = e.delete_credential();
        }
    }
}
