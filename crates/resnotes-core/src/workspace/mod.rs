//! A device's workspace in its data dir: opening, creating and joining, local edits (each one a
//! durable log entry), reading notes, targets, status and rebuilding derived tables from the log.

pub(crate) mod credentials;
pub mod setup;
pub mod status;

use std::path::{Path, PathBuf};

use age::secrecy::{ExposeSecret, SecretString};
use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use ts_rs::TS;
use uuid::Uuid;

use crate::docs::{lazy, materialize, note};
use crate::error::{Error, Result};
use crate::format::crypto::{self, WorkspaceKey};
use crate::format::entry::{self, Header, NoteChange, ZERO_HASH};
use crate::format::manifest::{self, Authentication, Encryption, KeyWrap, Manifest};
use crate::store;
use crate::transport::{read_manifest, Target, TargetKind, Transport};

/// File name of the database inside the data dir.
pub const DB_FILE: &str = "resnotes.db";
/// File name of the workspace key inside the data dir (readable only by the user).
pub const KEY_FILE: &str = "workspace.key";
/// Default scrypt work factor for wrapping the key with a passphrase (~1 s here).
pub const DEFAULT_SCRYPT_LOG_N: u8 = 18;

/// The data dir used when none is given: the OS's per-user app-data dir (shared by the CLI and
/// the app), or None when the OS reports no home.
pub fn default_data_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("org", "Resilient Notes", "resilient-notes")
        .map(|p| p.data_dir().to_path_buf())
}

/// The scrypt work factor for new passphrase wraps: `RESNOTES_SCRYPT_LOG_N` (10..=22, lower
/// only makes sense for tests) or [`DEFAULT_SCRYPT_LOG_N`].
pub fn scrypt_log_n() -> u8 {
    std::env::var("RESNOTES_SCRYPT_LOG_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| (10..=22).contains(n))
        .unwrap_or(DEFAULT_SCRYPT_LOG_N)
}

/// Source of the current time in ms since the Unix epoch; tests pass a fixed clock.
pub type Clock = Box<dyn Fn() -> i64 + Send>;

/// The system clock.
pub fn system_clock() -> Clock {
    Box::new(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0)
    })
}

/// One device's open workspace.
pub struct Workspace {
    dir: PathBuf,
    pub(crate) conn: Connection,
    pub(crate) client: Uuid,
    pub(crate) workspace: Uuid,
    pub(crate) key: WorkspaceKey,
    pub(crate) clock: Clock,
    pub(crate) docs: materialize::DocCache,
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
    /// The document version this text is (Automerge change hashes, hex). Editors send it back
    /// with their splices so positions are read against the text they saw.
    pub heads: Vec<String>,
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

fn write_key_file(path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f =
        opts.open(path).map_err(|e| Error::io(format!("cannot write {}", path.display()), e))?;
    f.write_all(text.as_bytes())
        .and_then(|_| f.sync_all())
        .map_err(|e| Error::io(format!("cannot write {}", path.display()), e))
}

impl Workspace {
    /// Opens the workspace in `dir`, or [`Error::NoWorkspace`].
    pub fn open(dir: &Path) -> Result<Self> {
        Self::open_with_clock(dir, system_clock())
    }

    /// Opens with a given clock.
    pub fn open_with_clock(dir: &Path, clock: Clock) -> Result<Self> {
        let db = dir.join(DB_FILE);
        if !db.exists() {
            return Err(Error::NoWorkspace(dir.to_path_buf()));
        }
        let conn = store::open(&db)?;
        let get = |k: &str| -> Result<Uuid> {
            store::meta(&conn, k)?
                .and_then(|v| Uuid::parse_str(&v).ok())
                .ok_or_else(|| Error::NoWorkspace(dir.to_path_buf()))
        };
        let client = get("client_id")?;
        let workspace = get("workspace_id")?;
        let key = match store::meta(&conn, "encryption")?.as_deref() {
            Some("none") => WorkspaceKey::Plaintext,
            _ => {
                let path = dir.join(KEY_FILE);
                let text =
                    std::fs::read_to_string(&path).map_err(|_| Error::KeyFile(path.clone()))?;
                WorkspaceKey::parse(&text, &workspace).map_err(|_| Error::KeyFile(path))?
            }
        };
        Ok(Self::new(dir, conn, client, workspace, key, clock))
    }

    fn new(
        dir: &Path,
        conn: Connection,
        client: Uuid,
        workspace: Uuid,
        key: WorkspaceKey,
        clock: Clock,
    ) -> Self {
        Workspace {
            dir: dir.to_path_buf(),
            conn,
            client,
            workspace,
            key,
            clock,
            docs: Default::default(),
        }
    }

    fn create(
        dir: &Path,
        client: Uuid,
        workspace: Uuid,
        key: WorkspaceKey,
        manifest: Option<&Manifest>,
        clock: Clock,
    ) -> Result<Self> {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
        if dir.join(DB_FILE).exists() {
            return Err(Error::AlreadyInitialized(dir.to_path_buf()));
        }
        if let Some(secret) = key.secret() {
            write_key_file(&dir.join(KEY_FILE), &format!("{}\n", secret.expose_secret()))?;
        }
        let conn = store::open(&dir.join(DB_FILE))?;
        store::set_meta(&conn, "client_id", &client.to_string())?;
        store::set_meta(&conn, "workspace_id", &workspace.to_string())?;
        store::set_meta(&conn, "encryption", if key.is_encrypted() { "age" } else { "none" })?;
        if let Some(m) = manifest {
            store::set_meta(&conn, "manifest", &String::from_utf8_lossy(&m.to_bytes()))?;
        }
        Ok(Self::new(dir, conn, client, workspace, key, clock))
    }

    /// Creates a new workspace for this device in `dir` (fails if one exists).
    pub fn init(dir: &Path, plaintext: bool, clock: Clock) -> Result<Self> {
        if dir.join(DB_FILE).exists() {
            return Err(Error::AlreadyInitialized(dir.to_path_buf()));
        }
        let workspace = Uuid::new_v4();
        let key =
            if plaintext { WorkspaceKey::Plaintext } else { WorkspaceKey::generate(&workspace) };
        Self::create(dir, Uuid::new_v4(), workspace, key, None, clock)
    }

    /// Joins the workspace found on `target` as a new device. The passphrase is checked before
    /// anything is written; a wrong one leaves `dir` untouched.
    pub fn join(
        dir: &Path,
        kind: TargetKind,
        target: &dyn Transport,
        passphrase: Option<&str>,
        clock: Clock,
    ) -> Result<Self> {
        if dir.join(DB_FILE).exists() {
            return Err(Error::AlreadyInitialized(dir.to_path_buf()));
        }
        target.check()?;
        let m = read_manifest(target)?.ok_or_else(|| Error::NotAWorkspace(target.location()))?;
        let key = match &m.encryption.key_wrap {
            None => WorkspaceKey::Plaintext,
            Some(wrap) => {
                let pass = passphrase.ok_or(Error::PassphraseNeeded)?;
                let secret = crypto::unwrap_secret(&wrap.armored, pass)?;
                let key = WorkspaceKey::parse(secret.expose_secret(), &m.workspace_id)?;
                if key.recipient().as_deref() != m.encryption.recipients.first().map(|s| s.as_str())
                {
                    return Err(Error::BadManifest {
                        location: target.location(),
                        reason: "the wrapped key does not match the recipient".into(),
                    });
                }
                key
            }
        };
        let ws = Self::create(dir, Uuid::new_v4(), m.workspace_id, key, Some(&m), clock)?;
        ws.insert_target(kind, &target.location())?;
        Ok(ws)
    }

    /// Opens the transport of a configured target (with its stored credentials).
    pub fn transport_for(&self, target: &Target) -> Result<Box<dyn Transport>> {
        let password = match target.kind {
            TargetKind::Webdav => credentials::load(&self.dir, &target.id),
            _ => None,
        };
        Ok(target.kind.connect(&target.location, target.username.clone(), password)?)
    }

    /// This device's clientId.
    pub fn client_id(&self) -> Uuid {
        self.client
    }
    /// The workspace id.
    pub fn workspace_id(&self) -> Uuid {
        self.workspace
    }
    /// The data dir.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
    /// The workspace key (for the sync executor and tests).
    pub fn key(&self) -> &WorkspaceKey {
        &self.key
    }
    /// The database connection (read-only uses: UI queries, tests).
    pub fn conn(&self) -> &Connection {
        &self.conn
    }
    pub(crate) fn now(&self) -> i64 {
        (self.clock)()
    }

    /// The identity line for `age -d -i`, or `None` for a plaintext workspace.
    pub fn export_key(&self) -> Option<SecretString> {
        self.key.secret()
    }

    /// The `index.json` every target of this workspace carries; created on first need (which
    /// needs the passphrase that new devices will use to join).
    pub fn manifest(&self, passphrase: Option<&str>, log_n: u8) -> Result<Manifest> {
        if let Some(text) = store::meta(&self.conn, "manifest")? {
            return Manifest::parse(text.as_bytes(), "local copy");
        }
        let (encryption, authentication) = match self.key.secret() {
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
                        recipients: vec![self.key.recipient().unwrap_or_default()],
                        key_wrap: Some(KeyWrap { method: "age-scrypt".into(), armored }),
                    },
                    Authentication { method: "hmac-sha256".into() },
                )
            }
        };
        let m = Manifest {
            format: manifest::FORMAT_NAME.into(),
            format_version: manifest::FORMAT_VERSION,
            app: "resilient-notes".into(),
            workspace_id: self.workspace,
            created_by: self.client,
            created_at: self.now(),
            max_entries_per_folder: crate::format::path::MAX_ENTRIES_PER_FOLDER,
            change_extension: self.key.extension().into(),
            encryption,
            authentication,
        };
        store::set_meta(&self.conn, "manifest", &String::from_utf8_lossy(&m.to_bytes()))?;
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
            Some(m) => m.check_workspace(&self.workspace, &location)?,
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
        store::targets::insert(&self.conn, &id, kind.as_str(), location, self.now())?;
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
        store::targets::set_username(&self.conn, target, username)?;
        match password {
            Some(p) => match credentials::save(&self.dir, target, p)? {
                credentials::Place::Keyring => Ok(None),
                credentials::Place::File(path) => Ok(Some(path)),
            },
            None => Ok(None),
        }
    }

    /// All targets, oldest first. A row of a kind this program does not know (written by a
    /// newer version) is left out rather than failing every sync.
    pub fn targets(&self) -> Result<Vec<Target>> {
        Ok(store::targets::all(&self.conn)?
            .into_iter()
            .filter_map(|row| {
                let kind = TargetKind::parse(&row.kind)?;
                Some(Target {
                    keep_attachments: row
                        .keep_assets
                        .unwrap_or_else(|| kind.keeps_attachments_by_default()),
                    id: row.id,
                    kind,
                    location: row.location,
                    username: row.username,
                })
            })
            .collect())
    }

    /// Finds a target by id, id prefix or location.
    pub fn find_target(&self, query: &str) -> Result<Target> {
        let all = self.targets()?;
        let hits: Vec<_> =
            all.iter().filter(|t| t.id.starts_with(query) || t.location == query).collect();
        match hits.as_slice() {
            [one] => Ok((*one).clone()),
            _ => Err(Error::NoSuchTarget(query.to_string())),
        }
    }

    /// Removes a target (its files stay where they are).
    pub fn remove_target(&self, query: &str) -> Result<Target> {
        let t = self.find_target(query)?;
        store::targets::delete(&self.conn, &t.id)?;
        credentials::remove(&self.dir, &t.id);
        Ok(t)
    }

    /// Resolves a full id or unique prefix to a note id (deleted notes included).
    pub fn resolve(&self, query: &str) -> Result<Uuid> {
        let q = query.trim().to_lowercase();
        if q.is_empty() || !q.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
            return Err(Error::NoSuchNote(query.to_string()));
        }
        let ids = store::notes::ids_with_prefix(&self.conn, &q, 2)?;
        match ids.as_slice() {
            [one] => Uuid::parse_str(one).map_err(|_| Error::NoSuchNote(query.to_string())),
            [] => Err(Error::NoSuchNote(query.to_string())),
            _ => Err(Error::AmbiguousId(query.to_string())),
        }
    }

    /// Applies a local edit to one note in a single transaction: the doc change, the log's
    /// unsealed tail and the derived row are durable when this returns. The change is sealed
    /// into an entry (with others) by [`Workspace::seal_pending`] before the next push.
    fn write_local(
        &mut self,
        id: &Uuid,
        edit: materialize::BodyEdit,
        mutate: impl FnOnce(&mut automerge::AutoCommit, i64) -> Result<bool>,
    ) -> Result<bool> {
        self.write_change(id, edit, |doc, now| {
            Ok(if mutate(doc, now)? { note::take_change(doc) } else { None })
        })
    }

    /// Like [`Workspace::write_local`], for edits that make their change themselves and
    /// return its bytes (None: nothing changed).
    fn write_change(
        &mut self,
        id: &Uuid,
        edit: materialize::BodyEdit,
        mutate: impl FnOnce(&mut automerge::AutoCommit, i64) -> Result<Option<Vec<u8>>>,
    ) -> Result<bool> {
        let now = self.now();
        let tx = store::write_tx(&self.conn)?;
        lazy::ensure_built(&tx, &self.key, &self.client, id)?;
        let mut loaded = materialize::load(&tx, &mut self.docs, id, &self.client)?;
        // On any failure below, the document (already mutated) is dropped, not cached.
        let Some(change) = mutate(&mut loaded.doc, now)? else {
            drop(loaded); // mutated without a change: reload next time
            return Ok(false);
        };
        store::log::push_unsealed(&tx, id, &change, now)?;
        let mut scratch = materialize::DocCache::default();
        materialize::store(&tx, &mut scratch, id, loaded, &change, edit)?;
        tx.commit()?;
        // Only a committed document goes back into the cache.
        self.docs.absorb(scratch);
        Ok(true)
    }

    /// Creates a note; returns its id.
    pub fn new_note(&mut self, title: &str, body: &str) -> Result<Uuid> {
        let id = Uuid::new_v4();
        self.write_local(&id, materialize::BodyEdit::Unknown, |doc, now| {
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
        let edit = if body.is_some() {
            materialize::BodyEdit::Unknown
        } else {
            materialize::BodyEdit::Untouched
        };
        self.write_local(&id, edit, |doc, now| {
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
        self.write_local(id, edit, |doc, now| {
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
        if edits.iter().all(|(_, s)| s.is_empty()) {
            return Ok(());
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
        let changed = self.write_change(id, materialize::BodyEdit::Unknown, |doc, now| {
            let mut apply = |doc: &mut automerge::AutoCommit| -> Result<bool> {
                let mut changed = false;
                for (field, splices) in edits {
                    for sp in *splices {
                        match note::splice_utf16(doc, field.key(), sp.pos, sp.delete, &sp.insert)? {
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
                    if heads.iter().any(|h| doc.get_change_by_hash(h).is_none()) {
                        return Err(Error::Invalid(
                            "the editor's version of this note is unknown here; reopen the note"
                                .into(),
                        ));
                    }
                    note::change_at(doc, heads, apply)
                }
                _ => Ok(if apply(doc)? { note::take_change(doc) } else { None }),
            }
        })?;
        if !changed && missing {
            return Err(Error::NoSuchNote(id.to_string()));
        }
        Ok(())
    }

    /// Deletes a note (the deletion is itself an edit that syncs).
    pub fn delete_note(&mut self, query: &str) -> Result<Uuid> {
        let id = self.resolve(query)?;
        self.write_local(&id, materialize::BodyEdit::Untouched, |doc, now| {
            note::mark_deleted(doc, now).map(|_| true)
        })?;
        Ok(id)
    }

    /// Brings back a deleted note ("undo delete"); the undo syncs like any edit.
    pub fn restore_note(&mut self, query: &str) -> Result<Uuid> {
        let id = self.resolve(query)?;
        self.write_local(&id, materialize::BodyEdit::Untouched, |doc, now| {
            note::set_deleted(doc, false, now).map(|_| true)
        })?;
        Ok(id)
    }

    /// One note (deleted notes are reported as missing). Reads the note's document.
    pub fn note(&self, query: &str) -> Result<Note> {
        let id = self.resolve(query)?;
        // A note listed from a summary gets its document built and stored on first opening.
        if lazy::is_listed(&self.conn, &id)? {
            let tx = store::write_tx(&self.conn)?;
            lazy::ensure_built(&tx, &self.key, &self.client, &id)?;
            tx.commit()?;
        }
        let doc = materialize::load_doc(&self.conn, &self.key, &id, &self.client)?;
        match doc.map(|mut d| (note::read(&d), d.get_heads())) {
            Some((f, doc_heads)) if !f.deleted => {
                let heads = doc_heads.iter().map(|h| h.to_string()).collect();
                Ok(Note {
                    id: id.to_string(),
                    title: f.title,
                    body: f.body,
                    created_at: f.created_at,
                    updated_at: f.updated_at,
                    heads,
                })
            }
            _ => Err(Error::NoSuchNote(query.to_string())),
        }
    }

    /// Seals the unsealed local changes into log entries of at most `max_changes` changes and
    /// about `max_bytes` of change data each. Returns how many entries were written.
    pub fn seal_pending(&mut self, max_changes: usize, max_bytes: usize) -> Result<u64> {
        let now = self.now();
        let tx = store::write_tx(&self.conn)?;
        let rows = store::log::unsealed(&tx)?;
        if rows.is_empty() {
            return Ok(0);
        }
        // Split into entries, then give each note's summary to the entry holding its last change
        // (the row describes the document with every change sealed here).
        let mut batches: Vec<Vec<NoteChange>> = vec![Vec::new()];
        let mut bytes = 0;
        for (_, note_id, change) in &rows {
            let note = Uuid::parse_str(note_id)
                .map_err(|_| Error::Invalid(format!("bad note id {note_id} in the local log")))?;
            let batch = batches.last_mut().expect("never empty");
            if !batch.is_empty()
                && (batch.len() >= max_changes.max(1) || bytes + change.len() > max_bytes)
            {
                batches.push(Vec::new());
                bytes = 0;
            }
            bytes += change.len();
            batches
                .last_mut()
                .expect("never empty")
                .push(NoteChange { note, change: change.clone() });
        }
        let mut last_batch: std::collections::HashMap<Uuid, usize> =
            std::collections::HashMap::new();
        for (i, b) in batches.iter().enumerate() {
            for c in b {
                last_batch.insert(c.note, i);
            }
        }
        let clock: Vec<(Uuid, u64)> =
            store::heads(&tx)?.into_iter().filter(|(c, _)| *c != self.client).collect();
        let mut entries = 0;
        for (i, changes) in batches.into_iter().enumerate() {
            let mut summaries = Vec::new();
            for c in &changes {
                if last_batch.get(&c.note) == Some(&i) {
                    last_batch.remove(&c.note); // one summary per note
                    summaries.extend(summary(&tx, &c.note)?);
                }
            }
            append_own_entry(
                &tx,
                self,
                &entry::Payload { changes, clock: clock.clone(), summaries },
                now,
            )?;
            entries += 1;
        }
        let last = rows.last().map(|r| r.0).unwrap_or(0);
        store::log::drop_unsealed(&tx, last)?;
        tx.commit()?;
        store::reclaim(&self.conn)?;
        Ok(entries)
    }

    /// Live notes whose title or first line contains `filter` (case-insensitive for ASCII),
    /// newest edit first, at most `limit`.
    pub fn find(&self, filter: &str, limit: usize) -> Result<Vec<NoteSummary>> {
        Ok(store::notes::matching(&self.conn, filter, limit)?
            .into_iter()
            .map(summary_row)
            .collect())
    }

    /// Live notes, newest edit first, optionally only the first `limit`.
    pub fn list(&self, limit: Option<usize>) -> Result<Vec<NoteSummary>> {
        Ok(store::notes::live(&self.conn, limit)?.into_iter().map(summary_row).collect())
    }

    /// Drops every derived table and rebuilds it from the log alone (sealed entries, then the
    /// unsealed tail). Returns entries replayed.
    pub fn rebuild(&mut self) -> Result<u64> {
        let tx = store::write_tx(&self.conn)?;
        store::clear_derived(&tx)?;
        self.docs.clear();
        let mut count = 0u64;
        let mut batch = Vec::new();
        let key = &self.key;
        let me = &self.client;
        store::log::for_each_entry(&tx, |c, i, data| {
            let plain = key.open(&data).map_err(|_| {
                Error::Crypto(format!(
                    "log entry {i} of {c} cannot be decrypted with this device's key"
                ))
            })?;
            let e = entry::decode(&plain, key)?;
            if let Ok(client) = Uuid::parse_str(c) {
                lazy::index_entry(&tx, &client, i, e.changes.iter().map(|c| c.note))?;
            }
            batch.extend(e.changes);
            count += 1;
            if batch.len() >= 2000 {
                materialize::apply(&tx, me, &batch)?;
                batch.clear();
            }
            Ok(())
        })?;
        // Then the unsealed tail of this device's log.
        for (_, note, change) in store::log::unsealed(&tx)? {
            if let Ok(note) = Uuid::parse_str(&note) {
                batch.push(NoteChange { note, change });
            }
        }
        materialize::apply(&tx, &self.client, &batch)?;
        // note_entries now indexes the whole log.
        store::set_meta(&tx, "note_index", "complete")?;
        tx.commit()?;
        self.rebuild_assets()?;
        Ok(count)
    }
}

/// A note's summary for an entry (FORMAT.md §4.2): its row as it stands, unless its document is
/// not built or has changes waiting for missing dependencies (then the row is not exact).
fn summary(tx: &Connection, id: &Uuid) -> Result<Option<entry::Summary>> {
    if store::notes::has_queued(tx, id)? {
        return Ok(None);
    }
    Ok(store::notes::built_row(tx, id)?.map(
        |(title, first_line, created_at, updated_at, deleted)| entry::Summary {
            note: *id,
            title,
            first_line,
            created_at,
            updated_at,
            deleted,
        },
    ))
}

/// A row of the notes list as the shells show it.
fn summary_row((id, title, first_line, updated_at): store::notes::ListRow) -> NoteSummary {
    NoteSummary { id, title, first_line, updated_at }
}

/// Builds, seals and appends this device's next entry inside `tx`.
pub(crate) fn append_own_entry(
    tx: &Connection,
    ws: &Workspace,
    payload: &entry::Payload,
    now: i64,
) -> Result<u64> {
    let (index, prev_hash) = match store::head(tx, &ws.client)? {
        Some((i, h)) => (i + 1, h),
        None => (0, ZERO_HASH),
    };
    let header = Header {
        workspace: ws.workspace,
        client: ws.client,
        index,
        timestamp: now,
        lamport: store::max_lamport(tx)? + 1,
        prev_hash,
    };
    let (bytes, hash) = entry::seal(&header, payload, &ws.key)?;
    let row = store::LogRow {
        client: ws.client,
        index,
        timestamp: now,
        lamport: header.lamport,
        hash,
        prev_hash,
    };
    store::insert_entry(tx, &row, &bytes, now)?;
    lazy::index_entry(tx, &ws.client, index, payload.changes.iter().map(|c| c.note))?;
    Ok(index)
}

/// Checks that a folder can become a new shared workspace (reachable and empty but for junk).
pub fn check_new_shared_folder(target: &dyn Transport) -> Result<()> {
    target.check()?;
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

/// Refuses passphrases too short to protect the workspace key.
pub fn check_passphrase(p: &str) -> Result<()> {
    if p.chars().count() < crypto::MIN_PASSPHRASE_LEN {
        return Err(Error::WeakPassphrase(crypto::MIN_PASSPHRASE_LEN));
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
        Ok(store::meta(&self.conn, "manifest")?.is_some() || !self.key.is_encrypted())
    }
}
