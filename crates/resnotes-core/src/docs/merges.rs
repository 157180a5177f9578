//! Edits a person should look at: changes from another device that were made without knowing
//! of this device's edits *and* touched the same words (two devices replacing "mom", one with
//! "dad", the other with "grandma", merge into "dadgrandma"). Automerge merges them without
//! losing either; [`overlapping`] finds them so the note can be marked until the user has seen
//! it (`store::notes::mark_merged`).
//!
//! How: after changes are applied, the change graph gives the other side's changes made without
//! knowing of all of this side's (another device may since have merged them and typed on), and
//! this side's changes those did not know of; when this device wrote some of the latter, the
//! text each side had is compared with the text both started from (the title and the body, with
//! [`note::splices`]), and the two sides' edited spans are tested for touching. Edits that only
//! follow each other (a fast-forward), touch different words, or were all made on other devices
//! (this one only relays them) are not marked.
//!
//! Cost (BENCHMARKS.md, "Merge marks"): reading the three texts at their versions is nearly all
//! of it, ~11 ms each for a 100 KB note of 10,000 changes, so a pull of edits made beside this
//! device's takes ~35 ms more there; the graph walk and the comparison take ~1 ms (two long
//! offline sessions meeting can take up to ~0.4 s more: each comparison stops at 200 ms). A body over
//! [`CHECKED_UP_TO`] characters is not compared (its pulls would hold the database for
//! hundreds of milliseconds while the user types); its title still is.

use std::collections::HashSet;

use automerge::{AutoCommit, ChangeHash, ReadDoc};
use uuid::Uuid;

use crate::docs::note::{self, Splice};

/// Bodies longer than this (in characters) are not compared; about twice the measured 100 KB.
const CHECKED_UP_TO: usize = 200_000;

/// When changes applied on top of `before` (the document's heads before they were applied)
/// were made without knowing of this device's edits (`me`'s changes among those `before` had)
/// and touched the same words: the devices that made them. Empty otherwise — also on a device
/// that only relays two others' edits (it edited nothing itself).
pub(crate) fn overlapping(doc: &mut AutoCommit, before: &[ChangeHash], me: &Uuid) -> Vec<Uuid> {
    if before.is_empty() {
        return Vec::new();
    }
    // The changes only the other side had, and of those the ones made without knowing all of
    // this side's (`before`): another device may have merged this side's edits and typed on top
    // before this pull brought both, and only its edits made beside them are compared.
    let theirs = sides(doc, before);
    let beside = unaware_of(&theirs, before);
    if beside.is_empty() {
        return Vec::new(); // a fast-forward
    }
    let frontier = heads_of(&beside, &theirs);
    // This side's changes that the other side did not have when it made those.
    let beside_set: HashSet<ChangeHash> = beside.iter().copied().collect();
    let theirs_set: HashSet<ChangeHash> = theirs.iter().map(|c| c.hash).collect();
    let ours: Vec<Side> =
        sides(doc, &frontier).into_iter().filter(|c| !theirs_set.contains(&c.hash)).collect();
    let me = me.as_bytes().as_slice();
    if !ours.iter().any(|c| c.actor == me) {
        return Vec::new();
    }
    let ours_set: HashSet<ChangeHash> = ours.iter().map(|c| c.hash).collect();
    let mut common: Vec<ChangeHash> = ours
        .iter()
        .chain(theirs.iter().filter(|c| beside_set.contains(&c.hash)))
        .flat_map(|c| c.deps.iter().copied())
        .filter(|d| !beside_set.contains(d) && !ours_set.contains(d))
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
        let (mine, other) = (text_at(before), text_at(&frontier));
        spans_meet(&note::splices(&base, &mine), &note::splices(&base, &other))
    });
    if !touched {
        return Vec::new();
    }
    let mut devices: Vec<Uuid> = theirs
        .iter()
        .filter(|c| beside_set.contains(&c.hash))
        .filter_map(|c| Uuid::from_slice(&c.actor).ok())
        .collect();
    devices.sort();
    devices.dedup();
    devices
}

/// Of `theirs` (changes not under `before`, deps first as Automerge lists them), those whose
/// history does not hold every one of `before`.
fn unaware_of(theirs: &[Side], before: &[ChangeHash]) -> Vec<ChangeHash> {
    // Which of `before` each change has in its history. A head of `before` is under no other
    // change `before` had, so it is reached only as a dependency of one of `theirs`.
    let mut knows: std::collections::HashMap<ChangeHash, HashSet<ChangeHash>> =
        std::collections::HashMap::new();
    let mut out = Vec::new();
    for c in order(theirs) {
        let mut k: HashSet<ChangeHash> = HashSet::new();
        for d in &c.deps {
            if before.contains(d) {
                k.insert(*d);
            } else if let Some(inner) = knows.get(d) {
                k.extend(inner.iter().copied());
            }
        }
        if k.len() < before.len() {
            out.push(c.hash);
        }
        knows.insert(c.hash, k);
    }
    out
}

/// `changes` in an order where each comes after those of them it depends on.
fn order(changes: &[Side]) -> Vec<&Side> {
    let mut placed: HashSet<ChangeHash> = HashSet::new();
    let inside: HashSet<ChangeHash> = changes.iter().map(|c| c.hash).collect();
    let mut out = Vec::with_capacity(changes.len());
    let mut left: Vec<&Side> = changes.iter().collect();
    while !left.is_empty() {
        let before = left.len();
        left.retain(|c| {
            let ready = c.deps.iter().all(|d| !inside.contains(d) || placed.contains(d));
            if ready {
                placed.insert(c.hash);
                out.push(*c);
            }
            !ready
        });
        if left.len() == before {
            out.extend(left); // a cycle cannot happen in a change graph; never loop for ever
            break;
        }
    }
    out
}

/// The members of `set` that no other member depends on (`all` holds their dependencies).
fn heads_of(set: &[ChangeHash], all: &[Side]) -> Vec<ChangeHash> {
    let inside: HashSet<ChangeHash> = set.iter().copied().collect();
    let under: HashSet<ChangeHash> = all
        .iter()
        .filter(|c| inside.contains(&c.hash))
        .flat_map(|c| c.deps.iter().copied())
        .collect();
    let mut heads: Vec<ChangeHash> = set.iter().filter(|h| !under.contains(h)).copied().collect();
    heads.sort();
    heads
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
