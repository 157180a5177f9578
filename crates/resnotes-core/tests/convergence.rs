//! Property tests (RELIABILITY.md, tests 3 and 4): three replicas (five in the long form), random
//! edits, random partial syncs through an in-memory target with injected faults and two real
//! folders that a simulated sync tool carries files between — late, out of order, partly (a copy
//! still in progress), again and again — plus rebuilds. Every replica ends with the same notes and
//! the same Automerge heads, and applying the entries in ten random orders, each delivered one to
//! three times, gives the same state again. Pins, tags (added and removed, often concurrently),
//! deletes, restores and emptying the trash are among the edits: every replica ends with the same
//! list in the same order, the same tags, the same trash and the same search results.
//!
//! With `RESNOTES_CONVERGENCE_S3=s3://BUCKET/PREFIX?endpoint=…&region=…` (keys from
//! `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`), the shared target is that bucket instead of the
//! in-memory one (a fresh prefix per case; no injected faults): the long form on a real store.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use resnotes_core::format::crypto::WorkspaceKey;
use resnotes_core::format::entry;
use resnotes_core::TargetKind;
use std::path::{Path, PathBuf};

use resnotes_core::testing as internals;
use resnotes_core::transport::{Fault, Folder, Memory, Transport, S3};
use resnotes_core::{note, ListQuery, Place, Workspace};
use resnotes_core::{system_clock, Field, Target, TextSplice};

const PASS: &str = "property passphrase";
/// scrypt work factor for the passphrase-wrapped key: the lowest, since this test is about
/// merging (five key wraps and unwraps per case would otherwise be a third of its time).
const SCRYPT_LOG_N: u8 = 2;

#[derive(Clone, Debug)]
enum Step {
    New {
        replica: usize,
        title: String,
    },
    Insert {
        replica: usize,
        note: usize,
        at: usize,
        text: String,
    },
    Delete {
        replica: usize,
        note: usize,
        at: usize,
        len: usize,
    },
    /// Sync with one of the replica's targets (`target` modulo how many it has); faults apply
    /// to the in-memory target.
    Sync {
        replica: usize,
        target: usize,
        fault: Option<u8>,
    },
    Rebuild {
        replica: usize,
    },
    Title {
        replica: usize,
        note: usize,
        text: String,
    },
    Remove {
        replica: usize,
        note: usize,
    },
    Restore {
        replica: usize,
        note: usize,
    },
    /// Pins or unpins a live note.
    Pin {
        replica: usize,
        note: usize,
        on: bool,
    },
    /// Adds or removes one of three tags of a live note.
    Tag {
        replica: usize,
        note: usize,
        tag: usize,
        add: bool,
    },
    /// Empties the trash.
    EmptyTrash {
        replica: usize,
    },
    /// An editor's splice made against the version it read before its last `lag` syncs.
    Stale {
        replica: usize,
        note: usize,
        at: usize,
        text: String,
    },
    /// The sync tool carries some files from one folder to the other, in random order; some
    /// copies are still in progress (cut short).
    Deliver {
        from: usize,
        seed: u64,
        share: u8,
    },
    /// A notebook named `name`, inside the `parent`th notebook (or at the top level).
    NewBook {
        replica: usize,
        name: usize,
        parent: Option<usize>,
    },
    /// The `book`th notebook goes inside the `parent`th (or to the top level); moves that
    /// would make a cycle here are refused, those made on two devices at once are not.
    MoveBook {
        replica: usize,
        book: usize,
        parent: Option<usize>,
    },
    RenameBook {
        replica: usize,
        book: usize,
        name: usize,
    },
    DeleteBook {
        replica: usize,
        book: usize,
    },
    /// A note goes into the `book`th notebook (or the default one).
    File {
        replica: usize,
        note: usize,
        book: Option<usize>,
    },
    /// Replica 0 changes the workspace's passphrase: a new key epoch (FORMAT.md §5.2). One
    /// device changes it: two devices that change it at once without having heard from each
    /// other are not reconciled yet (FORMAT.md §5.2, "what not yet").
    Passphrase,
    /// Replica 0 removes the last replica (once): a new key epoch it is not given, and what it
    /// writes past its cutoff refused by every other replica (FORMAT.md §5.2). It goes on
    /// editing and syncing; the others must still converge.
    RemoveDevice,
    /// A new device joins (at most two), with the newest passphrase its first target opens, and
    /// writes a note: it must end with the same notes as everyone, whatever changes of key and
    /// removals came before.
    AddDevice,
    /// A replica moves the workspace to fewer files (FORMAT.md §11.1): every device and target
    /// must end on `formatVersion` 2, and readers look for packs when a file is missing.
    FewerFiles {
        replica: usize,
    },
}

/// A note as a replica shows it: title, body, pinned, tags, notebook.
type SeenNote = (String, String, bool, Vec<String>, Option<String>);

const BOOKS: [&str; 3] = ["Work", "Home", "Archive"];

fn step(n: usize) -> impl Strategy<Value = Step> {
    prop_oneof![
        1 => (0..n, "[a-z]{1,6}").prop_map(|(replica, title)| Step::New { replica, title }),
        4 => (0..n, 0..6usize, 0..40usize, "[a-z \n]{1,5}").prop_map(|(replica, note, at, text)| Step::Insert { replica, note, at, text }),
        2 => (0..n, 0..6usize, 0..40usize, 1..6usize).prop_map(|(replica, note, at, len)| Step::Delete { replica, note, at, len }),
        4 => (0..n, 0..2usize, prop::option::weighted(0.3, 0..3u8)).prop_map(|(replica, target, fault)| Step::Sync { replica, target, fault }),
        1 => (0..n).prop_map(|replica| Step::Rebuild { replica }),
        1 => (0..n, 0..6usize, "[A-Z]{1,4}").prop_map(|(replica, note, text)| Step::Title { replica, note, text }),
        1 => (0..n, 0..6usize).prop_map(|(replica, note)| Step::Remove { replica, note }),
        1 => (0..n, 0..6usize).prop_map(|(replica, note)| Step::Restore { replica, note }),
        2 => (0..n, 0..6usize, 0..40usize, "[a-z]{1,4}").prop_map(|(replica, note, at, text)| Step::Stale { replica, note, at, text }),
        2 => (0..2usize, any::<u64>(), 1..=4u8).prop_map(|(from, seed, share)| Step::Deliver { from, seed, share }),
        1 => (0..n, 0..6usize, any::<bool>()).prop_map(|(replica, note, on)| Step::Pin { replica, note, on }),
        2 => (0..n, 0..6usize, 0..3usize, any::<bool>()).prop_map(|(replica, note, tag, add)| Step::Tag { replica, note, tag, add }),
        1 => (0..n).prop_map(|replica| Step::EmptyTrash { replica }),
        1 => (0..n, 0..3usize, prop::option::of(0..4usize)).prop_map(|(replica, name, parent)| Step::NewBook { replica, name, parent }),
        2 => (0..n, 0..4usize, prop::option::weighted(0.8, 0..4usize)).prop_map(|(replica, book, parent)| Step::MoveBook { replica, book, parent }),
        1 => (0..n, 0..4usize, 0..3usize).prop_map(|(replica, book, name)| Step::RenameBook { replica, book, name }),
        1 => (0..n, 0..4usize).prop_map(|(replica, book)| Step::DeleteBook { replica, book }),
        2 => (0..n, 0..6usize, prop::option::weighted(0.8, 0..4usize)).prop_map(|(replica, note, book)| Step::File { replica, note, book }),
        1 => Just(Step::Passphrase),
        3 => Just(Step::RemoveDevice),
        1 => Just(Step::AddDevice),
        1 => (0..n).prop_map(|replica| Step::FewerFiles { replica }),
    ]
}

/// A small deterministic generator for the sync tool's choices (proptest supplies the seed).
struct Dice(u64);

impl Dice {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

struct World {
    _dirs: Vec<tempfile::TempDir>,
    replicas: Vec<Workspace>,
    /// Target 0: shared by most replicas, with injected faults.
    memory: Memory,
    /// Target 0 instead, when the long form runs on a real S3 store.
    s3: Option<S3>,
    /// Targets 1 and 2: two real folders, as two computers' copies of one cloud folder.
    views: Vec<Folder>,
    view_dirs: Vec<PathBuf>,
    /// Per replica, its targets: (0 memory / 1 + view, its Target row).
    rows: Vec<Vec<(usize, Target)>>,
    /// Per replica, what an editor read of a note (heads, UTF-16 length), for stale splices.
    seen: Vec<BTreeMap<uuid::Uuid, (Vec<String>, usize)>>,
    /// Every passphrase the workspace had, the first first.
    passphrases: Vec<String>,
    /// The replica removed from the workspace, once it is.
    removed: Option<usize>,
    /// Whether a replica moved the workspace to fewer files.
    fewer_files: bool,
}

impl World {
    fn transport(&self, t: usize) -> &dyn Transport {
        target(&self.memory, self.s3.as_ref(), &self.views, t)
    }
}

/// Target `t`: 0 the in-memory one (or the S3 bucket), 1 and 2 the folders.
fn target<'a>(
    memory: &'a Memory,
    s3: Option<&'a S3>,
    views: &'a [Folder],
    t: usize,
) -> &'a dyn Transport {
    match (t, s3) {
        (0, Some(s3)) => s3,
        (0, None) => memory,
        _ => &views[t - 1],
    }
}

/// The bucket of `RESNOTES_CONVERGENCE_S3`, under a fresh prefix.
fn s3_target() -> Option<S3> {
    let base = std::env::var("RESNOTES_CONVERGENCE_S3").ok()?;
    let (path, query) = base.split_once('?').unwrap_or((&base, ""));
    let url = format!("{}/conv-{}?{query}", path.trim_end_matches('/'), uuid::Uuid::new_v4());
    let var = |n: &str| std::env::var(n).ok();
    Some(S3::new(&url, var("AWS_ACCESS_KEY_ID"), var("AWS_SECRET_ACCESS_KEY")).unwrap())
}

/// Which targets replica `r` syncs with: the in-memory one (all but every third replica) and one
/// folder (even replicas the first, odd ones the second). Replica 2 reaches the others only
/// through its folder, which the sync tool or replica 0 relays.
fn targets_of(r: usize) -> Vec<usize> {
    let view = 1 + r % 2;
    if r % 3 == 2 {
        vec![view]
    } else {
        vec![0, view]
    }
}

fn world(n: usize) -> World {
    let tmp = |_| tempfile::Builder::new().tempdir_in(scratch()).unwrap();
    let dirs: Vec<_> = (0..n + 2).map(tmp).collect();
    let view_dirs: Vec<PathBuf> = dirs[n..].iter().map(|d| d.path().to_path_buf()).collect();
    let mut w = World {
        memory: Memory::new("f"),
        s3: s3_target(),
        views: view_dirs.iter().map(Folder::new).collect(),
        view_dirs,
        replicas: vec![],
        rows: vec![],
        seen: vec![BTreeMap::new(); n],
        passphrases: vec![PASS.to_string()],
        removed: None,
        fewer_files: false,
        _dirs: vec![],
    };
    for r in 0..n {
        let ts = targets_of(r);
        let ws = if r == 0 {
            Workspace::init(dirs[0].path(), false, system_clock()).unwrap()
        } else {
            Workspace::join(
                dirs[r].path(),
                TargetKind::Memory,
                w.transport(ts[0]),
                Some(PASS),
                false,
                system_clock(),
            )
            .unwrap()
        };
        let mut rows = Vec::new();
        for (k, &t) in ts.iter().enumerate() {
            let row = if r > 0 && k == 0 {
                ws.targets().unwrap().remove(0)
            } else {
                ws.add_target(TargetKind::Memory, w.transport(t), Some(PASS), SCRYPT_LOG_N).unwrap()
            };
            rows.push((t, row));
        }
        w.rows.push(rows);
        w.replicas.push(ws);
    }
    w._dirs = dirs;
    w
}

/// Where the test's data dirs and folders go: a RAM disk when there is one (SQLite's fsyncs
/// cost nothing there; the property is about merging, not durability).
fn scratch() -> PathBuf {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    }
}

/// Every file under `dir` (relative paths), except temp files.
fn files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if !p.file_name().unwrap().to_string_lossy().starts_with('.') {
                out.push(p.strip_prefix(dir).unwrap().to_string_lossy().into_owned());
            }
        }
    }
    out.sort();
    out
}

/// The sync tool: copies files the other folder lacks (or holds cut short), in random order,
/// each with probability share/4; one copy in six is still in progress (a prefix). `index.json`
/// stays as each folder has it (both are valid; a tool would make a conflict copy).
fn deliver(w: &World, from: usize, seed: u64, share: u8, complete: bool) {
    let (src, dst) = (&w.view_dirs[from], &w.view_dirs[1 - from]);
    let mut dice = Dice(seed | 1);
    let mut names = files(src);
    for i in (1..names.len()).rev() {
        names.swap(i, dice.below(i as u64 + 1) as usize);
    }
    for name in names {
        if name == "index.json" || (!complete && dice.below(4) >= share as u64) {
            continue;
        }
        let bytes = std::fs::read(src.join(&name)).unwrap();
        let target = dst.join(&name);
        let have = std::fs::read(&target).ok();
        if have.as_ref().is_some_and(|h| h.len() >= bytes.len()) {
            continue;
        }
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        let cut = !complete && dice.below(6) == 0;
        let len = if cut { dice.below(bytes.len() as u64) as usize } else { bytes.len() };
        std::fs::write(&target, &bytes[..len]).unwrap();
    }
}

/// Tags the steps use.
const TAGS: [&str; 3] = ["red", "green", "blue"];

/// What a user sees of a replica's notes: each live note's title, body, pin and tags (the
/// document's and the list row's, which must agree), the list's order, the tags with their
/// counts, the trash, and what a search finds.
#[derive(Debug, PartialEq, Eq)]
struct Seen {
    notes: BTreeMap<String, SeenNote>,
    order: Vec<String>,
    books: resnotes_core::Notebooks,
    /// The notes of the first notebook and of the default one, in list order.
    shelved: Vec<Vec<String>>,
    tags: Vec<(String, u64)>,
    trash: Vec<String>,
    found: BTreeSet<String>,
}

fn notes(ws: &Workspace) -> Seen {
    let list = ws.list(None).unwrap();
    let notes = list
        .iter()
        .map(|n| {
            let full = ws.note(&n.id).unwrap();
            assert_eq!(
                (n.pinned, &n.tags, &n.notebook),
                (full.pinned, &full.tags, &full.notebook),
                "row of {}",
                n.id
            );
            (n.id.clone(), (full.title, full.body, full.pinned, full.tags, full.notebook))
        })
        .collect();
    // Pinned first, then by the documents' edit times (the same everywhere), then by id.
    let order: Vec<String> = list.into_iter().map(|n| n.id).collect();
    let books = ws.notebooks().unwrap();
    let mut places = vec![Place::Default];
    places.extend(books.notebooks.first().map(|b| Place::Notebook(b.id.parse().unwrap())));
    let shelved = places
        .into_iter()
        .map(|p| {
            let q = ListQuery { notebook: Some(p), ..Default::default() };
            ws.list_notes(&q).unwrap().into_iter().map(|n| n.id).collect()
        })
        .collect();
    Seen {
        notes,
        order,
        books,
        shelved,
        tags: ws.tags().unwrap().into_iter().map(|t| (t.name, t.notes)).collect(),
        trash: ws.trash().unwrap().into_iter().map(|n| n.id).collect(),
        found: ws.find("a", 100).unwrap().into_iter().map(|n| n.id).collect(),
    }
}

/// The `n`th live notebook of a replica in tree order (modulo how many), or the default
/// notebook for `None` or when there is none.
fn book(ws: &Workspace, n: Option<usize>) -> Place {
    let books = ws.notebooks().unwrap().notebooks;
    match n {
        Some(n) if !books.is_empty() => Place::Notebook(books[n % books.len()].id.parse().unwrap()),
        _ => Place::Default,
    }
}

/// Whether `place` is the notebook `id` or inside it, as the replica's tree shows it.
fn within(ws: &Workspace, place: Place, id: uuid::Uuid) -> bool {
    let books = ws.notebooks().unwrap().notebooks;
    let mut at = match place {
        Place::Default => None,
        Place::Notebook(b) => Some(b.to_string()),
    };
    while let Some(b) = at {
        if b == id.to_string() {
            return true;
        }
        at = books.iter().find(|n| n.id == b).and_then(|n| n.parent.clone());
    }
    false
}

/// Every replica syncs with each of its targets, in turn.
fn everyone_syncs(w: &mut World) {
    for r in 0..w.replicas.len() {
        for k in 0..w.rows[r].len() {
            sync(w, r, k);
        }
    }
}

/// A replica that missed a passphrase change (it had written nothing the changer held) is told
/// so and gets the new key from a target with the newest passphrase, as its user would type it.
fn type_new_passphrases(w: &mut World) {
    for r in 0..w.replicas.len() {
        if !w.replicas[r].status().unwrap().needs_new_passphrase {
            continue;
        }
        'typed: for (t, _) in w.rows[r].clone() {
            for p in w.passphrases.clone().iter().rev() {
                let tr = target(&w.memory, w.s3.as_ref(), &w.views, t);
                if let Ok(Some(_)) = w.replicas[r].enter_passphrase_on(tr, p) {
                    break 'typed;
                }
            }
        }
    }
}

/// Whether every replica but a removed one shows the same notes and heads, with nothing pending.
fn agree(w: &World) -> bool {
    let (want, heads) = (notes(&w.replicas[0]), all_heads(&w.replicas[0]));
    (0..w.replicas.len()).all(|r| {
        let ws = &w.replicas[r];
        ws.status().unwrap().pending == 0
            && (Some(r) == w.removed || (notes(ws) == want && all_heads(ws) == heads))
    })
}

/// A new replica joins through its first target with the newest passphrase that opens it there
/// (a target that has not got the newest passphrase's key file yet still opens with an older
/// one, as a user who knows both would find), adds its other target and writes a note.
fn add_device(w: &mut World) {
    let r = w.replicas.len();
    let dir = tempfile::Builder::new().tempdir_in(scratch()).unwrap();
    let ts = targets_of(r);
    let joined = w.passphrases.iter().rev().find_map(|p| {
        let ws = Workspace::join(
            dir.path(),
            TargetKind::Memory,
            target(&w.memory, w.s3.as_ref(), &w.views, ts[0]),
            Some(p),
            false,
            system_clock(),
        );
        ws.ok().map(|ws| (ws, p.clone()))
    });
    let Some((mut ws, p)) = joined else { return };
    let mut rows = vec![(ts[0], ws.targets().unwrap().remove(0))];
    for &t in &ts[1..] {
        let tr = target(&w.memory, w.s3.as_ref(), &w.views, t);
        rows.push((t, ws.add_target(TargetKind::Memory, tr, Some(&p), SCRYPT_LOG_N).unwrap()));
    }
    ws.new_note("joined later", "").unwrap();
    w.rows.push(rows);
    w.replicas.push(ws);
    w.seen.push(BTreeMap::new());
    w._dirs.push(dir);
}

/// Devices that joined around a removal without replica 0 knowing them are held back until a
/// member lets them in (FORMAT.md §5.2): replica 0 lets in every one it holds back, as their
/// user would.
fn let_in_held_back(w: &mut World) {
    let p = w.passphrases.last().unwrap().clone();
    for d in w.replicas[0].devices().unwrap() {
        if d.held_back && !d.this_device {
            w.replicas[0].let_in_device(&d.id, &p, SCRYPT_LOG_N).unwrap();
        }
    }
}

/// Syncs replica `r` with its `k`-th target (modulo how many it has); returns that target.
fn sync(w: &mut World, r: usize, k: usize) -> usize {
    let (t, row) = w.rows[r][k % w.rows[r].len()].clone();
    let tr = target(&w.memory, w.s3.as_ref(), &w.views, t);
    w.replicas[r].sync_with(&[(&row, tr)], &mut |_| {}).unwrap();
    t
}

/// The `n`th note of a replica: live ones, or deleted ones when `deleted`.
fn pick(ws: &Workspace, n: usize, deleted: bool) -> Option<uuid::Uuid> {
    let live: BTreeSet<String> = ws.list(None).unwrap().into_iter().map(|n| n.id).collect();
    let ids: Vec<String> =
        ws.note_heads().unwrap().into_keys().filter(|id| live.contains(id) != deleted).collect();
    ids.get(n % ids.len().max(1)).map(|s| s.parse().unwrap())
}

/// Every note's Automerge heads (deleted ones too), hex, sorted.
fn all_heads(ws: &Workspace) -> BTreeMap<String, Vec<String>> {
    ws.note_heads().unwrap()
}

/// The same for a bare database that changes were applied to.
fn heads_in(conn: &rusqlite::Connection, me: &uuid::Uuid) -> BTreeMap<String, Vec<String>> {
    internals::note_ids(conn, false)
        .unwrap()
        .into_iter()
        .map(|id| {
            let mut doc =
                internals::load_doc(conn, WorkspaceKey::Plaintext, &id.parse().unwrap(), me)
                    .unwrap()
                    .unwrap();
            let mut h: Vec<String> = doc.get_heads().iter().map(|h| h.to_string()).collect();
            h.sort();
            (id, h)
        })
        .collect()
}

fn run(n: usize, steps: Vec<Step>) {
    let mut w = world(n);
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
                    Some(0) => w.memory.inject(Fault::Offline),
                    Some(1) => w.memory.inject(Fault::FailWrites),
                    Some(_) => w.memory.inject(Fault::FailReadsOf("changes/1/1".into())),
                    None => {}
                }
                sync(&mut w, replica, target);
                w.memory.heal();
            }
            Step::Deliver { from, seed, share } => deliver(&w, from, seed, share, false),
            Step::Rebuild { replica } => {
                w.replicas[replica].rebuild().unwrap();
                w.seen[replica].clear();
            }
            Step::Title { replica, note, text } => {
                if let Some(id) = pick(&w.replicas[replica], note, false) {
                    w.replicas[replica]
                        .edit_fields(
                            &id,
                            None,
                            &[(Field::Title, &[TextSplice { pos: 0, delete: 1, insert: text }])],
                        )
                        .unwrap();
                }
            }
            Step::Remove { replica, note } => {
                if let Some(id) = pick(&w.replicas[replica], note, false) {
                    w.replicas[replica].delete_note(&id.to_string()).unwrap();
                }
            }
            Step::Restore { replica, note } => {
                let trash = w.replicas[replica].trash().unwrap();
                if let Some(n) = trash.get(note % trash.len().max(1)) {
                    w.replicas[replica].restore_note(&n.id).unwrap();
                }
            }
            Step::Pin { replica, note, on } => {
                if let Some(id) = pick(&w.replicas[replica], note, false) {
                    w.replicas[replica].set_pinned(&id.to_string(), on).unwrap();
                }
            }
            Step::Tag { replica, note, tag, add } => {
                if let Some(id) = pick(&w.replicas[replica], note, false) {
                    let t = [TAGS[tag]];
                    let (plus, minus): (&[&str], &[&str]) = if add { (&t, &[]) } else { (&[], &t) };
                    let after = w.replicas[replica].retag(&id.to_string(), plus, minus).unwrap();
                    assert_eq!(after.contains(&TAGS[tag].to_string()), add);
                }
            }
            Step::EmptyTrash { replica } => {
                w.replicas[replica].empty_trash().unwrap();
                assert!(w.replicas[replica].trash().unwrap().is_empty());
            }
            Step::NewBook { replica, name, parent } => {
                let parent = book(&w.replicas[replica], parent);
                w.replicas[replica].add_notebook(BOOKS[name], parent).unwrap();
            }
            Step::MoveBook { replica, book: b, parent } => {
                let ws = &mut w.replicas[replica];
                if let (Place::Notebook(id), to) = (book(ws, Some(b)), book(ws, parent)) {
                    let inside = within(ws, to, id);
                    match ws.move_notebook(Place::Notebook(id), to) {
                        Ok(()) => assert!(!inside, "a move into itself was taken"),
                        Err(e) => assert!(inside, "{e}"),
                    }
                }
            }
            Step::RenameBook { replica, book: b, name } => {
                if let Place::Notebook(id) = book(&w.replicas[replica], Some(b)) {
                    w.replicas[replica].rename_notebook(Place::Notebook(id), BOOKS[name]).unwrap();
                }
            }
            Step::DeleteBook { replica, book: b } => {
                if let p @ Place::Notebook(_) = book(&w.replicas[replica], Some(b)) {
                    w.replicas[replica].delete_notebook(p).unwrap();
                }
            }
            Step::File { replica, note, book: b } => {
                if let Some(id) = pick(&w.replicas[replica], note, false) {
                    let to = book(&w.replicas[replica], b);
                    w.replicas[replica].move_note(&id.to_string(), to).unwrap();
                    let row = w.replicas[replica].summary(&id.to_string()).unwrap().unwrap();
                    let want = match to {
                        Place::Default => None,
                        Place::Notebook(b) => Some(b.to_string()),
                    };
                    assert_eq!(row.notebook, want);
                }
            }
            Step::Passphrase => {
                let p = format!("passphrase {} of a converging world", w.passphrases.len());
                w.replicas[0].change_passphrase(&p, SCRYPT_LOG_N).unwrap();
                w.passphrases.push(p);
            }
            Step::RemoveDevice if w.removed.is_none() => {
                let last = w.replicas[n - 1].client_id().to_string();
                if w.replicas[0].find_device(&last).is_err() {
                    // Replica 0 holds nothing of it yet: it names itself, and both sync with
                    // every target they have (they share one), so that replica 0 knows it.
                    w.replicas[n - 1].name_this_device("Old phone").unwrap();
                    for r in [n - 1, 0] {
                        for k in 0..w.rows[r].len() {
                            sync(&mut w, r, k);
                        }
                    }
                }
                let p = w.passphrases.last().unwrap().clone();
                w.replicas[0].remove_device(&last, &p, SCRYPT_LOG_N).unwrap();
                w.removed = Some(n - 1);
            }
            Step::RemoveDevice => {}
            Step::AddDevice if w.replicas.len() < n + 2 => add_device(&mut w),
            Step::AddDevice => {}
            Step::FewerFiles { replica } => {
                w.replicas[replica].use_fewer_files().unwrap();
                w.fewer_files = true;
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
                            w.replicas[replica]
                                .edit_fields(&id, Some(&heads), &[(Field::Body, &[sp])])
                                .unwrap();
                        }
                    }
                }
            }
        }
    }
    // Heal everything: the sync tool finishes its copies, everyone syncs all around.
    // A device held back, let in, then read by a device that reaches the others only through a
    // folder takes several rounds; the rounds stop once the devices agree (at most 16).
    for round in 0..16 {
        deliver(&w, round % 2, round as u64 + 1, 4, true);
        deliver(&w, 1 - round % 2, round as u64 + 7, 4, true);
        everyone_syncs(&mut w);
        type_new_passphrases(&mut w);
        let_in_held_back(&mut w);
        if round >= 3 && agree(&w) {
            break;
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
    for r in (1..w.replicas.len()).filter(|r| Some(*r) != w.removed) {
        assert_eq!(notes(&w.replicas[r]), want, "replica {r} differs from replica 0");
        assert_eq!(all_heads(&w.replicas[r]), heads, "replica {r} has other Automerge heads");
    }
    for r in 0..w.replicas.len() {
        assert_eq!(w.replicas[r].status().unwrap().pending, 0, "replica {r} has entries pending");
        assert_eq!(w.replicas[r].fewer_files().unwrap(), w.fewer_files, "replica {r}'s format");
    }
    // A rebuild from the log gives the same state.
    w.replicas[1].rebuild().unwrap();
    assert_eq!(notes(&w.replicas[1]), want, "replica 1 after a rebuild from its log");
    assert_eq!(all_heads(&w.replicas[1]), heads, "heads after a rebuild from the log");
    // Idempotence: the entries applied in ten random orders, each delivered one to three
    // times, give the same notes and heads.
    let entries = log_entries(&w.replicas[1]);
    let want_heads = heads;
    for order in 0..10u64 {
        let mut dice = Dice(0x9E37_79B9_7F4A_7C15 ^ (order + 1) ^ (entries.len() as u64) << 32);
        let mut deliveries: Vec<&Vec<entry::NoteChange>> = entries
            .iter()
            .flat_map(|e| std::iter::repeat_n(e, 1 + dice.below(3) as usize))
            .collect();
        for i in (1..deliveries.len()).rev() {
            deliveries.swap(i, dice.below(i as u64 + 1) as usize);
        }
        let conn = internals::open_in_memory().unwrap();
        let me = uuid::Uuid::new_v4();
        for e in deliveries {
            internals::apply(&conn, &me, e).unwrap();
        }
        let mut got = BTreeMap::new();
        for id in internals::note_ids(&conn, true).unwrap() {
            let doc =
                internals::load_doc(&conn, WorkspaceKey::Plaintext, &id.parse().unwrap(), &me)
                    .unwrap()
                    .unwrap();
            let f = note::read(&doc);
            got.insert(id, (f.title, f.body, f.pinned, f.tags));
        }
        let want_notes: BTreeMap<_, _> = want
            .notes
            .iter()
            .map(|(id, (t, b, p, tags, _))| (id.clone(), (t.clone(), b.clone(), *p, tags.clone())))
            .collect();
        assert_eq!(got, want_notes, "applying the entries in order {order}");
        assert_eq!(
            heads_in(&conn, &me),
            want_heads,
            "heads after applying the entries in order {order}"
        );
    }
}

/// Each entry of a replica's log, as its list of changes.
fn log_entries(ws: &Workspace) -> Vec<Vec<entry::NoteChange>> {
    ws.entries().unwrap().iter().map(|e| internals::stored_changes(ws, &e.bytes).unwrap()).collect()
}

/// Cases: `RESNOTES_CONVERGENCE_CASES`, else CI's short form.
fn cases(short: u32) -> u32 {
    std::env::var("RESNOTES_CONVERGENCE_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(short)
}

/// Steps per case: `RESNOTES_CONVERGENCE_STEPS` (1,000 in the long form: 200 operations per
/// replica with five replicas), else CI's short form.
fn max_steps(short: usize) -> usize {
    std::env::var("RESNOTES_CONVERGENCE_STEPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 1)
        .unwrap_or(short)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(150)))]
    #[test]
    fn three_replicas_converge(steps in prop::collection::vec(step(3), 1..max_steps(40))) {
        run(3, steps);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(40)))]
    #[test]
    fn five_replicas_converge(steps in prop::collection::vec(step(5), 1..max_steps(100))) {
        run(5, steps);
    }
}

#[test]
fn concurrent_edits_to_one_note_keep_both() {
    let mut w = world(3);
    let id = w.replicas[0].new_note("list", "alpha\nbeta\ngamma").unwrap().to_string();
    everyone_syncs(&mut w);
    w.replicas[0].edit_note(&id, None, Some("ALPHA\nbeta\ngamma")).unwrap();
    w.replicas[1].edit_note(&id, None, Some("alpha\nbeta\ngamma!")).unwrap();
    w.replicas[2].edit_note(&id, Some("groceries"), None).unwrap();
    // Three rounds: replica 2 reaches the others only through replica 0's relaying.
    for _ in 0..3 {
        everyone_syncs(&mut w);
    }
    for r in 0..3 {
        let n = w.replicas[r].note(&id).unwrap();
        assert_eq!(
            (n.title.as_str(), n.body.as_str()),
            ("groceries", "ALPHA\nbeta\ngamma!"),
            "replica {r}"
        );
    }
}

#[test]
fn concurrent_notebook_moves_renames_and_deletes_settle_the_same_everywhere() {
    let mut w = world(3);
    let a = w.replicas[0].add_notebook("A", Place::Default).unwrap();
    let b = w.replicas[0].add_notebook("B", Place::Default).unwrap();
    let gone = w.replicas[0].add_notebook("Old", Place::Default).unwrap();
    let n = w.replicas[0].new_note("filed", "text").unwrap().to_string();
    let m = w.replicas[0].new_note_in("kept", "in old", Place::Notebook(gone)).unwrap();
    for _ in 0..3 {
        everyone_syncs(&mut w);
    }
    // Replica 0 puts A inside B while replica 1 puts B inside A: a cycle once both arrive.
    w.replicas[0].move_notebook(Place::Notebook(a), Place::Notebook(b)).unwrap();
    w.replicas[1].move_notebook(Place::Notebook(b), Place::Notebook(a)).unwrap();
    // Replica 1 renames B while replica 2 files the note in it; replicas 0 and 2 move the
    // same note to different notebooks.
    w.replicas[1].rename_notebook(Place::Notebook(b), "B renamed").unwrap();
    w.replicas[2].move_note(&n, Place::Notebook(b)).unwrap();
    w.replicas[0].move_note(&n, Place::Notebook(a)).unwrap();
    // Replica 2 deletes "Old" (its note goes to the trash) while replica 1 files another
    // note there.
    assert_eq!(w.replicas[2].delete_notebook(Place::Notebook(gone)).unwrap(), 1);
    let late = w.replicas[1].new_note("late", "").unwrap().to_string();
    w.replicas[1].move_note(&late, Place::Notebook(gone)).unwrap();
    for _ in 0..3 {
        everyone_syncs(&mut w);
    }
    let want = w.replicas[0].notebooks().unwrap();
    for r in 1..3 {
        assert_eq!(w.replicas[r].notebooks().unwrap(), want, "replica {r}'s notebooks");
        assert_eq!(
            w.replicas[r].note(&n).unwrap().notebook,
            w.replicas[0].note(&n).unwrap().notebook,
            "replica {r}: one of the two moves won"
        );
    }
    // The cycle is broken: both notebooks are live, one at the top level, the other in it.
    let books: Vec<(&str, u32)> =
        want.notebooks.iter().map(|b| (b.name.as_str(), b.depth)).collect();
    assert!(
        books == [("A", 0), ("B renamed", 1)] || books == [("B renamed", 0), ("A", 1)],
        "{books:?}"
    );
    // The rename and the move into the renamed notebook both took effect.
    let filed = w.replicas[0].note(&n).unwrap().notebook.unwrap();
    assert!(filed == a.to_string() || filed == b.to_string());
    // The note filed in the deleted notebook is in the default one, not lost; the other is in
    // the trash and restoring it brings "Old" back.
    assert_eq!(w.replicas[0].note(&late).unwrap().notebook, None);
    assert_eq!(want.default_notes, 1);
    w.replicas[0].restore_note(&m.to_string()).unwrap();
    let names: Vec<String> =
        w.replicas[0].notebooks().unwrap().notebooks.into_iter().map(|b| b.name).collect();
    assert!(names.contains(&"Old".to_string()), "{names:?}");
    assert_eq!(w.replicas[0].note(&m.to_string()).unwrap().notebook, Some(gone.to_string()));
    // Now "late" is in "Old" again, as it named it all along.
    assert_eq!(w.replicas[0].note(&late).unwrap().notebook, Some(gone.to_string()));
}
