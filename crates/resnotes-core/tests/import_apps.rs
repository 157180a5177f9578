//! Importing other apps' export files through the workspace, with fixtures written here in
//! those formats' structure: an Evernote ENEX (ENML with lists, to-dos and an image found by
//! the MD5 of its bytes; tags; times) and a Joplin JEX (a tar of Joplin's RAW items: nested
//! notebooks, notes linking to each other and to a resource by `:/id`, a tag, a to-do, a note in
//! the trash). Checked: notebooks, titles, tags, times, links and attachments; importing again
//! adds nothing; a billion-laughs ENEX and a JEX with paths leaving the archive are refused
//! with a sentence and write nothing outside; stopping leaves nothing.

use std::path::Path;

use resnotes_core::{system_clock, Stage, Workspace};

const PNG: &[u8] = b"\x89PNG\r\n\x1a\nan image";

fn md5_hex(bytes: &[u8]) -> String {
    use md5::Digest;
    md5::Md5::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

fn base64(bytes: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in bytes.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn enex_note(title: &str, enml: &str, rest: &str) -> String {
    format!(
        "<note><title>{title}</title><content><![CDATA[<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE en-note SYSTEM \"http://xml.evernote.com/pub/enml2.dtd\">\n<en-note>{enml}</en-note>]]></content>{rest}</note>"
    )
}

fn enex(notes: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE en-export SYSTEM \"http://xml.evernote.com/pub/evernote-export3.dtd\">\n<en-export export-date=\"20240101T000000Z\" application=\"Evernote\" version=\"10.0\">\n{notes}\n</en-export>\n"
    )
}

fn workspace(tmp: &Path) -> Workspace {
    Workspace::init(&tmp.join("data"), false, system_clock()).unwrap()
}

fn by_title(ws: &Workspace, title: &str) -> resnotes_core::Note {
    let s = ws.list(None).unwrap().into_iter().find(|n| n.title == title);
    ws.note(&s.unwrap_or_else(|| panic!("no note {title}")).id).unwrap()
}

#[test]
fn an_evernote_export_comes_in_with_lists_todos_tags_times_and_images() {
    let tmp = tempfile::tempdir().unwrap();
    let mut ws = workspace(tmp.path());
    let trip = enex_note(
        "Trip plans",
        &format!(
            "<div>Pack:</div><ul><li>passport</li><li>tickets</li></ul>\
             <div><en-todo checked=\"true\"/>book hotel</div><div><en-todo/>buy sunscreen</div>\
             <div><en-media hash=\"{}\" type=\"image/png\"/></div>",
            md5_hex(PNG)
        ),
        &format!(
            "<created>20230501T100000Z</created><updated>20230601T120000Z</updated><tag>travel</tag><tag>Summer 2023</tag>\
             <resource><data encoding=\"base64\">{}</data><mime>image/png</mime><resource-attributes><file-name>map.png</file-name></resource-attributes></resource>",
            base64(PNG)
        ),
    );
    let recipe =
        enex_note("Recipe", "<div>Flour &amp; water</div>", "<created>20220101T000000Z</created>");
    let file = tmp.path().join("My Notebook.enex");
    std::fs::write(&file, enex(&(trip + &recipe))).unwrap();

    let dry = ws.import(&file, None, true, &mut |_| true).unwrap();
    assert_eq!((dry.notes, dry.attachments), (2, 1));
    assert!(ws.list(None).unwrap().is_empty() && ws.assets().unwrap().is_empty());

    let mut stages = Vec::new();
    let r = ws
        .import(&file, None, false, &mut |p| {
            stages.push(p.stage);
            true
        })
        .unwrap();
    assert_eq!((r.notes, r.attachments, r.notebook.as_str()), (2, 1, "My Notebook"), "{r:?}");
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    // Notes are written in batches as the file is read: progress is in bytes of the file.
    assert!(!stages.is_empty() && stages.iter().all(|s| *s == Stage::ReadingExport), "{stages:?}");
    let t = by_title(&ws, "Trip plans");
    assert_eq!(t.tags, ["summer 2023", "travel"]);
    assert_eq!(t.created_at, 1_682_935_200_000, "2023-05-01 10:00 UTC");
    assert_eq!(t.updated_at, 1_685_620_800_000, "2023-06-01 12:00 UTC");
    assert!(t.body.contains("- passport\n- tickets"), "{}", t.body);
    assert!(t.body.contains("- [x] book hotel") && t.body.contains("- [ ] buy sunscreen"));
    assert!(t.body.contains("![map.png](asset:///"), "{}", t.body);
    assert_eq!(by_title(&ws, "Recipe").body.trim(), "Flour & water");
    let paths: Vec<String> =
        ws.notebooks().unwrap().notebooks.into_iter().map(|b| b.path).collect();
    assert_eq!(paths, ["My Notebook"]);

    // Again: nothing new, no new notebook.
    let again = ws.import(&file, None, false, &mut |_| true).unwrap();
    assert_eq!((again.notes, again.already_here), (0, 2), "{again:?}");
    assert_eq!(ws.notebooks().unwrap().notebooks.len(), 1);

    // Stopped while reading: nothing.
    let other = workspace(&tmp.path().join("other"));
    let mut other = other;
    let stopped =
        other.import(&file, None, false, &mut |p| p.stage != Stage::ReadingExport).unwrap();
    assert!(stopped.cancelled && stopped.notes == 0);
    assert!(
        other.list(None).unwrap().is_empty() && other.notebooks().unwrap().notebooks.is_empty()
    );

    // Entities declared in the file: refused, in one sentence, and nothing written.
    let laughs = tmp.path().join("laughs.enex");
    std::fs::write(
        &laughs,
        "<?xml version=\"1.0\"?><!DOCTYPE en-export [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">]><en-export><note><title>&b;</title></note></en-export>",
    )
    .unwrap();
    let e = other.import(&laughs, None, false, &mut |_| true).unwrap_err();
    assert!(e.to_string().contains("declares its own XML entities"), "{e}");
    assert!(other.list(None).unwrap().is_empty());
    let not_enex = tmp.path().join("notes.enex");
    std::fs::write(&not_enex, "just some text").unwrap();
    let e = other.import(&not_enex, None, false, &mut |_| true).unwrap_err();
    assert!(e.to_string().contains("not an Evernote export"), "{e}");
    let e = other.import(&tmp.path().join("notes.docx"), None, false, &mut |_| true).unwrap_err();
    assert!(e.to_string().contains("does not exist"), "{e}");
    // No scratch folder is left in the data dir.
    let left: Vec<String> = std::fs::read_dir(tmp.path().join("data"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("import-"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

/// An item file as Joplin's `serialize` writes it: title, body, then `key: value` lines.
fn item(title: &str, body: Option<&str>, props: &[(&str, &str)]) -> String {
    let props: Vec<String> = props.iter().map(|(k, v)| format!("{k}: {v}")).collect();
    let mut parts = vec![title.to_string()];
    parts.extend(body.map(str::to_string));
    parts.push(props.join("\n"));
    parts.join("\n\n")
}

fn add(b: &mut tar::Builder<Vec<u8>>, path: &str, data: &[u8]) {
    let mut h = tar::Header::new_gnu();
    h.set_size(data.len() as u64);
    h.set_mode(0o644);
    h.set_entry_type(tar::EntryType::Regular);
    b.append_data(&mut h, path, data).unwrap();
}

const WORK: &str = "f0000000000000000000000000000001";
const PROJECTS: &str = "f0000000000000000000000000000002";
const BIN: &str = "f0000000000000000000000000000003";
const PLAN: &str = "a0000000000000000000000000000001";
const HOME: &str = "a0000000000000000000000000000002";
const TODO: &str = "a0000000000000000000000000000003";
const GONE: &str = "a0000000000000000000000000000004";
const TAG: &str = "c0000000000000000000000000000001";
const RES: &str = "e0000000000000000000000000000001";

fn jex() -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let t = [
        ("created_time", "2020-01-02T03:04:05.678Z"),
        ("updated_time", "2020-01-03T00:00:00.000Z"),
    ];
    let folder = |id, parent, deleted| {
        let mut p =
            vec![("id", id), ("parent_id", parent), ("deleted_time", deleted), ("type_", "2")];
        p.extend(t);
        p
    };
    add(&mut b, &format!("{WORK}.md"), item("Work", None, &folder(WORK, "", "0")).as_bytes());
    add(
        &mut b,
        &format!("{PROJECTS}.md"),
        item("Projects", None, &folder(PROJECTS, WORK, "0")).as_bytes(),
    );
    add(
        &mut b,
        &format!("{BIN}.md"),
        item("Old", None, &folder(BIN, "", "1600000000000")).as_bytes(),
    );
    let note = |id, parent, todo: &'static str, done: &'static str| {
        let mut p = vec![
            ("id", id),
            ("parent_id", parent),
            ("is_todo", todo),
            ("todo_completed", done),
            ("type_", "1"),
        ];
        p.extend(t);
        p
    };
    let plan_body = format!("See [home](:/{HOME}) and the map:\n\n![map.png](:/{RES})");
    add(
        &mut b,
        &format!("{PLAN}.md"),
        item("Plan", Some(&plan_body), &note(PLAN, PROJECTS, "0", "0")).as_bytes(),
    );
    add(
        &mut b,
        &format!("{HOME}.md"),
        item(
            "Home",
            Some("Back to [the plan](:/a0000000000000000000000000000001)."),
            &note(HOME, WORK, "0", "0"),
        )
        .as_bytes(),
    );
    add(
        &mut b,
        &format!("{TODO}.md"),
        item("Call the bank", Some(""), &note(TODO, WORK, "1", "1600000000000")).as_bytes(),
    );
    add(
        &mut b,
        &format!("{GONE}.md"),
        item("Thrown away", Some("old"), &note(GONE, BIN, "0", "0")).as_bytes(),
    );
    add(
        &mut b,
        &format!("{TAG}.md"),
        item("Ideas", None, &[("id", TAG), ("type_", "5")]).as_bytes(),
    );
    let link = "b0000000000000000000000000000001";
    add(
        &mut b,
        &format!("{link}.md"),
        item("", None, &[("id", link), ("note_id", PLAN), ("tag_id", TAG), ("type_", "6")])
            .as_bytes(),
    );
    let res_props = [
        ("id", RES),
        ("mime", "image/png"),
        ("filename", "map.png"),
        ("file_extension", "png"),
        ("type_", "4"),
    ];
    add(&mut b, &format!("{RES}.md"), item("map.png", None, &res_props).as_bytes());
    add(&mut b, &format!("resources/{RES}.png"), PNG);
    b.into_inner().unwrap()
}

#[test]
fn a_joplin_export_comes_in_with_its_notebooks_tags_links_todos_and_resources() {
    let tmp = tempfile::tempdir().unwrap();
    let mut ws = workspace(tmp.path());
    let file = tmp.path().join("Joplin backup.jex");
    std::fs::write(&file, jex()).unwrap();
    // A dry run counts what would come in and writes nothing.
    let dry = ws.import(&file, None, true, &mut |_| true).unwrap();
    assert_eq!((dry.notes, dry.attachments, dry.skipped), (3, 1, 1), "{dry:?}");
    assert!(ws.list(None).unwrap().is_empty() && ws.assets().unwrap().is_empty());
    // Stopped while the archive is read: nothing comes in.
    let stopped =
        ws.import(&file, None, false, &mut |p| p.stage != Stage::ReadingExport || p.done == 0);
    let stopped = stopped.unwrap();
    assert!(stopped.cancelled && stopped.notes == 0, "{stopped:?}");
    assert!(ws.list(None).unwrap().is_empty() && ws.notebooks().unwrap().notebooks.is_empty());
    let mut reading = Vec::new();
    let r = ws
        .import(&file, None, false, &mut |p| {
            if p.stage == Stage::ReadingExport {
                reading.push((p.done, p.total));
            }
            true
        })
        .unwrap();
    let size = std::fs::metadata(&file).unwrap().len() as usize;
    assert!(reading.len() > 3 && reading.iter().all(|&(d, t)| d <= t && t == size), "{reading:?}");
    assert_eq!(
        (r.notes, r.attachments, r.skipped, r.notebook.as_str()),
        (3, 1, 1, "Joplin backup"),
        "{r:?}"
    );
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    let paths: Vec<String> =
        ws.notebooks().unwrap().notebooks.into_iter().map(|b| b.path).collect();
    assert_eq!(paths, ["Joplin backup", "Joplin backup/Work", "Joplin backup/Work/Projects"]);
    let (plan, home) = (by_title(&ws, "Plan"), by_title(&ws, "Home"));
    assert_eq!(plan.tags, ["ideas"]);
    assert!(plan.body.contains(&format!("[home](note:{})", home.id)), "{}", plan.body);
    assert!(plan.body.contains("![map.png](asset:///"), "{}", plan.body);
    assert_eq!(home.body, format!("Back to [the plan](note:{}).", plan.id));
    assert_eq!(plan.created_at, 1_577_934_245_678);
    assert_eq!(by_title(&ws, "Call the bank").tags, ["done", "todo"]);
    let asset = ws.assets().unwrap();
    assert_eq!(asset.len(), 1);

    let again = ws.import(&file, None, false, &mut |_| true).unwrap();
    assert_eq!((again.notes, again.already_here), (0, 3), "{again:?}");
    // A note deleted here comes back, into its notebook, with no second "Joplin backup".
    ws.delete_note(&home.id).unwrap();
    let back = ws.import(&file, None, false, &mut |_| true).unwrap();
    assert_eq!((back.notes, back.already_here, back.notebook.as_str()), (1, 2, "Joplin backup"));
    let paths_now: Vec<String> =
        ws.notebooks().unwrap().notebooks.into_iter().map(|b| b.path).collect();
    assert_eq!(paths_now, paths);
    assert_eq!(by_title(&ws, "Home").notebook, home.notebook);

    // Paths leaving the archive, absolute ones and links are skipped, each with a sentence,
    // and nothing is written outside.
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_old();
    let name = b"../evil.md";
    h.as_old_mut().name[..name.len()].copy_from_slice(name);
    h.set_size(4);
    h.set_mode(0o644);
    h.set_entry_type(tar::EntryType::Regular);
    h.set_cksum();
    b.append(&h, &b"evil"[..]).unwrap();
    add(
        &mut b,
        &format!("{HOME}.md"),
        item("Fine", Some("fine"), &[("id", "a0000000000000000000000000000009"), ("type_", "1")])
            .as_bytes(),
    );
    let hostile = tmp.path().join("inner").join("hostile.jex");
    std::fs::create_dir_all(hostile.parent().unwrap()).unwrap();
    std::fs::write(&hostile, b.into_inner().unwrap()).unwrap();
    let r = ws.import(&hostile, None, false, &mut |_| true).unwrap();
    assert_eq!(r.notes, 1);
    assert!(r.problems.iter().any(|p| p.path.contains("evil")), "{:?}", r.problems);
    assert!(!tmp.path().join("inner/evil.md").exists() && !tmp.path().join("evil.md").exists());
    assert!(!tmp.path().join("data/evil.md").exists());

    let e = ws.import(&tmp.path().join("inner"), None, false, &mut |_| true);
    assert_eq!(e.unwrap().notes, 0, "a folder without Markdown files imports nothing");
    let not_tar = tmp.path().join("broken.jex");
    std::fs::write(&not_tar, "not a tar archive at all, just text").unwrap();
    let e = ws.import(&not_tar, None, false, &mut |_| true).unwrap_err();
    assert!(e.to_string().contains("not a Joplin export"), "{e}");
}

/// A JEX written by the real Joplin 3.5.1 terminal client (tests/fixtures/joplin/make.sh):
/// nested notebooks, a note linking to another and holding an image and a text file, a tag, a
/// done to-do.
#[test]
fn a_jex_written_by_joplin_itself_comes_in() {
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/joplin/joplin-3.5.1.jex");
    let tmp = tempfile::tempdir().unwrap();
    let mut ws = workspace(tmp.path());
    let r = ws.import(&fixture, None, false, &mut |_| true).unwrap();
    assert_eq!((r.notes, r.attachments, r.notebooks), (3, 2, 3), "{r:?}");
    assert!(r.problems.is_empty() && r.broken_links.is_empty(), "{r:?}");
    let paths: Vec<String> =
        ws.notebooks().unwrap().notebooks.into_iter().map(|b| b.path).collect();
    assert_eq!(
        paths,
        [
            "joplin-3.5.1",
            "joplin-3.5.1/Personal",
            "joplin-3.5.1/Work",
            "joplin-3.5.1/Work/Projects"
        ]
    );
    let (plan, diary) = (by_title(&ws, "Plan"), by_title(&ws, "Diary"));
    assert_eq!(plan.tags, ["ideas"]);
    assert!(
        plan.body.contains(&format!("See [my diary](note:{}). Café, 日本語.", diary.id)),
        "{}",
        plan.body
    );
    assert!(
        plan.body.contains("[notes.txt](asset:///") && plan.body.contains("![red.png](asset:///"),
        "{}",
        plan.body
    );
    assert_eq!(diary.body, "Dear diary.");
    assert_eq!(by_title(&ws, "Call the bank").tags, ["done", "todo"]);
    let books = ws.notebooks().unwrap().notebooks;
    let projects = books.iter().find(|b| b.path.ends_with("Projects")).unwrap();
    assert_eq!(plan.notebook.as_deref(), Some(projects.id.as_str()));
    let mut names: Vec<String> = ws.assets().unwrap().into_iter().map(|a| a.name).collect();
    names.sort();
    assert_eq!(names, ["notes.txt", "red.png"]);
}

/// A long ENEX is written a thousand notes at a time as it is read (its text is never held
/// whole); stopped halfway, the batches written stay and importing again brings in the rest.
#[test]
fn a_long_evernote_export_is_written_in_batches_and_resumes_after_a_stop() {
    let tmp = tempfile::tempdir().unwrap();
    let mut ws = workspace(tmp.path());
    let notes: String = (0..2500)
        .map(|i| enex_note(&format!("Note {i}"), &format!("<div>Text of note {i}</div>"), ""))
        .collect();
    let file = tmp.path().join("Many.enex");
    std::fs::write(&file, enex(&notes)).unwrap();
    let r = ws.import(&file, None, false, &mut |p| p.done * 2 < p.total).unwrap();
    assert!(r.cancelled, "{r:?}");
    assert_eq!(r.notes, 1000, "the first batch came in before the stop");
    assert_eq!(ws.list(None).unwrap().len(), 1000);
    let rest = ws.import(&file, None, false, &mut |_| true).unwrap();
    assert_eq!((rest.notes, rest.already_here, rest.cancelled), (1500, 1000, false), "{rest:?}");
    assert_eq!(ws.list(None).unwrap().len(), 2500);
    let books = ws.notebooks().unwrap().notebooks;
    assert_eq!(books.len(), 1, "the rest went beside the first thousand: {books:?}");
    assert_eq!((books[0].name.as_str(), books[0].notes), ("Many", 2500));
    // Another export holding some of the same notes is not a re-import of this one.
    let more: String = (2400..2600)
        .map(|i| enex_note(&format!("Note {i}"), &format!("<div>Text of note {i}</div>"), ""))
        .collect();
    let other = tmp.path().join("More.enex");
    std::fs::write(&other, enex(&more)).unwrap();
    let r = ws.import(&other, None, false, &mut |_| true).unwrap();
    assert_eq!((r.notes, r.already_here, r.notebook.as_str()), (100, 100, "More"), "{r:?}");
}
