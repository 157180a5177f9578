// Links between notes in the editor: `[[` offers every note by title and writes the link as
// `[Title](note:ID)` (FORMAT.md §4.3: the note is named by id, so the link survives renames);
// a link shows as a chip with the linked note's current title, marked when that note is in the
// trash or not on this device, and a click on it opens the note.
import {
  autocompletion,
  type CompletionContext,
  type CompletionResult,
} from "@codemirror/autocomplete";
import { type Extension, RangeSetBuilder, StateEffect } from "@codemirror/state";
import {
  Decoration,
  type DecorationSet,
  EditorView,
  ViewPlugin,
  type ViewUpdate,
  WidgetType,
} from "@codemirror/view";
import { titleOf } from "./format";
import { type LinkedNote, linkedNotes, listNotes, type NoteSummary } from "./ipc";

/** A note link found in the text. */
export interface NoteLinkAt {
  from: number;
  to: number;
  id: string;
  /** The link's text (the title when it was written). */
  text: string;
}

const LINK = /\[([^\]\n]*)\]\(note:([0-9a-fA-F-]{36})\)/g;

/** The note links in `text` (positions shifted by `offset`). */
export function noteLinks(text: string, offset = 0): NoteLinkAt[] {
  const out: NoteLinkAt[] = [];
  for (const m of text.matchAll(LINK)) {
    if (m.index === undefined) continue;
    out.push({
      from: offset + m.index,
      to: offset + m.index + m[0].length,
      text: m[1] as string,
      id: (m[2] as string).toLowerCase(),
    });
  }
  return out;
}

/** The markdown of a link to a note: its title without brackets or line breaks. */
export function linkMarkdown(id: string, title: string): string {
  const text = title.replace(/[[\]\r\n]/g, " ").trim() || "Untitled";
  return `[${text}](note:${id})`;
}

/** What the editor knows of other notes: every live note's title (for `[[`), and each linked
 * note's current title and state, asked for in batches as links come into view. */
export class NoteDirectory {
  /** Every live note, read when `[[` first needs it after a change (`null`: not read yet). */
  private all: NoteSummary[] | null = null;
  private states = new Map<string, LinkedNote>();
  private asked = new Set<string>();
  private timer: ReturnType<typeof setTimeout> | null = null;
  private listeners = new Set<() => void>();

  /** Every live note, for `[[`: read from the engine only when asked after a change, not on
   * every change (a long pull changes notes many times a second). */
  async notes(): Promise<NoteSummary[]> {
    this.all ??= await listNotes("", 100_000).catch(() => null);
    return this.all ?? [];
  }

  /** Forgets what it knew (after edits here or on another device): titles are asked again. */
  refresh(): void {
    this.all = null;
    const known = [...this.states.keys()];
    this.states.clear();
    this.asked.clear();
    for (const id of known) this.ask(id);
  }

  /** A linked note as known now (`undefined` until the engine answered). */
  state(id: string): LinkedNote | undefined {
    const s = this.states.get(id);
    if (!s) this.ask(id);
    return s;
  }

  /** Calls `f` when states arrive; returns the function that stops that. */
  listen(f: () => void): () => void {
    this.listeners.add(f);
    return () => this.listeners.delete(f);
  }

  private ask(id: string): void {
    if (this.asked.has(id)) return;
    this.asked.add(id);
    this.timer ??= setTimeout(() => void this.resolve(), 30);
  }

  private async resolve(): Promise<void> {
    this.timer = null;
    const ids = [...this.asked].filter((id) => !this.states.has(id));
    if (ids.length === 0) return;
    try {
      for (const s of await linkedNotes(ids)) this.states.set(s.id, s);
    } catch {
      for (const id of ids) this.asked.delete(id);
      return;
    }
    for (const f of this.listeners) f();
  }
}

/** Redraws the chips (states arrived). */
const redraw = StateEffect.define<null>();

class LinkChip extends WidgetType {
  constructor(
    private readonly link: NoteLinkAt,
    private readonly state: LinkedNote | undefined,
  ) {
    super();
  }

  override eq(other: LinkChip): boolean {
    return (
      this.link.id === other.link.id &&
      this.link.text === other.link.text &&
      this.state?.title === other.state?.title &&
      this.state?.state === other.state?.state
    );
  }

  toDOM(): HTMLElement {
    const chip = document.createElement("span");
    chip.className = "cm-note-link";
    chip.dataset.id = this.link.id;
    const s = this.state;
    const title = s && s.state !== "missing" ? titleOf(s.title, "") : this.link.text;
    chip.textContent = title || "Untitled";
    chip.dataset.state = s?.state ?? "live";
    chip.title =
      s?.state === "trashed"
        ? `“${title}” is in the trash: restore it to open it.`
        : s?.state === "missing"
          ? "This note is not on this device: it was emptied from the trash, or has not synced here yet."
          : `Open “${title}”. Put the cursor on the link with the arrow keys to edit it as text.`;
    return chip;
  }

  /** The editor sees the chip's events, so that its mousedown handler opens the note. */
  override ignoreEvent(): boolean {
    return false;
  }
}

function chips(view: EditorView, dir: NoteDirectory): DecorationSet {
  const b = new RangeSetBuilder<Decoration>();
  const selection = view.state.selection.ranges;
  for (const { from, to } of view.visibleRanges) {
    for (const link of noteLinks(view.state.doc.sliceString(from, to), from)) {
      if (selection.some((r) => r.from <= link.to && r.to >= link.from)) continue;
      const widget = new LinkChip(link, dir.state(link.id));
      b.add(link.from, link.to, Decoration.replace({ widget }));
    }
  }
  return b.finish();
}

/** The editor's note links: chips with current titles, a click opens the note, and `[[`
 * completes a note's title into a link. `currentId` is the open note (not offered). */
export function noteLinkExtensions(
  dir: NoteDirectory,
  open: (id: string) => void,
  currentId: () => string | null,
): Extension[] {
  const plugin = ViewPlugin.fromClass(
    class {
      decorations: DecorationSet;
      private stop: () => void;
      constructor(view: EditorView) {
        this.decorations = chips(view, dir);
        this.stop = dir.listen(() => view.dispatch({ effects: redraw.of(null) }));
      }
      update(u: ViewUpdate) {
        const asked = u.transactions.some((t) => t.effects.some((e) => e.is(redraw)));
        if (u.docChanged || u.viewportChanged || u.selectionSet || asked)
          this.decorations = chips(u.view, dir);
      }
      destroy() {
        this.stop();
      }
    },
    { decorations: (v) => v.decorations },
  );
  const clicks = EditorView.domEventHandlers({
    mousedown: (e) => {
      const chip = (e.target as HTMLElement).closest?.<HTMLElement>(".cm-note-link");
      if (!chip?.dataset.id) return false;
      e.preventDefault();
      open(chip.dataset.id);
      return true;
    },
  });
  const complete = async (ctx: CompletionContext): Promise<CompletionResult | null> => {
    const m = ctx.matchBefore(/\[\[[^\]\n]*$/);
    if (!m) return null;
    const start = m.from;
    const me = currentId();
    return {
      from: start + 2,
      options: (await dir.notes())
        .filter((n) => n.id !== me)
        .map((n) => {
          const title = titleOf(n.title, n.first_line);
          return {
            label: title,
            detail: n.tags.map((t) => `#${t}`).join(" "),
            apply: (view: EditorView, _c: unknown, _from: number, to: number) => {
              const insert = linkMarkdown(n.id, title);
              // Brackets the editor closed after the cursor go too.
              const after = view.state.doc.sliceString(to, to + 2) === "]]" ? 2 : 0;
              view.dispatch({
                changes: { from: start, to: to + after, insert },
                selection: { anchor: start + insert.length },
              });
            },
          };
        }),
    };
  };
  return [plugin, clicks, autocompletion({ override: [complete], activateOnTyping: true })];
}
