//! Exporting to Markdown and importing the export: a workspace with nested and empty
//! notebooks, notes of the same title, titles no file system takes as they are, an untitled
//! note, tags with spaces, a pin, links between notes in different notebooks, and attachments
//! shared by two notes. The files are checked as another editor sees them, and an import of the
//! folder into another workspace gives back the same notes, notebooks, tags, links and
//! attachments; importing it into the workspace it came from adds nothing.

use std::collections::BTreeMap;
use std::path::Path;

use resnotes_core::format::asset::find_refs;
use resnotes_core::{system_clock, ExportScope, Place, Stage, Workspace};

/// A note as it should survive a round trip: notebook path, title, body with links and
/// attachments named by what they point to, tags, pin and times.
type Shape = (String, String, String, Vec<String>, bool, i64, i64);

/// Every live note of `ws` as a [`Shape`], notebook paths taken below `under` (`""`: all).
fn shapes(ws: &Workspace, under: &str) -> Vec<Shape> {
    let books = ws.notebooks().unwrap().notebooks;
    let path_of = |id: &Option<String>| -> String {
        let p = id
            .as_ref()
            .and_then(|id| books.iter().find(|b| &b.id == id))
            .map(|b| b.path.clone())
            .unwrap_or_default();
        p.strip_prefix(under).unwrap_or(&p).trim_start_matches('/').to_string()
    };
    let titles: BTreeMap<String, String> =
        ws.list(None).unwrap().into_iter().map(|n| (n.id.clone(), n.title)).collect();
    let mut out: Vec<Shape> = ws
        .list(None)
        .unwrap()
        .into_iter()
        .map(|s| {
            let n = ws.note(&s.id).unwrap();
            let mut body = n.body.clone();
            for (id, title) in &titles {
                body = body.replace(&format!("note:{id}"), &format!("note:<{title}>"));
            }
            for r in find_refs(&n.body) {
                let bytes = ws.asset_bytes(&r, &mut |_| {}).unwrap();
                body = body.replace(
                    &r.to_url(),
                    &format!("asset:<{} {}>", r.name, String::from_utf8_lossy(&bytes)),
                );
            }
            (path_of(&n.notebook), n.title, body, n.tags, n.pinned, n.created_at, n.updated_at)
        })
        .collect();
    out.sort();
    out
}

fn file(root: &Path, rel: &str) -> String {
    std::fs::read_to_string(root.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

#[test]
fn an_export_imports_back_as_the_same_notes_notebooks_tags_links_and_attachments() {
    let tmp = tempfile::tempdir().unwrap();
    let mut ws = Workspace::init(&tmp.path().join("a"), false, system_clock()).unwrap();
    let work = ws.add_notebook("Work", Place::Default).unwrap();
    let projects = ws.add_notebook("Projects: 2024/25", Place::Notebook(work)).unwrap();
    ws.add_notebook("Empty", Place::Default).unwrap();
    ws.add_notebook("attachments", Place::Default).unwrap();
    let plan = ws
        .new_note_in("Plan", "The plan.\n\n- [ ] book #maybe", Place::Notebook(projects))
        .unwrap();
    let plan2 =
        ws.new_note_in("plan", "Another plan, same name.", Place::Notebook(projects)).unwrap();
    let home = ws
        .new_note_in(
            "Home / Start?",
            &format!("See [the plan](note:{plan}) and [the other](note:{plan2})."),
            Place::Notebook(work),
        )
        .unwrap();
    ws.new_note("", &format!("untitled, links [home](note:{home})")).unwrap();
    ws.new_note("日本語のノート", "本文").unwrap();
    let pic = tmp.path().join("photo (1).png");
    std::fs::write(&pic, b"\x89PNG picture").unwrap();
    let pdf = tmp.path().join("doc.pdf");
    std::fs::write(&pdf, b"%PDF one").unwrap();
    ws.attach(&plan.to_string(), &pic, None).unwrap();
    ws.attach(&plan.to_string(), &pdf, None).unwrap();
    ws.attach(&home.to_string(), &pic, None).unwrap();
    // Another file of the same name: written under a name of its own.
    let pdf2 = tmp.path().join("other").join("doc.pdf");
    std::fs::create_dir_all(pdf2.parent().unwrap()).unwrap();
    std::fs::write(&pdf2, b"%PDF two").unwrap();
    ws.attach(&home.to_string(), &pdf2, None).unwrap();
    ws.retag(&plan.to_string(), &["big trip", "x"], &[]).unwrap();
    ws.set_pinned(&home.to_string(), true).unwrap();
    let before = shapes(&ws, "");

    let out = tmp.path().join("export");
    let mut seen = Vec::new();
    let r = ws
        .export_markdown(&out, &ExportScope::All, &mut |p| {
            seen.push((p.stage, p.done, p.total));
            true
        })
        .unwrap();
    assert_eq!((r.notes, r.notebooks, r.attachments), (5, 4, 3), "{r:?}");
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    assert_eq!(seen.last(), Some(&(Stage::Writing, 5, 5)));

    // As another editor sees the folder.
    let mut files: Vec<String> = walk(&out);
    files.sort();
    assert_eq!(
        files,
        [
            "Empty/",
            "Work/",
            "Work/Home _ Start_.md",
            "Work/Projects_ 2024_25/",
            "Work/Projects_ 2024_25/Plan.md",
            "Work/Projects_ 2024_25/plan (2).md",
            "attachments (2)/",
            "attachments/",
            "attachments/doc (2).pdf",
            "attachments/doc.pdf",
            "attachments/photo (1).png",
            "untitled, links home.md",
            "日本語のノート.md",
        ]
        .map(String::from)
    );
    let home_md = file(&out, "Work/Home _ Start_.md");
    assert!(home_md.starts_with("---\ntitle: \"Home / Start?\"\nid: "), "{home_md}");
    assert!(home_md.contains("\npinned: true\nnotebook:\n  - \"Work\"\n---\n\n"), "{home_md}");
    assert!(
        home_md.contains("[the plan](Projects_%202024_25/Plan.md)")
            && home_md.contains("[the other](Projects_%202024_25/plan%20%282%29.md)")
            && home_md.contains("](../attachments/photo%20%281%29.png)"),
        "{home_md}"
    );
    let plan_md = file(&out, "Work/Projects_ 2024_25/Plan.md");
    assert!(plan_md.contains("tags:\n  - \"big trip\"\n  - \"x\"\n"), "{plan_md}");
    // Files of the same name: numbered in the order of the notes' files.
    assert!(plan_md.contains("(../../attachments/doc%20%282%29.pdf)"), "{plan_md}");
    assert_eq!(std::fs::read(out.join("attachments/doc.pdf")).unwrap(), b"%PDF two");

    // Imported into another workspace: the same notes under a notebook named after the folder.
    let mut other = Workspace::init(&tmp.path().join("b"), false, system_clock()).unwrap();
    let back = other.import_markdown(&out, None, false, &mut |_| true).unwrap();
    assert!(back.problems.is_empty() && back.broken_links.is_empty(), "{back:?}");
    assert_eq!((back.notes, back.attachments, back.already_here), (5, 3, 0), "{back:?}");
    assert_eq!(shapes(&other, "export"), before);
    // A notebook's name as its notes' front matter says; an empty one's is its folder's.
    let paths: Vec<String> =
        other.notebooks().unwrap().notebooks.into_iter().map(|b| b.path).collect();
    assert_eq!(
        paths,
        [
            "export",
            "export/attachments (2)",
            "export/Empty",
            "export/Work",
            "export/Work/Projects: 2024/25"
        ]
    );

    // Imported where it came from: every note is here already.
    let again = ws.import_markdown(&out, None, false, &mut |_| true).unwrap();
    assert_eq!((again.notes, again.already_here), (0, 5), "{again:?}");
    assert_eq!(shapes(&ws, ""), before);

    // One notebook, and chosen notes.
    let one = tmp.path().join("one");
    let r = ws.export_markdown(&one, &ExportScope::Notebook(Place::Notebook(work)), &mut |_| true);
    assert_eq!(r.unwrap().notes, 3);
    let mut files = walk(&one);
    files.sort();
    assert_eq!(
        files[0..3],
        ["Home _ Start_.md", "Projects_ 2024_25/", "Projects_ 2024_25/Plan.md"]
    );
    let chosen = tmp.path().join("chosen");
    let scope = ExportScope::Notes(vec![plan2.to_string()]);
    assert_eq!(ws.export_markdown(&chosen, &scope, &mut |_| true).unwrap().notes, 1);
    assert_eq!(
        walk(&chosen),
        ["Work/", "Work/Projects_ 2024_25/", "Work/Projects_ 2024_25/plan.md"]
    );

    // A folder that is not empty is refused with one sentence, and nothing is written.
    let err = ws.export_markdown(&one, &ExportScope::All, &mut |_| true).unwrap_err();
    assert!(err.to_string().contains("is not empty; choose an empty folder"), "{err}");
}

/// Every file and folder under `root` (folders with a trailing `/`), relative, `/`-separated.
fn walk(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/");
            if p.is_dir() {
                out.push(format!("{rel}/"));
                stack.push(p);
            } else {
                out.push(rel);
            }
        }
    }
    out.sort();
    out
}
