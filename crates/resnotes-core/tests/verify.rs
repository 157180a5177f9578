//! `verify` against a real shared folder: a complete folder is clean; each kind of damage — an
//! entry deleted, cut short or replaced, a junk device folder, a stray file, an attachment
//! deleted or cut short, a file that cannot be read — is reported precisely (kind and path),
//! harmless leftovers are not; and what is missing or cut short is written again by the next
//! sync, after which the folder verifies clean.

use std::path::{Path, PathBuf};

use resnotes_core::transport::Folder;
use resnotes_core::{system_clock, FindingKind, Target, TargetKind, Verification, Workspace};

const PASS: &str = "correct horse battery staple";

struct Setup {
    _tmp: tempfile::TempDir,
    a: Workspace,
    b: Workspace,
    shared: PathBuf,
    folder: Folder,
    target: Target,
}

/// Device A with three entries and an attachment, device B joined with one entry of its own,
/// both synced through a folder.
fn setup() -> Setup {
    std::env::set_var("RESNOTES_TEST_ONLY_WEAK_SCRYPT_LOG_N", "10");
    let tmp = tempfile::tempdir().unwrap();
    let shared = tmp.path().join("shared");
    std::fs::create_dir_all(&shared).unwrap();
    let folder = Folder::new(shared.to_str().unwrap());
    let mut a = Workspace::init(&tmp.path().join("a"), false, system_clock()).unwrap();
    let target = a.add_target(TargetKind::Folder, &folder, Some(PASS), 10).unwrap();
    for i in 0..3 {
        a.new_note(&format!("note {i}"), &format!("text {i}")).unwrap();
        a.sync_all(&mut |_| {}).unwrap();
    }
    let r = a
        .add_asset_bytes(
            b"a picture's bytes, a few of them".repeat(100).as_slice(),
            "cat.png",
            None,
        )
        .unwrap();
    a.new_note("with a cat", &format!("![cat]({})", r.to_url())).unwrap();
    a.sync_all(&mut |_| {}).unwrap();
    a.sync_assets(&|| false, &mut |_| {}).unwrap();
    let mut b = Workspace::join(
        &tmp.path().join("b"),
        TargetKind::Folder,
        &folder,
        Some(PASS),
        false,
        system_clock(),
    )
    .unwrap();
    b.sync_all(&mut |_| {}).unwrap();
    b.new_note("from b", "hello").unwrap();
    b.sync_all(&mut |_| {}).unwrap();
    a.sync_all(&mut |_| {}).unwrap();
    Setup { _tmp: tmp, a, b, shared, folder, target }
}

impl Setup {
    fn verify(&self) -> Verification {
        let mut last = (0, 0);
        let v = self.a.verify_with(&self.target, &self.folder, &mut |d, t| last = (d, t)).unwrap();
        assert_eq!(last.0, last.1, "progress reaches its total");
        v
    }

    /// The path of one of A's (or B's) entry files.
    fn entry(&self, ws: &Workspace, index: u64) -> PathBuf {
        self.shared.join(format!("{}/changes/1/{index}.age", ws.client_id()))
    }

    fn attachment(&self) -> PathBuf {
        self.shared.join(format!("{}/assets/1/0.age", self.a.client_id()))
    }
}

fn kinds(v: &Verification) -> Vec<(FindingKind, String)> {
    v.findings.iter().map(|f| (f.kind, f.path.clone())).collect()
}

fn rel(s: &Setup, p: &Path) -> String {
    p.strip_prefix(&s.shared).unwrap().to_str().unwrap().to_string()
}

#[test]
fn a_complete_folder_is_clean() {
    let s = setup();
    let v = s.verify();
    assert!(v.clean(), "{:?}", v.findings);
    assert_eq!((v.entries, v.entries_ok), (5, 5)); // A's four entries, B's one
    assert_eq!((v.attachments, v.attachments_ok), (1, 1));
    assert_eq!(v.not_pulled, 0);
    // B, which only links the attachment, checks it against its hash.
    let v = s.b.verify_with(&s.target, &s.folder, &mut |_, _| {}).unwrap();
    assert!(v.clean(), "{:?}", v.findings);
    assert_eq!((v.attachments, v.attachments_ok), (1, 1));
}

#[test]
fn a_deleted_entry_is_missing_and_the_next_sync_writes_it_again() {
    let mut s = setup();
    let gone = s.entry(&s.a, 1);
    std::fs::remove_file(&gone).unwrap();
    let v = s.verify();
    assert_eq!(kinds(&v), vec![(FindingKind::Missing, rel(&s, &gone))]);
    assert!(
        v.findings[0].message.starts_with("Entry 1 of this device is missing"),
        "{}",
        v.findings[0].message
    );
    assert_eq!(v.entries_ok, 4);
    s.a.sync_all(&mut |_| {}).unwrap();
    assert!(gone.exists());
    assert!(s.verify().clean());
}

#[test]
fn a_lost_entry_of_another_device_is_written_again_even_after_it_wrote_more() {
    let mut s = setup();
    s.b.new_note("b again", "more").unwrap();
    s.b.sync_all(&mut |_| {}).unwrap();
    s.a.sync_all(&mut |_| {}).unwrap();
    let gone = s.entry(&s.b, 0);
    let bytes = std::fs::read(&gone).unwrap();
    std::fs::remove_file(&gone).unwrap();
    assert_eq!(kinds(&s.verify()), vec![(FindingKind::Missing, rel(&s, &gone))]);
    // B writes on; A pulls B's newer entries before it pushes: the taken-back mark holds.
    s.b.new_note("b once more", "more").unwrap();
    s.b.sync_all(&mut |_| {}).unwrap();
    s.a.sync_all(&mut |_| {}).unwrap();
    assert_eq!(std::fs::read(&gone).unwrap(), bytes, "A wrote B's lost entry back");
    assert!(s.verify().clean());
}

#[test]
fn a_cut_short_entry_is_named_and_repaired_by_the_next_sync() {
    let mut s = setup();
    let cut = s.entry(&s.b, 0);
    let bytes = std::fs::read(&cut).unwrap();
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let v = s.verify();
    assert_eq!(kinds(&v), vec![(FindingKind::CutShort, rel(&s, &cut))]);
    assert!(v.findings[0].message.contains("device "), "{}", v.findings[0].message);
    s.a.sync_all(&mut |_| {}).unwrap();
    assert_eq!(std::fs::read(&cut).unwrap(), bytes);
    assert!(s.verify().clean());
}

#[test]
fn a_replaced_entry_is_different_and_left_alone() {
    let mut s = setup();
    let replaced = s.entry(&s.a, 2);
    let mut bytes = std::fs::read(&replaced).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&replaced, &bytes).unwrap();
    let v = s.verify();
    assert_eq!(kinds(&v), vec![(FindingKind::Different, rel(&s, &replaced))]);
    assert!(v.findings[0].message.contains("move the file out"), "{}", v.findings[0].message);
    let reports = s.a.sync_all(&mut |_| {}).unwrap();
    assert!(reports[0].ok(), "a check does not make sync stumble on it: {reports:?}");
    assert_eq!(std::fs::read(&replaced).unwrap(), bytes, "sync never overwrites other bytes");
    assert_eq!(s.verify().count(FindingKind::Different), 1);
    // New entries still reach the folder meanwhile.
    s.a.new_note("later", "text").unwrap();
    s.a.sync_all(&mut |_| {}).unwrap();
    assert!(s.entry(&s.a, 4).exists());
    // Moved away as the report says, then checked again: the next sync writes this device's copy.
    std::fs::remove_file(&replaced).unwrap();
    assert_eq!(kinds(&s.verify()), vec![(FindingKind::Missing, rel(&s, &replaced))]);
    s.a.sync_all(&mut |_| {}).unwrap();
    assert!(s.verify().clean());
}

#[test]
fn a_junk_device_folder_and_stray_files_are_extra_and_leftovers_are_not() {
    let s = setup();
    let junk = uuid::Uuid::new_v4().hyphenated().to_string();
    std::fs::create_dir_all(s.shared.join(&junk).join("changes/1")).unwrap();
    std::fs::write(s.shared.join(&junk).join("changes/1/0.age"), b"not an entry at all").unwrap();
    std::fs::write(s.shared.join("notes-backup.zip"), b"PK").unwrap();
    let stray = format!("{}/changes/1/notes.txt", s.a.client_id());
    std::fs::write(s.shared.join(&stray), b"hello").unwrap();
    std::fs::write(s.shared.join(".DS_Store"), b"x").unwrap();
    let conflicted = format!("{}/changes/1/0 (conflicted copy).age", s.a.client_id());
    std::fs::write(s.shared.join(&conflicted), b"x").unwrap();
    let v = s.verify();
    let mut got = kinds(&v);
    got.sort_by(|x, y| x.1.cmp(&y.1));
    let mut want = vec![
        (FindingKind::Extra, junk.clone()),
        (FindingKind::Extra, "notes-backup.zip".to_string()),
        (FindingKind::Extra, stray.clone()),
    ];
    want.sort_by(|x, y| x.1.cmp(&y.1));
    assert_eq!(got, want);
    let about_junk = v.findings.iter().find(|f| f.path == junk).unwrap();
    assert!(
        about_junk.message.contains("is not a device of this workspace"),
        "{}",
        about_junk.message
    );
    assert_eq!(v.leftovers, vec![".DS_Store".to_string(), conflicted]);
    assert_eq!(v.entries_ok, 5);
}

#[test]
fn entries_not_pulled_yet_are_counted_and_ones_not_written_yet_are_named() {
    let mut s = setup();
    s.b.new_note("later from b", "more").unwrap();
    s.b.sync_all(&mut |_| {}).unwrap();
    s.a.new_note("not synced yet", "x").unwrap();
    s.a.seal_pending(4096, 4 << 20).unwrap();
    let v = s.verify();
    assert_eq!(v.not_pulled, 1, "B's new entry");
    assert_eq!(kinds(&v), vec![(FindingKind::NotWritten, rel(&s, &s.entry(&s.a, 4)))]);
    s.a.sync_all(&mut |_| {}).unwrap();
    let v = s.verify();
    assert!(v.clean(), "{:?}", v.findings);
    assert_eq!(v.not_pulled, 0);
}

#[test]
fn a_damaged_entry_after_this_devices_head_is_named_with_what_follows() {
    let mut s = setup();
    for i in 0..3 {
        s.b.new_note(&format!("b {i}"), "more").unwrap();
        s.b.sync_all(&mut |_| {}).unwrap();
    }
    let bad = s.entry(&s.b, 2);
    let mut bytes = std::fs::read(&bad).unwrap();
    bytes[40] ^= 0xff;
    std::fs::write(&bad, &bytes).unwrap();
    let v = s.verify();
    assert_eq!(v.not_pulled, 1);
    assert_eq!(kinds(&v), vec![(FindingKind::Unreadable, rel(&s, &bad))]);
    assert!(v.findings[0].message.contains("the entry after it"), "{}", v.findings[0].message);
}

#[test]
fn attachments_deleted_or_cut_short_are_named_and_uploaded_again() {
    let s = setup();
    let file = s.attachment();
    let bytes = std::fs::read(&file).unwrap();
    std::fs::remove_file(&file).unwrap();
    let v = s.verify();
    assert_eq!(kinds(&v), vec![(FindingKind::Missing, rel(&s, &file))]);
    assert!(v.findings[0].message.contains("“cat.png”"), "{}", v.findings[0].message);
    // B does not hold it: the link tells it what should be there.
    let vb = s.b.verify_with(&s.target, &s.folder, &mut |_, _| {}).unwrap();
    assert_eq!(kinds(&vb), vec![(FindingKind::Missing, rel(&s, &file))]);
    s.a.sync_assets(&|| false, &mut |_| {}).unwrap();
    assert_eq!(std::fs::read(&file).unwrap(), bytes);
    assert!(s.verify().clean());

    std::fs::write(&file, &bytes[..100]).unwrap();
    assert_eq!(kinds(&s.verify()), vec![(FindingKind::CutShort, rel(&s, &file))]);
    let vb = s.b.verify_with(&s.target, &s.folder, &mut |_, _| {}).unwrap();
    assert_eq!(vb.count(FindingKind::Unreadable), 1, "{:?}", vb.findings);
    s.a.sync_assets(&|| false, &mut |_| {}).unwrap();
    assert!(s.verify().clean());
}

#[test]
fn a_file_that_cannot_be_read_is_unreadable() {
    let s = setup();
    let blocked = s.entry(&s.a, 0);
    std::fs::remove_file(&blocked).unwrap();
    std::fs::create_dir(&blocked).unwrap(); // a folder where the entry should be
    let v = s.verify();
    assert_eq!(kinds(&v), vec![(FindingKind::Unreadable, rel(&s, &blocked))]);
}

#[test]
fn a_missing_index_json_is_named() {
    let s = setup();
    std::fs::remove_file(s.shared.join("index.json")).unwrap();
    let v = s.verify();
    assert_eq!(kinds(&v), vec![(FindingKind::Missing, "index.json".to_string())]);
    assert_eq!(v.entries_ok, 5);
}
