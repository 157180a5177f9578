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
    assert!(
        files.iter().any(|(n, _)| n == "index.json"),
        "{:?}",
        files.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
    assert!(files.iter().any(|(n, _)| n.ends_with("/changes/1/0.age")));
    for (name, bytes) in &files {
        for canary in ["Over WebDAV", "second line", "edited on b"] {
            assert!(
                !bytes.windows(canary.len()).any(|w| w == canary.as_bytes()),
                "{canary} readable in {name}"
            );
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
    // After a passphrase change the keys/ folder is there, and an idle cycle costs no more.
    let mut a = a;
    a.passphrase = "a new passphrase for the server".into();
    a.ok(&["passphrase", "change"]);
    assert!(server.root.join("keys").read_dir().unwrap().next().is_some());
    a.ok(&["sync"]);
    let before = server.requests_logged();
    a.ok(&["sync"]);
    let idle = server.requests_logged() - before;
    assert_eq!(idle, 3 + 2 * 3, "an idle cycle after a passphrase change made {idle} requests");
}

/// `init --webdav` on a collection that does not exist yet creates it (MKCOL); when its parent
/// is missing too, the error names the parent and nothing is created.
#[test]
fn a_new_webdav_collection_is_created_when_only_its_last_part_is_missing() {
    let s = Sandbox::new();
    let server = DavServer::apache(&s.folder("apache"));
    let (a, b) = (s.device("a"), s.device("b"));
    let url = format!("{}fresh/", server.url);
    a.ok(&["init", "--webdav", &url, "--user", resnotes_e2e::dav::USER]);
    assert!(server.root.join("fresh").join("index.json").exists());
    let deep = format!("{}missing/notes/", server.url);
    let err = b.fails(&["init", "--webdav", &deep, "--user", resnotes_e2e::dav::USER]);
    assert!(err.contains("missing/ does not exist on the server either"), "{err}");
    assert!(!server.root.join("missing").exists());
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
    let url = server.url.replace(
        "http://",
        &format!("http://{}:{}@", resnotes_e2e::dav::USER, resnotes_e2e::dav::PASSWORD),
    );
    let c = s.device("c");
    c.ok(&["join", "--webdav", &url]);
    let listed = c.ok(&["target", "list"]) + &c.ok(&["status"]);
    assert!(!listed.contains(resnotes_e2e::dav::PASSWORD), "{listed}");
    // No keyring in this environment: the password sits in a file only the user can read.
    let files: Vec<_> = std::fs::read_dir(c.dir.join("credentials")).unwrap().flatten().collect();
    assert_eq!(files.len(), 1);
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(files[0].metadata().unwrap().permissions().mode() & 0o777, 0o600);
    assert_eq!(std::fs::read_to_string(files[0].path()).unwrap(), resnotes_e2e::dav::PASSWORD);
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

#[test]
fn injected_faults_and_a_cut_upload_converge_with_nothing_lost() {
    use resnotes_e2e::proxy::FaultProxy;
    use std::sync::atomic::Ordering;
    let s = Sandbox::new();
    let server = DavServer::apache(&s.folder("apache"));
    let folder = s.folder("usb");
    let (a, b, c) = (s.device("a"), s.device("b"), s.device("c"));
    // A and B reach the server through a proxy that faults 25% of requests.
    let proxy = FaultProxy::start(&server.url, 25, 7);
    a.ok(&["init", "--folder", folder.to_str().unwrap()]);
    let mut ids = Vec::new();
    for i in 0..6 {
        ids.push(a.new_note(&format!("note {i}"), &format!("body {i}")));
        a.ok(&["sync"]);
    }
    // Adding the target may itself meet faults; it retries.
    a.ok(&["target", "add", "webdav", &proxy.url, "--user", resnotes_e2e::dav::USER]);
    let sync_until_clean = |d: &resnotes_e2e::Device| {
        for _ in 0..10 {
            if d.sync().0 {
                return;
            }
        }
        panic!("sync did not converge under faults: {}", d.sync().1);
    };
    sync_until_clean(&a);
    // Joining may meet faults too: a failed join leaves nothing behind and is simply repeated.
    for _ in 0..10 {
        if b.dir.join("resnotes.db").exists() {
            break;
        }
        let _ = b.run(&["join", "--webdav", &proxy.url, "--user", resnotes_e2e::dav::USER]);
    }
    sync_until_clean(&b);
    for (i, id) in ids.iter().enumerate() {
        assert_eq!(b.body(id), format!("body {i}"));
    }
    // An upload cut half way: the push fails, the next one rewrites the entry whole.
    let late = b.new_note("late", "after the cut");
    proxy.cut_next_put.store(true, Ordering::SeqCst);
    proxy.percent.store(0, Ordering::SeqCst);
    let _ = b.sync();
    sync_until_clean(&b);
    // C reads through the folder that A relays.
    sync_until_clean(&a);
    c.ok(&["join", "--folder", folder.to_str().unwrap()]);
    assert_eq!(c.body(&late), "after the cut");
    assert!(
        proxy.counts.faults.load(Ordering::SeqCst) > 3,
        "faults were injected: {:?}",
        proxy.counts
    );
    assert_eq!(a.status()["pending"], 0);
}

#[test]
fn a_half_uploaded_entry_on_the_server_is_rewritten_whole() {
    let s = Sandbox::new();
    let server = DavServer::apache(&s.folder("apache"));
    let folder = s.folder("usb");
    let a = s.device("a");
    a.ok(&["init", "--folder", folder.to_str().unwrap()]);
    let id = a.new_note("torn", "this entry was cut off mid-upload once");
    a.ok(&["sync"]);
    // The server already holds the first half of A's entry 0 (a connection cut mid-PUT that the
    // server kept), and index.json.
    let rel = format!("{}/changes/1/0.age", a.client_id());
    let whole = std::fs::read(folder.join(&rel)).unwrap();
    let on_server = server.root.join(&rel);
    std::fs::create_dir_all(on_server.parent().unwrap()).unwrap();
    std::fs::write(&on_server, &whole[..whole.len() / 2]).unwrap();
    std::fs::copy(folder.join("index.json"), server.root.join("index.json")).unwrap();
    let _ = std::process::Command::new("chown")
        .args(["-R", "www-data:www-data", server.root.to_str().unwrap()])
        .status();
    a.ok(&["target", "add", "webdav", &server.url, "--user", resnotes_e2e::dav::USER]);
    let (ok, err) = a.sync();
    assert!(ok, "{err}");
    assert_eq!(
        std::fs::read(&on_server).unwrap(),
        whole,
        "the torn upload was replaced by the whole entry"
    );
    let c = s.device("c");
    c.ok(&["join", "--webdav", &server.url, "--user", resnotes_e2e::dav::USER]);
    assert_eq!(c.body(&id), "this entry was cut off mid-upload once");
}

/// With a Secret Service running (gnome-keyring in a private D-Bus session), the WebDAV password
/// and the workspace and device keys go to the OS keyring: no credentials file, no `workspace.key`
/// or `device.key`, later
/// commands find both there (the key decrypts, syncs need no password), and removing the target
/// forgets its password. Without one (every other test here), it falls back to a 0600 file.
#[test]
fn passwords_live_in_the_os_keyring_when_one_runs() {
    let s = Sandbox::new();
    let server = DavServer::apache(&s.folder("apache"));
    let a = s.device("a");
    let bin = resnotes_e2e::bin();
    let script = format!(
        r#"set -e
# A fresh home: unlocking creates the "login" keyring, the default collection.
printf 'keyring-pw\n' | gnome-keyring-daemon --unlock --components=secrets >/dev/null
export RESNOTES_DATA_DIR='{dir}' RESNOTES_PASSPHRASE='{pass}' RESNOTES_TEST_ONLY_WEAK_SCRYPT_LOG_N=10
RESNOTES_WEBDAV_PASSWORD='{pw}' '{bin}' init --webdav '{url}' --user {user} 2>&1
test ! -e '{dir}/credentials/'* || {{ echo "a credentials file was written"; exit 3; }}
test ! -e '{dir}/workspace.key' || {{ echo "the workspace key was written to a file"; exit 5; }}
test ! -e '{dir}/device.key' || {{ echo "the device signing key was written to a file"; exit 7; }}
'{bin}' key export | grep -q '^AGE-SECRET-KEY-1' || {{ echo "the key is not in the keyring"; exit 6; }}
'{bin}' new --title kept --body 'in the keyring' >/dev/null
'{bin}' sync 2>&1
id=$('{bin}' target list | awk '{{print $1; exit}}')
'{bin}' target remove "$id" >/dev/null
'{bin}' target add webdav '{url}' --user {user} </dev/null 2>&1 && {{ echo "the password was not forgotten"; exit 4; }}
echo KEYRING-OK
"#,
        dir = a.dir.display(),
        pass = resnotes_e2e::PASSPHRASE,
        pw = resnotes_e2e::dav::PASSWORD,
        bin = bin.display(),
        url = server.url,
        user = resnotes_e2e::dav::USER,
    );
    let out = std::process::Command::new("dbus-run-session")
        .args(["--", "bash", "-c", &script])
        .env("HOME", s.folder("home"))
        .env_remove("RESNOTES_WEBDAV_PASSWORD")
        .env_remove("RESNOTES_NO_KEYRING")
        .output()
        .expect("dbus-run-session (Debian package dbus) must be installed");
    let text =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && text.contains("KEYRING-OK"), "{text}");
    assert!(!text.contains("stored in"), "no file-fallback warning when the keyring works: {text}");
    assert!(!text.contains(resnotes_e2e::dav::PASSWORD), "the password is never printed: {text}");
    // The entries reached the server: the sync used the password from the keyring.
    assert!(files_under(&s.path().join("apache")).iter().any(|(n, _)| n.contains("/changes/")));
}

/// Fewer files over a real WebDAV server (FORMAT.md §11.1): the device removes its block's
/// single files with DELETE once it has read the pack back, a new device joins from the pack,
/// and an idle cycle costs two more requests per device (the packs a miss looks for).
#[test]
fn fewer_files_over_webdav_remove_covered_files_and_join_from_packs() {
    let s = Sandbox::new();
    let server = DavServer::apache(&s.folder("apache"));
    let (a, b) = (s.device("a"), s.device("b"));
    a.ok(&["init", "--webdav", &server.url, "--user", resnotes_e2e::dav::USER]);
    a.ok(&["fewer-files"]);
    for i in 0..105 {
        a.new_note(&format!("Note {i}"), "synced after each note");
        a.ok(&["sync"]);
    }
    let ac = a.client_id();
    let index = std::fs::read_to_string(server.root.join("index.json")).unwrap();
    assert!(index.contains("\"formatVersion\": 2"), "{index}");
    assert!(server.root.join(&ac).join("packs/1/1/0.pack").exists());
    let singles = (0..105)
        .filter(|i| resnotes_e2e::entry_file(&server.root, &ac, *i, ".age").exists())
        .count();
    assert!(singles <= 6, "{singles} single files: only what no pack holds yet");
    b.ok(&["join", "--webdav", &server.url, "--user", resnotes_e2e::dav::USER]);
    assert_eq!(b.list().len(), 105);
    assert!(!b.ok(&["verify"]).contains("missing"));
    a.ok(&["sync"]);
    a.ok(&["sync"]);
    let before = server.requests_logged();
    a.ok(&["sync"]);
    let idle = server.requests_logged() - before;
    // b wrote nothing, so one device's folder: 3 for the target, then for a's entries the 3 of
    // every idle cycle (FORMAT.md §7) and the 2 packs its miss looks for.
    assert_eq!(idle, 3 + 5, "an idle cycle with fewer files made {idle} requests");
}
