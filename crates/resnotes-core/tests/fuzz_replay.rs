//! Every input the fuzzers ever crashed on (`fuzz/regressions/<target>/`) and every test vector,
//! fed to the same entry points as the `cargo fuzz` targets: none may panic. A new fuzz crash
//! is fixed by adding its file under `fuzz/regressions/<target>/` and making this test pass.

use std::fs;
use std::path::{Path, PathBuf};

use resnotes_core::fuzzing;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(files(&p));
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn run(target: &str, data: &[u8]) {
    let identity =
        fs::read_to_string(root().join("vectors/identity.txt")).expect("vectors/identity.txt");
    match target {
        "entry_file" => fuzzing::entry_file(&identity, data),
        "entry_plain" => fuzzing::entry_plain(data),
        "manifest" => fuzzing::manifest(data),
        "listing" => fuzzing::listing(data),
        "asset_file" => fuzzing::asset_file(&identity, data),
        other => panic!("unknown fuzz target {other}"),
    }
}

const TARGETS: [&str; 5] = ["entry_file", "entry_plain", "manifest", "listing", "asset_file"];

#[test]
fn saved_fuzz_crashes_do_not_panic() {
    let mut n = 0;
    for t in TARGETS {
        for f in files(&root().join("fuzz/regressions").join(t)) {
            if f.file_name().is_some_and(|n| n == "README.md") {
                continue;
            }
            run(t, &fs::read(&f).unwrap());
            n += 1;
        }
    }
    eprintln!("{n} saved fuzz inputs replayed");
}

#[test]
fn test_vectors_through_every_fuzz_entry_point() {
    let vectors = files(&root().join("vectors"));
    assert!(vectors.len() > 10, "vectors/ is there");
    for f in vectors {
        let data = fs::read(&f).unwrap();
        for t in TARGETS {
            run(t, &data);
        }
    }
}
