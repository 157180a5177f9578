//! Notes listed from entry summaries (FORMAT.md §4.2) before their documents are built.
//!
//! Building a note's Automerge document costs about 2 µs per character, so a device joining a
//! workspace of 10,000 notes would spend most of a minute before it could list them. Instead, a
//! pulled change for a note without a built document is only indexed (`note_entries`) and the
//! note's row takes its fields from the newest summary describing it (it has no row in `docs`).
//! At the end of the sync cycle each such note is *settled*: if its summary describes exactly the
//! changes now held for it, the row is right as it is; otherwise its document is built from the
//! log at once. A document is also built when its note is opened or edited, and stored
//! documents beyond the most recently edited ones are dropped again ([`evict`]): the log holds
//! every change, so documents are a cache.

use std::collections::HashMap;
use std::rc::Rc;

use automerge::{AutoCommit, Change};
use rusqlite::Connection;
use uuid::Uuid;

use crate::docs::materialize::{self, DocCache};
use crate::docs::note;
use crate::docs::DocError;
use crate::error::Result;
use crate::format::crypto::open_with_file_key;
use crate::format::entry::{self, Entry, NoteChange, Summary};
use crate::format::epoch::Keyring;
use crate::store::{self, notes, LogRow};

/// Decoded entries kept while settling, building or scanning. An entry that created many notes
/// at once is needed by each of them, among their own small entries: it stays while it is used.
const ENTRY_CACHE: usize = 64;
/// At most how many bytes of changes and summaries the kept entries hold.
const ENTRY_CACHE_BYTES: usize = 32 << 20;

/// Recently decoded log entries, shared by the reads of one pass over many notes; the least
/// recently used leave first.
#[derive(Default)]
pub(crate) struct Entries {
    recent: std::collections::VecDeque<((Uuid, u64), Rc<Entry>, usize)>,
    bytes: usize,
}

impl Entries {
    fn get(
        &mut self,
        conn: &Connection,
        key: &Keyring,
        client: &Uuid,
        index: u64,
    ) -> Result<Rc<Entry>> {
        if let Some(at) = self.recent.iter().position(|(k, _, _)| *k == (*client, index)) {
            let hit = self.recent.remove(at).expect("found");
            let e = hit.1.clone();
            self.recent.push_back(hit);
            return Ok(e);
        }
        let e = Rc::new(decode(conn, key, client, index)?);
        let size = e.weight();
        while self.recent.len() >= ENTRY_CACHE || self.bytes + size > ENTRY_CACHE_BYTES {
            let Some((_, _, s)) = self.recent.pop_front() else { break };
            self.bytes -= s;
        }
        self.bytes += size;
        self.recent.push_back(((*client, index), e.clone(), size));
        Ok(e)
    }
}

/// Reads and decodes entry `index` of `client` from the local log.
pub(crate) fn decode(conn: &Connection, key: &Keyring, client: &Uuid, index: u64) -> Result<Entry> {
    let data = store::entry_data(conn, client, index)?.ok_or_else(|| {
        DocError::Damaged(format!("entry {index} of device {client} is not in the local log"))
    })?;
    // An entry of a key epoch another connection learnt (the background sync, a CLI beside
    // the app) opens, and is authenticated, once this keyring reads the keys the database
    // holds.
    //
    // The file key kept for an entry this device sealed or read from a pack opens it without
    // unwrapping its stanza (an X25519 exchange: most of the cost of opening a small entry).
    // A key that does not open it (it never should) leaves it to the keyring.
    let known = match store::packs::file_key(conn, client, index)? {
        Some(k) if key.epoch0().is_encrypted() => open_with_file_key(&data, &k).ok(),
        _ => None,
    };
    let read = || match &known {
        Some(plain) => Some(entry::decode_held(plain, key)),
        None => key.open(&data).ok().map(|plain| entry::decode_held(&plain, key)),
    };
    let mut read_once = read();
    if !matches!(read_once, Some(Ok(_))) && crate::docs::replica::refresh_keys(conn, key)? {
        read_once = read();
    }
    Ok(read_once.ok_or_else(|| {
        DocError::Damaged(format!(
            "log entry {index} of {client} cannot be decrypted with this device's key"
        ))
    })??)
}

/// A note's state as far as pulling is concerned.
enum State {
    /// No row: a note this device has not seen.
    New,
    /// The row holds the document.
    Built,
    /// Listed from the summary of this entry (`None`: no summary yet).
    Listed(Option<(Uuid, u64)>),
}

fn state(conn: &Connection, id: &Uuid) -> Result<State> {
    Ok(match notes::stored(conn, id)? {
        None => State::New,
        Some(s) if s.built => State::Built,
        Some(s) => State::Listed(s.hint),
    })
}

/// What the entries of one pulled batch decided, shared by their [`take`]s: whether each note is
/// applied or listed, for the whole batch, never both; and, for a listed note, the newest
/// summary met so far, written into its row once, by [`finish`] (an entry's statements were
/// most of what storing a pulled entry cost; a note edited by many entries of one batch, as in
/// the 10-client pull, had its row written again for each).
///
/// A listed note's search row is written when it is settled at the end of the cycle
/// ([`settle`]), once: writing it for every summary that changes it, or once per batch, cost a
/// full-text index update per entry — a third of a long join's time. So a note listed during
/// a long pull is found by search from the end of that sync cycle on.
#[derive(Default)]
pub(crate) struct Batch {
    decided: HashMap<Uuid, bool>,
    listed: HashMap<Uuid, Listing>,
}

/// A note listed in this batch: which entry's summary gives its row so far.
struct Listing {
    /// `(lamport, client, index)` of the entry whose summary the row takes; `None` when the
    /// row has no summary yet, or its entry is not in the log.
    newest: Option<(u64, Uuid, u64)>,
    /// The summary to write, when one of this batch's entries is the newest.
    summary: Option<Summary>,
}

/// Records the changes of one pulled entry (already in the log) and returns those to apply now:
/// changes of built notes, and of new notes the entry does not summarise. A new note the entry
/// summarises is listed from the summary; any note not built is left for [`settle`]. `batch`
/// is shared by the entries of one batch, whose changes are applied together after all were
/// taken, once [`finish`] has written the listed notes' rows.
pub(crate) fn take(
    conn: &Connection,
    row: &LogRow,
    changes: Vec<NoteChange>,
    summaries: &[Summary],
    batch: &mut Batch,
) -> Result<Vec<NoteChange>> {
    let mut ids: Vec<Uuid> = changes.iter().map(|c| c.note).collect();
    ids.sort();
    ids.dedup();
    notes::index_entry(conn, &row.client, row.index, ids.iter().copied())?;
    let by_note: HashMap<Uuid, &Summary> = summaries.iter().map(|s| (s.note, s)).collect();
    for id in ids {
        let summary = by_note.get(&id).copied();
        let apply = match batch.decided.get(&id) {
            Some(apply) => *apply,
            None => {
                let st = state(conn, &id)?;
                let apply = matches!((&st, summary), (State::Built, _) | (State::New, None));
                batch.decided.insert(id, apply);
                if !apply {
                    let newest = match st {
                        State::Listed(Some((c, i))) => {
                            store::log::lamport_of(conn, &c, i)?.map(|l| (l, c, i))
                        }
                        _ => None,
                    };
                    batch.listed.insert(id, Listing { newest, summary: None });
                }
                apply
            }
        };
        if apply {
            continue;
        }
        // Listed for this batch: the newest summary gives the row.
        if let (Some(s), Some(l)) = (summary, batch.listed.get_mut(&id)) {
            let at = (row.lamport, row.client, row.index);
            if l.newest.is_none_or(|n| at > n) {
                l.newest = Some(at);
                l.summary = Some(s.clone());
            }
        }
    }
    Ok(changes.into_iter().filter(|c| batch.decided.get(&c.note) == Some(&true)).collect())
}

/// Writes the rows of the notes a batch listed, each from the newest summary its entries gave,
/// and marks them to be settled at the end of the cycle.
pub(crate) fn finish(conn: &Connection, batch: Batch) -> Result<()> {
    // In a fixed order (by the entry that gave each row).
    let mut listed: Vec<(Uuid, Listing)> = batch.listed.into_iter().collect();
    listed.sort_by_key(|(id, l)| (l.newest, *id));
    for (id, l) in listed {
        if let (Some(s), Some((_, client, index))) = (&l.summary, l.newest) {
            list(conn, (client, index), s)?;
        }
        notes::mark_unsettled(conn, &id)?;
    }
    Ok(())
}

/// Writes a summary into the note's row (creating it), leaving the document unbuilt (its search
/// row is written when it is settled: [`Batch`]); `hint` names the entry that gave it.
fn list(conn: &Connection, hint: (Uuid, u64), s: &Summary) -> Result<()> {
    Ok(notes::list(
        conn,
        &s.note,
        &notes::Listed {
            title: &s.title,
            first_line: &s.first_line,
            created_at: s.created_at,
            updated_at: s.updated_at,
            deleted: s.deleted,
            pinned: s.pinned,
            purged: s.purged,
            tags: &s.tags,
            kind: s.kind,
            notebook: s.notebook,
            hint,
        },
    )?)
}

/// Checks every unsettled note: a note whose summary describes exactly the changes held keeps
/// its row; any other is built from the log now. Returns how many were built.
pub(crate) fn settle(
    conn: &Connection,
    key: &Keyring,
    me: &Uuid,
    cache: &mut DocCache,
) -> Result<u64> {
    let ids = notes::unsettled(conn)?;
    if ids.is_empty() {
        return Ok(0);
    }
    let heads: HashMap<Uuid, u64> = store::heads(conn)?.into_iter().collect();
    let mut entries = Entries::default();
    let mut built = 0;
    let mut to_index = Vec::new();
    for id in ids {
        notes::settled(conn, &id)?;
        let Ok(uuid) = Uuid::parse_str(&id) else { continue };
        let st = state(conn, &uuid)?;
        let exact = match st {
            State::Built => true,
            State::New | State::Listed(None) => false,
            State::Listed(Some((c, i))) => {
                summary_is_exact(conn, key, &mut entries, &heads, &uuid, &c, i)?
            }
        };
        if !exact {
            build_with(conn, key, &mut entries, cache, me, &uuid)?;
            built += 1;
        } else if matches!(st, State::Listed(_)) {
            // The row as the newest summary left it (a built note was indexed when its
            // document was stored).
            match notes::listed_text(conn, &uuid)? {
                Some((title, first_line)) => to_index.push((uuid, title, first_line)),
                None => store::search::remove(conn, &uuid)?,
            }
            if to_index.len() >= INDEX_BATCH {
                index_listed(conn, &mut to_index)?;
            }
        }
    }
    index_listed(conn, &mut to_index)?;
    Ok(built)
}

/// How many settled notes' search rows are written together (their words are read back in
/// one go: [`store::search::put_all`]).
const INDEX_BATCH: usize = 256;

/// Writes the search rows of settled listed notes (title and first line), and empties `notes`.
fn index_listed(conn: &Connection, notes: &mut Vec<(Uuid, String, String)>) -> Result<()> {
    let texts: Vec<(Uuid, &str, &str)> =
        notes.iter().map(|(id, t, f)| (*id, t.as_str(), f.as_str())).collect();
    if !texts.is_empty() {
        store::search::put_all(conn, &texts, false)?;
    }
    notes.clear();
    Ok(())
}

/// The rule of FORMAT.md §4.2: the summary in entry `index` of `client` describes exactly the
/// changes held for the note when every entry its clock covers is held and no entry held outside
/// it carries a change of the note.
fn summary_is_exact(
    conn: &Connection,
    key: &Keyring,
    entries: &mut Entries,
    heads: &HashMap<Uuid, u64>,
    id: &Uuid,
    client: &Uuid,
    index: u64,
) -> Result<bool> {
    let e = entries.get(conn, key, client, index)?;
    let mut covered: HashMap<Uuid, u64> = e.clock.iter().copied().collect();
    covered.insert(*client, index);
    if covered.iter().any(|(c, i)| heads.get(c).is_none_or(|h| h < i)) {
        return Ok(false);
    }
    for (c, i) in notes::entries_of(conn, id)? {
        if covered.get(&c).is_none_or(|u| i > *u) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Every change of a note held in the log, parsed (one that does not parse is skipped and
/// reported, as when pulling: [`materialize::parse_lenient`]).
fn changes_from_log(
    conn: &Connection,
    key: &Keyring,
    entries: &mut Entries,
    id: &Uuid,
) -> Result<Vec<Change>> {
    let mut raw = Vec::new();
    for (client, index) in places(conn, id)? {
        raw.extend(
            entries
                .get(conn, key, &client, index)?
                .changes
                .iter()
                .filter(|nc| nc.note == *id)
                .cloned(),
        );
    }
    Ok(materialize::parse_lenient(conn, raw)?.into_iter().map(|(_, c)| c).collect())
}

fn build_with(
    conn: &Connection,
    key: &Keyring,
    entries: &mut Entries,
    cache: &mut DocCache,
    me: &Uuid,
    id: &Uuid,
) -> Result<()> {
    let changes = changes_from_log(conn, key, entries, id)?;
    let changes = changes.into_iter().map(|c| (*id, c)).collect();
    materialize::apply_parsed(conn, cache, me, changes, materialize::Origin::Log)?;
    if matches!(state(conn, id)?, State::Listed(_)) {
        // Nothing could apply (every change waits for entries not held yet): the summary
        // describes what this device does not have, so the note is not listed until it does.
        notes::delete_row(conn, id)?;
    }
    Ok(())
}

/// Whether a note is listed from a summary, its document not built yet.
pub(crate) fn is_listed(conn: &Connection, id: &Uuid) -> Result<bool> {
    Ok(matches!(state(conn, id)?, State::Listed(_)))
}

/// Builds and stores the document of a note listed from a summary (no-op for a built note or an
/// unknown one). Runs inside the caller's transaction.
pub(crate) fn ensure_built(conn: &Connection, key: &Keyring, me: &Uuid, id: &Uuid) -> Result<()> {
    if matches!(state(conn, id)?, State::Listed(_)) {
        build_with(conn, key, &mut Entries::default(), &mut DocCache::default(), me, id)?;
        notes::settled(conn, &id.to_string())?;
    }
    Ok(())
}

/// Which notes' changes may put an `asset:///` link in them, per log entry, decided without
/// building documents: a change as exchanged (uncompressed chunk type 1, §4.2) holds inserted
/// text verbatim, so a link inserted by one splice (as attaching and pasting do) shows in its
/// bytes; a compressed change counts as "may". Each entry is decoded once and only the notes
/// found are kept, so a scan of every note holds no decoded entry.
#[derive(Default)]
pub(crate) struct LinkScan {
    seen: std::collections::HashSet<(Uuid, u64)>,
    linking: std::collections::HashSet<(Uuid, u64, Uuid)>,
}

impl LinkScan {
    /// Whether any change of note `id` held in the log may hold an attachment link.
    pub(crate) fn may_link(&mut self, conn: &Connection, key: &Keyring, id: &Uuid) -> Result<bool> {
        const NEEDLE: &[u8] = b"asset:///";
        let mut found = false;
        for (client, index) in places(conn, id)? {
            if self.seen.insert((client, index)) {
                for nc in decode(conn, key, &client, index)?.changes {
                    if nc.change.get(8) != Some(&1)
                        || nc.change.windows(NEEDLE.len()).any(|w| w == NEEDLE)
                    {
                        self.linking.insert((client, index, nc.note));
                    }
                }
            }
            found |= self.linking.contains(&(client, index, *id));
        }
        Ok(found)
    }
}

/// Which device's entry carried each change of note `id` held in the log, and that entry's
/// timestamp (ms): decodes each of the note's entries once.
pub(crate) fn carriers(
    conn: &Connection,
    key: &Keyring,
    id: &Uuid,
) -> Result<HashMap<automerge::ChangeHash, (Uuid, i64)>> {
    let mut map = HashMap::new();
    for (client, index) in places(conn, id)? {
        let e = decode(conn, key, &client, index)?;
        for nc in e.changes.iter().filter(|nc| nc.note == *id) {
            if let Ok(c) = materialize::parse_one(nc) {
                map.entry(c.hash()).or_insert((e.header.client, e.header.timestamp));
            }
        }
    }
    Ok(map)
}

fn places(conn: &Connection, id: &Uuid) -> Result<Vec<(Uuid, u64)>> {
    Ok(notes::entries_in_log_order(conn, id)?)
}

/// A note's document built in memory from the log, without storing it.
pub(crate) fn doc_in_memory(
    conn: &Connection,
    key: &Keyring,
    entries: &mut Entries,
    id: &Uuid,
    me: &Uuid,
) -> Result<AutoCommit> {
    let changes = changes_from_log(conn, key, entries, id)?;
    let mut doc = note::new_doc(me);
    materialize::apply_leaving_out(conn, id, &mut doc, changes, || Ok(note::new_doc(me)))?;
    Ok(doc)
}

/// Documents kept stored: those of the most recently edited notes.
pub(crate) const KEEP_DOCUMENTS: usize = 1000;

/// Drops the stored documents of all but the `keep` most recently edited notes, turning them
/// into listed notes whose rows stay as they are (the log holds every change; opening or
/// editing one builds it again). Skips notes with changes not sealed into the log yet or waiting
/// for dependencies, and does nothing unless `note_entries` indexes the whole log. Runs only
/// when the stored documents exceed `keep` by a tenth, so most calls cost one index count.
/// Returns how many documents were dropped.
pub(crate) fn evict(conn: &Connection, keep: usize) -> Result<u64> {
    if store::meta(conn, "note_index")?.as_deref() != Some("complete") {
        return Ok(0);
    }
    if (notes::document_count(conn)? as usize) <= keep + keep / 10 {
        return Ok(0);
    }
    Ok(notes::drop_documents(conn, keep)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::{Memory, TargetKind};
    use crate::Workspace;

    /// An entry of a key epoch another connection on the data dir learnt (the app's window
    /// beside its background sync, a CLI beside the app) is read from the log, with the file
    /// key kept for it, once this connection's keyring reads the keys the database holds.
    #[test]
    fn an_entry_of_an_epoch_another_connection_learnt_is_read() {
        let tmp = tempfile::tempdir().unwrap();
        let f = Memory::new("f");
        let mut a = Workspace::init(tmp.path(), false, crate::workspace::system_clock()).unwrap();
        a.add_target(TargetKind::Memory, &f, Some("first passphrase"), 10).unwrap();
        // This keyring was made before the change: it holds epoch 0 only.
        let stale = Keyring::new(a.replica.workspace, a.replica.keys.epoch0().clone());
        a.change_passphrase("second passphrase", 10).unwrap();
        a.new_note("after the change", "x").unwrap();
        a.seal_pending(1, usize::MAX).unwrap();
        let (conn, client) = (&a.replica.conn, a.client_id());
        let head = store::head(conn, &client).unwrap().unwrap().0;
        assert!(store::packs::file_key(conn, &client, head).unwrap().is_some());
        let e = decode(conn, &stale, &client, head).unwrap();
        assert!(!e.epoch.is_zero(), "an entry of the new epoch");
        assert_eq!(e.header.index, head);
    }

    fn row(client: Uuid, index: u64, lamport: u64) -> LogRow {
        LogRow {
            client,
            index,
            timestamp: 0,
            lamport,
            hash: [index as u8; 32],
            prev_hash: [0; 32],
            signer: None,
        }
    }

    fn summary(note: Uuid, title: &str) -> Summary {
        Summary {
            note,
            title: title.into(),
            first_line: format!("first line of {title}"),
            created_at: 1,
            updated_at: 2,
            deleted: false,
            pinned: false,
            purged: false,
            tags: vec![title.into()],
            kind: Default::default(),
            notebook: None,
        }
    }

    /// Takes one entry carrying a change of each of `notes` and the summaries given.
    fn take_one(conn: &Connection, r: &LogRow, notes: &[Uuid], s: &[Summary], b: &mut Batch) {
        store::insert_entry(conn, r, b"entry", 0).unwrap();
        let changes = notes.iter().map(|n| NoteChange { note: *n, change: vec![1] }).collect();
        let apply = take(conn, r, changes, s, b).unwrap();
        assert!(apply.is_empty(), "listed notes' changes wait for settling");
    }

    fn title(conn: &Connection, id: &Uuid) -> String {
        notes::listed_text(conn, id).unwrap().unwrap().0
    }

    /// Across the entries of a batch, and against the entry that gave a listed row before the
    /// batch, the row is written once, from the summary of the latest entry (Lamport order,
    /// then client and index), whatever order the entries come in.
    #[test]
    fn a_batch_lists_each_note_once_from_its_latest_summary() {
        let conn = store::open_in_memory().unwrap();
        let (a, c) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let (x, y) = (Uuid::from_u128(10), Uuid::from_u128(11));
        // Before: X is listed from C's entry 5 (Lamport 10).
        let mut before = Batch::default();
        take_one(&conn, &row(c, 5, 10), &[x], &[summary(x, "c5")], &mut before);
        finish(&conn, before).unwrap();
        assert_eq!(title(&conn, &x), "c5");
        assert!(matches!(state(&conn, &x).unwrap(), State::Listed(Some((h, 5))) if h == c));

        // A's entries: older than C's 5 for X, then a later one, then one without a summary.
        let mut b = Batch::default();
        take_one(&conn, &row(a, 0, 3), &[x, y], &[summary(x, "a0"), summary(y, "y-a0")], &mut b);
        take_one(&conn, &row(a, 1, 9), &[x], &[summary(x, "a1")], &mut b);
        assert_eq!(title(&conn, &x), "c5", "nothing is written before the batch ends");
        take_one(&conn, &row(a, 2, 11), &[x, y], &[summary(x, "a2"), summary(y, "y-a2")], &mut b);
        take_one(&conn, &row(a, 3, 12), &[x], &[], &mut b);
        finish(&conn, b).unwrap();
        assert_eq!((title(&conn, &x), title(&conn, &y)), ("a2".into(), "y-a2".into()));
        assert!(matches!(state(&conn, &x).unwrap(), State::Listed(Some((h, 2))) if h == a));
        let mut unsettled = notes::unsettled(&conn).unwrap();
        unsettled.sort();
        assert_eq!(unsettled, vec![x.to_string(), y.to_string()]);

        // A batch whose entries are all older than the row's leaves it.
        let mut b = Batch::default();
        take_one(&conn, &row(c, 6, 4), &[x], &[summary(x, "old")], &mut b);
        finish(&conn, b).unwrap();
        assert_eq!(title(&conn, &x), "a2");
    }
}
