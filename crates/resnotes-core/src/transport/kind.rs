//! The kinds of sync target and a configured target: the one place that maps a kind to the
//! transport that reaches it ([`TargetKind::connect`]). Adding a kind of target is a variant
//! here plus its transport module; nothing else in the engine or the shells names a kind.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::{Folder, Transport, TransportError, WebDav, S3};

/// What a target is: stored in the targets table by its [`TargetKind::as_str`] name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    /// A local, mounted or synced folder (Dropbox, Syncthing, a USB stick, a network share).
    Folder,
    /// A collection on a WebDAV server.
    Webdav,
    /// A bucket (and prefix) of an S3-compatible object store.
    S3,
    /// The in-memory fake of tests ([`super::Memory`]): never reachable by location.
    Memory,
}

impl TargetKind {
    /// The name stored in the database and shown in `target list`.
    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::Folder => "folder",
            TargetKind::Webdav => "webdav",
            TargetKind::S3 => "s3",
            TargetKind::Memory => "memory",
        }
    }

    /// The kind named `name` (as stored), if it is one.
    pub fn parse(name: &str) -> Option<Self> {
        [TargetKind::Folder, TargetKind::Webdav, TargetKind::S3, TargetKind::Memory]
            .into_iter()
            .find(|k| k.as_str() == name)
    }

    /// Whether "keep all attachments offline" starts on for a new target of this kind: on for
    /// folders (the files are on this machine's disks anyway), off for servers (metered links).
    pub fn keeps_attachments_by_default(self) -> bool {
        matches!(self, TargetKind::Folder)
    }

    /// The local folder to watch for changes of a target at `location`, for kinds whose files
    /// change under this machine's eyes (others are polled).
    pub fn watched_folder(self, location: &str) -> Option<PathBuf> {
        matches!(self, TargetKind::Folder).then(|| PathBuf::from(location))
    }

    /// The transport reaching a target of this kind at `location` with the given credentials
    /// (for S3: access key and secret key; without them, those of the standard AWS environment
    /// variables or profile file, [`super::aws_credentials`]). Checks the location's form, not
    /// the connection.
    pub fn connect(
        self,
        location: &str,
        username: Option<String>,
        password: Option<String>,
    ) -> Result<Box<dyn Transport>, TransportError> {
        match self {
            TargetKind::Folder => Ok(Box::new(Folder::new(location))),
            TargetKind::Webdav => Ok(Box::new(WebDav::new(location, username, password)?)),
            TargetKind::S3 => {
                // An access key given (even without its secret, an error then) is the only one
                // used: never silently another account's from the environment.
                if username.is_some() || password.is_some() {
                    return Ok(Box::new(S3::new(location, username, password)?));
                }
                let home = directories::BaseDirs::new().map(|d| d.home_dir().to_path_buf());
                let found =
                    super::aws_credentials(&|n| std::env::var(n).ok(), home.as_deref(), &|p| {
                        std::fs::read_to_string(p).ok()
                    });
                Ok(Box::new(match found {
                    Some((key, secret, token)) => {
                        S3::new(location, Some(key), Some(secret))?.with_session_token(token)
                    }
                    None => S3::new(location, None, None)?,
                }))
            }
            TargetKind::Memory => Err(TransportError::Unreachable {
                location: location.to_string(),
                reason: "an in-memory target exists only inside the test that made it".into(),
            }),
        }
    }
}

/// A configured sync target of this device.
#[derive(Clone, Debug, Serialize, PartialEq, Eq, TS)]
pub struct Target {
    /// Short id used by `target remove`.
    pub id: String,
    /// What it is.
    pub kind: TargetKind,
    /// Folder path or URL (never with credentials).
    pub location: String,
    /// User name, if the target needs one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Whether every attachment is downloaded from this target in the background ("keep all
    /// attachments offline"; default from [`TargetKind::keeps_attachments_by_default`]). When
    /// off, attachments are fetched when a note showing them is opened.
    pub keep_attachments: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_are_refused() {
        for k in [TargetKind::Folder, TargetKind::Webdav, TargetKind::S3, TargetKind::Memory] {
            assert_eq!(TargetKind::parse(k.as_str()), Some(k));
            assert_eq!(serde_json::to_string(&k).unwrap(), format!("\"{}\"", k.as_str()));
        }
        assert_eq!(TargetKind::parse("ftp"), None);
        assert!(TargetKind::Memory.connect("memory:x", None, None).is_err());
        assert!(TargetKind::Webdav.connect("ftp://x", None, None).is_err());
        assert!(TargetKind::S3.connect("https://bucket", None, None).is_err());
    }
}
