// The mark on a note where edits made on two devices at the same time touched the same words
// (the engine finds them as it applies another device's changes): a line above the note says
// so, with the note's history one click away. The mark is cleared when the user is done with
// it — "Got it", or leaving the note while the line was up — not merely because the note was
// shown (the newest note opens by itself at start, and a merge may land on the open note while
// the window is in the background).

import { andList } from "./format";

/** What the line above a merged note says, naming the devices whose edits met (`here`: this
 * device's among them). */
export function mergedSentence(others: string[], here = true): string {
  const on = others.length > 0 ? andList(others) : "another device";
  const where = here || others.length < 2 ? `here and on ${on}` : `on ${on}`;
  return `Edited ${where} at the same time, in the same words: both are kept, so read it over.`;
}

/** The line when the devices are not known by name. */
export const MERGED_SENTENCE = mergedSentence([]);

export class MergeMark {
  /** The note shown, and whether its line is up (its mark to be cleared when left). */
  private shownFor: string | null = null;
  private up = false;

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
      this.clear();
    });
  }

  /** Note `id` is shown (`null`: none); `marked` when its edits were merged, `sentence` what
   * the line says. The line stays up while the note is open, until dismissed; another note
   * hides it. */
  show(id: string | null, marked: boolean, sentence = MERGED_SENTENCE): void {
    if (id !== this.shownFor) {
      this.clear();
      this.line.hidden = true;
      this.shownFor = id;
    }
    if (!id || !marked) return;
    this.text.textContent = sentence;
    this.line.hidden = false;
    this.up = true;
  }

  /** Clears the mark of the note whose line was up. */
  private clear(): void {
    const id = this.shownFor;
    if (!this.up || !id) return;
    this.up = false;
    this.seen(id)
      .then(() => this.onSeen())
      .catch((e: unknown) => this.onError(e instanceof Error ? e.message : String(e)));
  }
}
