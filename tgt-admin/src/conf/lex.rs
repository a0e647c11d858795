//! From files to logical lines: comments, continuations, here-documents and `include`.
//!
//! Owns Config::General 2.65's `_open()` and `_read()` as tgt-admin configures them
//! (targets-conf.md §1, §1.2): the per-physical-line pipeline (here-doc body, C comments,
//! `#` comments, `\` continuation, `<name arg/>` shorthand, here-doc opener, include, plain
//! line) and the include rules (globs, directories, the current directory then the main
//! file's directory, each file read once). The result is the flat "content stack" that
//! `parse` turns into a tree. It knows nothing about blocks or option names.
//!
//! Every rule below reproduces a regular expression of Config/General.pm; the comment above
//! each function quotes it.

use std::collections::HashSet;
use std::sync::Arc;

use nom::branch::alt;
use nom::bytes::complete::{tag, tag_no_case, take_while, take_while1};
use nom::character::complete::one_of;
use nom::combinator::{map, rest, verify};
use nom::sequence::{preceded, tuple};
use nom::IResult;

use super::ast::Loc;
use super::include::{self, catfile, has_glob_meta, splitpath};
use super::{ConfError, ConfErrorKind, Warning};

/// Perl's `\s` on a byte string: space, `\t`, `\n`, `\v`, `\f`, `\r`.
pub fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0B' | '\x0C' | '\r')
}

/// Perl's `s/^\s+//`.
pub fn trim_start(s: &str) -> &str {
    s.trim_start_matches(is_space)
}

/// Perl's `s/\s+$//`.
pub fn trim_end(s: &str) -> &str {
    s.trim_end_matches(is_space)
}

/// Both.
pub fn trim(s: &str) -> &str {
    trim_end(trim_start(s))
}

/// One entry of the content stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// A logical line, comments removed, continuations joined.
    Line(String),
    /// `key <<END` … `END`: the key and the body lines.
    HereDoc {
        /// The option name.
        key: String,
        /// The lines between the opener and the end marker.
        body: String,
    },
}

/// An entry and where it started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// The entry.
    pub entry: Entry,
    /// Its first physical line.
    pub loc: Loc,
}

/// The lexer's result: every entry of the main file and its includes, in order.
#[derive(Debug, Default)]
pub struct Lexed {
    /// The content stack.
    pub entries: Vec<Located>,
    /// Things Config::General warns about on stderr.
    pub warnings: Vec<Warning>,
}

/// Reads the main configuration file `path` and everything it includes.
/// Source: Config/General.pm `_process()` (ConfigPath = the main file's directory when its
/// path is absolute) then `_open()`.
pub fn read_config(path: &str) -> Result<Lexed, ConfError> {
    let config_path = path.starts_with('/').then(|| {
        let (dir, _) = splitpath(path);
        let dir = dir.strip_suffix('/').unwrap_or(dir);
        if dir.is_empty() {
            "/".to_string()
        } else {
            dir.to_string()
        }
    });
    let mut lx = Lexer {
        config_path,
        loaded: HashSet::new(),
        out: Lexed::default(),
    };
    lx.open(path, None)?;
    Ok(lx.out)
}

/// Lexes `text` as if it were the file `name` (includes are resolved as for a real file).
#[cfg(test)]
pub fn lex_str(name: &str, text: &str) -> Result<Lexed, ConfError> {
    let mut lx = Lexer {
        config_path: None,
        loaded: HashSet::new(),
        out: Lexed::default(),
    };
    lx.read(&Arc::from(name), text)?;
    Ok(lx.out)
}

struct Lexer {
    /// Config::General's `ConfigPath`: the main file's directory, if its path is absolute.
    config_path: Option<String>,
    /// `$this->{files}`: paths already read, as spelled when they were read.
    loaded: HashSet<String>,
    out: Lexed,
}

impl Lexer {
    /// Config/General.pm `_open($basefile)`; `from` is the include line, for messages.
    fn open(&mut self, basefile: &str, from: Option<&Loc>) -> Result<(), ConfError> {
        if has_glob_meta(basefile) {
            let mut found: Vec<String> = include::glob(basefile)
                .into_iter()
                .filter(|p| include::is_file(p))
                .collect();
            if found.is_empty() {
                if let Some(dir) = &self.config_path {
                    let (dirs, _) = splitpath(basefile);
                    if include::is_dir(&catfile(dir, dirs)) {
                        found = include::glob(&catfile(dir, basefile))
                            .into_iter()
                            .filter(|p| include::is_file(p))
                            .collect();
                    }
                }
            }
            for f in found {
                self.open(&f, from)?;
            }
            return Ok(());
        }
        let mut file = basefile.to_string();
        if !include::exists(&file) {
            let alt = self
                .config_path
                .as_ref()
                .map(|dir| catfile(dir, basefile))
                .filter(|p| include::exists(p));
            match alt {
                Some(p) => file = p,
                None => {
                    return Err(ConfError::new(
                        from.cloned()
                            .unwrap_or_else(|| Loc::new(&Arc::from(basefile), 0)),
                        ConfErrorKind::IncludeNotFound {
                            path: basefile.to_string(),
                            also_in: self.config_path.clone(),
                        },
                    ))
                }
            }
        }
        if include::is_dir(&file) {
            let entries = std::fs::read_dir(&file).map_err(|source| {
                ConfError::new(
                    from.cloned()
                        .unwrap_or_else(|| Loc::new(&Arc::from(file.as_str()), 0)),
                    ConfErrorKind::Read {
                        path: file.clone(),
                        source,
                    },
                )
            })?;
            let mut names: Vec<String> = entries
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| include::is_file(&catfile(&file, n)))
                .collect();
            names.sort();
            for name in names {
                let path = catfile(&file, &name);
                self.read_once(&path, from)?;
            }
            return Ok(());
        }
        self.read_once(&file, from)
    }

    /// Reads `path` unless it was read before (then Config::General warns and skips it).
    fn read_once(&mut self, path: &str, from: Option<&Loc>) -> Result<(), ConfError> {
        if !self.loaded.insert(path.to_string()) {
            self.out.warnings.push(Warning {
                loc: from.cloned(),
                message: format!("{path} is already included; skipped"),
            });
            return Ok(());
        }
        let name: Arc<str> = Arc::from(path);
        let bytes = std::fs::read(path).map_err(|source| {
            ConfError::new(
                from.cloned().unwrap_or_else(|| Loc::new(&name, 0)),
                ConfErrorKind::Read {
                    path: path.to_string(),
                    source,
                },
            )
        })?;
        // A UTF-8 byte-order mark is skipped (`_openfile_for_read()`).
        let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(&bytes);
        let text = match std::str::from_utf8(bytes) {
            Ok(t) => t,
            Err(e) => {
                // COMPAT: Perl reads any bytes; we need text and say where it stops being UTF-8.
                let line = bytes[..e.valid_up_to()]
                    .iter()
                    .filter(|&&b| b == b'\n')
                    .count()
                    + 1;
                return Err(ConfError::new(
                    Loc::new(&name, u32::try_from(line).unwrap_or(u32::MAX)),
                    ConfErrorKind::NotUtf8,
                ));
            }
        };
        self.read(&name, text)
    }

    /// Config/General.pm `_read()`: the per-line pipeline for one file.
    fn read(&mut self, file: &Arc<str>, text: &str) -> Result<(), ConfError> {
        let mut c_comment = false;
        let mut c_comment_start = Loc::new(file, 1);
        // `$longline`: Perl tests it for truth, so "" and "0" count as "no long line".
        let mut longline: Option<(String, Loc)> = None;
        let mut heredoc: Option<HereDocState> = None;
        for (idx, raw) in text.split_inclusive('\n').enumerate() {
            let line_no = u32::try_from(idx + 1).unwrap_or(u32::MAX);
            let loc = Loc::new(file, line_no);
            let mut line: String = raw.strip_suffix('\n').unwrap_or(raw).to_string();

            if let Some(h) = heredoc.as_mut() {
                if let Some(indent) = heredoc_end(&line, &h.end) {
                    let body = if indent.is_empty() {
                        h.lines.join("\n")
                    } else {
                        h.lines
                            .iter()
                            .map(|l| format!("{}\n", l.strip_prefix(indent).unwrap_or(l)))
                            .collect()
                    };
                    let done = heredoc.take().expect("checked Some above");
                    self.out.entries.push(Located {
                        entry: Entry::HereDoc {
                            key: done.key,
                            body,
                        },
                        loc: done.loc,
                    });
                } else {
                    h.lines.push(line);
                }
                continue;
            }

            // C comments (CComments is on by default).
            if let Some(cut) = single_c_comment(&line) {
                line = cut;
            } else if trim_start(&line).starts_with("/*") {
                c_comment = !trim_end(&line).ends_with("*/");
                c_comment_start = loc.clone();
            } else if let Some(pos) = line.rfind("*/") {
                if !c_comment {
                    self.out.warnings.push(Warning {
                        loc: Some(loc.clone()),
                        message: "found end of C-comment without previous start".to_string(),
                    });
                }
                c_comment = false;
                line = line[pos + 2..].to_string();
            }
            if c_comment {
                continue;
            }

            // `s/(?<!\\)#.*$//`
            if let Some(pos) = unescaped_hash(&line) {
                line.truncate(pos);
            }

            // `/(?<!\\)\\$/`: continued on the next line.
            if ends_with_unescaped_backslash(&line) {
                line.pop();
                let part = trim_start(&line);
                match longline.as_mut() {
                    Some((acc, _)) => acc.push_str(part),
                    None => longline = Some((part.to_string(), loc.clone())),
                }
                continue;
            }

            // `<name arg/>` is `<name arg>` plus `</name>`.
            if let Some((open, close)) = empty_block(&line) {
                self.push(Entry::Line(open), &loc);
                self.push(Entry::Line(close), &loc);
                continue;
            }

            if let Some((key, end)) = heredoc_start(&line) {
                heredoc = Some(HereDocState {
                    key,
                    end,
                    lines: Vec::new(),
                    loc: loc.clone(),
                });
                continue;
            }

            if let Some((acc, start)) = longline.take() {
                if perl_true(&acc) {
                    let joined = acc + trim_start(&line);
                    self.push(Entry::Line(joined), &start);
                    continue;
                }
                // A false long line ("" or "0") stays pending, as in Perl.
                longline = Some((acc, start));
            }

            if line.chars().all(is_space) {
                continue;
            }

            if let Some((optional, target)) = include_line(&line) {
                if perl_true(&target) {
                    let target = if optional && !has_glob_meta(&target) {
                        optional_glob(&target)
                    } else {
                        target
                    };
                    self.open(&target, Some(&loc))?;
                    continue;
                }
            }
            self.push(Entry::Line(line), &loc);
        }
        // Config::General drops these silently; say so.
        if let Some((_, start)) = longline {
            self.out.warnings.push(Warning {
                loc: Some(start),
                message: "the last line ends with '\\' and is ignored".to_string(),
            });
        }
        if let Some(h) = heredoc {
            self.out.warnings.push(Warning {
                loc: Some(h.loc),
                message: format!("here-document without its end line '{}' is ignored", h.end),
            });
        }
        if c_comment {
            self.out.warnings.push(Warning {
                loc: Some(c_comment_start),
                message: "this /* comment is never closed".to_string(),
            });
        }
        Ok(())
    }

    fn push(&mut self, entry: Entry, loc: &Loc) {
        self.out.entries.push(Located {
            entry,
            loc: loc.clone(),
        });
    }
}

struct HereDocState {
    key: String,
    end: String,
    lines: Vec<String>,
    loc: Loc,
}

/// Perl truth of a string: not empty and not "0".
pub fn perl_true(s: &str) -> bool {
    !s.is_empty() && s != "0"
}

/// `/^(\s*)\Q$hierend\E\s*$/`: the indentation of an end marker line.
fn heredoc_end<'a>(line: &'a str, end: &str) -> Option<&'a str> {
    let body = trim_start(line);
    let indent = &line[..line.len() - body.len()];
    let after = body.strip_prefix(end)?;
    after.chars().all(is_space).then_some(indent)
}

/// `/(\s*\/\*.*\*\/\s*)/` then `s/\s*\/\*.*\*\/\s*//`: the line without its first `/*` …
/// last `*/` span and the blanks around it, when it has one.
fn single_c_comment(line: &str) -> Option<String> {
    let open = line.find("/*")?;
    let close = line.rfind("*/")?;
    if close < open + 2 {
        return None;
    }
    let start = trim_end(&line[..open]).len();
    let end = close + 2;
    let after = trim_start(&line[end..]);
    Some(format!("{}{}", &line[..start], after))
}

/// Position of the first `#` not preceded by a backslash.
fn unescaped_hash(line: &str) -> Option<usize> {
    let mut prev = None;
    for (i, c) in line.char_indices() {
        if c == '#' && prev != Some('\\') {
            return Some(i);
        }
        prev = Some(c);
    }
    None
}

fn ends_with_unescaped_backslash(line: &str) -> bool {
    line.ends_with('\\') && !line[..line.len() - 1].ends_with('\\')
}

/// `/\s*<([^\/]+?.*?)\/>\s*$/`: for `<name arg/>` the two lines Config::General pushes:
/// the line with a final `/>` turned into `>`, and `</name>`.
fn empty_block(line: &str) -> Option<(String, String)> {
    for (lt, _) in line.match_indices('<') {
        let inner_start = lt + 1;
        let first = line[inner_start..].chars().next()?;
        if first == '/' {
            continue;
        }
        let min = inner_start + first.len_utf8();
        let close = line[min..]
            .match_indices("/>")
            .map(|(i, _)| min + i)
            .find(|&i| line[i + 2..].chars().all(is_space));
        let Some(close) = close else {
            continue;
        };
        let block = &line[inner_start..close];
        let name = block.split(is_space).next().unwrap_or(block);
        let open = match line.strip_suffix("/>") {
            Some(head) => format!("{head}>"),
            None => line.to_string(),
        };
        return Some((open, format!("</{name}>")));
    }
    None
}

/// Here-doc openers (SplitPolicy "guess"): `/^\s*([^=]+?)\s*=\s*<<\s*(.+?)\s*$/`, else
/// `/^\s*(\S+?)\s+<<\s*(.+?)\s*$/`. Returns (key, end marker).
fn heredoc_start(line: &str) -> Option<(String, String)> {
    fn marker(input: &str) -> IResult<&str, &str> {
        preceded(
            tuple((tag("<<"), take_while(is_space))),
            verify(rest, |m: &str| !trim_end(m).is_empty()),
        )(input)
    }
    let body = trim_start(line);
    if let Some(eq) = body.find('=') {
        let key = trim_end(&body[..eq]);
        if !key.is_empty() {
            if let Ok((_, m)) = marker(trim_start(&body[eq + 1..])) {
                return Some((key.to_string(), trim_end(m).to_string()));
            }
        }
    }
    let parsed: IResult<&str, (&str, &str, &str)> = tuple((
        take_while1(|c: char| !is_space(c)),
        take_while1(is_space),
        marker,
    ))(body);
    parsed
        .ok()
        .map(|(_, (key, _, m))| (key.to_string(), trim_end(m).to_string()))
}

/// `include`/`includeoptional` lines (UseApacheInclude), case-insensitive:
/// `/^\s*(include|includeoptional)\s*(["'])(.*?)(?<!\\)\2$/i`, else
/// `/^\s*(include|includeoptional)\s+(.+?)\s*$/i`. Returns (optional, argument).
///
/// The two keywords can never both match one line (after `include` comes either a quote,
/// white space or `optional`), so trying `includeoptional` first gives Perl's result.
fn include_line(line: &str) -> Option<(bool, String)> {
    fn quoted(kw: &'static str) -> impl Fn(&str) -> IResult<&str, String> {
        move |input| {
            let (input, _) = tag_no_case(kw)(input)?;
            let (input, _) = take_while(is_space)(input)?;
            let (input, q) = one_of("\"'")(input)?;
            let (input, inner) = verify(rest, |r: &str| {
                r.ends_with(q) && !r[..r.len() - 1].ends_with('\\')
            })(input)?;
            Ok((input, inner[..inner.len() - 1].to_string()))
        }
    }
    fn plain(kw: &'static str) -> impl Fn(&str) -> IResult<&str, String> {
        move |input| {
            let (input, _) = tag_no_case(kw)(input)?;
            let (input, blanks) = take_while1(is_space)(input)?;
            let (input, arg) = rest(input)?;
            let arg = trim_end(arg);
            if !arg.is_empty() {
                return Ok((input, arg.to_string()));
            }
            // Only blanks follow: `\s+` gives its last character back to `(.+?)`.
            match blanks.chars().last() {
                Some(c) if blanks.chars().count() >= 2 => Ok((input, c.to_string())),
                _ => Err(nom::Err::Error(nom::error::Error::new(
                    input,
                    nom::error::ErrorKind::Verify,
                ))),
            }
        }
    }
    let body = trim_start(line);
    let parsed: IResult<&str, (bool, String)> = alt((
        map(quoted("includeoptional"), |s| (true, s)),
        map(quoted("include"), |s| (false, s)),
        map(plain("includeoptional"), |s| (true, s)),
        map(plain("include"), |s| (false, s)),
    ))(body);
    parsed.ok().map(|(_, v)| v)
}

/// IncludeOptional of a plain name: each character of the file name becomes a one-member
/// set, so the glob matches that file only, and nothing when it is missing.
fn optional_glob(path: &str) -> String {
    let (dirs, file) = splitpath(path);
    let wrapped: String = file.chars().map(|c| format!("[{c}]")).collect();
    format!("{dirs}{wrapped}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn lines(text: &str) -> Vec<String> {
        lex_str("t.conf", text)
            .unwrap()
            .entries
            .into_iter()
            .map(|l| match l.entry {
                Entry::Line(s) => s,
                Entry::HereDoc { key, body } => format!("{key}<<{body}"),
            })
            .collect()
    }

    #[test]
    fn hash_comments_go_unless_escaped_and_blank_lines_vanish() {
        assert_eq!(
            lines("a 1 # c\n\n   \n# whole\nb x\\#y # z\n"),
            ["a 1 ", "b x\\#y "]
        );
    }

    #[test]
    fn c_comments_span_lines_and_are_removed_inline() {
        assert_eq!(
            lines("/* one\ntwo */ a 1\nb 2 /* x */ c\n  /* whole */\nd 4\n"),
            [" a 1", "b 2c", "d 4"]
        );
    }

    #[test]
    fn backslash_continues_with_leading_blanks_of_the_next_line_removed() {
        assert_eq!(lines("a x \\\n     y\\\n  z\nb 1\n"), ["a x yz", "b 1"]);
        // A continued last line is dropped, as Config::General does.
        let lexed = lex_str("t.conf", "a 1\nb \\\n").unwrap();
        assert_eq!(lexed.entries.len(), 1);
        assert_eq!(
            lexed.warnings[0].to_string(),
            "t.conf:2: warning: the last line ends with '\\' and is ignored"
        );
    }

    #[test]
    fn empty_block_shorthand_becomes_open_and_close() {
        assert_eq!(
            lines("<target iqn.x:y/>\n<a b c/> \n"),
            ["<target iqn.x:y>", "</target>", "<a b c/> ", "</a>"]
        );
    }

    #[test]
    fn here_document_strips_the_end_markers_indentation() {
        assert_eq!(lines("k <<E\n  a\n    b\n  E\n"), ["k<<a\n  b\n"]);
        assert_eq!(lines("k = <<E\na\nb\nE\n"), ["k<<a\nb"]);
    }

    #[test]
    fn locations_point_at_the_first_physical_line() {
        let lexed = lex_str("t.conf", "\n\na \\\n b\nc 1\n").unwrap();
        let at: Vec<u32> = lexed.entries.iter().map(|e| e.loc.line).collect();
        assert_eq!(at, [3, 5]);
    }

    #[test]
    fn include_lines_are_recognised_in_every_form() {
        assert_eq!(
            include_line("include /a/b.conf"),
            Some((false, "/a/b.conf".into()))
        );
        assert_eq!(
            include_line("  INCLUDE  x.conf  "),
            Some((false, "x.conf".into()))
        );
        assert_eq!(
            include_line("include \"a b.conf\""),
            Some((false, "a b.conf".into()))
        );
        assert_eq!(
            include_line("include'q.conf'"),
            Some((false, "q.conf".into()))
        );
        assert_eq!(
            include_line("includeoptional o.conf"),
            Some((true, "o.conf".into()))
        );
        assert_eq!(
            include_line("IncludeOptional \"o.conf\""),
            Some((true, "o.conf".into()))
        );
        assert_eq!(include_line("include"), None);
        assert_eq!(include_line("includes x"), None);
        // A quoted name followed by blanks is not "quoted": the quotes stay.
        assert_eq!(
            include_line("include \"x\" "),
            Some((false, "\"x\"".into()))
        );
    }

    #[test]
    fn optional_include_of_a_plain_name_matches_only_that_file() {
        assert_eq!(
            optional_glob("/etc/tgt/a.conf"),
            "/etc/tgt/[a][.][c][o][n][f]"
        );
    }

    struct Tree(PathBuf);
    impl Drop for Tree {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
    fn tree(files: &[(&str, &str)]) -> Tree {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let root = std::env::temp_dir().join(format!("tgt-admin-lex.{}.{n}", std::process::id()));
        for (name, text) in files {
            let p = root.join(name);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text.replace("@R@", root.to_str().unwrap())).unwrap();
        }
        Tree(root)
    }

    fn read(t: &Tree, main: &str) -> Result<Vec<String>, String> {
        read_config(t.0.join(main).to_str().unwrap())
            .map(|l| {
                l.entries
                    .into_iter()
                    .map(|e| match e.entry {
                        Entry::Line(s) => s,
                        Entry::HereDoc { key, .. } => key,
                    })
                    .collect()
            })
            .map_err(|e| e.to_string().replace(t.0.to_str().unwrap(), "R"))
    }

    #[test]
    fn includes_splice_files_in_place_once_each() {
        let t = tree(&[
            (
                "main.conf",
                "a 1\ninclude @R@/d/*.conf\ninclude @R@/d\nz 9\n",
            ),
            ("d/2.conf", "c 3\n"),
            ("d/1.conf", "b 2\n"),
            ("d/.x", "dot 0\n"),
        ]);
        // The glob skips the dotfile; the directory include adds only what was not read.
        assert_eq!(
            read(&t, "main.conf").unwrap(),
            ["a 1", "b 2", "c 3", "dot 0", "z 9"]
        );
    }

    #[test]
    fn relative_include_falls_back_to_the_main_files_directory() {
        let t = tree(&[
            (
                "main.conf",
                "include sub.d/*.conf\ninclude sub.d/plain.inc\n",
            ),
            ("sub.d/a.conf", "a 1\n"),
            ("sub.d/plain.inc", "p 1\n"),
        ]);
        assert_eq!(read(&t, "main.conf").unwrap(), ["a 1", "p 1"]);
    }

    #[test]
    fn missing_include_names_the_line_and_both_places_looked_in() {
        let t = tree(&[(
            "main.conf",
            "a 1\ninclude nope.conf\nincludeoptional nope2.conf\n",
        )]);
        let e = read_config(t.0.join("main.conf").to_str().unwrap()).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert_eq!(
            e.to_string().replace(t.0.to_str().unwrap(), "R"),
            "R/main.conf:2: include nope.conf: no such file or directory (also looked in R)"
        );
    }

    #[test]
    fn unmatched_glob_and_missing_optional_include_are_silent() {
        let t = tree(&[(
            "main.conf",
            "include @R@/none/*.conf\nincludeoptional @R@/no.conf\na 1\n",
        )]);
        assert_eq!(read(&t, "main.conf").unwrap(), ["a 1"]);
    }
}
