// The notes list: pinned notes first, then newest first (or as the sort menu says), all notes
// or one tag's or the trash; or the search results as you type (with a snippet of where each
// matched, the matched words marked), the open note highlighted.

import type { SnippetPart } from "./bindings/SnippetPart";
import { ago, nearFirstMatch, plainLine, plainSnippet, titleOf } from "./format";
import { listNotes, type NoteSummary, type Sort, trashNotes } from "./ipc";

/** Which notes the list shows: all, one notebook's (`id` `""`: the default notebook's), one
 * tag's, or the trash. */
export type View =
  | { kind: "all" }
  | { kind: "notebook"; id: string; name: string }
  | { kind: "tag"; tag: string }
  | { kind: "trash" };

/** The drag data type of a note dragged from the list (onto a notebook). */
export const NOTE_DRAG = "application/x-resnotes-note";

/** How many notes the list shows at most (the filter reaches the rest). */
export const LIST_LIMIT = 500;

export class NotesList {
  private filter = "";
  private selected: string | null = null;
  private notes: NoteSummary[] = [];
  private seq = 0;
  private shownView: View = { kind: "all" };
  private order: Sort = "edited";

  constructor(
    private readonly ul: HTMLUListElement,
    private readonly empty: HTMLElement,
    private readonly onSelect: (id: string) => void,
    private readonly onError: (message: string) => void,
    private readonly keys: { open: () => void; remove: () => void } = {
      open: () => {},
      remove: () => {},
    },
    /** Restore pressed on a row of the trash. */
    private readonly onRestore: (id: string) => void = () => {},
  ) {
    ul.addEventListener("click", (e) => {
      const target = e.target as HTMLElement;
      const li = target.closest("li[data-id]") as HTMLElement | null;
      if (!li?.dataset.id) return;
      if (target.closest("button[data-action=restore]")) this.onRestore(li.dataset.id);
      else if (this.shownView.kind === "trash") this.select(li.dataset.id);
      else this.onSelect(li.dataset.id);
    });
    ul.addEventListener("dragstart", (e) => {
      const li = (e.target as HTMLElement).closest?.("li[data-id]") as HTMLElement | null;
      if (!li?.dataset.id || !e.dataTransfer || this.shownView.kind === "trash") {
        e.preventDefault();
        return;
      }
      e.dataTransfer.setData(NOTE_DRAG, li.dataset.id);
      e.dataTransfer.setData("text/plain", li.querySelector(".title")?.textContent ?? "");
      e.dataTransfer.effectAllowed = "move";
    });
    // The list is one stop in the tab order: arrows move through it (opening each note),
    // Enter goes to the open note's text, Delete deletes it (with Undo).
    ul.tabIndex = 0;
    ul.setAttribute("role", "listbox");
    ul.addEventListener("keydown", (e) => {
      if (e.ctrlKey || e.metaKey || e.altKey) return;
      const moves: Record<string, number> = {
        ArrowDown: 1,
        ArrowUp: -1,
        PageDown: 10,
        PageUp: -10,
        Home: -Infinity,
        End: Infinity,
      };
      if (e.key in moves) {
        e.preventDefault();
        this.move(moves[e.key] as number);
      } else if (e.key === "Enter" && this.selected) {
        e.preventDefault();
        if (this.shownView.kind === "trash") this.onRestore(this.selected);
        else this.keys.open();
      } else if (
        (e.key === "Delete" || e.key === "Backspace") &&
        this.selected &&
        this.shownView.kind !== "trash"
      ) {
        e.preventDefault();
        this.keys.remove();
      }
    });
  }

  /** Moves the selection `delta` rows (±Infinity: to an end) and opens that note. */
  move(delta: number): void {
    if (this.notes.length === 0) return;
    const at = this.notes.findIndex((n) => n.id === this.selected);
    const from = at < 0 ? (delta > 0 ? -1 : this.notes.length) : at;
    const to = Math.max(0, Math.min(this.notes.length - 1, from + delta));
    const id = this.notes[to]?.id;
    if (!id) return;
    this.select(id);
    this.ul.querySelector<HTMLElement>(`li[data-id="${id}"]`)?.scrollIntoView({ block: "nearest" });
    if (this.shownView.kind !== "trash") this.onSelect(id);
  }

  /** Which notes the list shows. */
  get view(): View {
    return this.shownView;
  }

  /** Shows another view (all notes, a notebook's, a tag's, the trash), in `sort` order when
   * given. */
  setView(view: View, sort?: Sort): Promise<void> {
    this.shownView = view;
    if (sort) this.order = sort;
    return this.reload();
  }

  /** The order after the pinned notes. */
  get sort(): Sort {
    return this.order;
  }

  setSort(sort: Sort): Promise<void> {
    this.order = sort;
    return this.reload();
  }

  /** Puts the keyboard focus on the list. */
  focus(): void {
    this.ul.focus();
  }

  /** The filter as typed. */
  get filterText(): string {
    return this.filter;
  }

  /** Rewrites the rows' relative times ("5 min ago") for the time now. */
  retick(now = Date.now()): void {
    for (const t of this.ul.querySelectorAll<HTMLTimeElement>("time")) {
      t.textContent = ago(Date.parse(t.dateTime), now);
    }
  }

  get items(): NoteSummary[] {
    return this.notes;
  }

  setFilter(f: string): Promise<void> {
    this.filter = f;
    return this.reload();
  }

  select(id: string | null): void {
    // Only the rows that change: touching all 500 made the page restyle the whole list on
    // every note opened.
    for (const key of [this.selected, id]) {
      const li = key === null ? undefined : this.rows.get(key)?.li;
      if (!li) continue;
      li.classList.toggle("selected", key === id);
      li.setAttribute("aria-selected", String(key === id));
    }
    this.selected = id;
  }

  /** Reloads from the engine; answers that arrive out of order are dropped. */
  async reload(): Promise<void> {
    const seq = ++this.seq;
    try {
      const v = this.shownView;
      const notes =
        v.kind === "trash"
          ? await trashNotes(this.filter)
          : await listNotes(
              this.filter,
              LIST_LIMIT,
              v.kind === "tag" ? v.tag : null,
              this.order,
              v.kind === "notebook" ? v.id : null,
            );
      if (seq === this.seq) this.render(notes);
    } catch (e) {
      this.onError(e instanceof Error ? e.message : String(e));
    }
  }

  /** Rows by note id, reused between renders: a reload (after every save, and many times
   * during a long pull) touches only the rows that changed, so it costs the page almost
   * nothing while the user types. */
  private rows = new Map<string, { li: HTMLElement; shown: string }>();

  private render(notes: NoteSummary[]): void {
    this.notes = notes;
    const now = Date.now();
    const rows = new Map<string, { li: HTMLElement; shown: string }>();
    const lis: HTMLElement[] = [];
    const trash = this.shownView.kind === "trash";
    for (const n of notes) {
      const snippet = n.snippet.map((p) => (p.hit ? `\u0001${p.text}` : p.text)).join("\u0002");
      const shown = [
        n.title,
        n.first_line,
        n.updated_at,
        snippet,
        n.pinned,
        n.tags,
        trash,
        n.merged,
      ].join("\u0000");
      let row = this.rows.get(n.id);
      if (!row) {
        const li = document.createElement("li");
        li.dataset.id = n.id;
        li.setAttribute("role", "option");
        // Dragged onto a notebook, the note moves there.
        li.draggable = true;
        const title = document.createElement("div");
        title.className = "title";
        const line = document.createElement("div");
        line.className = "line";
        const tags = document.createElement("div");
        tags.className = "tags";
        const restore = document.createElement("button");
        restore.type = "button";
        restore.dataset.action = "restore";
        restore.textContent = "Restore";
        li.append(title, line, document.createElement("time"), tags, restore);
        row = { li, shown: "" };
      }
      if (row.shown !== shown) {
        const [title, line, time, tags, restore] = Array.from(row.li.children) as HTMLElement[];
        row.li.classList.toggle("pinned", n.pinned && !trash);
        // Edits from another device touched the same words: a mark until the note is opened.
        row.li.classList.toggle("merged", n.merged && !trash);
        row.li.title =
          n.merged && !trash ? "Edited on two devices at once: open it to read it over" : "";
        if (tags) {
          tags.replaceChildren(
            ...n.tags.map((t) => {
              const s = document.createElement("span");
              s.textContent = `#${t}`;
              return s;
            }),
          );
          tags.hidden = n.tags.length === 0;
        }
        if (restore) restore.hidden = !trash;
        if (title) title.textContent = titleOf(n.title, n.first_line);
        if (line && n.snippet.length > 0) {
          line.replaceChildren(...snippetNodes(nearFirstMatch(plainSnippet(n.snippet))));
        } else if (line) line.textContent = n.title.trim() ? plainLine(n.first_line) : "";
        line?.classList.toggle("snippet", n.snippet.length > 0);
        if (time instanceof HTMLTimeElement) {
          time.textContent = ago(n.updated_at, now);
          time.dateTime = new Date(n.updated_at).toISOString();
        }
        row.shown = shown;
      }
      const selected = n.id === this.selected;
      row.li.classList.toggle("selected", selected);
      row.li.setAttribute("aria-selected", String(selected));
      rows.set(n.id, row);
      lis.push(row.li);
    }
    this.rows = rows;
    const children = this.ul.children;
    if (children.length !== lis.length || lis.some((li, i) => children[i] !== li))
      this.ul.replaceChildren(...lis);
    this.empty.hidden = notes.length > 0;
    const v = this.shownView;
    // The switch to the trash, under search results (deleted notes are not searched here).
    const toTrash = document.getElementById("search-trash");
    if (toTrash) {
      toTrash.hidden = !this.filter.trim() || v.kind === "trash";
      toTrash.textContent = `Search the trash for “${this.filter.trim()}”`;
    }
    const firstRun = !this.filter && v.kind === "all";
    if (firstRun) {
      // Nothing here at all: most people arrive with notes from another app.
      this.empty.replaceChildren(
        "No notes yet. Press Ctrl+N to write one, or bring in the notes you have:",
        ioButton(
          "import-folder",
          "Import a Markdown folder…",
          "An Obsidian vault, Logseq pages, Joplin's Markdown export",
        ),
        ioButton("import-file", "Import a Joplin or Evernote export…", "A .jex or .enex file"),
      );
      return;
    }
    this.empty.textContent =
      v.kind === "trash"
        ? this.filter
          ? `No note in the trash matches “${this.filter}”.`
          : "The trash is empty."
        : this.filter
          ? `No note matches “${this.filter}”.`
          : v.kind === "tag"
            ? `No note is tagged #${v.tag}.`
            : v.kind === "notebook"
              ? `No notes in ${v.name}. Press Ctrl+N to write one here, or drag notes onto it.`
              : "No notes yet. Press Ctrl+N to write one.";
  }
}

/** A button that starts an import (`data-io` says which; the app's handler runs it). */
function ioButton(io: string, label: string, title: string): HTMLButtonElement {
  const b = document.createElement("button");
  b.type = "button";
  b.className = "link";
  b.dataset.io = io;
  b.textContent = label;
  b.title = title;
  return b;
}

/** A search snippet as text nodes, the matched parts in `<mark>`. */
function snippetNodes(parts: SnippetPart[]): Node[] {
  return parts.map((p) => {
    if (!p.hit) return document.createTextNode(p.text);
    const mark = document.createElement("mark");
    mark.textContent = p.text;
    return mark;
  });
}
