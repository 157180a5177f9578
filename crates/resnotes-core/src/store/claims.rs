//! Entries other devices say exist (table `claimed`): every entry's clock (FORMAT.md §4.2)
//! names the newest entry its writer held of each other device. When this device still lacks
//! such an entry long after it learnt of it, a folder or server may be holding it back; the
//! status says so (`workspace/status.rs`). One row per device, for the oldest claim not yet met.

use rusqlite::{params, Connection, OptionalExtension};
use uuid::Uuid;

use super::Result;

/// The largest entry index a claim may name (2^53): far beyond any log, and safe to count with.
const MAX_INDEX: u64 = 1 << 53;

/// Entries of a device that another device's entry says exist.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Claim {
    /// The device whose entries they are.
    pub(crate) client: Uuid,
    /// The newest of them said to exist.
    pub(crate) index: u64,
    /// The device whose entry said so.
    pub(crate) via: Uuid,
    /// When that entry was written (its writer's clock, ms): it held them by then.
    pub(crate) written_at: i64,
    /// When this device first learnt of entries of `client` it still lacks (ms, local clock).
    pub(crate) since: i64,
}

/// Records that `claim.via`'s entry says entry `claim.index` of `claim.client` exists, learnt
/// at `claim.since`. Nothing is recorded when this device holds that entry already. When an
/// earlier claim is still unmet, its time stays (the wait is counted from the oldest missing
/// entry) and only the index grows; a met one is replaced.
pub(crate) fn note(conn: &Connection, claim: &Claim) -> Result<()> {
    // No log grows this long; a clock naming more is nonsense and would never be met.
    if claim.index > MAX_INDEX {
        return Ok(());
    }
    let head = super::head(conn, &claim.client)?.map(|(i, _)| i);
    if head.is_some_and(|h| h >= claim.index) {
        return Ok(());
    }
    let unmet: Option<i64> = conn
        .query_row(
            "SELECT idx FROM claimed WHERE client_id = ?1",
            [claim.client.to_string()],
            |r| r.get(0),
        )
        .optional()?
        .filter(|i| head.is_none_or(|h| (*i as u64) > h));
    match unmet {
        Some(i) if i as u64 >= claim.index => {}
        Some(_) => {
            // The newest claim says who had them and when; the wait still counts from the first.
            conn.execute(
                "UPDATE claimed SET idx = ?2, via = ?3, written_at = ?4 WHERE client_id = ?1",
                params![
                    claim.client.to_string(),
                    claim.index as i64,
                    claim.via.to_string(),
                    claim.written_at
                ],
            )?;
        }
        None => {
            conn.execute(
                "INSERT OR REPLACE INTO claimed (client_id, idx, via, written_at, since) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    claim.client.to_string(),
                    claim.index as i64,
                    claim.via.to_string(),
                    claim.written_at,
                    claim.since
                ],
            )?;
        }
    }
    Ok(())
}

/// Claims this device has not met: entries said to exist that it does not hold, with how many.
pub(crate) fn unmet(conn: &Connection) -> Result<Vec<(Claim, u64)>> {
    let mut st = conn.prepare(
        "SELECT client_id, idx, via, written_at, since, (SELECT MAX(idx) FROM log WHERE log.client_id = claimed.client_id) FROM claimed",
    )?;
    let rows = st.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, i64>(3)?,
            r.get::<_, i64>(4)?,
            r.get::<_, Option<i64>>(5)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (client, index, via, written_at, since, head) = row?;
        let (Ok(client), Ok(via)) = (Uuid::parse_str(&client), Uuid::parse_str(&via)) else {
            continue;
        };
        let held = head.map_or(0, |h| h + 1);
        if index >= held {
            let claim = Claim { client, index: index as u64, via, written_at, since };
            out.push((claim, (index + 1 - held) as u64));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{insert_entry, open_in_memory, LogRow};

    fn entry(c: &Connection, client: Uuid, index: u64) {
        let row = LogRow {
            client,
            index,
            timestamp: 1,
            lamport: 1,
            hash: [1; 32],
            prev_hash: [0; 32],
            signer: None,
        };
        insert_entry(c, &row, b"x", 1).unwrap();
    }

    #[test]
    fn the_oldest_unmet_claim_keeps_its_time_and_a_met_one_is_forgotten() {
        let c = open_in_memory().unwrap();
        let (laptop, phone) = (Uuid::new_v4(), Uuid::new_v4());
        let claim =
            |index, since| Claim { client: laptop, index, via: phone, written_at: 7, since };
        assert!(unmet(&c).unwrap().is_empty());
        note(&c, &claim(2, 100)).unwrap();
        assert_eq!(unmet(&c).unwrap(), vec![(claim(2, 100), 3)]);
        // Later claims while it is still missing: the wait counts from the first; the newest
        // claim says who had them and when.
        let tablet = Uuid::new_v4();
        note(&c, &Claim { via: tablet, written_at: 9, ..claim(4, 200) }).unwrap();
        note(&c, &claim(3, 300)).unwrap();
        let later = Claim { via: tablet, written_at: 9, ..claim(4, 100) };
        assert_eq!(unmet(&c).unwrap(), vec![(later.clone(), 5)]);
        // A clock naming an absurd index is no claim.
        note(&c, &claim(u64::MAX, 300)).unwrap();
        assert_eq!(unmet(&c).unwrap(), vec![(later, 5)]);
        // Some arrive: fewer missing, same wait.
        for i in 0..=2 {
            entry(&c, laptop, i);
        }
        assert_eq!(unmet(&c).unwrap()[0].1, 2);
        // All arrive: met. A claim of entries held is not even recorded; a new unmet one
        // starts a new wait.
        for i in 3..=4 {
            entry(&c, laptop, i);
        }
        assert!(unmet(&c).unwrap().is_empty());
        note(&c, &claim(4, 400)).unwrap();
        note(&c, &claim(6, 500)).unwrap();
        assert_eq!(unmet(&c).unwrap(), vec![(claim(6, 500), 2)]);
    }
}
