//! Notes as this device holds them: list rows (`notes`), stored documents (`docs`), changes
//! waiting for missing dependencies (`queued_changes`), which entries carry changes of which
//! note (`note_entries`), the notes listed from summaries still to settle (`unsettled`) and
//! the texts of big notes (`texts`). All derived from the log.

use rusqlite::types::{FromSql, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use rusqlite::{params, Connection, OptionalExtension};
use uuid::Uuid;

use super::Result;
pub(crate) use crate::format::entry::DocKind;

/// The `kind` column: 0 a note, 1 a notebook, 2 a device's name (FORMAT.md §4.3–4.6).
impl ToSql for DocKind {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(match self {
            DocKind::Note => 0i64,
            DocKind::Notebook => 1,
            DocKind::Device => 2,
        }))
    }
}

impl FromSql for DocKind {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        Ok(match i64::column_result(value)? {
            1 => DocKind::Notebook,
            2 => DocKind::Device,
            _ => DocKind::Note,
        })
    }
}

/// The derived fields of a note's list row.
pub(crate) struct Row<'a> {
    pub(crate) title: &'a str,
    pub(crate) first_line: &'a str,
    /// Character offset just past the body's first non-empty line (0 = unknown).
    pub(crate) first_line_end: i64,
    pub(crate) created_at: i64,
    pub(crate) updated_at: i64,
    pub(crate) deleted: bool,
    pub(crate) pinned: bool,
    pub(crate) purged: bool,
    /// Sorted, unique.
    pub(crate) tags: &'a [String],
    pub(crate) rev: i64,
    pub(crate) kind: DocKind,
    /// A note's notebook or a notebook's parent, as its document names it.
    pub(crate) notebook: Option<Uuid>,
}

/// What is stored of a note: its row's revision and first line, and its document if built.
pub(crate) struct Stored {
    pub(crate) rev: i64,
    /// Bytes in the document's tail of changes appended since its last full save.
    pub(crate) tail_len: usize,
    pub(crate) first_line: String,
    pub(crate) first_line_end: i64,
    /// Whether a document is stored (false: listed from a summary).
    pub(crate) built: bool,
    /// `(client, index)` of the entry whose summary gave the row, for a listed note.
    pub(crate) hint: Option<(Uuid, u64)>,
}

/// The query of [`stored`]. Subqueries, not a join: SQLite prepares a join of two tables
/// constrained by a parameter again for every new value bound (its plan depends on the value),
/// and this runs for every note of every pulled entry and every keystroke (re-preparing was a
/// tenth of a long pull; BENCHMARKS.md, "Pulling many small entries").
const STORED: &str =
    "SELECT rev, (SELECT length(doc_tail) FROM docs WHERE note_id = ?1), first_line,
       first_line_end, EXISTS (SELECT 1 FROM docs WHERE note_id = ?1), hint_client, hint_idx
     FROM notes WHERE id = ?1";

/// The query of [`append`]'s read of the tail and the tags (subqueries: see [`STORED`]).
const TAIL_AND_TAGS: &str =
    "SELECT (SELECT doc_tail FROM docs WHERE note_id = ?1), tags FROM notes WHERE id = ?1";

/// A note's stored state, `None` when it has no row.
pub(crate) fn stored(conn: &Connection, id: &Uuid) -> Result<Option<Stored>> {
    Ok(conn
        .prepare_cached(STORED)?
        .query_row([id.to_string()], |r| {
            let hint_client: Option<String> = r.get(5)?;
            let hint_idx: Option<i64> = r.get(6)?;
            Ok(Stored {
                rev: r.get(0)?,
                tail_len: r.get::<_, Option<i64>>(1)?.unwrap_or(0) as usize,
                first_line: r.get(2)?,
                first_line_end: r.get(3)?,
                built: r.get(4)?,
                hint: hint_client
                    .and_then(|c| Uuid::parse_str(&c).ok())
                    .zip(hint_idx.map(|i| i as u64)),
            })
        })
        .optional()?)
}

/// A note row's title and first line, when it is a live note (not deleted, not a notebook or a
/// device): what a note listed from a summary is found by until its body is indexed.
pub(crate) fn listed_text(conn: &Connection, id: &Uuid) -> Result<Option<(String, String)>> {
    Ok(conn
        .prepare_cached(
            "SELECT title, first_line FROM notes WHERE id = ?1 AND deleted = 0 AND kind = ?2",
        )?
        .query_row(params![id.to_string(), DocKind::Note], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?)
}

/// A built note's document: its full save and the tail of changes appended since.
pub(crate) fn document(conn: &Connection, id: &Uuid) -> Result<(Vec<u8>, Option<Vec<u8>>)> {
    Ok(conn
        .prepare_cached("SELECT doc, doc_tail FROM docs WHERE note_id = ?1")?
        .query_row([id.to_string()], |r| Ok((r.get(0)?, r.get(1)?)))?)
}

impl Row<'_> {
    /// The statement parameters `?1`–`?13` of a note's row, in the order both writes use
    /// (`tags` is the tags joined by line feeds, `notebook` the notebook's id as text).
    fn params<'a>(
        &'a self,
        id: &'a dyn rusqlite::ToSql,
        tags: &'a dyn rusqlite::ToSql,
        notebook: &'a dyn rusqlite::ToSql,
    ) -> [&'a dyn rusqlite::ToSql; 13] {
        [
            id,
            &self.title,
            &self.first_line,
            &self.created_at,
            &self.updated_at,
            &self.deleted,
            &self.first_line_end,
            &self.rev,
            &self.pinned,
            &self.purged,
            tags,
            &self.kind,
            notebook,
        ]
    }
}

/// A notebook id as the `notebook` column holds it.
fn book_text(id: Option<Uuid>) -> Option<String> {
    id.map(|i| i.to_string())
}

/// Replaces the note's tags in `note_tags` (the filter's table) with `tags`.
fn set_tags(conn: &Connection, id: &str, tags: &[String]) -> Result<()> {
    conn.prepare_cached("DELETE FROM note_tags WHERE note_id = ?1")?.execute([id])?;
    let mut st =
        conn.prepare_cached("INSERT OR IGNORE INTO note_tags (tag, note_id) VALUES (?1, ?2)")?;
    for t in tags {
        st.execute(params![t, id])?;
    }
    Ok(())
}

/// Writes a note's row and its document as one full save (creating both if needed).
pub(crate) fn save_full(conn: &Connection, id: &Uuid, row: &Row, saved: &[u8]) -> Result<()> {
    let (id_text, tags, book) = (id.to_string(), row.tags.join("\n"), book_text(row.notebook));
    conn.prepare_cached(
        "INSERT INTO notes (id, title, first_line, first_line_end, created_at, updated_at, deleted, rev, pinned, purged, tags, kind, notebook)
         VALUES (?1, ?2, ?3, ?7, ?4, ?5, ?6, ?8, ?9, ?10, ?11, ?12, ?13)
         ON CONFLICT(id) DO UPDATE SET title = excluded.title, first_line = excluded.first_line, first_line_end = excluded.first_line_end,
         created_at = excluded.created_at, updated_at = excluded.updated_at, deleted = excluded.deleted, rev = excluded.rev,
         pinned = excluded.pinned, purged = excluded.purged, tags = excluded.tags, kind = excluded.kind, notebook = excluded.notebook,
         hint_client = NULL, hint_idx = NULL",
    )?
    .execute(&row.params(&id_text, &tags, &book)[..])?;
    set_tags(conn, &id_text, row.tags)?;
    conn.prepare_cached(
        "INSERT INTO docs (note_id, doc, doc_tail) VALUES (?1, ?2, NULL) ON CONFLICT(note_id) DO UPDATE SET doc = excluded.doc, doc_tail = NULL",
    )?
    .execute(params![id.to_string(), saved])?;
    Ok(())
}

/// Records where an imported note was read from (its document's `source`).
pub(crate) fn set_source(conn: &Connection, id: &Uuid, source: &str) -> Result<()> {
    conn.prepare_cached("UPDATE notes SET source = ?2 WHERE id = ?1")?
        .execute(params![id.to_string(), source])?;
    Ok(())
}

/// The live note imported from `source`, if there is one.
pub(crate) fn live_note_with_source(conn: &Connection, source: &str) -> Result<Option<Uuid>> {
    let id: Option<String> = conn
        .prepare_cached(
            "SELECT id FROM notes WHERE source = ?1 AND deleted = 0 AND kind = 0 LIMIT 1",
        )?
        .query_row([source], |r| r.get(0))
        .optional()?;
    Ok(id.and_then(|i| Uuid::parse_str(&i).ok()))
}

/// Updates a built note's row and appends `appended` (raw change chunks) to its document's tail.
pub(crate) fn append(conn: &Connection, id: &Uuid, row: &Row, appended: &[u8]) -> Result<()> {
    // (SQLite's || turns blobs into text, so the tail is extended here.)
    let (id_text, tags, book) = (id.to_string(), row.tags.join("\n"), book_text(row.notebook));
    // The tail and the row's tags before this edit, in one read (this runs on every keystroke).
    let (tail, old_tags): (Option<Vec<u8>>, String) = conn
        .prepare_cached(TAIL_AND_TAGS)?
        .query_row([&id_text], |r| Ok((r.get(0)?, r.get(1)?)))?;
    let mut tail = tail.unwrap_or_default();
    tail.extend_from_slice(appended);
    conn.prepare_cached(
        "UPDATE notes SET title = ?2, first_line = ?3, first_line_end = ?7, created_at = ?4, updated_at = ?5, deleted = ?6, rev = ?8,
         pinned = ?9, purged = ?10, tags = ?11, kind = ?12, notebook = ?13 WHERE id = ?1",
    )?
    .execute(&row.params(&id_text, &tags, &book)[..])?;
    if old_tags != tags {
        set_tags(conn, &id_text, row.tags)?;
    }
    let stored = conn
        .prepare_cached("UPDATE docs SET doc_tail = ?2 WHERE note_id = ?1")?
        .execute(params![id_text, tail])?;
    if stored != 1 {
        // Only a note whose document is stored is appended to (materialize::store); without
        // its row the change would be lost, so the whole transaction is undone instead.
        return Err(rusqlite::Error::QueryReturnedNoRows.into());
    }
    Ok(())
}

/// A summary's row for a note whose document is not built (FORMAT.md §4.2), naming the entry
/// that gave it.
pub(crate) struct Listed<'a> {
    pub(crate) title: &'a str,
    pub(crate) first_line: &'a str,
    pub(crate) created_at: i64,
    pub(crate) updated_at: i64,
    pub(crate) deleted: bool,
    pub(crate) pinned: bool,
    pub(crate) purged: bool,
    pub(crate) tags: &'a [String],
    pub(crate) kind: DocKind,
    pub(crate) notebook: Option<Uuid>,
    pub(crate) hint: (Uuid, u64),
}

/// Writes a listed note's row (creating it), leaving its document unbuilt.
pub(crate) fn list(conn: &Connection, id: &Uuid, l: &Listed) -> Result<()> {
    let id_text = id.to_string();
    conn.prepare_cached(
        "INSERT INTO notes (id, title, first_line, first_line_end, created_at, updated_at, deleted, rev, hint_client, hint_idx, pinned, purged, tags, kind, notebook)
         VALUES (?1, ?2, ?3, 0, ?4, ?5, ?6, 1, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
         ON CONFLICT(id) DO UPDATE SET title = excluded.title, first_line = excluded.first_line, first_line_end = 0,
         created_at = excluded.created_at, updated_at = excluded.updated_at, deleted = excluded.deleted, rev = notes.rev + 1,
         hint_client = excluded.hint_client, hint_idx = excluded.hint_idx,
         pinned = excluded.pinned, purged = excluded.purged, tags = excluded.tags, kind = excluded.kind, notebook = excluded.notebook",
    )?
    .execute(params![
        id_text,
        l.title,
        l.first_line,
        l.created_at,
        l.updated_at,
        l.deleted,
        l.hint.0.to_string(),
        l.hint.1 as i64,
        l.pinned,
        l.purged,
        l.tags.join("\n"),
        l.kind,
        book_text(l.notebook),
    ])?;
    set_tags(conn, &id_text, l.tags)
}

/// Removes a note's row (a listed note whose changes cannot apply yet), and its text: a row
/// made again starts its `rev` anew.
pub(crate) fn delete_row(conn: &Connection, id: &Uuid) -> Result<()> {
    conn.prepare_cached("DELETE FROM notes WHERE id = ?1")?.execute([id.to_string()])?;
    conn.prepare_cached("DELETE FROM texts WHERE note_id = ?1")?.execute([id.to_string()])?;
    conn.prepare_cached("DELETE FROM note_tags WHERE note_id = ?1")?.execute([id.to_string()])?;
    conn.prepare_cached("DELETE FROM merged WHERE note_id = ?1")?.execute([id.to_string()])?;
    super::search::remove(conn, id)
}

/// A live note's text kept for its row's current `rev` (see the table `texts`).
pub(crate) struct Text {
    /// The document version (change hashes, hex, comma-separated).
    pub(crate) heads: String,
    pub(crate) title: String,
    pub(crate) body: String,
    pub(crate) created_at: i64,
    pub(crate) updated_at: i64,
    pub(crate) pinned: bool,
    pub(crate) tags: Vec<String>,
}

/// The note's kept text if it is current (its `rev` is the row's) and the note is live.
pub(crate) fn current_text(conn: &Connection, id: &Uuid) -> Result<Option<Text>> {
    Ok(conn
        .prepare_cached(
            "SELECT t.heads, t.title, t.body, n.created_at, n.updated_at, n.pinned, n.tags FROM texts t
             JOIN notes n ON n.id = t.note_id AND n.rev = t.rev AND n.deleted = 0 WHERE t.note_id = ?1",
        )?
        .query_row([id.to_string()], |r| {
            Ok(Text {
                heads: r.get(0)?,
                title: r.get(1)?,
                body: r.get(2)?,
                created_at: r.get(3)?,
                updated_at: r.get(4)?,
                pinned: r.get(5)?,
                tags: split_tags(&r.get::<_, String>(6)?),
            })
        })
        .optional()?)
}

/// The `rev` the note's kept text is for, if any.
pub(crate) fn text_rev(conn: &Connection, id: &Uuid) -> Result<Option<i64>> {
    Ok(conn
        .prepare_cached("SELECT rev FROM texts WHERE note_id = ?1")?
        .query_row([id.to_string()], |r| r.get(0))
        .optional()?)
}

/// Keeps a note's text for row revision `rev`.
pub(crate) fn keep_text(
    conn: &Connection,
    id: &Uuid,
    rev: i64,
    heads: &str,
    title: &str,
    body: &str,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO texts (note_id, rev, heads, title, body) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT(note_id) DO UPDATE SET rev = excluded.rev, heads = excluded.heads, title = excluded.title, body = excluded.body",
    )?
    .execute(params![id.to_string(), rev, heads, title, body])?;
    Ok(())
}

/// The raw changes of a note waiting for missing dependencies.
pub(crate) fn queued(conn: &Connection, id: &Uuid) -> Result<Vec<Vec<u8>>> {
    let mut st = conn.prepare_cached("SELECT change FROM queued_changes WHERE note_id = ?1")?;
    let rows = st.query_map([id.to_string()], |r| r.get::<_, Vec<u8>>(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Whether a note has changes waiting for missing dependencies.
pub(crate) fn has_queued(conn: &Connection, id: &Uuid) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM queued_changes WHERE note_id = ?1)")?
        .query_row([id.to_string()], |r| r.get(0))?)
}

/// Replaces a note's waiting changes with `waiting` (`(hash, raw change)`).
pub(crate) fn set_queued(conn: &Connection, id: &Uuid, waiting: &[(&[u8], &[u8])]) -> Result<()> {
    conn.prepare_cached("DELETE FROM queued_changes WHERE note_id = ?1")?
        .execute([id.to_string()])?;
    let mut st = conn.prepare_cached(
        "INSERT OR IGNORE INTO queued_changes (note_id, hash, change) VALUES (?1, ?2, ?3)",
    )?;
    for (hash, raw) in waiting {
        st.execute(params![id.to_string(), hash, raw])?;
    }
    Ok(())
}

/// A built note's list row as a summary carries it.
pub(crate) struct SummaryRow {
    pub(crate) title: String,
    pub(crate) first_line: String,
    pub(crate) created_at: i64,
    pub(crate) updated_at: i64,
    pub(crate) deleted: bool,
    pub(crate) pinned: bool,
    pub(crate) purged: bool,
    pub(crate) tags: Vec<String>,
    pub(crate) kind: DocKind,
    pub(crate) notebook: Option<Uuid>,
}

/// The name device `id` gave itself (its device document, `kind` 2, FORMAT.md §4.6); `None`
/// when it has none or an empty one. A lookup by id: device documents have no index of their
/// own, and a workspace has a few devices but may have 100,000 notes.
pub(crate) fn device_name(conn: &Connection, id: &Uuid) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT title FROM notes WHERE id = ?1 AND kind = 2 AND title <> ''")?
        .query_row([id.to_string()], |r| r.get(0))
        .optional()?)
}

/// A notebook id read from the `notebook` column.
pub(crate) fn read_id(text: Option<String>) -> Option<Uuid> {
    text.and_then(|t| Uuid::parse_str(&t).ok())
}

/// Tags as the `tags` column holds them (joined by line feeds).
pub(crate) fn split_tags(joined: &str) -> Vec<String> {
    joined.split('\n').filter(|t| !t.is_empty()).map(str::to_string).collect()
}

/// The row of a built note, for an entry's summary; `None` when the note is not built.
pub(crate) fn built_row(conn: &Connection, id: &Uuid) -> Result<Option<SummaryRow>> {
    Ok(conn
        .prepare_cached(
            "SELECT title, first_line, created_at, updated_at, deleted, pinned, purged, tags, kind, notebook FROM notes
             WHERE id = ?1 AND EXISTS (SELECT 1 FROM docs WHERE note_id = ?1)",
        )?
        .query_row([id.to_string()], |r| {
            Ok(SummaryRow {
                title: r.get(0)?,
                first_line: r.get(1)?,
                created_at: r.get(2)?,
                updated_at: r.get(3)?,
                deleted: r.get(4)?,
                pinned: r.get(5)?,
                purged: r.get(6)?,
                tags: split_tags(&r.get::<_, String>(7)?),
                kind: r.get(8)?,
                notebook: read_id(r.get(9)?),
            })
        })
        .optional()?)
}

/// A row of the notes list.
pub(crate) struct ListRow {
    pub(crate) id: String,
    pub(crate) title: String,
    pub(crate) first_line: String,
    pub(crate) created_at: i64,
    pub(crate) updated_at: i64,
    pub(crate) pinned: bool,
    pub(crate) tags: Vec<String>,
    /// The note's notebook if it is live here (`None`: the default notebook).
    pub(crate) notebook: Option<String>,
    /// Edits from another device touched the same words as this device's (table `merged`).
    pub(crate) merged: bool,
}

/// The columns of `notes n` that make a [`ListRow`] (read by [`list_row`]).
pub(crate) const LIST_COLUMNS: &str =
    "n.id, n.title, n.first_line, n.created_at, n.updated_at, n.pinned, n.tags,
     CASE WHEN EXISTS (SELECT 1 FROM notes b WHERE b.id = n.notebook AND b.kind = 1 AND b.deleted = 0)
     THEN n.notebook END,
     EXISTS (SELECT 1 FROM merged m WHERE m.note_id = n.id)";

/// Reads the [`LIST_COLUMNS`] from column `at` on.
pub(crate) fn list_row(r: &rusqlite::Row, at: usize) -> rusqlite::Result<ListRow> {
    Ok(ListRow {
        id: r.get(at)?,
        title: r.get(at + 1)?,
        first_line: r.get(at + 2)?,
        created_at: r.get(at + 3)?,
        updated_at: r.get(at + 4)?,
        pinned: r.get(at + 5)?,
        tags: split_tags(&r.get::<_, String>(at + 6)?),
        notebook: r.get(at + 7)?,
        merged: r.get(at + 8)?,
    })
}

/// The order of a notes list (pinned notes always first).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Order {
    /// Newest edit first.
    #[default]
    Edited,
    /// Newest first by creation time.
    Created,
    /// By title, case ignored; untitled notes last.
    Title,
}

/// Which notebook's notes to list.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) enum Shelf<'a> {
    /// Every notebook's.
    #[default]
    Any,
    /// The default notebook's: notes that name no notebook, or one that is not live here.
    Default,
    /// The notes naming this notebook (its id as text).
    Notebook(&'a str),
}

/// The SQL condition on `notes n` that keeps a note in the default notebook.
pub(crate) const IN_DEFAULT: &str =
    "(n.notebook IS NULL OR NOT EXISTS (SELECT 1 FROM notes b WHERE b.id = n.notebook AND b.kind = 1 AND b.deleted = 0))";

/// Which live notes to list and how.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Filter<'a> {
    /// Only notes in this notebook.
    pub(crate) shelf: Shelf<'a>,
    /// Only notes with every one of these tags.
    pub(crate) tags: &'a [String],
    pub(crate) order: Order,
    /// At most this many (`None`: all).
    pub(crate) limit: Option<usize>,
}

/// Live notes as `filter` says, pinned ones first.
pub(crate) fn live(conn: &Connection, filter: Filter) -> Result<Vec<ListRow>> {
    let limit = filter.limit.map_or(-1, |l| l as i64);
    let mut args: Vec<&dyn rusqlite::ToSql> = vec![&limit];
    let mut sql = format!("SELECT {LIST_COLUMNS} FROM notes n WHERE n.deleted = 0 AND n.kind = 0");
    match &filter.shelf {
        Shelf::Any => {}
        Shelf::Default => {
            sql.push_str(" AND ");
            sql.push_str(IN_DEFAULT);
        }
        Shelf::Notebook(id) => {
            args.push(id);
            sql.push_str(&format!(" AND n.notebook = ?{}", args.len()));
        }
    }
    for t in filter.tags {
        args.push(t);
        sql.push_str(&format!(
            " AND n.id IN (SELECT note_id FROM note_tags WHERE tag = ?{})",
            args.len()
        ));
    }
    sql.push_str(match filter.order {
        Order::Edited => " ORDER BY n.pinned DESC, n.updated_at DESC, n.id",
        Order::Created => " ORDER BY n.pinned DESC, n.created_at DESC, n.id",
        Order::Title => " ORDER BY n.pinned DESC, n.title = '', n.title COLLATE NOCASE, n.id",
    });
    sql.push_str(" LIMIT ?1");
    let mut st = conn.prepare_cached(&sql)?;
    let rows = st.query_map(&args[..], |r| list_row(r, 0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Notes in the trash (deleted, not emptied), most recently deleted first (a deleted note's
/// `updated_at` is when it was deleted), deleted at or after `since` (ms).
pub(crate) fn trashed(conn: &Connection, since: i64) -> Result<Vec<ListRow>> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {LIST_COLUMNS} FROM notes n WHERE n.deleted = 1 AND n.purged = 0 AND n.kind = 0 AND n.updated_at >= ?1
         ORDER BY n.updated_at DESC, n.id"
    ))?;
    let rows = st.query_map([since], |r| list_row(r, 0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The ids of every note in the trash (deleted, not emptied), whatever its age.
pub(crate) fn trashed_ids(conn: &Connection) -> Result<Vec<Uuid>> {
    super::search::ids(
        conn,
        "SELECT id FROM notes WHERE deleted = 1 AND purged = 0 AND kind = 0 ORDER BY id LIMIT ?1",
        None,
    )
}

/// Every note with the tag `tag` (deleted ones too), in id order.
pub(crate) fn tagged(conn: &Connection, tag: &str) -> Result<Vec<Uuid>> {
    let mut st =
        conn.prepare_cached("SELECT note_id FROM note_tags WHERE tag = ?1 ORDER BY note_id")?;
    let rows = st.query_map([tag], |r| r.get::<_, String>(0))?;
    let rows = rows.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows.iter().filter_map(|s| Uuid::parse_str(s).ok()).collect())
}

/// Every tag of a live note with how many live notes have it, by name.
pub(crate) fn tag_counts(conn: &Connection) -> Result<Vec<(String, u64)>> {
    let mut st = conn.prepare_cached(
        "SELECT t.tag, COUNT(*) FROM note_tags t JOIN notes n ON n.id = t.note_id AND n.deleted = 0
         GROUP BY t.tag ORDER BY t.tag",
    )?;
    let rows = st.query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// What a link shows of the note it points to.
pub(crate) struct LinkTarget {
    pub(crate) title: String,
    pub(crate) first_line: String,
    pub(crate) deleted: bool,
    pub(crate) purged: bool,
}

/// The row of a note a link names (`id` as text), if there is one.
pub(crate) fn link_target(conn: &Connection, id: &str) -> Result<Option<LinkTarget>> {
    Ok(conn
        .prepare_cached(
            "SELECT title, first_line, deleted, purged FROM notes WHERE id = ?1 AND kind = 0",
        )?
        .query_row([id], |r| {
            Ok(LinkTarget {
                title: r.get(0)?,
                first_line: r.get(1)?,
                deleted: r.get(2)?,
                purged: r.get(3)?,
            })
        })
        .optional()?)
}

/// Whether a note has a row and is not deleted.
pub(crate) fn is_live(conn: &Connection, id: &Uuid) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM notes WHERE id = ?1 AND deleted = 0 AND kind = 0)",
        )?
        .query_row([id.to_string()], |r| r.get(0))?)
}

/// Number of live notes.
pub(crate) fn live_count(conn: &Connection) -> Result<u64> {
    Ok(conn.query_row("SELECT COUNT(*) FROM notes WHERE deleted = 0 AND kind = 0", [], |r| {
        r.get::<_, i64>(0)
    })? as u64)
}

/// At most `limit` ids of notes (`notebooks`: of notebooks), deleted ones included, starting
/// with the lowercase hex `prefix`.
pub(crate) fn ids_with_prefix(
    conn: &Connection,
    prefix: &str,
    limit: usize,
    notebooks: bool,
) -> Result<Vec<String>> {
    let mut st = conn.prepare_cached(
        "SELECT id FROM notes WHERE id >= ?1 AND id < ?1 || 'g' AND kind = ?3 ORDER BY id LIMIT ?2",
    )?;
    let ids = st.query_map(params![prefix, limit as i64, notebooks], |r| r.get(0))?;
    Ok(ids.collect::<rusqlite::Result<_>>()?)
}

/// Records which notes an entry carries changes of.
pub(crate) fn index_entry(
    conn: &Connection,
    client: &Uuid,
    index: u64,
    notes: impl IntoIterator<Item = Uuid>,
) -> Result<()> {
    let mut st = conn.prepare_cached(
        "INSERT OR IGNORE INTO note_entries (note_id, client_id, idx) VALUES (?1, ?2, ?3)",
    )?;
    for n in notes {
        st.execute(params![n.to_string(), client.to_string(), index as i64])?;
    }
    Ok(())
}

/// The entries `(client, index)` carrying changes of a note, in any order.
pub(crate) fn entries_of(conn: &Connection, id: &Uuid) -> Result<Vec<(Uuid, u64)>> {
    ids_rows(conn, "SELECT client_id, idx FROM note_entries WHERE note_id = ?1", id)
}

/// The entries carrying changes of a note, in log order (Lamport clock, then client and index).
pub(crate) fn entries_in_log_order(conn: &Connection, id: &Uuid) -> Result<Vec<(Uuid, u64)>> {
    ids_rows(
        conn,
        "SELECT n.client_id, n.idx FROM note_entries n JOIN log l ON l.client_id = n.client_id AND l.idx = n.idx WHERE n.note_id = ?1 ORDER BY l.lamport, n.client_id, n.idx",
        id,
    )
}

fn ids_rows(conn: &Connection, sql: &str, id: &Uuid) -> Result<Vec<(Uuid, u64)>> {
    let mut st = conn.prepare_cached(sql)?;
    let rows =
        st.query_map([id.to_string()], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
    let mut out = Vec::new();
    for r in rows {
        let (c, i) = r?;
        if let Ok(c) = Uuid::parse_str(&c) {
            out.push((c, i as u64));
        }
    }
    Ok(out)
}

/// Marks a listed note to be settled at the end of the sync cycle.
pub(crate) fn mark_unsettled(conn: &Connection, id: &Uuid) -> Result<()> {
    conn.prepare_cached("INSERT OR IGNORE INTO unsettled (note_id) VALUES (?1)")?
        .execute([id.to_string()])?;
    Ok(())
}

/// The notes to settle, in the order of the entries that listed them.
pub(crate) fn unsettled(conn: &Connection) -> Result<Vec<String>> {
    let mut st = conn.prepare(
        "SELECT u.note_id FROM unsettled u LEFT JOIN notes n ON n.id = u.note_id ORDER BY n.hint_client, n.hint_idx",
    )?;
    let r = st.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
    Ok(r)
}

/// A note is settled.
pub(crate) fn settled(conn: &Connection, id: &str) -> Result<()> {
    conn.prepare_cached("DELETE FROM unsettled WHERE note_id = ?1")?.execute([id])?;
    Ok(())
}

/// Number of stored documents.
pub(crate) fn document_count(conn: &Connection) -> Result<u64> {
    Ok(conn.prepare_cached("SELECT COUNT(*) FROM docs")?.query_row([], |r| r.get::<_, i64>(0))?
        as u64)
}

/// Drops the stored documents of all but the `keep` most recently edited notes, except notes
/// with unsealed changes or changes waiting for dependencies. Returns how many.
pub(crate) fn drop_documents(conn: &Connection, keep: usize) -> Result<u64> {
    // (A built note never has a hint: storing a document clears it.)
    let n = conn
        .prepare_cached(
            "DELETE FROM docs WHERE note_id IN (SELECT n.id FROM notes n JOIN docs d ON d.note_id = n.id
             WHERE n.id NOT IN (SELECT note_id FROM unsealed) AND n.id NOT IN (SELECT note_id FROM queued_changes)
             ORDER BY n.updated_at DESC LIMIT -1 OFFSET ?1)",
        )?
        .execute([keep as i64])?;
    Ok(n as u64)
}

/// Every note id (deleted notes included), in order.
pub(crate) fn all_ids(conn: &Connection) -> Result<Vec<String>> {
    let mut st = conn.prepare_cached("SELECT id FROM notes ORDER BY id")?;
    let ids = st.query_map([], |r| r.get(0))?;
    Ok(ids.collect::<rusqlite::Result<_>>()?)
}

/// The notes listed from summaries, their documents not built, in id order.
pub(crate) fn listed_ids(conn: &Connection) -> Result<Vec<String>> {
    let mut st = conn.prepare_cached(
        "SELECT id FROM notes WHERE id NOT IN (SELECT note_id FROM docs) ORDER BY id",
    )?;
    let ids = st.query_map([], |r| r.get(0))?;
    Ok(ids.collect::<rusqlite::Result<_>>()?)
}

/// A note's list row (deleted notes included).
pub(crate) fn row_of(conn: &Connection, id: &str) -> Result<Option<ListRow>> {
    Ok(conn
        .prepare_cached(&format!("SELECT {LIST_COLUMNS} FROM notes n WHERE n.id = ?1"))?
        .query_row([id], |r| list_row(r, 0))
        .optional()?)
}

/// Records a change of `note` left out of its document because it does not parse (FORMAT.md §6
/// step 5), once per change (`digest`: SHA-256 of its bytes). True when it was not known before.
pub(crate) fn record_left_out(
    conn: &Connection,
    note: &Uuid,
    digest: &[u8; 32],
    reason: &str,
) -> Result<bool> {
    let n = conn.execute(
        "INSERT OR IGNORE INTO left_out (note_id, digest, reason) VALUES (?1, ?2, ?3)",
        params![note.to_string(), &digest[..], reason],
    )?;
    Ok(n > 0)
}

/// Marks a note whose concurrent edits touched the same words, with the other devices (added to
/// those of an earlier mark not seen yet).
pub(crate) fn mark_merged(conn: &Connection, note: &Uuid, devices: &[Uuid]) -> Result<()> {
    let mut all = merged_with(conn, note)?;
    all.extend_from_slice(devices);
    all.sort();
    all.dedup();
    let text = all.iter().map(Uuid::to_string).collect::<Vec<_>>().join(",");
    conn.prepare_cached("INSERT OR REPLACE INTO merged (note_id, devices) VALUES (?1, ?2)")?
        .execute(rusqlite::params![note.to_string(), text])?;
    Ok(())
}

/// The devices whose edits a note's merge mark names (empty: not marked).
pub(crate) fn merged_with(conn: &Connection, note: &Uuid) -> Result<Vec<Uuid>> {
    let text: Option<String> = conn
        .prepare_cached("SELECT devices FROM merged WHERE note_id = ?1")?
        .query_row([note.to_string()], |r| r.get(0))
        .optional()?;
    Ok(text.iter().flat_map(|t| t.split(',')).filter_map(|d| d.parse().ok()).collect())
}

/// Clears a note's merge mark (the user has seen it); whether it had one.
pub(crate) fn clear_merged(conn: &Connection, note: &Uuid) -> Result<bool> {
    Ok(conn.prepare_cached("DELETE FROM merged WHERE note_id = ?1")?.execute([note.to_string()])?
        > 0)
}

/// Why changes of one note were left out, one reason per change.
pub(crate) fn left_out_of(conn: &Connection, note: &Uuid) -> Result<Vec<String>> {
    let mut st =
        conn.prepare_cached("SELECT reason FROM left_out WHERE note_id = ?1 ORDER BY reason")?;
    let rows = st.query_map([note.to_string()], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Every change left out: `(note id, its title if listed, reason)`.
pub(crate) fn left_out(conn: &Connection) -> Result<Vec<(String, Option<String>, String)>> {
    let mut st = conn.prepare_cached(
        "SELECT l.note_id, n.title, l.reason FROM left_out l LEFT JOIN notes n ON n.id = l.note_id ORDER BY l.note_id, l.reason",
    )?;
    let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// How many changes are left out (a cheap count to notice new ones after a pull or rebuild).
pub(crate) fn left_out_count(conn: &Connection) -> Result<u64> {
    Ok(conn.query_row("SELECT COUNT(*) FROM left_out", [], |r| r.get::<_, i64>(0))? as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(rev: i64) -> Row<'static> {
        Row {
            title: "t",
            first_line: "l",
            first_line_end: 1,
            created_at: 1,
            updated_at: 2,
            deleted: false,
            pinned: false,
            purged: false,
            tags: &[],
            rev,
            kind: DocKind::Note,
            notebook: None,
        }
    }

    /// The reads of every pulled change and every keystroke run from prepared statements,
    /// whichever note they ask for: none is prepared again for a new note id (SQLite does so
    /// for a join constrained by a parameter).
    #[test]
    fn a_notes_stored_state_is_read_without_preparing_the_query_again() {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::store::open(&dir.path().join("db")).unwrap();
        let ids: Vec<Uuid> = (0..4).map(|_| Uuid::new_v4()).collect();
        for id in &ids[..3] {
            save_full(&conn, id, &row(1), b"saved").unwrap();
        }
        for round in 0..3 {
            for (k, id) in ids.iter().enumerate() {
                let s = stored(&conn, id).unwrap();
                if k == 3 {
                    assert!(s.is_none());
                    continue;
                }
                let s = s.unwrap();
                assert!(s.built);
                assert_eq!(s.tail_len, round * 3, "tail after {round} appends");
                append(&conn, id, &row(2 + round as i64), b"abc").unwrap();
            }
        }
        for sql in [STORED, TAIL_AND_TAGS] {
            let st = conn.prepare_cached(sql).unwrap();
            assert_eq!(st.get_status(rusqlite::StatementStatus::RePrepare), 0, "{sql}");
        }
    }
}
