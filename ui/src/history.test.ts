import { describe, expect, it } from "vitest";
import { who } from "./format";
import { when } from "./history";

describe("when a version was made", () => {
  // 2026-12-04 15:00 local time.
  const now = new Date(2026, 11, 4, 15, 0).getTime();
  it("says today and yesterday in words, other days by date, and the year only when not this one", () => {
    const cases: [number | null, string][] = [
      [new Date(2026, 11, 4, 9, 5).getTime(), "Today 09:05"],
      [new Date(2026, 11, 3, 23, 59).getTime(), "Yesterday 23:59"],
      [new Date(2026, 10, 28, 7, 0).getTime(), "28 Nov 07:00"],
      [new Date(2025, 0, 2, 18, 30).getTime(), "2 Jan 2025 18:30"],
      [null, "Time unknown"],
    ];
    for (const [ms, want] of cases) expect(when(ms, now)).toBe(want);
  });
  it("knows yesterday across a month's end", () => {
    const first = new Date(2026, 11, 1, 8, 0).getTime();
    expect(when(new Date(2026, 10, 30, 22, 0).getTime(), first)).toBe("Yesterday 22:00");
  });
});

describe("which device made a version", () => {
  it("is this device, or another by the start of its id", () => {
    expect(who({ this_device: true, device: "5fcff090-2c0c" })).toBe("This device");
    expect(who({ this_device: false, device: "5fcff090-2c0c" })).toBe("Device 5fcff090");
  });
  it("is another by the name it gave itself once it has one", () => {
    const names = new Map([["5fcff090-2c0c", "Laptop"]]);
    expect(who({ this_device: false, device: "5fcff090-2c0c" }, names)).toBe("Laptop");
    expect(who({ this_device: false, device: "aaaabbbb-2c0c" }, names)).toBe("Device aaaabbbb");
    expect(who({ this_device: true, device: "5fcff090-2c0c" }, names)).toBe("This device");
  });
});
