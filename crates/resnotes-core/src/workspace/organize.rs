//! Organizing notes: pins, tags, the order of the list, and the trash. Pins, tags and the
//! trash's marks live in the notes' documents (FORMAT.md §4.3) and so sync and merge like any
//! edit; the list reads them from the derived rows (`store::notes`), so a device that has just
//! joined filters and sorts without building documents.

use serde::Serialize;
use ts_rs::TS;
use uuid::Uuid;

use super::{summary_row, NoteSummary, Workspace};
use crate::docs::materialize::BodyEdit;
use crate::docs::note;
use crate::error::{Error, Result};
use crate::store;

/// Days a deleted note stays in the trash view (it stays in the log, and "Empty trash" still
/// empties it after that).
pub const TRASH_DAYS: i64 = 30;

/// The order of a notes list; pinned notes always come first.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Sort {
    /// Newest edit first.
    #[default]
    Edited,
    /// Newest first by creation time.
    Created,
    /// By title (case ignored), untitled notes last.
    Title,
}

impl std::str::FromStr for Sort {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "edited" => Ok(Sort::Edited),
            "created" => Ok(Sort::Created),
            "title" => Ok(Sort::Title),
            other => Err(Error::Invalid(format!(
                "there is no sort order \"{other}\": use edited, created or title"
            ))),
        }
    }
}

/// Which live notes [`Workspace::list_notes`] lists, and how.
#[derive(Clone, Debug, Default)]
pub struct ListQuery {
    /// Only notes in this notebook (not counting its notebooks' notes).
    pub notebook: Option<super::Place>,
    /// Only notes with every one of these tags (any spelling [`note::tag_name`] accepts).
    pub tags: Vec<String>,
    /// The order (pinned notes first whatever it is).
    pub sort: Sort,
    /// At most this many (`None`: all).
    pub limit: Option<usize>,
}

/// A tag and how many live notes have it.
#[derive(Clone, Debug, Serialize, PartialEq, Eq, TS)]
pub struct TagCount {
    /// The tag.
    pub name: String,
    /// Live notes with it.
    #[ts(type = "number")]
    pub notes: u64,
}

/// Splits a search query into its words and its `tag:NAME` filters (`tag:"two words"` for a
/// tag with spaces; `tag:` is case-insensitive).
pub(crate) fn take_tags(query: &str) -> (String, Vec<String>) {
    take_filters(query, "tag:")
}

/// Splits a search query into the rest and the values of its `prefix` filters (`prefix` in
/// ASCII, any case, at the start or after white space; a value in double quotes may hold
/// spaces).
pub(crate) fn take_filters(query: &str, prefix: &str) -> (String, Vec<String>) {
    let n = prefix.len();
    let mut words = String::new();
    let mut tags = Vec::new();
    let mut rest = query;
    loop {
        // The prefix, any case, at the start or after white space.
        let at = rest.char_indices().map(|(i, _)| i).find(|&i| {
            rest.get(i..i + n).is_some_and(|s| s.eq_ignore_ascii_case(prefix))
                && (i == 0 || rest[..i].ends_with(char::is_whitespace))
        });
        let Some(at) = at else {
            words.push_str(rest);
            break;
        };
        words.push_str(&rest[..at]);
        let after = &rest[at + n..];
        let (name, next) = match after.strip_prefix('"') {
            Some(q) => {
                let end = q.find('"').unwrap_or(q.len());
                (&q[..end], q.get(end + 1..).unwrap_or(""))
            }
            None => {
                let end = after.find(char::is_whitespace).unwrap_or(after.len());
                (&after[..end], &after[end..])
            }
        };
        if !name.trim().is_empty() {
            tags.push(name.to_string());
        }
        words.push(' ');
        rest = next;
    }
    (words.trim().to_string(), tags)
}

/// The stored form of each tag the user typed, or a sentence saying which one cannot be a tag.
fn tag_names(raw: &[&str]) -> Result<Vec<String>> {
    let mut out = Vec::with_capacity(raw.len());
    for r in raw {
        let Some(t) = note::tag_name(r) else {
            return Err(Error::Invalid(format!(
                "\"{}\" cannot be a tag: a tag needs a letter or digit, no line breaks, and at most {} characters",
                r.trim(),
                note::MAX_TAG_CHARS
            )));
        };
        if !out.contains(&t) {
            out.push(t);
        }
    }
    Ok(out)
}

impl Workspace {
    /// Live notes as `q` says: only those with all of its tags, pinned ones first, then in its
    /// order.
    pub fn list_notes(&self, q: &ListQuery) -> Result<Vec<NoteSummary>> {
        let tags: Vec<&str> = q.tags.iter().map(String::as_str).collect();
        let tags = tag_names(&tags)?;
        let order = match q.sort {
            Sort::Edited => store::notes::Order::Edited,
            Sort::Created => store::notes::Order::Created,
            Sort::Title => store::notes::Order::Title,
        };
        let book = match q.notebook {
            Some(super::Place::Notebook(id)) => id.to_string(),
            _ => String::new(),
        };
        let shelf = match q.notebook {
            None => store::notes::Shelf::Any,
            Some(super::Place::Default) => store::notes::Shelf::Default,
            Some(super::Place::Notebook(_)) => store::notes::Shelf::Notebook(&book),
        };
        let filter = store::notes::Filter { shelf, tags: &tags, order, limit: q.limit };
        Ok(store::notes::live(&self.replica.conn, filter)?.into_iter().map(summary_row).collect())
    }

    /// Pins or unpins a note (pinned notes come first in every list). The pin syncs like any
    /// edit; it does not change the note's edit time.
    pub fn set_pinned(&mut self, query: &str, pinned: bool) -> Result<Uuid> {
        let id = self.live_note(query)?;
        self.replica
            .write_local(&id, BodyEdit::Untouched, |doc, _| note::set_pinned(doc, pinned))?;
        Ok(id)
    }

    /// Adds the tags `add` to a note and removes the tags `remove` (a leading `#` and case are
    /// ignored: "#Work" is the tag "work"); returns the note's tags after. When another device
    /// removes a tag this one adds at the same time, the tag stays (add wins).
    pub fn retag(&mut self, query: &str, add: &[&str], remove: &[&str]) -> Result<Vec<String>> {
        let id = self.live_note(query)?;
        let (add, remove) = (tag_names(add)?, tag_names(remove)?);
        let mut after = Vec::new();
        self.replica.write_local(&id, BodyEdit::Untouched, |doc, _| {
            let changed = note::retag(doc, &add, &remove)?;
            after = note::tags(doc);
            Ok(changed)
        })?;
        Ok(after)
    }

    /// Renames a tag on every note that has it (those in the trash too): each note gets `new`
    /// and loses `old`, as [`Workspace::retag`] would do it, so a note tagged `old` on another
    /// device at the same time keeps `old` until renamed again there. Returns the tag's stored
    /// name and how many notes changed.
    pub fn rename_tag(&mut self, old: &str, new: &str) -> Result<TagCount> {
        let (old, new) = (tag_names(&[old])?, tag_names(&[new])?);
        let notes = store::notes::tagged(&self.replica.conn, &old[0])?;
        if notes.is_empty() {
            return Err(Error::Invalid(format!("no note has the tag \"{}\"", old[0])));
        }
        let name = new[0].clone();
        if old == new {
            return Ok(TagCount { name, notes: 0 });
        }
        let mut n = 0;
        for id in notes {
            if self
                .replica
                .write_local(&id, BodyEdit::Untouched, |doc, _| note::retag(doc, &new, &old))?
            {
                n += 1;
            }
        }
        Ok(TagCount { name, notes: n })
    }

    /// Every tag of a live note, by name, with how many live notes have it.
    pub fn tags(&self) -> Result<Vec<TagCount>> {
        Ok(store::notes::tag_counts(&self.replica.conn)?
            .into_iter()
            .map(|(name, notes)| TagCount { name, notes })
            .collect())
    }

    /// The trash: notes deleted in the last [`TRASH_DAYS`] days and not emptied, most recently
    /// deleted first (`updated_at` is when each was deleted).
    pub fn trash(&self) -> Result<Vec<NoteSummary>> {
        let rows = store::notes::trashed(&self.replica.conn, self.trash_since())?;
        Ok(rows.into_iter().map(summary_row).collect())
    }

    /// The notes of the trash ([`Workspace::trash`]) with every word of `query` in their title
    /// or body, matched as [`Workspace::find`] matches live notes (deleted notes are not in
    /// the index: the trash is searched as it is asked), best first, each with a snippet. An
    /// empty query lists the whole trash.
    pub fn find_in_trash(&self, query: &str) -> Result<Vec<NoteSummary>> {
        let rows = store::notes::trashed(&self.replica.conn, self.trash_since())?;
        let Some(fts) = store::search::fts_query(query) else {
            return Ok(rows.into_iter().map(summary_row).collect());
        };
        let mut texts = Vec::with_capacity(rows.len());
        for r in &rows {
            let Ok(id) = Uuid::parse_str(&r.id) else { continue };
            let text =
                self.replica.note_doc(&id, |d, _| (note::read_head(d).title, note::body(d)))?;
            if let Some((title, body)) = text {
                texts.push((r.id.clone(), title, body));
            }
        }
        let found = store::search::match_texts(&self.replica.conn, &fts, &texts)?;
        let mut by_id: std::collections::HashMap<String, store::notes::ListRow> =
            rows.into_iter().map(|r| (r.id.clone(), r)).collect();
        Ok(found
            .into_iter()
            .filter_map(|(id, snippet)| {
                let row = by_id.remove(&id)?;
                let snippet = snippet
                    .into_iter()
                    .map(|(text, hit)| super::SnippetPart { text, hit })
                    .collect();
                Some(NoteSummary { snippet, ..summary_row(row) })
            })
            .collect())
    }

    /// The oldest deletion time (ms) the trash view shows.
    fn trash_since(&self) -> i64 {
        self.replica.now() - TRASH_DAYS * 24 * 3600 * 1000
    }

    /// Empties the trash: every deleted note (older ones out of the trash view included) is
    /// marked emptied, so it leaves the lists, the trash and search on every device once this
    /// syncs. Its changes stay in the encrypted log (an append-only log forgets nothing).
    /// Returns how many notes were emptied.
    pub fn empty_trash(&mut self) -> Result<usize> {
        let ids = store::notes::trashed_ids(&self.replica.conn)?;
        // A few hundred notes a transaction: one commit each, not one per note, and the other
        // connections (indexing, sync) never wait long for the write lock.
        let mut n = 0;
        for chunk in ids.chunks(200) {
            n += self
                .replica
                .write_local_each(chunk, BodyEdit::Untouched, |_, doc, _| note::purge(doc))?;
        }
        Ok(n)
    }

    /// A live note's id (a deleted one is reported missing).
    pub(crate) fn live_note(&self, query: &str) -> Result<Uuid> {
        let id = self.resolve(query)?;
        if store::notes::is_live(&self.replica.conn, &id)? {
            Ok(id)
        } else {
            Err(Error::NoSuchNote(query.to_string()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_filters_are_taken_out_of_a_query() {
        let cases: [(&str, &str, &[&str]); 7] = [
            ("needle", "needle", &[]),
            ("tag:work needle", "needle", &["work"]),
            ("needle TAG:Work tag:home", "needle", &["Work", "home"]),
            ("tag:\"two words\" x", "x", &["two words"]),
            ("tag:", "", &[]),
            ("hashtag:x y", "hashtag:x y", &[]),
            ("tag:work", "", &["work"]),
        ];
        for (q, words, tags) in cases {
            let (w, t) = take_tags(q);
            assert_eq!(
                (w.as_str(), t.iter().map(String::as_str).collect::<Vec<_>>()),
                (words, tags.to_vec()),
                "{q:?}"
            );
        }
    }
}
