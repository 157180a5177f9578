import { describe, expect, it } from "vitest";
import { MERGED_SENTENCE, MergeMark } from "./mergemark";

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
  return { mark, line, seen, cleared: () => cleared };
}

describe("the merge mark", () => {
  it("shows for a marked note, clears the mark, and stays until another note", async () => {
    const { mark, line, seen, cleared } = setUp();
    mark.show("a", false);
    expect(line.hidden).toBe(true);
    mark.show("a", true);
    expect(line.hidden).toBe(false);
    expect(line.textContent).toBe(MERGED_SENTENCE);
    await Promise.resolve();
    await Promise.resolve();
    expect(seen).toEqual(["a"]);
    expect(cleared()).toBe(1);
    // The list comes back without the mark: the line stays for the open note.
    mark.show("a", false);
    expect(line.hidden).toBe(false);
    mark.show("b", false);
    expect(line.hidden).toBe(true);
  });

  it("is dismissed with its button", () => {
    const { mark, line } = setUp();
    mark.show("a", true);
    (document.getElementById("merged-dismiss") as HTMLElement).click();
    expect(line.hidden).toBe(true);
  });

  it("speaks without ids", () => {
    expect(MERGED_SENTENCE).not.toMatch(/[0-9a-f]{8}/);
  });
});
