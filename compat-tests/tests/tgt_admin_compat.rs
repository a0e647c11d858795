//! tgt-admin differential run: Debian's Perl tgt-admin and ours, each against a fresh C tgtd.
//!
//! Every case in `compat-tests/tgt-admin/cases/` is a directory of configuration files and a
//! `steps` file. The steps run twice, one side after the other, in the same scratch directory
//! (so paths in outputs are the same), each side with its own fresh C `tgtd`
//! (`TGT_IPC_SOCKET=<scratch>/ipc/socket tgtd -f -C <port> --iscsi portal=127.0.0.1:<port>`):
//! first with the Perl tool, then with ours. For every `run` step the tool's stdout and exit
//! status, then tgtd's state (`tgtadm --op show` for targets, accounts and the system, read
//! with C tgtadm), must be identical. The only normalisation is the order of what the Perl
//! tool prints from Perl hashes, whose order changes from run to run: LU parameter lines of
//! one LUN, runs of removed targets, `--offline/--ready ALL` lines and `--dump` blocks are
//! sorted on both sides before comparing.
//!
//! Step syntax (one per line, `#` starts a comment, `@DIR@` is the scratch directory, `@PORT@`
//! the control port; words split on blanks, `"..."` groups):
//!
//! ```text
//! files NAME=SIZE...         create sparse files (sizes like 10M)
//! run ARGS...                run tgt-admin ARGS; compare stdout, exit status, state
//! fail ARGS...               the same, but stdout is not compared (error wording differs)
//! reject ARGS...             a configuration error the Perl tool finds after it has applied
//!                            part of the file: exit statuses must match and our side must
//!                            leave tgtd unchanged (we check before applying anything)
//! tgtadm ARGS...             set-up with C tgtadm (-C @PORT@ added); not compared
//! login SLOT TARGET INITIATOR   log an iSCSI session in and keep it open
//! logout SLOT                close it and wait until tgtd forgets the nexus
//! cp FROM TO                 copy a file inside the scratch directory
//! dump-to NAME               run tgt-admin --dump (compared like `run`) and save its output
//!                            as NAME, with the placeholder passwords replaced
//! same A B                   A and B must be identical on each side (a round trip)
//! repo PATH NAME [A=B...]    copy a file of this repository (conf/...) to NAME, with
//!                            /var/lib/tgt replaced by the scratch directory, and A by B
//! ```
//!
//! Control ports 300-399 and portal ports 23000-23999 are used, one pair per case and side.
//! The run skips (with the reason printed) when C tgt, Perl's Config::General or our
//! binary is missing. Environment: `TGT_ADMIN_COMPAT_CASE=substring` runs matching cases
//! only; `TGT_ADMIN_COMPAT_KEEP=1` keeps the scratch directories; `TGT_ADMIN_RS` and
//! `TGT_ADMIN_C` name the binaries.

use std::fs;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use compat_tests::{skip, target_dir, workspace_root, Impl};

const TEST: &str = "tgt_admin_matches_the_perl_tool_on_every_corpus_case";
const CONTROL_PORT_BASE: u16 = 300;
const PORTAL_PORT_BASE: u16 = 23000;
const DEADLINE: Duration = Duration::from_secs(10);
const PARALLEL: usize = 4;

/// The binaries one run needs.
#[derive(Debug, Clone)]
struct Tools {
    tgtd: PathBuf,
    tgtadm: PathBuf,
    perl_tool: PathBuf,
    ours: PathBuf,
}

fn tools() -> Result<Tools, String> {
    let tgtd = Impl::C.tgtd().map_err(|e| e.to_string())?;
    let tgtadm = Impl::C.tgtadm().map_err(|e| e.to_string())?;
    let pick = |var: &str, candidates: Vec<PathBuf>| -> Result<PathBuf, String> {
        let candidates = match std::env::var_os(var) {
            Some(p) if !p.is_empty() => vec![PathBuf::from(p)],
            _ => candidates,
        };
        candidates
            .iter()
            .find(|p| p.is_file())
            .cloned()
            .ok_or_else(|| format!("{var}: none of {candidates:?} exists"))
    };
    let perl_tool = pick("TGT_ADMIN_C", vec![PathBuf::from("/usr/sbin/tgt-admin")])?;
    let ours = pick(
        "TGT_ADMIN_RS",
        ["debug", "release"]
            .iter()
            .map(|p| target_dir().join(p).join("tgt-admin"))
            .collect(),
    )?;
    let perl_ok = Command::new("perl")
        .args(["-MConfig::General", "-e", "1"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !perl_ok {
        return Err("perl with Config::General (Debian libconfig-general-perl) is missing".into());
    }
    Ok(Tools {
        tgtd,
        tgtadm,
        perl_tool,
        ours,
    })
}

/// One line of a `steps` file.
#[derive(Debug, Clone)]
enum Step {
    Files(Vec<(String, u64)>),
    Run {
        args: Vec<String>,
        compare_stdout: bool,
        reject: bool,
    },
    Tgtadm(Vec<String>),
    Login {
        slot: String,
        target: String,
        initiator: String,
    },
    Logout(String),
    Copy(String, String),
    Repo {
        path: String,
        name: String,
        replace: Vec<(String, String)>,
    },
    DumpTo(String),
    Same(String, String),
}

fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let (mut quoted, mut in_word) = (false, false);
    for c in line.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                in_word = true;
            }
            ' ' | '\t' if !quoted => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            _ => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        out.push(cur);
    }
    out
}

fn size(s: &str) -> Result<u64, String> {
    let (num, mul) = match s.chars().last() {
        Some('K') => (&s[..s.len() - 1], 1 << 10),
        Some('M') => (&s[..s.len() - 1], 1 << 20),
        Some('G') => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    num.parse::<u64>()
        .map(|n| n * mul)
        .map_err(|e| format!("bad size {s}: {e}"))
}

fn parse_steps(text: &str) -> Result<Vec<(usize, String, Step)>, String> {
    let mut steps = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let w = words(line);
        let args = w[1..].to_vec();
        let step = match w[0].as_str() {
            "files" => Step::Files(
                args.iter()
                    .map(|a| {
                        let (n, s) = a
                            .split_once('=')
                            .ok_or(format!("line {}: NAME=SIZE", i + 1))?;
                        Ok((n.to_string(), size(s)?))
                    })
                    .collect::<Result<_, String>>()?,
            ),
            "run" => Step::Run {
                args,
                compare_stdout: true,
                reject: false,
            },
            "fail" => Step::Run {
                args,
                compare_stdout: false,
                reject: false,
            },
            "reject" => Step::Run {
                args,
                compare_stdout: false,
                reject: true,
            },
            "tgtadm" => Step::Tgtadm(args),
            "login" if args.len() == 3 => Step::Login {
                slot: args[0].clone(),
                target: args[1].clone(),
                initiator: args[2].clone(),
            },
            "logout" if args.len() == 1 => Step::Logout(args[0].clone()),
            "cp" if args.len() == 2 => Step::Copy(args[0].clone(), args[1].clone()),
            "dump-to" if args.len() == 1 => Step::DumpTo(args[0].clone()),
            "same" if args.len() == 2 => Step::Same(args[0].clone(), args[1].clone()),
            "repo" if args.len() >= 2 => Step::Repo {
                path: args[0].clone(),
                name: args[1].clone(),
                replace: args[2..]
                    .iter()
                    .map(|r| {
                        r.split_once('=')
                            .map(|(a, b)| (a.to_string(), b.to_string()))
                            .ok_or(format!("line {}: A=B", i + 1))
                    })
                    .collect::<Result<_, String>>()?,
            },
            other => return Err(format!("line {}: unknown or malformed step {other}", i + 1)),
        };
        steps.push((i + 1, line.to_string(), step));
    }
    Ok(steps)
}

/// What one compared step produced on one side.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Record {
    stdout: Option<String>,
    code: Option<i32>,
    state: String,
    /// For `reject` steps: the state before the step.
    state_before: Option<String>,
    /// For `same` steps: what stdout must be on both sides.
    must_be: Option<String>,
}

/// A C tgtd for one side, killed by PID when dropped.
struct Tgtd {
    child: Child,
}

impl Drop for Tgtd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback port of 23000-23999 that can be bound now, starting at 23000 + `slot` and
/// stepping by 200 (the portal port appears in no output, so sides may differ).
fn portal_port(slot: u16) -> u16 {
    (0..5)
        .map(|k| PORTAL_PORT_BASE + (slot + 200 * k) % 1000)
        .find(|&p| std::net::TcpListener::bind(("127.0.0.1", p)).is_ok())
        .unwrap_or(PORTAL_PORT_BASE + slot % 1000)
}

fn start_tgtd(tools: &Tools, scratch: &Path, control: u16, portal: u16) -> Result<Tgtd, String> {
    let ipc = scratch.join("ipc");
    fs::create_dir_all(&ipc).map_err(|e| e.to_string())?;
    let log = fs::File::create(scratch.join("tgtd.log")).map_err(|e| e.to_string())?;
    let child = Command::new(&tools.tgtd)
        .env("TGT_IPC_SOCKET", ipc.join("socket"))
        .args(["-f", "-C", &control.to_string(), "--iscsi"])
        .arg(format!("portal=127.0.0.1:{portal}"))
        .stdin(Stdio::null())
        .stdout(log.try_clone().map_err(|e| e.to_string())?)
        .stderr(log)
        .spawn()
        .map_err(|e| format!("{}: {e}", tools.tgtd.display()))?;
    let mut tgtd = Tgtd { child };
    let socket = ipc.join(format!("socket.{control}"));
    let deadline = Instant::now() + DEADLINE;
    loop {
        if let Ok(Some(status)) = tgtd.child.try_wait() {
            return Err(format!("tgtd exited during start-up: {status}"));
        }
        if UnixStream::connect(&socket).is_ok() {
            return Ok(tgtd);
        }
        if Instant::now() > deadline {
            return Err("tgtd did not open its management socket in time".into());
        }
        // Poll interval; readiness is the successful connect above.
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn c_tgtadm(tools: &Tools, scratch: &Path, control: u16, args: &[&str]) -> String {
    let out = Command::new(&tools.tgtadm)
        .env("TGT_IPC_SOCKET", scratch.join("ipc/socket"))
        .arg("-C")
        .arg(control.to_string())
        .args(args)
        .stdin(Stdio::null())
        .output();
    match out {
        Ok(o) => format!(
            "{}{}[exit {:?}]\n",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr),
            o.status.code()
        ),
        Err(e) => format!("tgtadm failed to run: {e}\n"),
    }
}

fn state(tools: &Tools, scratch: &Path, control: u16) -> String {
    let mut s = String::new();
    for mode in ["target", "account", "sys"] {
        s.push_str(&format!("--- {mode}\n"));
        s.push_str(&c_tgtadm(
            tools,
            scratch,
            control,
            &["--op", "show", "--mode", mode],
        ));
    }
    s
}

/// An iSCSI Login request straight to full feature phase (RFC 7143 §11.12): T=1, CSG=1,
/// NSG=3, no authentication. The connection stays open, so tgtd lists an I_T nexus.
fn login(portal: u16, slot: u8, target: &str, initiator: &str) -> Result<TcpStream, String> {
    let mut s = TcpStream::connect(("127.0.0.1", portal)).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(DEADLINE))
        .map_err(|e| e.to_string())?;
    let mut data = format!("InitiatorName={initiator}\0SessionType=Normal\0TargetName={target}\0")
        .into_bytes();
    let dsl = u32::try_from(data.len()).map_err(|e| e.to_string())?;
    while data.len() % 4 != 0 {
        data.push(0);
    }
    let mut bhs = [0u8; 48];
    bhs[0] = 0x43;
    bhs[1] = 0x87;
    bhs[5..8].copy_from_slice(&dsl.to_be_bytes()[1..]);
    bhs[8..14].copy_from_slice(&[0, 2, 0x3d, 0, 0, slot]);
    bhs[19] = slot;
    bhs[27] = 1;
    s.write_all(&bhs).map_err(|e| e.to_string())?;
    s.write_all(&data).map_err(|e| e.to_string())?;
    let mut rsp = [0u8; 48];
    s.read_exact(&mut rsp)
        .map_err(|e| format!("login response: {e}"))?;
    if rsp[36] != 0 {
        return Err(format!(
            "login refused: class {} detail {}",
            rsp[36], rsp[37]
        ));
    }
    let len = usize::from(rsp[5]) << 16 | usize::from(rsp[6]) << 8 | usize::from(rsp[7]);
    let mut rest = vec![0u8; len.div_ceil(4) * 4];
    s.read_exact(&mut rest).map_err(|e| e.to_string())?;
    Ok(s)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Perl,
    Ours,
}

fn substitute(s: &str, dir: &Path, control: u16) -> String {
    s.replace("@DIR@", &dir.display().to_string())
        .replace("@PORT@", &control.to_string())
}

/// Copies the case's files into the scratch directory, substituting `@DIR@`/`@PORT@`.
fn copy_case(from: &Path, to: &Path, control: u16, scratch: &Path) -> io::Result<()> {
    fs::create_dir_all(to)?;
    for e in fs::read_dir(from)? {
        let e = e?;
        let dest = to.join(e.file_name());
        if e.file_type()?.is_dir() {
            copy_case(&e.path(), &dest, control, scratch)?;
        } else if e.file_name() != "steps" {
            let bytes = fs::read(e.path())?;
            match String::from_utf8(bytes) {
                Ok(text) => fs::write(dest, substitute(&text, scratch, control))?,
                Err(raw) => fs::write(dest, raw.into_bytes())?,
            }
        }
    }
    Ok(())
}

fn run_side(
    tools: &Tools,
    case_dir: &Path,
    steps: &[(usize, String, Step)],
    side: Side,
    scratch: &Path,
    control: u16,
    portal: u16,
) -> Result<Vec<(String, Record)>, String> {
    let _ = fs::remove_dir_all(scratch);
    copy_case(case_dir, scratch, control, scratch).map_err(|e| e.to_string())?;
    let _tgtd = start_tgtd(tools, scratch, control, portal)?;
    let mut sessions: Vec<(String, TcpStream, String)> = Vec::new();
    let mut records = Vec::new();
    for (lineno, text, step) in steps {
        let text = format!("{lineno}: {text}");
        match step {
            Step::Files(files) => {
                for (name, len) in files {
                    let f = fs::File::create(scratch.join(name)).map_err(|e| e.to_string())?;
                    f.set_len(*len).map_err(|e| e.to_string())?;
                }
            }
            Step::Repo {
                path,
                name,
                replace,
            } => {
                let mut content = fs::read_to_string(workspace_root().join(path))
                    .map_err(|e| format!("{text}: {e}"))?
                    .replace("/var/lib/tgt", &scratch.display().to_string());
                for (a, b) in replace {
                    content = content.replace(a.as_str(), b);
                }
                fs::write(scratch.join(name), content).map_err(|e| format!("{text}: {e}"))?;
            }
            Step::DumpTo(name) => {
                let tool = match side {
                    Side::Perl => &tools.perl_tool,
                    Side::Ours => &tools.ours,
                };
                let out = Command::new(tool)
                    .args(["-C", &control.to_string(), "--dump"])
                    .current_dir(scratch)
                    .env("TGT_IPC_SOCKET", scratch.join("ipc/socket"))
                    .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
                    .stdin(Stdio::null())
                    .output()
                    .map_err(|e| format!("{}: {e}", tool.display()))?;
                let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
                let conf = stdout.replace("PLEASE_CORRECT_THE_PASSWORD", "Corrected-Pass1");
                fs::write(scratch.join(name), conf).map_err(|e| format!("{text}: {e}"))?;
                records.push((
                    text,
                    Record {
                        stdout: Some(normalize(&stdout)),
                        code: out.status.code(),
                        state: state(tools, scratch, control),
                        state_before: None,
                        must_be: None,
                    },
                ));
            }
            Step::Same(a, b) => {
                let read = |n: &str| fs::read_to_string(scratch.join(n)).unwrap_or_default();
                let (x, y) = (normalize(&read(a)), normalize(&read(b)));
                let verdict = if x == y {
                    "same".to_string()
                } else {
                    diff(&format!("{a} vs {b}"), &x, &y)
                };
                records.push((
                    text,
                    Record {
                        stdout: Some(verdict),
                        code: None,
                        state: String::new(),
                        state_before: None,
                        must_be: Some("same".to_string()),
                    },
                ));
            }
            Step::Copy(a, b) => {
                fs::copy(scratch.join(a), scratch.join(b)).map_err(|e| format!("{text}: {e}"))?;
            }
            Step::Tgtadm(args) => {
                let args: Vec<String> = args
                    .iter()
                    .map(|a| substitute(a, scratch, control))
                    .collect();
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                c_tgtadm(tools, scratch, control, &args);
            }
            Step::Login {
                slot,
                target,
                initiator,
            } => {
                let n = slot.parse::<u8>().map_err(|e| e.to_string())?;
                let s = login(portal, n, target, initiator).map_err(|e| format!("{text}: {e}"))?;
                sessions.push((slot.clone(), s, initiator.clone()));
            }
            Step::Logout(slot) => {
                let Some(i) = sessions.iter().position(|(s, _, _)| s == slot) else {
                    return Err(format!("{text}: no session in slot {slot}"));
                };
                let (_, stream, initiator) = sessions.remove(i);
                drop(stream);
                let deadline = Instant::now() + DEADLINE;
                let needle = format!("Initiator: {initiator} alias");
                while c_tgtadm(
                    tools,
                    scratch,
                    control,
                    &["--op", "show", "--mode", "target"],
                )
                .contains(&needle)
                {
                    if Instant::now() > deadline {
                        return Err(format!("{text}: the nexus of {initiator} stays"));
                    }
                    // Poll interval; the condition is the nexus listing above.
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
            Step::Run {
                args,
                compare_stdout,
                reject,
            } => {
                let state_before = reject.then(|| state(tools, scratch, control));
                let tool = match side {
                    Side::Perl => &tools.perl_tool,
                    Side::Ours => &tools.ours,
                };
                let args: Vec<String> = args
                    .iter()
                    .map(|a| substitute(a, scratch, control))
                    .collect();
                let out = Command::new(tool)
                    .args(&args)
                    .current_dir(scratch)
                    .env("TGT_IPC_SOCKET", scratch.join("ipc/socket"))
                    .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
                    .env("PERL_HASH_SEED", "0")
                    .env("PERL_PERTURB_KEYS", "0")
                    .stdin(Stdio::null())
                    .output()
                    .map_err(|e| format!("{}: {e}", tool.display()))?;
                let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
                records.push((
                    text,
                    Record {
                        stdout: compare_stdout.then(|| normalize(&stdout)),
                        code: out.status.code(),
                        state: state(tools, scratch, control),
                        state_before,
                        must_be: None,
                    },
                ));
            }
        }
    }
    drop(sessions);
    Ok(records)
}

/// Sorts what the Perl tool prints in hash order (see the module documentation).
fn normalize(out: &str) -> String {
    let lines: Vec<&str> = out.split_inclusive('\n').collect();
    let lines = sort_lun_groups(&lines);
    let lines = sort_runs(&lines, |l| l.contains(" -n state -v "));
    let lines = sort_chunks(&lines, is_removal_start, |l| l == "\n");
    let lines = sort_chunks(&lines, |l| l.starts_with("<target "), |l| l == "\n");
    lines.concat()
}

fn is_removal_start(l: &str) -> bool {
    l.starts_with("# Removing target:")
        || (l.starts_with("# Target with tid ") && l.contains(" is in use,"))
}

/// LU parameter lines after each `--op new --mode logicalunit`: mode pages and the rest,
/// each sorted.
fn sort_lun_groups(lines: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        out.push(lines[i].to_string());
        if lines[i].contains("--op new --mode logicalunit") {
            let mut pages = Vec::new();
            let mut rest = Vec::new();
            i += 1;
            while i < lines.len()
                && (lines[i].contains("--op update --mode logicalunit")
                    || lines[i].starts_with("# Write cache is enabled")
                    || lines[i].starts_with("# WARNING! Unknown value"))
            {
                if lines[i].contains("params mode_page") {
                    pages.push(lines[i].to_string());
                } else {
                    rest.push(lines[i].to_string());
                }
                i += 1;
            }
            pages.sort();
            rest.sort();
            out.extend(pages);
            out.extend(rest);
            continue;
        }
        i += 1;
    }
    out
}

fn sort_runs(lines: &[String], member: impl Fn(&str) -> bool) -> Vec<String> {
    let mut out = Vec::new();
    let mut run: Vec<String> = Vec::new();
    for l in lines {
        if member(l) {
            run.push(l.clone());
        } else {
            run.sort();
            out.append(&mut run);
            out.push(l.clone());
        }
    }
    run.sort();
    out.append(&mut run);
    out
}

/// Consecutive chunks that each start with a `start` line (and end after an `end` line or
/// before the next start) are sorted among themselves.
fn sort_chunks(
    lines: &[String],
    start: impl Fn(&str) -> bool,
    end: impl Fn(&str) -> bool,
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if !start(&lines[i]) {
            out.push(lines[i].clone());
            i += 1;
            continue;
        }
        let mut chunks: Vec<String> = Vec::new();
        while i < lines.len() && start(&lines[i]) {
            let mut chunk = lines[i].clone();
            i += 1;
            while i < lines.len() && !start(&lines[i]) {
                let l = &lines[i];
                chunk.push_str(l);
                i += 1;
                if end(l) {
                    break;
                }
                if lines
                    .get(i)
                    .is_some_and(|n| n.starts_with("# ") && !start(n))
                {
                    break;
                }
            }
            chunks.push(chunk);
        }
        chunks.sort();
        out.extend(chunks);
    }
    out
}

struct CaseResult {
    name: String,
    identical: usize,
    total: usize,
    report: String,
}

fn run_case(tools: &Tools, index: usize, dir: &Path, root: &Path) -> CaseResult {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let fail = |report: String| CaseResult {
        name: name.clone(),
        identical: 0,
        total: 1,
        report,
    };
    let steps = match fs::read_to_string(dir.join("steps"))
        .map_err(|e| e.to_string())
        .and_then(|t| parse_steps(&t))
    {
        Ok(s) => s,
        Err(e) => return fail(format!("steps: {e}")),
    };
    let offset = u16::try_from(index).unwrap_or(99);
    let control = CONTROL_PORT_BASE + offset;
    let scratch = root.join(&name);
    let perl = run_side(
        tools,
        dir,
        &steps,
        Side::Perl,
        &scratch,
        control,
        portal_port(2 * offset),
    );
    let ours = run_side(
        tools,
        dir,
        &steps,
        Side::Ours,
        &scratch,
        control,
        portal_port(2 * offset + 1),
    );
    if std::env::var_os("TGT_ADMIN_COMPAT_KEEP").is_none() {
        let _ = fs::remove_dir_all(&scratch);
    }
    let (perl, ours) = match (perl, ours) {
        (Ok(p), Ok(o)) => (p, o),
        (Err(e), _) => return fail(format!("Perl side: {e}")),
        (_, Err(e)) => return fail(format!("our side: {e}")),
    };
    let mut report = String::new();
    let mut identical = 0;
    for ((step, p), (_, o)) in perl.iter().zip(&ours) {
        if let Some(before) = &o.state_before {
            // A `reject` step: same status, and nothing applied on our side.
            if p.code == o.code && *before == o.state {
                identical += 1;
                continue;
            }
            report.push_str(&format!("  step {step}\n"));
            if p.code != o.code {
                report.push_str(&format!("    exit: Perl {:?}, ours {:?}\n", p.code, o.code));
            }
            if *before != o.state {
                report.push_str(&diff("our state (before/after)", before, &o.state));
            }
            continue;
        }
        if let Some(want) = &o.must_be {
            if p.stdout.as_ref() == Some(want) && o.stdout.as_ref() == Some(want) {
                identical += 1;
            } else {
                report.push_str(&format!(
                    "  step {step}\n    Perl: {}\n    ours: {}\n",
                    p.stdout.as_deref().unwrap_or(""),
                    o.stdout.as_deref().unwrap_or("")
                ));
            }
            continue;
        }
        if p == o {
            identical += 1;
            continue;
        }
        report.push_str(&format!("  step {step}\n"));
        if p.code != o.code {
            report.push_str(&format!("    exit: Perl {:?}, ours {:?}\n", p.code, o.code));
        }
        if p.stdout != o.stdout {
            report.push_str(&diff(
                "stdout",
                p.stdout.as_deref().unwrap_or(""),
                o.stdout.as_deref().unwrap_or(""),
            ));
        }
        if p.state != o.state {
            report.push_str(&diff("state", &p.state, &o.state));
        }
    }
    CaseResult {
        name,
        identical,
        total: perl.len(),
        report,
    }
}

/// A compact line diff: lines only in the Perl output (`-`) and only in ours (`+`).
fn diff(what: &str, perl: &str, ours: &str) -> String {
    let p: Vec<&str> = perl.lines().collect();
    let o: Vec<&str> = ours.lines().collect();
    let mut s = format!("    {what} differs (- Perl, + ours):\n");
    let mut shown = 0;
    for i in 0..p.len().max(o.len()) {
        let (a, b) = (p.get(i), o.get(i));
        if a != b && shown < 30 {
            if let Some(a) = a {
                s.push_str(&format!("      {i:3} - {a:?}\n"));
            }
            if let Some(b) = b {
                s.push_str(&format!("      {i:3} + {b:?}\n"));
            }
            shown += 1;
        }
    }
    s
}

#[test]
fn tgt_admin_matches_the_perl_tool_on_every_corpus_case() {
    let tools = match tools() {
        Ok(t) => t,
        Err(reason) => return skip(TEST, &reason),
    };
    let cases_dir = workspace_root().join("compat-tests/tgt-admin/cases");
    let filter = std::env::var("TGT_ADMIN_COMPAT_CASE").unwrap_or_default();
    let mut cases: Vec<PathBuf> = fs::read_dir(&cases_dir)
        .expect("the corpus directory exists")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.join("steps").is_file())
        .collect();
    cases.sort();
    let indexed: Vec<(usize, PathBuf)> = cases
        .into_iter()
        .enumerate()
        .filter(|(_, p)| p.to_string_lossy().contains(&filter))
        .collect();
    assert!(!indexed.is_empty(), "no case matches {filter:?}");
    let root = std::env::temp_dir().join(format!("tgt-admin-compat.{}", std::process::id()));
    fs::create_dir_all(&root).expect("scratch root");
    let next = AtomicUsize::new(0);
    let results = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..PARALLEL {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some((index, dir)) = indexed.get(i) else {
                    break;
                };
                let r = run_case(&tools, *index, dir, &root);
                results.lock().expect("no panics while holding it").push(r);
            });
        }
    });
    if std::env::var_os("TGT_ADMIN_COMPAT_KEEP").is_none() {
        let _ = fs::remove_dir_all(&root);
    }
    let mut results = results.into_inner().expect("threads are done");
    results.sort_by(|a, b| a.name.cmp(&b.name));
    let (mut same, mut total) = (0, 0);
    let mut summary = String::new();
    for r in &results {
        same += r.identical;
        total += r.total;
        summary.push_str(&format!(
            "{:<28} {:>3}/{:<3} identical\n",
            r.name, r.identical, r.total
        ));
        summary.push_str(&r.report);
    }
    summary.push_str(&format!(
        "total: {same}/{total} steps identical in {} cases\n",
        results.len()
    ));
    println!("{summary}");
    assert_eq!(
        same, total,
        "tgt-admin differs from the Perl tool:\n{summary}"
    );
}

#[test]
fn normalisation_sorts_only_hash_ordered_output() {
    let perl = "# Adding target: t\ntgtadm --op new --mode logicalunit --lun 1\ntgtadm --op update --mode logicalunit --params b=\"1\"\ntgtadm --op update --mode logicalunit --params a=\"1\"\n# Removing target: y\ntgtadm delete 2\n\n# Removing target: x\ntgtadm delete 1\n\n";
    let ours = "# Adding target: t\ntgtadm --op new --mode logicalunit --lun 1\ntgtadm --op update --mode logicalunit --params a=\"1\"\ntgtadm --op update --mode logicalunit --params b=\"1\"\n# Removing target: x\ntgtadm delete 1\n\n# Removing target: y\ntgtadm delete 2\n\n";
    assert_eq!(normalize(perl), normalize(ours));
    assert_ne!(normalize("a\nb\n"), normalize("b\na\n"));
}
