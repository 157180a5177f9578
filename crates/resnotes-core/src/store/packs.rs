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

/// The first block of `client` at `level` whose pack this device has neither written to nor
/// found on `target`.
pub(crate) fn next_block(conn: &Connection, target: &str, client: &Uuid, level: u8) -> Result<u64> {
    Ok(conn
        .prepare_cached(
            "SELECT next_block FROM packs_done WHERE target_id = ?1 AND client_id = ?2 AND level = ?3",
        )?
        .query_row(params![target, client.to_string(), level], |r| r.get::<_, i64>(0))
        .optional()?
        .map_or(0, |n| n as u64))
}

/// Records that the packs of `client`'s blocks at `level` before `next` need nothing more on
/// `target`.
pub(crate) fn set_next_block(
    conn: &Connection,
    target: &str,
    client: &Uuid,
    level: u8,
    next: u64,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT OR REPLACE INTO packs_done (target_id, client_id, level, next_block) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![target, client.to_string(), level, next as i64])?;
    Ok(())
}

/// The first block of `client` at `level` whose single files this device has not yet looked
/// at removing from `target`.
pub(crate) fn next_thinned(
    conn: &Connection,
    target: &str,
    client: &Uuid,
    level: u8,
) -> Result<u64> {
    Ok(conn
        .prepare_cached(
            "SELECT next_block FROM packs_thinned WHERE target_id = ?1 AND client_id = ?2 AND level = ?3",
        )?
        .query_row(params![target, client.to_string(), level], |r| r.get::<_, i64>(0))
        .optional()?
        .map_or(0, |n| n as u64))
}

/// Records that the single files of `client`'s blocks at `level` before `next` were looked at
/// (removed where their pack allowed it) on `target`.
pub(crate) fn set_next_thinned(
    conn: &Connection,
    target: &str,
    client: &Uuid,
    level: u8,
    next: u64,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT OR REPLACE INTO packs_thinned (target_id, client_id, level, next_block) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![target, client.to_string(), level, next as i64])?;
    Ok(())
}

/// Forgets which packs of `client` `target` holds and which files were removed there: it lost
/// entries (restored from an old backup), so its packs are looked at, and written, again.
pub(crate) fn forget(conn: &Connection, target: &str, client: &Uuid) -> Result<()> {
    for table in ["packs_done", "packs_thinned"] {
        conn.execute(
            &format!("DELETE FROM {table} WHERE target_id = ?1 AND client_id = ?2"),
            params![target, client.to_string()],
        )?;
    }
    Ok(())
}
