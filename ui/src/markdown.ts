// Markdown preview. Notes come from other devices, so the rendered HTML is sanitized: no
// scripts, no event handlers, no remote loads (the CSP forbids them too).
import DOMPurify from "dompurify";
import { marked } from "marked";

/** Sanitized HTML for a markdown text. */
export function renderMarkdown(md: string): string {
  const html = marked.parse(md, { async: false, gfm: true, breaks: false }) as string;
  return DOMPurify.sanitize(html, {
    USE_PROFILES: { html: true },
    FORBID_TAGS: ["style", "form", "input", "button", "iframe", "object", "embed"],
    // id and name: a note's <div id="toast"> would win getElementById and could spoof the
    // app's own messages (DOM clobbering).
    FORBID_ATTR: ["style", "id", "name"],
    // DOMPurify's default list plus asset: (attachments, shown by attachments.ts).
    ALLOWED_URI_REGEXP: /^(?:(?:https?|mailto|tel|asset):|[^a-z]|[a-z+.-]+(?:[^a-z+.\-:]|$))/i,
  });
}
