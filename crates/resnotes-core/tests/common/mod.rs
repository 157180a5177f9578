//! What the vector replays share (`tests/vectors.rs`, `tests/epochs.rs`, `tests/pack_vectors.rs`): where `vectors/` is,
//! hex both ways, a JSON file of it, and the vectors' fixed ids.

use std::fs;
use std::path::PathBuf;

use serde_json::Value;

/// The vectors' workspace.
pub const WORKSPACE: &str = "6f1c2a3b-4d5e-4f60-8172-839405a6b7c8";
/// The vectors' device (`vectors/device-key.txt` signs its entries from entry-7 on).
pub const CLIENT: &str = "3f2a1c4e-9b8d-4e7f-a6b5-c4d3e2f1a0b9";
/// The vectors' note.
pub const NOTE: &str = "0d7e3c2b-1a09-4f8e-9d6c-5b4a39281706";
/// Another device (named by entry-3's clock; a member of the epoch vectors' record).
pub const OTHER: &str = "9c8b7a69-5847-4362-a514-0f1e2d3c4b5a";

/// `vectors/` at the repository's root.
pub fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../vectors")
}

/// Lowercase hex.
pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Bytes of lowercase hex.
pub fn unhex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

/// A JSON file under `vectors/`.
pub fn read_json(name: &str) -> Value {
    serde_json::from_slice(&fs::read(dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}")))
        .unwrap()
}
