//! The configuration `tgtadm` edits: targets, their logical units, ACLs, CHAP accounts,
//! host bindings, the low-level drivers and the system state.
//!
//! This is tgt's core (`usr/target.c`): it does not know iSCSI's own per-target state
//! (session parameters, portals), which the iSCSI driver keeps, nor any socket.
//! Every failure is a tgtadm error code, returned exactly where tgt returns it.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::bs::{self, OpenFlags};
use crate::mgmt::params::{items, match_str};
use crate::mgmt::wire::{ErrCode, AC_DIR_INCOMING};
use crate::scsi::lu::{null_template, parse_blocksize, LogicalUnit, Lu};
use crate::scsi::DeviceType;

/// A target id (`--tid`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TargetId(pub i32);

/// Ready or offline, for the system and for each target. tgt: `enum scsi_target_state`
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Serving.
    Ready,
    /// Refusing logins (and, for a target, dropping commands).
    Offline,
}

impl State {
    /// `ready` / `offline`.
    pub fn name(self) -> &'static str {
        match self {
            State::Ready => "ready",
            State::Offline => "offline",
        }
    }

    /// Exact, case-sensitive parse as tgt's `strcmp` table lookup.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "ready" => Some(State::Ready),
            "offline" => Some(State::Offline),
            _ => None,
        }
    }
}

/// Driver life-cycle state. tgt: usr/driver.h `enum tgt_driver_state`
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LldState {
    /// Registered, never initialised.
    Uninitialized,
    /// Running.
    Ready,
    /// Initialisation failed.
    Error,
    /// Stopped by `lld stop`.
    Stopped,
}

impl LldState {
    /// The word `sys show` and `lld show` print. tgt: usr/driver.c `driver_state_name()`
    pub fn name(self) -> &'static str {
        match self {
            LldState::Uninitialized => "uninitialized",
            LldState::Ready => "ready",
            LldState::Error => "error",
            LldState::Stopped => "stopped",
        }
    }
}

/// A registered low-level driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lld {
    /// `iscsi` or `iser`.
    pub name: &'static str,
    /// Current state.
    pub state: LldState,
    /// Targets owned by this driver, in creation order (`lld show` lists them so).
    pub targets: Vec<TargetId>,
}

/// Index of the iSCSI driver, the default (first registered) one.
pub const LLD_ISCSI: usize = 0;
/// Index of the iSER driver.
pub const LLD_ISER: usize = 1;

/// Incoming and outgoing CHAP accounts bound to a target (or to discovery).
/// tgt: usr/target.h `struct ac_head`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountBinding {
    /// Slots of incoming account ids; 0 marks a free slot, reused first.
    pub incoming: Vec<u32>,
    /// Outgoing (mutual CHAP) account id, 0 for none.
    pub outgoing: u32,
}

/// Initial number of incoming account slots. tgt: `DEFAULT_NR_ACCOUNT`
const DEFAULT_NR_ACCOUNT: usize = 16;

impl Default for AccountBinding {
    fn default() -> Self {
        Self {
            incoming: vec![0; DEFAULT_NR_ACCOUNT],
            outgoing: 0,
        }
    }
}

impl AccountBinding {
    /// Bound incoming account ids in slot order.
    pub fn incoming_ids(&self) -> impl Iterator<Item = u32> + '_ {
        self.incoming.iter().copied().filter(|&a| a != 0)
    }

    fn bind_incoming(&mut self, aid: u32) -> Result<(), ErrCode> {
        if self.incoming.contains(&aid) {
            return Err(ErrCode::USER_EXIST);
        }
        match self.incoming.iter_mut().find(|a| **a == 0) {
            Some(slot) => *slot = aid,
            None => {
                let old = self.incoming.len();
                self.incoming.resize(old * 2, 0);
                self.incoming[old] = aid;
            }
        }
        Ok(())
    }

    fn unbind_incoming(&mut self, aid: u32) -> Result<(), ErrCode> {
        match self.incoming.iter_mut().find(|a| **a == aid) {
            Some(slot) => {
                *slot = 0;
                Ok(())
            }
            None => Err(ErrCode::NO_USER),
        }
    }
}

/// A CHAP account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// Account id: the lowest free id from 1 at creation.
    pub aid: u32,
    /// User name.
    pub user: String,
    /// Secret. Never logged.
    pub password: String,
}

/// A target.
#[derive(Debug)]
pub struct Target {
    /// Target id.
    pub tid: TargetId,
    /// iSCSI qualified name.
    pub name: String,
    /// Index into [`System::llds`].
    pub lld: usize,
    /// Ready or offline.
    pub state: State,
    /// Logical units by LUN, shared with the I/O loops.
    pub luns: BTreeMap<u64, Arc<Lu>>,
    /// `initiator-address` ACL entries in bind order.
    pub acl_addresses: Vec<String>,
    /// `initiator-name` ACL entries in bind order.
    pub acl_names: Vec<String>,
    /// Bound CHAP accounts.
    pub accounts: AccountBinding,
}

/// A SCSI host bound to a target (`target bind -H`). tgt: `struct bound_host`
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BoundHost {
    /// Host number.
    pub host_no: u32,
    /// Target it is bound to.
    pub tid: TargetId,
}

/// The whole core configuration.
#[derive(Debug)]
pub struct System {
    /// `State=` of `sys update`.
    pub state: State,
    /// `debug=` of `sys update`.
    pub debug: bool,
    /// Registered drivers in registration order.
    pub llds: Vec<Lld>,
    /// Targets by tid.
    pub targets: BTreeMap<TargetId, Target>,
    /// Accounts, most recently created first.
    pub accounts: Vec<Account>,
    /// Accounts bound to discovery (the global target).
    pub global_accounts: AccountBinding,
    /// Host bindings, most recent first.
    pub bound_hosts: Vec<BoundHost>,
}

impl Default for System {
    fn default() -> Self {
        Self::new()
    }
}

/// What a `target update` or `lld` request asks of the core.
pub type AdmResult<T = ()> = Result<T, ErrCode>;

impl System {
    /// A fresh daemon: ready, iSCSI ready, iSER in error (no RDMA here).
    pub fn new() -> Self {
        Self {
            state: State::Ready,
            debug: false,
            llds: vec![
                Lld {
                    name: "iscsi",
                    state: LldState::Ready,
                    targets: Vec::new(),
                },
                // COMPAT: iSER is not implemented; it is registered in state `error`, as C
                // tgt shows it on machines without RDMA, so `sys show`/`lld show` match.
                Lld {
                    name: "iser",
                    state: LldState::Error,
                    targets: Vec::new(),
                },
            ],
            targets: BTreeMap::new(),
            accounts: Vec::new(),
            global_accounts: AccountBinding::default(),
            bound_hosts: Vec::new(),
        }
    }

    /// Resolves the header's `lld` field to a driver index. Empty = driver 0 without any
    /// state check; a named driver must be ready unless the request is in lld mode.
    /// tgt: usr/mgmt.c `mtask_execute()`
    pub fn driver_index(&self, lld: &[u8], lld_mode: bool) -> AdmResult<usize> {
        if lld.is_empty() {
            return Ok(LLD_ISCSI);
        }
        let idx = self
            .llds
            .iter()
            .position(|d| d.name.as_bytes() == lld)
            .ok_or(ErrCode::NO_DRIVER)?;
        if self.llds[idx].state != LldState::Ready && !lld_mode {
            return Err(ErrCode::NO_DRIVER);
        }
        Ok(idx)
    }

    /// Looks a target up.
    pub fn target(&self, tid: i32) -> AdmResult<&Target> {
        self.targets.get(&TargetId(tid)).ok_or(ErrCode::NO_TARGET)
    }

    /// Looks a target up for change.
    pub fn target_mut(&mut self, tid: i32) -> AdmResult<&mut Target> {
        self.targets
            .get_mut(&TargetId(tid))
            .ok_or(ErrCode::NO_TARGET)
    }

    /// `target new`. tgt: usr/target.c `tgt_target_create()`
    pub fn create_target(&mut self, lld: usize, tid: i32, body: &str) -> AdmResult {
        let mut name = None;
        for item in body.split(',') {
            if let Some((k, v)) = item.split_once('=') {
                if k == "targetname" {
                    name = Some(v);
                } else {
                    tracing::debug!(option = k, "unknown target option ignored");
                }
            }
        }
        // COMPAT: tgt dereferences NULL when no targetname is given; we refuse the request.
        let name = name.ok_or(ErrCode::INVALID_REQUEST)?;
        if !name
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b':' | b'.' | b'-'))
        {
            tracing::warn!(name, "target name has invalid characters");
            return Err(ErrCode::INVALID_REQUEST);
        }
        let id = TargetId(tid);
        if self.targets.contains_key(&id) || self.targets.values().any(|t| t.name == name) {
            return Err(ErrCode::TARGET_EXIST);
        }
        let mut luns = BTreeMap::new();
        luns.insert(
            0,
            Arc::new(Lu::new(LogicalUnit::new(
                tid,
                0,
                DeviceType::RAID,
                null_template(),
                OpenFlags::NONE,
                None,
            ))),
        );
        self.targets.insert(
            id,
            Target {
                tid: id,
                name: name.to_owned(),
                lld,
                state: State::Ready,
                luns,
                acl_addresses: Vec::new(),
                acl_names: Vec::new(),
                accounts: AccountBinding::default(),
            },
        );
        self.llds[lld].targets.push(id);
        tracing::info!(tid, name, "target created");
        Ok(())
    }

    /// `target delete`. Sessions (`active`) must be gone unless forced.
    /// tgt: usr/target.c `tgt_target_destroy()`
    pub fn delete_target(&mut self, tid: i32, force: bool, active: bool) -> AdmResult {
        let t = self.target(tid)?;
        if !force && active {
            return Err(ErrCode::TARGET_ACTIVE);
        }
        // COMPAT: tgt deletes LUs highest first and stops at a busy one with
        // `this logical unit is still active`, leaving the target half deleted; we check
        // every LU first and delete nothing when one is busy.
        let busy = t.luns.values().any(|lu| {
            let st = lu.state();
            st.tasks.active() + st.tasks.deferred() > 0
        });
        if busy {
            return Err(ErrCode::LUN_ACTIVE);
        }
        let id = TargetId(tid);
        if let Some(t) = self.targets.remove(&id) {
            if let Some(d) = self.llds.get_mut(t.lld) {
                d.targets.retain(|x| *x != id);
            }
            self.bound_hosts.retain(|h| h.tid != id);
            tracing::info!(tid, name = t.name, "target deleted");
        }
        Ok(())
    }

    /// `target update --name state`. tgt: `tgt_set_target_state()`
    pub fn set_target_state(&mut self, tid: i32, value: &str) -> AdmResult {
        let t = self.target_mut(tid)?;
        t.state = State::parse(value).ok_or(ErrCode::INVALID_REQUEST)?;
        Ok(())
    }

    /// `target bind --initiator-address`. tgt: `acl_add()`
    pub fn acl_add(&mut self, tid: i32, address: &str) -> AdmResult {
        let t = self.target_mut(tid)?;
        if t.acl_addresses.iter().any(|a| a == address) {
            return Err(ErrCode::ACL_EXIST);
        }
        t.acl_addresses.push(address.to_owned());
        Ok(())
    }

    /// `target unbind --initiator-address`. tgt: `acl_del()`
    pub fn acl_del(&mut self, tid: i32, address: &str) -> AdmResult {
        let t = self.target_mut(tid)?;
        let i = t
            .acl_addresses
            .iter()
            .position(|a| a == address)
            .ok_or(ErrCode::ACL_NOEXIST)?;
        t.acl_addresses.remove(i);
        Ok(())
    }

    /// `target bind --initiator-name`. tgt: `iqn_acl_add()`
    pub fn iqn_acl_add(&mut self, tid: i32, name: &str) -> AdmResult {
        let t = self.target_mut(tid)?;
        if t.acl_names.iter().any(|a| a == name) {
            return Err(ErrCode::ACL_EXIST);
        }
        t.acl_names.push(name.to_owned());
        Ok(())
    }

    /// `target unbind --initiator-name`. tgt: `iqn_acl_del()`
    pub fn iqn_acl_del(&mut self, tid: i32, name: &str) -> AdmResult {
        let t = self.target_mut(tid)?;
        let i = t
            .acl_names
            .iter()
            .position(|a| a == name)
            .ok_or(ErrCode::ACL_NOEXIST)?;
        t.acl_names.remove(i);
        Ok(())
    }

    /// `target bind -H`. tgt: `tgt_bind_host_to_target()`
    pub fn bind_host(&mut self, tid: i32, host_no: u32) -> AdmResult {
        self.target(tid)?;
        if self.bound_hosts.iter().any(|h| h.host_no == host_no) {
            return Err(ErrCode::BINDING_EXIST);
        }
        self.bound_hosts.insert(
            0,
            BoundHost {
                host_no,
                tid: TargetId(tid),
            },
        );
        Ok(())
    }

    /// `target unbind -H` (the tid is not checked, as in tgt); refused while the bound
    /// target has sessions. tgt: `tgt_unbind_host_to_target()`
    pub fn unbind_host(&mut self, host_no: u32, active: impl Fn(TargetId) -> bool) -> AdmResult {
        let i = self
            .bound_hosts
            .iter()
            .position(|h| h.host_no == host_no)
            .ok_or(ErrCode::NO_BINDING)?;
        if active(self.bound_hosts[i].tid) {
            return Err(ErrCode::TARGET_ACTIVE);
        }
        self.bound_hosts.remove(i);
        Ok(())
    }

    /// `logicalunit new`. Checks in tgt's order, then opens the media.
    /// tgt: usr/target.c `tgt_device_create()`
    pub fn create_lu(&mut self, tid: i32, lun: u64, device_type: u32, body: &str) -> AdmResult {
        let (mut path, mut bstype, mut bsopts, mut bsoflags, mut blocksize) =
            (None, None, None, None, None);
        for item in items(body) {
            if let Some(v) = match_str(item, "path") {
                path = Some(v);
            } else if let Some(v) = match_str(item, "bstype") {
                bstype = Some(v);
            } else if let Some(v) = match_str(item, "bsopts") {
                bsopts = Some(v);
            } else if let Some(v) = match_str(item, "bsoflags") {
                bsoflags = Some(v);
            } else if let Some(v) = match_str(item, "blocksize") {
                blocksize = Some(v);
            }
        }
        let target = self.targets.get(&TargetId(tid)).ok_or(ErrCode::NO_TARGET)?;
        if target.luns.contains_key(&lun) {
            return Err(ErrCode::LUN_EXIST);
        }
        let bst = match bstype {
            Some(name) => bs::lookup(name).ok_or_else(|| {
                match bs::not_built(name) {
                    Some(why) => tracing::warn!(bstype = name, "{why}"),
                    None => tracing::warn!(bstype = name, "unknown backing store type"),
                }
                ErrCode::INVALID_REQUEST
            })?,
            None => bs::lookup(bs::DEFAULT_BSTYPE).ok_or(ErrCode::INVALID_REQUEST)?,
        };
        let dev_type = DeviceType(device_type);
        let is_sg = bst.name.starts_with("sg") || bst.name.starts_with("bsg");
        if is_sg != (dev_type == DeviceType::PT) {
            tracing::warn!(
                bstype = bst.name,
                "passthrough needs bstype sg or bsg and vice versa"
            );
            return Err(ErrCode::INVALID_REQUEST);
        }
        let oflags = match bsoflags {
            Some(s) => OpenFlags::parse(s).ok_or(ErrCode::INVALID_REQUEST)?,
            None => OpenFlags::NONE,
        };
        if !oflags.is_subset_of(bst.oflags_supported) {
            tracing::warn!(
                bsoflags = oflags.render(),
                bstype = bst.name,
                "bsoflags not supported"
            );
            return Err(ErrCode::INVALID_REQUEST);
        }
        if !dev_type.is_supported() || dev_type == DeviceType::RAID {
            tracing::warn!(device_type, "unsupported device type");
            return Err(ErrCode::INVALID_REQUEST);
        }
        let blk_shift = blocksize.and_then(parse_blocksize);
        let mut lu = LogicalUnit::new(tid, lun, dev_type, bst, oflags, blk_shift);
        lu.bsopts = bsopts.map(str::to_owned);
        match path {
            Some(p) => lu.set_path(p)?,
            None => {
                lu.attrs.removable = 1;
                lu.attrs.online = 0;
            }
        }
        if let Some(t) = self.targets.get_mut(&TargetId(tid)) {
            t.luns.insert(lun, Arc::new(Lu::new(lu)));
        }
        tracing::info!(tid, lun, bstype = bst.name, "logical unit created");
        Ok(())
    }

    /// `logicalunit delete`. LUN 0 belongs to the target. tgt: `tgt_device_destroy()`
    pub fn delete_lu(&mut self, tid: i32, lun: u64) -> AdmResult {
        if lun == 0 {
            return Err(ErrCode::INVALID_REQUEST);
        }
        let t = self
            .targets
            .get_mut(&TargetId(tid))
            .ok_or(ErrCode::NO_LUN)?;
        let lu = t.luns.get(&lun).ok_or(ErrCode::NO_LUN)?;
        // tgt refuses while commands are queued or running on the LU.
        let busy = {
            let st = lu.state();
            st.tasks.active() + st.tasks.deferred() > 0
        };
        if busy {
            return Err(ErrCode::LUN_ACTIVE);
        }
        t.luns.remove(&lun);
        tracing::info!(tid, lun, "logical unit deleted");
        Ok(())
    }

    /// `logicalunit update --params`. tgt: `tgt_device_update()`
    pub fn update_lu(&mut self, tid: i32, lun: u64, body: &str) -> AdmResult {
        let t = self.target_mut(tid)?;
        let lu = t.luns.get(&lun).ok_or(ErrCode::NO_LUN)?;
        lu.configure(body)
    }

    /// `account new`. tgt: `account_add()`
    pub fn add_account(&mut self, user: &str, password: &str) -> AdmResult {
        if self.accounts.iter().any(|a| a.user == user) {
            return Err(ErrCode::USER_EXIST);
        }
        let aid = (1..i32::MAX.unsigned_abs())
            .find(|id| !self.accounts.iter().any(|a| a.aid == *id))
            .ok_or(ErrCode::TOO_MANY_USER)?;
        self.accounts.insert(
            0,
            Account {
                aid,
                user: user.to_owned(),
                password: password.to_owned(),
            },
        );
        Ok(())
    }

    /// `account delete`: unbinds it everywhere first. tgt: `account_del()`
    pub fn delete_account(&mut self, user: &str) -> AdmResult {
        let i = self
            .accounts
            .iter()
            .position(|a| a.user == user)
            .ok_or(ErrCode::NO_USER)?;
        let aid = self.accounts[i].aid;
        let bindings = self
            .targets
            .values_mut()
            .map(|t| &mut t.accounts)
            .chain(std::iter::once(&mut self.global_accounts));
        for b in bindings {
            let _ = b.unbind_incoming(aid);
            if b.outgoing == aid {
                b.outgoing = 0;
            }
        }
        self.accounts.remove(i);
        Ok(())
    }

    /// `account bind/unbind`; tid -1 is discovery. tgt: `account_ctl()`
    pub fn account_ctl(&mut self, tid: i32, dir: u32, user: &str, bind: bool) -> AdmResult {
        let binding = if tid == crate::mgmt::wire::TID_NONE {
            &mut self.global_accounts
        } else {
            &mut self
                .targets
                .get_mut(&TargetId(tid))
                .ok_or(ErrCode::NO_TARGET)?
                .accounts
        };
        let aid = self
            .accounts
            .iter()
            .find(|a| a.user == user)
            .ok_or(ErrCode::NO_USER)?
            .aid;
        let incoming = dir == AC_DIR_INCOMING;
        match (bind, incoming) {
            (true, true) => binding.bind_incoming(aid),
            (true, false) if binding.outgoing != 0 => Err(ErrCode::OUTACCOUNT_EXIST),
            (true, false) => {
                binding.outgoing = aid;
                Ok(())
            }
            (false, true) => binding.unbind_incoming(aid),
            (false, false) if binding.outgoing == aid => {
                binding.outgoing = 0;
                Ok(())
            }
            (false, false) => Err(ErrCode::NO_USER),
        }
    }

    /// The user name of an account id.
    pub fn account_user(&self, aid: u32) -> Option<&str> {
        self.accounts
            .iter()
            .find(|a| a.aid == aid)
            .map(|a| a.user.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sys_with_target() -> System {
        let mut s = System::new();
        s.create_target(LLD_ISCSI, 1, "targetname=iqn.2001-04.com.example:t1")
            .unwrap();
        s
    }

    #[test]
    fn target_create_checks() {
        let mut s = sys_with_target();
        assert_eq!(
            s.create_target(0, 1, "targetname=iqn.x"),
            Err(ErrCode::TARGET_EXIST)
        );
        assert_eq!(
            s.create_target(0, 2, "targetname=iqn.2001-04.com.example:t1"),
            Err(ErrCode::TARGET_EXIST)
        );
        assert_eq!(
            s.create_target(0, 2, "targetname=iqn.bad_name"),
            Err(ErrCode::INVALID_REQUEST)
        );
        assert_eq!(s.create_target(0, 2, ""), Err(ErrCode::INVALID_REQUEST));
        assert_eq!(s.create_target(0, 2, "foo=bar,targetname=iqn.y"), Ok(()));
        assert_eq!(
            s.target(1).unwrap().luns[&0].config().device_type,
            DeviceType::RAID
        );
    }

    #[test]
    fn lu_create_checks_in_tgt_order() {
        let mut s = sys_with_target();
        assert_eq!(s.create_lu(9, 1, 0, "path=/x"), Err(ErrCode::NO_TARGET));
        assert_eq!(s.create_lu(1, 0, 0, "path=/x"), Err(ErrCode::LUN_EXIST));
        assert_eq!(
            s.create_lu(1, 1, 0, "bstype=bogus"),
            Err(ErrCode::INVALID_REQUEST)
        );
        assert_eq!(
            s.create_lu(1, 1, 0xff, "bstype=rdwr"),
            Err(ErrCode::INVALID_REQUEST)
        );
        assert_eq!(
            s.create_lu(1, 1, 0, "bstype=null,bsoflags=sync"),
            Err(ErrCode::INVALID_REQUEST)
        );
        assert_eq!(
            s.create_lu(1, 1, 0, "bsoflags=foo"),
            Err(ErrCode::INVALID_REQUEST)
        );
        assert_eq!(
            s.create_lu(1, 1, 0, "path=/nonexistent/x"),
            Err(ErrCode::INVALID_REQUEST)
        );
        assert_eq!(s.create_lu(1, 1, 0, "bstype=null,path=/x"), Ok(()));
        assert_eq!(s.create_lu(1, 2, 0, ""), Ok(()));
        let lu = s.target(1).unwrap().luns[&2].config();
        assert_eq!((lu.attrs.online, lu.attrs.removable), (0, 1));
        drop(lu);
        assert_eq!(s.delete_lu(1, 0), Err(ErrCode::INVALID_REQUEST));
        assert_eq!(s.delete_lu(1, 7), Err(ErrCode::NO_LUN));
        assert_eq!(s.delete_lu(1, 2), Ok(()));
    }

    #[test]
    fn accounts_bind_and_reuse_slots() {
        let mut s = sys_with_target();
        s.add_account("alice", "pw").unwrap();
        s.add_account("bob", "pw").unwrap();
        assert_eq!(s.add_account("bob", "x"), Err(ErrCode::USER_EXIST));
        assert_eq!(s.accounts[0].user, "bob");
        s.account_ctl(1, 0, "alice", true).unwrap();
        s.account_ctl(1, 0, "bob", true).unwrap();
        assert_eq!(s.account_ctl(1, 0, "bob", true), Err(ErrCode::USER_EXIST));
        s.account_ctl(1, 0, "alice", false).unwrap();
        assert_eq!(s.account_ctl(1, 0, "alice", false), Err(ErrCode::NO_USER));
        s.account_ctl(1, 1, "alice", true).unwrap();
        assert_eq!(
            s.account_ctl(1, 1, "bob", true),
            Err(ErrCode::OUTACCOUNT_EXIST)
        );
        assert_eq!(s.account_ctl(1, 1, "bob", false), Err(ErrCode::NO_USER));
        assert_eq!(s.account_ctl(9, 0, "bob", true), Err(ErrCode::NO_TARGET));
        assert_eq!(s.account_ctl(1, 0, "carol", true), Err(ErrCode::NO_USER));
        s.delete_account("alice").unwrap();
        assert_eq!(s.target(1).unwrap().accounts.outgoing, 0);
        let ids: Vec<u32> = s.target(1).unwrap().accounts.incoming_ids().collect();
        assert_eq!(ids, [2]);
    }

    #[test]
    fn driver_lookup() {
        let s = System::new();
        assert_eq!(s.driver_index(b"", false), Ok(0));
        assert_eq!(s.driver_index(b"iscsi", false), Ok(0));
        assert_eq!(s.driver_index(b"iser", false), Err(ErrCode::NO_DRIVER));
        assert_eq!(s.driver_index(b"iser", true), Ok(1));
        assert_eq!(s.driver_index(b"foo", true), Err(ErrCode::NO_DRIVER));
    }
}
