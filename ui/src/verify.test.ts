import { describe, expect, it } from "vitest";
import type { Finding } from "./bindings/Finding";
import type { Verification } from "./bindings/Verification";
import { checkingText, checkReport } from "./verify";

function v(findings: Finding[], extra: Partial<Verification> = {}): Verification {
  return {
    target: "t",
    location: "/x",
    entries: 1200,
    entries_ok: 1200 - findings.length,
    attachments: 1,
    attachments_ok: 1,
    not_pulled: 0,
    after_removal: 0,
    other_attachments: 0,
    leftovers: [],
    findings,
    ...extra,
  };
}

const f = (kind: Finding["kind"]): Finding => ({ kind, path: "p", message: "m" });

describe("checkReport", () => {
  it("says a clean target holds everything, with counts", () => {
    expect(checkReport(v([]))).toEqual({
      ok: true,
      headline: "All there, intact: 1,200 changes and 1 attachment checked.",
      lines: [],
    });
  });

  it("counts each kind of problem and says what happens next", () => {
    const r = checkReport(
      v([f("missing"), f("cut_short"), f("different"), f("extra"), f("extra")]),
    );
    expect(r.ok).toBe(false);
    expect(r.headline).toBe(
      "Not all there: 1 missing, 1 cut short, 1 changed by something else, 2 files that do not belong (1,200 changes and 1 attachment checked).",
    );
    expect(r.lines).toEqual([
      "The next sync writes back what is missing or cut short.",
      "Files changed by something else are never overwritten: move them out of the folder (see Details), then check again and sync.",
      "Files that do not belong are never read; they can be removed (see Details).",
    ]);
  });

  it("says when only unwritten changes or foreign files were found", () => {
    expect(checkReport(v([f("not_written")])).headline).toBe(
      "Not all written there yet: 1 not written there yet (1,200 changes and 1 attachment checked).",
    );
    expect(checkReport(v([f("extra")])).headline).toBe(
      "All there, intact, beside other files: 1 file that does not belong (1,200 changes and 1 attachment checked).",
    );
  });

  it("mentions changes still to arrive without calling them a problem", () => {
    const r = checkReport(v([], { not_pulled: 3 }));
    expect(r.ok).toBe(true);
    expect(r.lines).toEqual(["3 changes from other devices will arrive with the next sync."]);
  });

  it("says what a removed device wrote after its removal is refused, not missing", () => {
    const r = checkReport(v([], { after_removal: 2 }));
    expect(r.ok).toBe(true);
    expect(r.lines).toEqual([
      "2 changes written by a removed device after its removal, or by one not let in yet: every device refuses them.",
    ]);
  });
});

describe("checkingText", () => {
  it("shows the count once the total is known", () => {
    expect(checkingText(0, 0)).toBe("Checking…");
    expect(checkingText(1200, 5000)).toBe("Checking… 1,200 of 5,000");
  });
});
