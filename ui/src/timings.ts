// Input-to-paint timings, read by the app benchmark (`resnotes-bench app`) over WebDriver from
// `window.resnotesTimings`. Recording costs a timestamp and, per event, one animation frame; the
// frame watcher that finds main-thread stalls runs only while the benchmark asks for it.

/** Wall-clock milliseconds (comparable with the benchmark's own clock on the same machine). */
export const wallNow = (): number => performance.timeOrigin + performance.now();

/** Resolves just after the next frame has been painted (a frame, then a task after it). */
export function afterPaint(): Promise<number> {
  return new Promise((resolve) =>
    requestAnimationFrame(() => setTimeout(() => resolve(performance.now()), 0)),
  );
}

/** One typed key: when the page got it and when the text with it was on screen (wall ms). */
export interface KeyTiming {
  down: number;
  painted: number;
}

/** Bounded: a long session keeps the newest samples only. */
const KEEP = 5000;

export class Timings {
  /** Durations in ms by what was measured ("open", "preview"). */
  readonly spans: Record<string, number[]> = {};
  /** Typed keys in order, each with its paint time. */
  readonly keys: KeyTiming[] = [];
  /** Wall time at which the notes list was first painted with notes (or empty). */
  listPainted: number | null = null;
  /** Wall times of the steps of starting (the page's script running, the list asked for and
   * received), for finding where the start goes. */
  readonly startSteps: Record<string, number> = {};
  /** Longest gap between frames (ms) and how many gaps were over 100 ms while watching. */
  stall = { longest: 0, over100: 0 };
  private pendingKeys: number[] = [];
  private watching = false;

  /** Records that `name` took `ms`. */
  span(name: string, ms: number): void {
    const list = this.spans[name] ?? [];
    list.push(ms);
    if (list.length > KEEP) list.shift();
    this.spans[name] = list;
  }

  /** Records `name` taking from `start` (performance.now()) until the next paint. */
  spanToPaint(name: string, start: number): Promise<void> {
    return afterPaint().then((end) => this.span(name, end - start));
  }

  /** A key that will change the text arrived (wall time of the event). */
  keyDown(eventTimeStamp: number): void {
    this.pendingKeys.push(performance.timeOrigin + eventTimeStamp);
  }

  /** The text changed by typing: the keys waiting for it are painted at the next frame. */
  typed(): void {
    if (this.pendingKeys.length === 0) return;
    const keys = this.pendingKeys;
    this.pendingKeys = [];
    void afterPaint().then(() => {
      const painted = wallNow();
      for (const down of keys) this.keys.push({ down, painted });
      if (this.keys.length > KEEP) this.keys.splice(0, this.keys.length - KEEP);
    });
  }

  /** Records a step of starting at the wall time now. */
  startStep(name: string): void {
    this.startSteps[name] ??= wallNow();
  }

  /** The list shows its first rows (only the first call counts). */
  listShown(): void {
    if (this.listPainted !== null) return;
    requestAnimationFrame(() => this.startStep("listFrame"));
    void afterPaint().then(() => {
      this.listPainted ??= wallNow();
    });
  }

  /** Watches every frame until `stopStalls`: the longest gap is the longest the page could not
   * paint (or answer input). */
  watchStalls(): void {
    if (this.watching) return;
    this.watching = true;
    this.stall = { longest: 0, over100: 0 };
    let last = performance.now();
    const frame = (t: number) => {
      if (!this.watching) return;
      const gap = t - last;
      last = t;
      if (gap > this.stall.longest) this.stall.longest = gap;
      if (gap > 100) this.stall.over100++;
      requestAnimationFrame(frame);
    };
    requestAnimationFrame(frame);
  }

  stopStalls(): void {
    this.watching = false;
  }

  /** Forgets everything measured so far (between benchmark steps). */
  clear(): void {
    for (const k of Object.keys(this.spans)) delete this.spans[k];
    this.keys.length = 0;
    this.pendingKeys = [];
    this.stall = { longest: 0, over100: 0 };
  }
}
