//! tgtadm command lines: the text the Perl tool runs, and the request that text stands for.
//!
//! Owns the bridge between tgt-admin's plan and the management protocol. The Perl tool
//! builds every operation as a `tgtadm ...` string and hands it to Perl's `system()`; we build
//! the same string (it is what `--pretend` and `-v` print), then derive the request from it as
//! Perl, the shell and C tgtadm would: Perl's own word splitting when the line has no shell
//! metacharacter, else `/bin/sh`'s word splitting and quote removal (`argv_of`), then
//! tgtadm's option scanning (GNU `getopt_long`, [`tgt::getopt`]), its argument checks and its
//! body layout (`tgt: usr/tgtadm.c main()`; tgtadm-cli.md §1–§4, mgmt-protocol.md §7–§8). So a
//! value the shell would split or unquote reaches tgtd exactly as it does from the Perl tool.
//!
//! It knows nothing about targets.conf; it never touches a socket (`exec` sends).
// COMPAT: the shell's expansions (`$VAR`, `` `cmd` ``, `~`, globs) and redirections are not
// performed: such characters reach tgtd literally. Text after an unquoted `;`, `&`, `|` or a
// line break, which the shell would run as further commands, is ignored.

use std::ffi::OsString;

use tgt::getopt::{Getopt, HasArg, OptSpec, Ordering};
use tgt::mgmt::params::strtoul;
use tgt::mgmt::wire::{Mode, Op, Request, TID_NONE};

use crate::conf::ast::Loc;

/// One `tgtadm` invocation of the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TgtadmCmd {
    /// The command line exactly as the Perl tool would run it.
    pub line: String,
    /// The configuration line it comes from, for error messages.
    pub origin: Option<Loc>,
}

impl TgtadmCmd {
    /// A command built from `line`.
    pub fn new(line: String) -> Self {
        Self { line, origin: None }
    }

    /// The same command, remembering the configuration line behind it.
    pub fn from_conf(line: String, origin: &Loc) -> Self {
        Self {
            line,
            origin: Some(origin.clone()),
        }
    }

    /// What tgtadm would send for this line, or how the shell or tgtadm would refuse it.
    pub fn invocation(&self) -> Result<Invocation, Refusal> {
        let cmd = argv_of(&self.line).ok_or_else(|| {
            // dash's message and status for `sh -c` with an open quote.
            refuse(
                "sh: 1: Syntax error: Unterminated quoted string\n".to_string(),
                2,
            )
        })?;
        match parse_args(&cmd.words) {
            Ok(mut inv) => {
                inv.status_from_rest = cmd.status_from_rest;
                Ok(inv)
            }
            Err(mut r) if cmd.status_from_rest => {
                r.code = 0;
                Err(r)
            }
            Err(r) => Err(r),
        }
    }
}

/// A request ready for the management socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    /// `-C` control port.
    pub control_port: i16,
    /// The header.
    pub req: Request,
    /// The body with its terminating NUL, or empty when tgtadm sends none.
    pub body: Vec<u8>,
    /// The shell line goes on after tgtadm (`; more`, `| more`, `|| more`, `& more`): the
    /// shell's exit status, which the Perl tool checks, is not tgtadm's.
    pub status_from_rest: bool,
}

#[cfg(test)]
impl Invocation {
    /// The body text without its NUL.
    pub fn body_text(&self) -> &[u8] {
        self.body.strip_suffix(b"\0").unwrap_or(&self.body)
    }
}

/// How C tgtadm refuses a command line before sending anything: its stderr text (complete,
/// newline included) and exit status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", message.trim_end())]
pub struct Refusal {
    /// What tgtadm prints to stderr.
    pub message: String,
    /// tgtadm's exit status.
    pub code: u8,
}

const HINT: &str = "Try `tgtadm --help' for more information.\n";
const EINVAL: u8 = 22;

fn refuse(message: String, code: u8) -> Refusal {
    Refusal { message, code }
}

fn usage_error(message: &str) -> Refusal {
    refuse(format!("tgtadm: {message}\n{HINT}"), EINVAL)
}

/// The arguments Perl's `system(LINE)` gives the program (perl: doio.c `do_exec3()`): a line
/// with one of ``$&*(){}[]'";\|?<>~` `` or a newline goes to `sh -c` ([`sh_words`]); any
/// other line is split at white space and run directly, so a `#` there is an ordinary
/// character. `None` when the shell would report a syntax error.
pub fn argv_of(line: &str) -> Option<ShellCommand> {
    const META: &str = "$&*(){}[]'\";\\|?<>~`\n";
    if line.contains(|c| META.contains(c)) {
        return sh_words(line);
    }
    Some(ShellCommand {
        words: line
            .split(|c: char| c.is_ascii_whitespace() || c == '\x0B')
            .filter(|w| !w.is_empty())
            .map(str::to_string)
            .collect(),
        status_from_rest: false,
    })
}

/// The first simple command of a shell line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShellCommand {
    /// Its arguments, the program name first.
    pub words: Vec<String>,
    /// More commands follow and the line's exit status is theirs (not run by us, taken as
    /// success): after `;` or a line break with a command after it, `&`, `|` and `||`; not
    /// after `&&`, where a failure stops the line.
    pub status_from_rest: bool,
}

/// POSIX shell word splitting with quote removal, as `sh -c LINE` would give the command's
/// arguments: blanks separate words; `'...'` is literal; in `"..."` a backslash escapes only
/// `$`, `` ` ``, `"`, `\` and newline; outside quotes a backslash escapes any character; an
/// unquoted `#` at the start of a word starts a comment; an unquoted `;`, `&`, `|` or newline
/// ends the command. `None` for a quote that is never closed (a shell syntax error).
pub fn sh_words(line: &str) -> Option<ShellCommand> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut status_from_rest = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            '\n' | ';' => {
                let rest: String = chars.collect();
                let rest = rest.trim_start();
                status_from_rest = !rest.is_empty() && !rest.starts_with('#');
                break;
            }
            '&' => {
                status_from_rest = chars.peek() != Some(&'&');
                break;
            }
            '|' => {
                status_from_rest = true;
                break;
            }
            '#' if !in_word => break,
            '\'' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '\'' => break,
                        q => cur.push(q),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    let q = chars.next()?;
                    match q {
                        '"' => break,
                        '\\' => match chars.peek() {
                            Some(&n) if matches!(n, '$' | '`' | '"' | '\\') => {
                                cur.push(n);
                                chars.next();
                            }
                            Some('\n') => {
                                chars.next();
                            }
                            _ => cur.push('\\'),
                        },
                        _ => cur.push(q),
                    }
                }
            }
            '\\' => match chars.next() {
                Some('\n') => {}
                Some(n) => {
                    in_word = true;
                    cur.push(n);
                }
                None => {
                    in_word = true;
                    cur.push('\\');
                }
            },
            _ => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    Some(ShellCommand {
        words,
        status_from_rest,
    })
}

/// tgtadm's options: `tgt: usr/tgtadm.c long_options[]` and `short_options`, in table order
/// (the order decides glibc's ambiguity message).
const SPECS: &[OptSpec<u8>] = &[
    spec("debug", b'd', HasArg::No, HasArg::No),
    spec("help", b'h', HasArg::No, HasArg::No),
    spec("version", b'V', HasArg::No, HasArg::No),
    spec("lld", b'L', HasArg::Required, HasArg::Required),
    spec("op", b'o', HasArg::Required, HasArg::Required),
    spec("mode", b'm', HasArg::Required, HasArg::Required),
    spec("tid", b't', HasArg::Required, HasArg::Required),
    spec("sid", b's', HasArg::Required, HasArg::Required),
    spec("cid", b'c', HasArg::Required, HasArg::Required),
    spec("lun", b'l', HasArg::Required, HasArg::Required),
    spec("name", b'n', HasArg::Required, HasArg::Required),
    spec("value", b'v', HasArg::Required, HasArg::Required),
    spec("backing-store", b'b', HasArg::Required, HasArg::Required),
    spec("bstype", b'E', HasArg::Required, HasArg::Required),
    spec("bsopts", b'S', HasArg::Required, HasArg::Required),
    spec("bsoflags", b'f', HasArg::Required, HasArg::Required),
    spec("blocksize", b'y', HasArg::Required, HasArg::Required),
    spec("targetname", b'T', HasArg::Required, HasArg::Required),
    spec(
        "initiator-address",
        b'I',
        HasArg::Required,
        HasArg::Required,
    ),
    spec("initiator-name", b'Q', HasArg::Required, HasArg::Required),
    spec("user", b'u', HasArg::Required, HasArg::Required),
    spec("password", b'p', HasArg::Required, HasArg::Required),
    spec("host", b'H', HasArg::Required, HasArg::Required),
    spec("force", b'F', HasArg::No, HasArg::Required),
    spec("params", b'P', HasArg::Required, HasArg::Required),
    spec("bus", b'B', HasArg::Required, HasArg::Required),
    spec("device-type", b'Y', HasArg::Required, HasArg::Required),
    spec("outgoing", b'O', HasArg::No, HasArg::Required),
    spec("control-port", b'C', HasArg::Required, HasArg::Required),
];

const fn spec(long: &'static str, short: u8, long_arg: HasArg, short_arg: HasArg) -> OptSpec<u8> {
    OptSpec {
        id: short,
        long: Some(long),
        long_arg,
        short: Some(short),
        short_arg,
    }
}

/// tgt `str_to_int()` (usr/util.h): `strtoull(s, &end, 0)`; EINVAL when nothing was read or
/// the result is ULLONG_MAX; ERANGE when it does not fit `max`.
fn str_to_int(letter: u8, s: &str, max: u64) -> Result<u64, Refusal> {
    let (v, used) = strtoul(s, 0);
    let bad = |what: &str| {
        refuse(
            format!(
                "-{} argument value '{s}' {what}\n{HINT}",
                char::from(letter)
            ),
            EINVAL,
        )
    };
    if used == 0 || v == u64::MAX {
        return Err(bad("invalid"));
    }
    if v > max {
        return Err(bad("out of range"));
    }
    Ok(v)
}

/// `str_to_device_type()`: the header value.
fn device_type(s: &str) -> Result<u32, Refusal> {
    Ok(match s {
        "disk" => 0,
        "tape" | "ssc" => 1,
        "cd" => 5,
        "changer" => 8,
        "osd" => 0x11,
        "pt" => 0xff,
        _ => {
            return Err(refuse(
                format!("tgtadm: unknown target type: {s}\n"),
                EINVAL,
            ))
        }
    })
}

/// Everything tgtadm collects from the command line.
#[derive(Default)]
struct Parsed {
    lld: Option<String>,
    op: Option<(Op, String)>,
    mode: Option<Mode>,
    tid: Option<i32>,
    sid: u64,
    cid: u32,
    lun: Option<u64>,
    name: Option<String>,
    value: Option<String>,
    path: Option<String>,
    bstype: Option<String>,
    bsopts: Option<String>,
    bsoflags: Option<String>,
    blocksize: Option<String>,
    targetname: Option<String>,
    address: Option<String>,
    iqnname: Option<String>,
    user: Option<String>,
    password: Option<String>,
    host_no: u32,
    force: bool,
    target_ops: Option<String>,
    portal_ops: Option<String>,
    device_type: u32,
    outgoing: bool,
    control_port: i16,
    letters: Vec<u8>,
}

/// tgtadm's `main()` up to sending: `words[0]` is the program name.
pub fn parse_args(words: &[String]) -> Result<Invocation, Refusal> {
    let argv: Vec<OsString> = words.iter().map(OsString::from).collect();
    let mut p = Parsed::default();
    let mut scan = Getopt::new(&argv, SPECS)
        .ordering(Ordering::Permute)
        .opterr(false);
    for item in scan.by_ref() {
        let m = match item {
            Ok(m) => m,
            Err(e) => {
                let text =
                    String::from_utf8_lossy(&e.render(std::ffi::OsStr::new("tgtadm"))).into_owned();
                return Err(refuse(format!("{text}{HINT}"), EINVAL));
            }
        };
        let letter = m.id();
        p.letters.push(letter);
        let arg = m
            .arg
            .map(|a| a.to_string_lossy().into_owned())
            .unwrap_or_default();
        match letter {
            b'L' => p.lld = Some(arg),
            b'o' => match Op::parse(&arg) {
                Some(op) => p.op = Some((op, arg)),
                None => return Err(refuse(format!("tgtadm: unknown operation: {arg}\n"), 1)),
            },
            b'm' => match Mode::parse(&arg) {
                Some(mode) => p.mode = Some(mode),
                None => return Err(refuse(format!("tgtadm: unknown mode: {arg}\n"), 1)),
            },
            b't' => {
                // An `int`: anything above INT_MAX is out of range.
                let v = str_to_int(letter, &arg, u64::from(i32::MAX.unsigned_abs()))?;
                p.tid = Some(i32::try_from(v).unwrap_or(i32::MAX));
            }
            b's' => p.sid = str_to_int(letter, &arg, u64::MAX)?,
            b'c' => {
                p.cid = u32::try_from(str_to_int(letter, &arg, u64::from(u32::MAX))?)
                    .unwrap_or(u32::MAX)
            }
            b'l' => p.lun = Some(str_to_int(letter, &arg, u64::MAX)?),
            b'P' => {
                if p.mode == Some(Mode::PORTAL) {
                    p.portal_ops = Some(arg)
                } else {
                    p.target_ops = Some(arg)
                }
            }
            b'n' => p.name = Some(arg),
            b'v' => p.value = Some(arg),
            b'b' => p.path = Some(arg),
            b'T' => p.targetname = Some(arg),
            b'I' => p.address = Some(arg),
            b'Q' => p.iqnname = Some(arg),
            b'u' => p.user = Some(arg),
            b'p' => p.password = Some(arg),
            b'B' => {
                return Err(refuse(
                    format!(
                        "tgtadm: can't find bus: {}\n",
                        arg.split(',').next().unwrap_or("")
                    ),
                    EINVAL,
                ))
            }
            b'H' => {
                p.host_no = u32::try_from(str_to_int(letter, &arg, u64::from(u32::MAX))?)
                    .unwrap_or(u32::MAX)
            }
            b'F' => p.force = true,
            b'f' => p.bsoflags = Some(arg),
            b'y' => p.blocksize = Some(arg),
            b'E' => p.bstype = Some(arg),
            b'S' => p.bsopts = Some(arg),
            b'Y' => p.device_type = device_type(&arg)?,
            b'O' => p.outgoing = true,
            b'C' => {
                // A C `short`.
                let v = str_to_int(letter, &arg, u64::from(i16::MAX.unsigned_abs()))?;
                p.control_port = i16::try_from(v).unwrap_or(i16::MAX);
            }
            b'V' => return Err(refuse(String::new(), 0)),
            b'h' => return Err(refuse(String::new(), 0)),
            _ => {}
        }
    }
    if let Some(extra) = scan.operands().first() {
        return Err(usage_error(&format!(
            "unrecognized option '{}'",
            extra.to_string_lossy()
        )));
    }
    validate(&mut p)?;
    Ok(build(p))
}

/// The client-side checks of tgtadm's `main()` for each mode and operation.
fn validate(p: &mut Parsed) -> Result<(), Refusal> {
    let fail = |m: String| Err(refuse(format!("tgtadm: {m}\n"), EINVAL));
    let Some((op, op_name)) = p.op.clone() else {
        return fail("specify the operation type".into());
    };
    let Some(mode) = p.mode else {
        return fail("specify the mode".into());
    };
    let bad_letter = |allowed: &str, p: &Parsed| {
        p.letters
            .iter()
            .copied()
            .find(|l| *l != b'd' && !allowed.as_bytes().contains(l))
    };
    let tid = p.tid.unwrap_or(TID_NONE);
    match mode {
        Mode::SYSTEM => match op {
            Op::UPDATE => {
                if let Some(l) = bad_letter("LmonvC", p) {
                    return fail(format!(
                        "system mode: option '-{}' is not allowed/supported",
                        char::from(l)
                    ));
                }
                if p.name.is_none() || p.value.is_none() {
                    return fail("update operation requires 'name' and 'value' options".into());
                }
            }
            Op::SHOW | Op::DELETE | Op::STATS => {}
            _ => return fail(format!("operation {op_name} not supported in system mode")),
        },
        Mode::TARGET => {
            if tid <= 0 && op != Op::SHOW {
                return fail(if tid == 0 {
                    "'tid' cannot be 0".into()
                } else {
                    "'tid' option is necessary".into()
                });
            }
            let allowed = match op {
                Op::NEW => "LmotTC",
                Op::DELETE => "LmotCF",
                Op::SHOW | Op::STATS => "LmotC",
                Op::BIND | Op::UNBIND => "LmotIQBHC",
                Op::UPDATE => "LmotnvC",
                _ => return fail(format!("operation {op_name} not supported in target mode")),
            };
            if let Some(l) = bad_letter(allowed, p) {
                return fail(format!(
                    "target mode: option '-{}' is not allowed/supported",
                    char::from(l)
                ));
            }
            if op == Op::NEW && p.targetname.is_none() {
                return fail("creating new target requires a name, use --targetname".into());
            }
            if (op == Op::BIND || op == Op::UNBIND)
                && p.address.is_none()
                && p.iqnname.is_none()
                && p.host_no == 0
            {
                return fail(format!(
                    "{op_name} operation requires initiator-address, initiator-nameor bus"
                ));
            }
            if op == Op::UPDATE && (p.name.is_none() || p.value.is_none()) {
                return fail("update operation requires 'name' and 'value' options".into());
            }
        }
        Mode::ACCOUNT => {
            let allowed = match op {
                Op::NEW => "LmoupfC",
                Op::SHOW => "LmoC",
                Op::DELETE => "LmouC",
                Op::BIND | Op::UNBIND => "LmotuOC",
                _ => return fail(format!("operation {op_name} not supported in account mode")),
            };
            if let Some(l) = bad_letter(allowed, p) {
                return fail(format!(
                    "account mode: option '-{}' is not allowed/supported",
                    char::from(l)
                ));
            }
            if op == Op::NEW && (p.user.is_none() || p.password.is_none()) {
                return fail("'user' and 'password' options are required".into());
            }
            if (op == Op::BIND || op == Op::UNBIND) && p.user.is_none() {
                return fail("'user' option is necessary".into());
            }
            if (op == Op::BIND || op == Op::UNBIND) && p.tid.is_none() {
                // GLOBAL_TID = ~0U, the same bytes as "no tid".
                p.tid = Some(TID_NONE);
            }
        }
        Mode::DEVICE => {
            if tid <= 0 {
                return fail(if tid == 0 {
                    "'tid' must not be 0".into()
                } else {
                    "'tid' option is necessary".into()
                });
            }
            if p.lun.is_none() {
                return fail("'lun' option is necessary".into());
            }
            match op {
                Op::NEW => {
                    if let Some(l) = bad_letter("LmofytlbEYCS", p) {
                        return fail(format!(
                            "logicalunit mode: option '-{}' is not allowed/supported",
                            char::from(l)
                        ));
                    }
                    if p.path.is_none() && ![0, 1, 5].contains(&p.device_type) {
                        return fail("'backing-store' option is necessary".into());
                    }
                }
                Op::DELETE | Op::STATS => {
                    if let Some(l) = bad_letter("LmotlC", p) {
                        return fail(format!(
                            "logicalunit mode: option '-{}' is not allowed/supported",
                            char::from(l)
                        ));
                    }
                }
                Op::UPDATE => {
                    if let Some(l) = bad_letter("LmofytlPC", p) {
                        return fail(format!(
                            "option '-{}' not supported in logicalunit mode",
                            char::from(l)
                        ));
                    }
                }
                _ => {
                    return fail(format!(
                        "operation {op_name} not supported in logicalunit mode"
                    ))
                }
            }
        }
        Mode::PORTAL => match op {
            Op::NEW | Op::DELETE => {
                if let Some(l) = bad_letter("LmoCP", p) {
                    return fail(format!(
                        "portal mode: option '-{}' is not allowed/supported",
                        char::from(l)
                    ));
                }
                if p.portal_ops.is_none() {
                    return fail("you must specify --param portal=<portal>".into());
                }
            }
            Op::SHOW => {
                if let Some(l) = bad_letter("LmoC", p) {
                    return fail(format!(
                        "option '-{}' not supported in portal mode",
                        char::from(l)
                    ));
                }
            }
            _ => return fail(format!("operation {op_name} not supported in portal mode")),
        },
        Mode::LLD => match op {
            Op::START | Op::STOP | Op::SHOW => {
                if let Some(l) = bad_letter("LmoC", p) {
                    return fail(format!(
                        "lld mode: option '-{}' is not allowed/supported",
                        char::from(l)
                    ));
                }
            }
            _ => return fail(format!("option {} not supported in lld mode", op.0)),
        },
        _ => {}
    }
    Ok(())
}

/// The header and the body in tgtadm's fixed item order (mgmt-protocol.md §8).
fn build(p: Parsed) -> Invocation {
    let mut req = Request {
        mode: p.mode.unwrap_or(Mode::SYSTEM),
        op: p.op.map_or(Op::SHOW, |(op, _)| op),
        tid: p.tid.unwrap_or(TID_NONE),
        sid: p.sid,
        cid: p.cid,
        lun: p.lun.unwrap_or(u64::MAX),
        host_no: p.host_no,
        device_type: p.device_type,
        ac_dir: u32::from(p.outgoing),
        force: u32::from(p.force),
        ..Request::default()
    };
    if let Some(lld) = &p.lld {
        req.set_lld(lld.as_bytes());
    }
    let mut items: Vec<String> = Vec::new();
    if let Some(name) = &p.name {
        // C prints "(null)" for a missing value.
        items.push(format!("{name}={}", p.value.as_deref().unwrap_or("(null)")));
    }
    if let Some(v) = &p.path {
        items.push(format!("path={v}"));
    }
    if p.device_type == 1 {
        items.push("bstype=ssc".to_string());
    } else if let Some(v) = &p.bstype {
        items.push(format!("bstype={v}"));
    }
    let pairs = [
        ("bsopts", &p.bsopts),
        ("bsoflags", &p.bsoflags),
        ("blocksize", &p.blocksize),
        ("targetname", &p.targetname),
        ("initiator-address", &p.address),
        ("initiator-name", &p.iqnname),
        ("user", &p.user),
        ("password", &p.password),
    ];
    for (k, v) in pairs {
        if let Some(v) = v {
            items.push(format!("{k}={v}"));
        }
    }
    if let Some(v) = &p.target_ops {
        items.push(format!("targetOps {v},"));
    }
    if let Some(v) = &p.portal_ops {
        items.push(format!("portalOps {v},"));
    }
    let mut body = Vec::new();
    if !items.is_empty() {
        body.extend_from_slice(items.join(",").as_bytes());
        body.push(0);
    }
    Invocation {
        control_port: p.control_port,
        req,
        body,
        status_from_rest: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inv(line: &str) -> Invocation {
        TgtadmCmd::new(line.to_string()).invocation().unwrap()
    }

    fn body(line: &str) -> String {
        String::from_utf8(inv(line).body_text().to_vec()).unwrap()
    }

    #[test]
    fn shell_removes_quotes_and_splits_on_blanks() {
        let w = |s: &str| sh_words(s).unwrap().words;
        assert_eq!(
            w(r#"tgtadm -b "/a b"  --params vendor_id="X Y" 'q "z"' a\ b"#),
            [
                "tgtadm",
                "-b",
                "/a b",
                "--params",
                "vendor_id=X Y",
                "q \"z\"",
                "a b"
            ]
        );
        assert_eq!(w(r#"x "a\$b\c" \#y #comment"#), ["x", "a$b\\c", "#y"]);
        assert_eq!(w("x a;b c"), ["x", "a"]);
        assert_eq!(w("x a#b"), ["x", "a#b"]);
        assert_eq!(w("x -I "), ["x", "-I"]);
        assert_eq!(sh_words("x 'open"), None);
        assert_eq!(sh_words("x \"open"), None);
        // Without shell metacharacters Perl runs the program itself: `#` is kept.
        assert_eq!(argv_of("x -I #y").unwrap().words, ["x", "-I", "#y"]);
        assert_eq!(argv_of("x -I #y \"z\"").unwrap().words, ["x", "-I"]);
    }

    // Bodies captured from C tgtadm 1.0.85 (mgmt-protocol.md §8).
    #[test]
    fn lu_new_body_and_header_match_c_tgtadm() {
        let i = inv(
            r#"tgtadm -C 22 --lld iscsi --op new --mode logicalunit --tid 1 --lun 2 -b "/srv/tgt-example/disk2.img" --device-type disk --bstype rdwr  --bsoflags sync --blocksize 4096"#,
        );
        assert_eq!(
            String::from_utf8_lossy(i.body_text()),
            "path=/srv/tgt-example/disk2.img,bstype=rdwr,bsoflags=sync,blocksize=4096"
        );
        assert_eq!(i.control_port, 22);
        assert_eq!(
            (i.req.mode, i.req.op, i.req.tid, i.req.lun),
            (Mode::DEVICE, Op::NEW, 1, 2)
        );
        assert_eq!(i.req.lld_name(), b"iscsi");
        assert_eq!(i.body.last(), Some(&0));
    }

    #[test]
    fn tape_device_forces_ssc_bstype() {
        assert_eq!(
            body("tgtadm --op new --mode logicalunit --tid 1 --lun 6 --device-type tape"),
            "bstype=ssc"
        );
        assert_eq!(
            inv("tgtadm --op new --mode logicalunit --tid 1 --lun 6 --device-type tape")
                .req
                .device_type,
            1
        );
    }

    #[test]
    fn params_become_target_ops_with_trailing_comma() {
        assert_eq!(
            body(
                r#"tgtadm -C 0 --lld iscsi --op update --mode logicalunit --tid 1 --lun=1 --params vendor_id="Acme#1 Corp""#
            ),
            "targetOps vendor_id=Acme#1 Corp,"
        );
    }

    #[test]
    fn account_bind_without_tid_is_global_and_outgoing_sets_ac_dir() {
        let i = inv("tgtadm -C 0 --mode account --op bind --user=discout  --outgoing");
        assert_eq!((i.req.tid, i.req.ac_dir), (-1, 1));
        assert_eq!(String::from_utf8_lossy(i.body_text()), "user=discout");
    }

    #[test]
    fn later_name_wins_as_with_getopt() {
        assert_eq!(
            body(
                r#"tgtadm -C 0 --op update --mode target --tid=1 --name="iqn.x" -n state -v offline"#
            ),
            "state=offline"
        );
    }

    #[test]
    fn show_without_text_options_has_no_body() {
        let i = inv("tgtadm -C 0 --op show --mode target");
        assert!(i.body.is_empty());
        assert_eq!(i.req.tid, -1);
    }

    #[test]
    fn a_command_after_a_separator_decides_the_status() {
        let rest = |s: &str| sh_words(s).unwrap().status_from_rest;
        assert!(rest("a b;c=d"));
        assert!(rest("a | b"));
        assert!(rest("a || b"));
        assert!(rest("a & b"));
        assert!(!rest("a && b"));
        assert!(!rest("a;"));
        assert!(!rest("a ; # c"));
        assert!(!rest("a b"));
        // tgtadm's refusal is printed but the line succeeds, as `sh -c` reports it.
        let r = TgtadmCmd::new("tgtadm --op frob --mode target;x=1".into())
            .invocation()
            .unwrap_err();
        assert_eq!(r.code, 0);
        let i = TgtadmCmd::new("tgtadm --op show --mode target;x=1".into())
            .invocation()
            .unwrap();
        assert!(i.status_from_rest);
    }

    #[test]
    fn tgtadm_refusals_have_its_messages_and_status() {
        let r = |l: &str| TgtadmCmd::new(l.to_string()).invocation().unwrap_err();
        assert_eq!(
            r("tgtadm -C 0 --op update --mode target --tid=abc -n state -v offline"),
            Refusal {
                message: format!("-t argument value 'abc' invalid\n{HINT}"),
                code: 22
            }
        );
        assert_eq!(
            r("tgtadm -C 0 --op update --mode sys --name iSNSServerIP -v ").message,
            format!("tgtadm: option requires an argument -- 'v'\n{HINT}")
        );
        assert_eq!(
            r("tgtadm -C 0 --lld iscsi --op bind --mode target --tid 1 -I a b").message,
            format!("tgtadm: unrecognized option 'b'\n{HINT}")
        );
        assert_eq!(r("tgtadm --op frob --mode target").code, 1);
        assert_eq!(r("tgtadm -C 99999 --op show --mode target").code, 22);
    }
}
