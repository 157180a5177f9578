//! Entries flow between targets through any device: A syncs only with F, B with F and G,
//! C only with G — and everyone ends with everyone's notes. Also: `sync --watch`.

use std::io::Read;
use std::process::Stdio;
use std::time::{Duration, Instant};

use resnotes_e2e::{files_under, Sandbox};

#[test]
fn entries_are_relayed_between_folders_by_a_device_in_both() {
    let s = Sandbox::new();
    let (f, g) = (s.folder("F"), s.folder("G"));
    let (a, b, c) = (s.device("a"), s.device("b"), s.device("c"));
    a.ok(&["init", "--folder", f.to_str().unwrap()]);
    let from_a = a.new_note("from A", "A wrote this");
    a.ok(&["sync"]);
    b.ok(&["join", "--folder", f.to_str().unwrap()]);
    b.ok(&["target", "add", "folder", g.to_str().unwrap()]);
    b.ok(&["sync"]);
    // G now holds A's entries, copied verbatim.
    let a_id = a.client_id();
    assert_eq!(files_under(&f.join(&a_id)), files_under(&g.join(&a_id)));
    assert_eq!(
        std::fs::read(f.join("index.json")).unwrap(),
        std::fs::read(g.join("index.json")).unwrap()
    );
    c.ok(&["join", "--folder", g.to_str().unwrap()]);
    assert_eq!(c.body(&from_a), "A wrote this");

    // And back: C's edit reaches A through B.
    c.ok(&["edit", &from_a, "--body", "A wrote this; C added this"]);
    let from_c = c.new_note("from C", "hello A");
    c.ok(&["sync"]);
    b.ok(&["sync"]);
    a.ok(&["sync"]);
    assert_eq!(a.body(&from_a), "A wrote this; C added this");
    assert_eq!(a.body(&from_c), "hello A");
    // Everyone is in step, and B's status shows both targets with nothing pending.
    for d in [&a, &b, &c] {
        d.ok(&["sync"]);
    }
    let st = b.status();
    assert_eq!(st["pending"], 0);
    assert_eq!(st["targets"].as_array().unwrap().len(), 2);
    assert_eq!(a.list(), c.list());
}

#[test]
fn duplicate_delivery_through_two_folders_changes_nothing() {
    let s = Sandbox::new();
    let (f, g) = (s.folder("F"), s.folder("G"));
    let (a, b) = (s.device("a"), s.device("b"));
    a.ok(&["init", "--folder", f.to_str().unwrap()]);
    a.ok(&["target", "add", "folder", g.to_str().unwrap()]);
    let id = a.new_note("twice", "delivered twice");
    a.ok(&["edit", &id, "--body", "delivered twice, edited"]);
    a.ok(&["sync"]);
    b.ok(&["join", "--folder", f.to_str().unwrap()]);
    b.ok(&["target", "add", "folder", g.to_str().unwrap()]);
    let (ok, err) = b.sync();
    assert!(ok, "{err}");
    assert_eq!(b.body(&id), "delivered twice, edited");
    assert_eq!(b.status()["entries"], 1, "both changes were sealed into one entry");
    // A copy of the whole folder by a "stupid copying process" is also a valid target.
    let copy = s.path().join("copy");
    std::fs::create_dir_all(&copy).unwrap();
    for (rel, bytes) in files_under(&f) {
        let p = copy.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }
    let c = s.device("c");
    c.ok(&["join", "--folder", copy.to_str().unwrap()]);
    assert_eq!(c.body(&id), "delivered twice, edited");
}

#[test]
fn sync_watch_picks_up_remote_and_local_changes_and_stops_on_ctrl_c() {
    let s = Sandbox::new();
    let f = s.folder("F");
    let (a, b) = (s.device("a"), s.device("b"));
    a.ok(&["init", "--folder", f.to_str().unwrap()]);
    b.ok(&["join", "--folder", f.to_str().unwrap()]);
    let mut watcher = b
        .cmd(&["sync", "--watch", "--interval", "30"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    let wait_for = |what: &str, cond: &dyn Fn() -> bool| {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !cond() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    // Remote change: A pushes; B's watcher sees the folder change (well before the 30 s poll).
    let id = a.new_note("watched", "arrives by itself");
    a.ok(&["sync"]);
    wait_for("the remote note on B", &|| b.list().len() == 1);
    // Local change on B (by another process): the watcher pushes it.
    b.ok(&["edit", &id, "--body", "arrives by itself, and answers"]);
    wait_for("B's edit in the folder", &|| {
        a.ok(&["sync"]);
        a.body(&id) == "arrives by itself, and answers"
    });
    // Ctrl-C stops it cleanly.
    let pid = watcher.id().to_string();
    assert!(std::process::Command::new("kill").args(["-INT", &pid]).status().unwrap().success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(st) = watcher.try_wait().unwrap() {
            break st;
        }
        assert!(Instant::now() < deadline, "sync --watch did not stop on Ctrl-C");
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut err = String::new();
    watcher.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    assert!(status.success(), "{err}");
    assert!(err.contains("Stopped."), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}
