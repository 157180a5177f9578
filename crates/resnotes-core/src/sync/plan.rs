//! The pure part of a sync cycle: from what this device holds and what a target is known to hold,
//! decide which entries to pull and push. No I/O here; the executor in `sync` does that.

use std::collections::{BTreeMap, BTreeSet};

use uuid::Uuid;

/// What is known of one client's log, locally and on one target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ClientView {
    /// The client.
    pub(crate) client: Uuid,
    /// Newest index held locally (the local log is contiguous from 0).
    pub(crate) local_head: Option<u64>,
    /// Newest index this device last knew the target to hold.
    pub(crate) remote_known: Option<u64>,
    /// Whether the entry at `remote_known` is still on the target (checked this cycle).
    pub(crate) remote_known_present: bool,
    /// Whether the target has a folder for this client.
    pub(crate) remote_has_folder: bool,
}

/// One step of a sync cycle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    /// Read entries `from`, `from+1`, … until one is missing.
    Pull { client: Uuid, from: u64 },
    /// Write local entries `from..=to` that the target lacks.
    Push { client: Uuid, from: u64, to: u64 },
    /// The target lost entries it once had (restored from an old backup): report it; the
    /// following `Push` repairs it.
    WentBackwards { client: Uuid, had: u64 },
}

/// One target's cycle: the pulls, then the repairs and pushes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Plan {
    /// Only [`Op::Pull`]s, in client order.
    pub(crate) pulls: Vec<Op>,
    /// [`Op::WentBackwards`] and [`Op::Push`], in client order.
    pub(crate) pushes: Vec<Op>,
}

/// Plans one cycle for one target. The executor runs the pulls of every target first, then
/// plans again from [`after_pulls`] for the pushes: pulling changes what this device holds
/// (entries to relay) and what the target is known to hold.
pub(crate) fn plan(views: &[ClientView]) -> Plan {
    let mut p = Plan::default();
    let mut seen = BTreeSet::new();
    for v in views {
        if !seen.insert(v.client) {
            continue;
        }
        if v.remote_has_folder {
            p.pulls.push(Op::Pull { client: v.client, from: v.local_head.map_or(0, |h| h + 1) });
        }
        let remote = match v.remote_known {
            Some(had) if !v.remote_known_present => {
                p.pushes.push(Op::WentBackwards { client: v.client, had });
                None
            }
            other => other,
        };
        if let Some(head) = v.local_head {
            let from = remote.map_or(0, |r| r + 1);
            if from <= head {
                p.pushes.push(Op::Push { client: v.client, from, to: head });
            }
        }
    }
    p
}

/// The views of a target once every target's pulls are done: this device's newest index of
/// each client (`heads`, which may now include clients first seen on another target) and how
/// far the target is known to hold each client's entries (`known`, which pulling advanced). A
/// position that moved since the survey was just read from the target, so it is there.
pub(crate) fn after_pulls(
    views: &[ClientView],
    heads: &[(Uuid, u64)],
    known: &BTreeMap<Uuid, Option<u64>>,
) -> Vec<ClientView> {
    let head_of = |c: &Uuid| heads.iter().find(|(h, _)| h == c).map(|(_, i)| *i);
    let mut out: Vec<ClientView> = views
        .iter()
        .map(|v| {
            let stored = known.get(&v.client).copied().unwrap_or(v.remote_known);
            ClientView {
                local_head: head_of(&v.client),
                remote_known_present: v.remote_known_present || stored != v.remote_known,
                remote_known: stored,
                ..v.clone()
            }
        })
        .collect();
    for (c, h) in heads {
        if !views.iter().any(|v| v.client == *c) {
            out.push(ClientView {
                client: *c,
                local_head: Some(*h),
                remote_known: None,
                remote_known_present: false,
                remote_has_folder: false,
            });
        }
    }
    out
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
            let p = plan(&views);
            let all: Vec<Op> = p.pulls.iter().chain(&p.pushes).cloned().collect();
            assert_eq!(all, want, "{name}");
            assert!(p.pulls.iter().all(|o| matches!(o, Op::Pull { .. })), "{name}");
        }
    }

    #[test]
    fn views_after_pulls() {
        let none = BTreeMap::new();
        // (name, views, heads, known after pulls, want)
        type Case = (
            &'static str,
            Vec<ClientView>,
            Vec<(Uuid, u64)>,
            BTreeMap<Uuid, Option<u64>>,
            Vec<ClientView>,
        );
        let cases: Vec<Case> = vec![
            (
                "nothing changed",
                vec![v(1, Some(4), Some(4), true, true)],
                vec![(c(1), 4)],
                none.clone(),
                vec![v(1, Some(4), Some(4), true, true)],
            ),
            (
                "pulled entries of a known client",
                vec![v(2, Some(1), Some(1), true, true)],
                vec![(c(2), 7)],
                [(c(2), Some(7))].into(),
                vec![v(2, Some(7), Some(7), true, true)],
            ),
            (
                "first pull of a client: now known present",
                vec![v(2, None, None, false, true)],
                vec![(c(2), 3)],
                [(c(2), Some(3))].into(),
                vec![v(2, Some(3), Some(3), true, true)],
            ),
            (
                "a client pulled from another target is relayed",
                vec![v(1, Some(0), Some(0), true, true)],
                vec![(c(1), 0), (c(3), 5)],
                none.clone(),
                vec![v(1, Some(0), Some(0), true, true), v(3, Some(5), None, false, false)],
            ),
            (
                "went backwards stays so when nothing was pulled",
                vec![v(1, Some(3), Some(3), false, true)],
                vec![(c(1), 3)],
                [(c(1), Some(3))].into(),
                vec![v(1, Some(3), Some(3), false, true)],
            ),
        ];
        for (name, views, heads, known, want) in cases {
            assert_eq!(after_pulls(&views, &heads, &known), want, "{name}");
        }
    }
}
