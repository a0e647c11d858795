//! Backing-store faults through iSCSI: errors from the store become sense data, and the
//! session, the other sessions and the daemon carry on (issue 5).
//!
//! Faults injected with what these machines have (root, tmpfs, no device-mapper or modules):
//!
//! - ENOSPC: a sparse 64 MiB file on a 4 MiB tmpfs the test mounts; writing more than 4 MiB
//!   fails.
//! - A read-only file: the backing file on a tmpfs remounted read-only (root ignores file
//!   modes), so the store's read-write open fails with EROFS and falls back to read-only.
//! - A file truncated under a live LU: reads past the new end are short.
//! - EIO: the backing file on a FUSE file system this test serves itself (`/dev/fuse`; there is
//!   no device-mapper `dm-error`/`dm-flakey` and no `scsi_debug`), failing the reads and writes of
//!   one region and every fsync.
//!
//! Each case runs for the `rdwr` and `aio` stores (tmpfs takes O_DIRECT on these kernels)
//! against our tgtd and C tgtd (the oracle), each on a fresh daemon, through a small raw
//! initiator below (login straight to full feature phase, READ(10)/WRITE(10) with immediate
//! data and R2T, the SCSI Response's sense). It encodes the PDUs from RFC 7143 itself, never
//! from `tgt::iscsi`, so a wrong constant in the code under test cannot make its own test pass.
//! [`expected`] and [`expected_eio`] are the tables of the sense each implementation gives.
//!
//! Skips, saying why, when a binary is missing or `mount` fails (not root, no FUSE).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::ops::Range;
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc::{self, Receiver};
use std::sync::{PoisonError, RwLock, RwLockReadGuard};
use std::thread;
use std::time::{Duration, Instant};

use nix::fcntl::{fcntl, FcntlArg, FdFlag};

use compat_tests::{skip, Daemon, Impl, ScratchDir};

/// Longest the target may take to answer one PDU before the test fails.
const IO_DEADLINE: Duration = Duration::from_secs(10);
const BLOCK: usize = 512;
const MIB: u64 = 1 << 20;
const TARGET: &str = "iqn.2026-11.org.example.faults:disk";
const OTHER: &str = "iqn.2026-11.org.example.faults:other";
const INITIATOR: &str = "iqn.2026-11.org.example.faults:initiator";

/// SCSI status GOOD and CHECK CONDITION. SAM-5 §5.3
const GOOD: u8 = 0x00;
const CHECK_CONDITION: u8 = 0x02;

/// Sense key, ASC, ASCQ.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Sense(u8, u8, u8);

impl std::fmt::Display for Sense {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:02x}/{:02x}/{:02x}", self.0, self.1, self.2)
    }
}

/// MEDIUM ERROR, UNRECOVERED READ ERROR: C's rdwr answer to every failed pread/pwrite.
const UNRECOVERED_READ_ERROR: Sense = Sense(0x03, 0x11, 0x00);
/// MEDIUM ERROR with no ASC: C's aio answer to a short or failed transfer.
const MEDIUM_ERROR_NO_ASC: Sense = Sense(0x03, 0x00, 0x00);
/// DATA PROTECT, WRITE PROTECTED.
const WRITE_PROTECTED: Sense = Sense(0x07, 0x27, 0x00);
/// DATA PROTECT, SPACE ALLOCATION FAILED WRITE PROTECT. SBC-3 §4.7.3.6
const SPACE_ALLOCATION_FAILED: Sense = Sense(0x07, 0x27, 0x07);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Store {
    Rdwr,
    Aio,
}

impl Store {
    fn name(self) -> &'static str {
        match self {
            Store::Rdwr => "rdwr",
            Store::Aio => "aio",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fault {
    NoSpace,
    ReadOnly,
    Truncated,
}

/// The sense each implementation answers a fault with.
///
/// COMPAT: C tgt (usr/bs_rdwr.c `set_medium_error`) answers every failed or short pread/pwrite
/// with MEDIUM ERROR / UNRECOVERED READ ERROR, writes included, and its aio store
/// (usr/bs_aio.c `bs_aio_complete_one`) with MEDIUM ERROR and no ASC. Ours answers a short read
/// as C's rdwr does for both stores, and ENOSPC on a write with SBC-3's thin-provisioning
/// DATA PROTECT / SPACE ALLOCATION FAILED WRITE PROTECT, which Linux's sd turns into ENOSPC for
/// the application instead of an I/O error.
fn expected(fault: Fault, which: Impl, store: Store) -> Sense {
    match (fault, which, store) {
        (Fault::ReadOnly, _, _) => WRITE_PROTECTED,
        (Fault::NoSpace, Impl::Rust, _) => SPACE_ALLOCATION_FAILED,
        (Fault::Truncated, Impl::Rust, _) | (_, Impl::C, Store::Rdwr) => UNRECOVERED_READ_ERROR,
        (_, Impl::C, Store::Aio) => MEDIUM_ERROR_NO_ASC,
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Read,
    Write,
    Sync,
}

/// Stands for GOOD status in [`expected_eio`].
const GOOD_SENSE: Sense = Sense(0, 0, 0);
/// MEDIUM ERROR, WRITE ERROR.
const WRITE_ERROR: Sense = Sense(0x03, 0x0c, 0x00);

/// The sense each implementation answers EIO with.
///
/// COMPAT: as in [`expected`], C answers every failure with MEDIUM ERROR / UNRECOVERED READ
/// ERROR (rdwr) or MEDIUM ERROR without ASC (aio); its aio store completes SYNCHRONIZE CACHE
/// without syncing. Ours tells a failed write or sync (WRITE ERROR) from a failed read, and
/// syncs for both stores.
fn expected_eio(op: Op, which: Impl, store: Store) -> Sense {
    match (op, which, store) {
        (Op::Read, Impl::Rust, _) | (_, Impl::C, Store::Rdwr) => UNRECOVERED_READ_ERROR,
        (_, Impl::Rust, _) => WRITE_ERROR,
        (Op::Sync, Impl::C, Store::Aio) => GOOD_SENSE,
        (_, Impl::C, Store::Aio) => MEDIUM_ERROR_NO_ASC,
    }
}

// ---------------------------------------------------------------------------------------------
// Fixtures: a tmpfs mount, a daemon with tgtadm.

/// A tmpfs mounted by the test, unmounted when dropped (lazily if something still holds it).
#[derive(Debug)]
struct Tmpfs {
    dir: PathBuf,
}

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Result<Self, String> {
        fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        run(
            "mount",
            &["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"],
            dir,
        )?;
        Ok(Self {
            dir: dir.to_path_buf(),
        })
    }

    fn remount_read_only(&self) -> Result<(), String> {
        run("mount", &["-o", "remount,ro"], &self.dir)
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        if run("umount", &[], &self.dir).is_err() {
            let _ = run("umount", &["-l"], &self.dir);
        }
    }
}

/// Taken (shared) around every child process this file starts, and exclusively while the FUSE
/// device is inheritable for `mount`: no daemon or tool may inherit it.
static SPAWN: RwLock<()> = RwLock::new(());

fn spawn_guard() -> RwLockReadGuard<'static, ()> {
    SPAWN.read().unwrap_or_else(PoisonError::into_inner)
}

/// Runs `program args... dir`, which ends at once (mount, umount).
fn run(program: &str, args: &[&str], dir: &Path) -> Result<(), String> {
    let _spawn = spawn_guard();
    run_unguarded(program, args, dir)
}

fn run_unguarded(program: &str, args: &[&str], dir: &Path) -> Result<(), String> {
    let out = Command::new(program)
        .args(args)
        .arg(dir)
        .output()
        .map_err(|e| format!("{program}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{program} {} {} failed ({}): {}",
            args.join(" "),
            dir.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// One fresh daemon of `which`, its tgtadm and a scratch directory.
struct Setup {
    which: Impl,
    store: Store,
    // Declared before the scratch directory and any mount: dropped (killed) first.
    daemon: Daemon,
    tgtadm: PathBuf,
    scratch: ScratchDir,
}

impl Setup {
    /// Starts the daemon, or says why the test skips.
    fn start(which: Impl, store: Store, test: &str) -> Option<Self> {
        let (tgtd, tgtadm) = match (which.tgtd(), which.tgtadm()) {
            (Ok(d), Ok(a)) => (d, a),
            (Err(e), _) | (_, Err(e)) => {
                skip(test, &e);
                return None;
            }
        };
        let spawn = spawn_guard();
        let daemon = Daemon::start(&tgtd)
            .unwrap_or_else(|e| panic!("{}: {} did not start: {e}", which.name(), tgtd.display()));
        drop(spawn);
        let scratch = ScratchDir::new().expect("scratch directory");
        Some(Self {
            which,
            store,
            daemon,
            tgtadm,
            scratch,
        })
    }

    /// Mounts a tmpfs of `size` at `<scratch>/mnt`, or says why the test skips.
    fn tmpfs(&self, size: &str, test: &str) -> Option<Tmpfs> {
        match Tmpfs::mount(&self.scratch.path().join("mnt"), size) {
            Ok(m) => Some(m),
            Err(e) => {
                skip(test, &format!("cannot mount a tmpfs (needs root): {e}"));
                None
            }
        }
    }

    fn tgtadm(&self, args: &[&str]) -> String {
        let _spawn = spawn_guard();
        let out = self
            .daemon
            .tgtadm(&self.tgtadm, args)
            .unwrap_or_else(|e| panic!("tgtadm {args:?}: {e}"));
        assert_eq!(
            out.code,
            Some(0),
            "{}: tgtadm {args:?}: {}{}",
            self.which.name(),
            out.stdout_text(),
            out.stderr_text()
        );
        out.stdout_text()
    }

    /// Target `tid` named `iqn` with LU 1 on `path` in this setup's store, open to all.
    fn target(&self, tid: &str, iqn: &str, path: &Path) {
        let path = path.to_str().expect("UTF-8 scratch path");
        let lld = ["--lld", "iscsi", "--tid", tid];
        self.tgtadm(&[&lld[..], &["--op", "new", "--mode", "target", "-T", iqn]].concat());
        self.tgtadm(
            &[
                &lld[..],
                &["--op", "new", "--mode", "logicalunit", "--lun", "1"],
                &["--bstype", self.store.name(), "-b", path],
            ]
            .concat(),
        );
        self.tgtadm(&[&lld[..], &["--op", "bind", "--mode", "target", "-I", "ALL"]].concat());
    }

    fn login(&self, target: &str, isid: u8) -> Initiator {
        Initiator::login(self.daemon.portal_port(), target, isid)
            .unwrap_or_else(|e| panic!("{}: login to {target}: {e}", self.which.name()))
    }

    /// The daemon is still running and answering management requests.
    fn assert_alive(&mut self) {
        assert!(
            self.daemon.is_running(),
            "{}: tgtd exited\n{}",
            self.which.name(),
            self.daemon.log_text()
        );
        if let Err(e) = self.daemon.sys_show() {
            panic!("{}: tgtd does not serve: {e}", self.which.name());
        }
    }

    fn label(&self) -> String {
        format!("{} {}", self.which.name(), self.store.name())
    }
}

fn pattern(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| seed.wrapping_add(u8::try_from(i % 251).unwrap_or(0)))
        .collect()
}

fn sparse_file(path: &Path, len: u64) {
    let f = File::create(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    f.set_len(len).expect("set_len");
}

// ---------------------------------------------------------------------------------------------
// The cases.

/// ENOSPC: a 64 MiB sparse file on a 4 MiB tmpfs; sequential 64 KiB writes fail once the file
/// system is full. Afterwards the same session reads and rewrites what was allocated, a session
/// to a LU elsewhere works, the daemon serves.
fn no_space(which: Impl, store: Store, test: &str) {
    let Some(mut s) = Setup::start(which, store, test) else {
        return;
    };
    let Some(mnt) = s.tmpfs("4m", test) else {
        return;
    };
    let disk = mnt.dir.join("disk");
    sparse_file(&disk, 64 * MIB);
    let other = s.scratch.path().join("other");
    sparse_file(&other, MIB);
    s.target("1", TARGET, &disk);
    s.target("2", OTHER, &other);
    let mut a = s.login(TARGET, 1);
    let mut b = s.login(OTHER, 2);

    const CHUNK: usize = 64 * 1024;
    let blocks = u16::try_from(CHUNK / BLOCK).expect("small");
    let mut failed = None;
    for i in 0..128u32 {
        let lba = i * u32::from(blocks);
        let r = a.write10(lba, &pattern(0x10, CHUNK)).expect("WRITE(10)");
        if r.status != GOOD {
            failed = Some((i, r));
            break;
        }
    }
    let (at, r) = failed.unwrap_or_else(|| panic!("{}: 8 MiB fit on a 4 MiB tmpfs", s.label()));
    eprintln!("{}: ENOSPC at chunk {at}: {r}", s.label());
    assert!(at > 0, "{}: the first write failed: {r}", s.label());
    r.assert_check(expected(Fault::NoSpace, which, store), &s.label());

    // The session continues: allocated space reads back and can be rewritten.
    let r = a.read10(0, blocks).expect("READ(10)");
    r.assert_good(&s.label());
    assert!(r.data == pattern(0x10, CHUNK), "{}: data lost", s.label());
    let r = a.write10(0, &pattern(0x77, 8 * BLOCK)).expect("WRITE(10)");
    r.assert_good(&s.label());
    let r = a.read10(0, 8).expect("READ(10)");
    r.assert_good(&s.label());
    assert!(
        r.data == pattern(0x77, 8 * BLOCK),
        "{}: rewrite lost",
        s.label()
    );

    // Another session to another LU is unaffected.
    b.write10(8, &pattern(0x33, 4096))
        .expect("WRITE(10)")
        .assert_good(&s.label());
    let r = b.read10(8, 8).expect("READ(10)");
    r.assert_good(&s.label());
    assert!(r.data == pattern(0x33, 4096), "{}: other LU", s.label());
    s.assert_alive();
    drop((a, b));
    drop(s);
    drop(mnt);
}

/// A backing file on a read-only file system: the LU comes up read-only, READ works, WRITE is
/// refused as write protected, the session continues.
fn read_only(which: Impl, store: Store, test: &str) {
    let Some(mut s) = Setup::start(which, store, test) else {
        return;
    };
    let Some(mnt) = s.tmpfs("8m", test) else {
        return;
    };
    let disk = mnt.dir.join("disk");
    sparse_file(&disk, 4 * MIB);
    File::options()
        .write(true)
        .open(&disk)
        .and_then(|f| f.write_all_at(&pattern(0x42, 4096), 0))
        .expect("write the backing file");
    mnt.remount_read_only()
        .unwrap_or_else(|e| panic!("remount read-only: {e}"));
    s.target("1", TARGET, &disk);
    let show = s.tgtadm(&["--lld", "iscsi", "--op", "show", "--mode", "target"]);
    assert!(
        show.contains("Readonly: Yes"),
        "{}: LU not read-only:\n{show}",
        s.label()
    );
    let mut a = s.login(TARGET, 1);
    let r = a.read10(0, 8).expect("READ(10)");
    r.assert_good(&s.label());
    assert!(r.data == pattern(0x42, 4096), "{}: read data", s.label());
    let r = a.write10(0, &pattern(0x01, 4096)).expect("WRITE(10)");
    eprintln!("{}: read-only WRITE: {r}", s.label());
    r.assert_check(expected(Fault::ReadOnly, which, store), &s.label());
    a.read10(8, 8).expect("READ(10)").assert_good(&s.label());
    s.assert_alive();
    drop(a);
    drop(s);
    drop(mnt);
}

/// A 64 MiB backing file truncated to 1 MiB under a live session: reads past the new end fail,
/// reads before it work, a write past it extends the file again.
fn truncated(which: Impl, store: Store, test: &str) {
    let Some(mut s) = Setup::start(which, store, test) else {
        return;
    };
    let disk = s.scratch.path().join("disk");
    sparse_file(&disk, 64 * MIB);
    s.target("1", TARGET, &disk);
    let mut a = s.login(TARGET, 1);
    a.write10(0, &pattern(0x21, 4096))
        .expect("WRITE(10)")
        .assert_good(&s.label());
    a.write10(4096, &pattern(0x22, 4096))
        .expect("WRITE(10)")
        .assert_good(&s.label());

    OpenOptions::new()
        .write(true)
        .open(&disk)
        .and_then(|f| f.set_len(MIB))
        .expect("truncate the backing file");
    let want = expected(Fault::Truncated, which, store);
    // Wholly past the end, and straddling it.
    for (lba, blocks) in [(4096, 8), (2044, 8)] {
        let r = a.read10(lba, blocks).expect("READ(10)");
        eprintln!("{}: READ {lba}+{blocks} past the end: {r}", s.label());
        r.assert_check(want, &s.label());
    }
    let r = a.read10(0, 8).expect("READ(10)");
    r.assert_good(&s.label());
    assert!(r.data == pattern(0x21, 4096), "{}: data lost", s.label());
    a.read10(2040, 8).expect("READ(10)").assert_good(&s.label());

    // A write past the end extends the file; the hole before it reads as zeros.
    a.write10(4096, &pattern(0x23, 4096))
        .expect("WRITE(10)")
        .assert_good(&s.label());
    let len = fs::metadata(&disk).expect("stat").len();
    assert_eq!(len, 2 * MIB + 4096, "{}: file length", s.label());
    let r = a.read10(4096, 8).expect("READ(10)");
    r.assert_good(&s.label());
    assert!(
        r.data == pattern(0x23, 4096),
        "{}: extended data",
        s.label()
    );
    let r = a.read10(3000, 8).expect("READ(10)");
    r.assert_good(&s.label());
    assert!(r.data.iter().all(|&b| b == 0), "{}: hole", s.label());
    s.assert_alive();
}

/// EIO: the backing file on a FUSE file system served by this test, whose reads and writes of
/// one region and whose fsync fail with EIO. Elsewhere the LU keeps working.
fn io_error(which: Impl, store: Store, test: &str) {
    let Some(mut s) = Setup::start(which, store, test) else {
        return;
    };
    let mnt = match FaultyFs::mount(&s.scratch.path().join("mnt"), 8 * MIB, 4 * MIB..5 * MIB) {
        Ok(m) => m,
        Err(e) => return skip(test, &format!("cannot mount a FUSE file system: {e}")),
    };
    s.target("1", TARGET, &mnt.dir.join("disk"));
    let mut a = s.login(TARGET, 1);
    a.write10(0, &pattern(0x51, 4096))
        .expect("WRITE(10)")
        .assert_good(&s.label());
    let bad = u32::try_from(4 * MIB / 512).expect("small");
    let r = a.read10(bad, 8).expect("READ(10)");
    eprintln!("{}: READ EIO: {r}", s.label());
    r.assert_check(expected_eio(Op::Read, which, store), &s.label());
    let r = a.write10(bad + 8, &pattern(0x52, 4096)).expect("WRITE(10)");
    eprintln!("{}: WRITE EIO: {r}", s.label());
    r.assert_check(expected_eio(Op::Write, which, store), &s.label());
    let r = a
        .command(&[0x35, 0, 0, 0, 0, 0, 0, 0, 0, 0], 0, &[])
        .expect("SYNCHRONIZE CACHE");
    eprintln!("{}: SYNCHRONIZE CACHE EIO: {r}", s.label());
    match expected_eio(Op::Sync, which, store) {
        GOOD_SENSE => r.assert_good(&s.label()),
        want => r.assert_check(want, &s.label()),
    }
    let r = a.read10(0, 8).expect("READ(10)");
    r.assert_good(&s.label());
    assert!(r.data == pattern(0x51, 4096), "{}: data lost", s.label());
    s.assert_alive();
    drop(a);
    drop(s);
    drop(mnt);
}

macro_rules! cases {
    ($($name:ident: $case:ident, $which:expr, $store:expr;)*) => {$(
        #[test]
        fn $name() {
            $case($which, $store, stringify!($name));
        }
    )*};
}

cases! {
    no_space_rdwr_ours: no_space, Impl::Rust, Store::Rdwr;
    no_space_rdwr_c: no_space, Impl::C, Store::Rdwr;
    no_space_aio_ours: no_space, Impl::Rust, Store::Aio;
    no_space_aio_c: no_space, Impl::C, Store::Aio;
    read_only_rdwr_ours: read_only, Impl::Rust, Store::Rdwr;
    read_only_rdwr_c: read_only, Impl::C, Store::Rdwr;
    read_only_aio_ours: read_only, Impl::Rust, Store::Aio;
    read_only_aio_c: read_only, Impl::C, Store::Aio;
    truncated_rdwr_ours: truncated, Impl::Rust, Store::Rdwr;
    truncated_rdwr_c: truncated, Impl::C, Store::Rdwr;
    truncated_aio_ours: truncated, Impl::Rust, Store::Aio;
    truncated_aio_c: truncated, Impl::C, Store::Aio;
    io_error_rdwr_ours: io_error, Impl::Rust, Store::Rdwr;
    io_error_rdwr_c: io_error, Impl::C, Store::Rdwr;
    io_error_aio_ours: io_error, Impl::Rust, Store::Aio;
    io_error_aio_c: io_error, Impl::C, Store::Aio;
}

// ---------------------------------------------------------------------------------------------
// A raw iSCSI initiator: one connection, one command at a time. RFC 7143 §11.

/// What a command ended with.
#[derive(Debug)]
struct Reply {
    status: u8,
    sense: Option<Sense>,
    data: Vec<u8>,
}

impl std::fmt::Display for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "status {:#04x}", self.status)?;
        if let Some(s) = self.sense {
            write!(f, " sense {s}")?;
        }
        Ok(())
    }
}

impl Reply {
    fn assert_good(&self, who: &str) {
        assert_eq!(self.status, GOOD, "{who}: {self}");
    }

    fn assert_check(&self, want: Sense, who: &str) {
        assert_eq!(self.status, CHECK_CONDITION, "{who}: {self}");
        assert_eq!(self.sense, Some(want), "{who}: {self}, want sense {want}");
    }
}

#[derive(Debug)]
struct Initiator {
    s: TcpStream,
    itt: u32,
    cmd_sn: u32,
    exp_stat_sn: u32,
    /// The target's MaxRecvDataSegmentLength: the longest data segment we may send.
    max_send: usize,
    immediate_data: bool,
    first_burst: usize,
}

const BHS: usize = 48;
/// LUN 1, single-level addressing. SAM-5 §4.7
const LUN1: [u8; 8] = [0, 1, 0, 0, 0, 0, 0, 0];

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

fn usize_of(n: u32) -> usize {
    usize::try_from(n).expect("32-bit length fits")
}

impl Initiator {
    /// Logs in straight to full feature phase (CSG=1, NSG=3, T=1, no authentication).
    fn login(port: u16, target: &str, isid: u8) -> Result<Self, String> {
        let s = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
        s.set_read_timeout(Some(IO_DEADLINE))
            .and_then(|()| s.set_write_timeout(Some(IO_DEADLINE)))
            .map_err(|e| e.to_string())?;
        let mut me = Self {
            s,
            itt: 1,
            cmd_sn: 1,
            exp_stat_sn: 0,
            max_send: 8192,
            immediate_data: false,
            first_burst: 65536,
        };
        let keys = format!(
            "InitiatorName={INITIATOR}\0SessionType=Normal\0TargetName={target}\0\
             HeaderDigest=None\0DataDigest=None\0ImmediateData=Yes\0InitialR2T=Yes\0\
             MaxRecvDataSegmentLength=65536\0MaxBurstLength=262144\0FirstBurstLength=65536\0"
        );
        let mut bhs = [0u8; BHS];
        bhs[0] = 0x43; // I, Login Request
        bhs[1] = 0x87; // T, CSG=1, NSG=3
        bhs[8..14].copy_from_slice(&[0x00, 0x02, 0x3d, 0x00, 0x00, isid]);
        bhs[16..20].copy_from_slice(&me.itt.to_be_bytes());
        bhs[24..28].copy_from_slice(&me.cmd_sn.to_be_bytes());
        me.send(&mut bhs, keys.as_bytes())
            .map_err(|e| e.to_string())?;
        let (rsp, data) = me.recv().map_err(|e| format!("login response: {e}"))?;
        if rsp[0] & 0x3f != 0x23 || rsp[36] != 0 {
            return Err(format!(
                "login refused: opcode {:#x} class {} detail {}",
                rsp[0], rsp[36], rsp[37]
            ));
        }
        if rsp[1] & 0x83 != 0x83 {
            return Err(format!(
                "login did not reach full feature phase: {:#x}",
                rsp[1]
            ));
        }
        me.exp_stat_sn = be32(&rsp[24..]).wrapping_add(1);
        me.cmd_sn = be32(&rsp[28..]);
        me.itt += 1;
        for kv in String::from_utf8_lossy(&data).split('\0') {
            let Some((k, v)) = kv.split_once('=') else {
                continue;
            };
            match k {
                "MaxRecvDataSegmentLength" => me.max_send = v.parse().map_err(|_| kv.to_owned())?,
                "FirstBurstLength" => me.first_burst = v.parse().map_err(|_| kv.to_owned())?,
                "ImmediateData" => me.immediate_data = v == "Yes",
                _ => {}
            }
        }
        // Clear the unit attention of a new I_T nexus (POWER ON, RESET): TEST UNIT READY
        // until GOOD.
        for _ in 0..3 {
            if me.command(&[0; 6], 0, &[])?.status == GOOD {
                return Ok(me);
            }
        }
        Err("TEST UNIT READY never GOOD".into())
    }

    /// Sends one PDU: `bhs` gets the data segment length; the data is padded to 4 bytes.
    fn send(&mut self, bhs: &mut [u8; BHS], data: &[u8]) -> io::Result<()> {
        let len = u32::try_from(data.len()).expect("segment fits");
        bhs[5..8].copy_from_slice(&len.to_be_bytes()[1..]);
        let mut pdu = bhs.to_vec();
        pdu.extend_from_slice(data);
        pdu.resize(pdu.len().div_ceil(4) * 4, 0);
        self.s.write_all(&pdu)
    }

    /// Receives one PDU: its BHS and data segment (AHS skipped, padding dropped).
    fn recv(&mut self) -> io::Result<([u8; BHS], Vec<u8>)> {
        let mut bhs = [0u8; BHS];
        self.s.read_exact(&mut bhs)?;
        let mut ahs = vec![0u8; usize::from(bhs[4]) * 4];
        self.s.read_exact(&mut ahs)?;
        let len = usize_of(be32(&[0, bhs[5], bhs[6], bhs[7]]));
        let mut data = vec![0u8; len.div_ceil(4) * 4];
        self.s.read_exact(&mut data)?;
        data.truncate(len);
        Ok((bhs, data))
    }

    fn read10(&mut self, lba: u32, blocks: u16) -> Result<Reply, String> {
        let len = u32::from(blocks) * 512;
        self.command(&cdb10(0x28, lba, blocks), len, &[])
    }

    fn write10(&mut self, lba: u32, data: &[u8]) -> Result<Reply, String> {
        let blocks = u16::try_from(data.len() / BLOCK).expect("small write");
        self.command(&cdb10(0x2a, lba, blocks), 0, data)
    }

    /// One SCSI command: immediate data if negotiated, the rest on R2T; Data-In collected.
    fn command(&mut self, cdb: &[u8], read_len: u32, out: &[u8]) -> Result<Reply, String> {
        let itt = self.itt;
        self.itt += 1;
        let mut bhs = [0u8; BHS];
        bhs[0] = 0x01;
        bhs[1] = 0x80 | 0x01; // F, SIMPLE
        if read_len > 0 {
            bhs[1] |= 0x40;
        }
        if !out.is_empty() {
            bhs[1] |= 0x20;
        }
        bhs[8..16].copy_from_slice(&LUN1);
        bhs[16..20].copy_from_slice(&itt.to_be_bytes());
        let edtl = if out.is_empty() {
            read_len
        } else {
            u32::try_from(out.len()).expect("small")
        };
        bhs[20..24].copy_from_slice(&edtl.to_be_bytes());
        bhs[24..28].copy_from_slice(&self.cmd_sn.to_be_bytes());
        bhs[28..32].copy_from_slice(&self.exp_stat_sn.to_be_bytes());
        bhs[32..32 + cdb.len()].copy_from_slice(cdb);
        let immediate = if self.immediate_data {
            out.len().min(self.first_burst).min(self.max_send)
        } else {
            0
        };
        self.send(&mut bhs, &out[..immediate])
            .map_err(|e| e.to_string())?;
        self.cmd_sn = self.cmd_sn.wrapping_add(1);
        let mut data = Vec::new();
        loop {
            let (rsp, seg) = self
                .recv()
                .map_err(|e| format!("awaiting the reply: {e}"))?;
            match rsp[0] & 0x3f {
                // Data-In: data at its buffer offset; with S, the status too.
                0x25 => {
                    let at = usize_of(be32(&rsp[40..]));
                    data.resize(data.len().max(at + seg.len()), 0);
                    data[at..at + seg.len()].copy_from_slice(&seg);
                    if rsp[1] & 0x01 != 0 {
                        self.exp_stat_sn = be32(&rsp[24..]).wrapping_add(1);
                        return Ok(Reply {
                            status: rsp[3],
                            sense: None,
                            data,
                        });
                    }
                }
                // R2T: Data-Out PDUs of at most the target's segment length.
                0x31 => {
                    let ttt = be32(&rsp[20..]);
                    let offset = usize_of(be32(&rsp[40..]));
                    let end = offset + usize_of(be32(&rsp[44..]));
                    let chunks = out[offset..end].chunks(self.max_send);
                    let n = chunks.len();
                    for (i, chunk) in chunks.enumerate() {
                        let at = u32::try_from(offset + i * self.max_send).expect("small");
                        let sn = u32::try_from(i).expect("few");
                        let mut d = [0u8; BHS];
                        d[0] = 0x05;
                        d[1] = if i + 1 == n { 0x80 } else { 0 };
                        d[8..16].copy_from_slice(&LUN1);
                        d[16..20].copy_from_slice(&itt.to_be_bytes());
                        d[20..24].copy_from_slice(&ttt.to_be_bytes());
                        d[28..32].copy_from_slice(&self.exp_stat_sn.to_be_bytes());
                        d[36..40].copy_from_slice(&sn.to_be_bytes());
                        d[40..44].copy_from_slice(&at.to_be_bytes());
                        self.send(&mut d, chunk).map_err(|e| e.to_string())?;
                    }
                }
                // SCSI Response: status, and sense as a 2-byte length and the sense data.
                0x21 => {
                    if rsp[2] != 0 {
                        return Err(format!("iSCSI response {:#x}", rsp[2]));
                    }
                    self.exp_stat_sn = be32(&rsp[24..]).wrapping_add(1);
                    return Ok(Reply {
                        status: rsp[3],
                        sense: parse_sense(&seg),
                        data,
                    });
                }
                op => return Err(format!("unexpected PDU opcode {op:#x}")),
            }
        }
    }
}

/// READ(10)/WRITE(10). SBC-3 §5.11, §5.32
fn cdb10(op: u8, lba: u32, blocks: u16) -> [u8; 10] {
    let mut c = [0u8; 10];
    c[0] = op;
    c[2..6].copy_from_slice(&lba.to_be_bytes());
    c[7..9].copy_from_slice(&blocks.to_be_bytes());
    c
}

/// Key, ASC and ASCQ from a SCSI Response's data segment (SenseLength, then fixed or
/// descriptor format sense data). RFC 7143 §11.4.7.2, SPC-4 §4.5
fn parse_sense(seg: &[u8]) -> Option<Sense> {
    let len = usize::from(u16::from_be_bytes([*seg.first()?, *seg.get(1)?]));
    let s = seg.get(2..2 + len)?;
    match s.first()? & 0x7f {
        0x70 | 0x71 => Some(Sense(s.get(2)? & 0x0f, *s.get(12)?, *s.get(13)?)),
        0x72 | 0x73 => Some(Sense(s.get(1)? & 0x0f, *s.get(2)?, *s.get(3)?)),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// A FUSE file system with one file, served by a thread of the test: the kernel protocol of
// include/uapi/linux/fuse.h (7.31), just enough for open, fstat, pread, pwrite and fdatasync.

/// `/disk`, a RAM file of `size` bytes whose reads and writes touching `bad` and whose fsync
/// fail with EIO. Opened with FOPEN_DIRECT_IO: every pread/pwrite reaches the server as is.
#[derive(Debug)]
struct FaultyFs {
    dir: PathBuf,
    done: Receiver<()>,
}

const FUSE_LOOKUP: u32 = 1;
const FUSE_FORGET: u32 = 2;
const FUSE_GETATTR: u32 = 3;
const FUSE_OPEN: u32 = 14;
const FUSE_READ: u32 = 15;
const FUSE_WRITE: u32 = 16;
const FUSE_STATFS: u32 = 17;
const FUSE_RELEASE: u32 = 18;
const FUSE_FSYNC: u32 = 20;
const FUSE_FLUSH: u32 = 25;
const FUSE_INIT: u32 = 26;
const FUSE_INTERRUPT: u32 = 36;
const FUSE_DESTROY: u32 = 38;
const FUSE_BATCH_FORGET: u32 = 42;
const FOPEN_DIRECT_IO: u32 = 1;
const FUSE_MAX_WRITE: usize = 128 * 1024;
const ROOT: u64 = 1;
const DISK: u64 = 2;

impl FaultyFs {
    fn mount(dir: &Path, size: u64, bad: Range<u64>) -> Result<Self, String> {
        fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let dev = OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/fuse")
            .map_err(|e| format!("/dev/fuse: {e}"))?;
        let fd = dev.as_raw_fd();
        let opts = format!("fd={fd},rootmode=40000,user_id=0,group_id=0,allow_other");
        let mounted = {
            // mount(8) must inherit the device; nothing else may.
            let _spawn = SPAWN.write().unwrap_or_else(PoisonError::into_inner);
            fcntl(fd, FcntlArg::F_SETFD(FdFlag::empty())).map_err(|e| e.to_string())?;
            let r = run_unguarded("mount", &["-i", "-t", "fuse", "-o", &opts, "faulty"], dir);
            fcntl(fd, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC)).map_err(|e| e.to_string())?;
            r
        };
        mounted?;
        let (tx, done) = mpsc::channel();
        let len = usize::try_from(size).expect("small");
        thread::spawn(move || {
            serve(&dev, vec![0; len], &bad);
            let _ = tx.send(());
        });
        Ok(Self {
            dir: dir.to_path_buf(),
            done,
        })
    }
}

impl Drop for FaultyFs {
    fn drop(&mut self) {
        // Unmounting ends the connection: the server's read fails and it returns.
        if run("umount", &[], &self.dir).is_err() {
            let _ = run("umount", &["-l"], &self.dir);
        }
        // Unless a failed test left the daemon holding the file: then it ends with the daemon.
        if !thread::panicking() {
            let _ = self.done.recv_timeout(IO_DEADLINE);
        }
    }
}

fn ne32(b: &[u8]) -> u32 {
    u32::from_ne_bytes([b[0], b[1], b[2], b[3]])
}

fn ne64(b: &[u8]) -> u64 {
    u64::from_ne_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
}

/// `struct fuse_attr`.
fn fuse_attr(node: u64, size: u64) -> Vec<u8> {
    let (mode, nlink, size): (u32, u32, u64) = if node == ROOT {
        (0o040_755, 2, 0)
    } else {
        (0o100_644, 1, size)
    };
    let mut a = Vec::with_capacity(88);
    for v in [node, size, size / 512, 0, 0, 0] {
        a.extend_from_slice(&v.to_ne_bytes());
    }
    for v in [0, 0, 0, mode, nlink, 0, 0, 0, 4096, 0u32] {
        a.extend_from_slice(&v.to_ne_bytes());
    }
    a
}

/// Answers requests until the connection ends (unmounted).
fn serve(mut dev: &File, mut disk: Vec<u8>, bad: &Range<u64>) {
    let size = u64::try_from(disk.len()).expect("small");
    let mut buf = vec![0u8; FUSE_MAX_WRITE + 4096];
    let started = Instant::now();
    loop {
        let n = match dev.read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            // ENOENT: a request interrupted before it was read.
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => continue,
            // EPERM: the mount has not attached the device yet.
            Err(e) if e.raw_os_error() == Some(libc::EPERM) && started.elapsed() < IO_DEADLINE => {
                thread::sleep(Duration::from_millis(5));
                continue;
            }
            Err(_) => return,
        };
        let req = &buf[..n];
        let (opcode, unique, node) = (ne32(&req[4..]), ne64(&req[8..]), ne64(&req[16..]));
        let body = &req[40..];
        let touches_bad = |offset: u64, len: u32| {
            let end = offset + u64::from(len);
            offset < bad.end && bad.start < end
        };
        let reply: Result<Vec<u8>, i32> = match opcode {
            FUSE_FORGET | FUSE_BATCH_FORGET | FUSE_INTERRUPT => continue,
            FUSE_INIT => {
                let mut out = Vec::with_capacity(64);
                // major, minor, max_readahead, flags
                for v in [7u32, 31, 0, 0] {
                    out.extend_from_slice(&v.to_ne_bytes());
                }
                out.extend_from_slice(&16u16.to_ne_bytes()); // max_background
                out.extend_from_slice(&12u16.to_ne_bytes()); // congestion_threshold
                let max_write = u32::try_from(FUSE_MAX_WRITE).expect("small");
                out.extend_from_slice(&max_write.to_ne_bytes());
                out.extend_from_slice(&1u32.to_ne_bytes()); // time_gran
                out.resize(64, 0);
                Ok(out)
            }
            FUSE_LOOKUP if node == ROOT && body.starts_with(b"disk\0") => {
                let mut out = Vec::new();
                // nodeid, generation, entry_valid, attr_valid, their nsecs
                for v in [DISK, 0, 1, 1] {
                    out.extend_from_slice(&v.to_ne_bytes());
                }
                out.extend_from_slice(&[0; 8]);
                out.extend(fuse_attr(DISK, size));
                Ok(out)
            }
            FUSE_LOOKUP => Err(libc::ENOENT),
            FUSE_GETATTR => {
                let mut out = 1u64.to_ne_bytes().to_vec();
                out.extend_from_slice(&[0; 8]);
                out.extend(fuse_attr(node, size));
                Ok(out)
            }
            FUSE_OPEN => {
                let mut out = 0u64.to_ne_bytes().to_vec();
                out.extend_from_slice(&FOPEN_DIRECT_IO.to_ne_bytes());
                out.extend_from_slice(&[0; 4]);
                Ok(out)
            }
            FUSE_READ | FUSE_WRITE => {
                let (offset, len) = (ne64(&body[8..]), ne32(&body[16..]));
                let start = usize::try_from(offset.min(size)).expect("small");
                let end = usize::try_from((offset + u64::from(len)).min(size)).expect("small");
                if touches_bad(offset, len) {
                    Err(libc::EIO)
                } else if opcode == FUSE_READ {
                    Ok(disk[start..end].to_vec())
                } else {
                    disk[start..end].copy_from_slice(&body[40..40 + end - start]);
                    let mut out = len.to_ne_bytes().to_vec();
                    out.extend_from_slice(&[0; 4]);
                    Ok(out)
                }
            }
            FUSE_FSYNC => Err(libc::EIO),
            FUSE_STATFS => {
                let mut out = vec![0u8; 80];
                out[40..44].copy_from_slice(&4096u32.to_ne_bytes()); // bsize
                out[44..48].copy_from_slice(&255u32.to_ne_bytes()); // namelen
                Ok(out)
            }
            FUSE_FLUSH | FUSE_RELEASE | FUSE_DESTROY => Ok(Vec::new()),
            _ => Err(libc::ENOSYS),
        };
        let (error, payload) = match reply {
            Ok(p) => (0, p),
            Err(errno) => (-errno, Vec::new()),
        };
        let len = u32::try_from(16 + payload.len()).expect("small");
        let mut out = len.to_ne_bytes().to_vec();
        out.extend_from_slice(&error.to_ne_bytes());
        out.extend_from_slice(&unique.to_ne_bytes());
        out.extend(payload);
        // One write per reply; a request interrupted meanwhile makes it fail (ENOENT).
        let _ = dev.write(&out);
    }
}
