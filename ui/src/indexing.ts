// Search indexing in the background: a device that has just joined lists its notes from
// summaries, and their whole text is indexed a batch at a time (on a connection of its own, so
// typing does not wait) while the sidebar says how far it has got.

import { indexForSearch, type SearchProgress } from "./ipc";

/** Notes indexed per call: a batch takes a few tens of milliseconds. */
const BATCH = 50;

export class SearchIndexing {
  private running = false;
  private again = false;

  constructor(
    private readonly status: HTMLElement,
    /** Called after each batch, so that search results fill in as notes are indexed. */
    private readonly onProgress: () => void,
    private readonly onError: (message: string) => void,
  ) {}

  /** Indexes until every note is; a call while it runs makes it look again when done. */
  async kick(): Promise<void> {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    try {
      do {
        this.again = false;
        let p: SearchProgress = await indexForSearch(BATCH);
        while (p.indexed < p.total) {
          this.show(p);
          this.onProgress();
          await new Promise((r) => setTimeout(r, 20));
          p = await indexForSearch(BATCH);
        }
        // (Even a batch that finished at once may have indexed what a search looks for.)
        this.hide();
        this.onProgress();
      } while (this.again);
    } catch (e) {
      this.hide();
      this.onError(e instanceof Error ? e.message : String(e));
    } finally {
      this.running = false;
    }
  }

  private hide(): void {
    this.status.hidden = true;
    this.status.textContent = "";
  }

  private show(p: SearchProgress): void {
    this.status.hidden = false;
    this.status.textContent = `Indexing ${p.indexed.toLocaleString("en")} of ${p.total.toLocaleString("en")} notes for search; notes not indexed yet are found by their first line.`;
  }
}
