//! The texts of big notes, kept beside their documents (table `texts`) so that opening one shows
//! it at once: loading a saved Automerge document costs about 1.5 µs per character (7 s for a
//! 5 MB note) and reading its text another ~20 ns per character. A kept text is used only while
//! it is for the note's current row revision; it is written when a big note's document had to
//! be read anyway, and for the documents still loaded when the user leaves a note
//! ([`keep_loaded`]). Smaller notes load fast enough without one.

use automerge::AutoCommit;
use rusqlite::Connection;
use uuid::Uuid;

use crate::docs::materialize::DocCache;
use crate::docs::note;
use crate::error::Result;
use crate::store::notes;

/// Bodies at least this long (characters) get a kept text.
pub(crate) const KEEP_TEXT_CHARS: usize = 64 * 1024;

/// A document version as kept: change hashes in hex, comma-separated.
pub(crate) fn heads_text(doc: &mut AutoCommit) -> String {
    doc.get_heads().iter().map(|h| h.to_string()).collect::<Vec<_>>().join(",")
}

/// Keeps the text of `doc` (the note's document at row revision `rev`, whose fields `f` were
/// read from it) if the note is big and live.
pub(crate) fn keep(
    conn: &Connection,
    id: &Uuid,
    rev: i64,
    doc: &mut AutoCommit,
    f: &note::NoteFields,
) -> Result<bool> {
    if f.deleted || note::body_len(doc) < KEEP_TEXT_CHARS {
        return Ok(false);
    }
    notes::keep_text(conn, id, rev, &heads_text(doc), &f.title, &f.body)?;
    Ok(true)
}

/// Keeps the texts of the loaded big documents whose kept text is missing or older (the notes
/// typed into since). Returns how many were written.
pub(crate) fn keep_loaded(conn: &Connection, cache: &mut DocCache) -> Result<usize> {
    let mut written = 0;
    for (id, rev, doc) in cache.entries() {
        if note::body_len(doc) < KEEP_TEXT_CHARS || notes::text_rev(conn, id)? == Some(rev) {
            continue;
        }
        // Only a document that is still the row's current one (another process may have
        // written since it was loaded).
        if notes::stored(conn, id)?.map(|s| s.rev) != Some(rev) {
            continue;
        }
        let f = note::read(doc);
        if keep(conn, id, rev, doc, &f)? {
            written += 1;
        }
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use crate::{system_clock, Field, TextSplice, Workspace};

    use super::*;

    fn big_body() -> String {
        "A line of a long note, typed over many days.\n".repeat(KEEP_TEXT_CHARS / 40)
    }

    #[test]
    fn a_big_note_opens_from_its_kept_text_only_while_that_text_is_current() {
        let dir = tempfile::tempdir().unwrap();
        let mut ws = Workspace::init(dir.path(), true, system_clock()).unwrap();
        let id = ws.new_note("Big", &big_body()).unwrap();
        let small = ws.new_note("Small", "short").unwrap();
        // The first read loads the document and keeps the text; a small note keeps none.
        let first = ws.note(&id.to_string()).unwrap();
        ws.note(&small.to_string()).unwrap();
        assert!(notes::current_text(&ws.replica.conn, &id).unwrap().is_some());
        assert!(notes::text_rev(&ws.replica.conn, &small).unwrap().is_none());
        // Read again (on a freshly opened workspace): the kept text is what is shown. (Marked
        // here to prove it is used.)
        drop(ws);
        let mut ws = Workspace::open(dir.path()).unwrap();
        ws.replica.conn.execute("UPDATE texts SET title = 'kept'", []).unwrap();
        let again = ws.note(&id.to_string()).unwrap();
        assert_eq!(
            (again.title.as_str(), &again.body, &again.heads),
            ("kept", &first.body, &first.heads)
        );
        // An edit makes it stale: the note is read from its document, with the edit.
        let splice = [TextSplice { pos: 0, delete: 0, insert: "New ".into() }];
        ws.edit_open_note(&id, &first.heads, &[(Field::Body, &splice[..])]).unwrap();
        assert!(notes::current_text(&ws.replica.conn, &id).unwrap().is_none());
        // Leaving the note keeps its text again, for the edited version.
        assert_eq!(ws.keep_texts().unwrap(), 1);
        assert_eq!(ws.keep_texts().unwrap(), 0, "nothing new to keep");
        let kept = notes::current_text(&ws.replica.conn, &id).unwrap().unwrap();
        assert!(kept.body.starts_with("New A line"));
        let now = ws.note(&id.to_string()).unwrap();
        assert_eq!((now.title.as_str(), now.body.as_str()), ("Big", kept.body.as_str()));
        assert_ne!(now.heads, first.heads);
        // A deleted note is not shown from its kept text; a rebuild drops every kept text.
        ws.delete_note(&id.to_string()).unwrap();
        assert!(ws.note(&id.to_string()).is_err());
        ws.restore_note(&id.to_string()).unwrap();
        ws.rebuild().unwrap();
        assert!(notes::text_rev(&ws.replica.conn, &id).unwrap().is_none());
        assert_eq!(ws.note(&id.to_string()).unwrap().body, now.body);
    }
}
