//! The age project's own test vectors (`vectors/age-testkit/`, from C2SP CCTV) through
//! Resilient Notes' decryption paths (RELIABILITY.md, test 5): entry files are opened with
//! [`WorkspaceKey::open`] (X25519), the workspace key in `index.json` with
//! [`crypto::unwrap_secret`] (scrypt). Every vector that age says must fail is refused, none
//! panics, every valid one yields exactly the expected payload, none is taken for an attachment
//! — and every vector, whoever it was made for, is refused by a workspace's own key.

use std::io::Read;
use std::path::Path;

use resnotes_core::format::crypto::{self, OpenFailure, WorkspaceKey};
use sha2::{Digest, Sha256};

struct Vector {
    name: String,
    expect: String,
    payload: Option<String>,
    identities: Vec<String>,
    passphrases: Vec<String>,
    armored: bool,
    body: Vec<u8>,
}

fn parse(name: &str, bytes: &[u8]) -> Vector {
    let split =
        bytes.windows(2).position(|w| w == b"\n\n").unwrap_or_else(|| panic!("{name}: no header"));
    let header = std::str::from_utf8(&bytes[..split]).unwrap();
    let mut v = Vector {
        name: name.into(),
        expect: String::new(),
        payload: None,
        identities: vec![],
        passphrases: vec![],
        armored: false,
        body: bytes[split + 2..].to_vec(),
    };
    let mut compressed = false;
    for line in header.lines() {
        let (k, val) = line.split_once(": ").unwrap_or((line, ""));
        match k {
            "expect" => v.expect = val.into(),
            "payload" => v.payload = Some(val.into()),
            "identity" => v.identities.push(val.into()),
            "passphrase" => v.passphrases.push(val.into()),
            "compressed" => compressed = val == "zlib",
            "armored" => v.armored = val == "yes",
            _ => {}
        }
    }
    if compressed {
        let mut out = Vec::new();
        flate2::read::ZlibDecoder::new(&v.body[..]).read_to_end(&mut out).unwrap();
        v.body = out;
    }
    v
}

fn vectors() -> Vec<Vector> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../vectors/age-testkit");
    let mut out: Vec<Vector> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_none())
        .map(|p| parse(&p.file_name().unwrap().to_string_lossy(), &std::fs::read(&p).unwrap()))
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

fn armor(binary: &[u8]) -> String {
    use std::io::Write;
    let mut w =
        age::armor::ArmoredWriter::wrap_output(Vec::new(), age::armor::Format::AsciiArmor).unwrap();
    w.write_all(binary).unwrap();
    String::from_utf8(w.finish().unwrap()).unwrap()
}

fn sha(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn age_test_vectors_through_our_decryption_paths() {
    let ws = uuid::Uuid::from_u128(7);
    let vs = vectors();
    assert!(vs.len() >= 140, "the vendored age vectors are missing ({} found)", vs.len());
    let (mut x25519, mut scrypt, mut other_kind, mut refused_ours, mut refused, mut opened) =
        (0, 0, 0, 0, 0, 0);
    let ours = WorkspaceKey::generate(&ws);
    let mut lax = Vec::new();
    for v in &vs {
        // Whoever the file was made for, a workspace's own key refuses it, without panicking.
        assert!(ours.open(&v.body).is_err(), "{}: opened with an unrelated workspace key", v.name);
        refused_ours += 1;
        let success = v.expect == "success";
        if !v.identities.is_empty() {
            let keys: Vec<WorkspaceKey> =
                v.identities.iter().filter_map(|i| WorkspaceKey::parse(i, &ws).ok()).collect();
            if keys.is_empty() {
                // Post-quantum hybrid identities: not a key type Resilient Sync uses.
                other_kind += 1;
                continue;
            }
            x25519 += 1;
            // Entry files are binary age files (FORMAT.md §4): armored ones are refused even
            // where age would read them.
            let success = success && !v.armored;
            // None is an attachment: the streaming reader for attachments refuses each one too.
            for k in &keys {
                let ring = resnotes_core::format::epoch::Keyring::new(ws, k.clone());
                assert!(
                    resnotes_core::format::asset::read_header(&ring, &ws, &v.body[..]).is_err(),
                    "{}: read as an attachment",
                    v.name
                );
            }
            let mut result: Result<Vec<u8>, OpenFailure> =
                Err(OpenFailure::Undecryptable("no identity".into()));
            for k in &keys {
                result = k.open(&v.body);
                if result.is_ok() {
                    break;
                }
            }
            match (success, result) {
                (true, Ok(plain)) => {
                    assert_eq!(Some(sha(&plain)), v.payload, "{}: wrong payload", v.name);
                    opened += 1;
                }
                (true, Err(e)) => panic!("{}: age opens it, we refused it: {e:?}", v.name),
                // Nothing of a failing file is released: `open` returns all or nothing.
                (false, Ok(_)) => lax.push(format!("{} ({})", v.name, v.expect)),
                (false, Err(_)) => refused += 1,
            }
        } else if !v.passphrases.is_empty() {
            // index.json holds the wrapped key as armored text: a binary vector is armored the
            // way a hostile index.json would carry it.
            let text = if v.armored {
                String::from_utf8(v.body.clone()).expect("armored vectors are text")
            } else {
                armor(&v.body)
            };
            let text = text.as_str();
            scrypt += 1;
            let result = v
                .passphrases
                .iter()
                .map(|p| crypto::unwrap_secret(text, p))
                .find(|r| r.is_ok())
                .unwrap_or_else(|| crypto::unwrap_secret(text, &v.passphrases[0]));
            match (success, result) {
                (true, Ok(secret)) => {
                    use age::secrecy::ExposeSecret;
                    assert_eq!(
                        Some(sha(secret.expose_secret().as_bytes())),
                        v.payload,
                        "{}: wrong payload",
                        v.name
                    );
                    opened += 1;
                }
                // A wrapped key must be text: a valid age file holding bytes is still refused.
                (true, Err(e)) => assert!(
                    e.to_string().contains("not text") || v.payload.is_none(),
                    "{}: age opens it, we refused it: {e}",
                    v.name
                ),
                (false, Ok(_)) => lax.push(format!("{} ({})", v.name, v.expect)),
                (false, Err(_)) => refused += 1,
            }
        }
    }
    eprintln!(
        "{} age vectors: {x25519} through entry decryption, {scrypt} through the wrapped workspace key, {other_kind} with post-quantum hybrid keys, which Resilient Sync never uses; {opened} valid ones opened with the expected payload, {refused} failing ones refused, all {refused_ours} refused by an unrelated workspace key, 0 panics",
        vs.len()
    );
    assert!(lax.is_empty(), "opened although age says they must fail: {lax:?}");
}
