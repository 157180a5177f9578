// Generates Tauri's context and an allow/deny permission per app command, so the capability
// in capabilities/main.json lists exactly the commands the UI may call.
fn main() {
    let dist = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/dist/index.html");
    println!("cargo:rerun-if-changed={}", dist.display());
    assert!(dist.exists(), "the UI is not built: run `npm ci && npm run build` in ui/ (scripts/test and scripts/run do)");
    tauri_build::try_build(tauri_build::Attributes::new().app_manifest(
        tauri_build::AppManifest::new().commands(&[
            "list_notes",
            "get_note",
            "create_note",
            "edit_note",
            "delete_note",
            "restore_note",
            "trash_notes",
            "empty_trash",
            "list_tags",
            "rename_tag",
            "list_notebooks",
            "add_notebook",
            "rename_notebook",
            "move_notebook",
            "delete_notebook",
            "move_note",
            "set_pinned",
            "retag",
            "linked_notes",
            "backlinks",
            "note_history",
            "note_version",
            "compare_versions",
            "restore_version",
            "recent_changes",
            "keep_texts",
            "index_for_search",
            "sync_status",
            "log_entries",
            "inspect_target",
            "create_folder",
            "passphrase_strength",
            "share_target",
            "join_target",
            "remove_target",
            "sync_now",
            "attach_bytes",
            "attach_path",
            "choose_attachments",
            "paste_image",
            "asset_local",
            "fetch_asset",
            "save_asset",
            "open_asset",
            "list_assets",
            "set_keep_attachments",
            "open_link",
        ]),
    ))
    .expect("tauri build step failed");
}
