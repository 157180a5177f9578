//! **Layer 5 — sync**: the pure plan of a cycle (`plan`: what to pull and push, from what this
//! device and a target are known to hold), the executor that carries it out over a
//! [`crate::transport::Transport`] (`executor`), the attachment cycle (`assets`), the watch
//! loop (`watch`: events, polling, backoff) and the supervisor that runs the notes loop and the
//! attachments loop side by side for both shells (`supervisor`).

pub(crate) mod assets;
pub(crate) mod executor;
mod key_wraps;
mod packs;
pub(crate) mod plan;
mod supervisor;
mod tally;
mod targets;
mod verify;
pub(crate) mod watch;

pub use assets::{AssetInfo, AssetTarget, Direction, DEFAULT_MAX_BYTES, PREVIEW_MAX_BYTES};
pub use executor::{SyncEvent, TargetReport, SEAL_MAX_BYTES, SEAL_MAX_CHANGES};
pub use supervisor::Supervisor;
pub use tally::Tally;
pub use verify::{Finding, FindingKind, Verification};
pub use watch::{Backoff, Control, Observer, SyncState, Wake, WatchOptions};
