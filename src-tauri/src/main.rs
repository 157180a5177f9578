//! Resilient Notes desktop app: finds the data dir, makes sure only one app runs on it, opens
//! (or creates) the local workspace, starts background sync and serves the UI's commands.
//! Everything a command does is in `resnotes-core`; this crate only wires it to the window.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod background;
mod commands;
mod instance;
mod ipc;
mod menu;
mod navigation;
mod protocol;
mod state;
mod transfer;

use std::path::PathBuf;
use std::process::ExitCode;

use resnotes_core::diagnostics;
use resnotes_core::Workspace;
use resnotes_core::{default_data_dir, system_clock};

const USAGE: &str = "usage: resilient-notes [--data-dir DIR]\n\nOpens Resilient Notes on DIR (default: RESNOTES_DATA_DIR, else the user's app-data dir).";

/// `--data-dir DIR` / `--data-dir=DIR`; other arguments (some added by WebDriver) are ignored.
fn data_dir_arg(args: impl Iterator<Item = String>) -> Result<Option<PathBuf>, String> {
    let mut args = args.peekable();
    while let Some(a) = args.next() {
        if a == "--help" || a == "-h" {
            return Err(USAGE.into());
        }
        if a == "--data-dir" {
            return args
                .next()
                .map(|d| Some(PathBuf::from(d)))
                .ok_or_else(|| format!("--data-dir needs a folder\n\n{USAGE}"));
        }
        if let Some(d) = a.strip_prefix("--data-dir=") {
            return Ok(Some(PathBuf::from(d)));
        }
    }
    Ok(std::env::var_os("RESNOTES_DATA_DIR").map(PathBuf::from))
}

/// Logging: warnings on stderr, and warnings, errors and sync outcomes (info) in the data dir's
/// log, one file a day, a week kept (`RESNOTES_LOG` sets both, e.g. `debug`). The log is for
/// bug reports ("Copy diagnostics" quotes its problems): the engine's sentences, never a note's
/// text or a secret.
fn start_logging(dir: &std::path::Path) {
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    use tracing_subscriber::{fmt, EnvFilter, Layer as _};
    let filter = |default: &str| {
        EnvFilter::try_from_env("RESNOTES_LOG").unwrap_or_else(|_| EnvFilter::new(default))
    };
    let file = tracing_appender::rolling::Builder::new()
        .rotation(tracing_appender::rolling::Rotation::DAILY)
        .filename_prefix(diagnostics::LOG_PREFIX)
        .filename_suffix("log")
        .max_log_files(diagnostics::LOG_DAYS)
        .build(dir.join(diagnostics::LOG_DIR));
    let to_file = match file {
        Ok(file) => Some(
            fmt::layer()
                .with_ansi(false)
                .with_writer(file)
                .with_filter(filter("warn,resilient_notes=info")),
        ),
        Err(e) => {
            eprintln!("warning: no log file in {}: {e}", dir.display());
            None
        }
    };
    tracing_subscriber::registry()
        .with(fmt::layer().with_writer(std::io::stderr).with_filter(filter("warn")))
        .with(to_file)
        .init();
}

fn main() -> ExitCode {
    resnotes_core::quiet_caught_panics();
    let dir = match data_dir_arg(std::env::args().skip(1)) {
        Ok(Some(d)) => d,
        Ok(None) => match default_data_dir() {
            Some(d) => d,
            None => {
                eprintln!("error: cannot find an app-data dir for this user; pass --data-dir DIR");
                return ExitCode::FAILURE;
            }
        },
        Err(msg) => {
            eprintln!("{msg}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("error: cannot create the data dir {}: {e}", dir.display());
        return ExitCode::FAILURE;
    }
    start_logging(&dir);
    let about = commands::about();
    tracing::info!("{} started on {}", about.program, about.system);
    let listener = match instance::claim(&dir) {
        instance::Claim::First(l) => l,
        instance::Claim::Running => {
            eprintln!(
                "Resilient Notes is already open on {}; its window was brought to the front.",
                dir.display()
            );
            return ExitCode::SUCCESS;
        }
    };
    let opened = match Workspace::open(&dir) {
        Err(resnotes_core::Error::NoWorkspace(_)) => Workspace::init(&dir, false, system_clock()),
        other => other,
    };
    let ws = match opened {
        Ok(mut ws) => {
            // A device that has no name takes the computer's (Settings changes it).
            if let Some(host) = commands::host_name() {
                if let Err(e) = ws.name_if_unnamed(&host) {
                    tracing::warn!("could not name this device: {e}");
                }
            }
            ws
        }
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = tauri::Builder::default()
        .plugin(tauri_plugin_dialog::init())
        .plugin(tauri_plugin_opener::init())
        .plugin(navigation::guard())
        .register_asynchronous_uri_scheme_protocol(protocol::SCHEME, |ctx, request, responder| {
            protocol::handle(ctx.app_handle(), request, responder)
        })
        .manage(state::AppState::new(dir, ws))
        .on_window_event(|window, event| {
            // Files dropped from the desktop: the only paths besides a dialog's that may be
            // attached (the webview's drop event hands JavaScript the same paths).
            if let tauri::WindowEvent::DragDrop(tauri::DragDropEvent::Drop { paths, .. }) = event {
                tauri::Manager::state::<state::AppState>(window).grant(paths.iter().cloned());
            }
        })
        .setup(move |app| {
            background::start(app.handle());
            #[cfg(target_os = "linux")]
            if let Some(w) = tauri::Manager::get_webview_window(app, "main") {
                w.with_webview(|w| menu::prepare(&w.inner()))?;
            }
            if let Some(l) = listener {
                instance::serve(l, app.handle().clone());
            }
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            transfer::import_notes,
            transfer::export_notes,
            transfer::stop_transfer,
            commands::list_notes,
            commands::get_note,
            commands::create_note,
            commands::edit_note,
            commands::delete_note,
            commands::restore_note,
            commands::trash_notes,
            commands::empty_trash,
            commands::list_tags,
            commands::list_devices,
            commands::name_device,
            commands::invite_device,
            commands::cancel_invite,
            commands::change_passphrase,
            commands::enter_passphrase,
            commands::remove_device,
            commands::let_in_device,
            commands::copy_text,
            commands::rename_tag,
            commands::list_notebooks,
            commands::add_notebook,
            commands::rename_notebook,
            commands::move_notebook,
            commands::delete_notebook,
            commands::move_note,
            commands::set_pinned,
            commands::retag,
            commands::linked_notes,
            commands::backlinks,
            commands::note_history,
            commands::note_version,
            commands::compare_versions,
            commands::restore_version,
            commands::recent_changes,
            commands::keep_texts,
            commands::seen_merge,
            commands::index_for_search,
            commands::sync_status,
            commands::log_entries,
            commands::inspect_target,
            commands::create_folder,
            commands::passphrase_strength,
            commands::share_target,
            commands::join_target,
            commands::remove_target,
            commands::verify_target,
            commands::copy_diagnostics,
            commands::sync_now,
            commands::attach_bytes,
            commands::attach_path,
            commands::choose_attachments,
            commands::paste_image,
            commands::asset_local,
            commands::fetch_asset,
            commands::save_asset,
            commands::open_asset,
            commands::list_assets,
            commands::set_keep_attachments,
            commands::use_fewer_files,
            commands::open_link,
        ])
        .run(tauri::generate_context!());
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: the window could not be shown: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_dir_argument_forms() {
        let parse = |a: &[&str]| data_dir_arg(a.iter().map(|s| s.to_string()));
        assert_eq!(parse(&["--data-dir", "/x"]).unwrap(), Some(PathBuf::from("/x")));
        assert_eq!(parse(&["--automation", "--data-dir=/y"]).unwrap(), Some(PathBuf::from("/y")));
        assert!(parse(&["--data-dir"]).is_err());
        assert!(parse(&["--help"]).is_err());
    }
}
