//! Every version of every note: a note's history of editing sessions, the note as it was at
//! any of them, a word-by-word comparison of two versions, and restoring one as a new edit.
//! The history is read from the note's document (`docs::history`); nothing is stored for it.

use crate::docs::history::{self, Version, VersionText};
use crate::docs::{materialize, note};
use crate::error::{Error, Result};
use crate::store;
use crate::workspace::LinkedNote;
use crate::workspace::Workspace;

/// Which side of a comparison a part of the text is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum DiffKind {
    /// In both texts.
    Same,
    /// Only in the newer text.
    Added,
    /// Only in the older text.
    Removed,
}

/// A part of a comparison of two texts: words both have, or only the newer or the older one.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, ts_rs::TS)]
pub struct DiffPart {
    /// Which side it is on.
    pub kind: DiffKind,
    /// The text of this part.
    pub text: String,
}

/// Two versions of a note compared word by word.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, ts_rs::TS)]
pub struct Comparison {
    /// The older side: a version id, or `"current"`.
    pub from: String,
    /// The newer side: a version id, or `"current"`.
    pub to: String,
    /// The titles, when they differ (older, newer).
    pub titles: Option<(String, String)>,
    /// The bodies compared, in order.
    pub body: Vec<DiffPart>,
}

/// How long a comparison may take before it settles for a coarser one (whole changed runs
/// rather than the fewest words).
const DIFF_DEADLINE: std::time::Duration = std::time::Duration::from_millis(40);

/// The words of `old` and `new` compared: runs of equal, removed and added text, in order.
/// Lines are compared first and words only inside the lines that differ (a word diff of a
/// whole 100 KB note took 42 ms, and settled for coarser runs at its deadline).
pub fn word_diff(old: &str, new: &str) -> Vec<DiffPart> {
    let deadline = std::time::Instant::now() + DIFF_DEADLINE;
    let lines = similar::TextDiff::configure()
        .algorithm(similar::Algorithm::Patience)
        .deadline(deadline)
        .diff_lines(old, new);
    let (olds, news) = (lines.old_slices(), lines.new_slices());
    let mut parts: Vec<DiffPart> = Vec::new();
    for op in lines.ops() {
        let (tag, o, n) = op.as_tag_tuple();
        match tag {
            similar::DiffTag::Equal => push(&mut parts, DiffKind::Same, &olds[o].concat()),
            similar::DiffTag::Delete => push(&mut parts, DiffKind::Removed, &olds[o].concat()),
            similar::DiffTag::Insert => push(&mut parts, DiffKind::Added, &news[n].concat()),
            similar::DiffTag::Replace => {
                let (was, now) = (olds[o].concat(), news[n].concat());
                let words = similar::TextDiff::configure()
                    .algorithm(similar::Algorithm::Patience)
                    .deadline(deadline)
                    .diff_unicode_words(&was, &now);
                for change in words.iter_all_changes() {
                    let kind = match change.tag() {
                        similar::ChangeTag::Equal => DiffKind::Same,
                        similar::ChangeTag::Insert => DiffKind::Added,
                        similar::ChangeTag::Delete => DiffKind::Removed,
                    };
                    push(&mut parts, kind, change.value());
                }
            }
        }
    }
    parts
}

/// Appends `text` to the last part when it is of the same kind, else as a new part.
fn push(parts: &mut Vec<DiffPart>, kind: DiffKind, text: &str) {
    match parts.last_mut() {
        Some(p) if p.kind == kind => p.text.push_str(text),
        _ if text.is_empty() => {}
        _ => parts.push(DiffPart { kind, text: text.to_string() }),
    }
}

/// What one device changed at one time: the notes one entry of its log carries (a sync's
/// worth of edits), or this device's edits not synced yet.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, ts_rs::TS)]
pub struct Activity {
    /// The device: its client id.
    pub device: String,
    /// True when it is this device.
    pub this_device: bool,
    /// When the device wrote it, ms since the Unix epoch (`None`: its clock was not believable).
    #[ts(type = "number | null")]
    pub at: Option<i64>,
    /// When this device received it (`None`: this device's own).
    #[ts(type = "number | null")]
    pub received_at: Option<i64>,
    /// False for this device's edits still waiting to sync.
    pub synced: bool,
    /// The notes changed, with their current titles and whether they are live, in the trash or
    /// gone.
    pub notes: Vec<LinkedNote>,
}

impl Workspace {
    /// What changed since `since` (ms since the Unix epoch) across all notes, newest first, at
    /// most `limit` items: this device's edits waiting to sync, then each entry of any device's
    /// log written since then with the notes it changed — what a sync brought in.
    pub fn changes_since(&self, since: i64, limit: usize) -> Result<Vec<Activity>> {
        let conn = &self.replica.conn;
        let me = self.replica.client.to_string();
        let now = self.replica.now();
        let mut out = Vec::new();
        let waiting = store::log::unsealed_notes(conn)?;
        if let Some(newest) = waiting.first().map(|w| w.1) {
            let ids: Vec<String> = waiting.into_iter().map(|w| w.0).collect();
            out.push(Activity {
                device: me.clone(),
                this_device: true,
                at: Some(newest),
                received_at: None,
                synced: false,
                notes: self.linked_notes(&ids)?,
            });
        }
        for (client, _, ts, received, ids) in store::log::since(conn, since, limit)? {
            if ids.is_empty() {
                continue;
            }
            let own = client == me;
            out.push(Activity {
                this_device: own,
                device: client,
                at: history::believed_ms(ts, now),
                received_at: (!own).then_some(received),
                synced: true,
                notes: self.linked_notes(&ids)?,
            });
        }
        out.truncate(limit);
        Ok(out)
    }

    /// A note's history (a note in the trash too), newest version first: one [`Version`] per
    /// editing session, with its time, device and what it changed. A note listed from a
    /// summary (just joined) has its document built first, as opening it would.
    pub fn history(&self, query: &str) -> Result<Vec<Version>> {
        let id = self.resolve(query)?;
        self.replica.history(&id)?.ok_or_else(|| Error::NoSuchNote(query.to_string()))
    }

    /// A note as it was at `version` (an id from [`Workspace::history`], or at least 4 of its
    /// first characters).
    pub fn version(&self, query: &str, version: &str) -> Result<VersionText> {
        let id = self.resolve(query)?;
        self.replica.version_text(&id, version)?.ok_or_else(|| Error::NoSuchNote(query.to_string()))
    }

    /// The version a note had at time `at` (ms since the Unix epoch): the newest one that ended
    /// by then. Versions whose time is unknown are skipped.
    pub fn version_at(&self, query: &str, at: i64) -> Result<VersionText> {
        let versions = self.history(query)?;
        let v = versions.iter().find(|v| v.ended_at.is_some_and(|t| t <= at)).ok_or_else(|| {
            Error::Invalid("this note has no version from that time or before".into())
        })?;
        self.version(query, &v.id)
    }

    /// Compares two versions of a note word by word: `from` (default: the version before the
    /// newest) and `to` (default: the current text). Each is a version id or `"current"`.
    pub fn compare(&self, query: &str, from: Option<&str>, to: Option<&str>) -> Result<Comparison> {
        let id = self.resolve(query)?;
        let from = match from {
            Some(f) => f.to_string(),
            None => {
                self.history(&id.to_string())?.get(1).map(|v| v.id.clone()).ok_or_else(|| {
                    Error::Invalid(
                        "this note has only one version; there is nothing to compare".into(),
                    )
                })?
            }
        };
        let to = to.unwrap_or("current").to_string();
        let side = |name: &str| -> Result<(String, VersionText)> {
            if name == "current" {
                return Ok(("current".into(), self.replica.current_text(&id)?));
            }
            let text = self
                .replica
                .version_text(&id, name)?
                .ok_or_else(|| Error::NoSuchNote(query.to_string()))?;
            Ok((text.version.clone(), text))
        };
        let (from_name, old) = side(&from)?;
        let (to_name, new) = side(&to)?;
        Ok(Comparison {
            from: from_name,
            to: to_name,
            titles: (old.title != new.title).then(|| (old.title.clone(), new.title.clone())),
            body: word_diff(&old.body, &new.body),
        })
    }

    /// Makes a note's title and text what they were at `version`, as a new edit (it syncs and
    /// merges like any other, and history keeps everything before it). A note in the trash
    /// comes back out of it. Returns false when the note already was that way (nothing is
    /// written).
    pub fn restore_version(&mut self, query: &str, version: &str) -> Result<bool> {
        let id = self.resolve(query)?;
        let old = self
            .replica
            .version_text(&id, version)?
            .ok_or_else(|| Error::NoSuchNote(query.to_string()))?;
        let mut deleted = false;
        let changed = self.replica.write_local(
            &id,
            materialize::BodyEdit::SetTo(&old.body),
            |doc, now| {
                deleted = note::read_head(doc).deleted;
                let mut changed = note::set_text(doc, "title", &old.title)?;
                changed |= note::set_text(doc, "body", &old.body)?;
                if changed {
                    note::touch(doc, now)?;
                }
                Ok(changed)
            },
        )?;
        if deleted {
            self.restore_note(&id.to_string())?;
        }
        Ok(changed || deleted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn side(parts: &[DiffPart], skip: DiffKind) -> String {
        parts.iter().filter(|p| p.kind != skip).map(|p| p.text.as_str()).collect()
    }

    #[test]
    fn changed_lines_are_compared_word_by_word_and_the_rest_whole() {
        let old = "Title line\npack warm socks\nsame\nold line\n";
        let new = "Title line\npack socks and boots\nsame\n";
        let d = word_diff(old, new);
        let shown: Vec<(DiffKind, &str)> = d.iter().map(|p| (p.kind, p.text.as_str())).collect();
        assert_eq!(
            shown,
            vec![
                (DiffKind::Same, "Title line\npack "),
                (DiffKind::Removed, "warm "),
                (DiffKind::Same, "socks"),
                (DiffKind::Added, " and boots"),
                (DiffKind::Same, "\nsame\n"),
                (DiffKind::Removed, "old line\n"),
            ]
        );
        assert!(word_diff("", "").is_empty());
    }

    proptest! {
        /// Whatever the texts, the parts give back the older text without the added ones and
        /// the newer without the removed ones.
        #[test]
        fn the_parts_give_back_both_texts(old in "[ab \\n]{0,40}", new in "[ab \\n]{0,40}") {
            let d = word_diff(&old, &new);
            prop_assert_eq!(side(&d, DiffKind::Added), old);
            prop_assert_eq!(side(&d, DiffKind::Removed), new);
            prop_assert!(d.windows(2).all(|w| w[0].kind != w[1].kind));
        }
    }
}
