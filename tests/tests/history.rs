//! A note's history between two CLI devices (issue 17): a paragraph lost to a mistaken edit on
//! one device is found in the history on the other, compared, and brought back; the restore
//! syncs back, and the history keeps every version. Later editing sessions are made with the
//! clock moved on (libfaketime under the real binary), as a person's come minutes apart.

use resnotes_e2e::{Device, Sandbox};

fn history(d: &Device, id: &str) -> Vec<serde_json::Value> {
    serde_json::from_str::<serde_json::Value>(&d.ok(&["history", id, "--json"]))
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn a_paragraph_lost_on_one_device_is_found_in_history_and_restored_on_the_other() {
    let sb = Sandbox::new();
    let shared = sb.folder("shared");
    let (a, b) = (sb.device("laptop"), sb.device("phone"));
    a.ok(&["init", "--folder", shared.to_str().unwrap()]);
    let id = a.new_note("Speech", "Thank you all.\n\nThe paragraph that matters.\n");
    let cheers = "Thank you all.\n\nThe paragraph that matters.\n\nCheers!\n";
    a.ok_at("+20m", &["edit", &id, "--body", cheers]);
    a.ok(&["sync"]);
    b.ok(&["join", "--folder", shared.to_str().unwrap()]);
    // The mistake, on the phone: the paragraph deleted.
    b.ok_at("+40m", &["edit", &id, "--body", "Thank you all.\n\nCheers!\n"]);
    b.ok_at("+40m", &["sync"]);
    a.ok(&["sync"]);
    assert!(!a.body(&id).contains("paragraph"), "the loss reached the laptop");

    // On the laptop: three versions, newest first, the phone's on top.
    let h = history(&a, &id);
    let who: Vec<(bool, &str)> = h
        .iter()
        .map(|v| (v["this_device"].as_bool().unwrap(), v["summary"].as_str().unwrap()))
        .collect();
    assert_eq!(
        who,
        vec![
            (false, "−29 characters"),
            (true, "+9 characters"),
            (true, "Created · +44 characters")
        ]
    );
    assert_eq!(h[0]["device"], b.client_id());
    let (t0, t1, t2) = (
        h[2]["ended_at"].as_i64().unwrap(),
        h[1]["ended_at"].as_i64().unwrap(),
        h[0]["ended_at"].as_i64().unwrap(),
    );
    assert!(
        (t1 - t0 - 20 * 60_000).abs() < 60_000 && (t2 - t0 - 40 * 60_000).abs() < 60_000,
        "{t0} {t1} {t2}"
    );
    let listing = a.ok(&["history", &id]);
    assert!(
        listing.lines().next().unwrap().contains(&format!("device {}", &b.client_id()[..8])),
        "{listing}"
    );
    assert!(listing.contains("this device"), "{listing}");

    // What the mistake removed, word by word; and the version before it, whole.
    let before = h[1]["id"].as_str().unwrap()[..8].to_string();
    let diff = a.ok(&["diff", &id, &before, "current"]);
    assert!(diff.contains("[-The paragraph that matters.\n\n-]"), "{diff}");
    assert!(a.ok(&["show", &id, "--at", &before]).contains("The paragraph that matters."));

    // Restored on the laptop; the phone gets it back with the next sync.
    a.ok_at("+50m", &["restore", &id, "--to", &before]);
    a.ok_at("+50m", &["sync"]);
    b.ok_at("+50m", &["sync"]);
    for d in [&a, &b] {
        assert_eq!(d.body(&id), "Thank you all.\n\nThe paragraph that matters.\n\nCheers!\n");
        let after = history(d, &id);
        assert_eq!(after.len(), 4, "history keeps every version");
        assert_eq!(
            after[1..],
            h[..]
                .iter()
                .map(|v| {
                    let mut v = v.clone();
                    v["this_device"] = serde_json::json!(v["device"] == d.client_id());
                    v
                })
                .collect::<Vec<_>>()[..]
        );
        assert_eq!(after[0]["summary"], "+29 characters");
    }

    // What changed recently, across all notes: the laptop's restore, as the phone received it.
    let recent = b.ok(&["changes", "--since", "2h"]);
    let first = recent.lines().next().unwrap_or_default();
    assert!(first.contains(&format!("device {}", &a.client_id()[..8])), "{recent}");
    assert!(first.contains("Speech"), "{recent}");
    assert!(recent.contains("this device"), "the phone's own edit: {recent}");
    assert!(b.fails(&["changes", "--since", "banana"]).contains("time ago like 2h"));

    // Mistakes get one sentence each.
    assert!(a.fails(&["restore", &id, "--to", "zz"]).contains("does not name a version"));
    assert!(a.fails(&["show", &id, "--at", "banana"]).contains("neither a version"));
    assert!(
        a.fails(&["history", "ffffffff"]).contains("No note")
            || a.fails(&["history", "ffffffff"]).contains("no note")
    );
}
