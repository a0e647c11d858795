//! SCSI emulation, transport-free: device types, logical units and the command set of
//! disks (SPC/SBC) and the controller at LUN 0 (SCC).
//!
//! Knows nothing of iSCSI or sockets. The transport hands a [`cmd::Command`] to
//! [`exec::execute`] with an [`exec::ExecContext`] and gets a [`cmd::Response`], now or
//! through its [`cmd::Completer`]. Layout: `exec` (addressing, common checks, residuals,
//! statistics), `opcodes` (the one command table), `cdb` (CDB fields), `spc`, `sbc`,
//! `mode`, `vpd`, `pr` (handlers), `sense`, `lu` (the LU and its attributes), `task_set`
//! (task attributes: which commands start now and which wait).
//! Sources: SAM-5, SPC-4, SBC-3, tgt `usr/scsi.c`, `usr/spc.c`, `usr/sbc.c`, `usr/scc.c`.

pub mod cdb;
pub mod cmd;
pub mod exec;
pub mod lu;
pub mod mode;
pub mod opcodes;
pub mod pr;
pub mod sbc;
pub mod sense;
pub mod spc;
pub mod task_set;
pub mod vpd;

use std::fmt;

/// SCSI peripheral device type as tgt numbers it (`TYPE_*` in tgt `usr/scsi.h`, SPC-4 §6.6.2).
/// Open: any `device_type` from a request survives decoding.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct DeviceType(pub u32);

impl DeviceType {
    /// Direct-access block device (SBC).
    pub const DISK: Self = Self(0x00);
    /// Sequential-access device (SSC).
    pub const TAPE: Self = Self(0x01);
    /// Printer.
    pub const PRINTER: Self = Self(0x02);
    /// Processor.
    pub const PROCESSOR: Self = Self(0x03);
    /// Write-once.
    pub const WORM: Self = Self(0x04);
    /// CD/DVD (MMC).
    pub const MMC: Self = Self(0x05);
    /// Scanner.
    pub const SCANNER: Self = Self(0x06);
    /// Optical memory.
    pub const MOD: Self = Self(0x07);
    /// Medium changer (SMC).
    pub const MEDIUM_CHANGER: Self = Self(0x08);
    /// Communications device.
    pub const COMM: Self = Self(0x09);
    /// Storage array controller (SCC): tgt's automatic LUN 0.
    pub const RAID: Self = Self(0x0c);
    /// Enclosure services.
    pub const ENCLOSURE: Self = Self(0x0d);
    /// Simplified direct-access (RBC).
    pub const RBC: Self = Self(0x0e);
    /// Object-based storage.
    pub const OSD: Self = Self(0x11);
    /// No logical unit.
    pub const NO_LUN: Self = Self(0x7f);
    /// tgt's pseudo type for SG_IO passthrough LUs.
    pub const PT: Self = Self(0xff);

    /// The name `tgtadm --op show` prints. tgt: usr/target.c `disk_type_names`
    pub fn name(self) -> Option<&'static str> {
        Some(match self {
            Self::DISK => "disk",
            Self::TAPE => "tape",
            Self::PRINTER => "printer",
            Self::PROCESSOR => "processor",
            Self::WORM => "worm",
            Self::MMC => "cd/dvd",
            Self::SCANNER => "scanner",
            Self::MOD => "optical",
            Self::MEDIUM_CHANGER => "changer",
            Self::COMM => "communication",
            Self::RAID => "controller",
            Self::ENCLOSURE => "enclosure",
            Self::RBC => "rbc",
            Self::OSD => "osd",
            Self::NO_LUN => "No LUN",
            Self::PT => "passthrough",
            _ => return None,
        })
    }

    /// Device types this daemon serves, in the order `sys show` lists them.
    // COMPAT: C tgt also registers cd/dvd, osd, changer and tape; we list (and accept)
    // only what we really serve.
    pub const SUPPORTED: &'static [Self] = &[Self::DISK, Self::RAID, Self::PT];

    /// Whether LUs of this type can be created here.
    pub fn is_supported(self) -> bool {
        Self::SUPPORTED.contains(&self)
    }
}

impl fmt::Debug for DeviceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "DeviceType({:#x})", self.0),
        }
    }
}
