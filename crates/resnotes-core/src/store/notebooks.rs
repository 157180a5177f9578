//! Notebooks as this device holds them: their rows in `notes` (`kind` 1, the name in `title`,
//! the parent in `notebook`; FORMAT.md §4.4) and how many live notes each holds. Which
//! notebooks are live and how they nest is decided from these rows by
//! `workspace::notebooks`.

use rusqlite::Connection;
use uuid::Uuid;

use super::notes::read_id;
use super::Result;

/// A notebook's row.
#[derive(Clone, Debug)]
pub(crate) struct NotebookRow {
    pub(crate) id: Uuid,
    pub(crate) name: String,
    /// The parent its document names (`None`: the top level).
    pub(crate) parent: Option<Uuid>,
    pub(crate) updated_at: i64,
    pub(crate) deleted: bool,
}

/// Every notebook this device knows of, deleted ones included, in id order.
pub(crate) fn all(conn: &Connection) -> Result<Vec<NotebookRow>> {
    let mut st = conn.prepare_cached(
        "SELECT id, title, notebook, updated_at, deleted FROM notes WHERE kind = 1 ORDER BY id",
    )?;
    let rows = st.query_map([], |r| {
        Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, name, parent, updated_at, deleted) = row?;
        let Ok(id) = Uuid::parse_str(&id) else { continue };
        out.push(NotebookRow { id, name, parent: read_id(parent), updated_at, deleted });
    }
    Ok(out)
}

/// How many live notes name each notebook id (`None`: no notebook).
pub(crate) fn note_counts(conn: &Connection) -> Result<Vec<(Option<String>, u64)>> {
    let mut st = conn.prepare_cached(
        "SELECT notebook, COUNT(*) FROM notes WHERE kind = 0 AND deleted = 0 GROUP BY notebook",
    )?;
    let rows = st.query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The live notes that name `notebook` (its id).
pub(crate) fn live_notes_in(conn: &Connection, notebook: &Uuid) -> Result<Vec<Uuid>> {
    let mut st = conn.prepare_cached(
        "SELECT id FROM notes WHERE kind = 0 AND deleted = 0 AND notebook = ?1 ORDER BY id",
    )?;
    let rows = st.query_map([notebook.to_string()], |r| r.get::<_, String>(0))?;
    let rows = rows.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows.iter().filter_map(|s| Uuid::parse_str(s).ok()).collect())
}
