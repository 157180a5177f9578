// The mark on a note where edits made on two devices at the same time touched the same words
// (the engine finds them as it applies another device's changes): a line above the note says
// so, with the note's history one click away. Showing the line counts as seeing the note, so
// the mark is cleared then and the list's "merged edits" badge goes.

/** What the line above a merged note says. */
export const MERGED_SENTENCE =
  "Edited here and on another device at the same time, in the same words: both are kept, so read it over.";

export class MergeMark {
  private shownFor: string | null = null;

  constructor(
    private readonly line: HTMLElement,
    private readonly text: HTMLElement,
    /** Clears a note's mark in the engine (`seen_merge`). */
    private readonly seen: (id: string) => Promise<unknown>,
    /** Called once a mark is cleared (the list drops its badge). */
    private readonly onSeen: () => void,
    private readonly onError: (message: string) => void,
  ) {
    line.querySelector("#merged-dismiss")?.addEventListener("click", () => {
      line.hidden = true;
    });
  }

  /** Note `id` is shown (`null`: none); `marked` when its edits were merged. The line stays
   * up while the note is open, until dismissed; another note hides it. */
  show(id: string | null, marked: boolean): void {
    if (id !== this.shownFor) {
      this.line.hidden = true;
      this.shownFor = id;
    }
    if (!id || !marked) return;
    this.text.textContent = MERGED_SENTENCE;
    this.line.hidden = false;
    this.seen(id)
      .then(() => this.onSeen())
      .catch((e: unknown) => this.onError(e instanceof Error ? e.message : String(e)));
  }
}
