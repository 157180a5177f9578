//! The Resilient Notes engine: everything the desktop app and the `resnotes` command line do,
//! without either of them.
//!
//! Notes are Automerge documents. Every local edit becomes Automerge changes in this device's
//! append-only log (SQLite); sealed into entries (age-encrypted, HMAC-authenticated), they are
//! exchanged verbatim with sync targets — shared folders, WebDAV servers, S3 buckets — laid out as
//! `FORMAT.md` (Resilient Sync) specifies. The log is the truth: every other table is derived
//! from it and [`Workspace::rebuild`] makes them again.
//!
//! # Using it
//!
//! A shell opens the [`Workspace`] of a data dir and calls it:
//!
//! ```no_run
//! use resnotes_core::{system_clock, Workspace};
//! # fn main() -> resnotes_core::Result<()> {
//! let dir = std::path::Path::new("/tmp/device-a");
//! let mut ws = Workspace::init(dir, false, system_clock())?;
//! let id = ws.new_note("Trip", "pack socks")?;
//! assert_eq!(ws.note(&id.to_string())?.body, "pack socks");
//! let reports = ws.sync_all(&mut |_event| {})?; // no targets yet: nothing to do
//! assert!(reports.is_empty());
//! # Ok(()) }
//! ```
//!
//! Background sync (the app, `resnotes sync --watch`) is [`Supervisor`]: the notes loop and the
//! attachments loop on their own connections, reporting through an [`Observer`].
//!
//! Every error is an [`Error`] whose message is one sentence a user can act on, with a stable
//! [`Error::code`] for the app. Each layer has its own error type — [`format::crypto::CryptoError`],
//! [`format::manifest::ManifestError`], [`format::entry::EntryError`], [`StoreError`],
//! [`DocError`], [`transport::TransportError`] — which [`Error`] wraps.
//!
//! # Layers
//!
//! Dependencies run one way, from the bottom up; each layer is a folder:
//!
//! 1. [`format`] — the exchange format as pure functions over bytes (entries, attachments,
//!    `index.json`, paths, keys, device signatures, setup codes). Public: it is the contract a
//!    second implementation follows.
//! 2. `store` — the SQLite database and every SQL statement of the engine, by table: `log`
//!    (the log and its unsealed tail), `notes` (rows, documents, the note index), `notebooks`
//!    (their rows and note counts), `search` (the full-text index), `targets`, `assets`,
//!    `claims` (entries other devices' clocks say exist), `packs` (entries' file keys, and
//!    which packs each target holds); schema and migrations in `store/mod.rs`.
//! 3. `docs` — note documents: the schema ([`note`]), applying changes (`materialize`), notes
//!    listed from summaries before their documents are built (`lazy`), new notes made in bulk
//!    with their change written directly (`bulk`, for imports), and `Replica`: this
//!    device's database, identity, workspace key, signing key, clock and document cache, with
//!    local edits and sealing (every entry signed by this device).
//!    Every layer above runs on a replica.
//! 4. [`transport`] — moving bytes to and from a target: one trait, a [`TargetKind`] per kind of
//!    target (folder, WebDAV, S3; what HTTP targets share in `transport/http.rs`), an in-memory
//!    fake with faults for tests, the stored credentials.
//! 5. `sync` — the pure plan of a cycle (`plan`), its executor, packs written and read during
//!    a cycle (`packs`), the attachment cycle, the targets of a replica, the watch loop and the
//!    [`Supervisor`]: all `impl Replica`.
//! 6. `workspace` — what a shell calls: [`Workspace`] wraps a replica and adds notes, targets,
//!    [`diagnostics`] for bug reports,
//!    setup ([`setup`]), status and details, `devices` (names, who signs) and `invite` (setup
//!    codes for new devices); organizing notes (`organize`: pins, tags, sort,
//!    trash), `notebooks` (and how their tree is arranged the same on every device),
//!    `links`, `history`, and notes brought in and taken out: `import` (a Markdown folder,
//!    Joplin's JEX, Evernote's ENEX; each format's reader a pure module beside it) and
//!    `export` (a Markdown folder).
//!
//! No module calls one above it; the tests of a lower module may use a higher one.
//!
//! # Where things go
//!
//! - **A new kind of target** (as S3 was): one file in `transport/` implementing [`Transport`],
//!   one [`TargetKind`] variant, and its constructor in [`TargetKind::connect`] — the one place
//!   that maps a kind to a transport. Nothing else names a kind.
//! - **A new field of a note** (say tags): the document schema in `docs/note.rs`, its column
//!   and queries in `store/notes.rs` (and a migration in `store/mod.rs`), the list row in
//!   `workspace/`; if other devices must understand it, `FORMAT.md` and `vectors/` in the same
//!   commit.
//! - **A new import format**: a reader in `workspace/import/` that turns the file into notes
//!   (pure: bytes in, notes and one-sentence problems out, hostile input refused), written by
//!   the importer's `write_notes`; its `source` form in `FORMAT.md` §4.3 (how a re-import
//!   recognises a note), and the `import_file` fuzz target fed to it.
//! - **A new error a user can see**: a variant of the error type of the layer that finds it,
//!   with a message that says what to do, and its code in [`Error::code`].
//! - **A new CLI command**: one subcommand and one small function in `crates/resnotes-cli` that
//!   parses arguments, calls a [`Workspace`] method and prints; the work itself goes in the
//!   layer that owns its data.
//! - **A new app command**: one `#[tauri::command]` of a few lines in `src-tauri/src/commands.rs`
//!   that calls the same method, and its binding in `ui/src/ipc.ts`.

#![deny(missing_docs)]
#![warn(unreachable_pub)]

mod docs;
mod error;
pub mod format;
#[doc(hidden)]
pub mod fuzzing;
mod store;
mod sync;
#[doc(hidden)]
pub mod testing;
pub mod transport;
mod workspace;

pub use age;
pub use docs::note;
pub use docs::quiet_caught_panics;
pub use docs::DocError;
pub use error::{Error, Result};
pub use format::asset::AssetRef;
pub use store::StoreError;
pub use sync::{
    AssetInfo, AssetTarget, Backoff, Control, Direction, Finding, FindingKind, Observer,
    Supervisor, SyncEvent, SyncState, Tally, TargetReport, Verification, Wake, WatchOptions,
    DEFAULT_MAX_BYTES, PREVIEW_MAX_BYTES, SEAL_MAX_BYTES, SEAL_MAX_CHANGES,
};
pub use transport::{Target, TargetKind, Transport};
pub use workspace::diagnostics;
pub use workspace::setup::{self, Contents, Strength, TargetSpec};
pub use workspace::status::{
    EntryProblem, EntryState, LeftOut, LogItem, Status, TargetStatus, Withheld, WITHHELD_AFTER_MS,
};
pub use workspace::{
    check_new_shared_folder, check_passphrase, default_data_dir, needs_passphrase, scrypt_log_n,
    system_clock, word_diff, Activity, CalendarTime, Changed, Clock, Comparison, Device, DiffKind,
    DiffPart, Edited, ExportReport, ExportScope, Field, FileProblem, ImportReport, LinkState,
    LinkedNote, ListQuery, MergedText, Note, NoteSummary, Notebook, Notebooks, PassphraseChanged,
    Place, Progress, SearchProgress, SnippetPart, Sort, Stage, TagCount, TextSplice, Version,
    VersionText, Workspace, DB_FILE, DEFAULT_INVITE_MS, DEFAULT_NOTEBOOK, DEFAULT_SCRYPT_LOG_N,
    KEY_FILE, SESSION_GAP_MS, TRASH_DAYS,
};
pub use workspace::{Storage, StoredEntry};
