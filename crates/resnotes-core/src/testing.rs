//! Internals that the engine's own property tests and the benchmark drive directly: applying
//! raw changes to a bare database (order-independence of the merge), dropping stored
//! documents, making an old data dir, and bulk loading without fsync. Not part of the API a
//! shell uses; hidden from the documentation.

use rusqlite::Connection;
use uuid::Uuid;

use crate::error::Result;
use crate::format::crypto::WorkspaceKey;
use crate::format::entry::NoteChange;
use crate::Workspace;

/// A bare, migrated in-memory database.
pub fn open_in_memory() -> Result<Connection> {
    Ok(crate::store::open_in_memory()?)
}

/// Applies raw changes to the notes of `conn` (parsed leniently, as pulled ones are).
pub fn apply(conn: &Connection, me: &Uuid, changes: &[NoteChange]) -> Result<()> {
    crate::docs::materialize::apply(conn, me, changes)
}

/// A note's document as `conn` holds it (built from the log, read with `key` alone, if it is
/// only listed).
pub fn load_doc(
    conn: &Connection,
    key: WorkspaceKey,
    id: &Uuid,
    me: &Uuid,
) -> Result<Option<automerge::AutoCommit>> {
    let keys = crate::format::epoch::Keyring::new(Uuid::nil(), key);
    crate::docs::materialize::load_doc(conn, &keys, id, me)
}

/// The changes of one of `ws`'s stored log entries (its verbatim file bytes), read with every
/// key the device holds (key epochs too).
pub fn stored_changes(ws: &Workspace, bytes: &[u8]) -> Result<Vec<NoteChange>> {
    let keys = &ws.replica.keys;
    let plain = keys.open(bytes).map_err(|e| {
        crate::docs::DocError::Damaged(format!("a stored entry does not open: {e:?}"))
    })?;
    Ok(crate::format::entry::decode_in(&plain, keys)?.changes)
}

/// Every note id in `conn`, live ones only when `live_only`.
pub fn note_ids(conn: &Connection, live_only: bool) -> Result<Vec<String>> {
    Ok(if live_only {
        crate::store::notes::live(conn, Default::default())?.into_iter().map(|r| r.id).collect()
    } else {
        crate::store::notes::all_ids(conn)?
    })
}

/// Drops stored documents beyond the `keep` most recently edited notes (as each sync does
/// beyond 1,000); returns how many.
pub fn evict(ws: &Workspace, keep: usize) -> Result<u64> {
    crate::docs::lazy::evict(&ws.replica.conn, keep)
}

/// Makes the data dir look like one from before the note index covered the whole log.
pub fn forget_note_index(ws: &Workspace) -> Result<()> {
    Ok(crate::store::delete_meta(&ws.replica.conn, "note_index")?)
}

/// Commits without fsync (`false`) while a benchmark builds its workspace, or with (`true`).
pub fn set_durable(ws: &Workspace, durable: bool) -> Result<()> {
    Ok(crate::store::set_synchronous(&ws.replica.conn, durable)?)
}

/// How many notes wait to be indexed for search before the next search (the user's own edits,
/// and big notes typed into).
pub fn waiting_for_search(ws: &Workspace) -> Result<usize> {
    Ok(crate::store::search::stale(&ws.replica.conn)?.len())
}
