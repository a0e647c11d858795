//! A scripted tgtd and device probe for tests of the planner.
//!
//! Owns just enough of tgtd's management behaviour (tgtadm-cli.md §4 daemon errors, §6.2 and
//! §6.4 show texts) to run tgt-admin's plans in memory: targets, LUNs, ACLs, accounts and
//! sessions, each request decoded from its tgtadm command line as it would be sent. The texts
//! follow C tgtd 1.0.85's layout for the lines tgt-admin reads.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use tgt::mgmt::wire::{ErrCode, Mode, Op};

use crate::device::{Identity, Probe};
use crate::plan::{Failure, Tgtd};
use crate::tgtadm::TgtadmCmd;

/// One target of the fake daemon.
#[derive(Debug, Clone, Default)]
pub struct FakeTarget {
    /// Its name.
    pub name: String,
    /// `--lld`.
    pub driver: String,
    /// ready/offline.
    pub state: String,
    /// LUN → backing path.
    pub luns: BTreeMap<u64, String>,
    /// Incoming accounts bound, in bind order.
    pub incoming: Vec<String>,
    /// The outgoing account.
    pub outgoing: Option<String>,
    /// ACL entries in bind order: (bound as an initiator name, value).
    pub acls: Vec<(bool, String)>,
    /// (sid, cid, initiator) of logged-in sessions.
    pub sessions: Vec<(u64, u32, String)>,
}

/// The fake daemon.
#[derive(Debug, Default)]
pub struct FakeTgtd {
    /// Targets by tid.
    pub targets: BTreeMap<i32, FakeTarget>,
    /// Accounts, oldest first.
    pub accounts: Vec<String>,
    /// Global (discovery) accounts bound.
    pub global_accounts: BTreeSet<String>,
    /// `iSNS=On`.
    pub isns_on: bool,
    /// Every command line run (queries included).
    pub lines: Vec<String>,
}

fn err(code: ErrCode) -> Failure {
    Failure {
        message: format!("tgtadm: {}\n", code.message()),
        code: 22,
    }
}

fn item<'a>(body: &'a str, key: &str) -> Option<&'a str> {
    body.split(',')
        .find_map(|i| i.strip_prefix(key)?.strip_prefix('='))
}

impl FakeTgtd {
    /// A target as tgtd would have it after `target new`.
    pub fn add_target(&mut self, tid: i32, name: &str) {
        self.targets.insert(
            tid,
            FakeTarget {
                name: name.to_string(),
                driver: "iscsi".to_string(),
                state: "ready".to_string(),
                ..FakeTarget::default()
            },
        );
    }

    /// `tgtadm --op show --mode target`.
    pub fn show_targets(&self) -> String {
        let mut s = String::new();
        for (tid, t) in &self.targets {
            let _ = writeln!(s, "Target {tid}: {}", t.name);
            s.push_str("    System information:\n");
            let _ = writeln!(s, "        Driver: {}", t.driver);
            let _ = writeln!(s, "        State: {}", t.state);
            s.push_str("    I_T nexus information:\n");
            for (sid, cid, ini) in &t.sessions {
                let _ = writeln!(s, "        I_T nexus: {sid}");
                let _ = writeln!(s, "            Initiator: {ini} alias: none");
                let _ = writeln!(s, "            Connection: {cid}");
                s.push_str("                IP Address: 127.0.0.1\n");
            }
            s.push_str("    LUN information:\n        LUN: 0\n            Type: controller\n");
            s.push_str(
                "            Backing store type: null\n            Backing store path: None\n",
            );
            for (lun, path) in &t.luns {
                let _ = writeln!(s, "        LUN: {lun}");
                s.push_str("            Type: disk\n            Backing store type: rdwr\n");
                let _ = writeln!(s, "            Backing store path: {path}");
            }
            s.push_str("    Account information:\n");
            for u in &t.incoming {
                let _ = writeln!(s, "        {u}");
            }
            if let Some(u) = &t.outgoing {
                let _ = writeln!(s, "        {u} (outgoing)");
            }
            s.push_str("    ACL information:\n");
            for (_, a) in &t.acls {
                let _ = writeln!(s, "        {a}");
            }
        }
        s
    }

    fn target(&mut self, tid: i32) -> Result<&mut FakeTarget, Failure> {
        self.targets
            .get_mut(&tid)
            .ok_or_else(|| err(ErrCode::NO_TARGET))
    }
}

impl Tgtd for FakeTgtd {
    fn run(&mut self, cmd: &TgtadmCmd) -> Result<String, Failure> {
        self.lines.push(cmd.line.clone());
        let inv = cmd.invocation().map_err(|r| Failure {
            message: r.message,
            code: r.code,
        })?;
        let body =
            String::from_utf8_lossy(inv.body.strip_suffix(b"\0").unwrap_or(&inv.body)).into_owned();
        let req = &inv.req;
        let lld = String::from_utf8_lossy(req.lld_name()).into_owned();
        match (req.mode, req.op) {
            (Mode::SYSTEM, Op::SHOW) => Ok(format!(
                "System:\n    State: ready\niSNS:\n    iSNS={}\n",
                if self.isns_on { "On" } else { "Off" }
            )),
            (Mode::SYSTEM, Op::UPDATE) => {
                if body == "iSNS=On" {
                    self.isns_on = true;
                }
                Ok(String::new())
            }
            (Mode::TARGET, Op::SHOW) => Ok(self.show_targets()),
            (Mode::TARGET, Op::NEW) => {
                let name = item(&body, "targetname").unwrap_or_default().to_string();
                if self.targets.contains_key(&req.tid)
                    || self.targets.values().any(|t| t.name == name)
                {
                    return Err(err(ErrCode::TARGET_EXIST));
                }
                if !lld.is_empty() && lld != "iscsi" {
                    return Err(err(ErrCode::NO_DRIVER));
                }
                self.add_target(req.tid, &name);
                Ok(String::new())
            }
            (Mode::TARGET, Op::DELETE) => {
                let force = req.force != 0;
                let t = self.target(req.tid)?;
                if !t.sessions.is_empty() && !force {
                    return Err(err(ErrCode::TARGET_ACTIVE));
                }
                self.targets.remove(&req.tid);
                Ok(String::new())
            }
            (Mode::TARGET, Op::BIND) | (Mode::TARGET, Op::UNBIND) => {
                // Address and name ACLs are separate lists in tgtd.
                let bind = req.op == Op::BIND;
                let acl = match item(&body, "initiator-address") {
                    Some(a) => (false, a.to_string()),
                    None => (
                        true,
                        item(&body, "initiator-name")
                            .unwrap_or_default()
                            .to_string(),
                    ),
                };
                let t = self.target(req.tid)?;
                let pos = t.acls.iter().position(|a| *a == acl);
                match (bind, pos) {
                    (true, Some(_)) => Err(err(ErrCode::ACL_EXIST)),
                    (true, None) => {
                        t.acls.push(acl);
                        Ok(String::new())
                    }
                    (false, Some(i)) => {
                        t.acls.remove(i);
                        Ok(String::new())
                    }
                    (false, None) => Err(err(ErrCode::ACL_NOEXIST)),
                }
            }
            (Mode::TARGET, Op::UPDATE) => {
                let t = self.target(req.tid)?;
                if let Some(v) = item(&body, "state") {
                    t.state = v.to_string();
                }
                Ok(String::new())
            }
            (Mode::DEVICE, Op::NEW) => {
                let lun = req.lun;
                let path = item(&body, "path").unwrap_or("None").to_string();
                let t = self.target(req.tid)?;
                if t.luns.contains_key(&lun) {
                    return Err(err(ErrCode::LUN_EXIST));
                }
                t.luns.insert(lun, path);
                Ok(String::new())
            }
            (Mode::DEVICE, Op::UPDATE) => self.target(req.tid).map(|_| String::new()),
            (Mode::ACCOUNT, Op::NEW) => {
                let user = item(&body, "user").unwrap_or_default().to_string();
                if self.accounts.contains(&user) {
                    return Err(err(ErrCode::USER_EXIST));
                }
                self.accounts.push(user);
                Ok(String::new())
            }
            (Mode::ACCOUNT, Op::SHOW) => {
                if self.accounts.is_empty() {
                    return Ok(String::new());
                }
                let mut s = "Account list:\n".to_string();
                for a in self.accounts.iter().rev() {
                    let _ = writeln!(s, "    {a}");
                }
                Ok(s)
            }
            (Mode::ACCOUNT, Op::BIND) => {
                let user = item(&body, "user").unwrap_or_default().to_string();
                if !self.accounts.contains(&user) {
                    return Err(err(ErrCode::NO_USER));
                }
                if req.tid == -1 {
                    if !self.global_accounts.insert(user) {
                        return Err(err(ErrCode::USER_EXIST));
                    }
                    return Ok(String::new());
                }
                let outgoing = req.ac_dir == 1;
                let t = self.target(req.tid)?;
                if outgoing {
                    if t.outgoing.is_some() {
                        return Err(err(ErrCode::OUTACCOUNT_EXIST));
                    }
                    t.outgoing = Some(user);
                } else {
                    if t.incoming.contains(&user) {
                        return Err(err(ErrCode::USER_EXIST));
                    }
                    t.incoming.push(user);
                }
                Ok(String::new())
            }
            (Mode::CONNECTION, Op::DELETE) => {
                let (sid, cid) = (req.sid, req.cid);
                let t = self.target(req.tid)?;
                let before = t.sessions.len();
                t.sessions.retain(|(s, c, _)| !(*s == sid && *c == cid));
                if t.sessions.len() == before {
                    return Err(err(ErrCode::NO_SESSION));
                }
                Ok(String::new())
            }
            _ => Err(err(ErrCode::INVALID_REQUEST)),
        }
    }
}

/// Scripted answers about paths.
#[derive(Debug, Default, Clone)]
pub struct FakeProbe {
    /// Paths that exist as files.
    pub files: BTreeSet<String>,
    /// Files some process holds open.
    pub open: BTreeSet<String>,
    /// Devices the kernel holds (mounted...).
    pub busy: BTreeSet<String>,
    /// Identities of direct-store devices.
    pub identities: BTreeMap<String, Identity>,
}

impl FakeProbe {
    /// A probe where `files` exist and are free.
    pub fn with_files(files: &[&str]) -> Self {
        Self {
            files: files.iter().map(|f| f.to_string()).collect(),
            ..Self::default()
        }
    }
}

impl Probe for FakeProbe {
    fn is_usable_file(&self, path: &str) -> bool {
        self.files.contains(path)
    }
    fn exists(&self, path: &str) -> bool {
        self.files.contains(path)
    }
    fn used_by_system(&self, path: &str) -> bool {
        self.busy.contains(path)
    }
    fn used_by_process(&self, path: &str) -> bool {
        self.open.contains(path)
    }
    fn identity(&self, path: &str) -> Identity {
        self.identities.get(path).cloned().unwrap_or_default()
    }
}
