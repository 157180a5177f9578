//! One log entry: the versioned binary envelope (FORMAT.md, "Entry"), its hash chain, MAC and
//! payload of Automerge changes, and the checks a reader runs before using any of it.

use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::format::crypto::{OpenFailure, WorkspaceKey};
use crate::format::epoch::{EpochId, Keyring, KeysSection, EPOCH_ID_LEN};
use crate::format::signature::{self, DeviceKey, PUBLIC_LEN, SIGNATURE_LEN};

/// First bytes of every decrypted entry.
pub const MAGIC: &[u8; 4] = b"RSNE";
/// Envelope version written by this program (6: entries are signed by their device, §5.1;
/// 5 marked a device's own document, §4.6; 4 added notebooks; 3 pins, tags and `purged`).
pub const VERSION: u8 = 6;
/// Oldest envelope version a reader accepts (1: changes only).
pub const MIN_VERSION: u8 = 1;
/// First envelope version whose entries are signed by their device (§5.1).
pub const SIGNED_VERSION: u8 = 6;
/// Length of the authenticated header (everything before the payload) up to version 5.
pub const HEADER_LEN: usize = 130;
/// Length of the header from version 6 on: version 5's and the signer's public key.
pub const SIGNED_HEADER_LEN: usize = HEADER_LEN + PUBLIC_LEN;
/// Envelope version of entries written in a key epoch, and of epoch records (FORMAT.md §5.2):
/// version 6's header followed by the epoch the entry belongs to. Read by a [`Keyring`]
/// ([`open_in`]); [`open`], which knows epoch 0 only, refuses it as newer.
pub const EPOCH_VERSION: u8 = 7;
/// Length of a version-7 header: version 6's and the epoch's name.
pub const EPOCH_HEADER_LEN: usize = SIGNED_HEADER_LEN + EPOCH_ID_LEN;
/// Flag bit 1 (version 7 on): the entry is an epoch record; its payload begins with a
/// [`KeysSection`].
pub const FLAG_RECORD: u8 = 2;
/// Length of the trailing MAC.
pub const MAC_LEN: usize = 32;
/// Largest entry file a reader accepts (64 MiB); bigger files are refused, not loaded.
pub const MAX_ENTRY_BYTES: usize = 64 << 20;
/// Flag bit 0: the stored payload is raw DEFLATE (RFC 1951) of the payload.
pub const FLAG_DEFLATE: u8 = 1;
/// Payloads at least this long are compressed when that makes them smaller.
const COMPRESS_FROM: usize = 256;
/// Largest decompressed payload a reader accepts (64 MiB).
pub const MAX_PAYLOAD_BYTES: usize = 64 << 20;
/// The all-zero hash used as `prevHash` of entry 0.
pub const ZERO_HASH: [u8; 32] = [0; 32];

/// One Automerge change for one note.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteChange {
    /// The note (one Automerge document per note).
    pub note: Uuid,
    /// A standard Automerge binary change.
    pub change: Vec<u8>,
}

/// What the writer's document of a note looked like once it had applied this entry (FORMAT.md
/// §4.2): the note's list row, so a reader can list the note without building its document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    /// The note.
    pub note: Uuid,
    /// Its title.
    pub title: String,
    /// The body's first line as FORMAT.md §4.2 defines it ([`crate::note::first_line`]).
    pub first_line: String,
    /// `created_at` of the document.
    pub created_at: i64,
    /// `updated_at` of the document.
    pub updated_at: i64,
    /// `deleted` of the document.
    pub deleted: bool,
    /// `pinned` of the document (version 3; false in version 2).
    pub pinned: bool,
    /// `purged` of the document (version 3; false in version 2).
    pub purged: bool,
    /// The document's tags, sorted by UTF-8 bytes, no duplicates (version 3; none in version 2).
    pub tags: Vec<String>,
    /// What the document is (notebooks since version 4, devices since version 5): for a
    /// notebook or a device `title` is its name, and `first_line`, `tags`, `pinned` and
    /// `purged` are empty or false.
    pub kind: DocKind,
    /// A note's notebook, or a notebook's parent (version 4; `None`, written as 16 zero bytes:
    /// the default notebook, or the top level).
    pub notebook: Option<Uuid>,
}

/// What a document of the logs is (FORMAT.md §4.3, §4.4, §4.6): its root `kind` key, and the
/// flag its summaries carry.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum DocKind {
    /// A note (no `kind` key, or one this program does not know).
    #[default]
    Note,
    /// A notebook (`kind` is `"notebook"`).
    Notebook,
    /// A device's name for itself (`kind` is `"device"`; the document's id is the device's
    /// clientId).
    Device,
}

/// Summary flag bits (FORMAT.md §4.2): deleted, pinned (version 3), purged (version 3),
/// notebook (version 4), device (version 5).
const SUMMARY_DELETED: u8 = 1;
const SUMMARY_PINNED: u8 = 2;
const SUMMARY_PURGED: u8 = 4;
const SUMMARY_NOTEBOOK: u8 = 8;
const SUMMARY_DEVICE: u8 = 16;

/// An entry's payload: its changes and, since version 2, the summaries of the notes it changes
/// with the clock they were taken at.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Payload {
    /// The changes (at least one).
    pub changes: Vec<NoteChange>,
    /// For every other client, the newest of its entries the writer had applied (all earlier ones
    /// too) when it wrote the summaries. The writer's own earlier entries are implied.
    pub clock: Vec<(Uuid, u64)>,
    /// At most one per note, only for notes with changes in this entry.
    pub summaries: Vec<Summary>,
}

impl Payload {
    /// A payload of changes only.
    pub fn changes(changes: Vec<NoteChange>) -> Self {
        Payload { changes, ..Default::default() }
    }
}

/// The fields of an entry's header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// Workspace the entry belongs to.
    pub workspace: Uuid,
    /// Writing device.
    pub client: Uuid,
    /// Position in the client's log.
    pub index: u64,
    /// Milliseconds since the Unix epoch when the entry was written.
    pub timestamp: i64,
    /// Lamport clock: one more than the highest of any entry the writer held (FORMAT.md §4.1).
    pub lamport: u64,
    /// Hash of the client's previous entry; zeros for index 0.
    pub prev_hash: [u8; 32],
}

/// A fully checked entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Header fields.
    pub header: Header,
    /// This entry's hash (SHA-256 of the header bytes), the next entry's `prev_hash`.
    pub hash: [u8; 32],
    /// The changes it carries.
    pub changes: Vec<NoteChange>,
    /// Clock of the summaries (empty in version 1).
    pub clock: Vec<(Uuid, u64)>,
    /// Note summaries (empty in version 1).
    pub summaries: Vec<Summary>,
    /// The public key that signed it (version 6 on; `None` for older, unsigned entries).
    pub signer: Option<[u8; PUBLIC_LEN]>,
    /// The key epoch whose key MACed it (version 7; [`EpochId::ZERO`] before). For an epoch
    /// record, the epoch it follows.
    pub epoch: EpochId,
    /// An epoch record's keys (version 7, flag bit 1): the epoch it starts is named by this
    /// entry's clientId and index.
    pub keys: Option<KeysSection>,
}

impl Entry {
    /// Roughly how many bytes its changes and summaries hold in memory: what caches and
    /// read-aheads of decoded entries count to stay bounded.
    pub fn weight(&self) -> usize {
        self.changes.iter().map(|c| c.change.len() + 16).sum::<usize>() + self.summaries.len() * 256
    }
}

/// Why an entry file was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryError {
    /// Still being copied: retry later.
    #[error("is incomplete (still being copied, or damaged); will retry")]
    Incomplete,
    /// Decryption failed.
    #[error("could not be decrypted ({0}); will retry")]
    Undecryptable(String),
    /// MAC did not verify: written by someone without the workspace key, or damaged.
    #[error("failed authentication (not written with this workspace's key, or damaged)")]
    BadMac,
    /// Structural problem.
    #[error("is malformed: {0}")]
    Malformed(String),
    /// The header names another place than the file's path.
    #[error("claims to be {claimed} but sits at {actual}; refused")]
    Misplaced {
        /// What the entry says it is.
        claimed: String,
        /// Where it was found.
        actual: String,
    },
    /// The hash chain breaks.
    #[error("does not follow the previous entry of its device (hash chain broken)")]
    ChainBroken,
    /// Its signature does not verify against the key its header names (§5.1): damaged, or
    /// altered by someone holding the workspace key.
    #[error("is not signed by the device it claims to come from ({0}); refused as a forgery")]
    BadSignature(&'static str),
    /// Validly signed, but not by the key that signed its device's previous entry, or not signed
    /// though that one is (§5.1): someone holding the workspace key writing as that device.
    #[error("is not signed by the device it claims to come from ({0}); refused as a forgery")]
    WrongSigner(&'static str),
    /// Newer envelope version.
    #[error("uses entry version {0}, newer than this program understands; update Resilient Notes")]
    UnsupportedVersion(u8),
    /// Too big.
    #[error("is larger than {} MiB; refused", MAX_ENTRY_BYTES >> 20)]
    TooLarge,
}

impl EntryError {
    /// The class of the refusal as FORMAT.md §6's table names it (`expect` in the vectors'
    /// `cases.json`): `incomplete`, `undecryptable`, `bad_mac`, `malformed`, `misplaced`,
    /// `chain_broken`, `bad_signature`, `unsupported_version` or `too_large`.
    pub fn class(&self) -> &'static str {
        match self {
            EntryError::Incomplete => "incomplete",
            EntryError::Undecryptable(_) => "undecryptable",
            EntryError::BadMac => "bad_mac",
            EntryError::Malformed(_) => "malformed",
            EntryError::Misplaced { .. } => "misplaced",
            EntryError::ChainBroken => "chain_broken",
            EntryError::BadSignature(_) | EntryError::WrongSigner(_) => "bad_signature",
            EntryError::UnsupportedVersion(_) => "unsupported_version",
            EntryError::TooLarge => "too_large",
        }
    }

    /// True when the file may simply not have arrived completely yet.
    pub fn is_incomplete(&self) -> bool {
        matches!(self, EntryError::Incomplete)
    }

    /// True when the same bytes can never be accepted, by this program or a newer one: the
    /// file is refused for what it is (malformed, forged, misplaced, too large), not because it
    /// is still arriving, or needs a key or a version this program lacks.
    pub fn is_final(&self) -> bool {
        !matches!(
            self,
            EntryError::Incomplete
                | EntryError::Undecryptable(_)
                | EntryError::UnsupportedVersion(_)
        )
    }
}

/// SHA-256.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// Encodes a version-5 payload (laid out as version 4's): the changes (`u32 count`, then per change `16-byte note id,
/// u32 length, bytes`), then the clock (`u32 count`, per client `16-byte id, u64 index`), then the
/// summaries (`u32 count`, per note `16-byte id, u8 flags, i64 created, i64 updated, u32 length,
/// title, u32 length, first line, u16 tag count, per tag u32 length, name, 16-byte notebook`).
pub fn encode_payload(p: &Payload) -> Vec<u8> {
    encode_payload_version(p, VERSION)
}

/// Encodes a payload as envelope `version` (2 to 5) lays it out: for test vectors of older
/// writers. Writers use [`encode_payload`].
pub fn encode_payload_version(p: &Payload, version: u8) -> Vec<u8> {
    let mut out = encode_changes(&p.changes);
    out.extend_from_slice(&(p.clock.len() as u32).to_be_bytes());
    for (c, i) in &p.clock {
        out.extend_from_slice(c.as_bytes());
        out.extend_from_slice(&i.to_be_bytes());
    }
    out.extend_from_slice(&(p.summaries.len() as u32).to_be_bytes());
    for s in &p.summaries {
        out.extend_from_slice(s.note.as_bytes());
        let mut flags = if s.deleted { SUMMARY_DELETED } else { 0 };
        if version >= 3 {
            flags |= if s.pinned { SUMMARY_PINNED } else { 0 };
            flags |= if s.purged { SUMMARY_PURGED } else { 0 };
        }
        match s.kind {
            DocKind::Notebook if version >= 4 => flags |= SUMMARY_NOTEBOOK,
            DocKind::Device if version >= 5 => flags |= SUMMARY_DEVICE,
            _ => {}
        }
        out.push(flags);
        out.extend_from_slice(&s.created_at.to_be_bytes());
        out.extend_from_slice(&s.updated_at.to_be_bytes());
        for text in [&s.title, &s.first_line] {
            out.extend_from_slice(&(text.len() as u32).to_be_bytes());
            out.extend_from_slice(text.as_bytes());
        }
        if version >= 3 {
            out.extend_from_slice(&(s.tags.len() as u16).to_be_bytes());
            for t in &s.tags {
                out.extend_from_slice(&(t.len() as u32).to_be_bytes());
                out.extend_from_slice(t.as_bytes());
            }
        }
        if version >= 4 {
            out.extend_from_slice(s.notebook.unwrap_or_default().as_bytes());
        }
    }
    out
}

/// Encodes a version-1 payload (changes only), as older writers did.
pub fn encode_changes(changes: &[NoteChange]) -> Vec<u8> {
    let mut out =
        Vec::with_capacity(16 + changes.iter().map(|c| 20 + c.change.len()).sum::<usize>());
    out.extend_from_slice(&(changes.len() as u32).to_be_bytes());
    for c in changes {
        out.extend_from_slice(c.note.as_bytes());
        out.extend_from_slice(&(c.change.len() as u32).to_be_bytes());
        out.extend_from_slice(&c.change);
    }
    out
}

/// Decodes a payload of the given envelope version, rejecting trailing bytes, empty payloads,
/// and summaries that break §4.2's rules (`writer` is the entry's clientId).
pub fn decode_payload(p: &[u8], version: u8, writer: &Uuid) -> Result<Payload, EntryError> {
    decode_body(p, version, writer, false)
}

/// [`decode_payload`]; an epoch record (`record`) may hold no change.
fn decode_body(p: &[u8], version: u8, writer: &Uuid, record: bool) -> Result<Payload, EntryError> {
    let bad = |m: &str| EntryError::Malformed(m.to_string());
    let cut = || bad("payload cut short");
    let mut r = Reader { buf: p, pos: 0 };
    let count = r.u32().ok_or_else(|| bad("payload too short"))? as usize;
    if count == 0 && !record {
        return Err(bad("payload holds no change"));
    }
    let mut changes = Vec::with_capacity(count.min(4096));
    for _ in 0..count {
        let note = r.uuid().ok_or_else(cut)?;
        let len = r.u32().ok_or_else(cut)? as usize;
        let change = r.take(len).ok_or_else(|| bad("change longer than payload"))?.to_vec();
        changes.push(NoteChange { note, change });
    }
    let mut out = Payload::changes(changes);
    if version >= 2 {
        let n = r.u32().ok_or_else(cut)? as usize;
        for _ in 0..n {
            let client = r.uuid().ok_or_else(cut)?;
            let index = r.u64().ok_or_else(cut)?;
            if client == *writer {
                return Err(bad("the summaries' clock names the entry's own device"));
            }
            if out.clock.iter().any(|(c, _)| *c == client) {
                return Err(bad("the summaries' clock names a device twice"));
            }
            out.clock.push((client, index));
        }
        let n = r.u32().ok_or_else(cut)? as usize;
        let changed: std::collections::HashSet<Uuid> =
            if n > 0 { out.changes.iter().map(|c| c.note).collect() } else { Default::default() };
        let mut summarised = std::collections::HashSet::new();
        for _ in 0..n {
            let note = r.uuid().ok_or_else(cut)?;
            let flags = r.take(1).ok_or_else(cut)?[0];
            let known = match version {
                5.. => {
                    SUMMARY_DELETED
                        | SUMMARY_PINNED
                        | SUMMARY_PURGED
                        | SUMMARY_NOTEBOOK
                        | SUMMARY_DEVICE
                }
                4 => SUMMARY_DELETED | SUMMARY_PINNED | SUMMARY_PURGED | SUMMARY_NOTEBOOK,
                3 => SUMMARY_DELETED | SUMMARY_PINNED | SUMMARY_PURGED,
                _ => SUMMARY_DELETED,
            };
            if flags & !known != 0 {
                return Err(bad("a note summary has unknown flags"));
            }
            let created_at = r.u64().ok_or_else(cut)? as i64;
            let updated_at = r.u64().ok_or_else(cut)? as i64;
            let mut text = || -> Result<String, EntryError> {
                let len = r.u32().ok_or_else(cut)? as usize;
                let b = r.take(len).ok_or_else(cut)?;
                String::from_utf8(b.to_vec()).map_err(|_| bad("a note summary is not valid UTF-8"))
            };
            let title = text()?;
            let first_line = text()?;
            let mut tags: Vec<String> = Vec::new();
            if version >= 3 {
                let count = r.u16().ok_or_else(cut)?;
                for _ in 0..count {
                    let len = r.u32().ok_or_else(cut)? as usize;
                    let b = r.take(len).ok_or_else(cut)?;
                    let tag = String::from_utf8(b.to_vec())
                        .map_err(|_| bad("a note summary's tag is not valid UTF-8"))?;
                    if tag.is_empty() {
                        return Err(bad("a note summary has an empty tag"));
                    }
                    if tags.last().is_some_and(|last| last.as_bytes() >= tag.as_bytes()) {
                        return Err(bad("a note summary's tags are not sorted or repeat one"));
                    }
                    tags.push(tag);
                }
            }
            let notebook = if version >= 4 {
                Some(r.uuid().ok_or_else(cut)?).filter(|n| !n.is_nil())
            } else {
                None
            };
            let kind = match (flags & SUMMARY_NOTEBOOK != 0, flags & SUMMARY_DEVICE != 0) {
                (false, false) => DocKind::Note,
                (true, false) => DocKind::Notebook,
                (false, true) => DocKind::Device,
                (true, true) => return Err(bad("a summary says both notebook and device")),
            };
            if kind != DocKind::Note
                && (flags & (SUMMARY_PINNED | SUMMARY_PURGED) != 0
                    || !first_line.is_empty()
                    || !tags.is_empty())
            {
                return Err(bad(
                    "a notebook or device summary has a first line, tags, a pin or a purge",
                ));
            }
            if kind == DocKind::Device && (note != *writer || notebook.is_some()) {
                return Err(bad("a device summary names another device or a notebook"));
            }
            if !changed.contains(&note) {
                return Err(bad("a note summary names a note without a change in the entry"));
            }
            if !summarised.insert(note) {
                return Err(bad("a note is summarised twice"));
            }
            out.summaries.push(Summary {
                note,
                title,
                first_line,
                created_at,
                updated_at,
                deleted: flags & SUMMARY_DELETED != 0,
                pinned: flags & SUMMARY_PINNED != 0,
                purged: flags & SUMMARY_PURGED != 0,
                tags,
                kind,
                notebook,
            });
        }
    }
    if r.pos != p.len() {
        return Err(bad("trailing bytes after the payload"));
    }
    Ok(out)
}

/// Length of the header of an envelope `version`.
fn header_len(version: u8) -> usize {
    if version >= EPOCH_VERSION {
        EPOCH_HEADER_LEN
    } else if version >= SIGNED_VERSION {
        SIGNED_HEADER_LEN
    } else {
        HEADER_LEN
    }
}

/// Length of what follows the payload in an envelope `version`: the MAC, and the signature from
/// version 6 on.
fn tail_len(version: u8) -> usize {
    if version >= SIGNED_VERSION {
        MAC_LEN + SIGNATURE_LEN
    } else {
        MAC_LEN
    }
}

fn header_bytes(
    h: &Header,
    version: u8,
    flags: u8,
    payload: &[u8],
    signer: Option<&[u8; PUBLIC_LEN]>,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(EPOCH_HEADER_LEN + payload.len() + MAC_LEN + SIGNATURE_LEN);
    out.extend_from_slice(MAGIC);
    out.push(version);
    out.push(flags);
    out.extend_from_slice(h.workspace.as_bytes());
    out.extend_from_slice(h.client.as_bytes());
    out.extend_from_slice(&h.index.to_be_bytes());
    out.extend_from_slice(&h.timestamp.to_be_bytes());
    out.extend_from_slice(&h.lamport.to_be_bytes());
    out.extend_from_slice(&h.prev_hash);
    out.extend_from_slice(&sha256(payload));
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    if let Some(k) = signer {
        out.extend_from_slice(k);
    }
    out
}

fn deflate(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::DeflateEncoder::new(
        Vec::with_capacity(data.len() / 2),
        flate2::Compression::default(),
    );
    enc.write_all(data).expect("writing to a Vec cannot fail");
    enc.finish().expect("writing to a Vec cannot fail")
}

/// Inflates a stored payload that must be exactly one raw DEFLATE stream (FORMAT.md §4.2): a
/// stream that does not end, or any byte after the one holding its end, is malformed; more
/// than [`MAX_PAYLOAD_BYTES`] inflated is [`EntryError::TooLarge`] (inflation stops there).
fn inflate(data: &[u8]) -> Result<Vec<u8>, EntryError> {
    use std::io::Read;
    let mut out = Vec::new();
    // The buffered decoder consumes its input only up to the end of the stream, so what it
    // leaves is what follows the stream.
    let mut dec = flate2::bufread::DeflateDecoder::new(data);
    dec.by_ref()
        .take(MAX_PAYLOAD_BYTES as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| EntryError::Malformed(format!("compressed payload is invalid: {e}")))?;
    if out.len() > MAX_PAYLOAD_BYTES {
        return Err(EntryError::TooLarge);
    }
    if !dec.into_inner().is_empty() {
        return Err(EntryError::Malformed(
            "bytes after the end of the compressed payload's DEFLATE stream".into(),
        ));
    }
    Ok(out)
}

/// Builds the plaintext envelope (version 6, signed by `device`) of an entry and its hash.
/// Payloads of 256 bytes or more are stored DEFLATE-compressed when that is smaller (flag bit 0).
pub fn encode(
    h: &Header,
    payload: &Payload,
    key: &WorkspaceKey,
    device: &DeviceKey,
) -> (Vec<u8>, [u8; 32]) {
    encode_version(h, VERSION, &encode_payload(payload), key, Some(device))
}

/// Builds the envelope of an entry as envelope `version` (2 to 5, unsigned) lays it out, and its
/// hash: for test vectors of older writers. Writers use [`encode`].
pub fn encode_as(
    h: &Header,
    payload: &Payload,
    version: u8,
    key: &WorkspaceKey,
) -> (Vec<u8>, [u8; 32]) {
    encode_version(h, version, &encode_payload_version(payload, version), key, None)
}

/// Builds a version-1 envelope (changes only), as older writers did: for test vectors.
pub fn encode_v1(h: &Header, changes: &[NoteChange], key: &WorkspaceKey) -> (Vec<u8>, [u8; 32]) {
    encode_version(h, 1, &encode_changes(changes), key, None)
}

fn encode_version(
    h: &Header,
    version: u8,
    raw: &[u8],
    key: &WorkspaceKey,
    device: Option<&DeviceKey>,
) -> (Vec<u8>, [u8; 32]) {
    let (flags, payload) = stored_payload(raw.to_vec());
    encode_raw(h, version, flags, &payload, key, device)
}

/// Builds an envelope around `stored`, the stored payload exactly as given (already compressed
/// when `flags` says so), with any version and flags byte, and its hash: for test vectors of
/// files a reader must refuse. With a `device`, the header carries its public key and the
/// signature follows the MAC (version 6's layout). Writers use [`encode`].
pub fn encode_raw(
    h: &Header,
    version: u8,
    flags: u8,
    stored: &[u8],
    key: &WorkspaceKey,
    device: Option<&DeviceKey>,
) -> (Vec<u8>, [u8; 32]) {
    encode_raw_in(h, version, flags, stored, key, device, EpochId::ZERO)
}

/// [`encode_raw`] naming `epoch` in the header when `version` is 7 or more (FORMAT.md §5.2);
/// `key` is the key that MACs it. For test vectors; writers use [`encode_in_epoch`] and
/// [`encode_record`].
pub fn encode_raw_in(
    h: &Header,
    version: u8,
    flags: u8,
    stored: &[u8],
    key: &WorkspaceKey,
    device: Option<&DeviceKey>,
    epoch: EpochId,
) -> (Vec<u8>, [u8; 32]) {
    let public = device.map(DeviceKey::public);
    let mut out = header_bytes(h, version, flags, stored, public.as_ref());
    if version >= EPOCH_VERSION {
        out.extend_from_slice(&epoch.to_bytes());
    }
    let hash = sha256(&out);
    let mac = key.mac(&out);
    let signature = device.map(|d| d.sign(&out));
    out.extend_from_slice(stored);
    out.extend_from_slice(&mac);
    if let Some(s) = signature {
        out.extend_from_slice(&s);
    }
    (out, hash)
}

/// Builds the file bytes of an entry signed by `device` (encrypted unless the workspace is
/// plaintext).
pub fn seal(
    h: &Header,
    payload: &Payload,
    key: &WorkspaceKey,
    device: &DeviceKey,
) -> Result<(Vec<u8>, [u8; 32]), crate::format::crypto::CryptoError> {
    let (plain, hash) = encode(h, payload, key, device);
    Ok((key.seal(&plain)?, hash))
}

/// Builds the plaintext envelope of an entry written in key epoch `epoch` (version 7, FORMAT.md
/// §5.2), MACed with that epoch's `key` and signed by `device`, and its hash.
pub fn encode_in_epoch(
    h: &Header,
    epoch: EpochId,
    payload: &Payload,
    key: &WorkspaceKey,
    device: &DeviceKey,
) -> (Vec<u8>, [u8; 32]) {
    let (flags, stored) = stored_payload(encode_payload_version(payload, EPOCH_VERSION));
    encode_raw_in(h, EPOCH_VERSION, flags, &stored, key, Some(device), epoch)
}

/// Builds the plaintext envelope of an epoch record (version 7, flag bit 1, FORMAT.md §5.2):
/// its header names the epoch it `follows` and is MACed with that epoch's key; its payload is
/// the keys section, then `payload` (which may hold no change). Encrypt it with
/// [`crate::format::epoch::seal_record`].
pub fn encode_record(
    h: &Header,
    follows: EpochId,
    followed_key: &WorkspaceKey,
    keys: &KeysSection,
    payload: &Payload,
    device: &DeviceKey,
) -> (Vec<u8>, [u8; 32]) {
    let mut raw = keys.encode();
    raw.extend_from_slice(&encode_payload_version(payload, EPOCH_VERSION));
    let (flags, stored) = stored_payload(raw);
    encode_raw_in(
        h,
        EPOCH_VERSION,
        flags | FLAG_RECORD,
        &stored,
        followed_key,
        Some(device),
        follows,
    )
}

/// The stored form of a payload: DEFLATE-compressed (flag bit 0) from 256 bytes on when that is
/// smaller.
fn stored_payload(raw: Vec<u8>) -> (u8, Vec<u8>) {
    if raw.len() >= COMPRESS_FROM {
        let packed = deflate(&raw);
        if packed.len() < raw.len() {
            return (FLAG_DEFLATE, packed);
        }
    }
    (0, raw)
}

/// The keys a reader authenticates entries with: epoch 0's alone (a reader of versions 1 to 6),
/// or a [`Keyring`] of epochs (version 7 too).
#[derive(Clone, Copy)]
enum Keys<'a> {
    Epoch0(&'a WorkspaceKey),
    Ring(&'a Keyring),
}

impl Keys<'_> {
    fn newest_version(&self) -> u8 {
        match self {
            Keys::Epoch0(_) => VERSION,
            Keys::Ring(_) => EPOCH_VERSION,
        }
    }

    fn epoch0(&self) -> &WorkspaceKey {
        match self {
            Keys::Epoch0(k) => k,
            Keys::Ring(r) => r.epoch0(),
        }
    }

    fn open(&self, file: &[u8]) -> Result<Vec<u8>, OpenFailure> {
        match self {
            Keys::Epoch0(k) => k.open(file),
            Keys::Ring(r) => r.open(file),
        }
    }

    fn verify_signature(&self, public: &[u8; PUBLIC_LEN], header: &[u8], sig: &[u8]) -> bool {
        match self {
            Keys::Epoch0(_) => signature::verify(public, header, sig),
            Keys::Ring(r) => r.verify_signature(public, header, sig),
        }
    }

    /// The key that MACs an entry of `epoch`.
    fn mac_key(&self, epoch: &EpochId) -> Result<MacKey<'_>, EntryError> {
        match self {
            Keys::Epoch0(k) if epoch.is_zero() => Ok(MacKey::Borrowed(k)),
            Keys::Ring(r) if epoch.is_zero() => Ok(MacKey::Borrowed(r.epoch0())),
            Keys::Ring(r) => r.key(epoch).map(MacKey::Shared).ok_or_else(|| {
                if r.epoch0().is_encrypted() {
                    EntryError::Undecryptable(format!(
                        "it was written with {epoch}, which this device does not hold yet"
                    ))
                } else {
                    EntryError::Malformed("a plaintext workspace has no key epochs".into())
                }
            }),
            Keys::Epoch0(_) => Err(EntryError::UnsupportedVersion(EPOCH_VERSION)),
        }
    }
}

/// The key an entry is MACed with: epoch 0's, or a later epoch's as the keyring shares it.
enum MacKey<'a> {
    Borrowed(&'a WorkspaceKey),
    Shared(crate::format::epoch::EpochKey),
}

impl std::ops::Deref for MacKey<'_> {
    type Target = WorkspaceKey;
    fn deref(&self) -> &WorkspaceKey {
        match self {
            MacKey::Borrowed(k) => k,
            MacKey::Shared(k) => k,
        }
    }
}

/// Parses and authenticates a plaintext envelope of versions 1 to 6, without path or chain
/// checks; version 7 is refused as newer ([`decode_in`] reads it).
pub fn decode(plain: &[u8], key: &WorkspaceKey) -> Result<Entry, EntryError> {
    decode_with(plain, Keys::Epoch0(key), Signature::Verify)
}

/// Parses and authenticates a plaintext envelope of any version with the keys of `ring`, without
/// path or chain checks.
pub fn decode_in(plain: &[u8], ring: &Keyring) -> Result<Entry, EntryError> {
    decode_with(plain, Keys::Ring(ring), Signature::Verify)
}

/// [`decode_in`] for an entry of the local log, which holds only entries that passed every
/// check of FORMAT.md §6 when they were accepted: the signature, the one costly check (most
/// of a note's rebuild from many small entries), is not verified again; the MAC and payload
/// hash still are, so a damaged database is still noticed.
pub(crate) fn decode_held(plain: &[u8], ring: &Keyring) -> Result<Entry, EntryError> {
    decode_with(plain, Keys::Ring(ring), Signature::Accepted)
}

/// Whether [`decode_with`] verifies an entry's signature.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Signature {
    /// Bytes from a target or a file: verified.
    Verify,
    /// Bytes of the local log: verified when they were accepted.
    Accepted,
}

fn decode_with(plain: &[u8], keys: Keys<'_>, signature: Signature) -> Result<Entry, EntryError> {
    let bad = |m: &str| EntryError::Malformed(m.to_string());
    let newest = keys.newest_version();
    if plain.len() >= 5 && &plain[..4] == MAGIC && plain[4] > newest {
        return Err(EntryError::UnsupportedVersion(plain[4]));
    }
    let version = plain.get(4).copied().unwrap_or(VERSION);
    let (header_len, tail_len) = (header_len(version), tail_len(version));
    if plain.len() < header_len + tail_len {
        if plain.len() < 4 || &plain[..4] == MAGIC {
            return Err(EntryError::Incomplete);
        }
        return Err(bad("too short to be an entry"));
    }
    if &plain[..4] != MAGIC {
        return Err(bad("not a Resilient Notes entry"));
    }
    if version < MIN_VERSION {
        // Version 0 never existed: no update will make these bytes readable.
        return Err(bad("envelope version 0 does not exist"));
    }
    let flags = plain[5];
    let known = if version >= EPOCH_VERSION { FLAG_DEFLATE | FLAG_RECORD } else { FLAG_DEFLATE };
    if flags & !known != 0 {
        return Err(bad("unknown flags"));
    }
    let mut r = Reader { buf: plain, pos: 6 };
    let workspace = Uuid::from_bytes(r.take(16).unwrap().try_into().unwrap());
    let client = Uuid::from_bytes(r.take(16).unwrap().try_into().unwrap());
    let index = r.u64().unwrap();
    let timestamp = r.u64().unwrap() as i64;
    let lamport = r.u64().unwrap();
    if lamport > i64::MAX as u64 {
        // Clocks are kept (and ordered) as signed 64-bit numbers everywhere: one this large
        // would sort first in one place and last in another.
        return Err(bad("its Lamport clock is 2^63 or more"));
    }
    let prev_hash: [u8; 32] = r.take(32).unwrap().try_into().unwrap();
    let payload_hash: [u8; 32] = r.take(32).unwrap().try_into().unwrap();
    let payload_len = r.u32().unwrap() as usize;
    let signer: Option<[u8; PUBLIC_LEN]> =
        (version >= SIGNED_VERSION).then(|| r.take(PUBLIC_LEN).unwrap().try_into().unwrap());
    let epoch = if version >= EPOCH_VERSION {
        EpochId::from_bytes(r.take(EPOCH_ID_LEN).unwrap().try_into().unwrap())
            .ok_or_else(|| bad("the header names a key epoch of no device"))?
    } else {
        EpochId::ZERO
    };
    let expected = header_len + payload_len + tail_len;
    if plain.len() < expected {
        return Err(EntryError::Incomplete);
    }
    if plain.len() > expected {
        return Err(bad("trailing bytes after the MAC"));
    }
    let header = &plain[..header_len];
    let payload = &plain[header_len..header_len + payload_len];
    let tag = &plain[header_len + payload_len..header_len + payload_len + MAC_LEN];
    let key = keys.mac_key(&epoch)?;
    if !key.verify_mac(header, tag) {
        return Err(EntryError::BadMac);
    }
    if let Some(public) = signer.as_ref().filter(|_| signature == Signature::Verify) {
        let sig = &plain[header_len + payload_len + MAC_LEN..];
        if !keys.verify_signature(public, header, sig) {
            return Err(EntryError::BadSignature("its signature does not verify"));
        }
    }
    if sha256(payload) != payload_hash {
        return Err(bad("payload hash does not match"));
    }
    let inflated;
    let mut body = if flags & FLAG_DEFLATE != 0 {
        inflated = inflate(payload)?;
        &inflated[..]
    } else {
        payload
    };
    let record = flags & FLAG_RECORD != 0;
    let mut section = None;
    if record {
        if !keys.epoch0().is_encrypted() {
            return Err(bad("a plaintext workspace has no key epochs"));
        }
        let (k, used) = KeysSection::decode(body)?;
        let signer = signer.as_ref().expect("version 7 is signed");
        k.check_against(&EpochId { client, index }, signer, &epoch, &key)?;
        body = &body[used..];
        section = Some(k);
    }
    let p = decode_body(body, version, &client, record)?;
    Ok(Entry {
        header: Header { workspace, client, index, timestamp, lamport, prev_hash },
        hash: sha256(header),
        changes: p.changes,
        clock: p.clock,
        summaries: p.summaries,
        signer,
        epoch,
        keys: section,
    })
}

/// What a reader expects at a path: the workspace, client and index the path names, and the hash
/// of the client's previous entry (from the local log).
pub struct Expected {
    /// Workspace of the folder.
    pub workspace: Uuid,
    /// Client folder the file sits in.
    pub client: Uuid,
    /// Index the path encodes.
    pub index: u64,
    /// Hash of entry `index - 1`, or zeros for 0.
    pub prev_hash: [u8; 32],
    /// The key that signed entry `index - 1` (`None`: it is unsigned, or there is none). Once a
    /// device signs, every later entry of it must be signed by the same key (§5.1).
    pub prev_signer: Option<[u8; PUBLIC_LEN]>,
}

/// Decrypts, authenticates and checks a whole entry file against where it was found.
pub fn open(file: &[u8], key: &WorkspaceKey, want: &Expected) -> Result<Entry, EntryError> {
    open_with(file, Keys::Epoch0(key), want)
}

/// [`open`] with every key epoch of `ring` (versions 1 to 7, FORMAT.md §5.2).
pub fn open_in(file: &[u8], ring: &Keyring, want: &Expected) -> Result<Entry, EntryError> {
    open_with(file, Keys::Ring(ring), want)
}

fn open_with(file: &[u8], keys: Keys<'_>, want: &Expected) -> Result<Entry, EntryError> {
    if file.len() > MAX_ENTRY_BYTES {
        return Err(EntryError::TooLarge);
    }
    let plain = keys.open(file).map_err(from_open)?;
    check_plain(&plain, keys, want)
}

/// [`accept_in`] for an entry file read from a pack (FORMAT.md §11), opened with the file key
/// the pack gives for it instead of unwrapping its stanza (`None`: a plaintext workspace). Every
/// check is the same; a wrong file key fails age's header MAC ([`EntryError::BadMac`]), which
/// says nothing of the entry itself: the caller then reads its single file.
pub fn accept_packed(
    file: &[u8],
    file_key: Option<&crate::format::crypto::FileKey>,
    ring: &Keyring,
    want: &Expected,
) -> Result<Entry, EntryError> {
    check_place(decode_packed(file, file_key, ring)?, want)
}

/// The checks of [`accept_packed`] that need nothing but the entry file (FORMAT.md §6 steps 1,
/// 2 and 5: decrypting, the envelope, MAC, signature, payload hash, change chunks). They do not
/// depend on other entries, so a pull runs them for several entries of a pack at once, then
/// [`check_place`] on each in order.
pub fn decode_packed(
    file: &[u8],
    file_key: Option<&crate::format::crypto::FileKey>,
    ring: &Keyring,
) -> Result<Entry, EntryError> {
    if file.len() > MAX_ENTRY_BYTES {
        return Err(EntryError::TooLarge);
    }
    let plain = match file_key {
        Some(k) if ring.epoch0().is_encrypted() => {
            crate::format::crypto::open_with_file_key(file, k).map_err(from_open)?
        }
        _ => Keys::Ring(ring).open(file).map_err(from_open)?,
    };
    let e = decode_whole(&plain, Keys::Ring(ring))?;
    if e.keys.is_some() {
        // An epoch record is read from its own file only (FORMAT.md §11): its file is sealed
        // to the members' device keys, not to the epoch a pack's keys part is sealed to.
        return Err(EntryError::Malformed("an epoch record in a pack".into()));
    }
    crate::format::chunk::check_chunks(&e.changes).map_err(EntryError::Malformed)?;
    Ok(e)
}

/// The checks of FORMAT.md §6 steps 2–4 on a decrypted envelope.
fn check_plain(plain: &[u8], keys: Keys<'_>, want: &Expected) -> Result<Entry, EntryError> {
    check_place(decode_whole(plain, keys)?, want)
}

/// Step 2 on an envelope from a file age authenticated to its end.
fn decode_whole(plain: &[u8], keys: Keys<'_>) -> Result<Entry, EntryError> {
    let key = keys.epoch0();
    match decode_with(plain, keys, Signature::Verify) {
        // age authenticated the end of its stream, so the file is whole: an envelope that is
        // too short was written so, and waiting will not complete it (FORMAT.md §6).
        Err(EntryError::Incomplete) if key.is_encrypted() => Err(EntryError::Malformed(
            "the decrypted entry is shorter than its header says, though the file is complete"
                .into(),
        )),
        other => other,
    }
}

/// Steps 3 and 4 on a decoded entry: its place (workspace, client, index) and its chain (the
/// previous entry's hash and signer).
pub fn check_place(entry: Entry, want: &Expected) -> Result<Entry, EntryError> {
    let h = &entry.header;
    if h.workspace != want.workspace || h.client != want.client || h.index != want.index {
        return Err(EntryError::Misplaced {
            claimed: format!(
                "entry {} of device {} in workspace {}",
                h.index, h.client, h.workspace
            ),
            actual: format!(
                "entry {} of device {} in workspace {}",
                want.index, want.client, want.workspace
            ),
        });
    }
    if h.prev_hash != want.prev_hash {
        return Err(EntryError::ChainBroken);
    }
    match (want.prev_signer, entry.signer) {
        (Some(k), Some(s)) if k != s => {
            Err(EntryError::WrongSigner("signed by another key than its device's earlier entries"))
        }
        (Some(_), None) => {
            Err(EntryError::WrongSigner("unsigned, though its device signs every entry"))
        }
        _ => Ok(entry),
    }
}

fn from_open(f: OpenFailure) -> EntryError {
    match f {
        OpenFailure::Incomplete => EntryError::Incomplete,
        OpenFailure::Undecryptable(m) => EntryError::Undecryptable(m),
        OpenFailure::Malformed(m) => EntryError::Malformed(m),
        OpenFailure::BadMac => EntryError::BadMac,
    }
}

/// An epoch record read with the key of the epoch it starts (`started`): how a device that
/// joins with the newest key (a `keys/` file, FORMAT.md §5.2) learns every earlier one. The
/// keys section is looked at first, unauthenticated, for the keys the MAC needs; then the
/// record is checked as any entry is (its MAC with the key of the epoch it follows, its
/// signature, its keys section), and it must start the epoch `started` is the key of.
pub fn record_keys(
    file: &[u8],
    started: &crate::format::epoch::EpochSecret,
    workspace: &Uuid,
) -> Result<Entry, EntryError> {
    let bad = |m: &str| EntryError::Malformed(format!("epoch record: {m}"));
    let plain = started.key(workspace).open(file).map_err(from_open)?;
    if plain.len() < EPOCH_HEADER_LEN || &plain[..4] != MAGIC {
        return Err(bad("not an entry"));
    }
    if plain[4] != EPOCH_VERSION || plain[5] & FLAG_RECORD == 0 {
        return Err(bad("not an epoch record"));
    }
    let len = u32::from_be_bytes(plain[126..130].try_into().expect("4 bytes")) as usize;
    let stored = plain
        .get(EPOCH_HEADER_LEN..EPOCH_HEADER_LEN.saturating_add(len))
        .ok_or_else(|| bad("cut short"))?;
    let inflated;
    let body = if plain[5] & FLAG_DEFLATE != 0 {
        inflated = inflate(stored)?;
        &inflated[..]
    } else {
        stored
    };
    let (section, _) = KeysSection::decode(body)?;
    if section.identity != *started {
        return Err(bad("it does not start the epoch of this key"));
    }
    let zero = &section.earlier.last().expect("a keys section names epoch 0").1;
    let ring = Keyring::new(*workspace, zero.key(workspace));
    for (id, secret) in &section.earlier {
        ring.learn(*id, secret);
    }
    decode_in(&plain, &ring)
}

/// Every check FORMAT.md §6 requires before an entry is stored: [`open`] (steps 1–4) and the
/// structural check of each Automerge change (step 5, [`crate::format::chunk::check_chunks`]).
pub fn accept(file: &[u8], key: &WorkspaceKey, want: &Expected) -> Result<Entry, EntryError> {
    let e = open(file, key, want)?;
    crate::format::chunk::check_chunks(&e.changes).map_err(EntryError::Malformed)?;
    Ok(e)
}

/// [`accept`] with every key epoch of `ring` (versions 1 to 7).
pub fn accept_in(file: &[u8], ring: &Keyring, want: &Expected) -> Result<Entry, EntryError> {
    Ok(accept_in_seeing_file_key(file, ring, want)?.0)
}

/// [`accept_in`], also returning the entry's age file key when an epoch key opened it (FORMAT.md
/// §11: with it, the reader can write the pack of the entry's block; `None` for a record, opened
/// with a device key, and in a plaintext workspace).
pub fn accept_in_seeing_file_key(
    file: &[u8],
    ring: &Keyring,
    want: &Expected,
) -> Result<(Entry, Option<crate::format::crypto::FileKey>), EntryError> {
    if file.len() > MAX_ENTRY_BYTES {
        return Err(EntryError::TooLarge);
    }
    let (plain, file_key) = ring.open_seeing_file_key(file).map_err(from_open)?;
    let e = check_plain(&plain, Keys::Ring(ring), want)?;
    crate::format::chunk::check_chunks(&e.changes).map_err(EntryError::Malformed)?;
    Ok((e, file_key))
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let s = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(s)
    }
    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_be_bytes(self.take(2)?.try_into().ok()?))
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_be_bytes(self.take(4)?.try_into().ok()?))
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_be_bytes(self.take(8)?.try_into().ok()?))
    }
    fn uuid(&mut self) -> Option<Uuid> {
        Some(Uuid::from_bytes(self.take(16)?.try_into().ok()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A fixed device key for the tests' entries.
    fn dev() -> DeviceKey {
        DeviceKey::from_seed([3; 32])
    }

    fn header(ws: Uuid, client: Uuid, index: u64) -> Header {
        Header {
            workspace: ws,
            client,
            index,
            timestamp: 1_700_000_000_000,
            lamport: 7,
            prev_hash: ZERO_HASH,
        }
    }

    #[test]
    fn round_trip_and_checks() {
        let ws = Uuid::new_v4();
        let client = Uuid::new_v4();
        let key = WorkspaceKey::generate(&ws);
        let changes = vec![NoteChange { note: Uuid::new_v4(), change: vec![1, 2, 3] }];
        let (file, hash) =
            seal(&header(ws, client, 0), &Payload::changes(changes.clone()), &key, &dev()).unwrap();
        let want =
            Expected { workspace: ws, client, index: 0, prev_hash: ZERO_HASH, prev_signer: None };
        let e = open(&file, &key, &want).unwrap();
        assert_eq!(e.hash, hash);
        assert_eq!(e.changes, changes);

        let moved = Expected { index: 1, ..want };
        assert!(matches!(open(&file, &key, &moved), Err(EntryError::Misplaced { .. })));
        let chain = Expected { prev_hash: [1; 32], ..moved };
        let chain = Expected { index: 0, ..chain };
        assert_eq!(open(&file, &key, &chain), Err(EntryError::ChainBroken));
    }

    #[test]
    fn forged_entry_with_public_recipient_is_rejected() {
        let ws = Uuid::new_v4();
        let client = Uuid::new_v4();
        let key = WorkspaceKey::generate(&ws);
        // An attacker knows the recipient (index.json) but not the secret: their MAC key differs.
        let attacker = WorkspaceKey::generate(&ws);
        let (plain, _) = encode(
            &header(ws, client, 0),
            &Payload::changes(vec![NoteChange { note: Uuid::nil(), change: vec![9] }]),
            &attacker,
            &dev(),
        );
        let recipient: age::x25519::Recipient = key.recipient().unwrap().parse().unwrap();
        let file = age::encrypt(&recipient, &plain).unwrap();
        let want =
            Expected { workspace: ws, client, index: 0, prev_hash: ZERO_HASH, prev_signer: None };
        assert_eq!(open(&file, &key, &want), Err(EntryError::BadMac));
    }

    #[test]
    fn plaintext_truncation_and_trailing_garbage() {
        let ws = Uuid::new_v4();
        let c = Uuid::new_v4();
        let key = WorkspaceKey::Plaintext;
        let (plain, _) = encode(
            &header(ws, c, 0),
            &Payload::changes(vec![NoteChange { note: Uuid::nil(), change: vec![5; 40] }]),
            &key,
            &dev(),
        );
        for cut in [0, 3, 100, HEADER_LEN + 10, plain.len() - 1] {
            assert_eq!(decode(&plain[..cut], &key), Err(EntryError::Incomplete), "cut {cut}");
        }
        let mut extra = plain.clone();
        extra.push(0);
        assert!(matches!(decode(&extra, &key), Err(EntryError::Malformed(_))));
        let mut newer = plain.clone();
        newer[4] = VERSION + 1;
        assert_eq!(decode(&newer, &key), Err(EntryError::UnsupportedVersion(VERSION + 1)));
    }

    #[test]
    fn large_payloads_are_compressed_and_round_trip() {
        let key = WorkspaceKey::Plaintext;
        let text = "lorem ipsum dolor sit amet ".repeat(100).into_bytes();
        let changes = vec![NoteChange { note: Uuid::nil(), change: text }];
        let h = header(Uuid::nil(), Uuid::nil(), 0);
        let (plain, _) = encode(&h, &Payload::changes(changes.clone()), &key, &dev());
        assert_eq!(plain[5], FLAG_DEFLATE);
        assert!(plain.len() < 600, "{}", plain.len());
        assert_eq!(decode(&plain, &key).unwrap().changes, changes);
        let small = vec![NoteChange { note: Uuid::nil(), change: vec![1] }];
        assert_eq!(encode(&h, &Payload::changes(small), &key, &dev()).0[5], 0);
    }

    #[test]
    fn summaries_round_trip_and_their_rules_are_checked() {
        let (ws, me, other, note) =
            (Uuid::from_u128(1), Uuid::from_u128(2), Uuid::from_u128(3), Uuid::from_u128(4));
        let key = WorkspaceKey::Plaintext;
        let s = Summary {
            note,
            title: "Titre é".into(),
            first_line: "first".into(),
            created_at: 5,
            updated_at: 6,
            deleted: true,
            pinned: true,
            purged: false,
            tags: vec!["home".into(), "work".into()],
            kind: DocKind::Note,
            notebook: Some(Uuid::from_u128(7)),
        };
        let p = Payload {
            changes: vec![NoteChange { note, change: vec![1] }],
            clock: vec![(other, 9)],
            summaries: vec![s.clone()],
        };
        let (plain, _) = encode(&header(ws, me, 0), &p, &key, &dev());
        assert_eq!(plain[4], VERSION);
        let e = decode(&plain, &key).unwrap();
        assert_eq!((e.clock, e.summaries), (p.clock.clone(), p.summaries.clone()));
        // Version 2 is still read: no pins, purges or tags.
        let v2 = decode_payload(&encode_payload_version(&p, 2), 2, &me).unwrap();
        let plain_summary =
            Summary { pinned: false, tags: Vec::new(), notebook: None, ..s.clone() };
        assert_eq!(v2.summaries, vec![plain_summary]);
        // Version 1 (changes only) is still read.
        let (v1, _) = encode_v1(&header(ws, me, 0), &p.changes, &key);
        assert_eq!(v1[4], 1);
        assert_eq!(decode(&v1, &key).unwrap().changes, p.changes);
        let refused =
            |p: Payload| match decode(&encode(&header(ws, me, 0), &p, &key, &dev()).0, &key) {
                Err(EntryError::Malformed(m)) => m,
                other => panic!("accepted: {other:?}"),
            };
        assert!(refused(Payload { clock: vec![(me, 1)], ..p.clone() }).contains("own device"));
        assert!(
            refused(Payload { clock: vec![(other, 1), (other, 2)], ..p.clone() }).contains("twice")
        );
        assert!(refused(Payload {
            summaries: vec![Summary { note: other, ..s.clone() }],
            ..p.clone()
        })
        .contains("without a change"));
        assert!(refused(Payload { summaries: vec![s.clone(), s.clone()], ..p.clone() })
            .contains("summarised twice"));
        let v2 = encode_payload_version(&p, 2);
        let mut bad_utf8 = v2.clone();
        let at = bad_utf8.len() - "first".len();
        bad_utf8[at] = 0xff;
        assert!(matches!(decode_payload(&bad_utf8, 2, &me), Err(EntryError::Malformed(_))));
        let mut flags = v2.clone();
        let at = flags.len() - (5 + 4 + "Titre é".len() + 4 + 8 + 8 + 1);
        flags[at] = 3;
        assert!(
            matches!(decode_payload(&flags, 2, &me), Err(EntryError::Malformed(m)) if m.contains("flags"))
        );
        // Version 3: bits 1 and 2 are pinned and purged; bit 3 is reserved.
        let v3 = encode_payload_version(&p, 3);
        let tags_len = 2 + 4 + "home".len() + 4 + "work".len();
        let at = v3.len() - (tags_len + 5 + 4 + "Titre é".len() + 4 + 8 + 8 + 1);
        assert_eq!(v3[at], 3);
        let mut flags = v3.clone();
        flags[at] = 8 | 1;
        assert!(
            matches!(decode_payload(&flags, 3, &me), Err(EntryError::Malformed(m)) if m.contains("flags"))
        );
        let tagged = |tags: &[&str]| Payload {
            summaries: vec![Summary {
                tags: tags.iter().map(|t| t.to_string()).collect(),
                ..s.clone()
            }],
            ..p.clone()
        };
        assert!(refused(tagged(&["work", "home"])).contains("not sorted"));
        assert!(refused(tagged(&["home", "home"])).contains("not sorted"));
        assert!(refused(tagged(&[""])).contains("empty tag"));
        let mut bad_tag = encode_payload_version(&tagged(&["work"]), 3);
        let at = bad_tag.len() - 1;
        bad_tag[at] = 0xff;
        assert!(
            matches!(decode_payload(&bad_tag, 3, &me), Err(EntryError::Malformed(m)) if m.contains("tag"))
        );
        // A version-2 payload read as version 3 is cut short (no tag count).
        assert!(decode_payload(&v2, 3, &me).is_err());
        // Version 4: bit 3 marks a notebook, whose summary has no first line, tags, pin or purge;
        // a version-3 payload read as version 4 is cut short (no notebook id).
        let book = Summary {
            first_line: String::new(),
            pinned: false,
            tags: Vec::new(),
            kind: DocKind::Notebook,
            ..s.clone()
        };
        let books = Payload { summaries: vec![book.clone()], ..p.clone() };
        let (plain, _) = encode(&header(ws, me, 0), &books, &key, &dev());
        assert_eq!(decode(&plain, &key).unwrap().summaries, vec![book.clone()]);
        for odd in [
            Summary { pinned: true, ..book.clone() },
            Summary { purged: true, ..book.clone() },
            Summary { first_line: "x".into(), ..book.clone() },
            Summary { tags: vec!["a".into()], ..book.clone() },
        ] {
            let m = refused(Payload { summaries: vec![odd], ..p.clone() });
            assert!(m.contains("notebook or device summary"), "{m}");
        }
        assert!(decode_payload(&v3, 4, &me).is_err());
        let mut flags = encode_payload(&p);
        let at = flags.len() - (16 + tags_len + 5 + 4 + "Titre é".len() + 4 + 8 + 8 + 1);
        assert_eq!(flags[at], 3);
        flags[at] = 16 | 1;
        assert!(
            matches!(decode_payload(&flags, 4, &me), Err(EntryError::Malformed(m)) if m.contains("flags"))
        );
        // Version 5: bit 4 marks the writer's own device document (its name), laid out as a
        // notebook's summary with no notebook; bit 5 is reserved.
        let device = Summary {
            note: me,
            title: "Laptop".into(),
            first_line: String::new(),
            pinned: false,
            deleted: false,
            tags: Vec::new(),
            kind: DocKind::Device,
            notebook: None,
            ..s.clone()
        };
        let named = Payload {
            changes: vec![NoteChange { note: me, change: vec![1] }],
            summaries: vec![device.clone()],
            ..p.clone()
        };
        let (plain, _) = encode(&header(ws, me, 0), &named, &key, &dev());
        assert_eq!(decode(&plain, &key).unwrap().summaries, vec![device.clone()]);
        // Read as version 4, the device flag is reserved.
        assert!(decode_payload(&encode_payload(&named), 4, &me).is_err());
        let of = |d: Summary| Payload {
            changes: vec![NoteChange { note: d.note, change: vec![1] }],
            summaries: vec![d],
            ..p.clone()
        };
        for (odd, says) in [
            (Summary { note: other, ..device.clone() }, "another device"),
            (Summary { notebook: Some(other), ..device.clone() }, "another device or a notebook"),
            (Summary { tags: vec!["a".into()], ..device.clone() }, "notebook or device summary"),
            (Summary { first_line: "x".into(), ..device.clone() }, "notebook or device summary"),
        ] {
            let m = refused(of(odd));
            assert!(m.contains(says), "{m}");
        }
        let mut both = encode_payload(&named);
        let at = both.len() - (16 + 2 + 4 + 4 + "Laptop".len() + 8 + 8 + 1);
        assert_eq!(both[at], 16);
        both[at] = 16 | 8;
        assert!(
            matches!(decode_payload(&both, 5, &me), Err(EntryError::Malformed(m)) if m.contains("both"))
        );
        both[at] = 32;
        assert!(
            matches!(decode_payload(&both, 5, &me), Err(EntryError::Malformed(m)) if m.contains("flags"))
        );
        // A version-1 payload read as version 2 is cut short; a version-2 one read as 1 has trailing bytes.
        assert!(decode_payload(&encode_changes(&p.changes), 2, &me).is_err());
        assert!(decode_payload(&encode_payload(&p), 1, &me).is_err());
    }

    #[test]
    fn a_compressed_payload_is_exactly_one_deflate_stream() {
        let key = WorkspaceKey::Plaintext;
        let h = header(Uuid::nil(), Uuid::nil(), 0);
        let raw = encode_changes(&[NoteChange { note: Uuid::nil(), change: vec![7; 600] }]);
        let packed = deflate(&raw);
        let (ok, _) = encode_raw(&h, 1, FLAG_DEFLATE, &packed, &key, None);
        assert_eq!(decode(&ok, &key).unwrap().changes[0].change, vec![7; 600]);
        // Bytes after the end of the stream (MAC and payload hash valid) make the entry malformed.
        for extra in [&[0u8][..], b"\x03\x00", b"trailing"] {
            let stored = [&packed[..], extra].concat();
            let (bad, _) = encode_raw(&h, 1, FLAG_DEFLATE, &stored, &key, None);
            assert!(
                matches!(decode(&bad, &key), Err(EntryError::Malformed(ref m)) if m.contains("after the end")),
                "{extra:?}: {:?}",
                decode(&bad, &key)
            );
        }
        // So does a stream that does not end (its final block cut off), and an empty one.
        for stored in [&packed[..packed.len() - 1], &[][..]] {
            let (cut, _) = encode_raw(&h, 1, FLAG_DEFLATE, stored, &key, None);
            assert!(matches!(decode(&cut, &key), Err(EntryError::Malformed(_))));
        }
    }

    #[test]
    fn inflated_payloads_are_limited_to_64_mib() {
        let at_limit = deflate(&vec![0; MAX_PAYLOAD_BYTES]);
        assert_eq!(inflate(&at_limit).map(|v| v.len()), Ok(MAX_PAYLOAD_BYTES));
        let over = deflate(&vec![0; MAX_PAYLOAD_BYTES + 1]);
        assert!(over.len() < 100 << 10, "{}", over.len());
        assert_eq!(inflate(&over), Err(EntryError::TooLarge));
    }

    #[test]
    fn envelope_version_0_is_malformed_not_newer() {
        let key = WorkspaceKey::Plaintext;
        let h = header(Uuid::nil(), Uuid::nil(), 0);
        let raw = encode_changes(&[NoteChange { note: Uuid::nil(), change: vec![1] }]);
        // A MAC and payload hash that verify: only the version byte is wrong.
        let (v0, _) = encode_raw(&h, 0, 0, &raw, &key, None);
        assert!(
            matches!(decode(&v0, &key), Err(EntryError::Malformed(_))),
            "{:?}",
            decode(&v0, &key)
        );
        let (newer, _) = encode_raw(&h, VERSION + 1, 0, &raw, &key, None);
        assert_eq!(decode(&newer, &key), Err(EntryError::UnsupportedVersion(VERSION + 1)));
    }

    #[test]
    fn a_plaintext_entry_with_a_nonzero_mac_fails_authentication() {
        let key = WorkspaceKey::Plaintext;
        let (mut plain, _) = encode(
            &header(Uuid::nil(), Uuid::nil(), 0),
            &Payload::changes(vec![NoteChange { note: Uuid::nil(), change: vec![1] }]),
            &key,
            &dev(),
        );
        // The MAC's last byte, before the signature.
        let last = plain.len() - 1 - SIGNATURE_LEN;
        plain[last] = 1;
        assert_eq!(decode(&plain, &key), Err(EntryError::BadMac));
    }

    #[test]
    fn armored_entries_and_a_failing_age_header_mac_are_refused_for_what_they_are() {
        let (ws, client) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let key = WorkspaceKey::generate(&ws);
        let (plain, _) = encode(
            &header(ws, client, 0),
            &Payload::changes(vec![NoteChange { note: Uuid::nil(), change: vec![1] }]),
            &key,
            &dev(),
        );
        let want =
            Expected { workspace: ws, client, index: 0, prev_hash: ZERO_HASH, prev_signer: None };
        let recipient: age::x25519::Recipient = key.recipient().unwrap().parse().unwrap();
        // The same envelope, encrypted to the workspace recipient but ASCII-armored.
        let armored = age::encrypt_and_armor(&recipient, &plain).unwrap();
        assert!(
            matches!(open(armored.as_bytes(), &key, &want), Err(EntryError::Malformed(_))),
            "{:?}",
            open(armored.as_bytes(), &key, &want)
        );
        // Any other complete file that is not an age file.
        assert!(matches!(open(&[b'x'; 300], &key, &want), Err(EntryError::Malformed(_))));
        // age's header MAC (keyed by the file key our stanza opened) does not verify.
        let sealed = key.seal(&plain).unwrap();
        let at = sealed.windows(5).position(|w| w == b"\n--- ").unwrap() + 5;
        let mut tampered = sealed.clone();
        tampered[at] = if tampered[at] == b'A' { b'B' } else { b'A' };
        assert_eq!(open(&tampered, &key, &want), Err(EntryError::BadMac));
        // A complete header whose X25519 stanza is not canonical (its share is not base64).
        let mut broken = sealed.clone();
        broken[b"age-encryption.org/v1\n-> X25519 ".len()] = b'!';
        assert!(
            matches!(open(&broken, &key, &want), Err(EntryError::Malformed(_))),
            "{:?}",
            open(&broken, &key, &want)
        );
        // Encrypted to another recipient: undecryptable (retried), as before; cut short: incomplete.
        let other = WorkspaceKey::generate(&ws).seal(&plain).unwrap();
        assert!(matches!(open(&other, &key, &want), Err(EntryError::Undecryptable(_))));
        for cut in [10, at - 3, at + 10] {
            assert_eq!(open(&sealed[..cut], &key, &want), Err(EntryError::Incomplete), "cut {cut}");
        }
    }

    proptest! {
        #[test]
        fn payload_round_trip(
            changes in proptest::collection::vec((any::<u128>(), proptest::collection::vec(any::<u8>(), 0..64)), 1..8),
            clock in proptest::collection::btree_map(2u128.., any::<u64>(), 0..4),
            summaries in proptest::collection::vec((any::<u8>(), any::<i64>(), any::<i64>(), ".{0,20}", ".{0,20}", proptest::collection::btree_set(".{1,12}", 0..4), any::<u128>()), 0..8),
        ) {
            let changes: Vec<NoteChange> = changes.into_iter().map(|(n, c)| NoteChange { note: Uuid::from_u128(n), change: c }).collect();
            let mut notes: Vec<Uuid> = changes.iter().map(|c| c.note).collect();
            notes.dedup();
            notes.sort();
            notes.dedup();
            let summaries: Vec<Summary> = notes.iter().zip(summaries).map(|(note, (flags, created_at, updated_at, title, first_line, tags, notebook))| {
                let is_notebook = flags & 8 != 0;
                let kind = if is_notebook { DocKind::Notebook } else { DocKind::Note };
                Summary {
                    note: *note, title, created_at, updated_at,
                    first_line: if is_notebook { String::new() } else { first_line },
                    deleted: flags & 1 != 0, pinned: flags & 2 != 0 && !is_notebook, purged: flags & 4 != 0 && !is_notebook,
                    // A BTreeSet of Strings iterates in byte order: sorted, unique.
                    tags: if is_notebook { Vec::new() } else { tags.into_iter().collect() },
                    kind,
                    notebook: Some(Uuid::from_u128(notebook)).filter(|n| !n.is_nil()),
                }
            }).collect();
            let p = Payload { changes: changes.clone(), clock: clock.into_iter().map(|(c, i)| (Uuid::from_u128(c), i)).collect(), summaries };
            prop_assert_eq!(decode_payload(&encode_payload(&p), 5, &Uuid::from_u128(1)).unwrap(), p.clone());
            // Version 4 lays notes and notebooks out as version 5 does.
            prop_assert_eq!(decode_payload(&encode_payload_version(&p, 4), 4, &Uuid::from_u128(1)).unwrap(), p.clone());
            // Version 3 carries the same but notebooks (a notebook's summary reads as a note's).
            let v3 = Payload { summaries: p.summaries.iter().map(|s| Summary { kind: DocKind::Note, notebook: None, ..s.clone() }).collect(), ..p.clone() };
            prop_assert_eq!(decode_payload(&encode_payload_version(&p, 3), 3, &Uuid::from_u128(1)).unwrap(), v3);
            // Version 2 carries the same but pins, purges, tags and notebooks.
            let v2 = Payload { summaries: p.summaries.iter().map(|s| Summary { pinned: false, purged: false, tags: Vec::new(), kind: DocKind::Note, notebook: None, ..s.clone() }).collect(), ..p.clone() };
            prop_assert_eq!(decode_payload(&encode_payload_version(&p, 2), 2, &Uuid::from_u128(1)).unwrap(), v2);
            prop_assert_eq!(decode_payload(&encode_changes(&changes), 1, &Uuid::from_u128(1)).unwrap(), Payload::changes(changes));
        }

        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = decode(&bytes, &WorkspaceKey::Plaintext);
            let mut b = bytes.clone();
            if b.len() > 5 { b[..4].copy_from_slice(MAGIC); b[4] = 1; b[5] = 0; }
            let _ = decode(&b, &WorkspaceKey::Plaintext);
            if b.len() > 5 { b[4] = 2; }
            let _ = decode(&b, &WorkspaceKey::Plaintext);
            if b.len() > 5 { b[4] = 3; }
            let _ = decode(&b, &WorkspaceKey::Plaintext);
            let _ = decode_payload(&bytes, 2, &Uuid::nil());
            let _ = decode_payload(&bytes, 3, &Uuid::nil());
            let _ = decode_payload(&bytes, 4, &Uuid::nil());
        }
    }
}
