//! Removed devices (FORMAT.md §5.2): every removal named by an epoch record this device holds
//! (table `removals`), the members each held epoch's key was wrapped to (`epoch_members`), each
//! device's first entry (`first_entries`: which epoch, which key), and the devices removed or
//! held back with the entry after which each one's entries are refused (`removed`, derived
//! from the others and the log by `docs::removals`).

use std::collections::{BTreeMap, BTreeSet};

use rusqlite::{params, Connection};
use uuid::Uuid;

use super::Result;
use crate::format::epoch::{EpochId, Member, Removal};

/// A removal as an epoch record names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Named {
    /// The record that names it.
    pub(crate) by: EpochId,
    /// That record's place (its Lamport clock, raised past its writer's earlier entries):
    /// removals are taken in (place, clientId) order.
    pub(crate) lamport: u64,
    /// The device removed and the newest of its entries the remover held.
    pub(crate) removal: Removal,
}

/// A device removed (by a removal that holds) or held back (not admitted), as derived from the
/// records and the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Removed {
    /// Its entries after this index are refused; `None`: all of them.
    pub(crate) cutoff: Option<u64>,
    /// The record that removed it; `None` for a device held back until it is let in.
    pub(crate) by: Option<EpochId>,
}

impl Removed {
    /// Whether its entry `index` is refused.
    pub(crate) fn refuses(&self, index: u64) -> bool {
        self.cutoff.is_none_or(|c| index > c)
    }
}

/// A removal's cutoff as a record writes it: `u64::MAX` keeps none of the device's entries.
pub(crate) fn cutoff_of(removal: &Removal) -> Option<u64> {
    (removal.cutoff != u64::MAX).then_some(removal.cutoff)
}

/// A device's first entry as this device read it: what decides whether it is admitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FirstEntry {
    /// The device.
    pub(crate) client: Uuid,
    /// The key epoch of its entry 0.
    pub(crate) epoch: EpochId,
    /// The key that signed it (`None`: a device of a version that does not sign).
    pub(crate) signer: Option<[u8; 32]>,
    /// When it was written (the writer's clock, ms).
    pub(crate) written_at: i64,
}

/// Keeps a device's first entry (once).
pub(crate) fn keep_first(conn: &Connection, f: &FirstEntry) -> Result<()> {
    conn.prepare_cached(
        "INSERT OR IGNORE INTO first_entries (client_id, epoch_client, epoch_idx, signer, written_at) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        f.client.to_string(),
        f.epoch.client.to_string(),
        f.epoch.index as i64,
        f.signer.as_ref().map(|s| &s[..]),
        f.written_at
    ])?;
    Ok(())
}

/// Every device's first entry kept.
pub(crate) fn first_entries(conn: &Connection) -> Result<BTreeMap<Uuid, FirstEntry>> {
    let mut stmt = conn.prepare_cached(
        "SELECT client_id, epoch_client, epoch_idx, signer, written_at FROM first_entries",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, i64>(2)?,
            r.get::<_, Option<Vec<u8>>>(3)?,
            r.get::<_, i64>(4)?,
        ))
    })?;
    let mut out = BTreeMap::new();
    for row in rows {
        let (client, epoch, idx, signer, written_at) = row?;
        let (Ok(client), Ok(epoch)) = (Uuid::parse_str(&client), Uuid::parse_str(&epoch)) else {
            continue;
        };
        out.insert(
            client,
            FirstEntry {
                client,
                epoch: EpochId { client: epoch, index: idx as u64 },
                signer: signer.and_then(|s| s.try_into().ok()),
                written_at,
            },
        );
    }
    Ok(out)
}

/// The members of every held epoch's record.
pub(crate) fn members(conn: &Connection) -> Result<BTreeMap<EpochId, BTreeSet<Uuid>>> {
    let mut stmt = conn.prepare_cached("SELECT client_id, idx, member FROM epoch_members")?;
    let rows = stmt.query_map([], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get::<_, String>(2)?))
    })?;
    let mut out: BTreeMap<EpochId, BTreeSet<Uuid>> = BTreeMap::new();
    for row in rows {
        let (client, idx, member) = row?;
        let (Ok(client), Ok(member)) = (Uuid::parse_str(&client), Uuid::parse_str(&member)) else {
            continue;
        };
        out.entry(EpochId { client, index: idx as u64 }).or_default().insert(member);
    }
    Ok(out)
}

/// Keeps what the record `by` says: its members and its removals, taken at `lamport` in the
/// order of removals (its place, `docs::replica::removal_order`).
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
    // Read again once its writer's earlier entries are held, a record's place can only rise
    // (docs::replica::removal_order).
    let mut r = conn.prepare_cached(
        "INSERT INTO removals (by_client, by_idx, removed, cutoff, lamport) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (by_client, by_idx, removed) DO UPDATE SET lamport = MAX(lamport, excluded.lamport)",
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
         ORDER BY lamport, by_client, by_idx, removed",
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
            r.cutoff.map_or(-1, |c| c as i64),
            r.by.map(|b| b.client.to_string()),
            r.by.map(|b| b.index as i64)
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
            r.get::<_, Option<String>>(2)?,
            r.get::<_, Option<i64>>(3)?,
        ))
    })?;
    let mut out = BTreeMap::new();
    for row in rows {
        let (client, cutoff, by, idx) = row?;
        let Ok(client) = Uuid::parse_str(&client) else { continue };
        let by = by.and_then(|b| Uuid::parse_str(&b).ok()).zip(idx);
        out.insert(
            client,
            Removed {
                cutoff: (cutoff >= 0).then_some(cutoff as u64),
                by: by.map(|(client, index)| EpochId { client, index: index as u64 }),
            },
        );
    }
    Ok(out)
}

/// How `client`'s entries are refused, when it was removed or is held back.
pub(crate) fn of(conn: &Connection, client: &Uuid) -> Result<Option<Removed>> {
    use rusqlite::OptionalExtension;
    let cutoff: Option<i64> = conn
        .prepare_cached("SELECT cutoff FROM removed WHERE client_id = ?1")?
        .query_row([client.to_string()], |r| r.get(0))
        .optional()?;
    // `by` is not needed where this is asked (the pull).
    Ok(cutoff.map(|c| Removed { cutoff: (c >= 0).then_some(c as u64), by: None }))
}

/// The place in the order removals are taken of the record of the removal that removed
/// `client` (its writer, in `Removed::by`, comes next in that order), with the cutoff it holds;
/// `None` when `client` is not removed (or only held back: no removal to come before).
pub(crate) fn removed_at(conn: &Connection, client: &Uuid) -> Result<Option<(u64, Removed)>> {
    use rusqlite::OptionalExtension;
    let row: Option<(i64, String, i64, i64)> = conn
        .prepare_cached(
            "SELECT r.lamport, r.by_client, r.by_idx, d.cutoff FROM removed d
             JOIN removals r ON r.by_client = d.by_client AND r.by_idx = d.by_idx AND r.removed = d.client_id
             WHERE d.client_id = ?1",
        )?
        .query_row([client.to_string()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .optional()?;
    Ok(row.and_then(|(lamport, by, idx, cutoff)| {
        let by = Uuid::parse_str(&by).ok()?;
        let removed = Removed {
            cutoff: (cutoff >= 0).then_some(cutoff as u64),
            by: Some(EpochId { client: by, index: idx as u64 }),
        };
        Some((lamport as u64, removed))
    }))
}

/// How far a removed device's entries past its cutoff were looked through for epoch records
/// written before its removal (FORMAT.md §5.2, "Records past a cutoff").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PastCutoff {
    /// The cutoff the look began after; another cutoff starts it again.
    pub(crate) cutoff: Option<u64>,
    /// The record of the removal it looks for records placed before, and that record's place;
    /// another removal starts it again.
    pub(crate) removal: (EpochId, u64),
    /// The next entry to look at.
    pub(crate) next: u64,
    /// The entry before it, which it must follow.
    pub(crate) link: super::log::Link,
    /// The `lead` of the device's entries before it, which places it in the order of removals
    /// (`docs::removals::place`).
    pub(crate) lead: Option<i64>,
    /// An entry at or after the removal was met: no later entry can come before it.
    pub(crate) done: bool,
}

/// Where the look through `client`'s entries past its cutoff stands, if it began.
pub(crate) fn past_cutoff(conn: &Connection, client: &Uuid) -> Result<Option<PastCutoff>> {
    use rusqlite::OptionalExtension;
    Ok(conn
        .prepare_cached(
            "SELECT cutoff, next_idx, prev_hash, prev_signer, lead, done, by_client, by_idx, bound FROM past_cutoff WHERE client_id = ?1",
        )?
        .query_row([client.to_string()], |r| {
            let cutoff: i64 = r.get(0)?;
            let hash: Vec<u8> = r.get(2)?;
            let signer: Option<Vec<u8>> = r.get(3)?;
            let by: String = r.get(6)?;
            let record = EpochId {
                client: Uuid::parse_str(&by).unwrap_or_default(),
                index: r.get::<_, i64>(7)? as u64,
            };
            Ok(PastCutoff {
                cutoff: (cutoff >= 0).then_some(cutoff as u64),
                removal: (record, r.get::<_, i64>(8)? as u64),
                next: r.get::<_, i64>(1)? as u64,
                link: super::log::Link {
                    hash: hash.try_into().unwrap_or([0; 32]),
                    signer: signer.and_then(|s| s.try_into().ok()),
                },
                lead: r.get(4)?,
                done: r.get(5)?,
            })
        })
        .optional()?)
}

/// Keeps where the look through `client`'s entries past its cutoff stands.
pub(crate) fn set_past_cutoff(conn: &Connection, client: &Uuid, p: &PastCutoff) -> Result<()> {
    conn.prepare_cached(
        "INSERT OR REPLACE INTO past_cutoff (client_id, cutoff, next_idx, prev_hash, prev_signer, lead, done, by_client, by_idx, bound) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        client.to_string(),
        p.cutoff.map_or(-1, |c| c as i64),
        p.next as i64,
        &p.link.hash[..],
        p.link.signer.as_ref().map(|s| &s[..]),
        p.lead,
        p.done,
        p.removal.0.client.to_string(),
        p.removal.0.index as i64,
        p.removal.1 as i64
    ])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_look_past_a_cutoff_is_kept_and_the_removal_is_found_with_its_place_in_the_order() {
        let conn = crate::store::open_in_memory().unwrap();
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let record = EpochId { client: a, index: 9 };
        keep(&conn, &record, 20, &[], &[Removal { client: b, cutoff: 3 }]).unwrap();
        assert_eq!(removed_at(&conn, &b).unwrap(), None, "nothing derived yet");
        let gone = Removed { cutoff: Some(3), by: Some(record) };
        set_removed(&conn, &BTreeMap::from([(b, gone)])).unwrap();
        assert_eq!(removed_at(&conn, &b).unwrap(), Some((20, gone)));
        // Held back: no removal to come before.
        set_removed(&conn, &BTreeMap::from([(b, Removed { cutoff: None, by: None })])).unwrap();
        assert_eq!(removed_at(&conn, &b).unwrap(), None);
        assert_eq!(past_cutoff(&conn, &b).unwrap(), None);
        let link = crate::store::log::Link { hash: [7; 32], signer: Some([8; 32]) };
        let removal = (record, 20);
        let look =
            PastCutoff { cutoff: Some(3), removal, next: 6, link, lead: Some(-4), done: false };
        set_past_cutoff(&conn, &b, &look).unwrap();
        assert_eq!(past_cutoff(&conn, &b).unwrap(), Some(look));
        let link = Default::default();
        let over = PastCutoff { cutoff: None, removal, next: 0, link, lead: None, done: true };
        set_past_cutoff(&conn, &b, &over).unwrap();
        assert_eq!(past_cutoff(&conn, &b).unwrap(), Some(over));
    }

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
        // Read again once its writer's earlier entries are held, a record's place only rises.
        keep(&conn, &rec(c, 2), 30, &[], &[Removal { client: b, cutoff: 1 }]).unwrap();
        keep(&conn, &rec(c, 2), 3, &[], &[Removal { client: b, cutoff: 1 }]).unwrap();
        let order: Vec<EpochId> = named(&conn).unwrap().iter().map(|n| n.by).collect();
        assert_eq!(order, [rec(a, 9), rec(b, 4), rec(c, 2)]);
        let mut removed = BTreeMap::new();
        removed.insert(b, Removed { cutoff: Some(1), by: Some(rec(c, 2)) });
        removed.insert(c, Removed { cutoff: None, by: None });
        set_removed(&conn, &removed).unwrap();
        assert_eq!(super::removed(&conn).unwrap(), removed);
        assert!(of(&conn, &b).unwrap().is_some_and(|r| r.refuses(2) && !r.refuses(1)));
        assert!(of(&conn, &c).unwrap().is_some_and(|r| r.refuses(0)), "held back: all");
        assert_eq!(of(&conn, &a).unwrap(), None);
        set_removed(&conn, &BTreeMap::new()).unwrap();
        assert_eq!(of(&conn, &b).unwrap(), None);
    }
}
