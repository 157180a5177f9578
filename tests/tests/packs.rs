//! Packs through a real folder and the real CLI (FORMAT.md §11): a device that syncs after
//! every note writes the pack of each whole block of 100 entries; a new device joins from the
//! packs even when the block's single files are gone; it writes the same packs to its own
//! other folder (it learnt the file keys); `verify` finds the packs in their places; and the
//! real `age` tool opens a pack's keys part.

use resnotes_e2e::{age_open, entry_file, files_under, Sandbox};

fn pack_file(folder: &std::path::Path, client: &str, level: u8, block: u64) -> std::path::PathBuf {
    folder
        .join(client)
        .join("packs")
        .join(level.to_string())
        .join("1")
        .join(format!("{block}.pack"))
}

#[test]
fn a_device_joins_from_packs_and_relays_them() {
    let s = Sandbox::new();
    let shared = s.folder("shared");
    let (a, b) = (s.device("a"), s.device("b"));
    a.ok(&["init", "--folder", shared.to_str().unwrap()]);
    // One entry per sync, as `sync --watch` makes them: 110 syncs fill block 0 (entries 0-99).
    for i in 0..110 {
        a.new_note(&format!("Note {i}"), "typed, then synced");
        a.ok(&["sync"]);
    }
    let ac = a.client_id();
    let pack = pack_file(&shared, &ac, 1, 0);
    assert!(pack.exists(), "the pack of entries 0-99");
    assert!(!pack_file(&shared, &ac, 1, 1).exists(), "block 1 is not whole yet");
    let checked = a.ok(&["verify"]);
    assert!(!checked.to_lowercase().contains("not part of the workspace"), "{checked}");
    assert!(!checked.contains("not at a place"), "{checked}");

    // The keys part is a standard age file: the workspace key opens it to 100 file keys.
    let bytes = std::fs::read(&pack).unwrap();
    let k = u32::from_be_bytes(bytes[70..74].try_into().unwrap()) as usize;
    let keys_part = s.path().join("keys-part.age");
    std::fs::write(&keys_part, &bytes[74..74 + k]).unwrap();
    let key = s.path().join("key.txt");
    std::fs::write(&key, a.ok(&["key", "export"])).unwrap();
    let keys = age_open(&key, &keys_part).expect("the workspace key opens the keys part");
    assert_eq!(keys.len(), 1600, "one 16-byte file key per entry");

    // Without the single files of block 0, a new device still reads everything: from the pack.
    for i in 0..100 {
        std::fs::remove_file(entry_file(&shared, &ac, i, ".age")).unwrap();
    }
    b.ok(&["join", "--folder", shared.to_str().unwrap()]);
    b.ok(&["sync"]);
    assert_eq!(b.list().len(), 110);

    // b learnt the file keys: it writes the same block's pack to a folder of its own.
    let own = s.folder("own");
    b.ok(&["target", "add", "folder", own.to_str().unwrap()]);
    b.ok(&["sync"]);
    assert!(pack_file(&own, &ac, 1, 0).exists(), "relayed as a pack");
    assert!(entry_file(&own, &ac, 105, ".age").exists(), "and the single files b holds");
}

/// Single files of the `changes` folder of `client` in `folder`.
fn single_files(folder: &std::path::Path, client: &str) -> usize {
    files_under(&folder.join(client).join("changes")).len()
}

/// `resnotes fewer-files` (FORMAT.md §11.1): from the next sync on, the single files of every
/// block a pack holds leave the folder, on every target of the workspace (a second folder
/// added later too); a device that had read part of a block, a new device, and `verify` all
/// find every note; `status` says it.
#[test]
fn fewer_files_leave_packs_in_place_of_single_files() {
    let s = Sandbox::new();
    let shared = s.folder("shared");
    let (a, b, c) = (s.device("a"), s.device("b"), s.device("c"));
    a.ok(&["init", "--folder", shared.to_str().unwrap()]);
    for i in 0..30 {
        a.new_note(&format!("Note {i}"), "typed, then synced");
        a.ok(&["sync"]);
    }
    b.ok(&["join", "--folder", shared.to_str().unwrap()]);
    b.ok(&["sync"]);
    let on = a.ok(&["fewer-files"]);
    assert!(on.contains("Devices running an older Resilient Notes"), "{on}");
    assert!(a.ok(&["fewer-files"]).contains("already"));
    for i in 30..250 {
        a.new_note(&format!("Note {i}"), "typed, then synced");
        a.ok(&["sync"]);
    }
    let ac = a.client_id();
    let index = std::fs::read_to_string(shared.join("index.json")).unwrap();
    assert!(index.contains("\"formatVersion\": 2"), "{index}");
    assert!(pack_file(&shared, &ac, 1, 0).exists() && pack_file(&shared, &ac, 1, 1).exists());
    assert_eq!(single_files(&shared, &ac), 50, "entries 200-249 only");
    assert!(a.ok(&["status"]).contains("fewer files"));

    // b had read entries 0-29: the rest of block 0 and block 1 come from the packs.
    b.ok(&["sync"]);
    assert_eq!(b.list().len(), 250);
    assert!(b.ok(&["status"]).contains("fewer files"), "b learnt it from the folder");
    let checked = b.ok(&["verify"]);
    assert!(!checked.contains("missing"), "{checked}");

    // A folder b adds now gets packs and no covered single files, block 0 too: b read entries
    // 0-29 from their single files and learnt their file keys as it opened them, so it vouches
    // for a pack of that block as for the others. c joins through that folder.
    let own = s.folder("own");
    b.ok(&["target", "add", "folder", own.to_str().unwrap()]);
    b.ok(&["sync"]);
    assert!(std::fs::read_to_string(own.join("index.json"))
        .unwrap()
        .contains("\"formatVersion\": 2"));
    assert!(pack_file(&own, &ac, 1, 1).exists(), "relayed as a pack");
    assert!(pack_file(&own, &ac, 1, 0).exists(), "block 0 too: b learnt its file keys");
    assert_eq!(single_files(&own, &ac), 50, "entries 200-249 only");
    c.ok(&["join", "--folder", own.to_str().unwrap()]);
    c.ok(&["sync"]);
    assert_eq!(c.list().len(), 250);
}
