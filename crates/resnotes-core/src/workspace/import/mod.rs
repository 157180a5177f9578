//! Bringing notes in from other apps. A **Markdown folder** (an Obsidian vault, Logseq pages,
//! Joplin's "Markdown + Front Matter" export, any folder of `.md` files) is read in three
//! steps:
//! 1. [`scan`]: the folder's notes (`.md`, `.markdown`) and other files, in path order; hidden
//!    files and folders (`.obsidian/`, `.trash/`, `.git/`) are skipped and links to elsewhere
//!    (symlinks) are not followed.
//! 2. Each note is read and given its id, and only notes read are named, so links between them
//!    resolve; notebooks are made for their folders before anything else is written. Then
//!    ([`markdown`]) front matter (title, tags, aliases, created, updated) is taken out of the
//!    text, inline `#tags` gathered, `[[wikilinks]]` and relative links to other notes made note
//!    links (`[label](note:ID)`), embedded and linked files attached with their links
//!    rewritten. A file not in UTF-8 is read as Windows-1252 (unless only a few bytes are bad).
//! 3. The notes are written a few hundred per transaction, each in the notebook made for its
//!    folder, inside a new notebook named after the imported folder (or the one chosen). Each
//!    note's one change is written directly ([`crate::docs::Replica::create_each`]).
//!
//! Nothing already in the workspace changes. The [`ImportReport`] counts what came in and says,
//! one sentence each, what could not be read and which links name nothing in the folder.
//!
//! Importing again brings in only what is not here yet (each note records its `source`), into
//! the notebooks the earlier import made ([`shelves`]): an import stopped halfway goes on where
//! it stopped. A stopped import keeps the notes it wrote and removes the attachments it stored
//! for the notes it did not write (a failed one keeps those too).

mod enex;
mod exports;
mod jex;
mod markdown;
mod shelves;

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

use serde::Serialize;
use ts_rs::TS;
use uuid::Uuid;

use super::{Place, Workspace};
use crate::docs::note;
use crate::error::{Error, Result};
use crate::format::asset::AssetRef;
use crate::store;
use markdown::{Link, LinkKind};
use shelves::Shelves;

/// Feeds `data` to each parser of imported files, as a hostile file reaches them: a Markdown
/// note's front matter and links, an Evernote export and a Joplin export (their attachments
/// written under `scratch`). For the fuzz targets (`crate::fuzzing::import_file`).
pub(crate) fn parse_any(data: &[u8], scratch: &Path) {
    let (text, _) = decode(data);
    let split = markdown::split_front_matter(&text);
    let _ = markdown::rewrite(&split.body, &mut |_| None);
    let _ = enex::read(data, scratch, &mut |_| Some(String::new()), &mut |_| Ok(()));
    if let Ok(archive) = jex::read(data, scratch, &mut || true) {
        for n in &archive.notes {
            let _ = jex::rewrite_links(&n.body, &mut |_, _| Some(String::new()));
        }
    }
}

/// The largest note file imported (64 MB).
const MAX_NOTE_BYTES: u64 = 64 << 20;

/// Notes written per transaction.
const WRITE_CHUNK: usize = 100;

/// What an import or export is doing, for a progress bar.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq, TS)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Reading the files (an import; nothing is written yet).
    Reading,
    /// Reading an export file (Evernote's): `done` and `total` count its bytes.
    ReadingExport,
    /// Converting the notes read and attaching the files they link to (an import).
    Converting,
    /// Writing the notes (into the workspace, or an export's files).
    Writing,
}

/// How far an import or export has got: `done` of `total` files read or notes written.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq, TS)]
pub struct Progress {
    /// What it is doing.
    pub stage: Stage,
    /// Done so far.
    #[ts(type = "number")]
    pub done: usize,
    /// In all.
    #[ts(type = "number")]
    pub total: usize,
}

/// What an import brought in, and what it could not.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq, TS)]
pub struct ImportReport {
    /// The notebook the notes went into.
    pub notebook: String,
    /// Notes imported (or, in a dry run, that would be).
    pub notes: usize,
    /// Notebooks made for the folder's sub-folders.
    pub notebooks: usize,
    /// Files attached.
    pub attachments: usize,
    /// Files skipped: hidden files and folders (each counted once), and files no note links
    /// to.
    pub skipped: usize,
    /// Notes not imported because they are here already: imported before from the same file,
    /// or exported from this workspace (their front matter names a note that is here).
    pub already_here: usize,
    /// True when the import was stopped before the end: the notes counted came in (importing
    /// the same files again brings in the rest).
    pub cancelled: bool,
    /// Files that could not be read or were read with a problem, one sentence each.
    pub problems: Vec<FileProblem>,
    /// Links that name no note or file in the folder (left as written).
    pub broken_links: Vec<FileProblem>,
    /// The attachments this import stored (a stop removes those no note links to).
    #[serde(skip)]
    #[ts(skip)]
    pub(crate) stored: Vec<crate::format::asset::AssetId>,
}

impl ImportReport {
    /// This report for an import stopped before it wrote a note: nothing came in but the
    /// attachments it stored (`attached`; the stop removes them again).
    fn stopped_before_writing<'a>(
        self,
        attached: impl Iterator<Item = &'a Option<AssetRef>>,
    ) -> Self {
        let stored = attached.flatten().map(|a| a.id).collect();
        ImportReport { cancelled: true, notes: 0, notebooks: 0, stored, ..self }
    }
}

/// One file's problem.
#[derive(Clone, Debug, Serialize, PartialEq, Eq, TS)]
pub struct FileProblem {
    /// The file, relative to the imported folder.
    pub path: String,
    /// What is wrong, in one sentence.
    pub problem: String,
}

/// What [`scan`] found.
#[derive(Debug, Default)]
struct Scan {
    /// Note files, relative to the folder, in path order.
    notes: Vec<PathBuf>,
    /// Other files, relative to the folder.
    files: Vec<PathBuf>,
    /// Folders with nothing in them (an empty notebook, exported).
    empty_dirs: Vec<PathBuf>,
    skipped: usize,
    problems: Vec<FileProblem>,
}

/// A path as shown and as looked up: `/`-separated.
fn slashed(p: &Path) -> String {
    p.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/")
}

fn problem(path: &Path, problem: impl Into<String>) -> FileProblem {
    FileProblem { path: slashed(path), problem: problem.into() }
}

/// Lists the notes and other files under `root` (see the module doc).
fn scan(root: &Path) -> Result<Scan> {
    if !root.is_dir() {
        return Err(Error::Invalid(format!(
            "{} is not a folder; choose the folder that holds your Markdown files",
            root.display()
        )));
    }
    let mut s = Scan::default();
    let hidden = std::cell::Cell::new(0);
    let walk = walkdir::WalkDir::new(root).follow_links(false).sort_by_file_name();
    let shown = |e: &walkdir::DirEntry| {
        let name = e.file_name().to_string_lossy();
        // Logseq keeps backups of its pages beside them (logseq/bak, logseq/version-files).
        let backups = e.file_type().is_dir()
            && matches!(name.as_ref(), "bak" | "version-files")
            && e.path().parent().and_then(|p| p.file_name()).is_some_and(|p| p == "logseq");
        let h = e.depth() > 0 && (name.starts_with('.') || backups);
        hidden.set(hidden.get() + usize::from(h));
        !h
    };
    for entry in walk.into_iter().filter_entry(shown) {
        let e = match entry {
            Ok(e) => e,
            Err(err) => {
                let at =
                    err.path().and_then(|p| p.strip_prefix(root).ok()).unwrap_or(Path::new(""));
                s.problems.push(problem(at, format!("it could not be read ({err}).")));
                continue;
            }
        };
        let rel = e.path().strip_prefix(root).unwrap_or(e.path()).to_path_buf();
        let kind = e.file_type();
        if kind.is_dir() {
            let empty = std::fs::read_dir(e.path()).is_ok_and(|mut d| d.next().is_none());
            if empty && e.depth() > 0 {
                s.empty_dirs.push(rel);
            }
            continue;
        }
        if kind.is_symlink() {
            s.problems
                .push(problem(&rel, "it is a link to a file elsewhere and was not followed."));
            continue;
        }
        if !kind.is_file() {
            s.problems
                .push(problem(&rel, "it is not a file (a pipe or a device) and was skipped."));
            continue;
        }
        let ext = rel.extension().map(|x| x.to_string_lossy().to_lowercase());
        if matches!(ext.as_deref(), Some("md" | "markdown")) {
            s.notes.push(rel);
        } else {
            s.files.push(rel);
        }
    }
    s.skipped = hidden.get();
    Ok(s)
}

/// Joins `rel` (a link's path) to `dir` inside the folder; `None` when it leaves the folder.
fn inside(dir: &Path, rel: &str) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in dir.join(rel.replace('\\', "/")).components() {
        match c {
            Component::Normal(p) => out.push(p),
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::CurDir => {}
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(out)
}

/// The notes or files of a folder by the paths and names links use for them (lowercase).
struct Names<T> {
    /// By path (a note's without its extension).
    paths: HashMap<String, T>,
    /// By file name (a note's without extension, and its aliases), with each one's path.
    names: HashMap<String, Vec<(String, T)>>,
}

impl<T: Clone> Names<T> {
    fn new() -> Self {
        Self { paths: HashMap::new(), names: HashMap::new() }
    }

    /// Adds one under its path (lowercase, `/`-separated) and its name.
    fn add(&mut self, path: &str, name: &str, value: T) {
        self.paths.entry(path.to_string()).or_insert_with(|| value.clone());
        self.names.entry(name.to_lowercase()).or_default().push((path.to_string(), value));
    }

    /// What `target` names from a note in `dir`: a path from there, a path from the top, or a
    /// name — in the same folder first, then the one with the shortest path (as Obsidian
    /// links).
    fn find(&self, dir: &Path, target: &str) -> Option<T> {
        let t = target.trim().replace('\\', "/").to_lowercase();
        let from_dir = inside(dir, &t).map(|p| slashed(&p).to_lowercase());
        if let Some(v) = from_dir.and_then(|p| self.paths.get(&p)) {
            return Some(v.clone());
        }
        if let Some(v) = self.paths.get(t.trim_start_matches('/')) {
            return Some(v.clone());
        }
        let here = slashed(dir).to_lowercase();
        let candidates = self.names.get(t.rsplit('/').next().unwrap_or(&t))?;
        candidates
            .iter()
            .min_by_key(|(p, _)| {
                let folder = p.rsplit_once('/').map_or("", |(d, _)| d);
                (folder != here, p.matches('/').count(), p.clone())
            })
            .map(|(_, v)| v.clone())
    }
}

fn without_md(p: &str) -> &str {
    let lower = p.to_ascii_lowercase();
    if lower.ends_with(".md") {
        &p[..p.len() - 3]
    } else if lower.ends_with(".markdown") {
        &p[..p.len() - 9]
    } else {
        p
    }
}

/// A note file read.
struct Read {
    rel: PathBuf,
    id: Uuid,
    split: markdown::Split,
    /// When the file was last changed (ms since the Unix epoch).
    file_time: i64,
    /// Where it was read from ([`FileText`]).
    source: String,
}

/// A folder's name as a notebook's: as it is when it can be one, and never the default
/// notebook's name at the top level.
fn book_name(folder: &str, top_level: bool) -> String {
    let name = note::notebook_name(folder).unwrap_or_else(|| "Imported notes".to_string());
    if top_level && name.eq_ignore_ascii_case(super::DEFAULT_NOTEBOOK) {
        format!("{name} (imported)")
    } else {
        name
    }
}

/// A note converted and ready to write.
struct Incoming {
    title: String,
    body: String,
    tags: Vec<String>,
    created: i64,
    updated: i64,
    pinned: bool,
    source: String,
    /// Its folder, relative to the imported one.
    dir: PathBuf,
}

/// A file's text: UTF-8 (a byte-order mark dropped), UTF-16 with its mark, else Windows-1252
/// (with a problem saying so, as for a UTF-8 file with a few damaged bytes).
fn decode(bytes: &[u8]) -> (String, Option<String>) {
    if let Some((text, _)) = encoding_rs::Encoding::for_bom(bytes) {
        let (s, _, bad) = text.decode(bytes);
        let why =
            bad.then(|| format!("parts of it were not valid {}; they show as �.", text.name()));
        return (s.into_owned(), why);
    }
    if let Ok(s) = std::str::from_utf8(bytes) {
        return (s.to_string(), None);
    }
    // A UTF-8 file with a few damaged bytes stays UTF-8; one with no UTF-8 sequence of several
    // bytes at all was written in a legacy encoding.
    let lossy = String::from_utf8_lossy(bytes);
    if lossy.chars().any(|c| !c.is_ascii() && c != char::REPLACEMENT_CHARACTER) {
        let why = "a few of its bytes were not valid UTF-8; they show as �.".to_string();
        return (lossy.into_owned(), Some(why));
    }
    let (s, _, _) = encoding_rs::WINDOWS_1252.decode(bytes);
    let why = "it was not UTF-8 and was read as Windows-1252 (Western European).".to_string();
    (s.into_owned(), Some(why))
}

/// A note file read: its text, why it was read with a problem, and its `source` (FORMAT.md
/// §4.3: the SHA-256 of its path in the folder, lowercased, a zero byte and its bytes).
struct FileText {
    text: String,
    why: Option<String>,
    source: String,
}

/// Reads the note file `rel` under `root`: at most [`MAX_NOTE_BYTES`], decoded; or why it
/// cannot be read.
fn read_note(root: &Path, rel: &Path) -> std::result::Result<FileText, String> {
    use sha2::Digest;
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(root.join(rel))
        .and_then(|f| f.take(MAX_NOTE_BYTES + 1).read_to_end(&mut bytes))
        .map_err(|e| format!("it could not be read ({e})."))?;
    if bytes.len() as u64 > MAX_NOTE_BYTES {
        return Err("it is too large; notes of up to 64 MB are imported.".into());
    }
    let mut h = sha2::Sha256::new();
    h.update(slashed(rel).to_lowercase().as_bytes());
    h.update([0]);
    h.update(&bytes);
    let source = format!("markdown:{}", crate::format::asset::hex(&h.finalize()));
    let (text, why) = decode(&bytes);
    Ok(FileText { text, why, source })
}

fn mtime(path: &Path) -> Option<i64> {
    let t = std::fs::metadata(path).ok()?.modified().ok()?;
    Some(t.duration_since(std::time::UNIX_EPOCH).ok()?.as_millis() as i64)
}

impl Workspace {
    /// Imports what `path` is: a folder of Markdown files ([`Workspace::import_markdown`]), a
    /// Joplin export (`.jex`) or an Evernote export (`.enex`); anything else is refused in one
    /// sentence saying what can be imported.
    pub fn import(
        &mut self,
        path: &Path,
        into: Option<Place>,
        dry_run: bool,
        on_progress: &mut dyn FnMut(Progress) -> bool,
    ) -> Result<ImportReport> {
        // Notes listed from summaries (a device that joined) say where they were imported
        // from once the search index has read them.
        while self.replica.index_pending(500).map(|(done, all)| done < all)? {}
        if path.is_dir() {
            return self.import_markdown(path, into, dry_run, on_progress);
        }
        let ext = path.extension().map(|e| e.to_string_lossy().to_lowercase());
        match ext.as_deref() {
            Some("enex") => {
                self.tidy_import(dry_run, |ws| ws.import_enex(path, into, dry_run, on_progress))
            }
            Some("jex") => {
                self.tidy_import(dry_run, |ws| ws.import_jex(path, into, dry_run, on_progress))
            }
            _ if !path.exists() => Err(Error::Invalid(format!("{} does not exist", path.display()))),
            _ => Err(Error::Invalid(format!(
                "{} cannot be imported: choose a folder of Markdown files (an Obsidian vault, Logseq pages, a Joplin Markdown export), a Joplin export (.jex) or an Evernote export (.enex)",
                path.display()
            ))),
        }
    }

    /// Imports a folder of Markdown files (see the module doc) into a new notebook named after
    /// it, or into `into`. With `dry_run`, reads everything and reports what would come in, but
    /// writes nothing. `on_progress` follows the files read, then the notes written, and stops
    /// the import by returning false: while reading, nothing is written; while writing, the
    /// notes written so far stay (a chunk at a time).
    pub fn import_markdown(
        &mut self,
        root: &Path,
        into: Option<Place>,
        dry_run: bool,
        on_progress: &mut dyn FnMut(Progress) -> bool,
    ) -> Result<ImportReport> {
        self.tidy_import(dry_run, |ws| ws.markdown_folder(root, into, dry_run, on_progress))
    }

    /// Runs an import. One that was stopped leaves no attachment it stored that none of the
    /// notes it wrote links to (each would otherwise be sent to every device). (One that
    /// failed keeps them: its report, which names them, is lost with the error.)
    fn tidy_import(
        &mut self,
        dry_run: bool,
        run: impl FnOnce(&mut Self) -> Result<ImportReport>,
    ) -> Result<ImportReport> {
        let first_asset = self.replica.next_asset_index()?;
        let mut report = run(self)?;
        if dry_run || !report.cancelled {
            return Ok(report);
        }
        match self.replica.drop_unlinked_assets(first_asset, &report.stored) {
            Ok(dropped) => report.attachments = report.attachments.saturating_sub(dropped),
            Err(e) => tracing::warn!("attachments of a stopped import stay: {e}"),
        }
        Ok(report)
    }

    /// [`Workspace::import_markdown`] but for what a stop leaves.
    fn markdown_folder(
        &mut self,
        root: &Path,
        into: Option<Place>,
        dry_run: bool,
        on_progress: &mut dyn FnMut(Progress) -> bool,
    ) -> Result<ImportReport> {
        let scan = scan(root)?;
        let mut report = ImportReport { problems: scan.problems, ..Default::default() };
        // Read every note; only notes read are named (a link to one that was not stays).
        let mut read: Vec<Read> = Vec::with_capacity(scan.notes.len());
        // Notes here already (path, id, aliases): links name them as before.
        let mut present: Vec<(PathBuf, Uuid, Vec<String>)> = Vec::new();
        let files = scan.notes.len();
        for (done, rel) in scan.notes.iter().enumerate() {
            if !on_progress(Progress { stage: Stage::Reading, done, total: files }) {
                report.cancelled = true;
                return Ok(report);
            }
            let path = root.join(rel);
            match read_note(root, rel) {
                Ok(FileText { text, why, source }) => {
                    if let Some(why) = why {
                        report.problems.push(problem(rel, why));
                    }
                    let split = markdown::split_front_matter(&text);
                    // Here already: not imported again, but links to it still find it.
                    let here =
                        match store::notes::live_note_with_source(&self.replica.conn, &source)? {
                            Some(id) => Some(id),
                            None => match split.front.id.filter(|_| split.front.ours) {
                                Some(id) if self.is_live_note(id)? => Some(id),
                                _ => None,
                            },
                        };
                    if let Some(id) = here {
                        report.already_here += 1;
                        present.push((rel.clone(), id, split.front.aliases));
                        continue;
                    }
                    if let Some(why) = &split.problem {
                        report.problems.push(problem(rel, why.clone()));
                    }
                    let file_time = mtime(&path).unwrap_or_else(|| (self.replica.clock)());
                    let id = Uuid::new_v4();
                    read.push(Read { rel: rel.clone(), id, split, file_time, source });
                }
                Err(why) => report.problems.push(problem(rel, why)),
            }
        }
        let mut notes = Names::new();
        for r in &read {
            let path = slashed(&r.rel).to_lowercase();
            let stem =
                r.rel.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            notes.add(without_md(&path), &stem, r.id);
        }
        for (rel, id, _) in &present {
            let path = slashed(rel).to_lowercase();
            let stem =
                rel.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            notes.add(without_md(&path), &stem, *id);
        }
        let aliases = read
            .iter()
            .map(|r| (&r.rel, r.id, &r.split.front.aliases))
            .chain(present.iter().map(|(rel, id, a)| (rel, *id, a)));
        for (rel, id, names) in aliases {
            let path = slashed(rel).to_lowercase();
            for a in names {
                notes.add(without_md(&path), a.trim(), id);
            }
        }
        let mut files = Names::new();
        for rel in &scan.files {
            let name =
                rel.file_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            files.add(&slashed(rel).to_lowercase(), &name, rel.clone());
        }
        // Notebooks first (a name they cannot take stops the import before anything is
        // written): the top one, then one per folder holding notes and the folders above.
        let mut dirs = std::collections::BTreeSet::new();
        let note_dirs = read.iter().map(|r| r.rel.parent().unwrap_or(Path::new("")));
        for d in note_dirs.chain(scan.empty_dirs.iter().map(PathBuf::as_path)) {
            let mut d = d.to_path_buf();
            while d.components().next().is_some() {
                dirs.insert(d.clone());
                d.pop();
            }
        }
        report.notebooks = dirs.len();
        let top_name = root
            .canonicalize()
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_default();
        // Nothing to bring in (all here already): no new notebook either.
        let nothing = read.is_empty() && dirs.is_empty();
        // Notes here already from an earlier import of this folder (one stopped halfway, or
        // the folder grew since): the rest go beside them, into the notebooks it made.
        let shelves = if present.is_empty() { None } else { Some(Shelves::read(self)?) };
        let earlier = match (&shelves, into) {
            (Some(s), None) => s.earlier_top(
                &self.replica.conn,
                &book_name(&top_name, true),
                present.iter().map(|(rel, id, _)| (rel.components().count() - 1, *id)),
            )?,
            _ => None,
        };
        // The notebooks this import makes, parents first (a stop before any note is written
        // removes them again).
        let mut made: Vec<Uuid> = Vec::new();
        let top = match (into, dry_run || nothing, earlier) {
            (Some(p), _, _) => Some(p),
            (None, _, Some(book)) => Some(Place::Notebook(book)),
            (None, true, None) => None,
            (None, false, None) => {
                let book = self.add_notebook(&book_name(&top_name, true), Place::Default)?;
                made.push(book);
                Some(Place::Notebook(book))
            }
        };
        report.notebook = self.top_name(top, &top_name)?;
        // A folder's notebook name as this app's export wrote it in its notes.
        let mut real_names: HashMap<PathBuf, String> = HashMap::new();
        for r in &read {
            let mut d = r.rel.parent().unwrap_or(Path::new("")).to_path_buf();
            let names = &r.split.front.notebook;
            if names.len() != d.components().count() {
                continue;
            }
            for name in names.iter().rev() {
                real_names.entry(d.clone()).or_insert_with(|| name.clone());
                d.pop();
            }
        }
        let mut books: HashMap<PathBuf, Place> = HashMap::new();
        if let (Some(top), false) = (top, dry_run) {
            for d in &dirs {
                let parent = d.parent().filter(|p| p.components().next().is_some());
                let in_place = parent.and_then(|p| books.get(p).copied()).unwrap_or(top);
                let name = real_names.get(d).cloned().unwrap_or_else(|| {
                    d.file_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default()
                });
                let name = book_name(&name, in_place == Place::Default);
                let book = match shelves.as_ref().and_then(|s| s.named(in_place, &name)) {
                    Some(book) => book,
                    None => {
                        let book = self.add_notebook(&name, in_place)?;
                        made.push(book);
                        book
                    }
                };
                books.insert(d.clone(), Place::Notebook(book));
            }
        }
        // Convert: links rewritten, files attached.
        let total = read.len();
        let mut attached: HashMap<PathBuf, Option<AssetRef>> = HashMap::new();
        let mut incoming: Vec<(Uuid, Incoming)> = Vec::with_capacity(total);
        for (done, r) in read.into_iter().enumerate() {
            if !on_progress(Progress { stage: Stage::Converting, done, total }) {
                // Nothing is written yet but the notebooks made for it: they go again.
                self.remove_notebooks(&made)?;
                return Ok(report.stopped_before_writing(attached.values()));
            }
            let dir = r.rel.parent().unwrap_or(Path::new("")).to_path_buf();
            let mut broken = Vec::new();
            let mut attach_problems = Vec::new();
            let (body, found) = markdown::rewrite(&r.split.body, &mut |link: &Link| {
                let name = without_md(link.target.rsplit('/').next().unwrap_or(&link.target));
                let shown = match (&link.label, &link.heading) {
                    (Some(l), _) if !l.is_empty() => l.clone(),
                    (_, Some(h)) => format!("{name} › {h}"),
                    _ => name.to_string(),
                };
                // A name with a dot (`Meeting 2024.01.05`) may still be a note's.
                if link.kind != LinkKind::Image {
                    if let Some(to) = notes.find(&dir, without_md(&link.target)) {
                        return Some(format!("[{}](note:{to})", markdown::label(&shown)));
                    }
                }
                let Some(file) = files.find(&dir, &link.target) else {
                    broken.push(link.target.clone());
                    return None;
                };
                let asset = attached.entry(file.clone()).or_insert_with(|| {
                    if dry_run {
                        return None;
                    }
                    let name = file
                        .file_name()
                        .map(|s| s.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    // A label that is a name of the same kind names the file as its note knew
                    // it (an export numbers files of the same name: `doc (2).pdf`).
                    let ext = |n: &str| n.rsplit_once('.').map(|(_, e)| e.to_lowercase());
                    let name = match &link.label {
                        Some(l) if ext(l).is_some() && ext(l) == ext(&name) => l.trim().to_string(),
                        _ => name,
                    };
                    match self.add_asset(&root.join(&file), &name, None) {
                        Ok(a) => Some(a),
                        Err(e) => {
                            attach_problems
                                .push(problem(&file, format!("it could not be attached: {e}")));
                            None
                        }
                    }
                });
                let a = asset.as_ref()?;
                Some(match link.kind {
                    LinkKind::WikiEmbed => a.markdown(),
                    LinkKind::Image => format!("![{}]({})", markdown::label(&shown), a.to_url()),
                    LinkKind::Wiki | LinkKind::Markdown => {
                        format!("[{}]({})", markdown::label(&shown), a.to_url())
                    }
                })
            });
            report.problems.extend(attach_problems);
            for b in broken {
                report.broken_links.push(problem(&r.rel, format!("it links to “{b}”, which is not in the folder; the link was kept as written.")));
            }
            let front = r.split.front;
            // This app's export writes an untitled note's title as "".
            let untitled_ok = front.ours;
            let mut tags = front.tags;
            // This app's export lists every tag a note has; a `#word` in its text is not one.
            let found_tags = if untitled_ok { Vec::new() } else { found.tags };
            for t in found_tags {
                if !tags.contains(&t) {
                    tags.push(t);
                }
            }
            let title =
                front.title.filter(|t| untitled_ok || !t.trim().is_empty()).unwrap_or_else(|| {
                    r.rel.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default()
                });
            // The front matter's times as written; the file's time fills in what it lacks.
            let updated =
                front.updated.unwrap_or_else(|| r.file_time.max(front.created.unwrap_or(0)));
            let created = front.created.unwrap_or_else(|| r.file_time.min(updated));
            let pinned = front.pinned;
            let source = r.source;
            let n = Incoming { title, body, tags, created, updated, pinned, source, dir };
            incoming.push((r.id, n));
        }
        report.attachments = if dry_run {
            attached.len()
        } else {
            attached.values().filter(|a| a.is_some()).count()
        };
        report.skipped = scan.skipped + scan.files.len() - attached.len();
        report.stored = attached.values().flatten().map(|a| a.id).collect();
        report.notes = incoming.len();
        let Some(top) = top.filter(|_| !dry_run) else { return Ok(report) };
        report.notes = self.write_notes(&incoming, &books, top, &mut report, on_progress)?;
        Ok(report)
    }

    /// Writes the notes converted, each in the notebook `books` has for its `dir` (else in
    /// `top`), on every core a chunk at a time ([`crate::docs::Replica::create_each`]); returns
    /// how many were written, and `report` says when `on_progress` stopped it.
    fn write_notes(
        &mut self,
        incoming: &[(Uuid, Incoming)],
        books: &HashMap<PathBuf, Place>,
        top: Place,
        report: &mut ImportReport,
        on_progress: &mut dyn FnMut(Progress) -> bool,
    ) -> Result<usize> {
        let total = incoming.len();
        let by_id: HashMap<Uuid, &Incoming> = incoming.iter().map(|(id, n)| (*id, n)).collect();
        let ids: Vec<Uuid> = incoming.iter().map(|(id, _)| *id).collect();
        let build = |id: &Uuid, doc: &mut automerge::AutoCommit, now: i64| -> Result<&str> {
            let n = by_id[id];
            note::create_head(doc, &n.title, now)?;
            note::retag(doc, &n.tags, &[])?;
            note::move_to(doc, books.get(&n.dir).copied().unwrap_or(top).id(), now)?;
            if n.pinned {
                note::set_pinned(doc, true)?;
            }
            note::set_times(doc, n.created, n.updated)?;
            note::set_source(doc, &n.source)?;
            Ok(&n.body)
        };
        let mut cancelled = false;
        let mut go_on = |done| {
            let more = on_progress(Progress { stage: Stage::Writing, done, total });
            cancelled |= !more && done < total;
            more
        };
        let written = self.replica.create_each(&ids, WRITE_CHUNK, build, &mut go_on)?;
        report.cancelled |= cancelled;
        Ok(written)
    }

    /// Deletes the notebooks an import made (`made`: parents first), children first.
    fn remove_notebooks(&mut self, made: &[Uuid]) -> Result<()> {
        for book in made.iter().rev() {
            self.delete_notebook(Place::Notebook(*book))?;
        }
        Ok(())
    }

    /// True when `id` names a live note here.
    fn is_live_note(&self, id: Uuid) -> Result<bool> {
        let found = crate::store::notes::link_target(&self.replica.conn, &id.to_string())?;
        Ok(found.is_some_and(|t| !t.deleted))
    }

    /// The name of an import's top notebook, as its report says it: the one made or chosen,
    /// or (a dry run) the one it would make for a folder or file called `name`.
    fn top_name(&self, top: Option<Place>, name: &str) -> Result<String> {
        Ok(match top {
            Some(Place::Notebook(id)) => self.notebook_name_of(id)?,
            Some(Place::Default) => super::DEFAULT_NOTEBOOK.to_string(),
            None => book_name(name, true),
        })
    }

    /// A notebook's name.
    fn notebook_name_of(&self, id: Uuid) -> Result<String> {
        Ok(self
            .notebooks()?
            .notebooks
            .into_iter()
            .find(|b| b.id == id.to_string())
            .map(|b| b.name)
            .unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_inside_the_folder() {
        let d = Path::new("a/b");
        assert_eq!(inside(d, "c.png"), Some(PathBuf::from("a/b/c.png")));
        assert_eq!(inside(d, "../c.md"), Some(PathBuf::from("a/c.md")));
        assert_eq!(inside(d, "./x/../y"), Some(PathBuf::from("a/b/y")));
        assert_eq!(inside(d, "../../../etc/passwd"), None);
        assert_eq!(inside(d, "/etc/passwd"), None);
    }

    #[test]
    fn texts_in_other_encodings_are_read() {
        assert_eq!(decode("é".as_bytes()), ("é".to_string(), None));
        assert_eq!(decode(b"\xef\xbb\xbfhi").0, "hi");
        assert_eq!(decode(b"\xff\xfeh\0i\0").0, "hi");
        let (text, why) = decode(b"caf\xe9 \x80");
        assert_eq!(text, "café €");
        assert!(why.unwrap().contains("Windows-1252")); // UTF-8 with one damaged byte stays UTF-8.
        let (text, why) = decode(
            "über \u{e9}t\u{e9} "
                .as_bytes()
                .iter()
                .chain(b"\xff")
                .copied()
                .collect::<Vec<u8>>()
                .as_slice(),
        );
        assert_eq!(text, "über été �");
        assert!(why.unwrap().contains("not valid UTF-8"));
    }

    #[test]
    fn a_bare_name_means_the_one_in_the_same_folder_then_the_shortest_path() {
        let mut n = Names::new();
        for p in ["archive/old/image.png", "work/trip/image.png", "z/image.png"] {
            n.add(p, "image.png", p.to_string());
        }
        let find = |dir: &str, t: &str| n.find(Path::new(dir), t);
        assert_eq!(find("Work/Trip", "image.png").as_deref(), Some("work/trip/image.png"));
        assert_eq!(find("Elsewhere", "IMAGE.png").as_deref(), Some("z/image.png"));
        assert_eq!(find("Work", "Trip/image.png").as_deref(), Some("work/trip/image.png"));
        assert_eq!(find("", "archive/old/image.png").as_deref(), Some("archive/old/image.png"));
        assert_eq!(find("", "missing.png"), None);
    }
}
