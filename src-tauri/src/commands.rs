//! The UI's commands. Each parses its input, calls the engine and maps the error; anything
//! more belongs in `resnotes-core`. Commands are async so they run off the main thread.

use resnotes_core::setup::{self, Contents, Strength, TargetSpec};
use resnotes_core::status::{LogItem, Status};
use resnotes_core::workspace::{scrypt_log_n, system_clock, Field, TextSplice};
use resnotes_core::{Note, NoteSummary, Target};
use tauri::{AppHandle, Emitter, Manager, State};
use uuid::Uuid;

use crate::ipc::{IpcError, Shared, NOTES_CHANGED};
use crate::state::AppState;

type Res<T> = Result<T, IpcError>;

/// Runs `f` on tokio's blocking pool: network transports (WebDAV) and passphrase hashing
/// block, and must not run on the async runtime's threads.
async fn off_runtime<T: Send + 'static>(app: AppHandle, f: impl FnOnce(&AppState) -> Res<T> + Send + 'static) -> Res<T> {
    tauri::async_runtime::spawn_blocking(move || f(&app.state::<AppState>()))
        .await
        .unwrap_or_else(|e| Err(IpcError { code: "internal".into(), message: format!("the operation stopped unexpectedly ({e}); nothing was changed") }))
}

fn note_id(id: &str) -> Res<Uuid> {
    Uuid::parse_str(id).map_err(|_| IpcError::invalid(format!("'{id}' is not a note id")))
}

/// Notes whose title or first line contains `filter` (all when empty), newest first.
#[tauri::command]
pub async fn list_notes(state: State<'_, AppState>, filter: String, limit: u32) -> Res<Vec<NoteSummary>> {
    let filter = filter.trim().to_string();
    state.with(|ws| if filter.is_empty() { ws.list(Some(limit as usize)) } else { ws.find(&filter, limit as usize) })
}

/// One note with its text.
#[tauri::command]
pub async fn get_note(state: State<'_, AppState>, id: String) -> Res<Note> {
    note_id(&id)?;
    state.with(|ws| ws.note(&id))
}

/// A new empty note.
#[tauri::command]
pub async fn create_note(state: State<'_, AppState>) -> Res<Note> {
    state.with(|ws| {
        let id = ws.new_note("", "")?;
        ws.note(&id.to_string())
    })
}

/// Applies the editor's splices (UTF-16 positions in the version `heads`) to title and body
/// and returns the note as it is now, remote edits merged in.
#[tauri::command]
pub async fn edit_note(state: State<'_, AppState>, id: String, heads: Vec<String>, title: Vec<TextSplice>, body: Vec<TextSplice>) -> Res<Note> {
    let uuid = note_id(&id)?;
    state.with(|ws| {
        ws.edit_fields(&uuid, Some(&heads), &[(Field::Title, &title), (Field::Body, &body)])?;
        ws.note(&id)
    })
}

/// Deletes a note (undo with `restore_note`).
#[tauri::command]
pub async fn delete_note(state: State<'_, AppState>, id: String) -> Res<()> {
    note_id(&id)?;
    state.with(|ws| ws.delete_note(&id).map(|_| ()))
}

/// Undoes a delete.
#[tauri::command]
pub async fn restore_note(state: State<'_, AppState>, id: String) -> Res<Note> {
    note_id(&id)?;
    state.with(|ws| {
        ws.restore_note(&id)?;
        ws.note(&id)
    })
}

/// Counts and per-target state for the sync panel.
#[tauri::command]
pub async fn sync_status(state: State<'_, AppState>) -> Res<Status> {
    state.with(|ws| ws.status())
}

/// The newest log entries with their per-target state.
#[tauri::command]
pub async fn log_entries(state: State<'_, AppState>, limit: u32) -> Res<Vec<LogItem>> {
    state.with(|ws| ws.log_items(limit as usize))
}

/// What a target holds: empty, this workspace, or another one to join. For WebDAV this is the
/// "test connection" button: it reaches the server with the given credentials.
#[tauri::command]
pub async fn inspect_target(app: AppHandle, spec: TargetSpec) -> Res<Contents> {
    off_runtime(app, move |state| {
        let tr = spec.transport()?;
        state.with(|ws| setup::inspect(ws, tr.as_ref()))
    })
    .await
}

/// How strong a passphrase looks.
#[tauri::command]
pub async fn passphrase_strength(passphrase: String) -> Res<Strength> {
    Ok(setup::strength(&passphrase))
}

/// Shares this workspace to an empty target (or adds one of this workspace).
#[tauri::command]
pub async fn share_target(app: AppHandle, spec: TargetSpec, passphrase: Option<String>) -> Res<Shared> {
    off_runtime(app, move |state| {
        let (target, stored) = state.with(|ws| setup::share(ws, &spec, passphrase.as_deref(), scrypt_log_n()))?;
        state.nudge();
        Ok(Shared { target: target.location, password_file: stored.map(|p| p.display().to_string()) })
    })
    .await
}

/// Joins the workspace on a target, keeping the notes written here. Returns notes carried.
#[tauri::command]
pub async fn join_target(app: AppHandle, state: State<'_, AppState>, spec: TargetSpec, passphrase: Option<String>) -> Res<u32> {
    // The transport is made inside `off_runtime`: a WebDAV client must not be dropped on the runtime.
    let running = state.sync.lock().unwrap_or_else(|p| p.into_inner()).take();
    if let Some(r) = running {
        r.stop().await;
    }
    let now = (system_clock())();
    let result = off_runtime(app.clone(), move |state| state.reopen_after(|| setup::join_keeping_notes(&state.dir, &spec, passphrase.as_deref(), system_clock(), now))).await;
    crate::background::start(&app);
    let _ = app.emit(NOTES_CHANGED, ());
    result.map(|n| n as u32)
}

/// Stops syncing with a target (its files stay where they are).
#[tauri::command]
pub async fn remove_target(state: State<'_, AppState>, id: String) -> Res<Target> {
    let t = state.with(|ws| ws.remove_target(&id))?;
    state.nudge();
    Ok(t)
}

/// Asks for a sync cycle now.
#[tauri::command]
pub async fn sync_now(state: State<'_, AppState>) -> Res<()> {
    state.nudge();
    Ok(())
}
