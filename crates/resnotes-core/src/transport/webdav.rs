//! A WebDAV server (Nextcloud, ownCloud, Apache mod_dav, rclone, …) as a target, with the exact
//! folder layout of FORMAT.md. Requests: PROPFIND (Depth 0/1), GET, HEAD, PUT, MKCOL. Retries
//! timeouts, resets, 5xx, 423 and 429 (honouring `Retry-After`) with exponential backoff and
//! jitter; authentication failures stop at once. Credentials never appear in `location()` or in
//! any error message.

use std::collections::HashSet;
use std::sync::Mutex;

use reqwest::blocking::{RequestBuilder, Response};
use reqwest::{Method, StatusCode, Url};

use super::http::{self, Failure, Http, RetryPolicy, TRANSFER_TIMEOUT};
use super::{AtPath, Transport, TransportError, Written};
use crate::format::asset::percent_decode;

/// The longest PROPFIND answer read (a folder of 100,000 names is ~20 MiB of XML).
const LISTING_BYTES: u64 = 64 << 20;

/// A WebDAV collection holding a workspace.
pub struct WebDav {
    base: Url,
    user: Option<String>,
    password: Option<String>,
    http: Http,
    /// Collections known to exist (MKCOL is skipped for them).
    made: Mutex<HashSet<String>>,
}

impl WebDav {
    /// A target at `url` (an `http(s)://` collection URL). Credentials embedded in the URL are
    /// moved out of it so they are never printed.
    pub fn new(
        url: &str,
        user: Option<String>,
        password: Option<String>,
    ) -> Result<Self, TransportError> {
        let bad = |reason: String| TransportError::Unreachable { location: redact(url), reason };
        let mut base = Url::parse(url).map_err(|e| bad(format!("not a valid URL ({e})")))?;
        if base.scheme() != "http" && base.scheme() != "https" {
            return Err(bad("the URL must start with http:// or https://".into()));
        }
        let mut user = user;
        let mut password = password;
        if !base.username().is_empty() {
            user = user.or_else(|| Some(percent_decode(base.username())));
            password = password.or_else(|| base.password().map(percent_decode));
            let _ = base.set_username("");
            let _ = base.set_password(None);
        }
        if !base.path().ends_with('/') {
            let p = format!("{}/", base.path());
            base.set_path(&p);
        }
        let http = Http::new(6).map_err(bad)?;
        Ok(WebDav { base, user, password, http, made: Mutex::new(HashSet::new()) })
    }

    /// True when requests would carry the password in the clear to another machine: plain
    /// `http://` with a user name or password, to a host that is not a loopback address.
    pub fn sends_password_in_clear(&self) -> bool {
        let host = self.base.host_str().unwrap_or("").trim_start_matches('[').trim_end_matches(']');
        let loopback = host.eq_ignore_ascii_case("localhost")
            || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
        self.base.scheme() == "http"
            && !loopback
            && (self.user.is_some() || self.password.is_some())
    }

    /// The user name in use (from the argument or the URL).
    pub fn username(&self) -> Option<&str> {
        self.user.as_deref()
    }

    /// The password in use (from the argument or the URL), to be stored for later syncs.
    pub fn password(&self) -> Option<&str> {
        self.password.as_deref()
    }

    /// Replaces the retry policy (tests use short delays).
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.http.retry = retry;
        self
    }

    /// The URL of a relative path, each segment percent-encoded.
    fn url(&self, path: &str) -> Url {
        let mut u = self.base.clone();
        {
            let mut segs = u.path_segments_mut().expect("http URLs have paths");
            segs.pop_if_empty();
            for s in path.split('/').filter(|s| !s.is_empty()) {
                segs.push(s);
            }
        }
        u
    }

    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let rb = self.http.client.request(method, self.url(path));
        match &self.user {
            Some(u) => rb.basic_auth(u, self.password.as_ref()),
            None => rb,
        }
    }

    fn fail(&self, op: &'static str, path: &str, reason: String) -> TransportError {
        TransportError::Failed { location: self.location(), op, path: path.to_string(), reason }
    }

    /// Sends a request built by `make`, retrying transient failures; `accept` maps a response
    /// to a result or a failure.
    fn send<T>(
        &self,
        op: &'static str,
        path: &str,
        make: impl Fn() -> RequestBuilder,
        accept: impl Fn(Response) -> Result<T, Failure>,
    ) -> Result<T, TransportError> {
        let what = format!("{op} {path}");
        self.http.send(&self.location(), &what, make, |r| classify(self, op, path, r), accept)
    }

    /// Creates the parent collections of `path` (MKCOL each missing level once).
    /// Held while collections are made: two MKCOLs of one collection at once make Apache answer
    /// 403 "File exists" to one of them (the parallel uploads of a push into a new folder did).
    fn make_parents(&self, path: &str) -> Result<(), TransportError> {
        let parts: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let mut cur = String::new();
        let mut made = self.made.lock().unwrap();
        for p in &parts[..parts.len().saturating_sub(1)] {
            cur = if cur.is_empty() { p.to_string() } else { format!("{cur}/{p}") };
            if made.contains(&cur) {
                continue;
            }
            let dir = format!("{cur}/");
            let created = self.send(
                "create folder",
                &dir,
                || self.request(Method::from_bytes(b"MKCOL").unwrap(), &dir),
                |r| match r.status() {
                    s if s.is_success() => Ok(()),
                    // 405: exists already; 409 should not happen since parents come first.
                    StatusCode::METHOD_NOT_ALLOWED => Ok(()),
                    s => Err(Failure::Fatal(self.fail("create folder", &dir, format!("HTTP {s}")))),
                },
            );
            // Another device may have made it at the same moment (Apache then answers 403):
            // what counts is that it is there.
            if let Err(e) = created {
                if !self.collection_exists(&dir) {
                    return Err(e);
                }
            }
            made.insert(cur.clone());
        }
        Ok(())
    }

    /// Whether the collection `dir` (ending in `/`) exists (PROPFIND Depth 0, once).
    fn collection_exists(&self, dir: &str) -> bool {
        self.request(Method::from_bytes(b"PROPFIND").unwrap(), dir)
            .header("Depth", "0")
            .body(PROPFIND_BODY)
            .send()
            .is_ok_and(|r| r.status().is_success())
    }

    fn put(&self, path: &str, bytes: &[u8], only_new: bool) -> Result<bool, TransportError> {
        self.send(
            "upload",
            path,
            || {
                let rb = self.request(Method::PUT, path).body(bytes.to_vec());
                if only_new {
                    rb.header("If-None-Match", "*")
                } else {
                    rb
                }
            },
            |r| match r.status() {
                s if s.is_success() => Ok(true),
                StatusCode::PRECONDITION_FAILED => Ok(false),
                s => Err(Failure::Fatal(self.fail("upload", path, format!("HTTP {s}")))),
            },
        )
    }

    fn write_one(&self, path: &str, bytes: &[u8]) -> Result<Written, TransportError> {
        // Servers such as nginx and rclone ignore If-None-Match.
        http::write_checked(self, path, bytes, |only_new| {
            if only_new {
                self.make_parents(path)?;
            }
            self.put(path, bytes, only_new)
        })
    }
}

/// Maps statuses every request shares: auth, full, throttled, server errors.
fn classify(dav: &WebDav, op: &'static str, path: &str, r: Response) -> Result<Response, Failure> {
    let s = r.status();
    match s {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
            Err(Failure::Fatal(TransportError::Unreachable {
                location: dav.location(),
                reason: format!(
                    "the server refused the login (HTTP {}); check user and password",
                    s.as_u16()
                ),
            }))
        }
        StatusCode::INSUFFICIENT_STORAGE => Err(Failure::Fatal(TransportError::Failed {
            location: dav.location(),
            op,
            path: path.to_string(),
            reason: "the server is full (507 Insufficient Storage); free space on it".into(),
        })),
        StatusCode::TOO_MANY_REQUESTS | StatusCode::LOCKED => {
            Err(Failure::Transient(format!("HTTP {}", s.as_u16()), http::retry_after(&r)))
        }
        s if s.is_server_error() => {
            Err(Failure::Transient(format!("HTTP {}", s.as_u16()), http::retry_after(&r)))
        }
        _ => Ok(r),
    }
}

/// A URL with any user info removed, for messages.
pub fn redact(url: &str) -> String {
    match Url::parse(url) {
        Ok(mut u) => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.to_string()
        }
        Err(_) => "(invalid URL)".into(),
    }
}

/// Names of the members in a PROPFIND Depth 1 answer for the directory `dir_url` (for the fuzz
/// target; sync uses the same parser). An unparsable URL gives no names.
pub fn listing_names(xml: &str, dir_url: &str) -> Vec<String> {
    Url::parse(dir_url).map(|u| member_names(xml, &u)).unwrap_or_default()
}

/// Names of the members of a PROPFIND Depth 1 multistatus, relative to `dir_url`.
fn member_names(xml: &str, dir_url: &Url) -> Vec<String> {
    let mut names = Vec::new();
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut href: Option<String> = None;
    let dir_path = dir_url.path().trim_end_matches('/').to_string();
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Start(e)) => {
                href = (e.local_name().as_ref() == b"href").then(String::new);
            }
            // An href's text comes in pieces when it holds an entity (`&amp;`).
            Ok(
                e @ (quick_xml::events::Event::Text(_) | quick_xml::events::Event::GeneralRef(_)),
            ) => {
                if let (Some(h), Some(text)) = (href.as_mut(), http::xml_text(&e)) {
                    h.push_str(&text);
                }
            }
            Ok(quick_xml::events::Event::End(_)) => {
                let Some(href) = href.take() else { continue };
                // hrefs are absolute paths or full URLs.
                let path = Url::parse(&href).map(|u| u.path().to_string()).unwrap_or(href);
                let path = percent_decode(path.trim_end_matches('/'));
                let dir = percent_decode(&dir_path);
                if let Some(rest) = path.strip_prefix(&dir) {
                    let rest = rest.trim_start_matches('/');
                    if !rest.is_empty() && !rest.contains('/') {
                        names.push(rest.to_string());
                    }
                }
            }
            Ok(quick_xml::events::Event::Eof) | Err(_) => break,
            _ => {}
        }
    }
    names.sort();
    names.dedup();
    names
}

const PROPFIND_BODY: &str = r#"<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:"><D:prop><D:resourcetype/></D:prop></D:propfind>"#;

impl Transport for WebDav {
    fn credentials(&self) -> (Option<String>, Option<String>) {
        (self.username().map(String::from), self.password().map(String::from))
    }

    fn location(&self) -> String {
        self.base.to_string()
    }

    fn check(&self) -> Result<(), TransportError> {
        self.send(
            "open",
            "",
            || {
                self.request(Method::from_bytes(b"PROPFIND").unwrap(), "")
                    .header("Depth", "0")
                    .body(PROPFIND_BODY)
            },
            |r| match r.status() {
                s if s.is_success() => Ok(()),
                StatusCode::NOT_FOUND => Err(Failure::Fatal(TransportError::Unreachable {
                    location: self.location(),
                    reason: "the folder does not exist on the server (404)".into(),
                })),
                s => Err(Failure::Fatal(TransportError::Unreachable {
                    location: self.location(),
                    reason: format!("not a WebDAV folder (HTTP {})", s.as_u16()),
                })),
            },
        )
    }

    fn create_root(&self) -> Result<(), TransportError> {
        match self.check() {
            Err(TransportError::Unreachable { reason, .. }) if reason.contains("(404)") => {}
            other => return other,
        }
        let parent = {
            let mut u = self.base.clone();
            u.path_segments_mut().expect("http URLs have paths").pop_if_empty().pop();
            redact(u.as_str())
        };
        self.send(
            "create folder",
            "",
            || self.request(Method::from_bytes(b"MKCOL").unwrap(), ""),
            |r| match r.status() {
                s if s.is_success() => Ok(()),
                // 405: it exists after all (made meanwhile).
                StatusCode::METHOD_NOT_ALLOWED => Ok(()),
                // 409 Conflict: RFC 4918's answer when a parent collection is missing.
                StatusCode::CONFLICT | StatusCode::NOT_FOUND => {
                    Err(Failure::Fatal(TransportError::Unreachable {
                        location: self.location(),
                        reason: format!(
                            "the folder {parent}/ does not exist on the server either; create it first or check the URL"
                        ),
                    }))
                }
                s => Err(Failure::Fatal(TransportError::Unreachable {
                    location: self.location(),
                    reason: format!("the folder could not be created on the server (HTTP {})", s.as_u16()),
                })),
            },
        )
    }

    fn read(&self, path: &str) -> Result<Option<Vec<u8>>, TransportError> {
        self.send(
            "read",
            path,
            || self.request(Method::GET, path),
            |r| match r.status() {
                StatusCode::NOT_FOUND | StatusCode::GONE => Ok(None),
                s if s.is_success() => http::body_within_limit(&self.location(), path, r).map(Some),
                s => Err(Failure::Fatal(self.fail("read", path, format!("HTTP {}", s.as_u16())))),
            },
        )
    }

    fn exists(&self, path: &str) -> Result<bool, TransportError> {
        self.send(
            "stat",
            path,
            || self.request(Method::HEAD, path),
            |r| match r.status() {
                StatusCode::NOT_FOUND | StatusCode::GONE => Ok(false),
                s if s.is_success() => Ok(true),
                s => Err(Failure::Fatal(self.fail("stat", path, format!("HTTP {}", s.as_u16())))),
            },
        )
    }

    fn list(&self, dir: &str) -> Result<Vec<String>, TransportError> {
        let d =
            if dir.is_empty() { String::new() } else { format!("{}/", dir.trim_end_matches('/')) };
        let dir_url = self.url(&d);
        self.send(
            "list",
            dir,
            || {
                self.request(Method::from_bytes(b"PROPFIND").unwrap(), &d)
                    .header("Depth", "1")
                    .body(PROPFIND_BODY)
            },
            |r| match r.status() {
                StatusCode::NOT_FOUND => Ok(vec![]),
                s if s.is_success() => {
                    let text = http::text_within(r, LISTING_BYTES, || {
                        self.fail("list", dir, "the server's listing is too long to read".into())
                    })?;
                    Ok(member_names(&text, &dir_url))
                }
                s => Err(Failure::Fatal(self.fail("list", dir, format!("HTTP {}", s.as_u16())))),
            },
        )
    }

    fn write_new(&self, path: &str, bytes: &[u8]) -> Result<Written, TransportError> {
        self.write_one(path, bytes)
    }

    fn remove(&self, path: &str) -> Result<bool, TransportError> {
        self.send(
            "remove",
            path,
            || self.request(Method::DELETE, path),
            |r| match r.status() {
                s if s.is_success() => Ok(true),
                StatusCode::NOT_FOUND | StatusCode::GONE => Ok(false),
                s => Err(Failure::Fatal(self.fail("remove", path, format!("HTTP {s}")))),
            },
        )
    }

    fn overwrite(&self, path: &str, bytes: &[u8]) -> Result<(), TransportError> {
        // A PUT replaces the whole resource at once on every server (RFC 4918 §9.7).
        self.make_parents(path)?;
        self.put(path, bytes, false).map(|_| ())
    }

    fn read_ahead(&self) -> usize {
        self.http.parallel * 2
    }

    fn size(&self, path: &str) -> Result<Option<u64>, TransportError> {
        self.send(
            "stat",
            path,
            || self.request(Method::HEAD, path),
            |r| match r.status() {
                StatusCode::NOT_FOUND | StatusCode::GONE => Ok(None),
                s if s.is_success() => http::length(&r).map(Some).ok_or_else(|| {
                    Failure::Fatal(self.fail("stat", path, "the server sent no file length".into()))
                }),
                s => Err(Failure::Fatal(self.fail("stat", path, format!("HTTP {}", s.as_u16())))),
            },
        )
    }

    fn download(
        &self,
        path: &str,
        dest: &std::path::Path,
        limit: u64,
        progress: &mut dyn FnMut(u64),
    ) -> Result<bool, TransportError> {
        let progress = Mutex::new(progress);
        self.send(
            "read",
            path,
            || self.request(Method::GET, path).timeout(TRANSFER_TIMEOUT),
            |r| match r.status() {
                StatusCode::NOT_FOUND | StatusCode::GONE => Ok(false),
                s if s.is_success() => http::body_to_file(
                    r,
                    dest,
                    limit,
                    &progress,
                    |e| super::local_failure(self, "save", path, e),
                    || super::too_large(self, path, limit),
                )
                .map(|()| true),
                s => Err(Failure::Fatal(self.fail("read", path, format!("HTTP {}", s.as_u16())))),
            },
        )
    }

    fn upload(
        &self,
        path: &str,
        src: &std::path::Path,
        progress: &mut dyn FnMut(u64),
    ) -> Result<Written, TransportError> {
        let (len, at) = http::upload_start(self, path, src)?;
        // Same length at an asset's own path: the same sealed file (readers verify anyway).
        if at == AtPath::SameLength {
            return Ok(Written::AlreadyPresent);
        }
        let only_new = at == AtPath::Nothing;
        self.make_parents(path)?;
        let sent = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let put = || {
            self.send(
                "upload",
                path,
                || {
                    sent.store(0, std::sync::atomic::Ordering::Relaxed);
                    let body = http::file_body(src, 0, len, std::slice::from_ref(&sent));
                    let rb = self.request(Method::PUT, path).timeout(TRANSFER_TIMEOUT).body(body);
                    if only_new {
                        rb.header("If-None-Match", "*")
                    } else {
                        rb
                    }
                },
                |r| match r.status() {
                    s if s.is_success() => Ok(Written::Created),
                    StatusCode::PRECONDITION_FAILED => Ok(Written::AlreadyPresent),
                    StatusCode::PAYLOAD_TOO_LARGE => Err(Failure::Fatal(self.fail(
                        "upload",
                        path,
                        "the server does not take a file this large (HTTP 413); raise its upload limit (Apache: LimitRequestBody, nginx: client_max_body_size)".into(),
                    ))),
                    s => Err(Failure::Fatal(self.fail("upload", path, format!("HTTP {s}")))),
                },
            )
        };
        let result = http::with_progress(
            put,
            || sent.load(std::sync::atomic::Ordering::Relaxed),
            progress,
            || self.fail("upload", path, "the upload stopped unexpectedly".into()),
        )?;
        if result == Written::AlreadyPresent {
            // 412: someone wrote it meanwhile; it must be the same length to be ours.
            if self.size(path)? != Some(len) {
                return Err(TransportError::Conflict {
                    location: self.location(),
                    path: path.to_string(),
                });
            }
        }
        progress(len);
        Ok(result)
    }

    fn read_many(&self, paths: &[String]) -> Vec<Result<Option<Vec<u8>>, TransportError>> {
        self.http.parallel_map(&self.location(), paths.len(), |i| self.read(&paths[i]))
    }

    fn write_batch(&self, files: &[(String, Vec<u8>)]) -> Vec<Result<Written, TransportError>> {
        self.http.parallel_map(&self.location(), files.len(), |i| {
            self.write_one(&files[i].0, &files[i].1)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_in_the_clear_is_recognised() {
        let clear = |url: &str, user: Option<&str>| {
            WebDav::new(url, user.map(String::from), None).unwrap().sends_password_in_clear()
        };
        assert!(clear("http://cloud.example.org/dav/", Some("me")));
        assert!(clear("http://me:pw@192.168.1.5/dav/", None), "credentials in the URL count");
        assert!(!clear("https://cloud.example.org/dav/", Some("me")));
        assert!(!clear("http://cloud.example.org/dav/", None), "no password to leak");
        for local in ["http://127.0.0.1:8080/dav/", "http://localhost/dav/", "http://[::1]/dav/"] {
            assert!(!clear(local, Some("me")), "{local}");
        }
    }

    #[test]
    fn urls_are_encoded_and_credentials_removed() {
        let d = WebDav::new("http://alice:s3cret@127.0.0.1:8080/dav/My Notés", None, None).unwrap();
        assert_eq!(d.location(), "http://127.0.0.1:8080/dav/My%20Not%C3%A9s/");
        assert!(!d.location().contains("s3cret"));
        assert_eq!(d.user.as_deref(), Some("alice"));
        assert_eq!(d.password.as_deref(), Some("s3cret"));
        assert_eq!(
            d.url("a b/changes/1/0.age").as_str(),
            "http://127.0.0.1:8080/dav/My%20Not%C3%A9s/a%20b/changes/1/0.age"
        );
        assert_eq!(redact("https://u:p@h/x"), "https://h/x");
        assert!(WebDav::new("ftp://h/x", None, None).is_err());
    }

    #[test]
    fn multistatus_members() {
        let base = Url::parse("http://h/dav/ws/").unwrap();
        let xml = r#"<?xml version="1.0"?><d:multistatus xmlns:d="DAV:">
          <d:response><d:href>/dav/ws/</d:href></d:response>
          <d:response><d:href>/dav/ws/index.json</d:href></d:response>
          <d:response><d:href>http://h/dav/ws/3f2a1c4e-9b8d-4e7f-a6b5-c4d3e2f1a0b9/</d:href></d:response>
          <d:response><d:href>/dav/ws/My%20file.txt</d:href></d:response>
          <d:response><d:href>/dav/ws/Tom &amp; Jerry&#33;.txt</d:href></d:response>
          <d:response><d:href>/dav/ws/%C3%A9t%C3%A9%2</d:href></d:response>
          <d:response><d:href>/dav/ws/%É%1é</d:href></d:response>
        </d:multistatus>"#;
        // A '%' before a multi-byte character or at the end is kept as it is (a server's
        // listing once made the decoder cut a character in two and panic).
        assert_eq!(
            member_names(xml, &base),
            vec![
                "%É%1é",
                "3f2a1c4e-9b8d-4e7f-a6b5-c4d3e2f1a0b9",
                "My file.txt",
                "Tom & Jerry!.txt",
                "index.json",
                "été%2"
            ]
        );
    }
}
