import { describe, expect, it } from "vitest";
import type { ImportReport } from "./bindings/ImportReport";
import { exportSummary, importSummary, progressText } from "./notesio";

const report = (over: Partial<ImportReport>): ImportReport => ({
  notebook: "My Vault",
  notes: 0,
  notebooks: 0,
  attachments: 0,
  skipped: 0,
  already_here: 0,
  cancelled: false,
  problems: [],
  broken_links: [],
  ...over,
});

describe("the import and export dialog's words", () => {
  it.each([
    [
      { notes: 1234, notebooks: 3, attachments: 1 },
      "Imported 1,234 notes into the notebook “My Vault” (3 notebooks, 1 attachment).",
    ],
    [{ notes: 0, already_here: 5 }, "Nothing new: every note there is here already."],
    [
      { notes: 200, cancelled: true },
      "Stopped: 200 notes came in. Import the same again to bring in the rest.",
    ],
    [{ notes: 0, cancelled: true }, "Stopped: nothing was imported."],
  ])("an import report %o begins %s", (over, first) => {
    expect(importSummary(report(over)).lines[0]).toBe(first);
  });

  it("lists problems and links to nothing under their counts", () => {
    const s = importSummary(
      report({
        notes: 2,
        already_here: 1,
        problems: [{ path: "a.md", problem: "it is too large." }],
        broken_links: [
          { path: "b.md", problem: "x" },
          { path: "c.md", problem: "y" },
        ],
      }),
    );
    expect(s.lines[1]).toBe("1 note was here already and not imported again.");
    expect(s.lists.map(([h, items]) => [h, items.length])).toEqual([
      ["1 file had a problem", 1],
      ["2 links name nothing in what was imported (kept as written)", 2],
    ]);
  });

  it("says each stage with counts", () => {
    expect(progressText({ stage: "reading", done: 3200, total: 10000 }, false)).toBe(
      "Reading files: 3,200 of 10,000",
    );
    expect(progressText({ stage: "writing", done: 5, total: 9 }, false)).toBe(
      "Adding notes: 5 of 9",
    );
    expect(progressText({ stage: "reading_export", done: 421, total: 1000 }, false)).toBe(
      "Reading the export: 42%",
    );
    expect(progressText({ stage: "writing", done: 5, total: 9 }, true)).toBe(
      "Writing notes: 5 of 9",
    );
  });

  it("says where an export went", () => {
    const r = {
      folder: "/home/ann/notes",
      notes: 3,
      notebooks: 1,
      attachments: 2,
      problems: [],
      cancelled: false,
    };
    expect(exportSummary(r).lines).toEqual([
      "Exported 3 notes to /home/ann/notes (1 folder, 2 attachments).",
    ]);
  });
});
