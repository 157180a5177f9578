//! Passwords of WebDAV targets, for this device only: in the OS keyring (Secret Service on
//! Linux, Keychain on macOS, Credential Manager on Windows) when one answers, else in a file per
//! target under `<data-dir>/credentials/` readable only by the user (mode 0600). Never in the
//! database, the log, `status` or messages.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::store::secrets;

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

fn account(dir: &Path, target: &str) -> String {
    // `<target>@<data dir>`, so data dirs never collide.
    format!("{target}@{}", dir.display())
}

/// Stores a target's password: in the keyring if possible, else in a file.
pub(crate) fn save(dir: &Path, target: &str, password: &str) -> Result<Place> {
    if secrets::keyring_set(&account(dir, target), password) {
        let _ = std::fs::remove_file(file(dir, target));
        return Ok(Place::Keyring);
    }
    save_file(dir, target, password).map(Place::File)
}

fn save_file(dir: &Path, target: &str, password: &str) -> Result<PathBuf> {
    let folder = dir.join("credentials");
    std::fs::create_dir_all(&folder)
        .map_err(|e| Error::io(format!("cannot create {}", folder.display()), e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o700));
    }
    let path = file(dir, target);
    secrets::write_private_file(&path, password)
        .map_err(|e| Error::io(format!("cannot write {}", path.display()), e))?;
    Ok(path)
}

/// A target's password, if one is stored (the file first: it needs no round trip).
pub(crate) fn load(dir: &Path, target: &str) -> Option<String> {
    if let Ok(p) = std::fs::read_to_string(file(dir, target)) {
        return Some(p);
    }
    secrets::keyring_get(&account(dir, target))
}

/// Forgets a target's password, wherever it is.
pub(crate) fn remove(dir: &Path, target: &str) {
    let _ = std::fs::remove_file(file(dir, target));
    secrets::keyring_delete(&account(dir, target));
}
