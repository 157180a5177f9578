import { describe, expect, it } from "vitest";
import { assetLinks } from "./chips";

const C = "0b0e9c7a-1f1e-4c3e-9a51-3c2f0d2e8a11";
const H = "a".repeat(64);

describe("attachment chips", () => {
  it("find attachment links, images and files, and leave other links alone", () => {
    const img = `![photo](asset:///${C}/1/my%20photo.png?size=2048&type=image%2Fpng&hash=${H})`;
    const pdf = `[report](asset:///${C}/2/report.pdf?size=1500000&type=application%2Fpdf&hash=${H})`;
    const text = `Intro ${img} and [a site](https://example.com)\n${pdf}\n[bad](asset:///nope)`;
    const found = assetLinks(text, 10);
    expect(found.map((l) => [l.image, l.name, l.size])).toEqual([
      [true, "my photo.png", 2048],
      [false, "report.pdf", 1500000],
    ]);
    const first = found[0];
    expect(first && text.slice(first.from - 10, first.to - 10)).toBe(img);
  });
});
