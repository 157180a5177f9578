//! Markdown as other apps write it, read as this one keeps notes: the front matter taken out of
//! the text ([`split_front_matter`]), inline `#tags` gathered and links found ([`rewrite`]).
//! Pure functions over text: which file a link names, and attaching it, is the caller's.

use yaml_rust2::{Yaml, YamlLoader};

use crate::docs::note;

/// The largest front matter read (64 KB); a bigger block stays in the text.
const MAX_FRONT_MATTER: usize = 64 * 1024;

/// What a note's front matter said (the YAML block between `---` lines at its start).
#[derive(Debug, Default, PartialEq)]
pub(crate) struct FrontMatter {
    pub(crate) title: Option<String>,
    pub(crate) tags: Vec<String>,
    pub(crate) aliases: Vec<String>,
    /// ms since the Unix epoch.
    pub(crate) created: Option<i64>,
    /// ms since the Unix epoch.
    pub(crate) updated: Option<i64>,
    /// The id of the note this file was exported from (this app's export writes it), which
    /// tells a re-import that the note is already here.
    pub(crate) id: Option<uuid::Uuid>,
    /// `pinned: true`.
    pub(crate) pinned: bool,
    /// Written by this app's export: it starts with `title`, `id` (a UUID), `created` and
    /// `updated`, in that order. Such a note's tags are all listed (a `#word` in its text is
    /// not one) and its title is as written, even empty. Another app's `id` is only an `id`.
    pub(crate) ours: bool,
    /// The names of the notebooks the note was in, from the top (this app's export writes
    /// them: a folder's name may have lost characters no file system allows).
    pub(crate) notebook: Vec<String>,
}

/// A note's text split from its front matter.
#[derive(Debug, PartialEq)]
pub(crate) struct Split {
    pub(crate) front: FrontMatter,
    /// The text, with the front matter's other entries kept at its top as written.
    pub(crate) body: String,
    /// Why the front matter could not be read (it is then left in the text as it was).
    pub(crate) problem: Option<String>,
}

/// Takes the front matter out of `text`: title, tags, aliases and times are read; the other
/// entries stay at the top of the body as a smaller front matter block, line for line, so
/// nothing is lost.
pub(crate) fn split_front_matter(text: &str) -> Split {
    let whole = |problem| Split { front: FrontMatter::default(), body: text.to_string(), problem };
    let Some(rest) = text.strip_prefix("---\n").or_else(|| text.strip_prefix("---\r\n")) else {
        return whole(None);
    };
    // The block ends at a line of `---` or `...`.
    let mut offset = 0;
    let mut end = None;
    for line in rest.split_inclusive('\n') {
        let l = line.trim_end_matches(['\n', '\r']);
        if l == "---" || l == "..." {
            end = Some((offset, offset + line.len()));
            break;
        }
        offset += line.len();
    }
    let Some((yaml_end, body_start)) = end else { return whole(None) };
    if yaml_end > MAX_FRONT_MATTER {
        return whole(Some(
            "its front matter is too large to read; it was kept in the text".into(),
        ));
    }
    let yaml = &rest[..yaml_end];
    let body = rest[body_start..].trim_start_matches(['\n', '\r']);
    if let Some(why) = aliases_or_error(yaml) {
        return whole(Some(why));
    }
    let docs = match YamlLoader::load_from_str(yaml) {
        Ok(d) => d,
        Err(e) => return whole(Some(yaml_problem(&e))),
    };
    let map = match docs.into_iter().next() {
        None | Some(Yaml::Null) => {
            return Split { front: FrontMatter::default(), body: body.to_string(), problem: None }
        }
        Some(Yaml::Hash(h)) => h,
        Some(_) => {
            return whole(Some(
                "its front matter is not a list of names and values; it was kept in the text"
                    .into(),
            ))
        }
    };
    let mut front = FrontMatter::default();
    let first_keys: Vec<&str> = map.keys().take(4).filter_map(Yaml::as_str).collect();
    let ours_keys = first_keys == ["title", "id", "created", "updated"];
    let mut read_keys = Vec::new();
    for (k, v) in map {
        let Yaml::String(name) = &k else { continue };
        let key = name.trim().to_lowercase().replace(['_', '-'], " ");
        let read = match key.as_str() {
            "title" => scalar(&v).map(|t| front.title = Some(t)).is_some(),
            "tags" | "tag" | "keywords" => {
                let tags: Vec<String> = match &v {
                    // Each item of a list is one tag (tags may hold spaces).
                    Yaml::Array(a) => {
                        a.iter().filter_map(scalar).filter_map(|t| note::tag_name(&t)).collect()
                    }
                    other => scalar(other).map(|t| split_tags(&t)).unwrap_or_default(),
                };
                front.tags.extend(tags.iter().cloned());
                !tags.is_empty()
            }
            "aliases" | "alias" => {
                let aliases = list(&v);
                front.aliases.extend(aliases.iter().cloned());
                !aliases.is_empty()
            }
            "created" | "date" | "created at" | "creation date" | "date created" => {
                time_of(&v).map(|t| front.created = Some(t)).is_some()
            }
            "updated" | "modified" | "updated at" | "last modified" | "date modified"
            | "lastmod" => time_of(&v).map(|t| front.updated = Some(t)).is_some(),
            "id" => scalar(&v)
                .and_then(|i| uuid::Uuid::parse_str(i.trim()).ok())
                .map(|i| front.id = Some(i))
                .is_some(),
            "notebook" if matches!(v, Yaml::Array(_)) => {
                front.notebook = list(&v);
                true
            }
            "pinned" => {
                matches!(v, Yaml::Boolean(_)) && {
                    front.pinned = v == Yaml::Boolean(true);
                    true
                }
            }
            _ => false,
        };
        if read {
            read_keys.push(name.clone());
        }
    }
    front.ours = ours_keys && front.id.is_some();
    let kept = without_keys(yaml, &read_keys);
    let body =
        if kept.trim().is_empty() { body.to_string() } else { format!("---\n{kept}---\n\n{body}") };
    Split { front, body, problem: None }
}

/// Why YAML cannot be read: it does not parse, or it uses aliases (`*name`), which a loader
/// copies at each use — a few lines of them can ask for gigabytes.
fn aliases_or_error(yaml: &str) -> Option<String> {
    let mut parser = yaml_rust2::parser::Parser::new_from_str(yaml);
    loop {
        match parser.next_token() {
            Ok((yaml_rust2::Event::StreamEnd, _)) => return None,
            Ok((yaml_rust2::Event::Alias(_), _)) => {
                return Some(
                    "its front matter uses YAML aliases (*name), which are not read; it was kept in the text"
                        .into(),
                )
            }
            Ok(_) => {}
            Err(e) => return Some(yaml_problem(&e)),
        }
    }
}

fn yaml_problem(e: &yaml_rust2::ScanError) -> String {
    format!(
        "its front matter is not valid YAML (line {}: {}); it was kept in the text",
        e.marker().line() + 1,
        e.info()
    )
}

/// `yaml` without the top-level entries named `keys`, every other line kept as written
/// (comments, quoting and number formats included). An entry is its `key:` line and the lines
/// after it that are indented, list items or blank.
fn without_keys(yaml: &str, keys: &[String]) -> String {
    let mut out = String::new();
    let mut dropping = false;
    for line in yaml.split_inclusive('\n') {
        let starts_entry =
            !line.starts_with([' ', '\t', '-', '#', '\n', '\r']) && line.contains(':');
        if starts_entry {
            let key = line.split(':').next().unwrap_or("").trim().trim_matches(['"', '\'']);
            dropping = keys.iter().any(|k| k == key);
        } else if line.starts_with('#') {
            dropping = false;
        }
        if !dropping {
            out.push_str(line);
        }
    }
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

/// A scalar as text.
fn scalar(v: &Yaml) -> Option<String> {
    match v {
        Yaml::String(s) | Yaml::Real(s) => Some(s.clone()),
        Yaml::Integer(i) => Some(i.to_string()),
        Yaml::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A list, or one value, as texts.
fn list(v: &Yaml) -> Vec<String> {
    match v {
        Yaml::Array(a) => a.iter().filter_map(scalar).collect(),
        other => scalar(other).into_iter().collect(),
    }
}

/// Tags written in one string: `a, b` or `#a #b`.
fn split_tags(s: &str) -> Vec<String> {
    s.split(|c: char| c == ',' || c.is_whitespace()).filter_map(note::tag_name).collect()
}

/// A time as front matter writes it: `2024-01-31` (or `20240131`), `2024-01-31 10:20[:30]`,
/// RFC 3339 with `Z` or an offset, or seconds (or ms) since the Unix epoch; a time without an
/// offset is taken as UTC. ms since the Unix epoch.
fn time_of(v: &Yaml) -> Option<i64> {
    match v {
        // 20240131: a date written without dashes.
        Yaml::Integer(n) if (19_000_101..=29_991_231).contains(n) => {
            let d = n.to_string();
            parse_time(&format!("{}-{}-{}", &d[..4], &d[4..6], &d[6..]))
        }
        Yaml::Integer(n) if *n > 100_000_000_000 => Some(*n),
        Yaml::Integer(n) if *n > 0 => Some(n * 1000),
        Yaml::String(s) => parse_time(s),
        _ => None,
    }
}

/// Parses a written time (see [`time_of`]); `None` when it is not one.
pub(crate) fn parse_time(s: &str) -> Option<i64> {
    let s = s.trim();
    let (s, offset_min) = split_offset(s);
    let s = if s.len() == 10 { format!("{s} 00:00:00") } else { s.to_string() };
    let s = if s.len() == 16 { format!("{s}:00") } else { s };
    let t = humantime::parse_rfc3339_weak(&s).ok()?;
    let ms = t.duration_since(std::time::UNIX_EPOCH).ok()?.as_millis() as i64;
    Some(ms - offset_min * 60_000)
}

/// A time without its `Z` or `±HH:MM` offset, and the offset in minutes.
fn split_offset(s: &str) -> (&str, i64) {
    if let Some(t) = s.strip_suffix('Z').or_else(|| s.strip_suffix('z')) {
        return (t, 0);
    }
    let b = s.as_bytes();
    if b.len() > 16 && b[b.len() - 3] == b':' && matches!(b[b.len() - 6], b'+' | b'-') {
        let (h, m) = (s[s.len() - 5..s.len() - 3].parse::<i64>(), s[s.len() - 2..].parse::<i64>());
        if let (Ok(h), Ok(m)) = (h, m) {
            let sign = if b[b.len() - 6] == b'-' { -1 } else { 1 };
            return (&s[..s.len() - 6], sign * (h * 60 + m));
        }
    }
    (s, 0)
}

/// How a link was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LinkKind {
    /// `[[target]]`, `[[target|label]]`, `[[target#heading]]`.
    Wiki,
    /// `![[file.png]]`: an embedded file or note.
    WikiEmbed,
    /// `[label](path)`.
    Markdown,
    /// `![alt](path)`.
    Image,
}

/// A link to something by its name or path, as found in a note.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Link {
    pub(crate) kind: LinkKind,
    /// The note or file named: a wikilink's target before any `#` or `|`, or a Markdown link's
    /// path, percent-decoded.
    pub(crate) target: String,
    /// The heading or block (`^id`) named after `#`, if any.
    pub(crate) heading: Option<String>,
    /// The label written (`[[target|label]]`, `[label](path)`, the alt text of an image).
    pub(crate) label: Option<String>,
}

/// What [`rewrite`] found besides the text.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Found {
    /// Inline `#tags` (and Logseq's `#[[two words]]`), as [`note::tag_name`] makes them, in
    /// order, each once.
    pub(crate) tags: Vec<String>,
}

/// How far past a `[` a link's `]` is looked for: a line of brackets (unfenced JSON) must not
/// take time by the square of its length.
const MAX_LABEL: usize = 1_000;

/// An open code fence: its character and length.
type Fence = (char, usize);

/// The fence a line opens or closes (CommonMark: three or more backticks or tildes, indented
/// at most three spaces; a backtick fence's info string holds no backtick).
fn fence_of(line: &str) -> Option<(Fence, &str)> {
    let t = line.trim_start_matches(' ');
    if line.len() - t.len() > 3 {
        return None;
    }
    let c = t.chars().next().filter(|c| matches!(c, '`' | '~'))?;
    let n = t.chars().take_while(|&x| x == c).count();
    let info = t[n..].trim();
    (n >= 3 && !(c == '`' && info.contains('`'))).then_some(((c, n), info))
}

/// Finds the tags and links in `body` outside code, HTML tags and comments, and replaces each
/// link for which `replace` gives new Markdown (a link it does not know stays as written).
pub(crate) fn rewrite(
    body: &str,
    replace: &mut dyn FnMut(&Link) -> Option<String>,
) -> (String, Found) {
    let mut out = String::with_capacity(body.len());
    let mut found = Found::default();
    let mut fence: Option<Fence> = None;
    for line in body.split_inclusive('\n') {
        match (fence, fence_of(line)) {
            (None, Some((f, _))) => fence = Some(f),
            (Some((c, n)), Some(((c2, n2), ""))) if c == c2 && n2 >= n => fence = None,
            (Some(_), _) => {}
            (None, None) => {
                // Inline code spans (between backticks) are left alone.
                for (i, part) in line.split('`').enumerate() {
                    if i > 0 {
                        out.push('`');
                    }
                    if i % 2 == 1 {
                        out.push_str(part);
                    } else {
                        rewrite_text(part, replace, &mut out, &mut found);
                    }
                }
                continue;
            }
        }
        out.push_str(line);
    }
    (out, found)
}

/// [`rewrite`] on text outside code.
fn rewrite_text(
    text: &str,
    replace: &mut dyn FnMut(&Link) -> Option<String>,
    out: &mut String,
    found: &mut Found,
) {
    let mut i = 0;
    let mut copied = 0;
    let b = text.as_bytes();
    let mut add_tag = |name: &str| {
        if name.chars().any(|c| !c.is_ascii_digit()) {
            if let Some(t) = note::tag_name(name) {
                if !found.tags.contains(&t) {
                    found.tags.push(t);
                }
            }
        }
    };
    while i < b.len() {
        let rest = &text[i..];
        // HTML tags (`<span style="color: #e03e2d">`), HTML and Obsidian comments: skipped.
        let skip = if rest.starts_with("<!--") {
            rest.find("-->").map(|e| e + 3)
        } else if let Some(after) = rest.strip_prefix("%%") {
            after.find("%%").map(|e| e + 4)
        } else if rest.starts_with('<')
            && rest[1..].starts_with(|c: char| c.is_ascii_alphabetic() || c == '/')
        {
            rest.find('>').map(|e| e + 1)
        } else {
            None
        };
        if let Some(n) = skip {
            i += n;
            continue;
        }
        let matched = match b[i] {
            b'!' if rest.starts_with("![[") => wiki(text, i + 3, LinkKind::WikiEmbed),
            b'[' if rest.starts_with("[[") => wiki(text, i + 2, LinkKind::Wiki),
            b'!' if rest.starts_with("![") => markdown_link(text, i + 2, LinkKind::Image),
            b'[' => markdown_link(text, i + 1, LinkKind::Markdown),
            b'#' if i == 0 || text[..i].ends_with(char::is_whitespace) => {
                if let Some((end, link)) =
                    rest.starts_with("#[[").then(|| wiki(text, i + 3, LinkKind::Wiki)).flatten()
                {
                    // Logseq's tag of several words: a tag, and the text stays.
                    add_tag(&link.target);
                    i = end;
                    continue;
                }
                let name: String = rest[1..]
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '/'))
                    .collect();
                add_tag(&name);
                None
            }
            _ => None,
        };
        match matched {
            Some((end, link)) => {
                if let Some(new) = replace(&link) {
                    out.push_str(&text[copied..i]);
                    out.push_str(&new);
                    copied = end;
                }
                i = end;
            }
            None => i += rest.chars().next().map_or(1, char::len_utf8),
        }
    }
    out.push_str(&text[copied..]);
}

/// The first `pat` in `text` from `from`, looked for over at most [`MAX_LABEL`] bytes.
fn find_near(text: &str, from: usize, pat: &str) -> Option<usize> {
    let mut end = (from + MAX_LABEL + pat.len()).min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[from..end].find(pat).map(|i| i + from)
}

/// A target and the heading after its `#`.
fn target_and_heading(t: &str) -> (String, Option<String>) {
    match t.split_once('#') {
        Some((t, h)) => {
            (t.trim().to_string(), Some(h.trim().to_string()).filter(|h| !h.is_empty()))
        }
        None => (t.trim().to_string(), None),
    }
}

/// A wikilink whose inside starts at `from`: its end and the link.
fn wiki(text: &str, from: usize, kind: LinkKind) -> Option<(usize, Link)> {
    let close = find_near(text, from, "]]")?;
    let inner = &text[from..close];
    if inner.is_empty() || inner.contains('[') || inner.contains('\n') {
        return None;
    }
    let (target, label) = match inner.split_once('|') {
        // In a table the bar is written `\|`.
        Some((t, l)) => (t.strip_suffix('\\').unwrap_or(t), Some(l.trim().to_string())),
        None => (inner, None),
    };
    let (target, heading) = target_and_heading(target);
    if target.is_empty() {
        return None;
    }
    Some((close + 2, Link { kind, target, heading, label }))
}

/// A Markdown link whose label starts at `from`: its end and the link, when its destination
/// is a path (not a URL, not `#heading`). The destination may hold balanced parentheses
/// (`Notes (2).md`) and spaces, and be followed by a quoted title.
fn markdown_link(text: &str, from: usize, kind: LinkKind) -> Option<(usize, Link)> {
    let close = find_near(text, from, "]")?;
    if !text[close..].starts_with("](") || text[from..close].contains('[') {
        return None;
    }
    let label = &text[from..close];
    let dest_start = close + 2;
    let mut depth = 0usize;
    let mut end = None;
    for (k, c) in text[dest_start..].char_indices() {
        match c {
            '(' => depth += 1,
            ')' if depth == 0 => {
                end = Some(dest_start + k);
                break;
            }
            ')' => depth -= 1,
            '\n' => return None,
            _ => {}
        }
    }
    let end = end?;
    let raw = text[dest_start..end].trim();
    let dest = if let Some(r) = raw.strip_prefix('<') {
        &r[..r.find('>')?]
    } else {
        // A title: `path "title"` or `path 'title'`.
        let quoted = |q: char| {
            let r = raw.strip_suffix(q)?;
            let open = r.rfind(q)?;
            r[..open].ends_with([' ', '\t']).then(|| r[..open].trim_end())
        };
        quoted('"').or_else(|| quoted('\'')).unwrap_or(raw)
    };
    let scheme = dest.split_once(':').is_some_and(|(s, _)| {
        s.len() > 1 && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '.' | '-'))
    });
    if dest.is_empty() || dest.starts_with('#') || scheme {
        return None;
    }
    let decoded = percent_encoding::percent_decode_str(dest).decode_utf8_lossy().into_owned();
    let (target, heading) = target_and_heading(&decoded);
    Some((end + 1, Link { kind, target, heading, label: Some(label.to_string()) }))
}

/// A label safe inside `[...]`.
pub(crate) fn label(text: &str) -> String {
    text.chars().map(|c| if matches!(c, '[' | ']' | '\\') { ' ' } else { c }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (text, title, tags, created, body, whether a problem is reported).
    type Case<'a> = (&'a str, Option<&'a str>, &'a [&'a str], Option<i64>, &'a str, bool);

    #[test]
    fn front_matter_cases() {
        let t = parse_time;
        let cases: &[Case] = &[
            ("no front matter", None, &[], None, "no front matter", false),
            (
                "---\ntitle: Trip\ntags: [Travel, \"#Work\"]\ncreated: 2024-01-31\n---\nPack",
                Some("Trip"),
                &["travel", "work"],
                t("2024-01-31"),
                "Pack",
                false,
            ),
            (
                "---\ntags:\n  - a\n  - b/c\ndate: 2024-01-31T10:00:00+02:00\n---\n\nText",
                None,
                &["a", "b/c"],
                t("2024-01-31 08:00:00"),
                "Text",
                false,
            ),
            ("---\ntags: x, y\n---\nT", None, &["x", "y"], None, "T", false),
            ("---\n---\nEmpty block", None, &[], None, "Empty block", false),
            (
                "---\ntitle: [unclosed\n---\nBody",
                None,
                &[],
                None,
                "---\ntitle: [unclosed\n---\nBody",
                true,
            ),
            ("---\njust a line\n---\nB", None, &[], None, "---\njust a line\n---\nB", true),
            ("---\nnever closed\nBody", None, &[], None, "---\nnever closed\nBody", false),
        ];
        for (text, title, tags, created, body, problem) in cases {
            let s = split_front_matter(text);
            assert_eq!(s.front.title.as_deref(), *title, "{text}");
            assert_eq!(
                s.front.tags,
                tags.iter().map(|t| t.to_string()).collect::<Vec<_>>(),
                "{text}"
            );
            assert_eq!(s.front.created, *created, "{text}");
            assert_eq!(s.body, *body, "{text}");
            assert_eq!(s.problem.is_some(), *problem, "{text}: {:?}", s.problem);
        }
    }

    #[test]
    fn keys_not_read_stay_at_the_top_of_the_text() {
        let s = split_front_matter("---\ntitle: T\nauthor: Ann\nrating: 5\n---\nBody\n");
        assert_eq!(s.front.title.as_deref(), Some("T"));
        assert_eq!(s.body, "---\nauthor: Ann\nrating: 5\n---\n\nBody\n");
        let again = split_front_matter(&s.body);
        assert!(again.problem.is_none() && again.front == FrontMatter::default());
    }

    #[test]
    fn written_times() {
        assert_eq!(parse_time("1970-01-02"), Some(86_400_000));
        assert_eq!(parse_time("1970-01-01 00:01"), Some(60_000));
        assert_eq!(parse_time("1970-01-01T01:00:00+01:00"), Some(0));
        assert_eq!(parse_time("1970-01-01T00:00:00-00:30"), Some(1_800_000));
        assert_eq!(parse_time("1970-01-01T00:00:01.5Z"), Some(1_500));
        assert_eq!(parse_time("yesterday"), None);
        assert_eq!(time_of(&Yaml::Integer(1_700_000_000)), Some(1_700_000_000_000));
        assert_eq!(time_of(&Yaml::Integer(1_700_000_000_123)), Some(1_700_000_000_123));
    }

    fn links_of(body: &str) -> (Vec<Link>, String, Vec<String>) {
        let mut seen = Vec::new();
        let (out, found) = rewrite(body, &mut |l| {
            seen.push(l.clone());
            Some(format!("<{}>", l.target))
        });
        (seen, out, found.tags)
    }

    #[test]
    fn links_and_tags_are_found_outside_code() {
        let body = "See [[Other note|the other]] and [[Plans#June]], ![[pic.png]] and \
                    [doc](files/a%20b.pdf \"title\") ![alt](<img/x y.png>) #idea #2024 #a/b\n\
                    [web](https://example.com) [top](#heading) `[[not a link]] #notag`\n\
                    ```\n[[code]] #code\n```\nc#sharp # heading";
        let (links, out, tags) = links_of(body);
        let got: Vec<(LinkKind, &str, Option<&str>)> =
            links.iter().map(|l| (l.kind, l.target.as_str(), l.label.as_deref())).collect();
        assert_eq!(
            got,
            vec![
                (LinkKind::Wiki, "Other note", Some("the other")),
                (LinkKind::Wiki, "Plans", None),
                (LinkKind::WikiEmbed, "pic.png", None),
                (LinkKind::Markdown, "files/a b.pdf", Some("doc")),
                (LinkKind::Image, "img/x y.png", Some("alt")),
            ]
        );
        assert_eq!(tags, vec!["idea", "a/b"]);
        assert_eq!(
            out,
            "See <Other note> and <Plans>, <pic.png> and <files/a b.pdf> <img/x y.png> #idea \
             #2024 #a/b\n[web](https://example.com) [top](#heading) `[[not a link]] #notag`\n\
             ```\n[[code]] #code\n```\nc#sharp # heading"
        );
    }

    #[test]
    fn a_link_left_alone_is_kept_as_written() {
        let body = "Keep [[this]] and [that](there.md) — ünïcode [[é|É]]";
        let (out, _) = rewrite(body, &mut |_| None);
        assert_eq!(out, body);
    }

    #[test]
    fn only_this_apps_export_is_taken_for_its_own() {
        let id = "0b8f6c1e-3d2a-4c5b-9e7f-1a2b3c4d5e6f";
        let ours = format!("---\ntitle: \"\"\nid: {id}\ncreated: 2024-01-02T03:04:05Z\nupdated: 2024-01-02T03:04:05Z\n---\n\nx");
        let s = split_front_matter(&ours);
        assert!(s.front.ours);
        assert_eq!(s.front.id.map(|i| i.to_string()).as_deref(), Some(id));
        // Another app's note with a UUID for an id: read, but not taken for ours.
        for other in [
            format!("---\nid: {id}\ntitle: Zettel\n---\nx #idea"),
            format!("---\ntitle: t\nid: {id}\ncreated: 2024-01-02\n---\nx"),
            "---\ntitle: t\nid: 20240102\ncreated: 2024-01-02\nupdated: 2024-01-03\n---\nx"
                .to_string(),
        ] {
            let s = split_front_matter(&other);
            assert!(!s.front.ours, "{other}");
        }
    }

    #[test]
    fn front_matter_is_kept_as_written_and_read_with_care() {
        let s = split_front_matter(
            "---\n# about\nzip: 01234\ntags:\n  - machine learning\n  - Work\nphone: +4912345\n---\nB",
        );
        assert_eq!(s.front.tags, ["machine learning", "work"]);
        assert_eq!(s.body, "---\n# about\nzip: 01234\nphone: +4912345\n---\n\nB");
        // Tags that are not names stay in the text; a date without dashes is a date.
        let s = split_front_matter("---\ntags: {work: x}\ndate: 20240131\n---\nB");
        assert!(s.front.tags.is_empty());
        assert_eq!(s.front.created, parse_time("2024-01-31"));
        assert_eq!(s.body, "---\ntags: {work: x}\n---\n\nB");
        // Aliases could ask for gigabytes: the block is not read.
        let bomb = "---\na: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n---\nB";
        let s = split_front_matter(bomb);
        assert!(s.problem.unwrap().contains("aliases"));
        assert_eq!(s.body, bomb);
    }

    #[test]
    fn links_written_as_people_write_them() {
        let (links, _, tags) = links_of(
            "[Meeting](Meeting notes.md) [x](Notes (2).md) ![](Screenshot%20(1).png) \
             [t](a.md \"T\") | [[Plan\\|alias]] | [[Note#^abc]] <span style=\"color: #e03e2d\">red</span> \
             %% [[hidden]] #hidden %% <!-- [[gone]] --> #[[two words]]",
        );
        let got: Vec<(&str, Option<&str>, Option<&str>)> = links
            .iter()
            .map(|l| (l.target.as_str(), l.heading.as_deref(), l.label.as_deref()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("Meeting notes.md", None, Some("Meeting")),
                ("Notes (2).md", None, Some("x")),
                ("Screenshot (1).png", None, Some("")),
                ("a.md", None, Some("t")),
                ("Plan", None, Some("alias")),
                ("Note", Some("^abc"), None),
            ]
        );
        assert_eq!(tags, ["two words"]);
    }

    #[test]
    fn code_fences_open_and_close_as_commonmark_says() {
        let body = "````markdown\n```js\n[[inside]]\n```\n[[still inside]]\n````\n[[out]]\n\
                    ```one line``` [[after]]\n";
        let (links, ..) = links_of(body);
        let targets: Vec<&str> = links.iter().map(|l| l.target.as_str()).collect();
        assert_eq!(targets, ["out", "after"]);
    }

    #[test]
    fn a_line_of_brackets_is_read_in_one_pass() {
        let body = "[".repeat(200_000) + "](x)";
        let (out, _) = rewrite(&body, &mut |_| None);
        assert_eq!(out, body);
    }
}
