//! Key epochs (FORMAT.md §5.2): the sequence of content keys of a workspace, the epoch records
//! that start them, and the [`Keyring`] a reader opens entries with.
//!
//! Epoch 0 is the workspace identity of `index.json`. A device that removes another device, or
//! changes the passphrase, writes an **epoch record**: an entry whose age file is wrapped to every
//! remaining member's own Ed25519 key (age's standard `ssh-ed25519` recipient) and to the new
//! epoch's recipient, and whose payload begins with a [`KeysSection`] carrying the new identity,
//! every earlier one, the members and the removals. Entries written after it name the record in
//! their header and are encrypted to, and MACed with, the new identity.
//!
//! This module is the exchange format only: it encodes and checks records and opens files with
//! the keys it is given. Which epochs a device holds, which removals hold and which epoch it
//! writes in are decided from the logs by the layers above.

use std::fmt;
use std::sync::Arc;

use age::secrecy::ExposeSecret;
use uuid::Uuid;

use crate::format::crypto::{self, CryptoError, OpenFailure, WorkspaceKey};
use crate::format::entry::EntryError;
use crate::format::signature::{self, DeviceKey, PUBLIC_LEN};

/// Length of an epoch identity in a keys section: `AGE-SECRET-KEY-1` and 58 Bech32 characters.
pub const IDENTITY_LEN: usize = 74;
/// Length of an epoch's name in a header: the record's clientId and index.
pub const EPOCH_ID_LEN: usize = 24;

/// An epoch's name: the clientId and index of the record that started it; [`EpochId::ZERO`] for
/// epoch 0 (the key of `index.json`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EpochId {
    /// The device that wrote the record (nil for epoch 0).
    pub client: Uuid,
    /// The record's index in that device's log (0 for epoch 0).
    pub index: u64,
}

impl EpochId {
    /// Epoch 0: the workspace identity of `index.json`.
    pub const ZERO: EpochId = EpochId { client: Uuid::nil(), index: 0 };

    /// True for epoch 0.
    pub fn is_zero(&self) -> bool {
        *self == Self::ZERO
    }

    /// The 24 bytes a header carries: clientId, then the index (u64, big-endian).
    pub fn to_bytes(&self) -> [u8; EPOCH_ID_LEN] {
        let mut out = [0u8; EPOCH_ID_LEN];
        out[..16].copy_from_slice(self.client.as_bytes());
        out[16..].copy_from_slice(&self.index.to_be_bytes());
        out
    }

    /// Reads the 24 bytes of [`EpochId::to_bytes`]. A nil clientId with a nonzero index names
    /// nothing: `None`.
    pub fn from_bytes(b: &[u8; EPOCH_ID_LEN]) -> Option<Self> {
        let client = Uuid::from_bytes(b[..16].try_into().expect("16 bytes"));
        let index = u64::from_be_bytes(b[16..].try_into().expect("8 bytes"));
        (!client.is_nil() || index == 0).then_some(EpochId { client, index })
    }
}

impl fmt::Display for EpochId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Said to people: which device and change are under "Details", not here.
        if self.is_zero() {
            write!(f, "the workspace's first key")
        } else {
            write!(f, "a newer key of the workspace")
        }
    }
}

/// An epoch's secret: an age X25519 identity in its text form, `AGE-SECRET-KEY-1…` (74 ASCII
/// bytes). Never shown by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct EpochSecret(String);

impl fmt::Debug for EpochSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EpochSecret(…)")
    }
}

impl EpochSecret {
    /// A fresh identity from the operating system's random source.
    pub fn generate() -> Self {
        EpochSecret(age::x25519::Identity::generate().to_string().expose_secret().to_string())
    }

    /// The secret of a workspace key (`None`: a plaintext workspace has none).
    pub fn of(key: &WorkspaceKey) -> Option<Self> {
        key.secret().map(|s| EpochSecret(s.expose_secret().to_string()))
    }

    /// Reads the exact 74 bytes a keys section holds: an identity as `age-keygen` prints it
    /// (upper case, no white space), which age parses.
    pub fn parse(text: &[u8]) -> Result<Self, EntryError> {
        let bad =
            || EntryError::Malformed("a key in an epoch record is not an age identity".into());
        let text = std::str::from_utf8(text).map_err(|_| bad())?;
        let parsed: age::x25519::Identity = text.parse().map_err(|_| bad())?;
        if text.len() != IDENTITY_LEN || parsed.to_string().expose_secret() != text {
            return Err(bad());
        }
        Ok(EpochSecret(text.to_string()))
    }

    /// The text, `AGE-SECRET-KEY-1…`. Secret.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The workspace key of this epoch: its identity and the MAC key derived from it (§5).
    pub fn key(&self, workspace: &Uuid) -> WorkspaceKey {
        WorkspaceKey::parse(&self.0, workspace).expect("an EpochSecret is a valid identity")
    }
}

/// A member an epoch record wraps its key to: a device and the Ed25519 key its chain pinned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    /// The device.
    pub client: Uuid,
    /// Its public signing key (§5.1), the `ssh-ed25519` recipient of its wrap.
    pub key: [u8; PUBLIC_LEN],
}

/// A device an epoch record removes, and the newest of its entries the remover held.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Removal {
    /// The removed device.
    pub client: Uuid,
    /// Its entries up to this index stay; later ones are refused (`removed`).
    pub cutoff: u64,
}

/// What an epoch record's payload begins with (FORMAT.md §5.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeysSection {
    /// The new epoch's identity.
    pub identity: EpochSecret,
    /// The epoch the record's header names and every epoch before it in its chain of records,
    /// newest first, each with its identity; the last is epoch 0. So the newest key opens all
    /// history.
    pub earlier: Vec<(EpochId, EpochSecret)>,
    /// The devices the new key is wrapped to, in ascending clientId; the writer is one of them.
    pub members: Vec<Member>,
    /// The devices this record removes, in ascending clientId; none is a member.
    pub removals: Vec<Removal>,
}

impl KeysSection {
    /// The bytes of the section (FORMAT.md §5.2): identity, `u16` count and earlier epochs (name,
    /// identity), `u16` count and members (clientId, key), `u16` count and removals (clientId,
    /// `u64` cutoff).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            IDENTITY_LEN
                + (EPOCH_ID_LEN + IDENTITY_LEN) * self.earlier.len()
                + 48 * self.members.len()
                + 24 * self.removals.len()
                + 6,
        );
        out.extend_from_slice(self.identity.expose().as_bytes());
        out.extend_from_slice(&(self.earlier.len() as u16).to_be_bytes());
        for (id, e) in &self.earlier {
            out.extend_from_slice(&id.to_bytes());
            out.extend_from_slice(e.expose().as_bytes());
        }
        out.extend_from_slice(&(self.members.len() as u16).to_be_bytes());
        for m in &self.members {
            out.extend_from_slice(m.client.as_bytes());
            out.extend_from_slice(&m.key);
        }
        out.extend_from_slice(&(self.removals.len() as u16).to_be_bytes());
        for r in &self.removals {
            out.extend_from_slice(r.client.as_bytes());
            out.extend_from_slice(&r.cutoff.to_be_bytes());
        }
        out
    }

    /// Reads a section from the start of `bytes` and returns it with the number of bytes it
    /// took. Checks the rules a section holds by itself (§5.2): at least one earlier epoch, the
    /// last of them epoch 0 and no other, no epoch or identity named twice (the new one
    /// included), members and removals in strictly ascending clientId, no member removed. What needs the header (the writer, the signer, the epoch it follows) is
    /// checked by [`KeysSection::check_against`].
    pub fn decode(bytes: &[u8]) -> Result<(Self, usize), EntryError> {
        let bad = |m: &str| EntryError::Malformed(format!("epoch record: {m}"));
        let mut at = 0usize;
        let mut take = |n: usize| -> Result<&[u8], EntryError> {
            let s = bytes.get(at..at + n).ok_or_else(|| bad("cut short"))?;
            at += n;
            Ok(s)
        };
        let identity = EpochSecret::parse(take(IDENTITY_LEN)?)?;
        let count = u16::from_be_bytes(take(2)?.try_into().expect("2 bytes"));
        if count == 0 {
            return Err(bad("it names no earlier key"));
        }
        let mut earlier: Vec<(EpochId, EpochSecret)> = Vec::with_capacity(count as usize);
        for n in 0..count {
            let id = EpochId::from_bytes(take(EPOCH_ID_LEN)?.try_into().expect("24 bytes"))
                .ok_or_else(|| bad("it names an epoch of no device"))?;
            let e = EpochSecret::parse(take(IDENTITY_LEN)?)?;
            if e == identity || earlier.iter().any(|(i, s)| *i == id || *s == e) {
                return Err(bad("an epoch or a key is named twice"));
            }
            if id.is_zero() != (n + 1 == count) {
                return Err(bad("its earlier epochs do not end with epoch 0"));
            }
            earlier.push((id, e));
        }
        let count = u16::from_be_bytes(take(2)?.try_into().expect("2 bytes"));
        let mut members: Vec<Member> = Vec::with_capacity(count as usize);
        for _ in 0..count {
            let client = Uuid::from_bytes(take(16)?.try_into().expect("16 bytes"));
            let key: [u8; PUBLIC_LEN] = take(PUBLIC_LEN)?.try_into().expect("32 bytes");
            if members.last().is_some_and(|m| m.client >= client) {
                return Err(bad("members are not in ascending order"));
            }
            members.push(Member { client, key });
        }
        let count = u16::from_be_bytes(take(2)?.try_into().expect("2 bytes"));
        let mut removals: Vec<Removal> = Vec::with_capacity(count as usize);
        for _ in 0..count {
            let client = Uuid::from_bytes(take(16)?.try_into().expect("16 bytes"));
            let cutoff = u64::from_be_bytes(take(8)?.try_into().expect("8 bytes"));
            if removals.last().is_some_and(|r| r.client >= client) {
                return Err(bad("removals are not in ascending order"));
            }
            if members.iter().any(|m| m.client == client) {
                return Err(bad("it removes a device it keeps as a member"));
            }
            removals.push(Removal { client, cutoff });
        }
        Ok((KeysSection { identity, earlier, members, removals }, at))
    }

    /// The rules that tie a section to its entry's header (§5.2): the writer is a member with the
    /// key that signed the record, and the first earlier epoch is the one the header names
    /// (`followed`) with the key the reader used for the MAC (`followed_key`) — so only a holder
    /// of that epoch's key can start the next one; the record's own epoch (`started`) is not
    /// among the earlier ones.
    pub fn check_against(
        &self,
        started: &EpochId,
        signer: &[u8; PUBLIC_LEN],
        followed: &EpochId,
        followed_key: &WorkspaceKey,
    ) -> Result<(), EntryError> {
        let writer = &started.client;
        let bad = |m: &str| EntryError::Malformed(format!("epoch record: {m}"));
        match self.members.iter().find(|m| m.client == *writer) {
            Some(m) if m.key == *signer => {}
            Some(_) => return Err(bad("its writer's key is not the one that signed it")),
            None => return Err(bad("its writer is not one of its members")),
        }
        let first = followed_key.secret().map(|s| s.expose_secret().to_string());
        if self.earlier[0].0 != *followed || first.as_deref() != Some(self.earlier[0].1.expose()) {
            return Err(bad("its first earlier key is not the key of the epoch it follows"));
        }
        if self.earlier.iter().any(|(id, _)| id == started) {
            return Err(bad("it names the epoch it starts as an earlier one"));
        }
        Ok(())
    }
}

/// The folder of a target holding the passphrase wraps of key epochs.
pub const KEYS_DIR: &str = "keys";

/// The name, under [`KEYS_DIR`], of the passphrase wrap of the epoch started by `record` with
/// Lamport clock `lamport`: `<lamport>.<clientId>.<index>.age` (decimal numbers, FORMAT.md §5.2).
pub fn wrap_name(lamport: u64, record: &EpochId) -> String {
    format!("{lamport}.{}.{}.age", record.client, record.index)
}

/// Reads a name made by [`wrap_name`]; anything else under `keys/` is not a wrap (`None`).
pub fn parse_wrap_name(name: &str) -> Option<(u64, EpochId)> {
    let mut parts = name.strip_suffix(".age")?.split('.');
    let (lamport, text, index) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    // One epoch, one name: a lowercase hyphenated clientId, decimal numbers without leading zeros.
    let client = Uuid::parse_str(text).ok().filter(|c| !c.is_nil() && c.to_string() == text)?;
    let number = |s: &str| -> Option<u64> {
        let n: u64 = s.parse().ok().filter(|_| s.bytes().all(|b| b.is_ascii_digit()))?;
        (n.to_string() == s).then_some(n)
    };
    Some((number(lamport)?, EpochId { client, index: number(index)? }))
}

/// Encrypts an epoch record's envelope (FORMAT.md §5.2): one `ssh-ed25519` stanza per member, in
/// the section's order, then one X25519 stanza to the new epoch's own recipient.
pub fn seal_record(plain: &[u8], keys: &KeysSection) -> Result<Vec<u8>, CryptoError> {
    use std::io::Write;
    let failed = |e: &dyn fmt::Display| CryptoError::Failed(e.to_string());
    let wraps: Vec<age::ssh::Recipient> =
        keys.members.iter().map(|m| signature::age_recipient(&m.key)).collect();
    let own = keys
        .identity
        .expose()
        .parse::<age::x25519::Identity>()
        .map_err(|e| CryptoError::NotAnIdentity(e.to_string()))?
        .to_public();
    let recipients = wraps
        .iter()
        .map(|r| r as &dyn age::Recipient)
        .chain(std::iter::once(&own as &dyn age::Recipient));
    let encryptor = age::Encryptor::with_recipients(recipients).map_err(|e| failed(&e))?;
    let mut out = Vec::with_capacity(plain.len() + 200 * (keys.members.len() + 1));
    let mut w = encryptor.wrap_output(&mut out).map_err(|e| failed(&e))?;
    w.write_all(plain).map_err(|e| failed(&e))?;
    w.finish().map_err(|e| failed(&e))?;
    Ok(out)
}

/// Every key a device opens entries with: the identity of each epoch it holds and, once it
/// signs, its device key for the records wrapped to it.
///
/// Keys are learnt through a shared reference: one device's data dir is open in several
/// connections (the app's window and its background sync, a CLI beside the app), and a key one
/// of them learns reaches the others' keyrings when they next read it from the database.
pub struct Keyring {
    workspace: Uuid,
    epoch0: WorkspaceKey,
    /// Later epochs, in the order learnt.
    epochs: std::sync::RwLock<Vec<(EpochId, Arc<WorkspaceKey>)>>,
    /// Keys a record named for earlier epochs, not yet confirmed by those epochs' own records:
    /// tried only to open files (a record they open says whose key it is), never to
    /// authenticate one.
    candidates: std::sync::RwLock<Vec<Arc<WorkspaceKey>>>,
    device: Option<age::ssh::Identity>,
    /// The signing keys of the devices whose entries it verified, decompressed once: a pull
    /// verifies thousands of one device's entries.
    signers: std::sync::RwLock<Vec<([u8; 32], ed25519_dalek::VerifyingKey)>>,
    /// Which key opened the last file (0: epoch 0's, `i`: the `i`-th later epoch learnt): tried
    /// first, since a device's entries come in runs of one epoch. Each key tried costs an X25519
    /// operation, most of what opening a small entry costs.
    last: std::sync::atomic::AtomicUsize,
}

/// An epoch's key as a [`Keyring`] hands it out.
pub type EpochKey = Arc<WorkspaceKey>;

impl Keyring {
    /// A keyring holding epoch 0 only (the key of `index.json`, or a plaintext workspace).
    pub fn new(workspace: Uuid, epoch0: WorkspaceKey) -> Self {
        Keyring {
            workspace,
            epoch0,
            epochs: Default::default(),
            candidates: Default::default(),
            signers: Default::default(),
            device: None,
            last: 0.into(),
        }
    }

    /// Verifies an entry's signature (FORMAT.md §5.1) as [`signature::verify`] does, keeping
    /// each signer's key ready for the next of its entries.
    pub(crate) fn verify_signature(&self, public: &[u8; 32], header: &[u8], sig: &[u8]) -> bool {
        let known = {
            let s = self.signers.read().unwrap_or_else(|e| e.into_inner());
            s.iter().find(|(p, _)| p == public).map(|(_, k)| *k)
        };
        let key = match known {
            Some(k) => k,
            None => {
                let Some(k) = signature::verifier(public) else { return false };
                let mut s = self.signers.write().unwrap_or_else(|e| e.into_inner());
                if s.len() < 64 {
                    s.push((*public, k));
                }
                k
            }
        };
        signature::verify_with(&key, header, sig)
    }

    /// Adds this device's key, which opens the records wrapped to it.
    pub fn with_device(mut self, device: &DeviceKey) -> Self {
        self.device = Some(device.age_identity());
        self
    }

    /// Adds an epoch's key; a second key for an epoch it holds is ignored (returns false).
    pub fn learn(&self, id: EpochId, secret: &EpochSecret) -> bool {
        if id.is_zero() || self.key(&id).is_some() || !self.epoch0.is_encrypted() {
            return false;
        }
        let mut epochs = self.epochs.write().unwrap_or_else(|e| e.into_inner());
        epochs.push((id, Arc::new(secret.key(&self.workspace))));
        true
    }

    /// Adds a key a record names for an earlier epoch, to open files with only (see
    /// [`Keyring::open`]); one already known is ignored.
    pub fn learn_candidate(&self, secret: &EpochSecret) {
        if !self.epoch0.is_encrypted() {
            return;
        }
        let key = secret.key(&self.workspace);
        let mut c = self.candidates.write().unwrap_or_else(|e| e.into_inner());
        if !c.iter().any(|k| {
            k.secret().map(|s| s.expose_secret().to_string()) == Some(secret.expose().to_string())
        }) {
            c.push(Arc::new(key));
        }
    }

    /// The key of an epoch, when this device holds it.
    pub fn key(&self, id: &EpochId) -> Option<EpochKey> {
        if id.is_zero() {
            // Epoch 0's key is not shared out as an `Arc`: callers use [`Keyring::epoch0`].
            return Some(Arc::new(self.epoch0.clone()));
        }
        let epochs = self.epochs.read().unwrap_or_else(|e| e.into_inner());
        epochs.iter().find(|(e, _)| e == id).map(|(_, k)| k.clone())
    }

    /// Epoch 0's key.
    pub fn epoch0(&self) -> &WorkspaceKey {
        &self.epoch0
    }

    /// Every epoch key held (not the candidates), the newest learnt first and epoch 0 last:
    /// what opens a file whose epoch is only known once it is open (an attachment, FORMAT.md
    /// §10.2).
    pub fn held(&self) -> Vec<EpochKey> {
        let epochs = self.epochs.read().unwrap_or_else(|e| e.into_inner());
        let mut out: Vec<EpochKey> = epochs.iter().rev().map(|(_, k)| k.clone()).collect();
        out.push(Arc::new(self.epoch0.clone()));
        out
    }

    /// Decrypts a whole file with any key held: the key that opened the last file first, then
    /// the newest epochs, epoch 0, and the device key for records. A plaintext workspace returns
    /// the bytes as they are.
    pub fn open(&self, file: &[u8]) -> Result<Vec<u8>, OpenFailure> {
        Ok(self.open_seeing_file_key(file)?.0)
    }

    /// [`Keyring::open`], also returning the age file key when an epoch key opened the file
    /// (`None`: opened with the device key, as a record is, or a plaintext workspace).
    pub fn open_seeing_file_key(
        &self,
        file: &[u8],
    ) -> Result<(Vec<u8>, Option<crypto::FileKey>), OpenFailure> {
        use std::sync::atomic::Ordering;
        if !self.epoch0().is_encrypted() {
            return Ok((file.to_vec(), None));
        }
        let mut later: Vec<EpochKey> = {
            let epochs = self.epochs.read().unwrap_or_else(|e| e.into_inner());
            epochs.iter().map(|(_, k)| k.clone()).collect()
        };
        // Candidates are tried after every key held (so `last` never points at one, except
        // when one opened the last file); a file one opens is authenticated as any other: an
        // entry with the key its header names, which must be held, a record with the key of
        // the epoch it follows.
        let candidates = self.candidates.read().unwrap_or_else(|e| e.into_inner()).clone();
        let held = later.len();
        later.extend(candidates);
        if later.is_empty() && self.device.is_none() {
            let Some(identity) = self.epoch0.age_identity() else {
                return Ok((self.epoch0.open(file)?, None));
            };
            return crypto::open_seeing_file_key(file, identity);
        }
        let key = |i: usize| if i == 0 { &self.epoch0 } else { &*later[i - 1] };
        let last = self.last.load(Ordering::Relaxed).min(later.len());
        let mut order = vec![last];
        order.extend((0..=held).rev().filter(|i| *i != last));
        order.extend((held + 1..=later.len()).filter(|i| *i != last));
        let mut failure = None;
        for i in order {
            let Some(identity) = key(i).age_identity() else { continue };
            match crypto::open_seeing_file_key(file, identity) {
                Ok(opened) => {
                    self.last.store(i, Ordering::Relaxed);
                    return Ok(opened);
                }
                Err(OpenFailure::Undecryptable(m)) => failure = Some(m),
                Err(other) => return Err(other),
            }
        }
        match &self.device {
            Some(d) => Ok((crypto::open_with(file, &[d])?, None)),
            None => Err(OpenFailure::Undecryptable(failure.unwrap_or_default())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(writer: &DeviceKey, client: Uuid, followed: &WorkspaceKey) -> KeysSection {
        KeysSection {
            identity: EpochSecret::generate(),
            earlier: vec![(EpochId::ZERO, EpochSecret::of(followed).unwrap())],
            members: vec![Member { client, key: writer.public() }],
            removals: vec![Removal { client: Uuid::from_u128(u128::MAX), cutoff: 4 }],
        }
    }

    #[test]
    fn a_keys_section_round_trips_and_breaking_its_rules_is_malformed() {
        let ws = Uuid::new_v4();
        let zero = WorkspaceKey::generate(&ws);
        let dev = DeviceKey::from_seed([3; 32]);
        let me = Uuid::from_u128(5);
        let s = section(&dev, me, &zero);
        let mut bytes = s.encode();
        bytes.extend_from_slice(b"rest");
        let (back, used) = KeysSection::decode(&bytes).unwrap();
        assert_eq!(back, s);
        assert_eq!(used, bytes.len() - 4);
        let started = EpochId { client: me, index: 2 };
        back.check_against(&started, &dev.public(), &EpochId::ZERO, &zero).unwrap();

        let malformed = |k: &KeysSection| {
            matches!(KeysSection::decode(&k.encode()), Err(EntryError::Malformed(_)))
        };
        let mut k = s.clone();
        k.earlier.clear();
        assert!(malformed(&k), "no earlier key");
        let mut k = s.clone();
        k.earlier.insert(0, (EpochId { client: me, index: 1 }, k.identity.clone()));
        assert!(malformed(&k), "the new key among the earlier ones");
        let mut k = s.clone();
        k.earlier.push((EpochId { client: me, index: 1 }, EpochSecret::generate()));
        assert!(malformed(&k), "earlier epochs not ending with epoch 0");
        let mut k = s.clone();
        k.earlier.insert(0, (EpochId::ZERO, EpochSecret::generate()));
        assert!(malformed(&k), "epoch 0 named twice");
        let mut k = s.clone();
        k.members.insert(0, Member { client: Uuid::from_u128(9), key: [1; 32] });
        assert!(malformed(&k), "members out of order");
        let mut k = s.clone();
        k.removals.push(Removal { client: me, cutoff: 1 });
        k.removals.reverse();
        assert!(malformed(&k), "a member removed");
        let cut = s.encode();
        assert!(KeysSection::decode(&cut[..cut.len() - 1]).is_err(), "cut short");
        let mut lower = s.encode();
        lower[..IDENTITY_LEN].make_ascii_lowercase();
        assert!(KeysSection::decode(&lower).is_err(), "a key not written as age-keygen prints it");

        let other = DeviceKey::from_seed([4; 32]);
        let z = EpochId::ZERO;
        assert!(s.check_against(&started, &other.public(), &z, &zero).is_err(), "another signer");
        let stranger = EpochId { client: Uuid::from_u128(6), index: 2 };
        assert!(s.check_against(&stranger, &dev.public(), &z, &zero).is_err(), "not a member");
        let wrong = WorkspaceKey::generate(&ws);
        assert!(s.check_against(&started, &dev.public(), &z, &wrong).is_err(), "another key");
        let elsewhere = EpochId { client: me, index: 1 };
        assert!(s.check_against(&started, &dev.public(), &elsewhere, &zero).is_err());
    }

    #[test]
    fn a_record_opens_with_a_members_device_key_or_the_new_epoch_key_only() {
        let ws = Uuid::new_v4();
        let zero = WorkspaceKey::generate(&ws);
        let (a, b, gone) =
            (DeviceKey::from_seed([1; 32]), DeviceKey::from_seed([2; 32]), DeviceKey::generate());
        let mut keys = section(&a, Uuid::from_u128(1), &zero);
        keys.members.push(Member { client: Uuid::from_u128(2), key: b.public() });
        let file = seal_record(b"the record", &keys).unwrap();

        let member = Keyring::new(ws, WorkspaceKey::generate(&ws)).with_device(&b);
        assert_eq!(member.open(&file).unwrap(), b"the record");
        let knows = Keyring::new(ws, WorkspaceKey::generate(&ws));
        assert!(knows.learn(EpochId { client: Uuid::from_u128(1), index: 3 }, &keys.identity));
        assert_eq!(knows.open(&file).unwrap(), b"the record");
        let removed = Keyring::new(ws, zero).with_device(&gone);
        assert!(matches!(removed.open(&file), Err(OpenFailure::Undecryptable(_))));
    }

    proptest::proptest! {
        #[test]
        fn decoding_a_keys_section_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600)) {
            let _ = KeysSection::decode(&bytes);
        }
    }

    #[test]
    fn a_wrap_name_round_trips_and_other_names_are_not_wraps() {
        let e = EpochId { client: Uuid::from_u128(0xabc), index: 12 };
        let name = wrap_name(40, &e);
        assert_eq!(name, "40.00000000-0000-0000-0000-000000000abc.12.age");
        assert_eq!(parse_wrap_name(&name), Some((40, e)));
        for other in [
            "040.00000000-0000-0000-0000-000000000abc.12.age",
            "40.00000000-0000-0000-0000-000000000ABC.12.age",
            "40.00000000-0000-0000-0000-000000000abc.12",
            "40.00000000-0000-0000-0000-000000000abc.+12.age",
            "40.00000000-0000-0000-0000-000000000000.12.age",
            "40.00000000-0000-0000-0000-000000000abc.12.x.age",
            ".DS_Store",
        ] {
            assert_eq!(parse_wrap_name(other), None, "{other}");
        }
    }

    #[test]
    fn an_epoch_id_round_trips_and_a_nil_device_names_only_epoch_0() {
        let e = EpochId { client: Uuid::from_u128(77), index: 1 << 40 };
        assert_eq!(EpochId::from_bytes(&e.to_bytes()), Some(e));
        assert_eq!(EpochId::from_bytes(&[0; 24]), Some(EpochId::ZERO));
        let mut b = [0u8; 24];
        b[23] = 1;
        assert_eq!(EpochId::from_bytes(&b), None);
    }

    #[test]
    fn the_openssh_encoding_of_a_device_key_is_what_age_reads() {
        let d = DeviceKey::from_seed([9; 32]);
        let text = d.to_openssh();
        assert!(text.starts_with("-----BEGIN OPENSSH PRIVATE KEY-----\n"));
        assert!(text.lines().all(|l| l.len() <= 70));
        assert_eq!(text, d.to_openssh(), "deterministic");
        let file = age::encrypt(&signature::age_recipient(&d.public()), b"x").unwrap();
        assert_eq!(crypto::open_with(&file, &[&d.age_identity()]).unwrap(), b"x");
        assert!(signature::openssh_public(&d.public())
            .starts_with("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI"));
    }
}
