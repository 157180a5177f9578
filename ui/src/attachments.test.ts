import { beforeEach, describe, expect, it, vi } from "vitest";

const local = new Set<string>();
const fetched: string[] = [];
let failFetch: string | null = null;
vi.mock("./ipc", () => ({
  assetLocal: async (url: string) => local.has(url),
  fetchAsset: async (url: string) => {
    fetched.push(url);
    if (failFetch) throw new Error(failFetch);
    local.add(url);
  },
  openAsset: async () => {},
  saveAsset: async () => false,
}));

import { AssetViews, assetSrc, parseAssetUrl, Transfers } from "./attachments";
import { renderMarkdown } from "./markdown";

const C = "3f2a1c4e-9b8d-4e7f-a6b5-c4d3e2f1a0b9";
const H = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
const img = `asset:///${C}/1/my%20photo.png?size=2048&type=image%2Fpng&hash=${H}`;
const pdf = `asset:///${C}/2/report.pdf?s=5&t=application%2Fpdf&d=${H}`;

const settle = () => new Promise((r) => setTimeout(r, 0));

describe("asset URLs", () => {
  it("parses the long and short forms", () => {
    expect(parseAssetUrl(img)).toEqual({
      id: `${C}/1`,
      name: "my photo.png",
      size: 2048,
      mime: "image/png",
    });
    expect(parseAssetUrl(pdf)).toEqual({
      id: `${C}/2`,
      name: "report.pdf",
      size: 5,
      mime: "application/pdf",
    });
  });
  it("drops invisible and direction characters from names", () => {
    const u = `asset:///${C}/3/invoice%E2%80%AEfdp.bat?size=1&type=text%2Fplain&hash=${H}`;
    expect(parseAssetUrl(u)?.name).toBe("invoicefdp.bat");
  });
  it("refuses anything else", () => {
    for (const u of [
      "https://example.com/x.png",
      `asset:///${C}/1/x.png`,
      `asset:///${C}/1/x.png?hash=${H}`,
      `asset:///nope/1/x?size=1&hash=${H}`,
      `asset:///${C}/1/%E0%A4%A?size=1&hash=${H}`,
    ]) {
      expect(parseAssetUrl(u), u).toBeNull();
    }
  });
  it("maps to the app's scheme on each platform", () => {
    expect(assetSrc(img, false)).toBe(
      `resnotes-asset://localhost/${C}/1/my%20photo.png?size=2048&type=image%2Fpng&hash=${H}`,
    );
    expect(assetSrc(img, true).startsWith(`http://resnotes-asset.localhost/${C}/1/`)).toBe(true);
  });
  it("survives sanitizing: asset links keep their URLs, scripts do not", () => {
    const html = renderMarkdown(
      `![p](${img}) [r](${pdf}) <img src=x onerror=alert(1)> [bad](javascript:alert(1))`,
    );
    expect(html).toContain(`src="${img.replace(/&/g, "&amp;")}"`);
    expect(html).toContain(`href="${pdf.replace(/&/g, "&amp;")}"`);
    expect(html).not.toContain("onerror");
    expect(html).not.toContain("javascript:");
  });
});

describe("preview decoration", () => {
  beforeEach(() => {
    local.clear();
    fetched.length = 0;
    failFetch = null;
  });

  it("shows local images at once and downloads the others on demand", async () => {
    local.add(img);
    const root = document.createElement("div");
    root.innerHTML = renderMarkdown(`![p](${img})\n\n[r](${pdf})`);
    new AssetViews(() => {}).decorate(root);
    await settle();
    expect(root.querySelector("img")?.getAttribute("src")).toBe(assetSrc(img));
    expect(fetched).toEqual([]);
    const chip = root.querySelector<HTMLElement>(".asset-chip");
    expect(chip?.textContent).toContain("report.pdf");
    expect(chip?.textContent).toContain("5 B");
    expect(root.querySelector("a")).toBeNull();
  });

  it("shows a placeholder with progress while downloading, then the image", async () => {
    const root = document.createElement("div");
    document.body.append(root);
    root.innerHTML = renderMarkdown(`![p](${img})`);
    const views = new AssetViews(() => {});
    views.decorate(root);
    await Promise.resolve();
    await Promise.resolve();
    expect(root.querySelector(".asset-placeholder")).not.toBeNull();
    views.onEvent({
      type: "asset_progress",
      target: "t",
      asset: `${C}/1`,
      name: "my photo.png",
      direction: "download",
      done: 1024,
      total: 2048,
    });
    expect(root.querySelector("progress")?.value).toBe(50);
    expect(root.querySelector(".asset-placeholder .label")?.textContent).toContain("50%");
    await settle();
    expect(fetched).toEqual([img]);
    expect(root.querySelector("img")?.getAttribute("src")).toBe(assetSrc(img));
    root.remove();
  });

  it("never shows an attachment that failed to verify; offers a retry", async () => {
    failFetch = "the attachment my photo.png is not available: its content does not match its hash";
    const root = document.createElement("div");
    root.innerHTML = renderMarkdown(`![p](${img})`);
    new AssetViews(() => {}).decorate(root);
    await settle();
    await settle();
    expect(root.querySelector("img")).toBeNull();
    expect(root.querySelector(".asset-error")?.textContent).toContain("does not match");
    failFetch = null;
    root.querySelector<HTMLButtonElement>(".asset-error button")?.click();
    await settle();
    await settle();
    expect(root.querySelector("img")).not.toBeNull();
  });
});

describe("prefetch", () => {
  it("downloads the attachments a note links to that are not here, once each", async () => {
    local.clear();
    fetched.length = 0;
    failFetch = null;
    local.add(img);
    new AssetViews(() => {}).prefetch(
      `text ![p](${img}) and [r](${pdf}) again [r](${pdf}) and asset:///broken`,
    );
    await settle();
    await settle();
    expect(fetched).toEqual([pdf]);
  });
});

describe("transfers", () => {
  it("tracks progress until done", () => {
    const t = new Transfers();
    expect(
      t.onEvent({
        type: "asset_progress",
        target: "a",
        asset: `${C}/1`,
        name: "x",
        direction: "upload",
        done: 1,
        total: 10,
      }),
    ).toBe(true);
    expect(t.live.size).toBe(1);
    expect(t.onEvent({ type: "pushed", target: "a", client: "c", count: 1 })).toBe(false);
    expect(
      t.onEvent({
        type: "asset_done",
        target: "a",
        asset: `${C}/1`,
        name: "x",
        direction: "upload",
      }),
    ).toBe(true);
    expect(t.live.size).toBe(0);
  });
});
