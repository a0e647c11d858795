//! tgtadm: the tgt management client, a drop-in for C tgtadm 1.0.85.
//!
//! Same options (long, short, abbreviated, permuted), same request bytes on the management
//! socket, same stdout, stderr and exit status for every command line. The flow is C's:
//! parse argv left to right (`options`), validate per mode and operation (`check`), build the
//! header and body (`request`), send them with `tgt::mgmt::client`, print the answer text.
//!
//! The command line is scanned with `tgt::getopt`, a GNU `getopt_long` work-alike, instead of
//! clap, deliberately: clap's parsing, wording and ordering of errors differ from glibc's, and
//! scripts and the golden tests see stderr and exit codes.
//!
//! Source: tgt `usr/tgtadm.c`; facts in `shared/reference/tgtadm-cli.md` and
//! `shared/reference/mgmt-protocol.md`.

mod check;
mod options;
mod request;

use std::ffi::OsString;
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::process::ExitCode;

use tgt::mgmt::client::{Client, ClientError};

use crate::check::Rejection;
use crate::options::{NumError, ParseStop};

/// The name C tgtadm uses in its own messages (glibc's getopt messages use `argv[0]`).
/// tgt: usr/tgtadm.c `program_name`
const PROGRAM: &str = "tgtadm";

/// Printed after every command-line error. tgt: usr/tgtadm.c `usage()`
const TRY_HELP: &[u8] = b"Try `tgtadm --help' for more information.\n";

/// Where C tgtadm's `-d` line comes from: `dprintf()` prints the function and source line.
/// tgt: usr/tgtadm.c `ipc_mgmt_req()`, line 348 of the 1.0.85 source
const DEBUG_SENT: &str = "ipc_mgmt_req 348: sent to tgtd";

/// EINVAL, C tgtadm's status for every refused command line.
const EXIT_EINVAL: u8 = 22;

/// Why tgtadm stopped without success.
#[derive(Debug)]
enum Failure {
    /// The command line itself.
    Parse(ParseStop),
    /// A mode/op rule.
    Rejected(Rejection),
    /// Talking to tgtd.
    Client(ClientError),
}

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => report(&args, failure),
    }
}

/// Everything but error reporting. tgt: usr/tgtadm.c `main()`, `ipc_mgmt_req()`
fn run(args: &[OsString]) -> Result<(), Failure> {
    let cl = match options::parse(args) {
        Ok(cl) => cl,
        Err(ParseStop::Help) => {
            emit(io::stdout(), help().as_bytes());
            return Ok(());
        }
        Err(ParseStop::Version) => {
            emit(
                io::stdout(),
                format!("{}\n", env!("CARGO_PKG_VERSION")).as_bytes(),
            );
            return Ok(());
        }
        Err(stop) => return Err(Failure::Parse(stop)),
    };
    let (mode, op) = check::check(&cl).map_err(Failure::Rejected)?;
    let req = request::header(&cl, mode, op);
    let body = request::body(&cl);

    let pending = Client::from_env(cl.control_port)
        .send(&req, &body)
        .map_err(Failure::Client)?;
    if cl.debug {
        emit(
            io::stderr(),
            format!("{DEBUG_SENT} {}\n", pending.sent_len()).as_bytes(),
        );
    }
    let reply = pending.receive().map_err(Failure::Client)?;
    emit(io::stdout(), &reply.text);
    Ok(())
}

/// The one place that turns a failure into C tgtadm's stderr text and exit status.
fn report(args: &[OsString], failure: Failure) -> ExitCode {
    let prefixed = |text: &[u8]| [PROGRAM.as_bytes(), b": ", text, b"\n"].concat();
    let (text, code): (Vec<u8>, u8) = match failure {
        Failure::Parse(stop) => match stop {
            ParseStop::Getopt(e) => {
                let prog = args.first().map(OsString::as_os_str).unwrap_or_default();
                ([e.render(prog).as_slice(), TRY_HELP].concat(), EXIT_EINVAL)
            }
            ParseStop::BadNumber { letter, arg, err } => {
                let what: &[u8] = match err {
                    NumError::Invalid => b"invalid",
                    NumError::OutOfRange => b"out of range",
                };
                let line = [
                    b"-",
                    &[letter][..],
                    b" argument value '",
                    arg.as_bytes(),
                    b"' ",
                    what,
                    b"\n",
                ];
                ([line.concat().as_slice(), TRY_HELP].concat(), EXIT_EINVAL)
            }
            ParseStop::UnknownMode(m) => (prefixed(&[b"unknown mode: ", m.as_bytes()].concat()), 1),
            ParseStop::UnknownOp(o) => (
                prefixed(&[b"unknown operation: ", o.as_bytes()].concat()),
                1,
            ),
            ParseStop::UnknownDeviceType(t) => (
                prefixed(&[b"unknown target type: ", t.as_bytes()].concat()),
                EXIT_EINVAL,
            ),
            ParseStop::BusNotFound(b) => (
                prefixed(&[b"can't find bus: ", b.as_bytes()].concat()),
                EXIT_EINVAL,
            ),
            ParseStop::Operand(w) => {
                let line = prefixed(&[b"unrecognized option '", w.as_bytes(), b"'"].concat());
                ([line.as_slice(), TRY_HELP].concat(), EXIT_EINVAL)
            }
            // Handled in `run`; listed so that this match stays exhaustive.
            ParseStop::Help | ParseStop::Version => (Vec::new(), 0),
        },
        Failure::Rejected(r) => (prefixed(r.to_string().as_bytes()), EXIT_EINVAL),
        Failure::Client(e) => {
            if e.is_broken_pipe() {
                die_of_sigpipe();
            }
            let text = match &e {
                ClientError::NotConnected { path, .. } if path.too_long => {
                    let too_long = [
                        b"management path too long: ",
                        path.path.as_os_str().as_bytes(),
                    ];
                    [
                        prefixed(&too_long.concat()),
                        prefixed(e.to_string().as_bytes()),
                    ]
                    .concat()
                }
                // C writes these two with a bare fprintf: no program name, no newline.
                ClientError::BadLength { .. } | ClientError::ReadBody { .. } => {
                    e.to_string().into_bytes()
                }
                ClientError::TruncatedBody { .. } => Vec::new(),
                _ => prefixed(e.to_string().as_bytes()),
            };
            (text, e.exit_code())
        }
    };
    emit(io::stderr(), &text);
    ExitCode::from(code)
}

/// Writes as C's stdio does for tgtadm: failures are ignored, except that writing to a
/// closed pipe kills the process with SIGPIPE, which C tgtadm leaves at its default.
fn emit(mut out: impl Write, bytes: &[u8]) {
    if bytes.is_empty() {
        return;
    }
    if let Err(e) = out.write_all(bytes).and_then(|()| out.flush()) {
        if e.kind() == io::ErrorKind::BrokenPipe {
            die_of_sigpipe();
        }
    }
}

/// Ends the process the way C tgtadm ends on a write to a closed pipe or socket. The Rust
/// runtime ignores SIGPIPE, so the default action is restored and the signal raised.
fn die_of_sigpipe() {
    // If that fails the caller carries on and exits with the errno status, as C would with
    // SIGPIPE ignored.
    let _ = signal_hook::low_level::emulate_default_handler(signal_hook::consts::SIGPIPE);
}

/// `tgtadm --help`. The first line keeps C's form (description, then the version); the rest
/// is our own summary of every option. tgt: usr/tgtadm.c `usage()`
fn help() -> String {
    format!(
        "Linux SCSI Target administration utility, version {version}

Usage: {PROGRAM} [OPTION]...
Send one management request to a running tgtd and print its answer.

Modes (--mode) and their operations (--op):
  system (sys)        show, update, delete, stat
  target (tgt)        new, delete, show, bind, unbind, update, stat
  logicalunit (lu)    new, delete, update, stat
  portal (pt)         new, delete, show
  lld                 start, stop, show
  session (sess)      stat
  connection (conn)   show, stat, delete
  account             new, delete, show, bind, unbind

Options:
  -L, --lld <driver>              low-level driver: iscsi (default) or iser
  -m, --mode <mode>               what to manage (see above)
  -o, --op <operation>            what to do with it (see above)
  -t, --tid <id>                  target id (not 0)
  -l, --lun <lun>                 logical unit number
  -s, --sid <id>                  session id
  -c, --cid <id>                  connection id
  -n, --name <param>              parameter to update (with --value)
  -v, --value <value>             its new value
  -T, --targetname <name>         name of a new target
  -b, --backing-store <path>      file or block device behind a logical unit
  -E, --bstype <type>             backing store type: rdwr, aio, sg, bsg, null, ...
  -S, --bsopts <options>          backing store specific options
  -f, --bsoflags <flags>          backing store open flags: sync, direct, sync:direct
  -y, --blocksize <bytes>         logical block size of a new logical unit
  -Y, --device-type <type>        disk, tape, ssc, cd, changer, osd or pt
  -P, --params <k=v,...>          logical unit parameters; after --mode portal,
                                  portal=<address[:port]>
  -I, --initiator-address <addr>  initiator address to allow (ALL, address, net/prefix)
  -Q, --initiator-name <name>     initiator name to allow
  -u, --user <name>               account name
  -p, --password <password>       account password
  -O, --outgoing                  bind or unbind the outgoing account (short form
                                  takes an ignored argument: -O x)
  -F, --force                     delete a target even while it is in use (short
                                  form takes an ignored argument: -F x)
  -H, --host <host>               SCSI host number to bind a target to
  -B, --bus <bus,device>          SCSI host to bind, found under /sys/bus
  -C, --control-port <port>       talk to the tgtd started with this control port
  -d, --debug                     print what is sent to tgtd
  -h, --help                      display this help and exit
  -V, --version                   output version information and exit

Examples:
  {PROGRAM} --lld iscsi --mode target --op new --tid 1 --targetname iqn.2001-04.com.example:t1
  {PROGRAM} --lld iscsi --mode logicalunit --op new --tid 1 --lun 1 --backing-store /srv/disk.img
  {PROGRAM} --lld iscsi --mode target --op bind --tid 1 --initiator-address ALL
  {PROGRAM} --lld iscsi --mode target --op show

Report bugs to <stgt@vger.kernel.org>.
",
        version = env!("CARGO_PKG_VERSION"),
    )
}
