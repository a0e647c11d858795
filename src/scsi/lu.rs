//! A logical unit: its identity, attributes, mode pages and media, and the `tgtadm
//! logicalunit update --params` language that edits them.
//!
//! Sources: tgt `usr/spc.c` (`spc_lu_init`, `lu_config`, `add_mode_page`), `usr/sbc.c`
//! (`sbc_lu_init`), `usr/scc.c` (`scc_lu_init`), `usr/target.c` (`tgt_device_path_update`).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::bs::gate::IoGate;
use crate::bs::{self, BsTemplate, Media, OpenFlags};
use crate::mgmt::params::{atoi, items, match_str, strtol, truncate_to_u32};
use crate::mgmt::wire::ErrCode;

use super::cmd::NexusId;
use super::pr::PrState;
use super::sense::{asc, Sense, SenseKey};
use super::task_set::TaskSet;
use super::DeviceType;

/// `SCSI_ID_LEN`, `SCSI_SN_LEN`. tgt: usr/tgtd.h
const SCSI_ID_LEN: usize = 36;
const SCSI_SN_LEN: usize = 36;
const VENDOR_ID_LEN: usize = 8;
const PRODUCT_ID_LEN: usize = 16;
const PRODUCT_REV_LEN: usize = 4;
/// tgt's `match_strncpy(buf, ..., sizeof(buf))` into a 1024-byte buffer.
const PARAM_BUF_LEN: usize = 1024;

/// Default block shift for disks (512-byte blocks). tgt: usr/tgtd.c `blk_shift`
pub const DEFAULT_BLK_SHIFT: u32 = 9;

/// One mode page: current values followed by the changeable mask, as tgt stores it.
/// SPC-4 §7.5
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModePage {
    /// Page code.
    pub pcode: u8,
    /// Subpage code.
    pub subpcode: u8,
    /// Current values (`size` bytes).
    pub data: Vec<u8>,
    /// Changeable-values mask (`size` bytes).
    pub mask: Vec<u8>,
}

/// Identity and state bits of a LU. tgt: usr/tgtd.h `struct lu_phy_attr`
///
/// The flag fields are C `char`s set with `atoi`, so they keep C's 8-bit truncation
/// (`readonly=256` is false, as in tgt).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LuAttrs {
    /// VPD 0x83 identifier text, at most 36 characters.
    pub scsi_id: String,
    /// VPD 0x80 serial number, at most 36 characters.
    pub scsi_sn: String,
    /// INQUIRY vendor, at most 8 characters.
    pub vendor_id: String,
    /// INQUIRY product, at most 16 characters.
    pub product_id: String,
    /// INQUIRY revision, at most 4 characters.
    pub product_rev: String,
    /// INQUIRY version descriptors.
    pub version_desc: [u16; 3],
    /// Removable medium (INQUIRY RMB).
    pub removable: i8,
    /// Read-only medium.
    pub readonly: i8,
    /// Software write protect (control mode page).
    pub swp: i8,
    /// Thin provisioning enabled.
    pub thin_provisioning: i8,
    /// Logical unit online.
    pub online: i8,
    /// 0 fixed, 1 descriptor sense.
    pub sense_format: i8,
    /// READ CAPACITY(16) logical blocks per physical block exponent.
    pub lbppbe: u8,
    /// `lbppbe` was set by hand: do not recompute it when media opens.
    pub no_auto_lbppbe: bool,
    /// READ CAPACITY(16) lowest aligned LBA.
    pub la_lba: u16,
    /// VPD 0xB1 medium rotation rate.
    pub rotation_rate: u16,
    /// VPD 0xB0 optimal transfer length granularity.
    pub optimal_xfer_gran: u16,
    /// VPD 0xB0 optimal transfer length.
    pub optimal_xfer_len: u32,
}

/// A logical unit of a target.
#[derive(Debug)]
pub struct LogicalUnit {
    /// Logical unit number.
    pub lun: u64,
    /// SCSI peripheral device type.
    pub device_type: DeviceType,
    /// log2 of the block size; 0 for the controller LU.
    pub blk_shift: u32,
    /// Media size in bytes (0 without media).
    pub size: u64,
    /// Backing path given at creation or by `path=`.
    pub path: Option<String>,
    /// The backing store.
    pub bst: &'static BsTemplate,
    /// `bsopts` as given.
    pub bsopts: Option<String>,
    /// Open flags.
    pub bsoflags: OpenFlags,
    /// Identity and state bits.
    pub attrs: LuAttrs,
    /// Mode pages in creation order.
    pub mode_pages: Vec<ModePage>,
    /// Open media, when there is a path.
    pub media: Option<Media>,
    /// Some I_T nexus holds PREVENT ALLOW MEDIUM REMOVAL (refreshed by [`Lu::configure`]
    /// before a change is applied).
    pub prevent_removal: bool,
    /// `tid << 32 | lun`: the VPD 0x83 NAA locally assigned identifier.
    /// tgt: usr/spc.c `spc_lu_init()` `numeric_id`
    pub numeric_id: u64,
}

/// Per-LU statistics of one I_T nexus (`--op stat`). tgt: usr/tgtd.h `struct lu_stat`
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LuStat {
    /// Bytes of READs submitted.
    pub rd_subm_bytes: u64,
    /// READ commands submitted.
    pub rd_subm_cmds: u32,
    /// Bytes of READs completed.
    pub rd_done_bytes: u64,
    /// READ commands completed.
    pub rd_done_cmds: u32,
    /// Bytes of WRITEs submitted.
    pub wr_subm_bytes: u64,
    /// WRITE commands submitted.
    pub wr_subm_cmds: u32,
    /// Bytes of WRITEs completed.
    pub wr_done_bytes: u64,
    /// WRITE commands completed.
    pub wr_done_cmds: u32,
    /// Commands that ended with a status other than GOOD.
    pub errors: u32,
}

/// Run-time state of a LU shared by every I_T nexus: unit attentions, reservations,
/// medium-removal prevention, statistics, the task set. Held briefly, never across I/O,
/// never while a command runs or a response is delivered.
#[derive(Debug, Default)]
pub struct LuState {
    /// Pending unit attentions per I_T nexus, oldest first. A nexus is present from its
    /// creation to its end.
    pub ua: BTreeMap<NexusId, VecDeque<Sense>>,
    /// Nexuses holding PREVENT ALLOW MEDIUM REMOVAL.
    pub prevent: BTreeSet<NexusId>,
    /// SCSI-2 RESERVE holder.
    pub reserved_by: Option<NexusId>,
    /// Statistics per nexus.
    pub stats: BTreeMap<NexusId, LuStat>,
    /// Persistent reservations: registrations, the reservation, the generation.
    pub pr: PrState,
    /// iSCSI initiator port name (`<name>,i,0x<isid>`) of each nexus that told us; PR
    /// registrations are keyed by it. See [`Lu::nexus_added_with_port`].
    pub ports: BTreeMap<NexusId, String>,
    /// Media access gate: ordinary I/O holds it shared, read-modify-write commands
    /// (COMPARE AND WRITE, ORWRITE) exclusively, so they are atomic against other writes.
    pub io_gate: Arc<IoGate>,
    /// Running and held-back commands, by task attribute. SAM-5 §8
    pub tasks: TaskSet,
}

impl LuState {
    /// Queues a unit attention for every nexus.
    pub fn ua_all(&mut self, sense: Sense) {
        for q in self.ua.values_mut() {
            push_ua(q, sense);
        }
    }

    /// Queues a unit attention for every nexus but `except`.
    pub fn ua_others(&mut self, except: NexusId, sense: Sense) {
        for (n, q) in self.ua.iter_mut() {
            if *n != except {
                push_ua(q, sense);
            }
        }
    }
}

fn push_ua(q: &mut VecDeque<Sense>, sense: Sense) {
    if !q.contains(&sense) {
        q.push_back(sense);
    }
}

/// A logical unit as shared between the management plane and the I/O loops.
#[derive(Debug)]
pub struct Lu {
    /// Logical unit number.
    pub lun: u64,
    config: RwLock<LogicalUnit>,
    state: Mutex<LuState>,
}

impl Lu {
    /// Wraps a configured LU.
    pub fn new(config: LogicalUnit) -> Self {
        Self {
            lun: config.lun,
            config: RwLock::new(config),
            state: Mutex::new(LuState::default()),
        }
    }

    /// Reads the configuration (attributes, media).
    pub fn config(&self) -> RwLockReadGuard<'_, LogicalUnit> {
        self.config
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Changes the configuration.
    pub fn config_mut(&self) -> RwLockWriteGuard<'_, LogicalUnit> {
        self.config
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The shared run-time state.
    pub fn state(&self) -> MutexGuard<'_, LuState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Applies `--params` text, with the prevent state of every nexus in view.
    pub fn configure(&self, params: &str) -> Result<(), ErrCode> {
        let prevented = !self.state().prevent.is_empty();
        let mut c = self.config_mut();
        c.prevent_removal = prevented;
        let (old_size, old_path) = (c.size, c.path.clone());
        let r = c.configure(params);
        let capacity_changed = c.size != old_size || c.path != old_path;
        drop(c);
        if capacity_changed {
            self.state().ua_all(Sense::new(
                SenseKey::UNIT_ATTENTION,
                asc::CAPACITY_DATA_HAS_CHANGED,
            ));
        }
        r
    }

    /// The media now holds `size` bytes (an RBD image was resized): the LU takes the new
    /// capacity and every nexus gets CAPACITY DATA HAS CHANGED. Nothing when unchanged.
    pub fn media_resized(&self, size: u64) {
        let old = {
            let mut c = self.config_mut();
            let old = c.size;
            if old == size || c.media.is_none() {
                return;
            }
            c.size = size;
            if let Some(m) = c.media.as_mut() {
                m.size = size;
            }
            old
        };
        tracing::info!(lun = self.lun, old, new = size, "media resized");
        self.state().ua_all(Sense::new(
            SenseKey::UNIT_ATTENTION,
            asc::CAPACITY_DATA_HAS_CHANGED,
        ));
    }

    /// Whether `--op show` prints `Prevent removal: Yes`.
    pub fn prevents_removal(&self) -> bool {
        !self.state().prevent.is_empty()
    }

    /// A new I_T nexus sees this LU: it starts with POWER ON/RESET pending.
    pub fn nexus_added(&self, nexus: NexusId) {
        let mut st = self.state();
        st.ua.insert(
            nexus,
            VecDeque::from([Sense::new(SenseKey::UNIT_ATTENTION, asc::POWERON_RESET)]),
        );
        st.stats.insert(nexus, LuStat::default());
    }

    /// An I_T nexus ended: its pending state goes, and so do its held-back commands
    /// (I_T nexus loss aborts them, SAM-5 §6.3.4; see [`Lu::abort_task_set`]).
    pub fn nexus_removed(self: &Arc<Self>, nexus: NexusId) {
        {
            let mut st = self.state();
            st.ua.remove(&nexus);
            st.prevent.remove(&nexus);
            st.stats.remove(&nexus);
            st.ports.remove(&nexus);
            if st.reserved_by == Some(nexus) {
                st.reserved_by = None;
            }
        }
        self.abort_task_set(nexus);
    }
}

/// Copies at most `n` characters, as `snprintf(dst, n + 1, "%s", src)` does.
fn truncated(s: &str, n: usize) -> String {
    crate::mgmt::params::c_buf(s, n + 1)
}

/// C `char` truncation of an `atoi` result.
fn c_char(v: i32) -> i8 {
    i8::from_ne_bytes([v.to_ne_bytes()[0]])
}

impl LogicalUnit {
    /// Builds a LU with the defaults of its device type, before any media is opened.
    /// `blk_shift` is the validated `--blocksize` shift, if one was given.
    /// tgt: `spc_lu_init()` + `sbc_lu_init()` / `scc_lu_init()`
    pub fn new(
        tid: i32,
        lun: u64,
        device_type: DeviceType,
        bst: &'static BsTemplate,
        bsoflags: OpenFlags,
        blk_shift: Option<u32>,
    ) -> Self {
        let attrs = LuAttrs {
            scsi_id: truncated(&format!("IET     {tid:04x}{lun:04x}"), SCSI_ID_LEN),
            scsi_sn: truncated(&format!("beaf{tid}{lun}"), SCSI_SN_LEN),
            vendor_id: "IET".to_owned(),
            product_id: String::new(),
            product_rev: "0001".to_owned(),
            version_desc: [0; 3],
            removable: 0,
            readonly: 0,
            swp: 0,
            thin_provisioning: 0,
            online: 0,
            sense_format: 0,
            lbppbe: 0,
            no_auto_lbppbe: false,
            la_lba: 0,
            rotation_rate: 0,
            optimal_xfer_gran: 0,
            optimal_xfer_len: 0,
        };
        let mut lu = Self {
            lun,
            device_type,
            blk_shift: blk_shift.unwrap_or(0),
            size: 0,
            path: None,
            bst,
            bsopts: None,
            bsoflags,
            attrs,
            mode_pages: Vec::new(),
            media: None,
            prevent_removal: false,
            numeric_id: (u64::from(u32::from_ne_bytes(tid.to_ne_bytes())) << 32) | lun,
        };
        match device_type {
            DeviceType::RAID => {
                lu.attrs.product_id = "Controller".to_owned();
                lu.attrs.version_desc = [0x04C0, 0x0960, 0x01fb];
                lu.attrs.online = 1;
            }
            // tgt: usr/bs_sg.c `bs_sg_lu_init()` is `spc_lu_init()` alone: no product, no
            // mode pages, the block size as given (1 byte by default). The device answers
            // every command itself.
            DeviceType::PT => {}
            _ => {
                lu.attrs.product_id = "VIRTUAL-DISK".to_owned();
                lu.attrs.version_desc = [0x04C0, 0x0960, 0x0300];
                if lu.blk_shift == 0 {
                    lu.blk_shift = DEFAULT_BLK_SHIFT;
                }
                lu.add_disk_mode_pages();
            }
        }
        lu
    }

    /// The default SBC mode pages. tgt: usr/sbc.c `sbc_lu_init()`
    fn add_disk_mode_pages(&mut self) {
        const DEFAULT_PAGES: &[&str] = &[
            "0:0:0",
            "2:0:14:0x80:0x80:0:0xa:0:0:0:0:0:0:0:0:0:0",
            "8:0:18:0x14:0:0xff:0xff:0:0:0xff:0xff:0xff:0xff:0x80:0x14:0:0:0:0:0:0",
            "0x0a:0:10:2:0x10:0:0:0:0:0:0:2:0",
            "0x0a:1:0x1c:0x04:0x00:0x00",
            "0x1c:0:10:8:0:0:0:0:0:0:0:0:0",
        ];
        for p in DEFAULT_PAGES {
            // The built-in strings are well formed; a failure would be a table bug.
            let _ = self.add_mode_page(p);
        }
        // WCE is changeable in the caching page; SWP in the control page.
        self.set_changeable(8, 0, 0, 0x04);
        self.set_changeable(0x0a, 0, 2, 0x08);
    }

    fn set_changeable(&mut self, pcode: u8, subpcode: u8, byte: usize, bits: u8) {
        if let Some(pg) = self
            .mode_pages
            .iter_mut()
            .find(|p| p.pcode == pcode && p.subpcode == subpcode)
        {
            if let Some(b) = pg.mask.get_mut(byte) {
                *b = bits;
            }
        }
    }

    /// Adds or replaces a mode page from `pcode:subpage:size:b0:b1:...` (numbers in C base 0).
    /// More bytes than `size` replace the page but answer `invalid request`, as tgt does.
    /// tgt: usr/spc.c `add_mode_page()`
    pub fn add_mode_page(&mut self, spec: &str) -> Result<(), ErrCode> {
        let fields: Vec<&str> = spec.split(':').collect();
        let num = |s: &str| strtol(s, 0).0;
        let byte = |s: &str| u8::from_ne_bytes([num(s).to_ne_bytes()[0]]);
        if fields.len() < 3 {
            return Ok(());
        }
        let pcode = byte(fields[0]);
        let subpcode = byte(fields[1]);
        let size_raw = num(fields[2]).to_ne_bytes();
        let size = usize::from(u16::from_ne_bytes([size_raw[0], size_raw[1]]));
        self.mode_pages
            .retain(|p| !(p.pcode == pcode && p.subpcode == subpcode));
        let mut data = vec![0u8; size];
        for (i, f) in fields.iter().enumerate().skip(3) {
            if let Some(slot) = data.get_mut(i - 3) {
                *slot = byte(f);
            }
        }
        self.mode_pages.push(ModePage {
            pcode,
            subpcode,
            data,
            mask: vec![0u8; size],
        });
        if fields.len() > size + 3 {
            tracing::warn!(
                pcode,
                subpcode,
                count = fields.len(),
                size,
                "mode page has more bytes than its size"
            );
            return Err(ErrCode::INVALID_REQUEST);
        }
        Ok(())
    }

    /// Puts the LU online. tgt: `spc_lu_online()`
    pub fn go_online(&mut self) {
        self.attrs.online = 1;
    }

    /// Takes the LU offline unless an initiator prevents medium removal.
    /// tgt: `spc_lu_offline()`
    pub fn go_offline(&mut self) -> Result<(), ErrCode> {
        if self.prevent_removal {
            return Err(ErrCode::PREVENT_REMOVAL);
        }
        self.attrs.online = 0;
        Ok(())
    }

    /// Opens new media at `path`, closing the old one; only while offline when media exists.
    /// tgt: usr/target.c `tgt_device_path_update()`
    pub fn set_path(&mut self, path: &str) -> Result<(), ErrCode> {
        if self.path.is_some() {
            if self.attrs.online != 0 {
                return Err(ErrCode::INVALID_REQUEST);
            }
            self.go_offline()?;
            self.media = None;
            self.path = None;
            self.size = 0;
        }
        let media = self
            .bst
            .open(path, self.bsoflags, self.bsopts.as_deref())
            .map_err(|e| {
                tracing::warn!(lun = self.lun, path, error = %e, "backing store open failed");
                // tgt: a failing `bs_init` (rbd: configuration, connection) is
                // TGTADM_UNKNOWN_ERR, a failing `bs_open` TGTADM_INVALID_REQUEST.
                if e.is_setup() {
                    ErrCode::UNKNOWN_ERR
                } else {
                    ErrCode::INVALID_REQUEST
                }
            })?;
        if media.read_only_fallback {
            self.attrs.readonly = 1;
        }
        if let (Some(blksize), false) = (media.preferred_blksize, self.attrs.no_auto_lbppbe) {
            self.update_lbppbe(blksize);
        }
        self.size = media.size;
        self.path = Some(path.to_owned());
        self.media = Some(media);
        self.go_online();
        Ok(())
    }

    /// lbppbe = log2(preferred I/O size / block size). tgt: usr/target.c `update_lbppbe()`
    fn update_lbppbe(&mut self, mut blksize: u32) {
        self.attrs.lbppbe = 0;
        while u64::from(blksize) > (1u64 << self.blk_shift) {
            self.attrs.lbppbe = self.attrs.lbppbe.wrapping_add(1);
            blksize >>= 1;
        }
    }

    /// Applies `--params` text (`targetOps k=v,k=v,`). Every item is tried; the last error
    /// wins. tgt: usr/spc.c `lu_config()`
    pub fn configure(&mut self, params: &str) -> Result<(), ErrCode> {
        let params = if params.starts_with("targetOps") {
            params.get(10..).unwrap_or("")
        } else {
            params
        };
        let mut result = Ok(());
        for item in items(params) {
            if let Err(e) = self.configure_one(item) {
                result = Err(e);
            }
        }
        result
    }

    fn configure_one(&mut self, item: &str) -> Result<(), ErrCode> {
        let value = |key: &str| match_str(item, key).map(|v| truncated(v, PARAM_BUF_LEN - 1));
        let a = &mut self.attrs;
        if let Some(v) = value("scsi_id") {
            a.scsi_id = truncated(&v, SCSI_ID_LEN);
        } else if let Some(v) = value("scsi_sn") {
            a.scsi_sn = truncated(&v, SCSI_SN_LEN);
        } else if let Some(v) = value("vendor_id") {
            a.vendor_id = truncated(&v, VENDOR_ID_LEN);
        } else if let Some(v) = value("product_id") {
            a.product_id = truncated(&v, PRODUCT_ID_LEN);
        } else if let Some(v) = value("product_rev") {
            a.product_rev = truncated(&v, PRODUCT_REV_LEN);
        } else if let Some(v) = value("sense_format") {
            a.sense_format = c_char(atoi(&v));
        } else if let Some(v) = value("lbppbe") {
            a.lbppbe = atoi(&v).to_ne_bytes()[0];
            a.no_auto_lbppbe = true;
        } else if let Some(v) = value("la_lba") {
            let b = atoi(&v).to_ne_bytes();
            a.la_lba = u16::from_ne_bytes([b[0], b[1]]);
        } else if let Some(v) = value("optimal_xfer_gran") {
            let b = atoi(&v).to_ne_bytes();
            a.optimal_xfer_gran = u16::from_ne_bytes([b[0], b[1]]);
        } else if let Some(v) = value("optimal_xfer_len") {
            a.optimal_xfer_len = truncate_to_u32(i64::from(atoi(&v)));
        } else if let Some(v) = value("removable") {
            a.removable = c_char(atoi(&v));
        } else if let Some(v) = value("readonly") {
            a.readonly = c_char(atoi(&v));
        } else if let Some(v) = value("thin_provisioning") {
            a.thin_provisioning = c_char(atoi(&v));
        } else if let Some(v) = value("rotation_rate") {
            let b = atoi(&v).to_ne_bytes();
            a.rotation_rate = u16::from_ne_bytes([b[0], b[1]]);
        } else if let Some(v) = value("online") {
            if atoi(&v) != 0 {
                self.go_online();
            } else {
                return self.go_offline();
            }
        } else if let Some(v) = value("mode_page") {
            return self.add_mode_page(&v);
        } else if let Some(v) = value("path") {
            return self.set_path(&v);
        } else {
            // bsopts=/bsoflags= are in tgt's token table without a handler: also refused.
            tracing::warn!(lun = self.lun, item, "unknown logical unit parameter");
            return Err(ErrCode::INVALID_REQUEST);
        }
        Ok(())
    }
}

/// Validated `--blocksize`: a power of two of at least 2; anything else is logged and the
/// type's default is used. tgt: usr/target.c `tgt_device_create()`, usr/util.c `get_blk_shift()`
pub fn parse_blocksize(s: &str) -> Option<u32> {
    let (v, _) = crate::mgmt::params::strtoul(s, 0);
    let v = truncate_to_u32(i64::from_ne_bytes(v.to_ne_bytes()));
    if v >= 2 && v.is_power_of_two() {
        Some(v.trailing_zeros())
    } else {
        tracing::warn!(blocksize = s, "invalid block size, using the default");
        None
    }
}

/// The store a LU without media uses (LUN 0). tgt: `get_backingstore_template("null")`
pub fn null_template() -> &'static BsTemplate {
    bs::lookup("null").expect("the null store is always registered")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn disk() -> LogicalUnit {
        LogicalUnit::new(
            1,
            2,
            DeviceType::DISK,
            bs::lookup("rdwr").unwrap(),
            OpenFlags::NONE,
            None,
        )
    }

    #[test]
    fn defaults_match_tgt() {
        let lu = disk();
        assert_eq!(lu.attrs.scsi_id, "IET     00010002");
        assert_eq!(lu.attrs.scsi_sn, "beaf12");
        assert_eq!(lu.attrs.product_id, "VIRTUAL-DISK");
        assert_eq!(lu.blk_shift, 9);
        assert_eq!(lu.attrs.online, 0);
        let tid10 = LogicalUnit::new(
            10,
            0,
            DeviceType::RAID,
            null_template(),
            OpenFlags::NONE,
            None,
        );
        assert_eq!(tid10.attrs.scsi_id, "IET     000a0000");
        assert_eq!(tid10.attrs.scsi_sn, "beaf100");
        assert_eq!(tid10.blk_shift, 0);
        assert_eq!(tid10.attrs.online, 1);
    }

    #[test]
    fn default_disk_mode_pages() {
        let lu = disk();
        let codes: Vec<(u8, u8, usize)> = lu
            .mode_pages
            .iter()
            .map(|p| (p.pcode, p.subpcode, p.data.len()))
            .collect();
        assert_eq!(
            codes,
            [
                (0, 0, 0),
                (2, 0, 14),
                (8, 0, 18),
                (0x0a, 0, 10),
                (0x0a, 1, 0x1c),
                (0x1c, 0, 10)
            ]
        );
        let caching = &lu.mode_pages[2];
        assert_eq!(caching.data[0], 0x14);
        assert_eq!(caching.mask[0], 0x04);
    }

    #[test]
    fn configure_truncates_and_keeps_last_error() {
        let mut lu = disk();
        assert_eq!(
            lu.configure("targetOps vendor_id=ABCDEFGHIJ,bogus=1,product_rev=12345,"),
            Err(ErrCode::INVALID_REQUEST)
        );
        assert_eq!(lu.attrs.vendor_id, "ABCDEFGH");
        assert_eq!(lu.attrs.product_rev, "1234");
        assert_eq!(lu.configure("readonly=256"), Ok(()));
        assert_eq!(lu.attrs.readonly, 0);
        assert_eq!(lu.configure("readonly="), Err(ErrCode::INVALID_REQUEST));
        assert_eq!(lu.configure("Online=No"), Err(ErrCode::INVALID_REQUEST));
        assert_eq!(lu.configure("bsoflags=sync"), Err(ErrCode::INVALID_REQUEST));
        assert_eq!(lu.configure(""), Ok(()));
    }

    #[test]
    fn mode_page_too_many_bytes_is_invalid_but_replaces() {
        let mut lu = disk();
        assert_eq!(
            lu.add_mode_page("8:0:2:1:2:3"),
            Err(ErrCode::INVALID_REQUEST)
        );
        let pg = lu.mode_pages.iter().find(|p| p.pcode == 8).unwrap();
        assert_eq!(pg.data, [1, 2]);
        assert_eq!(lu.add_mode_page("0x20:0:3:0xff"), Ok(()));
        assert_eq!(lu.mode_pages.last().unwrap().data, [0xff, 0, 0]);
    }

    #[test]
    fn blocksize_must_be_power_of_two() {
        assert_eq!(parse_blocksize("4096"), Some(12));
        assert_eq!(parse_blocksize("0x200"), Some(9));
        assert_eq!(parse_blocksize("1000"), None);
        assert_eq!(parse_blocksize("1"), None);
        assert_eq!(parse_blocksize("abc"), None);
    }

    #[test]
    fn path_change_only_while_offline() {
        let mut lu = LogicalUnit::new(
            1,
            1,
            DeviceType::DISK,
            null_template(),
            OpenFlags::NONE,
            None,
        );
        assert_eq!(lu.set_path("/x"), Ok(()));
        assert_eq!(lu.size, 1 << 40);
        assert_eq!(lu.set_path("/y"), Err(ErrCode::INVALID_REQUEST));
        assert_eq!(lu.configure("online=0,path=/y"), Ok(()));
        assert_eq!(lu.path.as_deref(), Some("/y"));
        assert_eq!(lu.attrs.online, 1);
    }
}
