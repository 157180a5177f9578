import { describe, expect, it } from "vitest";
import { renderMarkdown } from "./markdown";

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
