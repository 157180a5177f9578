// Keeping one text field of the open note in step with the engine while the user types.
//
// Local edits collect in `pending` (a CodeMirror ChangeSet). At most one request is in flight:
// it carries the pending edits as splices and answers with the text as the engine has it, which
// may include remote edits merged by Automerge. The difference between the text we sent and the
// answer is the remote part; it is mapped over whatever the user typed meanwhile and applied to
// the editor, so neither the remote edit nor the new keystrokes are lost. Pure: no DOM, no IPC.
import { ChangeSet, Text } from "@codemirror/state";
import diff from "fast-diff";
import type { TextSplice } from "./bindings/TextSplice";

/** A string as a CodeMirror document that keeps "\r" characters as they are. */
export function textOf(s: string): Text {
  return Text.of(s.split("\n"));
}

/** Changes turning `a` into `b` (UTF-16 positions), from a character diff. */
export function changesBetween(a: string, b: string): ChangeSet {
  const specs: { from: number; to?: number; insert?: string }[] = [];
  let pos = 0;
  for (const [op, chunk] of diff(a, b)) {
    if (op === diff.EQUAL) pos += chunk.length;
    else if (op === diff.DELETE) {
      specs.push({ from: pos, to: pos + chunk.length });
      pos += chunk.length;
    } else specs.push({ from: pos, insert: chunk });
  }
  return ChangeSet.of(specs, a.length, "\n");
}

/** Splices that apply `changes` one after another (from the end, so positions stay valid). */
export function splicesOf(changes: ChangeSet): TextSplice[] {
  const out: TextSplice[] = [];
  changes.iterChanges((fromA, toA, _fromB, _toB, inserted) => {
    out.push({ pos: fromA, delete: toA - fromA, insert: inserted.toString() });
  });
  return out.reverse();
}

/** Applies splices to a string the way the engine does (for tests and checks). */
export function applySplices(s: string, splices: TextSplice[]): string {
  for (const sp of splices) s = s.slice(0, sp.pos) + sp.insert + s.slice(sp.pos + sp.delete);
  return s;
}

/** What to send for a field: the splices of the edits made since the last request. */
export interface Outgoing {
  splices: TextSplice[];
}

/** One field's state between the editor and the engine. Texts are kept as CodeMirror `Text`
 * trees, so a request costs the size of its edits, not of the note (a 5 MB note is not copied
 * into a string on every keystroke). */
export class FieldSync {
  private base: Text;
  private pending: ChangeSet;
  private sent: Text | null = null;
  private inflight: ChangeSet | null = null;

  constructor(text: string) {
    this.base = textOf(text);
    this.pending = ChangeSet.empty(this.base.length);
  }

  /** The text the editor shows, as this object knows it. */
  get local(): string {
    return this.pending.apply(this.sent ?? this.base).toString();
  }

  /** Whether local edits wait to be sent. */
  get dirty(): boolean {
    return !this.pending.empty;
  }

  /** Whether a request is in flight. */
  get busy(): boolean {
    return this.sent !== null;
  }

  /** Records edits the user made (relative to the current local text). */
  edit(changes: ChangeSet): void {
    this.pending = this.pending.compose(changes);
  }

  /** Takes the pending edits for a request; null while another one is in flight. */
  take(): Outgoing | null {
    if (this.sent !== null) return null;
    const splices = splicesOf(this.pending);
    this.inflight = this.pending;
    this.sent = this.pending.apply(this.base);
    this.pending = ChangeSet.empty(this.sent.length);
    return { splices };
  }

  /**
   * The engine answered: with `server`, the text now (our edits plus remote ones), or with null
   * when nothing was merged (the text is what we sent). Returns the changes to apply to the
   * local text so it shows the remote edits on top of what was typed meanwhile.
   */
  acknowledge(server: string | null): ChangeSet {
    const sent = this.sent ?? this.base;
    if (server === null) {
      this.base = sent;
      this.sent = null;
      this.inflight = null;
      return ChangeSet.empty(this.pending.newLength);
    }
    const remote = changesBetween(sent.toString(), server);
    const forLocal = remote.map(this.pending);
    this.pending = this.pending.map(remote, true);
    this.base = textOf(server);
    this.sent = null;
    this.inflight = null;
    return forLocal;
  }

  /** The request failed: its edits go back in front of the pending ones, to be sent again. */
  fail(): void {
    if (this.inflight) this.pending = this.inflight.compose(this.pending);
    this.sent = null;
    this.inflight = null;
  }
}
