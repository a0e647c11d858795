//! tgt in Rust: the SCSI target framework daemon (`tgtd`) and the library behind `tgtadm` and
//! `tgt-admin`.
//!
//! Architecture (see `shared/DESIGN.md`):
//! - [`mgmt`]: the management IPC protocol, byte-compatible with C tgt.
#![deny(clippy::print_stdout)]

pub mod getopt;
pub mod mgmt;
