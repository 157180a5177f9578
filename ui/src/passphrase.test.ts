import { describe, expect, it } from "vitest";
import { changedText, letInText, mismatch, removedText } from "./passphrase";

describe("the passphrase form", () => {
  it("asks for the passphrase twice, the same both times", () => {
    expect(mismatch("", "")).toBe("Type the new passphrase.");
    expect(mismatch("correct horse", "correct hose")).toContain("not the same");
    expect(mismatch("correct horse", "correct horse")).toBeNull();
  });

  it("says what a change did, naming the devices left without the new key", () => {
    expect(changedText([])).toContain("A new device joins with the new passphrase.");
    expect(changedText([])).not.toContain("older Resilient Notes");
    const left = changedText(["Old phone", "Tablet"]);
    expect(left).toContain("Old phone, Tablet");
    expect(left).toContain("type the new passphrase there");
  });

  it("says what a removal did and does not do, naming the devices left without the new key", () => {
    const done = removedText("Old phone", []);
    expect(done).toMatch(/^Old phone was removed\./);
    expect(done).toContain("keeps the notes it already had");
    expect(done).toContain("change the passphrase too");
    expect(done).not.toContain("older Resilient Notes");
    expect(removedText("Old phone", ["Tablet"])).toContain("older Resilient Notes: Tablet.");
  });

  it("says what letting a device in did", () => {
    expect(letInText("Device 3f2a1c4e")).toMatch(/^Device 3f2a1c4e was let in: its changes reach/);
  });
});
