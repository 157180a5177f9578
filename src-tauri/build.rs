// Generates Tauri's context and an allow/deny permission per app command, so the capability
// in capabilities/main.json lists exactly the commands the UI may call.
fn main() {
    tauri_build::try_build(tauri_build::Attributes::new().app_manifest(tauri_build::AppManifest::new().commands(&[
        "list_notes",
        "get_note",
        "create_note",
        "edit_note",
        "delete_note",
        "restore_note",
        "sync_status",
        "log_entries",
        "inspect_folder",
        "passphrase_strength",
        "share_folder",
        "join_folder",
        "remove_target",
        "sync_now",
    ])))
    .expect("tauri build step failed");
}
