//! File-name rules of `include`: BSD glob with braces, and Perl's File::Spec path joining.
//!
//! Owns what Config::General does with an include argument before reading a file
//! (targets-conf.md §1.2): `bsd_glob(PATTERN, GLOB_BRACE | GLOB_QUOTE)` as Perl's File::Glob
//! implements it, and File::Spec::Unix's `catfile`/`canonpath`/`splitpath`. It knows nothing
//! about configuration syntax.
//!
//! The glob rules, checked against Perl 5.36's File::Glob: `*` `?` `[...]` (`!` negates, `a-z`
//! ranges, a `]` right after `[` or `[!` is a member, no POSIX classes); a leading `.` in a
//! name only matches a literal `.`; `\x` makes `x` literal; `{a,b}` expands in order (each
//! alternative's matches sorted by byte order, alternatives concatenated, duplicates kept); an
//! unbalanced `{` makes the whole pattern glob only the part before that brace (a File::Glob
//! quirk, kept); a pattern without wildcards yields itself only if it exists (`lstat`).

use std::fs;
use std::path::Path;

/// True when Config::General treats an include argument as a glob: it contains one of
/// `* ? [ { \`. Source: Config/General.pm `_open()`.
pub fn has_glob_meta(s: &str) -> bool {
    s.contains(['*', '?', '[', '{', '\\'])
}

/// One pattern character; `literal` when it was quoted with `\` (GLOB_QUOTE's M_PROTECT).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PChar {
    c: char,
    literal: bool,
}

impl PChar {
    fn is(self, c: char) -> bool {
        !self.literal && self.c == c
    }
}

/// `bsd_glob(pattern, GLOB_BRACE | GLOB_QUOTE)`: the existing paths matching `pattern`.
pub fn glob(pattern: &str) -> Vec<String> {
    let mut pat = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            // A trailing backslash stays a (literal) backslash.
            match chars.next() {
                Some(n) => pat.push(PChar {
                    c: n,
                    literal: true,
                }),
                None => pat.push(PChar { c, literal: true }),
            }
        } else {
            pat.push(PChar { c, literal: false });
        }
    }
    let mut out = Vec::new();
    expand_braces(&pat, &mut out);
    out
}

/// BSD `globexp1()`: expands the first balanced `{...}` and recurses; `{}` alone is literal.
fn expand_braces(pat: &[PChar], out: &mut Vec<String>) {
    if pat.len() == 2 && pat[0].is('{') && pat[1].is('}') {
        glob0(pat, out);
        return;
    }
    let Some(open) = pat.iter().position(|p| p.is('{')) else {
        glob0(pat, out);
        return;
    };
    // BSD `globexp2()`: find the matching brace, skipping `[...]` sets.
    let mut depth = 0usize;
    let mut i = open + 1;
    let mut close = None;
    while i < pat.len() {
        if pat[i].is('[') {
            let start = i;
            i += 1;
            while i < pat.len() && !pat[i].is(']') {
                i += 1;
            }
            if i >= pat.len() {
                i = start;
            }
        } else if pat[i].is('{') {
            depth += 1;
        } else if pat[i].is('}') {
            if depth == 0 {
                close = Some(i);
                break;
            }
            depth -= 1;
        }
        i += 1;
    }
    let Some(close) = close else {
        // File::Glob's bsd_glob.c globs only the text before the unbalanced brace.
        glob0(&pat[..open], out);
        return;
    };
    let prefix = &pat[..open];
    let suffix = &pat[close + 1..];
    let mut depth = 0usize;
    let mut alt_start = open + 1;
    let mut j = open + 1;
    while j <= close {
        let p = pat[j];
        if p.is('[') {
            let start = j;
            j += 1;
            while j <= close && !pat[j].is(']') {
                j += 1;
            }
            if j > close {
                j = start;
            }
        } else if p.is('{') {
            depth += 1;
        } else if (p.is('}') || p.is(',')) && depth == 0 {
            let mut next: Vec<PChar> = prefix.to_vec();
            next.extend_from_slice(&pat[alt_start..j]);
            next.extend_from_slice(suffix);
            expand_braces(&next, out);
            alt_start = j + 1;
        } else if p.is('}') {
            depth -= 1;
        }
        j += 1;
    }
}

/// A compiled pattern element of one path segment.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Char(char),
    Any,
    One,
    Set { negate: bool, items: Vec<SetItem> },
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum SetItem {
    One(char),
    Range(char, char),
}

/// BSD `glob0()`: compiles `[`, `?`, `*`, walks the file system, sorts this pattern's matches.
fn glob0(pat: &[PChar], out: &mut Vec<String>) {
    let mut found = Vec::new();
    let segments: Vec<&[PChar]> = pat.split(|p| p.c == '/' && !p.literal).collect();
    let absolute = pat.first().is_some_and(|p| p.c == '/' && !p.literal);
    let start = if absolute {
        "/".to_string()
    } else {
        String::new()
    };
    let segs: Vec<&[PChar]> = if absolute {
        segments[1..].to_vec()
    } else {
        segments
    };
    walk(&start, &segs, &mut found);
    found.sort();
    out.extend(found);
}

fn compile(seg: &[PChar]) -> Vec<Tok> {
    let mut toks = Vec::new();
    let mut i = 0;
    while i < seg.len() {
        let p = seg[i];
        if p.is('[') {
            let mut k = i + 1;
            let negate = seg.get(k).is_some_and(|q| q.is('!'));
            if negate {
                k += 1;
            }
            // No `]` after the first member: the `[` is an ordinary character.
            let closes = seg
                .get(k + 1..)
                .is_some_and(|rest| rest.iter().any(|q| q.is(']')));
            if k >= seg.len() || !closes {
                toks.push(Tok::Char('['));
                i += 1;
                continue;
            }
            let mut items = Vec::new();
            loop {
                let c = seg[k].c;
                k += 1;
                if seg.get(k).is_some_and(|q| q.is('-'))
                    && seg.get(k + 1).is_some_and(|q| !q.is(']'))
                {
                    items.push(SetItem::Range(c, seg[k + 1].c));
                    k += 2;
                } else {
                    items.push(SetItem::One(c));
                }
                match seg.get(k) {
                    Some(q) if q.is(']') => break,
                    Some(_) => {}
                    None => break,
                }
            }
            toks.push(Tok::Set { negate, items });
            i = k + 1;
        } else if p.is('?') {
            toks.push(Tok::One);
            i += 1;
        } else if p.is('*') {
            if toks.last() != Some(&Tok::Any) {
                toks.push(Tok::Any);
            }
            i += 1;
        } else {
            toks.push(Tok::Char(p.c));
            i += 1;
        }
    }
    toks
}

fn has_magic(toks: &[Tok]) -> bool {
    toks.iter().any(|t| !matches!(t, Tok::Char(_)))
}

/// BSD `match()`.
fn matches(name: &[char], toks: &[Tok]) -> bool {
    let Some((first, rest)) = toks.split_first() else {
        return name.is_empty();
    };
    match first {
        Tok::Any => (0..=name.len()).any(|k| matches(&name[k..], rest)),
        Tok::One => !name.is_empty() && matches(&name[1..], rest),
        Tok::Char(c) => name.first() == Some(c) && matches(&name[1..], rest),
        Tok::Set { negate, items } => {
            let Some(&k) = name.first() else {
                return false;
            };
            let hit = items.iter().any(|it| match *it {
                SetItem::One(c) => c == k,
                SetItem::Range(a, b) => a <= k && k <= b,
            });
            hit != *negate && matches(&name[1..], rest)
        }
    }
}

/// BSD `glob2()`/`glob3()`: literal segments are appended, magic ones read the directory.
fn walk(path: &str, segs: &[&[PChar]], found: &mut Vec<String>) {
    let Some((seg, rest)) = segs.split_first() else {
        // End of pattern: the path must exist (lstat, a dangling link counts).
        if !path.is_empty() && fs::symlink_metadata(path).is_ok() {
            found.push(path.to_string());
        }
        return;
    };
    let toks = compile(seg);
    let sep = if rest.is_empty() { "" } else { "/" };
    if !has_magic(&toks) {
        let lit: String = seg.iter().map(|p| p.c).collect();
        walk(&format!("{path}{lit}{sep}"), rest, found);
        return;
    }
    let dir = if path.is_empty() { "." } else { path };
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    // readdir also yields `.` and `..`, which `.*` matches.
    let names = entries
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .chain([".".to_string(), "..".to_string()]);
    let starts_with_dot = matches!(toks.first(), Some(Tok::Char('.')));
    for name in names {
        if name.starts_with('.') && !starts_with_dot {
            continue;
        }
        let chars: Vec<char> = name.chars().collect();
        if matches(&chars, &toks) {
            walk(&format!("{path}{name}{sep}"), rest, found);
        }
    }
}

/// File::Spec::Unix `canonpath()`: collapses `//`, drops `/.` components, a leading `./`
/// and a trailing `/`; `..` is left alone.
pub fn canonpath(path: &str) -> String {
    if path.is_empty() {
        return String::new();
    }
    let absolute = path.starts_with('/');
    let parts: Vec<&str> = path
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    let mut out = String::new();
    if absolute {
        out.push('/');
    }
    out.push_str(&parts.join("/"));
    if out.is_empty() {
        // "." or "./" stay "." .
        return ".".to_string();
    }
    // "/.." and leading "/../" collapse to "/".
    while let Some(rest) = out.strip_prefix("/../") {
        out = format!("/{rest}");
    }
    if out == "/.." {
        out = "/".to_string();
    }
    out
}

/// File::Spec::Unix `catfile(dir, file)`.
pub fn catfile(dir: &str, file: &str) -> String {
    let file = canonpath(file);
    let mut d = canonpath(dir);
    if !d.ends_with('/') {
        d.push('/');
    }
    d + &file
}

/// File::Spec::Unix `splitpath(path)`: (directories with their trailing `/`, file name).
pub fn splitpath(path: &str) -> (&str, &str) {
    match path.rfind('/') {
        Some(i) => (&path[..=i], &path[i + 1..]),
        None => ("", path),
    }
}

/// Perl's `-f`: a regular file, following symbolic links.
pub fn is_file(path: &str) -> bool {
    Path::new(path).is_file()
}

/// Perl's `-d`.
pub fn is_dir(path: &str) -> bool {
    Path::new(path).is_dir()
}

/// Perl's `-e` (false for the empty path and for dangling links).
pub fn exists(path: &str) -> bool {
    !path.is_empty() && Path::new(path).exists()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    struct Dir(PathBuf);
    impl Dir {
        fn new(files: &[&str]) -> Self {
            static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
            let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let p = std::env::temp_dir().join(format!("tgt-admin-glob.{}.{n}", std::process::id()));
            fs::create_dir_all(&p).unwrap();
            for f in files {
                let full = p.join(f);
                if f.ends_with('/') {
                    fs::create_dir_all(&full).unwrap();
                } else {
                    fs::create_dir_all(full.parent().unwrap()).unwrap();
                    fs::write(full, "").unwrap();
                }
            }
            Self(p)
        }
        fn glob(&self, pat: &str) -> Vec<String> {
            let base = self.0.to_str().unwrap();
            glob(&format!("{base}/{pat}"))
                .into_iter()
                .map(|p| p.strip_prefix(&format!("{base}/")).unwrap().to_string())
                .collect()
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    const FILES: &[&str] = &[
        ".h.conf",
        "a.conf",
        "b.conf",
        "c d.conf",
        "x.txt",
        "sub/z.conf",
        "a{.conf",
        "x,y",
        "a",
    ];

    // Expected results captured from Perl 5.36 File::Glob bsd_glob(P, GLOB_BRACE|GLOB_QUOTE)
    // on the same directory.
    #[test]
    fn star_skips_dotfiles_and_sorts() {
        let d = Dir::new(FILES);
        assert_eq!(
            d.glob("*.conf"),
            ["a.conf", "a{.conf", "b.conf", "c d.conf"]
        );
        assert_eq!(d.glob(".*.conf"), [".h.conf"]);
        assert_eq!(d.glob("[.]h.conf"), Vec::<String>::new());
        assert_eq!(d.glob("*/*.conf"), ["sub/z.conf"]);
    }

    #[test]
    fn braces_expand_in_order_and_keep_duplicates() {
        let d = Dir::new(FILES);
        assert_eq!(d.glob("{b,a}.conf"), ["b.conf", "a.conf"]);
        assert_eq!(d.glob("{b,a,b}.conf"), ["b.conf", "a.conf", "b.conf"]);
        assert_eq!(d.glob("{{a,b},c}.conf"), ["a.conf", "b.conf"]);
        assert_eq!(
            d.glob("*.{conf,txt}"),
            ["a.conf", "a{.conf", "b.conf", "c d.conf", "x.txt"]
        );
        assert_eq!(d.glob("{,a}.conf"), ["a.conf"]);
        assert_eq!(d.glob("a{}.conf"), ["a.conf"]);
        // `{}` alone is literal; inside a longer pattern it is an empty alternative.
        assert_eq!(glob("{}"), Vec::<String>::new());
        assert_eq!(d.glob("sub/{}"), ["sub/"]);
    }

    #[test]
    fn unbalanced_brace_globs_only_the_part_before_it() {
        let d = Dir::new(FILES);
        assert_eq!(d.glob("a{.conf"), ["a"]);
        assert_eq!(d.glob("{a,b}.conf{"), ["a.conf", "b.conf"]);
    }

    #[test]
    fn backslash_quotes_and_sets_follow_bsd_rules() {
        let d = Dir::new(FILES);
        assert_eq!(d.glob("a\\{.conf"), ["a{.conf"]);
        assert_eq!(d.glob("{x\\,y}"), ["x,y"]);
        assert_eq!(d.glob("[!]a].conf"), ["b.conf"]);
        assert_eq!(d.glob("[]a].conf"), ["a.conf"]);
        assert_eq!(d.glob("[^a]*.conf"), ["a.conf", "a{.conf"]);
        assert_eq!(d.glob("[a-]"), ["a"]);
        assert_eq!(d.glob("a.c[o]nf"), ["a.conf"]);
        assert_eq!(d.glob("[a"), Vec::<String>::new());
    }

    #[test]
    fn literal_pattern_yields_itself_only_if_it_exists() {
        let d = Dir::new(FILES);
        assert_eq!(d.glob("{a.conf,nonexist}"), ["a.conf"]);
        assert_eq!(d.glob("sub/"), ["sub/"]);
        assert_eq!(d.glob("a.conf/"), Vec::<String>::new());
        assert_eq!(d.glob("*/"), ["sub/"]);
    }

    #[test]
    fn file_spec_joins_like_perl() {
        assert_eq!(catfile("/etc/tgt", "conf.d"), "/etc/tgt/conf.d");
        assert_eq!(catfile("/etc/tgt/", "/abs/x.conf"), "/etc/tgt//abs/x.conf");
        assert_eq!(catfile("/etc/tgt", ""), "/etc/tgt/");
        assert_eq!(catfile("/etc//tgt/.", "./a.conf"), "/etc/tgt/a.conf");
        assert_eq!(canonpath("/../x"), "/x");
        assert_eq!(canonpath("a/../b"), "a/../b");
        assert_eq!(canonpath("///"), "/");
        assert_eq!(splitpath("/etc/tgt/x.conf"), ("/etc/tgt/", "x.conf"));
        assert_eq!(splitpath("x.conf"), ("", "x.conf"));
    }
}
