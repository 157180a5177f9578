//! A small HTTP/1.1 proxy for tests that stands between a client and a WebDAV server on
//! loopback and injects faults into a share of requests: latency, connection resets, 500, 503,
//! 423 and 429 (with `Retry-After`), and PUTs cut off half way; in S3 mode, `503 SlowDown` and
//! answers cut off half way. Each connection carries one
//! request (the proxy answers with `Connection: close`). Faults are drawn from a seeded
//! generator, so a run is repeatable.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Counters of what the proxy did.
#[derive(Default, Debug)]
pub struct Counts {
    /// Requests seen.
    pub requests: AtomicU64,
    /// Requests answered with an injected fault.
    pub faults: AtomicU64,
    /// PUT requests seen.
    pub puts: AtomicU64,
}

/// A running fault-injecting proxy.
pub struct FaultProxy {
    /// Base URL to use instead of the server's (same path).
    pub url: String,
    /// What happened so far.
    pub counts: Arc<Counts>,
    /// Share of requests (0–100) that get a fault.
    pub percent: Arc<AtomicU64>,
    /// Cut the next PUT after half its body.
    pub cut_next_put: Arc<AtomicBool>,
    /// Fault as an S3 store does: `503 SlowDown` with its XML body instead of `423 Locked`, and
    /// answers cut off half way (a truncated body).
    pub s3: Arc<AtomicBool>,
    /// Requests whose request line contains one of these are answered `403 Forbidden`.
    pub refuse: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    port: u16,
}

impl FaultProxy {
    /// Starts a proxy to `upstream` (`http://127.0.0.1:PORT/path/`) faulting `percent` % of
    /// requests, with a seed for the fault sequence.
    pub fn start(upstream: &str, percent: u64, seed: u64) -> FaultProxy {
        let rest = upstream.strip_prefix("http://").expect("http upstream");
        let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
        let upstream_addr = host.to_string();
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        let counts = Arc::new(Counts::default());
        let stop = Arc::new(AtomicBool::new(false));
        let pct = Arc::new(AtomicU64::new(percent));
        let cut = Arc::new(AtomicBool::new(false));
        let s3 = Arc::new(AtomicBool::new(false));
        let refuse: Arc<Mutex<Vec<String>>> = Arc::default();
        let rng = Arc::new(Mutex::new(seed.max(1)));
        {
            let (counts, stop, pct, cut, rng, s3, refuse) = (
                counts.clone(),
                stop.clone(),
                pct.clone(),
                cut.clone(),
                rng.clone(),
                s3.clone(),
                refuse.clone(),
            );
            std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    match listener.accept() {
                        Ok((client, _)) => {
                            let (counts, pct, cut, rng, up) = (
                                counts.clone(),
                                pct.clone(),
                                cut.clone(),
                                rng.clone(),
                                upstream_addr.clone(),
                            );
                            let s3 = s3.load(Ordering::SeqCst);
                            let refuse = refuse.lock().unwrap().clone();
                            std::thread::spawn(move || {
                                let faults = Faults { pct: &pct, cut: &cut, rng: &rng, s3, refuse };
                                let _ = handle(client, &up, &counts, &faults);
                            });
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(5)),
                    }
                }
            });
        }
        FaultProxy {
            url: format!("http://127.0.0.1:{port}/{path}"),
            counts,
            percent: pct,
            cut_next_put: cut,
            s3,
            refuse,
            stop,
            port,
        }
    }

    /// The proxy's port.
    pub fn port(&self) -> u16 {
        self.port
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn next(rng: &Mutex<u64>) -> u64 {
    let mut x = rng.lock().unwrap();
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *x
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// What a connection may meet.
struct Faults<'a> {
    pct: &'a AtomicU64,
    cut: &'a AtomicBool,
    rng: &'a Mutex<u64>,
    s3: bool,
    refuse: Vec<String>,
}

fn handle(
    mut client: TcpStream,
    upstream: &str,
    counts: &Counts,
    faults: &Faults,
) -> std::io::Result<()> {
    let Faults { pct, cut, rng, s3, .. } = *faults;
    client.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16384];
    let head_end = loop {
        if let Some(i) = find(&buf, b"\r\n\r\n") {
            break i + 4;
        }
        let n = client.read(&mut chunk)?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let len: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().parse().unwrap_or(0))
        })
        .unwrap_or(0);
    while buf.len() < head_end + len {
        let n = client.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    counts.requests.fetch_add(1, Ordering::SeqCst);
    let is_put = head.starts_with("PUT ");
    if is_put {
        counts.puts.fetch_add(1, Ordering::SeqCst);
    }
    let request_line = head.lines().next().unwrap_or("");
    if faults.refuse.iter().any(|r| request_line.contains(r.as_str())) {
        counts.faults.fetch_add(1, Ordering::SeqCst);
        client.write_all(
            b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        )?;
        return Ok(());
    }
    // Rewrite the head: one request per upstream connection.
    let mut new_head = String::new();
    for line in head.trim_end().lines() {
        if !line.to_ascii_lowercase().starts_with("connection:") {
            new_head.push_str(line);
            new_head.push_str("\r\n");
        }
    }
    new_head.push_str("Connection: close\r\n\r\n");
    let body = &buf[head_end..];

    if is_put && cut.swap(false, Ordering::SeqCst) {
        counts.faults.fetch_add(1, Ordering::SeqCst);
        let mut up = TcpStream::connect(upstream)?;
        up.write_all(new_head.as_bytes())?;
        up.write_all(&body[..body.len() / 2])?;
        let _ = up.shutdown(Shutdown::Both);
        let _ = client.shutdown(Shutdown::Both);
        return Ok(());
    }
    let roll = next(rng) % 100;
    if roll < pct.load(Ordering::SeqCst) {
        counts.faults.fetch_add(1, Ordering::SeqCst);
        let reply = |status: &str, extra: &str| {
            format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\n{extra}Connection: close\r\n\r\n")
        };
        match next(rng) % if s3 { 7 } else { 6 } {
            0 => {
                let _ = client.shutdown(Shutdown::Both); // connection reset
                return Ok(());
            }
            1 => client.write_all(reply("503 Service Unavailable", "").as_bytes())?,
            2 => client.write_all(reply("500 Internal Server Error", "").as_bytes())?,
            3 if s3 => {
                let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>";
                client.write_all(
                    format!("HTTP/1.1 503 Slow Down\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len())
                        .as_bytes(),
                )?
            }
            3 => client.write_all(reply("423 Locked", "Retry-After: 1\r\n").as_bytes())?,
            6 => {
                // The real answer, cut off half way through its body.
                let mut up = TcpStream::connect(upstream)?;
                up.write_all(new_head.as_bytes())?;
                up.write_all(body)?;
                let mut resp = Vec::new();
                up.read_to_end(&mut resp)?;
                let head_len = find(&resp, b"\r\n\r\n").map_or(resp.len(), |i| i + 4);
                let keep = head_len + (resp.len() - head_len) / 2;
                client.write_all(&resp[..keep])?;
                let _ = client.shutdown(Shutdown::Both);
            }
            4 => {
                client.write_all(reply("429 Too Many Requests", "Retry-After: 1\r\n").as_bytes())?
            }
            _ => {
                std::thread::sleep(Duration::from_millis(300)); // latency, then the real answer
                return forward(client, upstream, &new_head, body);
            }
        }
        return Ok(());
    }
    forward(client, upstream, &new_head, body)
}

fn forward(mut client: TcpStream, upstream: &str, head: &str, body: &[u8]) -> std::io::Result<()> {
    let mut up = TcpStream::connect(upstream)?;
    up.write_all(head.as_bytes())?;
    up.write_all(body)?;
    let mut resp = Vec::new();
    up.read_to_end(&mut resp)?;
    client.write_all(&resp)?;
    let _ = client.shutdown(Shutdown::Both);
    Ok(())
}
