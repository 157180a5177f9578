//! The sync executor: surveys a target, runs the pure plan from `plan`, reads/verifies/applies
//! pulled entries in batches and writes pushed entries verbatim. One target's failure never stops
//! another; one client's bad entry never stops another client's entries.

use std::collections::BTreeSet;

use serde::Serialize;
use ts_rs::TS;
use uuid::Uuid;

use crate::docs::Replica;
use crate::docs::{lazy, materialize, search_index};
use crate::error::{Error, Result};
use crate::format::entry::{self, Expected};
use crate::format::epoch::EpochId;
use crate::format::manifest::{self, Manifest};
use crate::format::path::{self, Kind};
use crate::store::{self, targets::Outcome};
use crate::sync::packs::{self, PackReading};
use crate::sync::plan::{self, ClientView, Op};
use crate::transport::Target;
use crate::transport::{read_manifest, Transport, TransportError};

/// Entries verified before they are applied in one transaction. Each note a batch touches is
/// applied, read and stored once per batch, so a batch of 1,024 pulls 10 clients' 100,000
/// one-keystroke entries in 21 s instead of 46 s at 256 (BENCHMARKS.md); 2,048 made the
/// long-lived join 5 s slower in CPU, so not more.
const PULL_BATCH: usize = 1024;
/// Entry bytes gathered before they are applied, whatever their number: large entries are
/// applied a few at a time, so a batch never holds more than this in memory.
const PULL_BATCH_BYTES: usize = 16 << 20;
/// A batch of at least this many pulled entries has SQLite keep more pages until the cycle ends
/// (`store::large_page_cache`): a long pull, not the few entries of an everyday cycle.
const LARGE_BATCH: usize = 256;
/// Most changes sealed into one entry.
pub const SEAL_MAX_CHANGES: usize = 4096;
/// About the most change bytes sealed into one entry (before compression).
pub const SEAL_MAX_BYTES: usize = 4 << 20;
/// Entries written per folder batch.
const PUSH_BATCH: usize = 256;
/// Entries of one client read in a cycle before it asks how many there are in all: a short pull
/// (the usual one, a few entries an edit elsewhere made) costs no extra request.
const COUNT_AFTER: u64 = 16;

/// What happened during a sync, for the CLI, the app's event stream and logs.
#[derive(Clone, Debug, Serialize, PartialEq, Eq, TS)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SyncEvent {
    /// A target's cycle begins.
    TargetStarted {
        /// Target id.
        target: String,
    },
    /// Entries of a client were pulled and applied.
    Pulled {
        /// Target id.
        target: String,
        /// The writing device (clientId).
        client: String,
        /// How many so far in this cycle.
        #[ts(type = "number")]
        count: u64,
    },
    /// About how many entries of a client this cycle is receiving in all (a long pull; found
    /// by probing the target, so entries written meanwhile are not counted).
    Expecting {
        /// Target id.
        target: String,
        /// The writing device (clientId).
        client: String,
        /// Entries to receive in all, counting those already received.
        #[ts(type = "number")]
        count: u64,
    },
    /// Entries of a client were written to the target.
    Pushed {
        /// Target id.
        target: String,
        /// The writing device (clientId) whose entries were written.
        client: String,
        /// How many so far in this cycle.
        #[ts(type = "number")]
        count: u64,
    },
    /// Local entries are being written to the target.
    Pushing {
        /// Target id.
        target: String,
    },
    /// Something the user should know about (bad entry, gap, repaired folder).
    Problem {
        /// Target id.
        target: String,
        /// What happened, in plain words.
        message: String,
    },
    /// A target's cycle ended.
    TargetFinished {
        /// Target id.
        target: String,
        /// Whether the target is fully in step.
        ok: bool,
    },
    /// Bytes of an attachment moved so far (uploads and downloads run apart from entries).
    AssetProgress {
        /// Target id.
        target: String,
        /// `<clientId>/<index>`.
        asset: String,
        /// The file name.
        name: String,
        /// Upload or download.
        direction: crate::sync::assets::Direction,
        /// Bytes moved so far.
        #[ts(type = "number")]
        done: u64,
        /// Bytes in all.
        #[ts(type = "number")]
        total: u64,
    },
    /// An attachment was uploaded, or downloaded and verified.
    AssetDone {
        /// Target id.
        target: String,
        /// `<clientId>/<index>` of the attachment.
        asset: String,
        /// The file name.
        name: String,
        /// Upload or download.
        direction: crate::sync::assets::Direction,
    },
}

/// The outcome of one target's cycle.
#[derive(Clone, Debug, Serialize, Default, PartialEq, Eq, TS)]
pub struct TargetReport {
    /// Target id.
    pub target: String,
    /// Location.
    pub location: String,
    /// Entries pulled and applied.
    #[ts(type = "number")]
    pub pulled: u64,
    /// Entries written.
    #[ts(type = "number")]
    pub pushed: u64,
    /// Per-entry problems (bad entries, gaps, repairs); the cycle went on.
    pub problems: Vec<String>,
    /// A failure that stopped this target's cycle.
    pub error: Option<String>,
    /// The failure was that the target could not be reached (offline, unplugged, server down).
    pub unreachable: bool,
}

impl TargetReport {
    /// True when the target is fully in step (no error, no problem).
    pub fn ok(&self) -> bool {
        self.error.is_none() && self.problems.is_empty()
    }

    /// Records a problem the user should know about and tells the event stream.
    pub(crate) fn problem(&mut self, message: String, on_event: &mut dyn FnMut(SyncEvent)) {
        on_event(SyncEvent::Problem { target: self.target.clone(), message: message.clone() });
        self.problems.push(message);
    }

    pub(crate) fn fail(&mut self, e: &Error) {
        self.unreachable = matches!(e, Error::Transport(TransportError::Unreachable { .. }));
        self.error = Some(e.to_string());
    }
}

/// An entry read and verified, waiting to be applied: its log row, file bytes and changes.
type PulledEntry = (store::LogRow, Vec<u8>, Vec<entry::NoteChange>, Vec<entry::Summary>);

/// What reading one device's entries came to.
struct Pulled {
    /// Entries taken.
    count: u64,
    /// An entry no key of this device opens stopped the read (it is read again after the pass).
    stopped: bool,
    /// A record the device wrote before its removal was read past its cutoff: which devices
    /// are removed is to be derived again.
    records_past_cutoff: bool,
}

/// One target within a cycle: what it is, how it is reached, its `index.json` and what the
/// survey found there. Carried from the pull phase to the push phase.
struct TargetRun<'a> {
    target: &'a Target,
    tr: &'a dyn Transport,
    manifest: Manifest,
    /// Whether the target's own `index.json` allows removing the single files its packs cover
    /// (FORMAT.md §11.1): only then does this device remove any there.
    fewer_files_there: bool,
    views: Vec<ClientView>,
    /// Whether the target's root holds a `keys/` folder (FORMAT.md §5.2), as the survey's
    /// listing showed: an idle cycle lists it only then.
    keys_dir: bool,
}

impl TargetRun<'_> {
    fn entry_path(&self, client: &Uuid, index: u64) -> String {
        entry_path(&self.manifest, client, index)
    }
}

/// How writing one batch of entries to a target ended.
enum BatchEnd {
    /// Every file was written or already there: go on with the next batch.
    Written,
    /// The target holds other bytes at an entry's name (reported); this client stops here.
    Conflict,
    /// The target failed: the cycle with it stops.
    Failed(TransportError),
}

impl Replica {
    /// One sync cycle with the given targets and transports. Local changes are first sealed
    /// into entries (batched), then pulled and pushed.
    pub(crate) fn sync_with(
        &mut self,
        targets: &[(&Target, &dyn Transport)],
        on_event: &mut dyn FnMut(SyncEvent),
    ) -> Result<Vec<TargetReport>> {
        if !targets.is_empty() {
            // Keys another connection learnt (the app's window, a CLI beside it) first.
            crate::docs::replica::refresh_keys(&self.conn, &self.keys)?;
            self.seal_pending(SEAL_MAX_CHANGES, SEAL_MAX_BYTES)?;
        }
        let mut reports: Vec<TargetReport> = Vec::new();
        let mut runs: Vec<Option<TargetRun>> = Vec::new();
        // Where this cycle began reading each device: what it held before is below.
        let mut began: std::collections::BTreeMap<Uuid, u64> = Default::default();
        for (t, tr) in targets {
            on_event(SyncEvent::TargetStarted { target: t.id.clone() });
            let mut rep = TargetReport {
                target: t.id.clone(),
                location: t.location.clone(),
                ..Default::default()
            };
            let run = match self.survey(t, *tr, &mut rep) {
                Ok(run) => {
                    if let Err(e) = self.pull(&run, &mut rep, &mut began, on_event) {
                        rep.fail(&e);
                    }
                    Some(run)
                }
                Err(e) => {
                    rep.fail(&e);
                    None
                }
            };
            runs.push(run);
            reports.push(rep);
        }
        self.settle()?;
        for (run, rep) in runs.into_iter().zip(reports.iter_mut()) {
            let t = rep.target.clone();
            if let (Some(mut run), None) = (run, &rep.error) {
                // Every target's pulls are done: plan the pushes from what is known now.
                let heads = store::heads(&self.conn)?;
                let mut known = std::collections::BTreeMap::new();
                for v in &run.views {
                    known.insert(
                        v.client,
                        store::remote_upto(&self.conn, &run.target.id, &v.client)?,
                    );
                }
                run.views = plan::after_pulls(&run.views, &heads, &known);
                on_event(SyncEvent::Pushing { target: t.clone() });
                if let Err(e) = self.push(&run, rep, on_event) {
                    rep.fail(&e);
                }
                match self.copy_key_wraps(&run.target.id, run.tr, run.keys_dir) {
                    Ok(None) => {}
                    Ok(Some(problem)) => rep.problem(problem, on_event),
                    Err(e) => rep.problem(
                        format!("the new passphrase could not be written to {}: {e}; the next sync tries again.", run.tr.location()),
                        on_event,
                    ),
                }
                if let Err(e) = self.sweep_invitations(run.target, run.tr) {
                    tracing::warn!("expired invitations were not removed: {e}");
                }
            }
            let problems = rep.problems.join(" ");
            let outcome = match (&rep.error, rep.problems.is_empty()) {
                (None, true) => Outcome::Ok,
                (None, false) => Outcome::Problems(&problems),
                (Some(e), _) => Outcome::Failed(e),
            };
            store::targets::record_outcome(&self.conn, &t, outcome, self.now())?;
            on_event(SyncEvent::TargetFinished { target: t, ok: rep.ok() });
        }
        store::large_page_cache(&self.conn, false)?;
        store::checkpoint(&self.conn)?;
        Ok(reports)
    }

    fn survey<'a>(
        &mut self,
        t: &'a Target,
        tr: &'a dyn Transport,
        rep: &mut TargetReport,
    ) -> Result<TargetRun<'a>> {
        tr.check()?;
        let location = tr.location();
        let (manifest, fewer_files_there) = match read_manifest(tr)? {
            Some(m) => {
                let found_version = m.format_version;
                let m = self.pinned_manifest(m, &location)?;
                let mut there = found_version >= manifest::FEWER_FILES;
                if m.format_version > found_version {
                    // This workspace moved to fewer files: the target learns it (a device of an
                    // older version then asks to be updated instead of missing files).
                    match tr.overwrite("index.json", &m.to_bytes()) {
                        Ok(()) => there = m.fewer_files(),
                        Err(e) => tracing::warn!("index.json of {location} was not updated: {e}"),
                    }
                }
                (m, there)
            }
            None => {
                // The folder was emptied or replaced: write our copy of index.json back.
                let text = store::meta(&self.conn, "manifest")?
                    .ok_or_else(|| Error::NotAWorkspace(location.clone()))?;
                let m = Manifest::parse(text.as_bytes(), "local copy")?;
                tr.write_new("index.json", &m.to_bytes())?;
                rep.problems.push(format!("{location} had no index.json; it was written again."));
                let there = m.fewer_files();
                (m, there)
            }
        };
        let root = tr.list("")?;
        let keys_dir = root.iter().any(|n| n == crate::format::epoch::KEYS_DIR);
        let remote_clients: BTreeSet<Uuid> =
            root.iter().filter_map(|n| path::parse_client_dir(n)).collect();
        let heads = store::heads(&self.conn)?;
        let mut clients: BTreeSet<Uuid> = remote_clients.clone();
        clients.extend(heads.iter().map(|(c, _)| *c));
        let mut views = Vec::new();
        for c in clients {
            let remote_known = store::remote_upto(&self.conn, &t.id, &c)?;
            let remote_known_present = match remote_known {
                Some(i) if remote_clients.contains(&c) => {
                    tr.exists(&entry_path(&manifest, &c, i))?
                        || manifest.fewer_files() && packs::covered(tr, &manifest, &c, i)?
                }
                _ => false,
            };
            views.push(ClientView {
                client: c,
                local_head: heads.iter().find(|(h, _)| *h == c).map(|(_, i)| *i),
                remote_known,
                remote_known_present,
                remote_has_folder: remote_clients.contains(&c),
            });
        }
        Ok(TargetRun { target: t, tr, manifest, fewer_files_there, views, keys_dir })
    }

    /// The pull phase with one target: every client's new entries, read, verified and applied.
    fn pull(
        &mut self,
        run: &TargetRun,
        rep: &mut TargetReport,
        began: &mut std::collections::BTreeMap<Uuid, u64>,
        on_event: &mut dyn FnMut(SyncEvent),
    ) -> Result<()> {
        // An entry of a key epoch whose record another device wrote opens once that record is
        // read, which may come later in the pass (clients are read in id order): such entries
        // are read again after the pass, and only what still does not open is reported.
        let mut waiting = Vec::new();
        let pulled_before = rep.pulled;
        // Whether a removed device's record written before its removal was read (below).
        let mut records_past_cutoff = false;
        for op in plan::plan(&run.views).pulls {
            if let Op::Pull { client, from } = op {
                began.entry(client).or_insert(from);
                let pulled = self.pull_client(run, &client, from, rep, true, on_event)?;
                rep.pulled += pulled.count;
                records_past_cutoff |= pulled.records_past_cutoff;
                if pulled.stopped {
                    waiting.push(client);
                }
            }
        }
        for client in waiting {
            let from = store::head(&self.conn, &client)?.map_or(0, |(i, _)| i + 1);
            let pulled = self.pull_client(run, &client, from, rep, false, on_event)?;
            rep.pulled += pulled.count;
            records_past_cutoff |= pulled.records_past_cutoff;
        }
        // A record read in this pass may remove a device, or an entry raise a cutoff. Only
        // what this device held before this sync is worth a word: what it took in the same
        // sync was never shown.
        if rep.pulled > pulled_before
            || records_past_cutoff
            || store::meta(&self.conn, crate::docs::removals::STALE)?.is_some()
        {
            let refused_before = store::removals::removed(&self.conn)?;
            let mut dropped = self.refresh_removed()?;
            // A record read past a cutoff may have voided the removal that set it: that
            // device's entries are read now, not at the next sync, and may raise cutoffs.
            let refused_now = store::removals::removed(&self.conn)?;
            let mut again = false;
            for client in refused_before.keys().filter(|c| !refused_now.contains_key(c)) {
                let from = store::head(&self.conn, client)?.map_or(0, |(i, _)| i + 1);
                began.entry(*client).or_insert(from);
                let count = self.pull_client(run, client, from, rep, false, on_event)?.count;
                rep.pulled += count;
                again |= count > 0;
            }
            if again {
                dropped.extend(self.refresh_removed()?);
            }
            for d in dropped {
                let (client, r) = (d.client, d.why);
                let head_before = match began.get(&client) {
                    Some(from) => from.checked_sub(1),
                    None => Some(d.head),
                };
                let held =
                    head_before.map_or(0, |h| r.cutoff.map_or(h + 1, |c| h.saturating_sub(c)));
                if held == 0 {
                    continue;
                }
                let msg = if r.by.is_some() {
                    format!(
                        "what {} wrote after it was removed from the workspace was taken back out of your notes ({held} sync(s) of it).",
                        device_called(&self.conn, &client)
                    )
                } else {
                    format!(
                        "what {} wrote was taken out of your notes until it is let in: it joined around the time a device was removed from the workspace ({held} sync(s) of it).",
                        device_called(&self.conn, &client)
                    )
                };
                rep.problem(msg, on_event);
            }
        }
        Ok(())
    }

    /// The push phase with one target: repairs of a target that lost entries, then every
    /// entry it lacks, verbatim.
    fn push(
        &mut self,
        run: &TargetRun,
        rep: &mut TargetReport,
        on_event: &mut dyn FnMut(SyncEvent),
    ) -> Result<()> {
        let t = run.target;
        for op in plan::plan(&run.views).pushes {
            match op {
                Op::WentBackwards { client, had } => {
                    let msg = format!(
                        "{} lost entries of {} it held before (up to entry {had}), perhaps restored from an old backup; they are being written again.",
                        run.tr.location(),
                        device_called(&self.conn, &client)
                    );
                    store::set_remote_upto(&self.conn, &t.id, &client, None)?;
                    store::packs::forget(&self.conn, &t.id, &client)?;
                    rep.problem(msg, on_event);
                }
                Op::Push { client, from, to } => {
                    rep.pushed += self.push_client(run, &client, (from, to), rep, on_event)?;
                }
                Op::Pull { .. } => {}
            }
        }
        // Packs of the blocks that became whole (FORMAT.md §11): never needed, so a failure is
        // only logged and the sync goes on; the next cycle tries again.
        if let Err(e) = self.write_packs(t, run.tr, &run.manifest, run.fewer_files_there) {
            tracing::warn!("packs were not written to {}: {e}", run.tr.location());
        } else if run.fewer_files_there {
            if let Err(e) = self.remove_covered(t, run.tr, &run.manifest) {
                tracing::warn!(
                    "files covered by packs were not removed from {}: {e}",
                    run.tr.location()
                );
            }
        }
        Ok(())
    }

    /// Reads `client`'s entries from `from` on. With `defer_undecryptable`, an entry no key of
    /// this device opens stops the read without a word ([`Pulled::stopped`]): the caller
    /// reads again once the pass has read every other device's records.
    fn pull_client(
        &mut self,
        run: &TargetRun,
        client: &Uuid,
        from: u64,
        rep: &mut TargetReport,
        defer_undecryptable: bool,
        on_event: &mut dyn FnMut(SyncEvent),
    ) -> Result<Pulled> {
        let (t, tr) = (run.target, run.tr);
        // A removed device's entries past its cutoff, and a held-back device's, are refused
        // wherever they come from (FORMAT.md §5.2): not taken, only looked through for records
        // written before its removal.
        let refusal = store::removals::of(&self.conn, client)?;
        if refusal.is_some_and(|r| r.refuses(from)) {
            let records_past_cutoff = self.read_records_past_cutoff(run, client)?;
            return Ok(Pulled { count: 0, stopped: false, records_past_cutoff });
        }
        let mut stopped = false;
        let mut prev = store::link_before(&self.conn, client, from)?;
        let mut batch: Vec<PulledEntry> = Vec::new();
        let mut batch_bytes = 0usize;
        // What the pulled entries' clocks say exists of other devices: the newest of each, and
        // the writer's time of the entry that said so (store/claims.rs).
        let mut claims: std::collections::BTreeMap<Uuid, (u64, i64)> = Default::default();
        let mut total = 0u64;
        let mut n = from;
        // When (entries read this cycle) the pull next counts how many are coming.
        let mut count_at = COUNT_AFTER;
        let left_out_before = store::notes::left_out_count(&self.conn)?;
        // An entry refused for what its bytes are is not parsed or reported again while the
        // same bytes sit there (a bomb is not inflated on every cycle); other files are read.
        let refused = store::targets::refused(&self.conn, &t.id, client)?;
        // Read one entry first (an idle cycle costs one request); while entries keep coming,
        // read ahead in growing windows so a long pull is not a series of round trips.
        let max_ahead = tr.read_ahead().max(1) as u64;
        let mut ahead = 1u64;
        let mut window: std::collections::VecDeque<Result<Option<Vec<u8>>, TransportError>> =
            Default::default();
        // What is read from packs (FORMAT.md §11) instead of single files.
        let mut packs = PackReading::refusing(refused.clone());
        // The `lead` of the entries read in this pull, not all stored yet, which places a record
        // among them in the order of removals (FORMAT.md §5.2).
        let mut read_lead: Option<i64> = None;
        loop {
            if refusal.is_some_and(|r| r.refuses(n)) {
                break;
            }
            // At the first entry of a block, once entries are coming (not in an idle cycle), a
            // pack may hold it and the rest of its block: one read instead of one per entry.
            if (n > from || from == 0)
                && self.look_for_pack(&mut packs, &t.id, tr, &run.manifest, client, n, false)?
            {
                window.clear();
            }
            let (bytes, file_key, decoded) = if let Some((bytes, key, d)) = packs.next() {
                (bytes, Some(key), Some(d))
            } else {
                if window.is_empty() {
                    let paths: Vec<String> =
                        (n..n + ahead).map(|i| run.entry_path(client, i)).collect();
                    window.extend(tr.read_many(&paths));
                    ahead = (ahead * 2).min(max_ahead);
                }
                let bytes = match window.pop_front().expect("window was just filled") {
                    Ok(Some(b)) => b,
                    Ok(None)
                        if run.manifest.fewer_files()
                            && self.look_for_pack(
                                &mut packs,
                                &t.id,
                                tr,
                                &run.manifest,
                                client,
                                n,
                                true,
                            )? =>
                    {
                        // Its single file was removed: a pack holds it (FORMAT.md §11.1).
                        window.clear();
                        continue;
                    }
                    Ok(None) if run.manifest.fewer_files() && packs.damage_at(n).is_some() => {
                        // Its file was removed and the pack holding it cannot be used (still being
                        // copied, or damaged): say so, and how it is written again.
                        let msg = format!(
                            "entry {n} from {} is in a pack on {} that cannot be read ({}); waiting for it. If this stays, checking that folder or server on a device that has this entry (resnotes verify, or “Check this folder”) writes it again.",
                            device_called(&self.conn, client),
                            tr.location(),
                            packs.damage_at(n).unwrap_or_default()
                        );
                        store::record_entry_error(&self.conn, &t.id, client, n, &msg, self.now())?;
                        rep.problem(msg, on_event);
                        break;
                    }
                    Ok(None) => {
                        // A later entry may already be in the window; else ask the target.
                        let later = match window.front() {
                            Some(Ok(Some(_))) => true,
                            Some(_) => false,
                            None => tr.exists(&run.entry_path(client, n + 1))?,
                        };
                        if later {
                            let msg = format!("entry {n} from {} is missing on {} while later ones exist; waiting for it.", device_called(&self.conn, client), tr.location());
                            store::record_entry_error(
                                &self.conn,
                                &t.id,
                                client,
                                n,
                                &msg,
                                self.now(),
                            )?;
                            rep.problem(msg, on_event);
                        }
                        break;
                    }
                    Err(e) => {
                        // Unreadable file (permissions, I/O): this client waits, others go on.
                        let msg = format!(
                            "entry {n} from device {} could not be read: {e}; will retry.",
                            short(client)
                        );
                        store::record_entry_error(&self.conn, &t.id, client, n, &msg, self.now())?;
                        rep.problems.push(msg);
                        break;
                    }
                };
                (bytes, None, None)
            };
            // Hashed only where a refusal is on record (nearly never), not for every entry.
            if refused.get(&n).is_some_and(|d| *d == entry::sha256(&bytes)) {
                if file_key.is_some() {
                    // A pack's old copy of a refused file: the single file may have been put
                    // right since, and decides.
                    packs.abandon();
                    continue;
                }
                break;
            }
            let want = Expected {
                workspace: self.workspace,
                client: *client,
                index: n,
                prev_hash: prev.hash,
                prev_signer: prev.signer,
            };
            // The file key of an entry read from its single file: with it, this device can write
            // the pack of its block to the targets it relays to (FORMAT.md §11).
            let mut seen_key = None;
            let accepted = match decoded {
                Some(d) => d.and_then(|e| entry::check_place(e, &want)),
                None => {
                    entry::accept_in_seeing_file_key(&bytes, &self.keys, &want).map(|(e, k)| {
                        seen_key = k;
                        e
                    })
                }
            };
            let checked = accepted.and_then(|e| {
                // This device's own entries (pulled back after a restore) are signed by its key
                // or, before it signed, by none: never by another key (FORMAT.md §5.1).
                match e.signer {
                    Some(s) if *client == self.client && s != self.device.public() => Err(
                        entry::EntryError::WrongSigner("signed by another key than this device's"),
                    ),
                    _ => Ok(e),
                }
            });
            // An entry read from a pack must be of the epoch the pack names (FORMAT.md §11).
            let checked =
                checked
                    .and_then(|e| if file_key.is_some() { packs.of_its_epoch(e) } else { Ok(e) });
            match checked {
                Err(_) if file_key.is_some() => {
                    // The pack's copy fails: the single file decides (FORMAT.md §11).
                    packs.abandon();
                    continue;
                }
                Ok(e) => {
                    if let Some(key) = file_key {
                        packs.accepted(n, key, e.epoch);
                    } else if e.keys.is_none() {
                        // A record is never in a pack (FORMAT.md §11): no key kept for it.
                        packs.accepted(n, seen_key, e.epoch);
                    }
                    prev = store::log::Link { hash: e.hash, signer: e.signer };
                    if n == 0 {
                        // What decides whether it is admitted once a device is removed.
                        let first = crate::docs::removals::first_entry(&e);
                        store::removals::keep_first(&self.conn, &first)?;
                    }
                    if let Some(keys) = &e.keys {
                        let started = EpochId { client: *client, index: n };
                        self.learn_epoch(started, e.header.lamport, read_lead, keys)?;
                    }
                    read_lead = crate::docs::removals::lead_after(read_lead, n, e.header.lamport);
                    let h = &e.header;
                    for (other, k) in e.clock.iter().filter(|(c, _)| *c != self.client) {
                        let said = claims.entry(*other).or_insert((*k, h.timestamp));
                        if *k >= said.0 {
                            *said = (*k, h.timestamp);
                        }
                    }
                    let row = store::LogRow {
                        client: *client,
                        index: n,
                        timestamp: h.timestamp,
                        lamport: h.lamport,
                        hash: e.hash,
                        prev_hash: h.prev_hash,
                        signer: e.signer,
                    };
                    batch_bytes += bytes.len();
                    batch.push((row, bytes, e.changes, e.summaries));
                    n += 1;
                    if n - from == count_at {
                        // A long pull: find how far the entries go, for the progress shown; again
                        // once the pull goes past that (entries still being written). Best
                        // effort: a failed probe only leaves the total unknown.
                        let probed = last_present(n - 1, |i| tr.exists(&run.entry_path(client, i)));
                        if let Ok(last) = probed {
                            let count = last + 1 - from;
                            on_event(SyncEvent::Expecting {
                                target: t.id.clone(),
                                client: client.to_string(),
                                count,
                            });
                            count_at = count + 1;
                        } else {
                            count_at = u64::MAX;
                        }
                    }
                }
                Err(entry::EntryError::Undecryptable(_)) if defer_undecryptable => {
                    stopped = true;
                    break;
                }
                Err(err) => {
                    let msg = if matches!(err, entry::EntryError::Undecryptable(_))
                        && self.misses_newest_key(tr, |e| run.entry_path(&e.client, e.index))?
                    {
                        store::set_meta(&self.conn, store::epochs::MISSING_KEY, "1")?;
                        format!("entry {n} from {} was written with a key this device has not got: the workspace's passphrase was changed while this device could not be given the new key, or this device was removed from the workspace. If it is still one of yours, type the workspace's current passphrase on it to read on.", device_called(&self.conn, client))
                    } else {
                        format!("entry {n} from {} {err}", device_called(&self.conn, client))
                    };
                    let msg = if msg.ends_with('.') { msg } else { format!("{msg}.") };
                    let msg = if err.is_final() {
                        format!("{msg} It is not read again unless the file changes; this device's later entries wait, other devices' entries are read.")
                    } else {
                        msg
                    };
                    let now = self.now();
                    store::record_entry_error(&self.conn, &t.id, client, n, &msg, now)?;
                    if err.is_final() {
                        let digest = entry::sha256(&bytes);
                        store::targets::set_refused(&self.conn, &t.id, client, n, &digest)?;
                    }
                    rep.problem(msg, on_event);
                    break;
                }
            }
            if batch.len() >= PULL_BATCH || batch_bytes >= PULL_BATCH_BYTES {
                batch_bytes = 0;
                total += self.apply_batch(t, client, std::mem::take(&mut batch))?;
                on_event(SyncEvent::Pulled {
                    target: t.id.clone(),
                    client: client.to_string(),
                    count: total,
                });
                if store::search::pulled_count(&self.conn)? > search_index::PULLED_BACKLOG {
                    self.index_pulled_or_say(rep, on_event);
                }
            }
        }
        if !batch.is_empty() {
            total += self.apply_batch(t, client, batch)?;
            on_event(SyncEvent::Pulled {
                target: t.id.clone(),
                client: client.to_string(),
                count: total,
            });
        }
        if total > 0 {
            self.index_pulled_or_say(rep, on_event);
        }
        self.keep_what_packs_gave(&t.id, client, &packs)?;
        self.note_abandoned(&t.id, &packs);
        if !claims.is_empty() {
            let tx = store::write_tx(&self.conn)?;
            let since = self.now();
            for (other, (index, written_at)) in claims {
                let claim =
                    store::claims::Claim { client: other, index, via: *client, written_at, since };
                store::claims::note(&tx, &claim)?;
            }
            tx.commit()?;
        }
        let left_out = store::notes::left_out_count(&self.conn)? - left_out_before;
        if left_out > 0 {
            let msg = format!(
                "{left_out} change(s) from device {} could not be read and were left out of their notes (the rest of each note is there); `resnotes status` lists them.",
                short(client)
            );
            rep.problem(msg, on_event);
        }
        let records_past_cutoff =
            refusal.is_some_and(|r| r.refuses(n)) && self.read_records_past_cutoff(run, client)?;
        Ok(Pulled { count: total, stopped, records_past_cutoff })
    }

    /// Looks through a removed device's entries past its cutoff for epoch records placed
    /// before the removal that removed it (FORMAT.md §5.2, "Records past a cutoff"): such a
    /// record's removals are taken before that removal and may void it, so a device that read
    /// the removal first comes to the same answer as one that read both at once. What each
    /// record passed says is kept, its key too (it opens what follows, as for a device that took
    /// these entries before it knew of the removal; no device writes in it, `store::epochs`), but
    /// none of the entries: once a record voids the removal, they are read as any. With a mark
    /// that which devices are removed is to be derived again, in one transaction. The look
    /// stops at the first entry placed at or after the removal (places grow strictly along a
    /// log, so no later one comes before it), and goes on from where it stopped at the next
    /// sync; another removal or cutoff starts it again. Returns whether a removal was kept.
    fn read_records_past_cutoff(&mut self, run: &TargetRun, client: &Uuid) -> Result<bool> {
        if *client == self.client {
            // This device's own records are in its log.
            return Ok(false);
        }
        let Some((bound, removed)) = store::removals::removed_at(&self.conn, client)? else {
            return Ok(false);
        };
        let Some(record) = removed.by else { return Ok(false) };
        let start = removed.cutoff.map_or(0, |c| c + 1);
        let mut look = match store::removals::past_cutoff(&self.conn, client)? {
            Some(p) if p.cutoff == removed.cutoff && p.removal == (record, bound) => p,
            _ => store::removals::PastCutoff {
                cutoff: removed.cutoff,
                removal: (record, bound),
                next: start,
                link: store::link_before(&self.conn, client, start)?,
                lead: store::log::lead_before(&self.conn, client, start)?,
                done: false,
            },
        };
        if look.done {
            return Ok(false);
        }
        let before = look;
        // Records passed: (the record, its Lamport clock, the `lead` before it, what it says).
        let mut records: Vec<(EpochId, u64, Option<i64>, crate::format::epoch::KeysSection)> =
            Vec::new();
        // Entries whose single files were removed are read from their packs (FORMAT.md §11.1).
        let mut packs = PackReading::refusing(Default::default());
        loop {
            let n = look.next;
            let want = Expected {
                workspace: self.workspace,
                client: *client,
                index: n,
                prev_hash: look.link.hash,
                prev_signer: look.link.signer,
            };
            let opened = if let Some((_, _, d)) = packs.next() {
                // As in the pull: an entry read from a pack is of the epoch the pack names.
                d.and_then(|e| entry::check_place(e, &want)).and_then(|e| packs.of_its_epoch(e))
            } else {
                match run.tr.read(&run.entry_path(client, n)) {
                    Ok(Some(bytes)) => entry::accept_in(&bytes, &self.keys, &want),
                    Ok(None)
                        if run.manifest.fewer_files()
                            && self.look_for_pack(
                                &mut packs,
                                &run.target.id,
                                run.tr,
                                &run.manifest,
                                client,
                                n,
                                true,
                            )? =>
                    {
                        continue;
                    }
                    // Not there (yet), or not readable now: looked at again at the next sync.
                    Ok(None) | Err(_) => break,
                }
            };
            // An entry that does not open or is not what its place says ends the look; it is
            // taken up again from there (a key may arrive, the file be put right).
            let Ok(e) = opened else { break };
            let place = crate::docs::removals::place(n, e.header.lamport, look.lead);
            if !crate::docs::removals::may_come_before((place, *client), (bound, record.client)) {
                look.done = true;
                break;
            }
            if let Some(keys) = e.keys {
                // Its key opens what follows it, as it does for a device that took these
                // entries before it knew of the removal (and kept the key).
                let started = EpochId { client: *client, index: n };
                self.keys.learn(started, &keys.identity);
                records.push((started, e.header.lamport, look.lead, keys));
            }
            look.link = store::log::Link { hash: e.hash, signer: e.signer };
            look.lead = crate::docs::removals::lead_after(look.lead, n, e.header.lamport);
            look.next += 1;
        }
        if look == before && store::removals::past_cutoff(&self.conn, client)?.is_some() {
            return Ok(false);
        }
        let found = records.iter().any(|(_, _, _, keys)| !keys.removals.is_empty());
        let tx = store::write_tx(&self.conn)?;
        for (started, lamport, lead, keys) in &records {
            crate::docs::replica::keep_epoch(&tx, &self.keys, *started, *lamport, *lead, keys)?;
        }
        store::removals::set_past_cutoff(&tx, client, &look)?;
        if found {
            store::set_meta(&tx, crate::docs::removals::STALE, "1")?;
        }
        tx.commit()?;
        Ok(found)
    }

    /// Indexes the notes pulled so far ([`Replica::index_pulled`]). The entries are stored
    /// whatever happens here: a failure is reported, and the marks stay for the next search or
    /// pull.
    fn index_pulled_or_say(&self, rep: &mut TargetReport, on_event: &mut dyn FnMut(SyncEvent)) {
        if let Err(e) = self.index_pulled() {
            let msg = format!("the notes just received could not be prepared for search yet ({e}); they are found once that succeeds, at the next search or sync.");
            rep.problem(msg, on_event);
        }
    }

    fn apply_batch(&mut self, t: &Target, client: &Uuid, batch: Vec<PulledEntry>) -> Result<u64> {
        if batch.len() >= LARGE_BATCH {
            // Given back at the end of the cycle ([`Replica::sync_with`]).
            store::large_page_cache(&self.conn, true)?;
        }
        let now = self.now();
        let tx = store::write_tx(&self.conn)?;
        let head = store::head(&tx, client)?.map(|(i, _)| i);
        let mut changes = Vec::new();
        let mut decided = lazy::Batch::default();
        let mut added = 0;
        let first = batch.first().map(|(row, ..)| row.index);
        let mut last = None;
        for (row, bytes, ch, summaries) in batch {
            last = Some(row.index);
            if head.is_some_and(|h| row.index <= h) {
                continue; // another process on this data dir got it first
            }
            store::insert_entry(&tx, &row, &bytes, now)?;
            let taken = lazy::take(&tx, &row, ch, &summaries, &mut decided)?;
            changes.extend(materialize::parse_lenient(&tx, taken)?);
            added += 1;
        }
        lazy::finish(&tx, decided)?;
        let mut scratch = materialize::DocCache::default();
        std::mem::swap(&mut scratch, self.docs.get_mut());
        let applied = materialize::apply_parsed(
            &tx,
            &mut scratch,
            &self.client,
            changes,
            materialize::Origin::Pull,
        );
        if applied.is_err() {
            scratch.clear();
        }
        applied?;
        if let (Some(first), Some(last)) = (first, last) {
            // The target holds what was just read from it; the mark says "everything up to
            // here", so it moves only when it joins up with this batch. A mark held back (a
            // check found an earlier entry gone there) stays, and the next push writes from it.
            let mark = store::remote_upto(&tx, &t.id, client)?;
            if mark.map_or(first == 0, |u| u.saturating_add(1) >= first) {
                let upto = mark.map_or(last, |u| u.max(last));
                store::set_remote_upto(&tx, &t.id, client, Some(upto))?;
            }
            store::clear_entry_errors(&tx, &t.id, client, last)?;
        }
        tx.commit()?;
        // Documents touched in the transaction are valid now that it committed.
        *self.docs.get_mut() = scratch;
        Ok(added)
    }

    /// Settles the notes listed from summaries that received entries (see [`unbuilt`]): keeps
    /// the rows whose summary is exact and builds the others' documents, in one transaction.
    /// Then drops stored documents beyond the most recently edited ones
    /// ([`lazy::evict`]), so local storage does not hold every document twice (log and save).
    pub(crate) fn settle(&mut self) -> Result<u64> {
        let tx = store::write_tx(&self.conn)?;
        let mut scratch = materialize::DocCache::default();
        let built = lazy::settle(&tx, &self.keys, &self.client, &mut scratch)?;
        let evicted = lazy::evict(&tx, lazy::KEEP_DOCUMENTS)?;
        tx.commit()?;
        self.docs.get_mut().absorb(scratch);
        if evicted > 0 {
            store::reclaim(&self.conn)?;
        }
        Ok(built)
    }

    fn push_client(
        &mut self,
        run: &TargetRun,
        client: &Uuid,
        (from, to): (u64, u64),
        rep: &mut TargetReport,
        on_event: &mut dyn FnMut(SyncEvent),
    ) -> Result<u64> {
        let (t, tr) = (run.target, run.tr);
        let mut written = 0;
        let mut start = from;
        while start <= to {
            let last = to.min(start + PUSH_BATCH as u64 - 1);
            let mut files = Vec::new();
            for i in start..=last {
                let data = store::entry_data(&self.conn, client, i)?.ok_or_else(|| {
                    crate::docs::DocError::Damaged(format!(
                        "the local log lacks entry {i} of {client}"
                    ))
                })?;
                files.push((run.entry_path(client, i), data));
            }
            let results = tr.write_batch(&files);
            let mut upto = if start == 0 { None } else { Some(start - 1) };
            let mut end = BatchEnd::Written;
            for (i, r) in (start..=last).zip(results) {
                match r {
                    Ok(w) => {
                        if w == crate::transport::Written::Created {
                            written += 1;
                        }
                        upto = Some(i);
                    }
                    Err(TransportError::Conflict { .. }) => {
                        let (path, data) = &files[(i - start) as usize];
                        if let Some(what) = self.impostor(run, client, i)? {
                            if let Err(e) = tr.overwrite(path, data) {
                                end = BatchEnd::Failed(e);
                                break;
                            }
                            written += 1;
                            upto = Some(i);
                            let msg = format!(
                                "{} held {what} where entry {i} of device {} belongs; it was replaced by the real one.",
                                tr.location(),
                                short(client)
                            );
                            tracing::warn!("{msg}");
                            rep.problem(msg, on_event);
                            continue;
                        }
                        let msg = format!(
                            "{} holds different bytes for entry {i} of device {} than this device; it was left untouched (was this data dir restored from an old backup?).",
                            tr.location(),
                            short(client)
                        );
                        rep.problem(msg, on_event);
                        end = BatchEnd::Conflict;
                        break;
                    }
                    Err(e) => {
                        end = BatchEnd::Failed(e);
                        break;
                    }
                }
            }
            if let Some(u) = upto {
                store::set_remote_upto(&self.conn, &t.id, client, Some(u))?;
            }
            on_event(SyncEvent::Pushed {
                target: t.id.clone(),
                client: client.to_string(),
                count: written,
            });
            match end {
                BatchEnd::Failed(e) => return Err(e.into()),
                BatchEnd::Conflict => break,
                BatchEnd::Written => {}
            }
            start = last + 1;
        }
        Ok(written)
    }
}

/// What a forged entry is called when one is replaced.
const FORGED: &str =
    "an entry forged by someone who has the workspace key (not written by the device it names)";
/// What a file that is no entry at all is called when one is replaced.
const DAMAGED: &str = "a damaged file";

impl Replica {
    /// What the file a target holds where entry `index` of `client` goes (other bytes than the
    /// entry held here) is, when it is certainly not that entry (FORMAT.md §6.1): bad in itself
    /// (a MAC or signature that does not verify, malformed, misplaced, too large), or — where the
    /// target holds the same entry `index − 1` as this device — not signed by the key that
    /// signed it, or not following it; at this device's own places, also an entry it did not
    /// sign. `None` leaves the file alone: an entry readers would accept as well (a device that
    /// wrote two entries with one number, unsigned twins), or one this device cannot judge (not
    /// arrived, not readable with its key, a newer version, a chain it does not share).
    fn impostor(&self, run: &TargetRun, client: &Uuid, index: u64) -> Result<Option<&'static str>> {
        use entry::EntryError as E;
        let Some(there) = run.tr.read(&run.entry_path(client, index))? else { return Ok(None) };
        let prev = store::link_before(&self.conn, client, index)?;
        let want = Expected {
            workspace: self.workspace,
            client: *client,
            index,
            prev_hash: prev.hash,
            prev_signer: prev.signer,
        };
        Ok(match entry::accept_in(&there, &self.keys, &want) {
            Ok(e)
                if *client == self.client
                    && e.signer.is_some_and(|s| s != self.device.public()) =>
            {
                Some(FORGED)
            }
            Ok(_) => None,
            Err(E::BadMac | E::BadSignature(_)) => Some(FORGED),
            Err(E::Malformed(_) | E::TooLarge | E::Misplaced { .. }) => Some(DAMAGED),
            Err(E::WrongSigner(_) | E::ChainBroken) if self.same_before(run, client, index)? => {
                Some(FORGED)
            }
            Err(_) => None,
        })
    }

    /// True when the target holds exactly the entry `index − 1` of `client` this device holds
    /// (entries are copied verbatim, so equal bytes are the same entry): the target and this
    /// device share that chain, so this device's entry `index` is the one that follows it there.
    fn same_before(&self, run: &TargetRun, client: &Uuid, index: u64) -> Result<bool> {
        let Some(before) = index.checked_sub(1) else { return Ok(true) };
        let ours = store::entry_data(&self.conn, client, before)?;
        let there = run.tr.read(&run.entry_path(client, before))?;
        Ok(ours.is_some() && ours == there)
    }
}

/// The last index present, given that `known` is present and that entries are contiguous (a gap
/// ends the count early, which only makes the estimate low): doubling steps find an index that
/// is absent, then halving finds the last present — about 2·log₂(n) probes for n entries.
pub(crate) fn last_present<E>(
    known: u64,
    mut exists: impl FnMut(u64) -> std::result::Result<bool, E>,
) -> std::result::Result<u64, E> {
    let (mut lo, mut step) = (known, 1u64);
    let mut hi = loop {
        let probe = lo.saturating_add(step);
        if probe == lo || !exists(probe)? {
            break probe;
        }
        lo = probe;
        step = step.saturating_mul(2);
    };
    // lo is present, hi is absent (or the end of the numbers).
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if exists(mid)? {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Ok(lo)
}

/// Where entry `index` of `client` lives in a target described by `m`.
pub(crate) fn entry_path(m: &Manifest, client: &Uuid, index: u64) -> String {
    path::entry_path(client, Kind::Changes, index, m.max_entries_per_folder, &m.change_extension)
}

/// The first 8 characters of a clientId, as shown to users.
pub(crate) fn short(id: &Uuid) -> String {
    id.to_string()[..8].to_string()
}

/// A device as messages name it: the name it gave itself ("Old phone"), else "device" and the
/// start of its id.
pub(crate) fn device_called(conn: &rusqlite::Connection, id: &Uuid) -> String {
    match store::notes::device_name(conn, id) {
        Ok(Some(name)) => name,
        _ => format!("device {}", short(id)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::crypto::WorkspaceKey;
    use crate::transport::{Fault, Memory, TargetKind};
    use crate::Workspace;

    fn replica(dir: &std::path::Path) -> Workspace {
        Workspace::init(dir, false, crate::workspace::system_clock()).unwrap()
    }

    /// A new device joined through `f` (made by [`replica`] with the tests' passphrase).
    fn join(dir: &std::path::Path, f: &Memory) -> Workspace {
        let pass = Some("ivory tugboat quietly");
        Workspace::join(dir, TargetKind::Memory, f, pass, false, crate::workspace::system_clock())
            .unwrap()
    }

    /// How far a client's entries go, probed: doubling then halving, few requests.
    #[test]
    fn the_last_entry_is_found_in_few_probes() {
        // (entries present 0..end, the known one, the last found)
        let cases: &[(u64, u64, u64)] = &[
            (1, 0, 0),
            (2, 0, 1),
            (16, 15, 15),
            (17, 15, 16),
            (1000, 15, 999),
            (1024, 15, 1023),
            (100_000, 15, 99_999),
        ];
        for &(end, known, want) in cases {
            let mut probes = 0u32;
            let got = last_present(known, |i| {
                probes += 1;
                Ok::<_, ()>(i < end)
            })
            .unwrap();
            assert_eq!(got, want, "{end} entries from {known}");
            let bound = 2 * (64 - (end - known).leading_zeros()) + 2;
            assert!(probes <= bound, "{probes} probes for {end} entries (at most {bound})");
        }
        // A gap at 40: the count stops before it (an estimate, never more than there is).
        assert!(last_present(15, |i| Ok::<_, ()>(i < 100 && i != 40)).unwrap() < 100);
        // A failing probe is the caller's error.
        assert_eq!(last_present(3, |_| Err::<bool, _>("offline")), Err("offline"));
    }

    /// A long pull says how many entries it is receiving in all; a short one costs no probe.
    #[test]
    fn a_long_pull_counts_what_it_is_receiving() {
        let tmp = tempfile::tempdir().unwrap();
        let f = Memory::new("f");
        let mut a = replica(&tmp.path().join("a"));
        let tf = a.add_target(TargetKind::Memory, &f, Some("ivory tugboat quietly"), 10).unwrap();
        for i in 0..40 {
            a.new_note(&format!("n{i}"), "x").unwrap();
            a.sync_with(&[(&tf, &f)], &mut |_| {}).unwrap();
        }
        let mut b = join(&tmp.path().join("b"), &f);
        let bf = b.targets().unwrap()[0].clone();
        let mut tally = crate::sync::Tally::default();
        let mut expecting = Vec::new();
        b.sync_with(&[(&bf, &f)], &mut |e| {
            tally.take(&e);
            if let SyncEvent::Expecting { count, .. } = e {
                expecting.push(count);
            }
        })
        .unwrap();
        assert_eq!(expecting, vec![40]);
        assert_eq!((tally.received(), tally.expected()), (40, Some(40)));
        // Two more entries: a short pull, no count.
        for i in 0..2 {
            a.new_note(&format!("m{i}"), "x").unwrap();
            a.sync_with(&[(&tf, &f)], &mut |_| {}).unwrap();
        }
        let mut events = Vec::new();
        b.sync_with(&[(&bf, &f)], &mut |e| events.push(e)).unwrap();
        assert!(!events.iter().any(|e| matches!(e, SyncEvent::Expecting { .. })), "{events:?}");
    }

    /// The executor against in-memory targets: pulls from one are relayed to the other in the
    /// same cycle, a target that lost entries is reported and repaired, a conflicting file is
    /// reported and left alone, and an unreachable target fails alone.
    /// FORMAT.md §6.1 seen from a relay: B holds A's entries 0 and 1 and pushes them to g. A
    /// file at A's entry 1 that B cannot judge (encrypted to another key) is left alone; one
    /// signed by another key than A's entry 0, on a target holding that same entry 0, is a
    /// forgery and replaced; one following an entry 0 the target does not share is left alone.
    #[test]
    fn a_relay_replaces_only_what_is_certainly_not_the_entry() {
        let tmp = tempfile::tempdir().unwrap();
        let (f, g) = (Memory::new("f"), Memory::new("g"));
        let mut a = replica(&tmp.path().join("a"));
        let tf = a.add_target(TargetKind::Memory, &f, Some("ivory tugboat quietly"), 10).unwrap();
        for title in ["one", "two"] {
            a.new_note(title, "x").unwrap();
            a.seal_pending(SEAL_MAX_CHANGES, SEAL_MAX_BYTES).unwrap();
        }
        a.sync_with(&[(&tf, &f)], &mut |_| {}).unwrap();
        let mut b = join(&tmp.path().join("b"), &f);
        let bf = b.targets().unwrap()[0].clone();
        b.sync_with(&[(&bf, &f)], &mut |_| {}).unwrap();
        let bg = b.add_target(TargetKind::Memory, &g, None, 10).unwrap();
        let manifest = Manifest::parse(&f.snapshot()["index.json"], "f").unwrap();
        let ac = a.client_id();
        let (p0, p1) = (entry_path(&manifest, &ac, 0), entry_path(&manifest, &ac, 1));
        let real0 = f.snapshot()[&p0].clone();
        let r = &a.replica;
        let intruder = crate::format::signature::DeviceKey::generate();
        let forged = |index: u64, prev_hash: [u8; 32]| {
            let header = entry::Header {
                workspace: r.workspace,
                client: ac,
                index,
                timestamp: 5,
                lamport: 99,
                prev_hash,
            };
            let mut doc = crate::note::new_doc(&ac);
            crate::note::create(&mut doc, "forged", "not A's", 5).unwrap();
            let change = crate::note::take_change(&mut doc, 5).unwrap();
            let p =
                entry::Payload::changes(vec![entry::NoteChange { note: Uuid::new_v4(), change }]);
            entry::seal(&header, &p, r.keys.epoch0(), &intruder).unwrap()
        };
        let sync_g = |b: &mut Workspace| b.sync_with(&[(&bg, &g)], &mut |_| {}).unwrap();
        // Not readable with this workspace's key: perhaps a newer one; left alone.
        g.put_raw(&p0, real0.clone());
        let other = WorkspaceKey::generate(&r.workspace);
        g.put_raw(&p1, other.seal(b"whatever").unwrap());
        let reports = sync_g(&mut b);
        assert!(reports[0].problems.iter().any(|p| p.contains("different bytes")), "{reports:?}");
        // Following an entry 0 the target does not share (a whole other chain, validly signed
        // from its first entry: B cannot tell which is A's): left alone.
        let (other0, other_hash) = forged(0, entry::ZERO_HASH);
        let (other1, _) = forged(1, other_hash);
        g.put_raw(&p0, other0.clone());
        g.put_raw(&p1, other1.clone());
        sync_g(&mut b);
        assert_eq!((&g.snapshot()[&p0], &g.snapshot()[&p1]), (&other0, &other1));
        // The same entry 1, on a target holding A's real entry 0: a forgery, replaced.
        g.put_raw(&p0, real0);
        let (fake, _) = forged(1, store::link_before(&r.conn, &ac, 1).unwrap().hash);
        g.put_raw(&p1, fake);
        let reports = sync_g(&mut b);
        assert!(reports[0].problems.iter().any(|p| p.contains("forged")), "{reports:?}");
        assert_eq!(g.snapshot()[&p1], f.snapshot()[&p1]);
    }

    #[test]
    fn relays_repairs_reports_conflicts_and_isolates_failures() {
        let tmp = tempfile::tempdir().unwrap();
        let (f, g) = (Memory::new("f"), Memory::new("g"));
        let mut a = replica(&tmp.path().join("a"));
        let tf = a.add_target(TargetKind::Memory, &f, Some("ivory tugboat quietly"), 10).unwrap();
        a.new_note("from a", "x").unwrap();
        a.sync_with(&[(&tf, &f)], &mut |_| {}).unwrap();
        // B holds both targets: what it pulls from f reaches g in the same cycle.
        let mut b = join(&tmp.path().join("b"), &f);
        let bf = b.targets().unwrap()[0].clone();
        let bg = b.add_target(TargetKind::Memory, &g, None, 10).unwrap();
        let mut events = Vec::new();
        let reports = b.sync_with(&[(&bf, &f), (&bg, &g)], &mut |e| events.push(e)).unwrap();
        assert_eq!((reports[0].pulled, reports[1].pushed), (1, 1), "{reports:?}");
        assert!(reports.iter().all(TargetReport::ok), "{reports:?}");
        let a_client = a.client_id().to_string();
        assert!(g.snapshot().keys().any(|p| p.starts_with(&a_client)), "A's entry relayed to g");
        assert!(events.iter().any(|e| matches!(e, SyncEvent::Pushing { .. })));
        // g went backwards (restored from an old backup): reported, then written again.
        g.remove_prefix(&a_client);
        let reports = b.sync_with(&[(&bg, &g)], &mut |_| {}).unwrap();
        assert!(reports[0].problems.iter().any(|p| p.contains("lost entries")), "{reports:?}");
        assert!(g.snapshot().keys().any(|p| p.starts_with(&a_client)), "repaired");
        // Garbage where B's next entry goes: not an entry anyone accepts there, so B puts its
        // real entry in its place (FORMAT.md §6.1).
        b.new_note("from b", "y").unwrap();
        b.seal_pending(SEAL_MAX_CHANGES, SEAL_MAX_BYTES).unwrap();
        let manifest =
            crate::format::manifest::Manifest::parse(&g.snapshot()["index.json"], "g").unwrap();
        let b_next = entry_path(&manifest, &b.client_id(), 0);
        g.put_raw(&b_next, b"someone else's bytes".to_vec());
        let reports = b.sync_with(&[(&bg, &g)], &mut |_| {}).unwrap();
        assert!(reports[0].problems.iter().any(|p| p.contains("damaged")), "{reports:?}");
        let r = &b.replica;
        assert_eq!(
            g.snapshot()[&b_next],
            store::entry_data(&r.conn, &r.client, 0).unwrap().unwrap()
        );
        // Another entry B itself signed with that number (a data dir restored from an old
        // backup wrote it): readers would accept it too, so it is reported and left untouched.
        b.new_note("from b again", "z").unwrap();
        b.seal_pending(SEAL_MAX_CHANGES, SEAL_MAX_BYTES).unwrap();
        let r = &b.replica;
        let header = entry::Header {
            workspace: r.workspace,
            client: r.client,
            index: 1,
            timestamp: 5,
            lamport: 99,
            prev_hash: store::link_before(&r.conn, &r.client, 1).unwrap().hash,
        };
        let mut doc = crate::note::new_doc(&r.client);
        crate::note::create(&mut doc, "twin", "written twice", 5).unwrap();
        let change = crate::note::take_change(&mut doc, 5).unwrap();
        let twin =
            entry::Payload::changes(vec![entry::NoteChange { note: Uuid::new_v4(), change }]);
        let (twin, _) = entry::seal(&header, &twin, r.keys.epoch0(), &r.device).unwrap();
        let b_second = entry_path(&manifest, &r.client, 1);
        g.put_raw(&b_second, twin.clone());
        let reports = b.sync_with(&[(&bg, &g)], &mut |_| {}).unwrap();
        assert!(reports[0].problems.iter().any(|p| p.contains("different bytes")), "{reports:?}");
        assert_eq!(g.snapshot()[&b_second], twin);
        // f offline: its report fails, g's cycle goes on.
        f.inject(Fault::Offline);
        let reports = b.sync_with(&[(&bf, &f), (&bg, &g)], &mut |_| {}).unwrap();
        assert!(reports[0].unreachable && reports[0].error.is_some(), "{reports:?}");
        assert!(reports[1].error.is_none(), "{reports:?}");
    }

    /// FORMAT.md §5.2, "Records past a cutoff", with fewer files: Bravo removes Alpha while
    /// Alpha removes Bravo, both offline; Alpha wrote more before, so Bravo's removal comes first
    /// and holds. Bravo's entries between its cutoff and its record are only in a pack (their
    /// single files removed): a device that read Alpha's removal first reads them from the pack
    /// to reach Bravo's record, and ends with Alpha removed and every note of Bravo's.
    #[test]
    fn a_record_past_a_cutoff_is_reached_through_a_pack() {
        let tmp = tempfile::tempdir().unwrap();
        let pass = "ivory tugboat quietly";
        let f = Memory::new("f");
        let mut a = replica(&tmp.path().join("a"));
        let af = a.add_target(TargetKind::Memory, &f, Some(pass), 10).unwrap();
        a.name_this_device("Alpha").unwrap();
        let sync = |w: &mut Workspace, targets: &[(&Target, &Memory)]| {
            let t: Vec<(&Target, &dyn Transport)> =
                targets.iter().map(|(t, m)| (*t, *m as &dyn Transport)).collect();
            for r in w.sync_with(&t, &mut |_| {}).unwrap() {
                assert!(r.error.is_none(), "{r:?}");
            }
        };
        sync(&mut a, &[(&af, &f)]);
        let mut b = join(&tmp.path().join("b"), &f);
        let mut c = join(&tmp.path().join("c"), &f);
        let (bf, cf) = (b.targets().unwrap()[0].clone(), c.targets().unwrap()[0].clone());
        b.name_this_device("Bravo").unwrap();
        c.name_this_device("Charlie").unwrap();
        sync(&mut b, &[(&bf, &f)]);
        sync(&mut c, &[(&cf, &f)]);
        sync(&mut a, &[(&af, &f)]);
        sync(&mut b, &[(&bf, &f)]);
        // Offline: each with a copy of the folder.
        let copy = |name: &str| {
            let m = Memory::new(name);
            for (path, bytes) in f.snapshot() {
                m.put_raw(&path, bytes);
            }
            m
        };
        let (fa, fb) = (copy("fa"), copy("fb"));
        let ta = a.add_target(TargetKind::Memory, &fa, None, 10).unwrap();
        let tb = b.add_target(TargetKind::Memory, &fb, None, 10).unwrap();
        b.use_fewer_files().unwrap();
        for i in 0..110 {
            b.new_note(&format!("Bravo {i}"), "x").unwrap();
            sync(&mut b, &[(&tb, &fb)]);
        }
        b.remove_device("Alpha", pass, 10).unwrap();
        sync(&mut b, &[(&tb, &fb)]);
        for i in 0..120 {
            a.new_note(&format!("Alpha {i}"), "x").unwrap();
            sync(&mut a, &[(&ta, &fa)]);
        }
        a.remove_device("Bravo", pass, 10).unwrap();
        sync(&mut a, &[(&ta, &fa)]);
        let manifest = Manifest::parse(&fb.snapshot()["index.json"], "fb").unwrap();
        let bc = b.client_id();
        assert!(manifest.fewer_files());
        assert!(
            !fb.snapshot().contains_key(&entry_path(&manifest, &bc, 5)),
            "Bravo's entry 5 is only in its pack"
        );
        let removed = |w: &Workspace| -> Vec<Uuid> {
            let devices = w.devices().unwrap();
            let gone = devices.iter().filter(|d| d.removed_at.is_some());
            gone.map(|d| Uuid::parse_str(&d.id).unwrap()).collect()
        };
        // Charlie meets Alpha's removal of Bravo first.
        let tca = c.add_target(TargetKind::Memory, &fa, None, 10).unwrap();
        sync(&mut c, &[(&tca, &fa)]);
        assert_eq!(removed(&c), [bc]);
        let tcb = c.add_target(TargetKind::Memory, &fb, None, 10).unwrap();
        let t: [(&Target, &dyn Transport); 2] = [(&tca, &fa), (&tcb, &fb)];
        c.sync_with(&t, &mut |_| {}).unwrap();
        assert_eq!(removed(&c), [a.client_id()], "Bravo's removal of Alpha comes first");
        let titles: Vec<String> =
            c.list_notes(&Default::default()).unwrap().into_iter().map(|n| n.title).collect();
        assert!(titles.iter().any(|t| t == "Bravo 109"), "{titles:?}");
        assert!(!titles.iter().any(|t| t == "Alpha 0"), "{titles:?}");
    }

    /// FORMAT.md §5.2: a record's place in the order of removals is above its writer's earlier
    /// entries, whatever Lamport clock the writer gives it. Bravo wrote ten entries after
    /// Alpha last heard from it, then a record removing Alpha with a Lamport clock of 1, to be
    /// taken before Alpha's concurrent removal of Bravo: it is placed after its ten entries,
    /// so Alpha's removal holds on every device.
    #[test]
    fn a_record_given_a_small_lamport_clock_is_placed_after_its_writers_entries() {
        use crate::format::epoch::{EpochSecret, KeysSection, Member, Removal};
        let tmp = tempfile::tempdir().unwrap();
        let pass = "ivory tugboat quietly";
        let f = Memory::new("f");
        let sync = |w: &mut Workspace| {
            let t = w.targets().unwrap()[0].clone();
            for r in w.sync_with(&[(&t, &f as &dyn Transport)], &mut |_| {}).unwrap() {
                assert!(r.error.is_none(), "{r:?}");
            }
        };
        let mut a = replica(&tmp.path().join("a"));
        a.add_target(TargetKind::Memory, &f, Some(pass), 10).unwrap();
        a.name_this_device("Alpha").unwrap();
        sync(&mut a);
        let mut b = join(&tmp.path().join("b"), &f);
        b.name_this_device("Bravo").unwrap();
        sync(&mut b);
        let mut c = join(&tmp.path().join("c"), &f);
        c.name_this_device("Charlie").unwrap();
        sync(&mut c);
        sync(&mut a);
        sync(&mut b);
        // Alpha removes Bravo, holding what Bravo wrote so far; Bravo writes on meanwhile.
        a.remove_device("Bravo", pass, 10).unwrap();
        for i in 0..10 {
            b.new_note(&format!("Bravo {i}"), "x").unwrap();
            sync(&mut b);
        }
        // Bravo's record removing Alpha, with a Lamport clock of 1, placed in its log by hand.
        let r = &b.replica;
        let mut header = crate::docs::replica::next_header(&r.conn, r, 1).unwrap();
        assert!(header.lamport > 10);
        header.lamport = 1;
        let ac = a.client_id();
        let key0 = r.keys.epoch0().clone();
        let mut members: Vec<Member> = [&b, &c]
            .iter()
            .map(|w| Member { client: w.client_id(), key: w.replica.device.public() })
            .collect();
        members.sort_by_key(|m| m.client);
        let a_head = store::head(&r.conn, &ac).unwrap().unwrap().0;
        let keys = KeysSection {
            identity: EpochSecret::generate(),
            earlier: vec![(EpochId::ZERO, EpochSecret::of(&key0).unwrap())],
            members,
            removals: vec![Removal { client: ac, cutoff: a_head }],
        };
        let (plain, _) = entry::encode_record(
            &header,
            EpochId::ZERO,
            &key0,
            &keys,
            &entry::Payload::default(),
            &r.device,
        );
        let bytes = crate::format::epoch::seal_record(&plain, &keys).unwrap();
        let manifest = Manifest::parse(&f.snapshot()["index.json"], "f").unwrap();
        f.put_raw(&entry_path(&manifest, &b.client_id(), header.index), bytes);
        // Alpha pushes its removal and reads Bravo's record; Charlie reads both.
        sync(&mut a);
        sync(&mut c);
        let removed = |w: &Workspace| -> Vec<Uuid> {
            let devices = w.devices().unwrap();
            let gone = devices.iter().filter(|d| d.removed_at.is_some());
            gone.map(|d| Uuid::parse_str(&d.id).unwrap()).collect()
        };
        assert_eq!(removed(&a), [b.client_id()]);
        assert_eq!(removed(&c), [b.client_id()]);
    }
}
