//! A note as an Automerge document: `title` and `body` are Automerge text, `created_at`,
//! `updated_at` (ms), `deleted`, `pinned` and `purged` are scalars, `notebook` names the
//! note's notebook, and `tags` is a map from tag name to `true` (FORMAT.md §4.3). Edits become
//! minimal text splices so that concurrent edits to different parts of a note both survive; a
//! tag is added by putting its key and removed by deleting it, so a concurrent add and remove of
//! one tag keeps the tag (add wins).
//!
//! A notebook is a document of the same log whose `kind` is `"notebook"` (FORMAT.md §4.4): a
//! `name` and a `parent` that are plain values, so concurrent renames or moves end with one of
//! them (the same on every device) rather than a mix of both.
//!
//! A device's name is a document whose `kind` is `"device"` and whose id is the device's
//! clientId (FORMAT.md §4.6): a plain `name` that only that device writes.

use automerge::transaction::Transactable;
use automerge::{
    ActorId, AutoCommit, ChangeHash, ObjId, ObjType, ReadDoc, ScalarValue, Value, ROOT,
};
use uuid::Uuid;

use crate::docs::DocError;
use crate::error::{Error, Result};
pub use crate::format::entry::DocKind;

/// The readable state of a note document.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct NoteFields {
    /// Title text.
    pub title: String,
    /// Markdown body.
    pub body: String,
    /// Creation time, ms since the Unix epoch.
    pub created_at: i64,
    /// Last edit time, ms since the Unix epoch.
    pub updated_at: i64,
    /// True once deleted (kept in the log; hidden from the list, shown in the trash).
    pub deleted: bool,
    /// Pinned notes come first in every list.
    pub pinned: bool,
    /// True once the note was emptied from the trash: gone from every list, the trash and
    /// search on every device (its changes stay in the log).
    pub purged: bool,
    /// Tag names, sorted by their UTF-8 bytes, without duplicates.
    pub tags: Vec<String>,
    /// What the document is: for a notebook or a device, `title` is its name and `body` is
    /// empty.
    #[serde(skip)]
    pub kind: DocKind,
    /// A note's notebook, or a notebook's parent; `None`: the default notebook (for a note) or
    /// the top level (for a notebook), and also for a value that is not a note id.
    pub notebook: Option<Uuid>,
}

/// The longest notebook name, in characters.
pub const MAX_NOTEBOOK_CHARS: usize = 200;

/// A notebook name as stored: trimmed, runs of white space made one space (case kept). `None`
/// when nothing is left, or when it holds a control character or is longer than
/// [`MAX_NOTEBOOK_CHARS`].
pub fn notebook_name(raw: &str) -> Option<String> {
    let name = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    (!name.is_empty()
        && !name.chars().any(char::is_control)
        && name.chars().count() <= MAX_NOTEBOOK_CHARS)
        .then_some(name)
}

/// The longest tag name, in characters.
pub const MAX_TAG_CHARS: usize = 100;

/// The form a tag name is stored in: trimmed, without leading `#`, runs of white space made one
/// space, lowercase (as Joplin does, so "Work" and "work" are one tag). `None` when nothing is
/// left, or when it holds a control character or is longer than [`MAX_TAG_CHARS`].
pub fn tag_name(raw: &str) -> Option<String> {
    let t = raw.trim().trim_start_matches('#').trim();
    if t.is_empty() || t.chars().any(char::is_control) {
        return None;
    }
    let name = t.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase();
    (name.chars().count() <= MAX_TAG_CHARS).then_some(name)
}

fn doc_err(e: automerge::AutomergeError) -> Error {
    DocError::Automerge(e.to_string()).into()
}

/// An empty document whose changes are attributed to `client`.
pub fn new_doc(client: &Uuid) -> AutoCommit {
    AutoCommit::new().with_actor(ActorId::from(client.as_bytes().as_slice()))
}

/// Loads a saved document and makes `client` its actor.
pub fn load(saved: &[u8], client: &Uuid) -> Result<AutoCommit> {
    let doc = AutoCommit::load(saved).map_err(doc_err)?;
    Ok(doc.with_actor(ActorId::from(client.as_bytes().as_slice())))
}

pub(crate) fn text_obj(doc: &AutoCommit, key: &str) -> Option<ObjId> {
    match doc.get(ROOT, key).ok()?? {
        (Value::Object(ObjType::Text), id) => Some(id),
        _ => None,
    }
}

fn int(doc: &AutoCommit, key: &str) -> i64 {
    match doc.get(ROOT, key) {
        Ok(Some((Value::Scalar(s), _))) => match s.as_ref() {
            ScalarValue::Int(i) => *i,
            ScalarValue::Uint(u) => *u as i64,
            ScalarValue::Timestamp(t) => *t,
            _ => 0,
        },
        _ => 0,
    }
}

/// Whether a root key holds the boolean `true` (anything else, or nothing, reads as false).
fn flag(doc: &AutoCommit, key: &str) -> bool {
    matches!(doc.get(ROOT, key), Ok(Some((Value::Scalar(s), _))) if matches!(s.as_ref(), ScalarValue::Boolean(true)))
}

/// A root key holding a string, if it does.
fn string(doc: &AutoCommit, key: &str) -> Option<String> {
    match doc.get(ROOT, key) {
        Ok(Some((Value::Scalar(s), _))) => match s.as_ref() {
            ScalarValue::Str(t) => Some(t.to_string()),
            _ => None,
        },
        _ => None,
    }
}

/// A root key holding a notebook id: a string of exactly 36 characters, the id in lowercase
/// hyphenated form (FORMAT.md §4.3). Anything else, the nil id included, reads as `None`.
fn id_at(doc: &AutoCommit, key: &str) -> Option<Uuid> {
    let s = string(doc, key)?;
    let id = Uuid::parse_str(&s).ok()?;
    (s.len() == 36 && s == id.to_string() && !id.is_nil()).then_some(id)
}

/// What the document is, from its root `kind` string (`"notebook"`, `"device"`; anything
/// else, or none: a note).
pub fn kind(doc: &AutoCommit) -> DocKind {
    match string(doc, "kind").as_deref() {
        Some("notebook") => DocKind::Notebook,
        Some("device") => DocKind::Device,
        _ => DocKind::Note,
    }
}

fn tags_obj(doc: &AutoCommit) -> Option<ObjId> {
    match doc.get(ROOT, "tags").ok()?? {
        (Value::Object(ObjType::Map), id) => Some(id),
        _ => None,
    }
}

/// The note's tags (FORMAT.md §4.3): the keys of the `tags` map whose value is `true`, sorted
/// by their UTF-8 bytes. A key holding anything else, or a `tags` that is not a map, is ignored.
pub fn tags(doc: &AutoCommit) -> Vec<String> {
    let Some(obj) = tags_obj(doc) else { return Vec::new() };
    let mut out: Vec<String> = doc
        .map_range(&obj, ..)
        .filter(|item| {
            matches!(
                item.value,
                automerge::ValueRef::Scalar(automerge::ScalarValueRef::Boolean(true))
            )
        })
        .map(|item| item.key.to_string())
        .filter(|k| !k.is_empty())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Reads the fields; missing or odd-typed fields read as empty rather than failing.
pub fn read(doc: &AutoCommit) -> NoteFields {
    NoteFields { body: body(doc), ..read_head(doc) }
}

/// The fields that are cheap to read whatever the body's size: everything but the body.
pub fn read_head(doc: &AutoCommit) -> NoteFields {
    match kind(doc) {
        DocKind::Note => {}
        DocKind::Notebook => {
            return NoteFields {
                title: string(doc, "name").unwrap_or_default(),
                created_at: int(doc, "created_at"),
                updated_at: int(doc, "updated_at"),
                deleted: flag(doc, "deleted"),
                kind: DocKind::Notebook,
                notebook: id_at(doc, "parent"),
                ..Default::default()
            }
        }
        DocKind::Device => {
            return NoteFields {
                title: string(doc, "name").unwrap_or_default(),
                created_at: int(doc, "created_at"),
                updated_at: int(doc, "updated_at"),
                kind: DocKind::Device,
                ..Default::default()
            }
        }
    }
    NoteFields {
        title: text_obj(doc, "title").and_then(|o| doc.text(&o).ok()).unwrap_or_default(),
        body: String::new(),
        created_at: int(doc, "created_at"),
        updated_at: int(doc, "updated_at"),
        deleted: flag(doc, "deleted"),
        pinned: flag(doc, "pinned"),
        purged: flag(doc, "purged"),
        tags: tags(doc),
        kind: DocKind::Note,
        notebook: id_at(doc, "notebook"),
    }
}

/// The body's length in characters, without reading it.
pub fn body_len(doc: &AutoCommit) -> usize {
    text_obj(doc, "body").map(|o| doc.length(&o)).unwrap_or(0)
}

/// The body text.
pub fn body(doc: &AutoCommit) -> String {
    text_obj(doc, "body").and_then(|o| doc.text(&o).ok()).unwrap_or_default()
}

/// The first line of a body as FORMAT.md §4.2 defines it — lines split on `\n` only, each trimmed
/// of Unicode White_Space (`str::trim`: `\r` and U+0085 are trimmed, U+FEFF is not), the first
/// non-empty one cut to 200 scalar values and not trimmed again — and the character offset just
/// past its line: edits after that offset cannot change the first line.
pub fn first_line(body: &str) -> (String, usize) {
    let mut offset = 0;
    for line in body.split_inclusive('\n') {
        let n = line.chars().count();
        let t = line.trim();
        if !t.is_empty() {
            return (t.chars().take(200).collect(), offset + n);
        }
        offset += n;
    }
    (String::new(), offset)
}

/// Writes the initial fields of a new note into an empty document.
/// (The order of its operations is pinned by the format vectors.)
pub fn create(doc: &mut AutoCommit, title: &str, body: &str, now: i64) -> Result<()> {
    let t = doc.put_object(ROOT, "title", ObjType::Text).map_err(doc_err)?;
    doc.splice_text(&t, 0, 0, title).map_err(doc_err)?;
    let b = doc.put_object(ROOT, "body", ObjType::Text).map_err(doc_err)?;
    doc.splice_text(&b, 0, 0, body).map_err(doc_err)?;
    put_times(doc, now)
}

/// Writes the initial fields of a new note but its body into an empty document (an import
/// writes each new note's body straight into its change).
pub fn create_head(doc: &mut AutoCommit, title: &str, now: i64) -> Result<()> {
    let t = doc.put_object(ROOT, "title", ObjType::Text).map_err(doc_err)?;
    doc.splice_text(&t, 0, 0, title).map_err(doc_err)?;
    put_times(doc, now)
}

/// A new note's times and `deleted`.
fn put_times(doc: &mut AutoCommit, now: i64) -> Result<()> {
    doc.put(ROOT, "created_at", now).map_err(doc_err)?;
    doc.put(ROOT, "updated_at", now).map_err(doc_err)?;
    doc.put(ROOT, "deleted", false).map_err(doc_err)?;
    Ok(())
}

/// Writes a new notebook into an empty document: `name` (as [`notebook_name`] makes it) inside
/// `parent` (`None`: the top level).
pub fn create_notebook(
    doc: &mut AutoCommit,
    name: &str,
    parent: Option<Uuid>,
    now: i64,
) -> Result<()> {
    doc.put(ROOT, "kind", "notebook").map_err(doc_err)?;
    doc.put(ROOT, "name", name).map_err(doc_err)?;
    doc.put(ROOT, "parent", parent.map(|p| p.to_string()).unwrap_or_default()).map_err(doc_err)?;
    doc.put(ROOT, "created_at", now).map_err(doc_err)?;
    doc.put(ROOT, "updated_at", now).map_err(doc_err)?;
    doc.put(ROOT, "deleted", false).map_err(doc_err)?;
    Ok(())
}

/// The longest device name, in characters.
pub const MAX_DEVICE_CHARS: usize = 60;

/// A device name as stored: trimmed, runs of white space made one space. `None` when nothing is
/// left, or when it holds a control character or is longer than [`MAX_DEVICE_CHARS`].
pub fn device_name(raw: &str) -> Option<String> {
    notebook_name(raw).filter(|n| n.chars().count() <= MAX_DEVICE_CHARS)
}

/// Names this device: writes its device document (FORMAT.md §4.6), made on first use. Returns
/// true when the name changed.
pub fn name_device(doc: &mut AutoCommit, name: &str, now: i64) -> Result<bool> {
    if kind(doc) == DocKind::Device && string(doc, "name").as_deref() == Some(name) {
        return Ok(false);
    }
    if kind(doc) != DocKind::Device {
        doc.put(ROOT, "kind", "device").map_err(doc_err)?;
        doc.put(ROOT, "created_at", now).map_err(doc_err)?;
    }
    doc.put(ROOT, "name", name).map_err(doc_err)?;
    doc.put(ROOT, "updated_at", now).map_err(doc_err)?;
    Ok(true)
}

/// Renames a notebook. Returns true when the name changed.
pub fn rename_notebook(doc: &mut AutoCommit, name: &str, now: i64) -> Result<bool> {
    if string(doc, "name").as_deref() == Some(name) {
        return Ok(false);
    }
    doc.put(ROOT, "name", name).map_err(doc_err)?;
    touch(doc, now)?;
    Ok(true)
}

/// Puts a note into `notebook` (`None`: the default notebook), or a notebook into `notebook`
/// (`None`: the top level). One value, so of two concurrent moves one wins everywhere. Returns
/// true when that changed anything; a note's edit time stays (moving is not an edit of its
/// text), a notebook's is set to `now` (the newest move breaks a cycle, FORMAT.md §4.4).
pub fn move_to(doc: &mut AutoCommit, notebook: Option<Uuid>, now: i64) -> Result<bool> {
    let (key, is_book) =
        if kind(doc) == DocKind::Notebook { ("parent", true) } else { ("notebook", false) };
    if id_at(doc, key) == notebook {
        return Ok(false);
    }
    doc.put(ROOT, key, notebook.map(|p| p.to_string()).unwrap_or_default()).map_err(doc_err)?;
    if is_book {
        touch(doc, now)?;
    }
    Ok(true)
}

/// Changes a text field to `new` with the smallest splices found by a character diff.
/// Returns true when anything changed.
pub fn set_text(doc: &mut AutoCommit, key: &str, new: &str) -> Result<bool> {
    let obj = match text_obj(doc, key) {
        Some(o) => o,
        None => doc.put_object(ROOT, key, ObjType::Text).map_err(doc_err)?,
    };
    let old = doc.text(&obj).map_err(doc_err)?;
    if old == new {
        return Ok(false);
    }
    for splice in splices(&old, new).into_iter().rev() {
        doc.splice_text(&obj, splice.pos, splice.delete as isize, &splice.insert)
            .map_err(doc_err)?;
    }
    Ok(true)
}

/// Applies one splice to an existing text field, clamping positions to the text. Returns false
/// when the note has no such field (not created yet on this device).
pub fn splice(
    doc: &mut AutoCommit,
    key: &str,
    pos: usize,
    delete: usize,
    insert: &str,
) -> Result<bool> {
    let Some(obj) = text_obj(doc, key) else { return Ok(false) };
    let len = doc.length(&obj);
    let pos = pos.min(len);
    let delete = delete.min(len - pos);
    if delete == 0 && insert.is_empty() {
        return Ok(false);
    }
    doc.splice_text(&obj, pos, delete as isize, insert).map_err(doc_err)?;
    Ok(true)
}

/// Converts a position in UTF-16 code units (JavaScript's string indices) into Unicode code
/// points of `text`. A position inside a surrogate pair rounds down; past the end clamps.
pub fn utf16_to_chars(text: &str, pos16: usize) -> usize {
    let mut units = 0;
    for (i, c) in text.chars().enumerate() {
        let next = units + c.len_utf16();
        if next > pos16 {
            return i;
        }
        units = next;
    }
    text.chars().count()
}

/// Applies an editor's splice given in UTF-16 code units. Returns the code-point position it
/// landed at, or None when nothing changed.
pub fn splice_utf16(
    doc: &mut AutoCommit,
    key: &str,
    pos16: usize,
    delete16: usize,
    insert: &str,
) -> Result<Option<usize>> {
    let Some(obj) = text_obj(doc, key) else { return Ok(None) };
    let text = doc.text(&obj).map_err(doc_err)?;
    let pos = utf16_to_chars(&text, pos16);
    let end = utf16_to_chars(&text, pos16.saturating_add(delete16));
    Ok(splice(doc, key, pos, end.saturating_sub(pos), insert)?.then_some(pos))
}

/// Runs `edit` as one change based on the version `heads` rather than the latest one, under a
/// fresh actor (so it never shares a sequence number with this device's later changes), then
/// returns to the latest version. Returns the change's bytes, or None when `edit` changed
/// nothing.
pub fn change_at(
    doc: &mut AutoCommit,
    heads: &[ChangeHash],
    now: i64,
    edit: impl FnOnce(&mut AutoCommit) -> Result<bool>,
) -> Result<Option<Vec<u8>>> {
    let own = doc.get_actor().clone();
    doc.set_actor(ActorId::from(uuid::Uuid::new_v4().as_bytes().as_slice()));
    doc.isolate(heads);
    let result = edit(doc);
    let hash = doc.commit_with(commit_options(now));
    doc.integrate();
    doc.set_actor(own);
    let changed = result?;
    Ok(match (changed, hash) {
        (true, Some(h)) => doc.get_change_by_hash(&h).map(|c| c.raw_bytes().to_vec()),
        _ => None,
    })
}

/// One text splice in Unicode code points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Splice {
    /// Position in the old text.
    pub pos: usize,
    /// Code points deleted at `pos`.
    pub delete: usize,
    /// Text inserted at `pos`.
    pub insert: String,
}

/// How long [`splices`] may look for the fewest edits before it settles for coarser ones:
/// applying a splice costs ~50 µs in a note of 10,000 changes, so a finer answer found late
/// still pays (restoring a 100 KB note's oldest version: 76–190 ms to find ~10,000–17,000
/// splices, then 0.6–1.2 s to apply them; settling at 50 ms meant 1.0–1.8 s).
const SPLICE_DEADLINE: std::time::Duration = std::time::Duration::from_millis(200);

/// Above this many characters (old and new together, past the common prefix and suffix), lines
/// are compared first and characters only inside the lines that differ: comparing 200,000
/// characters one by one ran out of time and replaced the whole text (1.4 s to apply a restore
/// of a 100 KB note, and a concurrent edit anywhere in it lost its place).
const LINES_FIRST_ABOVE: usize = 8_192;

/// The splices (in ascending position of the old text) that turn `old` into `new`.
pub fn splices(old: &str, new: &str) -> Vec<Splice> {
    let deadline = std::time::Instant::now() + SPLICE_DEADLINE;
    let o: Vec<char> = old.chars().collect();
    let n: Vec<char> = new.chars().collect();
    let prefix = o.iter().zip(&n).take_while(|(a, b)| a == b).count();
    let suffix =
        o[prefix..].iter().rev().zip(n[prefix..].iter().rev()).take_while(|(a, b)| a == b).count();
    let (om, nm) = (&o[prefix..o.len() - suffix], &n[prefix..n.len() - suffix]);
    let mut out: Vec<Splice> = Vec::new();
    if om.len() + nm.len() <= LINES_FIRST_ABOVE {
        char_splices(om, nm, prefix, deadline, &mut out);
        return out;
    }
    let (ol, nl) = (lines(om), lines(nm));
    let ops =
        similar::capture_diff_slices_deadline(similar::Algorithm::Myers, &ol, &nl, Some(deadline));
    let chars = |ls: &[&[char]]| ls.iter().map(|l| l.len()).sum::<usize>();
    let (mut opos, mut npos) = (0usize, 0usize);
    for op in ops {
        let (tag, or, nr) = op.as_tag_tuple();
        let (olen, nlen) = (chars(&ol[or]), chars(&nl[nr]));
        if tag != similar::DiffTag::Equal {
            let (was, now) = (&om[opos..opos + olen], &nm[npos..npos + nlen]);
            char_splices(was, now, prefix + opos, deadline, &mut out);
        }
        opos += olen;
        npos += nlen;
    }
    out
}

/// `text`'s lines, each with its `\n`.
fn lines(text: &[char]) -> Vec<&[char]> {
    text.split_inclusive(|c| *c == '\n').collect()
}

/// Appends to `out` the splices that turn `om` into `nm` character by character, at `base` in
/// the old text; a splice that touches the last one in `out` is merged into it.
fn char_splices(
    om: &[char],
    nm: &[char],
    base: usize,
    deadline: std::time::Instant,
    out: &mut Vec<Splice>,
) {
    let mut push = |s: Splice| match out.last_mut() {
        Some(last) if last.pos + last.delete == s.pos => {
            last.delete += s.delete;
            last.insert.push_str(&s.insert);
        }
        _ => out.push(s),
    };
    if om.is_empty() || nm.is_empty() {
        if !om.is_empty() || !nm.is_empty() {
            push(Splice { pos: base, delete: om.len(), insert: nm.iter().collect() });
        }
        return;
    }
    let diff =
        similar::capture_diff_slices_deadline(similar::Algorithm::Myers, om, nm, Some(deadline));
    // Positions are tracked from the ops' lengths alone (the ops come in order).
    let (mut opos, mut npos) = (0usize, 0usize);
    for op in diff {
        let (tag, or, nr) = op.as_tag_tuple();
        let (olen, nlen) = match tag {
            similar::DiffTag::Equal => {
                opos += or.len();
                npos += or.len();
                continue;
            }
            similar::DiffTag::Delete => (or.len(), 0),
            similar::DiffTag::Insert => (0, nr.len()),
            similar::DiffTag::Replace => (or.len(), nr.len()),
        };
        push(Splice {
            pos: base + opos,
            delete: olen,
            insert: nm[npos..npos + nlen].iter().collect(),
        });
        opos += olen;
        npos += nlen;
    }
}

/// Marks a note deleted.
pub fn mark_deleted(doc: &mut AutoCommit, now: i64) -> Result<()> {
    set_deleted(doc, true, now)
}

/// Sets or clears the deletion mark (clearing it is "undo delete"). Deleting a note that a
/// restore concurrent with "Empty trash" brought back also clears its `purged` mark, so it goes
/// to the trash again instead of vanishing (FORMAT.md §4.3).
pub fn set_deleted(doc: &mut AutoCommit, deleted: bool, now: i64) -> Result<()> {
    if deleted && flag(doc, "purged") {
        doc.put(ROOT, "purged", false).map_err(doc_err)?;
    }
    doc.put(ROOT, "deleted", deleted).map_err(doc_err)?;
    doc.put(ROOT, "updated_at", now).map_err(doc_err)?;
    Ok(())
}

/// The notes a body links to, in order of first appearance, each once (FORMAT.md §4.3: a
/// Markdown link whose destination is `note:` and a note id, `[Title](note:ID)`).
pub fn links(body: &str) -> Vec<Uuid> {
    let mut out = Vec::new();
    for (at, _) in body.match_indices("](note:") {
        let id = &body[at + 7..];
        let Some(end) = id.find(')') else { continue };
        if let Ok(u) = Uuid::parse_str(&id[..end]) {
            if end == 36 && !out.contains(&u) {
                out.push(u);
            }
        }
    }
    out
}

/// Pins or unpins a note. Returns true when that changed anything. The note's edit time stays:
/// pinning is not an edit of its text.
pub fn set_pinned(doc: &mut AutoCommit, pinned: bool) -> Result<bool> {
    if flag(doc, "pinned") == pinned {
        return Ok(false);
    }
    doc.put(ROOT, "pinned", pinned).map_err(doc_err)?;
    Ok(true)
}

/// Adds the tags `add` and removes the tags `remove` (names as [`tag_name`] makes them). A tag
/// is added by putting its key and removed by deleting it, so a remove concurrent with an add
/// of the same tag keeps it. Returns true when anything changed; the edit time stays.
pub fn retag(doc: &mut AutoCommit, add: &[String], remove: &[String]) -> Result<bool> {
    let have = tags(doc);
    let obj = match tags_obj(doc) {
        Some(o) => o,
        None if add.is_empty() => return Ok(false),
        None => doc.put_object(ROOT, "tags", ObjType::Map).map_err(doc_err)?,
    };
    let mut changed = false;
    for t in remove {
        if doc.get(&obj, t.as_str()).map_err(doc_err)?.is_some() && !add.contains(t) {
            doc.delete(&obj, t.as_str()).map_err(doc_err)?;
            changed = true;
        }
    }
    for t in add {
        if !have.contains(t) {
            doc.put(&obj, t.as_str(), true).map_err(doc_err)?;
            changed = true;
        }
    }
    Ok(changed)
}

/// Marks a deleted note emptied from the trash (FORMAT.md §4.3 `purged`). Returns true when
/// that changed anything.
pub fn purge(doc: &mut AutoCommit) -> Result<bool> {
    if flag(doc, "purged") {
        return Ok(false);
    }
    doc.put(ROOT, "purged", true).map_err(doc_err)?;
    Ok(true)
}

/// Sets when a note was created and last edited (ms since the Unix epoch): an imported
/// note keeps its times.
pub fn set_times(doc: &mut AutoCommit, created: i64, updated: i64) -> Result<()> {
    doc.put(ROOT, "created_at", created).map_err(doc_err)?;
    doc.put(ROOT, "updated_at", updated).map_err(doc_err)
}

/// Records where an import read the note from (FORMAT.md §4.3 `source`), so that importing
/// the same file again does not make a second note.
pub fn set_source(doc: &mut AutoCommit, source: &str) -> Result<()> {
    doc.put(ROOT, "source", source).map_err(doc_err)
}

/// Where an import read the note from, if it was imported.
pub fn source(doc: &AutoCommit) -> Option<String> {
    string(doc, "source").filter(|s| !s.is_empty())
}

/// Sets `updated_at`.
pub fn touch(doc: &mut AutoCommit, now: i64) -> Result<()> {
    doc.put(ROOT, "updated_at", now).map_err(doc_err)
}

/// Commits pending operations as a change made at `now` (ms since the Unix epoch) and returns
/// its bytes, if any.
pub fn take_change(doc: &mut AutoCommit, now: i64) -> Option<Vec<u8>> {
    doc.commit_with(commit_options(now))?;
    doc.get_last_local_change().map(|c| c.raw_bytes().to_vec())
}

/// A change's time as FORMAT.md §4.3 stores it: whole seconds since the Unix epoch (Automerge's
/// own convention), from `now` in ms.
pub fn change_time(now: i64) -> i64 {
    now.div_euclid(1000)
}

fn commit_options(now: i64) -> automerge::transaction::CommitOptions {
    automerge::transaction::CommitOptions::default().with_time(change_time(now))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn utf16_positions_map_to_code_points() {
        let t = "a😀b\u{e9}";
        let cases = [(0, 0), (1, 1), (2, 1), (3, 2), (4, 3), (5, 4), (99, 4)];
        for (p16, want) in cases {
            assert_eq!(utf16_to_chars(t, p16), want, "position {p16}");
        }
    }

    #[test]
    fn utf16_splice_after_an_emoji() {
        let mut doc = new_doc(&uuid::Uuid::new_v4());
        create(&mut doc, "t", "😀 x", 1).unwrap();
        // JavaScript sees "😀" as two units: "x" is at 3.
        assert_eq!(splice_utf16(&mut doc, "body", 3, 1, "yz").unwrap(), Some(2));
        assert_eq!(body(&doc), "😀 yz");
        assert_eq!(splice_utf16(&mut doc, "body", 0, 2, "").unwrap(), Some(0));
        assert_eq!(body(&doc), " yz");
    }

    fn apply(old: &str, new: &str) -> String {
        let mut chars: Vec<char> = old.chars().collect();
        for s in splices(old, new).into_iter().rev() {
            chars.splice(s.pos..s.pos + s.delete, s.insert.chars());
        }
        chars.into_iter().collect()
    }

    #[test]
    fn a_long_text_edited_in_many_places_gets_a_splice_per_edit_not_one_for_everything() {
        let old: String = (0..3000).map(|i| format!("line {i} of a long note\n")).collect();
        let new: String = (0..3000)
            .map(|i| format!("line {i} of a {} note\n", if i % 10 == 0 { "lung" } else { "long" }))
            .collect();
        let s = splices(&old, &new);
        assert_eq!(s.len(), 300);
        assert!(s.iter().all(|s| s.delete == 1 && s.insert == "u"), "{:?}", &s[..3]);
        assert_eq!(apply(&old, &new), new);
    }

    #[test]
    fn splice_table() {
        let cases = [
            ("", "abc", vec![Splice { pos: 0, delete: 0, insert: "abc".into() }]),
            ("abc", "", vec![Splice { pos: 0, delete: 3, insert: "".into() }]),
            (
                "hello world",
                "hello brave world",
                vec![Splice { pos: 6, delete: 0, insert: "brave ".into() }],
            ),
            (
                "aXbYc",
                "a1b2c",
                vec![
                    Splice { pos: 1, delete: 1, insert: "1".into() },
                    Splice { pos: 3, delete: 1, insert: "2".into() },
                ],
            ),
            ("héllo", "hèllo", vec![Splice { pos: 1, delete: 1, insert: "è".into() }]),
        ];
        for (old, new, want) in cases {
            assert_eq!(splices(old, new), want, "{old:?} -> {new:?}");
        }
    }

    #[test]
    fn first_line_table() {
        assert_eq!(first_line(""), (String::new(), 0));
        assert_eq!(first_line("\n\n  hello \nworld"), ("hello".to_string(), 11));
        assert_eq!(first_line("one line"), ("one line".to_string(), 8));
        assert_eq!(first_line("é\nx"), ("é".to_string(), 2));
    }

    /// FORMAT.md §4.2: lines split on U+000A only; trimmed of Unicode White_Space
    /// (`char::is_whitespace`: U+0085 and `\r` are trimmed, U+FEFF is not), then cut to 200
    /// scalar values, and the cut is not trimmed again.
    #[test]
    fn first_line_trims_white_space_then_cuts_at_200_scalar_values() {
        assert_eq!(first_line("\u{85}\u{a0}\u{3000} a \u{85}\nb"), ("a".to_string(), 8));
        assert_eq!(first_line("\u{feff}a\u{feff}\nb"), ("\u{feff}a\u{feff}".to_string(), 4));
        assert_eq!(first_line("\u{feff}\nb"), ("\u{feff}".to_string(), 2));
        assert_eq!(first_line("title\r\nnext"), ("title".to_string(), 7));
        assert_eq!(first_line(" \r\n\t\r\nsecond\r\n"), ("second".to_string(), 14));
        // U+2028, U+0085 and `\r` alone do not end a line.
        assert_eq!(first_line("a\u{2028}b\u{85}c\rd"), ("a\u{2028}b\u{85}c\rd".to_string(), 7));
        // A 201-character line (after trimming) whose 200th character is a space: trimmed
        // first, then cut; the cut keeps the space.
        let line = format!("{} y", "é".repeat(199));
        assert_eq!(line.chars().count(), 201);
        let long = format!("  {line}\nrest");
        let want: String = format!("{} ", "é".repeat(199));
        assert_eq!(first_line(&long), (want, 204));
        assert_eq!(first_line(&long).0.chars().count(), 200);
        // Characters are scalar values, not UTF-16 units or bytes.
        let emoji = "😀".repeat(250);
        assert_eq!(first_line(&emoji).0, "😀".repeat(200));
        assert_eq!(first_line(" \u{85}\n\u{2003}\n"), (String::new(), 5));
    }

    #[test]
    fn concurrent_edits_in_different_places_both_survive() {
        let a = Uuid::new_v4();
        let b = Uuid::new_v4();
        let mut da = new_doc(&a);
        create(&mut da, "T", "first line\nsecond line\nthird line", 1).unwrap();
        da.commit();
        let mut db = load(&da.save(), &b).unwrap();
        set_text(&mut da, "body", "FIRST line\nsecond line\nthird line").unwrap();
        set_text(&mut db, "body", "first line\nsecond line\nthird LINE").unwrap();
        da.commit();
        db.commit();
        da.merge(&mut db).unwrap();
        assert_eq!(read(&da).body, "FIRST line\nsecond line\nthird LINE");
    }

    #[test]
    fn links_are_found_by_their_note_ids() {
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let body = format!(
            "See [Plan](note:{a}) and [again](note:{a}) and [Untitled](note:{b})\n[bad](note:1234) [upper](note:{})",
            b.to_string().to_uppercase()
        );
        assert_eq!(links(&body), vec![a, b]);
        assert!(links("[x](note:").is_empty());
    }

    #[test]
    fn tag_names_table() {
        let cases = [
            ("Work", Some("work")),
            ("  #Project   Alpha ", Some("project alpha")),
            ("##x", Some("x")),
            ("日本語", Some("日本語")),
            ("", None),
            ("#", None),
            ("   ", None),
            ("a\u{7}b", None),
            ("line\nbreak", None),
        ];
        for (raw, want) in cases {
            assert_eq!(tag_name(raw).as_deref(), want, "{raw:?}");
        }
        assert_eq!(tag_name(&"x".repeat(MAX_TAG_CHARS)).map(|t| t.len()), Some(MAX_TAG_CHARS));
        assert_eq!(tag_name(&"x".repeat(MAX_TAG_CHARS + 1)), None);
    }

    /// Two devices: one removes a tag while the other adds it again (and both add others): the
    /// tag stays (add wins), the others are kept, and pins and tags are read back the same on
    /// both, whatever the merge order.
    #[test]
    fn a_tag_added_on_one_device_and_removed_on_another_stays() {
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let mut da = new_doc(&a);
        create(&mut da, "T", "", 1).unwrap();
        retag(&mut da, &["work".into(), "home".into()], &[]).unwrap();
        da.commit();
        let mut db = load(&da.save(), &b).unwrap();
        assert!(retag(&mut da, &[], &["work".into()]).unwrap());
        assert!(retag(&mut da, &["a".into()], &[]).unwrap());
        assert!(set_pinned(&mut da, true).unwrap());
        assert!(!set_pinned(&mut da, true).unwrap());
        // b removes and adds back "work" (a put of a key it saw), then adds "b".
        retag(&mut db, &[], &["work".into()]).unwrap();
        retag(&mut db, &["work".into(), "b".into()], &[]).unwrap();
        da.commit();
        db.commit();
        let mut ab = da.fork();
        ab.merge(&mut db).unwrap();
        let mut ba = db.fork();
        ba.merge(&mut da).unwrap();
        for d in [&ab, &ba] {
            let f = read_head(d);
            assert_eq!(f.tags, vec!["a", "b", "home", "work"]);
            assert!(f.pinned);
        }
    }

    #[test]
    fn odd_values_read_as_no_tags_and_false_flags() {
        let mut d = new_doc(&Uuid::new_v4());
        create(&mut d, "T", "", 1).unwrap();
        d.put(ROOT, "pinned", "yes").unwrap();
        d.put(ROOT, "tags", "work").unwrap();
        let f = read_head(&d);
        assert!(!f.pinned && !f.purged && f.tags.is_empty());
        let mut d = new_doc(&Uuid::new_v4());
        let m = d.put_object(ROOT, "tags", ObjType::Map).unwrap();
        d.put(&m, "kept", true).unwrap();
        d.put(&m, "odd", 1).unwrap();
        d.put(&m, "off", false).unwrap();
        assert_eq!(tags(&d), vec!["kept"]);
    }

    proptest! {
        #[test]
        fn splices_transform(old in "[a-c é\n]{0,30}", new in "[a-c é\n]{0,30}") {
            prop_assert_eq!(apply(&old, &new), new);
        }

        /// Long texts (compared lines first) with edits here and there, some across lines.
        #[test]
        fn splices_transform_long_texts(
            lines in prop::collection::vec("[a-dé ]{0,60}\n", 150..300),
            edits in prop::collection::vec((any::<prop::sample::Index>(), 0usize..90, "[a-d\n]{0,5}"), 0..40),
        ) {
            let old: String = lines.concat();
            let mut new: Vec<char> = old.chars().collect();
            for (at, del, ins) in edits {
                let at = at.index(new.len() + 1);
                let end = (at + del).min(new.len());
                new.splice(at..end, ins.chars());
            }
            let new: String = new.into_iter().collect();
            prop_assert_eq!(apply(&old, &new), new);
        }
    }
}
