//! The devices of a workspace as a person knows them: the name each gave itself (its device
//! document, FORMAT.md §4.6) and when its newest changes were written. Naming this device is a
//! local edit like any other: it syncs with the notes and reaches every device.

use serde::Serialize;
use ts_rs::TS;

use crate::docs::materialize::BodyEdit;
use crate::docs::note;
use crate::error::{Error, Result};
use crate::store;
use crate::workspace::Workspace;

/// One device of the workspace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, TS)]
pub struct Device {
    /// Its clientId (for a "Details" view; people see the name).
    pub id: String,
    /// The name it gave itself; `None` until it names itself (devices of an older version).
    pub name: Option<String>,
    /// True for the device this workspace is open on.
    pub this_device: bool,
    /// When its newest entry here was written, ms since the Unix epoch, by its own clock;
    /// `None` when none has arrived (this device before its first sync).
    #[ts(type = "number | null")]
    pub last_change_at: Option<i64>,
    /// True when its entries are signed (FORMAT.md §5.1: nobody else can write as it); false
    /// for a device still running a version that does not sign, until it updates.
    pub signed: bool,
    /// The public key its newest entry is signed with, hex (for a "Details" view).
    pub signing_key: Option<String>,
    /// When it was removed from the workspace (FORMAT.md §5.2), ms since the Unix epoch by the
    /// remover's clock; `None` while it is a member. A removed device reads nothing written
    /// after that, and what it writes after it is refused.
    #[ts(type = "number | null")]
    pub removed_at: Option<i64>,
    /// The name of the device that removed it (`None`: not removed, or that device is unnamed).
    pub removed_by: Option<String>,
    /// The id of the device that removed it (`None`: not removed).
    pub removed_by_id: Option<String>,
    /// True for a device that is not admitted (FORMAT.md §5.2): it joined around the time a
    /// device was removed and no device has let it in yet, so its changes are held back until a
    /// device lets it in ([`Workspace::let_in_device`]) or removes it. For this device: the
    /// other devices hold back its changes.
    pub held_back: bool,
}

/// A name the user typed, as stored, or a sentence saying why it cannot be a device's.
fn valid_name(raw: &str) -> Result<String> {
    if raw.trim().is_empty() {
        return Err(Error::Invalid(
            "this device's name cannot be empty: type one, such as Laptop".into(),
        ));
    }
    note::device_name(raw).ok_or_else(|| {
        Error::Invalid(format!(
            "\"{}\" cannot be this device's name: it needs a letter or digit, no line breaks, and at most {} characters",
            raw.trim(),
            note::MAX_DEVICE_CHARS
        ))
    })
}

/// Puts devices in the order a person reads them: this device first, then named devices by
/// name (case ignored), then unnamed ones by id.
fn arrange(mut devices: Vec<Device>) -> Vec<Device> {
    devices.sort_by(|a, b| {
        let key = |d: &Device| {
            (
                !d.this_device,
                d.name.is_none(),
                d.name.as_deref().map(str::to_lowercase),
                d.id.clone(),
            )
        };
        key(a).cmp(&key(b))
    });
    devices
}

impl Workspace {
    /// Every device that wrote an entry this device holds, and this device, with their names.
    pub fn devices(&self) -> Result<Vec<Device>> {
        let conn = &self.replica.conn;
        let me = self.replica.client;
        let hex = |k: &[u8; 32]| crate::format::asset::hex(k);
        let mine = hex(&self.replica.device.public());
        let mut out = Vec::new();
        let removed = store::removals::removed(conn)?;
        let firsts = store::removals::first_entries(conn)?;
        let me_held_back = {
            // As every device derives it: the removals that hold, with the cutoffs they gave.
            let holding = crate::docs::removals::holding(&store::removals::named(conn)?);
            let members =
                crate::docs::removals::counting(&store::removals::members(conn)?, &holding);
            firsts
                .get(&me)
                .is_some_and(|f| crate::docs::removals::is_held_back(f, &holding, &members))
        };
        let mut newest = store::log::newest_of_each(conn)?;
        // Held-back devices whose entries this device does not hold: known by their first.
        for (id, r) in &removed {
            if r.by.is_none() && !newest.iter().any(|n| n.client == *id) {
                if let Some(f) = firsts.get(id) {
                    newest.push(store::log::Newest {
                        client: *id,
                        at: f.written_at,
                        signer: f.signer,
                    });
                }
            }
        }
        for store::log::Newest { client: id, at, signer } in newest {
            // This device signs whatever it writes next, even when its last entry was unsigned.
            let signing_key = if id == me { Some(mine.clone()) } else { signer.as_ref().map(hex) };
            let (removed_at, removed_by, removed_by_id) = match removed.get(&id).and_then(|r| r.by)
            {
                Some(by) => (
                    store::log::timestamp_of(conn, &by.client, by.index)?,
                    store::notes::device_name(conn, &by.client)?,
                    Some(by.client.to_string()),
                ),
                None => (None, None, None),
            };
            let held_back = if id == me {
                me_held_back
            } else {
                removed.get(&id).is_some_and(|r| r.by.is_none())
            };
            out.push(Device {
                id: id.to_string(),
                name: store::notes::device_name(conn, &id)?,
                this_device: id == me,
                last_change_at: Some(at),
                signed: signing_key.is_some(),
                signing_key,
                removed_at,
                removed_by,
                removed_by_id,
                held_back,
            });
        }
        if !out.iter().any(|d| d.this_device) {
            out.push(Device {
                id: me.to_string(),
                name: store::notes::device_name(conn, &me)?,
                this_device: true,
                last_change_at: None,
                signed: true,
                signing_key: Some(mine),
                removed_at: None,
                removed_by: None,
                removed_by_id: None,
                held_back: me_held_back,
            });
        }
        Ok(arrange(out))
    }

    /// The device a person means by `what`: its name (case ignored), or its id or the start of
    /// it (at least 4 characters, as `device list` shows them); a sentence when none or
    /// several match.
    pub fn find_device(&self, what: &str) -> Result<Device> {
        let what = what.trim();
        let lower = what.to_lowercase();
        let devices = self.devices()?;
        // An exact id (what the app sends) is that device, whatever names others have.
        if let Some(d) = devices.iter().find(|d| d.id == lower) {
            return Ok(d.clone());
        }
        let by_name: Vec<&Device> = devices
            .iter()
            .filter(|d| d.name.as_deref().is_some_and(|n| n.to_lowercase() == lower))
            .collect();
        let by_id: Vec<&Device> =
            devices.iter().filter(|d| what.len() >= 4 && d.id.starts_with(&lower)).collect();
        let found = if by_name.is_empty() { by_id } else { by_name };
        match found.as_slice() {
            [d] => Ok((*d).clone()),
            [] => Err(Error::Invalid(format!(
                "no device of this workspace is called \"{what}\": `resnotes device list` shows their names"
            ))),
            _ => Err(Error::Invalid(format!(
                "several devices are called \"{what}\": give the start of its id instead (`resnotes device list` shows them)"
            ))),
        }
    }

    /// The name this device gave itself, if any.
    pub fn device_name(&self) -> Result<Option<String>> {
        Ok(store::notes::device_name(&self.replica.conn, &self.replica.client)?)
    }

    /// Names this device `name` unless it has a name already: a new device takes the
    /// computer's name, which the user may change. A name that cannot be one (an empty host
    /// name) is skipped. Returns true when it named the device.
    pub fn name_if_unnamed(&mut self, name: &str) -> Result<bool> {
        if self.device_name()?.is_some() || note::device_name(name).is_none() {
            return Ok(false);
        }
        self.name_this_device(name)?;
        Ok(true)
    }

    /// Names this device (trimmed, spaces collapsed; at most 60 characters). Every device shows
    /// the name once they have synced. Returns the name as stored.
    pub fn name_this_device(&mut self, name: &str) -> Result<String> {
        let name = valid_name(name)?;
        let me = self.replica.client;
        self.replica
            .write_local(&me, BodyEdit::Untouched, |doc, now| note::name_device(doc, &name, now))?;
        Ok(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::{Memory, TargetKind, Transport};
    use crate::workspace::{system_clock, Target};

    fn sync(ws: &mut Workspace, t: &Target, f: &Memory) {
        let f: &dyn Transport = f;
        ws.sync_with(&[(t, f)], &mut |_| {}).unwrap();
    }

    #[test]
    fn a_name_given_on_one_device_is_shown_on_the_others_and_is_no_note() {
        let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let folder = Memory::new("f");
        let mut a = Workspace::init(da.path(), false, system_clock()).unwrap();
        let ta = a.add_target(TargetKind::Memory, &folder, Some("pass phrase"), 2).unwrap();
        let before = a.devices().unwrap();
        assert_eq!(before.len(), 1);
        assert!(before[0].this_device && before[0].name.is_none());
        assert!(!a.name_if_unnamed("   ").unwrap());
        assert!(a.name_if_unnamed("debian").unwrap());
        assert!(!a.name_if_unnamed("other").unwrap(), "a name is kept");
        // Naming is no note's change: nothing shows in what changed.
        assert!(a.changes_since(0, 10).unwrap().is_empty());
        assert_eq!(a.name_this_device("  My   laptop ").unwrap(), "My laptop");
        assert_eq!(a.device_name().unwrap().as_deref(), Some("My laptop"));
        a.new_note("kept", "body").unwrap();
        sync(&mut a, &ta, &folder);

        let mut b = Workspace::join(
            db.path(),
            TargetKind::Memory,
            &folder,
            Some("pass phrase"),
            false,
            system_clock(),
        )
        .unwrap();
        let tb = b.targets().unwrap().remove(0);
        sync(&mut b, &tb, &folder);
        b.name_this_device("Desktop").unwrap();
        sync(&mut b, &tb, &folder);
        sync(&mut a, &ta, &folder);
        for ws in [&a, &b] {
            let names: Vec<_> = ws.devices().unwrap().into_iter().map(|d| d.name).collect();
            assert!(names.contains(&Some("My laptop".into())), "{names:?}");
            assert!(names.contains(&Some("Desktop".into())), "{names:?}");
            // Device documents are neither notes nor search results.
            assert_eq!(ws.list(None).unwrap().len(), 1);
            assert!(ws.find("laptop", 10).unwrap().is_empty());
        }
        let on_b = b.devices().unwrap();
        assert!(on_b[0].this_device && on_b[0].name.as_deref() == Some("Desktop"));
        assert!(on_b[1].last_change_at.is_some());
        // Both sign their entries, each with its own key, which B learnt from A's entries.
        let on_a = a.devices().unwrap();
        assert!(on_b.iter().all(|d| d.signed && d.signing_key.is_some()), "{on_b:?}");
        assert_eq!(on_b[1].signing_key, on_a[0].signing_key, "A's key as B learnt it");
        assert_ne!(on_b[0].signing_key, on_b[1].signing_key, "a key per device");

        // Renaming syncs too; a name that cannot be one is refused in words.
        a.name_this_device("Old laptop").unwrap();
        sync(&mut a, &ta, &folder);
        sync(&mut b, &tb, &folder);
        assert!(b.devices().unwrap().iter().any(|d| d.name.as_deref() == Some("Old laptop")));
        for bad in ["", "   "] {
            let err = a.name_this_device(bad).unwrap_err().to_string();
            assert!(err.contains("cannot be empty"), "{err}");
        }
        for bad in ["a\u{7}b", &"x".repeat(61)] {
            let err = a.name_this_device(bad).unwrap_err().to_string();
            assert!(err.contains("cannot be this device's name"), "{err}");
        }
    }
}
