//! One workspace through each kind of target, side by side (issue 22): a folder, a WebDAV
//! server (Apache on loopback) and an S3 store (one Garage node on loopback, the `garage` on
//! PATH). The first push of N notes and a new device's join until every note is listed (in
//! process, as the main scenario measures the folder's), then an attachment of M MiB attached,
//! uploaded and fetched with the CLI through each (time, peak memory over a trivial command's).
//! `push_s` is writing the sealed entries (sealing is `seal_s`, once).

use std::path::Path;

use anyhow::{bail, Result};
use resnotes_core::transport::{Folder, Transport, WebDav, S3};
use resnotes_core::{system_clock, TargetKind, Workspace};
use resnotes_e2e::dav::{DavServer, PASSWORD, USER};
use resnotes_e2e::garage::Garage;
use serde_json::{json, Map, Value};

use crate::corpus::Rng;
use crate::measure::{round, time};

/// Environment a CLI process needs for a target (its password or secret key).
type Env = [(String, String)];

pub fn scenario(bin: &Path, notes: usize, mib: usize) -> Result<Value> {
    let tmp = tempfile::tempdir()?;
    let dav = DavServer::apache(&tmp.path().join("apache"));
    let garage = Garage::single(&tmp.path().join("garage"));
    let folder = tmp.path().join("folder");
    std::fs::create_dir_all(&folder)?;
    let s3_url = garage.url(0, "bench");
    let kinds: Vec<(&str, TargetKind, Box<dyn Transport>)> = vec![
        ("folder", TargetKind::Folder, Box::new(Folder::new(&folder))),
        (
            "webdav",
            TargetKind::Webdav,
            Box::new(WebDav::new(&dav.url, Some(USER.into()), Some(PASSWORD.into()))?),
        ),
        (
            "s3",
            TargetKind::S3,
            Box::new(S3::new(&s3_url, Some(garage.key_id.clone()), Some(garage.secret.clone()))?),
        ),
    ];

    let a_dir = tmp.path().join("a");
    let mut a = Workspace::init(&a_dir, false, system_clock())?;
    let (made, setup_ms) = time(|| crate::populate(&mut a, notes, &mut Rng::new(42)));
    made?;
    crate::checkpoint(&a)?;
    eprintln!("  populated {notes} notes in {:.1} s", setup_ms / 1000.0);
    let mut out = Map::new();
    // Sealed into entries first (as a sync does before it writes), so that each push below
    // only writes them.
    let (sealed, seal_ms) = time(|| a.seal_pending(4096, 4 << 20)); // sync's own sizes
    sealed?;
    out.insert("seal_s".into(), json!(round(seal_ms / 1000.0)));
    for (name, kind, tr) in &kinds {
        let row = a.add_target(*kind, tr.as_ref(), Some(crate::PASS), 10)?;
        let (rep, push_ms) = time(|| a.sync_with(&[(&row, tr.as_ref())], &mut |_| {}));
        if let Err(e) = rep.map_err(anyhow::Error::from).and_then(|r| crate::check(&r)) {
            let log =
                std::fs::read_to_string(tmp.path().join("apache/error.log")).unwrap_or_default();
            bail!("the push through {name} failed: {e}\nApache's error log:\n{log}");
        }
        let b_dir = tmp.path().join(format!("b-{name}"));
        let (b, join_ms) = time(|| -> Result<Workspace> {
            let mut b = Workspace::join(
                &b_dir,
                *kind,
                tr.as_ref(),
                Some(crate::PASS),
                false,
                system_clock(),
            )?;
            let row = b.targets()?.remove(0);
            crate::check(&b.sync_with(&[(&row, tr.as_ref())], &mut |_| {})?)?;
            Ok(b)
        });
        let listed = b?.list(None)?.len();
        if listed < notes {
            bail!("the device joined through {name} lists {listed} notes, not {notes}");
        }
        eprintln!(
            "  {name}: pushed in {:.2} s, joined in {:.2} s",
            push_ms / 1000.0,
            join_ms / 1000.0
        );
        out.insert(
            name.to_string(),
            json!({"push_s": round(push_ms / 1000.0), "join_s": round(join_ms / 1000.0)}),
        );
    }
    if mib > 0 {
        let env_dav = vec![("RESNOTES_WEBDAV_PASSWORD".to_string(), PASSWORD.to_string())];
        let env_s3 = vec![("RESNOTES_S3_SECRET_KEY".to_string(), garage.secret.clone())];
        let attach_folder = tmp.path().join("attach-folder");
        std::fs::create_dir_all(&attach_folder)?;
        // A folder of its own on the server for the attachment's workspace.
        let dav_attach = format!("{}attach/", dav.url);
        WebDav::new(&dav_attach, Some(USER.into()), Some(PASSWORD.into()))?.create_root()?;
        let runs: [(&str, Vec<String>, &Env); 3] = [
            ("folder", vec!["--folder".into(), attach_folder.to_string_lossy().into_owned()], &[]),
            ("webdav", vec!["--webdav".into(), dav_attach, "--user".into(), USER.into()], &env_dav),
            (
                "s3",
                vec![
                    "--s3".into(),
                    garage.url(0, "attach"),
                    "--access-key".into(),
                    garage.key_id.clone(),
                ],
                &env_s3,
            ),
        ];
        for (name, via, env) in runs {
            let r = crate::attach::through(bin, mib, &via, env, name)?;
            eprintln!("  {name}: attachment of {mib} MiB {}", serde_json::to_string(&r)?);
            out.get_mut(name).expect("measured above")[format!("attach_{mib}_mib")] = r;
        }
    }
    Ok(Value::Object(out))
}
