//! Read-only views for `status`, `log` and the app's sync panel: counts of pending and synced
//! entries per target, last success and errors, and recent log entries with per-target state.

use serde::Serialize;
use ts_rs::TS;
use uuid::Uuid;

use crate::error::Result;
use crate::store;
use crate::transport::TargetKind;
use crate::workspace::Workspace;

/// Overall status of this device's workspace.
#[derive(Clone, Debug, Serialize, TS)]
pub struct Status {
    /// This device.
    pub client_id: String,
    /// The workspace.
    pub workspace_id: String,
    /// Whether entries are age-encrypted.
    pub encrypted: bool,
    /// Live notes.
    #[ts(type = "number")]
    pub notes: u64,
    /// Entries in the local log (all devices).
    #[ts(type = "number")]
    pub entries: u64,
    /// Entries not yet on every target, plus local changes not yet sealed into an entry.
    #[ts(type = "number")]
    pub pending: u64,
    /// Local changes waiting to be sealed into an entry at the next sync.
    #[ts(type = "number")]
    pub unsealed: u64,
    /// Per-target state.
    pub targets: Vec<TargetStatus>,
    /// Changes from other devices left out of their notes because they could not be read.
    pub left_out: Vec<LeftOut>,
    /// Entries another device's clock says exist that have not reached this device for over
    /// an hour ([`WITHHELD_AFTER_MS`]): a folder or server may be holding them back.
    pub withheld: Vec<Withheld>,
    /// The workspace's passphrase was changed on another device that could not give this one
    /// the new key (FORMAT.md §5.2): what was written since waits until the new passphrase is
    /// typed here ([`Workspace::enter_passphrase`]).
    pub needs_new_passphrase: bool,
    /// The workspace removes from its targets the single files packs cover (FORMAT.md §11.1).
    pub fewer_files: bool,
}

/// How long entries another device says exist may stay missing before the status says so: a
/// sync tool copying files one by one, or a device relaying them a cycle later, is not a
/// folder holding them back.
pub const WITHHELD_AFTER_MS: i64 = 60 * 60 * 1000;

/// Entries of one device that another device had and this one still lacks.
#[derive(Clone, Debug, Serialize, TS)]
pub struct Withheld {
    /// The device that wrote them (id, for "Details").
    pub device: String,
    /// Its name, when it gave itself one.
    pub device_name: Option<String>,
    /// How many of its entries are missing here.
    #[ts(type = "number")]
    pub count: u64,
    /// The device whose entry says they exist (id).
    pub seen_by: String,
    /// Its name, when it gave itself one.
    pub seen_by_name: Option<String>,
    /// When `seen_by` wrote that entry (its clock, ms): it had them by then.
    #[ts(type = "number")]
    pub seen_at: i64,
    /// When this device first learnt of them (ms).
    #[ts(type = "number")]
    pub since: i64,
    /// One sentence for people.
    pub message: String,
}

/// A change left out of its note (FORMAT.md §6 step 5): the note shows everything else.
#[derive(Clone, Debug, Serialize, TS)]
pub struct LeftOut {
    /// The note.
    pub note_id: String,
    /// Its title, when the note is listed.
    pub title: Option<String>,
    /// Why the change could not be read.
    pub reason: String,
}

/// One target's state.
#[derive(Clone, Debug, Serialize, TS)]
pub struct TargetStatus {
    /// Target id.
    pub id: String,
    /// What it is.
    pub kind: TargetKind,
    /// Where it is.
    pub location: String,
    /// Entries this device holds that the target lacks.
    #[ts(type = "number")]
    pub pending: u64,
    /// Entries known to be on the target.
    #[ts(type = "number")]
    pub synced: u64,
    /// Last cycle that reached the target (ms), if any.
    #[ts(type = "number | null")]
    pub last_ok: Option<i64>,
    /// Last error or problem, in plain words.
    pub last_error: Option<String>,
    /// When it happened (ms).
    #[ts(type = "number | null")]
    pub last_error_at: Option<i64>,
    /// Entries that could not be read from this target yet.
    pub entry_errors: Vec<EntryProblem>,
    /// "Keep all attachments offline" for this target.
    pub keep_attachments: bool,
}

/// An entry that failed to arrive or verify.
#[derive(Clone, Debug, Serialize, TS)]
pub struct EntryProblem {
    /// Writing device.
    pub client: String,
    /// Index.
    #[ts(type = "number")]
    pub index: u64,
    /// What went wrong.
    pub message: String,
    /// Tries so far.
    #[ts(type = "number")]
    pub attempts: u64,
}

/// One row of `log`.
#[derive(Clone, Debug, Serialize, TS)]
pub struct LogItem {
    /// Writing device.
    pub client: String,
    /// Whether this device wrote it.
    pub own: bool,
    /// Index in that device's log.
    #[ts(type = "number")]
    pub index: u64,
    /// Writer's time (ms).
    #[ts(type = "number")]
    pub timestamp: i64,
    /// Lamport clock.
    #[ts(type = "number")]
    pub lamport: u64,
    /// Size of the stored (encrypted) bytes.
    #[ts(type = "number")]
    pub size: u64,
    /// State on each target.
    pub targets: Vec<EntryState>,
}

/// An entry's state on a target.
#[derive(Clone, Debug, Serialize, TS)]
pub struct EntryState {
    /// Target id.
    pub target: String,
    /// `pending` or `synced`.
    pub state: &'static str,
}

impl Workspace {
    /// The status shown by `resnotes status` and the sync panel. Counts come from each client's
    /// newest index and each target's `remote_present`, not from counting log rows: a client's
    /// entries in the log are always 0..=head (pulls apply them in order, gaps are never
    /// stored), and the panel asks after every sync, so this must not read the whole log.
    pub fn status(&self) -> Result<Status> {
        let c = &self.replica.conn;
        let notes = store::notes::live_count(c)?;
        let heads = store::heads(c)?;
        let entries: u64 = heads.iter().map(|(_, h)| h + 1).sum();
        let unsealed = store::log::unsealed_count(c)?;
        let all_targets = self.targets()?;
        // Per client, how far each target holds its entries (`None`: nothing known there).
        let mut uptos: Vec<Vec<Option<u64>>> = Vec::new();
        for t in &all_targets {
            uptos.push(
                heads
                    .iter()
                    .map(|(client, _)| store::remote_upto(c, &t.id, client))
                    .collect::<Result<_, _>>()?,
            );
        }
        let missing = |head: u64, upto: Option<u64>| match upto {
            Some(u) => head.saturating_sub(u),
            None => head + 1,
        };
        // Entries not yet on every target.
        let pending: u64 = heads
            .iter()
            .enumerate()
            .map(|(k, (_, h))| uptos.iter().map(|u| missing(*h, u[k])).max().unwrap_or(0))
            .sum();
        let pending = if all_targets.is_empty() { 0 } else { pending + unsealed };
        let mut targets = Vec::new();
        for (t, upto) in all_targets.into_iter().zip(&uptos) {
            let p: u64 = heads.iter().zip(upto).map(|((_, h), u)| missing(*h, *u)).sum();
            let (last_ok, last_error, last_error_at) = store::targets::last_outcome(c, &t.id)?;
            let entry_errors = store::targets::entry_errors(c, &t.id)?
                .into_iter()
                .map(|(client, index, message, attempts)| EntryProblem {
                    client,
                    index,
                    message,
                    attempts,
                })
                .collect();
            targets.push(TargetStatus {
                id: t.id,
                kind: t.kind,
                location: t.location,
                pending: p + unsealed,
                synced: entries - p,
                last_ok,
                last_error,
                last_error_at,
                entry_errors,
                keep_attachments: t.keep_attachments,
            });
        }
        Ok(Status {
            client_id: self.replica.client.to_string(),
            workspace_id: self.replica.workspace.to_string(),
            encrypted: self.replica.keys.epoch0().is_encrypted(),
            notes,
            entries,
            pending,
            unsealed,
            targets,
            left_out: store::notes::left_out(c)?
                .into_iter()
                .map(|(note_id, title, reason)| LeftOut { note_id, title, reason })
                .collect(),
            withheld: self.withheld()?,
            needs_new_passphrase: store::meta(c, store::epochs::MISSING_KEY)?.is_some(),
            fewer_files: self.fewer_files()?,
        })
    }

    /// Entries other devices had that are missing here past [`WITHHELD_AFTER_MS`].
    fn withheld(&self) -> Result<Vec<Withheld>> {
        let c = &self.replica.conn;
        let now = self.replica.now();
        let mut out = Vec::new();
        for (claim, count) in store::claims::unmet(c)? {
            if now - claim.since < WITHHELD_AFTER_MS {
                continue;
            }
            let device_name = store::notes::device_name(c, &claim.client)?;
            let seen_by_name = store::notes::device_name(c, &claim.via)?;
            let label = |name: &Option<String>, id: &uuid::Uuid| {
                name.clone().unwrap_or_else(|| format!("device {}", &id.to_string()[..8]))
            };
            let (writer, seer) =
                (label(&device_name, &claim.client), label(&seen_by_name, &claim.via));
            let message = format!(
                "{count} change{s} written by {writer} {have} not reached this device, though {seer} had {them} over an hour ago: a folder or server may be holding {them} back, or {writer} has not synced with one this device uses.",
                s = if count == 1 { "" } else { "s" },
                have = if count == 1 { "has" } else { "have" },
                them = if count == 1 { "it" } else { "them" },
            );
            out.push(Withheld {
                device: claim.client.to_string(),
                device_name,
                count,
                seen_by: claim.via.to_string(),
                seen_by_name,
                seen_at: claim.written_at,
                since: claim.since,
                message,
            });
        }
        Ok(out)
    }

    /// The newest `limit` log entries (by Lamport clock), with their state on each target.
    pub fn log_items(&self, limit: usize) -> Result<Vec<LogItem>> {
        let targets = self.targets()?;
        let me = self.replica.client.to_string();
        let mut out = Vec::new();
        for (client, index, timestamp, lamport, size) in
            store::log::recent(&self.replica.conn, limit)?
        {
            let id = Uuid::parse_str(&client).ok();
            let mut states = Vec::new();
            for t in &targets {
                let upto = match &id {
                    Some(id) => store::remote_upto(&self.replica.conn, &t.id, id)?,
                    None => None,
                };
                let synced = upto.is_some_and(|u| index <= u);
                states.push(EntryState {
                    target: t.id.clone(),
                    state: if synced { "synced" } else { "pending" },
                });
            }
            out.push(LogItem {
                own: client == me,
                client,
                index,
                timestamp,
                lamport,
                size,
                targets: states,
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::WITHHELD_AFTER_MS;
    use crate::transport::{Memory, TargetKind, Transport};
    use crate::workspace::{system_clock, Workspace};

    /// The counts derived from heads and `remote_present` equal counting the log's rows.
    #[test]
    fn counts_match_counting_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let mut ws = Workspace::init(dir.path(), false, system_clock()).unwrap();
        let (f, g) = (Memory::new("f"), Memory::new("g"));
        let tf = ws.add_target(TargetKind::Memory, &f, Some("pass phrase"), 2).unwrap();
        let tg = ws.add_target(TargetKind::Memory, &g, None, 2).unwrap();
        for i in 0..5 {
            ws.new_note(&format!("n{i}"), "x").unwrap();
            ws.seal_pending(1, usize::MAX).unwrap();
        }
        let ff: &dyn Transport = &f;
        ws.sync_with(&[(&tf, ff)], &mut |_| {}).unwrap();
        ws.new_note("later", "y").unwrap();
        ws.seal_pending(1, usize::MAX).unwrap();
        ws.new_note("unsealed", "z").unwrap();
        let s = ws.status().unwrap();
        let count = |sql: &str, target: &str| -> u64 {
            ws.replica.conn.query_row(sql, [target], |r| r.get::<_, i64>(0)).unwrap() as u64
        };
        let on = "SELECT COUNT(*) FROM log l LEFT JOIN remote_present r ON r.target_id = ?1 AND r.client_id = l.client_id WHERE r.upto IS NULL OR l.idx > r.upto";
        let entries: u64 = ws
            .replica
            .conn
            .query_row("SELECT COUNT(*) FROM log", [], |r| r.get::<_, i64>(0))
            .unwrap() as u64;
        assert_eq!(s.entries, entries);
        assert!(s.unsealed > 0);
        // Both targets were added in the same millisecond: find each by id, not by position.
        let of = |t: &crate::workspace::Target| s.targets.iter().find(|st| st.id == t.id).unwrap();
        for t in [&tf, &tg] {
            assert_eq!(of(t).pending, count(on, &t.id) + s.unsealed, "target {}", t.id);
            assert_eq!(of(t).synced, entries - count(on, &t.id));
        }
        assert_eq!(of(&tf).pending, 1 + s.unsealed, "f lacks the entry sealed after its sync");
        assert_eq!(of(&tg).synced, 0, "g never synced");
        assert_eq!(s.pending, entries + s.unsealed, "every entry is missing somewhere (on g)");
    }

    /// Issue 19: a host that hides a device's entries from a device that has not seen them is
    /// noticed, because another device's entry says they exist — after an hour, in words.
    #[test]
    fn entries_another_device_had_and_a_folder_holds_back_are_noticed_after_an_hour() {
        use std::sync::atomic::{AtomicI64, Ordering};
        use std::sync::Arc;
        let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
        let f = Memory::new("f");
        let sync = |ws: &mut Workspace| {
            let t = ws.targets().unwrap().remove(0);
            let tr: &dyn Transport = &f;
            ws.sync_with(&[(&t, tr)], &mut |_| {}).unwrap();
        };
        let mut a = Workspace::init(dirs[0].path(), false, system_clock()).unwrap();
        a.add_target(TargetKind::Memory, &f, Some("pass phrase"), 2).unwrap();
        a.name_this_device("Laptop").unwrap();
        a.new_note("from the laptop", "x").unwrap();
        sync(&mut a);
        let join = |dir: &std::path::Path, clock| {
            Workspace::join(dir, TargetKind::Memory, &f, Some("pass phrase"), false, clock).unwrap()
        };
        let mut b = join(dirs[1].path(), system_clock());
        b.name_this_device("Phone").unwrap();
        sync(&mut b); // B gets the laptop's entry (it sealed its own before pulling)
        b.new_note("from the phone", "y").unwrap();
        sync(&mut b); // this entry's clock says the laptop's entry 0 exists
                      // The folder now hides the laptop's entries from anyone who has not seen them.
        f.remove_prefix(&a.client_id().to_string());
        let now = Arc::new(AtomicI64::new(1_800_000_000_000));
        let clock = {
            let now = now.clone();
            Box::new(move || now.load(Ordering::SeqCst))
        };
        let mut c = join(dirs[2].path(), clock);
        sync(&mut c);
        let titles: Vec<_> = c.list(None).unwrap().into_iter().map(|n| n.title).collect();
        assert_eq!(titles, ["from the phone"]);
        assert!(c.status().unwrap().withheld.is_empty(), "not before an hour has passed");
        now.fetch_add(WITHHELD_AFTER_MS, Ordering::SeqCst);
        sync(&mut c);
        let w = c.status().unwrap().withheld;
        assert_eq!(w.len(), 1, "{w:?}");
        assert_eq!((w[0].device.as_str(), w[0].count), (a.client_id().to_string().as_str(), 1));
        assert_eq!(w[0].seen_by, b.client_id().to_string());
        assert!(
            w[0].message.starts_with("1 change written by device ")
                && w[0].message.contains("though Phone had it over an hour ago"),
            "{}",
            w[0].message
        );
        // The laptop syncs again (its entries are back in the folder): nothing is missing.
        sync(&mut a);
        sync(&mut c);
        assert!(c.status().unwrap().withheld.is_empty());
        let titles: Vec<_> = c.list(None).unwrap().into_iter().map(|n| n.title).collect();
        assert_eq!(titles.len(), 2, "{titles:?}");
    }
}
