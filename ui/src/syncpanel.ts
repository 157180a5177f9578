// The sync panel: the indicator in the toolbar, and a drawer with each target's state, counts
// of pending and synced entries, problems in plain words and the newest log entries.

import type { Transfers } from "./attachments";
import type { Activity } from "./bindings/Activity";
import type { DeviceNames } from "./devices";
import { el } from "./dom";
import {
  ago,
  device,
  indicator,
  placeName,
  sentence,
  size,
  waiting,
  who,
  withheldSentence,
} from "./format";
import {
  type AssetInfo,
  cancelInvite,
  copyText,
  type Invited,
  inviteDevice,
  type LogItem,
  listAssets,
  logEntries,
  onVerifyProgress,
  recentChanges,
  removeTarget,
  type Status,
  type SyncStatus,
  setKeepAttachments,
  syncNow,
  syncStatus,
  useFewerFiles,
  type Verification,
  verifyTarget,
} from "./ipc";
import { PassphraseBox } from "./passphrase";
import { checkingText, checkReport } from "./verify";

/** How far back "Recent changes" looks: a week. */
const RECENT_MS = 7 * 86_400_000;

/** A "Check this folder" of one target: running (with its count), done, or failed. */
type Check =
  | { state: "running"; done: number; total: number }
  | { state: "done"; result: Verification }
  | { state: "failed"; message: string };

export class SyncPanel {
  private live: SyncStatus | null = null;
  private status: Status | null = null;
  private loading = false;
  private queued = false;
  /** Checks by target id; kept across repaints of the drawer. */
  private readonly checks = new Map<string, Check>();
  /** Targets whose check "Details" the user opened (stay open across repaints). */
  private readonly checkDetailsOpen = new Set<string>();
  /** The setup code "Add a device" made, shown until Done or until it expires. */
  private invited: Invited | null = null;
  /** Its box, built once and moved into each repaint: a click on its buttons is never lost to
   * a repaint under the pointer. */
  private invitationBox: { code: string; box: HTMLElement; left: HTMLElement } | null = null;
  /** "Change the passphrase…" / "Type the new passphrase…", kept across repaints. */
  private readonly passphrase = new PassphraseBox(() => this.refresh());

  constructor(
    private readonly button: HTMLButtonElement,
    private readonly drawer: HTMLElement,
    private readonly body: HTMLElement,
    private readonly onSetup: () => void,
    private readonly onError: (message: string) => void,
    private readonly transfers: Transfers,
    /** Opens a note (a title clicked under "Recent changes"). */
    private readonly openNote: (id: string) => void,
    /** Names devices. */
    private readonly devices: DeviceNames,
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
    void onVerifyProgress((c) => {
      const check = this.checks.get(c.target);
      if (check?.state !== "running") return;
      check.done = c.done;
      check.total = c.total;
      const shown = this.body.querySelector<HTMLElement>(
        `.target[data-target="${CSS.escape(c.target)}"] .check .checking`,
      );
      if (shown) shown.textContent = checkingText(c.done, c.total);
    });
  }

  /** Runs "Check this folder" for a target and shows the outcome in its card. */
  private async check(id: string): Promise<void> {
    if (this.checks.get(id)?.state === "running") return;
    this.checks.set(id, { state: "running", done: 0, total: 0 });
    void this.refresh();
    try {
      this.checks.set(id, { state: "done", result: await verifyTarget(id) });
    } catch (e) {
      this.checks.set(id, { state: "failed", message: e instanceof Error ? e.message : String(e) });
    }
    void this.refresh();
  }

  /** The check part of a target's card: the button, its progress, or what it found. */
  private checkSection(id: string, kind: string): HTMLElement {
    const box = el("div", "check");
    const check = this.checks.get(id);
    const button = el(
      "button",
      "link",
      kind === "webdav"
        ? "Check this server"
        : kind === "s3"
          ? "Check this bucket"
          : "Check this folder",
    );
    button.type = "button";
    button.dataset.action = "check";
    button.title = "Read back every change and attachment this device has and compare them";
    button.addEventListener("click", () => void this.check(id));
    if (check?.state === "running") {
      box.append(el("span", "checking", checkingText(check.done, check.total)));
      return box;
    }
    if (check?.state === "failed") box.append(el("div", "problem", sentence(check.message)));
    if (check?.state === "done") {
      const r = checkReport(check.result);
      const result = el("div", r.ok ? "result ok" : "result problem");
      result.dataset.ok = String(r.ok);
      result.append(el("div", "headline", r.headline));
      for (const line of r.lines) result.append(el("div", undefined, line));
      const all = check.result.findings;
      if (all.length > 0 || check.result.leftovers.length > 0) {
        const details = el("details", "findings");
        details.open = this.checkDetailsOpen.has(id);
        details.addEventListener("toggle", () => {
          if (details.open) this.checkDetailsOpen.add(id);
          else this.checkDetailsOpen.delete(id);
          // A repaint between the click and this event built a new card: it follows (the user's
          // click was lost in the e2e test once).
          if (!details.isConnected) {
            const now = this.body.querySelector<HTMLDetailsElement>(
              `.target[data-target="${CSS.escape(id)}"] .check details.findings`,
            );
            if (now) now.open = details.open;
          }
        });
        // The state the user asked for is recorded at the click itself: a repaint can come
        // between the click and the "toggle" event (the app test lost that click twice).
        const summary = el("summary", undefined, "Details");
        summary.addEventListener("click", () => {
          if (details.open) this.checkDetailsOpen.delete(id);
          else this.checkDetailsOpen.add(id);
        });
        details.append(summary);
        for (const f of all.slice(0, 100))
          details.append(el("div", "detail", `${f.message} (${f.path})`));
        if (all.length > 100)
          details.append(el("div", "detail", `… and ${all.length - 100} more.`));
        if (check.result.leftovers.length > 0)
          details.append(
            el(
              "div",
              "detail muted",
              `Left by sync tools, harmless: ${check.result.leftovers.join(", ")}`,
            ),
          );
        result.append(details);
      }
      box.append(result);
    }
    box.append(button);
    return box;
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
      if (this.isOpen) await this.devices.refresh();
      if (this.isOpen)
        this.paintDrawer(
          this.status,
          await logEntries(50),
          await listAssets(),
          await recentChanges(Date.now() - RECENT_MS),
        );
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

  /** The devices of the workspace by name, with when each last wrote changes: who is
   * syncing, in words (ids are under Details). */
  private devicesSection(now: number): HTMLElement {
    const section = el("section", "devices");
    section.append(el("h3", undefined, "Devices"));
    const list = el("ul");
    for (const d of this.devices.list) {
      const li = el("li");
      li.dataset.device = d.id;
      const name = d.this_device && !d.name ? "This device" : this.devices.label(d.id);
      li.append(el("span", "name", d.this_device && d.name ? `${name} (this device)` : name));
      const when =
        d.last_change_at === null
          ? d.this_device
            ? "nothing synced yet"
            : "no changes yet"
          : `changes written ${ago(d.last_change_at, now)}`;
      li.append(el("span", "muted", ` · ${when}`));
      if (d.removed_at !== null) {
        const by =
          d.removed_by_id === null
            ? "another device"
            : d.removed_by_id === this.devices.list.find((x) => x.this_device)?.id
              ? "this device"
              : this.devices.label(d.removed_by_id);
        li.classList.add("removed");
        li.append(
          el(
            "span",
            "problem",
            d.this_device
              ? ` · removed from this workspace ${ago(d.removed_at, now)} by ${by}: what you write here no longer reaches your other devices`
              : ` · removed ${ago(d.removed_at, now)} by ${by}: it reads nothing new, and what it writes is refused`,
          ),
        );
      } else if (d.held_back) {
        li.classList.add("held-back");
        li.append(
          el(
            "span",
            "problem",
            d.this_device
              ? " · this device joined around the time a device was removed, so your other devices hold back its changes until you let it in on one of them"
              : " · a device you do not know yet: it joined around the time a device was removed, so its changes are held back until you let it in",
          ),
        );
      }
      if (d.held_back && !d.this_device) {
        const letIn = el("button", "link", "Let it in…");
        letIn.dataset.action = "let-in-device";
        letIn.addEventListener("click", () => this.passphrase.show("let-in", { id: d.id, name }));
        li.append(letIn);
      }
      if (
        d.removed_at === null &&
        !d.this_device &&
        this.status?.encrypted &&
        this.status.targets.length > 0
      ) {
        const remove = el("button", "link", "Remove…");
        remove.dataset.action = "remove-device";
        remove.addEventListener("click", () => this.passphrase.show("remove", { id: d.id, name }));
        li.append(remove);
      }
      if (!d.signed && d.removed_at === null)
        li.append(
          el(
            "span",
            "problem",
            " · update Resilient Notes on it: until then its changes are not signed, so someone else could write as it",
          ),
        );
      list.append(li);
    }
    section.append(list);
    if (this.status?.encrypted && this.status.targets.length > 0) {
      if (this.invited && this.invited.expires_at > now)
        section.append(this.invitation(this.invited, now));
      else {
        this.invitationBox = null;
        const add = el("button", "add-device", "Add a device…");
        add.dataset.action = "add-device";
        add.addEventListener("click", () => {
          add.disabled = true;
          void inviteDevice().then(
            (i) => {
              this.invited = i;
              void this.refresh();
            },
            (e) => {
              add.disabled = false;
              this.onError(e.message);
            },
          );
        });
        section.append(add);
      }
      section.append(this.passphraseRow());
    }
    if (!this.devices.mine)
      section.append(
        el(
          "p",
          "muted",
          "Give this device a name in Settings so your other devices can tell it apart.",
        ),
      );
    return section;
  }

  /** Fewer files (FORMAT.md §11.1): said when on; else a button that asks, with what it does
   * and what it needs, before it turns it on for the whole workspace. */
  private fewerFilesRow(st: Status): HTMLElement {
    const row = el("div", "fewer-files");
    if (st.fewer_files) {
      row.append(
        el(
          "p",
          "muted",
          "Fewer files: changes already gathered in packs are removed from these folders and servers as single files.",
        ),
      );
      return row;
    }
    row.append(
      askFirst({
        label: "Keep fewer files in these folders…",
        action: "fewer-files",
        question:
          "Every sync writes a small file, so a folder synced for years holds hundreds of thousands of them. From now on, each sync removes the single files that packs of 100 changes already hold: hundreds of files instead. This is for the whole workspace and cannot be undone. Update Resilient Notes on all your devices first: an older version stops syncing with these folders and asks to be updated. ",
        yes: "Keep fewer files",
        no: "Not now",
        primary: true,
        act: () =>
          useFewerFiles().then(
            () => this.refresh(),
            (e) => this.onError(e.message),
          ),
      }),
    );
    return row;
  }

  /** The passphrase: what a change made here did, the open form, or the buttons that open
   * one (with, when this device missed a change made elsewhere, why it needs the new one). */
  private passphraseRow(): HTMLElement {
    const row = el("div", "passphrase");
    if (this.passphrase.done) row.append(el("p", "done", this.passphrase.done));
    const open = this.passphrase.element;
    if (open) {
      row.append(open);
      return row;
    }
    if (this.status?.needs_new_passphrase) {
      row.append(
        el(
          "p",
          "problem",
          "The passphrase was changed on another device while this one could not be given the new key, or this device was removed from the workspace: what was written since waits here. If this device is still one of yours, type the current passphrase.",
        ),
      );
      const enter = el("button", "primary", "Type the new passphrase…");
      enter.dataset.action = "enter-passphrase";
      enter.addEventListener("click", () => this.passphrase.show("enter"));
      row.append(enter);
    }
    const change = el("button", "link", "Change the passphrase…");
    change.dataset.action = "change-passphrase";
    change.addEventListener("click", () => this.passphrase.show("change"));
    row.append(change);
    return row;
  }

  /** A setup code for a new device: as a QR code for a phone's camera, as text to copy, with
   * until when it works and what to do with it. */
  private invitation(i: Invited, now: number): HTMLElement {
    const left = Math.max(1, Math.round((i.expires_at - now) / 60_000));
    const kept = this.invitationBox;
    if (kept?.code === i.code) {
      kept.left.textContent = `${left} min`;
      return kept.box;
    }
    const box = el("div", "invitation");
    const svg = new DOMParser().parseFromString(i.qr_svg, "image/svg+xml").documentElement;
    const qr = el("div", "qr");
    qr.append(document.importNode(svg, true));
    const code = el("input");
    code.name = "setup_code";
    code.readOnly = true;
    code.value = i.code;
    code.addEventListener("focus", () => code.select());
    const copy = el("button", undefined, "Copy");
    copy.dataset.action = "copy-code";
    copy.addEventListener(
      "click",
      () =>
        void copyText(i.code).then(
          () => {
            copy.textContent = "Copied";
          },
          (e) => this.onError(e.message),
        ),
    );
    const done = el("button", undefined, "Done");
    done.dataset.action = "invite-done";
    done.addEventListener("click", () => {
      this.invited = null;
      void this.refresh();
    });
    const cancel = el("button", "link", "Cancel this code");
    cancel.dataset.action = "invite-cancel";
    cancel.title = "The code opens nothing from now on (a device that already joined stays)";
    cancel.addEventListener(
      "click",
      () =>
        void cancelInvite(i.code).then(
          () => {
            this.invited = null;
            void this.refresh();
          },
          (e) => this.onError(e.message),
        ),
    );
    const buttons = el("div", "row");
    buttons.append(done, cancel);
    const until = new Date(i.expires_at).toLocaleTimeString([], {
      hour: "2-digit",
      minute: "2-digit",
    });
    const row = el("div", "row");
    row.append(code, copy);
    const minutes = el("span", undefined, `${left} min`);
    const how = el("p", "muted", `This code adds one device and works until ${until} (`);
    how.append(
      minutes,
      `). On the new device: “Sync with a folder or server…”, choose the same folder or server (here: ${i.location}), then “Use a setup code instead” and paste the code.`,
    );
    box.append(
      el("h4", undefined, "Add a device"),
      qr,
      row,
      how,
      el(
        "p",
        "muted",
        "Anyone with this code can read your notes until it is used or expires: give it only to your own device.",
      ),
      buttons,
    );
    this.invitationBox = { code: i.code, box, left: minutes };
    return box;
  }

  /** What changed in the last week, newest first: which device, when, and which notes (each
   * opens on a click) — what a sync brought in. */
  private recentSection(recent: Activity[], now: number): HTMLElement {
    const section = el("section", "recent");
    section.append(el("h3", undefined, "Recent changes"));
    if (recent.length === 0) section.append(el("p", "muted", "No changes in the last 7 days."));
    const list = el("ul");
    for (const a of recent) {
      const li = el("li");
      const by = a.synced
        ? who(a, this.devices.names)
        : `${who(a, this.devices.names)}, waiting to sync`;
      li.append(el("div", "who", `${a.at === null ? "Time unknown" : ago(a.at, now)} · ${by}`));
      const notes = el("div", "notes");
      for (const n of a.notes) {
        if (n.state === "missing") {
          notes.append(el("span", "muted", "a note not here any more"));
        } else {
          const b = el(
            "button",
            n.state === "trashed" ? "link trashed" : "link",
            n.title || "Untitled",
          );
          b.type = "button";
          b.dataset.note = n.id;
          if (n.state === "trashed") b.title = "In the trash";
          b.addEventListener("click", () => this.openNote(n.id));
          notes.append(b);
        }
        notes.append(" ");
      }
      li.append(notes);
      list.append(li);
    }
    section.append(list);
    return section;
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

  private paintDrawer(st: Status, log: LogItem[], assets: AssetInfo[], recent: Activity[]): void {
    // A field of a kept box (the passphrase form) is moved by the repaint, which takes its
    // focus: it gets it back, and what is being typed goes on into it.
    const focused = document.activeElement;
    const now = Date.now();
    const parts: HTMLElement[] = [];
    parts.push(
      el(
        "p",
        "summary",
        `${st.notes} note${st.notes === 1 ? "" : "s"} · ${waiting(st.pending, st.targets.length)} · ${st.encrypted ? "end-to-end encrypted" : "NOT encrypted"}`,
      ),
    );
    // Each problem once: the cycle's error is shown here unless a target card says the same.
    const cardErrors = new Set(st.targets.map((t) => t.last_error).filter(Boolean));
    if (this.live?.error && !cardErrors.has(this.live.error))
      parts.push(
        el(
          "p",
          "problem",
          sentence(this.live.error) +
            (this.live.retry_in_ms
              ? ` Trying again in ${Math.ceil(this.live.retry_in_ms / 1000)} s.`
              : ""),
        ),
      );
    // Changes another device had that have not reached this one for over an hour: a folder
    // or server may be holding them back (the engine waits an hour before saying so).
    for (const w of st.withheld) {
      const p = el(
        "p",
        "problem",
        withheldSentence(w, (id) => this.devices.label(id), now),
      );
      p.dataset.withheld = w.device;
      parts.push(p);
    }
    const targets = el("section", "targets");
    targets.append(el("h3", undefined, "Synced with"));
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
      const where = el("div", "location", placeName(t.kind, t.location));
      where.title = t.location;
      card.append(
        where,
        el(
          "div",
          "counts",
          `${t.pending > 0 ? waiting(t.pending, 1) : "Up to date"} · ${t.last_ok ? `synced ${ago(t.last_ok, now)}` : "not synced yet"}`,
        ),
      );
      if (t.last_error) card.append(el("div", "problem", sentence(t.last_error)));
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
      // Entries that could not be read: a count here, each one (with its index and device id)
      // under Details; the one the last problem already named is not repeated.
      const waitingEntries = t.entry_errors.filter((p) => p.message !== t.last_error);
      if (t.entry_errors.length > 0) {
        const more = el("details", "entry-problems");
        more.append(
          el(
            "summary",
            undefined,
            `${t.entry_errors.length} change${t.entry_errors.length === 1 ? "" : "s"} from other devices could not be read yet`,
          ),
        );
        for (const p of waitingEntries.slice(0, 20))
          more.append(
            el(
              "div",
              "detail",
              `${sentence(p.message)} (device ${device(p.client)}, entry ${p.index}, ${p.attempts} attempt${p.attempts === 1 ? "" : "s"})`,
            ),
          );
        card.append(more);
      }
      card.append(this.checkSection(t.id, t.kind));
      card.append(
        askFirst({
          label: "Stop syncing here",
          action: "remove",
          question: `Stop syncing with ${t.location}? Its files stay where they are. `,
          yes: "Stop syncing",
          no: "Keep",
          primary: false,
          act: () =>
            removeTarget(t.id).then(
              () => this.refresh(),
              (e) => this.onError(e.message),
            ),
        }),
      );
      targets.append(card);
    }
    if (st.targets.length > 0 && st.encrypted) targets.append(this.fewerFilesRow(st));
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
    parts.push(this.devicesSection(now));
    parts.push(this.recentSection(recent, now));
    // The log itself is for people who want to look under the hood: behind "Details".
    const entries = el("details", "entries");
    entries.append(
      el(
        "summary",
        undefined,
        `Details: ${st.entries} log entr${st.entries === 1 ? "y" : "ies"}${st.unsealed ? `, ${st.unsealed} edit${st.unsealed === 1 ? "" : "s"} not yet in an entry` : ""}`,
      ),
      el("p", "muted", `This device's id: ${st.client_id} · workspace ${st.workspace_id}`),
    );
    const table = el("table");
    const head = el("tr");
    for (const h of [
      "Device",
      "#",
      "Time",
      "Size",
      ...st.targets.map((t) => placeName(t.kind, t.location)),
    ])
      head.append(el("th", undefined, h));
    table.append(head);
    for (const item of log) {
      const tr = el("tr");
      tr.dataset.entry = `${item.client}:${item.index}`;
      tr.append(
        el(
          "td",
          undefined,
          `${this.devices.names.get(item.client) ?? device(item.client)}${item.own ? " (this device)" : ""}`,
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
    if (
      focused instanceof HTMLInputElement &&
      focused.isConnected &&
      focused !== document.activeElement
    )
      focused.focus();
    this.paintTransfers();
  }
}

/** A link button that asks before it acts: a click puts the question with a yes button
 * (`data-action` "<action>-confirm") and a no button in its place; no puts the link back. */
function askFirst(o: {
  label: string;
  action: string;
  question: string;
  yes: string;
  no: string;
  primary: boolean;
  act: () => Promise<unknown>;
}): HTMLElement {
  const link = el("button", "link", o.label);
  link.dataset.action = o.action;
  link.addEventListener("click", () => {
    const ask = el("div", "confirm", o.question);
    const yes = el("button", o.primary ? "primary" : undefined, o.yes);
    yes.dataset.action = `${o.action}-confirm`;
    yes.addEventListener("click", () => void o.act());
    const no = el("button", undefined, o.no);
    no.addEventListener("click", () => ask.replaceWith(link));
    ask.append(yes, " ", no);
    link.replaceWith(ask);
  });
  return link;
}
