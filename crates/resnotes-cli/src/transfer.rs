//! `import`: notes brought in from other apps' files.

use std::io::IsTerminal;
use std::path::Path;

use anyhow::Result;
use resnotes_core::{ImportReport, Workspace};

/// `import PATH [--into NOTEBOOK] [--dry-run] [--json]`: a folder of Markdown files.
pub(crate) fn import(
    ws: &mut Workspace,
    path: &Path,
    into: Option<String>,
    dry_run: bool,
    json: bool,
) -> Result<()> {
    let into = match into {
        Some(q) => Some(ws.find_notebook(&q)?),
        None => None,
    };
    let tty = std::io::stderr().is_terminal();
    let mut last = std::time::Instant::now();
    let report = ws.import_markdown(path, into, dry_run, &mut |done, total| {
        if tty && (done == total || last.elapsed().as_millis() >= 200) {
            last = std::time::Instant::now();
            eprint!("\r{done} of {total} notes…");
            if done == total {
                eprintln!();
            }
        }
    })?;
    if json {
        out!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_report(&report, dry_run)?;
    }
    Ok(())
}

fn print_report(r: &ImportReport, dry_run: bool) -> Result<()> {
    let verb = if dry_run { "Would import" } else { "Imported" };
    out!(
        "{verb} {} notes into “{}” ({} notebooks for its folders, {} attachments); {} files skipped.",
        r.notes,
        r.notebook,
        r.notebooks,
        r.attachments,
        r.skipped
    );
    let lists = [
        (&r.problems, "1 file had a problem", "files had problems"),
        (&r.broken_links, "1 link names nothing in the folder", "links name nothing in the folder"),
    ];
    for (items, one, many) in lists {
        match items.len() {
            0 => continue,
            1 => out!("\n{one}:"),
            n => out!("\n{n} {many}:"),
        }
        for p in items {
            out!("  {}: {}", p.path, p.problem);
        }
    }
    Ok(())
}
