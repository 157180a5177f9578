//! FORMAT.md §11's pack vectors, replayed: `vectors/packs/pack-1-0.pack` is level-1 block 0 of
//! the vectors' client (100 entries, each one change to one note); it must open with the
//! vectors' key, and each entry in it must be accepted with its file key exactly as a single
//! file is, with the hashes `pack-1-0.json` gives; every file in `vectors/packs/reject/` must
//! not be used, for the stated reason. The keys part and each entry are standard age files, and
//! the real `age` tool opens them.
//! `RESNOTES_WRITE_VECTORS=1 cargo test -p resnotes-core --test pack_vectors -- --ignored`
//! writes them again (age encryption is randomized: the bytes change, the checks do not).

use std::fs;

use resnotes_core::format::crypto::WorkspaceKey;
use resnotes_core::format::entry::{self, Expected, Header, NoteChange, Payload, ZERO_HASH};
use resnotes_core::format::epoch::{EpochId, Keyring};
use resnotes_core::format::pack::{self, Block, PackError};
use resnotes_core::format::signature::DeviceKey;
use serde_json::{json, Value};
use uuid::Uuid;

// Shared by the vector replays; this one needs only part of it.
#[allow(dead_code)]
mod common;
use common::{dir, hex, read_json, CLIENT, NOTE, WORKSPACE};

fn key() -> WorkspaceKey {
    let text = fs::read_to_string(dir().join("identity.txt")).unwrap();
    let secret = text.lines().find(|l| l.starts_with("AGE-SECRET-KEY-")).unwrap();
    WorkspaceKey::parse(secret, &ws()).unwrap()
}

fn device_key() -> DeviceKey {
    let text = fs::read_to_string(dir().join("device-key.txt")).unwrap();
    DeviceKey::parse(text.lines().find(|l| !l.starts_with('#')).unwrap()).unwrap()
}

fn ws() -> Uuid {
    WORKSPACE.parse().unwrap()
}

fn block0() -> Block {
    Block { client: CLIENT.parse().unwrap(), level: 1, index: 0 }
}

#[test]
fn the_pack_opens_and_each_entry_is_accepted_with_its_file_key() {
    let want = read_json("packs/pack-1-0.json");
    let bytes = fs::read(dir().join("packs/pack-1-0.pack")).unwrap();
    let ring = Keyring::new(ws(), key());
    let b = block0();
    assert_eq!(b.path(1000), want["path"].as_str().unwrap());
    let opened = pack::open(&bytes, &ws(), &b, &ring).unwrap();
    assert_eq!(opened.epoch, EpochId::ZERO);
    let hashes = want["entryHashes"].as_array().unwrap();
    assert_eq!(opened.entries.len(), 100);
    let mut prev = ZERO_HASH;
    let mut signer = None;
    for (i, (file, fk)) in opened.entries.iter().enumerate() {
        let expected = Expected {
            workspace: ws(),
            client: b.client,
            index: i as u64,
            prev_hash: prev,
            prev_signer: signer,
        };
        let e = entry::accept_packed(file, fk.as_ref(), &ring, &expected)
            .unwrap_or_else(|err| panic!("entry {i}: {err}"));
        // The same file opens the usual way too: a pack holds the entry files verbatim.
        assert_eq!(entry::accept_in(file, &ring, &expected).unwrap().hash, e.hash);
        assert_eq!(hex(&e.hash), hashes[i].as_str().unwrap(), "entry {i}");
        prev = e.hash;
        signer = e.signer;
    }
    // An epoch record is never read from a pack (FORMAT.md §11): its file, sealed to members'
    // device keys, is not opened with a file key, whatever the key.
    let record = fs::read(dir().join("epochs/record.age")).unwrap();
    let at8 = Expected {
        workspace: ws(),
        client: b.client,
        index: 8,
        prev_hash: ZERO_HASH,
        prev_signer: None,
    };
    assert!(entry::accept_packed(&record, Some(&[0u8; 16]), &ring, &at8).is_err());
    // A wrong file key opens nothing: age's header MAC.
    let (file, _) = opened.entries[3];
    let expected = Expected {
        workspace: ws(),
        client: b.client,
        index: 3,
        prev_hash: prev,
        prev_signer: None,
    };
    assert!(entry::accept_packed(file, Some(&[9u8; 16]), &ring, &expected).is_err());
}

/// The keys part and the entry files of a pack are standard age files: `age -d` opens them
/// with the workspace key, and the keys part holds the file key of each entry.
#[test]
fn the_age_tool_opens_the_keys_part_and_the_entries() {
    let want = read_json("packs/pack-1-0.json");
    let bytes = fs::read(dir().join("packs/pack-1-0.pack")).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let age = |part: &[u8]| {
        let f = tmp.path().join("part.age");
        fs::write(&f, part).unwrap();
        let out = std::process::Command::new("age")
            .args(["-d", "-i"])
            .arg(dir().join("identity.txt"))
            .arg(&f)
            .output()
            .expect("the age tool (Debian package age) must be installed");
        assert!(out.status.success(), "age -d: {}", String::from_utf8_lossy(&out.stderr));
        out.stdout
    };
    let k = want["keysPart"]["length"].as_u64().unwrap() as usize;
    let keys = age(&bytes[74..74 + k]);
    assert_eq!(keys.len(), 16 * 100, "one file key per entry");
    let ring = Keyring::new(ws(), key());
    let opened = pack::open(&bytes, &ws(), &block0(), &ring).unwrap();
    let (first, fk) = opened.entries[0];
    assert_eq!(fk.unwrap()[..], keys[..16]);
    let plain = age(first);
    assert_eq!(&plain[..4], b"RSNE", "entry 0, opened by age");
}

#[test]
fn rejected_packs_are_not_used_for_the_stated_reason() {
    let ring = Keyring::new(ws(), key());
    let cases = read_json("packs/reject/cases.json");
    assert!(cases.as_array().unwrap().len() >= 7);
    for case in cases.as_array().unwrap() {
        let file = case["file"].as_str().unwrap();
        let bytes = fs::read(dir().join("packs/reject").join(file)).unwrap();
        let at = &case["at"];
        let b = Block {
            client: at["clientId"].as_str().unwrap().parse().unwrap(),
            level: at["level"].as_u64().unwrap() as u8,
            index: at["block"].as_u64().unwrap(),
        };
        let err = pack::open(&bytes, &ws(), &b, &ring).expect_err(file);
        let kind = match &err {
            PackError::Incomplete => "incomplete",
            PackError::Malformed(_) => "malformed",
            PackError::Unreadable(_) => "unreadable",
        };
        assert_eq!(kind, case["expect"].as_str().unwrap(), "{file}: {err}");
        assert!(err.to_string().contains(case["reason"].as_str().unwrap()), "{file}: {err}");
    }
}

/// Mutated and cut copies of the vector never make `pack::open` panic, and what it returns
/// always lies inside the bytes given.
#[test]
fn damaged_packs_are_refused_without_a_panic() {
    let bytes = fs::read(dir().join("packs/pack-1-0.pack")).unwrap();
    let ring = Keyring::new(ws(), key());
    let b = block0();
    let mut rng = fastrand::Rng::with_seed(21);
    for _ in 0..2000 {
        let mut m = bytes.clone();
        for _ in 0..rng.usize(1..4) {
            let i = rng.usize(..m.len());
            m[i] = rng.u8(..);
        }
        let cut = rng.usize(..=m.len());
        for data in [&m[..], &m[..cut]] {
            if let Ok(o) = pack::open(data, &ws(), &b, &ring) {
                assert_eq!(o.entries.len(), 100);
            }
        }
    }
}

#[test]
#[ignore = "writes the vectors; run with RESNOTES_WRITE_VECTORS=1"]
fn generate_pack_vectors() {
    if std::env::var("RESNOTES_WRITE_VECTORS").is_err() {
        return;
    }
    let k = key();
    let device = device_key();
    let client: Uuid = CLIENT.parse().unwrap();
    let note: Uuid = NOTE.parse().unwrap();
    let mut doc = resnotes_core::note::new_doc(&client);
    resnotes_core::note::create(&mut doc, "A note typed into", "", 1_700_000_000_000).unwrap();
    let mut prev = ZERO_HASH;
    let mut files = Vec::new();
    let mut hashes = Vec::new();
    for i in 0..100u64 {
        let before = if i == 0 { Vec::new() } else { doc.get_heads() };
        resnotes_core::note::splice(&mut doc, "body", usize::MAX, 0, &format!("line {i}\n"))
            .unwrap();
        doc.commit();
        let changes: Vec<NoteChange> = doc
            .get_changes(&before)
            .iter()
            .map(|c| NoteChange { note, change: c.raw_bytes().to_vec() })
            .collect();
        let h = Header {
            workspace: ws(),
            client,
            index: i,
            timestamp: 1_700_000_000_000 + i as i64 * 1000,
            lamport: i + 1,
            prev_hash: prev,
        };
        let payload = Payload::changes(changes);
        let (plain, hash) = entry::encode(&h, &payload, &k, &device);
        let (file, fk) = k.seal_keeping_file_key(&plain).unwrap();
        files.push((file, fk.unwrap()));
        hashes.push(hex(&hash));
        prev = hash;
    }
    let refs: Vec<(&[u8], [u8; 16])> = files.iter().map(|(f, k)| (&f[..], *k)).collect();
    let b = block0();
    let good = pack::encode(&ws(), &b, EpochId::ZERO, &k, &refs).unwrap().unwrap();
    fs::create_dir_all(dir().join("packs/reject")).unwrap();
    fs::write(dir().join("packs/pack-1-0.pack"), &good).unwrap();
    let keys_len = u32::from_be_bytes(good[70..74].try_into().unwrap()) as usize;
    let j = json!({
        "workspaceId": WORKSPACE, "clientId": CLIENT, "level": 1, "block": 0,
        "path": b.path(1000), "epoch": {"clientId": Uuid::nil().to_string(), "index": 0},
        "keysPart": {"offset": 74, "length": keys_len},
        "entryHashes": hashes,
        "note": "each entry file is a standard age file for vectors/identity.txt; the keys part, \
                 bytes [74, 74+length), is an age file whose plaintext is the 100 file keys",
    });
    fs::write(dir().join("packs/pack-1-0.json"), serde_json::to_string_pretty(&j).unwrap() + "\n")
        .unwrap();

    let at = |level: u8, block: u64| json!({"clientId": CLIENT, "level": level, "block": block});
    let mut cases = Vec::new();
    let mut reject =
        |file: &str, bytes: Vec<u8>, at: Value, expect: &str, reason: &str, why: &str| {
            // The good pack at another path is not copied: the case names it.
            let file = if bytes == good {
                "../pack-1-0.pack".to_string()
            } else {
                fs::write(dir().join("packs/reject").join(file), bytes).unwrap();
                file.to_string()
            };
            cases.push(
                json!({"file": file, "at": at, "expect": expect, "reason": reason, "why": why}),
            );
        };
    reject(
        "cut.pack",
        good[..good.len() - 7].to_vec(),
        at(1, 0),
        "incomplete",
        "not complete",
        "cut inside the last entry: still being copied",
    );
    reject(
        "cut-in-keys.pack",
        good[..90].to_vec(),
        at(1, 0),
        "incomplete",
        "not complete",
        "cut inside the keys part",
    );
    let mut longer = good.clone();
    longer.push(0);
    reject(
        "trailing.pack",
        longer,
        at(1, 0),
        "malformed",
        "bytes after its last entry",
        "a byte after the last entry",
    );
    reject(
        "elsewhere.pack",
        good.clone(),
        at(1, 1),
        "malformed",
        "another block",
        "block 0's pack at block 1's path",
    );
    reject(
        "other-level.pack",
        good.clone(),
        at(2, 0),
        "malformed",
        "another level",
        "a level-1 pack at a level-2 path",
    );
    let mut v2 = good.clone();
    v2[4] = 2;
    reject(
        "version-2.pack",
        v2,
        at(1, 0),
        "malformed",
        "pack version 2",
        "a pack version this reader does not know",
    );
    let mut other_ws = good.clone();
    other_ws[6] ^= 0xff;
    reject(
        "other-workspace.pack",
        other_ws,
        at(1, 0),
        "malformed",
        "another workspace",
        "the header names another workspace",
    );
    let stranger = WorkspaceKey::generate(&ws());
    let foreign = pack::encode(&ws(), &b, EpochId::ZERO, &stranger, &refs).unwrap().unwrap();
    reject(
        "other-key.pack",
        foreign,
        at(1, 0),
        "unreadable",
        "cannot be read here",
        "its keys part is encrypted to another key",
    );
    let mut zero_len = good.clone();
    let lengths_at = 74 + keys_len;
    zero_len[lengths_at..lengths_at + 4].copy_from_slice(&0u32.to_be_bytes());
    reject("empty-entry.pack", zero_len, at(1, 0), "malformed", "length 0", "an entry of length 0");
    reject(
        "not-a-pack.pack",
        b"RSNE this is an entry, not a pack; long enough for the fixed part of a pack header.."
            .to_vec(),
        at(1, 0),
        "malformed",
        "not a pack",
        "wrong magic",
    );
    fs::write(
        dir().join("packs/reject/cases.json"),
        serde_json::to_string_pretty(&cases).unwrap() + "\n",
    )
    .unwrap();
}
