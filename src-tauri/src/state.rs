//! The one managed app state: the data dir, the UI's workspace connection and the running
//! background sync. Background sync has its own connection, so a long pull never blocks typing.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

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
}

impl AppState {
    /// State over an open workspace.
    pub fn new(dir: PathBuf, ws: Workspace) -> Self {
        AppState {
            dir,
            ws: Mutex::new(Some(ws)),
            sync: Mutex::new(None),
            granted: Mutex::new(HashSet::new()),
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
