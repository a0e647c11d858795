//! From logical lines to the tree: blocks, option/value splitting, quoting, merging.
//!
//! Owns Config::General 2.65's `_parse()` and `_parse_value()` as tgt-admin configures them
//! (targets-conf.md §1): `<name>`/`<name arg>` blocks closed by any `</...>` at the same depth,
//! `key value` / `key = value` lines, surrounding double quotes removed, `\$ \\ \" \#`
//! unescaped, repeated keys becoming lists, and blocks with the same name merged
//! (MergeDuplicateBlocks). It knows nothing about which keys tgt-admin understands.

use nom::branch::alt;
use nom::bytes::complete::{take_till, take_while, take_while1};
use nom::character::complete::char;
use nom::combinator::{recognize, rest};
use nom::sequence::tuple;
use nom::IResult;

use super::ast::{Loc, Node, Scalar, Value};
use super::lex::{is_space, perl_true, trim, trim_end, Entry, Located};
use super::{ConfError, ConfErrorKind};

/// Parses the content stack into the top-level hash. `top` is where the main file starts.
pub fn parse(entries: &[Located], top: Loc) -> Result<Node, ConfError> {
    let mut root = Node::new(top);
    parse_into(&mut root, entries)?;
    Ok(root)
}

/// A block start line being collected.
struct Open {
    name: String,
    arg: Option<String>,
    loc: Loc,
}

/// Config/General.pm `_parse($config, $content)`: adds `content` to `config`.
fn parse_into(config: &mut Node, content: &[Located]) -> Result<(), ConfError> {
    let mut block: Option<Open> = None;
    let mut inner: Vec<Located> = Vec::new();
    let mut depth = 0usize;
    for item in content {
        let (option, value, line) = match &item.entry {
            Entry::Line(l) => {
                let line = trim(l);
                let (option, value) = split_option(line);
                (option.to_string(), value.map(str::to_string), Some(line))
            }
            Entry::HereDoc { key, body } => (
                trim_end(key).to_string(),
                Some(trim(body).to_string()),
                None,
            ),
        };
        let tag = line.and_then(block_tag);
        match &block {
            None => match tag {
                Some(Tag::Start(text)) => {
                    let (name, arg) = block_name(text);
                    block = Some(Open {
                        name,
                        arg,
                        loc: item.loc.clone(),
                    });
                    inner.clear();
                }
                Some(Tag::End(name)) => {
                    return Err(ConfError::new(
                        item.loc.clone(),
                        ConfErrorKind::StrayBlockEnd {
                            name: name.to_string(),
                        },
                    ))
                }
                None => add_option(config, option, value, &item.loc),
            },
            Some(open) => match tag {
                Some(Tag::Start(_)) => {
                    depth += 1;
                    inner.push(item.clone());
                }
                Some(Tag::End(_)) if depth > 0 => {
                    depth -= 1;
                    inner.push(item.clone());
                }
                Some(Tag::End(_)) => {
                    close_block(config, open, &inner)?;
                    block = None;
                }
                None => inner.push(item.clone()),
            },
        }
    }
    match block {
        Some(open) => Err(ConfError::new(
            open.loc,
            ConfErrorKind::UnclosedBlock { name: open.name },
        )),
        None => Ok(()),
    }
}

/// Stores one `key value` line: a new key is a scalar, a repeated one becomes a list.
fn add_option(config: &mut Node, option: String, value: Option<String>, loc: &Loc) {
    let value = value.map(|v| unescape(&strip_quotes(v)));
    let new = Value::Scalar(Scalar {
        text: value,
        loc: loc.clone(),
    });
    match config.get_mut(&option) {
        Some(Value::List { items, .. }) => items.push(new),
        Some(slot) => {
            let old = std::mem::replace(slot, new.clone());
            let first_loc = old.loc().clone();
            *slot = Value::List {
                items: vec![old, new],
                loc: first_loc,
            };
        }
        None => config.insert(option, new),
    }
}

/// Ends the block `open` whose lines are `inner`, storing or merging it into `config`.
fn close_block(config: &mut Node, open: &Open, inner: &[Located]) -> Result<(), ConfError> {
    let err = |kind| Err(ConfError::new(open.loc.clone(), kind));
    let Some(arg) = &open.arg else {
        // `<name>`: a plain hash, merged with an existing one.
        return match config.get_mut(&open.name) {
            Some(Value::Hash(h)) => parse_into(h, inner),
            Some(Value::Scalar(s)) => err(ConfErrorKind::BlockOverOption {
                name: open.name.clone(),
                option_at: s.loc.clone(),
            }),
            Some(Value::List { loc, .. }) => err(ConfErrorKind::BlockOverOption {
                name: open.name.clone(),
                option_at: loc.clone(),
            }),
            None => {
                let mut h = Node::new(open.loc.clone());
                parse_into(&mut h, inner)?;
                config.insert(open.name.clone(), Value::Hash(h));
                Ok(())
            }
        };
    };
    let container =
        match config.get_or_insert(&open.name, || Value::Hash(Node::new(open.loc.clone()))) {
            Value::Hash(h) => h,
            Value::Scalar(s) => {
                return err(ConfErrorKind::BlockOverOption {
                    name: open.name.clone(),
                    option_at: s.loc.clone(),
                })
            }
            Value::List { loc, .. } => {
                return err(ConfErrorKind::BlockOverOption {
                    name: open.name.clone(),
                    option_at: loc.clone(),
                })
            }
        };
    match container.get_mut(arg) {
        Some(Value::Hash(h)) => parse_into(h, inner),
        Some(other) => err(ConfErrorKind::BlockOverOption {
            name: format!("{} {arg}", open.name),
            option_at: other.loc().clone(),
        }),
        None => {
            let mut h = Node::new(open.loc.clone());
            parse_into(&mut h, inner)?;
            container.insert(arg.clone(), Value::Hash(h));
            Ok(())
        }
    }
}

/// A block tag line.
#[derive(Debug, PartialEq, Eq)]
enum Tag<'a> {
    /// `/^<([^\/]+?.*?)>$/`: the text between `<` and `>`.
    Start(&'a str),
    /// `/^<\/(.+?)>$/`: the name between `</` and `>`.
    End(&'a str),
}

fn block_tag(line: &str) -> Option<Tag<'_>> {
    let inner = line.strip_prefix('<')?.strip_suffix('>')?;
    if let Some(name) = inner.strip_prefix('/') {
        return (!name.is_empty()).then_some(Tag::End(name));
    }
    (!inner.is_empty()).then_some(Tag::Start(inner))
}

/// Splits a block start into name and argument as Config::General does:
/// `^"([^"]+)"$` is a quoted name without argument; else
/// `^(?:"([^"]+)"|(\S+))(?:\s+(?:"([^"]+)"|(.*)))?$`, name = `$1 || $2`, arg = `$3 || $4`
/// (Perl's `||`, so a quoted "0" counts as missing).
pub fn block_name(text: &str) -> (String, Option<String>) {
    if exactly_quoted(text).is_some() {
        return (text.replace('"', ""), None);
    }
    let perl_or = |a: Option<&str>, b: Option<&str>| match a {
        Some(x) if perl_true(x) => Some(x.to_string()),
        _ => b.map(str::to_string),
    };
    // First alternative: a quoted name.
    if let Some(close) = text.strip_prefix('"').and_then(|t| t.find('"')) {
        if close > 0 {
            let quoted = &text[1..=close];
            let after = &text[close + 2..];
            if let Some(arg) = block_arg(after) {
                let (q, plain) = arg.unwrap_or((None, None));
                let name = perl_or(Some(quoted), None).unwrap_or_default();
                return (name, perl_or(q, plain));
            }
        }
    }
    // Second alternative: the first run of non-blanks.
    let word_len = text.find(is_space).unwrap_or(text.len());
    if word_len == 0 {
        return (text.to_string(), None);
    }
    let word = &text[..word_len];
    match block_arg(&text[word_len..]) {
        Some(arg) => {
            let (q, plain) = arg.unwrap_or((None, None));
            (word.to_string(), perl_or(q, plain))
        }
        None => (text.to_string(), None),
    }
}

/// `(?:\s+(?:"([^"]+)"|(.*)))?$` on what follows the name: `Some(None)` when nothing
/// follows, `Some(Some(($3, $4)))` for an argument, `None` when the rest does not fit.
#[allow(clippy::type_complexity)]
fn block_arg(after: &str) -> Option<Option<(Option<&str>, Option<&str>)>> {
    if after.is_empty() {
        return Some(None);
    }
    let rest = after.trim_start_matches(is_space);
    if rest.len() == after.len() {
        return None;
    }
    Some(Some(match exactly_quoted(rest) {
        Some(q) => (Some(q), None),
        None => (None, Some(rest)),
    }))
}

/// `^"([^"]+)"$`.
fn exactly_quoted(s: &str) -> Option<&str> {
    let inner = s.strip_prefix('"')?.strip_suffix('"')?;
    (!inner.is_empty() && !inner.contains('"')).then_some(inner)
}

/// `split /\s*=\s*|\s+/, $line, 2`: the option name and the rest (`None` without separator).
pub fn split_option(line: &str) -> (&str, Option<&str>) {
    fn key(input: &str) -> IResult<&str, &str> {
        take_till(|c: char| is_space(c) || c == '=')(input)
    }
    fn separator(input: &str) -> IResult<&str, &str> {
        alt((
            recognize(tuple((
                take_while(is_space),
                char('='),
                take_while(is_space),
            ))),
            take_while1(is_space),
        ))(input)
    }
    let parsed: IResult<&str, (&str, &str, &str)> = tuple((key, separator, rest))(line);
    match parsed {
        Ok((_, (k, _, v))) => (k, Some(v)),
        Err(_) => (line, None),
    }
}

/// `if ($value && $value =~ /^"/ && $value =~ /"$/)`: one leading and one trailing `"` go.
fn strip_quotes(v: String) -> String {
    if !(perl_true(&v) && v.starts_with('"') && v.ends_with('"')) {
        return v;
    }
    let inner = &v[1..];
    inner.strip_suffix('"').unwrap_or(inner).to_string()
}

/// `s/\\([\$\\\"#])/$1/g`.
fn unescape(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    let mut chars = v.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(&n) = chars.peek() {
                if matches!(n, '$' | '\\' | '"' | '#') {
                    out.push(n);
                    chars.next();
                    continue;
                }
            }
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conf::lex::lex_str;

    fn tree(text: &str) -> Node {
        let lexed = lex_str("t.conf", text).unwrap();
        parse(&lexed.entries, Loc::new(&"t.conf".into(), 1)).unwrap()
    }

    fn err(text: &str) -> String {
        let lexed = lex_str("t.conf", text).unwrap();
        parse(&lexed.entries, Loc::new(&"t.conf".into(), 1))
            .unwrap_err()
            .to_string()
    }

    fn scalar<'a>(n: &'a Node, key: &str) -> Option<&'a str> {
        match n.get(key) {
            Some(Value::Scalar(s)) => s.text.as_deref(),
            other => panic!("{key}: not a scalar: {other:?}"),
        }
    }

    fn hash<'a>(n: &'a Node, key: &str) -> &'a Node {
        match n.get(key) {
            Some(Value::Hash(h)) => h,
            other => panic!("{key}: not a hash: {other:?}"),
        }
    }

    #[test]
    fn option_splits_at_first_blank_run_or_equals_sign() {
        assert_eq!(split_option("key value more"), ("key", Some("value more")));
        assert_eq!(split_option("key  =  v"), ("key", Some("v")));
        assert_eq!(split_option("key=v=w"), ("key", Some("v=w")));
        assert_eq!(split_option("key v=w"), ("key", Some("v=w")));
        assert_eq!(split_option("key ="), ("key", Some("")));
        assert_eq!(split_option("key"), ("key", None));
        assert_eq!(split_option("=v"), ("", Some("v")));
    }

    #[test]
    fn surrounding_double_quotes_go_and_escapes_are_resolved() {
        let t = tree("a \"x y\"\nb 'x'\nc \"x\nd a\\#b\\$c\\\\d\\e\ne \"\n");
        assert_eq!(scalar(&t, "a"), Some("x y"));
        assert_eq!(scalar(&t, "b"), Some("'x'"));
        assert_eq!(scalar(&t, "c"), Some("\"x"));
        assert_eq!(scalar(&t, "d"), Some("a#b$c\\d\\e"));
        assert_eq!(scalar(&t, "e"), Some(""));
    }

    #[test]
    fn repeated_keys_become_lists_in_file_order() {
        let t = tree("k 1\nk 2\nk\n");
        let Some(Value::List { items, loc }) = t.get("k") else {
            panic!("not a list")
        };
        assert_eq!(loc.line, 1);
        let texts: Vec<_> = items
            .iter()
            .map(|v| match v {
                Value::Scalar(s) => s.text.clone(),
                _ => panic!(),
            })
            .collect();
        assert_eq!(texts, [Some("1".into()), Some("2".into()), None]);
    }

    #[test]
    fn named_blocks_with_the_same_name_merge() {
        let t = tree(
            "<target a>\n x 1\n</target>\n<target b>\n</target>\n<target a>\n x 2\n y 3\n</target>\n",
        );
        let targets = hash(&t, "target");
        assert_eq!(targets.len(), 2);
        let a = hash(targets, "a");
        assert!(matches!(a.get("x"), Some(Value::List { items, .. }) if items.len() == 2));
        assert_eq!(scalar(a, "y"), Some("3"));
        assert_eq!(a.loc.line, 1);
    }

    #[test]
    fn closing_tag_name_is_not_checked_only_depth() {
        let t = tree("<target a>\n<backing-store /x>\nlun 3\n</foo>\n</bar>\n");
        let bs = hash(hash(hash(hash(&t, "target"), "a"), "backing-store"), "/x");
        assert_eq!(scalar(bs, "lun"), Some("3"));
    }

    #[test]
    fn block_names_and_arguments_follow_the_perl_regex() {
        assert_eq!(
            block_name("target iqn.x"),
            ("target".into(), Some("iqn.x".into()))
        );
        assert_eq!(
            block_name("target  a b"),
            ("target".into(), Some("a b".into()))
        );
        assert_eq!(
            block_name("\"target\" \"q x\""),
            ("target".into(), Some("q x".into()))
        );
        assert_eq!(block_name("\"target x\""), ("target x".into(), None));
        assert_eq!(
            block_name("target \"a\" b"),
            ("target".into(), Some("\"a\" b".into()))
        );
        assert_eq!(block_name("target"), ("target".into(), None));
        assert_eq!(
            block_name("target "),
            ("target".into(), Some(String::new()))
        );
        assert_eq!(block_name(" target x"), (" target x".into(), None));
        assert_eq!(block_name("target \"0\""), ("target".into(), None));
    }

    #[test]
    fn stray_end_tag_is_reported_where_it_is() {
        assert_eq!(
            err("x 1\n</target>\n"),
            "t.conf:2: </target> closes no block (there is no <target ...> open)"
        );
    }

    #[test]
    fn unclosed_block_is_reported_where_it_opens() {
        assert_eq!(
            err("\n<target a>\nx 1\n"),
            "t.conf:2: <target ...> is not closed: expected </target> before the end of the configuration"
        );
    }

    #[test]
    fn block_after_option_of_the_same_name_is_rejected() {
        assert_eq!(
            err("<target a>\nbacking-store /a\n<backing-store /b>\n</backing-store>\n</target>\n"),
            "t.conf:3: <backing-store ...> block cannot be combined with the backing-store option at t.conf:2; use either lines or blocks"
        );
    }

    #[test]
    fn here_document_value_keeps_its_lines() {
        let t = tree("k <<END\n  a\n  b\n  END\nj = <<E\nx\nE\n");
        assert_eq!(scalar(&t, "k"), Some("a\nb"));
        assert_eq!(scalar(&t, "j"), Some("x"));
    }
}
