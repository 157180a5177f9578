// Attachments in the preview: `asset:///` images become <img> served (verified) by the
// resnotes-asset: scheme, downloaded on demand with a progress placeholder; other files become
// a chip with name, size, Open and Save as…. Also the live list of transfers for the sync panel.

import { el } from "./dom";
import { size } from "./format";
import { assetLocal, fetchAsset, openAsset, type SyncEvent, saveAsset } from "./ipc";

/** What an `asset:///` URL says about its file (null for anything else). */
export interface AssetLink {
  /** `<clientId>/<index>`, as in transfer events. */
  id: string;
  name: string;
  size: number;
  mime: string;
}

/** Parses an `asset:///<clientId>/<index>/<name>?size=…&type=…&hash=…` URL (or the s/t/d form). */
export function parseAssetUrl(url: string): AssetLink | null {
  const m = /^asset:\/\/\/([0-9a-f-]{36})\/(\d+)\/([^/?#]+)\?([^#]*)$/i.exec(url.trim());
  if (!m) return null;
  const q = new URLSearchParams(m[4]);
  const sizeText = q.get("size") ?? q.get("s");
  if (sizeText === null || !/^\d+$/.test(sizeText) || !(q.get("hash") ?? q.get("d"))) return null;
  let name: string;
  try {
    // Without control and invisible format characters: U+202E made "invoice\u202efdp.bat"
    // show as "invoicetab.pdf".
    name = decodeURIComponent(m[3]).replace(/[\p{Cc}\p{Cf}]/gu, "");
  } catch {
    return null;
  }
  return {
    id: `${m[1].toLowerCase()}/${m[2]}`,
    name,
    size: Number(sizeText),
    mime: q.get("type") ?? q.get("t") ?? "application/octet-stream",
  };
}

/** The URL under which the app serves an attachment's verified bytes. */
export function assetSrc(url: string, windows = navigator.userAgent.includes("Windows")): string {
  const rest = url.trim().replace(/^asset:\/\/\//i, "");
  return (windows ? "http://resnotes-asset.localhost/" : "resnotes-asset://localhost/") + rest;
}

/** A transfer in progress, for the sync panel. */
export interface Transfer {
  name: string;
  direction: "upload" | "download";
  target: string;
  done: number;
  total: number;
}

/** Keeps the transfers in progress from `asset_progress` / `asset_done` events. */
export class Transfers {
  readonly live = new Map<string, Transfer>();

  /** Updates from one sync event; true when the list changed. */
  onEvent(ev: SyncEvent): boolean {
    if (ev.type === "asset_progress") {
      this.live.set(`${ev.direction}:${ev.target}:${ev.asset}`, {
        name: ev.name,
        direction: ev.direction,
        target: ev.target,
        done: ev.done,
        total: ev.total,
      });
      return true;
    }
    if (ev.type === "asset_done")
      return this.live.delete(`${ev.direction}:${ev.target}:${ev.asset}`);
    return false;
  }
}

/** Shows attachments inside rendered previews. */
export class AssetViews {
  /** Downloads in flight, so a re-render does not start another. */
  private readonly fetching = new Map<string, Promise<void>>();

  constructor(private readonly onError: (message: string) => void) {}

  /** Replaces asset images and links under `root` with live views. */
  decorate(root: ParentNode): void {
    for (const img of Array.from(root.querySelectorAll<HTMLImageElement>("img[src]"))) {
      const url = img.getAttribute("src") ?? "";
      const link = parseAssetUrl(url);
      if (link) img.replaceWith(this.image(url, link, img.alt));
    }
    for (const a of Array.from(root.querySelectorAll<HTMLAnchorElement>("a[href]"))) {
      const url = a.getAttribute("href") ?? "";
      const link = parseAssetUrl(url);
      if (link) a.replaceWith(this.chip(url, link));
    }
  }

  /** Starts downloading the attachments a note links to that this device lacks, so they are
   * ready when the preview shows them (a note was opened). Errors show in the preview. */
  prefetch(markdown: string): void {
    const urls = new Set(markdown.match(/asset:\/\/\/[^\s)>"'\]<]+/gi) ?? []);
    for (const url of urls) {
      if (!parseAssetUrl(url)) continue;
      assetLocal(url).then(
        (local) => (local ? undefined : this.fetch(url).catch(() => {})),
        () => {},
      );
    }
  }

  /** A download's progress: updates every placeholder of that attachment. */
  onEvent(ev: SyncEvent): void {
    if (ev.type !== "asset_progress" || ev.direction !== "download") return;
    const pct = ev.total > 0 ? Math.floor((100 * ev.done) / ev.total) : 0;
    for (const p of Array.from(
      document.querySelectorAll<HTMLElement>(".asset-placeholder[data-asset]"),
    ).filter((x) => x.dataset.asset === ev.asset)) {
      const bar = p.querySelector("progress");
      if (bar) bar.value = pct;
      const label = p.querySelector(".label");
      if (label) label.textContent = `Downloading ${ev.name} (${size(ev.total)})… ${pct}%`;
    }
  }

  private fetch(url: string): Promise<void> {
    let p = this.fetching.get(url);
    if (!p) {
      p = fetchAsset(url).finally(() => this.fetching.delete(url));
      this.fetching.set(url, p);
    }
    return p;
  }

  private image(url: string, link: AssetLink, alt: string): HTMLElement {
    const box = el("span", "asset-image");
    box.dataset.asset = link.id;
    const show = () => {
      const img = el("img");
      img.alt = alt || link.name;
      img.title = `${link.name} (${size(link.size)})`;
      img.addEventListener("error", () =>
        box.replaceChildren(el("span", "asset-error", `${link.name} could not be shown.`)),
      );
      img.src = assetSrc(url);
      box.replaceChildren(img);
    };
    const wait = () => {
      const ph = el("span", "asset-placeholder");
      ph.dataset.asset = link.id;
      const bar = el("progress");
      bar.max = 100;
      bar.value = 0;
      ph.append(el("span", "label", `Downloading ${link.name} (${size(link.size)})…`), bar);
      box.replaceChildren(ph);
      this.fetch(url).then(show, (e: Error) => {
        const err = el("span", "asset-error", `${e.message} `);
        const retry = el("button", "link", "Retry");
        retry.addEventListener("click", wait);
        err.append(retry);
        box.replaceChildren(err);
      });
    };
    box.append(el("span", "asset-placeholder", link.name));
    assetLocal(url).then(
      (local) => (local ? show() : wait()),
      (e: Error) => box.replaceChildren(el("span", "asset-error", e.message)),
    );
    return box;
  }

  private chip(url: string, link: AssetLink): HTMLElement {
    const chip = el("span", "asset-chip");
    chip.dataset.asset = link.id;
    const open = el("button", "link", "Open");
    open.dataset.action = "open-asset";
    open.addEventListener(
      "click",
      () => void openAsset(url).catch((e: Error) => this.onError(e.message)),
    );
    const saveAs = el("button", "link", "Save as…");
    saveAs.dataset.action = "save-asset";
    saveAs.addEventListener("click", async () => {
      try {
        await saveAsset(url);
      } catch (e) {
        this.onError(e instanceof Error ? e.message : String(e));
      }
    });
    chip.append(
      el("span", "icon", "📎"),
      el("span", "name", link.name),
      el("span", "size", size(link.size)),
      open,
      saveAs,
    );
    return chip;
  }
}
