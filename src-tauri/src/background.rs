//! Background sync on tokio's blocking pool: the engine's watch loop (folder events, local log
//! growth, polling, backoff with jitter) on its own connection, its progress and states emitted
//! to the window as `sync://state`, `sync://event` and `notes://changed`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use resnotes_core::watch::{self, Control, SyncState, Wake};
use resnotes_core::{SyncEvent, TargetReport, Workspace};
use tauri::{AppHandle, Emitter, Manager};

use crate::ipc::{SyncStatus, NOTES_CHANGED, SYNC_EVENT, SYNC_STATE};
use crate::state::AppState;

/// A running background sync: the notes loop and, beside it, the attachments loop.
pub struct Running {
    ctl: Arc<Control>,
    assets: Arc<Control>,
    task: tauri::async_runtime::JoinHandle<()>,
    asset_task: tauri::async_runtime::JoinHandle<()>,
}

impl Running {
    /// Asks for a cycle of both loops now.
    pub fn nudge(&self) {
        self.ctl.nudge();
        self.assets.nudge();
    }

    /// Asks the attachments loop for a cycle now (a file was attached).
    pub fn nudge_assets(&self) {
        self.assets.nudge();
    }

    /// Stops both loops and waits for the work in progress to end.
    pub async fn stop(self) {
        self.ctl.stop();
        self.assets.stop();
        let _ = self.task.await;
        let _ = self.asset_task.await;
    }
}

/// How often the attachments loop looks for work without being nudged.
const ASSET_INTERVAL: Duration = Duration::from_secs(10);

/// Starts background sync for the app's data dir and records it in the app state.
pub fn start(app: &AppHandle) {
    let state = app.state::<AppState>();
    let dir = state.dir.clone();
    let ctl = Arc::new(Control::default());
    let assets = Arc::new(Control::default());
    let (c, a, handle) = (ctl.clone(), assets.clone(), app.clone());
    let asset_dir = dir.clone();
    let task = tauri::async_runtime::spawn_blocking(move || {
        let result = Workspace::open(&dir).and_then(|mut ws| {
            let mut out = Emit {
                app: handle.clone(),
                status: idle(),
                last_progress: Instant::now(),
                last_changed: Instant::now(),
                assets: a,
            };
            watch::run(
                &mut ws,
                &watch::WatchOptions { debounce: Duration::from_millis(150), ..Default::default() },
                &c,
                &mut out,
            )
        });
        if let Err(e) = result {
            tracing::error!("background sync stopped: {e}");
            let _ = handle.emit(
                SYNC_STATE,
                SyncStatus {
                    error: Some(format!("Sync stopped: {e}. Restart the app to try again.")),
                    ..status(SyncState::Error)
                },
            );
        }
    });
    let (a, handle) = (assets.clone(), app.clone());
    let asset_task = tauri::async_runtime::spawn_blocking(move || {
        let result = Workspace::open(&asset_dir).and_then(|ws| {
            watch::run_assets(
                &ws,
                ASSET_INTERVAL,
                &a,
                &mut transfer_events(&handle),
                &mut |reports| {
                    for r in reports.iter().filter_map(|r| r.error.as_ref()) {
                        tracing::warn!("attachments: {r}");
                    }
                },
            )
        });
        if let Err(e) = result {
            tracing::error!("attachment sync stopped: {e}");
        }
    });
    *state.sync.lock().unwrap_or_else(|p| p.into_inner()) =
        Some(Running { ctl, assets, task, asset_task });
}

/// Forwards attachment transfer events to the window as `sync://event`: progress at most ten
/// times a second, starts, ends and problems always.
pub fn transfer_events(app: &AppHandle) -> impl FnMut(SyncEvent) + '_ {
    let mut last: Option<Instant> = None;
    move |ev| {
        let progress = matches!(ev, SyncEvent::AssetProgress { done, total, .. } if done != 0 && done != total);
        if !progress || last.is_none_or(|l| l.elapsed() >= Duration::from_millis(100)) {
            last = Some(Instant::now());
            let _ = app.emit(SYNC_EVENT, ev);
        }
    }
}

fn status(state: SyncState) -> SyncStatus {
    SyncStatus { state, target: None, received: 0, sent: 0, error: None, retry_in_ms: None }
}

fn idle() -> SyncStatus {
    status(SyncState::Idle)
}

/// Translates the loop's observations into window events.
struct Emit {
    app: AppHandle,
    status: SyncStatus,
    last_progress: Instant,
    last_changed: Instant,
    /// The attachments loop, nudged when notes arrive (they may link new attachments).
    assets: Arc<Control>,
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

impl watch::Observer for Emit {
    fn event(&mut self, ev: SyncEvent) {
        match &ev {
            SyncEvent::TargetStarted { target } => {
                self.status = SyncStatus {
                    target: Some(target.clone()),
                    received: self.status.received,
                    sent: self.status.sent,
                    ..status(SyncState::Pulling)
                };
                self.send(true);
            }
            SyncEvent::Pulled { count, .. } => {
                self.status.received += count;
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
            SyncEvent::Pushed { count, .. } => {
                self.status.sent += count;
                self.send(false);
            }
            SyncEvent::Problem { .. }
            | SyncEvent::TargetFinished { .. }
            | SyncEvent::AssetProgress { .. }
            | SyncEvent::AssetDone { .. } => {}
        }
        let _ = self.app.emit(SYNC_EVENT, ev);
    }

    fn cycle(&mut self, wake: Wake, reports: &[TargetReport], retry_in: Option<Duration>) {
        let pulled: u64 = reports.iter().map(|r| r.pulled).sum();
        let error =
            reports.iter().find_map(|r| r.error.clone().or_else(|| r.problems.first().cloned()));
        self.status = SyncStatus {
            error,
            retry_in_ms: retry_in.map(|d| d.as_millis() as u64),
            ..status(SyncState::after(reports))
        };
        self.send(true);
        if pulled > 0 || matches!(wake, Wake::Local) {
            self.assets.nudge();
        }
        if pulled > 0 || matches!(wake, Wake::Local | Wake::Remote | Wake::Start) {
            self.last_changed = Instant::now();
            let _ = self.app.emit(NOTES_CHANGED, ());
        }
    }

    fn notice(&mut self, msg: String) {
        tracing::warn!("{msg}");
    }
}
