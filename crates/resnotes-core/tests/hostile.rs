//! Corrupt input (RELIABILITY.md, test 5): 10,000 random truncations, bit flips, inserted bytes
//! and trailing garbage of real entries. Reading them never panics and never accepts anything but
//! the original bytes; every rejection has a message for the user.

use std::collections::BTreeMap;

use resnotes_core::format::entry::{self, Expected, ZERO_HASH};
use resnotes_core::system_clock;
use resnotes_core::Workspace;

/// One random damage: truncation, 1–3 bit flips, 1–63 inserted bytes, or 1–511 trailing bytes.
fn mutate(rng: &mut fastrand::Rng, m: &mut Vec<u8>) {
    match rng.u8(0..4) {
        0 => m.truncate(rng.usize(0..m.len())),
        1 => {
            for _ in 0..rng.usize(1..4) {
                let at = rng.usize(0..m.len());
                m[at] ^= 1 << rng.u8(0..8);
            }
        }
        2 => {
            let at = rng.usize(0..=m.len());
            let junk: Vec<u8> = (0..rng.usize(1..64)).map(|_| rng.u8(..)).collect();
            m.splice(at..at, junk);
        }
        _ => m.extend((0..rng.usize(1..512)).map(|_| rng.u8(..))),
    }
}

#[test]
fn mutated_entries_are_rejected_without_panics() {
    std::env::set_var("RESNOTES_TEST_ONLY_WEAK_SCRYPT_LOG_N", "10");
    let tmp = tempfile::tempdir().unwrap();
    let mut ws = Workspace::init(tmp.path(), false, system_clock()).unwrap();
    for i in 0..3 {
        let id = ws.new_note(&format!("note {i}"), &"some text ".repeat(50 * (i + 1))).unwrap();
        ws.edit_note(&id.to_string(), None, Some("replaced")).unwrap();
        ws.seal_pending(4096, 4 << 20).unwrap();
    }
    let rows: Vec<(u64, Vec<u8>, [u8; 32])> =
        ws.entries().unwrap().into_iter().map(|e| (e.index, e.bytes, e.hash)).collect();
    assert_eq!(rows.len(), 3);
    let n: usize =
        std::env::var("RESNOTES_HOSTILE_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000);
    let mut rng = fastrand::Rng::with_seed(7);
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    for case in 0..n {
        let which = case % rows.len();
        let (idx, data, _) = &rows[which];
        let prev_hash: [u8; 32] = if *idx == 0 { ZERO_HASH } else { rows[which - 1].2 };
        let want = Expected {
            workspace: ws.workspace_id(),
            client: ws.client_id(),
            index: *idx,
            prev_hash,
            prev_signer: None,
        };
        let mut m = data.clone();
        mutate(&mut rng, &mut m);
        let got = entry::accept(&m, ws.key(), &want);
        match got {
            Ok(_) => assert_eq!(&m, data, "case {case}: a changed entry was accepted"),
            Err(e) => {
                let msg = e.to_string();
                assert!(!msg.is_empty());
                let kind = msg
                    .split(|c: char| !c.is_alphabetic() && c != ' ')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_string();
                *kinds.entry(kind).or_default() += 1;
            }
        }
    }
    eprintln!("{n} mutated entries, 0 accepted, 0 panics; rejections by kind: {kinds:?}");
}

/// The same for attachments: a sealed 200 KB asset (4 age chunks) mutated 2,000 times is never
/// opened (nothing written to the output counts: `open` fails), never panics, and the failure
/// is one of the three a user sees: not complete yet, undecryptable, or refused with a reason.
#[test]
fn mutated_assets_are_rejected_without_panics() {
    use resnotes_core::format::asset::{self, AssetFailure};
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("photo.jpg");
    std::fs::write(&src, (0..200_000u32).map(|i| (i * 31 % 253) as u8).collect::<Vec<u8>>())
        .unwrap();
    let mut ws = Workspace::init(tmp.path(), false, system_clock()).unwrap();
    let r = ws.add_asset(&src, "photo.jpg", None).unwrap();
    let file = std::fs::read(tmp.path().join("assets").join(r.id.client.to_string()).join("0.age"))
        .unwrap();
    let keys = resnotes_core::format::epoch::Keyring::new(ws.workspace_id(), ws.key().clone());
    let open = |bytes: &[u8]| asset::open(&keys, &ws.workspace_id(), &r, bytes, std::io::sink());
    open(&file).expect("the original opens");
    let n: usize = std::env::var("RESNOTES_HOSTILE_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .map(|n: usize| n / 5)
        .unwrap_or(2_000);
    let mut rng = fastrand::Rng::with_seed(11);
    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    for _ in 0..n {
        let mut m = file.clone();
        mutate(&mut rng, &mut m);
        if m == file {
            continue;
        }
        let kind = match open(&m) {
            Ok(()) => panic!("a damaged asset was accepted"),
            Err(AssetFailure::Incomplete) => "incomplete",
            Err(AssetFailure::Undecryptable(_)) => "undecryptable",
            Err(AssetFailure::Invalid(msg)) => {
                assert!(!msg.is_empty());
                "invalid"
            }
            Err(AssetFailure::Output(_)) => unreachable!("the sink never fails"),
        };
        *kinds.entry(kind).or_default() += 1;
    }
    eprintln!("{n} asset mutations, 0 accepted: {kinds:?}");
}
