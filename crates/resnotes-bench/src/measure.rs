//! Timing statistics, disk usage and process memory.

use std::path::Path;
use std::time::Instant;

use serde_json::{json, Value};

/// Runs `f` and returns its result and elapsed milliseconds.
pub fn time<T>(f: impl FnOnce() -> T) -> (T, f64) {
    let t = Instant::now();
    let r = f();
    (r, t.elapsed().as_secs_f64() * 1000.0)
}

/// min / median / p99 / max of samples (ms).
pub fn stats(samples: &mut [f64]) -> Value {
    samples.sort_by(|a, b| a.total_cmp(b));
    let pick = |q: f64| samples[((samples.len() as f64 - 1.0) * q).round() as usize];
    json!({
        "n": samples.len(),
        "min": round(pick(0.0)),
        "median": round(pick(0.5)),
        "p99": round(pick(0.99)),
        "max": round(pick(1.0)),
    })
}

/// Rounds to 3 decimals for readable JSON.
pub fn round(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// Disk usage in bytes (allocated blocks, like `du`), recursively.
pub fn du(path: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let Ok(meta) = std::fs::symlink_metadata(path) else { return 0 };
    let mut total = meta.blocks() * 512;
    if meta.is_dir() {
        if let Ok(rd) = std::fs::read_dir(path) {
            for e in rd.flatten() {
                total += du(&e.path());
            }
        }
    }
    total
}

/// Number of files under a folder.
pub fn count_files(path: &Path) -> u64 {
    sum_files(path, &|_| 1)
}

/// The sum of the files' lengths under a folder (bytes, not bytes on disk: [`du`]).
pub fn bytes_of(path: &Path) -> u64 {
    sum_files(path, &|m| m.len())
}

/// Sums `each` over the files under a folder, recursively.
fn sum_files(path: &Path, each: &dyn Fn(&std::fs::Metadata) -> u64) -> u64 {
    let mut n = 0;
    if let Ok(rd) = std::fs::read_dir(path) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                n += sum_files(&p, each);
            } else {
                n += e.metadata().map(|m| each(&m)).unwrap_or(0);
            }
        }
    }
    n
}

/// (VmRSS, VmHWM) of a process in MiB, from /proc.
pub fn rss_mib(pid: u32) -> Option<(f64, f64)> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Option<f64> {
        let line = s.lines().find(|l| l.starts_with(name))?;
        let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(round(kb / 1024.0))
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}
