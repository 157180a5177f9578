//! The one managed app state: the data dir, the UI's workspace connection and the running
//! background sync. Background sync has its own connection, so a long pull never blocks typing.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Condvar, Mutex};

use resnotes_core::Workspace;

use crate::ipc::IpcError;
use resnotes_core::Supervisor;

/// Managed by Tauri; commands reach it through `State<AppState>`.
pub struct AppState {
    /// The data dir (database, key, credentials).
    pub dir: PathBuf,
    ws: Mutex<Option<Workspace>>,
    /// Background sync, when running.
    pub sync: Mutex<Option<Supervisor>>,
    /// Files the user handed to the app (dropped on the window, or chosen in the "Attach
    /// files" dialog), each attachable once. A path that only came from JavaScript is not
    /// here, so a script in the window cannot read an arbitrary file by attaching it.
    granted: Mutex<HashSet<PathBuf>>,
    /// The connections the preview's attachment requests share.
    pub preview: PreviewConnections,
    /// Set when the user asks the running import or export to stop.
    pub transfer_stop: AtomicBool,
}

/// How many attachment requests of the preview are served at once (each holds one attachment,
/// at most `PREVIEW_MAX_BYTES`, in memory): a note with a hundred images neither opens a
/// hundred databases nor holds a hundred files.
pub const PREVIEW_CONNECTIONS: usize = 2;

/// Database connections for the preview's attachment requests: opened on first need, reused,
/// at most [`PREVIEW_CONNECTIONS`]; a request waits for a free one.
#[derive(Default)]
pub struct PreviewConnections {
    pool: Mutex<Pool>,
    freed: Condvar,
}

#[derive(Default)]
struct Pool {
    free: Vec<(u64, Workspace)>,
    open: usize,
    /// Bumped when the data dir's database is replaced (a join): older connections are closed.
    generation: u64,
}

impl PreviewConnections {
    /// Runs `f` on a pooled connection to `dir`, waiting while all are busy.
    pub fn with<T>(
        &self,
        dir: &Path,
        f: impl FnOnce(&Workspace) -> resnotes_core::Result<T>,
    ) -> resnotes_core::Result<T> {
        // Take a free connection of the current generation, or the right to open one; the
        // lock is released before a database is opened or used.
        let (generation, free) = {
            let mut pool = self.pool.lock().unwrap_or_else(|p| p.into_inner());
            loop {
                let current = pool.generation;
                if let Some(i) = pool.free.iter().position(|(g, _)| *g == current) {
                    let (g, ws) = pool.free.swap_remove(i);
                    break (g, Some(ws));
                }
                if pool.open < PREVIEW_CONNECTIONS {
                    pool.open += 1;
                    break (current, None);
                }
                pool = self.freed.wait(pool).unwrap_or_else(|p| p.into_inner());
            }
        };
        let ws = match free {
            Some(ws) => ws,
            None => match Workspace::open(dir) {
                Ok(ws) => ws,
                Err(e) => {
                    self.pool.lock().unwrap_or_else(|p| p.into_inner()).open -= 1;
                    self.freed.notify_one();
                    return Err(e);
                }
            },
        };
        let result = f(&ws);
        let mut pool = self.pool.lock().unwrap_or_else(|p| p.into_inner());
        if generation == pool.generation {
            pool.free.push((generation, ws));
        } else {
            pool.open -= 1;
        }
        self.freed.notify_one();
        result
    }

    /// Closes the idle connections and retires the busy ones (the database was replaced).
    pub fn reset(&self) {
        let mut pool = self.pool.lock().unwrap_or_else(|p| p.into_inner());
        pool.generation += 1;
        pool.open -= pool.free.len();
        pool.free.clear();
        self.freed.notify_all();
    }

    /// Connections open now (tests).
    #[cfg(test)]
    fn open(&self) -> usize {
        self.pool.lock().unwrap_or_else(|p| p.into_inner()).open
    }
}

impl AppState {
    /// State over an open workspace.
    pub fn new(dir: PathBuf, ws: Workspace) -> Self {
        AppState {
            dir,
            ws: Mutex::new(Some(ws)),
            sync: Mutex::new(None),
            granted: Mutex::new(HashSet::new()),
            preview: PreviewConnections::default(),
            transfer_stop: AtomicBool::new(false),
        }
    }

    /// Runs `f` on the workspace and maps its error for IPC.
    pub fn with<T>(
        &self,
        f: impl FnOnce(&mut Workspace) -> resnotes_core::Result<T>,
    ) -> Result<T, IpcError> {
        let mut guard = self.ws.lock().unwrap_or_else(|p| p.into_inner());
        let ws = guard.as_mut().ok_or_else(|| IpcError {
            code: "busy".into(),
            message: "the workspace is being switched; try again in a moment".into(),
        })?;
        Ok(f(ws)?)
    }

    /// Closes the UI's connection (for switching workspaces), runs `f`, and opens the data dir
    /// again whatever `f` returned.
    pub fn reopen_after<T>(
        &self,
        f: impl FnOnce() -> resnotes_core::Result<T>,
    ) -> Result<T, IpcError> {
        let mut guard = self.ws.lock().unwrap_or_else(|p| p.into_inner());
        guard.take();
        self.preview.reset();
        let result = f();
        *guard = Some(Workspace::open(&self.dir)?);
        Ok(result?)
    }

    /// Records files the user handed over (a drop, a dialog) as attachable.
    pub fn grant(&self, paths: impl IntoIterator<Item = PathBuf>) {
        let mut g = self.granted.lock().unwrap_or_else(|p| p.into_inner());
        // Handed over and never attached (a drop outside a note): forget the oldest batch.
        if g.len() > 1000 {
            g.clear();
        }
        g.extend(paths);
    }

    /// Takes the grant for `path`: true once for each file the user handed over.
    pub fn take_grant(&self, path: &Path) -> bool {
        self.granted.lock().unwrap_or_else(|p| p.into_inner()).remove(path)
    }

    /// Asks the attachments loop for a cycle now.
    pub fn nudge_assets(&self) {
        if let Some(r) = self.sync.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            r.nudge_assets();
        }
    }

    /// Asks background sync for a cycle now.
    pub fn nudge(&self) {
        if let Some(r) = self.sync.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            r.nudge();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preview_connections_are_reused_bounded_and_renewed_after_a_reset() {
        let dir = tempfile::tempdir().unwrap();
        drop(Workspace::init(dir.path(), true, resnotes_core::system_clock()).unwrap());
        let pool = PreviewConnections::default();
        for _ in 0..5 {
            pool.with(dir.path(), |ws| ws.list(None)).unwrap();
        }
        assert_eq!(pool.open(), 1, "one connection serves requests one after another");
        std::thread::scope(|s| {
            for _ in 0..6 {
                s.spawn(|| {
                    pool.with(dir.path(), |ws| {
                        std::thread::sleep(std::time::Duration::from_millis(30));
                        ws.list(None)
                    })
                    .unwrap()
                });
            }
        });
        assert!(pool.open() <= PREVIEW_CONNECTIONS);
        pool.reset();
        assert_eq!(pool.open(), 0);
        pool.with(dir.path(), |ws| ws.list(None)).unwrap();
        assert_eq!(pool.open(), 1);
    }
}
