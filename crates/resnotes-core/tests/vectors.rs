//! FORMAT.md's test vectors, replayed: every file under `vectors/` must decode to exactly what
//! its JSON says, and every file under `vectors/reject/` must be refused for the stated reason.
//! `RESNOTES_WRITE_VECTORS=1 cargo test --workspace --test vectors -- --ignored` regenerates them
//! (age encryption is randomized, so regenerated files differ byte-wise but verify the same).

use std::fs;

use resnotes_core::format::crypto::WorkspaceKey;
use resnotes_core::format::entry::{self, Expected, Header, NoteChange, ZERO_HASH};
use resnotes_core::format::manifest::Manifest;
use resnotes_core::format::path::distributed_file_path;
use resnotes_core::format::signature::DeviceKey;
use serde_json::{json, Value};
use uuid::Uuid;

mod common;
use common::{dir, hex, read_json, unhex, CLIENT, NOTE, OTHER, WORKSPACE};

/// The notebook of entry-5.
const NOTEBOOK: &str = "5e4d3c2b-1a09-4877-8665-544332211000";

/// The vectors' device signing key (`vectors/device-key.txt`: its seed in hex).
fn device_key() -> DeviceKey {
    let text = fs::read_to_string(dir().join("device-key.txt")).unwrap();
    DeviceKey::parse(text.lines().find(|l| !l.starts_with('#')).unwrap()).unwrap()
}

/// An optional 32-byte key in hex (`null`: none).
fn signer(v: &Value) -> Option<[u8; 32]> {
    v.as_str().map(|s| unhex(s).try_into().unwrap())
}

fn key() -> WorkspaceKey {
    let text = fs::read_to_string(dir().join("identity.txt")).unwrap();
    let secret = text.lines().find(|l| l.starts_with("AGE-SECRET-KEY-")).unwrap();
    WorkspaceKey::parse(secret, &WORKSPACE.parse().unwrap()).unwrap()
}

#[test]
fn path_vectors() {
    for case in read_json("paths.json").as_array().unwrap() {
        // Indexes are decimal strings: a JSON number loses u64 values above 2^53.
        let index: u64 = case["index"].as_str().expect("index is a string").parse().unwrap();
        let max = case["maxEntriesPerFolder"].as_u64().unwrap();
        assert_eq!(
            distributed_file_path(index, max).join("/"),
            case["path"].as_str().unwrap(),
            "{case}"
        );
    }
}

#[test]
fn entry_vectors_decode_exactly() {
    for (file, meta) in [
        ("entry-0.age", "entry-0.json"),
        ("entry-1.age", "entry-1.json"),
        ("entry-2.age", "entry-2.json"),
        ("entry-3.age", "entry-3.json"),
        ("entry-4.age", "entry-4.json"),
        ("entry-5.age", "entry-5.json"),
        ("entry-6.age", "entry-6.json"),
        ("entry-7.age", "entry-7.json"),
        ("entry-plaintext.bin", "entry-plaintext.json"),
    ] {
        let want = read_json(meta);
        let k = if file.ends_with(".bin") { WorkspaceKey::Plaintext } else { key() };
        let _ = &k;
        let bytes = fs::read(dir().join(file)).unwrap();
        let plain = k.open(&bytes).unwrap();
        assert_eq!(
            hex(&plain),
            want["envelopeHex"].as_str().unwrap(),
            "{file}: decrypted envelope"
        );
        assert_eq!(plain[5] as u64, want["flags"].as_u64().unwrap(), "{file}: flags");
        let e = entry::open(
            &bytes,
            &k,
            &Expected {
                workspace: want["workspaceId"].as_str().unwrap().parse().unwrap(),
                client: want["clientId"].as_str().unwrap().parse().unwrap(),
                index: want["index"].as_u64().unwrap(),
                prev_hash: unhex(want["prevHash"].as_str().unwrap()).try_into().unwrap(),
                prev_signer: signer(&want["prevSigner"]),
            },
        )
        .unwrap_or_else(|err| panic!("{file}: {err}"));
        assert_eq!(e.signer, signer(&want["signer"]), "{file}: signer");
        assert_eq!(e.header.timestamp, want["timestamp"].as_i64().unwrap());
        assert_eq!(e.header.lamport, want["lamport"].as_u64().unwrap());
        assert_eq!(hex(&e.hash), want["hash"].as_str().unwrap(), "{file}: entry hash");
        let changes: Vec<Value> = e
            .changes
            .iter()
            .map(|c| json!({"note": c.note.to_string(), "changeHex": hex(&c.change)}))
            .collect();
        assert_eq!(Value::Array(changes), want["changes"], "{file}: changes");
        assert_eq!(plain[4] as u64, want["version"].as_u64().unwrap_or(1), "{file}: version");
        let clock: Vec<Value> =
            e.clock.iter().map(|(c, i)| json!({"clientId": c.to_string(), "index": i})).collect();
        assert_eq!(
            Value::Array(clock),
            want.get("clock").cloned().unwrap_or(json!([])),
            "{file}: clock"
        );
        assert_eq!(
            Value::Array(e.summaries.iter().map(summary_json).collect()),
            want.get("summaries").cloned().unwrap_or(json!([])),
            "{file}: summaries"
        );
        // Every change is a standard Automerge change that loads into a document.
        for c in &e.changes {
            let mut doc = automerge::AutoCommit::new();
            doc.apply_changes([automerge::Change::from_bytes(c.change.clone()).unwrap()]).unwrap();
        }
    }
    let k = key();
    if let WorkspaceKey::Age { mac_key, .. } = &k {
        assert_eq!(
            hex(&mac_key[..]),
            read_json("entry-0.json")["macKeyHex"].as_str().unwrap(),
            "HKDF-derived MAC key"
        );
    }
}

#[test]
fn rejected_vectors_are_refused_for_the_stated_reason() {
    let age_key = key();
    let cases = read_json("reject/cases.json");
    assert!(cases.as_array().unwrap().len() >= 8);
    for case in cases.as_array().unwrap() {
        let file = case["file"].as_str().unwrap();
        // `"key": "plaintext"`: read as in a plaintext workspace; otherwise with the vectors' key.
        let key = match case.get("key").and_then(|k| k.as_str()) {
            None => &age_key,
            Some("plaintext") => &WorkspaceKey::Plaintext,
            Some(other) => panic!("{file}: unknown key {other}"),
        };
        let bytes = fs::read(dir().join("reject").join(file)).unwrap();
        let want = Expected {
            workspace: WORKSPACE.parse().unwrap(),
            client: CLIENT.parse().unwrap(),
            index: case["index"].as_u64().unwrap(),
            prev_hash: unhex(case["prevHash"].as_str().unwrap()).try_into().unwrap(),
            prev_signer: signer(&case["prevSigner"]),
        };
        // Read as this version's sync reads: with a keyring (epoch 0 only here, §5.2).
        let ring =
            resnotes_core::format::epoch::Keyring::new(WORKSPACE.parse().unwrap(), key.clone());
        let err = entry::accept_in(&bytes, &ring, &want).expect_err(file);
        let kind = err.class();
        assert_eq!(kind, case["expect"].as_str().unwrap(), "{file}");
    }
}

#[test]
fn manifest_vectors() {
    let good = fs::read(dir().join("index.json")).unwrap();
    let m = Manifest::parse(&good, "vectors").unwrap();
    assert_eq!(m.workspace_id.to_string(), WORKSPACE);
    assert_eq!(m.encryption.recipients[0], key().recipient().unwrap());
    let secret = resnotes_core::format::crypto::unwrap_secret(
        &m.encryption.key_wrap.unwrap().armored,
        "vector passphrase",
    )
    .unwrap();
    use resnotes_core::age::secrecy::ExposeSecret;
    assert_eq!(secret.expose_secret(), key().secret().unwrap().expose_secret());
    // The plaintext shape (FORMAT.md §3): no recipient, no keyWrap.
    let plain =
        Manifest::parse(&fs::read(dir().join("index-plaintext.json")).unwrap(), "vectors").unwrap();
    assert_eq!(plain.workspace_id.to_string(), WORKSPACE);
    assert!(!plain.is_encrypted());
    assert_eq!(
        (plain.encryption.method.as_str(), plain.authentication.method.as_str()),
        ("none", "none")
    );
    assert!(plain.encryption.recipients.is_empty() && plain.encryption.key_wrap.is_none());
    assert_eq!(plain.change_extension, ".bin");
    // Fewer files (FORMAT.md §11.1): version 2 is read, and differs from index.json in nothing
    // else, so a device that pinned version 1 accepts it.
    let fewer =
        Manifest::parse(&fs::read(dir().join("index-fewer-files.json")).unwrap(), "vectors")
            .unwrap();
    assert!(fewer.fewer_files() && !Manifest::parse(&good, "v").unwrap().fewer_files());
    fewer.check_pinned(&Manifest::parse(&good, "v").unwrap(), "vectors").unwrap();
    for (file, code) in [
        ("reject/index-version-3.json", "unsupported_version"),
        ("reject/index-not-resilient-sync.json", "bad_manifest"),
        ("reject/index-unknown-field.json", "bad_manifest"),
        ("reject/index-nested-unknown-field.json", "bad_manifest"),
    ] {
        let err = Manifest::parse(&fs::read(dir().join(file)).unwrap(), file).expect_err(file);
        assert_eq!(resnotes_core::Error::from(err).code(), code, "{file}");
    }
}

fn kind_name(k: entry::DocKind) -> &'static str {
    match k {
        entry::DocKind::Note => "note",
        entry::DocKind::Notebook => "notebook",
        entry::DocKind::Device => "device",
    }
}

fn summary_json(s: &entry::Summary) -> Value {
    json!({"note": s.note.to_string(), "title": s.title, "firstLine": s.first_line, "createdAt": s.created_at, "updatedAt": s.updated_at, "deleted": s.deleted, "pinned": s.pinned, "purged": s.purged, "tags": s.tags, "kind": kind_name(s.kind), "notebook": s.notebook.map(|n| n.to_string())})
}

fn change(
    text: &str,
    actor: &Uuid,
    deps_doc: Option<&mut automerge::AutoCommit>,
) -> (Vec<u8>, automerge::AutoCommit) {
    use automerge::transaction::Transactable;
    let mut doc = match deps_doc {
        Some(d) => d.fork().with_actor(automerge::ActorId::from(actor.as_bytes().as_slice())),
        None => automerge::AutoCommit::new()
            .with_actor(automerge::ActorId::from(actor.as_bytes().as_slice())),
    };
    if text.is_empty() {
        resnotes_core::note::create(&mut doc, "Vector", "hello", 1_700_000_000_000).unwrap();
    } else {
        let body = match automerge::ReadDoc::get(&doc, automerge::ROOT, "body").unwrap() {
            Some((_, id)) => id,
            None => unreachable!(),
        };
        doc.splice_text(&body, 5, 0, text).unwrap();
    }
    doc.commit_with(automerge::transaction::CommitOptions::default().with_time(1_700_000_000));
    let c = doc.get_last_local_change().unwrap().raw_bytes().to_vec();
    (c, doc)
}

#[test]
#[ignore = "writes the vector files; run with RESNOTES_WRITE_VECTORS=1"]
fn generate_vectors() {
    if std::env::var("RESNOTES_WRITE_VECTORS").is_err() {
        return;
    }
    let d = dir();
    fs::create_dir_all(d.join("reject")).unwrap();
    let ws: Uuid = WORKSPACE.parse().unwrap();
    let client: Uuid = CLIENT.parse().unwrap();
    let note: Uuid = NOTE.parse().unwrap();
    // Keep the vectors' identity (the asset vectors use it too); make one only the first time.
    let key = if d.join("identity.txt").exists() { key() } else { WorkspaceKey::generate(&ws) };
    use resnotes_core::age::secrecy::ExposeSecret;
    fs::write(d.join("identity.txt"), format!("# Test identity for FORMAT.md vectors only. Never use it for real data.\n# public key: {}\n{}\n", key.recipient().unwrap(), key.secret().unwrap().expose_secret())).unwrap();

    let paths: Vec<Value> = [(0u64, 1000u64), (1, 1000), (999, 1000), (1000, 1000), (1001, 1000), (1003, 1000), (999_999, 1000), (1_000_000, 1000), (5, 2), (u64::MAX, 1000)]
        .iter()
        .map(|(i, m)| json!({"index": i.to_string(), "maxEntriesPerFolder": m, "path": distributed_file_path(*i, *m).join("/")}))
        .collect();
    fs::write(d.join("paths.json"), serde_json::to_string_pretty(&paths).unwrap() + "\n").unwrap();

    let (c0, mut doc) = change("", &client, None);
    let (c1, mut doc) = change(", world", &client, Some(&mut doc));
    let long = "\n\n## A longer section\n\nResilient notes sync through any folder. ".repeat(20);
    let (c2, mut doc) = change(&long, &client, Some(&mut doc));
    let (c3, mut doc3) = change(" (summarised)", &client, Some(&mut doc));
    let h0 = Header {
        workspace: ws,
        client,
        index: 0,
        timestamp: 1_700_000_000_000,
        lamport: 1,
        prev_hash: ZERO_HASH,
    };
    let ch0 = vec![NoteChange { note, change: c0.clone() }];
    let (plain0, hash0) = entry::encode_v1(&h0, &ch0, &key);
    let h1 = Header {
        index: 1,
        timestamp: 1_700_000_000_500,
        lamport: 2,
        prev_hash: hash0,
        ..h0.clone()
    };
    let ch1 = vec![NoteChange { note, change: c1.clone() }];
    let (plain1, hash1) = entry::encode_v1(&h1, &ch1, &key);
    let h2 = Header {
        index: 2,
        timestamp: 1_700_000_001_000,
        lamport: 3,
        prev_hash: hash1,
        ..h0.clone()
    };
    let ch2 = vec![NoteChange { note, change: c2.clone() }];
    let (plain2, hash2) = entry::encode_v1(&h2, &ch2, &key);
    assert_eq!(plain2[5], entry::FLAG_DEFLATE, "entry-2 is the compressed vector");
    // entry-3: version 2, with the note's summary after its change and a clock naming another device.
    let h3 = Header {
        index: 3,
        timestamp: 1_700_000_001_500,
        lamport: 9,
        prev_hash: hash2,
        ..h0.clone()
    };
    let f = resnotes_core::note::read(&doc3);
    let summary = entry::Summary {
        note,
        title: f.title,
        first_line: resnotes_core::note::first_line(&f.body).0,
        created_at: f.created_at,
        updated_at: f.updated_at,
        deleted: f.deleted,
        pinned: false,
        purged: false,
        tags: Vec::new(),
        kind: entry::DocKind::Note,
        notebook: None,
    };
    let p3 = entry::Payload {
        changes: vec![NoteChange { note, change: c3.clone() }],
        clock: vec![(OTHER.parse().unwrap(), 4)],
        summaries: vec![summary.clone()],
    };
    let (plain3, hash3) = entry::encode_as(&h3, &p3, 2, &key);
    // entry-4: version 3, a change that pins the note and tags it "home" and "work", with the
    // summary saying so.
    let h4 = Header {
        index: 4,
        timestamp: 1_700_000_002_000,
        lamport: 10,
        prev_hash: hash3,
        ..h0.clone()
    };
    let mut doc4 = doc3.fork().with_actor(automerge::ActorId::from(client.as_bytes().as_slice()));
    resnotes_core::note::set_pinned(&mut doc4, true).unwrap();
    resnotes_core::note::retag(&mut doc4, &["work".into(), "home".into()], &[]).unwrap();
    doc4.commit_with(automerge::transaction::CommitOptions::default().with_time(1_700_000_002));
    let c4 = doc4.get_last_local_change().unwrap().raw_bytes().to_vec();
    let summary4 = entry::Summary {
        pinned: true,
        tags: resnotes_core::note::read_head(&doc4).tags,
        ..summary.clone()
    };
    assert_eq!(summary4.tags, ["home", "work"]);
    let p4 = entry::Payload {
        changes: vec![NoteChange { note, change: c4.clone() }],
        clock: vec![(OTHER.parse().unwrap(), 4)],
        summaries: vec![summary4.clone()],
    };
    let (plain4, hash4) = entry::encode_as(&h4, &p4, 3, &key);
    assert_eq!(plain4[4], 3);
    // entry-5: version 4, a new notebook "Work" and a change moving the note into it, with
    // both summaries.
    let h5 = Header {
        index: 5,
        timestamp: 1_700_000_002_500,
        lamport: 11,
        prev_hash: hash4,
        ..h0.clone()
    };
    let book: Uuid = NOTEBOOK.parse().unwrap();
    let mut book_doc = resnotes_core::note::new_doc(&client);
    resnotes_core::note::create_notebook(&mut book_doc, "Work", None, 1_700_000_002_500).unwrap();
    book_doc.commit_with(automerge::transaction::CommitOptions::default().with_time(1_700_000_002));
    let c5_book = book_doc.get_last_local_change().unwrap().raw_bytes().to_vec();
    let mut doc5 = doc4.fork().with_actor(automerge::ActorId::from(client.as_bytes().as_slice()));
    resnotes_core::note::move_to(&mut doc5, Some(book), 1_700_000_002_500).unwrap();
    doc5.commit_with(automerge::transaction::CommitOptions::default().with_time(1_700_000_002));
    let c5_note = doc5.get_last_local_change().unwrap().raw_bytes().to_vec();
    let summary5 = entry::Summary { notebook: Some(book), ..summary4.clone() };
    let book_head = resnotes_core::note::read_head(&book_doc);
    assert_eq!(book_head.kind, entry::DocKind::Notebook);
    let book_summary = entry::Summary {
        note: book,
        title: book_head.title,
        first_line: String::new(),
        created_at: book_head.created_at,
        updated_at: book_head.updated_at,
        deleted: false,
        pinned: false,
        purged: false,
        tags: Vec::new(),
        kind: entry::DocKind::Notebook,
        notebook: None,
    };
    let p5 = entry::Payload {
        changes: vec![
            NoteChange { note: book, change: c5_book.clone() },
            NoteChange { note, change: c5_note.clone() },
        ],
        clock: vec![(OTHER.parse().unwrap(), 4)],
        summaries: vec![book_summary.clone(), summary5.clone()],
    };
    let (plain5, hash5) = entry::encode_as(&h5, &p5, 4, &key);
    assert_eq!(plain5[4], 4);
    // entry-6: version 5, the writer names itself (its device document, id = its clientId).
    let h6 = Header {
        index: 6,
        timestamp: 1_700_000_003_000,
        lamport: 12,
        prev_hash: hash5,
        ..h0.clone()
    };
    let mut device_doc = resnotes_core::note::new_doc(&client);
    resnotes_core::note::name_device(&mut device_doc, "Vector laptop", 1_700_000_003_000).unwrap();
    device_doc
        .commit_with(automerge::transaction::CommitOptions::default().with_time(1_700_000_003));
    let c6 = device_doc.get_last_local_change().unwrap().raw_bytes().to_vec();
    let device_head = resnotes_core::note::read_head(&device_doc);
    assert_eq!(device_head.kind, entry::DocKind::Device);
    let device_summary = entry::Summary {
        note: client,
        title: device_head.title,
        first_line: String::new(),
        created_at: device_head.created_at,
        updated_at: device_head.updated_at,
        deleted: false,
        pinned: false,
        purged: false,
        tags: Vec::new(),
        kind: entry::DocKind::Device,
        notebook: None,
    };
    let p6 = entry::Payload {
        changes: vec![NoteChange { note: client, change: c6.clone() }],
        clock: vec![(OTHER.parse().unwrap(), 4)],
        summaries: vec![device_summary.clone()],
    };
    let (plain6, hash6) = entry::encode_as(&h6, &p6, 5, &key);
    assert_eq!(plain6[4], 5);
    // entry-7: version 6, the first entry its device signs (§5.1): one more edit of the note.
    let device = if d.join("device-key.txt").exists() {
        device_key()
    } else {
        DeviceKey::from_seed(resnotes_core::format::entry::sha256(b"resilient-notes vector device"))
    };
    fs::write(d.join("device-key.txt"), format!("# Test device signing key (Ed25519 seed, hex) for FORMAT.md vectors only.\n# public key: {}\n{}\n", hex(&device.public()), device.to_text())).unwrap();
    let h7 = Header {
        index: 7,
        timestamp: 1_700_000_003_500,
        lamport: 13,
        prev_hash: hash6,
        ..h0.clone()
    };
    let (c7, _) = change(" (signed)", &client, Some(&mut doc5.fork()));
    let p7 = entry::Payload {
        changes: vec![NoteChange { note, change: c7.clone() }],
        clock: vec![(OTHER.parse().unwrap(), 4)],
        summaries: Vec::new(),
    };
    let (plain7, hash7) = entry::encode(&h7, &p7, &key, &device);
    assert_eq!(plain7[4], 6);
    let mac_key = match &key {
        WorkspaceKey::Age { mac_key, .. } => hex(&mac_key[..]),
        _ => unreachable!(),
    };
    for (name, h, plain, hash, ch) in [
        ("entry-0", &h0, &plain0, hash0, &c0),
        ("entry-1", &h1, &plain1, hash1, &c1),
        ("entry-2", &h2, &plain2, hash2, &c2),
        ("entry-3", &h3, &plain3, hash3, &c3),
        ("entry-4", &h4, &plain4, hash4, &c4),
        ("entry-5", &h5, &plain5, hash5, &c5_note),
        ("entry-6", &h6, &plain6, hash6, &c6),
        ("entry-7", &h7, &plain7, hash7, &c7),
    ] {
        fs::write(d.join(format!("{name}.age")), key.seal(plain).unwrap()).unwrap();
        let mut meta = json!({
            "workspaceId": WORKSPACE, "clientId": CLIENT, "index": h.index, "timestamp": h.timestamp, "lamport": h.lamport,
            "prevHash": hex(&h.prev_hash), "hash": hex(&hash), "macKeyHex": mac_key, "version": plain[4], "flags": plain[5], "envelopeHex": hex(plain),
            "changes": [{"note": NOTE, "changeHex": hex(ch)}],
            "prevSigner": null, "signer": null,
        });
        if name == "entry-3" {
            meta["clock"] = json!([{"clientId": OTHER, "index": 4}]);
            meta["summaries"] = json!([summary_json(&summary)]);
        }
        if name == "entry-4" {
            meta["clock"] = json!([{"clientId": OTHER, "index": 4}]);
            meta["summaries"] = json!([summary_json(&summary4)]);
        }
        if name == "entry-5" {
            meta["changes"] = json!([
                {"note": NOTEBOOK, "changeHex": hex(&c5_book)},
                {"note": NOTE, "changeHex": hex(&c5_note)},
            ]);
            meta["clock"] = json!([{"clientId": OTHER, "index": 4}]);
            meta["summaries"] = json!([summary_json(&book_summary), summary_json(&summary5)]);
        }
        if name == "entry-6" {
            meta["changes"] = json!([{"note": CLIENT, "changeHex": hex(&c6)}]);
            meta["clock"] = json!([{"clientId": OTHER, "index": 4}]);
            meta["summaries"] = json!([summary_json(&device_summary)]);
        }
        if name == "entry-7" {
            meta["clock"] = json!([{"clientId": OTHER, "index": 4}]);
            meta["signer"] = json!(hex(&device.public()));
        }
        fs::write(
            d.join(format!("{name}.json")),
            serde_json::to_string_pretty(&meta).unwrap() + "\n",
        )
        .unwrap();
    }
    let (plain_p, hash_p) = entry::encode_v1(&h0, &ch0, &WorkspaceKey::Plaintext);
    fs::write(d.join("entry-plaintext.bin"), &plain_p).unwrap();
    let meta = json!({
        "workspaceId": WORKSPACE, "clientId": CLIENT, "index": 0, "timestamp": h0.timestamp, "lamport": 1,
        "prevHash": hex(&ZERO_HASH), "hash": hex(&hash_p), "flags": plain_p[5], "envelopeHex": hex(&plain_p), "changes": [{"note": NOTE, "changeHex": hex(&c0)}],
    });
    fs::write(d.join("entry-plaintext.json"), serde_json::to_string_pretty(&meta).unwrap() + "\n")
        .unwrap();

    // Rejected files.
    let sealed0 = key.seal(&plain0).unwrap();
    let z = hex(&ZERO_HASH);
    let mut cases = Vec::new();
    let mut add = |file: &str, bytes: Vec<u8>, index: u64, prev: &str, expect: &str, why: &str| {
        fs::write(d.join("reject").join(file), bytes).unwrap();
        cases.push(
            json!({"file": file, "index": index, "prevHash": prev, "expect": expect, "why": why}),
        );
    };
    // A compressed change (chunk type 2) that inflates to 16 MiB of text: Automerge inflates such
    // a chunk without a bound, so readers refuse type 2 (writers never produce it).
    let bomb = {
        let mut doc = resnotes_core::note::new_doc(&CLIENT.parse().unwrap());
        resnotes_core::note::create(&mut doc, "bomb", &"a".repeat(16 << 20), 1).unwrap();
        let raw = resnotes_core::note::take_change(&mut doc, 0).unwrap();
        let packed = automerge::Change::from_bytes(raw).unwrap().bytes().to_vec();
        assert_eq!(packed[8], 2, "a compressed change chunk");
        assert!(packed.len() < 64 << 10, "{} bytes", packed.len());
        packed
    };
    let bomb_entry =
        entry::Payload::changes(vec![NoteChange { note: NOTE.parse().unwrap(), change: bomb }]);
    add(
        "compressed-change.age",
        key.seal(&entry::encode_as(&h0, &bomb_entry, 2, &key).0).unwrap(),
        0,
        &z,
        "malformed",
        "a compressed Automerge change (chunk type 2) inflating to 16 MiB: refused before Automerge sees it",
    );
    add(
        "short-envelope.age",
        key.seal(&plain0[..100]).unwrap(),
        0,
        &z,
        "malformed",
        "a complete age file whose decrypted envelope is cut short: written so, not still arriving",
    );
    add(
        "truncated-header.age",
        sealed0[..40].to_vec(),
        0,
        &z,
        "incomplete",
        "cut inside the age header: still being copied",
    );
    add(
        "truncated-payload.age",
        sealed0[..sealed0.len() - 10].to_vec(),
        0,
        &z,
        "incomplete",
        "cut inside the payload: still being copied",
    );
    let other = WorkspaceKey::generate(&ws);
    add(
        "other-key.age",
        other.seal(&plain0).unwrap(),
        0,
        &z,
        "undecryptable",
        "encrypted to another recipient",
    );
    let (forged, _) = entry::encode_v1(&h0, &ch0, &other);
    add(
        "forged-mac.age",
        key.seal(&forged).unwrap(),
        0,
        &z,
        "bad_mac",
        "encrypted to the public recipient without the workspace secret",
    );
    add(
        "misplaced.age",
        sealed0.clone(),
        1,
        &hex(&hash0),
        "misplaced",
        "entry 0 found where entry 1 belongs",
    );
    add(
        "chain-broken.age",
        key.seal(&plain1).unwrap(),
        1,
        &hex(&[7u8; 32]),
        "chain_broken",
        "prevHash does not match the previous entry held",
    );
    let mut trailing = plain0.clone();
    trailing.extend_from_slice(b"garbage");
    add(
        "trailing-garbage.age",
        key.seal(&trailing).unwrap(),
        0,
        &z,
        "malformed",
        "bytes after the MAC",
    );
    let mut v8 = plain0.clone();
    v8[4] = 8;
    add(
        "version-8.age",
        key.seal(&v8).unwrap(),
        0,
        &z,
        "unsupported_version",
        "envelope version 8",
    );
    let own = entry::Payload { clock: vec![(client, 0)], ..p3.clone() };
    add(
        "summary-clock-names-writer.age",
        key.seal(&entry::encode_as(&h0, &own, 2, &key).0).unwrap(),
        0,
        &z,
        "malformed",
        "version 2: the summaries' clock names the entry's own device",
    );
    let foreign = entry::Payload {
        summaries: vec![entry::Summary { note: OTHER.parse().unwrap(), ..summary.clone() }],
        ..p3.clone()
    };
    add(
        "summary-without-change.age",
        key.seal(&entry::encode_as(&h0, &foreign, 2, &key).0).unwrap(),
        0,
        &z,
        "malformed",
        "version 2: a summary of a note the entry has no change for",
    );
    let mut badpayload = plain0.clone();
    let last = badpayload.len() - 33;
    badpayload[last] ^= 1;
    add(
        "payload-hash.age",
        key.seal(&badpayload).unwrap(),
        0,
        &z,
        "malformed",
        "payload changed after hashing (MAC still valid, payload hash not)",
    );
    let hdr_only = entry::encode_v1(&h0, &[], &key).0;
    add(
        "no-changes.age",
        key.seal(&hdr_only).unwrap(),
        0,
        &z,
        "malformed",
        "a payload must hold at least one change",
    );
    let mut flag = plain0.clone();
    flag[5] = 0x80;
    add(
        "unknown-flag.age",
        key.seal(&flag).unwrap(),
        0,
        &z,
        "malformed",
        "a reserved flag bit is set",
    );
    add(
        "not-an-entry.age",
        key.seal(&[b'X'; 200]).unwrap(),
        0,
        &z,
        "malformed",
        "not an RSNE envelope",
    );
    // Envelopes whose MAC and payload hash verify, around a stored payload given byte for byte.
    let raw = |version: u8, flags: u8, stored: &[u8]| {
        key.seal(&entry::encode_raw(&h0, version, flags, stored, &key, None).0).unwrap()
    };
    let packed2 = &plain2[entry::HEADER_LEN..plain2.len() - entry::MAC_LEN];
    add(
        "deflate-trailing-bytes.age",
        raw(1, entry::FLAG_DEFLATE, &[packed2, &[0]].concat()),
        0,
        &z,
        "malformed",
        "a byte after the end of the compressed payload's DEFLATE stream",
    );
    add(
        "deflate-cut-short.age",
        raw(1, entry::FLAG_DEFLATE, &packed2[..packed2.len() - 1]),
        0,
        &z,
        "malformed",
        "a compressed payload whose DEFLATE stream does not end",
    );
    let bomb_payload = {
        use std::io::Write;
        let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
        enc.write_all(&vec![0; entry::MAX_PAYLOAD_BYTES + 1]).unwrap();
        enc.finish().unwrap()
    };
    assert!(bomb_payload.len() < 100 << 10, "{} bytes", bomb_payload.len());
    add(
        "inflated-too-large.age",
        raw(1, entry::FLAG_DEFLATE, &bomb_payload),
        0,
        &z,
        "too_large",
        "a compressed payload inflating to 64 MiB + 1 byte",
    );
    add(
        "version-0.age",
        raw(0, 0, &entry::encode_changes(&ch0)),
        0,
        &z,
        "malformed",
        "envelope version 0, which never existed (MAC valid)",
    );
    let recipient: resnotes_core::age::x25519::Recipient =
        key.recipient().unwrap().parse().unwrap();
    add(
        "armored.age",
        resnotes_core::age::encrypt_and_armor(&recipient, &plain0).unwrap().into_bytes(),
        0,
        &z,
        "malformed",
        "entry-0 encrypted to the workspace recipient but ASCII-armored: entries are binary age files",
    );
    let mut header_mac = sealed0.clone();
    let at = header_mac.windows(5).position(|w| w == b"\n--- ").unwrap() + 5;
    header_mac[at] = if header_mac[at] == b'A' { b'B' } else { b'A' };
    add(
        "age-header-mac.age",
        header_mac,
        0,
        &z,
        "bad_mac",
        "age's header MAC does not verify (one character of the `---` line changed)",
    );
    // Version-2 payloads breaking §4.2's rules, stored uncompressed.
    let v2 = |p: &[u8]| raw(2, 0, p);
    let twice = entry::Payload { summaries: vec![summary.clone(), summary.clone()], ..p3.clone() };
    add(
        "summary-twice.age",
        v2(&entry::encode_payload_version(&twice, 2)),
        0,
        &z,
        "malformed",
        "version 2: two summaries of one note",
    );
    // Offset of the (only) summary's flags byte: changes, clock, summary count, note id.
    let flags_at = entry::encode_changes(&p3.changes).len() + 4 + 24 * p3.clock.len() + 4 + 16;
    let mut reserved = entry::encode_payload_version(&p3, 2);
    assert_eq!(reserved[flags_at], 0);
    reserved[flags_at] = 0x02;
    add(
        "summary-reserved-flag.age",
        v2(&reserved),
        0,
        &z,
        "malformed",
        "version 2: a summary with a reserved flag bit (02) set",
    );
    let title_at = flags_at + 1 + 8 + 8 + 4;
    let mut not_utf8 = entry::encode_payload_version(&p3, 2);
    assert_eq!(&not_utf8[title_at..title_at + summary.title.len()], summary.title.as_bytes());
    not_utf8[title_at] = 0xff;
    add(
        "summary-not-utf8.age",
        v2(&not_utf8),
        0,
        &z,
        "malformed",
        "version 2: a summary title that is not UTF-8 (first byte ff)",
    );
    // Version-3 payloads breaking §4.2's rules (entry-4's payload, placed as entry 0).
    let v3 = |p: &[u8]| raw(3, 0, p);
    let flags_at4 = entry::encode_changes(&p4.changes).len() + 4 + 24 * p4.clock.len() + 4 + 16;
    let mut reserved3 = entry::encode_payload_version(&p4, 3);
    assert_eq!(reserved3[flags_at4], 0x02, "entry-4's summary is pinned");
    reserved3[flags_at4] = 0x0a;
    add(
        "summary-reserved-flag-v3.age",
        v3(&reserved3),
        0,
        &z,
        "malformed",
        "version 3: a summary with a reserved flag bit (08) set",
    );
    let retagged = |tags: &[&str]| entry::Payload {
        summaries: vec![entry::Summary {
            tags: tags.iter().map(|t| t.to_string()).collect(),
            ..summary4.clone()
        }],
        ..p4.clone()
    };
    add(
        "summary-tags-unsorted.age",
        v3(&entry::encode_payload_version(&retagged(&["work", "home"]), 3)),
        0,
        &z,
        "malformed",
        "version 3: a summary's tags not in ascending byte order",
    );
    add(
        "summary-tag-twice.age",
        v3(&entry::encode_payload_version(&retagged(&["home", "home"]), 3)),
        0,
        &z,
        "malformed",
        "version 3: a summary naming one tag twice",
    );
    add(
        "summary-tag-empty.age",
        v3(&entry::encode_payload_version(&retagged(&[""]), 3)),
        0,
        &z,
        "malformed",
        "version 3: a summary with an empty tag",
    );
    let mut tag_not_utf8 = entry::encode_payload_version(&p4, 3);
    let last = tag_not_utf8.len() - 1;
    assert_eq!(tag_not_utf8[last], b'k', "the payload ends with the tag \"work\"");
    tag_not_utf8[last] = 0xff;
    add(
        "summary-tag-not-utf8.age",
        v3(&tag_not_utf8),
        0,
        &z,
        "malformed",
        "version 3: a summary tag that is not UTF-8 (last byte ff)",
    );
    add(
        "summary-v2-in-v3.age",
        v3(&entry::encode_payload_version(&p4, 2)),
        0,
        &z,
        "malformed",
        "version 3: a summary laid out as version 2 (no tag count): cut short",
    );
    // Version-4 payloads breaking §4.2's rules (entry-5's payload, placed as entry 0).
    let v4 = |p: &[u8]| raw(4, 0, p);
    add(
        "summary-v3-in-v4.age",
        v4(&entry::encode_payload_version(&p5, 3)),
        0,
        &z,
        "malformed",
        "version 4: summaries laid out as version 3 (no notebook ids): cut short",
    );
    let mut reserved4 = entry::encode_payload_version(&p5, 4);
    let flags_at5 = entry::encode_changes(&p5.changes).len() + 4 + 24 * p5.clock.len() + 4 + 16;
    assert_eq!(reserved4[flags_at5], 0x08, "entry-5's first summary is the notebook's");
    reserved4[flags_at5] = 0x18;
    add(
        "summary-reserved-flag-v4.age",
        v4(&reserved4),
        0,
        &z,
        "malformed",
        "version 4: a summary with a reserved flag bit (10) set",
    );
    let tagged_book = entry::Payload {
        summaries: vec![
            entry::Summary { tags: vec!["work".into()], ..book_summary.clone() },
            summary5.clone(),
        ],
        ..p5.clone()
    };
    add(
        "notebook-summary-with-tag.age",
        v4(&entry::encode_payload_version(&tagged_book, 4)),
        0,
        &z,
        "malformed",
        "version 4: a notebook's summary (flag 08) carrying a tag",
    );
    let pinned_book = entry::Payload {
        summaries: vec![entry::Summary { pinned: true, ..book_summary.clone() }, summary5.clone()],
        ..p5.clone()
    };
    add(
        "notebook-summary-pinned.age",
        v4(&entry::encode_payload_version(&pinned_book, 4)),
        0,
        &z,
        "malformed",
        "version 4: a notebook's summary (flag 08) that is also pinned (flag 02)",
    );
    // Version-5 payloads breaking §4.2's rules (entry-6's payload, placed as entry 0).
    let v5 = |p: &[u8]| raw(5, 0, p);
    let as_other = entry::Payload {
        changes: vec![NoteChange { note: OTHER.parse().unwrap(), change: c6.clone() }],
        summaries: vec![entry::Summary { note: OTHER.parse().unwrap(), ..device_summary.clone() }],
        ..p6.clone()
    };
    add(
        "device-summary-other-device.age",
        v5(&entry::encode_payload(&as_other)),
        0,
        &z,
        "malformed",
        "version 5: a device's summary (flag 10) naming another device's document",
    );
    let mut device_flags = entry::encode_payload(&p6);
    let flags_at6 = entry::encode_changes(&p6.changes).len() + 4 + 24 * p6.clock.len() + 4 + 16;
    assert_eq!(device_flags[flags_at6], 0x10, "entry-6's summary is the device's");
    device_flags[flags_at6] = 0x18;
    add(
        "device-summary-also-notebook.age",
        v5(&device_flags),
        0,
        &z,
        "malformed",
        "version 5: a summary marked as both a device's and a notebook's (flags 18)",
    );
    device_flags[flags_at6] = 0x30;
    add(
        "summary-reserved-flag-v5.age",
        v5(&device_flags),
        0,
        &z,
        "malformed",
        "version 5: a summary with a reserved flag bit (20) set",
    );
    let lined = entry::Payload {
        summaries: vec![entry::Summary { first_line: "hello".into(), ..device_summary.clone() }],
        ..p6.clone()
    };
    add(
        "device-summary-with-first-line.age",
        v5(&entry::encode_payload(&lined)),
        0,
        &z,
        "malformed",
        "version 5: a device's summary (flag 10) with a first line",
    );
    let clock_twice = entry::Payload {
        clock: vec![(OTHER.parse().unwrap(), 4), (OTHER.parse().unwrap(), 5)],
        ..p3.clone()
    };
    add(
        "summary-clock-twice.age",
        v2(&entry::encode_payload_version(&clock_twice, 2)),
        0,
        &z,
        "malformed",
        "version 2: the summaries' clock names a device twice",
    );
    add(
        "payload-trailing-bytes.age",
        v2(&[&entry::encode_payload_version(&p3, 2)[..], &[0]].concat()),
        0,
        &z,
        "malformed",
        "a byte after the payload's last field (inside the stored payload: MAC and hash valid)",
    );
    let with_change =
        |change: Vec<u8>| raw(1, 0, &entry::encode_changes(&[NoteChange { note, change }]));
    let mut checksum = c0.clone();
    checksum[4] ^= 0xff;
    add(
        "change-checksum.age",
        with_change(checksum),
        0,
        &z,
        "malformed",
        "an Automerge change whose checksum (bytes 4..8) does not match",
    );
    let mut type0 = c0.clone();
    type0[8] = 0;
    add(
        "change-chunk-type-0.age",
        with_change(type0),
        0,
        &z,
        "malformed",
        "an Automerge chunk of type 0 (a document), not a change",
    );
    add(
        "change-length.age",
        with_change([&c0[..], &[0]].concat()),
        0,
        &z,
        "malformed",
        "an Automerge change with one byte after the end its length gives",
    );
    // Version 6: signatures (§5.1). Entry 8 after the signed entry-7, and entry-7 itself damaged.
    let signed_after = |file: &str, bytes: Vec<u8>, why: &str, cases: &mut Vec<Value>| {
        fs::write(d.join("reject").join(file), bytes).unwrap();
        cases.push(json!({"file": file, "index": 8, "prevHash": hex(&hash7), "prevSigner": hex(&device.public()), "expect": "bad_signature", "why": why}));
    };
    let h8 = Header {
        index: 8,
        timestamp: 1_700_000_004_000,
        lamport: 14,
        prev_hash: hash7,
        ..h0.clone()
    };
    let intruder = DeviceKey::from_seed([0x42; 32]);
    signed_after(
        "signed-by-another-key.age",
        key.seal(&entry::encode(&h8, &p7, &key, &intruder).0).unwrap(),
        "version 6: entry 8 signed (validly) by another key than the one that signed entry 7: someone holding the workspace key writing as this device",
        &mut cases,
    );
    signed_after(
        "unsigned-after-signed.age",
        key.seal(&entry::encode_as(&h8, &p7, 5, &key).0).unwrap(),
        "version 5 (unsigned) after the device's signed entry 7: a device that signs never stops",
        &mut cases,
    );
    let mut bad_sig = plain7.clone();
    let last = bad_sig.len() - 1;
    bad_sig[last] ^= 1;
    let prev7 = json!({"index": 7, "prevHash": hex(&hash6)});
    let at7 = |file: &str, bytes: Vec<u8>, expect: &str, why: &str, cases: &mut Vec<Value>| {
        fs::write(d.join("reject").join(file), bytes).unwrap();
        let mut c = prev7.clone();
        c["file"] = json!(file);
        c["expect"] = json!(expect);
        c["why"] = json!(why);
        cases.push(c);
    };
    at7(
        "signature-does-not-verify.age",
        key.seal(&bad_sig).unwrap(),
        "bad_signature",
        "version 6: entry-7 with the last byte of its signature changed (MAC valid)",
        &mut cases,
    );
    let mut other_signer = plain7.clone();
    other_signer[entry::HEADER_LEN..entry::SIGNED_HEADER_LEN].copy_from_slice(&intruder.public());
    let hdr_end = entry::SIGNED_HEADER_LEN;
    let mac_at = other_signer.len() - 96;
    let new_mac = key.mac(&other_signer[..hdr_end]);
    other_signer[mac_at..mac_at + 32].copy_from_slice(&new_mac);
    at7(
        "signer-swapped.age",
        key.seal(&other_signer).unwrap(),
        "bad_signature",
        "version 6: entry-7 whose header names another public key (MAC recomputed) over the original signature",
        &mut cases,
    );
    at7(
        "signature-missing.age",
        key.seal(&plain7[..plain7.len() - 64]).unwrap(),
        "malformed",
        "version 6: entry-7 without its 64-byte signature (a complete age file: written so)",
        &mut cases,
    );
    // Read as in a plaintext workspace.
    let mut nonzero_mac = plain_p.clone();
    let last = nonzero_mac.len() - 1;
    nonzero_mac[last] = 1;
    fs::write(d.join("reject/plaintext-nonzero-mac.bin"), nonzero_mac).unwrap();
    cases.push(json!({"file": "plaintext-nonzero-mac.bin", "key": "plaintext", "index": 0, "prevHash": z, "expect": "bad_mac", "why": "a plaintext entry whose MAC field is not 32 zero bytes"}));
    fs::write(d.join("reject/cases.json"), serde_json::to_string_pretty(&cases).unwrap() + "\n")
        .unwrap();

    // index.json. The wrapped key is random (scrypt salt): keep the existing one while it opens
    // to the vectors' identity, so regenerating does not change index.json.
    let secret = key.secret().unwrap();
    let kept_wrap = fs::read(d.join("index.json"))
        .ok()
        .and_then(|b| Manifest::parse(&b, "vectors").ok())
        .and_then(|m| m.encryption.key_wrap)
        .map(|w| w.armored)
        .filter(|a| {
            resnotes_core::format::crypto::unwrap_secret(a, "vector passphrase")
                .is_ok_and(|s| s.expose_secret() == secret.expose_secret())
        });
    let m = Manifest {
        format: "resilient-sync".into(),
        format_version: 1,
        app: "resilient-notes".into(),
        workspace_id: ws,
        created_by: client,
        created_at: 1_700_000_000_000,
        max_entries_per_folder: 1000,
        change_extension: ".age".into(),
        encryption: resnotes_core::format::manifest::Encryption {
            method: "age-x25519".into(),
            recipients: vec![key.recipient().unwrap()],
            key_wrap: Some(resnotes_core::format::manifest::KeyWrap {
                method: "age-scrypt".into(),
                armored: kept_wrap.unwrap_or_else(|| {
                    resnotes_core::format::crypto::wrap_secret(&secret, "vector passphrase", 10)
                        .unwrap()
                }),
            }),
        },
        authentication: resnotes_core::format::manifest::Authentication {
            method: "hmac-sha256".into(),
        },
    };
    fs::write(d.join("index.json"), m.to_bytes()).unwrap();
    let fewer = resnotes_core::format::manifest::Manifest { format_version: 2, ..m.clone() };
    fs::write(d.join("index-fewer-files.json"), fewer.to_bytes()).unwrap();
    let mut v: Value = serde_json::from_slice(&m.to_bytes()).unwrap();
    v["formatVersion"] = 3.into();
    fs::write(d.join("reject/index-version-3.json"), serde_json::to_string_pretty(&v).unwrap())
        .unwrap();
    v["formatVersion"] = 1.into();
    v["format"] = "something-else".into();
    fs::write(
        d.join("reject/index-not-resilient-sync.json"),
        serde_json::to_string_pretty(&v).unwrap(),
    )
    .unwrap();
    v["format"] = "resilient-sync".into();
    v["surprise"] = true.into();
    fs::write(d.join("reject/index-unknown-field.json"), serde_json::to_string_pretty(&v).unwrap())
        .unwrap();
    // deny_unknown_fields holds in nested objects too.
    let mut v: Value = serde_json::from_slice(&m.to_bytes()).unwrap();
    v["encryption"]["surprise"] = true.into();
    fs::write(
        d.join("reject/index-nested-unknown-field.json"),
        serde_json::to_string_pretty(&v).unwrap(),
    )
    .unwrap();
    // The plaintext shape: no recipient, no keyWrap.
    let plain = Manifest {
        change_extension: ".bin".into(),
        encryption: resnotes_core::format::manifest::Encryption {
            method: "none".into(),
            recipients: vec![],
            key_wrap: None,
        },
        authentication: resnotes_core::format::manifest::Authentication { method: "none".into() },
        ..m.clone()
    };
    fs::write(d.join("index-plaintext.json"), plain.to_bytes()).unwrap();
}

/// `vectors/invite.json` and `invite.age` (FORMAT.md §3.1): the code opens the file, whose
/// plaintext is exactly the JSON given, holding the vectors' workspace identity.
#[test]
fn invite_vector_opens_with_its_code() {
    use resnotes_core::format::invite::SetupCode;
    let want = read_json("invite.json");
    let code = SetupCode::parse(want["code"].as_str().unwrap()).unwrap();
    assert_eq!(code.file_path(), want["path"].as_str().unwrap());
    assert_eq!(code.workspace.to_string(), WORKSPACE);
    let file = fs::read(dir().join("invite.age")).unwrap();
    let inv = code.open(&file).unwrap();
    assert_eq!(serde_json::to_value(&inv).unwrap(), want["plaintext"]);
    use resnotes_core::age::secrecy::ExposeSecret;
    assert_eq!(inv.identity, key().secret().unwrap().expose_secret());
    // Refusals: another workspace's code, and a file that is not the invitation's.
    let other = SetupCode { workspace: OTHER.parse().unwrap(), ..code.clone() };
    assert!(other.open(&file).is_err());
    assert!(code.open(&fs::read(dir().join("entry-0.age")).unwrap()).is_err());
}

#[test]
#[ignore = "writes the invitation vector; run with RESNOTES_WRITE_VECTORS=1"]
fn generate_invite_vector() {
    if std::env::var("RESNOTES_WRITE_VECTORS").is_err() {
        return;
    }
    use resnotes_core::format::invite::{create, CodeTarget};
    let target = CodeTarget { kind: "folder".into(), location: "/home/anna/Notes folder".into() };
    let (code, file) = create(
        WORKSPACE.parse().unwrap(),
        &key(),
        None,
        CLIENT.parse().unwrap(),
        1_700_003_600_000,
        target,
    )
    .unwrap();
    fs::write(dir().join("invite.age"), &file).unwrap();
    let inv = code.open(&file).unwrap();
    let meta = json!({"code": code.to_text(), "path": code.file_path(), "plaintext": inv});
    fs::write(dir().join("invite.json"), serde_json::to_string_pretty(&meta).unwrap() + "\n")
        .unwrap();
}
