//! A note's history, read from its document: every change, in an order that respects what each
//! change had seen, grouped into **editing sessions** — consecutive changes by one device, each
//! made right on top of the one before and within [`SESSION_GAP_MS`] of it. A session's
//! **version** is the document as its device had it after the session's last change (the heads
//! `[last]`), so viewing a version shows exactly the text that device showed its user then, and
//! restoring it is an ordinary edit that syncs and merges like any other (FORMAT.md §4.5).
//!
//! The order ([`in_order`]) and the grouping ([`sessions`]) are pure functions over [`Step`]s;
//! reading the steps out of a document, what each session changed ([`Changed`], read from the
//! operations of its changes and kept per change in [`Tallies`]) and reading a version in place
//! are `impl Replica`.

use std::collections::{BTreeSet, HashMap, HashSet};

use automerge::{AutoCommit, ChangeHash};
use uuid::Uuid;

use crate::docs::{lazy, note, Replica};
use crate::error::{Error, Result};
use crate::store;

/// The longest pause between two changes of one editing session (5 minutes).
pub const SESSION_GAP_MS: i64 = 5 * 60 * 1000;

/// The earliest change time a reader believes (2000-01-01): an earlier one is a device's wrong
/// clock, shown as unknown (FORMAT.md §4.5).
const EARLIEST_MS: i64 = 946_684_800_000;

/// How far past the reader's own clock a change time may be and still be believed (a day).
const FUTURE_SLACK_MS: i64 = 24 * 3600 * 1000;

/// One change of a note's document, as the history needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Step {
    /// The change's hash.
    pub(crate) hash: ChangeHash,
    /// The changes it was made on top of.
    pub(crate) deps: Vec<ChangeHash>,
    /// The device that made it.
    pub(crate) device: Uuid,
    /// When it was made (ms since the Unix epoch); `None` when unknown or not believable.
    pub(crate) at: Option<i64>,
}

/// A run of steps grouped by [`sessions`]: indexes into the ordered steps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Span {
    /// The session's steps, oldest first.
    pub(crate) steps: Vec<usize>,
    /// True when the session was made without having seen the session listed just before it
    /// (two devices editing at the same time).
    pub(crate) concurrent: bool,
}

/// `steps` in an order that respects their dependencies (a change after every change it was
/// made on top of); where that leaves a choice, the earlier time first, then the smaller hash,
/// so every device orders the same changes the same way. A dependency missing from `steps`
/// (left out as unreadable) is ignored.
pub(crate) fn in_order(steps: Vec<Step>) -> Vec<Step> {
    let known: HashSet<ChangeHash> = steps.iter().map(|s| s.hash).collect();
    let mut waiting: HashMap<ChangeHash, usize> = HashMap::new();
    let mut children: HashMap<ChangeHash, Vec<usize>> = HashMap::new();
    for (i, s) in steps.iter().enumerate() {
        let deps: BTreeSet<&ChangeHash> = s.deps.iter().filter(|d| known.contains(*d)).collect();
        waiting.insert(s.hash, deps.len());
        for d in deps {
            children.entry(*d).or_default().push(i);
        }
    }
    // Ready steps, smallest (time, hash) first; unknown times sort as their dependencies allow.
    let key = |s: &Step| (s.at.unwrap_or(i64::MIN), s.hash);
    let mut ready: BTreeSet<((i64, ChangeHash), usize)> = steps
        .iter()
        .enumerate()
        .filter(|(_, s)| waiting[&s.hash] == 0)
        .map(|(i, s)| (key(s), i))
        .collect();
    let mut out = Vec::with_capacity(steps.len());
    while let Some(first) = ready.pop_first() {
        let i = first.1;
        for &c in children.get(&steps[i].hash).map(Vec::as_slice).unwrap_or(&[]) {
            let w = waiting.get_mut(&steps[c].hash).expect("every step is counted");
            *w -= 1;
            if *w == 0 {
                ready.insert((key(&steps[c]), c));
            }
        }
        out.push(i);
    }
    let mut slots: Vec<Option<Step>> = steps.into_iter().map(Some).collect();
    out.into_iter().filter_map(|i| slots[i].take()).collect()
}

/// Groups ordered steps (from [`in_order`]) into editing sessions, oldest first: a step joins
/// its device's open session when it was made directly on top of that session's last step
/// (nothing merged in between) and no more than `gap_ms` after it (unknown times do not
/// break a session). Each session is placed by its last step.
pub(crate) fn sessions(steps: &[Step], gap_ms: i64) -> Vec<Span> {
    let mut spans: Vec<Span> = Vec::new();
    let mut open: HashMap<Uuid, usize> = HashMap::new();
    for (i, s) in steps.iter().enumerate() {
        let joins = open.get(&s.device).copied().filter(|&o| {
            let last = &steps[*spans[o].steps.last().expect("a span is never empty")];
            let close = match (last.at, s.at) {
                (Some(a), Some(b)) => (b - a).abs() <= gap_ms,
                _ => true,
            };
            s.deps == [last.hash] && close
        });
        match joins {
            Some(o) => spans[o].steps.push(i),
            None => {
                open.insert(s.device, spans.len());
                spans.push(Span { steps: vec![i], concurrent: false });
            }
        }
    }
    spans.sort_by_key(|sp| *sp.steps.last().expect("a span is never empty"));
    // Concurrent: the session listed before it is not among what its first step had seen.
    let position: HashMap<ChangeHash, usize> =
        steps.iter().enumerate().map(|(i, s)| (s.hash, i)).collect();
    for k in 1..spans.len() {
        let before = *spans[k - 1].steps.last().expect("a span is never empty");
        let first = spans[k].steps[0];
        spans[k].concurrent = !has_seen(steps, &position, first, before);
    }
    spans
}

/// Whether step `later` was made on top of step `earlier` (directly or not). Only steps placed
/// between the two can lie on the way, so the walk stops below `earlier`'s place.
fn has_seen(
    steps: &[Step],
    position: &HashMap<ChangeHash, usize>,
    later: usize,
    earlier: usize,
) -> bool {
    let mut todo = vec![later];
    let mut seen = HashSet::new();
    while let Some(i) = todo.pop() {
        for d in &steps[i].deps {
            let Some(&p) = position.get(d) else { continue };
            if p == earlier {
                return true;
            }
            if p > earlier && seen.insert(p) {
                todo.push(p);
            }
        }
    }
    false
}

/// What an editing session changed in a note.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, ts_rs::TS)]
pub struct Changed {
    /// The session created the note.
    pub created: bool,
    /// Characters typed or pasted into the body.
    pub added: usize,
    /// Characters removed from the body.
    pub removed: usize,
    /// The title after the session, when the session changed it.
    pub title: Option<String>,
    /// `Some(true)`: moved to the trash; `Some(false)`: brought back from it.
    pub deleted: Option<bool>,
    /// Moved to another notebook.
    pub moved: bool,
    /// `Some(true)`: pinned; `Some(false)`: unpinned.
    pub pinned: Option<bool>,
    /// Tags added.
    pub tagged: Vec<String>,
    /// Tags removed.
    pub untagged: Vec<String>,
}

impl Changed {
    /// Adds what a later change did.
    fn then(&mut self, later: &Changed) {
        self.added += later.added;
        self.removed += later.removed;
        self.deleted = later.deleted.or(self.deleted);
        self.pinned = later.pinned.or(self.pinned);
        self.moved |= later.moved;
        self.tagged.extend(later.tagged.iter().cloned());
        self.untagged.extend(later.untagged.iter().cloned());
    }

    /// One line in plain words ("Created", "+120 −4 characters · title “Trip” · tagged work").
    pub fn summary(&self) -> String {
        let mut parts = Vec::new();
        if self.created {
            parts.push("Created".to_string());
        }
        match (self.added, self.removed) {
            (0, 0) => {}
            (a, 0) => parts.push(format!("+{a} {}", chars(a))),
            (0, r) => parts.push(format!("−{r} {}", chars(r))),
            (a, r) => parts.push(format!("+{a} −{r} characters")),
        }
        if let (Some(t), false) = (&self.title, self.created) {
            parts.push(format!("title “{t}”"));
        }
        match self.deleted {
            Some(true) => parts.push("moved to the trash".into()),
            Some(false) => parts.push("restored from the trash".into()),
            None => {}
        }
        if self.moved {
            parts.push("moved to another notebook".into());
        }
        match self.pinned {
            Some(true) => parts.push("pinned".into()),
            Some(false) => parts.push("unpinned".into()),
            None => {}
        }
        if !self.tagged.is_empty() {
            parts.push(format!("tagged {}", self.tagged.join(", ")));
        }
        if !self.untagged.is_empty() {
            parts.push(format!("untagged {}", self.untagged.join(", ")));
        }
        if parts.is_empty() {
            return "No visible change".into();
        }
        parts.join(" · ")
    }
}

fn chars(n: usize) -> &'static str {
    if n == 1 {
        "character"
    } else {
        "characters"
    }
}

/// One version of a note in its history: the end of an editing session.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, ts_rs::TS)]
pub struct Version {
    /// The version's id: the hash of the session's last change, hex (its first 8 characters
    /// are enough to name it).
    pub id: String,
    /// The device that edited: its client id.
    pub device: String,
    /// True when that device is this one.
    pub this_device: bool,
    /// When the session started and ended, ms since the Unix epoch (`None`: unknown).
    #[ts(type = "number | null")]
    pub started_at: Option<i64>,
    /// See `started_at`.
    #[ts(type = "number | null")]
    pub ended_at: Option<i64>,
    /// How many changes the session made.
    pub changes: usize,
    /// What it changed.
    pub changed: Changed,
    /// One line saying what it changed ([`Changed::summary`]).
    pub summary: String,
    /// True when the session was made without having seen the one listed below it (two
    /// devices editing at the same time).
    pub concurrent: bool,
}

/// A note as it was at one version.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, ts_rs::TS)]
pub struct VersionText {
    /// The version (as in [`Version::id`]).
    pub version: String,
    /// Title then.
    pub title: String,
    /// Body then.
    pub body: String,
    /// Whether the note was in the trash then.
    pub deleted: bool,
}

/// The versions read last, kept as read: a version never changes, and reading one in place
/// takes ~13 ms in a 100 KB note of 10,000 changes, which the History panel would otherwise
/// pay again for "Compare with now" and again for "Restore" after showing it.
#[derive(Default)]
pub(crate) struct Versions {
    /// Oldest first.
    kept: std::collections::VecDeque<(Uuid, ChangeHash, VersionText)>,
}

impl Versions {
    /// How many versions are kept.
    const KEEP: usize = 4;
    /// The most bytes of text kept (16 MB); a bigger version is not kept.
    const MAX_BYTES: usize = 16 << 20;

    fn get(&mut self, id: &Uuid, hash: &ChangeHash) -> Option<VersionText> {
        let at = self.kept.iter().position(|(i, h, _)| i == id && h == hash)?;
        let hit = self.kept.remove(at)?;
        let text = hit.2.clone();
        self.kept.push_back(hit);
        Some(text)
    }

    fn put(&mut self, id: Uuid, hash: ChangeHash, text: VersionText) {
        let size = |t: &VersionText| t.title.len() + t.body.len();
        if size(&text) > Self::MAX_BYTES {
            return;
        }
        self.kept.push_back((id, hash, text));
        while self.kept.len() > Self::KEEP
            || self.kept.iter().map(|(_, _, t)| size(t)).sum::<usize>() > Self::MAX_BYTES
        {
            self.kept.pop_front();
        }
    }
}

/// A change's time as a reader believes it: Automerge's change time is in seconds (0: not
/// recorded); a time before 2000 or more than a day past `now` is a wrong clock.
fn believed(seconds: i64, now: i64) -> Option<i64> {
    believed_ms(seconds.checked_mul(1000).filter(|_| seconds != 0)?, now)
}

/// A time (ms) read from another device, when a reader shows it: not before 2000, and not
/// more than a day past the reader's own clock `now`.
pub(crate) fn believed_ms(ms: i64, now: i64) -> Option<i64> {
    (ms >= EARLIEST_MS && ms <= now.saturating_add(FUTURE_SLACK_MS)).then_some(ms)
}

/// What a role an object of a note's document plays, for [`Tally`].
#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Body,
    Title,
    Tags,
}

/// Reads what changes did from their operations: which objects are the body, the title and the
/// tags (learned from the operations that made them, so changes must come in history order),
/// and what each operation did to them. Cheaper than Automerge's diff of two versions, which
/// walks the whole document (~50 ms for a 100 KB note, per session).
#[derive(Default)]
struct Tally {
    objects: HashMap<automerge::legacy::ObjectId, Role>,
}

impl Tally {
    /// Adds what `change` did to `c`; returns whether it touched the title.
    fn add(&mut self, change: &automerge::ExpandedChange, c: &mut Changed) -> bool {
        use automerge::legacy::{Key, ObjectId, OpId, OpType};
        use automerge::{ObjType, ScalarValue};
        let mut title = false;
        for (i, op) in change.operations.iter().enumerate() {
            let role = match &op.obj {
                ObjectId::Root => None,
                id => match self.objects.get(id) {
                    Some(r) => Some(*r),
                    None => continue,
                },
            };
            let key = match &op.key {
                Key::Map(k) => Some(k.as_str()),
                Key::Seq(_) => None,
            };
            match (role, key, &op.action) {
                (None, Some(k), OpType::Make(t)) => {
                    let made = match (k, t) {
                        ("body", ObjType::Text) => Some(Role::Body),
                        ("title", ObjType::Text) => Some(Role::Title),
                        ("tags", ObjType::Map) => Some(Role::Tags),
                        _ => None,
                    };
                    if let Some(r) = made {
                        let id = OpId(change.start_op.get() + i as u64, change.actor_id.clone());
                        self.objects.insert(ObjectId::Id(id), r);
                        title |= r == Role::Title;
                    }
                }
                (None, Some("deleted"), OpType::Put(ScalarValue::Boolean(b))) => {
                    c.deleted = Some(*b)
                }
                (None, Some("pinned"), OpType::Put(ScalarValue::Boolean(b))) => c.pinned = Some(*b),
                (None, Some("pinned"), OpType::Delete) => c.pinned = Some(false),
                (None, Some("notebook"), _) => c.moved = true,
                (Some(Role::Body), _, OpType::Put(ScalarValue::Str(t))) if op.insert => {
                    c.added += t.chars().count()
                }
                (Some(Role::Body), _, OpType::Delete) => c.removed += 1,
                (Some(Role::Title), _, _) => title = true,
                (Some(Role::Tags), Some(k), OpType::Put(ScalarValue::Boolean(true))) => {
                    c.tagged.push(k.to_string())
                }
                (Some(Role::Tags), Some(k), OpType::Delete) => c.untagged.push(k.to_string()),
                _ => {}
            }
        }
        title
    }
}

/// What each change of the notes whose history was read did, kept for the next reading (the
/// app reads a note's history again after each save while the panel is open). Changes never
/// change, and reading them out of a document is most of a history's cost: every change of a
/// note, one of them holding its whole first text (~90 ms to get and ~60 ms to decode for a
/// 100 KB note of 1,000 changes).
#[derive(Default)]
pub(crate) struct Tallies {
    notes: HashMap<Uuid, NoteTallies>,
}

#[derive(Default)]
struct NoteTallies {
    objects: Tally,
    /// Per change: what it did, and whether it touched the title.
    done: HashMap<ChangeHash, (Changed, bool)>,
}

impl NoteTallies {
    /// Tallies the changes among `steps` (in history order) not tallied yet, reading them out
    /// of `doc`: all at once when most are new, else one by one.
    fn catch_up(&mut self, doc: &mut AutoCommit, steps: &[Step]) {
        let missing: Vec<ChangeHash> =
            steps.iter().map(|s| s.hash).filter(|h| !self.done.contains_key(h)).collect();
        if missing.is_empty() {
            return;
        }
        let mut changes: HashMap<ChangeHash, automerge::Change> = if missing.len() * 2 > steps.len()
        {
            doc.get_changes(&[]).into_iter().map(|c| (c.hash(), c)).collect()
        } else {
            missing
                .iter()
                .filter_map(|h| doc.get_change_by_hash(h))
                .map(|c| (c.hash(), c))
                .collect()
        };
        for hash in missing {
            let mut c = Changed::default();
            let title = match changes.remove(&hash) {
                Some(change) => self.objects.add(&change.decode(), &mut c),
                None => false,
            };
            self.done.insert(hash, (c, title));
        }
    }
}

/// The text under root key `key` at `heads` (empty when it is not text).
fn text_at(doc: &AutoCommit, key: &str, heads: &[ChangeHash]) -> String {
    use automerge::{ObjType, ReadDoc, Value, ROOT};
    match doc.get_at(ROOT, key, heads) {
        Ok(Some((Value::Object(ObjType::Text), id))) => doc.text_at(&id, heads).unwrap_or_default(),
        _ => String::new(),
    }
}

/// The title at `heads`.
fn title_at(doc: &AutoCommit, heads: &[ChangeHash]) -> String {
    text_at(doc, "title", heads)
}

/// Note `doc`'s title, body and `deleted` at `heads`, read in place (no fork of the document).
fn read_at(doc: &AutoCommit, heads: &[ChangeHash]) -> (String, String, bool) {
    use automerge::{ReadDoc, ScalarValue, Value, ROOT};
    let text = |key: &str| text_at(doc, key, heads);
    let deleted = matches!(
        doc.get_at(ROOT, "deleted", heads),
        Ok(Some((Value::Scalar(s), _))) if matches!(s.as_ref(), ScalarValue::Boolean(true))
    );
    (text("title"), text("body"), deleted)
}

/// The change named by `query` (a version id, or at least 4 of its first hex characters) among
/// `hashes`, the changes of a note: every change is a version of it (the note as its writer had
/// it right after), and the history lists the last of each editing session.
pub(crate) fn resolve(hashes: &[ChangeHash], query: &str) -> Result<ChangeHash> {
    let q = query.trim().to_ascii_lowercase();
    if q.len() < 4 || !q.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(Error::Invalid(format!(
            "“{query}” does not name a version; use one from `resnotes history` (at least 4 of its characters)"
        )));
    }
    let mut hits = hashes.iter().filter(|h| h.to_string().starts_with(&q));
    match (hits.next(), hits.next()) {
        (Some(one), None) => Ok(*one),
        (None, _) => Err(Error::Invalid(format!(
            "this note has no version {query}; `resnotes history` lists its versions"
        ))),
        _ => Err(Error::Invalid(format!(
            "{query} names more than one version; type more of its characters"
        ))),
    }
}

impl Replica {
    /// The history of note `id`, newest version first; `None` when there is no such note. A
    /// note listed from a summary has its document built (and stored) first.
    pub(crate) fn history(&self, id: &Uuid) -> Result<Option<Vec<Version>>> {
        let now = self.now();
        let read = self.note_doc(id, |doc, _| -> Result<Vec<Version>> {
            let known = known_devices(&self.conn, &self.client)?;
            let metas: Vec<(ChangeHash, Vec<ChangeHash>, Vec<u8>, i64)> = doc
                .get_changes_meta(&[])
                .into_iter()
                .map(|m| (m.hash, m.deps, m.actor.to_bytes().to_vec(), m.timestamp))
                .collect();
            let mut carriers = None;
            let mut steps = Vec::with_capacity(metas.len());
            for (hash, deps, actor, seconds) in metas {
                let actor = Uuid::from_slice(&actor).ok().filter(|a| known.contains(a));
                let at = believed(seconds, now);
                let (device, at) = match (actor, at) {
                    (Some(a), Some(t)) => (a, Some(t)),
                    _ => {
                        // Written before changes carried their time, or under an actor of its
                        // own (an edit of an older version): the entry that carried it says.
                        if carriers.is_none() {
                            carriers = Some(self.carriers(id)?);
                        }
                        let carried = carriers.as_ref().and_then(|m| m.get(&hash)).copied();
                        let (client, time) = carried.unwrap_or((self.client, 0));
                        (actor.unwrap_or(client), at.or(believed_ms(time, now)))
                    }
                };
                steps.push(Step { hash, deps, device, at });
            }
            let steps = in_order(steps);
            let spans = sessions(&steps, SESSION_GAP_MS);
            // What each step did, read from its operations in history order (once per change).
            let mut tallies = self.tallies.borrow_mut();
            let note = tallies.notes.entry(*id).or_default();
            note.catch_up(doc, &steps);
            let mut changed = vec![Changed::default(); spans.len()];
            let mut titled = vec![false; spans.len()];
            for (k, span) in spans.iter().enumerate() {
                for &i in &span.steps {
                    if let Some((c, title)) = note.done.get(&steps[i].hash) {
                        changed[k].then(c);
                        titled[k] |= title;
                    }
                }
            }
            let mut out = Vec::with_capacity(spans.len());
            for (k, span) in spans.iter().enumerate().rev() {
                let first = &steps[span.steps[0]];
                let last = &steps[*span.steps.last().expect("a span is never empty")];
                let mut changed = std::mem::take(&mut changed[k]);
                changed.created = first.deps.is_empty();
                if changed.created {
                    // Creating puts `deleted: false`, not a restore.
                    changed.deleted = changed.deleted.filter(|d| *d);
                    changed.moved = false;
                }
                if titled[k] {
                    changed.title = Some(title_at(doc, &[last.hash]));
                }
                out.push(Version {
                    id: last.hash.to_string(),
                    device: last.device.to_string(),
                    this_device: last.device == self.client,
                    started_at: first.at,
                    ended_at: last.at,
                    changes: span.steps.len(),
                    summary: changed.summary(),
                    changed,
                    concurrent: span.concurrent,
                });
            }
            Ok(out)
        })?;
        read.transpose()
    }

    /// Which device's entry carried each change of note `id`, and that entry's time: decodes
    /// the note's entries (and this device's unsealed changes, carried by none yet).
    fn carriers(&self, id: &Uuid) -> Result<HashMap<ChangeHash, (Uuid, i64)>> {
        let mut map = lazy::carriers(&self.conn, &self.keys, id)?;
        for (change, at) in store::log::unsealed_of(&self.conn, id)? {
            if let Ok(c) = automerge::Change::from_bytes(change) {
                map.entry(c.hash()).or_insert((self.client, at));
            }
        }
        Ok(map)
    }

    /// Note `id` as it is now (a note in the trash too).
    pub(crate) fn current_text(&self, id: &Uuid) -> Result<VersionText> {
        let read = self.note_doc(id, |doc, _| {
            let f = note::read(doc);
            let version =
                doc.get_heads().iter().map(|h| h.to_string()).collect::<Vec<_>>().join(",");
            VersionText { version, title: f.title, body: f.body, deleted: f.deleted }
        })?;
        read.ok_or_else(|| Error::NoSuchNote(id.to_string()))
    }

    /// Note `id` as it was at `version` (a change of it, named as [`resolve`] takes it);
    /// `None` when there is no such note.
    pub(crate) fn version_text(&self, id: &Uuid, version: &str) -> Result<Option<VersionText>> {
        let read = self.note_doc(id, |doc, _| -> Result<VersionText> {
            // A whole id (as the app passes) is looked up; a prefix is sought among them all.
            let whole = version.trim().parse::<ChangeHash>().ok();
            let hash = match whole.filter(|h| doc.get_change_meta_by_hash(h).is_some()) {
                Some(h) => h,
                None => {
                    let hashes: Vec<ChangeHash> =
                        doc.get_changes_meta(&[]).into_iter().map(|m| m.hash).collect();
                    resolve(&hashes, version)?
                }
            };
            let mut kept = self.versions.borrow_mut();
            if let Some(text) = kept.get(id, &hash) {
                return Ok(text);
            }
            let (title, body, deleted) = read_at(doc, &[hash]);
            let text = VersionText { version: hash.to_string(), title, body, deleted };
            kept.put(*id, hash, text.clone());
            Ok(text)
        })?;
        read.transpose()
    }
}

/// The devices of this workspace: every client with entries in the log, and this one.
fn known_devices(conn: &rusqlite::Connection, me: &Uuid) -> Result<HashSet<Uuid>> {
    let mut known: HashSet<Uuid> = store::log::heads(conn)?.into_iter().map(|(c, _)| c).collect();
    known.insert(*me);
    Ok(known)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(n: u8) -> ChangeHash {
        ChangeHash([n; 32])
    }

    fn dev(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    /// A step `n` by device `d` at minute `min` (None: unknown), made on top of `deps`.
    fn step(n: u8, d: u128, min: Option<i64>, deps: &[u8]) -> Step {
        Step {
            hash: h(n),
            deps: deps.iter().map(|&x| h(x)).collect(),
            device: dev(d),
            at: min.map(|m| m * 60_000),
        }
    }

    /// Sessions as step numbers (the hashes' byte) with their concurrent mark.
    type Grouped = Vec<(Vec<u8>, bool)>;

    /// Sessions as lists of step numbers (the hashes' byte), with their concurrent mark.
    fn grouped(steps: Vec<Step>) -> Grouped {
        let steps = in_order(steps);
        sessions(&steps, SESSION_GAP_MS)
            .into_iter()
            .map(|s| (s.steps.iter().map(|&i| steps[i].hash.0[0]).collect(), s.concurrent))
            .collect()
    }

    #[test]
    fn sessions_group_one_devices_run_of_changes() {
        // (case, steps, sessions oldest first with their concurrent mark)
        let cases: Vec<(&str, Vec<Step>, Grouped)> = vec![
            (
                "typing in bursts a minute apart is one session",
                vec![
                    step(1, 1, Some(0), &[]),
                    step(2, 1, Some(1), &[1]),
                    step(3, 1, Some(2), &[2]),
                ],
                vec![(vec![1, 2, 3], false)],
            ),
            (
                "a pause longer than five minutes starts another",
                vec![
                    step(1, 1, Some(0), &[]),
                    step(2, 1, Some(6), &[1]),
                    step(3, 1, Some(7), &[2]),
                ],
                vec![(vec![1], false), (vec![2, 3], false)],
            ),
            (
                "unknown times never split a session",
                vec![step(1, 1, None, &[]), step(2, 1, None, &[1])],
                vec![(vec![1, 2], false)],
            ),
            (
                "another device's edit on top is a session of its own",
                vec![
                    step(1, 1, Some(0), &[]),
                    step(2, 2, Some(1), &[1]),
                    step(3, 1, Some(2), &[2]),
                ],
                vec![(vec![1], false), (vec![2], false), (vec![3], false)],
            ),
            (
                "two devices typing at once: two sessions, the later one marked concurrent",
                vec![
                    step(1, 1, Some(0), &[]),
                    step(2, 1, Some(1), &[1]),
                    step(3, 2, Some(1), &[1]),
                    step(4, 1, Some(2), &[2]),
                    step(5, 2, Some(3), &[3]),
                ],
                vec![(vec![1, 2, 4], false), (vec![3, 5], true)],
            ),
            (
                "a change that merged another device's edit starts a new session",
                vec![
                    step(1, 1, Some(0), &[]),
                    step(2, 2, Some(1), &[1]),
                    step(3, 1, Some(1), &[1]),
                    step(4, 1, Some(2), &[3, 2]),
                ],
                vec![(vec![2], false), (vec![1, 3], true), (vec![4], false)],
            ),
            (
                "a wrong clock cannot put a change before what it was made on",
                vec![step(1, 1, Some(100), &[]), step(2, 2, Some(3), &[1])],
                vec![(vec![1], false), (vec![2], false)],
            ),
            (
                "a dependency that is not held (left out) is ignored",
                vec![step(2, 1, Some(0), &[9]), step(3, 1, Some(1), &[2])],
                vec![(vec![2, 3], false)],
            ),
        ];
        for (case, steps, want) in cases {
            assert_eq!(grouped(steps), want, "{case}");
        }
    }

    #[test]
    fn the_order_is_the_same_whatever_order_the_changes_came_in() {
        let steps = vec![
            step(1, 1, Some(0), &[]),
            step(2, 1, Some(1), &[1]),
            step(3, 2, Some(1), &[1]),
            step(4, 3, None, &[1]),
            step(5, 1, Some(2), &[2, 3, 4]),
        ];
        let want: Vec<u8> = in_order(steps.clone()).iter().map(|s| s.hash.0[0]).collect();
        assert_eq!(want, vec![1, 4, 2, 3, 5]);
        let mut reversed = steps;
        reversed.reverse();
        let got: Vec<u8> = in_order(reversed).iter().map(|s| s.hash.0[0]).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn times_from_wrong_clocks_are_not_believed() {
        let now = 1_780_000_000_000;
        assert_eq!(believed(1_700_000_000, now), Some(1_700_000_000_000));
        assert_eq!(believed(0, now), None, "not recorded");
        assert_eq!(believed(1_000, now), None, "1970");
        assert_eq!(believed(now / 1000 + 2 * 86_400, now), None, "two days ahead");
        assert_eq!(believed(now / 1000 + 3600, now), Some(now / 1000 * 1000 + 3_600_000));
        assert_eq!(believed(i64::MAX, now), None);
    }

    #[test]
    fn a_summary_says_what_changed_in_plain_words() {
        let cases = [
            (
                Changed {
                    created: true,
                    added: 10,
                    title: Some("Trip".into()),
                    ..Default::default()
                },
                "Created · +10 characters",
            ),
            (Changed { added: 1, ..Default::default() }, "+1 character"),
            (Changed { added: 120, removed: 4, ..Default::default() }, "+120 −4 characters"),
            (Changed { title: Some("Trip".into()), ..Default::default() }, "title “Trip”"),
            (Changed { deleted: Some(true), ..Default::default() }, "moved to the trash"),
            (
                Changed { deleted: Some(false), moved: true, ..Default::default() },
                "restored from the trash · moved to another notebook",
            ),
            (
                Changed {
                    tagged: vec!["work".into()],
                    untagged: vec!["home".into()],
                    ..Default::default()
                },
                "tagged work · untagged home",
            ),
            (Changed::default(), "No visible change"),
        ];
        for (c, want) in cases {
            assert_eq!(c.summary(), want);
        }
    }

    #[test]
    fn versions_are_named_by_four_or_more_of_their_first_characters() {
        let hashes = [ChangeHash([0xab; 32]), ChangeHash([0xcd; 32]), ChangeHash([0xce; 32])];
        assert_eq!(resolve(&hashes, "abab").unwrap(), hashes[0]);
        assert_eq!(resolve(&hashes, " CDCDCD ").unwrap(), hashes[1]);
        assert_eq!(resolve(&hashes, &hashes[2].to_string()).unwrap(), hashes[2]);
        assert!(resolve(&hashes, "aba").unwrap_err().to_string().contains("at least 4"));
        assert!(resolve(&hashes, "abac").unwrap_err().to_string().contains("no version"));
        assert!(resolve(&hashes, "not-hex").unwrap_err().to_string().contains("does not name"));
        let twins = [ChangeHash([0xab; 32]), ChangeHash([0xab; 32])];
        assert!(resolve(&twins, "abab").unwrap_err().to_string().contains("more than one"));
    }

    #[test]
    fn the_versions_read_last_are_kept_and_the_oldest_read_goes_first() {
        let text = |n: usize| VersionText {
            version: String::new(),
            title: String::new(),
            body: "x".repeat(n),
            deleted: false,
        };
        let mut v = Versions::default();
        for n in 0..5u8 {
            v.put(dev(1), h(n), text(n as usize));
        }
        assert!(v.get(&dev(1), &h(0)).is_none(), "five kept: the first read went");
        assert_eq!(v.get(&dev(1), &h(1)).unwrap().body, "x");
        assert!(v.get(&dev(2), &h(1)).is_none(), "another note's version");
        // Reading h(1) made it the newest: h(2) goes next.
        v.put(dev(1), h(9), text(0));
        assert!(v.get(&dev(1), &h(2)).is_none());
        assert!(v.get(&dev(1), &h(1)).is_some());
        // Big texts: never more than MAX_BYTES kept, and one bigger is not kept at all.
        v.put(dev(1), h(20), text(Versions::MAX_BYTES / 2 + 1));
        v.put(dev(1), h(21), text(Versions::MAX_BYTES / 2 + 1));
        assert!(v.get(&dev(1), &h(20)).is_none() && v.get(&dev(1), &h(21)).is_some());
        v.put(dev(1), h(22), text(Versions::MAX_BYTES + 1));
        assert!(v.get(&dev(1), &h(22)).is_none());
    }
}
