//! This device's replica of the workspace: its database (the log and everything derived from
//! it), its identity (clientId), the workspace key, the clock and the cache of loaded note
//! documents. Every layer above runs on a replica: local edits and sealing here, sync in
//! `crate::sync`, and `crate::Workspace` wraps one for the shells.

use std::path::{Path, PathBuf};

use age::secrecy::ExposeSecret;
use rusqlite::Connection;
use uuid::Uuid;

use crate::docs::DocError;
use crate::docs::{bulk, history, lazy, materialize, note, removals, texts};
use crate::error::{Error, Result};
use crate::format::crypto::WorkspaceKey;
use crate::format::entry::{self, DocKind, Header, NoteChange, ZERO_HASH};
use crate::format::epoch::{EpochId, EpochKey, Keyring, KeysSection};
use crate::format::manifest::Manifest;
use crate::format::signature::DeviceKey;
use crate::store;

/// File name of the database inside the data dir.
pub const DB_FILE: &str = "resnotes.db";
/// File name of the workspace key inside the data dir (readable only by the user).
pub const KEY_FILE: &str = "workspace.key";
/// File name of this device's signing key inside the data dir when no keyring answers
/// (readable only by the user; FORMAT.md §5.1).
pub(crate) const DEVICE_KEY_FILE: &str = "device.key";

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

/// One device's replica of a workspace, open on its data dir.
pub(crate) struct Replica {
    pub(crate) dir: PathBuf,
    pub(crate) conn: Connection,
    pub(crate) client: Uuid,
    pub(crate) workspace: Uuid,
    /// Every key of the workspace this device holds: epoch 0's (`index.json`), the key epochs it
    /// learnt (FORMAT.md §5.2) and its device key, which opens the epoch records wrapped to it.
    /// Shared with the threads that decode a pack's entries while a pull stores earlier ones.
    pub(crate) keys: std::sync::Arc<Keyring>,
    /// This device's own signing key: signs every entry it writes.
    pub(crate) device: DeviceKey,
    pub(crate) clock: Clock,
    /// Loaded documents; reads go through it too (a `RefCell`: reading a note takes `&self`).
    pub(crate) docs: std::cell::RefCell<materialize::DocCache>,
    /// What the changes of notes whose history was read did (see [`history::Tallies`]).
    pub(crate) tallies: std::cell::RefCell<history::Tallies>,
    /// The versions of notes read last (see [`history::Versions`]).
    pub(crate) versions: std::cell::RefCell<history::Versions>,
}

/// The keyring account of a device's workspace key: per device (its clientId), which survives
/// the data dir being moved or switched by a join.
fn key_account(client: &Uuid) -> String {
    format!("workspace-key:{client}")
}

/// Keeps the workspace key: in the OS keyring when one answers, else in `workspace.key`, a
/// file only the user can read. Done before the database exists, so a data dir never has a
/// database without its key.
fn keep_key(dir: &Path, client: &Uuid, secret: &str) -> Result<()> {
    if store::secrets::keyring_set(&key_account(client), secret) {
        return Ok(());
    }
    let path = dir.join(KEY_FILE);
    store::secrets::write_private_file(&path, &format!("{secret}\n"))
        .map_err(|e| Error::io(format!("cannot write {}", path.display()), e))
}

/// The workspace key's text: the file when there is one (older data dirs, devices without a
/// keyring), else the keyring.
fn read_key(dir: &Path, client: &Uuid) -> Option<String> {
    std::fs::read_to_string(dir.join(KEY_FILE))
        .ok()
        .or_else(|| store::secrets::keyring_get(&key_account(client)))
}

/// This device's signing key: the file when there is one, else the keyring; made and kept
/// (keyring, else `device.key`) when there is none yet and this device has signed nothing. A
/// device that signed entries and lost its key cannot go on writing as itself (its next entries
/// would be refused by every device), so that is an error that says what to do.
fn device_key(dir: &Path, client: &Uuid, conn: &Connection) -> Result<DeviceKey> {
    let account = format!("device-key:{client}");
    let path = dir.join(DEVICE_KEY_FILE);
    let text =
        std::fs::read_to_string(&path).ok().or_else(|| store::secrets::keyring_get(&account));
    // The key this device's newest entry is signed with: any other key would fork it.
    let signed = match store::head(conn, client)? {
        Some((i, _)) => store::link_before(conn, client, i + 1)?.signer,
        None => None,
    };
    if let Some(text) = text {
        let key = DeviceKey::parse(&text).map_err(|_| Error::DeviceKey(path.clone()))?;
        if signed.is_some_and(|s| s != key.public()) {
            return Err(Error::DeviceKey(path));
        }
        return Ok(key);
    }
    if signed.is_some() {
        return Err(Error::DeviceKey(path));
    }
    // Two processes opening a new data dir at once (the app and the CLI) must end with one
    // key: whichever was kept first is read back and used by both.
    let made = DeviceKey::generate();
    let kept = if store::secrets::keyring_set(&account, &made.to_text()) {
        store::secrets::keyring_get(&account)
    } else {
        match store::secrets::create_private_file(&path, &format!("{}\n", made.to_text())) {
            Ok(()) => None,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                std::fs::read_to_string(&path).ok()
            }
            Err(e) => return Err(Error::io(format!("cannot write {}", path.display()), e)),
        }
    };
    match kept {
        Some(text) => DeviceKey::parse(&text).map_err(|_| Error::DeviceKey(path)),
        None => Ok(made),
    }
}

/// Makes the data dir readable only by its user (0700) and the database and key files 0600,
/// whatever the umask was; an older version's data dir is repaired when it is opened (with
/// umask 022 another local user could read titles and first lines with `sqlite3`). SQLite
/// gives its `-wal` and `-shm` files the database file's mode. A file system that refuses
/// (a FAT stick) is logged, not fatal.
#[cfg(unix)]
fn keep_private(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let fix = |p: &Path, mode: u32| -> std::io::Result<()> {
        match std::fs::metadata(p) {
            Ok(m) if m.permissions().mode() & 0o777 != mode => {
                std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode))
            }
            Ok(_) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        }
    };
    let wal = format!("{DB_FILE}-wal");
    let shm = format!("{DB_FILE}-shm");
    let files = [DB_FILE, wal.as_str(), shm.as_str(), KEY_FILE, DEVICE_KEY_FILE];
    let result =
        fix(dir, 0o700).and_then(|_| files.iter().try_for_each(|f| fix(&dir.join(f), 0o600)));
    if let Err(e) = result {
        tracing::warn!("cannot make {} private to this user: {e}", dir.display());
    }
}

#[cfg(not(unix))]
fn keep_private(_dir: &Path) {}

impl Replica {
    /// Opens the replica in the data dir `dir`, or [`Error::NoWorkspace`].
    pub(crate) fn open(dir: &Path, clock: Clock) -> Result<Self> {
        let db = dir.join(DB_FILE);
        if !db.exists() {
            return Err(Error::NoWorkspace(dir.to_path_buf()));
        }
        let conn = store::open(&db)?;
        keep_private(dir);
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
                let text = read_key(dir, &client).ok_or_else(|| Error::KeyFile(path.clone()))?;
                WorkspaceKey::parse(&text, &workspace).map_err(|_| Error::KeyFile(path))?
            }
        };
        let device = device_key(dir, &client, &conn)?;
        Self::new(dir, conn, client, workspace, (key, device), clock)
    }

    fn new(
        dir: &Path,
        conn: Connection,
        client: Uuid,
        workspace: Uuid,
        (key, device): (WorkspaceKey, DeviceKey),
        clock: Clock,
    ) -> Result<Self> {
        let keys = std::sync::Arc::new(Keyring::new(workspace, key).with_device(&device));
        refresh_keys(&conn, &keys)?;
        Ok(Replica {
            dir: dir.to_path_buf(),
            conn,
            client,
            workspace,
            keys,
            device,
            clock,
            docs: Default::default(),
            tallies: Default::default(),
            versions: Default::default(),
        })
    }

    /// Creates the data dir of a new replica (database, key file); fails if one exists.
    pub(crate) fn create(
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
            keep_key(dir, &client, secret.expose_secret())?;
        }
        let conn = store::open(&dir.join(DB_FILE))?;
        keep_private(dir);
        store::set_meta(&conn, "client_id", &client.to_string())?;
        store::set_meta(&conn, "workspace_id", &workspace.to_string())?;
        store::set_meta(&conn, "encryption", if key.is_encrypted() { "age" } else { "none" })?;
        if let Some(m) = manifest {
            store::set_meta(&conn, "manifest", &String::from_utf8_lossy(&m.to_bytes()))?;
        }
        let device = device_key(dir, &client, &conn)?;
        Self::new(dir, conn, client, workspace, (key, device), clock)
    }

    /// The current time (ms) from this replica's clock.
    pub(crate) fn now(&self) -> i64 {
        (self.clock)()
    }

    /// Applies a local edit to one note in a single transaction: the doc change, the log's
    /// unsealed tail and the derived row are durable when this returns. The change is sealed
    /// into an entry (with others) by [`Replica::seal_pending`] before the next push.
    pub(crate) fn write_local(
        &mut self,
        id: &Uuid,
        edit: materialize::BodyEdit<'_>,
        mutate: impl FnOnce(&mut automerge::AutoCommit, i64) -> Result<bool>,
    ) -> Result<bool> {
        self.write_change(id, edit, |doc, now| {
            Ok(if mutate(doc, now)? { note::take_change(doc, now) } else { None })
        })
    }

    /// Like [`Replica::write_local`], for edits that make their change themselves and
    /// return its bytes (None: nothing changed).
    pub(crate) fn write_change(
        &mut self,
        id: &Uuid,
        edit: materialize::BodyEdit<'_>,
        mutate: impl FnOnce(&mut automerge::AutoCommit, i64) -> Result<Option<Vec<u8>>>,
    ) -> Result<bool> {
        let now = self.now();
        let tx = store::write_tx(&self.conn)?;
        let mut scratch = materialize::DocCache::default();
        let changed = Parts { keys: &self.keys, client: &self.client, docs: self.docs.get_mut() }
            .change(&tx, &mut scratch, id, edit, now, mutate)?;
        tx.commit()?;
        // Only a committed document goes back into the cache.
        self.docs.get_mut().absorb(scratch);
        Ok(changed)
    }

    /// [`Replica::write_local`] on each of `ids` in one transaction (one durable commit
    /// instead of one per note: emptying a trash of 1,000 notes); returns how many changed.
    pub(crate) fn write_local_each(
        &mut self,
        ids: &[Uuid],
        edit: materialize::BodyEdit<'_>,
        mutate: impl Fn(&Uuid, &mut automerge::AutoCommit, i64) -> Result<bool>,
    ) -> Result<usize> {
        let now = self.now();
        let tx = store::write_tx(&self.conn)?;
        let mut scratch = materialize::DocCache::default();
        let mut changed = 0;
        // Fields borrowed one by one, beside the transaction's borrow of the connection.
        let mut parts = Parts { keys: &self.keys, client: &self.client, docs: self.docs.get_mut() };
        for id in ids {
            let one = |doc: &mut automerge::AutoCommit, now| {
                Ok(if mutate(id, doc, now)? { note::take_change(doc, now) } else { None })
            };
            if parts.change(&tx, &mut scratch, id, edit, now, one)? {
                changed += 1;
            }
        }
        tx.commit()?;
        self.docs.get_mut().absorb(scratch);
        Ok(changed)
    }

    /// Makes new notes (`ids` must be new): `build(id, doc, now)` fills each new document
    /// but its body ([`note::create_head`]) and returns the body. Automerge's cost per
    /// character is most of an import's, so each note's change is written directly
    /// ([`bulk::first_change`]), on every core, a chunk of `chunk` notes at a time, while the
    /// chunk before is logged and stored (one transaction per chunk). `on_stored(n)` follows
    /// how many are stored, and stops it by returning false (the chunks stored stay). Returns
    /// how many were made.
    pub(crate) fn create_each<'a>(
        &mut self,
        ids: &[Uuid],
        chunk: usize,
        build: impl Fn(&Uuid, &mut automerge::AutoCommit, i64) -> Result<&'a str> + Sync,
        on_stored: &mut dyn FnMut(usize) -> bool,
    ) -> Result<usize> {
        let now = self.now();
        let client = self.client;
        let one = |id: &Uuid| -> Result<materialize::NewNote<'a>> {
            let mut head = note::new_doc(&client);
            let body = build(id, &mut head, now)?;
            let change = bulk::first_change(&mut head, body, now)?;
            // What a note is stored as is loaded when it is opened: a change loads ~2.5× slower
            // than a full save, which only a big note feels.
            let saved = if body.len() >= texts::KEEP_TEXT_CHARS {
                note::load(&change, &client)?.save()
            } else {
                change.clone()
            };
            Ok(materialize::NewNote { head, change, saved, body })
        };
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(8);
        // One chunk's documents, built on `threads` threads.
        let build_chunk = |part: &[Uuid]| -> Vec<Result<materialize::NewNote>> {
            let per = part.len().div_ceil(threads).max(1);
            std::thread::scope(|s| {
                let workers: Vec<_> = part
                    .chunks(per)
                    .map(|p| s.spawn(move || p.iter().map(one).collect::<Vec<_>>()))
                    .collect();
                workers.into_iter().flat_map(|w| w.join().unwrap_or_default()).collect()
            })
        };
        let chunks: Vec<&[Uuid]> = ids.chunks(chunk.max(1)).collect();
        let mut stored = 0;
        std::thread::scope(|s| -> Result<()> {
            let mut next = chunks.first().map(|c| s.spawn(move || build_chunk(c)));
            for (k, part) in chunks.iter().enumerate() {
                let built = next.take().map(|h| h.join().unwrap_or_default()).unwrap_or_default();
                next = chunks.get(k + 1).map(|c| s.spawn(move || build_chunk(c)));
                if built.len() != part.len() {
                    return Err(DocError::Automerge("building new notes failed".into()).into());
                }
                let tx = store::write_tx(&self.conn)?;
                for (id, new) in part.iter().zip(built) {
                    let new = new?;
                    store::log::push_unsealed(&tx, id, &new.change, now)?;
                    materialize::store_new(&tx, id, new)?;
                }
                tx.commit()?;
                stored += part.len();
                if !on_stored(stored) {
                    break;
                }
            }
            Ok(())
        })?;
        Ok(stored)
    }

    /// A note's document (built from the log and stored first if the note is only listed from
    /// a summary); `None` when there is no such note.
    pub(crate) fn note_doc<T>(
        &self,
        id: &Uuid,
        read: impl FnOnce(&mut automerge::AutoCommit, i64) -> T,
    ) -> Result<Option<T>> {
        if lazy::is_listed(&self.conn, id)? {
            let tx = store::write_tx(&self.conn)?;
            lazy::ensure_built(&tx, &self.keys, &self.client, id)?;
            tx.commit()?;
        }
        // Through the cache: loading a saved document costs about as much as building it
        // (~1.5 µs per character), so a 1 MB note must not be loaded again on every read.
        let mut cache = self.docs.borrow_mut();
        materialize::read_cached(&self.conn, &self.keys, &mut cache, id, &self.client, read)
    }

    /// Keeps the texts of the loaded big notes that were typed into since their text was kept
    /// ([`texts::keep_loaded`]); the app calls it when the user leaves a note.
    pub(crate) fn keep_texts(&mut self) -> Result<usize> {
        let tx = store::write_tx(&self.conn)?;
        let n = texts::keep_loaded(&tx, self.docs.get_mut())?;
        tx.commit()?;
        Ok(n)
    }

    /// Seals the unsealed local changes into log entries of at most `max_changes` changes and
    /// about `max_bytes` of change data each. Returns how many entries were written.
    pub(crate) fn seal_pending(&mut self, max_changes: usize, max_bytes: usize) -> Result<u64> {
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
            let note = Uuid::parse_str(note_id).map_err(|_| {
                DocError::Damaged(format!(
                    "the local log names a note {note_id} that is not a note id"
                ))
            })?;
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
                    summaries.extend(summary(&tx, &c.note, &self.client)?);
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

    /// Keeps the keys an epoch record carries (FORMAT.md §5.2), for this session and in the
    /// database: see [`keep_epoch`].
    pub(crate) fn learn_epoch(
        &mut self,
        started: EpochId,
        lamport: u64,
        earlier: Option<i64>,
        keys: &KeysSection,
    ) -> Result<bool> {
        keep_epoch(&self.conn, &self.keys, started, lamport, earlier, keys)
    }

    /// Derives again which devices are removed ([`removals::refresh`]) and drops the entries of
    /// removed devices past their cutoff that this device took before it knew (every reader
    /// refuses them, FORMAT.md §5.2); the notes are then rebuilt from the rest of the log.
    /// Returns each device whose entries were dropped, and why.
    /// The drop and the rebuild are one transaction: a crash leaves both or neither.
    pub(crate) fn refresh_removed(&mut self) -> Result<Vec<removals::Dropped>> {
        let tx = store::write_tx(&self.conn)?;
        // Derived again, and dropped in the same transaction: a record a look past a cutoff kept
        // is taken into account (FORMAT.md §5.2).
        store::delete_meta(&tx, removals::STALE)?;
        let dropped = removals::refresh(&tx, &self.keys, &self.client)?;
        for d in &dropped {
            store::log::drop_after(&tx, &d.client, d.why.cutoff)?;
        }
        if !dropped.is_empty() {
            rebuild_in(&tx, self.docs.get_mut(), &self.keys, &self.client)?;
        }
        tx.commit()?;
        Ok(dropped)
    }

    /// Drops every table derived from the log and rebuilds the notes from the log alone
    /// (sealed entries, then the unsealed tail). Returns entries replayed. (Attachments are
    /// rebuilt apart: `rebuild_assets`.)
    pub(crate) fn rebuild_notes(&mut self) -> Result<u64> {
        let tx = store::write_tx(&self.conn)?;
        let count = rebuild_in(&tx, self.docs.get_mut(), &self.keys, &self.client)?;
        tx.commit()?;
        Ok(count)
    }
}

/// [`Replica::rebuild_notes`] in the transaction `tx` (the caller commits).
fn rebuild_in(
    tx: &Connection,
    docs: &mut materialize::DocCache,
    keys: &Keyring,
    me: &Uuid,
) -> Result<u64> {
    store::clear_derived(tx)?;
    docs.clear();
    let mut count = 0u64;
    let mut batch = Vec::new();
    refresh_keys(tx, keys)?;
    let key = keys;
    store::log::for_each_entry(tx, |c, i, data| -> Result<()> {
        let plain = key.open(&data).map_err(|_| {
            DocError::Damaged(format!(
                "log entry {i} of {c} cannot be decrypted with this device's key"
            ))
        })?;
        let e = entry::decode_held(&plain, key)?;
        if let Ok(client) = Uuid::parse_str(c) {
            store::notes::index_entry(tx, &client, i, e.changes.iter().map(|c| c.note))?;
        }
        batch.extend(e.changes);
        count += 1;
        if batch.len() >= 2000 {
            materialize::apply(tx, me, &batch)?;
            batch.clear();
        }
        Ok(())
    })?;
    // Then the unsealed tail of this device's log.
    for (_, note, change) in store::log::unsealed(tx)? {
        if let Ok(note) = Uuid::parse_str(&note) {
            batch.push(NoteChange { note, change });
        }
    }
    materialize::apply(tx, me, &batch)?;
    // note_entries now indexes the whole log.
    store::set_meta(tx, "note_index", "complete")?;
    Ok(count)
}

/// A note's summary for an entry (FORMAT.md §4.2): its row as it stands, unless its document is
/// not built or has changes waiting for missing dependencies (then the row is not exact). A
/// device document has a summary only in its own device's entries (readers refuse others).
fn summary(tx: &Connection, id: &Uuid, me: &Uuid) -> Result<Option<entry::Summary>> {
    if store::notes::has_queued(tx, id)? {
        return Ok(None);
    }
    let row = store::notes::built_row(tx, id)?
        .filter(|r| r.kind != DocKind::Device || (id == me && r.notebook.is_none()));
    Ok(row.map(|r| entry::Summary {
        note: *id,
        title: r.title,
        first_line: r.first_line,
        created_at: r.created_at,
        updated_at: r.updated_at,
        deleted: r.deleted,
        pinned: r.pinned,
        purged: r.purged,
        tags: r.tags,
        kind: r.kind,
        notebook: r.notebook,
    }))
}

/// Seals an entry in the epoch this device writes in (FORMAT.md §5.2): version 6 under epoch 0,
/// as before any epoch started (so devices of the previous version keep reading it); version 7
/// under a later epoch, encrypted to and MACed with that epoch's key.
pub(crate) fn seal_in_newest_epoch(
    tx: &Connection,
    keys: &Keyring,
    header: &Header,
    payload: &entry::Payload,
    device: &DeviceKey,
) -> Result<Sealed> {
    let epoch = store::epochs::newest(tx)?;
    let later = if epoch.is_zero() { None } else { Some(epoch_key(tx, keys, &epoch)?) };
    let (plain, hash) = match &later {
        None => entry::encode(header, payload, keys.epoch0(), device),
        Some(key) => entry::encode_in_epoch(header, epoch, payload, key, device),
    };
    let key = later.as_deref().unwrap_or(keys.epoch0());
    let (bytes, file_key) = key.seal_keeping_file_key(&plain)?;
    Ok(Sealed { bytes, hash, file_key: file_key.map(|k| (k, epoch)) })
}

/// An entry this device sealed: its file, its hash, and its age file key with the key epoch it
/// is of (FORMAT.md §11; `None` in a plaintext workspace).
pub(crate) struct Sealed {
    pub(crate) bytes: Vec<u8>,
    pub(crate) hash: [u8; 32],
    pub(crate) file_key: Option<(crate::format::crypto::FileKey, EpochId)>,
}

/// Keeps the keys an authenticated epoch record carries (FORMAT.md §5.2), in `conn` (a
/// transaction, when the record is written in it) and in `keys`: the key of the epoch it starts
/// (`started`, the record's own place; its Lamport clock `lamport`), held from now on;
/// the keys it names for earlier epochs only as candidates, each held once that epoch's own
/// record opens with it (a record's writer could name any key for an epoch not its own). True
/// when the started epoch's key is new here. Its removals are kept in their place in the order
/// ([`removal_order`]; `earlier`: the `lead` of its writer's earlier entries read but not yet
/// in `conn`).
pub(crate) fn keep_epoch(
    conn: &Connection,
    keys: &Keyring,
    started: EpochId,
    lamport: u64,
    earlier: Option<i64>,
    section: &KeysSection,
) -> Result<bool> {
    let new = store::epochs::learn(conn, &started, &section.identity, lamport)?;
    keys.learn(started, &section.identity);
    let order = removal_order(conn, &started, lamport, earlier)?;
    store::removals::keep(conn, &started, order, &section.members, &section.removals)?;
    for (id, secret) in &section.earlier {
        if !id.is_zero() && keys.key(id).is_none() {
            store::epochs::keep_candidate(conn, id, secret)?;
            keys.learn_candidate(secret);
        }
    }
    if new {
        // What waited for a key may open now; the next pull says again if it does not.
        store::delete_meta(conn, store::epochs::MISSING_KEY)?;
    }
    Ok(new)
}

/// A record's place in the order removals are taken ([`removals::place`]), from its writer's
/// entries before it held in `conn` and `earlier` (the `lead` of those read with it, not stored
/// yet).
pub(crate) fn removal_order(
    conn: &Connection,
    record: &EpochId,
    lamport: u64,
    earlier: Option<i64>,
) -> Result<u64> {
    let held = store::log::lead_before(conn, &record.client, record.index)?;
    Ok(removals::place(record.index, lamport, held.max(earlier)))
}

/// Adds to `keys` the key epochs the database holds that it lacks (learnt by another connection
/// or process on this data dir); true when there were any.
pub(crate) fn refresh_keys(conn: &Connection, keys: &Keyring) -> Result<bool> {
    let mut new = false;
    for (id, secret) in store::epochs::all(conn)? {
        new |= keys.learn(id, &secret);
    }
    for (_, secret) in store::epochs::candidates(conn)? {
        keys.learn_candidate(&secret);
    }
    Ok(new)
}

/// The key of an epoch this device holds (looked for in the database when this keyring lacks
/// it), or why not in a sentence.
pub(crate) fn epoch_key(conn: &Connection, keys: &Keyring, epoch: &EpochId) -> Result<EpochKey> {
    if let Some(k) = keys.key(epoch) {
        return Ok(k);
    }
    refresh_keys(conn, keys)?;
    keys.key(epoch).ok_or_else(|| {
        DocError::Damaged(format!("this device lost the key of {epoch}; join the workspace again"))
            .into()
    })
}

/// Builds, seals and appends this device's next entry inside `tx`.
pub(crate) fn append_own_entry(
    tx: &Connection,
    ws: &Replica,
    payload: &entry::Payload,
    now: i64,
) -> Result<u64> {
    let header = next_header(tx, ws, now)?;
    let sealed = seal_in_newest_epoch(tx, &ws.keys, &header, payload, &ws.device)?;
    keep_own_entry(tx, ws, &header, &sealed.bytes, sealed.hash)?;
    if let Some((key, epoch)) = &sealed.file_key {
        store::packs::keep_file_key(tx, &ws.client, header.index, key, epoch)?;
    }
    let index = header.index;
    store::notes::index_entry(tx, &ws.client, index, payload.changes.iter().map(|c| c.note))?;
    Ok(index)
}

/// The header of this device's next entry, written at `now`.
pub(crate) fn next_header(tx: &Connection, ws: &Replica, now: i64) -> Result<Header> {
    let (index, prev_hash) = match store::head(tx, &ws.client)? {
        Some((i, h)) => (i + 1, h),
        None => (0, ZERO_HASH),
    };
    // Never sign with another key than this device's chain already names: every device would
    // refuse this entry and all after it (another process kept another key; FORMAT.md §5.1).
    let chain = store::link_before(tx, &ws.client, index)?.signer;
    if chain.is_some_and(|k| k != ws.device.public()) {
        return Err(Error::DeviceKey(ws.dir.join(DEVICE_KEY_FILE)));
    }
    Ok(Header {
        workspace: ws.workspace,
        client: ws.client,
        index,
        timestamp: now,
        lamport: store::max_lamport(tx)? + 1,
        prev_hash,
    })
}

/// Appends this device's sealed entry (`bytes`, whose hash is `hash`) to the log.
pub(crate) fn keep_own_entry(
    tx: &Connection,
    ws: &Replica,
    header: &Header,
    bytes: &[u8],
    hash: [u8; 32],
) -> Result<()> {
    let row = store::LogRow {
        client: ws.client,
        index: header.index,
        timestamp: header.timestamp,
        lamport: header.lamport,
        hash,
        prev_hash: header.prev_hash,
        signer: Some(ws.device.public()),
    };
    Ok(store::insert_entry(tx, &row, bytes, header.timestamp)?)
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn the_data_dir_is_private_to_its_user_and_an_old_one_is_repaired() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("data");
        let ws = Uuid::new_v4();
        let r = Replica::create(
            &dir,
            Uuid::new_v4(),
            ws,
            WorkspaceKey::generate(&ws),
            None,
            system_clock(),
        )
        .unwrap();
        store::set_meta(&r.conn, "probe", "x").unwrap(); // the WAL exists now
        assert_eq!(mode(&dir), 0o700);
        for f in [DB_FILE, KEY_FILE] {
            assert_eq!(mode(&dir.join(f)), 0o600, "{f}");
        }
        assert_eq!(
            mode(&dir.join(format!("{DB_FILE}-wal"))),
            0o600,
            "the WAL follows the database"
        );
        drop(r);
        // A data dir as an older version left it under umask 022.
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(dir.join(DB_FILE), std::fs::Permissions::from_mode(0o644))
            .unwrap();
        std::fs::set_permissions(dir.join(KEY_FILE), std::fs::Permissions::from_mode(0o644))
            .unwrap();
        drop(Replica::open(&dir, system_clock()).unwrap());
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join(DB_FILE)), 0o600);
        assert_eq!(mode(&dir.join(KEY_FILE)), 0o600);
    }
}

/// The parts of a [`Replica`] one note's edit uses inside a write transaction.
struct Parts<'a> {
    keys: &'a Keyring,
    client: &'a Uuid,
    docs: &'a mut materialize::DocCache,
}

impl Parts<'_> {
    /// One note's edit inside the write transaction `tx`: its document, built first if it was
    /// only listed, mutated, the change logged and the note stored (into `scratch`, which the
    /// caller puts in the cache once `tx` commits). On any failure the mutated document is
    /// dropped, not cached.
    fn change(
        &mut self,
        tx: &rusqlite::Transaction<'_>,
        scratch: &mut materialize::DocCache,
        id: &Uuid,
        edit: materialize::BodyEdit<'_>,
        now: i64,
        mutate: impl FnOnce(&mut automerge::AutoCommit, i64) -> Result<Option<Vec<u8>>>,
    ) -> Result<bool> {
        lazy::ensure_built(tx, self.keys, self.client, id)?;
        let mut loaded = materialize::load(tx, self.docs, id, self.client)?;
        let Some(change) = mutate(&mut loaded.doc, now)? else {
            drop(loaded); // mutated without a change: reload next time
            return Ok(false);
        };
        store::log::push_unsealed(tx, id, &change, now)?;
        materialize::store(
            tx,
            scratch,
            id,
            loaded,
            &change,
            edit,
            materialize::Indexing::BeforeNextSearch,
        )?;
        Ok(true)
    }
}

#[cfg(test)]
mod epoch_tests {
    use super::*;
    use crate::format::epoch::{EpochSecret, Member};

    /// A record names keys for earlier epochs; only the epoch it starts is held from it. A key
    /// it names for another epoch could be anyone's: it is a candidate until that epoch's own
    /// record confirms it, and it is never written with.
    #[test]
    fn a_record_holds_the_key_it_starts_and_only_proposes_the_others() {
        let conn = store::open_in_memory().unwrap();
        let ws = Uuid::new_v4();
        let keys = Keyring::new(ws, WorkspaceKey::generate(&ws));
        let writer = Uuid::from_u128(1);
        let (started, planted) = (
            EpochId { client: writer, index: 4 },
            EpochId { client: Uuid::from_u128(2), index: 9 },
        );
        let section = KeysSection {
            identity: EpochSecret::generate(),
            earlier: vec![
                (planted, EpochSecret::generate()),
                (EpochId::ZERO, EpochSecret::of(keys.epoch0()).unwrap()),
            ],
            members: vec![Member { client: writer, key: [7; 32] }],
            removals: vec![],
        };
        assert!(keep_epoch(&conn, &keys, started, 30, None, &section).unwrap());
        assert!(keys.key(&started).is_some());
        assert!(keys.key(&planted).is_none(), "a key named for another epoch is not held");
        assert_eq!(store::epochs::newest(&conn).unwrap(), started);
        assert_eq!(store::epochs::candidates(&conn).unwrap().len(), 1);
        // Another connection on the same data dir holds what this one kept.
        let other = Keyring::new(ws, keys.epoch0().clone());
        assert!(refresh_keys(&conn, &other).unwrap());
        assert!(other.key(&started).is_some() && other.key(&planted).is_none());
    }
}
