//! Disk full (RELIABILITY.md, test 7): the data dir and the shared folder each on a tiny tmpfs.
//! Filling them gives one clear error, loses no acknowledged edit, and everything recovers once
//! there is space again. Needs permission to mount tmpfs (root, as in CI).

use std::path::{Path, PathBuf};
use std::process::Command;

use resnotes_e2e::Sandbox;

/// A tmpfs mounted for the test's lifetime.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Tmpfs {
        std::fs::create_dir_all(dir).unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .output()
            .expect("run mount");
        assert!(
            out.status.success(),
            "cannot mount a tmpfs at {} (this test needs root): {}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        Tmpfs(dir.to_path_buf())
    }

    fn grow(&self, size: &str) {
        let out = Command::new("mount")
            .args(["-o", &format!("remount,size={size}")])
            .arg(&self.0)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Random text, so neither DEFLATE nor SQLite squeezes it.
fn noise(seed: u64, len: usize) -> String {
    let mut rng = fastrand::Rng::with_seed(seed);
    (0..len).map(|_| rng.alphanumeric()).collect()
}

#[test]
fn a_full_data_dir_fails_clearly_loses_nothing_and_recovers() {
    let sb = Sandbox::new();
    let mnt = sb.path().join("small-disk");
    let fs = Tmpfs::mount(&mnt, "2m");
    let mut a = sb.device("a");
    a.dir = mnt.join("data");
    a.ok(&["init"]);
    let mut acked = Vec::new();
    let mut error = None;
    for i in 0..200 {
        let out = a.run(&["new", "--title", &format!("n{i}"), "--body", &noise(i, 40_000)]);
        if out.status.success() {
            acked.push(format!("n{i}"));
        } else {
            error = Some(String::from_utf8_lossy(&out.stderr).into_owned());
            break;
        }
    }
    let error = error.expect("the 2 MiB disk filled up");
    eprintln!("data dir full after {} notes: {}", acked.len(), error.trim());
    assert!(error.contains("disk holding this device's notes is full"), "{error}");
    assert_eq!(error.trim().lines().count(), 1, "one sentence: {error}");
    // Once there is space again nothing acknowledged is missing and editing goes on.
    fs.grow("32m");
    let titles: Vec<String> =
        a.list().iter().map(|n| n["title"].as_str().unwrap().to_string()).collect();
    for t in &acked {
        assert!(titles.contains(t), "{t} lost");
    }
    a.new_note("after", "space again");
    assert_eq!(a.list().len(), acked.len() + 1);
    let ws = resnotes_core::Workspace::open(&a.dir).unwrap();
    ws.check_integrity().expect("the database passes SQLite's integrity check");
}

#[test]
fn a_full_shared_folder_fails_clearly_keeps_entries_pending_and_recovers() {
    let sb = Sandbox::new();
    let mnt = sb.path().join("small-stick");
    let fs = Tmpfs::mount(&mnt, "1m");
    let shared = mnt.join("notes");
    std::fs::create_dir_all(&shared).unwrap();
    let a = sb.device("a");
    a.ok(&["init", "--folder", shared.to_str().unwrap()]);
    let mut ids = Vec::new();
    for i in 0..40 {
        ids.push(a.new_note(&format!("n{i}"), &noise(100 + i, 60_000)));
    }
    let (ok, err) = a.sync();
    assert!(!ok, "2.4 MB of notes cannot fit on a 1 MiB stick");
    eprintln!("shared folder full: {}", err.trim());
    assert!(err.contains("the disk is full; free some space there"), "{err}");
    let st = a.status();
    assert!(st["pending"].as_u64().unwrap() > 0, "{st}");
    // Whatever reached the stick is whole: a new device reads it without problems.
    fs.grow("64m");
    assert!(a.sync().0, "sync completes once there is space");
    assert_eq!(a.status()["pending"].as_u64(), Some(0));
    let b = sb.device("b");
    b.ok(&["join", "--folder", shared.to_str().unwrap()]);
    let (ok, err) = b.sync();
    assert!(ok, "{err}");
    assert_eq!(b.list().len(), ids.len());
    for id in &ids {
        assert_eq!(b.body(id), a.body(id));
    }
}
