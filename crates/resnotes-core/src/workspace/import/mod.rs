//! Bringing notes in from other apps. A **Markdown folder** (an Obsidian vault, Logseq pages,
//! Joplin's "Markdown + Front Matter" export, any folder of `.md` files) is read in three
//! steps:
//! 1. [`scan`]: the folder's notes (`.md`, `.markdown`) and other files, in path order; hidden
//!    files and folders (`.obsidian/`, `.trash/`, `.git/`) are skipped and links to elsewhere
//!    (symlinks) are not followed. Each note gets its id now, so links between notes resolve.
//! 2. Each note is read ([`markdown`]): front matter (title, tags, aliases, created, updated)
//!    taken out of the text, inline `#tags` gathered, `[[wikilinks]]` and relative links to
//!    other notes made note links (`[label](note:ID)`), embedded and linked files attached
//!    with their links rewritten. A file not in UTF-8 is read as Windows-1252.
//! 3. The notes are written a few hundred per transaction, each in the notebook made for its
//!    folder, inside a new notebook named after the imported folder (or the one chosen).
//!
//! Nothing already in the workspace changes. The [`ImportReport`] counts what came in and says,
//! one sentence each, what could not be read and which links name nothing in the folder.

mod markdown;

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

use serde::Serialize;
use ts_rs::TS;
use uuid::Uuid;

use super::{Place, Workspace};
use crate::docs::materialize::BodyEdit;
use crate::docs::note;
use crate::error::{Error, Result};
use crate::format::asset::AssetRef;
use markdown::{Link, LinkKind};

/// The largest note file imported (64 MB).
const MAX_NOTE_BYTES: u64 = 64 << 20;

/// Notes written per transaction.
const WRITE_CHUNK: usize = 250;

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
    /// Files that could not be read or were read with a problem, one sentence each.
    pub problems: Vec<ImportProblem>,
    /// Links that name no note or file in the folder (left as written).
    pub broken_links: Vec<ImportProblem>,
}

/// One file's problem.
#[derive(Clone, Debug, Serialize, PartialEq, Eq, TS)]
pub struct ImportProblem {
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
    skipped: usize,
    problems: Vec<ImportProblem>,
}

/// A path as shown and as looked up: `/`-separated.
fn slashed(p: &Path) -> String {
    p.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/")
}

fn problem(path: &Path, problem: impl Into<String>) -> ImportProblem {
    ImportProblem { path: slashed(path), problem: problem.into() }
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
        let h = e.depth() > 0 && e.file_name().to_string_lossy().starts_with('.');
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
        if e.file_type().is_dir() {
            continue;
        }
        if e.file_type().is_symlink() {
            s.problems
                .push(problem(&rel, "it is a link to a file elsewhere and was not followed."));
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

/// The notes and files of a folder by the names links use for them (lowercase).
#[derive(Default)]
struct Names {
    /// A note's path without its extension.
    note_paths: HashMap<String, Uuid>,
    /// A note's file name without extension, and its aliases: the first in path order.
    note_names: HashMap<String, Uuid>,
    /// A file's path.
    file_paths: HashMap<String, PathBuf>,
    /// A file's name: the first in path order.
    file_names: HashMap<String, PathBuf>,
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

impl Names {
    fn note(&self, dir: &Path, target: &str) -> Option<Uuid> {
        let t = without_md(target.trim()).to_lowercase();
        let rel = inside(dir, &t).map(|p| slashed(&p));
        rel.and_then(|r| self.note_paths.get(&r))
            .or_else(|| self.note_paths.get(t.trim_start_matches('/')))
            .or_else(|| self.note_names.get(t.rsplit('/').next().unwrap_or(&t)))
            .copied()
    }

    fn file(&self, dir: &Path, target: &str) -> Option<PathBuf> {
        let t = target.trim().to_lowercase();
        let rel = inside(dir, &t).map(|p| slashed(&p));
        rel.and_then(|r| self.file_paths.get(&r))
            .or_else(|| self.file_paths.get(t.trim_start_matches('/')))
            .or_else(|| self.file_names.get(t.rsplit('/').next().unwrap_or(&t)))
            .cloned()
    }
}

/// A note read and ready to write.
struct Incoming {
    title: String,
    body: String,
    tags: Vec<String>,
    created: i64,
    updated: i64,
    /// Its folder, relative to the imported one.
    dir: PathBuf,
}

/// A file's text: UTF-8 (a byte-order mark dropped), UTF-16 with its mark, else Windows-1252
/// (with a problem saying so).
fn decode(bytes: &[u8]) -> (String, Option<String>) {
    if let Some((text, _)) = encoding_rs::Encoding::for_bom(bytes) {
        let (s, _, bad) = text.decode(bytes);
        let why =
            bad.then(|| format!("parts of it were not valid {}; they show as �.", text.name()));
        return (s.into_owned(), why);
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => (s.to_string(), None),
        Err(_) => {
            let (s, _, _) = encoding_rs::WINDOWS_1252.decode(bytes);
            (
                s.into_owned(),
                Some("it was not UTF-8 and was read as Windows-1252 (Western European).".into()),
            )
        }
    }
}

fn mtime(path: &Path) -> Option<i64> {
    let t = std::fs::metadata(path).ok()?.modified().ok()?;
    Some(t.duration_since(std::time::UNIX_EPOCH).ok()?.as_millis() as i64)
}

impl Workspace {
    /// Imports a folder of Markdown files (see the module doc) into a new notebook named after
    /// it, or into `into`. With `dry_run`, reads everything and reports what would come in, but
    /// writes nothing. `on_progress(done, total)` follows the notes read, then written.
    pub fn import_markdown(
        &mut self,
        root: &Path,
        into: Option<Place>,
        dry_run: bool,
        on_progress: &mut dyn FnMut(usize, usize),
    ) -> Result<ImportReport> {
        let scan = scan(root)?;
        let mut report = ImportReport { problems: scan.problems, ..Default::default() };
        let mut names = Names::default();
        let ids: Vec<Uuid> = scan.notes.iter().map(|_| Uuid::new_v4()).collect();
        for (rel, id) in scan.notes.iter().zip(&ids) {
            let path = slashed(rel).to_lowercase();
            names.note_paths.entry(without_md(&path).to_string()).or_insert(*id);
            let stem =
                rel.file_stem().map(|s| s.to_string_lossy().to_lowercase()).unwrap_or_default();
            names.note_names.entry(stem).or_insert(*id);
        }
        for rel in &scan.files {
            names.file_paths.entry(slashed(rel).to_lowercase()).or_insert_with(|| rel.clone());
            let name =
                rel.file_name().map(|s| s.to_string_lossy().to_lowercase()).unwrap_or_default();
            names.file_names.entry(name).or_insert_with(|| rel.clone());
        }
        // Read every note (front matter first: aliases name notes too).
        let total = scan.notes.len();
        let mut read: Vec<Option<(markdown::Split, i64)>> = Vec::with_capacity(total);
        for (rel, id) in scan.notes.iter().zip(&ids) {
            let path = root.join(rel);
            let bytes = match std::fs::metadata(&path) {
                Ok(m) if m.len() > MAX_NOTE_BYTES => {
                    report.problems.push(problem(
                        rel,
                        format!(
                            "it is too large ({} MB); notes of up to 64 MB are imported.",
                            m.len() >> 20
                        ),
                    ));
                    None
                }
                _ => match std::fs::read(&path) {
                    Ok(b) => Some(b),
                    Err(e) => {
                        report.problems.push(problem(rel, format!("it could not be read ({e}).")));
                        None
                    }
                },
            };
            let Some(bytes) = bytes else {
                read.push(None);
                continue;
            };
            let (text, why) = decode(&bytes);
            if let Some(why) = why {
                report.problems.push(problem(rel, why));
            }
            let split = markdown::split_front_matter(&text);
            if let Some(why) = &split.problem {
                report.problems.push(problem(rel, why.clone()));
            }
            for a in &split.front.aliases {
                names.note_names.entry(a.trim().to_lowercase()).or_insert(*id);
            }
            read.push(Some((split, mtime(&path).unwrap_or_else(|| (self.replica.clock)()))));
        }
        // Convert: links rewritten, files attached.
        let mut attached: HashMap<PathBuf, Option<AssetRef>> = HashMap::new();
        let mut incoming: Vec<(Uuid, Incoming)> = Vec::with_capacity(total);
        for (n, ((rel, id), r)) in scan.notes.iter().zip(&ids).zip(read).enumerate() {
            on_progress(n, total);
            let Some((split, file_time)) = r else { continue };
            let dir = rel.parent().unwrap_or(Path::new("")).to_path_buf();
            let mut broken = Vec::new();
            let mut attach_problems = Vec::new();
            let (body, found) = markdown::rewrite(&split.body, &mut |link: &Link| {
                let as_note = !matches!(link.kind, LinkKind::Image)
                    && (Path::new(&link.target).extension().is_none()
                        || without_md(&link.target).len() != link.target.len());
                let shown = link.label.clone().filter(|l| !l.is_empty()).unwrap_or_else(|| {
                    without_md(link.target.rsplit('/').next().unwrap_or(&link.target)).to_string()
                });
                if as_note {
                    if let Some(to) = names.note(&dir, &link.target) {
                        return Some(format!("[{}](note:{to})", markdown::label(&shown)));
                    }
                }
                let Some(file) = names.file(&dir, &link.target) else {
                    broken.push(link.target.clone());
                    return None;
                };
                let r = attached.entry(file.clone()).or_insert_with(|| {
                    if dry_run {
                        return None;
                    }
                    let name = file
                        .file_name()
                        .map(|s| s.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    match self.add_asset(&root.join(&file), &name, None) {
                        Ok(r) => Some(r),
                        Err(e) => {
                            attach_problems
                                .push(problem(&file, format!("it could not be attached: {e}")));
                            None
                        }
                    }
                });
                let r = r.as_ref()?;
                Some(match link.kind {
                    LinkKind::WikiEmbed => r.markdown(),
                    LinkKind::Image => format!("![{}]({})", markdown::label(&shown), r.to_url()),
                    LinkKind::Wiki | LinkKind::Markdown => {
                        format!("[{}]({})", markdown::label(&shown), r.to_url())
                    }
                })
            });
            report.problems.extend(attach_problems);
            for b in broken {
                report.broken_links.push(problem(rel, format!("it links to “{b}”, which is not in the folder; the link was kept as written.")));
            }
            let mut tags = split.front.tags;
            for t in found.tags {
                if !tags.contains(&t) {
                    tags.push(t);
                }
            }
            let title = split.front.title.filter(|t| !t.trim().is_empty()).unwrap_or_else(|| {
                rel.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default()
            });
            let created = split.front.created.unwrap_or(file_time);
            let updated = split.front.updated.unwrap_or(file_time).max(created);
            incoming.push((*id, Incoming { title, body, tags, created, updated, dir }));
        }
        on_progress(total, total);
        let used: std::collections::HashSet<&PathBuf> = attached.keys().collect();
        report.attachments = attached.values().filter(|r| r.is_some()).count();
        if dry_run {
            report.attachments = used.len();
        }
        report.skipped = scan.skipped + scan.files.len() - used.len();
        report.notes = incoming.len();
        // Notebooks: the top one, then one per folder holding notes (and the folders above).
        let top_name = root
            .canonicalize()
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .filter(|n| note::notebook_name(n).is_some())
            .unwrap_or_else(|| "Imported notes".to_string());
        let mut dirs: Vec<PathBuf> = Vec::new();
        for (_, n) in &incoming {
            let mut d = n.dir.clone();
            while d.components().next().is_some() {
                if !dirs.contains(&d) {
                    dirs.push(d.clone());
                }
                d.pop();
            }
        }
        dirs.sort();
        report.notebooks = dirs.len();
        if dry_run {
            report.notebook = match into {
                Some(Place::Notebook(id)) => self.notebook_name_of(id)?,
                Some(Place::Default) => super::DEFAULT_NOTEBOOK.to_string(),
                None => top_name,
            };
            return Ok(report);
        }
        let top = match into {
            Some(p) => p,
            None => Place::Notebook(self.add_notebook(&top_name, Place::Default)?),
        };
        report.notebook = match top {
            Place::Notebook(id) => self.notebook_name_of(id)?,
            Place::Default => super::DEFAULT_NOTEBOOK.to_string(),
        };
        let mut books: HashMap<PathBuf, Place> = HashMap::new();
        for d in &dirs {
            let parent = d.parent().filter(|p| p.components().next().is_some());
            let in_place = parent.and_then(|p| books.get(p).copied()).unwrap_or(top);
            let name = d.file_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            let name = note::notebook_name(&name).unwrap_or_else(|| "Folder".to_string());
            books.insert(d.clone(), Place::Notebook(self.add_notebook(&name, in_place)?));
        }
        let mut done = 0;
        for chunk in incoming.chunks(WRITE_CHUNK) {
            let by_id: HashMap<Uuid, &Incoming> = chunk.iter().map(|(id, n)| (*id, n)).collect();
            let ids: Vec<Uuid> = chunk.iter().map(|(id, _)| *id).collect();
            self.replica.write_local_each(&ids, BodyEdit::Unknown, |id, doc, now| {
                let n = by_id[id];
                note::create(doc, &n.title, &n.body, now)?;
                note::retag(doc, &n.tags, &[])?;
                let book = books.get(&n.dir).copied().unwrap_or(top);
                note::move_to(
                    doc,
                    match book {
                        Place::Notebook(b) => Some(b),
                        Place::Default => None,
                    },
                    now,
                )?;
                note::set_times(doc, n.created, n.updated)?;
                Ok(true)
            })?;
            done += chunk.len();
            on_progress(done, total);
        }
        Ok(report)
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
        assert!(why.unwrap().contains("Windows-1252"));
    }
}
