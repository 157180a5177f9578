//! Which devices are removed or held back, and after which of its entries each one is refused
//! (FORMAT.md §5.2), derived from the removals named by the epoch records held here and from the
//! log — the same answer on every device once it holds the same logs, whatever order they
//! arrived in.
//!
//! Three rules: [`holding`] (a removal is void when its writer was removed before it wrote it),
//! [`held_back`] (once a device is removed, a device no record wraps the key to and that began
//! in a key the removed one could read is not admitted until a member lets it in: it could be
//! the removed device under a new id) and [`raise`] (entries that a remaining member had taken
//! when it last wrote stay: that member's later changes may build on them, and refusing them
//! would leave those changes without what they follow).

use std::collections::{BTreeMap, BTreeSet};

use rusqlite::Connection;
use uuid::Uuid;

use crate::error::Result;
use crate::format::entry;
use crate::format::epoch::{EpochId, Keyring};
use crate::store;
use crate::store::removals::{cutoff_of, FirstEntry, Named, Removed};

/// The removals that hold, from every removal named (in the order they are taken: their
/// records' Lamport clock, then clientId). A removal is void when its record was written by a
/// device an earlier removal removed with a cutoff below that record's index; a device removed
/// twice stays removed by the first removal that holds.
pub(crate) fn holding(named: &[Named]) -> BTreeMap<Uuid, Removed> {
    let mut removed: BTreeMap<Uuid, Removed> = BTreeMap::new();
    for n in named {
        if removed.get(&n.by.client).is_some_and(|r| r.refuses(n.by.index)) {
            continue;
        }
        removed
            .entry(n.removal.client)
            .or_insert(Removed { cutoff: cutoff_of(&n.removal), by: Some(n.by) });
    }
    removed
}

/// Whether a removed device could read what was written in `epoch`: epoch 0, an epoch whose
/// record wraps to a removed device, or one whose members this device does not know.
fn readable_by_removed(
    epoch: &EpochId,
    removed: &BTreeMap<Uuid, Removed>,
    members: &BTreeMap<EpochId, BTreeSet<Uuid>>,
) -> bool {
    epoch.is_zero() || members.get(epoch).is_none_or(|m| m.iter().any(|c| removed.contains_key(c)))
}

/// An entry's place in the order removals are taken (FORMAT.md §5.2): its Lamport clock, or one
/// more than the place of its writer's previous entry when that is larger, so places grow
/// strictly along a log whatever Lamport clocks its writer chose. A writer cannot place a record
/// before what it had already written, and a look through a log for records placed before some
/// place ends. `lead`: the largest `lamport − index` of the writer's entries before it
/// ([`lead_after`]); the place of entry `n` is then `max(lamport, n + lead)`.
pub(crate) fn place(index: u64, lamport: u64, lead: Option<i64>) -> u64 {
    let raised = lead.map_or(0, |l| index as i128 + l as i128);
    (lamport as i128).max(raised).clamp(0, u64::MAX as i128) as u64
}

/// The `lead` of [`place`] once the entry at `index` with `lamport` is counted.
pub(crate) fn lead_after(lead: Option<i64>, index: u64, lamport: u64) -> Option<i64> {
    let here = (lamport as i128 - index as i128).clamp(i64::MIN as i128, i64::MAX as i128) as i64;
    Some(lead.map_or(here, |l| l.max(here)))
}

/// Whether an entry at `entry` (its Lamport clock and clientId) comes before a removal whose
/// record is at `removal`, in the order removals are taken: an epoch record there would be
/// taken first, and could void the removal (FORMAT.md §5.2, "Records past a cutoff").
pub(crate) fn may_come_before(entry: (u64, Uuid), removal: (u64, Uuid)) -> bool {
    entry < removal
}

/// Whether `device` is not admitted (FORMAT.md §5.2, "Members"): a device is removed, no held
/// record wraps the key to `device`, and its first entry is of an epoch a removed device could
/// read. Such a device may be an honest one that joined around the removal, or the removed one
/// under a new id; only a person can tell, so its entries wait until a member lets it in (a
/// record that wraps to it) or removes it.
pub(crate) fn is_held_back(
    first: &FirstEntry,
    removed: &BTreeMap<Uuid, Removed>,
    members: &BTreeMap<EpochId, BTreeSet<Uuid>>,
) -> bool {
    !removed.is_empty()
        && !removed.contains_key(&first.client)
        && !members.values().any(|m| m.contains(&first.client))
        && readable_by_removed(&first.epoch, removed, members)
}

/// The devices held back (all their entries refused), besides `me`.
pub(crate) fn held_back(
    removed: &BTreeMap<Uuid, Removed>,
    members: &BTreeMap<EpochId, BTreeSet<Uuid>>,
    firsts: &BTreeMap<Uuid, FirstEntry>,
    me: &Uuid,
) -> BTreeMap<Uuid, Removed> {
    firsts
        .values()
        .filter(|f| f.client != *me && is_held_back(f, removed, members))
        .map(|f| (f.client, Removed { cutoff: None, by: None }))
        .collect()
}

/// The clock of a device's entry at an index, when the reader holds that entry and it opens.
pub(crate) type ClockAt<'a> = &'a dyn Fn(&Uuid, u64) -> Option<Vec<(Uuid, u64)>>;

/// The devices whose entries are refused, and after which entry: the removals that hold, the
/// devices held back besides `me`, each cutoff raised by the clocks of the others ([`raise`]).
pub(crate) fn refused(
    named: &[Named],
    members: &BTreeMap<EpochId, BTreeSet<Uuid>>,
    firsts: &BTreeMap<Uuid, FirstEntry>,
    clocks: &BTreeMap<Uuid, Vec<(Uuid, u64)>>,
    clock_at: ClockAt,
    me: &Uuid,
) -> BTreeMap<Uuid, Removed> {
    let holding = holding(named);
    let members = counting(members, &holding);
    let mut refused = held_back(&holding, &members, firsts, me);
    refused.extend(holding);
    raise(refused, clocks, clock_at)
}

/// The members of each record that counts: not those of a record its writer wrote past the
/// cutoff of a removal that removed it (FORMAT.md §5.2: what a removed device's records past
/// its cutoff say of members counts for nothing; their removals are void or not by their place).
pub(crate) fn counting(
    members: &BTreeMap<EpochId, BTreeSet<Uuid>>,
    removed: &BTreeMap<Uuid, Removed>,
) -> BTreeMap<EpochId, BTreeSet<Uuid>> {
    members
        .iter()
        .filter(|(record, _)| {
            !removed.get(&record.client).is_some_and(|r| r.by.is_some() && r.refuses(record.index))
        })
        .map(|(record, m)| (*record, m.clone()))
        .collect()
}

/// Raises each refused device's cutoff to the newest of its entries that the newest entry of a
/// device neither removed nor held back names in its clock (`clocks`: each device's newest
/// entry's clock); and each removed device's cutoff to the newest of its entries that a removed
/// device's entry at the cutoff its removal gave names (`clock_at`): what its remover held of
/// it, written while it was still a member. A clock names what its writer held when it wrote,
/// and a change it wrote may follow any of that: so those entries stay, everywhere — also when
/// their writer is removed later, since the changes it wrote up to its cutoff stay too. What a
/// removed device wrote after that entry, and a held-back device's clock, vouch for nothing,
/// and a held-back device is raised by members' clocks only.
pub(crate) fn raise(
    mut removed: BTreeMap<Uuid, Removed>,
    clocks: &BTreeMap<Uuid, Vec<(Uuid, u64)>>,
    clock_at: ClockAt,
) -> BTreeMap<Uuid, Removed> {
    // The cutoffs the removals gave, before any is raised.
    let given: Vec<(Uuid, u64)> = removed
        .iter()
        .filter(|(_, r)| r.by.is_some())
        .filter_map(|(c, r)| r.cutoff.map(|k| (*c, k)))
        .collect();
    let refused: BTreeSet<Uuid> = removed.keys().copied().collect();
    let raise_by = |removed: &mut BTreeMap<Uuid, Removed>, writer: &Uuid, clock: &[(Uuid, u64)]| {
        let by_member = !refused.contains(writer);
        for (client, index) in clock.iter().filter(|(c, _)| c != writer) {
            if let Some(r) = removed.get_mut(client) {
                if (by_member || r.by.is_some()) && r.refuses(*index) {
                    r.cutoff = Some(*index);
                }
            }
        }
    };
    for (member, clock) in clocks {
        if !refused.contains(member) {
            raise_by(&mut removed, member, clock);
        }
    }
    for (writer, index) in given {
        if let Some(clock) = clock_at(&writer, index) {
            raise_by(&mut removed, &writer, &clock);
        }
    }
    removed
}

/// Meta key set when a record read past a cutoff was kept and which devices are removed has not
/// been derived again since (FORMAT.md §5.2, "Records past a cutoff"): the next pull derives it
/// even when it receives nothing.
pub(crate) const STALE: &str = "removals_stale";

/// Opens an entry held in the log.
fn read_held(conn: &Connection, keys: &Keyring, client: &Uuid, index: u64) -> Option<entry::Entry> {
    crate::docs::lazy::decode(conn, keys, client, index).ok()
}

/// Keeps what the log holds and the removal tables lack: the first entry of each device (kept as
/// entries arrive, but not by versions before this one) and the members of each held epoch's
/// record.
fn fill_in(conn: &Connection, keys: &Keyring, heads: &[(Uuid, u64)]) -> Result<()> {
    let firsts = store::removals::first_entries(conn)?;
    for (client, _) in heads.iter().filter(|(c, _)| !firsts.contains_key(c)) {
        if let Some(e) = read_held(conn, keys, client, 0) {
            store::removals::keep_first(conn, &first_entry(&e))?;
        }
    }
    let members = store::removals::members(conn)?;
    for (id, _) in store::epochs::all(conn)? {
        if members.contains_key(&id) {
            continue;
        }
        if let Some(e) = read_held(conn, keys, &id.client, id.index) {
            if let Some(k) = &e.keys {
                let place = crate::docs::replica::removal_order(conn, &id, e.header.lamport, None)?;
                store::removals::keep(conn, &id, place, &k.members, &k.removals)?;
            }
        }
    }
    Ok(())
}

/// What decides whether a device is admitted, from its entry 0.
pub(crate) fn first_entry(e: &entry::Entry) -> FirstEntry {
    FirstEntry {
        client: e.header.client,
        epoch: e.epoch,
        signer: e.signer,
        written_at: e.header.timestamp,
    }
}

/// A device of which this device holds entries past its cutoff.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Dropped {
    /// The device.
    pub(crate) client: Uuid,
    /// Why and after which entry its entries are refused.
    pub(crate) why: Removed,
    /// Its newest entry held before they are dropped.
    pub(crate) head: u64,
}

/// Derives the devices removed and held back from what this device holds and keeps the answer
/// (table `removed`, read by the pull and by the epoch this device writes in). Returns the
/// devices other than `me` of which this device holds entries past their cutoff: they were
/// taken before the removal was known, and are to be dropped ([`store::log::drop_after`]).
pub(crate) fn refresh(conn: &Connection, keys: &Keyring, me: &Uuid) -> Result<Vec<Dropped>> {
    let named = store::removals::named(conn)?;
    if named.is_empty() {
        return Ok(Vec::new());
    }
    let heads = store::log::heads(conn)?;
    fill_in(conn, keys, &heads)?;
    let mut clocks = BTreeMap::new();
    for (client, head) in &heads {
        // Only an entry that opens counts: one this device cannot read names nothing.
        if let Some(e) = read_held(conn, keys, client, *head) {
            clocks.insert(*client, e.clock);
        }
    }
    let firsts = store::removals::first_entries(conn)?;
    let clock_at =
        |client: &Uuid, index: u64| read_held(conn, keys, client, index).map(|e| e.clock);
    let members = store::removals::members(conn)?;
    let removed = refused(&named, &members, &firsts, &clocks, &clock_at, me);
    store::removals::set_removed(conn, &removed)?;
    Ok(heads
        .into_iter()
        .filter(|(c, h)| c != me && removed.get(c).is_some_and(|r| r.refuses(*h)))
        .map(|(c, h)| Dropped { client: c, why: removed[&c], head: h })
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
        for chain in v["places"].as_array().unwrap() {
            let mut lead = None;
            let lamports = chain["lamports"].as_array().unwrap();
            let got: Vec<u64> = lamports
                .iter()
                .enumerate()
                .map(|(i, l)| {
                    let p = place(i as u64, num(l), lead);
                    lead = lead_after(lead, i as u64, num(l));
                    p
                })
                .collect();
            let want: Vec<u64> = chain["places"].as_array().unwrap().iter().map(num).collect();
            assert_eq!(got, want, "{chain}");
        }
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
                        cutoff: if r["cutoff"].is_null() { u64::MAX } else { num(&r["cutoff"]) },
                    },
                })
                .collect();
            // In the order they are taken, as the store gives them.
            named.sort_by_key(|n| (n.lamport, n.by.client, n.by.index, n.removal.client));
            let clocks: BTreeMap<Uuid, Vec<(Uuid, u64)>> = case["clocks"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(d, c)| {
                    let clock = c.as_object().unwrap();
                    (device(d), clock.iter().map(|(o, i)| (device(o), num(i))).collect())
                })
                .collect();
            // An epoch is "0" or "<device>.<index>".
            let epoch = |s: &str| match s.split_once('.') {
                None => EpochId::ZERO,
                Some((d, i)) => EpochId { client: device(d), index: i.parse().unwrap() },
            };
            let mut members: BTreeMap<EpochId, BTreeSet<Uuid>> = BTreeMap::new();
            for (e, m) in case["members"].as_object().into_iter().flatten() {
                let m = m.as_array().unwrap().iter().map(|d| device(&d.to_string()));
                members.insert(epoch(e), m.collect());
            }
            let firsts: BTreeMap<Uuid, FirstEntry> = case["firsts"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(d, e)| {
                    let client = device(d);
                    let epoch = epoch(e.as_str().unwrap());
                    (client, FirstEntry { client, epoch, signer: None, written_at: 0 })
                })
                .collect();
            let me = device(&case["me"].as_u64().unwrap_or(0).to_string());
            // "kept": device -> index -> the clock of that entry (device -> index).
            let kept: BTreeMap<(Uuid, u64), Vec<(Uuid, u64)>> = case["kept"]
                .as_object()
                .into_iter()
                .flatten()
                .flat_map(|(d, entries)| {
                    entries.as_object().unwrap().iter().map(move |(i, c)| {
                        let clock = c.as_object().unwrap();
                        let clock = clock.iter().map(|(o, k)| (device(o), num(k))).collect();
                        ((device(d), i.parse().unwrap()), clock)
                    })
                })
                .collect();
            let clock_at = |c: &Uuid, i: u64| kept.get(&(*c, i)).cloned();
            let got: BTreeMap<Uuid, Option<u64>> =
                refused(&named, &members, &firsts, &clocks, &clock_at, &me)
                    .into_iter()
                    .map(|(c, r)| (c, r.cutoff))
                    .collect();
            let want: BTreeMap<Uuid, Option<u64>> = case["removed"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(d, c)| (device(d), c.as_u64()))
                .collect();
            assert_eq!(got, want, "{name}");
        }
    }
}
