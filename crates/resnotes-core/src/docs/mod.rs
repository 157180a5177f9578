//! **Layer 3 — note documents**: a note as an Automerge document ([`note`], its schema), how
//! changes from the log become stored documents and list rows (`materialize`), and notes listed
//! from entry summaries whose documents are built only when needed (`lazy`).
//!
//! Everything here is derived from the log and can be rebuilt from it; the SQL it needs lives
//! in [`crate::store`].

pub(crate) mod lazy;
pub(crate) mod materialize;
pub mod note;
pub(crate) mod replica;

pub(crate) use replica::Replica;
pub use replica::{system_clock, Clock, DB_FILE, KEY_FILE};
