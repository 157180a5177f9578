//! Notes made in bulk (an import): each new note's one change, with its body written straight
//! into the change instead of through Automerge's document.
//!
//! Automerge makes one operation per character of text. Through a document (`splice_text`,
//! commit, then `get_last_local_change`, which rebuilds the change from the document since
//! Automerge keeps no change bytes) that costs ~1 µs per character, most of an import's time
//! (BENCHMARKS.md, "Import and export"). A new note's body is a run of insertions, each after
//! the one before, so its operations can be listed directly and encoded once: ~0.2 µs per
//! character. The change is an ordinary one (FORMAT.md §4.3): any Automerge reads it, and it
//! applies to an empty document exactly as the document-made change would (tested below).

use automerge::legacy::{ElementId, Key, ObjectId, Op, OpId, OpType, SortedVec};
use automerge::transaction::Transactable;
use automerge::{AutoCommit, Change, ExpandedChange, ObjType, ScalarValue, ROOT};

use crate::docs::{note, DocError};
use crate::error::Result;

/// Commits a new note whose other fields `head` holds (made with [`note::new_doc`] and not
/// committed yet, no `body` field) with `body` as its body, and returns the bytes of the one
/// change it is then made of. `head` is left without the body: it can be read for the other
/// fields but is not the note's document (load the change for that).
pub(crate) fn first_change(head: &mut AutoCommit, body: &str, now: i64) -> Result<Vec<u8>> {
    // The body's text object is the change's last operation, so its characters follow it.
    head.put_object(ROOT, "body", ObjType::Text).map_err(|e| DocError::Automerge(e.to_string()))?;
    note::take_change(head, now)
        .ok_or_else(|| DocError::Automerge("a new note made no change".into()))?;
    let mut change: ExpandedChange = head
        .get_last_local_change()
        .ok_or_else(|| DocError::Automerge("a new note made no change".into()))?
        .decode();
    let (Some(last), true) = (change.operations.last(), change.seq == 1) else {
        return Err(DocError::Automerge("a new note's change is not its first".into()).into());
    };
    if last.action != OpType::Make(ObjType::Text) || last.key != Key::Map("body".into()) {
        return Err(
            DocError::Automerge("a new note's change does not end with its body".into()).into()
        );
    }
    let actor = change.actor_id.clone();
    let text_op = change.start_op.get() + change.operations.len() as u64 - 1;
    let text = ObjectId::Id(OpId(text_op, actor.clone()));
    let mut after = ElementId::Head;
    change.operations.reserve(body.len());
    let mut buf = [0u8; 4];
    for (k, c) in body.chars().enumerate() {
        change.operations.push(Op {
            action: OpType::Put(ScalarValue::Str(c.encode_utf8(&mut buf).into())),
            obj: text.clone(),
            key: Key::Seq(after),
            pred: SortedVec::new(),
            insert: true,
        });
        after = ElementId::Id(OpId(text_op + 1 + k as u64, actor.clone()));
    }
    change.hash = None;
    Ok(Change::from(change).raw_bytes().to_vec())
}

#[cfg(test)]
mod tests {
    use automerge::ReadDoc;
    use proptest::prelude::*;
    use uuid::Uuid;

    use super::*;

    fn through_document(client: &Uuid, title: &str, body: &str, now: i64) -> AutoCommit {
        let mut doc = note::new_doc(client);
        note::create(&mut doc, title, body, now).unwrap();
        note::set_source(&mut doc, "markdown:x").unwrap();
        note::take_change(&mut doc, now).unwrap();
        doc
    }

    fn written_directly(client: &Uuid, title: &str, body: &str, now: i64) -> Vec<u8> {
        let mut head = note::new_doc(client);
        note::create_head(&mut head, title, now).unwrap();
        note::set_source(&mut head, "markdown:x").unwrap();
        first_change(&mut head, body, now).unwrap()
    }

    proptest! {
        /// Applied to an empty document, the change gives the note the document-made change
        /// gives, and the document goes on taking edits and merging like any other.
        #[test]
        fn the_change_makes_the_same_note(title in "\\PC{0,20}", body in "\\PC{0,300}", at in 0usize..300) {
            let client = Uuid::new_v4();
            let now = 1_700_000_000_123;
            let bytes = written_directly(&client, &title, &body, now);
            let mut doc = note::load(&bytes, &client).unwrap();
            let expected = through_document(&client, &title, &body, now);
            prop_assert_eq!(note::body(&doc), body.clone());
            prop_assert_eq!(note::read_head(&doc), note::read_head(&expected));
            prop_assert_eq!(note::source(&doc), Some("markdown:x".to_string()));
            let change = Change::from_bytes(bytes.clone()).unwrap();
            prop_assert_eq!(change.seq(), 1);
            prop_assert_eq!(change.timestamp(), note::change_time(now));
            prop_assert_eq!(bytes.get(8), Some(&1), "an uncompressed change chunk (FORMAT.md §4.2)");
            // An edit on another device merges in.
            let other = Uuid::new_v4();
            let mut theirs = note::load(&bytes, &other).unwrap();
            let at = at.min(body.chars().count());
            note::splice(&mut theirs, "body", at, 0, "¶").unwrap();
            note::take_change(&mut theirs, now + 1).unwrap();
            doc.merge(&mut theirs).unwrap();
            let mut want: Vec<char> = body.chars().collect();
            want.insert(at, '¶');
            prop_assert_eq!(note::body(&doc), want.into_iter().collect::<String>());
            prop_assert_eq!(doc.get_heads(), theirs.get_heads());
        }
    }

    #[test]
    fn a_head_that_was_committed_already_is_refused() {
        let client = Uuid::new_v4();
        let mut head = note::new_doc(&client);
        note::create_head(&mut head, "t", 1).unwrap();
        note::take_change(&mut head, 1).unwrap();
        assert!(first_change(&mut head, "body", 2).is_err());
    }

    #[test]
    fn the_body_is_text() {
        let client = Uuid::new_v4();
        let mut head = note::new_doc(&client);
        note::create_head(&mut head, "t", 1).unwrap();
        let doc = note::load(&first_change(&mut head, "a\nb", 1).unwrap(), &client).unwrap();
        let (value, obj) = doc.get(ROOT, "body").unwrap().unwrap();
        assert_eq!(value.to_objtype(), Some(ObjType::Text));
        assert_eq!(doc.text(&obj).unwrap(), "a\nb");
    }
}
