import { describe, expect, it } from "vitest";
import { MERGED_SENTENCE, MergeMark, mergedSentence } from "./mergemark";

function setUp() {
  document.body.innerHTML = `<p id="merged" hidden><span id="t"></span><button id="merged-dismiss"></button></p>`;
  const seen: string[] = [];
  let cleared = 0;
  const mark = new MergeMark(
    document.getElementById("merged") as HTMLElement,
    document.getElementById("t") as HTMLElement,
    async (id) => seen.push(id),
    () => cleared++,
    () => {},
  );
  const line = document.getElementById("merged") as HTMLElement;
  const settle = async () => {
    for (let i = 0; i < 3; i++) await Promise.resolve();
  };
  return { mark, line, seen, cleared: () => cleared, settle };
}

describe("the merge mark", () => {
  it("shows for a marked note and is cleared only when the user leaves it", async () => {
    const { mark, line, seen, cleared, settle } = setUp();
    mark.show("a", false);
    expect(line.hidden).toBe(true);
    mark.show("a", true);
    expect(line.hidden).toBe(false);
    expect(line.textContent).toBe(MERGED_SENTENCE);
    // Shown (at start, or while the window was in the background) is not seen yet.
    await settle();
    expect(seen).toEqual([]);
    // The list comes back still marked, or not: the line stays for the open note.
    mark.show("a", false);
    expect(line.hidden).toBe(false);
    mark.show("b", false);
    expect(line.hidden).toBe(true);
    await settle();
    expect(seen).toEqual(["a"]);
    expect(cleared()).toBe(1);
    // A note without a line is not cleared when left.
    mark.show("c", false);
    await settle();
    expect(seen).toEqual(["a"]);
  });

  it("is cleared with its button", async () => {
    const { mark, line, seen, settle } = setUp();
    mark.show("a", true);
    (document.getElementById("merged-dismiss") as HTMLElement).click();
    expect(line.hidden).toBe(true);
    await settle();
    expect(seen).toEqual(["a"]);
    mark.show("b", false);
    await settle();
    expect(seen).toEqual(["a"]);
  });

  it("speaks without ids", () => {
    expect(MERGED_SENTENCE).not.toMatch(/[0-9a-f]{8}/);
  });
  it("names the devices whose edits met", () => {
    expect(mergedSentence(["Laptop"])).toBe(
      "Edited here and on Laptop at the same time, in the same words: both are kept, so read it over.",
    );
    expect(mergedSentence(["Laptop", "Desktop", "another device"])).toMatch(
      /^Edited here and on Laptop, Desktop and another device at the same time/,
    );
    expect(mergedSentence(["Laptop", "Desktop"], false)).toMatch(
      /^Edited on Laptop and Desktop at the same time/,
    );
    expect(MERGED_SENTENCE).toMatch(/^Edited here and on another device at the same time/);
  });
  it("shows the sentence it is given", () => {
    const { mark, line } = setUp();
    mark.show("a", true, mergedSentence(["Phone"]));
    expect(line.textContent).toContain("here and on Phone");
  });
});
