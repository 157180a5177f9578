//! Keeping the full-text index (`store::search`) current with the notes' documents: a document
//! stored from another device's changes is indexed at once, except a big one, whose text is not
//! read on every save; those, and the notes the user edits here (a few at a time: keystrokes
//! write no index), are marked stale and indexed before the next query
//! ([`Replica::refresh_search`]). Notes
//! listed from summaries are found by their title and first line until
//! [`Replica::index_pending`] has read their whole text, in the background.

use automerge::AutoCommit;
use rusqlite::Connection;
use uuid::Uuid;

use crate::docs::texts::KEEP_TEXT_CHARS;
use crate::docs::{lazy, materialize, note, Replica};
use crate::error::Result;
use crate::store::{self, search};

/// Indexes a note whose document was just stored (`title` and `deleted` read from it), marks
/// it stale if it is big, or takes it out of the index if it is deleted.
pub(crate) fn update(
    conn: &Connection,
    id: &Uuid,
    doc: &AutoCommit,
    title: &str,
    deleted: bool,
) -> Result<()> {
    update_with(conn, id, title, deleted, note::body_len(doc), || note::body(doc))
}

/// [`update`] for a note whose body is `body_len` characters long and reads as `body()`.
pub(crate) fn update_with(
    conn: &Connection,
    id: &Uuid,
    title: &str,
    deleted: bool,
    body_len: usize,
    body: impl FnOnce() -> String,
) -> Result<()> {
    if deleted {
        return Ok(search::remove(conn, id)?);
    }
    if body_len >= KEEP_TEXT_CHARS {
        return Ok(search::mark_stale(conn, id)?);
    }
    Ok(search::put(conn, id, title, &body(), true)?)
}

/// A live note's title and body; `None` for a deleted one (not in the index).
fn live_text(doc: &AutoCommit) -> Option<(String, String)> {
    let f = note::read_head(doc);
    (!f.deleted && f.kind == note::DocKind::Note).then(|| (f.title, note::body(doc)))
}

impl Replica {
    /// Indexes every note marked stale — the big notes and the few notes typed into since they
    /// were indexed, and the notes a pull has stored and not indexed yet — before a search.
    /// Cheap for the notes typed into: their documents are usually in the cache.
    pub(crate) fn refresh_search(&self) -> Result<()> {
        let stale = search::stale(&self.conn)?;
        // More than the user's few: a pull's notes too, written ten at a time so that a
        // keystroke's save waiting meanwhile gets its turn.
        let background = stale.len() > search::DEFERRED as usize;
        for ids in stale.chunks(STALE_CHUNK) {
            self.index_current(ids, background)?;
        }
        Ok(())
    }

    /// Indexes the notes a pull stored without indexing ([`materialize::Indexing::AfterPull`]),
    /// ten per transaction, so that a keystroke's save waits for little.
    pub(crate) fn index_pulled(&self) -> Result<()> {
        for ids in search::pulled(&self.conn)?.chunks(STALE_CHUNK) {
            self.index_current(ids, true)?;
        }
        Ok(())
    }

    /// Indexes the texts of `ids` as they are now. The texts are read before the write
    /// transaction (reading may build a note's document, which writes in a transaction of its
    /// own); a note stored again in between (another connection: the user typing, a sync) keeps
    /// its mark, and the next search or pull indexes its newer text.
    fn index_current(&self, ids: &[Uuid], background: bool) -> Result<()> {
        let mut texts = Vec::with_capacity(ids.len());
        let mut revs = Vec::with_capacity(ids.len());
        for id in ids {
            let read = self.note_doc(id, |doc, rev| (live_text(doc), rev))?;
            let (text, rev) = read.unwrap_or((None, 0));
            texts.push(text);
            revs.push(rev);
        }
        let still = |id: &Uuid| -> Result<bool> {
            let at = ids.iter().position(|i| i == id).expect("one of the ids");
            let now = store::notes::stored(&self.conn, id)?.map_or(0, |s| s.rev);
            Ok(now == revs[at])
        };
        write_texts(&self.conn, ids, texts, still, background)
    }

    /// Indexes the whole text of at most `max` notes still indexed from a summary only (or not
    /// at all), in the order of the entries that listed them, building a listed note's document in memory
    /// without storing it. Returns how far the index has got: `(notes indexed whole or deleted,
    /// notes in all)`.
    pub(crate) fn index_pending(&self, max: usize) -> Result<(u64, u64)> {
        let ids = search::pending(&self.conn, max)?;
        // The documents are built before the write transaction, so that a save on another
        // connection (the user typing) waits only for the index writes.
        let mut entries = lazy::Entries::default();
        let mut texts = Vec::with_capacity(ids.len());
        let mut sources = Vec::new();
        for id in &ids {
            let doc = if lazy::is_listed(&self.conn, id)? {
                Some(lazy::doc_in_memory(&self.conn, &self.keys, &mut entries, id, &self.client)?)
            } else {
                materialize::load_doc(&self.conn, &self.keys, id, &self.client)?
            };
            // A listed note's `source` is read here too, for imports (store/notes.rs).
            if let Some(source) = doc.as_ref().and_then(note::source) {
                sources.push((*id, source));
            }
            texts.push(doc.as_ref().and_then(live_text));
        }
        // A note indexed meanwhile by an edit has a newer text than the one read here.
        // A note the user edited (maybe after its text was read here) waits for the next search
        // with its newer text ([`search::mark_stale`]): this one must not take its place, and
        // the next search indexes it whole.
        let still = |id: &Uuid| -> Result<bool> {
            Ok(!search::leave_to_next_search(&self.conn, id)?
                && search::is_pending(&self.conn, id)?)
        };
        write_texts(&self.conn, &ids, texts, still, true)?;
        if !sources.is_empty() {
            let tx = self.conn.unchecked_transaction()?;
            for (id, source) in &sources {
                store::notes::set_source(&tx, id, source)?;
            }
            tx.commit()?;
        }
        // Indexing 100,000 notes writes ~300 MB: left to SQLite, the write-ahead log reached its
        // checkpoint size on whichever connection committed, often a keystroke's, which then
        // copied 30 MB (869 ms). The indexer copies it itself, a batch at a time, without
        // waiting for readers.
        store::checkpoint(&self.conn)?;
        Ok(search::progress(&self.conn)?)
    }
}

/// Indexes each note's text read (`None`: deleted or gone, taken out of the index), skipping
/// the notes `still` says no longer need it. In the `background`, a few notes per transaction,
/// letting a save that waits go between them; otherwise (a search waits for it) in one.
fn write_texts(
    conn: &Connection,
    ids: &[Uuid],
    texts: Vec<Option<(String, String)>>,
    still: impl Fn(&Uuid) -> Result<bool>,
    background: bool,
) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    // The batch's words and pairs, read before the write transactions (the user's saves wait
    // for them).
    let tokens = search::tokens_of_all(
        conn,
        texts.iter().flatten().map(|(title, body)| (title.as_str(), body.as_str())),
    )?;
    let mut pairs = tokens.pairs.iter();
    let mut texts = ids.iter().zip(texts).map(|(id, text)| (id, text.map(|t| (t, pairs.next()))));
    let mut words = Some(&tokens.words);
    loop {
        let part: Vec<_> =
            texts.by_ref().take(if background { WRITE_CHUNK } else { usize::MAX }).collect();
        if part.is_empty() {
            return Ok(());
        }
        if words.is_none() {
            // A save waiting for the last transaction gets its turn before the next one.
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        let tx = store::write_tx(conn)?;
        // Words first: one no note holds yet is harmless, a note whose words are missing is
        // not found by their prefixes.
        if let Some(words) = words.take() {
            search::add_words(&tx, words)?;
        }
        for (id, text) in part {
            if !still(id)? {
                continue;
            }
            match text {
                Some(((title, body), Some(pairs))) => {
                    search::put_text(&tx, id, &title, &body, true, pairs)?
                }
                _ => search::remove(&tx, id)?,
            }
        }
        tx.commit()?;
    }
}

/// How many stale notes are read at a time ([`Replica::index_current`]): their texts are held
/// in memory together.
const STALE_CHUNK: usize = 50;

/// Notes a pull may leave to be indexed at its end: past this, it indexes them after the batch
/// (below the document cache's size, so their documents are still loaded, and a search in
/// between never has a long backlog to index first).
pub(crate) const PULLED_BACKLOG: usize = 200;

/// How many notes' texts go into the index per write transaction: FTS5 writes a batch's
/// lists and merges its segments when the transaction commits, and a keystroke's save waits
/// for it (50 notes: up to 230 ms; BENCHMARKS.md).
const WRITE_CHUNK: usize = 10;
