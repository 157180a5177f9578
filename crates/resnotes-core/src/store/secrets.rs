//! Secrets this device keeps outside the database (the workspace key, WebDAV passwords): in the
//! OS keyring (Secret Service on Linux, Keychain on macOS, Credential Manager on Windows) when
//! one answers, else in files readable only by the user (mode 0600, written and synced).

use std::path::Path;

/// Keyring service name of every secret of this program.
const SERVICE: &str = "resilient-notes";

/// Whether to try the OS keyring: not when `RESNOTES_NO_KEYRING` is set, and on Linux only with
/// a D-Bus session (without one, libdbus would try to start a bus of its own).
pub(crate) fn keyring_usable() -> bool {
    if std::env::var_os("RESNOTES_NO_KEYRING").is_some() {
        return false;
    }
    !cfg!(target_os = "linux") || std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some()
}

fn entry(account: &str) -> Option<keyring::Entry> {
    if !keyring_usable() {
        return None;
    }
    keyring::Entry::new(SERVICE, account).ok()
}

/// Stores `secret` under `account` in the OS keyring; false when no keyring took it (the
/// caller falls back to a private file).
pub(crate) fn keyring_set(account: &str, secret: &str) -> bool {
    match entry(account).map(|e| e.set_password(secret)) {
        Some(Ok(())) => true,
        Some(Err(e)) => {
            tracing::info!("no OS keyring ({e}); keeping the secret in a file only you can read");
            false
        }
        None => false,
    }
}

/// The secret stored under `account`, if a keyring answers and holds it.
pub(crate) fn keyring_get(account: &str) -> Option<String> {
    entry(account).and_then(|e| e.get_password().ok())
}

/// Forgets the secret under `account` in the keyring (nothing when none answers).
pub(crate) fn keyring_delete(account: &str) {
    if let Some(e) = entry(account) {
        let _ = e.delete_credential();
    }
}

/// Writes `text` to `path`, readable and writable only by the user, synced to disk.
pub(crate) fn write_private_file(path: &Path, text: &str) -> std::io::Result<()> {
    private_file(path, text, false)
}

/// Like [`write_private_file`], but only when no file is there yet (another process may have
/// made one a moment ago): `AlreadyExists` then, and the file is left as it is.
pub(crate) fn create_private_file(path: &Path, text: &str) -> std::io::Result<()> {
    private_file(path, text, true)
}

fn private_file(path: &Path, text: &str, new: bool) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    if new {
        opts.write(true).create_new(true);
    } else {
        opts.write(true).create(true).truncate(true);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()
}
