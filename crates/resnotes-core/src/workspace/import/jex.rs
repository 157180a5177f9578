//! Joplin's export archive, JEX: an uncompressed tar of Joplin's RAW export. Each item
//! (note, notebook, tag, note–tag link, attachment) is a file `<id>.md` (the id is 32 hex
//! digits) holding its title, a blank line, its body (notes only), a blank line and its
//! properties as `name: value` lines; an attachment's bytes are in `resources/<id>.<ext>`.
//! Notes link to notes and attachments as `:/<id>`.
//!
//! The format, as Joplin writes and reads it (`packages/lib/models/BaseItem.ts`,
//! `serialize`/`unserialize`; `InteropService_Exporter_Raw.ts`, `…_Jex.ts`): the parts are
//! joined by blank lines; properties are read from the end of the file upward until the first
//! blank line (so a body may hold lines that look like properties); in property values a
//! newline is written `\n` (and a backslash before `n` doubled); times are ISO 8601 in UTC.
//!
//! [`read`] streams the archive once: item files (at most 64 MB each) are read in memory,
//! attachment bytes copied to files under the scratch folder, named by their validated id.
//! Nothing is written anywhere else, whatever the archive's paths say: entries with `..`,
//! absolute paths, links and devices are skipped with a problem.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The largest item file read (its attachment bytes are apart).
const MAX_ITEM_BYTES: u64 = 64 << 20;

const NOT_JEX: &str = "This file is not a Joplin export (.jex); in Joplin, choose File → Export all → JEX - Joplin Export File.";

/// Joplin's item types (`BaseModel.TYPE_*`).
const TYPE_NOTE: u32 = 1;
const TYPE_FOLDER: u32 = 2;
const TYPE_RESOURCE: u32 = 4;
const TYPE_TAG: u32 = 5;
const TYPE_NOTE_TAG: u32 = 6;

const OUTSIDE: &str = "its path points outside the export (it is absolute or goes up with “..”), which a Joplin export never does; it was skipped.";
const NOT_A_FILE: &str =
    "it is a link or a device, not a file, which a Joplin export never holds; it was skipped.";
const NOT_JOPLIN: &str =
    "it is not a Joplin note, notebook, tag or attachment file; it was skipped.";
const CUT: &str = "the archive ends in the middle of this file (it may be damaged or not fully downloaded); this file and anything after it were not imported.";
const DAMAGED_AFTER: &str =
    "the archive is damaged after this file; the files after it were not imported.";

/// A notebook (Joplin folder).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Notebook {
    pub(super) id: String,
    /// The notebook it is in (`None`: at the top).
    pub(super) parent_id: Option<String>,
    pub(super) title: String,
    /// ms since the Unix epoch.
    pub(super) created: Option<i64>,
    /// ms since the Unix epoch.
    pub(super) updated: Option<i64>,
    /// In Joplin's trash.
    pub(super) in_trash: bool,
}

/// A note.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct JexNote {
    pub(super) id: String,
    /// Its notebook.
    pub(super) parent_id: Option<String>,
    pub(super) title: String,
    /// The text as written, links to notes and attachments as `:/<id>` (see
    /// [`rewrite_links`]).
    pub(super) body: String,
    /// ms since the Unix epoch (the time Joplin shows).
    pub(super) created: Option<i64>,
    /// ms since the Unix epoch (the time Joplin shows).
    pub(super) updated: Option<i64>,
    /// A to-do (Joplin shows it with a check box).
    pub(super) is_todo: bool,
    /// A to-do marked done.
    pub(super) todo_completed: bool,
    /// Its tags' names.
    pub(super) tags: Vec<String>,
    /// In Joplin's trash.
    pub(super) in_trash: bool,
}

/// An attachment's bytes, copied out of the archive.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Resource {
    /// The file under the scratch folder.
    pub(super) path: PathBuf,
    /// Its name: its title in Joplin, else its file name, with its extension.
    pub(super) name: String,
    pub(super) mime: String,
}

/// What an archive holds.
#[derive(Debug, Default)]
pub(super) struct Archive {
    pub(super) notebooks: Vec<Notebook>,
    pub(super) notes: Vec<JexNote>,
    /// By id.
    pub(super) resources: HashMap<String, Resource>,
    /// The path in the archive of each file that could not be read (or was read with a
    /// problem), and the problem in one sentence.
    pub(super) problems: Vec<(String, String)>,
}

/// Reads a JEX archive, copying attachments under `scratch` (see the module doc). Fails only
/// on a file that is not a Joplin export, or when writing to `scratch` fails; `go_on()` is
/// asked before each file of the archive, and stops it ([`Error::Stopped`]) by saying no.
pub(super) fn read(
    reader: impl Read,
    scratch: &Path,
    go_on: &mut dyn FnMut() -> bool,
) -> Result<Archive> {
    let mut tar = tar::Archive::new(reader);
    let entries = tar.entries().map_err(|_| Error::Invalid(NOT_JEX.into()))?;
    let mut items = Items::default();
    let mut last_path: Option<String> = None;
    for entry in entries {
        if !go_on() {
            return Err(Error::Stopped);
        }
        let mut entry = match entry {
            Ok(e) => e,
            Err(_) => {
                match last_path.as_deref() {
                    Some(p) => items.problem(p, DAMAGED_AFTER),
                    None => return Err(Error::Invalid(NOT_JEX.into())),
                }
                break;
            }
        };
        let path = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        last_path = Some(path.clone());
        let outcome = match classify(entry.header().entry_type(), &path) {
            Kind::Skip => Outcome::Done,
            Kind::Refused(why) => {
                items.trouble |= why != NOT_JOPLIN;
                items.problem(&path, why);
                Outcome::Done
            }
            Kind::Item(id) => {
                items.seen = true;
                read_item(&mut entry, &path, &id, &mut items)
            }
            Kind::Data { id, file } => {
                items.seen = true;
                let dest = scratch.join(file);
                let outcome = copy_data(&mut entry, &dest)?;
                if matches!(outcome, Outcome::Done) {
                    items.data.insert(id, dest);
                } else {
                    let _ = std::fs::remove_file(&dest);
                }
                outcome
            }
        };
        if let Outcome::Cut = outcome {
            items.problem(&path, CUT);
            break;
        }
    }
    items.into_archive()
}

/// Rewrites the `:/<id>` links of a Joplin note's text: `resolve(id, is_image)` gives the
/// new target (`None`: left as written). Links are found in Markdown (`[x](:/id)`,
/// `![x](:/id)`, `<:/id>`) and HTML (`src=":/id"`) alike; `#heading` after an id stays.
pub(super) fn rewrite_links(
    body: &str,
    resolve: &mut dyn FnMut(&str, bool) -> Option<String>,
) -> String {
    let bytes = body.as_bytes();
    let mut out = String::with_capacity(body.len());
    let mut copied = 0;
    let mut from = 0;
    while let Some(found) = body[from..].find(":/") {
        let at = from + found;
        from = at + 2;
        let end = at + 2 + 32;
        let Some(id) = body.get(at + 2..end) else { continue };
        let is_id = id.bytes().all(|b| b.is_ascii_hexdigit());
        let joined_after = bytes.get(end).is_some_and(u8::is_ascii_alphanumeric);
        let joined_before = at > 0
            && (bytes[at - 1].is_ascii_alphanumeric() || matches!(bytes[at - 1], b'/' | b':'));
        if !is_id || joined_after || joined_before {
            continue;
        }
        from = end;
        if let Some(target) = resolve(&id.to_ascii_lowercase(), is_image_link(body, at)) {
            out.push_str(&body[copied..at]);
            out.push_str(&target);
            copied = end;
        }
    }
    out.push_str(&body[copied..]);
    out
}

/// True when the link target at `at` is an image's: `![…](` or `<img … src="` before it.
fn is_image_link(body: &str, at: usize) -> bool {
    let before = &body[..at];
    let before = before.strip_suffix('<').unwrap_or(before);
    if let Some(label_end) = before.strip_suffix("](") {
        // The `[` that opens the label (labels may hold balanced brackets).
        let b = label_end.as_bytes();
        let mut depth = 0usize;
        let lowest = b.len().saturating_sub(4096);
        for i in (lowest..b.len()).rev() {
            match b[i] {
                b']' => depth += 1,
                b'[' if depth == 0 => return i > 0 && b[i - 1] == b'!',
                b'[' => depth -= 1,
                _ => {}
            }
        }
        return false;
    }
    if before.ends_with(['"', '\'']) {
        // The tag around the link is near it: look back 4 KB at most (as for labels above).
        let mut from = before.len().saturating_sub(4096);
        while !before.is_char_boundary(from) {
            from += 1;
        }
        let near = &before[from..];
        let (open, close) = (near.rfind('<').map(|o| o + from), near.rfind('>').map(|c| c + from));
        if let Some(open) = open.filter(|&o| close.is_none_or(|c| c < o)) {
            return before[open + 1..].get(..3).is_some_and(|t| t.eq_ignore_ascii_case("img"));
        }
    }
    false
}

/// What an archive entry is.
enum Kind {
    /// An item file `<id>.md`.
    Item(String),
    /// An attachment's bytes `resources/<id>[.<ext>]`, and the name its copy gets.
    Data { id: String, file: String },
    /// Nothing to read (a folder, an extended header).
    Skip,
    /// Skipped, for this reason.
    Refused(&'static str),
}

/// True for a Joplin id: 32 hex digits.
fn is_id(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Says what an entry is from its type and path, refusing anything that is not a plain file
/// inside the archive.
fn classify(kind: tar::EntryType, path: &str) -> Kind {
    use tar::EntryType as T;
    if matches!(kind, T::XGlobalHeader | T::XHeader | T::GNULongName | T::GNULongLink) {
        return Kind::Skip;
    }
    let p = path.replace('\\', "/");
    let absolute = p.starts_with('/') || p.as_bytes().get(1) == Some(&b':');
    if absolute || p.split('/').any(|part| part == "..") {
        return Kind::Refused(OUTSIDE);
    }
    if kind.is_dir() {
        return Kind::Skip;
    }
    if !(kind.is_file() || kind.is_contiguous()) {
        return Kind::Refused(NOT_A_FILE);
    }
    let p = p.trim_start_matches("./");
    if let Some(id) = p.strip_suffix(".md").filter(|id| is_id(id)) {
        return Kind::Item(id.to_ascii_lowercase());
    }
    if let Some(name) = p.strip_prefix("resources/") {
        let (id, ext) = name.split_once('.').unwrap_or((name, ""));
        let ext_ok = ext.len() <= 16 && ext.bytes().all(|b| b.is_ascii_alphanumeric());
        if is_id(id) && ext_ok {
            let id = id.to_ascii_lowercase();
            let file = if ext.is_empty() {
                format!("jex-{id}")
            } else {
                format!("jex-{id}.{}", ext.to_ascii_lowercase())
            };
            return Kind::Data { id, file };
        }
    }
    Kind::Refused(NOT_JOPLIN)
}

/// How reading an entry ended.
enum Outcome {
    Done,
    /// Skipped with a problem already noted.
    Skipped,
    /// The archive ended inside it.
    Cut,
}

/// Reads an item file into `items`; `Cut` when the archive holds less than its header says.
fn read_item(
    entry: &mut tar::Entry<'_, impl Read>,
    path: &str,
    id: &str,
    items: &mut Items,
) -> Outcome {
    let expected = entry.size();
    if expected > MAX_ITEM_BYTES {
        items
            .problem(path, "it is larger than 64 MB, too large for a Joplin item; it was skipped.");
        return Outcome::Skipped;
    }
    let mut bytes = Vec::new();
    match entry.by_ref().take(MAX_ITEM_BYTES).read_to_end(&mut bytes) {
        Ok(n) if (n as u64) < expected => return Outcome::Cut,
        Ok(_) => {}
        Err(_) => return Outcome::Cut,
    }
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            items.problem(path, "parts of it were not valid UTF-8; they show as �.");
            String::from_utf8_lossy(e.as_bytes()).into_owned()
        }
    };
    match parse_item(&text) {
        Ok(item) => items.add(path, id, item),
        Err(why) => items.problem(path, why),
    }
    Outcome::Done
}

/// Copies an attachment's bytes to `dest`; `Cut` when the archive holds fewer than its
/// header says.
fn copy_data(entry: &mut tar::Entry<'_, impl Read>, dest: &Path) -> Result<Outcome> {
    let expected = entry.size();
    let write_error = |e: io::Error| {
        if e.kind() == io::ErrorKind::StorageFull {
            Error::DiskFull
        } else {
            Error::io("copying an attachment out of the Joplin export", e)
        }
    };
    let mut out = BufWriter::new(File::create(dest).map_err(write_error)?);
    let mut buf = vec![0u8; 64 * 1024];
    let mut copied = 0u64;
    loop {
        let n = match entry.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return Ok(Outcome::Cut),
        };
        out.write_all(&buf[..n]).map_err(write_error)?;
        copied += n as u64;
    }
    out.flush().map_err(write_error)?;
    Ok(if copied < expected { Outcome::Cut } else { Outcome::Done })
}

/// An item file parsed.
#[derive(Debug, PartialEq)]
struct Item {
    title: String,
    body: String,
    props: HashMap<String, String>,
}

impl Item {
    fn prop(&self, name: &str) -> &str {
        self.props.get(name).map(String::as_str).unwrap_or("")
    }

    /// The id a property names (`None` when empty or not an id).
    fn id_prop(&self, name: &str) -> Option<String> {
        let v = self.prop(name).trim();
        is_id(v).then(|| v.to_ascii_lowercase())
    }

    /// A true/false property written as a number (`1`, or a time for `todo_completed`).
    fn flag(&self, name: &str) -> bool {
        self.prop(name).trim().parse::<i64>().is_ok_and(|n| n != 0)
    }

    /// The time Joplin shows (`user_…` when set), else the item's own.
    fn time(&self, name: &str) -> Option<i64> {
        joplin_time(self.prop(&format!("user_{name}"))).or_else(|| joplin_time(self.prop(name)))
    }
}

/// Parses an item file as Joplin does: properties from the last line upward to the first
/// blank line; above it the title, a blank line and the body.
fn parse_item(text: &str) -> std::result::Result<Item, &'static str> {
    let lines: Vec<&str> = text.split('\n').collect();
    // A final newline (a file saved by hand) is not a blank line before the properties.
    let mut end = lines.len();
    while end > 0 && lines[end - 1].trim().is_empty() {
        end -= 1;
    }
    let mut props = HashMap::new();
    let mut i = end;
    while i > 0 {
        let line = lines[i - 1].trim();
        if line.is_empty() {
            break;
        }
        let (key, value) = line.split_once(':').ok_or(
            "it is not a Joplin item (a line of its properties is not “name: value”); it was skipped.",
        )?;
        // The upper of two lines naming the same property wins, as in Joplin.
        props.insert(key.trim().to_string(), unescape(value.trim()));
        i -= 1;
    }
    if !props.contains_key("type_") {
        return Err("it is not a Joplin item (it has no item type); it was skipped.");
    }
    let above = &lines[..i.saturating_sub(1)];
    let title = above.first().map(|t| t.trim_end_matches('\r').to_string()).unwrap_or_default();
    let body_from = if above.get(1).is_some_and(|l| l.trim().is_empty()) { 2 } else { 1 };
    let body = above.get(body_from..).map(|b| b.join("\n")).unwrap_or_default();
    Ok(Item { title, body, props })
}

/// A property value as Joplin writes it, read back: `\n` and `\r` are line breaks, `\\n`
/// and `\\r` the two characters.
fn unescape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.peek() {
            Some('n') => {
                chars.next();
                out.push('\n');
            }
            Some('r') => {
                chars.next();
                out.push('\r');
            }
            Some('\\') => {
                let mut ahead = chars.clone();
                ahead.next();
                match ahead.next() {
                    Some(letter @ ('n' | 'r')) => {
                        chars.next();
                        chars.next();
                        out.push('\\');
                        out.push(letter);
                    }
                    _ => out.push('\\'),
                }
            }
            _ => out.push('\\'),
        }
    }
    out
}

/// `2020-01-02T03:04:05.678Z` as ms since the Unix epoch (`None` when empty or not a time).
fn joplin_time(s: &str) -> Option<i64> {
    let s = s.trim().strip_suffix('Z')?;
    let (date, time) = s.split_once('T')?;
    let mut d = date.splitn(3, '-');
    let (hms, fraction) = time.split_once('.').unwrap_or((time, ""));
    let mut t = hms.splitn(3, ':');
    let num = |p: Option<&str>| {
        p.filter(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))?.parse::<u32>().ok()
    };
    let y = num(d.next())?;
    let (mo, day) = (num(d.next())?, num(d.next())?);
    let (h, mi, sec) = (num(t.next())?, num(t.next())?, num(t.next())?);
    let ms = match fraction {
        "" => 0,
        f => num(Some(&format!("{:0<3}", f.get(..f.len().min(3))?)))?,
    };
    super::enex::utc_ms(i64::from(y), mo, day, h, mi, sec, ms)
}

/// An attachment's properties.
struct ResourceMeta {
    path: String,
    id: String,
    title: String,
    filename: String,
    extension: String,
    mime: String,
    encrypted: bool,
}

/// The items read so far, put together at the end ([`Items::into_archive`]).
#[derive(Default)]
struct Items {
    notebooks: Vec<Notebook>,
    notes: Vec<JexNote>,
    tags: HashMap<String, String>,
    note_tags: Vec<(String, String)>,
    resources: Vec<ResourceMeta>,
    /// Attachment bytes copied, by id.
    data: HashMap<String, PathBuf>,
    /// An entry was named as a Joplin item or attachment.
    seen: bool,
    /// An entry was refused as unsafe (the archive is then a hostile one, reported with
    /// problems, rather than some other tar).
    trouble: bool,
    problems: Vec<(String, String)>,
}

impl Items {
    fn problem(&mut self, path: &str, why: &str) {
        self.problems.push((path.to_string(), why.to_string()));
    }

    /// Adds an item read from `path` (named `<id>.md`).
    fn add(&mut self, path: &str, file_id: &str, item: Item) {
        let id = item.id_prop("id").unwrap_or_else(|| file_id.to_string());
        if item.flag("encryption_applied") {
            self.problem(
                path,
                "it is encrypted by Joplin's end-to-end encryption; let Joplin decrypt everything, then export again. It was skipped.",
            );
            return;
        }
        let in_trash = item.flag("deleted_time");
        match item.prop("type_").trim().parse::<u32>() {
            Ok(TYPE_NOTE) => {
                if item.prop("markup_language").trim() == "2" {
                    self.problem(path, "it is an HTML note; its HTML was imported as its text.");
                }
                self.notes.push(JexNote {
                    parent_id: item.id_prop("parent_id"),
                    created: item.time("created_time"),
                    updated: item.time("updated_time"),
                    is_todo: item.flag("is_todo"),
                    todo_completed: item.flag("todo_completed"),
                    tags: Vec::new(),
                    in_trash,
                    id,
                    title: item.title,
                    body: item.body,
                });
            }
            Ok(TYPE_FOLDER) => self.notebooks.push(Notebook {
                parent_id: item.id_prop("parent_id"),
                created: item.time("created_time"),
                updated: item.time("updated_time"),
                in_trash,
                id,
                title: item.title,
            }),
            Ok(TYPE_TAG) => {
                self.tags.insert(id, item.title.trim().to_string());
            }
            Ok(TYPE_NOTE_TAG) => {
                if let (Some(note), Some(tag)) = (item.id_prop("note_id"), item.id_prop("tag_id")) {
                    if !in_trash {
                        self.note_tags.push((note, tag));
                    }
                }
            }
            Ok(TYPE_RESOURCE) => self.resources.push(ResourceMeta {
                path: path.to_string(),
                id,
                filename: item.prop("filename").trim().to_string(),
                extension: item.prop("file_extension").trim().to_string(),
                mime: item.prop("mime").trim().to_string(),
                encrypted: item.flag("encryption_blob_encrypted"),
                title: item.title,
            }),
            // Settings, revisions, master keys…: not notes.
            Ok(_) => {}
            Err(_) => self.problem(path, "its item type is not a number; it was skipped."),
        }
    }

    /// Puts tags on notes and attachment bytes with their properties.
    fn into_archive(mut self) -> Result<Archive> {
        if !self.seen && !self.trouble {
            return Err(Error::Invalid(NOT_JEX.into()));
        }
        let index: HashMap<String, usize> =
            self.notes.iter().enumerate().map(|(i, n)| (n.id.clone(), i)).collect();
        for (note, tag) in &self.note_tags {
            let (Some(&i), Some(name)) = (index.get(note), self.tags.get(tag)) else { continue };
            let tags = &mut self.notes[i].tags;
            if !name.is_empty() && !tags.contains(name) {
                tags.push(name.clone());
            }
        }
        let mut resources = HashMap::new();
        for meta in self.resources {
            let data = self.data.remove(&meta.id);
            let name = resource_name(&meta, data.as_deref());
            match data {
                Some(path) if meta.encrypted => {
                    let _ = std::fs::remove_file(path);
                    let why = format!("the attachment “{name}” is encrypted by Joplin's end-to-end encryption; it was skipped.");
                    self.problems.push((meta.path, why));
                }
                Some(path) => {
                    let mime = if meta.mime.is_empty() { guess_mime(&name) } else { meta.mime };
                    resources.insert(meta.id, Resource { path, name, mime });
                }
                None => {
                    let why = format!("the attachment “{name}” has no data in the archive; links to it will not work.");
                    self.problems.push((meta.path, why));
                }
            }
        }
        // Bytes whose properties are missing: kept under the name the archive gives them.
        for (id, path) in self.data {
            let name = match path.extension() {
                Some(ext) => format!("{id}.{}", ext.to_string_lossy()),
                None => id.clone(),
            };
            let mime = guess_mime(&name);
            resources.insert(id, Resource { path, name, mime });
        }
        Ok(Archive {
            notebooks: self.notebooks,
            notes: self.notes,
            resources,
            problems: self.problems,
        })
    }
}

/// An attachment's name: its title, else its file name, else its id; with its extension
/// when the name has none. Path separators and control characters are replaced.
fn resource_name(meta: &ResourceMeta, data: Option<&Path>) -> String {
    let base = [meta.title.trim(), meta.filename.trim(), meta.id.as_str()]
        .into_iter()
        .find(|s| !s.is_empty())
        .unwrap_or_default();
    let base: String = base
        .chars()
        .map(|c| if c == '/' || c == '\\' || c.is_control() { '_' } else { c })
        .collect();
    let data_ext = data.and_then(|p| p.extension()).map(|e| e.to_string_lossy().into_owned());
    let ext = Some(meta.extension.clone()).filter(|e| !e.is_empty()).or(data_ext);
    match ext {
        Some(ext) if Path::new(&base).extension().is_none() => format!("{base}.{ext}"),
        _ => base,
    }
}

fn guess_mime(name: &str) -> String {
    mime_guess::from_path(name).first_or_octet_stream().essence_str().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tar::{Builder, EntryType, Header};

    const FOLDER: &str = "f0000000000000000000000000000001";
    const SUB: &str = "f0000000000000000000000000000002";
    const NOTE: &str = "a0000000000000000000000000000001";
    const OTHER: &str = "a0000000000000000000000000000002";
    const TAG: &str = "c0000000000000000000000000000001";
    const LINK: &str = "d0000000000000000000000000000001";
    const RES: &str = "e0000000000000000000000000000001";
    const LOST: &str = "e0000000000000000000000000000002";
    const PNG: &[u8] = b"\x89PNG\r\n\x1a\nimage bytes";

    /// An item file as Joplin's `serialize` writes it.
    fn item(title: Option<&str>, body: Option<&str>, props: &[(&str, &str)]) -> String {
        let props: Vec<String> = props.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        let parts: Vec<String> = [title.map(str::to_string), body.map(str::to_string)]
            .into_iter()
            .flatten()
            .chain((!props.is_empty()).then(|| props.join("\n")))
            .collect();
        parts.join("\n\n")
    }

    fn add(b: &mut Builder<Vec<u8>>, path: &str, data: &[u8]) {
        let mut h = Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_entry_type(EntryType::Regular);
        b.append_data(&mut h, path, data).unwrap();
    }

    /// An entry with a raw name (the builder itself refuses `..` and absolute paths).
    fn add_raw(b: &mut Builder<Vec<u8>>, name: &str, kind: EntryType, data: &[u8]) {
        let mut h = Header::new_old();
        h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_entry_type(kind);
        if kind == EntryType::Symlink || kind == EntryType::Link {
            h.set_link_name("/etc/passwd").unwrap();
        }
        h.set_cksum();
        b.append(&h, data).unwrap();
    }

    fn export() -> Vec<u8> {
        let mut b = Builder::new(Vec::new());
        let times = [
            ("created_time", "2020-01-02T03:04:05.678Z"),
            ("updated_time", "2020-01-03T00:00:00.000Z"),
        ];
        let folder = |id: &'static str, parent: &'static str| {
            let mut props = vec![("id", id), ("parent_id", parent)];
            props.extend(times);
            props.push(("type_", "2"));
            props
        };
        add(
            &mut b,
            &format!("{FOLDER}.md"),
            item(Some("Work"), None, &folder(FOLDER, "")).as_bytes(),
        );
        add(
            &mut b,
            &format!("{SUB}.md"),
            item(Some("Projects"), None, &folder(SUB, FOLDER)).as_bytes(),
        );
        let body = format!(
            "See ![chart](:/{RES}) and [the other note](:/{OTHER}#todo).\n\nid: a line that looks like a property\ntype_: 99"
        );
        let mut props = vec![("id", NOTE), ("parent_id", SUB)];
        props.extend(times);
        props.extend([
            ("user_created_time", "2019-12-31T23:59:59.000Z"),
            ("user_updated_time", ""),
            ("is_todo", "1"),
            ("todo_completed", "1578009600000"),
            ("source_url", "https://example.com/a\\nb"),
            ("markup_language", "1"),
            ("type_", "1"),
        ]);
        add(&mut b, &format!("{NOTE}.md"), item(Some("Meeting"), Some(&body), &props).as_bytes());
        let other = item(
            Some("Other"),
            Some("plain"),
            &[("id", OTHER), ("parent_id", FOLDER), ("type_", "1")],
        );
        add(&mut b, &format!("{OTHER}.md"), other.as_bytes());
        add(
            &mut b,
            &format!("{TAG}.md"),
            item(Some("project"), None, &[("id", TAG), ("type_", "5")]).as_bytes(),
        );
        let link =
            item(None, None, &[("id", LINK), ("note_id", NOTE), ("tag_id", TAG), ("type_", "6")]);
        add(&mut b, &format!("{LINK}.md"), link.as_bytes());
        let mut dir = Header::new_gnu();
        dir.set_entry_type(EntryType::Directory);
        dir.set_size(0);
        b.append_data(&mut dir, "resources/", std::io::empty()).unwrap();
        add(&mut b, &format!("resources/{RES}.png"), PNG);
        let res = [
            ("id", RES),
            ("mime", "image/png"),
            ("filename", ""),
            ("file_extension", "png"),
            ("type_", "4"),
        ];
        add(&mut b, &format!("{RES}.md"), item(Some("chart"), None, &res).as_bytes());
        let lost =
            [("id", LOST), ("mime", "application/pdf"), ("file_extension", "pdf"), ("type_", "4")];
        add(&mut b, &format!("{LOST}.md"), item(Some("report.pdf"), None, &lost).as_bytes());
        b.into_inner().unwrap()
    }

    #[test]
    fn an_export_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let a = read(export().as_slice(), dir.path(), &mut || true).unwrap();
        let books: Vec<_> =
            a.notebooks.iter().map(|n| (n.title.as_str(), n.parent_id.as_deref())).collect();
        assert_eq!(books, [("Work", None), ("Projects", Some(FOLDER))]);
        assert_eq!(a.notebooks[0].created, Some(1_577_934_245_678));
        assert_eq!(a.notebooks[0].updated, Some(1_578_009_600_000));
        assert_eq!(a.notes.len(), 2);
        let n = &a.notes[0];
        assert_eq!(
            (n.id.as_str(), n.parent_id.as_deref(), n.title.as_str()),
            (NOTE, Some(SUB), "Meeting")
        );
        assert_eq!(
            n.body,
            format!("See ![chart](:/{RES}) and [the other note](:/{OTHER}#todo).\n\nid: a line that looks like a property\ntype_: 99")
        );
        assert_eq!((n.created, n.updated), (Some(1_577_836_799_000), Some(1_578_009_600_000)));
        assert!(n.is_todo && n.todo_completed && !n.in_trash);
        assert_eq!(n.tags, ["project"]);
        assert_eq!((a.notes[1].title.as_str(), a.notes[1].body.as_str()), ("Other", "plain"));
        assert!(a.notes[1].tags.is_empty());
        let r = &a.resources[RES];
        assert_eq!((r.name.as_str(), r.mime.as_str()), ("chart.png", "image/png"));
        assert!(r.path.starts_with(dir.path()));
        assert_eq!(std::fs::read(&r.path).unwrap(), PNG);
        assert_eq!(a.resources.len(), 1);
        assert_eq!(
            a.problems,
            [(
                format!("{LOST}.md"),
                "the attachment “report.pdf” has no data in the archive; links to it will not work.".to_string()
            )]
        );
        // Links to the note and the attachment, rewritten.
        let mut asked = Vec::new();
        let body = rewrite_links(&n.body, &mut |id: &str, image: bool| {
            asked.push((id.to_string(), image));
            match id {
                RES => Some("asset:///chart".into()),
                OTHER => Some("note:OTHER".into()),
                _ => None,
            }
        });
        assert_eq!(asked, [(RES.to_string(), true), (OTHER.to_string(), false)]);
        assert!(
            body.starts_with("See ![chart](asset:///chart) and [the other note](note:OTHER#todo).")
        );
    }

    #[test]
    fn links_are_rewritten() {
        let id = "0123456789abcdef0123456789abcdef";
        let cases: &[(&str, &str, bool)] = &[
            ("[a](:/ID)", "[a](X)", false),
            ("![a](:/ID)", "![a](X)", true),
            ("![a [b] c](:/ID)", "![a [b] c](X)", true),
            ("[![img](x.png)](:/ID)", "[![img](x.png)](X)", false),
            ("![a](<:/ID>)", "![a](<X>)", true),
            ("<img src=\":/ID\" width=\"10\"/>", "<img src=\"X\" width=\"10\"/>", true),
            ("<a href=\":/ID\">x</a>", "<a href=\"X\">x</a>", false),
            ("[ref]: :/ID", "[ref]: X", false),
            ("see :/ID.", "see X.", false),
            ("http://ID", "http://ID", false),
            ("x:/ID", "x:/ID", false),
            (":/IDff", ":/IDff", false),
            (":/0123", ":/0123", false),
        ];
        for (body, want, image) in cases {
            let body = body.replace("ID", id);
            let mut seen = None;
            let out = rewrite_links(&body, &mut |found: &str, is_image: bool| {
                assert_eq!(found, id);
                seen = Some(is_image);
                Some("X".into())
            });
            assert_eq!(out, want.replace("ID", id), "for {body}");
            if out != body {
                assert_eq!(seen, Some(*image), "for {body}");
            }
        }
        // Unknown ids stay as written.
        let body = format!("[a](:/{id}) é");
        assert_eq!(rewrite_links(&body, &mut |_: &str, _: bool| None), body);
    }

    #[test]
    fn items_are_parsed_as_joplin_does() {
        let cases: &[(&str, Option<(&str, &str)>)] = &[
            ("Title\n\nBody\n\nid: x\ntype_: 1", Some(("Title", "Body"))),
            ("Title\n\nid: x\ntype_: 1", Some(("Title", ""))),
            (
                "Title\n\nline 1\n\nline 3\n\n\nid: x\ntype_: 1\n",
                Some(("Title", "line 1\n\nline 3\n")),
            ),
            ("Title\n\nkey: value\n\ntype_: 1", Some(("Title", "key: value"))),
            ("id: x\nnote_id: y\ntype_: 6", Some(("", ""))),
            ("Title\n\nno properties here", None),
            ("Title\n\nid: x", None),
        ];
        for (text, want) in cases {
            let got = parse_item(text).ok();
            let got = got.as_ref().map(|i| (i.title.as_str(), i.body.as_str()));
            assert_eq!(got, *want, "for {text:?}");
        }
        let item = parse_item("T\n\nsource_url: a\\nb\\\\nc\\\\x\ntype_: 4").unwrap();
        assert_eq!(item.prop("source_url"), "a\nb\\nc\\\\x");
    }

    #[test]
    fn times_are_read() {
        let cases: &[(&str, Option<i64>)] = &[
            ("2020-01-02T03:04:05.678Z", Some(1_577_934_245_678)),
            ("2020-01-02T03:04:05Z", Some(1_577_934_245_000)),
            ("2020-01-02T03:04:05.6Z", Some(1_577_934_245_600)),
            ("1970-01-01T00:00:00.000Z", Some(0)),
            ("", None),
            ("2020-13-02T03:04:05.678Z", None),
            ("1577934245678", None),
        ];
        for (text, want) in cases {
            assert_eq!(joplin_time(text), *want, "for {text}");
        }
    }

    #[test]
    fn hostile_entries_are_skipped_and_nothing_is_written_outside_scratch() {
        let top = tempfile::tempdir().unwrap();
        let scratch = top.path().join("scratch");
        std::fs::create_dir(&scratch).unwrap();
        let note = item(Some("Fine"), Some("ok"), &[("id", NOTE), ("type_", "1")]);
        let mut b = Builder::new(Vec::new());
        add_raw(&mut b, "../evil.md", EntryType::Regular, b"evil");
        add_raw(&mut b, "/abs.md", EntryType::Regular, b"evil");
        add_raw(&mut b, &format!("resources/../../{RES}.png"), EntryType::Regular, b"evil");
        add_raw(&mut b, "link.md", EntryType::Symlink, b"");
        add_raw(&mut b, &format!("resources/{RES}.png"), EntryType::Link, b"");
        add_raw(&mut b, &format!("{LOST}.md"), EntryType::Char, b"");
        add(&mut b, "notes/readme.txt", b"not joplin");
        add(&mut b, &format!("resources/{RES}.sh;rm -rf"), b"x");
        add(&mut b, &format!("{NOTE}.md"), note.as_bytes());
        let a = read(b.into_inner().unwrap().as_slice(), &scratch, &mut || true).unwrap();
        assert_eq!(a.notes.len(), 1);
        let problems: Vec<(&str, &str)> =
            a.problems.iter().map(|(p, w)| (p.as_str(), w.as_str())).collect();
        let res_link = format!("resources/{RES}.png");
        let bad_ext = format!("resources/{RES}.sh;rm -rf");
        let char_dev = format!("{LOST}.md");
        let up = format!("resources/../../{RES}.png");
        assert_eq!(
            problems,
            [
                ("../evil.md", OUTSIDE),
                ("/abs.md", OUTSIDE),
                (up.as_str(), OUTSIDE),
                ("link.md", NOT_A_FILE),
                (res_link.as_str(), NOT_A_FILE),
                (char_dev.as_str(), NOT_A_FILE),
                ("notes/readme.txt", NOT_JOPLIN),
                (bad_ext.as_str(), NOT_JOPLIN),
            ]
        );
        let mut written: Vec<_> =
            std::fs::read_dir(top.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        written.sort();
        assert_eq!(written, ["scratch"]);
        assert_eq!(std::fs::read_dir(&scratch).unwrap().count(), 0);
        assert!(!top.path().parent().unwrap().join("evil.md").exists());
        assert!(a.resources.is_empty());
    }

    #[test]
    fn other_files_are_not_exports() {
        let dir = tempfile::tempdir().unwrap();
        let mut photos = Builder::new(Vec::new());
        add(&mut photos, "IMG_0001.jpg", b"jpeg");
        let photos = photos.into_inner().unwrap();
        let zip = [b"PK\x03\x04".as_slice(), &[7u8; 2000]].concat();
        let inputs: [(&str, &[u8]); 4] = [
            ("empty", b""),
            ("text", b"hello, this is not a tar archive"),
            ("zip", &zip),
            ("photos", &photos),
        ];
        for (what, bytes) in inputs {
            match read(bytes, dir.path(), &mut || true) {
                Err(Error::Invalid(why)) => assert_eq!(why, NOT_JEX, "for {what}"),
                other => panic!("{what}: expected not a Joplin export, got {other:?}"),
            }
        }
    }

    #[test]
    fn a_truncated_archive_keeps_what_came_before() {
        let dir = tempfile::tempdir().unwrap();
        let whole = export();
        // Cut inside the attachment's bytes (its header is at a 512-byte boundary before them).
        let at = whole.windows(PNG.len()).position(|w| w == PNG).unwrap() + 4;
        let a = read(&whole[..at], dir.path(), &mut || true).unwrap();
        assert_eq!(a.notes.len(), 2);
        assert_eq!(a.problems, [(format!("resources/{RES}.png"), CUT.to_string())]);
        assert!(a.resources.is_empty());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        // Headers claiming far more than the archive holds.
        for (path, why) in [
            (
                format!("{NOTE}.md"),
                "it is larger than 64 MB, too large for a Joplin item; it was skipped.",
            ),
            (format!("{OTHER}.md"), CUT),
            (format!("resources/{RES}.png"), CUT),
        ] {
            let mut h = Header::new_gnu();
            h.set_path(&path).unwrap();
            h.set_size(if why == CUT { 1 << 20 } else { 1 << 40 });
            h.set_entry_type(EntryType::Regular);
            h.set_cksum();
            let mut bytes = h.as_bytes().to_vec();
            bytes.extend_from_slice(b"Title\n\nid: x\ntype_: 1");
            let a = read(bytes.as_slice(), dir.path(), &mut || true).unwrap();
            assert!(a.notes.is_empty() && a.resources.is_empty());
            assert_eq!(a.problems.first(), Some(&(path.clone(), why.to_string())), "for {path}");
            assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        }
    }

    #[test]
    fn encrypted_and_odd_items_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let mut b = Builder::new(Vec::new());
        let secret =
            item(Some(""), None, &[("id", NOTE), ("encryption_applied", "1"), ("type_", "1")]);
        add(&mut b, &format!("{NOTE}.md"), secret.as_bytes());
        add(&mut b, &format!("{OTHER}.md"), b"just some text\nwithout properties");
        let html = item(
            Some("Web"),
            Some("<p>hi</p>"),
            &[("id", SUB), ("markup_language", "2"), ("type_", "1")],
        );
        add(&mut b, &format!("{SUB}.md"), html.as_bytes());
        add(&mut b, &format!("{LOST}.md"), b"T\n\nid: x\ntype_: \xff\xfe");
        let a = read(b.into_inner().unwrap().as_slice(), dir.path(), &mut || true).unwrap();
        assert_eq!(a.notes.iter().map(|n| n.body.as_str()).collect::<Vec<_>>(), ["<p>hi</p>"]);
        let whys: Vec<&str> = a.problems.iter().map(|(_, w)| w.as_str()).collect();
        assert_eq!(whys.len(), 5, "{whys:?}");
        assert!(whys[0].contains("end-to-end encryption"));
        assert!(whys[1].contains("not “name: value”"));
        assert!(whys[2].contains("HTML note"));
        assert!(whys[3].contains("not valid UTF-8"));
        assert!(whys[4].contains("not a number"));
    }

    /// Inputs found by review that once panicked or took quadratic time (hostile files).
    #[test]
    fn hostile_times_and_links_neither_panic_nor_crawl() {
        assert_eq!(joplin_time("2020-01-02T03:04:05.12éZ"), None);
        assert_eq!(joplin_time("2020-01-02T03:04:05.éZ"), None);
        let body = format!("<img src=\"{}:/{RES}", "x".repeat(1_000_000)).repeat(3);
        let _ = rewrite_links(&body, &mut |_, _| Some("y".into()));
    }
}
