//! Evernote's export file, ENEX: an XML document `<en-export>` holding `<note>`s, each with a
//! title, its text as ENML (Evernote's XHTML, inside `<content>`), times, tags and
//! `<resource>`s (attachments, base64 in `<data>`, found from the text by the MD5 of their
//! bytes: `<en-media hash="…"/>`).
//!
//! [`read`] streams the file: one note's text is held in memory at a time (at most 64 MB) and
//! attachments are decoded straight into files, so a 5 GB export is read in bounded memory.
//! Each note's text is converted to Markdown as it is read. XML that declares its own entities
//! (the "billion laughs" attack: a few lines that expand to gigabytes) is refused, in the file
//! or in one note's text; no entity is ever expanded and nothing is ever fetched from the
//! network.

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, BufRead, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use md5::{Digest, Md5};
use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

use crate::error::{Error, Result};

/// The largest text of one note (its ENML) read; a larger note is skipped.
const MAX_ENML_BYTES: usize = 64 << 20;

/// The largest attachment read (decoded); a larger one is skipped.
const MAX_RESOURCE_BYTES: u64 = 2 << 30;

/// The largest piece of the file outside a note's text and attachment data (a title, a tag,
/// OCR data, …) read at once: beyond it the file cannot be read in bounded memory.
const MAX_PART_BYTES: u64 = 64 << 20;

/// The longest title, tag, date or file name kept (longer ones are cut).
const MAX_FIELD_BYTES: usize = 64 * 1024;

/// How deeply elements of a note's text nest before the deeper ones are flattened (keeps
/// the conversion's recursion bounded).
const MAX_DEPTH: usize = 128;

const NOT_ENEX: &str = "This file is not an Evernote export (.enex); export notes from Evernote with File → Export Notes and choose ENEX.";

const DECLARES_ENTITIES: &str = "This file declares its own XML entities, which can make a small file grow to an enormous size, so it was not imported; export the notes from Evernote again.";

/// Why a note whose text declares entities is refused.
const NOTE_DECLARES_ENTITIES: &str = "its text declares its own XML entities, which can make a small note grow to an enormous size, so it was refused.";

/// Marks a to-do box in converted inline text until it is placed on its line.
const TODO_OPEN: char = '\u{E000}';
const TODO_DONE: char = '\u{E001}';

/// One attachment, written to a file.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Resource {
    /// Where its bytes were written (under the scratch folder; removed once its note is
    /// handed over).
    pub(super) path: PathBuf,
    /// Its file name, or one made from its type (`image.png`).
    pub(super) name: String,
    /// Its MIME type as Evernote gave it.
    pub(super) mime: String,
    /// The MD5 of its bytes, lowercase hex (what `<en-media hash>` names).
    pub(super) md5: String,
}

/// One note read and converted.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Note {
    pub(super) title: String,
    /// The text as Markdown.
    pub(super) body: String,
    pub(super) tags: Vec<String>,
    /// ms since the Unix epoch.
    pub(super) created: Option<i64>,
    /// ms since the Unix epoch.
    pub(super) updated: Option<i64>,
    /// What could not be brought in, one sentence each (starting in lower case: "it …").
    pub(super) problems: Vec<String>,
    /// Where it was read from, as FORMAT.md §4.3 `source` says for ENEX: SHA-256 of its
    /// title, its creation time and its text as exported, the same whenever it is read.
    pub(super) source: String,
}

/// What [`read`] did besides handing over notes.
#[derive(Debug, Default, Clone, PartialEq)]
pub(super) struct Summary {
    /// Notes handed over.
    pub(super) notes: usize,
    /// Notes skipped and the part of the file that could not be read, one sentence each.
    pub(super) problems: Vec<String>,
}

/// Reads an ENEX file from `reader`. For each note: writes its attachments to files under
/// `scratch`, calls `attach` for each (which returns the Markdown that shows it, or `None`
/// when it could not be attached), converts the note's text and calls `on_note`; the
/// attachment files are then removed. A note that cannot be brought in is reported in the
/// summary and the others go on; a file that ends early or is damaged keeps the notes before
/// the damage. Fails on a file that is not an export, one declaring entities, an error of
/// `on_note`, or one writing to `scratch`.
pub(super) fn read(
    reader: impl BufRead,
    scratch: &Path,
    attach: &mut dyn FnMut(&Resource) -> Option<String>,
    on_note: &mut dyn FnMut(Note) -> Result<()>,
) -> Result<Summary> {
    let mut xml = Reader::from_reader(Capped { inner: reader, used: 0 });
    let config = xml.config_mut();
    config.check_end_names = false;
    config.allow_unmatched_ends = true;
    config.allow_dangling_amp = true;
    let mut export = Export::new(scratch);
    let outcome = export.run(&mut xml, attach, on_note);
    export.discard();
    match outcome {
        Ok(()) => Ok(export.summary),
        Err(Stop::Fatal(e)) => Err(e),
        Err(Stop::Broken(_)) if !export.in_root => Err(Error::Invalid(NOT_ENEX.into())),
        Err(Stop::Broken(why)) => {
            let after = match &export.last_title {
                Some(t) => format!("after the note {}", named(t)),
                None => "before its first note".to_string(),
            };
            export.summary.problems.push(match why {
                Broken::Damaged => format!(
                    "the file is damaged or incomplete {after} (it may not have been fully downloaded); the notes after that point could not be read."
                ),
                Broken::TooLarge => format!(
                    "a part of the file {after} is too large to read (over 64 MB outside notes' text and attachments); the notes after that point could not be read."
                ),
            });
            Ok(export.summary)
        }
    }
}

/// Converts a note's ENML to Markdown: returns the text and what could not be converted, one
/// sentence each. `media(md5)` gives the Markdown for an attachment (`None`: it is not in the
/// export). A note whose text declares XML entities gives no text and a problem. ([`read`]
/// converts each note this way; the tests call it on its own.)
#[cfg(test)]
pub(super) fn enml_to_markdown(
    enml: &str,
    media: &mut dyn FnMut(&str) -> Option<String>,
) -> (String, Vec<String>) {
    convert(enml, media).unwrap_or_else(|refused| (String::new(), vec![refused]))
}

/// A note's title as shown in a sentence.
fn named(title: &str) -> String {
    if title.trim().is_empty() {
        "without a title".to_string()
    } else {
        format!("“{}”", title.trim())
    }
}

// ---------------------------------------------------------------------------------------------
// Reading the file

/// A reader that refuses to hand out more than [`MAX_PART_BYTES`] between two resets, so the
/// XML parser never holds an unbounded piece of the file; the note text and attachment data
/// are read past it (through `inner`) with their own limits.
struct Capped<R> {
    inner: R,
    used: u64,
}

/// The error [`Capped`] gives when a piece is too large.
#[derive(Debug)]
struct PartTooLarge;

impl std::fmt::Display for PartTooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a part of the file is too large")
    }
}

impl std::error::Error for PartTooLarge {}

impl<R: BufRead> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = {
            let available = self.fill_buf()?;
            let n = available.len().min(buf.len());
            buf[..n].copy_from_slice(&available[..n]);
            n
        };
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Capped<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.used >= MAX_PART_BYTES {
            return Err(io::Error::other(PartTooLarge));
        }
        let left = usize::try_from(MAX_PART_BYTES - self.used).unwrap_or(usize::MAX);
        let buf = self.inner.fill_buf()?;
        Ok(&buf[..buf.len().min(left)])
    }

    fn consume(&mut self, amount: usize) {
        self.used += amount as u64;
        self.inner.consume(amount);
    }
}

/// Why reading stopped.
enum Stop {
    /// The rest of the file cannot be read: the notes before stay.
    Broken(Broken),
    /// The import must stop (writing failed, or `on_note` failed).
    Fatal(Error),
}

enum Broken {
    Damaged,
    TooLarge,
}

/// What a read error means: the file is damaged or too large (`Some`), or reading it failed.
fn broken(e: &io::Error) -> Option<Broken> {
    if e.get_ref().is_some_and(|inner| inner.is::<PartTooLarge>()) {
        Some(Broken::TooLarge)
    } else if matches!(e.kind(), io::ErrorKind::UnexpectedEof | io::ErrorKind::InvalidData) {
        Some(Broken::Damaged)
    } else {
        None
    }
}

fn read_stop(e: io::Error) -> Stop {
    match broken(&e) {
        Some(b) => Stop::Broken(b),
        None => Stop::Fatal(Error::io("reading the Evernote export", e)),
    }
}

fn xml_stop(e: quick_xml::Error) -> Stop {
    match e {
        quick_xml::Error::Io(io) => match broken(&io) {
            Some(b) => Stop::Broken(b),
            None => Stop::Fatal(Error::io(
                "reading the Evernote export",
                io::Error::new(io.kind(), io.to_string()),
            )),
        },
        _ => Stop::Broken(Broken::Damaged),
    }
}

fn write_error(e: io::Error) -> Error {
    if e.kind() == io::ErrorKind::StorageFull {
        Error::DiskFull
    } else {
        Error::io("writing an attachment from the Evernote export", e)
    }
}

/// A note being read.
#[derive(Default)]
struct NoteDraft {
    title: String,
    enml: Option<String>,
    created: Option<i64>,
    updated: Option<i64>,
    tags: Vec<String>,
    resources: Vec<Resource>,
    problems: Vec<String>,
    /// Why the note is not brought in.
    skip: Option<String>,
}

/// An attachment being read.
#[derive(Default)]
struct ResourceDraft {
    path: Option<PathBuf>,
    md5: Option<String>,
    mime: String,
    name: Option<String>,
    problem: Option<ResourceProblem>,
}

#[derive(Clone, Copy)]
enum ResourceProblem {
    TooLarge,
    Damaged,
    Encoding,
}

/// The state of reading the whole file.
struct Export<'a> {
    scratch: &'a Path,
    summary: Summary,
    /// The open elements, outermost first (local names).
    stack: Vec<String>,
    in_root: bool,
    note: Option<NoteDraft>,
    resource: Option<ResourceDraft>,
    /// The text of the field being read (title, tag, date, MIME type, file name).
    field: Option<String>,
    /// Attachment files written so far (names the next one).
    files: usize,
    last_title: Option<String>,
}

impl<'a> Export<'a> {
    fn new(scratch: &'a Path) -> Self {
        Export {
            scratch,
            summary: Summary::default(),
            stack: Vec::new(),
            in_root: false,
            note: None,
            resource: None,
            field: None,
            files: 0,
            last_title: None,
        }
    }

    /// Reads events until the export ends.
    fn run<R: BufRead>(
        &mut self,
        xml: &mut Reader<Capped<R>>,
        attach: &mut dyn FnMut(&Resource) -> Option<String>,
        on_note: &mut dyn FnMut(Note) -> Result<()>,
    ) -> Result<(), Stop> {
        let mut buf = Vec::new();
        loop {
            buf.clear();
            xml.get_mut().used = 0;
            let event = xml.read_event_into(&mut buf).map_err(xml_stop)?;
            match event {
                Event::DocType(d) if declares_entities(&d) => {
                    return Err(Stop::Fatal(Error::Invalid(DECLARES_ENTITIES.into())))
                }
                Event::Start(e) => {
                    let name = local_name(&e);
                    if !self.in_root {
                        if name != "en-export" {
                            return Err(Stop::Fatal(Error::Invalid(NOT_ENEX.into())));
                        }
                        self.in_root = true;
                    } else if self.open(&name, &e, xml.get_mut())? {
                        // Read to its end tag already.
                        continue;
                    }
                    self.stack.push(name);
                }
                Event::Empty(e) if !self.in_root => {
                    return match local_name(&e).as_str() {
                        "en-export" => Ok(()),
                        _ => Err(Stop::Fatal(Error::Invalid(NOT_ENEX.into()))),
                    };
                }
                Event::End(e) => {
                    let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                    let Some(at) = self.stack.iter().rposition(|n| *n == name) else { continue };
                    while self.stack.len() > at {
                        let closed = self.stack.pop().unwrap_or_default();
                        self.close(&closed, attach, on_note)?;
                    }
                    if self.stack.is_empty() {
                        // `</en-export>`: whatever follows is not read.
                        return Ok(());
                    }
                }
                Event::Text(t) => self.add_field_text(&String::from_utf8_lossy(&t)),
                Event::CData(t) => self.add_field_text(&String::from_utf8_lossy(&t)),
                Event::GeneralRef(r) => {
                    self.add_field_text(&reference_text(&String::from_utf8_lossy(&r)))
                }
                Event::Eof if !self.in_root => {
                    return Err(Stop::Fatal(Error::Invalid(NOT_ENEX.into())))
                }
                Event::Eof => return Err(Stop::Broken(Broken::Damaged)),
                _ => {}
            }
        }
    }

    /// An element starts inside the export. Returns true when its content and end tag were
    /// read here (a note's text).
    fn open<R: BufRead>(
        &mut self,
        name: &str,
        e: &BytesStart<'_>,
        src: &mut Capped<R>,
    ) -> Result<bool, Stop> {
        let parent = self.stack.last().map(String::as_str).unwrap_or("");
        match (parent, name) {
            ("en-export", "note") => {
                self.note = Some(NoteDraft::default());
                self.resource = None;
            }
            ("note", "content") => {
                self.read_content(&mut src.inner)?;
                return Ok(true);
            }
            ("note", "resource") => self.resource = Some(ResourceDraft::default()),
            ("resource", "data") => self.read_data(&mut src.inner, attribute(e, "encoding"))?,
            ("note", "title" | "created" | "updated" | "tag")
            | ("resource", "mime")
            | ("resource-attributes", "file-name") => self.field = Some(String::new()),
            _ => {}
        }
        Ok(false)
    }

    fn add_field_text(&mut self, text: &str) {
        if let Some(field) = &mut self.field {
            if field.len() + text.len() <= MAX_FIELD_BYTES {
                field.push_str(text);
            }
        }
    }

    /// An element ends (`parent` is the one it was in).
    fn close(
        &mut self,
        name: &str,
        attach: &mut dyn FnMut(&Resource) -> Option<String>,
        on_note: &mut dyn FnMut(Note) -> Result<()>,
    ) -> Result<(), Stop> {
        let parent = self.stack.last().map(String::as_str).unwrap_or("");
        let text = match (parent, name) {
            ("note", "title" | "created" | "updated" | "tag")
            | ("resource", "mime")
            | ("resource-attributes", "file-name") => self.field.take().unwrap_or_default(),
            _ => String::new(),
        };
        let text = text.trim();
        match (parent, name) {
            ("en-export", "note") => {
                if let Some(note) = self.note.take() {
                    self.finish_note(note, attach, on_note)?;
                }
            }
            ("note", "resource") => {
                if let (Some(r), Some(note)) = (self.resource.take(), self.note.as_mut()) {
                    finish_resource(r, note);
                }
            }
            (_, _) if self.note.is_none() => {}
            ("note", field) => {
                let Some(note) = self.note.as_mut() else { return Ok(()) };
                match field {
                    "title" => note.title = text.to_string(),
                    "created" => note.created = enex_time(text),
                    "updated" => note.updated = enex_time(text),
                    "tag" if !text.is_empty() && !note.tags.iter().any(|t| t == text) => {
                        note.tags.push(text.to_string())
                    }
                    _ => {}
                }
            }
            ("resource", "mime") => {
                if let Some(r) = self.resource.as_mut() {
                    r.mime = text.to_string();
                }
            }
            ("resource-attributes", "file-name") => {
                if let Some(r) = self.resource.as_mut().filter(|_| !text.is_empty()) {
                    r.name = Some(text.to_string());
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Reads a note's text (to its end tag), or marks the note too large.
    fn read_content(&mut self, src: &mut impl BufRead) -> Result<(), Stop> {
        let raw = read_content(src).map_err(read_stop)?;
        let Some(note) = self.note.as_mut() else { return Ok(()) };
        match raw {
            Some(raw) => note.enml = Some(content_text(&raw)),
            None => note.skip = Some("its text is larger than 64 MB.".into()),
        }
        Ok(())
    }

    /// Decodes an attachment's data into a new file under the scratch folder.
    fn read_data(&mut self, src: &mut impl BufRead, encoding: Option<String>) -> Result<(), Stop> {
        let skipped = self.note.as_ref().is_none_or(|n| n.skip.is_some());
        let Some(r) = self.resource.as_mut() else { return Ok(()) };
        if let Some(old) = r.path.take() {
            let _ = std::fs::remove_file(old);
        }
        let base64 = encoding.is_none_or(|e| e.trim().eq_ignore_ascii_case("base64"));
        if skipped || !base64 {
            if !base64 {
                r.problem = Some(ResourceProblem::Encoding);
            }
            return skip_text(src).map_err(read_stop);
        }
        self.files += 1;
        let path = self.scratch.join(format!("enex-{}.bin", self.files));
        match decode_data(src, &path) {
            Ok(Decoded::Written { md5, damaged }) => {
                r.path = Some(path);
                r.md5 = Some(md5);
                if damaged {
                    r.problem = Some(ResourceProblem::Damaged);
                }
                Ok(())
            }
            Ok(Decoded::TooLarge) => {
                r.problem = Some(ResourceProblem::TooLarge);
                Ok(())
            }
            Err(e) => {
                let _ = std::fs::remove_file(&path);
                Err(match e {
                    DataError::Read(e) => read_stop(e),
                    DataError::Write(e) => Stop::Fatal(write_error(e)),
                })
            }
        }
    }

    /// Attaches a note's files, converts its text and hands it over; its files are removed.
    fn finish_note(
        &mut self,
        note: NoteDraft,
        attach: &mut dyn FnMut(&Resource) -> Option<String>,
        on_note: &mut dyn FnMut(Note) -> Result<()>,
    ) -> Result<(), Stop> {
        self.last_title = Some(note.title.clone());
        let files: Vec<PathBuf> = note.resources.iter().map(|r| r.path.clone()).collect();
        let outcome = self.deliver(note, attach, on_note);
        for f in files {
            let _ = std::fs::remove_file(f);
        }
        outcome
    }

    fn deliver(
        &mut self,
        note: NoteDraft,
        attach: &mut dyn FnMut(&Resource) -> Option<String>,
        on_note: &mut dyn FnMut(Note) -> Result<()>,
    ) -> Result<(), Stop> {
        let source = source_of(&note);
        let title = note.title;
        if let Some(why) = note.skip {
            let sentence = format!("the note {} was not imported: {why}", named(&title));
            self.summary.problems.push(sentence);
            return Ok(());
        }
        let attached: Vec<(Resource, String)> = note
            .resources
            .into_iter()
            .map(|r| {
                let md = attach(&r).unwrap_or_else(|| not_attached(&r));
                (r, md)
            })
            .collect();
        let mut shown = HashSet::new();
        let converted = match &note.enml {
            Some(enml) => convert(enml, &mut |hash: &str| {
                let (r, md) = attached.iter().find(|(r, _)| r.md5 == hash)?;
                shown.insert(r.md5.clone());
                Some(md.clone())
            }),
            None => Ok((String::new(), Vec::new())),
        };
        let (mut body, text_problems) = match converted {
            Ok(c) => c,
            Err(refused) => {
                let sentence = format!("the note {} was not imported: {refused}", named(&title));
                self.summary.problems.push(sentence);
                return Ok(());
            }
        };
        // Evernote shows the attachments the text does not place after it.
        for (r, md) in &attached {
            if !shown.contains(&r.md5) {
                shown.insert(r.md5.clone());
                if !body.is_empty() {
                    body.push_str("\n\n");
                }
                body.push_str(md);
            }
        }
        let mut problems = note.problems;
        problems.extend(text_problems);
        let out = Note {
            title,
            body,
            tags: note.tags,
            created: note.created,
            updated: note.updated,
            problems,
            source,
        };
        on_note(out).map_err(Stop::Fatal)?;
        self.summary.notes += 1;
        Ok(())
    }

    /// Removes the files of a note not handed over (the file ended inside it).
    fn discard(&mut self) {
        let note = self.note.take();
        let files = note.iter().flat_map(|n| n.resources.iter().map(|r| r.path.clone()));
        let current = self.resource.take().and_then(|r| r.path);
        for f in files.chain(current) {
            let _ = std::fs::remove_file(f);
        }
    }
}

/// A note's `source` (FORMAT.md §4.3): `enex:` and the SHA-256 of its title, a zero byte, its
/// creation time (ms since the Unix epoch, decimal; empty when it has none), a zero byte and
/// its ENML as exported.
fn source_of(note: &NoteDraft) -> String {
    use sha2::Digest as _;
    let mut h = sha2::Sha256::new();
    h.update(note.title.as_bytes());
    h.update([0]);
    h.update(note.created.map(|c| c.to_string()).unwrap_or_default().as_bytes());
    h.update([0]);
    h.update(note.enml.as_deref().unwrap_or("").as_bytes());
    format!("enex:{}", crate::format::asset::hex(&h.finalize()))
}

/// Adds a finished attachment to its note, or says why it is not there.
fn finish_resource(r: ResourceDraft, note: &mut NoteDraft) {
    let name = r.name.clone().unwrap_or_else(|| name_for(&r.mime));
    let problem = match r.problem {
        Some(ResourceProblem::TooLarge) => {
            Some(format!("the attachment “{name}” is larger than 2 GB and was not imported."))
        }
        Some(ResourceProblem::Encoding) => Some(format!(
            "the attachment “{name}” is stored in a way this app cannot read and was not imported."
        )),
        Some(ResourceProblem::Damaged) => Some(format!(
            "the attachment “{name}” may be damaged: its data in the export is not valid."
        )),
        None if r.path.is_none() && note.skip.is_none() => {
            Some(format!("the attachment “{name}” has no data in the export and was not imported."))
        }
        None => None,
    };
    note.problems.extend(problem);
    if let (Some(path), Some(md5)) = (r.path, r.md5) {
        let mime = if r.mime.is_empty() { "application/octet-stream".into() } else { r.mime };
        note.resources.push(Resource { path, name, mime, md5 });
    }
}

/// What stands in the text for an attachment that could not be attached.
fn not_attached(r: &Resource) -> String {
    format!("\\[attachment {} not imported\\]", escape_inline(&r.name, false))
}

/// A file name made from a MIME type: `image/png` → `image.png`.
fn name_for(mime: &str) -> String {
    let mime = mime.trim().to_ascii_lowercase();
    let ext = match mime.as_str() {
        "image/jpeg" | "image/jpg" | "image/pjpeg" => Some("jpg"),
        "image/png" => Some("png"),
        "image/gif" => Some("gif"),
        "application/pdf" => Some("pdf"),
        "audio/mpeg" => Some("mp3"),
        "audio/wav" | "audio/x-wav" => Some("wav"),
        "text/plain" => Some("txt"),
        "text/html" => Some("html"),
        m => mime_guess::get_mime_extensions_str(m).and_then(|e| e.first().copied()),
    };
    let kind = mime.split('/').next().unwrap_or("");
    let stem = if matches!(kind, "image" | "audio" | "video") { kind } else { "attachment" };
    match ext {
        Some(ext) => format!("{stem}.{ext}"),
        None => stem.to_string(),
    }
}

/// An element's local name, lowercase.
fn local_name(e: &BytesStart<'_>) -> String {
    String::from_utf8_lossy(e.local_name().as_ref()).to_ascii_lowercase()
}

/// An attribute's value, its entities decoded.
fn attribute(e: &BytesStart<'_>, name: &str) -> Option<String> {
    e.html_attributes().with_checks(false).flatten().find_map(|a| {
        let key = String::from_utf8_lossy(a.key.local_name().as_ref()).to_ascii_lowercase();
        (key == name).then(|| decode_entities(&String::from_utf8_lossy(&a.value)))
    })
}

/// True when a document type declaration declares entities (its internal subset has
/// `<!ENTITY`): they are refused, never expanded.
fn declares_entities(doctype: &[u8]) -> bool {
    doctype.windows(8).any(|w| w.eq_ignore_ascii_case(b"<!ENTITY"))
}

/// The last bytes read, to find the end of a CDATA section, a comment or the text.
#[derive(Default)]
struct Tail {
    bytes: [u8; 16],
    n: usize,
}

impl Tail {
    fn push(&mut self, b: u8) {
        self.bytes[self.n % 16] = b;
        self.n += 1;
    }

    fn ends_with(&self, pattern: &[u8]) -> bool {
        pattern.len() <= self.n.min(16)
            && pattern
                .iter()
                .rev()
                .enumerate()
                .all(|(i, &p)| self.bytes[(self.n - 1 - i) % 16] == p)
    }
}

/// Reads the content of `<content>` as written (CDATA sections, text with entities) and its
/// end tag; `None` when it is larger than [`MAX_ENML_BYTES`] (read through, not kept).
fn read_content(src: &mut impl BufRead) -> io::Result<Option<Vec<u8>>> {
    #[derive(Clone, Copy)]
    enum At {
        Text,
        Cdata,
        Comment,
        EndTag,
    }
    let mut raw = Vec::new();
    let mut too_large = false;
    let mut tail = Tail::default();
    let mut at = At::Text;
    loop {
        let chunk = src.fill_buf()?;
        if chunk.is_empty() {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let mut used = chunk.len();
        let mut done = false;
        for (i, &b) in chunk.iter().enumerate() {
            tail.push(b);
            at = match (at, b) {
                (At::Text, b'[') if tail.ends_with(b"<![CDATA[") => At::Cdata,
                (At::Text, b'-') if tail.ends_with(b"<!--") => At::Comment,
                (At::Text, b't') if tail.ends_with(b"</content") => At::EndTag,
                (At::Cdata, b'>') if tail.ends_with(b"]]>") => At::Text,
                (At::Comment, b'>') if tail.ends_with(b"-->") => At::Text,
                (At::EndTag, b'>') => {
                    used = i + 1;
                    done = true;
                    break;
                }
                (at, _) => at,
            };
        }
        if !too_large {
            raw.extend_from_slice(&chunk[..used]);
            if raw.len() > MAX_ENML_BYTES + 64 {
                too_large = true;
                raw = Vec::new();
            }
        }
        src.consume(used);
        if done {
            break;
        }
    }
    if too_large {
        return Ok(None);
    }
    if let Some(end) = raw.windows(9).rposition(|w| w == b"</content") {
        raw.truncate(end);
    }
    Ok(Some(raw))
}

/// The text of `<content>` as written: CDATA sections as they are, comments dropped, entities
/// in the rest decoded.
fn content_text(raw: &[u8]) -> String {
    let s = String::from_utf8_lossy(raw);
    let mut out = String::with_capacity(s.len());
    let mut rest: &str = &s;
    while let Some(i) = rest.find('<') {
        out.push_str(&decode_entities(&rest[..i]));
        rest = &rest[i..];
        if let Some(r) = rest.strip_prefix("<![CDATA[") {
            let end = r.find("]]>").unwrap_or(r.len());
            out.push_str(&r[..end]);
            rest = r.get(end + 3..).unwrap_or("");
        } else if let Some(r) = rest.strip_prefix("<!--") {
            let end = r.find("-->").unwrap_or(r.len());
            rest = r.get(end + 3..).unwrap_or("");
        } else {
            out.push('<');
            rest = &rest[1..];
        }
    }
    out.push_str(&decode_entities(rest));
    out
}

/// Reads text up to the next `<` (left unread), keeping nothing.
fn skip_text(src: &mut impl BufRead) -> io::Result<()> {
    loop {
        let chunk = src.fill_buf()?;
        if chunk.is_empty() {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let (used, done) = match chunk.iter().position(|&b| b == b'<') {
            Some(p) => (p, true),
            None => (chunk.len(), false),
        };
        src.consume(used);
        if done {
            return Ok(());
        }
    }
}

/// What decoding an attachment's data gave.
enum Decoded {
    Written { md5: String, damaged: bool },
    TooLarge,
}

enum DataError {
    Read(io::Error),
    Write(io::Error),
}

/// Decodes base64 text up to the next `<` (left unread) into the file `dest`, computing its
/// MD5 on the way; past [`MAX_RESOURCE_BYTES`] the file is removed and the rest read through.
fn decode_data(src: &mut impl BufRead, dest: &Path) -> Result<Decoded, DataError> {
    let mut file = Some(BufWriter::new(File::create(dest).map_err(DataError::Write)?));
    let mut decoder = Base64::default();
    let mut md5 = Md5::new();
    let mut size = 0u64;
    let mut out = Vec::with_capacity(64 * 1024);
    loop {
        let chunk = src.fill_buf().map_err(DataError::Read)?;
        if chunk.is_empty() {
            return Err(DataError::Read(io::ErrorKind::UnexpectedEof.into()));
        }
        let (part, done) = match chunk.iter().position(|&b| b == b'<') {
            Some(p) => (&chunk[..p], true),
            None => (chunk, false),
        };
        let used = part.len();
        out.clear();
        decoder.feed(part, &mut out);
        size += out.len() as u64;
        if size > MAX_RESOURCE_BYTES {
            if file.take().is_some() {
                let _ = std::fs::remove_file(dest);
            }
        } else if let Some(f) = file.as_mut() {
            md5.update(&out);
            f.write_all(&out).map_err(DataError::Write)?;
        }
        src.consume(used);
        if done {
            break;
        }
    }
    let Some(mut f) = file else { return Ok(Decoded::TooLarge) };
    f.flush().map_err(DataError::Write)?;
    let md5 = md5.finalize().iter().map(|b| format!("{b:02x}")).collect();
    Ok(Decoded::Written { md5, damaged: decoder.bad || decoder.bits >= 6 })
}

/// A streaming base64 decoder: white space is skipped, decoding stops at padding, other
/// characters are skipped and mark the data damaged.
#[derive(Default)]
struct Base64 {
    acc: u32,
    bits: u32,
    ended: bool,
    bad: bool,
}

impl Base64 {
    fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) {
        for &c in input {
            let v = match c {
                b'A'..=b'Z' => c - b'A',
                b'a'..=b'z' => c - b'a' + 26,
                b'0'..=b'9' => c - b'0' + 52,
                b'+' | b'-' => 62,
                b'/' | b'_' => 63,
                b'=' => {
                    self.ended = true;
                    continue;
                }
                b' ' | b'\t' | b'\r' | b'\n' => continue,
                _ => {
                    self.bad = true;
                    continue;
                }
            };
            if self.ended {
                continue;
            }
            self.acc = (self.acc << 6) | u32::from(v);
            self.bits += 6;
            if self.bits >= 8 {
                self.bits -= 8;
                out.push((self.acc >> self.bits) as u8);
                self.acc &= (1 << self.bits) - 1;
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Dates

/// `20200102T030405Z` (ENEX's form) as ms since the Unix epoch.
fn enex_time(s: &str) -> Option<i64> {
    let s = s.trim();
    let s = s.strip_suffix('Z').unwrap_or(s);
    let (date, time) = s.split_once('T')?;
    // ASCII only: the slices below are then on character boundaries.
    if date.len() != 8 || time.len() != 6 || !date.is_ascii() || !time.is_ascii() {
        return None;
    }
    let n = |t: &str| t.bytes().all(|b| b.is_ascii_digit()).then(|| t.parse::<u32>().ok())?;
    utc_ms(
        i64::from(n(&date[..4])?),
        n(&date[4..6])?,
        n(&date[6..])?,
        n(&time[..2])?,
        n(&time[2..4])?,
        n(&time[4..])?,
        0,
    )
}

/// A UTC date and time as ms since the Unix epoch (proleptic Gregorian calendar), or `None`
/// when a field is out of range.
pub(super) fn utc_ms(y: i64, mo: u32, d: u32, h: u32, mi: u32, s: u32, ms: u32) -> Option<i64> {
    let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    let month_days = match mo {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if !(1..=month_days).contains(&d) || h > 23 || mi > 59 || s > 60 || ms > 999 {
        return None;
    }
    // Days from 1970-01-01, counting years from March so the leap day is last.
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let day_of_year = (153 * ((i64::from(mo) + 9) % 12) + 2) / 5 + i64::from(d) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = era * 146_097 + day_of_era - 719_468;
    let secs = ((days * 24 + i64::from(h)) * 60 + i64::from(mi)) * 60 + i64::from(s);
    Some(secs * 1000 + i64::from(ms))
}

// ---------------------------------------------------------------------------------------------
// Entities

/// Named character references of HTML that Evernote writes (beyond XML's five): Latin-1 from
/// U+00A0 on, in order.
const LATIN1: [&str; 96] = [
    "nbsp", "iexcl", "cent", "pound", "curren", "yen", "brvbar", "sect", "uml", "copy", "ordf",
    "laquo", "not", "shy", "reg", "macr", "deg", "plusmn", "sup2", "sup3", "acute", "micro",
    "para", "middot", "cedil", "sup1", "ordm", "raquo", "frac14", "frac12", "frac34", "iquest",
    "Agrave", "Aacute", "Acirc", "Atilde", "Auml", "Aring", "AElig", "Ccedil", "Egrave", "Eacute",
    "Ecirc", "Euml", "Igrave", "Iacute", "Icirc", "Iuml", "ETH", "Ntilde", "Ograve", "Oacute",
    "Ocirc", "Otilde", "Ouml", "times", "Oslash", "Ugrave", "Uacute", "Ucirc", "Uuml", "Yacute",
    "THORN", "szlig", "agrave", "aacute", "acirc", "atilde", "auml", "aring", "aelig", "ccedil",
    "egrave", "eacute", "ecirc", "euml", "igrave", "iacute", "icirc", "iuml", "eth", "ntilde",
    "ograve", "oacute", "ocirc", "otilde", "ouml", "divide", "oslash", "ugrave", "uacute", "ucirc",
    "uuml", "yacute", "thorn", "yuml",
];

/// Other named references, with their characters.
const NAMED: [(&str, char); 45] = [
    ("quot", '"'),
    ("amp", '&'),
    ("apos", '\''),
    ("lt", '<'),
    ("gt", '>'),
    ("ndash", '–'),
    ("mdash", '—'),
    ("lsquo", '‘'),
    ("rsquo", '’'),
    ("sbquo", '‚'),
    ("ldquo", '“'),
    ("rdquo", '”'),
    ("bdquo", '„'),
    ("bull", '•'),
    ("hellip", '…'),
    ("prime", '′'),
    ("Prime", '″'),
    ("euro", '€'),
    ("trade", '™'),
    ("larr", '←'),
    ("uarr", '↑'),
    ("rarr", '→'),
    ("darr", '↓'),
    ("harr", '↔'),
    ("ensp", '\u{2002}'),
    ("emsp", '\u{2003}'),
    ("thinsp", '\u{2009}'),
    ("zwnj", '\u{200C}'),
    ("zwj", '\u{200D}'),
    ("lrm", '\u{200E}'),
    ("rlm", '\u{200F}'),
    ("dagger", '†'),
    ("Dagger", '‡'),
    ("permil", '‰'),
    ("lsaquo", '‹'),
    ("rsaquo", '›'),
    ("OElig", 'Œ'),
    ("oelig", 'œ'),
    ("Scaron", 'Š'),
    ("scaron", 'š'),
    ("Yuml", 'Ÿ'),
    ("minus", '−'),
    ("le", '≤'),
    ("ge", '≥'),
    ("ne", '≠'),
];

/// The character a reference (`amp`, `#38`, `#x26`) stands for; `None` for one this reader
/// does not know (it is then kept as written: entities declared in the file never expand).
fn entity(name: &str) -> Option<char> {
    if let Some(num) = name.strip_prefix('#') {
        let n = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => num.parse().ok()?,
        };
        return Some(char::from_u32(n).filter(|&c| c != '\0').unwrap_or('\u{FFFD}'));
    }
    if let Some(i) = LATIN1.iter().position(|&n| n == name) {
        return char::from_u32(0xA0 + i as u32);
    }
    NAMED.iter().find(|(n, _)| *n == name).map(|&(_, c)| c)
}

/// The text of a reference event: its character, or `&name;` as written.
fn reference_text(name: &str) -> String {
    match entity(name) {
        Some(c) => c.to_string(),
        None => format!("&{name};"),
    }
}

/// `s` with its character references decoded (unknown ones kept as written).
fn decode_entities(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        // A reference is short: look for its `;` in the next 33 bytes only (a long run of `&`
        // would otherwise be searched to its end once per `&`).
        let window = &rest.as_bytes()[1..rest.len().min(34)];
        let name =
            window.iter().position(|&b| b == b';').filter(|&end| end > 0).map(|end| &rest[1..=end]);
        match name.and_then(entity) {
            Some(c) => {
                out.push(c);
                rest = &rest[name.map_or(0, str::len) + 2..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

// ---------------------------------------------------------------------------------------------
// ENML → a tree

/// A piece of a note's text.
#[derive(Debug)]
enum Node {
    Text(String),
    Elem(Elem),
}

/// An element: its lowercase name, attributes and content.
#[derive(Debug, Default)]
struct Elem {
    name: String,
    attrs: Vec<(String, String)>,
    kids: Vec<Node>,
}

impl Elem {
    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// Elements that never have content (HTML writes them without `/>`).
const VOID: [&str; 11] =
    ["br", "hr", "img", "en-media", "en-todo", "input", "meta", "link", "col", "area", "wbr"];

const DAMAGED_TEXT: &str = "part of its text is damaged (not valid Evernote markup); that part was imported as plain text.";

fn element(e: &BytesStart<'_>) -> Elem {
    let attrs = e
        .html_attributes()
        .with_checks(false)
        .flatten()
        .map(|a| {
            let key = String::from_utf8_lossy(a.key.local_name().as_ref()).to_ascii_lowercase();
            (key, decode_entities(&String::from_utf8_lossy(&a.value)))
        })
        .collect();
    Elem { name: local_name(e), attrs, kids: Vec::new() }
}

/// Adds text to the innermost open element (the to-do markers of this module dropped).
fn add_text(stack: &mut [Elem], text: &str) {
    let text: String = text.chars().filter(|&c| c != TODO_OPEN && c != TODO_DONE).collect();
    let Some(top) = stack.last_mut() else { return };
    match top.kids.last_mut() {
        Some(Node::Text(t)) => t.push_str(&text),
        _ => top.kids.push(Node::Text(text)),
    }
}

fn add_node(stack: &mut [Elem], node: Node) {
    if let Some(top) = stack.last_mut() {
        top.kids.push(node);
    }
}

/// Closes the innermost open element.
fn close_top(stack: &mut Vec<Elem>) {
    if let Some(done) = stack.pop() {
        add_node(stack, Node::Elem(done));
    }
}

/// Parses ENML leniently (mismatched end tags are tolerated); the rest of a text that stops
/// being XML is kept as plain text with a problem. Refuses a text declaring entities.
fn parse(enml: &str) -> std::result::Result<(Elem, Option<&'static str>), String> {
    let mut xml = Reader::from_str(enml);
    let config = xml.config_mut();
    config.check_end_names = false;
    config.allow_unmatched_ends = true;
    config.allow_dangling_amp = true;
    let mut stack = vec![Elem::default()];
    let mut ignored = 0usize;
    let mut problem = None;
    loop {
        match xml.read_event() {
            Ok(Event::DocType(d)) if declares_entities(&d) => {
                return Err(NOTE_DECLARES_ENTITIES.to_string())
            }
            Ok(Event::Start(e)) => {
                let el = element(&e);
                if VOID.contains(&el.name.as_str()) {
                    add_node(&mut stack, Node::Elem(el));
                } else if stack.len() > MAX_DEPTH {
                    ignored += 1;
                } else {
                    stack.push(el);
                }
            }
            Ok(Event::Empty(e)) => add_node(&mut stack, Node::Elem(element(&e))),
            Ok(Event::End(e)) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).to_ascii_lowercase();
                if VOID.contains(&name.as_str()) {
                    continue;
                }
                if ignored > 0 {
                    ignored -= 1;
                    continue;
                }
                if let Some(at) = stack.iter().skip(1).rposition(|el| el.name == name) {
                    while stack.len() > at + 1 {
                        close_top(&mut stack);
                    }
                }
            }
            Ok(Event::Text(t)) => add_text(&mut stack, &String::from_utf8_lossy(&t)),
            Ok(Event::CData(t)) => add_text(&mut stack, &String::from_utf8_lossy(&t)),
            Ok(Event::GeneralRef(r)) => {
                add_text(&mut stack, &reference_text(&String::from_utf8_lossy(&r)))
            }
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(_) => {
                problem = Some(DAMAGED_TEXT);
                let mut at = usize::try_from(xml.error_position()).unwrap_or(0).min(enml.len());
                while !enml.is_char_boundary(at) {
                    at -= 1;
                }
                for node in plain_nodes(&enml[at..]) {
                    match node {
                        Node::Text(t) => add_text(&mut stack, &t),
                        other => add_node(&mut stack, other),
                    }
                }
                break;
            }
        }
    }
    while stack.len() > 1 {
        close_top(&mut stack);
    }
    Ok((stack.pop().unwrap_or_default(), problem))
}

/// Text that is not XML, as text and line breaks: tags dropped, those that end a line (`div`,
/// `p`, `br`, `li`, …) made line breaks, entities decoded.
fn plain_nodes(s: &str) -> Vec<Node> {
    let mut nodes = Vec::new();
    let mut rest = s;
    loop {
        let (text, tag) = match rest.find('<') {
            Some(i) => (&rest[..i], Some(&rest[i + 1..])),
            None => (rest, None),
        };
        if !text.is_empty() {
            nodes.push(Node::Text(decode_entities(text)));
        }
        let Some(tag) = tag else { break };
        let end = tag.find('>').map_or(tag.len(), |e| e + 1);
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        if matches!(name.as_str(), "br" | "div" | "p" | "li" | "tr" | "h1" | "h2" | "h3" | "h4") {
            nodes.push(Node::Elem(Elem { name: "br".into(), ..Elem::default() }));
        }
        rest = &tag[end..];
    }
    nodes
}

// ---------------------------------------------------------------------------------------------
// The tree → Markdown

/// Elements that start their own lines.
const BLOCKS: [&str; 36] = [
    "div",
    "p",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "ul",
    "ol",
    "menu",
    "li",
    "table",
    "thead",
    "tbody",
    "tfoot",
    "tr",
    "td",
    "th",
    "blockquote",
    "pre",
    "hr",
    "en-note",
    "center",
    "section",
    "article",
    "header",
    "footer",
    "nav",
    "aside",
    "figure",
    "address",
    "dl",
    "dt",
    "dd",
    "body",
];

fn is_block(name: &str) -> bool {
    BLOCKS.contains(&name)
}

/// True when an element holds a block somewhere inside.
fn has_block(el: &Elem) -> bool {
    el.kids.iter().any(|k| matches!(k, Node::Elem(e) if is_block(&e.name) || has_block(e)))
}

fn heading_level(name: &str) -> Option<usize> {
    match name.as_bytes() {
        [b'h', d @ b'1'..=b'6'] => Some(usize::from(d - b'0')),
        _ => None,
    }
}

/// An Evernote code block: `<div style="-en-codeblock:true">`.
fn is_code_block(el: &Elem) -> bool {
    el.attr("style").is_some_and(|s| s.replace(' ', "").contains("en-codeblock:true"))
}

/// A block a line is inside: a quote (`> `) or a list item (`- ` on its first line, spaces on
/// the next ones).
struct Frame {
    first: String,
    rest: String,
    started: bool,
    item: bool,
}

/// Markdown lines being written.
#[derive(Default)]
struct Lines {
    done: Vec<String>,
    /// The line being written, without the prefixes of its frames.
    line: String,
    frames: Vec<Frame>,
    /// The next line needs a blank line before it (after a list, a quote, a table…).
    blank_before: bool,
    /// The current line is a to-do item of its own (`- [ ] …`).
    line_is_todo: bool,
    /// The last line written was one.
    after_todo: bool,
}

fn is_blank(s: &str) -> bool {
    s.chars().all(char::is_whitespace)
}

impl Lines {
    /// Writes a finished line with its frames' prefixes.
    fn emit(&mut self, content: &str, todo: bool) {
        let needs_blank = self.blank_before || (self.after_todo && !todo);
        if needs_blank && !content.is_empty() && self.done.last().is_some_and(|l| !is_blank(l)) {
            let blank: String =
                self.frames.iter().filter(|f| f.started).map(|f| f.rest.as_str()).collect();
            self.done.push(blank.trim_end().to_string());
        }
        self.blank_before = false;
        let mut line = String::new();
        for f in &mut self.frames {
            line.push_str(if f.started { &f.rest } else { &f.first });
            f.started = true;
        }
        line.push_str(content);
        self.done.push(line.trim_end().to_string());
        self.after_todo = todo;
    }

    /// Ends the current line, if it has anything.
    fn flush(&mut self) {
        let line = std::mem::take(&mut self.line);
        let todo = std::mem::take(&mut self.line_is_todo);
        if !is_blank(&line) {
            self.emit(&line, todo);
        }
    }

    /// Before a block: ends the current line, unless it holds only a to-do box that the
    /// block's text goes after (`<li><en-todo/><div>text</div></li>`).
    fn start_block(&mut self) {
        if !matches!(self.line.trim(), "[ ]" | "[x]" | "- [ ]" | "- [x]") {
            self.flush();
        }
    }

    /// A line break: ends the line, or writes an empty one.
    fn br(&mut self) {
        if is_blank(&self.line) {
            self.line.clear();
            self.line_is_todo = false;
            self.emit("", false);
        } else {
            self.flush();
        }
    }

    /// Adds converted inline text (`\n`: a line break; to-do markers placed).
    fn push(&mut self, s: &str) {
        for (i, segment) in s.split('\n').enumerate() {
            if i > 0 {
                self.br();
            }
            let mut rest = segment;
            while let Some(at) = rest.find([TODO_OPEN, TODO_DONE]) {
                self.push_text(&rest[..at]);
                self.todo(rest[at..].starts_with(TODO_DONE));
                rest = &rest[at + TODO_OPEN.len_utf8()..];
            }
            self.push_text(rest);
        }
    }

    fn push_text(&mut self, text: &str) {
        let mut text = text;
        if is_blank(&self.line) || self.line.ends_with(' ') {
            text = text.trim_start_matches(' ');
        }
        if text.is_empty() {
            return;
        }
        if self.line.is_empty() {
            self.line.push_str(&escape_line_start(text));
        } else {
            self.line.push_str(text);
        }
    }

    /// A to-do box: starts a to-do item at the start of a line (in a list item, the item's).
    fn todo(&mut self, checked: bool) {
        let check = if checked { "[x] " } else { "[ ] " };
        if is_blank(&self.line) {
            self.line.clear();
            let in_new_item = self.frames.last().is_some_and(|f| f.item && !f.started);
            if !in_new_item {
                self.line.push_str("- ");
                self.line_is_todo = true;
            }
        } else if !self.line.ends_with(' ') {
            self.line.push(' ');
        }
        self.line.push_str(check);
    }

    fn finish(mut self) -> String {
        self.flush();
        let start = self.done.iter().position(|l| !is_blank(l)).unwrap_or(self.done.len());
        let end = self.done.iter().rposition(|l| !is_blank(l)).map_or(start, |e| e + 1);
        self.done[start..end].join("\n")
    }
}

/// Inline formatting already applied (not repeated inside).
#[derive(Clone, Copy, Default)]
struct Style {
    bold: bool,
    italic: bool,
    strike: bool,
    /// Inside a link's label (brackets escaped).
    link: bool,
}

/// Converts a note's tree, asking `media` for attachments and collecting problems.
struct Converter<'m> {
    media: &'m mut dyn FnMut(&str) -> Option<String>,
    problems: Vec<String>,
}

/// Parses and converts ENML; `Err` with the sentence saying why a note is refused.
fn convert(
    enml: &str,
    media: &mut dyn FnMut(&str) -> Option<String>,
) -> std::result::Result<(String, Vec<String>), String> {
    let (tree, damaged) = parse(enml)?;
    let mut c = Converter { media, problems: Vec::new() };
    c.problems.extend(damaged.map(str::to_string));
    let mut lines = Lines::default();
    c.blocks(&tree.kids, &mut lines);
    let mut problems: Vec<String> = Vec::new();
    for p in c.problems {
        if !problems.contains(&p) {
            problems.push(p);
        }
    }
    Ok((lines.finish(), problems))
}

impl Converter<'_> {
    fn blocks(&mut self, kids: &[Node], lines: &mut Lines) {
        for kid in kids {
            match kid {
                Node::Text(t) => lines.push(&inline_text(t, Style::default())),
                Node::Elem(el) => self.element(el, lines),
            }
        }
    }

    fn element(&mut self, el: &Elem, lines: &mut Lines) {
        match el.name.as_str() {
            "style" | "script" | "head" | "title" | "meta" | "noscript" | "template" => {}
            "ul" | "ol" | "menu" => self.list(el, lines),
            "li" => self.item_of(&el.kids, lines, "- ", None),
            "blockquote" => self.quote(el, lines),
            "pre" => self.code_block(el, lines, true),
            "div" if is_code_block(el) => self.code_block(el, lines, false),
            "hr" => {
                lines.flush();
                lines.blank_before = true;
                lines.emit("---", false);
                lines.blank_before = true;
            }
            "table" => self.table(el, lines),
            "p" => {
                lines.start_block();
                lines.blank_before = !lines.done.is_empty();
                self.blocks(&el.kids, lines);
                lines.flush();
                lines.blank_before = true;
            }
            name => {
                if let Some(level) = heading_level(name) {
                    self.heading(el, level, lines);
                } else if is_block(name) {
                    lines.start_block();
                    self.blocks(&el.kids, lines);
                    lines.flush();
                } else if has_block(el) {
                    // An inline element around blocks (`<span><div>…</div></span>`).
                    self.blocks(&el.kids, lines);
                } else {
                    let text = self.inline_element(el, Style::default());
                    lines.push(&text);
                }
            }
        }
    }

    fn heading(&mut self, el: &Elem, level: usize, lines: &mut Lines) {
        lines.flush();
        let text = self.inline_kids(&el.kids, Style { bold: true, ..Style::default() });
        let text = text.replace('\n', " ");
        if is_blank(&text) {
            return;
        }
        lines.line = format!("{} ", "#".repeat(level));
        lines.push(text.trim());
        lines.flush();
    }

    /// A list: each item on its line(s), nested lists indented under their item.
    fn list(&mut self, el: &Elem, lines: &mut Lines) {
        lines.flush();
        let nested = lines.frames.iter().any(|f| f.item);
        let ordered = el.name == "ol";
        // Evernote 10 writes check lists as `<ul style="--en-todo:true">` and
        // `<li style="--en-checked:true">`.
        let style = |e: &Elem| e.attr("style").unwrap_or("").replace(' ', "");
        let checklist = style(el).contains("en-todo:true");
        let mut n: u64 = el.attr("start").and_then(|s| s.trim().parse().ok()).unwrap_or(1);
        let mut width = 2;
        for kid in &el.kids {
            let marker = if ordered { format!("{n}. ") } else { "- ".to_string() };
            match kid {
                Node::Text(t) if is_blank(t) => continue,
                Node::Elem(sub) if matches!(sub.name.as_str(), "ul" | "ol") => {
                    // A list right inside a list (Evernote writes them): under the item above.
                    let indent = " ".repeat(width);
                    lines.frames.push(Frame {
                        first: indent.clone(),
                        rest: indent,
                        started: true,
                        item: true,
                    });
                    self.list(sub, lines);
                    lines.frames.pop();
                    continue;
                }
                Node::Elem(li) if li.name == "li" => {
                    let check = checklist.then(|| style(li).contains("en-checked:true"));
                    self.item_of(&li.kids, lines, &marker, check);
                }
                other => self.item_of(std::slice::from_ref(other), lines, &marker, None),
            }
            width = marker.len();
            n += 1;
        }
        lines.flush();
        if !nested {
            lines.blank_before = true;
        }
    }

    /// A list item: `marker` on its first line, its next lines indented to match; `check`:
    /// a to-do box (checked or not) first.
    fn item_of(&mut self, kids: &[Node], lines: &mut Lines, marker: &str, check: Option<bool>) {
        lines.flush();
        lines.frames.push(Frame {
            first: marker.to_string(),
            rest: " ".repeat(marker.len()),
            started: false,
            item: true,
        });
        if let Some(checked) = check {
            lines.todo(checked);
        }
        self.blocks(kids, lines);
        lines.flush();
        if lines.frames.last().is_some_and(|f| !f.started) {
            lines.emit("", false);
        }
        lines.frames.pop();
    }

    fn quote(&mut self, el: &Elem, lines: &mut Lines) {
        lines.flush();
        lines.frames.push(Frame {
            first: "> ".into(),
            rest: "> ".into(),
            started: true,
            item: false,
        });
        self.blocks(&el.kids, lines);
        lines.flush();
        lines.frames.pop();
        lines.blank_before = true;
    }

    /// A fenced code block of the element's text (`pre`: white space kept as written).
    fn code_block(&mut self, el: &Elem, lines: &mut Lines, pre: bool) {
        let mut code = CodeLines::default();
        code.walk(&el.kids, pre);
        let mut text = code.finish();
        if pre && text.first().is_some_and(|l| l.is_empty()) {
            text.remove(0);
        }
        while text.last().is_some_and(|l| l.trim().is_empty()) {
            text.pop();
        }
        let longest = text.iter().map(|l| longest_run(l, '`')).max().unwrap_or(0);
        let fence = "`".repeat(longest.max(2) + 1);
        lines.flush();
        lines.emit(&fence, false);
        for l in &text {
            lines.emit(l, false);
        }
        lines.emit(&fence, false);
    }

    /// A table as a GFM pipe table: the first row is its header; each cell on one line.
    fn table(&mut self, el: &Elem, lines: &mut Lines) {
        let mut rows = Vec::new();
        self.rows(el, &mut rows);
        let width = rows.iter().map(Vec::len).max().unwrap_or(0);
        if width == 0 {
            return;
        }
        lines.flush();
        lines.blank_before = true;
        for (i, mut row) in rows.into_iter().enumerate() {
            row.resize(width, String::new());
            lines.emit(&format!("| {} |", row.join(" | ")), false);
            if i == 0 {
                lines.emit(&format!("|{}", " --- |".repeat(width)), false);
            }
        }
        lines.blank_before = true;
    }

    fn rows(&mut self, el: &Elem, rows: &mut Vec<Vec<String>>) {
        for kid in &el.kids {
            let Node::Elem(e) = kid else { continue };
            match e.name.as_str() {
                "tr" => {
                    let row = self.row(e);
                    rows.push(row);
                }
                "thead" | "tbody" | "tfoot" => self.rows(e, rows),
                _ => {}
            }
        }
    }

    fn row(&mut self, tr: &Elem) -> Vec<String> {
        let mut cells = Vec::new();
        for kid in &tr.kids {
            let Node::Elem(td) = kid else { continue };
            if !matches!(td.name.as_str(), "td" | "th") {
                continue;
            }
            let mut sub = Lines::default();
            self.blocks(&td.kids, &mut sub);
            let text = sub.finish();
            let parts: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
            cells.push(parts.join("<br>").replace('|', "\\|"));
            let span: usize = td.attr("colspan").and_then(|s| s.trim().parse().ok()).unwrap_or(1);
            for _ in 1..span.min(64) {
                cells.push(String::new());
            }
        }
        cells
    }

    fn inline_kids(&mut self, kids: &[Node], style: Style) -> String {
        let mut out = String::new();
        for kid in kids {
            match kid {
                Node::Text(t) => out.push_str(&inline_text(t, style)),
                Node::Elem(el) => out.push_str(&self.inline_element(el, style)),
            }
        }
        out
    }

    /// An element as inline Markdown (`\n` for line breaks, to-do markers for boxes).
    fn inline_element(&mut self, el: &Elem, style: Style) -> String {
        match el.name.as_str() {
            "br" => "\n".into(),
            "en-todo" => {
                let checked = el.attr("checked").is_some_and(|c| c.trim() == "true");
                (if checked { TODO_DONE } else { TODO_OPEN }).to_string()
            }
            "en-media" => self.media(el),
            "en-crypt" => self.encrypted(el),
            "img" => image(el),
            "a" => self.link(el, style),
            "b" | "strong" if !style.bold => {
                let inner = self.inline_kids(&el.kids, Style { bold: true, ..style });
                wrap(&inner, "**")
            }
            "i" | "em" | "cite" | "dfn" | "var" if !style.italic => {
                let inner = self.inline_kids(&el.kids, Style { italic: true, ..style });
                wrap(&inner, "*")
            }
            "s" | "strike" | "del" if !style.strike => {
                let inner = self.inline_kids(&el.kids, Style { strike: true, ..style });
                wrap(&inner, "~~")
            }
            "code" | "tt" | "kbd" | "samp" => code_span(&plain_text(el)),
            "span" | "font" => self.styled(el, style),
            "style" | "script" | "head" | "title" | "meta" | "noscript" | "template" => {
                String::new()
            }
            "hr" => "\n".into(),
            name if is_block(name) => {
                let mut s = self.inline_kids(&el.kids, style);
                s.push('\n');
                s
            }
            _ => self.inline_kids(&el.kids, style),
        }
    }

    /// A `span` or `font` whose style makes it bold, italic or struck through.
    fn styled(&mut self, el: &Elem, style: Style) -> String {
        let css = el.attr("style").unwrap_or("").to_ascii_lowercase().replace(' ', "");
        let bold = !style.bold
            && ["font-weight:bold", "font-weight:600", "font-weight:700", "font-weight:800"]
                .iter()
                .any(|p| css.contains(p));
        let italic = !style.italic && css.contains("font-style:italic");
        let strike = !style.strike && css.contains("line-through");
        let inner_style = Style {
            bold: style.bold || bold,
            italic: style.italic || italic,
            strike: style.strike || strike,
            ..style
        };
        let mut s = self.inline_kids(&el.kids, inner_style);
        for (on, marker) in [(strike, "~~"), (italic, "*"), (bold, "**")] {
            if on {
                s = wrap(&s, marker);
            }
        }
        s
    }

    fn link(&mut self, el: &Elem, style: Style) -> String {
        let label = self.inline_kids(&el.kids, Style { link: true, ..style });
        let href = el.attr("href").map(str::trim).unwrap_or("");
        if href.is_empty() {
            return label;
        }
        let label = label.replace('\n', " ");
        let label = label.trim();
        let label = if label.is_empty() { escape_inline(href, true) } else { label.to_string() };
        format!("[{label}]({})", link_target(href))
    }

    fn media(&mut self, el: &Elem) -> String {
        let hash = el.attr("hash").unwrap_or("").trim().to_ascii_lowercase();
        if let Some(md) = (self.media)(&hash) {
            return md;
        }
        let kind = el.attr("type").map(str::trim).filter(|t| !t.is_empty()).unwrap_or("file");
        self.problems
            .push(format!("it shows an attachment ({kind}) that is not in the export file."));
        format!("\\[missing attachment {}\\]", escape_inline(kind, true))
    }

    fn encrypted(&mut self, el: &Elem) -> String {
        self.problems.push(
            "it holds text encrypted in Evernote, which was not imported; decrypt it in Evernote and export the note again."
                .into(),
        );
        match el.attr("hint").map(str::trim).filter(|h| !h.is_empty()) {
            Some(hint) => {
                format!("\\[Encrypted text not imported (hint: {})\\]", escape_inline(hint, true))
            }
            None => "\\[Encrypted text not imported\\]".into(),
        }
    }
}

/// The lines of a code block's text.
#[derive(Default)]
struct CodeLines {
    lines: Vec<String>,
    current: String,
}

impl CodeLines {
    fn walk(&mut self, kids: &[Node], pre: bool) {
        for kid in kids {
            match kid {
                Node::Text(t) if pre => {
                    for (i, part) in t.split('\n').enumerate() {
                        if i > 0 {
                            self.lines.push(std::mem::take(&mut self.current));
                        }
                        self.current.push_str(&part.trim_end_matches('\r').replace('\u{a0}', " "));
                    }
                }
                Node::Text(t) if t.trim_ascii().is_empty() => {}
                Node::Text(t) => self.current.push_str(&collapse(t).replace('\u{a0}', " ")),
                Node::Elem(e) => match e.name.as_str() {
                    "br" => {
                        self.lines.push(std::mem::take(&mut self.current));
                    }
                    "en-todo" => {
                        let checked = e.attr("checked").is_some_and(|c| c.trim() == "true");
                        self.current.push_str(if checked { "[x] " } else { "[ ] " });
                    }
                    name if is_block(name) => {
                        self.end_line();
                        self.walk(&e.kids, pre);
                        self.end_line();
                    }
                    _ => self.walk(&e.kids, pre),
                },
            }
        }
    }

    /// Ends the current line if it has text.
    fn end_line(&mut self) {
        if !self.current.is_empty() {
            self.lines.push(std::mem::take(&mut self.current));
        }
    }

    fn finish(mut self) -> Vec<String> {
        self.end_line();
        self.lines
    }
}

fn longest_run(s: &str, c: char) -> usize {
    let mut longest = 0;
    let mut run = 0;
    for ch in s.chars() {
        run = if ch == c { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    longest
}

/// All the text inside an element, its white space collapsed.
fn plain_text(el: &Elem) -> String {
    fn walk(kids: &[Node], out: &mut String) {
        for kid in kids {
            match kid {
                Node::Text(t) => out.push_str(t),
                Node::Elem(e) if e.name == "br" => out.push(' '),
                Node::Elem(e) => walk(&e.kids, out),
            }
        }
    }
    let mut out = String::new();
    walk(&el.kids, &mut out);
    collapse(&out).replace('\u{a0}', " ")
}

/// Inline code: backticks around it, more of them than any run inside.
fn code_span(code: &str) -> String {
    let code = code.trim();
    if code.is_empty() {
        return String::new();
    }
    let fence = "`".repeat(longest_run(code, '`') + 1);
    let pad = if code.starts_with('`') || code.ends_with('`') { " " } else { "" };
    format!("{fence}{pad}{code}{pad}{fence}")
}

fn image(el: &Elem) -> String {
    let src = el.attr("src").map(str::trim).unwrap_or("");
    if src.is_empty() {
        return String::new();
    }
    let alt = el.attr("alt").map(collapse).unwrap_or_default();
    format!("![{}]({})", escape_inline(alt.trim(), true), link_target(src))
}

/// A link's target as Markdown writes it (in `<…>` when it has spaces or brackets).
fn link_target(url: &str) -> String {
    let url: String = url.chars().filter(|c| !c.is_control()).collect();
    if url.contains([' ', '(', ')', '<', '>']) {
        format!("<{}>", url.replace('<', "%3C").replace('>', "%3E"))
    } else {
        url
    }
}

/// Wraps each line of `inner` in `marker` (`**`), the spaces (and to-do boxes) at its ends
/// left outside, as Markdown needs.
fn wrap(inner: &str, marker: &str) -> String {
    let lines: Vec<String> = inner
        .split('\n')
        .map(|segment| {
            let core = segment.trim_start_matches([' ', TODO_OPEN, TODO_DONE]);
            let lead = &segment[..segment.len() - core.len()];
            let core = core.trim_end_matches(' ');
            if core.is_empty() {
                return segment.to_string();
            }
            let trail = &segment[lead.len() + core.len()..];
            format!("{lead}{marker}{core}{marker}{trail}")
        })
        .collect();
    lines.join("\n")
}

/// Runs of white space (but not non-breaking spaces) as one space, as HTML shows text.
fn collapse(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = false;
    for c in text.chars() {
        if c.is_ascii_whitespace() {
            if !space {
                out.push(' ');
            }
            space = true;
        } else {
            out.push(c);
            space = false;
        }
    }
    out
}

/// A text node as Markdown: white space collapsed, Markdown's special characters escaped.
fn inline_text(text: &str, style: Style) -> String {
    escape_inline(&collapse(text), style.link)
}

/// Escapes what Markdown would read as markup inside a line: `*`, `` ` ``, `_` at word ends,
/// `~~`, `]` before `(`, `<` before a tag, `&` before an entity, `\` before punctuation; in a
/// link label, brackets too.
fn escape_inline(text: &str, brackets: bool) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    for (i, &c) in chars.iter().enumerate() {
        let prev = i.checked_sub(1).map(|p| chars[p]);
        let next = chars.get(i + 1).copied();
        let escape = match c {
            '\\' => next.is_none_or(|n| n.is_ascii_punctuation()),
            '*' | '`' => true,
            '_' => {
                !(prev.is_some_and(char::is_alphanumeric)
                    && next.is_some_and(char::is_alphanumeric))
            }
            '~' => prev == Some('~') || next == Some('~'),
            '[' => brackets,
            ']' => brackets || matches!(next, Some('(' | '[' | ':')),
            '<' => next.is_some_and(|n| n.is_ascii_alphabetic() || matches!(n, '/' | '!' | '?')),
            '&' => {
                let n = chars[i + 1..]
                    .iter()
                    .take_while(|c| c.is_ascii_alphanumeric() || **c == '#')
                    .count();
                (1..=32).contains(&n) && chars.get(i + 1 + n) == Some(&';')
            }
            _ => false,
        };
        if escape {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Escapes what Markdown would read as a block at the start of a line: `#` headings, `>`
/// quotes, `-`/`+` list items, `1.` numbered items, `---`/`===` rules and underlines.
fn escape_line_start(text: &str) -> String {
    let b = text.as_bytes();
    let after = |n: usize| matches!(b.get(n), None | Some(b' '));
    match b.first() {
        Some(b'#') => {
            let n = b.iter().take_while(|&&c| c == b'#').count();
            if n <= 6 && after(n) {
                return format!("\\{text}");
            }
        }
        Some(b'>') => return format!("\\{text}"),
        Some(b'-' | b'+' | b'=') => {
            let rule = text.trim_end().bytes().all(|c| c == b[0] || c == b' ');
            if (b[0] != b'=' && after(1)) || rule {
                return format!("\\{text}");
            }
        }
        Some(b'0'..=b'9') => {
            let n = b.iter().take_while(|c| c.is_ascii_digit()).count();
            if n <= 9 && matches!(b.get(n), Some(b'.' | b')')) && after(n + 1) {
                return format!("{}\\{}", &text[..n], &text[n..]);
            }
        }
        _ => {}
    }
    text.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\nnot really an image";
    const PDF: &[u8] = b"%PDF-1.4 a small document";

    fn base64(data: &[u8]) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::new();
        for chunk in data.chunks(3) {
            let n =
                chunk.iter().enumerate().fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
            for i in 0..4 {
                if i <= chunk.len() {
                    out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
                } else {
                    out.push('=');
                }
            }
            if out.len().is_multiple_of(76) {
                out.push('\n');
            }
        }
        out
    }

    fn md5_hex(data: &[u8]) -> String {
        Md5::digest(data).iter().map(|b| format!("{b:02x}")).collect()
    }

    fn no_media(_: &str) -> Option<String> {
        None
    }

    fn md(enml: &str) -> String {
        enml_to_markdown(enml, &mut no_media).0
    }

    fn note_xml(title: &str, enml: &str, rest: &str) -> String {
        format!(
            "<note><title>{title}</title><content><![CDATA[<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE en-note SYSTEM \"http://xml.evernote.com/pub/enml2.dtd\">\n<en-note>{enml}</en-note>]]></content>{rest}</note>"
        )
    }

    fn export(notes: &str) -> String {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE en-export SYSTEM \"http://xml.evernote.com/pub/evernote-export3.dtd\">\n<en-export export-date=\"20240101T000000Z\" application=\"Evernote\" version=\"10.0\">\n{notes}\n</en-export>\n"
        )
    }

    /// The notes, the summary (or error) and the resources attached (with their bytes).
    type Imported = (Vec<Note>, Result<Summary>, Vec<(Resource, Vec<u8>)>);

    /// Reads `xml`, checking that no attachment file is left behind.
    fn import(xml: &str) -> Imported {
        let scratch = tempfile::tempdir().unwrap();
        let mut notes = Vec::new();
        let mut attached = Vec::new();
        let summary = read(
            std::io::BufReader::with_capacity(64, xml.as_bytes()),
            scratch.path(),
            &mut |r: &Resource| {
                attached.push((r.clone(), std::fs::read(&r.path).unwrap()));
                Some(format!("![{}](asset:///{})", r.name, r.md5))
            },
            &mut |n| {
                notes.push(n);
                Ok(())
            },
        );
        let left: Vec<_> = std::fs::read_dir(scratch.path()).unwrap().collect();
        assert!(left.is_empty(), "attachment files are removed: {left:?}");
        (notes, summary, attached)
    }

    #[test]
    fn an_export_with_two_notes_is_read() {
        let png_hash = md5_hex(PNG);
        let first = note_xml(
            "Trip &amp; plans",
            &format!(
                "<div>Packing list:</div>\
                 <ul><li>passport</li><li>tickets<ul><li>train</li><li>plane</li></ul></li></ul>\
                 <div><en-todo checked=\"true\"/>book hotel</div>\
                 <div><en-todo checked=\"false\"/>buy <b>sunscreen</b></div>\
                 <div><br/></div>\
                 <table><tr><th>Day</th><th>City</th></tr><tr><td>1</td><td>Rome | Italy</td></tr></table>\
                 <div>See <a href=\"https://example.com/rome\">the guide</a>.</div>\
                 <div style=\"box-sizing: border-box; -en-codeblock:true;\"><div>fn main() {{</div><div>&nbsp;&nbsp;go();</div><div>}}</div></div>\
                 <div><en-media hash=\"{png_hash}\" type=\"image/png\"/></div>"
            ),
            &format!(
                "<created>20200102T030405Z</created><updated>20200103T000000Z</updated>\
                 <tag>travel</tag><tag>2020</tag>\
                 <note-attributes><author>me</author><source-url>https://example.com</source-url></note-attributes>\
                 <resource><data encoding=\"base64\">\n{}\n</data><mime>image/png</mime><width>10</width><height>10</height>\
                 <resource-attributes><file-name>map.png</file-name></resource-attributes></resource>\
                 <resource><data encoding=\"base64\">{}</data><mime>application/pdf</mime></resource>",
                base64(PNG),
                base64(PDF)
            ),
        );
        let second = note_xml("Second", "<div>just text</div>", "");
        let (notes, summary, attached) = import(&export(&format!("{first}\n{second}")));
        let summary = summary.unwrap();
        assert_eq!(summary, Summary { notes: 2, problems: vec![] });
        assert_eq!(notes.len(), 2);
        let n = &notes[0];
        assert_eq!(n.title, "Trip & plans");
        assert_eq!(n.tags, ["travel", "2020"]);
        assert_eq!(n.created, Some(1_577_934_245_000));
        assert_eq!(n.updated, Some(1_578_009_600_000));
        assert_eq!(n.problems, Vec::<String>::new());
        let expected = format!(
            "Packing list:\n\
             - passport\n\
             - tickets\n  - train\n  - plane\n\n\
             - [x] book hotel\n\
             - [ ] buy **sunscreen**\n\n\
             | Day | City |\n| --- | --- |\n| 1 | Rome \\| Italy |\n\n\
             See [the guide](https://example.com/rome).\n\
             ```\nfn main() {{\n  go();\n}}\n```\n\
             ![map.png](asset:///{png_hash})\n\n\
             ![attachment.pdf](asset:///{})",
            md5_hex(PDF)
        );
        assert_eq!(n.body, expected);
        assert_eq!(attached.len(), 2);
        assert_eq!(attached[0].0.name, "map.png");
        assert_eq!(attached[0].0.mime, "image/png");
        assert_eq!(attached[0].0.md5, png_hash);
        assert_eq!(attached[0].1, PNG);
        assert_eq!(attached[1].0.name, "attachment.pdf");
        assert_eq!(attached[1].1, PDF);
        assert_eq!(notes[1].title, "Second");
        assert_eq!(notes[1].body, "just text");
    }

    #[test]
    fn enml_becomes_markdown() {
        let cases: &[(&str, &str)] = &[
            ("<div>one</div><div>two</div>", "one\ntwo"),
            ("<div>one</div><div><br/></div><div>two</div>", "one\n\ntwo"),
            ("<div>a<br/>b<br/></div><div>c</div>", "a\nb\nc"),
            ("<p>one</p><p>two</p>", "one\n\ntwo"),
            ("<h2>Title <i>here</i></h2><div>text</div>", "## Title *here*\ntext"),
            ("<div><b>bold </b>and <i>it</i> <s>old</s> <u>u</u></div>", "**bold** and *it* ~~old~~ u"),
            ("<div><span style=\"font-weight: bold;\">heavy</span></div>", "**heavy**"),
            ("<div>use <code>a*b</code> here</div>", "use `a*b` here"),
            ("<pre>  x = 1\n  y = 2\n</pre>", "```\n  x = 1\n  y = 2\n```"),
            ("<ol><li>first</li><li>second<ol><li>inner</li></ol></li></ol>", "1. first\n2. second\n   1. inner"),
            ("<ul><li>a</li><ul><li>b</li></ul><li>c</li></ul>", "- a\n  - b\n- c"),
            ("<ul><li><en-todo checked=\"true\"/>done</li><li><en-todo/>open</li></ul>", "- [x] done\n- [ ] open"),
            (
                "<ul style=\"--en-todo:true;\"><li style=\"--en-checked:true;\"><div>done</div></li><li style=\"--en-checked:false;\"><div>open</div></li></ul>",
                "- [x] done\n- [ ] open",
            ),
            ("<div><en-todo/><div>nested div</div></div>", "- [ ] nested div"),
            ("<div><en-todo/>task</div><div>after</div>", "- [ ] task\n\nafter"),
            ("<ul><li>item</li></ul><div>after</div>", "- item\n\nafter"),
            ("<blockquote><div>quoted</div><div>more</div></blockquote><div>after</div>", "> quoted\n> more\n\nafter"),
            ("<div>above</div><hr/><div>below</div>", "above\n\n---\n\nbelow"),
            ("<div><a href=\"https://x.org/a b\">link [1]</a></div>", "[link \\[1\\]](<https://x.org/a b>)"),
            ("<div><a href=\"https://x.org\"></a></div>", "[https://x.org](https://x.org)"),
            ("<div><img src=\"https://x.org/p.png\" alt=\"pic\"/></div>", "![pic](https://x.org/p.png)"),
            ("<div>a &amp; b &lt;c&gt; &#233;&#xE9;&nbsp;d &eacute; &mdash; &unknown;</div>", "a & b \\<c> éé\u{a0}d é — \\&unknown;"),
            ("<div># not a heading</div><div>- not a list</div><div>1. not numbered</div>", "\\# not a heading\n\\- not a list\n1\\. not numbered"),
            ("<div>*stars* and _under_ snake_case `tick`</div>", "\\*stars\\* and \\_under\\_ snake_case \\`tick\\`"),
            ("<div><en-crypt hint=\"pet\">AbCd</en-crypt></div>", "\\[Encrypted text not imported (hint: pet)\\]"),
            ("<table><tr><td><div>a</div><div>b</div></td><td colspan=\"2\">c</td></tr><tr><td>d</td></tr></table>", "| a<br>b | c |  |\n| --- | --- | --- |\n| d |  |  |"),
            ("text with\n   newlines   collapsed", "text with newlines collapsed"),
            ("<div>a <font color=\"red\"><div>block in font</div></font></div>", "a\nblock in font"),
        ];
        for (enml, want) in cases {
            assert_eq!(&md(enml), want, "for {enml}");
        }
    }

    #[test]
    fn media_and_problems() {
        let mut asked = Vec::new();
        let (text, problems) = enml_to_markdown(
            "<div><en-media hash=\"ABC\" type=\"image/png\"/> and <en-media hash=\"def\" type=\"application/pdf\"/></div><en-crypt>x</en-crypt>",
            &mut |h: &str| {
                asked.push(h.to_string());
                (h == "abc").then(|| "![a](asset:///a)".to_string())
            },
        );
        assert_eq!(asked, ["abc", "def"]);
        assert_eq!(text, "![a](asset:///a) and \\[missing attachment application/pdf\\]\n\\[Encrypted text not imported\\]");
        assert_eq!(problems.len(), 2);
        assert!(problems[0].contains("not in the export"));
        assert!(problems[1].contains("encrypted"));
    }

    #[test]
    fn damaged_enml_keeps_what_can_be_read() {
        let (text, problems) = enml_to_markdown(
            "<en-note><div>good</div><div attr=\"unclosed>broken <b>text</b><div>more</div>",
            &mut no_media,
        );
        assert!(text.starts_with("good"), "{text}");
        assert!(text.contains("more"), "{text}");
        assert_eq!(problems, [DAMAGED_TEXT]);
        // Mismatched end tags are tolerated, without a problem.
        let (text, problems) = enml_to_markdown("<div><b>x</i></div><div>y</div>", &mut no_media);
        assert_eq!((text.as_str(), problems.len()), ("**x**\ny", 0));
    }

    #[test]
    fn deep_nesting_is_flattened() {
        let enml = format!("{}deep{}", "<div>".repeat(5000), "</div>".repeat(5000));
        assert_eq!(md(&enml), "deep");
    }

    const LAUGHS: &str = "<!DOCTYPE lolz [\n <!ENTITY lol \"lol\">\n <!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n]>";

    #[test]
    fn an_export_declaring_entities_is_refused() {
        let xml = format!(
            "<?xml version=\"1.0\"?>\n{LAUGHS}\n<en-export>{}</en-export>",
            note_xml("&lol3;", "<div>&lol3;</div>", "")
        );
        let (notes, summary, _) = import(&xml);
        assert!(notes.is_empty());
        match summary {
            Err(Error::Invalid(why)) => assert!(why.contains("declares its own XML entities")),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn a_note_declaring_entities_is_refused_alone() {
        let bad = format!(
            "<note><title>Bad</title><content><![CDATA[<?xml version=\"1.0\"?>{LAUGHS}<en-note><div>&lol3;</div></en-note>]]></content></note>"
        );
        let good = note_xml("Good", "<div>fine &unknown;</div>", "");
        let (notes, summary, _) = import(&export(&format!("{bad}{good}")));
        assert_eq!(notes.len(), 1);
        assert_eq!(notes[0].body, "fine \\&unknown;");
        let summary = summary.unwrap();
        assert_eq!(summary.notes, 1);
        assert_eq!(summary.problems.len(), 1);
        assert!(
            summary.problems[0].starts_with("the note “Bad” was not imported"),
            "{:?}",
            summary.problems
        );
        // Converting it directly refuses it too.
        let (text, problems) =
            enml_to_markdown(&format!("{LAUGHS}<en-note>&lol3;</en-note>"), &mut no_media);
        assert_eq!((text.as_str(), problems), ("", vec![NOTE_DECLARES_ENTITIES.to_string()]));
    }

    #[test]
    fn a_truncated_export_keeps_the_notes_before() {
        let first = note_xml("One", "<div>1</div>", "<created>20200102T030405Z</created>");
        let second = note_xml(
            "Two",
            "<div>2</div>",
            &format!("<resource><data encoding=\"base64\">{}</data>", base64(PDF)),
        );
        let whole = export(&format!("{first}{second}"));
        let cut = &whole[..whole.find("</data>").unwrap() - 4];
        let (notes, summary, _) = import(cut);
        assert_eq!(notes.iter().map(|n| n.title.as_str()).collect::<Vec<_>>(), ["One"]);
        let summary = summary.unwrap();
        assert_eq!(summary.notes, 1);
        assert_eq!(summary.problems.len(), 1);
        assert!(summary.problems[0].contains("damaged or incomplete after the note “One”"));
        // Cut inside a note's text, or inside a tag.
        for at in [whole.find("<div>2").unwrap() + 3, whole.find("<created>").unwrap() + 4] {
            let (notes, summary, _) = import(&whole[..at]);
            assert!(notes.len() <= 1);
            assert_eq!(summary.unwrap().problems.len(), 1);
        }
    }

    #[test]
    fn other_files_are_not_exports() {
        for text in
            ["", "hello", "{\"json\": true}", "<html><body>x</body></html>", "\u{0}\u{1}binary"]
        {
            match import(text).1 {
                Err(Error::Invalid(why)) => assert_eq!(why, NOT_ENEX, "for {text:?}"),
                other => panic!("expected not an export for {text:?}, got {other:?}"),
            }
        }
        // An empty export is one.
        assert_eq!(import("<en-export/>").1.unwrap(), Summary::default());
    }

    #[test]
    fn resources_with_problems_are_reported() {
        let png_hash = md5_hex(PNG);
        let note = note_xml(
            "Files",
            &format!("<en-media hash=\"{png_hash}\" type=\"image/png\"/>"),
            &format!(
                "<resource><data encoding=\"base64\">{}!!</data><mime>image/png</mime></resource>\
                 <resource><data encoding=\"hex\">00ff</data><mime>text/plain</mime>\
                 <resource-attributes><file-name>notes.txt</file-name></resource-attributes></resource>\
                 <resource><mime>image/gif</mime></resource>",
                base64(PNG)
            ),
        );
        let (notes, summary, attached) = import(&export(&note));
        assert_eq!(summary.unwrap().notes, 1);
        assert_eq!(attached.len(), 1);
        assert_eq!(attached[0].1, PNG);
        assert_eq!(notes[0].body, format!("![image.png](asset:///{png_hash})"));
        assert_eq!(
            notes[0].problems,
            [
                "the attachment “image.png” may be damaged: its data in the export is not valid.",
                "the attachment “notes.txt” is stored in a way this app cannot read and was not imported.",
                "the attachment “image.gif” has no data in the export and was not imported.",
            ]
        );
    }

    #[test]
    fn attachments_that_could_not_be_attached_are_named() {
        let note = note_xml(
            "N",
            "",
            &format!(
                "<resource><data>{}</data><mime>application/pdf</mime></resource>",
                base64(PDF)
            ),
        );
        let scratch = tempfile::tempdir().unwrap();
        let mut bodies = Vec::new();
        read(xml_reader(&export(&note)), scratch.path(), &mut |_| None, &mut |n| {
            bodies.push(n.body);
            Ok(())
        })
        .unwrap();
        assert_eq!(bodies, ["\\[attachment attachment.pdf not imported\\]"]);
    }

    fn xml_reader(s: &str) -> std::io::Cursor<Vec<u8>> {
        std::io::Cursor::new(s.as_bytes().to_vec())
    }

    #[test]
    fn an_error_of_on_note_stops_the_import() {
        let scratch = tempfile::tempdir().unwrap();
        let xml = export(&format!("{}{}", note_xml("A", "", ""), note_xml("B", "", "")));
        let mut seen = 0;
        let outcome = read(xml_reader(&xml), scratch.path(), &mut |_| None, &mut |_| {
            seen += 1;
            Err(Error::DiskFull)
        });
        assert!(matches!(outcome, Err(Error::DiskFull)));
        assert_eq!(seen, 1);
    }

    #[test]
    fn a_note_too_large_is_skipped_and_the_next_one_read() {
        let big = format!("<div>{}</div>", "x".repeat(MAX_ENML_BYTES));
        let resource = format!("<resource><data>{}</data></resource>", base64(PDF));
        let xml = export(&format!(
            "{}{}",
            note_xml("Huge", &big, &resource),
            note_xml("Small", "<div>ok</div>", "")
        ));
        let (notes, summary, attached) = import(&xml);
        assert_eq!(notes.iter().map(|n| n.body.as_str()).collect::<Vec<_>>(), ["ok"]);
        assert!(attached.is_empty());
        assert_eq!(
            summary.unwrap().problems,
            ["the note “Huge” was not imported: its text is larger than 64 MB."]
        );
    }

    #[test]
    fn a_huge_piece_outside_notes_text_stops_reading_in_bounded_memory() {
        let first = note_xml("First", "<div>kept</div>", "");
        let huge = format!("<note><title>{}</title></note>", "x".repeat(MAX_PART_BYTES as usize));
        let (notes, summary, _) = import(&export(&format!("{first}{huge}")));
        assert_eq!(notes.len(), 1);
        let problems = summary.unwrap().problems;
        assert_eq!(problems.len(), 1);
        assert!(problems[0].starts_with("a part of the file after the note “First” is too large"));
    }

    #[test]
    fn times_are_read() {
        let cases: &[(&str, Option<i64>)] = &[
            ("19700101T000000Z", Some(0)),
            ("20200102T030405Z", Some(1_577_934_245_000)),
            ("20000229T120000Z", Some(951_825_600_000)),
            ("19690101T000000Z", Some(-31_536_000_000)),
            ("20210229T000000Z", None),
            ("2020-01-02", None),
            ("", None),
        ];
        for (text, want) in cases {
            assert_eq!(enex_time(text), *want, "for {text}");
        }
    }

    #[test]
    fn base64_is_decoded_in_pieces() {
        let data: Vec<u8> = (0..=255).collect();
        let text = base64(&data);
        for size in [1, 3, 7, 64] {
            let mut d = Base64::default();
            let mut out = Vec::new();
            for piece in text.as_bytes().chunks(size) {
                d.feed(piece, &mut out);
            }
            assert_eq!(out, data);
            assert!(!d.bad);
        }
    }

    /// Inputs found by review that once panicked or took quadratic time (hostile files).
    #[test]
    fn hostile_dates_and_ampersands_neither_panic_nor_crawl() {
        assert_eq!(enex_time("123é456T000000Z"), None);
        assert_eq!(enex_time("20200102T0304é5Z"), None);
        // Searched to its end once per `&`, this would run for hours.
        let many = format!("{};", "&".repeat(2_000_000));
        assert_eq!(decode_entities(&many).len(), many.len());
    }
}
