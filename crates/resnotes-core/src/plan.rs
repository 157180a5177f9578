//! The pure part of a sync cycle: from what this device holds and what a target is known to hold,
//! decide which entries to pull and push. No I/O here; the executor in `sync` does that.

use std::collections::BTreeSet;

use uuid::Uuid;

/// What is known of one client's log, locally and on one target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientView {
    /// The client.
    pub client: Uuid,
    /// Newest index held locally (the local log is contiguous from 0).
    pub local_head: Option<u64>,
    /// Newest index this device last knew the target to hold.
    pub remote_known: Option<u64>,
    /// Whether the entry at `remote_known` is still on the target (checked this cycle).
    pub remote_known_present: bool,
    /// Whether the target has a folder for this client.
    pub remote_has_folder: bool,
}

/// One step of a sync cycle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// Read entries `from`, `from+1`, … until one is missing.
    Pull { client: Uuid, from: u64 },
    /// Write local entries `from..=to` that the target lacks.
    Push { client: Uuid, from: u64, to: u64 },
    /// The target lost entries it once had (restored from an old backup): report it; the
    /// following `Push` repairs it.
    WentBackwards { client: Uuid, had: u64 },
}

/// Plans one cycle for one target: pulls first (in client order), then repairs and pushes.
pub fn plan(views: &[ClientView]) -> Vec<Op> {
    let mut pulls = Vec::new();
    let mut pushes = Vec::new();
    let mut seen = BTreeSet::new();
    for v in views {
        if !seen.insert(v.client) {
            continue;
        }
        if v.remote_has_folder {
            pulls.push(Op::Pull { client: v.client, from: v.local_head.map_or(0, |h| h + 1) });
        }
        let remote = match v.remote_known {
            Some(had) if !v.remote_known_present => {
                pushes.push(Op::WentBackwards { client: v.client, had });
                None
            }
            other => other,
        };
        if let Some(head) = v.local_head {
            let from = remote.map_or(0, |r| r + 1);
            if from <= head {
                pushes.push(Op::Push { client: v.client, from, to: head });
            }
        }
    }
    pulls.extend(pushes);
    pulls
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(
        n: u128,
        local: Option<u64>,
        known: Option<u64>,
        present: bool,
        folder: bool,
    ) -> ClientView {
        ClientView {
            client: Uuid::from_u128(n),
            local_head: local,
            remote_known: known,
            remote_known_present: present,
            remote_has_folder: folder,
        }
    }
    fn c(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    #[test]
    fn case_table() {
        let cases: Vec<(&str, Vec<ClientView>, Vec<Op>)> = vec![
            ("nothing anywhere", vec![], vec![]),
            (
                "fresh target: push all",
                vec![v(1, Some(4), None, false, false)],
                vec![Op::Push { client: c(1), from: 0, to: 4 }],
            ),
            (
                "in step: only look for more",
                vec![v(1, Some(4), Some(4), true, true)],
                vec![Op::Pull { client: c(1), from: 5 }],
            ),
            (
                "push the tail",
                vec![v(1, Some(9), Some(4), true, true)],
                vec![
                    Op::Pull { client: c(1), from: 10 },
                    Op::Push { client: c(1), from: 5, to: 9 },
                ],
            ),
            (
                "unknown remote client: pull from 0",
                vec![v(2, None, None, false, true)],
                vec![Op::Pull { client: c(2), from: 0 }],
            ),
            (
                "went backwards: report and re-push everything",
                vec![v(1, Some(3), Some(3), false, true)],
                vec![
                    Op::Pull { client: c(1), from: 4 },
                    Op::WentBackwards { client: c(1), had: 3 },
                    Op::Push { client: c(1), from: 0, to: 3 },
                ],
            ),
            (
                "pulls come before pushes",
                vec![v(1, Some(0), None, false, false), v(2, Some(5), Some(5), true, true)],
                vec![Op::Pull { client: c(2), from: 6 }, Op::Push { client: c(1), from: 0, to: 0 }],
            ),
            (
                "duplicate views are planned once",
                vec![v(2, None, None, false, true), v(2, None, None, false, true)],
                vec![Op::Pull { client: c(2), from: 0 }],
            ),
        ];
        for (name, views, want) in cases {
            assert_eq!(plan(&views), want, "{name}");
        }
    }
}
