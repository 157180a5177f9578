// The workspace passphrase in the sync panel's Devices section: "Change the passphrase…" (a new
// key for everything written from now on, FORMAT.md §5.2), "Remove…" beside a device (a new key
// it is not given, confirmed with the passphrase) and, when this device missed a change made
// elsewhere, "Type the new passphrase…". The box is built once per opening and moved into each
// repaint of the panel, so typing is never lost to a repaint.

import { el } from "./dom";
import { sentence, strengthText } from "./format";
import {
  changePassphrase,
  enterPassphrase,
  letInDevice,
  passphraseStrength,
  removeDevice,
} from "./ipc";

/** Which form is open. */
export type PassphraseMode = "change" | "enter" | "remove" | "let-in";

/** The device a "remove" or "let-in" form is about. */
export interface Removing {
  id: string;
  name: string;
}

/** What a removal did, said once under the Devices list. */
export function removedText(name: string, leftOut: string[]): string {
  const done = `${name} was removed. It cannot read anything written from now on, and your other devices refuse what it writes once they have synced. It keeps the notes it already had. If whoever has it knows the passphrase, change the passphrase too.`;
  if (leftOut.length === 0) return done;
  return `${done} Not given the new key, because they run an older Resilient Notes: ${leftOut.join(", ")}. Update them, then type the passphrase there.`;
}

/** What letting a device in did. */
export function letInText(name: string): string {
  return `${name} was let in: its changes reach your devices once they have synced, and it reads what is written from now on.`;
}

/** What the change did, said once under the Devices list. */
export function changedText(leftOut: string[]): string {
  const done =
    "The passphrase was changed. Notes written from now on use a new key that the old passphrase cannot open; your other devices get it when they sync and need nothing typed (one that had not synced with this device yet asks for the new passphrase). A new device joins with the new passphrase.";
  if (leftOut.length === 0) return done;
  return `${done} Not given the new key, because they run an older Resilient Notes: ${leftOut.join(", ")}. Update them, then type the new passphrase there.`;
}

/** Whether two typed passphrases can be used: a sentence saying why not, or null. */
export function mismatch(first: string, again: string): string | null {
  if (first.length === 0) return "Type the new passphrase.";
  if (first !== again) return "The two passphrases are not the same: type it again.";
  return null;
}

export class PassphraseBox {
  /** The open form and its element; null when closed. */
  private open: { mode: PassphraseMode; box: HTMLElement } | null = null;
  /** The sentence shown after a change or an entry, until the panel is closed. */
  done: string | null = null;

  constructor(
    /** Repaints the panel (the box closed, or the outcome to show). */
    private readonly repaint: () => Promise<void>,
  ) {}

  /** The box to show in the panel, when one is open. */
  get element(): HTMLElement | null {
    return this.open?.box ?? null;
  }

  /** Opens a form (focusing its first field once it is in the page); `device` names the
   * device of a "remove" or "let-in" form. */
  show(mode: PassphraseMode, device?: Removing): void {
    this.done = null;
    const box =
      (mode === "remove" || mode === "let-in") && device
        ? this.buildConfirm(mode, device)
        : this.build(mode);
    this.open = { mode, box };
    void this.repaint().then(() => box.querySelector<HTMLInputElement>("input")?.focus());
  }

  close(): void {
    this.open = null;
    void this.repaint();
  }

  /** "Remove Old phone" / "Let Device 3f2a1c4e in": what it does and does not do, and the
   * passphrase that confirms it. */
  private buildConfirm(mode: "remove" | "let-in", device: Removing): HTMLElement {
    const removing = mode === "remove";
    const box = el("form", "passphrase-box");
    box.dataset.mode = mode;
    box.dataset.device = device.id;
    box.append(
      el("h4", undefined, removing ? `Remove ${device.name}` : `Let ${device.name} in`),
      el(
        "p",
        "muted",
        removing
          ? `${device.name} will not be able to read anything written from now on, and what it writes from now on will not reach your other devices. It keeps the notes it already has: removing it cannot take them back. Your other devices keep working without typing anything.`
          : `${device.name} joined around the time a device was removed, so it could also be the removed device under a new name. Let it in only if it is yours: its changes then reach your devices, and it reads what is written from now on.`,
      ),
      el(
        "p",
        "muted",
        removing
          ? "Type the workspace's passphrase to confirm. A device of yours that this one has not heard from yet is held back until you let it in, so sync first. If whoever has the device knows the passphrase, change it afterwards."
          : "Type the workspace's passphrase to confirm.",
      ),
    );
    const field = passwordInput(
      "current_passphrase",
      "current-password",
      "The workspace's passphrase",
    );
    box.append(field);
    this.finish(
      box,
      {
        label: removing ? `Remove ${device.name}` : `Let ${device.name} in`,
        kind: removing ? "danger" : "primary",
      },
      removing ? "Removing…" : "Letting it in…",
      () => (field.value ? null : "Type the workspace's passphrase."),
      () =>
        removing
          ? removeDevice(device.id, field.value).then((left) => removedText(device.name, left))
          : letInDevice(device.id, field.value).then(() => letInText(device.name)),
    );
    return box;
  }

  private build(mode: PassphraseMode): HTMLElement {
    const box = el("form", "passphrase-box");
    box.dataset.mode = mode;
    const change = mode === "change";
    box.append(
      el("h4", undefined, change ? "Change the passphrase" : "Type the new passphrase"),
      el(
        "p",
        "muted",
        change
          ? "New devices join with the passphrase. Changing it keeps out anyone who only knows the old one, or has an old copy of the folder: they cannot read what is written from now on. Your devices keep working without typing anything."
          : "The passphrase was changed on one of your other devices while this one could not be given the new key. Type the new passphrase to read what was written since; nothing on this device is lost.",
      ),
    );
    const first = passwordInput(
      "new_passphrase",
      "new-password",
      change ? "New passphrase" : "The new passphrase",
    );
    box.append(first);
    const again = passwordInput("confirm_passphrase", "new-password", "Type it again");
    const strength = el("p", "strength muted");
    if (change) {
      box.append(again, strength);
      first.addEventListener("input", () => {
        void passphraseStrength(first.value).then((s) => {
          strength.textContent = first.value ? strengthText(s) : "";
          strength.dataset.level = s.label.replace(" ", "-");
        });
      });
    }
    this.finish(
      box,
      { label: change ? "Change passphrase" : "Use this passphrase", kind: "primary" },
      change ? "Changing…" : "Opening…",
      () => (change ? mismatch(first.value, again.value) : mismatch(first.value, first.value)),
      () =>
        change
          ? changePassphrase(first.value).then(changedText)
          : enterPassphrase(first.value).then((isNew) =>
              isNew
                ? "This device has the new key: what was written since is read at this sync."
                : "This device already had the workspace's newest key.",
            ),
    );
    return box;
  }

  /** The end of every form: the sentence saying what went wrong, Cancel, and the button that
   * submits. On submit `check` says what is missing (null: nothing), then `run` does it and
   * gives the sentence shown once the form closes. */
  private finish(
    box: HTMLElement,
    button: { label: string; kind: string },
    busy: string,
    check: () => string | null,
    run: () => Promise<string>,
  ): void {
    const error = el("p", "problem");
    error.setAttribute("role", "alert");
    error.hidden = true;
    const cancel = el("button", undefined, "Cancel");
    cancel.type = "button";
    cancel.dataset.action = "passphrase-cancel";
    cancel.addEventListener("click", () => this.close());
    const submit = el("button", button.kind, button.label);
    submit.type = "submit";
    const buttons = el("div", "row");
    buttons.append(cancel, submit);
    box.append(error, buttons);
    const say = (message: string) => {
      error.textContent = sentence(message);
      error.hidden = false;
    };
    box.addEventListener("submit", (e) => {
      e.preventDefault();
      const wrong = check();
      if (wrong) return say(wrong);
      submit.disabled = true;
      submit.textContent = busy;
      void run().then(
        (text) => {
          this.open = null;
          this.done = text;
          void this.repaint();
        },
        (err: unknown) => {
          submit.disabled = false;
          submit.textContent = button.label;
          say(err instanceof Error ? err.message : String(err));
        },
      );
    });
  }
}

/** A password field. */
function passwordInput(
  name: string,
  autocomplete: AutoFill,
  placeholder: string,
): HTMLInputElement {
  const input = el("input");
  input.type = "password";
  input.name = name;
  input.autocomplete = autocomplete;
  input.placeholder = placeholder;
  return input;
}
