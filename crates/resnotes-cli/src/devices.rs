//! `device list` and `device name`: the devices of the workspace by the names they gave
//! themselves, and naming this one.

use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::{anyhow, Result};
use clap::Subcommand;
use resnotes_core::{Device, Workspace};

use crate::time;

#[derive(Subcommand)]
pub(crate) enum DeviceCommand {
    /// Every device that has written to this workspace, this one first, with its name and
    /// when its newest changes were written.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Name this device ("Laptop"): every device shows the name once they have synced.
    #[command(alias = "rename")]
    Name { name: String },
    /// Remove a device (a lost or sold laptop) by its name or the start of its id: it can read
    /// nothing written from now on, and what it writes is refused by every device. It keeps
    /// what it already had. Asks for the workspace's passphrase (or RESNOTES_PASSPHRASE).
    Remove {
        /// Its name, or the start of its id as `device list` shows it.
        device: String,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
    },
    /// Let in a device that joined around the time a device was removed (`device list` marks
    /// it "held back"): its changes then reach every device. Only do it when it is yours.
    /// Asks for the workspace's passphrase (or RESNOTES_PASSPHRASE).
    #[command(name = "let-in", alias = "admit")]
    LetIn {
        /// The start of its id, as `device list` shows it.
        device: String,
    },
}

/// Runs a `device` command.
pub(crate) fn device(ws: &mut Workspace, command: DeviceCommand, quiet: bool) -> Result<ExitCode> {
    match command {
        DeviceCommand::List { json } => {
            let devices = ws.devices()?;
            if json {
                out!("{}", serde_json::to_string_pretty(&devices)?);
                return Ok(ExitCode::SUCCESS);
            }
            for d in &devices {
                let this = if d.this_device { "  (this device)" } else { "" };
                let when = match d.last_change_at {
                    Some(at) => format!("changes written {}", time(at)),
                    None => "nothing synced yet".into(),
                };
                let unsigned =
                    if d.signed { "" } else { "  (update it: its changes are not signed)" };
                let removed = match d.removed_at {
                    Some(at) => format!(
                        "  (removed {} by {})",
                        time(at),
                        d.removed_by.as_deref().unwrap_or("another device")
                    ),
                    None if d.held_back && !d.this_device => format!(
                        "  (held back: it joined around the time a device was removed; if it is yours, `resnotes device let-in {}`, else `resnotes device remove {}`)",
                        &d.id[..8],
                        &d.id[..8]
                    ),
                    None => String::new(),
                };
                out!("{}  {:<24}  {when}{this}{unsigned}{removed}", &d.id[..8], label(d));
            }
            if devices.iter().any(|d| d.this_device && d.name.is_none()) {
                eprintln!("This device has no name yet: `resnotes device name NAME` gives it one.");
            }
        }
        DeviceCommand::Name { name } => {
            let name = ws.name_this_device(&name)?;
            eprintln!("This device is now called \"{name}\"; other devices see it after a sync.");
        }
        DeviceCommand::Remove { device, yes } => return remove(ws, &device, yes, quiet),
        DeviceCommand::LetIn { device } => {
            let p = crate::current_passphrase("nobody was let in")?;
            let name = label(&ws.find_device(&device)?);
            let done = ws.let_in_device(&device, &p, crate::scrypt_log_n())?;
            eprintln!("{name} was let in: its changes reach every device once they have synced, and it reads what is written from now on.");
            return crate::after_new_key(ws, &done.left_out, "the passphrase", quiet);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `device remove`: after a confirmation that says what it does and does not do, the removal,
/// then a sync so that the other devices get the new key and refuse the removed one.
fn remove(ws: &mut Workspace, device: &str, yes: bool, quiet: bool) -> Result<ExitCode> {
    let d = ws.find_device(device)?;
    let name = label(&d);
    if !yes {
        if !std::io::stdin().is_terminal() {
            return Err(anyhow!(
                "add --yes to remove {name} without being asked; nothing was removed"
            ));
        }
        eprintln!(
            "Remove {name} from this workspace? It will not be able to read anything written from now on, and what it writes from now on will not reach your other devices; it keeps the notes it already has. Sync this device first: a device of yours it has not heard from yet is held back until you let it in. If whoever has {name} knows the passphrase, change the passphrase too."
        );
        eprint!("Remove {name}? [y/N] ");
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            eprintln!("Nothing was removed.");
            return Ok(ExitCode::SUCCESS);
        }
    }
    let p = crate::current_passphrase("nothing was removed")?;
    let done = ws.remove_device(device, &p, crate::scrypt_log_n())?;
    eprintln!(
        "{name} was removed: it cannot read what is written from now on, and your other devices refuse what it writes once they have synced. It keeps what it already had."
    );
    crate::after_new_key(ws, &done.left_out, "the passphrase", quiet)
}

/// A device as a person reads it: its name, or the start of its id until it has one.
pub(crate) fn label(d: &Device) -> String {
    d.name.clone().unwrap_or_else(|| format!("Device {}", &d.id[..8]))
}

/// Which device did something, by name: "this device", a name, or "device 3f2a1c4e".
pub(crate) fn who(devices: &[Device], this_device: bool, id: &str) -> String {
    let named = devices.iter().find(|d| d.id == id).and_then(|d| d.name.clone());
    match (this_device, named) {
        (true, Some(n)) => format!("{n} (this device)"),
        (true, None) => "this device".into(),
        (false, Some(n)) => n,
        (false, None) => format!("device {}", id.get(..8).unwrap_or(id)),
    }
}
