//! `resnotes verify` as a person runs it, against a real shared folder and a real WebDAV server
//! (Apache): a complete target is reported intact with exit status 0; a deleted, cut-short or
//! replaced entry, a lost attachment and a junk device folder are each named in plain words with
//! exit status 4; the next `sync` writes back what was lost, after which the target verifies
//! clean. Progress never appears when standard error is not a terminal, and `--quiet` prints
//! nothing there.

use std::path::Path;

use resnotes_e2e::dav::{DavServer, USER};
use resnotes_e2e::{entry_file, Device, Sandbox};

/// Runs `verify ARGS`; returns (exit status, stdout, stderr).
fn verify(d: &Device, args: &[&str]) -> (i32, String, String) {
    let mut all = vec!["verify"];
    all.extend_from_slice(args);
    let out = d.run(&all);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Two devices with notes and an attachment, synced through `root` (a folder or a server's
/// files); returns them.
fn two_devices(s: &Sandbox, init: &[&str]) -> (Device, Device) {
    let (a, b) = (s.device("a"), s.device("b"));
    let mut args = vec!["init"];
    args.extend_from_slice(init);
    a.ok(&args);
    for i in 0..3 {
        a.new_note(&format!("Note {i}"), "some words");
        a.ok(&["sync"]);
    }
    let pic = s.folder("files").join("cat.png");
    std::fs::write(&pic, b"not really a cat, but bytes".repeat(2000)).unwrap();
    let note = a.new_note("Cat", "");
    a.ok(&["attach", &note, pic.to_str().unwrap()]);
    a.ok(&["sync"]);
    let mut args = vec!["join"];
    args.extend_from_slice(init);
    b.ok(&args);
    b.new_note("From B", "hello");
    b.ok(&["sync"]);
    a.ok(&["sync"]);
    (a, b)
}

fn assert_clean(d: &Device) {
    let (code, out, err) = verify(d, &[]);
    assert_eq!(code, 0, "stdout: {out}\nstderr: {err}");
    assert!(out.contains("holds everything this device has, intact"), "{out}");
}

#[test]
fn verify_a_folder_names_each_damage_and_sync_repairs_what_it_can() {
    let s = Sandbox::new();
    let shared = s.folder("shared");
    let (a, b) = two_devices(&s, &["--folder", shared.to_str().unwrap()]);
    let (ca, cb) = (a.client_id(), b.client_id());

    // Complete: intact, with counts; a plain progress line off a terminal, nothing with -q.
    let (code, out, err) = verify(&a, &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("Entries: 5 of 5 entries intact; attachments: 1 of 1 attachment intact."),
        "{out}"
    );
    assert!(!err.contains('\r') && !err.contains('['), "no bar off a terminal: {err:?}");
    assert!(err.starts_with("Checking "), "{err}");
    let (code, _, err) = verify(&a, &["--quiet"]);
    assert_eq!((code, err.as_str()), (0, ""));
    let json: serde_json::Value =
        serde_json::from_str(&a.ok(&["verify", "--json", "-q"])).expect("verify --json");
    assert_eq!(json[0]["entries_ok"], 5);
    assert_eq!(json[0]["findings"], serde_json::json!([]));

    // A deleted entry, a cut-short one, a replaced one, a junk device folder.
    let deleted = entry_file(&shared, &ca, 1, ".age");
    std::fs::remove_file(&deleted).unwrap();
    let cut = entry_file(&shared, &cb, 0, ".age");
    let cut_bytes = std::fs::read(&cut).unwrap();
    std::fs::write(&cut, &cut_bytes[..cut_bytes.len() / 3]).unwrap();
    let replaced = entry_file(&shared, &ca, 0, ".age");
    let mut other = std::fs::read(&replaced).unwrap();
    other[60] ^= 0x55;
    std::fs::write(&replaced, &other).unwrap();
    let junk = "0b7f3c8e-2d7a-4f55-9a5e-2f4f3b1c9d10";
    std::fs::create_dir_all(shared.join(junk).join("changes/1")).unwrap();
    std::fs::write(shared.join(junk).join("changes/1/0.age"), "junk").unwrap();

    let (code, out, _) = verify(&a, &[]);
    assert_eq!(code, 4, "{out}");
    assert!(out.contains("is not complete or not intact"), "{out}");
    assert!(
        out.contains("Problems: 1 missing, 1 cut short, 1 different, 1 not part of the workspace."),
        "{out}"
    );
    assert!(out.contains("Entry 1 of this device is missing although it was written there; the next sync writes it again."), "{out}");
    assert!(out.contains(&format!("Entry 0 of device {} is cut short", &cb[..8])), "{out}");
    assert!(out.contains("Entry 0 of this device holds other bytes than this device has"), "{out}");
    assert!(
        out.contains(&format!("The folder “{junk}” is not a device of this workspace")),
        "{out}"
    );
    for p in [&deleted, &cut, &replaced] {
        let rel = p.strip_prefix(&shared).unwrap().to_str().unwrap();
        assert!(out.contains(rel), "{rel} named in {out}");
    }

    // Sync writes back the deleted and the cut-short entry; the replaced one and the junk stay
    // (nothing overwrites other bytes), so verify still says so.
    a.sync();
    assert!(deleted.exists());
    assert_eq!(std::fs::read(&cut).unwrap(), cut_bytes);
    let (code, out, _) = verify(&a, &[]);
    assert_eq!(code, 4);
    assert!(out.contains("Problems: 1 different, 1 not part of the workspace."), "{out}");
    // Moving the replaced file and the junk out, as the report says, checking again (the entry
    // is now missing) and syncing: clean.
    std::fs::remove_file(&replaced).unwrap();
    std::fs::remove_dir_all(shared.join(junk)).unwrap();
    let (code, out, _) = verify(&a, &[]);
    assert_eq!(code, 4);
    assert!(out.contains("Problems: 1 missing."), "{out}");
    a.sync();
    assert_clean(&a);
    assert_clean(&b);
}

#[test]
fn verify_a_webdav_server_finds_what_was_lost_and_sync_writes_it_back() {
    let s = Sandbox::new();
    let server = DavServer::apache(&s.folder("apache"));
    let (a, b) = two_devices(&s, &["--webdav", &server.url, "--user", USER]);
    assert_clean(&a);
    assert_clean(&b); // B only links the attachment: checked against its hash

    let ca = a.client_id();
    let lost = entry_file(&server.root, &ca, 2, ".age");
    std::fs::remove_file(&lost).unwrap();
    let attachment = server.root.join(format!("{ca}/assets/1/0.age"));
    let whole = std::fs::read(&attachment).unwrap();
    std::fs::write(&attachment, &whole[..whole.len() / 2]).unwrap();
    std::fs::write(server.root.join("holiday.jpg"), "stray").unwrap();

    let (code, out, _) = verify(&a, &[&server.url]);
    assert_eq!(code, 4, "{out}");
    assert!(out.contains("Entry 2 of this device is missing"), "{out}");
    assert!(out.contains("The attachment “cat.png” is cut short"), "{out}");
    assert!(out.contains("“holiday.jpg” is not part of the workspace"), "{out}");
    let (code, out, _) = verify(&b, &[]);
    assert_eq!(code, 4, "{out}");
    assert!(out.contains("The attachment “cat.png” is there but was refused"), "{out}");

    a.sync();
    std::fs::remove_file(server.root.join("holiday.jpg")).unwrap();
    assert!(Path::new(&lost).exists());
    assert_eq!(std::fs::read(&attachment).unwrap(), whole);
    assert_clean(&a);
    assert_clean(&b);
}

#[test]
fn verify_without_a_target_or_with_an_unknown_one_says_what_to_do() {
    let s = Sandbox::new();
    let a = s.device("a");
    a.ok(&["init"]);
    let err = a.fails(&["verify"]);
    assert!(err.contains("no sync target yet: add one with"), "{err}");
    let shared = s.folder("shared");
    a.ok(&["target", "add", "folder", shared.to_str().unwrap()]);
    let err = a.fails(&["verify", "nowhere"]);
    assert!(!err.is_empty() && err.lines().count() == 1, "{err}");
}
