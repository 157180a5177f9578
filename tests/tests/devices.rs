//! Two devices through one shared folder, driven through the real `resnotes` binary.

use resnotes_e2e::{age_open, entry_file, files_under, Sandbox};

#[test]
fn newcomer_flow_offline_edits_on_both_devices_merge() {
    let s = Sandbox::new();
    let shared = s.folder("Dropbox/notes");
    let a = s.device("a");
    let b = s.device("b");
    a.ok(&["init", "--folder", shared.to_str().unwrap()]);
    let id = a.new_note("Trip", "pack socks\nbook train\ncall mum");
    a.ok(&["sync"]);
    b.ok(&["join", "--folder", shared.to_str().unwrap()]);
    assert_eq!(b.body(&id), "pack socks\nbook train\ncall mum");

    // Both edit the same note "offline" (no sync in between), in different places.
    a.ok(&["edit", &id[..8], "--body", "pack warm socks\nbook train\ncall mum"]);
    b.ok(&["edit", &id, "--body", "pack socks\nbook train\ncall mum and dad"]);
    b.ok(&["edit", &id, "--title", "Trip to Lyon"]);
    a.ok(&["sync"]);
    b.ok(&["sync"]);
    a.ok(&["sync"]);
    for d in [&a, &b] {
        let n = d.show(&id);
        assert_eq!(n["body"], "pack warm socks\nbook train\ncall mum and dad");
        assert_eq!(n["title"], "Trip to Lyon");
        assert_eq!(d.status()["pending"], 0);
    }
    // The list agrees and a second sync changes nothing.
    assert_eq!(a.list(), b.list());
    let (ok, err) = a.sync();
    assert!(ok && err.contains("pulled 0, pushed 0"), "{err}");
}

#[test]
fn deletes_sync_and_list_is_newest_first() {
    let s = Sandbox::new();
    let shared = s.folder("shared");
    let (a, b) = (s.device("a"), s.device("b"));
    a.ok(&["init", "--folder", shared.to_str().unwrap()]);
    let first = a.new_note("first", "one");
    std::thread::sleep(std::time::Duration::from_millis(5));
    let second = a.new_note("second", "two");
    a.ok(&["sync"]);
    b.ok(&["join", "--folder", shared.to_str().unwrap()]);
    let ids: Vec<String> = b.list().iter().map(|n| n["id"].as_str().unwrap().to_string()).collect();
    assert_eq!(ids, vec![second.clone(), first.clone()]);
    b.ok(&["delete", &first]);
    b.ok(&["sync"]);
    a.ok(&["sync"]);
    assert_eq!(a.list().len(), 1);
    assert!(a.fails(&["show", &first]).contains("no note matches"));
}

#[test]
fn wrong_passphrase_is_clear_and_writes_nothing() {
    let s = Sandbox::new();
    let shared = s.folder("shared");
    let a = s.device("a");
    a.ok(&["init", "--folder", shared.to_str().unwrap()]);
    let mut b = s.device("b");
    b.passphrase = "not the passphrase".into();
    let err = b.fails(&["join", "--folder", shared.to_str().unwrap()]);
    assert!(err.contains("wrong passphrase"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one sentence: {err}");
    assert!(!b.dir.join("resnotes.db").exists(), "nothing written on a wrong passphrase");
    let before = files_under(&shared);
    b.passphrase = resnotes_e2e::PASSPHRASE.into();
    b.ok(&["join", "--folder", shared.to_str().unwrap()]);
    assert_eq!(files_under(&shared), before, "joining writes nothing to the folder");
}

#[test]
fn nothing_readable_reaches_the_folder_and_age_can_read_every_entry() {
    let s = Sandbox::new();
    let shared = s.folder("shared");
    let a = s.device("a");
    a.ok(&["init", "--folder", shared.to_str().unwrap()]);
    let canary_title = "CANARYTITLE7731";
    let canary_body = "CANARYBODY9152 secret plans";
    let id = a.new_note(canary_title, canary_body);
    a.ok(&["edit", &id, "--body", "CANARYEDIT4410 more"]);
    a.ok(&["sync"]);
    let files = files_under(&shared);
    assert!(
        files.len() >= 2,
        "index.json and an entry: {:?}",
        files.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
    for (name, bytes) in &files {
        for canary in ["CANARY", "secret plans"] {
            assert!(!name.contains(canary), "{name}");
            assert!(
                !bytes.windows(canary.len()).any(|w| w == canary.as_bytes()),
                "{canary} readable in {name}"
            );
        }
    }
    // Interop: the standard age tool decrypts an entry with the exported key.
    let key = s.path().join("key.txt");
    std::fs::write(&key, a.ok(&["key", "export"])).unwrap();
    let client = a.client_id();
    let entry = entry_file(&shared, &client, 0, ".age");
    let out = std::process::Command::new("age")
        .arg("-d")
        .arg("-i")
        .arg(&key)
        .arg(&entry)
        .output()
        .expect("the age tool (Debian package age) must be installed");
    assert!(out.status.success(), "age -d failed: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(&out.stdout[..5], b"RSNE\x06", "a version-6 entry envelope");
    // The decrypted envelope is exactly what FORMAT.md describes: it decodes and authenticates,
    // and its Automerge changes carry the text.
    let key = a.workspace_key();
    let e = resnotes_core::format::entry::decode(&out.stdout, &key).unwrap();
    assert_eq!(e.changes.len(), 2, "creation and edit sealed into one entry");
    assert!(e.signer.is_some(), "signed by its device (FORMAT.md §5.1)");
    let all: Vec<u8> = e.changes.iter().flat_map(|c| c.change.clone()).collect();
    assert!(
        all.windows(canary_body.len()).any(|w| w == canary_body.as_bytes()),
        "the Automerge change carries the text"
    );
    // Its summary gives the note's list row after both changes (FORMAT.md §4.2).
    assert_eq!(e.summaries.len(), 1);
    assert_eq!(
        (e.summaries[0].title.as_str(), e.summaries[0].first_line.as_str()),
        (canary_title, "CANARYEDIT4410 more")
    );
}

#[test]
fn plaintext_workspace_is_marked_and_readable() {
    let s = Sandbox::new();
    let shared = s.folder("shared");
    let (a, b) = (s.device("a"), s.device("b"));
    a.ok(&["init", "--folder", shared.to_str().unwrap(), "--plaintext"]);
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(shared.join("index.json")).unwrap()).unwrap();
    assert_eq!(index["encryption"]["method"], "none");
    assert_eq!(index["authentication"]["method"], "none");
    let id = a.new_note("open", "visible text");
    a.ok(&["sync"]);
    assert!(entry_file(&shared, &a.client_id(), 0, ".bin").exists());
    assert!(a.fails(&["key", "export"]).contains("not encrypted"));
    // Joining an unencrypted workspace is the user's explicit choice.
    let err = b.fails(&["join", "--folder", shared.to_str().unwrap()]);
    assert!(err.contains("not encrypted") && err.contains("--plaintext"), "{err}");
    b.ok(&["join", "--folder", shared.to_str().unwrap(), "--plaintext"]);
    assert_eq!(b.body(&id), "visible text");
    assert_eq!(b.status()["encrypted"], false);
}

#[test]
fn rebuild_restores_everything_from_the_log() {
    let s = Sandbox::new();
    let shared = s.folder("shared");
    let (a, b) = (s.device("a"), s.device("b"));
    a.ok(&["init", "--folder", shared.to_str().unwrap()]);
    let x = a.new_note("x", "hello");
    a.ok(&["sync"]);
    b.ok(&["join", "--folder", shared.to_str().unwrap()]);
    b.ok(&["edit", &x, "--body", "hello world"]);
    b.new_note("y", "why");
    let list = b.list();
    let body = b.body(&x);
    b.ok(&["rebuild"]);
    assert_eq!(b.list(), list);
    assert_eq!(b.body(&x), body);
    // After a rebuild, sync positions are re-learned without duplicating anything.
    b.ok(&["sync"]);
    a.ok(&["sync"]);
    assert_eq!(a.body(&x), "hello world");
    assert_eq!(a.list().len(), 2);
}

#[test]
fn cli_errors_are_one_clear_sentence() {
    let s = Sandbox::new();
    let a = s.device("a");
    let err = a.fails(&["list"]);
    assert!(err.contains("no workspace") && err.contains("resnotes init"), "{err}");
    a.ok(&["init"]);
    assert!(a.fails(&["init"]).contains("already holds a workspace"));
    assert!(a.fails(&["show", "zzz"]).contains("no note matches"));
    assert!(a.fails(&["edit", "0"]).contains("nothing to change"));
    let n1 = a.new_note("one", "");
    let mut n2 = a.new_note("two", "");
    while n2[..1] != n1[..1] {
        n2 = a.new_note("more", "");
    }
    assert!(a.fails(&["show", &n1[..1]]).contains("matches several notes"));
    assert!(a.fails(&["sync"]).contains("no sync target"));
    assert!(a.fails(&["target", "add", "folder", "/nonexistent/place"]).contains("not reachable"));
    assert!(a.fails(&["target", "remove", "nope"]).contains("no sync target matches"));
    let weak = s.device("weak");
    let mut weak = weak;
    weak.passphrase = "short".into();
    let f = s.folder("weakfolder");
    assert!(weak.fails(&["init", "--folder", f.to_str().unwrap()]).contains("too short"));
    assert!(!weak.dir.join("resnotes.db").exists());
    for err in [a.fails(&["show", "zzz"]), a.fails(&["delete", "zzz"])] {
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(err.starts_with("error: "), "{err}");
    }
}

#[test]
fn target_add_list_remove_and_local_workspace_gets_shared_later() {
    let s = Sandbox::new();
    let a = s.device("a");
    a.ok(&["init"]);
    let id = a.new_note("local first", "written before any sync");
    let f = s.folder("later");
    let tid = a.ok(&["target", "add", "folder", f.to_str().unwrap()]).trim().to_string();
    assert!(f.join("index.json").exists());
    assert!(a.ok(&["target", "list"]).contains(&tid));
    assert_eq!(a.status()["pending"], 1);
    a.ok(&["sync"]);
    assert_eq!(a.status()["pending"], 0);
    let log: serde_json::Value = serde_json::from_str(&a.ok(&["log", "--json"])).unwrap();
    assert_eq!(log[0]["targets"][0]["state"], "synced");
    let b = s.device("b");
    b.ok(&["join", "--folder", f.to_str().unwrap()]);
    assert_eq!(b.body(&id), "written before any sync");
    assert!(a
        .fails(&["target", "add", "folder", f.to_str().unwrap()])
        .contains("already a sync target"));
    a.ok(&["target", "remove", &tid]);
    assert!(a.ok(&["target", "list"]).trim().is_empty());
    assert!(f.join("index.json").exists(), "removing a target leaves its files");
}

/// `resnotes show ID | head -1`: a reader that goes away before the output is written ends the
/// command quietly and successfully (it used to panic with "Broken pipe").
#[test]
fn a_closed_standard_output_ends_a_command_quietly() {
    use std::io::Write;
    use std::process::Stdio;
    let sb = Sandbox::new();
    let a = sb.device("a");
    a.ok(&["init"]);
    // A body far larger than a pipe's buffer, so writing it meets the closed pipe.
    let mut new = a.cmd(&["new", "--title", "big", "--body", "-"]);
    let mut child = new.stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all("a line of text\n".repeat(100_000).as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let id = String::from_utf8_lossy(&out.stdout).trim().to_string();
    for args in [vec!["show", id.as_str()], vec!["list"], vec!["status", "--json"]] {
        let mut child = a.cmd(&args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        drop(child.stdout.take()); // the reader is gone before anything is written
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "resnotes {args:?}: {:?}, stderr: {err}", out.status);
        assert!(err.is_empty(), "resnotes {args:?} printed: {err}");
    }
}

/// Exit statuses are documented in `--help` and the same for `join` and `sync`: 0 in step, 3 ran
/// but an entry could not be read yet (with a warning), 1 failed.
#[test]
fn exit_statuses_are_documented_and_consistent_between_join_and_sync() {
    let s = Sandbox::new();
    let shared = s.folder("shared");
    let (a, b, c) = (s.device("a"), s.device("b"), s.device("c"));
    let help = String::from_utf8_lossy(&a.run(&["--help"]).stdout).into_owned();
    assert!(help.contains("Exit status:") && help.contains("  3  "), "{help}");
    a.ok(&["init", "--folder", shared.to_str().unwrap()]);
    a.new_note("first", "one");
    a.ok(&["sync"]);
    // A damaged file where A's next entry goes: readers cannot read it yet.
    let bad = entry_file(&shared, &a.client_id(), 1, ".age");
    std::fs::create_dir_all(bad.parent().unwrap()).unwrap();
    std::fs::write(&bad, b"age-encryption.org/v1\n-> X25519 damaged\n").unwrap();
    let join = b.run(&["join", "--folder", shared.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&join.stderr);
    assert_eq!(join.status.code(), Some(3), "join: {err}");
    assert!(err.contains("Joined workspace") && err.contains("warning: entry 1"), "{err}");
    assert_eq!(b.list().len(), 1, "the readable note arrived");
    let sync = b.run(&["sync"]);
    assert_eq!(sync.status.code(), Some(3), "sync: {}", String::from_utf8_lossy(&sync.stderr));
    std::fs::remove_file(&bad).unwrap();
    assert_eq!(b.run(&["sync"]).status.code(), Some(0));
    // Failing: a folder that is not there.
    let gone = s.path().join("gone");
    assert_eq!(c.run(&["join", "--folder", gone.to_str().unwrap()]).status.code(), Some(1));
}

/// `init --folder` and `target add folder` create a folder whose parent exists; a missing
/// parent is named in the error, and nothing is created.
#[test]
fn a_new_shared_folder_is_created_when_only_its_last_part_is_missing() {
    let s = Sandbox::new();
    let (a, b) = (s.device("a"), s.device("b"));
    let new = s.path().join("new notes");
    a.ok(&["init", "--folder", new.to_str().unwrap()]);
    assert!(new.join("index.json").exists(), "the folder was created and shared");
    let deep = s.path().join("missing").join("notes");
    let err = b.fails(&["init", "--folder", deep.to_str().unwrap()]);
    assert!(err.contains("missing does not exist either"), "{err}");
    assert!(!deep.exists() && !b.dir.exists(), "nothing was created");
    let another = s.path().join("second copy");
    a.ok(&["target", "add", "folder", another.to_str().unwrap()]);
    assert!(another.join("index.json").exists());
    let err = b.fails(&["join", "--folder", s.path().join("nowhere").to_str().unwrap()]);
    assert!(err.contains("does not exist"), "{err}");
}

/// A WebDAV password is never sent over plain http:// to another machine unless asked for.
#[test]
fn plain_http_webdav_with_a_password_is_refused_unless_allowed() {
    let s = Sandbox::new();
    let a = s.device("a");
    let err = a.fails(&["init", "--webdav", "http://notes.example.invalid/dav/", "--user", "me"]);
    assert!(err.contains("unencrypted (http://)") && err.lines().count() == 1, "{err}");
    assert!(!a.dir.exists(), "nothing was created");
    let help = String::from_utf8_lossy(&a.run(&["init", "--help"]).stdout).into_owned();
    assert!(help.contains("--allow-http"), "{help}");
}

/// A folder host rewrites `index.json` to say "not encrypted" under the same workspace id: a new
/// device does not join it without `--plaintext`, and devices already in the workspace refuse the
/// target (saying so) instead of following it, push nothing there, and resume once the file is
/// deleted (their pinned copy is written back).
#[test]
fn a_host_cannot_turn_encryption_off_by_rewriting_index_json() {
    let s = Sandbox::new();
    let shared = s.folder("shared");
    let (a, b, c) = (s.device("a"), s.device("b"), s.device("c"));
    a.ok(&["init", "--folder", shared.to_str().unwrap()]);
    let id = a.new_note("secret", "first words");
    a.ok(&["sync"]);
    b.ok(&["join", "--folder", shared.to_str().unwrap()]);
    let index = shared.join("index.json");
    let original = std::fs::read(&index).unwrap();
    let mut v: serde_json::Value = serde_json::from_slice(&original).unwrap();
    v["encryption"] = serde_json::json!({"method": "none", "recipients": []});
    v["authentication"]["method"] = "none".into();
    v["changeExtension"] = ".bin".into();
    std::fs::write(&index, serde_json::to_vec_pretty(&v).unwrap()).unwrap();

    let err = c.fails(&["join", "--folder", shared.to_str().unwrap()]);
    assert!(err.contains("not encrypted"), "{err}");
    assert!(!c.dir.join("resnotes.db").exists(), "a refused join leaves nothing behind");

    a.ok(&["edit", &id, "--body", "second words"]);
    let before = files_under(&shared);
    let out = a.run(&["sync"]);
    assert_eq!(out.status.code(), Some(1), "the refused target is a failed sync");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("was changed") && err.contains("not encrypted"), "{err}");
    assert_eq!(files_under(&shared), before, "nothing was pushed to the rewritten folder");
    let status = a.status();
    assert!(status.to_string().contains("was changed"), "{status}");

    // The user deletes the rewritten file: the device writes its own copy back and syncs.
    std::fs::remove_file(&index).unwrap();
    let (_, warned) = a.sync();
    assert!(warned.contains("written again"), "{warned}");
    assert_eq!(std::fs::read(&index).unwrap(), original);
    a.ok(&["sync"]);
    b.ok(&["sync"]);
    assert_eq!(b.body(&id), "second words");
}

/// `search` on a device that has just joined: a word on line 3 of a note from the other device
/// is found (the joined device indexes what it listed from summaries first), with the matched
/// word marked; a deleted note is not found.
#[test]
fn search_on_a_joined_device_finds_a_word_on_line_three() {
    let s = Sandbox::new();
    let shared = s.folder("shared");
    let (a, b) = (s.device("a"), s.device("b"));
    a.ok(&["init", "--folder", shared.to_str().unwrap()]);
    let id = a.new_note("Trip", "pack socks\nbook train\ncall the hôtel in 東京");
    let gone = a.new_note("Old", "hotel booking, cancelled");
    a.new_note("Other", "nothing here");
    a.ok(&["delete", &gone]);
    a.ok(&["sync"]);
    b.ok(&["join", "--folder", shared.to_str().unwrap()]);
    let found: serde_json::Value =
        serde_json::from_str(&b.ok(&["search", "hotel", "--json"])).unwrap();
    let found = found.as_array().unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["id"], id.as_str());
    let hits: Vec<_> = found[0]["snippet"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["hit"] == true)
        .map(|p| p["text"].as_str().unwrap())
        .collect();
    assert_eq!(hits, ["hôtel"]);
    let text = b.ok(&["search", "京"]);
    assert!(text.contains("Trip") && text.contains("[京]"), "{text}");
    assert!(b.ok(&["search", "\"train call\""]).contains("Trip"));
    assert!(b.ok(&["search", "zeppelin"]).trim().is_empty());
}

#[test]
fn devices_name_themselves_and_every_device_says_who_edited_by_name() {
    let sb = Sandbox::new();
    let shared = sb.folder("shared");
    let (a, b, c) = (sb.device("laptop"), sb.device("phone"), sb.device("tablet"));
    a.ok(&["init", "--folder", shared.to_str().unwrap()]);
    let listed = a.ok(&["device", "list"]);
    assert!(listed.contains("Device ") && listed.contains("(this device)"), "{listed}");
    let said = a.run(&["device", "list"]);
    assert!(String::from_utf8_lossy(&said.stderr).contains("resnotes device name NAME"));
    a.ok(&["device", "name", "  Anna's   laptop "]);
    let id = a.new_note("Groceries", "milk\n");
    a.ok(&["sync"]);
    b.ok(&["join", "--folder", shared.to_str().unwrap()]);
    b.ok(&["device", "rename", "Phone"]); // `rename` is `name`
    b.ok(&["edit", &id, "--body", "milk\neggs\n"]);
    b.ok(&["sync"]);
    a.ok(&["sync"]);
    // A device that joins later knows both names from the folder alone.
    c.ok(&["join", "--folder", shared.to_str().unwrap()]);
    for (d, me) in [(&a, "Anna's laptop"), (&c, "")] {
        let devices: Vec<serde_json::Value> =
            serde_json::from_str(&d.ok(&["device", "list", "--json"])).unwrap();
        let names: Vec<Option<&str>> = devices.iter().map(|d| d["name"].as_str()).collect();
        assert!(
            names.contains(&Some("Anna's laptop")) && names.contains(&Some("Phone")),
            "{names:?}"
        );
        assert_eq!(devices[0]["this_device"], true);
        if !me.is_empty() {
            assert_eq!(devices[0]["name"], me);
        }
        // The names are no notes: one note, and a search for a name finds nothing.
        assert_eq!(d.list().len(), 1);
        assert!(d.ok(&["search", "Phone"]).trim().is_empty());
    }
    let history = c.ok(&["history", &id]);
    assert!(history.contains("Phone") && history.contains("Anna's laptop"), "{history}");
    assert!(!history.contains(&b.client_id()[..8]), "names, not ids: {history}");
    let changes = a.ok(&["changes", "--since", "1h"]);
    assert!(changes.contains("Phone"), "{changes}");
    // A name that cannot be one is refused in a sentence, and nothing is written.
    let err = a.fails(&["device", "name", " "]);
    assert!(err.contains("cannot be empty"), "{err}");
    let long = "x".repeat(61);
    let err = a.fails(&["device", "name", &long]);
    assert!(err.contains("at most 60 characters"), "{err}");
    assert!(a.ok(&["device", "list"]).contains("Anna's laptop"), "the name is kept");
}

/// Issue 19: a new device joins with a one-time setup code instead of the passphrase. The code
/// works once; an expired one opens nothing; the device that made an unused one removes it
/// from the folder once it has expired.
#[test]
fn a_setup_code_adds_a_device_once_without_the_passphrase_and_expires() {
    let s = Sandbox::new();
    let shared = s.folder("shared");
    let (a, b, c) = (s.device("a"), s.device("b"), s.device("c"));
    a.ok(&["init", "--folder", shared.to_str().unwrap()]);
    a.new_note("Groceries", "milk");
    a.ok(&["sync"]);
    // Printed to a pipe: the code alone (a terminal also gets its QR code).
    let code = a.ok(&["invite"]).trim().to_string();
    assert!(code.starts_with("resnotes-invite:1/") && !code.contains('\n'), "{code}");
    let json: serde_json::Value = serde_json::from_str(&a.ok(&["invite", "--json"])).unwrap();
    assert!(json["code"].as_str().unwrap().starts_with("resnotes-invite:1/"));
    assert_eq!(json["target"]["kind"], "folder");
    // The folder is still a sound workspace with invitations in it.
    a.ok(&["verify"]);
    // No passphrase anywhere: the code is all the new device needs (the folder path is in it).
    // Given in the environment, it stays out of the process list and the shell's history.
    join_with_code(&b, &code);
    assert_eq!(b.list()[0]["title"], "Groceries");
    // Its changes reach the first device, signed by its own key.
    b.new_note("From the new device", "hello");
    b.ok(&["sync"]);
    a.ok(&["sync"]);
    assert_eq!(a.list().len(), 2);
    // Used up: a second device with the same code is refused in a sentence, nothing made.
    let err = c.fails(&["join", "--code", &code]);
    assert!(err.contains("already used, or it expired"), "{err}");
    assert!(!c.dir.join("resnotes.db").exists());
    let err = c.fails(&["join", "--code", "resnotes-invite:1/garbage"]);
    assert!(err.contains("not a Resilient Notes setup code"), "{err}");
    // An expired code opens nothing, and its device removes it from the folder.
    let short = a.ok(&["invite", "--minutes", "1"]).trim().to_string();
    let late = c
        .cmd(&["join", "--code", &short])
        .env("LD_PRELOAD", resnotes_e2e::LIBFAKETIME)
        .env("FAKETIME", "+5m")
        .output()
        .unwrap();
    assert!(!late.status.success());
    assert!(String::from_utf8_lossy(&late.stderr).contains("expired"));
    let unused = a.ok(&["invite", "--minutes", "1"]).trim().to_string();
    let invites = || std::fs::read_dir(shared.join("invites")).unwrap().count();
    assert!(invites() >= 1);
    a.ok_at("+2h", &["sync"]); // past every code made here
    assert_eq!(invites(), 0, "expired invitations removed");
    let err = c.fails(&["join", "--code", &unused]);
    assert!(err.contains("already used, or it expired"), "{err}");
}

const NEW_PASSPHRASE: &str = "a brand new passphrase for 2027";

/// FORMAT.md §5.2: after a passphrase change the old passphrase, and a key exported before it
/// (a former device, an old `index.json` in a sync service's history), open nothing written
/// after; the other devices need nothing typed; a new device joins with the new passphrase and
/// reads everything.
#[test]
fn a_passphrase_change_locks_the_old_passphrase_out_of_what_is_written_after_it() {
    let s = Sandbox::new();
    let shared = s.folder("shared");
    let folder = shared.to_str().unwrap();
    let (mut a, b) = (s.device("a"), s.device("b"));
    a.ok(&["init", "--folder", folder]);
    let before = a.new_note("Before", "written before the change");
    a.ok(&["sync"]);
    b.ok(&["join", "--folder", folder]);
    let hello = b.new_note("Hello", "from b");
    b.ok(&["sync"]);
    a.ok(&["sync"]);
    let old_keys = s.path().join("old-keys.txt");
    std::fs::write(&old_keys, a.ok(&["key", "export"])).unwrap();

    a.passphrase = NEW_PASSPHRASE.into();
    let out = a.run(&["passphrase", "change"]);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("The passphrase was changed"), "{said}");
    assert!(!said.contains("Not given the new key"), "b signs, so it is given the key: {said}");
    let keys: Vec<String> = std::fs::read_dir(shared.join("keys"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(keys.len(), 1, "one passphrase wrap: {keys:?}");
    let after = a.new_note("After", "CANARYAFTERCHANGE");
    a.ok(&["sync"]);
    // The keys/ folder is part of the workspace: checking the folder finds nothing foreign.
    let checked = a.run(&["verify"]);
    assert!(checked.status.success(), "{}", String::from_utf8_lossy(&checked.stderr));

    // b reads on without typing anything, and writes with the new key.
    b.ok(&["sync"]);
    assert_eq!(b.body(&after), "CANARYAFTERCHANGE");
    b.ok(&["edit", &hello, "--body", "from b, after the change"]);
    b.ok(&["sync"]);
    a.ok(&["sync"]);
    assert_eq!(a.body(&hello), "from b, after the change");

    // The old key opens what was written before, nothing after; the new export opens it all.
    let (ca, cb) = (a.client_id(), b.client_id());
    let file = |client: &str, i: u64| entry_file(&shared, client, i, ".age");
    assert!(age_open(&old_keys, &file(&ca, 0)).is_some(), "written before: the old key opens it");
    let newest = |client: &str| (0..).take_while(|i| file(client, *i).exists()).last().unwrap();
    for (client, i) in [(&ca, newest(&ca)), (&cb, newest(&cb)), (&ca, 1)] {
        assert_eq!(age_open(&old_keys, &file(client, i)), None, "entry {i} of {client}");
    }
    let new_keys = s.path().join("new-keys.txt");
    let export = a.ok(&["key", "export"]);
    assert_eq!(export.matches("AGE-SECRET-KEY-1").count(), 2, "{}", export.len());
    std::fs::write(&new_keys, export).unwrap();
    let plain = age_open(&new_keys, &file(&ca, newest(&ca))).expect("the new key opens it");
    assert_eq!(&plain[..5], b"RSNE\x07", "an entry of the new key epoch");
    assert!(age_open(&new_keys, &file(&ca, 0)).is_some());

    // A key file planted by someone who knows the old key (a newer name, no entry behind it,
    // another passphrase) changes nothing for a device that joins.
    use resnotes_core::format::{crypto, epoch};
    let planted = epoch::EpochId { client: uuid::Uuid::new_v4(), index: 0 };
    let fake = crypto::wrap_secret_file(epoch::EpochSecret::generate().expose(), "intruder", 10);
    std::fs::write(shared.join("keys").join(epoch::wrap_name(1 << 40, &planted)), fake.unwrap())
        .unwrap();

    // The old passphrase is told so in one sentence and writes nothing; the new one joins.
    let mut c = s.device("c");
    let err = c.fails(&["join", "--folder", folder]);
    assert!(err.contains("old passphrase"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one sentence: {err}");
    assert!(!c.dir.join("resnotes.db").exists());
    c.passphrase = NEW_PASSPHRASE.into();
    c.ok(&["join", "--folder", folder]);
    assert_eq!(c.body(&before), "written before the change");
    assert_eq!(c.body(&after), "CANARYAFTERCHANGE");
    assert_eq!(c.body(&hello), "from b, after the change");
}

/// A device that joined but had written nothing when the passphrase changed was not given the
/// new key: it says so in plain words, keeps its own edits, and reads on once the new
/// passphrase is typed there.
#[test]
fn a_device_that_missed_the_change_reads_on_once_the_new_passphrase_is_typed() {
    let s = Sandbox::new();
    let shared = s.folder("shared");
    let folder = shared.to_str().unwrap();
    let (mut a, mut b) = (s.device("a"), s.device("b"));
    a.ok(&["init", "--folder", folder]);
    a.new_note("Before", "old");
    a.ok(&["sync"]);
    b.ok(&["join", "--folder", folder]);
    a.passphrase = NEW_PASSPHRASE.into();
    a.ok(&["passphrase", "change"]);
    let after = a.new_note("After", "new");
    a.ok(&["sync"]);

    // b wrote offline meanwhile, with the only key it has: a reads it.
    let offline = b.new_note("Offline", "typed on b before it heard of the change");
    let (_, said) = b.sync();
    assert!(said.contains("passphrase was changed"), "{said}");
    assert!(b.ok(&["status"]).contains("resnotes passphrase enter"), "the command to type");
    assert!(b.fails(&["show", &after]).contains("no note matches"));
    assert_eq!(b.status()["needs_new_passphrase"], true);
    a.ok(&["sync"]);
    assert_eq!(a.body(&offline), "typed on b before it heard of the change");

    let err = b.fails(&["passphrase", "enter"]);
    assert!(err.contains("old passphrase"), "{err}");
    b.passphrase = NEW_PASSPHRASE.into();
    b.ok(&["passphrase", "enter"]);
    assert_eq!(b.body(&after), "new");
    assert_eq!(b.status()["needs_new_passphrase"], false);
    let (ok, said) = b.sync();
    assert!(ok, "{said}");
    b.ok(&["edit", &offline, "--body", "now in the new key"]);
    b.ok(&["sync"]);
    a.ok(&["sync"]);
    assert_eq!(a.body(&offline), "now in the new key");
}

/// A setup code made after a passphrase change hands over the new key (invitation version 2,
/// FORMAT.md §3.1): the new device reads what was written before and after the change, and what
/// it writes is read by the others, without any passphrase typed.
#[test]
fn a_setup_code_after_a_passphrase_change_brings_the_new_key() {
    let s = Sandbox::new();
    let shared = s.folder("shared");
    let folder = shared.to_str().unwrap();
    let (mut a, b, c) = (s.device("a"), s.device("b"), s.device("c"));
    a.ok(&["init", "--folder", folder]);
    let before = a.new_note("Before", "old words");
    a.ok(&["sync"]);
    b.ok(&["join", "--folder", folder]);
    b.new_note("B was here", "signed");
    b.ok(&["sync"]);
    a.ok(&["sync"]);
    a.passphrase = NEW_PASSPHRASE.into();
    a.ok(&["passphrase", "change"]);
    let after = a.new_note("After", "new words");
    a.ok(&["sync"]);
    let code = a.ok(&["invite"]).trim().to_string();
    join_with_code(&c, &code);
    c.ok(&["sync"]);
    assert_eq!(c.body(&before), "old words");
    assert_eq!(c.body(&after), "new words");
    assert_eq!(c.status()["needs_new_passphrase"], false);
    let from_c = c.new_note("From C", "joined with a code");
    c.ok(&["sync"]);
    for d in [&a, &b] {
        d.ok(&["sync"]);
        assert_eq!(d.body(&from_c), "joined with a code");
    }
    // What c wrote is of the new key: the first key alone does not open it.
    let first = s.path().join("first-key.txt");
    let export = b.ok(&["key", "export"]);
    std::fs::write(&first, export.lines().take(2).collect::<Vec<_>>().join("\n") + "\n").unwrap();
    let cc = c.client_id();
    let newest =
        (0..).take_while(|i| entry_file(&shared, &cc, *i, ".age").exists()).last().unwrap();
    assert_eq!(age_open(&first, &entry_file(&shared, &cc, newest, ".age")), None);
}

/// Writes, where `victim`'s next entry belongs, an entry `forger` makes with what it holds: the
/// workspace's first key and its own device key (it cannot read the victim's newer entries, so
/// it cannot know the hash they chain to).
fn forge_next_entry(
    shared: &std::path::Path,
    forger: &resnotes_e2e::Device,
    victim: &resnotes_e2e::Device,
) {
    use resnotes_core::format::entry::{self, Header, NoteChange};
    use resnotes_core::format::signature::DeviceKey;
    let key = forger.workspace_key();
    let ws: uuid::Uuid = forger.status()["workspace_id"].as_str().unwrap().parse().unwrap();
    let device =
        DeviceKey::parse(&std::fs::read_to_string(forger.dir.join("device.key")).unwrap()).unwrap();
    let victim_id: uuid::Uuid = victim.client_id().parse().unwrap();
    let next = (0..)
        .take_while(|i| entry_file(shared, &victim.client_id(), *i, ".age").exists())
        .count() as u64;
    let header = Header {
        workspace: ws,
        client: victim_id,
        index: next,
        timestamp: 2,
        lamport: 1 << 40,
        prev_hash: [7; 32],
    };
    let mut doc = resnotes_core::note::new_doc(&victim_id);
    resnotes_core::note::create(&mut doc, "forged", "not written by the victim", 1).unwrap();
    let change = resnotes_core::note::take_change(&mut doc, 1).unwrap();
    let forged = entry::Payload::changes(vec![NoteChange { note: uuid::Uuid::new_v4(), change }]);
    let slot = entry_file(shared, &victim.client_id(), next, ".age");
    std::fs::create_dir_all(slot.parent().unwrap()).unwrap();
    std::fs::write(&slot, key.seal(&entry::encode(&header, &forged, &key, &device).0).unwrap())
        .unwrap();
}

/// The newest entry file of `client` in a folder.
fn newest_entry(shared: &std::path::Path, client: &str) -> std::path::PathBuf {
    let file = |i: u64| entry_file(shared, client, i, ".age");
    file((0..).take_while(|i| file(*i).exists()).last().unwrap())
}

/// FORMAT.md §5.2: a removed device reads nothing written after its removal (not with its own
/// files and the `age` tool either), what it writes after is refused by every device — also by
/// one that took it before it heard of the removal — and it keeps what it had.
#[test]
fn a_removed_device_reads_nothing_new_and_what_it_writes_is_refused() {
    let s = Sandbox::new();
    let shared = s.folder("shared");
    let folder = shared.to_str().unwrap();
    let (a, b, c) = (s.device("a"), s.device("b"), s.device("c"));
    a.ok(&["init", "--folder", folder]);
    a.ok(&["device", "name", "Laptop"]);
    let shared_note = a.new_note("Shared", "everyone had this");
    a.ok(&["sync"]);
    for (d, name) in [(&b, "Old phone"), (&c, "Desktop")] {
        d.ok(&["join", "--folder", folder]);
        d.ok(&["device", "name", name]);
        d.ok(&["sync"]);
    }
    a.ok(&["sync"]);
    // b writes once more; c takes it, a has not synced: a's cutoff for b is before it.
    let late = b.new_note("Late", "written by the phone before its removal reached anyone");
    b.ok(&["sync"]);
    c.ok(&["sync"]);
    assert_eq!(c.body(&late), "written by the phone before its removal reached anyone");

    let err = a.fails(&["device", "remove", "Nobody", "--yes"]);
    assert!(err.contains("no device of this workspace is called"), "{err}");
    let err = a.fails(&["device", "remove", "Laptop", "--yes"]);
    assert!(err.contains("cannot remove itself"), "{err}");
    let err = a.fails(&["device", "remove", "old phone"]);
    assert!(err.contains("--yes"), "asks first: {err}");
    let mut wrong = a.cmd(&["device", "remove", "old phone", "--yes"]);
    let out = wrong.env("RESNOTES_PASSPHRASE", "not the passphrase").output().unwrap();
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.to_lowercase().contains("passphrase"), "{said}");
    let out = a.run(&["device", "remove", "old phone", "--yes"]);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("Old phone was removed"), "{said}");
    let listed = a.ok(&["device", "list"]);
    assert!(listed.contains("removed") && listed.contains("by Laptop"), "{listed}");
    let err = a.fails(&["device", "remove", "old phone", "--yes"]);
    assert!(err.contains("removed from the workspace already"), "{err}");

    // What a writes from now on, b cannot read: not in the app, not with its keys and age —
    // notes nor attachments (FORMAT.md §10.2: sealed in the epoch a writes in).
    let secret = a.new_note("After", "CANARYAFTERREMOVAL");
    let photo = s.path().join("after.txt");
    std::fs::write(&photo, "ATTACHMENTAFTERREMOVAL").unwrap();
    let album = a.new_note("Album", "attached after the removal");
    let url = a.ok(&["attach", &album, photo.to_str().unwrap()]).trim().to_string();
    a.ok(&["sync"]);
    let b_keys = s.path().join("b-keys.txt");
    std::fs::write(&b_keys, b.ok(&["key", "export"])).unwrap();
    let (_, said) = b.sync();
    assert!(said.contains("removed from the workspace"), "{said}");
    assert!(b.fails(&["show", &secret]).contains("no note matches"));
    assert_eq!(age_open(&b_keys, &newest_entry(&shared, &a.client_id())), None);
    assert_eq!(b.body(&shared_note), "everyone had this", "it keeps what it had");
    let asset_file = shared.join(a.client_id()).join("assets/1/0.age");
    assert!(asset_file.exists());
    assert_eq!(age_open(&b_keys, &asset_file), None, "b cannot open the attachment with age");
    let got = s.path().join("b-got.txt");
    let err = b.fails(&["asset", "get", &url, "--out", got.to_str().unwrap()]);
    assert!(err.contains("has not been given"), "{err}");
    assert!(!got.exists(), "nothing saved");
    let a_keys = s.path().join("a-keys.txt");
    std::fs::write(&a_keys, a.ok(&["key", "export"])).unwrap();
    let plain = age_open(&a_keys, &asset_file).expect("a's newest key opens it");
    assert_eq!((plain[4], &plain[150..]), (2, &b"ATTACHMENTAFTERREMOVAL"[..]), "version 2");

    // b forges a's next entry with the keys it kept (the first key, its own device key): every
    // device refuses it, and a's next sync puts its real entry there (nobody is forked). c's
    // sync also reads the removal: it drops b's entry it took before it knew.
    forge_next_entry(&shared, &b, &a);
    let (_, said) = c.sync();
    assert!(said.contains("hash chain broken"), "refused: {said}");
    assert!(said.contains("what Old phone wrote after it was removed"), "{said}");
    let real = a.new_note("A after the forgery", "real");
    a.sync();
    c.ok(&["sync"]);
    assert_eq!(c.body(&real), "real", "a is not forked");
    let c_got = s.path().join("c-got.txt");
    c.ok(&["asset", "get", &url, "--out", c_got.to_str().unwrap()]);
    assert_eq!(std::fs::read_to_string(&c_got).unwrap(), "ATTACHMENTAFTERREMOVAL");

    // What b writes after its removal — a month later, offline all along — reaches nobody.
    let month = "+30d";
    let after_b = b.ok_at(month, &["new", "--title", "From the old phone", "--body", "after"]);
    let after_b = after_b.trim().to_string();
    b.ok_at(month, &["edit", &shared_note, "--body", "vandalised by the old phone"]);
    let out = b
        .cmd(&["sync"])
        .env("LD_PRELOAD", resnotes_e2e::LIBFAKETIME)
        .env("FAKETIME", month)
        .env("FAKETIME_DONT_FAKE_MONOTONIC", "1")
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
    for d in [&a, &c] {
        d.ok(&["sync"]);
        assert!(d.fails(&["show", &late]).contains("no note matches"), "past the cutoff");
        assert!(d.fails(&["show", &after_b]).contains("no note matches"));
        assert_eq!(d.body(&shared_note), "everyone had this");
        assert_eq!(d.body(&secret), "CANARYAFTERREMOVAL");
        let listed = d.ok(&["device", "list"]);
        assert!(listed.contains("Old phone") && listed.contains("removed"), "{listed}");
    }
    let checked = a.ok(&["verify"]);
    assert!(checked.contains("written by a removed device after its removal"), "{checked}");
    assert!(!checked.contains("not on this device yet"), "{checked}");
    // c goes on writing with a (in the new key), and a new device joining with the same
    // passphrase reads everything but what b wrote after its removal.
    let from_c = c.new_note("From the desktop", "after the removal");
    c.ok(&["sync"]);
    a.ok(&["sync"]);
    assert_eq!(a.body(&from_c), "after the removal");
    let d = s.device("d");
    d.ok(&["join", "--folder", folder]);
    assert_eq!(d.body(&secret), "CANARYAFTERREMOVAL");
    assert_eq!(d.body(&shared_note), "everyone had this");
    assert!(d.fails(&["show", &after_b]).contains("no note matches"));
    let listed = d.ok(&["device", "list"]);
    assert!(listed.contains("removed"), "{listed}");

    // Typing the passphrase on the removed device lets it read (whoever knows the passphrase
    // can join), but it learns that it was removed, and what it writes is still refused.
    b.ok(&["passphrase", "enter"]);
    assert!(b.ok(&["status"]).contains("This device was removed from the workspace"));
}

/// FORMAT.md §5.2, "Members": a device that joined around the time a device was removed (the
/// remover did not know it, so the new key was not wrapped to it) could as well be the removed
/// device under a new id: its changes are held back everywhere until a person lets it in on a
/// member, or removes it.
#[test]
fn a_device_that_joined_around_a_removal_is_held_back_until_it_is_let_in() {
    let s = Sandbox::new();
    let shared = s.folder("shared");
    let folder = shared.to_str().unwrap();
    let (a, b, tablet, stranger) =
        (s.device("a"), s.device("b"), s.device("tablet"), s.device("stranger"));
    a.ok(&["init", "--folder", folder]);
    a.ok(&["device", "name", "Laptop"]);
    a.ok(&["sync"]);
    b.ok(&["join", "--folder", folder]);
    b.ok(&["device", "name", "Old phone"]);
    b.ok(&["sync"]);
    a.ok(&["sync"]);
    // Two devices join and write while a has not synced; then a removes the phone.
    let from_tablet = tablet_joins(&tablet, folder, "Tablet", "From the tablet");
    let from_stranger = tablet_joins(&stranger, folder, "Stranger", "From a stranger");
    a.ok(&["device", "remove", "Old phone", "--yes"]);
    a.ok(&["sync"]);
    for note in [&from_tablet, &from_stranger] {
        assert!(a.fails(&["show", note]).contains("no note matches"), "held back");
    }
    let listed = a.ok(&["device", "list"]);
    assert_eq!(listed.matches("held back").count(), 2, "{listed}");
    let status = a.ok(&["status"]);
    assert!(status.contains("A device you do not know yet"), "{status}");

    // The tablet is told too once it can read the removal (its user types the passphrase).
    let (_, said) = tablet.sync();
    assert!(said.contains("removed from the workspace"), "{said}");
    let said = String::from_utf8_lossy(&tablet.run(&["passphrase", "enter"]).stderr).into_owned();
    assert!(said.contains("until it is let in"), "the stranger, held back there too: {said}");
    let status = tablet.ok(&["status"]);
    assert!(status.contains("hold back its changes until you let it in"), "{status}");

    // Let in: its changes reach a, and it reads what a writes next.
    let tablet_id = tablet.client_id()[..8].to_string();
    let out = a.run(&["device", "let-in", &tablet_id]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    a.ok(&["sync"]);
    assert_eq!(a.body(&from_tablet), "From the tablet");
    let after = a.new_note("After letting it in", "for the tablet");
    a.ok(&["sync"]);
    tablet.ok(&["sync"]);
    assert_eq!(tablet.body(&after), "for the tablet");
    assert!(!tablet.ok(&["status"]).contains("hold back"));

    // Removed instead: nothing of it ever applies.
    let stranger_id = stranger.client_id()[..8].to_string();
    a.ok(&["device", "remove", &stranger_id, "--yes"]);
    a.ok(&["sync"]);
    assert!(a.fails(&["show", &from_stranger]).contains("no note matches"));
    let listed = a.ok(&["device", "list"]);
    assert!(!listed.contains("held back"), "{listed}");
    tablet.ok(&["sync"]);
    assert!(tablet.fails(&["show", &from_stranger]).contains("no note matches"));
    assert_eq!(tablet.body(&after), "for the tablet");
}

/// Joins `folder`, names the device, writes one note and syncs; returns the note's id.
fn tablet_joins(d: &resnotes_e2e::Device, folder: &str, name: &str, title: &str) -> String {
    d.ok(&["join", "--folder", folder]);
    d.ok(&["device", "name", name]);
    let id = d.new_note(title, title);
    d.ok(&["sync"]);
    id
}

/// Alpha and Bravo remove each other while both are offline, each syncing with a copy of the
/// shared folder of its own; Charlie, Delta and Echo joined before. Their records' Lamport
/// clocks are equal: the clientIds decide which removal holds. Returns the devices
/// `[a, b, c, d, e]` and the two offline folders (Alpha's, Bravo's).
fn removals_of_each_other_offline(
    s: &Sandbox,
) -> ([resnotes_e2e::Device; 5], std::path::PathBuf, std::path::PathBuf) {
    let devices = named_devices(s, ["Alpha", "Bravo", "Charlie", "Delta", "Echo"]);
    let [a, b, ..] = &devices;
    // Both offline: a folder each, the shared one copied.
    let (fa, fb) = (goes_offline(s, a, "a-offline"), goes_offline(s, b, "b-offline"));
    a.ok(&["device", "remove", "Bravo", "--yes"]);
    b.ok(&["device", "remove", "Alpha", "--yes"]);
    (devices, fa, fb)
}

/// A workspace in the sandbox's folder "shared", made by the first of `names`'s devices and
/// joined by the others, each named and synced; then the first two sync again (each holds
/// everyone's first entries). Devices are called by the lowercase first letter of their name.
fn named_devices<const N: usize>(s: &Sandbox, names: [&str; N]) -> [resnotes_e2e::Device; N] {
    let shared = s.folder("shared");
    let folder = shared.to_str().unwrap();
    let devices = names.map(|n| s.device(&n[..1].to_lowercase()));
    for (i, (d, name)) in devices.iter().zip(names).enumerate() {
        d.ok(&[if i == 0 { "init" } else { "join" }, "--folder", folder]);
        d.ok(&["device", "name", name]);
        d.ok(&["sync"]);
    }
    for d in devices.iter().take(2) {
        d.ok(&["sync"]);
    }
    devices
}

/// `d` leaves the shared folder for a copy of it called `name`, which is returned.
fn goes_offline(s: &Sandbox, d: &resnotes_e2e::Device, name: &str) -> std::path::PathBuf {
    let (shared, copy) = (s.folder("shared"), s.folder(name));
    copy_dir(&shared, &copy);
    d.ok(&["target", "add", "folder", copy.to_str().unwrap()]);
    d.ok(&["target", "remove", shared.to_str().unwrap()]);
    copy
}

/// The names of the devices `d` lists as removed.
fn removed_names(d: &resnotes_e2e::Device) -> Vec<String> {
    let v: Vec<serde_json::Value> =
        serde_json::from_str(&d.ok(&["device", "list", "--json"])).unwrap();
    let mut names: Vec<String> = v
        .iter()
        .filter(|d| !d["removed_at"].is_null())
        .map(|d| d["name"].as_str().unwrap_or("").to_string())
        .collect();
    names.sort();
    names
}

/// Two devices remove each other while both are offline: every device that reads both
/// removals comes to the same answer (FORMAT.md §5.2: the smaller Lamport clock holds).
#[test]
fn two_devices_that_remove_each_other_offline_end_the_same_everywhere() {
    let s = Sandbox::new();
    let ([a, b, c, ..], fa, fb) = removals_of_each_other_offline(&s);
    // Back online: both offline folders reach c.
    for f in [&fa, &fb] {
        c.ok(&["target", "add", "folder", f.to_str().unwrap()]);
    }
    c.ok(&["sync"]);
    c.ok(&["sync"]);
    let on_c = removed_names(&c);
    assert_eq!(on_c.len(), 1, "exactly one of the two removals holds: {on_c:?}");
    // The device that stayed agrees with c.
    let stayed = if on_c == ["Alpha"] { &b } else { &a };
    stayed.ok(&["sync"]);
    stayed.ok(&["sync"]);
    assert_eq!(removed_names(stayed), on_c);
}

/// The same removals met one at a time, in either order: a device that took the removal
/// which is void first still reads the other device's record written before it (past the
/// cutoff the first one set) and ends with the same answer as a device that read both at once
/// (FORMAT.md §5.2, "Records past a cutoff"); what the device that stayed wrote after the
/// removals arrives, what the removed one wrote does not.
#[test]
fn concurrent_removals_met_one_at_a_time_end_the_same_as_met_together() {
    let s = Sandbox::new();
    let ([a, b, c, d, e], fa, fb) = removals_of_each_other_offline(&s);
    // Each writes a note after its removal of the other, offline.
    a.new_note("from Alpha after", "from Alpha after");
    b.new_note("from Bravo after", "from Bravo after");
    a.ok(&["sync"]);
    b.ok(&["sync"]);
    // Each reader gets copies of its own (one that relayed what it read would hand the others
    // both at once) and leaves the shared folder.
    let shared = s.folder("shared");
    let copies = |name: &str| -> (String, String) {
        let (ca, cb) = (s.folder(&format!("{name}-a")), s.folder(&format!("{name}-b")));
        copy_dir(&fa, &ca);
        copy_dir(&fb, &cb);
        (ca.to_str().unwrap().to_string(), cb.to_str().unwrap().to_string())
    };
    let (ce, de, ee) = (copies("c"), copies("d"), copies("e"));
    for dev in [&c, &d, &e] {
        dev.ok(&["target", "remove", shared.to_str().unwrap()]);
    }
    // Echo meets both at once; Charlie meets Alpha's folder first, Delta Bravo's.
    e.ok(&["target", "add", "folder", &ee.0]);
    e.ok(&["target", "add", "folder", &ee.1]);
    e.ok(&["sync"]);
    let want = removed_names(&e);
    assert_eq!(want.len(), 1, "exactly one of the two removals holds: {want:?}");
    for (dev, first, second) in [(&c, &ce.0, &ce.1), (&d, &de.1, &de.0)] {
        dev.ok(&["target", "add", "folder", first]);
        dev.ok(&["sync"]);
        let so_far = removed_names(dev);
        assert_eq!(so_far.len(), 1, "one removal read so far");
        dev.ok(&["target", "add", "folder", second]);
        let out = dev.run(&["sync"]);
        let said = String::from_utf8_lossy(&out.stderr);
        assert_eq!(removed_names(dev), want, "the same answer as a device that read both at once");
        if so_far == want {
            assert_eq!(out.status.code(), Some(0), "{said}");
        } else {
            // What it took from the device removed after all is taken back out, in words.
            assert_eq!(out.status.code(), Some(3), "{said}");
            let gone = if want == ["Alpha"] { "Alpha" } else { "Bravo" };
            assert!(
                said.contains(&format!("what {gone} wrote after it was removed from the workspace was taken back out of your notes")),
                "{said}"
            );
        }
    }
    // What the device that stayed wrote after its removal of the other reaches everyone; what
    // the removed one wrote reaches no one.
    let (stayed, gone) = if want == ["Alpha"] {
        ("from Bravo after", "from Alpha after")
    } else {
        ("from Alpha after", "from Bravo after")
    };
    for dev in [&c, &d, &e] {
        dev.ok(&["sync"]);
        let list = dev.ok(&["list"]);
        assert!(list.contains(stayed), "{list}");
        assert!(!list.contains(gone), "{list}");
    }
}

/// A device removed later still vouches for what it built on (FORMAT.md §5.2, "The cutoff a
/// reader uses"): Xray took a note Yankee wrote and edited it; Alpha, offline, removed Yankee
/// before that note; Bravo, which got Xray's edit through a folder that lacked Yankee's note,
/// removed Xray. Xray's newest kept entry names Yankee's note, so the note stays and Xray's
/// edit of it is whole on every device — it no longer falls back once Xray is removed.
#[test]
fn what_a_device_removed_later_built_on_stays() {
    let s = Sandbox::new();
    let shared = s.folder("shared");
    let folder = shared.to_str().unwrap();
    let [a, b, x, y] = named_devices(&s, ["Alpha", "Bravo", "Xray", "Yankee"]);
    // Alpha goes offline with a copy of the folder.
    let fa = goes_offline(&s, &a, "a-offline");
    // Yankee writes a note; Xray takes it and edits it.
    let id = y.new_note("Shared plan", "from Yankee");
    y.ok(&["sync"]);
    x.ok(&["sync"]);
    x.ok(&["edit", &id, "--body", "from Yankee, then Xray"]);
    x.ok(&["sync"]);
    // Bravo gets Xray's edit through a folder without Yankee's note, and removes Xray.
    let fb = goes_offline(&s, &b, "b-offline");
    let yc = y.client_id();
    let newest = newest_entry(&fb, &yc);
    std::fs::remove_file(&newest).unwrap();
    b.ok(&["sync"]);
    b.ok(&["device", "remove", "Xray", "--yes"]);
    // Alpha, offline, removes Yankee: it holds none of Yankee's note.
    a.ok(&["device", "remove", "Yankee", "--yes"]);
    // Both meet everything.
    for (d, other) in [(&a, &fb), (&b, &fa)] {
        d.ok(&["target", "add", "folder", other.to_str().unwrap()]);
        d.ok(&["target", "add", "folder", folder]);
    }
    for d in [&a, &b, &a, &b] {
        let (_, said) = d.sync();
        assert!(!said.contains("taken back out"), "{said}");
    }
    for d in [&a, &b] {
        assert_eq!(removed_names(d), ["Xray", "Yankee"]);
        assert_eq!(d.body(&id), "from Yankee, then Xray");
        let status = d.ok(&["status"]);
        assert!(!status.contains("left out"), "{status}");
    }
}

/// A look past a cutoff opens what follows a record with that record's key: Bravo, offline,
/// changes the passphrase, writes a note in the new key, then removes Alpha; Alpha, which wrote
/// more meanwhile, removes Bravo after. Charlie meets Alpha's removal first, then Bravo's
/// folder: it reads Bravo's removal past the passphrase change and the note in the new key,
/// and ends with Alpha removed and Bravo's note there (FORMAT.md §5.2, "Records past a
/// cutoff").
#[test]
fn a_look_past_a_cutoff_reads_on_through_a_passphrase_change() {
    let s = Sandbox::new();
    let folder = s.folder("shared");
    let folder = folder.to_str().unwrap();
    let [a, mut b, c] = named_devices(&s, ["Alpha", "Bravo", "Charlie"]);
    let (fa, fb) = (goes_offline(&s, &a, "a-offline"), goes_offline(&s, &b, "b-offline"));
    b.passphrase = NEW_PASSPHRASE.into();
    b.ok(&["passphrase", "change"]);
    b.new_note("Bravo in its new key", "written after the change");
    b.ok(&["sync"]);
    b.ok(&["device", "remove", "Alpha", "--yes"]);
    b.ok(&["sync"]);
    for i in 0..5 {
        a.new_note(&format!("Alpha {i}"), "offline");
        a.ok(&["sync"]);
    }
    a.ok(&["device", "remove", "Bravo", "--yes"]);
    a.ok(&["sync"]);
    c.ok(&["target", "remove", folder]);
    c.ok(&["target", "add", "folder", fa.to_str().unwrap()]);
    c.ok(&["sync"]);
    assert_eq!(removed_names(&c), ["Bravo"], "Alpha's removal read first");
    c.ok(&["target", "add", "folder", fb.to_str().unwrap()]);
    let (_, said) = c.sync();
    assert_eq!(removed_names(&c), ["Alpha"], "{said}");
    c.ok(&["sync"]);
    let list = c.ok(&["list"]);
    assert!(list.contains("Bravo in its new key"), "{list}");
    assert!(!list.contains("Alpha 4"), "{list}");
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    for e in walk(from) {
        let rel = e.strip_prefix(from).unwrap();
        let dest = to.join(rel);
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::copy(&e, &dest).unwrap();
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// `join --code` with the code in the environment (out of the process list and the shell's
/// history) and no passphrase anywhere; it must succeed.
fn join_with_code(d: &resnotes_e2e::Device, code: &str) {
    let out = d
        .cmd(&["join", "--code"])
        .env("RESNOTES_SETUP_CODE", code)
        .env_remove("RESNOTES_PASSPHRASE")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}
