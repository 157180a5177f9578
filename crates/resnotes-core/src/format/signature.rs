//! Device signatures (FORMAT.md §5.1): every device holds its own Ed25519 signing key and signs
//! the header of every entry it writes (envelope version 6 on), so that no one — not even a
//! member holding the workspace key — can write an entry as another device.
//!
//! The private key never leaves its device; the public key travels inside each signed entry's
//! header and is pinned by the device's chain: entry `i + 1` must be signed by the key of
//! entry `i` once that one is signed.

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};

use crate::format::asset::hex;

/// Length of a public signing key in an entry header.
pub const PUBLIC_LEN: usize = 32;
/// Length of a signature at the end of an entry.
pub const SIGNATURE_LEN: usize = 64;
/// What a device signs before the header bytes: keeps an entry signature from being mistaken for
/// any other use of the same key.
const CONTEXT: &[u8] = b"resilient-notes/v6/entry-signature";

/// A device's private signing key. Its text form (in the keyring or the `device.key` file) is
/// the 32-byte Ed25519 seed in lowercase hex.
#[derive(Clone)]
pub struct DeviceKey(SigningKey);

impl std::fmt::Debug for DeviceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DeviceKey({})", hex(&self.public()))
    }
}

/// Why a device key's text could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("this device's signing key is damaged (it is not 64 hexadecimal digits)")]
pub struct BadDeviceKey;

impl DeviceKey {
    /// The key of a 32-byte seed. Callers pass fresh randomness ([`DeviceKey::generate`]) or a
    /// fixed seed (test vectors).
    pub fn from_seed(seed: [u8; 32]) -> Self {
        DeviceKey(SigningKey::from_bytes(&seed))
    }

    /// A new key from the operating system's random source.
    pub fn generate() -> Self {
        let mut seed = [0u8; 32];
        getrandom::getrandom(&mut seed).expect("the operating system has no random source");
        Self::from_seed(seed)
    }

    /// Reads the text form (white space around it ignored).
    pub fn parse(text: &str) -> Result<Self, BadDeviceKey> {
        let t = text.trim();
        if t.len() != 64 || !t.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(BadDeviceKey);
        }
        let mut seed = [0u8; 32];
        for (i, b) in seed.iter_mut().enumerate() {
            *b = u8::from_str_radix(&t[2 * i..2 * i + 2], 16).map_err(|_| BadDeviceKey)?;
        }
        Ok(Self::from_seed(seed))
    }

    /// The text form: the seed in lowercase hex. Secret.
    pub fn to_text(&self) -> String {
        hex(&self.0.to_bytes())
    }

    /// The public key, as it appears in the header of every entry this key signs.
    pub fn public(&self) -> [u8; PUBLIC_LEN] {
        self.0.verifying_key().to_bytes()
    }

    /// The signature of a header.
    pub fn sign(&self, header: &[u8]) -> [u8; SIGNATURE_LEN] {
        self.0.sign(&signed_bytes(header)).to_bytes()
    }

    /// The key as an unencrypted OpenSSH private key file (`-----BEGIN OPENSSH PRIVATE
    /// KEY-----`, PROTOCOL.key of OpenSSH): what `age -d -i FILE` takes to open the wraps of a
    /// key epoch made to this device (FORMAT.md §5.2). Deterministic: the check number is the
    /// first four bytes of SHA-256 of the public key, the comment is empty. Secret.
    pub fn to_openssh(&self) -> String {
        use base64::Engine;
        let public = self.public();
        let mut private = Vec::new();
        let check = &crate::format::entry::sha256(&public)[..4];
        private.extend_from_slice(check);
        private.extend_from_slice(check);
        ssh_string(&mut private, SSH_ED25519.as_bytes());
        ssh_string(&mut private, &public);
        let mut pair = self.0.to_bytes().to_vec();
        pair.extend_from_slice(&public);
        ssh_string(&mut private, &pair);
        ssh_string(&mut private, b"");
        let mut pad = 1u8;
        while private.len() % 8 != 0 {
            private.push(pad);
            pad += 1;
        }
        let mut file = b"openssh-key-v1\0".to_vec();
        ssh_string(&mut file, b"none");
        ssh_string(&mut file, b"none");
        ssh_string(&mut file, b"");
        file.extend_from_slice(&1u32.to_be_bytes());
        ssh_string(&mut file, &public_blob(&public));
        ssh_string(&mut file, &private);
        let text = base64::engine::general_purpose::STANDARD.encode(file);
        let mut out = String::from("-----BEGIN OPENSSH PRIVATE KEY-----\n");
        for line in text.as_bytes().chunks(70) {
            out.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
            out.push('\n');
        }
        out.push_str("-----END OPENSSH PRIVATE KEY-----\n");
        out
    }

    /// This key as the age identity that opens `ssh-ed25519` stanzas made to its public key.
    pub fn age_identity(&self) -> age::ssh::Identity {
        age::ssh::Identity::from_buffer(self.to_openssh().as_bytes(), None)
            .expect("the OpenSSH encoding of an Ed25519 key parses")
    }
}

/// OpenSSH's name of the Ed25519 key type.
const SSH_ED25519: &str = "ssh-ed25519";

/// A device's public key as an OpenSSH public key line, `ssh-ed25519 AAAA…` (no comment): the
/// age recipient that wraps a key epoch to that device (FORMAT.md §5.2).
pub fn openssh_public(public: &[u8; PUBLIC_LEN]) -> String {
    use base64::Engine;
    format!(
        "{SSH_ED25519} {}",
        base64::engine::general_purpose::STANDARD.encode(public_blob(public))
    )
}

/// The age recipient of a device's public key (FORMAT.md §5.2).
pub fn age_recipient(public: &[u8; PUBLIC_LEN]) -> age::ssh::Recipient {
    openssh_public(public).parse().expect("an Ed25519 key is a valid ssh-ed25519 recipient")
}

/// OpenSSH's wire form of an Ed25519 public key: `string "ssh-ed25519", string key`.
fn public_blob(public: &[u8; PUBLIC_LEN]) -> Vec<u8> {
    let mut blob = Vec::with_capacity(51);
    ssh_string(&mut blob, SSH_ED25519.as_bytes());
    ssh_string(&mut blob, public);
    blob
}

/// Appends an SSH `string`: a u32 length, then the bytes.
fn ssh_string(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    out.extend_from_slice(bytes);
}

/// True when `signature` is `public`'s signature of `header` (strict Ed25519 verification: no
/// small-order keys, no non-canonical encodings, so one header has one valid signature per key).
pub fn verify(public: &[u8; PUBLIC_LEN], header: &[u8], signature: &[u8]) -> bool {
    verifier(public).is_some_and(|key| verify_with(&key, header, signature))
}

/// A public key made ready to verify with (its point decompressed: a square root, about a
/// third of what verifying one signature costs); `None` when the bytes are not a key.
pub fn verifier(public: &[u8; PUBLIC_LEN]) -> Option<VerifyingKey> {
    VerifyingKey::from_bytes(public).ok()
}

/// [`verify`] with a key from [`verifier`], kept by a reader that verifies many entries of one
/// device.
pub fn verify_with(key: &VerifyingKey, header: &[u8], signature: &[u8]) -> bool {
    let Ok(sig) = Signature::from_slice(signature) else { return false };
    key.verify_strict(&signed_bytes(header), &sig).is_ok()
}

fn signed_bytes(header: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(CONTEXT.len() + header.len());
    m.extend_from_slice(CONTEXT);
    m.extend_from_slice(header);
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_only_for_its_key_and_its_header() {
        let k = DeviceKey::from_seed([7; 32]);
        let sig = k.sign(b"header");
        assert!(verify(&k.public(), b"header", &sig));
        assert!(!verify(&k.public(), b"headex", &sig));
        assert!(!verify(&DeviceKey::from_seed([8; 32]).public(), b"header", &sig));
        let mut bad = sig;
        bad[3] ^= 1;
        assert!(!verify(&k.public(), b"header", &bad));
        assert!(!verify(&k.public(), b"header", &sig[..63]));
        assert!(!verify(&[0; 32], b"header", &sig), "a small-order key is refused");
    }

    #[test]
    fn the_text_form_round_trips_and_damage_is_refused() {
        let k = DeviceKey::generate();
        let back = DeviceKey::parse(&format!("  {}\n", k.to_text())).unwrap();
        assert_eq!(back.public(), k.public());
        assert_ne!(DeviceKey::generate().public(), k.public());
        assert_eq!(DeviceKey::parse("abc").unwrap_err(), BadDeviceKey);
        assert_eq!(DeviceKey::parse(&"g".repeat(64)).unwrap_err(), BadDeviceKey);
        assert!(!format!("{k:?}").contains(&k.to_text()), "Debug never shows the secret");
    }
}
