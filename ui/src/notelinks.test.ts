import { describe, expect, it } from "vitest";
import { linkMarkdown, noteLinks } from "./notelinks";

const A = "0d7e3c2b-1a09-4f8e-9d6c-5b4a39281706";
const B = "9C8B7A69-5847-4362-A514-0F1E2D3C4B5A";

describe("links between notes", () => {
  it("are found with their positions and ids, other links are not", () => {
    const text = `See [Trip](note:${A}), [web](https://x.org) and [Old](note:${B}).`;
    const links = noteLinks(text, 10);
    expect(links.map((l) => [l.id, l.text])).toEqual([
      [A, "Trip"],
      [B.toLowerCase(), "Old"],
    ]);
    const first = links[0];
    expect(first && text.slice(first.from - 10, first.to - 10)).toBe(`[Trip](note:${A})`);
    expect(noteLinks("[x](note:1234)")).toEqual([]);
  });
  it("are written with the title, brackets and line breaks left out", () => {
    expect(linkMarkdown(A, "Plan [v2]\nfinal")).toBe(`[Plan  v2  final](note:${A})`);
    expect(linkMarkdown(A, "  ")).toBe(`[Untitled](note:${A})`);
  });
});
