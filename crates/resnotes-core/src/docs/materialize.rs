//! Derived note rows: applying Automerge changes from log entries to per-note documents and
//! keeping the `notes` table (title, first line, times, stored document) in step.
//!
//! A note's document is stored (table `docs`) as a full save plus a tail of change chunks
//! appended since (`doc_tail`), so an edit appends a few bytes instead of re-encoding the whole document; the
//! tail is folded into a full save when it grows. Loaded documents are kept in a small cache
//! keyed by the row's `rev`, so typing into one note never reloads it. Changes whose
//! dependencies have not arrived yet wait in `queued_changes` until they can apply.

use std::collections::{BTreeMap, HashSet};

use automerge::{AutoCommit, Change, ChangeHash};
use rusqlite::Connection;
use uuid::Uuid;

use crate::docs::DocError;
use crate::docs::{lazy, note, search_index};
use crate::error::Result;
use crate::format::entry::NoteChange;
use crate::format::epoch::Keyring;
use crate::store::{notes, search};

/// Tail size (bytes) above which a note is stored again as one full save.
const COMPACT_TAIL_BYTES: usize = 64 * 1024;
/// Documents always kept loaded, whatever their size.
const CACHE_MIN: usize = 16;
/// Documents kept loaded at most.
const CACHE_MAX: usize = 256;
/// Stored bytes (full save plus tail) of the documents kept loaded, past [`CACHE_MIN`]. A pull
/// of many devices' small edits cycles through a few hundred notes, batch after batch: with 16
/// documents every batch loaded each of them again (a note's load grows with its history, so
/// the pull grew quadratically; BENCHMARKS.md, "Pulling many small entries"). A loaded document
/// takes several times its stored size in memory, so this bounds the cache to about 10 MiB.
const CACHE_BYTES: usize = 2 * 1024 * 1024;

/// A loaded document, the `rev` of the row it was loaded from, and its stored size.
struct Cached {
    id: Uuid,
    rev: i64,
    size: usize,
    doc: AutoCommit,
}

/// Recently used documents with the `rev` of the row they were loaded from, least recently used
/// first.
#[derive(Default)]
pub(crate) struct DocCache {
    docs: Vec<Cached>,
    /// Sum of the documents' stored sizes.
    bytes: usize,
}

impl DocCache {
    /// Takes a document (and its stored size) out of the cache if it is still current (`rev`
    /// matches).
    fn take(&mut self, id: &Uuid, rev: i64) -> Option<(AutoCommit, usize)> {
        let pos = self.docs.iter().rposition(|c| c.id == *id)?;
        let c = self.docs.remove(pos);
        self.bytes -= c.size;
        (c.rev == rev).then_some((c.doc, c.size))
    }

    /// Puts a document of `size` stored bytes back as the most recently used, then forgets the
    /// least recently used ones beyond the bounds.
    fn put(&mut self, id: Uuid, rev: i64, size: usize, doc: AutoCommit) {
        if let Some(pos) = self.docs.iter().rposition(|c| c.id == id) {
            self.bytes -= self.docs.remove(pos).size;
        }
        self.docs.push(Cached { id, rev, size, doc });
        self.bytes += size;
        while self.docs.len() > CACHE_MAX
            || (self.docs.len() > CACHE_MIN && self.bytes > CACHE_BYTES)
        {
            self.bytes -= self.docs.remove(0).size;
        }
    }

    /// The loaded documents with the row revision each was loaded at.
    pub(crate) fn entries(&mut self) -> impl Iterator<Item = (&Uuid, i64, &mut AutoCommit)> {
        self.docs.iter_mut().map(|c| (&c.id, c.rev, &mut c.doc))
    }

    /// Moves the documents of another cache (filled inside a committed transaction) into this one.
    pub(crate) fn absorb(&mut self, other: DocCache) {
        for c in other.docs {
            self.put(c.id, c.rev, c.size, c.doc);
        }
    }

    /// Forgets everything (after a rebuild).
    pub(crate) fn clear(&mut self) {
        self.docs.clear();
        self.bytes = 0;
    }
}

/// A note's stored state: its document, the row's `rev` and the current tail length.
pub(crate) struct Loaded {
    /// The document.
    pub doc: AutoCommit,
    /// Row revision (0 for a note without a row).
    pub rev: i64,
    /// Bytes in `doc_tail`.
    pub tail_len: usize,
    /// Stored bytes of the document (full save plus tail; 0 when not built).
    size: usize,
    /// Whether the note has a row.
    pub exists: bool,
    /// Whether the row holds the document (false for a note listed from a summary, whose `doc`
    /// is empty: see [`crate::docs::lazy`]; `doc` is then an empty document).
    pub built: bool,
    /// The row's first line and the offset just past it (`None` for a new note).
    first_line: Option<(String, i64)>,
}

/// Loads a note's document (from the cache when current), or an empty one for a new note.
pub(crate) fn load(
    conn: &Connection,
    cache: &mut DocCache,
    id: &Uuid,
    me: &Uuid,
) -> Result<Loaded> {
    let Some(stored) = notes::stored(conn, id)? else {
        return Ok(Loaded {
            doc: note::new_doc(me),
            rev: 0,
            tail_len: 0,
            size: 0,
            exists: false,
            built: false,
            first_line: None,
        });
    };
    let rev = stored.rev;
    if !stored.built {
        return Ok(Loaded {
            doc: note::new_doc(me),
            rev,
            tail_len: 0,
            size: 0,
            exists: true,
            built: false,
            first_line: None,
        });
    }
    let (tail_len, first_line) =
        (stored.tail_len, Some((stored.first_line, stored.first_line_end)));
    if let Some((doc, size)) = cache.take(id, rev) {
        return Ok(Loaded { doc, rev, tail_len, size, exists: true, built: true, first_line });
    }
    let (saved, tail) = notes::document(conn, id)?;
    let mut doc = note::load(&saved, me)?;
    let mut size = saved.len();
    if let Some(tail) = tail.filter(|t| !t.is_empty()) {
        doc.load_incremental(&tail).map_err(|e| DocError::Automerge(e.to_string()))?;
        size += tail.len();
    }
    Ok(Loaded { doc, rev, tail_len, size, exists: true, built: true, first_line })
}

/// Loads a note's document without a cache; `None` when the note has no row. A note listed
/// from a summary is built in memory from the log (not stored: reading stays read-only).
pub(crate) fn load_doc(
    conn: &Connection,
    key: &Keyring,
    id: &Uuid,
    me: &Uuid,
) -> Result<Option<AutoCommit>> {
    let l = load(conn, &mut DocCache::default(), id, me)?;
    if l.exists && !l.built {
        return lazy::doc_in_memory(conn, key, &mut lazy::Entries::default(), id, me).map(Some);
    }
    Ok(l.exists.then_some(l.doc))
}

/// Reads a note's document through `cache` (loading it when not current there) and puts it back;
/// `read` gets the document and the row revision it is for. `None` when the note has no row. A note listed from a summary is built in memory (reading
/// stays read-only) and not cached.
pub(crate) fn read_cached<T>(
    conn: &Connection,
    key: &Keyring,
    cache: &mut DocCache,
    id: &Uuid,
    me: &Uuid,
    read: impl FnOnce(&mut AutoCommit, i64) -> T,
) -> Result<Option<T>> {
    let l = load(conn, cache, id, me)?;
    if !l.exists {
        return Ok(None);
    }
    if !l.built {
        let mut doc = lazy::doc_in_memory(conn, key, &mut lazy::Entries::default(), id, me)?;
        return Ok(Some(read(&mut doc, l.rev)));
    }
    let mut doc = l.doc;
    let out = read(&mut doc, l.rev);
    cache.put(*id, l.rev, l.size, doc);
    Ok(Some(out))
}

/// What an edit may have changed in the body, so that the first line is only recomputed (which
/// reads the whole body) when it can have changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BodyEdit<'a> {
    /// Anything (remote changes, edits of the note's fields).
    Unknown,
    /// The body was not touched.
    Untouched,
    /// One splice at this character position.
    SpliceAt(usize),
    /// The body was made this text (a whole-text edit, a restored version): its first line is
    /// read from it rather than from the document (3 ms for a 100 KB body).
    SetTo(&'a str),
}

/// When a stored note's text goes into the search index ([`store`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Indexing {
    /// In the same transaction (changes from another device).
    Now,
    /// Before the next search (the user's own edits): a keystroke's save then writes no index
    /// (FTS5 tokenizes the whole note again, and merges its segments at commit: up to 80 ms
    /// while a joined device indexes in the background; BENCHMARKS.md). At most
    /// [`search::DEFERRED`] notes wait so — a person types into one or two at a time; past
    /// that (a script editing thousands), now, or the next search would index them all.
    BeforeNextSearch,
    /// When the pull storing it ends ([`crate::docs::Replica::index_pulled`]): a pull applies a
    /// device's entries in batches, and a note edited in every batch was indexed whole after
    /// each (a sixth of a long pull; BENCHMARKS.md, "Pulling many small entries"). A big note
    /// is left to the next search as always.
    AfterPull,
}

/// Stores a note after its document gained `appended` (raw change chunks): appended to the tail,
/// or as a full save when the tail grows large or the note is new. Updates the derived fields
/// and returns the new `rev`; the document goes back into the cache.
pub(crate) fn store(
    conn: &Connection,
    cache: &mut DocCache,
    id: &Uuid,
    mut l: Loaded,
    appended: &[u8],
    edit: BodyEdit<'_>,
    indexing: Indexing,
) -> Result<i64> {
    let f = note::read_head(&l.doc);
    let (first_line, first_line_end) = match (edit, l.first_line.take()) {
        (BodyEdit::Untouched, Some((line, end))) => (line, end),
        (BodyEdit::SpliceAt(pos), Some((line, end))) if end > 0 && (pos as i64) > end => {
            (line, end)
        }
        (BodyEdit::SetTo(body), _) => {
            debug_assert_eq!(note::body(&l.doc), body, "the body was made this text");
            let (line, end) = note::first_line(body);
            (line, end as i64)
        }
        _ => {
            let (line, end) = note::first_line(&note::body(&l.doc));
            (line, end as i64)
        }
    };
    let rev = l.rev + 1;
    // A notebook or a device has no text to find.
    let gone = f.deleted || f.kind != note::DocKind::Note;
    if indexing == Indexing::BeforeNextSearch && !gone && search::may_defer(conn, id)? {
        search::mark_stale(conn, id)?;
    } else if indexing == Indexing::AfterPull
        && !gone
        && note::body_len(&l.doc) < crate::docs::texts::KEEP_TEXT_CHARS
    {
        search::mark_pulled(conn, id)?;
    } else {
        search_index::update(conn, id, &l.doc, &f.title, gone)?;
    }
    let row = row(&f, &first_line, first_line_end, rev);
    let size = if !l.exists || !l.built || l.tail_len + appended.len() > COMPACT_TAIL_BYTES {
        let saved = l.doc.save();
        notes::save_full(conn, id, &row, &saved)?;
        // Set when an import makes the note, never changed after.
        if let Some(source) = note::source(&l.doc).filter(|_| !l.exists || !l.built) {
            notes::set_source(conn, id, &source)?;
        }
        saved.len()
    } else {
        notes::append(conn, id, &row, appended)?;
        l.size + appended.len()
    };
    cache.put(*id, rev, size, l.doc);
    Ok(rev)
}

/// The list row of a note whose document reads as `f`.
fn row<'a>(
    f: &'a note::NoteFields,
    first_line: &'a str,
    first_line_end: i64,
    rev: i64,
) -> notes::Row<'a> {
    notes::Row {
        title: &f.title,
        first_line,
        first_line_end,
        created_at: f.created_at,
        updated_at: f.updated_at,
        deleted: f.deleted,
        pinned: f.pinned,
        purged: f.purged,
        tags: &f.tags,
        rev,
        kind: f.kind,
        notebook: f.notebook,
    }
}

/// A new note made elsewhere (on another thread: [`crate::docs::Replica::create_each`]),
/// stored as [`store`] would store it, but from its fields and body as made rather than read
/// back from its document (which is not built: it is loaded from `saved` when opened).
pub(crate) fn store_new(conn: &Connection, id: &Uuid, new: NewNote<'_>) -> Result<i64> {
    let f = note::read_head(&new.head);
    let (first_line, first_line_end) = note::first_line(new.body);
    let body_len = new.body.chars().count();
    search_index::update_with(
        conn,
        id,
        &f.title,
        f.deleted || f.kind != note::DocKind::Note,
        body_len,
        || new.body.to_string(),
    )?;
    let row = row(&f, &first_line, first_line_end as i64, 1);
    notes::save_full(conn, id, &row, &new.saved)?;
    if let Some(source) = note::source(&new.head) {
        notes::set_source(conn, id, &source)?;
    }
    // Its attachment links, read now from the text in hand: read later, they would cost
    // loading each new note's document.
    let links = crate::format::asset::find_refs(new.body);
    crate::store::assets::set_links(conn, &id.to_string(), row.rev, &links)?;
    Ok(row.rev)
}

/// A new note made apart, with what storing it needs.
pub(crate) struct NewNote<'a> {
    /// Its fields but the body ([`note::read_head`] reads them); not its document.
    pub(crate) head: AutoCommit,
    /// The one change it is made of.
    pub(crate) change: Vec<u8>,
    /// What its document is stored as: a full save, or the change itself (a document loads
    /// from either).
    pub(crate) saved: Vec<u8>,
    /// Its body.
    pub(crate) body: &'a str,
}

/// Parses one change as exchanged, or says why it cannot be: never hands Automerge a chunk it
/// would inflate without a bound (a log written before pulling refused them), and survives a
/// panic of Automerge's parser.
pub(crate) fn parse_one(c: &NoteChange) -> std::result::Result<Change, String> {
    crate::format::chunk::check_chunks(std::slice::from_ref(c)).map_err(|why| why.to_string())?;
    match crate::docs::caught::catch(|| Change::from_bytes(c.change.clone())) {
        Ok(Ok(ch)) => Ok(ch),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("it could not be parsed".into()),
    }
}

/// Parses changes to apply; one that does not parse is left out and recorded
/// ([`notes::record_left_out`], shown by `show`, `status` and the app), never applied in part.
/// Its entry was accepted on its chunk check (FORMAT.md §6 step 5).
pub(crate) fn parse_lenient(
    conn: &Connection,
    changes: Vec<NoteChange>,
) -> Result<Vec<(Uuid, Change)>> {
    let mut parsed = Vec::with_capacity(changes.len());
    for c in changes {
        let why = match parse_one(&c) {
            Ok(ch) => {
                parsed.push((c.note, ch));
                continue;
            }
            Err(why) => why,
        };
        left_out_reason(conn, &c.note, &crate::format::entry::sha256(&c.change), &why)?;
    }
    Ok(parsed)
}

/// Applies `changes` to a note's `doc`. When Automerge refuses the batch or panics on it (a
/// hostile change can make it do either), starts again from `fresh()` (the document as stored)
/// and applies the changes one at a time, leaving out and recording each that fails: one change
/// never blocks its note, its entry or the pull of anything else.
pub(crate) fn apply_leaving_out(
    conn: &Connection,
    id: &Uuid,
    doc: &mut AutoCommit,
    changes: Vec<Change>,
    fresh: impl FnOnce() -> Result<AutoCommit>,
) -> Result<()> {
    let raws: Vec<Vec<u8>> = changes.iter().map(|c| c.raw_bytes().to_vec()).collect();
    let whole = crate::docs::caught::catch(|| doc.apply_changes(changes));
    if matches!(whole, Ok(Ok(()))) {
        return Ok(());
    }
    tracing::warn!(note = %id, "changes could not be applied together; applying them one by one");
    *doc = fresh()?;
    for raw in raws {
        let digest = crate::format::entry::sha256(&raw);
        let Ok(change) = Change::from_bytes(raw) else { continue }; // it parsed before
        let mut trial = doc.clone();
        match crate::docs::caught::catch(|| trial.apply_changes([change])) {
            Ok(Ok(())) => *doc = trial,
            Ok(Err(e)) => left_out_reason(conn, id, &digest, &e.to_string())?,
            Err(_) => left_out_reason(conn, id, &digest, "its operations contradict each other")?,
        }
    }
    Ok(())
}

fn left_out_reason(conn: &Connection, note: &Uuid, digest: &[u8; 32], why: &str) -> Result<()> {
    if notes::record_left_out(conn, note, digest, why)? {
        tracing::warn!(note = %note, "a change from another device is left out: {why}");
    }
    Ok(())
}

/// Where changes being applied come from.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    /// Pulled from a target just now: edits made beside this device's are checked for words
    /// both changed ([`crate::docs::merges`]).
    Pull,
    /// Read again from the local log (a rebuild, a document built for a listed note): nothing
    /// new to the user, nothing marked.
    Log,
}

/// Applies raw changes (tests, rebuild): parses them, skipping any that do not parse.
pub(crate) fn apply(conn: &Connection, me: &Uuid, changes: &[NoteChange]) -> Result<()> {
    let parsed = parse_lenient(conn, changes.to_vec())?;
    apply_parsed(conn, &mut DocCache::default(), me, parsed, Origin::Log)
}

/// Applies parsed changes (from any number of entries) to their notes, one pass per note.
/// Applying the same changes again, or in another order, gives the same notes.
pub(crate) fn apply_parsed(
    conn: &Connection,
    cache: &mut DocCache,
    me: &Uuid,
    changes: Vec<(Uuid, Change)>,
    origin: Origin,
) -> Result<()> {
    let mut by_note: BTreeMap<Uuid, Vec<Change>> = BTreeMap::new();
    for (note, c) in changes {
        by_note.entry(note).or_default().push(c);
    }
    for (id, new) in by_note {
        apply_note(conn, cache, me, &id, new, origin)?;
    }
    Ok(())
}

fn apply_note(
    conn: &Connection,
    cache: &mut DocCache,
    me: &Uuid,
    id: &Uuid,
    new: Vec<Change>,
    origin: Origin,
) -> Result<()> {
    let mut l = load(conn, cache, id, me)?;
    let mut pending: Vec<Change> = Vec::new();
    let had_queue = {
        for raw in notes::queued(conn, id)? {
            if let Ok(c) = Change::from_bytes(raw) {
                pending.push(c);
            }
        }
        !pending.is_empty()
    };
    pending.extend(new);
    let raws: Vec<(ChangeHash, Vec<u8>, Vec<ChangeHash>)> =
        pending.iter().map(|c| (c.hash(), c.raw_bytes().to_vec(), c.deps().to_vec())).collect();
    let heads_before = l.doc.get_heads();
    apply_leaving_out(conn, id, &mut l.doc, pending, || {
        Ok(load(conn, &mut DocCache::default(), id, me)?.doc)
    })?;
    // Which changes are still waiting: those depending (transitively) on a missing change.
    let missing: HashSet<ChangeHash> = l.doc.get_missing_deps(&[]).into_iter().collect();
    let mut waiting: HashSet<ChangeHash> = HashSet::new();
    if !missing.is_empty() {
        loop {
            let before = waiting.len();
            for (h, _, deps) in &raws {
                if deps.iter().any(|d| missing.contains(d) || waiting.contains(d)) {
                    waiting.insert(*h);
                }
            }
            if waiting.len() == before {
                break;
            }
        }
    }
    if had_queue || !waiting.is_empty() {
        let queue: Vec<(&[u8], &[u8])> = raws
            .iter()
            .filter(|(h, _, _)| waiting.contains(h))
            .map(|(h, raw, _)| (&h.0[..], &raw[..]))
            .collect();
        notes::set_queued(conn, id, &queue)?;
    }
    if l.doc.get_heads() == heads_before {
        // Nothing new (duplicates, or all waiting): keep the row as it is.
        if l.exists && l.built {
            cache.put(*id, l.rev, l.size, l.doc);
        }
        return Ok(());
    }
    if origin == Origin::Pull && l.exists && l.built {
        let mut others = crate::docs::merges::overlapping(&mut l.doc, &heads_before, me);
        others.retain(|d| d != me);
        if !others.is_empty() {
            notes::mark_merged(conn, id, &others)?;
        }
    }
    let appended: Vec<u8> = raws
        .iter()
        .filter(|(h, _, _)| !waiting.contains(h))
        .flat_map(|(_, raw, _)| raw.iter().copied())
        .collect();
    let indexing = if origin == Origin::Pull { Indexing::AfterPull } else { Indexing::Now };
    store(conn, cache, id, l, &appended, BodyEdit::Unknown, indexing)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(cache: &DocCache) -> Vec<Uuid> {
        cache.docs.iter().map(|c| c.id).collect()
    }

    /// Up to 256 small documents stay loaded, the least recently used go first, and big ones
    /// are kept only down to the 16 most recent.
    #[test]
    fn the_cache_keeps_the_most_recent_documents_within_its_bounds() {
        let me = Uuid::new_v4();
        let mut cache = DocCache::default();
        let small: Vec<Uuid> = (0..CACHE_MAX + 10).map(|_| Uuid::new_v4()).collect();
        for id in &small {
            cache.put(*id, 1, 1000, note::new_doc(&me));
        }
        assert_eq!(ids(&cache), small[10..].to_vec(), "the oldest ten went");
        assert_eq!(cache.bytes, CACHE_MAX * 1000);
        // A document used again moves to the end; a stale revision is not given back.
        assert!(cache.take(&small[20], 1).is_some());
        cache.put(small[20], 2, 1000, note::new_doc(&me));
        assert_eq!(ids(&cache).last(), Some(&small[20]));
        assert!(cache.take(&small[20], 1).is_none(), "revision 2 is cached, not 1");
        assert!(!ids(&cache).contains(&small[20]));
        // Big documents: the byte bound keeps only the most recent, never fewer than 16.
        let big: Vec<Uuid> = (0..40).map(|_| Uuid::new_v4()).collect();
        for id in &big {
            cache.put(*id, 1, CACHE_BYTES / 4, note::new_doc(&me));
        }
        assert_eq!(ids(&cache), big[40 - CACHE_MIN..].to_vec());
        assert_eq!(cache.bytes, CACHE_MIN * (CACHE_BYTES / 4));
        cache.clear();
        assert_eq!((cache.docs.len(), cache.bytes), (0, 0));
    }
}
