//! Importing a Markdown folder as an Obsidian vault holds one: nested folders, front matter
//! variants, wikilinks with labels, headings and aliases, embedded and linked files, unicode
//! names, a hidden settings folder, a file in a legacy encoding, bad front matter, a link to
//! outside the folder and a symlink. Checked: notebooks, titles, tags, times, note links and
//! attachments; the report; a dry run writes nothing; nothing already there changes; importing
//! again brings in only files changed since and notes deleted here.

use std::path::Path;

use resnotes_core::{system_clock, Place, Stage, Workspace};

fn write(root: &Path, rel: &str, bytes: &[u8]) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, bytes).unwrap();
}

/// A vault; returns its folder.
fn vault(tmp: &Path) -> std::path::PathBuf {
    let v = tmp.join("My Vault");
    write(&v, ".obsidian/app.json", b"{}");
    write(&v, ".trash/old.md", b"deleted in Obsidian");
    write(
        &v,
        "Home.md",
        "---\ntitle: Home page\ntags: [start, \"#Index\"]\naliases: [Start]\ncreated: 2023-05-01 10:00\nupdated: 2023-06-01T12:00:00+02:00\nauthor: Ann\n---\n# Welcome\n\nSee [[Plan|the plan]], [[Tiefe Notiz#Teil]] and [[Nowhere]].\n![[diagram.png]]\nA [relative link](Projects/Plan.md), ![alt](assets/photo%201.jpg) and [secret](../../etc/passwd) #home\n```\n[[not a link]] #notatag\n```\n"
            .as_bytes(),
    );
    write(
        &v,
        "Projects/Plan.md",
        b"Links back to [[Start]] and a [pdf](../assets/doc.pdf). #project/alpha\n![[diagram.png]]\n",
    );
    // A second file of the same name: a bare name means the one in the note's own folder.
    write(&v, "Projects/diagram.png", b"\x89PNG the plan's own");
    // A sub-folder named like the default notebook.
    write(&v, "Inbox/Later.md", b"Read [Plan (draft)](Projects/Plan.md \"a title\") later\n");
    write(&v, "Projects/Tief/Tiefe Notiz.md", "Überall ünïcode\n".as_bytes());
    write(&v, "Latin.md", b"caf\xe9\n");
    write(&v, "Broken.md", b"---\ntitle: [unclosed\n---\nBody kept\n");
    write(&v, "diagram.png", b"\x89PNG fake");
    write(&v, "assets/photo 1.jpg", b"jpeg");
    write(&v, "assets/doc.pdf", b"%PDF");
    write(&v, "assets/unused.bin", b"nobody links here");
    #[cfg(unix)]
    std::os::unix::fs::symlink("/etc/hostname", v.join("Link.md")).unwrap();
    v
}

#[test]
fn a_vault_comes_in_with_its_notebooks_tags_times_links_and_attachments() {
    let tmp = tempfile::tempdir().unwrap();
    let v = vault(tmp.path());
    let mut ws = Workspace::init(&tmp.path().join("data"), false, system_clock()).unwrap();
    let mine = ws.new_note("Mine", "already here").unwrap().to_string();
    let before = ws.note(&mine).unwrap();

    // Stopped while reading, or while converting (after its notebooks were made and files
    // attached): nothing is left, not even an empty notebook or an attachment.
    for stop_at in [Stage::Reading, Stage::Converting] {
        let r =
            ws.import_markdown(&v, None, false, &mut |p| p.stage != stop_at || p.done < 3).unwrap();
        assert!(r.cancelled && r.notes == 0 && r.attachments == 0, "{r:?}");
        assert_eq!(ws.list(None).unwrap().len(), 1);
        assert!(ws.notebooks().unwrap().notebooks.is_empty());
        assert!(ws.assets().unwrap().is_empty());
    }

    // A dry run reports and writes nothing.
    let dry = ws.import_markdown(&v, None, true, &mut |_| true).unwrap();
    assert_eq!(ws.list(None).unwrap().len(), 1);
    assert!(ws.assets().unwrap().is_empty());

    let mut seen = Vec::new();
    let r = ws
        .import_markdown(&v, None, false, &mut |p| {
            seen.push((p.stage, p.done, p.total));
            true
        })
        .unwrap();
    assert_eq!(seen.last(), Some(&(Stage::Writing, 6, 6)), "progress ends at every note: {r:?}");
    let stages: Vec<Stage> = seen.iter().map(|s| s.0).collect();
    assert_eq!(stages.first(), Some(&Stage::Reading));
    assert!(stages.windows(2).all(|w| w[0] as u8 <= w[1] as u8), "in order: {stages:?}");
    assert!(stages.contains(&Stage::Converting));
    assert_eq!((r.notes, r.notebooks, r.attachments), (6, 3, 4));
    assert_eq!((dry.notes, dry.notebooks, dry.attachments), (6, 3, 4));
    // Hidden: .obsidian and .trash; unlinked: unused.bin.
    assert_eq!(r.skipped, 3);
    assert_eq!(r.notebook, "My Vault");
    let problems: Vec<(&str, &str)> =
        r.problems.iter().map(|p| (p.path.as_str(), p.problem.as_str())).collect();
    assert_eq!(problems.len(), 3, "{problems:?}");
    assert!(problems[0].0 == "Link.md" && problems[0].1.contains("not followed"));
    assert!(problems.iter().any(|p| p.0 == "Latin.md" && p.1.contains("Windows-1252")));
    assert!(problems.iter().any(|p| p.0 == "Broken.md" && p.1.contains("not valid YAML")));
    let broken: Vec<&str> = r.broken_links.iter().map(|p| p.problem.as_str()).collect();
    assert_eq!(broken.len(), 2, "{broken:?}");
    assert!(broken[0].contains("“Nowhere”") && broken[1].contains("“../../etc/passwd”"));

    // Notebooks: the vault's, and one per folder holding notes.
    let paths: Vec<String> =
        ws.notebooks().unwrap().notebooks.into_iter().map(|b| b.path).collect();
    assert_eq!(
        paths,
        ["My Vault", "My Vault/Inbox", "My Vault/Projects", "My Vault/Projects/Tief"]
    );

    let by_title = |t: &str| {
        let s = ws.list(None).unwrap().into_iter().find(|n| n.title == t).unwrap();
        ws.note(&s.id).unwrap()
    };
    let home = by_title("Home page");
    let plan = by_title("Plan");
    let tief = by_title("Tiefe Notiz");
    assert_eq!(home.tags, ["home", "index", "start"]);
    assert_eq!(plan.tags, ["project/alpha"]);
    assert_eq!(home.created_at, 1_682_935_200_000, "2023-05-01 10:00 UTC");
    assert_eq!(home.updated_at, 1_685_613_600_000, "2023-06-01 10:00 UTC");
    assert!(home.body.starts_with("---\nauthor: Ann\n---\n\n# Welcome"), "{}", home.body);
    assert!(home.body.contains(&format!("[the plan](note:{})", plan.id)));
    assert!(home.body.contains(&format!("[Tiefe Notiz › Teil](note:{})", tief.id)));
    assert!(home.body.contains(&format!("[relative link](note:{})", plan.id)));
    assert!(home.body.contains("[[Nowhere]]") && home.body.contains("[secret](../../etc/passwd)"));
    assert!(home.body.contains("```\n[[not a link]] #notatag\n```"));
    assert!(home.body.contains("![diagram.png](asset:///"));
    assert!(home.body.contains("![alt](asset:///"));
    assert!(plan.body.contains(&format!("[Start](note:{})", home.id)), "an alias names a note");
    assert!(plan.body.contains("[pdf](asset:///"));
    let later = by_title("Later");
    assert_eq!(later.body, format!("Read [Plan (draft)](note:{}) later\n", plan.id));
    let size_of = |body: &str, name: &str| {
        let at = body.find(&format!("/{name}?size=")).unwrap() + name.len() + 7;
        body[at..].split('&').next().unwrap().to_string()
    };
    assert_eq!(size_of(&home.body, "diagram.png"), "9");
    assert_eq!(size_of(&plan.body, "diagram.png"), "19", "the plan's own diagram");
    assert_eq!(tief.body, "Überall ünïcode\n");
    assert_eq!(by_title("Latin").body, "café\n");
    assert_eq!(by_title("Broken").body, "---\ntitle: [unclosed\n---\nBody kept\n");
    let backlinks: Vec<String> =
        ws.backlinks(&plan.id).unwrap().into_iter().map(|n| n.title).collect();
    assert_eq!(backlinks, ["Later", "Home page"]);
    let mut names: Vec<String> = ws.assets().unwrap().into_iter().map(|a| a.name).collect();
    names.sort();
    assert_eq!(names, ["diagram.png", "diagram.png", "doc.pdf", "photo 1.jpg"]);

    // Nothing already here changed.
    assert_eq!(ws.note(&mine).unwrap().heads, before.heads);

    // Into a chosen notebook: no new top notebook.
    let inbox = ws
        .import_markdown(&v.join("Projects"), Some(Place::Default), false, &mut |_| true)
        .unwrap();
    assert_eq!((inbox.notes, inbox.notebooks, inbox.notebook.as_str()), (2, 1, "Inbox"));

    // Imported again: nothing new. A file changed since, and a note deleted here, come in.
    let again = ws.import_markdown(&v, None, false, &mut |_| true).unwrap();
    assert_eq!((again.notes, again.already_here), (0, 6), "{again:?}");
    // (The changed file links to notes that are here already: the links find them.)
    write(&v, "Latin.md", b"caf\xe9 au lait, see [[Start]] and [[Plan]]\n");
    ws.delete_note(&tief.id).unwrap();
    let count = ws.list(None).unwrap().len();
    let books = |ws: &Workspace| -> Vec<String> {
        ws.notebooks().unwrap().notebooks.into_iter().map(|b| b.path).collect()
    };
    let books_before = books(&ws);
    let changed = ws.import_markdown(&v, None, false, &mut |_| true).unwrap();
    assert_eq!((changed.notes, changed.already_here), (2, 4), "{changed:?}");
    assert_eq!(ws.list(None).unwrap().len(), count + 2);
    // They go beside the notes of the first import, into the notebooks it made.
    assert_eq!(changed.notebook, "My Vault");
    assert_eq!(books(&ws), books_before);
    let tief_book = ws.notebooks().unwrap().notebooks.into_iter();
    let tief_book = tief_book.filter(|b| b.path == "My Vault/Projects/Tief").map(|b| b.notes);
    assert_eq!(tief_book.collect::<Vec<_>>(), [1], "Tiefe Notiz is back in its notebook");
    let latin = ws
        .list(None)
        .unwrap()
        .into_iter()
        .find(|n| n.first_line.starts_with("café au lait"))
        .unwrap();
    let latin = ws.note(&latin.id).unwrap();
    assert_eq!(
        latin.body,
        format!("café au lait, see [Start](note:{}) and [Plan](note:{})\n", home.id, plan.id)
    );
    assert!(changed.broken_links.is_empty(), "{:?}", changed.broken_links);
}

/// Stopped while its notes are written, an import keeps what it wrote; importing again brings
/// in the rest, into the same notebooks (not a second "Big" beside the first).
#[test]
fn an_import_stopped_while_writing_goes_on_where_it_stopped() {
    let tmp = tempfile::tempdir().unwrap();
    let v = tmp.path().join("Big");
    for i in 0..260 {
        let folder = ["", "A/", "A/B/"][i % 3];
        let mut text = format!("Note {i} #n{}", i % 2);
        // One note in ten has a picture of its own.
        if i % 10 == 0 {
            write(&v, &format!("{folder}img {i}.png"), format!("png {i}").as_bytes());
            text.push_str(&format!("\n![[img {i}.png]]"));
        }
        write(&v, &format!("{folder}note {i}.md"), text.as_bytes());
    }
    let mut ws = Workspace::init(&tmp.path().join("data"), false, system_clock()).unwrap();
    let first = ws
        .import_markdown(&v, None, false, &mut |p| p.stage != Stage::Writing || p.done < 100)
        .unwrap();
    assert!(first.cancelled && first.notes > 0 && first.notes < 260, "{first:?}");
    assert_eq!(ws.list(None).unwrap().len(), first.notes);
    let books = |ws: &Workspace| -> Vec<String> {
        ws.notebooks().unwrap().notebooks.into_iter().map(|b| b.path).collect()
    };
    assert_eq!(books(&ws), ["Big", "Big/A", "Big/A/B"]);
    // Only the pictures of the notes written stay: the others would sync for nothing.
    let assets = ws.assets().unwrap();
    assert!(assets.iter().all(|a| a.notes == 1), "{assets:?}");
    assert!(!assets.is_empty() && assets.len() < 26 && first.attachments == assets.len());
    let rest = ws.import_markdown(&v, None, false, &mut |_| true).unwrap();
    assert_eq!((rest.notes, rest.already_here), (260 - first.notes, first.notes), "{rest:?}");
    assert_eq!(rest.notebook, "Big");
    assert_eq!(books(&ws), ["Big", "Big/A", "Big/A/B"]);
    let counts: Vec<u64> = ws.notebooks().unwrap().notebooks.iter().map(|b| b.notes).collect();
    assert_eq!(counts, [87, 87, 86]);
    let assets = ws.assets().unwrap();
    assert!(assets.len() == 26 && assets.iter().all(|a| a.notes == 1), "{assets:?}");

    // The folder grew: a stop before its new notes are written leaves no new notebook, and
    // the notebooks here stay; then they come in beside the others.
    write(&v, "C/new.md", b"new");
    write(&v, "A/D/deep.md", b"deep");
    let stopped = ws.import_markdown(&v, None, false, &mut |p| p.stage != Stage::Converting);
    assert!(stopped.unwrap().cancelled);
    assert_eq!(books(&ws), ["Big", "Big/A", "Big/A/B"]);
    let grown = ws.import_markdown(&v, None, false, &mut |_| true).unwrap();
    assert_eq!((grown.notes, grown.already_here), (2, 260), "{grown:?}");
    assert_eq!(books(&ws), ["Big", "Big/A", "Big/A/B", "Big/A/D", "Big/C"]);
    // Each note's tag came from its text (no front matter), its body whole.
    let n7 = ws.list(None).unwrap().into_iter().find(|n| n.title == "note 7").unwrap();
    let n7 = ws.note(&n7.id).unwrap();
    assert_eq!(
        (n7.body.as_str(), n7.tags.as_slice()),
        ("Note 7 #n1", ["n1".to_string()].as_slice())
    );
}

/// Two vaults that share a file (Obsidian puts the same `Welcome.md` in every new vault): the
/// second is not taken for a re-import of the first; it gets its own notebook.
#[test]
fn two_vaults_sharing_a_file_each_get_their_own_notebook() {
    let tmp = tempfile::tempdir().unwrap();
    let (work, home) = (tmp.path().join("Work"), tmp.path().join("Home"));
    for v in [&work, &home] {
        write(v, "Welcome.md", b"This is your new vault.\n");
    }
    write(&work, "Plan.md", b"plan");
    write(&home, "Garden.md", b"garden");
    write(&home, "Sub/Deep.md", b"deep");
    let mut ws = Workspace::init(&tmp.path().join("data"), false, system_clock()).unwrap();
    ws.import_markdown(&work, None, false, &mut |_| true).unwrap();
    let r = ws.import_markdown(&home, None, false, &mut |_| true).unwrap();
    assert_eq!((r.notes, r.already_here, r.notebook.as_str()), (2, 1, "Home"), "{r:?}");
    let paths: Vec<String> =
        ws.notebooks().unwrap().notebooks.into_iter().map(|b| b.path).collect();
    assert_eq!(paths, ["Home", "Home/Sub", "Work"]);
}

/// Another app's note may have a UUID for an `id`: its `#tags` are still tags, and an empty
/// title still gives way to the file's name (only this app's export is read as its own).
#[test]
fn another_apps_uuid_id_is_only_an_id() {
    let tmp = tempfile::tempdir().unwrap();
    let v = tmp.path().join("Zettel");
    let id = "0b8f6c1e-3d2a-4c5b-9e7f-1a2b3c4d5e6f";
    write(&v, "Idea.md", format!("---\nid: {id}\ntitle: \"\"\n---\nA thought #idea\n").as_bytes());
    let mut ws = Workspace::init(&tmp.path().join("data"), false, system_clock()).unwrap();
    let r = ws.import_markdown(&v, None, false, &mut |_| true).unwrap();
    assert_eq!(r.notes, 1);
    let n = ws.list(None).unwrap().remove(0);
    let n = ws.note(&n.id).unwrap();
    assert_eq!((n.title.as_str(), n.tags.as_slice()), ("Idea", ["idea".to_string()].as_slice()));
}

/// Small notes are stored as the change that made them, big ones as a full save: either way
/// the note reads back whole, is found by a word anywhere in it, and takes edits.
#[test]
fn small_and_big_notes_come_in_whole_and_take_edits() {
    let tmp = tempfile::tempdir().unwrap();
    let v = tmp.path().join("Sizes");
    let big = format!("{}zebracorn at the end\n", "lorem ipsum dolor ".repeat(5_000));
    write(&v, "Big.md", big.as_bytes());
    write(&v, "Small.md", "ünïcode 日本語 and a word: quokka\n".as_bytes());
    let mut ws = Workspace::init(&tmp.path().join("data"), false, system_clock()).unwrap();
    assert_eq!(ws.import_markdown(&v, None, false, &mut |_| true).unwrap().notes, 2);
    for (title, body, word) in [
        ("Big", big.as_str(), "zebracorn"),
        ("Small", "ünïcode 日本語 and a word: quokka\n", "quokka"),
    ] {
        let found = ws.find(word, 10).unwrap();
        assert_eq!(found.len(), 1, "{word}");
        assert_eq!(found[0].title, title);
        let id: uuid::Uuid = found[0].id.parse().unwrap();
        assert_eq!(ws.note(&found[0].id).unwrap().body, body);
        ws.splice_note(&id, resnotes_core::Field::Body, 0, 0, "Edited. ").unwrap();
        assert_eq!(ws.note(&found[0].id).unwrap().body, format!("Edited. {body}"));
    }
    // And after a rebuild from the log alone.
    ws.rebuild().unwrap();
    assert_eq!(ws.find("quokka", 10).unwrap()[0].title, "Small");
}

#[test]
fn a_file_instead_of_a_folder_gets_one_sentence() {
    let tmp = tempfile::tempdir().unwrap();
    let mut ws = Workspace::init(&tmp.path().join("data"), false, system_clock()).unwrap();
    let e = ws.import_markdown(&tmp.path().join("nope"), None, false, &mut |_| true).unwrap_err();
    assert!(e.to_string().contains("is not a folder"), "{e}");
}
