//! Where files live in a workspace folder: `distributedFilePath`, entry paths, and which names
//! are ours (a valid clientId folder) versus junk left by sync tools.

use uuid::Uuid;

/// Entries per folder level, as written to `index.json` (`maxEntriesPerFolder`).
pub const MAX_ENTRIES_PER_FOLDER: u64 = 1000;

/// The seed's `distributedFilePath` in its upstream form: the first name is the number of the
/// following levels, so `1003` becomes `["2", "1", "3"]` and `1000000` becomes `["3","1","0","0"]`.
/// Every folder then holds at most `max` names (plus the level prefix at the top).
pub fn distributed_file_path(index: u64, max: u64) -> Vec<String> {
    assert!(max >= 2, "maxEntriesPerFolder must be at least 2");
    let mut names = Vec::new();
    let mut rest = index;
    loop {
        names.insert(0, (rest % max).to_string());
        rest /= max;
        if rest == 0 {
            break;
        }
    }
    names.insert(0, names.len().to_string());
    names
}

/// Which log of a client a file belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Automerge changes, `<clientId>/changes/...`.
    Changes,
    /// Binary assets, `<clientId>/assets/...`.
    Assets,
}

/// The relative path (with `/`) of a client's entry: `<client>/changes/<levels>/<...>/<n><ext>`.
pub fn entry_path(client: &Uuid, kind: Kind, index: u64, max: u64, ext: &str) -> String {
    let dir = match kind {
        Kind::Changes => "changes",
        Kind::Assets => "assets",
    };
    let names = distributed_file_path(index, max);
    format!("{}/{}/{}{}", client.hyphenated(), dir, names.join("/"), ext)
}

/// Parses a top-level folder name as a clientId: only a lowercase hyphenated UUID counts.
/// Everything else (`.DS_Store`, `Foo (conflicted copy)`, `.~lock`, upper case) is ignored.
pub fn parse_client_dir(name: &str) -> Option<Uuid> {
    if name.len() != 36 || name.bytes().any(|b| b.is_ascii_uppercase()) {
        return None;
    }
    let id = Uuid::parse_str(name).ok()?;
    (id.hyphenated().to_string() == name).then_some(id)
}

/// True for names a reader must never treat as an entry: our own temp files and the leftovers of
/// cloud sync tools. Entry readers only open exact computed paths, so this matters for listings.
pub fn is_ignored_name(name: &str) -> bool {
    name.starts_with('.')
        || name.starts_with('~')
        || name.contains("conflicted copy")
        || name.contains(".sync-conflict-")
        || name.ends_with(".tmp")
        || name.ends_with(".icloud")
        || name.eq_ignore_ascii_case("desktop.ini")
        || name.eq_ignore_ascii_case("thumbs.db")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_vectors() {
        let cases: &[(u64, &str)] = &[
            (0, "1/0"),
            (1, "1/1"),
            (999, "1/999"),
            (1000, "2/1/0"),
            (1001, "2/1/1"),
            (1003, "2/1/3"),
            (999_999, "2/999/999"),
            (1_000_000, "3/1/0/0"),
            (u64::MAX, "7/18/446/744/73/709/551/615"),
        ];
        for (index, want) in cases {
            assert_eq!(distributed_file_path(*index, 1000).join("/"), *want, "index {index}");
        }
        assert_eq!(distributed_file_path(5, 2).join("/"), "3/1/0/1");
    }

    #[test]
    fn entry_path_vector() {
        let c = Uuid::parse_str("3f2a1c4e-0000-4000-8000-000000000001").unwrap();
        assert_eq!(
            entry_path(&c, Kind::Changes, 1003, 1000, ".age"),
            "3f2a1c4e-0000-4000-8000-000000000001/changes/2/1/3.age"
        );
    }

    #[test]
    fn client_dirs_and_junk() {
        assert!(parse_client_dir("3f2a1c4e-0000-4000-8000-000000000001").is_some());
        for bad in [
            "3F2A1C4E-0000-4000-8000-000000000001",
            "3f2a1c4e00004000800000000000000000001",
            "3f2a1c4e-0000-4000-8000-000000000001 (conflicted copy)",
            ".DS_Store",
            "index.json",
            "notes",
        ] {
            assert!(parse_client_dir(bad).is_none(), "{bad}");
        }
        for junk in [
            ".DS_Store",
            "5 (Bob's conflicted copy 2024-01-01).age",
            ".syncthing.5.age.tmp",
            "5.sync-conflict-20240101-120000-ABCDEF.age",
            ".5.age.icloud",
            ".~lock.5.age#",
            "~$note",
        ] {
            assert!(is_ignored_name(junk), "{junk}");
        }
        assert!(!is_ignored_name("5.age"));
    }
}
