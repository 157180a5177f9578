//! Leak canary (RELIABILITY.md, test 10): a unique string in titles and bodies never reaches a
//! shared folder, a WebDAV root or any log; no secret (workspace identity, passphrase, WebDAV
//! password) appears in logs, `status`, `log`, error messages or any shared location; locally the
//! secrets are in files only the user can read.

use std::os::unix::fs::PermissionsExt;

use resnotes_e2e::dav::DavServer;
use resnotes_e2e::{files_under, Sandbox, PASSPHRASE};

#[test]
fn canary_and_secrets_never_leak() {
    let canary = format!("CANARY-{}", uuid::Uuid::new_v4().simple());
    let sb = Sandbox::new();
    let shared = sb.folder("shared");
    let server = DavServer::apache(&sb.folder("apache"));
    let a = sb.device("a");
    let mut said = String::new();
    let mut run = |args: &[&str]| {
        let out = a.cmd(args).env("RESNOTES_LOG", "debug").output().unwrap();
        said.push_str(&String::from_utf8_lossy(&out.stdout));
        said.push_str(&String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    run(&["init", "--folder", shared.to_str().unwrap()]);
    run(&["target", "add", "webdav", &server.url, "--user", resnotes_e2e::dav::USER]);
    let id = run(&[
        "new",
        "--title",
        &format!("title {canary}"),
        "--body",
        &format!("body {canary}\nmore"),
    ])
    .trim()
    .to_string();
    run(&["edit", &id, "--body", &format!("edited {canary}")]);
    run(&["sync"]);
    run(&["status", "--json"]);
    run(&["log", "--json"]);
    run(&["target", "list"]);
    // Errors too: a bad id, a wrong target.
    let _ = a
        .cmd(&["show", "nonexistent"])
        .env("RESNOTES_LOG", "debug")
        .output()
        .map(|o| said.push_str(&String::from_utf8_lossy(&o.stderr)));
    let identity = a.ok(&["key", "export"]);
    let identity = identity
        .lines()
        .find(|l| l.starts_with("AGE-SECRET-KEY-"))
        .expect("identity line")
        .to_string();

    let secrets = [identity.as_str(), PASSPHRASE, resnotes_e2e::dav::PASSWORD];
    let mut shared_files = files_under(&shared);
    shared_files.extend(files_under(&sb.path().join("apache")));
    assert!(shared_files.len() > 3, "entries were written");
    for (name, bytes) in &shared_files {
        let text = String::from_utf8_lossy(bytes);
        assert!(!name.contains("CANARY") && !text.contains(&canary), "note text in {name}");
        for s in secrets {
            assert!(!text.contains(s), "a secret in {name}");
        }
    }
    assert!(said.contains("DEBUG"), "debug logging was on");
    assert!(!said.contains(&canary), "note text in output or a log line");
    for s in secrets {
        assert!(!said.contains(s), "a secret in output or logs");
    }
    // Apache's own access log (URLs) shows neither.
    for (name, bytes) in files_under(&sb.path().join("apache")) {
        assert!(!String::from_utf8_lossy(&bytes).contains(&canary), "{name}");
    }
    // Locally: the key and the WebDAV password are readable only by the user.
    let mode = |p: std::path::PathBuf| std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(a.dir.join("workspace.key")), 0o600);
    assert_eq!(mode(a.dir.join("device.key")), 0o600);
    for e in std::fs::read_dir(a.dir.join("credentials")).unwrap().flatten() {
        assert_eq!(mode(e.path()), 0o600);
    }
}
