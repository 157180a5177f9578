//! FORMAT.md §5.2's test vectors (`vectors/epochs/`), replayed: an epoch record opens with a
//! member's device key (ours, and the standard `age` tool given the key as an OpenSSH file) and
//! carries exactly the keys its JSON says; the entry after it opens with the new epoch's key
//! only; every file under `vectors/epochs/reject/` is refused for the stated reason.
//! `RESNOTES_WRITE_VECTORS=1 cargo test -p resnotes-core --test epochs -- --ignored` regenerates
//! them (age encryption is randomized: regenerated files differ byte-wise, verify the same).

use std::fs;

use resnotes_core::format::crypto::WorkspaceKey;
use resnotes_core::format::entry::{self, EntryError, Expected, Header, NoteChange, Payload};
use resnotes_core::format::epoch::{
    self, EpochId, EpochSecret, Keyring, KeysSection, Member, Removal,
};
use resnotes_core::format::signature::DeviceKey;
use serde_json::{json, Value};
use uuid::Uuid;

mod common;
use common::{dir, hex, read_json, unhex, CLIENT, NOTE, OTHER, WORKSPACE};

/// Device C: removed by the record.
const REMOVED: &str = "c0c0c0c0-0000-4000-8000-00000000000c";
/// The seeds of B's and C's device keys.
const SEED_B: [u8; 32] = [0x0b; 32];
const SEED_C: [u8; 32] = [0x0c; 32];

fn ws() -> Uuid {
    WORKSPACE.parse().unwrap()
}

fn secret_line(file: &str) -> String {
    let text = fs::read_to_string(dir().join(file)).unwrap();
    text.lines().find(|l| l.starts_with("AGE-SECRET-KEY-")).unwrap().to_string()
}

/// Epoch 0: the vectors' workspace identity.
fn key0() -> WorkspaceKey {
    WorkspaceKey::parse(&secret_line("identity.txt"), &ws()).unwrap()
}

/// Device A's key.
fn device_a() -> DeviceKey {
    let text = fs::read_to_string(dir().join("device-key.txt")).unwrap();
    DeviceKey::parse(text.lines().find(|l| !l.starts_with('#')).unwrap()).unwrap()
}

/// The epoch the record starts: entry 8 of device A.
fn epoch1() -> EpochId {
    EpochId { client: CLIENT.parse().unwrap(), index: 8 }
}

fn expected(index: u64, prev: &str, signer: &DeviceKey) -> Expected {
    Expected {
        workspace: ws(),
        client: CLIENT.parse().unwrap(),
        index,
        prev_hash: unhex(prev).try_into().unwrap(),
        prev_signer: Some(signer.public()),
    }
}

fn keys_json(k: &KeysSection) -> Value {
    json!({
        "identity": k.identity.expose(),
        "earlier": k.earlier.iter().map(|(id, e)| json!({"clientId": id.client.to_string(), "index": id.index, "identity": e.expose()})).collect::<Vec<_>>(),
        "members": k.members.iter().map(|m| json!({"clientId": m.client.to_string(), "key": hex(&m.key)})).collect::<Vec<_>>(),
        "removals": k.removals.iter().map(|r| json!({"clientId": r.client.to_string(), "cutoff": r.cutoff})).collect::<Vec<_>>(),
    })
}

#[test]
fn the_record_opens_with_a_members_device_key_and_names_the_epoch_its_entries_use() {
    let want = read_json("epochs/record.json");
    let file = fs::read(dir().join("epochs/record.age")).unwrap();
    let a = device_a();
    let b = DeviceKey::from_seed(SEED_B);
    let prev = read_json("entry-7.json")["hash"].as_str().unwrap().to_string();
    assert_eq!(want["prevHash"], json!(prev), "the record follows entry-7");

    // B, a member, opens it with epoch 0's key and its own device key.
    let ring = Keyring::new(ws(), key0()).with_device(&b);
    assert_eq!(hex(&ring.open(&file).unwrap()), want["envelopeHex"].as_str().unwrap());
    let record = entry::accept_in(&file, &ring, &expected(8, &prev, &a)).unwrap();
    assert_eq!(record.epoch, EpochId::ZERO, "the record follows epoch 0");
    assert_eq!(hex(&record.hash), want["hash"].as_str().unwrap());
    let keys = record.keys.clone().expect("an epoch record");
    assert_eq!(keys_json(&keys), want["keys"]);
    assert_eq!(keys.identity.expose(), secret_line("epochs/identity-1.txt"));
    assert!(record.changes.is_empty(), "a record may carry no change");

    // A reader of versions 1 to 6 waits for an update; C, removed, cannot open it.
    assert!(matches!(
        entry::accept(&file, &key0(), &expected(8, &prev, &a)),
        Err(EntryError::Undecryptable(_) | EntryError::UnsupportedVersion(7))
    ));
    let c = Keyring::new(ws(), key0()).with_device(&DeviceKey::from_seed(SEED_C));
    assert!(matches!(
        entry::accept_in(&file, &c, &expected(8, &prev, &a)),
        Err(EntryError::Undecryptable(_))
    ));

    // Entry 9 is of the new epoch: it opens with the record's key, and only with it.
    let want9 = read_json("epochs/entry-9.json");
    let file9 = fs::read(dir().join("epochs/entry-9.age")).unwrap();
    let at9 = expected(9, want["hash"].as_str().unwrap(), &a);
    let ring = Keyring::new(ws(), key0()).with_device(&b);
    assert!(matches!(entry::accept_in(&file9, &ring, &at9), Err(EntryError::Undecryptable(_))));
    assert!(ring.learn(epoch1(), &keys.identity));
    let e9 = entry::accept_in(&file9, &ring, &at9).unwrap();
    assert_eq!(e9.epoch, epoch1());
    assert_eq!(hex(&ring.open(&file9).unwrap()), want9["envelopeHex"].as_str().unwrap());
    assert_eq!(hex(&e9.hash), want9["hash"].as_str().unwrap());
    assert_eq!(e9.changes[0].note.to_string(), want9["changes"][0]["note"].as_str().unwrap());
    assert_eq!(hex(&e9.changes[0].change), want9["changes"][0]["changeHex"].as_str().unwrap());
    let c = Keyring::new(ws(), key0()).with_device(&DeviceKey::from_seed(SEED_C));
    assert!(matches!(entry::accept_in(&file9, &c, &at9), Err(EntryError::Undecryptable(_))));
    // A second key for an epoch a keyring holds is ignored: epoch 0 cannot be replaced.
    assert!(!c.learn(EpochId::ZERO, &EpochSecret::generate()));
    assert!(matches!(entry::accept_in(&file9, &c, &at9), Err(EntryError::Undecryptable(_))));
}

/// The promise of §5.2: the standard `age` tool opens a record with a member's device key as an
/// OpenSSH private key file, and the entry after it with the epoch's identity.
#[test]
fn the_age_tool_opens_the_record_and_the_epochs_entries() {
    let age = |key: &str, file: &str| {
        let out = std::process::Command::new("age")
            .args(["-d", "-i"])
            .arg(dir().join(key))
            .arg(dir().join(file))
            .output()
            .expect("the age tool (Debian package age) must be installed");
        assert!(out.status.success(), "age -d {file}: {}", String::from_utf8_lossy(&out.stderr));
        hex(&out.stdout)
    };
    let record = read_json("epochs/record.json");
    assert_eq!(
        fs::read_to_string(dir().join("epochs/device-b.openssh")).unwrap(),
        DeviceKey::from_seed(SEED_B).to_openssh(),
        "the OpenSSH file is B's key"
    );
    for key in ["epochs/device-a.openssh", "epochs/device-b.openssh", "epochs/identity-1.txt"] {
        assert_eq!(age(key, "epochs/record.age"), record["envelopeHex"].as_str().unwrap(), "{key}");
    }
    let entry9 = read_json("epochs/entry-9.json");
    assert_eq!(
        age("epochs/identity-1.txt", "epochs/entry-9.age"),
        entry9["envelopeHex"].as_str().unwrap()
    );
}

#[test]
fn rejected_epoch_vectors_are_refused_for_the_stated_reason() {
    let cases = read_json("epochs/reject/cases.json");
    let a = device_a();
    for case in cases.as_array().unwrap() {
        let file = case["file"].as_str().unwrap();
        let bytes = fs::read(dir().join("epochs/reject").join(file)).unwrap();
        let zero = if case["key"] == json!("plaintext") { WorkspaceKey::Plaintext } else { key0() };
        let ring = Keyring::new(ws(), zero).with_device(&DeviceKey::from_seed(SEED_B));
        if case["holdsEpoch1"] == json!(true) {
            ring.learn(
                epoch1(),
                &EpochSecret::parse(secret_line("epochs/identity-1.txt").as_bytes()).unwrap(),
            );
        }
        let want =
            expected(case["index"].as_u64().unwrap(), case["prevHash"].as_str().unwrap(), &a);
        let err = entry::accept_in(&bytes, &ring, &want).expect_err(file);
        let kind = err.class();
        assert_eq!(kind, case["expect"].as_str().unwrap(), "{file}");
    }
}

#[test]
#[ignore = "writes the epoch vectors; run with RESNOTES_WRITE_VECTORS=1"]
fn generate_epoch_vectors() {
    if std::env::var("RESNOTES_WRITE_VECTORS").is_err() {
        return;
    }
    let d = dir().join("epochs");
    fs::create_dir_all(d.join("reject")).unwrap();
    let (a, b, c) = (device_a(), DeviceKey::from_seed(SEED_B), DeviceKey::from_seed(SEED_C));
    let (client, other, removed): (Uuid, Uuid, Uuid) =
        (CLIENT.parse().unwrap(), OTHER.parse().unwrap(), REMOVED.parse().unwrap());
    let zero = key0();
    // Keep epoch 1's identity once made.
    let identity = if d.join("identity-1.txt").exists() {
        EpochSecret::parse(secret_line("epochs/identity-1.txt").as_bytes()).unwrap()
    } else {
        EpochSecret::generate()
    };
    let k1 = identity.key(&ws());
    fs::write(d.join("identity-1.txt"), format!("# Test identity of key epoch 1 (vectors/epochs, FORMAT.md §5.2) only. Never use it for real data.\n# public key: {}\n{}\n", k1.recipient().unwrap(), identity.expose())).unwrap();
    fs::write(d.join("device-a.openssh"), a.to_openssh()).unwrap();
    fs::write(d.join("device-b.openssh"), b.to_openssh()).unwrap();

    let e7 = read_json("entry-7.json");
    let hash7: [u8; 32] = unhex(e7["hash"].as_str().unwrap()).try_into().unwrap();
    let h8 = Header {
        workspace: ws(),
        client,
        index: 8,
        timestamp: 1_700_000_004_000,
        lamport: 14,
        prev_hash: hash7,
    };
    let keys = KeysSection {
        identity: identity.clone(),
        earlier: vec![(EpochId::ZERO, EpochSecret::of(&zero).unwrap())],
        members: vec![
            Member { client, key: a.public() },
            Member { client: other, key: b.public() },
        ],
        removals: vec![Removal { client: removed, cutoff: 3 }],
    };
    let clock = Payload { clock: vec![(other, 4), (removed, 3)], ..Default::default() };
    let (plain8, hash8) = entry::encode_record(&h8, EpochId::ZERO, &zero, &keys, &clock, &a);
    let file8 = epoch::seal_record(&plain8, &keys).unwrap();
    fs::write(d.join("record.age"), &file8).unwrap();
    let meta = json!({
        "workspaceId": WORKSPACE, "clientId": CLIENT, "index": 8, "prevHash": hex(&hash7),
        "epoch": {"clientId": Uuid::nil().to_string(), "index": 0},
        "keys": keys_json(&keys), "clock": [{"clientId": OTHER, "index": 4}, {"clientId": REMOVED, "index": 3}],
        "flags": plain8[5], "envelopeHex": hex(&plain8), "hash": hex(&hash8),
    });
    fs::write(d.join("record.json"), serde_json::to_string_pretty(&meta).unwrap() + "\n").unwrap();

    // Entry 9, in epoch 1: the text's next change.
    let note: Uuid = NOTE.parse().unwrap();
    let change = hex_change(&e7);
    let h9 = Header {
        index: 9,
        timestamp: 1_700_000_004_500,
        lamport: 15,
        prev_hash: hash8,
        ..h8.clone()
    };
    let p9 = Payload::changes(vec![NoteChange { note, change: change.clone() }]);
    let (plain9, hash9) = entry::encode_in_epoch(&h9, epoch1(), &p9, &k1, &a);
    fs::write(d.join("entry-9.age"), k1.seal(&plain9).unwrap()).unwrap();
    let meta9 = json!({
        "workspaceId": WORKSPACE, "clientId": CLIENT, "index": 9, "prevHash": hex(&hash8),
        "epoch": {"clientId": CLIENT, "index": 8},
        "changes": [{"note": NOTE, "changeHex": hex(&change)}],
        "flags": plain9[5], "envelopeHex": hex(&plain9), "hash": hex(&hash9),
    });
    fs::write(d.join("entry-9.json"), serde_json::to_string_pretty(&meta9).unwrap() + "\n")
        .unwrap();

    // Files a reader must refuse.
    let mut cases = Vec::new();
    let mut add = |file: &str,
                   bytes: Vec<u8>,
                   index: u64,
                   prev: &[u8; 32],
                   expect: &str,
                   why: &str,
                   extra: Value| {
        fs::write(d.join("reject").join(file), bytes).unwrap();
        let mut c = json!({"file": file, "index": index, "prevHash": hex(prev), "expect": expect, "why": why});
        if let Value::Object(m) = extra {
            for (k, v) in m {
                c[k] = v;
            }
        }
        cases.push(c);
    };
    let record = |k: &KeysSection, mac: &WorkspaceKey| {
        let (plain, _) = entry::encode_record(&h8, EpochId::ZERO, mac, k, &clock, &a);
        epoch::seal_record(&plain, k).unwrap()
    };
    let mut k = keys.clone();
    k.members.retain(|m| m.client != client);
    add(
        "record-writer-not-member.age",
        record(&k, &zero),
        8,
        &hash7,
        "malformed",
        "an epoch record whose writer is not one of the members it wraps the key to",
        json!({}),
    );
    let mut k = keys.clone();
    k.members[0].key = c.public();
    add(
        "record-writer-other-key.age",
        record(&k, &zero),
        8,
        &hash7,
        "malformed",
        "an epoch record naming its writer with another key than the one that signed it",
        json!({}),
    );
    let mut k = keys.clone();
    k.earlier = vec![(EpochId::ZERO, EpochSecret::generate())];
    add("record-follows-another-key.age", record(&k, &zero), 8, &hash7, "malformed", "an epoch record whose first earlier key is not the key of the epoch its header names (written by someone who does not hold it)", json!({}));
    add(
        "record-mac-with-new-key.age",
        record(&keys, &k1),
        8,
        &hash7,
        "bad_mac",
        "an epoch record MACed with the key it starts instead of the key of the epoch it follows",
        json!({}),
    );
    let mut k = keys.clone();
    k.removals = vec![Removal { client: other, cutoff: 4 }];
    add(
        "record-removes-a-member.age",
        record(&k, &zero),
        8,
        &hash7,
        "malformed",
        "an epoch record that removes a device it also wraps the key to",
        json!({}),
    );
    let mut k = keys.clone();
    k.members.reverse();
    add(
        "record-members-unsorted.age",
        record(&k, &zero),
        8,
        &hash7,
        "malformed",
        "an epoch record whose members are not in ascending clientId",
        json!({}),
    );
    let raw6 = entry::encode_raw(
        &h8,
        6,
        entry::FLAG_RECORD,
        &[keys.encode(), entry::encode_payload(&clock)].concat(),
        &zero,
        Some(&a),
    )
    .0;
    add(
        "record-flag-in-version-6.age",
        zero.seal(&raw6).unwrap(),
        8,
        &hash7,
        "malformed",
        "flag bit 1 (an epoch record) in a version-6 envelope",
        json!({}),
    );
    let stray = EpochId { client: other, index: 5 };
    let (plain, _) = entry::encode_in_epoch(&h9, stray, &p9, &k1, &a);
    add(
        "epoch-not-held.age",
        k1.seal(&plain).unwrap(),
        9,
        &hash8,
        "undecryptable",
        "an entry naming a key epoch whose record this reader does not hold (it waits)",
        json!({"holdsEpoch1": true}),
    );
    let (plain, _) = entry::encode_in_epoch(&h9, epoch1(), &p9, &zero, &a);
    add("epoch-mac-with-epoch-0.age", k1.seal(&plain).unwrap(), 9, &hash8, "bad_mac", "an entry naming epoch 1 but MACed with epoch 0's key (written by a device that does not hold epoch 1)", json!({"holdsEpoch1": true}));
    let mut named = entry::encode_in_epoch(&h9, epoch1(), &p9, &k1, &a).0;
    named[entry::SIGNED_HEADER_LEN..entry::SIGNED_HEADER_LEN + 16].fill(0);
    add(
        "epoch-of-no-device.age",
        k1.seal(&named).unwrap(),
        9,
        &hash8,
        "malformed",
        "a header naming epoch index 8 of the nil device (only epoch 0 is named by zeros)",
        json!({"holdsEpoch1": true}),
    );
    let mut v8 = plain9.clone();
    v8[4] = 8;
    add(
        "version-8.age",
        k1.seal(&v8).unwrap(),
        9,
        &hash8,
        "unsupported_version",
        "envelope version 8",
        json!({"holdsEpoch1": true}),
    );
    let h0 = Header { index: 0, prev_hash: [0; 32], ..h9.clone() };
    let (plain, _) = entry::encode_in_epoch(&h0, epoch1(), &p9, &WorkspaceKey::Plaintext, &a);
    add(
        "plaintext-epoch.bin",
        plain,
        0,
        &[0; 32],
        "malformed",
        "a plaintext workspace's entry naming a key epoch (plaintext workspaces have none)",
        json!({"key": "plaintext"}),
    );
    fs::write(d.join("reject/cases.json"), serde_json::to_string_pretty(&cases).unwrap() + "\n")
        .unwrap();
}

/// The change of `entry-7.json`: a real Automerge change of the vectors' note, reused as entry 9's
/// payload (the vectors check bytes, not the document it builds).
fn hex_change(e7: &Value) -> Vec<u8> {
    unhex(e7["changes"][0]["changeHex"].as_str().unwrap())
}
