//! The `sg` and `bsg` stores: a passthrough LU's media is a Linux SCSI device, and every
//! command sent to the LU goes to that device unchanged ([`run`]).
//!
//! Opening checks what tgt checks: a character device with the sg major (21), or a node
//! under `/dev/bsg/` whose major is the one `/sys/class/bsg/<name>/dev` gives; an sg
//! driver of version 3 or later; the driver's reserved buffer set to 512 KiB; and a
//! longer timeout when the device is a tape. Commands run with the blocking `SG_IO` ioctl
//! on a backing-store worker, for both kinds of node.
//! Sources: tgt usr/bs_sg.c (`chk_sg_device()`, `init_sg_device()`, `bs_sg_open()`,
//! `bs_sg_cmd_submit()`, `bs_sg_cmd_complete()`), sg(4).

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsFd;
use std::os::unix::fs::FileTypeExt;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::sync::Arc;

use crate::sys::sg::{self, Interface, Transfer};

use super::{Access, BsError, Media};

/// `SCSI_GENERIC_MAJOR` from <linux/major.h>.
const SCSI_GENERIC_MAJOR: u32 = 21;
/// The sg driver's reserved buffer size tgt asks for. tgt: `BS_SG_RESVD_SZ`
const RESERVED_SIZE: i32 = 512 * 1024;
/// Command timeout: 30 s, as tgt.
pub const TIMEOUT_MS: u32 = 30 * 1000;
/// Command timeout for a tape, whose commands (rewind, erase) take long: 14000 s, as tgt.
pub const TAPE_TIMEOUT_MS: u32 = 14_000 * 1000;
/// Most sense bytes a device can return through SG_IO.
pub const MAX_SENSE: usize = 252;

/// How a passthrough LU reaches its device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Passthrough {
    /// sg v3 or bsg v4 headers.
    pub iface: Interface,
    /// Per-command timeout in milliseconds.
    pub timeout_ms: u32,
}

/// Which kind of node `path` is, or why it is neither. tgt: `chk_sg_device()`
fn classify(path: &str) -> Result<Interface, BsError> {
    let not_sg = |why: &str| BsError::Open {
        path: PathBuf::from(path),
        err: io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("not recognized as an SG device: {why}"),
        ),
    };
    let md = std::fs::metadata(path).map_err(|err| BsError::Open {
        path: PathBuf::from(path),
        err,
    })?;
    if !md.file_type().is_char_device() {
        return Err(not_sg("not a character device"));
    }
    let major = nix::sys::stat::major(md.rdev());
    if major == u64::from(SCSI_GENERIC_MAJOR) {
        return Ok(Interface::SgV3);
    }
    if let Some(name) = path.strip_prefix("/dev/bsg/") {
        let dev = std::fs::read_to_string(format!("/sys/class/bsg/{name}/dev"))
            .map_err(|_| not_sg("no /sys/class/bsg entry"))?;
        let bsg_major = dev
            .split(':')
            .next()
            .and_then(|m| m.trim().parse::<u64>().ok());
        if bsg_major == Some(major) {
            return Ok(Interface::BsgV4);
        }
    }
    Err(not_sg("neither the sg major nor a bsg device"))
}

/// Opens a passthrough device. Its size is 0: the device answers READ CAPACITY itself.
/// tgt: `bs_sg_open()`
pub fn open(path: &str) -> Result<Media, BsError> {
    let iface = classify(path)?;
    let err_path = || PathBuf::from(path);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(|err| BsError::Open {
            path: err_path(),
            err,
        })?;
    let setup = |e: io::Error| BsError::Open {
        path: err_path(),
        err: e,
    };
    if iface == Interface::SgV3 {
        let v = sg::version(file.as_fd()).map_err(setup)?;
        if v < 30000 {
            return Err(setup(io::Error::new(
                io::ErrorKind::Unsupported,
                format!("sg driver {v} is older than 3.0"),
            )));
        }
    }
    sg::set_reserved_size(file.as_fd(), RESERVED_SIZE).map_err(setup)?;
    let timeout_ms = if is_tape(&file, iface) {
        TAPE_TIMEOUT_MS
    } else {
        TIMEOUT_MS
    };
    tracing::info!(path, ?iface, timeout_ms, "passthrough device opened");
    Ok(Media {
        file: Some(Arc::new(file)),
        size: 0,
        preferred_blksize: None,
        read_only_fallback: false,
        access: Access::Buffered,
        passthrough: Some(Passthrough { iface, timeout_ms }),
        rbd: None,
    })
}

/// Asks the device's INQUIRY whether it is a tape (peripheral device type 1).
fn is_tape(file: &File, iface: Interface) -> bool {
    let mut data = [0u8; 36];
    let mut sense = [0u8; 32];
    let cdb = [0x12, 0, 0, 0, 36, 0];
    matches!(
        sg::execute(
            file.as_fd(),
            iface,
            &cdb,
            Transfer::FromDevice(&mut data),
            &mut sense,
            TIMEOUT_MS,
        ),
        Ok(r) if r.status == 0 && data[0] & 0x1f == 0x01
    )
}

/// The result of one passed-through command.
#[derive(Debug)]
pub enum PtDone {
    /// The device answered: its status, its sense bytes, the data it returned, and the
    /// bytes of the data phase that were not transferred.
    Answered {
        /// SCSI status byte.
        status: u8,
        /// Sense data as the device wrote it.
        sense: Vec<u8>,
        /// Data-in, cut to what was transferred.
        data_in: Vec<u8>,
        /// Untransferred bytes of the data phase.
        resid: u32,
    },
    /// The command did not complete at the device: the host adapter or driver reported
    /// an error (lost device, timeout) without a SCSI status.
    Transport {
        /// `DID_*` host status.
        host_status: u16,
        /// `DRIVER_*` status.
        driver_status: u16,
    },
    /// The kernel refused the command before sending it.
    Refused(io::Error),
}

/// `DRIVER_SENSE`: sense was written; not an error by itself.
const DRIVER_SENSE: u16 = 0x08;

/// Sends `cdb` with `data_out` (when non-empty) or asks for `expected_in` bytes, and
/// waits. Blocks: run it on a backing-store worker.
pub fn run(
    file: &File,
    pt: Passthrough,
    cdb: &[u8],
    data_out: &[u8],
    expected_in: usize,
) -> PtDone {
    let mut sense = vec![0u8; MAX_SENSE];
    let mut data_in = vec![0u8; if data_out.is_empty() { expected_in } else { 0 }];
    let transfer = if !data_out.is_empty() {
        Transfer::ToDevice(data_out)
    } else if !data_in.is_empty() {
        Transfer::FromDevice(&mut data_in)
    } else {
        Transfer::None
    };
    let reply = match sg::execute(
        file.as_fd(),
        pt.iface,
        cdb,
        transfer,
        &mut sense,
        pt.timeout_ms,
    ) {
        Ok(r) => r,
        Err(e) => return PtDone::Refused(e),
    };
    if reply.status == 0 && (reply.host_status != 0 || reply.driver_status & !DRIVER_SENSE != 0) {
        return PtDone::Transport {
            host_status: reply.host_status,
            driver_status: reply.driver_status,
        };
    }
    sense.truncate(reply.sense_len);
    let moved = data_in
        .len()
        .saturating_sub(usize::try_from(reply.resid).unwrap_or(0));
    data_in.truncate(moved);
    PtDone::Answered {
        status: reply.status,
        sense,
        data_in,
        resid: reply.resid,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sg_and_bsg_nodes_are_accepted() {
        for p in [
            "/dev/null",
            "/dev/zero",
            "/etc/hostname",
            "/nonexistent/sg0",
            "/dev/bsg/9:9:9:9",
        ] {
            assert!(open(p).is_err(), "{p} accepted");
        }
    }

    #[test]
    fn refused_command_is_reported_not_panicked() {
        let f = File::open("/dev/null").expect("open");
        let pt = Passthrough {
            iface: Interface::SgV3,
            timeout_ms: 1000,
        };
        assert!(matches!(run(&f, pt, &[0; 6], &[], 8), PtDone::Refused(_)));
    }
}
