//! Packs (FORMAT.md §11): one whole block of a client's entries in one file — the entry files
//! verbatim, with the age file key of each encrypted once to the entries' key epoch, so that a
//! reader makes one read and one X25519 operation for a block instead of one per entry. A pack
//! adds no trust: every entry read from one is checked as a single file is (`format::entry`).

use uuid::Uuid;

use crate::format::crypto::{FileKey, WorkspaceKey};
use crate::format::epoch::{EpochId, Keyring, EPOCH_ID_LEN};
use crate::format::path::distributed_file_path;

/// Magic bytes of a pack.
pub const MAGIC: &[u8; 4] = b"RSNP";
/// Pack version this program writes and reads.
pub const VERSION: u8 = 1;
/// The largest pack written or read.
pub const MAX_PACK_BYTES: usize = 64 << 20;
/// Bytes before the keys part.
const FIXED_LEN: usize = 74;
/// Bytes of one file key.
const FILE_KEY_LEN: usize = 16;

/// The levels of blocks, largest first: the order a reader looks for packs in.
pub const LEVELS: [u8; 2] = [2, 1];

/// The levels this version writes to a target, largest first: level 2 only where the files
/// packs cover are removed (FORMAT.md §11.1), since with them kept it would be a third copy of
/// every entry.
pub fn written_levels(fewer_files: bool) -> &'static [u8] {
    if fewer_files {
        &[2, 1]
    } else {
        &[1]
    }
}

/// Entries in a block of `level` (1: 100, 2: 10,000).
pub fn block_len(level: u8) -> u64 {
    if level >= 2 {
        10_000
    } else {
        100
    }
}

/// One block of one client's entries at one level: what a pack holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Block {
    /// Whose entries.
    pub client: Uuid,
    /// 1 or 2.
    pub level: u8,
    /// `k`: the block holds entries `k·len … k·len + len − 1`.
    pub index: u64,
}

impl Block {
    /// The block of `level` holding entry `entry` of `client`.
    pub fn holding(client: Uuid, level: u8, entry: u64) -> Block {
        Block { client, level, index: entry / block_len(level) }
    }

    /// Its first entry's index.
    pub fn first(&self) -> u64 {
        self.index.saturating_mul(block_len(self.level))
    }

    /// How many entries it holds (never 0).
    pub fn entries(&self) -> u64 {
        block_len(self.level)
    }

    /// Its last entry's index.
    pub fn last(&self) -> u64 {
        self.first().saturating_add(self.entries() - 1)
    }

    /// The indexes of the level-1 blocks it covers (itself, at level 1).
    pub fn level_1_blocks(&self) -> std::ops::Range<u64> {
        self.first() / block_len(1)..(self.last() + 1) / block_len(1)
    }

    /// Where its pack lives in a target: `<clientId>/packs/<level>/<distributedFilePath(k)>.pack`.
    pub fn path(&self, max_per_folder: u64) -> String {
        format!(
            "{}/packs/{}/{}.pack",
            self.client.hyphenated(),
            self.level,
            distributed_file_path(self.index, max_per_folder).join("/")
        )
    }
}

/// Why a pack was not used. Whatever it is, the reader reads the block's single files.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PackError {
    /// Shorter than its structure needs: still being copied. Looked at again next cycle.
    #[error("the pack is not complete yet")]
    Incomplete,
    /// Not a pack of this block as FORMAT.md §11 specifies it.
    #[error("the pack is malformed: {0}")]
    Malformed(String),
    /// Its keys part does not open with the keys this device holds.
    #[error("the pack's keys cannot be read here: {0}")]
    Unreadable(String),
}

/// Builds the pack of `block` of workspace `workspace`: `entries` are the block's entry files in
/// index order, each with its file key, all of key epoch `epoch` whose key is `key`. `None` when
/// the pack would be larger than [`MAX_PACK_BYTES`] (the block is then read from its single
/// files).
pub fn encode(
    workspace: &Uuid,
    block: &Block,
    epoch: EpochId,
    key: &WorkspaceKey,
    entries: &[(&[u8], FileKey)],
) -> Result<Option<Vec<u8>>, crate::format::crypto::CryptoError> {
    assert_eq!(entries.len() as u64, block.entries(), "a pack holds a whole block");
    let files: usize = entries.iter().map(|(f, _)| f.len()).sum();
    if files > MAX_PACK_BYTES {
        return Ok(None);
    }
    let keys_part = if key.is_encrypted() {
        let plain: Vec<u8> = entries.iter().flat_map(|(_, k)| k.iter().copied()).collect();
        key.seal(&plain)?
    } else {
        Vec::new()
    };
    let total = FIXED_LEN + keys_part.len() + 4 * entries.len() + files;
    if total > MAX_PACK_BYTES {
        return Ok(None);
    }
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(MAGIC);
    out.push(VERSION);
    out.push(block.level);
    out.extend_from_slice(workspace.as_bytes());
    out.extend_from_slice(block.client.as_bytes());
    out.extend_from_slice(&block.index.to_be_bytes());
    out.extend_from_slice(&epoch.to_bytes());
    out.extend_from_slice(&(keys_part.len() as u32).to_be_bytes());
    out.extend_from_slice(&keys_part);
    for (f, _) in entries {
        out.extend_from_slice(&(f.len() as u32).to_be_bytes());
    }
    for (f, _) in entries {
        out.extend_from_slice(f);
    }
    Ok(Some(out))
}

/// A pack opened: the key epoch of its entries, and each entry file (in index order, from the
/// block's first entry) with its file key (`None` in a plaintext workspace).
#[derive(Debug)]
pub struct Opened<'a> {
    /// The epoch every entry names.
    pub epoch: EpochId,
    /// The entry files and their file keys.
    pub entries: Vec<(&'a [u8], Option<FileKey>)>,
}

/// Reads the pack found at `block`'s path, checking everything FORMAT.md §11 says of a pack's
/// structure (not the entries: each is checked as a single file when it is read). `keys`
/// opens the keys part with the key of the epoch the pack names.
pub fn open<'a>(
    bytes: &'a [u8],
    workspace: &Uuid,
    block: &Block,
    keys: &Keyring,
) -> Result<Opened<'a>, PackError> {
    let bad = |m: &str| PackError::Malformed(m.to_string());
    if bytes.len() > MAX_PACK_BYTES {
        return Err(bad("larger than 64 MiB"));
    }
    if bytes.len() < FIXED_LEN {
        let n = bytes.len().min(4);
        return if bytes[..n] == MAGIC[..n] {
            Err(PackError::Incomplete)
        } else {
            Err(bad("not a pack"))
        };
    }
    if &bytes[..4] != MAGIC {
        return Err(bad("not a pack"));
    }
    if bytes[4] != VERSION {
        return Err(bad(&format!("pack version {} is not read by this version", bytes[4])));
    }
    let u64_at = |at: usize| u64::from_be_bytes(bytes[at..at + 8].try_into().expect("8 bytes"));
    let uuid_at = |at: usize| Uuid::from_bytes(bytes[at..at + 16].try_into().expect("16 bytes"));
    if bytes[5] != block.level {
        return Err(bad("it holds a block of another level than its path"));
    }
    if uuid_at(6) != *workspace {
        return Err(bad("it belongs to another workspace"));
    }
    if uuid_at(22) != block.client || u64_at(38) != block.index {
        return Err(bad("it holds another block than its path"));
    }
    let epoch = EpochId::from_bytes(bytes[46..46 + EPOCH_ID_LEN].try_into().expect("24 bytes"))
        .ok_or_else(|| bad("it names a key epoch of no device"))?;
    let k = u32::from_be_bytes(bytes[70..74].try_into().expect("4 bytes")) as usize;
    let count = block.entries() as usize;
    let lengths_at = FIXED_LEN + k;
    let files_at = lengths_at + 4 * count;
    if bytes.len() < files_at {
        return Err(PackError::Incomplete);
    }
    let file_keys: Vec<Option<FileKey>> = if k == 0 {
        if keys.epoch0().is_encrypted() {
            return Err(bad("it has no keys part in an encrypted workspace"));
        }
        vec![None; count]
    } else {
        if !keys.epoch0().is_encrypted() {
            return Err(bad("it has a keys part in a plaintext workspace"));
        }
        let key = keys
            .key(&epoch)
            .ok_or_else(|| PackError::Unreadable(format!("this device does not hold {epoch}")))?;
        let plain = key
            .open(&bytes[FIXED_LEN..lengths_at])
            .map_err(|e| PackError::Unreadable(format!("{e:?}")))?;
        if plain.len() != FILE_KEY_LEN * count {
            return Err(bad("its keys part does not hold one key per entry"));
        }
        plain.chunks_exact(FILE_KEY_LEN).map(|c| Some(c.try_into().expect("16 bytes"))).collect()
    };
    let mut at = files_at;
    let mut entries = Vec::with_capacity(count);
    for (i, fk) in file_keys.into_iter().enumerate() {
        let l = lengths_at + 4 * i;
        let len = u32::from_be_bytes(bytes[l..l + 4].try_into().expect("4 bytes")) as usize;
        if len == 0 {
            return Err(bad("an entry of length 0"));
        }
        let Some(file) = bytes.get(at..at + len) else { return Err(PackError::Incomplete) };
        entries.push((file, fk));
        at += len;
    }
    if at != bytes.len() {
        return Err(bad("bytes after its last entry"));
    }
    Ok(Opened { epoch, entries })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(n: usize) -> Vec<(Vec<u8>, FileKey)> {
        (0..n).map(|i| (vec![i as u8 + 1; 10 + i % 7], [i as u8; 16])).collect()
    }

    #[test]
    fn blocks_and_their_paths() {
        let c = Uuid::parse_str("3f2a1c4e-9b8d-4e7f-a6b5-c4d3e2f1a0b9").unwrap();
        let b = Block::holding(c, 1, 345);
        assert_eq!((b.index, b.first(), b.last()), (3, 300, 399));
        assert_eq!(b.path(1000), format!("{c}/packs/1/1/3.pack"));
        let b = Block::holding(c, 2, 123_456);
        assert_eq!((b.index, b.first(), b.last()), (12, 120_000, 129_999));
        assert_eq!(b.path(1000), format!("{c}/packs/2/1/12.pack"));
    }

    #[test]
    fn a_pack_round_trips_and_a_cut_or_misplaced_one_is_not_used() {
        let ws = Uuid::new_v4();
        let key = WorkspaceKey::generate(&ws);
        let ring = Keyring::new(ws, key.clone());
        let block = Block { client: Uuid::new_v4(), level: 1, index: 7 };
        let e = entries(100);
        let refs: Vec<(&[u8], FileKey)> = e.iter().map(|(f, k)| (&f[..], *k)).collect();
        let pack = encode(&ws, &block, EpochId::ZERO, &key, &refs).unwrap().unwrap();
        let opened = open(&pack, &ws, &block, &ring).unwrap();
        assert_eq!(opened.epoch, EpochId::ZERO);
        for (i, (file, fk)) in opened.entries.iter().enumerate() {
            assert_eq!((*file, *fk), (&e[i].0[..], Some(e[i].1)), "entry {i}");
        }
        for cut in [0, 3, 60, 80, pack.len() / 2, pack.len() - 1] {
            assert_eq!(open(&pack[..cut], &ws, &block, &ring).unwrap_err(), PackError::Incomplete);
        }
        let mut longer = pack.clone();
        longer.push(0);
        assert!(matches!(open(&longer, &ws, &block, &ring), Err(PackError::Malformed(_))));
        let elsewhere = Block { index: 8, ..block };
        assert!(matches!(open(&pack, &ws, &elsewhere, &ring), Err(PackError::Malformed(_))));
        let other = Keyring::new(ws, WorkspaceKey::generate(&ws));
        assert!(matches!(open(&pack, &ws, &block, &other), Err(PackError::Unreadable(_))));
        // A plaintext workspace: no keys part.
        let plain = Keyring::new(ws, WorkspaceKey::Plaintext);
        let p =
            encode(&ws, &block, EpochId::ZERO, &WorkspaceKey::Plaintext, &refs).unwrap().unwrap();
        assert!(open(&p, &ws, &block, &plain).unwrap().entries.iter().all(|(_, k)| k.is_none()));
        assert!(matches!(open(&pack, &ws, &block, &plain), Err(PackError::Malformed(_))));
    }

    #[test]
    fn a_block_too_large_gets_no_pack() {
        let ws = Uuid::new_v4();
        let key = WorkspaceKey::generate(&ws);
        let block = Block { client: Uuid::new_v4(), level: 1, index: 0 };
        let big = vec![7u8; MAX_PACK_BYTES / 100 + 1];
        let refs: Vec<(&[u8], FileKey)> = (0..100).map(|_| (&big[..], [0u8; 16])).collect();
        assert!(encode(&ws, &block, EpochId::ZERO, &key, &refs).unwrap().is_none());
    }
}
