//! An editor's splices are positioned in the version of the text it last saw (its `heads`);
//! edits merged in the meantime — by another device through sync, or by another process on the
//! same data dir — must neither shift nor swallow them.

use resnotes_core::transport::Folder;
use resnotes_core::TargetKind;
use resnotes_core::Workspace;
use resnotes_core::{system_clock, Field, TextSplice};

fn splice(pos: usize, delete: usize, insert: &str) -> TextSplice {
    TextSplice { pos, delete, insert: insert.into() }
}

#[test]
fn splices_from_an_older_version_land_where_the_editor_meant_them() {
    let tmp = tempfile::tempdir().unwrap();
    let mut ws = Workspace::init(&tmp.path().join("a"), true, system_clock()).unwrap();
    let id = ws.new_note("t", "hello from B").unwrap();
    let seen = ws.note(&id.to_string()).unwrap();
    // Same data dir, another writer: prepends text.
    ws.edit_note(&id.to_string(), None, Some("B says: hello from B")).unwrap();
    // The editor appends at the end of what it saw (position 12).
    ws.edit_fields(&id, Some(&seen.heads), &[(Field::Body, &[splice(12, 0, " and A")])]).unwrap();
    let now = ws.note(&id.to_string()).unwrap();
    assert_eq!(now.body, "B says: hello from B and A");
    // The answer's heads are the base for the next splices.
    ws.edit_fields(
        &id,
        Some(&now.heads),
        &[(Field::Body, &[splice(26, 0, "!")]), (Field::Title, &[splice(1, 0, "itle")])],
    )
    .unwrap();
    let n = ws.note(&id.to_string()).unwrap();
    assert_eq!((n.title.as_str(), n.body.as_str()), ("title", "B says: hello from B and A!"));
    // A version that does not exist is refused, and nothing changes.
    let err = ws
        .edit_fields(&id, Some(&["00".repeat(32)]), &[(Field::Body, &[splice(0, 0, "x")])])
        .unwrap_err();
    assert_eq!(err.code(), "invalid_input");
    assert_eq!(ws.note(&id.to_string()).unwrap().body, n.body);
}

#[test]
fn remote_edits_synced_in_between_are_kept() {
    std::env::set_var("RESNOTES_TEST_ONLY_WEAK_SCRYPT_LOG_N", "10");
    let tmp = tempfile::tempdir().unwrap();
    let shared = tmp.path().join("shared");
    std::fs::create_dir_all(&shared).unwrap();
    let folder = Folder::new(shared.to_str().unwrap());
    let mut a = Workspace::init(&tmp.path().join("a"), true, system_clock()).unwrap();
    a.add_target(TargetKind::Folder, &folder, None, 10).unwrap();
    let id = a.new_note("plan", "line one\n").unwrap();
    a.sync_all(&mut |_| {}).unwrap();
    let mut b = Workspace::join(
        &tmp.path().join("b"),
        TargetKind::Folder,
        &folder,
        None,
        true,
        system_clock(),
    )
    .unwrap();
    b.sync_all(&mut |_| {}).unwrap();

    let a_saw = a.note(&id.to_string()).unwrap();
    b.edit_fields(
        &id,
        Some(&b.note(&id.to_string()).unwrap().heads),
        &[(Field::Body, &[splice(0, 0, "B first\n")])],
    )
    .unwrap();
    b.sync_all(&mut |_| {}).unwrap();
    a.sync_all(&mut |_| {}).unwrap(); // B's edit is merged into A's document here
    a.edit_fields(&id, Some(&a_saw.heads), &[(Field::Body, &[splice(9, 0, "from A")])]).unwrap();
    a.sync_all(&mut |_| {}).unwrap();
    b.sync_all(&mut |_| {}).unwrap();
    let want = "B first\nline one\nfrom A";
    assert_eq!(a.note(&id.to_string()).unwrap().body, want);
    assert_eq!(b.note(&id.to_string()).unwrap().body, want);
    // Rebuilding from the log gives the same text.
    a.rebuild().unwrap();
    assert_eq!(a.note(&id.to_string()).unwrap().body, want);
}
