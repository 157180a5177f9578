//! Key epochs as a person meets them (FORMAT.md §5.2): changing the workspace's passphrase
//! starts a new content key, wrapped to every device's own key and to the new passphrase, so the
//! old passphrase — and every old copy of `index.json` a sync service keeps — opens nothing
//! written from then on. Also: the keys `key export` prints, one per epoch.

use age::secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use ts_rs::TS;
use uuid::Uuid;

use crate::docs::replica;
use crate::error::{Error, Result};
use crate::format::crypto;
use crate::format::entry::{self, Payload};
use crate::format::epoch::{self, EpochId, EpochSecret, KeysSection, Member, Removal};
use crate::format::manifest::Manifest;
use crate::format::path::{self, Kind};
use crate::store;
use crate::transport::Transport;
use crate::workspace::{check_passphrase, Workspace};

/// What a passphrase change did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, TS)]
pub struct PassphraseChanged {
    /// Devices that do not sign their entries yet (an older version of Resilient Notes): the
    /// new key could not be wrapped to them, so they cannot read what is written from now on
    /// until they join again with the new passphrase. Their names, or ids when unnamed.
    pub left_out: Vec<String>,
}

/// The newest key epoch of a target that `passphrase` opens (FORMAT.md §5.2): the epoch, its
/// record's Lamport clock and the keys the record carries (checked as any entry is). `None`
/// when no `keys/` file opens with it and none is backed by its record (no passphrase change
/// yet, or only files planted there): `index.json`'s wrap is the passphrase's then. The old
/// passphrase — it opens `index.json` while a backed `keys/` file does not open — is
/// [`Error::OldPassphrase`].
pub(crate) fn newest_key(
    target: &dyn Transport,
    m: &Manifest,
    passphrase: &str,
) -> Result<Option<(EpochId, u64, KeysSection)>> {
    let mut wraps: Vec<((u64, Uuid), EpochId, String)> = target
        .list(epoch::KEYS_DIR)?
        .into_iter()
        .filter_map(|name| epoch::parse_wrap_name(&name).map(|(l, e)| ((l, e.client), e, name)))
        .collect();
    if wraps.is_empty() {
        return Ok(None);
    }
    wraps.sort_by_key(|w| std::cmp::Reverse(w.0));
    // The newest first; a file that does not open, or is not what its name says, is skipped
    // (anyone who can write to the folder can put files there). Each try costs up to a second
    // of scrypt, so only a few are tried.
    let mut backed = false;
    for ((lamport, _), started, name) in wraps.into_iter().take(MAX_WRAPS_TRIED) {
        let Ok(Some(file)) = target.read(&format!("{}/{name}", epoch::KEYS_DIR)) else { continue };
        let opened = crypto::unwrap_secret_file(&file, passphrase)
            .ok()
            .and_then(|s| EpochSecret::parse(s.expose_secret().as_bytes()).ok());
        let Some(secret) = opened else {
            backed |= target.exists(&record_path(m, &started)).unwrap_or(false);
            continue;
        };
        match read_record_entry(target, m, &started, &secret) {
            Ok((e, keys)) if e.header.lamport == lamport => {
                return Ok(Some((started, lamport, keys)));
            }
            Ok(_) | Err(_) => continue,
        }
    }
    let old = m.encryption.key_wrap.as_ref().map(|w| crypto::unwrap_secret(&w.armored, passphrase));
    match old {
        Some(Ok(_)) if backed => Err(Error::OldPassphrase),
        // Only planted or unbacked files: the first key's passphrase is still the passphrase.
        Some(Ok(_)) => Ok(None),
        _ => Err(crypto::CryptoError::WrongPassphrase.into()),
    }
}

/// What a new key epoch is for.
enum Change {
    /// A new passphrase.
    Passphrase,
    /// Removing a device.
    Remove(Uuid),
    /// Letting in a held-back device.
    LetIn(Member),
}

/// How many `keys/` files a join tries, newest first (up to a second of scrypt each).
const MAX_WRAPS_TRIED: usize = 4;

fn record_path(m: &Manifest, started: &EpochId) -> String {
    path::entry_path(
        &started.client,
        Kind::Changes,
        started.index,
        m.max_entries_per_folder,
        &m.change_extension,
    )
}

/// The Lamport clock of the record of epoch `started` and the keys it carries, read from
/// `target` with that epoch's key (`secret`, from a `keys/` file or an invitation): how a device
/// joining with the newest key learns every earlier one.
pub(crate) fn read_record(
    target: &dyn Transport,
    m: &Manifest,
    started: &EpochId,
    secret: &EpochSecret,
) -> Result<(u64, KeysSection)> {
    let (e, keys) = read_record_entry(target, m, started, secret)?;
    Ok((e.header.lamport, keys))
}

fn read_record_entry(
    target: &dyn Transport,
    m: &Manifest,
    started: &EpochId,
    secret: &EpochSecret,
) -> Result<(entry::Entry, KeysSection)> {
    let path = record_path(m, started);
    let record = target.read(&path)?.ok_or_else(|| {
        Error::Invalid(format!(
            "{} does not hold the change that started the workspace's newest key yet; wait until your other device has synced with it, then try again",
            target.location()
        ))
    })?;
    let mut e = entry::record_keys(&record, secret, &m.workspace_id)?;
    if e.header.client != started.client || e.header.index != started.index {
        return Err(Error::Invalid(
            "the workspace's newest key does not match the change that should have started it; it was not used".into(),
        ));
    }
    let keys = e.keys.take().expect("record_keys reads records only");
    // The first key must be the one index.json describes: the section is read with keys taken
    // from itself, so only this ties it to the workspace.
    let first = first_key(&keys, &m.workspace_id);
    if first.recipient().as_deref() != m.encryption.recipients.first().map(String::as_str) {
        return Err(Error::Invalid(
            "the workspace's newest key leads to another first key than the workspace's; it was not used".into(),
        ));
    }
    Ok((e, keys))
}

/// Epoch 0's key (the one `index.json` describes), which every keys section ends with.
pub(crate) fn first_key(keys: &KeysSection, workspace: &Uuid) -> crypto::WorkspaceKey {
    keys.earlier.last().expect("a keys section ends with epoch 0").1.key(workspace)
}

impl Workspace {
    /// Changes the workspace's passphrase (FORMAT.md §5.2): starts a key epoch whose key is
    /// wrapped to every device that signs (their own keys) and, in a `keys/` file copied to every
    /// target at the next sync, to `passphrase`. Entries written from now on, by this device and
    /// by every other as soon as it syncs, use the new key; the old passphrase opens only what
    /// was written before. Devices keep their notes and need nothing typed.
    pub fn change_passphrase(&mut self, passphrase: &str, log_n: u8) -> Result<PassphraseChanged> {
        if !self.replica.keys.epoch0().is_encrypted() {
            return Err(Error::Invalid(
                "this workspace is not encrypted, so it has no passphrase to change".into(),
            ));
        }
        check_passphrase(passphrase)?;
        self.start_epoch(passphrase, Change::Passphrase, log_n)
    }

    /// Removes a device from the workspace (FORMAT.md §5.2): starts a key epoch whose key is
    /// wrapped to every other device but `device` (a name, or its id or the start of it), so it
    /// can read nothing written from now on, and every device refuses what it writes after its
    /// newest entry this device holds. What it already had, it keeps. `passphrase` must be the
    /// workspace's current one: the new key is also wrapped to it, for devices that join later
    /// (change it too when the removed device's owner knows it).
    pub fn remove_device(
        &mut self,
        device: &str,
        passphrase: &str,
        log_n: u8,
    ) -> Result<PassphraseChanged> {
        if !self.replica.keys.epoch0().is_encrypted() {
            return Err(Error::Invalid(
                "this workspace is not encrypted: a removed device could still read everything in the folder, so devices cannot be removed from it".into(),
            ));
        }
        let d = self.find_device(device)?;
        if d.this_device {
            return Err(Error::Invalid(
                "this device cannot remove itself: remove it from another of your devices".into(),
            ));
        }
        let name = d.name.clone().unwrap_or_else(|| "that device".into());
        if d.removed_at.is_some() {
            return Err(Error::Invalid(format!("{name} was removed from the workspace already")));
        }
        self.check_current_passphrase(passphrase)?;
        let client = Uuid::parse_str(&d.id).map_err(|_| Error::Invalid(d.id.clone()))?;
        self.start_epoch(passphrase, Change::Remove(client), log_n)
    }

    /// Checks that `passphrase` opens the newest key epoch's `keys/` file this device holds, or
    /// `index.json`'s wrap before any epoch: what a device joining later types.
    fn check_current_passphrase(&self, passphrase: &str) -> Result<()> {
        let r = &self.replica;
        let current = store::epochs::newest(&r.conn)?;
        if current.is_zero() {
            let m = self.manifest(None, 0)?;
            let Some(wrap) = m.encryption.key_wrap.as_ref() else {
                return Err(Error::Invalid(
                    "this device has not synced yet, so it cannot check the passphrase: sync, then try again".into(),
                ));
            };
            crypto::unwrap_secret(&wrap.armored, passphrase)?;
            return Ok(());
        }
        let file = store::epochs::wraps(&r.conn)?
            .into_iter()
            .find(|(name, _)| epoch::parse_wrap_name(name).is_some_and(|(_, e)| e == current));
        let Some((_, file)) = file else {
            return Err(Error::Invalid(
                "this device has not got the newest passphrase's key file yet: sync, then try again".into(),
            ));
        };
        let opened = crypto::unwrap_secret_file(&file, passphrase)?;
        let held = replica::epoch_key(&r.conn, &r.keys, &current)?;
        match EpochSecret::of(&held) {
            Some(s) if s.expose() == opened.expose_secret().trim() => Ok(()),
            _ => Err(crypto::CryptoError::WrongPassphrase.into()),
        }
    }

    /// Lets in a device that is held back (FORMAT.md §5.2, "Members": it joined around the time
    /// a device was removed, so nobody could tell it from the removed one under a new id): a key
    /// epoch whose record wraps to it, after which every device reads its changes. Only its
    /// user can say it is theirs. `passphrase` is the workspace's current one, as for a removal.
    pub fn let_in_device(
        &mut self,
        device: &str,
        passphrase: &str,
        log_n: u8,
    ) -> Result<PassphraseChanged> {
        let d = self.find_device(device)?;
        let name = d.name.clone().unwrap_or_else(|| "that device".into());
        if d.removed_at.is_some() {
            return Err(Error::Invalid(format!(
                "{name} was removed from the workspace, so it cannot be let in: on it, join the workspace again as a new device"
            )));
        }
        if !d.held_back || d.this_device {
            return Err(Error::Invalid(format!(
                "{name} is not waiting to be let in: it is one of this workspace's devices already"
            )));
        }
        let client = Uuid::parse_str(&d.id).map_err(|_| Error::Invalid(d.id.clone()))?;
        let Some(key) =
            store::removals::first_entries(&self.replica.conn)?.get(&client).and_then(|f| f.signer)
        else {
            return Err(Error::Invalid(format!(
                "{name} runs an older Resilient Notes that does not sign its changes: update it, then let it in"
            )));
        };
        self.check_current_passphrase(passphrase)?;
        self.start_epoch(passphrase, Change::LetIn(Member { client, key }), log_n)
    }

    /// Starts a key epoch (FORMAT.md §5.2) wrapped to every device that signs, but a removed
    /// one, and to `passphrase` in a `keys/` file copied to every target at the next sync.
    fn start_epoch(
        &mut self,
        passphrase: &str,
        change: Change,
        log_n: u8,
    ) -> Result<PassphraseChanged> {
        let r = &mut self.replica;
        let now = r.now();
        let tx = store::write_tx(&r.conn)?;
        let removed = store::removals::removed(&tx)?;
        let mut members = Vec::new();
        let mut left_out = Vec::new();
        let mut removals = Vec::new();
        let removing = match change {
            Change::Remove(gone) => {
                // Its entries held here stay; none when it is held back and none are held.
                let cutoff = store::head(&tx, &gone)?.map_or(u64::MAX, |(i, _)| i);
                removals.push(Removal { client: gone, cutoff });
                Some(gone)
            }
            Change::LetIn(m) => {
                members.push(m);
                None
            }
            Change::Passphrase => None,
        };
        for n in store::log::newest_of_each(&tx)? {
            match n.signer {
                _ if n.client == r.client
                    || removed.contains_key(&n.client)
                    || Some(n.client) == removing
                    || members.iter().any(|m| m.client == n.client) => {}
                Some(key) => members.push(Member { client: n.client, key }),
                None => left_out.push(
                    store::notes::device_name(&tx, &n.client)?
                        .unwrap_or_else(|| "a device without a name".into()),
                ),
            }
        }
        members.push(Member { client: r.client, key: r.device.public() });
        members.sort_by_key(|m| m.client);
        let follows = store::epochs::newest(&tx)?;
        let followed_key = replica::epoch_key(&tx, &r.keys, &follows)?;
        let secret = |k: &crypto::WorkspaceKey| {
            EpochSecret::of(k).expect("an encrypted workspace's keys are age identities")
        };
        // The epoch followed first, epoch 0 last, every other key held between (newest learnt
        // first): the new key then opens all history (§5.2).
        let mut earlier = vec![(follows, secret(&followed_key))];
        for (id, s) in store::epochs::all(&tx)?.into_iter().rev() {
            if id != follows {
                earlier.push((id, s));
            }
        }
        if !follows.is_zero() {
            earlier.push((EpochId::ZERO, secret(r.keys.epoch0())));
        }
        let keys = KeysSection { identity: EpochSecret::generate(), earlier, members, removals };
        let header = replica::next_header(&tx, r, now)?;
        // Its clock names what this device holds, as any entry's does: the entries of a removed
        // device it held stay (docs/removals.rs, `raise`).
        let clock = store::heads(&tx)?.into_iter().filter(|(c, _)| *c != r.client).collect();
        let payload = Payload { clock, ..Payload::default() };
        let (plain, hash) =
            entry::encode_record(&header, follows, &followed_key, &keys, &payload, &r.device);
        let bytes = epoch::seal_record(&plain, &keys)?;
        let wrap = crypto::wrap_secret_file(keys.identity.expose(), passphrase, log_n)?;
        replica::keep_own_entry(&tx, r, &header, &bytes, hash)?;
        let started = EpochId { client: r.client, index: header.index };
        store::epochs::keep_wrap(&tx, &epoch::wrap_name(header.lamport, &started), &wrap, now)?;
        // The key is kept with the record, in one transaction: a change is whole or not at all.
        replica::keep_epoch(&tx, &r.keys, started, header.lamport, None, &keys)?;
        // The cutoff is this device's newest entry of the removed one, and a device let in was
        // held back: nothing to drop here.
        crate::docs::removals::refresh(&tx, &r.keys, &r.client)?;
        tx.commit()?;
        Ok(PassphraseChanged { left_out })
    }

    /// The workspace's current passphrase typed on this device after it was changed on another
    /// one that could not give this device the new key (this device had not synced since it
    /// joined, or runs after an update): the newest key is read from the first target that has
    /// one, and entries written with it become readable at the next sync. True when a key was
    /// new to this device. The old passphrase is [`Error::OldPassphrase`].
    pub fn enter_passphrase(&mut self, passphrase: &str) -> Result<bool> {
        let mut unreachable = None;
        for t in self.targets()? {
            let tr = match self.transport_for(&t) {
                Ok(tr) => tr,
                Err(e) => {
                    unreachable = Some(e);
                    continue;
                }
            };
            match self.enter_passphrase_on(tr.as_ref(), passphrase) {
                Ok(Some(new)) => return Ok(new),
                Ok(None) => {}
                Err(Error::Transport(e)) => unreachable = Some(Error::Transport(e)),
                Err(e) => return Err(e),
            }
        }
        Err(unreachable.unwrap_or_else(|| {
            Error::Invalid(
                "the passphrase of this workspace was never changed: this device reads everything with the one it has".into(),
            )
        }))
    }

    /// [`Workspace::enter_passphrase`] with one target: `None` when it holds no passphrase
    /// change, else whether the key it gave was new to this device.
    pub fn enter_passphrase_on(
        &mut self,
        target: &dyn Transport,
        passphrase: &str,
    ) -> Result<Option<bool>> {
        let m = self.manifest(None, 0)?;
        let Some((started, lamport, keys)) = newest_key(target, &m, passphrase)? else {
            return Ok(None);
        };
        // `m` is this device's pinned copy of index.json: `newest_key` checked that the keys
        // lead to its first key, which is this device's.
        let new = self.replica.learn_epoch(started, lamport, None, &keys)?;
        store::delete_meta(&self.replica.conn, store::epochs::MISSING_KEY)?;
        Ok(Some(new))
    }

    /// Every key of this workspace this device holds, as an age identity file: epoch 0's first
    /// (`index.json`'s), then each later epoch's (FORMAT.md §5.2), each after a comment naming
    /// it. `age -d -i FILE` opens any entry with it. `None` in a plaintext workspace.
    pub fn export_keys(&self) -> Option<SecretString> {
        let zero = self.replica.keys.epoch0().secret()?;
        let mut text = format!(
            "# Resilient Notes workspace {}: the workspace's first key\n{}\n",
            self.replica.workspace,
            zero.expose_secret()
        );
        // Best effort: a database that cannot be read still gives the first key.
        for (id, s) in store::epochs::all(&self.replica.conn).unwrap_or_default() {
            text.push_str(&format!(
                "# the key started by change {} of device {}\n{}\n",
                id.index,
                id.client,
                s.expose()
            ));
        }
        Some(SecretString::from(text))
    }
}
