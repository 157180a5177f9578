//! The notebooks already here, as an import that finds notes of an earlier import of the same
//! folder uses them: the notes it did not bring in then (it was stopped, or the folder grew)
//! go beside the others instead of into a second notebook of the same name.

use std::collections::HashMap;

use rusqlite::Connection;
use uuid::Uuid;

use crate::error::Result;
use crate::store;
use crate::workspace::{Notebook, Place, Workspace};

/// The live notebooks, read once.
pub(super) struct Shelves {
    books: Vec<Notebook>,
}

impl Shelves {
    /// Reads the notebooks of `ws`.
    pub(super) fn read(ws: &Workspace) -> Result<Self> {
        Ok(Self { books: ws.notebooks()?.notebooks })
    }

    /// The notebook called exactly `name` directly in `place`.
    pub(super) fn named(&self, place: Place, name: &str) -> Option<Uuid> {
        let parent = place.id().map(|p| p.to_string());
        self.books.iter().find(|b| b.parent == parent && b.name == name)?.id.parse().ok()
    }

    /// The notebook an earlier import of the same folder or file made at its top: for each
    /// note here already, given as (how many folders deep it sits in the folder, its id), the
    /// notebook that many levels above its own. It counts only if more than half of them agree
    /// on it (a note moved since may disagree) and it still has the name this import would
    /// give (`name`): a file found in two folders (Obsidian's `Welcome.md`) must not pull the
    /// second folder into the first one's notebook.
    pub(super) fn earlier_top(
        &self,
        conn: &Connection,
        name: &str,
        notes: impl Iterator<Item = (usize, Uuid)>,
    ) -> Result<Option<Uuid>> {
        let parent: HashMap<&str, Option<&str>> =
            self.books.iter().map(|b| (b.id.as_str(), b.parent.as_deref())).collect();
        let mut votes: HashMap<Uuid, usize> = HashMap::new();
        let mut asked = 0;
        for (depth, id) in notes {
            asked += 1;
            let Some(row) = store::notes::row_of(conn, &id.to_string())? else { continue };
            let mut at = row.notebook.as_deref();
            for _ in 0..depth {
                at = at.and_then(|b| parent.get(b).copied().flatten());
            }
            if let Some(book) = at.and_then(|b| b.parse().ok()) {
                *votes.entry(book).or_default() += 1;
            }
        }
        let Some((book, n)) = votes.into_iter().max_by_key(|(book, n)| (*n, *book)) else {
            return Ok(None);
        };
        let named = self.books.iter().any(|b| b.id == book.to_string() && b.name == name);
        Ok((named && 2 * n > asked).then_some(book))
    }
}
