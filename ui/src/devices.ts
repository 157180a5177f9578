// The devices of the workspace by the names they gave themselves, as this device last read
// them: what the history, "Recent changes", the merge line and the sync panel say instead of
// ids. Refreshed at start, after each sync and when this device is renamed.

import type { Device } from "./bindings/Device";
import { device } from "./format";
import { listDevices } from "./ipc";

export class DeviceNames {
  /** Every device, this one first (as the engine arranges them). */
  list: Device[] = [];
  /** Named devices' names by id. */
  names: ReadonlyMap<string, string> = new Map();

  constructor(private readonly onChange: () => void = () => {}) {}

  /** Reads the devices again; `onChange` runs when a name changed. */
  async refresh(): Promise<void> {
    const list = await listDevices();
    const names = new Map<string, string>();
    for (const d of list) if (d.name) names.set(d.id, d.name);
    const changed =
      names.size !== this.names.size || [...names].some(([id, n]) => this.names.get(id) !== n);
    this.list = list;
    this.names = names;
    if (changed) this.onChange();
  }

  /** This device's name, if it has one. */
  get mine(): string | null {
    return this.list.find((d) => d.this_device)?.name ?? null;
  }

  /** A device as a person reads it: its name, or the start of its id while it has none. */
  label(id: string): string {
    return this.names.get(id) ?? `Device ${device(id)}`;
  }
}
