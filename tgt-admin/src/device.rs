//! Questions about backing devices: does it exist, is it in use, what does it say it is.
//!
//! Owns the Perl tool's `check_device()` (targets-conf.md §4.2) and the device identity it
//! reads for `direct-store` (§4.3), answered natively: the "used by the system" test is the
//! same `open(O_RDONLY|O_EXCL)`; the "used by a process" test scans `/proc/*/{fd,cwd,root,exe,
//! maps}` for the file, which is what `lsof FILE` reports; the identity comes from sysfs, the
//! kernel's copy of the INQUIRY data, VPD pages 0x80 and 0xB0 and the queue limits, instead of
//! running `sg_inq` and `sg_readcap`.
// COMPAT: no `lsof`, `sg_inq` or `sg_readcap` are needed, so the Perl tool's "Command 'lsof'
// is not in your path" comments and its exit when sg_inq is missing do not happen.

use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// The answers the planner needs about a path. A trait so that tests can script them.
pub trait Probe {
    /// Perl `-e $path && ! -d $path`.
    fn is_usable_file(&self, path: &str) -> bool;
    /// Perl `-e $path`.
    fn exists(&self, path: &str) -> bool;
    /// `sysopen(O_RDONLY|O_EXCL)` fails with EBUSY: mounted, swap, held by a RAID set...
    fn used_by_system(&self, path: &str) -> bool;
    /// A process has the file open (`lsof FILE` exits 0).
    fn used_by_process(&self, path: &str) -> bool;
    /// What the device of a direct-store reports about itself.
    fn identity(&self, path: &str) -> Identity;
}

/// Device parameters a direct-store takes from the device (each `None` when unknown).
/// The fields hold the text the Perl tool would have captured from sg_inq/sg_readcap.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    /// `vendor_id` (INQUIRY bytes 8..16, as printed).
    pub vendor_id: Option<String>,
    /// `product_id` (bytes 16..32).
    pub product_id: Option<String>,
    /// `product_rev` (bytes 32..36).
    pub product_rev: Option<String>,
    /// `scsi_sn` (VPD 0x80).
    pub scsi_sn: Option<String>,
    /// `optimal_xfer_gran` (VPD 0xB0, blocks).
    pub optimal_xfer_gran: Option<String>,
    /// `optimal_xfer_len` (VPD 0xB0, blocks).
    pub optimal_xfer_len: Option<String>,
    /// Logical block length, used as `--blocksize`.
    pub block_size: Option<String>,
    /// `lbppbe`.
    pub lbppbe: Option<String>,
    /// `la_lba`.
    pub la_lba: Option<String>,
}

impl Identity {
    /// The value for LU parameter `key`.
    pub fn param(&self, key: &str) -> Option<&str> {
        match key {
            "vendor_id" => self.vendor_id.as_deref(),
            "product_id" => self.product_id.as_deref(),
            "product_rev" => self.product_rev.as_deref(),
            "scsi_sn" => self.scsi_sn.as_deref(),
            "optimal_xfer_gran" => self.optimal_xfer_gran.as_deref(),
            "optimal_xfer_len" => self.optimal_xfer_len.as_deref(),
            "lbppbe" => self.lbppbe.as_deref(),
            "la_lba" => self.la_lba.as_deref(),
            _ => None,
        }
    }
}

/// The real system.
#[derive(Debug, Default, Clone, Copy)]
pub struct System;

impl Probe for System {
    fn is_usable_file(&self, path: &str) -> bool {
        !path.is_empty() && fs::metadata(path).is_ok_and(|m| !m.is_dir())
    }

    fn exists(&self, path: &str) -> bool {
        !path.is_empty() && fs::metadata(path).is_ok()
    }

    fn used_by_system(&self, path: &str) -> bool {
        let excl = nix::fcntl::OFlag::O_EXCL.bits();
        match fs::OpenOptions::new()
            .read(true)
            .custom_flags(excl)
            .open(path)
        {
            Ok(_) => false,
            Err(e) => e.raw_os_error() == Some(nix::errno::Errno::EBUSY as i32),
        }
    }

    fn used_by_process(&self, path: &str) -> bool {
        let Ok(target) = fs::metadata(path) else {
            return false;
        };
        open_anywhere(&target)
    }

    fn identity(&self, path: &str) -> Identity {
        sysfs_identity(path).unwrap_or_default()
    }
}

/// Does a file match `target` the way lsof matches names: device special files by device
/// number, everything else by file system and inode.
fn same_file(target: &fs::Metadata, other: &fs::Metadata) -> bool {
    let special = |m: &fs::Metadata| {
        let t = m.file_type();
        t.is_block_device() || t.is_char_device()
    };
    if special(target) {
        special(other)
            && target.file_type().is_block_device() == other.file_type().is_block_device()
            && target.rdev() == other.rdev()
    } else {
        target.dev() == other.dev() && target.ino() == other.ino()
    }
}

/// Scans every process for an open descriptor, working directory, root, executable or
/// mapping of `target`. This process is included: lsof, run by the Perl tool, sees the Perl
/// tool too (`backing-store` naming its working directory counts as in use).
fn open_anywhere(target: &fs::Metadata) -> bool {
    let Ok(procs) = fs::read_dir("/proc") else {
        return false;
    };
    for p in procs.filter_map(Result::ok) {
        let name = p.file_name();
        let Some(pid) = name.to_str() else { continue };
        if !pid.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let dir = p.path();
        let mut links: Vec<PathBuf> = ["cwd", "root", "exe"].iter().map(|l| dir.join(l)).collect();
        if let Ok(fds) = fs::read_dir(dir.join("fd")) {
            links.extend(fds.filter_map(Result::ok).map(|e| e.path()));
        }
        if links
            .iter()
            .any(|l| fs::metadata(l).is_ok_and(|m| same_file(target, &m)))
        {
            return true;
        }
        if mapped(&dir.join("maps"), target) {
            return true;
        }
    }
    false
}

/// `/proc/PID/maps` lines are `ADDR PERMS OFFSET MAJ:MIN INODE PATH`.
fn mapped(maps: &Path, target: &fs::Metadata) -> bool {
    if target.file_type().is_block_device() || target.file_type().is_char_device() {
        return false;
    }
    let Ok(text) = fs::read_to_string(maps) else {
        return false;
    };
    let (maj, min) = (dev_major(target.dev()), dev_minor(target.dev()));
    text.lines().any(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        let (Some(dev), Some(ino)) = (f.get(3), f.get(4)) else {
            return false;
        };
        let Some((a, b)) = dev.split_once(':') else {
            return false;
        };
        u64::from_str_radix(a, 16).ok() == Some(maj)
            && u64::from_str_radix(b, 16).ok() == Some(min)
            && ino.parse::<u64>().ok() == Some(target.ino())
    })
}

/// glibc `gnu_dev_major()`.
fn dev_major(dev: u64) -> u64 {
    ((dev >> 32) & 0xffff_f000) | ((dev >> 8) & 0x0000_0fff)
}

/// glibc `gnu_dev_minor()`.
fn dev_minor(dev: u64) -> u64 {
    ((dev >> 12) & 0xffff_ff00) | (dev & 0x0000_00ff)
}

/// Reads a sysfs attribute without its final newline.
fn attr(dir: &Path, name: &str) -> Option<String> {
    let s = fs::read_to_string(dir.join(name)).ok()?;
    Some(s.strip_suffix('\n').unwrap_or(&s).to_string())
}

/// The identity of the SCSI device behind `path` (a block device, a partition's disk or an
/// sg/bsg character device), or `None` for anything else (a regular file: sg_inq fails on
/// it too, and the Perl tool then uses no device values).
fn sysfs_identity(path: &str) -> Option<Identity> {
    let meta = fs::metadata(path).ok()?;
    let ft = meta.file_type();
    let (maj, min) = (dev_major(meta.rdev()), dev_minor(meta.rdev()));
    let kind = if ft.is_block_device() {
        "block"
    } else if ft.is_char_device() {
        "char"
    } else {
        return None;
    };
    let mut node = fs::canonicalize(format!("/sys/dev/{kind}/{maj}:{min}")).ok()?;
    if kind == "block" && node.join("partition").exists() {
        node = node.parent()?.to_path_buf();
    }
    let scsi = fs::canonicalize(node.join("device")).ok()?;
    // The queue limits live with the disk: the node itself, or the sg device's disk.
    let disk = if kind == "block" {
        Some(node.clone())
    } else {
        fs::read_dir(scsi.join("block"))
            .ok()
            .and_then(|mut d| d.next())
            .and_then(Result::ok)
            .map(|e| e.path())
    };
    let mut id = Identity {
        // sg_inq's regex keeps the vendor's blanks but strips the others' leading blanks.
        vendor_id: attr(&scsi, "vendor"),
        product_id: attr(&scsi, "model").map(|s| s.trim_start().to_string()),
        product_rev: attr(&scsi, "rev").map(|s| s.trim_start().to_string()),
        ..Identity::default()
    };
    if let Ok(pg80) = fs::read(scsi.join("vpd_pg80")) {
        if pg80.len() >= 4 {
            let len = usize::from(pg80[3]).min(pg80.len() - 4);
            let sn = String::from_utf8_lossy(&pg80[4..4 + len])
                .trim()
                .to_string();
            if !sn.is_empty() {
                id.scsi_sn = Some(sn);
            }
        }
    }
    if let Ok(b0) = fs::read(scsi.join("vpd_pgb0")) {
        if b0.len() >= 16 {
            id.optimal_xfer_gran = Some(u16::from_be_bytes([b0[6], b0[7]]).to_string());
            id.optimal_xfer_len =
                Some(u32::from_be_bytes([b0[12], b0[13], b0[14], b0[15]]).to_string());
        }
    }
    if let Some(disk) = disk {
        let num = |name: &str| attr(&disk.join("queue"), name)?.trim().parse::<u64>().ok();
        if let (Some(lbs), Some(pbs)) = (num("logical_block_size"), num("physical_block_size")) {
            if lbs > 0 {
                id.block_size = Some(lbs.to_string());
                let ratio = (pbs / lbs).max(1);
                id.lbppbe = Some(ratio.trailing_zeros().to_string());
                let align = attr(&disk, "alignment_offset")
                    .and_then(|s| s.trim().parse::<u64>().ok())
                    .unwrap_or(0);
                id.la_lba = Some((align / lbs).to_string());
            }
        }
    }
    Some(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_nobody_holds_is_free_and_has_no_device_identity() {
        let p = std::env::temp_dir().join(format!("tgt-admin-dev.{}", std::process::id()));
        fs::write(&p, b"x").unwrap();
        let path = p.to_str().unwrap();
        assert!(!System.used_by_process(path));
        assert!(!System.used_by_system(path));
        let held = fs::File::open(&p).unwrap();
        assert!(System.used_by_process(path));
        drop(held);
        assert!(System.is_usable_file(path));
        assert!(!System.is_usable_file("/"));
        assert!(System.exists("/"));
        assert_eq!(System.identity(path), Identity::default());
        fs::remove_file(&p).unwrap();
    }

    #[test]
    fn a_file_another_process_holds_open_is_in_use() {
        let p = std::env::temp_dir().join(format!("tgt-admin-dev2.{}", std::process::id()));
        fs::write(&p, b"x").unwrap();
        let mut child = std::process::Command::new("sh")
            .arg("-c")
            .arg("exec 3<\"$0\"; echo ready; read x")
            .arg(&p)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.as_mut().unwrap()),
            &mut line,
        )
        .unwrap();
        assert!(System.used_by_process(p.to_str().unwrap()));
        drop(child.stdin.take());
        child.wait().unwrap();
        assert!(!System.used_by_process(p.to_str().unwrap()));
        fs::remove_file(&p).unwrap();
    }

    #[test]
    fn device_numbers_split_like_glibc() {
        // glibc makedev(8, 17) and makedev(259, 65536).
        assert_eq!((dev_major(0x811), dev_minor(0x811)), (8, 17));
        assert_eq!(
            (dev_major(0x1001_0300), dev_minor(0x1001_0300)),
            (259, 65536)
        );
    }
}
