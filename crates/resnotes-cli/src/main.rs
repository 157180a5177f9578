//! `resnotes`: the Resilient Notes command line. Each subcommand parses its input, calls the
//! engine in `resnotes-core` and prints the result; no business logic lives here.

use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use clap::{CommandFactory, Parser, Subcommand};
use resnotes_core::age::secrecy::ExposeSecret;
use resnotes_core::{
    setup, system_clock, AssetRef, Observer, Supervisor, SyncEvent, TargetReport, TargetSpec, Wake,
    WatchOptions, Workspace,
};

/// `println!` for the data a command prints: a closed standard output (`resnotes list | head
/// -1`) becomes an error that `main` ends on quietly, where `println!` would panic.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)?
    }};
}

mod devices;
mod history;
mod invite;
mod organize;
mod progress;
mod transfer;
mod verify;
mod words;

/// The exit statuses of every command, shown by `--help` (and in the README).
const EXIT_STATUS: &str = "Exit status:
  0  done; for sync and join, every target is in step
  1  failed: the error says why, on standard error (nothing was half done)
  2  the command line is wrong (see --help)
  3  sync or join ran, but some entries or attachments could not be read or written yet;
     the warnings on standard error say which; the next sync tries again
  4  verify found a target that is not complete or not intact: the report says what";

/// Exit status of a sync or join that ran but left problems (see [`EXIT_STATUS`]).
const PARTIAL: u8 = 3;

#[derive(Parser)]
#[command(
    name = "resnotes",
    version,
    about = "Local-first, end-to-end encrypted notes that sync through a shared folder.",
    after_help = EXIT_STATUS
)]
struct Cli {
    /// Data dir of this device (default: the OS data dir).
    #[arg(long, global = true, env = "RESNOTES_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Show no progress on standard error (results and errors still show).
    #[arg(long, short, global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create this device's new workspace; with --folder, --webdav or --s3, also the shared
    /// workspace there.
    Init {
        /// An empty folder to share the workspace through.
        #[arg(long, conflicts_with_all = ["webdav", "s3"])]
        folder: Option<PathBuf>,
        /// An empty WebDAV folder (URL) to share the workspace through.
        #[arg(long, conflicts_with = "s3")]
        webdav: Option<String>,
        /// An S3 bucket (and prefix) to share the workspace through:
        /// s3://BUCKET/PREFIX?endpoint=URL&region=REGION (README, "S3").
        #[arg(long)]
        s3: Option<String>,
        /// S3 access key (secret key: RESNOTES_S3_SECRET_KEY or a prompt); without it, the
        /// AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY environment or AWS_PROFILE's keys are used.
        #[arg(long, requires = "s3")]
        access_key: Option<String>,
        /// WebDAV user name (password: RESNOTES_WEBDAV_PASSWORD or a prompt).
        #[arg(long, requires = "webdav")]
        user: Option<String>,
        /// Allow a plain http:// WebDAV URL that sends the password to another machine
        /// unencrypted (a network you trust); refused without it.
        #[arg(long, requires = "webdav")]
        allow_http: bool,
        /// Do not encrypt (entries readable by anyone with the folder).
        #[arg(long)]
        plaintext: bool,
    },
    /// Join the workspace in a shared folder, WebDAV folder or S3 bucket as a new device.
    Join {
        /// The shared workspace folder.
        #[arg(long, required_unless_present_any = ["webdav", "s3", "code"], conflicts_with_all = ["webdav", "s3"])]
        folder: Option<PathBuf>,
        /// The shared workspace on a WebDAV server (URL).
        #[arg(long, conflicts_with = "s3")]
        webdav: Option<String>,
        /// The shared workspace in an S3 bucket: s3://BUCKET/PREFIX?endpoint=URL&region=REGION.
        #[arg(long)]
        s3: Option<String>,
        /// S3 access key (secret key: RESNOTES_S3_SECRET_KEY or a prompt); without it, the AWS
        /// environment or profile is used. With --s3, or with a setup code of an S3 bucket.
        #[arg(long)]
        access_key: Option<String>,
        /// WebDAV user name (password: RESNOTES_WEBDAV_PASSWORD or a prompt).
        #[arg(long)]
        user: Option<String>,
        /// Allow a plain http:// WebDAV URL that sends the password to another machine
        /// unencrypted (a network you trust); refused without it.
        #[arg(long)]
        allow_http: bool,
        /// Join a workspace that is not encrypted (anyone who can read the folder reads every
        /// note); refused without it.
        #[arg(long, conflicts_with = "code")]
        plaintext: bool,
        /// Join with a setup code from `resnotes invite` (or "Add a device" in the app) on one
        /// of your devices instead of the passphrase: works once, until it expires. Without a
        /// value it is asked for (or read from RESNOTES_SETUP_CODE), so it stays out of the
        /// shell's history and the process list.
        #[arg(long, num_args = 0..=1, default_missing_value = "")]
        code: Option<String>,
    },
    /// A one-time setup code that adds a new device without the passphrase (printed with a QR
    /// code): `resnotes join --code CODE` on the new device.
    Invite {
        /// The folder or server the new device will join through (id, prefix or location;
        /// default: the first).
        #[arg(long)]
        target: Option<String>,
        /// How long the code works, in minutes.
        #[arg(long, default_value_t = 60)]
        minutes: i64,
        #[arg(long)]
        json: bool,
    },
    /// Create a note; prints its id.
    New {
        #[arg(long)]
        title: String,
        /// Body text ("-" reads standard input).
        #[arg(long, default_value = "")]
        body: String,
        /// The notebook to put it in (name, path like Work/Projects, or id); Inbox when not
        /// given.
        #[arg(long)]
        notebook: Option<String>,
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
    /// Move a note to the trash (`trash restore` brings it back).
    Delete { id: String },
    /// Show a note; with --at, as it was at a version or a time.
    Show {
        id: String,
        #[arg(long)]
        json: bool,
        /// A version from `history` (4 or more of its characters), a time (2026-12-04 09:30:00,
        /// UTC) or how long ago (2h, 3days).
        #[arg(long)]
        at: Option<String>,
    },
    /// A note's versions, newest first: when, which device, and what each editing session
    /// changed.
    History {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Compare two versions of a note word by word (default: the version before the newest,
    /// and the current text); "current" names the current text.
    Diff {
        id: String,
        from: Option<String>,
        to: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// What changed across all notes, newest first: each device's synced edits (which notes),
    /// and this device's edits waiting to sync.
    Changes {
        /// Since when: a time (2026-12-04 09:30:00, UTC) or how long ago (2h, 3days).
        #[arg(long, default_value = "1day")]
        since: String,
        #[arg(long)]
        json: bool,
    },
    /// Bring in a folder of Markdown files (an Obsidian vault, Logseq pages, a Joplin
    /// "Markdown + Front Matter" export), a Joplin export (.jex) or an Evernote export (.enex):
    /// folders and notebooks become notebooks, front matter, tags and times are read, links
    /// between notes become note links, and embedded files attachments. Nothing already here
    /// changes; the notes go into a new notebook named after the folder or file, and notes
    /// imported before are not imported again. Ctrl-C stops it.
    Import {
        path: PathBuf,
        /// The notebook to put them in instead (name, path like Work/Projects, or id).
        #[arg(long)]
        into: Option<String>,
        /// Read everything and say what would come in, without importing.
        #[arg(long)]
        dry_run: bool,
        #[arg(long)]
        json: bool,
    },
    /// Write notes out as plain Markdown files into an empty or new folder: notebooks become
    /// folders, each note a .md file with front matter (title, id, created, updated, tags),
    /// attachments go into attachments/, and links become relative paths. `import` reads it back.
    Export {
        dir: PathBuf,
        /// Only this notebook (name, path like Work/Projects, or id) and the ones inside it.
        #[arg(long, conflicts_with = "note")]
        notebook: Option<String>,
        /// Only these notes (id, id prefix or title); repeat for more.
        #[arg(long)]
        note: Vec<String>,
        #[arg(long)]
        json: bool,
    },
    /// Make a note's title and text what they were at a version, as a new edit that syncs
    /// (history keeps everything; a note in the trash comes back).
    Restore {
        id: String,
        /// A version from `history` (4 or more of its characters).
        #[arg(long)]
        to: String,
    },
    /// List notes: pinned ones first, then newest edit first (or as --sort says).
    List {
        #[arg(long)]
        json: bool,
        /// Only the first N notes.
        #[arg(long)]
        limit: Option<usize>,
        /// Only notes with this tag (repeat for notes with all of them).
        #[arg(long)]
        tag: Vec<String>,
        /// Only notes in this notebook (name, path or id; Inbox: the default notebook), not
        /// counting the notebooks inside it.
        #[arg(long)]
        notebook: Option<String>,
        /// Order after the pinned notes: edited (newest edit first), created (newest first) or
        /// title.
        #[arg(long, default_value = "edited", value_parser = ["edited", "created", "title"])]
        sort: String,
    },
    /// Notebooks: list them, add, rename, move or delete one.
    Notebook {
        #[command(subcommand)]
        command: organize::NotebookCommand,
    },
    /// Put a note into a notebook (name, path like Work/Projects, or id; Inbox: the default
    /// notebook).
    Move {
        /// Note id or unique prefix.
        id: String,
        notebook: String,
    },
    /// Pin a note: pinned notes come first in every list.
    Pin { id: String },
    /// Unpin a note.
    Unpin { id: String },
    /// Add and remove a note's tags: `resnotes tag ID +work -draft` (a bare name adds it); prints
    /// the note's tags after.
    Tag {
        /// Note id or unique prefix.
        id: String,
        /// +NAME adds a tag, -NAME removes it, NAME adds it.
        #[arg(required = true, allow_hyphen_values = true)]
        changes: Vec<String>,
    },
    /// Rename a tag on every note that has it.
    RenameTag { old: String, new: String },
    /// The devices of this workspace by name (`device list`), name this one
    /// (`device name Laptop`), or remove one (`device remove Laptop`).
    Device {
        #[command(subcommand)]
        command: devices::DeviceCommand,
    },
    /// Every tag, with how many notes have it.
    Tags {
        #[arg(long)]
        json: bool,
    },
    /// The notes a note links to ([Title](note:ID) in its text), with their current titles.
    Links {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// The notes that link to a note.
    Backlinks {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Deleted notes: list them, bring one back, or empty the trash.
    Trash {
        #[command(subcommand)]
        command: organize::TrashCommand,
    },
    /// Find notes by any words in their title or body, best match first. A word also matches
    /// the start of a longer one; "quoted words" must appear in that order; accents and case
    /// are ignored; Chinese, Japanese, Korean and Thai text is found anywhere in a word.
    /// `tag:NAME` (or `tag:"two words"`) keeps only notes with that tag; `notebook:NAME` only
    /// notes in that notebook or the notebooks inside it.
    Search {
        /// What to look for.
        query: String,
        #[arg(long)]
        json: bool,
        /// At most N results.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Search the trash instead (the notes deleted in the last 30 days).
        #[arg(long)]
        trash: bool,
    },
    /// Sync with every target once, or keep syncing with --watch.
    Sync {
        #[arg(long)]
        watch: bool,
        /// Print each target's outcome as JSON on stdout (`notes` and `attachments`: target,
        /// location, pulled, pushed, problems, error, unreachable).
        #[arg(long, conflicts_with = "watch")]
        json: bool,
        /// Polling interval in seconds for --watch (for folders that deliver no events).
        #[arg(long, default_value_t = 10)]
        interval: u64,
    },
    /// Check that a target holds everything this device has, intact: every entry and
    /// attachment is read back and compared byte for byte, and anything that does not belong
    /// there is named. Exit status 4 when something is missing, cut short, different,
    /// unreadable or extra. What was written there and is gone or cut short is written again
    /// by the next sync.
    Verify {
        /// The target (id, id prefix or location); every target when left out.
        target: Option<String>,
        #[arg(long)]
        json: bool,
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
    /// The workspace passphrase (what a new device joins with).
    Passphrase {
        #[command(subcommand)]
        command: PassphraseCommand,
    },
    /// Rebuild every derived table (notes list, documents) from the log.
    Rebuild,
    /// Keep far fewer files in your sync folders and servers: each sync removes the single
    /// files of every 100 entries a pack already holds (FORMAT.md §11.1). For the whole
    /// workspace and for good; update Resilient Notes on every device first (an older version
    /// stops syncing with the workspace and asks to be updated).
    FewerFiles,
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
    /// Print a script that completes resnotes's commands and options in a shell, e.g.
    /// `resnotes completions bash > ~/.local/share/bash-completion/completions/resnotes`.
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), e.g. `resnotes man | man -l -`; with --dir, write it and one
    /// page per command (resnotes-sync.1, …) into a folder, as a package installs them.
    Man {
        /// Write every page into this folder (made if missing) instead.
        #[arg(long)]
        dir: Option<PathBuf>,
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
        kind: TargetKindArg,
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
enum TargetKindArg {
    /// A shared folder.
    Folder { path: PathBuf },
    /// A folder on a WebDAV server.
    Webdav {
        /// The folder's URL, e.g. https://cloud.example.org/remote.php/dav/files/me/notes
        url: String,
        /// User name (password: RESNOTES_WEBDAV_PASSWORD or a prompt).
        #[arg(long)]
        user: Option<String>,
        /// Allow a plain http:// URL that sends the password to another machine unencrypted.
        #[arg(long)]
        allow_http: bool,
    },
    /// A bucket (and prefix) of an S3-compatible store.
    S3 {
        /// s3://BUCKET/PREFIX?endpoint=URL&region=REGION (README, "S3").
        url: String,
        /// Access key (secret key: RESNOTES_S3_SECRET_KEY or a prompt); without it, the AWS
        /// environment or profile is used at every sync.
        #[arg(long)]
        access_key: Option<String>,
    },
}

#[derive(Subcommand)]
enum KeyCommand {
    /// Print every key of the workspace (AGE-SECRET-KEY-1…, one per line with a comment: the
    /// first, and one more after each passphrase change) as an identity file for `age -d -i`.
    Export,
}

#[derive(Subcommand)]
enum PassphraseCommand {
    /// Change the passphrase (new one from RESNOTES_PASSPHRASE or asked twice): a new key for
    /// everything written from now on, which the old passphrase and old copies of index.json
    /// cannot open. Your other devices keep working without typing it; then syncs.
    Change,
    /// Type the new passphrase on this device after it was changed on another one, when this
    /// device says it cannot read what was written since (it had not synced before the
    /// change); then syncs.
    Enter,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_env("RESNOTES_LOG"))
        .with_writer(std::io::stderr)
        .init();
    resnotes_core::quiet_caught_panics();
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        // The reader of our output went away (`| head`): nothing is wrong and nothing to say.
        Err(e)
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe) =>
        {
            ExitCode::SUCCESS
        }
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
    resnotes_core::default_data_dir()
        .ok_or_else(|| anyhow!("cannot find a data dir for this user; pass --data-dir"))
}

fn scrypt_log_n() -> u8 {
    resnotes_core::scrypt_log_n()
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
        let bits = setup::strength(&p).bits;
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

/// The S3 secret key of `access_key` from RESNOTES_S3_SECRET_KEY or a prompt.
fn s3_secret(access_key: &str) -> Result<String> {
    if let Ok(s) = std::env::var("RESNOTES_S3_SECRET_KEY") {
        return Ok(s);
    }
    if !std::io::stdin().is_terminal() {
        return Err(anyhow!(
            "the secret key of {access_key} is needed: set RESNOTES_S3_SECRET_KEY, or run this in a terminal to be asked"
        ));
    }
    Ok(rpassword::prompt_password(format!("S3 secret key of {access_key}: "))?)
}

/// The S3 target `--s3 URL` (with `--access-key`) names.
fn s3_spec(url: &str, access_key: Option<String>) -> Result<TargetSpec> {
    let secret_key = access_key.as_deref().map(s3_secret).transpose()?;
    Ok(TargetSpec::S3 { url: url.to_string(), access_key, secret_key })
}

/// The target named by `--folder` or `--webdav` (with `--user`), as the app's setup form
/// describes one; the WebDAV password comes from RESNOTES_WEBDAV_PASSWORD, the URL or a prompt.
fn target_spec(
    folder: Option<&Path>,
    webdav: Option<&str>,
    user: Option<String>,
    allow_http: bool,
) -> Result<Option<TargetSpec>> {
    match (folder, webdav) {
        (Some(f), _) => {
            Ok(Some(TargetSpec::Folder { path: folder_path(f)?.to_string_lossy().into_owned() }))
        }
        (_, Some(url)) => {
            let password = webdav_password(user.as_deref())?;
            Ok(Some(TargetSpec::Webdav {
                url: url.to_string(),
                username: user,
                password,
                allow_http: Some(allow_http),
            }))
        }
        _ => Ok(None),
    }
}

fn note_credentials(stored: Option<PathBuf>) {
    if let Some(p) = stored {
        eprintln!("warning: no system keyring is used; the password (or secret key) is stored in {} (readable only by you)", p.display());
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

/// A folder argument as a full path: resolved when it exists; else made absolute, so that
/// `init --folder` and `target add folder` can create it (and `join` says it is missing).
fn folder_path(p: &Path) -> Result<PathBuf> {
    match std::fs::canonicalize(p) {
        Ok(full) => Ok(full),
        Err(_) => std::path::absolute(p)
            .with_context(|| format!("folder {} is not a usable path", p.display())),
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    // About the command line itself: no workspace needed.
    match cli.command {
        Command::Completions { shell } => {
            // Made whole first: the generator panics on a failed write (`| head`).
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "resnotes", &mut script);
            std::io::Write::write_all(&mut std::io::stdout().lock(), &script)?;
            return Ok(ExitCode::SUCCESS);
        }
        Command::Man { dir: None } => {
            clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout().lock())?;
            return Ok(ExitCode::SUCCESS);
        }
        Command::Man { dir: Some(dir) } => {
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("cannot make the folder {}", dir.display()))?;
            clap_mangen::generate_to(Cli::command(), &dir)
                .with_context(|| format!("cannot write the manual pages into {}", dir.display()))?;
            return Ok(ExitCode::SUCCESS);
        }
        _ => {}
    }
    let dir = data_dir(&cli.data_dir)?;
    let open = || Workspace::open(&dir);
    match cli.command {
        Command::Init { folder, webdav, s3, access_key, user, allow_http, plaintext } => {
            let spec = match s3 {
                Some(url) => Some(s3_spec(&url, access_key)?),
                None => target_spec(folder.as_deref(), webdav.as_deref(), user, allow_http)?,
            };
            init(&dir, spec, plaintext)?
        }
        Command::Join {
            folder,
            webdav,
            s3,
            access_key,
            user,
            allow_http,
            plaintext,
            code: None,
        } => {
            if user.is_some() && webdav.is_none() {
                return Err(anyhow!("--user goes with --webdav URL"));
            }
            if access_key.is_some() && s3.is_none() {
                return Err(anyhow!("--access-key goes with --s3 URL"));
            }
            let spec = match s3 {
                Some(url) => s3_spec(&url, access_key)?,
                None => target_spec(folder.as_deref(), webdav.as_deref(), user, allow_http)?
                    .ok_or_else(|| anyhow!("give --folder PATH, --webdav URL or --s3 URL"))?,
            };
            return join(&dir, &spec, plaintext, cli.quiet);
        }
        Command::Join {
            folder,
            webdav,
            s3,
            access_key,
            user,
            allow_http,
            code: Some(text),
            ..
        } => {
            let code = resnotes_core::format::invite::SetupCode::parse(&invite::code_text(text)?)?;
            let spec = match s3 {
                Some(url) => s3_spec(&url, access_key)?,
                None if code.target.kind == "s3" && folder.is_none() && webdav.is_none() => {
                    s3_spec(&code.target.location, access_key)?
                }
                None if access_key.is_some() => {
                    return Err(anyhow!(
                        "--access-key goes with --s3 URL, or with a setup code of an S3 bucket"
                    ));
                }
                None => invite::code_target(
                    &code,
                    folder.as_deref(),
                    webdav.as_deref(),
                    user,
                    allow_http,
                )?,
            };
            let mut ws = invite::join(&dir, &spec, &code)?;
            return first_sync(&mut ws, cli.quiet);
        }
        Command::Invite { target, minutes, json } => {
            invite::invite(&open()?, target.as_deref(), minutes, json)?
        }
        Command::New { title, body, notebook } => {
            out!("{}", organize::new_note(&mut open()?, &title, &body_arg(body)?, notebook)?)
        }
        Command::Edit { id, title, body } => edit(&mut open()?, &id, title, body)?,
        Command::Delete { id } => eprintln!("Deleted {}", open()?.delete_note(&id)?),
        Command::Show { id, json, at: None } => show(&mut open()?, &id, json)?,
        Command::Show { id, json, at: Some(at) } => history::show_at(&open()?, &id, &at, json)?,
        Command::History { id, json } => history::history(&open()?, &id, json)?,
        Command::Diff { id, from, to, json } => history::diff(&open()?, &id, from, to, json)?,
        Command::Restore { id, to } => history::restore(&mut open()?, &id, &to)?,
        Command::Changes { since, json } => history::changes(&open()?, &since, json)?,
        Command::Export { dir, notebook, note, json } => {
            transfer::export(&open()?, &dir, notebook, note, json, cli.quiet)?
        }
        Command::Import { path, into, dry_run, json } => {
            transfer::import(&mut open()?, &path, into, dry_run, json, cli.quiet)?
        }
        Command::List { json, limit, tag, notebook, sort } => {
            organize::list(&open()?, json, limit, tag, notebook, &sort)?
        }
        Command::Notebook { command } => organize::notebook(&mut open()?, command)?,
        Command::Move { id, notebook } => organize::move_note(&mut open()?, &id, &notebook)?,
        Command::Pin { id } => organize::pin(&mut open()?, &id, true)?,
        Command::Unpin { id } => organize::pin(&mut open()?, &id, false)?,
        Command::Tag { id, changes } => organize::tag(&mut open()?, &id, &changes)?,
        Command::Tags { json } => organize::tags(&open()?, json)?,
        Command::Device { command } => return devices::device(&mut open()?, command, cli.quiet),
        Command::RenameTag { old, new } => {
            let t = open()?.rename_tag(&old, &new)?;
            let s = if t.notes == 1 { "" } else { "s" };
            eprintln!("Renamed the tag to \"{}\" on {} note{s}", t.name, t.notes);
        }
        Command::Trash { command } => organize::trash(&mut open()?, command)?,
        Command::Links { id, json } => organize::links(&open()?, &id, json)?,
        Command::Backlinks { id, json } => organize::backlinks(&open()?, &id, json)?,
        Command::Search { query, json, limit, trash } => {
            search(&mut open()?, &query, json, limit, trash)?
        }
        Command::Sync { watch: false, json, .. } => {
            return sync_once(&mut open()?, cli.quiet, json)
        }
        Command::Sync { watch: true, interval, .. } => sync_watch(&dir, interval)?,
        Command::Attach { id, file, name } => {
            out!("{}", open()?.attach(&id, &file, name.as_deref())?.to_url())
        }
        Command::Asset { command } => return asset(&open()?, command, cli.quiet),
        Command::Config { command: ConfigCommand::MaxAttachmentMib { mib } } => {
            max_attachment(&open()?, mib)?
        }
        Command::Verify { target, json } => {
            return verify::verify(&open()?, target, json, cli.quiet)
        }
        Command::Status { json } => status(&open()?, json)?,
        Command::Log { json, limit } => log(&open()?, json, limit)?,
        Command::Target { command } => target(&open()?, command)?,
        Command::Passphrase { command: PassphraseCommand::Change } => {
            return change_passphrase(&mut open()?, cli.quiet)
        }
        Command::Passphrase { command: PassphraseCommand::Enter } => {
            return enter_passphrase(&mut open()?, cli.quiet)
        }
        Command::Key { command: KeyCommand::Export } => match open()?.export_keys() {
            Some(k) => out!("{}", k.expose_secret()),
            None => {
                return Err(anyhow!("this workspace is not encrypted; there is no key to export"))
            }
        },
        Command::Rebuild => rebuild(&mut open()?)?,
        Command::FewerFiles => {
            if open()?.use_fewer_files()? {
                out!("From the next sync on, files already gathered in packs are removed from your sync folders and servers (each device does so as it syncs). Devices running an older Resilient Notes must be updated to keep syncing.");
            } else {
                out!("This workspace already keeps fewer files.");
            }
        }
        // Answered above.
        Command::Completions { .. } | Command::Man { .. } => {}
    }
    Ok(ExitCode::SUCCESS)
}

/// `init`: a new workspace; with a target, also the shared workspace there. The target is
/// checked before anything is created, so a bad one leaves no half-made data dir.
fn init(dir: &Path, spec: Option<TargetSpec>, plaintext: bool) -> Result<()> {
    let shared = match &spec {
        Some(spec) => {
            let t = spec.transport()?;
            resnotes_core::check_new_shared_folder(t.as_ref())?;
            Some((spec, t.location()))
        }
        None => None,
    };
    let pass = match (&shared, plaintext) {
        (Some(_), false) => Some(passphrase(true)?.ok_or(resnotes_core::Error::PassphraseNeeded)?),
        _ => None,
    };
    if let Some(p) = &pass {
        resnotes_core::check_passphrase(p)?;
    }
    let ws = Workspace::init(dir, plaintext, system_clock())?;
    if let Some((spec, location)) = shared {
        let (_, stored) = setup::share(&ws, spec, pass.as_deref(), scrypt_log_n())?;
        note_credentials(stored);
        eprintln!("Shared workspace created in {location}");
    }
    eprintln!(
        "Workspace {} ready in {} (this device: {})",
        ws.workspace_id(),
        dir.display(),
        ws.client_id()
    );
    Ok(())
}

/// `join`: a new device of the workspace on the target, then its first sync.
fn join(dir: &Path, spec: &TargetSpec, plaintext: bool, quiet: bool) -> Result<ExitCode> {
    let t = spec.transport()?;
    let pass = if resnotes_core::needs_passphrase(t.as_ref())? { passphrase(false)? } else { None };
    let mut ws =
        Workspace::join(dir, spec.kind(), t.as_ref(), pass.as_deref(), plaintext, system_clock())?;
    let (user, pw) = spec.credentials(t.as_ref());
    if user.is_some() || pw.is_some() {
        let id = ws.find_target(&t.location())?.id;
        note_credentials(ws.set_credentials(&id, user.as_deref(), pw.as_deref())?);
    }
    first_sync(&mut ws, quiet)
}

/// A joined device's first sync, with progress.
fn first_sync(ws: &mut Workspace, quiet: bool) -> Result<ExitCode> {
    eprintln!("Joined workspace {} as device {}", ws.workspace_id(), ws.client_id());
    let mut shown = progress::SyncProgress::new(quiet);
    let reports = ws.sync_all(&mut |ev| shown.event(&ev))?;
    drop(shown);
    Ok(report(&reports))
}

fn edit(ws: &mut Workspace, id: &str, title: Option<String>, body: Option<String>) -> Result<()> {
    if title.is_none() && body.is_none() {
        return Err(anyhow!("nothing to change: give --title and/or --body"));
    }
    let body = body.map(body_arg).transpose()?;
    ws.edit_note(id, title.as_deref(), body.as_deref())?;
    Ok(())
}

/// `rebuild`: the notes replayed from the log, and any change that could not be read.
fn rebuild(ws: &mut Workspace) -> Result<()> {
    eprintln!("Rebuilt notes from {} log entries.", ws.rebuild()?);
    let left_out = ws.status()?.left_out.len();
    if left_out > 0 {
        eprintln!("warning: {left_out} change(s) from other devices could not be read and are left out of their notes; `resnotes status` lists them.");
    }
    Ok(())
}

/// `show`: the note. Shown to a person it is seen, so a merge mark is cleared after it is
/// printed; `--json` (a script reading it) leaves the mark.
fn show(ws: &mut Workspace, id: &str, json: bool) -> Result<()> {
    let n = ws.note(id)?;
    if json {
        out!("{}", serde_json::to_string_pretty(&n)?);
    } else {
        out!("# {}\n\n{}", n.title, n.body);
    }
    for why in &n.left_out {
        eprintln!("warning: a change from another device could not be read and is left out of this note ({why})");
    }
    if !n.merged_with.is_empty() && !json {
        eprintln!("note: this note was edited on another device at the same time as here, in the same words; both sides' words are kept, so read it over.");
        ws.seen_merge(&n.id)?;
    }
    Ok(())
}

/// Indexes for search what a join listed without its text (saying so when it takes a while),
/// so that `search` and `backlinks` see every note.
fn index_for_search(ws: &Workspace) -> Result<()> {
    let mut p = ws.index_for_search(0)?;
    if p.indexed < p.total {
        let started = std::time::Instant::now();
        while p.indexed < p.total {
            if started.elapsed().as_secs() >= 1 {
                eprint!("\rIndexing {} of {} notes for search…", p.indexed, p.total);
            }
            p = ws.index_for_search(200)?;
        }
        if started.elapsed().as_secs() >= 1 {
            eprintln!("\rIndexed {} notes for search.{:20}", p.total, "");
        }
    }
    Ok(())
}

/// `search`: indexes what a join left unindexed first (saying so when it takes a while), then
/// prints the matches with their snippets, the matched words in brackets.
fn search(ws: &mut Workspace, query: &str, json: bool, limit: usize, trash: bool) -> Result<()> {
    let found = if trash {
        let mut found = ws.find_in_trash(query)?;
        found.truncate(limit);
        found
    } else {
        index_for_search(ws)?;
        ws.find(query, limit)?
    };
    if json {
        out!("{}", serde_json::to_string_pretty(&found)?);
        return Ok(());
    }
    if found.is_empty() {
        let place = if trash { " in the trash" } else { "" };
        eprintln!("No note{place} matches {query:?}.");
    }
    for n in found {
        let snippet: String = n
            .snippet
            .iter()
            .map(|p| if p.hit { format!("[{}]", p.text) } else { p.text.clone() })
            .collect();
        out!("{}  {}  {}", &n.id[..8], time(n.updated_at), n.title);
        out!("          {}", snippet.trim());
    }
    Ok(())
}

/// `sync`: one cycle of notes, then one of attachments; 0 only when all are in step.
/// `passphrase change`: the new key epoch, then a sync so that every target gets the new
/// passphrase's key file and the other devices the new key.
fn change_passphrase(ws: &mut Workspace, quiet: bool) -> Result<ExitCode> {
    let Some(p) = passphrase(true)? else {
        return Err(anyhow!(
            "type the new passphrase in a terminal, or set RESNOTES_PASSPHRASE; nothing was changed"
        ));
    };
    let changed = ws.change_passphrase(&p, scrypt_log_n())?;
    eprintln!(
        "The passphrase was changed. Notes written from now on use a new key that the old passphrase cannot open; your other devices get it when they sync and need nothing typed (one that had not synced with this device yet asks for the new passphrase). A new device joins with the new passphrase."
    );
    after_new_key(ws, &changed.left_out, "the new passphrase", quiet)
}

/// After a new key epoch (a passphrase change, a removal, a device let in): names the devices
/// that could not be given the key (`passphrase`: what they join again with), then syncs, so
/// that the folders and servers, and through them the other devices, get it.
fn after_new_key(
    ws: &mut Workspace,
    left_out: &[String],
    passphrase: &str,
    quiet: bool,
) -> Result<ExitCode> {
    if !left_out.is_empty() {
        eprintln!(
            "Not given the new key (they run an older Resilient Notes that does not sign its changes): {}. Update them, then join again there with {passphrase}.",
            left_out.join(", ")
        );
    }
    if ws.targets()?.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    sync_once(ws, quiet, false)
}

/// The workspace's current passphrase, for a removal or a device let in; else an error ending
/// with what was not done (`undone`).
fn current_passphrase(undone: &str) -> Result<String> {
    passphrase(false)?.ok_or_else(|| {
        anyhow!(
            "type the workspace's passphrase in a terminal, or set RESNOTES_PASSPHRASE; {undone}"
        )
    })
}

/// `passphrase enter`: the newest key from a target's key file, then a sync that reads what it
/// opens.
fn enter_passphrase(ws: &mut Workspace, quiet: bool) -> Result<ExitCode> {
    let Some(p) = passphrase(false)? else {
        return Err(anyhow!("type the passphrase in a terminal, or set RESNOTES_PASSPHRASE"));
    };
    if ws.enter_passphrase(&p)? {
        eprintln!("This device now has the workspace's newest key; syncing reads what was written with it.");
    } else {
        eprintln!("This device already had the workspace's newest key.");
    }
    sync_once(ws, quiet, false)
}

fn sync_once(ws: &mut Workspace, quiet: bool, json: bool) -> Result<ExitCode> {
    if ws.targets()?.is_empty() {
        return Err(anyhow!("no sync target yet: add one with `resnotes target add folder PATH`"));
    }
    let mut shown = progress::SyncProgress::new(quiet);
    let reports = ws.sync_all(&mut |ev| shown.event(&ev))?;
    drop(shown);
    let code = report(&reports);
    let mut shown = progress::SyncProgress::new(quiet);
    let assets = ws.sync_assets(&|| false, &mut |ev| shown.event(&ev))?;
    drop(shown);
    if json {
        let both = serde_json::json!({ "notes": reports, "attachments": assets });
        out!("{}", serde_json::to_string_pretty(&both)?);
    }
    Ok(worst(code, report_assets(&assets)))
}

/// The worse of two exit statuses: failed, then partial, then success.
fn worst(a: ExitCode, b: ExitCode) -> ExitCode {
    let rank = |c: &ExitCode| match c {
        c if *c == ExitCode::SUCCESS => 0,
        c if *c == ExitCode::from(PARTIAL) => 1,
        _ => 2,
    };
    if rank(&b) > rank(&a) {
        b
    } else {
        a
    }
}

/// `sync --watch`: the engine's background sync until Ctrl-C.
fn sync_watch(dir: &Path, interval: u64) -> Result<()> {
    let opts =
        WatchOptions { poll_interval: Duration::from_secs(interval.max(1)), ..Default::default() };
    let poll = opts.poll_interval;
    let targets = Workspace::open(dir)?.targets()?.len();
    let sup = Supervisor::start(dir, opts, poll, Box::new(WatchPrinter), Box::new(AssetPrinter))?;
    ctrlc::set_handler(sup.stopper()).context("cannot install the Ctrl-C handler")?;
    eprintln!("Watching {targets} target(s); press Ctrl-C to stop.");
    sup.join()?;
    eprintln!("Stopped.");
    Ok(())
}

fn asset(ws: &Workspace, command: AssetCommand, quiet: bool) -> Result<ExitCode> {
    match command {
        AssetCommand::Get { url, out } => {
            let r = AssetRef::parse(url.trim())?;
            let mut shown = progress::SyncProgress::new(quiet);
            ws.save_asset(&r, &out, &mut |ev| shown.event(&ev))?;
            drop(shown);
            eprintln!("Saved {} ({} bytes, SHA-256 checked) to {}", r.name, r.size, out.display());
        }
        AssetCommand::List { json } => {
            let list = ws.assets()?;
            if json {
                out!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                for a in list {
                    let states: Vec<String> =
                        a.targets.iter().map(|s| format!("{}:{}", s.target, s.state)).collect();
                    out!(
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
        AssetCommand::Sync => {
            let mut shown = progress::SyncProgress::new(quiet);
            let assets = ws.sync_assets(&|| false, &mut |ev| shown.event(&ev))?;
            drop(shown);
            return Ok(report_assets(&assets));
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn max_attachment(ws: &Workspace, mib: Option<u64>) -> Result<()> {
    if let Some(m) = mib {
        let bytes = m.checked_mul(1 << 20).ok_or_else(|| anyhow!("{m} MiB is too large"))?;
        ws.set_max_attachment_bytes(bytes)?;
    }
    out!("{}", ws.max_attachment_bytes()? >> 20);
    Ok(())
}

fn status(ws: &Workspace, json: bool) -> Result<()> {
    let st = ws.status()?;
    if json {
        out!("{}", serde_json::to_string_pretty(&st)?);
        return Ok(());
    }
    out!(
        "workspace {}  device {}  ({})",
        st.workspace_id,
        st.client_id,
        if st.encrypted { "encrypted" } else { "PLAINTEXT" }
    );
    out!(
        "{}, {}, {} pending{}",
        words::count(st.notes, "note", "notes"),
        words::count(st.entries, "log entry", "log entries"),
        st.pending,
        if st.fewer_files { "; fewer files (packs replace single files)" } else { "" }
    );
    for t in st.targets {
        out!(
            "{} {} {}: {} pending, {} synced, last sync {}",
            t.id,
            t.kind.as_str(),
            t.location,
            t.pending,
            t.synced,
            t.last_ok.map(time).unwrap_or_else(|| "never".into())
        );
        if let Some(e) = t.last_error {
            out!("  last problem: {e}");
        }
        for e in t.entry_errors {
            out!("  waiting: {}", e.message);
        }
    }
    for l in st.left_out {
        let note = l.title.filter(|t| !t.is_empty()).unwrap_or_else(|| l.note_id[..8].to_string());
        out!("left out of note \"{note}\": a change from another device ({})", l.reason);
    }
    for w in st.withheld {
        out!("missing: {} (known since {})", w.message, time(w.since));
    }
    if st.needs_new_passphrase {
        out!("The workspace's passphrase was changed on another device, or this device was removed from the workspace: if it is still one of yours, type the current passphrase here (resnotes passphrase enter) to read what was written since.");
    }
    let devices = ws.devices()?;
    if devices.iter().any(|d| d.this_device && d.held_back) {
        out!("This device joined around the time a device was removed from the workspace, so your other devices hold back its changes until you let it in on one of them (resnotes device let-in {}).", &ws.client_id().to_string()[..8]);
    }
    for d in devices.iter().filter(|d| d.held_back && !d.this_device) {
        out!("A device you do not know yet ({}) joined around the time a device was removed: its changes are held back. If it is yours, let it in (resnotes device let-in {}); else remove it.", &d.id[..8], &d.id[..8]);
    }
    if let Some(me) = devices.into_iter().find(|d| d.this_device && d.removed_at.is_some()) {
        out!(
            "This device was removed from the workspace {} by {}: what you write here no longer reaches your other devices. To use it again, join the workspace again in another data dir.",
            time(me.removed_at.unwrap_or_default()),
            me.removed_by.as_deref().unwrap_or("another device")
        );
    }
    Ok(())
}

fn log(ws: &Workspace, json: bool, limit: usize) -> Result<()> {
    let items = ws.log_items(limit)?;
    if json {
        out!("{}", serde_json::to_string_pretty(&items)?);
        return Ok(());
    }
    for i in items {
        let states: Vec<String> =
            i.targets.iter().map(|s| format!("{}:{}", s.target, s.state)).collect();
        out!(
            "{} #{:<6} {} {:>6} B  {}{}",
            &i.client[..8],
            i.index,
            time(i.timestamp),
            i.size,
            states.join(" "),
            if i.own { "  (this device)" } else { "" }
        );
    }
    Ok(())
}

fn target(ws: &Workspace, command: TargetCommand) -> Result<()> {
    match command {
        TargetCommand::Add { kind } => {
            let spec = match kind {
                TargetKindArg::Folder { path } => target_spec(Some(&path), None, None, false)?,
                TargetKindArg::Webdav { url, user, allow_http } => {
                    target_spec(None, Some(&url), user, allow_http)?
                }
                TargetKindArg::S3 { url, access_key } => Some(s3_spec(&url, access_key)?),
            }
            .ok_or_else(|| anyhow!("give a folder or a URL"))?;
            let pass = if ws.manifest_known()? { None } else { passphrase(true)? };
            let (target, stored) = setup::share(ws, &spec, pass.as_deref(), scrypt_log_n())?;
            note_credentials(stored);
            out!("{}", target.id);
        }
        TargetCommand::List { json } => {
            let ts = ws.targets()?;
            if json {
                out!("{}", serde_json::to_string_pretty(&ts)?);
            } else {
                for t in ts {
                    out!("{} {} {}", t.id, t.kind.as_str(), t.location);
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
            eprintln!("Removed target {} ({}); its files were left in place.", t.id, t.location);
        }
    }
    Ok(())
}

/// Prints a sync's outcome: 0 when every target is in step, 1 when one failed, 3 when some
/// entries had problems.
fn report(reports: &[TargetReport]) -> ExitCode {
    print_reports(reports, |r| match &r.error {
        Some(e) if e.contains(&r.location) => eprintln!("error: {e}"),
        Some(e) => eprintln!("error: {}: {e}", r.location),
        None => eprintln!("{}: pulled {}, pushed {}", r.location, r.pulled, r.pushed),
    })
}

/// Prints an attachment sync's outcome (exit status as for [`report`]).
fn report_assets(reports: &[TargetReport]) -> ExitCode {
    print_reports(reports, |r| match &r.error {
        Some(e) => eprintln!("error: attachments: {e}"),
        None if r.pulled + r.pushed > 0 => {
            eprintln!("{}: attachments downloaded {}, uploaded {}", r.location, r.pulled, r.pushed)
        }
        None => {}
    })
}

/// Prints each report with `line`, then its problems; 1 when any failed, 3 when any had
/// problems, else 0.
fn print_reports(reports: &[TargetReport], line: impl Fn(&TargetReport)) -> ExitCode {
    let mut failed = false;
    let mut problems = false;
    for r in reports {
        line(r);
        failed |= r.error.is_some();
        problems |= !r.problems.is_empty();
        for p in &r.problems {
            eprintln!("warning: {p}");
        }
    }
    if failed {
        ExitCode::FAILURE
    } else if problems {
        ExitCode::from(PARTIAL)
    } else {
        ExitCode::SUCCESS
    }
}

/// Prints a problem a loop of `sync --watch` met as a warning on stderr.
fn warn_problem(ev: SyncEvent) {
    if let SyncEvent::Problem { message, .. } = ev {
        eprintln!("warning: {message}");
    }
}

/// Prints what the notes loop of `sync --watch` does to stderr.
struct WatchPrinter;

impl Observer for WatchPrinter {
    fn event(&mut self, ev: SyncEvent) {
        warn_problem(ev)
    }

    fn cycle(&mut self, wake: Wake, reports: &[TargetReport], retry_in: Option<Duration>) {
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

    fn stopped(&mut self, error: &resnotes_core::Error) {
        eprintln!("error: sync stopped: {error}");
    }
}

/// Prints what the attachments loop of `sync --watch` does to stderr.
struct AssetPrinter;

impl Observer for AssetPrinter {
    fn event(&mut self, ev: SyncEvent) {
        warn_problem(ev)
    }

    fn cycle(&mut self, _: Wake, reports: &[TargetReport], _: Option<Duration>) {
        for r in reports.iter().filter(|r| r.pulled + r.pushed > 0 || r.error.is_some()) {
            eprintln!(
                "[attachments] {}: downloaded {}, uploaded {}{}",
                r.location,
                r.pulled,
                r.pushed,
                r.error.as_ref().map(|e| format!(" — error: {e}")).unwrap_or_default()
            );
        }
    }
}
