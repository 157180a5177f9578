//! The commands that organize notes: `list` with notebook, tags and order, `notebook`, `move`,
//! `pin`/`unpin`, `tag`, `tags` and `trash`.

use std::io::IsTerminal;

use anyhow::{anyhow, Result};
use clap::Subcommand;
use resnotes_core::{
    LinkState, ListQuery, NoteSummary, Place, Workspace, DEFAULT_NOTEBOOK, TRASH_DAYS,
};

use crate::time;

#[derive(Subcommand)]
pub(crate) enum TrashCommand {
    /// Notes deleted in the last 30 days, most recently deleted first.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Bring a deleted note back into the list.
    Restore { id: String },
    /// Remove every deleted note from the lists, the trash and search on every device.
    Empty {
        /// Do not ask (needed when standard input is not a terminal).
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Subcommand)]
pub(crate) enum NotebookCommand {
    /// Every notebook, nested ones indented under theirs, with how many notes each holds.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Make a notebook; prints its id.
    Add {
        name: String,
        /// The notebook to put it in (name, path or id); the top level when not given.
        #[arg(long)]
        parent: Option<String>,
    },
    /// Rename a notebook.
    Rename {
        /// Its name, path (Work/Projects) or id.
        notebook: String,
        name: String,
    },
    /// Move a notebook, with everything in it, into another one ("/" for the top level).
    Move {
        /// Its name, path or id.
        notebook: String,
        /// The notebook to put it in, or "/" for the top level.
        parent: String,
    },
    /// Delete a notebook and the notebooks inside it; their notes go to the trash.
    Delete {
        /// Its name, path or id.
        notebook: String,
    },
}

/// A notebook the user named, `/` (or nothing) being the top level.
fn parent_place(ws: &Workspace, query: Option<&str>) -> Result<Place> {
    match query.map(str::trim) {
        None | Some("") | Some("/") => Ok(Place::Default),
        Some(q) => Ok(ws.find_notebook(q)?),
    }
}

/// `notebook list|add|rename|move|delete`.
pub(crate) fn notebook(ws: &mut Workspace, command: NotebookCommand) -> Result<()> {
    match command {
        NotebookCommand::List { json } => {
            let tree = ws.notebooks()?;
            if json {
                out!("{}", serde_json::to_string_pretty(&tree)?);
                return Ok(());
            }
            let count = |n: u64| format!("{n} note{}", if n == 1 { "" } else { "s" });
            out!("{DEFAULT_NOTEBOOK}  ({})", count(tree.default_notes));
            for b in &tree.notebooks {
                out!("{}{}  ({})", "  ".repeat(b.depth as usize), b.name, count(b.notes));
            }
        }
        NotebookCommand::Add { name, parent } => {
            let parent = parent_place(ws, parent.as_deref())?;
            out!("{}", ws.add_notebook(&name, parent)?);
        }
        NotebookCommand::Rename { notebook, name } => {
            let place = ws.find_notebook(&notebook)?;
            ws.rename_notebook(place, &name)?;
            eprintln!("Renamed to {}", name.trim());
        }
        NotebookCommand::Move { notebook, parent } => {
            let place = ws.find_notebook(&notebook)?;
            let to = parent_place(ws, Some(&parent))?;
            ws.move_notebook(place, to)?;
            eprintln!("Moved");
        }
        NotebookCommand::Delete { notebook } => {
            let place = ws.find_notebook(&notebook)?;
            let n = ws.delete_notebook(place)?;
            eprintln!(
                "Deleted the notebook; {n} note{} went to the trash (`resnotes trash restore ID` brings one back with its notebook).",
                if n == 1 { "" } else { "s" }
            );
        }
    }
    Ok(())
}

/// `new --notebook N`: the note's id.
pub(crate) fn new_note(
    ws: &mut Workspace,
    title: &str,
    body: &str,
    notebook: Option<String>,
) -> Result<String> {
    let place = match notebook {
        Some(q) => ws.find_notebook(&q)?,
        None => Place::Default,
    };
    Ok(ws.new_note_in(title, body, place)?.to_string())
}

/// `move ID NOTEBOOK`.
pub(crate) fn move_note(ws: &mut Workspace, id: &str, notebook: &str) -> Result<()> {
    let place = ws.find_notebook(notebook)?;
    let id = ws.move_note(id, place)?;
    eprintln!("Moved {id}");
    Ok(())
}

/// One line of a notes list: short id, time, a pin mark, title, tags.
fn line(n: &NoteSummary) -> String {
    let mut s = format!(
        "{}  {}  {}{}",
        &n.id[..8],
        time(n.updated_at),
        if n.pinned { "📌 " } else { "" },
        n.title
    );
    for t in &n.tags {
        s.push_str(&format!("  #{t}"));
    }
    if n.merged {
        s.push_str("  (edits merged: read it over)");
    }
    s
}

/// Prints `items` as JSON, or a line each (`empty` on standard error when there is none).
fn rows<T: serde::Serialize>(
    items: &[T],
    json: bool,
    empty: &str,
    line: impl Fn(&T) -> String,
) -> Result<()> {
    if json {
        out!("{}", serde_json::to_string_pretty(items)?);
        return Ok(());
    }
    if items.is_empty() {
        eprintln!("{empty}");
    }
    for item in items {
        out!("{}", line(item));
    }
    Ok(())
}

/// `list`: live notes, pinned first, filtered by tags and sorted as asked.
pub(crate) fn list(
    ws: &Workspace,
    json: bool,
    limit: Option<usize>,
    tags: Vec<String>,
    notebook: Option<String>,
    sort: &str,
) -> Result<()> {
    let notebook = notebook.map(|q| ws.find_notebook(&q)).transpose()?;
    let notes = ws.list_notes(&ListQuery { notebook, tags, sort: sort.parse()?, limit })?;
    rows(&notes, json, "No note to list.", line)
}

/// `pin` / `unpin`.
pub(crate) fn pin(ws: &mut Workspace, id: &str, pinned: bool) -> Result<()> {
    let id = ws.set_pinned(id, pinned)?;
    eprintln!("{} {}", if pinned { "Pinned" } else { "Unpinned" }, id);
    Ok(())
}

/// `tag ID +a -b c`: the changes split into tags to add and to remove.
pub(crate) fn tag(ws: &mut Workspace, id: &str, changes: &[String]) -> Result<()> {
    let (mut add, mut remove) = (Vec::new(), Vec::new());
    for c in changes {
        match c.strip_prefix('-') {
            Some(name) => remove.push(name),
            None => add.push(c.strip_prefix('+').unwrap_or(c)),
        }
    }
    let after = ws.retag(id, &add, &remove)?;
    if after.is_empty() {
        eprintln!("The note has no tags.");
    }
    for t in after {
        out!("{t}");
    }
    Ok(())
}

/// `tags`: every tag with its number of notes.
pub(crate) fn tags(ws: &Workspace, json: bool) -> Result<()> {
    rows(&ws.tags()?, json, "No note has a tag yet: `resnotes tag ID +NAME` adds one.", |t| {
        format!("{}  ({} note{})", t.name, t.notes, if t.notes == 1 { "" } else { "s" })
    })
}

/// `links ID`: each linked note with its state.
pub(crate) fn links(ws: &Workspace, id: &str, json: bool) -> Result<()> {
    rows(&ws.links(id)?, json, "This note links to no other note.", |l| {
        let state = match l.state {
            LinkState::Live => "",
            LinkState::Trashed => "  (in the trash)",
            LinkState::Missing => "  (missing: not on this device)",
        };
        format!("{}  {}{}", &l.id[..8], l.title, state)
    })
}

/// `backlinks ID`: the notes linking to it.
pub(crate) fn backlinks(ws: &Workspace, id: &str, json: bool) -> Result<()> {
    crate::index_for_search(ws)?;
    rows(&ws.backlinks(id)?, json, "No note links to this one.", line)
}

/// `trash list|restore|empty`. Emptying says what it means in an append-only log, and asks.
pub(crate) fn trash(ws: &mut Workspace, command: TrashCommand) -> Result<()> {
    match command {
        TrashCommand::List { json } => {
            let empty = format!(
                "The trash is empty (notes deleted more than {TRASH_DAYS} days ago are not shown)."
            );
            rows(&ws.trash()?, json, &empty, line)?
        }
        TrashCommand::Restore { id } => eprintln!("Restored {}", ws.restore_note(&id)?),
        TrashCommand::Empty { yes } => {
            eprintln!(
                "Emptying the trash removes every deleted note from the lists, the trash and search \
                 on all your devices once they sync. It cannot be undone here. The notes' old text \
                 stays in the encrypted sync log, as every past version of every note does."
            );
            if !yes {
                if !std::io::stdin().is_terminal() {
                    return Err(anyhow!(
                        "nothing was emptied: add --yes to empty the trash without being asked"
                    ));
                }
                eprint!("Empty the trash? [y/N] ");
                let mut answer = String::new();
                std::io::stdin().read_line(&mut answer)?;
                if !matches!(answer.trim(), "y" | "Y" | "yes") {
                    eprintln!("Nothing was emptied.");
                    return Ok(());
                }
            }
            let n = ws.empty_trash()?;
            eprintln!("Emptied {n} note{} from the trash.", if n == 1 { "" } else { "s" });
        }
    }
    Ok(())
}
