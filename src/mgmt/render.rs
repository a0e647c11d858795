//! The text of `tgtadm --op show` and `--op stat` replies, byte-identical to C tgt's.
//!
//! Every template here is tgt's (`usr/target.c`, `usr/iscsi/target.c`,
//! `usr/iscsi/isns.c`); indentation is 4 spaces a level. Rendering never fails.

use std::fmt::Write;
use std::sync::atomic::Ordering;

use crate::bs;
use crate::iscsi::portal::Portal;
use crate::iscsi::session::{ConnRecord, Registry, SessionRecord};
use crate::iscsi::{param, IscsiDriver, IscsiTarget};
use crate::scsi::lu::Lu;
use crate::scsi::DeviceType;
use crate::tgt::{AccountBinding, System, Target};

const T1: &str = "    ";
const T2: &str = "        ";
const T3: &str = "            ";

fn yes_no(b: bool) -> &'static str {
    if b {
        "Yes"
    } else {
        "No"
    }
}

/// tgt's size column: `((S/512) - ((S/512)/625 - 974)) / 1950` in wrapping u64.
/// tgt: usr/target.c `print_disksize()`
pub fn disk_size_mb(size: u64) -> u64 {
    let s = size / 512;
    s.wrapping_sub((s / 625).wrapping_sub(974)) / 1950
}

/// `--mode system --op show`. tgt: `system_show()` + `isns_show()`
pub fn system(sys: &System, iscsi: &IscsiDriver) -> String {
    let mut b = String::new();
    let _ = writeln!(b, "System:");
    let _ = writeln!(b, "{T1}State: {}", sys.state.name());
    let _ = writeln!(b, "{T1}debug: {}", if sys.debug { "on" } else { "off" });
    let _ = writeln!(b, "LLDs:");
    for d in &sys.llds {
        let _ = writeln!(b, "{T1}{}: {}", d.name, d.state.name());
    }
    let _ = writeln!(b, "Backing stores:");
    for t in bs::TEMPLATES {
        if t.oflags_supported.is_empty() {
            let _ = writeln!(b, "{T1}{}", t.name);
        } else {
            let _ = writeln!(
                b,
                "{T1}{} (bsoflags {})",
                t.name,
                t.oflags_supported.render()
            );
        }
    }
    let _ = writeln!(b, "Device types:");
    for t in DeviceType::SUPPORTED {
        let _ = writeln!(b, "{T1}{}", t.name().unwrap_or(""));
    }
    let g = &sys.global_accounts;
    if g.incoming_ids().next().is_some() {
        // tgt prints "Account information:\n" through a "%s\n" format: an empty line follows.
        let _ = writeln!(b, "{T1}Account information:\n");
        accounts_of(&mut b, sys, g, T1);
    }
    let i = &iscsi.isns;
    let _ = writeln!(b, "iSNS:");
    let _ = writeln!(b, "{T1}iSNS={}", if i.enabled { "On" } else { "Off" });
    let _ = writeln!(b, "{T1}iSNSServerIP={}", i.server_ip);
    let _ = writeln!(b, "{T1}iSNSServerPort={}", i.server_port);
    let _ = writeln!(
        b,
        "{T1}iSNSAccessControl={}",
        if i.access_control { "On" } else { "Off" }
    );
    b
}

/// Incoming accounts in slot order, then the outgoing one.
// COMPAT: tgt walks the first `nr_inaccount` slots and crashes on a hole left by an
// unbind; we print every bound account.
fn accounts_of(b: &mut String, sys: &System, binding: &AccountBinding, indent: &str) {
    for aid in binding.incoming_ids() {
        if let Some(u) = sys.account_user(aid) {
            let _ = writeln!(b, "{indent}{u}");
        }
    }
    if binding.outgoing != 0 {
        if let Some(u) = sys.account_user(binding.outgoing) {
            let _ = writeln!(b, "{indent}{u} (outgoing)");
        }
    }
}

/// `--mode target --op show` without `--tid`. tgt: `tgt_target_show_all()`
pub fn all_targets(sys: &System, iscsi: &IscsiDriver, reg: &Registry) -> String {
    let mut b = String::new();
    for t in sys.targets.values() {
        target(&mut b, sys, iscsi, reg, t);
    }
    b
}

fn target(b: &mut String, sys: &System, iscsi: &IscsiDriver, reg: &Registry, t: &Target) {
    let driver = sys.llds.get(t.lld).map_or("", |d| d.name);
    let _ = writeln!(b, "Target {}: {}", t.tid.0, t.name);
    let _ = writeln!(b, "{T1}System information:");
    let _ = writeln!(b, "{T2}Driver: {driver}");
    let _ = writeln!(b, "{T2}State: {}", t.state.name());
    if driver == "iscsi" {
        if let Some(it) = iscsi.targets.get(&t.tid) {
            if it.nop_interval != 0 {
                let _ = writeln!(b, "{T2}Nop interval: {}", it.nop_interval);
                let _ = writeln!(b, "{T2}Nop count: {}", it.nop_count);
            }
        }
    }
    let _ = writeln!(b, "{T1}I_T nexus information:");
    for s in reg.of_target(t.tid.0) {
        let _ = writeln!(b, "{T2}I_T nexus: {}", s.tsih);
        b.push_str(&s.info);
    }
    let _ = writeln!(b, "{T1}LUN information:");
    for lu in t.luns.values() {
        logical_unit(b, lu);
    }
    if driver == "iscsi" || driver == "iser" {
        let _ = writeln!(b, "{T1}Account information:");
        accounts_of(b, sys, &t.accounts, T2);
    }
    let _ = writeln!(b, "{T1}ACL information:");
    for a in t.acl_addresses.iter().chain(&t.acl_names) {
        let _ = writeln!(b, "{T2}{a}");
    }
}

fn logical_unit(b: &mut String, shared: &Lu) {
    let prevent = shared.prevents_removal();
    let lu = shared.config();
    let a = &lu.attrs;
    let _ = writeln!(b, "{T2}LUN: {}", lu.lun);
    let _ = writeln!(b, "{T3}Type: {}", lu.device_type.name().unwrap_or("(null)"));
    let _ = writeln!(b, "{T3}SCSI ID: {}", a.scsi_id);
    let _ = writeln!(b, "{T3}SCSI SN: {}", a.scsi_sn);
    let _ = writeln!(
        b,
        "{T3}Size: {} MB, Block size: {}",
        disk_size_mb(lu.size),
        1u64 << lu.blk_shift
    );
    let _ = writeln!(b, "{T3}Online: {}", yes_no(a.online != 0));
    let _ = writeln!(b, "{T3}Removable media: {}", yes_no(a.removable != 0));
    let _ = writeln!(b, "{T3}Prevent removal: {}", yes_no(prevent));
    let _ = writeln!(b, "{T3}Readonly: {}", yes_no(a.readonly != 0));
    let _ = writeln!(b, "{T3}SWP: {}", yes_no(a.swp != 0));
    let _ = writeln!(
        b,
        "{T3}Thin-provisioning: {}",
        yes_no(a.thin_provisioning != 0)
    );
    let _ = writeln!(b, "{T3}Backing store type: {}", lu.bst.name);
    let _ = writeln!(
        b,
        "{T3}Backing store path: {}",
        lu.path.as_deref().unwrap_or("None")
    );
    let _ = writeln!(b, "{T3}Backing store flags: {}", lu.bsoflags.render());
}

/// `--mode target --op show --tid N`: redirect settings or the session parameters.
/// tgt: usr/iscsi/target.c `iscsi_target_show()`
pub fn target_params(it: &IscsiTarget) -> String {
    let mut b = String::new();
    let r = &it.redirect;
    if let Some(cb) = &r.callback {
        let _ = writeln!(b, "RedirectCallback={cb}");
    } else if !r.addr.is_empty() {
        let _ = writeln!(b, "RedirectAddress={}", r.addr);
        let _ = writeln!(b, "RedirectPort={}", r.port);
        let reason = match r.reason {
            0x01 => "Temporary",
            0x02 => "Permanent",
            _ => "Unknown",
        };
        let _ = writeln!(b, "RedirectReason={reason}");
    } else {
        let _ = writeln!(b, "nop_interval={}", it.nop_interval);
        let _ = writeln!(b, "nop_count={}", it.nop_count);
        for (i, k) in param::KEYS.iter().enumerate() {
            let _ = writeln!(b, "{}={}", k.name, param::render_value(i, it.params[i]));
        }
    }
    b
}

/// `--mode account --op show`; empty without accounts. tgt: `account_show()`
pub fn accounts(sys: &System) -> String {
    let mut b = String::new();
    if !sys.accounts.is_empty() {
        let _ = writeln!(b, "Account list:");
    }
    for a in &sys.accounts {
        let _ = writeln!(b, "{T1}{}", a.user);
    }
    b
}

/// `--mode portal --op show`, newest first.
pub fn portals(portals: &[Portal]) -> String {
    let mut b = String::new();
    for p in portals.iter().rev() {
        let _ = writeln!(b, "Portal: {}", p.render());
    }
    b
}

/// `--mode lld --op show`. tgt: `lld_show()`
pub fn llds(sys: &System) -> String {
    let mut b = String::new();
    let _ = writeln!(b, "LLDs:");
    for d in &sys.llds {
        let _ = writeln!(b, "{T1}{}: {}", d.name, d.state.name());
        for tid in &d.targets {
            if let Some(t) = sys.targets.get(tid) {
                let _ = writeln!(b, "{T2}Target {}: {}", tid.0, t.name);
            }
        }
    }
    b
}

/// `--mode conn --op show --tid N`: newest session first, newest connection first.
/// tgt: usr/iscsi/target.c `iscsi_target_show_connections()`
pub fn connections(reg: &Registry, tid: i32) -> String {
    let mut b = String::new();
    for s in reg.of_target(tid).rev() {
        for c in s.conns.iter().rev() {
            let _ = writeln!(b, "Session: {}", s.tsih);
            let _ = writeln!(b, "{T1}Connection: {}", c.cid);
            let _ = writeln!(b, "{T2}Initiator: {}", s.initiator);
            let _ = writeln!(b, "{T2}IP Address: {}", c.peer.ip());
        }
    }
    b
}

fn stat_line(b: &mut String, tid: i32, lun: u64, sid: u64, st: &crate::scsi::lu::LuStat) {
    let _ = writeln!(
        b,
        "{tid:3} {lun:3} {sid:3} {:12} {:6} {:12} {:6} {:12} {:6} {:12} {:6} {:4}",
        st.rd_subm_bytes,
        st.rd_subm_cmds,
        st.rd_done_bytes,
        st.rd_done_cmds,
        st.wr_subm_bytes,
        st.wr_subm_cmds,
        st.wr_done_bytes,
        st.wr_done_cmds,
        st.errors
    );
}

/// One line per I_T nexus of a LU. tgt: `tgt_stat_device()`
pub fn lu_stats(b: &mut String, tid: i32, lu: &Lu) {
    let st = lu.state();
    for (n, s) in &st.stats {
        stat_line(b, tid, lu.lun, n.0, s);
    }
}

/// Every LU of a target. tgt: `tgt_stat_target()`
pub fn target_stats(b: &mut String, t: &Target) {
    for lu in t.luns.values() {
        lu_stats(b, t.tid.0, lu);
    }
}

const CONN_STAT_HEADER: &str =
    "sid cid rxdata_octets txdata_octets dataout_pdus datain_pdus cmd_pdus rsp_pdus\n";

fn conn_line(b: &mut String, s: &SessionRecord, c: &ConnRecord) {
    let _ = writeln!(
        b,
        "{:3} {:3} {:13} {:13} {:12} {:11} {:8} {:8}",
        s.tsih,
        c.cid,
        c.stats.rxdata_octets.load(Ordering::Relaxed),
        c.stats.txdata_octets.load(Ordering::Relaxed),
        c.stats.dataout_pdus.load(Ordering::Relaxed),
        0,
        c.stats.scsicmd_pdus.load(Ordering::Relaxed),
        0
    );
}

/// `--mode session --op stat`: the nexus's LUs newest first, then its connections.
/// tgt: usr/iscsi/target.c `_stat_iscsi_session()`
pub fn session_stats(sys: &System, s: &SessionRecord) -> String {
    let mut b = stat_header();
    if let Some(t) = sys.targets.get(&crate::tgt::TargetId(s.tid)) {
        for lun in s.luns.iter().rev() {
            if let Some(lu) = t.luns.get(lun) {
                let st = lu
                    .state()
                    .stats
                    .get(&s.nexus())
                    .copied()
                    .unwrap_or_default();
                stat_line(&mut b, s.tid, *lun, u64::from(s.tsih), &st);
            }
        }
    }
    if !s.conns.is_empty() {
        b.push('\n');
        b.push_str(CONN_STAT_HEADER);
    }
    for c in &s.conns {
        conn_line(&mut b, s, c);
    }
    b
}

/// `--mode conn --op stat`. tgt: `iscsi_stat_connection()`
pub fn conn_stats(s: &SessionRecord, c: &ConnRecord) -> String {
    let mut b = CONN_STAT_HEADER.to_owned();
    conn_line(&mut b, s, c);
    b
}

/// The LU statistics header line. tgt: `tgt_stat_header()`
pub fn stat_header() -> String {
    "tgt lun sid rd_subm(bytes,cmds) rd_done(bytes,cmds) wr_subm(bytes,cmds) wr_done(bytes,cmds) errs\n"
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disk_size_matches_tgt_captures() {
        assert_eq!(disk_size_mb(0), 0);
        assert_eq!(disk_size_mb(10 << 20), 10);
        assert_eq!(disk_size_mb(50 << 20), 52);
        assert_eq!(disk_size_mb(100 << 20), 105);
        assert_eq!(disk_size_mb(1 << 40), 1_099_512);
    }
}
