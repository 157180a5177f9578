//! `device list` and `device name`: the devices of the workspace by the names they gave
//! themselves, and naming this one.

use anyhow::Result;
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
}

/// Runs a `device` command.
pub(crate) fn device(ws: &mut Workspace, command: DeviceCommand) -> Result<()> {
    match command {
        DeviceCommand::List { json } => {
            let devices = ws.devices()?;
            if json {
                out!("{}", serde_json::to_string_pretty(&devices)?);
                return Ok(());
            }
            for d in &devices {
                let this = if d.this_device { "  (this device)" } else { "" };
                let when = match d.last_change_at {
                    Some(at) => format!("changes written {}", time(at)),
                    None => "nothing synced yet".into(),
                };
                let unsigned =
                    if d.signed { "" } else { "  (update it: its changes are not signed)" };
                out!("{}  {:<24}  {when}{this}{unsigned}", &d.id[..8], label(d));
            }
            if devices.iter().any(|d| d.this_device && d.name.is_none()) {
                eprintln!("This device has no name yet: `resnotes device name NAME` gives it one.");
            }
        }
        DeviceCommand::Name { name } => {
            let name = ws.name_this_device(&name)?;
            eprintln!("This device is now called \"{name}\"; other devices see it after a sync.");
        }
    }
    Ok(())
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
