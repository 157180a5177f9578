//! Real WebDAV servers on a free loopback port for tests: Apache `mod_dav_fs` and
//! `rclone serve webdav`, both with Basic auth. Each is stopped when dropped.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// User name the test servers accept.
pub const USER: &str = "alice";
/// Password the test servers accept.
pub const PASSWORD: &str = "s3cret-dav-pass";

/// A running WebDAV server.
pub struct DavServer {
    child: Child,
    /// Base URL of the shared collection (ends with `/`).
    pub url: String,
    /// The folder on disk that the server serves (to inspect bytes).
    pub root: PathBuf,
    /// Which server it is.
    pub kind: &'static str,
    port: u16,
    conf: Option<PathBuf>,
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

fn wait_for_port(port: u16, what: &str, log: &Path) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "{what} did not start on port {port}; log:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn need(bin: &str, package: &str) {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {bin}"))
        .stdout(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(found, "{bin} is missing: install the Debian package {package} (scripts/test does)");
}

impl DavServer {
    /// Apache 2.4 with mod_dav_fs serving `<dir>/dav/` at `/dav/notes/`.
    pub fn apache(dir: &Path) -> DavServer {
        need("apache2", "apache2");
        need("htpasswd", "apache2-utils");
        let port = free_port();
        let root = dir.join("dav");
        let share = root.join("notes");
        std::fs::create_dir_all(&share).unwrap();
        let st = Command::new("htpasswd")
            .args(["-bcB", dir.join("htpasswd").to_str().unwrap(), USER, PASSWORD])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(st.success(), "htpasswd failed");
        let is_root = Command::new("id")
            .arg("-u")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
            .unwrap_or(false);
        let user_lines = if is_root {
            // Apache drops root privileges: let its user write the served folder.
            let _ = Command::new("chown")
                .args(["-R", "www-data:www-data", root.to_str().unwrap(), dir.to_str().unwrap()])
                .status();
            "User www-data\nGroup www-data\n"
        } else {
            ""
        };
        let m = "/usr/lib/apache2/modules";
        let conf = dir.join("httpd.conf");
        std::fs::write(
            &conf,
            format!(
                "ServerRoot {d}\nServerName 127.0.0.1\nListen 127.0.0.1:{port}\nPidFile {d}/httpd.pid\nErrorLog {d}/error.log\nLogLevel warn\n{user_lines}\
                 LoadModule mpm_event_module {m}/mod_mpm_event.so\nLoadModule authz_core_module {m}/mod_authz_core.so\n\
                 LoadModule authn_core_module {m}/mod_authn_core.so\nLoadModule authn_file_module {m}/mod_authn_file.so\n\
                 LoadModule auth_basic_module {m}/mod_auth_basic.so\nLoadModule authz_user_module {m}/mod_authz_user.so\n\
                 LoadModule dav_module {m}/mod_dav.so\nLoadModule dav_fs_module {m}/mod_dav_fs.so\n\
                 CustomLog {d}/access.log common\nDavLockDB {d}/davlock\nDocumentRoot {r}\nKeepAlive On\nMaxKeepAliveRequests 0\nLimitRequestBody 0\n\
                 <Directory {r}>\n  Dav On\n  AuthType Basic\n  AuthName dav\n  AuthUserFile {d}/htpasswd\n  Require valid-user\n</Directory>\n",
                d = dir.display(),
                r = root.display(),
            ),
        )
        .unwrap();
        let child = Command::new("apache2")
            .args(["-f", conf.to_str().unwrap(), "-DFOREGROUND"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start apache2");
        wait_for_port(port, "apache2", &dir.join("error.log"));
        DavServer {
            child,
            url: format!("http://127.0.0.1:{port}/notes/"),
            root: share,
            kind: "apache",
            port,
            conf: Some(conf),
        }
    }

    /// `rclone serve webdav` serving `<dir>/rclone/`.
    pub fn rclone(dir: &Path) -> DavServer {
        need("rclone", "rclone");
        let port = free_port();
        let root = dir.join("rclone");
        std::fs::create_dir_all(&root).unwrap();
        let log = dir.join("rclone.log");
        let child = Command::new("rclone")
            .args([
                "serve",
                "webdav",
                root.to_str().unwrap(),
                "--addr",
                &format!("127.0.0.1:{port}"),
                "--user",
                USER,
                "--pass",
                PASSWORD,
                "--log-file",
                log.to_str().unwrap(),
            ])
            .env("RCLONE_CONFIG", dir.join("rclone.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start rclone");
        wait_for_port(port, "rclone", &log);
        DavServer {
            child,
            url: format!("http://127.0.0.1:{port}/"),
            root,
            kind: "rclone",
            port,
            conf: None,
        }
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the server (to test a server that goes away mid-sync): SIGTERM, so Apache also
    /// stops its worker processes, then SIGKILL if it lingers.
    pub fn stop(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        // Wait until the port is free again.
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok()
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Requests the server has logged so far (Apache's access log).
    pub fn requests_logged(&self) -> usize {
        let Some(conf) = &self.conf else { return 0 };
        std::fs::read_to_string(conf.parent().unwrap().join("access.log"))
            .map(|s| s.lines().count())
            .unwrap_or(0)
    }

    /// Starts it again on the same port.
    pub fn restart(&mut self) {
        self.stop();
        let dir = self.root.parent().unwrap().to_path_buf();
        let child = match (&self.conf, self.kind) {
            (Some(conf), _) => {
                let dir = conf.parent().unwrap();
                let _ = std::fs::remove_file(dir.join("httpd.pid"));
                Command::new("apache2")
                    .args(["-f", conf.to_str().unwrap(), "-DFOREGROUND"])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .expect("restart apache2")
            }
            _ => Command::new("rclone")
                .args([
                    "serve",
                    "webdav",
                    self.root.to_str().unwrap(),
                    "--addr",
                    &format!("127.0.0.1:{}", self.port),
                    "--user",
                    USER,
                    "--pass",
                    PASSWORD,
                ])
                .env("RCLONE_CONFIG", dir.join("rclone.conf"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("restart rclone"),
        };
        self.child = child;
        wait_for_port(self.port, self.kind, &dir.join("error.log"));
    }
}

impl Drop for DavServer {
    fn drop(&mut self) {
        self.stop();
    }
}
