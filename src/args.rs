//! tgtd's command line, as C tgtd parses it (getopt_long with `opterr = 0`, options
//! `fDC:d:t:p:Vh`, and `--<lld> <string>` for driver parameters such as `--iscsi`).
//! tgt: usr/tgtd.c `main()`, `usage()`, `bad_optarg()`; usr/util.h `str_to_int*`.

use std::ffi::OsString;

use tgt::getopt::{Getopt, GetoptErrorKind, HasArg, OptSpec, Ordering};

/// Parsed options.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Args {
    /// `-f`: foreground, log to stderr.
    pub foreground: bool,
    /// `-D`: foreground, log as a daemon would.
    pub nodaemonize: bool,
    /// `-C`: management socket suffix.
    pub control_port: i16,
    /// `-t`: backing-store worker threads.
    pub nr_iothreads: i32,
    /// `-p`: pid file (written only when daemonizing).
    pub pid_file: Option<String>,
    /// `-d 1`: debug logging.
    pub debug: bool,
    /// `--iscsi`: iSCSI driver parameters (portals, NOP defaults).
    pub iscsi: Option<String>,
}

/// What to do after parsing.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    /// Start the daemon.
    Run(Args),
    /// Print and exit (help, version, errors).
    Exit {
        /// Exit status.
        code: u8,
        /// Text for stdout.
        stdout: String,
        /// Text for stderr.
        stderr: String,
    },
}

const VERSION: &str = env!("CARGO_PKG_VERSION");
/// Default number of backing-store worker threads. tgt: usr/bs.c `nr_iothreads`
pub const DEFAULT_NR_IOTHREADS: i32 = 16;

/// tgtd's options, in C's `long_options` order. tgt: usr/tgtd.c
const SPECS: &[OptSpec<char>] = &[
    spec("foreground", 'f', HasArg::No),
    spec("control-port", 'C', HasArg::Required),
    spec("nr_iothreads", 't', HasArg::Required),
    spec("pid-file", 'p', HasArg::Required),
    spec("debug", 'd', HasArg::Required),
    spec("nodaemonize", 'D', HasArg::No),
    spec("version", 'V', HasArg::No),
    spec("help", 'h', HasArg::No),
];

const fn spec(long: &'static str, short: char, arg: HasArg) -> OptSpec<char> {
    OptSpec {
        id: short,
        long: Some(long),
        long_arg: arg,
        short: Some(short as u8),
        short_arg: arg,
    }
}

fn usage_text(prog: &str) -> String {
    format!(
        "Linux SCSI Target framework daemon (Rust), version {VERSION}\n\n\
         Usage: {prog} [OPTION]\n\
         -f, --foreground        run in the foreground, logging to stderr\n\
         -D, --nodaemonize       run in the foreground, logging as a daemon\n\
         -C, --control-port NNNN use port NNNN for the management socket\n\
         -t, --nr_iothreads NNNN number of backing-store I/O threads (default 16)\n\
         -p, --pid-file filename write the daemon's pid to filename\n\
         -d, --debug debuglevel  0 or 1: print debugging information\n\
         -V, --version           print version and exit\n\
         -h, --help              display this help and exit\n\
         --iscsi portal=ADDR[:PORT][,portal=...][,nop_interval=N][,nop_count=N]\n\
         \x20                       iSCSI portals and NOP-In defaults\n"
    )
}

fn hint(prog: &str, code: u8, mut stderr: String) -> Parsed {
    stderr.push_str(&format!("Try `{prog} --help' for more information.\n"));
    Parsed::Exit {
        code,
        stdout: String::new(),
        stderr,
    }
}

/// `str_to_int` with a range: EINVAL (22) when no number, ERANGE (34) when out of range.
fn number(v: &str, min: i64, max: i64) -> Result<i64, u8> {
    let (n, used) = tgt::mgmt::params::strtoul(v, 0);
    if used == 0 || n == u64::MAX {
        return Err(22);
    }
    let n = i64::try_from(n).map_err(|_| 34u8)?;
    if n < min || n > max {
        return Err(34);
    }
    Ok(n)
}

/// Parses argv (including argv[0]).
pub fn parse(argv: Vec<OsString>) -> Parsed {
    let prog = argv
        .first()
        .map(|p| {
            let p = p.to_string_lossy();
            p.rsplit('/').next().unwrap_or(&p).to_owned()
        })
        .unwrap_or_else(|| "tgtd".into());
    let mut args = Args {
        nr_iothreads: DEFAULT_NR_IOTHREADS,
        ..Args::default()
    };
    // tgtd sets `opterr = 0` and prints its own messages.
    let scan = Getopt::new(&argv, SPECS)
        .ordering(Ordering::from_env())
        .opterr(false);
    for item in scan {
        let m = match item {
            Ok(m) => m,
            // `--<driver> <string>`: driver parameters, the value is the next word.
            Err(e) => match e.kind {
                GetoptErrorKind::UnrecognizedLong { text } => {
                    let name = String::from_utf8_lossy(&text).into_owned();
                    let value = argv
                        .get(e.index + 1)
                        .map(|v| v.to_string_lossy().into_owned());
                    match name.as_str() {
                        "iscsi" => args.iscsi = value,
                        "iser" => {}
                        _ => return hint(&prog, 1, format!("'{name}' is an unknown option\n")),
                    }
                    continue;
                }
                _ => return hint(&prog, 1, String::new()),
            },
        };
        let short = m.id();
        let arg = m
            .arg
            .map(|a| a.to_string_lossy().into_owned())
            .unwrap_or_default();
        let bad = |code: u8| {
            let what = if code == 34 {
                "out of range"
            } else {
                "invalid"
            };
            hint(
                &prog,
                code,
                format!("-{short} argument value '{arg}' {what}\n"),
            )
        };
        match short {
            'f' => args.foreground = true,
            'D' => args.nodaemonize = true,
            'C' => match number(&arg, 0, i64::from(i16::MAX)) {
                Ok(n) => args.control_port = i16::try_from(n).unwrap_or(0),
                Err(c) => return bad(c),
            },
            't' => match number(&arg, 1, i64::from(i32::MAX)) {
                Ok(n) => args.nr_iothreads = i32::try_from(n).unwrap_or(DEFAULT_NR_IOTHREADS),
                Err(c) => return bad(c),
            },
            'p' => args.pid_file = Some(arg),
            'd' => match number(&arg, 0, 1) {
                Ok(n) => args.debug = n == 1,
                Err(c) => return bad(c),
            },
            'V' => {
                return Parsed::Exit {
                    code: 0,
                    stdout: format!("{VERSION}\n"),
                    stderr: String::new(),
                }
            }
            'h' => {
                return Parsed::Exit {
                    code: 0,
                    stdout: usage_text(&prog),
                    stderr: String::new(),
                }
            }
            _ => return hint(&prog, 1, String::new()),
        }
    }
    Parsed::Run(args)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Parsed {
        let mut v = vec![OsString::from("tgtd")];
        v.extend(args.iter().map(OsString::from));
        parse(v)
    }

    #[test]
    fn options_and_iscsi_params() {
        let Parsed::Run(a) = p(&["-f", "-C", "7", "--iscsi", "portal=127.0.0.1:3261"]) else {
            panic!()
        };
        assert!(a.foreground);
        assert_eq!(a.control_port, 7);
        assert_eq!(a.iscsi.as_deref(), Some("portal=127.0.0.1:3261"));
        let Parsed::Run(a) = p(&["--control-port=0x10", "-d1", "--nr_io", "4"]) else {
            panic!()
        };
        assert_eq!((a.control_port, a.debug, a.nr_iothreads), (16, true, 4));
    }

    #[test]
    fn bad_values_use_c_messages_and_codes() {
        let bad = |args: &[&str]| match p(args) {
            Parsed::Exit { code, stderr, .. } => (code, stderr),
            Parsed::Run(_) => panic!("parsed"),
        };
        assert_eq!(
            bad(&["-C", "abc"]),
            (
                22,
                "-C argument value 'abc' invalid\nTry `tgtd --help' for more information.\n".into()
            )
        );
        assert_eq!(bad(&["-d", "2"]).0, 34);
        assert_eq!(bad(&["-C", "40000"]).0, 34);
        assert_eq!(bad(&["-t", "0"]).0, 34);
        assert_eq!(
            bad(&["--foo", "x"]),
            (
                1,
                "'foo' is an unknown option\nTry `tgtd --help' for more information.\n".into()
            )
        );
        assert_eq!(bad(&["-Z"]).0, 1);
    }
}
