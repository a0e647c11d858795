//! tgtadm's command line: the option table, and the left-to-right pass that turns argv into a
//! [`CommandLine`], acting on each option when it is reached as C tgtadm does (an unknown
//! `--mode`, a bad number or `--help` ends the run there, whatever follows).
//!
//! It must not know which options each mode allows (that is `check`) nor the request's bytes
//! (that is `request`).
//!
//! Source: tgt `usr/tgtadm.c` `long_options`, `short_options`, `main()` (the `getopt_long`
//! loop), `str_to_mode()`, `str_to_op()`, `str_to_device_type()`, `bus_to_host()`, and
//! `usr/util.h` `str_to_int*`; facts in `shared/reference/tgtadm-cli.md` §1–§3 and
//! `mgmt-protocol.md` §7.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use tgt::getopt::{Getopt, GetoptError, HasArg, OptSpec};
use tgt::mgmt::wire::{Mode, Op, TID_NONE};

/// An option of tgtadm, named after its long form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opt {
    /// `--debug`, `-d`
    Debug,
    /// `--help`, `-h`
    Help,
    /// `--version`, `-V`
    Version,
    /// `--lld`, `-L`
    Lld,
    /// `--op`, `-o`
    Op,
    /// `--mode`, `-m`
    Mode,
    /// `--tid`, `-t`
    Tid,
    /// `--sid`, `-s`
    Sid,
    /// `--cid`, `-c`
    Cid,
    /// `--lun`, `-l`
    Lun,
    /// `--name`, `-n`
    Name,
    /// `--value`, `-v`
    Value,
    /// `--backing-store`, `-b`
    BackingStore,
    /// `--bstype`, `-E`
    Bstype,
    /// `--bsopts`, `-S`
    Bsopts,
    /// `--bsoflags`, `-f`
    Bsoflags,
    /// `--blocksize`, `-y`
    Blocksize,
    /// `--targetname`, `-T`
    Targetname,
    /// `--initiator-address`, `-I`
    InitiatorAddress,
    /// `--initiator-name`, `-Q`
    InitiatorName,
    /// `--user`, `-u`
    User,
    /// `--password`, `-p`
    Password,
    /// `--host`, `-H`
    Host,
    /// `--force`, `-F`
    Force,
    /// `--params`, `-P`
    Params,
    /// `--bus`, `-B`
    Bus,
    /// `--device-type`, `-Y`
    DeviceType,
    /// `--outgoing`, `-O`
    Outgoing,
    /// `--control-port`, `-C`
    ControlPort,
}

const fn row(
    id: Opt,
    long: &'static str,
    short: u8,
    long_arg: HasArg,
    short_arg: HasArg,
) -> OptSpec<Opt> {
    OptSpec {
        id,
        long: Some(long),
        long_arg,
        short: Some(short),
        short_arg,
    }
}

use HasArg::{No, Required};

/// Every option, in the order of C's `long_options[]` (which decides the candidates listed for
/// an ambiguous abbreviation). The short forms' `has_arg` comes from C's `short_options`
/// string, `"dhVL:o:m:t:s:c:l:n:v:b:E:f:y:T:I:Q:u:p:H:F:P:B:Y:O:C:S:"`, which gives `-F` and
/// `-O` a required argument although `--force` and `--outgoing` take none.
/// tgt: usr/tgtadm.c `long_options`, `short_options`
pub const OPTIONS: &[OptSpec<Opt>] = &[
    row(Opt::Debug, "debug", b'd', No, No),
    row(Opt::Help, "help", b'h', No, No),
    row(Opt::Version, "version", b'V', No, No),
    row(Opt::Lld, "lld", b'L', Required, Required),
    row(Opt::Op, "op", b'o', Required, Required),
    row(Opt::Mode, "mode", b'm', Required, Required),
    row(Opt::Tid, "tid", b't', Required, Required),
    row(Opt::Sid, "sid", b's', Required, Required),
    row(Opt::Cid, "cid", b'c', Required, Required),
    row(Opt::Lun, "lun", b'l', Required, Required),
    row(Opt::Name, "name", b'n', Required, Required),
    row(Opt::Value, "value", b'v', Required, Required),
    row(Opt::BackingStore, "backing-store", b'b', Required, Required),
    row(Opt::Bstype, "bstype", b'E', Required, Required),
    row(Opt::Bsopts, "bsopts", b'S', Required, Required),
    row(Opt::Bsoflags, "bsoflags", b'f', Required, Required),
    row(Opt::Blocksize, "blocksize", b'y', Required, Required),
    row(Opt::Targetname, "targetname", b'T', Required, Required),
    row(
        Opt::InitiatorAddress,
        "initiator-address",
        b'I',
        Required,
        Required,
    ),
    row(
        Opt::InitiatorName,
        "initiator-name",
        b'Q',
        Required,
        Required,
    ),
    row(Opt::User, "user", b'u', Required, Required),
    row(Opt::Password, "password", b'p', Required, Required),
    row(Opt::Host, "host", b'H', Required, Required),
    row(Opt::Force, "force", b'F', No, Required),
    row(Opt::Params, "params", b'P', Required, Required),
    row(Opt::Bus, "bus", b'B', Required, Required),
    row(Opt::DeviceType, "device-type", b'Y', Required, Required),
    row(Opt::Outgoing, "outgoing", b'O', No, Required),
    row(Opt::ControlPort, "control-port", b'C', Required, Required),
];

/// SCSI peripheral device types tgtadm sends in `device_type`. tgt: usr/scsi.h `TYPE_*`
pub mod device_type {
    /// `TYPE_DISK`
    pub const DISK: u32 = 0x00;
    /// `TYPE_TAPE`
    pub const TAPE: u32 = 0x01;
    /// `TYPE_MMC`
    pub const MMC: u32 = 0x05;
    /// `TYPE_MEDIUM_CHANGER`
    pub const MEDIUM_CHANGER: u32 = 0x08;
    /// `TYPE_OSD`
    pub const OSD: u32 = 0x11;
    /// `TYPE_PT`
    pub const PT: u32 = 0xff;
}

/// `--device-type` names. tgt: usr/tgtadm.c `str_to_device_type()`
const DEVICE_TYPES: &[(&str, u32)] = &[
    ("disk", device_type::DISK),
    ("tape", device_type::TAPE),
    ("cd", device_type::MMC),
    ("changer", device_type::MEDIUM_CHANGER),
    ("osd", device_type::OSD),
    ("ssc", device_type::TAPE),
    ("pt", device_type::PT),
];

/// Why a numeric option was refused. tgt: usr/util.h `str_to_int()`
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumError {
    /// No digits, or `strtoull` returned `ULLONG_MAX` (`-1`, overflow): EINVAL.
    Invalid,
    /// The value does not fit the destination or is below its minimum: ERANGE.
    OutOfRange,
}

/// Everything the command line stopped on before a request could be built.
#[derive(Debug)]
pub enum ParseStop {
    /// `--help`: print the help and exit 0.
    Help,
    /// `--version`: print the version and exit 0.
    Version,
    /// glibc's scanner rejected a word.
    Getopt(GetoptError),
    /// `--mode` names no mode (exit 1).
    UnknownMode(OsString),
    /// `--op` names no operation (exit 1).
    UnknownOp(OsString),
    /// A numeric option's argument was refused; `letter` is the short form even when the long
    /// form was used.
    BadNumber {
        /// Short option letter.
        letter: u8,
        /// The argument as given.
        arg: OsString,
        /// What was wrong with it.
        err: NumError,
    },
    /// `--device-type` names no type.
    UnknownDeviceType(OsString),
    /// `--bus bus,device` found no SCSI host under `/sys/bus`.
    BusNotFound(OsString),
    /// A word that is not an option was left over (the first one).
    Operand(OsString),
}

/// The parsed command line: C tgtadm's local variables after its `getopt_long` loop.
#[derive(Debug, Clone)]
pub struct CommandLine {
    /// `--lld`, as given (sent through `strncpy` into 64 bytes).
    pub lld: Option<OsString>,
    /// `--op`.
    pub op: Option<Op>,
    /// `--mode`.
    pub mode: Option<Mode>,
    /// `--tid`; [`TID_NONE`] when absent.
    pub tid: i32,
    /// `--sid`.
    pub sid: u64,
    /// `--cid`.
    pub cid: u32,
    /// `--lun`; `u64::MAX` when absent.
    pub lun: u64,
    /// `--host` or `--bus`: header `host_no`.
    pub host_no: u32,
    /// `--device-type`.
    pub device_type: u32,
    /// `--outgoing`.
    pub outgoing: bool,
    /// `--force`.
    pub force: bool,
    /// `--control-port`.
    pub control_port: i16,
    /// `--debug`.
    pub debug: bool,
    /// `--name`.
    pub name: Option<OsString>,
    /// `--value`.
    pub value: Option<OsString>,
    /// `--backing-store`.
    pub path: Option<OsString>,
    /// `--bstype`.
    pub bstype: Option<OsString>,
    /// `--bsopts`.
    pub bsopts: Option<OsString>,
    /// `--bsoflags`.
    pub bsoflags: Option<OsString>,
    /// `--blocksize` (sent as text).
    pub blocksize: Option<OsString>,
    /// `--targetname`.
    pub targetname: Option<OsString>,
    /// `--initiator-address`.
    pub initiator_address: Option<OsString>,
    /// `--initiator-name`.
    pub initiator_name: Option<OsString>,
    /// `--user`.
    pub user: Option<OsString>,
    /// `--password`.
    pub password: Option<OsString>,
    /// `--params` given while `--mode` was not `portal`.
    pub target_ops: Option<OsString>,
    /// `--params` given after `--mode portal`.
    pub portal_ops: Option<OsString>,
    /// Short letters of the options given, in order: C re-scans argv with `getopt_long` to
    /// check them against each mode's allowed set. A second scan of the same argv yields
    /// exactly these letters (the first scan ended without error, and `--help`/`--version`
    /// would have exited), so recording them is the same check.
    pub letters: Vec<u8>,
}

impl Default for CommandLine {
    fn default() -> Self {
        Self {
            lld: None,
            op: None,
            mode: None,
            tid: TID_NONE,
            sid: 0,
            cid: 0,
            lun: u64::MAX,
            host_no: 0,
            device_type: device_type::DISK,
            outgoing: false,
            force: false,
            control_port: 0,
            debug: false,
            name: None,
            value: None,
            path: None,
            bstype: None,
            bsopts: None,
            bsoflags: None,
            blocksize: None,
            targetname: None,
            initiator_address: None,
            initiator_name: None,
            user: None,
            password: None,
            target_ops: None,
            portal_ops: None,
            letters: Vec::new(),
        }
    }
}

/// Parses argv (`args[0]` is the program name) as C tgtadm's `getopt_long` loop does.
/// tgt: usr/tgtadm.c `main()`
pub fn parse(args: &[OsString]) -> Result<CommandLine, ParseStop> {
    let mut cl = CommandLine::default();
    let mut scan = Getopt::new(args, OPTIONS).opterr(false);
    for item in scan.by_ref() {
        let m = item.map_err(ParseStop::Getopt)?;
        if let Some(letter) = m.spec.short {
            cl.letters.push(letter);
        }
        let letter = m.spec.short.unwrap_or(b'?');
        // Options with a required argument always carry one; `--force`/`--outgoing` in
        // long form carry none and use none.
        let arg = m.arg.unwrap_or_default();
        let owned = || Some(arg.to_os_string());
        match m.id() {
            Opt::Lld => cl.lld = owned(),
            Opt::Op => {
                let op = arg.to_str().and_then(Op::parse);
                cl.op = Some(op.ok_or_else(|| ParseStop::UnknownOp(arg.to_os_string()))?);
            }
            Opt::Mode => {
                let mode = arg.to_str().and_then(Mode::parse);
                cl.mode = Some(mode.ok_or_else(|| ParseStop::UnknownMode(arg.to_os_string()))?);
            }
            Opt::Tid => cl.tid = number(letter, arg, tid_from)?,
            Opt::Sid => cl.sid = number(letter, arg, Ok)?,
            Opt::Cid => cl.cid = number(letter, arg, u32_from)?,
            Opt::Lun => cl.lun = number(letter, arg, Ok)?,
            Opt::Params => {
                if cl.mode == Some(Mode::PORTAL) {
                    cl.portal_ops = owned();
                } else {
                    cl.target_ops = owned();
                }
            }
            Opt::Name => cl.name = owned(),
            Opt::Value => cl.value = owned(),
            Opt::BackingStore => cl.path = owned(),
            Opt::Targetname => cl.targetname = owned(),
            Opt::InitiatorAddress => cl.initiator_address = owned(),
            Opt::InitiatorName => cl.initiator_name = owned(),
            Opt::User => cl.user = owned(),
            Opt::Password => cl.password = owned(),
            Opt::Bus => cl.host_no = bus_to_host(arg)?,
            Opt::Host => cl.host_no = number(letter, arg, u32_from)?,
            Opt::Force => cl.force = true,
            Opt::Bsoflags => cl.bsoflags = owned(),
            Opt::Blocksize => cl.blocksize = owned(),
            Opt::Bstype => cl.bstype = owned(),
            Opt::Bsopts => cl.bsopts = owned(),
            Opt::DeviceType => {
                let found = DEVICE_TYPES
                    .iter()
                    .find(|(n, _)| n.as_bytes() == arg.as_bytes());
                let (_, t) =
                    found.ok_or_else(|| ParseStop::UnknownDeviceType(arg.to_os_string()))?;
                cl.device_type = *t;
            }
            Opt::Outgoing => cl.outgoing = true,
            Opt::ControlPort => cl.control_port = number(letter, arg, port_from)?,
            Opt::Version => return Err(ParseStop::Version),
            Opt::Debug => cl.debug = true,
            Opt::Help => return Err(ParseStop::Help),
        }
    }
    if let Some(first) = scan.operands().first() {
        return Err(ParseStop::Operand(first.to_os_string()));
    }
    Ok(cl)
}

/// `strtoull(s, &end, base)` in the C locale: leading white space, an optional sign, a
/// `0x` prefix (base 16) or leading `0` (base 8) when `base` is 0. Returns `None` when no
/// digit was converted (`end == s`), `u64::MAX` on overflow, and the negated value (mod 2^64)
/// for a `-` sign, as glibc does.
pub fn strtoull(s: &[u8], base: u32) -> Option<u64> {
    let mut i = s
        .iter()
        .position(|&b| !matches!(b, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r'))
        .unwrap_or(s.len());
    let negative = match s.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let mut radix = base;
    let zero_x = s.get(i) == Some(&b'0') && matches!(s.get(i + 1), Some(b'x' | b'X'));
    if (radix == 0 || radix == 16) && zero_x {
        if s.get(i + 2)
            .and_then(|&c| char::from(c).to_digit(16))
            .is_none()
        {
            // glibc: "0x" without hex digits converts the "0" and stops at the "x".
            return Some(0);
        }
        i += 2;
        radix = 16;
    } else if radix == 0 {
        radix = if s.get(i) == Some(&b'0') { 8 } else { 10 };
    }
    let mut value: u64 = 0;
    let mut overflow = false;
    let mut digits = 0;
    while let Some(d) = s.get(i).and_then(|&c| char::from(c).to_digit(radix)) {
        match value
            .checked_mul(u64::from(radix))
            .and_then(|v| v.checked_add(u64::from(d)))
        {
            Some(v) => value = v,
            None => overflow = true,
        }
        digits += 1;
        i += 1;
    }
    if digits == 0 {
        return None;
    }
    if overflow {
        return Some(u64::MAX);
    }
    Some(if negative {
        value.wrapping_neg()
    } else {
        value
    })
}

/// C's `str_to_int()`: `strtoull(base 0)`, refusing no digits and `ULLONG_MAX`, then `fit`
/// converts to the destination type as C's assignment-and-compare does.
fn number<T>(letter: u8, arg: &OsStr, fit: fn(u64) -> Result<T, NumError>) -> Result<T, ParseStop> {
    let parsed = match strtoull(arg.as_bytes(), 0) {
        None | Some(u64::MAX) => Err(NumError::Invalid),
        Some(v) => fit(v),
    };
    parsed.map_err(|err| ParseStop::BadNumber {
        letter,
        arg: arg.to_os_string(),
        err,
    })
}

/// `u64` bits as C's signed 64-bit value: the value an `int` or `short` destination must
/// equal for C's `val != ull_val` range check to pass.
fn as_signed(v: u64) -> i64 {
    i64::from_ne_bytes(v.to_ne_bytes())
}

/// `--tid`: `str_to_int_ge(optarg, int tid, 0)`.
fn tid_from(v: u64) -> Result<i32, NumError> {
    match i32::try_from(as_signed(v)) {
        Ok(t) if t >= 0 => Ok(t),
        _ => Err(NumError::OutOfRange),
    }
}

/// `--cid`, `--host`: a `uint32_t` destination.
fn u32_from(v: u64) -> Result<u32, NumError> {
    u32::try_from(v).map_err(|_| NumError::OutOfRange)
}

/// `--control-port`: `str_to_int_ge(optarg, short control_port, 0)`.
fn port_from(v: u64) -> Result<i16, NumError> {
    match i16::try_from(as_signed(v)) {
        Ok(p) if p >= 0 => Ok(p),
        _ => Err(NumError::OutOfRange),
    }
}

/// C's `PATH_MAX`: `bus_to_host()` formats the sysfs path into a buffer this size.
const PATH_MAX: usize = 4096;
/// C's `-EINVAL` / `-ENOENT` returns of `bus_to_host()`, stored into the unsigned `host_no`.
const HOST_NO_EINVAL: u32 = 0xffff_ffea;
const HOST_NO_ENOENT: u32 = 0xffff_fffe;

/// `--bus bus,device`: the SCSI host number from `/sys/bus/<bus>/devices/<device>/host<N>`.
///
/// Mirrors C exactly, odd cases included: no comma gives `-EINVAL` and an empty directory
/// `-ENOENT`, both sent as `host_no` without complaint; among the entries named `host…` (in
/// `strcmp` order) the last one wins, its suffix read with `strtoull(base 10)` into an `int`;
/// an unreadable directory or no `host…` entry is `can't find bus: <bus>`.
/// tgt: usr/tgtadm.c `bus_to_host()`
pub fn bus_to_host(arg: &OsStr) -> Result<u32, ParseStop> {
    let bytes = arg.as_bytes();
    let Some(comma) = bytes.iter().position(|&b| b == b',') else {
        return Ok(HOST_NO_EINVAL);
    };
    let (bus, device) = (&bytes[..comma], &bytes[comma + 1..]);
    let mut path = b"/sys/bus/".to_vec();
    path.extend_from_slice(bus);
    path.extend_from_slice(b"/devices/");
    path.extend_from_slice(device);
    path.truncate(PATH_MAX - 1);
    let not_found = || ParseStop::BusNotFound(OsStr::from_bytes(bus).to_os_string());

    // COMPAT: when scandir() fails C frees an uninitialised pointer; observed to end in
    // `can't find bus`, which is what we do.
    let entries =
        std::fs::read_dir(PathBuf::from(OsStr::from_bytes(&path))).map_err(|_| not_found())?;
    let mut names: Vec<Vec<u8>> = Vec::new();
    for entry in entries {
        names.push(
            entry
                .map_err(|_| not_found())?
                .file_name()
                .as_bytes()
                .to_vec(),
        );
    }
    if names.is_empty() {
        return Ok(HOST_NO_ENOENT);
    }
    names.sort();
    let mut host: i32 = -1;
    for name in names.iter().filter_map(|n| n.strip_prefix(b"host")) {
        // C: `host = strtoull(p, NULL, 10)` into an `int`: keep the low 32 bits.
        let v = strtoull(name, 10).unwrap_or(0);
        host = i32::from_ne_bytes(
            u32::try_from(v & 0xffff_ffff)
                .expect("masked to 32 bits")
                .to_ne_bytes(),
        );
    }
    if host == -1 {
        return Err(not_found());
    }
    Ok(u32::from_ne_bytes(host.to_ne_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tgt::getopt::argv;

    fn cl(words: &[&str]) -> Result<CommandLine, ParseStop> {
        parse(&argv(
            std::iter::once("tgtadm").chain(words.iter().copied()),
        ))
    }

    #[test]
    fn strtoull_matches_glibc() {
        assert_eq!(strtoull(b"1", 0), Some(1));
        assert_eq!(strtoull(b"1x", 0), Some(1));
        assert_eq!(strtoull(b" \t+7", 0), Some(7));
        assert_eq!(strtoull(b"0x1f", 0), Some(31));
        assert_eq!(strtoull(b"0X1F", 0), Some(31));
        assert_eq!(strtoull(b"010", 0), Some(8));
        assert_eq!(strtoull(b"09", 0), Some(0));
        assert_eq!(strtoull(b"0x", 0), Some(0));
        assert_eq!(strtoull(b"0xg", 0), Some(0));
        assert_eq!(strtoull(b"-0x", 0), Some(0));
        assert_eq!(strtoull(b"", 0), None);
        assert_eq!(strtoull(b" ", 0), None);
        assert_eq!(strtoull(b"abc", 0), None);
        assert_eq!(strtoull(b"-", 0), None);
        assert_eq!(strtoull(b"-1", 0), Some(u64::MAX));
        assert_eq!(strtoull(b"-2", 0), Some(u64::MAX - 1));
        assert_eq!(strtoull(b"-18446744073709551615", 0), Some(1));
        assert_eq!(strtoull(b"18446744073709551615", 0), Some(u64::MAX));
        assert_eq!(strtoull(b"18446744073709551616", 0), Some(u64::MAX));
        assert_eq!(strtoull(b"-99999999999999999999", 0), Some(u64::MAX));
        assert_eq!(strtoull(b"0x10", 10), Some(0));
        assert_eq!(strtoull(b"012", 10), Some(12));
    }

    fn bad(words: &[&str]) -> (u8, String, NumError) {
        match cl(words) {
            Err(ParseStop::BadNumber { letter, arg, err }) => {
                (letter, arg.to_string_lossy().into_owned(), err)
            }
            other => panic!("expected a bad number, got {other:?}"),
        }
    }

    #[test]
    fn numeric_ranges_follow_the_c_destination_types() {
        use NumError::{Invalid, OutOfRange};
        assert_eq!(bad(&["--tid", "-1"]), (b't', "-1".into(), Invalid));
        assert_eq!(bad(&["--tid=-2"]), (b't', "-2".into(), OutOfRange));
        assert_eq!(
            bad(&["-t", "2147483648"]),
            (b't', "2147483648".into(), OutOfRange)
        );
        assert_eq!(bad(&["-t", ""]), (b't', "".into(), Invalid));
        assert_eq!(bad(&["-c", "-2"]), (b'c', "-2".into(), OutOfRange));
        assert_eq!(
            bad(&["-c", "4294967296"]),
            (b'c', "4294967296".into(), OutOfRange)
        );
        assert_eq!(bad(&["-C", "32768"]), (b'C', "32768".into(), OutOfRange));
        assert_eq!(bad(&["--host", "abc"]), (b'H', "abc".into(), Invalid));
        assert_eq!(bad(&["-l", "18446744073709551616"]).2, Invalid);
        assert_eq!(cl(&["-t", "2147483647"]).unwrap().tid, i32::MAX);
        assert_eq!(cl(&["-s", "-2"]).unwrap().sid, u64::MAX - 1);
        assert_eq!(cl(&["-l", "-2"]).unwrap().lun, u64::MAX - 1);
        assert_eq!(cl(&["-c", "4294967295"]).unwrap().cid, u32::MAX);
        assert_eq!(cl(&["-C", "0x7fff"]).unwrap().control_port, 32767);
        assert_eq!(cl(&["-C", "-0"]).unwrap().control_port, 0);
        assert_eq!(cl(&["--tid", "1x"]).unwrap().tid, 1);
        assert_eq!(cl(&["--tid", "010"]).unwrap().tid, 8);
    }

    #[test]
    fn params_go_to_portal_ops_only_after_mode_portal() {
        let c = cl(&["--param", "a", "--mode", "portal", "-P", "b"]).unwrap();
        assert_eq!(c.target_ops, Some("a".into()));
        assert_eq!(c.portal_ops, Some("b".into()));
        let c = cl(&["--mode", "pt", "--mode", "target", "-P", "c"]).unwrap();
        assert_eq!((c.target_ops, c.portal_ops), (Some("c".into()), None));
    }

    #[test]
    fn options_act_left_to_right() {
        assert!(matches!(
            cl(&["--mode", "bogus", "--bogus"]),
            Err(ParseStop::UnknownMode(_))
        ));
        assert!(matches!(
            cl(&["--bogus", "--mode", "bogus"]),
            Err(ParseStop::Getopt(_))
        ));
        assert!(matches!(cl(&["-V", "--op", "x"]), Err(ParseStop::Version)));
        assert!(matches!(
            cl(&["--op", "x", "-h"]),
            Err(ParseStop::UnknownOp(_))
        ));
        assert!(matches!(
            cl(&["-t", "x", "-h"]),
            Err(ParseStop::BadNumber { .. })
        ));
        assert!(matches!(cl(&["--help", "foo"]), Err(ParseStop::Help)));
    }

    #[test]
    fn leftover_word_is_reported_after_all_options() {
        match cl(&["foo", "bar", "--mode", "sys", "-o", "show"]) {
            Err(ParseStop::Operand(w)) => assert_eq!(w, "foo"),
            other => panic!("{other:?}"),
        }
        match cl(&["--mode", "sys", "--", "--op"]) {
            Err(ParseStop::Operand(w)) => assert_eq!(w, "--op"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn last_occurrence_wins_and_letters_are_recorded() {
        let c = cl(&[
            "--tid",
            "1",
            "-t2",
            "-dL",
            "iser",
            "--lld=iscsi",
            "--force",
            "-Ox",
        ])
        .unwrap();
        assert_eq!(c.tid, 2);
        assert_eq!(c.lld, Some("iscsi".into()));
        assert!(c.debug && c.force && c.outgoing);
        assert_eq!(c.letters, b"ttdLLFO");
    }

    #[test]
    fn device_types() {
        assert_eq!(cl(&["-Y", "ssc"]).unwrap().device_type, device_type::TAPE);
        assert_eq!(cl(&["-Y", "pt"]).unwrap().device_type, 0xff);
        assert_eq!(cl(&["-Y", "cd"]).unwrap().device_type, 5);
        assert!(matches!(
            cl(&["-Y", "Disk"]),
            Err(ParseStop::UnknownDeviceType(_))
        ));
    }

    #[test]
    fn bus_lookup_odd_cases() {
        assert_eq!(bus_to_host(OsStr::new("nocomma")).unwrap(), 0xffff_ffea);
        assert!(matches!(
            bus_to_host(OsStr::new("no-such-bus,x")),
            Err(ParseStop::BusNotFound(b)) if b == "no-such-bus"
        ));
    }
}
