//! **Layer 4 — transports**: moving bytes to and from a sync target. A transport knows paths and
//! bytes, nothing of notes: [`Folder`], [`WebDav`], [`S3`], and [`Memory`], an in-memory fake that
//! injects faults for tests. [`TargetKind`] names the kinds and is the one place that maps a
//! kind to its transport.

use std::path::Path;

use crate::format::manifest::Manifest;

pub(crate) mod credentials;
mod folder;
mod http;
mod kind;
mod memory;
mod s3;
mod webdav;

pub use folder::{is_temp_name, Folder};
pub use http::RetryPolicy;
pub use kind::{Target, TargetKind};
pub use memory::{Fault, Memory};
pub use s3::{
    aws_credentials, read_answers as s3_answers, Address as S3Address, MULTIPART_FROM, S3,
};
pub use webdav::{listing_names, redact, WebDav};

/// Reads and parses the target's `index.json` (FORMAT.md §3); `None` when it has none. Every
/// look at a target's workspace description goes through here.
pub(crate) fn read_manifest(t: &dyn Transport) -> crate::Result<Option<Manifest>> {
    match t.read("index.json")? {
        Some(bytes) => Ok(Some(Manifest::parse(&bytes, &t.location())?)),
        None => Ok(None),
    }
}

/// A failure of the local side of a transfer (the device's own disk).
pub(crate) fn local_failure(
    t: &(impl Transport + ?Sized),
    op: &'static str,
    path: &str,
    e: std::io::Error,
) -> TransportError {
    TransportError::Failed {
        location: t.location(),
        op,
        path: path.to_string(),
        reason: format!("on this device: {e}"),
    }
}

/// What an existing file at an upload's path means, from its length (FORMAT.md §10.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AtPath {
    /// Nothing there: write it.
    Nothing,
    /// Same length: the same sealed file (the folder transport compares bytes too).
    SameLength,
    /// Shorter: a cut-off copy, replaced whole.
    CutOff,
    /// Longer: other bytes, a conflict left alone.
    Longer,
}

impl AtPath {
    /// Classifies the length of the file at the path (`None`: no file) against ours.
    pub(crate) fn of(existing: Option<u64>, ours: u64) -> Self {
        match existing {
            None => AtPath::Nothing,
            Some(n) if n == ours => AtPath::SameLength,
            Some(n) if n < ours => AtPath::CutOff,
            Some(_) => AtPath::Longer,
        }
    }
}

/// A file on the target is longer than the asset it should hold can be.
/// Largest file [`Transport::read`] returns whole: the largest entry a reader accepts. A bigger
/// file in a shared folder or on a server is refused before it is loaded, so it cannot exhaust
/// memory; attachments are streamed with their own limit instead.
pub const MAX_READ_BYTES: u64 = crate::format::entry::MAX_ENTRY_BYTES as u64;

pub(crate) fn too_large(t: &(impl Transport + ?Sized), path: &str, limit: u64) -> TransportError {
    TransportError::Failed {
        location: t.location(),
        op: "read",
        path: path.to_string(),
        reason: format!(
            "the file is larger than the {limit} bytes it can be; it was not downloaded"
        ),
    }
}

/// A transport failure. Entries are never lost by one: the cycle is retried later.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TransportError {
    /// Cannot reach the target (folder missing / unmounted, server down).
    #[error("{location} is not reachable: {reason}")]
    Unreachable {
        /// Where it is (folder path or URL without credentials).
        location: String,
        /// Why, in plain words.
        reason: String,
    },
    /// A read or write failed.
    #[error("{op} {path} on {location} failed: {reason}")]
    Failed {
        /// Where it is (folder path or URL without credentials).
        location: String,
        /// The operation that failed.
        op: &'static str,
        /// The path on the target.
        path: String,
        /// Why, in plain words.
        reason: String,
    },
    /// The target already holds other bytes under a name we want to write.
    #[error(
        "{location} holds different bytes for {path} than this device; the file was left untouched"
    )]
    Conflict {
        /// Where it is (folder path or URL without credentials).
        location: String,
        /// The path on the target.
        path: String,
    },
}

/// What writing an entry did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// The file is new.
    Created,
    /// The same bytes were already there.
    AlreadyPresent,
}

/// A sync target's storage: relative `/`-separated paths, whole files, append-only.
pub trait Transport: Send + Sync {
    /// Human-readable location (folder path or URL without credentials).
    fn location(&self) -> String;
    /// User name and password this device needs to reach the target (none for folders).
    fn credentials(&self) -> (Option<String>, Option<String>) {
        (None, None)
    }
    /// Checks that the target is reachable (the root exists).
    fn check(&self) -> Result<(), TransportError>;
    /// Creates the target's root when it is missing but its parent exists (a new shared
    /// workspace in a folder the user named); a missing parent is [`TransportError::Unreachable`]
    /// naming it. The default only checks.
    fn create_root(&self) -> Result<(), TransportError> {
        self.check()
    }
    /// Reads a whole file of at most [`MAX_READ_BYTES`]; `None` when it does not exist. Anything
    /// that is not a plain file of that size (bigger, a link, a device, a pipe) is an error.
    fn read(&self, path: &str) -> Result<Option<Vec<u8>>, TransportError>;
    /// True when a file exists.
    fn exists(&self, path: &str) -> Result<bool, TransportError>;
    /// Names directly inside a folder (`""` is the root); empty when the folder is missing.
    fn list(&self, dir: &str) -> Result<Vec<String>, TransportError>;
    /// Writes a new file atomically, creating parent folders. Never overwrites different bytes:
    /// returns [`TransportError::Conflict`] instead.
    fn write_new(&self, path: &str, bytes: &[u8]) -> Result<Written, TransportError>;
    /// Replaces a file whole, atomically where the target allows: only for a file that is known
    /// not to be what belongs at its name (a forged entry where this device holds the real one,
    /// FORMAT.md §6.1). Every other write goes through [`Transport::write_new`].
    fn overwrite(&self, path: &str, bytes: &[u8]) -> Result<(), TransportError>;
    /// Removes a file; false when it was not there (someone removed it first). Only for files
    /// that are not part of any log — an invitation used or expired (FORMAT.md §3.1), the
    /// passphrase wrap of an older key epoch (§5.2) — and, in a workspace with fewer files
    /// (§11.1), entry files and packs that a durable pack there holds; assets are never removed.
    fn remove(&self, path: &str) -> Result<bool, TransportError>;
    /// Makes a file that is there durable (on a local disk: flushed, with its folder), before
    /// files it stands for are removed (FORMAT.md §11.1): a pack another device wrote may have
    /// been copied in by a sync tool and not flushed yet. Servers answer writes once they are
    /// stored: nothing to do.
    fn make_durable(&self, _path: &str) -> Result<(), TransportError> {
        Ok(())
    }
    /// Reads several files (`None` for missing ones), in order; WebDAV fetches them in parallel.
    fn read_many(&self, paths: &[String]) -> Vec<Result<Option<Vec<u8>>, TransportError>> {
        paths.iter().map(|p| self.read(p)).collect()
    }
    /// How many entries a reader should ask for at once (1 for local folders).
    fn read_ahead(&self) -> usize {
        1
    }
    /// Length of a file in bytes; `None` when it does not exist.
    fn size(&self, path: &str) -> Result<Option<u64>, TransportError> {
        Ok(self.read(path)?.map(|b| b.len() as u64))
    }
    /// Streams a file into the local file `dest` (created or truncated; a retry starts over);
    /// false when the file does not exist. A file longer than `limit` bytes is refused before it
    /// fills the disk. `progress` is called with the bytes received so far.
    fn download(
        &self,
        path: &str,
        dest: &Path,
        limit: u64,
        progress: &mut dyn FnMut(u64),
    ) -> Result<bool, TransportError> {
        let Some(bytes) = self.read(path)? else { return Ok(false) };
        if bytes.len() as u64 > limit {
            return Err(too_large(self, path, limit));
        }
        std::fs::write(dest, &bytes).map_err(|e| local_failure(self, "save", path, e))?;
        progress(bytes.len() as u64);
        Ok(true)
    }
    /// Uploads the local file `src` as a new file, streaming (large attachments). Like
    /// [`Transport::write_new`] it never overwrites other bytes: an existing file of the same
    /// length is taken as already there, a shorter one as a cut-off upload that is replaced,
    /// a longer one is a [`TransportError::Conflict`].
    fn upload(
        &self,
        path: &str,
        src: &Path,
        progress: &mut dyn FnMut(u64),
    ) -> Result<Written, TransportError> {
        let bytes =
            std::fs::read(src).map_err(|e| local_failure(self, "read local copy of", path, e))?;
        let w = self.write_new(path, &bytes)?;
        progress(bytes.len() as u64);
        Ok(w)
    }
    /// Writes several new files; the folder transport fsyncs them as a batch.
    fn write_batch(&self, files: &[(String, Vec<u8>)]) -> Vec<Result<Written, TransportError>> {
        files.iter().map(|(p, b)| self.write_new(p, b)).collect()
    }
}
