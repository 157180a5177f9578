//! `import` and `export`: notes brought in from other apps' files, and taken out as Markdown.

use std::io::IsTerminal;
use std::path::Path;

use anyhow::{Context, Result};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use resnotes_core::{ExportScope, ImportReport, Progress, Stage, Workspace};

/// `import PATH [--into NOTEBOOK] [--dry-run] [--json]`: a folder of Markdown files, a Joplin
/// export (.jex) or an Evernote export (.enex).
pub(crate) fn import(
    ws: &mut Workspace,
    path: &Path,
    into: Option<String>,
    dry_run: bool,
    json: bool,
    quiet: bool,
) -> Result<()> {
    let into = match into {
        Some(q) => Some(ws.find_notebook(&q)?),
        None => None,
    };
    let report = ws.import(path, into, dry_run, &mut progress(quiet)?)?;
    if json {
        out!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_report(&report, dry_run)?;
    }
    Ok(())
}

/// [`crate::words::count`] of a number of items (import and export reports count in `usize`).
fn count(n: usize, one: &str, many: &str) -> String {
    crate::words::count(n as u64, one, many)
}

fn print_report(r: &ImportReport, dry_run: bool) -> Result<()> {
    if r.cancelled {
        let came = count(r.notes, "note", "notes");
        out!("Stopped: {came} came in. Import the same again to bring in the rest.");
        return Ok(());
    }
    let verb = if dry_run { "Would import" } else { "Imported" };
    out!(
        "{verb} {} into “{}” ({}, {}); {} skipped.",
        count(r.notes, "note", "notes"),
        r.notebook,
        count(r.notebooks, "notebook", "notebooks"),
        count(r.attachments, "attachment", "attachments"),
        count(r.skipped, "file", "files")
    );
    if r.already_here > 0 {
        let n = count(r.already_here, "note was", "notes were");
        out!("{n} not imported again: they are here already.");
    }
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

/// `export DIR [--notebook N | --note ID…] [--json]`.
pub(crate) fn export(
    ws: &Workspace,
    dir: &Path,
    notebook: Option<String>,
    notes: Vec<String>,
    json: bool,
    quiet: bool,
) -> Result<()> {
    let scope = match notebook {
        Some(q) => ExportScope::Notebook(ws.find_notebook(&q)?),
        None if !notes.is_empty() => ExportScope::Notes(notes),
        None => ExportScope::All,
    };
    let r = ws.export_markdown(dir, &scope, &mut progress(quiet)?)?;
    if json {
        out!("{}", serde_json::to_string_pretty(&r)?);
        return Ok(());
    }
    if r.cancelled {
        out!("Stopped: {} written to {}.", count(r.notes, "note was", "notes were"), r.folder);
        return Ok(());
    }
    out!(
        "Exported {} to {} ({} for notebooks, {}).",
        count(r.notes, "note", "notes"),
        r.folder,
        count(r.notebooks, "folder", "folders"),
        count(r.attachments, "attachment", "attachments")
    );
    match r.problems.len() {
        0 => {}
        1 => out!("\n1 problem:"),
        n => out!("\n{n} problems:"),
    }
    for p in &r.problems {
        out!("  {}: {}", p.path, p.problem);
    }
    Ok(())
}

/// Progress on stderr while it runs — a bar on a terminal, a line as each stage starts
/// otherwise, nothing with `quiet` — and Ctrl-C stops the import or export at the next
/// file or chunk (what was written stays, and the report says so) instead of killing it midway.
fn progress(quiet: bool) -> Result<impl FnMut(Progress) -> bool> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst))
        .context("cannot install the Ctrl-C handler")?;
    let mut shown = Shown { tty: std::io::stderr().is_terminal(), quiet, stage: None, bar: None };
    Ok(move |p: Progress| {
        shown.show(&p);
        !stop.load(Ordering::SeqCst)
    })
}

/// What the progress display shows now.
struct Shown {
    tty: bool,
    quiet: bool,
    stage: Option<Stage>,
    bar: Option<indicatif::ProgressBar>,
}

impl Shown {
    fn show(&mut self, p: &Progress) {
        if self.quiet {
            return;
        }
        let what = match p.stage {
            Stage::Reading => "Reading files",
            Stage::ReadingExport => "Reading the export",
            Stage::Converting => "Converting notes",
            Stage::Writing => "Writing notes",
        };
        let bytes = p.stage == Stage::ReadingExport;
        if self.stage != Some(p.stage) {
            self.end();
            self.stage = Some(p.stage);
            if self.tty {
                let template = if bytes {
                    "{msg:20} [{bar:30}] {bytes} of {total_bytes}"
                } else {
                    "{msg:20} [{bar:30}] {human_pos} of {human_len}"
                };
                let bar = indicatif::ProgressBar::new(p.total as u64).with_message(what);
                if let Ok(style) = indicatif::ProgressStyle::with_template(template) {
                    bar.set_style(style.progress_chars("=> "));
                }
                self.bar = Some(bar);
            } else if bytes {
                eprintln!("{what} ({})…", indicatif::HumanBytes(p.total as u64));
            } else {
                eprintln!("{what} ({})…", p.total);
            }
        }
        if let Some(bar) = &self.bar {
            bar.set_length(p.total as u64);
            bar.set_position(p.done as u64);
        }
    }

    /// Clears the finished stage's bar (the next stage's, or the report, takes its place).
    fn end(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

impl Drop for Shown {
    fn drop(&mut self) {
        self.end();
    }
}
