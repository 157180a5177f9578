// "Sync with a folder…": pick a folder (native dialog, or type its path), then create a shared
// workspace there (choosing a passphrase, its strength shown) or join the one it holds.
import { inspectFolder, joinFolder, passphraseStrength, pickFolder, shareFolder, type Contents } from "./ipc";

export class SetupDialog {
  private path = "";
  private contents: Contents | null = null;
  private readonly q = <T extends HTMLElement>(sel: string) => this.root.querySelector<T>(sel)!;

  constructor(
    private readonly root: HTMLElement,
    private readonly hasTargets: () => boolean,
    private readonly done: (message: string) => void,
  ) {
    this.q<HTMLButtonElement>("[data-action=pick]").addEventListener("click", () => void this.pick());
    this.q<HTMLFormElement>("form.path").addEventListener("submit", (e) => {
      e.preventDefault();
      void this.inspect(this.q<HTMLInputElement>("input[name=path]").value);
    });
    this.q<HTMLFormElement>("form.secret").addEventListener("submit", (e) => {
      e.preventDefault();
      void this.confirm();
    });
    this.q<HTMLInputElement>("input[name=passphrase]").addEventListener("input", () => void this.rate());
    for (const b of root.querySelectorAll<HTMLButtonElement>("[data-action=cancel]")) b.addEventListener("click", () => this.close());
  }

  open(): void {
    this.path = "";
    this.contents = null;
    this.q<HTMLInputElement>("input[name=path]").value = "";
    this.q<HTMLFormElement>("form.secret").hidden = true;
    this.say("");
    this.root.hidden = false;
    this.q<HTMLInputElement>("input[name=path]").focus();
  }

  close(): void {
    this.root.hidden = true;
    this.q<HTMLInputElement>("input[name=passphrase]").value = "";
    this.q<HTMLInputElement>("input[name=confirm]").value = "";
  }

  private say(text: string, error = false): void {
    const p = this.q<HTMLElement>(".message");
    p.textContent = text;
    p.classList.toggle("problem", error);
  }

  private async pick(): Promise<void> {
    try {
      const path = await pickFolder();
      if (path) {
        this.q<HTMLInputElement>("input[name=path]").value = path;
        await this.inspect(path);
      }
    } catch (e) {
      this.say(e instanceof Error ? e.message : String(e), true);
    }
  }

  private async inspect(path: string): Promise<void> {
    this.path = path.trim();
    const form = this.q<HTMLFormElement>("form.secret");
    const confirmRow = this.q<HTMLElement>(".confirm-row");
    const action = this.q<HTMLButtonElement>("form.secret button[type=submit]");
    form.hidden = true;
    try {
      this.contents = await inspectFolder(this.path);
    } catch (e) {
      this.say(e instanceof Error ? e.message : String(e), true);
      return;
    }
    const c = this.contents;
    if (c.kind === "empty") {
      if (this.hasTargets()) {
        this.say(`${this.path} is empty: this workspace will be copied there too.`);
        this.q<HTMLElement>(".secret-fields").hidden = true;
      } else {
        this.say(`${this.path} is empty: your notes will be shared there, encrypted with a passphrase you choose. Every device that joins needs it.`);
        this.q<HTMLElement>(".secret-fields").hidden = false;
        confirmRow.hidden = false;
      }
      action.textContent = "Share my notes here";
    } else if (c.kind === "this_workspace") {
      this.say(`${this.path} already holds this workspace: it will be added as another place to sync with.`);
      this.q<HTMLElement>(".secret-fields").hidden = true;
      action.textContent = "Add";
    } else {
      this.say(`${this.path} holds a workspace from another device. Join it: the notes on this device will be copied into it.`);
      this.q<HTMLElement>(".secret-fields").hidden = !c.encrypted;
      confirmRow.hidden = true;
      action.textContent = "Join";
    }
    form.hidden = false;
    this.q<HTMLElement>(".strength").textContent = "";
    const pass = this.q<HTMLInputElement>("input[name=passphrase]");
    if (!this.q<HTMLElement>(".secret-fields").hidden) pass.focus();
  }

  private async rate(): Promise<void> {
    const creating = this.contents?.kind === "empty";
    const out = this.q<HTMLElement>(".strength");
    if (!creating) {
      out.textContent = "";
      return;
    }
    const s = await passphraseStrength(this.q<HTMLInputElement>("input[name=passphrase]").value);
    out.textContent = `Strength: ${s.label} (~${s.bits} bits)`;
    out.dataset.level = s.label.replace(" ", "-");
  }

  private async confirm(): Promise<void> {
    const c = this.contents;
    if (!c) return;
    const needsSecret = !this.q<HTMLElement>(".secret-fields").hidden;
    const pass = needsSecret ? this.q<HTMLInputElement>("input[name=passphrase]").value : null;
    const button = this.q<HTMLButtonElement>("form.secret button[type=submit]");
    button.disabled = true;
    try {
      if (c.kind === "other_workspace") {
        this.say("Checking the passphrase and joining…");
        const carried = await joinFolder(this.path, pass);
        this.close();
        this.done(`Joined the workspace in ${this.path}${carried ? `; ${carried} note(s) from this device were added to it` : ""}.`);
      } else {
        if (c.kind === "empty" && needsSecret && pass !== this.q<HTMLInputElement>("input[name=confirm]").value) {
          this.say("The two passphrases differ; type the same one twice.", true);
          return;
        }
        this.say("Setting up…");
        await shareFolder(this.path, pass);
        this.close();
        this.done(`Syncing with ${this.path}.`);
      }
    } catch (e) {
      this.say(e instanceof Error ? e.message : String(e), true);
    } finally {
      button.disabled = false;
    }
  }
}
