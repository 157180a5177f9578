//! The main window never leaves the app: a navigation allow-list (a link in a note, or a
//! script that got in, cannot load an attacker's page into the window, which has no address
//! bar to show where it is). Web links open in the system browser, and only after the UI has
//! shown the full address and the user clicked "Open" (the `open_link` command).

use tauri::plugin::{Builder, TauriPlugin};
use tauri::{Runtime, Url};

/// Whether the window may load `url`: the app's own pages (`tauri://localhost`, and
/// `http(s)://tauri.localhost` where the platform serves them so) and `about:blank`.
pub fn allowed(url: &Url) -> bool {
    match url.scheme() {
        "tauri" => url.host_str() == Some("localhost"),
        "http" | "https" => url.host_str() == Some("tauri.localhost"),
        "about" => url.path() == "blank",
        _ => false,
    }
}

/// A plugin that refuses every other navigation of every webview of the app.
pub fn guard<R: Runtime>() -> TauriPlugin<R> {
    Builder::new("navigation-guard")
        .on_navigation(|_webview, url| {
            let ok = allowed(url);
            if !ok {
                // The scheme only: the address may come from a note (its text stays out of logs).
                tracing::warn!("refused to navigate the window to a {}: address", url.scheme());
            }
            ok
        })
        .build()
}

/// Whether `url` may be handed to the system browser: web and mail links only (never a file,
/// a custom scheme or a script).
pub fn openable(url: &Url) -> bool {
    matches!(url.scheme(), "http" | "https" | "mailto")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_apps_own_pages_load_and_only_web_links_open() {
        let u = |s: &str| Url::parse(s).unwrap();
        for ok in [
            "tauri://localhost/",
            "tauri://localhost/index.html",
            "http://tauri.localhost/",
            "about:blank",
        ] {
            assert!(allowed(&u(ok)), "{ok}");
        }
        for bad in [
            "https://evil.example/login",
            "http://localhost:8080/",
            "tauri://evil/",
            "file:///etc/passwd",
            "javascript:alert(1)",
            "data:text/html,<script>1</script>",
        ] {
            assert!(!allowed(&u(bad)), "{bad}");
        }
        assert!(openable(&u("https://example.org/a?b")) && openable(&u("mailto:a@b.c")));
        for bad in
            ["file:///etc/passwd", "javascript:alert(1)", "smb://host/share", "tauri://localhost/"]
        {
            assert!(!openable(&u(bad)), "{bad}");
        }
    }
}
