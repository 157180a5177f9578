//! A device's workspace in its data dir: opening, creating and joining, local edits (each one a
//! durable log entry), reading notes, targets, status and rebuilding derived tables from the log.

mod calendar;
mod details;
mod devices;
pub mod diagnostics;
pub(crate) mod epochs;
mod export;
mod fewer_files;
mod history;
mod import;
mod invite;
mod links;
mod notebooks;
mod organize;
pub use crate::docs::history::{Changed, Version, VersionText, SESSION_GAP_MS};
pub use calendar::CalendarTime;
pub use devices::Device;
pub use epochs::PassphraseChanged;
pub use export::{ExportReport, ExportScope};
pub use history::{word_diff, Activity, Comparison, DiffKind, DiffPart};
pub(crate) use import::parse_any as parse_import_file;
pub use import::{FileProblem, ImportReport, Progress, Stage};
pub use invite::DEFAULT_INVITE_MS;
pub use links::{LinkState, LinkedNote};
pub use notebooks::{Notebook, Notebooks, Place, DEFAULT_NOTEBOOK};
pub use organize::{ListQuery, Sort, TagCount, TRASH_DAYS};
mod passphrase;
pub mod setup;
pub(crate) mod status;

pub use details::{Storage, StoredEntry};
pub use passphrase::{check_passphrase, scrypt_log_n, strength, Strength, DEFAULT_SCRYPT_LOG_N};

use std::path::{Path, PathBuf};

use age::secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use ts_rs::TS;
use uuid::Uuid;

pub use crate::docs::{system_clock, Clock, DB_FILE, KEY_FILE};

use crate::docs::{materialize, note, Replica};
use crate::error::{Error, Result};
use crate::format::asset::{AssetId, AssetRef};
use crate::format::crypto::{self, WorkspaceKey};
use crate::sync::{AssetInfo, SyncEvent, TargetReport, Verification};

use crate::format::manifest::{self, Authentication, Encryption, KeyWrap, Manifest, ManifestError};
use crate::store;
use crate::transport::{credentials, read_manifest, Target, TargetKind, Transport};

/// The data dir used when none is given: the OS's per-user app-data dir (shared by the CLI and
/// the app), or None when the OS reports no home.
pub fn default_data_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("org", "Resilient Notes", "resilient-notes")
        .map(|p| p.data_dir().to_path_buf())
}

/// One device's open workspace: what the shells call. It wraps this device's replica (the
/// database, identity, key and documents) and adds what a user does with it — notes, targets,
/// attachments, status, sync.
pub struct Workspace {
    pub(crate) replica: Replica,
}

/// A note as shown to the user.
#[derive(Clone, Debug, Serialize, PartialEq, Eq, TS)]
pub struct Note {
    /// Note id (lowercase UUID).
    pub id: String,
    /// Title.
    pub title: String,
    /// Markdown body.
    pub body: String,
    /// Creation time (ms).
    #[ts(type = "number")]
    pub created_at: i64,
    /// Last edit time (ms).
    #[ts(type = "number")]
    pub updated_at: i64,
    /// Pinned notes come first in every list.
    pub pinned: bool,
    /// Tags, sorted.
    pub tags: Vec<String>,
    /// Its notebook's id (`None`: the default notebook).
    pub notebook: Option<String>,
    /// The document version this text is (Automerge change hashes, hex). Editors send it back
    /// with their splices so positions are read against the text they saw.
    pub heads: Vec<String>,
    /// Why changes from other devices were left out of this note (one reason per change;
    /// empty nearly always): they failed to parse, and the rest of the note is shown without
    /// them.
    pub left_out: Vec<String>,
    /// Devices (ids, for a Details view) whose edits, made without knowing of this device's,
    /// touched the same words: the note shows both sides' words and the user should read it over.
    /// Empty once the user has seen it ([`Workspace::seen_merge`]).
    pub merged_with: Vec<String>,
}

/// What an editor's edit made of its note ([`Workspace::edit_open_note`]).
#[derive(Clone, Debug, Serialize, PartialEq, Eq, TS)]
pub struct Edited {
    /// The note's version now (send it with the next edit).
    pub heads: Vec<String>,
    /// The title and body as they are now, only when edits from elsewhere (another device,
    /// another window) were merged since the editor's version: otherwise they are exactly the
    /// editor's text with its splices applied, and a megabyte note is not sent back on every
    /// keystroke.
    pub merged: Option<MergedText>,
}

/// A note's text after a merge (see [`Edited`]).
#[derive(Clone, Debug, Serialize, PartialEq, Eq, TS)]
pub struct MergedText {
    /// Title.
    pub title: String,
    /// Markdown body.
    pub body: String,
}

/// A row of the notes list.
#[derive(Clone, Debug, Serialize, PartialEq, Eq, TS)]
pub struct NoteSummary {
    /// Note id.
    pub id: String,
    /// Title.
    pub title: String,
    /// First non-empty line of the body.
    pub first_line: String,
    /// Last edit time (ms).
    #[ts(type = "number")]
    pub updated_at: i64,
    /// Creation time (ms).
    #[ts(type = "number")]
    pub created_at: i64,
    /// Pinned notes come first in every list.
    pub pinned: bool,
    /// Tags, sorted.
    pub tags: Vec<String>,
    /// Its notebook's id (`None`: the default notebook).
    pub notebook: Option<String>,
    /// Where a search matched (empty when the note was listed, not searched for).
    pub snippet: Vec<SnippetPart>,
    /// Edits from another device touched the same words as this device's and the user has not
    /// seen the note since ([`Note::merged_with`]).
    pub merged: bool,
}

/// How far the full-text index has got (see [`Workspace::index_for_search`]).
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq, TS)]
pub struct SearchProgress {
    /// Notes whose whole text is indexed, and deleted notes (not searched, so nothing to do).
    #[ts(type = "number")]
    pub indexed: u64,
    /// Notes in all.
    #[ts(type = "number")]
    pub total: u64,
}

/// A piece of a search result's snippet: text, and whether the query matched it.
#[derive(Clone, Debug, Serialize, PartialEq, Eq, TS)]
pub struct SnippetPart {
    /// The text.
    pub text: String,
    /// Whether this is what the query matched (shown highlighted).
    pub hit: bool,
}

/// A text edit as an editor reports it: replace `delete` UTF-16 code units at `pos` with
/// `insert`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq, TS)]
pub struct TextSplice {
    /// Start, in UTF-16 code units.
    pub pos: usize,
    /// Code units removed.
    pub delete: usize,
    /// Text inserted.
    pub insert: String,
}

/// A text field of a note.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    /// The title.
    Title,
    /// The markdown body.
    Body,
}

impl Field {
    fn key(self) -> &'static str {
        match self {
            Field::Title => "title",
            Field::Body => "body",
        }
    }
}

impl Workspace {
    /// Opens the workspace in `dir`, or [`Error::NoWorkspace`].
    pub fn open(dir: &Path) -> Result<Self> {
        Self::open_with_clock(dir, system_clock())
    }

    /// Opens with a given clock.
    pub fn open_with_clock(dir: &Path, clock: Clock) -> Result<Self> {
        Ok(Workspace { replica: Replica::open(dir, clock)? })
    }

    /// Creates a new workspace for this device in `dir` (fails if one exists).
    pub fn init(dir: &Path, plaintext: bool, clock: Clock) -> Result<Self> {
        if dir.join(DB_FILE).exists() {
            return Err(Error::AlreadyInitialized(dir.to_path_buf()));
        }
        let workspace = Uuid::new_v4();
        let key =
            if plaintext { WorkspaceKey::Plaintext } else { WorkspaceKey::generate(&workspace) };
        Ok(Workspace {
            replica: Replica::create(dir, Uuid::new_v4(), workspace, key, None, clock)?,
        })
    }

    /// Joins the workspace found on `target` as a new device. The passphrase is checked before
    /// anything is written; a wrong one leaves `dir` untouched. A workspace that is not
    /// encrypted is joined only when `accept_plaintext` says the user chose it (a host could
    /// otherwise turn encryption off by rewriting `index.json`). The description joined is
    /// pinned: a target whose `index.json` later differs is refused.
    pub fn join(
        dir: &Path,
        kind: TargetKind,
        target: &dyn Transport,
        passphrase: Option<&str>,
        accept_plaintext: bool,
        clock: Clock,
    ) -> Result<Self> {
        let m = Self::joinable(dir, target)?;
        let key = match &m.encryption.key_wrap {
            None if !accept_plaintext => return Err(Error::PlaintextWorkspace(target.location())),
            None => WorkspaceKey::Plaintext,
            Some(wrap) => {
                let pass = passphrase.ok_or(Error::PassphraseNeeded)?;
                // `newest_key` checked that the keys lead to index.json's recipient.
                if let Some((started, lamport, keys)) = epochs::newest_key(target, &m, pass)? {
                    let key = epochs::first_key(&keys, &m.workspace_id);
                    let mut ws = Self::joined(dir, kind, target, &m, key, clock)?;
                    ws.replica.learn_epoch(started, lamport, None, &keys)?;
                    return Ok(ws);
                }
                let secret = crypto::unwrap_secret(&wrap.armored, pass)?;
                let key = WorkspaceKey::parse(secret.expose_secret(), &m.workspace_id)?;
                let why = "the wrapped key does not match the recipient";
                Self::check_key(&key, &m, target, why)?;
                key
            }
        };
        Self::joined(dir, kind, target, &m, key, clock)
    }

    /// What every join starts with: no workspace in `dir` yet, the target reachable, and its
    /// `index.json`.
    fn joinable(dir: &Path, target: &dyn Transport) -> Result<Manifest> {
        if dir.join(DB_FILE).exists() {
            return Err(Error::AlreadyInitialized(dir.to_path_buf()));
        }
        target.check()?;
        read_manifest(target)?.ok_or_else(|| Error::NotAWorkspace(target.location()))
    }

    /// Refuses a key that is not the workspace's described by `m` (its recipient is not the
    /// first in `index.json`), saying `why`.
    fn check_key(
        key: &WorkspaceKey,
        m: &Manifest,
        target: &dyn Transport,
        why: &str,
    ) -> Result<()> {
        if key.recipient().as_deref() != m.encryption.recipients.first().map(|s| s.as_str()) {
            return Err(
                ManifestError::Bad { location: target.location(), reason: why.into() }.into()
            );
        }
        Ok(())
    }

    /// What every join ends with: this device, new in `dir` with `key`, pinning `m` and
    /// syncing with `target`.
    fn joined(
        dir: &Path,
        kind: TargetKind,
        target: &dyn Transport,
        m: &Manifest,
        key: WorkspaceKey,
        clock: Clock,
    ) -> Result<Self> {
        let ws = Workspace {
            replica: Replica::create(dir, Uuid::new_v4(), m.workspace_id, key, Some(m), clock)?,
        };
        ws.insert_target(kind, &target.location())?;
        Ok(ws)
    }

    /// This device's clientId.
    pub fn client_id(&self) -> Uuid {
        self.replica.client
    }
    /// The workspace id.
    pub fn workspace_id(&self) -> Uuid {
        self.replica.workspace
    }
    /// The data dir.
    pub fn dir(&self) -> &Path {
        &self.replica.dir
    }
    /// The workspace key: with [`crate::format`], it opens any entry or attachment file of
    /// this workspace (tools and tests that read files as a second reader would).
    pub fn key(&self) -> &WorkspaceKey {
        self.replica.keys.epoch0()
    }

    /// The `index.json` every target of this workspace carries; created on first need (which
    /// needs the passphrase that new devices will use to join).
    pub fn manifest(&self, passphrase: Option<&str>, log_n: u8) -> Result<Manifest> {
        if let Some(text) = store::meta(&self.replica.conn, "manifest")? {
            return Ok(Manifest::parse(text.as_bytes(), "local copy")?);
        }
        let (encryption, authentication) = match self.replica.keys.epoch0().secret() {
            None => (
                Encryption { method: "none".into(), recipients: vec![], key_wrap: None },
                Authentication { method: "none".into() },
            ),
            Some(secret) => {
                let pass = passphrase.ok_or(Error::PassphraseNeeded)?;
                check_passphrase(pass)?;
                let armored = crypto::wrap_secret(&secret, pass, log_n)?;
                (
                    Encryption {
                        method: "age-x25519".into(),
                        recipients: vec![self
                            .replica
                            .keys
                            .epoch0()
                            .recipient()
                            .unwrap_or_default()],
                        key_wrap: Some(KeyWrap { method: "age-scrypt".into(), armored }),
                    },
                    Authentication { method: "hmac-sha256".into() },
                )
            }
        };
        let m = Manifest {
            format: manifest::FORMAT_NAME.into(),
            format_version: 1,
            app: "resilient-notes".into(),
            workspace_id: self.replica.workspace,
            created_by: self.replica.client,
            created_at: self.replica.now(),
            max_entries_per_folder: crate::format::path::MAX_ENTRIES_PER_FOLDER,
            change_extension: self.replica.keys.epoch0().extension().into(),
            encryption,
            authentication,
        };
        store::set_meta(&self.replica.conn, "manifest", &String::from_utf8_lossy(&m.to_bytes()))?;
        Ok(m)
    }

    /// Adds a target of the given kind (`folder`). An empty target becomes a shared workspace
    /// (its `index.json` is written); one of this workspace is accepted; anything else is refused.
    pub fn add_target(
        &self,
        kind: TargetKind,
        target: &dyn Transport,
        passphrase: Option<&str>,
        log_n: u8,
    ) -> Result<Target> {
        target.check()?;
        let location = target.location();
        if self.targets()?.iter().any(|t| t.location == location) {
            return Err(Error::DuplicateTarget(location));
        }
        match read_manifest(target)? {
            Some(m) => {
                self.replica.pinned_manifest(m, &location)?;
            }
            None => {
                let visible = target
                    .list("")?
                    .into_iter()
                    .filter(|n| !crate::format::path::is_ignored_name(n))
                    .count();
                if visible > 0 {
                    return Err(Error::FolderNotEmpty(location));
                }
                let m = self.manifest(passphrase, log_n)?;
                target.write_new("index.json", &m.to_bytes())?;
            }
        }
        self.insert_target(kind, &location)
    }

    fn insert_target(&self, kind: TargetKind, location: &str) -> Result<Target> {
        let id = Uuid::new_v4().simple().to_string()[..8].to_string();
        store::targets::insert(
            &self.replica.conn,
            &id,
            kind.as_str(),
            location,
            self.replica.now(),
        )?;
        Ok(Target {
            id,
            kind,
            location: location.into(),
            username: None,
            keep_attachments: kind.keeps_attachments_by_default(),
        })
    }

    /// Stores a target's user name and password (the password in the OS keyring, else in a
    /// file only the user can read). Returns the file when no keyring took it.
    pub fn set_credentials(
        &self,
        target: &str,
        username: Option<&str>,
        password: Option<&str>,
    ) -> Result<Option<PathBuf>> {
        store::targets::set_username(&self.replica.conn, target, username)?;
        match password {
            Some(p) => match credentials::save(&self.replica.dir, target, p)? {
                credentials::Place::Keyring => Ok(None),
                credentials::Place::File(path) => Ok(Some(path)),
            },
            None => Ok(None),
        }
    }

    /// Removes a target (its files stay where they are).
    pub fn remove_target(&self, query: &str) -> Result<Target> {
        let t = self.find_target(query)?;
        store::targets::delete(&self.replica.conn, &t.id)?;
        credentials::remove(&self.replica.dir, &t.id);
        Ok(t)
    }

    /// Resolves a full id or unique prefix to a note id (deleted notes included).
    pub fn resolve(&self, query: &str) -> Result<Uuid> {
        let q = query.trim().to_lowercase();
        if q.is_empty() || !q.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
            return Err(Error::NoSuchNote(query.to_string()));
        }
        let ids = store::notes::ids_with_prefix(&self.replica.conn, &q, 2, false)?;
        match ids.as_slice() {
            [one] => Uuid::parse_str(one).map_err(|_| Error::NoSuchNote(query.to_string())),
            [] => Err(Error::NoSuchNote(query.to_string())),
            _ => Err(Error::AmbiguousId(query.to_string())),
        }
    }

    /// Creates a note; returns its id.
    pub fn new_note(&mut self, title: &str, body: &str) -> Result<Uuid> {
        let id = Uuid::new_v4();
        self.replica.write_local(&id, materialize::BodyEdit::SetTo(body), |doc, now| {
            note::create(doc, title, body, now).map(|_| true)
        })?;
        Ok(id)
    }

    /// Edits title and/or body (as text splices). Returns false when nothing changed.
    pub fn edit_note(
        &mut self,
        query: &str,
        title: Option<&str>,
        body: Option<&str>,
    ) -> Result<bool> {
        let id = self.resolve(query)?;
        let edit = match body {
            Some(b) => materialize::BodyEdit::SetTo(b),
            None => materialize::BodyEdit::Untouched,
        };
        self.replica.write_local(&id, edit, |doc, now| {
            let mut changed = false;
            if let Some(t) = title {
                changed |= note::set_text(doc, "title", t)?;
            }
            if let Some(b) = body {
                changed |= note::set_text(doc, "body", b)?;
            }
            if changed {
                note::touch(doc, now)?;
            }
            Ok(changed)
        })
    }

    /// Applies one text splice to a note's `title` or `body`, as an editor sends them: `pos` and
    /// `delete` count Unicode code points. Positions past the end are clamped.
    pub fn splice_note(
        &mut self,
        id: &Uuid,
        field: Field,
        pos: usize,
        delete: usize,
        insert: &str,
    ) -> Result<()> {
        let edit = match field {
            Field::Body => materialize::BodyEdit::SpliceAt(pos),
            Field::Title => materialize::BodyEdit::Untouched,
        };
        self.replica
            .write_local(id, edit, |doc, now| {
                if note::splice(doc, field.key(), pos, delete, insert)? {
                    note::touch(doc, now)?;
                    return Ok(true);
                }
                Ok(false)
            })
            .and_then(|changed| {
                if changed || (delete == 0 && insert.is_empty()) {
                    Ok(())
                } else {
                    Err(Error::NoSuchNote(id.to_string()))
                }
            })
    }

    /// Applies an editor's splices to a note's fields as one change. Positions count UTF-16
    /// code units (as JavaScript strings and CodeMirror do) in the text the editor last got,
    /// identified by that note's `heads`; edits merged since (from other devices, by background
    /// sync) are not counted, so they are neither overwritten nor shifted. With `base` None the
    /// positions refer to the current text.
    pub fn edit_fields(
        &mut self,
        id: &Uuid,
        base: Option<&[String]>,
        edits: &[(Field, &[TextSplice])],
    ) -> Result<()> {
        self.edit_fields_at(id, base, edits).map(|_| ())
    }

    /// The editor's edit: [`Workspace::edit_fields`] at the editor's version `heads`, answered
    /// with the new version and — only when other edits were merged — the text as it is now.
    pub fn edit_open_note(
        &mut self,
        id: &Uuid,
        heads: &[String],
        edits: &[(Field, &[TextSplice])],
    ) -> Result<Edited> {
        let current = self.edit_fields_at(id, Some(heads), edits)?;
        let read = self.replica.note_doc(id, |d, _| {
            let now: Vec<String> = d.get_heads().iter().map(|h| h.to_string()).collect();
            let merged = (!current).then(|| {
                let f = note::read(d);
                MergedText { title: f.title, body: f.body }
            });
            (now, merged, note::read_head(d).deleted)
        })?;
        match read {
            Some((heads, merged, false)) => Ok(Edited { heads, merged }),
            _ => Err(Error::NoSuchNote(id.to_string())),
        }
    }

    /// Applies the edits; returns true when `base` was the note's latest version (so the text
    /// now is the base text with the edits applied, nothing merged).
    fn edit_fields_at(
        &mut self,
        id: &Uuid,
        base: Option<&[String]>,
        edits: &[(Field, &[TextSplice])],
    ) -> Result<bool> {
        let mut current = true;
        if edits.iter().all(|(_, s)| s.is_empty()) {
            if let Some(base) = base {
                let heads = self.replica.note_doc(id, |d, _| d.get_heads())?.unwrap_or_default();
                current = heads.iter().map(|h| h.to_string()).eq(base.iter().cloned());
            }
            return Ok(current);
        }
        let base: Option<Vec<automerge::ChangeHash>> = match base {
            None => None,
            Some(hs) => Some(
                hs.iter()
                    .map(|h| {
                        h.parse().map_err(|_| {
                            Error::Invalid(format!(
                                "'{h}' is not a document version; reopen the note"
                            ))
                        })
                    })
                    .collect::<Result<_>>()?,
            ),
        };
        let mut missing = false;
        let changed =
            self.replica.write_change(id, materialize::BodyEdit::Unknown, |doc, now| {
                let mut apply = |doc: &mut automerge::AutoCommit| -> Result<bool> {
                    let mut changed = false;
                    for (field, splices) in edits {
                        for sp in *splices {
                            match note::splice_utf16(
                                doc,
                                field.key(),
                                sp.pos,
                                sp.delete,
                                &sp.insert,
                            )? {
                                Some(_) => changed = true,
                                None => missing |= note::read_head(doc).created_at == 0,
                            }
                        }
                    }
                    if changed {
                        note::touch(doc, now)?;
                    }
                    Ok(changed)
                };
                match &base {
                    Some(heads) if *heads != doc.get_heads() => {
                        current = false;
                        if heads.iter().any(|h| doc.get_change_by_hash(h).is_none()) {
                            return Err(Error::Invalid(
                            "the editor's version of this note is unknown here; reopen the note"
                                .into(),
                        ));
                        }
                        note::change_at(doc, heads, now, apply)
                    }
                    _ => Ok(if apply(doc)? { note::take_change(doc, now) } else { None }),
                }
            })?;
        if !changed && missing {
            return Err(Error::NoSuchNote(id.to_string()));
        }
        Ok(current)
    }

    /// Deletes a note (the deletion is itself an edit that syncs).
    pub fn delete_note(&mut self, query: &str) -> Result<Uuid> {
        let id = self.resolve(query)?;
        self.replica.write_local(&id, materialize::BodyEdit::Untouched, |doc, now| {
            note::mark_deleted(doc, now).map(|_| true)
        })?;
        Ok(id)
    }

    /// Brings back a deleted note from the trash ("undo delete"), and its notebook if that was
    /// deleted too; the undo syncs like any edit. A note emptied from the trash cannot be
    /// brought back this way.
    pub fn restore_note(&mut self, query: &str) -> Result<Uuid> {
        let id = self.resolve(query)?;
        let mut notebook = None;
        self.replica.write_local(&id, materialize::BodyEdit::Untouched, |doc, now| {
            let f = note::read_head(doc);
            if f.purged {
                return Err(Error::Invalid(
                    "this note was emptied from the trash and cannot be restored".into(),
                ));
            }
            notebook = f.notebook;
            note::set_deleted(doc, false, now).map(|_| true)
        })?;
        if let Some(book) = notebook {
            self.restore_notebook(book)?;
        }
        Ok(id)
    }

    /// A note's notebook if it is live here (`None`: the default notebook).
    fn notebook_of(&self, id: &Uuid) -> Result<Option<String>> {
        Ok(store::notes::row_of(&self.replica.conn, &id.to_string())?.and_then(|r| r.notebook))
    }

    /// One note (deleted notes are reported as missing). Reads the note's document.
    pub fn note(&self, query: &str) -> Result<Note> {
        let id = self.resolve(query)?;
        // A note listed from a summary gets its document built and stored on first opening.
        let conn = &self.replica.conn;
        // A big note's kept text, if current: shown without loading its document.
        if let Some(t) = store::notes::current_text(conn, &id)? {
            return Ok(Note {
                id: id.to_string(),
                title: t.title,
                body: t.body,
                created_at: t.created_at,
                updated_at: t.updated_at,
                pinned: t.pinned,
                tags: t.tags,
                notebook: self.notebook_of(&id)?,
                heads: t.heads.split(',').filter(|h| !h.is_empty()).map(str::to_string).collect(),
                left_out: store::notes::left_out_of(conn, &id)?,
                merged_with: merged_with(conn, &id)?,
            });
        }
        let read = self.replica.note_doc(&id, |d, rev| -> Result<_> {
            let f = note::read(d);
            // The document was read anyway: a big note opens at once next time.
            crate::docs::texts::keep(conn, &id, rev, d, &f)?;
            Ok((f, d.get_heads()))
        })?;
        match read.transpose()? {
            Some((f, doc_heads)) if !f.deleted => {
                let heads = doc_heads.iter().map(|h| h.to_string()).collect();
                Ok(Note {
                    id: id.to_string(),
                    title: f.title,
                    body: f.body,
                    created_at: f.created_at,
                    updated_at: f.updated_at,
                    pinned: f.pinned,
                    tags: f.tags,
                    notebook: self.notebook_of(&id)?,
                    heads,
                    left_out: store::notes::left_out_of(&self.replica.conn, &id)?,
                    merged_with: merged_with(&self.replica.conn, &id)?,
                })
            }
            _ => Err(Error::NoSuchNote(query.to_string())),
        }
    }

    /// Clears a note's merge mark ([`Note::merged_with`]): the user has seen the note. Returns
    /// whether it had one.
    pub fn seen_merge(&mut self, query: &str) -> Result<bool> {
        let id = self.resolve(query)?;
        Ok(store::notes::clear_merged(&self.replica.conn, &id)?)
    }

    /// Keeps the texts of the big notes typed into since their text was last kept, so they open
    /// at once next time (the app calls it when the user leaves a note). Returns how many.
    pub fn keep_texts(&mut self) -> Result<usize> {
        self.replica.keep_texts()
    }

    /// Live notes with every word of `query` in their title or body (a word also matches the
    /// start of a longer one; `"quoted words"` match in that order; é = e, case ignored;
    /// Chinese, Japanese, Korean and Thai found as substrings), best first, at most `limit`,
    /// each with a snippet of where it matched. `tag:NAME` (or `tag:"two words"`) keeps only
    /// notes with that tag; `notebook:NAME` (a name, path or id) only notes in that notebook or
    /// the notebooks inside it (several: in any of them); a query of filters alone lists their
    /// notes. Notes listed from summaries and not yet indexed
    /// ([`Workspace::index_for_search`]) are found by their title and first line only.
    pub fn find(&self, query: &str, limit: usize) -> Result<Vec<NoteSummary>> {
        let (rest, tags) = organize::take_tags(query);
        let (words, books) = organize::take_filters(&rest, "notebook:");
        if books.is_empty() {
            return self.find_in(&words, tags, None, limit);
        }
        let mut places = Vec::new();
        for b in &books {
            let place = self.find_notebook(b)?;
            places.push(place);
            if let Place::Notebook(id) = place {
                places.extend(self.descendants(id)?.into_iter().map(Place::Notebook));
            }
        }
        self.find_in(&words, tags, Some(&places), limit)
    }

    /// What a list of notes shows for a view and the words typed into its search field: with
    /// no words, the notes of the view `q` (its tag, its notebook, or all) in its order; with
    /// words, the notes they find, best first with snippets — anywhere in the view of all
    /// notes (where `tag:` and `notebook:` filters work as in [`Workspace::find`]), or among
    /// the notes of the view's tag and notebook (where every word is a word).
    pub fn view(&self, q: &ListQuery, words: &str) -> Result<Vec<NoteSummary>> {
        let words = words.trim();
        let limit = q.limit.unwrap_or(usize::MAX);
        if words.is_empty() {
            self.list_notes(q)
        } else if q.tags.is_empty() && q.notebook.is_none() {
            self.find(words, limit)
        } else {
            let places = q.notebook.as_ref().map(std::slice::from_ref);
            self.find_in(words, q.tags.clone(), places, limit)
        }
    }

    /// [`Workspace::find`] among the notes with every one of `tags` that are in one of
    /// `places` (`None`: anywhere); `words`' own filters are words here.
    pub fn find_in(
        &self,
        words: &str,
        tags: Vec<String>,
        places: Option<&[Place]>,
        limit: usize,
    ) -> Result<Vec<NoteSummary>> {
        // First: a big note typed into since it was indexed brings its new words, which the
        // prefixes of the query are expanded to.
        self.replica.refresh_search()?;
        let Some(fts) = store::search::expanded_query(&self.replica.conn, words)? else {
            if tags.is_empty() && places.is_none() {
                return Ok(Vec::new());
            }
            let mut rows = Vec::new();
            let shelves: Vec<Option<Place>> = match places {
                None => vec![None],
                Some(ps) => ps.iter().map(|p| Some(*p)).collect(),
            };
            for place in shelves {
                let q = ListQuery {
                    tags: tags.clone(),
                    notebook: place,
                    limit: Some(limit),
                    ..Default::default()
                };
                rows.extend(self.list_notes(&q)?);
            }
            rows.sort_by_key(|r| std::cmp::Reverse((r.pinned, r.updated_at)));
            rows.truncate(limit);
            return Ok(rows);
        };
        // A name that cannot be a tag is on no note.
        let Some(tags) = tags.iter().map(|t| note::tag_name(t)).collect::<Option<Vec<_>>>() else {
            return Ok(Vec::new());
        };
        let ids: Vec<String> = places
            .unwrap_or_default()
            .iter()
            .filter_map(|p| match p {
                Place::Notebook(id) => Some(id.to_string()),
                Place::Default => None,
            })
            .collect();
        let books = places
            .map(|p| store::search::Books { ids: &ids, default: p.contains(&Place::Default) });
        Ok(store::search::query(&self.replica.conn, &fts, &tags, books.as_ref(), limit)?
            .into_iter()
            .map(hit_row)
            .collect())
    }

    /// Indexes for search the whole text of at most `max` notes known only from summaries (a
    /// device that has just joined lists notes without building their documents), and says
    /// how far the index has got. Cheap once everything is indexed; shells call it in the
    /// background until `indexed == total`.
    pub fn index_for_search(&self, max: usize) -> Result<SearchProgress> {
        let (indexed, total) = self.replica.index_pending(max)?;
        Ok(SearchProgress { indexed, total })
    }

    /// Live notes, pinned ones first, then newest edit first, optionally only the first
    /// `limit` ([`Workspace::list_notes`] filters and sorts otherwise).
    pub fn list(&self, limit: Option<usize>) -> Result<Vec<NoteSummary>> {
        self.list_notes(&ListQuery { limit, ..Default::default() })
    }
}

/// The devices a note's merge mark names, as ids.
fn merged_with(conn: &rusqlite::Connection, id: &Uuid) -> Result<Vec<String>> {
    Ok(store::notes::merged_with(conn, id)?.iter().map(Uuid::to_string).collect())
}

/// A search hit as a row of the notes list, with its snippet.
fn hit_row(hit: store::search::Hit) -> NoteSummary {
    NoteSummary {
        snippet: hit.snippet.into_iter().map(|(text, hit)| SnippetPart { text, hit }).collect(),
        ..summary_row(hit.row)
    }
}

/// A row of the notes list as the shells show it.
fn summary_row(r: store::notes::ListRow) -> NoteSummary {
    NoteSummary {
        id: r.id,
        title: r.title,
        first_line: r.first_line,
        updated_at: r.updated_at,
        created_at: r.created_at,
        pinned: r.pinned,
        tags: r.tags,
        notebook: r.notebook,
        snippet: Vec::new(),
        merged: r.merged,
    }
}

/// Checks that a folder can become a new shared workspace (empty but for junk), creating it
/// when only its last part is missing.
pub fn check_new_shared_folder(target: &dyn Transport) -> Result<()> {
    target.create_root()?;
    if let Some(m) = read_manifest(target)? {
        return Err(Error::Invalid(format!(
            "{} already holds workspace {}; join it with `resnotes join --folder`",
            target.location(),
            m.workspace_id
        )));
    }
    if target.list("")?.iter().any(|n| !crate::format::path::is_ignored_name(n)) {
        return Err(Error::FolderNotEmpty(target.location()));
    }
    Ok(())
}

/// True when joining the workspace on `target` needs a passphrase (it is encrypted).
pub fn needs_passphrase(target: &dyn Transport) -> Result<bool> {
    target.check()?;
    let m = read_manifest(target)?.ok_or_else(|| Error::NotAWorkspace(target.location()))?;
    Ok(m.encryption.key_wrap.is_some())
}

impl Workspace {
    /// True once this workspace's `index.json` exists (adding more targets needs no passphrase).
    pub fn manifest_known(&self) -> Result<bool> {
        Ok(store::meta(&self.replica.conn, "manifest")?.is_some()
            || !self.replica.keys.epoch0().is_encrypted())
    }
}

/// What the sync layer and the attachments of the replica offer, as the shells call it.
impl Workspace {
    /// All targets, oldest first. A row of a kind this program does not know (written by a
    /// newer version) is left out rather than failing every sync.
    pub fn targets(&self) -> Result<Vec<Target>> {
        self.replica.targets()
    }

    /// Finds a target by id, id prefix or location.
    pub fn find_target(&self, query: &str) -> Result<Target> {
        self.replica.find_target(query)
    }

    /// Opens the transport of a configured target (with its stored credentials).
    pub fn transport_for(&self, target: &Target) -> Result<Box<dyn Transport>> {
        self.replica.transport_for(target)
    }

    /// One sync cycle with every target: pull from all, then push to all, so entries pulled
    /// from one target are relayed to the others in the same cycle.
    pub fn sync_all(&mut self, on_event: &mut dyn FnMut(SyncEvent)) -> Result<Vec<TargetReport>> {
        self.replica.sync_all(on_event)
    }

    /// Checks a target (by id, id prefix or location) against this device: every entry and
    /// attachment read back and compared byte for byte, and anything foreign named. Marks of
    /// entries or attachments found gone are taken back, so the next sync writes them again.
    /// `on_progress(done, total)` counts the files compared.
    pub fn verify(
        &self,
        target: &str,
        on_progress: &mut dyn FnMut(u64, u64),
    ) -> Result<Verification> {
        let t = self.replica.find_target(target)?;
        let tr = self.replica.transport_for(&t)?;
        self.replica.verify_with(&t, tr.as_ref(), on_progress)
    }

    /// [`Workspace::verify`] with a given transport (tests pass in-memory ones).
    pub fn verify_with(
        &self,
        target: &Target,
        transport: &dyn Transport,
        on_progress: &mut dyn FnMut(u64, u64),
    ) -> Result<Verification> {
        self.replica.verify_with(target, transport, on_progress)
    }

    /// One sync cycle with the given targets and transports (tests pass in-memory ones).
    pub fn sync_with(
        &mut self,
        targets: &[(&Target, &dyn Transport)],
        on_event: &mut dyn FnMut(SyncEvent),
    ) -> Result<Vec<TargetReport>> {
        self.replica.sync_with(targets, on_event)
    }

    /// Seals the unsealed local changes into log entries of at most `max_changes` changes and
    /// about `max_bytes` of change data each (sync does this first). Returns entries written.
    pub fn seal_pending(&mut self, max_changes: usize, max_bytes: usize) -> Result<u64> {
        self.replica.seal_pending(max_changes, max_bytes)
    }

    /// Settles the notes listed from summaries (sync does this after pulling); returns how many
    /// documents were built.
    pub fn settle(&mut self) -> Result<u64> {
        self.replica.settle()
    }

    /// Drops every derived table and rebuilds it from the log alone (sealed entries, then the
    /// unsealed tail), then the attachment index from the sealed files. Returns entries
    /// replayed.
    pub fn rebuild(&mut self) -> Result<u64> {
        let n = self.replica.rebuild_notes()?;
        self.replica.rebuild_assets()?;
        Ok(n)
    }

    /// One attachment cycle with every target (uploads, and downloads for targets that keep
    /// attachments offline); `stop` is checked between files.
    pub fn sync_assets(
        &self,
        stop: &dyn Fn() -> bool,
        on_event: &mut dyn FnMut(SyncEvent),
    ) -> Result<Vec<TargetReport>> {
        self.replica.sync_assets(stop, on_event)
    }

    /// Folder holding this device's sealed attachment files.
    pub fn assets_dir(&self) -> PathBuf {
        self.replica.assets_dir()
    }

    /// The largest attachment this device accepts.
    pub fn max_attachment_bytes(&self) -> Result<u64> {
        self.replica.max_attachment_bytes()
    }

    /// Changes the largest attachment accepted (at least 1 byte).
    pub fn set_max_attachment_bytes(&self, bytes: u64) -> Result<()> {
        self.replica.set_max_attachment_bytes(bytes)
    }

    /// Turns "keep all attachments offline" on or off for a target.
    pub fn set_keep_attachments(&self, target: &str, on: bool) -> Result<Target> {
        self.replica.set_keep_attachments(target, on)
    }

    /// True when this device holds the attachment's sealed file.
    pub fn has_asset(&self, id: &AssetId) -> Result<bool> {
        self.replica.has_asset(id)
    }

    /// Stores the file at `src` as this device's next attachment (sealed while streaming,
    /// bounded memory); content already stored is not stored again.
    pub fn add_asset(&mut self, src: &Path, name: &str, mime: Option<&str>) -> Result<AssetRef> {
        self.replica.add_asset(src, name, mime)
    }

    /// Like [`Workspace::add_asset`] for content in memory (a pasted image).
    pub fn add_asset_bytes(
        &mut self,
        bytes: &[u8],
        name: &str,
        mime: Option<&str>,
    ) -> Result<AssetRef> {
        self.replica.add_asset_bytes(bytes, name, mime)
    }

    /// Refreshes which attachments the notes link to.
    pub fn scan_refs(&self) -> Result<()> {
        self.replica.scan_refs()
    }

    /// Every attachment this device holds or a note links to, with where it is.
    pub fn assets(&self) -> Result<Vec<AssetInfo>> {
        self.replica.assets()
    }

    /// Writes the attachment's verified content to `dest`, fetching it first if needed.
    pub fn save_asset(
        &self,
        r: &AssetRef,
        dest: &Path,
        on_event: &mut dyn FnMut(SyncEvent),
    ) -> Result<()> {
        self.replica.save_asset(r, dest, on_event)
    }

    /// Where [`Workspace::copy_for_opening`] puts the verified copy of an attachment.
    pub fn opened_copy_path(&self, r: &AssetRef) -> PathBuf {
        self.replica.opened_copy_path(r)
    }

    /// A verified copy of the attachment for opening with another program.
    pub fn copy_for_opening(
        &self,
        r: &AssetRef,
        on_event: &mut dyn FnMut(SyncEvent),
    ) -> Result<PathBuf> {
        self.replica.copy_for_opening(r, on_event)
    }

    /// The attachment's verified content in memory (the app's preview), fetched if needed.
    pub fn asset_bytes(
        &self,
        r: &AssetRef,
        on_event: &mut dyn FnMut(SyncEvent),
    ) -> Result<Vec<u8>> {
        self.replica.asset_bytes(r, on_event)
    }

    /// Makes sure this device holds the attachment, downloading and verifying it if needed.
    pub fn fetch_asset(&self, r: &AssetRef, on_event: &mut dyn FnMut(SyncEvent)) -> Result<()> {
        self.replica.fetch_asset(r, on_event)
    }

    /// Attaches a file to a note: stores it ([`Workspace::add_asset`]) and appends a markdown
    /// image (for images) or link to the note's body. Returns the reference.
    pub fn attach(&mut self, note_query: &str, src: &Path, name: Option<&str>) -> Result<AssetRef> {
        let id = self.resolve(note_query)?;
        let name = match name {
            Some(n) => n.to_string(),
            None => src
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .ok_or_else(|| Error::Invalid(format!("{} has no file name", src.display())))?,
        };
        let r = self.add_asset(src, &name, None)?;
        let body = self.note(&id.to_string())?.body;
        let sep = if body.is_empty() || body.ends_with("\n\n") {
            ""
        } else if body.ends_with('\n') {
            "\n"
        } else {
            "\n\n"
        };
        self.splice_note(
            &id,
            Field::Body,
            body.chars().count(),
            0,
            &format!("{sep}{}\n", r.markdown()),
        )?;
        Ok(r)
    }
}
