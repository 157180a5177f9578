//! Entry points that feed outside bytes to one parser each: the `cargo fuzz` targets in `fuzz/`
//! call them, and `tests/fuzz_replay.rs` runs every saved crash and the test vectors through the
//! same functions, so a fuzz finding stays a normal test. Each returns normally for any input.

use uuid::Uuid;

use crate::format::crypto::WorkspaceKey;
use crate::format::entry::{self, Expected, ZERO_HASH};
use crate::format::manifest::Manifest;
use crate::format::path::{self, Kind};

/// Workspace id of the test vectors (FORMAT.md §9).
pub const VECTOR_WORKSPACE: &str = "6f1c2a3b-4d5e-4f60-8172-839405a6b7c8";
/// Client id of the test vectors.
pub const VECTOR_CLIENT: &str = "3f2a1c4e-9b8d-4e7f-a6b5-c4d3e2f1a0b9";

/// An entry file as found at index 0 of the vector client, opened with the vectors' key
/// (`identity`: the text of `vectors/identity.txt`).
pub fn entry_file(identity: &str, data: &[u8]) {
    let Some(secret) = identity.lines().find(|l| l.starts_with("AGE-SECRET-KEY-")) else { return };
    let workspace: Uuid = VECTOR_WORKSPACE.parse().expect("constant");
    let Ok(key) = WorkspaceKey::parse(secret, &workspace) else { return };
    let want = Expected {
        workspace,
        client: VECTOR_CLIENT.parse().expect("constant"),
        index: 0,
        prev_hash: ZERO_HASH,
        prev_signer: None,
    };
    let _ = entry::open(data, &key, &want);
}

/// Decrypted entry bytes (the envelope and its payload), as a plaintext workspace reads them.
pub fn entry_plain(data: &[u8]) {
    let _ = entry::decode(data, &WorkspaceKey::Plaintext);
    let ring = crate::format::epoch::Keyring::new(Uuid::nil(), WorkspaceKey::Plaintext);
    let _ = entry::decode_in(data, &ring);
    let _ = crate::format::epoch::KeysSection::decode(data);
    let _ = entry::decode_payload(data, 1, &uuid::Uuid::nil());
    let _ = entry::decode_payload(data, 2, &uuid::Uuid::nil());
}

/// One Automerge change as a hostile writer holding the workspace key can send it, applied to a
/// note as a pull applies it (structural check, Automerge's full parse, then the document).
/// `data` is a change chunk; its magic and checksum are set here as a writer would compute them,
/// so mutations reach Automerge's parser instead of failing the checksum (a chunk without the
/// magic is taken as the chunk from its type byte on). `scripts/fuzz` runs this under a memory
/// limit: an inflation without a bound (the decompression bomb) is a crash, not a slow run.
pub fn change_applied(data: &[u8]) {
    let Some(chunk) = writer_chunk(data) else { return };
    let Ok(conn) = crate::store::open_in_memory() else { return };
    let change = [entry::NoteChange { note: Uuid::nil(), change: chunk }];
    let _ = crate::docs::materialize::apply(&conn, &Uuid::from_u128(1), &change);
}

/// `data` as a change chunk with the magic, length and checksum a writer computes (see
/// [`change_applied`]); `None` for empty input.
pub fn writer_chunk(data: &[u8]) -> Option<Vec<u8>> {
    let body =
        if data.len() >= 9 && data[..4] == [0x85, 0x6f, 0x4a, 0x83] { &data[8..] } else { data };
    let (&kind, rest) = body.split_first()?;
    // The chunk's own length prefix is replaced by the true one.
    let mut pos = 0;
    while rest.get(pos).is_some_and(|b| b & 0x80 != 0) {
        pos += 1;
    }
    let columns = rest.get(pos + 1..).unwrap_or_default();
    let mut tail = vec![kind];
    let mut len = columns.len();
    loop {
        let byte = (len & 0x7f) as u8;
        len >>= 7;
        tail.push(if len > 0 { byte | 0x80 } else { byte });
        if len == 0 {
            break;
        }
    }
    tail.extend_from_slice(columns);
    let mut chunk = vec![0x85, 0x6f, 0x4a, 0x83];
    chunk.extend_from_slice(&entry::sha256(&tail)[..4]);
    chunk.extend_from_slice(&tail);
    Some(chunk)
}

/// `index.json`; when accepted, its folder size is used to place entries as sync would. Also
/// setup codes and invitation names, which come from outside too.
pub fn manifest(data: &[u8]) {
    if let Ok(m) = Manifest::parse(data, "fuzz") {
        let client: Uuid = VECTOR_CLIENT.parse().expect("constant");
        for i in [0, 1, m.max_entries_per_folder, u64::MAX / 2] {
            let _ = path::entry_path(
                &client,
                Kind::Changes,
                i,
                m.max_entries_per_folder,
                &m.change_extension,
            );
        }
    }
    // The other descriptions of a workspace that come from outside: a setup code a person
    // pasted (FORMAT.md §3.1), an invitation's name in a listing, and the file such a code opens.
    let text = String::from_utf8_lossy(data);
    let _ = crate::format::invite::expiry_of(&text);
    if let Ok(code) = crate::format::invite::SetupCode::parse(&text) {
        let _ = code.open(data);
        let _ = code.to_text();
    }
}

/// A WebDAV PROPFIND answer or an S3 store's answer, and every line of it as a name found in a
/// folder listing.
pub fn listing(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    crate::transport::s3_answers(&text);
    for name in crate::transport::listing_names(&text, "http://127.0.0.1/notes/") {
        let _ = path::parse_client_dir(&name);
    }
    for line in text.lines() {
        let _ = path::parse_client_dir(line);
        let _ = path::is_ignored_name(line);
    }
}

/// A pack (FORMAT.md §11) as found at level-1 block 0 of the vector client: opened with the
/// vectors' key, and every entry in it accepted (or refused) with its file key as a pull does.
pub fn pack_file(identity: &str, data: &[u8]) {
    use crate::format::pack::{self, Block};
    let workspace: Uuid = VECTOR_WORKSPACE.parse().expect("constant");
    let client: Uuid = VECTOR_CLIENT.parse().expect("constant");
    let Some(secret) = identity.lines().find(|l| l.starts_with("AGE-SECRET-KEY-")) else { return };
    let Ok(key) = WorkspaceKey::parse(secret, &workspace) else { return };
    let keys = crate::format::epoch::Keyring::new(workspace, key);
    let block = Block { client, level: 1, index: 0 };
    let Ok(opened) = pack::open(data, &workspace, &block, &keys) else { return };
    assert_eq!(opened.entries.len(), 100, "a pack opens to a whole block");
    let mut prev = ZERO_HASH;
    for (i, (file, fk)) in opened.entries.iter().enumerate() {
        let want =
            Expected { workspace, client, index: i as u64, prev_hash: prev, prev_signer: None };
        match entry::accept_packed(file, fk.as_ref(), &keys, &want) {
            Ok(e) => prev = e.hash,
            Err(_) => return,
        }
    }
}

/// Hash of the content of `vectors/assets/asset-0.age` (29 bytes of text).
const VECTOR_ASSET_HASH: &str = "7af3aecf9fac11671a2cbe6ebe1633ab933285ca3d9f9779f41a2bb1dad4af91";

/// An asset file as found at the vector client's asset 0 (opened with the vectors' key and as a
/// plaintext workspace's file), and the same bytes as note text holding `asset:///` links.
pub fn asset_file(identity: &str, data: &[u8]) {
    let workspace: Uuid = VECTOR_WORKSPACE.parse().expect("constant");
    let url = format!("asset:///{VECTOR_CLIENT}/0/vector%20note.txt?size=29&type=text%2Fplain&hash={VECTOR_ASSET_HASH}");
    let want = crate::format::asset::AssetRef::parse(&url).expect("constant");
    if let Some(secret) = identity.lines().find(|l| l.starts_with("AGE-SECRET-KEY-")) {
        if let Ok(key) = WorkspaceKey::parse(secret, &workspace) {
            // The same key also held as a later epoch's, so version-2 headers naming it open.
            let keys = crate::format::epoch::Keyring::new(workspace, key.clone());
            if let Some(s) = crate::format::epoch::EpochSecret::of(&key) {
                let client = VECTOR_CLIENT.parse().expect("constant");
                keys.learn(crate::format::epoch::EpochId { client, index: 8 }, &s);
            }
            let _ = crate::format::asset::open(&keys, &workspace, &want, data, std::io::sink());
            let _ = crate::format::asset::read_header(&keys, &workspace, data);
        }
    }
    let plain = crate::format::epoch::Keyring::new(workspace, WorkspaceKey::Plaintext);
    let _ = crate::format::asset::open(&plain, &workspace, &want, data, std::io::sink());
    let text = String::from_utf8_lossy(data);
    for r in crate::format::asset::find_refs(&text) {
        let _ = crate::format::asset::AssetRef::parse(&r.to_url()).expect("a formatted URL parses");
        let _ = crate::format::asset::safe_file_name(&r.name);
    }
    let _ = crate::format::asset::AssetRef::parse(&text);
}

/// A file as an import reads it: a Markdown note (front matter, links, tags), an Evernote
/// export (XML, ENML, base64 attachments) and a Joplin export (a tar of items), each parser in
/// turn. Attachments go to a folder of this call's own, removed after.
pub fn import_file(data: &[u8]) {
    let scratch = std::env::temp_dir().join(format!("resnotes-fuzz-{}", Uuid::new_v4()));
    if std::fs::create_dir_all(&scratch).is_ok() {
        crate::workspace::parse_import_file(data, &scratch);
    }
    let _ = std::fs::remove_dir_all(&scratch);
}
