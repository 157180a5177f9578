//! Links between notes: `[Title](note:ID)` in a body (FORMAT.md §4.3) names the other note by
//! id, so a link survives renames and shows the note's current title. A note's links are read
//! from its body; the notes linking to it (backlinks) are found through the full-text index,
//! which holds every live note's text and is kept current by every edit.

use serde::Serialize;
use ts_rs::TS;

use super::{hit_row, NoteSummary, Workspace};
use crate::docs::note;
use crate::error::Result;
use crate::store;

/// Whether a linked note can be opened.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq, TS)]
#[serde(rename_all = "snake_case")]
pub enum LinkState {
    /// A live note.
    Live,
    /// In the trash (restore it to follow the link).
    Trashed,
    /// Not on this device: never synced here, or emptied from the trash.
    Missing,
}

/// A note a link points to, as it is now.
#[derive(Clone, Debug, Serialize, PartialEq, Eq, TS)]
pub struct LinkedNote {
    /// The note's id.
    pub id: String,
    /// Its title now (its first line when untitled; empty when missing).
    pub title: String,
    /// Whether it can be opened.
    pub state: LinkState,
}

impl Workspace {
    /// The notes `query`'s body links to, in order of first appearance, each with its current
    /// title and whether it is live, in the trash or missing.
    pub fn links(&self, query: &str) -> Result<Vec<LinkedNote>> {
        let body = self.note(query)?.body;
        let ids: Vec<String> = note::links(&body).iter().map(|u| u.to_string()).collect();
        self.linked_notes(&ids)
    }

    /// Each of `ids` (note ids, as a body's links name them) with its current title and state:
    /// what an editor shows on a link.
    pub fn linked_notes(&self, ids: &[String]) -> Result<Vec<LinkedNote>> {
        let conn = &self.replica.conn;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let id = id.trim().to_lowercase();
            let found = store::notes::link_target(conn, &id)?;
            out.push(match found {
                Some(t) if !t.deleted || !t.purged => LinkedNote {
                    title: if t.title.trim().is_empty() { t.first_line } else { t.title },
                    state: if t.deleted { LinkState::Trashed } else { LinkState::Live },
                    id,
                },
                _ => LinkedNote { id, title: String::new(), state: LinkState::Missing },
            });
        }
        Ok(out)
    }

    /// The live notes whose text links to `query`'s note (newest first once every note is
    /// indexed whole), each with a snippet of
    /// where. Found through the search index: on a device that has just joined, notes not
    /// indexed whole yet ([`Workspace::index_for_search`]) are found once they are.
    pub fn backlinks(&self, query: &str) -> Result<Vec<NoteSummary>> {
        let id = self.resolve(query)?;
        // The link's destination as unicode61 splits it: "note", then the id's five groups.
        let phrase = format!("\"note {}\"", id.to_string().replace('-', " "));
        self.replica.refresh_search()?;
        let Some(phrase) = store::search::expanded_query(&self.replica.conn, &phrase)? else {
            return Ok(Vec::new());
        };
        Ok(store::search::query(&self.replica.conn, &phrase, &[], None, 200)?
            .into_iter()
            .filter(|hit| hit.row.id != id.to_string())
            .map(hit_row)
            .collect())
    }
}
