// Bringing notes in and taking them out: the Settings buttons ask the Rust side to show the
// system's folder or file chooser and run the import or export; this dialog follows its
// progress (`transfer://progress`), can stop it, and ends with the report in plain words.

import type { ExportReport } from "./bindings/ExportReport";
import type { FileProblem } from "./bindings/FileProblem";
import type { ImportReport } from "./bindings/ImportReport";
import type { Progress } from "./bindings/Progress";
import { el } from "./dom";
import { AppError, exportNotes, importNotes, onTransferProgress, stopTransfer } from "./ipc";

/** A count as people read it: 10,000. */
const n = (x: number) => x.toLocaleString("en");

/** "1 note" / "2 notes". */
export const count = (x: number, one: string, many: string) => `${n(x)} ${x === 1 ? one : many}`;

/** What a progress event says, for the dialog. */
export function progressText(p: Progress, exporting: boolean): string {
  if (exporting) return `Writing notes: ${n(p.done)} of ${n(p.total)}`;
  switch (p.stage) {
    case "reading":
      return `Reading files: ${n(p.done)} of ${n(p.total)}`;
    case "reading_export":
      return `Reading the export: ${p.total ? Math.floor((100 * p.done) / p.total) : 0}%`;
    case "converting":
      return `Converting notes and attaching their files: ${n(p.done)} of ${n(p.total)}`;
    case "writing":
      return `Adding notes: ${n(p.done)} of ${n(p.total)}`;
  }
}

/** An import's report as sentences, then its problems and links to nothing as lists. */
export function importSummary(r: ImportReport): {
  lines: string[];
  lists: [string, FileProblem[]][];
} {
  const lines: string[] = [];
  if (r.cancelled) {
    lines.push(
      r.notes > 0
        ? `Stopped: ${count(r.notes, "note", "notes")} came in. Import the same again to bring in the rest.`
        : "Stopped: nothing was imported.",
    );
  } else if (r.notes === 0 && r.already_here > 0) {
    lines.push("Nothing new: every note there is here already.");
  } else {
    const parts = [
      count(r.notebooks, "notebook", "notebooks"),
      count(r.attachments, "attachment", "attachments"),
    ];
    lines.push(
      `Imported ${count(r.notes, "note", "notes")} into the notebook “${r.notebook}” (${parts.join(", ")}).`,
    );
  }
  if (r.already_here > 0 && r.notes > 0)
    lines.push(
      `${count(r.already_here, "note was", "notes were")} here already and not imported again.`,
    );
  if (r.skipped > 0)
    lines.push(
      `${count(r.skipped, "file was", "files were")} skipped (hidden, or no note links to it).`,
    );
  const lists: [string, FileProblem[]][] = [];
  if (r.problems.length)
    lists.push([
      `${count(r.problems.length, "file had a problem", "files had problems")}`,
      r.problems,
    ]);
  if (r.broken_links.length)
    lists.push([
      `${count(r.broken_links.length, "link names", "links name")} nothing in what was imported (kept as written)`,
      r.broken_links,
    ]);
  return { lines, lists };
}

/** An export's report as sentences and its problems. */
export function exportSummary(r: ExportReport): {
  lines: string[];
  lists: [string, FileProblem[]][];
} {
  const parts = [
    count(r.notebooks, "folder", "folders"),
    count(r.attachments, "attachment", "attachments"),
  ];
  const lines = r.cancelled
    ? [`Stopped: ${count(r.notes, "note was", "notes were")} written to ${r.folder}.`]
    : [`Exported ${count(r.notes, "note", "notes")} to ${r.folder} (${parts.join(", ")}).`];
  const lists: [string, FileProblem[]][] = r.problems.length
    ? [[count(r.problems.length, "problem", "problems"), r.problems]]
    : [];
  return { lines, lists };
}

/** The import/export dialog. */
export class NotesIo {
  private running = false;
  private exporting = false;

  constructor(private readonly dialog: HTMLElement) {
    dialog.addEventListener("click", (e) => {
      const action = (e.target as HTMLElement).dataset.action;
      if (action === "stop") {
        void stopTransfer();
        this.part(".stage").textContent = "Stopping after the current file…";
      }
      if (action === "close") this.close();
    });
    dialog.addEventListener("keydown", (e) => {
      if (e.key === "Escape" && !this.running) this.close();
    });
    void onTransferProgress((p) => {
      if (!this.running) return;
      this.dialog.hidden = false;
      this.part(".stage").textContent = progressText(p, this.exporting);
      const bar = this.part<HTMLProgressElement>("progress");
      bar.max = Math.max(p.total, 1);
      bar.value = p.done;
    });
  }

  /** Imports a folder of Markdown files or a Joplin/Evernote export the user picks. */
  async import(from: "folder" | "file"): Promise<void> {
    await this.run("Importing notes", false, async () => {
      const r = await importNotes(from);
      return r && { ...importSummary(r), stopped: r.cancelled };
    });
  }

  /** Exports every note, or one notebook's, into a folder the user picks. */
  async export(notebook: string | null = null): Promise<void> {
    await this.run("Exporting notes", true, async () => {
      const r = await exportNotes(notebook);
      return r && { ...exportSummary(r), stopped: r.cancelled };
    });
  }

  get isRunning(): boolean {
    return this.running;
  }

  private async run(
    title: string,
    exporting: boolean,
    go: () => Promise<{
      lines: string[];
      lists: [string, FileProblem[]][];
      stopped: boolean;
    } | null>,
  ): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.exporting = exporting;
    this.part("h2").textContent = title;
    this.part(".stage").textContent = "Starting…";
    this.part(".stage").hidden = false;
    this.part(".report").replaceChildren();
    this.part(".report").hidden = true;
    this.part("progress").hidden = false;
    this.part("[data-action=stop]").hidden = false;
    this.part("[data-action=close]").hidden = true;
    try {
      const summary = await go();
      this.running = false;
      if (!summary) return; // The chooser was cancelled: nothing happened.
      const what = exporting ? "Export" : "Import";
      const how = summary.stopped ? "stopped" : "finished";
      this.showReport(`${what} ${how}`, summary.lines, summary.lists);
    } catch (e) {
      this.running = false;
      const message = e instanceof AppError ? e.message : String(e);
      const what = exporting ? "export" : "import";
      this.showReport(`Could not ${what}`, [message], []);
    }
  }

  private showReport(title: string, lines: string[], lists: [string, FileProblem[]][]): void {
    this.part("h2").textContent = title;
    const report = this.part(".report");
    report.replaceChildren(...lines.map((l) => el("p", "", l)));
    for (const [heading, items] of lists) {
      const details = el("details");
      details.open = lists.length === 1 || items.length <= 5;
      details.append(el("summary", "", heading));
      const ul = el("ul");
      for (const p of items) {
        const li = el("li");
        li.append(el("strong", "", p.path), `: ${p.problem}`);
        ul.append(li);
      }
      details.append(ul);
      report.append(details);
    }
    report.hidden = false;
    this.part(".stage").hidden = true;
    this.part("progress").hidden = true;
    this.part("[data-action=stop]").hidden = true;
    const close = this.part<HTMLButtonElement>("[data-action=close]");
    close.hidden = false;
    this.dialog.hidden = false;
    close.focus();
  }

  private close(): void {
    this.dialog.hidden = true;
  }

  private part<T extends HTMLElement = HTMLElement>(selector: string): T {
    return this.dialog.querySelector(selector) as T;
  }
}
