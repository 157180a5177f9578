//! What a sync, a join or an attachment transfer shows while it runs, on standard error: on a
//! terminal, one line that follows it ("Receiving entries: 1,200", an attachment's bar in
//! bytes), cleared when it ends (the report follows); off a terminal or with `--quiet`,
//! nothing but the report.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};
use resnotes_core::{Direction, SyncEvent, Tally};

/// Follows the events of one command.
pub(crate) struct SyncProgress {
    bar: Option<ProgressBar>,
    /// Entries received and sent so far (over every target and device).
    tally: Tally,
}

impl SyncProgress {
    /// Shows nothing unless stderr is a terminal and `quiet` is off.
    pub(crate) fn new(quiet: bool) -> Self {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::new_spinner().with_message("Syncing…");
            bar.enable_steady_tick(std::time::Duration::from_millis(120));
            bar
        });
        Self { bar, tally: Tally::default() }
    }

    /// Takes one event of the sync.
    pub(crate) fn event(&mut self, ev: &SyncEvent) {
        let Some(bar) = &self.bar else { return };
        self.tally.take(ev);
        let count = |n: u64| indicatif::HumanCount(n).to_string();
        match ev {
            SyncEvent::Pulled { .. } | SyncEvent::Expecting { .. } => {
                let received = self.tally.received();
                let of = self.tally.expected().map(|e| format!(" of {}", count(e)));
                spin(
                    bar,
                    format!("Receiving entries: {}{}", count(received), of.unwrap_or_default()),
                );
            }
            SyncEvent::Pushing { .. } => spin(bar, "Sending entries…".into()),
            SyncEvent::Pushed { .. } => {
                spin(bar, format!("Sending entries: {}", count(self.tally.sent())));
            }
            SyncEvent::AssetProgress { name, direction, done, total, .. } => {
                let verb = match direction {
                    Direction::Upload => "Uploading",
                    Direction::Download => "Downloading",
                };
                if bar.length() != Some(*total) {
                    bar.set_message(format!("{verb} {name}"));
                    let style = ProgressStyle::with_template(
                        "{msg} [{bar:30}] {bytes} of {total_bytes} ({bytes_per_sec})",
                    );
                    if let Ok(style) = style {
                        bar.set_style(style.progress_chars("=> "));
                    }
                    bar.set_length(*total);
                }
                bar.set_position(*done);
            }
            SyncEvent::AssetDone { .. } => spin(bar, "Attachments…".into()),
            _ => {}
        }
    }
}

/// Makes the bar a spinner with `message` (an attachment's bar turns back into one).
fn spin(bar: &ProgressBar, message: String) {
    if bar.length().is_some() {
        bar.set_style(ProgressStyle::default_spinner());
        bar.unset_length();
    }
    bar.set_message(message);
}

impl Drop for SyncProgress {
    fn drop(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

/// A count that moves towards a known total ("Checking /mnt/notes [====>  ] 1,200 of 5,000"):
/// a bar on a terminal; off a terminal one plain line when the total is first known; nothing
/// with `--quiet`.
pub(crate) struct Counter {
    what: String,
    quiet: bool,
    bar: Option<ProgressBar>,
    announced: bool,
}

impl Counter {
    /// A counter labelled `what`, not shown until [`Counter::set`] gives it a total.
    pub(crate) fn new(quiet: bool, what: String) -> Self {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::new(0).with_message(what.clone());
            if let Ok(style) =
                ProgressStyle::with_template("{msg} [{bar:30}] {human_pos} of {human_len}")
            {
                bar.set_style(style.progress_chars("=> "));
            }
            bar
        });
        Self { what, quiet, bar, announced: false }
    }

    /// `done` of `total` so far.
    pub(crate) fn set(&mut self, done: u64, total: u64) {
        match &self.bar {
            Some(bar) => {
                bar.set_length(total);
                bar.set_position(done);
            }
            None if !self.quiet && !self.announced => {
                self.announced = true;
                eprintln!("{} ({total})…", self.what);
            }
            None => {}
        }
    }
}

impl Drop for Counter {
    fn drop(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}
