// Words and numbers for the UI: relative times, sync states, entry states. Pure functions.
import type { SnippetPart } from "./bindings/SnippetPart";
import type { Strength } from "./bindings/Strength";
import type { SyncStatus } from "./bindings/SyncStatus";
import type { Withheld } from "./bindings/Withheld";

/** "just now", "5 min ago", "3 h ago", "2 d ago", or a date. */
export function ago(ms: number | null, now: number): string {
  if (ms === null || ms <= 0) return "never";
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 10) return "just now";
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  if (s < 7 * 86400) return `${Math.floor(s / 86400)} d ago`;
  return new Date(ms).toISOString().slice(0, 10);
}

/** The status indicator's text. */
export function indicator(
  s: SyncStatus | null,
  pending: number,
  targets: number,
): { label: string; kind: string } {
  if (targets === 0) return { label: "Local only", kind: "local" };
  const count = (n: number) => n.toLocaleString("en-US");
  const p = pending > 0 ? ` · ${count(pending)} waiting` : "";
  switch (s?.state ?? "idle") {
    case "pulling":
      return {
        label:
          s && s.received > 0
            ? `Receiving… ${count(s.received)}${s.expected ? ` of ${count(s.expected)}` : ""} changes`
            : "Receiving…",
        kind: "syncing",
      };
    case "pushing":
      return {
        label: s && s.sent > 0 ? `Sending… ${count(s.sent)} changes` : "Sending…",
        kind: "syncing",
      };
    case "offline":
      return { label: `Offline${p}`, kind: "offline" };
    case "error":
      return { label: `Not synced${p}`, kind: "error" };
    default:
      return pending > 0
        ? { label: `${count(pending)} waiting to sync`, kind: "pending" }
        : { label: "Synced", kind: "synced" };
  }
}

/** "1.2 kB" and friends, in decimal units as the desktop's file managers count them
 * (1 kB = 1,000 bytes). */
export function size(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  if (bytes < 1000 * 1000) return `${(bytes / 1000).toFixed(1)} kB`;
  if (bytes < 1000 * 1000 * 1000) return `${(bytes / 1e6).toFixed(1)} MB`;
  return `${(bytes / 1e9).toFixed(1)} GB`;
}

/** Short form of a device id for lists. */
export function device(id: string): string {
  return id.slice(0, 8);
}

/** Which device did something, as a person reads it: this one, another by the name it gave
 * itself (`names`, by id), or by the start of its id while it has none. */
export function who(
  v: { this_device: boolean; device: string },
  names?: ReadonlyMap<string, string>,
): string {
  if (v.this_device) return "This device";
  return names?.get(v.device) ?? `Device ${device(v.device)}`;
}

/** Names in a sentence: "Laptop", "Laptop and Desktop", "Laptop, Desktop and Phone". */
export function andList(names: string[]): string {
  if (names.length <= 1) return names[0] ?? "";
  return `${names.slice(0, -1).join(", ")} and ${names[names.length - 1]}`;
}

/** A line of markdown as the list shows it, as plain text: attachment links become their file
 * name (`![a.png](asset:///…)` → `🖼 a.png`, `[a.pdf](asset:///…)` → `📎 a.pdf`), other links
 * and images their text, and heading, list, quote, task and emphasis marks go
 * (`# Heading` → `Heading`, `- [x] **done**` → `☑ done`). */
export function plainLine(line: string): string {
  return line
    .replace(
      // The closing ")" may be cut off: the engine keeps 200 characters of a first line.
      /(!?)\[([^\]]*)\]\(asset:\/\/\/[^)\s]*\)?/gi,
      (_m, bang: string, label: string) => `${bang ? "🖼" : "📎"} ${label}`,
    )
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replace(/^\s*(?:>\s*)*/, "")
    .replace(/^#{1,6}\s+/, "")
    .replace(/^(?:[-*+]|\d{1,9}[.)])\s+/, "")
    .replace(/^\[([ xX])\]\s+/, (_m, c: string) => (c === " " ? "☐ " : "☑ "))
    .replace(/(\*\*|__|~~)(?=\S)(.+?)(?<=\S)\1/g, "$2")
    .replace(/(^|[^\w*])([*_])(?=\S)(.+?)(?<=\S)\2(?!\w)/g, "$1$3")
    .replace(/`([^`]*)`/g, "$1")
    .trim();
}

/** A search snippet made readable as [`plainLine`] makes a first line: a link shows its label,
 * not where it points (a note's id or an attachment's address), an attachment its icon; the
 * matched parts stay marked (a match inside an address is dropped with it). */
export function plainSnippet(parts: SnippetPart[]): SnippetPart[] {
  const [open, close] = ["\uE000", "\uE001"];
  const marks = (s: string) => s.replace(/[^\uE000\uE001]/g, "");
  const text = parts.map((p) => (p.hit ? `${open}${p.text}${close}` : p.text)).join("");
  const plain = text
    .replace(/(!?)\[([^[\]]*)\]\(([^()\s]*)\)?/g, (_m, bang: string, label: string, to: string) => {
      const icon = to.replace(/[\uE000\uE001]/g, "").startsWith("asset:///")
        ? bang
          ? "🖼 "
          : "📎 "
        : "";
      return `${icon}${label}${marks(to)}`;
    })
    // A link cut at the snippet's start: `…the plan](note:…)`.
    .replace(
      /^([^[\]]*)\]\(([^()\s]*)\)?/,
      (_m, label: string, to: string) => `${label}${marks(to)}`,
    )
    // A link cut at its end: `see ![map…`.
    .replace(/!?\[([^[\]]*)$/, "$1");
  const out: SnippetPart[] = [];
  let hit = false;
  let run = "";
  const flush = () => {
    if (run) out.push({ text: run, hit });
    run = "";
  };
  for (const ch of plain) {
    if (ch === open || ch === close) {
      flush();
      hit = ch === open;
    } else run += ch;
  }
  flush();
  return out;
}

/** A snippet cut so that its first match shows in a narrow row: the text before it keeps its
 * last `before` characters or so (from a word's start), after an ellipsis. */
export function nearFirstMatch(parts: SnippetPart[], before = 16): SnippetPart[] {
  const first = parts.findIndex((p) => p.hit);
  if (first < 0) return parts;
  const lead = parts
    .slice(0, first)
    .map((p) => p.text)
    .join("");
  if ([...lead].length <= before + 1) return parts;
  const tail = [...lead].slice(-before).join("");
  // From the start of a word when there is one in the part kept.
  const space = tail.search(/\s\S/);
  const kept = space >= 0 ? tail.slice(space + 1) : tail;
  return [{ text: `…${kept.replace(/^…/, "")}`, hit: false }, ...parts.slice(first)];
}

/** The title a note is listed under. */
export function titleOf(title: string, firstLine: string): string {
  return title.trim() || plainLine(firstLine).trim() || "Untitled";
}

/** "3 changes waiting to sync", "Everything synced", or for no targets "Only on this device". */
export function waiting(pending: number, targets: number): string {
  if (targets === 0) return "Only on this device";
  if (pending === 0) return "Everything synced";
  return `${pending} change${pending === 1 ? "" : "s"} waiting to sync`;
}

/** A message as a sentence: a capital first letter and a full stop. */
/** How strong a passphrase being chosen looks, in one line. */
export function strengthText(s: Strength): string {
  return `Strength: ${s.label} (~${s.bits} bits)${s.advice ? ` — ${s.advice}` : ""}`;
}

export function sentence(text: string): string {
  const t = text.trim();
  if (!t) return t;
  // An address that opens the sentence keeps its case ("s3://…", "https://…").
  const first = /^[a-z][a-z0-9+.-]*:\/\//.test(t) ? t : t.charAt(0).toUpperCase() + t.slice(1);
  return /[.!?…)]$/.test(first) ? first : `${first}.`;
}

/** How a sync target is named to a person: "Dropbox/notes folder", "WebDAV on dav.example.com",
 * "S3 bucket notes/family on garage.example.org". */
export function placeName(kind: string, location: string): string {
  if (kind === "s3") {
    try {
      const u = new URL(location);
      const folder = decodeURIComponent(u.pathname).replace(/^\/+|\/+$/g, "");
      const endpoint = u.searchParams.get("endpoint");
      const on = endpoint ? new URL(endpoint).host : `AWS ${u.searchParams.get("region") ?? ""}`;
      return `S3 bucket ${u.host}${folder ? `/${folder}` : ""} on ${on.trim()}`;
    } catch {
      return location;
    }
  }
  if (kind === "webdav") {
    try {
      return `WebDAV on ${new URL(location).host}`;
    } catch {
      return location;
    }
  }
  const parts = location.split(/[\\/]/).filter(Boolean);
  return `${parts.slice(-2).join("/") || location} folder`;
}

/** Changes another device had that have not reached this one (the engine says so after an
 * hour), in words: who wrote them, who had them and when, and what may be the cause. */
export function withheldSentence(w: Withheld, label: (id: string) => string, now: number): string {
  const one = w.count === 1;
  const writer = label(w.device);
  const them = one ? "it" : "them";
  const seen = ago(w.seen_at, now);
  const when = seen.includes("ago") ? seen : `on ${seen}`;
  return `${one ? "1 change" : `${w.count} changes`} written by ${writer} ${one ? "has" : "have"} not reached this device, though ${label(w.seen_by)} had ${them} ${when}. A folder or server may be holding ${them} back, or ${writer} has not synced with one this device uses.`;
}
