//! The desktop app measured as a person uses it: the real `resilient-notes` binary under X,
//! driven over WebDriver (tauri-driver + WebKitWebDriver), with the page's own input-to-paint
//! timings (`ui/src/timings.ts`, read from `window.resnotesTimings`).
//!
//! What is timed, and from where to where:
//! - **start**: the WebDriver request that launches the app → the notes list painted (page
//!   wall clock, same machine);
//! - **open**: the click on a note in the list → its text painted (first open after start, and
//!   again after another note was opened);
//! - **keystroke**: the key event in the page → the frame with the new character painted, one
//!   key every 100 ms (a quick typist) and in bursts of 20;
//! - **preview**: the click on Preview → the rendered note painted;
//! - **typing during a pull**: keystrokes into a small note while another device's notes arrive
//!   through the shared folder, with the longest gap between two painted frames (a stall);
//! - **memory**: resident memory (RSS and PSS) of the app and its WebKit processes.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use resnotes_core::transport::Folder;
use resnotes_core::{system_clock, TargetKind, Workspace};
use resnotes_e2e::webdriver::App;
use serde_json::{json, Map, Value};

use crate::corpus::{self, Rng};
use crate::measure::{round, stats};
use crate::{check, populate, PASS};

/// Sizes of the big notes whose open, typing and preview are measured.
const BIG: [(&str, usize); 3] = [("10 KB", 10_000), ("1 MB", 1_000_000), ("5 MB", 5_000_000)];
/// The same in `--quick` (CI runs it on a debug build to prove the scenario still works).
const BIG_QUICK: [(&str, usize); 3] = [("10 KB", 10_000), ("100 KB", 100_000), ("300 KB", 300_000)];

fn wall_ms(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64() * 1000.0).unwrap_or(0.0)
}

/// Runs the app scenario with `notes` notes on the app's device and as many arriving from
/// another device during the typing test.
pub fn scenario(app_bin: &Path, cli_bin: &Path, notes: usize, quick: bool) -> Result<Value> {
    if std::env::var_os("DISPLAY").is_none() {
        bail!("the app benchmark needs an X display: run it under xvfb-run");
    }
    // The app reads the workspace key from where this process writes it.
    std::env::set_var("RESNOTES_NO_KEYRING", "1");
    std::env::set_var("RESNOTES_APP_BIN", app_bin);
    std::env::set_var("RESNOTES_BIN", cli_bin);
    let tmp = tempfile::tempdir()?;
    let b_dir = tmp.path().join("app");
    let f = tmp.path().join("F");
    let f2 = tmp.path().join("F-other-device");
    let mut rng = Rng::new(7);
    let mut r = Map::new();

    // The app's device: `notes` notes, then the big ones and a small one to type in (newest, so
    // at the top of the list).
    let t = Instant::now();
    let mut b = Workspace::init(&b_dir, false, system_clock())?;
    populate(&mut b, notes, &mut rng)?;
    let mut big_ids = Vec::new();
    for (label, size) in if quick { BIG_QUICK } else { BIG } {
        let body = corpus::body_of_size(&mut rng, size);
        big_ids.push((label, b.new_note(&format!("Big note {label}"), &body)?.to_string()));
    }
    let small = b.new_note("Typing test", "")?.to_string();
    std::fs::create_dir_all(&f)?;
    b.add_target(TargetKind::Folder, &Folder::new(&f), Some(PASS), 10)?;
    check(&b.sync_all(&mut |_| {})?)?;
    drop(b);
    // Another device with as many notes, pushed to a copy of the folder: its files are copied
    // into the app's folder while the app is being typed in.
    crate::copy_dir(&f, &f2)?;
    let mut a = Workspace::join(
        &tmp.path().join("other"),
        TargetKind::Folder,
        &Folder::new(&f2),
        Some(PASS),
        false,
        system_clock(),
    )?;
    populate(&mut a, notes, &mut rng)?;
    check(&a.sync_all(&mut |_| {})?)?;
    let other_client = a.client_id().to_string();
    drop(a);
    eprintln!("  app corpus ready in {:.0} s", t.elapsed().as_secs_f64());
    r.insert("engine_read".into(), engine_reads(&b_dir, &big_ids)?);
    // The small note is the newest again (it opens at start) and no big note is opened yet: the
    // app's first opens below are first opens.
    {
        let mut b = Workspace::open(&b_dir)?;
        let id: uuid::Uuid = small.parse()?;
        b.edit_fields(&id, None, &[(resnotes_core::Field::Body, &[resnotes_core::TextSplice { pos: 0, delete: 0, insert: "Typed here: ".into() }][..])])?;
    }

    // Start: three launches (one in --quick), the list painted each time.
    let mut starts = Vec::new();
    let mut start_steps = Vec::new();
    for i in 0..if quick { 1 } else { 3 } {
        let app = App::start("bench", &b_dir, &[]);
        let painted = wait_value(&app, "return window.resnotesTimings.listPainted", 60)?;
        starts.push(painted - wall_ms(app.launched()));
        // Where the start went: the page's navigation (WebKit up), its script run, the list.
        let steps = app.js(
            "const t = window.resnotesTimings.startSteps; const n = performance.getEntriesByType('navigation')[0] || {}; return {navigation: performance.timeOrigin, responseEnd: performance.timeOrigin + (n.responseEnd || 0), domInteractive: performance.timeOrigin + (n.domInteractive || 0), script: t.script, listAsked: t.listAsked, listReceived: t.listReceived, listFrame: t.listFrame, firstFrame: t.firstFrame, firstPainted: t.firstPainted, noteShown: t.noteShown}",
            json!([]),
        );
        let launched = wall_ms(app.launched());
        let mut at: Map<String, Value> = steps
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.clone(), json!(v.as_f64().map(|v| round(v - launched)))))
            .collect();
        at.insert("listPainted".into(), json!(round(painted - launched)));
        eprintln!("  start steps (ms after launch): {}", Value::Object(at.clone()));
        start_steps.push(Value::Object(at));
        if i + 1 < if quick { 1 } else { 3 } {
            app.quit();
        } else {
            r.insert("start_to_list_ms".into(), stats(&mut starts));
            r.insert("start_steps_ms".into(), json!(start_steps));
            std::thread::sleep(Duration::from_secs(3));
            r.insert("memory_after_start".into(), memory(app.driver_pid()));
            measure_notes(&app, &b_dir, &big_ids, &small, quick, &mut r)?;
            r.insert("memory_after_big_notes".into(), memory(app.driver_pid()));
            pull_while_typing(&app, &b_dir, &small, &f, &f2, &other_client, notes, &mut r)?;
            r.insert("memory_after_pull".into(), memory(app.driver_pid()));
            app.screenshot("bench-after-pull");
            app.quit();
        }
    }
    Ok(Value::Object(r))
}

/// The engine's share of opening and typing, without the app: a note read on a freshly opened
/// workspace (its document loaded from the database), read again (from the cache), and one
/// keystroke's edit answered.
fn engine_reads(dir: &Path, big: &[(&str, String)]) -> Result<Value> {
    let mut out = Map::new();
    for (label, id) in big {
        // Its document loaded (and, for a big note, its text kept), then read from the kept
        // text on a workspace opened again, then from the cache after an edit.
        let (note, cold) = crate::measure::time(|| Workspace::open(dir)?.note(id));
        let note = note?;
        let mut ws = Workspace::open(dir)?;
        let (_, kept) = crate::measure::time(|| ws.note(id));
        let uuid: uuid::Uuid = id.parse()?;
        let splice = [resnotes_core::TextSplice { pos: 0, delete: 0, insert: "x".into() }];
        let mut heads = note.heads.clone();
        let _ = note;
        let mut edits = Vec::new();
        for _ in 0..20 {
            let (e, ms) = crate::measure::time(|| {
                ws.edit_open_note(&uuid, &heads, &[(resnotes_core::Field::Body, &splice[..])])
            });
            heads = e?.heads;
            edits.push(ms);
        }
        // Put the note back as it was (the app run types into it from the start).
        ws.edit_fields(
            &uuid,
            Some(&heads),
            &[(
                resnotes_core::Field::Body,
                &[resnotes_core::TextSplice { pos: 0, delete: 20, insert: String::new() }][..],
            )],
        )?;
        let (_, warm) = crate::measure::time(|| ws.note(id));
        out.insert(
            slug(label),
            json!({"read_loading_document_ms": round(cold), "read_kept_text_ms": round(kept), "read_after_edit_ms": round(warm), "edit_ms": stats(&mut edits)}),
        );
    }
    Ok(Value::Object(out))
}

/// Polls a JavaScript expression until it returns a number.
fn wait_value(app: &App, script: &str, secs: u64) -> Result<f64> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = app.js(script, json!([])).as_f64() {
            return Ok(v);
        }
        if Instant::now() > deadline {
            bail!("waited {secs} s for `{script}`");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Clicks the note `id` in the list and returns ms from the click to its text painted.
fn open(app: &App, id: &str) -> Result<f64> {
    app.js("window.resnotesTimings.clear()", json!([]));
    app.js("document.querySelector(`#notes li[data-id=\"${arguments[0]}\"]`).click()", json!([id]));
    wait_value(app, "return window.resnotesTimings.spans.open?.[0] ?? null", 300)
}

/// Types `keys` one every `gap` (or all at once when `gap` is zero) into the focused editor,
/// calling `each` with the count typed so far after every key, and returns each key's event →
/// paint time with the editor's update times and the frame gaps meanwhile.
fn type_keys(
    app: &App,
    keys: &str,
    gap: Duration,
    mut each: impl FnMut(usize) -> Result<()>,
) -> Result<Typed> {
    app.js("window.resnotesTimings.clear(); window.resnotesTimings.watchStalls()", json!([]));
    if gap.is_zero() {
        app.press(&[], keys);
    } else {
        for (i, c) in keys.chars().enumerate() {
            let t = Instant::now();
            app.press(&[], &c.to_string());
            std::thread::sleep(gap.saturating_sub(t.elapsed()));
            each(i + 1)?;
        }
    }
    let n = keys.chars().count();
    let script = format!("return window.resnotesTimings.keys.length >= {n} ? 1 : null");
    wait_value(app, &script, 120)?;
    let v = app.js(
        "const t = window.resnotesTimings; t.stopStalls(); return [t.keys.map(k => k.painted - k.down), t.spans.update ?? [], t.stall.longest, t.stall.over100]",
        json!([]),
    );
    let list = |i: usize| -> Vec<f64> {
        v[i].as_array().into_iter().flatten().filter_map(Value::as_f64).collect()
    };
    Ok(Typed {
        keys: list(0),
        updates: list(1),
        longest_gap: v[2].as_f64().unwrap_or(0.0),
        gaps_over_100: v[3].as_u64().unwrap_or(0),
    })
}

/// Typed keys' event → paint times, the editor's update times, the longest frame gap (ms) and
/// how many gaps were over 100 ms.
struct Typed {
    keys: Vec<f64>,
    updates: Vec<f64>,
    longest_gap: f64,
    gaps_over_100: u64,
}

impl Typed {
    fn report(mut self) -> Value {
        json!({
            "keystroke_ms": stats(&mut self.keys),
            "editor_update_ms": stats(&mut self.updates),
            "longest_frame_gap_ms": round(self.longest_gap),
            "frame_gaps_over_100ms": self.gaps_over_100,
        })
    }
}

/// Waits until the engine holds `text` at the start of the note's body (nothing typed lost).
fn wait_saved(dir: &Path, id: &str, text: &str) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let body = Workspace::open(dir)?.note(id)?.body;
        if body.starts_with(text) {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!(
                "the note does not start with what was typed ({:?}…)",
                &text[..text.len().min(20)]
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn focus_editor(app: &App) {
    app.js("const c = document.querySelector('#editor .cm-content'); c.focus();", json!([]));
    std::thread::sleep(Duration::from_millis(200));
}

fn measure_notes(
    app: &App,
    dir: &Path,
    big: &[(&str, String)],
    small: &str,
    quick: bool,
    r: &mut Map<String, Value>,
) -> Result<()> {
    for (label, id) in big {
        let first = open(app, id)?;
        open(app, small)?;
        let again = open(app, id)?;
        eprintln!("  open {label}: first {first:.0} ms, again {again:.0} ms");
        r.insert(
            format!("open_{}_ms", slug(label)),
            json!({"first": round(first), "again": round(again)}),
        );
        if *label == "10 KB" {
            focus_editor(app);
            let keys =
                type_keys(app, "A short note, typed ", Duration::from_millis(100), |_| Ok(()))?
                    .report();
            eprintln!("  typing in {label}: {keys}");
            r.insert(format!("typing_{}", slug(label)), keys);
            continue;
        }
        // Typing at a quick typist's pace, then a burst, at the start of the big note.
        focus_editor(app);
        let steady = "The quick brown fox jumps over the lazy dog ";
        let steady = if quick { &steady[..20] } else { steady };
        let keys = type_keys(app, steady, Duration::from_millis(100), |_| Ok(()))?.report();
        let burst = "abcdefghijklmnopqrst";
        let burst_keys = type_keys(app, burst, Duration::ZERO, |_| Ok(()))?.report();
        wait_saved(dir, id, &format!("{steady}{burst}"))?;
        eprintln!("  typing in {label}: {keys} burst {burst_keys}");
        r.insert(format!("typing_{}", slug(label)), keys);
        r.insert(format!("typing_burst_{}", slug(label)), burst_keys);
        // Preview.
        app.js("window.resnotesTimings.clear()", json!([]));
        app.click("#toggle-preview");
        let p = wait_value(app, "return window.resnotesTimings.spans.preview?.[0] ?? null", 300)?;
        app.screenshot(&format!("bench-preview-{}", slug(label)));
        app.click("#toggle-preview");
        r.insert(format!("preview_{}_ms", slug(label)), json!(round(p)));
        eprintln!("  preview {label}: {p:.0} ms");
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn pull_while_typing(
    app: &App,
    dir: &Path,
    small: &str,
    f: &Path,
    f2: &Path,
    other_client: &str,
    notes: usize,
    r: &mut Map<String, Value>,
) -> Result<()> {
    open(app, small)?;
    focus_editor(app);
    let before = listed(dir)?;
    // The other device's files appear in the folder as a sync tool would put them there.
    let from = f2.join(other_client);
    let to = f.join(other_client);
    let copier = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(1));
        copy_in(&from, &to)
    });
    let text: String = "Typing while the other device's notes arrive. ".repeat(4);
    let started = Instant::now();
    let mut arrived_after = None;
    let typed = type_keys(app, &text, Duration::from_millis(100), |n| {
        if arrived_after.is_none() && n.is_multiple_of(10) && listed(dir)? >= before + notes {
            arrived_after = Some(started.elapsed().as_secs_f64() - 1.0);
        }
        Ok(())
    })?;
    copier.join().map_err(|_| anyhow::anyhow!("copy thread panicked"))??;
    wait_saved(dir, small, &text)?;
    let deadline = Instant::now() + Duration::from_secs(300);
    while listed(dir)? < before + notes {
        if Instant::now() > deadline {
            bail!("the other device's {notes} notes did not all arrive");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let mut report = typed.report();
    report["notes_arrived_within_s"] = json!(arrived_after.map(round));
    eprintln!("  typing during the pull: {report}");
    r.insert("typing_during_pull".into(), report);
    Ok(())
}

/// How many notes the app's device lists (read beside the running app).
fn listed(dir: &Path) -> Result<usize> {
    Ok(Workspace::open(dir)?.list(None)?.len())
}

/// Copies a client's folder into the shared folder file by file, each written under a temporary
/// name and renamed (as Syncthing or Dropbox do).
fn copy_in(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)? {
        let e = e?;
        let (p, dest) = (e.path(), to.join(e.file_name()));
        if p.is_dir() {
            copy_in(&p, &dest)?;
        } else if !dest.exists() {
            let part = to.join(format!(".{}.part", e.file_name().to_string_lossy()));
            std::fs::copy(&p, &part).with_context(|| format!("copy {}", p.display()))?;
            std::fs::rename(&part, &dest)?;
        }
    }
    Ok(())
}

fn slug(label: &str) -> String {
    label.replace(' ', "").to_lowercase()
}

/// RSS and PSS (MiB) summed over the app and its WebKit processes (every descendant of
/// tauri-driver except WebKitWebDriver).
fn memory(driver: u32) -> Value {
    let mut parent_of = Vec::new();
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else { continue };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { continue };
        // "pid (comm) state ppid …": comm may hold spaces, so split after the last ')'.
        let Some((head, rest)) = stat.rsplit_once(')') else { continue };
        let comm = head.split_once('(').map(|(_, c)| c.to_string()).unwrap_or_default();
        let ppid = rest.split_whitespace().nth(1).and_then(|p| p.parse::<u32>().ok());
        if let Some(ppid) = ppid {
            parent_of.push((pid, ppid, comm));
        }
    }
    let mut family = vec![driver];
    let mut i = 0;
    while i < family.len() {
        let p = family[i];
        family.extend(parent_of.iter().filter(|(_, pp, _)| *pp == p).map(|(c, _, _)| *c));
        i += 1;
    }
    let mut procs = Map::new();
    let (mut rss, mut pss) = (0.0, 0.0);
    for (pid, _, comm) in parent_of.iter().filter(|(p, _, _)| family.contains(p) && *p != driver) {
        if comm == "WebKitWebDriver" {
            continue;
        }
        let field = |file: &str, name: &str| -> f64 {
            std::fs::read_to_string(format!("/proc/{pid}/{file}"))
                .ok()
                .and_then(|s| {
                    s.lines()
                        .find(|l| l.starts_with(name))
                        .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
                })
                .unwrap_or(0.0)
                / 1024.0
        };
        let (r, p) = (field("status", "VmRSS:"), field("smaps_rollup", "Pss:"));
        rss += r;
        pss += p;
        procs.insert(format!("{comm} ({pid})"), json!({"rss_mib": round(r), "pss_mib": round(p)}));
    }
    json!({"rss_mib": round(rss), "pss_mib": round(pss), "processes": procs})
}

/// The app binary beside this one (`target/release/resilient-notes`), built with its UI.
pub fn app_bin() -> Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let p = exe.parent().context("binary dir")?.join("resilient-notes");
    if !p.exists() {
        bail!(
            "{} is missing: run `(cd ui && npm ci && npm run build)` and `cargo build --release -p resilient-notes`",
            p.display()
        );
    }
    Ok(p)
}
