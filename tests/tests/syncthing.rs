//! A real third-party folder sync tool as the transport (RELIABILITY.md, test 9): two Syncthing
//! instances on loopback only (no discovery, relays or NAT), each syncing one device's folder
//! with the other's, temp files and `.sync-conflict-*` copies included. Notes converge and
//! nothing is lost.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use resnotes_e2e::{dav::free_port, Device, Sandbox};

struct Syncthing {
    child: Child,
    log: PathBuf,
}

impl Drop for Syncthing {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn device_id(home: &Path) -> String {
    let gen = Command::new("syncthing")
        .arg(format!("-generate={}", home.display()))
        .output()
        .expect("syncthing (Debian package syncthing) must be installed");
    assert!(gen.status.success(), "{}", String::from_utf8_lossy(&gen.stderr));
    let out = Command::new("syncthing")
        .args(["-device-id", &format!("-home={}", home.display())])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Two Syncthing instances sharing folder `fa` (first) with `fb` (second) over 127.0.0.1.
fn pair(root: &Path, fa: &Path, fb: &Path) -> (Syncthing, Syncthing) {
    let homes = [root.join("st-a"), root.join("st-b")];
    let ids: Vec<String> = homes.iter().map(|h| device_id(h)).collect();
    let ports = [free_port(), free_port()];
    let folders = [fa, fb];
    let mut out = Vec::new();
    for i in 0..2 {
        std::fs::create_dir_all(folders[i].join(".stfolder")).unwrap();
        let devices: String = (0..2)
            .map(|j| format!(r#"<device id="{}" name="d{j}" compression="metadata" introducer="false"><address>tcp://127.0.0.1:{}</address></device>"#, ids[j], ports[j]))
            .collect();
        let config = format!(
            r#"<configuration version="36">
  <folder id="notes" label="notes" path="{path}" type="sendreceive" rescanIntervalS="3" fsWatcherEnabled="true" fsWatcherDelayS="1" ignorePerms="false">
    <filesystemType>basic</filesystemType>
    <device id="{a}"></device><device id="{b}"></device>
  </folder>
  {devices}
  <gui enabled="false" tls="false"><address>127.0.0.1:0</address></gui>
  <options>
    <listenAddress>tcp://127.0.0.1:{port}</listenAddress>
    <globalAnnounceEnabled>false</globalAnnounceEnabled>
    <localAnnounceEnabled>false</localAnnounceEnabled>
    <relaysEnabled>false</relaysEnabled>
    <natEnabled>false</natEnabled>
    <urAccepted>-1</urAccepted>
    <autoUpgradeIntervalH>0</autoUpgradeIntervalH>
    <startBrowser>false</startBrowser>
    <crashReportingEnabled>false</crashReportingEnabled>
  </options>
</configuration>
"#,
            path = folders[i].display(),
            a = ids[0],
            b = ids[1],
            port = ports[i],
        );
        std::fs::write(homes[i].join("config.xml"), config).unwrap();
        let log = root.join(format!("syncthing-{i}.log"));
        let child = Command::new("syncthing")
            .args([
                &format!("-home={}", homes[i].display()),
                "-no-browser",
                "-no-restart",
                "-logflags=0",
            ])
            .env("STNOUPGRADE", "1")
            .env("STNORESTART", "1")
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(std::fs::OpenOptions::new().append(true).open(&log).unwrap())
            .spawn()
            .expect("start syncthing");
        out.push(Syncthing { child, log });
    }
    let b = out.pop().unwrap();
    let a = out.pop().unwrap();
    (a, b)
}

fn eventually(what: &str, st: &[&Syncthing], mut cond: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while !cond() {
        if start.elapsed() > Duration::from_secs(90) {
            let logs: String = st
                .iter()
                .map(|s| std::fs::read_to_string(&s.log).unwrap_or_default())
                .collect::<Vec<_>>()
                .join("\n----\n");
            panic!("waited 90 s for {what}; syncthing logs:\n{logs}");
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    start.elapsed()
}

fn titles(d: &Device) -> Vec<String> {
    let mut t: Vec<String> =
        d.list().iter().map(|n| n["title"].as_str().unwrap().to_string()).collect();
    t.sort();
    t
}

#[test]
fn two_devices_converge_through_syncthing() {
    let sb = Sandbox::new();
    let (fa, fb) = (sb.folder("folder-a"), sb.folder("folder-b"));
    let (a, b) = (sb.device("a"), sb.device("b"));
    let (sa, sbt) = pair(sb.path(), &fa, &fb);
    a.ok(&["init", "--folder", fa.to_str().unwrap()]);
    let ids: Vec<String> =
        (0..3).map(|i| a.new_note(&format!("note {i}"), &format!("body {i}"))).collect();
    assert!(a.sync().0);
    let took = eventually("index.json to reach B's folder", &[&sa, &sbt], || {
        fb.join("index.json").exists()
    });
    eprintln!("index.json reached the other folder after {took:?}");
    b.ok(&["join", "--folder", fb.to_str().unwrap()]);
    let took = eventually("B to read A's notes", &[&sa, &sbt], || {
        b.sync();
        titles(&b).len() == 3
    });
    eprintln!("A's 3 notes readable on B after {took:?}");

    // A file changed on both sides at once, and a conflict copy of an entry as Syncthing names
    // them, which Syncthing then carries to the other folder: neither disturbs the workspace.
    std::fs::write(fa.join("README.txt"), "written on A").unwrap();
    std::fs::write(fb.join("README.txt"), "written on B").unwrap();
    let entry = resnotes_e2e::files_under(&fa)
        .into_iter()
        .find(|(n, _)| n.ends_with("/0.age") && n.contains("/changes/"))
        .expect("an entry of A");
    let copy = fa.join(entry.0.replace("/0.age", "/0.sync-conflict-20261122-101010-ABCDEFG.age"));
    std::fs::write(&copy, b"not what it seems").unwrap();
    let rel = copy.strip_prefix(&fa).unwrap().to_path_buf();
    let took = eventually("the conflict copy to reach B's folder", &[&sa, &sbt], || {
        fb.join(&rel).exists()
    });
    eprintln!("conflict copy carried to B's folder after {took:?}");

    // Concurrent edits of one note on both devices, and a new note on B.
    a.ok(&["edit", &ids[0], "--body", "body 0, edited on A"]);
    b.ok(&["edit", &ids[0], "--title", "renamed on B"]);
    b.new_note("from B", "hello A");
    assert!(a.sync().0);
    assert!(b.sync().0);
    let took = eventually("both devices to converge", &[&sa, &sbt], || {
        a.sync();
        b.sync();
        let (na, nb) = (a.show(&ids[0]), b.show(&ids[0]));
        titles(&a) == titles(&b)
            && titles(&a).len() == 4
            && na["body"] == "body 0, edited on A"
            && na["title"] == "renamed on B"
            && nb["body"] == na["body"]
            && nb["title"] == na["title"]
    });
    eprintln!("converged after {took:?}");
    let conflicts = resnotes_e2e::files_under(&fa)
        .into_iter()
        .chain(resnotes_e2e::files_under(&fb))
        .filter(|(n, _)| n.contains(".sync-conflict-"))
        .count();
    eprintln!("{conflicts} .sync-conflict copies in the two folders, all ignored");
    for d in [&a, &b] {
        let st = d.status();
        assert_eq!(st["pending"].as_u64(), Some(0), "{st}");
        assert_eq!(st["targets"][0]["entry_errors"].as_array().map(Vec::len), Some(0), "{st}");
    }
    drop(sa);
    drop(sbt);
}
