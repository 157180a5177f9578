// Wires the window together: list, editor, sync panel, setup dialog, shortcuts and events.
import "./style.css";
import { AssetViews, Transfers } from "./attachments";
import { DeviceNames } from "./devices";
import { NoteEditor } from "./editor";
import { titleOf } from "./format";
import { HistoryPanel } from "./history";
import { SearchIndexing } from "./indexing";
import {
  attachPath,
  backlinks,
  chooseAttachments,
  copyDiagnostics,
  createNote,
  deleteNote,
  getNote,
  keepTexts,
  linkedNotes,
  listNotebooks,
  nameDevice,
  onFileDrop,
  onNotesChanged,
  onSyncEvent,
  onSyncState,
  openLink,
  restoreNote,
  seenMerge,
} from "./ipc";
import { NotesList } from "./list";
import { MergeMark, mergedSentence } from "./mergemark";
import { NotebookTree } from "./notebooks";
import { NoteDirectory, noteLinkExtensions } from "./notelinks";
import { NotesIo } from "./notesio";
import { NoteTags, ViewBar } from "./organize";
import { Settings } from "./settings";
import { SetupDialog } from "./setup";
import { Switcher } from "./switcher";
import { SyncPanel } from "./syncpanel";
import { afterPaint, Timings } from "./timings";

/** What the app benchmark reads over WebDriver (see timings.ts). */
const timings = new Timings();
timings.startStep("script");
requestAnimationFrame(() => timings.startStep("firstFrame"));
void afterPaint().then(() => timings.startStep("firstPainted"));
(window as unknown as { resnotesTimings: Timings }).resnotesTimings = timings;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

let toastTimer: ReturnType<typeof setTimeout> | null = null;
function toast(message: string, action?: { label: string; run: () => void }, ms = 6000): void {
  const t = $("toast");
  t.replaceChildren(document.createTextNode(message));
  if (action) {
    const b = document.createElement("button");
    b.textContent = action.label;
    b.addEventListener("click", () => {
      t.hidden = true;
      action.run();
    });
    t.append(" ", b);
  }
  t.hidden = false;
  if (toastTimer) clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (t.hidden = true), ms);
}
const showError = (message: string) => toast(message, undefined, 8000);

// Links in the preview never load into the window (the Rust side refuses that too): a web or
// mail link opens in the system browser after its full address was shown and "Open" clicked.
$("preview").addEventListener("click", (e) => {
  const a = (e.target as Element).closest?.("a[href]");
  if (!a) return;
  const href = a.getAttribute("href") ?? "";
  if (href.startsWith("asset:")) return; // attachments.ts handles its own
  e.preventDefault();
  if (href.startsWith("note:")) {
    void openLinked(href.slice(5).toLowerCase());
    return;
  }
  if (/^(https?|mailto):/i.test(href)) {
    toast(
      `Open ${href} in your browser?`,
      {
        label: "Open",
        run: () => void openLink(href).catch((err) => showError(String(err.message ?? err))),
      },
      15000,
    );
  }
});

const assetViews = new AssetViews((m) => showError(m));
const directory = new NoteDirectory();
/** Follows a link to another note: opens it, or says why it cannot. */
async function openLinked(id: string): Promise<void> {
  const [state] = await linkedNotes([id]).catch(() => []);
  if (state?.state === "trashed") {
    toast(`“${state.title || "Untitled"}” is in the trash.`, {
      label: "Restore",
      run: () => void restoreFromTrash(id).then(() => show(id)),
    });
  } else if (!state || state.state === "missing") {
    toast(
      "That note is not on this device: it was emptied from the trash, or has not synced here yet.",
    );
  } else {
    if (list.view.kind === "trash") await viewBar.show({ kind: "all" });
    await show(id);
  }
}
const transfers = new Transfers();
const editor: NoteEditor = new NoteEditor(
  $("editor"),
  $<HTMLInputElement>("title"),
  $("preview"),
  {
    saved: () => {
      void list.reload();
      if (history.isOpen) history.show(editor.openId);
    },
    failed: (m) => showError(`Could not save: ${m} Your text is kept and saved again shortly.`),
    vanished: () => {
      void show(null);
      toast("This note was deleted on another device.");
    },
    notice: (m) => toast(m),
    attachFailed: showError,
  },
  assetViews,
  timings,
  noteLinkExtensions(
    directory,
    (id) => void openLinked(id),
    () => editor.openId,
  ),
);

/** Devices by name: a name that changed shows wherever devices are named. */
const devices = new DeviceNames(() => {
  void panel.refresh();
  if (history.isOpen) history.show(editor.openId);
});
/** The devices whose edits met this device's in a note, as the merge line names them:
 * unnamed ones as "another device". */
function mergedNames(ids: string[]): string[] {
  const named = ids.flatMap((id) => devices.names.get(id) ?? []);
  const unnamed = ids.length - named.length;
  if (unnamed > 0) named.push(unnamed === 1 ? "another device" : "other devices");
  return named;
}
const settings = new Settings(
  $("settings"),
  (p) => editor.setSpellcheck(p.spellcheck),
  () => devices.refresh().then(() => devices.mine),
  async (name) => {
    const stored = await nameDevice(name);
    await devices.refresh();
    return stored;
  },
);
$("open-settings").addEventListener("click", () => settings.open());
const notesIo = new NotesIo($("notes-io"));
/** The import and export buttons: in Settings, and in the list while there are no notes. */
function onIoButton(e: Event): void {
  const io = (e.target as HTMLElement).dataset.io;
  if (!io) return;
  settings.close();
  if (io === "export") void notesIo.export();
  else void notesIo.import(io === "import-file" ? "file" : "folder");
}
$("settings").addEventListener("click", onIoButton);
/** "Copy diagnostics": Rust puts the report on the clipboard; the dialog shows what it holds. */
$("settings")
  .querySelector("[data-action=copy-diagnostics]")
  ?.addEventListener("click", () => {
    const box = $("settings").querySelector(".diagnostics") as HTMLElement;
    copyDiagnostics().then(
      (text) => {
        const report = box.querySelector(".report") as HTMLElement;
        report.textContent = text;
        report.hidden = false;
        (box.querySelector(".copied") as HTMLElement).hidden = false;
        report.scrollIntoView({ block: "nearest" });
      },
      (e) => showError(e instanceof Error ? e.message : String(e)),
    );
  });
$("notes-empty").addEventListener("click", onIoButton);

let shownOnce = false;
/** Notes made with New in this session: one left without title or text is discarded when the
 * user moves on, so empty "Untitled" notes do not pile up. */
const fresh = new Set<string>();
/** Counts note switches: when the user picks notes faster than they open, the last pick wins. */
let showSeq = 0;
async function show(id: string | null): Promise<void> {
  shownOnce = true;
  const started = performance.now();
  const seq = ++showSeq;
  if (id !== editor.openId) {
    editor.beginSwitch();
    if (id) list.select(id);
  }
  try {
    const leaving = editor.openId;
    if (leaving && id && leaving !== id && fresh.has(leaving) && editor.isBlank) {
      fresh.delete(leaving);
      await editor.settle();
      // Only what the engine holds decides: a note with any title or text is kept.
      const stored = await getNote(leaving).catch(() => null);
      if (stored && !stored.title.trim() && !stored.body.trim()) {
        await deleteNote(leaving);
        void list.reload();
      }
    }
    const note = id ? await getNote(id) : null;
    if (seq !== showSeq) return;
    await editor.open(note);
    noteTags.show(note);
    openNotebook = note?.notebook ?? "";
    tree.fill(noteNotebook, openNotebook);
    void showBacklinks(note?.id ?? null);
    history.show(note?.id ?? null);
    // The note left may be big and typed into: its text is kept so it opens at once next time
    // (after the new one showed, so opening does not wait for it).
    if (leaving && leaving !== note?.id) setTimeout(() => void keepTexts().catch(() => {}), 500);
    if (seq !== showSeq) return;
    if (note) void timings.spanToPaint("open", started);
    list.select(note?.id ?? null);
    $("note").hidden = !note;
    $("left-out").hidden = !note?.left_out.length;
    mergeMark.show(
      note?.id ?? null,
      (note?.merged_with.length ?? 0) > 0,
      mergedSentence(mergedNames(note?.merged_with ?? [])),
    );
    $("no-note").hidden = !!note;
    for (const b of document.querySelectorAll<HTMLElement>(".note-only")) b.hidden = !note;
  } catch (e) {
    // The note shown stays, and takes input again.
    if (seq === showSeq) {
      editor.cancelSwitch();
      list.select(editor.openId);
    }
    showError(e instanceof Error ? e.message : String(e));
  }
}

const list = new NotesList(
  $<HTMLUListElement>("notes"),
  $("notes-empty"),
  (id) => void show(id),
  showError,
  { open: () => editor.focusBody(), remove: () => void removeOpen() },
  (id) => void restoreFromTrash(id),
);
/** Tags changed (here or on another device): the menu and the suggestions follow. */
async function tagsChanged(): Promise<void> {
  noteTags.suggest(await viewBar.refreshTags());
}
const viewBar = new ViewBar(
  $<HTMLSelectElement>("view"),
  $("view-notebooks") as HTMLOptGroupElement,
  $("view-tags") as HTMLOptGroupElement,
  $<HTMLSelectElement>("sort"),
  $("trash-bar"),
  $("tag-view-bar"),
  $("empty-trash-dialog"),
  list,
  (view) => tree.mark(view),
  (m) => toast(m),
  showError,
  () => {
    if (editor.openId) void show(editor.openId);
    void list.reload();
  },
);
/** The open note's notebook (`""`: the default one), as its "Notebook" menu shows it. */
let openNotebook = "";
const noteNotebook = $<HTMLSelectElement>("note-notebook");
const tree = new NotebookTree(
  $("notebooks"),
  $("notebook-dialog"),
  async () => {
    const t = await listNotebooks();
    viewBar.setNotebooks(t, "Inbox");
    tree.fill(noteNotebook, openNotebook);
    return t;
  },
  (view) => void viewBar.show(view),
  () => {
    void list.reload();
    if (editor.openId) void refreshOpenNotebook(editor.openId);
  },
  (m) => toast(m),
  showError,
  (id) => void removeNote(id),
  (id) => void notesIo.export(id),
);
$("search-trash").addEventListener("click", () => void viewBar.show({ kind: "trash" }));
/** Reads which notebook the open note is in now (moved by a drag, or deleted with one). */
async function refreshOpenNotebook(id: string): Promise<void> {
  const note = await getNote(id).catch(() => null);
  if (editor.openId !== id) return;
  if (!note) {
    await show(null);
    return;
  }
  openNotebook = note.notebook ?? "";
  tree.fill(noteNotebook, openNotebook);
}
noteNotebook.addEventListener("change", () => {
  const id = editor.openId;
  if (!id) return;
  openNotebook = noteNotebook.value;
  void tree.fileNote(id, noteNotebook.value);
});
const noteTags = new NoteTags(
  $<HTMLButtonElement>("pin-note"),
  $("tag-bar"),
  $<HTMLInputElement>("tag-input"),
  $("tag-names") as HTMLDataListElement,
  () => {
    void list.reload();
    void tagsChanged();
  },
  (tag) => void viewBar.show({ kind: "tag", tag }),
  showError,
);
/** The notes that link to the open one, under it; a click opens one. */
let backlinksSeq = 0;
async function showBacklinks(id: string | null): Promise<void> {
  const seq = ++backlinksSeq;
  const section = $("backlinks");
  const found = id ? await backlinks(id).catch(() => []) : [];
  if (seq !== backlinksSeq) return;
  section.hidden = found.length === 0;
  section.querySelector("ul")?.replaceChildren(
    ...found.map((n) => {
      const li = document.createElement("li");
      const b = document.createElement("button");
      b.type = "button";
      b.className = "link";
      b.textContent = titleOf(n.title, n.first_line);
      b.addEventListener("click", () => void openLinked(n.id));
      li.append(b);
      return li;
    }),
  );
}
async function restoreFromTrash(id: string): Promise<void> {
  try {
    const note = await restoreNote(id);
    await list.reload();
    void tree.refresh();
    toast(`“${note.title.trim() || "Untitled"}” is back in your notes.`, {
      label: "Show",
      run: () => void viewBar.show({ kind: "all" }).then(() => show(id)),
    });
    void tagsChanged();
  } catch (e) {
    showError(e instanceof Error ? e.message : String(e));
  }
}
const indexing = new SearchIndexing(
  $("search-indexing"),
  () => {
    if (list.filterText.trim()) void list.reload();
  },
  showError,
);
const switcher = new Switcher(
  $("switcher"),
  (id) =>
    void show(id).then(() => {
      list.select(id);
      editor.focusBody();
    }),
  showError,
);
const shortcuts = $("shortcuts");
shortcuts.addEventListener("click", (e) => {
  if (e.target === shortcuts || (e.target as HTMLElement).dataset.action === "cancel")
    shortcuts.hidden = true;
});
shortcuts.addEventListener("keydown", (e) => {
  if (e.key === "Escape") shortcuts.hidden = true;
});
// Relative times ("5 min ago") keep up with the clock.
setInterval(() => list.retick(), 30_000);
const history: HistoryPanel = new HistoryPanel(
  $("history-panel"),
  $<HTMLButtonElement>("note-history"),
  () => editor.settle(),
  (message) => {
    editor.refresh();
    void list.reload();
    toast(message);
  },
  showError,
  devices,
);
const mergeMark = new MergeMark(
  $("merged"),
  $("merged-text"),
  seenMerge,
  () => void list.reload(),
  showError,
);
$("merged-history").addEventListener("click", () => history.toggle(true));
const panel = new SyncPanel(
  $<HTMLButtonElement>("sync-indicator"),
  $("sync-panel"),
  $("sync-body"),
  () => setup.open(),
  showError,
  transfers,
  (id) => void show(id),
  devices,
);
// The history and the sync panel share the right side when the window is too narrow for the
// list, the note and both (the note was squeezed to nothing): opening one closes the other.
for (const [opened, other] of [
  ["history-panel", "sync-panel"],
  ["sync-panel", "history-panel"],
] as const) {
  new MutationObserver(() => {
    if ($(opened).hidden || $(other).hidden || window.innerWidth >= 1520) return;
    if (other === "sync-panel") panel.toggle(false);
    else history.toggle(false);
  }).observe($(opened), { attributes: true, attributeFilter: ["hidden"] });
}
const setup = new SetupDialog(
  $("setup"),
  () => panel.targetCount > 0,
  (message) => {
    toast(message);
    notesChanged();
  },
);

async function newNote(): Promise<void> {
  try {
    // A new note is always visible: a filter it would not match is cleared.
    const filter = $<HTMLInputElement>("filter");
    if (filter.value) {
      filter.value = "";
      await settleFilter("");
    }
    // In a notebook's view, the note is written there.
    const v = list.view;
    const note = await createNote(v.kind === "notebook" && v.id ? v.id : null);
    fresh.add(note.id);
    void tree.refresh();
    directory.refresh();
    await list.reload();
    await show(note.id);
    editor.focusTitle();
  } catch (e) {
    showError(e instanceof Error ? e.message : String(e));
  }
}

async function removeOpen(): Promise<void> {
  if (editor.openId) await removeNote(editor.openId);
}

/** Moves a note to the trash (the open one, or one dropped on the trash), with Undo. */
async function removeNote(id: string): Promise<void> {
  fresh.delete(id);
  try {
    const open = editor.openId === id;
    if (open) await editor.settle();
    await deleteNote(id);
    if (open) await show(null);
    await list.reload();
    void tagsChanged();
    void tree.refresh();
    toast(
      "Note moved to the trash.",
      {
        label: "Undo",
        run: () =>
          void restoreNote(id).then(
            async () => {
              await list.reload();
              await show(id);
            },
            (e) => showError(e.message),
          ),
      },
      10000,
    );
  } catch (e) {
    showError(e instanceof Error ? e.message : String(e));
  }
}

let filterTimer: ReturnType<typeof setTimeout> | null = null;
$<HTMLInputElement>("filter").addEventListener("input", (e) => {
  if (filterTimer) clearTimeout(filterTimer);
  const value = (e.target as HTMLInputElement).value;
  filterTimer = setTimeout(() => void list.setFilter(value), 60);
});
// From the filter: Down goes into the list, Enter opens the first match, Escape clears it.
$<HTMLInputElement>("filter").addEventListener("keydown", async (e) => {
  const input = e.target as HTMLInputElement;
  if (e.key === "ArrowDown") {
    e.preventDefault();
    await settleFilter(input.value);
    list.focus();
    list.move(1);
  } else if (e.key === "Enter") {
    e.preventDefault();
    await settleFilter(input.value);
    const first = list.items[0];
    if (first) {
      await show(first.id);
      editor.focusBody();
    }
  } else if (e.key === "Escape" && input.value) {
    e.preventDefault();
    input.value = "";
    await settleFilter("");
  }
});

/** Applies the filter now (not after the typing pause). */
async function settleFilter(value: string): Promise<void> {
  if (filterTimer) clearTimeout(filterTimer);
  filterTimer = null;
  if (list.filterText !== value) await list.setFilter(value);
}
$("new-note").addEventListener("click", () => void newNote());
$("delete-note").addEventListener("click", () => void removeOpen());
$("attach-files").addEventListener("click", async () => {
  try {
    const paths = await chooseAttachments();
    await editor.attachAll(paths, (p) => p.split(/[\\/]/).pop() ?? p, attachPath);
  } catch (e) {
    showError(e instanceof Error ? e.message : String(e));
  }
});
$("toggle-preview").addEventListener("click", () => {
  const started = performance.now();
  // Asked before rendering, so the frame measured is the first one with the preview.
  const painted = afterPaint();
  const showing = editor.togglePreview();
  $("toggle-preview").textContent = showing ? "Edit" : "Preview";
  if (showing) void painted.then((end) => timings.span("preview", end - started));
});
// The notes list: resizable by its edge (remembered), hidden and shown with ☰ or Ctrl+\.
const app = $("app");
const savedWidth = Number(localStorage.getItem("sidebar-width"));
if (savedWidth >= 180) app.style.setProperty("--sidebar-width", `${savedWidth}px`);
function toggleList(): void {
  app.classList.toggle("list-hidden");
}
$("toggle-list").addEventListener("click", toggleList);
const edge = $("sidebar-edge");
edge.addEventListener("dblclick", toggleList);
edge.addEventListener("pointerdown", (e) => {
  e.preventDefault();
  edge.setPointerCapture(e.pointerId);
  edge.classList.add("dragging");
  const move = (ev: PointerEvent) => {
    const w = Math.round(Math.max(180, Math.min(ev.clientX, window.innerWidth / 2)));
    app.style.setProperty("--sidebar-width", `${w}px`);
  };
  const up = () => {
    edge.classList.remove("dragging");
    edge.removeEventListener("pointermove", move);
    const w = Number.parseInt(app.style.getPropertyValue("--sidebar-width"), 10);
    if (w) localStorage.setItem("sidebar-width", String(w));
  };
  edge.addEventListener("pointermove", move);
  edge.addEventListener("pointerup", up, { once: true });
});

// The app's own shortcuts, taken in the capture phase so that they win over the editor's
// keymap (CodeMirror binds Ctrl+/ to "toggle comment", which edited the note).
const shortcutKeys: Record<string, () => void> = {
  "\\": () => toggleList(),
  p: () => void switcher.show(),
  o: () => void switcher.show(),
  "/": () => {
    shortcuts.hidden = !shortcuts.hidden;
    if (!shortcuts.hidden) shortcuts.querySelector<HTMLButtonElement>("button")?.focus();
  },
  n: () => void newNote(),
  ",": () => (settings.isOpen ? settings.close() : settings.open()),
  k: () => $<HTMLInputElement>("filter").focus(),
  e: () => {
    if (editor.openId) $("toggle-preview").click();
  },
  s: () => void editor.flush(),
};
document.addEventListener(
  "keydown",
  (e) => {
    if (!(e.ctrlKey || e.metaKey) || e.altKey || e.shiftKey) return;
    const run = shortcutKeys[e.key.toLowerCase()];
    if (!run) return;
    e.preventDefault();
    e.stopPropagation();
    run();
  },
  true,
);
window.addEventListener("blur", () => {
  void editor.flush().then(() => keepTexts().catch(() => {}));
});
window.addEventListener("beforeunload", () => void editor.flush());

let changeTimer: ReturnType<typeof setTimeout> | null = null;
/** A change arrived while a refresh was waiting: one more refresh follows it, so the last
 * change of a burst is always shown (a join's first pull landing just after the join's own
 * refresh left the notebook counts at 0). */
let changedAgain = false;
function notesChanged(): void {
  // Bursts (a long pull) become one refresh every 50 ms.
  if (changeTimer) {
    changedAgain = true;
    return;
  }
  changeTimer = setTimeout(() => {
    changeTimer = null;
    if (changedAgain) {
      changedAgain = false;
      notesChanged();
    }
    void list.reload().then(() => {
      // A pin or tag changed on another device shows on the open note too.
      const row = list.items.find((n) => n.id === editor.openId);
      if (row) noteTags.update(row.pinned, row.tags);
      // Edits merged into the open note: the user is looking at it.
      if (row?.merged) mergeMark.show(row.id, true);
    });
    editor.refresh();
    void panel.refresh();
    void devices.refresh().catch(() => {});
    void indexing.kick();
    void tagsChanged();
    void tree.refresh();
    directory.refresh();
    void showBacklinks(editor.openId);
    if (history.isOpen) history.show(editor.openId);
  }, 50);
}
void onNotesChanged(notesChanged);
void devices.refresh().catch(() => {});
void onSyncState((s) => panel.onState(s));
void onSyncEvent((ev) => {
  if (ev.type === "problem") console.warn(ev.message);
  assetViews.onEvent(ev);
  if (transfers.onEvent(ev)) panel.paintTransfers();
});
// Files dropped from the desktop: Tauri hands over their paths.
void onFileDrop(async (paths, x, y) => {
  if (!editor.canAttach) {
    showError("Open a note first, then drop files on it to attach them.");
    return;
  }
  await editor.attachAll(paths, (p) => p.split(/[\\/]/).pop() ?? p, attachPath, editor.posAt(x, y));
});

async function start(): Promise<void> {
  timings.startStep("listAsked");
  void tree.refresh();
  await list.reload();
  timings.startStep("listReceived");
  timings.listShown();
  void tagsChanged();
  // Open the newest note, unless the user already picked one.
  if (!shownOnce) await show(list.items[0]?.id ?? null);
  timings.startStep("noteShown");
  await panel.refresh();
  void indexing.kick();
}
void start();
