//! tgt in Rust: the SCSI target framework daemon (`tgtd`) and the library behind `tgtadm`
//! and `tgt-admin`.
//!
//! Architecture (see `shared/DESIGN.md`); dependencies point one way, from the bottom up:
//! - [`bs`]: backing stores (`--bstype`): opening media, the store registry, the I/O
//!   engines (worker pool for rdwr, native AIO for aio).
//! - [`scsi`]: SCSI device types, logical units and their command set (SPC/SBC, the LUN 0
//!   controller), transport-free: `scsi::exec::execute` runs one command.
//! - [`tgt`]: the core configuration tgtadm edits: targets, LUs, ACLs, accounts, drivers.
//! - [`iscsi`]: the iSCSI driver: session keys, portals, iSNS settings.
//! - [`mgmt`]: the management IPC protocol, byte-compatible with C tgt: `wire` (shared with
//!   tgtadm and tgt-admin), `client`, and the daemon side `server` + `render`.
//! - [`event`]: the main mio loop that owns the sockets.
//! - [`getopt`]: GNU `getopt_long`-compatible argument scanning for tgtd and tgtadm.
//! - [`log`]: the run-time debug switch.
//! - [`sys`]: every `unsafe` operation, behind safe functions (CRC32C, native AIO, statx).
#![deny(clippy::print_stdout)]

pub mod bs;
pub mod event;
pub mod fuzzing;
pub mod getopt;
pub mod iscsi;
pub mod log;
pub mod mgmt;
pub mod scsi;
pub mod sys;
pub mod tgt;
