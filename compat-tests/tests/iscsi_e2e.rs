//! End to end with real initiators: libiscsi's `iscsi-ls`/`iscsi-inq` and qemu's iSCSI driver
//! (`qemu-img`, `qemu-io`) against a tgtd on loopback (DESIGN.md "Oracles and real clients";
//! backing-stores-and-scsi.md §7 for what C tgt does).
//!
//! Every case runs twice, against C tgtd (`*::c_tgtd`, the oracle) and ours (`*::our_tgtd`), each
//! on a fresh daemon with its own socket directory, control port and portal port, and asserts the
//! same literal outcome for both: exit codes, the libiscsi status in the initiator's message,
//! listings, and tgtadm's text. After each case the daemon must still be running and serving.
//! A case skips, printing why, when its daemon's binaries or one of its tools are missing
//! (`libiscsi-bin`; `qemu-utils` with `qemu-block-extra` for the iscsi protocol).
//!
//! Covered: qemu-img round trips (64 MiB, non-default segment/burst/R2T parameters, out-of-order
//! writes, four concurrent sessions) checked by `qemu-img compare`, the read-back file and the
//! backing file, with the target's login keys compared to C's; address and initiator-name ACLs
//! in discovery and login; CHAP, mutual CHAP and discovery CHAP; CRC32C header digests; target
//! and system offline; a live session (`qemu-io` holding it) in `target show`/`conn show`,
//! `target delete` with and without `--force`, `conn delete`; LU hot add during a session.
//! Not covered: data digests. libiscsi offers only `DataDigest=None`, so with `DataDigest=CRC32C`
//! set the tests check that None is negotiated; the kernel initiator in
//! `shared/tools/kvm-initiator` (`KVMI_DIGEST=CRC32C run.sh PORT IQN`) exercises CRC32C data
//! digests, but one boot takes longer than this whole file may.
//!
//! Every child process is bounded by [`TOOL_DEADLINE`]; every wait polls a condition against a
//! deadline; daemons and the session holder are killed by PID when dropped.

use std::env;
use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

use compat_tests::{skip, Daemon, Impl, ScratchDir, TgtadmOutput};

/// Longest any one tool run may take before it is killed and the test fails.
const TOOL_DEADLINE: Duration = Duration::from_secs(30);
/// How long a state change (a closed session, a reconnect) may take to become visible.
const SETTLE_DEADLINE: Duration = Duration::from_secs(15);
/// Poll interval for conditions checked against a deadline.
const POLL: Duration = Duration::from_millis(20);

/// The initiator name `iscsi-ls` logs in with unless `-i` says otherwise (libiscsi 1.19).
const ISCSI_LS_NAME: &str = "iqn.2007-10.com.github:sahlberg:libiscsi:iscsi-ls";
/// The initiator name qemu's iSCSI driver uses when no VM name or `initiator-name` is given.
const QEMU_NAME: &str = "iqn.2008-11.org.linux-kvm";

const IQN_A: &str = "iqn.2024-01.org.example.e2e:alpha";
const IQN_B: &str = "iqn.2024-01.org.example.e2e:beta";

/// libiscsi's messages for the login statuses tgt sends (class << 8 | detail).
const STATUS_AUTH_FAILURE: &str = "Status: Authentication failure(513)";
const STATUS_NOT_FOUND: &str = "Status: Target not found(515)";
const STATUS_TARGET_ERROR: &str = "Status: Target error(768)";
/// What libiscsi says when the target's mutual-CHAP answer does not match.
const BAD_TARGET_CHAP_R: &str = "Invalid CHAP_R response from the target";

/// `iscsi-inq`'s rendering of a null-backed disk's standard INQUIRY data, as C tgt 1.0.85
/// answers it (vendor `IET`, product `VIRTUAL-DISK`, SPC-3, SBC-3 and iSCSI descriptors).
const NULL_DISK_INQUIRY: &str = "\
Peripheral Qualifier:CONNECTED
Peripheral Device Type:DIRECT_ACCESS
Removable:0
Version:5 ANSI INCITS 408-2005 (SPC-3)
NormACA:0
HiSup:1
ReponseDataFormat:2
SCCS:0
ACC:0
TPGS:0
3PC:0
Protect:0
EncServ:0
MultiP:0
SYNC:0
CmdQue:1
Vendor:IET     \n\
Product:VIRTUAL-DISK    \n\
Revision:0001
Version Descriptor:04c0 SBC-3
Version Descriptor:0960 iSCSI
Version Descriptor:0300 SPC-3
";

/// `both!(case, [tools…])`: tests `case::c_tgtd` and `case::our_tgtd`.
/// `both!(case, [tools…], ignore_ours = "bug: …")` marks ours ignored (a known daemon bug).
macro_rules! both {
    ($case:ident, [$($tool:expr),*]) => {
        mod $case {
            use super::Tool;

            #[test]
            fn c_tgtd() {
                super::on(super::Impl::C, module_path!(), &[$($tool),*], super::$case);
            }

            #[test]
            fn our_tgtd() {
                super::on(super::Impl::Rust, module_path!(), &[$($tool),*], super::$case);
            }
        }
    };
    ($case:ident, [$($tool:expr),*], ignore_ours = $why:literal) => {
        mod $case {
            use super::Tool;

            #[test]
            fn c_tgtd() {
                super::on(super::Impl::C, module_path!(), &[$($tool),*], super::$case);
            }

            #[test]
            #[ignore = $why]
            fn our_tgtd() {
                super::on(super::Impl::Rust, module_path!(), &[$($tool),*], super::$case);
            }
        }
    };
}

// ------------------------------------------------------------------------------------ tools

/// An initiator-side program a case needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tool {
    IscsiLs,
    IscsiInq,
    QemuImg,
    QemuIo,
}

impl Tool {
    fn program(self) -> &'static str {
        match self {
            Tool::IscsiLs => "iscsi-ls",
            Tool::IscsiInq => "iscsi-inq",
            Tool::QemuImg => "qemu-img",
            Tool::QemuIo => "qemu-io",
        }
    }

    fn package(self) -> &'static str {
        match self {
            Tool::IscsiLs | Tool::IscsiInq => "libiscsi-bin",
            Tool::QemuImg | Tool::QemuIo => "qemu-utils + qemu-block-extra",
        }
    }

    /// Where the program is, or why it cannot be used.
    fn find(self) -> Result<PathBuf, String> {
        let path = in_path(self.program()).ok_or_else(|| {
            format!(
                "{} not found in PATH (Debian package {})",
                self.program(),
                self.package()
            )
        })?;
        if matches!(self, Tool::QemuImg | Tool::QemuIo) {
            qemu_has_iscsi()?;
        }
        Ok(path)
    }
}

/// `name` in `$PATH`, if it is there.
fn in_path(name: &str) -> Option<PathBuf> {
    env::split_paths(&env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|path| path.is_file())
}

/// qemu lists `iscsi` among its supported formats only when its iscsi block module
/// (Debian's qemu-block-extra) is installed.
fn qemu_has_iscsi() -> Result<(), String> {
    static PROBE: OnceLock<Result<(), String>> = OnceLock::new();
    PROBE
        .get_or_init(|| {
            let out = Command::new("qemu-img")
                .arg("--help")
                .stdin(Stdio::null())
                .output()
                .map_err(|e| format!("qemu-img --help: {e}"))?;
            let text = String::from_utf8_lossy(&out.stdout);
            let formats = text
                .lines()
                .find(|line| line.starts_with("Supported formats:"))
                .unwrap_or_default();
            if formats.split_whitespace().any(|f| f == "iscsi") {
                Ok(())
            } else {
                Err("qemu-img has no iscsi protocol (Debian package qemu-block-extra)".into())
            }
        })
        .clone()
}

/// How a bounded child process ended.
#[derive(Debug)]
struct Finished {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Finished {
    fn describe(&self) -> String {
        format!(
            "exit {:?}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Run `cmd` to completion with captured output; kill it and panic after [`TOOL_DEADLINE`].
fn run_bounded(mut cmd: Command) -> Finished {
    let shown = format!("{cmd:?}");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {shown}: {e}"));
    let stdout = drain(child.stdout.take().expect("piped stdout"));
    let stderr = drain(child.stderr.take().expect("piped stderr"));
    let deadline = Instant::now() + TOOL_DEADLINE;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => thread::sleep(POLL),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{shown} did not finish within {TOOL_DEADLINE:?}; killed");
            }
            Err(e) => panic!("waiting for {shown}: {e}"),
        }
    };
    let text = |rx: Receiver<Vec<u8>>| {
        String::from_utf8_lossy(&rx.iter().flatten().collect::<Vec<u8>>()).into_owned()
    };
    Finished {
        code: status.code(),
        stdout: text(stdout),
        stderr: text(stderr),
    }
}

/// Read `pipe` on a thread until EOF; the chunks arrive on the returned channel.
fn drain(mut pipe: impl Read + Send + 'static) -> Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut buf = [0u8; 8192];
        loop {
            match pipe.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    if tx.send(buf[..n].to_vec()).is_err() {
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
    });
    rx
}

/// A tool command with an environment free of libiscsi's credential and debug variables, so
/// that only the URL and arguments decide what the initiator does.
fn tool_command(program: &Path) -> Command {
    let mut cmd = Command::new(program);
    for var in [
        "LIBISCSI_CHAP_USERNAME",
        "LIBISCSI_CHAP_PASSWORD",
        "LIBISCSI_CHAP_TARGET_USERNAME",
        "LIBISCSI_CHAP_TARGET_PASSWORD",
        "LIBISCSI_DEBUG",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

// ------------------------------------------------------------------------------ the setup

/// One case's world: a fresh daemon, its tgtadm, a scratch directory and the tools.
struct Setup {
    which: Impl,
    daemon: Daemon,
    tgtadm: PathBuf,
    scratch: ScratchDir,
    tools: Vec<(Tool, PathBuf)>,
}

/// Find the tools and binaries (or skip, saying why), start a daemon of `which`, run `case`,
/// then require that the daemon is still running and serving.
fn on(which: Impl, test: &str, needs: &[Tool], case: fn(&Setup)) {
    let mut tools = Vec::new();
    for &tool in needs {
        match tool.find() {
            Ok(path) => tools.push((tool, path)),
            Err(reason) => return skip(test, &reason),
        }
    }
    let tgtadm = match which.tgtadm() {
        Ok(path) => path,
        Err(missing) => return skip(test, &missing),
    };
    let tgtd = match which.tgtd() {
        Ok(path) => path,
        Err(missing) => return skip(test, &missing),
    };
    // A daemon that is there but does not start is a failure, not a reason to skip.
    let daemon = Daemon::start(&tgtd)
        .unwrap_or_else(|e| panic!("{}: {} did not start: {e}", which.name(), tgtd.display()));
    let scratch = ScratchDir::new().expect("scratch directory");
    let mut setup = Setup {
        which,
        daemon,
        tgtadm,
        scratch,
        tools,
    };
    case(&setup);
    assert!(
        setup.daemon.is_running(),
        "{}: tgtd exited during the case\n{}",
        which.name(),
        setup.log()
    );
    if let Err(e) = setup.daemon.sys_show() {
        panic!(
            "{}: tgtd no longer serves: {e}\n{}",
            which.name(),
            setup.log()
        );
    }
}

impl Setup {
    fn tool(&self, tool: Tool) -> &Path {
        self.tools
            .iter()
            .find(|(t, _)| *t == tool)
            .map(|(_, path)| path.as_path())
            .unwrap_or_else(|| panic!("case did not declare that it needs {tool:?}"))
    }

    /// The daemon's log, for failure messages.
    fn log(&self) -> String {
        format!("--- {} log\n{}", self.which.name(), self.daemon.log_text())
    }

    /// `tgtadm -C <port> <line>` against this daemon; `line` is split at whitespace (no value
    /// here contains any: [`path_str`] checks the scratch paths).
    fn adm(&self, line: &str) -> TgtadmOutput {
        let args: Vec<&str> = line.split_whitespace().collect();
        self.daemon
            .tgtadm(&self.tgtadm, &args)
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", self.tgtadm.display()))
    }

    /// A tgtadm command that must succeed silently.
    fn adm_ok(&self, line: &str) {
        let out = self.adm(line);
        assert!(
            out.code == Some(0) && out.stdout.is_empty() && out.stderr.is_empty(),
            "{}: tgtadm {line} failed: exit {:?}, stdout {:?}, stderr {:?}\n{}",
            self.which.name(),
            out.code,
            out.stdout_text(),
            out.stderr_text(),
            self.log()
        );
    }

    /// A tgtadm command that must succeed; its stdout.
    fn adm_show(&self, line: &str) -> String {
        let out = self.adm(line);
        assert!(
            out.code == Some(0) && out.stderr.is_empty(),
            "{}: tgtadm {line} failed: exit {:?}, stderr {:?}\n{}",
            self.which.name(),
            out.code,
            out.stderr_text(),
            self.log()
        );
        out.stdout_text()
    }

    fn new_target(&self, tid: u32, iqn: &str) {
        self.adm_ok(&format!(
            "--lld iscsi --op new --mode target --tid {tid} -T {iqn}"
        ));
    }

    fn new_null_lun(&self, tid: u32, lun: u32) {
        self.adm_ok(&format!(
            "--lld iscsi --op new --mode logicalunit --tid {tid} --lun {lun} \
             --bstype null -b /dev/null"
        ));
    }

    fn new_rdwr_lun(&self, tid: u32, lun: u32, path: &Path) {
        self.adm_ok(&format!(
            "--lld iscsi --op new --mode logicalunit --tid {tid} --lun {lun} \
             --bstype rdwr -b {}",
            path_str(path)
        ));
    }

    /// `target bind -I <address>` (`ALL`, an address, `addr/prefix`).
    fn bind_address(&self, tid: u32, address: &str) {
        self.adm_ok(&format!(
            "--lld iscsi --op bind --mode target --tid {tid} -I {address}"
        ));
    }

    /// `target bind -Q <initiator name>`.
    fn bind_name(&self, tid: u32, name: &str) {
        self.adm_ok(&format!(
            "--lld iscsi --op bind --mode target --tid {tid} -Q {name}"
        ));
    }

    fn new_account(&self, user: &str, password: &str) {
        self.adm_ok(&format!(
            "--lld iscsi --op new --mode account --user {user} --password {password}"
        ));
    }

    /// `account bind`: to a target's incoming (or `--outgoing`) list, or without `tid` to the
    /// global list that discovery sessions use.
    fn bind_account(&self, tid: Option<u32>, user: &str, outgoing: bool) {
        let tid = tid.map(|t| format!(" --tid {t}")).unwrap_or_default();
        let outgoing = if outgoing { " --outgoing" } else { "" };
        self.adm_ok(&format!(
            "--lld iscsi --op bind --mode account{tid} --user {user}{outgoing}"
        ));
    }

    /// `target update --name <key> --value <value>`.
    fn update_target(&self, tid: u32, name: &str, value: &str) {
        self.adm_ok(&format!(
            "--lld iscsi --op update --mode target --tid {tid} --name {name} --value {value}"
        ));
    }

    fn portal(&self) -> String {
        format!("127.0.0.1:{}", self.daemon.portal_port())
    }

    /// `iscsi://[credentials@]127.0.0.1:PORT` (credentials as `user%password`).
    fn portal_url(&self, credentials: Option<&str>) -> String {
        match credentials {
            Some(c) => format!("iscsi://{c}@{}", self.portal()),
            None => format!("iscsi://{}", self.portal()),
        }
    }

    /// `iscsi://[credentials@]127.0.0.1:PORT/IQN/LUN`.
    fn lun_url(&self, credentials: Option<&str>, iqn: &str, lun: u32) -> String {
        format!("{}/{iqn}/{lun}", self.portal_url(credentials))
    }

    fn iscsi_ls(&self, args: &[&str]) -> Finished {
        let mut cmd = tool_command(self.tool(Tool::IscsiLs));
        cmd.args(args);
        run_bounded(cmd)
    }

    fn iscsi_inq(&self, args: &[&str]) -> Finished {
        let mut cmd = tool_command(self.tool(Tool::IscsiInq));
        cmd.args(args);
        run_bounded(cmd)
    }

    /// `qemu-img args…`; with `debug`, libiscsi logs the login keys on stderr.
    fn qemu_img(&self, args: &[&str], debug: bool) -> Finished {
        let mut cmd = tool_command(self.tool(Tool::QemuImg));
        cmd.args(args);
        if debug {
            cmd.env("LIBISCSI_DEBUG", "6");
        }
        run_bounded(cmd)
    }

    /// Assert a tool succeeded; its stdout.
    fn expect_ok(&self, what: &str, out: &Finished) -> String {
        assert!(
            out.code == Some(0),
            "{}: {what} should succeed\n{}\n{}",
            self.which.name(),
            out.describe(),
            self.log()
        );
        out.stdout.clone()
    }

    /// Assert a libiscsi tool failed to log in (exit 10) with `message` on stderr.
    fn expect_login_failure(&self, what: &str, out: &Finished, message: &str) {
        assert!(
            out.code == Some(10) && out.stderr.contains(message),
            "{}: {what} should fail to log in (exit 10) with {message:?}\n{}\n{}",
            self.which.name(),
            out.describe(),
            self.log()
        );
    }

    /// `iscsi-ls` (discovery) on the portal must print exactly `targets`, one
    /// `Target:<iqn> Portal:127.0.0.1:<port>,1` line each.
    fn expect_listed(&self, what: &str, out: &Finished, targets: &[&str]) {
        let expected: String = targets
            .iter()
            .map(|iqn| format!("Target:{iqn} Portal:{},1\n", self.portal()))
            .collect();
        assert!(
            out.code == Some(0) && out.stdout == expected,
            "{}: {what}: iscsi-ls should list exactly {targets:?}\n{}\n{}",
            self.which.name(),
            out.describe(),
            self.log()
        );
    }

    /// A file of `len` bytes in the scratch directory (sparse zeros).
    fn backing_file(&self, name: &str, len: u64) -> PathBuf {
        let path = self.scratch.path().join(name);
        File::create(&path)
            .and_then(|f| f.set_len(len))
            .unwrap_or_else(|e| panic!("create {}: {e}", path.display()));
        path
    }

    /// The `I_T nexus information:` block of `target show` for `iqn`: its lines from the
    /// section header up to (not including) `    LUN information:`.
    fn nexus_block(&self, iqn: &str) -> String {
        let show = self.adm_show("--lld iscsi --op show --mode target");
        let Some(start) = show.lines().position(|l| l.ends_with(&format!(": {iqn}"))) else {
            panic!(
                "{}: target show does not list {iqn}:\n{show}",
                self.which.name()
            );
        };
        show.lines()
            .skip(start)
            .skip_while(|l| *l != "    I_T nexus information:")
            .take_while(|l| *l != "    LUN information:")
            .map(|l| format!("{l}\n"))
            .collect()
    }

    /// The session ids listed in `iqn`'s I_T nexus block.
    fn nexus_ids(&self, iqn: &str) -> Vec<u64> {
        self.nexus_block(iqn)
            .lines()
            .filter_map(|l| l.trim_start().strip_prefix("I_T nexus: "))
            .map(|id| id.parse().expect("I_T nexus ids are numbers"))
            .collect()
    }

    /// Poll `cond` until it holds or [`SETTLE_DEADLINE`] passes.
    fn eventually(&self, what: &str, mut cond: impl FnMut() -> bool) {
        let deadline = Instant::now() + SETTLE_DEADLINE;
        while !cond() {
            assert!(
                Instant::now() < deadline,
                "{}: {what} did not happen within {SETTLE_DEADLINE:?}\n{}",
                self.which.name(),
                self.log()
            );
            thread::sleep(POLL);
        }
    }
}

// ------------------------------------------------------------------- a long-lived session

/// A `qemu-io` process holding one logged-in session open: qemu's iSCSI driver (libiscsi
/// underneath) logs in when it opens the image and stays logged in, idle, until stdin closes;
/// it reconnects by itself when the target drops the connection.
struct SessionHolder {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Receiver<Vec<u8>>,
    seen: String,
    /// Output before this offset was already matched.
    cursor: usize,
    stderr: PathBuf,
}

impl SessionHolder {
    const PROMPT: &'static str = "qemu-io> ";

    /// Open `url` with `qemu-io` and wait for its first prompt: the login is complete.
    fn open(setup: &Setup, url: &str) -> Self {
        let stderr = setup.scratch.path().join("qemu-io.stderr");
        let stderr_file =
            File::create(&stderr).unwrap_or_else(|e| panic!("create {}: {e}", stderr.display()));
        let mut child = tool_command(setup.tool(Tool::QemuIo))
            .args(["-f", "raw", url])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr_file)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start qemu-io: {e}"));
        let stdout = drain(child.stdout.take().expect("piped stdout"));
        let stdin = child.stdin.take();
        let mut holder = Self {
            child,
            stdin,
            stdout,
            seen: String::new(),
            cursor: 0,
            stderr,
        };
        holder.wait_for(setup, Self::PROMPT, &format!("qemu-io logging in to {url}"));
        holder
    }

    /// Wait until `needle` appears in output not matched before.
    fn wait_for(&mut self, setup: &Setup, needle: &str, what: &str) {
        let deadline = Instant::now() + SETTLE_DEADLINE;
        loop {
            if let Some(at) = self.seen[self.cursor..].find(needle) {
                self.cursor += at + needle.len();
                return;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stdout.recv_timeout(left) {
                Ok(chunk) => self.seen.push_str(&String::from_utf8_lossy(&chunk)),
                Err(RecvTimeoutError::Timeout) => panic!(
                    "{}: {what}: no {needle:?} from qemu-io within {SETTLE_DEADLINE:?}\n{}\n{}",
                    setup.which.name(),
                    self.output(),
                    setup.log()
                ),
                Err(RecvTimeoutError::Disconnected) => panic!(
                    "{}: {what}: qemu-io exited before printing {needle:?}\n{}\n{}",
                    setup.which.name(),
                    self.output(),
                    setup.log()
                ),
            }
        }
    }

    /// Read the first sector through the session; it must succeed.
    fn read_first_sector(&mut self, setup: &Setup, what: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open until drop");
        stdin
            .write_all(b"read 0 512\n")
            .and_then(|()| stdin.flush())
            .unwrap_or_else(|e| panic!("qemu-io stdin: {e}"));
        self.wait_for(setup, "read 512/512 bytes at offset 0", what);
    }

    /// Kill qemu-io now (by PID) instead of letting it quit on EOF: after its target is gone it
    /// would retry its login until killed.
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Everything qemu-io wrote to stderr so far (qemu reports CHECK CONDITIONs there).
    fn stderr_text(&self) -> String {
        fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    fn output(&self) -> String {
        format!(
            "--- qemu-io stdout\n{}\n--- qemu-io stderr\n{}",
            self.seen,
            self.stderr_text()
        )
    }
}

impl Drop for SessionHolder {
    fn drop(&mut self) {
        // EOF on stdin makes qemu-io quit; kill it by PID if it does not in time.
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(5);
        while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
            thread::sleep(POLL);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// --------------------------------------------------------------------------- file content

/// Write `len` bytes of deterministic pseudo-random data (xorshift64*) to `path`.
fn write_random_image(path: &Path, len: usize, seed: u64) {
    let mut state = seed | 1;
    let mut out = BufWriter::new(
        File::create(path).unwrap_or_else(|e| panic!("create {}: {e}", path.display())),
    );
    let mut chunk = vec![0u8; 1 << 20];
    for _ in 0..len / chunk.len() {
        for word in chunk.chunks_exact_mut(8) {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            word.copy_from_slice(&state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
        }
        out.write_all(&chunk)
            .unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    }
    out.flush()
        .unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

/// `None` if the files are identical, else where they first differ.
fn first_difference(a: &Path, b: &Path) -> Option<String> {
    const BLOCK: usize = 512;
    let read = |p: &Path| fs::read(p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()));
    let (x, y) = (read(a), read(b));
    if x == y {
        return None;
    }
    // Slice comparisons (memcmp) per block: a byte-by-byte loop is slow in test builds.
    let block = x
        .chunks(BLOCK)
        .zip(y.chunks(BLOCK))
        .position(|(p, q)| p != q);
    Some(match block {
        Some(n) => format!("first difference in the 512-byte block {n}"),
        None => format!("lengths differ: {} vs {}", x.len(), y.len()),
    })
}

fn path_str(path: &Path) -> &str {
    let text = path.to_str().expect("scratch paths are UTF-8");
    assert!(
        !text.contains(char::is_whitespace),
        "scratch path {text:?} contains whitespace; set TMPDIR to a path without"
    );
    text
}

// ================================================================================== cases

// ------------------------------------------------------------------------- data round trip

const IMAGE_LEN: usize = 64 << 20;

/// Write `image` onto the LUN at `url` with `qemu-img convert` (plus `write_opts`), read it back
/// into a file, and require `qemu-img compare` to call image and LUN identical, the read-back
/// copy and the LUN's backing file byte-identical to the image. Returns libiscsi's login log
/// (stderr) of each of the three runs.
fn qemu_img_round_trip(
    s: &Setup,
    url: &str,
    image: &Path,
    backing: &Path,
    write_opts: &[&str],
) -> Vec<String> {
    let back = backing.with_extension("read-back");
    let mut logs = Vec::new();

    let mut args = vec!["convert", "-n", "-f", "raw", "-O", "raw"];
    args.extend_from_slice(write_opts);
    args.extend([path_str(image), url]);
    let out = s.qemu_img(&args, true);
    s.expect_ok(&format!("qemu-img convert of the image onto {url}"), &out);
    logs.push(out.stderr);

    let args = ["convert", "-f", "raw", "-O", "raw", url, path_str(&back)];
    let out = s.qemu_img(&args, true);
    s.expect_ok(&format!("qemu-img convert of {url} into a file"), &out);
    logs.push(out.stderr);

    let args = ["compare", "-f", "raw", "-F", "raw", path_str(image), url];
    let out = s.qemu_img(&args, true);
    let stdout = s.expect_ok(&format!("qemu-img compare of the image and {url}"), &out);
    assert_eq!(
        stdout,
        "Images are identical.\n",
        "{}: qemu-img compare of the image and {url}",
        s.which.name()
    );
    logs.push(out.stderr);

    if let Some(diff) = first_difference(image, &back) {
        panic!(
            "{}: {url} read back differs from the image written: {diff}",
            s.which.name()
        );
    }
    if let Some(diff) = first_difference(image, backing) {
        panic!(
            "{}: the backing file of {url} differs from the image written: {diff}",
            s.which.name()
        );
    }
    logs
}

/// The operational keys C tgt 1.0.85 answers libiscsi's normal-session login with, in its order,
/// for a target with default parameters (libiscsi's `TargetLoginReply:` debug lines).
const DEFAULT_LOGIN_REPLY: [&str; 16] = [
    "TargetPortalGroupTag=1",
    "HeaderDigest=None",
    "DataDigest=None",
    "InitialR2T=Yes",
    "ImmediateData=Yes",
    "MaxBurstLength=262144",
    "FirstBurstLength=65536",
    "DefaultTime2Wait=2",
    "DefaultTime2Retain=0",
    "MaxOutstandingR2T=1",
    "ErrorRecoveryLevel=0",
    "IFMarker=No",
    "OFMarker=No",
    "MaxConnections=1",
    "DataPDUInOrder=Yes",
    "DataSequenceInOrder=Yes",
];

/// [`DEFAULT_LOGIN_REPLY`] with the values of `changed` keys replaced and `added` appended.
fn login_reply(changed: &[&str], added: &[&str]) -> Vec<String> {
    let mut keys: Vec<String> = DEFAULT_LOGIN_REPLY
        .iter()
        .map(|default| {
            let name = default.split('=').next().unwrap_or_default();
            changed
                .iter()
                .find(|c| c.split('=').next() == Some(name))
                .unwrap_or(default)
                .to_string()
        })
        .collect();
    keys.extend(added.iter().map(|k| k.to_string()));
    keys
}

/// The `key=value` pairs of libiscsi's `TargetLoginReply: key=value [iqn]` debug lines.
fn login_reply_keys(log: &str) -> Vec<String> {
    log.lines()
        .filter_map(|line| line.split_once("TargetLoginReply: "))
        .map(|(_, rest)| {
            rest.rsplit_once(" [")
                .map_or(rest, |(kv, _)| kv)
                .to_string()
        })
        .collect()
}

/// Every qemu-img run of a round trip logged in with exactly `expected` as the target's keys.
fn assert_login_replies(s: &Setup, logs: &[String], expected: &[String]) {
    for (i, log) in logs.iter().enumerate() {
        assert_eq!(
            login_reply_keys(log),
            expected,
            "{}: qemu-img run {i}: the target's login keys differ from C tgt's\n{}",
            s.which.name(),
            s.log()
        );
    }
}

/// A target with an rdwr LUN 1 of `len` bytes open to all, and a random image of that size.
fn round_trip_setup(s: &Setup, len: usize, seed: u64) -> (PathBuf, PathBuf) {
    let image = s.scratch.path().join("random.img");
    write_random_image(&image, len, seed);
    let backing = s.backing_file("lun1.img", len as u64);
    s.new_target(1, IQN_A);
    s.new_rdwr_lun(1, 1, &backing);
    s.bind_address(1, "ALL");
    (image, backing)
}

fn qemu_img_round_trip_of_64_mib_random_image_is_identical(s: &Setup) {
    let (image, backing) = round_trip_setup(s, IMAGE_LEN, 0x5eed_0001);
    let logs = qemu_img_round_trip(s, &s.lun_url(None, IQN_A, 1), &image, &backing, &[]);
    assert_login_replies(s, &logs, &login_reply(&[], &[]));
}
both!(
    qemu_img_round_trip_of_64_mib_random_image_is_identical,
    [Tool::QemuImg]
);

/// Small segments and bursts, unsolicited data without immediate data: the write path splits
/// every command into R2T-driven and unsolicited Data-Out sequences and every read into many
/// Data-In PDUs; the login declares the target's MaxRecvDataSegmentLength as C does.
fn round_trip_with_small_segments_and_unsolicited_data_is_identical(s: &Setup) {
    let (image, backing) = round_trip_setup(s, 16 << 20, 0x5eed_0003);
    for (name, value) in [
        ("InitialR2T", "No"),
        ("ImmediateData", "No"),
        ("MaxRecvDataSegmentLength", "4096"),
        ("MaxXmitDataSegmentLength", "4096"),
        ("MaxBurstLength", "16384"),
        ("FirstBurstLength", "4096"),
        ("MaxOutstandingR2T", "4"),
    ] {
        s.update_target(1, name, value);
    }
    let logs = qemu_img_round_trip(s, &s.lun_url(None, IQN_A, 1), &image, &backing, &[]);
    let expected = login_reply(
        &[
            "InitialR2T=No",
            "ImmediateData=No",
            "MaxBurstLength=16384",
            "FirstBurstLength=4096",
        ],
        &["MaxRecvDataSegmentLength=4096"],
    );
    assert_login_replies(s, &logs, &expected);
}
both!(
    round_trip_with_small_segments_and_unsolicited_data_is_identical,
    [Tool::QemuImg]
);

/// Large segments and bursts with unsolicited data, written by 16 concurrent qemu requests
/// completing out of order (`-W -m 16`): many commands in flight on one connection, each
/// write carrying up to 256 KiB of immediate data.
fn round_trip_with_large_segments_and_out_of_order_writes_is_identical(s: &Setup) {
    let (image, backing) = round_trip_setup(s, 16 << 20, 0x5eed_0004);
    for (name, value) in [
        ("MaxRecvDataSegmentLength", "262144"),
        ("MaxXmitDataSegmentLength", "262144"),
        ("FirstBurstLength", "262144"),
        ("MaxBurstLength", "1048576"),
        ("InitialR2T", "No"),
    ] {
        s.update_target(1, name, value);
    }
    let url = s.lun_url(None, IQN_A, 1);
    let logs = qemu_img_round_trip(s, &url, &image, &backing, &["-W", "-m", "16"]);
    let expected = login_reply(
        &[
            "InitialR2T=No",
            "MaxBurstLength=262144",
            "FirstBurstLength=262144",
        ],
        &["MaxRecvDataSegmentLength=262144"],
    );
    assert_login_replies(s, &logs, &expected);
}
both!(
    round_trip_with_large_segments_and_out_of_order_writes_is_identical,
    [Tool::QemuImg]
);

/// Four qemu-img sessions at once, each writing and reading back its own LUN of one target:
/// concurrent sessions keep their data apart.
fn concurrent_sessions_round_trip_their_own_luns(s: &Setup) {
    const LUNS: u32 = 4;
    const LEN: usize = 8 << 20;
    s.new_target(1, IQN_A);
    s.bind_address(1, "ALL");
    let mut work = Vec::new();
    for lun in 1..=LUNS {
        let image = s.scratch.path().join(format!("random{lun}.img"));
        write_random_image(&image, LEN, 0x5eed_0100 + u64::from(lun));
        let backing = s.backing_file(&format!("lun{lun}.img"), LEN as u64);
        s.new_rdwr_lun(1, lun, &backing);
        work.push((s.lun_url(None, IQN_A, lun), image, backing));
    }
    thread::scope(|scope| {
        let runs: Vec<_> = work
            .iter()
            .map(|(url, image, backing)| {
                scope.spawn(move || qemu_img_round_trip(s, url, image, backing, &["-W"]))
            })
            .collect();
        for run in runs {
            let logs = run.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
            assert_login_replies(s, &logs, &login_reply(&[], &[]));
        }
    });
}
both!(
    concurrent_sessions_round_trip_their_own_luns,
    [Tool::QemuImg]
);

/// With HeaderDigest and DataDigest set to CRC32C on the target, libiscsi (which offers
/// `HeaderDigest=None,CRC32C` and only `DataDigest=None`) gets CRC32C header digests and no
/// data digest, and a full qemu-img round trip still works; so does a compare with qemu's
/// `header-digest=crc32c` forced.
fn header_digest_crc32c_round_trip_is_identical(s: &Setup) {
    let (image, backing) = round_trip_setup(s, IMAGE_LEN, 0x5eed_0002);
    s.update_target(1, "HeaderDigest", "CRC32C");
    s.update_target(1, "DataDigest", "CRC32C");
    let expected = login_reply(&["HeaderDigest=CRC32C"], &[]);
    let logs = qemu_img_round_trip(s, &s.lun_url(None, IQN_A, 1), &image, &backing, &[]);
    assert_login_replies(s, &logs, &expected);

    let forced = format!(
        "json:{{\"driver\":\"iscsi\",\"transport\":\"tcp\",\"portal\":\"{}\",\
         \"target\":\"{IQN_A}\",\"lun\":1,\"header-digest\":\"crc32c\"}}",
        s.portal()
    );
    let out = s.qemu_img(
        // No `-F raw`: the json: name already names the protocol driver.
        &["compare", "-f", "raw", path_str(&image), &forced],
        true,
    );
    let stdout = s.expect_ok("qemu-img compare with header-digest=crc32c forced", &out);
    assert_eq!(stdout, "Images are identical.\n", "{}", s.which.name());
    assert_login_replies(s, &[out.stderr], &expected);
}
both!(
    header_digest_crc32c_round_trip_is_identical,
    [Tool::QemuImg]
);

// ------------------------------------------------------------------------------------ ACLs

/// `-I ALL`: discovery lists the target with its LUNs, and a login works.
fn acl_all_lists_target_and_admits_login(s: &Setup) {
    s.new_target(1, IQN_A);
    s.new_null_lun(1, 1);
    s.bind_address(1, "ALL");
    let out = s.iscsi_ls(&["-s", &s.portal_url(None)]);
    let expected = format!(
        "Target:{IQN_A} Portal:{},1\n\
         Lun:0    Type:STORAGE_ARRAY_CONTROLLER\n\
         Lun:1    Type:DIRECT_ACCESS (Size:1023G)\n",
        s.portal()
    );
    assert!(
        out.code == Some(0) && out.stdout == expected,
        "{}: iscsi-ls -s should show the target and its two LUNs:\n{expected}\n{}\n{}",
        s.which.name(),
        out.describe(),
        s.log()
    );
    let out = s.iscsi_inq(&[&s.lun_url(None, IQN_A, 1)]);
    let inquiry = s.expect_ok("iscsi-inq on an -I ALL target", &out);
    assert_eq!(
        inquiry,
        NULL_DISK_INQUIRY,
        "{}: iscsi-inq should print the disk's standard INQUIRY data as from C tgt",
        s.which.name()
    );
}
both!(
    acl_all_lists_target_and_admits_login,
    [Tool::IscsiLs, Tool::IscsiInq]
);

/// An address ACL for another network (10.0.0.0/8) hides the target from loopback discovery
/// and refuses the login with "target not found" (class 2 detail 3).
fn acl_other_network_hides_target_and_refuses_login(s: &Setup) {
    s.new_target(1, IQN_A);
    s.new_null_lun(1, 1);
    s.bind_address(1, "10.0.0.0/8");
    let out = s.iscsi_ls(&["-s", &s.portal_url(None)]);
    s.expect_listed("only -I 10.0.0.0/8", &out, &[]);
    let out = s.iscsi_inq(&[&s.lun_url(None, IQN_A, 1)]);
    s.expect_login_failure(
        "iscsi-inq from 127.0.0.1 with only -I 10.0.0.0/8",
        &out,
        STATUS_NOT_FOUND,
    );
}
both!(
    acl_other_network_hides_target_and_refuses_login,
    [Tool::IscsiLs, Tool::IscsiInq]
);

/// An initiator-name ACL (`-Q`) admits exactly that name: iscsi-ls lists the target under its
/// default name but not under another (`-i`), iscsi-inq is refused under its own default name
/// and admitted under iscsi-ls's.
fn acl_initiator_name_admits_only_that_name(s: &Setup) {
    s.new_target(1, IQN_A);
    s.new_null_lun(1, 1);
    s.bind_name(1, ISCSI_LS_NAME);
    let out = s.iscsi_ls(&[&s.portal_url(None)]);
    s.expect_listed("-Q <iscsi-ls's name>, default name", &out, &[IQN_A]);
    let out = s.iscsi_ls(&[
        "-i",
        "iqn.2024-01.org.example:someone-else",
        &s.portal_url(None),
    ]);
    s.expect_listed("-Q <iscsi-ls's name>, -i another name", &out, &[]);
    let url = s.lun_url(None, IQN_A, 1);
    let out = s.iscsi_inq(&[&url]);
    s.expect_login_failure("iscsi-inq under its own name", &out, STATUS_NOT_FOUND);
    let out = s.iscsi_inq(&["-i", ISCSI_LS_NAME, &url]);
    s.expect_ok("iscsi-inq -i <the admitted name>", &out);
}
both!(
    acl_initiator_name_admits_only_that_name,
    [Tool::IscsiLs, Tool::IscsiInq]
);

/// Two targets, one open to all and one to another network: discovery shows only the first,
/// with `-s` only its LUNs, and only the first admits a login.
fn acl_two_targets_only_the_permitted_one_is_visible(s: &Setup) {
    s.new_target(1, IQN_A);
    s.new_null_lun(1, 1);
    s.bind_address(1, "10.0.0.0/8");
    s.new_target(2, IQN_B);
    s.new_null_lun(2, 1);
    s.bind_address(2, "ALL");
    let out = s.iscsi_ls(&[&s.portal_url(None)]);
    s.expect_listed("alpha -I 10.0.0.0/8, beta -I ALL", &out, &[IQN_B]);
    let out = s.iscsi_ls(&["-s", &s.portal_url(None)]);
    let expected = format!(
        "Target:{IQN_B} Portal:{},1\n\
         Lun:0    Type:STORAGE_ARRAY_CONTROLLER\n\
         Lun:1    Type:DIRECT_ACCESS (Size:1023G)\n",
        s.portal()
    );
    assert!(
        out.code == Some(0) && out.stdout == expected,
        "{}: iscsi-ls -s should show only beta:\n{expected}\n{}\n{}",
        s.which.name(),
        out.describe(),
        s.log()
    );
    let out = s.iscsi_inq(&[&s.lun_url(None, IQN_A, 1)]);
    s.expect_login_failure("iscsi-inq to the hidden target", &out, STATUS_NOT_FOUND);
    let out = s.iscsi_inq(&[&s.lun_url(None, IQN_B, 1)]);
    s.expect_ok("iscsi-inq to the visible target", &out);
}
both!(
    acl_two_targets_only_the_permitted_one_is_visible,
    [Tool::IscsiLs, Tool::IscsiInq]
);

/// SendTargets lists the visible targets newest first (C tgt keeps targets in a list it
/// pushes to the front of), whatever their tids, and skips the hidden one.
fn discovery_lists_visible_targets_newest_first(s: &Setup) {
    let iqn = |tid: u32| format!("iqn.2024-01.org.example.e2e:t{tid}");
    for tid in [5, 3, 7, 1] {
        s.new_target(tid, &iqn(tid));
        s.bind_address(tid, if tid == 7 { "10.0.0.0/8" } else { "ALL" });
    }
    let out = s.iscsi_ls(&[&s.portal_url(None)]);
    let (t1, t3, t5) = (iqn(1), iqn(3), iqn(5));
    s.expect_listed(
        "targets 5, 3, 7 (hidden), 1 created in that order",
        &out,
        &[&t1, &t3, &t5],
    );
}
both!(
    discovery_lists_visible_targets_newest_first,
    [Tool::IscsiLs]
);

// ------------------------------------------------------------------------------------ CHAP

/// An incoming account bound to the target: the login needs CHAP with that user's secret.
fn chap_incoming_account_requires_the_right_secret(s: &Setup) {
    s.new_target(1, IQN_A);
    s.new_null_lun(1, 1);
    s.bind_address(1, "ALL");
    s.new_account("alice", "alicesecret1");
    s.new_account("mallory", "mallorysecret");
    s.bind_account(Some(1), "alice", false);

    let out = s.iscsi_inq(&[&s.lun_url(Some("alice%alicesecret1"), IQN_A, 1)]);
    s.expect_ok("CHAP with the right secret", &out);
    let out = s.iscsi_inq(&[&s.lun_url(Some("alice%wrongsecret1"), IQN_A, 1)]);
    s.expect_login_failure("CHAP with a wrong secret", &out, STATUS_AUTH_FAILURE);
    let out = s.iscsi_inq(&[&s.lun_url(None, IQN_A, 1)]);
    s.expect_login_failure("no credentials", &out, STATUS_AUTH_FAILURE);
    // An existing account with its own right secret, but not bound to this target.
    let out = s.iscsi_inq(&[&s.lun_url(Some("mallory%mallorysecret"), IQN_A, 1)]);
    s.expect_login_failure(
        "CHAP as an account not bound to the target",
        &out,
        STATUS_AUTH_FAILURE,
    );
}
both!(
    chap_incoming_account_requires_the_right_secret,
    [Tool::IscsiInq]
);

/// Mutual CHAP: with an outgoing account bound, the target proves itself; the initiator
/// (libiscsi's `?target_user=&target_password=` URL arguments) accepts only the right secret.
/// Without an outgoing account the target refuses mutual CHAP.
fn mutual_chap_checks_the_targets_secret(s: &Setup) {
    s.new_target(1, IQN_A);
    s.new_null_lun(1, 1);
    s.bind_address(1, "ALL");
    s.new_account("alice", "alicesecret1");
    s.new_account("tgtuser", "targetsecret1");
    s.bind_account(Some(1), "alice", false);

    let mutual = |target_password: &str| {
        format!(
            "{}?target_user=tgtuser&target_password={target_password}",
            s.lun_url(Some("alice%alicesecret1"), IQN_A, 1)
        )
    };
    let out = s.iscsi_inq(&[&mutual("targetsecret1")]);
    s.expect_login_failure(
        "mutual CHAP with no outgoing account bound",
        &out,
        STATUS_AUTH_FAILURE,
    );

    s.bind_account(Some(1), "tgtuser", true);
    let out = s.iscsi_inq(&[&mutual("targetsecret1")]);
    s.expect_ok("mutual CHAP with the right target secret", &out);
    let out = s.iscsi_inq(&[&mutual("wrongsecret12")]);
    s.expect_login_failure(
        "mutual CHAP with a wrong target secret",
        &out,
        BAD_TARGET_CHAP_R,
    );
}
both!(mutual_chap_checks_the_targets_secret, [Tool::IscsiInq]);

/// An account bound without `--tid` guards discovery: iscsi-ls needs its secret, while the
/// target's own login (no target account) stays open.
fn discovery_chap_global_account_restricts_sendtargets(s: &Setup) {
    s.new_target(1, IQN_A);
    s.new_null_lun(1, 1);
    s.bind_address(1, "ALL");
    s.new_account("seeker", "seekersecret1");
    s.bind_account(None, "seeker", false);

    let out = s.iscsi_ls(&[&s.portal_url(None)]);
    s.expect_login_failure("discovery without credentials", &out, STATUS_AUTH_FAILURE);
    let out = s.iscsi_ls(&[&s.portal_url(Some("seeker%wrongsecret1"))]);
    s.expect_login_failure("discovery with a wrong secret", &out, STATUS_AUTH_FAILURE);
    let out = s.iscsi_ls(&[&s.portal_url(Some("seeker%seekersecret1"))]);
    s.expect_listed("discovery with the right secret", &out, &[IQN_A]);
    let out = s.iscsi_inq(&[&s.lun_url(None, IQN_A, 1)]);
    s.expect_ok("normal login to a target without accounts", &out);
}
both!(
    discovery_chap_global_account_restricts_sendtargets,
    [Tool::IscsiLs, Tool::IscsiInq]
);

// ------------------------------------------------------------------------- offline states

/// `target update --name state --value offline` refuses logins with class 3 detail 0
/// ("target error"); back to `ready` they work again.
fn target_offline_refuses_login_until_ready(s: &Setup) {
    s.new_target(1, IQN_A);
    s.new_null_lun(1, 1);
    s.bind_address(1, "ALL");
    let url = s.lun_url(None, IQN_A, 1);
    s.update_target(1, "state", "offline");
    let out = s.iscsi_inq(&[&url]);
    s.expect_login_failure("login to an offline target", &out, STATUS_TARGET_ERROR);
    s.update_target(1, "state", "ready");
    let out = s.iscsi_inq(&[&url]);
    s.expect_ok("login after the target is ready again", &out);
}
both!(target_offline_refuses_login_until_ready, [Tool::IscsiInq]);

/// `sys update --name State --value offline`: tgtd closes every new connection right after
/// accepting it, so neither discovery nor login gets any login response; back to `ready`
/// both work again.
fn system_offline_closes_connections_until_ready(s: &Setup) {
    s.new_target(1, IQN_A);
    s.new_null_lun(1, 1);
    s.bind_address(1, "ALL");
    let url = s.lun_url(None, IQN_A, 1);
    s.adm_ok("--op update --mode sys --name State --value offline");
    let show = s.adm_show("--op show --mode sys");
    assert!(
        show.starts_with("System:\n    State: offline\n"),
        "{}: sys show after State offline:\n{show}",
        s.which.name()
    );
    for (what, out) in [
        ("login while the system is offline", s.iscsi_inq(&[&url])),
        (
            "discovery while the system is offline",
            s.iscsi_ls(&[&s.portal_url(None)]),
        ),
    ] {
        assert!(
            out.code == Some(10) && !out.stderr.contains("Status:") && out.stdout.is_empty(),
            "{}: {what}: the connection should be closed without a login response \
             (exit 10, no \"Status:\")\n{}\n{}",
            s.which.name(),
            out.describe(),
            s.log()
        );
    }
    s.adm_ok("--op update --mode sys --name State --value ready");
    let out = s.iscsi_inq(&[&url]);
    s.expect_ok("login after the system is ready again", &out);
    let out = s.iscsi_ls(&[&s.portal_url(None)]);
    s.expect_listed("discovery after the system is ready again", &out, &[IQN_A]);
}
both!(
    system_offline_closes_connections_until_ready,
    [Tool::IscsiLs, Tool::IscsiInq]
);

// -------------------------------------------------------------------------- live sessions

/// The `I_T nexus information:` block C tgt prints for one qemu session.
fn one_qemu_nexus(sid: u64) -> String {
    format!(
        "    I_T nexus information:\n\
         \x20       I_T nexus: {sid}\n\
         \x20           Initiator: {QEMU_NAME} alias: none\n\
         \x20           Connection: 0\n\
         \x20               IP Address: 127.0.0.1\n"
    )
}

/// While qemu holds a session: `target show` and `conn show` list it with qemu's initiator
/// name; `target delete` without `--force` is refused as still active (exit 22); `conn delete`
/// closes the connection (the nexus goes; qemu reconnects with a new session and keeps
/// reading); `target delete --force` removes the target with the session still open.
fn live_session_is_shown_blocks_delete_and_can_be_closed(s: &Setup) {
    let backing = s.backing_file("lun1.img", 1 << 20);
    s.new_target(1, IQN_A);
    s.new_rdwr_lun(1, 1, &backing);
    s.bind_address(1, "ALL");
    let mut holder = SessionHolder::open(s, &s.lun_url(None, IQN_A, 1));

    // The first session of a fresh daemon is I_T nexus (TSIH) 1, as in C tgt.
    let sid = 1;
    assert_eq!(
        s.nexus_block(IQN_A),
        one_qemu_nexus(sid),
        "{}: target show with qemu's session open",
        s.which.name()
    );
    let conn = s.adm_show("--lld iscsi --op show --mode conn --tid 1");
    assert_eq!(
        conn,
        format!(
            "Session: {sid}\n    Connection: 0\n        Initiator: {QEMU_NAME}\n\
             \x20       IP Address: 127.0.0.1\n"
        ),
        "{}: conn show --tid 1",
        s.which.name()
    );

    let out = s.adm("--lld iscsi --op delete --mode target --tid 1");
    assert_eq!(
        (out.code, out.stdout_text(), out.stderr_text()),
        (
            Some(22),
            String::new(),
            "tgtadm: this target is still active\n".to_string()
        ),
        "{}: target delete without --force while a session is open",
        s.which.name()
    );

    s.adm_ok(&format!(
        "--lld iscsi --op delete --mode conn --tid 1 --sid {sid} --cid 0"
    ));
    s.eventually(&format!("I_T nexus {sid} gone after conn delete"), || {
        !s.nexus_ids(IQN_A).contains(&sid)
    });
    holder.read_first_sector(s, "read through qemu's reconnected session");
    // The new nexus reports its power-on/reset unit attention (29/00) once; qemu retries.
    let stderr = holder.stderr_text();
    assert_eq!(
        stderr,
        "qemu-io: iSCSI CheckCondition: SENSE KEY:UNIT_ATTENTION(6) ASCQ:BUS_RESET(0x2900)\n",
        "{}: qemu-io's report of the reconnected session's first command",
        s.which.name()
    );
    let ids = s.nexus_ids(IQN_A);
    assert!(
        ids.len() == 1 && ids[0] != sid,
        "{}: after qemu reconnected, one new nexus expected:\n{}",
        s.which.name(),
        s.nexus_block(IQN_A)
    );
    assert_eq!(
        s.nexus_block(IQN_A),
        one_qemu_nexus(ids[0]),
        "{}: reconnected",
        s.which.name()
    );

    s.adm_ok("--lld iscsi --op delete --mode target --tid 1 --force");
    holder.kill();
    let show = s.adm_show("--lld iscsi --op show --mode target");
    assert_eq!(
        show,
        "",
        "{}: target show after delete --force",
        s.which.name()
    );
}
both!(
    live_session_is_shown_blocks_delete_and_can_be_closed,
    [Tool::QemuIo]
);

/// A LU created while a session is open is reported (REPORT LUNS) to a new session; the open
/// session gets the REPORTED LUNS DATA HAS CHANGED unit attention and keeps working.
fn lu_added_during_a_session_is_reported(s: &Setup) {
    let backing = s.backing_file("lun1.img", 1 << 20);
    s.new_target(1, IQN_A);
    s.new_rdwr_lun(1, 1, &backing);
    s.bind_address(1, "ALL");
    let mut holder = SessionHolder::open(s, &s.lun_url(None, IQN_A, 1));
    let listing = |luns: &str| format!("Target:{IQN_A} Portal:{},1\n{luns}", s.portal());
    let before = listing(
        "Lun:0    Type:STORAGE_ARRAY_CONTROLLER\n\
         Lun:1    Type:DIRECT_ACCESS (Size:1023k)\n",
    );
    let out = s.iscsi_ls(&["-s", &s.portal_url(None)]);
    assert!(
        out.code == Some(0) && out.stdout == before,
        "{}: before the hot add:\n{before}\n{}",
        s.which.name(),
        out.describe()
    );

    s.new_null_lun(1, 2);
    let after = listing(
        "Lun:0    Type:STORAGE_ARRAY_CONTROLLER\n\
         Lun:1    Type:DIRECT_ACCESS (Size:1023k)\n\
         Lun:2    Type:DIRECT_ACCESS (Size:1023G)\n",
    );
    let out = s.iscsi_ls(&["-s", &s.portal_url(None)]);
    assert!(
        out.code == Some(0) && out.stdout == after,
        "{}: after the hot add, a new session should report LUN 2:\n{after}\n{}\n{}",
        s.which.name(),
        out.describe(),
        s.log()
    );
    holder.read_first_sector(s, "read through the session open during the hot add");
    // The open nexus is told once: REPORTED LUNS DATA HAS CHANGED (3f/0e); qemu retries.
    let stderr = holder.stderr_text();
    assert_eq!(
        stderr,
        "qemu-io: iSCSI CheckCondition: SENSE KEY:UNIT_ATTENTION(6) ASCQ:(null)(0x3f0e)\n",
        "{}: qemu-io's report of its first command after the hot add",
        s.which.name()
    );
}
both!(
    lu_added_during_a_session_is_reported,
    [Tool::IscsiLs, Tool::QemuIo]
);
