import { describe, expect, it } from "vitest";
import type { NoteSummary } from "./ipc";
import { inTrash } from "./list";

const note = (title: string, first_line: string): NoteSummary => ({
  id: title,
  title,
  first_line,
  updated_at: 1,
  created_at: 1,
  pinned: false,
  tags: [],
  snippet: [],
  notebook: null,
});

describe("the trash's filter", () => {
  const trash = [note("Café plans", "book a table"), note("Old draft", "nothing here")];
  it("keeps notes with every typed word in the title or first line, accents and case ignored", () => {
    expect(inTrash(trash, "cafe").map((n) => n.id)).toEqual(["Café plans"]);
    expect(inTrash(trash, "TABLE book").map((n) => n.id)).toEqual(["Café plans"]);
    expect(inTrash(trash, "draft cafe")).toEqual([]);
    expect(inTrash(trash, "  ")).toEqual(trash);
  });
});
