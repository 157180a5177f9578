//! Targets of this device (table `targets`), what each is known to hold (`remote_present`) and
//! the entries that could not be read from it (`entry_errors`).

use rusqlite::{params, Connection, OptionalExtension};
use uuid::Uuid;

use super::Result;

/// A row of the targets table.
pub(crate) struct TargetRow {
    pub(crate) id: String,
    /// The kind's stored name (`TargetKind::as_str`).
    pub(crate) kind: String,
    pub(crate) location: String,
    pub(crate) username: Option<String>,
    /// "Keep all attachments offline"; `None`: the kind's default.
    pub(crate) keep_assets: Option<bool>,
}

/// Adds a target.
pub(crate) fn insert(
    conn: &Connection,
    id: &str,
    kind: &str,
    location: &str,
    now: i64,
) -> Result<()> {
    conn.execute(
        "INSERT INTO targets (id, kind, location, added_at) VALUES (?1, ?2, ?3, ?4)",
        params![id, kind, location, now],
    )?;
    Ok(())
}

/// Every target, oldest first.
pub(crate) fn all(conn: &Connection) -> Result<Vec<TargetRow>> {
    let mut st = conn.prepare_cached(
        "SELECT id, kind, location, username, keep_assets FROM targets ORDER BY added_at, id",
    )?;
    let rows = st.query_map([], |r| {
        Ok(TargetRow {
            id: r.get(0)?,
            kind: r.get(1)?,
            location: r.get(2)?,
            username: r.get(3)?,
            keep_assets: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Sets the user name a target is reached with.
pub(crate) fn set_username(conn: &Connection, id: &str, username: Option<&str>) -> Result<()> {
    conn.execute("UPDATE targets SET username = ?1 WHERE id = ?2", params![username, id])?;
    Ok(())
}

/// Turns "keep all attachments offline" on or off.
pub(crate) fn set_keep_assets(conn: &Connection, id: &str, on: bool) -> Result<()> {
    conn.execute("UPDATE targets SET keep_assets = ?1 WHERE id = ?2", params![on, id])?;
    Ok(())
}

/// Removes a target and everything known of it, in one transaction.
pub(crate) fn delete(conn: &Connection, id: &str) -> Result<()> {
    let tx = conn.unchecked_transaction()?;
    for table in [
        "remote_present",
        "entry_errors",
        "asset_present",
        "packs_done",
        "packs_thinned",
        "packs_unusable",
    ] {
        tx.execute(&format!("DELETE FROM {table} WHERE target_id = ?1"), [id])?;
    }
    tx.execute("DELETE FROM targets WHERE id = ?1", [id])?;
    tx.commit()?;
    Ok(())
}

/// How a target's last cycle ended, as the sync panel shows it.
pub(crate) enum Outcome<'a> {
    /// In step.
    Ok,
    /// Reached, but some entries had problems (joined into one message).
    Problems(&'a str),
    /// Not reached, or stopped by an error.
    Failed(&'a str),
}

/// Records the end of a cycle with a target at `now`.
pub(crate) fn record_outcome(
    conn: &Connection,
    id: &str,
    outcome: Outcome<'_>,
    now: i64,
) -> Result<()> {
    match outcome {
        Outcome::Ok => conn.execute(
            "UPDATE targets SET last_ok = ?1, last_error = NULL, last_error_at = NULL WHERE id = ?2",
            params![now, id],
        )?,
        Outcome::Problems(msg) => conn.execute(
            "UPDATE targets SET last_ok = ?1, last_error = ?2, last_error_at = ?1 WHERE id = ?3",
            params![now, msg, id],
        )?,
        Outcome::Failed(msg) => conn.execute(
            "UPDATE targets SET last_error = ?1, last_error_at = ?2 WHERE id = ?3",
            params![msg, now, id],
        )?,
    };
    Ok(())
}

/// `(last_ok, last_error, last_error_at)` of a target.
pub(crate) fn last_outcome(
    conn: &Connection,
    id: &str,
) -> Result<(Option<i64>, Option<String>, Option<i64>)> {
    Ok(conn.query_row(
        "SELECT last_ok, last_error, last_error_at FROM targets WHERE id = ?1",
        [id],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?)
}

/// An entry that could not be read from a target: `(client, index, message, attempts)`.
pub(crate) type EntryErrorRow = (String, u64, String, u64);

/// The entries that could not be read from a target, by client and index.
pub(crate) fn entry_errors(conn: &Connection, id: &str) -> Result<Vec<EntryErrorRow>> {
    let mut st = conn.prepare_cached(
        "SELECT client_id, idx, message, attempts FROM entry_errors WHERE target_id = ?1 ORDER BY client_id, idx",
    )?;
    let rows = st.query_map([id], |r| {
        Ok((r.get(0)?, r.get::<_, i64>(1)? as u64, r.get(2)?, r.get::<_, i64>(3)? as u64))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Where a target stands for a client: the highest index known to be there.
pub(crate) fn remote_upto(conn: &Connection, target: &str, client: &Uuid) -> Result<Option<u64>> {
    Ok(conn
        .query_row(
            "SELECT upto FROM remote_present WHERE target_id = ?1 AND client_id = ?2",
            params![target, client.to_string()],
            |r| r.get::<_, i64>(0),
        )
        .optional()?
        .map(|v| v as u64))
}

/// Records (or clears, with `None`) how far a target holds a client's entries.
pub(crate) fn set_remote_upto(
    conn: &Connection,
    target: &str,
    client: &Uuid,
    upto: Option<u64>,
) -> Result<()> {
    match upto {
        Some(u) => conn.execute(
            "INSERT INTO remote_present (target_id, client_id, upto) VALUES (?1, ?2, ?3) ON CONFLICT(target_id, client_id) DO UPDATE SET upto = excluded.upto",
            params![target, client.to_string(), u as i64],
        )?,
        None => conn.execute("DELETE FROM remote_present WHERE target_id = ?1 AND client_id = ?2", params![target, client.to_string()])?,
    };
    Ok(())
}

/// Records an entry that could not be read from a target (attempts are counted).
pub(crate) fn record_entry_error(
    conn: &Connection,
    target: &str,
    client: &Uuid,
    index: u64,
    message: &str,
    now: i64,
) -> Result<()> {
    conn.execute(
        "INSERT INTO entry_errors (target_id, client_id, idx, message, attempts, last_at) VALUES (?1, ?2, ?3, ?4, 1, ?5)
         ON CONFLICT(target_id, client_id, idx) DO UPDATE SET message = excluded.message, attempts = attempts + 1, last_at = excluded.last_at",
        params![target, client.to_string(), index as i64, message, now],
    )?;
    Ok(())
}

/// Marks a recorded entry error as a refusal of the file whose bytes hash to `digest`.
pub(crate) fn set_refused(
    conn: &Connection,
    target: &str,
    client: &Uuid,
    index: u64,
    digest: &[u8; 32],
) -> Result<()> {
    conn.execute(
        "UPDATE entry_errors SET refused = ?4 WHERE target_id = ?1 AND client_id = ?2 AND idx = ?3",
        params![target, client.to_string(), index as i64, &digest[..]],
    )?;
    Ok(())
}

/// A client's refused entries on a target: index → SHA-256 of the refused file.
pub(crate) fn refused(
    conn: &Connection,
    target: &str,
    client: &Uuid,
) -> Result<std::collections::HashMap<u64, [u8; 32]>> {
    let mut st = conn.prepare_cached(
        "SELECT idx, refused FROM entry_errors WHERE target_id = ?1 AND client_id = ?2 AND refused IS NOT NULL",
    )?;
    let rows = st.query_map(params![target, client.to_string()], |r| {
        Ok((r.get::<_, i64>(0)? as u64, r.get::<_, Vec<u8>>(1)?))
    })?;
    let mut out = std::collections::HashMap::new();
    for row in rows {
        let (i, d) = row?;
        if let Ok(d) = <[u8; 32]>::try_from(d.as_slice()) {
            out.insert(i, d);
        }
    }
    Ok(out)
}

/// Forgets errors of a client's entries on a target up to `index` (they were read fine since).
pub(crate) fn clear_entry_errors(
    conn: &Connection,
    target: &str,
    client: &Uuid,
    upto: u64,
) -> Result<()> {
    conn.execute(
        "DELETE FROM entry_errors WHERE target_id = ?1 AND client_id = ?2 AND idx <= ?3",
        params![target, client.to_string(), upto as i64],
    )?;
    Ok(())
}
