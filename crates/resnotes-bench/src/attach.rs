//! The attachment scenario: attach an N MiB file with the CLI, upload it to a folder target,
//! and fetch + verify it on a second device, recording each process's peak memory (VmHWM)
//! against a trivial command's, and the throughput. Large attachments must stream: the extra
//! peak memory stays flat as N grows.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

use crate::corpus::Rng;
use crate::measure::{round, rss_mib};

/// Runs `bin args` with `env` for device `dir`, polling its peak RSS; returns (stdout, ms, peak MiB).
pub(crate) fn run_measured(bin: &Path, dir: &Path, args: &[&str]) -> Result<(String, f64, f64)> {
    let start = Instant::now();
    let mut child = Command::new(bin)
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .env("RESNOTES_PASSPHRASE", super::PASS)
        .env("RESNOTES_TEST_ONLY_WEAK_SCRYPT_LOG_N", "10")
        .env("RESNOTES_NO_KEYRING", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot run {}", bin.display()))?;
    let mut peak = 0f64;
    let status = loop {
        if let Some((_, hwm)) = rss_mib(child.id()) {
            peak = peak.max(hwm);
        }
        if let Some(st) = child.try_wait()? {
            break st;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let ms = start.elapsed().as_secs_f64() * 1000.0;
    let out = child.wait_with_output()?;
    if !status.success() {
        bail!("resnotes {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok((String::from_utf8_lossy(&out.stdout).into_owned(), ms, peak))
}

/// Attach, upload and fetch one file of `mib` MiB.
pub fn scenario(bin: &Path, mib: usize) -> Result<Value> {
    let tmp = tempfile::tempdir()?;
    let (a, b, shared) = (tmp.path().join("a"), tmp.path().join("b"), tmp.path().join("shared"));
    std::fs::create_dir_all(&shared)?;
    run_measured(bin, &a, &["init", "--folder", shared.to_str().unwrap()])?;
    let (id, _, _) = run_measured(bin, &a, &["new", "--title", "Attachment benchmark"])?;
    let id = id.trim().to_string();
    // The file: pseudo-random bytes (incompressible), written in 1 MiB chunks.
    let file = tmp.path().join("big.bin");
    {
        let mut rng = Rng::new(7);
        let mut f = std::io::BufWriter::new(std::fs::File::create(&file)?);
        let mut chunk = vec![0u8; 1 << 20];
        for _ in 0..mib {
            for w in chunk.chunks_mut(8) {
                w.copy_from_slice(&rng.next().to_le_bytes()[..w.len()]);
            }
            f.write_all(&chunk)?;
        }
    }
    run_measured(bin, &a, &["config", "max-attachment-mib", &(mib + 1).to_string()])?;
    let (_, _, baseline) = run_measured(bin, &a, &["list"])?;
    let (url, attach_ms, attach_peak) =
        run_measured(bin, &a, &["attach", &id, file.to_str().unwrap()])?;
    let url = url.trim().to_string();
    let (_, upload_ms, upload_peak) = run_measured(bin, &a, &["sync"])?;
    run_measured(bin, &b, &["join", "--folder", shared.to_str().unwrap()])?;
    run_measured(bin, &b, &["target", "keep-attachments", &first_target(bin, &b)?, "off"])?;
    let out = tmp.path().join("out.bin");
    let (_, get_ms, get_peak) =
        run_measured(bin, &b, &["asset", "get", &url, "--out", out.to_str().unwrap()])?;
    if std::fs::metadata(&out)?.len() != (mib as u64) << 20 {
        bail!("the fetched attachment has the wrong size");
    }
    let mbps = |ms: f64| round(mib as f64 / (ms / 1000.0));
    Ok(json!({
        "mib": mib,
        "baseline_peak_rss_mib": baseline,
        "attach": {"ms": round(attach_ms), "mib_per_s": mbps(attach_ms), "peak_rss_mib": attach_peak, "extra_rss_mib": round(attach_peak - baseline)},
        "upload_folder": {"ms": round(upload_ms), "mib_per_s": mbps(upload_ms), "peak_rss_mib": upload_peak, "extra_rss_mib": round(upload_peak - baseline)},
        "fetch_verify_save": {"ms": round(get_ms), "mib_per_s": mbps(get_ms), "peak_rss_mib": get_peak, "extra_rss_mib": round(get_peak - baseline)},
    }))
}

fn first_target(bin: &Path, dir: &Path) -> Result<String> {
    let (out, _, _) = run_measured(bin, dir, &["target", "list", "--json"])?;
    let v: Value = serde_json::from_str(&out)?;
    v[0]["id"].as_str().map(str::to_string).context("no target")
}
