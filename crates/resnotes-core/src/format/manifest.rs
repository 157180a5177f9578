//! `index.json`: the workspace description written once at the root of every target.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Why an `index.json` was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// `index.json` could not be understood.
    #[error("{location}/index.json is not a valid workspace description: {reason}")]
    Bad {
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
    /// The folder holds another workspace.
    #[error("{location} belongs to another workspace ({found}); choose another folder")]
    ForeignWorkspace {
        /// Where it is (folder path or URL without credentials).
        location: String,
        /// The workspace id found there.
        found: String,
    },
    /// A target's `index.json` differs from the copy this device pinned when it joined or
    /// shared the workspace: the host (or someone with access) rewrote it.
    #[error("the index.json in {location} was changed ({what}); this device stopped syncing with it so nothing is sent there unprotected. If nobody you trust changed it, delete that index.json and this device will write its own copy back at the next sync")]
    Changed {
        /// Where it is (folder path or URL without credentials).
        location: String,
        /// What differs, in plain words.
        what: String,
    },
}

/// Result of reading a manifest.
pub type Result<T, E = ManifestError> = std::result::Result<T, E>;

/// Value of the `format` field.
pub const FORMAT_NAME: &str = "resilient-sync";
/// The newest format version this program reads and writes (it reads and writes every earlier
/// one too). A new workspace is written with version 1; [`FEWER_FILES`] is chosen by a user.
pub const FORMAT_VERSION: u64 = 2;
/// The version from which the single files a pack covers may be removed from a target
/// (FORMAT.md §11.1): every reader looks for a pack when an entry's file is missing. A device
/// of an earlier version refuses such a target ("update Resilient Notes") instead of waiting
/// for files that will not come back.
pub const FEWER_FILES: u64 = 2;

/// The parsed `index.json`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Manifest {
    /// Always `resilient-sync`.
    pub format: String,
    /// 1, or [`FEWER_FILES`] once single files covered by packs may be removed.
    pub format_version: u64,
    /// The application writing the changes.
    pub app: String,
    /// Workspace id (lowercase UUID).
    pub workspace_id: Uuid,
    /// clientId of the device that created the workspace.
    pub created_by: Uuid,
    /// Creation time, ms since the Unix epoch.
    pub created_at: i64,
    /// Names per folder level for `distributedFilePath`.
    pub max_entries_per_folder: u64,
    /// File extension of change entries (`.age` or `.bin`).
    pub change_extension: String,
    /// How entries are encrypted.
    pub encryption: Encryption,
    /// How entries are authenticated.
    pub authentication: Authentication,
}

/// Encryption section.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Encryption {
    /// `age-x25519` or `none`.
    pub method: String,
    /// Public age recipients (`age1…`); empty for `none`.
    pub recipients: Vec<String>,
    /// The workspace identity wrapped for new devices; absent for `none`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub key_wrap: Option<KeyWrap>,
}

/// How a new device obtains the identity.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KeyWrap {
    /// `age-scrypt`: the identity line encrypted with age's passphrase recipient, armored.
    pub method: String,
    /// The armored age file.
    pub armored: String,
}

/// Authentication section.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Authentication {
    /// `hmac-sha256` or `none`.
    pub method: String,
}

impl Manifest {
    /// Serializes with a trailing newline, stable field order.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec_pretty(self).expect("manifest serializes");
        v.push(b'\n');
        v
    }

    /// Parses and validates `index.json` found at `location`.
    /// Refuses a description of another workspace than `workspace` found at `location`.
    pub fn check_workspace(&self, workspace: &uuid::Uuid, location: &str) -> Result<()> {
        if self.workspace_id != *workspace {
            return Err(ManifestError::ForeignWorkspace {
                location: location.to_string(),
                found: self.workspace_id.to_string(),
            });
        }
        Ok(())
    }

    /// True when a target of this workspace may lack the single files a pack covers, so a
    /// reader looks for a pack when an entry's file is missing (FORMAT.md §11.1).
    pub fn fewer_files(&self) -> bool {
        self.format_version >= FEWER_FILES
    }

    /// True when entries of this workspace are encrypted (age) and authenticated.
    pub fn is_encrypted(&self) -> bool {
        self.encryption.method != "none"
    }

    /// Refuses a target's description (`self`, found at `location`) that differs in any field
    /// from `pinned`, the copy this device keeps: a host that rewrote `index.json` (to turn
    /// encryption off, to swap the recipient or the wrapped key) is not followed.
    /// The format version is left out of the comparison: a workspace moves from version 1 to
    /// [`FEWER_FILES`] on every device and target, one at a time (the caller keeps the higher).
    pub fn check_pinned(&self, pinned: &Manifest, location: &str) -> Result<()> {
        let same_version = Manifest { format_version: pinned.format_version, ..self.clone() };
        if same_version == *pinned {
            return Ok(());
        }
        let what = if pinned.is_encrypted() && !self.is_encrypted() {
            "it now says the notes are not encrypted"
        } else if self.encryption != pinned.encryption {
            "its encryption key is not the one this workspace uses"
        } else {
            "its settings are not the ones this workspace was created with"
        };
        Err(ManifestError::Changed { location: location.to_string(), what: what.into() })
    }

    /// Parses and checks an `index.json` read from `location` (named in errors).
    pub fn parse(bytes: &[u8], location: &str) -> Result<Manifest> {
        let bad = |reason: String| ManifestError::Bad { location: location.to_string(), reason };
        let value: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))?;
        if value.get("format").and_then(|f| f.as_str()) != Some(FORMAT_NAME) {
            return Err(bad(format!("\"format\" is not \"{FORMAT_NAME}\"")));
        }
        match value.get("formatVersion").and_then(|v| v.as_u64()) {
            Some(1..=FORMAT_VERSION) => {}
            Some(v) if v > FORMAT_VERSION => {
                return Err(ManifestError::UnsupportedVersion {
                    location: location.to_string(),
                    version: v,
                })
            }
            _ => return Err(bad("\"formatVersion\" is missing or invalid".into())),
        }
        let m: Manifest = serde_json::from_value(value).map_err(|e| bad(e.to_string()))?;
        if m.max_entries_per_folder < 2 || m.max_entries_per_folder > 1_000_000 {
            return Err(bad("\"maxEntriesPerFolder\" must be between 2 and 1000000".into()));
        }
        match (
            m.encryption.method.as_str(),
            m.authentication.method.as_str(),
            m.change_extension.as_str(),
        ) {
            ("age-x25519", "hmac-sha256", ".age") => {
                if m.encryption.recipients.is_empty() || m.encryption.key_wrap.is_none() {
                    return Err(bad("age encryption needs recipients and keyWrap".into()));
                }
                if m.encryption.key_wrap.as_ref().is_some_and(|w| w.method != "age-scrypt") {
                    return Err(bad("unknown \"keyWrap\" method (not \"age-scrypt\")".into()));
                }
            }
            ("none", "none", ".bin") => {
                if !m.encryption.recipients.is_empty() || m.encryption.key_wrap.is_some() {
                    return Err(bad(
                        "an unencrypted workspace has no recipients and no keyWrap".into()
                    ));
                }
            }
            _ => return Err(bad("unknown encryption/authentication combination".into())),
        }
        Ok(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Manifest {
        Manifest {
            format: FORMAT_NAME.into(),
            format_version: 1,
            app: "resilient-notes".into(),
            workspace_id: Uuid::new_v4(),
            created_by: Uuid::new_v4(),
            created_at: 1,
            max_entries_per_folder: 1000,
            change_extension: ".bin".into(),
            encryption: Encryption { method: "none".into(), recipients: vec![], key_wrap: None },
            authentication: Authentication { method: "none".into() },
        }
    }

    #[test]
    fn round_trip() {
        let m = sample();
        assert_eq!(Manifest::parse(&m.to_bytes(), "f").unwrap(), m);
    }

    #[test]
    fn rejects() {
        let m = sample();
        let mut v: serde_json::Value = serde_json::from_slice(&m.to_bytes()).unwrap();
        v["formatVersion"] = 3.into();
        assert!(matches!(
            Manifest::parse(v.to_string().as_bytes(), "f"),
            Err(ManifestError::UnsupportedVersion { .. })
        ));
        assert!(matches!(Manifest::parse(b"{", "f"), Err(ManifestError::Bad { .. })));
        assert!(matches!(
            Manifest::parse(b"{\"format\":\"other\"}", "f"),
            Err(ManifestError::Bad { .. })
        ));
        let mut v: serde_json::Value = serde_json::from_slice(&m.to_bytes()).unwrap();
        v["encryption"]["method"] = "age-x25519".into();
        assert!(Manifest::parse(v.to_string().as_bytes(), "f").is_err());
    }

    /// Version 2 is read, and a pinned copy of version 1 accepts it (and the other way round):
    /// the workspace is moving to fewer files. Any other difference is refused.
    #[test]
    fn the_version_moves_but_nothing_else() {
        let m = sample();
        let mut v2 = m.clone();
        v2.format_version = FEWER_FILES;
        let parsed = Manifest::parse(&v2.to_bytes(), "f").unwrap();
        assert!(parsed.fewer_files() && !m.fewer_files());
        parsed.check_pinned(&m, "f").unwrap();
        m.check_pinned(&parsed, "f").unwrap();
        let mut other = v2.clone();
        other.max_entries_per_folder = 10;
        assert!(other.check_pinned(&m, "f").is_err());
        let mut v: serde_json::Value = serde_json::from_slice(&m.to_bytes()).unwrap();
        v["formatVersion"] = 0.into();
        assert!(matches!(
            Manifest::parse(v.to_string().as_bytes(), "f"),
            Err(ManifestError::Bad { .. })
        ));
    }

    #[test]
    fn a_plaintext_description_has_no_recipient_and_no_key_wrap() {
        let m = sample();
        let text = String::from_utf8(m.to_bytes()).unwrap();
        assert!(!text.contains("keyWrap"), "{text}");
        let mut v: serde_json::Value = serde_json::from_slice(&m.to_bytes()).unwrap();
        v["encryption"]["keyWrap"] = serde_json::json!({"method": "age-scrypt", "armored": "A"});
        assert!(matches!(
            Manifest::parse(v.to_string().as_bytes(), "f"),
            Err(ManifestError::Bad { .. })
        ));
        let mut v: serde_json::Value = serde_json::from_slice(&m.to_bytes()).unwrap();
        v["encryption"]["recipients"] = serde_json::json!(["age1recipient"]);
        assert!(matches!(
            Manifest::parse(v.to_string().as_bytes(), "f"),
            Err(ManifestError::Bad { .. })
        ));
    }

    #[test]
    fn key_wrap_method_and_nested_fields_are_checked() {
        let m = encrypted();
        assert_eq!(Manifest::parse(&m.to_bytes(), "f").unwrap(), m);
        let mut v: serde_json::Value = serde_json::from_slice(&m.to_bytes()).unwrap();
        v["encryption"]["keyWrap"]["method"] = "age-x25519".into();
        assert!(matches!(
            Manifest::parse(v.to_string().as_bytes(), "f"),
            Err(ManifestError::Bad { .. })
        ));
        for path in [&["encryption"][..], &["encryption", "keyWrap"], &["authentication"]] {
            let mut v: serde_json::Value = serde_json::from_slice(&m.to_bytes()).unwrap();
            let mut o = &mut v;
            for k in path {
                o = &mut o[*k];
            }
            o["surprise"] = true.into();
            assert!(
                matches!(
                    Manifest::parse(v.to_string().as_bytes(), "f"),
                    Err(ManifestError::Bad { .. })
                ),
                "{path:?}"
            );
        }
        // Every field but keyWrap is required; app too.
        for field in ["app", "createdBy", "createdAt", "changeExtension", "authentication"] {
            let mut v: serde_json::Value = serde_json::from_slice(&m.to_bytes()).unwrap();
            v.as_object_mut().unwrap().remove(field);
            assert!(Manifest::parse(v.to_string().as_bytes(), "f").is_err(), "{field}");
        }
    }

    fn encrypted() -> Manifest {
        let mut m = sample();
        m.change_extension = ".age".into();
        m.encryption = Encryption {
            method: "age-x25519".into(),
            recipients: vec!["age1recipient".into()],
            key_wrap: Some(KeyWrap { method: "age-scrypt".into(), armored: "A".into() }),
        };
        m.authentication = Authentication { method: "hmac-sha256".into() };
        m
    }

    #[test]
    fn a_rewritten_description_is_refused_and_says_what_changed() {
        let pinned = encrypted();
        assert!(pinned.check_pinned(&pinned.clone(), "f").is_ok());
        let mut plain = sample();
        plain.workspace_id = pinned.workspace_id;
        let err = plain.check_pinned(&pinned, "f").unwrap_err().to_string();
        assert!(err.contains("not encrypted"), "{err}");
        let mut swapped = pinned.clone();
        swapped.encryption.recipients = vec!["age1attacker".into()];
        let err = swapped.check_pinned(&pinned, "f").unwrap_err().to_string();
        assert!(err.contains("key"), "{err}");
        let mut other = pinned.clone();
        other.max_entries_per_folder = 10;
        assert!(matches!(other.check_pinned(&pinned, "f"), Err(ManifestError::Changed { .. })));
    }
}
