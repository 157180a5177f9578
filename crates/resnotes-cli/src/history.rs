//! The commands of notes' history: `history`, `show --at`, `diff`, `restore` and `changes`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, Result};
use resnotes_core::{DiffKind, LinkState, VersionText, Workspace};

use crate::devices::who;
use crate::time;

/// `history ID`: the note's versions, newest first, one line each.
pub(crate) fn history(ws: &Workspace, id: &str, json: bool) -> Result<()> {
    let versions = ws.history(id)?;
    if json {
        out!("{}", serde_json::to_string_pretty(&versions)?);
        return Ok(());
    }
    let devices = ws.devices()?;
    for v in &versions {
        let (when, who) = (time_or_unknown(v.ended_at), who(&devices, v.this_device, &v.device));
        let at_once = if v.concurrent { "  (at the same time as the one below)" } else { "" };
        out!("{}  {when}  {who:<15}  {}{at_once}", &v.id[..8], v.summary);
    }
    Ok(())
}

/// A time as the history shows it; `None` (a clock not believed) as "time unknown".
fn time_or_unknown(ms: Option<i64>) -> String {
    ms.map(time).unwrap_or_else(|| "time unknown".into())
}

/// What `--at` names: a version id (hex), a time (`2026-12-04 09:30:00`, UTC, or RFC 3339) or
/// how long ago (`2h`, `3days`).
pub(crate) fn version_at(ws: &Workspace, id: &str, at: &str) -> Result<VersionText> {
    let at = at.trim();
    if at.len() >= 4 && at.chars().all(|c| c.is_ascii_hexdigit()) {
        return Ok(ws.version(id, at)?);
    }
    let ms = when(at)?;
    Ok(ws.version_at(id, ms)?)
}

/// A time as typed: `2026-12-04 09:30:00` (UTC) or RFC 3339, or how long ago (`2h`, `3days`);
/// ms since the Unix epoch.
fn when(at: &str) -> Result<i64> {
    let at = at.trim();
    let t = if let Ok(t) = humantime::parse_rfc3339_weak(at) {
        t
    } else if let Ok(ago) = humantime::parse_duration(at) {
        SystemTime::now().checked_sub(ago).unwrap_or(UNIX_EPOCH)
    } else {
        return Err(anyhow!(
            "“{at}” is neither a version (see `resnotes history`), a time like 2026-12-04 09:30:00 (UTC) nor a time ago like 2h"
        ));
    };
    Ok(t.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO).as_millis() as i64)
}

/// `show ID --at WHEN`.
pub(crate) fn show_at(ws: &Workspace, id: &str, at: &str, json: bool) -> Result<()> {
    let v = version_at(ws, id, at)?;
    if json {
        out!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        let trashed = if v.deleted { "  (in the trash at this version)" } else { "" };
        out!("# {}{trashed}\n\n{}", v.title, v.body);
    }
    Ok(())
}

/// `diff ID [FROM] [TO]`: removed words as `[-…-]`, added ones as `{+…+}`.
pub(crate) fn diff(
    ws: &Workspace,
    id: &str,
    from: Option<String>,
    to: Option<String>,
    json: bool,
) -> Result<()> {
    let c = ws.compare(id, from.as_deref(), to.as_deref())?;
    if json {
        out!("{}", serde_json::to_string_pretty(&c)?);
        return Ok(());
    }
    if let Some((old, new)) = &c.titles {
        out!("Title: [-{old}-]{{+{new}+}}\n");
    }
    let mut text = String::new();
    for part in &c.body {
        match part.kind {
            DiffKind::Added => text.push_str(&format!("{{+{}+}}", part.text)),
            DiffKind::Removed => text.push_str(&format!("[-{}-]", part.text)),
            DiffKind::Same => text.push_str(&part.text),
        }
    }
    out!("{text}");
    Ok(())
}

/// `restore ID --to VERSION`.
pub(crate) fn restore(ws: &mut Workspace, id: &str, to: &str) -> Result<()> {
    if ws.restore_version(id, to)? {
        eprintln!("Restored the note as it was at version {to}; the change syncs like any edit.");
    } else {
        eprintln!("The note already is as it was at version {to}; nothing changed.");
    }
    Ok(())
}

/// `changes [--since WHEN]`: what changed across all notes, newest first, by device.
pub(crate) fn changes(ws: &Workspace, since: &str, json: bool) -> Result<()> {
    let since = when(since)?;
    let items = ws.changes_since(since, 200)?;
    if json {
        out!("{}", serde_json::to_string_pretty(&items)?);
        return Ok(());
    }
    if items.is_empty() {
        eprintln!("Nothing changed since {}.", time(since));
    }
    let devices = ws.devices()?;
    for a in &items {
        let (at, who) = (time_or_unknown(a.at), who(&devices, a.this_device, &a.device));
        let state = if !a.synced { "  (waiting to sync)" } else { "" };
        let titles: Vec<String> = a
            .notes
            .iter()
            .map(|n| match n.state {
                LinkState::Live => n.title.clone(),
                LinkState::Trashed => format!("{} (in the trash)", n.title),
                LinkState::Missing => "a note not here any more".into(),
            })
            .collect();
        out!("{at}  {who:<15}  {}{state}", titles.join(", "));
    }
    Ok(())
}
