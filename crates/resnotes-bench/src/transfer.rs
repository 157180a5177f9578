//! Bringing notes in and taking them out (issue 18), as a person runs it with the CLI: the
//! bench corpus written as a Markdown vault (one `.md` file per note, as `--export-corpus`
//! writes it, the same files Joplin's import was timed on) imported into a new workspace, then
//! everything exported to an empty folder. Wall time and peak memory of each `resnotes`
//! process; `reps` fresh workspaces.

use std::path::Path;

use anyhow::{bail, Result};
use serde_json::{json, Value};

use crate::attach::run_measured;
use crate::measure::{round, stats};

pub fn scenario(bin: &Path, notes: usize, reps: usize) -> Result<Value> {
    let tmp = tempfile::tempdir()?;
    let vault = tmp.path().join("vault");
    crate::export_corpus(notes, &vault)?;
    let (mut import_ms, mut export_ms) = (Vec::new(), Vec::new());
    let (mut import_peak, mut export_peak) = (0f64, 0f64);
    for rep in 0..reps {
        let dir = tmp.path().join(format!("device-{rep}"));
        run_measured(bin, &dir, &["init"])?;
        let (out, ms, peak) =
            run_measured(bin, &dir, &["import", vault.to_str().unwrap(), "--json"])?;
        let report: Value = serde_json::from_str(&out)?;
        if report["notes"] != json!(notes) {
            bail!("the import brought in {} notes, not {notes}", report["notes"]);
        }
        import_ms.push(ms);
        import_peak = import_peak.max(peak);
        let out_dir = tmp.path().join(format!("export-{rep}"));
        let (out, ms, peak) =
            run_measured(bin, &dir, &["export", out_dir.to_str().unwrap(), "--json"])?;
        let report: Value = serde_json::from_str(&out)?;
        if report["notes"] != json!(notes) {
            bail!("the export wrote {} notes, not {notes}", report["notes"]);
        }
        export_ms.push(ms);
        export_peak = export_peak.max(peak);
        std::fs::remove_dir_all(&out_dir)?;
        std::fs::remove_dir_all(&dir)?;
    }
    let bytes = crate::measure::du(&vault);
    Ok(json!({
        "notes": notes,
        "vault_bytes_on_disk": bytes,
        "import_ms": stats(&mut import_ms),
        "import_peak_rss_mib": round(import_peak),
        "export_ms": stats(&mut export_ms),
        "export_peak_rss_mib": round(export_peak),
    }))
}
