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
    for table in [Progress::Packed.table(), Progress::Thinned.table(), "packs_unusable"] {
        conn.execute(
            &format!("DELETE FROM {table} WHERE target_id = ?1 AND client_id = ?2"),
            params![target, client.to_string()],
        )?;
    }
    Ok(())
}

/// A pack found on a target that this device could not use (damaged, cut short, of a key epoch
/// it does not hold): a pull stopped at its block would otherwise download it again at every
/// sync cycle (up to 64 MiB each time), so it waits before trying again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Unusable {
    /// The pack's length when it was tried: a pack of another length (written again, or
    /// finished copying) is tried at once.
    pub(crate) size: u64,
    /// How many key epochs this device held then: one learnt since may open it.
    pub(crate) epochs: u64,
    /// How many times it was tried in vain.
    pub(crate) tries: u32,
    /// Not downloaded again before this time (ms).
    pub(crate) retry_at: i64,
    /// What is wrong with it, when it is damaged (not merely unreadable here).
    pub(crate) damage: Option<String>,
}

/// The first wait after a pack was found unusable (ms); it doubles with every try.
const FIRST_WAIT_MS: i64 = 2 * 60 * 1000;
/// The longest wait (ms): a pull stopped at the pack's block (its single files removed) waits
/// this long at most for a copy written again with the same length.
const LONGEST_WAIT_MS: i64 = 30 * 60 * 1000;

impl Unusable {
    /// The record of a try at `now` that found the pack unusable, after `before`.
    pub(crate) fn tried(
        before: Option<&Unusable>,
        size: u64,
        epochs: u64,
        damage: Option<String>,
        now: i64,
    ) -> Unusable {
        let tries = before.map_or(0, |b| b.tries).saturating_add(1);
        let wait = FIRST_WAIT_MS.saturating_mul(1 << (tries - 1).min(10)).min(LONGEST_WAIT_MS);
        Unusable { size, epochs, tries, retry_at: now.saturating_add(wait), damage }
    }

    /// Whether the pack is still not worth downloading: its wait is not over, it has the same
    /// length, and no key epoch was learnt since. A wait longer than the longest (the clock was
    /// set back) is over.
    pub(crate) fn waits(&self, size: u64, epochs: u64, now: i64) -> bool {
        let left = self.retry_at.saturating_sub(now);
        left > 0 && left <= LONGEST_WAIT_MS && size == self.size && epochs <= self.epochs
    }
}

/// The record of `block`'s pack on `target`, when it was found unusable.
pub(crate) fn unusable(conn: &Connection, target: &str, block: &Block) -> Result<Option<Unusable>> {
    Ok(conn
        .prepare_cached(
            "SELECT size, epochs, tries, retry_at, damage FROM packs_unusable
             WHERE target_id = ?1 AND client_id = ?2 AND level = ?3 AND block = ?4",
        )?
        .query_row(
            params![target, block.client.to_string(), block.level, block.index as i64],
            |r| {
                Ok(Unusable {
                    size: r.get::<_, i64>(0)? as u64,
                    epochs: r.get::<_, i64>(1)? as u64,
                    tries: r.get(2)?,
                    retry_at: r.get(3)?,
                    damage: r.get(4)?,
                })
            },
        )
        .optional()?)
}

/// Records that `block`'s pack on `target` was found unusable (`Some`), or forgets it (`None`:
/// it was used, or is gone).
pub(crate) fn set_unusable(
    conn: &Connection,
    target: &str,
    block: &Block,
    record: Option<&Unusable>,
) -> Result<()> {
    let place = params![target, block.client.to_string(), block.level, block.index as i64];
    match record {
        None => {
            conn.prepare_cached(
                "DELETE FROM packs_unusable
                 WHERE target_id = ?1 AND client_id = ?2 AND level = ?3 AND block = ?4",
            )?
            .execute(place)?;
        }
        Some(u) => {
            conn.prepare_cached(
                "INSERT OR REPLACE INTO packs_unusable
                 (target_id, client_id, level, block, size, epochs, tries, retry_at, damage)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?
            .execute(params![
                target,
                block.client.to_string(),
                block.level,
                block.index as i64,
                u.size as i64,
                u.epochs as i64,
                u.tries,
                u.retry_at,
                u.damage
            ])?;
        }
    }
    Ok(())
}

/// Forgets every pack found unusable on `target`: a check of it wrote again what it could.
pub(crate) fn forget_unusable(conn: &Connection, target: &str) -> Result<()> {
    conn.prepare_cached("DELETE FROM packs_unusable WHERE target_id = ?1")?.execute([target])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pack found unusable waits 2 minutes, then twice as long after each new try, at most
    /// 30 minutes; it is tried at once when its length changed, a key epoch was learnt or the
    /// clock went back, and the record survives in the database until forgotten.
    #[test]
    fn an_unusable_pack_waits_longer_after_each_try_unless_something_changed() {
        let minute = 60_000;
        let first = Unusable::tried(None, 100, 1, Some("malformed".into()), 0);
        assert_eq!((first.tries, first.retry_at), (1, 2 * minute));
        assert!(first.waits(100, 1, 2 * minute - 1));
        assert!(!first.waits(100, 1, 2 * minute), "its wait is over");
        assert!(!first.waits(101, 1, 0), "written again, or finished copying");
        assert!(!first.waits(100, 2, 0), "a key epoch was learnt");
        assert!(!first.waits(100, 1, -31 * minute), "the clock went back");
        let second = Unusable::tried(Some(&first), 100, 1, None, 2 * minute);
        assert_eq!((second.tries, second.retry_at), (2, 6 * minute));
        let mut u = second.clone();
        for _ in 0..20 {
            u = Unusable::tried(Some(&u), 100, 1, None, 0);
        }
        assert_eq!(u.retry_at, 30 * minute, "at most 30 minutes");

        let conn = crate::store::open_in_memory().unwrap();
        let b = Block { client: Uuid::from_u128(7), level: 2, index: 3 };
        let other = Block { level: 1, ..b };
        assert_eq!(unusable(&conn, "t", &b).unwrap(), None);
        set_unusable(&conn, "t", &b, Some(&first)).unwrap();
        set_unusable(&conn, "t", &b, Some(&second)).unwrap();
        assert_eq!(unusable(&conn, "t", &b).unwrap(), Some(second.clone()));
        assert_eq!(unusable(&conn, "t", &other).unwrap(), None);
        assert_eq!(unusable(&conn, "u", &b).unwrap(), None);
        set_unusable(&conn, "t", &b, None).unwrap();
        assert_eq!(unusable(&conn, "t", &b).unwrap(), None);
        set_unusable(&conn, "t", &b, Some(&first)).unwrap();
        forget(&conn, "t", &b.client).unwrap();
        assert_eq!(unusable(&conn, "t", &b).unwrap(), None);
        set_unusable(&conn, "t", &b, Some(&first)).unwrap();
        forget_unusable(&conn, "t").unwrap();
        assert_eq!(unusable(&conn, "t", &b).unwrap(), None);
    }
}
