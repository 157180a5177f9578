// Organizing notes in the window: the view menu (all notes, a notebook's, a tag's, the trash) and the
// sort menu above the list, the trash's "Empty trash…" with its confirmation, and the open
// note's pin button and tags.

import { modal } from "./dom";
import {
  emptyTrash,
  listTags,
  type Note,
  type Notebooks,
  renameTag,
  retag,
  type Sort,
  setPinned,
  type TagCount,
} from "./ipc";
import type { NotesList, View } from "./list";

const SORT_KEY = "list-sort";

/** A view's key in the saved sort orders. */
export function viewKey(view: View): string {
  switch (view.kind) {
    case "notebook":
      return `nb:${view.id}`;
    case "tag":
      return `tag:${view.tag}`;
    default:
      return view.kind;
  }
}

/** The order saved for a view (the one saved before per-view orders for all notes; else by
 * last edit). */
export function savedSort(key: string): Sort {
  const saved = localStorage.getItem(`${SORT_KEY}:${key}`) ?? localStorage.getItem(SORT_KEY);
  return saved === "created" || saved === "title" ? saved : "edited";
}

/** The view and sort menus, and the trash bar. */
export class ViewBar {
  constructor(
    private readonly view: HTMLSelectElement,
    private readonly notebookGroup: HTMLOptGroupElement,
    private readonly tagGroup: HTMLOptGroupElement,
    private readonly sort: HTMLSelectElement,
    private readonly trashBar: HTMLElement,
    private readonly tagViewBar: HTMLElement,
    private readonly dialog: HTMLElement,
    private readonly list: NotesList,
    /** Called when the view changes (the open note may not belong to it). */
    private readonly onView: (view: View) => void,
    private readonly onMessage: (message: string) => void,
    private readonly onError: (message: string) => void,
    /** Tags were renamed here: the open note's chips and suggestions follow. */
    private readonly onTagsChanged: () => void = () => {},
  ) {
    sort.value = savedSort(viewKey({ kind: "all" }));
    if (sort.value !== list.sort) void list.setSort(sort.value as Sort);
    sort.addEventListener("change", () => {
      // Each notebook (and tag, and all notes) keeps its own order, on this device.
      localStorage.setItem(`${SORT_KEY}:${viewKey(this.chosen())}`, sort.value);
      void list.setSort(sort.value as Sort);
    });
    view.addEventListener("change", () => void this.apply());
    tagViewBar
      .querySelector("[data-action=rename-tag]")
      ?.addEventListener("click", () => this.startRenameTag());
    trashBar.querySelector("button")?.addEventListener("click", () => this.confirmEmpty());
    modal(dialog, (action) => {
      if (action === "empty") void this.empty();
    });
  }

  /** The view the menu names. */
  private chosen(): View {
    const v = this.view.value;
    if (v === "trash") return { kind: "trash" };
    if (v.startsWith("tag:")) return { kind: "tag", tag: v.slice(4) };
    if (v.startsWith("nb:")) {
      const id = v.slice(3);
      const name = this.view.selectedOptions[0]?.dataset.name ?? "";
      return { kind: "notebook", id, name };
    }
    return { kind: "all" };
  }

  private async apply(): Promise<void> {
    const view = this.chosen();
    this.trashBar.hidden = view.kind !== "trash";
    this.tagViewBar.hidden = view.kind !== "tag";
    const label = this.tagViewBar.querySelector("span");
    if (label && view.kind === "tag") label.textContent = `Notes tagged #${view.tag}`;
    this.sort.disabled = view.kind === "trash";
    const sort = savedSort(viewKey(view));
    this.sort.value = sort;
    await this.list.setView(view, sort);
    this.onView(view);
  }

  /** Shows `view` (e.g. a tag clicked on a note). */
  async show(view: View): Promise<void> {
    this.view.value =
      view.kind === "tag"
        ? `tag:${view.tag}`
        : view.kind === "notebook"
          ? `nb:${view.id}`
          : view.kind;
    await this.apply();
  }

  /** A field in the tag's bar that renames the tag shown on every note. */
  private startRenameTag(): void {
    const view = this.chosen();
    const button = this.tagViewBar.querySelector<HTMLElement>("[data-action=rename-tag]");
    if (view.kind !== "tag" || !button) return;
    const input = document.createElement("input");
    input.type = "text";
    input.value = view.tag;
    input.setAttribute("aria-label", `New name of the tag #${view.tag}`);
    button.hidden = true;
    button.before(input);
    input.focus();
    input.select();
    let done = false;
    const finish = async (keep: boolean) => {
      if (done) return;
      done = true;
      input.remove();
      button.hidden = false;
      const name = input.value.trim();
      if (!keep || !name || name === view.tag) return;
      try {
        const t = await renameTag(view.tag, name);
        this.onMessage(
          `Renamed #${view.tag} to #${t.name} on ${t.notes} note${t.notes === 1 ? "" : "s"}.`,
        );
        this.onTagsChanged();
        await this.refreshTags();
        await this.show({ kind: "tag", tag: t.name });
      } catch (e) {
        this.onError(e instanceof Error ? e.message : String(e));
      }
    };
    input.addEventListener("keydown", (e) => {
      e.stopPropagation();
      if (e.key === "Enter") void finish(true);
      else if (e.key === "Escape") void finish(false);
    });
    input.addEventListener("blur", () => void finish(true));
  }

  /** Rewrites the notebook entries of the menu (the default notebook first). */
  setNotebooks(tree: Notebooks, inbox: string): void {
    const current = this.view.value;
    const option = (id: string, name: string, depth: number) => {
      const o = document.createElement("option");
      o.value = `nb:${id}`;
      o.dataset.name = name;
      o.textContent = `${"\u2003".repeat(depth)}${name}`;
      return o;
    };
    this.notebookGroup.replaceChildren(
      option("", inbox, 0),
      ...tree.notebooks.map((b) => option(b.id, b.name, b.depth)),
    );
    this.view.value = current;
    if (this.view.value !== current) void this.show({ kind: "all" });
  }

  /** Rewrites the tag entries of the menu (after tags changed here or on another device). */
  async refreshTags(): Promise<TagCount[]> {
    let tags: TagCount[];
    try {
      tags = await listTags();
    } catch (e) {
      this.onError(e instanceof Error ? e.message : String(e));
      return [];
    }
    const current = this.view.value;
    this.tagGroup.replaceChildren(
      ...tags.map((t) => {
        const o = document.createElement("option");
        o.value = `tag:${t.name}`;
        o.textContent = `#${t.name} (${t.notes})`;
        return o;
      }),
    );
    // A tag no note has any more: back to all notes.
    if (current.startsWith("tag:") && !tags.some((t) => `tag:${t.name}` === current)) {
      this.view.value = "all";
      await this.apply();
    } else {
      this.view.value = current;
    }
    this.tagGroup.hidden = tags.length === 0;
    return tags;
  }

  private confirmEmpty(): void {
    const n = this.list.items.length;
    if (n === 0) {
      this.onMessage("The trash is already empty.");
      return;
    }
    const count = this.dialog.querySelector(".count");
    if (count) count.textContent = `${n} note${n === 1 ? "" : "s"} in the trash will be removed.`;
    this.dialog.hidden = false;
    this.dialog.querySelector<HTMLButtonElement>("[data-action=cancel]")?.focus();
  }

  private async empty(): Promise<void> {
    this.dialog.hidden = true;
    try {
      const n = await emptyTrash();
      await this.list.reload();
      this.onMessage(`Emptied ${n} note${n === 1 ? "" : "s"} from the trash.`);
    } catch (e) {
      this.onError(e instanceof Error ? e.message : String(e));
    }
  }
}

/** The open note's pin button and tag chips, with a field that adds a tag. */
export class NoteTags {
  private note: Note | null = null;

  constructor(
    private readonly pin: HTMLButtonElement,
    private readonly bar: HTMLElement,
    input: HTMLInputElement,
    private readonly names: HTMLDataListElement,
    /** Called after a pin or tag changed (the list and the tag menu show them). */
    private readonly onChange: () => void,
    /** A tag chip clicked: show that tag's notes. */
    private readonly onTagClick: (tag: string) => void,
    private readonly onError: (message: string) => void,
  ) {
    pin.addEventListener("click", () => void this.togglePin());
    input.addEventListener("keydown", (e) => {
      if (e.key === "Enter" || (e.key === "," && input.value.trim())) {
        e.preventDefault();
        const value = input.value;
        input.value = "";
        if (value.trim()) void this.change([value], []);
      } else if (e.key === "Backspace" && !input.value && this.note?.tags.length) {
        // As in a tag field of Joplin or Gmail: Backspace in the empty field removes the last.
        e.preventDefault();
        void this.change([], [this.note.tags[this.note.tags.length - 1] as string]);
      }
    });
    bar.addEventListener("click", (e) => {
      const target = e.target as HTMLElement;
      const chip = target.closest<HTMLElement>(".chip[data-tag]");
      if (!chip?.dataset.tag) return;
      if (target.closest("button")) void this.change([], [chip.dataset.tag]);
      else this.onTagClick(chip.dataset.tag);
    });
  }

  /** Shows the pin and tags of `note` (null: none open). */
  show(note: Note | null): void {
    this.note = note ? { ...note } : null;
    this.paint();
  }

  /** The open note's pin and tags as the list now has them (changed on another device). */
  update(pinned: boolean, tags: string[]): void {
    if (!this.note) return;
    if (this.note.pinned === pinned && this.note.tags.join("\n") === tags.join("\n")) return;
    this.note.pinned = pinned;
    this.note.tags = [...tags];
    this.paint();
  }

  /** Offers the workspace's tags as suggestions in the field. */
  suggest(tags: TagCount[]): void {
    this.names.replaceChildren(
      ...tags.map((t) => {
        const o = document.createElement("option");
        o.value = t.name;
        return o;
      }),
    );
  }

  private paint(): void {
    const n = this.note;
    this.pin.textContent = n?.pinned ? "Unpin" : "Pin";
    this.pin.setAttribute("aria-pressed", String(!!n?.pinned));
    const chips = this.bar.querySelector(".chips");
    chips?.replaceChildren(
      ...(n?.tags ?? []).map((t) => {
        const chip = document.createElement("span");
        chip.className = "chip";
        chip.dataset.tag = t;
        chip.title = `Show the notes tagged #${t}`;
        const x = document.createElement("button");
        x.type = "button";
        x.textContent = "×";
        x.setAttribute("aria-label", `Remove the tag ${t}`);
        chip.append(`#${t}`, x);
        return chip;
      }),
    );
  }

  private async togglePin(): Promise<void> {
    const n = this.note;
    if (!n) return;
    try {
      await setPinned(n.id, !n.pinned);
      n.pinned = !n.pinned;
      this.paint();
      this.onChange();
    } catch (e) {
      this.onError(e instanceof Error ? e.message : String(e));
    }
  }

  private async change(add: string[], remove: string[]): Promise<void> {
    const n = this.note;
    if (!n) return;
    try {
      const tags = await retag(n.id, add, remove);
      if (this.note?.id !== n.id) return;
      n.tags = tags;
      this.paint();
      this.onChange();
    } catch (e) {
      this.onError(e instanceof Error ? e.message : String(e));
    }
  }
}
