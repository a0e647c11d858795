//! A stable-Rust fuzzer for the `tgt::fuzzing` entry points, for machines without nightly and
//! cargo-fuzz (STYLE.md §8 item 5). Run it through `compat-tests/fuzz-stable.sh`, which builds
//! it optimized with unwinding panics, debug assertions and overflow checks.
//!
//! ```text
//! fuzz_stable TARGET SECONDS [--seed N] [--max-len BYTES] [--timeout SECONDS] [--fuzz-dir DIR]
//! ```
//!
//! It has no coverage feedback: it mutates the seed corpus (`<fuzz-dir>/corpus/TARGET/`),
//! the saved regressions and its own recent mutants with a deterministic seeded mutator (bit
//! flips, random bytes, byte inserts and deletes, block copies, splices with other inputs,
//! interesting integers in both byte orders, small arithmetic, dictionary tokens). Every
//! input that panics (on any thread) is shrunk by deleting blocks while it still panics at
//! the same place, and saved as `<fuzz-dir>/regressions/TARGET/crash-<hash>`; one panic site
//! is saved once. An input that runs longer than the timeout is saved as `timeout-<hash>`
//! and ends the run. The exit status is 0 when nothing panicked, 1 when something did, 2 on
//! a usage error.

use std::fmt::Write as _;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use tgt::fuzzing::{Rng, Target, TARGETS};

/// Tokens the mutator inserts or overwrites with, per target.
fn dictionary(target: &str) -> &'static [&'static [u8]] {
    match target {
        "login_text" => &[
            b"=",
            b"\0",
            b",",
            b"~",
            b"0x",
            b"0X",
            b"0b",
            b"0B",
            b"InitiatorName=",
            b"TargetName=",
            b"SessionType=Discovery",
            b"SessionType=Normal",
            b"AuthMethod=CHAP,None",
            b"CHAP_A=5",
            b"CHAP_R=0x",
            b"CHAP_C=0b",
            b"MaxRecvDataSegmentLength=",
            b"HeaderDigest=CRC32C,None",
            b"X-com.example.key=",
            b"NotUnderstood",
            b"Irrelevant",
            b"Reject",
            b"18446744073709551616",
            b"4294967296",
            b"0xffffffffffffffffff",
            b"====",
        ],
        "mgmt_req" => &[
            b"\0",
            b",",
            b"=",
            b"iscsi",
            b"targetname=iqn.2001-04.com.example:t",
            b"bstype=null",
            b"bstype=rdwr",
            b"bsoflags=sync",
            b"blocksize=4096",
            b"user=u",
            b"password=p",
            b"initiator-address=ALL",
            b"initiator-name=iqn.x",
            b"targetOps ",
            b"vendor_id=",
            b"mode_page=8:0:18:",
            b"online=1",
            b"readonly=1",
            b"removable=1",
            b"sense_format=1",
            b"thin_provisioning=1",
            b"state=offline",
            b"MaxRecvDataSegmentLength=",
            b"debug=on",
        ],
        "pdu_stream" | "bhs" => &[b"SendTargets=All\0", b"InitiatorName=iqn.x\0"],
        _ => &[],
    }
}

const INTERESTING_8: &[u8] = &[
    0, 1, 2, 3, 4, 0x10, 0x20, 0x30, 0x3f, 0x40, 0x7f, 0x80, 0xc0, 0xfe, 0xff,
];
const INTERESTING_16: &[u16] = &[
    0, 1, 4, 8, 16, 48, 0x7f, 0x80, 0xff, 0x100, 0x200, 0x1000, 0x2000, 0x7fff, 0x8000, 0xfffe,
    0xffff,
];
const INTERESTING_32: &[u32] = &[
    0,
    1,
    0x30,
    0x7f,
    0x80,
    0x200,
    0x1000,
    0x2000,
    0x1_0000,
    0x4_0000,
    0xff_ffff,
    0x100_0000,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_fffe,
    0xffff_ffff,
];

/// Applies 1 to 16 stacked mutations to `data`, keeping it at most `max_len` bytes.
fn mutate(rng: &mut Rng, data: &mut Vec<u8>, pool: &[Vec<u8>], dict: &[&[u8]], max_len: usize) {
    let depth = rng.below(5);
    let rounds = 1 + rng.below(1 << depth);
    for _ in 0..rounds {
        mutate_once(rng, data, pool, dict);
    }
    data.truncate(max_len);
}

fn mutate_once(rng: &mut Rng, data: &mut Vec<u8>, pool: &[Vec<u8>], dict: &[&[u8]]) {
    let len = data.len();
    if len == 0 {
        let n = 1 + rng.below(16);
        data.extend((0..n).map(|_| rng.byte()));
        return;
    }
    let at = rng.below(len);
    match rng.below(12) {
        0 => data[at] ^= 1 << rng.below(8),
        1 => data[at] = rng.byte(),
        2 => {
            let n = 1 + rng.below(8);
            let bytes: Vec<u8> = (0..n).map(|_| rng.byte()).collect();
            data.splice(at..at, bytes);
        }
        3 => {
            let most = 1 + rng.below(64);
            let n = 1 + rng.below((len - at).min(most));
            data.drain(at..at + n);
        }
        4 => data[at] = *rng.pick(INTERESTING_8),
        5 => {
            let v = *rng.pick(INTERESTING_16);
            let b = if rng.below(2) == 0 {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            };
            overwrite(data, at, &b);
        }
        6 => {
            let v = *rng.pick(INTERESTING_32);
            let b = if rng.below(2) == 0 {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            };
            overwrite(data, at, &b);
        }
        7 => {
            // Small arithmetic on a big-endian field of 1, 2 or 4 bytes (lengths, counts).
            let width = [1, 2, 4][rng.below(3)];
            let Some(field) = data.get_mut(at..at + width) else {
                return;
            };
            let mut v = field.iter().fold(0u64, |v, &b| (v << 8) | u64::from(b));
            let delta = 1 + rng.next_u64() % 35;
            v = if rng.below(2) == 0 {
                v.wrapping_add(delta)
            } else {
                v.wrapping_sub(delta)
            };
            let bytes = v.to_be_bytes();
            field.copy_from_slice(&bytes[8 - width..]);
        }
        8 => {
            // Copy a block of the input over, or into, another place of it.
            let n = 1 + rng.below((len - at).min(64));
            let block = data[at..at + n].to_vec();
            let to = rng.below(len);
            if rng.below(2) == 0 {
                overwrite(data, to, &block);
            } else {
                data.splice(to..to, block);
            }
        }
        9 => {
            // Splice: our prefix, another input's suffix.
            let other = rng.pick(pool);
            if !other.is_empty() {
                let from = rng.below(other.len());
                data.truncate(at);
                data.extend_from_slice(&other[from..]);
            }
        }
        10 => {
            // Insert a block of another input.
            let other = rng.pick(pool);
            if !other.is_empty() {
                let from = rng.below(other.len());
                let n = 1 + rng.below((other.len() - from).min(128));
                data.splice(at..at, other[from..from + n].iter().copied());
            }
        }
        _ => {
            if !dict.is_empty() {
                let token = *rng.pick(dict);
                if rng.below(2) == 0 {
                    overwrite(data, at, token);
                } else {
                    data.splice(at..at, token.iter().copied());
                }
            }
        }
    }
}

/// Writes `bytes` at `at`, growing `data` if they run past its end.
fn overwrite(data: &mut Vec<u8>, at: usize, bytes: &[u8]) {
    let end = at + bytes.len();
    if end > data.len() {
        data.resize(end, 0);
    }
    data[at..end].copy_from_slice(bytes);
}

/// The first panic since the last [`take_panic`], from any thread: (site, message).
static PANIC: Mutex<Option<(String, String)>> = Mutex::new(None);
/// The input being executed, for the watchdog.
static CURRENT: Mutex<Vec<u8>> = Mutex::new(Vec::new());
/// Milliseconds since [`epoch`] at which the current execution started; 0 when idle.
static STARTED_MS: AtomicU64 = AtomicU64::new(0);

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

fn now_ms() -> u64 {
    u64::try_from(epoch().elapsed().as_millis()).unwrap_or(u64::MAX)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn install_panic_hook() {
    panic::set_hook(Box::new(|info| {
        let site = info.location().map_or_else(
            || "unknown".to_owned(),
            |l| format!("{}:{}:{}", l.file(), l.line(), l.column()),
        );
        let payload = info.payload();
        let msg = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "(non-string panic payload)".to_owned());
        let thread = std::thread::current()
            .name()
            .unwrap_or("unnamed")
            .to_owned();
        lock(&PANIC).get_or_insert((site, format!("[thread {thread}] {msg}")));
    }));
}

fn take_panic() -> Option<(String, String)> {
    lock(&PANIC).take()
}

/// Runs one input; `Some((site, message))` when it panicked.
fn run_one(f: Target, input: &[u8]) -> Option<(String, String)> {
    {
        let mut cur = lock(&CURRENT);
        cur.clear();
        cur.extend_from_slice(input);
    }
    STARTED_MS.store(now_ms().max(1), Ordering::SeqCst);
    let caught = panic::catch_unwind(AssertUnwindSafe(|| f(input)));
    STARTED_MS.store(0, Ordering::SeqCst);
    let hooked = take_panic();
    match (caught, hooked) {
        (_, Some(p)) => Some(p),
        (Err(_), None) => Some(("unknown".to_owned(), "panic without hook".to_owned())),
        (Ok(()), None) => None,
    }
}

/// Deletes blocks of `input` while it still panics at `site`, for at most `budget`.
fn shrink(f: Target, input: &[u8], site: &str, budget: Duration) -> Vec<u8> {
    let deadline = Instant::now() + budget;
    let mut best = input.to_vec();
    let mut block = best.len().next_power_of_two();
    while block > 0 && Instant::now() < deadline {
        let mut at = 0;
        while at < best.len() && Instant::now() < deadline {
            let end = (at + block).min(best.len());
            let mut candidate = best.clone();
            candidate.drain(at..end);
            match run_one(f, &candidate) {
                Some((s, _)) if s == site => best = candidate,
                _ => at += block,
            }
        }
        block /= 2;
    }
    best
}

/// FNV-1a, for file names.
fn hash(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn hex(data: &[u8]) -> String {
    data.iter()
        .fold(String::with_capacity(data.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

fn save(dir: &Path, kind: &str, input: &[u8]) -> PathBuf {
    let path = dir.join(format!("{kind}-{:016x}", hash(input)));
    if let Err(e) = std::fs::create_dir_all(dir).and_then(|()| std::fs::write(&path, input)) {
        eprintln!("fuzz_stable: cannot save {}: {e}", path.display());
    }
    path
}

fn report(target: &str, kind: &str, path: &Path, site: &str, msg: &str, input: &[u8]) {
    eprintln!("fuzz_stable: {target}: {kind} at {site}: {msg}");
    eprintln!(
        "fuzz_stable: {target}: input ({} bytes) saved as {}",
        input.len(),
        path.display()
    );
    if input.len() <= 1024 {
        eprintln!("fuzz_stable: {target}: input hex: {}", hex(input));
    }
}

/// The files of `dir` (see [`compat_tests::corpus_files`]) with their contents.
fn inputs_in(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    compat_tests::corpus_files(dir)
        .into_iter()
        .filter_map(|p| std::fs::read(&p).ok().map(|d| (p, d)))
        .collect()
}

/// Ends the process when one execution runs past `timeout`, saving its input; a panic seen
/// meanwhile on another thread (a worker that died, leaving the command unanswered) is
/// reported as the cause.
fn start_watchdog(target: &'static str, regressions: PathBuf, timeout: Duration) {
    let limit = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
    std::thread::spawn(move || loop {
        std::thread::sleep(Duration::from_millis(250));
        let started = STARTED_MS.load(Ordering::SeqCst);
        if started == 0 || now_ms().saturating_sub(started) < limit {
            continue;
        }
        let input = lock(&CURRENT).clone();
        let (kind, site, msg) = match take_panic() {
            Some((site, msg)) => ("crash", site, msg),
            None => (
                "timeout",
                "-".to_owned(),
                format!("no return within {timeout:?}"),
            ),
        };
        let path = save(&regressions, kind, &input);
        report(target, kind, &path, &site, &msg, &input);
        std::process::exit(1);
    });
}

struct Options {
    target: &'static str,
    f: Target,
    seconds: u64,
    seed: u64,
    max_len: usize,
    timeout: Duration,
    fuzz_dir: PathBuf,
}

fn usage() -> String {
    let names: Vec<&str> = TARGETS.iter().map(|(n, _)| *n).collect();
    format!(
        "usage: fuzz_stable TARGET SECONDS [--seed N] [--max-len BYTES] [--timeout SECONDS] \
         [--fuzz-dir DIR]\ntargets: {}",
        names.join(" ")
    )
}

fn parse_args() -> Result<Options, String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [name, seconds, rest @ ..] = args.as_slice() else {
        return Err(usage());
    };
    let &(target, f) = TARGETS
        .iter()
        .find(|(n, _)| n == name)
        .ok_or_else(|| format!("unknown target {name:?}\n{}", usage()))?;
    let number = |s: &str| {
        s.parse::<u64>()
            .map_err(|e| format!("{s:?}: {e}\n{}", usage()))
    };
    let mut o = Options {
        target,
        f,
        seconds: number(seconds)?,
        seed: hash(target.as_bytes()),
        max_len: 4096,
        timeout: Duration::from_secs(20),
        fuzz_dir: Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz"),
    };
    let mut it = rest.iter();
    while let Some(flag) = it.next() {
        let value = it
            .next()
            .ok_or_else(|| format!("{flag} wants a value\n{}", usage()))?;
        match flag.as_str() {
            "--seed" => o.seed = number(value)?,
            "--max-len" => o.max_len = usize::try_from(number(value)?).unwrap_or(usize::MAX),
            "--timeout" => o.timeout = Duration::from_secs(number(value)?),
            "--fuzz-dir" => o.fuzz_dir = PathBuf::from(value),
            _ => return Err(format!("unknown option {flag}\n{}", usage())),
        }
    }
    Ok(o)
}

fn main() -> ExitCode {
    let o = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let _ = epoch();
    install_panic_hook();
    let regressions = o.fuzz_dir.join("regressions").join(o.target);
    start_watchdog(o.target, regressions.clone(), o.timeout);

    let corpus_dir = o.fuzz_dir.join("corpus").join(o.target);
    let seeds: Vec<(PathBuf, Vec<u8>)> = inputs_in(&corpus_dir)
        .into_iter()
        .chain(inputs_in(&regressions))
        .collect();
    eprintln!(
        "fuzz_stable: {}: {} seed inputs from {}, seed {}, {} s",
        o.target,
        seeds.len(),
        corpus_dir.display(),
        o.seed,
        o.seconds
    );

    let mut sites: Vec<String> = Vec::new();
    let mut crashes = 0u64;
    // The seeds themselves first.
    for (path, input) in &seeds {
        if let Some((site, msg)) = run_one(o.f, input) {
            crashes += 1;
            eprintln!(
                "fuzz_stable: {}: {} panics at {site}: {msg}",
                o.target,
                path.display()
            );
            if !sites.contains(&site) {
                sites.push(site);
            }
        }
    }

    let mut pool: Vec<Vec<u8>> = seeds.into_iter().map(|(_, d)| d).collect();
    if pool.is_empty() {
        pool.push(Vec::new());
    }
    let seed_count = pool.len();
    const RECENT: usize = 256;
    let dict = dictionary(o.target);
    let mut rng = Rng(o.seed);
    let start = Instant::now();
    let deadline = start + Duration::from_secs(o.seconds);
    let mut next_status = start + Duration::from_secs(10);
    let mut execs = 0u64;
    let mut input = Vec::new();
    loop {
        // Check the clock every 64 executions; the cdb target is the slow one.
        if execs & 63 == 0 {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            if now >= next_status {
                let secs = now.duration_since(start).as_secs_f64();
                eprintln!(
                    "fuzz_stable: {}: {execs} execs in {secs:.0} s ({:.0}/s), {crashes} crashes",
                    o.target,
                    execs as f64 / secs
                );
                next_status = now + Duration::from_secs(10);
            }
        }
        // Mostly a seed; sometimes a recent mutant, for deeper chains of mutations.
        let base = if pool.len() > seed_count && rng.below(4) == 0 {
            seed_count + rng.below(pool.len() - seed_count)
        } else {
            rng.below(seed_count)
        };
        input.clear();
        input.extend_from_slice(&pool[base]);
        mutate(&mut rng, &mut input, &pool, dict, o.max_len);
        execs += 1;
        if let Some((site, msg)) = run_one(o.f, &input) {
            crashes += 1;
            if sites.contains(&site) {
                continue;
            }
            let small = shrink(o.f, &input, &site, Duration::from_secs(10));
            let path = save(&regressions, "crash", &small);
            report(o.target, "panic", &path, &site, &msg, &small);
            sites.push(site);
            continue;
        }
        if pool.len() < seed_count + RECENT {
            pool.push(input.clone());
        } else {
            let slot = seed_count + rng.below(RECENT);
            pool[slot].clone_from(&input);
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "fuzz_stable: {}: {execs} execs in {secs:.1} s ({:.0}/s), {crashes} panicking inputs at {} sites",
        o.target,
        execs as f64 / secs,
        sites.len()
    );
    if sites.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
