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

/// Runs `bin args` for device `dir`, polling its peak RSS; returns (stdout, ms, peak MiB).
pub(crate) fn run_measured(bin: &Path, dir: &Path, args: &[&str]) -> Result<(String, f64, f64)> {
    run_measured_env(bin, dir, args, &[])
}

/// [`run_measured`] with more environment (a server's password, a store's secret key).
pub(crate) fn run_measured_env(
    bin: &Path,
    dir: &Path,
    args: &[&str],
    env: &[(String, String)],
) -> Result<(String, f64, f64)> {
    let start = Instant::now();
    let mut child = Command::new(bin)
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .env("RESNOTES_PASSPHRASE", super::PASS)
        .env("RESNOTES_TEST_ONLY_WEAK_SCRYPT_LOG_N", "10")
        .env("RESNOTES_NO_KEYRING", "1")
        .envs(env.iter().map(|(k, v)| (k, v)))
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

/// Attach, upload and fetch one file of `mib` MiB through a folder.
pub fn scenario(bin: &Path, mib: usize) -> Result<Value> {
    let tmp = tempfile::tempdir()?;
    let shared = tmp.path().join("shared");
    std::fs::create_dir_all(&shared)?;
    through(bin, mib, &["--folder".into(), shared.to_string_lossy().into_owned()], &[], "folder")
}

/// Attach, upload and fetch one file of `mib` MiB through the target `via` names (the
/// arguments `init` and `join` take, e.g. `--s3 URL --access-key KEY`), with `env` (the
/// target's password or secret key); `kind` names the upload's figure.
pub fn through(
    bin: &Path,
    mib: usize,
    via: &[String],
    env: &[(String, String)],
    kind: &str,
) -> Result<Value> {
    let tmp = tempfile::tempdir()?;
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let run = |dir: &Path, args: &[&str]| run_measured_env(bin, dir, args, env);
    let with = |cmd: &str| -> Vec<String> {
        std::iter::once(cmd.to_string()).chain(via.iter().cloned()).collect()
    };
    let init = with("init");
    run(&a, &init.iter().map(String::as_str).collect::<Vec<_>>())?;
    let (id, _, _) = run(&a, &["new", "--title", "Attachment benchmark"])?;
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
    run(&a, &["config", "max-attachment-mib", &(mib + 1).to_string()])?;
    let (_, _, baseline) = run(&a, &["list"])?;
    let (url, attach_ms, attach_peak) = run(&a, &["attach", &id, file.to_str().unwrap()])?;
    let url = url.trim().to_string();
    let (_, upload_ms, upload_peak) = run(&a, &["sync"])?;
    let join = with("join");
    run(&b, &join.iter().map(String::as_str).collect::<Vec<_>>())?;
    run(&b, &["target", "keep-attachments", &first_target(bin, &b)?, "off"])?;
    let out = tmp.path().join("out.bin");
    let (_, get_ms, get_peak) = run(&b, &["asset", "get", &url, "--out", out.to_str().unwrap()])?;
    if std::fs::metadata(&out)?.len() != (mib as u64) << 20 {
        bail!("the fetched attachment has the wrong size");
    }
    let mbps = |ms: f64| round(mib as f64 / (ms / 1000.0));
    let mut v = json!({
        "mib": mib,
        "baseline_peak_rss_mib": baseline,
        "attach": {"ms": round(attach_ms), "mib_per_s": mbps(attach_ms), "peak_rss_mib": attach_peak, "extra_rss_mib": round(attach_peak - baseline)},
        "fetch_verify_save": {"ms": round(get_ms), "mib_per_s": mbps(get_ms), "peak_rss_mib": get_peak, "extra_rss_mib": round(get_peak - baseline)},
    });
    v[format!("upload_{kind}")] = json!({"ms": round(upload_ms), "mib_per_s": mbps(upload_ms), "peak_rss_mib": upload_peak, "extra_rss_mib": round(upload_peak - baseline)});
    Ok(v)
}

fn first_target(bin: &Path, dir: &Path) -> Result<String> {
    let (out, _, _) = run_measured(bin, dir, &["target", "list", "--json"])?;
    let v: Value = serde_json::from_str(&out)?;
    v[0]["id"].as_str().map(str::to_string).context("no target")
}
