//! `resnotes verify [TARGET]`: reads back every entry and attachment this device knows of from
//! each target (or the one named) and says in plain words whether the target holds them intact,
//! with counts, and what is wrong where it is not. Exit status 4 when something is wrong.

use std::process::ExitCode;

use anyhow::{anyhow, Result};
use resnotes_core::{FindingKind, Verification, Workspace};

use crate::progress::Counter;
use crate::words::count;

/// Exit status of a verify that found something wrong (see the `--help` text).
pub(crate) const WRONG: u8 = 4;

/// Checks the targets and prints the outcome (JSON: one object per target).
pub(crate) fn verify(
    ws: &Workspace,
    target: Option<String>,
    json: bool,
    quiet: bool,
) -> Result<ExitCode> {
    let targets = match target {
        Some(q) => vec![ws.find_target(&q)?],
        None => ws.targets()?,
    };
    if targets.is_empty() {
        return Err(anyhow!("no sync target yet: add one with `resnotes target add folder PATH`"));
    }
    let mut results = Vec::new();
    let mut wrong = false;
    for t in &targets {
        let mut shown = Counter::new(quiet, format!("Checking {}", t.location));
        let v = ws.verify(&t.id, &mut |done, total| shown.set(done, total));
        drop(shown);
        match v {
            Ok(v) => {
                wrong |= !v.clean();
                results.push(v);
            }
            Err(e) if targets.len() == 1 => return Err(e.into()),
            Err(e) => {
                // One unreachable target does not hide what the others hold.
                eprintln!("{}: could not be checked: {e}", t.location);
                wrong = true;
            }
        }
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&results)?);
    } else {
        for v in &results {
            print!("{}", summary(v));
        }
    }
    Ok(if wrong { ExitCode::from(WRONG) } else { ExitCode::SUCCESS })
}

/// The report of one target: a verdict line, counts, then each problem on its own line.
fn summary(v: &Verification) -> String {
    let mut s = String::new();
    let verdict = if v.clean() {
        "holds everything this device has, intact"
    } else {
        "is not complete or not intact"
    };
    s.push_str(&format!("{}: {verdict}.\n", v.location));
    s.push_str(&format!(
        "  Entries: {} of {} intact",
        v.entries_ok,
        count(v.entries, "entry", "entries")
    ));
    s.push_str(&format!(
        "; attachments: {} of {} intact.\n",
        v.attachments_ok,
        count(v.attachments, "attachment", "attachments")
    ));
    let kinds = [
        (FindingKind::Missing, "missing"),
        (FindingKind::NotWritten, "not written there yet"),
        (FindingKind::CutShort, "cut short"),
        (FindingKind::Different, "different"),
        (FindingKind::Unreadable, "unreadable"),
        (FindingKind::Extra, "not part of the workspace"),
    ];
    let counts: Vec<String> = kinds
        .iter()
        .filter_map(|(k, word)| match v.count(*k) {
            0 => None,
            n => Some(format!("{n} {word}")),
        })
        .collect();
    if !counts.is_empty() {
        s.push_str(&format!("  Problems: {}.\n", counts.join(", ")));
    }
    for f in &v.findings {
        s.push_str(&format!("  - {} ({})\n", f.message, f.path));
    }
    if v.not_pulled > 0 {
        s.push_str(&format!(
            "  {} from other devices not on this device yet; `resnotes sync` brings them.\n",
            count(v.not_pulled, "entry", "entries")
        ));
    }
    if v.after_removal > 0 {
        s.push_str(&format!(
            "  {} written by a removed device after its removal, or by one not let in yet: every device refuses them.\n",
            count(v.after_removal, "entry", "entries")
        ));
    }
    if v.other_attachments > 0 {
        s.push_str(&format!(
            "  {} no note on this device links to (other devices' or deleted notes').\n",
            count(v.other_attachments, "attachment", "attachments")
        ));
    }
    if !v.leftovers.is_empty() {
        s.push_str(&format!(
            "  {} left by sync tools (harmless, never read): {}.\n",
            count(v.leftovers.len() as u64, "file", "files"),
            v.leftovers.join(", ")
        ));
    }
    s
}
