import { describe, expect, it } from "vitest";
import type { NoteSummary } from "./ipc";
import { fuzzyScore, rank } from "./switcher";

const note = (id: string, title: string, updated_at = 1): NoteSummary => ({
  id,
  title,
  first_line: "",
  updated_at,
  created_at: updated_at,
  pinned: false,
  tags: [],
  snippet: [],
  notebook: null,
  merged: false,
});

describe("quick switcher", () => {
  it("matches letters in order, case-insensitively", () => {
    expect(fuzzyScore("gro", "Groceries")).not.toBeNull();
    expect(fuzzyScore("gcs", "Groceries")).not.toBeNull();
    expect(fuzzyScore("sg", "Groceries")).toBeNull();
    expect(fuzzyScore("", "anything")).toBe(0);
  });

  it("ranks word starts and runs first, then the newest", () => {
    const notes = [
      note("a", "Background reading"),
      note("b", "Groceries"),
      note("c", "A long grocery list", 5),
      note("d", "Trip"),
    ];
    expect(rank(notes, "gro").map((n) => n.id)).toEqual(["b", "c", "a"]);
    expect(rank(notes, "").map((n) => n.id)[0]).toBe("c");
  });
});
