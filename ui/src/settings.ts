// This device's preferences: the theme (the system's, or light or dark), the editor's font and
// size, and spell checking. Kept in the window's local storage: they belong to the device and
// its screen, not to the notes, so they do not sync.

import { sentence } from "./format";

/** What the user chose. */
export interface Preferences {
  theme: "system" | "light" | "dark";
  font: "prose" | "mono";
  /** Editor text size in px. */
  size: number;
  spellcheck: boolean;
}

export const DEFAULTS: Preferences = { theme: "system", font: "prose", size: 15, spellcheck: true };
const KEY = "preferences";
/** The sizes offered (px). */
export const SIZES = [12, 13, 14, 15, 16, 18, 20, 22];

/** Reads stored preferences, keeping the defaults for anything missing or not understood. */
export function parsePreferences(stored: string | null): Preferences {
  let raw: Record<string, unknown> = {};
  try {
    const v = stored ? JSON.parse(stored) : {};
    if (v && typeof v === "object") raw = v;
  } catch {
    // A damaged entry: the defaults.
  }
  const pick = <T>(v: unknown, allowed: readonly T[], fallback: T): T =>
    allowed.includes(v as T) ? (v as T) : fallback;
  return {
    theme: pick(raw.theme, ["system", "light", "dark"] as const, DEFAULTS.theme),
    font: pick(raw.font, ["prose", "mono"] as const, DEFAULTS.font),
    size: pick(raw.size, SIZES, DEFAULTS.size),
    spellcheck: typeof raw.spellcheck === "boolean" ? raw.spellcheck : DEFAULTS.spellcheck,
  };
}

/** Whether the dark colours apply: the choice, or the system's when the choice is "system". */
export function isDark(p: Preferences, systemDark: boolean): boolean {
  return p.theme === "dark" || (p.theme === "system" && systemDark);
}

/** The settings dialog and the preferences it edits; `apply` is told of every change. */
export class Settings {
  prefs: Preferences;
  private readonly system = matchMedia("(prefers-color-scheme: dark)");

  /** The name field, and the name it showed when last read or saved. */
  private readonly nameInput: HTMLInputElement;
  private nameShown = "";

  constructor(
    private readonly dialog: HTMLElement,
    private readonly apply: (p: Preferences) => void,
    /** This device's name (null: none yet). */
    private readonly loadName: () => Promise<string | null>,
    /** Names this device; resolves to the name as stored, rejects with a sentence. */
    private readonly saveName: (name: string) => Promise<string>,
  ) {
    this.prefs = parsePreferences(localStorage.getItem(KEY));
    // The system's theme may change while the app runs (GTK, the desktop portal).
    this.system.addEventListener("change", () => this.paint());
    const form = dialog.querySelector("form") as HTMLFormElement;
    const size = form.elements.namedItem("size") as HTMLSelectElement;
    for (const s of SIZES) size.add(new Option(`${s} px`, String(s)));
    this.nameInput = form.elements.namedItem("device_name") as HTMLInputElement;
    // The name belongs to the workspace (it syncs), not to this window's preferences.
    this.nameInput.addEventListener("change", (e) => {
      e.stopPropagation();
      void this.storeName();
    });
    form.addEventListener("change", () => {
      const data = new FormData(form);
      this.prefs = parsePreferences(
        JSON.stringify({
          theme: data.get("theme"),
          font: data.get("font"),
          size: Number(data.get("size")),
          spellcheck: data.get("spellcheck") === "on",
        }),
      );
      localStorage.setItem(KEY, JSON.stringify(this.prefs));
      this.paint();
    });
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      // Enter in the name field saves it before the dialog closes.
      void this.storeName().then((ok) => {
        if (ok) this.close();
      });
    });
    dialog.addEventListener("click", (e) => {
      if (e.target === dialog) this.close();
    });
    dialog.addEventListener("keydown", (e) => {
      if (e.key === "Escape") this.close();
    });
    this.paint();
  }

  /** Shows the dialog with the current choices. */
  open(): void {
    const form = this.dialog.querySelector("form") as HTMLFormElement;
    const set = (name: string, value: string) => {
      for (const input of form.querySelectorAll<HTMLInputElement>(`input[name=${name}]`))
        input.checked = input.value === value;
    };
    set("theme", this.prefs.theme);
    set("font", this.prefs.font);
    (form.elements.namedItem("size") as HTMLSelectElement).value = String(this.prefs.size);
    (form.elements.namedItem("spellcheck") as HTMLInputElement).checked = this.prefs.spellcheck;
    this.showNameError(null);
    void this.loadName()
      .then((name) => {
        this.nameShown = name ?? "";
        this.nameInput.value = this.nameShown;
      })
      .catch(() => {});
    this.dialog.hidden = false;
    form.querySelector<HTMLInputElement>("input[name=theme]:checked")?.focus();
  }

  close(): void {
    this.dialog.hidden = true;
  }

  /** Saves the name typed when it changed; false when it was refused (the reason shows). */
  private async storeName(): Promise<boolean> {
    const typed = this.nameInput.value;
    if (typed.trim() === this.nameShown.trim()) return true;
    try {
      this.nameShown = await this.saveName(typed);
      this.nameInput.value = this.nameShown;
      this.showNameError(null);
      return true;
    } catch (e) {
      this.showNameError(e instanceof Error ? e.message : String(e));
      return false;
    }
  }

  private showNameError(message: string | null): void {
    const p = this.dialog.querySelector<HTMLElement>(".device-error");
    if (!p) return;
    p.textContent = message === null ? "" : sentence(message);
    p.hidden = message === null;
  }

  get isOpen(): boolean {
    return !this.dialog.hidden;
  }

  private paint(): void {
    const root = document.documentElement;
    root.classList.toggle("dark", isDark(this.prefs, this.system.matches));
    root.style.setProperty(
      "--editor-font",
      this.prefs.font === "mono" ? "var(--mono)" : "var(--prose)",
    );
    root.style.setProperty("--editor-size", `${this.prefs.size}px`);
    this.apply(this.prefs);
  }
}
