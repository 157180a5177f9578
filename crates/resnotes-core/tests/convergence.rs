//! Property tests: three replicas, random edits, random partial syncs through two in-memory
//! targets with injected faults, duplicated delivery and rebuilds — every replica ends with the
//! same notes, and applying the log in any order gives the same notes again.

use std::collections::BTreeMap;

use proptest::prelude::*;
use resnotes_core::entry;
use resnotes_core::transport::{Fault, Memory, Transport};
use resnotes_core::workspace::{system_clock, Field, Target, TextSplice};
use resnotes_core::{materialize, note, store, Workspace};

const PASS: &str = "property passphrase";

#[derive(Clone, Debug)]
enum Step {
    New { replica: usize, title: String },
    Insert { replica: usize, note: usize, at: usize, text: String },
    Delete { replica: usize, note: usize, at: usize, len: usize },
    Sync { replica: usize, target: usize, fault: Option<u8> },
    Rebuild { replica: usize },
    Title { replica: usize, note: usize, text: String },
    Remove { replica: usize, note: usize },
    Restore { replica: usize, note: usize },
    /// An editor's splice made against the version it read before its last `lag` syncs.
    Stale { replica: usize, note: usize, at: usize, text: String },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        1 => (0..3usize, "[a-z]{1,6}").prop_map(|(replica, title)| Step::New { replica, title }),
        4 => (0..3usize, 0..6usize, 0..40usize, "[a-z \n]{1,5}").prop_map(|(replica, note, at, text)| Step::Insert { replica, note, at, text }),
        2 => (0..3usize, 0..6usize, 0..40usize, 1..6usize).prop_map(|(replica, note, at, len)| Step::Delete { replica, note, at, len }),
        3 => (0..3usize, 0..2usize, prop::option::weighted(0.3, 0..3u8)).prop_map(|(replica, target, fault)| Step::Sync { replica, target, fault }),
        1 => (0..3usize).prop_map(|replica| Step::Rebuild { replica }),
        1 => (0..3usize, 0..6usize, "[A-Z]{1,4}").prop_map(|(replica, note, text)| Step::Title { replica, note, text }),
        1 => (0..3usize, 0..6usize).prop_map(|(replica, note)| Step::Remove { replica, note }),
        1 => (0..3usize, 0..6usize).prop_map(|(replica, note)| Step::Restore { replica, note }),
        2 => (0..3usize, 0..6usize, 0..40usize, "[a-z]{1,4}").prop_map(|(replica, note, at, text)| Step::Stale { replica, note, at, text }),
    ]
}

struct World {
    _dirs: Vec<tempfile::TempDir>,
    replicas: Vec<Workspace>,
    targets: Vec<Memory>,
    /// Per replica, its Target row for each memory target.
    rows: Vec<Vec<Target>>,
    /// Per replica, what an editor read of a note (heads, UTF-16 length), for stale splices.
    seen: Vec<BTreeMap<uuid::Uuid, (Vec<String>, usize)>>,
}

fn world() -> World {
    let targets = vec![Memory::new("f"), Memory::new("g")];
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let first = Workspace::init(dirs[0].path(), false, system_clock()).unwrap();
    let mut rows = vec![vec![
        first.add_target("memory", &targets[0], Some(PASS), 10).unwrap(),
        first.add_target("memory", &targets[1], Some(PASS), 10).unwrap(),
    ]];
    let mut replicas = vec![first];
    for d in &dirs[1..] {
        let ws = Workspace::join(d.path(), "memory", &targets[0], Some(PASS), system_clock()).unwrap();
        let t0 = ws.targets().unwrap().remove(0);
        let t1 = ws.add_target("memory", &targets[1], None, 10).unwrap();
        rows.push(vec![t0, t1]);
        replicas.push(ws);
    }
    World { _dirs: dirs, replicas, targets, rows, seen: vec![BTreeMap::new(), BTreeMap::new(), BTreeMap::new()] }
}

fn notes(ws: &Workspace) -> BTreeMap<String, (String, String)> {
    ws.list(None).unwrap().into_iter().map(|n| {
        let full = ws.note(&n.id).unwrap();
        (n.id, (full.title, full.body))
    }).collect()
}

fn sync(w: &mut World, r: usize, t: usize) {
    let row = w.rows[r][t].clone();
    let tr: &dyn Transport = &w.targets[t];
    w.replicas[r].sync_with(&[(&row, tr)], &mut |_| {}).unwrap();
}

/// The `n`th note of a replica: live ones, or deleted ones when `deleted`.
fn pick(ws: &Workspace, n: usize, deleted: bool) -> Option<uuid::Uuid> {
    let mut st = ws.conn().prepare("SELECT id FROM notes WHERE deleted = ?1 ORDER BY id").unwrap();
    let ids: Vec<String> = st.query_map([deleted], |r| r.get(0)).unwrap().map(|r| r.unwrap()).collect();
    ids.get(n % ids.len().max(1)).map(|s| s.parse().unwrap())
}

/// Every note's Automerge heads (deleted ones too).
fn all_heads(ws: &Workspace) -> BTreeMap<String, Vec<automerge::ChangeHash>> {
    let mut st = ws.conn().prepare("SELECT id FROM notes ORDER BY id").unwrap();
    let ids: Vec<String> = st.query_map([], |r| r.get(0)).unwrap().map(|r| r.unwrap()).collect();
    ids.into_iter()
        .map(|id| {
            let mut doc = materialize::load_doc(ws.conn(), &id.parse().unwrap(), &ws.client_id()).unwrap().unwrap();
            let mut h = doc.get_heads();
            h.sort();
            (id, h)
        })
        .collect()
}

fn run(steps: Vec<Step>) {
    let mut w = world();
    for s in steps {
        match s {
            Step::New { replica, title } => {
                w.replicas[replica].new_note(&title, "").unwrap();
            }
            Step::Insert { replica, note, at, text } => {
                let list = w.replicas[replica].list(None).unwrap();
                if let Some(n) = list.get(note % list.len().max(1)) {
                    let body = w.replicas[replica].note(&n.id).unwrap().body;
                    let mut chars: Vec<char> = body.chars().collect();
                    let at = at.min(chars.len());
                    chars.splice(at..at, text.chars());
                    let new: String = chars.into_iter().collect();
                    w.replicas[replica].edit_note(&n.id, None, Some(&new)).unwrap();
                }
            }
            Step::Delete { replica, note, at, len } => {
                let list = w.replicas[replica].list(None).unwrap();
                if let Some(n) = list.get(note % list.len().max(1)) {
                    let body = w.replicas[replica].note(&n.id).unwrap().body;
                    let mut chars: Vec<char> = body.chars().collect();
                    let at = at.min(chars.len());
                    let end = (at + len).min(chars.len());
                    chars.drain(at..end);
                    let new: String = chars.into_iter().collect();
                    w.replicas[replica].edit_note(&n.id, None, Some(&new)).unwrap();
                }
            }
            Step::Sync { replica, target, fault } => {
                match fault {
                    Some(0) => w.targets[target].inject(Fault::Offline),
                    Some(1) => w.targets[target].inject(Fault::FailWrites),
                    Some(_) => w.targets[target].inject(Fault::FailReadsOf("changes/1/1".into())),
                    None => {}
                }
                sync(&mut w, replica, target);
                w.targets[target].heal();
            }
            Step::Rebuild { replica } => {
                w.replicas[replica].rebuild().unwrap();
                w.seen[replica].clear();
            }
            Step::Title { replica, note, text } => {
                if let Some(id) = pick(&w.replicas[replica], note, false) {
                    w.replicas[replica].edit_fields(&id, None, &[(Field::Title, &[TextSplice { pos: 0, delete: 1, insert: text }])]).unwrap();
                }
            }
            Step::Remove { replica, note } => {
                if let Some(id) = pick(&w.replicas[replica], note, false) {
                    w.replicas[replica].delete_note(&id.to_string()).unwrap();
                }
            }
            Step::Restore { replica, note } => {
                if let Some(id) = pick(&w.replicas[replica], note, true) {
                    w.replicas[replica].restore_note(&id.to_string()).unwrap();
                }
            }
            Step::Stale { replica, note, at, text } => {
                // The first time: the editor reads the note. Later: it sends a splice positioned
                // in what it read, whatever arrived since.
                if let Some(id) = pick(&w.replicas[replica], note, false) {
                    match w.seen[replica].remove(&id) {
                        None => {
                            let n = w.replicas[replica].note(&id.to_string()).unwrap();
                            w.seen[replica].insert(id, (n.heads, n.body.encode_utf16().count()));
                        }
                        Some((heads, len)) => {
                            let sp = TextSplice { pos: at.min(len), delete: 0, insert: text };
                            w.replicas[replica].edit_fields(&id, Some(&heads), &[(Field::Body, &[sp])]).unwrap();
                        }
                    }
                }
            }
        }
    }
    // Heal everything and sync all around until quiet.
    for _ in 0..3 {
        for r in 0..3 {
            for t in 0..2 {
                sync(&mut w, r, t);
            }
        }
    }
    // The list's first line, kept up to date without reading bodies on every edit, is right.
    for r in &w.replicas {
        for n in r.list(None).unwrap() {
            let body = r.note(&n.id).unwrap().body;
            assert_eq!(n.first_line, note::first_line(&body).0, "first line of {body:?}");
        }
    }
    let want = notes(&w.replicas[0]);
    let heads = all_heads(&w.replicas[0]);
    for r in 1..3 {
        assert_eq!(notes(&w.replicas[r]), want, "replica {r} differs from replica 0");
        assert_eq!(all_heads(&w.replicas[r]), heads, "replica {r} has other Automerge heads");
    }
    for r in 0..3 {
        assert_eq!(w.replicas[r].status().unwrap().pending, 0);
    }
    // Any order of applying the log gives the same notes.
    let all = log_changes(&w.replicas[1]);
    for rotation in [0, all.len() / 3, all.len() / 2] {
        let mut shuffled = all.clone();
        let n = shuffled.len();
        shuffled.rotate_left(rotation.min(n));
        shuffled.reverse();
        let conn = store::open_in_memory().unwrap();
        let me = uuid::Uuid::new_v4();
        for c in shuffled.chunks(3) {
            materialize::apply(&conn, &me, c).unwrap();
        }
        // Duplicates change nothing.
        materialize::apply(&conn, &me, &all).unwrap();
        let mut got = BTreeMap::new();
        let mut st = conn.prepare("SELECT id FROM notes WHERE deleted = 0").unwrap();
        for row in st.query_map([], |r| r.get::<_, String>(0)).unwrap() {
            let id = row.unwrap();
            let doc = materialize::load_doc(&conn, &id.parse().unwrap(), &me).unwrap().unwrap();
            let f = note::read(&doc);
            got.insert(id, (f.title, f.body));
        }
        assert_eq!(got, want, "replaying the log in another order");
    }
}

fn log_changes(ws: &Workspace) -> Vec<entry::NoteChange> {
    let mut st = ws.conn().prepare("SELECT data FROM log ORDER BY lamport, client_id").unwrap();
    let rows: Vec<Vec<u8>> = st.query_map([], |r| r.get(0)).unwrap().map(|r| r.unwrap()).collect();
    rows.iter().flat_map(|d| entry::decode(&ws.key().open(d).unwrap(), ws.key()).unwrap().changes).collect()
}

proptest! {
    // CI's short form; RESNOTES_CONVERGENCE_CASES=1000 is the long form.
    #![proptest_config(ProptestConfig::with_cases(std::env::var("RESNOTES_CONVERGENCE_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(48)))]
    #[test]
    fn replicas_converge(steps in prop::collection::vec(step(), 1..40)) {
        run(steps);
    }
}

#[test]
fn concurrent_edits_to_one_note_keep_both() {
    let mut w = world();
    let id = w.replicas[0].new_note("list", "alpha\nbeta\ngamma").unwrap().to_string();
    sync(&mut w, 0, 0);
    sync(&mut w, 1, 0);
    sync(&mut w, 2, 0);
    w.replicas[0].edit_note(&id, None, Some("ALPHA\nbeta\ngamma")).unwrap();
    w.replicas[1].edit_note(&id, None, Some("alpha\nbeta\ngamma!")).unwrap();
    w.replicas[2].edit_note(&id, Some("groceries"), None).unwrap();
    for _ in 0..2 {
        for r in 0..3 {
            sync(&mut w, r, 0);
        }
    }
    for r in 0..3 {
        let n = w.replicas[r].note(&id).unwrap();
        assert_eq!((n.title.as_str(), n.body.as_str()), ("groceries", "ALPHA\nbeta\ngamma!"), "replica {r}");
    }
}
