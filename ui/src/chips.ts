// Attachment links in the editor shown as a compact chip ("📎 report.pdf · 1.2 MB") instead of
// their long asset:/// address. The markdown stays as it is: a chip opens back into its text as
// soon as the cursor or selection touches it, so it can be edited, copied or deleted as text.
import { RangeSetBuilder } from "@codemirror/state";
import {
  Decoration,
  type DecorationSet,
  type EditorView,
  ViewPlugin,
  type ViewUpdate,
  WidgetType,
} from "@codemirror/view";
import { parseAssetUrl } from "./attachments";
import { size } from "./format";

/** An attachment link found in the text. */
export interface AssetLinkAt {
  from: number;
  to: number;
  image: boolean;
  name: string;
  size: number;
  /** The link's markdown. */
  markdown: string;
}

const LINK = /(!?)\[([^\]\n]*)\]\((asset:\/\/\/[^)\s]+)\)/g;

/** The attachment links in `text` (positions shifted by `offset`); other links are not. */
export function assetLinks(text: string, offset = 0): AssetLinkAt[] {
  const out: AssetLinkAt[] = [];
  for (const m of text.matchAll(LINK)) {
    const link = parseAssetUrl(m[3] as string);
    if (!link || m.index === undefined) continue;
    out.push({
      from: offset + m.index,
      to: offset + m.index + m[0].length,
      image: m[1] === "!",
      name: link.name,
      size: link.size,
      markdown: m[0],
    });
  }
  return out;
}

class Chip extends WidgetType {
  constructor(private readonly link: AssetLinkAt) {
    super();
  }

  override eq(other: Chip): boolean {
    const [a, b] = [this.link, other.link];
    return a.image === b.image && a.name === b.name && a.size === b.size;
  }

  toDOM(): HTMLElement {
    const chip = document.createElement("span");
    chip.className = "cm-asset-chip";
    chip.textContent = `${this.link.image ? "🖼" : "📎"} ${this.link.name} · ${size(this.link.size)}`;
    chip.dataset.markdown = this.link.markdown;
    chip.title = `Attachment ${this.link.name}. Click to edit the link as text.`;
    return chip;
  }

  override ignoreEvent(): boolean {
    return false;
  }
}

function chips(view: EditorView): DecorationSet {
  const b = new RangeSetBuilder<Decoration>();
  const selection = view.state.selection.ranges;
  for (const { from, to } of view.visibleRanges) {
    for (const link of assetLinks(view.state.doc.sliceString(from, to), from)) {
      if (selection.some((r) => r.from <= link.to && r.to >= link.from)) continue;
      b.add(link.from, link.to, Decoration.replace({ widget: new Chip(link) }));
    }
  }
  return b.finish();
}

/** The editor extension. */
export const attachmentChips = ViewPlugin.fromClass(
  class {
    decorations: DecorationSet;
    constructor(view: EditorView) {
      this.decorations = chips(view);
    }
    update(u: ViewUpdate) {
      if (u.docChanged || u.viewportChanged || u.selectionSet) this.decorations = chips(u.view);
    }
  },
  { decorations: (v) => v.decorations },
);
