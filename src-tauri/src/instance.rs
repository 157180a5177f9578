//! One app per data dir: the first instance listens on `app.sock` in the data dir; a second
//! one started on the same dir asks it to bring its window to the front and exits, so one
//! database is never opened by two windows. Instances on other data dirs run side by side.

use std::io::{Read, Write};
use std::path::Path;

use tauri::{AppHandle, Manager};

#[cfg(unix)]
type Listener = std::os::unix::net::UnixListener;
#[cfg(not(unix))]
type Listener = ();

/// The outcome of [`claim`].
pub enum Claim {
    /// This is the first instance (None when the socket could not be made; then it runs
    /// without the check).
    First(Option<Listener>),
    /// Another instance runs on this dir and was asked to show itself.
    Running,
}

/// Claims the data dir for this process.
#[cfg(unix)]
pub fn claim(dir: &Path) -> Claim {
    use std::os::unix::net::{UnixListener, UnixStream};
    let sock = dir.join("app.sock");
    if let Ok(mut s) = UnixStream::connect(&sock) {
        let _ = s.write_all(b"focus\n");
        let mut ack = [0u8; 2];
        if s.read_exact(&mut ack).is_ok() && &ack == b"ok" {
            return Claim::Running;
        }
    }
    // A socket file nobody listens on is left over from a crash.
    let _ = std::fs::remove_file(&sock);
    match UnixListener::bind(&sock) {
        Ok(l) => Claim::First(Some(l)),
        Err(e) => {
            tracing::warn!(
                "cannot create {}: {e}; a second app on this data dir will not be detected",
                sock.display()
            );
            Claim::First(None)
        }
    }
}

#[cfg(not(unix))]
pub fn claim(_dir: &Path) -> Claim {
    Claim::First(None)
}

/// Answers later instances: shows, unminimizes and focuses the main window.
pub fn serve(listener: Listener, app: AppHandle) {
    #[cfg(unix)]
    std::thread::spawn(move || {
        for mut conn in listener.incoming().flatten() {
            let mut buf = [0u8; 6];
            if conn.read_exact(&mut buf).is_ok() && &buf == b"focus\n" {
                if let Some(w) = app.get_webview_window("main") {
                    let _ = w.unminimize();
                    let _ = w.show();
                    let _ = w.set_focus();
                }
                let _ = conn.write_all(b"ok");
            }
        }
    });
    #[cfg(not(unix))]
    let _ = (listener, app);
}
