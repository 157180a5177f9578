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
    use serde_json::Value;

    /// Device `n` of the vectors: `00000000-0000-4000-8000-00000000000n`.
    fn device(n: &str) -> Uuid {
        Uuid::parse_str(&format!("00000000-0000-4000-8000-{:0>12}", n)).unwrap()
    }

    fn num(v: &Value) -> u64 {
        v.as_u64().unwrap()
    }

    /// `vectors/epochs/removals.json`: the rules as case tables a second implementation
    /// checks itself against (FORMAT.md §5.2 and §8).
    #[test]
    fn the_removal_vectors_hold() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../vectors/epochs/removals.json");
        let v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let cases = v["cases"].as_array().unwrap();
        assert!(cases.len() >= 10);
        for case in cases {
            let name = case["name"].as_str().unwrap();
            let mut named: Vec<Named> = case["removals"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| Named {
                    by: EpochId { client: device(&r["by"].to_string()), index: num(&r["index"]) },
                    lamport: num(&r["lamport"]),
                    removal: Removal {
                        client: device(&r["removes"].to_string()),
                        cutoff: num(&r["cutoff"]),
                    },
                })
                .collect();
            // In the order they are taken, as the store gives them.
            named.sort_by_key(|n| (n.lamport, n.by.client, n.removal.client));
            let clocks: BTreeMap<Uuid, Vec<(Uuid, u64)>> = case["clocks"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(d, c)| {
                    let clock = c.as_object().unwrap();
                    (device(d), clock.iter().map(|(o, i)| (device(o), num(i))).collect())
                })
                .collect();
            let got: BTreeMap<Uuid, u64> =
                raise(holding(&named), &clocks).into_iter().map(|(c, r)| (c, r.cutoff)).collect();
            let want: BTreeMap<Uuid, u64> = case["removed"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(d, c)| (device(d), num(c)))
                .collect();
            assert_eq!(got, want, "{name}");
        }
    }
}
