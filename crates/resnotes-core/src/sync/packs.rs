//! Packs in a sync cycle (FORMAT.md §11): writing the pack of each block that became whole to
//! a target, and reading a block's pack during a pull. In a workspace of version 1 neither is
//! ever needed: the single entry files stay the truth, and anything wrong with a pack means
//! they are read instead. With fewer files (§11.1) a device also removes the single files a
//! pack covers once it has read that pack back from the target and found it holds exactly
//! its own copy of the block, and a reader that misses an entry's file looks for its pack.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use uuid::Uuid;

use crate::docs::Replica;
use crate::error::Result;
use crate::format::crypto::FileKey;
use crate::format::entry::{self, Entry, EntryError};
use crate::format::epoch::{EpochId, Keyring};
use crate::format::manifest::Manifest;
use crate::format::pack::{self, Block};
use crate::store;
use crate::store::packs::Progress;
use crate::transport::{Target, Transport, TransportError};

/// A pack read from a target: the key epoch it names, and its entry files from the entry a
/// pull is at on, each with its file key.
type PackedEntries = (EpochId, Vec<(Vec<u8>, Option<FileKey>)>);

/// What a pull of one device's entries takes from packs (FORMAT.md §11): the entries of the
/// pack it is reading, the blocks without a usable pack, and what it learns to keep.
#[derive(Default)]
pub(crate) struct PackReading {
    /// The entries of the pack being read, from the pull's position on; `None` when no pack is
    /// being read.
    reading: Option<Decoder>,
    /// The block being read, the key epoch its pack names and the pack's length.
    current: Option<(Block, EpochId, u64)>,
    /// Packs given up in this pull because an entry in them failed, with their lengths and
    /// why: recorded as unusable when the pull ends.
    abandoned: Vec<(Block, u64, String)>,
    /// Blocks found without a usable pack in this pull: not looked for again.
    unusable: BTreeSet<Block>,
    /// The file key of each entry accepted from a pack, with its index and epoch.
    keys: Vec<(u64, FileKey, EpochId)>,
    /// The packs the target was found to hold, in order.
    held: Vec<Block>,
    /// Packs found there that cannot be used, with why: where the single files they cover
    /// were removed (FORMAT.md §11.1), the pull says so instead of waiting without a word.
    damaged: Vec<(Block, String)>,
    /// The digests of files refused before, by entry index (`store::targets::refused`).
    refused: HashMap<u64, [u8; 32]>,
}

/// What [`Replica::read_pack`] found where a block's pack belongs.
pub(crate) enum PackFound {
    /// No pack.
    Absent,
    /// One that could not be read just now (the single files are read instead).
    Unread,
    /// A pack of `size` bytes this device cannot use: damaged or cut short (`damage` says
    /// how), or of a key epoch it does not hold (`None`).
    Unusable { size: u64, damage: Option<String> },
    /// Its entries from the one asked for on, and the pack's length.
    Entries(PackedEntries, u64),
}

/// An entry of a pack with its file key (`None` in a plaintext workspace), and what decoding
/// and checking it by itself found ([`entry::decode_packed`]).
pub(crate) type Decoded = (Vec<u8>, Option<FileKey>, std::result::Result<Entry, EntryError>);

/// How many decoded entries of a pack may wait for the pull to take them: a pull transaction's
/// worth, so the decoding goes on while the pull stores a batch.
const DECODE_AHEAD: usize = 1024;
/// And at most how many bytes (files and inflated changes) they may hold.
const DECODE_AHEAD_BYTES: usize = 64 << 20;

/// A pack's entries, decoded by the pull's thread and by a thread of their own, which works
/// at most [`DECODE_AHEAD`] entries ahead, and handed to the pull in order: decrypting,
/// verifying signatures and inflating payloads — most of a join's time, and nothing in them
/// depends on another entry — run on the second core while the first stores what the pull
/// took, and on both when the pull waits for the next entry. The pull checks each entry's place
/// and chain, in order, as before.
struct Decoder {
    shared: Arc<(std::sync::Mutex<Work>, std::sync::Condvar)>,
    ring: Arc<Keyring>,
}

/// The entries of a pack being decoded, shared by the two threads.
struct Work {
    entries: Vec<Option<(Vec<u8>, Option<FileKey>)>>,
    results: Vec<Option<Decoded>>,
    /// What the results not taken yet hold ([`weight`]).
    ready_bytes: usize,
    /// Entries refused for what their bytes are (by their place in `entries`): the same bytes
    /// are not decoded again (a bomb is not inflated at every cycle), the pull drops them.
    refused: HashMap<usize, [u8; 32]>,
    /// Entries before this one are being decoded or done.
    claimed: usize,
    /// Entries before this one were taken by the pull.
    taken: usize,
    /// The pull stopped reading this pack.
    stop: bool,
}

/// An entry to decode: its place in the pack's entries, file, file key, and the digest of the
/// bytes refused there before.
type Claimed = (usize, Vec<u8>, Option<FileKey>, Option<[u8; 32]>);

impl Work {
    /// How many entries the pull has not taken yet.
    fn left(&self) -> usize {
        self.entries.len() - self.taken
    }

    /// Whether another entry may be decoded ahead of the pull.
    fn room(&self) -> bool {
        self.claimed - self.taken < DECODE_AHEAD && self.ready_bytes < DECODE_AHEAD_BYTES
    }

    /// Claims the next entry to decode.
    fn claim(&mut self) -> Option<Claimed> {
        let k = self.claimed;
        let (bytes, key) = self.entries.get_mut(k)?.take()?;
        self.claimed += 1;
        Some((k, bytes, key, self.refused.get(&k).copied()))
    }

    /// Keeps a decoded entry until the pull takes it.
    fn put(&mut self, k: usize, decoded: Decoded) {
        self.ready_bytes += weight(&decoded);
        self.results[k] = Some(decoded);
    }

    /// The decoded entry `k`, when it is ready.
    fn take(&mut self, k: usize) -> Option<Decoded> {
        let done = self.results[k].take()?;
        self.ready_bytes -= weight(&done);
        self.taken += 1;
        Some(done)
    }
}

/// What a decoded entry holds in memory, roughly: its file and what was decoded from it.
fn weight((bytes, _, decoded): &Decoded) -> usize {
    bytes.len() + decoded.as_ref().map_or(0, Entry::weight)
}

/// Decodes one entry; a panic (a bug) refuses the entry instead of ending the pull, so its
/// single file decides.
fn decode_one((_, bytes, key, refused): Claimed, ring: &Keyring) -> Decoded {
    if refused.is_some_and(|d| d == entry::sha256(&bytes)) {
        return (bytes, key, Err(EntryError::Malformed("refused before".into())));
    }
    let decoded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        entry::decode_packed(&bytes, key.as_ref(), ring)
    }))
    .unwrap_or_else(|_| Err(EntryError::Malformed("it could not be decoded".into())));
    (bytes, key, decoded)
}

impl Decoder {
    /// Starts decoding `entries`, the first of which is entry `first`; `refused` are the
    /// digests of the files the pull refused before, by entry index.
    fn start(
        entries: Vec<(Vec<u8>, Option<FileKey>)>,
        first: u64,
        refused: &HashMap<u64, [u8; 32]>,
        ring: Arc<Keyring>,
    ) -> Decoder {
        let count = entries.len();
        let refused = refused
            .iter()
            .filter(|(i, _)| (first..first + count as u64).contains(i))
            .map(|(i, d)| ((i - first) as usize, *d))
            .collect();
        let work = Work {
            results: (0..count).map(|_| None).collect(),
            entries: entries.into_iter().map(Some).collect(),
            ready_bytes: 0,
            refused,
            claimed: 0,
            taken: 0,
            stop: false,
        };
        let shared = Arc::new((std::sync::Mutex::new(work), std::sync::Condvar::new()));
        let (s, r) = (shared.clone(), ring.clone());
        // Without a thread (none could be started), the pull decodes every entry itself.
        let _ = std::thread::Builder::new().name("pack-decoder".into()).spawn(move || {
            let (lock, cv) = &*s;
            loop {
                let mut w = lock.lock().unwrap_or_else(|e| e.into_inner());
                while !w.stop && w.claimed < w.entries.len() && !w.room() {
                    w = cv.wait(w).unwrap_or_else(|e| e.into_inner());
                }
                if w.stop {
                    return;
                }
                let Some(claimed) = w.claim() else { return };
                drop(w);
                let k = claimed.0;
                let decoded = decode_one(claimed, &r);
                lock.lock().unwrap_or_else(|e| e.into_inner()).put(k, decoded);
                cv.notify_all();
            }
        });
        Decoder { shared, ring }
    }

    /// The next entry, and whether it was the last. While the other thread decodes it, this one
    /// decodes the next entry no thread has begun, instead of waiting.
    fn next(&mut self) -> Option<(Decoded, bool)> {
        let (lock, cv) = &*self.shared;
        let mut w = lock.lock().unwrap_or_else(|e| e.into_inner());
        if w.left() == 0 {
            return None;
        }
        let k = w.taken;
        loop {
            if let Some(done) = w.take(k) {
                let last = w.left() == 0;
                drop(w);
                cv.notify_all();
                return Some((done, last));
            }
            // (Entry `k` itself is always claimed: the pull needs it to go on.)
            match if w.claimed == k || w.room() { w.claim() } else { None } {
                Some(claimed) => {
                    drop(w);
                    let j = claimed.0;
                    let decoded = decode_one(claimed, &self.ring);
                    w = lock.lock().unwrap_or_else(|e| e.into_inner());
                    w.put(j, decoded);
                }
                None => w = cv.wait(w).unwrap_or_else(|e| e.into_inner()),
            }
        }
    }
}

impl Drop for Decoder {
    fn drop(&mut self) {
        let (lock, cv) = &*self.shared;
        lock.lock().unwrap_or_else(|e| e.into_inner()).stop = true;
        cv.notify_all();
    }
}

impl PackReading {
    /// Reading packs in a pull that refused the files `refused` before (digests by index).
    pub(crate) fn refusing(refused: HashMap<u64, [u8; 32]>) -> PackReading {
        PackReading { refused, ..Default::default() }
    }

    /// The next entry of the pack being read, with its file key and what decoding it by itself
    /// found; `None` once it is done (the pull then reads single files).
    pub(crate) fn next(&mut self) -> Option<Decoded> {
        let Some(reading) = self.reading.as_mut() else {
            self.current = None;
            return None;
        };
        let Some((next, last)) = reading.next() else {
            self.abandon();
            return None;
        };
        if last {
            // Done; `current` stays for this last entry's epoch check.
            self.reading = None;
        }
        Some(next)
    }

    /// An entry taken from the pack being read, refused unless it is of the epoch the pack
    /// names (FORMAT.md §11).
    pub(crate) fn of_its_epoch(&self, e: Entry) -> std::result::Result<Entry, EntryError> {
        if self.current.is_some_and(|(_, epoch, _)| epoch == e.epoch) {
            Ok(e)
        } else {
            Err(EntryError::Malformed("not of its pack's key epoch".into()))
        }
    }

    /// An entry from the pack failed where its single file may not: the single files decide
    /// from here on, and the block's pack is not used again in this pull.
    pub(crate) fn abandon(&mut self) {
        if let Some((block, _, size)) = self.current.take() {
            let why = "an entry in it is not the one its device wrote".to_string();
            self.unusable.insert(block);
            self.damaged.push((block, why.clone()));
            self.abandoned.push((block, size, why));
        }
        self.reading = None;
    }

    /// Why a pack found to hold entry `n` cannot be used, when one was found in this pull.
    pub(crate) fn damage_at(&self, n: u64) -> Option<&str> {
        self.damaged
            .iter()
            .find(|(b, _)| (b.first()..=b.last()).contains(&n))
            .map(|(_, why)| why.as_str())
    }

    /// Keeps the file key of entry `index`, accepted from a pack or from its single file (its
    /// stanza unwrapped to it).
    pub(crate) fn accepted(&mut self, index: u64, key: Option<FileKey>, epoch: EpochId) {
        if let Some(key) = key {
            self.keys.push((index, key, epoch));
        }
    }
}

/// True when `tr` holds a pack of a block holding entry `index` of `client`, at either level:
/// in a workspace with fewer files, the entry is there although its single file may not be.
pub(crate) fn covered(
    tr: &dyn Transport,
    manifest: &Manifest,
    client: &Uuid,
    index: u64,
) -> Result<bool> {
    for level in pack::LEVELS {
        if tr
            .exists(&Block::holding(*client, level, index).path(manifest.max_entries_per_folder))?
        {
            return Ok(true);
        }
    }
    Ok(false)
}

impl Replica {
    /// Writes to `tr` the pack of every block that became whole since the last cycle, for each
    /// client whose entries and file keys this device holds. A pack already there is left as
    /// it is (another device wrote it: either is as good). A target that fails stops this and
    /// is reported by the caller; the blocks not done are tried again next cycle. Where the
    /// target keeps fewer files (FORMAT.md §11.1), level-2 packs too, and no level-1 pack of a
    /// block a level-2 pack there covers.
    pub(crate) fn write_packs(
        &self,
        target: &Target,
        tr: &dyn Transport,
        manifest: &Manifest,
        fewer_files: bool,
    ) -> Result<()> {
        for (client, head) in store::heads(&self.conn)? {
            // Only what the target holds byte for byte: where it holds other bytes for an
            // entry (a conflict left alone), a pack of ours would give readers another chain.
            let Some(there) = store::remote_upto(&self.conn, &target.id, &client)? else {
                continue;
            };
            for &level in pack::written_levels(fewer_files) {
                let whole = (head.min(there) + 1) / pack::block_len(level);
                let (conn, t) = (&self.conn, &target.id);
                let from = store::packs::next(conn, Progress::Packed, t, &client, level)?;
                let done =
                    |next| store::packs::set_next(conn, Progress::Packed, t, &client, level, next);
                // Whether a level-2 pack there holds a level-1 block, asked once per level-2 block.
                let mut level_2: Option<(Block, bool)> = None;
                for index in from..whole {
                    let block = Block { client, level, index };
                    if fewer_files && level == 1 {
                        let big = Block::holding(client, 2, block.first());
                        if level_2.is_none_or(|(b, _)| b != big) {
                            let path = big.path(manifest.max_entries_per_folder);
                            level_2 = Some((big, tr.exists(&path)?));
                        }
                        if level_2.is_some_and(|(_, there)| there) {
                            continue;
                        }
                    }
                    if self.write_pack(tr, manifest, &block)? {
                        // Kept at once: a failure later in this cycle does not redo it.
                        done(index + 1)?;
                    }
                }
                if whole > from {
                    done(whole)?;
                }
            }
        }
        Ok(())
    }

    /// Writes one block's pack when this device can make it; true when it wrote one.
    fn write_pack(&self, tr: &dyn Transport, manifest: &Manifest, block: &Block) -> Result<bool> {
        let Some((epoch, files)) = store::packs::block(&self.conn, block)? else {
            return Ok(false);
        };
        let Some(key) = self.keys.key(&epoch) else { return Ok(false) };
        let path = block.path(manifest.max_entries_per_folder);
        // Another device's pack is as good (FORMAT.md §11); one still being copied completes.
        if tr.exists(&path)? {
            return Ok(false);
        }
        let refs: Vec<(&[u8], FileKey)> = files.iter().map(|(f, k)| (&f[..], *k)).collect();
        let Some(bytes) = pack::encode(&self.workspace, block, epoch, &key, &refs)? else {
            return Ok(false);
        };
        match tr.write_new(&path, &bytes) {
            Ok(w) => Ok(w == crate::transport::Written::Created),
            // Written meanwhile by another device: as good.
            Err(TransportError::Conflict { .. }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Removes from `tr` the single files of every block whose pack `tr` holds and this device
    /// has not looked at yet, when that pack, read back from `tr`, holds exactly this device's
    /// copy of the block (FORMAT.md §11.1). Only for a target whose own `index.json` allows it.
    /// A block whose pack is absent, unreadable or other is left with its single files. A
    /// cut anywhere leaves every entry readable: the pack was durable before the first removal,
    /// and files still there are removed at the next cycle.
    ///
    /// A level-2 pack so found also replaces the level-1 packs of its blocks, and the single
    /// files of those this device has not looked at yet (where a block's first file is still
    /// there: a device removes a block's files first to last, and one cut short in the middle
    /// removes the rest when it looks again).
    pub(crate) fn remove_covered(
        &self,
        target: &Target,
        tr: &dyn Transport,
        manifest: &Manifest,
    ) -> Result<()> {
        let per_folder = manifest.max_entries_per_folder;
        let entry_path =
            |client: &Uuid, i: u64| crate::sync::executor::entry_path(manifest, client, i);
        let remove_singles = |block: &Block| -> Result<()> {
            for i in block.first()..=block.last() {
                tr.remove(&entry_path(&block.client, i))?;
            }
            Ok(())
        };
        let conn = &self.conn;
        for (client, _) in store::heads(conn)? {
            let packed = store::packs::next(conn, Progress::Packed, &target.id, &client, 2)?;
            let from = store::packs::next(conn, Progress::Thinned, &target.id, &client, 2)?;
            for index in from..packed {
                let big = Block { client, level: 2, index };
                if self.pack_there_is_ours(tr, manifest, &big)? {
                    let small = big.level_1_blocks();
                    let done = store::packs::next(conn, Progress::Thinned, &target.id, &client, 1)?;
                    for k in small.clone() {
                        let small = Block { client, level: 1, index: k };
                        if k >= done && tr.exists(&entry_path(&client, small.first()))? {
                            remove_singles(&small)?;
                        }
                        tr.remove(&small.path(per_folder))?;
                    }
                    // Only when level 1 was done up to this block: one it was not done to yet
                    // (an earlier level-2 pack was not ours) is looked at by level 1 below.
                    store::packs::advance(conn, Progress::Thinned, &target.id, &client, 1, small)?;
                }
                store::packs::set_next(conn, Progress::Thinned, &target.id, &client, 2, index + 1)?;
            }
            let packed = store::packs::next(conn, Progress::Packed, &target.id, &client, 1)?;
            let from = store::packs::next(conn, Progress::Thinned, &target.id, &client, 1)?;
            for index in from..packed {
                let block = Block { client, level: 1, index };
                if self.pack_there_is_ours(tr, manifest, &block)? {
                    remove_singles(&block)?;
                }
                store::packs::set_next(conn, Progress::Thinned, &target.id, &client, 1, index + 1)?;
            }
        }
        Ok(())
    }

    /// True when `tr` holds a pack of `block` that opens with this device's keys, names the
    /// epoch of its copy of the block, and holds its entry files and file keys byte for byte:
    /// then every reader that can read the single files can read the pack.
    fn pack_there_is_ours(
        &self,
        tr: &dyn Transport,
        manifest: &Manifest,
        block: &Block,
    ) -> Result<bool> {
        let Some((epoch, files)) = store::packs::block(&self.conn, block)? else {
            return Ok(false);
        };
        let path = block.path(manifest.max_entries_per_folder);
        let Some(bytes) = tr.read(&path)? else {
            return Ok(false);
        };
        let Ok(opened) = pack::open(&bytes, &self.workspace, block, &self.keys) else {
            return Ok(false);
        };
        // Durable before anything it covers goes (another device's, copied in by a sync tool,
        // may not be flushed yet).
        tr.make_durable(&path)?;
        Ok(opened.epoch == epoch
            && opened.entries.len() == files.len()
            && opened.entries.iter().zip(&files).all(|((there, key), (ours, our_key))| {
                *there == &ours[..] && *key == Some(*our_key)
            }))
    }

    /// When a pull of `client` is at entry `n` and nothing is being read from a pack: looks for
    /// a pack holding it (level 2 first, each block once per pull) and, when one is usable,
    /// reads on from it. True when it does. Only at the first entry of a level-1 block, unless
    /// `anywhere` (the entry's single file is missing in a workspace with fewer files).
    ///
    /// A pack found unusable on `target` is not downloaded again for a while
    /// ([`store::packs::Unusable`]): a pull that stops at its block would otherwise fetch it
    /// at every cycle.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn look_for_pack(
        &self,
        p: &mut PackReading,
        target: &str,
        tr: &dyn Transport,
        manifest: &Manifest,
        client: &Uuid,
        n: u64,
        anywhere: bool,
    ) -> Result<bool> {
        if p.reading.is_some() || !(anywhere || n.is_multiple_of(pack::block_len(1))) {
            return Ok(false);
        }
        for level in pack::LEVELS {
            let b = Block::holding(*client, level, n);
            if p.unusable.contains(&b) {
                continue;
            }
            let before = store::packs::unusable(&self.conn, target, &b)?;
            if let Some(u) = &before {
                let size = match tr.size(&b.path(manifest.max_entries_per_folder)) {
                    Ok(size) => size,
                    Err(e @ TransportError::Unreachable { .. }) => return Err(e.into()),
                    // Not answered (a server without lengths): read it as before.
                    Err(_) => None,
                };
                let epochs = self.keys.held().len() as u64;
                if size.is_some_and(|s| u.waits(s, epochs, self.now())) {
                    p.unusable.insert(b);
                    if let Some(d) = &u.damage {
                        p.damaged.push((b, d.clone()));
                    }
                    continue;
                }
            }
            match self.read_pack(tr, manifest, &b, n)? {
                PackFound::Entries((epoch, entries), size) => {
                    if before.is_some() {
                        self.note_unusable(target, &b, None);
                    }
                    let keys = self.keys.clone();
                    p.reading = Some(Decoder::start(entries, n, &p.refused, keys));
                    p.current = Some((b, epoch, size));
                    p.held.push(b);
                    return Ok(true);
                }
                PackFound::Unusable { size, damage } => {
                    self.note_tried(target, &b, before.as_ref(), size, damage.clone());
                    if let Some(d) = damage {
                        p.damaged.push((b, d));
                    }
                    p.unusable.insert(b);
                }
                PackFound::Absent => {
                    if before.is_some() {
                        self.note_unusable(target, &b, None);
                    }
                    p.unusable.insert(b);
                }
                PackFound::Unread => {
                    p.unusable.insert(b);
                }
            }
        }
        Ok(false)
    }

    /// Records (or forgets) that a pack is unusable; a failure to (the database busy for long)
    /// only costs a download at the next cycle, so it is logged, not passed on.
    fn note_unusable(&self, target: &str, block: &Block, record: Option<&store::packs::Unusable>) {
        if let Err(e) = store::packs::set_unusable(&self.conn, target, block, record) {
            tracing::warn!("could not note whether a pack on {target} is usable: {e}");
        }
    }

    /// Records a try, now, that found `block`'s pack of `size` bytes unusable, after the record
    /// `before`: it waits longer than after that one.
    fn note_tried(
        &self,
        target: &str,
        block: &Block,
        before: Option<&store::packs::Unusable>,
        size: u64,
        damage: Option<String>,
    ) {
        let epochs = self.keys.held().len() as u64;
        let u = store::packs::Unusable::tried(before, size, epochs, damage, self.now());
        self.note_unusable(target, block, Some(&u));
    }

    /// Records the packs a pull of `target` gave up because an entry in them failed (they are
    /// not downloaded again for a while: [`store::packs::Unusable`]).
    pub(crate) fn note_abandoned(&self, target: &str, p: &PackReading) {
        for (b, size, why) in &p.abandoned {
            let before = store::packs::unusable(&self.conn, target, b).ok().flatten();
            self.note_tried(target, b, before.as_ref(), *size, Some(why.clone()));
        }
    }

    /// The entries of `block`'s pack on `tr` from entry `from` on, with their file keys, or
    /// why there are none: no pack there (or not readable just now), or one this device cannot
    /// use (still being copied, malformed, of a key it lacks). Either way the single files
    /// are read instead.
    pub(crate) fn read_pack(
        &self,
        tr: &dyn Transport,
        manifest: &Manifest,
        block: &Block,
        from: u64,
    ) -> Result<PackFound> {
        let path = block.path(manifest.max_entries_per_folder);
        let bytes = match tr.read(&path) {
            Ok(Some(b)) => b,
            Ok(None) => return Ok(PackFound::Absent),
            Err(e @ TransportError::Unreachable { .. }) => return Err(e.into()),
            Err(e) => {
                tracing::debug!("the pack {path} could not be read: {e}");
                return Ok(PackFound::Unread);
            }
        };
        let opened = match pack::open(&bytes, &self.workspace, block, &self.keys) {
            Ok(o) => o,
            Err(e) => {
                tracing::debug!("the pack {path} is not used: {e}");
                // Not damaged when its keys are what this device lacks: the entries would not
                // open either, and the pull says so where it meets the key epoch's record.
                let damage = (!matches!(e, pack::PackError::Unreadable(_))).then(|| e.to_string());
                return Ok(PackFound::Unusable { size: bytes.len() as u64, damage });
            }
        };
        let skip = (from - block.first()) as usize;
        let entries = opened.entries.into_iter().skip(skip).map(|(f, k)| (f.to_vec(), k));
        Ok(PackFound::Entries((opened.epoch, entries.collect()), bytes.len() as u64))
    }

    /// After a pull of `client`'s entries from `target`: keeps the file keys of the entries read
    /// (so this device can write their packs to its other targets) and notes the
    /// packs `target` was found to hold (nothing to write or remove there), in one transaction.
    pub(crate) fn keep_what_packs_gave(
        &self,
        target: &str,
        client: &Uuid,
        p: &PackReading,
    ) -> Result<()> {
        if p.keys.is_empty() && p.held.is_empty() {
            return Ok(());
        }
        let tx = store::write_tx(&self.conn)?;
        for (index, key, epoch) in &p.keys {
            store::packs::keep_file_key(&tx, client, *index, key, epoch)?;
        }
        for b in &p.held {
            let this = b.index..b.index + 1;
            store::packs::advance(&tx, Progress::Packed, target, &b.client, b.level, this.clone())?;
            // Nothing to remove under a pack found there: the device that checked it removed
            // what it covers (and one cut short finishes by itself). Not reading every pack
            // back spares a joining device a second read of the whole workspace.
            if store::packs::advance(&tx, Progress::Thinned, target, &b.client, b.level, this)?
                && b.level == 2
            {
                let small = b.level_1_blocks();
                store::packs::advance(&tx, Progress::Thinned, target, &b.client, 1, small)?;
            }
        }
        tx.commit()?;
        Ok(())
    }
}

#[cfg(test)]
mod decoder_tests {
    use super::*;
    use crate::format::crypto::WorkspaceKey;

    /// Entries come out in the order they went in, each once, whichever thread decoded them,
    /// also when the pull takes them slowly (the other thread fills its window and waits);
    /// when the pull drops the decoder, its thread ends.
    #[test]
    fn entries_come_in_order_and_the_thread_ends_with_the_decoder() {
        let ring = Arc::new(Keyring::new(Uuid::nil(), WorkspaceKey::Plaintext));
        let n = DECODE_AHEAD as u32 * 3;
        let entries: Vec<_> = (0..n).map(|i| (i.to_le_bytes().to_vec(), None)).collect();
        let none = HashMap::new();
        let mut d = Decoder::start(entries.clone(), 0, &none, ring.clone());
        for i in 0..n {
            if i == 5 {
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            let ((bytes, _, decoded), last) = d.next().expect("an entry");
            assert_eq!(last, i == n - 1);
            assert_eq!(bytes, i.to_le_bytes(), "entry {i}");
            assert!(decoded.is_err(), "four bytes are no entry");
        }
        assert!(d.next().is_none());
        // A pull that stops reading a pack while the other thread waits with a full window.
        let mut d = Decoder::start(entries, 0, &none, ring.clone());
        d.next();
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert_eq!(d.shared.0.lock().unwrap().left(), n as usize - 1);
        let shared = Arc::downgrade(&d.shared);
        drop(d);
        let start = std::time::Instant::now();
        while shared.upgrade().is_some() {
            assert!(start.elapsed().as_secs() < 30, "the decoding thread did not end");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        // A file refused before is not decoded again (entry 8 here: the pack's second).
        let refused = HashMap::from([(8, entry::sha256(&[2])), (9, [0; 32])]);
        let mut all = Decoder::start(vec![(vec![1], None), (vec![2], None)], 7, &refused, ring);
        let (first, _) = all.next().unwrap();
        assert_eq!(first.0, vec![1]);
        assert_ne!(first.2, Err(EntryError::Malformed("refused before".into())));
        let (second, last) = all.next().unwrap();
        assert!(last);
        assert_eq!(second.0, vec![2]);
        assert_eq!(second.2, Err(EntryError::Malformed("refused before".into())));
        assert!(all.next().is_none());
    }
}

/// A writer and a joiner for the tests of packs.
#[cfg(test)]
mod tests_support {
    use crate::transport::{Memory, TargetKind};
    use crate::Workspace;

    pub(super) const PASS: Option<&str> = Some("ivory tugboat quietly");

    /// A device that wrote `n` one-note entries to `f`.
    pub(super) fn writer(dir: &std::path::Path, f: &Memory, n: usize) -> Workspace {
        let mut a = Workspace::init(dir, false, crate::workspace::system_clock()).unwrap();
        let t = a.add_target(TargetKind::Memory, f, PASS, 10).unwrap();
        for i in 0..n {
            a.new_note(&format!("n{i}"), "x").unwrap();
            a.seal_pending(1, usize::MAX).unwrap();
        }
        a.sync_with(&[(&t, f)], &mut |_| {}).unwrap();
        a
    }

    /// A new device that joined through `f` and read it.
    pub(super) fn join(dir: &std::path::Path, f: &Memory) -> Workspace {
        let mut b = Workspace::join(
            dir,
            TargetKind::Memory,
            f,
            PASS,
            false,
            crate::workspace::system_clock(),
        )
        .unwrap();
        let t = b.targets().unwrap()[0].clone();
        let reports = b.sync_with(&[(&t, f)], &mut |_| {}).unwrap();
        assert!(reports[0].problems.is_empty(), "{:?}", reports[0].problems);
        b
    }
}

#[cfg(test)]
mod tests {
    use super::tests_support::*;
    use crate::format::manifest::Manifest;
    use crate::format::pack::Block;
    use crate::transport::{Memory, TargetKind};
    use crate::Workspace;

    /// A level-2 pack (10,000 entries), which this version reads but does not write yet: made
    /// here as a future writer would, a new device reads the whole block from it.
    #[test]
    fn a_level_2_pack_is_read() {
        let tmp = tempfile::tempdir().unwrap();
        let f = Memory::new("f");
        let mut a = Workspace::init(&tmp.path().join("a"), false, crate::workspace::system_clock())
            .unwrap();
        crate::testing::set_durable(&a, false).unwrap();
        let t = a.add_target(TargetKind::Memory, &f, PASS, 10).unwrap();
        let note = a.new_note("typed into", "").unwrap();
        for i in 0..10_000 {
            a.splice_note(
                &note,
                crate::Field::Body,
                usize::MAX,
                0,
                if i % 2 == 0 { "a" } else { "b" },
            )
            .unwrap();
        }
        a.seal_pending(1, usize::MAX).unwrap();
        a.sync_with(&[(&t, &f)], &mut |_| {}).unwrap();
        let m = Manifest::parse(&f.snapshot()["index.json"], "f").unwrap();
        let client = a.client_id();
        let b2 = Block { client, level: 2, index: 0 };
        let (epoch, files) = crate::store::packs::block(&a.replica.conn, &b2).unwrap().unwrap();
        let refs: Vec<(&[u8], [u8; 16])> = files.iter().map(|(d, k)| (&d[..], *k)).collect();
        let key = a.replica.keys.key(&epoch).unwrap();
        let pack = crate::format::pack::encode(&a.replica.workspace, &b2, epoch, &key, &refs)
            .unwrap()
            .unwrap();
        // Only the level-2 pack and the entries after its block: the rest must come from it.
        let g = Memory::new("g");
        for (path, bytes) in f.snapshot() {
            if path == "index.json" || !path.contains("/changes/") && !path.contains("/packs/") {
                g.put_raw(&path, bytes);
            }
        }
        g.put_raw(&b2.path(m.max_entries_per_folder), pack);
        for i in 10_000..=crate::store::head(&a.replica.conn, &client).unwrap().unwrap().0 {
            let p = crate::sync::executor::entry_path(&m, &client, i);
            g.put_raw(&p, f.snapshot()[&p].clone());
        }
        let b = join(&tmp.path().join("b"), &g);
        let body = b.note(&note.to_string()).unwrap().body;
        assert_eq!(body.len(), 10_000);
    }

    /// Where the target holds other bytes for an entry (a conflict left alone), no pack of this
    /// device's copy is written there: readers of the pack and of the files would disagree.
    #[test]
    fn no_pack_over_a_conflict() {
        let tmp = tempfile::tempdir().unwrap();
        let f = Memory::new("f");
        let mut a = Workspace::init(&tmp.path().join("a"), false, crate::workspace::system_clock())
            .unwrap();
        let t = a.add_target(TargetKind::Memory, &f, PASS, 10).unwrap();
        for i in 0..120 {
            a.new_note(&format!("n{i}"), "x").unwrap();
            a.seal_pending(1, usize::MAX).unwrap();
        }
        let m = Manifest::parse(&f.snapshot()["index.json"], "f").unwrap();
        let client = a.client_id();
        let at = |i| crate::sync::executor::entry_path(&m, &client, i);
        // A file this device cannot judge (encrypted to another key): left alone.
        let stranger = crate::format::crypto::WorkspaceKey::generate(&uuid::Uuid::new_v4());
        f.put_raw(&at(50), stranger.seal(&[7u8; 900]).unwrap());
        let reports = a.sync_with(&[(&t, &f)], &mut |_| {}).unwrap();
        assert!(reports[0].problems.join(" ").contains("different bytes"), "{reports:?}");
        let block0 = Block { client, level: 1, index: 0 };
        assert!(!f.snapshot().contains_key(&block0.path(m.max_entries_per_folder)));
    }

    /// A device that stayed behind since before a block was packed reads on from single files
    /// up to the block's start, then from the pack.
    #[test]
    fn a_device_behind_reads_on_into_a_pack() {
        let tmp = tempfile::tempdir().unwrap();
        let f = Memory::new("f");
        let mut a = writer(&tmp.path().join("a"), &f, 50);
        let mut d = join(&tmp.path().join("d"), &f);
        assert_eq!(d.list(None).unwrap().len(), 50);
        let ta = a.targets().unwrap()[0].clone();
        for i in 50..260 {
            a.new_note(&format!("n{i}"), "x").unwrap();
            a.seal_pending(1, usize::MAX).unwrap();
        }
        a.sync_with(&[(&ta, &f)], &mut |_| {}).unwrap();
        let before = f.ops();
        let td = d.targets().unwrap()[0].clone();
        let reports = d.sync_with(&[(&td, &f)], &mut |_| {}).unwrap();
        assert!(reports[0].problems.is_empty(), "{:?}", reports[0].problems);
        assert_eq!(d.list(None).unwrap().len(), 260);
        // 50 single files to the block's end, one pack, then 60 single files and a few looks.
        let ops = f.ops() - before;
        assert!(ops < 170, "{ops} operations for 210 entries");
    }

    /// FORMAT.md §11: the writer packs each whole block; a new device reads the packs (few
    /// reads), learns the file keys and packs the same blocks to its own other targets; the
    /// single files stay the truth when a pack is wrong.
    #[test]
    fn whole_blocks_are_packed_read_in_one_go_and_relayed() {
        let tmp = tempfile::tempdir().unwrap();
        let f = Memory::new("f");
        let a = writer(&tmp.path().join("a"), &f, 250);
        let files = f.snapshot();
        let m = Manifest::parse(&files["index.json"], "f").unwrap();
        let client = a.client_id();
        let block = |level, index| Block { client, level, index };
        assert!(files.contains_key(&block(1, 0).path(m.max_entries_per_folder)));
        assert!(files.contains_key(&block(1, 1).path(m.max_entries_per_folder)));
        assert!(!files.contains_key(&block(1, 2).path(m.max_entries_per_folder)), "not whole");
        // Checking the folder finds the packs in their places: nothing extra.
        let t = a.targets().unwrap()[0].clone();
        let checked = a.verify_with(&t, &f, &mut |_, _| {}).unwrap();
        assert!(checked.clean(), "{:?}", checked.findings);

        // A new device: every note, in far fewer reads than one per entry.
        let before = f.ops();
        let b = join(&tmp.path().join("b"), &f);
        assert_eq!(b.list(None).unwrap().len(), 250);
        let reads = f.ops() - before;
        assert!(reads < 120, "{reads} operations to join 250 entries");

        // The pack is read instead of the single files: with them gone, a device still joins.
        let g = Memory::new("g");
        for (path, bytes) in &files {
            let single =
                (0..100).any(|i| *path == crate::sync::executor::entry_path(&m, &client, i));
            if !single {
                g.put_raw(path, bytes.clone());
            }
        }
        let c = join(&tmp.path().join("c"), &g);
        assert_eq!(c.list(None).unwrap().len(), 250);

        // B holds the file keys it read: it writes the same blocks' packs to another target,
        // and a device joining there reads the packs B made (other bytes than A's, as good).
        let h = Memory::new("h");
        let mut b = b;
        let th = b.add_target(TargetKind::Memory, &h, None, 10).unwrap();
        b.sync_with(&[(&th, &h)], &mut |_| {}).unwrap();
        let by_b = block(1, 1).path(m.max_entries_per_folder);
        assert_ne!(h.snapshot().get(&by_b), files.get(&by_b), "B's own pack of the block");
        let before = h.ops();
        let e = join(&tmp.path().join("e"), &h);
        assert_eq!(e.list(None).unwrap().len(), 250);
        assert!(h.ops() - before < 120, "read from B's packs");

        // A pack whose keys are not the entries' (another device's bug, or damage): the single
        // files decide, and everything arrives.
        let bad = Memory::new("bad");
        for (path, bytes) in &files {
            bad.put_raw(path, bytes.clone());
        }
        let p = block(1, 0).path(m.max_entries_per_folder);
        let mut pack = files[&p].clone();
        let last = pack.len() - 1;
        pack[last] ^= 1; // the last entry's last byte, inside its age payload
        bad.put_raw(&p, pack);
        let d = join(&tmp.path().join("d"), &bad);
        assert_eq!(d.list(None).unwrap().len(), 250);
    }
}

#[cfg(test)]
mod fewer_files {
    use super::tests_support::*;
    use crate::format::manifest::Manifest;
    use crate::format::pack::Block;
    use crate::transport::{Memory, TargetKind};
    use crate::Workspace;

    /// The single files of entries `range` of `ws` that `f` holds.
    fn singles(ws: &Workspace, f: &Memory, range: std::ops::Range<u64>) -> usize {
        let m = Manifest::parse(&f.snapshot()["index.json"], "f").unwrap();
        let snap = f.snapshot();
        range
            .filter(|i| {
                snap.contains_key(&crate::sync::executor::entry_path(&m, &ws.client_id(), *i))
            })
            .count()
    }

    fn write(ws: &mut Workspace, f: &Memory, from: usize, to: usize) {
        for i in from..to {
            ws.new_note(&format!("n{i}"), "x").unwrap();
            ws.seal_pending(1, usize::MAX).unwrap();
        }
        let t = ws.targets().unwrap()[0].clone();
        let r = ws.sync_with(&[(&t, f)], &mut |_| {}).unwrap();
        assert!(r[0].problems.is_empty(), "{:?}", r[0].problems);
    }

    /// A workspace in `dir/a` with one entry, moved to fewer files, and its target.
    fn fewer_files_from_the_start(dir: &std::path::Path) -> (Memory, Workspace) {
        let f = Memory::new("f");
        let mut a = writer(&dir.join("a"), &f, 1);
        a.use_fewer_files().unwrap();
        (f, a)
    }

    fn sync(ws: &mut Workspace, f: &Memory) -> u64 {
        let t = ws.targets().unwrap()[0].clone();
        let r = ws.sync_with(&[(&t, f)], &mut |_| {}).unwrap();
        assert!(r[0].problems.is_empty(), "{:?}", r[0].problems);
        r[0].pulled
    }

    /// With fewer files, a whole block's single files leave the target once its pack is there;
    /// the target's index.json says so; a new device, a device that had read to the middle of a
    /// block, and a check of the target all find every entry (in the packs).
    #[test]
    fn packs_replace_the_single_files_they_cover() {
        let tmp = tempfile::tempdir().unwrap();
        let f = Memory::new("f");
        let mut a = writer(&tmp.path().join("a"), &f, 10);
        let mut b = join(&tmp.path().join("b"), &f);
        assert!(!a.fewer_files().unwrap());
        assert!(a.use_fewer_files().unwrap());
        assert!(!a.use_fewer_files().unwrap(), "already on");
        write(&mut a, &f, 10, 150);
        assert_eq!(Manifest::parse(&f.snapshot()["index.json"], "f").unwrap().format_version, 2);
        assert_eq!(singles(&a, &f, 0..100), 0, "block 0 is in its pack");
        assert_eq!(singles(&a, &f, 100..150), 50);
        // b learns the version from the target and reads block 0 from the pack, mid-block.
        assert_eq!(sync(&mut b, &f), 140);
        assert!(b.fewer_files().unwrap());
        write(&mut a, &f, 150, 250);
        assert_eq!(singles(&a, &f, 0..250), 50, "blocks 0 and 1 are packed, 200..249 are not");
        // b had read to 149: the rest of block 1 comes from its pack.
        assert_eq!(sync(&mut b, &f), 100);
        assert_eq!(b.list(None).unwrap().len(), 250);
        // An idle cycle finds nothing and says nothing.
        assert_eq!(sync(&mut b, &f), 0);
        let c = join(&tmp.path().join("c"), &f);
        assert_eq!(c.list(None).unwrap().len(), 250);
        let t = c.targets().unwrap()[0].clone();
        let v = c.verify_with(&t, &f, &mut |_, _| {}).unwrap();
        assert_eq!((v.entries, v.entries_ok), (250, 250), "{:?}", v.findings);
        // b writes too: its own block is packed and thinned by it, and a reads it.
        write(&mut b, &f, 0, 120);
        assert_eq!(singles(&b, &f, 0..120), 20);
        assert_eq!(sync(&mut a, &f), 120);
        assert_eq!(a.list(None).unwrap().len(), 370);
    }

    /// With fewer files, a block of 10,000 entries gets a level-2 pack, which replaces the
    /// level-1 packs written before it and the single files still there; a new device reads
    /// everything from it.
    #[test]
    fn a_level_2_pack_replaces_level_1_packs() {
        let tmp = tempfile::tempdir().unwrap();
        let (f, mut a) = fewer_files_from_the_start(tmp.path());
        crate::testing::set_durable(&a, false).unwrap();
        let note = a.new_note("typed into", "").unwrap();
        let type_and_sync = |a: &mut Workspace, n: usize| {
            for i in 0..n {
                let s = if i % 2 == 0 { "a" } else { "b" };
                a.splice_note(&note, crate::Field::Body, usize::MAX, 0, s).unwrap();
            }
            a.seal_pending(1, usize::MAX).unwrap();
            sync(a, &f);
        };
        type_and_sync(&mut a, 5_000);
        let m = Manifest::parse(&f.snapshot()["index.json"], "f").unwrap();
        let client = a.client_id();
        let at = |level, index| Block { client, level, index }.path(m.max_entries_per_folder);
        let packs = |level: u8| {
            let dir = format!("{}/packs/{level}/", client.hyphenated());
            f.snapshot().keys().filter(|p| p.starts_with(&dir)).count()
        };
        assert_eq!(packs(1), 50);
        assert_eq!(singles(&a, &f, 0..5_000), 0);
        type_and_sync(&mut a, 5_100);
        let head = crate::store::head(&a.replica.conn, &client).unwrap().unwrap().0;
        assert!(f.snapshot().contains_key(&at(2, 0)), "the level-2 pack");
        assert_eq!(
            (packs(2), packs(1)),
            (1, (head as usize + 1) / 100 - 100),
            "level 1 past it only"
        );
        assert_eq!(singles(&a, &f, 0..head + 1), (head as usize + 1) % 100);
        let b = join(&tmp.path().join("b"), &f);
        assert_eq!(b.note(&note.to_string()).unwrap().body.len(), 10_100);
    }

    /// Fewer files turned on in a workspace of 20,100 entries whose first level-2 pack in the
    /// target is not this device's (here: bytes nobody can open): the second level-2 pack
    /// replaces its level-1 packs and files, and the level-1 blocks under the first are still
    /// looked at one by one, so their files leave too; a new device reads everything.
    #[test]
    fn level_1_blocks_under_a_level_2_pack_that_is_not_ours_are_still_thinned() {
        let tmp = tempfile::tempdir().unwrap();
        let f = Memory::new("f");
        let mut a = writer(&tmp.path().join("a"), &f, 1);
        crate::testing::set_durable(&a, false).unwrap();
        let note = a.new_note("typed into", "").unwrap();
        for i in 0..20_099 {
            let s = if i % 2 == 0 { "a" } else { "b" };
            a.splice_note(&note, crate::Field::Body, usize::MAX, 0, s).unwrap();
        }
        a.seal_pending(1, usize::MAX).unwrap();
        sync(&mut a, &f);
        let m = Manifest::parse(&f.snapshot()["index.json"], "f").unwrap();
        let client = a.client_id();
        let at = |level, index| Block { client, level, index }.path(m.max_entries_per_folder);
        assert_eq!(singles(&a, &f, 0..20_100), 20_100, "no files removed before");
        f.put_raw(&at(2, 0), vec![7u8; 4096]);
        a.use_fewer_files().unwrap();
        sync(&mut a, &f);
        let snap = f.snapshot();
        assert!(snap.contains_key(&at(2, 1)), "the second level-2 pack");
        assert!(!snap.contains_key(&at(1, 150)), "a level-1 pack it replaced");
        assert!(snap.contains_key(&at(1, 50)), "a level-1 pack under the other");
        assert_eq!(singles(&a, &f, 0..20_100), 0, "every block's files left");
        let b = join(&tmp.path().join("b"), &f);
        assert_eq!(b.note(&note.to_string()).unwrap().body.len(), 20_099);
    }

    /// A cut at any point of the cycle that writes a block's last entries, its pack and removes
    /// its single files (FORMAT.md §11.1): whatever was readable before stays readable, and the
    /// writer's next cycle finishes the work.
    #[test]
    fn a_cut_anywhere_while_packing_and_removing_loses_nothing() {
        use crate::transport::Fault;
        let tmp = tempfile::tempdir().unwrap();
        let (f, mut a) = fewer_files_from_the_start(tmp.path());
        write(&mut a, &f, 1, 90);
        for i in 90..110 {
            a.new_note(&format!("n{i}"), "x").unwrap();
            a.seal_pending(1, usize::MAX).unwrap();
        }
        drop(a);
        // How many operations the whole cycle takes, on a copy.
        let copy = |k: u64| {
            let dir = tmp.path().join(format!("a{k}"));
            std::fs::create_dir_all(&dir).unwrap();
            for e in std::fs::read_dir(tmp.path().join("a")).unwrap().flatten() {
                std::fs::copy(e.path(), dir.join(e.file_name())).unwrap();
            }
            let g = Memory::new("f");
            for (p, b) in f.snapshot() {
                g.put_raw(&p, b);
            }
            (Workspace::open(&dir).unwrap(), g)
        };
        let (mut whole, g) = copy(u64::MAX);
        let t = whole.targets().unwrap()[0].clone();
        whole.sync_with(&[(&t, &g)], &mut |_| {}).unwrap();
        let ops = g.ops();
        assert_eq!(singles(&whole, &g, 0..110), 10, "the uncut cycle removes block 0's files");
        for k in (0..ops).step_by(7).chain([ops - 1]) {
            let (mut a, g) = copy(k);
            g.inject(Fault::CutAfter(k));
            let _ = a.sync_with(&[(&t, &g)], &mut |_| {});
            g.heal();
            let b = join(&tmp.path().join(format!("b{k}")), &g);
            let read = b.list(None).unwrap().len();
            assert!(read >= 90, "cut after {k} of {ops} operations: {read} notes readable");
            sync(&mut a, &g);
            assert_eq!(singles(&a, &g, 0..110), 10, "cut after {k}: the next cycle finishes");
            let mut b = b;
            sync(&mut b, &g);
            assert_eq!(b.list(None).unwrap().len(), 110, "cut after {k}");
        }
    }

    /// A pack damaged after it replaced its block's files (a disk, a sync tool): a reader says
    /// so in a sentence that names what to do, and a check on the device that has the entries
    /// writes them again, after which the reader reads on.
    #[test]
    fn a_damaged_pack_is_reported_and_repaired_by_a_check() {
        let tmp = tempfile::tempdir().unwrap();
        let (f, mut a) = fewer_files_from_the_start(tmp.path());
        write(&mut a, &f, 1, 150);
        let m = Manifest::parse(&f.snapshot()["index.json"], "f").unwrap();
        let path =
            Block { client: a.client_id(), level: 1, index: 0 }.path(m.max_entries_per_folder);
        let mut bytes = f.snapshot()[&path].clone();
        bytes[0] = b'X';
        f.put_raw(&path, bytes);
        let mut b = Workspace::join(
            &tmp.path().join("b"),
            TargetKind::Memory,
            &f,
            PASS,
            false,
            crate::workspace::system_clock(),
        )
        .unwrap();
        let t = b.targets().unwrap()[0].clone();
        let r = b.sync_with(&[(&t, &f)], &mut |_| {}).unwrap();
        let said = r[0].problems.join(" ");
        assert!(said.contains("malformed") && said.contains("resnotes verify"), "{said}");
        assert_eq!(b.list(None).unwrap().len(), 0);
        // The next cycles still say so, without downloading the pack again.
        let downloads = f.reads_of(&path);
        for _ in 0..2 {
            let r = b.sync_with(&[(&t, &f)], &mut |_| {}).unwrap();
            assert_eq!(r[0].problems.join(" "), said);
        }
        assert_eq!(f.reads_of(&path), downloads, "the damaged pack waits before it is read again");
        let ta = a.targets().unwrap()[0].clone();
        let v = a.verify_with(&ta, &f, &mut |_, _| {}).unwrap();
        assert_eq!(v.entries_ok, 50, "{:?}", v.findings);
        sync(&mut a, &f);
        assert_eq!(singles(&a, &f, 0..100), 100, "written again");
        sync(&mut b, &f);
        assert_eq!(b.list(None).unwrap().len(), 150);
    }

    /// A sync tool that brings back old single files after the pack replaced them (a restored
    /// copy, a delayed copy): same bytes, so every reader takes either, and nobody is told
    /// the folder went backwards.
    #[test]
    fn old_single_files_delivered_after_the_pack_change_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let (f, mut a) = fewer_files_from_the_start(tmp.path());
        write(&mut a, &f, 1, 99);
        let before = f.snapshot();
        write(&mut a, &f, 99, 130);
        assert_eq!(singles(&a, &f, 0..100), 0);
        for (p, b) in &before {
            if p.contains("/changes/") {
                f.put_raw(p, b.clone());
            }
        }
        assert_eq!(singles(&a, &f, 0..100), 99);
        let mut b = join(&tmp.path().join("b"), &f);
        assert_eq!(b.list(None).unwrap().len(), 130);
        write(&mut a, &f, 130, 140);
        assert_eq!(sync(&mut b, &f), 10);
    }

    /// A pack that is not whole (another device's, still being copied by a sync tool) is left
    /// alone and its block keeps its single files: no cut leaves an entry unreadable.
    #[test]
    fn a_cut_pack_removes_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let f = Memory::new("f");
        let mut a = writer(&tmp.path().join("a"), &f, 10);
        a.use_fewer_files().unwrap();
        let m = Manifest::parse(&f.snapshot()["index.json"], "f").unwrap();
        let block0 = Block { client: a.client_id(), level: 1, index: 0 };
        let path = block0.path(m.max_entries_per_folder);
        write(&mut a, &f, 10, 99);
        // What a whole pack would start with, cut: another device's copy arriving.
        f.put_raw(&path, b"RSNP\x01\x01".to_vec());
        write(&mut a, &f, 99, 130);
        assert_eq!(singles(&a, &f, 0..130), 130);
        let b = join(&tmp.path().join("b"), &f);
        assert_eq!(b.list(None).unwrap().len(), 130);
    }
}
