//! The local SQLite database: the log (the truth: every entry of every client, verbatim) and the
//! tables derived from it (notes, queued changes, sync positions), plus device configuration.

use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension};

/// What can go wrong with this device's database.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The disk holding the data dir is full.
    #[error("the disk holding this device's notes is full: free some space and try again (nothing saved before was lost)")]
    DiskFull,
    /// The data dir was last used by a newer version of the app, whose data this one would
    /// keep up only in part (a table it does not know of would fall behind).
    #[error("this device's notes were last opened by a newer version of Resilient Notes: install that version (or a newer one) to open them")]
    Newer,
    /// Any other SQLite failure.
    #[error("this device's notes database could not be used ({0}); close other programs using it and try again")]
    Db(rusqlite::Error),
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DiskFull) => StoreError::DiskFull,
            _ => StoreError::Db(e),
        }
    }
}

/// Result of the store.
pub(crate) type Result<T, E = StoreError> = std::result::Result<T, E>;

pub(crate) mod assets;
pub(crate) mod claims;
pub(crate) mod epochs;
pub(crate) mod log;
pub(crate) mod notebooks;
pub(crate) mod notes;
pub(crate) mod packs;
pub(crate) mod removals;
pub(crate) mod search;
pub(crate) mod secrets;
pub(crate) mod targets;

pub(crate) use log::{entry_data, head, heads, insert_entry, link_before, max_lamport, LogRow};
pub(crate) use targets::{clear_entry_errors, record_entry_error, remote_upto, set_remote_upto};

/// Schema migrations; `PRAGMA user_version` records how many ran.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
-- The log: every entry of every client, exactly the bytes exchanged (encrypted file bytes).
CREATE TABLE log (
    client_id   TEXT    NOT NULL,
    idx         INTEGER NOT NULL,
    timestamp   INTEGER NOT NULL,
    lamport     INTEGER NOT NULL,
    prev_hash   BLOB    NOT NULL,
    hash        BLOB    NOT NULL,
    data        BLOB    NOT NULL,
    received_at INTEGER NOT NULL,
    UNIQUE (client_id, idx)
);
CREATE TABLE targets (
    id            TEXT PRIMARY KEY,
    kind          TEXT NOT NULL,
    location      TEXT NOT NULL UNIQUE,
    added_at      INTEGER NOT NULL,
    last_ok       INTEGER,
    last_error    TEXT,
    last_error_at INTEGER
);
-- Local changes not yet sealed into an entry: the log's unsealed tail (primary data, durable).
CREATE TABLE unsealed (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    note_id    TEXT NOT NULL,
    change     BLOB NOT NULL,
    created_at INTEGER NOT NULL
);
-- Derived from the log (rebuild drops and refills them).
CREATE TABLE notes (
    id         TEXT PRIMARY KEY,
    title      TEXT NOT NULL,
    first_line TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    deleted    INTEGER NOT NULL,
    doc        BLOB NOT NULL,   -- full Automerge save
    doc_tail   BLOB,            -- change chunks appended since that save
    rev        INTEGER NOT NULL -- bumped on every write (validates in-memory documents)
);
CREATE INDEX notes_by_update ON notes (deleted, updated_at DESC);
CREATE TABLE queued_changes (note_id TEXT NOT NULL, hash BLOB NOT NULL, change BLOB NOT NULL, PRIMARY KEY (note_id, hash));
CREATE TABLE remote_present (target_id TEXT NOT NULL, client_id TEXT NOT NULL, upto INTEGER NOT NULL, PRIMARY KEY (target_id, client_id));
CREATE TABLE entry_errors (
    target_id TEXT NOT NULL, client_id TEXT NOT NULL, idx INTEGER NOT NULL,
    message TEXT NOT NULL, attempts INTEGER NOT NULL, last_at INTEGER NOT NULL,
    PRIMARY KEY (target_id, client_id, idx)
);
"#,
    r#"
ALTER TABLE targets ADD COLUMN username TEXT;
"#,
    r#"
-- Character offset just past the body's first non-empty line (0 = unknown): edits after it
-- cannot change the list's first line, so the body need not be read.
ALTER TABLE notes ADD COLUMN first_line_end INTEGER NOT NULL DEFAULT 0;
"#,
    r#"
-- The next entry's Lamport clock is MAX(lamport) + 1: keep that a lookup, not a scan.
CREATE INDEX log_by_lamport ON log (lamport);
"#,
    r#"
-- Attachments (FORMAT.md §10). The sealed files in <data-dir>/assets/ are the truth; these
-- rows index them (complete = 0: index reserved, file not written yet).
CREATE TABLE assets (
    client_id TEXT NOT NULL, idx INTEGER NOT NULL, hash BLOB NOT NULL, size INTEGER NOT NULL,
    name TEXT NOT NULL, mime TEXT NOT NULL, complete INTEGER NOT NULL, added_at INTEGER NOT NULL,
    PRIMARY KEY (client_id, idx)
);
CREATE INDEX assets_by_hash ON assets (hash);
-- Assets known to be on a target (written or found there).
CREATE TABLE asset_present (target_id TEXT NOT NULL, client_id TEXT NOT NULL, idx INTEGER NOT NULL, PRIMARY KEY (target_id, client_id, idx));
-- Derived from note bodies: the asset:/// links of each note, and the note rev they were read at.
CREATE TABLE note_assets (note_id TEXT NOT NULL, client_id TEXT NOT NULL, idx INTEGER NOT NULL, hash BLOB NOT NULL, url TEXT NOT NULL, PRIMARY KEY (note_id, client_id, idx));
CREATE INDEX note_assets_by_asset ON note_assets (client_id, idx);
CREATE TABLE asset_scan (note_id TEXT PRIMARY KEY, rev INTEGER NOT NULL);
-- "Keep all attachments offline" per target; NULL = the default for its kind.
ALTER TABLE targets ADD COLUMN keep_assets INTEGER;
"#,
    r#"
-- A note's Automerge document (full save + tail of changes appended since) is kept apart from
-- its list row, so dropping documents (lazy::evict) frees whole pages. A note without a row
-- here is listed from an entry's summary (FORMAT.md §4.2); hint_client/hint_idx name that entry.
CREATE TABLE docs (note_id TEXT PRIMARY KEY, doc BLOB NOT NULL, doc_tail BLOB);
INSERT INTO docs (note_id, doc, doc_tail) SELECT id, doc, doc_tail FROM notes;
ALTER TABLE notes DROP COLUMN doc;
ALTER TABLE notes DROP COLUMN doc_tail;
ALTER TABLE notes ADD COLUMN hint_client TEXT;
ALTER TABLE notes ADD COLUMN hint_idx INTEGER;
-- Which entries carry changes of which note (derived from the log), so a document can be built
-- from the log when it is first needed.
CREATE TABLE note_entries (note_id TEXT NOT NULL, client_id TEXT NOT NULL, idx INTEGER NOT NULL, PRIMARY KEY (note_id, client_id, idx)) WITHOUT ROWID;
-- Notes whose document is not built and that received entries since their summary was checked
-- against everything held (done at the end of each sync cycle).
CREATE TABLE unsettled (note_id TEXT PRIMARY KEY) WITHOUT ROWID;
-- note_entries indexes every entry of a log that was empty when it was created (a new data
-- dir); an older data dir gets the mark from `rebuild`. Documents are dropped only with it.
INSERT INTO meta (key, value) SELECT 'note_index', 'complete' WHERE NOT EXISTS (SELECT 1 FROM log);
"#,
    r#"
-- Changes left out of their note because they fail Automerge's full parse (FORMAT.md §6 step 5),
-- one row per change (derived: rebuild finds them again). Shown by show, status and the app.
CREATE TABLE left_out (note_id TEXT NOT NULL, digest BLOB NOT NULL, reason TEXT NOT NULL, PRIMARY KEY (note_id, digest)) WITHOUT ROWID;
-- An entry refused for what its bytes are (malformed, forged, misplaced): the SHA-256 of those
-- bytes, so the same file is neither parsed nor reported again; a changed file is read anew.
ALTER TABLE entry_errors ADD COLUMN refused BLOB;
"#,
    r#"
-- The text of a big note as of its row's `rev` (derived, a cache): opening a 5 MB note shows
-- this at once instead of loading its Automerge document (~1.5 µs per character). Used only
-- while `rev` equals the row's.
CREATE TABLE texts (note_id TEXT PRIMARY KEY, rev INTEGER NOT NULL, heads TEXT NOT NULL, title TEXT NOT NULL, body TEXT NOT NULL);
"#,
    r#"
-- The full-text index of live notes (derived; store/search.rs): FTS5 rows mapped to notes,
-- ranked by BM25 with a title match worth ten in the body, each marked whether its whole body
-- was indexed (not only a summary's first line); the built notes edited since (big ones are not
-- read on every save); and the notes still to index whole, in the background. Notes already
-- here are indexed that way.
CREATE VIRTUAL TABLE search USING fts5(title, body, tokenize = 'unicode61 remove_diacritics 2');
INSERT INTO search (search, rank) VALUES ('rank', 'bm25(10.0, 1.0)');
CREATE TABLE search_notes (docid INTEGER PRIMARY KEY, note_id TEXT NOT NULL UNIQUE, whole INTEGER NOT NULL);
CREATE TABLE search_stale (note_id TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE search_pending (note_id TEXT PRIMARY KEY) WITHOUT ROWID;
INSERT INTO search_pending (note_id) SELECT id FROM notes;
"#,
    r#"
-- Pins, tags and the trash's `purged` mark of each note (derived from the documents, or from
-- version-3 summaries; FORMAT.md §4.3): `tags` holds the note's tags joined by line feeds (tags
-- hold no control characters) for the list, `note_tags` the same for filtering by tag. Notes
-- written before version 3 have none of them, so the defaults are exact.
ALTER TABLE notes ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0;
ALTER TABLE notes ADD COLUMN purged INTEGER NOT NULL DEFAULT 0;
ALTER TABLE notes ADD COLUMN tags TEXT NOT NULL DEFAULT '';
CREATE TABLE note_tags (tag TEXT NOT NULL, note_id TEXT NOT NULL, PRIMARY KEY (tag, note_id)) WITHOUT ROWID;
CREATE INDEX note_tags_by_note ON note_tags (note_id);
DROP INDEX notes_by_update;
CREATE INDEX notes_by_update ON notes (deleted, pinned DESC, updated_at DESC);
CREATE INDEX notes_by_creation ON notes (deleted, pinned DESC, created_at DESC);
CREATE INDEX notes_by_title ON notes (deleted, pinned DESC, title = '', title COLLATE NOCASE, id);
"#,
    r#"
-- Notebooks (FORMAT.md §4.4) are documents of the same log and have rows here too, `kind` 1
-- (notes are 0), their name in `title`. `notebook` is a note's notebook or a notebook's parent
-- as its document names it (NULL: the default notebook, or the top level); whether that
-- notebook is live is decided when reading. Rows made before version 4 are all notes in the
-- default notebook, so the defaults are exact.
ALTER TABLE notes ADD COLUMN kind INTEGER NOT NULL DEFAULT 0;
ALTER TABLE notes ADD COLUMN notebook TEXT;
CREATE INDEX notes_by_notebook ON notes (notebook, deleted, pinned DESC, updated_at DESC);
CREATE INDEX notebook_rows ON notes (id) WHERE kind = 1;
"#,
    r#"
-- The full-text index again, with an index of two-letter prefixes: a word being typed ("de")
-- is then one list to read instead of the merge of every word starting so (27 ms for "de" in
-- 100,000 notes, 0.2 ms with it; BENCHMARKS.md); and every word of the index, so that a longer
-- prefix is searched as the few words it stands for (store/search.rs). Every live note is
-- indexed anew, in the background as after a join; until then by its title and first line, as
-- a note listed from a summary is. Each note keeps its row number (`docid`): past 2,000 matches
-- a search shows the newest, by that number.
CREATE TABLE search_words (word TEXT PRIMARY KEY) WITHOUT ROWID;
DROP TABLE search;
CREATE VIRTUAL TABLE search USING fts5(title, body, tokenize = 'unicode61 remove_diacritics 2', prefix = '2');
INSERT INTO search (search, rank) VALUES ('rank', 'bm25(10.0, 1.0)');
DELETE FROM search_stale;
DELETE FROM search_notes WHERE note_id NOT IN (SELECT id FROM notes WHERE kind = 0 AND deleted = 0);
UPDATE search_notes SET whole = 0;
INSERT INTO search_notes (note_id, whole)
  SELECT id, 0 FROM notes WHERE kind = 0 AND deleted = 0 AND id NOT IN (SELECT note_id FROM search_notes)
  ORDER BY created_at, id;
INSERT INTO search (rowid, title, body)
  SELECT s.docid, n.title, n.first_line FROM search_notes s JOIN notes n ON n.id = s.note_id;
CREATE VIRTUAL TABLE temp.search_vocab USING fts5vocab(main, search, row);
INSERT OR IGNORE INTO search_words (word) SELECT term FROM temp.search_vocab;
DROP TABLE temp.search_vocab;
INSERT OR IGNORE INTO search_pending (note_id) SELECT id FROM notes WHERE kind = 0 AND deleted = 0;
"#,
    r#"
-- The notes each entry carries, looked up by entry (what changed recently: the timeline).
CREATE INDEX note_entries_by_entry ON note_entries (client_id, idx);
"#,
    r#"
-- Where each imported note was read from (FORMAT.md §4.3 `source`; derived from the documents):
-- an import skips a file it brought in before. NULL for notes not imported, and for notes
-- listed from a summary until the search index reads their documents.
ALTER TABLE notes ADD COLUMN source TEXT;
CREATE INDEX notes_by_source ON notes (source) WHERE source IS NOT NULL;
"#,
    r#"
-- Notes where edits from another device, made without knowing of this device's, touched the
-- same words (docs/merges.rs): marked until the user has seen the note. Local, not synced.
CREATE TABLE merged (note_id TEXT PRIMARY KEY, devices TEXT NOT NULL) WITHOUT ROWID;
"#,
    r#"
-- Each indexed note's words two by two, in order, title and body (derived; store/search.rs):
-- a quoted phrase is looked up as the phrase of its pairs ("follow up with" as "follow_up
-- up_with"), whose lists are short even when every word is in most notes (BENCHMARKS.md).
-- Contentless: the text is in `search`. Every live note is indexed anew, in the background.
CREATE VIRTUAL TABLE search_pairs USING fts5(title, body, content = '', contentless_delete = 1, tokenize = "unicode61 remove_diacritics 0 tokenchars '_'");
INSERT OR IGNORE INTO search_pending (note_id) SELECT id FROM notes WHERE kind = 0 AND deleted = 0;
"#,
    r#"
-- The public key that signed each entry (envelope version 6 on; NULL before): the next entry of
-- its client must be signed by the same key (FORMAT.md §5.1). Read from the entry itself.
ALTER TABLE log ADD COLUMN signer BLOB;
"#,
    r#"
-- Entries other devices' clocks say exist, for devices whose entries this device still lacks
-- (store/claims.rs): entries a folder or server keeps back are noticed. Local, not synced.
CREATE TABLE claimed (client_id TEXT PRIMARY KEY, idx INTEGER NOT NULL, via TEXT NOT NULL, written_at INTEGER NOT NULL, since INTEGER NOT NULL) WITHOUT ROWID;
"#,
    r#"
-- Notes a pull stored without indexing them (docs/search_index.rs): indexed once when the pull
-- of a device's entries ends instead of after every batch, and like every stale note before the
-- next search. Counted apart from the user's own edits waiting for the next search.
ALTER TABLE search_stale ADD COLUMN pulled INTEGER NOT NULL DEFAULT 0;
"#,
    r#"
-- Key epochs (store/epochs.rs, FORMAT.md §5.2): the key of each epoch this device holds, each
-- read from the epoch's own record (with the record's Lamport clock); the keys a record names
-- for earlier epochs, kept as candidates until each epoch's own record confirms one; and the
-- passphrase wraps (keys/ files) copied to every target.
CREATE TABLE epochs (client_id TEXT NOT NULL, idx INTEGER NOT NULL, identity TEXT NOT NULL, lamport INTEGER NOT NULL, PRIMARY KEY (client_id, idx));
CREATE TABLE epoch_candidates (client_id TEXT NOT NULL, idx INTEGER NOT NULL, identity TEXT NOT NULL, PRIMARY KEY (client_id, idx, identity)) WITHOUT ROWID;
CREATE TABLE key_wraps (name TEXT PRIMARY KEY, data BLOB NOT NULL, written_at INTEGER NOT NULL) WITHOUT ROWID;
"#,
    r#"
-- Removing devices (store/removals.rs, FORMAT.md §5.2): the members each held epoch's record
-- wraps its key to; every removal a record held here names (with the record and its Lamport
-- clock; a cutoff of -1 keeps none of its entries); each device's first entry (its epoch and
-- signing key); and, derived from those and the log, the devices removed or held back, each
-- with the entry after which its entries are refused (-1: all).
CREATE TABLE epoch_members (client_id TEXT NOT NULL, idx INTEGER NOT NULL, member TEXT NOT NULL, PRIMARY KEY (client_id, idx, member)) WITHOUT ROWID;
CREATE TABLE removals (by_client TEXT NOT NULL, by_idx INTEGER NOT NULL, removed TEXT NOT NULL, cutoff INTEGER NOT NULL, lamport INTEGER NOT NULL, PRIMARY KEY (by_client, by_idx, removed)) WITHOUT ROWID;
CREATE TABLE first_entries (client_id TEXT PRIMARY KEY, epoch_client TEXT NOT NULL, epoch_idx INTEGER NOT NULL, signer BLOB, written_at INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE removed (client_id TEXT PRIMARY KEY, cutoff INTEGER NOT NULL, by_client TEXT, by_idx INTEGER) WITHOUT ROWID;
"#,
    r#"
-- Packs (store/packs.rs, FORMAT.md §11): the age file key of each entry this device sealed or
-- read from a pack, with the key epoch it is of (24 bytes, as in a header); and, per target,
-- client and level, the next block whose pack this device has not yet written or found there.
CREATE TABLE file_keys (client_id TEXT NOT NULL, idx INTEGER NOT NULL, file_key BLOB NOT NULL, epoch BLOB NOT NULL, PRIMARY KEY (client_id, idx)) WITHOUT ROWID;
CREATE TABLE packs_done (target_id TEXT NOT NULL, client_id TEXT NOT NULL, level INTEGER NOT NULL, next_block INTEGER NOT NULL, PRIMARY KEY (target_id, client_id, level)) WITHOUT ROWID;
"#,
    r#"
-- Fewer files (store/packs.rs, FORMAT.md §11.1): per target, client and level, the next block
-- whose single files this device has not yet looked at removing from that target.
CREATE TABLE packs_thinned (target_id TEXT NOT NULL, client_id TEXT NOT NULL, level INTEGER NOT NULL, next_block INTEGER NOT NULL, PRIMARY KEY (target_id, client_id, level)) WITHOUT ROWID;
"#,
    r#"
-- Packs found on a target but not usable here (store/packs.rs, `Unusable`): not downloaded
-- again before `retry_at` (ms) unless their size changed or this device learnt a key epoch.
CREATE TABLE packs_unusable (target_id TEXT NOT NULL, client_id TEXT NOT NULL, level INTEGER NOT NULL, block INTEGER NOT NULL, size INTEGER NOT NULL, epochs INTEGER NOT NULL, tries INTEGER NOT NULL, retry_at INTEGER NOT NULL, damage TEXT, PRIMARY KEY (target_id, client_id, level, block)) WITHOUT ROWID;
"#,
    r#"
-- Records past a cutoff (store/removals.rs, FORMAT.md §5.2): per removed device, how far its
-- entries past its cutoff were looked through for epoch records written before its removal
-- (the removal's record and place, the next index, the link to check it against, the largest
-- lamport - index before it), and whether the look is over.
CREATE TABLE past_cutoff (client_id TEXT PRIMARY KEY, cutoff INTEGER NOT NULL, by_client TEXT NOT NULL, by_idx INTEGER NOT NULL, bound INTEGER NOT NULL, next_idx INTEGER NOT NULL, prev_hash BLOB NOT NULL, prev_signer BLOB, lead INTEGER, done INTEGER NOT NULL) WITHOUT ROWID;
"#,
];

/// Opens (creating if needed) the database with WAL and `synchronous=FULL`, and migrates it.
pub(crate) fn open(path: &Path) -> Result<Connection> {
    let mut conn = Connection::open(path)?;
    configure(&mut conn)?;
    Ok(conn)
}

/// While another connection writes (the background search indexer, a sync in another
/// process), a write waits for it in short steps, for about ten seconds in all. SQLite's
/// own timeout sleeps longer and longer (1, 2, 5, 10 … 100 ms), so a keystroke's save that met
/// a 5 ms write waited 20–50 ms, often across the next write too.
/// (Counted in tries, the handler having no clock: a second of 1 ms steps, then 10 ms ones;
/// where a sleep lasts longer than asked, the wait is longer in proportion.)
fn wait_for_writer(tries: i32) -> bool {
    let step = match tries {
        0..1000 => 1,
        1000..1900 => 10,
        _ => return false,
    };
    std::thread::sleep(std::time::Duration::from_millis(step));
    true
}

/// An in-memory database for tests.
pub(crate) fn open_in_memory() -> Result<Connection> {
    let mut conn = Connection::open_in_memory()?;
    configure(&mut conn)?;
    Ok(conn)
}

/// Prepared statements kept per connection (the distinct queries of the store's modules).
const STATEMENT_CACHE: usize = 256;

fn configure(conn: &mut Connection) -> Result<()> {
    conn.busy_handler(Some(wait_for_writer))?;
    // Every query goes through `prepare_cached`; applying a pulled batch alone runs more than
    // rusqlite's default 16 of them in turn, so each was parsed again every time (13 % of a
    // long pull; BENCHMARKS.md, "Pulling many small entries").
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    // Pages freed when unsealed changes are sealed are given back to the file system
    // (only takes effect on a new, empty database).
    conn.pragma_update(None, "auto_vacuum", "INCREMENTAL")?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // NORMAL may lose acknowledged edits on power loss; FULL fsyncs the WAL at every commit.
    conn.pragma_update(None, "synchronous", "FULL")?;
    // A checkpoint copies the WAL into the database and fsyncs it: at SQLite's default (every
    // 1,000 pages) one keystroke in ~200 paid for it. Sync cycles checkpoint instead
    // ([`checkpoint`]); this is only the backstop for a device that never syncs.
    conn.pragma_update(None, "wal_autocheckpoint", 8000)?;
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version > MIGRATIONS.len() as i64 {
        return Err(StoreError::Newer);
    }
    for (i, m) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        let tx = conn.unchecked_transaction()?;
        tx.execute_batch(m)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
    }
    search::prepare(conn)
}

/// Pages SQLite keeps per connection while a sync cycle stores many pulled entries (KiB,
/// negative as `PRAGMA cache_size` takes it): with SQLite's default of 2 MiB a join of 100,000
/// entries read most pages back from the file system and spilled dirty ones into the WAL in
/// the middle of each transaction; with 16 MiB its system time halved (2.0 -> 1.0 s), and 32
/// MiB measured no faster (BENCHMARKS.md, "Fewer statements per pulled entry").
const LARGE_CACHE_KIB: i64 = -16384;
/// SQLite's default, kept otherwise: an idle `sync --watch` or the app holds no more.
const SMALL_CACHE_KIB: i64 = -2000;

/// Sets how many pages the connection keeps: many while a cycle stores many pulled entries,
/// SQLite's default otherwise (the pages beyond it are given back).
pub(crate) fn large_page_cache(conn: &Connection, large: bool) -> Result<()> {
    let kib = if large { LARGE_CACHE_KIB } else { SMALL_CACHE_KIB };
    conn.pragma_update(None, "cache_size", kib)?;
    Ok(())
}

/// Copies what it can of the WAL into the database without waiting for readers (end of each
/// sync cycle, off the keystroke path).
pub(crate) fn checkpoint(conn: &Connection) -> Result<()> {
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))?;
    Ok(())
}

/// Returns free pages to the file system (after large deletes).
pub(crate) fn reclaim(conn: &Connection) -> Result<()> {
    let mut st = conn.prepare("PRAGMA incremental_vacuum")?;
    let mut rows = st.query([])?;
    while rows.next()?.is_some() {}
    Ok(())
}

/// Starts a write transaction that takes the write lock at once (`BEGIN IMMEDIATE`), so two
/// processes on one data dir never both read and then fail to write. Every multi-statement
/// change of the engine runs in one.
pub(crate) fn write_tx(conn: &Connection) -> Result<rusqlite::Transaction<'_>> {
    Ok(rusqlite::Transaction::new_unchecked(conn, rusqlite::TransactionBehavior::Immediate)?)
}

/// SQLite's own consistency check of the database file: `None` when it is sound, else what it
/// found.
pub(crate) fn integrity_problem(conn: &Connection) -> Result<Option<String>> {
    let r: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
    Ok((r != "ok").then_some(r))
}

/// Sets `PRAGMA synchronous`: FULL (every commit fsynced; always, but for bulk loads that
/// tests and benchmarks make and can lose) or OFF.
pub(crate) fn set_synchronous(conn: &Connection, full: bool) -> Result<()> {
    conn.pragma_update(None, "synchronous", if full { "FULL" } else { "OFF" })?;
    Ok(())
}

/// Copies the whole WAL into the database and empties it (before measuring file sizes).
pub(crate) fn checkpoint_truncate(conn: &Connection) -> Result<()> {
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    Ok(())
}

/// Sums over the database, for a storage breakdown: (file bytes, free bytes, log entry bytes,
/// stored document bytes, stored documents, note text bytes, note index rows, bytes of the
/// full-text index's tables).
pub(crate) fn sizes(conn: &Connection) -> Result<[i64; 8]> {
    let one = |sql: &str| -> Result<i64> {
        Ok(conn.query_row(sql, [], |r| r.get::<_, Option<i64>>(0))?.unwrap_or(0))
    };
    Ok([
        one("SELECT page_count * page_size FROM pragma_page_count, pragma_page_size")?,
        one("SELECT freelist_count * page_size FROM pragma_freelist_count, pragma_page_size")?,
        one("SELECT SUM(length(data)) FROM log")?,
        one("SELECT SUM(length(doc) + COALESCE(length(doc_tail), 0)) FROM docs")?,
        one("SELECT COUNT(*) FROM docs")?,
        one("SELECT SUM(length(title) + length(first_line)) FROM notes")?,
        one("SELECT COUNT(*) FROM note_entries")?,
        one("SELECT SUM(pgsize) FROM dbstat WHERE name LIKE 'search%'")?,
    ])
}

/// Reads a `meta` value.
pub(crate) fn meta(conn: &Connection, key: &str) -> Result<Option<String>> {
    Ok(conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0)).optional()?)
}

/// Removes a `meta` value.
pub(crate) fn delete_meta(conn: &Connection, key: &str) -> Result<()> {
    conn.execute("DELETE FROM meta WHERE key = ?1", [key])?;
    Ok(())
}

/// Writes a `meta` value.
pub(crate) fn set_meta(conn: &Connection, key: &str, value: &str) -> Result<()> {
    conn.execute("INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value", params![key, value])?;
    Ok(())
}

/// Drops every table derived from the log (notes, documents, what targets are known to hold,
/// entry problems, the note index), before a rebuild replays the log.
pub(crate) fn clear_derived(conn: &Connection) -> Result<()> {
    conn.execute_batch(
        "DELETE FROM notes; DELETE FROM docs; DELETE FROM queued_changes; DELETE FROM remote_present;
         DELETE FROM entry_errors; DELETE FROM note_entries; DELETE FROM unsettled;
         DELETE FROM left_out; DELETE FROM texts; DELETE FROM search; DELETE FROM search_notes;
         DELETE FROM search_stale; DELETE FROM search_pending; DELETE FROM note_tags;
         DELETE FROM search_words; INSERT INTO search_pairs (search_pairs) VALUES ('delete-all');",
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::log::HEADS;
    use super::*;
    use uuid::Uuid;

    /// A database migrated up to (not including) the first migration containing `marker`, as
    /// a data dir of that time would be.
    fn migrated_before(marker: &str) -> Connection {
        let c = Connection::open_in_memory().unwrap();
        let before = MIGRATIONS.iter().position(|m| m.contains(marker)).unwrap();
        for m in &MIGRATIONS[..before] {
            c.execute_batch(m).unwrap();
        }
        c.pragma_update(None, "user_version", before as i64).unwrap();
        c
    }

    /// A data dir made before pins, tags and the trash: its notes stay, unpinned, untagged,
    /// listed in the same order, and can be tagged and filtered at once.
    #[test]
    fn notes_from_before_tags_keep_their_rows_and_can_be_tagged() {
        let mut c = migrated_before("CREATE TABLE note_tags");
        c.execute_batch(
            "INSERT INTO notes (id, title, first_line, created_at, updated_at, deleted, rev) VALUES
             ('a', 'older', 'x', 1, 2, 0, 1), ('b', 'newer', 'y', 1, 3, 0, 1), ('c', 'gone', 'z', 1, 4, 1, 1)",
        )
        .unwrap();
        configure(&mut c).unwrap();
        let ids = |f: notes::Filter| -> Vec<String> {
            notes::live(&c, f).unwrap().into_iter().map(|r| r.id).collect()
        };
        assert_eq!(ids(Default::default()), ["b", "a"]);
        let rows = notes::live(&c, Default::default()).unwrap();
        assert!(rows.iter().all(|r| !r.pinned && r.tags.is_empty()));
        assert_eq!(notes::trashed(&c, 0).unwrap().len(), 1);
        c.execute("INSERT INTO note_tags (tag, note_id) VALUES ('work', 'a')", []).unwrap();
        let work = ["work".to_string()];
        assert_eq!(ids(notes::Filter { tags: &work, ..Default::default() }), ["a"]);
    }

    /// The index made anew with its prefix index: each note keeps its row number (the order
    /// of "newest" past 2,000 matches), is found by its title and first line at once, by a
    /// prefix too, and is to be indexed whole in the background; deleted notes and notebooks
    /// are not indexed.
    #[test]
    fn the_index_made_anew_keeps_its_order_and_finds_titles_until_reindexed() {
        let mut c = migrated_before("prefix = '2'");
        let ids: Vec<String> = (1..=4u128).map(|i| Uuid::from_u128(i).to_string()).collect();
        c.execute_batch(&format!(
            "INSERT INTO notes (id, title, first_line, created_at, updated_at, deleted, rev, kind) VALUES
             ('{0}', 'Older meeting', 'agenda', 1, 2, 0, 1, 0), ('{1}', 'Newer meeting', 'minutes', 2, 3, 0, 1, 0),
             ('{2}', 'Gone meeting', 'x', 3, 4, 1, 1, 0), ('{3}', 'Meetings', '', 4, 5, 0, 1, 1);
             INSERT INTO search_notes (docid, note_id, whole) VALUES (7, '{1}', 1), (9, '{0}', 1), (11, '{2}', 1);",
            ids[0], ids[1], ids[2], ids[3]
        ))
        .unwrap();
        configure(&mut c).unwrap();
        let docid = |id: &str| -> Option<i64> {
            c.query_row("SELECT docid FROM search_notes WHERE note_id = ?1", [id], |r| r.get(0))
                .optional()
                .unwrap()
        };
        assert_eq!((docid(&ids[0]), docid(&ids[1])), (Some(9), Some(7)), "row numbers kept");
        assert_eq!((docid(&ids[2]), docid(&ids[3])), (None, None), "deleted note, notebook");
        let fts = search::expanded_query(&c, "meet").unwrap().unwrap();
        assert_eq!(fts.fts, r#"("meeting")"#, "the words of the titles are known");
        let found: Vec<String> =
            search::query(&c, &fts, &[], None, 10).unwrap().into_iter().map(|h| h.row.id).collect();
        assert_eq!(found.len(), 2);
        let fts = search::expanded_query(&c, "agenda").unwrap().unwrap();
        assert_eq!(search::query(&c, &fts, &[], None, 10).unwrap()[0].row.id, ids[0]);
        let pending = search::pending(&c, 10).unwrap();
        assert_eq!(pending.len(), 2, "both live notes are to be indexed whole");
    }

    #[test]
    fn documents_move_to_their_own_table_and_old_logs_are_not_marked_indexed() {
        // The migration that moved documents out of `notes` (the last ones came after it).
        let mut c = migrated_before("CREATE TABLE docs");
        c.execute(
            "INSERT INTO notes (id, title, first_line, created_at, updated_at, deleted, doc, doc_tail, rev) VALUES ('n', 't', 'l', 1, 2, 0, x'0102', x'03', 4)",
            [],
        )
        .unwrap();
        c.execute("INSERT INTO log (client_id, idx, timestamp, lamport, prev_hash, hash, data, received_at) VALUES ('c', 0, 0, 1, x'', x'', x'', 0)", []).unwrap();
        configure(&mut c).unwrap();
        let (doc, tail): (Vec<u8>, Vec<u8>) = c
            .query_row("SELECT doc, doc_tail FROM docs WHERE note_id = 'n'", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!((doc, tail), (vec![1, 2], vec![3]));
        let rev: i64 =
            c.query_row("SELECT rev FROM notes WHERE id = 'n'", [], |r| r.get(0)).unwrap();
        assert_eq!(rev, 4);
        assert_eq!(
            meta(&c, "note_index").unwrap(),
            None,
            "a log from before note_entries is not known to be indexed"
        );
        assert_eq!(
            meta(&open_in_memory().unwrap(), "note_index").unwrap().as_deref(),
            Some("complete")
        );
    }

    #[test]
    fn log_is_unique_per_client_and_index() {
        let c = open_in_memory().unwrap();
        let client = Uuid::new_v4();
        let row = LogRow {
            client,
            index: 0,
            timestamp: 1,
            lamport: 1,
            hash: [1; 32],
            prev_hash: [0; 32],
            signer: Some([9; 32]),
        };
        insert_entry(&c, &row, b"x", 1).unwrap();
        assert_eq!(
            link_before(&c, &client, 1).unwrap(),
            log::Link { hash: [1; 32], signer: Some([9; 32]) }
        );
        assert_eq!(link_before(&c, &client, 0).unwrap(), log::Link::default());
        assert!(insert_entry(&c, &row, b"y", 1).is_err());
        assert_eq!(head(&c, &client).unwrap(), Some((0, [1; 32])));
        assert_eq!(entry_data(&c, &client, 0).unwrap().unwrap(), b"x");
        assert_eq!(max_lamport(&c).unwrap(), 1);
    }

    #[test]
    fn heads_are_each_clients_newest_index_without_scanning_the_log() {
        let c = open_in_memory().unwrap();
        assert!(heads(&c).unwrap().is_empty());
        let clients: Vec<Uuid> = (0..5).map(|_| Uuid::new_v4()).collect();
        for (k, client) in clients.iter().enumerate() {
            for i in 0..=(k as u64 * 3) {
                let row = LogRow {
                    client: *client,
                    index: i,
                    timestamp: 1,
                    lamport: 1,
                    hash: [1; 32],
                    prev_hash: [0; 32],
                    signer: None,
                };
                insert_entry(&c, &row, b"x", 1).unwrap();
            }
        }
        let mut got = heads(&c).unwrap();
        got.sort();
        let mut want: Vec<(Uuid, u64)> =
            clients.iter().enumerate().map(|(k, c)| (*c, k as u64 * 3)).collect();
        want.sort();
        assert_eq!(got, want);
        // Every step of the plan is an index search, none a scan of the log.
        let mut st = c.prepare(&format!("EXPLAIN QUERY PLAN {HEADS}")).unwrap();
        let plan: Vec<String> =
            st.query_map([], |r| r.get(3)).unwrap().map(|r| r.unwrap()).collect();
        assert!(plan.iter().all(|p| !p.starts_with("SCAN log")), "{plan:?}");
    }

    /// Migrations only ever go at the end: a data dir records how many ran, so one put before
    /// a released one would be skipped there and the released one run twice (and fail). The
    /// released ones are pinned by their digest; when a new one is released, move the count
    /// and the digest with it.
    #[test]
    fn released_migrations_never_change_or_move() {
        use sha2::Digest;
        const RELEASED: usize = 16;
        const DIGEST: &str = "310649a574d6f968aac542b0f096e0347afde5a3601eaaf64bc071833c9905f0";
        let mut h = sha2::Sha256::new();
        for m in &MIGRATIONS[..RELEASED] {
            h.update(m.as_bytes());
            h.update([0]);
        }
        let digest = crate::format::asset::hex(&h.finalize());
        assert_eq!(
            digest, DIGEST,
            "a released migration changed or moved: add new ones at the end"
        );
    }

    /// A data dir of the last release opens and gains what came since.
    #[test]
    fn a_database_of_the_last_release_opens() {
        let mut c = migrated_before("ADD COLUMN signer");
        assert_eq!(
            MIGRATIONS.iter().position(|m| m.contains("ADD COLUMN signer")),
            Some(16),
            "the last release had 16 migrations"
        );
        let client = Uuid::new_v4();
        let old = LogRow {
            client,
            index: 0,
            timestamp: 1,
            lamport: 1,
            hash: [1; 32],
            prev_hash: [0; 32],
            signer: None,
        };
        c.execute(
            "INSERT INTO log (client_id, idx, timestamp, lamport, prev_hash, hash, data, received_at) VALUES (?1, 0, 1, 1, ?2, ?3, x'00', 1)",
            params![client.to_string(), &old.prev_hash[..], &old.hash[..]],
        )
        .unwrap();
        configure(&mut c).unwrap();
        // Its entries are unsigned; the next one may be signed.
        assert_eq!(link_before(&c, &client, 1).unwrap(), log::Link { hash: [1; 32], signer: None });
        insert_entry(&c, &LogRow { index: 1, signer: Some([5; 32]), ..old }, b"y", 2).unwrap();
        assert_eq!(link_before(&c, &client, 2).unwrap().signer, Some([5; 32]));
    }

    /// A data dir a newer version migrated further is refused with a sentence saying what to do,
    /// not kept up in part (a newer table would fall behind).
    #[test]
    fn a_database_of_a_newer_version_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("db");
        let c = open(&p).unwrap();
        c.pragma_update(None, "user_version", MIGRATIONS.len() as i64 + 1).unwrap();
        drop(c);
        let e = open(&p).unwrap_err();
        assert!(matches!(e, StoreError::Newer), "{e}");
        assert!(e.to_string().contains("newer version of Resilient Notes"));
    }

    #[test]
    fn migrations_are_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("db");
        drop(open(&p).unwrap());
        let c = open(&p).unwrap();
        let v: i64 = c.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        assert_eq!(v as usize, MIGRATIONS.len());
        let sync: i64 = c.query_row("PRAGMA synchronous", [], |r| r.get(0)).unwrap();
        assert_eq!(sync, 2, "synchronous=FULL");
        let vacuum: i64 = c.query_row("PRAGMA auto_vacuum", [], |r| r.get(0)).unwrap();
        assert_eq!(vacuum, 2, "incremental auto-vacuum");
        let plan: String = c
            .query_row("EXPLAIN QUERY PLAN SELECT COALESCE(MAX(lamport), 0) FROM log", [], |r| {
                r.get(3)
            })
            .unwrap();
        assert!(plan.contains("log_by_lamport"), "{plan}");
    }
}
