//! What packs need (FORMAT.md §11): the age file key of each entry this device sealed or read
//! from a pack, and how far this device has written (or found) each client's packs on each
//! target, and how far it has removed the single files those packs cover (FORMAT.md §11.1).

use rusqlite::{params, Connection, OptionalExtension};
use uuid::Uuid;

use crate::error::Result;
use crate::format::crypto::FileKey;
use crate::format::epoch::EpochId;
use crate::format::pack::Block;

/// Keeps the file key of entry `index` of `client`, an entry of key epoch `epoch`.
pub(crate) fn keep_file_key(
    conn: &Connection,
    client: &Uuid,
    index: u64,
    key: &FileKey,
    epoch: &EpochId,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT OR REPLACE INTO file_keys (client_id, idx, file_key, epoch) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![client.to_string(), index as i64, &key[..], &epoch.to_bytes()[..]])?;
    Ok(())
}

/// The file key of entry `index` of `client`, when this device sealed the entry or read it from
/// a pack.
pub(crate) fn file_key(conn: &Connection, client: &Uuid, index: u64) -> Result<Option<FileKey>> {
    let key: Option<Vec<u8>> = conn
        .prepare_cached("SELECT file_key FROM file_keys WHERE client_id = ?1 AND idx = ?2")?
        .query_row(params![client.to_string(), index as i64], |r| r.get(0))
        .optional()?;
    Ok(key.and_then(|k| FileKey::try_from(&k[..]).ok()))
}

/// The entry files of a block, each with its file key, and the one key epoch they are of.
pub(crate) type BlockFiles = (EpochId, Vec<(Vec<u8>, FileKey)>);

/// The entry files of `block` with their file keys and their one key epoch, when this device
/// holds every entry of it, each one's file key, all of one epoch; `None` otherwise (the block
/// gets no pack from this device).
pub(crate) fn block(conn: &Connection, block: &Block) -> Result<Option<BlockFiles>> {
    let mut stmt = conn.prepare_cached(
        "SELECT l.data, k.file_key, k.epoch FROM log l JOIN file_keys k
           ON k.client_id = l.client_id AND k.idx = l.idx
         WHERE l.client_id = ?1 AND l.idx BETWEEN ?2 AND ?3 ORDER BY l.idx",
    )?;
    let rows = stmt.query_map(
        params![block.client.to_string(), block.first() as i64, block.last() as i64],
        |r| Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, Vec<u8>>(1)?, r.get::<_, Vec<u8>>(2)?)),
    )?;
    let mut epoch: Option<EpochId> = None;
    let mut out = Vec::with_capacity(block.entries() as usize);
    for row in rows {
        let (data, key, e) = row?;
        let (Ok(key), Ok(e)) = (<FileKey>::try_from(&key[..]), <[u8; 24]>::try_from(&e[..])) else {
            return Ok(None);
        };
        let Some(e) = EpochId::from_bytes(&e) else { return Ok(None) };
        if *epoch.get_or_insert(e) != e {
            return Ok(None);
        }
        out.push((data, key));
    }
    Ok((out.len() as u64 == block.entries()).then(|| (epoch.expect("a whole block"), out)))
}

/// What a device has done with `client`'s blocks at one level on one target, as the first
/// block not done yet: written or found their packs, or looked at removing what they cover.
#[derive(Clone, Copy)]
pub(crate) enum Progress {
    /// Packs written to or found on the target (`packs_done`).
    Packed,
    /// Files covered by packs looked at, and removed where the pack allowed it (`packs_thinned`).
    Thinned,
}

impl Progress {
    fn table(self) -> &'static str {
        match self {
            Progress::Packed => "packs_done",
            Progress::Thinned => "packs_thinned",
        }
    }
}

/// The first block of `client` at `level` not done yet on `target` (see [`Progress`]).
pub(crate) fn next(
    conn: &Connection,
    what: Progress,
    target: &str,
    client: &Uuid,
    level: u8,
) -> Result<u64> {
    let sql = format!(
        "SELECT next_block FROM {} WHERE target_id = ?1 AND client_id = ?2 AND level = ?3",
        what.table()
    );
    Ok(conn
        .prepare_cached(&sql)?
        .query_row(params![target, client.to_string(), level], |r| r.get::<_, i64>(0))
        .optional()?
        .map_or(0, |n| n as u64))
}

/// Records that `client`'s blocks at `level` before `next` are done on `target` (see
/// [`Progress`]).
pub(crate) fn set_next(
    conn: &Connection,
    what: Progress,
    target: &str,
    client: &Uuid,
    level: u8,
    next: u64,
) -> Result<()> {
    let sql = format!(
        "INSERT OR REPLACE INTO {} (target_id, client_id, level, next_block) VALUES (?1, ?2, ?3, ?4)",
        what.table()
    );
    conn.prepare_cached(&sql)?.execute(params![target, client.to_string(), level, next as i64])?;
    Ok(())
}

/// Moves what is done of `client`'s blocks at `level` on `target` to `within.end`, when the
/// first block not done yet is in `within` (blocks found done, in order); true when it moved.
pub(crate) fn advance(
    conn: &Connection,
    what: Progress,
    target: &str,
    client: &Uuid,
    level: u8,
    within: std::ops::Range<u64>,
) -> Result<bool> {
    if !within.contains(&next(conn, what, target, client, level)?) {
        return Ok(false);
    }
    set_next(conn, what, target, client, level, within.end)?;
    Ok(true)
}

/// Forgets which packs of `client` `target` holds and which files were removed there: it lost
/// entries (restored from an old backup), so its packs are looked at, and written, again.
pub(crate) fn forget(conn: &Connection, target: &str, client: &Uuid) -> Result<()> {
    for what in [Progress::Packed, Progress::Thinned] {
        conn.execute(
            &format!("DELETE FROM {} WHERE target_id = ?1 AND client_id = ?2", what.table()),
            params![target, client.to_string()],
        )?;
    }
    Ok(())
}
