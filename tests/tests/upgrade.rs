//! A workspace made by the previous format version (envelope version 3, no notebooks; the
//! fixture in `tests/fixtures/v3-workspace`, made by the CLI of that time) opens with this
//! program and loses nothing: the device that made it upgrades its database in place, a new
//! device joins its folder of version-3 entries, both list the same notes, pins, tags, trash,
//! links and search results, every note in the default notebook; then notebooks made after
//! the upgrade sync between them.

use std::path::Path;

use resnotes_e2e::{Device, Sandbox};

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

fn json(d: &Device, args: &[&str]) -> serde_json::Value {
    serde_json::from_str(&d.ok(args)).unwrap()
}

/// Titles, pins and tags of the list, in order.
fn listed(d: &Device, args: &[&str]) -> Vec<(String, bool, serde_json::Value)> {
    let mut all = vec!["list", "--json"];
    all.extend_from_slice(args);
    json(d, &all)
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["title"].as_str().unwrap().to_string(), n["pinned"] == true, n["tags"].clone()))
        .collect()
}

#[test]
fn a_workspace_of_the_previous_version_upgrades_and_is_joined_without_losing_anything() {
    let s = Sandbox::new();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/v3-workspace");
    let (old, new) = (s.device("old"), s.device("new"));
    copy_dir(&fixture.join("device"), &old.dir);
    let folder = s.path().join("folder");
    copy_dir(&fixture.join("folder"), &folder);
    // The old device's own target named the folder where the fixture was made.
    let target = old.ok(&["target", "list"]);
    let name = target.split_whitespace().next().unwrap().to_string();
    old.ok(&["target", "remove", &name]);
    old.ok(&["target", "add", "folder", folder.to_str().unwrap()]);

    let want = vec![
        ("Plan".to_string(), true, serde_json::json!(["work"])),
        ("Links".to_string(), false, serde_json::json!([])),
        ("Groceries".to_string(), false, serde_json::json!(["errands", "home"])),
    ];
    new.ok(&["join", "--folder", folder.to_str().unwrap()]);
    // Its entries are of a version that did not sign (FORMAT.md §5.1): said, in words.
    let signed = |d: &Device, of: &Device| {
        let list = json(d, &["device", "list", "--json"]);
        let row = list.as_array().unwrap().iter().find(|r| r["id"] == of.client_id()).cloned();
        row.unwrap_or_else(|| panic!("{} in {list}", of.client_id()))["signed"].as_bool().unwrap()
    };
    assert!(!signed(&new, &old) && signed(&new, &new));
    assert!(new.ok(&["device", "list"]).contains("(update it: its changes are not signed)"));
    for d in [&old, &new] {
        assert_eq!(listed(d, &[]), want, "{}", d.dir.display());
        assert_eq!(d.ok(&["notebook", "list"]).trim(), "Inbox  (3 notes)");
        assert_eq!(listed(d, &["--notebook", "Inbox"]), want);
        let trash = d.ok(&["trash", "list"]);
        assert!(trash.contains("Old letter"), "{trash}");
        let found = json(d, &["search", "needle", "--json"]);
        assert_eq!(found[0]["title"], "Groceries");
        let plan =
            json(d, &["list", "--json", "--tag", "work"])[0]["id"].as_str().unwrap().to_string();
        assert!(d.ok(&["backlinks", &plan]).contains("Links"));
        // Changes written before they carried a time: the history takes the time of the entry
        // that carried them, and the device that wrote that entry.
        let h = json(d, &["history", &plan, "--json"]);
        let versions = h.as_array().unwrap();
        assert!(!versions.is_empty());
        let writer = old.client_id();
        for v in versions {
            assert_eq!(v["device"].as_str(), Some(writer.as_str()), "{v}");
            let t = v["ended_at"].as_i64().unwrap_or(0);
            assert!(t > 1_700_000_000_000, "a time from the entry: {v}");
        }
    }

    // After the upgrade: notebooks made on one device show on the other.
    old.ok(&["notebook", "add", "Work"]);
    let plan =
        json(&old, &["list", "--json", "--tag", "work"])[0]["id"].as_str().unwrap().to_string();
    old.ok(&["move", &plan, "Work"]);
    old.ok(&["sync"]);
    new.ok(&["sync"]);
    // The old device's first signed entry follows its version-3 ones and pins its key.
    assert!(signed(&new, &old));
    assert!(!new.ok(&["device", "list"]).contains("not signed"));
    for d in [&old, &new] {
        assert_eq!(
            d.ok(&["notebook", "list"]).lines().collect::<Vec<_>>(),
            ["Inbox  (2 notes)", "Work  (1 note)"]
        );
    }
    // The version-3 entry is still there and read: a third device joining now gets it all.
    let third = s.device("third");
    third.ok(&["join", "--folder", folder.to_str().unwrap()]);
    assert_eq!(listed(&third, &["--notebook", "Work"]), [want[0].clone()]);
    assert!(third.ok(&["trash", "list"]).contains("Old letter"));
}
