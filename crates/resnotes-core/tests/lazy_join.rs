//! Joining lists notes from the summaries in entries (FORMAT.md §4.2) without building their
//! documents, and only where a summary describes exactly the changes held; any other note is
//! built at the end of the sync cycle. Opening or editing a listed note builds it, and every
//! row equals what building every document would give.

use resnotes_core::transport::Folder;
use resnotes_core::TargetKind;
use resnotes_core::Workspace;
use resnotes_core::{system_clock, NoteSummary};

fn unbuilt(ws: &Workspace) -> Vec<String> {
    ws.listed_notes().unwrap()
}

/// Every note's list row, deleted ones too, by id.
fn rows(ws: &Workspace) -> Vec<NoteSummary> {
    ws.note_heads().unwrap().keys().map(|id| ws.summary(id).unwrap().unwrap()).collect()
}

fn list(ws: &Workspace) -> Vec<NoteSummary> {
    ws.list(None).unwrap()
}

fn setup() -> (tempfile::TempDir, Folder) {
    std::env::set_var("RESNOTES_TEST_ONLY_WEAK_SCRYPT_LOG_N", "2");
    let tmp = tempfile::tempdir().unwrap();
    let shared = tmp.path().join("shared");
    std::fs::create_dir_all(&shared).unwrap();
    let folder = Folder::new(shared.to_str().unwrap());
    (tmp, folder)
}

const PASS: &str = "a passphrase for tests";

/// A device that creates the workspace in the shared folder.
fn writer(tmp: &tempfile::TempDir, folder: &Folder) -> Workspace {
    let a = Workspace::init(&tmp.path().join("a"), false, system_clock()).unwrap();
    a.add_target(TargetKind::Folder, folder, Some(PASS), 2).unwrap();
    a
}

/// A device that joins the workspace in `folder`.
fn joiner(tmp: &tempfile::TempDir, name: &str, folder: &Folder) -> Workspace {
    Workspace::join(
        &tmp.path().join(name),
        TargetKind::Folder,
        folder,
        Some(PASS),
        false,
        system_clock(),
    )
    .unwrap()
}

#[test]
fn a_joining_device_lists_notes_from_summaries_and_builds_them_when_opened() {
    let (tmp, folder) = setup();
    let mut a = writer(&tmp, &folder);
    let mut ids = Vec::new();
    for i in 0..20 {
        ids.push(
            a.new_note(&format!("note {i}"), &format!("\n  first line of {i}\nmore text\n"))
                .unwrap(),
        );
    }
    a.edit_note(&ids[3].to_string(), Some("renamed"), None).unwrap();
    a.delete_note(&ids[4].to_string()).unwrap();
    a.sync_all(&mut |_| {}).unwrap();

    let mut b = joiner(&tmp, "b", &folder);
    b.sync_all(&mut |_| {}).unwrap();
    assert_eq!(list(&b), list(&a), "the list is complete after one cycle");
    assert_eq!(rows(&b), rows(&a), "deleted notes too");
    assert_eq!(unbuilt(&b).len(), 20, "no document was built");

    // Opening builds and stores the document; the row keeps the same values.
    let n = b.note(&ids[3].to_string()).unwrap();
    assert_eq!(
        (n.title.as_str(), n.body.as_str()),
        ("renamed", "\n  first line of 3\nmore text\n")
    );
    assert_eq!(unbuilt(&b).len(), 19);
    assert_eq!(rows(&b), rows(&a));
    // Editing a listed note builds it first.
    b.edit_note(&ids[5].to_string(), None, Some("edited on B")).unwrap();
    assert_eq!(b.note(&ids[5].to_string()).unwrap().body, "edited on B");
    assert_eq!(unbuilt(&b).len(), 18);

    // A's next edit to a listed note arrives with a summary that still describes everything B holds.
    a.edit_note(&ids[6].to_string(), Some("six"), None).unwrap();
    a.sync_all(&mut |_| {}).unwrap();
    b.sync_all(&mut |_| {}).unwrap();
    a.sync_all(&mut |_| {}).unwrap();
    assert_eq!(list(&b), list(&a));
    assert_eq!(unbuilt(&b).len(), 18, "note 6 stays listed from its new summary");

    // A rebuild from the log builds everything and gives the same rows.
    let before = rows(&b);
    b.rebuild().unwrap();
    assert_eq!(rows(&b), before);
    assert!(unbuilt(&b).is_empty());
}

#[test]
fn a_summary_that_does_not_cover_every_change_held_is_not_trusted() {
    let (tmp, folder) = setup();
    let mut a = writer(&tmp, &folder);
    let x = a.new_note("shared", "one\n").unwrap();
    let y = a.new_note("only A", "alone\n").unwrap();
    a.sync_all(&mut |_| {}).unwrap();
    let mut b = joiner(&tmp, "b", &folder);
    b.sync_all(&mut |_| {}).unwrap();
    // Concurrent edits of X: each device's summary describes only its own side.
    b.edit_note(&x.to_string(), Some("shared, from B"), None).unwrap();
    a.edit_note(&x.to_string(), None, Some("one\ntwo from A\n")).unwrap();
    a.sync_all(&mut |_| {}).unwrap();
    b.sync_all(&mut |_| {}).unwrap();

    // C joins and holds both sides: X's summaries are not exact, so X is built; Y is not.
    let mut c = joiner(&tmp, "c", &folder);
    c.sync_all(&mut |_| {}).unwrap();
    assert_eq!(unbuilt(&c), vec![y.to_string()]);
    let n = c.note(&x.to_string()).unwrap();
    assert_eq!((n.title.as_str(), n.body.as_str()), ("shared, from B", "one\ntwo from A\n"));
    a.sync_all(&mut |_| {}).unwrap();
    assert_eq!(list(&c), list(&a));
    assert_eq!(rows(&c), rows(&a));
}

#[test]
fn entries_pulled_in_pieces_settle_once_everything_they_name_is_held() {
    // B's summary of X names A's entries; C first sees only B's folder copy, then A's.
    let (tmp, folder) = setup();
    let mut a = writer(&tmp, &folder);
    let x = a.new_note("x", "from A\n").unwrap();
    a.sync_all(&mut |_| {}).unwrap();
    let mut b = joiner(&tmp, "b", &folder);
    b.sync_all(&mut |_| {}).unwrap();
    b.edit_note(&x.to_string(), None, Some("from A\nand B\n")).unwrap();
    b.sync_all(&mut |_| {}).unwrap();
    a.sync_all(&mut |_| {}).unwrap();
    // A second folder holding only B's entries (copied verbatim), then A's later.
    let partial = tmp.path().join("partial");
    let src = tmp.path().join("shared");
    std::fs::create_dir_all(&partial).unwrap();
    std::fs::copy(src.join("index.json"), partial.join("index.json")).unwrap();
    let copy = |client: &uuid::Uuid| {
        let st = std::process::Command::new("cp")
            .arg("-a")
            .arg(src.join(client.to_string()))
            .arg(&partial)
            .status()
            .unwrap();
        assert!(st.success());
    };
    copy(&b.client_id());
    let pf = Folder::new(partial.to_str().unwrap());
    let mut c = joiner(&tmp, "c", &pf);
    c.sync_all(&mut |_| {}).unwrap();
    // B's change cannot apply without A's; nothing is listed wrongly meanwhile.
    assert!(list(&c).iter().all(|n| n.first_line != "from A"), "{:?}", list(&c));
    copy(&a.client_id());
    c.sync_all(&mut |_| {}).unwrap();
    assert_eq!(list(&c), list(&a));
    assert_eq!(c.note(&x.to_string()).unwrap().body, "from A\nand B\n");
}

#[test]
fn attachment_links_of_listed_notes_are_found_without_building_the_others() {
    let (tmp, folder) = setup();
    let mut a = writer(&tmp, &folder);
    let with_link = a.new_note("photo", "look:\n").unwrap();
    for i in 0..5 {
        a.new_note(&format!("plain {i}"), "no links here, only asset: words and :/// marks")
            .unwrap();
    }
    let file = tmp.path().join("pic.png");
    std::fs::write(&file, b"\x89PNG not really").unwrap();
    let r = a.attach(&with_link.to_string(), &file, None).unwrap();
    a.sync_all(&mut |_| {}).unwrap();
    a.sync_assets(&|| false, &mut |_| {}).unwrap();

    let mut b = joiner(&tmp, "b", &folder);
    b.sync_all(&mut |_| {}).unwrap();
    assert_eq!(unbuilt(&b).len(), 6);
    b.set_keep_attachments(&b.targets().unwrap()[0].id, true).unwrap();
    b.sync_assets(&|| false, &mut |_| {}).unwrap();
    let assets = b.assets().unwrap();
    assert_eq!(assets.len(), 1, "{assets:?}");
    assert_eq!(
        (assets[0].url.as_str(), assets[0].notes, assets[0].local),
        (r.to_url().as_str(), 1, true),
        "kept offline from a listed note's link"
    );
    assert_eq!(unbuilt(&b).len(), 6, "scanning stored no document");
}

#[test]
fn a_title_splice_on_the_writer_reaches_a_listed_note() {
    let (tmp, folder) = setup();
    let mut a = writer(&tmp, &folder);
    for i in 0..5 {
        a.new_note(&format!("n{i}"), "body").unwrap();
    }
    a.sync_all(&mut |_| {}).unwrap();
    let mut b = joiner(&tmp, "b", &folder);
    b.sync_all(&mut |_| {}).unwrap();
    b.sync_all(&mut |_| {}).unwrap();
    let target: uuid::Uuid = a.list(Some(1)).unwrap()[0].id.parse().unwrap();
    for i in 0..3 {
        a.splice_note(&target, resnotes_core::Field::Title, 0, 0, &format!("w{i}")).unwrap();
        a.sync_all(&mut |_| {}).unwrap();
        b.sync_all(&mut |_| {}).unwrap();
        assert_eq!(list(&b), list(&a), "after splice {i}");
    }
}

#[test]
fn a_note_whose_changes_span_entries_pulled_together_is_complete() {
    // One change per entry: the first entries of a note carry no summary, the last one does.
    let (tmp, folder) = setup();
    let mut a = writer(&tmp, &folder);
    let x = a.new_note("x", "one").unwrap();
    for w in [" two", " three"] {
        let len = a.note(&x.to_string()).unwrap().body.chars().count();
        a.splice_note(&x, resnotes_core::Field::Body, len, 0, w).unwrap();
    }
    assert_eq!(a.seal_pending(1, usize::MAX).unwrap(), 3);
    a.sync_all(&mut |_| {}).unwrap();
    let mut b = joiner(&tmp, "b", &folder);
    b.sync_all(&mut |_| {}).unwrap();
    assert_eq!(list(&b), list(&a));
    assert_eq!(b.note(&x.to_string()).unwrap().body, "one two three");
    a.splice_note(&x, resnotes_core::Field::Title, 0, 0, "the ").unwrap();
    a.sync_all(&mut |_| {}).unwrap();
    b.sync_all(&mut |_| {}).unwrap();
    assert_eq!(list(&b), list(&a));
}

#[test]
fn stored_documents_beyond_the_most_recent_are_dropped_and_rebuilt_from_the_log() {
    use resnotes_core::testing as unbuilt;
    let (tmp, folder) = setup();
    let mut a = writer(&tmp, &folder);
    let mut ids = Vec::new();
    for i in 0..20 {
        ids.push(a.new_note(&format!("note {i}"), &format!("body {i}\n")).unwrap());
        std::thread::sleep(std::time::Duration::from_millis(2)); // distinct updated_at
    }
    // Unsealed changes keep their documents.
    assert_eq!(unbuilt::evict(&a, 5).unwrap(), 0);
    a.sync_all(&mut |_| {}).unwrap();
    let before = rows(&a);
    assert_eq!(unbuilt::evict(&a, 5).unwrap(), 15);
    assert_eq!(unbuilt(&a).len(), 15);
    assert_eq!(rows(&a), before, "rows stay as they were");
    assert!(!unbuilt(&a).contains(&ids[19].to_string()), "the most recent ones are kept");
    // Opening and editing an evicted note build it from the log.
    assert_eq!(a.note(&ids[0].to_string()).unwrap().body, "body 0\n");
    a.edit_note(&ids[1].to_string(), None, Some("body 1, edited\n")).unwrap();
    a.sync_all(&mut |_| {}).unwrap();
    // Another device's edit of an evicted note arrives.
    let mut b = joiner(&tmp, "b", &folder);
    b.sync_all(&mut |_| {}).unwrap();
    b.edit_note(&ids[2].to_string(), Some("two"), None).unwrap();
    b.sync_all(&mut |_| {}).unwrap();
    a.sync_all(&mut |_| {}).unwrap();
    assert_eq!(list(&a), list(&b));
    let n = a.note(&ids[2].to_string()).unwrap();
    assert_eq!((n.title.as_str(), n.body.as_str()), ("two", "body 2\n"));
    let n = b.note(&ids[1].to_string()).unwrap();
    assert_eq!(n.body, "body 1, edited\n");
    // A data dir whose index of the log is not known to be complete keeps everything.
    unbuilt::forget_note_index(&a).unwrap();
    assert_eq!(unbuilt::evict(&a, 0).unwrap(), 0);
    a.rebuild().unwrap();
    assert_eq!(unbuilt::evict(&a, 0).unwrap(), 20);
    assert_eq!(list(&a), list(&b));
}
