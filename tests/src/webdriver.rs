//! Drives the built desktop app over WebDriver: `tauri-driver` (which runs Debian's
//! `WebKitWebDriver`) starts the real `resilient-notes` binary on a data dir of its own. Needs an
//! X display (`xvfb-run`), `tauri-driver` on PATH or in ~/.cargo/bin, and WebKitWebDriver.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{json, Value};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// The app binary: `RESNOTES_APP_BIN`, or `target/<profile>/resilient-notes` beside this test.
pub fn app_bin() -> PathBuf {
    if let Ok(p) = std::env::var("RESNOTES_APP_BIN") {
        return PathBuf::from(p);
    }
    let p = crate::bin().with_file_name("resilient-notes");
    assert!(p.exists(), "{} is missing: build the UI (npm run build in ui/) and run `cargo build --workspace` first", p.display());
    p
}

fn tauri_driver() -> PathBuf {
    if let Ok(p) = std::env::var("TAURI_DRIVER") {
        return PathBuf::from(p);
    }
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default();
    let candidates =
        [home.join(".cargo/bin/tauri-driver"), PathBuf::from("/usr/local/bin/tauri-driver")];
    candidates.into_iter().find(|p| p.exists()).unwrap_or_else(|| PathBuf::from("tauri-driver"))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// Where screenshots go: `target/e2e-screenshots/`.
pub fn screenshot_dir() -> PathBuf {
    let d =
        crate::bin().parent().and_then(Path::parent).expect("target dir").join("e2e-screenshots");
    std::fs::create_dir_all(&d).expect("screenshot dir");
    d
}

/// One running app instance with its WebDriver session.
pub struct App {
    driver: Child,
    base: String,
    session: String,
    http: reqwest::blocking::Client,
    name: String,
    log: PathBuf,
    launched: std::time::SystemTime,
}

impl App {
    /// Starts the app on `data_dir` with extra environment variables.
    pub fn start(name: &str, data_dir: &Path, env: &[(&str, &str)]) -> App {
        App::start_binary(name, &app_bin(), &[], data_dir, env)
    }

    /// Starts `application` with `args` (e.g. the app a package installed, as its desktop entry
    /// names it) on `data_dir` with extra environment variables.
    pub fn start_binary(
        name: &str,
        application: &Path,
        args: &[String],
        data_dir: &Path,
        env: &[(&str, &str)],
    ) -> App {
        assert!(
            std::env::var_os("DISPLAY").is_some(),
            "no X display: run the app tests under xvfb-run (scripts/test does)"
        );
        let port = free_port();
        let native = free_port();
        let log = std::env::temp_dir().join(format!("tauri-driver-{name}-{port}.log"));
        let log_file = std::fs::File::create(&log).expect("driver log");
        let mut cmd = Command::new(tauri_driver());
        cmd.args(["--port", &port.to_string(), "--native-port", &native.to_string()])
            .env("RESNOTES_DATA_DIR", data_dir)
            .env("RESNOTES_TEST_ONLY_WEAK_SCRYPT_LOG_N", "10")
            .env("RESNOTES_NO_KEYRING", "1")
            // The webview's storage (the app's preferences) beside the data dir: each scenario
            // starts with the defaults, and a restart on the same data dir keeps them.
            .env("XDG_DATA_HOME", data_dir.with_extension("webview"))
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().expect("log"))
            .stderr(log_file);
        // Its own process group, so that stopping it also stops the WebKitWebDriver it starts.
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let driver = cmd.spawn().unwrap_or_else(|e| panic!("cannot start tauri-driver ({e}): install it with `cargo install tauri-driver --locked`"));
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("http client");
        let base = format!("http://127.0.0.1:{port}");
        let mut app = App {
            driver,
            base,
            session: String::new(),
            http,
            name: name.into(),
            log,
            launched: std::time::SystemTime::now(),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while !app
            .http
            .get(format!("{}/status", app.base))
            .send()
            .is_ok_and(|r| r.status().is_success())
        {
            assert!(
                Instant::now() < deadline,
                "tauri-driver did not answer within 30 s; its log:\n{}",
                app.driver_log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let caps = json!({"capabilities": {"alwaysMatch": {"browserName": "wry", "tauri:options": {"application": application, "args": args}}}});
        app.launched = std::time::SystemTime::now();
        let v = app.raw("POST", "/session", Some(caps)).unwrap_or_else(|e| {
            panic!("cannot start a session: {e}; driver log:\n{}", app.driver_log())
        });
        app.session = v["sessionId"].as_str().expect("sessionId").to_string();
        // The list painted by the page's script (the empty list's line is in the page, hidden,
        // before the script runs: a scenario reading the window then saw the defaults).
        app.wait_for("#notes-empty:not([hidden]), #notes li");
        app
    }

    /// When the session that starts the app was requested (the app benchmark's start figure).
    pub fn launched(&self) -> std::time::SystemTime {
        self.launched
    }

    /// The process id of tauri-driver: the app and its WebKit processes are its descendants.
    pub fn driver_pid(&self) -> u32 {
        self.driver.id()
    }

    /// tauri-driver's log so far.
    pub fn driver_log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn raw(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
        let url = format!("{}{path}", self.base);
        let req = match method {
            "GET" => self.http.get(url),
            "DELETE" => self.http.delete(url),
            _ => self
                .http
                .post(url)
                .header("content-type", "application/json")
                .body(body.unwrap_or(json!({})).to_string()),
        };
        let resp = req.send().map_err(|e| e.to_string())?;
        let ok = resp.status().is_success();
        let v: Value = serde_json::from_str(&resp.text().map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
        if ok {
            Ok(v["value"].clone())
        } else {
            Err(format!("{}: {}", v["value"]["error"], v["value"]["message"]))
        }
    }

    fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let p = format!("/session/{}{path}", self.session);
        self.raw(method, &p, body)
            .unwrap_or_else(|e| panic!("[{}] WebDriver {method} {path} failed: {e}", self.name))
    }

    /// Runs JavaScript in the window and returns its value.
    pub fn js(&self, script: &str, args: Value) -> Value {
        self.cmd("POST", "/execute/sync", Some(json!({"script": script, "args": args})))
    }

    /// Resizes the window (the app's minimum is 640 × 400).
    pub fn set_window_size(&self, width: u32, height: u32) {
        self.cmd("POST", "/window/rect", Some(json!({"width": width, "height": height})));
        std::thread::sleep(Duration::from_millis(300));
    }

    /// The first element matching `css`, if any.
    pub fn find(&self, css: &str) -> Option<String> {
        let p = format!("/session/{}/elements", self.session);
        let v = self.raw("POST", &p, Some(json!({"using": "css selector", "value": css}))).ok()?;
        v.as_array()?.first()?.get(ELEMENT)?.as_str().map(str::to_string)
    }

    /// Waits up to 10 s for an element.
    pub fn wait_for(&self, css: &str) -> String {
        let mut found = None;
        self.wait_until(Duration::from_secs(10), &format!("element {css}"), || {
            found = self.find(css);
            found.is_some()
        });
        found.expect("found")
    }

    /// Polls `cond` until it holds; panics with `what` and a screenshot after `timeout`.
    pub fn wait_until(
        &self,
        timeout: Duration,
        what: &str,
        mut cond: impl FnMut() -> bool,
    ) -> Duration {
        let start = Instant::now();
        loop {
            if cond() {
                return start.elapsed();
            }
            if start.elapsed() > timeout {
                let shot = self.screenshot(&format!(
                    "timeout-{}",
                    what.chars().filter(|c| c.is_alphanumeric()).take(40).collect::<String>()
                ));
                // What the user would see as an error, and what the app printed: a failure on
                // a CI machine leaves no screenshot to look at, only this message.
                let toast = self.text("#toast");
                let log = self.driver_log();
                let tail: Vec<&str> = log.lines().rev().take(30).collect();
                panic!(
                    "[{}] waited {timeout:?} for {what}; screenshot {}; toast: {toast:?}; \
                     app log (last lines, newest first):\n{}",
                    self.name,
                    shot.display(),
                    tail.join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Clicks an element. A list re-rendered between finding and clicking (remote notes
    /// arriving) makes the found element stale, and a panel that has just opened may not be
    /// laid out yet on a busy machine: it is looked up and tried again for up to ~5 s.
    pub fn click(&self, css: &str) {
        for attempt in 0..50 {
            let e = self.wait_for(css);
            let p = format!("/session/{}/element/{e}/click", self.session);
            match self.raw("POST", &p, Some(json!({}))) {
                Ok(_) => return,
                Err(err)
                    if (err.contains("stale element") || err.contains("not interactable"))
                        && attempt < 49 =>
                {
                    std::thread::sleep(Duration::from_millis(100))
                }
                Err(err) => panic!("[{}] WebDriver click on {css} failed: {err}", self.name),
            }
        }
    }

    /// Opens the sync panel with a click on its indicator in the toolbar, as a person does, and
    /// waits until it shows. The indicator's text (and so the toolbar's layout) changes with the
    /// sync state, so a click can land beside it on a busy machine: it is clicked again while
    /// the panel stays closed, for up to ~20 s (never while it is open: a click would close it).
    pub fn open_sync_panel(&self) {
        let open = || self.find("#sync-panel:not([hidden])").is_some();
        for _ in 0..10 {
            if open() {
                return;
            }
            self.click("#sync-indicator");
            let deadline = std::time::Instant::now() + Duration::from_secs(2);
            while std::time::Instant::now() < deadline {
                if open() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        panic!("[{}] the sync panel did not open after 10 clicks on its indicator", self.name);
    }

    /// Presses keys as a person would, into whatever has the focus (WebDriver actions; key codes
    /// allowed, e.g. `\u{E009}` for Control). `chord` keys are held while `keys` are pressed.
    pub fn press(&self, chord: &[&str], keys: &str) {
        let mut actions = Vec::new();
        for k in chord {
            actions.push(json!({"type": "keyDown", "value": k}));
        }
        for c in keys.chars() {
            actions.push(json!({"type": "keyDown", "value": c.to_string()}));
            actions.push(json!({"type": "keyUp", "value": c.to_string()}));
        }
        for k in chord.iter().rev() {
            actions.push(json!({"type": "keyUp", "value": k}));
        }
        let body = json!({"actions": [{"type": "key", "id": "keyboard", "actions": actions}]});
        self.cmd("POST", "/actions", Some(body));
        self.cmd("DELETE", "/actions", None);
    }

    /// Types into an element (WebDriver key codes allowed, e.g. `\u{E010}` for End).
    pub fn type_into(&self, css: &str, text: &str) {
        let e = self.wait_for(css);
        self.cmd("POST", &format!("/element/{e}/value"), Some(json!({"text": text})));
    }

    /// Visible text of an element ("" when absent).
    pub fn text(&self, css: &str) -> String {
        self.js(
            "const e = document.querySelector(arguments[0]); return e ? e.innerText : '';",
            json!([css]),
        )
        .as_str()
        .unwrap_or_default()
        .to_string()
    }

    /// The value of an input.
    pub fn value(&self, css: &str) -> String {
        self.js(
            "const e = document.querySelector(arguments[0]); return e ? e.value : '';",
            json!([css]),
        )
        .as_str()
        .unwrap_or_default()
        .to_string()
    }

    /// The markdown editor's text.
    pub fn editor_text(&self) -> String {
        // An attachment shown as a chip reads as its markdown (chips.ts keeps it on the chip).
        self.js("return Array.from(document.querySelectorAll('#editor .cm-line')).map(l => { if (l.querySelector('.cm-placeholder')) return ''; const c = l.cloneNode(true); c.querySelectorAll('.cm-asset-chip').forEach(x => x.replaceWith(x.dataset.markdown)); return c.textContent; }).join('\\n');", json!([])).as_str().unwrap_or_default().to_string()
    }

    /// Titles in the notes list, top to bottom.
    pub fn list_titles(&self) -> Vec<String> {
        let v = self.js("return Array.from(document.querySelectorAll('#notes li .title')).map(e => e.textContent);", json!([]));
        v.as_array()
            .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect())
            .unwrap_or_default()
    }

    /// Saves a screenshot as `target/e2e-screenshots/<app>-<name>.png` and returns its path.
    pub fn screenshot(&self, name: &str) -> PathBuf {
        let path = screenshot_dir().join(format!("{}-{name}.png", self.name));
        if let Some(b64) = self
            .raw("GET", &format!("/session/{}/screenshot", self.session), None)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
        {
            if let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(b64) {
                let _ = std::fs::write(&path, bytes);
            }
        }
        path
    }

    /// Ends the session (the app exits) and stops tauri-driver.
    pub fn quit(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        if !self.session.is_empty() {
            let _ = self.raw("DELETE", &format!("/session/{}", self.session), None);
            self.session.clear();
        }
        // The whole group: tauri-driver and the WebKitWebDriver it started.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.driver.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for App {
    fn drop(&mut self) {
        self.stop();
    }
}
