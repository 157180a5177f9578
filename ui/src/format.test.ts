import { describe, expect, it } from "vitest";
import {
  ago,
  indicator,
  nearFirstMatch,
  placeName,
  plainLine,
  plainSnippet,
  sentence,
  size,
  titleOf,
  waiting,
  withheldSentence,
} from "./format";

describe("format", () => {
  it("relative times", () => {
    const now = 1_700_000_000_000;
    const cases: [number | null, string][] = [
      [null, "never"],
      [now - 3_000, "just now"],
      [now - 42_000, "42 s ago"],
      [now - 5 * 60_000, "5 min ago"],
      [now - 3 * 3_600_000, "3 h ago"],
      [now - 2 * 86_400_000, "2 d ago"],
      [now - 30 * 86_400_000, "2023-10-15"],
    ];
    for (const [t, want] of cases) expect(ago(t, now)).toBe(want);
  });

  it("status indicator", () => {
    const st = (
      state: "idle" | "pulling" | "pushing" | "offline" | "error",
      received = 0,
      sent = 0,
      expected: number | null = null,
    ) => ({ state, target: null, received, expected, sent, error: null, retry_in_ms: null });
    expect(indicator(st("idle"), 0, 0)).toEqual({ label: "Local only", kind: "local" });
    expect(indicator(st("idle"), 0, 1)).toEqual({ label: "Synced", kind: "synced" });
    expect(indicator(st("idle"), 3, 1)).toEqual({ label: "3 waiting to sync", kind: "pending" });
    expect(indicator(st("pulling", 1200), 0, 1).label).toBe("Receiving… 1,200 changes");
    expect(indicator(st("pulling", 1200, 0, 10000), 0, 1).label).toBe(
      "Receiving… 1,200 of 10,000 changes",
    );
    expect(indicator(st("pushing", 0, 4), 4, 1).label).toBe("Sending… 4 changes");
    expect(indicator(st("offline"), 2, 1)).toEqual({
      label: "Offline · 2 waiting",
      kind: "offline",
    });
    expect(indicator(st("error"), 0, 1).kind).toBe("error");
    expect(indicator(null, 0, 1).label).toBe("Synced");
  });

  it("sizes and titles", () => {
    expect(size(512)).toBe("512 B");
    expect(size(2048)).toBe("2.0 kB");
    expect(size(3 * 1000 * 1000)).toBe("3.0 MB");
    expect(size(3 * 1024 * 1024)).toBe("3.1 MB");
    expect(titleOf("  ", "first line")).toBe("first line");
    expect(titleOf("", "")).toBe("Untitled");
  });
});

describe("list lines", () => {
  it("shows attachment links as their names", () => {
    const u = "asset:///3f2a1c4e-9b8d-4e7f-a6b5-c4d3e2f1a0b9/1/a%20b.png?size=1&hash=00";
    expect(plainLine(`![a b.png](${u}) and [r.pdf](${u})`)).toBe("🖼 a b.png and 📎 r.pdf");
    expect(plainLine("[site](https://example.com)")).toBe("site");
    expect(plainLine("# Heading one")).toBe("Heading one");
    expect(plainLine(`![long.png](${u}`)).toBe("🖼 long.png");
    expect(plainLine("- [x] **done** and *this* and `code`")).toBe("☑ done and this and code");
    expect(plainLine("> 1. [ ] ~~old~~ snake_case_name")).toBe("☐ old snake_case_name");
    expect(plainLine("2 * 3 * 4")).toBe("2 * 3 * 4");
    expect(titleOf("", `![scan.jpg](${u})`)).toBe("🖼 scan.jpg");
  });
});

describe("plain words", () => {
  it("says what waits, in sentences, naming places as people do", () => {
    expect(waiting(0, 0)).toBe("Only on this device");
    expect(waiting(0, 2)).toBe("Everything synced");
    expect(waiting(1, 1)).toBe("1 change waiting to sync");
    expect(waiting(550, 1)).toBe("550 changes waiting to sync");
    expect(sentence("entry 3 could not be read")).toBe("Entry 3 could not be read.");
    expect(sentence("Done.")).toBe("Done.");
    expect(sentence("s3://notes/ is not reachable")).toBe("s3://notes/ is not reachable.");
    expect(placeName("folder", "/home/ann/Dropbox/notes")).toBe("Dropbox/notes folder");
    expect(placeName("webdav", "https://dav.example.com/remote.php/notes/")).toBe(
      "WebDAV on dav.example.com",
    );
    expect(placeName("s3", "s3://notes/family/?endpoint=http://127.0.0.1:3900&region=garage")).toBe(
      "S3 bucket notes/family on 127.0.0.1:3900",
    );
    expect(placeName("s3", "s3://my-notes/?region=eu-central-1")).toBe(
      "S3 bucket my-notes on AWS eu-central-1",
    );
  });
});

describe("nearFirstMatch", () => {
  const plain = (text: string) => ({ text, hit: false });
  const hit = (text: string) => ({ text, hit: true });
  it("cuts a long lead to the words just before the first match", () => {
    expect(
      nearFirstMatch([
        plain("first line second line the needle is "),
        hit("on line three"),
        plain(", café"),
      ]),
    ).toEqual([plain("…the needle is "), hit("on line three"), plain(", café")]);
  });
  it("keeps a short lead, a match at the start, and no match at all", () => {
    const short = [plain("see the "), hit("plan"), plain(" now")];
    expect(nearFirstMatch(short)).toEqual(short);
    const first = [hit("Plan"), plain(" for a long long long long long time")];
    expect(nearFirstMatch(first)).toEqual(first);
    const none = [plain("a title match shows the start of the body, however long it is")];
    expect(nearFirstMatch(none)).toEqual(none);
  });
  it("cuts inside a word when the lead is one long word", () => {
    expect(nearFirstMatch([plain("…xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx "), hit("word")])).toEqual([
      plain("…xxxxxxxxxxxxxxx "),
      hit("word"),
    ]);
  });
});

describe("plainSnippet", () => {
  const id = "deac0a4e-1b2c-4d5e-8f90-a1b2c3d4e5f6";
  const hit = (text: string) => ({ text, hit: true });
  const plain = (text: string) => ({ text, hit: false });
  it("shows a link's label, not the note's id, and keeps the match marked", () => {
    expect(
      plainSnippet([plain("Plant [the "), hit("Lisbon"), plain(` trip](note:${id}) soon`)]),
    ).toEqual([plain("Plant the "), hit("Lisbon"), plain(" trip soon")]);
  });
  it("drops an address cut short at either end, and a match inside it", () => {
    expect(plainSnippet([plain(`…bon trip](note:${id}) and [map](note:de`)])).toEqual([
      plain("…bon trip and map"),
    ]);
    expect(plainSnippet([plain("Plant it. ![ma…")])).toEqual([plain("Plant it. ma…")]);
    expect(plainSnippet([plain("see [x](note:"), hit("deac0a"), plain("…)")])).toEqual([
      plain("see x"),
    ]);
  });
  it("gives attachments their icon", () => {
    const u = "asset:///c/0/a.png?size=1&hash=00";
    expect(plainSnippet([plain(`![`), hit("photo"), plain(`](${u}) and [r.pdf](${u})`)])).toEqual([
      plain("🖼 "),
      hit("photo"),
      plain(" and 📎 r.pdf"),
    ]);
  });
  it("leaves text without links as it is", () => {
    const parts = [plain("a [b] c "), hit("d")];
    expect(plainSnippet(parts)).toEqual(parts);
  });
  it("changes another device had that a folder holds back", () => {
    const now = 1_700_000_000_000;
    const names = new Map([
      ["aaaa", "Laptop"],
      ["bbbb", "Phone"],
    ]);
    const label = (id: string) => names.get(id) ?? `Device ${id.slice(0, 8)}`;
    const w = {
      device: "aaaa",
      device_name: null,
      count: 1,
      seen_by: "bbbb",
      seen_by_name: "Phone",
      seen_at: now - 3 * 3600_000,
      since: now - 2 * 3600_000,
      message: "",
    };
    expect(withheldSentence(w, label, now)).toBe(
      "1 change written by Laptop has not reached this device, though Phone had it 3 h ago. A folder or server may be holding it back, or Laptop has not synced with one this device uses.",
    );
    const old = { ...w, device: "cccc1234ffff", count: 12, seen_at: now - 30 * 86400_000 };
    expect(withheldSentence(old, label, now)).toBe(
      "12 changes written by Device cccc1234 have not reached this device, though Phone had them on 2023-10-15. A folder or server may be holding them back, or Device cccc1234 has not synced with one this device uses.",
    );
  });
});
