//! An S3-compatible object store (AWS S3, Backblaze B2, Cloudflare R2, Wasabi, MinIO, Ceph,
//! Garage) as a target: the folder layout of FORMAT.md §2 under a bucket and an optional
//! prefix. Requests are signed with AWS Signature Version 4 by `rusty-s3` (sans-IO: it makes
//! presigned URLs, which this module sends with the same blocking client, retries and limits as
//! WebDAV). Retries timeouts, resets, 500/502/503/504 (`SlowDown`) and 429 with exponential
//! backoff and jitter; a refused key, a missing bucket or a wrong region stop at once with what
//! to do.
//!
//! **Semantics this module relies on, and what it does not.** S3 has no folders: a listing is of
//! keys under a prefix, split at `/`. Stores differ on `If-None-Match: *` (Garage answers 200
//! and overwrites), so, as for WebDAV, a file is read before it is written and a different
//! existing one is a conflict, never overwritten. Listings and reads may lag behind a write on
//! stores that are eventually consistent: a missing entry is "not there yet" for the pull, never
//! a loss, and writing identical bytes again is harmless. Attachments larger than
//! [`MULTIPART_FROM`] go up in parts streamed from the file (bounded memory); an upload cut short
//! goes on at the next try from the parts the store holds (ListMultipartUploads, ListParts, each
//! part's ETag checked against the MD5 of ours), and one the store refused to assemble is
//! aborted so that it frees the parts. Answers are read within limits (a store cannot exhaust
//! memory), and listings within a page count (a store cannot make one endless).
//!
//! The target's address: `s3://BUCKET/PREFIX?endpoint=URL&region=REGION&style=path|virtual`
//! (README, "S3"). Without `endpoint` it is AWS (`https://s3.REGION.amazonaws.com`,
//! virtual-hosted style); with one, path style unless `style=virtual`.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::blocking::{RequestBuilder, Response};
use reqwest::{StatusCode, Url};
use rusty_s3::{Bucket, Credentials, S3Action, UrlStyle};

use super::http::{self, Failure, Http, RetryPolicy, TRANSFER_TIMEOUT};
use super::{AtPath, Transport, TransportError, Written};
use crate::format::asset::percent_decode;

/// How long a signed request stays valid: it is signed just before it is sent and never leaves
/// this device, so the length only matters to a clock that runs behind the store's.
const SIGNED_FOR: Duration = Duration::from_secs(6 * 3600);

/// The longest answer read whole (a listing page of 1,000 keys is ~300 KB; an upload's list of
/// 10,000 parts ~2 MB).
const ANSWER_BYTES: u64 = 16 << 20;

/// How far this device's clock is from the store's (its `Date` header), if it says.
fn clock_skew(r: &Response) -> Option<Duration> {
    let date = r.headers().get(reqwest::header::DATE)?.to_str().ok()?;
    let theirs = jiff::fmt::rfc2822::DateTimeParser::new().parse_timestamp(date).ok()?;
    let diff = jiff::Timestamp::now().as_second().abs_diff(theirs.as_second());
    Some(Duration::from_secs(diff))
}

/// Uploads longer than this go up in parts (multipart upload); shorter ones in one request.
pub const MULTIPART_FROM: u64 = 16 << 20;

/// The smallest part: 8 MiB keeps a 1 GiB attachment at 128 parts, above S3's 5 MiB minimum.
const PART: u64 = 8 << 20;

/// S3 allows at most 10,000 parts per upload.
const MAX_PARTS: u64 = 10_000;

/// Keys one listing page may carry (S3's own maximum).
const PAGE_KEYS: usize = 1000;

/// Pages one listing may take: a million names, far more than any folder of a workspace holds.
const MAX_PAGES: usize = 1000;

/// A bucket (and prefix) of an S3-compatible store holding a workspace.
pub struct S3 {
    bucket: Bucket,
    /// Key prefix of the workspace: empty, or ending in `/`.
    prefix: String,
    credentials: Option<Credentials>,
    /// The target's address as shown and stored (never with credentials).
    address: String,
    http: Http,
}

/// The parts of an `s3://` address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Address {
    /// Bucket name.
    pub bucket: String,
    /// Key prefix: empty, or ending in `/`.
    pub prefix: String,
    /// Store endpoint (`https://…`); AWS's regional endpoint when none was given.
    pub endpoint: Url,
    /// Region the requests are signed for.
    pub region: String,
    /// Path style (`endpoint/bucket/key`) or virtual-hosted (`bucket.endpoint/key`).
    pub path_style: bool,
}

impl Address {
    /// Parses `s3://BUCKET[/PREFIX][?endpoint=URL&region=R&style=path|virtual]`. Keys written
    /// in it are refused: they would be stored and shown with it.
    pub fn parse(text: &str) -> Result<Address, String> {
        let text = text.trim();
        let u = Url::parse(text).map_err(|e| format!("not a valid address ({e})"))?;
        if u.scheme() != "s3" {
            return Err("an S3 address starts with s3:// and the bucket's name".into());
        }
        if !u.username().is_empty() || u.password().is_some() {
            return Err(
                "give the access key on its own (--access-key, or the Access key field), not in the address".into(),
            );
        }
        let bucket = u.host_str().map(percent_decode).unwrap_or_default();
        if !valid_bucket(&bucket) {
            return Err(format!(
                "'{bucket}' is not a bucket name (3 to 63 lowercase letters, digits, dots and hyphens)"
            ));
        }
        let mut prefix: String = u
            .path()
            .split('/')
            .filter(|s| !s.is_empty())
            .map(percent_decode)
            .collect::<Vec<_>>()
            .join("/");
        if !prefix.is_empty() {
            prefix.push('/');
        }
        let mut endpoint = None;
        let mut region = None;
        let mut style = None;
        for (k, v) in u.query_pairs() {
            match &*k {
                "endpoint" => endpoint = Some(v.into_owned()).filter(|e| !e.trim().is_empty()),
                "region" => region = Some(v.into_owned()),
                "style" => style = Some(v.into_owned()),
                other => {
                    return Err(format!(
                        "unknown setting '{other}' in the address (known: endpoint, region, style)"
                    ))
                }
            }
        }
        let region = region.filter(|r| !r.is_empty()).unwrap_or_else(|| "us-east-1".into());
        let default_style = Self::path_style_by_default(endpoint.is_some(), &bucket);
        let path_style = match style.as_deref() {
            None => default_style,
            Some("path") => true,
            Some("virtual") => false,
            Some(other) => return Err(format!("style must be path or virtual, not '{other}'")),
        };
        let endpoint = match endpoint {
            Some(e) => {
                let e =
                    Url::parse(e.trim()).map_err(|_| "the endpoint is not a URL".to_string())?;
                if e.scheme() != "http" && e.scheme() != "https" {
                    return Err("the endpoint must start with http:// or https://".into());
                }
                if !e.username().is_empty() || e.password().is_some() {
                    return Err("give the access key on its own, not in the endpoint".into());
                }
                e
            }
            None => Self::aws_endpoint(&region)?,
        };
        Ok(Address { bucket, prefix, endpoint, region, path_style })
    }

    /// AWS's endpoint for `region`.
    fn aws_endpoint(region: &str) -> Result<Url, String> {
        Url::parse(&format!("https://s3.{region}.amazonaws.com"))
            .ok()
            .filter(|u| u.host_str() == Some(&format!("s3.{region}.amazonaws.com")))
            .ok_or_else(|| format!("'{region}' is not a region"))
    }

    /// Path style unless it is AWS's own endpoint and a bucket name without dots (a dotted
    /// name is not covered by AWS's certificate as a host name).
    fn path_style_by_default(endpoint_given: bool, bucket: &str) -> bool {
        endpoint_given || bucket.contains('.')
    }

    /// The address as shown and stored: bucket, prefix and the settings that differ from what
    /// they would be without them, never credentials. It parses back to the same address.
    pub fn canonical(&self) -> String {
        // Segments and query values keep what is legal there (`:`, `/` in values), so the
        // address reads as typed, and encode what would change its meaning (`#`, `?`, `%`).
        const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
            .add(b' ')
            .add(b'"')
            .add(b'#')
            .add(b'%')
            .add(b'<')
            .add(b'>')
            .add(b'?')
            .add(b'`')
            .add(b'{')
            .add(b'}')
            .add(b'\\')
            .add(b'^')
            .add(b'|')
            .add(b'[')
            .add(b']');
        const VALUE: &percent_encoding::AsciiSet =
            &percent_encoding::CONTROLS.add(b' ').add(b'&').add(b'#').add(b'+').add(b'%').add(b'=');
        let segments: Vec<String> = self
            .prefix
            .split('/')
            .filter(|s| !s.is_empty())
            .map(|s| format!("{}/", percent_encoding::utf8_percent_encode(s, SEGMENT)))
            .collect();
        let mut s = format!("s3://{}/{}", self.bucket, segments.concat());
        let value = |v: &str| percent_encoding::utf8_percent_encode(v, VALUE).to_string();
        let default_endpoint =
            Self::aws_endpoint(&self.region).ok().as_ref() == Some(&self.endpoint);
        let mut q = Vec::new();
        if !default_endpoint {
            q.push(format!("endpoint={}", value(self.endpoint.as_str().trim_end_matches('/'))));
        }
        q.push(format!("region={}", value(&self.region)));
        if self.path_style != Self::path_style_by_default(!default_endpoint, &self.bucket) {
            q.push(format!("style={}", if self.path_style { "path" } else { "virtual" }));
        }
        s.push('?');
        s.push_str(&q.join("&"));
        s
    }
}

/// S3's bucket naming rules (the common subset every store accepts).
fn valid_bucket(name: &str) -> bool {
    (3..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        && name.as_bytes()[0].is_ascii_alphanumeric()
        && name.as_bytes()[name.len() - 1].is_ascii_alphanumeric()
}

/// Access key, secret key and session token (temporary credentials) from the standard AWS
/// places: `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`/`AWS_SESSION_TOKEN`, else the profile
/// `AWS_PROFILE` (or `default`) of `AWS_SHARED_CREDENTIALS_FILE` (or `~/.aws/credentials`).
/// `env` reads a variable and `read` a file, so tests pass their own.
pub fn aws_credentials(
    env: &dyn Fn(&str) -> Option<String>,
    home: Option<&Path>,
    read: &dyn Fn(&Path) -> Option<String>,
) -> Option<(String, String, Option<String>)> {
    let var = |n: &str| env(n).filter(|v| !v.trim().is_empty());
    if let (Some(k), Some(s)) = (var("AWS_ACCESS_KEY_ID"), var("AWS_SECRET_ACCESS_KEY")) {
        return Some((k, s, var("AWS_SESSION_TOKEN")));
    }
    let file = match var("AWS_SHARED_CREDENTIALS_FILE") {
        Some(f) => std::path::PathBuf::from(f),
        None => home?.join(".aws").join("credentials"),
    };
    let profile = var("AWS_PROFILE").unwrap_or_else(|| "default".into());
    let text = read(&file)?;
    let mut in_profile = false;
    let (mut key, mut secret, mut token) = (None, None, None);
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || line.starts_with(';') || line.is_empty() {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            in_profile = name.trim() == profile;
            continue;
        }
        if !in_profile {
            continue;
        }
        if let Some((k, v)) = line.split_once('=') {
            let v = Some(v.trim().to_string());
            match k.trim() {
                "aws_access_key_id" => key = v,
                "aws_secret_access_key" => secret = v,
                "aws_session_token" => token = v,
                _ => {}
            }
        }
    }
    Some((key?, secret?, token))
}

/// The `Code` and `Message` of an S3 error body (`<Error><Code>…</Code>…`), empty when there is
/// none.
pub(super) fn error_of(xml: &str) -> (String, String) {
    let mut reader = quick_xml::Reader::from_str(xml);
    let (mut code, mut message) = (String::new(), String::new());
    let mut depth = 0usize;
    let mut field = None;
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Start(e)) => {
                depth += 1;
                field = match e.local_name().as_ref() {
                    b"Code" if depth == 2 => Some(true),
                    b"Message" if depth == 2 => Some(false),
                    _ => None,
                };
            }
            Ok(
                e @ (quick_xml::events::Event::Text(_) | quick_xml::events::Event::GeneralRef(_)),
            ) => {
                if let (Some(is_code), Some(text)) = (field, http::xml_text(&e)) {
                    let into = if is_code { &mut code } else { &mut message };
                    if into.len() < 400 {
                        into.push_str(&text);
                    }
                }
            }
            Ok(quick_xml::events::Event::End(_)) => {
                depth = depth.saturating_sub(1);
                field = None;
            }
            Ok(quick_xml::events::Event::Eof) | Err(_) => break,
            _ => {}
        }
    }
    (code, message)
}

/// The size of each part of a multipart upload of `len` bytes: [`PART`], or more (in whole
/// MiB) when that would need more than [`MAX_PARTS`] parts.
fn part_size(len: u64) -> u64 {
    let mib = 1 << 20;
    PART.max(len.div_ceil(MAX_PARTS).div_ceil(mib) * mib)
}

impl S3 {
    /// A target at `address` (see the module doc) with an access key and secret key; keys
    /// written in the address are moved out of it.
    pub fn new(
        address: &str,
        access_key: Option<String>,
        secret_key: Option<String>,
    ) -> Result<Self, TransportError> {
        // Only bucket and prefix: whatever else was typed may hold a key.
        let shown = super::redact(address.trim().split(['?', '#']).next().unwrap_or(""));
        let bad = |reason: String| TransportError::Unreachable { location: shown.clone(), reason };
        let a = Address::parse(address).map_err(bad)?;
        let nonempty = |v: Option<String>| v.filter(|v| !v.is_empty());
        let credentials = match (nonempty(access_key), nonempty(secret_key)) {
            (Some(k), Some(s)) => Some(Credentials::new(k, s)),
            (Some(_), None) => {
                return Err(bad("the secret key of the access key is missing".into()))
            }
            (None, Some(_)) => {
                return Err(bad("the access key of the secret key is missing".into()))
            }
            (None, None) => None,
        };
        let style = if a.path_style { UrlStyle::Path } else { UrlStyle::VirtualHost };
        let bucket = Bucket::new(a.endpoint.clone(), style, a.bucket.clone(), a.region.clone())
            .map_err(|e| bad(format!("the bucket's address cannot be made ({e})")))?;
        let http = Http::new(8).map_err(bad)?;
        Ok(S3 { bucket, prefix: a.prefix.clone(), credentials, address: a.canonical(), http })
    }

    /// The same target with temporary credentials' session token.
    pub fn with_session_token(mut self, token: Option<String>) -> Self {
        if let (Some(c), Some(t)) = (&self.credentials, token) {
            self.credentials = Some(Credentials::new_with_token(c.key(), c.secret(), t));
        }
        self
    }

    /// Replaces the retry policy (tests use short delays).
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.http.retry = retry;
        self
    }

    /// The access key in use.
    pub fn access_key(&self) -> Option<&str> {
        self.credentials.as_ref().map(|c| c.key())
    }

    fn key(&self, path: &str) -> String {
        format!("{}{}", self.prefix, path.trim_start_matches('/'))
    }

    fn fail(&self, op: &'static str, path: &str, reason: String) -> TransportError {
        TransportError::Failed { location: self.location(), op, path: path.to_string(), reason }
    }

    fn unexpected(&self, op: &'static str, path: &str, r: Response) -> Failure {
        let s = r.status().as_u16();
        let (code, message) = error_of(&http::error_text(r));
        let what = if code.is_empty() { String::new() } else { format!(" {code}: {message}") };
        Failure::Fatal(self.fail(op, path, format!("the store answered HTTP {s}{what}")))
    }

    /// Sends a signed request made by `make` (signed again for every attempt), retrying
    /// transient failures.
    fn send<T>(
        &self,
        op: &'static str,
        path: &str,
        make: impl Fn() -> RequestBuilder,
        accept: impl Fn(Response) -> Result<T, Failure>,
    ) -> Result<T, TransportError> {
        let what = format!("{op} {path}");
        self.http.send(&self.location(), &what, make, |r| self.classify(op, path, r), accept)
    }

    /// Maps the statuses every request shares: a refused key, a wrong region or clock, a
    /// missing bucket, throttling and server errors; what concerns one file only (an archived
    /// object, a name the store refuses) fails that file. `op` and `path` name the request.
    fn classify(&self, op: &'static str, path: &str, r: Response) -> Result<Response, Failure> {
        let s = r.status();
        let unreachable = |reason: String| {
            Failure::Fatal(TransportError::Unreachable { location: self.location(), reason })
        };
        const CLOCK: &str = "this device's clock differs from the store's by more than 15 minutes; set the clock right and sync again";
        match s {
            StatusCode::TOO_MANY_REQUESTS => {
                Err(Failure::Transient(format!("HTTP {}", s.as_u16()), http::retry_after(&r)))
            }
            // Not supported by this store: the request decides (never worth retrying).
            StatusCode::NOT_IMPLEMENTED => Ok(r),
            s if s.is_server_error() => {
                let after = http::retry_after(&r);
                let (code, _) = error_of(&http::error_text(r));
                let code = if code.is_empty() { String::new() } else { format!(" {code}") };
                Err(Failure::Transient(format!("HTTP {}{code}", s.as_u16()), after))
            }
            StatusCode::MOVED_PERMANENTLY | StatusCode::TEMPORARY_REDIRECT => {
                let region = r
                    .headers()
                    .get("x-amz-bucket-region")
                    .and_then(|v| v.to_str().ok())
                    .map(String::from);
                Err(unreachable(match region {
                    Some(region) => format!(
                        "the bucket is in region {region}; add region={region} to the address"
                    ),
                    None => "the store sent the bucket elsewhere; check the region and endpoint in the address".into(),
                }))
            }
            StatusCode::FORBIDDEN | StatusCode::UNAUTHORIZED | StatusCode::BAD_REQUEST => {
                let skewed = clock_skew(&r).is_some_and(|d| d > Duration::from_secs(15 * 60));
                // HEAD answers carry no body: then only the status (and the clock) is known.
                let (code, message) = error_of(&http::error_text(r));
                let refused = |code: &str| {
                    unreachable(format!(
                        "the store refused the access key ({}); check the access key and secret key, and that the key may read and write bucket {}",
                        if code.is_empty() { format!("HTTP {}", s.as_u16()) } else { code.to_string() },
                        self.bucket.name()
                    ))
                };
                Err(match code.as_str() {
                    "RequestTimeout" | "IncompleteBody" => {
                        Failure::Transient(format!("{code}: {message}"), None)
                    }
                    "RequestTimeTooSkewed" => unreachable(CLOCK.into()),
                    "ExpiredToken" | "TokenRefreshRequired" => unreachable(
                        "the temporary credentials (session token) expired; renew them and sync again".into(),
                    ),
                    "AuthorizationHeaderMalformed" | "AuthorizationQueryParametersError" => {
                        unreachable(format!(
                            "the store refused how the request was signed ({message}); check the region in the address"
                        ))
                    }
                    "InvalidObjectState" => Failure::Fatal(self.fail(
                        op,
                        path,
                        "the store has archived this file (InvalidObjectState); restore it in the store's console".into(),
                    )),
                    _ if skewed => unreachable(CLOCK.into()),
                    "AccessDenied" if message.contains("expired") => unreachable(CLOCK.into()),
                    "" if s == StatusCode::BAD_REQUEST => unreachable(
                        "the store refused the request (HTTP 400); check the endpoint and region in the address".into(),
                    ),
                    code if s == StatusCode::BAD_REQUEST => Failure::Fatal(self.fail(
                        op,
                        path,
                        format!("the store refused the request ({code}: {message})"),
                    )),
                    code => refused(code),
                })
            }
            _ => Ok(r),
        }
    }

    /// A store's XML answer to `op` on `path`, read within [`ANSWER_BYTES`] and parsed by
    /// `parse`; `what` names it in the error when it cannot be read.
    fn answer<T, E: std::fmt::Display>(
        &self,
        op: &'static str,
        path: &str,
        r: Response,
        what: &str,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Result<T, Failure> {
        let text = http::text_within(r, ANSWER_BYTES, || self.too_long(path))?;
        parse(&text).map_err(|e| {
            Failure::Fatal(self.fail(op, path, format!("{what} could not be read ({e})")))
        })
    }

    /// The listing or answer at `path` is longer than any a store should send.
    fn too_long(&self, path: &str) -> TransportError {
        self.fail("list", path, "the store's answer is too long to read".into())
    }

    /// A missing object (`None`), or a missing bucket (an error that says so), from a 404.
    fn not_found(&self, r: Response) -> Failure {
        let (code, _) = error_of(&http::error_text(r));
        Failure::Fatal(self.no_bucket_if(&code))
    }

    fn no_bucket_if(&self, code: &str) -> TransportError {
        TransportError::Unreachable {
            location: self.location(),
            reason: if code == "NoSuchBucket" {
                format!(
                    "the bucket {} does not exist on {}; create it first, or check the address",
                    self.bucket.name(),
                    self.bucket.base_url().host_str().unwrap_or("the store")
                )
            } else {
                format!("the store answered 404 {code}")
            },
        }
    }

    fn get(&self, path: &str) -> RequestBuilder {
        let key = self.key(path);
        let url = self.bucket.get_object(self.credentials.as_ref(), &key).sign(SIGNED_FOR);
        self.http.client.get(url)
    }

    fn head(&self, path: &str) -> RequestBuilder {
        let key = self.key(path);
        let url = self.bucket.head_object(self.credentials.as_ref(), &key).sign(SIGNED_FOR);
        self.http.client.head(url)
    }

    fn put_request(&self, path: &str) -> RequestBuilder {
        let key = self.key(path);
        let url = self.bucket.put_object(self.credentials.as_ref(), &key).sign(SIGNED_FOR);
        self.http.client.put(url)
    }

    /// PUTs `bytes`; with `only_new`, asks the store not to replace an existing object (false
    /// when it answered so; stores that ignore the request replace it).
    fn put(&self, path: &str, bytes: &[u8], only_new: bool) -> Result<bool, TransportError> {
        let answer = self.send(
            "upload",
            path,
            || {
                let rb = self.put_request(path).body(bytes.to_vec());
                if only_new {
                    rb.header("If-None-Match", "*")
                } else {
                    rb
                }
            },
            |r| match r.status() {
                s if s.is_success() => Ok(Some(true)),
                StatusCode::PRECONDITION_FAILED => Ok(Some(false)),
                // A store that does not know conditional writes (the read before is the guard).
                StatusCode::NOT_IMPLEMENTED if only_new => Ok(None),
                StatusCode::NOT_FOUND => Err(self.not_found(r)),
                _ => Err(self.unexpected("upload", path, r)),
            },
        )?;
        match answer {
            Some(written) => Ok(written),
            None => self.put(path, bytes, false),
        }
    }

    fn write_one(&self, path: &str, bytes: &[u8]) -> Result<Written, TransportError> {
        // Stores such as Garage ignore If-None-Match. A stale read that does not show a file
        // written meanwhile costs nothing: only identical bytes are written at a path by anyone
        // else (entries are copied verbatim).
        http::write_checked(self, path, bytes, |only_new| self.put(path, bytes, only_new))
    }

    /// One page of the listing of keys under `prefix`, split at `/` (`max` keys at most).
    fn list_page(
        &self,
        prefix: &str,
        token: Option<&str>,
        max: usize,
    ) -> Result<rusty_s3::actions::ListObjectsV2Response, TransportError> {
        self.send(
            "list",
            prefix,
            || {
                let mut l = self.bucket.list_objects_v2(self.credentials.as_ref());
                l.with_prefix(prefix);
                l.with_delimiter("/");
                l.with_max_keys(max);
                if let Some(t) = token {
                    l.with_continuation_token(t);
                }
                self.http.client.get(l.sign(SIGNED_FOR))
            },
            |r| match r.status() {
                s if s.is_success() => self.answer(
                    "list",
                    prefix,
                    r,
                    "the store's listing",
                    rusty_s3::actions::ListObjectsV2::parse_response,
                ),
                StatusCode::NOT_FOUND => Err(self.not_found(r)),
                _ => Err(self.unexpected("list", prefix, r)),
            },
        )
    }

    /// The incomplete multipart uploads of the paths that start with `prefix`
    /// (ListMultipartUploads): `(path, upload id)`, oldest first.
    pub fn incomplete_uploads(
        &self,
        prefix: &str,
    ) -> Result<Vec<(String, String)>, TransportError> {
        let key = self.key(prefix);
        let path = prefix;
        let Some(c) = &self.credentials else { return Ok(vec![]) };
        self.send(
            "list uploads of",
            path,
            || {
                // Not among rusty-s3's actions: signed with its `sign` as they are.
                let query = [("prefix", key.as_str()), ("uploads", "")];
                let url = rusty_s3::signing::sign(
                    &jiff::Timestamp::now(),
                    rusty_s3::Method::Get,
                    self.bucket.base_url().clone(),
                    c.key(),
                    c.secret(),
                    c.token(),
                    self.bucket.region(),
                    SIGNED_FOR.as_secs(),
                    query.into_iter(),
                    std::iter::empty(),
                );
                self.http.client.get(url)
            },
            |r| match r.status() {
                s if s.is_success() => {
                    let text = http::text_within(r, ANSWER_BYTES, || self.too_long(path))?;
                    let mut found: Vec<(String, String, String)> = uploads_of(&text)
                        .into_iter()
                        .filter_map(|(k, id, initiated)| {
                            let p = k.strip_prefix(&self.prefix)?.to_string();
                            p.starts_with(prefix).then_some((initiated, p, id))
                        })
                        .collect();
                    found.sort();
                    Ok(found.into_iter().map(|(_, p, id)| (p, id)).collect())
                }
                StatusCode::NOT_FOUND => Err(self.not_found(r)),
                _ => Err(self.unexpected("list uploads of", path, r)),
            },
        )
    }

    /// The parts of upload `id` already stored, by number: `(ETag, size)`.
    fn stored_parts(
        &self,
        path: &str,
        key: &str,
        id: &str,
    ) -> Result<HashMap<u16, (String, u64)>, TransportError> {
        let mut parts = HashMap::new();
        let mut marker: Option<u16> = None;
        loop {
            let page = self.send(
                "list parts of",
                path,
                || {
                    let mut l = self.bucket.list_parts(self.credentials.as_ref(), key, id);
                    if let Some(m) = marker {
                        l.set_part_number_marker(m);
                    }
                    self.http.client.get(l.sign(SIGNED_FOR))
                },
                |r| match r.status() {
                    s if s.is_success() => self.answer(
                        "list parts of",
                        path,
                        r,
                        "the store's list of parts",
                        rusty_s3::actions::ListParts::parse_response,
                    ),
                    _ => Err(self.unexpected("list parts of", path, r)),
                },
            )?;
            for p in page.parts {
                parts.insert(p.number, (p.etag, p.size));
            }
            match page.next_part_number_marker {
                // Part numbers only go up: a store that sends one again would list for ever.
                Some(m) if marker.is_none_or(|old| m > old) => marker = Some(m),
                _ => return Ok(parts),
            }
        }
    }

    /// Aborts upload `id` so that the store frees its parts (best effort: a store that keeps
    /// them drops them by its own lifecycle rules).
    fn abort(&self, path: &str, key: &str, id: &str) {
        let _ = self.send(
            "upload",
            path,
            || {
                let url = self
                    .bucket
                    .abort_multipart_upload(self.credentials.as_ref(), key, id)
                    .sign(SIGNED_FOR);
                self.http.client.delete(url)
            },
            |r| match r.status() {
                s if s.is_success() || s == StatusCode::NOT_FOUND => Ok(()),
                _ => Err(self.unexpected("upload", path, r)),
            },
        );
    }

    /// An upload of `path` cut short before (this process or an earlier one stopped) to go on
    /// with: its id and the parts of it that hold exactly our bytes (their ETag is the MD5 of
    /// our part; a part that differs is sent again). Older incomplete uploads are aborted. A
    /// store (or a key) that does not list uploads or parts has nothing to go on with.
    fn resumable(
        &self,
        path: &str,
        key: &str,
        src: &Path,
        len: u64,
        size: u64,
    ) -> Result<Option<Resumed>, TransportError> {
        let Ok(uploads) = self.incomplete_uploads(path) else { return Ok(None) };
        let mut ids: Vec<String> =
            uploads.into_iter().filter(|(p, _)| p == path).map(|(_, id)| id).collect();
        let Some(newest) = ids.pop() else { return Ok(None) };
        for old in &ids {
            self.abort(path, key, old);
        }
        let Ok(stored) = self.stored_parts(path, key, &newest) else {
            self.abort(path, key, &newest);
            return Ok(None);
        };
        let mut kept = HashMap::new();
        for (number, (etag, stored_size)) in stored {
            let Some(offset) = u64::from(number).checked_sub(1).map(|i| i * size) else {
                continue;
            };
            if offset >= len || stored_size != size.min(len - offset) {
                continue;
            }
            let ours = md5_of(src, offset, stored_size)
                .map_err(|e| super::local_failure(self, "read local copy of", path, e))?;
            if etag.trim_matches('"').eq_ignore_ascii_case(&ours) {
                kept.insert(number, etag);
            }
        }
        Ok(Some((newest, kept)))
    }

    /// Uploads `len` bytes of `src` in parts (S3 multipart upload), several at once, each
    /// streamed from the file. An upload cut short earlier goes on from the parts it holds; one
    /// that fails here is left for the next try to go on with, unless the store refused to
    /// assemble it (then it is aborted and the next try starts over). `sent` counts the bytes
    /// stored or on their way.
    fn upload_parts(
        &self,
        path: &str,
        src: &Path,
        len: u64,
        sent: &Arc<AtomicU64>,
    ) -> Result<(), TransportError> {
        let key = self.key(path);
        let creds = self.credentials.as_ref();
        let size = part_size(len);
        let parts = len.div_ceil(size);
        let (upload_id, kept) = match self.resumable(path, &key, src, len, size)? {
            Some(found) => found,
            None => (self.create_upload(path, &key)?, HashMap::new()),
        };
        let part_len = |i: u64| size.min(len - i * size);
        let already: u64 =
            (0..parts).filter(|i| kept.contains_key(&((i + 1) as u16))).map(part_len).sum();
        sent.store(already, Ordering::Relaxed);
        // Once one part fails for good, the others are not started: the store is down, or
        // refuses them all alike.
        let stop = std::sync::atomic::AtomicBool::new(false);
        let etags = self.http.parallel_map(&self.location(), parts as usize, |i| {
            let number = (i + 1) as u16;
            if let Some(etag) = kept.get(&number) {
                return Ok(etag.clone());
            }
            if stop.load(Ordering::Relaxed) {
                return Err(self.fail("upload", path, "another part failed".into()));
            }
            let offset = i as u64 * size;
            let n = part_len(i as u64);
            let counter = Arc::new(AtomicU64::new(0));
            let etag = self.send(
                "upload",
                path,
                || {
                    // A retry sends the part again: what the failed try counted is taken back.
                    sent.fetch_sub(counter.swap(0, Ordering::Relaxed), Ordering::Relaxed);
                    let url =
                        self.bucket.upload_part(creds, &key, number, &upload_id).sign(SIGNED_FOR);
                    let body = http::file_body(src, offset, n, &[counter.clone(), sent.clone()]);
                    self.http.client.put(url).timeout(TRANSFER_TIMEOUT).body(body)
                },
                |r| match r.status() {
                    s if s.is_success() => r
                        .headers()
                        .get(reqwest::header::ETAG)
                        .and_then(|v| v.to_str().ok())
                        .map(String::from)
                        .ok_or_else(|| {
                            Failure::Fatal(self.fail(
                                "upload",
                                path,
                                "the store did not name the part it stored (no ETag)".into(),
                            ))
                        }),
                    _ => Err(self.unexpected("upload", path, r)),
                },
            );
            if etag.is_err() {
                stop.store(true, Ordering::Relaxed);
            }
            etag
        });
        // The first real failure, not a part that was not started because of it.
        let mut failed = None;
        let mut ok = Vec::new();
        for r in etags {
            match r {
                Ok(e) => ok.push(e),
                Err(e) if failed.is_none() || is_not_started(failed.as_ref()) => failed = Some(e),
                Err(_) => {}
            }
        }
        if let Some(e) = failed {
            return Err(e);
        }
        let etags = ok;
        let completed = self.send(
            "upload",
            path,
            || {
                let c = self.bucket.complete_multipart_upload(
                    creds,
                    &key,
                    &upload_id,
                    etags.iter().map(String::as_str),
                );
                let url = c.sign(SIGNED_FOR);
                self.http.client.post(url).timeout(TRANSFER_TIMEOUT).body(c.body())
            },
            |r| match r.status() {
                // A completion can fail after its 200 has been sent: the error is the body.
                s if s.is_success() => {
                    let text = http::text_within(r, ANSWER_BYTES, || self.too_long(path))?;
                    match error_of(&text) {
                        (code, _) if code.is_empty() => Ok(true),
                        (code, message) if code == "InternalError" || code == "SlowDown" => {
                            Err(Failure::Transient(format!("{code}: {message}"), None))
                        }
                        (code, message) => Err(Failure::Fatal(self.fail(
                            "upload",
                            path,
                            format!("the store could not assemble the parts ({code}: {message})"),
                        ))),
                    }
                }
                // Gone: completed by a try whose answer was lost (checked below), or aborted.
                StatusCode::NOT_FOUND => Ok(false),
                _ => Err(self.unexpected("upload", path, r)),
            },
        );
        match completed {
            Ok(true) => Ok(()),
            Ok(false) if self.size(path)? == Some(len) => Ok(()),
            Ok(false) => Err(self.fail(
                "upload",
                path,
                "the store lost the upload's parts; it starts over at the next sync".into(),
            )),
            Err(e @ TransportError::Failed { .. }) => {
                self.abort(path, &key, &upload_id);
                Err(e)
            }
            Err(e) => Err(e),
        }
    }

    /// Starts a multipart upload of `key`; its id.
    fn create_upload(&self, path: &str, key: &str) -> Result<String, TransportError> {
        self.send(
            "upload",
            path,
            || {
                let url = self
                    .bucket
                    .create_multipart_upload(self.credentials.as_ref(), key)
                    .sign(SIGNED_FOR);
                self.http.client.post(url)
            },
            |r| match r.status() {
                s if s.is_success() => self.answer(
                    "upload",
                    path,
                    r,
                    "the store's answer to a multipart upload",
                    |text| {
                        rusty_s3::actions::CreateMultipartUpload::parse_response(text)
                            .map(|c| c.upload_id().to_string())
                    },
                ),
                StatusCode::NOT_FOUND => Err(self.not_found(r)),
                _ => Err(self.unexpected("upload", path, r)),
            },
        )
    }
}

/// Reads `xml` as every kind of answer a store sends this transport (an error, a listing of
/// keys, of incomplete uploads, of parts, a new upload) — for the fuzz target: none may panic
/// or allocate without bound, whatever a store (or a proxy in front of it) sends.
pub fn read_answers(xml: &str) {
    let _ = error_of(xml);
    let _ = uploads_of(xml);
    let _ = rusty_s3::actions::ListObjectsV2::parse_response(xml);
    let _ = rusty_s3::actions::ListParts::parse_response(xml);
    let _ = rusty_s3::actions::CreateMultipartUpload::parse_response(xml);
}

/// An upload to go on with: its id, and the ETags of the parts it holds that are ours, by
/// number.
type Resumed = (String, HashMap<u16, String>);

/// Whether `e` is a part that was not started because another failed.
fn is_not_started(e: Option<&TransportError>) -> bool {
    matches!(e, Some(TransportError::Failed { reason, .. }) if reason == "another part failed")
}

/// Hex MD5 of `len` bytes of the file `src` from `offset` (an S3 part's ETag).
fn md5_of(src: &Path, offset: u64, len: u64) -> std::io::Result<String> {
    use md5::{Digest, Md5};
    use std::io::{Read, Seek};
    let mut f = std::fs::File::open(src)?;
    f.seek(std::io::SeekFrom::Start(offset))?;
    let mut f = f.take(len);
    let mut h = Md5::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// `(Key, UploadId, Initiated)` of each upload in a ListMultipartUploads answer.
pub(super) fn uploads_of(xml: &str) -> Vec<(String, String, String)> {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut out = Vec::new();
    let mut current: Option<[String; 3]> = None;
    let mut field: Option<usize> = None;
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Start(e)) => match e.local_name().as_ref() {
                b"Upload" => current = Some(Default::default()),
                b"Key" if current.is_some() => field = Some(0),
                b"UploadId" if current.is_some() => field = Some(1),
                b"Initiated" if current.is_some() => field = Some(2),
                _ => field = None,
            },
            Ok(
                e @ (quick_xml::events::Event::Text(_) | quick_xml::events::Event::GeneralRef(_)),
            ) => {
                if let (Some(i), Some(c), Some(text)) =
                    (field, current.as_mut(), http::xml_text(&e))
                {
                    c[i].push_str(&text);
                }
            }
            Ok(quick_xml::events::Event::End(e)) => {
                field = None;
                if e.local_name().as_ref() == b"Upload" {
                    if let Some([k, id, at]) = current.take() {
                        out.push((k, id, at));
                    }
                }
            }
            Ok(quick_xml::events::Event::Eof) | Err(_) => break,
            _ => {}
        }
    }
    out
}

impl Transport for S3 {
    fn location(&self) -> String {
        self.address.clone()
    }

    fn credentials(&self) -> (Option<String>, Option<String>) {
        match &self.credentials {
            Some(c) => (Some(c.key().to_string()), Some(c.secret().to_string())),
            None => (None, None),
        }
    }

    fn check(&self) -> Result<(), TransportError> {
        if self.credentials.is_none() {
            return Err(TransportError::Unreachable {
                location: self.location(),
                reason: "no access key for the store: give one (--access-key), or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or a profile in ~/.aws/credentials".into(),
            });
        }
        self.list_page(&self.prefix, None, 1).map(|_| ())
    }

    fn read(&self, path: &str) -> Result<Option<Vec<u8>>, TransportError> {
        self.send(
            "read",
            path,
            || self.get(path),
            |r| match r.status() {
                StatusCode::NOT_FOUND => {
                    let (code, _) = error_of(&http::error_text(r));
                    if code == "NoSuchBucket" {
                        Err(Failure::Fatal(self.no_bucket_if(&code)))
                    } else {
                        Ok(None)
                    }
                }
                s if s.is_success() => http::body_within_limit(&self.location(), path, r).map(Some),
                _ => Err(self.unexpected("read", path, r)),
            },
        )
    }

    fn exists(&self, path: &str) -> Result<bool, TransportError> {
        self.size(path).map(|s| s.is_some())
    }

    fn list(&self, dir: &str) -> Result<Vec<String>, TransportError> {
        let dir = dir.trim_matches('/');
        let prefix =
            if dir.is_empty() { self.prefix.clone() } else { format!("{}{dir}/", self.prefix) };
        let mut names = Vec::new();
        let mut token: Option<String> = None;
        let mut tokens = std::collections::HashSet::new();
        for _ in 0..MAX_PAGES {
            let page = self.list_page(&prefix, token.as_deref(), PAGE_KEYS)?;
            let keys = page.contents.iter().map(|c| c.key.as_str());
            let folders = page.common_prefixes.iter().map(|p| p.prefix.as_str());
            for k in keys.chain(folders) {
                if let Some(name) = k.strip_prefix(&prefix) {
                    let name = name.trim_end_matches('/');
                    if !name.is_empty() && !name.contains('/') {
                        names.push(name.to_string());
                    }
                }
            }
            match page.next_continuation_token {
                // A store that sends a token again would list for ever.
                Some(t) if !t.is_empty() && tokens.insert(t.clone()) => token = Some(t),
                _ => {
                    names.sort();
                    names.dedup();
                    return Ok(names);
                }
            }
        }
        Err(self.fail(
            "list",
            dir,
            format!(
                "the folder holds more than {} names; it was not read to its end",
                MAX_PAGES * PAGE_KEYS
            ),
        ))
    }

    fn write_new(&self, path: &str, bytes: &[u8]) -> Result<Written, TransportError> {
        self.write_one(path, bytes)
    }

    fn overwrite(&self, path: &str, bytes: &[u8]) -> Result<(), TransportError> {
        // A PUT replaces the whole object at once.
        self.put(path, bytes, false).map(|_| ())
    }

    fn remove(&self, path: &str) -> Result<bool, TransportError> {
        // S3 answers 204 whether or not the object was there: look first.
        if self.size(path)?.is_none() {
            return Ok(false);
        }
        self.send(
            "remove",
            path,
            || {
                let key = self.key(path);
                let url =
                    self.bucket.delete_object(self.credentials.as_ref(), &key).sign(SIGNED_FOR);
                self.http.client.delete(url)
            },
            |r| match r.status() {
                s if s.is_success() => Ok(true),
                StatusCode::NOT_FOUND => Ok(false),
                _ => Err(self.unexpected("remove", path, r)),
            },
        )
    }

    fn read_many(&self, paths: &[String]) -> Vec<Result<Option<Vec<u8>>, TransportError>> {
        self.http.parallel_map(&self.location(), paths.len(), |i| self.read(&paths[i]))
    }

    fn read_ahead(&self) -> usize {
        self.http.parallel * 2
    }

    fn size(&self, path: &str) -> Result<Option<u64>, TransportError> {
        self.send(
            "stat",
            path,
            || self.head(path),
            |r| match r.status() {
                StatusCode::NOT_FOUND => Ok(None),
                s if s.is_success() => http::length(&r).map(Some).ok_or_else(|| {
                    Failure::Fatal(self.fail("stat", path, "the store sent no file length".into()))
                }),
                _ => Err(self.unexpected("stat", path, r)),
            },
        )
    }

    fn download(
        &self,
        path: &str,
        dest: &Path,
        limit: u64,
        progress: &mut dyn FnMut(u64),
    ) -> Result<bool, TransportError> {
        let progress = Mutex::new(progress);
        self.send(
            "read",
            path,
            || self.get(path).timeout(TRANSFER_TIMEOUT),
            |r| match r.status() {
                StatusCode::NOT_FOUND => Ok(false),
                s if s.is_success() => http::body_to_file(
                    r,
                    dest,
                    limit,
                    &progress,
                    |e| super::local_failure(self, "save", path, e),
                    || super::too_large(self, path, limit),
                )
                .map(|()| true),
                _ => Err(self.unexpected("read", path, r)),
            },
        )
    }

    fn upload(
        &self,
        path: &str,
        src: &Path,
        progress: &mut dyn FnMut(u64),
    ) -> Result<Written, TransportError> {
        let (len, at) = http::upload_start(self, path, src)?;
        // Same length at an asset's own path: the same sealed file (readers verify anyway).
        // An upload of it cut short (another device finished it) only costs storage: gone.
        if at == AtPath::SameLength {
            if len > MULTIPART_FROM {
                for (p, id) in self.incomplete_uploads(path).unwrap_or_default() {
                    if p == path {
                        self.abort(path, &self.key(path), &id);
                    }
                }
            }
            return Ok(Written::AlreadyPresent);
        }
        let sent = Arc::new(AtomicU64::new(0));
        let work = || {
            if len > MULTIPART_FROM {
                return self.upload_parts(path, src, len, &sent);
            }
            self.send(
                "upload",
                path,
                || {
                    sent.store(0, Ordering::Relaxed);
                    let body = http::file_body(src, 0, len, std::slice::from_ref(&sent));
                    self.put_request(path).timeout(TRANSFER_TIMEOUT).body(body)
                },
                |r| match r.status() {
                    s if s.is_success() => Ok(()),
                    _ => Err(self.unexpected("upload", path, r)),
                },
            )
        };
        http::with_progress(
            work,
            || sent.load(Ordering::Relaxed),
            progress,
            || self.fail("upload", path, "the upload stopped unexpectedly".into()),
        )?;
        progress(len);
        Ok(Written::Created)
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
    use percent_encoding::utf8_percent_encode;

    #[test]
    fn addresses_parse_with_defaults_and_round_trip() {
        let a = Address::parse("s3://notes/family/ws?endpoint=http://127.0.0.1:3900&region=garage")
            .unwrap();
        assert_eq!(a.bucket, "notes");
        assert_eq!(a.prefix, "family/ws/");
        assert_eq!(a.endpoint.as_str(), "http://127.0.0.1:3900/");
        assert_eq!(a.region, "garage");
        assert!(a.path_style, "a custom endpoint is path style unless told");
        assert_eq!(
            a.canonical(),
            "s3://notes/family/ws/?endpoint=http://127.0.0.1:3900&region=garage"
        );
        assert_eq!(Address::parse(&a.canonical()).unwrap(), a, "the canonical form parses back");

        let aws = Address::parse("s3://my-bucket").unwrap();
        assert_eq!(aws.endpoint.as_str(), "https://s3.us-east-1.amazonaws.com/");
        assert!(!aws.path_style);
        assert_eq!(aws.prefix, "");
        assert_eq!(aws.canonical(), "s3://my-bucket/?region=us-east-1");

        let v = Address::parse("s3://b.c/x?endpoint=https://s3.example.org&style=virtual").unwrap();
        assert!(!v.path_style);
        assert!(v.canonical().ends_with("&style=virtual"), "{}", v.canonical());

        // Prefixes with characters that mean something in an address come back the same.
        for prefix in ["notes #2", "what?", "100% mine", "a%41b", "été/sub dir"] {
            let typed = format!(
                "s3://notes/{}?endpoint=http://h:1",
                utf8_percent_encode(prefix, percent_encoding::NON_ALPHANUMERIC)
            );
            let a = Address::parse(&typed).unwrap();
            assert_eq!(a.prefix, format!("{prefix}/"));
            let back = Address::parse(&a.canonical()).unwrap();
            assert_eq!(back, a, "{prefix}: {}", a.canonical());
        }
        // AWS endpoints other than the regional default (VPC, FIPS, dual-stack) are kept.
        let vpc = "s3://notes/?endpoint=https://bucket.vpce-1a2b.s3.us-east-1.vpce.amazonaws.com&region=us-east-1";
        let a = Address::parse(vpc).unwrap();
        assert!(a.canonical().contains("vpce-1a2b"), "{}", a.canonical());
        assert_eq!(Address::parse(&a.canonical()).unwrap(), a);
        // A dotted bucket on AWS is reached by path: its name is no host of AWS's certificate.
        assert!(Address::parse("s3://notes.example.org").unwrap().path_style);
        let given = Address::parse("s3://bkt?endpoint=https://s3.us-east-1.amazonaws.com").unwrap();
        assert_eq!(Address::parse(&given.canonical()).unwrap(), given);

        for bad in [
            "s3://AKID:se%2Fcret@bucket/p",
            "s3://bucket/p?endpoint=https://AK:SK@host",
            "https://bucket/x",
            "s3://Bad_Bucket/x",
            "s3://ab",
            "s3://bucket?endpoint=ftp://h",
            "s3://bucket?style=sideways",
            "s3://bucket?color=blue",
        ] {
            assert!(Address::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn keys_are_under_the_prefix_and_the_secret_never_shows() {
        let s =
            S3::new("s3://notes/ws?endpoint=http://h:1", Some("k".into()), Some("secret".into()))
                .unwrap();
        assert_eq!(s.key("index.json"), "ws/index.json");
        assert!(!s.location().contains("secret"));
        assert_eq!(s.access_key(), Some("k"));
        let err =
            S3::new("s3://notes?region=", Some("k".into()), Some(String::new())).err().unwrap();
        assert!(err.to_string().contains("secret key"), "{err}");
        for typed in ["s3://AK:SK@notes/x", "s3://notes/x?endpoint=https://AK:SK@h"] {
            let err = S3::new(typed, None, None).err().unwrap().to_string();
            assert!(!err.contains("SK"), "{err}");
        }
    }

    #[test]
    fn credentials_come_from_the_environment_then_the_profile() {
        let file = "[default]\naws_access_key_id = D\naws_secret_access_key = DS\n\n# team\n[work]\naws_access_key_id=W\naws_secret_access_key=WS\naws_session_token=T\n";
        let read =
            |p: &Path| (p == Path::new("/home/u/.aws/credentials")).then(|| file.to_string());
        let home = Some(Path::new("/home/u"));
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |n: &str| pairs.iter().find(|(k, _)| *k == n).map(|(_, v)| v.to_string())
        };
        let from_env = env(&[("AWS_ACCESS_KEY_ID", "E"), ("AWS_SECRET_ACCESS_KEY", "ES")]);
        assert_eq!(aws_credentials(&from_env, home, &read), Some(("E".into(), "ES".into(), None)));
        assert_eq!(aws_credentials(&env(&[]), home, &read), Some(("D".into(), "DS".into(), None)));
        assert_eq!(
            aws_credentials(&env(&[("AWS_PROFILE", "work")]), home, &read),
            Some(("W".into(), "WS".into(), Some("T".into())))
        );
        assert_eq!(aws_credentials(&env(&[("AWS_PROFILE", "none")]), home, &read), None);
        assert_eq!(aws_credentials(&env(&[]), None, &read), None);
    }

    #[test]
    fn error_bodies_give_their_code() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchBucket</Code><Message>The bucket &amp; more</Message><BucketName>x</BucketName></Error>"#;
        assert_eq!(error_of(xml), ("NoSuchBucket".into(), "The bucket & more".into()));
        assert_eq!(error_of(""), (String::new(), String::new()));
        assert_eq!(error_of("<a><b><Code>deep</Code></b></a>").0, "", "only the top level");
    }

    #[test]
    fn incomplete_uploads_are_read_from_a_listing() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>notes</Bucket>
<KeyMarker></KeyMarker><Upload><Key>ws/c/assets/1/0.age</Key><UploadId>abc</UploadId><Initiated>2026-12-06T12:00:00.000Z</Initiated></Upload>
<Upload><Key>ws/c/assets/1/0.age.x</Key><UploadId>d&amp;e</UploadId><Initiated>2026-12-05T12:00:00.000Z</Initiated></Upload>
<IsTruncated>false</IsTruncated></ListMultipartUploadsResult>"#;
        assert_eq!(
            uploads_of(xml),
            vec![
                ("ws/c/assets/1/0.age".into(), "abc".into(), "2026-12-06T12:00:00.000Z".into()),
                ("ws/c/assets/1/0.age.x".into(), "d&e".into(), "2026-12-05T12:00:00.000Z".into()),
            ]
        );
        assert!(uploads_of("<not xml").is_empty());
    }

    #[test]
    fn parts_stay_within_the_store_limits() {
        assert_eq!(part_size(1 << 30), PART);
        let huge = 200u64 << 30;
        assert!(huge.div_ceil(part_size(huge)) <= MAX_PARTS);
        assert_eq!(part_size(huge) % (1 << 20), 0);
    }
}
