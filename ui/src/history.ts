// The history panel of the open note: its versions (one per editing session: when, which
// device, what changed), the selected version's text read-only, what changed since then word by
// word, and "Restore this version".

import type { DiffPart } from "./bindings/DiffPart";
import type { Version } from "./bindings/Version";
import type { DeviceNames } from "./devices";
import { el } from "./dom";
import { who } from "./format";
import { compareVersions, noteHistory, noteVersion, restoreVersion } from "./ipc";

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

const pad = (n: number) => String(n).padStart(2, "0");

/** When a version was made, in local time: "Today 09:30", "Yesterday 18:02", "3 Dec 14:00"
 * (this year), "3 Dec 2025 14:00"; "Time unknown" when the device's clock could not be
 * believed. */
export function when(ms: number | null, now: number): string {
  if (ms === null) return "Time unknown";
  const d = new Date(ms);
  const today = new Date(now);
  const clock = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  const sameDay = (a: Date, b: Date) => a.toDateString() === b.toDateString();
  if (sameDay(d, today)) return `Today ${clock}`;
  const yesterday = new Date(today);
  yesterday.setDate(today.getDate() - 1);
  if (sameDay(d, yesterday)) return `Yesterday ${clock}`;
  const day = `${d.getDate()} ${MONTHS[d.getMonth()]}`;
  return d.getFullYear() === today.getFullYear()
    ? `${day} ${clock}`
    : `${day} ${d.getFullYear()} ${clock}`;
}

/** The comparison as elements: removed text struck through, added text marked. */
export function diffNodes(parts: DiffPart[]): Node[] {
  return parts.map((p) => {
    if (p.kind === "added") return el("ins", undefined, p.text);
    if (p.kind === "removed") return el("del", undefined, p.text);
    return document.createTextNode(p.text);
  });
}

/** Whether the newest version `v` is the note as it is now (not one side of a merge). */
function isNow(v: Version): boolean {
  return !v.concurrent;
}

export class HistoryPanel {
  private noteId: string | null = null;
  private versions: Version[] = [];
  private selected: string | null = null;
  /** Counts loads: the answer to an older one is dropped. */
  private seq = 0;
  private readonly list: HTMLOListElement;
  private readonly title: HTMLElement;
  private readonly body: HTMLElement;
  private readonly changes: HTMLInputElement;
  private readonly restore: HTMLButtonElement;
  private readonly status: HTMLElement;

  constructor(
    private readonly drawer: HTMLElement,
    private readonly button: HTMLButtonElement,
    /** Saves what the editor holds before a restore replaces it. */
    private readonly settle: () => Promise<void>,
    /** A version was restored: the editor and list take the note's new text. */
    private readonly restored: (label: string) => void,
    private readonly onError: (message: string) => void,
    /** Names the devices that edited. */
    private readonly devices: DeviceNames,
  ) {
    this.list = drawer.querySelector("ol.versions") as HTMLOListElement;
    this.title = drawer.querySelector(".version-title") as HTMLElement;
    this.body = drawer.querySelector(".version-body") as HTMLElement;
    this.changes = drawer.querySelector("input[name=show-changes]") as HTMLInputElement;
    this.restore = drawer.querySelector("[data-action=restore]") as HTMLButtonElement;
    this.status = drawer.querySelector(".version-status") as HTMLElement;
    button.addEventListener("click", () => this.toggle());
    drawer
      .querySelector("[data-action=close]")
      ?.addEventListener("click", () => this.toggle(false));
    drawer.addEventListener("keydown", (e) => {
      if (e.key === "Escape") this.toggle(false);
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        e.preventDefault();
        this.step(e.key === "ArrowDown" ? 1 : -1);
      }
    });
    this.list.addEventListener("click", (e) => {
      const item = (e.target as HTMLElement).closest<HTMLElement>("[data-version]");
      if (item?.dataset.version) void this.select(item.dataset.version);
    });
    this.changes.addEventListener("change", () => {
      if (this.selected) void this.select(this.selected);
    });
    this.restore.addEventListener("click", () => void this.restoreSelected());
  }

  get isOpen(): boolean {
    return !this.drawer.hidden;
  }

  toggle(open = this.drawer.hidden): void {
    this.drawer.hidden = !open;
    this.button.setAttribute("aria-pressed", String(open));
    if (open) void this.load();
  }

  /** The open note changed (or changed on another device): the panel follows. */
  show(noteId: string | null): void {
    if (noteId !== this.noteId) this.selected = null;
    this.noteId = noteId;
    if (!noteId) this.toggle(false);
    else if (this.isOpen) void this.load();
  }

  private async load(): Promise<void> {
    const id = this.noteId;
    if (!id) return;
    const seq = ++this.seq;
    try {
      const versions = await noteHistory(id);
      if (seq !== this.seq) return;
      this.versions = versions;
      this.paintList();
      const keep = this.selected && versions.some((v) => v.id === this.selected);
      await this.select(keep ? (this.selected as string) : (versions[0]?.id ?? null), false);
    } catch (e) {
      this.onError(e instanceof Error ? e.message : String(e));
    }
  }

  private paintList(): void {
    const now = Date.now();
    this.list.replaceChildren(
      ...this.versions.map((v, i) => {
        const li = el("li");
        const b = el("button");
        b.type = "button";
        b.dataset.version = v.id;
        b.setAttribute("aria-current", String(v.id === this.selected));
        b.append(
          el("span", "when", when(v.ended_at, now)),
          el(
            "span",
            "who",
            `${who(v, this.devices.names)}${i === 0 && isNow(v) ? " · current" : ""}`,
          ),
          el("span", "what", v.summary),
        );
        if (v.concurrent)
          b.append(el("span", "concurrent", "Edited at the same time as the one below"));
        b.title = `${v.changes} ${v.changes === 1 ? "change" : "changes"}`;
        li.append(b);
        return li;
      }),
    );
  }

  private step(by: number): void {
    const i = this.versions.findIndex((v) => v.id === this.selected);
    const next = this.versions[Math.min(this.versions.length - 1, Math.max(0, i + by))];
    if (next) {
      void this.select(next.id).then(() =>
        this.list.querySelector<HTMLElement>(`[data-version="${next.id}"]`)?.focus(),
      );
    }
  }

  /** Shows a version: its text, or with "Show changes" what changed from it to now. */
  private async select(version: string | null, fromUser = true): Promise<void> {
    const id = this.noteId;
    this.selected = version;
    for (const b of this.list.querySelectorAll<HTMLElement>("[data-version]"))
      b.setAttribute("aria-current", String(b.dataset.version === version));
    // The newest version is the note as it is now, unless it was made at the same time as the
    // one below: then the note now is both merged, and each side's version can be restored.
    const first = this.versions[0];
    const newest = version !== null && version === first?.id && isNow(first);
    this.restore.disabled = !version || newest;
    if (!id || !version) {
      this.title.textContent = "";
      this.body.replaceChildren();
      this.status.textContent = "";
      return;
    }
    const seq = ++this.seq;
    try {
      if (this.changes.checked && !newest) {
        const c = await compareVersions(id, version, "current");
        if (seq !== this.seq) return;
        this.title.replaceChildren(
          ...(c.titles
            ? diffNodes([
                { kind: "removed", text: c.titles[0] },
                { kind: "added", text: c.titles[1] },
              ])
            : [document.createTextNode(await this.titleOf(id, version))]),
        );
        this.body.replaceChildren(...diffNodes(c.body));
        this.status.textContent =
          "Struck-through text was removed since this version; marked text was added.";
      } else {
        const v = await noteVersion(id, version);
        if (seq !== this.seq) return;
        this.title.textContent = v.title || "Untitled";
        this.body.textContent = v.body;
        this.status.textContent = newest
          ? "This is the note as it is now."
          : v.deleted
            ? "The note was in the trash at this version."
            : version === first?.id && first.concurrent
              ? "Made at the same time as the version below: the note now holds the words of both. Restore one of them to keep only its words."
              : "";
      }
    } catch (e) {
      if (fromUser) this.onError(e instanceof Error ? e.message : String(e));
    }
  }

  private async titleOf(id: string, version: string): Promise<string> {
    return (await noteVersion(id, version)).title || "Untitled";
  }

  private async restoreSelected(): Promise<void> {
    const id = this.noteId;
    const version = this.versions.find((v) => v.id === this.selected);
    if (!id || !version) return;
    this.restore.disabled = true;
    try {
      await this.settle();
      const changed = await restoreVersion(id, version.id);
      const label = when(version.ended_at, Date.now());
      this.restored(
        changed
          ? `Restored the version of ${label}. The text before it is kept in the history.`
          : `The note already is as it was at ${label}.`,
      );
      this.selected = null;
      await this.load();
    } catch (e) {
      this.onError(e instanceof Error ? e.message : String(e));
      this.restore.disabled = false;
    }
  }
}
