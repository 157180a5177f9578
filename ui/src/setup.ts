// "Sync with a folder or server…": pick a folder (native dialog, or type its path) or enter a
// WebDAV server or an S3 bucket ("Test connection"), then create a shared workspace there
// (choosing a passphrase, its strength shown) or join the one it holds.

import { placeName, sentence, strengthText } from "./format";
import {
  type Contents,
  createFolder,
  inspectTarget,
  joinTarget,
  passphraseStrength,
  pickFolder,
  shareTarget,
  type TargetSpec,
} from "./ipc";

type Mode = "folder" | "webdav" | "s3";

/** What the S3 form holds. */
export type S3Fields = {
  bucket: string;
  prefix: string;
  endpoint: string;
  region: string;
  accessKey: string;
  secretKey: string;
};

/**
 * The `s3://` address of the S3 form (README, "S3"): a bucket field that already holds a whole
 * `s3://` address is taken as it is.
 */
export function s3Address(f: S3Fields): string {
  const bucket = f.bucket.trim();
  if (bucket.startsWith("s3://")) return bucket;
  const prefix = f.prefix
    .trim()
    .split("/")
    .filter((s) => s !== "")
    .map(encodeURIComponent)
    .join("/");
  const query = [
    ["endpoint", f.endpoint.trim()],
    ["region", f.region.trim()],
  ]
    .filter(([, v]) => v !== "")
    .map(([k, v]) => `${k}=${encodeURIComponent(v)}`);
  return `s3://${bucket}/${prefix}${query.length ? `?${query.join("&")}` : ""}`;
}

/** The target described by the form's fields. */
export function specOf(
  mode: Mode,
  fields: { path: string; url: string; username: string; password: string; s3?: S3Fields },
): TargetSpec {
  if (mode === "folder") return { kind: "folder", path: fields.path.trim() };
  if (mode === "s3" && fields.s3)
    return {
      kind: "s3",
      url: s3Address(fields.s3),
      access_key: fields.s3.accessKey.trim() || null,
      secret_key: fields.s3.secretKey || null,
    };
  return {
    kind: "webdav",
    url: fields.url.trim(),
    username: fields.username.trim() || null,
    password: fields.password || null,
  };
}

/** How the target is named in messages. */
export function placeOf(spec: TargetSpec): string {
  if (spec.kind === "s3") return placeName("s3", spec.url);
  return spec.kind === "folder" ? spec.path : spec.url;
}

export class SetupDialog {
  private mode: Mode = "folder";
  /** Joining with a setup code instead of the passphrase. */
  private useCode = false;
  private spec: TargetSpec | null = null;
  private contents: Contents | null = null;
  private readonly q = <T extends HTMLElement>(sel: string): T => {
    const found = this.root.querySelector<T>(sel);
    if (!found) throw new Error(`The setup dialog has no ${sel}`);
    return found;
  };
  private readonly input = (name: string) => this.q<HTMLInputElement>(`input[name=${name}]`);

  constructor(
    private readonly root: HTMLElement,
    private readonly hasTargets: () => boolean,
    private readonly done: (message: string) => void,
  ) {
    for (const b of root.querySelectorAll<HTMLButtonElement>(".modes button"))
      b.addEventListener("click", () => this.setMode(b.dataset.mode as Mode));
    this.q<HTMLButtonElement>("[data-action=pick]").addEventListener(
      "click",
      () => void this.pick(),
    );
    for (const f of root.querySelectorAll<HTMLFormElement>("form.path, form.dav, form.s3")) {
      f.addEventListener("submit", (e) => {
        e.preventDefault();
        void this.inspect();
      });
    }
    this.q<HTMLFormElement>("form.secret").addEventListener("submit", (e) => {
      e.preventDefault();
      void this.confirm();
    });
    this.input("passphrase").addEventListener("input", () => void this.rate());
    this.q<HTMLButtonElement>("[data-action=use-code]").addEventListener("click", () =>
      this.showCode(!this.useCode),
    );
    for (const b of root.querySelectorAll<HTMLButtonElement>("[data-action=cancel]"))
      b.addEventListener("click", () => this.close());
  }

  open(): void {
    for (const n of [
      "path",
      "url",
      "username",
      "password",
      "bucket",
      "prefix",
      "endpoint",
      "region",
      "access_key",
      "secret_key",
      "passphrase",
      "confirm",
      "setup_code",
    ])
      this.input(n).value = "";
    this.setMode("folder");
    this.root.hidden = false;
    this.input("path").focus();
  }

  close(): void {
    this.root.hidden = true;
    for (const n of ["password", "secret_key", "passphrase", "confirm", "setup_code"])
      this.input(n).value = "";
  }

  /** Swaps the passphrase field for the setup code's, or back. */
  private showCode(on: boolean): void {
    this.useCode = on;
    this.input("passphrase").hidden = on;
    this.input("setup_code").hidden = !on;
    this.q<HTMLButtonElement>("[data-action=use-code]").textContent = on
      ? "Use the passphrase instead"
      : "Use a setup code instead";
    this.input(on ? "setup_code" : "passphrase").focus();
  }

  private setMode(mode: Mode): void {
    this.mode = mode;
    for (const b of this.root.querySelectorAll<HTMLElement>(".modes button"))
      b.classList.toggle("selected", b.dataset.mode === mode);
    for (const f of this.root.querySelectorAll<HTMLElement>("form[data-mode]"))
      f.hidden = f.dataset.mode !== mode;
    this.reset();
  }

  private reset(): void {
    this.contents = null;
    this.showCode(false);
    this.q<HTMLElement>("[data-action=use-code]").hidden = true;
    this.q<HTMLElement>(".intro-encrypted").hidden = false;
    this.q<HTMLFormElement>("form.secret").hidden = true;
    this.q<HTMLElement>(".close-row").hidden = false;
    this.say("");
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
        this.input("path").value = path;
        await this.inspect();
      }
    } catch (e) {
      this.say(sentence(e instanceof Error ? e.message : String(e)), true);
    }
  }

  private async inspect(): Promise<void> {
    this.reset();
    const spec = specOf(this.mode, {
      path: this.input("path").value,
      url: this.input("url").value,
      username: this.input("username").value,
      password: this.input("password").value,
      s3: {
        bucket: this.input("bucket").value,
        prefix: this.input("prefix").value,
        endpoint: this.input("endpoint").value,
        region: this.input("region").value,
        accessKey: this.input("access_key").value,
        secretKey: this.input("secret_key").value,
      },
    });
    this.spec = spec;
    this.say(spec.kind === "folder" ? "Looking…" : "Connecting…");
    try {
      this.contents = await inspectTarget(spec);
    } catch (e) {
      this.say(sentence(e instanceof Error ? e.message : String(e)), true);
      return;
    }
    const place = placeOf(spec);
    const reached = spec.kind === "folder" ? "" : "Connected. ";
    const secret = this.q<HTMLElement>(".secret-fields");
    const confirmRow = this.q<HTMLElement>(".confirm-row");
    const action = this.q<HTMLButtonElement>("form.secret button[type=submit]");
    const plaintextRow = this.q<HTMLElement>(".plaintext-row");
    plaintextRow.hidden = true;
    this.input("accept_plaintext").checked = false;
    const c = this.contents;
    // Never promise encryption about a workspace that has none.
    this.q<HTMLElement>(".intro-encrypted").hidden = c.kind === "other_workspace" && !c.encrypted;
    if (c.kind === "missing") {
      this.say(
        `${place} does not exist yet. Create it, then choose how to share your notes there?`,
      );
      secret.hidden = true;
      confirmRow.hidden = true;
      action.textContent = "Create folder";
    } else if (c.kind === "empty") {
      const first = !this.hasTargets();
      this.say(
        first
          ? `${reached}${place} is empty: your notes will be shared there, encrypted with a passphrase you choose. Every device that joins needs it.`
          : `${reached}${place} is empty: this workspace will be copied there too.`,
      );
      secret.hidden = !first;
      confirmRow.hidden = !first;
      action.textContent = "Share my notes here";
    } else if (c.kind === "this_workspace") {
      this.say(
        `${reached}${place} already holds this workspace: it will be added as another place to sync with.`,
      );
      secret.hidden = true;
      action.textContent = "Add";
    } else if (c.encrypted) {
      this.say(
        `${reached}${place} holds an encrypted workspace from another device. Join it with its passphrase, or with a setup code from one of your devices: the notes on this device will be copied into it.`,
      );
      secret.hidden = false;
      confirmRow.hidden = true;
      this.q<HTMLElement>("[data-action=use-code]").hidden = false;
      action.textContent = "Join";
    } else {
      this.say(
        `${reached}${place} holds a workspace that is NOT encrypted: anyone who can read it can read every note, and the notes on this device will be copied into it unencrypted. Join only if you trust everyone with access to it.`,
        true,
      );
      secret.hidden = true;
      plaintextRow.hidden = false;
      action.textContent = "Join without encryption";
    }
    this.q<HTMLFormElement>("form.secret").hidden = false;
    this.q<HTMLElement>(".close-row").hidden = true;
    this.q<HTMLElement>(".strength").textContent = "";
    if (!secret.hidden) this.input(this.useCode ? "setup_code" : "passphrase").focus();
  }

  private async rate(): Promise<void> {
    const out = this.q<HTMLElement>(".strength");
    if (this.contents?.kind !== "empty") {
      out.textContent = "";
      return;
    }
    const s = await passphraseStrength(this.input("passphrase").value);
    out.textContent = strengthText(s);
    out.dataset.level = s.label.replace(" ", "-");
  }

  private async confirm(): Promise<void> {
    const c = this.contents;
    const spec = this.spec;
    if (!c || !spec) return;
    const needsSecret = !this.q<HTMLElement>(".secret-fields").hidden;
    const pass = needsSecret ? this.input("passphrase").value : null;
    const button = this.q<HTMLButtonElement>("form.secret button[type=submit]");
    button.disabled = true;
    try {
      if (c.kind === "missing") {
        await createFolder(spec);
        await this.inspect();
        return;
      }
      if (c.kind === "other_workspace") {
        const plaintext = !c.encrypted;
        if (plaintext && !this.input("accept_plaintext").checked) {
          this.say(
            "This workspace is not encrypted: tick “I understand” to join it anyway, or Cancel.",
            true,
          );
          return;
        }
        const code = this.useCode && !plaintext ? this.input("setup_code").value.trim() : null;
        if (code === "") {
          this.say("Paste the setup code shown by “Add a device” on one of your devices.", true);
          return;
        }
        this.say(
          plaintext
            ? "Joining…"
            : code
              ? "Checking the setup code and joining…"
              : "Checking the passphrase and joining…",
        );
        const carried = code
          ? await joinTarget(spec, null, false, code)
          : await joinTarget(spec, pass, plaintext);
        this.close();
        this.done(
          `Joined the workspace in ${placeOf(spec)}${carried ? `; ${carried} note(s) from this device were added to it` : ""}.`,
        );
      } else {
        if (c.kind === "empty" && needsSecret && pass !== this.input("confirm").value) {
          this.say("The two passphrases differ; type the same one twice.", true);
          return;
        }
        this.say("Setting up…");
        const shared = await shareTarget(spec, pass);
        this.close();
        const where = shared.password_file
          ? ` No system keyring is available: the ${spec.kind === "s3" ? "secret key" : "server password"} is kept in ${shared.password_file}, readable only by you.`
          : "";
        this.done(`Syncing with ${placeName(spec.kind, shared.target)}.${where}`);
      }
    } catch (e) {
      this.say(sentence(e instanceof Error ? e.message : String(e)), true);
    } finally {
      button.disabled = false;
    }
  }
}
