import type { ChangeSet } from "@codemirror/state";
import { describe, expect, it } from "vitest";
import { applySplices, changesBetween, FieldSync, type Outgoing, splicesOf, textOf } from "./merge";

const apply = (s: string, c: ChangeSet) => c.apply(textOf(s)).toString();

/** The pending edits; fails the test if `take()` refuses them (a request is in flight). */
function taken(f: FieldSync): Outgoing {
  const out = f.take();
  if (!out) throw new Error("take() refused: a request is in flight");
  return out;
}

describe("splices", () => {
  it("turn a change set into splices the engine applies in order", () => {
    const cases: [string, string][] = [
      ["", "hello"],
      ["hello world", "hello brave new world"],
      ["abc", ""],
      ["one two three", "ONE two THREE!"],
      ["line1\r\nline2", "line1\r\nline 2\nline3"],
      ["emoji 😀 here", "emoji 😀😀 there"],
    ];
    for (const [a, b] of cases) {
      const c = changesBetween(a, b);
      expect(apply(a, c)).toBe(b);
      expect(applySplices(a, splicesOf(c))).toBe(b);
    }
  });
});

describe("FieldSync", () => {
  it("sends local edits and takes a remote edit into the editor", () => {
    const f = new FieldSync("hello world");
    f.edit(changesBetween("hello world", "hello world!"));
    const out = taken(f);
    expect(applySplices("hello world", out.splices)).toBe("hello world!");
    // The engine merged a remote edit at the start.
    const toEditor = f.acknowledge("Oh, hello world!");
    expect(apply("hello world!", toEditor)).toBe("Oh, hello world!");
    expect(f.local).toBe("Oh, hello world!");
    expect(f.dirty).toBe(false);
  });

  it("keeps what the user typed while the request was in flight", () => {
    const f = new FieldSync("abc def");
    f.edit(changesBetween("abc def", "abc def ghi"));
    f.take();
    // The user keeps typing before the answer arrives.
    let editor = "abc def ghi";
    const typed = changesBetween(editor, "abc def ghi jkl");
    f.edit(typed);
    editor = apply(editor, typed);
    // Meanwhile another device changed the start.
    const toEditor = f.acknowledge("ABC def ghi");
    editor = apply(editor, toEditor);
    expect(editor).toBe("ABC def ghi jkl");
    expect(f.local).toBe(editor);
    // The next request sends only the new keystrokes, on top of the merged text.
    const next = taken(f);
    expect(applySplices("ABC def ghi", next.splices)).toBe("ABC def ghi jkl");
  });

  it("a failed request is sent again with the later edits", () => {
    const f = new FieldSync("x");
    f.edit(changesBetween("x", "xy"));
    f.take();
    f.edit(changesBetween("xy", "xyz"));
    f.fail();
    const out = taken(f);
    expect(applySplices("x", out.splices)).toBe("xyz");
    expect(f.acknowledge("xyz").empty).toBe(true);
  });

  it("refuses a second request while one is in flight", () => {
    const f = new FieldSync("");
    f.edit(changesBetween("", "a"));
    expect(f.take()).not.toBeNull();
    expect(f.busy).toBe(true);
    expect(f.take()).toBeNull();
  });

  it("converges under random interleavings of local typing and remote edits", () => {
    let seed = 7;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const words = ["a", "bb", "ccc", " ", "\n", "é", "😀"];
    const randomEdit = (s: string) => {
      const at = rnd(s.length + 1);
      const del = rnd(3) === 0 ? Math.min(rnd(4), s.length - at) : 0;
      let b = s.slice(0, at) + words[rnd(words.length)] + s.slice(at + del);
      // Never leave half of a surrogate pair.
      if (/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(b))
        b = `${s}z`;
      return b;
    };
    for (let round = 0; round < 200; round++) {
      let server = "start";
      let editor = server;
      const f = new FieldSync(server);
      const typedAll: string[] = [];
      // The text the request in flight produced, while no remote edit came after it: the
      // engine then answers "nothing merged" (null), as the real one does.
      let unmerged: string | null = null;
      for (let step = 0; step < 30; step++) {
        const r = rnd(4);
        if (r === 0) {
          const next = randomEdit(editor);
          f.edit(changesBetween(editor, next));
          editor = next;
        } else if (r === 1 && !f.busy) {
          const out = taken(f);
          server = applySplices(server, out.splices);
          unmerged = server;
        } else if (r === 2) {
          // A remote device appends a marker the engine merges in.
          const marker = `<${step}>`;
          typedAll.push(marker);
          server = server + marker;
          unmerged = null;
        } else if (f.busy) {
          editor = apply(editor, f.acknowledge(unmerged === server && step % 2 ? null : server));
          expect(f.local).toBe(editor);
        }
      }
      if (f.busy) editor = apply(editor, f.acknowledge(server));
      const out = taken(f);
      server = applySplices(server, out.splices);
      editor = apply(editor, f.acknowledge(server));
      expect(editor).toBe(server);
      for (const m of typedAll) expect(server).toContain(m);
    }
  });
});
