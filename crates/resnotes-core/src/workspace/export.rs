//! Taking notes out as plain Markdown files, readable by any editor and by this app's import
//! ([`Workspace::export_markdown`]):
//! - each notebook is a folder (the notebooks inside it, folders inside that); notes of the
//!   default notebook go at the top of the chosen folder;
//! - each note is `Title.md`: a front matter block (title, id, created, updated, tags, and
//!   `pinned` when it is) and the body as written;
//! - attachments are written once each into `attachments/` at the top, and links to them and
//!   to other exported notes become relative paths (`../attachments/photo.png`,
//!   `Trip%20plan.md`), so the folder works in Obsidian or any Markdown viewer.
//!
//! File and folder names are made safe on every platform (no `/ \ : * ? " < > |`, no control
//! characters, no names Windows reserves, at most 120 characters) and unique in their folder,
//! case ignored (`Notes (2).md`). Nothing is ever written outside the chosen folder, which must
//! be empty or new.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};
use serde::Serialize;
use ts_rs::TS;

use super::{
    summary_row, CalendarTime, FileProblem, NoteSummary, Place, Progress, Stage, Workspace,
};
use crate::docs::texts::KEEP_TEXT_CHARS;
use crate::error::{Error, Result};
use crate::format::asset::{safe_file_name, AssetRef};
use crate::store;
use crate::sync::SyncEvent;

/// The folder at the top of an export that holds the attachments.
const ATTACHMENTS_FOLDER: &str = "attachments";

/// Characters escaped in a relative link's path, so that it stays one Markdown destination.
const PATH_ESCAPES: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'(')
    .add(b')')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b']')
    .add(b'\\')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// Which notes an export takes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExportScope {
    /// Every live note, in every notebook.
    All,
    /// One notebook's notes and the notebooks inside it (the default notebook: its notes only).
    Notebook(Place),
    /// These notes (ids or anything [`Workspace::resolve`] takes), each in its notebook's
    /// folder.
    Notes(Vec<String>),
}

/// What an export wrote.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq, TS)]
pub struct ExportReport {
    /// The folder written to.
    pub folder: String,
    /// Notes written.
    pub notes: usize,
    /// Folders made for notebooks.
    pub notebooks: usize,
    /// Attachments written.
    pub attachments: usize,
    /// What could not be written, one sentence each (an attachment not on this device and
    /// not reachable, say); the rest was written.
    pub problems: Vec<FileProblem>,
    /// True when the export was stopped before the end (the notes counted were written).
    pub cancelled: bool,
}

/// A name as a file or folder may take it on any platform (see the module doc).
fn safe_name(name: &str, fallback: &str) -> String {
    let mut s = safe_file_name(name.trim());
    if s == "attachment" && !name.trim().eq_ignore_ascii_case("attachment") {
        s = fallback.to_string();
    }
    let stem = s.split('.').next().unwrap_or("").to_ascii_uppercase();
    let reserved = matches!(stem.as_str(), "CON" | "PRN" | "AUX" | "NUL")
        || (stem.len() == 4
            && (stem.starts_with("COM") || stem.starts_with("LPT"))
            && stem.as_bytes()[3].is_ascii_digit());
    if reserved {
        s.insert(0, '_');
    }
    // File systems count bytes (255 at most): leave room for " (12).md".
    while s.len() > 200 {
        s.pop();
    }
    s
}

/// The names taken in each folder, case ignored.
#[derive(Default)]
struct Taken(HashMap<PathBuf, HashSet<String>>);

impl Taken {
    /// `stem` + `ext` in `dir`, or `stem (2)` + `ext` and so on, whichever is free; taken.
    fn claim(&mut self, dir: &Path, stem: &str, ext: &str) -> String {
        let names = self.0.entry(dir.to_path_buf()).or_default();
        let mut n = 1;
        loop {
            let name = if n == 1 { format!("{stem}{ext}") } else { format!("{stem} ({n}){ext}") };
            if names.insert(name.to_lowercase()) {
                return name;
            }
            n += 1;
        }
    }
}

/// The relative path from a file in folder `from` to `to` (both relative to the export's top),
/// escaped for a Markdown link.
fn relative(from: &Path, to: &Path) -> String {
    let a: Vec<_> = from.components().collect();
    let b: Vec<_> = to.components().collect();
    let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut parts: Vec<String> = vec!["..".to_string(); a.len() - common];
    parts.extend(
        b[common..].iter().map(|c| {
            utf8_percent_encode(&c.as_os_str().to_string_lossy(), PATH_ESCAPES).to_string()
        }),
    );
    parts.join("/")
}

/// A line of Markdown as words, for a file name: links as their text (`[a](b)` is `a`),
/// without emphasis and heading marks.
fn plain(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(pos) = rest.find("](") {
        out.push_str(&rest[..pos]);
        let tail = &rest[pos + 2..];
        rest = tail.find(')').map_or("", |end| &tail[end + 1..]);
    }
    out.push_str(rest);
    out.replace(['[', ']', '*', '`'], "").trim_start_matches(['#', '>', ' ']).trim().to_string()
}

/// A note's front matter block (values as JSON strings, which YAML reads as they are);
/// `notebook` names its notebooks from the top of the export.
fn front_matter(n: &NoteSummary, notebook: &[String]) -> String {
    let q = |s: &str| serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into());
    let mut out = format!(
        "---\ntitle: {}\nid: {}\ncreated: {}\nupdated: {}\n",
        q(&n.title),
        n.id,
        CalendarTime::utc(n.created_at).rfc3339(),
        CalendarTime::utc(n.updated_at).rfc3339()
    );
    if !n.tags.is_empty() {
        out.push_str("tags:\n");
        for t in &n.tags {
            out.push_str(&format!("  - {}\n", q(t)));
        }
    }
    if n.pinned {
        out.push_str("pinned: true\n");
    }
    if !notebook.is_empty() {
        out.push_str("notebook:\n");
        for b in notebook {
            out.push_str(&format!("  - {}\n", q(b)));
        }
    }
    out.push_str("---\n\n");
    out
}

/// `body` with every link to an attachment or a note that `target` knows made a relative
/// path (`target` gets the link's destination and says what to write instead).
fn rewrite_links(body: &str, target: &mut dyn FnMut(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(body.len());
    let mut rest = body;
    // A destination starts right after `](`.
    while let Some(pos) = rest.find("](") {
        let start = pos + 2;
        out.push_str(&rest[..start]);
        let tail = &rest[start..];
        let end = tail
            .find(|c: char| c.is_whitespace() || matches!(c, ')' | '>' | '"' | '<'))
            .unwrap_or(tail.len());
        match target(&tail[..end]) {
            Some(path) => out.push_str(&path),
            None => out.push_str(&tail[..end]),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

impl Workspace {
    /// Writes the notes `scope` names into `dest` as Markdown files (see the module doc).
    /// `dest` must be an empty folder or not exist yet. `on_progress` follows the notes
    /// written, and stops the export by returning false (what was written stays).
    pub fn export_markdown(
        &self,
        dest: &Path,
        scope: &ExportScope,
        on_progress: &mut dyn FnMut(Progress) -> bool,
    ) -> Result<ExportReport> {
        let not_empty = std::fs::read_dir(dest).map(|mut d| d.next().is_some()).unwrap_or(false);
        if not_empty {
            return Err(Error::Invalid(format!(
                "{} is not empty; choose an empty folder or a new one to export into",
                dest.display()
            )));
        }
        if dest.exists() && !dest.is_dir() {
            return Err(Error::Invalid(format!(
                "{} is a file; choose a folder to export into",
                dest.display()
            )));
        }
        std::fs::create_dir_all(dest).map_err(|e| {
            Error::Invalid(format!("the folder {} could not be made: {e}", dest.display()))
        })?;
        // Each notebook's folder, relative to `dest`; the top of the scope is "".
        let tree = self.notebooks()?.notebooks;
        let (top, ids): (Option<String>, Vec<NoteSummary>) = match scope {
            ExportScope::All => (None, self.list(None)?),
            ExportScope::Notebook(place) => {
                let book = match place {
                    Place::Default => None,
                    Place::Notebook(id) => Some(id.to_string()),
                };
                let mut books: HashSet<Option<String>> = HashSet::from([book.clone()]);
                if let Place::Notebook(id) = place {
                    books.extend(self.descendants(*id)?.iter().map(|d| Some(d.to_string())));
                }
                let ids = self
                    .list(None)?
                    .into_iter()
                    .filter(|n| {
                        let live = n.notebook.as_ref().filter(|b| tree.iter().any(|t| &t.id == *b));
                        books.contains(&live.cloned())
                    })
                    .collect();
                (book, ids)
            }
            ExportScope::Notes(qs) => {
                let mut ids = Vec::new();
                for q in qs {
                    let id = self.resolve(q)?.to_string();
                    let row = store::notes::row_of(&self.replica.conn, &id)?;
                    ids.push(row.map(summary_row).ok_or(Error::NoSuchNote(q.clone()))?);
                }
                (None, ids)
            }
        };
        let mut taken = Taken::default();
        taken.claim(Path::new(""), ATTACHMENTS_FOLDER, "");
        let mut folders: HashMap<String, PathBuf> = HashMap::new();
        let mut report = ExportReport { folder: dest.display().to_string(), ..Default::default() };
        // Tree order: a notebook comes after its parent.
        for b in &tree {
            let parent = match &b.parent {
                Some(p) if Some(p) != top.as_ref() => folders.get(p).cloned(),
                Some(_) => Some(PathBuf::new()),
                None if top.is_none() => Some(PathBuf::new()),
                None => None,
            };
            let Some(parent) = parent else { continue };
            let name = taken.claim(&parent, &safe_name(&b.name, "Notebook"), "");
            folders.insert(b.id.clone(), parent.join(name));
        }
        // Every note's file, first, so links between them can be written.
        let mut notes: Vec<(NoteSummary, PathBuf)> = Vec::with_capacity(ids.len());
        let mut file_of: HashMap<String, PathBuf> = HashMap::new();
        for n in ids {
            let dir = n.notebook.as_ref().and_then(|b| folders.get(b)).cloned().unwrap_or_default();
            let shown =
                if n.title.trim().is_empty() { plain(&n.first_line) } else { n.title.clone() };
            let name = taken.claim(&dir, &safe_name(&shown, "Untitled"), ".md");
            file_of.insert(n.id.clone(), dir.join(&name));
            notes.push((n, dir.join(name)));
        }
        // A notebook's folder is made even when empty (importing makes it a notebook again),
        // unless chosen notes are exported.
        let used: HashSet<&Path> = notes.iter().filter_map(|(_, f)| f.parent()).collect();
        let every = !matches!(scope, ExportScope::Notes(_));
        for dir in folders.values().filter(|d| every || used.iter().any(|u| u.starts_with(d))) {
            std::fs::create_dir_all(dest.join(dir))
                .map_err(|e| write_error(&dest.join(dir), &e))?;
        }
        report.notebooks = folders.values().filter(|d| dest.join(d).is_dir()).count();
        // A notebook's names from the top of the export down.
        let names_of = |book: Option<&String>| -> Vec<String> {
            let mut names = Vec::new();
            let mut at = book.filter(|b| folders.contains_key(*b));
            while let Some(b) = at.and_then(|id| tree.iter().find(|t| &t.id == id)) {
                names.insert(0, b.name.clone());
                at = b.parent.as_ref().filter(|p| folders.contains_key(*p));
            }
            names
        };
        // In file order, so attachments of the same name are numbered the same way each time.
        notes.sort_by(|a, b| a.1.cmp(&b.1));
        let total = notes.len();
        let mut written: HashMap<(String, String), Option<PathBuf>> = HashMap::new();
        for (done, (n, file)) in notes.iter().enumerate() {
            if !on_progress(Progress { stage: Stage::Writing, done, total }) {
                report.cancelled = true;
                report.notes = done;
                break;
            }
            let dir = file.parent().unwrap_or(Path::new("")).to_path_buf();
            let mut problems = Vec::new();
            // The text the search index holds when it is exactly the body (no document load):
            // not stale nor pending (`exact_body`). Only a small note's: a big one's text is
            // indexed later and could be older than a save made meanwhile.
            let body = match store::search::exact_body(&self.replica.conn, &n.id)? {
                Some(b) if b.len() < KEEP_TEXT_CHARS => b,
                _ => self.note(&n.id)?.body,
            };
            let body = rewrite_links(&body, &mut |destination| {
                if let Some(id) = destination.strip_prefix("note:") {
                    let to = file_of.get(&id.to_lowercase())?;
                    return Some(relative(&dir, to));
                }
                let r = AssetRef::parse(destination).ok()?;
                let key = (
                    r.id.client.to_string() + "/" + &r.id.index.to_string(),
                    crate::format::asset::hex(&r.hash),
                );
                let path = written.entry(key).or_insert_with(|| {
                    let attachments = Path::new(ATTACHMENTS_FOLDER);
                    let safe = safe_name(&r.name, "attachment");
                    let (stem, ext) = match safe.rsplit_once('.') {
                        Some((s, e)) if !s.is_empty() => (s.to_string(), format!(".{e}")),
                        _ => (safe.clone(), String::new()),
                    };
                    let name = taken.claim(attachments, &stem, &ext);
                    let at = attachments.join(name);
                    let _ = std::fs::create_dir_all(dest.join(attachments));
                    match self.save_asset(&r, &dest.join(&at), &mut |_: SyncEvent| {}) {
                        Ok(()) => Some(at),
                        Err(e) => {
                            problems.push(FileProblem {
                                path: slashed(file),
                                problem: format!(
                                    "its attachment “{}” could not be written ({e}); its link was kept as it was.",
                                    r.name
                                ),
                            });
                            None
                        }
                    }
                });
                path.as_ref().map(|p| relative(&dir, p))
            });
            report.problems.extend(problems);
            let text = front_matter(n, &names_of(n.notebook.as_ref())) + &body;
            let at = dest.join(file);
            // Never over a file there: names that differ only in Unicode normalisation may be
            // one file on some systems (macOS).
            let written = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&at)
                .and_then(|mut f| std::io::Write::write_all(&mut f, text.as_bytes()));
            match written {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    report.problems.push(FileProblem {
                        path: slashed(file),
                        problem: format!(
                            "another note's file has the same name on this system, so “{}” was not written; rename one of them and export again.",
                            n.title
                        ),
                    });
                }
                Err(e) => return Err(write_error(&at, &e)),
            }
        }
        if !report.cancelled {
            on_progress(Progress { stage: Stage::Writing, done: total, total });
            report.notes = total;
        }
        report.attachments = written.values().filter(|p| p.is_some()).count();
        Ok(report)
    }
}

fn slashed(p: &Path) -> String {
    p.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/")
}

fn write_error(path: &Path, e: &std::io::Error) -> Error {
    Error::Invalid(format!(
        "{} could not be written ({e}); check there is space and that you may write there",
        path.display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_safe_and_unique() {
        let cases = [
            ("Trip / plan: 2024?", "Trip _ plan_ 2024_"),
            ("CON", "_CON"),
            ("com1.txt", "_com1.txt"),
            ("  ", "Untitled"),
            ("...", "Untitled"),
            ("日本語", "日本語"),
        ];
        for (name, safe) in cases {
            assert_eq!(safe_name(name, "Untitled"), safe, "{name}");
        }
        let mut t = Taken::default();
        let d = Path::new("a");
        assert_eq!(t.claim(d, "Note", ".md"), "Note.md");
        assert_eq!(t.claim(d, "note", ".md"), "note (2).md");
        assert_eq!(t.claim(Path::new("b"), "note", ".md"), "note.md");
    }

    #[test]
    fn long_names_fit_a_file_system() {
        let long = "日本語".repeat(100);
        let safe = safe_name(&long, "Untitled");
        assert!(safe.len() <= 200 && long.starts_with(&safe), "{}", safe.len());
    }

    #[test]
    fn an_untitled_note_is_named_by_the_words_of_its_first_line() {
        let cases = [
            ("## A *big* day", "A big day"),
            ("see [home](note:abc) and [x](y", "see home and x"),
            ("> quoted `code`", "quoted code"),
        ];
        for (line, name) in cases {
            assert_eq!(plain(line), name);
        }
    }

    #[test]
    fn links_become_relative_paths() {
        let cases = [
            ("", "a/b.md", "a/b.md"),
            ("a", "a/b.md", "b.md"),
            ("a/x", "a/b c.md", "../b%20c.md"),
            ("x/y", "attachments/p (1).png", "../../attachments/p%20%281%29.png"),
        ];
        for (from, to, rel) in cases {
            assert_eq!(relative(Path::new(from), Path::new(to)), rel);
        }
        let body = "See [it](note:ABC) and ![x](asset:///q) and [w](https://e.com).";
        let out = rewrite_links(body, &mut |d| match d {
            "note:ABC" => Some("it.md".into()),
            "asset:///q" => Some("attachments/x.png".into()),
            _ => None,
        });
        assert_eq!(out, "See [it](it.md) and ![x](attachments/x.png) and [w](https://e.com).");
    }
}
