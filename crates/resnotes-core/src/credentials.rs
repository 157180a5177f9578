//! Passwords of WebDAV targets: kept in a file per target under `<data-dir>/credentials/`,
//! readable only by the user (mode 0600), never in the database, the log, `status` or messages.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

fn file(dir: &Path, target: &str) -> PathBuf {
    dir.join("credentials").join(target)
}

/// Stores a target's password.
pub fn save(dir: &Path, target: &str, password: &str) -> Result<PathBuf> {
    use std::io::Write;
    let folder = dir.join("credentials");
    std::fs::create_dir_all(&folder).map_err(|e| Error::io(format!("cannot create {}", folder.display()), e))?;
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
    let mut f = opts.open(&path).map_err(|e| Error::io(format!("cannot write {}", path.display()), e))?;
    f.write_all(password.as_bytes()).and_then(|_| f.sync_all()).map_err(|e| Error::io(format!("cannot write {}", path.display()), e))?;
    Ok(path)
}

/// A target's password, if one is stored.
pub fn load(dir: &Path, target: &str) -> Option<String> {
    std::fs::read_to_string(file(dir, target)).ok()
}

/// Forgets a target's password.
pub fn remove(dir: &Path, target: &str) {
    let _ = std::fs::remove_file(file(dir, target));
}
