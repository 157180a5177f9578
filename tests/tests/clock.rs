//! Clock skew (RELIABILITY.md, test 8): three devices whose clocks are off by −1 day, 0 and
//! +10 years (libfaketime under the real binary). Merges and "which edit came later" follow
//! causality (Automerge's Lamport ordering), never wall time: a delete made after seeing an edit
//! wins even when the edit's clock is ten years ahead, and all devices converge.

use resnotes_e2e::{Device, Sandbox};

#[test]
fn skewed_clocks_do_not_change_merges_or_order_of_causal_edits() {
    let sb = Sandbox::new();
    let shared = sb.folder("shared");
    let (past, now, future) = (sb.device("past"), sb.device("now"), sb.device("future"));
    now.ok_at("+0d", &["init", "--folder", shared.to_str().unwrap()]);
    past.ok_at("-1d", &["join", "--folder", shared.to_str().unwrap()]);
    future.ok_at("+3650d", &["join", "--folder", shared.to_str().unwrap()]);
    // The date really is faked: the future device's entry carries a timestamp ten years ahead.
    let id = now.ok_at("+0d", &["new", "--title", "plan", "--body", "middle"]).trim().to_string();
    now.ok_at("+0d", &["sync"]);
    for (d, off) in [(&past, "-1d"), (&future, "+3650d")] {
        d.ok_at(off, &["sync"]);
    }
    // Concurrent edits at both ends, from clocks a decade apart.
    past.ok_at("-1d", &["edit", &id, "--body", "start middle"]);
    future.ok_at("+3650d", &["edit", &id, "--body", "middle end"]);
    for _ in 0..2 {
        for (d, off) in [(&past, "-1d"), (&now, "+0d"), (&future, "+3650d")] {
            d.ok_at(off, &["sync"]);
        }
    }
    for d in [&past, &now, &future] {
        assert_eq!(d.body(&id), "start middle end");
    }
    // The clocks really were faked: the future device's own entries carry times ten years ahead.
    let log: serde_json::Value = serde_json::from_str(&future.ok(&["log", "--json"])).unwrap();
    let own_ts: Vec<i64> = log
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["own"] == true)
        .map(|e| e["timestamp"].as_i64().unwrap())
        .collect();
    let now_ms =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis()
            as i64;
    assert!(
        !own_ts.is_empty() && own_ts.iter().all(|t| *t > now_ms + 9 * 365 * 86_400_000),
        "{own_ts:?}"
    );

    // History believes the clocks it can: the edit from ten years ahead has no time, the one
    // from a day behind has its own, and both keep their place.
    let h: serde_json::Value = serde_json::from_str(&now.ok(&["history", &id, "--json"])).unwrap();
    let by = |d: &Device| {
        h.as_array().unwrap().iter().find(|v| v["device"] == d.client_id()).cloned().unwrap()
    };
    assert!(by(&future)["ended_at"].is_null(), "{h}");
    let behind = now_ms - 86_400_000 - by(&past)["ended_at"].as_i64().unwrap();
    assert!(behind.abs() < 600_000, "{h}");
    assert!(now.ok(&["history", &id]).contains("time unknown"));

    // The past device deletes the note after seeing the future edit: the delete is causally
    // later and wins everywhere, though its wall clock is ten years behind the edit's.
    past.ok_at("-1d", &["delete", &id]);
    for _ in 0..2 {
        for (d, off) in [(&past, "-1d"), (&now, "+0d"), (&future, "+3650d")] {
            d.ok_at(off, &["sync"]);
        }
    }
    for d in [&past, &now, &future] {
        assert!(d.list().is_empty(), "deleted everywhere");
    }
}
