//! The engine's error: what each layer's own error type becomes at the surface (automerge's
//! pattern: one type per layer — `CryptoError`, `ManifestError`, `EntryError`, `StoreError`,
//! `DocError`, `TransportError` — wrapped here with `#[from]`), plus what only the workspace
//! knows (no such note, a folder that is not empty, …). Every message is one sentence that
//! tells the user what happened and what to do; [`Error::code`] is stable for the app.

use std::path::PathBuf;

use crate::docs::DocError;
use crate::format::crypto::CryptoError;
use crate::format::manifest::ManifestError;
use crate::store::StoreError;

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
    /// No notebook has that name, path or id.
    #[error("no notebook is called \"{0}\"; see the list of notebooks (`resnotes notebook list`)")]
    NoSuchNotebook(String),
    /// No target matches.
    #[error("no sync target matches '{0}'; see `resnotes target list`")]
    NoSuchTarget(String),
    /// The target already exists.
    #[error("{0} is already a sync target")]
    DuplicateTarget(String),
    /// A passphrase is needed and none was given.
    #[error("a workspace passphrase is needed: set RESNOTES_PASSPHRASE or run in a terminal")]
    PassphraseNeeded,
    /// The passphrase opens only the keys of before a passphrase change (FORMAT.md §5.2).
    #[error("this is the workspace's old passphrase: it was changed on one of your devices, so type the new one")]
    OldPassphrase,
    /// Passphrase too short or too easy to guess (the sentence says why and what to do).
    #[error("{0}")]
    WeakPassphrase(String),
    /// Joining a workspace that is not encrypted needs the user's explicit choice.
    #[error("the workspace in {0} is not encrypted: anyone who can read that folder can read every note, including the ones this device adds; join it only if you trust everyone with access to it (resnotes join --plaintext)")]
    PlaintextWorkspace(String),
    /// The folder holds no workspace.
    #[error("{0} holds no Resilient Notes workspace (no index.json); use `resnotes init --folder` to create one")]
    NotAWorkspace(String),
    /// A folder target wants a non-empty folder to be created.
    #[error("{0} is not empty and holds no workspace; choose an empty folder")]
    FolderNotEmpty(String),
    /// The entry bytes could not be read.
    #[error(transparent)]
    Entry(#[from] crate::format::entry::EntryError),
    /// Transport failure.
    #[error(transparent)]
    Transport(#[from] crate::transport::TransportError),
    /// The workspace key or the passphrase wrapping it.
    #[error(transparent)]
    Crypto(#[from] crate::format::crypto::CryptoError),
    /// `index.json` of a target.
    #[error(transparent)]
    Manifest(#[from] crate::format::manifest::ManifestError),
    /// A setup code or its invitation file.
    #[error(transparent)]
    Invite(#[from] crate::format::invite::InviteError),
    /// The local key file is missing or damaged.
    #[error(
        "this device's workspace key (in the system keyring, or in {0}) is missing or damaged; unlock the keyring, restore the file, or join the workspace again"
    )]
    KeyFile(PathBuf),
    /// This device's signing key is missing or damaged after it signed entries (FORMAT.md §5.1):
    /// a new key would make every later entry of this device refused by the others.
    #[error(
        "this device's signing key (in the system keyring, or in {0}) is missing or damaged, and the changes it already shared were signed with it; unlock the keyring or restore the file, or join the workspace again as a new device"
    )]
    DeviceKey(PathBuf),
    /// Invalid user input.
    #[error("{0}")]
    Invalid(String),
    /// The user stopped a long operation (an import) before its end.
    #[error("stopped before the end")]
    Stopped,
    /// This device's database.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// A note's document or the log it is built from.
    #[error(transparent)]
    Doc(#[from] crate::docs::DocError),
    /// The disk holding the data dir is full (writing a file; the database's own disk-full is
    /// [`crate::store::StoreError::DiskFull`]).
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
        Error::Store(e.into())
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
            Error::NoSuchNotebook(_) => "no_such_notebook",
            Error::NoSuchTarget(_) => "no_such_target",
            Error::DuplicateTarget(_) => "duplicate_target",
            Error::PassphraseNeeded => "passphrase_needed",
            Error::OldPassphrase => "old_passphrase",
            Error::WeakPassphrase(_) => "weak_passphrase",
            Error::NotAWorkspace(_) => "not_a_workspace",
            Error::FolderNotEmpty(_) => "folder_not_empty",
            Error::Entry(_) => "bad_entry",
            Error::Transport(_) => "transport",
            Error::Crypto(CryptoError::WrongPassphrase) => "wrong_passphrase",
            Error::Crypto(_) => "crypto",
            Error::Manifest(ManifestError::Bad { .. }) => "bad_manifest",
            Error::Manifest(ManifestError::UnsupportedVersion { .. }) => "unsupported_version",
            Error::Manifest(ManifestError::ForeignWorkspace { .. }) => "foreign_workspace",
            Error::Manifest(ManifestError::Changed { .. }) => "manifest_changed",
            Error::Invite(_) => "bad_setup_code",
            Error::PlaintextWorkspace(_) => "plaintext_workspace",
            Error::KeyFile(_) => "key_file",
            Error::DeviceKey(_) => "device_key",
            Error::Invalid(_) => "invalid_input",
            Error::Stopped => "stopped",
            Error::Store(StoreError::DiskFull) | Error::DiskFull => "disk_full",
            Error::Store(StoreError::Db(_)) => "database",
            Error::Store(StoreError::Newer) => "newer_version",
            Error::Doc(DocError::Automerge(_)) => "document",
            Error::Doc(DocError::Damaged(_)) => "damaged_local_data",
            Error::AssetUnavailable { .. } => "asset_unavailable",
            Error::Io { .. } => "io",
        }
    }

    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io { context: context.into(), source }
    }
}

/// Result with the engine's error.
pub type Result<T, E = Error> = std::result::Result<T, E>;
