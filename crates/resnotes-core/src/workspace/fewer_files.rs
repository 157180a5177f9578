//! Fewer files in the sync folders and servers (FORMAT.md §11.1): once every device runs a
//! version that reads packs when an entry's file is missing, the single files a pack covers
//! can be removed, so a workspace used for years holds hundreds of files instead of one per
//! sync. The choice is the user's, made once, for the whole workspace: it is the format
//! version of `index.json`, which each target learns at its next sync with this device.

use crate::error::{Error, Result};
use crate::format::manifest::{self, Manifest};
use crate::store;
use crate::workspace::Workspace;

impl Workspace {
    /// Whether this workspace removes from its targets the single files packs cover.
    pub fn fewer_files(&self) -> Result<bool> {
        Ok(self.pinned_manifest()?.is_some_and(|m| m.fewer_files()))
    }

    /// Moves this workspace to fewer files: from its next sync with each target, this device
    /// (and every device that meets the change there) removes the single files of each block
    /// whose pack the target holds and that it found to hold its own copy. It cannot be undone
    /// (readers then need the packs), and a device running an older Resilient Notes asks to be
    /// updated instead of syncing. False when it was already on.
    pub fn use_fewer_files(&mut self) -> Result<bool> {
        let Some(mut m) = self.pinned_manifest()? else {
            return Err(Error::Invalid(
                "this workspace has no sync folder or server yet: add one first, then choose fewer files.".into(),
            ));
        };
        if !m.is_encrypted() {
            return Err(Error::Invalid(
                "packs are made only in an encrypted workspace, so an unencrypted one keeps a file per sync.".into(),
            ));
        }
        if m.fewer_files() {
            return Ok(false);
        }
        m.format_version = manifest::FEWER_FILES;
        store::set_meta(&self.replica.conn, "manifest", &String::from_utf8_lossy(&m.to_bytes()))?;
        Ok(true)
    }

    /// The `index.json` this device keeps, once it has one.
    fn pinned_manifest(&self) -> Result<Option<Manifest>> {
        store::meta(&self.replica.conn, "manifest")?
            .map(|text| Manifest::parse(text.as_bytes(), "this device's copy"))
            .transpose()
            .map_err(Into::into)
    }
}
