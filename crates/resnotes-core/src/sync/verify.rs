//! Checking a target against this device: every entry of the local log and every attachment
//! this device knows of is read back from the target and compared byte for byte (an attachment
//! this device does not hold is checked against the hash its link names), and the target's
//! folders are walked for what does not belong there. A "synced" that is not true is what
//! destroys trust in a sync tool first; this is the proof, or the precise list of what is wrong.
//!
//! Reading the target never changes it. One thing on this device does change: when an entry or
//! attachment this device had written there is gone, cut short or replaced, the mark that said
//! it was there is taken back, so the next sync writes it again (over a cut-short copy; a
//! replaced one is reported as a conflict until the user moves it away, never overwritten).
//!
//! The comparison of one file ([`compare`]) and the reading of the folder layout
//! ([`index_of_path`]) are pure and tested with case tables; [`Replica::verify_with`] does the
//! reading.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{BufReader, Read};

use serde::Serialize;
use ts_rs::TS;
use uuid::Uuid;

use crate::docs::Replica;
use crate::error::Result;
use crate::format::asset::{self, AssetId, AssetRef};
use crate::format::entry::{self, Expected};
use crate::format::manifest::Manifest;
use crate::format::pack::{self, Block};
use crate::format::path::{self, Kind};
use crate::store;
use crate::sync::assets::Temp;
use crate::sync::executor::short;
use crate::sync::packs::PackFound;
use crate::transport::{read_manifest, Target, Transport, TransportError};

/// Entries read from the target at once (WebDAV reads them in parallel).
const BATCH: usize = 64;

/// What is wrong with one file on the target.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq, TS)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// This device wrote it there (or saw it there) and it is gone.
    Missing,
    /// This device has not written it there yet: the next sync does.
    NotWritten,
    /// The start of the right bytes, the rest cut off (a sync tool or a crash).
    CutShort,
    /// Other bytes than this device holds.
    Different,
    /// It is there but could not be read, or is not a valid entry or attachment.
    Unreadable,
    /// It does not belong to the workspace.
    Extra,
}

/// One thing wrong with the target, in plain words.
#[derive(Clone, Debug, Serialize, PartialEq, Eq, TS)]
pub struct Finding {
    /// What kind of problem.
    pub kind: FindingKind,
    /// The file or folder on the target (relative path), for the "Details" view.
    pub path: String,
    /// One sentence saying what is wrong and what happens or what to do.
    pub message: String,
}

/// The result of checking one target.
#[derive(Clone, Debug, Serialize, Default, PartialEq, Eq, TS)]
pub struct Verification {
    /// Target id.
    pub target: String,
    /// Where it is.
    pub location: String,
    /// Entries of this device's log checked on the target.
    #[ts(type = "number")]
    pub entries: u64,
    /// Of those, the ones found with exactly this device's bytes.
    #[ts(type = "number")]
    pub entries_ok: u64,
    /// Attachments checked (held here: byte for byte; linked only: against their hash).
    #[ts(type = "number")]
    pub attachments: u64,
    /// Of those, the ones found intact.
    #[ts(type = "number")]
    pub attachments_ok: u64,
    /// Valid entries on the target this device has not pulled yet (not a problem: a sync
    /// brings them).
    #[ts(type = "number")]
    pub not_pulled: u64,
    /// Entries a removed device wrote after its removal, or a device held back since a removal
    /// wrote (FORMAT.md §5.2): every device refuses them (until it is let in), so they are
    /// neither read nor a problem.
    #[ts(type = "number")]
    pub after_removal: u64,
    /// Attachments on the target that no note on this device links to (another device's, whose
    /// notes are not here yet, or of deleted notes): not a problem.
    #[ts(type = "number")]
    pub other_attachments: u64,
    /// Files left by sync tools or unfinished writes (`.DS_Store`, conflicted copies, temp
    /// files): harmless, never read as entries.
    pub leftovers: Vec<String>,
    /// Everything wrong, in the order found.
    pub findings: Vec<Finding>,
}

impl Verification {
    /// True when the target holds everything this device does, intact, and nothing foreign.
    pub fn clean(&self) -> bool {
        self.findings.is_empty()
    }

    /// How many findings of a kind.
    pub fn count(&self, kind: FindingKind) -> usize {
        self.findings.iter().filter(|f| f.kind == kind).count()
    }

    fn find(&mut self, kind: FindingKind, path: &str, message: String) {
        self.findings.push(Finding { kind, path: path.to_string(), message });
    }
}

/// How the target's copy of a file compares with this device's bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Compared {
    /// The same bytes.
    Same,
    /// No file there.
    Missing,
    /// A strict prefix of ours.
    CutShort,
    /// Other bytes.
    Different,
    /// The file could not be read.
    Unreadable(String),
    /// The target cannot be reached any more (where, why): the check stops.
    Unreachable(String, String),
}

/// Compares the target's file (as read) with this device's bytes.
pub(crate) fn compare(ours: &[u8], theirs: &Result<Option<Vec<u8>>, TransportError>) -> Compared {
    match theirs {
        Err(TransportError::Unreachable { location, reason }) => {
            Compared::Unreachable(location.clone(), reason.clone())
        }
        Err(e) => Compared::Unreadable(reason(e)),
        Ok(None) => Compared::Missing,
        Ok(Some(b)) if b.as_slice() == ours => Compared::Same,
        Ok(Some(b)) if b.len() < ours.len() && ours.starts_with(b) => Compared::CutShort,
        Ok(Some(_)) => Compared::Different,
    }
}

/// Why a read failed, short: the path and the target are named beside it already.
fn reason(e: &TransportError) -> String {
    match e {
        TransportError::Failed { reason, .. } => reason.clone(),
        other => other.to_string(),
    }
}

/// Names a drive's root or a file system holds that are no part of a workspace and harmless.
fn is_system_name(name: &str) -> bool {
    matches!(
        name,
        "lost+found"
            | "System Volume Information"
            | "$RECYCLE.BIN"
            | "Network Trash Folder"
            | "Temporary Items"
    )
}

/// The index of the entry or attachment file at `rel` (the path below `<client>/<kind>/`),
/// when it is exactly where `distributedFilePath` puts that index; `None` for any other name.
pub(crate) fn index_of_path(rel: &str, per_folder: u64, ext: &str) -> Option<u64> {
    let mut names: Vec<&str> = rel.split('/').collect();
    let file = names.pop()?.strip_suffix(ext)?;
    names.push(file);
    let levels: usize = names.first()?.parse().ok()?;
    if levels != names.len() - 1 || levels == 0 {
        return None;
    }
    let mut index = 0u64;
    for n in &names[1..] {
        let d: u64 = n.parse().ok()?;
        if d >= per_folder || d.to_string() != *n {
            return None;
        }
        index = index.checked_mul(per_folder)?.checked_add(d)?;
    }
    // Leading zero digits would name the index at another depth: only the canonical path counts.
    (path::distributed_file_path(index, per_folder).join("/") == names.join("/")).then_some(index)
}

/// The files found under a client's `changes/` or `assets/` folder.
#[derive(Default)]
struct Walked {
    /// Indexes of files at their canonical path.
    indexes: BTreeSet<u64>,
    /// Paths of anything else.
    extra: Vec<String>,
    /// Harmless leftovers.
    leftovers: Vec<String>,
    /// Folders that could not be listed, with why.
    unlisted: Vec<(String, String)>,
}

/// Deepest folder level walked: `distributedFilePath` of any 64-bit index with 1,000 entries
/// per folder has 7 levels.
const MAX_DEPTH: usize = 8;

/// Walks `dir` (a client's `changes` or `assets` folder): files at canonical paths give their
/// index; a number-named folder of the layout is walked into; everything else is extra. A folder
/// that cannot be listed (a number-named file, on a folder) is extra too.
fn walk(tr: &dyn Transport, dir: &str, per_folder: u64, ext: &str) -> Result<Walked> {
    let mut out = Walked::default();
    let mut stack: Vec<(String, Vec<String>)> = vec![(String::new(), tr.list(dir)?)];
    while let Some((rel, names)) = stack.pop() {
        for name in names {
            let child = if rel.is_empty() { name.clone() } else { format!("{rel}/{name}") };
            let full = format!("{dir}/{child}");
            if path::is_ignored_name(&name) {
                out.leftovers.push(full);
            } else if let Some(i) = index_of_path(&child, per_folder, ext) {
                out.indexes.insert(i);
            } else if name.parse::<u64>().is_ok_and(|d| d < per_folder.max(64))
                && child.split('/').count() < MAX_DEPTH
            {
                match tr.list(&full) {
                    // An empty folder of the layout is harmless (a sync writes into it).
                    Ok(inside) => stack.push((child, inside)),
                    Err(e @ TransportError::Unreachable { .. }) => return Err(e.into()),
                    // A file with a folder's name is extra; a folder that cannot be listed may
                    // hold entries, and is never called removable.
                    Err(e) => match tr.size(&full) {
                        Ok(Some(_)) => out.extra.push(full),
                        _ => out.unlisted.push((full, reason(&e))),
                    },
                }
            } else {
                out.extra.push(full);
            }
        }
    }
    out.extra.sort();
    Ok(out)
}

/// Who wrote an entry, for messages.
fn device(me: &Uuid, client: &Uuid) -> String {
    if client == me {
        "this device".to_string()
    } else {
        format!("device {}", short(client))
    }
}

impl Replica {
    /// Checks one target (see the module doc). `on_progress(done, total)` counts the entries
    /// and attachments compared.
    pub(crate) fn verify_with(
        &self,
        t: &Target,
        tr: &dyn Transport,
        on_progress: &mut dyn FnMut(u64, u64),
    ) -> Result<Verification> {
        tr.check()?;
        let mut v = Verification {
            target: t.id.clone(),
            location: t.location.clone(),
            ..Default::default()
        };
        let manifest = self.verify_manifest(tr, &mut v)?;
        let per_folder = manifest.max_entries_per_folder;
        let ext = self.keys.epoch0().extension();
        let heads: BTreeMap<Uuid, u64> = store::heads(&self.conn)?.into_iter().collect();
        let local_assets = self.held_assets()?;
        let linked = self.linked_assets()?;
        let total = heads.values().map(|h| h + 1).sum::<u64>()
            + local_assets.len() as u64
            + linked.keys().filter(|id| !local_assets.contains_key(id)).count() as u64;
        let mut done = 0u64;
        on_progress(done, total);

        // The folders on the target: ours, leftovers, and everything else.
        let mut changes: BTreeMap<Uuid, Walked> = BTreeMap::new();
        let mut assets_found: BTreeMap<Uuid, Walked> = BTreeMap::new();
        // Packs (FORMAT.md §11) are looked at for their places only: never needed, so what
        // they hold is not checked here (a reader that finds one wrong reads the single files).
        let mut packs_found: Vec<Walked> = Vec::new();
        for name in tr.list("")? {
            if name == "index.json" {
                continue;
            }
            let invites = name == crate::format::invite::INVITES_DIR;
            if invites || name == crate::format::epoch::KEYS_DIR {
                // Setup codes' invitations (FORMAT.md §3.1) and the passphrase wraps of key
                // epochs (§5.2): anything else in there is not ours.
                for inv in tr.list(&name)? {
                    let ours = if invites {
                        crate::format::invite::expiry_of(&inv).is_some()
                    } else {
                        crate::format::epoch::parse_wrap_name(&inv).is_some()
                    };
                    if !ours {
                        let p = format!("{name}/{inv}");
                        v.find(
                            FindingKind::Extra,
                            &p,
                            format!("“{p}” is not part of the workspace; no device reads it, and it can be removed."),
                        );
                    }
                }
                continue;
            }
            if path::is_ignored_name(&name) || is_system_name(&name) {
                v.leftovers.push(name);
                continue;
            }
            let Some(client) = path::parse_client_dir(&name) else {
                v.find(
                    FindingKind::Extra,
                    &name,
                    format!("“{name}” is not part of the workspace; no device reads it, and it can be removed."),
                );
                continue;
            };
            for sub in tr.list(&name)? {
                match sub.as_str() {
                    "changes" => {
                        changes.insert(client, walk(tr, &format!("{name}/changes"), per_folder, ext)?);
                    }
                    "assets" => {
                        assets_found
                            .insert(client, walk(tr, &format!("{name}/assets"), per_folder, ext)?);
                    }
                    "packs" => {
                        for level in tr.list(&format!("{name}/packs"))? {
                            let p = format!("{name}/packs/{level}");
                            if crate::format::pack::LEVELS.iter().any(|l| l.to_string() == level) {
                                packs_found.push(walk(tr, &p, per_folder, ".pack")?);
                            } else if path::is_ignored_name(&level) {
                                v.leftovers.push(p);
                            } else {
                                v.find(
                                    FindingKind::Extra,
                                    &p,
                                    format!("“{p}” is not part of the workspace; no device reads it, and it can be removed."),
                                );
                            }
                        }
                    }
                    s if path::is_ignored_name(s) => v.leftovers.push(format!("{name}/{s}")),
                    s => v.find(
                        FindingKind::Extra,
                        &format!("{name}/{s}"),
                        format!("“{name}/{s}” is not part of the workspace; no device reads it, and it can be removed."),
                    ),
                }
            }
        }
        for w in changes.values().chain(assets_found.values()).chain(packs_found.iter()) {
            v.leftovers.extend(w.leftovers.iter().cloned());
            for (p, why) in &w.unlisted {
                let message = format!(
                    "The folder “{p}” could not be read ({why}); what it holds was not checked."
                );
                v.find(FindingKind::Unreadable, p, message);
            }
            for p in &w.extra {
                let message = format!(
                    "“{p}” is not at a place where an entry, attachment or pack can be; no device reads it, and it can be removed."
                );
                v.find(FindingKind::Extra, p, message);
            }
        }

        // Every entry this device holds, byte for byte.
        let mut packed = BTreeMap::new();
        for (client, head) in &heads {
            let known = store::remote_upto(&self.conn, &t.id, client)?;
            let mut first_lost: Option<u64> = None;
            let indexes: Vec<u64> = (0..=*head).collect();
            for chunk in indexes.chunks(BATCH) {
                let paths: Vec<String> = chunk
                    .iter()
                    .map(|i| path::entry_path(client, Kind::Changes, *i, per_folder, ext))
                    .collect();
                let read = tr.read_many(&paths);
                for ((i, p), theirs) in chunk.iter().zip(&paths).zip(read) {
                    // With fewer files, a pack may hold the entry instead (FORMAT.md §11.1).
                    let theirs = match theirs {
                        Ok(None) if manifest.fewer_files() => {
                            Ok(self.packed_copy(tr, &manifest, client, *i, &mut packed)?)
                        }
                        t => t,
                    };
                    let ours = store::log::entry_data(&self.conn, client, *i)?.unwrap_or_default();
                    let who = device(&self.client, client);
                    v.entries += 1;
                    let was_there = known.is_some_and(|k| *i <= k);
                    match compare(&ours, &theirs) {
                        Compared::Same => v.entries_ok += 1,
                        Compared::Missing if !was_there => v.find(
                            FindingKind::NotWritten,
                            p,
                            format!(
                                "Entry {i} of {who} is not there yet; the next sync writes it."
                            ),
                        ),
                        Compared::Missing => {
                            first_lost.get_or_insert(*i);
                            v.find(
                                FindingKind::Missing,
                                p,
                                format!("Entry {i} of {who} is missing although it was written there; the next sync writes it again."),
                            )
                        }
                        Compared::CutShort => {
                            first_lost.get_or_insert(*i);
                            v.find(
                                FindingKind::CutShort,
                                p,
                                format!("Entry {i} of {who} is cut short (only the start of the file is there); the next sync writes it again."),
                            )
                        }
                        // Not written again while it is there (sync never overwrites other bytes,
                        // and a push that meets them stops): once moved away, a check finds it
                        // missing and the next sync writes it.
                        Compared::Different => v.find(
                            FindingKind::Different,
                            p,
                            format!("Entry {i} of {who} holds other bytes than this device has, and devices that have not read it yet refuse it: move the file out of the folder, then check again, and the next sync writes this device's copy."),
                        ),
                        Compared::Unreadable(why) => v.find(
                            FindingKind::Unreadable,
                            p,
                            format!("Entry {i} of {who} could not be read ({why})."),
                        ),
                        Compared::Unreachable(location, reason) => {
                    return Err(TransportError::Unreachable { location, reason }.into())
                }
                    }
                    done += 1;
                }
                on_progress(done, total);
            }
            if let Some(lost) = first_lost {
                // Known there no more: the next sync's plan writes from here on again.
                let back = known.zip(lost.checked_sub(1)).map(|(k, b)| k.min(b));
                store::set_remote_upto(&self.conn, &t.id, client, back)?;
                // And its packs are looked at again: the files written back under a pack that
                // is fine are removed again (FORMAT.md §11.1), not kept for good.
                store::packs::forget(&self.conn, &t.id, client)?;
            }
        }

        // Entries on the target this device does not hold: valid ones are not pulled yet;
        // anything else is named.
        let removed = store::removals::removed(&self.conn)?;
        for (client, w) in &changes {
            let from = heads.get(client).map_or(0, |h| h + 1);
            let mut newer: Vec<u64> = w.indexes.range(from..).copied().collect();
            if let Some(r) = removed.get(client) {
                let past = newer.len() - newer.partition_point(|i| !r.refuses(*i));
                v.after_removal += past as u64;
                newer.truncate(newer.len() - past);
            }
            if newer.is_empty() {
                if !heads.contains_key(client) && w.indexes.is_empty() && w.extra.is_empty() {
                    let p = format!("{}/changes", client.hyphenated());
                    v.find(
                        FindingKind::Extra,
                        &p,
                        format!(
                            "The folder of device {} holds no entries; it can be removed.",
                            short(client)
                        ),
                    );
                }
                continue;
            }
            self.check_not_pulled(tr, client, from, &newer, per_folder, &mut v)?;
        }

        // Attachments: those held here byte for byte, those only linked against their hash.
        let present = store::assets::present_on(&self.conn, &t.id)?;
        for (id, r) in &local_assets {
            let remote = self.asset_remote_path(id, per_folder);
            v.attachments += 1;
            let local = self.asset_file(id);
            let outcome = self.compare_asset(tr, &remote, &local)?;
            let name = asset::shown_name(&r.name);
            let was_there = present.contains(id);
            match outcome {
                Compared::Same => v.attachments_ok += 1,
                Compared::Missing if !was_there => v.find(
                    FindingKind::NotWritten,
                    &remote,
                    format!("The attachment “{name}” is not there yet; the next sync writes it."),
                ),
                Compared::Missing | Compared::CutShort => {
                    store::assets::forget_present(&self.conn, &t.id, id)?;
                    let (kind, what) = match outcome {
                        Compared::Missing => (FindingKind::Missing, "is missing although it was written there"),
                        _ => (FindingKind::CutShort, "is cut short"),
                    };
                    v.find(kind, &remote, format!("The attachment “{name}” {what}; the next sync writes it again."))
                }
                Compared::Different => v.find(
                    FindingKind::Different,
                    &remote,
                    format!("The attachment “{name}” holds other bytes than this device has, and devices without it cannot open it: move the file out of the folder, then check again, and the next sync writes this device's copy."),
                ),
                Compared::Unreadable(why) => v.find(
                    FindingKind::Unreadable,
                    &remote,
                    format!("The attachment “{name}” could not be read ({why})."),
                ),
                Compared::Unreachable(location, reason) => {
                    return Err(TransportError::Unreachable { location, reason }.into())
                }
            }
            done += 1;
            on_progress(done, total);
        }
        for (id, r) in linked.iter().filter(|(id, _)| !local_assets.contains_key(id)) {
            let remote = self.asset_remote_path(id, per_folder);
            v.attachments += 1;
            let name = asset::shown_name(&r.name);
            match self.check_linked_asset(tr, &remote, r)? {
                None => v.attachments_ok += 1,
                Some((kind, why)) => {
                    v.find(kind, &remote, format!("The attachment “{name}” {why}."))
                }
            }
            done += 1;
            on_progress(done, total);
        }
        for (client, w) in &assets_found {
            v.other_attachments += w
                .indexes
                .iter()
                .filter(|i| {
                    let id = AssetId { client: *client, index: **i };
                    !local_assets.contains_key(&id) && !linked.contains_key(&id)
                })
                .count() as u64;
        }
        v.leftovers.sort();
        // Packs a pull found unusable here are tried again at once: a check is asked for
        // when something looks wrong, and one may have been written again since.
        store::packs::forget_unusable(&self.conn, &t.id)?;
        Ok(v)
    }

    /// The copy of entry `index` of `client` that a pack on `tr` holds, if any: what a reader
    /// of a target with fewer files reads when the single file is missing (FORMAT.md §11.1).
    /// The packs holding it are read once and kept in `cache` while the check is in them.
    fn packed_copy(
        &self,
        tr: &dyn Transport,
        manifest: &Manifest,
        client: &Uuid,
        index: u64,
        cache: &mut BTreeMap<Block, Vec<Vec<u8>>>,
    ) -> Result<Option<Vec<u8>>> {
        cache.retain(|b, _| b.client == *client && b.last() >= index);
        for level in pack::LEVELS {
            let b = Block::holding(*client, level, index);
            let files = match cache.entry(b) {
                std::collections::btree_map::Entry::Occupied(o) => o.into_mut(),
                std::collections::btree_map::Entry::Vacant(v) => {
                    // Read as a pull reads it; what makes it unusable is the pull's to report.
                    let files = match self.read_pack(tr, manifest, &b, b.first())? {
                        PackFound::Entries((_, entries), _) => {
                            entries.into_iter().map(|(f, _)| f).collect()
                        }
                        PackFound::Absent | PackFound::Unread | PackFound::Unusable { .. } => {
                            Vec::new()
                        }
                    };
                    v.insert(files)
                }
            };
            if let Some(f) = files.get((index - b.first()) as usize) {
                return Ok(Some(f.clone()));
            }
        }
        Ok(None)
    }

    /// Compares the target's `index.json` with this device's pinned copy; returns the copy that
    /// decides the layout (this device's, or the target's when it has moved to a later version).
    fn verify_manifest(&self, tr: &dyn Transport, v: &mut Verification) -> Result<Manifest> {
        let pinned = match store::meta(&self.conn, "manifest")? {
            Some(text) => Some(Manifest::parse(text.as_bytes(), "this device's copy")?),
            None => None,
        };
        let location = tr.location();
        let found = match read_manifest(tr) {
            Ok(found) => found,
            Err(e) => {
                v.find(FindingKind::Unreadable, "index.json", format!("{e}"));
                None
            }
        };
        match (found, pinned) {
            (Some(found), pinned) => {
                let check = found.check_workspace(&self.workspace, &location).and_then(|()| {
                    pinned.as_ref().map_or(Ok(()), |p| found.check_pinned(p, &location))
                });
                if let Err(e) = check {
                    v.find(FindingKind::Different, "index.json", e.to_string());
                }
                Ok(match pinned {
                    Some(p) if p.format_version >= found.format_version => p,
                    Some(p) => Manifest { format_version: found.format_version, ..p },
                    None => found,
                })
            }
            (None, Some(pinned)) => {
                if !v.findings.iter().any(|f| f.path == "index.json") {
                    v.find(
                        FindingKind::Missing,
                        "index.json",
                        "The workspace description (index.json) is missing; the next sync writes it again, but until then a new device cannot join from here.".into(),
                    );
                }
                Ok(pinned)
            }
            (None, None) => Err(crate::Error::NotAWorkspace(location)),
        }
    }

    /// Reads a client's entries from `from` on (those found: `newer`), checking each as a pull
    /// would; counts the valid ones and names the first that is not, with those after it.
    fn check_not_pulled(
        &self,
        tr: &dyn Transport,
        client: &Uuid,
        from: u64,
        newer: &[u64],
        per_folder: u64,
        v: &mut Verification,
    ) -> Result<()> {
        let ext = self.keys.epoch0().extension();
        let mut prev = store::link_before(&self.conn, client, from)?;
        let known_device = from > 0;
        let mut n = from;
        for chunk in newer.chunks(BATCH) {
            let paths: Vec<String> = chunk
                .iter()
                .map(|i| path::entry_path(client, Kind::Changes, *i, per_folder, ext))
                .collect();
            for ((i, p), read) in chunk.iter().zip(&paths).zip(tr.read_many(&paths)) {
                // `newer` is sorted: what follows entry i there.
                let rest = newer.len() - newer.partition_point(|x| x <= i);
                let after = match rest {
                    0 => String::new(),
                    1 => " No device can read the entry after it either.".to_string(),
                    r => format!(" No device can read the {r} entries after it either."),
                };
                if *i != n {
                    v.find(
                        FindingKind::Missing,
                        &path::entry_path(client, Kind::Changes, n, per_folder, ext),
                        format!("Entry {n} of device {} is missing while later ones are there; devices wait for it.{after}", short(client)),
                    );
                    return Ok(());
                }
                let bytes = match read {
                    Ok(Some(b)) => b,
                    Ok(None) => continue,
                    Err(e @ TransportError::Unreachable { .. }) => return Err(e.into()),
                    Err(e) => {
                        v.find(
                            FindingKind::Unreadable,
                            p,
                            format!(
                                "Entry {i} of device {} could not be read ({}).{after}",
                                short(client),
                                reason(&e)
                            ),
                        );
                        return Ok(());
                    }
                };
                let want = Expected {
                    workspace: self.workspace,
                    client: *client,
                    index: *i,
                    prev_hash: prev.hash,
                    prev_signer: prev.signer,
                };
                match entry::accept_in(&bytes, &self.keys, &want) {
                    Ok(e) => {
                        prev = store::log::Link { hash: e.hash, signer: e.signer };
                        v.not_pulled += 1;
                        n += 1;
                    }
                    // Refused for what its bytes are (not: still being copied, or written by a
                    // newer version), and from a device nobody here knows: not of this workspace.
                    Err(err) if *i == 0 && !known_device && err.is_final() => {
                        let p = client.hyphenated().to_string();
                        v.find(
                            FindingKind::Extra,
                            &p,
                            format!("The folder “{p}” is not a device of this workspace: its first entry {err}. No device reads it."),
                        );
                        return Ok(());
                    }
                    Err(err) => {
                        v.find(
                            FindingKind::Unreadable,
                            p,
                            format!("Entry {i} of device {} {err}.{after}", short(client)),
                        );
                        return Ok(());
                    }
                }
            }
        }
        Ok(())
    }

    /// The attachments this device holds, by id.
    fn held_assets(&self) -> Result<BTreeMap<AssetId, AssetRef>> {
        Ok(self.local_asset_refs()?.into_iter().map(|r| (r.id, r)).collect())
    }

    /// The attachments notes link to (any note, deleted too: their files stay), by id.
    fn linked_assets(&self) -> Result<BTreeMap<AssetId, AssetRef>> {
        self.scan_refs()?;
        let mut out = BTreeMap::new();
        for u in store::assets::all_links(&self.conn)? {
            if let Ok(r) = AssetRef::parse(&u) {
                out.entry(r.id).or_insert(r);
            }
        }
        Ok(out)
    }

    /// Compares the target's copy of a held attachment with the local sealed file, streaming.
    fn compare_asset(
        &self,
        tr: &dyn Transport,
        remote: &str,
        local: &std::path::Path,
    ) -> Result<Compared> {
        let ours_len = std::fs::metadata(local).map(|m| m.len()).unwrap_or(0);
        let theirs_len = match tr.size(remote) {
            Ok(None) => return Ok(Compared::Missing),
            Ok(Some(n)) => n,
            Err(e) => return Ok(compare(&[], &Err(e))),
        };
        if theirs_len > ours_len {
            return Ok(Compared::Different);
        }
        let tmp = Temp::new(&self.dir.join("verify"))?;
        match tr.download(remote, tmp.path(), ours_len, &mut |_| {}) {
            Ok(true) => {}
            Ok(false) => return Ok(Compared::Missing),
            Err(e) => return Ok(compare(&[], &Err(e))),
        }
        let open = |p: &std::path::Path| File::open(p).map(BufReader::new);
        let (Ok(mut a), Ok(mut b)) = (open(local), open(tmp.path())) else {
            return Ok(Compared::Unreadable("the copy could not be read back".into()));
        };
        let (mut x, mut y) = (vec![0u8; 64 << 10], vec![0u8; 64 << 10]);
        let (mut prefix, mut received) = (true, 0u64);
        loop {
            let n = match b.read(&mut y) {
                Ok(n) => n,
                Err(e) => {
                    return Err(crate::Error::Invalid(format!(
                        "cannot read back the copy of an attachment just downloaded: {e}"
                    )))
                }
            };
            if n == 0 {
                break;
            }
            received += n as u64;
            if a.read_exact(&mut x[..n]).is_err() || x[..n] != y[..n] {
                prefix = false;
                break;
            }
        }
        Ok(match (prefix, prefix && received == ours_len) {
            (true, true) => Compared::Same,
            (true, false) => Compared::CutShort,
            (false, _) => Compared::Different,
        })
    }

    /// Downloads an attachment this device does not hold and checks it against its link (the
    /// hash it names); `None` when it is intact, else the kind and what is wrong.
    fn check_linked_asset(
        &self,
        tr: &dyn Transport,
        remote: &str,
        r: &AssetRef,
    ) -> Result<Option<(FindingKind, String)>> {
        let tmp = Temp::new(&self.dir.join("verify"))?;
        match tr.download(remote, tmp.path(), asset::sealed_len_limit(r.size), &mut |_| {}) {
            Ok(true) => {}
            Ok(false) => {
                return Ok(Some((
                    FindingKind::Missing,
                    "is not there; check this folder on the device that added it, and its next sync writes it again".into(),
                )))
            }
            Err(e @ TransportError::Unreachable { .. }) => return Err(e.into()),
            Err(e) => {
                return Ok(Some((FindingKind::Unreadable, format!("could not be read ({})", reason(&e)))))
            }
        }
        let input = File::open(tmp.path()).map_err(|e| {
            crate::Error::Invalid(format!("cannot read the downloaded attachment: {e}"))
        })?;
        Ok(
            match asset::open(
                &self.keys,
                &self.workspace,
                r,
                BufReader::new(input),
                std::io::sink(),
            ) {
                Ok(()) => None,
                Err(e) => Some((FindingKind::Unreadable, format!("is there but was refused: {e}"))),
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn io_err() -> TransportError {
        TransportError::Failed {
            location: "/f".into(),
            op: "read",
            path: "p".into(),
            reason: "permission denied".into(),
        }
    }

    /// What a transport's read gave.
    type Read = Result<Option<Vec<u8>>, TransportError>;

    #[test]
    fn compare_cases() {
        let ours = b"abcdef".to_vec();
        let cases: Vec<(Read, Compared)> = vec![
            (Ok(Some(b"abcdef".to_vec())), Compared::Same),
            (Ok(None), Compared::Missing),
            (Ok(Some(b"abc".to_vec())), Compared::CutShort),
            (Ok(Some(Vec::new())), Compared::CutShort),
            (Ok(Some(b"abcdeX".to_vec())), Compared::Different),
            (Ok(Some(b"abcdefg".to_vec())), Compared::Different),
            (Ok(Some(b"xbc".to_vec())), Compared::Different),
            (Err(io_err()), Compared::Unreadable("permission denied".into())),
        ];
        for (theirs, want) in cases {
            assert_eq!(compare(&ours, &theirs), want, "{theirs:?}");
        }
    }

    #[test]
    fn only_canonical_paths_name_an_index() {
        let cases: &[(&str, Option<u64>)] = &[
            ("1/0.age", Some(0)),
            ("1/999.age", Some(999)),
            ("2/1/3.age", Some(1003)),
            ("3/1/0/0.age", Some(1_000_000)),
            ("1/1000.age", None),  // a digit as large as a folder holds
            ("2/0/3.age", None),   // a leading zero: index 3 lives at 1/3
            ("1/03.age", None),    // not the canonical number
            ("2/1.age", None),     // too few levels for its count
            ("1/5.bin", None),     // another extension
            ("1/5", None),         // no extension
            ("1/x.age", None),     // not a number
            ("0/5.age", None),     // no level count 0
            ("1/5.age.tmp", None), // a temp file
        ];
        for (rel, want) in cases {
            assert_eq!(index_of_path(rel, 1000, ".age"), *want, "{rel}");
        }
        for i in [0, 7, 999, 1000, 123_456, 10_000_000] {
            let rel = path::distributed_file_path(i, 1000).join("/") + ".age";
            assert_eq!(index_of_path(&rel, 1000, ".age"), Some(i), "{rel}");
        }
    }
}
