// The open note: a title field and a CodeMirror 6 markdown editor. Every edit is sent to the
// engine as splices within ~300 ms; the answer carries remote edits, merged into the editor
// without moving the cursor or losing what is being typed (see merge.ts).
import { defaultKeymap, history, historyKeymap, indentWithTab } from "@codemirror/commands";
import { markdown } from "@codemirror/lang-markdown";
import { defaultHighlightStyle, HighlightStyle, syntaxHighlighting } from "@codemirror/language";
import { highlightSelectionMatches, searchKeymap } from "@codemirror/search";
import {
  Annotation,
  type ChangeSet,
  Compartment,
  EditorState,
  type Extension,
  Transaction,
} from "@codemirror/state";
import {
  drawSelection,
  EditorView,
  highlightActiveLine,
  keymap,
  placeholder,
} from "@codemirror/view";
import { tags } from "@lezer/highlight";
import type { AssetViews } from "./attachments";
import { attachmentChips } from "./chips";
import { AppError, type Attached, attachFile, editNote, type Note, pasteImage } from "./ipc";
import { markdownChunks, renderFragment, taskMarkers } from "./markdown";
import { changesBetween, FieldSync, textOf } from "./merge";
import type { Timings } from "./timings";

/** Prose first: headings sized and bold, emphasis shown, code (inline and fenced) in the
 * monospace font while the text around it is in the proportional one. */
const noteStyle = HighlightStyle.define([
  { tag: tags.heading1, fontSize: "1.6em", fontWeight: "700" },
  { tag: tags.heading2, fontSize: "1.35em", fontWeight: "700" },
  { tag: tags.heading3, fontSize: "1.15em", fontWeight: "700" },
  { tag: [tags.heading4, tags.heading5, tags.heading6], fontWeight: "700" },
  { tag: tags.strong, fontWeight: "700" },
  { tag: tags.emphasis, fontStyle: "italic" },
  { tag: tags.strikethrough, textDecoration: "line-through" },
  { tag: tags.monospace, fontFamily: "var(--mono)" },
  { tag: tags.link, color: "var(--accent)" },
  { tag: [tags.processingInstruction, tags.meta], color: "var(--muted)" },
]);

/** Marks editor transactions that carry remote edits (not sent back, not in undo history). */
const remote = Annotation.define<boolean>();

/** Longest time a local edit waits before it is sent. */
export const SAVE_DELAY_MS = 300;

export interface EditorCallbacks {
  /** The engine has the note's edits (after a save or merge). */
  saved(): void;
  /** A save failed; the edits are kept and sent again. */
  failed(message: string): void;
  /** The open note no longer exists (deleted on another device). */
  vanished(id: string): void;
  /** Something to tell the user about attaching a file. */
  notice(message: string): void;
  /** Attaching a file failed (nothing was inserted). */
  attachFailed(message: string): void;
}

export class NoteEditor {
  private readonly view: EditorView;
  private id: string | null = null;
  private title = new FieldSync("");
  private body = new FieldSync("");
  private titleShown = "";
  /** The document version the fields' base text is; splices are positioned in it. */
  private heads: string[] = [];
  private timer: ReturnType<typeof setTimeout> | null = null;
  private running: Promise<void> | null = null;
  private again = false;

  constructor(
    parent: HTMLElement,
    private readonly titleInput: HTMLInputElement,
    private readonly preview: HTMLElement,
    private readonly cb: EditorCallbacks,
    private readonly assets: AssetViews,
    private readonly timings?: Timings,
    /** More editor extensions (links between notes, notelinks.ts). */
    private readonly more: Extension[] = [],
  ) {
    this.view = new EditorView({
      parent,
      state: this.state(""),
      // How long the editor takes to apply a transaction and update its DOM (timings.ts).
      dispatchTransactions: (trs, view) => {
        const started = performance.now();
        view.update(trs);
        this.timings?.span("update", performance.now() - started);
      },
    });
    // Keys that type or delete text: their time to paint is measured (timings.ts).
    this.view.contentDOM.addEventListener(
      "keydown",
      (e) => {
        if (
          !e.ctrlKey &&
          !e.metaKey &&
          (e.key.length === 1 || e.key === "Enter" || e.key === "Backspace")
        )
          this.timings?.keyDown(e.timeStamp);
      },
      true,
    );
    titleInput.addEventListener("input", () => {
      const value = titleInput.value;
      this.title.edit(changesBetween(this.titleShown, value));
      this.titleShown = value;
      this.schedule();
    });
    titleInput.addEventListener("keydown", (e) => {
      if (e.key === "Enter") {
        e.preventDefault();
        this.view.focus();
      }
    });
    preview.addEventListener("scroll", () => this.morePreview(), { passive: true });
    // A task's checkbox in the preview toggles its [ ]/[x] in the text, saved like typing.
    preview.addEventListener("click", (e) => {
      const box = (e.target as Element | null)?.closest?.("input.task");
      if (!box) return;
      e.preventDefault();
      this.toggleTask(Array.from(preview.querySelectorAll("input.task")).indexOf(box));
    });
  }

  /** Toggles the `n`th task box of the text (in rendering order). */
  private toggleTask(n: number): void {
    const at = taskMarkers(this.text)[n];
    if (at === undefined || !this.id) return;
    const done = this.text[at] !== " ";
    this.view.dispatch({ changes: { from: at, to: at + 1, insert: done ? " " : "x" } });
  }

  /** Spell checking of the text (a setting). */
  private readonly spelling = new Compartment();
  private spellcheck = true;

  /** Turns the browser's spell checking of the text on or off (settings.ts). */
  setSpellcheck(on: boolean): void {
    this.spellcheck = on;
    this.view.dispatch({ effects: this.spelling.reconfigure(this.spellAttrs()) });
  }

  private spellAttrs(): Extension {
    return EditorView.contentAttributes.of({ spellcheck: this.spellcheck ? "true" : "false" });
  }

  /** Read-only while the preview shows: keys pressed then must not edit the hidden text. */
  private readonly editable = new Compartment();

  private editability(): Extension {
    return this.preview.hidden && !this.switching
      ? []
      : [EditorState.readOnly.of(true), EditorView.editable.of(false)];
  }

  /** Between the user picking another note and that note showing, nothing typed may go into
   * the note still shown (opening takes a moment when the note is big or the engine busy). */
  private switching = false;

  /** The user picked another note: this one stops taking input and its edits are sent now;
   * `open` ends the switch. */
  beginSwitch(): void {
    if (this.switching || !this.id) return;
    this.setSwitching(true);
    // Only edits not sent yet: an empty request would make the new note wait for an answer.
    if (this.title.dirty || this.body.dirty) void this.flush();
  }

  private state(doc: string): EditorState {
    return EditorState.create({
      doc: textOf(doc),
      extensions: [
        this.editable.of(this.editability()),
        this.spelling.of(this.spellAttrs()),
        EditorState.lineSeparator.of("\n"),
        history(),
        drawSelection(),
        highlightActiveLine(),
        highlightSelectionMatches(),
        markdown(),
        attachmentChips,
        this.more,
        syntaxHighlighting(noteStyle),
        syntaxHighlighting(defaultHighlightStyle, { fallback: true }),
        EditorView.lineWrapping,
        placeholder("Write in markdown…"),
        keymap.of([...defaultKeymap, ...historyKeymap, ...searchKeymap, indentWithTab]),
        // Pasted or dropped files (images from the clipboard, files from another page) become
        // attachments; files dropped from the desktop arrive through main.ts (Tauri gives paths).
        EditorView.domEventHandlers({
          paste: (e) => this.takeFiles(e.clipboardData?.files, e) || this.takeImage(e),
          drop: (e, view) =>
            this.takeFiles(
              e.dataTransfer?.files,
              e,
              view.posAtCoords({ x: e.clientX, y: e.clientY }) ?? undefined,
            ),
        }),
        EditorView.updateListener.of((u) => {
          for (const tr of u.transactions) {
            if (tr.docChanged && !tr.annotation(remote)) {
              if (tr.isUserEvent("input") || tr.isUserEvent("delete")) this.timings?.typed();
              this.body.edit(tr.changes);
              this.schedule();
            }
          }
          if (u.docChanged && !this.preview.hidden) this.renderPreview();
        }),
      ],
    });
  }

  /** The open note's id. */
  get openId(): string | null {
    return this.id;
  }

  /** The text in the editor (for tests and the preview). */
  get text(): string {
    return this.view.state.doc.toString();
  }

  /** The other note could not be opened: this one takes input again. */
  cancelSwitch(): void {
    if (this.switching) this.setSwitching(false);
  }

  private setSwitching(on: boolean): void {
    this.switching = on;
    this.titleInput.readOnly = on;
    this.view.dispatch({ effects: this.editable.reconfigure(this.editability()) });
  }

  /** Saves the current note, then shows `note` (ending a switch: its new state takes input). */
  async open(note: Note | null): Promise<void> {
    await this.settle();
    this.switching = false;
    this.titleInput.readOnly = false;
    this.id = note?.id ?? null;
    this.heads = note?.heads ?? [];
    this.title = new FieldSync(note?.title ?? "");
    this.body = new FieldSync(note?.body ?? "");
    this.titleShown = note?.title ?? "";
    this.titleInput.value = this.titleShown;
    this.view.setState(this.state(note?.body ?? ""));
    if (note) this.assets.prefetch(note.body);
    if (!this.preview.hidden) this.renderPreview();
  }

  /** True when a note is open and has neither a title nor any text. */
  get isBlank(): boolean {
    return this.id !== null && this.titleInput.value.trim() === "" && this.text.trim() === "";
  }

  focusBody(): void {
    this.view.focus();
  }

  focusTitle(): void {
    this.titleInput.focus();
  }

  /** Shows or hides the rendered preview instead of the editor. While it shows, the editor
   * is read-only and loses the focus (to the preview), so keys pressed then change nothing;
   * leaving the preview gives the editor the focus back with its undo history as it was. */
  togglePreview(): boolean {
    const showing = this.preview.hidden;
    this.preview.hidden = !showing;
    this.view.dom.hidden = showing;
    // The editor's pane too: left in the layout, it kept half the height and pushed the
    // preview ~300 px down the window.
    if (this.view.dom.parentElement) this.view.dom.parentElement.hidden = showing;
    this.view.dispatch({ effects: this.editable.reconfigure(this.editability()) });
    if (showing) {
      this.renderPreview();
      this.view.contentDOM.blur();
      this.preview.focus();
    } else {
      this.view.focus();
    }
    return showing;
  }

  /** Counts renders, so the pieces of a long note's earlier render stop coming. */
  private previewRun = 0;

  /** Renders the preview: the first screen at once, the rest of a long note piece by piece as
   * the reader scrolls towards it (a 1 MB note at once kept the window frozen for seconds, and
   * all of a 5 MB note rendered costs half a minute of work and hundreds of megabytes). */
  private renderPreview(): void {
    const run = ++this.previewRun;
    const pieces = markdownChunks(this.text);
    const scroll = this.preview.scrollTop;
    const more = document.createElement("div");
    more.className = "more";
    let next = 0;
    let queued = false;
    const near = () =>
      more.isConnected &&
      more.getBoundingClientRect().top <
        this.preview.getBoundingClientRect().bottom + 2 * this.preview.clientHeight;
    const put = () => {
      queued = false;
      if (run !== this.previewRun || this.preview.hidden || next >= pieces.length) return;
      const nodes = renderFragment(pieces[next++] as string);
      this.assets.decorate(nodes);
      if (next === 1) this.preview.replaceChildren(nodes, more);
      else more.before(nodes);
      if (next >= pieces.length) more.remove();
      // A re-render (a task ticked) keeps the place being read once enough has come back.
      if (scroll && this.preview.scrollTop < scroll) this.preview.scrollTop = scroll;
      more.textContent = next < pieces.length ? "…" : "";
      ask();
    };
    // One piece per frame, after the frame was painted, while the end is within two screens.
    const ask = () => {
      if (queued || next >= pieces.length || !near()) return;
      queued = true;
      requestAnimationFrame(() => setTimeout(put, 0));
    };
    this.morePreview = ask;
    put();
  }

  /** Asks the preview for more of a long note (it scrolled). */
  private morePreview: () => void = () => {};

  /** A paste that carried nothing the page can read (WebKitGTK leaves an image on the system
   * clipboard out of the event): asks Rust for the clipboard's image. */
  private takeImage(e: ClipboardEvent): boolean {
    const d = e.clipboardData;
    if (!this.id || (d && d.types.length > 0)) return false;
    e.preventDefault();
    void this.attachAll(
      [null],
      () => "the pasted image",
      async () => {
        const a = await pasteImage();
        if (!a) throw new Error("The clipboard holds nothing to paste here.");
        return a;
      },
    );
    return true;
  }

  private takeFiles(list: FileList | undefined, e: Event, at?: number): boolean {
    const files = Array.from(list ?? []);
    if (files.length === 0 || !this.id) return false;
    e.preventDefault();
    void this.attachAll(files, (f) => f.name || "pasted file", attachFile, at);
    return true;
  }

  /** Stores each item as an attachment (`store`) and inserts its link at `at` (default: the
   * cursor), one after another, telling the user how it goes. */
  async attachAll<T>(
    items: T[],
    nameOf: (item: T) => string,
    store: (item: T) => Promise<Attached>,
    at?: number,
  ): Promise<void> {
    for (const item of items) {
      const name = nameOf(item);
      this.cb.notice(`Attaching ${name}…`);
      try {
        const a = await store(item);
        at = this.insertAttachment(a.markdown, at);
        this.cb.notice(`Attached ${name}.`);
      } catch (err) {
        this.cb.attachFailed(err instanceof Error ? err.message : String(err));
      }
    }
  }

  /** Inserts an attachment's markdown on its own line at `at` (default: the cursor); returns
   * the position after it. It is saved like typing. */
  private insertAttachment(markdown: string, at?: number): number {
    const state = this.view.state;
    const pos = Math.min(at ?? state.selection.main.head, state.doc.length);
    const line = state.doc.lineAt(pos);
    const before = pos > line.from ? "\n" : "";
    const text = `${before}${markdown}\n`;
    this.view.dispatch({
      changes: { from: pos, insert: text },
      selection: { anchor: pos + text.length },
      scrollIntoView: true,
    });
    if (!this.preview.hidden) this.renderPreview();
    return pos + text.length;
  }

  /** Whether a note is open to attach files to. */
  get canAttach(): boolean {
    return this.id !== null;
  }

  /** The editor position under a point of the window, if inside the text. */
  posAt(x: number, y: number): number | undefined {
    return this.view.posAtCoords({ x, y }) ?? undefined;
  }

  private schedule(delay = SAVE_DELAY_MS): void {
    if (this.timer === null) this.timer = setTimeout(() => void this.flush(), delay);
  }

  /** Another device's (or process's) edits may have arrived: merge them into the editor. */
  refresh(): void {
    if (this.id) void this.flush();
  }

  /** Sends everything typed so far (a few tries if saving fails). */
  async settle(): Promise<void> {
    for (let i = 0; i < 5 && (this.running || this.title.dirty || this.body.dirty); i++)
      await this.flush();
  }

  /** Sends pending edits now and merges the answer. */
  async flush(): Promise<void> {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.running) {
      this.again = true;
      return this.running;
    }
    const id = this.id;
    if (!id) return;
    const t = this.title.take();
    const b = this.body.take();
    // take() refuses only while a request is in flight, and `running` (checked above) covers that.
    if (!t || !b) throw new Error("flush: a request is already in flight");
    this.running = (async () => {
      try {
        const edited = await editNote(id, this.heads, t.splices, b.splices);
        if (this.id !== id) return;
        this.heads = edited.heads;
        const bc = this.body.acknowledge(edited.merged?.body ?? null);
        if (!bc.empty)
          this.view.dispatch({
            changes: bc,
            annotations: [remote.of(true), Transaction.addToHistory.of(false)],
          });
        this.applyTitle(this.title.acknowledge(edited.merged?.title ?? null));
        this.cb.saved();
      } catch (e) {
        this.title.fail();
        this.body.fail();
        if (e instanceof AppError && e.code === "no_such_note") {
          this.cb.vanished(id);
        } else {
          this.cb.failed(e instanceof Error ? e.message : String(e));
          this.schedule(2000);
        }
      } finally {
        this.running = null;
      }
      if (this.again || this.title.dirty || this.body.dirty) {
        this.again = false;
        this.schedule(this.title.dirty || this.body.dirty ? SAVE_DELAY_MS : 0);
      }
    })();
    return this.running;
  }

  private applyTitle(c: ChangeSet): void {
    if (c.empty) return;
    const input = this.titleInput;
    const [start, end] = [input.selectionStart ?? 0, input.selectionEnd ?? 0];
    const value = c.apply(textOf(input.value)).toString();
    input.value = value;
    this.titleShown = value;
    if (document.activeElement === input)
      input.setSelectionRange(c.mapPos(start, 1), c.mapPos(end, 1));
  }
}
