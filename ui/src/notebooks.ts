// The notebook tree in the sidebar: All notes, the default notebook (Inbox) and every notebook,
// nested ones indented, each with its number of notes. A click shows a notebook's notes; the
// selected row offers New notebook inside, Rename, Delete (F2 and Delete do the same from
// the keyboard) and Export as Markdown; notes dragged from the list onto a row move there (onto Trash: deleted), and
// notebooks dragged onto a row (or onto the "Notebooks" heading, for the top level) move inside
// it.

import { modal } from "./dom";
import {
  addNotebook,
  deleteNotebook,
  moveNote,
  moveNotebook,
  type Notebook,
  type Notebooks,
  renameNotebook,
} from "./ipc";
import { NOTE_DRAG, type View } from "./list";

/** The default notebook's name, as the engine's `DEFAULT_NOTEBOOK`. */
export const INBOX = "Inbox";

/** The drag data type of a notebook dragged in the tree. */
const NOTEBOOK_DRAG = "application/x-resnotes-notebook";

/** "3 notes", "1 note". */
export const notesCount = (n: number) => `${n} note${n === 1 ? "" : "s"}`;

/** What happens to the notes of a deleted notebook, in words. */
export const goes = (n: number, whose: string) =>
  n === 0
    ? "it holds no notes."
    : `${whose} ${notesCount(n)} ${n === 1 ? "goes" : "go"} to the trash.`;

/** The ids of `id` and of every notebook inside it, from a tree in tree order. */
export function withInside(books: Notebook[], id: string): Set<string> {
  const out = new Set([id]);
  for (const b of books) if (b.parent !== null && out.has(b.parent)) out.add(b.id);
  return out;
}

export class NotebookTree {
  private tree: Notebooks = { default_notes: 0, notebooks: [] };
  private shown: View = { kind: "all" };
  private pendingDelete: string | null = null;
  private refreshing: Promise<Notebooks> | null = null;
  private again = false;
  /** A name is being typed in the tree: redrawing now would take the field away. */
  private editing = false;

  constructor(
    private readonly nav: HTMLElement,
    private readonly dialog: HTMLElement,
    private readonly load: () => Promise<Notebooks>,
    /** A row clicked: show that view. */
    private readonly onOpen: (view: View) => void,
    /** Something moved, was renamed or deleted: lists and menus follow. */
    private readonly onChanged: () => void,
    private readonly onMessage: (message: string) => void,
    private readonly onError: (message: string) => void,
    /** A note dropped on the trash. */
    private readonly onTrash: (id: string) => void,
    /** "Export as Markdown…" on a notebook. */
    private readonly onExport: (id: string) => void,
  ) {
    const ul = this.list;
    ul.setAttribute("role", "tree");
    ul.addEventListener("click", (e) => {
      const target = e.target as HTMLElement;
      if (target.closest("input")) return;
      const li = target.closest<HTMLElement>("li[data-view]");
      if (!li) return;
      const action = target.closest<HTMLElement>("button[data-action]")?.dataset.action;
      const id = li.dataset.notebook ?? "";
      if (action === "add") this.startAdd(id);
      else if (action === "rename") this.startRename(id);
      else if (action === "delete") this.confirmDelete(id);
      else if (action === "export") this.onExport(id);
      else this.onOpen(this.viewOf(li));
    });
    ul.addEventListener("keydown", (e) => {
      const li = (e.target as HTMLElement).closest<HTMLElement>("li[data-view]");
      if (!li || (e.target as HTMLElement).closest("input")) return;
      const rows = Array.from(ul.querySelectorAll<HTMLElement>("li[data-view]"));
      const at = rows.indexOf(li);
      const id = li.dataset.notebook;
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        e.preventDefault();
        rows[
          Math.max(0, Math.min(rows.length - 1, at + (e.key === "ArrowDown" ? 1 : -1)))
        ]?.focus();
      } else if (e.key === "Enter" || e.key === " ") {
        e.preventDefault();
        this.onOpen(this.viewOf(li));
      } else if (e.key === "F2" && id) {
        e.preventDefault();
        this.startRename(id);
      } else if (e.key === "Delete" && id) {
        e.preventDefault();
        this.confirmDelete(id);
      }
    });
    nav
      .querySelector("[data-action=new-notebook]")
      ?.addEventListener("click", () => this.startAdd(null));
    // Dragging: notes onto Inbox or a notebook; notebooks onto a notebook or the heading.
    ul.addEventListener("dragstart", (e) => {
      const li = (e.target as HTMLElement).closest?.<HTMLElement>("li[data-notebook]");
      const id = li?.dataset.notebook;
      if (!id || !e.dataTransfer) return;
      e.dataTransfer.setData(NOTEBOOK_DRAG, id);
      e.dataTransfer.effectAllowed = "move";
    });
    for (const zone of [ul, nav.querySelector<HTMLElement>(".heading")]) {
      zone?.addEventListener("dragover", (e) => {
        const target = this.dropTarget(e);
        if (!target) return;
        e.preventDefault();
        if (e.dataTransfer) e.dataTransfer.dropEffect = "move";
        this.highlight(target);
      });
      zone?.addEventListener("dragleave", () => this.highlight(null));
      zone?.addEventListener("drop", (e) => {
        const target = this.dropTarget(e);
        this.highlight(null);
        if (!target || !e.dataTransfer) return;
        e.preventDefault();
        const note = e.dataTransfer.getData(NOTE_DRAG);
        const book = e.dataTransfer.getData(NOTEBOOK_DRAG);
        const into = target.dataset.notebook ?? "";
        if (note && target.dataset.view === "trash") this.onTrash(note);
        else if (note) void this.fileNote(note, into);
        else if (book) void this.nest(book, into);
      });
    }
    modal(dialog, (action) => {
      if (action === "delete") void this.remove();
    });
  }

  private get list(): HTMLUListElement {
    return this.nav.querySelector("ul") as HTMLUListElement;
  }

  /** The live notebooks in tree order. */
  get books(): Notebook[] {
    return this.tree.notebooks;
  }

  /** A notebook's name (`""`: the default notebook's). */
  nameOf(id: string): string {
    return id ? (this.tree.notebooks.find((b) => b.id === id)?.name ?? INBOX) : INBOX;
  }

  /** Reads the tree again and redraws it; calls made while one runs are folded into one more. */
  async refresh(): Promise<Notebooks> {
    if (this.refreshing) {
      this.again = true;
      return this.refreshing;
    }
    this.refreshing = (async () => {
      try {
        do {
          this.again = false;
          this.tree = await this.load();
          this.render();
        } while (this.again);
      } catch (e) {
        this.onError(e instanceof Error ? e.message : String(e));
      } finally {
        this.refreshing = null;
      }
      return this.tree;
    })();
    return this.refreshing;
  }

  /** Marks the row of the view shown. */
  mark(view: View): void {
    this.shown = view;
    for (const li of this.list.querySelectorAll<HTMLElement>("li[data-view]")) {
      const on = this.isShown(li);
      li.classList.toggle("selected", on);
      li.setAttribute("aria-selected", String(on));
      li.tabIndex = on ? 0 : -1;
    }
  }

  private isShown(li: HTMLElement): boolean {
    const v = this.shown;
    if (li.dataset.view === "all") return v.kind === "all";
    if (li.dataset.view === "trash") return v.kind === "trash";
    return v.kind === "notebook" && v.id === (li.dataset.notebook ?? "");
  }

  private viewOf(li: HTMLElement): View {
    if (li.dataset.view === "all") return { kind: "all" };
    if (li.dataset.view === "trash") return { kind: "trash" };
    const id = li.dataset.notebook ?? "";
    return { kind: "notebook", id, name: this.nameOf(id) };
  }

  private render(): void {
    if (this.editing) return;
    const row = (view: string, label: string, count: number | null, depth: number) => {
      const li = document.createElement("li");
      li.className = "nb";
      li.dataset.view = view;
      li.setAttribute("role", "treeitem");
      li.setAttribute("aria-level", String(depth + 1));
      li.style.setProperty("--depth", String(depth));
      const name = document.createElement("span");
      name.className = "name";
      name.textContent = label;
      li.append(name);
      if (count !== null) {
        const c = document.createElement("span");
        c.className = "count";
        c.textContent = String(count);
        c.title = notesCount(count);
        li.append(c);
      }
      return li;
    };
    const all = row("all", "All notes", null, 0);
    const inbox = row("notebook", INBOX, this.tree.default_notes, 0);
    inbox.dataset.notebook = "";
    inbox.classList.add("inbox");
    inbox.title = "New notes go here unless you write them in a notebook";
    const books = this.tree.notebooks.map((b) => {
      const li = row("notebook", b.name, b.notes, b.depth);
      li.dataset.notebook = b.id;
      li.classList.add("book");
      li.draggable = true;
      li.title = b.path;
      const actions = document.createElement("span");
      actions.className = "actions";
      for (const [action, text, label] of [
        ["add", "+", `New notebook inside ${b.name}`],
        ["rename", "✎", `Rename ${b.name} (F2)`],
        ["delete", "🗑", `Delete ${b.name} (Delete)`],
        ["export", "⤓", `Export ${b.name} as Markdown…`],
      ] as const) {
        const button = document.createElement("button");
        button.type = "button";
        button.dataset.action = action;
        button.textContent = text;
        button.title = label;
        button.setAttribute("aria-label", label);
        button.tabIndex = -1;
        actions.append(button);
      }
      li.append(actions);
      return li;
    });
    const trash = row("trash", "Trash", null, 0);
    trash.classList.add("trash");
    trash.title = "Deleted notes, for 30 days; drop a note here to delete it";
    this.list.replaceChildren(all, inbox, ...books, trash);
    this.mark(this.shown);
    // A notebook shown that is gone (deleted here or on another device): back to all notes.
    const v = this.shown;
    if (v.kind === "notebook" && v.id && !this.tree.notebooks.some((b) => b.id === v.id))
      this.onOpen({ kind: "all" });
  }

  private dropTarget(e: DragEvent): HTMLElement | null {
    const types = Array.from(e.dataTransfer?.types ?? []);
    const target = e.target as HTMLElement;
    if (types.includes(NOTE_DRAG))
      return target.closest?.("li[data-notebook], li[data-view=trash]") ?? null;
    if (!types.includes(NOTEBOOK_DRAG)) return null;
    return (
      target.closest?.<HTMLElement>("li[data-notebook]:not([data-notebook=''])") ??
      target.closest?.<HTMLElement>(".heading") ??
      null
    );
  }

  private highlight(target: HTMLElement | null): void {
    for (const el of this.nav.querySelectorAll(".drop")) el.classList.remove("drop");
    target?.classList.add("drop");
  }

  /** Files a note dragged onto a row. */
  async fileNote(note: string, into: string): Promise<void> {
    try {
      await moveNote(note, into || null);
      await this.refresh();
      this.onChanged();
      this.onMessage(`Moved to ${this.nameOf(into)}.`);
    } catch (e) {
      this.onError(e instanceof Error ? e.message : String(e));
    }
  }

  /** Puts a notebook dragged onto a row inside it (onto the heading: at the top level). */
  private async nest(book: string, into: string): Promise<void> {
    if (book === into) return;
    if (into && withInside(this.tree.notebooks, book).has(into)) {
      this.onError("A notebook cannot go inside itself or one of its own notebooks.");
      return;
    }
    try {
      await moveNotebook(book, into || null);
      await this.refresh();
      this.onChanged();
    } catch (e) {
      this.onError(e instanceof Error ? e.message : String(e));
    }
  }

  /** An inline field for a new notebook's name, inside `parent` (null: at the top level). */
  startAdd(parent: string | null): void {
    const at = parent
      ? this.list.querySelector<HTMLElement>(`li[data-notebook="${parent}"]`)
      : this.list.lastElementChild;
    const depth = parent ? (this.books.find((b) => b.id === parent)?.depth ?? 0) + 1 : 0;
    const li = document.createElement("li");
    li.className = "nb editing";
    li.style.setProperty("--depth", String(depth));
    const input = this.nameField("", "New notebook's name", async (name) => {
      const id = await addNotebook(name, parent);
      await this.refresh();
      this.onOpen({ kind: "notebook", id, name: this.nameOf(id) });
    });
    li.append(input);
    // After the parent and the notebooks already inside it.
    let after = at;
    if (parent && at) {
      const inside = withInside(this.books, parent);
      while (after?.nextElementSibling) {
        const next = after.nextElementSibling as HTMLElement;
        if (!next.dataset.notebook || !inside.has(next.dataset.notebook)) break;
        after = next;
      }
    }
    if (after) after.after(li);
    else this.list.append(li);
    input.focus();
  }

  /** An inline field renaming a notebook. */
  startRename(id: string): void {
    const li = this.list.querySelector<HTMLElement>(`li[data-notebook="${id}"]`);
    const name = li?.querySelector<HTMLElement>(".name");
    if (!li || !name) return;
    const old = name.textContent ?? "";
    const input = this.nameField(old, `Rename ${old}`, async (value) => {
      if (value !== old) await renameNotebook(id, value);
      await this.refresh();
      this.onChanged();
    });
    name.replaceWith(input);
    input.focus();
    input.select();
  }

  /** A name field: Enter or leaving it saves, Esc cancels. */
  private nameField(
    value: string,
    label: string,
    save: (name: string) => Promise<void>,
  ): HTMLInputElement {
    const input = document.createElement("input");
    input.type = "text";
    input.value = value;
    input.setAttribute("aria-label", label);
    input.placeholder = "Name";
    let done = false;
    this.editing = true;
    const finish = async (keep: boolean) => {
      if (done) return;
      done = true;
      this.editing = false;
      const name = input.value.trim();
      try {
        if (keep && name) await save(name);
      } catch (e) {
        this.onError(e instanceof Error ? e.message : String(e));
      }
      this.render();
    };
    input.addEventListener("keydown", (e) => {
      e.stopPropagation();
      if (e.key === "Enter") void finish(true);
      else if (e.key === "Escape") void finish(false);
    });
    input.addEventListener("blur", () => void finish(true));
    return input;
  }

  /** Asks before deleting: what goes to the trash, and how to get it back. */
  confirmDelete(id: string): void {
    const inside = withInside(this.books, id);
    const books = this.books.filter((b) => inside.has(b.id));
    const notes = books.reduce((sum, b) => sum + b.notes, 0);
    const name = this.nameOf(id);
    const what = this.dialog.querySelector(".what");
    if (what)
      what.textContent =
        books.length > 1
          ? `“${name}” and the ${books.length - 1} notebook${books.length === 2 ? "" : "s"} inside it will be deleted; ${goes(notes, "their")}`
          : `“${name}” will be deleted; ${goes(notes, "its")}`;
    this.pendingDelete = id;
    this.dialog.hidden = false;
    this.dialog.querySelector<HTMLButtonElement>("[data-action=cancel]")?.focus();
  }

  private async remove(): Promise<void> {
    const id = this.pendingDelete;
    this.dialog.hidden = true;
    if (!id) return;
    const name = this.nameOf(id);
    try {
      const n = await deleteNotebook(id);
      await this.refresh();
      this.onChanged();
      this.onMessage(
        `Deleted “${name}”. ${n === 0 ? "It held no notes." : `${notesCount(n)} went to the trash: restoring one brings the notebook back.`}`,
      );
    } catch (e) {
      this.onError(e instanceof Error ? e.message : String(e));
    }
  }

  /** Fills a menu of notebooks (the open note's "Notebook" menu), `current` chosen. */
  fill(select: HTMLSelectElement, current: string): void {
    const option = (value: string, label: string) => {
      const o = document.createElement("option");
      o.value = value;
      o.textContent = label;
      return o;
    };
    select.replaceChildren(
      option("", INBOX),
      ...this.books.map((b) => option(b.id, `${"\u2003".repeat(b.depth)}${b.name}`)),
    );
    select.value = current;
  }
}
