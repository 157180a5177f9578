//! The Debian package as a person gets it: `scripts/package --debug` bundles the build the other
//! tests use (no second, release, build), apt installs the .deb into this machine, and what it
//! installed works where a desktop and a shell look for it; apt removes it all again. Needs root
//! or password-less sudo (CI runs as root), Xvfb, tauri-driver and WebKitWebDriver.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use resnotes_e2e::webdriver::App;

const VERSION: &str = env!("CARGO_PKG_VERSION");
const PACKAGE: &str = "resilient-notes";

/// The prefix that runs a command as root: nothing as root, else `sudo -n`.
fn as_root() -> Vec<String> {
    let uid = Command::new("id").arg("-u").output().expect("id -u");
    if String::from_utf8_lossy(&uid.stdout).trim() == "0" {
        return Vec::new();
    }
    let sudo = Command::new("sudo").args(["-n", "true"]).output();
    if sudo.is_ok_and(|o| o.status.success()) {
        return vec!["sudo".into(), "-n".into()];
    }
    panic!("installing the .deb needs root or password-less sudo (`sudo -n`): run this test as root, as CI does");
}

/// `apt-get args…` as root, without questions.
fn apt_get_cmd(root: &[String], args: &[&str]) -> Command {
    let mut cmd = Command::new(root.first().map_or("env", String::as_str));
    if !root.is_empty() {
        cmd.args(&root[1..]).arg("env");
    }
    cmd.args(["DEBIAN_FRONTEND=noninteractive", "apt-get", "-o", "DPkg::Lock::Timeout=600"])
        .args(args);
    cmd
}

/// Runs `apt-get args…` as root; its output, or a panic that shows it.
fn apt_get(root: &[String], args: &[&str]) -> String {
    let out = apt_get_cmd(root, args).output().expect("apt-get");
    let text =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "apt-get {args:?} failed:\n{text}");
    text
}

/// The installed package, removed when the test ends (also when it fails half-way).
struct Installed {
    root: Vec<String>,
    removed: bool,
}

impl Installed {
    fn remove(&mut self) {
        self.removed = true;
        apt_get(&self.root, &["remove", "-y", PACKAGE]);
    }
}

impl Drop for Installed {
    fn drop(&mut self) {
        // The test failed before its own removal: remove without a panic (one here would abort).
        if !self.removed {
            let _ = apt_get_cmd(&self.root, &["remove", "-y", PACKAGE]).output();
        }
    }
}

/// The `[Desktop Entry]` value of `key` in a desktop file.
fn desktop_value<'a>(entry: &'a str, key: &str) -> &'a str {
    entry
        .lines()
        .skip_while(|l| l.trim() != "[Desktop Entry]")
        .take_while(|l| !l.starts_with('[') || l.trim() == "[Desktop Entry]")
        .find_map(|l| l.strip_prefix(key)?.trim_start().strip_prefix('='))
        .map(str::trim)
        .unwrap_or_else(|| panic!("no {key} in the desktop entry:\n{entry}"))
}

/// A command of an `Exec` line as a desktop launches it: found on PATH unless it has a slash.
fn on_path(command: &str) -> PathBuf {
    if command.contains('/') {
        return PathBuf::from(command);
    }
    let path = std::env::var("PATH").unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".into());
    std::env::split_paths(&path)
        .map(|d| d.join(command))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{command} (the desktop entry's Exec) is not on PATH {path}"))
}

/// A person installs the .deb with apt, as the README says: `/usr/bin/resnotes` is the
/// workspace's version and keeps notes, its manual pages and bash, zsh and fish completions are
/// where man and the shells look; the desktop entry (in the Office menu, with its icon at the
/// standard sizes) starts the installed app, whose window shows the note the installed CLI
/// wrote into the same data dir (screenshot: target/e2e-screenshots/installed-deb.png); and
/// `apt-get remove` takes the app, the CLI and the menu entry away again.
#[test]
fn the_deb_installs_the_app_and_the_cli_and_apt_removes_them() {
    let root = as_root();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root");
    let target =
        resnotes_e2e::bin().parent().and_then(Path::parent).expect("target dir").to_path_buf();
    let out = Command::new("timeout")
        .arg("600")
        .arg(repo.join("scripts/package"))
        .arg("--debug")
        .current_dir(repo)
        .env("CARGO_TARGET_DIR", &target)
        .output()
        .expect("scripts/package");
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "scripts/package --debug failed:\n{log}");
    assert!(log.contains("No AppImage"), "it says why there is no AppImage:\n{log}");
    let debs: Vec<PathBuf> = std::fs::read_dir(target.join("packages"))
        .expect("target/packages")
        .map(|e| e.expect("entry").path())
        .filter(|p| {
            let name = p.file_name().unwrap_or_default().to_string_lossy();
            name.starts_with(&format!("{PACKAGE}_{VERSION}_")) && name.ends_with(".deb")
        })
        .collect();
    assert_eq!(debs.len(), 1, "one {PACKAGE}_{VERSION}_<arch>.deb in target/packages: {debs:?}");
    // What apt installs with it on a machine that has never built the app.
    let control = Command::new("dpkg-deb").arg("-f").arg(&debs[0]).output().expect("dpkg-deb");
    let control = String::from_utf8_lossy(&control.stdout);
    for library in ["libwebkit2gtk-4.1-0", "libgtk-3-0", "libdbus-1-3"] {
        assert!(control.contains(library), "the package depends on {library}:\n{control}");
    }

    // `--reinstall`: a package of the same version left by an interrupted run is replaced.
    let mut installed = Installed { root: root.clone(), removed: false };
    apt_get(
        &root,
        &["install", "-y", "--reinstall", "--allow-downgrades", debs[0].to_str().unwrap()],
    );
    let listing = Command::new("dpkg").args(["-L", PACKAGE]).output().expect("dpkg -L");
    let files = String::from_utf8_lossy(&listing.stdout).into_owned();
    let files: Vec<&str> = files.lines().collect();

    // The CLI, where a shell finds it, on a data dir of its own.
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    let data = tmp.path().join("data");
    std::fs::create_dir_all(&home).unwrap();
    let xdg = |dir: &str| home.join(dir).to_string_lossy().into_owned();
    let env = [
        ("HOME", home.to_string_lossy().into_owned()),
        ("XDG_CONFIG_HOME", xdg(".config")),
        ("XDG_CACHE_HOME", xdg(".cache")),
        ("XDG_STATE_HOME", xdg(".local/state")),
    ];
    let resnotes = |args: &[&str]| {
        let out = Command::new("/usr/bin/resnotes")
            .args(args)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .env("XDG_DATA_HOME", xdg(".local/share"))
            .env("RESNOTES_DATA_DIR", &data)
            .env("RESNOTES_NO_KEYRING", "1")
            .output()
            .expect("the installed /usr/bin/resnotes");
        assert!(
            out.status.success(),
            "resnotes {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert_eq!(resnotes(&["--version"]).trim(), format!("resnotes {VERSION}"));
    resnotes(&["init"]);
    let title = "Written by the installed CLI";
    let body = "Installed with apt.";
    resnotes(&["new", "--title", title, "--body", body]);
    assert!(resnotes(&["list"]).contains(title));

    // Manual pages where man looks, completions where bash, zsh and fish load them.
    let man = Command::new("man").args(["-w", "resnotes", "resnotes-sync"]).output().unwrap();
    let pages = String::from_utf8_lossy(&man.stdout);
    assert!(man.status.success(), "{}", String::from_utf8_lossy(&man.stderr));
    assert!(pages.contains("/usr/share/man/man1/resnotes.1"), "{pages}");
    let bash = Command::new("bash")
        .arg("-c")
        .arg("source /usr/share/bash-completion/completions/resnotes && complete -p resnotes")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&bash.stdout).contains("resnotes"), "{bash:?}");
    for f in [
        "/usr/share/zsh/vendor-completions/_resnotes",
        "/usr/share/fish/vendor_completions.d/resnotes.fish",
    ] {
        assert!(files.contains(&f), "{f} is not in the package: {files:?}");
    }

    // The desktop entry: in a menu category, with its icon, and an Exec line that starts the
    // installed app.
    let desktop: Vec<&&str> = files
        .iter()
        .filter(|f| f.starts_with("/usr/share/applications/") && f.ends_with(".desktop"))
        .collect();
    assert_eq!(desktop.len(), 1, "one desktop entry: {files:?}");
    let entry = std::fs::read_to_string(desktop[0]).unwrap();
    assert_eq!(desktop_value(&entry, "Name"), "Resilient Notes");
    assert!(desktop_value(&entry, "Categories").contains("Office"), "{entry}");
    let icon = desktop_value(&entry, "Icon");
    for size in ["16x16", "32x32", "48x48", "64x64", "128x128", "256x256", "512x512"] {
        let png = format!("/usr/share/icons/hicolor/{size}/apps/{icon}.png");
        assert!(Path::new(&png).exists(), "{png}");
    }
    let mut exec = desktop_value(&entry, "Exec").split_whitespace().filter(|w| !w.starts_with('%'));
    let program = on_path(exec.next().expect("a command in Exec"));
    let args: Vec<String> = exec.map(str::to_string).collect();
    assert!(
        files.contains(&program.to_str().unwrap()),
        "Exec starts {} (not from the package)",
        program.display()
    );

    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let app = App::start_binary("installed", &program, &args, &data, &env);
    app.wait_until(Duration::from_secs(10), "the CLI's note in the installed app", || {
        app.list_titles().iter().any(|t| t == title)
    });
    // It opens, newest first, in the editor.
    app.wait_until(Duration::from_secs(10), "the note to open", || {
        app.value("#title") == title && app.editor_text() == body
    });
    let shot = app.screenshot("deb");
    app.quit();
    assert!(shot.exists(), "{}", shot.display());

    installed.remove();
    for gone in ["/usr/bin/resnotes", program.to_str().unwrap(), desktop[0]] {
        assert!(!Path::new(gone).exists(), "{gone} is still there after apt-get remove");
    }
}
