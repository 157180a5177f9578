//! What crosses the IPC boundary besides the engine's own types: the error shape and the
//! payloads of the events the shell emits. TypeScript twins are generated into `ui/src/bindings`.

use resnotes_core::SyncState;
use serde::Serialize;
use ts_rs::TS;

/// Event: background sync changed state (`sync://state`).
pub const SYNC_STATE: &str = "sync://state";
/// Event: one engine sync event, e.g. a problem with an entry (`sync://event`).
pub const SYNC_EVENT: &str = "sync://event";
/// Event: notes changed (remote entries applied, or another process on this data dir wrote).
pub const NOTES_CHANGED: &str = "notes://changed";

/// Event: how far an import or export has got (`transfer://progress`, a
/// `resnotes_core::Progress`).
pub const TRANSFER_PROGRESS: &str = "transfer://progress";

/// Event: how far "Check this folder" has got (`verify://progress`, a [`Checked`]).
pub const VERIFY_PROGRESS: &str = "verify://progress";

/// How far a check of a target has got: files compared of the total.
#[derive(Debug, Clone, Serialize, TS)]
pub struct Checked {
    /// The target being checked.
    pub target: String,
    /// Entries and attachments compared so far.
    #[ts(type = "number")]
    pub done: u64,
    /// All there are to compare.
    #[ts(type = "number")]
    pub total: u64,
}

/// An error as the UI sees it: a stable code and one sentence for the user.
#[derive(Debug, Clone, Serialize, TS)]
pub struct IpcError {
    /// Stable code (see `resnotes_core::Error::code`).
    pub code: String,
    /// What happened and what to do.
    pub message: String,
}

impl IpcError {
    /// An error about the UI's input.
    pub fn invalid(message: impl Into<String>) -> Self {
        IpcError { code: "invalid_input".into(), message: message.into() }
    }
}

impl From<resnotes_core::Error> for IpcError {
    fn from(e: resnotes_core::Error) -> Self {
        IpcError { code: e.code().into(), message: e.to_string() }
    }
}

/// What sharing to a target did.
#[derive(Debug, Clone, Serialize, TS)]
pub struct Shared {
    /// Where it syncs now.
    pub target: String,
    /// Where the password is stored when no system keyring holds it (readable only by the user).
    pub password_file: Option<String>,
}

/// A setup code for a new device ("Add a device"): its text, the same as a QR code, and until
/// when it works.
#[derive(Clone, Serialize, TS)]
pub struct Invited {
    /// The code's text (`resnotes-invite:1/…`).
    pub code: String,
    /// The code as an SVG QR code, for a phone's camera.
    pub qr_svg: String,
    /// When it stops working (ms).
    #[ts(type = "number")]
    pub expires_at: i64,
    /// The folder or server the new device joins through, as this device names it.
    pub location: String,
}

impl std::fmt::Debug for Invited {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The code opens the workspace until it is used: never in a log.
        f.debug_struct("Invited").field("expires_at", &self.expires_at).finish_non_exhaustive()
    }
}

/// An attachment just stored: its URL and the markdown the editor inserts.
#[derive(Debug, Clone, Serialize, TS)]
pub struct Attached {
    /// The `asset:///` URL.
    pub url: String,
    /// `![name](url)` for images, `[name](url)` for other files.
    pub markdown: String,
}

impl From<&resnotes_core::AssetRef> for Attached {
    fn from(r: &resnotes_core::AssetRef) -> Self {
        Attached { url: r.to_url(), markdown: r.markdown() }
    }
}

/// Payload of [`SYNC_STATE`].
#[derive(Debug, Clone, Serialize, TS)]
pub struct SyncStatus {
    /// What background sync is doing.
    pub state: SyncState,
    /// The target being worked on, while pulling or pushing.
    pub target: Option<String>,
    /// Entries received so far in this cycle.
    #[ts(type = "number")]
    pub received: u64,
    /// Entries this cycle is receiving in all, once a long pull has counted them.
    #[ts(type = "number | null")]
    pub expected: Option<u64>,
    /// Entries sent so far in this cycle.
    #[ts(type = "number")]
    pub sent: u64,
    /// The first error of the last cycle, in plain words.
    pub error: Option<String>,
    /// When failing: milliseconds until the next try.
    #[ts(type = "number | null")]
    pub retry_in_ms: Option<u64>,
}

#[cfg(test)]
mod tests {
    //! The UI's types are generated from these and the engine's types. This test fails when the
    //! committed bindings are stale; `RESNOTES_WRITE_BINDINGS=1 cargo test --workspace -p
    //! resilient-notes bindings` rewrites them.
    use std::path::Path;

    use resnotes_core::{
        Contents, Field, LogItem, Note, NoteSummary, Status, Strength, SyncEvent, TargetSpec,
        TextSplice,
    };
    use ts_rs::{Config, TS};

    use super::*;

    fn export_all(dir: &Path) {
        let cfg = Config::new().with_large_int("number").with_out_dir(dir);
        IpcError::export_all(&cfg).unwrap();
        SyncStatus::export_all(&cfg).unwrap();
        Shared::export_all(&cfg).unwrap();
        Invited::export_all(&cfg).unwrap();
        TargetSpec::export_all(&cfg).unwrap();
        Note::export_all(&cfg).unwrap();
        resnotes_core::Edited::export_all(&cfg).unwrap();
        NoteSummary::export_all(&cfg).unwrap();
        resnotes_core::Version::export_all(&cfg).unwrap();
        resnotes_core::VersionText::export_all(&cfg).unwrap();
        resnotes_core::Comparison::export_all(&cfg).unwrap();
        resnotes_core::Activity::export_all(&cfg).unwrap();
        resnotes_core::SearchProgress::export_all(&cfg).unwrap();
        resnotes_core::Sort::export_all(&cfg).unwrap();
        resnotes_core::TagCount::export_all(&cfg).unwrap();
        resnotes_core::Notebooks::export_all(&cfg).unwrap();
        resnotes_core::Device::export_all(&cfg).unwrap();
        resnotes_core::LinkedNote::export_all(&cfg).unwrap();
        TextSplice::export_all(&cfg).unwrap();
        Field::export_all(&cfg).unwrap();
        Status::export_all(&cfg).unwrap();
        LogItem::export_all(&cfg).unwrap();
        SyncEvent::export_all(&cfg).unwrap();
        Contents::export_all(&cfg).unwrap();
        Strength::export_all(&cfg).unwrap();
        Attached::export_all(&cfg).unwrap();
        resnotes_core::AssetInfo::export_all(&cfg).unwrap();
        resnotes_core::Target::export_all(&cfg).unwrap();
        resnotes_core::ImportReport::export_all(&cfg).unwrap();
        resnotes_core::ExportReport::export_all(&cfg).unwrap();
        resnotes_core::Progress::export_all(&cfg).unwrap();
        resnotes_core::Verification::export_all(&cfg).unwrap();
        Checked::export_all(&cfg).unwrap();
    }

    fn files(dir: &Path) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = std::fs::read_dir(dir)
            .map(|rd| {
                rd.flatten()
                    .map(|e| {
                        (
                            e.file_name().to_string_lossy().into_owned(),
                            std::fs::read_to_string(e.path()).unwrap_or_default(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        out.sort();
        out
    }

    #[test]
    fn bindings_are_current() {
        let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/src/bindings");
        if std::env::var_os("RESNOTES_WRITE_BINDINGS").is_some() {
            let _ = std::fs::remove_dir_all(&committed);
            export_all(&committed);
        }
        let fresh = tempfile::tempdir().unwrap();
        export_all(fresh.path());
        let (want, have) = (files(fresh.path()), files(&committed));
        let names = |v: &[(String, String)]| v.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
        assert_eq!(names(&have), names(&want), "ui/src/bindings is stale: run RESNOTES_WRITE_BINDINGS=1 cargo test --workspace bindings");
        for ((name, a), (_, b)) in want.iter().zip(have.iter()) {
            assert_eq!(a, b, "ui/src/bindings/{name} is stale: run RESNOTES_WRITE_BINDINGS=1 cargo test --workspace bindings");
        }
    }
}
