//! Background sync as both shells run it: the notes loop ([`watch::run`]) and, beside it, the
//! attachments loop ([`watch::run_assets`]), each on its own thread and its own connection to
//! the data dir, so a large transfer never holds back notes and neither ever blocks typing.
//! When notes arrive or are written here, the attachments loop is asked for a cycle (the notes
//! may link attachments to fetch or upload).

use std::path::Path;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use super::watch::{self, Control, Observer, Wake, WatchOptions};
use super::{SyncEvent, TargetReport};
use crate::docs::{system_clock, Replica};
use crate::error::{Error, Result};

/// A running background sync of one data dir. Dropping it leaves the threads running until
/// [`Supervisor::stop`]; [`Supervisor::join`] waits for them.
pub struct Supervisor {
    notes: Arc<Control>,
    assets: Arc<Control>,
    threads: Vec<JoinHandle<Result<()>>>,
}

/// Passes the notes loop's observations on and asks the attachments loop for a cycle after
/// notes arrived or local edits were synced.
struct NudgeAssets {
    inner: Box<dyn Observer + Send>,
    assets: Arc<Control>,
}

impl Observer for NudgeAssets {
    fn event(&mut self, ev: SyncEvent) {
        self.inner.event(ev)
    }
    fn cycle(&mut self, wake: Wake, reports: &[TargetReport], retry_in: Option<Duration>) {
        if reports.iter().any(|r| r.pulled > 0) || wake == Wake::Local {
            self.assets.nudge();
        }
        self.inner.cycle(wake, reports, retry_in)
    }
    fn notice(&mut self, msg: String) {
        self.inner.notice(msg)
    }
    fn stopped(&mut self, error: &Error) {
        self.inner.stopped(error)
    }
}

impl Supervisor {
    /// Opens the workspace in `dir` twice (one connection per loop) and starts both loops:
    /// notes with `opts`, reported to `notes`; attachments at least every `asset_interval`,
    /// reported to `assets` (its `cycle` gets each attachment cycle's reports). Fails, starting
    /// nothing, when the workspace cannot be opened.
    pub fn start(
        dir: &Path,
        opts: WatchOptions,
        asset_interval: Duration,
        notes: Box<dyn Observer + Send>,
        mut assets: Box<dyn Observer + Send>,
    ) -> Result<Self> {
        let mut notes_ws = Replica::open(dir, system_clock())?;
        let assets_ws = Replica::open(dir, system_clock())?;
        let (notes_ctl, assets_ctl) = (Arc::new(Control::default()), Arc::new(Control::default()));
        let mut obs = NudgeAssets { inner: notes, assets: assets_ctl.clone() };
        let c = notes_ctl.clone();
        let notes_thread = std::thread::Builder::new()
            .name("sync-notes".into())
            .spawn(move || {
                let r = watch::run(&mut notes_ws, &opts, &c, &mut obs);
                if let Err(e) = &r {
                    obs.stopped(e);
                }
                r
            })
            .map_err(|e| Error::io("cannot start background sync", e))?;
        let a = assets_ctl.clone();
        let assets_thread =
            std::thread::Builder::new().name("sync-attachments".into()).spawn(move || {
                let r = watch::run_assets(&assets_ws, asset_interval, &a, assets.as_mut());
                if let Err(e) = &r {
                    assets.stopped(e);
                }
                r
            });
        let assets_thread = match assets_thread {
            Ok(t) => t,
            Err(e) => {
                notes_ctl.stop();
                let _ = notes_thread.join();
                return Err(Error::io("cannot start background sync", e));
            }
        };
        Ok(Supervisor {
            notes: notes_ctl,
            assets: assets_ctl,
            threads: vec![notes_thread, assets_thread],
        })
    }

    /// Asks both loops for a cycle now (also during a backoff).
    pub fn nudge(&self) {
        self.notes.nudge();
        self.assets.nudge();
    }

    /// Asks the attachments loop for a cycle now (a file was attached).
    pub fn nudge_assets(&self) {
        self.assets.nudge();
    }

    /// Asks both loops to end after the work in progress (a transfer stops between files).
    pub fn stop(&self) {
        self.notes.stop();
        self.assets.stop();
    }

    /// A handle that stops both loops from elsewhere (a Ctrl-C handler).
    pub fn stopper(&self) -> impl Fn() + Send + Sync + 'static {
        let (n, a) = (self.notes.clone(), self.assets.clone());
        move || {
            n.stop();
            a.stop();
        }
    }

    /// Waits until both loops have ended; the first error either stopped on.
    pub fn join(self) -> Result<()> {
        let mut first = Ok(());
        for t in self.threads {
            let r = t.join().unwrap_or_else(|_| {
                Err(Error::Invalid("background sync stopped unexpectedly; restart it".into()))
            });
            if first.is_ok() {
                first = r;
            }
        }
        first
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc::{channel, Sender};

    use super::*;
    use crate::transport::{Folder, TargetKind};
    use crate::workspace::system_clock;
    use crate::Workspace;

    /// Sends each finished cycle's pulled count to the test.
    struct Cycles(Sender<u64>);

    impl Observer for Cycles {
        fn cycle(&mut self, _: Wake, reports: &[TargetReport], _: Option<Duration>) {
            let _ = self.0.send(reports.iter().map(|r| r.pulled).sum());
        }
    }

    #[test]
    fn both_loops_run_see_a_remote_note_and_stop() {
        let tmp = tempfile::tempdir().unwrap();
        let shared = tmp.path().join("shared");
        std::fs::create_dir_all(&shared).unwrap();
        let folder = Folder::new(&shared);
        let (a_dir, b_dir) = (tmp.path().join("a"), tmp.path().join("b"));
        let mut a = Workspace::init(&a_dir, true, system_clock()).unwrap();
        a.add_target(TargetKind::Folder, &folder, None, 10).unwrap();
        a.new_note("from A", "hello").unwrap();
        a.sync_all(&mut |_| {}).unwrap();
        drop(
            Workspace::join(&b_dir, TargetKind::Folder, &folder, None, true, system_clock())
                .unwrap(),
        );

        let (notes_tx, notes_rx) = channel();
        let (assets_tx, assets_rx) = channel();
        let opts = WatchOptions { poll_interval: Duration::from_millis(200), ..Default::default() };
        let sup = Supervisor::start(
            &b_dir,
            opts,
            Duration::from_secs(60),
            Box::new(Cycles(notes_tx)),
            Box::new(Cycles(assets_tx)),
        )
        .unwrap();
        // The first notes cycle pulls A's entry; the attachments loop ran at start.
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        let mut pulled = 0;
        while pulled == 0 && std::time::Instant::now() < deadline {
            pulled += notes_rx.recv_timeout(Duration::from_secs(5)).unwrap_or(0);
        }
        assert!(pulled > 0, "the notes loop pulled A's note");
        assets_rx.recv_timeout(Duration::from_secs(10)).expect("the attachments loop ran");
        sup.stop();
        sup.join().unwrap();
        let b = Workspace::open(&b_dir).unwrap();
        assert_eq!(b.list(None).unwrap()[0].title, "from A");
        // A bad data dir starts nothing and says why.
        let err = Supervisor::start(
            &tmp.path().join("nothing"),
            WatchOptions::default(),
            Duration::from_secs(1),
            Box::new(Cycles(channel().0)),
            Box::new(Cycles(channel().0)),
        )
        .err()
        .unwrap();
        assert_eq!(err.code(), "no_workspace");
    }
}
