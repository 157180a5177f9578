//! Import and export commands: the system's dialogs (run here, so a path never comes from
//! JavaScript), the engine's import or export on a connection of their own, progress as
//! `transfer://progress` events, and a stop request.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use resnotes_core::{ExportReport, ExportScope, ImportReport, Progress, Stage};
use tauri::{AppHandle, Emitter, Manager, State};

use crate::commands::{on_own_connection, place};
use crate::ipc::{IpcError, NOTES_CHANGED, TRANSFER_PROGRESS};
use crate::state::AppState;

type Res<T> = Result<T, IpcError>;

/// What an import reads: a folder (Markdown files) or one file (a Joplin or Evernote export).
#[derive(Clone, Copy, Debug, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportFrom {
    /// A folder of Markdown files.
    Folder,
    /// A `.jex` or `.enex` file.
    File,
}

/// A progress callback that emits at most every 100 ms (and every stage's start and end),
/// and stops when the user asked to.
fn progress(app: &AppHandle) -> impl FnMut(Progress) -> bool + '_ {
    let mut last: Option<(Stage, Instant)> = None;
    move |p: Progress| {
        let new_stage = last.is_none_or(|(s, _)| s != p.stage);
        let due = last.is_none_or(|(_, t)| t.elapsed() >= Duration::from_millis(100));
        if new_stage || due || p.done == p.total {
            last = Some((p.stage, Instant::now()));
            let _ = app.emit(TRANSFER_PROGRESS, p);
        }
        !app.state::<AppState>().transfer_stop.load(Ordering::SeqCst)
    }
}

/// The system's file chooser, opened in the user's home folder (not "Recent", where a typed
/// path does not lead anywhere).
fn starting_at_home(app: &AppHandle) -> tauri_plugin_dialog::FileDialogBuilder<tauri::Wry> {
    use tauri_plugin_dialog::DialogExt;
    let dialog = app.dialog().file();
    match app.path().home_dir() {
        Ok(home) => dialog.set_directory(home),
        Err(_) => dialog,
    }
}

/// Runs a blocking dialog off the async runtime.
async fn pick<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Res<T> {
    tauri::async_runtime::spawn_blocking(f)
        .await
        .map_err(|e| IpcError::invalid(format!("the dialog failed: {e}")))
}

/// Asks what to import (the system's folder or file chooser) and imports it into a new
/// notebook; `None` when the dialog was cancelled.
#[tauri::command]
pub async fn import_notes(app: AppHandle, from: ImportFrom) -> Res<Option<ImportReport>> {
    let handle = app.clone();
    let picked = pick(move || {
        let dialog = starting_at_home(&handle);
        match from {
            ImportFrom::Folder => {
                dialog.set_title("Import a folder of Markdown files").blocking_pick_folder()
            }
            ImportFrom::File => dialog
                .set_title("Import a Joplin or Evernote export")
                .add_filter("Joplin or Evernote export", &["jex", "enex"])
                .blocking_pick_file(),
        }
    })
    .await?;
    let Some(path) = picked.and_then(|f| f.into_path().ok()) else { return Ok(None) };
    app.state::<AppState>().transfer_stop.store(false, Ordering::SeqCst);
    let report = on_own_connection(app.clone(), move |ws, app| {
        ws.import(&path, None, false, &mut progress(app))
    })
    .await;
    // The list, the notebooks and the tags follow (also after a failure midway: what was
    // written stays).
    let _ = app.emit(NOTES_CHANGED, ());
    report.map(Some)
}

/// Asks for an empty folder (the system's folder chooser, where a new folder can be made) and
/// writes every note there as Markdown, or only `notebook`'s; `None` when cancelled.
#[tauri::command]
pub async fn export_notes(app: AppHandle, notebook: Option<String>) -> Res<Option<ExportReport>> {
    let scope = match notebook {
        Some(id) => ExportScope::Notebook(place(Some(&id))?),
        None => ExportScope::All,
    };
    let handle = app.clone();
    let picked = pick(move || {
        starting_at_home(&handle)
            .set_title("Export notes into an empty folder")
            .blocking_pick_folder()
    })
    .await?;
    let Some(dest) = picked.and_then(|f| f.into_path().ok()) else { return Ok(None) };
    app.state::<AppState>().transfer_stop.store(false, Ordering::SeqCst);
    on_own_connection(app, move |ws, app| ws.export_markdown(&dest, &scope, &mut progress(app)))
        .await
        .map(Some)
}

/// Asks the running import or export to stop at the next file or chunk.
#[tauri::command]
pub async fn stop_transfer(state: State<'_, AppState>) -> Res<()> {
    state.transfer_stop.store(true, Ordering::SeqCst);
    Ok(())
}
