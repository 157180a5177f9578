// The only module that talks to the Rust side: typed wrappers over `invoke` and `listen`.
// Types come from ./bindings, generated from the Rust types (see src-tauri/src/ipc.rs).
import { invoke } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";
import { getCurrentWebview } from "@tauri-apps/api/webview";
import { open } from "@tauri-apps/plugin-dialog";
import type { Activity } from "./bindings/Activity";
import type { AssetInfo } from "./bindings/AssetInfo";
import type { Attached } from "./bindings/Attached";
import type { Checked } from "./bindings/Checked";
import type { Comparison } from "./bindings/Comparison";
import type { Contents } from "./bindings/Contents";
import type { Device } from "./bindings/Device";
import type { Edited } from "./bindings/Edited";
import type { ExportReport } from "./bindings/ExportReport";
import type { ImportReport } from "./bindings/ImportReport";
import type { Invited } from "./bindings/Invited";
import type { IpcError } from "./bindings/IpcError";
import type { LinkedNote } from "./bindings/LinkedNote";
import type { LogItem } from "./bindings/LogItem";
import type { Note } from "./bindings/Note";
import type { Notebook } from "./bindings/Notebook";
import type { Notebooks } from "./bindings/Notebooks";
import type { NoteSummary } from "./bindings/NoteSummary";
import type { Progress } from "./bindings/Progress";
import type { SearchProgress } from "./bindings/SearchProgress";
import type { Shared } from "./bindings/Shared";
import type { Sort } from "./bindings/Sort";
import type { Status } from "./bindings/Status";
import type { Strength } from "./bindings/Strength";
import type { SyncEvent } from "./bindings/SyncEvent";
import type { SyncStatus } from "./bindings/SyncStatus";
import type { TagCount } from "./bindings/TagCount";
import type { Target } from "./bindings/Target";
import type { TargetSpec } from "./bindings/TargetSpec";
import type { TargetStatus } from "./bindings/TargetStatus";
import type { TextSplice } from "./bindings/TextSplice";
import type { Verification } from "./bindings/Verification";
import type { Version } from "./bindings/Version";
import type { VersionText } from "./bindings/VersionText";

export type {
  AssetInfo,
  Attached,
  Contents,
  Invited,
  LinkedNote,
  LogItem,
  Note,
  Notebook,
  Notebooks,
  NoteSummary,
  SearchProgress,
  Shared,
  Sort,
  Status,
  Strength,
  SyncEvent,
  SyncStatus,
  TagCount,
  Target,
  TargetSpec,
  TargetStatus,
  TextSplice,
  Verification,
};

/** An error from the Rust side; `message` is one sentence for the user. */
export class AppError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function isIpcError(e: unknown): e is IpcError {
  return (
    typeof e === "object" &&
    e !== null &&
    typeof (e as IpcError).code === "string" &&
    typeof (e as IpcError).message === "string"
  );
}

async function call<T>(
  cmd: string,
  args?: Record<string, unknown> | Uint8Array,
  headers?: Record<string, string>,
): Promise<T> {
  try {
    return await invoke<T>(cmd, args, headers ? { headers } : undefined);
  } catch (e) {
    if (isIpcError(e)) throw new AppError(e.code, e.message);
    throw new AppError(
      "ipc",
      `The app's core did not answer (${String(e)}); restart the app if this persists.`,
    );
  }
}

/** Search results for `filter`, or when it is empty the notes with `tag` or in `notebook`
 * (`""`: the default notebook; all notes without either), pinned first, in `sort` order. */
export const listNotes = (
  filter: string,
  limit: number,
  tag: string | null = null,
  sort: Sort = "edited",
  notebook: string | null = null,
) => call<NoteSummary[]>("list_notes", { filter, limit, tag, sort, notebook });
/** The notebook tree with note counts. */
export const listNotebooks = () => call<Notebooks>("list_notebooks");
/** Makes a notebook inside `parent` (null: the top level); its id. */
export const addNotebook = (name: string, parent: string | null) =>
  call<string>("add_notebook", { name, parent });
export const renameNotebook = (id: string, name: string) =>
  call<void>("rename_notebook", { id, name });
/** Moves a notebook into `parent` (null: the top level). */
export const moveNotebook = (id: string, parent: string | null) =>
  call<void>("move_notebook", { id, parent });
/** Deletes a notebook and those inside it; how many notes went to the trash. */
export const deleteNotebook = (id: string) => call<number>("delete_notebook", { id });
/** Files a note in `notebook` (null: the default notebook). */
export const moveNote = (id: string, notebook: string | null) =>
  call<void>("move_note", { id, notebook });
/** The trash: notes deleted in the last 30 days, most recently deleted first; with a `filter`,
 * those with its words in their title or text, best first. */
export const trashNotes = (filter = "") => call<NoteSummary[]>("trash_notes", { filter });
/** Empties the trash (on every device once synced); how many notes left it. */
export const emptyTrash = () => call<number>("empty_trash");
/** Each linked note with its current title and state. */
export const linkedNotes = (ids: string[]) => call<LinkedNote[]>("linked_notes", { ids });
/** The notes that link to a note. */
export const backlinks = (id: string) => call<NoteSummary[]>("backlinks", { id });
export const listTags = () => call<TagCount[]>("list_tags");
/** The devices of the workspace with the names they gave themselves, this one first. */
export const listDevices = () => call<Device[]>("list_devices");
/** Names this device (every device shows the name once synced); the name as stored. */
export const nameDevice = (name: string) => call<string>("name_device", { name });
/** Renames a tag on every note; its stored name and how many notes changed. */
export const renameTag = (old: string, name: string) =>
  call<TagCount>("rename_tag", { old, new: name });
export const setPinned = (id: string, pinned: boolean) => call<void>("set_pinned", { id, pinned });
/** Adds and removes tags of a note; its tags after. */
export const retag = (id: string, add: string[], remove: string[]) =>
  call<string[]>("retag", { id, add, remove });
export const getNote = (id: string) => call<Note>("get_note", { id });
/** A new empty note in `notebook` (null: the default notebook). */
export const createNote = (notebook: string | null = null) =>
  call<Note>("create_note", { notebook });
/** Applies splices positioned in the version `heads` of the note (as last received). */
export const editNote = (id: string, heads: string[], title: TextSplice[], body: TextSplice[]) =>
  call<Edited>("edit_note", { id, heads, title, body });
/** Keeps the texts of big notes typed into, so they open at once next time. */
export const keepTexts = () => call<number>("keep_texts");
/** Clears a note's merge mark (the user has seen it); whether it had one. */
export const seenMerge = (id: string) => call<boolean>("seen_merge", { id });
/** Indexes for search up to `max` notes a join listed without their text; how far it got. */
export const indexForSearch = (max: number) => call<SearchProgress>("index_for_search", { max });
export const deleteNote = (id: string) => call<void>("delete_note", { id });
export const restoreNote = (id: string) => call<Note>("restore_note", { id });
export const recentChanges = (since: number) => call<Activity[]>("recent_changes", { since });
export const noteHistory = (id: string) => call<Version[]>("note_history", { id });
export const noteVersion = (id: string, version: string) =>
  call<VersionText>("note_version", { id, version });
export const compareVersions = (id: string, from: string, to: string) =>
  call<Comparison>("compare_versions", { id, from, to });
export const restoreVersion = (id: string, version: string) =>
  call<boolean>("restore_version", { id, version });
export const syncStatus = () => call<Status>("sync_status");
export const logEntries = (limit: number) => call<LogItem[]>("log_entries", { limit });
/** What a target holds (for WebDAV: also tests the connection and credentials). */
export const inspectTarget = (spec: TargetSpec) => call<Contents>("inspect_target", { spec });
/** Creates a folder that does not exist yet (after the user agreed). */
export const createFolder = (spec: TargetSpec) => call<void>("create_folder", { spec });
export const passphraseStrength = (passphrase: string) =>
  call<Strength>("passphrase_strength", { passphrase });
export const shareTarget = (spec: TargetSpec, passphrase: string | null) =>
  call<Shared>("share_target", { spec, passphrase });
/** Joins the workspace on `spec` with its passphrase or a setup code; an unencrypted one only
 * with `acceptPlaintext`. */
export const joinTarget = (
  spec: TargetSpec,
  passphrase: string | null,
  acceptPlaintext: boolean,
  code: string | null = null,
) => call<number>("join_target", { spec, passphrase, acceptPlaintext, code });
/** "Add a device": a one-time setup code with its QR code. */
export const inviteDevice = () => call<Invited>("invite_device");
export const copyText = (text: string) => call<null>("copy_text", { text });
/** "Cancel this code": the setup code opens nothing from now on. */
export const cancelInvite = (code: string) => call<null>("cancel_invite", { code });
/** Changes the workspace's passphrase; resolves to the devices that could not get the new key. */
export const changePassphrase = (passphrase: string) =>
  call<string[]>("change_passphrase", { passphrase });
/** The new passphrase typed after it was changed elsewhere; true when it gave a new key. */
export const enterPassphrase = (passphrase: string) =>
  call<boolean>("enter_passphrase", { passphrase });
/** Removes a device (its id) from the workspace; `passphrase` is the current one. Returns the
 * devices that could not be given the new key. */
export const removeDevice = (device: string, passphrase: string) =>
  call<string[]>("remove_device", { device, passphrase });
/** Lets in a device held back since a removal (its id); `passphrase` is the current one. */
export const letInDevice = (device: string, passphrase: string) =>
  call<string[]>("let_in_device", { device, passphrase });
export const removeTarget = (id: string) => call<unknown>("remove_target", { id });
export const syncNow = () => call<void>("sync_now");
/** Puts the diagnostics report on the system clipboard and returns it (no note text, secret or
 * location in it). */
export const copyDiagnostics = () => call<string>("copy_diagnostics");
/** "Check this folder": every change and attachment this device has, read back from the
 * target and compared; progress arrives as `verify://progress`. */
export const verifyTarget = (id: string) => call<Verification>("verify_target", { id });
/** Shows the system's folder chooser (`folder`) or file chooser for a Joplin or Evernote
 * export (`file`), then imports what was chosen into a new notebook; null when cancelled.
 * Progress arrives as `transfer://progress`. */
export const importNotes = (from: "folder" | "file") =>
  call<ImportReport | null>("import_notes", { from });
/** Shows the system's folder chooser, then writes every note (or `notebook`'s) there as
 * Markdown; null when cancelled. */
export const exportNotes = (notebook: string | null = null) =>
  call<ExportReport | null>("export_notes", { notebook });
/** Asks the running import or export to stop at the next file. */
export const stopTransfer = () => call<void>("stop_transfer");
/** Opens a web or mail link in the system browser. */
export const openLink = (url: string) => call<void>("open_link", { url });

/** Stores a pasted or dropped file (sent as raw bytes) as an attachment. */
export async function attachFile(file: File): Promise<Attached> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  return call<Attached>("attach_bytes", bytes, {
    "x-name": encodeURIComponent(file.name || "pasted"),
    "x-type": file.type || "",
  });
}
/** Stores a file the user handed over (dropped, or chosen with `chooseAttachments`) as an
 * attachment; Rust refuses any other path. */
export const attachPath = (path: string) => call<Attached>("attach_path", { path });
/** Attaches the system clipboard's image (Rust reads it); null when it holds none. */
export const pasteImage = () => call<Attached | null>("paste_image");
/** The system's file chooser for attachments (run in Rust); the chosen paths, [] if cancelled. */
export const chooseAttachments = () => call<string[]>("choose_attachments");
export const assetLocal = (url: string) => call<boolean>("asset_local", { url });
/** Downloads and verifies an attachment; progress arrives as `asset_progress` sync events. */
export const fetchAsset = (url: string) => call<void>("fetch_asset", { url });
/** Asks where to save (the dialog runs in Rust) and saves; false when cancelled. */
export const saveAsset = (url: string) => call<boolean>("save_asset", { url });
export const openAsset = (url: string) => call<void>("open_asset", { url });
export const listAssets = () => call<AssetInfo[]>("list_assets");
export const setKeepAttachments = (target: string, on: boolean) =>
  call<Target>("set_keep_attachments", { target, on });
/** Moves the workspace to fewer files (FORMAT.md §11.1); false when it already was. */
export const useFewerFiles = () => call<boolean>("use_fewer_files");

/** Files dropped on the window from the desktop: their paths and where (CSS pixels). */
export const onFileDrop = (
  f: (paths: string[], x: number, y: number) => void,
): Promise<UnlistenFn> =>
  getCurrentWebview().onDragDropEvent((e) => {
    if (e.payload.type === "drop") {
      const ratio = window.devicePixelRatio || 1;
      f(e.payload.paths, e.payload.position.x / ratio, e.payload.position.y / ratio);
    }
  });

/** Opens the native folder picker; null when cancelled. */
export async function pickFolder(): Promise<string | null> {
  const picked = await open({
    directory: true,
    multiple: false,
    title: "Choose a folder to sync with",
  });
  return typeof picked === "string" ? picked : null;
}

export const onSyncState = (f: (s: SyncStatus) => void): Promise<UnlistenFn> =>
  listen<SyncStatus>("sync://state", (e) => f(e.payload));
export const onSyncEvent = (f: (e: SyncEvent) => void): Promise<UnlistenFn> =>
  listen<SyncEvent>("sync://event", (e) => f(e.payload));
export const onTransferProgress = (f: (p: Progress) => void): Promise<UnlistenFn> =>
  listen<Progress>("transfer://progress", (e) => f(e.payload));
export const onVerifyProgress = (f: (c: Checked) => void): Promise<UnlistenFn> =>
  listen<Checked>("verify://progress", (e) => f(e.payload));
export const onNotesChanged = (f: () => void): Promise<UnlistenFn> =>
  listen<null>("notes://changed", () => f());
