//! `resnotes import` on a Markdown folder (issue 18), as a person runs it: a dry run first,
//! then the import; the notes, their notebook, tags and links are there and sync to another
//! device, and a path that is not a folder gets one sentence. `resnotes export` takes them out
//! as Markdown on the other device, and importing that adds nothing.

use resnotes_e2e::Sandbox;

#[test]
fn a_markdown_folder_is_imported_and_its_notes_sync_to_another_device() {
    let sb = Sandbox::new();
    let vault = sb.folder("Garden");
    std::fs::create_dir_all(vault.join("Trips/.obsidian")).unwrap();
    std::fs::write(
        vault.join("Ideas.md"),
        "---\ntags: [seeds]\n---\nPlant [[Lisbon|the Lisbon trip]] ideas. #garden\n",
    )
    .unwrap();
    std::fs::write(vault.join("Trips/Lisbon.md"), "Back to [[Ideas]].\n![[map.png]]\n").unwrap();
    std::fs::write(vault.join("Trips/map.png"), b"\x89PNG fake").unwrap();
    let shared = sb.folder("shared");
    let (a, b) = (sb.device("laptop"), sb.device("phone"));
    a.ok(&["init", "--folder", shared.to_str().unwrap()]);

    let dry = a.run(&["import", vault.to_str().unwrap(), "--dry-run"]);
    let (out, err) = (String::from_utf8_lossy(&dry.stdout), String::from_utf8_lossy(&dry.stderr));
    assert!(out.starts_with("Would import 2 notes into “Garden”"), "{out}");
    // Not at a terminal: a line as each stage starts; no bar, no escape codes.
    assert_eq!(err, "Reading files (2)…\nConverting notes (2)…\n");
    assert!(!err.contains('\u{1b}') && !err.contains('\r'), "{err:?}");
    assert!(a.list().is_empty(), "a dry run writes nothing");
    let quiet = a.run(&["import", vault.to_str().unwrap(), "--dry-run", "--quiet"]);
    assert!(quiet.status.success() && quiet.stderr.is_empty(), "{quiet:?}");

    let report: serde_json::Value =
        serde_json::from_str(&a.ok(&["import", vault.to_str().unwrap(), "--json"])).unwrap();
    assert_eq!(report["notes"], 2);
    assert_eq!(report["notebooks"], 1);
    assert_eq!(report["attachments"], 1);
    assert_eq!(report["problems"].as_array().unwrap().len(), 0);
    a.ok(&["sync"]);

    b.ok(&["join", "--folder", shared.to_str().unwrap()]);
    let list = b.list();
    let id_of = |t: &str| {
        list.iter().find(|n| n["title"] == t).unwrap_or_else(|| panic!("{t} in {list:?}"))["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let (ideas, lisbon) = (id_of("Ideas"), id_of("Lisbon"));
    let note = b.show(&ideas);
    assert_eq!(note["tags"], serde_json::json!(["garden", "seeds"]));
    assert!(b.body(&ideas).contains(&format!("[the Lisbon trip](note:{lisbon})")));
    assert!(b.body(&lisbon).contains("![map.png](asset:///"));
    let books = b.ok(&["notebook", "list"]);
    assert!(books.contains("Garden") && books.contains("Trips"), "{books}");

    // The phone, which has just joined, knows these files came in already.
    let again = b.ok(&["import", vault.to_str().unwrap()]);
    assert!(again.contains("2 notes were not imported again: they are here already."), "{again}");
    assert_eq!(b.list().len(), 2);

    let e = a.fails(&["import", vault.join("Ideas.md").to_str().unwrap()]);
    assert!(e.contains("cannot be imported: choose a folder of Markdown files"), "{e}");

    // An Evernote export: its note comes in, in a notebook named after the file.
    let enex = sb.path().join("Clippings.enex");
    std::fs::write(&enex, "<?xml version=\"1.0\"?><en-export><note><title>Clipped</title><content><![CDATA[<en-note><div>From the <b>web</b></div></en-note>]]></content><tag>web</tag></note></en-export>").unwrap();
    let done = a.ok(&["import", enex.to_str().unwrap()]);
    assert!(done.starts_with("Imported 1 note into “Clippings”"), "{done}");
    let clipped = a.list().into_iter().find(|n| n["title"] == "Clipped").unwrap();
    assert_eq!(a.body(clipped["id"].as_str().unwrap()).trim(), "From the **web**");

    // The phone takes everything out as Markdown (fetching the attachment from the folder),
    // and importing that on the laptop adds nothing: every note is there already.
    let out = sb.folder("taken out");
    std::fs::remove_dir(&out).ok();
    let done = b.ok(&["export", out.to_str().unwrap()]);
    assert!(done.starts_with("Exported 2 notes to "), "{done}");
    assert!(done.contains("(2 folders for notebooks, 1 attachment)"), "{done}");
    assert_eq!(std::fs::read(out.join("attachments/map.png")).unwrap(), b"\x89PNG fake");
    let lisbon_md = std::fs::read_to_string(out.join("Garden/Trips/Lisbon.md")).unwrap();
    assert!(lisbon_md.contains("Back to [Ideas](../Ideas.md)."), "{lisbon_md}");
    assert!(lisbon_md.contains("](../../attachments/map.png)"), "{lisbon_md}");
    let again = a.ok(&["import", out.to_str().unwrap()]);
    assert!(again.starts_with("Imported 0 notes"), "{again}");
    assert!(again.contains("2 notes were not imported again: they are here already."), "{again}");
    let e = b.fails(&["export", out.to_str().unwrap()]);
    assert!(e.contains("is not empty; choose an empty folder or a new one"), "{e}");
}
