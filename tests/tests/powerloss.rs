//! Power loss on the shared folder (RELIABILITY.md, test 2). The shared folder lives on a real
//! ext4 or ext2 file system in a loop-mounted image. A device pushes hundreds of entries into
//! it; at a random moment the pushing process is frozen (SIGSTOP) and the image file is copied.
//! The copy holds exactly the blocks the file system had handed to its block device — what a
//! disk would hold if the power went at that moment — and none of the data still in the page
//! cache, because nothing forced it out. The copy is then recovered the way a machine recovers
//! after a power cut (ext4 replays its journal on mount, ext2 gets `e2fsck -y`) and mounted where
//! the folder was. Checked at every cut:
//!
//! - every entry the device had recorded as written to the folder (`remote_present`) is there,
//!   byte for byte: the device never believes in an entry that a power cut can take back;
//! - no file under a real entry name holds anything but the exact entry (no torn entry), and a
//!   reader device that syncs from the recovered folder applies only exact entries;
//! - after the device syncs again, the reader has every entry and every note, nothing pending, no
//!   entry problem: any gap the cut left is repaired by the re-push.
//!
//! Needs root (loop mounts), as CI has. Short form here (10 cuts); the long form is
//! `RESNOTES_POWERLOSS_CUTS=120 cargo test --workspace --test powerloss -- --nocapture`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use resnotes_e2e::{Device, Sandbox};

/// Notes already in the folder before the cut (synced once when the image is made).
const BEFORE: usize = 20;
/// Notes pushed during the cut, one entry each: two write batches (256 entries per batch).
const DURING: usize = 300;

/// A loop-mounted image, unmounted when dropped (also when a check fails).
struct Mounted(PathBuf);

impl Mounted {
    fn new(image: &Path, fs: &str, at: &Path) -> Mounted {
        std::fs::create_dir_all(at).unwrap();
        let out = Command::new("mount")
            .args(["-o", "loop", "-t", fs])
            .arg(image)
            .arg(at)
            .output()
            .expect("run mount");
        assert!(
            out.status.success(),
            "cannot loop-mount {} (this test needs root and loop devices): {}",
            image.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        Mounted(at.to_path_buf())
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        let ok = Command::new("umount").arg(&self.0).status().map(|s| s.success()).unwrap_or(false);
        if !ok {
            let _ = Command::new("umount").arg("-l").arg(&self.0).status();
        }
    }
}

fn run(cmd: &mut Command) -> std::process::Output {
    cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

fn make_image(path: &Path, fs: &str) {
    let f = std::fs::File::create(path).unwrap();
    f.set_len(24 << 20).unwrap();
    let out = run(Command::new(format!("mkfs.{fs}")).args(["-q", "-F"]).arg(path));
    assert!(out.status.success(), "mkfs.{fs}: {}", String::from_utf8_lossy(&out.stderr));
}

/// What a machine does with a file system after a power cut before mounting it.
fn recover(image: &Path, fs: &str) -> &'static str {
    if fs == "ext4" {
        return "journal replayed on mount";
    }
    let out = run(Command::new("e2fsck").args(["-f", "-y"]).arg(image));
    // 0 = clean, 1 = errors corrected; anything else means the file system is beyond repair.
    let code = out.status.code().unwrap_or(-1);
    assert!(
        code == 0 || code == 1,
        "e2fsck could not repair the image (exit {code}): {}",
        String::from_utf8_lossy(&out.stdout)
    );
    if code == 0 {
        "e2fsck: clean"
    } else {
        "e2fsck: repaired"
    }
}

/// Random alphanumeric text, so entries do not shrink under DEFLATE.
fn text(rng: &mut fastrand::Rng, len: usize) -> String {
    (0..len).map(|_| rng.alphanumeric()).collect()
}

/// Adds notes in-process, one entry each (sealed one change per entry).
fn add_notes(dir: &Path, from: usize, count: usize, rng: &mut fastrand::Rng) {
    let mut ws = resnotes_core::Workspace::open(dir).unwrap();
    for i in from..from + count {
        let len = rng.usize(200..1500);
        ws.new_note(&format!("note {i}"), &text(rng, len)).unwrap();
    }
    ws.seal_pending(1, usize::MAX).unwrap();
}

/// Every entry of `client` in a device's log: index → file bytes.
fn log_of(dir: &Path, client: &str) -> Vec<(u64, Vec<u8>)> {
    let conn = rusqlite::Connection::open_with_flags(
        dir.join(resnotes_core::DB_FILE),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let mut st =
        conn.prepare("SELECT idx, data FROM log WHERE client_id = ?1 ORDER BY idx").unwrap();
    st.query_map([client], |r| Ok((r.get::<_, i64>(0)? as u64, r.get(1)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

/// How far the device has recorded its own entries as written to the folder.
fn acknowledged(dir: &Path, client: &str) -> Option<u64> {
    let conn = rusqlite::Connection::open_with_flags(
        dir.join(resnotes_core::DB_FILE),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    conn.busy_timeout(Duration::from_secs(10)).unwrap();
    conn.query_row("SELECT upto FROM remote_present WHERE client_id = ?1", [client], |r| {
        r.get::<_, i64>(0)
    })
    .ok()
    .map(|v| v as u64)
}

fn copy_dir(from: &Path, to: &Path) {
    let _ = std::fs::remove_dir_all(to);
    let out = run(Command::new("cp").arg("-a").arg(from).arg(to));
    assert!(out.status.success(), "cp -a: {}", String::from_utf8_lossy(&out.stderr));
}

/// System calls a cut can land just before: every step of staging, publishing and recording an
/// entry (the device's own database writes included).
const CUT_CALLS: &[&str] = &[
    "openat",
    "write",
    "pwrite64",
    "fsync",
    "fdatasync",
    "syncfs",
    "linkat",
    "rename",
    "renameat",
    "renameat2",
    "unlink",
    "unlinkat",
    "mkdir",
    "mkdirat",
];

/// The real `resnotes sync` of device `a`, run under `strace`: with `cut = Some((call, k))` the
/// process is killed on entering its k-th `call` (before the call does anything), which is the
/// moment the power goes; with `trace` every call in CUT_CALLS is written to that file.
fn push(a: &Device, cut: Option<(&str, u64)>, trace: Option<&Path>) -> std::process::ExitStatus {
    let inner = a.cmd(&["sync"]);
    let mut c = Command::new("strace");
    c.args(["-f", "-qq", "-e", &format!("trace={}", CUT_CALLS.join(","))]);
    match trace {
        Some(t) => c.arg("-o").arg(t),
        None => c.args(["-o", "/dev/null"]),
    };
    if let Some((call, k)) = cut {
        c.args(["-e", &format!("inject={call}:signal=SIGKILL:when={k}")]);
    }
    c.arg(inner.get_program()).args(inner.get_args());
    for (k, v) in inner.get_envs() {
        match v {
            Some(v) => c.env(k, v),
            None => c.env_remove(k),
        };
    }
    c.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("run strace (Debian package strace)")
}

/// How often one thread of an uncut push makes each call (strace counts per thread).
fn calls_per_thread(trace: &Path) -> Vec<(String, u64)> {
    let mut per: std::collections::BTreeMap<(String, String), u64> = Default::default();
    for line in std::fs::read_to_string(trace).unwrap().lines() {
        let mut it = line.splitn(2, ' ');
        let (pid, rest) = (it.next().unwrap_or(""), it.next().unwrap_or("").trim_start());
        // `<... openat resumed>` lines continue a call already counted: their name is empty.
        let name: String =
            rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
        if CUT_CALLS.contains(&name.as_str()) {
            *per.entry((name, pid.to_string())).or_default() += 1;
        }
    }
    let mut max: std::collections::BTreeMap<String, u64> = Default::default();
    for ((name, _), n) in per {
        let m = max.entry(name).or_default();
        *m = (*m).max(n);
    }
    max.into_iter().collect()
}

/// A device about to make its first push, kept as a data dir to copy before each cut.
struct Writer {
    /// `batch` (DURING entries, staged together and made durable by one syncfs per 256) or
    /// `single` (one entry, fsynced on its own).
    name: &'static str,
    dir: PathBuf,
    client: String,
    notes: usize,
    /// How often an uncut push makes each call in CUT_CALLS.
    calls: Vec<(String, u64)>,
}

struct Templates {
    r: PathBuf,
    image: PathBuf,
    ext: String,
    writers: Vec<Writer>,
    /// Another device's entries, in the folder before the cut: a cut must never harm them.
    other: (String, Vec<(u64, Vec<u8>)>),
}

/// Builds the starting point once per file system: an image whose folder holds the workspace
/// and another device's BEFORE notes, a reader that has joined it, and two writers that have
/// joined but never pushed — their first push creates their folders, so cuts also land around
/// `mkdir`. Each writer's push is traced once, uncut, to know which calls it makes.
fn templates(sb: &Sandbox, fs: &str, mnt: &Path, r: &Device, rng: &mut fastrand::Rng) -> Templates {
    let b = sb.device(&format!("b-{fs}"));
    let image = sb.path().join(format!("base-{fs}.img"));
    make_image(&image, fs);
    let mut writers = Vec::new();
    {
        let _m = Mounted::new(&image, fs, mnt);
        let shared = mnt.join("shared");
        std::fs::create_dir(&shared).unwrap();
        let _ = std::fs::remove_dir_all(&r.dir);
        b.ok(&["init", "--folder", shared.to_str().unwrap()]);
        add_notes(&b.dir, 0, BEFORE, rng);
        b.ok(&["sync"]);
        r.ok(&["join", "--folder", shared.to_str().unwrap()]);
        for (name, notes) in [("batch", DURING), ("single", 1)] {
            let w = sb.device(&format!("{name}-{fs}"));
            w.ok(&["join", "--folder", shared.to_str().unwrap()]);
            add_notes(&w.dir, BEFORE, notes, rng);
            writers.push(Writer { name, client: w.client_id(), dir: w.dir, notes, calls: vec![] });
        }
    }
    let other_client = b.client_id();
    let other = log_of(&b.dir, &other_client);
    assert_eq!(log_of(&r.dir, &other_client), other, "the reader has the other device's entries");
    let ext =
        if b.status()["encrypted"].as_bool() == Some(true) { ".age" } else { ".bin" }.to_string();
    let live = sb.path().join("live.img");
    for w in &mut writers {
        assert!(!shared_has(&image, fs, mnt, &w.client), "the writer has pushed nothing yet");
        let dev = sb.device("a");
        copy_dir(&w.dir, &dev.dir);
        std::fs::copy(&image, &live).unwrap();
        let _m = Mounted::new(&live, fs, mnt);
        let trace = sb.path().join("trace.txt");
        assert!(push(&dev, None, Some(&trace)).success(), "the uncut push failed");
        w.calls = calls_per_thread(&trace);
        eprintln!(
            "{fs}: an uncut {} push of {} entries makes {:?} (most in one thread)",
            w.name, w.notes, w.calls
        );
    }
    let t = Templates {
        r: sb.path().join(format!("template-r-{fs}")),
        image,
        ext,
        writers,
        other: (other_client, other),
    };
    copy_dir(&r.dir, &t.r);
    t
}

/// Whether the folder in `image` has a folder for `client`.
fn shared_has(image: &Path, fs: &str, mnt: &Path, client: &str) -> bool {
    let _m = Mounted::new(image, fs, mnt);
    mnt.join("shared").join(client).exists()
}

#[derive(Default)]
struct Tally {
    cuts: u64,
    uncut: u64,
    none_acked: u64,
    some_acked: u64,
    all_acked: u64,
    gaps: u64,
    /// Cuts after which the folder held entries the device had not yet recorded as written.
    unacknowledged_present: u64,
    repaired_fsck: u64,
    orphan_temps: u64,
}

#[test]
fn power_cuts_during_a_push_lose_nothing_acknowledged_and_a_repush_repairs_every_gap() {
    let cuts = resnotes_e2e::env_or("RESNOTES_POWERLOSS_CUTS", 10);
    let seed = resnotes_e2e::env_or("RESNOTES_POWERLOSS_SEED", 20261122);
    let mut rng = fastrand::Rng::with_seed(seed);
    let sb = Sandbox::new();
    let mnt = sb.path().join("mnt");
    let a = sb.device("a");
    let r = sb.device("r");
    let started = Instant::now();
    let mut tally = Tally::default();
    for fs in ["ext4", "ext2"] {
        let t = templates(&sb, fs, &mnt, &r, &mut rng);
        let shared = mnt.join("shared");
        let live = sb.path().join("live.img");
        let cut = sb.path().join("cut.img");
        for n in 0..cuts / 2 {
            let w = &t.writers[(n % 2) as usize];
            copy_dir(&w.dir, &a.dir);
            copy_dir(&t.r, &r.dir);
            std::fs::copy(&t.image, &live).unwrap();
            let (call, count) = &w.calls[rng.usize(..w.calls.len())];
            let k = rng.u64(1..=*count);
            let acked = {
                let _m = Mounted::new(&live, fs, &mnt);
                // The power goes just before the k-th `call`: the disk holds what the file
                // system had handed to it, nothing still in the page cache.
                let status = push(&a, Some((call, k)), None);
                if status.success() {
                    tally.uncut += 1;
                }
                std::fs::copy(&live, &cut).unwrap();
                acknowledged(&a.dir, &w.client)
            };
            let how = recover(&cut, fs);
            if how == "e2fsck: repaired" {
                tally.repaired_fsck += 1;
            }
            let _m = Mounted::new(&cut, fs, &mnt);
            let writer_log = log_of(&a.dir, &w.client);
            let total = writer_log.len() as u64;
            let acked_n = acked.map_or(0, |u| u + 1);
            match acked_n {
                0 => tally.none_acked += 1,
                x if x == total => tally.all_acked += 1,
                _ => tally.some_acked += 1,
            }
            // What the folder holds after the cut.
            let mut present = Vec::new();
            for (i, bytes) in &writer_log {
                let p = resnotes_e2e::entry_file(&shared, &w.client, *i, &t.ext);
                match std::fs::read(&p) {
                    Ok(b) => {
                        assert!(
                            b == *bytes,
                            "[{fs} cut {n}] {} is torn or different ({} bytes, the entry has {})",
                            p.display(),
                            b.len(),
                            bytes.len()
                        );
                        present.push(*i);
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                        assert!(*i >= acked_n, "[{fs} cut {n}] entry {i} ({}) was recorded as written ({acked_n} acknowledged) but the power cut took it", p.display());
                    }
                    Err(e) => panic!("[{fs} cut {n}] {}: {e}", p.display()),
                }
            }
            let (oc, other) = &t.other;
            for (i, bytes) in other {
                let p = resnotes_e2e::entry_file(&shared, oc, *i, &t.ext);
                assert!(
                    std::fs::read(&p).ok().as_ref() == Some(bytes),
                    "[{fs} cut {n}] the other device's entry {i} was harmed by the cut"
                );
            }
            if present.len() as u64 > acked_n {
                tally.unacknowledged_present += 1;
            }
            let contiguous =
                present.iter().enumerate().take_while(|(k, i)| *k as u64 == **i).count();
            if contiguous < present.len() {
                tally.gaps += 1;
            }
            tally.orphan_temps += resnotes_e2e::files_under(&shared)
                .iter()
                .filter(|(name, _)| {
                    name.rsplit('/').next().is_some_and(resnotes_core::transport::is_temp_name)
                })
                .count() as u64;
            // A reader syncing from the recovered folder applies exact entries only.
            let _ = r.sync();
            let read = log_of(&r.dir, &w.client);
            assert!(
                read.len() >= contiguous,
                "[{fs} cut {n}] the reader applied {} entries but {contiguous} were there in order",
                read.len()
            );
            for (i, bytes) in &read {
                assert!(writer_log[*i as usize].1 == *bytes, "[{fs} cut {n}] the reader applied entry {i} with bytes that are not the writer's");
            }
            // The writer comes back and syncs: every gap is repaired, the reader gets everything.
            let (ok, err) = a.sync();
            assert!(ok, "[{fs} cut {n}] the writer's sync after the cut failed: {err}");
            let (ok, err) = r.sync();
            assert!(ok, "[{fs} cut {n}] the reader's sync after the re-push failed: {err}");
            assert!(
                log_of(&r.dir, &w.client) == writer_log,
                "[{fs} cut {n}] the reader lacks entries after the re-push"
            );
            assert!(
                log_of(&r.dir, oc) == *other && log_of(&a.dir, oc) == *other,
                "[{fs} cut {n}] the other device's entries differ after the re-push"
            );
            let ra = r.status();
            assert_eq!(
                ra["notes"].as_u64(),
                Some((BEFORE + w.notes) as u64),
                "[{fs} cut {n}] {ra}"
            );
            assert!(
                ra["targets"][0]["entry_errors"].as_array().unwrap().is_empty(),
                "[{fs} cut {n}] {ra}"
            );
            assert_eq!(a.status()["pending"].as_u64(), Some(0));
            let titles = |d: &Device| {
                let mut v: Vec<String> =
                    d.list().iter().map(|n| format!("{} {}", n["id"], n["title"])).collect();
                v.sort();
                v
            };
            assert_eq!(titles(&a), titles(&r), "[{fs} cut {n}]");
            tally.cuts += 1;
            eprintln!("[{fs} cut {n}] {} push, before {call} #{k}: {acked_n} of {total} acknowledged, {} in the folder ({contiguous} in order), reader applied {}, {how}", w.name, present.len(), read.len());
        }
    }
    eprintln!(
        "{} power cuts in {:?} ({} where the push ended before the chosen call): {} before any new entry was acknowledged, {} mid-push, {} after all; {} left entries in the folder the device had not recorded yet (found there by the re-push); {} left a gap (all repaired); e2fsck repaired {} images; {} orphan temp files ignored; 0 torn entries, 0 acknowledged entries lost",
        tally.cuts,
        started.elapsed(),
        tally.uncut,
        tally.none_acked,
        tally.some_acked,
        tally.all_acked,
        tally.unacknowledged_present,
        tally.gaps,
        tally.repaired_fsck,
        tally.orphan_temps
    );
    assert_eq!(tally.cuts, cuts / 2 * 2);
}
