//! The manual pages in `man/` against the programs they describe (STYLE.md §9).
//!
//! - Every long option a binary's `--help` lists (`tgtd`, `tgtadm`, `tgt-admin`, as built in
//!   the target directory) appears in its page, and so does the short form paired with it
//!   (`-t, --tid`). `tgtadm`'s page also names every mode, alias and operation of its help.
//!   A missing binary makes the test print why it skips.
//! - Every targets.conf directive of tgt-admin's table (`DIRECTIVES` in
//!   `tgt-admin/src/conf/lower.rs`, read as text: tgt-admin is a binary crate), the include
//!   keywords of its lexer and the `state` prefix appear in `targets.conf.5`.
//! - Every logical-unit `--params` key tgtd accepts (`configure_one` in `src/scsi/lu.rs`) and
//!   every iSCSI session key (`KEYS` in `src/iscsi/param.rs`) appears in `tgtadm.8`.
//! - Each page renders without a single warning: `groff -man -ww -z PAGE` and
//!   `man --warnings -l PAGE` (80 columns) print nothing on stderr. Skipped where the tool is
//!   not installed.
//!
//! A name counts as present when the page source, with roff escapes removed (`\-` → `-`,
//! font changes dropped) and comment lines left out, contains it as a whole word: not
//! preceded or followed by a letter, digit, `_` or `-`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use compat_tests::{skip, target_dir, workspace_root, Impl};

/// The four pages.
const PAGES: &[&str] = &["tgtd.8", "tgtadm.8", "tgt-admin.8", "targets.conf.5"];

fn page_path(page: &str) -> PathBuf {
    workspace_root().join("man").join(page)
}

/// The page's text as a reader sees it, close enough for name lookups: comment lines dropped,
/// `\-` as `-`, font escapes and zero-width escapes removed.
fn page_text(page: &str) -> String {
    let path = page_path(page);
    let src = fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{} cannot be read: {e}", path.display()));
    let mut out = String::new();
    for line in src.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with(".\\\"") || trimmed.starts_with("'\\\"") {
            continue;
        }
        out.push_str(&unescape(line));
        out.push('\n');
    }
    out
}

/// Removes the roff escapes the pages use around names.
fn unescape(line: &str) -> String {
    let mut out = String::new();
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('-') => out.push('-'),
            Some('e') | Some('\\') => out.push('\\'),
            Some('&') | Some('%') | Some('c') => {}
            Some('~') | Some(' ') => out.push(' '),
            // `\fB`, `\f(CW`, `\f[BI]`: font changes.
            Some('f') => match chars.next() {
                Some('(') => {
                    chars.next();
                    chars.next();
                }
                Some('[') => {
                    for c in chars.by_ref() {
                        if c == ']' {
                            break;
                        }
                    }
                }
                _ => {}
            },
            // `\(aq`, `\(lq`, ...: special characters, as a space (they never join names).
            Some('(') => {
                chars.next();
                chars.next();
                out.push(' ');
            }
            // A comment to the end of the line.
            Some('"') => break,
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

/// `name` occurs in `text` as a whole word.
fn has_word(text: &str, name: &str) -> bool {
    text.match_indices(name).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + name.len()..].chars().next();
        // A leading `-` of the name itself (`-t`, `--tid`) must not follow another `-`.
        !before.is_some_and(is_name_char) && !after.is_some_and(is_name_char)
    })
}

/// The names in `wanted` that `page` does not contain.
fn missing_from(page: &str, wanted: &[String]) -> Vec<String> {
    let text = page_text(page);
    wanted
        .iter()
        .filter(|w| !has_word(&text, w))
        .cloned()
        .collect()
}

/// Our binary `name`: `tgtd` and `tgtadm` where the other tests look, `tgt-admin` at
/// `$TGT_ADMIN_RS` or `<target dir>/{debug,release}/tgt-admin`.
fn binary(name: &str) -> Result<PathBuf, String> {
    match name {
        "tgtd" => Impl::Rust.tgtd().map_err(|m| m.to_string()),
        "tgtadm" => Impl::Rust.tgtadm().map_err(|m| m.to_string()),
        _ => {
            let candidates: Vec<PathBuf> = match std::env::var_os("TGT_ADMIN_RS") {
                Some(p) if !p.is_empty() => vec![PathBuf::from(p)],
                _ => ["debug", "release"]
                    .iter()
                    .map(|profile| target_dir().join(profile).join(name))
                    .collect(),
            };
            candidates
                .iter()
                .find(|p| p.is_file())
                .cloned()
                .ok_or_else(|| {
                    let looked: Vec<String> =
                        candidates.iter().map(|p| p.display().to_string()).collect();
                    format!(
                        "our {name} not found (looked at {}; set TGT_ADMIN_RS)",
                        looked.join(", ")
                    )
                })
        }
    }
}

/// `<binary> --help` on stdout.
fn help_of(bin: &Path) -> String {
    let out = Command::new(bin)
        .arg("--help")
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{} --help cannot run: {e}", bin.display()));
    assert!(
        out.status.success(),
        "{} --help failed: {:?}",
        bin.display(),
        out.status
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Every `--name` in a help text.
fn long_options(help: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    for (i, _) in help.match_indices("--") {
        if help[..i].chars().next_back().is_some_and(is_name_char) {
            continue;
        }
        let name: String = help[i + 2..]
            .chars()
            .take_while(|&c| is_name_char(c))
            .collect();
        if name.starts_with(|c: char| c.is_ascii_alphabetic()) {
            let opt = format!("--{name}");
            if !found.contains(&opt) {
                found.push(opt);
            }
        }
    }
    found
}

/// Every `-x, --name` pair at the start of a help line, as (`-x`, `--name`).
fn short_long_pairs(help: &str) -> Vec<(String, String)> {
    help.lines()
        .filter_map(|line| {
            let rest = line.trim_start().strip_prefix('-')?;
            let mut chars = rest.chars();
            let short = chars.next().filter(char::is_ascii_alphabetic)?;
            let rest = chars.as_str().strip_prefix(", --")?;
            let long: String = rest.chars().take_while(|&c| is_name_char(c)).collect();
            (!long.is_empty()).then(|| (format!("-{short}"), format!("--{long}")))
        })
        .collect()
}

#[test]
fn every_option_in_each_binarys_help_is_in_its_man_page() {
    const TEST: &str = "every_option_in_each_binarys_help_is_in_its_man_page";
    let mut checked = 0;
    for name in ["tgtd", "tgtadm", "tgt-admin"] {
        let bin = match binary(name) {
            Ok(b) => b,
            Err(reason) => {
                skip(&format!("{TEST} for {name}"), &reason);
                continue;
            }
        };
        let help = help_of(&bin);
        let longs = long_options(&help);
        let pairs = short_long_pairs(&help);
        assert!(
            longs.len() >= 8 && pairs.len() >= 5,
            "{name} --help lists too few options to be its help:\n{help}"
        );
        let page = format!("{name}.8");
        let mut wanted = longs;
        for (short, _) in &pairs {
            wanted.push(short.clone());
        }
        let missing = missing_from(&page, &wanted);
        assert!(
            missing.is_empty(),
            "man/{page} does not mention {missing:?} from `{name} --help`"
        );
        checked += 1;
    }
    if checked == 0 {
        skip(TEST, &"none of our binaries is built");
    }
}

/// The words of the "Modes (--mode) and their operations (--op):" block of tgtadm's help.
fn tgtadm_modes_and_ops(help: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut lines = help.lines().skip_while(|l| !l.starts_with("Modes"));
    lines.next();
    for line in lines.take_while(|l| !l.trim().is_empty()) {
        for w in line.split(|c: char| c.is_whitespace() || c == ',' || c == '(' || c == ')') {
            if !w.is_empty() && !words.iter().any(|x: &String| x == w) {
                words.push(w.to_string());
            }
        }
    }
    words
}

#[test]
fn every_tgtadm_mode_alias_and_operation_is_in_tgtadm_8() {
    const TEST: &str = "every_tgtadm_mode_alias_and_operation_is_in_tgtadm_8";
    let bin = match binary("tgtadm") {
        Ok(b) => b,
        Err(reason) => return skip(TEST, &reason),
    };
    let words = tgtadm_modes_and_ops(&help_of(&bin));
    for expected in ["logicalunit", "lu", "connection", "stat", "unbind"] {
        assert!(
            words.iter().any(|w| w == expected),
            "tgtadm --help's mode list lost {expected}: {words:?}"
        );
    }
    let missing = missing_from("tgtadm.8", &words);
    assert!(
        missing.is_empty(),
        "man/tgtadm.8 does not mention {missing:?}"
    );
}

/// The string literals that open each `d(` call of `const_name`'s table in `src`.
fn table_names(src: &str, const_name: &str, call: &str) -> Vec<String> {
    let start = src
        .find(&format!("pub const {const_name}"))
        .unwrap_or_else(|| panic!("{const_name} not found"));
    let table = &src[start..];
    let table = &table[..table.find("\n];").expect("the table ends with `];`")];
    let mut names = Vec::new();
    for (i, _) in table.match_indices(call) {
        if table[..i]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            continue;
        }
        let rest = table[i + call.len()..].trim_start();
        if let Some(lit) = rest.strip_prefix('"') {
            if let Some(end) = lit.find('"') {
                names.push(lit[..end].to_string());
            }
        }
    }
    names
}

fn read_source(rel: &str) -> String {
    let path = workspace_root().join(rel);
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("{} cannot be read: {e}", path.display()))
}

#[test]
fn every_targets_conf_directive_of_tgt_admin_is_in_targets_conf_5() {
    let lower = read_source("tgt-admin/src/conf/lower.rs");
    let mut names = table_names(&lower, "DIRECTIVES", "d(");
    assert!(
        names.len() >= 50 && names.iter().any(|n| n == "backing-store"),
        "tgt-admin's DIRECTIVES table was not found or has changed shape: {names:?}"
    );
    // Handled outside the table: the lexer's include keywords, and every target key that
    // starts with `state`.
    let lex = read_source("tgt-admin/src/conf/lex.rs");
    for kw in ["include", "includeoptional"] {
        assert!(
            lex.contains(&format!("\"{kw}\"")),
            "tgt-admin's lexer no longer knows {kw}"
        );
        names.push(kw.to_string());
    }
    assert!(lower.contains("starts_with(\"state\")"));
    names.push("state".to_string());
    let missing = missing_from("targets.conf.5", &names);
    assert!(
        missing.is_empty(),
        "man/targets.conf.5 does not describe {missing:?}"
    );
}

/// The keys `configure_one` matches with `value("KEY")`.
fn lu_param_keys(lu_rs: &str) -> Vec<String> {
    let start = lu_rs
        .find("fn configure_one(")
        .expect("LogicalUnit::configure_one not found");
    let body = &lu_rs[start..];
    let body = &body[..body.find("\n    }\n").expect("configure_one ends")];
    body.match_indices("value(\"")
        .filter_map(|(i, m)| {
            let rest = &body[i + m.len()..];
            rest.find('"').map(|end| rest[..end].to_string())
        })
        .collect()
}

#[test]
fn every_lu_param_and_iscsi_key_of_tgtd_is_in_tgtadm_8() {
    let lu_keys = lu_param_keys(&read_source("src/scsi/lu.rs"));
    assert!(
        lu_keys.len() >= 15 && lu_keys.iter().any(|k| k == "mode_page"),
        "configure_one was not read: {lu_keys:?}"
    );
    let iscsi_keys = table_names(&read_source("src/iscsi/param.rs"), "KEYS", "key(");
    assert!(
        iscsi_keys.len() >= 20 && iscsi_keys.iter().any(|k| k == "MaxQueueCmd"),
        "the iSCSI key table was not read: {iscsi_keys:?}"
    );
    let missing = missing_from("tgtadm.8", &[lu_keys, iscsi_keys].concat());
    assert!(
        missing.is_empty(),
        "man/tgtadm.8 does not describe {missing:?}"
    );
}

/// Runs `cmd`; `None` when the program is not installed.
fn stderr_of(cmd: &mut Command) -> Option<String> {
    let out = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .output()
        .ok()?;
    let mut text = String::from_utf8_lossy(&out.stderr).into_owned();
    if !out.status.success() {
        text.push_str(&format!("(exit status {:?})\n", out.status));
    }
    Some(text)
}

fn installed(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn man_pages_render_without_warnings() {
    const TEST: &str = "man_pages_render_without_warnings";
    let mut ran = false;
    if installed("groff") {
        for page in PAGES {
            let stderr = stderr_of(
                Command::new("groff")
                    .args(["-man", "-ww", "-z"])
                    .arg(page_path(page)),
            )
            .expect("groff ran for --version");
            assert!(stderr.is_empty(), "groff -man -ww -z man/{page}:\n{stderr}");
        }
        ran = true;
    } else {
        skip(&format!("{TEST} (groff)"), &"groff is not installed");
    }
    if installed("man") {
        for page in PAGES {
            let stderr = stderr_of(
                Command::new("man")
                    .args(["--warnings", "-l"])
                    .arg(page_path(page))
                    .env("MANWIDTH", "80")
                    .env("MANPAGER", "cat")
                    .env("PAGER", "cat"),
            )
            .expect("man ran for --version");
            assert!(
                stderr.is_empty(),
                "man --warnings -l man/{page} (80 columns):\n{stderr}"
            );
        }
        ran = true;
    } else {
        skip(&format!("{TEST} (man)"), &"man-db is not installed");
    }
    if !ran {
        skip(TEST, &"neither groff nor man is installed");
    }
}

#[test]
fn name_lookup_ignores_escapes_and_partial_words() {
    let text = unescape(r".BR \-\-tid \fB\-\-name\fR=x \-tx, \-\-lunx, \-\-op, \(lqstate\(rq");
    assert!(has_word(&text, "--tid"));
    assert!(has_word(&text, "--name"));
    assert!(has_word(&text, "--op"));
    assert!(has_word(&text, "state"));
    assert!(!has_word(&text, "--lun"));
    assert!(!has_word(&text, "-t"));
    assert!(
        !has_word(&text, "-n"),
        "--name does not contain the option -n"
    );
    assert_eq!(
        long_options("  -t, --tid <id>  see --mode; not -- alone or x--y"),
        ["--tid", "--mode"]
    );
    assert_eq!(
        short_long_pairs("  -t, --tid <id>\n      --iscsi x\n-f, --foreground\n"),
        [
            ("-t".to_string(), "--tid".to_string()),
            ("-f".to_string(), "--foreground".to_string())
        ]
    );
}
