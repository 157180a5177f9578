//! `invite` and `join --code`: adding a device with a one-time setup code instead of the
//! passphrase (FORMAT.md §3.1).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Result};
use resnotes_core::format::invite::SetupCode;
use resnotes_core::{TargetSpec, Workspace};

use crate::time;

/// `invite`: writes an invitation to a target and prints its setup code (with a QR code when
/// printing to a terminal).
pub(crate) fn invite(ws: &Workspace, target: Option<&str>, minutes: i64, json: bool) -> Result<()> {
    let code = ws.invite(target, minutes.saturating_mul(60_000))?;
    let text = code.to_text();
    if json {
        let v = serde_json::json!({
            "code": text,
            "expires_at": code.expires_at,
            "target": { "kind": code.target.kind, "location": code.target.location },
        });
        out!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    if std::io::stdout().is_terminal() {
        let qr = qrcode::QrCode::new(text.as_bytes())?;
        out!("{}", qr.render::<qrcode::render::unicode::Dense1x2>().quiet_zone(true).build());
    }
    out!("{text}");
    let on = match code.target.kind.as_str() {
        "folder" => {
            format!(" --folder PATH  (PATH: where {} is on that device)", code.target.location)
        }
        "webdav" => " [--user NAME]".to_string(),
        "s3" => " [--access-key KEY]  (or the AWS environment of that device)".to_string(),
        _ => String::new(),
    };
    eprintln!(
        "Setup code for one new device, valid until {} ({minutes} min). On the new device: resnotes join --code CODE{on}",
        time(code.expires_at)
    );
    eprintln!("Anyone with this code can read your notes until it is used or expires: give it only to your own device.");
    Ok(())
}

/// The setup code's text: as given, else from `RESNOTES_SETUP_CODE`, else asked for (not
/// echoed: it is as secret as the passphrase until it is used).
pub(crate) fn code_text(given: String) -> Result<String> {
    if !given.trim().is_empty() {
        return Ok(given);
    }
    if let Some(v) = std::env::var("RESNOTES_SETUP_CODE").ok().filter(|v| !v.trim().is_empty()) {
        return Ok(v);
    }
    if !std::io::stdin().is_terminal() {
        return Err(anyhow!(
            "give the setup code in RESNOTES_SETUP_CODE, or run this at a terminal to type it"
        ));
    }
    Ok(rpassword::prompt_password("Setup code: ")?)
}

/// The target a setup code names, as this device reaches it: `--folder` or `--webdav` when
/// given, else the code's own location (a folder only when that path exists here).
pub(crate) fn code_target(
    code: &SetupCode,
    folder: Option<&Path>,
    webdav: Option<&str>,
    user: Option<String>,
    allow_http: bool,
) -> Result<TargetSpec> {
    if let Some(spec) = crate::target_spec(folder, webdav, user.clone(), allow_http)? {
        return Ok(spec);
    }
    let location = code.target.location.as_str();
    match code.target.kind.as_str() {
        "webdav" => crate::target_spec(None, Some(location), user, allow_http)?
            .ok_or_else(|| anyhow!("the setup code names no server")),
        _ if PathBuf::from(location).is_dir() => {
            Ok(TargetSpec::Folder { path: location.to_string() })
        }
        _ => Err(anyhow!(
            "the shared folder of this code is {location} on the device that made it, which is not here: give --folder with where that folder is on this device"
        )),
    }
}

/// `join --code`: a new device of the workspace, from a setup code.
pub(crate) fn join(dir: &Path, spec: &TargetSpec, code: &SetupCode) -> Result<Workspace> {
    let t = spec.transport()?;
    let ws = Workspace::join_with_code(
        dir,
        spec.kind(),
        t.as_ref(),
        code,
        resnotes_core::system_clock(),
    )?;
    let (user, pw) = spec.credentials(t.as_ref());
    if user.is_some() || pw.is_some() {
        let id = ws.find_target(&t.location())?.id;
        crate::note_credentials(ws.set_credentials(&id, user.as_deref(), pw.as_deref())?);
    }
    Ok(ws)
}
