//! **Layer 3 — note documents**: a note as an Automerge document ([`note`], its schema), how
//! changes from the log become stored documents and list rows (`materialize`), and notes listed
//! from entry summaries whose documents are built only when needed (`lazy`), and the texts of
//! big notes kept so that they open at once (`texts`), and keeping the full-text index
//! current with the documents (`search_index`).
//!
//! Everything here is derived from the log and can be rebuilt from it; the SQL it needs lives
//! in [`crate::store`].

/// What can go wrong with a note's document or the log it is built from.
#[derive(Debug, thiserror::Error)]
pub enum DocError {
    /// Automerge could not read or change a note's document.
    #[error("a note could not be read or changed ({0}); if this keeps happening, run `resnotes rebuild`")]
    Automerge(String),
    /// This device's own data contradicts itself (an entry missing from the log, one that does
    /// not open with this device's key).
    #[error("this device's copy of the workspace is damaged ({0}); run `resnotes rebuild`, or join the workspace again")]
    Damaged(String),
}

pub(crate) mod bulk;
pub(crate) mod caught;
pub(crate) mod history;
pub(crate) mod lazy;
pub(crate) mod materialize;
pub(crate) mod merges;
pub mod note;
pub(crate) mod removals;
pub(crate) mod replica;
pub(crate) mod search_index;
pub(crate) mod texts;

pub use caught::quiet_caught_panics;
pub(crate) use replica::Replica;
pub(crate) use replica::DEVICE_KEY_FILE;
pub use replica::{system_clock, Clock, DB_FILE, KEY_FILE};
