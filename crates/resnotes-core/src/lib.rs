//! The Resilient Notes engine.
//!
//! Notes are Automerge documents; every local edit becomes an entry in this device's append-only
//! log (SQLite), sealed with age and authenticated with an HMAC keyed from the workspace secret.
//! Entries are exchanged verbatim with sync targets laid out as described in `FORMAT.md`
//! (Resilient Sync). Everything but the log is derived and can be rebuilt from it.

pub mod asset;
pub mod attachments;
mod chunks;
pub mod credentials;
pub mod crypto;
pub mod entry;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod manifest;
pub mod materialize;
pub mod note;
pub mod path;
pub mod plan;
pub mod setup;
pub mod status;
pub mod store;
pub mod sync;
pub mod transport;
pub mod unbuilt;
pub mod watch;
pub mod workspace;

pub use age;
pub use error::{Error, Result};
pub use sync::{SyncEvent, TargetReport};
pub use workspace::{Note, NoteSummary, Target, Workspace};
