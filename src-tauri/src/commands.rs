//! The UI's commands. Each parses its input, calls the engine and maps the error; anything
//! more belongs in `resnotes-core`. Commands are async so they run off the main thread.

use resnotes_core::setup::{self, Contents, Strength};
use resnotes_core::status::{LogItem, Status};
use resnotes_core::transport::Folder;
use resnotes_core::workspace::{scrypt_log_n, system_clock, Field, TextSplice};
use resnotes_core::{Note, NoteSummary, Target};
use tauri::{AppHandle, Emitter, State};
use uuid::Uuid;

use crate::ipc::{IpcError, NOTES_CHANGED};
use crate::state::AppState;

type Res<T> = Result<T, IpcError>;

fn note_id(id: &str) -> Res<Uuid> {
    Uuid::parse_str(id).map_err(|_| IpcError::invalid(format!("'{id}' is not a note id")))
}

fn folder(path: &str) -> Res<Folder> {
    let path = path.trim();
    if path.is_empty() || !std::path::Path::new(path).is_absolute() {
        return Err(IpcError::invalid(format!("choose a folder with its full path (got '{path}')")));
    }
    Ok(Folder::new(path))
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

/// What a chosen folder holds: empty, this workspace, or another one to join.
#[tauri::command]
pub async fn inspect_folder(state: State<'_, AppState>, path: String) -> Res<Contents> {
    let f = folder(&path)?;
    state.with(|ws| setup::inspect(ws, &f))
}

/// How strong a passphrase looks.
#[tauri::command]
pub async fn passphrase_strength(passphrase: String) -> Res<Strength> {
    Ok(setup::strength(&passphrase))
}

/// Shares this workspace into an empty folder (or adds a folder of this workspace).
#[tauri::command]
pub async fn share_folder(state: State<'_, AppState>, path: String, passphrase: Option<String>) -> Res<Target> {
    let f = folder(&path)?;
    let target = state.with(|ws| {
        if !ws.manifest_known()? {
            resnotes_core::workspace::check_passphrase(passphrase.as_deref().unwrap_or(""))?;
        }
        ws.add_target("folder", &f, passphrase.as_deref(), scrypt_log_n())
    })?;
    state.nudge();
    Ok(target)
}

/// Joins the workspace in a folder, keeping the notes written here. Returns notes carried.
#[tauri::command]
pub async fn join_folder(app: AppHandle, state: State<'_, AppState>, path: String, passphrase: Option<String>) -> Res<u32> {
    let f = folder(&path)?;
    let running = state.sync.lock().unwrap_or_else(|p| p.into_inner()).take();
    if let Some(r) = running {
        r.stop().await;
    }
    let now = (system_clock())();
    let result = state.reopen_after(|| setup::join_keeping_notes(&state.dir, "folder", &f, passphrase.as_deref(), system_clock(), now));
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
