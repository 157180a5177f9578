//! Attachments as Resilient Sync **assets** (FORMAT.md §10): the `asset:///` URL a note uses to
//! reference one, and the sealed asset file — an age file whose plaintext is a short header
//! binding it to its workspace, client and index, followed by the file's bytes. Sealing and
//! opening stream through fixed-size buffers, so a large attachment never sits in memory.

use std::fmt;
use std::io::{self, Read, Write};

use age::secrecy::ExposeSecret as _;
use hmac::{Hmac, Mac};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::format::crypto::WorkspaceKey;
use crate::format::epoch::{EpochId, Keyring, EPOCH_ID_LEN};
use crate::format::stream::{for_each_chunk, CHUNK};

/// Magic bytes of an asset header.
pub const MAGIC: &[u8; 4] = b"RSNA";
/// Header version of an asset sealed with epoch 0's key (FORMAT.md §10.2).
pub const VERSION: u8 = 1;
/// Header version of an asset sealed with a later key epoch's key: the header names the epoch.
pub const VERSION_EPOCH: u8 = 2;
/// Bytes of a version-1 header before the MAC.
const SIGNED_LEN: usize = 94;
/// Version-1 header length including the MAC; the content starts here.
pub const HEADER_LEN: usize = SIGNED_LEN + 32;
/// Version-2 header length including the MAC: version 1's fields, then the epoch, then the MAC.
pub const HEADER_LEN_EPOCH: usize = HEADER_LEN + EPOCH_ID_LEN;
/// HKDF `info` of the asset MAC key (distinct from the entry MAC key).
const MAC_INFO: &[u8] = b"resilient-notes/v1/asset-mac";

/// Characters left as they are in URL parts: RFC 3986 "unreserved".
const ENCODE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// Which asset: its writer's clientId and its index in that client's asset log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AssetId {
    /// The client that wrote it.
    pub client: Uuid,
    /// Its index in that client's asset log.
    pub index: u64,
}

impl fmt::Display for AssetId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.client.hyphenated(), self.index)
    }
}

/// A parsed `asset:///<clientId>/<index>/<filename>?size=…&type=…&hash=…` reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AssetRef {
    /// Where the asset lives.
    pub id: AssetId,
    /// The original file name (display only; never used as a path as it is).
    pub name: String,
    /// Content length in bytes.
    pub size: u64,
    /// MIME type (`application/octet-stream` when the URL has none).
    pub mime: String,
    /// SHA-256 of the content.
    pub hash: [u8; 32],
}

/// Why an `asset:///` URL was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("'{url}' is not a valid attachment link: {reason}")]
pub struct BadUrl {
    /// The URL (shortened when long).
    pub url: String,
    /// What is wrong.
    pub reason: String,
}

impl AssetRef {
    /// Parses the long form (`size`, `type`, `hash`) or the short form (`s`, `t`, `d`).
    pub fn parse(url: &str) -> Result<Self, BadUrl> {
        let bad = |reason: &str| BadUrl {
            url: url.chars().take(120).collect(),
            reason: reason.to_string(),
        };
        let rest = url
            .get(..9)
            .filter(|p| p.eq_ignore_ascii_case("asset:///"))
            .map(|_| &url[9..])
            .ok_or_else(|| bad("it must start with asset:///"))?;
        let (path, query) =
            rest.split_once('?').ok_or_else(|| bad("it has no ?size=…&hash=… part"))?;
        let query = query.split('#').next().unwrap_or("");
        let parts: Vec<&str> = path.split('/').collect();
        let [client, index, name] = parts[..] else {
            return Err(bad("the path must be <clientId>/<index>/<filename>"));
        };
        let client = crate::format::path::parse_client_dir(client)
            .ok_or_else(|| bad("the client id is not a lowercase UUID"))?;
        if index.is_empty()
            || !index.bytes().all(|b| b.is_ascii_digit())
            || (index.len() > 1 && index.starts_with('0'))
        {
            return Err(bad("the index is not a number"));
        }
        let index: u64 = index.parse().map_err(|_| bad("the index is too large"))?;
        let name = percent_encoding::percent_decode_str(name)
            .decode_utf8()
            .map_err(|_| bad("the file name is not UTF-8"))?
            .into_owned();
        if name.is_empty() {
            return Err(bad("the file name is empty"));
        }
        let (mut size, mut mime, mut hash) = (None, None, None);
        for (k, v) in form_urlencoded::parse(query.as_bytes()) {
            match &*k {
                "size" | "s" => {
                    size = Some(v.parse::<u64>().map_err(|_| bad("size is not a number"))?)
                }
                "type" | "t" => mime = Some(v.into_owned()),
                "hash" | "d" => {
                    hash = Some(parse_hash(&v).ok_or_else(|| {
                        bad("hash must be the 64 hex digits of the content's SHA-256")
                    })?)
                }
                _ => {}
            }
        }
        let size = size.ok_or_else(|| bad("it has no size"))?;
        let hash = hash.ok_or_else(|| bad("it has no hash"))?;
        let mime =
            mime.filter(|m| !m.is_empty()).unwrap_or_else(|| "application/octet-stream".into());
        Ok(AssetRef { id: AssetId { client, index }, name, size, mime, hash })
    }

    /// The long form, every part percent-encoded (so it fits in a markdown link).
    pub fn to_url(&self) -> String {
        format!(
            "asset:///{}/{}/{}?size={}&type={}&hash={}",
            self.id.client.hyphenated(),
            self.id.index,
            utf8_percent_encode(&self.name, ENCODE),
            self.size,
            utf8_percent_encode(&self.mime, ENCODE),
            hex(&self.hash)
        )
    }

    /// True for images a preview can show inline.
    pub fn is_image(&self) -> bool {
        matches!(
            self.mime.as_str(),
            "image/png"
                | "image/jpeg"
                | "image/gif"
                | "image/webp"
                | "image/avif"
                | "image/bmp"
                | "image/svg+xml"
        )
    }

    /// The markdown a note gets when the file is attached: an image or a link.
    pub fn markdown(&self) -> String {
        let label: String = self
            .name
            .chars()
            .map(|c| if matches!(c, '[' | ']' | '\\') { ' ' } else { c })
            .collect();
        if self.is_image() {
            format!("![{label}]({})", self.to_url())
        } else {
            format!("[{label}]({})", self.to_url())
        }
    }
}

fn parse_hash(s: &str) -> Option<[u8; 32]> {
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// Decodes `%XX` escapes (invalid UTF-8 becomes U+FFFD), e.g. a file name sent by the UI.
pub fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned()
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Every `asset:///` reference in a text (a note body), in order, duplicates removed.
/// A URL ends at whitespace or at `)`, `>`, `"`, `'`, `]`; invalid ones are skipped.
pub fn find_refs(text: &str) -> Vec<AssetRef> {
    let mut out: Vec<AssetRef> = Vec::new();
    let mut rest = text;
    while let Some(pos) = find_ci(rest, "asset:///") {
        let tail = &rest[pos..];
        let end = tail
            .find(|c: char| c.is_whitespace() || matches!(c, ')' | '>' | '"' | '\'' | ']' | '<'))
            .unwrap_or(tail.len());
        if let Ok(r) = AssetRef::parse(&tail[..end]) {
            if !out.iter().any(|o| o.id == r.id && o.hash == r.hash) {
                out.push(r);
            }
        }
        rest = &tail[end.max(9)..];
    }
    out
}

fn find_ci(hay: &str, needle: &str) -> Option<usize> {
    hay.as_bytes().windows(needle.len()).position(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

/// SHA-256 and length of everything `r` yields, read in chunks.
pub fn hash_reader(r: impl Read) -> io::Result<([u8; 32], u64)> {
    let mut h = Sha256::new();
    let n = for_each_chunk(r, |chunk, _| {
        h.update(chunk);
        Ok(())
    })?;
    Ok((h.finalize().into(), n))
}

/// The fields of an asset header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AssetHeader {
    /// Workspace the asset belongs to.
    pub workspace: Uuid,
    /// Which asset.
    pub id: AssetId,
    /// Writer's clock, ms since the Unix epoch (informational).
    pub timestamp: i64,
    /// Content length.
    pub size: u64,
    /// SHA-256 of the content.
    pub hash: [u8; 32],
    /// The key epoch whose key seals it (epoch 0: a version-1 header).
    pub epoch: EpochId,
}

/// The asset MAC key: HKDF-SHA256(salt = workspaceId, ikm = identity string, info =
/// "resilient-notes/v1/asset-mac"); `None` in a plaintext workspace.
fn mac_key(key: &WorkspaceKey, workspace: &Uuid) -> Option<[u8; 32]> {
    let secret = key.secret()?;
    let hk =
        hkdf::Hkdf::<Sha256>::new(Some(workspace.as_bytes()), secret.expose_secret().as_bytes());
    let mut k = [0u8; 32];
    hk.expand(MAC_INFO, &mut k).expect("32 bytes is a valid HKDF length");
    Some(k)
}

fn mac(key: Option<&[u8; 32]>, signed: &[u8]) -> [u8; 32] {
    match key {
        Some(k) => {
            let mut m = <Hmac<Sha256> as Mac>::new_from_slice(k).expect("any key size");
            m.update(signed);
            m.finalize().into_bytes().into()
        }
        None => [0u8; 32],
    }
}

impl AssetHeader {
    /// The header bytes, MAC included: 126 for epoch 0 (version 1), 150 for a later epoch
    /// (version 2). `key` is the key of [`AssetHeader::epoch`].
    pub fn encode(&self, key: &WorkspaceKey) -> Vec<u8> {
        let epoch = !self.epoch.is_zero() && key.is_encrypted();
        let signed = if epoch { SIGNED_LEN + EPOCH_ID_LEN } else { SIGNED_LEN };
        let mut h = vec![0u8; signed + 32];
        h[0..4].copy_from_slice(MAGIC);
        h[4] = if epoch { VERSION_EPOCH } else { VERSION };
        h[5] = 0;
        h[6..22].copy_from_slice(self.workspace.as_bytes());
        h[22..38].copy_from_slice(self.id.client.as_bytes());
        h[38..46].copy_from_slice(&self.id.index.to_be_bytes());
        h[46..54].copy_from_slice(&self.timestamp.to_be_bytes());
        h[54..62].copy_from_slice(&self.size.to_be_bytes());
        h[62..94].copy_from_slice(&self.hash);
        if epoch {
            h[94..SIGNED_LEN + EPOCH_ID_LEN].copy_from_slice(&self.epoch.to_bytes());
        }
        let tag = mac(mac_key(key, &self.workspace).as_ref(), &h[..signed]);
        h[signed..].copy_from_slice(&tag);
        h
    }

    /// How long the header that starts with these (at least 5) bytes is: the version byte
    /// says. An unknown version or magic gives version 1's length; [`AssetHeader::decode`]
    /// refuses it.
    fn len_of(start: &[u8]) -> usize {
        if start.len() > 4 && &start[0..4] == MAGIC && start[4] == VERSION_EPOCH {
            HEADER_LEN_EPOCH
        } else {
            HEADER_LEN
        }
    }

    /// Parses and authenticates header bytes (the whole header, [`AssetHeader::len_of`] long):
    /// a version-2 header with the key of the epoch it names, which `keys` must hold.
    fn decode(h: &[u8], keys: &Keyring, workspace: &Uuid) -> Result<Self, AssetFailure> {
        if &h[0..4] != MAGIC {
            return Err(AssetFailure::Invalid("it is not an asset file".into()));
        }
        if h[4] != VERSION && h[4] != VERSION_EPOCH {
            return Err(AssetFailure::Invalid(format!("it uses asset version {}, newer than this program understands; update Resilient Notes", h[4])));
        }
        if h[5] != 0 {
            return Err(AssetFailure::Invalid("it sets reserved flags".into()));
        }
        let signed = h.len() - 32;
        let epoch = if h[4] == VERSION_EPOCH {
            let named = EpochId::from_bytes(h[94..signed].try_into().expect("24 bytes"))
                .filter(|e| !e.is_zero() && keys.epoch0().is_encrypted())
                .ok_or_else(|| {
                    AssetFailure::Invalid("its header names no valid key epoch".into())
                })?;
            named
        } else {
            EpochId::ZERO
        };
        let key = keys.key(&epoch).ok_or_else(|| AssetFailure::Undecryptable(NOT_GIVEN.into()))?;
        let ok = match mac_key(&key, workspace) {
            Some(k) => {
                let mut m = <Hmac<Sha256> as Mac>::new_from_slice(&k).expect("any key size");
                m.update(&h[..signed]);
                m.verify_slice(&h[signed..]).is_ok()
            }
            None => h[signed..].iter().all(|b| *b == 0),
        };
        if !ok {
            return Err(AssetFailure::Invalid(
                "its authentication code is wrong (forged or damaged)".into(),
            ));
        }
        let u = |r: std::ops::Range<usize>| Uuid::from_bytes(h[r].try_into().expect("16 bytes"));
        let n = |r: std::ops::Range<usize>| u64::from_be_bytes(h[r].try_into().expect("8 bytes"));
        Ok(AssetHeader {
            workspace: u(6..22),
            id: AssetId { client: u(22..38), index: n(38..46) },
            timestamp: n(46..54) as i64,
            size: n(54..62),
            hash: h[62..94].try_into().expect("32 bytes"),
            epoch,
        })
    }
}

/// Why a device cannot open an asset sealed for its workspace, said to its user.
const NOT_GIVEN: &str = "it was sealed with a key this device has not been given (the workspace's passphrase was changed, or this device was removed from the workspace), or for another workspace";

/// Why an asset file could not be opened.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AssetFailure {
    /// The file ends early: still being copied or uploaded. Retry later.
    #[error("the file is not complete yet (still being copied?); it is fetched again later")]
    Incomplete,
    /// The file cannot be decrypted with any key this device holds.
    #[error("it cannot be decrypted with the keys this device holds: {0}")]
    Undecryptable(String),
    /// The file decrypts but is not this asset (wrong place, wrong hash, malformed).
    #[error("{0}")]
    Invalid(String),
    /// Writing the output failed.
    #[error("writing the attachment failed: {0}")]
    Output(String),
}

/// Writes the sealed asset file for `content` (whose hash and size are in `header`) to `out`:
/// an age file (binary) to the recipient of `key`, the key of the header's epoch, or the plain
/// header + content in a plaintext workspace. Fails if `content` does not yield exactly `header.size` bytes.
pub fn seal(
    key: &WorkspaceKey,
    header: &AssetHeader,
    content: impl Read,
    out: impl Write,
) -> io::Result<()> {
    let head = header.encode(key);
    match key {
        WorkspaceKey::Age { identity, .. } => {
            let recipient = identity.to_public();
            let enc =
                age::Encryptor::with_recipients(std::iter::once(&recipient as &dyn age::Recipient))
                    .map_err(io::Error::other)?;
            let mut w = enc.wrap_output(out)?;
            w.write_all(&head)?;
            copy_exact(content, &mut w, header.size)?;
            w.finish()?.flush()
        }
        WorkspaceKey::Plaintext => {
            let mut out = out;
            out.write_all(&head)?;
            copy_exact(content, &mut out, header.size)?;
            out.flush()
        }
    }
}

fn copy_exact(r: impl Read, w: &mut impl Write, size: u64) -> io::Result<()> {
    let done = for_each_chunk(r, |chunk, done| {
        if done > size {
            return Err(io::Error::other("the file grew while it was being attached"));
        }
        w.write_all(chunk)
    })?;
    if done != size {
        return Err(io::Error::other("the file changed while it was being attached"));
    }
    Ok(())
}

/// Opens a sealed asset file read from `input` and writes its content to `out`, checking
/// everything before returning Ok: decryption (age authenticates every 64 KiB chunk and the end),
/// the header's MAC, that it is the asset `want` names (workspace, client, index, size, hash),
/// and the content's SHA-256. On any error `out` holds unverified bytes and must be discarded.
pub fn open(
    keys: &Keyring,
    workspace: &Uuid,
    want: &AssetRef,
    input: impl Read,
    out: impl Write,
) -> Result<(), AssetFailure> {
    open_plain(keys, workspace, want, plaintext(keys, input)?, out)
}

/// The plaintext of a sealed asset file: age's streaming decryptor with every epoch key held
/// (an asset has one stanza, for the key of the epoch it was sealed in), or the file itself in
/// a plaintext workspace.
fn plaintext<'a, R: Read + 'a>(
    keys: &Keyring,
    input: R,
) -> Result<Box<dyn Read + 'a>, AssetFailure> {
    if !keys.epoch0().is_encrypted() {
        return Ok(Box::new(input));
    }
    let held = keys.held();
    let identities = held.iter().filter_map(|k| k.age_identity()).map(|i| i as &dyn age::Identity);
    let dec = age::Decryptor::new(input).map_err(|e| classify(&e))?;
    Ok(Box::new(dec.decrypt(identities).map_err(|e| classify(&e))?))
}

fn classify(e: &age::DecryptError) -> AssetFailure {
    match e {
        // A cut-off or damaged stream, or a header cut short: the file may still be arriving.
        age::DecryptError::Io(_) | age::DecryptError::InvalidHeader => AssetFailure::Incomplete,
        age::DecryptError::NoMatchingKeys => AssetFailure::Undecryptable(NOT_GIVEN.into()),
        other => AssetFailure::Undecryptable(other.to_string()),
    }
}

fn read_full(r: &mut impl Read, buf: &mut [u8]) -> Result<usize, AssetFailure> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            // age's stream reader reports a cut-off or damaged chunk as an I/O error.
            Err(_) => return Err(AssetFailure::Incomplete),
        }
    }
    Ok(n)
}

/// Reads a whole header (version 1 or 2) from a plaintext stream and authenticates it.
fn read_header_from(
    keys: &Keyring,
    workspace: &Uuid,
    r: &mut impl Read,
) -> Result<AssetHeader, AssetFailure> {
    let mut head = vec![0u8; HEADER_LEN];
    if read_full(r, &mut head)? < HEADER_LEN {
        return Err(AssetFailure::Incomplete);
    }
    let len = AssetHeader::len_of(&head);
    if len > HEADER_LEN {
        head.resize(len, 0);
        if read_full(r, &mut head[HEADER_LEN..])? < len - HEADER_LEN {
            return Err(AssetFailure::Incomplete);
        }
    }
    AssetHeader::decode(&head, keys, workspace)
}

fn open_plain(
    keys: &Keyring,
    workspace: &Uuid,
    want: &AssetRef,
    mut r: impl Read,
    mut out: impl Write,
) -> Result<(), AssetFailure> {
    let h = read_header_from(keys, workspace, &mut r)?;
    if h.workspace != *workspace {
        return Err(AssetFailure::Invalid("it belongs to another workspace".into()));
    }
    if h.id != want.id {
        return Err(AssetFailure::Invalid(format!(
            "it is asset {} stored in the place of {}",
            h.id, want.id
        )));
    }
    if h.hash != want.hash || h.size != want.size {
        return Err(AssetFailure::Invalid(
            "its content does not match the hash and size in the note's link".into(),
        ));
    }
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; CHUNK];
    let mut done = 0u64;
    while done < h.size {
        let want_now = (h.size - done).min(CHUNK as u64) as usize;
        let k = read_full(&mut r, &mut buf[..want_now])?;
        if k == 0 {
            return Err(AssetFailure::Incomplete);
        }
        hasher.update(&buf[..k]);
        out.write_all(&buf[..k]).map_err(|e| AssetFailure::Output(e.to_string()))?;
        done += k as u64;
    }
    if read_full(&mut r, &mut buf[..1])? != 0 {
        return Err(AssetFailure::Invalid("it has bytes after its content".into()));
    }
    let got: [u8; 32] = hasher.finalize().into();
    if got != h.hash {
        return Err(AssetFailure::Invalid("its content does not match its hash".into()));
    }
    out.flush().map_err(|e| AssetFailure::Output(e.to_string()))
}

/// Reads just the header of a sealed asset file (to rebuild the local asset table).
pub fn read_header(
    keys: &Keyring,
    workspace: &Uuid,
    input: impl Read,
) -> Result<AssetHeader, AssetFailure> {
    read_header_from(keys, workspace, &mut plaintext(keys, input)?)
}

/// The most bytes a sealed file of `size` content bytes can take: header, content, and age's
/// overhead (its header, at most ~200 bytes for one X25519 stanza, plus 16 bytes per 64 KiB
/// chunk), with room to spare. Downloads stop beyond it.
pub fn sealed_len_limit(size: u64) -> u64 {
    size.saturating_add(HEADER_LEN_EPOCH as u64)
        .saturating_add((size / (64 * 1024) + 2) * 16)
        .saturating_add(4096)
}

/// A name as it may be shown or written: without control characters and without the
/// invisible format characters (zero-width spaces, the byte-order mark, and the direction
/// overrides and isolates that make "invoice\u{202e}fdp.bat" display as "invoicetab.pdf").
pub fn shown_name(name: &str) -> String {
    name.chars().filter(|c| !c.is_control() && !is_invisible_format(*c)).collect()
}

/// Unicode format characters that change how a name displays without showing themselves.
fn is_invisible_format(c: char) -> bool {
    matches!(c,
        '\u{00ad}' | '\u{061c}' | '\u{180e}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}'
        | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{206f}' | '\u{feff}' | '\u{fff9}'..='\u{fffb}')
}

/// Whether an attachment named `file_name` may be handed to the system's default program
/// ("Open"): only kinds that show content and run nothing — pictures, PDF, plain text, audio,
/// video, office documents without macros. Anything else (a script, a `.desktop` launcher, an
/// executable, SVG, an archive) is shown in its folder instead: the sender chose its name.
pub fn opens_directly(file_name: &str) -> bool {
    const INERT: &[&str] = &[
        "png", "jpg", "jpeg", "gif", "webp", "bmp", "tif", "tiff", "heic", "avif", "pdf", "txt",
        "md", "csv", "mp3", "ogg", "oga", "flac", "wav", "m4a", "opus", "mp4", "m4v", "webm",
        "mkv", "mov", "odt", "ods", "odp", "docx", "xlsx", "pptx", "epub",
    ];
    let name = safe_file_name(file_name);
    match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => INERT.contains(&ext.to_ascii_lowercase().as_str()),
        _ => false,
    }
}

/// A file name safe to create on any platform from an attachment's display name: no path
/// separators, no control or reserved characters, no leading dots, not empty, at most 120 chars.
pub fn safe_file_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .filter(|c| !is_invisible_format(*c))
        .map(|c| {
            if c.is_control() || matches!(c, '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|') {
                '_'
            } else {
                c
            }
        })
        .collect();
    let trimmed = cleaned.trim().trim_start_matches('.').trim_end_matches(['.', ' ']);
    let short: String = trimmed.chars().take(120).collect();
    if short.is_empty() {
        "attachment".into()
    } else {
        short
    }
}

/// The MIME type for a file name, from its extension.
pub fn mime_for(name: &str) -> String {
    mime_guess::from_path(name).first_raw().unwrap_or("application/octet-stream").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const C: &str = "3f2a1c4e-9b8d-4e7f-a6b5-c4d3e2f1a0b9";
    const H: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

    #[test]
    fn url_forms() {
        let long =
            format!("asset:///{C}/7/my%20photo%20%281%29.png?size=3&type=image%2Fpng&hash={H}");
        let r = AssetRef::parse(&long).unwrap();
        assert_eq!(r.id.index, 7);
        assert_eq!(r.name, "my photo (1).png");
        assert_eq!(r.mime, "image/png");
        assert_eq!(r.size, 3);
        assert_eq!(hex(&r.hash), H);
        assert_eq!(r.to_url(), long);
        let short = AssetRef::parse(&format!(
            "asset:///{C}/7/my%20photo%20%281%29.png?s=3&t=image%2Fpng&d={H}"
        ))
        .unwrap();
        assert_eq!(short, r);
        let untyped =
            AssetRef::parse(&format!("asset:///{C}/0/a?hash={}&size=0", H.to_uppercase())).unwrap();
        assert_eq!(untyped.mime, "application/octet-stream");
        assert_eq!(untyped.hash, r.hash);
    }

    #[test]
    fn bad_urls_are_refused_with_a_reason() {
        let cases = [
            ("http://x/y", "asset:///"),
            (&*format!("asset:///{C}/7/a.png"), "?size"),
            (&*format!("asset:///{C}/7?size=1&hash={H}"), "<clientId>/<index>/<filename>"),
            (&*format!("asset:///{C}/7/a/b?size=1&hash={H}"), "<clientId>/<index>/<filename>"),
            (&*format!("asset:///{}/7/a?size=1&hash={H}", C.to_uppercase()), "lowercase UUID"),
            (&*format!("asset:///{C}/-1/a?size=1&hash={H}"), "not a number"),
            (&*format!("asset:///{C}/07/a?size=1&hash={H}"), "not a number"),
            (&*format!("asset:///{C}/99999999999999999999/a?size=1&hash={H}"), "too large"),
            (&*format!("asset:///{C}/7/?size=1&hash={H}"), "empty"),
            (&*format!("asset:///{C}/7/a?hash={H}"), "no size"),
            (&*format!("asset:///{C}/7/a?size=1"), "no hash"),
            (&*format!("asset:///{C}/7/a?size=1&hash=1a2b3c"), "64 hex"),
            (&*format!("asset:///{C}/7/a?size=x&hash={H}"), "size is not"),
            (&*format!("asset:///{C}/7/%FF?size=1&hash={H}"), "UTF-8"),
        ];
        for (url, why) in cases {
            let e = AssetRef::parse(url).unwrap_err();
            assert!(e.to_string().contains(why), "{url}: {e}");
        }
    }

    #[test]
    fn references_are_found_in_markdown() {
        let a = format!("asset:///{C}/1/a.png?size=1&type=image%2Fpng&hash={H}");
        let b = format!("asset:///{C}/2/b.pdf?s=2&d={H}");
        let text = format!("![a]({a}) text <{b}> again ({a}) and asset:///broken and ASSET:///{C}/3/c?size=1&hash={H}");
        let found: Vec<u64> = find_refs(&text).iter().map(|r| r.id.index).collect();
        assert_eq!(found, vec![1, 2, 3]);
        assert!(find_refs("no links here, just asset:/// alone").is_empty());
    }

    #[test]
    fn invisible_and_direction_characters_are_removed_from_names() {
        // U+202E (right-to-left override) made "invoice\u{202e}fdp.bat" show as "invoicetab.pdf".
        assert_eq!(shown_name("invoice\u{202e}fdp.bat"), "invoicefdp.bat");
        assert_eq!(safe_file_name("invoice\u{202e}fdp.bat"), "invoicefdp.bat");
        assert_eq!(shown_name("a\u{200b}b\u{feff}c\u{2066}d\u{0007}e"), "abcde");
        assert_eq!(shown_name("Résumé 日本.pdf"), "Résumé 日本.pdf");
    }

    #[test]
    fn only_inert_kinds_of_file_open_directly() {
        for ok in [
            "photo.JPG",
            "scan.pdf",
            "notes.txt",
            "song.mp3",
            "clip.mp4",
            "sheet.ods",
            "report.docx",
        ] {
            assert!(opens_directly(ok), "{ok}");
        }
        for bad in [
            "run.sh",
            "app.desktop",
            "x.bat",
            "page.hta",
            "evil.exe",
            "drawing.svg",
            "macro.docm",
            "archive.tar.gz",
            "noext",
            "invoice\u{202e}fdp.bat",
        ] {
            assert!(!opens_directly(bad), "{bad}");
        }
    }

    #[test]
    fn safe_file_names() {
        for (name, want) in [
            ("photo.png", "photo.png"),
            ("../../etc/passwd", "_.._etc_passwd"),
            ("..", "attachment"),
            ("a:b*c?.txt", "a_b_c_.txt"),
            ("  .hidden ", "hidden"),
            ("", "attachment"),
            ("x\u{0}y", "x_y"),
        ] {
            assert_eq!(safe_file_name(name), want, "{name:?}");
        }
    }

    #[test]
    fn markdown_for_images_and_files() {
        let mut r =
            AssetRef::parse(&format!("asset:///{C}/1/x%5D.png?size=1&type=image%2Fpng&hash={H}"))
                .unwrap();
        assert!(r.markdown().starts_with("![x .png](asset:///"), "{}", r.markdown());
        r.mime = "application/pdf".into();
        assert!(r.markdown().starts_with("[x .png](asset:///"));
    }

    fn sealed_in(
        key: &WorkspaceKey,
        epoch: EpochId,
        ws: &Uuid,
        content: &[u8],
    ) -> (AssetRef, Vec<u8>) {
        let (hash, size) = hash_reader(content).unwrap();
        let id = AssetId { client: Uuid::parse_str(C).unwrap(), index: 4 };
        let h = AssetHeader { workspace: *ws, id, timestamp: 1, size, hash, epoch };
        let mut out = Vec::new();
        seal(key, &h, content, &mut out).unwrap();
        (AssetRef { id, name: "f".into(), size, mime: "text/plain".into(), hash }, out)
    }

    fn sealed(key: &WorkspaceKey, ws: &Uuid, content: &[u8]) -> (AssetRef, Vec<u8>) {
        sealed_in(key, EpochId::ZERO, ws, content)
    }

    fn ring(ws: &Uuid, key: &WorkspaceKey) -> Keyring {
        Keyring::new(*ws, key.clone())
    }

    #[test]
    fn an_asset_of_a_later_epoch_names_it_and_opens_only_with_its_key() {
        use crate::format::epoch::EpochSecret;
        let ws = Uuid::new_v4();
        let zero = WorkspaceKey::generate(&ws);
        let secret = EpochSecret::generate();
        let later = secret.key(&ws);
        let epoch = EpochId { client: Uuid::from_u128(7), index: 3 };
        let (r, file) = sealed_in(&later, epoch, &ws, b"after the removal");
        // Only epoch 0's key (a removed device): the stanza is for the later key alone.
        assert!(matches!(
            open(&ring(&ws, &zero), &ws, &r, &file[..], &mut Vec::new()),
            Err(AssetFailure::Undecryptable(_))
        ));
        let keys = ring(&ws, &zero);
        keys.learn(epoch, &secret);
        let mut out = Vec::new();
        open(&keys, &ws, &r, &file[..], &mut out).unwrap();
        assert_eq!(out, b"after the removal");
        let h = read_header(&keys, &ws, &file[..]).unwrap();
        assert_eq!((h.epoch, h.encode(&later).len()), (epoch, HEADER_LEN_EPOCH));
        assert_eq!(h.encode(&later)[4], VERSION_EPOCH);
        // The same key, but held as another epoch's: the epoch the header names is not held.
        let keys = ring(&ws, &zero);
        keys.learn(EpochId { client: Uuid::from_u128(8), index: 1 }, &secret);
        assert!(matches!(
            open(&keys, &ws, &r, &file[..], &mut Vec::new()),
            Err(AssetFailure::Undecryptable(_))
        ));
        // Cut inside the epoch field: not complete yet.
        let keys = ring(&ws, &zero);
        keys.learn(epoch, &secret);
        let plain =
            crate::format::crypto::open_with(&file, &[later.age_identity().unwrap()]).unwrap();
        let cut = later.seal(&plain[..HEADER_LEN + 10]).unwrap();
        assert_eq!(open(&keys, &ws, &r, &cut[..], &mut Vec::new()), Err(AssetFailure::Incomplete));
    }

    #[test]
    fn seal_open_round_trip_truncation_and_tampering() {
        let ws = Uuid::new_v4();
        let key = WorkspaceKey::generate(&ws);
        let content: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let (r, file) = sealed(&key, &ws, &content);
        let mut out = Vec::new();
        let keys = ring(&ws, &key);
        open(&keys, &ws, &r, &file[..], &mut out).unwrap();
        assert_eq!(out, content);
        for cut in [0, 10, 100, 200, file.len() / 2, file.len() - 1] {
            assert_eq!(
                open(&keys, &ws, &r, &file[..cut], &mut Vec::new()),
                Err(AssetFailure::Incomplete),
                "cut at {cut}"
            );
        }
        let mut wrong = r.clone();
        wrong.hash[0] ^= 1;
        assert!(matches!(
            open(&keys, &ws, &wrong, &file[..], &mut Vec::new()),
            Err(AssetFailure::Invalid(_))
        ));
        let mut moved = r.clone();
        moved.id.index = 5;
        assert!(matches!(
            open(&keys, &ws, &moved, &file[..], &mut Vec::new()),
            Err(AssetFailure::Invalid(_))
        ));
        let other = WorkspaceKey::generate(&ws);
        assert!(matches!(
            open(&ring(&ws, &other), &ws, &r, &file[..], &mut Vec::new()),
            Err(AssetFailure::Undecryptable(_))
        ));
        assert_eq!(read_header(&keys, &ws, &file[..]).unwrap().size, content.len() as u64);
    }

    #[test]
    fn plaintext_assets_are_header_then_content() {
        let ws = Uuid::new_v4();
        let (r, file) = sealed(&WorkspaceKey::Plaintext, &ws, b"abc");
        assert_eq!(&file[..4], MAGIC);
        assert_eq!(&file[HEADER_LEN..], b"abc");
        let mut out = Vec::new();
        let plain = ring(&ws, &WorkspaceKey::Plaintext);
        open(&plain, &ws, &r, &file[..], &mut out).unwrap();
        assert_eq!(out, b"abc");
        let mut forged = file.clone();
        forged[HEADER_LEN] = b'x';
        assert!(matches!(
            open(&plain, &ws, &r, &forged[..], &mut Vec::new()),
            Err(AssetFailure::Invalid(_))
        ));
        let mut longer = file.clone();
        longer.push(0);
        assert!(matches!(
            open(&plain, &ws, &r, &longer[..], &mut Vec::new()),
            Err(AssetFailure::Invalid(_))
        ));
    }
}
