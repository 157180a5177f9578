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
use crate::format::epoch::{self, EpochId, EpochSecret, KeysSection, Member};
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

/// The newest key epoch of a target as its `keys/` file gives it with `passphrase` (FORMAT.md
/// §5.2): the epoch and the keys its record carries (checked as any entry is). `None` when the
/// target has no `keys/` file (no passphrase change yet). The old passphrase, which opens
/// `index.json` but not the newest `keys/` file, is [`Error::OldPassphrase`].
pub(crate) fn newest_key(
    target: &dyn Transport,
    m: &Manifest,
    passphrase: &str,
) -> Result<Option<(EpochId, KeysSection)>> {
    let mut wraps: Vec<((u64, Uuid), EpochId, String)> = target
        .list(epoch::KEYS_DIR)?
        .into_iter()
        .filter_map(|name| epoch::parse_wrap_name(&name).map(|(l, e)| ((l, e.client), e, name)))
        .collect();
    if wraps.is_empty() {
        return Ok(None);
    }
    wraps.sort_by(|a, b| b.0.cmp(&a.0));
    // The newest first. A file that does not open is skipped when no entry backs its name (a
    // file planted there, or one whose entry has not arrived): this passphrase may open an
    // older one. One that an entry backs means the passphrase changed since: it is old.
    // Each try costs a second of scrypt, so only the few newest are tried.
    let mut newer_backed = false;
    for ((lamport, _), started, name) in wraps.into_iter().take(MAX_WRAPS_TRIED) {
        let Some(file) = target.read(&format!("{}/{name}", epoch::KEYS_DIR))? else { continue };
        let record = path::entry_path(
            &started.client,
            Kind::Changes,
            started.index,
            m.max_entries_per_folder,
            &m.change_extension,
        );
        let secret = match crypto::unwrap_secret_file(&file, passphrase) {
            Ok(s) => s,
            Err(crypto::CryptoError::WrongPassphrase) => {
                newer_backed |= target.exists(&record)?;
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        if newer_backed {
            return Err(Error::OldPassphrase);
        }
        let secret = EpochSecret::parse(secret.expose_secret().as_bytes()).map_err(|_| {
            crypto::CryptoError::NotAnIdentity(format!("{}/{name}", epoch::KEYS_DIR))
        })?;
        let (e, keys) = read_record_entry(target, m, &started, &secret)?;
        if e.header.lamport != lamport {
            return Err(Error::Invalid(format!(
                "{}/{name} does not name the entry that started its key; it was not used",
                epoch::KEYS_DIR
            )));
        }
        return Ok(Some((started, keys)));
    }
    let old = m.encryption.key_wrap.as_ref().map(|w| crypto::unwrap_secret(&w.armored, passphrase));
    Err(match old {
        Some(Ok(_)) if newer_backed => Error::OldPassphrase,
        // Only planted or unbacked files: the first key's passphrase is still the passphrase.
        Some(Ok(_)) => return Ok(None),
        _ => crypto::CryptoError::WrongPassphrase.into(),
    })
}

/// How many `keys/` files a join tries, newest first (a second of scrypt each).
const MAX_WRAPS_TRIED: usize = 3;

/// The keys the record of epoch `started` carries, read from `target` with that epoch's key
/// (`secret`, from a `keys/` file or an invitation): how a device joining with the newest key
/// learns every earlier one.
pub(crate) fn read_record(
    target: &dyn Transport,
    m: &Manifest,
    started: &EpochId,
    secret: &EpochSecret,
) -> Result<KeysSection> {
    Ok(read_record_entry(target, m, started, secret)?.1)
}

fn read_record_entry(
    target: &dyn Transport,
    m: &Manifest,
    started: &EpochId,
    secret: &EpochSecret,
) -> Result<(entry::Entry, KeysSection)> {
    let path = path::entry_path(
        &started.client,
        Kind::Changes,
        started.index,
        m.max_entries_per_folder,
        &m.change_extension,
    );
    let record = target.read(&path)?.ok_or_else(|| {
        Error::Invalid(format!(
            "{} does not hold the entry that started the workspace's newest key yet; wait until your other device has synced with it, then join again",
            target.location()
        ))
    })?;
    let mut e = entry::record_keys(&record, secret, &m.workspace_id)?;
    if e.header.client != started.client || e.header.index != started.index {
        return Err(Error::Invalid(format!(
            "{path} is not the entry that started the key it was opened with; it was not used"
        )));
    }
    let keys = e.keys.take().expect("record_keys reads records only");
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
        let r = &mut self.replica;
        if !r.keys.epoch0().is_encrypted() {
            return Err(Error::Invalid(
                "this workspace is not encrypted, so it has no passphrase to change".into(),
            ));
        }
        check_passphrase(passphrase)?;
        let now = r.now();
        let tx = store::write_tx(&r.conn)?;
        let mut members = Vec::new();
        let mut left_out = Vec::new();
        for n in store::log::newest_of_each(&tx)? {
            match n.signer {
                _ if n.client == r.client => {}
                Some(key) => members.push(Member { client: n.client, key }),
                None => left_out.push(
                    store::notes::device_name(&tx, &n.client)?
                        .unwrap_or_else(|| n.client.to_string()),
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
        let keys = KeysSection {
            identity: EpochSecret::generate(),
            earlier,
            members,
            removals: Vec::new(),
        };
        let header = replica::next_header(&tx, r, now)?;
        let (plain, hash) = entry::encode_record(
            &header,
            follows,
            &followed_key,
            &keys,
            &Payload::default(),
            &r.device,
        );
        let bytes = epoch::seal_record(&plain, &keys)?;
        let wrap = crypto::wrap_secret_file(keys.identity.expose(), passphrase, log_n)?;
        replica::keep_own_entry(&tx, r, &header, &bytes, hash)?;
        let started = EpochId { client: r.client, index: header.index };
        store::epochs::keep_wrap(&tx, &epoch::wrap_name(header.lamport, &started), &wrap, now)?;
        tx.commit()?;
        r.learn_epoch(started, &keys)?;
        Ok(PassphraseChanged { left_out })
    }

    /// The workspace's current passphrase typed on this device after it was changed on another
    /// one that could not give this device the new key (this device had not synced since it
    /// joined, or runs after an update): the newest key is read from the first target that has
    /// one, and entries written with it become readable at the next sync. True when a key was
    /// new to this device. The old passphrase is [`Error::OldPassphrase`].
    pub fn enter_passphrase(&mut self, passphrase: &str) -> Result<bool> {
        let m = self.manifest(None, 0)?;
        let mut unreachable = None;
        for t in self.targets()? {
            let tr = match self.transport_for(&t) {
                Ok(tr) => tr,
                Err(e) => {
                    unreachable = Some(e);
                    continue;
                }
            };
            match newest_key(tr.as_ref(), &m, passphrase) {
                Ok(Some((started, keys))) => {
                    let new = self.replica.keys.key(&started).is_none();
                    self.replica.learn_epoch(started, &keys)?;
                    return Ok(new);
                }
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
            text.push_str(&format!("# {id}\n{}\n", s.expose()));
        }
        Some(SecretString::from(text))
    }

    /// The clientId of the device whose record started the epoch this device writes in;
    /// `None` while it writes with the workspace's first key.
    pub fn key_epoch(&self) -> Result<Option<(Uuid, u64)>> {
        let e = store::epochs::newest(&self.replica.conn)?;
        Ok((!e.is_zero()).then_some((e.client, e.index)))
    }
}
