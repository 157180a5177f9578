//! A note's history at scale (issue 17): one ~100 KB note edited in `changes` small changes
//! (a few characters each, as the editor saves them) by three devices taking turns through a
//! shared folder, 100 changes per turn two seconds apart, turns ten minutes apart, one turn in
//! ten made without syncing first (two devices editing at once). A fourth device joins and
//! reads the history of the note it lists from a summary. Then, on the first device:
//! listing the history (first time: the document is loaded; then warm), viewing the oldest and
//! a middle version, comparing two versions, and restoring a version once it is shown (as the
//! History panel does; the CLI reads it first, adding a view): a recent one (what undoing a
//! mistake takes) and, as the worst case, the oldest and a middle one in turn.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use anyhow::{bail, Result};
use resnotes_core::transport::Folder;
use resnotes_core::{Field, TargetKind, Workspace};
use serde_json::{json, Value};

use crate::corpus::{body_of_size, Rng};
use crate::measure::{round, stats, time};
use crate::PASS;

/// 2026-01-01 00:00 UTC: the first change.
const START: i64 = 1_767_225_600_000;

pub fn scenario(changes: usize, reps: usize) -> Result<Value> {
    let tmp = tempfile::tempdir()?;
    let clock = Arc::new(AtomicI64::new(START));
    let at = |c: &Arc<AtomicI64>| -> resnotes_core::Clock {
        let c = c.clone();
        Box::new(move || c.load(Ordering::SeqCst))
    };
    let folder_dir = tmp.path().join("folder");
    std::fs::create_dir_all(&folder_dir)?;
    let folder = Folder::new(folder_dir);
    let mut rng = Rng::new(17);
    let mut a = Workspace::init(&tmp.path().join("a"), false, at(&clock))?;
    let id = a.new_note("A long document", &body_of_size(&mut rng, 100_000))?;
    a.add_target(TargetKind::Folder, &folder, Some(PASS), 10)?;
    a.sync_all(&mut |_| {})?;
    let mut devices = vec![a];
    // A device joining through the folder, synced once.
    let join = |name: &str| -> Result<Workspace> {
        let dir = tmp.path().join(name);
        let mut d =
            Workspace::join(&dir, TargetKind::Folder, &folder, Some(PASS), false, at(&clock))?;
        d.sync_all(&mut |_| {})?;
        Ok(d)
    };
    for name in ["b", "c"] {
        devices.push(join(name)?);
    }
    let (_, setup_ms) = time(|| -> Result<()> {
        let mut made = 0;
        let mut turn = 0;
        while made < changes {
            let d = &mut devices[turn % 3];
            if turn % 10 != 9 {
                d.sync_all(&mut |_| {})?;
            }
            let len = d.note(&id.to_string())?.body.chars().count();
            for _ in 0..100.min(changes - made) {
                clock.fetch_add(2_000, Ordering::SeqCst);
                let pos = rng.below(len.max(1));
                d.splice_note(&id, Field::Body, pos, rng.below(3), "abc")?;
                made += 1;
            }
            d.sync_all(&mut |_| {})?;
            clock.fetch_add(10 * 60_000, Ordering::SeqCst);
            turn += 1;
        }
        for d in devices.iter_mut() {
            d.sync_all(&mut |_| {})?;
        }
        Ok(())
    });
    eprintln!("  {changes} changes by 3 devices made in {:.1} s", setup_ms / 1000.0);
    // A fourth device joining now lists the note from the summary of the last entry (written
    // by a device holding every change); its history builds the note's document from the log
    // first, as opening the note would.
    clock.fetch_add(2_000, Ordering::SeqCst);
    devices[0].splice_note(&id, Field::Body, 0, 0, "# ")?;
    devices[0].sync_all(&mut |_| {})?;
    let joined = join("d")?;
    if joined.listed_notes()? != [id.to_string()] {
        bail!("the device that just joined does not list the note from its summary");
    }
    let (r, history_joined_ms) = time(|| joined.history(&id.to_string()));
    if r?.len() < 3 {
        bail!("the history on a device that just joined is short");
    }
    drop(joined);
    // Pulling another device's turn of 100 changes: one made on top of this device's text (a
    // fast-forward), and one made while this device edited too, whose edits are then compared
    // with this device's for words both changed (docs/merges.rs; one edit in three lands in
    // the same words as the other side's, at these random positions and sizes).
    let mut turn = |d: &mut Workspace| -> Result<()> {
        let len = d.note(&id.to_string())?.body.chars().count();
        for _ in 0..100 {
            clock.fetch_add(2_000, Ordering::SeqCst);
            d.splice_note(&id, Field::Body, rng.below(len.max(1)), rng.below(3), "abc")?;
        }
        Ok(())
    };
    let (mut pull_after, mut pull_beside) = (Vec::new(), Vec::new());
    {
        // Devices b and c: the first device, measured below, does not see these turns.
        let (x, y) = devices.split_at_mut(2);
        let (other, me) = (&mut x[1], &mut y[0]);
        for _ in 0..reps {
            turn(other)?;
            other.sync_all(&mut |_| {})?;
            let (r, ms) = time(|| me.sync_all(&mut |_| {}));
            r?;
            pull_after.push(ms);
            turn(me)?;
            turn(other)?;
            other.sync_all(&mut |_| {})?;
            let (r, ms) = time(|| me.sync_all(&mut |_| {}));
            r?;
            pull_beside.push(ms);
            other.sync_all(&mut |_| {})?;
        }
    }
    let merged_after_pulls = devices[2].list(None)?.iter().any(|n| n.merged);
    // The first device, opened anew: nothing of the note is loaded yet.
    let dir = devices[0].dir().to_path_buf();
    drop(devices);
    let mut a = Workspace::open_with_clock(&dir, at(&clock))?;
    let q = id.to_string();
    let (first, first_ms) = time(|| a.history(&q));
    let versions = first?;
    if versions.len() < 3 {
        bail!("the history lists only {} versions", versions.len());
    }
    let mut list = Vec::new();
    for _ in 0..reps {
        list.push(time(|| a.history(&q)).1);
    }
    let oldest = versions.last().expect("checked above").id.clone();
    let middle = versions[versions.len() / 2].id.clone();
    // Versions read once each (the last few read are kept, so reading one again costs nothing):
    // spread over the whole history, oldest first.
    let n = versions.len();
    let spread = |k: usize| -> Vec<String> {
        (0..k).map(|i| versions[n - 1 - i * (n - 3) / k].id.clone()).collect()
    };
    let mut view = Vec::new();
    for v in spread(2 * reps) {
        let (r, ms) = time(|| a.version(&q, &v));
        r?;
        view.push(ms);
    }
    let (old_text, new_text) = (a.version(&q, &oldest)?.body, a.version(&q, &middle)?.body);
    // Two versions far apart (~5,000 changes), neither read before.
    let mut diff = Vec::new();
    let mut words = Vec::new();
    let far = spread(2 * reps);
    for i in 0..reps {
        let (r, ms) = time(|| a.compare(&q, Some(&far[i]), Some(&far[reps + i])));
        r?;
        diff.push(ms);
        words.push(time(|| resnotes_core::word_diff(&old_text, &new_text)).1);
    }
    // Restoring what a mistake undid: the version before a recent session, then that session's
    // version again (each restore changes the text), the newest two versions one after the
    // other (a session made while another device's was not synced yet differs from the one
    // before it by both); and, twice each, the oldest and a middle version (thousands of
    // splices apart).
    let k = (1..versions.len() - 1)
        .find(|&k| !versions[k].concurrent && !versions[k + 1].concurrent)
        .unwrap_or(1);
    let recent = [versions[k + 1].id.clone(), versions[k].id.clone()];
    // What "Compare with now" does on the version before that session, once it is shown.
    let mut compare_recent = Vec::new();
    a.version(&q, &recent[0])?;
    for _ in 0..reps {
        let (r, ms) = time(|| a.compare(&q, Some(&recent[0]), None));
        r?;
        compare_recent.push(ms);
    }
    let mut restore = |rounds: usize, pair: &[String; 2]| -> Result<Vec<f64>> {
        let mut ms = Vec::new();
        for i in 0..rounds {
            clock.fetch_add(60_000, Ordering::SeqCst);
            // As in the History panel: the version is shown, then restored.
            a.version(&q, &pair[i % 2])?;
            let (r, t) = time(|| a.restore_version(&q, &pair[i % 2]));
            if !r? {
                bail!("restoring a version changed nothing");
            }
            ms.push(t);
        }
        Ok(ms)
    };
    let mut restore_recent = restore(reps, &recent)?;
    let mut restore_far = restore(4, &[oldest.clone(), middle.clone()])?;
    Ok(json!({
        "changes": changes,
        "versions": versions.len(),
        "concurrent_versions": versions.iter().filter(|v| v.concurrent).count(),
        "body_chars": new_text.chars().count(),
        "setup_s": round(setup_ms / 1000.0),
        "pull_turn_after_ms": stats(&mut pull_after),
        "pull_turn_beside_ms": stats(&mut pull_beside),
        "merged_after_pulls": merged_after_pulls,
        "history_first_ms": round(first_ms),
        "history_just_joined_ms": round(history_joined_ms),
        "history_ms": stats(&mut list),
        "view_version_ms": stats(&mut view),
        "compare_versions_ms": stats(&mut diff),
        "compare_recent_with_now_ms": stats(&mut compare_recent),
        "word_diff_ms": stats(&mut words),
        "restore_recent_ms": stats(&mut restore_recent),
        "restore_far_ms": stats(&mut restore_far),
    }))
}
