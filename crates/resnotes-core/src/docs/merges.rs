//! Edits a person should look at: changes from another device that were made without knowing
//! of this device's edits *and* touched the same words (two devices replacing "mom", one with
//! "dad", the other with "grandma", merge into "dadgrandma"). Automerge merges them without
//! losing either; [`overlapping`] finds them so the note can be marked until the user has seen
//! it (`store::notes::mark_merged`).
//!
//! How: after changes are applied, the changes only one side knew of are found from the change
//! graph; the text each side had is compared with the text both started from (the title and
//! the body, with [`note::splices`]), and the two sides' edited spans are tested for touching.
//! Edits that only follow each other (a fast-forward) or touch different words are not marked.
//!
//! Cost (BENCHMARKS.md, "Merge marks"): reading the three texts at their versions is nearly all
//! of it, ~11 ms each for a 100 KB note of 10,000 changes, so a pull of edits made beside this
//! device's takes ~35 ms more there; the graph walk and the comparison take ~1 ms. A body over
//! [`CHECKED_UP_TO`] characters is not compared (its pulls would hold the database for
//! hundreds of milliseconds while the user types); its title still is.

use std::collections::HashSet;

use automerge::{AutoCommit, ChangeHash, ReadDoc};
use uuid::Uuid;

use crate::docs::note::{self, Splice};

/// Bodies longer than this (in characters) are not compared; about twice the measured 100 KB.
const CHECKED_UP_TO: usize = 200_000;

/// The devices whose changes, applied on top of `before` (the document's heads before they
/// were applied), edited the same words as changes `before` had and they did not know of.
/// Empty when nothing overlaps.
pub(crate) fn overlapping(doc: &mut AutoCommit, before: &[ChangeHash]) -> Vec<Uuid> {
    let after = doc.get_heads();
    let arrived: Vec<ChangeHash> = after.iter().filter(|h| !before.contains(h)).copied().collect();
    if before.is_empty() || arrived.is_empty() {
        return Vec::new();
    }
    // Changes only this side had (not under the arrived heads), and only the other side had.
    let ours = sides(doc, &arrived);
    if ours.is_empty() {
        return Vec::new(); // a fast-forward
    }
    let theirs = sides(doc, before);
    let only: HashSet<ChangeHash> = ours.iter().chain(&theirs).map(|c| c.hash).collect();
    let mut common: Vec<ChangeHash> = ours
        .iter()
        .chain(&theirs)
        .flat_map(|c| c.deps.iter().copied())
        .filter(|d| !only.contains(d))
        .collect();
    common.sort();
    common.dedup();
    let touched = ["title", "body"].iter().any(|key| {
        let Some(obj) = note::text_obj(doc, key) else { return false };
        if doc.length(&obj) > CHECKED_UP_TO {
            return false;
        }
        let text_at = |heads: &[ChangeHash]| doc.text_at(&obj, heads).unwrap_or_default();
        let base = text_at(&common);
        let (mine, other) = (text_at(before), text_at(&arrived));
        spans_meet(&note::splices(&base, &mine), &note::splices(&base, &other))
    });
    if !touched {
        return Vec::new();
    }
    let mut devices: Vec<Uuid> =
        theirs.iter().filter_map(|c| Uuid::from_slice(&c.actor).ok()).collect();
    devices.sort();
    devices.dedup();
    devices
}

/// What [`overlapping`] needs of a change.
struct Side {
    hash: ChangeHash,
    deps: Vec<ChangeHash>,
    actor: Vec<u8>,
}

/// The changes of `doc` that `heads` do not include.
fn sides(doc: &mut AutoCommit, heads: &[ChangeHash]) -> Vec<Side> {
    doc.get_changes_meta(heads)
        .into_iter()
        .map(|c| Side { hash: c.hash, deps: c.deps, actor: c.actor.to_bytes().to_vec() })
        .collect()
}

/// Whether an edit of `a` touches an edit of `b` (splices of the same old text): their spans
/// overlap or meet, so that two insertions at one place, or an insertion at the edge of a
/// replaced word, count; edits of different words (even of neighbours separated by a space)
/// do not.
fn spans_meet(a: &[Splice], b: &[Splice]) -> bool {
    let span = |s: &Splice| (s.pos, s.pos + s.delete);
    a.iter().any(|x| {
        let (s1, e1) = span(x);
        b.iter().any(|y| {
            let (s2, e2) = span(y);
            s1 <= e2 && s2 <= e1
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_meet_when_they_touch_the_same_words() {
        // (what, text both started from, one side's text, the other's, whether they meet)
        let cases = [
            (
                "the same word replaced twice",
                "call mom today",
                "call dad today",
                "call grandma today",
                true,
            ),
            ("both typed at the end", "shopping:", "shopping: milk", "shopping: eggs", true),
            (
                "a word and its neighbour",
                "call mom today",
                "call dad today",
                "call mom tomorrow",
                false,
            ),
            ("different lines", "one\ntwo\nthree", "ONE\ntwo\nthree", "one\ntwo\nTHREE", false),
            (
                "one deleted a word the other changed",
                "call mom today",
                "call today",
                "call mother today",
                true,
            ),
            ("an insertion inside a deleted span", "abcdef", "af", "abcXdef", true),
            ("only one side edited", "same", "same", "changed", false),
        ];
        for (what, base, a, b, meet) in cases {
            let (a, b) = (note::splices(base, a), note::splices(base, b));
            assert_eq!(spans_meet(&a, &b), meet, "{what}");
            assert_eq!(spans_meet(&b, &a), meet, "{what}, the other way round");
        }
    }
}
