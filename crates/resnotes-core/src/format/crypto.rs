//! The workspace key: an age X25519 identity that encrypts every entry, the HMAC key derived from
//! it that authenticates entries, and the passphrase wrapping that lets a new device join.

use std::str::FromStr;

use age::secrecy::{ExposeSecret, SecretString};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use uuid::Uuid;

/// What can go wrong with the workspace key.
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    /// The passphrase does not open the wrapped key.
    #[error("wrong passphrase for this workspace; nothing was changed")]
    WrongPassphrase,
    /// Text that should be an age identity is not one.
    #[error("the workspace key is not an age identity ({0})")]
    NotAnIdentity(String),
    /// Encrypting, or reading the wrapped key, failed.
    #[error("encryption failed: {0}")]
    Failed(String),
}

/// Result of the key operations.
pub type Result<T, E = CryptoError> = std::result::Result<T, E>;

/// HKDF `info` for the entry MAC key (see FORMAT.md, "Authentication").
const MAC_INFO: &[u8] = b"resilient-notes/v1/entry-mac";

/// How entries are protected: age plus HMAC, or nothing (`init --plaintext`).
#[derive(Clone)]
pub enum WorkspaceKey {
    /// age X25519 identity; entries are encrypted to its recipient and MAC'd with a derived key.
    Age {
        /// The secret identity.
        identity: age::x25519::Identity,
        /// HMAC-SHA256 key derived from the identity and workspace id.
        mac_key: [u8; 32],
    },
    /// Unencrypted, unauthenticated workspace, clearly marked in `index.json`.
    Plaintext,
}

/// Why an encrypted file could not be opened (FORMAT.md §6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpenFailure {
    /// The file ends early: most likely still being copied. Retry later.
    Incomplete,
    /// The file is a well-formed age file, but no stanza of its header opens with this key.
    Undecryptable(String),
    /// The file is complete but is not a binary age v1 file (an armored one, another format),
    /// or its header breaks age's grammar: refused for what the bytes are.
    Malformed(String),
    /// A stanza opened with this key, but age's header MAC does not verify: the header was
    /// changed after it was written. Refused for what the bytes are.
    BadMac,
}

impl WorkspaceKey {
    /// A fresh random identity for a new workspace.
    pub fn generate(workspace: &Uuid) -> Self {
        Self::from_identity(age::x25519::Identity::generate(), workspace)
    }

    /// Parses an `AGE-SECRET-KEY-1…` line.
    pub fn parse(secret: &str, workspace: &Uuid) -> Result<Self> {
        let identity = age::x25519::Identity::from_str(secret.trim())
            .map_err(|e| CryptoError::NotAnIdentity(e.to_string()))?;
        Ok(Self::from_identity(identity, workspace))
    }

    fn from_identity(identity: age::x25519::Identity, workspace: &Uuid) -> Self {
        let secret = identity.to_string();
        let hk = hkdf::Hkdf::<Sha256>::new(
            Some(workspace.as_bytes()),
            secret.expose_secret().as_bytes(),
        );
        let mut mac_key = [0u8; 32];
        hk.expand(MAC_INFO, &mut mac_key).expect("32 bytes is a valid HKDF length");
        WorkspaceKey::Age { identity, mac_key }
    }

    /// The `AGE-SECRET-KEY-1…` line (for `key export` and the local key file).
    pub fn secret(&self) -> Option<SecretString> {
        match self {
            WorkspaceKey::Age { identity, .. } => Some(identity.to_string()),
            WorkspaceKey::Plaintext => None,
        }
    }

    /// The public `age1…` recipient written to `index.json`.
    pub fn recipient(&self) -> Option<String> {
        match self {
            WorkspaceKey::Age { identity, .. } => Some(identity.to_public().to_string()),
            WorkspaceKey::Plaintext => None,
        }
    }

    /// True when entries are encrypted.
    pub fn is_encrypted(&self) -> bool {
        matches!(self, WorkspaceKey::Age { .. })
    }

    /// File extension of change entries: `.age` or `.bin`.
    pub fn extension(&self) -> &'static str {
        if self.is_encrypted() {
            ".age"
        } else {
            ".bin"
        }
    }

    /// HMAC-SHA256 of `data`, or 32 zero bytes in a plaintext workspace.
    pub fn mac(&self, data: &[u8]) -> [u8; 32] {
        match self {
            WorkspaceKey::Age { mac_key, .. } => {
                let mut m = <Hmac<Sha256> as Mac>::new_from_slice(mac_key).expect("any key size");
                m.update(data);
                m.finalize().into_bytes().into()
            }
            WorkspaceKey::Plaintext => [0u8; 32],
        }
    }

    /// Checks a MAC in constant time.
    pub fn verify_mac(&self, data: &[u8], tag: &[u8]) -> bool {
        match self {
            WorkspaceKey::Age { mac_key, .. } => {
                let mut m = <Hmac<Sha256> as Mac>::new_from_slice(mac_key).expect("any key size");
                m.update(data);
                m.verify_slice(tag).is_ok()
            }
            WorkspaceKey::Plaintext => tag.iter().all(|b| *b == 0),
        }
    }

    /// Encrypts a whole entry (binary age format), or returns it as is in a plaintext workspace.
    pub fn seal(&self, plaintext: &[u8]) -> Result<Vec<u8>> {
        Ok(self.seal_keeping_file_key(plaintext)?.0)
    }

    /// [`WorkspaceKey::seal`], also returning the age **file key** of the file it made
    /// (FORMAT.md §11: a pack carries it, so that a reader opens the file without an X25519
    /// operation); `None` in a plaintext workspace.
    pub fn seal_keeping_file_key(&self, plaintext: &[u8]) -> Result<(Vec<u8>, Option<FileKey>)> {
        use std::io::Write;
        let WorkspaceKey::Age { identity, .. } = self else {
            return Ok((plaintext.to_vec(), None));
        };
        let failed = |e: &dyn std::fmt::Display| CryptoError::Failed(e.to_string());
        let seen = Seen { inner: identity.to_public(), key: std::cell::Cell::new(None) };
        let enc = age::Encryptor::with_recipients(std::iter::once(&seen as &dyn age::Recipient))
            .map_err(|e| failed(&e))?;
        let mut out = Vec::with_capacity(plaintext.len() + 256);
        let mut w = enc.wrap_output(&mut out).map_err(|e| failed(&e))?;
        w.write_all(plaintext).map_err(|e| failed(&e))?;
        w.finish().map_err(|e| failed(&e))?;
        Ok((out, seen.key.get()))
    }

    /// Decrypts a whole file before any of it is used.
    pub fn open(&self, file: &[u8]) -> Result<Vec<u8>, OpenFailure> {
        match self {
            WorkspaceKey::Age { identity, .. } => open_with(file, &[identity]),
            WorkspaceKey::Plaintext => Ok(file.to_vec()),
        }
    }

    /// The age identity of an encrypted workspace's key (`None`: plaintext).
    pub(crate) fn age_identity(&self) -> Option<&age::x25519::Identity> {
        match self {
            WorkspaceKey::Age { identity, .. } => Some(identity),
            WorkspaceKey::Plaintext => None,
        }
    }
}

/// An age file key (FORMAT.md §11): the random key an age file's payload is encrypted with,
/// which its header wraps to the recipient.
pub type FileKey = [u8; 16];

/// The X25519 recipient of a file being sealed, keeping the file key it wraps.
struct Seen {
    inner: age::x25519::Recipient,
    key: std::cell::Cell<Option<FileKey>>,
}

impl age::Recipient for Seen {
    fn wrap_file_key(
        &self,
        file_key: &age_core::format::FileKey,
    ) -> std::result::Result<
        (Vec<age_core::format::Stanza>, std::collections::HashSet<String>),
        age::EncryptError,
    > {
        self.key.set(Some(*file_key.expose_secret()));
        self.inner.wrap_file_key(file_key)
    }
}

/// Opens an age file with its file key already known, without unwrapping any stanza: age
/// then checks the header's MAC and every payload chunk with that key, as after unwrapping it.
/// Only a file whose one recipient is an X25519 key (an entry sealed to a key epoch; age adds a
/// random "grease" stanza of its own) is opened so: an epoch record, sealed to members' device
/// keys as well, never is (FORMAT.md §11).
struct Known(FileKey);

impl age::Identity for Known {
    fn unwrap_stanza(
        &self,
        stanza: &age_core::format::Stanza,
    ) -> Option<std::result::Result<age_core::format::FileKey, age::DecryptError>> {
        self.unwrap_stanzas(std::slice::from_ref(stanza))
    }

    fn unwrap_stanzas(
        &self,
        stanzas: &[age_core::format::Stanza],
    ) -> Option<std::result::Result<age_core::format::FileKey, age::DecryptError>> {
        let x25519 = stanzas.iter().filter(|s| s.tag == "X25519").count();
        let devices = stanzas.iter().any(|s| s.tag == "ssh-ed25519" || s.tag == "ssh-rsa");
        (x25519 == 1 && !devices).then(|| Ok(age_core::format::FileKey::new(Box::new(self.0))))
    }
}

/// An identity that notes the file key it unwraps: a device that read an entry from its single
/// file then knows its file key, as the writer does, and can write the pack of its block
/// (FORMAT.md §11) to the targets it relays to.
struct Seeing<'a> {
    inner: &'a dyn age::Identity,
    key: std::cell::Cell<Option<FileKey>>,
}

impl Seeing<'_> {
    fn note(
        &self,
        r: Option<std::result::Result<age_core::format::FileKey, age::DecryptError>>,
    ) -> Option<std::result::Result<age_core::format::FileKey, age::DecryptError>> {
        if let Some(Ok(k)) = &r {
            self.key.set(Some(*k.expose_secret()));
        }
        r
    }
}

impl age::Identity for Seeing<'_> {
    fn unwrap_stanza(
        &self,
        stanza: &age_core::format::Stanza,
    ) -> Option<std::result::Result<age_core::format::FileKey, age::DecryptError>> {
        self.note(self.inner.unwrap_stanza(stanza))
    }

    fn unwrap_stanzas(
        &self,
        stanzas: &[age_core::format::Stanza],
    ) -> Option<std::result::Result<age_core::format::FileKey, age::DecryptError>> {
        self.note(self.inner.unwrap_stanzas(stanzas))
    }
}

/// [`open_with`] with one identity, also returning the file key that identity unwrapped.
pub(crate) fn open_seeing_file_key(
    file: &[u8],
    identity: &dyn age::Identity,
) -> Result<(Vec<u8>, Option<FileKey>), OpenFailure> {
    let seeing = Seeing { inner: identity, key: std::cell::Cell::new(None) };
    let plain = open_with(file, &[&seeing])?;
    Ok((plain, seeing.key.get()))
}

/// Decrypts a whole binary age file whose file key is known (read from a pack, FORMAT.md §11),
/// with the same checks as [`open_with`]. A wrong key fails the header MAC ([`OpenFailure::BadMac`]).
pub(crate) fn open_with_file_key(file: &[u8], key: &FileKey) -> Result<Vec<u8>, OpenFailure> {
    open_with(file, &[&Known(*key)])
}

/// Decrypts a whole binary age file with the first of `identities` that opens one of its
/// stanzas, after the checks FORMAT.md §4 adds to age's own.
pub(crate) fn open_with(
    file: &[u8],
    identities: &[&dyn age::Identity],
) -> Result<Vec<u8>, OpenFailure> {
    use std::io::Read;
    // age needs at least its header line; anything shorter is a file still arriving.
    const MAGIC: &[u8] = b"age-encryption.org/v1\n";
    if file.len() < MAGIC.len() && MAGIC.starts_with(file) {
        return Err(OpenFailure::Incomplete);
    }
    // Entries are binary age files (FORMAT.md §4): armored text, or anything else, is refused
    // rather than guessed at.
    if !file.starts_with(MAGIC) {
        return Err(OpenFailure::Malformed("not a binary age file (age-encryption.org/v1)".into()));
    }
    if !stanza_bodies_end(file) {
        return Err(OpenFailure::Malformed(
            "malformed age header: a stanza lacks its final short line".into(),
        ));
    }
    let decrypt = || -> Result<Vec<u8>, age::DecryptError> {
        let decryptor = age::Decryptor::new_buffered(file)?;
        let mut plain = Vec::with_capacity(file.len());
        decryptor.decrypt(identities.iter().copied())?.read_to_end(&mut plain)?;
        Ok(plain)
    };
    decrypt().map_err(|e| classify(&e, file))
}

fn classify(e: &age::DecryptError, file: &[u8]) -> OpenFailure {
    match e {
        // Payload errors surface as I/O errors from age's stream reader.
        age::DecryptError::Io(_) => OpenFailure::Incomplete,
        // The header opened with our key, so the payload is ours: a failing last chunk means the
        // file is cut short (still being copied) or damaged; either way it is retried.
        age::DecryptError::DecryptionFailed => OpenFailure::Incomplete,
        // A header cut short parses as an invalid header; a complete header always ends with the
        // `---` MAC line, ended by a line feed.
        age::DecryptError::InvalidHeader if !header_complete(file) => OpenFailure::Incomplete,
        age::DecryptError::InvalidHeader | age::DecryptError::UnknownFormat => {
            OpenFailure::Malformed(format!("malformed age header ({e})"))
        }
        // The header MAC is keyed by the file key our stanza opened: the header was changed.
        age::DecryptError::InvalidMac => OpenFailure::BadMac,
        other => OpenFailure::Undecryptable(other.to_string()),
    }
}

/// True when the file holds a whole age header: its `---` MAC line and the line feed ending it.
fn header_complete(file: &[u8]) -> bool {
    find(file, b"\n--- ").is_some_and(|at| file[at + 5..].contains(&b'\n'))
}

/// The age spec's rule that the `age` crate does not enforce: every stanza's body ends with a
/// line shorter than 64 columns (possibly empty). Checked on complete headers only (up to the
/// `---` line); a header still arriving is left to age's own parsing.
fn stanza_bodies_end(file: &[u8]) -> bool {
    let Some(end) = find(file, b"\n--- ") else { return true };
    // Whether the current stanza still waits for its final short body line.
    let mut open = false;
    for line in file[..end].split(|b| *b == b'\n').skip(1) {
        if line.starts_with(b"-> ") {
            if open {
                return false;
            }
            open = true;
        } else {
            open = line.len() >= 64;
        }
    }
    !open
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Wraps the identity with age's scrypt passphrase encryption (armored text for `index.json`).
/// The plaintext is exactly the identity string `AGE-SECRET-KEY-1…`, without a line feed
/// (FORMAT.md §3). `log_n` is scrypt's work factor; 18 takes about a second here.
pub fn wrap_secret(secret: &SecretString, passphrase: &str, log_n: u8) -> Result<String> {
    let mut recipient = age::scrypt::Recipient::new(SecretString::from(passphrase.to_owned()));
    recipient.set_work_factor(log_n);
    age::encrypt_and_armor(&recipient, secret.expose_secret().as_bytes())
        .map_err(|e| CryptoError::Failed(e.to_string()))
}

/// Wraps an identity string with age's scrypt passphrase encryption as a binary age file: a
/// `keys/` file of a key epoch (FORMAT.md §5.2). [`unwrap_secret`] opens it.
pub fn wrap_secret_file(secret: &str, passphrase: &str, log_n: u8) -> Result<Vec<u8>> {
    let mut recipient = age::scrypt::Recipient::new(SecretString::from(passphrase.to_owned()));
    recipient.set_work_factor(log_n);
    age::encrypt(&recipient, secret.as_bytes()).map_err(|e| CryptoError::Failed(e.to_string()))
}

/// Unwraps the identity stored in `index.json` (armored) or a `keys/` file (binary). A wrong passphrase is [`CryptoError::WrongPassphrase`].
pub fn unwrap_secret(armored: &str, passphrase: &str) -> Result<SecretString> {
    unwrap_secret_file(armored.as_bytes(), passphrase)
}

/// [`unwrap_secret`] of a file's bytes (a `keys/` file is binary).
pub fn unwrap_secret_file(file: &[u8], passphrase: &str) -> Result<SecretString> {
    let mut identity = age::scrypt::Identity::new(SecretString::from(passphrase.to_owned()));
    identity.set_max_work_factor(22);
    let bytes = age::decrypt(&identity, file).map_err(|e| match e {
        age::DecryptError::DecryptionFailed
        | age::DecryptError::KeyDecryptionFailed
        | age::DecryptError::NoMatchingKeys => CryptoError::WrongPassphrase,
        other => CryptoError::Failed(format!("the wrapped workspace key cannot be read: {other}")),
    })?;
    let text = String::from_utf8(bytes)
        .map_err(|_| CryptoError::Failed("the wrapped key is not text".into()))?;
    Ok(SecretString::from(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_round_trip_and_truncation() {
        let ws = Uuid::new_v4();
        let key = WorkspaceKey::generate(&ws);
        let sealed = key.seal(b"hello entry").unwrap();
        assert_eq!(key.open(&sealed).unwrap(), b"hello entry");
        for cut in [0, 5, 30, sealed.len() / 2, sealed.len() - 1] {
            assert_eq!(key.open(&sealed[..cut]), Err(OpenFailure::Incomplete), "cut at {cut}");
        }
        let mut trailing = sealed.clone();
        trailing.extend_from_slice(b"junk");
        assert!(key.open(&trailing).is_err(), "trailing garbage must be rejected");
        let other = WorkspaceKey::generate(&ws);
        assert!(matches!(other.open(&sealed), Err(OpenFailure::Undecryptable(_))));
    }

    #[test]
    fn mac_depends_on_workspace_and_key() {
        let ws = Uuid::new_v4();
        let key = WorkspaceKey::generate(&ws);
        let tag = key.mac(b"data");
        assert!(key.verify_mac(b"data", &tag));
        assert!(!key.verify_mac(b"datb", &tag));
        let same_secret =
            WorkspaceKey::parse(key.secret().unwrap().expose_secret(), &Uuid::new_v4()).unwrap();
        assert!(!same_secret.verify_mac(b"data", &tag));
    }

    /// FORMAT.md §3 and §5: the wrapped plaintext and the HKDF input are the 74 bytes of the
    /// identity string, without a line feed, however the key was read.
    #[test]
    fn the_identity_string_is_wrapped_and_derived_without_a_line_feed() {
        let ws = Uuid::from_u128(9);
        let key = WorkspaceKey::generate(&ws);
        let secret = key.secret().unwrap();
        let text = secret.expose_secret();
        assert_eq!(text.len(), 74);
        assert!(text.starts_with("AGE-SECRET-KEY-1") && !text.contains(char::is_whitespace));
        let wrapped = wrap_secret(&secret, "correct horse", 10).unwrap();
        let mut identity =
            age::scrypt::Identity::new(SecretString::from("correct horse".to_owned()));
        identity.set_max_work_factor(22);
        assert_eq!(age::decrypt(&identity, wrapped.as_bytes()).unwrap(), text.as_bytes());
        let mut want = [0u8; 32];
        hkdf::Hkdf::<Sha256>::new(Some(ws.as_bytes()), text.as_bytes())
            .expand(b"resilient-notes/v1/entry-mac", &mut want)
            .unwrap();
        for read_as in [text.to_string(), format!("{text}\n"), format!("  {text}\r\n")] {
            match WorkspaceKey::parse(&read_as, &ws).unwrap() {
                WorkspaceKey::Age { mac_key, .. } => assert_eq!(mac_key, want, "{read_as:?}"),
                WorkspaceKey::Plaintext => unreachable!(),
            }
        }
    }

    #[test]
    fn wrap_unwrap() {
        let key = WorkspaceKey::generate(&Uuid::new_v4());
        let wrapped = wrap_secret(&key.secret().unwrap(), "correct horse", 10).unwrap();
        assert!(wrapped.starts_with("-----BEGIN AGE ENCRYPTED FILE-----"));
        let back = unwrap_secret(&wrapped, "correct horse").unwrap();
        assert_eq!(back.expose_secret(), key.secret().unwrap().expose_secret());
        assert!(matches!(
            unwrap_secret(&wrapped, "wrong horse"),
            Err(CryptoError::WrongPassphrase)
        ));
    }
}
