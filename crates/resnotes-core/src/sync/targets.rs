//! The targets of a replica as the sync layer uses them: reading the configured targets,
//! reaching each through its transport (with this device's stored credentials), and one sync
//! cycle with all of them.

use crate::docs::Replica;
use crate::error::{Error, Result};
use crate::format::manifest::{Manifest, ManifestError};
use crate::store;
use crate::sync::{SyncEvent, TargetReport};
use crate::transport::{credentials, Target, TargetKind, Transport};

impl Replica {
    /// All targets, oldest first. A row of a kind this program does not know (written by a
    /// newer version) is left out rather than failing every sync.
    pub(crate) fn targets(&self) -> Result<Vec<Target>> {
        Ok(store::targets::all(&self.conn)?
            .into_iter()
            .filter_map(|row| {
                let kind = TargetKind::parse(&row.kind)?;
                Some(Target {
                    keep_attachments: row
                        .keep_assets
                        .unwrap_or_else(|| kind.keeps_attachments_by_default()),
                    id: row.id,
                    kind,
                    location: row.location,
                    username: row.username,
                })
            })
            .collect())
    }

    /// Finds a target by id, id prefix or location.
    pub(crate) fn find_target(&self, query: &str) -> Result<Target> {
        let all = self.targets()?;
        let hits: Vec<_> =
            all.iter().filter(|t| t.id.starts_with(query) || t.location == query).collect();
        match hits.as_slice() {
            [one] => Ok((*one).clone()),
            _ => Err(Error::NoSuchTarget(query.to_string())),
        }
    }

    /// Checks the `index.json` found at `location` against the copy this device keeps (pinned
    /// when it created, joined or first shared the workspace) and returns the pinned copy, which
    /// alone decides how entries are named and protected: a host that rewrites `index.json` (to
    /// turn encryption off, or to swap the key new devices receive) is refused, not followed. A
    /// device without a copy yet pins this one unless it contradicts the device's own key.
    /// The format version alone may differ, and the higher one is kept (FORMAT.md §11.1: a
    /// workspace moves to fewer files on one device, then on every device that meets it).
    pub(crate) fn pinned_manifest(&self, found: Manifest, location: &str) -> Result<Manifest> {
        found.check_workspace(&self.workspace, location)?;
        if let Some(text) = store::meta(&self.conn, "manifest")? {
            let pinned = Manifest::parse(text.as_bytes(), "this device's copy")?;
            found.check_pinned(&pinned, location)?;
            if found.format_version > pinned.format_version {
                store::set_meta(
                    &self.conn,
                    "manifest",
                    &String::from_utf8_lossy(&found.to_bytes()),
                )?;
                return Ok(found);
            }
            return Ok(pinned);
        }
        let contradiction = match (self.keys.epoch0().recipient(), found.is_encrypted()) {
            (Some(_), false) => {
                Some("it says the notes are not encrypted, but this workspace's are")
            }
            (None, true) => Some("it says the notes are encrypted, but this workspace's are not"),
            (Some(mine), true) if found.encryption.recipients.first() != Some(&mine) => {
                Some("its encryption key is not the one this workspace uses")
            }
            _ => None,
        };
        if let Some(what) = contradiction {
            return Err(
                ManifestError::Changed { location: location.into(), what: what.into() }.into()
            );
        }
        store::set_meta(&self.conn, "manifest", &String::from_utf8_lossy(&found.to_bytes()))?;
        Ok(found)
    }

    /// Opens the transport of a configured target (with its stored credentials).
    pub(crate) fn transport_for(&self, target: &Target) -> Result<Box<dyn Transport>> {
        let password = match target.kind {
            TargetKind::Webdav | TargetKind::S3 => credentials::load(&self.dir, &target.id),
            _ => None,
        };
        Ok(target.kind.connect(&target.location, target.username.clone(), password)?)
    }

    /// One sync cycle with every target: pull from all, then push to all, so entries pulled
    /// from one target are relayed to the others in the same cycle.
    pub(crate) fn sync_all(
        &mut self,
        on_event: &mut dyn FnMut(SyncEvent),
    ) -> Result<Vec<TargetReport>> {
        let mut usable = Vec::new();
        let mut broken = Vec::new();
        for t in self.targets()? {
            match self.transport_for(&t) {
                Ok(tr) => usable.push((t, tr)),
                Err(e) => {
                    let mut rep = TargetReport {
                        target: t.id.clone(),
                        location: t.location.clone(),
                        ..Default::default()
                    };
                    rep.fail(&e);
                    broken.push(rep)
                }
            }
        }
        let pairs: Vec<(&Target, &dyn Transport)> =
            usable.iter().map(|(t, tr)| (t, tr.as_ref())).collect();
        let mut reports = self.sync_with(&pairs, on_event)?;
        reports.extend(broken);
        Ok(reports)
    }
}
