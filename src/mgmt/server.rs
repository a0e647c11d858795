//! The daemon side of the management protocol: the per-connection task state machine
//! (sans-IO) and the dispatch of a complete request onto the configuration.
//!
//! `MgmtTask` takes bytes as they arrive and says when a request is complete; `execute`
//! runs it against [`Config`] and returns the reply bytes plus the side effects the event
//! loop must carry out (listeners to register or close, shutdown). Only the event loop does
//! I/O. tgt: usr/mgmt.c.

use std::sync::{Arc, Mutex, MutexGuard};

use crate::iscsi::portal::{self, Portal, PortalItem};
use crate::iscsi::session::{ConnHandle, Registry};
use crate::iscsi::{tcp, IscsiDriver};
use crate::mgmt::params::body_text;
use crate::mgmt::render;
use crate::mgmt::wire::{encode_reply, ErrCode, Mode, Op, Request, WireError, REQ_LEN};
use crate::scsi::sense::{asc, Sense, SenseKey};
use crate::tgt::{LldState, State, System, TargetId, LLD_ISCSI};

/// Progress of one management connection. tgt: `enum mgmt_task_state`
#[derive(Debug)]
pub enum MgmtTask {
    /// Collecting the 120-byte header.
    Header {
        /// Bytes so far.
        buf: Vec<u8>,
    },
    /// Collecting `body_len` body bytes.
    Body {
        /// The decoded header.
        req: Request,
        /// Body bytes so far.
        buf: Vec<u8>,
        /// Bytes expected.
        body_len: usize,
    },
    /// The request is complete.
    Ready {
        /// The decoded header.
        req: Request,
        /// The body (possibly empty).
        body: Vec<u8>,
    },
}

impl Default for MgmtTask {
    fn default() -> Self {
        Self::Header {
            buf: Vec::with_capacity(REQ_LEN),
        }
    }
}

impl MgmtTask {
    /// How many more bytes this task wants; 0 once the request is complete. The loop never
    /// reads more than this, so bytes after `len` stay unread, as in tgt.
    pub fn wanted(&self) -> usize {
        match self {
            Self::Header { buf } => REQ_LEN - buf.len(),
            Self::Body { buf, body_len, .. } => body_len - buf.len(),
            Self::Ready { .. } => 0,
        }
    }

    /// Feeds bytes (at most [`wanted`](Self::wanted)). An error means the connection must be
    /// closed without an answer (bad `len`), as tgt does.
    pub fn feed(&mut self, data: &[u8]) -> Result<(), WireError> {
        let state = std::mem::take(self);
        *self = match state {
            Self::Header { mut buf } => {
                buf.extend_from_slice(data);
                if buf.len() < REQ_LEN {
                    Self::Header { buf }
                } else {
                    let hdr: [u8; REQ_LEN] = buf[..REQ_LEN]
                        .try_into()
                        .expect("length checked just above");
                    let req = Request::decode(&hdr);
                    let body_len = req.body_len()?;
                    if body_len == 0 {
                        Self::Ready {
                            req,
                            body: Vec::new(),
                        }
                    } else {
                        Self::Body {
                            req,
                            buf: Vec::with_capacity(body_len),
                            body_len,
                        }
                    }
                }
            }
            Self::Body {
                req,
                mut buf,
                body_len,
            } => {
                buf.extend_from_slice(data);
                if buf.len() < body_len {
                    Self::Body { req, buf, body_len }
                } else {
                    Self::Ready { req, body: buf }
                }
            }
            ready @ Self::Ready { .. } => ready,
        };
        Ok(())
    }
}

/// Everything the management plane edits.
#[derive(Debug, Default)]
pub struct Config {
    /// The core: targets, LUs, accounts, drivers.
    pub sys: System,
    /// The iSCSI driver's state.
    pub iscsi: IscsiDriver,
    /// Listening portals in creation order.
    pub portals: Vec<Portal>,
    /// Portal strings given with `--iscsi`, re-applied when the driver restarts.
    pub portal_args: Option<String>,
    /// Sessions and connections, shared with the I/O loops.
    pub sessions: Arc<Mutex<Registry>>,
    next_portal_id: u64,
}

/// Work for the event loop after a request.
#[derive(Debug)]
pub enum Effect {
    /// A portal with this id was added to [`Config::portals`]: start accepting on it.
    ListenerAdded(u64),
    /// This portal was removed: stop watching it, then drop it.
    ListenerRemoved(Portal),
    /// `system delete` succeeded: exit once the reply is sent.
    Shutdown,
    /// Close these iSCSI connections (`conn delete`, `target delete --force`).
    CloseConnections(Vec<ConnHandle>),
}

/// The result of one request.
#[derive(Debug)]
pub struct Outcome {
    /// Reply bytes: `tgtadm_rsp` and any text.
    pub reply: Vec<u8>,
    /// What the loop must do.
    pub effects: Vec<Effect>,
}

impl Config {
    /// A configuration with the daemon-start portal arguments (`--iscsi ...`).
    pub fn new(portal_args: Option<String>) -> Self {
        Self {
            portal_args,
            ..Self::default()
        }
    }

    /// Starts the iSCSI driver's portals: those from `--iscsi`, else the wildcards on 3260.
    /// tgt: usr/iscsi/iscsi_tcp.c `iscsi_tcp_init()`
    pub fn start_portals(&mut self, effects: &mut Vec<Effect>) {
        if let Some(args) = self.portal_args.clone() {
            let _ = self.apply_portal_string(&args, true, effects);
        }
        if self.portals.is_empty() {
            let _ = self.add_portal(None, i32::from(crate::iscsi::DEFAULT_PORT), effects);
        }
    }

    fn add_portal(&mut self, addr: Option<&str>, port: i32, effects: &mut Vec<Effect>) -> bool {
        match tcp::bind_portal(addr, port) {
            Ok(bound) => {
                for (listener, local) in bound {
                    let id = self.next_portal_id;
                    self.next_portal_id += 1;
                    self.portals.push(Portal {
                        addr: local.ip().to_string(),
                        port: local.port(),
                        tpgt: 1,
                        listener,
                        id,
                    });
                    effects.push(Effect::ListenerAdded(id));
                    tracing::info!(portal = %local, "portal listening");
                }
                true
            }
            Err(e) => {
                tracing::warn!(addr = addr.unwrap_or(""), port, error = %e, "failed to create portal");
                false
            }
        }
    }

    fn delete_portal(&mut self, addr: &str, port: i32, effects: &mut Vec<Effect>) -> bool {
        let Some(i) = self
            .portals
            .iter()
            .rposition(|p| p.addr == addr && i32::from(p.port) == port)
        else {
            tracing::warn!(addr, port, "no such portal");
            return false;
        };
        effects.push(Effect::ListenerRemoved(self.portals.remove(i)));
        true
    }

    /// Applies a portal string; stops at the first failure. tgt: `iscsi_param_parse_portals()`
    fn apply_portal_string(
        &mut self,
        s: &str,
        add: bool,
        effects: &mut Vec<Effect>,
    ) -> Result<(), ErrCode> {
        for item in portal::parse(s) {
            match item {
                PortalItem::Portal { addr, port } => {
                    let ok = if add {
                        self.add_portal(Some(&addr), port, effects)
                    } else {
                        self.delete_portal(&addr, port, effects)
                    };
                    if !ok {
                        return Err(ErrCode::INVALID_REQUEST);
                    }
                }
                PortalItem::NopInterval(n) => self.iscsi.default_nop_interval = n,
                PortalItem::NopCount(n) => self.iscsi.default_nop_count = n,
                PortalItem::Malformed => return Err(ErrCode::INVALID_REQUEST),
            }
        }
        Ok(())
    }

    /// Runs one complete request. tgt: usr/mgmt.c `mtask_execute()` and the `*_mgmt()`
    /// handlers.
    pub fn execute(&mut self, req: &Request, body: &[u8]) -> Outcome {
        let text = body_text(body);
        let mut effects = Vec::new();
        let span = tracing::debug_span!("mgmt", mode = ?req.mode, op = ?req.op);
        let _g = span.enter();
        let result = self.dispatch(req, &text, &mut effects);
        let (err, out) = match result {
            Ok(out) => (ErrCode::SUCCESS, out),
            Err(e) => {
                tracing::debug!(err = e.0, "request failed");
                (e, String::new())
            }
        };
        if err.is_success() && req.mode == Mode::SYSTEM && req.op == Op::DELETE {
            effects.push(Effect::Shutdown);
        }
        Outcome {
            reply: encode_reply(err, &out),
            effects,
        }
    }

    fn dispatch(
        &mut self,
        req: &Request,
        body: &str,
        effects: &mut Vec<Effect>,
    ) -> Result<String, ErrCode> {
        let lld = self
            .sys
            .driver_index(req.lld_name(), req.mode == Mode::LLD)?;
        match req.mode {
            Mode::SYSTEM => self.system(req, body),
            Mode::TARGET => self.target(req, lld, body, effects),
            Mode::PORTAL => self.portal(req, lld, body, effects),
            Mode::DEVICE => self.device(req, body),
            Mode::ACCOUNT => self.account(req, body),
            Mode::SESSION => self.session(req, lld),
            Mode::CONNECTION => self.connection(req, lld, effects),
            Mode::LLD => self.lld(req, lld, effects),
            _ => {
                // tgt hands unknown modes with op show to the driver's show.
                if req.op == Op::SHOW && lld == LLD_ISCSI {
                    self.sys.target(req.tid)?;
                }
                Err(ErrCode::INVALID_REQUEST)
            }
        }
    }

    fn system(&mut self, req: &Request, body: &str) -> Result<String, ErrCode> {
        match req.op {
            Op::UPDATE => {
                if let Some(v) = body.strip_prefix("debug=") {
                    if v.starts_with("on") {
                        self.sys.debug = true;
                    } else if v.starts_with("off") {
                        self.sys.debug = false;
                    } else {
                        return Err(ErrCode::INVALID_REQUEST);
                    }
                    crate::log::set_debug(self.sys.debug);
                    Ok(String::new())
                } else {
                    self.iscsi.update_system(body, &mut self.sys.state)?;
                    Ok(String::new())
                }
            }
            Op::SHOW => Ok(render::system(&self.sys, &self.iscsi)),
            Op::STATS => {
                let mut out = render::stat_header();
                for t in self.sys.targets.values() {
                    render::target_stats(&mut out, t);
                }
                Ok(out)
            }
            Op::DELETE if self.sys.targets.is_empty() => Ok(String::new()),
            _ => Err(ErrCode::INVALID_REQUEST),
        }
    }

    fn target(
        &mut self,
        req: &Request,
        lld: usize,
        body: &str,
        effects: &mut Vec<Effect>,
    ) -> Result<String, ErrCode> {
        match req.op {
            Op::NEW => {
                self.sys.create_target(lld, req.tid, body)?;
                if lld == LLD_ISCSI {
                    self.iscsi.target_created(TargetId(req.tid));
                }
                Ok(String::new())
            }
            Op::DELETE => {
                let conns: Vec<ConnHandle> = self
                    .registry()
                    .of_target(req.tid)
                    .flat_map(|s| s.conns.iter().map(|c| c.handle))
                    .collect();
                self.sys
                    .delete_target(req.tid, req.force != 0, !conns.is_empty())?;
                self.iscsi.target_deleted(TargetId(req.tid));
                if !conns.is_empty() {
                    effects.push(Effect::CloseConnections(conns));
                }
                Ok(String::new())
            }
            Op::BIND | Op::UNBIND => self
                .target_bind(req, body, req.op == Op::BIND)
                .map(|()| String::new()),
            Op::UPDATE => {
                let (name, value) = body.split_once('=').ok_or(ErrCode::UNSUPPORTED_OPERATION)?;
                if name == "state" {
                    self.sys.set_target_state(req.tid, value)?;
                } else {
                    self.iscsi.update_target(TargetId(req.tid), name, value)?;
                }
                Ok(String::new())
            }
            Op::SHOW if req.tid < 0 => Ok(render::all_targets(
                &self.sys,
                &self.iscsi,
                &self.registry(),
            )),
            Op::SHOW => {
                let it = self
                    .iscsi
                    .targets
                    .get(&TargetId(req.tid))
                    .ok_or(ErrCode::NO_TARGET)?;
                Ok(render::target_params(it))
            }
            Op::STATS => {
                let t = self.sys.target(req.tid)?;
                let mut out = render::stat_header();
                render::target_stats(&mut out, t);
                Ok(out)
            }
            _ => Err(ErrCode::INVALID_REQUEST),
        }
    }

    /// `target bind/unbind`: a host binding without a body, else ACLs found with `strstr`,
    /// each value running to the end of the text. tgt: usr/mgmt.c `target_mgmt()`
    fn target_bind(&mut self, req: &Request, body: &str, bind: bool) -> Result<(), ErrCode> {
        if req.len == crate::mgmt::wire::REQ_LEN_U32 {
            return if bind {
                self.sys.bind_host(req.tid, req.host_no)
            } else {
                let sessions = Arc::clone(&self.sessions);
                let active = |tid: TargetId| {
                    sessions
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .target_active(tid.0)
                };
                self.sys.unbind_host(req.host_no, active)
            };
        }
        let mut result = Err(ErrCode::INVALID_REQUEST);
        if let Some(i) = body.find("initiator-address=") {
            let v = &body[i + "initiator-address=".len()..];
            result = if bind {
                self.sys.acl_add(req.tid, v)
            } else {
                self.sys.acl_del(req.tid, v)
            };
            result?;
        }
        if let Some(i) = body.find("initiator-name=") {
            let v = &body[i + "initiator-name=".len()..];
            result = if bind {
                self.sys.iqn_acl_add(req.tid, v)
            } else {
                self.sys.iqn_acl_del(req.tid, v)
            };
        }
        result
    }

    fn portal(
        &mut self,
        req: &Request,
        lld: usize,
        body: &str,
        effects: &mut Vec<Effect>,
    ) -> Result<String, ErrCode> {
        if lld != LLD_ISCSI {
            return Err(ErrCode::INVALID_REQUEST);
        }
        match req.op {
            Op::SHOW => Ok(render::portals(&self.portals)),
            Op::NEW | Op::DELETE => {
                let i = body.find("portal=").ok_or(ErrCode::INVALID_REQUEST)?;
                self.apply_portal_string(&body[i..], req.op == Op::NEW, effects)?;
                Ok(String::new())
            }
            _ => Err(ErrCode::INVALID_REQUEST),
        }
    }

    fn device(&mut self, req: &Request, body: &str) -> Result<String, ErrCode> {
        match req.op {
            Op::NEW => {
                self.sys
                    .create_lu(req.tid, req.lun, req.device_type, body)?;
                self.lun_attached(req.tid, req.lun);
                Ok(String::new())
            }
            Op::DELETE => {
                self.sys.delete_lu(req.tid, req.lun)?;
                self.lun_detached(req.tid, req.lun);
                Ok(String::new())
            }
            Op::UPDATE => {
                self.sys.update_lu(req.tid, req.lun, body)?;
                Ok(String::new())
            }
            Op::STATS if req.sid != 0 => {
                // Not reachable from tgtadm: the iSCSI driver's per-session statistics.
                let reg = self.registry();
                let s = reg
                    .by_tsih(truncate_tsih(req.sid))
                    .ok_or(ErrCode::NO_SESSION)?;
                Ok(render::session_stats(&self.sys, s))
            }
            Op::STATS => {
                let t = self.sys.target(req.tid)?;
                let lu = t.luns.get(&req.lun).ok_or(ErrCode::NO_LUN)?;
                let mut out = render::stat_header();
                render::lu_stats(&mut out, t.tid.0, lu);
                Ok(out)
            }
            _ => Err(ErrCode::UNSUPPORTED_OPERATION),
        }
    }

    fn account(&mut self, req: &Request, body: &str) -> Result<String, ErrCode> {
        match req.op {
            Op::NEW | Op::DELETE | Op::BIND | Op::UNBIND => {
                // COMPAT: tgt crashes here when there is no body; we answer invalid request.
                let i = body.find("user=").ok_or(ErrCode::INVALID_REQUEST)?;
                let user = &body[i + 5..];
                match req.op {
                    Op::NEW => {
                        let (user, rest) = user.split_once(',').ok_or(ErrCode::INVALID_REQUEST)?;
                        // tgt skips 9 bytes, assuming "password=".
                        let password = rest.get(9..).unwrap_or("");
                        self.sys.add_account(user, password)?;
                    }
                    Op::DELETE => self.sys.delete_account(user)?,
                    _ => {
                        // tid -1 (GLOBAL_TID) is the discovery target.
                        self.sys
                            .account_ctl(req.tid, req.ac_dir, user, req.op == Op::BIND)?;
                    }
                }
                Ok(String::new())
            }
            Op::SHOW => Ok(render::accounts(&self.sys)),
            _ => Err(ErrCode::UNSUPPORTED_OPERATION),
        }
    }

    fn session(&mut self, req: &Request, lld: usize) -> Result<String, ErrCode> {
        match req.op {
            // The session is found by TSIH across all targets; the tid is not used.
            Op::STATS if lld == LLD_ISCSI => {
                let reg = self.registry();
                let s = reg
                    .by_tsih(truncate_tsih(req.sid))
                    .ok_or(ErrCode::NO_SESSION)?;
                Ok(render::session_stats(&self.sys, s))
            }
            _ => Err(ErrCode::INVALID_REQUEST),
        }
    }

    fn connection(
        &mut self,
        req: &Request,
        lld: usize,
        effects: &mut Vec<Effect>,
    ) -> Result<String, ErrCode> {
        if lld != LLD_ISCSI {
            return Err(ErrCode::INVALID_REQUEST);
        }
        match req.op {
            Op::SHOW => {
                self.sys.target(req.tid)?;
                Ok(render::connections(&self.registry(), req.tid))
            }
            Op::STATS => {
                let reg = self.registry();
                let s = reg
                    .by_tsih(truncate_tsih(req.sid))
                    .ok_or(ErrCode::NO_SESSION)?;
                let c = s
                    .conns
                    .iter()
                    .find(|c| u32::from(c.cid) == req.cid)
                    .ok_or(ErrCode::NO_CONNECTION)?;
                Ok(render::conn_stats(s, c))
            }
            Op::DELETE => {
                self.sys.target(req.tid)?;
                let reg = self.registry();
                let mut found = false;
                let mut handle = None;
                for s in reg.of_target(req.tid) {
                    if u64::from(s.tsih) != req.sid {
                        continue;
                    }
                    found = true;
                    if let Some(c) = s.conns.iter().find(|c| u32::from(c.cid) == req.cid) {
                        tracing::info!(sid = s.tsih, cid = c.cid, "closing connection");
                        handle = Some(c.handle);
                        break;
                    }
                }
                drop(reg);
                match (handle, found) {
                    (Some(h), _) => {
                        effects.push(Effect::CloseConnections(vec![h]));
                        Ok(String::new())
                    }
                    (None, true) => Err(ErrCode::NO_CONNECTION),
                    (None, false) => Err(ErrCode::NO_SESSION),
                }
            }
            _ => Err(ErrCode::INVALID_REQUEST),
        }
    }

    fn lld(
        &mut self,
        req: &Request,
        lld: usize,
        effects: &mut Vec<Effect>,
    ) -> Result<String, ErrCode> {
        let state = self.sys.llds[lld].state;
        match req.op {
            Op::START if state == LldState::Ready => Ok(String::new()),
            Op::START if lld == LLD_ISCSI => {
                self.start_portals(effects);
                self.sys.llds[lld].state = LldState::Ready;
                Ok(String::new())
            }
            // COMPAT: iSER needs RDMA, which this daemon does not implement.
            Op::START => Err(ErrCode::UNKNOWN_ERR),
            Op::STOP if state == LldState::Ready => {
                if !self.sys.llds[lld].targets.is_empty() {
                    return Err(ErrCode::DRIVER_ACTIVE);
                }
                if lld == LLD_ISCSI {
                    for p in std::mem::take(&mut self.portals) {
                        effects.push(Effect::ListenerRemoved(p));
                    }
                }
                self.sys.llds[lld].state = LldState::Stopped;
                Ok(String::new())
            }
            Op::STOP => Ok(String::new()),
            Op::SHOW => Ok(render::llds(&self.sys)),
            _ => Err(ErrCode::INVALID_REQUEST),
        }
    }

    /// A new LU: every session of the target sees it with POWER ON pending, and every
    /// other LU of those sessions reports REPORTED LUNS DATA HAS CHANGED.
    /// tgt: usr/target.c `tgt_device_create()`
    fn lun_attached(&self, tid: i32, lun: u64) {
        let Ok(t) = self.sys.target(tid) else { return };
        let mut reg = self.registry();
        let nexuses: Vec<_> = reg.of_target(tid).map(|s| s.nexus()).collect();
        let changed = Sense::new(
            SenseKey::UNIT_ATTENTION,
            asc::REPORTED_LUNS_DATA_HAS_CHANGED,
        );
        for n in &nexuses {
            for (l, lu) in &t.luns {
                if *l == lun {
                    lu.nexus_joined(*n);
                } else if let Some(q) = lu.state().ua.get_mut(n) {
                    if !q.contains(&changed) {
                        q.push_back(changed);
                    }
                }
            }
        }
        reg.lun_added(tid, lun);
    }

    /// A deleted LU: the remaining LUs of every session report the change.
    fn lun_detached(&self, tid: i32, lun: u64) {
        let Ok(t) = self.sys.target(tid) else { return };
        let mut reg = self.registry();
        let changed = Sense::new(
            SenseKey::UNIT_ATTENTION,
            asc::REPORTED_LUNS_DATA_HAS_CHANGED,
        );
        for n in reg.of_target(tid).map(|s| s.nexus()).collect::<Vec<_>>() {
            for lu in t.luns.values() {
                if let Some(q) = lu.state().ua.get_mut(&n) {
                    if !q.contains(&changed) {
                        q.push_back(changed);
                    }
                }
            }
        }
        reg.lun_removed(tid, lun);
    }

    /// The session registry.
    pub fn registry(&self) -> MutexGuard<'_, Registry> {
        self.sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether the system accepts iSCSI logins at all.
    pub fn system_ready(&self) -> bool {
        self.sys.state == State::Ready
    }
}

/// tgt looks sessions up by `(uint16_t)sid`.
fn truncate_tsih(sid: u64) -> u16 {
    u16::try_from(sid & 0xffff).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mgmt::wire::Response;

    fn req(mode: Mode, op: Op, tid: i32, body: &str) -> (Request, Vec<u8>) {
        let mut r = Request {
            mode,
            op,
            tid,
            ..Request::default()
        };
        let mut b = body.as_bytes().to_vec();
        if !b.is_empty() {
            b.push(0);
        }
        r.len = u32::try_from(REQ_LEN + b.len()).unwrap();
        (r, b)
    }

    fn run(c: &mut Config, mode: Mode, op: Op, tid: i32, body: &str) -> (u32, String) {
        let (r, b) = req(mode, op, tid, body);
        let out = c.execute(&r, &b);
        let rsp = Response::decode(out.reply[..8].try_into().unwrap());
        let text = if out.reply.len() > 8 {
            String::from_utf8(out.reply[8..out.reply.len() - 1].to_vec()).unwrap()
        } else {
            String::new()
        };
        (rsp.err.0, text)
    }

    #[test]
    fn task_collects_split_header_and_body() {
        let (r, b) = req(Mode::TARGET, Op::NEW, 1, "targetname=iqn.x");
        let mut bytes = r.encode().to_vec();
        bytes.extend_from_slice(&b);
        let mut t = MgmtTask::default();
        let mut off = 0;
        while t.wanted() > 0 {
            let n = 7.min(t.wanted());
            t.feed(&bytes[off..off + n]).unwrap();
            off += n;
        }
        assert_eq!(off, bytes.len());
        match t {
            MgmtTask::Ready { req, body } => {
                assert_eq!(req, r);
                assert_eq!(body, b);
            }
            other => panic!("not ready: {other:?}"),
        }
    }

    #[test]
    fn task_rejects_bad_len() {
        let (mut r, _) = req(Mode::SYSTEM, Op::SHOW, -1, "");
        r.len = 100;
        let mut t = MgmtTask::default();
        assert!(t.feed(&r.encode()).is_err());
        r.len = 120 + 8193;
        let mut t = MgmtTask::default();
        assert!(t.feed(&r.encode()).is_err());
    }

    #[test]
    fn missing_bodies_are_invalid_requests() {
        let mut c = Config::new(None);
        assert_eq!(run(&mut c, Mode::TARGET, Op::NEW, 1, "").0, 17);
        assert_eq!(run(&mut c, Mode::ACCOUNT, Op::DELETE, -1, "").0, 17);
        assert_eq!(run(&mut c, Mode::PORTAL, Op::NEW, -1, "").0, 17);
        assert_eq!(run(&mut c, Mode::TARGET, Op::UPDATE, 1, "").0, 22);
    }

    #[test]
    fn acl_with_both_keys_concatenates_like_tgt() {
        let mut c = Config::new(None);
        assert_eq!(
            run(&mut c, Mode::TARGET, Op::NEW, 1, "targetname=iqn.x").0,
            0
        );
        assert_eq!(
            run(
                &mut c,
                Mode::TARGET,
                Op::BIND,
                1,
                "initiator-address=1.2.3.4,initiator-name=iqn.y"
            )
            .0,
            0
        );
        let t = c.sys.target(1).unwrap();
        assert_eq!(t.acl_addresses, ["1.2.3.4,initiator-name=iqn.y"]);
        assert_eq!(t.acl_names, ["iqn.y"]);
    }

    #[test]
    fn target_show_text() {
        let mut c = Config::new(None);
        run(
            &mut c,
            Mode::TARGET,
            Op::NEW,
            1,
            "targetname=iqn.2001-04.com.example:t1",
        );
        let (e, text) = run(&mut c, Mode::TARGET, Op::SHOW, -1, "");
        assert_eq!(e, 0);
        assert!(text.starts_with("Target 1: iqn.2001-04.com.example:t1\n    System information:\n"));
        assert!(text.contains("            Backing store flags: \n"));
        let (_, params) = run(&mut c, Mode::TARGET, Op::SHOW, 1, "");
        assert_eq!(params.lines().count(), 26);
        assert_eq!(run(&mut c, Mode::SYSTEM, Op::DELETE, -1, "").0, 17);
    }

    #[test]
    fn system_delete_without_targets_shuts_down() {
        let mut c = Config::new(None);
        let (r, b) = req(Mode::SYSTEM, Op::DELETE, -1, "");
        let out = c.execute(&r, &b);
        assert_eq!(out.reply, [0, 0, 0, 0, 8, 0, 0, 0]);
        assert!(matches!(out.effects[..], [Effect::Shutdown]));
    }

    #[test]
    fn unknown_mode_and_op() {
        let mut c = Config::new(None);
        assert_eq!(run(&mut c, Mode(42), Op::SHOW, 1, "").0, 4);
        assert_eq!(run(&mut c, Mode(42), Op::NEW, 1, "").0, 17);
        assert_eq!(run(&mut c, Mode::TARGET, Op(99), 1, "").0, 17);
        assert_eq!(run(&mut c, Mode::DEVICE, Op::SHOW, 1, "").0, 22);
    }
}
