//! Notebooks: nested folders of notes (FORMAT.md §4.4). Each notebook is a document of the log
//! with a name and a parent; each note names its notebook. How they nest is decided here from
//! the rows every device derives the same way ([`arrange`]): a parent that is deleted or not
//! known here counts as the top level, a note whose notebook is deleted or unknown is in the
//! default notebook, and concurrent moves that make a notebook its own ancestor are undone by
//! putting the most recently changed notebook of the cycle at the top level — a pure function
//! of the merged documents, so every device shows the same tree without writing anything.

use std::collections::HashMap;

use serde::Serialize;
use ts_rs::TS;
use uuid::Uuid;

use super::Workspace;
use crate::docs::materialize::BodyEdit;
use crate::docs::note;
use crate::error::{Error, Result};
use crate::store;
use crate::store::notebooks::NotebookRow;

/// The name the default notebook is shown and typed by: notes that name no notebook (new
/// notes made outside any notebook, and every note written before notebooks existed) are
/// there, and so are notes whose notebook was deleted or is not known yet.
pub const DEFAULT_NOTEBOOK: &str = "Inbox";

/// Where a note is filed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    /// The default notebook ([`DEFAULT_NOTEBOOK`]).
    Default,
    /// A notebook.
    Notebook(Uuid),
}

impl Place {
    pub(crate) fn id(self) -> Option<Uuid> {
        match self {
            Place::Default => None,
            Place::Notebook(id) => Some(id),
        }
    }
}

/// A live notebook as the tree shows it.
#[derive(Clone, Debug, Serialize, PartialEq, Eq, TS)]
pub struct Notebook {
    /// Its id (lowercase UUID).
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its names from the top level down, joined by `/` (e.g. `Work/Projects`).
    pub path: String,
    /// The notebook it sits in (`None`: the top level).
    pub parent: Option<String>,
    /// How deep it sits (0: the top level).
    pub depth: u32,
    /// Live notes in it (not counting its notebooks' notes).
    #[ts(type = "number")]
    pub notes: u64,
}

/// The notebook tree: the default notebook's note count, then every live notebook, each
/// followed by its notebooks, siblings by name.
#[derive(Clone, Debug, Serialize, PartialEq, Eq, TS)]
pub struct Notebooks {
    /// Live notes in the default notebook.
    #[ts(type = "number")]
    pub default_notes: u64,
    /// The live notebooks in tree order.
    pub notebooks: Vec<Notebook>,
}

/// A live notebook's place in the tree: its row's index and its parent's (`None`: top level).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Placed {
    pub(crate) row: usize,
    pub(crate) parent: Option<usize>,
    pub(crate) depth: u32,
}

/// How the live notebooks of `rows` nest, in tree order (siblings by name, case ignored, then
/// id). A parent that is not a live notebook counts as the top level; in every cycle of
/// parents, the notebook changed last (greatest `updated_at`, then greatest id) is placed at
/// the top level. Depends only on the rows, so every device holding the same documents
/// arranges them the same way.
pub(crate) fn arrange(rows: &[NotebookRow]) -> Vec<Placed> {
    let index: HashMap<Uuid, usize> =
        rows.iter().enumerate().filter(|(_, r)| !r.deleted).map(|(i, r)| (r.id, i)).collect();
    let mut parent: Vec<Option<usize>> =
        rows.iter().map(|r| r.parent.and_then(|p| index.get(&p).copied())).collect();
    // Cycles of a graph where each node has one parent are disjoint, so breaking them in any
    // order gives the same result.
    for start in 0..rows.len() {
        if rows[start].deleted {
            continue;
        }
        let mut path = vec![start];
        let mut at = start;
        while let Some(p) = parent[at] {
            if let Some(pos) = path.iter().position(|&q| q == p) {
                let cycle = &path[pos..];
                let newest = *cycle
                    .iter()
                    .max_by_key(|&&i| (rows[i].updated_at, rows[i].id))
                    .expect("a cycle has members");
                parent[newest] = None;
                break;
            }
            path.push(p);
            at = p;
        }
    }
    let mut children: HashMap<Option<usize>, Vec<usize>> = HashMap::new();
    for (i, r) in rows.iter().enumerate() {
        if !r.deleted {
            children.entry(parent[i]).or_default().push(i);
        }
    }
    for list in children.values_mut() {
        list.sort_by(|&a, &b| {
            (rows[a].name.to_lowercase(), rows[a].id)
                .cmp(&(rows[b].name.to_lowercase(), rows[b].id))
        });
    }
    let mut out = Vec::new();
    let mut stack: Vec<(usize, u32)> =
        children.get(&None).into_iter().flatten().rev().map(|&i| (i, 0)).collect();
    while let Some((i, depth)) = stack.pop() {
        out.push(Placed { row: i, parent: parent[i], depth });
        if let Some(kids) = children.get(&Some(i)) {
            stack.extend(kids.iter().rev().map(|&k| (k, depth + 1)));
        }
    }
    out
}

/// The notebook tree read from the rows and note counts.
fn tree(rows: &[NotebookRow], counts: &[(Option<String>, u64)]) -> Notebooks {
    let placed = arrange(rows);
    let live: HashMap<String, usize> =
        placed.iter().map(|p| (rows[p.row].id.to_string(), p.row)).collect();
    let mut per_row = vec![0u64; rows.len()];
    let mut default_notes = 0;
    for (book, n) in counts {
        match book.as_ref().and_then(|b| live.get(b)) {
            Some(&row) => per_row[row] += n,
            None => default_notes += n,
        }
    }
    let mut paths: HashMap<usize, String> = HashMap::new();
    let mut notebooks = Vec::with_capacity(placed.len());
    for p in &placed {
        let r = &rows[p.row];
        let path = match p.parent.and_then(|q| paths.get(&q)) {
            Some(up) => format!("{up}/{}", r.name),
            None => r.name.clone(),
        };
        paths.insert(p.row, path.clone());
        notebooks.push(Notebook {
            id: r.id.to_string(),
            name: r.name.clone(),
            path,
            parent: p.parent.map(|q| rows[q].id.to_string()),
            depth: p.depth,
            notes: per_row[p.row],
        });
    }
    Notebooks { default_notes, notebooks }
}

/// A name the user typed, as stored, or a sentence saying why it cannot be a notebook's.
fn valid_name(raw: &str) -> Result<String> {
    note::notebook_name(raw).ok_or_else(|| {
        Error::Invalid(format!(
            "\"{}\" cannot be a notebook's name: it needs a letter or digit, no line breaks, and at most {} characters",
            raw.trim(),
            note::MAX_NOTEBOOK_CHARS
        ))
    })
}

impl Workspace {
    /// The notebook tree: the default notebook's note count and every live notebook in tree
    /// order.
    pub fn notebooks(&self) -> Result<Notebooks> {
        let conn = &self.replica.conn;
        Ok(tree(&store::notebooks::all(conn)?, &store::notebooks::note_counts(conn)?))
    }

    /// The live notebooks in tree order without their note counts (which count every live
    /// note): what finding a notebook by name and walking inside one need.
    fn arranged(&self) -> Result<Vec<Notebook>> {
        Ok(tree(&store::notebooks::all(&self.replica.conn)?, &[]).notebooks)
    }

    /// Finds a live notebook by its path (`Work/Projects`), its name when only one live
    /// notebook has it, or its id or an id prefix; case is ignored. [`DEFAULT_NOTEBOOK`]
    /// names the default notebook.
    pub fn find_notebook(&self, query: &str) -> Result<Place> {
        let q = query.trim().trim_matches('/').trim();
        if q.eq_ignore_ascii_case(DEFAULT_NOTEBOOK) {
            return Ok(Place::Default);
        }
        let all = self.arranged()?;
        let lower = q.to_lowercase();
        let pick = |found: Vec<&Notebook>| -> Option<Result<Place>> {
            match found.as_slice() {
                [one] => Some(Ok(Place::Notebook(one.id.parse().ok()?))),
                [] => None,
                several => Some(Err(Error::Invalid(format!(
                    "several notebooks are called \"{q}\" ({}): type its path or id",
                    several.iter().map(|n| n.path.as_str()).collect::<Vec<_>>().join(", ")
                )))),
            }
        };
        let by_path = all.iter().filter(|n| n.path.to_lowercase() == lower).collect();
        if let Some(found) = pick(by_path) {
            return found;
        }
        let by_name = all.iter().filter(|n| n.name.to_lowercase() == lower).collect();
        if let Some(found) = pick(by_name) {
            return found;
        }
        if !lower.is_empty() && lower.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
            let by_id = all.iter().filter(|n| n.id.starts_with(&lower)).collect();
            if let Some(found) = pick(by_id) {
                return found;
            }
        }
        Err(Error::NoSuchNotebook(query.trim().to_string()))
    }

    /// Makes a notebook called `name` inside `parent` (`Place::Default`: the top level);
    /// returns its id.
    pub fn add_notebook(&mut self, name: &str, parent: Place) -> Result<Uuid> {
        let name = valid_name(name)?;
        if parent == Place::Default && name.eq_ignore_ascii_case(DEFAULT_NOTEBOOK) {
            return Err(Error::Invalid(format!(
                "\"{DEFAULT_NOTEBOOK}\" is the default notebook's name: choose another"
            )));
        }
        self.live_notebook(parent)?;
        let id = Uuid::new_v4();
        self.replica.write_local(&id, BodyEdit::Unknown, |doc, now| {
            note::create_notebook(doc, &name, parent.id(), now).map(|_| true)
        })?;
        Ok(id)
    }

    /// Renames a notebook. Of two renames made at the same time on two devices, one wins,
    /// the same one everywhere.
    pub fn rename_notebook(&mut self, notebook: Place, name: &str) -> Result<()> {
        let name = valid_name(name)?;
        let id = self.user_notebook(notebook)?;
        self.replica.write_local(&id, BodyEdit::Untouched, |doc, now| {
            note::rename_notebook(doc, &name, now)
        })?;
        Ok(())
    }

    /// Moves a notebook, with its notes and notebooks, into `parent` (`Place::Default`: the
    /// top level). A notebook cannot go inside itself or one of its own notebooks.
    pub fn move_notebook(&mut self, notebook: Place, parent: Place) -> Result<()> {
        let id = self.user_notebook(notebook)?;
        self.live_notebook(parent)?;
        if let Place::Notebook(p) = parent {
            if p == id || self.descendants(id)?.contains(&p) {
                return Err(Error::Invalid(
                    "a notebook cannot go inside itself or one of its own notebooks".into(),
                ));
            }
        }
        self.replica.write_local(&id, BodyEdit::Untouched, |doc, now| {
            note::move_to(doc, parent.id(), now)
        })?;
        Ok(())
    }

    /// Deletes a notebook and the notebooks inside it; their notes go to the trash (restoring
    /// one brings its notebook back). Returns how many notes went to the trash.
    pub fn delete_notebook(&mut self, notebook: Place) -> Result<usize> {
        let id = self.user_notebook(notebook)?;
        let mut books = vec![id];
        books.extend(self.descendants(id)?);
        let mut trashed = 0;
        for book in &books {
            for n in store::notebooks::live_notes_in(&self.replica.conn, book)? {
                self.replica.write_local(&n, BodyEdit::Untouched, |doc, now| {
                    note::mark_deleted(doc, now).map(|_| true)
                })?;
                trashed += 1;
            }
            self.replica.write_local(book, BodyEdit::Untouched, |doc, now| {
                note::set_deleted(doc, true, now).map(|_| true)
            })?;
        }
        Ok(trashed)
    }

    /// Files a live note in `notebook`. Of two moves of one note made at the same time on two
    /// devices, one wins, the same one everywhere.
    pub fn move_note(&mut self, query: &str, notebook: Place) -> Result<Uuid> {
        let id = self.live_note(query)?;
        self.live_notebook(notebook)?;
        self.replica.write_local(&id, BodyEdit::Untouched, |doc, now| {
            note::move_to(doc, notebook.id(), now)
        })?;
        Ok(id)
    }

    /// Creates a note in `notebook`; returns its id.
    pub fn new_note_in(&mut self, title: &str, body: &str, notebook: Place) -> Result<Uuid> {
        self.live_notebook(notebook)?;
        let id = Uuid::new_v4();
        self.replica.write_local(&id, BodyEdit::Unknown, |doc, now| {
            note::create(doc, title, body, now)?;
            note::move_to(doc, notebook.id(), now)?;
            Ok(true)
        })?;
        Ok(id)
    }

    /// Brings back the deleted notebook `id` and the deleted notebooks it sits in (a note
    /// restored from the trash comes back with its notebook).
    pub(crate) fn restore_notebook(&mut self, id: Uuid) -> Result<()> {
        let rows = store::notebooks::all(&self.replica.conn)?;
        let by_id: HashMap<Uuid, &NotebookRow> = rows.iter().map(|r| (r.id, r)).collect();
        let mut at = Some(id);
        let mut seen = Vec::new();
        while let Some(book) = at.filter(|b| !seen.contains(b)) {
            let Some(row) = by_id.get(&book) else { break };
            if row.deleted {
                self.replica.write_local(&book, BodyEdit::Untouched, |doc, now| {
                    note::set_deleted(doc, false, now).map(|_| true)
                })?;
            }
            seen.push(book);
            at = row.parent;
        }
        Ok(())
    }

    /// The notebooks inside `id`, at any depth, as the tree shows them.
    pub(crate) fn descendants(&self, id: Uuid) -> Result<Vec<Uuid>> {
        let tree = self.arranged()?;
        let mut out: Vec<String> = vec![id.to_string()];
        // Tree order: a notebook comes after its parent.
        for n in &tree {
            if n.parent.as_ref().is_some_and(|p| out.contains(p)) {
                out.push(n.id.clone());
            }
        }
        Ok(out.iter().skip(1).filter_map(|s| s.parse().ok()).collect())
    }

    /// Fails unless `place` is the default notebook or a live notebook.
    fn live_notebook(&self, place: Place) -> Result<()> {
        if let Place::Notebook(id) = place {
            self.user_notebook(place).map_err(|_| Error::NoSuchNotebook(id.to_string()))?;
        }
        Ok(())
    }

    /// A live notebook's id; the default notebook cannot be renamed, moved or deleted.
    fn user_notebook(&self, place: Place) -> Result<Uuid> {
        let Place::Notebook(id) = place else {
            return Err(Error::Invalid(format!(
                "\"{DEFAULT_NOTEBOOK}\" is the default notebook: it cannot be renamed, moved or deleted"
            )));
        };
        let live =
            store::notebooks::all(&self.replica.conn)?.iter().any(|r| r.id == id && !r.deleted);
        if live {
            Ok(id)
        } else {
            Err(Error::NoSuchNotebook(id.to_string()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(n: u128, parent: Option<u128>, updated_at: i64, deleted: bool) -> NotebookRow {
        NotebookRow {
            id: Uuid::from_u128(n),
            name: format!("b{n}"),
            parent: parent.map(Uuid::from_u128),
            updated_at,
            deleted,
        }
    }

    /// `(notebook, parent, depth)` of each placed row, by the rows' numbers.
    fn placed(rows: &[NotebookRow]) -> Vec<(u128, Option<u128>, u32)> {
        arrange(rows)
            .into_iter()
            .map(|p| (rows[p.row].id.as_u128(), p.parent.map(|q| rows[q].id.as_u128()), p.depth))
            .collect()
    }

    #[test]
    fn notebooks_nest_and_cycles_are_broken_the_same_way_whatever_the_order() {
        type Case = (&'static str, Vec<NotebookRow>, Vec<(u128, Option<u128>, u32)>);
        let cases: Vec<Case> = vec![
            (
                "flat",
                vec![row(2, None, 1, false), row(1, None, 1, false)],
                vec![(1, None, 0), (2, None, 0)],
            ),
            (
                "nested",
                vec![row(1, None, 1, false), row(2, Some(1), 1, false), row(3, Some(2), 1, false)],
                vec![(1, None, 0), (2, Some(1), 1), (3, Some(2), 2)],
            ),
            (
                "a deleted parent counts as the top level",
                vec![row(1, None, 1, true), row(2, Some(1), 1, false)],
                vec![(2, None, 0)],
            ),
            (
                "an unknown parent counts as the top level",
                vec![row(2, Some(9), 1, false)],
                vec![(2, None, 0)],
            ),
            ("its own parent", vec![row(1, Some(1), 1, false)], vec![(1, None, 0)]),
            (
                "two moves made a cycle: the newer is at the top level",
                vec![row(1, Some(2), 5, false), row(2, Some(1), 7, false)],
                vec![(2, None, 0), (1, Some(2), 1)],
            ),
            (
                "same time: the greater id is at the top level",
                vec![row(1, Some(2), 5, false), row(2, Some(1), 5, false)],
                vec![(2, None, 0), (1, Some(2), 1)],
            ),
            (
                "a three-cycle with a branch hanging off it",
                vec![
                    row(1, Some(3), 4, false),
                    row(2, Some(1), 9, false),
                    row(3, Some(2), 6, false),
                    row(4, Some(3), 1, false),
                ],
                vec![(2, None, 0), (3, Some(2), 1), (1, Some(3), 2), (4, Some(3), 2)],
            ),
        ];
        for (name, rows, want) in cases {
            assert_eq!(placed(&rows), want, "{name}");
            // The rows' order (which differs between devices) changes nothing.
            let mut reversed: Vec<NotebookRow> = rows.iter().rev().cloned().collect();
            assert_eq!(placed(&reversed), want, "{name}, reversed");
            reversed.rotate_left(1);
            assert_eq!(placed(&reversed), want, "{name}, rotated");
        }
    }
}
