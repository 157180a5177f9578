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
        "pack_file" => fuzzing::pack_file(&identity, data),
        "change_applied" => fuzzing::change_applied(data),
        "import_file" => fuzzing::import_file(data),
        other => panic!("unknown fuzz target {other}"),
    }
}

const TARGETS: [&str; 8] = [
    "entry_file",
    "entry_plain",
    "manifest",
    "listing",
    "asset_file",
    "pack_file",
    "change_applied",
    "import_file",
];

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

/// The seeds of the `change_applied` fuzzer: Automerge changes a writer produces (a note
/// created, its text edited) and the compressed change of the decompression-bomb vector, which
/// must stay refused (`RESNOTES_WRITE_VECTORS=1` writes them again). Each goes through the entry
/// point too.
#[test]
fn change_seeds_exist_and_apply() {
    use resnotes_core::format::crypto::WorkspaceKey;
    use resnotes_core::format::entry;
    use resnotes_core::note;
    let dir = root().join("fuzz/seeds/change_applied");
    if std::env::var_os("RESNOTES_WRITE_VECTORS").is_some() {
        fs::create_dir_all(&dir).unwrap();
        let client = uuid::Uuid::from_u128(7);
        let mut doc = note::new_doc(&client);
        note::create(&mut doc, "Seed", "first line\nsecond ✓ line", 1).unwrap();
        fs::write(dir.join("create.bin"), note::take_change(&mut doc, 0).unwrap()).unwrap();
        note::set_text(&mut doc, "body", "first line\nan edited second line").unwrap();
        fs::write(dir.join("edit.bin"), note::take_change(&mut doc, 0).unwrap()).unwrap();
        let identity = fs::read_to_string(root().join("vectors/identity.txt")).unwrap();
        let secret = identity.lines().find(|l| l.starts_with("AGE-SECRET-KEY-")).unwrap();
        let key = WorkspaceKey::parse(secret, &fuzzing::VECTOR_WORKSPACE.parse().unwrap()).unwrap();
        let bomb = fs::read(root().join("vectors/reject/compressed-change.age")).unwrap();
        let inner = entry::decode(&key.open(&bomb).unwrap(), &key).unwrap();
        fs::write(dir.join("compressed-bomb.bin"), &inner.changes[0].change).unwrap();
    }
    let seeds = files(&dir);
    assert_eq!(seeds.len(), 3, "fuzz/seeds/change_applied holds its seeds");
    for f in seeds {
        fuzzing::change_applied(&fs::read(&f).unwrap());
    }
}
