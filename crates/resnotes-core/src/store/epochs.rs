//! Key epochs this device holds (tables `epochs` and `key_wraps`, FORMAT.md §5.2): the identity of
//! each epoch, learnt from the epoch records it read, from a `keys/` file at join, or from a
//! record it wrote; and the passphrase wraps (`keys/` files) of the epochs it started, which it
//! copies to every target. The records in the log remain the truth: each key here is one a
//! record carried.

use rusqlite::{params, Connection, OptionalExtension};
use uuid::Uuid;

use super::Result;
use crate::format::epoch::{EpochId, EpochSecret};

/// Meta key set while an entry waits for a key epoch this device was not given (the
/// workspace's `needs_new_passphrase` status); removed when it learns a new epoch.
pub(crate) const MISSING_KEY: &str = "missing_key";

/// Every epoch key held besides epoch 0's, oldest learnt first.
pub(crate) fn all(conn: &Connection) -> Result<Vec<(EpochId, EpochSecret)>> {
    keys_of(conn, "SELECT client_id, idx, identity FROM epochs ORDER BY rowid")
}

/// The keys records named for epochs whose own record has not confirmed one yet.
pub(crate) fn candidates(conn: &Connection) -> Result<Vec<(EpochId, EpochSecret)>> {
    keys_of(
        conn,
        "SELECT client_id, idx, identity FROM epoch_candidates c WHERE NOT EXISTS
         (SELECT 1 FROM epochs e WHERE e.client_id = c.client_id AND e.idx = c.idx)",
    )
}

fn keys_of(conn: &Connection, sql: &str) -> Result<Vec<(EpochId, EpochSecret)>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map([], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get::<_, String>(2)?))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (client, index, identity) = row?;
        // A row this program did not write (damaged by hand) is skipped: the records still
        // hold every key.
        let (Ok(client), Ok(secret)) =
            (Uuid::parse_str(&client), EpochSecret::parse(identity.as_bytes()))
        else {
            continue;
        };
        out.push((EpochId { client, index: index as u64 }, secret));
    }
    Ok(out)
}

/// Keeps an epoch's key, read from the epoch's own record (whose Lamport clock is `lamport`);
/// a key already held for that epoch stays (returns false).
pub(crate) fn learn(
    conn: &Connection,
    id: &EpochId,
    secret: &EpochSecret,
    lamport: u64,
) -> Result<bool> {
    if id.is_zero() {
        return Ok(false);
    }
    let n = conn
        .prepare_cached(
            "INSERT OR IGNORE INTO epochs (client_id, idx, identity, lamport) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![id.client.to_string(), id.index as i64, secret.expose(), lamport as i64])?;
    Ok(n == 1)
}

/// Keeps a key a record names for an earlier epoch: used only to open that epoch's record,
/// which then says whether it is the epoch's key (a record's writer could name any key).
pub(crate) fn keep_candidate(conn: &Connection, id: &EpochId, secret: &EpochSecret) -> Result<()> {
    if id.is_zero() {
        return Ok(());
    }
    conn.prepare_cached(
        "INSERT OR IGNORE INTO epoch_candidates (client_id, idx, identity) VALUES (?1, ?2, ?3)",
    )?
    .execute(params![id.client.to_string(), id.index as i64, secret.expose()])?;
    Ok(())
}

/// An epoch `e` that may be written in: its record wraps the key to no removed or held-back
/// device, and is not past its writer's cutoff (its keys stay held, to read what was written in
/// it, but nothing new is).
const USABLE: &str =
    "NOT EXISTS (SELECT 1 FROM epoch_members m JOIN removed r ON r.client_id = m.member
       WHERE m.client_id = e.client_id AND m.idx = e.idx)
     AND NOT EXISTS (SELECT 1 FROM removed r WHERE r.client_id = e.client_id
       AND (r.cutoff < 0 OR e.idx > r.cutoff))";

/// The epoch this device writes in (FORMAT.md §5.2): the newest, by its record's Lamport clock
/// then clientId, among the epochs whose key it holds that may be written in ([`USABLE`]);
/// epoch 0 when there is none.
pub(crate) fn newest(conn: &Connection) -> Result<EpochId> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT client_id, idx FROM epochs e WHERE {USABLE} ORDER BY lamport DESC, client_id DESC LIMIT 1"
    ))?;
    let mut rows = stmt.query([])?;
    let Some(r) = rows.next()? else { return Ok(EpochId::ZERO) };
    let client: String = r.get(0)?;
    let index: i64 = r.get(1)?;
    Ok(Uuid::parse_str(&client)
        .map(|client| EpochId { client, index: index as u64 })
        .unwrap_or(EpochId::ZERO))
}

/// Whether epoch `id` is held and may be written in ([`USABLE`]): only such an epoch's
/// `keys/` file is relayed.
pub(crate) fn usable(conn: &Connection, id: &EpochId) -> Result<bool> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT 1 FROM epochs e WHERE client_id = ?1 AND idx = ?2 AND {USABLE}"
        ))?
        .query_row(params![id.client.to_string(), id.index as i64], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Keeps a `keys/` file this device wrote (its name under `keys/` and its bytes), to copy to
/// every target.
pub(crate) fn keep_wrap(conn: &Connection, name: &str, data: &[u8], now: i64) -> Result<()> {
    conn.execute(
        "INSERT OR REPLACE INTO key_wraps (name, data, written_at) VALUES (?1, ?2, ?3)",
        params![name, data, now],
    )?;
    Ok(())
}

/// The `keys/` files this device wrote, newest first: only the newest is current, the others
/// are removed from targets where they are found.
pub(crate) fn wraps(conn: &Connection) -> Result<Vec<(String, Vec<u8>)>> {
    let mut stmt = conn
        .prepare_cached("SELECT name, data FROM key_wraps ORDER BY written_at DESC, name DESC")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_kept_once_candidates_wait_and_the_newest_record_is_written_in() {
        let conn = crate::store::open_in_memory().unwrap();
        assert_eq!(newest(&conn).unwrap(), EpochId::ZERO);
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let (e1, e2) = (EpochId { client: a, index: 3 }, EpochId { client: b, index: 1 });
        let (s1, s2) = (EpochSecret::generate(), EpochSecret::generate());
        // A candidate is not a key held.
        keep_candidate(&conn, &e1, &s2).unwrap();
        assert_eq!(candidates(&conn).unwrap(), vec![(e1, s2.clone())]);
        assert_eq!(newest(&conn).unwrap(), EpochId::ZERO);
        assert!(learn(&conn, &e1, &s1, 9).unwrap());
        assert!(candidates(&conn).unwrap().is_empty(), "confirmed by the epoch's own record");
        assert!(!learn(&conn, &e1, &s2, 9).unwrap(), "a held key stays");
        assert!(!learn(&conn, &EpochId::ZERO, &s2, 1).unwrap(), "epoch 0 is index.json's");
        assert_eq!(newest(&conn).unwrap(), e1);
        assert!(learn(&conn, &e2, &s2, 12).unwrap());
        assert_eq!(all(&conn).unwrap(), vec![(e1, s1), (e2, s2)]);
        assert_eq!(newest(&conn).unwrap(), e2, "the record with the larger Lamport clock");
    }

    #[test]
    fn the_newest_wrap_comes_first() {
        let conn = crate::store::open_in_memory().unwrap();
        keep_wrap(&conn, "1.a.3.age", b"old", 10).unwrap();
        keep_wrap(&conn, "5.a.9.age", b"new", 20).unwrap();
        let names: Vec<String> = wraps(&conn).unwrap().into_iter().map(|w| w.0).collect();
        assert_eq!(names, ["5.a.9.age", "1.a.3.age"]);
    }
}
