//! A note's history across two devices: versions grouped into editing sessions with their
//! device, time and what changed; any version viewed as its writer had it; versions compared
//! word by word; a version restored as a new edit that syncs, leaves history as it was and
//! brings a deleted note back. Devices' clocks are set by the test.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use proptest::prelude::*;
use resnotes_core::transport::Folder;
use resnotes_core::{Clock, DiffKind, TargetKind, Workspace};

const PASS: &str = "history passphrase";
/// 2026-12-04 09:00 UTC.
const T0: i64 = 1_796_374_800_000;
const MIN: i64 = 60_000;

/// A clock the test moves.
#[derive(Clone)]
struct Hands(Arc<AtomicI64>);

impl Hands {
    fn new(at: i64) -> Self {
        Self(Arc::new(AtomicI64::new(at)))
    }
    fn clock(&self) -> Clock {
        let h = self.0.clone();
        Box::new(move || h.load(Ordering::SeqCst))
    }
    fn set(&self, at: i64) {
        self.0.store(at, Ordering::SeqCst);
    }
}

struct Pair {
    _tmp: tempfile::TempDir,
    a: Workspace,
    b: Workspace,
    folder: Folder,
    ha: Hands,
    hb: Hands,
}

impl Pair {
    /// Device A with one note written at `T0`, shared through a folder that device B joined.
    fn new(title: &str, body: &str) -> (Self, String) {
        let tmp = tempfile::tempdir().unwrap();
        let (ha, hb) = (Hands::new(T0), Hands::new(T0));
        let mut a = Workspace::init(&tmp.path().join("a"), false, ha.clock()).unwrap();
        let id = a.new_note(title, body).unwrap().to_string();
        std::fs::create_dir(tmp.path().join("folder")).unwrap();
        let folder = Folder::new(tmp.path().join("folder"));
        a.add_target(TargetKind::Folder, &folder, Some(PASS), 2).unwrap();
        a.sync_all(&mut |_| {}).unwrap();
        let b = Workspace::join(
            &tmp.path().join("b"),
            TargetKind::Folder,
            &folder,
            Some(PASS),
            false,
            hb.clock(),
        )
        .unwrap();
        let mut p = Self { _tmp: tmp, a, b, folder, ha, hb };
        p.sync();
        (p, id)
    }

    fn sync(&mut self) {
        for _ in 0..2 {
            self.a.sync_all(&mut |_| {}).unwrap();
            self.b.sync_all(&mut |_| {}).unwrap();
        }
    }
}

#[test]
fn each_devices_sessions_are_versions_and_any_one_can_be_viewed_compared_and_restored() {
    let (mut p, id) = Pair::new("Trip", "pack socks");
    // A types on a minute later (same session), then again after a pause (a new session).
    p.ha.set(T0 + MIN);
    p.a.edit_note(&id, None, Some("pack socks\nbook train")).unwrap();
    p.ha.set(T0 + 20 * MIN);
    p.a.edit_note(&id, Some("Trip to Lyon"), Some("pack socks\nbook train to Lyon")).unwrap();
    p.sync();
    // B removes a line and tags the note.
    p.hb.set(T0 + 30 * MIN);
    p.b.edit_note(&id, None, Some("book train to Lyon")).unwrap();
    p.b.retag(&id, &["travel"], &[]).unwrap();
    p.sync();

    let (a_id, b_id) = (p.a.client_id().to_string(), p.b.client_id().to_string());
    for ws in [&p.a, &p.b] {
        let h = ws.history(&id).unwrap();
        let seen: Vec<(&str, Option<i64>, &str)> =
            h.iter().map(|v| (v.device.as_str(), v.ended_at, v.summary.as_str())).collect();
        assert_eq!(
            seen,
            vec![
                (b_id.as_str(), Some(T0 + 30 * MIN), "−11 characters · tagged travel"),
                (a_id.as_str(), Some(T0 + 20 * MIN), "+8 characters · title “Trip to Lyon”"),
                (a_id.as_str(), Some(T0 + MIN), "Created · +21 characters"),
            ],
            "on {}",
            ws.client_id()
        );
        assert_eq!(h[2].changes, 2, "the note and the edit a minute later");
        assert_eq!(h[2].started_at, Some(T0));
        assert!(h.iter().all(|v| !v.concurrent));
        assert_eq!(h[0].this_device, ws.client_id() == p.b.client_id());
        // The first version is the text A had then, named by 4 of its characters.
        let first = ws.version(&id, &h[2].id[..4]).unwrap();
        assert_eq!((first.title.as_str(), first.body.as_str()), ("Trip", "pack socks\nbook train"));
        assert!(!first.deleted);
        // At a time: the newest version that had ended by then.
        assert_eq!(ws.version_at(&id, T0 + 25 * MIN).unwrap().title, "Trip to Lyon");
        assert!(ws.version_at(&id, T0 - MIN).is_err());
    }

    // Compared with the current text, word by word.
    let h = p.b.history(&id).unwrap();
    let c = p.b.compare(&id, Some(&h[2].id), None).unwrap();
    assert_eq!(c.titles, Some(("Trip".to_string(), "Trip to Lyon".to_string())));
    let kinds: Vec<(DiffKind, &str)> = c.body.iter().map(|d| (d.kind, d.text.as_str())).collect();
    let want = [
        (DiffKind::Removed, "pack socks\n"),
        (DiffKind::Same, "book train"),
        (DiffKind::Added, " to Lyon"),
    ];
    assert_eq!(kinds, want);
    // The default: the version before the newest against the current text.
    let last = p.b.compare(&id, None, None).unwrap();
    assert_eq!(last.from, h[1].id);
    assert_eq!(last.to, "current");

    // B restores the first version: a new edit on top, the older versions untouched, and A
    // gets the text back by syncing.
    p.hb.set(T0 + 40 * MIN);
    p.b.restore_version(&id, &h[2].id).unwrap();
    p.sync();
    for ws in [&p.a, &p.b] {
        let n = ws.note(&id).unwrap();
        assert_eq!((n.title.as_str(), n.body.as_str()), ("Trip", "pack socks\nbook train"));
        assert_eq!(n.tags, vec!["travel".to_string()], "restoring the text keeps the tags");
        let after = ws.history(&id).unwrap();
        assert_eq!(after.len(), 4);
        let ids = |h: &[resnotes_core::Version]| -> Vec<(String, String)> {
            h.iter().map(|v| (v.id.clone(), v.summary.clone())).collect()
        };
        assert_eq!(ids(&after[1..]), ids(&h), "history before the restore is as it was");
        assert_eq!(after[0].summary, "+11 −8 characters · title “Trip”");
        assert_eq!(after[0].device, b_id);
    }
}

#[test]
fn a_deleted_note_comes_back_from_its_history() {
    let (mut p, id) = Pair::new("Old letter", "Dear Ann");
    p.ha.set(T0 + 10 * MIN);
    p.a.edit_note(&id, None, Some("Dear Ann, thank you")).unwrap();
    p.ha.set(T0 + 20 * MIN);
    p.a.delete_note(&id).unwrap();
    p.sync();
    assert!(p.b.note(&id).is_err(), "in the trash");
    let h = p.b.history(&id).unwrap();
    assert_eq!(h[0].summary, "moved to the trash");
    assert!(p.b.version(&id, &h[0].id).unwrap().deleted);
    p.hb.set(T0 + 30 * MIN);
    p.b.restore_version(&id, &h[1].id).unwrap();
    p.sync();
    for ws in [&p.a, &p.b] {
        assert_eq!(ws.note(&id).unwrap().body, "Dear Ann, thank you");
        assert_eq!(ws.history(&id).unwrap()[0].summary, "restored from the trash");
    }
}

/// Whether device `w`'s list marks note `id` as merged, and the devices its note names.
fn merge_mark(w: &Workspace, id: &str) -> (bool, Vec<String>) {
    let listed = w.list(None).unwrap().into_iter().find(|n| n.id == id).unwrap();
    (listed.merged, w.note(id).unwrap().merged_with)
}

/// Device B merges A's edit and types on before A pulls both of B's changes at once: A is still
/// marked. A third device that edited nothing and receives A's edit, then B's, is not.
#[test]
fn a_merge_is_marked_after_the_other_device_typed_on_and_not_on_a_device_that_only_relays() {
    let (mut p, id) = Pair::new("Errands", "call mom\n");
    let tmp = tempfile::tempdir().unwrap();
    let join = |name: &str| {
        Workspace::join(
            &tmp.path().join(name),
            TargetKind::Folder,
            &p.folder,
            Some(PASS),
            false,
            Hands::new(T0).clock(),
        )
        .unwrap()
    };
    let mut c = join("c");
    c.sync_all(&mut |_| {}).unwrap();
    p.a.edit_note(&id, None, Some("call mom today\n")).unwrap();
    p.a.sync_all(&mut |_| {}).unwrap();
    c.sync_all(&mut |_| {}).unwrap(); // C holds A's edit
    assert_eq!(c.note(&id).unwrap().body, "call mom today\n", "opened: its document is built");
    p.b.edit_note(&id, None, Some("call mom tomorrow\n")).unwrap();
    p.b.sync_all(&mut |_| {}).unwrap(); // B pulls A's edit (marked) and pushes its own
    let merged = p.b.note(&id).unwrap().body;
    p.b.edit_note(&id, None, Some(&format!("Please {merged}"))).unwrap();
    p.b.sync_all(&mut |_| {}).unwrap();
    p.a.sync_all(&mut |_| {}).unwrap(); // both of B's changes at once
    c.sync_all(&mut |_| {}).unwrap();
    let b_id = p.b.client_id().to_string();
    assert_eq!(merge_mark(&p.a, &id), (true, vec![b_id]));
    assert_eq!(merge_mark(&p.b, &id), (true, vec![p.a.client_id().to_string()]));
    assert_eq!(merge_mark(&c, &id), (false, vec![]), "C edited nothing");
    assert_eq!(c.note(&id).unwrap().body, p.a.note(&id).unwrap().body);
}

#[test]
fn edits_of_the_same_words_on_two_devices_mark_the_note_until_it_is_seen() {
    let (mut p, id) = Pair::new("Errands", "call mom today\nbuy milk\n");
    p.a.edit_note(&id, None, Some("call dad today\nbuy milk\n")).unwrap();
    p.b.edit_note(&id, None, Some("call grandma today\nbuy milk\n")).unwrap();
    p.sync();
    let (a_id, b_id) = (p.a.client_id().to_string(), p.b.client_id().to_string());
    assert_eq!(merge_mark(&p.a, &id), (true, vec![b_id.clone()]), "A names B");
    assert_eq!(merge_mark(&p.b, &id), (true, vec![a_id]), "B names A");
    // Seen on A: A's mark goes, B's stays (a mark is this device's, not synced).
    assert!(p.a.seen_merge(&id).unwrap());
    assert!(!p.a.seen_merge(&id).unwrap(), "nothing left to clear");
    p.sync();
    assert_eq!(merge_mark(&p.a, &id), (false, vec![]));
    assert!(merge_mark(&p.b, &id).0);

    // Edits one after the other, however close, and edits of different words at once: no mark.
    p.b.seen_merge(&id).unwrap();
    p.a.edit_note(&id, None, Some("call dad today\nbuy milk and eggs\n")).unwrap();
    p.sync();
    p.b.edit_note(&id, None, Some("call dad tonight\nbuy milk and eggs\n")).unwrap();
    p.sync();
    p.a.edit_note(&id, None, Some("call dad tonight\nbuy oat milk and eggs\n")).unwrap();
    p.b.edit_note(&id, None, Some("Call dad tonight\nbuy milk and eggs\n")).unwrap();
    p.sync();
    assert_eq!(p.a.note(&id).unwrap().body, "Call dad tonight\nbuy oat milk and eggs\n");
    assert_eq!(merge_mark(&p.a, &id), (false, vec![]), "different words");
    assert_eq!(merge_mark(&p.b, &id), (false, vec![]), "different words");
    // The title counts as well as the body.
    p.a.edit_note(&id, Some("Errands for Monday"), None).unwrap();
    p.b.edit_note(&id, Some("Errands (urgent)"), None).unwrap();
    p.sync();
    assert_eq!(merge_mark(&p.a, &id), (true, vec![b_id]));
}

#[test]
fn two_devices_editing_at_once_show_as_concurrent_sessions() {
    let (mut p, id) = Pair::new("Shared", "one\ntwo\n");
    p.ha.set(T0 + 10 * MIN);
    p.hb.set(T0 + 10 * MIN);
    p.a.edit_note(&id, None, Some("one from A\ntwo\n")).unwrap();
    p.b.edit_note(&id, None, Some("one\ntwo from B\n")).unwrap();
    p.sync();
    let h = p.a.history(&id).unwrap();
    assert_eq!(h.len(), 3);
    assert!(h[0].concurrent, "{h:?}");
    assert!(!h[1].concurrent);
    // Each side's version is the text its writer had, not the merge.
    let mine: Vec<String> = h[..2].iter().map(|v| p.a.version(&id, &v.id).unwrap().body).collect();
    assert!(mine.contains(&"one from A\ntwo\n".to_string()), "{mine:?}");
    assert!(mine.contains(&"one\ntwo from B\n".to_string()), "{mine:?}");
    let same = |h: &[resnotes_core::Version]| -> Vec<(String, String, String, bool)> {
        h.iter()
            .map(|v| (v.id.clone(), v.device.clone(), v.summary.clone(), v.concurrent))
            .collect()
    };
    assert_eq!(same(&p.b.history(&id).unwrap()), same(&h), "both devices list the same history");
}

#[test]
fn wrong_versions_get_one_sentence() {
    let (p, id) = Pair::new("Trip", "pack socks");
    for bad in ["ab", "not-hex", "0000000000"] {
        let e = p.a.version(&id, bad).unwrap_err().to_string();
        assert!(e.contains("version"), "{bad}: {e}");
    }
    assert!(p.a.compare(&id, None, None).unwrap_err().to_string().contains("only one version"));
    let _ = &p.folder;
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, .. ProptestConfig::default() })]

    /// Random edits on two devices, synced now and then: every version in either device's
    /// history is exactly the text its writer had right after making it.
    #[test]
    fn every_version_is_the_text_its_writer_had(
        edits in prop::collection::vec((0usize..2, 0usize..40, 0usize..4, "[a-z ]{0,6}", 0u8..4, 0i64..12), 1..24)
    ) {
        let (mut p, id) = Pair::new("Notes", "start");
        let mut had = std::collections::HashMap::new();
        let mut t = T0;
        for (who, at, del, text, sync, minutes) in edits {
            t += minutes * MIN;
            p.ha.set(t);
            p.hb.set(t);
            let ws = if who == 0 { &mut p.a } else { &mut p.b };
            let body = ws.note(&id).unwrap().body;
            let chars: Vec<char> = body.chars().collect();
            let at = at.min(chars.len());
            let end = (at + del).min(chars.len());
            let new: String = chars[..at].iter().chain(text.chars().collect::<Vec<_>>().iter()).chain(chars[end..].iter()).collect();
            if ws.edit_note(&id, None, Some(&new)).unwrap() {
                let n = ws.note(&id).unwrap();
                prop_assert_eq!(n.heads.len(), 1);
                had.insert(n.heads[0].clone(), n.body);
            }
            if sync == 0 {
                p.sync();
            }
        }
        p.sync();
        for ws in [&p.a, &p.b] {
            for v in ws.history(&id).unwrap() {
                let text = ws.version(&id, &v.id).unwrap().body;
                match had.get(&v.id) {
                    Some(want) => prop_assert_eq!(&text, want),
                    None => prop_assert_eq!(text.as_str(), "start", "only the creation was not recorded"),
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 10, .. ProptestConfig::default() })]

    /// After random edits on two devices, one restores any version of its history while the
    /// other (not synced since) types a word somewhere: once both sync, each has exactly the
    /// restored text plus that word, and with no edit beside it, exactly the restored text.
    #[test]
    fn a_restored_version_syncs_with_only_the_edits_made_beside_it(
        edits in prop::collection::vec((0usize..2, 0usize..40, 0usize..4, "[a-z ]{0,6}"), 1..16),
        pick in any::<prop::sample::Index>(),
        word_at in any::<prop::sample::Index>(),
        beside in any::<bool>(),
    ) {
        let (mut p, id) = Pair::new("Notes", "start");
        let mut t = T0;
        for (i, (who, at, del, text)) in edits.into_iter().enumerate() {
            // Sessions: each device's edits six minutes apart, synced every third edit.
            t += 6 * MIN;
            p.ha.set(t);
            p.hb.set(t);
            let ws = if who == 0 { &mut p.a } else { &mut p.b };
            let chars: Vec<char> = ws.note(&id).unwrap().body.chars().collect();
            let at = at.min(chars.len());
            let end = (at + del).min(chars.len());
            let new: String = chars[..at].iter().copied().chain(text.chars()).chain(chars[end..].iter().copied()).collect();
            ws.edit_note(&id, None, Some(&new)).unwrap();
            if i % 3 == 2 {
                p.sync();
            }
        }
        p.sync();
        let versions = p.a.history(&id).unwrap();
        let v = &versions[pick.index(versions.len())];
        let want = p.a.version(&id, &v.id).unwrap();
        t += 6 * MIN;
        p.ha.set(t);
        p.hb.set(t);
        p.a.restore_version(&id, &v.id).unwrap();
        prop_assert_eq!(&p.a.note(&id).unwrap().body, &want.body);
        const WORD: &str = "<NEW>";
        if beside {
            let chars: Vec<char> = p.b.note(&id).unwrap().body.chars().collect();
            let at = word_at.index(chars.len() + 1);
            let new: String = chars[..at].iter().copied().chain(WORD.chars()).chain(chars[at..].iter().copied()).collect();
            p.b.edit_note(&id, None, Some(&new)).unwrap();
        }
        p.sync();
        let (a, b) = (p.a.note(&id).unwrap(), p.b.note(&id).unwrap());
        prop_assert_eq!(&a.body, &b.body);
        prop_assert_eq!(&a.title, &want.title);
        prop_assert_eq!(a.body.matches(WORD).count(), usize::from(beside));
        prop_assert_eq!(a.body.replace(WORD, ""), want.body);
    }
}

#[test]
fn the_timeline_shows_what_each_device_changed_and_what_waits_to_sync() {
    let (mut p, trip) = Pair::new("Trip", "pack socks");
    p.ha.set(T0 + 10 * MIN);
    let shop = p.a.new_note("Groceries", "milk").unwrap().to_string();
    p.a.edit_note(&trip, None, Some("pack socks and boots")).unwrap();
    p.sync();
    p.hb.set(T0 + 20 * MIN);
    p.b.edit_note(&shop, None, Some("milk, eggs")).unwrap();
    p.b.delete_note(&trip).unwrap();

    let t = p.b.changes_since(T0 + 5 * MIN, 50).unwrap();
    // First what waits to sync here, then what arrived from A (the creation at T0 is older).
    assert!(!t[0].synced && t[0].this_device);
    assert_eq!(t[0].at, Some(T0 + 20 * MIN));
    let titles = |i: usize| -> Vec<(String, resnotes_core::LinkState)> {
        t[i].notes.iter().map(|n| (n.title.clone(), n.state)).collect()
    };
    let mut waiting = titles(0);
    waiting.sort_by(|x, y| x.0.cmp(&y.0));
    assert_eq!(
        waiting,
        vec![
            ("Groceries".to_string(), resnotes_core::LinkState::Live),
            ("Trip".to_string(), resnotes_core::LinkState::Trashed)
        ]
    );
    assert_eq!(t.len(), 2, "{t:?}");
    assert_eq!(t[1].device, p.a.client_id().to_string());
    assert!(t[1].synced && !t[1].this_device && t[1].received_at.is_some());
    assert_eq!(t[1].at, Some(T0 + 10 * MIN));
    assert_eq!(t[1].notes.len(), 2);
    // After B syncs, A sees B's entry, and its own.
    p.sync();
    let t = p.a.changes_since(T0 + 15 * MIN, 50).unwrap();
    assert_eq!(t.len(), 1, "{t:?}");
    assert_eq!(t[0].device, p.b.client_id().to_string());
    assert_eq!(p.a.changes_since(0, 50).unwrap().len(), 3, "A's two entries and B's");
}
