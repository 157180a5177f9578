//! **Layer 1 — the exchange format** (FORMAT.md): everything a second implementation must
//! reproduce byte for byte, as pure functions over bytes. No SQLite, no files, no network.
//!
//! - [`entry`]: the versioned entry envelope, its hash chain, MAC, payload and summaries (§4–§6);
//! - [`asset`]: attachment files and `asset:///` links (§10);
//! - [`manifest`]: `index.json` (§3);
//! - [`invite`]: setup codes and the invitation files they open (§3.1);
//! - [`path`]: `distributedFilePath` and where every file of a target lives (§2);
//! - [`crypto`]: the workspace key, entry sealing with age, the passphrase wrap (§3, §5);
//! - [`signature`]: each device's own signing key and the entry signatures made with it (§5.1);
//! - [`epoch`]: key epochs, the records that start them and the keyring a reader holds (§5.2);
//! - [`pack`]: packs, a whole block of a client's entries in one file with their file keys (§11);
//! - `chunk`: the structural check of Automerge change chunks a reader runs before accepting
//!   an entry (§6).
//!
//! These modules are public because the format is a public contract: the test vectors, the
//! fuzz targets and anyone writing a reader use them directly.

pub mod asset;
pub mod chunk;
pub mod crypto;
pub mod entry;
pub mod epoch;
pub mod invite;
pub mod manifest;
pub mod pack;
pub mod path;
pub mod signature;
pub(crate) mod stream;
