//! Real Garage S3 stores on loopback for tests: one node, or a cluster of three that keeps
//! every object on all three (replication factor 3, so two nodes are a quorum). Each node is a
//! `garage server` process with its own config, ports and folders; the cluster is set up with
//! Garage's own commands (`node connect`, `layout assign`/`apply`, `bucket create`,
//! `key create`, `bucket allow`). Nodes are stopped when dropped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::dav::free_port;

/// The region Garage signs for (its `s3_region`).
pub const REGION: &str = "garage";
/// The bucket the tests sync through.
pub const BUCKET: &str = "notes";

/// One `garage server` process.
struct Node {
    child: Option<Child>,
    config: PathBuf,
    dir: PathBuf,
    rpc_port: u16,
    s3_port: u16,
}

/// A running Garage cluster with a bucket and a key that may read and write it.
pub struct Garage {
    nodes: Vec<Node>,
    /// Access key id of the test key.
    pub key_id: String,
    /// Its secret key.
    pub secret: String,
}

fn garage_bin() -> String {
    let found = Command::new("sh")
        .arg("-c")
        .arg("command -v garage")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(found, "garage is missing: scripts/deps test installs it (cargo install garage)");
    "garage".into()
}

impl Node {
    fn start(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("server.log"))
            .unwrap();
        let child = Command::new(garage_bin())
            .args(["-c", self.config.to_str().unwrap(), "server"])
            .env("RUST_LOG", "garage=warn")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start garage");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        for port in [self.rpc_port, self.s3_port] {
            while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
                assert!(
                    Instant::now() < deadline,
                    "garage did not start on port {port}; log:\n{}",
                    std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }

    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Runs `garage -c <config> ARGS` against this node; panics with its output on failure.
    fn admin(&self, args: &[&str]) -> String {
        let out: Output = Command::new(garage_bin())
            .arg("-c")
            .arg(&self.config)
            .args(args)
            .output()
            .expect("run garage");
        assert!(
            out.status.success(),
            "garage {args:?} failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Garage {
    /// One node (replication factor 1).
    pub fn single(dir: &Path) -> Garage {
        Garage::cluster(dir, 1)
    }

    /// `n` nodes (1 or 3) on loopback, every object on each of them; a bucket [`BUCKET`] and a
    /// key allowed to read and write it.
    pub fn cluster(dir: &Path, n: usize) -> Garage {
        let secret: String = (0..32).map(|_| format!("{:02x}", fastrand::u8(..))).collect();
        let mut nodes: Vec<Node> = (0..n)
            .map(|i| {
                let d = dir.join(format!("garage-{i}"));
                std::fs::create_dir_all(&d).unwrap();
                let (rpc_port, s3_port) = (free_port(), free_port());
                let config = d.join("garage.toml");
                std::fs::write(
                    &config,
                    format!(
                        // Blocks stored uncompressed, so a leak of plaintext would be found.
                        "metadata_dir = \"{d}/meta\"\ndata_dir = \"{d}/data\"\ndb_engine = \"sqlite\"\n\
                         compression_level = \"none\"\n\
                         replication_factor = {n}\nrpc_bind_addr = \"127.0.0.1:{rpc_port}\"\n\
                         rpc_public_addr = \"127.0.0.1:{rpc_port}\"\nrpc_secret = \"{secret}\"\n\n\
                         [s3_api]\ns3_region = \"{REGION}\"\napi_bind_addr = \"127.0.0.1:{s3_port}\"\n\
                         root_domain = \".s3.garage.localhost\"\n",
                        d = d.display()
                    ),
                )
                .unwrap();
                Node { child: None, config, dir: d, rpc_port, s3_port }
            })
            .collect();
        for node in &mut nodes {
            node.start();
        }
        let ids: Vec<String> =
            nodes.iter().map(|node| node.admin(&["node", "id", "-q"]).trim().to_string()).collect();
        for id in &ids[1..] {
            nodes[0].admin(&["node", "connect", id]);
        }
        for id in &ids {
            let short = id.split('@').next().unwrap();
            // Every node must see the others before the layout names them.
            let deadline = Instant::now() + Duration::from_secs(30);
            while !nodes[0].admin(&["status"]).contains(&short[..16]) {
                assert!(Instant::now() < deadline, "node {short} did not join the cluster");
                std::thread::sleep(Duration::from_millis(200));
            }
            nodes[0].admin(&["layout", "assign", "-z", "dc1", "-c", "1G", short]);
        }
        nodes[0].admin(&["layout", "apply", "--version", "1"]);
        nodes[0].admin(&["bucket", "create", BUCKET]);
        let key = nodes[0].admin(&["key", "create", "test-key"]);
        let field = |name: &str| {
            key.lines()
                .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_string()))
                .unwrap_or_else(|| panic!("no {name} in garage's answer:\n{key}"))
        };
        let (key_id, secret) = (field("Key ID:"), field("Secret key:"));
        nodes[0].admin(&[
            "bucket", "allow", "--read", "--write", "--owner", BUCKET, "--key", "test-key",
        ]);
        Garage { nodes, key_id, secret }
    }

    /// The S3 endpoint of node `i` (`http://127.0.0.1:PORT`).
    pub fn endpoint(&self, i: usize) -> String {
        format!("http://127.0.0.1:{}", self.nodes[i].s3_port)
    }

    /// The `s3://` address of `prefix` in the bucket, through node `i`'s endpoint.
    pub fn url(&self, i: usize, prefix: &str) -> String {
        format!("s3://{BUCKET}/{prefix}?endpoint={}&region={REGION}", self.endpoint(i))
    }

    /// The same through another endpoint (a proxy in front of a node).
    pub fn url_via(&self, endpoint: &str, prefix: &str) -> String {
        format!("s3://{BUCKET}/{prefix}?endpoint={endpoint}&region={REGION}")
    }

    /// Kills node `i` after `delay`, from another thread (while a sync runs); [`Garage::stop`]
    /// then reaps it.
    pub fn kill_later(&self, i: usize, delay: Duration) -> std::thread::JoinHandle<()> {
        let pid = self.nodes[i].child.as_ref().expect("node running").id().to_string();
        std::thread::spawn(move || {
            std::thread::sleep(delay);
            let _ = Command::new("kill").args(["-KILL", &pid]).status();
        })
    }

    /// Stops node `i` (kill, as a crash or a power cut).
    pub fn stop(&mut self, i: usize) {
        self.nodes[i].stop();
    }

    /// Starts node `i` again with its data, and waits until it answers S3 requests (a node
    /// answers 503 until it has found the others again).
    pub fn start(&mut self, i: usize) {
        self.nodes[i].start();
        let t = resnotes_core::transport::S3::new(
            &self.url(i, ""),
            Some(self.key_id.clone()),
            Some(self.secret.clone()),
        )
        .unwrap();
        let deadline = Instant::now() + Duration::from_secs(120);
        while let Err(e) = resnotes_core::transport::Transport::check(&t) {
            assert!(Instant::now() < deadline, "garage node {i} did not come back: {e}");
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    /// Folders where node `i` keeps data and metadata (to look for leaked plaintext).
    pub fn storage(&self, i: usize) -> PathBuf {
        self.nodes[i].dir.clone()
    }

    /// Runs a `garage` admin command on node `i`.
    pub fn admin(&self, i: usize, args: &[&str]) -> String {
        self.nodes[i].admin(args)
    }
}

impl Drop for Garage {
    fn drop(&mut self) {
        for n in &mut self.nodes {
            n.stop();
        }
    }
}
