//! Attachments end to end with the real `resnotes` binary: attach on one device, sync through a
//! folder or a real WebDAV server (Apache), open on another; fetched on demand when "keep all
//! attachments offline" is off; cut-off copies retried, wrong hashes refused, nothing readable
//! in the shared folder; the standard `age` tool opens an asset file.

use std::path::{Path, PathBuf};

use resnotes_e2e::dav::DavServer;
use resnotes_e2e::{files_under, Device, Sandbox};
use serde_json::Value;

const NAME_CANARY: &str = "holiday-CANARY7731-plans";
const CONTENT_CANARY: &[u8] = b"CONTENT-CANARY-5521";

/// A fake PNG: the PNG signature, a canary, then `len` pseudo-random bytes.
fn picture(dir: &Path, len: usize, seed: u64) -> (PathBuf, Vec<u8>) {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    bytes.extend_from_slice(CONTENT_CANARY);
    bytes.extend((0..len).map(|_| rng.u8(..)));
    let path = dir.join(format!("{NAME_CANARY}-{seed}.png"));
    std::fs::write(&path, &bytes).unwrap();
    (path, bytes)
}

fn assets(d: &Device) -> Vec<Value> {
    serde_json::from_str(&d.ok(&["asset", "list", "--json"])).expect("asset list --json")
}

fn asset<'a>(list: &'a [Value], url: &str) -> &'a Value {
    list.iter().find(|a| a["url"] == url).unwrap_or_else(|| panic!("{url} not in {list:?}"))
}

fn no_canary(root: &Path) {
    let files = files_under(root);
    assert!(!files.is_empty());
    for (name, bytes) in &files {
        assert!(
            !name.contains("CANARY") && !name.contains(".png"),
            "a file name gives the attachment away: {name}"
        );
        assert!(
            !bytes.windows(CONTENT_CANARY.len()).any(|w| w == CONTENT_CANARY),
            "attachment content readable in {name}"
        );
        assert!(
            !bytes.windows(NAME_CANARY.len()).any(|w| w == NAME_CANARY.as_bytes()),
            "attachment name readable in {name}"
        );
    }
}

fn get(d: &Device, url: &str, out: &Path) -> Vec<u8> {
    d.ok(&["asset", "get", url, "--out", out.to_str().unwrap()]);
    std::fs::read(out).unwrap()
}

#[test]
fn attach_sync_and_open_through_a_folder() {
    let s = Sandbox::new();
    let shared = s.folder("shared");
    let files = s.folder("files");
    let (a, b, c) = (s.device("a"), s.device("b"), s.device("c"));
    a.ok(&["init", "--folder", shared.to_str().unwrap()]);
    let note = a.new_note("Trip", "Pictures below.");
    let (pic, pic_bytes) = picture(&files, 300_000, 1);

    // Attach: prints the URL and links it from the note.
    let url = a.ok(&["attach", &note, pic.to_str().unwrap()]).trim().to_string();
    assert!(
        url.starts_with(&format!(
            "asset:///{}/0/{NAME_CANARY}-1.png?size={}&type=image%2Fpng&hash=",
            a.client_id(),
            pic_bytes.len()
        )),
        "{url}"
    );
    assert_eq!(a.body(&note), format!("Pictures below.\n\n![{NAME_CANARY}-1.png]({url})\n"));
    // The same content attached again is stored once: same URL.
    let copy = files.join("copy.png");
    std::fs::copy(&pic, &copy).unwrap();
    let again = a.ok(&["attach", &note, copy.to_str().unwrap()]).trim().to_string();
    assert_eq!(again, url);
    assert_eq!(assets(&a).len(), 1);

    a.ok(&["sync"]);
    let list = assets(&a);
    assert_eq!(asset(&list, &url)["targets"][0]["state"], "synced");
    // The asset sits at <clientId>/assets/<distributedFilePath>.age, and nothing is readable.
    let asset_file = shared.join(a.client_id()).join("assets/1/0.age");
    assert!(asset_file.exists());
    no_canary(&shared);

    // The standard age tool opens it: RSNA header (126 bytes), then the file's bytes.
    let key = s.path().join("key.txt");
    std::fs::write(&key, a.ok(&["key", "export"])).unwrap();
    let out = std::process::Command::new("age")
        .arg("-d")
        .arg("-i")
        .arg(&key)
        .arg(&asset_file)
        .output()
        .expect("the age tool (Debian package age) must be installed");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(&out.stdout[..4], b"RSNA");
    assert_eq!(&out.stdout[126..], &pic_bytes[..]);

    // B joins through the folder (keeps attachments offline by default for folders).
    b.ok(&["join", "--folder", shared.to_str().unwrap()]);
    b.ok(&["sync"]);
    let list = assets(&b);
    assert_eq!(asset(&list, &url)["local"], true, "{list:?}");
    assert_eq!(get(&b, &url, &s.path().join("b.png")), pic_bytes);

    // C keeps nothing offline: the attachment is only fetched when asked for.
    c.ok(&["join", "--folder", shared.to_str().unwrap()]);
    let target = c.ok(&["target", "list", "--json"]);
    let target: Vec<Value> = serde_json::from_str(&target).unwrap();
    c.ok(&["target", "keep-attachments", target[0]["id"].as_str().unwrap(), "off"]);
    c.ok(&["sync"]);
    assert_eq!(asset(&assets(&c), &url)["local"], false);
    assert_eq!(get(&c, &url, &s.path().join("c.png")), pic_bytes);
    assert_eq!(asset(&assets(&c), &url)["local"], true);

    // A second, larger attachment arrives cut off (a sync tool still copying): refused and
    // retried, never saved; once complete it opens.
    let (doc, doc_bytes) = picture(&files, 1_200_000, 2);
    let url2 = a.ok(&["attach", &note, doc.to_str().unwrap()]).trim().to_string();
    a.ok(&["sync"]);
    let file2 = shared.join(a.client_id()).join("assets/1/1.age");
    let whole = std::fs::read(&file2).unwrap();
    std::fs::write(&file2, &whole[..whole.len() / 2]).unwrap();
    c.ok(&["sync"]);
    let out2 = s.path().join("c2.png");
    let err = c.fails(&["asset", "get", &url2, "--out", out2.to_str().unwrap()]);
    assert!(err.contains("not complete yet"), "{err}");
    assert!(!out2.exists(), "an unverified attachment must not be saved");
    // The copy completes: now it opens.
    std::fs::write(&file2, &whole).unwrap();
    assert_eq!(get(&c, &url2, &out2), doc_bytes);

    // A link with a wrong hash is refused, even though the file is there.
    let bad_hash = format!("{}{}", &url[..url.len() - 64], "0".repeat(64));
    let out3 = s.path().join("c3.png");
    let err = c.fails(&["asset", "get", &bad_hash, "--out", out3.to_str().unwrap()]);
    assert!(err.contains("does not match"), "{err}");
    assert!(!out3.exists());
    // A malformed link gets one sentence.
    let err = c.fails(&["asset", "get", "asset:///nope", "--out", out3.to_str().unwrap()]);
    assert!(err.contains("is not a valid attachment link"), "{err}");

    // The size limit is a setting with a clear error.
    a.ok(&["config", "max-attachment-mib", "1"]);
    let (big, _) = picture(&files, 1_500_000, 3);
    let err = a.fails(&["attach", &note, big.to_str().unwrap()]);
    assert!(err.contains("more than the attachment limit of 1.0 MiB"), "{err}");
    no_canary(&shared);

    // Rebuilding the derived tables keeps every attachment available.
    b.ok(&["rebuild"]);
    let list = assets(&b);
    assert_eq!(asset(&list, &url)["local"], true, "{list:?}");
    assert_eq!(asset(&list, &url)["name"], format!("{NAME_CANARY}-1.png"));
}

#[test]
fn attachments_through_webdav_are_fetched_on_demand() {
    let s = Sandbox::new();
    let server = DavServer::apache(&s.folder("apache"));
    let files = s.folder("files");
    let (a, b) = (s.device("a"), s.device("b"));
    a.ok(&["init", "--webdav", &server.url, "--user", resnotes_e2e::dav::USER]);
    let note = a.new_note("Scan", "");
    let (pic, pic_bytes) = picture(&files, 2_000_000, 4);
    let url = a.ok(&["attach", &note, pic.to_str().unwrap()]).trim().to_string();
    a.ok(&["sync"]);
    assert_eq!(asset(&assets(&a), &url)["targets"][0]["state"], "synced");
    no_canary(&server.root);

    b.ok(&["join", "--webdav", &server.url, "--user", resnotes_e2e::dav::USER]);
    b.ok(&["sync"]);
    assert!(b.body(&note).contains(&url));
    // WebDAV targets do not keep attachments offline by default: not downloaded by sync.
    let list = assets(&b);
    assert_eq!(asset(&list, &url)["local"], false, "{list:?}");
    assert_eq!(get(&b, &url, &s.path().join("b.png")), pic_bytes);
    assert_eq!(asset(&assets(&b), &url)["local"], true);
    // Idle: nothing left to move, so sync succeeds without transfers.
    let (ok, err) = b.sync();
    assert!(ok, "{err}");
}
