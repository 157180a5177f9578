// Markdown preview. Notes come from other devices, so the rendered HTML is sanitized: no
// scripts, no event handlers, no remote loads (the CSP forbids them too).
//
// GitHub-flavoured markdown, with one choice made for people who type notes: a line break in
// the text is a line break in the preview (`breaks: true`, as Obsidian and Joplin show it), not
// a space inside one paragraph. Task lists render as checkboxes; clicking one toggles its
// `[ ]`/`[x]` in the text ([`taskMarkers`] finds them).
import DOMPurify from "dompurify";
import { Marked } from "marked";

const md = new Marked({
  gfm: true,
  breaks: true,
  renderer: {
    checkbox({ checked }) {
      return `<input type="checkbox" class="task"${checked ? " checked" : ""}> `;
    },
  },
});

// The only <input> a note may render is a task checkbox (a form control of any other kind
// could spoof the app's own fields).
DOMPurify.addHook("uponSanitizeElement", (node, data) => {
  if (data.tagName !== "input") return;
  const el = node as Element;
  if (el.getAttribute("type") !== "checkbox" || el.getAttribute("class") !== "task") {
    el.parentNode?.removeChild(el);
  }
});

const SANITIZE = {
  USE_PROFILES: { html: true },
  FORBID_TAGS: ["style", "form", "button", "iframe", "object", "embed", "select", "textarea"],
  // id and name: a note's <div id="toast"> would win getElementById and could spoof the
  // app's own messages (DOM clobbering).
  FORBID_ATTR: ["style", "id", "name", "value", "form", "formaction"],
  // DOMPurify's default list plus asset: (attachments, shown by attachments.ts) and note:
  // (links between notes, opened by main.ts).
  ALLOWED_URI_REGEXP: /^(?:(?:https?|mailto|tel|asset|note):|[^a-z]|[a-z+.-]+(?:[^a-z+.\-:]|$))/i,
};

/** Sanitized HTML for a markdown text. */
export function renderMarkdown(text: string): string {
  const html = md.parse(text, { async: false }) as string;
  return DOMPurify.sanitize(html, SANITIZE);
}

/** The same, as nodes to insert (the HTML is not serialized and parsed again). */
export function renderFragment(text: string): DocumentFragment {
  const html = md.parse(text, { async: false }) as string;
  return DOMPurify.sanitize(html, { ...SANITIZE, RETURN_DOM_FRAGMENT: true });
}

/** A line after a blank line that always begins a new top-level block: not indented, not a
 * list item (a list may go on after a blank line) and not a table row. */
const BLOCK_START = /^(?![ \t]|[-*+][ \t]|\d{1,9}[.)][ \t]|\|)\S/;
/** A link reference definition (`[name]: url`), which applies to the whole text. */
const REF_DEF = /^ {0,3}\[[^\]\n]+\]:[ \t]*\S.*$/gm;

/**
 * Cuts a long text into pieces that render, one after another, exactly as the whole would:
 * each cut is at a blank line outside fenced code, before a line that starts a new top-level
 * block ([`BLOCK_START`]). The first piece is about `first` characters (the first screen, shown
 * at once), the others about `rest`. Link reference definitions are repeated into every piece
 * so links by reference still resolve. A text without such a place stays one piece.
 */
export function markdownChunks(text: string, first = 16_000, rest = 32_000): string[] {
  if (text.length <= first) return [text];
  const pieces: string[] = [];
  let fence: string | null = null;
  let start = 0;
  let offset = 0;
  let blank = false;
  let want = first;
  for (const line of text.split("\n")) {
    if (fence === null && blank && offset - start >= want && BLOCK_START.test(line)) {
      pieces.push(text.slice(start, offset));
      start = offset;
      want = rest;
    }
    const f = /^ {0,3}(`{3,}|~{3,})/.exec(line);
    if (f) {
      const mark = f[1] as string;
      if (fence === null) fence = mark;
      else if (mark[0] === fence[0] && mark.length >= fence.length) fence = null;
    }
    blank = line.trim() === "";
    offset += line.length + 1;
  }
  pieces.push(text.slice(start));
  const defs = pieces.length > 1 ? (text.match(REF_DEF) ?? []) : [];
  return defs.length ? pieces.map((p) => `${p}\n\n${defs.join("\n")}\n`) : pieces;
}

/** Where each task list item's box is in the text, in document order (the order the preview
 * renders its checkboxes): the offset of the character between the brackets. Lines inside
 * fenced code blocks are skipped, as the renderer skips them. */
export function taskMarkers(text: string): number[] {
  const out: number[] = [];
  let fence: string | null = null;
  let offset = 0;
  for (const line of text.split("\n")) {
    const f = /^ {0,3}(`{3,}|~{3,})/.exec(line);
    if (f) {
      const mark = f[1] as string;
      if (fence === null) fence = mark;
      else if (mark[0] === fence[0] && mark.length >= fence.length) fence = null;
    } else if (fence === null) {
      const m = /^(\s*(?:>\s*)*(?:[-*+]|\d{1,9}[.)])\s+)\[([ xX])\](?=\s|$)/.exec(line);
      if (m) out.push(offset + (m[1] as string).length + 1);
    }
    offset += line.length + 1;
  }
  return out;
}
