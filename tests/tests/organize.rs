//! Notebooks, pins, tags and the trash across devices, driven through the real `resnotes` binary: they sync,
//! concurrent tag edits merge the same way everywhere (add wins), and a device that has just
//! joined lists, filters and sorts from the entries' summaries.

use resnotes_e2e::{Device, Sandbox};

/// The ids of a JSON list, in order.
fn ids(list: &[serde_json::Value]) -> Vec<String> {
    list.iter().map(|n| n["id"].as_str().unwrap().to_string()).collect()
}

fn listed(d: &Device, args: &[&str]) -> Vec<String> {
    let mut all = vec!["list", "--json"];
    all.extend_from_slice(args);
    ids(&serde_json::from_str::<Vec<serde_json::Value>>(&d.ok(&all)).unwrap())
}

fn trash(d: &Device) -> Vec<String> {
    ids(&serde_json::from_str::<Vec<serde_json::Value>>(&d.ok(&["trash", "list", "--json"]))
        .unwrap())
}

#[test]
fn pins_tags_and_the_trash_sync_merge_and_list_on_a_joined_device() {
    let s = Sandbox::new();
    let shared = s.folder("shared");
    let (a, b, c) = (s.device("a"), s.device("b"), s.device("c"));
    a.ok(&["init", "--folder", shared.to_str().unwrap()]);
    let groceries = a.new_note("Groceries", "milk\neggs");
    let plan = a.new_note("Plan", "q3 goals");
    let recipe = a.new_note("apple pie", "flour");
    assert_eq!(
        a.ok(&["tag", &groceries[..8], "+Home", "#Errands"]).lines().collect::<Vec<_>>(),
        ["errands", "home"]
    );
    a.ok(&["tag", &plan, "work"]);
    a.ok(&["tag", &recipe, "+home"]);
    a.ok(&["pin", &plan]);
    // Pinned first, then newest edit first; a tag filter; title order after the pins.
    assert_eq!(listed(&a, &[]), [plan.clone(), recipe.clone(), groceries.clone()]);
    assert_eq!(listed(&a, &["--tag", "home"]), [recipe.clone(), groceries.clone()]);
    assert_eq!(listed(&a, &["--tag", "HOME", "--tag", "errands"]), [groceries.as_str()]);
    assert_eq!(listed(&a, &["--sort", "title"]), [plan.clone(), recipe.clone(), groceries.clone()]);
    assert!(a.fails(&["tag", &plan, "+"]).contains("cannot be a tag"));
    a.ok(&["sync"]);

    // b joins: the list, its tags and pins come from the entries' summaries.
    b.ok(&["join", "--folder", shared.to_str().unwrap()]);
    assert_eq!(b.list(), a.list());
    assert_eq!(listed(&b, &["--tag", "home"]), [recipe.clone(), groceries.clone()]);
    let tags = b.ok(&["tags"]);
    assert_eq!(
        tags.lines().collect::<Vec<_>>(),
        ["errands  (1 note)", "home  (2 notes)", "work  (1 note)"]
    );

    // Concurrently: a removes "home" from the groceries and unpins the plan; b removes "home"
    // and adds it back, tags the plan and pins the recipe. Add wins for "home".
    a.ok(&["tag", &groceries, "-home"]);
    a.ok(&["unpin", &plan]);
    b.ok(&["tag", &groceries, "-home"]);
    b.ok(&["tag", &groceries, "+home"]);
    b.ok(&["tag", &plan, "+q3"]);
    b.ok(&["pin", &recipe]);
    a.ok(&["sync"]);
    b.ok(&["sync"]);
    a.ok(&["sync"]);
    for d in [&a, &b] {
        assert_eq!(d.show(&groceries)["tags"], serde_json::json!(["errands", "home"]));
        assert_eq!(d.show(&plan)["tags"], serde_json::json!(["q3", "work"]));
        assert_eq!(d.show(&plan)["pinned"], false);
        assert_eq!(d.show(&recipe)["pinned"], true);
    }
    assert_eq!(a.list(), b.list());
    // A tag renamed on every note that has it; the other device follows.
    let out = a.run(&["rename-tag", "HOME", "#House"]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Renamed the tag to \"house\" on 2 notes")
    );
    assert!(a.fails(&["rename-tag", "nothing", "x"]).contains("no note has the tag \"nothing\""));
    a.ok(&["sync"]);
    b.ok(&["sync"]);
    assert_eq!(b.show(&groceries)["tags"], serde_json::json!(["errands", "house"]));
    assert_eq!(listed(&b, &["--tag", "house"]).len(), 2);

    // The trash: b deletes the plan; a sees it in the trash, restores it; b sees it back.
    b.ok(&["delete", &plan]);
    b.ok(&["sync"]);
    a.ok(&["sync"]);
    assert_eq!(trash(&a), [plan.as_str()]);
    // The trash is searched by any word of the text, on request only.
    assert_eq!(a.ok(&["search", "goals"]), "", "a deleted note is not found without --trash");
    let found = a.ok(&["search", "goals", "--trash"]);
    assert!(found.contains("Plan") && found.contains("[goals]"), "{found}");
    assert_eq!(a.ok(&["search", "milk", "--trash"]), "");
    assert!(!listed(&a, &[]).contains(&plan));
    a.ok(&["trash", "restore", &plan[..8]]);
    a.ok(&["sync"]);
    b.ok(&["sync"]);
    assert!(listed(&b, &[]).contains(&plan));
    assert!(trash(&b).is_empty());

    // Emptied on b: gone from a's list, trash and search, and from a new device's.
    b.ok(&["delete", &groceries]);
    assert!(b.fails(&["trash", "empty"]).contains("--yes"));
    assert_eq!(trash(&b), [groceries.as_str()]);
    b.ok(&["trash", "empty", "--yes"]);
    assert!(trash(&b).is_empty());
    assert!(b.fails(&["trash", "restore", &groceries]).contains("emptied"));
    b.ok(&["sync"]);
    a.ok(&["sync"]);
    for d in [&a, &b] {
        assert!(trash(d).is_empty());
        assert!(!listed(d, &[]).contains(&groceries));
        assert!(d.ok(&["search", "eggs"]).trim().is_empty());
        assert_eq!(d.ok(&["tags"]).lines().next(), Some("house  (1 note)"));
    }
    c.ok(&["join", "--folder", shared.to_str().unwrap()]);
    assert_eq!(c.list(), a.list());
    assert!(trash(&c).is_empty());
    assert_eq!(listed(&c, &["--tag", "q3"]), [plan.as_str()]);
    assert_eq!(listed(&c, &[])[0], recipe);
}

/// Links between notes across devices: a link names the note by id, so a rename on one device
/// shows on the other; the linked note's backlinks list the linking one on a device that has
/// just joined; a link to a trashed or never-synced note says so.
#[test]
fn links_survive_renames_and_backlinks_show_on_a_joined_device() {
    let s = Sandbox::new();
    let shared = s.folder("shared");
    let (a, b) = (s.device("a"), s.device("b"));
    a.ok(&["init", "--folder", shared.to_str().unwrap()]);
    let target = a.new_note("Trip plan", "dates");
    let body = format!(
        "Packing list.\nSee [Trip plan](note:{target}) and [lost](note:00000000-0000-4000-8000-000000000001)."
    );
    let source = a.new_note("Packing", &body);
    a.new_note("Unrelated", "nothing");
    a.ok(&["sync"]);
    b.ok(&["join", "--folder", shared.to_str().unwrap()]);
    let back: Vec<serde_json::Value> =
        serde_json::from_str(&b.ok(&["backlinks", &target, "--json"])).unwrap();
    assert_eq!(back.len(), 1, "{back:?}");
    assert_eq!(back[0]["id"], source.as_str());
    b.ok(&["edit", &target, "--title", "Lisbon trip"]);
    b.ok(&["sync"]);
    a.ok(&["sync"]);
    let links: Vec<serde_json::Value> =
        serde_json::from_str(&a.ok(&["links", &source, "--json"])).unwrap();
    assert_eq!(links[0]["title"], "Lisbon trip");
    assert_eq!(links[0]["state"], "live");
    assert_eq!(links[1]["state"], "missing");
    a.ok(&["delete", &target]);
    assert!(a.ok(&["links", &source]).contains("Lisbon trip  (in the trash)"));
    assert!(a.ok(&["backlinks", &source]).trim().is_empty());
}

fn notebooks(d: &Device) -> serde_json::Value {
    serde_json::from_str(&d.ok(&["notebook", "list", "--json"])).unwrap()
}

#[test]
fn notebooks_nest_move_and_delete_across_devices_and_list_on_a_joined_device() {
    let s = Sandbox::new();
    let shared = s.folder("shared");
    let (a, b) = (s.device("a"), s.device("b"));
    a.ok(&["init", "--folder", shared.to_str().unwrap()]);
    let inbox = a.new_note("Loose", "not filed anywhere");
    a.ok(&["notebook", "add", "Work"]);
    a.ok(&["notebook", "add", "Projects", "--parent", "work"]);
    a.ok(&["notebook", "add", "Home"]);
    let deep = a.ok(&[
        "new",
        "--title",
        "Roadmap",
        "--body",
        "quarterly needle",
        "--notebook",
        "Work/Projects",
    ]);
    let deep = deep.trim().to_string();
    let memo = a.new_note("Memo", "another needle");
    a.ok(&["move", &memo[..8], "Work"]);
    assert_eq!(
        a.ok(&["notebook", "list"]).lines().collect::<Vec<_>>(),
        ["Inbox  (1 note)", "Home  (0 notes)", "Work  (1 note)", "  Projects  (1 note)"]
    );
    assert_eq!(listed(&a, &["--notebook", "Work"]), [memo.as_str()]);
    assert_eq!(listed(&a, &["--notebook", "inbox"]), [inbox.as_str()]);
    // notebook: in a search keeps the notebook and the ones inside it.
    let found = |d: &Device, q: &str| {
        ids(&serde_json::from_str::<Vec<serde_json::Value>>(&d.ok(&["search", q, "--json"]))
            .unwrap())
    };
    assert_eq!(found(&a, "needle notebook:Projects"), [deep.as_str()]);
    assert_eq!(found(&a, "needle notebook:work").len(), 2);
    assert!(a.fails(&["move", &memo, "Nowhere"]).contains("no notebook is called \"Nowhere\""));
    assert!(a
        .fails(&["notebook", "move", "Work", "Work/Projects"])
        .contains("cannot go inside itself"));
    a.ok(&["sync"]);

    // b joins: the tree and each notebook's notes come from the entries' summaries.
    b.ok(&["join", "--folder", shared.to_str().unwrap()]);
    assert_eq!(notebooks(&b), notebooks(&a));
    assert_eq!(listed(&b, &["--notebook", "Work/Projects"]), [deep.as_str()]);

    // At the same time: b renames Work to Job, a files the loose note in Work and moves Home
    // into Work.
    b.ok(&["notebook", "rename", "Work", "Job"]);
    a.ok(&["move", &inbox, "Work"]);
    a.ok(&["notebook", "move", "Home", "Work"]);
    a.ok(&["sync"]);
    b.ok(&["sync"]);
    a.ok(&["sync"]);
    assert_eq!(notebooks(&a), notebooks(&b));
    for d in [&a, &b] {
        assert_eq!(
            d.ok(&["notebook", "list"]).lines().collect::<Vec<_>>(),
            ["Inbox  (0 notes)", "Job  (2 notes)", "  Home  (0 notes)", "  Projects  (1 note)"]
        );
    }

    // a deletes Job: its notes and those of the notebooks in it go to the trash everywhere;
    // restoring one brings its notebook (and Job above it) back.
    let out = a.run(&["notebook", "delete", "Job"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("3 notes went to the trash"));
    a.ok(&["sync"]);
    b.ok(&["sync"]);
    assert_eq!(trash(&b).len(), 3);
    assert_eq!(b.ok(&["notebook", "list"]).trim(), "Inbox  (0 notes)");
    b.ok(&["trash", "restore", &deep]);
    assert_eq!(
        b.ok(&["notebook", "list"]).lines().collect::<Vec<_>>(),
        ["Inbox  (0 notes)", "Job  (0 notes)", "  Projects  (1 note)"]
    );
    b.ok(&["sync"]);
    a.ok(&["sync"]);
    assert_eq!(notebooks(&a), notebooks(&b));
}
