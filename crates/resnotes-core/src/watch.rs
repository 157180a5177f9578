//! Continuous sync (`sync --watch`, the app's background sync): a `notify` watcher on every
//! folder target wakes the loop on remote changes, a cheap log check catches local edits (also
//! by other processes on the same data dir), and a polling timer covers network file systems
//! that deliver no events.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use notify::{EventKind, RecursiveMode, Watcher as _};

use crate::error::Result;
use crate::sync::{SyncEvent, TargetReport};
use crate::workspace::Workspace;

/// Timing of the watch loop.
#[derive(Clone, Debug)]
pub struct WatchOptions {
    /// Quiet time after a change before syncing (bursts become one cycle).
    pub debounce: Duration,
    /// Sync at least this often even without events (network file systems).
    pub poll_interval: Duration,
    /// How often the local log is checked for new entries.
    pub local_check: Duration,
}

impl Default for WatchOptions {
    fn default() -> Self {
        WatchOptions { debounce: Duration::from_millis(60), poll_interval: Duration::from_secs(10), local_check: Duration::from_millis(100) }
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
    /// The polling timer fired.
    Poll,
}

/// File-system watchers over the given folders; events arrive on a channel. If a watcher
/// cannot be created (unsupported file system), the loop relies on polling alone.
struct FolderEvents {
    rx: Receiver<()>,
    _watchers: Vec<notify::RecommendedWatcher>,
    failures: Vec<String>,
}

fn watch_folders(folders: &[PathBuf]) -> FolderEvents {
    let (tx, rx) = channel();
    let mut watchers = Vec::new();
    let mut failures = Vec::new();
    for f in folders {
        let tx = tx.clone();
        let made = notify::recommended_watcher(move |ev: notify::Result<notify::Event>| {
            if let Ok(ev) = ev {
                let ours = ev.paths.iter().all(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with('.') && n.ends_with(".tmp")));
                if !matches!(ev.kind, EventKind::Access(_)) && !ours {
                    let _ = tx.send(());
                }
            }
        });
        match made.and_then(|mut w| w.watch(f, RecursiveMode::Recursive).map(|_| w)) {
            Ok(w) => watchers.push(w),
            Err(e) => failures.push(format!("{}: {e}", f.display())),
        }
    }
    FolderEvents { rx, _watchers: watchers, failures }
}

fn log_mark(ws: &Workspace) -> Result<i64> {
    // The log's rowid and the unsealed tail's AUTOINCREMENT counter only ever grow.
    Ok(ws.conn().query_row(
        "SELECT (SELECT COALESCE(MAX(rowid), 0) FROM log) + COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'unsealed'), 0)",
        [],
        |r| r.get(0),
    )?)
}

/// Runs sync cycles until `stop` is set. `on_cycle` sees every cycle's reports; `on_event`
/// every sync event; `on_notice` one-off notices (e.g. polling fallback in use).
pub fn run(
    ws: &mut Workspace,
    opts: &WatchOptions,
    stop: &AtomicBool,
    on_event: &mut dyn FnMut(SyncEvent),
    on_cycle: &mut dyn FnMut(Wake, &[TargetReport]),
    on_notice: &mut dyn FnMut(String),
) -> Result<()> {
    let folders: Vec<PathBuf> = ws.targets()?.into_iter().filter(|t| t.kind == "folder").map(|t| PathBuf::from(t.location)).collect();
    let events = watch_folders(&folders);
    for f in &events.failures {
        on_notice(format!("cannot watch {f}; polling every {} s instead", opts.poll_interval.as_secs()));
    }
    let mut wake = Wake::Start;
    loop {
        let reports = ws.sync_all(on_event)?;
        on_cycle(wake, &reports);
        // Drain events caused by our own writes during the cycle.
        while events.rx.try_recv().is_ok() {}
        let mark = log_mark(ws)?;
        let next_poll = Instant::now() + opts.poll_interval;
        wake = loop {
            if stop.load(Ordering::SeqCst) {
                return Ok(());
            }
            let step = opts.local_check.min(next_poll.saturating_duration_since(Instant::now()));
            match events.rx.recv_timeout(step) {
                Ok(()) => {
                    // Debounce: wait until the folder has been quiet for a moment.
                    let until = Instant::now() + opts.debounce;
                    while events.rx.recv_timeout(until.saturating_duration_since(Instant::now())).is_ok() {}
                    break Wake::Remote;
                }
                Err(RecvTimeoutError::Disconnected) => std::thread::sleep(step),
                Err(RecvTimeoutError::Timeout) => {}
            }
            if log_mark(ws)? != mark {
                std::thread::sleep(opts.debounce);
                break Wake::Local;
            }
            if Instant::now() >= next_poll {
                break Wake::Poll;
            }
        };
    }
}
