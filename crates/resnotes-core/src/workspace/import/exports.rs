//! Other apps' export files brought in: Evernote's ENEX ([`super::enex`] reads it) and
//! Joplin's JEX ([`super::jex`]). Each note becomes an [`Incoming`] note and is written as
//! the notes of a Markdown folder are ([`Workspace::write_notes`]): into a new notebook named
//! after the file (or the one chosen), a Joplin notebook as a notebook inside it, attachments
//! stored once each, links between notes made note links. A note brought in before (its
//! `source`: FORMAT.md §4.3) is not brought in again.
//!
//! Attachments are copied out of the file into a scratch folder inside the data dir, stored
//! (streamed, in bounded memory) and removed; the scratch folder goes when the import ends,
//! however it ends. Memory never holds an attachment, and holds notes' converted text only
//! until they are written: an ENEX's are written a thousand at a time as the file is read (its
//! attachments stored as they come), a JEX's once the archive is read (its attachments are all
//! copied out first, so it needs their size again on disk for a while). Attachments are
//! stored before the notes: an import stopped or failing midway leaves the ones stored so far
//! in this device's attachments, linked from no note.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use uuid::Uuid;

use super::shelves::Shelves;
use super::{book_name, enex, jex, FileProblem, ImportReport, Incoming, Progress, Stage};
use crate::docs::note;
use crate::error::{Error, Result};
use crate::format::asset::AssetRef;
use crate::store;
use crate::workspace::{Place, Workspace};

/// ENEX notes held before they are written (their text only): memory stays bounded whatever
/// the file's size.
const ENEX_BATCH: usize = 1000;

/// An ENEX import under way: the notes read and not yet written, and where they go.
struct EnexRun<'w, 'p> {
    ws: &'w mut Workspace,
    on_progress: &'p mut dyn FnMut(Progress) -> bool,
    report: ImportReport,
    batch: Vec<(Uuid, Incoming)>,
    /// Sources of the notes read (a note twice in one file comes in once).
    seen: std::collections::HashSet<String>,
    /// The notebook they go into, once made (on the first write).
    top: Option<Place>,
    into: Option<Place>,
    dry_run: bool,
    name: String,
    /// The user stopped it (the reader's error is then no failure).
    stopped: bool,
    /// Notes here already from an earlier import of the file, before the first write: the rest
    /// go beside them.
    earlier_notes: Vec<Uuid>,
}

impl EnexRun<'_, '_> {
    /// Writes the notes held (in a dry run, counts them), making the top notebook first if
    /// needed; progress stays in bytes of the file read so far.
    fn flush(&mut self, read: &std::cell::Cell<u64>, size: usize) -> Result<()> {
        let batch = std::mem::take(&mut self.batch);
        if batch.is_empty() {
            return Ok(());
        }
        if self.dry_run {
            self.report.notes += batch.len();
            return Ok(());
        }
        if self.top.is_none() {
            let earlier = match self.into {
                None if !self.earlier_notes.is_empty() => Shelves::read(self.ws)?.earlier_top(
                    &self.ws.replica.conn,
                    &book_name(&self.name, true),
                    self.earlier_notes.iter().map(|note| (0, *note)),
                )?,
                _ => None,
            };
            self.top = match earlier {
                Some(book) => Some(Place::Notebook(book)),
                None => self.ws.top_notebook(self.into, &self.name, true)?,
            };
        }
        let top = self.top.unwrap_or(Place::Default);
        let on_progress = &mut *self.on_progress;
        let mut at = |_: Progress| {
            on_progress(Progress {
                stage: Stage::ReadingExport,
                done: read.get() as usize,
                total: size,
            })
        };
        let written =
            self.ws.write_notes(&batch, &HashMap::new(), top, &mut self.report, &mut at)?;
        self.report.notes += written;
        if self.report.cancelled {
            self.stopped = true;
            return Err(Error::Stopped);
        }
        Ok(())
    }
}

/// A folder for the attachments being copied out of an export, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(data_dir: &Path) -> Result<Self> {
        let dir = data_dir.join(format!("import-{}", Uuid::new_v4()));
        std::fs::create_dir_all(&dir).map_err(|e| {
            Error::Invalid(format!(
                "a working folder could not be made in {}: {e}",
                data_dir.display()
            ))
        })?;
        Ok(Scratch(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A file's name without its extension: the notebook its notes go into.
fn stem(path: &Path) -> String {
    path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default()
}

/// Counts the bytes read, for progress through a file of known size.
struct Counted<R> {
    inner: R,
    read: std::rc::Rc<std::cell::Cell<u64>>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.set(self.read.get() + n as u64);
        Ok(n)
    }
}

fn open(path: &Path, what: &str) -> Result<File> {
    File::open(path).map_err(|e| {
        Error::Invalid(format!("the {what} {} could not be read ({e})", path.display()))
    })
}

/// True when notebook `id`, or one it is in, is in Joplin's trash (a cycle of parents counts
/// as the trash: it cannot be placed).
fn in_trash<'a>(books: &HashMap<&'a str, &'a jex::Notebook>, mut id: Option<&'a str>) -> bool {
    let mut depth = 0;
    while let Some(b) = id.and_then(|i| books.get(i)) {
        if b.in_trash || depth > books.len() {
            return true;
        }
        id = b.parent_id.as_deref();
        depth += 1;
    }
    false
}

/// Tags as stored, each once.
fn tags_of(names: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut tags: Vec<String> = Vec::new();
    for t in names.into_iter().filter_map(|t| note::tag_name(&t)) {
        if !tags.contains(&t) {
            tags.push(t);
        }
    }
    tags
}

impl Workspace {
    /// The top notebook of an import: `into`, or a new one named `name` (none in a dry run,
    /// or when nothing is to come in).
    fn top_notebook(
        &mut self,
        into: Option<Place>,
        name: &str,
        make: bool,
    ) -> Result<Option<Place>> {
        Ok(match into {
            Some(p) => Some(p),
            None if make => {
                Some(Place::Notebook(self.add_notebook(&book_name(name, true), Place::Default)?))
            }
            None => None,
        })
    }

    /// Imports an Evernote export (`.enex`) into a new notebook named after the file, or into
    /// `into` (see [`Workspace::import`]).
    pub(super) fn import_enex(
        &mut self,
        path: &Path,
        into: Option<Place>,
        dry_run: bool,
        on_progress: &mut dyn FnMut(Progress) -> bool,
    ) -> Result<ImportReport> {
        let file = open(path, "Evernote export")?;
        let size = file.metadata().map(|m| m.len()).unwrap_or(0) as usize;
        let read = std::rc::Rc::new(std::cell::Cell::new(0u64));
        let reader = BufReader::new(Counted { inner: file, read: read.clone() });
        let scratch = Scratch::new(self.dir())?;
        let name = stem(path);
        let shown = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let now = (self.replica.clock)();
        // Both callbacks of the reader work on the workspace and the report, one at a time.
        let run = std::cell::RefCell::new(EnexRun {
            ws: self,
            on_progress,
            report: ImportReport::default(),
            batch: Vec::new(),
            seen: std::collections::HashSet::new(),
            top: None,
            into,
            dry_run,
            name: name.clone(),
            stopped: false,
            earlier_notes: Vec::new(),
        });
        let mut attach = |r: &enex::Resource| -> Option<String> {
            let mut run = run.borrow_mut();
            run.report.attachments += 1;
            if run.dry_run {
                return Some(String::new());
            }
            match run.ws.add_asset(&r.path, &r.name, Some(&r.mime)) {
                Ok(a) => {
                    run.report.stored.push(a.id);
                    Some(a.markdown())
                }
                Err(e) => {
                    let problem = format!("the attachment “{}” could not be stored: {e}", r.name);
                    run.report.problems.push(FileProblem { path: shown.clone(), problem });
                    None
                }
            }
        };
        let mut on_note = |n: enex::Note| -> Result<()> {
            let mut run = run.borrow_mut();
            let at =
                Progress { stage: Stage::ReadingExport, done: read.get() as usize, total: size };
            if !(run.on_progress)(at) {
                run.stopped = true;
                return Err(Error::Stopped);
            }
            for why in n.problems {
                let path = format!("{shown} › {}", n.title);
                run.report.problems.push(FileProblem { path, problem: why });
            }
            let here = store::notes::live_note_with_source(&run.ws.replica.conn, &n.source)?;
            if here.is_some() || !run.seen.insert(n.source.clone()) {
                if let (Some(note), None) = (here, run.top) {
                    run.earlier_notes.push(note);
                }
                run.report.already_here += 1;
                return Ok(());
            }
            let updated = n.updated.or(n.created).unwrap_or(now);
            let note = Incoming {
                title: n.title,
                body: n.body,
                tags: tags_of(n.tags),
                created: n.created.unwrap_or(updated),
                updated,
                pinned: false,
                source: n.source,
                dir: PathBuf::new(),
            };
            run.batch.push((Uuid::new_v4(), note));
            if run.batch.len() >= ENEX_BATCH {
                run.flush(&read, size)?;
            }
            Ok(())
        };
        let outcome = enex::read(reader, &scratch.0, &mut attach, &mut on_note);
        drop(scratch);
        let mut run = run.into_inner();
        match outcome {
            Err(Error::Stopped) if run.stopped => run.report.cancelled = true,
            Err(e) => return Err(e),
            Ok(summary) => {
                let problems = summary.problems.into_iter();
                run.report
                    .problems
                    .extend(problems.map(|p| FileProblem { path: shown.clone(), problem: p }));
                match run.flush(&read, size) {
                    Err(Error::Stopped) if run.stopped => {}
                    other => other?,
                }
            }
        }
        let mut report = std::mem::take(&mut run.report);
        report.notebook = run.ws.top_name(run.top, &name)?;
        Ok(report)
    }

    /// Imports a Joplin export (`.jex`) into a new notebook named after the file, or into
    /// `into`: Joplin's notebooks become notebooks inside it, tags tags, to-dos get the tag
    /// `todo` (and `done` once done), links to notes and attachments (`:/id`) note links and
    /// attachments. Notes and notebooks in Joplin's trash are skipped.
    pub(super) fn import_jex(
        &mut self,
        path: &Path,
        into: Option<Place>,
        dry_run: bool,
        on_progress: &mut dyn FnMut(Progress) -> bool,
    ) -> Result<ImportReport> {
        let file = open(path, "Joplin export")?;
        let size = file.metadata().map(|m| m.len()).unwrap_or(0) as usize;
        let read = std::rc::Rc::new(std::cell::Cell::new(0u64));
        let reader = BufReader::new(Counted { inner: file, read: read.clone() });
        let scratch = Scratch::new(self.dir())?;
        // Followed in bytes of the archive read, as an Evernote export's.
        let mut go_on = || {
            let done = read.get() as usize;
            on_progress(Progress { stage: Stage::ReadingExport, done, total: size })
        };
        let archive = match jex::read(reader, &scratch.0, &mut go_on) {
            Err(Error::Stopped) => {
                return Ok(ImportReport { cancelled: true, ..Default::default() })
            }
            other => other?,
        };
        let name = stem(path);
        let mut report = ImportReport {
            problems: archive
                .problems
                .iter()
                .map(|(path, problem)| FileProblem { path: path.clone(), problem: problem.clone() })
                .collect(),
            ..Default::default()
        };
        // Notebooks in the trash, and their notebooks and notes, stay out.
        let books: HashMap<&str, &jex::Notebook> =
            archive.notebooks.iter().map(|b| (b.id.as_str(), b)).collect();
        let trashed = |id: Option<&str>| in_trash(&books, id);
        let mut notes: Vec<&jex::JexNote> = Vec::new();
        // Each Joplin note's id here: new, or the note it became on an earlier import (links
        // to it still find it).
        let mut ids: HashMap<&str, Uuid> = HashMap::new();
        // The notes here already: (their Joplin notebook, their id here).
        let mut present: Vec<(Option<&str>, Uuid)> = Vec::new();
        for n in &archive.notes {
            let source = format!("jex:{}", n.id);
            if n.in_trash || trashed(n.parent_id.as_deref()) {
                report.skipped += 1;
            } else if let Some(id) =
                store::notes::live_note_with_source(&self.replica.conn, &source)?
            {
                report.already_here += 1;
                ids.insert(n.id.as_str(), id);
                present.push((n.parent_id.as_deref(), id));
            } else {
                notes.push(n);
                ids.insert(n.id.as_str(), Uuid::new_v4());
            }
        }
        // Notes here already from an earlier import of this file (one stopped halfway, or
        // an export made again later): the rest go beside them, into the notebooks it made.
        let shelves = if report.already_here > 0 { Some(Shelves::read(self)?) } else { None };
        let depth = |parent: Option<&str>| {
            std::iter::successors(parent, |p| books.get(p).and_then(|b| b.parent_id.as_deref()))
                .take_while(|p| books.contains_key(p))
                .take(books.len())
                .count()
        };
        let earlier = match (&shelves, into) {
            (Some(s), None) => s.earlier_top(
                &self.replica.conn,
                &book_name(&name, true),
                present.iter().map(|(parent, id)| (depth(*parent), *id)),
            )?,
            _ => None,
        };
        // The notebooks this import makes, parents first (a stop before any note is written
        // removes them again).
        let mut created: Vec<Uuid> = Vec::new();
        let top = match earlier {
            Some(book) => Some(Place::Notebook(book)),
            None => self.top_notebook(into, &name, !dry_run && !notes.is_empty())?,
        };
        if let (None, None, Some(Place::Notebook(book))) = (into, earlier, top) {
            created.push(book);
        }
        report.notebook = self.top_name(top, &name)?;
        // Joplin's notebooks, parents before children (a parent not in the export, or a
        // cycle, puts a notebook at the top of the import).
        let live: Vec<&jex::Notebook> =
            archive.notebooks.iter().filter(|b| !trashed(Some(b.id.as_str()))).collect();
        report.notebooks = live.len();
        let mut made: HashMap<PathBuf, Place> = HashMap::new();
        if let Some(top) = top.filter(|_| !dry_run) {
            let mut left: Vec<&jex::Notebook> = live.clone();
            while !left.is_empty() {
                let before = left.len();
                let mut stuck = Vec::new();
                for b in left {
                    let parent = b.parent_id.as_deref().filter(|p| books.contains_key(p));
                    let in_place = match parent {
                        None => Some(top),
                        Some(p) => made.get(Path::new(p)).copied(),
                    };
                    match in_place {
                        Some(place) => {
                            let name = book_name(&b.title, place == Place::Default);
                            let again = shelves.as_ref().and_then(|s| s.named(place, &name));
                            let id = match again {
                                Some(id) => id,
                                None => {
                                    let id = self.add_notebook(&name, place)?;
                                    created.push(id);
                                    id
                                }
                            };
                            made.insert(PathBuf::from(&b.id), Place::Notebook(id));
                        }
                        None => stuck.push(b),
                    }
                }
                if stuck.len() == before {
                    // A cycle of parents: the first goes to the top.
                    let b = stuck.remove(0);
                    let id = self.add_notebook(&book_name(&b.title, top == Place::Default), top)?;
                    made.insert(PathBuf::from(&b.id), Place::Notebook(id));
                    created.push(id);
                }
                left = stuck;
            }
        }
        // Convert: `:/id` links become note links and attachments.
        let total = notes.len();
        let mut attached: HashMap<String, Option<AssetRef>> = HashMap::new();
        let mut incoming: Vec<(Uuid, Incoming)> = Vec::with_capacity(total);
        let now = (self.replica.clock)();
        for (done, n) in notes.iter().enumerate() {
            if !on_progress(Progress { stage: Stage::Converting, done, total }) {
                // Nothing is written yet but the notebooks made for it: they go again.
                self.remove_notebooks(&created)?;
                return Ok(report.stopped_before_writing(attached.values()));
            }
            let mut problems = Vec::new();
            let body = jex::rewrite_links(&n.body, &mut |id, _image| {
                if let Some(to) = ids.get(id) {
                    return Some(format!("note:{to}"));
                }
                let r = archive.resources.get(id)?;
                let a = attached.entry(id.to_string()).or_insert_with(|| {
                    if dry_run {
                        return None;
                    }
                    match self.add_asset(&r.path, &r.name, Some(&r.mime)) {
                        Ok(a) => Some(a),
                        Err(e) => {
                            problems.push(format!(
                                "its attachment “{}” could not be stored: {e}",
                                r.name
                            ));
                            None
                        }
                    }
                });
                a.as_ref().map(AssetRef::to_url)
            });
            for p in problems {
                report.problems.push(FileProblem { path: format!("{}.md", n.id), problem: p });
            }
            let mut tags = n.tags.clone();
            if n.is_todo {
                tags.push("todo".into());
                if n.todo_completed {
                    tags.push("done".into());
                }
            }
            let updated = n.updated.or(n.created).unwrap_or(now);
            let dir = n.parent_id.as_deref().map(PathBuf::from).unwrap_or_default();
            incoming.push((
                ids[n.id.as_str()],
                Incoming {
                    title: n.title.clone(),
                    body,
                    tags: tags_of(tags),
                    created: n.created.unwrap_or(updated),
                    updated,
                    pinned: false,
                    source: format!("jex:{}", n.id),
                    dir,
                },
            ));
        }
        // Every resource a note links to has its entry (none is stored in a dry run).
        report.attachments = if dry_run {
            attached.len()
        } else {
            attached.values().filter(|a| a.is_some()).count()
        };
        report.skipped += archive.resources.len().saturating_sub(report.attachments);
        report.stored = attached.values().flatten().map(|a| a.id).collect();
        report.notes = incoming.len();
        drop(scratch);
        let Some(top) = top.filter(|_| !dry_run) else { return Ok(report) };
        report.notes = self.write_notes(&incoming, &made, top, &mut report, on_progress)?;
        Ok(report)
    }
}
