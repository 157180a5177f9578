//! FORMAT.md §10's asset vectors, replayed: asset files under `vectors/assets/` must open to
//! exactly the content their JSON gives, `asset:///` URLs must parse (or be refused) as
//! `urls.json` says, and every file in `vectors/assets/reject/` must be refused for the stated
//! reason. `RESNOTES_WRITE_VECTORS=1 cargo test -p resnotes-core --test asset_vectors -- --ignored`
//! regenerates them (age encryption is randomized, so files differ byte-wise but verify the same).

use std::fs;
use std::path::PathBuf;

use resnotes_core::format::asset::{
    self, AssetFailure, AssetHeader, AssetId, AssetRef, HEADER_LEN, HEADER_LEN_EPOCH,
};
use resnotes_core::format::crypto::WorkspaceKey;
use resnotes_core::format::epoch::{EpochId, EpochSecret, Keyring};
use serde_json::{json, Value};
use uuid::Uuid;

const WORKSPACE: &str = "6f1c2a3b-4d5e-4f60-8172-839405a6b7c8";
const CLIENT: &str = "3f2a1c4e-9b8d-4e7f-a6b5-c4d3e2f1a0b9";

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../vectors/assets")
}

fn hex(b: &[u8]) -> String {
    asset::hex(b)
}

fn read_json(name: &str) -> Value {
    serde_json::from_slice(&fs::read(dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}")))
        .unwrap()
}

fn ws() -> Uuid {
    WORKSPACE.parse().unwrap()
}

fn parse_key(file: &str) -> WorkspaceKey {
    let text = fs::read_to_string(dir().parent().unwrap().join(file)).unwrap();
    let secret = text.lines().find(|l| l.starts_with("AGE-SECRET-KEY-")).unwrap();
    WorkspaceKey::parse(secret, &ws()).unwrap()
}

/// Epoch 0's key: `vectors/identity.txt`.
fn key() -> WorkspaceKey {
    parse_key("identity.txt")
}

/// The key epoch of `vectors/epochs/` (FORMAT.md §5.2): the record at index 8 of the vectors'
/// client, whose key is `vectors/epochs/identity-1.txt`.
fn epoch1() -> (EpochId, WorkspaceKey) {
    (EpochId { client: CLIENT.parse().unwrap(), index: 8 }, parse_key("epochs/identity-1.txt"))
}

/// What a member holds: epoch 0's key and epoch 1's.
fn member() -> Keyring {
    let keys = Keyring::new(ws(), key());
    let (id, k) = epoch1();
    keys.learn(id, &EpochSecret::of(&k).unwrap());
    keys
}

fn content(n: usize) -> Vec<u8> {
    if n == 0 {
        b"Resilient Notes asset vector\n".to_vec()
    } else {
        (0..70_000u32).map(|i| (i * 7 % 251) as u8).collect()
    }
}

#[test]
fn asset_files_open_to_their_content() {
    for (file, meta) in [
        ("asset-0.age", "asset-0.json"),
        ("asset-1.age", "asset-1.json"),
        ("asset-epoch.age", "asset-epoch.json"),
        ("asset-plaintext.bin", "asset-plaintext.json"),
    ] {
        let want = read_json(meta);
        let (keys, k) = if file.ends_with(".bin") {
            (Keyring::new(ws(), WorkspaceKey::Plaintext), WorkspaceKey::Plaintext)
        } else if file == "asset-epoch.age" {
            (member(), epoch1().1)
        } else {
            (member(), key())
        };
        let r = AssetRef::parse(want["url"].as_str().unwrap()).unwrap();
        assert_eq!(
            AssetRef::parse(want["shortUrl"].as_str().unwrap()).unwrap(),
            r,
            "{file}: short form"
        );
        assert_eq!(r.to_url(), want["url"].as_str().unwrap(), "{file}: URL formatting");
        let bytes = fs::read(dir().join(file)).unwrap();
        let mut out = Vec::new();
        asset::open(&keys, &ws(), &r, &bytes[..], &mut out)
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(hex(&out), want["contentHex"].as_str().unwrap(), "{file}: content");
        let h = asset::read_header(&keys, &ws(), &bytes[..]).unwrap();
        assert_eq!(h.id.index, want["index"].as_u64().unwrap());
        let epoch = &want["epoch"];
        assert_eq!(h.epoch.client.to_string(), epoch["clientId"].as_str().unwrap(), "{file}");
        assert_eq!(h.epoch.index, epoch["index"].as_u64().unwrap(), "{file}");
        assert_eq!(h.timestamp, want["timestamp"].as_i64().unwrap());
        assert_eq!(
            hex(&h.encode(&k)),
            want["headerHex"].as_str().unwrap(),
            "{file}: header bytes (MAC included)"
        );
    }
}

/// A device that holds only epoch 0's key (one removed before epoch 1 started) cannot open an
/// asset of epoch 1: its only stanza is for epoch 1's recipient.
#[test]
fn an_asset_of_a_later_epoch_is_closed_to_epoch_0s_key() {
    let r = AssetRef::parse(read_json("asset-epoch.json")["url"].as_str().unwrap()).unwrap();
    let bytes = fs::read(dir().join("asset-epoch.age")).unwrap();
    let removed = Keyring::new(ws(), key());
    let err = asset::open(&removed, &ws(), &r, &bytes[..], &mut Vec::new()).unwrap_err();
    assert!(matches!(err, AssetFailure::Undecryptable(_)), "{err}");
}

#[test]
fn url_vectors() {
    for case in read_json("urls.json").as_array().unwrap() {
        let url = case["url"].as_str().unwrap();
        match AssetRef::parse(url) {
            Ok(r) => {
                assert_eq!(case["valid"], true, "{url} should be refused");
                assert_eq!(r.id.client.to_string(), case["clientId"].as_str().unwrap(), "{url}");
                assert_eq!(r.id.index, case["index"].as_u64().unwrap(), "{url}");
                assert_eq!(r.name, case["name"].as_str().unwrap(), "{url}");
                assert_eq!(r.size, case["size"].as_u64().unwrap(), "{url}");
                assert_eq!(r.mime, case["type"].as_str().unwrap(), "{url}");
                assert_eq!(hex(&r.hash), case["hash"].as_str().unwrap(), "{url}");
            }
            Err(e) => {
                assert_eq!(case["valid"], false, "{url}: {e}");
                assert!(e.reason.contains(case["reason"].as_str().unwrap()), "{url}: {e}");
            }
        }
    }
}

#[test]
fn rejected_assets_are_refused_for_the_stated_reason() {
    let k = member();
    let cases = read_json("reject/cases.json");
    assert!(cases.as_array().unwrap().len() >= 13);
    for case in cases.as_array().unwrap() {
        let file = case["file"].as_str().unwrap();
        let bytes = fs::read(dir().join("reject").join(file)).unwrap();
        let r = AssetRef::parse(case["url"].as_str().unwrap()).unwrap();
        let mut out = Vec::new();
        let err = asset::open(&k, &ws(), &r, &bytes[..], &mut out).expect_err(file);
        let kind = match &err {
            AssetFailure::Incomplete => "incomplete",
            AssetFailure::Undecryptable(_) => "undecryptable",
            AssetFailure::Invalid(_) => "invalid",
            AssetFailure::Output(_) => "output",
        };
        assert_eq!(kind, case["expect"].as_str().unwrap(), "{file}: {err}");
        assert!(err.to_string().contains(case["reason"].as_str().unwrap()), "{file}: {err}");
    }
}

fn header(index: u64, body: &[u8]) -> AssetHeader {
    let (hash, size) = asset::hash_reader(body).unwrap();
    AssetHeader {
        workspace: ws(),
        id: AssetId { client: CLIENT.parse().unwrap(), index },
        timestamp: 1_700_000_000_000 + index as i64,
        size,
        hash,
        epoch: EpochId::ZERO,
    }
}

fn reference(h: &AssetHeader, name: &str, mime: &str) -> AssetRef {
    AssetRef { id: h.id, name: name.into(), size: h.size, mime: mime.into(), hash: h.hash }
}

fn seal_raw(k: &WorkspaceKey, plain: &[u8]) -> Vec<u8> {
    k.seal(plain).unwrap()
}

#[test]
#[ignore = "writes the vectors; run with RESNOTES_WRITE_VECTORS=1"]
fn generate_asset_vectors() {
    if std::env::var("RESNOTES_WRITE_VECTORS").is_err() {
        return;
    }
    let k = key();
    fs::create_dir_all(dir().join("reject")).unwrap();
    let (e1, k1) = epoch1();
    let write_one = |file: &str,
                     meta: &str,
                     k: &WorkspaceKey,
                     index: u64,
                     body: &[u8],
                     name: &str,
                     mime: &str| {
        let mut h = header(index, body);
        if file == "asset-epoch.age" {
            h.epoch = e1;
        }
        let mut out = Vec::new();
        asset::seal(k, &h, body, &mut out).unwrap();
        fs::write(dir().join(file), &out).unwrap();
        let r = reference(&h, name, mime);
        let short = format!(
            "asset:///{CLIENT}/{index}/{}?s={}&t={}&d={}",
            r.to_url().split('/').nth(5).unwrap().split('?').next().unwrap(),
            h.size,
            mime.replace('/', "%2F"),
            hex(&h.hash)
        );
        let j = json!({
            "workspaceId": WORKSPACE, "clientId": CLIENT, "index": index, "timestamp": h.timestamp,
            "size": h.size, "hash": hex(&h.hash), "url": r.to_url(), "shortUrl": short,
            "headerHex": hex(&h.encode(k)), "contentHex": hex(body),
            "epoch": {"clientId": h.epoch.client.to_string(), "index": h.epoch.index},
        });
        fs::write(dir().join(meta), serde_json::to_string_pretty(&j).unwrap() + "\n").unwrap();
        (h, out)
    };
    let (h0, a0) = write_one(
        "asset-0.age",
        "asset-0.json",
        &k,
        0,
        &content(0),
        "vector note.txt",
        "text/plain",
    );
    write_one(
        "asset-1.age",
        "asset-1.json",
        &k,
        1,
        &content(1),
        "two chunks.bin",
        "application/octet-stream",
    );
    let (he, _) = write_one(
        "asset-epoch.age",
        "asset-epoch.json",
        &k1,
        2,
        b"Resilient Notes asset vector, sealed in key epoch 1\n",
        "after the change.txt",
        "text/plain",
    );
    write_one(
        "asset-plaintext.bin",
        "asset-plaintext.json",
        &WorkspaceKey::Plaintext,
        0,
        &content(0),
        "vector note.txt",
        "text/plain",
    );

    // Rejected files, all claiming to be asset 0 with content(0).
    let url0 = reference(&h0, "vector note.txt", "text/plain").to_url();
    let plain0 = [&h0.encode(&k)[..], &content(0)[..]].concat();
    let mut cases = Vec::new();
    let mut reject =
        |file: &str, bytes: Vec<u8>, url: &str, expect: &str, reason: &str, why: &str| {
            fs::write(dir().join("reject").join(file), bytes).unwrap();
            cases.push(
                json!({"file": file, "url": url, "expect": expect, "reason": reason, "why": why}),
            );
        };
    reject(
        "truncated-header.age",
        a0[..60].to_vec(),
        &url0,
        "incomplete",
        "not complete yet",
        "cut inside the age header: still being copied",
    );
    reject(
        "truncated-content.age",
        a0[..a0.len() - 10].to_vec(),
        &url0,
        "incomplete",
        "not complete yet",
        "cut inside the encrypted content",
    );
    let other = WorkspaceKey::generate(&ws());
    reject(
        "other-key.age",
        seal_raw(&other, &plain0),
        &url0,
        "undecryptable",
        "cannot be decrypted",
        "encrypted to another recipient",
    );
    let mut forged = plain0.clone();
    forged[HEADER_LEN - 32..HEADER_LEN].copy_from_slice(&[7u8; 32]);
    reject(
        "forged-mac.age",
        seal_raw(&k, &forged),
        &url0,
        "invalid",
        "authentication code",
        "encrypted to the public recipient without the workspace secret",
    );
    let h1 = header(1, &content(0));
    reject(
        "misplaced.age",
        seal_raw(&k, &[&h1.encode(&k)[..], &content(0)[..]].concat()),
        &url0,
        "invalid",
        "stored in the place of",
        "asset 1 copied to asset 0's path",
    );
    let mut altered = plain0.clone();
    let last = altered.len() - 1;
    altered[last] ^= 1;
    reject(
        "content-hash.age",
        seal_raw(&k, &altered),
        &url0,
        "invalid",
        "does not match its hash",
        "content changed after the header was made",
    );
    let mut wrong = reference(&h0, "vector note.txt", "text/plain");
    wrong.hash[0] ^= 0xff;
    reject(
        "link-hash.age",
        a0.clone(),
        &wrong.to_url(),
        "invalid",
        "hash and size in the note's link",
        "a valid file, but the note's link names another hash",
    );
    let mut trailing = plain0.clone();
    trailing.extend_from_slice(b"junk");
    reject(
        "trailing-bytes.age",
        seal_raw(&k, &trailing),
        &url0,
        "invalid",
        "bytes after its content",
        "bytes after the content",
    );
    let mut v3 = plain0.clone();
    v3[4] = 3;
    reject(
        "version-3.age",
        seal_raw(&k, &v3),
        &url0,
        "invalid",
        "newer than this program",
        "asset header version 3",
    );

    // Version 2 (a later key epoch), all claiming to be asset 2 of `asset-epoch.json`.
    let body_e = b"Resilient Notes asset vector, sealed in key epoch 1\n";
    let url_e = reference(&he, "after the change.txt", "text/plain").to_url();
    let with_epoch = |h: &AssetHeader, mac_key: &WorkspaceKey| -> Vec<u8> {
        // The header bytes as a writer holding `mac_key` would make them, whatever epoch `h`
        // names: encode with the right key, then replace the MAC.
        let mut bytes = h.encode(&k1);
        let signed = bytes.len() - 32;
        let again = h.encode(mac_key);
        bytes[signed..].copy_from_slice(&again[again.len() - 32..]);
        [&bytes[..], &body_e[..]].concat()
    };
    let mut zero_named = h0.clone();
    zero_named.id = he.id;
    zero_named.size = he.size;
    zero_named.hash = he.hash;
    let mut v2_zero = zero_named.encode(&k);
    v2_zero[4] = 2;
    let v2_zero =
        [&v2_zero[..HEADER_LEN - 32], &[0u8; 24][..], &[0u8; 32][..], &body_e[..]].concat();
    reject(
        "epoch-zero.age",
        seal_raw(&k, &v2_zero),
        &url_e,
        "invalid",
        "names no valid key epoch",
        "version 2 naming epoch 0 (an asset of epoch 0 is version 1)",
    );
    let mut unknown = he.clone();
    unknown.epoch = EpochId { client: e1.client, index: 9 };
    reject(
        "epoch-not-held.age",
        seal_raw(&k1, &with_epoch(&unknown, &k1)),
        &url_e,
        "undecryptable",
        "has not been given",
        "names an epoch whose record the reader does not hold (its key opens the file)",
    );
    reject(
        "epoch-mac-of-epoch-0.age",
        seal_raw(&k1, &with_epoch(&he, &k)),
        &url_e,
        "invalid",
        "authentication code",
        "names epoch 1 but is MACed with epoch 0's key (a removed device cannot make one)",
    );
    let mut cut = with_epoch(&he, &k1);
    cut.truncate(HEADER_LEN + 10);
    reject(
        "epoch-truncated-header.age",
        seal_raw(&k1, &cut),
        &url_e,
        "incomplete",
        "not complete yet",
        "the plaintext ends inside the epoch field",
    );
    assert_eq!(with_epoch(&he, &k1).len(), HEADER_LEN_EPOCH + body_e.len());
    reject("not-an-asset.age", seal_raw(&k, b"RSNE this is an entry, not an asset, and long enough to fill a header................................................................"), &url0, "invalid", "not an asset file", "wrong magic");
    fs::write(
        dir().join("reject/cases.json"),
        serde_json::to_string_pretty(&cases).unwrap() + "\n",
    )
    .unwrap();

    let h = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    let urls = json!([
        {"url": format!("asset:///{CLIENT}/1/test.txt?size=100&type=text%2Fplain&hash={h}"), "valid": true, "clientId": CLIENT, "index": 1, "name": "test.txt", "size": 100, "type": "text/plain", "hash": h},
        {"url": format!("asset:///{CLIENT}/1/test.txt?s=100&t=text%2Fplain&d={h}"), "valid": true, "clientId": CLIENT, "index": 1, "name": "test.txt", "size": 100, "type": "text/plain", "hash": h},
        {"url": format!("asset:///{CLIENT}/1002/my%20photo%20%281%29.jpeg?size=0&type=image%2Fjpeg&hash={}", h.to_uppercase()), "valid": true, "clientId": CLIENT, "index": 1002, "name": "my photo (1).jpeg", "size": 0, "type": "image/jpeg", "hash": h},
        {"url": format!("asset:///{CLIENT}/0/%C3%A9t%C3%A9.pdf?hash={h}&size=5"), "valid": true, "clientId": CLIENT, "index": 0, "name": "été.pdf", "size": 5, "type": "application/octet-stream", "hash": h},
        {"url": "asset:///abc/1/test.txt?size=100&type=text%2Fplain&hash=1a2b3c", "valid": false, "reason": "client id"},
        {"url": format!("asset:///{CLIENT}/1/test.txt?size=100&type=text%2Fplain&hash=1a2b3c"), "valid": false, "reason": "64 hex digits"},
        {"url": format!("asset:///{CLIENT}/01/test.txt?size=1&hash={h}"), "valid": false, "reason": "not a number"},
        {"url": format!("asset:///{CLIENT}/1/a/b.txt?size=1&hash={h}"), "valid": false, "reason": "<clientId>/<index>/<filename>"},
        {"url": format!("asset:///{CLIENT}/1/test.txt?hash={h}"), "valid": false, "reason": "no size"},
        {"url": format!("asset:///{CLIENT}/1/test.txt?size=1"), "valid": false, "reason": "no hash"},
        {"url": format!("asset://{CLIENT}/1/test.txt?size=1&hash={h}"), "valid": false, "reason": "asset:///"},
    ]);
    fs::write(dir().join("urls.json"), serde_json::to_string_pretty(&urls).unwrap() + "\n")
        .unwrap();
}
