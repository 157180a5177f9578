//! The `keys/` files of key epochs (FORMAT.md §5.2): the newest epoch's key under the current
//! passphrase, which a device joining with that passphrase opens. The device that changed the
//! passphrase writes it to every target it syncs with and removes the older ones it finds
//! there (they open only older epochs); every device relays the newest it has seen to its
//! other targets, as it relays entries.

use crate::docs::Replica;
use crate::error::Result;
use crate::format::epoch::{parse_wrap_name, wrap_name, EpochId, KEYS_DIR};
use crate::store;
use crate::transport::{Transport, TransportError};

impl Replica {
    /// True when `tr` holds the passphrase wrap of a key epoch this device does not hold: what
    /// an entry this device cannot decrypt most likely needs (asked only then).
    /// Only a file whose record is on the target counts: anyone who can write to the folder
    /// can put a file there, and this device would then ask its user for a passphrase for
    /// nothing. `record_path` gives where an epoch's record is.
    pub(crate) fn misses_newest_key(
        &self,
        tr: &dyn Transport,
        record_path: impl Fn(&EpochId) -> String,
    ) -> Result<bool> {
        for (_, epoch) in tr.list(KEYS_DIR)?.iter().filter_map(|n| parse_wrap_name(n)) {
            if self.keys.key(&epoch).is_none() && tr.exists(&record_path(&epoch))? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Brings `tr`'s `keys/` folder up to date: keeps the wraps found there whose name is an
    /// epoch record this device holds (name and Lamport clock as the log says), writes the
    /// newest wrap held when `tr` lacks it, and removes wraps of older epochs there. Returns a
    /// problem to report, if any.
    /// `keys_dir`: whether the target's root listing showed a `keys/` folder (an idle cycle
    /// costs no request more when there is none and this device holds no wrap).
    pub(crate) fn copy_key_wraps(
        &self,
        target: &str,
        tr: &dyn Transport,
        keys_dir: bool,
    ) -> Result<Option<String>> {
        let mut held = store::epochs::wraps(&self.conn)?;
        if !keys_dir && held.is_empty() {
            return Ok(None);
        }
        // Done for the newest epoch this device writes in: nothing to do until a newer one
        // starts (or the folder loses its keys/ folder).
        let done = format!("keys_copied:{target}");
        let current = store::epochs::newest(&self.conn)?;
        let marker = format!("{}.{}", current.client, current.index);
        if keys_dir && store::meta(&self.conn, &done)?.as_deref() == Some(marker.as_str()) {
            return Ok(None);
        }
        let found = if keys_dir { tr.list(KEYS_DIR)? } else { Vec::new() };
        for name in &found {
            let Some((lamport, record)) = parse_wrap_name(name) else { continue };
            if held.iter().any(|(n, _)| n == name)
                || self.keys.key(&record).is_none()
                || store::log::lamport_of(&self.conn, &record.client, record.index)?
                    != Some(lamport)
            {
                continue;
            }
            if let Some(bytes) = tr.read(&format!("{KEYS_DIR}/{name}"))? {
                store::epochs::keep_wrap(&self.conn, name, &bytes, self.now())?;
                held.push((name.clone(), bytes));
            }
        }
        // Only a wrap of an epoch that may be written in is relayed (not one whose record wraps
        // to a removed device or was refused): it would replace the current one everywhere.
        let mut usable = Vec::new();
        for (name, bytes) in &held {
            if let Some((l, e)) = parse_wrap_name(name) {
                if store::epochs::usable(&self.conn, &e)? {
                    usable.push(((l, e.client), name, bytes));
                }
            }
        }
        let newest = usable.into_iter().max_by_key(|(order, _, _)| *order);
        let Some(((lamport, _), name, bytes)) = newest else { return Ok(None) };
        debug_assert_eq!(parse_wrap_name(name).map(|(l, e)| wrap_name(l, &e)).as_ref(), Some(name));
        match tr.write_new(&format!("{KEYS_DIR}/{name}"), bytes) {
            Ok(_) => {}
            Err(TransportError::Conflict { .. }) => {
                return Ok(Some(format!(
                    "{} holds another file where the new passphrase's key belongs ({KEYS_DIR}/{name}); devices joining there may be told their passphrase is wrong. Move that file away; the next sync writes it again.",
                    tr.location()
                )))
            }
            Err(e) => return Err(e.into()),
        }
        for other in &found {
            if parse_wrap_name(other).is_some_and(|(l, _)| l < lamport) {
                tr.remove(&format!("{KEYS_DIR}/{other}"))?;
            }
        }
        // Done only when what was written is the newest epoch's own file (a relay may not have
        // seen that one yet).
        if parse_wrap_name(name).is_some_and(|(_, e)| e == current) {
            store::set_meta(&self.conn, &done, &marker)?;
        }
        Ok(None)
    }
}
