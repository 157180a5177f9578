//! Full-text search: every word of every live note is found, as the user types, with diacritics
//! folded and unsegmented scripts found as substrings; the index follows local edits, remote
//! changes, deletes and rebuilds; a device that joined finds notes listed from summaries once
//! they are indexed in the background.

use resnotes_core::transport::Folder;
use resnotes_core::{system_clock, Field, TargetKind, TextSplice, Workspace};

fn titles(ws: &Workspace, query: &str) -> Vec<String> {
    ws.find(query, 50).unwrap().into_iter().map(|n| n.title).collect()
}

fn local() -> (tempfile::TempDir, Workspace) {
    let tmp = tempfile::tempdir().unwrap();
    let ws = Workspace::init(&tmp.path().join("a"), true, system_clock()).unwrap();
    (tmp, ws)
}

/// Device A, given its notes by `fill`, shares them through a folder; device B joins and
/// syncs once.
fn shared_pair<T>(
    tmp: &tempfile::TempDir,
    fill: impl FnOnce(&mut Workspace) -> T,
) -> (Workspace, Workspace, T) {
    std::env::set_var("RESNOTES_TEST_ONLY_WEAK_SCRYPT_LOG_N", "2");
    let shared = tmp.path().join("shared");
    std::fs::create_dir_all(&shared).unwrap();
    let folder = Folder::new(shared.to_str().unwrap());
    let mut a = Workspace::init(&tmp.path().join("a"), false, system_clock()).unwrap();
    a.add_target(TargetKind::Folder, &folder, Some("a passphrase"), 2).unwrap();
    let made = fill(&mut a);
    a.sync_all(&mut |_| {}).unwrap();
    let mut b = Workspace::join(
        &tmp.path().join("b"),
        TargetKind::Folder,
        &folder,
        Some("a passphrase"),
        false,
        system_clock(),
    )
    .unwrap();
    b.sync_all(&mut |_| {}).unwrap();
    (a, b, made)
}

#[test]
fn any_word_of_a_note_is_found_as_the_user_types_it() {
    let (_tmp, mut ws) = local();
    ws.new_note("Groceries", "milk\neggs\nthe needle42 is on line three").unwrap();
    ws.new_note("Café notes", "Crème brûlée at the café on Rue Ménilmontant").unwrap();
    ws.new_note("旅行", "東京で日本語の本を買った").unwrap();
    ws.new_note("Quotes", "to be or not to be, that is the question").unwrap();
    ws.new_note("Reversed", "question: the is that, be to not or be to").unwrap();
    ws.new_note("ภาษาไทย", "สวัสดีครับ ยินดีต้อนรับ").unwrap();
    let cases: &[(&str, &[&str])] = &[
        ("needle42", &["Groceries"]),
        ("need", &["Groceries"]),          // a prefix, while typing
        ("NEEDLE42 line", &["Groceries"]), // case ignored, every word required
        ("needle42 absent", &[]),
        ("creme brulee", &["Café notes"]), // diacritics folded
        ("menilmont", &["Café notes"]),
        ("café", &["Café notes"]), // found in the title and the body: ranked once
        ("日本語", &["旅行"]),     // a substring of a run of ideographs
        ("本を", &["旅行"]),
        ("本日", &[]),
        ("ยินดี", &["ภาษาไทย"]),
        ("\"not to be\"", &["Quotes"]), // a phrase: the words in that order
        ("\"be to not\"", &["Reversed"]),
        ("question", &["Quotes", "Reversed"]),
        ("\"unclosed phr", &[]),
        ("AND OR NOT", &[]), // operators are words here
        ("(*\"", &[]),       // nothing a user types is an error
        ("", &[]),
    ];
    for (query, want) in cases {
        let mut got = titles(&ws, query);
        got.sort();
        let mut want: Vec<String> = want.iter().map(|s| s.to_string()).collect();
        want.sort();
        assert_eq!(got, want, "query {query:?}");
    }
    // Where it matched, marked.
    let hit = &ws.find("needle", 5).unwrap()[0];
    let marked: Vec<_> = hit.snippet.iter().filter(|p| p.hit).map(|p| p.text.as_str()).collect();
    assert_eq!(marked, ["needle42"]);
    let text: String = hit.snippet.iter().map(|p| p.text.as_str()).collect();
    assert!(text.contains("the needle42 is on line three"), "{text:?}");
    let cjk = &ws.find("日本語", 5).unwrap()[0];
    assert_eq!(
        cjk.snippet.iter().filter(|p| p.hit).map(|p| p.text.as_str()).collect::<Vec<_>>(),
        ["日本語"]
    );
}

#[test]
fn a_match_in_the_title_ranks_first_and_edits_deletes_and_rebuilds_keep_the_index_current() {
    let (_tmp, mut ws) = local();
    let body = ws.new_note("Misc", "a line about lanterns, and more").unwrap();
    let title = ws.new_note("Lanterns", "how to make one").unwrap();
    assert_eq!(titles(&ws, "lantern"), ["Lanterns", "Misc"]);

    ws.edit_note(&body.to_string(), None, Some("now about kites")).unwrap();
    assert_eq!(titles(&ws, "lantern"), ["Lanterns"]);
    assert_eq!(titles(&ws, "kites"), ["Misc"]);
    ws.delete_note(&title.to_string()).unwrap();
    assert!(titles(&ws, "lantern").is_empty(), "a deleted note is not found");
    ws.restore_note(&title.to_string()).unwrap();
    assert_eq!(titles(&ws, "lantern"), ["Lanterns"]);
    ws.rebuild().unwrap();
    assert_eq!(titles(&ws, "lantern"), ["Lanterns"]);
    assert_eq!(titles(&ws, "kites"), ["Misc"]);
}

#[test]
fn a_big_note_typed_into_is_found_by_its_newest_words() {
    let (_tmp, mut ws) = local();
    let big = "A line of a long note, typed over many days.\n".repeat(2000);
    let id = ws.new_note("Journal", &big).unwrap();
    let n = ws.note(&id.to_string()).unwrap();
    let splice = [TextSplice { pos: 10, delete: 0, insert: " zeppelin ".into() }];
    ws.edit_open_note(&id, &n.heads, &[(Field::Body, &splice[..])]).unwrap();
    assert_eq!(titles(&ws, "zeppelin"), ["Journal"]);
    // A new word's prefix, the first search after it was typed (the note is indexed again
    // before the prefix is turned into the words it stands for).
    let n = ws.note(&id.to_string()).unwrap();
    let splice = [TextSplice { pos: 10, delete: 0, insert: " zeppelinfield ".into() }];
    ws.edit_open_note(&id, &n.heads, &[(Field::Body, &splice[..])]).unwrap();
    assert_eq!(titles(&ws, "zeppelinf"), ["Journal"]);
    // Reopened in another process: still found.
    let dir = ws.dir().to_path_buf();
    drop(ws);
    let ws = Workspace::open(&dir).unwrap();
    assert_eq!(titles(&ws, "zeppelin"), ["Journal"]);
}

#[test]
fn a_device_that_joined_finds_every_word_once_its_notes_are_indexed() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut a, mut b, ()) = shared_pair(&tmp, |a| {
        for i in 0..30 {
            let body = format!("first line {i}\nsecond\nword{i} on line three");
            a.new_note(&format!("note {i}"), &body).unwrap();
        }
    });
    assert_eq!(b.listed_notes().unwrap().len(), 30, "listed from summaries");
    // Titles and first lines are found at once; the rest after indexing.
    assert_eq!(titles(&b, "\"first line 7\""), ["note 7"]);
    assert!(titles(&b, "word7").is_empty());
    let p = b.index_for_search(0).unwrap();
    assert_eq!((p.indexed, p.total), (0, 30));
    let p = b.index_for_search(10).unwrap();
    assert_eq!((p.indexed, p.total), (10, 30));
    let p = b.index_for_search(100).unwrap();
    assert_eq!((p.indexed, p.total), (30, 30));
    assert_eq!(b.listed_notes().unwrap().len(), 30, "indexing stores no document");
    for i in [0, 7, 29] {
        assert_eq!(titles(&b, &format!("word{i}")), [format!("note {i}")]);
    }

    // A remote edit arrives: found by its new words (a listed note: by its first line at once,
    // the rest once indexed again).
    let id = a.find("word3", 1).unwrap()[0].id.clone();
    a.edit_note(&id, None, Some("remote first\nmiddle\nfreshword at the end")).unwrap();
    a.sync_all(&mut |_| {}).unwrap();
    b.sync_all(&mut |_| {}).unwrap();
    assert!(titles(&b, "word3").is_empty(), "the old text is gone");
    assert_eq!(titles(&b, "remote"), ["note 3"]);
    assert_eq!(b.index_for_search(100).unwrap().indexed, 30);
    assert_eq!(titles(&b, "freshword"), ["note 3"]);

    // A note typed into here before the background reached it: the indexer leaves it to the
    // next search (its text may have been read before the keystroke), and still finishes.
    a.edit_note(&id, None, Some("remote again\nsecond\nlastword")).unwrap();
    a.sync_all(&mut |_| {}).unwrap();
    b.sync_all(&mut |_| {}).unwrap();
    let id: uuid::Uuid = id.parse().unwrap();
    b.splice_note(&id, Field::Body, 0, 0, "typedword ").unwrap();
    let p = b.index_for_search(100).unwrap();
    assert_eq!((p.indexed, p.total), (30, 30));
    assert_eq!(resnotes_core::testing::waiting_for_search(&b).unwrap(), 1);
    assert_eq!(titles(&b, "typedword lastword"), ["note 3"]);
    assert_eq!(resnotes_core::testing::waiting_for_search(&b).unwrap(), 0);
}
/// Another device's edits to notes built here are indexed once the pull of its entries ends,
/// not after every batch: nothing waits for the next search after a sync, and every note is
/// found by its new words and no longer by its old ones.
#[test]
fn a_pull_indexes_the_notes_it_changed_when_it_ends() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut a, mut b, ids) = shared_pair(&tmp, |a| {
        (0..12).map(|i| a.new_note(&format!("n{i}"), "oldword plain").unwrap()).collect::<Vec<_>>()
    });
    // B builds the notes (typing into each), so A's edits are applied to documents here.
    for id in &ids {
        b.splice_note(id, Field::Body, 0, 0, "b ").unwrap();
    }
    assert_eq!(titles(&b, "plain").len(), 12);
    b.sync_all(&mut |_| {}).unwrap();
    a.sync_all(&mut |_| {}).unwrap();
    for (k, id) in ids.iter().enumerate() {
        let body = a.note(&id.to_string()).unwrap().body;
        let at = body.find("oldword").unwrap();
        a.splice_note(id, Field::Body, at, "oldword".len(), &format!("newword{k}")).unwrap();
        // One entry per edit, as a device syncing after each edit writes them.
        a.seal_pending(1, usize::MAX).unwrap();
    }
    a.sync_all(&mut |_| {}).unwrap();
    b.sync_all(&mut |_| {}).unwrap();
    assert_eq!(resnotes_core::testing::waiting_for_search(&b).unwrap(), 0, "indexed by the pull");
    assert_eq!(titles(&b, "newword5"), ["n5"]);
    assert!(titles(&b, "oldword").is_empty(), "the old words are gone");
    assert_eq!(titles(&b, "newword*").len(), 12);
}

/// A keystroke's save writes no search index: the note typed into is indexed before the next
/// search, in this process or another; a script editing many notes has them indexed as it
/// goes (past a few, the next search would wait for them all).
#[test]
fn typing_indexes_the_note_before_the_next_search_and_scripts_as_they_go() {
    let (_tmp, mut ws) = local();
    let id = ws.new_note("Diary", "a quiet day").unwrap();
    assert_eq!(titles(&ws, "quiet"), ["Diary"]);
    assert_eq!(resnotes_core::testing::waiting_for_search(&ws).unwrap(), 0);
    ws.splice_note(&id, Field::Body, 0, 0, "lanterns on ").unwrap();
    assert_eq!(resnotes_core::testing::waiting_for_search(&ws).unwrap(), 1);
    let dir = ws.dir().to_path_buf();
    drop(ws);
    let mut ws = Workspace::open(&dir).unwrap();
    assert_eq!(titles(&ws, "lanterns"), ["Diary"], "found from another process");
    assert_eq!(resnotes_core::testing::waiting_for_search(&ws).unwrap(), 0);
    let n = ws.note(&id.to_string()).unwrap();
    let splice = [TextSplice { pos: 0, delete: 8, insert: "kites".into() }];
    ws.edit_open_note(&id, &n.heads, &[(Field::Body, &splice[..])]).unwrap();
    assert_eq!(titles(&ws, "kites"), ["Diary"]);
    assert!(titles(&ws, "lanterns").is_empty(), "its old words are gone");

    let ids: Vec<_> = (0..20).map(|i| ws.new_note(&format!("n{i}"), "plain").unwrap()).collect();
    assert_eq!(titles(&ws, "plain").len(), 20);
    for id in &ids {
        ws.splice_note(id, Field::Body, 0, 0, "zeppelin ").unwrap();
    }
    assert_eq!(resnotes_core::testing::waiting_for_search(&ws).unwrap(), 8, "a few wait");
    assert_eq!(titles(&ws, "zeppelin").len(), 20);
}

/// `tag:NAME` keeps only notes with that tag, with words or alone; a tag changed or removed is
/// followed at once; a deleted note is not found by its tag.
#[test]
fn tag_filters_combine_with_words() {
    let (_tmp, mut ws) = local();
    let a = ws.new_note("Budget", "numbers for the meeting").unwrap().to_string();
    let b = ws.new_note("Standup", "meeting notes").unwrap().to_string();
    ws.new_note("Lunch", "meeting a friend").unwrap();
    ws.retag(&a, &["work"], &[]).unwrap();
    ws.retag(&b, &["Work", "daily standup"], &[]).unwrap();
    assert_eq!(sorted(&ws, "meeting"), ["Budget", "Lunch", "Standup"]);
    assert_eq!(sorted(&ws, "meeting tag:work"), ["Budget", "Standup"]);
    assert_eq!(sorted(&ws, "TAG:#Work meet"), ["Budget", "Standup"]);
    assert_eq!(sorted(&ws, "tag:work tag:\"daily standup\""), ["Standup"]);
    assert_eq!(sorted(&ws, "tag:work"), ["Budget", "Standup"]);
    assert!(sorted(&ws, "meeting tag:nosuch").is_empty());
    ws.retag(&a, &[], &["work"]).unwrap();
    assert_eq!(sorted(&ws, "meeting tag:work"), ["Standup"]);
    ws.delete_note(&b).unwrap();
    assert!(sorted(&ws, "meeting tag:work").is_empty());
    assert!(sorted(&ws, "tag:work").is_empty());
}

fn sorted(ws: &Workspace, query: &str) -> Vec<String> {
    let mut t = titles(ws, query);
    t.sort();
    t
}

/// What the app's list shows for a view and the words in its search field: the view's notes
/// without words; with words, matches anywhere (filters allowed) in the view of all notes, or
/// only among the view's tag or notebook (where `tag:` is a word like any other).
#[test]
fn a_view_lists_its_notes_and_finds_words_among_them() {
    use resnotes_core::{ListQuery, Place};
    let (_tmp, mut ws) = local();
    let book = ws.add_notebook("Work", Place::Default).unwrap();
    ws.new_note_in("Plan", "meeting on monday", Place::Notebook(book)).unwrap();
    let tagged = ws.new_note("Lunch", "meeting a friend").unwrap().to_string();
    ws.new_note("Diary", "no meetings today").unwrap();
    ws.retag(&tagged, &["home"], &[]).unwrap();
    let titles = |q: &ListQuery, words: &str| {
        let mut t: Vec<String> = ws.view(q, words).unwrap().into_iter().map(|n| n.title).collect();
        t.sort();
        t
    };
    let all = ListQuery { limit: Some(50), ..Default::default() };
    let in_book = ListQuery { notebook: Some(Place::Notebook(book)), ..all.clone() };
    let in_inbox = ListQuery { notebook: Some(Place::Default), ..all.clone() };
    let home = ListQuery { tags: vec!["home".into()], ..all.clone() };
    assert_eq!(titles(&all, ""), ["Diary", "Lunch", "Plan"]);
    assert_eq!(titles(&all, "  meeting "), ["Diary", "Lunch", "Plan"]);
    assert_eq!(titles(&all, "meeting tag:home"), ["Lunch"]);
    assert_eq!(titles(&in_book, ""), ["Plan"]);
    assert_eq!(titles(&in_book, "meeting"), ["Plan"]);
    assert_eq!(titles(&in_inbox, "meeting"), ["Diary", "Lunch"]);
    assert_eq!(titles(&home, "meeting"), ["Lunch"]);
    assert!(titles(&home, "monday").is_empty());
    assert!(titles(&in_book, "tag:home").is_empty(), "a filter is a word inside a view");
}
