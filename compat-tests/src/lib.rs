//! Shared helpers for the compatibility tests: locating binaries, starting daemons side by side.
//!
//! Owns three things the differential and bad-input tests need:
//!
//! - [`Impl`] and [`Impl::tgtd`]/[`Impl::tgtadm`]: where the C oracle (Debian's `tgt` 1.0.85) and our
//!   binaries are. Ours: `$TGTD_RS`/`$TGTADM_RS`, else `<target dir>/{debug,release}/`; C:
//!   `$TGTD_C`/`$TGTADM_C`, else `/usr/sbin/`. A missing binary makes the test print why it skips.
//! - [`Daemon`]: one `tgtd -f` with its own socket directory, control port and loopback portal port,
//!   ready only once its management socket accepts connections (polled against a deadline), killed by
//!   PID and reaped in `Drop`.
//! - [`wire`]: a raw management-socket client for hostile requests. It encodes `tgtadm_req` from
//!   the offsets in `shared/reference/mgmt-protocol.md` §4, never from `tgt::mgmt::wire`, so a
//!   wrong constant in the code under test cannot make its own test pass (STYLE.md §8).
//!
//! It must not know how the daemon works inside: everything goes through processes and sockets.

use std::fs::{self, File};
use std::io::{self, ErrorKind};
use std::net::{Ipv4Addr, TcpListener};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// How long a daemon may take to accept management connections after being spawned.
pub const READY_DEADLINE: Duration = Duration::from_secs(10);
/// Read/write timeout on raw management connections: a daemon that does not answer fails the
/// test instead of hanging it.
pub const IO_TIMEOUT: Duration = Duration::from_secs(5);

/// Which implementation a binary belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Impl {
    /// Debian's C tgt 1.0.85, the oracle.
    C,
    /// Ours, built in this workspace.
    Rust,
}

impl Impl {
    /// Human-readable name for messages.
    pub fn name(self) -> &'static str {
        match self {
            Impl::C => "C tgt",
            Impl::Rust => "our tgt",
        }
    }

    /// The `tgtd` binary, if it exists.
    pub fn tgtd(self) -> Result<PathBuf, Missing> {
        self.binary("tgtd")
    }

    /// The `tgtadm` binary, if it exists.
    pub fn tgtadm(self) -> Result<PathBuf, Missing> {
        self.binary("tgtadm")
    }

    fn binary(self, name: &str) -> Result<PathBuf, Missing> {
        let (var, candidates) = match self {
            Impl::C => (
                format!("{}_C", name.to_uppercase()),
                vec![PathBuf::from("/usr/sbin").join(name)],
            ),
            Impl::Rust => (
                format!("{}_RS", name.to_uppercase()),
                ["debug", "release"]
                    .iter()
                    .map(|profile| target_dir().join(profile).join(name))
                    .collect(),
            ),
        };
        let candidates = match std::env::var_os(&var) {
            Some(path) if !path.is_empty() => vec![PathBuf::from(path)],
            _ => candidates,
        };
        candidates
            .iter()
            .find(|path| is_executable(path))
            .cloned()
            .ok_or(Missing {
                what: format!("{} {name}", self.name()),
                looked_at: candidates,
                env_var: var,
            })
    }
}

/// A binary that is not there; `Display` says where it was looked for.
#[derive(Debug)]
pub struct Missing {
    what: String,
    looked_at: Vec<PathBuf>,
    env_var: String,
}

impl std::fmt::Display for Missing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let paths: Vec<String> = self
            .looked_at
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        write!(
            f,
            "{} not found (looked at {}; set {})",
            self.what,
            paths.join(", "),
            self.env_var
        )
    }
}

/// Print why a test skips, in one recognisable form.
pub fn skip(test: &str, reason: &dyn std::fmt::Display) {
    eprintln!("skipping {test}: {reason}");
}

/// Runs one of the suite's bash scripts (path relative to the workspace root) with `envs`
/// (binary paths) and `vars` set, echoes its stdout and stderr (the harness shows them on
/// failure or with `--nocapture`), and returns its exit status and output.
pub fn run_script(
    script: &str,
    envs: &[(&str, PathBuf)],
    vars: &[(&str, &str)],
) -> (std::process::ExitStatus, String, String) {
    let path = workspace_root().join(script);
    let output = Command::new("bash")
        .arg(&path)
        .envs(envs.iter().map(|(var, p)| (*var, p.as_os_str())))
        .envs(vars.iter().copied())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", path.display()));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    println!("{stdout}");
    eprintln!("{stderr}");
    (output.status, stdout, stderr)
}

/// The workspace root (the parent of this package).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("compat-tests lives inside the workspace")
        .to_path_buf()
}

/// Cargo's target directory: `$CARGO_TARGET_DIR` or `<workspace>/target`.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() {
                dir
            } else {
                workspace_root().join(dir)
            }
        }
        _ => workspace_root().join("target"),
    }
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// What a `tgtadm` run printed and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TgtadmOutput {
    /// Everything written to stdout.
    pub stdout: Vec<u8>,
    /// Everything written to stderr.
    pub stderr: Vec<u8>,
    /// Exit status, or `None` if it was killed by a signal.
    pub code: Option<i32>,
}

impl TgtadmOutput {
    /// stdout as text (lossy).
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// stderr as text (lossy).
    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
}

/// Run a tgtadm binary with `args` and extra environment `env`; capture everything.
pub fn run_tgtadm(tgtadm: &Path, args: &[&str], env: &[(&str, &Path)]) -> io::Result<TgtadmOutput> {
    let mut cmd = Command::new(tgtadm);
    cmd.args(args).stdin(Stdio::null());
    for (key, value) in env {
        cmd.env(key, value);
    }
    let out = cmd.output()?;
    Ok(TgtadmOutput {
        stdout: out.stdout,
        stderr: out.stderr,
        code: out.status.code(),
    })
}

/// A private scratch directory, removed when dropped.
#[derive(Debug)]
pub struct ScratchDir {
    path: PathBuf,
}

impl ScratchDir {
    /// Create `<tmp>/compat-tests.<pid>.<n>` (short: socket paths must fit in 107 bytes).
    pub fn new() -> io::Result<Self> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        loop {
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let path =
                std::env::temp_dir().join(format!("compat-tests.{}.{n}", std::process::id()));
            match fs::create_dir(&path) {
                Ok(()) => return Ok(Self { path }),
                Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

/// Ports for one daemon: the control port (`-C`) and the iSCSI portal port.
///
/// Each daemon of this process gets the next pair from a per-process sequence, starting at an
/// offset derived from the PID so that concurrent test processes rarely meet; a portal port that
/// is already bound on loopback is skipped. Portal ports stay below Linux's ephemeral range
/// (32768+) so that no outgoing connection can take them meanwhile.
fn next_ports() -> (u16, u16) {
    const PORTAL_BASE: u32 = 22_000;
    const PORTAL_SPAN: u32 = 10_000;
    const CONTROL_SPAN: u32 = 32_000;
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let pid = std::process::id();
    loop {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let portal = PORTAL_BASE + (pid.wrapping_mul(97).wrapping_add(n)) % PORTAL_SPAN;
        let control = 1 + (pid.wrapping_add(n)) % CONTROL_SPAN;
        let portal = u16::try_from(portal).expect("below 32000 by construction");
        let control = u16::try_from(control).expect("below 32768 by construction");
        if TcpListener::bind((Ipv4Addr::LOCALHOST, portal)).is_ok() {
            return (control, portal);
        }
    }
}

/// A running `tgtd -f` with its own socket directory, control port and loopback portal port.
///
/// Dropping it kills the process (SIGKILL, by PID) and reaps it, then removes the directory.
#[derive(Debug)]
pub struct Daemon {
    child: Child,
    control_port: u16,
    portal_port: u16,
    log: PathBuf,
    // Declared last: the directory goes only after the process is dead.
    dir: ScratchDir,
}

impl Daemon {
    /// Start `tgtd` as `TGT_IPC_SOCKET=<dir>/socket tgtd -f -C <port> --iscsi portal=127.0.0.1:<port>`
    /// and wait until its management socket accepts connections.
    pub fn start(tgtd: &Path) -> io::Result<Self> {
        let dir = ScratchDir::new()?;
        let (control_port, portal_port) = next_ports();
        let log = dir.path().join("tgtd.log");
        let log_file = File::create(&log)?;
        let child = Command::new(tgtd)
            .env("TGT_IPC_SOCKET", dir.path().join("socket"))
            .arg("-f")
            .arg("-C")
            .arg(control_port.to_string())
            .arg("--iscsi")
            .arg(format!("portal=127.0.0.1:{portal_port}"))
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file)
            .spawn()?;
        let mut daemon = Self {
            child,
            control_port,
            portal_port,
            log,
            dir,
        };
        daemon.wait_ready(tgtd)?;
        Ok(daemon)
    }

    /// Start the `tgtd` of `which`, or say why not (binary missing or failed to start).
    pub fn start_impl(which: Impl) -> Result<Self, String> {
        let tgtd = which.tgtd().map_err(|e| e.to_string())?;
        Self::start(&tgtd).map_err(|e| format!("{}: {e}", tgtd.display()))
    }

    fn wait_ready(&mut self, tgtd: &Path) -> io::Result<()> {
        let deadline = Instant::now() + READY_DEADLINE;
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Err(io::Error::other(format!(
                    "{} exited during startup ({status}): {}",
                    tgtd.display(),
                    self.log_text()
                )));
            }
            if UnixStream::connect(self.socket_path()).is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(io::Error::new(
                    ErrorKind::TimedOut,
                    format!(
                        "{} did not accept management connections within {READY_DEADLINE:?}: {}",
                        tgtd.display(),
                        self.log_text()
                    ),
                ));
            }
            // Poll interval; readiness itself is the successful connect above.
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// The value given to `TGT_IPC_SOCKET` (`<dir>/socket`).
    pub fn ipc_prefix(&self) -> PathBuf {
        self.dir.path().join("socket")
    }

    /// The management socket: `<dir>/socket.<control port>`.
    pub fn socket_path(&self) -> PathBuf {
        self.dir
            .path()
            .join(format!("socket.{}", self.control_port))
    }

    /// The `-C` control port.
    pub fn control_port(&self) -> u16 {
        self.control_port
    }

    /// The loopback iSCSI portal port.
    pub fn portal_port(&self) -> u16 {
        self.portal_port
    }

    /// The daemon's PID.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Is the process still running (not exited, not crashed)?
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Everything the daemon logged so far (stdout and stderr).
    pub fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Run `tgtadm` against this daemon: `TGT_IPC_SOCKET` set, `-C <port>` prepended.
    pub fn tgtadm(&self, tgtadm: &Path, args: &[&str]) -> io::Result<TgtadmOutput> {
        let port = self.control_port.to_string();
        let mut all = vec!["-C", port.as_str()];
        all.extend_from_slice(args);
        let prefix = self.ipc_prefix();
        run_tgtadm(tgtadm, &all, &[("TGT_IPC_SOCKET", prefix.as_path())])
    }

    /// A new raw connection to the management socket, with [`IO_TIMEOUT`] on reads and writes.
    pub fn connect(&self) -> io::Result<UnixStream> {
        let stream = UnixStream::connect(self.socket_path())?;
        stream.set_read_timeout(Some(IO_TIMEOUT))?;
        stream.set_write_timeout(Some(IO_TIMEOUT))?;
        Ok(stream)
    }

    /// Send one raw request on a new connection and read until the daemon closes it.
    pub fn exchange(&self, bytes: &[u8]) -> io::Result<wire::Reply> {
        let mut stream = self.connect()?;
        wire::send(&mut stream, bytes)?;
        wire::read_reply(&mut stream)
    }

    /// `sys show` over a raw connection: the daemon is alive and serving. Returns the text.
    pub fn sys_show(&self) -> Result<String, String> {
        let request = wire::Request::new(wire::MODE_SYSTEM, wire::OP_SHOW).encode();
        match self.exchange(&request) {
            Ok(wire::Reply::Response(rsp)) if rsp.err == 0 && rsp.text().starts_with("System:") => {
                Ok(rsp.text())
            }
            Ok(other) => Err(format!("sys show answered {other:?}")),
            Err(e) => Err(format!("sys show failed: {e}")),
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        // SIGKILL by PID (the Child handle), then reap; the scratch directory goes after.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A raw management-socket client, independent of the code under test.
///
/// Layout of `struct tgtadm_req` (120 bytes, host byte order) and `struct tgtadm_rsp` (8 bytes)
/// as documented in `shared/reference/mgmt-protocol.md` §4–§6.
pub mod wire {
    use std::io::{self, ErrorKind, Read, Write};
    use std::os::unix::net::UnixStream;

    /// `sizeof(struct tgtadm_req)`. mgmt-protocol.md §4
    pub const REQ_LEN: usize = 120;
    /// `sizeof(struct tgtadm_rsp)`. mgmt-protocol.md §5
    pub const RSP_LEN: usize = 8;
    /// Largest body tgtd accepts (`MAX_MGT_BUFSIZE`). mgmt-protocol.md §3
    pub const MAX_BODY: usize = 8192;

    /// `MODE_SYSTEM`. mgmt-protocol.md §6.1
    pub const MODE_SYSTEM: u32 = 0;
    /// `MODE_TARGET`
    pub const MODE_TARGET: u32 = 1;
    /// `MODE_DEVICE` (`logicalunit`)
    pub const MODE_DEVICE: u32 = 2;
    /// `MODE_PORTAL`
    pub const MODE_PORTAL: u32 = 3;
    /// `MODE_ACCOUNT`
    pub const MODE_ACCOUNT: u32 = 7;

    /// `OP_NEW`. mgmt-protocol.md §6.2
    pub const OP_NEW: u32 = 0;
    /// `OP_DELETE`
    pub const OP_DELETE: u32 = 1;
    /// `OP_SHOW`
    pub const OP_SHOW: u32 = 2;
    /// `OP_BIND`
    pub const OP_BIND: u32 = 3;
    /// `OP_UNBIND`
    pub const OP_UNBIND: u32 = 4;
    /// `OP_UPDATE`
    pub const OP_UPDATE: u32 = 5;

    /// `TGTADM_NO_DRIVER`. mgmt-protocol.md §6.3
    pub const ERR_NO_DRIVER: u32 = 3;
    /// `TGTADM_INVALID_REQUEST`
    pub const ERR_INVALID_REQUEST: u32 = 17;
    /// `TGTADM_UNSUPPORTED_OPERATION`
    pub const ERR_UNSUPPORTED_OPERATION: u32 = 22;

    /// One `tgtadm_req` plus body. Defaults are what tgtadm sends when an option is absent
    /// (mgmt-protocol.md §4): tid -1, lun all-ones, everything else 0, empty `lld`.
    #[derive(Debug, Clone)]
    pub struct Request {
        /// `mode`, offset 0
        pub mode: u32,
        /// `op`, offset 4
        pub op: u32,
        /// `lld`, offset 8, 64 bytes, NUL padded
        pub lld: Vec<u8>,
        /// `len`, offset 72; `None` = 120 + body length, as tgtadm computes it
        pub len: Option<u32>,
        /// `tid`, offset 76
        pub tid: i32,
        /// `sid`, offset 80
        pub sid: u64,
        /// `lun`, offset 88
        pub lun: u64,
        /// `cid`, offset 96
        pub cid: u32,
        /// `host_no`, offset 100
        pub host_no: u32,
        /// `device_type`, offset 104
        pub device_type: u32,
        /// `ac_dir`, offset 108
        pub ac_dir: u32,
        /// `force`, offset 116
        pub force: u32,
        /// Body bytes, sent as given (include the NUL terminator yourself).
        pub body: Vec<u8>,
    }

    impl Request {
        /// A request with tgtadm's defaults and no body.
        pub fn new(mode: u32, op: u32) -> Self {
            Self {
                mode,
                op,
                lld: Vec::new(),
                len: None,
                tid: -1,
                sid: 0,
                lun: u64::MAX,
                cid: 0,
                host_no: 0,
                device_type: 0,
                ac_dir: 0,
                force: 0,
                body: Vec::new(),
            }
        }

        /// Set the body to `text` plus a NUL terminator, as tgtadm sends it.
        pub fn with_text(mut self, text: &str) -> Self {
            self.body = text.as_bytes().to_vec();
            self.body.push(0);
            self
        }

        /// Set the body to exactly `bytes`.
        pub fn with_body(mut self, bytes: &[u8]) -> Self {
            self.body = bytes.to_vec();
            self
        }

        /// Set `tid`.
        pub fn with_tid(mut self, tid: i32) -> Self {
            self.tid = tid;
            self
        }

        /// Override the `len` field (a lie about the body length).
        pub fn with_len(mut self, len: u32) -> Self {
            self.len = Some(len);
            self
        }

        /// The 120-byte header alone.
        pub fn header(&self) -> [u8; REQ_LEN] {
            let mut h = [0u8; REQ_LEN];
            let body_len = u32::try_from(self.body.len()).expect("test bodies are small");
            let len = self.len.unwrap_or(120 + body_len);
            h[0..4].copy_from_slice(&self.mode.to_ne_bytes());
            h[4..8].copy_from_slice(&self.op.to_ne_bytes());
            let lld_len = self.lld.len().min(64);
            h[8..8 + lld_len].copy_from_slice(&self.lld[..lld_len]);
            h[72..76].copy_from_slice(&len.to_ne_bytes());
            h[76..80].copy_from_slice(&self.tid.to_ne_bytes());
            h[80..88].copy_from_slice(&self.sid.to_ne_bytes());
            h[88..96].copy_from_slice(&self.lun.to_ne_bytes());
            h[96..100].copy_from_slice(&self.cid.to_ne_bytes());
            h[100..104].copy_from_slice(&self.host_no.to_ne_bytes());
            h[104..108].copy_from_slice(&self.device_type.to_ne_bytes());
            h[108..112].copy_from_slice(&self.ac_dir.to_ne_bytes());
            // 112..116 `pack`: always 0.
            h[116..120].copy_from_slice(&self.force.to_ne_bytes());
            h
        }

        /// Header followed by the body.
        pub fn encode(&self) -> Vec<u8> {
            let mut bytes = self.header().to_vec();
            bytes.extend_from_slice(&self.body);
            bytes
        }
    }

    /// A decoded `tgtadm_rsp` and its body.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Response {
        /// `err`, offset 0
        pub err: u32,
        /// `len`, offset 4 (8 + body length)
        pub len: u32,
        /// The bytes after the header (text plus its NUL when successful).
        pub body: Vec<u8>,
    }

    impl Response {
        /// The body up to its first NUL, as tgtadm prints it.
        pub fn text(&self) -> String {
            let end = self
                .body
                .iter()
                .position(|&b| b == 0)
                .unwrap_or(self.body.len());
            String::from_utf8_lossy(&self.body[..end]).into_owned()
        }
    }

    /// What the daemon did with a request.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum Reply {
        /// It answered; the response is complete (`len` bytes arrived).
        Response(Response),
        /// It closed the connection without a full response header.
        ClosedWithout {
            /// Bytes that arrived before the close (normally none).
            partial: Vec<u8>,
        },
        /// A response header arrived, but the bytes received before the close do not add up to
        /// its `len` (too few or too many).
        LengthMismatch {
            /// The header.
            err: u32,
            /// Its `len`.
            len: u32,
            /// The bytes that followed the header.
            body: Vec<u8>,
        },
    }

    /// Write all `bytes`; a daemon that hung up early is not an error here (`EPIPE` is what a
    /// client sees when tgtd drops an oversized request), the reply tells what happened.
    pub fn send(stream: &mut UnixStream, bytes: &[u8]) -> io::Result<()> {
        match stream.write_all(bytes) {
            Err(e) if matches!(e.kind(), ErrorKind::BrokenPipe | ErrorKind::ConnectionReset) => {
                Ok(())
            }
            other => other,
        }
    }

    /// Read until the daemon closes the connection (or resets it: Linux reports `ECONNRESET`
    /// when the daemon closes with our unread extra bytes still queued) and decode what came.
    /// Times out with an error if the daemon neither answers nor closes.
    pub fn read_reply(stream: &mut UnixStream) -> io::Result<Reply> {
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == ErrorKind::ConnectionReset => break,
                Err(e) => return Err(e),
            }
        }
        Ok(decode_reply(got))
    }

    /// Decode everything the daemon sent on one connection.
    pub fn decode_reply(got: Vec<u8>) -> Reply {
        if got.len() < RSP_LEN {
            return Reply::ClosedWithout { partial: got };
        }
        let err = u32::from_ne_bytes([got[0], got[1], got[2], got[3]]);
        let len = u32::from_ne_bytes([got[4], got[5], got[6], got[7]]);
        let body = got[RSP_LEN..].to_vec();
        let complete = usize::try_from(len).is_ok_and(|len| len == got.len());
        if complete {
            Reply::Response(Response { err, len, body })
        } else {
            Reply::LengthMismatch { err, len, body }
        }
    }
}

/// Files directly in `dir` (not dot files), sorted by name; none when `dir` does not exist.
/// The fuzz corpora and regressions (`compat-tests/fuzz/{corpus,regressions}/<target>/`) are
/// read this way by the corpus replay and by `fuzz_stable`.
pub fn corpus_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.is_file()
                && !p
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    paths.sort();
    paths
}
