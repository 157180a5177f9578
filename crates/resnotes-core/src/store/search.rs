//! The full-text index of live notes (tables `search`, an FTS5 index, and `search_notes`,
//! which maps its rows to notes; a deleted note is taken out), and the notes whose entry in it is not current: `search_stale`
//! (built notes edited since they were indexed, re-indexed before the next query) and
//! `search_pending` (notes indexed from a summary's first line only, or not at all, indexed in
//! the background); `search_words`, every word the index has held, so that a prefix being
//! typed is searched as the few words it stands for; and `search_pairs`, each note's words
//! taken two by two in order, so that a quoted phrase is looked up by its pairs. All derived
//! from the log.
//!
//! Words are found by FTS5's `unicode61` tokenizer with diacritics folded (é = e, case
//! ignored). Scripts written without spaces between words (Chinese, Japanese, Korean, Thai,
//! Lao, Khmer, Myanmar) are indexed one character per token — [`searchable`] puts a separator
//! between such characters — and a query word in them becomes a phrase of its characters, so
//! it is found anywhere in a text, as a substring.

use rusqlite::{params, Connection, OptionalExtension};
use uuid::Uuid;

use super::Result;

/// The separator put between characters of unsegmented scripts (ZERO WIDTH SPACE: not a token
/// character for `unicode61`, and invisible should a snippet keep one).
const SEPARATOR: char = '\u{200b}';
/// Where a snippet's match starts and ends (removed before it is shown).
const OPEN: char = '\u{1}';
const CLOSE: char = '\u{2}';

/// Whether `c` belongs to a script written without spaces between words.
fn unsegmented(c: char) -> bool {
    matches!(c as u32,
        0x0E00..=0x0EFF // Thai, Lao
        | 0x1000..=0x109F // Myanmar
        | 0x1780..=0x17FF // Khmer
        | 0x2E80..=0x2FDF // CJK radicals
        | 0x3040..=0x30FF // Hiragana, Katakana
        | 0x3100..=0x312F // Bopomofo
        | 0x3130..=0x318F // Hangul compatibility jamo
        | 0x31F0..=0x31FF // Katakana extensions
        | 0x3400..=0x4DBF // CJK extension A
        | 0x4E00..=0x9FFF // CJK unified ideographs
        | 0xAC00..=0xD7AF // Hangul syllables
        | 0xF900..=0xFAFF // CJK compatibility ideographs
        | 0xFF66..=0xFF9F // half-width Katakana
        | 0x20000..=0x3FFFF // CJK extensions B and later
    )
}

/// A text as it is indexed: `text` with a separator between two neighbouring characters of
/// unsegmented scripts.
pub(crate) fn searchable(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(unsegmented) {
        return text.into();
    }
    let mut out = String::with_capacity(text.len() + text.len() / 2);
    let mut last_unsegmented = false;
    for c in text.chars() {
        let u = unsegmented(c);
        if u && last_unsegmented {
            out.push(SEPARATOR);
        }
        out.push(c);
        last_unsegmented = u;
    }
    out.into()
}

/// A search as the index is asked it: the FTS5 query of the words, and, when every term of
/// it is a phrase of two words or more, the same as phrases of word pairs (`search_pairs`).
pub(crate) struct Query {
    /// The FTS5 query of the words.
    pub(crate) fts: String,
    /// The same of the word pairs, for a query of phrases only.
    pub(crate) pairs: Option<String>,
}

/// Turns what a user typed into an FTS5 query: every word must occur (a word also matches as
/// the start of a longer one, so results come while typing), `"quoted words"` must occur in
/// that order, and nothing a user types is an FTS5 operator or a syntax error. `None` when the
/// query holds no word at all (only punctuation, say).
pub(crate) fn fts_query(query: &str) -> Option<String> {
    render(&terms(query), &[])
}

/// [`fts_query`], with each word that is matched as a prefix written as the words of the index
/// that start with it (`"meet"*` becomes `("meeting" OR "meetings")`) when there are at most
/// [`MAX_EXPANSION`]: FTS5 merges a prefix's lists into a copy in memory before it reads any
/// (6–8 ms for a word in most of 100,000 notes, on every statement of a search), while words
/// joined by OR are read in place and as far as needed.
///
/// A query made only of phrases (`"follow up with"`, or a word of an unsegmented script, which
/// is a phrase of its characters) is also written as phrases of word pairs
/// (`"follow_up up_with"`), which [`query`] asks of `search_pairs`: for a phrase of words that
/// are each in most notes, FTS5 checks the positions of all of them in every one of those notes
/// (136 ms in 100,000 notes), while the pairs are in few.
pub(crate) fn expanded_query(conn: &Connection, query: &str) -> Result<Option<Query>> {
    let terms = terms(query);
    let expansions = terms
        .iter()
        .map(|t| if t.prefix { expansion(conn, &t.text) } else { Ok(None) })
        .collect::<Result<Vec<_>>>()?;
    let Some(fts) = render(&terms, &expansions) else { return Ok(None) };
    let pairs = if terms.iter().any(|t| t.prefix) {
        None
    } else {
        let read = tokens_of_all(conn, terms.iter().map(|t| ("", t.text.as_str())))?;
        let phrases: Vec<&str> = read.pairs.iter().map(|(_, body)| body.as_str()).collect();
        // A term of one word has no pair: the words' own index answers it.
        (!phrases.iter().any(|p| p.is_empty()))
            .then(|| phrases.iter().map(|p| format!("\"{p}\"")).collect::<Vec<_>>().join(" AND "))
    };
    Ok(Some(Query { fts, pairs }))
}

/// At most this many words of the index stand for a prefix (see [`expanded_query`]); more, and
/// FTS5's own prefix search (with its index of two-letter prefixes) is the cheaper.
pub(crate) const MAX_EXPANSION: usize = 32;

/// The words of the index starting with `prefix` (as the tokenizer folds it), if there are
/// one to [`MAX_EXPANSION`] of them and `prefix` is a plain word (letters and digits only:
/// `bye-bye` is two words in a row to FTS5, which its own prefix search keeps).
fn expansion(conn: &Connection, prefix: &str) -> Result<Option<Vec<String>>> {
    if !prefix.chars().all(char::is_alphanumeric) {
        return Ok(None);
    }
    let folded = words_of(conn, "", prefix)?;
    let [folded] = &folded[..] else { return Ok(None) };
    let mut st = conn.prepare_cached(
        "SELECT word FROM search_words WHERE word >= ?1 AND word < ?1 || char(1114111)
         ORDER BY word LIMIT ?2",
    )?;
    let words = st
        .query_map(params![folded, MAX_EXPANSION as i64 + 1], |r| r.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok((!words.is_empty() && words.len() <= MAX_EXPANSION).then_some(words))
}

/// Makes this connection's temporary tables for reading words back ([`words_of_all`]); run
/// once, when the database is opened.
pub(crate) fn prepare(conn: &Connection) -> Result<()> {
    conn.execute_batch(
        "CREATE VIRTUAL TABLE IF NOT EXISTS temp.words_of
           USING fts5(title, body, content = '', tokenize = 'unicode61 remove_diacritics 2');
         CREATE VIRTUAL TABLE IF NOT EXISTS temp.words_of_instances
           USING fts5vocab(temp, words_of, instance);
         CREATE TABLE IF NOT EXISTS temp.snippet_texts (id INTEGER PRIMARY KEY, title TEXT, body TEXT);
         CREATE VIRTUAL TABLE IF NOT EXISTS temp.snippets USING fts5(title, body,
           content = 'snippet_texts', content_rowid = 'id', tokenize = 'unicode61 remove_diacritics 2');",
    )?;
    Ok(())
}

/// The distinct words of a text as the index's tokenizer makes them (folded).
fn words_of(conn: &Connection, title: &str, body: &str) -> Result<Vec<String>> {
    Ok(tokens_of_all(conn, [(title, body)])?.words)
}

/// What the index's tokenizer makes of a batch of texts ([`tokens_of_all`]).
pub(crate) struct Tokens {
    /// Every distinct word of the batch, folded.
    pub(crate) words: Vec<String>,
    /// Each text's word pairs, of its title and of its body: `a_b b_c …` for the words
    /// `a b c …` of a column in order (`_` is never in a word: it separates words).
    pub(crate) pairs: Vec<(String, String)>,
}

/// The words of `texts` (titles and bodies) as the index's tokenizer makes them (folded), and
/// each text's word pairs, read back from an FTS5 table of this connection's temporary
/// database, so that they are exactly the index's own. Writes nothing to the workspace's
/// database: the background indexer calls it before its write transaction.
pub(crate) fn tokens_of_all<'a>(
    conn: &Connection,
    texts: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<Tokens> {
    let mut count: usize = 0;
    // (Empty already, unless a batch failed half-way.)
    conn.prepare_cached("INSERT INTO temp.words_of (words_of) VALUES ('delete-all')")?
        .execute([])?;
    {
        // One transaction of the temporary database for a batch (it takes no lock on the
        // workspace's), unless the caller's is open.
        let tx = conn.is_autocommit().then(|| conn.unchecked_transaction()).transpose()?;
        let mut add = conn
            .prepare_cached("INSERT INTO temp.words_of (rowid, title, body) VALUES (?1, ?2, ?3)")?;
        for (title, body) in texts {
            count += 1;
            add.execute(params![count as i64, searchable(title), searchable(body)])?;
        }
        if let Some(tx) = tx {
            tx.commit()?;
        }
    }
    // Read in order, word by word of each text, so that pairs are made as the rows come (a
    // 5 MB note is a million rows: held at once, ~100 MB).
    let read = read_pairs(conn, count);
    // Emptied whole: rows deleted one by one stay in an FTS5 index as deletion marks until its
    // segments merge, and every later reading would walk them (13 ms per search after 10,000
    // notes were indexed in one go).
    conn.prepare_cached("INSERT INTO temp.words_of (words_of) VALUES ('delete-all')")?
        .execute([])?;
    read
}

/// The distinct words and each text's pairs ([`Tokens`]) of the `count` texts in
/// `temp.words_of`.
fn read_pairs(conn: &Connection, count: usize) -> Result<Tokens> {
    let mut words = std::collections::BTreeSet::new();
    let mut pairs = vec![(String::new(), String::new()); count];
    let mut st = conn.prepare_cached(
        "SELECT doc, col = 'body', offset, term FROM temp.words_of_instances
         ORDER BY doc, col, offset",
    )?;
    let mut rows = st.query([])?;
    let mut last: Option<((i64, bool, i64), String)> = None;
    while let Some(r) = rows.next()? {
        let at: (i64, bool, i64) = (r.get(0)?, r.get(1)?, r.get(2)?);
        let word: String = r.get(3)?;
        if let Some(((doc, in_body, offset), before)) = &last {
            let text = usize::try_from(doc - 1).ok().and_then(|i| pairs.get_mut(i));
            if let (true, Some((title, body))) = ((*doc, *in_body, offset + 1) == at, text) {
                let out = if *in_body { body } else { title };
                if !out.is_empty() {
                    out.push(' ');
                }
                out.push_str(before);
                out.push('_');
                out.push_str(&word);
            }
        }
        if !words.contains(&word) {
            words.insert(word.clone());
        }
        last = Some((at, word));
    }
    Ok(Tokens { words: words.into_iter().collect(), pairs })
}

/// A word or `"phrase"` of a typed query, as it is indexed ([`searchable`]), and whether it
/// matches as a prefix.
struct Term {
    text: String,
    prefix: bool,
}

/// The words and phrases of a typed query.
fn terms(query: &str) -> Vec<Term> {
    let mut terms = Vec::new();
    let mut rest = query;
    while let Some(start) = rest.find(|c: char| c == '"' || !c.is_whitespace()) {
        rest = &rest[start..];
        let (term, phrase) = if let Some(quoted) = rest.strip_prefix('"') {
            // An unclosed quote runs to the end, as it does while it is being typed.
            let end = quoted.find('"').unwrap_or(quoted.len());
            let term = &quoted[..end];
            rest = quoted.get(end + 1..).unwrap_or("");
            (term, true)
        } else {
            let end = rest.find(|c: char| c == '"' || c.is_whitespace()).unwrap_or(rest.len());
            let term = &rest[..end];
            rest = &rest[end..];
            (term, false)
        };
        if !term.chars().any(char::is_alphanumeric) {
            continue;
        }
        // The last character of an unsegmented word is a whole token: a prefix of it would
        // also match other characters' tokens starting with the same bytes (none do, but a
        // prefix query costs more).
        // Nor is a single letter a prefix: "d*" would merge the lists of every word starting
        // with d (300 ms in 100,000 notes) to show results nobody reads while typing.
        let prefix = !phrase
            && !term.chars().last().is_some_and(unsegmented)
            && term.chars().nth(1).is_some();
        terms.push(Term { text: searchable(term).into_owned(), prefix });
    }
    terms
}

/// The FTS5 query of `terms`; `expansions[i]`, when there is one, holds the words the prefix
/// `terms[i]` stands for.
fn render(terms: &[Term], expansions: &[Option<Vec<String>>]) -> Option<String> {
    let quote = |t: &str| format!("\"{}\"", t.replace('"', "\"\""));
    let parts: Vec<String> = terms
        .iter()
        .enumerate()
        .map(|(i, t)| match expansions.get(i).and_then(Option::as_ref) {
            Some(words) => {
                format!("({})", words.iter().map(|w| quote(w)).collect::<Vec<_>>().join(" OR "))
            }
            None if t.prefix => format!("{}*", quote(&t.text)),
            None => quote(&t.text),
        })
        .collect();
    (!parts.is_empty()).then(|| parts.join(" AND "))
}

/// Indexes a note's title and body; `whole` is false when `body` is only the first line a
/// summary gave. A note indexed whole leaves `search_pending`.
pub(crate) fn put(
    conn: &Connection,
    id: &Uuid,
    title: &str,
    body: &str,
    whole: bool,
) -> Result<()> {
    put_all(conn, &[(*id, title, body)], whole)
}

/// [`put`] of many notes, their words read in one go: reading a batch's words back costs about
/// what reading one text's does (two emptyings of the temporary index, one scan of it), so a
/// sync cycle settling 10,000 notes listed from summaries spent most of its indexing there.
pub(crate) fn put_all(conn: &Connection, notes: &[(Uuid, &str, &str)], whole: bool) -> Result<()> {
    let tokens = tokens_of_all(conn, notes.iter().map(|(_, title, body)| (*title, *body)))?;
    for ((id, title, body), pairs) in notes.iter().zip(&tokens.pairs) {
        put_text(conn, id, title, body, whole, pairs)?;
    }
    add_words(conn, &tokens.words)
}

/// Adds words (from [`tokens_of_all`]) to `search_words`; a word is never taken out (one no
/// note holds any more only adds an empty list to an OR).
pub(crate) fn add_words(conn: &Connection, words: &[String]) -> Result<()> {
    let mut add = conn.prepare_cached("INSERT OR IGNORE INTO search_words (word) VALUES (?1)")?;
    for w in words {
        add.execute([w])?;
    }
    Ok(())
}

/// [`put`] without adding the note's words: the caller adds them ([`add_words`]); `pairs` are
/// the text's word pairs ([`Tokens::pairs`]).
pub(crate) fn put_text(
    conn: &Connection,
    id: &Uuid,
    title: &str,
    body: &str,
    whole: bool,
    pairs: &(String, String),
) -> Result<()> {
    let note = id.to_string();
    let docid: Option<i64> = conn
        .prepare_cached("SELECT docid FROM search_notes WHERE note_id = ?1")?
        .query_row([&note], |r| r.get(0))
        .optional()?;
    let docid = match docid {
        Some(d) => {
            conn.prepare_cached("UPDATE search_notes SET whole = ?2 WHERE docid = ?1")?
                .execute(params![d, whole])?;
            conn.prepare_cached("DELETE FROM search WHERE rowid = ?1")?.execute([d])?;
            conn.prepare_cached("DELETE FROM search_pairs WHERE rowid = ?1")?.execute([d])?;
            d
        }
        None => {
            conn.prepare_cached("INSERT INTO search_notes (note_id, whole) VALUES (?1, ?2)")?
                .execute(params![&note, whole])?;
            let d = conn.last_insert_rowid();
            // (Pairs a row of this number left would match this note.)
            conn.prepare_cached("DELETE FROM search_pairs WHERE rowid = ?1")?.execute([d])?;
            d
        }
    };
    conn.prepare_cached("INSERT INTO search (rowid, title, body) VALUES (?1, ?2, ?3)")?
        .execute(params![docid, searchable(title), searchable(body)])?;
    conn.prepare_cached("INSERT INTO search_pairs (rowid, title, body) VALUES (?1, ?2, ?3)")?
        .execute(params![docid, pairs.0, pairs.1])?;
    conn.prepare_cached("DELETE FROM search_stale WHERE note_id = ?1")?.execute([&note])?;
    if whole {
        conn.prepare_cached("DELETE FROM search_pending WHERE note_id = ?1")?.execute([&note])?;
    } else {
        conn.prepare_cached("INSERT OR IGNORE INTO search_pending (note_id) VALUES (?1)")?
            .execute([&note])?;
    }
    Ok(())
}

/// Removes a note from the index (its row is gone).
pub(crate) fn remove(conn: &Connection, id: &Uuid) -> Result<()> {
    let note = id.to_string();
    let docid: Option<i64> = conn
        .prepare_cached("DELETE FROM search_notes WHERE note_id = ?1 RETURNING docid")?
        .query_row([&note], |r| r.get(0))
        .optional()?;
    if let Some(d) = docid {
        conn.prepare_cached("DELETE FROM search WHERE rowid = ?1")?.execute([d])?;
        conn.prepare_cached("DELETE FROM search_pairs WHERE rowid = ?1")?.execute([d])?;
    }
    for sql in [
        "DELETE FROM search_stale WHERE note_id = ?1",
        "DELETE FROM search_pending WHERE note_id = ?1",
    ] {
        conn.prepare_cached(sql)?.execute([&note])?;
    }
    Ok(())
}

/// Marks a built note as edited since it was indexed (a big note, whose text is not read on
/// every save): it is indexed again before the next query.
pub(crate) fn mark_stale(conn: &Connection, id: &Uuid) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO search_stale (note_id) VALUES (?1) ON CONFLICT DO UPDATE SET pulled = 0",
    )?
    .execute([id.to_string()])?;
    Ok(())
}

/// Marks a note stored by a pull as not indexed yet: the pull indexes it when it ends
/// ([`pulled`]), or the next search does.
pub(crate) fn mark_pulled(conn: &Connection, id: &Uuid) -> Result<()> {
    conn.prepare_cached("INSERT OR IGNORE INTO search_stale (note_id, pulled) VALUES (?1, 1)")?
        .execute([id.to_string()])?;
    Ok(())
}

/// The notes a pull marked ([`mark_pulled`]) and nothing has indexed since.
pub(crate) fn pulled(conn: &Connection) -> Result<Vec<Uuid>> {
    ids(conn, "SELECT note_id FROM search_stale WHERE pulled = 1 ORDER BY note_id LIMIT ?1", None)
}

/// How many notes [`pulled`] lists.
pub(crate) fn pulled_count(conn: &Connection) -> Result<usize> {
    let n: i64 = conn
        .prepare_cached("SELECT COUNT(*) FROM search_stale WHERE pulled = 1")?
        .query_row([], |r| r.get(0))?;
    Ok(n as usize)
}

/// How many notes' indexing may wait for the next search ([`may_defer`]).
pub(crate) const DEFERRED: i64 = 8;

/// Whether a note's indexing may wait for the next search: it already waits, or fewer than
/// [`DEFERRED`] notes the user edited do (the notes a pull is about to index do not count).
pub(crate) fn may_defer(conn: &Connection, id: &Uuid) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM search_stale WHERE note_id = ?1)
                 OR (SELECT COUNT(*) FROM (SELECT 1 FROM search_stale WHERE pulled = 0 LIMIT ?2)) < ?2",
        )?
        .query_row(params![id.to_string(), DEFERRED], |r| r.get(0))?)
}

/// Whether a note still to be indexed whole is marked stale (the user edited it since): it
/// then leaves `search_pending`, and the next search indexes it whole ([`stale`]).
pub(crate) fn leave_to_next_search(conn: &Connection, id: &Uuid) -> Result<bool> {
    let changed = conn
        .prepare_cached(
            "DELETE FROM search_pending WHERE note_id = ?1
             AND EXISTS (SELECT 1 FROM search_stale WHERE note_id = ?1)",
        )?
        .execute([id.to_string()])?;
    Ok(changed > 0)
}

/// The notes marked stale.
pub(crate) fn stale(conn: &Connection) -> Result<Vec<Uuid>> {
    ids(conn, "SELECT note_id FROM search_stale ORDER BY note_id LIMIT ?1", None)
}

/// At most `limit` notes still to be indexed whole, in the order of the entries that listed
/// them (so that each entry is decoded once).
pub(crate) fn pending(conn: &Connection, limit: usize) -> Result<Vec<Uuid>> {
    ids(
        conn,
        "SELECT p.note_id FROM search_pending p LEFT JOIN notes n ON n.id = p.note_id
         ORDER BY n.hint_client, n.hint_idx, p.note_id LIMIT ?1",
        Some(limit),
    )
}

/// The note ids a query with `LIMIT ?1` gives (`None`: no limit).
pub(super) fn ids(conn: &Connection, sql: &str, limit: Option<usize>) -> Result<Vec<Uuid>> {
    let limit = limit.map_or(-1, |l| i64::try_from(l).unwrap_or(i64::MAX));
    let mut st = conn.prepare_cached(sql)?;
    let rows = st.query_map([limit], |r| r.get::<_, String>(0))?;
    let rows = rows.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows.iter().filter_map(|s| Uuid::parse_str(s).ok()).collect())
}

/// A note's body as indexed, when that is exactly its current body: indexed whole, not
/// stale, and without the separator [`searchable`] puts between characters (a text that had
/// one is not given back). A text read here costs no document load (an export of 10,000
/// notes: BENCHMARKS.md).
pub(crate) fn exact_body(conn: &Connection, id: &str) -> Result<Option<String>> {
    let body: Option<String> = conn
        .prepare_cached(
            "SELECT s.body FROM search_notes n JOIN search s ON s.rowid = n.docid
             WHERE n.note_id = ?1 AND n.whole = 1
             AND NOT EXISTS (SELECT 1 FROM search_stale WHERE note_id = ?1)
             AND NOT EXISTS (SELECT 1 FROM search_pending WHERE note_id = ?1)",
        )?
        .query_row([id], |r| r.get(0))
        .optional()?;
    Ok(body.filter(|b| !b.contains(SEPARATOR)))
}

/// Whether a note is still to be indexed whole.
pub(crate) fn is_pending(conn: &Connection, id: &Uuid) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM search_pending WHERE note_id = ?1)")?
        .query_row([id.to_string()], |r| r.get(0))?)
}

/// How the index stands: `(notes indexed whole or deleted, notes in all)` (a deleted note is
/// not in the index, so it has nothing left to do).
pub(crate) fn progress(conn: &Connection) -> Result<(u64, u64)> {
    let (pending, all): (i64, i64) = conn.query_row(
        "SELECT (SELECT COUNT(*) FROM search_pending), (SELECT COUNT(*) FROM notes WHERE kind = 0)",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok(((all - pending).max(0) as u64, all as u64))
}

/// A filter of [`query`] as SQL: the matches whose `search_notes s` row, joined by `join`,
/// meets `cond` (whose parameters are `args`).
///
/// Written `rowid IN (…)`, SQLite hands FTS5 the notes one by one, each a search of its own
/// (~0.25 ms each: seconds for the default notebook of 100,000 notes). So a filter keeping at
/// most [`SMALL_FILTER`] notes is a set SQLite makes once and FTS5's matches are looked up in
/// (`+rowid`: not handed to FTS5); a bigger one is checked on each match FTS5 walks, which
/// stops early when most matches pass.
fn filter(
    conn: &Connection,
    join: &str,
    cond: &str,
    args: &[&dyn rusqlite::ToSql],
) -> Result<String> {
    let mut count = conn.prepare_cached(&format!(
        "SELECT COUNT(*) FROM (SELECT 1 FROM search_notes s {join} WHERE {cond} LIMIT {})",
        SMALL_FILTER + 1
    ))?;
    // (`cond` names some of `args`, up to the last: the others are bound unused.)
    let named = count.parameter_count().min(args.len());
    let kept: i64 = count.query_row(&args[..named], |r| r.get(0))?;
    Ok(if kept <= SMALL_FILTER {
        format!(" AND +{ROWID} IN (SELECT s.docid FROM search_notes s {join} WHERE {cond})")
    } else {
        format!(
            " AND EXISTS (SELECT 1 FROM search_notes s {join} WHERE s.docid = {ROWID} AND {cond})"
        )
    })
}

/// How many notes a filter of [`query`] may keep to be made a set first ([`filter`]).
const SMALL_FILTER: i64 = 2000;

/// Stands in [`query`]'s filters for the row of the FTS5 table searched ([`on`]).
const ROWID: &str = "@rowid";

/// `filters` of [`query`] on FTS5 table `table`.
fn on(filters: &str, table: &str) -> String {
    filters.replace(ROWID, &format!("{table}.rowid"))
}

/// How many matches a search ranks; when more notes match, the newest this many are ranked
/// (see [`query`]).
pub(crate) const RANK_WINDOW: i64 = 2000;

/// One part of a snippet: text, and whether it is what the query matched.
pub(crate) type Part = (String, bool);

/// A search result: the note's list row, and a snippet of where it matched.
pub(crate) struct Hit {
    pub(crate) row: super::notes::ListRow,
    pub(crate) snippet: Vec<Part>,
}

/// Notes matching `q` (from [`expanded_query`]) that have every one of `tags` and are in one
/// of `books`, at most `limit`, best first.
///
/// Up to [`RANK_WINDOW`] matches, "best" is BM25 (a match in the title counting ten times one
/// in the body: the table's `rank`). Past it the words are in so many notes that BM25 says
/// little (a word in most notes weighs nothing) and costs much: FTS5 reads each word's whole
/// list to weigh it, ~5 ms per word in 100,000 notes. Then the newest [`RANK_WINDOW`] matches
/// (by when each note was first indexed) are taken, those with a match in the title first,
/// each part newest first — lists FTS5 walks newest first and stops.
///
/// A query of phrases only is answered by their word pairs (`search_pairs`, see
/// [`expanded_query`]) once every note is indexed whole (before, a note may have no pairs
/// yet): title matches first, then the newest, as past the window; the snippets of the notes
/// shown are cut from their texts in a temporary index.
pub(crate) fn query(
    conn: &Connection,
    q: &Query,
    tags: &[String],
    books: Option<&Books>,
    limit: usize,
) -> Result<Vec<Hit>> {
    let fts = q.fts.as_str();
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let mut args: Vec<&dyn rusqlite::ToSql> = vec![&fts, &limit];
    let mut filters = String::new();
    for t in tags {
        args.push(t);
        let cond = format!("t.tag = ?{}", args.len());
        filters.push_str(&filter(conn, "JOIN note_tags t ON t.note_id = s.note_id", &cond, &args)?);
    }
    if let Some(b) = books {
        let mut any = Vec::new();
        if b.default {
            any.push(super::notes::IN_DEFAULT.to_string());
        }
        for id in b.ids {
            args.push(id);
            any.push(format!("n.notebook = ?{}", args.len()));
        }
        if any.is_empty() {
            any.push("0".into());
        }
        let cond = format!("({})", any.join(" OR "));
        filters.push_str(&filter(conn, "JOIN notes n ON n.id = s.note_id", &cond, &args)?);
    }
    if let Some(pairs) = &q.pairs {
        let pending: bool =
            conn.query_row("SELECT EXISTS (SELECT 1 FROM search_pending)", [], |r| r.get(0))?;
        if !pending {
            return by_pairs(conn, fts, pairs, &on(&filters, "search_pairs"), &args[2..], limit);
        }
    }
    // The rowid of the RANK_WINDOW-th newest match, if there are that many.
    let last = RANK_WINDOW - 1;
    let filters = on(&filters, "search");
    let cutoff: Option<i64> = {
        let mut wargs = args.clone();
        wargs[1] = &last;
        conn.prepare_cached(&format!(
            "SELECT rowid FROM search WHERE search MATCH ?1{filters} ORDER BY rowid DESC LIMIT 1 OFFSET ?2"
        ))?
        .query_row(&wargs[..], |r| r.get(0))
        .optional()?
    };
    let Some(cutoff) = cutoff else {
        return hits(conn, &filters, &args, Order::Rank, -1);
    };
    // The cutoff is a parameter: in the SQL text, every search would add statements to the
    // connection's cache and push out those of saving.
    let window = format!("{filters} AND rowid >= ?{}", args.len() + 1);
    args.push(&cutoff);
    let in_title = format!("{{title}} : ({fts})");
    let mut title_args = args.clone();
    title_args[0] = &in_title;
    // A title match shows the start of the body (its title is shown anyway).
    let mut found = hits(conn, &window, &title_args, Order::Newest, 1)?;
    let newest = hits(conn, &window, &args, Order::Newest, -1)?;
    let mut seen: std::collections::HashSet<String> =
        found.iter().map(|h| h.row.id.clone()).collect();
    for h in newest {
        if found.len() as i64 >= limit {
            break;
        }
        if seen.insert(h.row.id.clone()) {
            found.push(h);
        }
    }
    Ok(found)
}

/// [`query`] for a query of phrases only, answered by their word `pairs` (see there): the
/// notes whose title matches, then the others, newest first, at most `limit`, each with a
/// snippet of where `fts` matched. `filters` and `more` are [`query`]'s, from `?3` on.
fn by_pairs(
    conn: &Connection,
    fts: &str,
    pairs: &str,
    filters: &str,
    more: &[&dyn rusqlite::ToSql],
    limit: i64,
) -> Result<Vec<Hit>> {
    // (As many as the word index ranks at most: each shown note's text is indexed again for
    // its snippet.)
    let limit = limit.min(RANK_WINDOW);
    let in_title = format!("{{title}} : ({pairs})");
    let mut docids: Vec<(i64, bool)> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (query, title) in [(in_title.as_str(), true), (pairs, false)] {
        let mut args: Vec<&dyn rusqlite::ToSql> = vec![&query, &limit];
        args.extend_from_slice(more);
        let mut st = conn.prepare_cached(&format!(
            "SELECT rowid FROM search_pairs WHERE search_pairs MATCH ?1{filters} ORDER BY rowid DESC LIMIT ?2"
        ))?;
        for d in st.query_map(&args[..], |r| r.get::<_, i64>(0))? {
            let d = d?;
            if docids.len() as i64 >= limit {
                break;
            }
            if seen.insert(d) {
                docids.push((d, title));
            }
        }
    }
    let snippets = snippets_of(conn, fts, docids.iter().map(|(d, _)| *d))?;
    let mut row = conn.prepare_cached(&format!(
        "SELECT {} FROM search_notes s JOIN notes n ON n.id = s.note_id WHERE s.docid = ?1",
        super::notes::LIST_COLUMNS
    ))?;
    let mut out = Vec::with_capacity(docids.len());
    for (d, title) in docids {
        let Some(found) = row.query_row([d], |r| super::notes::list_row(r, 0)).optional()? else {
            continue;
        };
        // A title match shows the start of the body (its title is shown anyway).
        let snippet = snippets
            .get(&d)
            .map(|(best, body)| parts(if title { body } else { best }))
            .unwrap_or_default();
        out.push(Hit { row: found, snippet });
    }
    Ok(out)
}

/// The snippets of where `fts` matches the notes `docids` of the index, best and in the body:
/// their texts (the first [`SNIPPET_TEXT_CHARS`] of each) indexed in this connection's
/// temporary database (50 notes: ~3 ms). A note the query does not match there has none.
fn snippets_of(
    conn: &Connection,
    fts: &str,
    docids: impl Iterator<Item = i64>,
) -> Result<std::collections::HashMap<i64, (String, String)>> {
    let empty = || -> Result<()> {
        // Emptied whole, as `words_of` is in `tokens_of_all`.
        conn.prepare_cached("INSERT INTO temp.snippets (snippets) VALUES ('delete-all')")?
            .execute([])?;
        conn.prepare_cached("DELETE FROM temp.snippet_texts")?.execute([])?;
        Ok(())
    };
    let tx = conn.is_autocommit().then(|| conn.unchecked_transaction()).transpose()?;
    empty()?; // (Empty already, unless a search failed half-way.)
    let found = (|| -> Result<_> {
        let mut copy = conn.prepare_cached(
            "INSERT INTO temp.snippet_texts (id, title, body)
             SELECT rowid, title, substr(body, 1, ?2) FROM search WHERE rowid = ?1",
        )?;
        for d in docids {
            copy.execute(params![d, SNIPPET_TEXT_CHARS])?;
        }
        conn.prepare_cached("INSERT INTO temp.snippets (snippets) VALUES ('rebuild')")?
            .execute([])?;
        let mut st = conn.prepare_cached(
            "SELECT rowid, snippet(snippets, -1, char(1), char(2), '…', 12),
                    snippet(snippets, 1, char(1), char(2), '…', 12)
             FROM temp.snippets WHERE snippets MATCH ?1",
        )?;
        let mut found = std::collections::HashMap::new();
        let mut rows = st.query([fts])?;
        while let Some(r) = rows.next()? {
            found.insert(r.get(0)?, (r.get(1)?, r.get(2)?));
        }
        Ok(found)
    })();
    empty()?;
    if let Some(tx) = tx {
        tx.commit()?;
    }
    // A query FTS5 refuses here was taken by the index: no snippets rather than no results.
    Ok(found.unwrap_or_default())
}

/// How much of a note's text a snippet is looked for in ([`snippets_of`]): a match further on
/// in a big note shows no snippet, and a 5 MB note costs no more than a 100 KB one.
const SNIPPET_TEXT_CHARS: i64 = 100_000;

/// How [`hits`] orders matches.
enum Order {
    /// Best first (BM25).
    Rank,
    /// Newest first (by rowid, which FTS5 walks in order and stops).
    Newest,
}

/// The matches of `args[0]` (an FTS5 query) under `filters`, in `order`, at most `args[1]`,
/// with their list rows and a snippet of column `column` (-1: the one that matched best).
fn hits(
    conn: &Connection,
    filters: &str,
    args: &[&dyn rusqlite::ToSql],
    order: Order,
    column: i32,
) -> Result<Vec<Hit>> {
    // FTS5 orders by itself only on exactly `rank` or `rowid DESC`; `ord` is for the join.
    let (order, ord) = match order {
        Order::Rank => ("rank", "rank"),
        Order::Newest => ("rowid DESC", "-rowid"),
    };
    let mut st = conn.prepare_cached(&format!(
        "WITH hits AS (SELECT rowid AS docid, {ord} AS ord,
                              snippet(search, {column}, char(1), char(2), '…', 12) AS snip
                       FROM search WHERE search MATCH ?1{filters} ORDER BY {order} LIMIT ?2)
         SELECT h.snip, {}
         FROM hits h JOIN search_notes s ON s.docid = h.docid JOIN notes n ON n.id = s.note_id
         ORDER BY h.ord",
        super::notes::LIST_COLUMNS
    ))?;
    let rows = st.query_map(args, |r| {
        Ok(Hit { row: super::notes::list_row(r, 1)?, snippet: parts(&r.get::<_, String>(0)?) })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Ranks `texts` (`(id, title, body)`, notes that are not in the index: the trash) against
/// `fts` exactly as the index would, in a temporary FTS5 table of this connection: the ids that
/// match, best first, each with its snippet.
pub(crate) fn match_texts(
    conn: &Connection,
    fts: &str,
    texts: &[(String, String, String)],
) -> Result<Vec<(String, Vec<Part>)>> {
    conn.execute_batch(
        "DROP TABLE IF EXISTS temp.scratch_search;
         CREATE VIRTUAL TABLE temp.scratch_search
           USING fts5(id UNINDEXED, title, body, tokenize = 'unicode61 remove_diacritics 2');",
    )?;
    {
        let mut put = conn.prepare_cached(
            "INSERT INTO temp.scratch_search (id, title, body) VALUES (?1, ?2, ?3)",
        )?;
        for (id, title, body) in texts {
            put.execute(params![id, searchable(title), searchable(body)])?;
        }
    }
    let found = {
        let mut st = conn.prepare_cached(
            "SELECT id, snippet(scratch_search, -1, char(1), char(2), '…', 12) FROM temp.scratch_search
             WHERE scratch_search MATCH ?1 ORDER BY bm25(scratch_search, 0.0, 10.0, 1.0)",
        )?;
        let rows =
            st.query_map([fts], |r| Ok((r.get::<_, String>(0)?, parts(&r.get::<_, String>(1)?))))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()?
    };
    // Dropped, not emptied: deleted rows would stay in its index as deletion marks.
    conn.execute_batch("DROP TABLE temp.scratch_search")?;
    Ok(found)
}

/// The notebooks a search keeps notes of: any of these ids, or (`default`) the default
/// notebook.
pub(crate) struct Books<'a> {
    pub(crate) ids: &'a [String],
    pub(crate) default: bool,
}

/// Splits a snippet marked by FTS5 into parts, without the separators [`searchable`] added
/// and with line breaks shown as spaces.
fn parts(marked: &str) -> Vec<Part> {
    let mut out: Vec<Part> = Vec::new();
    let mut hit = false;
    let mut cur = String::new();
    for c in marked.chars() {
        match c {
            OPEN | CLOSE => {
                if !cur.is_empty() {
                    out.push((std::mem::take(&mut cur), hit));
                }
                hit = c == OPEN;
            }
            SEPARATOR => {}
            '\n' | '\r' | '\t' => {
                if !cur.ends_with(' ') {
                    cur.push(' ');
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push((cur, hit));
    }
    // Neighbouring matches (the characters of one unsegmented word) read as one.
    let mut merged: Vec<Part> = Vec::with_capacity(out.len());
    for (text, hit) in out {
        match merged.last_mut() {
            Some((t, h)) if *h == hit => t.push_str(&text),
            _ => merged.push((text, hit)),
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Notes a pull is about to index do not use up the few the user's keystrokes may leave to
    /// the next search; a pulled note the user then types into counts as the user's.
    #[test]
    fn notes_a_pull_marked_leave_the_users_deferred_edits_alone() {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::store::open(&dir.path().join("db")).unwrap();
        let pulled_ids: Vec<Uuid> = (0..20).map(|_| Uuid::new_v4()).collect();
        for id in &pulled_ids {
            mark_pulled(&conn, id).unwrap();
        }
        assert_eq!(pulled(&conn).unwrap().len(), 20);
        let typed: Vec<Uuid> = (0..DEFERRED).map(|_| Uuid::new_v4()).collect();
        for id in &typed {
            assert!(may_defer(&conn, id).unwrap());
            mark_stale(&conn, id).unwrap();
        }
        assert!(!may_defer(&conn, &Uuid::new_v4()).unwrap(), "the user's few are used up");
        assert!(may_defer(&conn, &pulled_ids[0]).unwrap(), "a note already waiting may wait");
        mark_stale(&conn, &pulled_ids[0]).unwrap();
        mark_pulled(&conn, &pulled_ids[0]).unwrap();
        assert_eq!(pulled(&conn).unwrap().len(), 19, "typed into: the user's now");
        assert_eq!(stale(&conn).unwrap().len(), 20 + DEFERRED as usize, "all before a search");
    }

    #[test]
    fn unsegmented_scripts_are_split_into_characters_and_others_left_alone() {
        assert_eq!(searchable("plain text, é"), "plain text, é");
        assert_eq!(searchable("在日本語で"), "在\u{200b}日\u{200b}本\u{200b}語\u{200b}で");
        assert_eq!(searchable("ab日本cd"), "ab日\u{200b}本cd");
    }

    #[test]
    fn a_typed_query_never_becomes_fts_syntax() {
        let cases = [
            ("needle", Some(r#""needle"*"#)),
            ("two words", Some(r#""two"* AND "words"*"#)),
            (r#""exact phrase" more"#, Some(r#""exact phrase" AND "more"*"#)),
            (r#""unclosed phr"#, Some(r#""unclosed phr""#)),
            ("NOT OR AND", Some(r#""NOT"* AND "OR"* AND "AND"*"#)),
            (r#"say"what"#, Some(r#""say"* AND "what""#)),
            ("日本語", Some("\"日\u{200b}本\u{200b}語\"")),
            ("col:val*^(x)", Some(r#""col:val*^(x)"*"#)),
            ("d", Some(r#""d""#)),
            ("de", Some(r#""de"*"#)),
            ("  !!! -- ", None),
            ("", None),
        ];
        for (typed, want) in cases {
            assert_eq!(fts_query(typed).as_deref(), want, "{typed:?}");
        }
    }

    #[test]
    fn past_the_window_title_matches_come_first_then_the_newest() {
        let conn = crate::store::open_in_memory().unwrap();
        let n = RANK_WINDOW as usize + 300;
        let ids: Vec<Uuid> = (0..n as u128).map(|i| Uuid::from_u128(i + 1)).collect();
        for (i, id) in ids.iter().enumerate() {
            // Two notes have the word in their title: the oldest and one of the newest.
            let title = if i == 0 || i == n - 10 { "common ground" } else { "plain" };
            conn.execute(
                "INSERT INTO notes (id, title, first_line, created_at, updated_at, deleted, rev) VALUES (?1, ?2, '', 0, 0, 0, 1)",
                params![id.to_string(), title],
            )
            .unwrap();
            put(&conn, id, title, "a common word", true).unwrap();
        }
        let hits = query(&conn, &expanded_query(&conn, "common").unwrap().unwrap(), &[], None, 50)
            .unwrap();
        assert_eq!(hits.len(), 50);
        // Among the newest RANK_WINDOW matches, the title match first, then the newest.
        assert_eq!(hits[0].row.id, ids[n - 10].to_string());
        let at: Vec<usize> = hits
            .iter()
            .map(|h| ids.iter().position(|i| i.to_string() == h.row.id).unwrap())
            .collect();
        let rest: Vec<usize> = (0..n).rev().filter(|i| *i != n - 10).take(49).collect();
        assert_eq!(at[1..], rest[..], "newest first after the title match");
        assert!(at.iter().all(|a| *a >= n - RANK_WINDOW as usize), "none older than the window");
        // Under the window, every match is ranked: the oldest note is found by its title.
        let few = query(&conn, &expanded_query(&conn, "ground").unwrap().unwrap(), &[], None, 50)
            .unwrap();
        let found: Vec<&str> = few.iter().map(|h| h.row.id.as_str()).collect();
        assert_eq!(found.len(), 2);
        assert!(found.contains(&ids[0].to_string().as_str()));
    }

    #[test]
    fn a_filter_keeps_its_notes_whether_it_is_made_a_set_or_checked_on_each_match() {
        let conn = crate::store::open_in_memory().unwrap();
        let n = SMALL_FILTER as usize + 100;
        for i in 0..n {
            let id = Uuid::from_u128(i as u128 + 1).to_string();
            conn.execute(
                "INSERT INTO notes (id, title, first_line, created_at, updated_at, deleted, rev) VALUES (?1, 'n', '', 0, 0, 0, 1)",
                [&id],
            )
            .unwrap();
            put(&conn, &Uuid::from_u128(i as u128 + 1), "n", "a common word", true).unwrap();
            conn.execute("INSERT INTO note_tags (tag, note_id) VALUES ('all', ?1)", [&id]).unwrap();
            if i % 300 == 0 {
                conn.execute("INSERT INTO note_tags (tag, note_id) VALUES ('few', ?1)", [&id])
                    .unwrap();
            }
        }
        let common = expanded_query(&conn, "common").unwrap().unwrap();
        let phrase = expanded_query(&conn, "\"common word\"").unwrap().unwrap();
        for q in [&common, &phrase] {
            // Checked on each match (more notes than SMALL_FILTER): the newest 50.
            let all = query(&conn, q, &["all".into()], None, 50).unwrap();
            assert_eq!(all.len(), 50, "{}", q.fts);
            assert_eq!(all[0].row.id, Uuid::from_u128(n as u128).to_string());
            // A set made first (few notes): exactly them.
            let few = query(&conn, q, &["few".into()], None, 50).unwrap();
            let mut got: Vec<String> = few.into_iter().map(|h| h.row.id).collect();
            got.sort();
            let mut want: Vec<String> =
                (0..n).step_by(300).map(|i| Uuid::from_u128(i as u128 + 1).to_string()).collect();
            want.sort();
            assert_eq!(got, want, "{}", q.fts);
            // Both at once.
            let both = query(&conn, q, &["all".into(), "few".into()], None, 50).unwrap();
            assert_eq!(both.len(), want.len());
        }
    }

    #[test]
    fn a_prefix_stands_for_the_indexed_words_it_starts_when_they_are_few() {
        let conn = crate::store::open_in_memory().unwrap();
        let many: Vec<String> = (0..=MAX_EXPANSION).map(|i| format!("many{i:02}")).collect();
        let body = format!("Meetings and a MEETING at the Café; 日本語. {}", many.join(" "));
        conn.execute(
            "INSERT INTO notes (id, title, first_line, created_at, updated_at, deleted, rev) VALUES (?1, 'Crème', '', 0, 0, 0, 1)",
            [Uuid::from_u128(1).to_string()],
        )
        .unwrap();
        put(&conn, &Uuid::from_u128(1), "Crème", &body, true).unwrap();
        let cases = [
            ("meet", Some(r#"("meeting" OR "meetings")"#)),
            ("Meeting", Some(r#"("meeting" OR "meetings")"#)),
            ("CAF", Some(r#"("cafe")"#)), // folded as the index folds it
            ("creme the", Some(r#"("creme") AND ("the")"#)),
            ("\"meet\" me", Some(r#""meet" AND ("meeting" OR "meetings")"#)), // a phrase: not
            ("many", Some(r#""many"*"#)), // too many words: FTS5's prefix
            ("m", Some(r#""m""#)),
            ("col:val", Some(r#""col:val"*"#)), // two words to the tokenizer: left to FTS5
            ("日本語", Some("\"日\u{200b}本\u{200b}語\"")),
            ("", None),
        ];
        for (typed, want) in cases {
            assert_eq!(
                expanded_query(&conn, typed).unwrap().map(|q| q.fts).as_deref(),
                want,
                "{typed:?}"
            );
        }
        // And the expanded query finds the note.
        let fts = expanded_query(&conn, "meet caf").unwrap().unwrap();
        assert_eq!(query(&conn, &fts, &[], None, 10).unwrap().len(), 1);
    }

    #[test]
    fn a_phrase_is_found_by_its_pairs_in_exactly_the_notes_the_word_index_finds() {
        let conn = crate::store::open_in_memory().unwrap();
        let texts = [
            ("Follow up", "We follow up with the client on Friday."),
            ("Plain", "follow, up — with the team; FOLLOW-UP WITH the Café"),
            ("Crème brûlée", "follow the up with"),
            ("Split", "follow up\n\nwith a gap"),
            ("follow up with", "in the title only"),
            ("Across follow", "up with the body"),
            ("日本語の本", "東京で日本語の本を買った"),
            ("Repeat", "a a a b"),
        ];
        for (i, (title, body)) in texts.iter().enumerate() {
            conn.execute(
                "INSERT INTO notes (id, title, first_line, created_at, updated_at, deleted, rev) VALUES (?1, ?2, '', 0, 0, 0, 1)",
                params![Uuid::from_u128(i as u128 + 1).to_string(), title],
            )
            .unwrap();
            put(&conn, &Uuid::from_u128(i as u128 + 1), title, body, true).unwrap();
        }
        let found = |q: &Query| -> Vec<String> {
            let mut ids: Vec<String> =
                query(&conn, q, &[], None, 50).unwrap().into_iter().map(|h| h.row.id).collect();
            ids.sort();
            ids
        };
        let cases = [
            // (typed, answered by pairs)
            (r#""follow up with""#, true),
            (r#""follow up""#, true),
            (r#""up with" "the client""#, true),
            (r#""with the""#, true),
            (r#""up with cafe""#, true),
            (r#""brulee""#, false), // one word: the word index
            (r#""creme brulee""#, true),
            ("日本語", true),
            (r#""a a a""#, true),
            (r#""a a a a""#, true),
            (r#""follow up" with"#, false), // a word being typed: a prefix
        ];
        for (typed, paired) in cases {
            let q = expanded_query(&conn, typed).unwrap().unwrap();
            assert_eq!(q.pairs.is_some(), paired, "{typed:?}: {:?}", q.pairs);
            let mut want: Vec<String> = conn
                .prepare(
                    "SELECT n.note_id FROM search JOIN search_notes n ON n.docid = search.rowid
                     WHERE search MATCH ?1",
                )
                .unwrap()
                .query_map([&q.fts], |r| r.get(0))
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap();
            want.sort();
            assert_eq!(found(&q), want, "{typed:?}");
        }
        // Title matches first, then the newest; the snippet marks the phrase.
        let q = expanded_query(&conn, r#""follow up with""#).unwrap().unwrap();
        let hits = query(&conn, &q, &[], None, 50).unwrap();
        let order: Vec<u128> =
            hits.iter().map(|h| Uuid::parse_str(&h.row.id).unwrap().as_u128()).collect();
        assert_eq!(order, [5, 4, 2, 1]);
        let marked: Vec<&str> =
            hits[3].snippet.iter().filter(|(_, hit)| *hit).map(|(t, _)| t.as_str()).collect();
        assert_eq!(marked, ["follow up with"], "{:?}", hits[3].snippet);
        // Across the title and the body is no phrase; nor while a note waits to be indexed.
        let q = expanded_query(&conn, r#""across follow up""#).unwrap().unwrap();
        assert!(found(&q).is_empty());
        conn.execute("INSERT INTO search_pending (note_id) VALUES ('x')", []).unwrap();
        let q = expanded_query(&conn, r#""follow up with""#).unwrap().unwrap();
        assert_eq!(found(&q).len(), 4, "the word index answers meanwhile");
    }

    #[test]
    fn snippets_lose_their_marks_and_separators() {
        let marked = "…see \u{1}日\u{200b}本\u{2}\u{200b}\u{1}語\u{2} and\nmore";
        assert_eq!(
            parts(marked),
            vec![("…see ".into(), false), ("日本語".into(), true), (" and more".into(), false)]
        );
    }
}
