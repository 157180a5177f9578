//! Invitations (FORMAT.md §3.1): a one-time **setup code** that lets a new device join without
//! typing the passphrase, and the **invitation file** it opens on the target.
//!
//! The inviting device makes a fresh age identity for the invitation alone, writes the workspace
//! key encrypted to it as `invites/<inviteId>.<expiresAt>.age`, and shows the code (the one-time
//! identity, where the file is, when it expires). The joining device opens the file with the
//! code, takes the key, and removes the file: the code is then worth nothing. An expired file is
//! removed by the device that made it; a joining device refuses an expired code.

use percent_encoding::{percent_decode_str, utf8_percent_encode, NON_ALPHANUMERIC};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::format::crypto::{OpenFailure, WorkspaceKey};

/// Start of every setup code's text.
pub const CODE_PREFIX: &str = "resnotes-invite:1/";
/// Folder of invitation files at the root of a target.
pub const INVITES_DIR: &str = "invites";
/// The `format` of an invitation file's plaintext.
const FILE_FORMAT: &str = "resilient-sync-invitation";

/// What can be wrong with a setup code or an invitation file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InviteError {
    /// The text is not a setup code.
    #[error("this is not a Resilient Notes setup code (it starts with \"{CODE_PREFIX}\"): copy the whole code again")]
    NotACode,
    /// The invitation file is not one this code opens.
    #[error(
        "the invitation for this setup code is damaged or was replaced ({0}): ask for a new code"
    )]
    BadFile(String),
}

/// Where the invitation file was written: the target the new device joins.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeTarget {
    /// `folder`, `webdav` or `s3`.
    pub kind: String,
    /// The folder's path on the inviting device, the WebDAV URL or the S3 address (no
    /// credentials).
    pub location: String,
}

/// A setup code: everything a new device needs besides the target's own files.
#[derive(Clone, PartialEq, Eq)]
pub struct SetupCode {
    /// The workspace to join.
    pub workspace: Uuid,
    /// The invitation's id (names its file).
    pub invite: Uuid,
    /// When it stops working, ms since the Unix epoch.
    pub expires_at: i64,
    /// The one-time age identity (`AGE-SECRET-KEY-1…`) that opens the invitation file.
    pub secret: String,
    /// Where the invitation file is.
    pub target: CodeTarget,
}

impl std::fmt::Debug for SetupCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SetupCode")
            .field("workspace", &self.workspace)
            .field("invite", &self.invite)
            .field("expires_at", &self.expires_at)
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

impl SetupCode {
    /// The code as text: `resnotes-invite:1/<workspaceId>/<inviteId>/<expiresAt>/<identity>/
    /// <kind>/<location, percent-encoded>` (one line, no spaces: it survives copying and fits
    /// a QR code).
    pub fn to_text(&self) -> String {
        let location = utf8_percent_encode(&self.target.location, NON_ALPHANUMERIC);
        format!(
            "{CODE_PREFIX}{}/{}/{}/{}/{}/{location}",
            self.workspace, self.invite, self.expires_at, self.secret, self.target.kind
        )
    }

    /// Reads the text form (white space around it, and line breaks a terminal or mail added
    /// inside it, are ignored).
    pub fn parse(text: &str) -> Result<Self, InviteError> {
        let joined: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        let rest = joined.strip_prefix(CODE_PREFIX).ok_or(InviteError::NotACode)?;
        let parts: Vec<&str> = rest.split('/').collect();
        let [ws, invite, expires, secret, kind, location] = parts[..] else {
            return Err(InviteError::NotACode);
        };
        let location = percent_decode_str(location)
            .decode_utf8()
            .map_err(|_| InviteError::NotACode)?
            .into_owned();
        let kind_ok = ["folder", "webdav", "s3"].contains(&kind);
        let secret_ok = secret.starts_with("AGE-SECRET-KEY-1") && secret.len() == 74;
        match (Uuid::parse_str(ws), Uuid::parse_str(invite), expires.parse::<i64>()) {
            (Ok(workspace), Ok(invite), Ok(expires_at)) if kind_ok && secret_ok => Ok(SetupCode {
                workspace,
                invite,
                expires_at,
                secret: secret.to_string(),
                target: CodeTarget { kind: kind.to_string(), location },
            }),
            _ => Err(InviteError::NotACode),
        }
    }

    /// Where the invitation file of this code is on its target.
    pub fn file_path(&self) -> String {
        file_path(&self.invite, self.expires_at)
    }

    /// Opens the invitation file with the code's one-time identity and checks it belongs to this
    /// code's workspace.
    pub fn open(&self, file: &[u8]) -> Result<Invitation, InviteError> {
        let bad = |m: String| InviteError::BadFile(m);
        let key =
            WorkspaceKey::parse(&self.secret, &self.invite).map_err(|e| bad(e.to_string()))?;
        let plain = key.open(file).map_err(|f| {
            bad(match f {
                OpenFailure::Incomplete => "it is incomplete".into(),
                OpenFailure::Undecryptable(m) | OpenFailure::Malformed(m) => m,
                OpenFailure::BadMac => "its header was changed".into(),
            })
        })?;
        let inv: Invitation = serde_json::from_slice(&plain).map_err(|e| bad(e.to_string()))?;
        let known = matches!((inv.version, &inv.epoch), (1, None) | (2, Some(_)));
        if inv.format != FILE_FORMAT || !known {
            return Err(bad(format!("{} version {}", inv.format, inv.version)));
        }
        if inv.workspace_id != self.workspace || inv.expires_at != self.expires_at {
            return Err(bad("it names another workspace or expiry than the code".into()));
        }
        Ok(inv)
    }
}

/// The plaintext of an invitation file (JSON, every field required, no other).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Invitation {
    /// Always `resilient-sync-invitation`.
    pub format: String,
    /// 1, or 2 when the identity is a later key epoch's (then `epoch` names it).
    pub version: u32,
    /// The workspace.
    pub workspace_id: Uuid,
    /// The workspace identity, `AGE-SECRET-KEY-1…`, as `age-keygen` prints it.
    pub identity: String,
    /// When the invitation stops working (ms since the Unix epoch).
    pub expires_at: i64,
    /// The inviting device's clientId (informational).
    pub created_by: Uuid,
    /// Version 2: the key epoch `identity` is the key of (FORMAT.md §5.2), named by its record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epoch: Option<InvitedEpoch>,
}

/// The key epoch an invitation of version 2 hands over: its record's device and index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InvitedEpoch {
    /// The device that wrote the epoch's record.
    pub client_id: Uuid,
    /// The record's index in that device's log.
    pub index: u64,
}

impl std::fmt::Debug for Invitation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Invitation")
            .field("workspace_id", &self.workspace_id)
            .field("expires_at", &self.expires_at)
            .field("created_by", &self.created_by)
            .finish_non_exhaustive()
    }
}

/// Where the file of invitation `invite` expiring at `expires_at` lives on a target.
pub fn file_path(invite: &Uuid, expires_at: i64) -> String {
    format!("{INVITES_DIR}/{invite}.{expires_at}.age")
}

/// The expiry a file name in `invites/` gives, for sweeping (`None`: not an invitation's name).
pub fn expiry_of(name: &str) -> Option<i64> {
    let stem = name.strip_suffix(".age")?;
    let (id, at) = stem.split_once('.')?;
    Uuid::parse_str(id).ok()?;
    at.parse().ok()
}

/// A new invitation to `workspace`, whose newest key is `key` (of epoch `epoch`, FORMAT.md
/// §5.2; `None`: the workspace's first key), expiring at `expires_at`: its setup code and the
/// bytes of its file (that key, age-encrypted to the code's one-time identity).
pub fn create(
    workspace: Uuid,
    key: &WorkspaceKey,
    epoch: Option<InvitedEpoch>,
    created_by: Uuid,
    expires_at: i64,
    target: CodeTarget,
) -> Result<(SetupCode, Vec<u8>), crate::format::crypto::CryptoError> {
    use age::secrecy::ExposeSecret;
    let invite = Uuid::new_v4();
    let one_time = WorkspaceKey::generate(&invite);
    let identity = key.secret().map(|s| s.expose_secret().to_string()).unwrap_or_default();
    let inv = Invitation {
        format: FILE_FORMAT.into(),
        version: if epoch.is_some() { 2 } else { 1 },
        workspace_id: workspace,
        identity,
        expires_at,
        created_by,
        epoch,
    };
    let file = one_time.seal(&serde_json::to_vec(&inv).expect("plain data serializes"))?;
    let secret = one_time.secret().expect("an age key").expose_secret().to_string();
    Ok((SetupCode { workspace, invite, expires_at, secret, target }, file))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> CodeTarget {
        CodeTarget { kind: "folder".into(), location: "/home/anna/Dropbox/my notes/ü".into() }
    }

    #[test]
    fn a_code_round_trips_through_text_and_opens_its_file_only() {
        let ws = Uuid::new_v4();
        let key = WorkspaceKey::generate(&ws);
        let (code, file) =
            create(ws, &key, None, Uuid::new_v4(), 1_700_000_000_000, target()).unwrap();
        let text = code.to_text();
        assert!(text.starts_with(CODE_PREFIX) && !text.contains(' '), "{text}");
        // Wrapped by a mail program: still read.
        let wrapped = format!("  {}\n{}  ", &text[..40], &text[40..]);
        let back = SetupCode::parse(&wrapped).unwrap();
        assert_eq!(back, code);
        assert_eq!(back.target.location, "/home/anna/Dropbox/my notes/ü");
        let inv = back.open(&file).unwrap();
        use age::secrecy::ExposeSecret;
        assert_eq!(inv.identity, key.secret().unwrap().expose_secret());
        assert!(!format!("{code:?}{inv:?}").contains("AGE-SECRET-KEY"), "no secret in Debug");
        assert_eq!(
            expiry_of(code.file_path().strip_prefix("invites/").unwrap()),
            Some(1_700_000_000_000)
        );
        // Another invitation's file, or another workspace's code, does not open.
        let (other, other_file) = create(ws, &key, None, Uuid::new_v4(), 1, target()).unwrap();
        assert!(matches!(code.open(&other_file), Err(InviteError::BadFile(_))));
        let elsewhere = SetupCode { workspace: Uuid::new_v4(), ..other };
        assert!(matches!(elsewhere.open(&other_file), Err(InviteError::BadFile(_))));
        for bad in
            ["", "resnotes-invite:1/x", &text.replace("folder", "ftp"), &text[..text.len() - 80]]
        {
            assert_eq!(SetupCode::parse(bad), Err(InviteError::NotACode), "{bad}");
        }
        // A bucket's address travels whole (its query and the space in its prefix included).
        let s3 = "s3://notes/family notes/?endpoint=http://127.0.0.1:3900&region=garage";
        let in_s3 = SetupCode {
            target: CodeTarget { kind: "s3".into(), location: s3.into() },
            ..code.clone()
        };
        let back = SetupCode::parse(&in_s3.to_text()).unwrap();
        assert_eq!((back.target.kind.as_str(), back.target.location.as_str()), ("s3", s3));
        assert_eq!(expiry_of("notes.txt"), None);
        // Version 2 hands over a later key epoch, and names it.
        let epoch = InvitedEpoch { client_id: Uuid::from_u128(7), index: 3 };
        let (code, file) = create(ws, &key, Some(epoch), Uuid::new_v4(), 5, target()).unwrap();
        let inv = code.open(&file).unwrap();
        assert_eq!((inv.version, inv.epoch), (2, Some(epoch)));
    }
}
