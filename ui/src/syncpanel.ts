// The sync panel: the indicator in the toolbar, and a drawer with each target's state, counts
// of pending and synced entries, problems in plain words and the newest log entries.

import type { Transfers } from "./attachments";
import { el } from "./dom";
import { ago, device, indicator, size } from "./format";
import {
  type AssetInfo,
  type LogItem,
  listAssets,
  logEntries,
  removeTarget,
  type Status,
  type SyncStatus,
  setKeepAttachments,
  syncNow,
  syncStatus,
} from "./ipc";

export class SyncPanel {
  private live: SyncStatus | null = null;
  private status: Status | null = null;
  private loading = false;
  private queued = false;

  constructor(
    private readonly button: HTMLButtonElement,
    private readonly drawer: HTMLElement,
    private readonly body: HTMLElement,
    private readonly onSetup: () => void,
    private readonly onError: (message: string) => void,
    private readonly transfers: Transfers,
  ) {
    button.addEventListener("click", () => this.toggle());
    drawer
      .querySelector<HTMLButtonElement>("[data-action=close]")
      ?.addEventListener("click", () => this.toggle(false));
    drawer
      .querySelector<HTMLButtonElement>("[data-action=setup]")
      ?.addEventListener("click", () => this.onSetup());
    drawer
      .querySelector<HTMLButtonElement>("[data-action=sync-now]")
      ?.addEventListener("click", () => void syncNow().catch((e) => this.onError(e.message)));
  }

  /** Targets as of the last refresh. */
  get targetCount(): number {
    return this.status?.targets.length ?? 0;
  }

  get isOpen(): boolean {
    return !this.drawer.hidden;
  }

  toggle(open = this.drawer.hidden): void {
    this.drawer.hidden = !open;
    this.button.setAttribute("aria-expanded", String(open));
    if (open) void this.refresh();
  }

  /** A `sync://state` event. */
  onState(s: SyncStatus): void {
    this.live = s;
    this.paintIndicator();
    if (s.state === "idle" || s.state === "offline" || s.state === "error") void this.refresh();
  }

  /** Reloads counts (and the drawer when open). Calls during a load are merged into one. */
  async refresh(): Promise<void> {
    if (this.loading) {
      this.queued = true;
      return;
    }
    this.loading = true;
    try {
      this.status = await syncStatus();
      this.paintIndicator();
      if (this.isOpen) this.paintDrawer(this.status, await logEntries(50), await listAssets());
    } catch (e) {
      this.onError(e instanceof Error ? e.message : String(e));
    } finally {
      this.loading = false;
      if (this.queued) {
        this.queued = false;
        void this.refresh();
      }
    }
  }

  private paintIndicator(): void {
    const { label, kind } = indicator(
      this.live,
      this.status?.pending ?? 0,
      this.status?.targets.length ?? 0,
    );
    this.button.textContent = label;
    this.button.dataset.state = kind;
    this.button.title = this.live?.error ?? "Show sync details";
  }

  /** Repaints the list of attachment transfers in progress (from sync events). */
  paintTransfers(): void {
    const box = this.body.querySelector<HTMLElement>(".transfers");
    if (!box) return;
    const rows: HTMLElement[] = [];
    for (const [key, t] of this.transfers.live) {
      const row = el("div", "transfer");
      row.dataset.transfer = key;
      const pct = t.total > 0 ? Math.floor((100 * t.done) / t.total) : 0;
      const bar = el("progress");
      bar.max = 100;
      bar.value = pct;
      row.append(
        el(
          "span",
          undefined,
          `${t.direction === "upload" ? "↑ Uploading" : "↓ Downloading"} ${t.name} · ${size(t.done)} of ${size(t.total)} (${t.target})`,
        ),
        bar,
      );
      rows.push(row);
    }
    box.replaceChildren(...rows);
  }

  private paintDrawer(st: Status, log: LogItem[], assets: AssetInfo[]): void {
    const now = Date.now();
    const parts: HTMLElement[] = [];
    parts.push(
      el(
        "p",
        "summary",
        `${st.notes} notes · ${st.entries} log entries · ${st.pending} pending${st.unsealed ? ` (${st.unsealed} edits not yet in an entry)` : ""} · ${st.encrypted ? "end-to-end encrypted" : "NOT encrypted"}`,
      ),
    );
    if (this.live?.error)
      parts.push(
        el(
          "p",
          "problem",
          this.live.error +
            (this.live.retry_in_ms
              ? ` Retrying in ${Math.ceil(this.live.retry_in_ms / 1000)} s.`
              : ""),
        ),
      );
    const targets = el("section", "targets");
    targets.append(el("h3", undefined, "Targets"));
    if (st.targets.length === 0)
      targets.append(
        el(
          "p",
          "muted",
          "Not syncing yet: notes stay on this device. Use “Sync with a folder…” to share them.",
        ),
      );
    for (const t of st.targets) {
      const card = el("div", "target");
      card.dataset.target = t.id;
      const state = t.last_error ? "error" : t.pending > 0 ? "pending" : "synced";
      card.dataset.state = state;
      card.append(
        el("div", "location", t.location),
        el(
          "div",
          "counts",
          `${t.pending} pending · ${t.synced} synced · last sync ${ago(t.last_ok, now)}`,
        ),
      );
      if (t.last_error) card.append(el("div", "problem", t.last_error));
      const keep = el("label", "keep");
      const box = el("input");
      box.type = "checkbox";
      box.checked = t.keep_attachments;
      box.dataset.action = "keep-attachments";
      box.addEventListener(
        "change",
        () =>
          void setKeepAttachments(t.id, box.checked).then(
            () => this.refresh(),
            (e) => this.onError(e.message),
          ),
      );
      keep.append(box, " Keep all attachments offline");
      card.append(keep);
      for (const p of t.entry_errors.slice(0, 5)) {
        card.append(
          el(
            "div",
            "problem",
            `Entry ${p.index} from device ${device(p.client)}: ${p.message} (tried ${p.attempts}×, will retry)`,
          ),
        );
      }
      const rm = el("button", "link", "Stop syncing here");
      rm.dataset.action = "remove";
      rm.addEventListener("click", () => {
        const ask = el(
          "div",
          "confirm",
          `Stop syncing with ${t.location}? Its files stay where they are. `,
        );
        const yes = el("button", undefined, "Stop syncing");
        yes.dataset.action = "remove-confirm";
        const no = el("button", undefined, "Keep");
        yes.addEventListener(
          "click",
          () =>
            void removeTarget(t.id).then(
              () => this.refresh(),
              (e) => this.onError(e.message),
            ),
        );
        no.addEventListener("click", () => ask.replaceWith(rm));
        ask.append(yes, " ", no);
        rm.replaceWith(ask);
      });
      card.append(rm);
      targets.append(card);
    }
    parts.push(targets);
    const files = el("section", "attachments");
    files.append(el("h3", undefined, "Attachments"));
    const uploads = assets.filter(
      (a) => a.local && a.targets.some((x) => x.state === "pending"),
    ).length;
    const missing = assets.filter((a) => !a.local && a.notes > 0).length;
    files.append(
      el(
        "p",
        "muted",
        assets.length === 0
          ? "No attachments yet: paste or drop a file into a note."
          : `${assets.length} attachment${assets.length === 1 ? "" : "s"} · ${uploads} to upload · ${missing} not on this device (downloaded when a note shows them${st.targets.some((t) => t.keep_attachments) ? ", or in the background" : ""})`,
      ),
    );
    files.append(el("div", "transfers"));
    parts.push(files);
    const entries = el("section", "entries");
    entries.append(el("h3", undefined, "Recent log entries"));
    const table = el("table");
    const head = el("tr");
    for (const h of ["Device", "#", "Time", "Size", ...st.targets.map((t) => t.id)])
      head.append(el("th", undefined, h));
    table.append(head);
    for (const item of log) {
      const tr = el("tr");
      tr.dataset.entry = `${item.client}:${item.index}`;
      tr.append(
        el(
          "td",
          undefined,
          item.own ? `${device(item.client)} (this device)` : device(item.client),
        ),
        el("td", undefined, String(item.index)),
        el("td", undefined, ago(item.timestamp, now)),
        el("td", undefined, size(item.size)),
      );
      for (const t of st.targets) {
        const s = item.targets.find((x) => x.target === t.id)?.state ?? "pending";
        tr.append(el("td", `state ${s}`, s));
      }
      table.append(tr);
    }
    if (log.length === 0)
      entries.append(el("p", "muted", "No entries yet: they are written when you sync."));
    else entries.append(table);
    parts.push(entries);
    this.body.replaceChildren(...parts);
    this.paintTransfers();
  }
}
