import { describe, expect, it } from "vitest";
import { DEFAULTS, isDark, parsePreferences } from "./settings";

describe("preferences", () => {
  it("keep the defaults for anything missing, damaged or not understood", () => {
    expect(parsePreferences(null)).toEqual(DEFAULTS);
    expect(parsePreferences("{not json")).toEqual(DEFAULTS);
    expect(parsePreferences('"a string"')).toEqual(DEFAULTS);
    expect(parsePreferences('{"theme":"purple","size":99,"font":3,"spellcheck":"yes"}')).toEqual(
      DEFAULTS,
    );
    expect(parsePreferences('{"theme":"dark","size":18,"font":"mono","spellcheck":false}')).toEqual(
      { theme: "dark", size: 18, font: "mono", spellcheck: false },
    );
  });

  it("follow the system's theme only when asked to", () => {
    const p = (theme: "system" | "light" | "dark") => ({ ...DEFAULTS, theme });
    expect(isDark(p("system"), true)).toBe(true);
    expect(isDark(p("system"), false)).toBe(false);
    expect(isDark(p("light"), true)).toBe(false);
    expect(isDark(p("dark"), false)).toBe(true);
  });
});
