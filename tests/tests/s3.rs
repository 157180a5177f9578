//! S3 targets on a real Garage store: two devices syncing notes and a multipart attachment
//! through a bucket (nothing readable in Garage's data, metadata or logs), listings of more keys
//! than one page holds, plain-words errors for a wrong key and a missing bucket, a store that
//! faults (503 SlowDown, resets, cut-off answers), and a three-node cluster that loses a node in
//! the middle of a push and of a pull. Every test is named `garage_…`: `scripts/test` runs them
//! after Garage's install has finished.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::Duration;

use resnotes_core::transport::{Transport, S3};
use resnotes_e2e::garage::Garage;
use resnotes_e2e::proxy::FaultProxy;
use resnotes_e2e::{files_under, Device, Sandbox};

const CANARY: &str = "S3-CANARY-4417-garden";

fn s3_device(s: &Sandbox, name: &str, g: &Garage) -> Device {
    let mut d = s.device(name);
    d.s3_secret = g.secret.clone();
    d
}

fn no_canary(root: &Path) {
    let files = files_under(root);
    assert!(!files.is_empty(), "nothing under {}", root.display());
    for (name, bytes) in files {
        assert!(
            !bytes.windows(CANARY.len()).any(|w| w == CANARY.as_bytes()),
            "a note's text is readable in {name}"
        );
    }
}

fn sync_until_clean(d: &Device) {
    let mut last = String::new();
    for _ in 0..10 {
        let (ok, err) = d.sync();
        if ok {
            return;
        }
        last = err;
    }
    panic!("sync did not succeed: {last}");
}

#[test]
fn garage_two_devices_sync_through_a_bucket() {
    let s = Sandbox::new();
    let g = Garage::single(&s.folder("garage"));
    let url = g.url(0, "family/notes");
    let (a, b) = (s3_device(&s, "a", &g), s3_device(&s, "b", &g));
    a.ok(&["init", "--s3", &url, "--access-key", &g.key_id]);
    let id = a.new_note("Shopping", &format!("eggs {CANARY}"));
    // 20 MiB: above the multipart threshold, so it goes up in three parts.
    let files = s.folder("files");
    let big = files.join("scan.bin");
    let mut rng = fastrand::Rng::with_seed(3);
    let bytes: Vec<u8> = (0..20 << 20).map(|_| rng.u8(..)).collect();
    std::fs::write(&big, &bytes).unwrap();
    let asset = a.ok(&["attach", &id, big.to_str().unwrap()]).trim().to_string();
    sync_until_clean(&a);

    b.ok(&["join", "--s3", &url, "--access-key", &g.key_id]);
    assert!(b.body(&id).starts_with("eggs"), "{}", b.body(&id));
    let out = s.path().join("scan-copy.bin");
    b.ok(&["asset", "get", &asset, "--out", out.to_str().unwrap()]);
    assert!(std::fs::read(&out).unwrap() == bytes, "the attachment came back different");

    // Edits both ways.
    b.ok(&["edit", &id, "--body", &format!("eggs, milk {CANARY}")]);
    let from_b = b.new_note("From B", "written on b");
    sync_until_clean(&b);
    sync_until_clean(&a);
    assert!(a.body(&id).starts_with("eggs, milk"), "{}", a.body(&id));
    assert_eq!(a.body(&from_b), "written on b");
    let status = a.status();
    let target = &status["targets"][0];
    assert_eq!(target["kind"], "s3", "{status}");
    assert!(
        !target.to_string().contains(&g.secret),
        "the secret key must never be shown: {target}"
    );

    // A third device joins with a setup code (no passphrase), bringing its own access key;
    // the code names the bucket, never a key, and works once.
    let code = a.ok(&["invite"]).trim().to_string();
    assert!(!code.contains(&g.key_id) && !code.contains(&g.secret), "{code}");
    let c = s3_device(&s, "c", &g);
    c.ok(&["join", "--code", &code, "--access-key", &g.key_id]);
    assert_eq!(c.list().len(), 2);
    let err = s3_device(&s, "d", &g).fails(&["join", "--code", &code, "--access-key", &g.key_id]);
    assert!(err.contains("already used, or it expired"), "{err}");

    // Nothing readable in what Garage stores or logs.
    no_canary(&g.storage(0));

    // Keys given to the CLI are kept for this device only, in a file readable by the user
    // alone when no keyring answers (the tests turn the keyring off).
    let stored = files_under(&a.dir.join("credentials"));
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].1, g.secret.as_bytes());
}

#[test]
fn garage_listings_span_pages_and_errors_say_what_to_do() {
    let s = Sandbox::new();
    let g = Garage::single(&s.folder("garage"));
    let t = S3::new(&g.url(0, "many"), Some(g.key_id.clone()), Some(g.secret.clone())).unwrap();
    t.check().unwrap();
    // More keys than one listing page holds (1,000): every name comes back once.
    let files: Vec<(String, Vec<u8>)> =
        (0..1203).map(|i| (format!("c/changes/{i:05}.age"), vec![b'x'; 10])).collect();
    for r in t.write_batch(&files) {
        r.unwrap();
    }
    let names = t.list("c/changes").unwrap();
    assert_eq!(names.len(), 1203);
    assert_eq!(names[0], "00000.age");
    assert_eq!(t.list("").unwrap(), vec!["c"]);
    assert_eq!(t.list("c").unwrap(), vec!["changes"]);
    assert!(t.list("nothing/here").unwrap().is_empty());
    // Idempotent writes; other bytes at a taken name are a conflict, left untouched.
    assert_eq!(
        t.write_new("c/changes/00001.age", &[b'x'; 10]).unwrap(),
        resnotes_core::transport::Written::AlreadyPresent
    );
    let err = t.write_new("c/changes/00001.age", b"forged bytes").unwrap_err();
    assert!(err.to_string().contains("different bytes"), "{err}");
    assert_eq!(t.read("c/changes/00001.age").unwrap().unwrap(), vec![b'x'; 10]);
    assert!(t.remove("c/changes/00002.age").unwrap());
    assert!(!t.remove("c/changes/00002.age").unwrap(), "already gone");
    assert_eq!(t.size("c/changes/00003.age").unwrap(), Some(10));
    assert_eq!(t.size("c/changes/00002.age").unwrap(), None);

    // A wrong secret key, a missing bucket, a missing key: one sentence each, saying what to do.
    let d = {
        let mut d = s.device("d");
        d.s3_secret = "not-the-secret".into();
        d
    };
    let err = d.fails(&["init", "--s3", &g.url(0, "x"), "--access-key", &g.key_id]);
    assert!(err.contains("check the access key and secret key"), "{err}");
    assert!(!err.contains("not-the-secret"), "{err}");
    let e = s3_device(&s, "e", &g);
    let missing = format!("s3://no-such-bucket/x?endpoint={}&region=garage", g.endpoint(0));
    let err = e.fails(&["init", "--s3", &missing, "--access-key", &g.key_id]);
    assert!(
        err.contains("no-such-bucket")
            && (err.contains("does not exist") || err.contains("refused")),
        "{err}"
    );
    // A clock a day behind: said in words (the store's own answer says only "access denied" or
    // "expired" for a request signed at the wrong time).
    let out = e
        .cmd(&["init", "--s3", &g.url(0, "clock"), "--access-key", &g.key_id])
        .env("LD_PRELOAD", resnotes_e2e::LIBFAKETIME)
        .env("FAKETIME", "-1d")
        .env("FAKETIME_DONT_FAKE_MONOTONIC", "1")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("clock"), "{err}");
    let f = s.device("f");
    let err = f.fails(&["init", "--s3", &g.url(0, "y")]);
    assert!(err.contains("AWS_ACCESS_KEY_ID"), "{err}");
    // Keys from the standard AWS environment work without --access-key, and are not stored.
    let out = f
        .cmd(&["init", "--s3", &g.url(0, "from-env")])
        .env("AWS_ACCESS_KEY_ID", &g.key_id)
        .env("AWS_SECRET_ACCESS_KEY", &g.secret)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!f.dir.join("credentials").exists(), "keys from the environment are not stored");
}

#[test]
fn garage_behind_a_faulty_connection_loses_nothing() {
    let s = Sandbox::new();
    let g = Garage::single(&s.folder("garage"));
    let proxy = FaultProxy::start(&format!("{}/", g.endpoint(0)), 0, 11);
    proxy.s3.store(true, Ordering::SeqCst);
    let url = g.url_via(proxy.url.trim_end_matches('/'), "faulty");
    let (a, b) = (s3_device(&s, "a", &g), s3_device(&s, "b", &g));
    a.ok(&["init", "--s3", &url, "--access-key", &g.key_id]);
    // A third of requests fail: 503 SlowDown, 500, 429, resets, answers cut off half way.
    proxy.percent.store(33, Ordering::SeqCst);
    let mut ids = Vec::new();
    for i in 0..8 {
        ids.push(a.new_note(&format!("note {i}"), &format!("body {i}")));
        let _ = a.sync();
    }
    sync_until_clean(&a);
    for _ in 0..10 {
        if b.dir.join("resnotes.db").exists() {
            break;
        }
        let _ = b.run(&["join", "--s3", &url, "--access-key", &g.key_id]);
    }
    sync_until_clean(&b);
    for (i, id) in ids.iter().enumerate() {
        assert_eq!(b.body(id), format!("body {i}"));
    }
    assert!(proxy.counts.faults.load(Ordering::SeqCst) > 5, "the proxy injected faults");
}

#[test]
fn garage_cluster_keeps_every_acknowledged_entry_with_a_node_down() {
    let s = Sandbox::new();
    let mut g = Garage::cluster(&s.folder("garage"), 3);
    // The two devices reach the cluster through different nodes.
    let (a, b) = (s3_device(&s, "a", &g), s3_device(&s, "b", &g));
    a.ok(&["init", "--s3", &g.url(0, "ws"), "--access-key", &g.key_id]);
    b.ok(&["join", "--s3", &g.url(1, "ws"), "--access-key", &g.key_id]);

    // Node 2 is killed while A writes and pushes notes, one entry per sync: a push it
    // acknowledged must never be lost, one it did not is done again by the next sync.
    let mut ids = Vec::new();
    let kill = g.kill_later(2, Duration::from_millis(1500));
    for i in 0..30 {
        ids.push(a.new_note(&format!("note {i}"), &format!("first body {i} {CANARY}")));
        let _ = a.sync();
    }
    kill.join().unwrap();
    g.stop(2);
    // With two of three nodes (Garage's quorum) sync goes on working.
    sync_until_clean(&a);
    sync_until_clean(&b);
    for (i, id) in ids.iter().enumerate() {
        assert!(b.body(id).starts_with(&format!("first body {i}")), "{id}: {}", b.body(id));
    }

    // Node 2 comes back; node 1 (B's endpoint: B has pushed its edits by then) is killed in
    // the middle of A's pull of B's edits, which goes through node 0.
    g.start(2);
    for id in &ids {
        b.ok(&["edit", id, "--body", &format!("second body {CANARY}")]);
        sync_until_clean(&b);
    }
    let kill = g.kill_later(1, Duration::from_millis(150));
    let (pulled, _) = a.sync();
    kill.join().unwrap();
    g.stop(1);
    sync_until_clean(&a);
    for id in &ids {
        assert!(a.body(id).starts_with("second body"), "{id}: {}", a.body(id));
    }
    eprintln!(
        "the pull during which node 1 was killed ended {}",
        if pulled { "well" } else { "with an error, and the next one finished it" }
    );

    // Node 1 returns: everything acknowledged is there, on every node's endpoint.
    g.start(1);
    let c = s3_device(&s, "c", &g);
    c.ok(&["join", "--s3", &g.url(1, "ws"), "--access-key", &g.key_id]);
    assert_eq!(c.list().len(), ids.len());
    for id in &ids {
        assert!(c.body(id).starts_with("second body"), "{id}: {}", c.body(id));
    }
    for i in 0..3 {
        no_canary(&g.storage(i));
    }
}

/// The app's "Sync with a folder or server…" dialog, S3 tab: a wrong secret key says what to
/// do, the right one connects, the notes are shared there and a CLI device reads them.
#[test]
fn garage_app_shares_notes_through_an_s3_bucket() {
    use resnotes_e2e::webdriver::App;
    let s = Sandbox::new();
    let g = Garage::single(&s.folder("garage"));
    let d = s.device("app");
    let app = App::start("s3", &d.dir, &[]);
    app.click("#new-note");
    app.wait_until(Duration::from_secs(5), "the new note to open", || {
        app.list_titles().len() == 1 && app.value("#title").is_empty()
    });
    app.type_into("#title", "In the bucket");
    app.type_into("#editor .cm-content", &format!("plans {CANARY}"));
    app.wait_until(Duration::from_secs(5), "the note listed", || {
        app.list_titles() == vec!["In the bucket".to_string()]
    });

    app.open_sync_panel();
    app.click("#sync-panel [data-action=setup]");
    app.click("#setup .modes button[data-mode=s3]");
    app.type_into("#setup input[name=bucket]", resnotes_e2e::garage::BUCKET);
    app.type_into("#setup input[name=prefix]", "from the app");
    app.type_into("#setup input[name=endpoint]", &g.endpoint(0));
    app.type_into("#setup input[name=region]", resnotes_e2e::garage::REGION);
    app.type_into("#setup input[name=access_key]", &g.key_id);
    app.type_into("#setup input[name=secret_key]", "not the secret key");
    app.screenshot("s3-form");
    app.click("#setup form.s3 button[type=submit]");
    app.wait_until(Duration::from_secs(20), "the refused-key message", || {
        app.text("#setup .message").contains("check the access key and secret key")
    });
    app.screenshot("s3-wrong-secret");
    app.js(
        "document.querySelector('#setup input[name=secret_key]').value = ''",
        serde_json::json!([]),
    );
    app.type_into("#setup input[name=secret_key]", &g.secret);
    app.click("#setup form.s3 button[type=submit]");
    app.wait_until(Duration::from_secs(20), "the connection test", || {
        app.text("#setup .message").starts_with("Connected.")
    });
    app.type_into("#setup input[name=passphrase]", resnotes_e2e::PASSPHRASE);
    app.type_into("#setup input[name=confirm]", resnotes_e2e::PASSPHRASE);
    app.screenshot("s3-connected");
    app.click("#setup form.secret button[type=submit]");
    app.wait_until(Duration::from_secs(30), "the S3 target to be synced", || {
        app.find("#sync-body .target[data-state=synced]").is_some()
    });
    let place = app.text("#sync-body .target .location");
    assert_eq!(
        place,
        format!("S3 bucket notes/from the app on 127.0.0.1:{}", &g.endpoint(0)[17..])
    );
    assert!(!app.text("#sync-body").contains(&g.secret), "the secret key is never shown");
    app.screenshot("s3-synced");

    // A CLI device joins through the bucket and reads the note; Garage holds no note text.
    let b = s3_device(&s, "cli", &g);
    b.ok(&["join", "--s3", &g.url(0, "from the app"), "--access-key", &g.key_id]);
    let list = b.list();
    assert_eq!(list.len(), 1);
    assert!(b.body(list[0]["id"].as_str().unwrap()).starts_with("plans"));
    no_canary(&g.storage(0));
    app.quit();
}

/// A large attachment whose upload stopped half way (the store refused its last parts) goes on
/// at the next sync from the parts already stored, and arrives whole.
#[test]
fn garage_an_upload_cut_short_goes_on_where_it_stopped() {
    let s = Sandbox::new();
    let g = Garage::single(&s.folder("garage"));
    let proxy = FaultProxy::start(&format!("{}/", g.endpoint(0)), 0, 5);
    proxy.s3.store(true, Ordering::SeqCst);
    let url = g.url_via(proxy.url.trim_end_matches('/'), "resume");
    let (a, b) = (s3_device(&s, "a", &g), s3_device(&s, "b", &g));
    a.ok(&["init", "--s3", &url, "--access-key", &g.key_id]);
    let id = a.new_note("Video", "");
    // 60 MiB: seven parts of 8 MiB and one of 4 MiB.
    let file = s.folder("files").join("video.bin");
    let mut rng = fastrand::Rng::with_seed(9);
    let bytes: Vec<u8> = (0..60 << 20).map(|_| rng.u8(..)).collect();
    std::fs::write(&file, &bytes).unwrap();
    let asset = a.ok(&["attach", &id, file.to_str().unwrap()]).trim().to_string();

    *proxy.refuse.lock().unwrap() = vec!["partNumber=7&".into(), "partNumber=8&".into()];
    let (ok, err) = a.sync();
    assert!(!ok, "the upload cannot finish while the store refuses parts");
    assert!(err.contains("refused"), "{err}");
    let t = S3::new(&g.url(0, "resume"), Some(g.key_id.clone()), Some(g.secret.clone())).unwrap();
    let left = t.incomplete_uploads("").unwrap();
    assert_eq!(left.len(), 1, "the upload is kept to go on with: {left:?}");

    proxy.refuse.lock().unwrap().clear();
    let before = proxy.counts.puts.load(Ordering::SeqCst);
    sync_until_clean(&a);
    let sent = proxy.counts.puts.load(Ordering::SeqCst) - before;
    assert!(sent <= 3, "only the missing parts are sent again ({sent} uploads)");
    assert!(t.incomplete_uploads("").unwrap().is_empty(), "the upload is complete");

    b.ok(&["join", "--s3", &g.url(0, "resume"), "--access-key", &g.key_id]);
    let out = s.path().join("video-copy.bin");
    b.ok(&["asset", "get", &asset, "--out", out.to_str().unwrap()]);
    assert!(std::fs::read(&out).unwrap() == bytes, "the attachment came back different");
}

/// Entries flow folder → bucket → WebDAV server and back through devices in two of them each,
/// copied verbatim: A syncs with a folder, B with the folder and a bucket, C with the bucket
/// and a WebDAV server, D with the server only.
#[test]
fn garage_entries_relay_from_a_folder_through_a_bucket_to_webdav() {
    let s = Sandbox::new();
    let g = Garage::single(&s.folder("garage"));
    let dav = resnotes_e2e::dav::DavServer::apache(&s.folder("apache"));
    let folder = s.folder("F");
    let (a, b, c, d) =
        (s3_device(&s, "a", &g), s3_device(&s, "b", &g), s3_device(&s, "c", &g), s.device("d"));
    let bucket = g.url(0, "relay");
    a.ok(&["init", "--folder", folder.to_str().unwrap()]);
    let from_a = a.new_note("from A", "A wrote this");
    a.ok(&["sync"]);
    b.ok(&["join", "--folder", folder.to_str().unwrap()]);
    b.ok(&["target", "add", "s3", &bucket, "--access-key", &g.key_id]);
    sync_until_clean(&b);
    c.ok(&["join", "--s3", &bucket, "--access-key", &g.key_id]);
    c.ok(&["target", "add", "webdav", &dav.url, "--user", resnotes_e2e::dav::USER]);
    sync_until_clean(&c);
    d.ok(&["join", "--webdav", &dav.url, "--user", resnotes_e2e::dav::USER]);
    assert_eq!(d.body(&from_a), "A wrote this");

    // The same bytes in all three places.
    let t = S3::new(&bucket, Some(g.key_id.clone()), Some(g.secret.clone())).unwrap();
    let a_id = a.client_id();
    for (rel, bytes) in files_under(&folder.join(&a_id)) {
        let path = format!("{a_id}/{rel}");
        assert_eq!(t.read(&path).unwrap().as_deref(), Some(&bytes[..]), "{path} in the bucket");
        assert_eq!(std::fs::read(dav.root.join(&path)).unwrap(), bytes, "{path} on the server");
    }

    // And back: D's edit reaches A through C and B.
    d.ok(&["edit", &from_a, "--body", "A wrote this; D added this"]);
    d.ok(&["sync"]);
    sync_until_clean(&c);
    sync_until_clean(&b);
    a.ok(&["sync"]);
    assert_eq!(a.body(&from_a), "A wrote this; D added this");
    assert_eq!(a.list(), d.list());
}
