//! This device's copy of every client's append-only log (table `log`: entries verbatim, as
//! their writers sealed them) and the unsealed tail of its own (`unsealed`: local changes not
//! yet sealed into an entry). The log is the truth; everything else is derived from it.

use rusqlite::{params, Connection, OptionalExtension};
use uuid::Uuid;

use super::Result;

/// The newest entry of a client held locally: `(index, hash)`.
pub(crate) fn head(conn: &Connection, client: &Uuid) -> Result<Option<(u64, [u8; 32])>> {
    Ok(conn
        .query_row(
            "SELECT idx, hash FROM log WHERE client_id = ?1 ORDER BY idx DESC LIMIT 1",
            [client.to_string()],
            |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, Vec<u8>>(1)?)),
        )
        .optional()?
        .map(|(i, h)| (i, h.try_into().unwrap_or([0; 32]))))
}

pub(super) const HEADS: &str = "WITH RECURSIVE c(id) AS (
        SELECT (SELECT MIN(client_id) FROM log)
        UNION ALL
        SELECT (SELECT MIN(client_id) FROM log WHERE client_id > c.id) FROM c WHERE c.id IS NOT NULL
    )
    SELECT id, (SELECT MAX(idx) FROM log WHERE client_id = c.id) FROM c WHERE id IS NOT NULL";

/// A client's newest entry held here ([`newest_of_each`]).
pub(crate) struct Newest {
    /// The writing client.
    pub(crate) client: Uuid,
    /// The entry's timestamp (the writer's clock, ms).
    pub(crate) at: i64,
    /// The key that signed it (`None`: unsigned, a device of an older version).
    pub(crate) signer: Option<[u8; 32]>,
}

/// Every client with entries here and its newest entry, through the same per-client jumps as
/// [`heads`].
pub(crate) fn newest_of_each(conn: &Connection) -> Result<Vec<Newest>> {
    let mut out = Vec::new();
    for (client, idx) in heads(conn)? {
        let (at, signer): (i64, Option<Vec<u8>>) = conn
            .prepare_cached("SELECT timestamp, signer FROM log WHERE client_id = ?1 AND idx = ?2")?
            .query_row(params![client.to_string(), idx as i64], |r| Ok((r.get(0)?, r.get(1)?)))?;
        out.push(Newest { client, at, signer: signer.and_then(|s| s.try_into().ok()) });
    }
    Ok(out)
}

/// The newest local index of every client. Runs in every sync cycle, so it must not read the
/// whole log: the recursive query jumps from one client to the next through the
/// `(client_id, idx)` index (a few lookups per client) where `GROUP BY` would scan every row —
/// 0.1 ms instead of ~20 ms at 100,000 entries.
pub(crate) fn heads(conn: &Connection) -> Result<Vec<(Uuid, u64)>> {
    let mut st = conn.prepare_cached(HEADS)?;
    let rows = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
    let mut out = Vec::new();
    for row in rows {
        let (c, i) = row?;
        if let Ok(id) = Uuid::parse_str(&c) {
            out.push((id, i as u64));
        }
    }
    Ok(out)
}

/// Highest Lamport clock in the log.
pub(crate) fn max_lamport(conn: &Connection) -> Result<u64> {
    Ok(conn.query_row("SELECT COALESCE(MAX(lamport), 0) FROM log", [], |r| r.get::<_, i64>(0))?
        as u64)
}

/// A log row without its data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct LogRow {
    /// Writing device.
    pub(crate) client: Uuid,
    /// Index in its log.
    pub(crate) index: u64,
    /// Writer's timestamp (ms).
    pub(crate) timestamp: i64,
    /// Lamport clock.
    pub(crate) lamport: u64,
    /// Entry hash.
    pub(crate) hash: [u8; 32],
    /// Previous entry's hash.
    pub(crate) prev_hash: [u8; 32],
    /// The writer's public signing key (envelope version 6 on).
    pub(crate) signer: Option<[u8; 32]>,
}

/// Appends one verified entry (the file bytes verbatim).
pub(crate) fn insert_entry(
    conn: &Connection,
    row: &LogRow,
    data: &[u8],
    received_at: i64,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO log (client_id, idx, timestamp, lamport, prev_hash, hash, data, received_at, signer) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![row.client.to_string(), row.index as i64, row.timestamp, row.lamport as i64, &row.prev_hash[..], &row.hash[..], data, received_at, row.signer.as_ref().map(|s| &s[..])],
    )?;
    Ok(())
}

/// Drops a removed device's entries after `cutoff` (FORMAT.md §5.2: every reader refuses them),
/// which this device took before it learnt of the removal; the notes are then rebuilt from the
/// rest of the log. Returns how many were dropped.
/// (`None`: all of them.)
pub(crate) fn drop_after(conn: &Connection, client: &Uuid, cutoff: Option<u64>) -> Result<usize> {
    let after = params![client.to_string(), cutoff.map_or(-1, |c| c as i64)];
    conn.execute("DELETE FROM file_keys WHERE client_id = ?1 AND idx > ?2", after)?;
    Ok(conn.execute("DELETE FROM log WHERE client_id = ?1 AND idx > ?2", after)?)
}

/// The verbatim bytes of an entry.
pub(crate) fn entry_data(conn: &Connection, client: &Uuid, index: u64) -> Result<Option<Vec<u8>>> {
    Ok(conn
        .prepare_cached("SELECT data FROM log WHERE client_id = ?1 AND idx = ?2")?
        .query_row(params![client.to_string(), index as i64], |r| r.get(0))
        .optional()?)
}

/// What entry `next` of a client must follow (FORMAT.md §6): the hash of entry `next - 1`
/// and the key that signed it, as held here (zeros and no key for entry 0, or when it is not
/// held).
pub(crate) fn link_before(conn: &Connection, client: &Uuid, next: u64) -> Result<Link> {
    let Some(prev) = next.checked_sub(1) else { return Ok(Link::default()) };
    let row: Option<(Vec<u8>, Option<Vec<u8>>)> = conn
        .query_row(
            "SELECT hash, signer FROM log WHERE client_id = ?1 AND idx = ?2",
            params![client.to_string(), prev as i64],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    Ok(row.map_or_else(Link::default, |(h, s)| Link {
        hash: h.try_into().unwrap_or([0; 32]),
        signer: s.and_then(|s| s.try_into().ok()),
    }))
}

/// The end of a client's chain as held here: see [`link_before`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Link {
    /// Hash of the entry.
    pub(crate) hash: [u8; 32],
    /// The key that signed it (`None`: unsigned, before envelope version 6).
    pub(crate) signer: Option<[u8; 32]>,
}

/// The Lamport clock of an entry held locally.
pub(crate) fn timestamp_of(conn: &Connection, client: &Uuid, index: u64) -> Result<Option<i64>> {
    Ok(conn
        .prepare_cached("SELECT timestamp FROM log WHERE client_id = ?1 AND idx = ?2")?
        .query_row(params![client.to_string(), index as i64], |r| r.get::<_, i64>(0))
        .optional()?)
}

/// The largest `lamport − index` among `client`'s entries held here below `index`, if any: what
/// places its entry `index` in the order of removals (`docs::removals::place`). (A range of one
/// client's rows: asked for epoch records only, which are few.)
pub(crate) fn lead_before(conn: &Connection, client: &Uuid, index: u64) -> Result<Option<i64>> {
    Ok(conn
        .prepare_cached("SELECT MAX(lamport - idx) FROM log WHERE client_id = ?1 AND idx < ?2")?
        .query_row(params![client.to_string(), index as i64], |r| r.get::<_, Option<i64>>(0))?)
}

/// The Lamport clock of an entry held, if it is.
pub(crate) fn lamport_of(conn: &Connection, client: &Uuid, index: u64) -> Result<Option<u64>> {
    Ok(conn
        .prepare_cached("SELECT lamport FROM log WHERE client_id = ?1 AND idx = ?2")?
        .query_row(params![client.to_string(), index as i64], |r| r.get::<_, i64>(0))
        .optional()?
        .map(|l| l as u64))
}

/// Calls `f` with `(client, index, bytes)` of every entry held, in log order (Lamport clock,
/// then client and index).
pub(crate) fn for_each_entry<E: From<super::StoreError>>(
    conn: &Connection,
    mut f: impl FnMut(&str, u64, Vec<u8>) -> Result<(), E>,
) -> Result<(), E> {
    let mut st = conn
        .prepare("SELECT client_id, idx, data FROM log ORDER BY lamport, client_id, idx")
        .map_err(super::StoreError::from)?;
    let mut rows = st.query([]).map_err(super::StoreError::from)?;
    while let Some(r) = rows.next().map_err(super::StoreError::from)? {
        let row = || -> Result<(String, i64, Vec<u8>)> { Ok((r.get(0)?, r.get(1)?, r.get(2)?)) };
        let (c, i, data) = row()?;
        f(&c, i as u64, data)?;
    }
    Ok(())
}

/// One row of the newest entries: `(client, index, timestamp, lamport, bytes stored)`.
pub(crate) type RecentRow = (String, u64, i64, u64, u64);

/// The newest `limit` entries by Lamport clock.
pub(crate) fn recent(conn: &Connection, limit: usize) -> Result<Vec<RecentRow>> {
    let mut st = conn.prepare(
        "SELECT client_id, idx, timestamp, lamport, length(data) FROM log ORDER BY lamport DESC, client_id, idx DESC LIMIT ?1",
    )?;
    let rows = st.query_map(params![limit as i64], |r| {
        Ok((
            r.get(0)?,
            r.get::<_, i64>(1)? as u64,
            r.get(2)?,
            r.get::<_, i64>(3)? as u64,
            r.get::<_, i64>(4)? as u64,
        ))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// An entry in the timeline: `(client, index, timestamp, received_at, notes it carries)`.
pub(crate) type TimelineRow = (String, u64, i64, i64, Vec<String>);

/// The newest `limit` entries (by Lamport clock) written at or after `since` (ms, by their
/// writer's clock), each with the notes it carries.
pub(crate) fn since(conn: &Connection, since: i64, limit: usize) -> Result<Vec<TimelineRow>> {
    let mut st = conn.prepare_cached(
        "SELECT client_id, idx, timestamp, received_at FROM log WHERE timestamp >= ?1 ORDER BY lamport DESC, client_id, idx DESC LIMIT ?2",
    )?;
    let entries = st
        .query_map(params![since, limit as i64], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64, r.get(2)?, r.get(3)?))
        })?
        .collect::<rusqlite::Result<Vec<(String, u64, i64, i64)>>>()?;
    let mut notes = conn.prepare_cached(
        "SELECT note_id FROM note_entries e WHERE client_id = ?1 AND idx = ?2
         AND NOT EXISTS (SELECT 1 FROM notes n WHERE n.id = e.note_id AND n.kind <> 0) ORDER BY note_id",
    )?;
    let mut out = Vec::with_capacity(entries.len());
    for (client, idx, ts, received) in entries {
        let ids = notes
            .query_map(params![client, idx as i64], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<String>>>()?;
        out.push((client, idx, ts, received, ids));
    }
    Ok(out)
}

/// The notes (not notebooks or device names) with changes not sealed into an entry yet, each with when its newest such change
/// was made, newest first.
pub(crate) fn unsealed_notes(conn: &Connection) -> Result<Vec<(String, i64)>> {
    let mut st = conn.prepare_cached(
        "SELECT note_id, MAX(created_at) AS at FROM unsealed u
         WHERE NOT EXISTS (SELECT 1 FROM notes n WHERE n.id = u.note_id AND n.kind <> 0)
         GROUP BY note_id ORDER BY at DESC, note_id",
    )?;
    let r = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(r.collect::<rusqlite::Result<_>>()?)
}

/// Appends a local change to the unsealed tail.
pub(crate) fn push_unsealed(conn: &Connection, note: &Uuid, change: &[u8], now: i64) -> Result<()> {
    conn.prepare_cached("INSERT INTO unsealed (note_id, change, created_at) VALUES (?1, ?2, ?3)")?
        .execute(params![note.to_string(), change, now])?;
    Ok(())
}

/// The unsealed tail, oldest first: `(seq, note, change)`.
pub(crate) fn unsealed(conn: &Connection) -> Result<Vec<(i64, String, Vec<u8>)>> {
    let mut st = conn.prepare("SELECT seq, note_id, change FROM unsealed ORDER BY seq")?;
    let r = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(r.collect::<rusqlite::Result<_>>()?)
}

/// The unsealed changes of one note, oldest first, each with when it was made (ms).
pub(crate) fn unsealed_of(conn: &Connection, note: &Uuid) -> Result<Vec<(Vec<u8>, i64)>> {
    let mut st = conn.prepare_cached(
        "SELECT change, created_at FROM unsealed WHERE note_id = ?1 ORDER BY seq",
    )?;
    let r = st.query_map([note.to_string()], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(r.collect::<rusqlite::Result<_>>()?)
}

/// Number of changes in the unsealed tail.
pub(crate) fn unsealed_count(conn: &Connection) -> Result<u64> {
    Ok(conn.query_row("SELECT COUNT(*) FROM unsealed", [], |r| r.get::<_, i64>(0))? as u64)
}

/// Removes the unsealed changes up to `seq` (they were sealed into entries).
pub(crate) fn drop_unsealed(conn: &Connection, upto_seq: i64) -> Result<()> {
    conn.execute("DELETE FROM unsealed WHERE seq <= ?1", [upto_seq])?;
    Ok(())
}

/// A number that grows whenever the log or its unsealed tail grows (by this process or another
/// on the same data dir): the log's rowid plus the tail's AUTOINCREMENT counter.
pub(crate) fn growth_mark(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row(
        "SELECT (SELECT COALESCE(MAX(rowid), 0) FROM log) + COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'unsealed'), 0)",
        [],
        |r| r.get(0),
    )?)
}

/// An entry as held: `(client, index, hash, bytes)`.
pub(crate) type EntryRow = (String, u64, Vec<u8>, Vec<u8>);

/// Every entry held, by client and index.
pub(crate) fn all(conn: &Connection) -> Result<Vec<EntryRow>> {
    let mut st =
        conn.prepare("SELECT client_id, idx, hash, data FROM log ORDER BY client_id, idx")?;
    let rows =
        st.query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64, r.get(2)?, r.get(3)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
