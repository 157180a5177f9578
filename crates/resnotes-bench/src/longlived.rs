//! The long-lived workspace (issue 21): `notes` notes edited over `syncs` small syncs by three
//! devices, each sync one edit sealed into one entry — what `sync --watch` and the app make of
//! a day's typing. Reports what the shared folder holds (files, bytes, bytes on disk), how long
//! a new device takes to join until every note is listed, and its data dir's size.
//!
//! Setup is in-process and does not sync through the shared folder after the start: each
//! device pushes its entries to a folder of its own, whose client folder is then copied into
//! the shared one (entries are copied verbatim, FORMAT.md §2), so the folder ends as if they
//! had all synced there, without hours of setup.

use std::path::Path;
use std::process::Command;

use anyhow::{bail, Result};
use resnotes_core::transport::{Folder, Transport};
use resnotes_core::{system_clock, Field, TargetKind, Workspace};
use serde_json::{json, Map, Value};

use crate::corpus::{self, Rng};
use crate::measure::{self, bytes_of, du, time};
use crate::{check, join_folder, PASS};

/// Devices that edit the workspace.
const DEVICES: usize = 3;

/// Runs the scenario and returns its figures.
/// With `fewer_files`, the workspace keeps fewer files (FORMAT.md §11.1) from the start.
pub fn scenario(notes: usize, syncs: usize, fewer_files: bool) -> Result<Value> {
    let tmp = tempfile::tempdir()?;
    let shared = tmp.path().join("F");
    std::fs::create_dir_all(&shared)?;
    let mut rng = Rng::new(21);
    let (ids, setup_ms) = time(|| -> Result<Vec<uuid::Uuid>> {
        let dir0 = tmp.path().join("d0");
        let mut first = Workspace::init(&dir0, false, system_clock())?;
        resnotes_core::testing::set_durable(&first, false)?;
        let t = first.add_target(TargetKind::Folder, &Folder::new(&shared), Some(PASS), 10)?;
        if fewer_files {
            first.use_fewer_files()?;
        }
        let ids = (0..notes)
            .map(|k| first.new_note(&format!("note {k}"), &corpus::sentence(&mut rng)))
            .collect::<resnotes_core::Result<Vec<_>>>()?;
        let tr = Folder::new(&shared);
        check(&first.sync_with(&[(&t, &tr as &dyn Transport)], &mut |_| {})?)?;
        drop(first);
        for d in 0..DEVICES {
            let dir = tmp.path().join(format!("d{d}"));
            let mut ws = if d == 0 { Workspace::open(&dir)? } else { join_folder(&dir, &shared)? };
            resnotes_core::testing::set_durable(&ws, false)?;
            if d > 0 {
                check(&ws.sync_all(&mut |_| {})?)?;
            }
            // This device's share of the syncs: one small edit each, sealed as one entry.
            for _ in 0..syncs / DEVICES {
                let id = &ids[rng.below(ids.len())];
                let text = format!(" {}", corpus::title(&mut rng));
                ws.splice_note(id, Field::Body, usize::MAX, 0, &text)?;
            }
            ws.seal_pending(1, usize::MAX)?;
            let own = tmp.path().join(format!("own{d}"));
            std::fs::create_dir_all(&own)?;
            let folder = Folder::new(&own);
            let t = ws.add_target(TargetKind::Folder, &folder, Some(PASS), 10)?;
            check(&ws.sync_with(&[(&t, &folder as &dyn Transport)], &mut |_| {})?)?;
            let client = ws.client_id().to_string();
            copy_client(&own.join(&client), &shared)?;
        }
        Ok(ids)
    });
    let ids = ids?;
    keep_for_profiling(&shared)?;
    let mut r = Map::new();
    r.insert("notes".into(), json!(notes));
    r.insert("syncs".into(), json!(syncs));
    r.insert("fewer_files".into(), json!(fewer_files));
    r.insert("setup_s".into(), json!(measure::round(setup_ms / 1000.0)));
    r.insert("folder_files".into(), json!(measure::count_files(&shared)));
    let bytes = bytes_of(&shared);
    let on_disk = du(&shared);
    r.insert("folder_bytes".into(), json!(bytes));
    r.insert("folder_bytes_on_disk".into(), json!(on_disk));
    r.insert(
        "folder_on_disk_per_byte".into(),
        json!(measure::round(on_disk as f64 / bytes.max(1) as f64)),
    );
    let joined = tmp.path().join("joined");
    let (listed, ms) = time(|| -> Result<usize> {
        let mut w = join_folder(&joined, &shared)?;
        check(&w.sync_all(&mut |_| {})?)?;
        Ok(w.list(None)?.len())
    });
    let listed = listed?;
    if listed != ids.len() {
        bail!("the joined device lists {listed} notes, expected {}", ids.len());
    }
    r.insert("join_s".into(), json!(measure::round(ms / 1000.0)));
    r.insert("data_dir_bytes_on_disk".into(), json!(du(&joined)));
    Ok(Value::Object(r))
}

/// With `RESNOTES_BENCH_KEEP=DIR`, copies the shared folder into DIR, for profiling a join by
/// hand (`resnotes join --folder DIR/F`).
pub fn keep_for_profiling(shared: &Path) -> Result<()> {
    if let Some(keep) = std::env::var_os("RESNOTES_BENCH_KEEP") {
        std::fs::create_dir_all(&keep)?;
        let status = Command::new("cp").arg("-a").arg(shared).arg(&keep).status()?;
        if !status.success() {
            bail!("copying the folder to RESNOTES_BENCH_KEEP failed");
        }
    }
    Ok(())
}

/// Copies a client folder into `shared` (merging with what is there: equal files).
fn copy_client(client_dir: &Path, shared: &Path) -> Result<()> {
    let status = Command::new("cp").arg("-a").arg(client_dir).arg(shared).status()?;
    if !status.success() {
        bail!("copying {} into the shared folder failed", client_dir.display());
    }
    Ok(())
}
