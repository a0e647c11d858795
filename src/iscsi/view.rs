//! An immutable snapshot of what the iSCSI data path needs from the configuration.
//!
//! The main loop owns the configuration; after every management request it publishes a
//! fresh [`IscsiView`] that I/O loops read without locking the configuration. LUs are
//! shared (`Arc`), so attribute changes are seen at once; membership changes (targets, LUs,
//! ACLs, accounts, parameters) are seen from the next snapshot.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use super::login::{Auth, Redirect, TargetAccess};
use super::param::NR_KEYS;
use crate::scsi::lu::Lu;
use crate::tgt::{AccountBinding, State, System};

/// One target as the data path sees it.
#[derive(Debug, Clone)]
pub struct TargetView {
    /// Target id.
    pub tid: i32,
    /// IQN.
    pub name: String,
    /// Target state is ready.
    pub ready: bool,
    /// Address ACL rules.
    pub acl_addresses: Vec<String>,
    /// Name ACL rules.
    pub acl_names: Vec<String>,
    /// CHAP accounts bound to the target.
    pub auth: Auth,
    /// Session parameters the target offers.
    pub params: [u32; NR_KEYS],
    /// NOP-In interval (s).
    pub nop_interval: i32,
    /// NOP-In count.
    pub nop_count: i32,
    /// Static redirect.
    pub redirect: Option<Redirect>,
    /// Redirect callback program.
    pub redirect_callback: Option<String>,
    /// The target's LUs.
    pub luns: Arc<BTreeMap<u64, Arc<Lu>>>,
}

impl TargetView {
    /// What login needs.
    pub fn access(&self) -> TargetAccess {
        TargetAccess {
            tid: self.tid,
            ready: self.ready,
            acl_addresses: self.acl_addresses.clone(),
            acl_names: self.acl_names.clone(),
            auth: self.auth.clone(),
            params: self.params,
            redirect: self.redirect.clone(),
            redirect_callback: self.redirect_callback.clone(),
        }
    }
}

/// The whole snapshot.
#[derive(Debug, Clone, Default)]
pub struct IscsiView {
    /// System state is ready.
    pub system_ready: bool,
    /// iSCSI targets by tid.
    pub targets: BTreeMap<i32, TargetView>,
    /// Target ids in creation order (the order tgt answers SendTargets in).
    pub order: Vec<i32>,
    /// Accounts bound to discovery.
    pub discovery: Auth,
}

impl IscsiView {
    /// Builds the snapshot from the configuration.
    pub fn build(sys: &System, iscsi: &super::IscsiDriver) -> Self {
        let auth_of = |b: &AccountBinding| Auth {
            incoming: b
                .incoming_ids()
                .filter_map(|aid| sys.accounts.iter().find(|a| a.aid == aid))
                .map(|a| (a.user.clone(), a.password.clone()))
                .collect(),
            outgoing: sys
                .accounts
                .iter()
                .find(|a| b.outgoing != 0 && a.aid == b.outgoing)
                .map(|a| (a.user.clone(), a.password.clone())),
        };
        let mut targets = BTreeMap::new();
        for t in sys.targets.values() {
            let Some(it) = iscsi.targets.get(&t.tid) else {
                continue;
            };
            let r = &it.redirect;
            targets.insert(
                t.tid.0,
                TargetView {
                    tid: t.tid.0,
                    name: t.name.clone(),
                    ready: t.state == State::Ready,
                    acl_addresses: t.acl_addresses.clone(),
                    acl_names: t.acl_names.clone(),
                    auth: auth_of(&t.accounts),
                    params: it.params,
                    nop_interval: it.nop_interval,
                    nop_count: it.nop_count,
                    redirect: (!r.addr.is_empty()).then(|| Redirect {
                        addr: r.addr.clone(),
                        port: r.port.clone(),
                        reason: r.reason,
                    }),
                    redirect_callback: r.callback.clone(),
                    luns: Arc::new(t.luns.clone()),
                },
            );
        }
        let order = sys
            .llds
            .get(crate::tgt::LLD_ISCSI)
            .map(|d| d.targets.iter().map(|t| t.0).collect())
            .unwrap_or_default();
        Self {
            system_ready: sys.state == State::Ready,
            targets,
            order,
            discovery: auth_of(&sys.global_accounts),
        }
    }

    /// Targets in creation order.
    pub fn in_creation_order(&self) -> impl Iterator<Item = &TargetView> {
        self.order.iter().filter_map(|tid| self.targets.get(tid))
    }

    /// A target by exact name.
    pub fn by_name(&self, name: &str) -> Option<&TargetView> {
        self.targets.values().find(|t| t.name == name)
    }
}

/// Where the current snapshot lives; readers clone the `Arc` under a brief lock.
#[derive(Debug, Default)]
pub struct ViewCell(Mutex<Arc<IscsiView>>);

impl ViewCell {
    /// The current snapshot.
    pub fn get(&self) -> Arc<IscsiView> {
        Arc::clone(
            &self
                .0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }

    /// Publishes a new snapshot.
    pub fn set(&self, v: IscsiView) {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(v);
    }
}
