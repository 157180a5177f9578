//! `resnotes`: the Resilient Notes command line. Each subcommand parses its input, calls the
//! engine in `resnotes-core` and prints the result; no business logic lives here.

use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use clap::{Parser, Subcommand};
use resnotes_core::age::secrecy::ExposeSecret;
use resnotes_core::transport::{Folder, Transport, WebDav};
use resnotes_core::workspace::system_clock;
use resnotes_core::{watch, SyncEvent, TargetReport, Workspace};

#[derive(Parser)]
#[command(
    name = "resnotes",
    version,
    about = "Local-first, end-to-end encrypted notes that sync through a shared folder."
)]
struct Cli {
    /// Data dir of this device (default: the OS data dir).
    #[arg(long, global = true, env = "RESNOTES_DATA_DIR")]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create this device's new workspace; with --folder or --webdav, also the shared workspace there.
    Init {
        /// An empty folder to share the workspace through.
        #[arg(long, conflicts_with = "webdav")]
        folder: Option<PathBuf>,
        /// An empty WebDAV folder (URL) to share the workspace through.
        #[arg(long)]
        webdav: Option<String>,
        /// WebDAV user name (password: RESNOTES_WEBDAV_PASSWORD or a prompt).
        #[arg(long, requires = "webdav")]
        user: Option<String>,
        /// Do not encrypt (entries readable by anyone with the folder).
        #[arg(long)]
        plaintext: bool,
    },
    /// Join the workspace in a shared folder or WebDAV folder as a new device.
    Join {
        /// The shared workspace folder.
        #[arg(long, required_unless_present = "webdav", conflicts_with = "webdav")]
        folder: Option<PathBuf>,
        /// The shared workspace on a WebDAV server (URL).
        #[arg(long)]
        webdav: Option<String>,
        /// WebDAV user name (password: RESNOTES_WEBDAV_PASSWORD or a prompt).
        #[arg(long, requires = "webdav")]
        user: Option<String>,
    },
    /// Create a note; prints its id.
    New {
        #[arg(long)]
        title: String,
        /// Body text ("-" reads standard input).
        #[arg(long, default_value = "")]
        body: String,
    },
    /// Change a note's title and/or body.
    Edit {
        /// Note id or unique prefix.
        id: String,
        #[arg(long)]
        title: Option<String>,
        /// New body ("-" reads standard input).
        #[arg(long)]
        body: Option<String>,
    },
    /// Delete a note.
    Delete { id: String },
    /// Show a note.
    Show {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// List notes, newest edit first.
    List {
        #[arg(long)]
        json: bool,
        /// Only the first N notes.
        #[arg(long)]
        limit: Option<usize>,
    },
    /// Sync with every target once, or keep syncing with --watch.
    Sync {
        #[arg(long)]
        watch: bool,
        /// Polling interval in seconds for --watch (for folders that deliver no events).
        #[arg(long, default_value_t = 10)]
        interval: u64,
    },
    /// This device's workspace and targets.
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Recent log entries and their state on each target.
    Log {
        #[arg(long)]
        json: bool,
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Manage sync targets.
    Target {
        #[command(subcommand)]
        command: TargetCommand,
    },
    /// Key operations.
    Key {
        #[command(subcommand)]
        command: KeyCommand,
    },
    /// Rebuild every derived table (notes list, documents) from the log.
    Rebuild,
    /// Attach a file to a note: stores it encrypted as this device's next asset, appends a
    /// markdown image or link to the note and prints the asset URL.
    Attach {
        /// Note id or unique prefix.
        id: String,
        /// The file to attach.
        file: PathBuf,
        /// File name shown in the note (default: the file's own name).
        #[arg(long)]
        name: Option<String>,
    },
    /// Attachments: save one, list them, or sync them now.
    Asset {
        #[command(subcommand)]
        command: AssetCommand,
    },
    /// Device settings.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
}

#[derive(Subcommand)]
enum AssetCommand {
    /// Save an attachment's content to a file, fetching it from a target if needed; its hash
    /// is checked before the file appears.
    Get {
        /// The asset:///… URL from the note.
        url: String,
        #[arg(long)]
        out: PathBuf,
    },
    /// Every attachment this device holds or a note links to, with where it is.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Upload and download attachments now (`sync` does this after the notes).
    Sync,
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Show or set the largest attachment accepted, in MiB (default 200).
    MaxAttachmentMib { mib: Option<u64> },
}

#[derive(Subcommand)]
enum TargetCommand {
    /// Add a target.
    Add {
        #[command(subcommand)]
        kind: TargetKind,
    },
    /// List targets.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Remove a target (its files are left in place).
    Remove { id: String },
    /// Whether all attachments are downloaded from this target in the background
    /// (default on for folders, off for WebDAV: then fetched when a note needs them).
    KeepAttachments {
        id: String,
        #[arg(value_parser = ["on", "off"])]
        state: String,
    },
}

#[derive(Subcommand)]
enum TargetKind {
    /// A shared folder.
    Folder { path: PathBuf },
    /// A folder on a WebDAV server.
    Webdav {
        /// The folder's URL, e.g. https://cloud.example.org/remote.php/dav/files/me/notes
        url: String,
        /// User name (password: RESNOTES_WEBDAV_PASSWORD or a prompt).
        #[arg(long)]
        user: Option<String>,
    },
}

#[derive(Subcommand)]
enum KeyCommand {
    /// Print the workspace identity (AGE-SECRET-KEY-1…) for `age -d -i`.
    Export,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_env("RESNOTES_LOG"))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn data_dir(cli: &Option<PathBuf>) -> Result<PathBuf> {
    if let Some(d) = cli {
        return Ok(d.clone());
    }
    resnotes_core::workspace::default_data_dir()
        .ok_or_else(|| anyhow!("cannot find a data dir for this user; pass --data-dir"))
}

fn scrypt_log_n() -> u8 {
    resnotes_core::workspace::scrypt_log_n()
}

/// The passphrase from RESNOTES_PASSPHRASE or a prompt (asked twice when creating).
fn passphrase(creating: bool) -> Result<Option<String>> {
    if let Ok(p) = std::env::var("RESNOTES_PASSPHRASE") {
        return Ok(Some(p));
    }
    if !std::io::stdin().is_terminal() {
        return Ok(None);
    }
    let p = rpassword::prompt_password("Workspace passphrase: ")?;
    if creating {
        let bits = resnotes_core::crypto::passphrase_bits(&p);
        eprintln!(
            "Estimated strength: {bits} bits{}",
            if bits < 60 { " (weak: consider a longer passphrase)" } else { "" }
        );
        let again = rpassword::prompt_password("Repeat passphrase: ")?;
        if again != p {
            return Err(anyhow!("the passphrases do not match; nothing was changed"));
        }
    }
    Ok(Some(p))
}

/// The WebDAV password from RESNOTES_WEBDAV_PASSWORD or a prompt (when a user is given).
fn webdav_password(user: Option<&str>) -> Result<Option<String>> {
    if let Ok(p) = std::env::var("RESNOTES_WEBDAV_PASSWORD") {
        return Ok(Some(p));
    }
    match user {
        Some(u) if std::io::stdin().is_terminal() => {
            Ok(Some(rpassword::prompt_password(format!("WebDAV password for {u}: "))?))
        }
        _ => Ok(None),
    }
}

/// User name and password of a WebDAV target.
type Credentials = (Option<String>, Option<String>);

/// Opens a WebDAV target; credentials come from --user, the URL, RESNOTES_WEBDAV_PASSWORD or a prompt.
fn open_webdav(url: &str, user: Option<String>) -> Result<(WebDav, Credentials)> {
    let pw = webdav_password(user.as_deref())?;
    let dav = WebDav::new(url, user, pw)?;
    let creds = (dav.username().map(String::from), dav.password().map(String::from));
    Ok((dav, creds))
}

/// The shared target named by `--folder` or `--webdav` (with `--user`), if any.
fn shared_target(
    folder: Option<&Path>,
    webdav: Option<&str>,
    user: Option<String>,
) -> Result<Option<(&'static str, Box<dyn Transport>, Credentials)>> {
    match (folder, webdav) {
        (Some(f), _) => Ok(Some(("folder", Box::new(Folder::new(folder_path(f)?)), (None, None)))),
        (_, Some(url)) => {
            let (dav, creds) = open_webdav(url, user)?;
            Ok(Some(("webdav", Box::new(dav), creds)))
        }
        _ => Ok(None),
    }
}

fn note_credentials(stored: Option<PathBuf>) {
    if let Some(p) = stored {
        eprintln!("warning: no system keyring is used; the WebDAV password is stored in {} (readable only by you)", p.display());
    }
}

fn body_arg(b: String) -> Result<String> {
    if b == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .context("cannot read the body from standard input")?;
        Ok(s)
    } else {
        Ok(b)
    }
}

fn time(ms: i64) -> String {
    let t = std::time::UNIX_EPOCH + Duration::from_millis(ms.max(0) as u64);
    humantime::format_rfc3339_seconds(t).to_string()
}

fn folder_path(p: &Path) -> Result<PathBuf> {
    std::fs::canonicalize(p).with_context(|| format!("folder {} is not reachable", p.display()))
}

fn run(cli: Cli) -> Result<ExitCode> {
    let dir = data_dir(&cli.data_dir)?;
    let open = || Workspace::open(&dir);
    match cli.command {
        Command::Init { folder, webdav, user, plaintext } => {
            // Check the target before creating anything, so a bad one leaves no half-made data dir.
            let shared = shared_target(folder.as_deref(), webdav.as_deref(), user)?;
            if let Some((_, t, _)) = &shared {
                resnotes_core::workspace::check_new_shared_folder(t.as_ref())?;
            }
            let pass = match (&shared, plaintext) {
                (Some(_), false) => {
                    Some(passphrase(true)?.ok_or(resnotes_core::Error::PassphraseNeeded)?)
                }
                _ => None,
            };
            if let Some(p) = &pass {
                resnotes_core::workspace::check_passphrase(p)?;
            }
            let ws = Workspace::init(&dir, plaintext, system_clock())?;
            if let Some((kind, t, (user, pw))) = shared {
                let target = ws.add_target(kind, t.as_ref(), pass.as_deref(), scrypt_log_n())?;
                note_credentials(ws.set_credentials(&target.id, user.as_deref(), pw.as_deref())?);
                eprintln!("Shared workspace created in {}", t.location());
            }
            eprintln!(
                "Workspace {} ready in {} (this device: {})",
                ws.workspace_id(),
                dir.display(),
                ws.client_id()
            );
        }
        Command::Join { folder, webdav, user } => {
            let (kind, t, (user, pw)) = shared_target(folder.as_deref(), webdav.as_deref(), user)?
                .ok_or_else(|| anyhow!("give --folder PATH or --webdav URL"))?;
            let pass = if resnotes_core::workspace::needs_passphrase(t.as_ref())? {
                passphrase(false)?
            } else {
                None
            };
            let mut ws = Workspace::join(&dir, kind, t.as_ref(), pass.as_deref(), system_clock())?;
            if kind == "webdav" {
                let id = ws.targets()?[0].id.clone();
                note_credentials(ws.set_credentials(&id, user.as_deref(), pw.as_deref())?);
            }
            eprintln!("Joined workspace {} as device {}", ws.workspace_id(), ws.client_id());
            let reports = ws.sync_all(&mut |_| {})?;
            return Ok(report(&reports));
        }
        Command::New { title, body } => {
            let id = open()?.new_note(&title, &body_arg(body)?)?;
            println!("{id}");
        }
        Command::Edit { id, title, body } => {
            if title.is_none() && body.is_none() {
                return Err(anyhow!("nothing to change: give --title and/or --body"));
            }
            let body = body.map(body_arg).transpose()?;
            open()?.edit_note(&id, title.as_deref(), body.as_deref())?;
        }
        Command::Delete { id } => {
            let id = open()?.delete_note(&id)?;
            eprintln!("Deleted {id}");
        }
        Command::Show { id, json } => {
            let n = open()?.note(&id)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&n)?);
            } else {
                println!("# {}\n\n{}", n.title, n.body);
            }
        }
        Command::List { json, limit } => {
            let notes = open()?.list(limit)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&notes)?);
            } else {
                for n in notes {
                    println!("{}  {}  {}", &n.id[..8], time(n.updated_at), n.title);
                }
            }
        }
        Command::Sync { watch: false, .. } => {
            let mut ws = open()?;
            if ws.targets()?.is_empty() {
                return Err(anyhow!(
                    "no sync target yet: add one with `resnotes target add folder PATH`"
                ));
            }
            let reports = ws.sync_all(&mut |_| {})?;
            let code = report(&reports);
            let assets = ws.sync_assets(&|| false, &mut |_| {})?;
            let asset_code = report_assets(&assets);
            return Ok(if code == ExitCode::SUCCESS { asset_code } else { code });
        }
        Command::Sync { watch: true, interval } => {
            let mut ws = open()?;
            let ctl = Arc::new(watch::Control::default());
            let assets_ctl = Arc::new(watch::Control::default());
            let (c, a) = (ctl.clone(), assets_ctl.clone());
            ctrlc::set_handler(move || {
                c.stop();
                a.stop();
            })
            .context("cannot install the Ctrl-C handler")?;
            let opts = watch::WatchOptions {
                poll_interval: Duration::from_secs(interval.max(1)),
                ..Default::default()
            };
            eprintln!("Watching {} target(s); press Ctrl-C to stop.", ws.targets()?.len());
            let asset_ws = open()?;
            let a = assets_ctl.clone();
            let poll = opts.poll_interval;
            let assets = std::thread::spawn(move || {
                watch::run_assets(
                    &asset_ws,
                    poll,
                    &a,
                    &mut |ev| {
                        if let SyncEvent::Problem { message, .. } = ev {
                            eprintln!("warning: {message}");
                        }
                    },
                    &mut |reports| {
                        for r in
                            reports.iter().filter(|r| r.pulled + r.pushed > 0 || r.error.is_some())
                        {
                            eprintln!(
                                "[attachments] {}: downloaded {}, uploaded {}{}",
                                r.location,
                                r.pulled,
                                r.pushed,
                                r.error
                                    .as_ref()
                                    .map(|e| format!(" — error: {e}"))
                                    .unwrap_or_default()
                            );
                        }
                    },
                )
            });
            let result =
                watch::run(&mut ws, &opts, &ctl, &mut WatchPrinter { assets: assets_ctl.clone() });
            assets_ctl.stop();
            let asset_result = assets
                .join()
                .map_err(|_| anyhow!("the attachment sync thread stopped unexpectedly"))?;
            result?;
            asset_result?;
            eprintln!("Stopped.");
        }
        Command::Attach { id, file, name } => {
            let r = open()?.attach(&id, &file, name.as_deref())?;
            println!("{}", r.to_url());
        }
        Command::Asset { command: AssetCommand::Get { url, out } } => {
            let r = resnotes_core::asset::AssetRef::parse(url.trim())?;
            open()?.save_asset(&r, &out, &mut |_| {})?;
            eprintln!("Saved {} ({} bytes, SHA-256 checked) to {}", r.name, r.size, out.display());
        }
        Command::Asset { command: AssetCommand::List { json } } => {
            let list = open()?.assets()?;
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                for a in list {
                    let states: Vec<String> =
                        a.targets.iter().map(|s| format!("{}:{}", s.target, s.state)).collect();
                    println!(
                        "{:<7} {:>10} B  {}  {}  {}",
                        if a.local { "local" } else { "remote" },
                        a.size,
                        a.name,
                        states.join(" "),
                        a.url
                    );
                }
            }
        }
        Command::Asset { command: AssetCommand::Sync } => {
            let ws = open()?;
            let reports = ws.sync_assets(&|| false, &mut |_| {})?;
            return Ok(report_assets(&reports));
        }
        Command::Config { command: ConfigCommand::MaxAttachmentMib { mib } } => {
            let ws = open()?;
            if let Some(m) = mib {
                ws.set_max_attachment_bytes(
                    m.checked_mul(1 << 20).ok_or_else(|| anyhow!("{m} MiB is too large"))?,
                )?;
            }
            println!("{}", ws.max_attachment_bytes()? >> 20);
        }
        Command::Status { json } => {
            let st = open()?.status()?;
            if json {
                println!("{}", serde_json::to_string_pretty(&st)?);
            } else {
                println!(
                    "workspace {}  device {}  ({})",
                    st.workspace_id,
                    st.client_id,
                    if st.encrypted { "encrypted" } else { "PLAINTEXT" }
                );
                println!("{} notes, {} log entries, {} pending", st.notes, st.entries, st.pending);
                for t in st.targets {
                    println!(
                        "{} {} {}: {} pending, {} synced, last sync {}",
                        t.id,
                        t.kind,
                        t.location,
                        t.pending,
                        t.synced,
                        t.last_ok.map(time).unwrap_or_else(|| "never".into())
                    );
                    if let Some(e) = t.last_error {
                        println!("  last problem: {e}");
                    }
                }
            }
        }
        Command::Log { json, limit } => {
            let items = open()?.log_items(limit)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&items)?);
            } else {
                for i in items {
                    let states: Vec<String> =
                        i.targets.iter().map(|s| format!("{}:{}", s.target, s.state)).collect();
                    println!(
                        "{} #{:<6} {} {:>6} B  {}{}",
                        &i.client[..8],
                        i.index,
                        time(i.timestamp),
                        i.size,
                        states.join(" "),
                        if i.own { "  (this device)" } else { "" }
                    );
                }
            }
        }
        Command::Target { command } => {
            let ws = open()?;
            match command {
                TargetCommand::Add { kind: TargetKind::Folder { path } } => {
                    let f = folder_path(&path)?;
                    let t = Folder::new(&f);
                    let pass = if ws.manifest_known()? { None } else { passphrase(true)? };
                    let target = ws.add_target("folder", &t, pass.as_deref(), scrypt_log_n())?;
                    println!("{}", target.id);
                }
                TargetCommand::Add { kind: TargetKind::Webdav { url, user } } => {
                    let (t, (user, pw)) = open_webdav(&url, user)?;
                    let pass = if ws.manifest_known()? { None } else { passphrase(true)? };
                    let target = ws.add_target("webdav", &t, pass.as_deref(), scrypt_log_n())?;
                    note_credentials(ws.set_credentials(
                        &target.id,
                        user.as_deref(),
                        pw.as_deref(),
                    )?);
                    println!("{}", target.id);
                }
                TargetCommand::List { json } => {
                    let ts = ws.targets()?;
                    if json {
                        println!("{}", serde_json::to_string_pretty(&ts)?);
                    } else {
                        for t in ts {
                            println!("{} {} {}", t.id, t.kind, t.location);
                        }
                    }
                }
                TargetCommand::KeepAttachments { id, state } => {
                    let t = ws.set_keep_attachments(&id, state == "on")?;
                    eprintln!(
                        "{}: {}",
                        t.location,
                        if t.keep_attachments {
                            "every attachment is kept on this device"
                        } else {
                            "attachments are downloaded when a note needs them"
                        }
                    );
                }
                TargetCommand::Remove { id } => {
                    let t = ws.remove_target(&id)?;
                    eprintln!(
                        "Removed target {} ({}); its files were left in place.",
                        t.id, t.location
                    );
                }
            }
        }
        Command::Key { command: KeyCommand::Export } => {
            let ws = open()?;
            match ws.export_key() {
                Some(k) => println!("{}", k.expose_secret()),
                None => {
                    return Err(anyhow!(
                        "this workspace is not encrypted; there is no key to export"
                    ))
                }
            }
        }
        Command::Rebuild => {
            let n = open()?.rebuild()?;
            eprintln!("Rebuilt notes from {n} log entries.");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints a sync's outcome; exit code 0 only when every target is fully in step.
fn report(reports: &[TargetReport]) -> ExitCode {
    print_reports(reports, |r| match &r.error {
        Some(e) if e.contains(&r.location) => eprintln!("error: {e}"),
        Some(e) => eprintln!("error: {}: {e}", r.location),
        None => eprintln!("{}: pulled {}, pushed {}", r.location, r.pulled, r.pushed),
    })
}

/// Prints an attachment sync's outcome (exit code 0 only without errors or problems).
fn report_assets(reports: &[TargetReport]) -> ExitCode {
    print_reports(reports, |r| match &r.error {
        Some(e) => eprintln!("error: attachments: {e}"),
        None if r.pulled + r.pushed > 0 => {
            eprintln!("{}: attachments downloaded {}, uploaded {}", r.location, r.pulled, r.pushed)
        }
        None => {}
    })
}

/// Prints each report with `line`, then its problems; failure when any has an error or problem.
fn print_reports(reports: &[TargetReport], line: impl Fn(&TargetReport)) -> ExitCode {
    let mut ok = true;
    for r in reports {
        line(r);
        ok &= r.error.is_none() && r.problems.is_empty();
        for p in &r.problems {
            eprintln!("warning: {p}");
        }
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Prints what `sync --watch` does to stderr; nudges the attachment loop after notes arrive.
struct WatchPrinter {
    assets: Arc<watch::Control>,
}

impl watch::Observer for WatchPrinter {
    fn event(&mut self, ev: SyncEvent) {
        if let SyncEvent::Problem { message, .. } = ev {
            eprintln!("warning: {message}");
        }
    }

    fn cycle(&mut self, wake: watch::Wake, reports: &[TargetReport], retry_in: Option<Duration>) {
        if reports.iter().any(|r| r.pulled > 0) || wake == watch::Wake::Local {
            self.assets.nudge();
        }
        for r in reports {
            if r.pulled + r.pushed > 0 || r.error.is_some() {
                eprintln!(
                    "[{wake:?}] {}: pulled {}, pushed {}{}",
                    r.location,
                    r.pulled,
                    r.pushed,
                    r.error.as_ref().map(|e| format!(" — error: {e}")).unwrap_or_default()
                );
            }
        }
        if let Some(d) = retry_in {
            eprintln!("retrying in {:.1} s", d.as_secs_f64());
        }
    }

    fn notice(&mut self, msg: String) {
        eprintln!("note: {msg}");
    }
}
