//! What a bug report needs, and nothing a user would not hand to a stranger: the program's
//! version and the system, the workspace's counts, each target's kind and state, and the recent
//! warnings and errors of the app's log. Never a note's text or title, never a secret, never a
//! target's location (folder paths and server names are replaced by "folder 1", "server 2"),
//! never the data dir's path.
//!
//! The app's log itself ([`LOG_DIR`] in the data dir) is written by the shell (tracing, one file
//! a day, a week kept); only warnings, errors and sync outcomes go in, and the messages there are
//! the engine's sentences, which name notes by id only.

use std::path::Path;

use super::calendar::CalendarTime;
use super::Workspace;
use crate::error::Result;
use crate::format::manifest::FORMAT_VERSION;
use crate::transport::TargetKind;

/// Folder of the app's log files, inside the data dir.
pub const LOG_DIR: &str = "logs";

/// Log files kept (one a day).
pub const LOG_DAYS: usize = 7;

/// The name every log file starts with (`resilient-notes.2026-12-04.log`).
pub const LOG_PREFIX: &str = "resilient-notes";

/// Most log lines a report carries.
const LOG_LINES: usize = 30;

/// Who is asking: the program and the system it runs on.
#[derive(Clone, Debug)]
pub struct About {
    /// "Resilient Notes 0.1.0 (app)".
    pub program: String,
    /// "Debian GNU/Linux 12 (bookworm), x86_64".
    pub system: String,
}

/// The system's name as `/etc/os-release` gives it (else the OS family), and the architecture.
pub fn system_description() -> String {
    let pretty = std::fs::read_to_string("/etc/os-release").ok().and_then(|text| {
        text.lines()
            .find_map(|l| l.strip_prefix("PRETTY_NAME=").map(|v| v.trim_matches('"').to_string()))
    });
    format!("{}, {}", pretty.unwrap_or_else(|| std::env::consts::OS.into()), std::env::consts::ARCH)
}

/// The newest warning and error lines of the log files in `dir`, oldest first, at most
/// `limit`. Missing or unreadable files give nothing (a report is still made).
pub fn recent_problems(dir: &Path, limit: usize) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut files: Vec<_> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with(LOG_PREFIX))
        })
        .collect();
    // Dated names sort in time order.
    files.sort();
    let mut lines: Vec<String> = Vec::new();
    for f in files.iter().rev() {
        let Ok(text) = std::fs::read_to_string(f) else { continue };
        let mut found: Vec<String> = text
            .lines()
            .filter(|l| l.contains(" WARN ") || l.contains(" ERROR "))
            .map(str::to_string)
            .collect();
        found.append(&mut lines);
        lines = found;
        if lines.len() >= limit {
            break;
        }
    }
    let skip = lines.len().saturating_sub(limit);
    lines.split_off(skip)
}

/// "1 note", "3 notes", "2 entries".
fn count(n: u64, one: &str) -> String {
    match (n, one.strip_suffix('y')) {
        (1, _) => format!("1 {one}"),
        (_, Some(stem)) => format!("{n} {stem}ies"),
        _ => format!("{n} {one}s"),
    }
}

/// Replaces what names a place in a log line the report cannot name otherwise (a target removed
/// since, a server in a certificate error, a path outside the home folder): any web address
/// becomes `<address>`, any absolute or home path `<path>`. Punctuation around a word stays.
fn scrub_places(line: &str) -> String {
    line.split(' ')
        .map(|word| {
            let core = word.trim_matches(|c: char| "\"'“”‘’()[]{}<>,;:.".contains(c));
            let place = if core.contains("://") {
                Some("<address>")
            } else if (core.starts_with('/') || core.starts_with("~/")) && core.len() > 1 {
                Some("<path>")
            } else {
                None
            };
            match place {
                Some(shown) if !core.is_empty() => word.replacen(core, shown, 1),
                _ => word.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Replaces every occurrence of each `(private, shown)` pair in `text`.
fn redact(text: &str, names: &[(String, String)]) -> String {
    let mut out = text.to_string();
    for (private, shown) in names {
        if !private.is_empty() {
            out = out.replace(private, shown);
        }
    }
    out
}

impl Workspace {
    /// The text "Copy diagnostics" puts on the clipboard (see the module doc for what it
    /// leaves out). `log_dir` is where the app's log files are, if it writes any.
    pub fn diagnostics(&self, about: &About, log_dir: Option<&Path>) -> Result<String> {
        let st = self.status()?;
        let storage = self.storage()?;
        let devices = crate::store::heads(&self.replica.conn)?.len();
        // What must not leave the device: target locations and the data dir's path.
        let mut private: Vec<(String, String)> = Vec::new();
        for (i, t) in st.targets.iter().enumerate() {
            let shown = match t.kind {
                TargetKind::Webdav | TargetKind::S3 => format!("<server {}>", i + 1),
                _ => format!("<folder {}>", i + 1),
            };
            private.push((t.location.clone(), shown));
        }
        // A store's errors name its bucket and host on their own.
        for (i, t) in st.targets.iter().enumerate() {
            if let (TargetKind::S3, Ok(a)) =
                (t.kind, crate::transport::S3Address::parse(&t.location))
            {
                if let Some(host) = a.endpoint.host_str() {
                    private.push((host.to_string(), format!("<server {}>", i + 1)));
                }
                // As the messages say it ("bucket notes"): a bucket's name may be a common word.
                private.push((format!("bucket {}", a.bucket), format!("bucket <{}>", i + 1)));
            }
        }
        private.push((self.replica.dir.display().to_string(), "<data dir>".into()));
        if let Some(home) = std::env::var_os("HOME").filter(|h| h.len() > 1) {
            private.push((home.to_string_lossy().into_owned(), "~".into()));
        }
        let when = |ms: i64| {
            let t = CalendarTime::utc(ms);
            format!("{:04}-{:02}-{:02} {:02}:{:02} UTC", t.year, t.month, t.day, t.hour, t.minute)
        };
        let mut s = String::new();
        s.push_str(&format!("{}\n", about.program));
        s.push_str(&format!("System: {}\n", about.system));
        s.push_str(&format!(
            "Workspace: {}, format {FORMAT_VERSION}; {}; {}; {} ({} waiting to sync, {} not yet in an entry); database {} KiB\n",
            if st.encrypted { "encrypted" } else { "NOT encrypted" },
            count(devices as u64, "device"),
            count(st.notes, "note"),
            count(st.entries, "entry"),
            st.pending,
            count(st.unsealed, "edit"),
            storage.file_bytes / 1024,
        ));
        if !st.left_out.is_empty() {
            s.push_str(&format!(
                "Changes left out of their notes (could not be read): {}\n",
                st.left_out.len()
            ));
        }
        if st.targets.is_empty() {
            s.push_str("Targets: none (notes stay on this device)\n");
        } else {
            s.push_str("Targets:\n");
        }
        for (i, t) in st.targets.iter().enumerate() {
            let kind = match t.kind {
                TargetKind::Webdav => "WebDAV server",
                TargetKind::S3 => "S3 bucket",
                TargetKind::Folder => "folder",
                _ => t.kind.as_str(),
            };
            let state = if t.pending == 0 {
                "up to date".to_string()
            } else {
                format!("{} waiting", count(t.pending, "entry"))
            };
            let last = t
                .last_ok
                .map_or("never synced".to_string(), |ms| format!("last synced {}", when(ms)));
            s.push_str(&format!("  {}. {kind}: {state}, {last}", i + 1));
            s.push_str(&format!(
                ", attachments {}",
                if t.keep_attachments { "kept offline" } else { "on demand" }
            ));
            if !t.entry_errors.is_empty() {
                let n = count(t.entry_errors.len() as u64, "entry");
                s.push_str(&format!(", {n} not readable yet"));
            }
            s.push('\n');
            if let Some(e) = &t.last_error {
                let at = t.last_error_at.map(|ms| format!(" ({})", when(ms))).unwrap_or_default();
                s.push_str(&format!(
                    "     last problem{at}: {}\n",
                    scrub_places(&redact(e, &private))
                ));
            }
        }
        if let Some(dir) = log_dir {
            let lines = recent_problems(dir, LOG_LINES);
            if lines.is_empty() {
                s.push_str("Recent problems in the log: none\n");
            } else {
                s.push_str("Recent problems in the log (oldest first):\n");
                for l in lines {
                    s.push_str(&format!("  {}\n", scrub_places(&redact(&l, &private))));
                }
            }
        }
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recent_problems_are_the_newest_warnings_across_days_oldest_first() {
        let dir = tempfile::tempdir().unwrap();
        let day = |d: u32, lines: &[&str]| {
            std::fs::write(
                dir.path().join(format!("{LOG_PREFIX}.2026-12-0{d}.log")),
                lines.join("\n"),
            )
            .unwrap()
        };
        day(1, &["t1  WARN a", "t2  INFO b", "t3 ERROR c"]);
        day(2, &["t4  INFO d", "t5  WARN e"]);
        std::fs::write(dir.path().join("other.txt"), " WARN not ours").unwrap();
        assert_eq!(recent_problems(dir.path(), 10), vec!["t1  WARN a", "t3 ERROR c", "t5  WARN e"]);
        assert_eq!(recent_problems(dir.path(), 2), vec!["t3 ERROR c", "t5  WARN e"]);
        assert!(recent_problems(&dir.path().join("none"), 5).is_empty());
    }

    #[test]
    fn places_a_report_cannot_name_are_scrubbed() {
        assert_eq!(
            scrub_places("https://alice@dav.example.com/notes/ is not reachable: (/media/alice/USB) and “~/x”."),
            "<address> is not reachable: (<path>) and “<path>”."
        );
        let kept = "2026-12-04T20:27:31Z  WARN resilient_notes::background: entry 0 of 3a36e278/changes/1/0.age";
        assert_eq!(scrub_places(kept), kept);
    }

    #[test]
    fn locations_and_paths_are_replaced() {
        let names = vec![
            ("/home/alice/Dropbox/notes".to_string(), "<folder 1>".to_string()),
            ("/home/alice".to_string(), "~".to_string()),
        ];
        assert_eq!(
            redact("/home/alice/Dropbox/notes is not reachable; see /home/alice/x", &names),
            "<folder 1> is not reachable; see ~/x"
        );
    }
}
