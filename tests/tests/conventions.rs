//! The command line as shells, manuals and scripts expect it: completions that bash really
//! completes with, manual pages `man` really renders, `--version`, and exit statuses written
//! down where `--help` and the manual show them.

use std::process::Command;

use resnotes_e2e::bin;

/// Runs `resnotes args…`; its standard output (it must succeed).
fn resnotes(args: &[&str]) -> String {
    let out = Command::new(bin()).args(args).output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn bash_completes_commands_and_options_with_the_generated_script() {
    let script = resnotes(&["completions", "bash"]);
    // As bash calls a completion function: (command, word being completed, word before).
    let probe = format!(
        "{script}\n\
         COMP_WORDS=(resnotes imp); COMP_CWORD=1; _resnotes resnotes imp resnotes; echo \"${{COMPREPLY[*]}}\"\n\
         COMP_WORDS=(resnotes import --d); COMP_CWORD=2; _resnotes resnotes --d import; echo \"${{COMPREPLY[*]}}\"\n\
         COMP_WORDS=(resnotes completions f); COMP_CWORD=2; _resnotes resnotes f completions; echo \"${{COMPREPLY[*]}}\"\n"
    );
    let out = Command::new("bash").arg("-c").arg(probe).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(lines[0], "import");
    let options: Vec<&str> = lines[1].split(' ').collect();
    assert!(options.contains(&"--dry-run") && options.contains(&"--data-dir"), "{text}");
    assert_eq!(lines[2], "fish");
    for shell in ["zsh", "fish"] {
        let script = resnotes(&["completions", shell]);
        assert!(script.contains("resnotes") && script.contains("import"), "{shell}");
    }
    // Cut short by its reader: no panic, no error.
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!("'{}' completions bash | head -1", bin().display()))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "_resnotes() {\n");
    assert!(out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn the_manual_pages_render_with_man() {
    let page = resnotes(&["man"]);
    assert!(page.contains(".TH resnotes 1"), "{page}");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("man1");
    resnotes(&["man", "--dir", dir.to_str().unwrap()]);
    for name in ["resnotes.1", "resnotes-import.1", "resnotes-target-add.1", "resnotes-sync.1"] {
        assert!(dir.join(name).exists(), "{name}");
    }
    // Rendered by man as a person reads it: the exit statuses are in the main page, each
    // command's options in its own.
    let render = |file: &str| {
        let out = Command::new("man")
            .args(["-l", "-P", "cat"])
            .arg(dir.join(file))
            .env("MANWIDTH", "100")
            .output()
            .expect("man (Debian's man-db) is installed by scripts/deps test");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let main = render("resnotes.1");
    assert!(main.contains("Exit status:") && main.contains("resnotes-import(1)"), "{main}");
    let import = render("resnotes-import.1");
    assert!(import.contains("--dry-run") && import.contains("Evernote"), "{import}");
}

#[test]
fn version_names_the_program_and_its_version() {
    let v = resnotes(&["--version"]);
    assert_eq!(v.trim(), format!("resnotes {}", env!("CARGO_PKG_VERSION")));
}

/// At a terminal, a sync says what it is doing on one line that it clears before its report;
/// with `--quiet`, or off a terminal, only the report shows.
#[test]
fn sync_at_a_terminal_shows_what_it_does_then_its_report() {
    let sb = resnotes_e2e::Sandbox::new();
    let shared = sb.folder("shared");
    let a = sb.device("a");
    a.ok(&["init", "--folder", shared.to_str().unwrap()]);
    let id = a.new_note("Trip", "pack");
    let file = sb.path().join("photo.bin");
    std::fs::write(&file, vec![7u8; 300_000]).unwrap();
    a.ok(&["attach", &id, file.to_str().unwrap()]);
    // `script` gives the command a terminal and records what it wrote there.
    let at_terminal = |args: &str| {
        let mut script = Command::new("script");
        let device = a.cmd(&[]);
        for (k, v) in device.get_envs() {
            match v {
                Some(v) => script.env(k, v),
                None => script.env_remove(k),
            };
        }
        let line = format!("'{}' {args}", bin().display());
        let out = script.args(["-qec", &line, "/dev/null"]).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let shown = at_terminal("sync");
    assert!(shown.contains("Sending entries"), "{shown:?}");
    assert!(shown.contains("Uploading photo.bin"), "{shown:?}");
    assert!(shown.contains("pushed 1"), "{shown:?}");
    a.new_note("More", "text");
    let quiet = at_terminal("sync --quiet");
    assert!(!quiet.contains("Sending") && !quiet.contains('\u{1b}'), "{quiet:?}");
    assert!(quiet.contains("pushed 1"), "{quiet:?}");
}

/// `sync --json` prints each target's outcome on stdout for scripts, notes and attachments
/// apart; the exit status is the same as without it.
#[test]
fn sync_json_reports_each_target() {
    let sb = resnotes_e2e::Sandbox::new();
    let shared = sb.folder("shared");
    let a = sb.device("a");
    a.ok(&["init", "--folder", shared.to_str().unwrap()]);
    a.new_note("One", "text");
    let v: serde_json::Value =
        serde_json::from_str(&a.ok(&["sync", "--json", "-q"])).expect("sync --json");
    assert_eq!(v["notes"][0]["location"], shared.to_str().unwrap());
    assert_eq!(v["notes"][0]["pushed"], 1);
    assert_eq!(v["notes"][0]["error"], serde_json::Value::Null);
    assert!(v["attachments"].is_array());
}
