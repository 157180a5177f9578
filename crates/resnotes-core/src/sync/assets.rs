//! Attachments of notes: adding a file as this device's next asset (sealed, streamed, stored
//! once per content), exporting one after checking its hash, fetching one on demand from the
//! targets, and the asset sync cycle (a pure plan of uploads and downloads, then its transfers),
//! which runs apart from change sync so a large file never delays notes.

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use rusqlite::Connection;
use serde::Serialize;
use sha2::{Digest, Sha256};
use ts_rs::TS;
use uuid::Uuid;

use crate::docs::Replica;
use crate::docs::{lazy, materialize, note};
use crate::error::{Error, Result};
use crate::format::asset::{self, AssetFailure, AssetHeader, AssetId, AssetRef};
use crate::format::path::{self, Kind};
use crate::store;
use crate::sync::{SyncEvent, TargetReport};
use crate::transport::Target;
use crate::transport::{Transport, TransportError};

/// How long a plaintext copy made for opening an attachment is kept (README, "Attachments").
const OPENED_KEPT: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// Removes what `dir` holds (files or folders) that was last changed over `max_age` ago.
fn sweep_older(dir: &Path, max_age: std::time::Duration) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > max_age);
        if !old {
            continue;
        }
        let p = entry.path();
        let gone = if p.is_dir() { fs::remove_dir_all(&p) } else { fs::remove_file(&p) };
        if let Err(e) = gone {
            tracing::warn!("cannot remove the temporary copy {}: {e}", p.display());
        }
    }
}

/// Largest attachment accepted unless the user changes it (`max_attachment_bytes`).
pub const DEFAULT_MAX_BYTES: u64 = 200 << 20;

/// The largest attachment the preview shows inline (held in memory while it is served); larger
/// ones are opened or saved, which stream to a file.
pub const PREVIEW_MAX_BYTES: u64 = 32 << 20;
const META_MAX: &str = "max_attachment_bytes";
/// The next asset index of this device (a high-water mark kept across rebuilds).
const META_NEXT: &str = "next_asset_index";

/// Direction of an attachment transfer.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq, TS)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// To a target.
    Upload,
    /// From a target.
    Download,
}

/// One step of an asset sync cycle with a target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AssetOp {
    /// Write a locally held asset the target is not known to have.
    Push(AssetId),
    /// Download an asset a note refers to and this device lacks.
    Pull(AssetId),
}

/// The asset plan for one target, pure: every locally held asset not known to be there is
/// pushed (any client's, verbatim: devices relay attachments like entries); when the target
/// keeps attachments offline, every asset that notes refer to and this device lacks is pulled.
/// Pushes come first (they protect the only copy), each list in asset order.
pub(crate) fn plan(
    local: &BTreeSet<AssetId>,
    referenced: &BTreeSet<AssetId>,
    present: &BTreeSet<AssetId>,
    keep_offline: bool,
) -> Vec<AssetOp> {
    let mut ops: Vec<AssetOp> = local.difference(present).copied().map(AssetOp::Push).collect();
    if keep_offline {
        ops.extend(referenced.difference(local).copied().map(AssetOp::Pull));
    }
    ops
}

/// An attachment as `resnotes asset list` and the app show it.
#[derive(Clone, Debug, Serialize, PartialEq, Eq, TS)]
pub struct AssetInfo {
    /// The `asset:///` URL.
    pub url: String,
    /// File name.
    pub name: String,
    /// MIME type.
    pub mime: String,
    /// Content bytes.
    #[ts(type = "number")]
    pub size: u64,
    /// Whether this device holds it (verified when it arrived).
    pub local: bool,
    /// Notes (not deleted) that link to it.
    #[ts(type = "number")]
    pub notes: u64,
    /// Per target: `synced` (known to be there), `pending` (to upload) or `unknown`.
    pub targets: Vec<AssetTarget>,
}

/// An attachment's state on one target.
#[derive(Clone, Debug, Serialize, PartialEq, Eq, TS)]
pub struct AssetTarget {
    /// Target id.
    pub target: String,
    /// `synced`, `pending` or `unknown`.
    pub state: String,
}

/// A hashing pass-through reader: proves the bytes sealed are the bytes hashed before.
struct Hashing<R> {
    inner: R,
    hash: Sha256,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }
}

/// The index `client`'s next attachment takes. Never one used before, even one whose row or
/// file is gone: other devices may hold links to it (`next_asset_index` only grows).
fn next_index(conn: &Connection, client: &Uuid) -> Result<u64> {
    let from_rows = store::assets::next_index(conn, client)?;
    let from_meta: u64 = store::meta(conn, META_NEXT)?.and_then(|v| v.parse().ok()).unwrap_or(0);
    Ok(from_rows.max(from_meta))
}

fn io_err(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
    let context = context.into();
    move |source| {
        if matches!(
            source.kind(),
            std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
        ) {
            Error::DiskFull
        } else {
            Error::Io { context, source }
        }
    }
}

/// A temp file that is removed unless kept.
pub(crate) struct Temp(Option<PathBuf>);

impl Temp {
    /// A new temp file's name in `dir` (created if missing); the file itself is not made.
    pub(crate) fn new(dir: &Path) -> Result<Self> {
        fs::create_dir_all(dir).map_err(io_err(format!("cannot create {}", dir.display())))?;
        Ok(Temp(Some(dir.join(format!(".{}.tmp", Uuid::new_v4().simple())))))
    }
    /// Where the temp file is.
    pub(crate) fn path(&self) -> &Path {
        self.0.as_deref().expect("not kept yet")
    }
    /// Creates the file and lets `f` write it through a buffer; `what` names it in errors.
    fn write_with(
        &self,
        what: &str,
        f: impl FnOnce(&mut BufWriter<File>) -> Result<()>,
    ) -> Result<()> {
        let mut w = BufWriter::new(
            File::create(self.path()).map_err(io_err(format!("cannot write {what}")))?,
        );
        f(&mut w)?;
        w.into_inner().map_err(|e| io_err(format!("cannot write {what}"))(e.into_error()))?;
        Ok(())
    }
    /// Moves the file to `dest` (fsynced first) and stops removing it.
    fn keep_as(mut self, dest: &Path) -> Result<()> {
        let p = self.0.take().expect("not kept yet");
        let done = File::open(&p).and_then(|f| f.sync_all()).and_then(|_| fs::rename(&p, dest));
        if let Err(e) = done {
            let _ = fs::remove_file(&p);
            return Err(io_err(format!("cannot save {}", dest.display()))(e));
        }
        if let Some(d) = dest.parent() {
            if let Ok(d) = File::open(d) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    }
}

impl Drop for Temp {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = fs::remove_file(p);
        }
    }
}

fn human(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 => format!("{:.1} GiB", b as f64 / (1u64 << 30) as f64),
        b if b >= 1 << 20 => format!("{:.1} MiB", b as f64 / (1u64 << 20) as f64),
        b if b >= 1 << 10 => format!("{:.1} KiB", b as f64 / 1024.0),
        b => format!("{b} bytes"),
    }
}

impl Replica {
    /// Folder holding this device's sealed asset files (`<client>/<index>.age`).
    pub(crate) fn assets_dir(&self) -> PathBuf {
        self.dir.join("assets")
    }

    /// The local sealed file of an asset (which may not exist).
    pub(crate) fn asset_file(&self, id: &AssetId) -> PathBuf {
        self.assets_dir().join(id.client.hyphenated().to_string()).join(format!(
            "{}{}",
            id.index,
            self.keys.epoch0().extension()
        ))
    }

    /// `maxEntriesPerFolder` of this workspace's targets (from its `index.json`).
    fn remote_per_folder(&self) -> Result<u64> {
        Ok(match store::meta(&self.conn, "manifest")? {
            Some(text) => {
                crate::format::manifest::Manifest::parse(text.as_bytes(), "this device")?
                    .max_entries_per_folder
            }
            None => path::MAX_ENTRIES_PER_FOLDER,
        })
    }

    /// The asset's path on a target (FORMAT.md §10).
    pub(crate) fn asset_remote_path(&self, id: &AssetId, per_folder: u64) -> String {
        path::entry_path(
            &id.client,
            Kind::Assets,
            id.index,
            per_folder,
            self.keys.epoch0().extension(),
        )
    }

    /// The largest attachment this device accepts.
    pub(crate) fn max_attachment_bytes(&self) -> Result<u64> {
        Ok(store::meta(&self.conn, META_MAX)?
            .and_then(|v| v.parse().ok())
            .unwrap_or(DEFAULT_MAX_BYTES))
    }

    /// Changes the largest attachment accepted (at least 1 byte).
    pub(crate) fn set_max_attachment_bytes(&self, bytes: u64) -> Result<()> {
        if bytes == 0 {
            return Err(Error::Invalid("the attachment size limit must be at least 1 byte".into()));
        }
        Ok(store::set_meta(&self.conn, META_MAX, &bytes.to_string())?)
    }

    /// Turns "keep all attachments offline" on or off for a target.
    pub(crate) fn set_keep_attachments(&self, target: &str, on: bool) -> Result<Target> {
        let t = self.find_target(target)?;
        store::targets::set_keep_assets(&self.conn, &t.id, on)?;
        self.find_target(&t.id)
    }

    /// True when this device holds the asset's sealed file.
    pub(crate) fn has_asset(&self, id: &AssetId) -> Result<bool> {
        Ok(store::assets::complete(&self.conn, id)? == Some(true) && self.asset_file(id).exists())
    }

    /// Stores the file at `src` as this device's next asset and returns its reference. The
    /// file is hashed, then sealed while streaming (bounded memory) to a temp file that is
    /// moved into place. Content already stored (same hash and size, here or referenced by a
    /// note) is not stored again: its existing reference is returned.
    pub(crate) fn add_asset(
        &mut self,
        src: &Path,
        name: &str,
        mime: Option<&str>,
    ) -> Result<AssetRef> {
        let meta = fs::metadata(src).map_err(io_err(format!("cannot read {}", src.display())))?;
        if !meta.is_file() {
            return Err(Error::Invalid(format!("{} is not a file", src.display())));
        }
        let what = src.display().to_string();
        let open = || -> Result<Box<dyn Read + '_>> {
            Ok(Box::new(BufReader::new(
                File::open(src).map_err(io_err(format!("cannot read {}", src.display())))?,
            )))
        };
        self.add_asset_from(&open, meta.len(), &what, name, mime)
    }

    /// Like [`Workspace::add_asset`] for content already in memory (a pasted image).
    pub(crate) fn add_asset_bytes(
        &mut self,
        bytes: &[u8],
        name: &str,
        mime: Option<&str>,
    ) -> Result<AssetRef> {
        let open = || -> Result<Box<dyn Read + '_>> { Ok(Box::new(bytes)) };
        self.add_asset_from(&open, bytes.len() as u64, name, name, mime)
    }

    fn add_asset_from<'a>(
        &mut self,
        open_src: &dyn Fn() -> Result<Box<dyn Read + 'a>>,
        len: u64,
        what: &str,
        name: &str,
        mime: Option<&str>,
    ) -> Result<AssetRef> {
        let name = name.trim();
        if name.is_empty() {
            return Err(Error::Invalid("an attachment needs a file name".into()));
        }
        let max = self.max_attachment_bytes()?;
        if len > max {
            return Err(Error::Invalid(format!(
                "{name} is {}, more than the attachment limit of {}; raise the limit with `resnotes config max-attachment-mib N` if you need to",
                human(len),
                human(max)
            )));
        }
        let (hash, size) =
            asset::hash_reader(open_src()?).map_err(io_err(format!("cannot read {what}")))?;
        if let Some(existing) = self.find_by_hash(&hash, size)? {
            return Ok(existing);
        }
        let mime = mime
            .filter(|m| !m.trim().is_empty())
            .map(str::to_string)
            .unwrap_or_else(|| asset::mime_for(name));
        let now = self.now();
        // Reserve the index first, so two processes on this data dir never seal the same one.
        let index = {
            let tx = store::write_tx(&self.conn)?;
            let next = next_index(&tx, &self.client)?;
            store::set_meta(&tx, META_NEXT, &(next + 1).to_string())?;
            let reserved = AssetRef {
                id: AssetId { client: self.client, index: next },
                name: name.to_string(),
                size,
                mime: mime.clone(),
                hash,
            };
            store::assets::put(&tx, &reserved, false, now)?;
            tx.commit()?;
            next
        };
        let id = AssetId { client: self.client, index };
        // Sealed with the key entries are written in (FORMAT.md §10.2): after a removal or a
        // passphrase change, what is attached is not readable with the old key.
        let epoch = store::epochs::newest(&self.conn)?;
        let key = crate::docs::replica::epoch_key(&self.conn, &self.keys, &epoch)?;
        let header =
            AssetHeader { workspace: self.workspace, id, timestamp: now, size, hash, epoch };
        let dest = self.asset_file(&id);
        let dir = dest.parent().expect("asset files have a folder").to_path_buf();
        let tmp = Temp::new(&dir)?;
        let mut reader = Hashing { inner: open_src()?, hash: Sha256::new() };
        tmp.write_with("the attachment", |w| {
            asset::seal(&key, &header, &mut reader, w)
                .map_err(io_err(format!("cannot attach {what}")))
        })?;
        let sealed: [u8; 32] = reader.hash.finalize().into();
        if sealed != hash {
            return Err(Error::Invalid(format!(
                "{what} changed while it was being attached; try again"
            )));
        }
        tmp.keep_as(&dest)?;
        store::assets::mark_complete(&self.conn, &id)?;
        Ok(AssetRef { id, name: name.to_string(), size, mime, hash })
    }

    /// The index this device's next attachment will take.
    pub(crate) fn next_asset_index(&self) -> Result<u64> {
        next_index(&self.conn, &self.client)
    }

    /// Removes the attachments among `among` that this device stored at index `from` or later
    /// and that no note links to and no target holds: what a stopped import stored for notes it
    /// did not write, which would otherwise be sent to every device. (An attachment added
    /// meanwhile by an edit is not among them; their indexes are never used again.) Returns
    /// how many were removed.
    pub(crate) fn drop_unlinked_assets(&self, from: u64, among: &[AssetId]) -> Result<usize> {
        let candidates: Vec<&AssetId> =
            among.iter().filter(|id| id.client == self.client && id.index >= from).collect();
        if candidates.is_empty() {
            return Ok(0);
        }
        self.scan_refs()?;
        let mut dropped = 0;
        for id in candidates {
            let tx = store::write_tx(&self.conn)?;
            // Checked in the transaction that removes it: a note saved since may link it.
            if store::assets::link_to(&tx, id)?.is_some()
                || store::assets::present_anywhere(&tx, id)?
            {
                continue;
            }
            store::assets::remove(&tx, id)?;
            tx.commit()?;
            // A file left by a crash here comes back as an attachment on a rebuild: harmless.
            let _ = fs::remove_file(self.asset_file(id));
            dropped += 1;
        }
        Ok(dropped)
    }

    fn find_by_hash(&self, hash: &[u8; 32], size: u64) -> Result<Option<AssetRef>> {
        if let Some((id, name, mime)) = store::assets::by_content(&self.conn, hash, size)? {
            return Ok(Some(AssetRef { id, name, size, mime, hash: *hash }));
        }
        self.scan_refs()?;
        let url = store::assets::link_with_hash(&self.conn, hash)?;
        Ok(url.and_then(|u| AssetRef::parse(&u).ok()).filter(|r| r.size == size))
    }

    /// Refreshes the derived `note_assets` table for notes edited since it was last read.
    pub(crate) fn scan_refs(&self) -> Result<()> {
        // Listed notes (documents not built) come first, in the order of their summaries'
        // entries, so reading their changes decodes each entry about once.
        let stale = store::assets::unscanned(&self.conn)?;
        // Documents are read outside any transaction (WAL readers never block writers); only
        // the short writes of each chunk take the write lock, so a first scan of a large
        // workspace never makes an edit in another process wait. A note edited meanwhile keeps
        // the older rev here and is read again next time.
        let mut entries = lazy::Entries::default();
        let mut links = lazy::LinkScan::default();
        for chunk in stale.chunks(50) {
            let mut found = Vec::with_capacity(chunk.len());
            for (id, rev) in chunk {
                let Ok(uuid) = Uuid::parse_str(id) else { continue };
                // A listed note is read from the log, and only when a change of it may hold a link.
                let refs = if lazy::is_listed(&self.conn, &uuid)? {
                    if links.may_link(&self.conn, &self.keys, &uuid)? {
                        asset::find_refs(&note::body(&lazy::doc_in_memory(
                            &self.conn,
                            &self.keys,
                            &mut entries,
                            &uuid,
                            &self.client,
                        )?))
                    } else {
                        vec![]
                    }
                } else {
                    match materialize::load_doc(&self.conn, &self.keys, &uuid, &self.client)? {
                        Some(doc) => asset::find_refs(&note::body(&doc)),
                        None => vec![],
                    }
                };
                found.push((id, rev, refs));
            }
            let tx = store::write_tx(&self.conn)?;
            for (id, rev, refs) in found {
                store::assets::set_links(&tx, id, *rev, &refs)?;
            }
            tx.commit()?;
        }
        Ok(())
    }

    /// Every attachment this device holds or a note links to, with where it is.
    pub(crate) fn assets(&self) -> Result<Vec<AssetInfo>> {
        self.scan_refs()?;
        let targets = self.targets()?;
        let mut refs = store::assets::complete_rows(&self.conn)?;
        for u in store::assets::all_links(&self.conn)? {
            if let Ok(r) = AssetRef::parse(&u) {
                if !refs.iter().any(|o| o.id == r.id) {
                    refs.push(r);
                }
            }
        }
        let present: Vec<BTreeSet<AssetId>> = targets
            .iter()
            .map(|t| store::assets::present_on(&self.conn, &t.id))
            .collect::<Result<_, _>>()?;
        let mut out = Vec::new();
        for r in refs {
            let local = self.has_asset(&r.id)?;
            let notes = store::assets::linking_notes(&self.conn, &r.id)?;
            let mut states = Vec::new();
            for (t, on_target) in targets.iter().zip(&present) {
                let there = on_target.contains(&r.id);
                let state = if there {
                    "synced"
                } else if local {
                    "pending"
                } else {
                    "unknown"
                };
                states.push(AssetTarget { target: t.id.clone(), state: state.into() });
            }
            out.push(AssetInfo {
                url: r.to_url(),
                name: asset::shown_name(&r.name),
                mime: r.mime.clone(),
                size: r.size,
                local,
                notes,
                targets: states,
            });
        }
        Ok(out)
    }

    /// Opens the local sealed file of `r` and streams its verified content to `out`. A local
    /// file that fails verification is set aside (so it is fetched again) and reported.
    fn open_local(&self, r: &AssetRef, out: impl Write) -> Result<()> {
        let file = self.asset_file(&r.id);
        let input =
            File::open(&file).map_err(io_err(format!("cannot read the attachment {}", r.name)))?;
        match asset::open(&self.keys, &self.workspace, r, BufReader::new(input), out) {
            Ok(()) => Ok(()),
            Err(AssetFailure::Output(m)) => {
                Err(Error::Invalid(format!("cannot write {}: {m}", r.name)))
            }
            Err(AssetFailure::Invalid(m)) if self.has_valid_other_hash(r)? => {
                Err(Error::AssetUnavailable { name: r.name.clone(), reason: m })
            }
            Err(e) => {
                // Set aside: `has_asset` is false without the file, so it is fetched again.
                let _ = fs::rename(&file, file.with_extension("damaged"));
                Err(Error::AssetUnavailable {
                    name: r.name.clone(),
                    reason: format!(
                        "this device's copy is damaged ({e}); it will be fetched again"
                    ),
                })
            }
        }
    }

    /// True when the local copy is known under another hash than `r` names: the link is wrong,
    /// not the file (so the file is kept).
    fn has_valid_other_hash(&self, r: &AssetRef) -> Result<bool> {
        Ok(store::assets::hash(&self.conn, &r.id)?.is_some_and(|h| h != r.hash))
    }

    /// Writes the attachment's content to `dest` after checking its hash, fetching it from the
    /// targets first if this device lacks it. `dest` appears only once complete and verified.
    pub(crate) fn save_asset(
        &self,
        r: &AssetRef,
        dest: &Path,
        on_event: &mut dyn FnMut(SyncEvent),
    ) -> Result<()> {
        self.fetch_asset(r, on_event)?;
        let dir = dest.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let tmp = Temp::new(dir)?;
        tmp.write_with(&dest.display().to_string(), |w| self.open_local(r, w))?;
        tmp.keep_as(dest)
    }

    /// Removes the plaintext copies made for other programs to open ([`Self::copy_for_opening`])
    /// once they are older than `max_age` — a decrypted attachment does not stay on disk after
    /// the program that showed it is long closed — and, as old, the copies a check of a target
    /// downloaded (`verify`) and left behind when it was killed. Runs at every attachment cycle.
    pub(crate) fn sweep_opened(&self, max_age: std::time::Duration) {
        for dir in ["opened", "verify"] {
            sweep_older(&self.dir.join(dir), max_age);
        }
    }

    /// Where [`Workspace::copy_for_opening`] puts a verified copy for another program to open.
    pub(crate) fn opened_copy_path(&self, r: &AssetRef) -> PathBuf {
        self.dir
            .join("opened")
            .join(format!("{}-{}", r.id.client.simple(), r.id.index))
            .join(asset::safe_file_name(&r.name))
    }

    /// Saves a verified copy of the attachment under the data dir (fetching it if needed) for
    /// the system's default program to open; returns its path.
    pub(crate) fn copy_for_opening(
        &self,
        r: &AssetRef,
        on_event: &mut dyn FnMut(SyncEvent),
    ) -> Result<PathBuf> {
        let dest = self.opened_copy_path(r);
        if !dest.exists() {
            let dir = dest.parent().expect("has a folder");
            fs::create_dir_all(dir).map_err(io_err(format!("cannot create {}", dir.display())))?;
            self.save_asset(r, &dest, on_event)?;
        }
        Ok(dest)
    }

    /// The attachment's verified content in memory (the app's preview), fetched if needed. At
    /// most [`PREVIEW_MAX_BYTES`]: what a preview holds in memory is bounded whatever a note
    /// links to; a larger file is opened or saved, which stream.
    pub(crate) fn asset_bytes(
        &self,
        r: &AssetRef,
        on_event: &mut dyn FnMut(SyncEvent),
    ) -> Result<Vec<u8>> {
        if r.size > PREVIEW_MAX_BYTES {
            return Err(Error::AssetUnavailable {
                name: r.name.clone(),
                reason: format!(
                    "at {} MiB it is too large to show in the preview (up to {} MiB); use Open or Save as…",
                    r.size.div_ceil(1 << 20),
                    PREVIEW_MAX_BYTES >> 20
                ),
            });
        }
        self.fetch_asset(r, on_event)?;
        let mut out = Vec::with_capacity(r.size as usize);
        self.open_local(r, &mut out)?;
        Ok(out)
    }

    /// Makes sure this device holds the attachment: downloads it from the first target that
    /// has a valid copy, verifying it before it is kept.
    pub(crate) fn fetch_asset(
        &self,
        r: &AssetRef,
        on_event: &mut dyn FnMut(SyncEvent),
    ) -> Result<()> {
        if self.has_asset(&r.id)? {
            return Ok(());
        }
        let targets = self.targets()?;
        if targets.is_empty() {
            return Err(Error::AssetUnavailable {
                name: r.name.clone(),
                reason: "this device does not have it and syncs with no folder or server".into(),
            });
        }
        let remote = self.asset_remote_path(&r.id, self.remote_per_folder()?);
        let mut reasons = Vec::new();
        for t in &targets {
            let tr = match self.transport_for(t) {
                Ok(tr) => tr,
                Err(e) => {
                    reasons.push(e.to_string());
                    continue;
                }
            };
            match self.download_asset(t, tr.as_ref(), r, &remote, on_event) {
                Ok(true) => return Ok(()),
                Ok(false) => reasons.push(format!("{} does not have it yet", t.location)),
                Err(Error::AssetUnavailable { reason, .. }) => reasons.push(reason),
                Err(e) => reasons.push(e.to_string()),
            }
        }
        Err(Error::AssetUnavailable { name: r.name.clone(), reason: reasons.join("; ") })
    }

    /// Downloads and verifies one asset from a target; false when the target lacks it.
    fn download_asset(
        &self,
        t: &Target,
        tr: &dyn Transport,
        r: &AssetRef,
        remote: &str,
        on_event: &mut dyn FnMut(SyncEvent),
    ) -> Result<bool> {
        let dest = self.asset_file(&r.id);
        let tmp = Temp::new(dest.parent().expect("asset files have a folder"))?;
        let name = r.name.clone();
        let progress = |done: u64, ev: &mut dyn FnMut(SyncEvent)| {
            ev(SyncEvent::AssetProgress {
                target: t.id.clone(),
                asset: r.id.to_string(),
                name: name.clone(),
                direction: Direction::Download,
                done,
                total: r.size,
            })
        };
        progress(0, on_event);
        if !tr.download(remote, tmp.path(), asset::sealed_len_limit(r.size), &mut |n| {
            progress(n.min(r.size), on_event)
        })? {
            return Ok(false);
        }
        let input =
            File::open(tmp.path()).map_err(io_err("cannot read the downloaded attachment"))?;
        if let Err(e) =
            asset::open(&self.keys, &self.workspace, r, BufReader::new(input), std::io::sink())
        {
            return Err(Error::AssetUnavailable {
                name: r.name.clone(),
                reason: format!("the copy on {} was refused: {e}", t.location),
            });
        }
        tmp.keep_as(&dest)?;
        store::assets::put(&self.conn, r, true, self.now())?;
        store::assets::mark_present(&self.conn, &t.id, &r.id)?;
        on_event(SyncEvent::AssetDone {
            target: t.id.clone(),
            asset: r.id.to_string(),
            name: r.name.clone(),
            direction: Direction::Download,
        });
        Ok(true)
    }

    /// The assets this device holds: complete rows whose sealed file is there.
    pub(crate) fn local_asset_refs(&self) -> Result<Vec<AssetRef>> {
        Ok(store::assets::complete_rows(&self.conn)?
            .into_iter()
            .filter(|r| self.asset_file(&r.id).exists())
            .collect())
    }

    /// The first link to `id` found in a note, if any (its name, type, size and hash).
    fn linked_ref(&self, id: &AssetId) -> Result<Option<AssetRef>> {
        Ok(store::assets::link_to(&self.conn, id)?.and_then(|u| AssetRef::parse(&u).ok()))
    }

    /// One asset sync cycle with every target: uploads what targets lack, downloads what notes
    /// link to from targets that keep attachments offline. `stop` is checked between files.
    /// Runs apart from [`Workspace::sync_all`] (its own loop in the app), so a large transfer
    /// never holds back notes.
    pub(crate) fn sync_assets(
        &self,
        stop: &dyn Fn() -> bool,
        on_event: &mut dyn FnMut(SyncEvent),
    ) -> Result<Vec<TargetReport>> {
        self.sweep_opened(OPENED_KEPT);
        self.scan_refs()?;
        let mut reports = Vec::new();
        for t in self.targets()? {
            let mut rep = TargetReport {
                target: t.id.clone(),
                location: t.location.clone(),
                ..Default::default()
            };
            match self.transport_for(&t) {
                Ok(tr) => {
                    // No reachability check first: an idle cycle (nothing to move) costs no request.
                    if let Err(e) = self.sync_assets_with(&t, tr.as_ref(), stop, &mut rep, on_event)
                    {
                        rep.unreachable =
                            matches!(e, Error::Transport(TransportError::Unreachable { .. }));
                        rep.error = Some(e.to_string());
                    }
                }
                Err(e) => rep.error = Some(e.to_string()),
            }
            reports.push(rep);
            if stop() {
                break;
            }
        }
        Ok(reports)
    }

    fn sync_assets_with(
        &self,
        t: &Target,
        tr: &dyn Transport,
        stop: &dyn Fn() -> bool,
        rep: &mut TargetReport,
        on_event: &mut dyn FnMut(SyncEvent),
    ) -> Result<()> {
        let local_refs = self.local_asset_refs()?;
        let local: BTreeSet<AssetId> = local_refs.iter().map(|r| r.id).collect();
        let present = store::assets::present_on(&self.conn, &t.id)?;
        let max = self.max_attachment_bytes()?;
        let referenced = store::assets::linked_from_live_notes(&self.conn)?;
        let per_folder = self.remote_per_folder()?;
        for op in plan(&local, &referenced, &present, t.keep_attachments) {
            if stop() {
                break;
            }
            match op {
                AssetOp::Push(id) => {
                    let r = local_refs.iter().find(|r| r.id == id).expect("planned from local");
                    let remote = self.asset_remote_path(&id, per_folder);
                    let progress = |done: u64, ev: &mut dyn FnMut(SyncEvent)| {
                        ev(SyncEvent::AssetProgress {
                            target: t.id.clone(),
                            asset: id.to_string(),
                            name: r.name.clone(),
                            direction: Direction::Upload,
                            done: done.min(r.size),
                            total: r.size,
                        })
                    };
                    progress(0, on_event);
                    match tr.upload(&remote, &self.asset_file(&id), &mut |n| progress(n, on_event))
                    {
                        Ok(_) => {
                            store::assets::mark_present(&self.conn, &t.id, &id)?;
                            rep.pushed += 1;
                            on_event(SyncEvent::AssetDone {
                                target: t.id.clone(),
                                asset: id.to_string(),
                                name: r.name.clone(),
                                direction: Direction::Upload,
                            });
                        }
                        Err(e @ TransportError::Conflict { .. }) => {
                            rep.problem(format!("attachment {} ({id}): {e}", r.name), on_event);
                        }
                        Err(e) => return Err(e.into()),
                    }
                }
                AssetOp::Pull(id) => {
                    if self.has_asset(&id)? {
                        continue;
                    }
                    let Some(r) = self.linked_ref(&id)? else { continue };
                    // Larger than this device accepts: only fetched when the user asks for it.
                    if r.size > max {
                        continue;
                    }
                    match self.download_asset(
                        t,
                        tr,
                        &r,
                        &self.asset_remote_path(&id, per_folder),
                        on_event,
                    ) {
                        Ok(true) => rep.pulled += 1,
                        // Not uploaded yet by its device: asked again next cycle.
                        Ok(false) => {}
                        Err(Error::Transport(e)) => return Err(e.into()),
                        Err(e) => rep.problem(e.to_string(), on_event),
                    }
                }
            }
        }
        Ok(())
    }

    /// Rebuilds the asset table from the sealed files in the assets folder (part of
    /// [`Workspace::rebuild`]): names and types come from the notes' links.
    pub(crate) fn rebuild_assets(&self) -> Result<u64> {
        store::assets::clear(&self.conn)?;
        self.scan_refs()?;
        let mut count = 0;
        let Ok(clients) = fs::read_dir(self.assets_dir()) else { return Ok(0) };
        for c in clients.flatten() {
            let Some(client) = c.file_name().to_str().and_then(path::parse_client_dir) else {
                continue;
            };
            let Ok(files) = fs::read_dir(c.path()) else { continue };
            for f in files.flatten() {
                let name = f.file_name().to_string_lossy().into_owned();
                let Some(index) = name
                    .strip_suffix(self.keys.epoch0().extension())
                    .and_then(|i| i.parse::<u64>().ok())
                else {
                    continue;
                };
                let Ok(file) = File::open(f.path()) else { continue };
                let Ok(h) = asset::read_header(&self.keys, &self.workspace, BufReader::new(file))
                else {
                    continue;
                };
                if h.id != (AssetId { client, index }) {
                    continue;
                }
                let (name, mime) =
                    self.linked_ref(&h.id)?.map(|r| (r.name, r.mime)).unwrap_or_else(|| {
                        (format!("attachment-{index}"), "application/octet-stream".into())
                    });
                let r = AssetRef { id: h.id, name, size: h.size, mime, hash: h.hash };
                store::assets::replace(&self.conn, &r, h.timestamp)?;
                count += 1;
            }
        }
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Workspace;

    #[test]
    fn only_old_temporary_copies_are_swept() {
        let tmp = tempfile::tempdir().unwrap();
        let day = std::time::Duration::from_secs(24 * 3600);
        let made = |name: &str, age: std::time::Duration| {
            let p = tmp.path().join(name);
            if name.ends_with('/') {
                fs::create_dir_all(p.join("inside")).unwrap();
            } else {
                fs::write(&p, b"copy").unwrap();
            }
            let f = File::open(&p).unwrap();
            f.set_modified(std::time::SystemTime::now() - age).unwrap();
            p
        };
        let old_file = made(".a.tmp", 2 * day);
        let old_dir = made("old/", 2 * day);
        let new_file = made(".b.tmp", std::time::Duration::from_secs(60));
        sweep_older(tmp.path(), day);
        assert!(!old_file.exists() && !old_dir.exists(), "old copies go");
        assert!(new_file.exists(), "a copy being made now stays");
        sweep_older(&tmp.path().join("missing"), day); // no folder: nothing to do
    }

    fn id(c: u8, i: u64) -> AssetId {
        AssetId { client: Uuid::from_bytes([c; 16]), index: i }
    }

    fn set(ids: &[AssetId]) -> BTreeSet<AssetId> {
        ids.iter().copied().collect()
    }

    #[test]
    fn asset_indexes_are_never_reused_even_after_a_rebuild() {
        let tmp = tempfile::tempdir().unwrap();
        let mut ws = Workspace::init(tmp.path(), false, crate::workspace::system_clock()).unwrap();
        let f = tmp.path().join("a.txt");
        let mut indexes = Vec::new();
        for i in 0..3 {
            fs::write(&f, format!("content {i}")).unwrap();
            indexes.push(ws.add_asset(&f, "a.txt", None).unwrap().id.index);
        }
        assert_eq!(indexes, vec![0, 1, 2]);
        // Asset 2's file is lost and the tables are rebuilt: the next one is still 3.
        fs::remove_file(ws.replica.asset_file(&AssetId { client: ws.client_id(), index: 2 }))
            .unwrap();
        ws.rebuild().unwrap();
        fs::write(&f, "content 3").unwrap();
        assert_eq!(ws.add_asset(&f, "a.txt", None).unwrap().id.index, 3);
        // The same content again: the existing asset, not a new index.
        fs::write(&f, "content 1").unwrap();
        assert_eq!(ws.add_asset(&f, "b.txt", None).unwrap().id.index, 1);
    }

    /// What a stopped import stored and no note links to goes; an attachment stored before it,
    /// one added meanwhile by an edit, and one a note links to stay.
    #[test]
    fn only_a_stopped_imports_unlinked_attachments_are_dropped() {
        let tmp = tempfile::tempdir().unwrap();
        let mut ws = Workspace::init(tmp.path(), false, crate::workspace::system_clock()).unwrap();
        let f = tmp.path().join("a.txt");
        let add = |ws: &mut Workspace, text: &str| {
            fs::write(&f, text).unwrap();
            ws.add_asset(&f, "a.txt", None).unwrap()
        };
        let before = add(&mut ws, "before the import");
        let first = ws.replica.next_asset_index().unwrap();
        let (orphan, linked) =
            (add(&mut ws, "imported, unlinked"), add(&mut ws, "imported, linked"));
        let pasted = add(&mut ws, "pasted meanwhile");
        ws.new_note("Linked", &linked.markdown()).unwrap();
        let among = [before.id, orphan.id, linked.id];
        assert_eq!(ws.replica.drop_unlinked_assets(first, &among).unwrap(), 1);
        let left: Vec<AssetId> =
            ws.assets().unwrap().iter().map(|a| AssetRef::parse(&a.url).unwrap().id).collect();
        assert_eq!(left.len(), 3, "{left:?}");
        assert!(!left.contains(&orphan.id));
        assert!(!ws.replica.asset_file(&orphan.id).exists());
        for kept in [before.id, linked.id, pasted.id] {
            assert!(left.contains(&kept) && ws.replica.asset_file(&kept).exists());
        }
        // Its index is not used again.
        assert_eq!(add(&mut ws, "next").id.index, pasted.id.index + 1);
    }

    /// The preview holds at most PREVIEW_MAX_BYTES of an attachment in memory, whatever size a
    /// note's link claims (a link is written by whoever wrote the note).
    #[test]
    fn the_preview_never_loads_more_than_its_bound() {
        let tmp = tempfile::tempdir().unwrap();
        let mut ws = Workspace::init(tmp.path(), false, crate::workspace::system_clock()).unwrap();
        let f = tmp.path().join("pixel.png");
        fs::write(&f, b"not really a png, but small").unwrap();
        let small = ws.add_asset(&f, "pixel.png", Some("image/png")).unwrap();
        assert_eq!(ws.asset_bytes(&small, &mut |_| ()).unwrap(), b"not really a png, but small");
        let mut huge = small.clone();
        huge.size = PREVIEW_MAX_BYTES + 1;
        let err = ws.asset_bytes(&huge, &mut |_| ()).unwrap_err().to_string();
        assert!(err.contains("too large to show in the preview"), "{err}");
        huge.size = u64::MAX;
        assert!(ws.asset_bytes(&huge, &mut |_| ()).is_err(), "no allocation of the claimed size");
    }

    #[test]
    fn opened_copies_are_removed_after_a_day() {
        let tmp = tempfile::tempdir().unwrap();
        let mut ws = Workspace::init(tmp.path(), false, crate::workspace::system_clock()).unwrap();
        let (f, g) = (tmp.path().join("old.txt"), tmp.path().join("new.txt"));
        fs::write(&f, "opened two days ago").unwrap();
        fs::write(&g, "opened just now").unwrap();
        let (old, new) = (
            ws.add_asset(&f, "old.txt", None).unwrap(),
            ws.add_asset(&g, "new.txt", None).unwrap(),
        );
        let old_copy = ws.copy_for_opening(&old, &mut |_| {}).unwrap();
        let new_copy = ws.copy_for_opening(&new, &mut |_| {}).unwrap();
        let two_days_ago =
            std::time::SystemTime::now() - std::time::Duration::from_secs(2 * 24 * 3600);
        let folder = old_copy.parent().unwrap();
        fs::File::open(folder).unwrap().set_modified(two_days_ago).unwrap();
        ws.sync_assets(&|| false, &mut |_| {}).unwrap();
        assert!(!old_copy.exists() && !folder.exists(), "the day-old copy is gone");
        assert!(new_copy.exists(), "a recent copy stays");
    }

    #[test]
    fn plan_cases() {
        let (a0, a1, b0) = (id(1, 0), id(1, 1), id(2, 0));
        // (local, referenced, present, keep) -> ops
        type Case<'a> = (&'a [AssetId], &'a [AssetId], &'a [AssetId], bool, &'a [AssetOp]);
        let cases: &[Case] = &[
            (&[], &[], &[], true, &[]),
            (&[a0, a1], &[], &[], false, &[AssetOp::Push(a0), AssetOp::Push(a1)]),
            (&[a0, a1], &[], &[a0], false, &[AssetOp::Push(a1)]),
            (&[a0], &[a0, b0], &[a0], true, &[AssetOp::Pull(b0)]),
            (&[a0], &[a0, b0], &[a0], false, &[]),
            (
                &[b0],
                &[a0, a1],
                &[],
                true,
                &[AssetOp::Push(b0), AssetOp::Pull(a0), AssetOp::Pull(a1)],
            ),
            // Known present but not local, not referenced: nothing to do.
            (&[], &[], &[a0], true, &[]),
        ];
        for (local, refd, present, keep, want) in cases {
            assert_eq!(
                plan(&set(local), &set(refd), &set(present), *keep),
                want.to_vec(),
                "local {local:?} referenced {refd:?} present {present:?} keep {keep}"
            );
        }
    }
}
