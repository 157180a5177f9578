//! Markdown as other apps write it, read as this one keeps notes: the front matter taken out of
//! the text ([`split_front_matter`]), inline `#tags` gathered and links found ([`rewrite`]).
//! Pure functions over text: which file a link names, and attaching it, is the caller's.

use yaml_rust2::{Yaml, YamlEmitter, YamlLoader};

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
}

/// A note's text split from its front matter.
#[derive(Debug, PartialEq)]
pub(crate) struct Split {
    pub(crate) front: FrontMatter,
    /// The text, with a front matter block of the keys not read above kept at its top.
    pub(crate) body: String,
    /// Why the front matter could not be read (it is then left in the text as it was).
    pub(crate) problem: Option<String>,
}

/// Takes the front matter out of `text`: title, tags, aliases and times are read; other keys
/// stay at the top of the body as a smaller front matter block, so nothing is lost.
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
    let docs = match YamlLoader::load_from_str(yaml) {
        Ok(d) => d,
        Err(e) => {
            return whole(Some(format!(
                "its front matter is not valid YAML (line {}: {}); it was kept in the text",
                e.marker().line() + 1,
                e.info()
            )))
        }
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
    let mut kept = yaml_rust2::yaml::Hash::new();
    for (k, v) in map {
        let key = match &k {
            Yaml::String(s) => s.trim().to_lowercase().replace(['_', '-'], " "),
            _ => String::new(),
        };
        let read = match key.as_str() {
            "title" => scalar(&v).map(|t| front.title = Some(t)).is_some(),
            "tags" | "tag" | "keywords" => {
                front.tags.extend(list(&v).iter().flat_map(|t| split_tags(t)));
                true
            }
            "aliases" | "alias" => {
                front.aliases.extend(list(&v));
                true
            }
            "created" | "date" | "created at" | "creation date" | "date created" => {
                time_of(&v).map(|t| front.created = Some(t)).is_some()
            }
            "updated" | "modified" | "updated at" | "last modified" | "date modified"
            | "lastmod" => time_of(&v).map(|t| front.updated = Some(t)).is_some(),
            _ => false,
        };
        if !read {
            kept.insert(k, v);
        }
    }
    let body = if kept.is_empty() {
        body.to_string()
    } else {
        let mut out = String::new();
        // Emitting a map of strings and numbers read from YAML cannot fail.
        let _ = YamlEmitter::new(&mut out).dump(&Yaml::Hash(kept));
        format!("{out}\n---\n\n{body}")
    };
    Split { front, body, problem: None }
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
    s.split(|c: char| c == ',' || c.is_whitespace())
        .filter_map(crate::docs::note::tag_name)
        .collect()
}

/// A time as front matter writes it: `2024-01-31`, `2024-01-31 10:20[:30]`, RFC 3339 with `Z`
/// or an offset, or seconds (or ms) since the Unix epoch. ms since the Unix epoch.
fn time_of(v: &Yaml) -> Option<i64> {
    match v {
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
    /// The label written (`[[target|label]]`, `[label](path)`, the alt text of an image).
    pub(crate) label: Option<String>,
}

/// What [`rewrite`] found besides the text.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Found {
    /// Inline `#tags`, as [`crate::docs::note::tag_name`] makes them, in order, each once.
    pub(crate) tags: Vec<String>,
}

/// Finds the tags and links in `body` outside code, and replaces each link for which
/// `replace` gives new Markdown (a link it does not know stays as written).
pub(crate) fn rewrite(
    body: &str,
    replace: &mut dyn FnMut(&Link) -> Option<String>,
) -> (String, Found) {
    let mut out = String::with_capacity(body.len());
    let mut found = Found::default();
    let mut fence: Option<&str> = None;
    for line in body.split_inclusive('\n') {
        let t = line.trim_start();
        let marker = ["```", "~~~"].into_iter().find(|m| t.starts_with(m));
        match (fence, marker) {
            (None, Some(m)) => {
                fence = Some(m);
                out.push_str(line);
                continue;
            }
            (Some(f), Some(m)) if f == m => {
                fence = None;
                out.push_str(line);
                continue;
            }
            (Some(_), _) => {
                out.push_str(line);
                continue;
            }
            (None, None) => {}
        }
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
    while i < b.len() {
        let matched = match b[i] {
            b'!' if text[i..].starts_with("![[") => wiki(text, i + 3, LinkKind::WikiEmbed),
            b'[' if text[i..].starts_with("[[") => wiki(text, i + 2, LinkKind::Wiki),
            b'!' if text[i..].starts_with("![") => markdown_link(text, i + 2, LinkKind::Image),
            b'[' => markdown_link(text, i + 1, LinkKind::Markdown),
            b'#' if i == 0 || text[..i].ends_with(char::is_whitespace) => {
                let name: String = text[i + 1..]
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '/'))
                    .collect();
                if name.chars().any(|c| !c.is_ascii_digit()) {
                    if let Some(t) = crate::docs::note::tag_name(&name) {
                        if !found.tags.contains(&t) {
                            found.tags.push(t);
                        }
                    }
                }
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
            None => i += text[i..].chars().next().map_or(1, char::len_utf8),
        }
    }
    out.push_str(&text[copied..]);
}

/// A wikilink whose inside starts at `from`: its end and the link.
fn wiki(text: &str, from: usize, kind: LinkKind) -> Option<(usize, Link)> {
    let close = text[from..].find("]]")? + from;
    let inner = &text[from..close];
    if inner.is_empty() || inner.contains('[') || inner.contains('\n') {
        return None;
    }
    let (target, label) = match inner.split_once('|') {
        Some((t, l)) => (t, Some(l.trim().to_string())),
        None => (inner, None),
    };
    let target = target.split('#').next().unwrap_or("").trim().to_string();
    if target.is_empty() {
        return None;
    }
    Some((close + 2, Link { kind, target, label }))
}

/// A Markdown link whose label starts at `from`: its end and the link, when its destination
/// is a path (not a URL, not `#heading`).
fn markdown_link(text: &str, from: usize, kind: LinkKind) -> Option<(usize, Link)> {
    let close = text[from..].find("](")? + from;
    let label = &text[from..close];
    if label.contains('[') || label.contains(']') {
        return None;
    }
    let dest_start = close + 2;
    let rest = &text[dest_start..];
    let (dest, after) = if let Some(r) = rest.strip_prefix('<') {
        let end = r.find('>')?;
        (&r[..end], dest_start + 1 + end + 1)
    } else {
        let end = rest.find([' ', ')'])?;
        (&rest[..end], dest_start + end)
    };
    // An optional title, then `)`.
    let end = text[after..].find(')')? + after + 1;
    let scheme = dest.split_once(':').is_some_and(|(s, _)| {
        s.len() > 1 && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '.' | '-'))
    });
    if dest.is_empty() || dest.starts_with('#') || scheme {
        return None;
    }
    let path = dest.split('#').next().unwrap_or(dest);
    let target = percent_encoding::percent_decode_str(path).decode_utf8_lossy().into_owned();
    Some((end, Link { kind, target, label: Some(label.to_string()) }))
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
}
