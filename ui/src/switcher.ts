// The quick switcher (Ctrl+P or Ctrl+O): type a few letters of a title, Up/Down, Enter. Titles
// are matched as a subsequence, best first ([`fuzzyScore`]), over every note, not only the
// ones the list shows.
import { el } from "./dom";
import { plainLine, titleOf } from "./format";
import { listNotes, type NoteSummary } from "./ipc";

/** How well `query` matches `text` as a subsequence (case-insensitive), or null when it does
 * not: consecutive letters and word starts score higher, earlier matches a little higher. */
export function fuzzyScore(query: string, text: string): number | null {
  const q = query.toLowerCase().replace(/\s+/g, "");
  if (!q) return 0;
  const t = text.toLowerCase();
  // Greedy from each place the first letter occurs; the best of those.
  let best: number | null = null;
  for (let from = t.indexOf(q.charAt(0)); from >= 0; from = t.indexOf(q.charAt(0), from + 1)) {
    const s = scoreFrom(q, t, from);
    if (s !== null && (best === null || s > best)) best = s;
  }
  return best;
}

function scoreFrom(q: string, t: string, from: number): number | null {
  let score = 0;
  let at = from - 1;
  let run = 0;
  for (const ch of q) {
    const next = t.indexOf(ch, at + 1);
    if (next < 0) return null;
    run = next === at + 1 ? run + 1 : 0;
    const wordStart = next === 0 || /[\s\-_/.([]/.test(t.charAt(next - 1));
    score += 1 + run * 2 + (wordStart ? 3 : 0) - Math.min(next, 50) * 0.01;
    at = next;
  }
  return score;
}

/** The notes matching `query`, best first (ties: newest edit first), at most `limit`. */
export function rank(notes: NoteSummary[], query: string, limit = 50): NoteSummary[] {
  const scored: { n: NoteSummary; s: number }[] = [];
  for (const n of notes) {
    const s = fuzzyScore(query, titleOf(n.title, n.first_line));
    if (s !== null) scored.push({ n, s });
  }
  scored.sort((a, b) => b.s - a.s || b.n.updated_at - a.n.updated_at);
  return scored.slice(0, limit).map((x) => x.n);
}

export class Switcher {
  private notes: NoteSummary[] = [];
  private shown: NoteSummary[] = [];
  private at = 0;
  private readonly input: HTMLInputElement;
  private readonly list: HTMLUListElement;

  constructor(
    private readonly root: HTMLElement,
    private readonly open: (id: string) => void,
    private readonly onError: (message: string) => void,
  ) {
    this.input = root.querySelector("input") as HTMLInputElement;
    this.list = root.querySelector("ul") as HTMLUListElement;
    this.input.addEventListener("input", () => this.paint());
    this.input.addEventListener("keydown", (e) => {
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        e.preventDefault();
        const n = this.shown.length;
        if (n) this.at = (this.at + (e.key === "ArrowDown" ? 1 : n - 1)) % n;
        this.highlight();
      } else if (e.key === "Enter") {
        e.preventDefault();
        this.choose(this.shown[this.at]);
      } else if (e.key === "Escape") {
        e.preventDefault();
        this.close();
      }
    });
    this.list.addEventListener("click", (e) => {
      const li = (e.target as HTMLElement).closest("li[data-index]") as HTMLElement | null;
      if (li) this.choose(this.shown[Number(li.dataset.index)]);
    });
    root.addEventListener("click", (e) => {
      if (e.target === root) this.close();
    });
  }

  async show(): Promise<void> {
    try {
      this.notes = await listNotes("", 100_000);
    } catch (e) {
      this.onError(e instanceof Error ? e.message : String(e));
      return;
    }
    this.input.value = "";
    this.root.hidden = false;
    this.paint();
    this.input.focus();
  }

  close(): void {
    this.root.hidden = true;
  }

  private choose(n: NoteSummary | undefined): void {
    if (!n) return;
    this.close();
    this.open(n.id);
  }

  private paint(): void {
    this.shown = rank(this.notes, this.input.value);
    this.at = 0;
    const rows = this.shown.map((n, i) => {
      const li = el("li");
      li.dataset.index = String(i);
      li.append(
        el("span", "title", titleOf(n.title, n.first_line)),
        el("span", "line", n.title.trim() ? plainLine(n.first_line) : ""),
      );
      return li;
    });
    if (rows.length === 0) rows.push(el("li", "muted", "No note has those letters in its title."));
    this.list.replaceChildren(...rows);
    this.highlight();
  }

  private highlight(): void {
    for (const li of this.list.querySelectorAll<HTMLElement>("li[data-index]"))
      li.classList.toggle("selected", Number(li.dataset.index) === this.at);
    this.list.querySelector(".selected")?.scrollIntoView({ block: "nearest" });
  }
}
