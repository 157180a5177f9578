import { describe, expect, it } from "vitest";
import { markdownChunks, renderMarkdown, taskMarkers } from "./markdown";

describe("renderMarkdown", () => {
  it("renders markdown", () => {
    const html = renderMarkdown("# Title\n\n- **bold** item\n\n`code`");
    expect(html).toContain("<h1>Title</h1>");
    expect(html).toContain("<strong>bold</strong>");
    expect(html).toContain("<code>code</code>");
  });

  it("strips scripts, handlers and javascript: links from untrusted notes", () => {
    const html = renderMarkdown(
      '<script>alert(1)</script>\n\n<img src=x onerror="alert(2)">\n\n[x](javascript:alert(3))\n\n<iframe src="https://e.com"></iframe>',
    );
    expect(html).not.toMatch(/<script|onerror|javascript:|<iframe/i);
  });

  it("strips id and name, so a note cannot take the place of the app's own elements", () => {
    const html = renderMarkdown(
      '<div id="toast">Re-enter your passphrase</div>\n\n<a name="sync-panel" href="#x">x</a>\n\n<img name="setup" src="x.png">',
    );
    expect(html).toContain("Re-enter your passphrase");
    expect(html).not.toMatch(/\bid=|\bname=/);
  });
});

describe("task lists and line breaks", () => {
  it("renders task items as checkboxes and keeps no other input", () => {
    const html = renderMarkdown(
      '- [ ] open\n- [x] done\n\n<input type="text" value="passphrase"><input type="checkbox">',
    );
    expect(html.match(/<input[^>]*class="task"/g)?.length).toBe(2);
    expect(html).toMatch(/<input[^>]*checked/);
    expect(html).not.toMatch(/type="text"|value=/);
  });

  it("shows a line break where one was typed", () => {
    expect(renderMarkdown("first line\nsecond line")).toContain("first line<br>second line");
  });

  it("finds each task box in the text in rendering order, not those in code", () => {
    const text =
      "- [ ] a\n```\n- [ ] not a task\n```\n  - [x] nested\n1. [ ] numbered\n> - [ ] quoted";
    const at = taskMarkers(text);
    expect(at.map((i) => text[i])).toEqual([" ", "x", " ", " "]);
    const doc = document.createElement("div");
    doc.innerHTML = renderMarkdown(text);
    expect(doc.querySelectorAll("input.task").length).toBe(at.length);
  });
});

describe("markdownChunks", () => {
  /** A long note mixing what must not be cut: fences with blank lines, loose lists, quotes,
   * tables, ordered lists going on after a blank line, links by reference. */
  function longNote(blocks: number): string {
    const kinds = [
      (i: number) =>
        `## Part ${i}\n\nA paragraph with [a link][ref] and **bold** ${i}.\nA second line.`,
      (i: number) => `\`\`\`\nfenced ${i}\n\n## not a heading\n\n- nor a list\n\`\`\``,
      (i: number) => `- loose ${i}\n\n- still the same list\n\n  indented part of it`,
      (i: number) => `1. first ${i}\n\n2. second`,
      (i: number) => `> quoted ${i}\n>\n> more`,
      (i: number) => `| a | b |\n|---|---|\n| ${i} | x |`,
      (i: number) => `- [ ] task ${i}\n- [x] done`,
    ];
    const out = ["[ref]: https://example.com/ref"];
    for (let i = 0; i < blocks; i++)
      out.push((kinds[i % kinds.length] as (i: number) => string)(i));
    return out.join("\n\n");
  }

  it("leaves a short note whole", () => {
    expect(markdownChunks("# Hi\n\ntext")).toEqual(["# Hi\n\ntext"]);
  });

  it("renders piece by piece exactly as the whole note renders", () => {
    const text = longNote(2000);
    const pieces = markdownChunks(text, 2000, 8000);
    expect(pieces.length).toBeGreaterThan(5);
    expect(pieces.map(renderMarkdown).join("")).toBe(renderMarkdown(text));
    // Nothing lost or doubled but the repeated reference definition.
    const suffix = "\n\n[ref]: https://example.com/ref\n";
    const stripped = pieces.map((p) => (p.endsWith(suffix) ? p.slice(0, -suffix.length) : "!"));
    expect(stripped.join("")).toBe(text);
  });

  it("keeps a first piece near the size asked for, so the first screen renders at once", () => {
    const pieces = markdownChunks(longNote(5000), 16_000, 64_000);
    expect((pieces[0] as string).length).toBeLessThan(20_000);
    expect((pieces[1] as string).length).toBeGreaterThan(60_000);
  });
});
