//! Helpers for end-to-end tests: each device is a data dir driven through the real `resnotes`
//! binary, in a temp sandbox that also holds the shared folders.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// Passphrase used by test workspaces.
pub const PASSPHRASE: &str = "correct horse battery staple";

/// The `resnotes` binary: `RESNOTES_BIN`, or `target/<profile>/resnotes` beside this test.
pub fn bin() -> PathBuf {
    if let Ok(p) = std::env::var("RESNOTES_BIN") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("test executable path");
    let profile_dir = exe.parent().and_then(Path::parent).expect("target/<profile>/deps");
    let p = profile_dir.join("resnotes");
    assert!(
        p.exists(),
        "{} is missing: run `cargo build --workspace` before the end-to-end tests",
        p.display()
    );
    p
}

/// A temp dir holding devices and shared folders.
pub struct Sandbox {
    tmp: tempfile::TempDir,
}

impl Default for Sandbox {
    fn default() -> Self {
        Self::new()
    }
}

impl Sandbox {
    /// A fresh sandbox.
    pub fn new() -> Self {
        Sandbox { tmp: tempfile::tempdir().expect("temp dir") }
    }
    /// A device with its own data dir (not yet initialized).
    pub fn device(&self, name: &str) -> Device {
        Device {
            dir: self.tmp.path().join(format!("device-{name}")),
            passphrase: PASSPHRASE.into(),
            webdav_password: dav::PASSWORD.into(),
            s3_secret: String::new(),
        }
    }
    /// An empty folder.
    pub fn folder(&self, name: &str) -> PathBuf {
        let p = self.tmp.path().join(name);
        std::fs::create_dir_all(&p).expect("create folder");
        p
    }
    /// The sandbox root.
    pub fn path(&self) -> &Path {
        self.tmp.path()
    }
}

/// libfaketime, which moves a process's clock ([`Device::ok_at`]).
pub const LIBFAKETIME: &str = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";

/// One device: a data dir and the passphrase it types.
pub struct Device {
    /// Its data dir.
    pub dir: PathBuf,
    /// What it answers when a passphrase is needed.
    pub passphrase: String,
    /// What it answers when a WebDAV password is needed.
    pub webdav_password: String,
    /// What it answers when an S3 secret key is needed (`RESNOTES_S3_SECRET_KEY`; empty: none).
    pub s3_secret: String,
}

impl Device {
    /// A `resnotes` command for this device.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(bin());
        c.args(args)
            .env("RESNOTES_DATA_DIR", &self.dir)
            .env("RESNOTES_PASSPHRASE", &self.passphrase)
            .env("RESNOTES_WEBDAV_PASSWORD", &self.webdav_password)
            .env("RESNOTES_TEST_ONLY_WEAK_SCRYPT_LOG_N", "10")
            .env("RESNOTES_NO_KEYRING", "1") // deterministic: the keyring has its own test
            .env_remove("RESNOTES_LOG")
            // Only the keys a test gives: never the AWS environment of the machine running it.
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .env_remove("AWS_PROFILE")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
            .stdin(Stdio::null());
        if !self.s3_secret.is_empty() {
            c.env("RESNOTES_S3_SECRET_KEY", &self.s3_secret);
        }
        c
    }
    /// Runs a command to completion.
    pub fn run(&self, args: &[&str]) -> Output {
        let out = self.cmd(args).output().expect("run resnotes");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "resnotes {args:?} panicked:\n{err}");
        out
    }
    /// Runs a command that must succeed; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "resnotes {args:?} failed:\nstdout: {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
    /// Runs a command that must succeed with this device's clock moved by `offset`
    /// (libfaketime's syntax: "+20m", "-1d", "+3650d"); returns stdout.
    pub fn ok_at(&self, offset: &str, args: &[&str]) -> String {
        assert!(
            Path::new(LIBFAKETIME).exists(),
            "{LIBFAKETIME} is missing: install Debian's faketime package (scripts/deps test does)"
        );
        let out = self
            .cmd(args)
            .env("LD_PRELOAD", LIBFAKETIME)
            .env("FAKETIME", offset)
            .env("FAKETIME_DONT_FAKE_MONOTONIC", "1")
            .output()
            .expect("run resnotes under libfaketime");
        assert!(
            out.status.success(),
            "{args:?} at {offset}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
    /// Runs a command that must fail; returns stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            !out.status.success(),
            "resnotes {args:?} should have failed:\n{}",
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    }
    /// `sync` that may report problems; returns (success, stderr).
    pub fn sync(&self) -> (bool, String) {
        let out = self.run(&["sync"]);
        (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
    }
    /// Creates a note; returns its id.
    pub fn new_note(&self, title: &str, body: &str) -> String {
        self.ok(&["new", "--title", title, "--body", body]).trim().to_string()
    }
    /// A note as JSON.
    pub fn show(&self, id: &str) -> serde_json::Value {
        serde_json::from_str(&self.ok(&["show", id, "--json"])).expect("show --json")
    }
    /// A note's body.
    pub fn body(&self, id: &str) -> String {
        self.show(id)["body"].as_str().unwrap_or_default().to_string()
    }
    /// The list as JSON.
    pub fn list(&self) -> Vec<serde_json::Value> {
        serde_json::from_str(&self.ok(&["list", "--json"])).expect("list --json")
    }
    /// Status as JSON.
    pub fn status(&self) -> serde_json::Value {
        serde_json::from_str(&self.ok(&["status", "--json"])).expect("status --json")
    }
    /// The workspace's first key (`index.json`'s), from `key export` (which prints a key per
    /// key epoch, the first first, each after a comment).
    pub fn workspace_key(&self) -> resnotes_core::format::crypto::WorkspaceKey {
        let ws: uuid::Uuid =
            self.status()["workspace_id"].as_str().expect("workspace_id").parse().expect("uuid");
        let export = self.ok(&["key", "export"]);
        let first = export.lines().find(|l| l.starts_with("AGE-SECRET-KEY-")).expect("a key");
        resnotes_core::format::crypto::WorkspaceKey::parse(first, &ws).expect("an age identity")
    }
    /// This device's clientId.
    pub fn client_id(&self) -> String {
        self.status()["client_id"].as_str().expect("client_id").to_string()
    }
}

/// A number from the environment (a long form's size or seed), else `default`.
pub fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Every file under `dir`, recursively, with its relative path.
pub fn files_under(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read dir") {
            let p = e.expect("dir entry").path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                out.push((rel, std::fs::read(&p).expect("read file")));
            }
        }
    }
    out.sort();
    out
}

/// Path of a client's change entry in a folder (1000 per level, as `index.json` says).
pub fn entry_file(folder: &Path, client: &str, index: u64, ext: &str) -> PathBuf {
    let rel = resnotes_core::format::path::entry_path(
        &client.parse().expect("uuid"),
        resnotes_core::format::path::Kind::Changes,
        index,
        1000,
        ext,
    );
    folder.join(rel)
}
pub mod dav;
pub mod garage;
pub mod proxy;
pub mod webdriver;

/// `age -d -i keys FILE` with the real `age` tool: the plaintext, or `None` when age cannot
/// open it.
pub fn age_open(keys: &Path, file: &Path) -> Option<Vec<u8>> {
    let out = std::process::Command::new("age")
        .arg("-d")
        .arg("-i")
        .arg(keys)
        .arg(file)
        .output()
        .expect("the age tool (Debian package age) must be installed");
    out.status.success().then_some(out.stdout)
}
