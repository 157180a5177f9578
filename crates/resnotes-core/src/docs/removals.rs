//! Which devices are removed, and after which of its entries each one is refused (FORMAT.md
//! §5.2), derived from the removals named by the epoch records held here and from the log — the
//! same answer on every device once it holds the same logs, whatever order they arrived in.
//!
//! Two rules: [`holding`] (a removal is void when its writer was removed before it wrote it)
//! and [`raise`] (a removed device's entries that a remaining member had taken when it last
//! wrote stay: that member's later changes may build on them, and refusing them would leave
//! those changes without what they follow).

use std::collections::BTreeMap;

use rusqlite::Connection;
use uuid::Uuid;

use crate::error::Result;
use crate::format::entry;
use crate::format::epoch::Keyring;
use crate::store;
use crate::store::removals::{Named, Removed};

/// The removals that hold, from every removal named (in the order they are taken: their
/// records' Lamport clock, then clientId). A removal is void when its record was written by a
/// device an earlier removal removed with a cutoff below that record's index; a device removed
/// twice stays removed by the first removal that holds.
pub(crate) fn holding(named: &[Named]) -> BTreeMap<Uuid, Removed> {
    let mut removed: BTreeMap<Uuid, Removed> = BTreeMap::new();
    for n in named {
        if removed.get(&n.by.client).is_some_and(|r| r.cutoff < n.by.index) {
            continue;
        }
        removed.entry(n.removal.client).or_insert(Removed { cutoff: n.removal.cutoff, by: n.by });
    }
    removed
}

/// Raises each removed device's cutoff to the newest of its entries that the newest entry of a
/// device not removed names in its clock (`clocks`: each device's newest entry's clock). A
/// device's clock names what it held when it wrote, and a change it wrote may follow any of
/// that; so those entries stay, everywhere.
pub(crate) fn raise(
    mut removed: BTreeMap<Uuid, Removed>,
    clocks: &BTreeMap<Uuid, Vec<(Uuid, u64)>>,
) -> BTreeMap<Uuid, Removed> {
    for (member, clock) in clocks {
        if removed.contains_key(member) {
            continue;
        }
        for (client, index) in clock {
            if let Some(r) = removed.get_mut(client) {
                r.cutoff = r.cutoff.max(*index);
            }
        }
    }
    removed
}

/// Derives the devices removed from what this device holds and keeps the answer (table
/// `removed`, read by the pull and by the epoch this device writes in). Returns the removed
/// devices other than `me` of which this device holds entries past their cutoff: they were
/// taken before the removal was known, and are to be dropped ([`store::log::drop_after`]).
pub(crate) fn refresh(conn: &Connection, keys: &Keyring, me: &Uuid) -> Result<Vec<(Uuid, u64)>> {
    let named = store::removals::named(conn)?;
    if named.is_empty() {
        return Ok(Vec::new());
    }
    let heads = store::log::heads(conn)?;
    let mut clocks = BTreeMap::new();
    for (client, head) in &heads {
        // Only an entry that opens counts: one this device cannot read names nothing.
        let Some(data) = store::log::entry_data(conn, client, *head)? else { continue };
        let Ok(plain) = keys.open(&data) else { continue };
        if let Ok(e) = entry::decode_in(&plain, keys) {
            clocks.insert(*client, e.clock);
        }
    }
    let removed = raise(holding(&named), &clocks);
    store::removals::set_removed(conn, &removed)?;
    Ok(heads
        .into_iter()
        .filter(|(c, h)| c != me && removed.get(c).is_some_and(|r| *h > r.cutoff))
        .map(|(c, _)| (c, removed[&c].cutoff))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::epoch::{EpochId, Removal};

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    /// `(writer, record index, lamport, removed, cutoff)`.
    fn named(rows: &[Row]) -> Vec<Named> {
        let mut v: Vec<Named> = rows
            .iter()
            .map(|&(by, index, lamport, removed, cutoff)| Named {
                by: EpochId { client: id(by), index },
                lamport,
                removal: Removal { client: id(removed), cutoff },
            })
            .collect();
        v.sort_by_key(|n| (n.lamport, n.by.client, n.removal.client));
        v
    }

    fn cutoffs(m: &BTreeMap<Uuid, Removed>) -> Vec<(u128, u64)> {
        m.iter().map(|(c, r)| (c.as_u128(), r.cutoff)).collect()
    }

    type Row = (u128, u64, u64, u128, u64);
    /// A case: its name, the removals named, the devices removed with their cutoffs.
    type Case = (&'static str, &'static [Row], &'static [(u128, u64)]);

    /// Each case: the removals named, and the devices removed with their cutoffs.
    #[test]
    fn removals_that_hold() {
        let cases: Vec<Case> = vec![
            ("none", &[], &[]),
            ("one", &[(1, 5, 10, 2, 3)], &[(2, 3)]),
            // A removes B while B removes A, both offline: the smaller Lamport clock holds, and
            // B's record, written after B's cutoff, is void.
            ("each other", &[(1, 5, 10, 2, 3), (2, 4, 12, 1, 4)], &[(2, 3)]),
            ("same Lamport clock", &[(2, 4, 10, 1, 4), (1, 5, 10, 2, 3)], &[(2, 3)]),
            // B's record is within its cutoff (A held it when it removed B): both hold.
            ("record within the cutoff", &[(1, 5, 10, 2, 4), (2, 4, 12, 1, 9)], &[(1, 9), (2, 4)]),
            ("removed twice: the first", &[(1, 5, 10, 3, 7), (2, 2, 11, 3, 9)], &[(3, 7)]),
            // A removed device's later removal is void; a void removal voids nothing.
            ("chain", &[(1, 5, 10, 2, 3), (2, 8, 11, 3, 1), (3, 2, 12, 4, 0)], &[(2, 3), (4, 0)]),
        ];
        for (name, rows, want) in cases {
            assert_eq!(cutoffs(&holding(&named(rows))), want, "{name}");
        }
    }

    #[test]
    fn entries_a_remaining_member_took_before_it_knew_stay() {
        let removed = holding(&named(&[(1, 5, 10, 2, 3)]));
        let mut clocks = BTreeMap::new();
        // C had taken B's entry 6 when it last wrote; B's own clock and a removed device's
        // count for nothing.
        clocks.insert(id(3), vec![(id(2), 6)]);
        clocks.insert(id(2), vec![(id(2), 50)]);
        clocks.insert(id(1), vec![(id(2), 3)]);
        assert_eq!(cutoffs(&raise(removed.clone(), &clocks)), [(2, 6)]);
        clocks.insert(id(3), vec![(id(2), 1)]);
        assert_eq!(cutoffs(&raise(removed, &clocks)), [(2, 3)], "never below the record's");
    }
}
