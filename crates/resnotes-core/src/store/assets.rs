//! Attachments this device knows of: the index of its sealed asset files (`assets`; the files
//! in `<data-dir>/assets/` are the truth), which targets hold which (`asset_present`), and the
//! `asset:///` links read from note bodies (`note_assets`, `asset_scan`: derived).

use std::collections::BTreeSet;

use rusqlite::{params, Connection, OptionalExtension};
use uuid::Uuid;

use super::Result;
use crate::format::asset::{AssetId, AssetRef};

/// `complete` of an asset's row: `None` without a row, `Some(false)` while its file is being
/// written.
pub(crate) fn complete(conn: &Connection, id: &AssetId) -> Result<Option<bool>> {
    Ok(conn
        .query_row(
            "SELECT complete FROM assets WHERE client_id = ?1 AND idx = ?2",
            params![id.client.to_string(), id.index as i64],
            |r| r.get(0),
        )
        .optional()?)
}

/// The hash an asset's row records.
pub(crate) fn hash(conn: &Connection, id: &AssetId) -> Result<Option<Vec<u8>>> {
    Ok(conn
        .query_row(
            "SELECT hash FROM assets WHERE client_id = ?1 AND idx = ?2",
            params![id.client.to_string(), id.index as i64],
            |r| r.get(0),
        )
        .optional()?)
}

/// One more than the highest asset index of `client` with a row (0 for none).
pub(crate) fn next_index(conn: &Connection, client: &Uuid) -> Result<u64> {
    Ok(conn.query_row(
        "SELECT COALESCE(MAX(idx) + 1, 0) FROM assets WHERE client_id = ?1",
        [client.to_string()],
        |r| r.get::<_, i64>(0),
    )? as u64)
}

/// Writes an asset's row: `complete` false reserves the index before its file is written; a
/// row for the same asset is updated (a download completing it).
pub(crate) fn put(conn: &Connection, r: &AssetRef, complete: bool, added_at: i64) -> Result<()> {
    conn.execute(
        "INSERT INTO assets (client_id, idx, hash, size, name, mime, complete, added_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT(client_id, idx) DO UPDATE SET hash = excluded.hash, size = excluded.size, complete = excluded.complete",
        params![r.id.client.to_string(), r.id.index as i64, &r.hash[..], r.size as i64, r.name, r.mime, complete, added_at],
    )?;
    Ok(())
}

/// Replaces an asset's row whole (rebuilding from the sealed files).
pub(crate) fn replace(conn: &Connection, r: &AssetRef, added_at: i64) -> Result<()> {
    conn.execute(
        "INSERT OR REPLACE INTO assets (client_id, idx, hash, size, name, mime, complete, added_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7)",
        params![r.id.client.to_string(), r.id.index as i64, &r.hash[..], r.size as i64, r.name, r.mime, added_at],
    )?;
    Ok(())
}

/// Marks an asset's file written.
pub(crate) fn mark_complete(conn: &Connection, id: &AssetId) -> Result<()> {
    conn.execute(
        "UPDATE assets SET complete = 1 WHERE client_id = ?1 AND idx = ?2",
        params![id.client.to_string(), id.index as i64],
    )?;
    Ok(())
}

/// The oldest complete asset with this content, as `(id, name, mime)`.
pub(crate) fn by_content(
    conn: &Connection,
    hash: &[u8; 32],
    size: u64,
) -> Result<Option<(AssetId, String, String)>> {
    let row: Option<(String, i64, String, String)> = conn
        .query_row(
            "SELECT client_id, idx, name, mime FROM assets WHERE hash = ?1 AND size = ?2 AND complete = 1 ORDER BY added_at LIMIT 1",
            params![&hash[..], size as i64],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    Ok(row.and_then(|(c, i, name, mime)| {
        Uuid::parse_str(&c).ok().map(|client| (AssetId { client, index: i as u64 }, name, mime))
    }))
}

/// Every complete asset row, oldest first.
pub(crate) fn complete_rows(conn: &Connection) -> Result<Vec<AssetRef>> {
    let mut st = conn.prepare(
        "SELECT client_id, idx, hash, size, name, mime FROM assets WHERE complete = 1 ORDER BY added_at, client_id, idx",
    )?;
    let rows = st.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, Vec<u8>>(2)?,
            r.get::<_, i64>(3)?,
            r.get::<_, String>(4)?,
            r.get::<_, String>(5)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (c, i, h, size, name, mime) = row?;
        if let (Ok(client), Ok(hash)) = (Uuid::parse_str(&c), <[u8; 32]>::try_from(h)) {
            out.push(AssetRef {
                id: AssetId { client, index: i as u64 },
                name,
                size: size as u64,
                mime,
                hash,
            });
        }
    }
    Ok(out)
}

/// The assets known to be on a target.
pub(crate) fn present_on(conn: &Connection, target: &str) -> Result<BTreeSet<AssetId>> {
    ids(conn, "SELECT client_id, idx FROM asset_present WHERE target_id = ?1", [target])
}

/// Records that a target holds an asset.
pub(crate) fn mark_present(conn: &Connection, target: &str, id: &AssetId) -> Result<()> {
    conn.execute(
        "INSERT OR IGNORE INTO asset_present (target_id, client_id, idx) VALUES (?1, ?2, ?3)",
        params![target, id.client.to_string(), id.index as i64],
    )?;
    Ok(())
}

/// Takes back the mark that a target holds an asset (it was found missing there), so the next
/// asset cycle uploads it again.
pub(crate) fn forget_present(conn: &Connection, target: &str, id: &AssetId) -> Result<()> {
    conn.execute(
        "DELETE FROM asset_present WHERE target_id = ?1 AND client_id = ?2 AND idx = ?3",
        params![target, id.client.to_string(), id.index as i64],
    )?;
    Ok(())
}

/// The assets linked from live notes.
pub(crate) fn linked_from_live_notes(conn: &Connection) -> Result<BTreeSet<AssetId>> {
    ids(
        conn,
        "SELECT DISTINCT a.client_id, a.idx FROM note_assets a JOIN notes n ON n.id = a.note_id WHERE n.deleted = 0",
        [],
    )
}

fn ids(conn: &Connection, sql: &str, params: impl rusqlite::Params) -> Result<BTreeSet<AssetId>> {
    let mut st = conn.prepare(sql)?;
    let rows = st.query_map(params, |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
    let mut out = BTreeSet::new();
    for row in rows {
        let (c, i) = row?;
        if let Ok(client) = Uuid::parse_str(&c) {
            out.insert(AssetId { client, index: i as u64 });
        }
    }
    Ok(out)
}

/// The first link to an asset found in a note, if any.
pub(crate) fn link_to(conn: &Connection, id: &AssetId) -> Result<Option<String>> {
    Ok(conn
        .query_row(
            "SELECT url FROM note_assets WHERE client_id = ?1 AND idx = ?2 LIMIT 1",
            params![id.client.to_string(), id.index as i64],
            |r| r.get(0),
        )
        .optional()?)
}

/// The first link to content with this hash found in a note, if any.
pub(crate) fn link_with_hash(conn: &Connection, hash: &[u8; 32]) -> Result<Option<String>> {
    Ok(conn
        .query_row("SELECT url FROM note_assets WHERE hash = ?1 LIMIT 1", [&hash[..]], |r| r.get(0))
        .optional()?)
}

/// Every distinct link found in notes, by asset.
pub(crate) fn all_links(conn: &Connection) -> Result<Vec<String>> {
    let mut st = conn.prepare("SELECT DISTINCT url FROM note_assets ORDER BY client_id, idx")?;
    let urls = st.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
    Ok(urls)
}

/// How many live notes link to an asset.
pub(crate) fn linking_notes(conn: &Connection, id: &AssetId) -> Result<u64> {
    Ok(conn.query_row(
        "SELECT COUNT(DISTINCT a.note_id) FROM note_assets a JOIN notes n ON n.id = a.note_id WHERE a.client_id = ?1 AND a.idx = ?2 AND n.deleted = 0",
        params![id.client.to_string(), id.index as i64],
        |row| row.get::<_, i64>(0),
    )? as u64)
}

/// Notes whose links were not read at their current revision: `(id, rev)`, listed notes (no
/// stored document) first in the order of their summaries' entries.
pub(crate) fn unscanned(conn: &Connection) -> Result<Vec<(String, i64)>> {
    let mut st = conn.prepare(
        "SELECT n.id, n.rev FROM notes n LEFT JOIN asset_scan s ON s.note_id = n.id WHERE s.rev IS NULL OR s.rev != n.rev
         ORDER BY EXISTS (SELECT 1 FROM docs d WHERE d.note_id = n.id), n.hint_client, n.hint_idx",
    )?;
    let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Replaces the links of a note with `refs`, read at revision `rev`.
pub(crate) fn set_links(conn: &Connection, note: &str, rev: i64, refs: &[AssetRef]) -> Result<()> {
    conn.execute("DELETE FROM note_assets WHERE note_id = ?1", [note])?;
    for r in refs {
        conn.execute(
            "INSERT OR IGNORE INTO note_assets (note_id, client_id, idx, hash, url) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![note, r.id.client.to_string(), r.id.index as i64, &r.hash[..], r.to_url()],
        )?;
    }
    conn.execute(
        "INSERT INTO asset_scan (note_id, rev) VALUES (?1, ?2) ON CONFLICT(note_id) DO UPDATE SET rev = excluded.rev",
        params![note, rev],
    )?;
    Ok(())
}

/// Whether any target is known to hold an asset.
pub(crate) fn present_anywhere(conn: &Connection, id: &AssetId) -> Result<bool> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM asset_present WHERE client_id = ?1 AND idx = ?2)",
        params![id.client.to_string(), id.index as i64],
        |r| r.get(0),
    )?)
}

/// Removes an asset's row (its file is removed by the caller).
pub(crate) fn remove(conn: &Connection, id: &AssetId) -> Result<()> {
    conn.execute(
        "DELETE FROM assets WHERE client_id = ?1 AND idx = ?2",
        params![id.client.to_string(), id.index as i64],
    )?;
    Ok(())
}

/// Drops every attachment table (a rebuild reads them again from the files and notes).
pub(crate) fn clear(conn: &Connection) -> Result<()> {
    conn.execute_batch(
        "DELETE FROM note_assets; DELETE FROM asset_scan; DELETE FROM asset_present; DELETE FROM assets;",
    )?;
    Ok(())
}
