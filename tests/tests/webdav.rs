//! The WebDAV target against real servers on loopback: Apache mod_dav_fs and rclone.

use resnotes_e2e::dav::DavServer;
use resnotes_e2e::{files_under, Sandbox};

fn converge_through(server: &DavServer, s: &Sandbox) {
    let (a, b) = (s.device("a"), s.device("b"));
    a.ok(&["init", "--webdav", &server.url, "--user", resnotes_e2e::dav::USER]);
    let id = a.new_note("Over WebDAV", "first line\nsecond line");
    a.ok(&["sync"]);
    b.ok(&["join", "--webdav", &server.url, "--user", resnotes_e2e::dav::USER]);
    assert_eq!(b.body(&id), "first line\nsecond line");
    a.ok(&["edit", &id, "--body", "FIRST line\nsecond line"]);
    b.ok(&["edit", &id, "--body", "first line\nsecond line, edited on b"]);
    a.ok(&["sync"]);
    b.ok(&["sync"]);
    a.ok(&["sync"]);
    for d in [&a, &b] {
        assert_eq!(d.body(&id), "FIRST line\nsecond line, edited on b", "{}", server.kind);
        assert_eq!(d.status()["pending"], 0);
    }
    // The server holds exactly the folder layout, and no readable text.
    let files = files_under(&server.root);
    assert!(files.iter().any(|(n, _)| n == "index.json"), "{:?}", files.iter().map(|f| &f.0).collect::<Vec<_>>());
    assert!(files.iter().any(|(n, _)| n.ends_with("/changes/1/0.age")));
    for (name, bytes) in &files {
        for canary in ["Over WebDAV", "second line", "edited on b"] {
            assert!(!bytes.windows(canary.len()).any(|w| w == canary.as_bytes()), "{canary} readable in {name}");
        }
    }
    // Neither the password nor the user's secret shows in status or target list.
    let status = a.ok(&["status", "--json"]) + &a.ok(&["target", "list", "--json"]);
    assert!(!status.contains(resnotes_e2e::dav::PASSWORD));
}

#[test]
fn apache_mod_dav_two_devices_converge_and_idle_is_cheap() {
    let s = Sandbox::new();
    let server = DavServer::apache(&s.folder("apache"));
    converge_through(&server, &s);
    // An idle cycle costs a small, fixed number of requests, not one per entry.
    let a = s.device("a");
    for i in 0..5 {
        a.new_note(&format!("more {i}"), "x");
        a.ok(&["sync"]);
    }
    a.ok(&["sync"]);
    let before = server.requests_logged();
    a.ok(&["sync"]);
    let idle = server.requests_logged() - before;
    // Root check, index.json, one listing, and per device (2): stat the newest entry known to be
    // there, try the next, stat the one after (gap check) — FORMAT.md §7.
    assert_eq!(idle, 3 + 2 * 3, "an idle cycle made {idle} requests");
}

#[test]
fn rclone_two_devices_converge() {
    let s = Sandbox::new();
    let server = DavServer::rclone(&s.folder("rclone"));
    converge_through(&server, &s);
}

#[test]
fn wrong_password_is_clear_and_retries_nothing() {
    let s = Sandbox::new();
    let server = DavServer::apache(&s.folder("apache"));
    let a = s.device("a");
    a.ok(&["init", "--webdav", &server.url, "--user", resnotes_e2e::dav::USER]);
    let mut b = s.device("b");
    b.webdav_password = "wrong".into();
    let before = server.requests_logged();
    let err = b.fails(&["join", "--webdav", &server.url, "--user", resnotes_e2e::dav::USER]);
    assert!(err.contains("check user and password"), "{err}");
    assert!(!err.contains("wrong"), "the password is never printed: {err}");
    assert!(server.requests_logged() - before <= 2, "no retry storm on 401");
    assert!(!b.dir.join("resnotes.db").exists());
    // A URL with credentials in it is accepted but never shown.
    let url = server.url.replace("http://", &format!("http://{}:{}@", resnotes_e2e::dav::USER, resnotes_e2e::dav::PASSWORD));
    let c = s.device("c");
    c.ok(&["join", "--webdav", &url]);
    let listed = c.ok(&["target", "list"]) + &c.ok(&["status"]);
    assert!(!listed.contains(resnotes_e2e::dav::PASSWORD), "{listed}");
}

#[test]
fn folder_and_webdav_are_relayed_by_a_device_in_both() {
    let s = Sandbox::new();
    let server = DavServer::apache(&s.folder("apache"));
    let folder = s.folder("usb");
    let (a, b, c) = (s.device("a"), s.device("b"), s.device("c"));
    a.ok(&["init", "--webdav", &server.url, "--user", resnotes_e2e::dav::USER]);
    let from_a = a.new_note("from A", "via WebDAV");
    a.ok(&["sync"]);
    b.ok(&["join", "--webdav", &server.url, "--user", resnotes_e2e::dav::USER]);
    b.ok(&["target", "add", "folder", folder.to_str().unwrap()]);
    b.ok(&["sync"]);
    c.ok(&["join", "--folder", folder.to_str().unwrap()]);
    assert_eq!(c.body(&from_a), "via WebDAV");
    let from_c = c.new_note("from C", "via the folder");
    c.ok(&["sync"]);
    b.ok(&["sync"]);
    a.ok(&["sync"]);
    assert_eq!(a.body(&from_c), "via the folder");
    // Entries are byte-identical on both targets.
    let a_id = a.client_id();
    assert_eq!(files_under(&server.root.join(&a_id)), files_under(&folder.join(&a_id)));
}

#[test]
fn server_stopped_mid_sync_loses_nothing() {
    let s = Sandbox::new();
    let mut server = DavServer::apache(&s.folder("apache"));
    let (a, b) = (s.device("a"), s.device("b"));
    a.ok(&["init", "--webdav", &server.url, "--user", resnotes_e2e::dav::USER]);
    b.ok(&["join", "--webdav", &server.url, "--user", resnotes_e2e::dav::USER]);
    server.stop();
    let id = a.new_note("offline", "written while the server was down");
    let (ok, err) = a.sync();
    assert!(!ok && err.contains("not reachable"), "{err}");
    assert_eq!(a.status()["pending"], 1);
    server.restart();
    let (ok, err) = a.sync();
    assert!(ok, "{err}");
    b.ok(&["sync"]);
    assert_eq!(b.body(&id), "written while the server was down");
}
