//! tgtd as a service manager runs it (issue #6): daemonizing, pid file, signals, sd_notify.
//!
//! - `daemonizes_with_pid_file`: `tgtd -p PIDFILE` without `-f`, in its own `TGT_IPC_SOCKET`
//!   directory. The launched process exits 0, the pid file holds the daemon's pid (no
//!   newline), tgtadm drives it, SIGTERM stops it with status 0, the pid file is removed and
//!   no process of it is left. The test process makes itself a child subreaper
//!   (`PR_SET_CHILD_SUBREAPER`) so the detached daemon is reparented to it and can be reaped
//!   with its exit status.
//! - `sigterm_during_qemu_write`: SIGTERM while `qemu-img convert` writes to an rdwr LUN:
//!   tgtd exits 0, and every 4 KiB block of the backing file is either what qemu-img was
//!   writing or still zero; if qemu-img reported success, all of it is there. Skipped without
//!   qemu-img's iscsi driver.
//! - `sigpipe_never_kills`: tgtadm processes killed mid-request and raw clients that send a
//!   request and hang up before the answer; tgtd keeps serving.
//! - `notify_ready_after_socket`: `tgtd -f` with `NOTIFY_SOCKET` on a datagram socket the test
//!   binds: `READY=1` arrives, and by then the management socket answers; SIGTERM sends
//!   `STOPPING=1` and exit 0.

use std::fs;
use std::net::{Ipv4Addr, TcpListener};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use compat_tests::{run_tgtadm, skip, wire, Daemon, Impl, ScratchDir, TgtadmOutput};
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::Pid;

/// How long a stopping tgtd may take to exit.
const EXIT_DEADLINE: Duration = Duration::from_secs(15);

fn ours() -> Option<(PathBuf, PathBuf)> {
    match (Impl::Rust.tgtd(), Impl::Rust.tgtadm()) {
        (Ok(d), Ok(a)) => Some((d, a)),
        (Err(e), _) | (_, Err(e)) => {
            skip("daemon tests", &e);
            None
        }
    }
}

/// A free loopback TCP port (bound, then released).
fn free_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind loopback");
    listener.local_addr().expect("local address").port()
}

/// A control port for `-C` unlikely to be used by concurrent tests (they derive theirs from
/// their PID in 1..32000).
fn control_port(n: u32) -> u16 {
    u16::try_from(32_000 + (std::process::id() * 4 + n) % 700).expect("below 32768")
}

/// Wait until `pid` (a child of this process, directly or as subreaper) exits; its exit code.
fn wait_exit(pid: Pid) -> Option<i32> {
    let deadline = Instant::now() + EXIT_DEADLINE;
    loop {
        match waitpid(pid, Some(nix::sys::wait::WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(_, code)) => return Some(code),
            Ok(WaitStatus::Signaled(_, sig, _)) => panic!("tgtd {pid} killed by {sig:?}"),
            Ok(_) if Instant::now() < deadline => thread::sleep(Duration::from_millis(20)),
            Ok(_) => {
                let _ = kill(pid, Signal::SIGKILL);
                let _ = waitpid(pid, None);
                return None;
            }
            Err(e) => panic!("waitpid {pid}: {e}"),
        }
    }
}

/// Processes whose command line contains `needle`.
fn processes_with(needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in fs::read_dir("/proc").expect("/proc").flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        if let Ok(cmdline) = fs::read(entry.path().join("cmdline")) {
            let text = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            if text.contains(needle) {
                found.push(format!("{name}: {text}"));
            }
        }
    }
    found
}

fn tgtadm_in(tgtadm: &Path, prefix: &Path, port: u16, args: &str) -> TgtadmOutput {
    let port = port.to_string();
    let mut all = vec!["-C", port.as_str()];
    all.extend(args.split_whitespace());
    run_tgtadm(tgtadm, &all, &[("TGT_IPC_SOCKET", prefix)]).expect("tgtadm runs")
}

#[test]
fn daemonizes_with_pid_file() {
    let Some((tgtd, tgtadm)) = ours() else { return };
    nix::sys::prctl::set_child_subreaper(true).expect("PR_SET_CHILD_SUBREAPER");
    let dir = ScratchDir::new().expect("scratch");
    let prefix = dir.path().join("socket");
    let pid_file = dir.path().join("tgtd.pid");
    let port = control_port(0);
    let portal = format!("portal=127.0.0.1:{}", free_port());
    let status = Command::new(&tgtd)
        .env("TGT_IPC_SOCKET", &prefix)
        .env_remove("NOTIFY_SOCKET")
        .args(["-C", &port.to_string(), "--iscsi", &portal, "-p"])
        .arg(&pid_file)
        .stdin(Stdio::null())
        .status()
        .expect("tgtd starts");
    assert!(
        status.success(),
        "the launching tgtd process exited {status}"
    );

    // The pid file appears once the daemon is set up.
    let deadline = Instant::now() + Duration::from_secs(10);
    let text = loop {
        match fs::read_to_string(&pid_file) {
            Ok(t) if !t.is_empty() => break t,
            _ if Instant::now() < deadline => thread::sleep(Duration::from_millis(10)),
            _ => panic!("no pid file {} after 10 s", pid_file.display()),
        }
    };
    assert!(
        !text.ends_with('\n'),
        "C tgtd writes the pid without newline"
    );
    let pid: i32 = text.parse().expect("pid file holds a number");
    let pid = Pid::from_raw(pid);
    let comm = fs::read_to_string(format!("/proc/{pid}/comm")).expect("daemon is running");
    assert_eq!(comm.trim(), "tgtd");

    let out = tgtadm_in(&tgtadm, &prefix, port, "--mode system --op show");
    assert_eq!(out.code, Some(0), "{}", out.stderr_text());
    assert!(out.stdout_text().starts_with("System:"));
    let out = tgtadm_in(
        &tgtadm,
        &prefix,
        port,
        "--lld iscsi --mode target --op new --tid 1 -T iqn.2026-11.org.example:daemon",
    );
    assert_eq!(out.code, Some(0), "{}", out.stderr_text());

    kill(pid, Signal::SIGTERM).expect("SIGTERM");
    assert_eq!(wait_exit(pid), Some(0), "tgtd exit status after SIGTERM");
    assert!(!pid_file.exists(), "pid file left after exit");
    assert!(
        processes_with(&portal).is_empty(),
        "processes left: {:?}",
        processes_with(&portal)
    );
}

#[test]
fn sigpipe_never_kills() {
    let Some((tgtd, tgtadm)) = ours() else { return };
    let mut daemon = Daemon::start(&tgtd).expect("tgtd -f starts");
    for i in 0..20 {
        daemon
            .tgtadm(
                &tgtadm,
                &[
                    "--lld",
                    "iscsi",
                    "--mode",
                    "target",
                    "--op",
                    "new",
                    "--tid",
                    &(i + 1).to_string(),
                    "-T",
                    &format!("iqn.2026-11.org.example:pipe{i}"),
                ],
            )
            .expect("tgtadm runs");
    }
    // Raw clients: the request, then hang up before the (long) answer is written.
    for _ in 0..200 {
        let request = wire::Request::new(wire::MODE_TARGET, wire::OP_SHOW).encode();
        let mut stream = daemon.connect().expect("connect");
        wire::send(&mut stream, &request).expect("send");
        drop(stream);
    }
    // Real tgtadm processes killed at random points of their exchange.
    let port = daemon.control_port().to_string();
    for i in 0..50u64 {
        let mut child: Child = Command::new(&tgtadm)
            .env("TGT_IPC_SOCKET", daemon.ipc_prefix())
            .args(["-C", &port, "--mode", "target", "--op", "show"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("tgtadm spawns");
        thread::sleep(Duration::from_micros(i * 50));
        let _ = child.kill();
        let _ = child.wait();
    }
    assert!(daemon.is_running(), "tgtd died: {}", daemon.log_text());
    daemon.sys_show().expect("tgtd still serves");
}

#[test]
fn notify_ready_after_socket() {
    let Some((tgtd, _)) = ours() else { return };
    let dir = ScratchDir::new().expect("scratch");
    let notify_path = dir.path().join("notify");
    let notify = UnixDatagram::bind(&notify_path).expect("bind notify socket");
    notify
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let port = control_port(1);
    let socket = dir.path().join(format!("socket.{port}"));
    let mut child = Command::new(&tgtd)
        .env("TGT_IPC_SOCKET", dir.path().join("socket"))
        .env("NOTIFY_SOCKET", &notify_path)
        .args(["-f", "-C", &port.to_string(), "--iscsi"])
        .arg(format!("portal=127.0.0.1:{}", free_port()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("tgtd -f starts");
    let mut buf = [0u8; 512];
    let n = notify.recv(&mut buf).expect("a notification within 10 s");
    let text = String::from_utf8_lossy(&buf[..n]).into_owned();
    assert!(
        text.lines().any(|l| l == "READY=1"),
        "first notification: {text:?}"
    );
    // READY=1 promises that the management socket answers: no retry here.
    let mut stream = std::os::unix::net::UnixStream::connect(&socket).expect("socket answers");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let request = wire::Request::new(wire::MODE_SYSTEM, wire::OP_SHOW).encode();
    wire::send(&mut stream, &request).expect("send");
    match wire::read_reply(&mut stream).expect("reply") {
        wire::Reply::Response(rsp) => assert_eq!(rsp.err, 0),
        other => panic!("sys show answered {other:?}"),
    }

    let pid = Pid::from_raw(i32::try_from(child.id()).expect("pid fits"));
    kill(pid, Signal::SIGTERM).expect("SIGTERM");
    let n = notify.recv(&mut buf).expect("STOPPING=1 within 10 s");
    let text = String::from_utf8_lossy(&buf[..n]).into_owned();
    assert!(text.lines().any(|l| l == "STOPPING=1"), "{text:?}");
    let deadline = Instant::now() + EXIT_DEADLINE;
    let status = loop {
        if let Some(s) = child.try_wait().expect("try_wait") {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("tgtd did not exit after SIGTERM");
        }
        thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(0));
    // A stop by signal leaves no socket or lock file behind.
    assert!(
        !socket.exists(),
        "socket file left behind: {}",
        socket.display()
    );
    let lock = dir.path().join(format!("socket.{port}.lock"));
    assert!(!lock.exists(), "lock file left behind: {}", lock.display());
}

/// qemu-img with its iscsi driver, or why not.
fn qemu_img_iscsi() -> Result<(), String> {
    let out = Command::new("qemu-img")
        .arg("--help")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("qemu-img: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let iscsi = text
        .lines()
        .find(|l| l.starts_with("Supported formats:"))
        .is_some_and(|l| l.split_whitespace().any(|f| f == "iscsi"));
    if iscsi {
        Ok(())
    } else {
        Err("qemu-img has no iscsi driver (qemu-block-extra)".into())
    }
}

#[test]
fn sigterm_during_qemu_write() {
    const TEST: &str = "sigterm_during_qemu_write";
    const SIZE: usize = 64 << 20;
    const BLOCK: usize = 4096;
    let Some((tgtd, tgtadm)) = ours() else { return };
    if let Err(e) = qemu_img_iscsi() {
        skip(TEST, &e);
        return;
    }
    let daemon = Daemon::start(&tgtd).expect("tgtd -f starts");
    let dir = ScratchDir::new().expect("scratch");
    let backing = dir.path().join("lun.img");
    fs::File::create(&backing)
        .and_then(|f| f.set_len(u64::try_from(SIZE).expect("fits")))
        .expect("backing file");
    // Distinct, never-zero content per block: a block is either written or still zero.
    let mut source = vec![0u8; SIZE];
    for (i, block) in source.chunks_mut(BLOCK).enumerate() {
        let tag = u32::try_from(i).expect("fits").to_le_bytes();
        for (j, b) in block.iter_mut().enumerate() {
            *b = tag[j % 4] ^ 0xa5;
        }
    }
    let source_path = dir.path().join("source.img");
    fs::write(&source_path, &source).expect("source image");
    let iqn = "iqn.2026-11.org.example:sigterm";
    for args in [
        format!("--lld iscsi --mode target --op new --tid 1 -T {iqn}"),
        format!(
            "--lld iscsi --mode logicalunit --op new --tid 1 --lun 1 --bstype rdwr -b {}",
            backing.display()
        ),
        "--lld iscsi --mode target --op bind --tid 1 -I ALL".to_owned(),
    ] {
        let args: Vec<&str> = args.split_whitespace().collect();
        let out = daemon.tgtadm(&tgtadm, &args).expect("tgtadm runs");
        assert_eq!(out.code, Some(0), "{args:?}: {}", out.stderr_text());
    }
    let url = format!("iscsi://127.0.0.1:{}/{iqn}/1", daemon.portal_port());
    let mut qemu = Command::new("qemu-img")
        .args(["convert", "-n", "-m", "1", "-f", "raw", "-O", "raw"])
        .arg(&source_path)
        .arg(&url)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("qemu-img spawns");
    thread::sleep(Duration::from_millis(150));
    let pid = Pid::from_raw(i32::try_from(daemon.pid()).expect("pid fits"));
    kill(pid, Signal::SIGTERM).expect("SIGTERM");
    let code = wait_exit(pid);
    assert_eq!(code, Some(0), "tgtd after SIGTERM: {}", daemon.log_text());
    // qemu-img may retry its connection; give it a moment, then stop it.
    let deadline = Instant::now() + Duration::from_secs(5);
    let qemu_ok = loop {
        if let Some(s) = qemu.try_wait().expect("try_wait") {
            break s.success();
        }
        if Instant::now() > deadline {
            let _ = qemu.kill();
            let _ = qemu.wait();
            break false;
        }
        thread::sleep(Duration::from_millis(20));
    };
    let written = fs::read(&backing).expect("backing file");
    assert_eq!(written.len(), SIZE);
    let mut done = 0usize;
    for (i, (got, want)) in written.chunks(BLOCK).zip(source.chunks(BLOCK)).enumerate() {
        if got == want {
            done += 1;
        } else {
            assert!(
                got.iter().all(|&b| b == 0),
                "block {i} is neither the written data nor untouched"
            );
        }
    }
    if qemu_ok {
        assert_eq!(done, SIZE / BLOCK, "qemu-img succeeded but data is missing");
    }
    eprintln!(
        "{TEST}: {done} of {} blocks written, qemu-img ok: {qemu_ok}",
        SIZE / BLOCK
    );
    drop(daemon);
}
