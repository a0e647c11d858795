//! SCSI commands to a Linux SCSI device through the `SG_IO` ioctl: the sg driver's version 3
//! header on `/dev/sgN`, or the block layer's version 4 header on `/dev/bsg/H:C:T:L`, and
//! the few sg ioctls a passthrough LU needs when it opens its device.
//!
//! [`execute`] builds the header around the caller's CDB, data buffer and sense buffer and
//! blocks until the device answers or the timeout passes; it only reports what the kernel
//! wrote back. Knows nothing of iSCSI or of how a target uses the answer.
//! Sources: <scsi/sg.h>, <linux/bsg.h>, sg(4) "SCSI Generic (sg) HOWTO" (sg v3),
//! linux block/bsg.c, drivers/scsi/scsi_bsg.c.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

/// <scsi/sg.h> `SG_IO`.
const SG_IO: libc::c_ulong = 0x2285;
/// <scsi/sg.h> `SG_GET_VERSION_NUM`.
const SG_GET_VERSION_NUM: libc::c_ulong = 0x2282;
/// <scsi/sg.h> `SG_SET_RESERVED_SIZE`.
const SG_SET_RESERVED_SIZE: libc::c_ulong = 0x2275;

/// <scsi/sg.h> `dxfer_direction` values.
const SG_DXFER_NONE: i32 = -1;
const SG_DXFER_TO_DEV: i32 = -2;
const SG_DXFER_FROM_DEV: i32 = -3;

/// <linux/bsg.h> `BSG_PROTOCOL_SCSI`, `BSG_SUB_PROTOCOL_SCSI_CMD`.
const BSG_PROTOCOL_SCSI: u32 = 0;
const BSG_SUB_PROTOCOL_SCSI_CMD: u32 = 0;
/// <linux/bsg.h> `BSG_FLAG_Q_AT_TAIL`: queue behind the device's other commands (bsg
/// queues at the head by default).
const BSG_FLAG_Q_AT_TAIL: u32 = 0x10;

/// <scsi/sg.h> `struct sg_io_hdr` (sg version 3 interface): 88 bytes on 64-bit Linux.
#[repr(C)]
#[derive(Debug)]
struct SgIoHdr {
    interface_id: i32,
    dxfer_direction: i32,
    cmd_len: u8,
    mx_sb_len: u8,
    iovec_count: u16,
    dxfer_len: u32,
    dxferp: *mut libc::c_void,
    cmdp: *const u8,
    sbp: *mut u8,
    timeout: u32,
    flags: u32,
    pack_id: i32,
    usr_ptr: *mut libc::c_void,
    status: u8,
    masked_status: u8,
    msg_status: u8,
    sb_len_wr: u8,
    host_status: u16,
    driver_status: u16,
    resid: i32,
    duration: u32,
    info: u32,
}

/// <linux/bsg.h> `struct sg_io_v4`: 160 bytes, pointers carried as u64.
#[repr(C)]
#[derive(Debug, Default)]
struct SgIoV4 {
    guard: i32,
    protocol: u32,
    subprotocol: u32,
    request_len: u32,
    request: u64,
    request_tag: u64,
    request_attr: u32,
    request_priority: u32,
    request_extra: u32,
    max_response_len: u32,
    response: u64,
    dout_iovec_count: u32,
    dout_xfer_len: u32,
    din_iovec_count: u32,
    din_xfer_len: u32,
    dout_xferp: u64,
    din_xferp: u64,
    timeout: u32,
    flags: u32,
    usr_ptr: u64,
    spare_in: u32,
    driver_status: u32,
    transport_status: u32,
    device_status: u32,
    retry_delay: u32,
    info: u32,
    duration: u32,
    response_len: u32,
    din_resid: i32,
    dout_resid: i32,
    generated_tag: u64,
    spare_out: u32,
    padding: u32,
}

/// Which header a device node takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interface {
    /// `/dev/sgN`: sg version 3 (`struct sg_io_hdr`).
    SgV3,
    /// `/dev/bsg/...`: bsg version 4 (`struct sg_io_v4`).
    BsgV4,
}

/// The data phase of one command.
#[derive(Debug)]
pub enum Transfer<'a> {
    /// No data.
    None,
    /// Data to the device.
    ToDevice(&'a [u8]),
    /// Data from the device into this buffer.
    FromDevice(&'a mut [u8]),
}

/// What the kernel reported for one command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Reply {
    /// SCSI status byte from the device.
    pub status: u8,
    /// Host adapter status (`DID_*`; 0 when the command reached the device).
    pub host_status: u16,
    /// Driver status (`DRIVER_*`, `DRIVER_SENSE` 0x08 only says sense was written).
    pub driver_status: u16,
    /// Bytes of the data phase not transferred.
    pub resid: u32,
    /// Bytes of sense data written into the sense buffer.
    pub sense_len: usize,
}

/// Runs one command on `fd` and waits for it (at most `timeout_ms`, enforced by the SCSI
/// midlayer). `sense` receives up to 255 bytes of sense data. An `Err` means the command
/// was not run: the kernel refused the header (e.g. a transfer above the device's limits).
pub fn execute(
    fd: BorrowedFd<'_>,
    iface: Interface,
    cdb: &[u8],
    transfer: Transfer<'_>,
    sense: &mut [u8],
    timeout_ms: u32,
) -> io::Result<Reply> {
    let cmd_len =
        u8::try_from(cdb.len()).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    let sense_cap = sense.len().min(usize::from(u8::MAX));
    match iface {
        Interface::SgV3 => {
            let (direction, ptr, len): (i32, *mut libc::c_void, usize) = match transfer {
                Transfer::None => (SG_DXFER_NONE, std::ptr::null_mut(), 0),
                // The kernel only reads a TO_DEV buffer; the header type wants `*mut`.
                Transfer::ToDevice(b) => (SG_DXFER_TO_DEV, b.as_ptr().cast_mut().cast(), b.len()),
                Transfer::FromDevice(b) => (SG_DXFER_FROM_DEV, b.as_mut_ptr().cast(), b.len()),
            };
            let mut hdr = SgIoHdr {
                interface_id: i32::from(b'S'),
                dxfer_direction: direction,
                cmd_len,
                mx_sb_len: u8::try_from(sense_cap).unwrap_or(u8::MAX),
                iovec_count: 0,
                dxfer_len: u32::try_from(len)
                    .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?,
                dxferp: ptr,
                cmdp: cdb.as_ptr(),
                sbp: sense.as_mut_ptr(),
                timeout: timeout_ms,
                flags: 0,
                pack_id: -1,
                usr_ptr: std::ptr::null_mut(),
                status: 0,
                masked_status: 0,
                msg_status: 0,
                sb_len_wr: 0,
                host_status: 0,
                driver_status: 0,
                resid: 0,
                duration: 0,
                info: 0,
            };
            // SAFETY: `hdr` is a valid `sg_io_hdr` whose pointers (`cmdp`, `dxferp` with
            // `dxfer_len` bytes, `sbp` with `mx_sb_len` bytes) borrow buffers that outlive
            // this call; SG_IO is synchronous, so the kernel is done with them when it returns.
            let rc = unsafe { libc::ioctl(fd.as_raw_fd(), SG_IO, &mut hdr as *mut SgIoHdr) };
            if rc < 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(Reply {
                status: hdr.status,
                host_status: hdr.host_status,
                driver_status: hdr.driver_status,
                resid: u32::try_from(hdr.resid).unwrap_or(0),
                sense_len: usize::from(hdr.sb_len_wr).min(sense_cap),
            })
        }
        Interface::BsgV4 => {
            let mut hdr = SgIoV4 {
                guard: i32::from(b'Q'),
                protocol: BSG_PROTOCOL_SCSI,
                subprotocol: BSG_SUB_PROTOCOL_SCSI_CMD,
                request_len: u32::from(cmd_len),
                request: cdb.as_ptr() as u64,
                max_response_len: u32::try_from(sense_cap).unwrap_or(0),
                response: sense.as_mut_ptr() as u64,
                timeout: timeout_ms,
                flags: BSG_FLAG_Q_AT_TAIL,
                ..SgIoV4::default()
            };
            let too_big = || io::Error::from_raw_os_error(libc::EINVAL);
            match transfer {
                Transfer::None => {}
                Transfer::ToDevice(b) => {
                    hdr.dout_xfer_len = u32::try_from(b.len()).map_err(|_| too_big())?;
                    hdr.dout_xferp = b.as_ptr() as u64;
                }
                Transfer::FromDevice(b) => {
                    hdr.din_xfer_len = u32::try_from(b.len()).map_err(|_| too_big())?;
                    hdr.din_xferp = b.as_mut_ptr() as u64;
                }
            }
            // SAFETY: `hdr` is a valid `sg_io_v4` whose addresses (`request`, the data
            // buffer with its length, `response` with `max_response_len` bytes) borrow
            // buffers that outlive this call; SG_IO is synchronous.
            let rc = unsafe { libc::ioctl(fd.as_raw_fd(), SG_IO, &mut hdr as *mut SgIoV4) };
            if rc < 0 {
                return Err(io::Error::last_os_error());
            }
            let resid = if hdr.din_xfer_len > 0 {
                hdr.din_resid
            } else {
                hdr.dout_resid
            };
            Ok(Reply {
                status: u8::try_from(hdr.device_status & 0xff).unwrap_or(0),
                host_status: u16::try_from(hdr.transport_status).unwrap_or(u16::MAX),
                driver_status: u16::try_from(hdr.driver_status).unwrap_or(u16::MAX),
                resid: u32::try_from(resid).unwrap_or(0),
                sense_len: usize::try_from(hdr.response_len)
                    .unwrap_or(0)
                    .min(sense_cap),
            })
        }
    }
}

/// The sg driver's version number (`SG_GET_VERSION_NUM`, e.g. 30536 for 3.5.36).
pub fn version(fd: BorrowedFd<'_>) -> io::Result<i32> {
    let mut v: libc::c_int = 0;
    // SAFETY: SG_GET_VERSION_NUM writes one int through the pointer, which is valid.
    let rc = unsafe {
        libc::ioctl(
            fd.as_raw_fd(),
            SG_GET_VERSION_NUM,
            &mut v as *mut libc::c_int,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(v)
}

/// Sets the driver's reserved buffer size for this file descriptor (`SG_SET_RESERVED_SIZE`).
pub fn set_reserved_size(fd: BorrowedFd<'_>, bytes: i32) -> io::Result<()> {
    let v: libc::c_int = bytes;
    // SAFETY: SG_SET_RESERVED_SIZE reads one int through the pointer, which is valid.
    let rc = unsafe {
        libc::ioctl(
            fd.as_raw_fd(),
            SG_SET_RESERVED_SIZE,
            &v as *const libc::c_int,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_layouts_match_the_kernel() {
        assert_eq!(std::mem::size_of::<SgIoV4>(), 160);
        assert_eq!(std::mem::offset_of!(SgIoV4, din_xferp), 80);
        assert_eq!(std::mem::offset_of!(SgIoV4, device_status), 116);
        assert_eq!(std::mem::offset_of!(SgIoV4, din_resid), 136);
        #[cfg(target_pointer_width = "64")]
        {
            assert_eq!(std::mem::size_of::<SgIoHdr>(), 88);
            assert_eq!(std::mem::offset_of!(SgIoHdr, dxferp), 16);
            assert_eq!(std::mem::offset_of!(SgIoHdr, usr_ptr), 56);
            assert_eq!(std::mem::offset_of!(SgIoHdr, status), 64);
            assert_eq!(std::mem::offset_of!(SgIoHdr, resid), 72);
        }
    }

    #[test]
    fn sg_io_on_a_non_sg_file_is_an_error_not_a_crash() {
        let f = std::fs::File::open("/dev/null").expect("open /dev/null");
        use std::os::fd::AsFd;
        let mut sense = [0u8; 32];
        let r = execute(
            f.as_fd(),
            Interface::SgV3,
            &[0x00; 6],
            Transfer::None,
            &mut sense,
            1000,
        );
        assert!(r.is_err());
        assert!(version(f.as_fd()).is_err());
    }
}
