//! tgtadm against C tgtadm: request bytes, stdout, stderr and exit status.
//!
//! 1. Every golden request in `golden/wire/` (captured from C tgtadm 1.0.85 by
//!    `capture-wire.sh`) decodes with `Request::decode` and re-encodes to the same bytes.
//! 2. Our tgtadm, run with each golden's command line against a fake tgtd, sends exactly the
//!    golden bytes, and exits and writes stderr as C tgtadm did during the capture.
//! 3. A table of command lines C tgtadm refuses (getopt errors, bad numbers, the validation
//!    matrix, no daemon) runs through both binaries live, with nothing listening: stdout,
//!    stderr and exit status must be identical.
//! 4. Both binaries face the same scripted daemon answers (text, error codes, short or missing
//!    answers, a reset, `system delete`) and must print and exit identically.
//!
//! Our binary is `<target>/{debug,release}/tgtadm` (or `$TGTADM_RS`); C's is `/usr/sbin/tgtadm`
//! (or `$TGTADM_C`). A missing binary makes a test print why it skips.

// The helpers below are test code too (clippy's allow-unwrap-in-tests only sees `#[test]` fns):
// a failed setup step should fail the test loudly.
#![allow(clippy::unwrap_used)]

use std::ffi::{OsStr, OsString};
use std::io::{Read, Write};
use std::os::unix::ffi::OsStringExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use compat_tests::{skip, Impl, ScratchDir, IO_TIMEOUT};
use tgt::mgmt::wire::{Request, REQ_LEN};

/// `len` of `struct tgtadm_req`: header plus body, host order, at byte 72.
/// mgmt-protocol.md §4 (written out here so the fake daemon does not trust the code under test)
const LEN_OFFSET: usize = 72;
/// How long one tgtadm run may take before the test gives up on it.
const RUN_DEADLINE: Duration = Duration::from_secs(30);
/// The answer the capture's fake tgtd gave: success, no text.
const OK: [u8; 8] = [0, 0, 0, 0, 8, 0, 0, 0];

// ---------------------------------------------------------------------------------------------
// Goldens

/// One capture: the bytes C tgtadm sent and how it was invoked.
struct Golden {
    name: String,
    bytes: Vec<u8>,
    port: u16,
    exit: i32,
    stderr: Vec<u8>,
    argv: Vec<OsString>,
}

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("golden/wire")
}

/// Parses a `.src` sidecar (format written by `capture-wire.sh`).
fn load(bin: &Path) -> Golden {
    let name = bin.file_stem().unwrap().to_string_lossy().into_owned();
    let bytes = std::fs::read(bin).unwrap();
    let src = std::fs::read(bin.with_extension("src")).unwrap();
    let mut lines = src.split(|&b| b == b'\n');
    let (mut port, mut exit, mut stderr) = (None, None, Vec::new());
    let mut saw_version = false;
    for line in lines.by_ref() {
        if line.starts_with(b"# Golden request bytes from C tgtadm: tgt 1:1.0.85") {
            saw_version = true;
        } else if let Some(v) = line.strip_prefix(b"port: ") {
            port = Some(String::from_utf8_lossy(v).parse().unwrap());
        } else if let Some(v) = line.strip_prefix(b"exit: ") {
            exit = Some(String::from_utf8_lossy(v).parse().unwrap());
        } else if let Some(v) = line.strip_prefix(b"stderr: ") {
            stderr.extend_from_slice(v);
            stderr.push(b'\n');
        } else if line == b"argv:" {
            break;
        }
    }
    assert!(saw_version, "{name}.src does not name tgt 1.0.85");
    let mut argv: Vec<OsString> = lines.map(|l| OsString::from_vec(l.to_vec())).collect();
    // The file ends with a newline: drop the empty word after it.
    assert_eq!(
        argv.pop(),
        Some(OsString::new()),
        "{name}.src must end with a newline"
    );
    Golden {
        name,
        bytes,
        port: port.expect("port: line"),
        exit: exit.expect("exit: line"),
        stderr,
        argv,
    }
}

fn goldens() -> Vec<Golden> {
    let mut bins: Vec<PathBuf> = std::fs::read_dir(golden_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension() == Some(OsStr::new("bin")))
        .collect();
    bins.sort();
    bins.iter().map(|b| load(b)).collect()
}

#[test]
fn golden_set_is_complete() {
    let all = goldens();
    assert!(all.len() >= 30, "only {} goldens", all.len());
    // every .src has its .bin
    for e in std::fs::read_dir(golden_dir()).unwrap() {
        let p = e.unwrap().path();
        if p.extension() == Some(OsStr::new("src")) {
            assert!(
                p.with_extension("bin").exists(),
                "{} has no .bin",
                p.display()
            );
        }
    }
    // every mode (0..=7) and every op C tgtadm can send appears
    let mode_op: Vec<(u32, u32)> = all
        .iter()
        .map(|g| {
            let word = |o: usize| u32::from_ne_bytes(g.bytes[o..o + 4].try_into().unwrap());
            (word(0), word(4))
        })
        .collect();
    for mode in 0..=7 {
        assert!(
            mode_op.iter().any(|&(m, _)| m == mode),
            "no golden for mode {mode}"
        );
    }
    for op in 0..=8 {
        assert!(
            mode_op.iter().any(|&(_, o)| o == op),
            "no golden for op {op}"
        );
    }
}

#[test]
fn goldens_decode_and_reencode_to_the_same_bytes() {
    for g in goldens() {
        assert!(g.bytes.len() >= REQ_LEN, "{}: short capture", g.name);
        let hdr: &[u8; REQ_LEN] = g.bytes[..REQ_LEN].try_into().unwrap();
        let req = Request::decode(hdr);
        assert_eq!(&req.encode(), hdr, "{}: header does not round-trip", g.name);
        assert_eq!(
            usize::try_from(req.len).unwrap(),
            g.bytes.len(),
            "{}: len disagrees with the bytes captured",
            g.name
        );
        assert_eq!(
            req.body_len().unwrap(),
            g.bytes.len() - REQ_LEN,
            "{}",
            g.name
        );
        let body = &g.bytes[REQ_LEN..];
        if !body.is_empty() {
            assert_eq!(
                body.last(),
                Some(&0),
                "{}: body must end with its NUL",
                g.name
            );
            assert_eq!(body.iter().filter(|&&b| b == 0).count(), 1, "{}", g.name);
        }
    }
}

#[test]
fn our_tgtadm_sends_the_golden_bytes() {
    let ours = match Impl::Rust.tgtadm() {
        Ok(p) => p,
        Err(reason) => return skip("our_tgtadm_sends_the_golden_bytes", &reason),
    };
    let mut failures = Vec::new();
    for g in goldens() {
        let dir = ScratchDir::new().unwrap();
        let prefix = dir.path().join("socket");
        let server = FakeTgtd::start(&socket_path(&prefix, g.port), Answer::Bytes(OK.to_vec()));
        let out = run(&ours, &g.argv, &prefix, &[]);
        let got = server.finish();
        if got != g.bytes {
            failures.push(format!(
                "{}: sent {} bytes, C sent {}\n  ours: {:02x?}\n  C:    {:02x?}",
                g.name,
                got.len(),
                g.bytes.len(),
                got,
                g.bytes
            ));
        }
        if out.code != Some(g.exit) || out.stderr != g.stderr || !out.stdout.is_empty() {
            failures.push(format!(
                "{}: exit {:?} stderr {:?} stdout {:?}; C: exit {} stderr {:?}",
                g.name,
                out.code,
                String::from_utf8_lossy(&out.stderr),
                String::from_utf8_lossy(&out.stdout),
                g.exit,
                String::from_utf8_lossy(&g.stderr)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// Running tgtadm and faking tgtd

/// What a run printed and how it ended.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    /// Exit status, `None` when killed by a signal.
    code: Option<i32>,
    /// The signal that killed it, if one did.
    signal: Option<i32>,
}

fn socket_path(prefix: &Path, port: u16) -> PathBuf {
    let mut p = prefix.as_os_str().to_os_string();
    p.push(format!(".{port}"));
    PathBuf::from(p)
}

/// Runs `tgtadm` with `argv[0] = "tgtadm"` (glibc prints argv[0] in its messages), the given
/// `TGT_IPC_SOCKET` and extra environment, no stdin; kills it after [`RUN_DEADLINE`].
fn run(tgtadm: &Path, args: &[OsString], prefix: &Path, env: &[(&str, &OsStr)]) -> Outcome {
    let mut cmd = Command::new(tgtadm);
    cmd.arg0("tgtadm")
        .args(args)
        .env("TGT_IPC_SOCKET", prefix)
        .env_remove("POSIXLY_CORRECT")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let child = cmd.spawn().unwrap();
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let out = match rx.recv_timeout(RUN_DEADLINE) {
        Ok(out) => out.unwrap(),
        Err(_) => {
            let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
            panic!(
                "{} {:?} did not finish within {RUN_DEADLINE:?}",
                tgtadm.display(),
                args
            );
        }
    };
    Outcome {
        stdout: out.stdout,
        stderr: out.stderr,
        code: out.status.code(),
        signal: out.status.signal(),
    }
}

/// How the fake tgtd answers its one connection.
#[derive(Clone)]
enum Answer {
    /// Read the whole request, write these bytes, close.
    Bytes(Vec<u8>),
    /// Read all but the last header byte and close with it unread: the kernel resets the
    /// connection (what tgtd's peer-credential check does).
    Reset,
}

/// A one-connection fake tgtd; stops listening after that connection, so that tgtadm's
/// `system delete` wait ends.
struct FakeTgtd {
    path: PathBuf,
    handle: JoinHandle<Vec<u8>>,
}

impl FakeTgtd {
    fn start(path: &Path, answer: Answer) -> Self {
        let listener = UnixListener::bind(path).unwrap();
        let handle = thread::spawn(move || {
            let Ok((mut s, _)) = listener.accept() else {
                return Vec::new();
            };
            drop(listener);
            s.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
            s.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
            match answer {
                Answer::Reset => {
                    let mut hdr = [0u8; REQ_LEN - 1];
                    let _ = s.read_exact(&mut hdr);
                    hdr.to_vec()
                }
                Answer::Bytes(answer) => {
                    let got = read_request(&mut s);
                    let _ = s.write_all(&answer);
                    got
                }
            }
        });
        Self {
            path: path.to_path_buf(),
            handle,
        }
    }

    /// The bytes received. If nobody connected, connects once itself to end the wait.
    fn finish(self) -> Vec<u8> {
        if !self.handle.is_finished() {
            let _ = UnixStream::connect(&self.path);
        }
        self.handle.join().unwrap()
    }
}

/// Header, then as many body bytes as its `len` announces (bounded).
fn read_request(s: &mut UnixStream) -> Vec<u8> {
    let mut got = vec![0u8; REQ_LEN];
    if s.read_exact(&mut got).is_err() {
        return Vec::new();
    }
    let len = u32::from_ne_bytes(got[LEN_OFFSET..LEN_OFFSET + 4].try_into().unwrap());
    let body = usize::try_from(len)
        .unwrap()
        .saturating_sub(REQ_LEN)
        .min(1 << 20);
    let mut rest = vec![0u8; body];
    if s.read_exact(&mut rest).is_ok() {
        got.extend_from_slice(&rest);
    }
    got
}

fn binaries(test: &str) -> Option<(PathBuf, PathBuf)> {
    let c = match Impl::C.tgtadm() {
        Ok(p) => p,
        Err(reason) => {
            skip(test, &reason);
            return None;
        }
    };
    match Impl::Rust.tgtadm() {
        Ok(ours) => Some((c, ours)),
        Err(reason) => {
            skip(test, &reason);
            None
        }
    }
}

fn words(args: &[&str]) -> Vec<OsString> {
    args.iter().map(OsString::from).collect()
}

fn show(o: &Outcome) -> String {
    format!(
        "exit {:?} signal {:?}\n    stdout {:?}\n    stderr {:?}",
        o.code,
        o.signal,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

// ---------------------------------------------------------------------------------------------
// Command lines C tgtadm refuses, and no daemon

/// A command line, and the environment it runs in beyond `TGT_IPC_SOCKET=<empty dir>/socket`.
struct Case {
    args: &'static [&'static str],
    env: Env,
}

#[derive(Clone, Copy)]
enum Env {
    Plain,
    /// `POSIXLY_CORRECT=1`: the first operand ends option scanning.
    Posix,
    /// `TGT_IPC_SOCKET` longer than `sun_path` allows.
    LongSocketPath,
}

const fn case(args: &'static [&'static str]) -> Case {
    Case {
        args,
        env: Env::Plain,
    }
}

/// One per message of tgtadm-cli.md §1 and §4 (and a few neighbours of each).
const CLI_CASES: &[Case] = &[
    // glibc getopt messages (§1)
    case(&["--bogus"]),
    case(&["--bogus=val", "--mode", "sys"]),
    case(&["-Z"]),
    case(&["-dé"]),
    case(&["--tid"]),
    case(&["--mode", "target", "-F"]),
    case(&["-m", "sys", "-o", "show", "-O"]),
    case(&["--force=1", "--mode", "target"]),
    case(&["--outg=x"]),
    case(&["--b=x"]),
    case(&["--initiator", "x"]),
    case(&["--=x"]),
    case(&["-W", "foo"]),
    case(&["-:"]),
    case(&["---tid", "1"]),
    // leftover operands
    case(&["foo", "--mode", "sys", "--op", "show"]),
    case(&["--mode", "target", "--op", "show", "--", "foo"]),
    case(&["-m", "sys", "-o", "show", "-"]),
    Case {
        args: &["-m", "sys", "foo", "-o", "show"],
        env: Env::Posix,
    },
    // --mode / --op names (exit 1)
    case(&["--mode", "bogus", "--bogus"]),
    case(&["--op", "stats"]),
    case(&["--mo=Target", "--op=show"]),
    // numbers
    case(&["-t", "-1"]),
    case(&["--tid", "abc"]),
    case(&["-t", ""]),
    case(&["--tid=-2"]),
    case(&["-t", "99999999999"]),
    case(&["-l", "18446744073709551616"]),
    case(&["--lun", "-1"]),
    case(&["-c", "-2"]),
    case(&["--sid", "18446744073709551615"]),
    case(&["-C", "32768"]),
    case(&["--control-port=-5"]),
    case(&["-H", "4294967296"]),
    // device type, bus
    case(&["-Y", "bogus"]),
    case(&[
        "-m",
        "target",
        "-o",
        "bind",
        "-t",
        "1",
        "-B",
        "no-such-bus,dev",
    ]),
    case(&["-m", "target", "-o", "bind", "-t", "1", "--bus", "acpi,"]),
    // order of actions
    case(&["--version", "--bogus"]),
    case(&["--mode", "bogus", "-V"]),
    case(&["-t", "x", "--help"]),
    // op and mode missing
    case(&[]),
    case(&["--mode", "sys"]),
    case(&["--op", "show"]),
    // system (§4)
    case(&["-m", "sys", "-o", "new"]),
    case(&["-m", "sys", "-o", "update", "-n", "x"]),
    case(&["-m", "sys", "-o", "update", "-n", "x", "-v", "y", "-t", "1"]),
    // target
    case(&["-m", "tgt", "-o", "start"]),
    case(&["-m", "target", "-o", "new", "-t", "0"]),
    case(&["-m", "target", "-o", "new", "-t", "1"]),
    case(&["-m", "target", "-o", "new", "-t", "1", "-T", "x", "-l", "1"]),
    case(&["-m", "target", "-o", "delete", "-t", "1", "-u", "x"]),
    case(&["-m", "target", "-o", "show", "-t", "1", "-n", "x"]),
    case(&["-m", "target", "-o", "stat", "-t", "1", "-F", "x"]),
    case(&["-m", "target", "-o", "bind", "-t", "1"]),
    case(&["-m", "target", "-o", "unbind", "-t", "1", "-H", "0"]),
    case(&["-m", "target", "-o", "update", "-t", "1", "-P", "x"]),
    case(&["-m", "target", "-o", "update", "-t", "1", "-n", "x"]),
    case(&["-m", "target", "-o", "start", "-t", "1"]),
    // account
    case(&["-m", "account", "-o", "new", "-u", "x"]),
    case(&[
        "-m", "account", "-o", "new", "-u", "x", "-p", "y", "-t", "1",
    ]),
    case(&["-m", "account", "-o", "show", "-u", "x"]),
    case(&["-m", "account", "-o", "delete", "-p", "x"]),
    case(&["-m", "account", "-o", "bind"]),
    case(&["-m", "account", "-o", "unbind", "-u", "x", "-I", "y"]),
    case(&["-m", "account", "-o", "update"]),
    // logicalunit
    case(&["-m", "lu", "-o", "new"]),
    case(&["-m", "lu", "-o", "new", "-t", "0"]),
    case(&["-m", "lu", "-o", "new", "-t", "1"]),
    case(&["-m", "lu", "-o", "new", "-t", "1", "-l", "1", "-Y", "pt"]),
    case(&["-m", "lu", "-o", "new", "-t", "1", "-l", "1", "-T", "x"]),
    case(&["-m", "lu", "-o", "stat", "-t", "1", "-l", "1", "-s", "1"]),
    case(&["-m", "lu", "-o", "update", "-t", "1", "-l", "1", "-b", "x"]),
    case(&["-m", "lu", "-o", "show", "-t", "1", "-l", "1"]),
    // portal
    case(&["-m", "portal", "-o", "new"]),
    case(&["-P", "portal=x", "-m", "portal", "-o", "new"]),
    case(&["-m", "portal", "-o", "delete", "-t", "1"]),
    case(&["-m", "portal", "-o", "show", "-P", "x"]),
    case(&["-m", "portal", "-o", "bind"]),
    // lld
    case(&["-m", "lld", "-o", "start", "-t", "1"]),
    case(&["-m", "lld", "-o", "new"]),
    case(&["-m", "lld", "-o", "update"]),
    // valid requests with no daemon listening (exit 107)
    case(&["-m", "sys", "-o", "show"]),
    case(&["-d", "-m", "target", "-o", "new", "-t", "1", "-T", "x"]),
    case(&["-C", "0x7fff", "-m", "sys", "-o", "show"]),
    case(&["-m", "session", "-o", "show"]),
    case(&["-m", "target", "-o", "bind", "-t", "1", "-B", "nocomma"]),
    Case {
        args: &["-m", "sys", "-o", "show"],
        env: Env::LongSocketPath,
    },
];

#[test]
fn cli_errors_match_c_tgtadm() {
    let Some((c, ours)) = binaries("cli_errors_match_c_tgtadm") else {
        return;
    };
    assert!(CLI_CASES.len() >= 40);
    let dir = ScratchDir::new().unwrap();
    let mut failures = Vec::new();
    for case in CLI_CASES {
        let args = words(case.args);
        let (prefix, env): (PathBuf, Vec<(&str, &OsStr)>) = match case.env {
            Env::Plain => (dir.path().join("socket"), vec![]),
            Env::Posix => (
                dir.path().join("socket"),
                vec![("POSIXLY_CORRECT", OsStr::new("1"))],
            ),
            Env::LongSocketPath => (dir.path().join("s".repeat(120)), vec![]),
        };
        let theirs = run(&c, &args, &prefix, &env);
        let mine = run(&ours, &args, &prefix, &env);
        if theirs != mine {
            failures.push(format!(
                "tgtadm {:?}\n  C:    {}\n  ours: {}",
                case.args,
                show(&theirs),
                show(&mine)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn help_keeps_cs_first_line_and_version_is_cs() {
    let Some((c, ours)) = binaries("help_keeps_cs_first_line_and_version_is_cs") else {
        return;
    };
    let dir = ScratchDir::new().unwrap();
    let prefix = dir.path().join("socket");
    for args in [&["--help"][..], &["-h"], &["--he", "--bogus"]] {
        let theirs = run(&c, &words(args), &prefix, &[]);
        let mine = run(&ours, &words(args), &prefix, &[]);
        let first = |o: &Outcome| o.stdout.split(|&b| b == b'\n').next().unwrap().to_vec();
        assert_eq!(first(&mine), first(&theirs));
        assert_eq!((mine.code, &mine.stderr), (Some(0), &Vec::new()));
        assert_eq!(theirs.code, Some(0));
    }
    let mine = run(&ours, &words(&["--help"]), &prefix, &[]);
    let help = String::from_utf8(mine.stdout).unwrap();
    for spec in [
        "--lld",
        "--op",
        "--mode",
        "--tid",
        "--sid",
        "--cid",
        "--lun",
        "--name",
        "--value",
        "--backing-store",
        "--bstype",
        "--bsopts",
        "--bsoflags",
        "--blocksize",
        "--targetname",
        "--initiator-address",
        "--initiator-name",
        "--user",
        "--password",
        "--host",
        "--force",
        "--params",
        "--bus",
        "--device-type",
        "--outgoing",
        "--control-port",
        "--debug",
        "--help",
        "--version",
    ] {
        assert!(help.contains(spec), "--help does not mention {spec}");
    }
    for args in [&["--version"][..], &["-V"]] {
        assert_eq!(
            run(&ours, &words(args), &prefix, &[]),
            run(&c, &words(args), &prefix, &[])
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Daemon answers

struct Scripted {
    what: &'static str,
    args: &'static [&'static str],
    answer: Answer,
}

fn scripted() -> Vec<Scripted> {
    // success, len = 8 + text (the text includes its NUL)
    let text = |t: &[u8]| {
        let mut a = vec![0, 0, 0, 0];
        a.extend_from_slice(&(8 + u32::try_from(t.len()).unwrap()).to_ne_bytes());
        a.extend_from_slice(t);
        Answer::Bytes(a)
    };
    let err = |code: u32| {
        let mut a = code.to_ne_bytes().to_vec();
        a.extend_from_slice(&8u32.to_ne_bytes());
        Answer::Bytes(a)
    };
    let show = &["--mode", "account", "--op", "show"][..];
    vec![
        Scripted {
            what: "text answer",
            args: show,
            answer: text(b"Account list:\n    bob\n    alice\n\0"),
        },
        Scripted {
            what: "text is printed up to its first NUL",
            args: show,
            answer: text(b"abc\0def\n\0"),
        },
        Scripted {
            what: "debug line, then the text",
            args: &["-d", "-m", "target", "-o", "show"],
            answer: text(b"Target 1: iqn.x\n\0"),
        },
        Scripted {
            what: "invalid request",
            args: &["-m", "target", "-o", "new", "-t", "1", "-T", "x"],
            answer: err(17),
        },
        Scripted {
            what: "can't find the target, with -d",
            args: &["-d", "-m", "target", "-o", "delete", "-t", "9"],
            answer: err(4),
        },
        Scripted {
            what: "unknown error code",
            args: show,
            answer: err(99),
        },
        Scripted {
            what: "error code with text: only the error",
            args: show,
            answer: Answer::Bytes(vec![22, 0, 0, 0, 12, 0, 0, 0, b'x', b'y', b'\n', 0]),
        },
        Scripted {
            what: "closed without answer",
            args: &["-m", "target", "-o", "new", "-t", "1", "-T", "x"],
            answer: Answer::Bytes(vec![]),
        },
        Scripted {
            what: "partial answer",
            args: show,
            answer: Answer::Bytes(vec![0, 0, 0]),
        },
        Scripted {
            what: "len below the header",
            args: show,
            answer: Answer::Bytes(vec![0, 0, 0, 0, 4, 0, 0, 0]),
        },
        Scripted {
            what: "len zero",
            args: show,
            answer: Answer::Bytes(vec![0, 0, 0, 0, 0, 0, 0, 0]),
        },
        Scripted {
            what: "connection reset",
            args: &["-m", "sys", "-o", "show"],
            answer: Answer::Reset,
        },
        Scripted {
            what: "system delete waits for the daemon to stop listening",
            args: &["-m", "sys", "-o", "delete"],
            answer: Answer::Bytes(OK.to_vec()),
        },
        Scripted {
            what: "system delete refused",
            args: &["-m", "system", "-o", "delete"],
            answer: err(17),
        },
    ]
}

#[test]
fn daemon_answers_are_handled_like_c_tgtadm() {
    let Some((c, ours)) = binaries("daemon_answers_are_handled_like_c_tgtadm") else {
        return;
    };
    let mut failures = Vec::new();
    for s in scripted() {
        let mut outcomes = Vec::new();
        let mut requests = Vec::new();
        for bin in [&c, &ours] {
            let dir = ScratchDir::new().unwrap();
            let prefix = dir.path().join("socket");
            let server = FakeTgtd::start(&socket_path(&prefix, 0), s.answer.clone());
            outcomes.push(run(bin, &words(s.args), &prefix, &[]));
            requests.push(server.finish());
        }
        if outcomes[0] != outcomes[1] || requests[0] != requests[1] {
            failures.push(format!(
                "{} (tgtadm {:?})\n  C:    {}\n  ours: {}\n  requests equal: {}",
                s.what,
                s.args,
                show(&outcomes[0]),
                show(&outcomes[1]),
                requests[0] == requests[1]
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// `--bus bus,device`: the /sys lookup, reached through `..` so that a scratch tree stands in
// for sysfs.

#[test]
fn bus_lookup_matches_c_tgtadm() {
    let Some((c, ours)) = binaries("bus_lookup_matches_c_tgtadm") else {
        return;
    };
    let tree = ScratchDir::new().unwrap();
    let devices = tree.path().join("devices");
    // device directory -> entries in it
    let layouts: &[(&str, &[&str])] = &[
        ("one", &["host3"]),
        ("sorted", &["host3", "host12"]),
        ("not_a_number", &["hostx"]),
        ("empty", &[]),
        ("no_host_entry", &["scsi_host", "power"]),
        ("minus_one", &["host-1"]),
        ("wraps_to_int", &["host4294967299"]),
    ];
    for (dev, entries) in layouts {
        std::fs::create_dir_all(devices.join(dev)).unwrap();
        for e in *entries {
            std::fs::write(devices.join(dev).join(e), b"").unwrap();
        }
    }
    std::fs::write(devices.join("a_file"), b"").unwrap();
    // "/sys/bus/" + "../.." + "/tmp/…" reaches the scratch tree.
    let bus = format!("../..{}", tree.path().display());
    let mut failures = Vec::new();
    let devs = layouts.iter().map(|(d, _)| *d).chain(["a_file", "absent"]);
    for dev in devs {
        let args = words(&[
            "-m",
            "target",
            "-o",
            "bind",
            "-t",
            "1",
            "-B",
            &format!("{bus},{dev}"),
        ]);
        let mut outcomes = Vec::new();
        let mut requests = Vec::new();
        for bin in [&c, &ours] {
            let dir = ScratchDir::new().unwrap();
            let prefix = dir.path().join("socket");
            let server = FakeTgtd::start(&socket_path(&prefix, 0), Answer::Bytes(OK.to_vec()));
            outcomes.push(run(bin, &args, &prefix, &[]));
            requests.push(server.finish());
        }
        if outcomes[0] != outcomes[1] || requests[0] != requests[1] {
            failures.push(format!(
                "device {dev}\n  C:    {} {:02x?}\n  ours: {} {:02x?}",
                show(&outcomes[0]),
                requests[0].get(100..104),
                show(&outcomes[1]),
                requests[1].get(100..104),
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
