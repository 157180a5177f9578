// "Check this folder" in plain words: what a check of a sync target found, as the sync panel
// shows it. The engine compares every change and attachment this device has with the target's
// copy (`resnotes verify` in the command line); this turns its counts into sentences. The
// findings themselves (with file paths) go under "Details".

import type { FindingKind } from "./bindings/FindingKind";
import type { Verification } from "./bindings/Verification";

function plural(n: number, one: string, many: string): string {
  return `${n.toLocaleString("en-US")} ${n === 1 ? one : many}`;
}

/** Each kind of problem as a person counts it. */
const KIND_WORDS: [FindingKind, string, string][] = [
  ["missing", "missing", "missing"],
  ["not_written", "not written there yet", "not written there yet"],
  ["cut_short", "cut short", "cut short"],
  ["different", "changed by something else", "changed by something else"],
  ["unreadable", "unreadable", "unreadable"],
  ["extra", "file that does not belong", "files that do not belong"],
];

/** The verdict of a check: one headline and the sentences under it. */
export interface CheckReport {
  ok: boolean;
  headline: string;
  lines: string[];
}

/** What a check found, for the sync panel. */
export function checkReport(v: Verification): CheckReport {
  const checked = `${plural(v.entries, "change", "changes")} and ${plural(v.attachments, "attachment", "attachments")} checked`;
  const lines: string[] = [];
  const ok = v.findings.length === 0;
  let headline: string;
  if (ok) {
    headline = `All there, intact: ${checked}.`;
  } else {
    const count = (k: FindingKind) => v.findings.filter((f) => f.kind === k).length;
    const parts = KIND_WORDS.filter(([k]) => count(k) > 0).map(([k, one, many]) =>
      plural(count(k), one, many),
    );
    const only = (kinds: FindingKind[]) => v.findings.every((f) => kinds.includes(f.kind));
    const start = only(["not_written"])
      ? "Not all written there yet"
      : only(["extra"])
        ? "All there, intact, beside other files"
        : "Not all there";
    headline = `${start}: ${parts.join(", ")} (${checked}).`;
    if (count("missing") + count("cut_short") + count("not_written") > 0)
      lines.push("The next sync writes back what is missing or cut short.");
    if (count("different") > 0)
      lines.push(
        "Files changed by something else are never overwritten: move them out of the folder (see Details), then check again and sync.",
      );
    if (count("extra") > 0)
      lines.push("Files that do not belong are never read; they can be removed (see Details).");
    if (count("unreadable") > 0) lines.push("Unreadable files are named under Details.");
  }
  if (v.not_pulled > 0)
    lines.push(
      `${plural(v.not_pulled, "change", "changes")} from other devices will arrive with the next sync.`,
    );
  if (v.after_removal > 0)
    lines.push(
      `${plural(v.after_removal, "change", "changes")} written by a removed device after its removal, or by one not let in yet: every device refuses them.`,
    );
  return { ok, headline, lines };
}

/** "Checking… 1,200 of 5,000". */
export function checkingText(done: number, total: number): string {
  return total > 0
    ? `Checking… ${done.toLocaleString("en-US")} of ${total.toLocaleString("en-US")}`
    : "Checking…";
}
