//! How far a sync cycle has got, as its events tell it: entries received and sent so far and,
//! once a long pull has counted them, how many it is receiving in all. Both shells show it (the
//! app's indicator, the CLI's progress line); events count per client and restart at each
//! client, so the sums are kept here, once.

use std::collections::BTreeMap;

use crate::sync::SyncEvent;

/// The counts of one cycle; start a new one for the next cycle.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Per (target, client): entries received so far, and the count expected in all if known.
    received: BTreeMap<(String, String), (u64, Option<u64>)>,
    /// Per (target, client): entries written so far.
    sent: BTreeMap<(String, String), u64>,
}

impl Tally {
    /// Takes one event of the cycle (others are ignored).
    pub fn take(&mut self, ev: &SyncEvent) {
        match ev {
            SyncEvent::Pulled { target, client, count } => {
                let e = self.received.entry((target.clone(), client.clone())).or_default();
                e.0 = e.0.max(*count);
            }
            SyncEvent::Expecting { target, client, count } => {
                let e = self.received.entry((target.clone(), client.clone())).or_default();
                e.1 = Some(*count);
            }
            SyncEvent::Pushed { target, client, count } => {
                let e = self.sent.entry((target.clone(), client.clone())).or_default();
                *e = (*e).max(*count);
            }
            _ => {}
        }
    }

    /// Entries received so far.
    pub fn received(&self) -> u64 {
        self.received.values().map(|(n, _)| n).sum()
    }

    /// Entries this cycle is receiving in all, once a long pull has counted its own: the counted
    /// totals plus what other clients brought so far. `None` while nothing was counted.
    pub fn expected(&self) -> Option<u64> {
        self.received
            .values()
            .any(|(_, e)| e.is_some())
            .then(|| self.received.values().map(|(n, e)| e.map_or(*n, |e| e.max(*n))).sum())
    }

    /// Entries written so far.
    pub fn sent(&self) -> u64 {
        self.sent.values().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pulled(client: &str, count: u64) -> SyncEvent {
        SyncEvent::Pulled { target: "t".into(), client: client.into(), count }
    }

    #[test]
    fn counts_add_up_across_clients_and_batches() {
        let mut t = Tally::default();
        assert_eq!((t.received(), t.expected(), t.sent()), (0, None, 0));
        // Each event says how many so far for its client: 256 then 512 is 512, not 768.
        for ev in [pulled("a", 256), pulled("a", 512), pulled("b", 3)] {
            t.take(&ev);
        }
        assert_eq!((t.received(), t.expected()), (515, None));
        t.take(&SyncEvent::Expecting { target: "t".into(), client: "a".into(), count: 10_000 });
        assert_eq!(t.expected(), Some(10_003));
        t.take(&pulled("a", 10_000));
        assert_eq!((t.received(), t.expected()), (10_003, Some(10_003)));
        // More than counted (written meanwhile): the total follows.
        t.take(&pulled("a", 10_010));
        assert_eq!(t.expected(), Some(10_013));
        for (client, count) in [("a", 100), ("a", 256), ("b", 7)] {
            t.take(&SyncEvent::Pushed { target: "t".into(), client: client.into(), count });
        }
        assert_eq!(t.sent(), 263);
    }
}
