//! The UI's commands. Each parses its input, calls the engine and maps the error; anything
//! more belongs in `resnotes-core`. Commands are async so they run off the main thread.

use resnotes_core::{
    diagnostics, scrypt_log_n, setup, system_clock, Activity, AssetInfo, AssetRef, Comparison,
    Contents, Edited, Field, LinkedNote, ListQuery, LogItem, Note, NoteSummary, Notebooks, Place,
    SearchProgress, Sort, Status, Strength, TagCount, Target, TargetSpec, TextSplice, Verification,
    Version, VersionText, Workspace,
};
use tauri::{AppHandle, Emitter, Manager, State};
use uuid::Uuid;

use crate::background::transfer_events;
use crate::ipc::{Attached, Checked, Invited, IpcError, Shared, NOTES_CHANGED, VERIFY_PROGRESS};
use crate::state::AppState;

type Res<T> = Result<T, IpcError>;

/// Runs `f` on tokio's blocking pool: network transports (WebDAV) and passphrase hashing
/// block, and must not run on the async runtime's threads.
async fn off_runtime<T: Send + 'static>(
    app: AppHandle,
    f: impl FnOnce(&AppState) -> Res<T> + Send + 'static,
) -> Res<T> {
    tauri::async_runtime::spawn_blocking(move || f(&app.state::<AppState>())).await.unwrap_or_else(
        |e| {
            Err(IpcError {
                code: "internal".into(),
                message: format!("the operation stopped unexpectedly ({e}); nothing was changed"),
            })
        },
    )
}

fn note_id(id: &str) -> Res<Uuid> {
    Uuid::parse_str(id).map_err(|_| IpcError::invalid(format!("'{id}' is not a note id")))
}

/// A notebook id from the UI: `None` or `""` is the default notebook (or the top level).
pub(crate) fn place(id: Option<&str>) -> Res<Place> {
    match id.filter(|i| !i.is_empty()) {
        None => Ok(Place::Default),
        Some(i) => Uuid::parse_str(i)
            .map(Place::Notebook)
            .map_err(|_| IpcError::invalid(format!("'{i}' is not a notebook id"))),
    }
}

/// Notes matching the search `filter` (every word, best first, with snippets; among the notes
/// with `tag` and in `notebook` when given), or when it is empty the notes of the view: those
/// with `tag` or in `notebook` (`""`: the default notebook; all notes without either), pinned
/// first, in `sort` order.
#[tauri::command]
pub async fn list_notes(
    state: State<'_, AppState>,
    filter: String,
    limit: u32,
    tag: Option<String>,
    notebook: Option<String>,
    sort: Sort,
) -> Res<Vec<NoteSummary>> {
    let tags: Vec<String> = tag.into_iter().collect();
    let notebook = notebook.as_deref().map(|n| place(Some(n))).transpose()?;
    let view = ListQuery { notebook, tags, sort, limit: Some(limit as usize) };
    state.with(|ws| ws.view(&view, &filter))
}

/// The notebook tree with each notebook's note count.
#[tauri::command]
pub async fn list_notebooks(state: State<'_, AppState>) -> Res<Notebooks> {
    state.with(|ws| ws.notebooks())
}

/// Makes a notebook inside `parent` (none: the top level); returns its id.
#[tauri::command]
pub async fn add_notebook(
    state: State<'_, AppState>,
    name: String,
    parent: Option<String>,
) -> Res<String> {
    let parent = place(parent.as_deref())?;
    state.with(|ws| ws.add_notebook(&name, parent).map(|id| id.to_string()))
}

/// Renames a notebook.
#[tauri::command]
pub async fn rename_notebook(state: State<'_, AppState>, id: String, name: String) -> Res<()> {
    let book = place(Some(&id))?;
    state.with(|ws| ws.rename_notebook(book, &name))
}

/// Moves a notebook into `parent` (none: the top level).
#[tauri::command]
pub async fn move_notebook(
    state: State<'_, AppState>,
    id: String,
    parent: Option<String>,
) -> Res<()> {
    let (book, parent) = (place(Some(&id))?, place(parent.as_deref())?);
    state.with(|ws| ws.move_notebook(book, parent))
}

/// Deletes a notebook and those inside it; returns how many notes went to the trash.
#[tauri::command]
pub async fn delete_notebook(state: State<'_, AppState>, id: String) -> Res<u32> {
    let book = place(Some(&id))?;
    state.with(|ws| ws.delete_notebook(book).map(|n| n as u32))
}

/// Files a note in `notebook` (none: the default notebook).
#[tauri::command]
pub async fn move_note(
    state: State<'_, AppState>,
    id: String,
    notebook: Option<String>,
) -> Res<()> {
    note_id(&id)?;
    let to = place(notebook.as_deref())?;
    state.with(|ws| ws.move_note(&id, to).map(|_| ()))
}

/// The trash: notes deleted in the last 30 days, most recently deleted first; with a
/// `filter`, those with its words in their title or text, best first, with snippets.
#[tauri::command]
pub async fn trash_notes(state: State<'_, AppState>, filter: String) -> Res<Vec<NoteSummary>> {
    state.with(|ws| ws.find_in_trash(&filter))
}

/// Empties the trash on every device (once synced); returns how many notes left it.
#[tauri::command]
pub async fn empty_trash(state: State<'_, AppState>) -> Res<u32> {
    state.with(|ws| ws.empty_trash().map(|n| n as u32))
}

/// Renames a tag on every note that has it; returns its stored name and how many notes
/// changed.
#[tauri::command]
pub async fn rename_tag(state: State<'_, AppState>, old: String, new: String) -> Res<TagCount> {
    state.with(|ws| ws.rename_tag(&old, &new))
}

/// The devices of the workspace by name, this one first.
#[tauri::command]
pub async fn list_devices(state: State<'_, AppState>) -> Res<Vec<resnotes_core::Device>> {
    state.with(|ws| ws.devices())
}

/// Names this device; returns the name as stored.
#[tauri::command]
pub async fn name_device(state: State<'_, AppState>, name: String) -> Res<String> {
    state.with(|ws| ws.name_this_device(&name))
}

/// "Add a device": a one-time setup code (valid an hour) on the first folder or server, with
/// its QR code.
#[tauri::command]
pub async fn invite_device(state: State<'_, AppState>) -> Res<Invited> {
    let code = state.with(|ws| ws.invite(None, resnotes_core::DEFAULT_INVITE_MS))?;
    let text = code.to_text();
    let qr = qrcode::QrCode::new(text.as_bytes())
        .map_err(|e| IpcError::invalid(format!("the setup code could not be drawn ({e})")))?;
    let qr_svg = qr.render::<qrcode::render::svg::Color<'_>>().min_dimensions(240, 240).build();
    Ok(Invited { code: text, qr_svg, expires_at: code.expires_at, location: code.target.location })
}

/// "Change the passphrase…": a new key for everything written from now on, wrapped to every
/// device and to the new passphrase (see `Workspace::change_passphrase`); then a sync carries
/// it to the folders and servers. Returns the devices that could not be given the new key.
#[tauri::command]
pub async fn change_passphrase(app: AppHandle, passphrase: String) -> Res<Vec<String>> {
    off_runtime(app, move |state| {
        let changed = state.with(|ws| ws.change_passphrase(&passphrase, scrypt_log_n()))?;
        state.nudge();
        Ok(changed.left_out)
    })
    .await
}

/// "Type the new passphrase…": after a change on another device that could not give this one
/// the new key (see `Workspace::enter_passphrase`); then a sync reads what waited for it.
#[tauri::command]
pub async fn enter_passphrase(app: AppHandle, passphrase: String) -> Res<bool> {
    off_runtime(app, move |state| {
        let new = state.with(|ws| ws.enter_passphrase(&passphrase))?;
        state.nudge();
        Ok(new)
    })
    .await
}

/// "Remove…" beside a device: a new key wrapped to every other device, and the removed one's
/// later writes refused (see `Workspace::remove_device`); then a sync carries it to the others.
/// `passphrase` is the workspace's current one. Returns the devices that could not be given the
/// new key.
#[tauri::command]
pub async fn remove_device(app: AppHandle, device: String, passphrase: String) -> Res<Vec<String>> {
    off_runtime(app, move |state| {
        let done = state.with(|ws| ws.remove_device(&device, &passphrase, scrypt_log_n()))?;
        state.nudge();
        Ok(done.left_out)
    })
    .await
}

/// "Let it in…" beside a device held back (it joined around the time a device was removed):
/// a new key wrapped to it too, after which its changes reach every device (see
/// `Workspace::let_in_device`); `passphrase` is the workspace's current one.
#[tauri::command]
pub async fn let_in_device(app: AppHandle, device: String, passphrase: String) -> Res<Vec<String>> {
    off_runtime(app, move |state| {
        let done = state.with(|ws| ws.let_in_device(&device, &passphrase, scrypt_log_n()))?;
        state.nudge();
        Ok(done.left_out)
    })
    .await
}

/// "Cancel this code": the setup code opens nothing from now on.
#[tauri::command]
pub async fn cancel_invite(state: State<'_, AppState>, code: String) -> Res<()> {
    let code = resnotes_core::format::invite::SetupCode::parse(&code)
        .map_err(|e| IpcError::from(resnotes_core::Error::from(e)))?;
    state.with(|ws| ws.cancel_invite(&code))
}

/// The computer's name (Linux: the kernel's host name), given to a device that has none yet.
pub(crate) fn host_name() -> Option<String> {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// Every tag with its number of notes.
#[tauri::command]
pub async fn list_tags(state: State<'_, AppState>) -> Res<Vec<TagCount>> {
    state.with(|ws| ws.tags())
}

/// Each linked note (by id) with its current title and whether it is live, in the trash or
/// missing: what the editor shows on links.
#[tauri::command]
pub async fn linked_notes(state: State<'_, AppState>, ids: Vec<String>) -> Res<Vec<LinkedNote>> {
    state.with(|ws| ws.linked_notes(&ids))
}

/// The notes that link to a note.
#[tauri::command]
pub async fn backlinks(state: State<'_, AppState>, id: String) -> Res<Vec<NoteSummary>> {
    note_id(&id)?;
    state.with(|ws| ws.backlinks(&id))
}

/// Pins or unpins a note.
#[tauri::command]
pub async fn set_pinned(state: State<'_, AppState>, id: String, pinned: bool) -> Res<()> {
    note_id(&id)?;
    state.with(|ws| ws.set_pinned(&id, pinned).map(|_| ()))
}

/// Adds and removes a note's tags; returns its tags after.
#[tauri::command]
pub async fn retag(
    state: State<'_, AppState>,
    id: String,
    add: Vec<String>,
    remove: Vec<String>,
) -> Res<Vec<String>> {
    note_id(&id)?;
    let (add, remove): (Vec<&str>, Vec<&str>) =
        (add.iter().map(String::as_str).collect(), remove.iter().map(String::as_str).collect());
    state.with(|ws| ws.retag(&id, &add, &remove))
}

/// One note with its text.
#[tauri::command]
pub async fn get_note(state: State<'_, AppState>, id: String) -> Res<Note> {
    note_id(&id)?;
    state.with(|ws| ws.note(&id))
}

/// A new empty note in `notebook` (none: the default notebook).
#[tauri::command]
pub async fn create_note(state: State<'_, AppState>, notebook: Option<String>) -> Res<Note> {
    let notebook = place(notebook.as_deref())?;
    state.with(|ws| {
        let id = ws.new_note_in("", "", notebook)?;
        ws.note(&id.to_string())
    })
}

/// Applies the editor's splices (UTF-16 positions in the version `heads`) to title and body
/// and returns the new version, with the text only when remote edits were merged in.
#[tauri::command]
pub async fn edit_note(
    state: State<'_, AppState>,
    id: String,
    heads: Vec<String>,
    title: Vec<TextSplice>,
    body: Vec<TextSplice>,
) -> Res<Edited> {
    let uuid = note_id(&id)?;
    state.with(|ws| {
        ws.edit_open_note(&uuid, &heads, &[(Field::Title, &title), (Field::Body, &body)])
    })
}

/// Deletes a note (undo with `restore_note`).
#[tauri::command]
pub async fn delete_note(state: State<'_, AppState>, id: String) -> Res<()> {
    note_id(&id)?;
    state.with(|ws| ws.delete_note(&id).map(|_| ()))
}

/// A note's history, newest version first.
#[tauri::command]
pub async fn note_history(state: State<'_, AppState>, id: String) -> Res<Vec<Version>> {
    note_id(&id)?;
    state.with(|ws| ws.history(&id))
}

/// A note as it was at one version.
#[tauri::command]
pub async fn note_version(
    state: State<'_, AppState>,
    id: String,
    version: String,
) -> Res<VersionText> {
    note_id(&id)?;
    state.with(|ws| ws.version(&id, &version))
}

/// Two versions of a note compared word by word ("current": the text now).
#[tauri::command]
pub async fn compare_versions(
    state: State<'_, AppState>,
    id: String,
    from: String,
    to: String,
) -> Res<Comparison> {
    note_id(&id)?;
    state.with(|ws| ws.compare(&id, Some(&from), Some(&to)))
}

/// Makes a note what it was at a version, as a new edit; false when it already was.
#[tauri::command]
pub async fn restore_version(state: State<'_, AppState>, id: String, version: String) -> Res<bool> {
    note_id(&id)?;
    state.with(|ws| ws.restore_version(&id, &version))
}

/// What changed across all notes since `since` (ms since the Unix epoch), newest first.
#[tauri::command]
pub async fn recent_changes(state: State<'_, AppState>, since: f64) -> Res<Vec<Activity>> {
    state.with(|ws| ws.changes_since(since as i64, 30))
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

/// Clears a note's merge mark: the user has seen the note. Whether it had one.
#[tauri::command]
pub async fn seen_merge(state: State<'_, AppState>, id: String) -> Res<bool> {
    note_id(&id)?;
    state.with(|ws| ws.seen_merge(&id))
}

/// Keeps the texts of big notes typed into, so they open at once next time (the user left one).
#[tauri::command]
pub async fn keep_texts(state: State<'_, AppState>) -> Res<u32> {
    state.with(|ws| ws.keep_texts().map(|n| n as u32))
}

/// Indexes for search up to `max` notes a join listed without their text, on a connection of
/// its own (typing does not wait), and says how far the index has got.
#[tauri::command]
pub async fn index_for_search(app: AppHandle, max: u32) -> Res<SearchProgress> {
    on_own_connection(app, move |ws, _| ws.index_for_search(max as usize)).await
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
    off_runtime(app, move |state| state.with(|ws| setup::inspect_spec(ws, &spec))).await
}

/// Creates a folder that does not exist yet (the user agreed in the setup dialog).
#[tauri::command]
pub async fn create_folder(app: AppHandle, spec: TargetSpec) -> Res<()> {
    off_runtime(app, move |_| Ok(setup::create_folder(&spec)?)).await
}

/// How strong a passphrase looks.
#[tauri::command]
pub async fn passphrase_strength(passphrase: String) -> Res<Strength> {
    Ok(setup::strength(&passphrase))
}

/// Shares this workspace to an empty target (or adds one of this workspace).
#[tauri::command]
pub async fn share_target(
    app: AppHandle,
    spec: TargetSpec,
    passphrase: Option<String>,
) -> Res<Shared> {
    off_runtime(app, move |state| {
        let (target, stored) =
            state.with(|ws| setup::share(ws, &spec, passphrase.as_deref(), scrypt_log_n()))?;
        state.nudge();
        Ok(Shared {
            target: target.location,
            password_file: stored.map(|p| p.display().to_string()),
        })
    })
    .await
}

/// Joins the workspace on a target, keeping the notes written here. Returns notes carried. A
/// workspace that is not encrypted is joined only with `accept_plaintext` (the user confirmed
/// the warning).
#[tauri::command]
pub async fn join_target(
    app: AppHandle,
    state: State<'_, AppState>,
    spec: TargetSpec,
    passphrase: Option<String>,
    accept_plaintext: bool,
    code: Option<String>,
) -> Res<u32> {
    // A pasted setup code is read before anything stops: a mistyped one changes nothing.
    let code = code
        .map(|c| resnotes_core::format::invite::SetupCode::parse(&c))
        .transpose()
        .map_err(|e| IpcError::from(resnotes_core::Error::from(e)))?;
    // The transport is made inside `off_runtime`: a WebDAV client must not be dropped on the runtime.
    let running = state.sync.lock().unwrap_or_else(|p| p.into_inner()).take();
    if let Some(r) = running {
        r.stop();
        let _ = tauri::async_runtime::spawn_blocking(move || r.join()).await;
    }
    let now = (system_clock())();
    let result = off_runtime(app.clone(), move |state| {
        state.reopen_after(|| match &code {
            Some(code) => {
                setup::join_keeping_notes_with_code(&state.dir, &spec, code, system_clock(), now)
            }
            None => setup::join_keeping_notes(
                &state.dir,
                &spec,
                passphrase.as_deref(),
                accept_plaintext,
                system_clock(),
                now,
            ),
        })
    })
    .await;
    if let (Ok(_), Some(host)) = (&result, host_name()) {
        // The joined device is a new one: it takes the computer's name, as at first start.
        let _ = state.with(|ws| ws.name_if_unnamed(&host));
    }
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

fn asset_ref(url: &str) -> Res<AssetRef> {
    AssetRef::parse(url.trim()).map_err(|e| IpcError::invalid(e.to_string()))
}

/// "Check this folder": reads back everything this device has from the target and compares it
/// (see `Workspace::verify`), on a connection of its own so typing never waits; progress as
/// `verify://progress` events, at most every 100 ms.
#[tauri::command]
pub async fn verify_target(app: AppHandle, id: String) -> Res<Verification> {
    on_own_connection(app, move |ws, app| {
        let mut last: Option<std::time::Instant> = None;
        ws.verify(&id, &mut |done, total| {
            if done == total || last.is_none_or(|t| t.elapsed().as_millis() >= 100) {
                last = Some(std::time::Instant::now());
                let _ = app.emit(VERIFY_PROGRESS, Checked { target: id.clone(), done, total });
            }
        })
    })
    .await
}

/// Runs `f` on its own connection to the data dir, on the blocking pool: attachment transfers
/// can take minutes and must not hold the UI's connection (typing would wait).
pub(crate) async fn on_own_connection<T: Send + 'static>(
    app: AppHandle,
    f: impl FnOnce(&mut Workspace, &AppHandle) -> resnotes_core::Result<T> + Send + 'static,
) -> Res<T> {
    let handle = app.clone();
    off_runtime(app, move |state| {
        let mut ws = Workspace::open(&state.dir)?;
        Ok(f(&mut ws, &handle)?)
    })
    .await
}

/// Stores pasted bytes as an attachment. The body is the raw file; headers `x-name` (the
/// percent-encoded file name) and `x-type` (its MIME type) describe it. Returns the markdown
/// to insert.
#[tauri::command]
pub async fn attach_bytes(app: AppHandle, request: tauri::ipc::Request<'_>) -> Res<Attached> {
    let tauri::ipc::InvokeBody::Raw(bytes) = request.body() else {
        return Err(IpcError::invalid("the attachment was not sent as raw bytes"));
    };
    let header =
        |k: &str| request.headers().get(k).and_then(|v| v.to_str().ok()).map(str::to_string);
    let name = header("x-name")
        .map(|n| resnotes_core::format::asset::percent_decode(&n))
        .unwrap_or_else(|| "pasted".into());
    let mime = header("x-type").filter(|m| !m.is_empty());
    let bytes = bytes.clone();
    let attached = on_own_connection(app.clone(), move |ws, _| {
        ws.add_asset_bytes(&bytes, &name, mime.as_deref())
    })
    .await?;
    app.state::<AppState>().nudge_assets();
    Ok(Attached::from(&attached))
}

/// Stores a file the user handed to the app as an attachment; returns the markdown to insert.
/// Only a path Rust itself received (a drop on the window, the "Attach files" dialog) is read:
/// a path made up by a script is refused.
#[tauri::command]
pub async fn attach_path(app: AppHandle, path: String) -> Res<Attached> {
    let p = std::path::PathBuf::from(&path);
    if !app.state::<AppState>().take_grant(&p) {
        return Err(IpcError {
            code: "not_handed_over".into(),
            message:
                "only files you drop on the window or choose with Attach files… can be attached"
                    .into(),
        });
    }
    let attached = on_own_connection(app.clone(), move |ws, _| {
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "attachment".into());
        ws.add_asset(&p, &name, None)
    })
    .await?;
    app.state::<AppState>().nudge_assets();
    Ok(Attached::from(&attached))
}

/// Attaches the image on the system clipboard (a screenshot, an image copied in another
/// program), for a paste whose event carried no file: WebKitGTK does not hand images on the
/// clipboard to the page. Returns what to insert, or nothing when the clipboard holds no image.
#[tauri::command]
pub async fn paste_image(app: AppHandle) -> Res<Option<Attached>> {
    let (tx, rx) = std::sync::mpsc::channel();
    app.run_on_main_thread(move || {
        let _ = tx.send(clipboard_png());
    })
    .map_err(|e| IpcError::invalid(format!("the clipboard could not be read ({e})")))?;
    let png =
        tauri::async_runtime::spawn_blocking(move || rx.recv().ok().flatten()).await.ok().flatten();
    let Some(png) = png else { return Ok(None) };
    let name = format!("Pasted image {}.png", utc_stamp((system_clock())()));
    let attached = on_own_connection(app.clone(), move |ws, _| {
        ws.add_asset_bytes(&png, &name, Some("image/png"))
    })
    .await?;
    app.state::<AppState>().nudge_assets();
    Ok(Some(Attached::from(&attached)))
}

/// This program and the system it runs on, for the log and "Copy diagnostics".
pub(crate) fn about() -> diagnostics::About {
    diagnostics::About {
        program: format!("Resilient Notes {} (app)", env!("CARGO_PKG_VERSION")),
        system: diagnostics::system_description(),
    }
}

/// "Copy diagnostics" (Settings): the report for a bug report (see `resnotes_core::diagnostics`:
/// no note text, secret or location) put on the system clipboard, and returned so the window
/// shows what was copied.
#[tauri::command]
pub async fn copy_diagnostics(app: AppHandle) -> Res<String> {
    let text = on_own_connection(app.clone(), |ws, app| {
        let logs = app.state::<AppState>().dir.join(diagnostics::LOG_DIR);
        ws.diagnostics(&about(), Some(&logs))
    })
    .await?;
    let copy = text.clone();
    app.run_on_main_thread(move || set_clipboard_text(&copy))
        .map_err(|e| IpcError::invalid(format!("the clipboard could not be written ({e})")))?;
    Ok(text)
}

/// "Copy" beside a setup code: puts the text on the system clipboard.
#[tauri::command]
pub async fn copy_text(app: AppHandle, text: String) -> Res<()> {
    app.run_on_main_thread(move || set_clipboard_text(&text))
        .map_err(|e| IpcError::invalid(format!("the clipboard could not be written ({e})")))
}

/// Puts text on the system clipboard (GTK, on the main thread).
#[cfg(target_os = "linux")]
fn set_clipboard_text(text: &str) {
    let clipboard = gtk::Clipboard::get(&gtk::gdk::SELECTION_CLIPBOARD);
    clipboard.set_text(text);
    clipboard.store();
}

#[cfg(not(target_os = "linux"))]
fn set_clipboard_text(_: &str) {}

/// `2026-12-02 14.05.09` (UTC) for a pasted image's name.
fn utc_stamp(ms: i64) -> String {
    let t = resnotes_core::CalendarTime::utc(ms);
    format!(
        "{:04}-{:02}-{:02} {:02}.{:02}.{:02}",
        t.year, t.month, t.day, t.hour, t.minute, t.second
    )
}

/// The clipboard's image as PNG bytes (GTK, on the main thread).
#[cfg(target_os = "linux")]
fn clipboard_png() -> Option<Vec<u8>> {
    let clipboard = gtk::Clipboard::get(&gtk::gdk::SELECTION_CLIPBOARD);
    clipboard.wait_for_image()?.save_to_bufferv("png", &[]).ok()
}

#[cfg(not(target_os = "linux"))]
fn clipboard_png() -> Option<Vec<u8>> {
    None
}

/// Shows the system's file chooser for files to attach; returns the chosen paths (now
/// attachable with [`attach_path`]), none when cancelled.
#[tauri::command]
pub async fn choose_attachments(app: AppHandle) -> Res<Vec<String>> {
    let handle = app.clone();
    let picked = tauri::async_runtime::spawn_blocking(move || {
        use tauri_plugin_dialog::DialogExt;
        handle.dialog().file().set_title("Attach files").blocking_pick_files()
    })
    .await
    .map_err(|e| IpcError::invalid(format!("the file chooser failed: {e}")))?;
    let paths: Vec<std::path::PathBuf> =
        picked.unwrap_or_default().into_iter().filter_map(|f| f.into_path().ok()).collect();
    app.state::<AppState>().grant(paths.iter().cloned());
    Ok(paths.iter().map(|p| p.to_string_lossy().into_owned()).collect())
}

/// Whether this device already holds an attachment (then it shows at once).
#[tauri::command]
pub async fn asset_local(state: State<'_, AppState>, url: String) -> Res<bool> {
    let r = asset_ref(&url)?;
    state.with(|ws| ws.has_asset(&r.id))
}

/// Downloads an attachment from a target and verifies it (progress as `sync://event`).
#[tauri::command]
pub async fn fetch_asset(app: AppHandle, url: String) -> Res<()> {
    let r = asset_ref(&url)?;
    on_own_connection(app, move |ws, app| ws.fetch_asset(&r, &mut transfer_events(app))).await
}

/// Asks where to save an attachment (the system's save dialog, run here: the place never
/// comes from JavaScript) and saves its verified content there. False when cancelled.
#[tauri::command]
pub async fn save_asset(app: AppHandle, url: String) -> Res<bool> {
    let r = asset_ref(&url)?;
    let handle = app.clone();
    let name = resnotes_core::format::asset::safe_file_name(&r.name);
    let picked = tauri::async_runtime::spawn_blocking(move || {
        use tauri_plugin_dialog::DialogExt;
        handle.dialog().file().set_title("Save attachment").set_file_name(name).blocking_save_file()
    })
    .await
    .map_err(|e| IpcError::invalid(format!("the save dialog failed: {e}")))?;
    let Some(path) = picked.and_then(|f| f.into_path().ok()) else { return Ok(false) };
    on_own_connection(app, move |ws, app| ws.save_asset(&r, &path, &mut transfer_events(app)))
        .await?;
    Ok(true)
}

/// Opens an attachment with the system's default program (a verified copy in the data dir).
#[tauri::command]
pub async fn open_asset(app: AppHandle, url: String) -> Res<()> {
    let r = asset_ref(&url)?;
    let inert = resnotes_core::format::asset::opens_directly(&r.name);
    let path = on_own_connection(app.clone(), move |ws, app| {
        ws.copy_for_opening(&r, &mut transfer_events(app))
    })
    .await?;
    use tauri_plugin_opener::OpenerExt;
    // Only kinds that run nothing go to the default program; any other file (a script, a
    // launcher, named by its sender) is shown in its folder for the user to decide.
    let opened = if inert {
        app.opener().open_path(path.to_string_lossy(), None::<&str>)
    } else {
        app.opener().reveal_item_in_dir(&path)
    };
    opened.map_err(|e| IpcError {
        code: "open_failed".into(),
        message: format!("no program could open the attachment ({e}); use Save as… instead"),
    })
}

/// Every attachment with its state per target, for the sync panel.
#[tauri::command]
pub async fn list_assets(state: State<'_, AppState>) -> Res<Vec<AssetInfo>> {
    state.with(|ws| ws.assets())
}

/// Turns "keep all attachments offline" on or off for a target.
#[tauri::command]
pub async fn set_keep_attachments(
    state: State<'_, AppState>,
    target: String,
    on: bool,
) -> Res<Target> {
    let t = state.with(|ws| ws.set_keep_attachments(&target, on))?;
    state.nudge();
    Ok(t)
}

/// Moves the workspace to fewer files in its folders and servers (FORMAT.md §11.1), then
/// syncs; false when it already was.
#[tauri::command]
pub async fn use_fewer_files(state: State<'_, AppState>) -> Res<bool> {
    let changed = state.with(|ws| ws.use_fewer_files())?;
    state.nudge();
    Ok(changed)
}

/// Opens a web or mail link from a note in the system browser (the UI showed its full address
/// first; the window itself never navigates away: see `navigation`).
#[tauri::command]
pub async fn open_link(app: AppHandle, url: String) -> Res<()> {
    let parsed = tauri::Url::parse(url.trim())
        .map_err(|_| IpcError::invalid(format!("'{url}' is not a web address")))?;
    if !crate::navigation::openable(&parsed) {
        return Err(IpcError::invalid(format!(
            "only web and mail links open from a note, not '{}'",
            parsed.scheme()
        )));
    }
    use tauri_plugin_opener::OpenerExt;
    app.opener().open_url(parsed.as_str(), None::<&str>).map_err(|e| IpcError {
        code: "open_failed".into(),
        message: format!("no browser could open the link ({e})"),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn pasted_images_are_named_by_their_time() {
        assert_eq!(super::utc_stamp(0), "1970-01-01 00.00.00");
        assert_eq!(super::utc_stamp(1_764_684_309_000), "2025-12-02 14.05.09");
        assert_eq!(super::utc_stamp(951_782_400_000), "2000-02-29 00.00.00");
    }
}
