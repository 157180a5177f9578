//! What the transports that speak HTTP share ([`super::WebDav`], [`super::S3`]): retrying a
//! request with backoff, reading a body within a size limit, streaming a download to a file or
//! an upload from one with progress, and running requests on a few threads at once. Each
//! transport keeps its own map from statuses to [`TransportError`]s.

use std::io::{Read, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::blocking::{Client, RequestBuilder, Response};

use super::TransportError;

/// How failed requests are retried.
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    /// Attempts in all (first try included).
    pub attempts: u32,
    /// First delay.
    pub base: Duration,
    /// Longest delay (also caps `Retry-After`).
    pub max: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy { attempts: 6, base: Duration::from_millis(200), max: Duration::from_secs(10) }
    }
}

impl RetryPolicy {
    /// Delay before attempt `n` (1-based retry number): exponential, with "full jitter" from
    /// `unit` (a random number in [0, 1) passed in, so tests control it).
    pub fn delay(&self, n: u32, unit: f64) -> Duration {
        let exp = self.base.saturating_mul(1u32 << n.min(16));
        let cap = exp.min(self.max);
        cap.mul_f64(0.5 + unit.clamp(0.0, 1.0) / 2.0)
    }
}

/// Time allowed for one attachment upload or download (the default 60 s is for entries).
pub(super) const TRANSFER_TIMEOUT: Duration = Duration::from_secs(6 * 3600);

/// Why a request failed, before it becomes a [`TransportError`].
pub(super) enum Failure {
    /// Worth retrying after the given minimum delay.
    Transient(String, Option<Duration>),
    /// Final.
    Fatal(TransportError),
}

/// The HTTP client of one target, with its retry policy and how many requests run at once.
pub(super) struct Http {
    /// Keep-alive pool shared by every request to the target.
    pub(super) client: Client,
    /// How failed requests are retried.
    pub(super) retry: RetryPolicy,
    /// Parallel requests for batches.
    pub(super) parallel: usize,
}

impl Http {
    /// A client with the timeouts every target uses; `bad` turns a build failure into the
    /// caller's error.
    pub(super) fn new(parallel: usize) -> Result<Self, String> {
        let client = Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            .pool_max_idle_per_host(8)
            .redirect(reqwest::redirect::Policy::limited(5))
            .user_agent(concat!("resilient-notes/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Http { client, retry: RetryPolicy::default(), parallel })
    }

    /// Sends a request built by `make`, retrying transient failures; `classify` maps the
    /// statuses the target's requests share, `accept` a response to a result or a failure.
    pub(super) fn send<T>(
        &self,
        location: &str,
        what: &str,
        make: impl Fn() -> RequestBuilder,
        classify: impl Fn(Response) -> Result<Response, Failure>,
        accept: impl Fn(Response) -> Result<T, Failure>,
    ) -> Result<T, TransportError> {
        let mut last = String::new();
        for attempt in 0..self.retry.attempts {
            if attempt > 0 {
                std::thread::sleep(self.retry.delay(attempt, fastrand::f64()));
            }
            let res = make()
                .send()
                .map_err(|e| Failure::Transient(describe(&e), None))
                .and_then(&classify)
                .and_then(&accept);
            match res {
                Ok(v) => return Ok(v),
                Err(Failure::Fatal(e)) => return Err(e),
                Err(Failure::Transient(msg, after)) => {
                    last = msg;
                    if let Some(after) = after {
                        std::thread::sleep(after.min(self.retry.max));
                    }
                }
            }
        }
        Err(TransportError::Unreachable {
            location: location.to_string(),
            reason: format!("{what}: {last} (gave up after {} tries)", self.retry.attempts),
        })
    }

    /// Runs `f(0..n)` on at most `parallel` threads sharing the keep-alive pool; results in
    /// order.
    pub(super) fn parallel_map<T: Send>(
        &self,
        location: &str,
        n: usize,
        f: impl Fn(usize) -> Result<T, TransportError> + Sync,
    ) -> Vec<Result<T, TransportError>> {
        let mut out: Vec<Option<Result<T, TransportError>>> = (0..n).map(|_| None).collect();
        let next = AtomicUsize::new(0);
        let slots = Mutex::new(&mut out);
        std::thread::scope(|s| {
            for _ in 0..self.parallel.min(n).max(1) {
                s.spawn(|| loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= n {
                        break;
                    }
                    let r = f(i);
                    slots.lock().unwrap()[i] = Some(r);
                });
            }
        });
        out.into_iter()
            .map(|r| {
                r.unwrap_or_else(|| {
                    Err(TransportError::Unreachable {
                        location: location.to_string(),
                        reason: "request did not run".into(),
                    })
                })
            })
            .collect()
    }
}

/// A failed request in a few words (reqwest's own messages include the URL, which for S3 holds
/// a signature).
pub(super) fn describe(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else if e.is_redirect() {
        "too many redirects"
    } else {
        "request failed"
    };
    let mut src: Option<&dyn std::error::Error> = std::error::Error::source(e);
    let mut detail = String::new();
    while let Some(s) = src {
        detail = s.to_string();
        src = s.source();
    }
    if detail.is_empty() {
        kind.to_string()
    } else {
        format!("{kind}: {detail}")
    }
}

/// The delay a `Retry-After: SECONDS` header asks for.
pub(super) fn retry_after(r: &Response) -> Option<Duration> {
    r.headers()
        .get("retry-after")?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// The `Content-Length` a response declares.
pub(super) fn length(r: &Response) -> Option<u64> {
    r.headers().get(reqwest::header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse().ok())
}

/// A response body of at most [`super::MAX_READ_BYTES`]: a bigger file is refused by its
/// declared length before it is received, or by counting while it is (no length given), so a
/// server cannot exhaust this device's memory.
pub(super) fn body_within_limit(
    location: &str,
    path: &str,
    r: Response,
) -> Result<Vec<u8>, Failure> {
    let max = super::MAX_READ_BYTES;
    let too_big = || {
        Failure::Fatal(TransportError::Failed {
            location: location.to_string(),
            op: "read",
            path: path.to_string(),
            reason: format!(
                "the file is larger than {} MiB, more than any entry can be; it was not read",
                max >> 20
            ),
        })
    };
    if r.content_length().is_some_and(|n| n > max) {
        return Err(too_big());
    }
    let mut bytes = Vec::new();
    r.take(max + 1).read_to_end(&mut bytes).map_err(|e| Failure::Transient(e.to_string(), None))?;
    if bytes.len() as u64 > max {
        return Err(too_big());
    }
    Ok(bytes)
}

/// At most this much of an error answer is read: enough for S3's `<Error>` or a server's page.
const ERROR_BODY: u64 = 64 * 1024;

/// The start of an error answer's text (a broken or hostile server's long answer is cut, never
/// read whole); empty when it cannot be read.
pub(super) fn error_text(r: Response) -> String {
    let mut bytes = Vec::new();
    let _ = r.take(ERROR_BODY).read_to_end(&mut bytes);
    String::from_utf8_lossy(&bytes).into_owned()
}

/// A response's text of at most `limit` bytes (a listing): a longer one is `too_long` before
/// more of it is read, so a server cannot exhaust this device's memory.
pub(super) fn text_within(
    r: Response,
    limit: u64,
    too_long: impl Fn() -> TransportError,
) -> Result<String, Failure> {
    let mut bytes = Vec::new();
    r.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Failure::Transient(format!("the answer broke off ({e})"), None))?;
    if bytes.len() as u64 > limit {
        return Err(Failure::Fatal(too_long()));
    }
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Streams a download's body into the local file `dest` (created or truncated), refusing more
/// than `limit` bytes; `fail` builds the errors of this side (`save`, too large).
pub(super) fn body_to_file(
    mut r: Response,
    dest: &Path,
    limit: u64,
    progress: &Mutex<&mut dyn FnMut(u64)>,
    local: impl Fn(std::io::Error) -> TransportError,
    too_large: impl Fn() -> TransportError,
) -> Result<(), Failure> {
    let mut out = std::fs::File::create(dest).map_err(|e| Failure::Fatal(local(e)))?;
    let mut buf = vec![0u8; 64 * 1024];
    let mut done = 0u64;
    loop {
        let k = r
            .read(&mut buf)
            .map_err(|e| Failure::Transient(format!("the download broke off ({e})"), None))?;
        if k == 0 {
            return Ok(());
        }
        done += k as u64;
        if done > limit {
            return Err(Failure::Fatal(too_large()));
        }
        out.write_all(&buf[..k]).map_err(|e| Failure::Fatal(local(e)))?;
        (progress.lock().unwrap())(done);
    }
}

/// An upload body: `len` bytes of the local file `src` from `offset`, reopened for every
/// attempt (should that fail now, the body fails too and the request is retried, never an empty
/// file sent in its place), adding the bytes read to each of `counters` (upload progress).
pub(super) fn file_body(
    src: &Path,
    offset: u64,
    len: u64,
    counters: &[Arc<AtomicU64>],
) -> reqwest::blocking::Body {
    let file = std::fs::File::open(src).and_then(|mut f| {
        use std::io::Seek;
        f.seek(std::io::SeekFrom::Start(offset))?;
        Ok(f.take(len))
    });
    let body = Counting { inner: file.map_err(|e| e.kind()), counters: counters.to_vec() };
    reqwest::blocking::Body::sized(body, len)
}

/// Reads the local file (or fails as opening it did), counting the bytes read.
struct Counting {
    inner: Result<std::io::Take<std::fs::File>, std::io::ErrorKind>,
    counters: Vec<Arc<AtomicU64>>,
}

impl Read for Counting {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let file = self.inner.as_mut().map_err(|kind| std::io::Error::from(*kind))?;
        let n = file.read(buf)?;
        for c in &self.counters {
            c.fetch_add(n as u64, Ordering::Relaxed);
        }
        Ok(n)
    }
}

/// Writes a new file at `path` on a server that may not honour `If-None-Match: *`: it looks
/// first, so it never overwrites different bytes (a conflict, left untouched) but repairs a
/// cut-off upload (a strict prefix of ours, replaced whole); `put(only_new)` uploads (false when
/// the server answered that a file is there: it is compared then).
pub(super) fn write_checked(
    t: &(impl super::Transport + ?Sized),
    path: &str,
    bytes: &[u8],
    put: impl Fn(bool) -> Result<bool, TransportError>,
) -> Result<super::Written, TransportError> {
    use super::Written;
    let conflict = || TransportError::Conflict { location: t.location(), path: path.to_string() };
    if let Some(existing) = t.read(path)? {
        if existing == bytes {
            return Ok(Written::AlreadyPresent);
        }
        if existing.len() < bytes.len() && bytes.starts_with(&existing) {
            put(false)?;
            return Ok(Written::Created);
        }
        return Err(conflict());
    }
    if put(true)? {
        return Ok(Written::Created);
    }
    // Someone wrote it meanwhile (412): compare.
    match t.read(path)? {
        Some(existing) if existing == bytes => Ok(Written::AlreadyPresent),
        _ => Err(conflict()),
    }
}

/// The start of a streamed upload of the local file `src` to `path`: its length and what is at
/// the path already (FORMAT.md §10.3). A longer file there is a conflict; the local file is
/// opened once, so that one that cannot be read is a local error, not an upload.
pub(super) fn upload_start(
    t: &(impl super::Transport + ?Sized),
    path: &str,
    src: &Path,
) -> Result<(u64, super::AtPath), TransportError> {
    let local = |e| super::local_failure(t, "read local copy of", path, e);
    let len = std::fs::metadata(src).map_err(local)?.len();
    let at = super::AtPath::of(t.size(path)?, len);
    if at == super::AtPath::Longer {
        return Err(TransportError::Conflict { location: t.location(), path: path.to_string() });
    }
    if at != super::AtPath::SameLength {
        std::fs::File::open(src).map_err(local)?;
    }
    Ok((len, at))
}

/// Runs `work` (an upload) on a scoped thread and reports `sent() ` to `progress` every 100 ms
/// while it runs, so that a long upload shows how far it got.
pub(super) fn with_progress<T: Send>(
    work: impl FnOnce() -> Result<T, TransportError> + Send,
    sent: impl Fn() -> u64,
    progress: &mut dyn FnMut(u64),
    stopped: impl FnOnce() -> TransportError,
) -> Result<T, TransportError> {
    std::thread::scope(|scope| {
        let h = scope.spawn(work);
        while !h.is_finished() {
            progress(sent());
            std::thread::sleep(Duration::from_millis(100));
        }
        h.join().unwrap_or_else(|_| Err(stopped()))
    })
}

/// The text an XML event adds to the element it is in: text, or an entity reference (`&amp;`,
/// `&#233;`), which the reader gives as an event of its own.
pub(super) fn xml_text(e: &quick_xml::events::Event) -> Option<String> {
    match e {
        quick_xml::events::Event::Text(t) => {
            Some(t.decode().map(|c| c.into_owned()).unwrap_or_default())
        }
        quick_xml::events::Event::GeneralRef(r) => {
            if let Ok(Some(c)) = r.resolve_char_ref() {
                return Some(c.to_string());
            }
            let name = r.decode().ok()?;
            quick_xml::escape::resolve_predefined_entity(&name).map(String::from)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = RetryPolicy {
            attempts: 5,
            base: Duration::from_millis(100),
            max: Duration::from_secs(1),
        };
        assert_eq!(p.delay(1, 1.0), Duration::from_millis(200));
        assert_eq!(p.delay(2, 0.0), Duration::from_millis(200));
        assert_eq!(p.delay(10, 1.0), Duration::from_secs(1));
    }
}
