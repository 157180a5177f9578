//! Removed devices (FORMAT.md §5.2): every removal named by an epoch record this device holds
//! (table `removals`), the members each held epoch's key was wrapped to (`epoch_members`), and
//! the devices removed with the entry after which each one's entries are refused (`removed`,
//! derived from the other two and the log by `docs::removals`).

use std::collections::BTreeMap;

use rusqlite::{params, Connection};
use uuid::Uuid;

use super::Result;
use crate::format::epoch::{EpochId, Member, Removal};

/// A removal as an epoch record names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Named {
    /// The record that names it.
    pub(crate) by: EpochId,
    /// That record's Lamport clock: removals are taken in (Lamport clock, clientId) order.
    pub(crate) lamport: u64,
    /// The device removed and the newest of its entries the remover held.
    pub(crate) removal: Removal,
}

/// A device removed (by a removal that holds), as derived from the records and the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Removed {
    /// Its entries after this index are refused.
    pub(crate) cutoff: u64,
    /// The record that removed it.
    pub(crate) by: EpochId,
}

/// Keeps what the record `by` (Lamport clock `lamport`) says: its members and its removals.
pub(crate) fn keep(
    conn: &Connection,
    by: &EpochId,
    lamport: u64,
    members: &[Member],
    removals: &[Removal],
) -> Result<()> {
    let (client, idx) = (by.client.to_string(), by.index as i64);
    let mut m = conn.prepare_cached(
        "INSERT OR IGNORE INTO epoch_members (client_id, idx, member) VALUES (?1, ?2, ?3)",
    )?;
    for member in members {
        m.execute(params![client, idx, member.client.to_string()])?;
    }
    let mut r = conn.prepare_cached(
        "INSERT OR IGNORE INTO removals (by_client, by_idx, removed, cutoff, lamport) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for removal in removals {
        r.execute(params![
            client,
            idx,
            removal.client.to_string(),
            removal.cutoff as i64,
            lamport as i64
        ])?;
    }
    Ok(())
}

/// Every removal named by a record held here, in the order they are taken: by their record's
/// Lamport clock, then its clientId (then the removed device, for a record naming several).
pub(crate) fn named(conn: &Connection) -> Result<Vec<Named>> {
    let mut stmt = conn.prepare_cached(
        "SELECT by_client, by_idx, removed, cutoff, lamport FROM removals
         ORDER BY lamport, by_client, removed",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, i64>(3)?,
            r.get::<_, i64>(4)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (by, idx, removed, cutoff, lamport) = row?;
        let (Ok(by), Ok(removed)) = (Uuid::parse_str(&by), Uuid::parse_str(&removed)) else {
            continue;
        };
        out.push(Named {
            by: EpochId { client: by, index: idx as u64 },
            lamport: lamport as u64,
            removal: Removal { client: removed, cutoff: cutoff as u64 },
        });
    }
    Ok(out)
}

/// Replaces the devices removed.
pub(crate) fn set_removed(conn: &Connection, removed: &BTreeMap<Uuid, Removed>) -> Result<()> {
    conn.execute("DELETE FROM removed", [])?;
    let mut stmt = conn.prepare_cached(
        "INSERT INTO removed (client_id, cutoff, by_client, by_idx) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for (client, r) in removed {
        stmt.execute(params![
            client.to_string(),
            r.cutoff as i64,
            r.by.client.to_string(),
            r.by.index as i64
        ])?;
    }
    Ok(())
}

/// The devices removed, as last derived.
pub(crate) fn removed(conn: &Connection) -> Result<BTreeMap<Uuid, Removed>> {
    let mut stmt =
        conn.prepare_cached("SELECT client_id, cutoff, by_client, by_idx FROM removed")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, i64>(3)?,
        ))
    })?;
    let mut out = BTreeMap::new();
    for row in rows {
        let (client, cutoff, by, idx) = row?;
        let (Ok(client), Ok(by)) = (Uuid::parse_str(&client), Uuid::parse_str(&by)) else {
            continue;
        };
        out.insert(
            client,
            Removed { cutoff: cutoff as u64, by: EpochId { client: by, index: idx as u64 } },
        );
    }
    Ok(out)
}

/// The index after which `client`'s entries are refused, when it was removed.
pub(crate) fn cutoff(conn: &Connection, client: &Uuid) -> Result<Option<u64>> {
    use rusqlite::OptionalExtension;
    Ok(conn
        .prepare_cached("SELECT cutoff FROM removed WHERE client_id = ?1")?
        .query_row([client.to_string()], |r| r.get::<_, i64>(0))
        .optional()?
        .map(|c| c as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removals_come_back_in_the_order_they_are_taken_and_the_derived_list_is_replaced() {
        let conn = crate::store::open_in_memory().unwrap();
        let (a, b, c) = (Uuid::from_u128(1), Uuid::from_u128(2), Uuid::from_u128(3));
        let rec = |client, index| EpochId { client, index };
        keep(&conn, &rec(b, 4), 20, &[], &[Removal { client: a, cutoff: 7 }]).unwrap();
        keep(&conn, &rec(a, 9), 20, &[], &[Removal { client: b, cutoff: 3 }]).unwrap();
        keep(&conn, &rec(c, 2), 5, &[], &[Removal { client: b, cutoff: 1 }]).unwrap();
        // Kept once, however often the record is read.
        keep(&conn, &rec(c, 2), 5, &[], &[Removal { client: b, cutoff: 1 }]).unwrap();
        let order: Vec<EpochId> = named(&conn).unwrap().iter().map(|n| n.by).collect();
        assert_eq!(order, [rec(c, 2), rec(a, 9), rec(b, 4)]);
        let mut removed = BTreeMap::new();
        removed.insert(b, Removed { cutoff: 1, by: rec(c, 2) });
        set_removed(&conn, &removed).unwrap();
        assert_eq!(super::removed(&conn).unwrap(), removed);
        assert_eq!(cutoff(&conn, &b).unwrap(), Some(1));
        assert_eq!(cutoff(&conn, &a).unwrap(), None);
        set_removed(&conn, &BTreeMap::new()).unwrap();
        assert_eq!(cutoff(&conn, &b).unwrap(), None);
    }
}
