//! A GNU `getopt_long` compatible command-line scanner, shared by `tgtadm` and `tgtd`.
//!
//! Owns the reproduction of glibc's option syntax: argument permutation, `--opt=value` and
//! `--opt value`, unique-prefix abbreviation of long options with exact-match preference and
//! the ambiguity rule, glued short options and arguments (`-t1`, `-dt1`), the `--` terminator,
//! `-` alone as an operand, `POSIXLY_CORRECT`, and glibc's exact error texts. It knows nothing
//! about what any option means: programs describe their options in a table of [`OptSpec`] rows
//! and act on the [`Matched`] items the scanner yields.
//!
//! clap cannot be used for tgt's programs: it reorders, rewords and rejects input differently
//! from glibc, and scripts (and our golden tests) see the difference in stderr and exit codes.
//!
//! Source: glibc 2.36 `posix/getopt.c` (`_getopt_internal_r`, `process_long_option`), the C
//! library Debian bookworm's tgt 1.0.85 is linked against; messages checked against the real
//! `/usr/sbin/tgtadm`.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::io::Write;
use std::os::unix::ffi::{OsStrExt, OsStringExt};

/// Whether an option takes an argument (`struct option.has_arg` / `:` and `::` in optstring).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HasArg {
    /// `no_argument`: `--force`; `--force=x` is an error.
    No,
    /// `required_argument`: `--tid 1`, `--tid=1`, `-t1`, `-t 1`.
    Required,
    /// `optional_argument`: only `--opt=value` or `-ovalue`; a separate word is not taken.
    Optional,
}

/// One option a program accepts: a row of its option table.
///
/// The long and short forms have their own `has_arg`, because C programs declare them in two
/// places (`struct option[]` and the optstring) that need not agree: tgtadm's `--force` takes
/// no argument while `-F` requires one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptSpec<T> {
    /// What the program calls this option; glibc's `val`. Two long options with the same
    /// `id` and `long_arg` are aliases, never ambiguous with each other (glibc rule).
    pub id: T,
    /// Long name without the leading `--`, if the option has one.
    pub long: Option<&'static str>,
    /// `has_arg` of the long form.
    pub long_arg: HasArg,
    /// Short option letter, if the option has one.
    pub short: Option<u8>,
    /// `has_arg` of the short form (`x`, `x:` or `x::` in the optstring).
    pub short_arg: HasArg,
}

/// How operands (non-option arguments) interleave with options.
/// glibc: `enum __ord` in `posix/getopt_int.h`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ordering {
    /// GNU default: scan all of argv; operands are collected and reported after the options.
    Permute,
    /// POSIX: the first operand ends option scanning (`POSIXLY_CORRECT`, optstring `+`).
    RequireOrder,
}

impl Ordering {
    /// glibc's choice for an optstring without a `+`/`-` prefix: [`Ordering::RequireOrder`]
    /// when the environment has `POSIXLY_CORRECT` (any value), else [`Ordering::Permute`].
    pub fn from_env() -> Self {
        if std::env::var_os("POSIXLY_CORRECT").is_some() {
            Self::RequireOrder
        } else {
            Self::Permute
        }
    }
}

/// Which spelling of an option was used on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// `--name`, possibly abbreviated.
    Long,
    /// `-x`, possibly glued to other letters.
    Short,
}

/// An option recognised on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Matched<'a, T> {
    /// The table row that matched.
    pub spec: &'a OptSpec<T>,
    /// The option's argument (glibc's `optarg`), if it has one.
    pub arg: Option<&'a OsStr>,
    /// How the option was spelled.
    pub form: Form,
    /// argv index of the word that named the option.
    pub index: usize,
}

impl<T: Copy> Matched<'_, T> {
    /// The program's identifier for the option.
    pub fn id(&self) -> T {
        self.spec.id
    }
}

/// What went wrong with one command-line word. Texts follow glibc's `getopt.c`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GetoptErrorKind {
    /// `--name` matches no long option. `text` is everything after `--`, `=value` included.
    #[error("unrecognized option '--{}'", String::from_utf8_lossy(text))]
    UnrecognizedLong {
        /// The word after `--`.
        text: Vec<u8>,
    },
    /// `--name` is a prefix of several long options that are not aliases.
    #[error(
        "option '--{}' is ambiguous; possibilities:{}",
        String::from_utf8_lossy(text),
        candidates.iter().map(|c| format!(" '--{c}'")).collect::<String>()
    )]
    Ambiguous {
        /// The word after `--`, `=value` included.
        text: Vec<u8>,
        /// The clashing long names, in table order.
        candidates: Vec<&'static str>,
    },
    /// `--name=value` for an option that takes no argument. `name` is the full long name.
    #[error("option '--{name}' doesn't allow an argument")]
    LongArgNotAllowed {
        /// Full long name of the matched option.
        name: &'static str,
    },
    /// `--name` as the last word, for an option that requires an argument.
    #[error("option '--{name}' requires an argument")]
    LongArgRequired {
        /// Full long name of the matched option.
        name: &'static str,
    },
    /// `-x` where `x` is no short option.
    #[error("invalid option -- '{}'", char::from(*letter))]
    InvalidShort {
        /// The offending byte.
        letter: u8,
    },
    /// `-x` as the last word, for a short option that requires an argument.
    #[error("option requires an argument -- '{}'", char::from(*letter))]
    ShortArgRequired {
        /// The option letter.
        letter: u8,
    },
}

/// A command-line word the scanner rejected, and where it was.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}")]
pub struct GetoptError {
    /// What was wrong.
    pub kind: GetoptErrorKind,
    /// argv index of the offending word (glibc leaves `optind` just past it).
    pub index: usize,
}

impl GetoptError {
    /// The exact bytes glibc writes to stderr for this error, newline included:
    /// `<argv[0]>: <message>\n`. glibc uses `argv[0]` as given (a full path stays a full
    /// path) and prints option bytes raw, so this works on bytes, not `str`.
    pub fn render(&self, prog: &OsStr) -> Vec<u8> {
        let mut out = prog.as_bytes().to_vec();
        out.extend_from_slice(b": ");
        match &self.kind {
            GetoptErrorKind::UnrecognizedLong { text } => {
                out.extend_from_slice(b"unrecognized option '--");
                out.extend_from_slice(text);
                out.extend_from_slice(b"'");
            }
            GetoptErrorKind::Ambiguous { text, candidates } => {
                out.extend_from_slice(b"option '--");
                out.extend_from_slice(text);
                out.extend_from_slice(b"' is ambiguous; possibilities:");
                for c in candidates {
                    out.extend_from_slice(b" '--");
                    out.extend_from_slice(c.as_bytes());
                    out.extend_from_slice(b"'");
                }
            }
            GetoptErrorKind::InvalidShort { letter } => {
                out.extend_from_slice(b"invalid option -- '");
                out.push(*letter);
                out.extend_from_slice(b"'");
            }
            GetoptErrorKind::ShortArgRequired { letter } => {
                out.extend_from_slice(b"option requires an argument -- '");
                out.push(*letter);
                out.extend_from_slice(b"'");
            }
            // Pure-ASCII texts: the Display form is exact.
            kind @ (GetoptErrorKind::LongArgNotAllowed { .. }
            | GetoptErrorKind::LongArgRequired { .. }) => {
                out.extend_from_slice(kind.to_string().as_bytes());
            }
        }
        out.push(b'\n');
        out
    }
}

/// The scanner: an iterator over the options of `argv`, then [`Getopt::operands`].
///
/// Like glibc (and unlike POSIX `getopt`), it keeps going after an error, so a caller in
/// quiet mode may collect every problem; tgtadm stops at the first, as C tgtadm does.
pub struct Getopt<'a, T> {
    args: &'a [OsString],
    specs: &'a [OptSpec<T>],
    ordering: Ordering,
    opterr: bool,
    /// Next argv index to examine (glibc's `optind`).
    pos: usize,
    /// Inside a cluster of short options: the word's index and the next byte's offset
    /// (glibc's `nextchar`).
    cluster: Option<(usize, usize)>,
    operands: Vec<&'a OsStr>,
    finished: bool,
}

impl<T> fmt::Debug for Getopt<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Getopt")
            .field("pos", &self.pos)
            .field("ordering", &self.ordering)
            .field("opterr", &self.opterr)
            .field("finished", &self.finished)
            .finish_non_exhaustive()
    }
}

impl<'a, T: Copy + PartialEq> Getopt<'a, T> {
    /// Scans `args` (`args[0]` is the program name, as in `argv`) against `specs`, which
    /// must list long options in the program's `struct option[]` order: that order decides
    /// the list printed for an ambiguous abbreviation. Ordering follows the environment
    /// ([`Ordering::from_env`]) and errors are printed to stderr, as with glibc's defaults.
    pub fn new(args: &'a [OsString], specs: &'a [OptSpec<T>]) -> Self {
        Self {
            args,
            specs,
            ordering: Ordering::from_env(),
            opterr: true,
            pos: 1,
            cluster: None,
            operands: Vec::new(),
            finished: false,
        }
    }

    /// Overrides the ordering chosen from the environment.
    pub fn ordering(mut self, ordering: Ordering) -> Self {
        self.ordering = ordering;
        self
    }

    /// glibc's `opterr`: when false, errors are only returned, never printed.
    pub fn opterr(mut self, print: bool) -> Self {
        self.opterr = print;
        self
    }

    /// The operands (non-option words) in the order glibc leaves them in `argv[optind..]`:
    /// those seen before a `--`, then everything after it. Complete once the iterator has
    /// returned `None`.
    pub fn operands(&self) -> &[&'a OsStr] {
        &self.operands
    }

    fn word(&self, i: usize) -> &'a [u8] {
        self.args[i].as_bytes()
    }

    fn fail(&self, index: usize, kind: GetoptErrorKind) -> GetoptError {
        let err = GetoptError { kind, index };
        if self.opterr {
            let prog = self
                .args
                .first()
                .map_or(OsStr::new(""), OsString::as_os_str);
            // glibc ignores a failed write to stderr too.
            let _ = std::io::stderr().write_all(&err.render(prog));
        }
        err
    }

    /// glibc `process_long_option()`: `body` is the word after `--`.
    fn long_option(&mut self, index: usize) -> Result<Matched<'a, T>, GetoptError> {
        let body = &self.word(index)[2..];
        self.pos = index + 1;
        let name_len = body.iter().position(|&b| b == b'=').unwrap_or(body.len());
        let name = &body[..name_len];

        let specs: &'a [OptSpec<T>] = self.specs;
        let long_specs = || specs.iter().filter_map(|s| s.long.map(|l| (s, l)));
        let exact = long_specs().find(|(_, l)| l.as_bytes() == name);
        let found = match exact {
            Some((spec, _)) => spec,
            None => {
                let mut first: Option<&'a OptSpec<T>> = None;
                let mut clash = false;
                for (spec, long) in long_specs() {
                    if !long.as_bytes().starts_with(name) {
                        continue;
                    }
                    match first {
                        None => first = Some(spec),
                        Some(f) if f.long_arg != spec.long_arg || f.id != spec.id => clash = true,
                        Some(_) => {}
                    }
                }
                match first {
                    None => {
                        let text = body.to_vec();
                        return Err(self.fail(index, GetoptErrorKind::UnrecognizedLong { text }));
                    }
                    Some(f) if clash => {
                        // glibc marks the first match and every later match that is not an
                        // alias of it, then prints them in table order.
                        let candidates = long_specs()
                            .filter(|(s, l)| {
                                l.as_bytes().starts_with(name)
                                    && (std::ptr::eq(*s, f)
                                        || s.long_arg != f.long_arg
                                        || s.id != f.id)
                            })
                            .map(|(_, l)| l)
                            .collect();
                        let text = body.to_vec();
                        let kind = GetoptErrorKind::Ambiguous { text, candidates };
                        return Err(self.fail(index, kind));
                    }
                    Some(f) => f,
                }
            }
        };
        let full = found.long.unwrap_or_default();

        let arg = if name_len < body.len() {
            if found.long_arg == HasArg::No {
                let kind = GetoptErrorKind::LongArgNotAllowed { name: full };
                return Err(self.fail(index, kind));
            }
            Some(OsStr::from_bytes(&body[name_len + 1..]))
        } else if found.long_arg == HasArg::Required {
            match self.args.get(self.pos) {
                Some(a) => {
                    self.pos += 1;
                    Some(a.as_os_str())
                }
                None => {
                    let kind = GetoptErrorKind::LongArgRequired { name: full };
                    return Err(self.fail(index, kind));
                }
            }
        } else {
            None
        };
        Ok(Matched {
            spec: found,
            arg,
            form: Form::Long,
            index,
        })
    }

    /// The short-option part of glibc `_getopt_internal_r()`: one letter of a cluster.
    fn short_option(&mut self, index: usize, off: usize) -> Result<Matched<'a, T>, GetoptError> {
        let word = self.word(index);
        let letter = word[off];
        let rest = &word[off + 1..];
        // Like glibc: move to the next word once the cluster's last letter is taken.
        if rest.is_empty() {
            self.cluster = None;
            self.pos = index + 1;
        } else {
            self.cluster = Some((index, off + 1));
        }
        let spec = if letter == b':' || letter == b';' {
            None
        } else {
            self.specs.iter().find(|s| s.short == Some(letter))
        };
        let Some(spec) = spec else {
            return Err(self.fail(index, GetoptErrorKind::InvalidShort { letter }));
        };
        let arg = match spec.short_arg {
            HasArg::No => None,
            HasArg::Required | HasArg::Optional if !rest.is_empty() => {
                self.cluster = None;
                self.pos = index + 1;
                Some(OsStr::from_bytes(rest))
            }
            HasArg::Optional => None,
            HasArg::Required => match self.args.get(index + 1) {
                Some(a) => {
                    self.pos = index + 2;
                    Some(a.as_os_str())
                }
                None => {
                    return Err(self.fail(index, GetoptErrorKind::ShortArgRequired { letter }));
                }
            },
        };
        Ok(Matched {
            spec,
            arg,
            form: Form::Short,
            index,
        })
    }
}

impl<'a, T: Copy + PartialEq> Iterator for Getopt<'a, T> {
    type Item = Result<Matched<'a, T>, GetoptError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some((index, off)) = self.cluster {
            return Some(self.short_option(index, off));
        }
        loop {
            if self.finished || self.pos >= self.args.len() {
                self.finished = true;
                return None;
            }
            let index = self.pos;
            let word = self.word(index);
            if word == b"--" {
                self.operands
                    .extend(self.args[index + 1..].iter().map(OsString::as_os_str));
                self.finished = true;
                return None;
            }
            // glibc `NONOPTION_P`: anything not starting with `-`, and `-` alone.
            if word.first() != Some(&b'-') || word.len() == 1 {
                match self.ordering {
                    Ordering::RequireOrder => {
                        self.operands
                            .extend(self.args[index..].iter().map(OsString::as_os_str));
                        self.finished = true;
                        return None;
                    }
                    Ordering::Permute => {
                        self.operands.push(self.args[index].as_os_str());
                        self.pos += 1;
                        continue;
                    }
                }
            }
            if word[1] == b'-' {
                return Some(self.long_option(index));
            }
            return Some(self.short_option(index, 1));
        }
    }
}

/// Builds argv-style words from string literals; for tests and callers that build argv.
pub fn argv<I, S>(words: I) -> Vec<OsString>
where
    I: IntoIterator<Item = S>,
    S: Into<Vec<u8>>,
{
    words
        .into_iter()
        .map(|w| OsString::from_vec(w.into()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// tgtadm's table (tgt: usr/tgtadm.c `long_options`, `short_options`), ids = letters.
    const fn row(
        long: &'static str,
        short: u8,
        long_arg: HasArg,
        short_arg: HasArg,
    ) -> OptSpec<u8> {
        OptSpec {
            id: short,
            long: Some(long),
            long_arg,
            short: Some(short),
            short_arg,
        }
    }
    use HasArg::{No, Optional, Required};
    const TGTADM: &[OptSpec<u8>] = &[
        row("debug", b'd', No, No),
        row("help", b'h', No, No),
        row("version", b'V', No, No),
        row("lld", b'L', Required, Required),
        row("op", b'o', Required, Required),
        row("mode", b'm', Required, Required),
        row("tid", b't', Required, Required),
        row("sid", b's', Required, Required),
        row("cid", b'c', Required, Required),
        row("lun", b'l', Required, Required),
        row("name", b'n', Required, Required),
        row("value", b'v', Required, Required),
        row("backing-store", b'b', Required, Required),
        row("bstype", b'E', Required, Required),
        row("bsopts", b'S', Required, Required),
        row("bsoflags", b'f', Required, Required),
        row("blocksize", b'y', Required, Required),
        row("targetname", b'T', Required, Required),
        row("initiator-address", b'I', Required, Required),
        row("initiator-name", b'Q', Required, Required),
        row("user", b'u', Required, Required),
        row("password", b'p', Required, Required),
        row("host", b'H', Required, Required),
        row("force", b'F', No, Required),
        row("params", b'P', Required, Required),
        row("bus", b'B', Required, Required),
        row("device-type", b'Y', Required, Required),
        row("outgoing", b'O', No, Required),
        row("control-port", b'C', Required, Required),
    ];

    /// Runs the scanner quietly in GNU order; returns `(letter, arg)` pairs or the first
    /// error rendered for program `tgtadm`, plus the operands.
    /// `(letter, argument)` pairs, then the operands or the first error's text.
    type Scan = (Vec<(char, Option<String>)>, Result<Vec<String>, String>);

    fn scan(words: &[&str]) -> Scan {
        scan_in(words, Ordering::Permute)
    }

    fn scan_in(words: &[&str], ordering: Ordering) -> Scan {
        let args = argv(std::iter::once("tgtadm").chain(words.iter().copied()));
        let mut g = Getopt::new(&args, TGTADM).ordering(ordering).opterr(false);
        let mut opts = Vec::new();
        for item in g.by_ref() {
            match item {
                Ok(m) => opts.push((
                    char::from(m.id()),
                    m.arg.map(|a| a.to_string_lossy().into_owned()),
                )),
                Err(e) => {
                    let text = String::from_utf8(e.render(OsStr::new("tgtadm"))).unwrap();
                    return (opts, Err(text));
                }
            }
        }
        let ops = g
            .operands()
            .iter()
            .map(|o| o.to_string_lossy().into_owned())
            .collect();
        (opts, Ok(ops))
    }

    fn s(x: &str) -> Option<String> {
        Some(x.to_owned())
    }

    #[test]
    fn long_option_with_separate_and_attached_argument() {
        let (o, r) = scan(&["--mode", "target", "--op=new"]);
        assert_eq!(o, [('m', s("target")), ('o', s("new"))]);
        assert_eq!(r, Ok(vec![]));
    }

    #[test]
    fn attached_empty_argument_is_an_empty_string() {
        let (o, _) = scan(&["--lld="]);
        assert_eq!(o, [('L', s(""))]);
    }

    #[test]
    fn required_argument_takes_the_next_word_even_if_it_looks_like_an_option() {
        let (o, r) = scan(&["--name", "--tid", "-t", "--", "-x", "-"]);
        assert_eq!(o, [('n', s("--tid")), ('t', s("--"))]);
        // `--` was consumed as an argument, so `-x` is still scanned (and is no option)
        assert_eq!(r, Err("tgtadm: invalid option -- 'x'\n".into()));
    }

    #[test]
    fn unique_prefix_abbreviates_a_long_option() {
        let (o, r) = scan(&["--mo", "target", "--param", "x", "--outg", "--deb"]);
        assert_eq!(
            o,
            [('m', s("target")), ('P', s("x")), ('O', None), ('d', None)]
        );
        assert_eq!(r, Ok(vec![]));
    }

    #[test]
    fn exact_match_wins_over_longer_names() {
        // A table where one long name is a prefix of another.
        const T: &[OptSpec<u8>] = &[
            row("name", b'n', Required, Required),
            row("names", b'N', No, No),
        ];
        let args = argv(["p", "--name", "x", "--names", "--nam=y"]);
        let mut g = Getopt::new(&args, T).opterr(false);
        assert_eq!(g.next().unwrap().unwrap().id(), b'n');
        assert_eq!(g.next().unwrap().unwrap().id(), b'N');
        let e = g.next().unwrap().unwrap_err();
        assert_eq!(
            e.render(OsStr::new("p")),
            b"p: option '--nam=y' is ambiguous; possibilities: '--name' '--names'\n"
        );
    }

    #[test]
    fn ambiguous_prefix_lists_candidates_in_table_order() {
        let (_, r) = scan(&["--b=x"]);
        assert_eq!(
            r,
            Err(
                "tgtadm: option '--b=x' is ambiguous; possibilities: '--backing-store' \
                 '--bstype' '--bsopts' '--bsoflags' '--blocksize' '--bus'\n"
                    .into()
            )
        );
        let (_, r) = scan(&["--initiator"]);
        assert_eq!(
            r,
            Err("tgtadm: option '--initiator' is ambiguous; possibilities: \
                 '--initiator-address' '--initiator-name'\n"
                .into())
        );
    }

    #[test]
    fn empty_long_name_is_ambiguous_with_everything() {
        let (_, r) = scan(&["--=x"]);
        let r = r.unwrap_err();
        assert!(
            r.starts_with("tgtadm: option '--=x' is ambiguous; possibilities: '--debug' '--help' ")
        );
        assert!(r.ends_with(" '--outgoing' '--control-port'\n"));
        // the quoted input, then one quoted name per table row
        assert_eq!(r.matches(" '--").count(), 1 + TGTADM.len());
    }

    #[test]
    fn aliases_with_same_id_and_has_arg_are_not_ambiguous() {
        const T: &[OptSpec<u8>] = &[
            row("colour", b'c', Required, Required),
            row("color", b'c', Required, Required),
            row("columns", b'C', Required, Required),
        ];
        let args = argv(["p", "--colo", "red", "--col"]);
        let mut g = Getopt::new(&args, T).opterr(false);
        let m = g.next().unwrap().unwrap();
        assert_eq!((m.id(), m.arg), (b'c', Some(OsStr::new("red"))));
        let e = g.next().unwrap().unwrap_err();
        assert_eq!(
            e.kind,
            GetoptErrorKind::Ambiguous {
                text: b"col".to_vec(),
                candidates: vec!["colour", "columns"]
            }
        );
    }

    #[test]
    fn same_id_with_different_has_arg_is_ambiguous() {
        const T: &[OptSpec<u8>] = &[
            row("force", b'F', No, No),
            row("forcearg", b'F', Required, Required),
        ];
        let args = argv(["p", "--for"]);
        let e = Getopt::new(&args, T)
            .opterr(false)
            .next()
            .unwrap()
            .unwrap_err();
        assert!(matches!(e.kind, GetoptErrorKind::Ambiguous { .. }));
    }

    #[test]
    fn unrecognized_long_option_keeps_its_value_text() {
        assert_eq!(
            scan(&["--bogus"]).1,
            Err("tgtadm: unrecognized option '--bogus'\n".into())
        );
        assert_eq!(
            scan(&["--bogus=val"]).1,
            Err("tgtadm: unrecognized option '--bogus=val'\n".into())
        );
        assert_eq!(
            scan(&["---tid"]).1,
            Err("tgtadm: unrecognized option '---tid'\n".into())
        );
    }

    #[test]
    fn missing_arguments_name_the_full_option() {
        assert_eq!(
            scan(&["--ti"]).1,
            Err("tgtadm: option '--tid' requires an argument\n".into())
        );
        assert_eq!(
            scan(&["-F"]).1,
            Err("tgtadm: option requires an argument -- 'F'\n".into())
        );
        assert_eq!(
            scan(&["-dt"]).1,
            Err("tgtadm: option requires an argument -- 't'\n".into())
        );
    }

    #[test]
    fn long_form_without_argument_rejects_one_while_short_form_requires_one() {
        assert_eq!(
            scan(&["--forc=1"]).1,
            Err("tgtadm: option '--force' doesn't allow an argument\n".into())
        );
        let (o, r) = scan(&["--force", "-F", "x", "-Oy", "--outgoing", "z"]);
        assert_eq!(o, [('F', None), ('F', s("x")), ('O', s("y")), ('O', None)]);
        assert_eq!(r, Ok(vec!["z".into()]));
    }

    #[test]
    fn glued_short_options_and_arguments() {
        let (o, r) = scan(&["-t1", "-dt2", "-dl", "3", "-dd"]);
        assert_eq!(
            o,
            [
                ('t', s("1")),
                ('d', None),
                ('t', s("2")),
                ('d', None),
                ('l', s("3")),
                ('d', None),
                ('d', None)
            ]
        );
        assert_eq!(r, Ok(vec![]));
    }

    #[test]
    fn invalid_short_letters_including_colon_and_raw_bytes() {
        assert_eq!(
            scan(&["-Z"]).1,
            Err("tgtadm: invalid option -- 'Z'\n".into())
        );
        assert_eq!(
            scan(&["-:"]).1,
            Err("tgtadm: invalid option -- ':'\n".into())
        );
        assert_eq!(
            scan(&["-W", "foo"]).1,
            Err("tgtadm: invalid option -- 'W'\n".into())
        );
        let args = argv([b"tgtadm".to_vec(), b"-d\xc3\xa9".to_vec()]);
        let mut g = Getopt::new(&args, TGTADM).opterr(false);
        assert_eq!(g.next().unwrap().unwrap().id(), b'd');
        let e = g.next().unwrap().unwrap_err();
        assert_eq!(e.render(OsStr::new("x")), b"x: invalid option -- '\xc3'\n");
        // glibc carries on with the cluster's next byte
        let e = g.next().unwrap().unwrap_err();
        assert_eq!(e.kind, GetoptErrorKind::InvalidShort { letter: 0xa9 });
        assert!(g.next().is_none());
    }

    #[test]
    fn operands_are_permuted_after_options() {
        let (o, r) = scan(&["foo", "--mode", "sys", "-", "bar", "-o", "show", ""]);
        assert_eq!(o, [('m', s("sys")), ('o', s("show"))]);
        assert_eq!(
            r,
            Ok(vec!["foo".into(), "-".into(), "bar".into(), "".into()])
        );
    }

    #[test]
    fn double_dash_ends_options_and_keeps_earlier_operands_first() {
        let (o, r) = scan(&["foo", "--mode", "sys", "--", "--op", "show"]);
        assert_eq!(o, [('m', s("sys"))]);
        assert_eq!(r, Ok(vec!["foo".into(), "--op".into(), "show".into()]));
        let (_, r) = scan(&["-d", "--"]);
        assert_eq!(r, Ok(vec![]));
    }

    #[test]
    fn require_order_stops_at_the_first_operand() {
        let (o, r) = scan_in(&["-d", "foo", "--mode", "sys"], Ordering::RequireOrder);
        assert_eq!(o, [('d', None)]);
        assert_eq!(r, Ok(vec!["foo".into(), "--mode".into(), "sys".into()]));
        let (_, r) = scan_in(&["--", "-d"], Ordering::RequireOrder);
        assert_eq!(r, Ok(vec!["-d".into()]));
    }

    #[test]
    fn optional_arguments_are_only_taken_when_attached() {
        const T: &[OptSpec<u8>] = &[OptSpec {
            id: b'x',
            long: Some("extra"),
            long_arg: Optional,
            short: Some(b'x'),
            short_arg: Optional,
        }];
        let args = argv(["p", "--extra", "a", "--extra=b", "-x", "-xc"]);
        let mut g = Getopt::new(&args, T).opterr(false);
        let got: Vec<_> = g.by_ref().map(|m| m.unwrap().arg).collect();
        assert_eq!(
            got,
            [None, Some(OsStr::new("b")), None, Some(OsStr::new("c"))]
        );
        assert_eq!(g.operands(), [OsStr::new("a")]);
    }

    #[test]
    fn long_only_and_short_only_rows() {
        const T: &[OptSpec<u8>] = &[
            OptSpec {
                id: 1,
                long: Some("iscsi"),
                long_arg: Required,
                short: None,
                short_arg: No,
            },
            OptSpec {
                id: 2,
                long: None,
                long_arg: No,
                short: Some(b'q'),
                short_arg: No,
            },
        ];
        let args = argv(["p", "--is", "v", "-q", "--q"]);
        let mut g = Getopt::new(&args, T).opterr(false);
        assert_eq!(g.next().unwrap().unwrap().arg, Some(OsStr::new("v")));
        assert_eq!(g.next().unwrap().unwrap().id(), 2);
        let e = g.next().unwrap().unwrap_err();
        assert_eq!(
            e.kind,
            GetoptErrorKind::UnrecognizedLong {
                text: b"q".to_vec()
            }
        );
    }

    #[test]
    fn errors_record_the_word_index_and_scanning_continues() {
        // tgtd reads argv[index] and argv[index + 1] for its `--<lld> <params>` options.
        let args = argv(["tgtd", "-d", "--iscsi", "portal=x", "-t1"]);
        let mut g = Getopt::new(&args, TGTADM).opterr(false);
        let m = g.next().unwrap().unwrap();
        assert_eq!((m.index, m.form), (1, Form::Short));
        let e = g.next().unwrap().unwrap_err();
        assert_eq!(e.index, 2);
        let m = g.next().unwrap().unwrap();
        assert_eq!((m.id(), m.index, m.form), (b't', 4, Form::Short));
        assert!(g.next().is_none());
        assert_eq!(g.operands(), [OsStr::new("portal=x")]);
    }

    #[test]
    fn display_matches_render_without_program_name() {
        let (_, r) = scan(&["--forc=1"]);
        let args = argv(["tgtadm", "--forc=1"]);
        let e = Getopt::new(&args, TGTADM)
            .opterr(false)
            .next()
            .unwrap()
            .unwrap_err();
        assert_eq!(format!("tgtadm: {e}\n"), r.unwrap_err());
    }

    #[test]
    fn render_uses_argv0_verbatim() {
        let args = argv(["/usr/sbin/tgtadm", "--bogus"]);
        let e = Getopt::new(&args, TGTADM)
            .opterr(false)
            .next()
            .unwrap()
            .unwrap_err();
        assert_eq!(
            e.render(args[0].as_os_str()),
            b"/usr/sbin/tgtadm: unrecognized option '--bogus'\n"
        );
    }

    #[test]
    fn empty_argv_yields_nothing() {
        let args: Vec<OsString> = Vec::new();
        let mut g = Getopt::new(&args, TGTADM).opterr(false);
        assert!(g.next().is_none());
        assert!(g.operands().is_empty());
    }
}
