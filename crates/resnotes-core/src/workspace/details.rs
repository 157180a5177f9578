//! What a workspace holds, for technical details, diagnostics and tests: the entries verbatim,
//! every note's document version, which notes are listed without a built document, how the
//! database's bytes divide, and SQLite's own consistency check.

use std::collections::BTreeMap;

use serde::Serialize;
use uuid::Uuid;

use super::{summary_row, NoteSummary, Workspace};
use crate::docs::{materialize, DocError};
use crate::error::Result;
use crate::store;

/// An entry of the log as this device holds it: the file bytes every target gets verbatim.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredEntry {
    /// The writing device.
    pub client: Uuid,
    /// Its index in that device's log.
    pub index: u64,
    /// The entry's hash (the next entry's `prevHash`, FORMAT.md §4).
    pub hash: [u8; 32],
    /// The file bytes (age-encrypted unless the workspace is plaintext).
    pub bytes: Vec<u8>,
}

/// How the bytes of this device's database divide.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Storage {
    /// The database file.
    pub file_bytes: i64,
    /// Free pages inside it.
    pub free_bytes: i64,
    /// The log's entries.
    pub log_data_bytes: i64,
    /// Stored note documents (a cache of the log).
    pub doc_bytes: i64,
    /// Notes whose document is stored.
    pub built_docs: i64,
    /// Titles and first lines of the notes list.
    pub note_text_bytes: i64,
    /// Rows of the index from notes to the entries that change them.
    pub note_entries_rows: i64,
    /// The full-text index: its FTS5 tables (with their copy of the text, for snippets) and
    /// the notes' rows in it.
    pub search_index_bytes: i64,
}

impl Workspace {
    /// Every entry held, by client and index.
    pub fn entries(&self) -> Result<Vec<StoredEntry>> {
        let mut out = Vec::new();
        for (client, index, hash, bytes) in store::log::all(&self.replica.conn)? {
            let (Ok(client), Ok(hash)) = (Uuid::parse_str(&client), <[u8; 32]>::try_from(hash))
            else {
                return Err(
                    DocError::Damaged(format!("log row {index} of {client} is malformed")).into()
                );
            };
            out.push(StoredEntry { client, index, hash, bytes });
        }
        Ok(out)
    }

    /// The document version (Automerge heads, hex, sorted) of every note, deleted ones too.
    /// Two devices that hold the same changes give the same map.
    pub fn note_heads(&self) -> Result<BTreeMap<String, Vec<String>>> {
        let mut out = BTreeMap::new();
        for id in store::notes::all_ids(&self.replica.conn)? {
            let Ok(uuid) = Uuid::parse_str(&id) else { continue };
            // Read-only: a listed note's document is built in memory, not stored.
            let r = &self.replica;
            let Some(mut doc) = materialize::load_doc(&r.conn, &r.keys, &uuid, &r.client)? else {
                continue;
            };
            let mut heads: Vec<String> = doc.get_heads().iter().map(|h| h.to_string()).collect();
            heads.sort();
            out.insert(id, heads);
        }
        Ok(out)
    }

    /// The notes listed from entry summaries whose documents are not built yet, by id.
    pub fn listed_notes(&self) -> Result<Vec<String>> {
        Ok(store::notes::listed_ids(&self.replica.conn)?)
    }

    /// A note's list row, deleted notes included (`None`: no such note).
    pub fn summary(&self, id: &str) -> Result<Option<NoteSummary>> {
        Ok(store::notes::row_of(&self.replica.conn, id)?.map(summary_row))
    }

    /// How the database's bytes divide (after copying the write-ahead log into it).
    pub fn storage(&self) -> Result<Storage> {
        store::checkpoint_truncate(&self.replica.conn)?;
        let [file_bytes, free_bytes, log_data_bytes, doc_bytes, built_docs, note_text_bytes, note_entries_rows, search_index_bytes] =
            store::sizes(&self.replica.conn)?;
        Ok(Storage {
            file_bytes,
            free_bytes,
            log_data_bytes,
            doc_bytes,
            built_docs,
            note_text_bytes,
            note_entries_rows,
            search_index_bytes,
        })
    }

    /// SQLite's consistency check of the database: an error saying what it found, if anything.
    pub fn check_integrity(&self) -> Result<()> {
        match store::integrity_problem(&self.replica.conn)? {
            None => Ok(()),
            Some(p) => Err(DocError::Damaged(format!("the database check found: {p}")).into()),
        }
    }
}
