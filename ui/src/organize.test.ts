import { beforeEach, describe, expect, it } from "vitest";
import { savedSort, viewKey } from "./organize";

describe("sort order per view", () => {
  beforeEach(() => localStorage.clear());

  it("keys each notebook, tag and the trash apart", () => {
    expect(viewKey({ kind: "all" })).toBe("all");
    expect(viewKey({ kind: "notebook", id: "", name: "Inbox" })).toBe("nb:");
    expect(viewKey({ kind: "notebook", id: "abc", name: "Work" })).toBe("nb:abc");
    expect(viewKey({ kind: "tag", tag: "home" })).toBe("tag:home");
    expect(viewKey({ kind: "trash" })).toBe("trash");
  });

  it("reads a view's own order, else the one saved before orders were per view", () => {
    expect(savedSort("nb:abc")).toBe("edited");
    localStorage.setItem("list-sort", "created");
    expect(savedSort("nb:abc")).toBe("created");
    localStorage.setItem("list-sort:nb:abc", "title");
    expect(savedSort("nb:abc")).toBe("title");
    expect(savedSort("nb:other")).toBe("created");
    localStorage.setItem("list-sort:tag:x", "nonsense");
    expect(savedSort("tag:x")).toBe("edited");
  });
});
