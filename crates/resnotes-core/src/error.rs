//! Typed errors of the engine. Every message is one sentence that tells the user what happened
//! and, where possible, what to do.

use std::path::PathBuf;

/// Everything that can go wrong inside the engine.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The data dir has no workspace yet.
    #[error("no workspace in {0}: run `resnotes init` or `resnotes join --folder PATH` first")]
    NoWorkspace(PathBuf),
    /// `init`/`join` on a data dir that already has one.
    #[error("{0} already holds a workspace; use another --data-dir")]
    AlreadyInitialized(PathBuf),
    /// No note matches the id or prefix.
    #[error("no note matches id '{0}'")]
    NoSuchNote(String),
    /// More than one note matches a prefix.
    #[error("id prefix '{0}' matches several notes; type more characters")]
    AmbiguousId(String),
    /// No target matches.
    #[error("no sync target matches '{0}'; see `resnotes target list`")]
    NoSuchTarget(String),
    /// The target already exists.
    #[error("{0} is already a sync target")]
    DuplicateTarget(String),
    /// Wrong passphrase when unwrapping the workspace key.
    #[error("wrong passphrase for this workspace; nothing was changed")]
    WrongPassphrase,
    /// A passphrase is needed and none was given.
    #[error("a workspace passphrase is needed: set RESNOTES_PASSPHRASE or run in a terminal")]
    PassphraseNeeded,
    /// Passphrase too weak.
    #[error("the passphrase is too short: use at least {0} characters")]
    WeakPassphrase(usize),
    /// The folder holds another workspace.
    #[error("{location} belongs to another workspace ({found}); choose another folder")]
    ForeignWorkspace {
        /// Where it is (folder path or URL without credentials).
        location: String,
        /// The workspace id found there.
        found: String,
    },
    /// The folder holds no workspace.
    #[error("{0} holds no Resilient Notes workspace (no index.json); use `resnotes init --folder` to create one")]
    NotAWorkspace(String),
    /// `index.json` could not be understood.
    #[error("{location}/index.json is not a valid workspace description: {reason}")]
    BadManifest {
        /// Where it is (folder path or URL without credentials).
        location: String,
        /// Why, in plain words.
        reason: String,
    },
    /// A newer format than this program understands.
    #[error("{location} uses format version {version}, newer than this program understands (1); update Resilient Notes")]
    UnsupportedVersion {
        /// Where it is (folder path or URL without credentials).
        location: String,
        /// The version found.
        version: u64,
    },
    /// A folder target wants a non-empty folder to be created.
    #[error("{0} is not empty and holds no workspace; choose an empty folder")]
    FolderNotEmpty(String),
    /// The entry bytes could not be read.
    #[error(transparent)]
    Entry(#[from] crate::format::entry::EntryError),
    /// Transport failure.
    #[error(transparent)]
    Transport(#[from] crate::transport::TransportError),
    /// Encryption failure.
    #[error("encryption failed: {0}")]
    Crypto(String),
    /// The local key file is missing or damaged.
    #[error(
        "the workspace key in {0} is missing or damaged; restore it or join the workspace again"
    )]
    KeyFile(PathBuf),
    /// Invalid user input.
    #[error("{0}")]
    Invalid(String),
    /// Local database failure.
    #[error("local database error: {0}")]
    Db(rusqlite::Error),
    /// The disk holding the data dir is full.
    #[error("the disk holding this device's notes is full: free some space and try again (nothing saved before was lost)")]
    DiskFull,
    /// An attachment cannot be shown or saved (yet).
    #[error("the attachment {name} is not available: {reason}")]
    AssetUnavailable {
        /// The file name.
        name: String,
        /// Why, in plain words.
        reason: String,
    },
    /// Automerge failure.
    #[error("note document error: {0}")]
    Doc(String),
    /// Local file system error.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The operating system's error.
        source: std::io::Error,
    },
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DiskFull) => Error::DiskFull,
            _ => Error::Db(e),
        }
    }
}

impl Error {
    /// A short stable code for IPC and scripting (`{code, message}`).
    pub fn code(&self) -> &'static str {
        match self {
            Error::NoWorkspace(_) => "no_workspace",
            Error::AlreadyInitialized(_) => "already_initialized",
            Error::NoSuchNote(_) => "no_such_note",
            Error::AmbiguousId(_) => "ambiguous_id",
            Error::NoSuchTarget(_) => "no_such_target",
            Error::DuplicateTarget(_) => "duplicate_target",
            Error::WrongPassphrase => "wrong_passphrase",
            Error::PassphraseNeeded => "passphrase_needed",
            Error::WeakPassphrase(_) => "weak_passphrase",
            Error::ForeignWorkspace { .. } => "foreign_workspace",
            Error::NotAWorkspace(_) => "not_a_workspace",
            Error::BadManifest { .. } => "bad_manifest",
            Error::UnsupportedVersion { .. } => "unsupported_version",
            Error::FolderNotEmpty(_) => "folder_not_empty",
            Error::Entry(_) => "bad_entry",
            Error::Transport(_) => "transport",
            Error::Crypto(_) => "crypto",
            Error::KeyFile(_) => "key_file",
            Error::Invalid(_) => "invalid_input",
            Error::Db(_) => "database",
            Error::DiskFull => "disk_full",
            Error::AssetUnavailable { .. } => "asset_unavailable",
            Error::Doc(_) => "document",
            Error::Io { .. } => "io",
        }
    }

    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io { context: context.into(), source }
    }
}

/// Result with the engine's error.
pub type Result<T, E = Error> = std::result::Result<T, E>;
