//! `resnotes-bench`: builds synthetic workspaces and measures the figures listed in
//! BENCHMARKS.md (cold open, edit latency, push, join, idle and incremental sync, watch latency,
//! storage and memory). Timing lives here, never in tests.
//!
//! `cargo run --release -p resnotes-bench -- [--quick] [--json FILE]`

mod app;
mod attach;
mod corpus;
mod history;
mod longlived;
mod measure;
mod stores;
mod transfer;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Parser;
use resnotes_core::transport::{Folder, Transport};
use resnotes_core::TargetKind;
use resnotes_core::Workspace;
use resnotes_core::{system_clock, Field};
use serde_json::{json, Map, Value};

use corpus::Rng;
use measure::{du, rss_mib, stats, time};

const PASS: &str = "benchmark passphrase";

#[derive(Parser)]
#[command(about = "Resilient Notes benchmarks")]
struct Args {
    /// 1,000 notes, fewer repetitions, no 100k runs (CI uses this to prove the bench works).
    #[arg(long)]
    quick: bool,
    /// Write the results as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Note counts to run (default 10000,100000; --quick: 1000).
    #[arg(long, value_delimiter = ',')]
    notes: Option<Vec<usize>>,
    /// Entries in the idle-sync scenario (spread over 10 clients; default 100000, --quick 2000).
    #[arg(long)]
    idle_entries: Option<usize>,
    /// Write the corpus of N notes as markdown files into DIR (for the Joplin comparison) and exit.
    #[arg(long, num_args = 2, value_names = ["N", "DIR"])]
    export_corpus: Option<Vec<String>>,
    /// The `resnotes` binary for process measurements (default: target/release/resnotes).
    #[arg(long)]
    bin: Option<PathBuf>,
    /// Measure the desktop app instead (under X, needs tauri-driver and a release build of the
    /// app with its UI): start, open, typing, preview, typing during a pull, memory.
    #[arg(long)]
    app: bool,
    /// Only finding and filing: per note count, populate a workspace and time search
    /// (`search_ms`), the lists (`list_ms`) and the data dir's size with its search index.
    #[arg(long)]
    find_only: bool,
    /// Only a note's history: one note edited in 10,000 changes (--quick: 1,000) by three
    /// devices; listing, viewing, comparing and restoring its versions.
    #[arg(long)]
    history_only: bool,
    /// Only importing the corpus as a Markdown vault and exporting it again, per note count
    /// (issue 18), with the CLI.
    #[arg(long)]
    transfer_only: bool,
    /// Only the many-clients scenario: 10 clients write --idle-entries one-change entries in
    /// all; a new device pulls them (`pull_all_s`), then idles (`idle_sync_ms`).
    #[arg(long)]
    idle_only: bool,
    /// Only the long-lived workspace (issue 21): NOTES:SYNCS pairs, e.g. `2000:12000,10000:100000`
    /// (the default; --quick: 500:3000): three devices make SYNCS one-edit syncs over NOTES
    /// notes; the folder's files and bytes on disk, a join until listed, the data dir's size.
    #[arg(long, value_delimiter = ',', num_args = 0..)]
    long_lived: Option<Vec<String>>,
    /// With --long-lived or --idle-only: the workspace keeps fewer files (FORMAT.md §11.1,
    /// `resnotes fewer-files`), so packs replace the single files they cover.
    #[arg(long)]
    fewer_files: bool,
    /// Only the kinds of target side by side (issue 22): first push and join of --notes
    /// (default 10000) through a folder, a WebDAV server and an S3 store (Apache and Garage on
    /// loopback), and an attachment of --attach-mib (default 1024) up and down through each.
    #[arg(long)]
    stores: bool,
    /// Attachment sizes to run, in MiB (default 1024; --quick: 64). 0 skips them.
    #[arg(long, value_delimiter = ',')]
    attach_mib: Option<Vec<usize>>,
}

fn main() -> Result<()> {
    let args = Args::parse();
    if let Some(e) = &args.export_corpus {
        let n: usize = e[0].parse().context("N must be a number")?;
        return export_corpus(n, Path::new(&e[1]));
    }
    let bin = match &args.bin {
        Some(b) => b.clone(),
        None => build_cli()?,
    };
    let mut out = Map::new();
    out.insert("machine".into(), machine());
    out.insert("quick".into(), json!(args.quick));
    if args.app {
        let scales = args.notes.clone().unwrap_or(vec![if args.quick { 1000 } else { 10_000 }]);
        let app_bin = app::app_bin()?;
        for n in scales {
            eprintln!("== the app with {n} notes");
            out.insert(format!("app_{n}"), app::scenario(&app_bin, &bin, n, args.quick)?);
        }
        return finish(out, args.json.as_deref());
    }
    let scales =
        args.notes.clone().unwrap_or(if args.quick { vec![1000] } else { vec![10_000, 100_000] });
    let history_changes = if args.quick { 1000 } else { 10_000 };
    let history_reps = if args.quick { 5 } else { 20 };
    if args.history_only {
        eprintln!("== history of a note of {history_changes} changes");
        out.insert("history".into(), history::scenario(history_changes, history_reps)?);
        return finish(out, args.json.as_deref());
    }
    let transfer_reps = if args.quick { 1 } else { 3 };
    let enex_mib = if args.quick { 24 } else { 1024 };
    if args.transfer_only {
        for n in scales {
            eprintln!("== importing and exporting {n} notes");
            out.insert(format!("transfer_{n}"), transfer::scenario(&bin, n, transfer_reps)?);
        }
        eprintln!("== importing an Evernote export of {enex_mib} MiB");
        out.insert(format!("enex_{enex_mib}_mib"), transfer::enex_scenario(&bin, enex_mib)?);
        return finish(out, args.json.as_deref());
    }
    if let Some(sizes) = &args.long_lived {
        let sizes: Vec<String> = if !sizes.is_empty() {
            sizes.clone()
        } else if args.quick {
            vec!["500:3000".into()]
        } else {
            vec!["2000:12000".into(), "10000:100000".into()]
        };
        for s in sizes {
            let (n, syncs) = s
                .split_once(':')
                .and_then(|(a, b)| Some((a.parse::<usize>().ok()?, b.parse::<usize>().ok()?)))
                .context("--long-lived takes NOTES:SYNCS pairs, e.g. 2000:12000")?;
            eprintln!("== long-lived workspace: {n} notes, {syncs} small syncs by 3 devices");
            let r = longlived::scenario(n, syncs, args.fewer_files)?;
            eprintln!("{}", serde_json::to_string(&r)?);
            out.insert(format!("long_lived_{n}_{syncs}"), r);
        }
        return finish(out, args.json.as_deref());
    }
    if args.stores {
        let mibs = args.attach_mib.clone().unwrap_or(vec![if args.quick { 64 } else { 1024 }]);
        for n in args.notes.clone().unwrap_or(vec![if args.quick { 1000 } else { 10_000 }]) {
            eprintln!("== {n} notes through a folder, a WebDAV server and an S3 store");
            let r = stores::scenario(&bin, n, mibs.first().copied().unwrap_or(0))?;
            out.insert(format!("stores_{n}"), r);
        }
        return finish(out, args.json.as_deref());
    }
    if args.idle_only {
        let idle = args.idle_entries.unwrap_or(if args.quick { 2000 } else { 100_000 });
        eprintln!("== idle sync with 10 clients, {idle} entries");
        let r = idle_scenario(idle, args.quick, args.fewer_files)?;
        eprintln!("{}", serde_json::to_string(&r)?);
        out.insert("idle_10_clients".into(), r);
        return finish(out, args.json.as_deref());
    }
    if args.find_only {
        for n in scales {
            eprintln!("== finding and filing in {n} notes");
            let r = find_scale(n, args.quick)?;
            eprintln!("{}", serde_json::to_string(&r)?);
            out.insert(format!("find_{n}"), r);
        }
        return finish(out, args.json.as_deref());
    }
    for n in scales {
        eprintln!("== {n} notes");
        let r = run_scale(n, args.quick, &bin)?;
        eprintln!("{}", serde_json::to_string(&r)?);
        out.insert(format!("notes_{n}"), r);
    }
    for mib in args
        .attach_mib
        .clone()
        .unwrap_or(if args.quick { vec![64] } else { vec![1024] })
        .into_iter()
        .filter(|m| *m > 0)
    {
        eprintln!("== attachment of {mib} MiB");
        let r = attach::scenario(&bin, mib)?;
        eprintln!("{}", serde_json::to_string(&r)?);
        out.insert(format!("attach_{mib}_mib"), r);
    }
    let idle = args.idle_entries.unwrap_or(if args.quick { 2000 } else { 100_000 });
    eprintln!("== idle sync with 10 clients, {idle} entries");
    out.insert("idle_10_clients".into(), idle_scenario(idle, args.quick, false)?);
    eprintln!("== history of a note of {history_changes} changes");
    out.insert("history".into(), history::scenario(history_changes, history_reps)?);
    let n = if args.quick { 1000 } else { 10_000 };
    eprintln!("== importing and exporting {n} notes");
    out.insert(format!("transfer_{n}"), transfer::scenario(&bin, n, transfer_reps)?);
    finish(out, args.json.as_deref())
}

/// Search times on a device holding every note (median, p99 per kind of query): a word in
/// almost every note of the corpus, a rare word, the prefixes typed on the way to a word, a
/// phrase, and a substring of Japanese text. Plants 100 notes with the rare and Japanese words.
fn search_scenario(a: &mut Workspace, reps: usize) -> Result<Value> {
    for i in 0..100 {
        a.new_note(
            &format!("planted {i}"),
            &format!("Some text.\n\nThe zeppelin{i} lands; 東京で日本語の本を買った {i}.\n"),
        )?;
    }
    let kinds: [(&str, &[&str]); 5] = [
        ("common_word", &["meeting"]),
        ("rare_word", &["zeppelin42"]),
        ("prefix_while_typing", &["d", "de", "dea", "dead", "deadl", "deadli", "deadline"]),
        ("phrase", &["\"follow up with\""]),
        ("cjk_substring", &["日本語"]),
    ];
    let mut out = Map::new();
    for (name, queries) in kinds {
        let mut samples = Vec::new();
        let mut found = 0;
        for _ in 0..reps.max(20) {
            for q in queries {
                let (hits, ms) = time(|| a.find(q, 50));
                found = hits?.len();
                samples.push(ms);
            }
        }
        if found == 0 {
            bail!("the search for {name} found nothing");
        }
        out.insert(name.into(), stats(&mut samples));
    }
    Ok(Value::Object(out))
}

/// Search, lists and the size of the data dir with its index, on a workspace of `n` notes.
fn find_scale(n: usize, quick: bool) -> Result<Value> {
    let reps = if quick { 5 } else { 20 };
    let tmp = tempfile::tempdir()?;
    let dir = tmp.path().join("a");
    let mut a = Workspace::init(&dir, false, system_clock())?;
    let (made, setup_ms) = time(|| populate(&mut a, n, &mut Rng::new(42)));
    made?;
    eprintln!("  populated in {:.1} s", setup_ms / 1000.0);
    let mut r = Map::new();
    r.insert("setup_s".into(), json!(measure::round(setup_ms / 1000.0)));
    checkpoint(&a)?;
    r.insert("data_dir_bytes".into(), json!(du(&dir)));
    r.insert("data_dir_bytes_per_note".into(), json!(du(&dir) / n as u64));
    r.insert("storage".into(), breakdown(&a)?);
    r.insert("search_ms".into(), search_scenario(&mut a, reps)?);
    if let Some(keep) = std::env::var_os("RESNOTES_BENCH_KEEP") {
        // For profiling queries by hand (sqlite3 or a harness) on the very same database.
        checkpoint(&a)?;
        copy_dir(&dir, &std::path::Path::new(&keep).join(format!("find-{n}")))?;
    }
    r.insert("list_ms".into(), list_scenario(&mut a, reps)?);
    r.insert("joined".into(), typing_while_indexing(&mut a, tmp.path(), n)?);
    Ok(Value::Object(r))
}

/// A device joins `a`'s workspace through a folder, then indexes its notes' text for search in
/// the background on a connection of its own, batches of 50 as the app does, while the user
/// types into a note every 5 ms: how long the indexing takes and what each keystroke (a
/// durable splice) costs meanwhile.
fn typing_while_indexing(a: &mut Workspace, tmp: &Path, n: usize) -> Result<Value> {
    let folder = tmp.join("folder");
    std::fs::create_dir_all(&folder)?;
    let f = Folder::new(&folder);
    let row = a.add_target(TargetKind::Folder, &f, Some(PASS), 10)?;
    check(&a.sync_with(&[(&row, &f as &dyn Transport)], &mut |_| {})?)?;
    let b_dir = tmp.join("b");
    let mut b = Workspace::join(&b_dir, TargetKind::Folder, &f, Some(PASS), false, system_clock())?;
    check(&b.sync_all(&mut |_| {})?)?;
    if b.list(None)?.len() < n {
        bail!("the joined device lists fewer than {n} notes");
    }
    let typed = b.list(Some(1))?.remove(0).id;
    b.note(&typed)?; // opened, as the editor does before typing
    let typed: uuid::Uuid = typed.parse()?;
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let indexer = {
        let (dir, done) = (b_dir.clone(), done.clone());
        std::thread::spawn(move || -> Result<(f64, u64)> {
            let w = Workspace::open(&dir)?;
            let started = Instant::now();
            loop {
                let p = w.index_for_search(50)?;
                if p.indexed >= p.total {
                    done.store(true, std::sync::atomic::Ordering::SeqCst);
                    return Ok((started.elapsed().as_secs_f64(), p.total));
                }
            }
        })
    };
    let mut samples = Vec::new();
    while !done.load(std::sync::atomic::Ordering::SeqCst) {
        let (res, ms) = time(|| b.splice_note(&typed, Field::Body, 0, 0, "x"));
        res?;
        samples.push(ms);
        std::thread::sleep(Duration::from_millis(5));
    }
    let (secs, total) = indexer.join().map_err(|_| anyhow::anyhow!("the indexer panicked"))??;
    eprintln!("  indexed {total} notes in {secs:.1} s while typing {} keys", samples.len());
    Ok(json!({
        "search_index_after_join_s": measure::round(secs),
        "keystroke_while_indexing_ms": stats(&mut samples),
    }))
}

/// The first 50 rows of the notes list (what the app shows first) per view: all notes by last
/// edit, by creation and by title (pinned notes first in each), one tag's notes and one
/// notebook's. Tags every 10th note "work", files every 10th (another tenth) in a notebook and
/// pins 5 notes first (not durably: this is setup, not what is measured).
fn list_scenario(a: &mut Workspace, reps: usize) -> Result<Value> {
    let ids: Vec<String> = a.list(None)?.into_iter().map(|n| n.id).collect();
    resnotes_core::testing::set_durable(a, false)?;
    let book = a.add_notebook("Projects", resnotes_core::Place::Default)?;
    let book = resnotes_core::Place::Notebook(book);
    for (i, id) in ids.iter().enumerate() {
        if i % 10 == 0 {
            a.retag(id, &["work"], &[])?;
        }
        if i % (ids.len() / 20).max(1) == 7 {
            a.retag(id, &["rare"], &[])?;
        }
        if i % 10 == 5 {
            a.move_note(id, book)?;
        }
        if i % (ids.len() / 5).max(1) == 3 {
            a.set_pinned(id, true)?;
        }
    }
    resnotes_core::testing::set_durable(a, true)?;
    let work = vec!["work".to_string()];
    let views: [(&str, resnotes_core::ListQuery); 6] = [
        ("all_by_edit", resnotes_core::ListQuery { limit: Some(50), ..Default::default() }),
        (
            "all_by_creation",
            resnotes_core::ListQuery {
                sort: resnotes_core::Sort::Created,
                limit: Some(50),
                ..Default::default()
            },
        ),
        (
            "all_by_title",
            resnotes_core::ListQuery {
                sort: resnotes_core::Sort::Title,
                limit: Some(50),
                ..Default::default()
            },
        ),
        ("one_tag", resnotes_core::ListQuery { tags: work, limit: Some(50), ..Default::default() }),
        (
            "one_notebook",
            resnotes_core::ListQuery {
                notebook: Some(book),
                limit: Some(50),
                ..Default::default()
            },
        ),
        (
            "default_notebook",
            resnotes_core::ListQuery {
                notebook: Some(resnotes_core::Place::Default),
                limit: Some(50),
                ..Default::default()
            },
        ),
    ];
    let mut out = Map::new();
    for (name, q) in &views {
        let mut samples = Vec::new();
        for _ in 0..reps.max(20) {
            let (rows, ms) = time(|| a.list_notes(q));
            let rows = rows?;
            let filtered = ["one_tag", "one_notebook"].contains(name);
            let want = if filtered { 50.min(ids.len() / 10) } else { 50.min(ids.len()) };
            if rows.len() != want || (!filtered && !rows[0].pinned) {
                bail!(
                    "the list {name} shows {} notes, first pinned: {:?}",
                    rows.len(),
                    rows.first().map(|r| r.pinned)
                );
            }
            samples.push(ms);
        }
        out.insert((*name).into(), stats(&mut samples));
    }
    // Words searched inside a view (the app's search field with a tag or notebook chosen).
    let rare = resnotes_core::ListQuery {
        tags: vec!["rare".to_string()],
        limit: Some(50),
        ..Default::default()
    };
    let inside: [(&str, resnotes_core::ListQuery, &str); 4] = [
        ("search_word_in_tag", views[3].1.clone(), "meeting"),
        ("search_word_in_small_tag", rare, "meeting"),
        ("search_word_in_default_notebook", views[5].1.clone(), "meeting"),
        ("search_phrase_in_default_notebook", views[5].1.clone(), "\"follow up with\""),
    ];
    for (name, q, words) in inside {
        // Whether the view holds a match at all (in a small workspace, the phrase may not be
        // in any of its notes): then it must find one.
        let members: std::collections::HashSet<String> = a
            .list_notes(&resnotes_core::ListQuery { limit: None, ..q.clone() })?
            .into_iter()
            .map(|n| n.id)
            .collect();
        let some = a.find(words, 5000)?.iter().any(|n| members.contains(&n.id));
        if !some {
            eprintln!("  (no note of the view matches {words}: {name} not measured)");
            continue;
        }
        let mut samples = Vec::new();
        for _ in 0..reps.max(20) {
            let (rows, ms) = time(|| a.view(&q, words));
            let rows = rows?;
            if rows.is_empty() || rows.iter().any(|n| !members.contains(&n.id)) {
                bail!(
                    "the search {name} found {} notes (none, or some outside the view)",
                    rows.len()
                );
            }
            samples.push(ms);
        }
        out.insert(name.into(), stats(&mut samples));
    }
    Ok(Value::Object(out))
}

/// Prints the results and writes them to `json` if given.
fn finish(out: Map<String, Value>, json: Option<&Path>) -> Result<()> {
    let text = serde_json::to_string_pretty(&Value::Object(out))?;
    println!("{text}");
    if let Some(p) = json {
        std::fs::write(p, text + "\n").with_context(|| format!("cannot write {}", p.display()))?;
    }
    Ok(())
}

/// Builds the release CLI next to this binary and returns its path.
fn build_cli() -> Result<PathBuf> {
    let st = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["build", "--release", "-p", "resnotes-cli", "--quiet"])
        .status()
        .context("cannot run cargo to build resnotes")?;
    if !st.success() {
        bail!("building resnotes failed");
    }
    let exe = std::env::current_exe()?;
    let p = exe.parent().context("binary dir")?.join("resnotes");
    if !p.exists() {
        bail!("{} not found; pass --bin", p.display());
    }
    Ok(p)
}

fn machine() -> Value {
    let cpu = std::fs::read_to_string("/proc/cpuinfo").ok().and_then(|s| {
        s.lines()
            .find(|l| l.starts_with("model name"))
            .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
    });
    json!({
        "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        "cpu": cpu,
        "os": std::env::consts::OS,
    })
}

pub(crate) fn export_corpus(n: usize, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut rng = Rng::new(42);
    for i in 0..n {
        let title = corpus::title(&mut rng);
        let body = corpus::body(&mut rng);
        std::fs::write(dir.join(format!("{i:06}.md")), format!("# {title} {i}\n\n{body}"))?;
    }
    Ok(())
}

/// Creates a workspace of `n` notes: each created by its own edit, then edited three times.
/// Returns the id of a ~10 KB note used for the keystroke benchmark.
fn populate(ws: &mut Workspace, n: usize, rng: &mut Rng) -> Result<uuid::Uuid> {
    // Setup only: skip fsync so building 100k notes takes seconds; measurements reopen with FULL.
    resnotes_core::testing::set_durable(ws, false)?;
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        let title = format!("{} {i}", corpus::title(rng));
        let body = if i == 0 { corpus::body_of_size(rng, 10_000) } else { corpus::body(rng) };
        let id = ws.new_note(&title, &body)?;
        for _ in 0..3 {
            let len = body.chars().count();
            let s = format!(" {}", corpus::sentence(rng));
            ws.splice_note(&id, Field::Body, rng.below(len + 1), 0, &s)?;
        }
        ids.push(id);
    }
    resnotes_core::testing::set_durable(ws, true)?;
    Ok(ids[0])
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)? {
        let e = e?;
        let p = e.path();
        if p.is_dir() {
            copy_dir(&p, &to.join(e.file_name()))?;
        } else {
            std::fs::copy(&p, to.join(e.file_name()))?;
        }
    }
    Ok(())
}

/// What a data dir's database holds: bytes of the log's entries, of stored documents, of the
/// other tables, and the file's pages.
fn breakdown(ws: &Workspace) -> Result<Value> {
    Ok(serde_json::to_value(ws.storage()?)?)
}

fn checkpoint(ws: &Workspace) -> Result<()> {
    ws.storage()?; // copies the write-ahead log into the database first
    Ok(())
}

fn run_scale(n: usize, quick: bool, bin: &Path) -> Result<Value> {
    let reps = if quick { 5 } else { 20 };
    let tmp = tempfile::tempdir()?;
    if let Some(keep) = std::env::var_os("RESNOTES_BENCH_KEEP") {
        // Inspect a scale's data dirs afterwards (they are copied there at the end).
        eprintln!("  data dirs will be kept in {}", std::path::Path::new(&keep).display());
    }
    let a_dir = tmp.path().join("a");
    let mut r = Map::new();
    let mut rng = Rng::new(42);

    let mut a = Workspace::init(&a_dir, false, system_clock())?;
    let (big, setup_ms) = time(|| populate(&mut a, n, &mut rng));
    let big = big?;
    r.insert("setup_s".into(), json!(measure::round(setup_ms / 1000.0)));
    checkpoint(&a)?;
    drop(a);
    let unbatched_dir = tmp.path().join("a-unbatched");
    copy_dir(&a_dir, &unbatched_dir)?;
    eprintln!("  populated in {:.1} s", setup_ms / 1000.0);

    // Cold open: open the data dir and produce the first 50 notes of the list.
    let mut samples = Vec::new();
    for _ in 0..reps {
        let (res, ms) =
            time(|| -> Result<usize> { Ok(Workspace::open(&a_dir)?.list(Some(50))?.len()) });
        assert_eq!(res?, 50.min(n));
        samples.push(ms);
    }
    r.insert("cold_open_ms".into(), stats(&mut samples));
    let mut samples = Vec::new();
    for _ in 0..reps.min(10) {
        let (out, ms) = time(|| {
            Command::new(bin)
                .args(["--data-dir", a_dir.to_str().unwrap(), "list", "--limit", "50"])
                .output()
        });
        let out = out?;
        if !out.status.success() {
            bail!("resnotes list failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        samples.push(ms);
    }
    r.insert("cold_open_process_ms".into(), stats(&mut samples));

    // Keystrokes: one-character durable splices into a ~10 KB note.
    let mut a = Workspace::open(&a_dir)?;
    let mut samples = Vec::new();
    let keys = if quick { 200 } else { 1000 };
    for i in 0..keys {
        let ch = if i % 7 == 6 { " " } else { "x" };
        let (res, ms) = time(|| a.splice_note(&big, Field::Body, 5000 + i, 0, ch));
        res?;
        samples.push(ms);
    }
    r.insert("edit_ms".into(), stats(&mut samples));
    eprintln!("  edits done");

    // First push to an empty folder: seal the history into entries, write them.
    let f = tmp.path().join("F");
    std::fs::create_dir_all(&f)?;
    a.add_target(TargetKind::Folder, &Folder::new(&f), Some(PASS), 10)?;
    let (rep, ms) = time(|| a.sync_all(&mut |_| {}));
    check(&rep?)?;
    r.insert("push_s".into(), json!(measure::round(ms / 1000.0)));
    r.insert("push_files".into(), json!(measure::count_files(&f)));
    eprintln!("  pushed in {:.2} s", ms / 1000.0);

    // The same history sealed one change per entry, pushed with one fsync per file and batched.
    {
        let mut u = Workspace::open(&unbatched_dir)?;
        let (entries, seal_ms) = time(|| u.seal_pending(1, usize::MAX));
        let entries = entries?;
        let mut per = Map::new();
        per.insert("entries".into(), json!(entries));
        per.insert("seal_s".into(), json!(measure::round(seal_ms / 1000.0)));
        for (name, batch) in [("push_fsync_each_s", false), ("push_fsync_batched_s", true)] {
            let g = tmp.path().join(name);
            std::fs::create_dir_all(&g)?;
            let folder = Folder::new(&g).with_batch_sync(batch);
            let t = u.add_target(TargetKind::Folder, &folder, Some(PASS), 10)?;
            let tr: &dyn Transport = &folder;
            let (rep, ms) = time(|| u.sync_with(&[(&t, tr)], &mut |_| {}));
            check(&rep?)?;
            per.insert(name.into(), json!(measure::round(ms / 1000.0)));
            per.insert(format!("{name}_folder_bytes"), json!(du(&g)));
        }
        r.insert("unbatched".into(), Value::Object(per));
    }
    eprintln!("  unbatched variant done");

    // Join: a new device until every note is listed.
    let b_dir = tmp.path().join("b");
    let (b, ms) = time(|| -> Result<Workspace> {
        let mut b = join_folder(&b_dir, &f)?;
        check(&b.sync_all(&mut |_| {})?)?;
        let listed = b.list(None)?.len();
        if listed != n {
            bail!("joined device lists {listed} notes, expected {n}");
        }
        Ok(b)
    });
    let mut b = b?;
    r.insert("join_s".into(), json!(measure::round(ms / 1000.0)));
    eprintln!("  joined in {:.2} s", ms / 1000.0);

    // Background search indexing of the notes the join listed (the app does this a batch at a
    // time after joining).
    let (indexed, ms) = time(|| -> Result<u64> {
        loop {
            let p = b.index_for_search(200)?;
            if p.indexed >= p.total {
                return Ok(p.total);
            }
        }
    });
    r.insert("search_index_after_join_s".into(), json!(measure::round(ms / 1000.0)));
    r.insert("search_indexed_after_join".into(), json!(indexed?));
    eprintln!("  indexed for search after the join in {:.2} s", ms / 1000.0);
    r.insert("search_ms".into(), search_scenario(&mut a, reps)?);
    r.insert("list_ms".into(), list_scenario(&mut a, reps)?);

    // Idle cycles and one-edit round trips.
    let mut samples = Vec::new();
    for _ in 0..reps {
        let (rep, ms) = time(|| b.sync_all(&mut |_| {}));
        check(&rep?)?;
        samples.push(ms);
    }
    r.insert("idle_sync_ms".into(), stats(&mut samples));
    let mut samples = Vec::new();
    let target = a.list(Some(1))?[0].id.parse::<uuid::Uuid>()?;
    for i in 0..reps {
        let word = format!("w{i}");
        let (res, ms) = time(|| -> Result<()> {
            a.splice_note(&target, Field::Title, 0, 0, &word)?;
            check(&a.sync_all(&mut |_| {})?)?;
            check(&b.sync_all(&mut |_| {})?)?;
            let top = b.list(Some(1))?;
            if !top[0].title.starts_with(&word) {
                bail!("edit did not arrive: {:?} vs A {:?}", top[0], a.list(Some(1))?[0]);
            }
            Ok(())
        });
        res?;
        samples.push(ms);
    }
    r.insert("incremental_ms".into(), stats(&mut samples));

    // Storage.
    checkpoint(&a)?;
    checkpoint(&b)?;
    r.insert("local_bytes".into(), json!(du(&a_dir)));
    r.insert("local_bytes_joined".into(), json!(du(&b_dir)));
    r.insert("local_breakdown".into(), breakdown(&a)?);
    r.insert("local_breakdown_joined".into(), breakdown(&b)?);
    if let Some(keep) = std::env::var_os("RESNOTES_BENCH_KEEP") {
        copy_dir(&a_dir, &std::path::Path::new(&keep).join("a"))?;
        copy_dir(&b_dir, &std::path::Path::new(&keep).join("b"))?;
    }
    r.insert("folder_bytes".into(), json!(du(&f)));
    drop(a);
    drop(b);

    // Watch processes: memory of one holding the workspace, and edit-to-visible latency.
    let watch = |dir: &Path| -> Result<std::process::Child> {
        Ok(Command::new(bin)
            .args(["--data-dir", dir.to_str().unwrap(), "sync", "--watch", "--interval", "30"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?)
    };
    let mut wa = watch(&a_dir)?;
    let mut wb = watch(&b_dir)?;
    std::thread::sleep(Duration::from_secs(2));
    let b_view = Workspace::open(&b_dir)?;
    let mut samples = Vec::new();
    for i in 0..reps.min(10) {
        let title = format!("watched {i}");
        let out = Command::new(bin)
            .args([
                "--data-dir",
                a_dir.to_str().unwrap(),
                "edit",
                &big.to_string(),
                "--title",
                &title,
            ])
            .output()?;
        if !out.status.success() {
            bail!("edit failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        let t0 = Instant::now();
        loop {
            let seen = b_view.summary(&big.to_string())?.map(|n| n.title).unwrap_or_default();
            if seen == title {
                break;
            }
            if t0.elapsed() > Duration::from_secs(20) {
                bail!("watch: edit {i} not visible after 20 s");
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        samples.push(t0.elapsed().as_secs_f64() * 1000.0);
    }
    r.insert("watch_latency_ms".into(), stats(&mut samples));
    if let Some((rss, hwm)) = rss_mib(wb.id()) {
        r.insert("watch_rss_mib".into(), json!(rss));
        r.insert("watch_peak_rss_mib".into(), json!(hwm));
    }
    for c in [&mut wa, &mut wb] {
        let _ = Command::new("kill").args(["-INT", &c.id().to_string()]).status();
        let _ = c.wait();
    }
    Ok(Value::Object(r))
}

/// A new device joining the benchmark's workspace through `folder`, with its passphrase.
fn join_folder(dir: &Path, folder: &Path) -> resnotes_core::Result<Workspace> {
    Workspace::join(
        dir,
        TargetKind::Folder,
        &Folder::new(folder),
        Some(PASS),
        false,
        system_clock(),
    )
}

fn check(reports: &[resnotes_core::TargetReport]) -> Result<()> {
    for r in reports {
        if let Some(e) = &r.error {
            bail!("sync with {} failed: {e}", r.location);
        }
    }
    Ok(())
}

/// 10 clients with `entries` entries in all in one folder; a reader pulls them all, then idles.
fn idle_scenario(entries: usize, quick: bool, fewer_files: bool) -> Result<Value> {
    let tmp = tempfile::tempdir()?;
    let f = tmp.path().join("F");
    std::fs::create_dir_all(&f)?;
    let per = entries / 10;
    let mut rng = Rng::new(7);
    let (res, setup_ms) = time(|| -> Result<()> {
        // Client 0 creates the workspace in F; the others join it (for the key) but push to a
        // folder of their own, whose client folder is then copied into F — entries are copied
        // verbatim (FORMAT.md), so F ends as if they had all pushed there, and no client pulls
        // the others' entries during setup (which made it grow quadratically).
        let mut first = Workspace::init(&tmp.path().join("c0"), false, system_clock())?;
        let t = first.add_target(TargetKind::Folder, &Folder::new(&f), Some(PASS), 10)?;
        if fewer_files {
            first.use_fewer_files()?;
            check(&first.sync_with(&[(&t, &Folder::new(&f) as &dyn Transport)], &mut |_| {})?)?;
        }
        drop(first);
        for c in 0..10 {
            let dir = tmp.path().join(format!("c{c}"));
            let mut ws = if c == 0 { Workspace::open(&dir)? } else { join_folder(&dir, &f)? };
            resnotes_core::testing::set_durable(&ws, false)?;
            // 100 notes per client, typed into in turn: many one-change entries, small documents.
            let notes = 100.min(per.max(1));
            let ids = (0..notes)
                .map(|k| ws.new_note(&format!("client {c} note {k}"), "log:"))
                .collect::<resnotes_core::Result<Vec<_>>>()?;
            for i in notes..per {
                let s = format!(" {}", corpus::sentence(&mut rng));
                ws.splice_note(
                    &ids[i % notes],
                    Field::Body,
                    usize::MAX,
                    0,
                    if i % 2 == 0 { &s } else { "." },
                )?;
            }
            ws.seal_pending(1, usize::MAX)?;
            let own = tmp.path().join(format!("own{c}"));
            std::fs::create_dir_all(&own)?;
            let folder = Folder::new(&own);
            let t = ws.add_target(TargetKind::Folder, &folder, Some(PASS), 10)?;
            let tr: &dyn Transport = &folder;
            check(&ws.sync_with(&[(&t, tr)], &mut |_| {})?)?;
            let client = ws.client_id().to_string();
            let status = Command::new("cp")
                .arg("-a")
                .arg(own.join(&client))
                .arg(f.join(&client))
                .status()?;
            if !status.success() {
                bail!("copying client {c}'s entries into the shared folder failed");
            }
        }
        Ok(())
    });
    res?;
    longlived::keep_for_profiling(&f)?;
    let mut r = Map::new();
    r.insert("entries".into(), json!(per * 10));
    r.insert("fewer_files".into(), json!(fewer_files));
    r.insert("folder_files".into(), json!(measure::count_files(&f)));
    r.insert("setup_s".into(), json!(measure::round(setup_ms / 1000.0)));
    let (reader, ms) = time(|| -> Result<Workspace> {
        let mut w = join_folder(&tmp.path().join("reader"), &f)?;
        check(&w.sync_all(&mut |_| {})?)?;
        Ok(w)
    });
    let mut reader = reader?;
    r.insert("pull_all_s".into(), json!(measure::round(ms / 1000.0)));
    let mut samples = Vec::new();
    for _ in 0..(if quick { 5 } else { 20 }) {
        let (rep, ms) = time(|| reader.sync_all(&mut |_| {}));
        check(&rep?)?;
        samples.push(ms);
    }
    r.insert("idle_sync_ms".into(), stats(&mut samples));
    Ok(Value::Object(r))
}
