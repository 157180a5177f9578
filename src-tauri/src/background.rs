//! Background sync: the engine's [`Supervisor`] (notes loop and attachments loop, each on its
//! own connection), its observations emitted to the window as `sync://state`, `sync://event`
//! and `notes://changed`.

use std::time::{Duration, Instant};

use resnotes_core::{
    Observer, Supervisor, SyncEvent, SyncState, Tally, TargetReport, Wake, WatchOptions,
};
use tauri::{AppHandle, Emitter, Manager};

use crate::ipc::{SyncStatus, NOTES_CHANGED, SYNC_EVENT, SYNC_STATE};
use crate::state::AppState;

/// How often the attachments loop looks for work without being nudged.
const ASSET_INTERVAL: Duration = Duration::from_secs(10);

/// Starts background sync for the app's data dir and records it in the app state.
pub fn start(app: &AppHandle) {
    let state = app.state::<AppState>();
    let opts = WatchOptions { debounce: Duration::from_millis(150), ..Default::default() };
    let notes = Emit {
        app: app.clone(),
        status: idle(),
        tally: Tally::default(),
        last_progress: Instant::now(),
        last_changed: Instant::now(),
    };
    let assets = Transfers { app: app.clone(), last: None };
    match Supervisor::start(&state.dir, opts, ASSET_INTERVAL, Box::new(notes), Box::new(assets)) {
        Ok(s) => *state.sync.lock().unwrap_or_else(|p| p.into_inner()) = Some(s),
        Err(e) => {
            tracing::error!("background sync did not start: {e}");
            let _ = app.emit(SYNC_STATE, stopped(&e));
        }
    }
}

fn stopped(e: &resnotes_core::Error) -> SyncStatus {
    SyncStatus {
        error: Some(format!("Sync stopped: {e}. Restart the app to try again.")),
        ..status(SyncState::Error)
    }
}

/// Forwards attachment transfer events to the window as `sync://event`: progress at most ten
/// times a second, starts, ends and problems always.
pub struct Transfers {
    app: AppHandle,
    last: Option<Instant>,
}

impl Transfers {
    /// Transfer events of a command (open, save, fetch) for this window.
    pub fn new(app: &AppHandle) -> Self {
        Transfers { app: app.clone(), last: None }
    }
}

impl Observer for Transfers {
    fn event(&mut self, ev: SyncEvent) {
        let progress = matches!(ev, SyncEvent::AssetProgress { done, total, .. } if done != 0 && done != total);
        if !progress || self.last.is_none_or(|l| l.elapsed() >= Duration::from_millis(100)) {
            self.last = Some(Instant::now());
            let _ = self.app.emit(SYNC_EVENT, ev);
        }
    }

    fn cycle(&mut self, _: Wake, reports: &[TargetReport], _: Option<Duration>) {
        for r in reports.iter().filter_map(|r| r.error.as_ref()) {
            tracing::warn!("attachments: {r}");
        }
    }

    fn stopped(&mut self, error: &resnotes_core::Error) {
        tracing::error!("attachment sync stopped: {error}");
    }
}

fn status(state: SyncState) -> SyncStatus {
    SyncStatus {
        state,
        target: None,
        received: 0,
        expected: None,
        sent: 0,
        error: None,
        retry_in_ms: None,
    }
}

fn idle() -> SyncStatus {
    status(SyncState::Idle)
}

/// Translates the notes loop's observations into window events.
struct Emit {
    app: AppHandle,
    status: SyncStatus,
    /// The counts of the cycle under way.
    tally: Tally,
    last_progress: Instant,
    last_changed: Instant,
}

impl Emit {
    fn send(&mut self, force: bool) {
        // Progress of a long pull is sent at most 10 times a second.
        if force || self.last_progress.elapsed() >= Duration::from_millis(100) {
            self.last_progress = Instant::now();
            let _ = self.app.emit(SYNC_STATE, self.status.clone());
        }
    }
}

impl Observer for Emit {
    fn event(&mut self, ev: SyncEvent) {
        self.tally.take(&ev);
        self.status.received = self.tally.received();
        self.status.expected = self.tally.expected();
        self.status.sent = self.tally.sent();
        match &ev {
            SyncEvent::TargetStarted { target } => {
                self.status.state = SyncState::Pulling;
                self.status.target = Some(target.clone());
                self.status.error = None;
                self.status.retry_in_ms = None;
                self.send(true);
            }
            SyncEvent::Expecting { .. } => self.send(true),
            SyncEvent::Pulled { .. } => {
                self.send(false);
                // Show what arrived while a long pull goes on.
                if self.last_changed.elapsed() >= Duration::from_millis(500) {
                    self.last_changed = Instant::now();
                    let _ = self.app.emit(NOTES_CHANGED, ());
                }
            }
            SyncEvent::Pushing { target } => {
                self.status.state = SyncState::Pushing;
                self.status.target = Some(target.clone());
                self.send(true);
            }
            SyncEvent::Pushed { .. } => self.send(false),
            SyncEvent::Problem { .. }
            | SyncEvent::TargetFinished { .. }
            | SyncEvent::AssetProgress { .. }
            | SyncEvent::AssetDone { .. } => {}
        }
        let _ = self.app.emit(SYNC_EVENT, ev);
    }

    fn cycle(&mut self, wake: Wake, reports: &[TargetReport], retry_in: Option<Duration>) {
        log_outcomes(reports);
        self.tally = Tally::default();
        let pulled: u64 = reports.iter().map(|r| r.pulled).sum();
        let error =
            reports.iter().find_map(|r| r.error.clone().or_else(|| r.problems.first().cloned()));
        self.status = SyncStatus {
            error,
            retry_in_ms: retry_in.map(|d| d.as_millis() as u64),
            ..status(SyncState::after(reports))
        };
        self.send(true);
        if pulled > 0 || matches!(wake, Wake::Local | Wake::Remote | Wake::Start) {
            self.last_changed = Instant::now();
            let _ = self.app.emit(NOTES_CHANGED, ());
        }
    }

    fn notice(&mut self, msg: String) {
        tracing::warn!("{msg}");
    }

    fn stopped(&mut self, error: &resnotes_core::Error) {
        tracing::error!("background sync stopped: {error}");
        let _ = self.app.emit(SYNC_STATE, stopped(error));
    }
}

/// Writes a cycle's outcome per target to the log: what moved (idle cycles are not logged),
/// each problem, and a failure. Targets are named by id, not location.
fn log_outcomes(reports: &[TargetReport]) {
    for r in reports {
        let t = &r.target;
        if let Some(e) = &r.error {
            tracing::warn!("sync with target {t} failed: {e}");
        }
        for p in &r.problems {
            tracing::warn!("sync with target {t}: {p}");
        }
        if r.pulled > 0 || r.pushed > 0 {
            tracing::info!(
                "sync with target {t}: {} entries received, {} sent",
                r.pulled,
                r.pushed
            );
        }
    }
}

/// Transfer events of one command (open, save, fetch an attachment) for the window.
pub fn transfer_events(app: &AppHandle) -> impl FnMut(SyncEvent) {
    let mut t = Transfers::new(app);
    move |ev| t.event(ev)
}
