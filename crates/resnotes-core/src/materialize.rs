//! Derived note rows: applying Automerge changes from log entries to per-note documents and
//! keeping the `notes` table (title, body, times, saved document) in step. Changes whose
//! dependencies have not arrived yet wait in `queued_changes` until they can apply.

use std::collections::BTreeMap;

use automerge::{AutoCommit, Change};
use rusqlite::{params, Connection, OptionalExtension};
use uuid::Uuid;

use crate::entry::NoteChange;
use crate::error::{Error, Result};
use crate::note;

/// Loads a note's document, or an empty one when the note has no row yet.
pub fn load_doc(conn: &Connection, id: &Uuid, me: &Uuid) -> Result<Option<AutoCommit>> {
    let saved: Option<Vec<u8>> = conn.prepare_cached("SELECT doc FROM notes WHERE id = ?1")?.query_row([id.to_string()], |r| r.get(0)).optional()?;
    saved.map(|s| note::load(&s, me)).transpose()
}

/// Writes a note's derived row from its document.
pub fn store_doc(conn: &Connection, id: &Uuid, doc: &mut AutoCommit) -> Result<()> {
    let f = note::read(doc);
    let saved = doc.save();
    let first_line: String = f.body.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("").chars().take(200).collect();
    conn.prepare_cached(
        "INSERT INTO notes (id, title, first_line, created_at, updated_at, deleted, doc) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT(id) DO UPDATE SET title = excluded.title, first_line = excluded.first_line, created_at = excluded.created_at,
         updated_at = excluded.updated_at, deleted = excluded.deleted, doc = excluded.doc",
    )?
    .execute(params![id.to_string(), f.title, first_line, f.created_at, f.updated_at, f.deleted, saved])?;
    Ok(())
}

/// Checks that every change parses as an Automerge change (before an entry is accepted).
pub fn validate(changes: &[NoteChange]) -> std::result::Result<(), String> {
    for c in changes {
        let bytes = c.change.clone();
        match std::panic::catch_unwind(move || Change::from_bytes(bytes)) {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Err(format!("a change for note {} is not a valid Automerge change: {e}", c.note)),
            Err(_) => return Err(format!("a change for note {} could not be parsed", c.note)),
        }
    }
    Ok(())
}

/// Applies changes (from any number of entries) to their notes, in one pass per note.
/// Applying the same changes again, or in another order, gives the same notes.
pub fn apply(conn: &Connection, me: &Uuid, changes: &[NoteChange]) -> Result<()> {
    let mut by_note: BTreeMap<Uuid, Vec<&[u8]>> = BTreeMap::new();
    for c in changes {
        by_note.entry(c.note).or_default().push(&c.change);
    }
    for (id, new) in by_note {
        apply_note(conn, me, &id, &new)?;
    }
    Ok(())
}

fn apply_note(conn: &Connection, me: &Uuid, id: &Uuid, new: &[&[u8]]) -> Result<()> {
    let mut doc = load_doc(conn, id, me)?.unwrap_or_else(|| note::new_doc(me));
    let mut pending: Vec<Change> = Vec::new();
    {
        let mut st = conn.prepare_cached("SELECT change FROM queued_changes WHERE note_id = ?1")?;
        let rows = st.query_map([id.to_string()], |r| r.get::<_, Vec<u8>>(0))?;
        for r in rows {
            if let Ok(c) = Change::from_bytes(r?) {
                pending.push(c);
            }
        }
    }
    for bytes in new {
        if let Ok(c) = Change::from_bytes(bytes.to_vec()) {
            pending.push(c);
        }
    }
    let hashes: Vec<_> = pending.iter().map(|c| (c.hash(), c.raw_bytes().to_vec())).collect();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| doc.apply_changes(pending)));
    match result {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!(note = %id, "changes could not be applied: {e}"),
        Err(_) => return Err(Error::Doc(format!("changes for note {id} could not be applied"))),
    }
    conn.execute("DELETE FROM queued_changes WHERE note_id = ?1", [id.to_string()])?;
    let mut applied_any = false;
    for (hash, raw) in hashes {
        if doc.get_change_by_hash(&hash).is_some() {
            applied_any = true;
        } else {
            conn.execute(
                "INSERT OR IGNORE INTO queued_changes (note_id, hash, change) VALUES (?1, ?2, ?3)",
                params![id.to_string(), &hash.0[..], raw],
            )?;
        }
    }
    if applied_any || !doc.get_heads().is_empty() {
        store_doc(conn, id, &mut doc)?;
    }
    Ok(())
}
