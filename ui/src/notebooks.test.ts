import { describe, expect, it } from "vitest";
import type { Notebook } from "./ipc";
import { goes, notesCount, withInside } from "./notebooks";

const book = (id: string, parent: string | null, depth: number): Notebook => ({
  id,
  name: id,
  path: id,
  parent,
  depth,
  notes: 0,
});

describe("notebook tree", () => {
  it("finds a notebook and every notebook inside it, at any depth", () => {
    const tree = [
      book("work", null, 0),
      book("projects", "work", 1),
      book("q3", "projects", 2),
      book("home", null, 0),
      book("garden", "home", 1),
    ];
    expect([...withInside(tree, "work")].sort()).toEqual(["projects", "q3", "work"]);
    expect([...withInside(tree, "projects")].sort()).toEqual(["projects", "q3"]);
    expect([...withInside(tree, "garden")]).toEqual(["garden"]);
  });

  it("counts notes in words", () => {
    expect(notesCount(0)).toBe("0 notes");
    expect(notesCount(1)).toBe("1 note");
    expect(notesCount(2)).toBe("2 notes");
    expect(goes(1, "its")).toBe("its 1 note goes to the trash.");
    expect(goes(3, "their")).toBe("their 3 notes go to the trash.");
    expect(goes(0, "its")).toBe("it holds no notes.");
  });
});
