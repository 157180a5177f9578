//! What a shared folder can throw at a device: partial files, undecryptable or forged entries,
//! broken hash chains, sync-tool junk, gaps, a folder restored from an old backup, a folder of
//! another workspace. Each is reported and survived; nothing blocks other devices' entries.

use std::fs;

use resnotes_core::format::crypto::WorkspaceKey;
use resnotes_core::format::entry::{self, Header, NoteChange};
use resnotes_core::format::signature::DeviceKey;
use resnotes_core::note;
use resnotes_e2e::{entry_file, files_under, Device, Sandbox};
use uuid::Uuid;

/// Three devices on one folder: A and C write, B reads.
fn three(s: &Sandbox) -> (Device, Device, Device, std::path::PathBuf) {
    let shared = s.folder("shared");
    let (a, b, c) = (s.device("a"), s.device("b"), s.device("c"));
    a.ok(&["init", "--folder", shared.to_str().unwrap()]);
    b.ok(&["join", "--folder", shared.to_str().unwrap()]);
    c.ok(&["join", "--folder", shared.to_str().unwrap()]);
    (a, b, c, shared)
}

fn titles(d: &Device) -> Vec<String> {
    let mut t: Vec<String> =
        d.list().iter().map(|n| n["title"].as_str().unwrap().to_string()).collect();
    t.sort();
    t
}

fn workspace_key(d: &Device) -> (WorkspaceKey, Uuid) {
    let ws: Uuid = d.status()["workspace_id"].as_str().unwrap().parse().unwrap();
    (d.workspace_key(), ws)
}

/// A correctly sealed entry with arbitrary header fields (for forging and chain tests).
fn crafted(key: &WorkspaceKey, header: Header, mac_key: Option<&WorkspaceKey>) -> Vec<u8> {
    let mut doc = note::new_doc(&header.client);
    note::create(&mut doc, "crafted", "crafted body", 1).unwrap();
    let change = note::take_change(&mut doc, 0).unwrap();
    let changes = [NoteChange { note: Uuid::new_v4(), change }];
    let (plain, _) = entry::encode(
        &header,
        &entry::Payload::changes(changes.to_vec()),
        mac_key.unwrap_or(key),
        &DeviceKey::generate(),
    );
    key.seal(&plain).unwrap()
}

fn entry_errors(d: &Device) -> Vec<serde_json::Value> {
    d.status()["targets"][0]["entry_errors"].as_array().unwrap().clone()
}

#[test]
fn partial_file_is_not_arrived_yet_and_is_retried() {
    let s = Sandbox::new();
    let (a, b, c, shared) = three(&s);
    a.new_note("from a", "complete text");
    c.new_note("from c", "unaffected");
    a.ok(&["sync"]);
    c.ok(&["sync"]);
    let file = entry_file(&shared, &a.client_id(), 0, ".age");
    let full = fs::read(&file).unwrap();
    fs::write(&file, &full[..full.len() / 2]).unwrap(); // a cloud client mid-download
    let (ok, err) = b.sync();
    assert!(!ok, "an incomplete entry is not a full sync");
    assert!(err.contains("incomplete"), "{err}");
    assert_eq!(titles(&b), vec!["from c"], "other devices' entries still arrive");
    assert_eq!(entry_errors(&b).len(), 1);
    fs::write(&file, &full).unwrap(); // the download finishes
    let (ok, err) = b.sync();
    assert!(ok, "{err}");
    assert_eq!(titles(&b), vec!["from a", "from c"]);
    assert!(entry_errors(&b).is_empty(), "errors clear once the entry is read");
}

#[test]
fn undecryptable_forged_misplaced_and_chain_broken_entries_are_refused() {
    let s = Sandbox::new();
    let (a, b, c, shared) = three(&s);
    let (key, ws) = workspace_key(&a);
    c.new_note("from c", "fine");
    c.ok(&["sync"]);
    let a_id: Uuid = a.client_id().parse().unwrap();
    let header = |index: u64, prev: [u8; 32]| Header {
        workspace: ws,
        client: a_id,
        index,
        timestamp: 1,
        lamport: 1,
        prev_hash: prev,
    };
    let slot = entry_file(&shared, &a_id.to_string(), 0, ".age");
    fs::create_dir_all(slot.parent().unwrap()).unwrap();

    // 1. Random bytes.
    fs::write(
        &slot,
        b"age-encryption.org/v1\n-> X25519 garbage\n--- abc\nxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    )
    .unwrap();
    let (ok, err) = b.sync();
    assert!(!ok && err.contains("entry 0 from device"), "{err}");
    // 2. Forged: encrypted to the public recipient, but without the workspace secret.
    let attacker = WorkspaceKey::generate(&ws);
    fs::write(&slot, crafted(&key, header(0, [0; 32]), Some(&attacker))).unwrap();
    let (ok, err) = b.sync();
    assert!(!ok && err.contains("failed authentication"), "{err}");
    // 3. Misplaced: a valid entry claiming another index.
    fs::write(&slot, crafted(&key, header(7, [0; 32]), None)).unwrap();
    let (ok, err) = b.sync();
    assert!(!ok && err.contains("claims to be entry 7"), "{err}");
    // 4. Broken chain: index 0 must follow the zero hash.
    fs::write(&slot, crafted(&key, header(0, [9; 32]), None)).unwrap();
    let (ok, err) = b.sync();
    assert!(!ok && err.contains("hash chain"), "{err}");
    assert_eq!(
        titles(&b),
        vec!["from c"],
        "nothing of the bad entries was applied; C's entries arrived"
    );
    let errors = entry_errors(&b);
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0]["attempts"], 4, "recorded and retried every cycle");

    // The real entry replaces the bad file (e.g. the sync tool finally delivers it): all good.
    fs::remove_file(&slot).unwrap();
    a.new_note("from a", "real");
    let (ok, err) = a.sync();
    assert!(ok, "{err}");
    let (ok, err) = b.sync();
    assert!(ok, "{err}");
    assert_eq!(titles(&b), vec!["from a", "from c"]);
}

/// The attack of issue 19 (FORMAT.md §5.1, §6.1): someone who holds the workspace key (a former
/// device, or anyone who once learnt the passphrase) writes A's next entry, validly MACed. It
/// used to be shown as A's on every device, and to cut A off for good (A's real entry could
/// never take its place). Now every reader refuses it, and A's next sync puts its real entry
/// there.
#[test]
fn a_member_who_kept_the_key_can_neither_write_as_another_device_nor_cut_it_off() {
    let s = Sandbox::new();
    let (a, b, c, shared) = three(&s);
    a.new_note("from a", "real text");
    assert!(a.sync().0);
    assert!(c.sync().0);
    let (key, ws) = workspace_key(&b);
    let a_id: Uuid = a.client_id().parse().unwrap();
    let first = fs::read(entry_file(&shared, &a.client_id(), 0, ".age")).unwrap();
    let first = entry::decode(&key.open(&first).unwrap(), &key).unwrap();
    assert!(first.signer.is_some(), "A signs its entries");
    let header = Header {
        workspace: ws,
        client: a_id,
        index: 1,
        timestamp: 2,
        lamport: 99,
        prev_hash: first.hash,
    };
    let mut doc = note::new_doc(&a_id);
    note::create(&mut doc, "forged", "not written by A", 1).unwrap();
    let change = note::take_change(&mut doc, 1).unwrap();
    let forged = entry::Payload::changes(vec![NoteChange { note: Uuid::new_v4(), change }]);
    let slot = entry_file(&shared, &a.client_id(), 1, ".age");
    fs::create_dir_all(slot.parent().unwrap()).unwrap();

    // Unsigned, as version 5 wrote entries; then signed with a key of the attacker's own.
    fs::write(&slot, key.seal(&entry::encode_as(&header, &forged, 5, &key).0).unwrap()).unwrap();
    let (ok, err) = c.sync();
    assert!(!ok && err.contains("unsigned, though its device signs every entry"), "{err}");
    let intruder = DeviceKey::generate();
    fs::write(&slot, key.seal(&entry::encode(&header, &forged, &key, &intruder).0).unwrap())
        .unwrap();
    let (ok, err) = c.sync();
    assert!(!ok && err.contains("signed by another key than its device's earlier"), "{err}");
    assert!(err.contains("refused as a forgery"), "{err}");
    assert_eq!(titles(&c), vec!["from a"], "the forgery shows nowhere");

    // A's next sync puts its real entry 1 where the forgery was, and says what happened.
    a.new_note("a again", "after the forgery");
    let (_, err) = a.sync();
    assert!(err.contains("forged by someone who has the workspace key"), "{err}");
    assert!(err.contains("replaced by the real one"), "{err}");
    let (ok, err) = c.sync();
    assert!(ok, "{err}");
    assert_eq!(titles(&c), vec!["a again", "from a"]);
    // And A is not cut off: its later edits keep arriving, and its syncs are quiet again.
    a.new_note("a third", "still syncing");
    let (ok, err) = a.sync();
    assert!(ok, "{err}");
    assert!(c.sync().0);
    assert!(b.sync().0);
    assert_eq!(titles(&b), vec!["a again", "a third", "from a"]);
    assert_eq!(titles(&c), titles(&b));
}

/// Issue 19: a folder that hides a device's entries from a device that has not seen them. The
/// clock in another device's entry says they exist; an hour later `status` says so in words,
/// naming both devices, and stops once they arrive.
#[test]
fn entries_a_folder_holds_back_are_named_in_status_after_an_hour() {
    let s = Sandbox::new();
    let shared = s.folder("shared");
    let (a, b, c) = (s.device("a"), s.device("b"), s.device("c"));
    a.ok(&["init", "--folder", shared.to_str().unwrap()]);
    a.ok(&["device", "name", "Laptop"]);
    a.new_note("from the laptop", "x");
    a.ok(&["sync"]);
    b.ok(&["join", "--folder", shared.to_str().unwrap()]);
    b.ok(&["device", "name", "Phone"]);
    b.ok(&["sync"]);
    b.new_note("from the phone", "y");
    b.ok(&["sync"]); // this entry's clock names the laptop's entries
                     // The folder stops showing the laptop's entries (a host holding them back).
    let laptop = shared.join(a.client_id());
    let hidden = s.path().join("hidden");
    fs::rename(&laptop, &hidden).unwrap();
    c.ok(&["join", "--folder", shared.to_str().unwrap()]);
    c.ok_at("+0", &["sync"]);
    assert_eq!(titles(&c), vec!["from the phone"]);
    assert!(!c.ok_at("+0", &["status"]).contains("missing"), "not within the hour");
    let later = c.ok_at("+2h", &["status"]);
    // The laptop's name is in its hidden entries too: it is named by the start of its id.
    let want = format!("missing: 1 change written by device {} has not reached this device, though Phone had it over an hour ago", &a.client_id()[..8]);
    assert!(later.contains(&want), "{later}");
    let json: serde_json::Value =
        serde_json::from_str(&c.ok_at("+2h", &["status", "--json"])).unwrap();
    assert_eq!(json["withheld"][0]["device"].as_str(), Some(a.client_id().as_str()));
    assert_eq!(json["withheld"][0]["seen_by_name"], "Phone");
    // The entries come back: nothing is missing any more.
    fs::rename(&hidden, &laptop).unwrap();
    c.ok_at("+2h", &["sync"]);
    assert_eq!(titles(&c), vec!["from the laptop", "from the phone"]);
    assert!(!c.ok_at("+2h", &["status"]).contains("missing"));
}

#[test]
fn trailing_garbage_and_unknown_versions_are_refused() {
    let s = Sandbox::new();
    let (a, b, _c, shared) = three(&s);
    a.new_note("n", "x");
    a.ok(&["sync"]);
    let file = entry_file(&shared, &a.client_id(), 0, ".age");
    let good = fs::read(&file).unwrap();
    let mut bad = good.clone();
    bad.extend_from_slice(b"TRAILING");
    fs::write(&file, &bad).unwrap();
    let (ok, _) = b.sync();
    assert!(!ok);
    assert!(b.list().is_empty());
    fs::write(&file, &good).unwrap();
    assert!(b.sync().0);
    assert_eq!(b.list().len(), 1);
}

#[test]
fn junk_from_sync_tools_is_ignored() {
    let s = Sandbox::new();
    let (a, b, _c, shared) = three(&s);
    a.new_note("real", "note");
    a.ok(&["sync"]);
    let client = a.client_id();
    let dir = entry_file(&shared, &client, 0, ".age").parent().unwrap().to_path_buf();
    for junk in [
        shared.join(".DS_Store"),
        shared.join("Thumbs.db"),
        shared.join("index (Bob's conflicted copy 2024-05-01).json"),
        dir.join("0 (conflicted copy).age"),
        dir.join(".syncthing.1.age.tmp"),
        dir.join("1.sync-conflict-20240101-120000-ABCDEFG.age"),
        dir.join(".1.age.icloud"),
        dir.join(".~lock.1.age#"),
        shared.join(".~tmp"),
    ] {
        fs::write(&junk, b"junk").unwrap();
    }
    fs::create_dir_all(shared.join("not-a-client/changes/1")).unwrap();
    fs::write(shared.join("not-a-client/changes/1/0.age"), b"junk").unwrap();
    let upper = client.to_uppercase();
    fs::create_dir_all(shared.join(&upper).join("changes/1")).unwrap();
    fs::write(shared.join(&upper).join("changes/1/1.age"), b"junk").unwrap();
    fs::create_dir_all(shared.join(format!("{client} (conflicted copy)"))).unwrap();
    let (ok, err) = b.sync();
    assert!(ok, "junk is ignored, not reported: {err}");
    assert_eq!(titles(&b), vec!["real"]);
    let (ok, err) = a.sync();
    assert!(ok, "{err}");
}

#[test]
fn a_gap_is_reported_and_waited_for() {
    let s = Sandbox::new();
    let (a, b, _c, shared) = three(&s);
    for i in 0..3 {
        a.new_note(&format!("n{i}"), "");
        a.ok(&["sync"]); // one entry per sync
    }
    let client = a.client_id();
    let missing = entry_file(&shared, &client, 1, ".age");
    let held = fs::read(&missing).unwrap();
    fs::remove_file(&missing).unwrap();
    let (ok, err) = b.sync();
    assert!(!ok && err.contains("entry 1 from device") && err.contains("missing"), "{err}");
    assert_eq!(titles(&b), vec!["n0"]);
    fs::write(&missing, held).unwrap();
    assert!(b.sync().0);
    assert_eq!(titles(&b), vec!["n0", "n1", "n2"]);
}

#[test]
fn a_folder_that_went_backwards_is_repaired() {
    let s = Sandbox::new();
    let (a, b, _c, shared) = three(&s);
    a.new_note("one", "");
    a.ok(&["sync"]);
    a.new_note("two", "");
    a.ok(&["sync"]);
    let client = a.client_id();
    let before = files_under(&shared.join(&client));
    assert_eq!(before.len(), 2);
    // The folder is restored from a backup taken before A ever synced.
    fs::remove_dir_all(shared.join(&client)).unwrap();
    let (ok, err) = a.sync();
    assert!(!ok && err.contains("lost entries"), "reported: {err}");
    assert_eq!(files_under(&shared.join(&client)), before, "re-pushed byte for byte");
    assert!(a.sync().0, "quiet once repaired");
    assert!(b.sync().0);
    assert_eq!(titles(&b), vec!["one", "two"]);
    // Even index.json can be lost: it is written back.
    fs::remove_file(shared.join("index.json")).unwrap();
    let (_, err) = a.sync();
    assert!(err.contains("index.json"), "{err}");
    assert!(shared.join("index.json").exists());
}

#[test]
fn a_folder_of_another_workspace_is_refused() {
    let s = Sandbox::new();
    let (a, _b, _c, shared) = three(&s);
    let other = s.folder("other");
    let z = s.device("z");
    z.ok(&["init", "--folder", other.to_str().unwrap()]);
    let err = a.fails(&["target", "add", "folder", other.to_str().unwrap()]);
    assert!(err.contains("belongs to another workspace"), "{err}");
    // A non-empty folder without a workspace is refused too.
    let busy = s.folder("busy");
    fs::write(busy.join("holiday.jpg"), b"x").unwrap();
    assert!(a.fails(&["target", "add", "folder", busy.to_str().unwrap()]).contains("not empty"));
    // The shared folder's index.json swapped for another workspace's: sync refuses to touch it.
    a.new_note("mine", "");
    fs::copy(other.join("index.json"), shared.join("index.json")).unwrap();
    let (ok, err) = a.sync();
    assert!(!ok && err.contains("belongs to another workspace"), "{err}");
    assert!(!shared.join(a.client_id()).exists(), "nothing pushed into a foreign workspace");
    let st = a.status();
    assert!(st["targets"][0]["last_error"].as_str().unwrap().contains("another workspace"));
}

#[test]
fn unreachable_folder_is_an_error_and_loses_nothing() {
    let s = Sandbox::new();
    let (a, b, _c, shared) = three(&s);
    let id = a.new_note("kept", "safe");
    let moved = s.path().join("unplugged");
    fs::rename(&shared, &moved).unwrap(); // USB stick unplugged
    let (ok, err) = a.sync();
    assert!(!ok && err.contains("not reachable"), "{err}");
    assert_eq!(a.status()["pending"], 1);
    fs::rename(&moved, &shared).unwrap();
    assert!(a.sync().0);
    assert!(b.sync().0);
    assert_eq!(b.body(&id), "safe");
    assert_eq!(a.status()["pending"], 0);
}

/// Runs `sync` on a device, failing the test if it has not finished within a minute (a pipe or an
/// endless file in the folder must never make a device wait forever).
fn sync_within_a_minute(d: &Device) -> (bool, String) {
    let mut child = d
        .cmd(&["sync"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > std::time::Duration::from_secs(60) {
            let _ = child.kill();
            panic!("sync hung on a hostile file");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!err.contains("panicked"), "{err}");
    (out.status.success(), err)
}

#[test]
fn links_pipes_huge_files_odd_names_and_replayed_entries_are_refused() {
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::symlink;
    let s = Sandbox::new();
    let (a, b, c, shared) = three(&s);
    a.new_note("from a", "first");
    a.ok(&["sync"]);
    c.new_note("from c", "first");
    c.ok(&["sync"]);
    assert!(b.sync().0);
    let a_id = a.client_id();
    let c_id = c.client_id();
    let slot_a1 = entry_file(&shared, &a_id, 1, ".age");
    let a0 = fs::read(entry_file(&shared, &a_id, 0, ".age")).unwrap();
    let entries = |d: &Device| d.status()["entries"].as_u64().unwrap();
    let mut seen = entries(&b);
    // Each hostile file sits where B reads A's next entry; C keeps writing meanwhile.
    type Plant<'a> = Box<dyn Fn() + 'a>;
    let cases: Vec<(&str, Plant<'_>, &str)> = vec![
        (
            "a link to a file outside the folder",
            Box::new(|| symlink("/etc/passwd", &slot_a1).unwrap()),
            "symbolic link",
        ),
        (
            "a link to an endless device",
            Box::new(|| symlink("/dev/zero", &slot_a1).unwrap()),
            "symbolic link",
        ),
        (
            "a named pipe",
            Box::new(|| {
                assert!(std::process::Command::new("mkfifo")
                    .arg(&slot_a1)
                    .status()
                    .unwrap()
                    .success())
            }),
            "not a plain file",
        ),
        ("a folder", Box::new(|| fs::create_dir(&slot_a1).unwrap()), "not a plain file"),
        (
            "a 100 MiB file",
            Box::new(|| fs::File::create(&slot_a1).unwrap().set_len(100 << 20).unwrap()),
            "larger than 64 MiB",
        ),
        (
            "A's entry 0 replayed as entry 1",
            Box::new(|| fs::write(&slot_a1, &a0).unwrap()),
            "claims to be entry 0",
        ),
    ];
    for (i, (what, plant, says)) in cases.iter().enumerate() {
        plant();
        c.new_note(&format!("c{i}"), "");
        let _ = c.sync(); // C reads the same file (and reports it), and pushes its own
        assert_eq!(c.status()["pending"], 0, "{what}: C's push is not blocked");
        let (ok, err) = sync_within_a_minute(&b);
        assert!(!ok && err.contains(says), "{what}: {err}");
        let problems = entry_errors(&b);
        assert!(
            problems.iter().any(|p| p["message"].as_str().unwrap().contains(says)),
            "{what}: reported in status: {problems:?}"
        );
        assert!(titles(&b).contains(&format!("c{i}")), "{what}: C's entries still arrive");
        assert!(!titles(&b).iter().any(|t| t == "crafted"), "{what}: nothing applied");
        let now = entries(&b);
        assert!(now > seen, "{what}: B's log only grows");
        seen = now;
        if slot_a1.is_dir() {
            fs::remove_dir(&slot_a1).unwrap();
        } else {
            fs::remove_file(&slot_a1).unwrap();
        }
    }
    // A's entry 0 copied into C's folder as C's next entry: refused as misplaced.
    let c_next = fs::read_dir(entry_file(&shared, &c_id, 0, ".age").parent().unwrap())
        .unwrap()
        .count() as u64;
    let slot_c = entry_file(&shared, &c_id, c_next, ".age");
    fs::write(&slot_c, &a0).unwrap();
    let (ok, err) = sync_within_a_minute(&b);
    assert!(
        !ok && err.contains(&format!("entry {c_next} from device")) && err.contains("claims to be"),
        "{err}"
    );
    fs::remove_file(&slot_c).unwrap();
    // Names that are not UTF-8, a client folder that links to A's, a link loop, a pipe in a
    // folder that looks like a client's: ignored or refused, never followed, nothing hangs.
    fs::write(shared.join(std::ffi::OsStr::from_bytes(b"\xff\xfe junk")), b"x").unwrap();
    fs::write(slot_a1.parent().unwrap().join(std::ffi::OsStr::from_bytes(b"1\xff.age")), b"x")
        .unwrap();
    fs::create_dir(shared.join(std::ffi::OsStr::from_bytes(b"\xfe-dir"))).unwrap();
    symlink(shared.join(&a_id), shared.join(Uuid::new_v4().to_string())).unwrap();
    let looped = shared.join(Uuid::new_v4().to_string());
    fs::create_dir(&looped).unwrap();
    symlink(looped.join("changes"), looped.join("changes")).unwrap();
    let piped = shared.join(Uuid::new_v4().to_string()).join("changes/1");
    fs::create_dir_all(&piped).unwrap();
    assert!(std::process::Command::new("mkfifo")
        .arg(piped.join("0.age"))
        .status()
        .unwrap()
        .success());
    a.new_note("a again", "");
    let (_, err) = sync_within_a_minute(&a);
    eprintln!("what A reports about the odd folders:\n{err}");
    assert_eq!(a.status()["pending"], 0, "A's own push is not disturbed: {err}");
    assert!(!err.contains("\u{fffd}"), "non-UTF-8 names are ignored, not shown: {err}");
    let (_, err) = sync_within_a_minute(&b);
    assert!(titles(&b).contains(&"a again".to_string()), "A's next entry arrives: {err}");
    assert!(entries(&b) > seen, "B's log only grows");
    let (_, err) = sync_within_a_minute(&c);
    assert!(titles(&c).contains(&"a again".to_string()), "{err}");
}

/// A decompression bomb: 860 bytes under a new client id whose one change is a compressed
/// Automerge chunk inflating to 16 MiB (a larger one took every syncing device down with
/// "memory allocation failed", again at every start). It is refused before Automerge sees it,
/// reported in words, and every other device's entries keep arriving.
#[test]
fn a_decompression_bomb_is_refused_and_blocks_nobody() {
    let s = Sandbox::new();
    let (a, b, c, shared) = three(&s);
    a.new_note("from a", "fine");
    a.ok(&["sync"]);
    let bomb = fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../vectors/reject/compressed-change.age"),
    )
    .unwrap();
    // The vector is sealed for the vectors' workspace: seal the same payload for this one.
    let identity = fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../vectors/identity.txt"),
    )
    .unwrap();
    let secret = identity.lines().find(|l| l.starts_with("AGE-SECRET-KEY-")).unwrap();
    let vectors_key =
        WorkspaceKey::parse(secret, &resnotes_core::fuzzing::VECTOR_WORKSPACE.parse().unwrap())
            .unwrap();
    let plain = vectors_key.open(&bomb).unwrap();
    let inner = entry::decode(&plain, &vectors_key).unwrap();
    let (key, ws) = workspace_key(&a);
    let intruder = Uuid::new_v4();
    let header = Header {
        workspace: ws,
        client: intruder,
        index: 0,
        timestamp: 1,
        lamport: 1,
        prev_hash: [0; 32],
    };
    let (sealed, _) = entry::encode(
        &header,
        &entry::Payload::changes(inner.changes),
        &key,
        &DeviceKey::generate(),
    );
    let path = entry_file(&shared, &intruder.to_string(), 0, ".age");
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, key.seal(&sealed).unwrap()).unwrap();
    c.new_note("from c", "after the bomb");
    c.run(&["sync"]); // C meets the bomb too, reports it, and still pushes its note
    let (ok, err) = b.sync();
    assert!(!ok && err.contains("a compressed change"), "{err}");
    assert_eq!(titles(&b), vec!["from a", "from c"], "everyone else's entries arrive");
    // Refused for what its bytes are: not inflated, parsed or reported again while the same
    // file sits there; `status` keeps saying why that device's entries wait.
    let (ok, err) = b.sync();
    assert!(ok && !err.contains("compressed"), "reported once: {err}");
    let st = b.status();
    let problems = &st["targets"][0]["entry_errors"];
    assert_eq!(problems.as_array().unwrap().len(), 1, "{st}");
    assert_eq!(problems[0]["attempts"], 1, "read once: {st}");
    assert!(problems[0]["message"].as_str().unwrap().contains("not read again"), "{st}");
    assert!(b.ok(&["status"]).contains("a compressed change"));
    // A different file at that place is read anew (and refused anew).
    fs::write(&path, key.seal(&sealed[..sealed.len() - 1]).unwrap()).unwrap();
    let (ok, err) = b.sync();
    assert!(
        !ok && err.contains(&format!("entry 0 from device {}", &intruder.to_string()[..8])),
        "{err}"
    );
}

/// Writes, under a new client id, entry 0 of a note created as `title`/`body` whose second
/// change is `extra` (a hostile one), sealed with `device`'s workspace key; returns the note id.
fn plant_note(
    device: &Device,
    shared: &std::path::Path,
    title: &str,
    body: &str,
    extra: Vec<u8>,
) -> Uuid {
    let (key, ws) = workspace_key(device);
    let writer = Uuid::new_v4();
    let note_id = Uuid::new_v4();
    let mut doc = note::new_doc(&writer);
    note::create(&mut doc, title, body, 1).unwrap();
    let good = note::take_change(&mut doc, 0).unwrap();
    let changes = vec![
        NoteChange { note: note_id, change: good },
        NoteChange { note: note_id, change: extra },
    ];
    let header = Header {
        workspace: ws,
        client: writer,
        index: 0,
        timestamp: 1,
        lamport: 1,
        prev_hash: [0; 32],
    };
    let (plain, _) =
        entry::encode(&header, &entry::Payload::changes(changes), &key, &DeviceKey::generate());
    let path = entry_file(shared, &writer.to_string(), 0, ".age");
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, key.seal(&plain).unwrap()).unwrap();
    note_id
}

/// A change chunk that passes the structural check (magic, type 1, length, checksum) but whose
/// columns are garbage, so Automerge's full parse rejects it.
fn unparsable_change() -> Vec<u8> {
    let body: Vec<u8> = (0u8..40).map(|i| i.wrapping_mul(37) ^ 0xa5).collect();
    let mut tail = vec![1u8, body.len() as u8]; // chunk type 1, uLEB128 length (< 128)
    tail.extend_from_slice(&body);
    let sum = entry::sha256(&tail);
    let mut chunk = vec![0x85, 0x6f, 0x4a, 0x83];
    chunk.extend_from_slice(&sum[..4]);
    chunk.extend_from_slice(&tail);
    chunk
}

/// FORMAT.md §6 step 5: a change that fails its full parse is left out of its note, never applied
/// in part, and reported: by the sync that met it, by `show` of that note, by `status`, and by
/// `rebuild`, which finds it again. The rest of the note is there.
#[test]
fn a_change_that_fails_its_full_parse_is_left_out_and_reported_everywhere() {
    let s = Sandbox::new();
    let (a, b, _c, shared) = three(&s);
    let note_id = plant_note(&a, &shared, "Half kept", "the readable part", unparsable_change());

    let out = b.run(&["sync"]);
    let err = String::from_utf8_lossy(&out.stderr);
    let id = note_id.to_string();
    let shown = b.cmd(&["show", &id]).output().unwrap();
    let warned = String::from_utf8_lossy(&shown.stderr);
    assert!(
        err.contains("left out") || warned.contains("left out"),
        "the sync or the first opening reports it: {err} / {warned}"
    );
    assert!(String::from_utf8_lossy(&shown.stdout).contains("the readable part"));
    assert!(
        String::from_utf8_lossy(&b.cmd(&["show", &id]).output().unwrap().stderr)
            .contains("left out of this note"),
        "every show says so"
    );
    assert_eq!(b.show(&id)["left_out"].as_array().unwrap().len(), 1);
    let st = b.status();
    assert_eq!(st["left_out"][0]["title"], "Half kept", "{st}");
    assert!(b.ok(&["status"]).contains("left out of note \"Half kept\""));
    let rebuilt = b.run(&["rebuild"]);
    assert!(rebuilt.status.success());
    assert!(String::from_utf8_lossy(&rebuilt.stderr).contains("1 change(s)"));
    assert_eq!(b.status()["left_out"].as_array().unwrap().len(), 1, "rebuild finds it again");
    assert_eq!(b.body(&id), "the readable part");
}

/// A change that passes every check and parses, but on which Automerge panics when applying it
/// (found by the `change_applied` fuzzer, `fuzz/regressions/change_applied/`). It used to fail
/// the whole pull from that folder at every sync, so entries of every device after it waited
/// forever. Now it is left out of its note and reported; everything else arrives.
#[test]
fn a_change_that_makes_automerge_panic_is_left_out_and_blocks_nobody() {
    let s = Sandbox::new();
    let (a, b, c, shared) = three(&s);
    let raw = fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../fuzz/regressions/change_applied/automerge-panics-applying.bin"),
    )
    .unwrap();
    let hostile = resnotes_core::fuzzing::writer_chunk(&raw).unwrap();
    let note_id = plant_note(&a, &shared, "Still here", "before the hostile change", hostile);
    a.new_note("from a", "after it");
    let (_, err) = a.sync();
    assert!(err.contains("left out"), "A meets it too and says so: {err}");
    c.new_note("from c", "after it too");
    c.run(&["sync"]);
    let _ = b.sync();
    let _ = b.show(&note_id.to_string());
    let (ok, err) = b.sync();
    assert!(ok, "the second sync is in step: {err}");
    assert_eq!(titles(&b), vec!["Still here", "from a", "from c"]);
    assert_eq!(b.body(&note_id.to_string()), "before the hostile change");
    assert_eq!(b.status()["left_out"].as_array().unwrap().len(), 1, "{}", b.status());
}
