//! Internals that the engine's own property and integration tests (`crates/resnotes-core/tests`)
//! drive directly: applying raw changes to a bare database and dropping stored documents. Not
//! part of the API a shell uses; hidden from the documentation.

use rusqlite::Connection;
use uuid::Uuid;

use crate::error::Result;
use crate::format::crypto::WorkspaceKey;
use crate::format::entry::NoteChange;

/// A bare, migrated in-memory database.
pub fn open_in_memory() -> Result<Connection> {
    Ok(crate::store::open_in_memory()?)
}

/// Applies raw changes to the notes of `conn` (parsed leniently, as pulled ones are).
pub fn apply(conn: &Connection, me: &Uuid, changes: &[NoteChange]) -> Result<()> {
    crate::docs::materialize::apply(conn, me, changes)
}

/// A note's document as `conn` holds it (built from the log if it is only listed).
pub fn load_doc(
    conn: &Connection,
    key: &WorkspaceKey,
    id: &Uuid,
    me: &Uuid,
) -> Result<Option<automerge::AutoCommit>> {
    crate::docs::materialize::load_doc(conn, key, id, me)
}

/// Drops stored documents beyond the `keep` most recently edited notes (as each sync does
/// beyond 1,000); returns how many.
pub fn evict(conn: &Connection, keep: usize) -> Result<u64> {
    crate::docs::lazy::evict(conn, keep)
}
