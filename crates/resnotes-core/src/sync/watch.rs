//! Continuous sync (`sync --watch`, the app's background sync): a `notify` watcher on every
//! folder target wakes the loop on remote changes, a cheap log check catches local edits (also
//! by other processes on the same data dir), and a polling timer covers network file systems
//! that deliver no events. After a failed cycle the loop backs off exponentially with jitter.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use notify::{EventKind, RecursiveMode, Watcher as _};
use serde::Serialize;

use crate::docs::Replica;
use crate::error::Result;
use crate::sync::{SyncEvent, TargetReport};

/// Timing of the watch loop.
#[derive(Clone, Debug)]
pub struct WatchOptions {
    /// Quiet time after a change before syncing (bursts become one cycle).
    pub debounce: Duration,
    /// Sync at least this often even without events (network file systems).
    pub poll_interval: Duration,
    /// How often the local log is checked for new entries.
    pub local_check: Duration,
    /// Waiting after failed cycles.
    pub backoff: Backoff,
}

impl Default for WatchOptions {
    fn default() -> Self {
        WatchOptions {
            debounce: Duration::from_millis(60),
            poll_interval: Duration::from_secs(10),
            local_check: Duration::from_millis(100),
            backoff: Backoff { base: Duration::from_secs(1), max: Duration::from_secs(300) },
        }
    }
}

/// Exponential backoff with jitter: after `n` failed cycles in a row the loop waits about
/// `base * 2^(n-1)`, at most `max`, scaled by a random factor in [0.5, 1) so that devices that
/// failed together do not retry together.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// Wait after the first failure.
    pub base: Duration,
    /// Longest wait.
    pub max: Duration,
}

impl Backoff {
    /// The wait after `failures` failed cycles in a row; `unit` is a random number in [0, 1).
    pub fn delay(&self, failures: u32, unit: f64) -> Duration {
        if failures == 0 {
            return Duration::ZERO;
        }
        let exp = 2f64.powi(failures.saturating_sub(1).min(30) as i32);
        let full = (self.base.as_secs_f64() * exp).min(self.max.as_secs_f64());
        Duration::from_secs_f64(full * (0.5 + 0.5 * unit.clamp(0.0, 1.0)))
    }
}

/// Why a cycle ran.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wake {
    /// First cycle.
    Start,
    /// A file changed in a target folder.
    Remote,
    /// The local log grew.
    Local,
    /// The polling timer fired (or a retry after a failure).
    Poll,
    /// Someone asked for a sync now ([`Control::nudge`]).
    Nudge,
}

/// What background sync is doing, for the status indicator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum SyncState {
    /// Nothing to do: every target is in step (or there is none).
    Idle,
    /// Reading entries from a target.
    Pulling,
    /// Writing entries to a target.
    Pushing,
    /// A target cannot be reached; retrying with backoff.
    Offline,
    /// A target failed for another reason, or some entries could not be read.
    Error,
}

impl SyncState {
    /// The state after a finished cycle, from its reports.
    pub fn after(reports: &[TargetReport]) -> SyncState {
        if reports.iter().any(|r| r.error.is_some() && !r.unreachable) {
            SyncState::Error
        } else if reports.iter().any(|r| r.unreachable) {
            SyncState::Offline
        } else if reports.iter().any(|r| !r.problems.is_empty()) {
            SyncState::Error
        } else {
            SyncState::Idle
        }
    }
}

/// Shared switches of a running loop: stop it, or ask for a cycle now.
#[derive(Debug, Default)]
pub struct Control {
    stop: AtomicBool,
    nudge: AtomicBool,
}

impl Control {
    /// Asks the loop to end after the current cycle.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
    }

    /// Whether [`Control::stop`] was called.
    pub fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// Asks for a cycle as soon as possible (also during backoff).
    pub fn nudge(&self) {
        self.nudge.store(true, Ordering::SeqCst);
    }

    fn take_nudge(&self) -> bool {
        self.nudge.swap(false, Ordering::SeqCst)
    }
}

/// Receives what the loop does. Every method has an empty default.
pub trait Observer {
    /// A sync event inside a cycle.
    fn event(&mut self, _ev: SyncEvent) {}
    /// A cycle ended; `retry_in` is set when it failed and the loop is backing off.
    fn cycle(&mut self, _wake: Wake, _reports: &[TargetReport], _retry_in: Option<Duration>) {}
    /// A one-off notice (e.g. a folder cannot be watched and is polled instead).
    fn notice(&mut self, _msg: String) {}
    /// The loop stopped on an error it cannot retry (the local database failed); background
    /// sync is over until it is started again.
    fn stopped(&mut self, _error: &crate::Error) {}
}

/// File-system watchers over the given folders; events arrive on a channel. If a watcher
/// cannot be created (unsupported file system), the loop relies on polling alone.
struct FolderEvents {
    folders: Vec<PathBuf>,
    rx: Receiver<()>,
    _watchers: Vec<notify::RecommendedWatcher>,
}

fn watch_folders(folders: Vec<PathBuf>, poll: Duration, obs: &mut dyn Observer) -> FolderEvents {
    let (tx, rx) = channel();
    let mut watchers = Vec::new();
    for f in &folders {
        let tx = tx.clone();
        let made = notify::recommended_watcher(move |ev: notify::Result<notify::Event>| {
            if let Ok(ev) = ev {
                let ours = ev.paths.iter().all(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with('.') && n.ends_with(".tmp"))
                });
                if !matches!(ev.kind, EventKind::Access(_)) && !ours {
                    let _ = tx.send(());
                }
            }
        });
        match made.and_then(|mut w| w.watch(f, RecursiveMode::Recursive).map(|_| w)) {
            Ok(w) => watchers.push(w),
            Err(e) => obs.notice(format!(
                "cannot watch {}: {e}; polling every {} s instead",
                f.display(),
                poll.as_secs()
            )),
        }
    }
    FolderEvents { folders, rx, _watchers: watchers }
}

fn folder_targets(ws: &Replica) -> Result<Vec<PathBuf>> {
    Ok(ws.targets()?.into_iter().filter_map(|t| t.kind.watched_folder(&t.location)).collect())
}

fn log_mark(ws: &Replica) -> Result<i64> {
    Ok(crate::store::log::growth_mark(&ws.conn)?)
}

/// Runs sync cycles until [`Control::stop`]. Targets added or removed meanwhile (by this
/// process or another one on the same data dir) are picked up at the next cycle.
pub(crate) fn run(
    ws: &mut Replica,
    opts: &WatchOptions,
    ctl: &Control,
    obs: &mut dyn Observer,
) -> Result<()> {
    let mut events = watch_folders(folder_targets(ws)?, opts.poll_interval, obs);
    let mut wake = Wake::Start;
    let mut failures = 0u32;
    loop {
        let reports = ws.sync_all(&mut |ev| obs.event(ev))?;
        failures =
            if reports.iter().any(|r| r.error.is_some()) { failures.saturating_add(1) } else { 0 };
        let retry_in = (failures > 0).then(|| opts.backoff.delay(failures, fastrand::f64()));
        obs.cycle(wake, &reports, retry_in);
        let folders = folder_targets(ws)?;
        if folders != events.folders {
            events = watch_folders(folders, opts.poll_interval, obs);
        }
        // Drain events caused by our own writes during the cycle.
        while events.rx.try_recv().is_ok() {}
        let mark = log_mark(ws)?;
        let next_poll = Instant::now() + retry_in.unwrap_or(opts.poll_interval);
        wake = loop {
            if ctl.stopped() {
                return Ok(());
            }
            if ctl.take_nudge() {
                break Wake::Nudge;
            }
            let step = opts.local_check.min(next_poll.saturating_duration_since(Instant::now()));
            match events.rx.recv_timeout(step) {
                Ok(()) => {
                    // Debounce: wait until the folder has been quiet for a moment.
                    let until = Instant::now() + opts.debounce;
                    while events
                        .rx
                        .recv_timeout(until.saturating_duration_since(Instant::now()))
                        .is_ok()
                    {}
                    break Wake::Remote;
                }
                Err(RecvTimeoutError::Disconnected) => std::thread::sleep(step),
                Err(RecvTimeoutError::Timeout) => {}
            }
            // While backing off, local edits wait for the retry; they are safe in the log.
            if retry_in.is_none() && log_mark(ws)? != mark {
                std::thread::sleep(opts.debounce);
                break Wake::Local;
            }
            if Instant::now() >= next_poll {
                break Wake::Poll;
            }
        };
    }
}

/// The attachment loop: an asset cycle ([`Workspace::sync_assets`]) at start, after every
/// [`Control::nudge`] and at least every `interval`, until stopped. It runs on its own
/// connection and thread beside [`run`], so a large upload or download never holds back notes;
/// `stop` is checked between files.
pub(crate) fn run_assets(
    ws: &Replica,
    interval: Duration,
    ctl: &Control,
    obs: &mut dyn Observer,
) -> Result<()> {
    loop {
        let reports = ws.sync_assets(&|| ctl.stopped(), &mut |ev| obs.event(ev))?;
        obs.cycle(Wake::Poll, &reports, None);
        let until = Instant::now() + interval;
        loop {
            if ctl.stopped() {
                return Ok(());
            }
            if ctl.take_nudge() || Instant::now() >= until {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_with_jitter_in_range() {
        let b = Backoff { base: Duration::from_secs(1), max: Duration::from_secs(60) };
        let cases: &[(u32, f64, f64)] = &[
            (0, 0.7, 0.0),
            (1, 0.0, 0.5),
            (1, 0.999_999, 1.0),
            (2, 0.0, 1.0),
            (3, 0.5, 3.0),
            (7, 0.0, 30.0),
            (7, 0.999_999, 60.0),
            (40, 0.0, 30.0),
            (u32::MAX, 0.5, 45.0),
        ];
        for &(n, unit, want) in cases {
            let got = b.delay(n, unit).as_secs_f64();
            assert!((got - want).abs() < 1e-3, "failures {n}, unit {unit}: got {got}, want {want}");
        }
    }

    fn report(error: Option<&str>, unreachable: bool, problems: &[&str]) -> TargetReport {
        TargetReport {
            error: error.map(str::to_string),
            unreachable,
            problems: problems.iter().map(|p| p.to_string()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn state_after_a_cycle() {
        let cases: Vec<(Vec<TargetReport>, SyncState)> = vec![
            (vec![], SyncState::Idle),
            (vec![report(None, false, &[])], SyncState::Idle),
            (vec![report(Some("gone"), true, &[])], SyncState::Offline),
            (vec![report(None, false, &[]), report(Some("gone"), true, &[])], SyncState::Offline),
            (vec![report(Some("denied"), false, &[])], SyncState::Error),
            (
                vec![report(Some("gone"), true, &[]), report(Some("denied"), false, &[])],
                SyncState::Error,
            ),
            (vec![report(None, false, &["entry 3 could not be decrypted"])], SyncState::Error),
        ];
        for (reports, want) in cases {
            assert_eq!(SyncState::after(&reports), want, "{reports:?}");
        }
    }
}
