import { describe, expect, it } from "vitest";
import { renderMarkdown, taskMarkers } from "./markdown";

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
