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
    }
    // Nothing is deleted between runs: ext4 makes a new file slowly while many were deleted
    // moments before (its inode allocator skips recently freed inodes one by one, up to 9 s of
    // kernel time for an export made just after the one before was deleted; BENCHMARKS.md).
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

/// Base64 of `bytes` (standard alphabet, padded), as ENEX holds attachment data.
fn base64(bytes: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len() / 3 * 4 + 4);
    for c in bytes.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            out.push(if i <= c.len() { A[(n >> (18 - 6 * i) & 63) as usize] as char } else { '=' });
        }
    }
    out
}

/// An Evernote export of `mib` MiB, most of it attachments (one of 8 MiB per note, random
/// bytes, base64 in lines of 76), imported with the CLI: wall time and peak RSS, which must
/// not grow with the file (attachments are decoded into files as they are read).
pub fn enex_scenario(bin: &Path, mib: usize) -> Result<Value> {
    use std::io::Write;
    let tmp = tempfile::tempdir()?;
    let file = tmp.path().join("Big export.enex");
    let mut w = std::io::BufWriter::new(std::fs::File::create(&file)?);
    writeln!(w, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<en-export>")?;
    let mut rng = crate::corpus::Rng::new(5);
    let notes = mib.div_ceil(6).max(1);
    for i in 0..notes {
        let text = crate::corpus::sentence(&mut rng);
        writeln!(
            w,
            "<note><title>Scan {i}</title><content><![CDATA[<en-note><div>{text}</div></en-note>]]></content><created>20240101T000000Z</created>"
        )?;
        writeln!(w, "<resource><data encoding=\"base64\">")?;
        // 6 MiB of base64 text per note (4.5 MiB of bytes), written in 57-byte lines.
        let mut chunk = vec![0u8; 57];
        for _ in 0..(6 << 20) / 77 {
            for b in chunk.iter_mut() {
                *b = rng.next() as u8;
            }
            writeln!(w, "{}", base64(&chunk))?;
        }
        writeln!(w, "</data><mime>application/pdf</mime><resource-attributes><file-name>scan {i}.pdf</file-name></resource-attributes></resource></note>")?;
    }
    writeln!(w, "</en-export>")?;
    w.flush()?;
    drop(w);
    let dir = tmp.path().join("device");
    run_measured(bin, &dir, &["init"])?;
    let (out, ms, peak) = run_measured(bin, &dir, &["import", file.to_str().unwrap(), "--json"])?;
    let report: Value = serde_json::from_str(&out)?;
    if report["notes"] != json!(notes) {
        bail!("the import brought in {} notes, not {notes}", report["notes"]);
    }
    Ok(json!({
        "file_bytes": std::fs::metadata(&file)?.len(),
        "notes": notes,
        "attachments": report["attachments"],
        "import_ms": round(ms),
        "import_peak_rss_mib": round(peak),
    }))
}
