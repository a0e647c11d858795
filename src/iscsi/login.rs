//! The login phase of one connection, sans-IO: security negotiation (None or CHAP, with
//! mutual CHAP), operational negotiation, stage transitions, and the checks that decide
//! whether a login may proceed (target, ACL, state, redirection, session reinstatement).
//!
//! Input is one decoded Login Request at a time ([`LoginPdu`]); output is the Login
//! Response to send ([`LoginReply`]) and whether the login goes on, failed, or completed.
//! What the machine needs to know about the configuration and sessions comes through
//! [`LoginEnv`], so tests script it without sockets.
//! RFC 7143 §6.2 (stages), §11.12–11.13, §12 (keys), §13; tgt: usr/iscsi/iscsid.c
//! `cmnd_exec_login()`, `login_start()`, `text_scan_security()`, `text_scan_login()`,
//! `text_check_param()`, `login_security_done()`, `login_finish()`; usr/iscsi/chap.c.

use std::net::IpAddr;

use super::chap::{self, ChapAlg, Encoding};
use super::param::{self, idx, KeyKind, KEYS, NR_KEYS};

/// Login stage numbers. RFC 7143 §11.12.3
pub mod stage {
    /// SecurityNegotiation
    pub const SECURITY: u8 = 0;
    /// LoginOperationalNegotiation
    pub const OPERATIONAL: u8 = 1;
    /// FullFeaturePhase
    pub const FULL_FEATURE: u8 = 3;
}

/// Login response status classes and details. RFC 7143 §11.13.5
pub mod status {
    /// Success.
    pub const SUCCESS: (u8, u8) = (0, 0);
    /// Redirection, temporary.
    pub const TGT_MOVED_TEMP: u8 = 0x01;
    /// Redirection, permanent.
    pub const TGT_MOVED_PERM: u8 = 0x02;
    /// Class 1: redirection.
    pub const CLASS_REDIRECT: u8 = 0x01;
    /// Class 2: initiator error.
    pub const CLASS_INITIATOR_ERR: u8 = 0x02;
    /// Class 3: target error.
    pub const CLASS_TARGET_ERR: u8 = 0x03;
    /// 2/00 miscellaneous initiator error.
    pub const INIT_ERR: (u8, u8) = (0x02, 0x00);
    /// 2/01 authentication failure.
    pub const AUTH_FAILED: (u8, u8) = (0x02, 0x01);
    /// 2/03 target not found.
    pub const TGT_NOT_FOUND: (u8, u8) = (0x02, 0x03);
    /// 2/05 unsupported version.
    pub const NO_VERSION: (u8, u8) = (0x02, 0x05);
    /// 2/07 missing parameter.
    pub const MISSING_FIELDS: (u8, u8) = (0x02, 0x07);
    /// 2/09 session type not supported.
    pub const NO_SESSION_TYPE: (u8, u8) = (0x02, 0x09);
    /// 2/0A session does not exist.
    pub const NO_SESSION: (u8, u8) = (0x02, 0x0a);
    /// 3/00 target error.
    pub const TARGET_ERROR: (u8, u8) = (0x03, 0x00);
    /// 3/02 out of resources.
    pub const NO_RESOURCES: (u8, u8) = (0x03, 0x02);
}

/// The fields of a Login Request the state machine uses. RFC 7143 §11.12
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginPdu {
    /// T bit.
    pub transit: bool,
    /// C bit (text continues in the next PDU).
    pub cont: bool,
    /// Current stage.
    pub csg: u8,
    /// Next stage.
    pub nsg: u8,
    /// Version-max.
    pub version_max: u8,
    /// Version-min.
    pub version_min: u8,
    /// Initiator session id.
    pub isid: [u8; 6],
    /// TSIH (0 for a new session).
    pub tsih: u16,
    /// Connection id.
    pub cid: u16,
    /// Initiator task tag.
    pub itt: u32,
    /// CmdSN.
    pub cmd_sn: u32,
    /// ExpStatSN.
    pub exp_stat_sn: u32,
    /// Text keys in order.
    pub keys: Vec<(String, String)>,
}

/// The Login Response to send (StatSN, ExpCmdSN, MaxCmdSN are filled by the connection).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginReply {
    /// T bit.
    pub transit: bool,
    /// Current stage.
    pub csg: u8,
    /// Next stage (meaningful with T).
    pub nsg: u8,
    /// ISID echoed.
    pub isid: [u8; 6],
    /// TSIH: 0 until the session exists.
    pub tsih: u16,
    /// ITT echoed.
    pub itt: u32,
    /// Status class.
    pub status_class: u8,
    /// Status detail.
    pub status_detail: u8,
    /// Text keys to send.
    pub keys: Vec<(String, String)>,
}

/// Normal or discovery session. RFC 7143 §13.21
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionType {
    /// Normal: bound to one target.
    Normal,
    /// Discovery: SendTargets only.
    Discovery,
}

/// CHAP accounts that apply to a login (the target's, or the global ones for discovery).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Auth {
    /// Incoming (initiator-authenticating) accounts: user, secret.
    pub incoming: Vec<(String, String)>,
    /// Outgoing account for mutual CHAP.
    pub outgoing: Option<(String, String)>,
}

/// Static redirection of a target. tgt: `struct redirect_info`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirect {
    /// Address (possibly `[v6]`).
    pub addr: String,
    /// Port text.
    pub port: String,
    /// `status::TGT_MOVED_TEMP` or `status::TGT_MOVED_PERM` (other values disable it).
    pub reason: u8,
}

/// What login needs to know about a target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetAccess {
    /// Target id.
    pub tid: i32,
    /// Target state is ready.
    pub ready: bool,
    /// `initiator-address` rules.
    pub acl_addresses: Vec<String>,
    /// `initiator-name` rules.
    pub acl_names: Vec<String>,
    /// Bound accounts.
    pub auth: Auth,
    /// The target's session parameters.
    pub params: [u32; NR_KEYS],
    /// Static redirection, if configured.
    pub redirect: Option<Redirect>,
    /// A redirect callback program, if configured.
    pub redirect_callback: Option<String>,
}

/// What an existing session with the same initiator name and ISID means for this login.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionChoice {
    /// Create a new session.
    New,
    /// Close the old session (this TSIH) and create a new one. RFC 7143 §6.3.5
    Reinstate(u16),
    /// Add this connection to the existing session.
    Join(u16),
}

/// A completed login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Established {
    /// Normal or discovery.
    pub session_type: SessionType,
    /// Target id (-1 for discovery).
    pub tid: i32,
    /// InitiatorName.
    pub initiator: String,
    /// InitiatorAlias.
    pub alias: Option<String>,
    /// ISID.
    pub isid: [u8; 6],
    /// Connection id.
    pub cid: u16,
    /// What to do with sessions.
    pub session: SessionChoice,
    /// Negotiated session parameters.
    pub params: [u32; NR_KEYS],
    /// ExpCmdSN after login.
    pub exp_cmd_sn: u32,
}

/// The configuration and session registry as login sees them.
pub trait LoginEnv {
    /// System state is ready (offline refuses connections before login).
    fn system_ready(&self) -> bool {
        true
    }
    /// Looks a target up by exact name.
    fn find_target(&self, name: &str) -> Option<TargetAccess>;
    /// The accounts bound to discovery.
    fn discovery_auth(&self) -> Auth;
    /// The initiator's address.
    fn peer(&self) -> IpAddr;
    /// The TSIH of an existing session of (tid, initiator, isid).
    fn find_session(&self, tid: i32, initiator: &str, isid: [u8; 6]) -> Option<u16>;
    /// The next CHAP identifier (a daemon-wide counter).
    fn next_chap_id(&mut self) -> u8;
    /// A fresh CHAP challenge.
    fn challenge(&mut self) -> [u8; chap::CHALLENGE_LEN];
    /// Runs a redirect callback `<prog> <target> <initiator-ip>`; returns its output.
    fn redirect_callback(&mut self, _prog: &str, _target: &str) -> Option<String> {
        None
    }
    /// Creates or joins the session of a completed normal login; returns its TSIH, or
    /// the failure status.
    fn finish(&mut self, est: &Established) -> Result<u16, (u8, u8)>;
}

/// Outcome of one Login Request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Send the reply and wait for the next request.
    Continue(LoginReply),
    /// Send the reply, then close the connection.
    Failed(LoginReply),
    /// Send the reply; the connection is in full feature phase.
    Complete(LoginReply, Box<Established>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyState {
    Start,
    Request,
    Done,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum ChapState {
    /// Waiting for CHAP_A.
    Start,
    /// Challenge sent; waiting for CHAP_N/CHAP_R.
    Challenge {
        alg: ChapAlg,
        id: u8,
        challenge: [u8; chap::CHALLENGE_LEN],
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    Free,
    Security,
    SecurityAuth(ChapState),
    SecurityDone,
    Login,
    Exit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AuthMethod {
    Unknown,
    None,
    Chap,
}

/// The login state of one connection.
#[derive(Debug, Clone)]
pub struct Login {
    state: State,
    session_type: SessionType,
    tid: i32,
    initiator: String,
    alias: Option<String>,
    isid: [u8; 6],
    tsih: u16,
    cid: u16,
    auth_method: AuthMethod,
    auth: Auth,
    params: [u32; NR_KEYS],
    key_state: [KeyState; NR_KEYS],
    session: SessionChoice,
    exp_cmd_sn: u32,
}

impl Default for Login {
    fn default() -> Self {
        Self::new()
    }
}

/// Version tgt speaks (RFC 3720 and 7143 both use 0).
const VERSION: u8 = 0x00;

fn find<'a>(keys: &'a [(String, String)], key: &str) -> Option<&'a str> {
    keys.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// Keys handled by `login_start` and ignored by the key scans. tgt: `login_keys[]`
fn is_login_key(k: &str) -> bool {
    [
        "InitiatorName",
        "InitiatorAlias",
        "SessionType",
        "TargetName",
    ]
    .iter()
    .any(|x| x.eq_ignore_ascii_case(k))
}

impl Login {
    /// A connection that has not sent a Login Request yet.
    pub fn new() -> Self {
        Self {
            state: State::Free,
            session_type: SessionType::Normal,
            tid: 0,
            initiator: String::new(),
            alias: None,
            isid: [0; 6],
            tsih: 0,
            cid: 0,
            auth_method: AuthMethod::Unknown,
            auth: Auth::default(),
            params: KEYS.map(|k| k.rfc_default),
            key_state: [KeyState::Start; NR_KEYS],
            session: SessionChoice::New,
            exp_cmd_sn: 0,
        }
    }

    /// ExpCmdSN to put in responses.
    pub fn exp_cmd_sn(&self) -> u32 {
        self.exp_cmd_sn
    }

    /// MaxCmdSN during login: one command at a time.
    pub fn max_cmd_sn(&self) -> u32 {
        self.exp_cmd_sn.wrapping_add(1)
    }

    fn reply(&self, req: &LoginPdu, csg: u8) -> LoginReply {
        LoginReply {
            transit: false,
            csg,
            nsg: 0,
            isid: self.isid,
            tsih: self.tsih,
            itt: req.itt,
            status_class: 0,
            status_detail: 0,
            keys: Vec::new(),
        }
    }

    /// A failure found while scanning the request: the stage bits stay (tgt sets the
    /// status in the handlers and returns).
    fn fail(&mut self, mut r: LoginReply, (class, detail): (u8, u8)) -> Step {
        self.state = State::Exit;
        r.transit = false;
        r.nsg = 0;
        r.status_class = class;
        r.status_detail = detail;
        Step::Failed(r)
    }

    /// tgt's `login_security_done()` sets a failure status but the response still goes out
    /// with the transition bits (T and NSG) it was about to send.
    fn fail_transit(&mut self, mut r: LoginReply, nsg: u8, (class, detail): (u8, u8)) -> Step {
        self.state = State::Exit;
        r.transit = true;
        r.nsg = nsg;
        r.status_class = class;
        r.status_detail = detail;
        Step::Failed(r)
    }

    /// tgt's `init_err`/`auth_err` exits and `login_finish()` failures clear the flags byte.
    fn fail_clear(&mut self, mut r: LoginReply, st: (u8, u8)) -> Step {
        r.csg = 0;
        self.fail(r, st)
    }

    /// Handles one Login Request. tgt: `cmnd_exec_login()`
    pub fn handle(&mut self, req: &LoginPdu, env: &mut dyn LoginEnv) -> Step {
        let mut r = self.reply(req, 0);
        if req.version_min > VERSION {
            return self.fail_clear(r, status::NO_VERSION);
        }
        let mut stay = false;
        let mut nsg_disagree = false;
        match req.csg {
            stage::SECURITY => {
                r.csg = stage::SECURITY;
                if self.state == State::Free {
                    self.state = State::Security;
                    if let Err(st) = self.start(req, env, &mut r) {
                        return self.fail(r, st);
                    }
                    r.isid = self.isid;
                }
                match self.state.clone() {
                    State::Security => {
                        if let Err(st) = self.scan_security(req, &mut r) {
                            return self.fail(r, st);
                        }
                        if self.auth_method == AuthMethod::Chap {
                            self.state = State::SecurityAuth(ChapState::Start);
                        }
                    }
                    State::SecurityAuth(cs) => {
                        if let Err(st) = self.chap(cs, req, env, &mut r) {
                            return self.fail_clear(r, st);
                        }
                    }
                    _ => return self.fail_clear(r, status::INIT_ERR),
                }
            }
            stage::OPERATIONAL => {
                r.csg = stage::OPERATIONAL;
                match self.state {
                    State::Free => {
                        self.state = State::Login;
                        let started = self.start(req, env, &mut r);
                        r.isid = self.isid;
                        // tgt checks for incoming accounts before it looks at the outcome
                        // of login_start(): an account wins over any other refusal.
                        if !self.auth.incoming.is_empty() {
                            return self.fail_clear(r, status::AUTH_FAILED);
                        }
                        if let Err(st) = started {
                            return self.fail(r, st);
                        }
                        if let Err(st) = self.scan_login(req, &mut r) {
                            return self.fail(r, st);
                        }
                        stay = self.check_params(&mut r) > 0;
                    }
                    State::Login => {
                        if let Err(st) = self.scan_login(req, &mut r) {
                            return self.fail(r, st);
                        }
                        stay = self.check_params(&mut r) > 0;
                    }
                    _ => return self.fail_clear(r, status::INIT_ERR),
                }
            }
            _ => return self.fail_clear(r, status::INIT_ERR),
        }

        let in_auth = matches!(self.state, State::SecurityAuth(_));
        let mut complete = false;
        if !in_auth && req.transit {
            let mut nsg = req.nsg;
            match nsg {
                stage::OPERATIONAL => match self.state {
                    State::Security | State::SecurityDone => {
                        self.state = State::Login;
                        if let Err(st) = self.security_done(req, env) {
                            return self.fail_transit(r, nsg, st);
                        }
                    }
                    _ => return self.fail_clear(r, status::INIT_ERR),
                },
                stage::FULL_FEATURE => {
                    match self.state {
                        State::Security | State::SecurityDone => {
                            nsg_disagree = self.check_params(&mut r) > 0;
                            if nsg_disagree {
                                self.state = State::Login;
                                nsg = stage::OPERATIONAL;
                            } else if let Err(st) = self.security_done(req, env) {
                                return self.fail_transit(r, nsg, st);
                            }
                        }
                        State::Login => {
                            if stay {
                                nsg = stage::OPERATIONAL;
                            }
                        }
                        _ => return self.fail_clear(r, status::INIT_ERR),
                    }
                    if !stay && !nsg_disagree {
                        complete = true;
                    }
                }
                _ => return self.fail_clear(r, status::INIT_ERR),
            }
            r.nsg = nsg;
            r.transit = !stay;
        }
        if complete {
            let est = Established {
                session_type: self.session_type,
                tid: self.tid,
                initiator: self.initiator.clone(),
                alias: self.alias.clone(),
                isid: self.isid,
                cid: self.cid,
                session: self.session,
                params: self.params,
                exp_cmd_sn: self.exp_cmd_sn,
            };
            let tsih = match self.session_type {
                SessionType::Normal => match env.finish(&est) {
                    Ok(t) => t,
                    Err(st) => return self.fail_clear(r, st),
                },
                // tgt gives discovery sessions a dummy TSIH of 1.
                SessionType::Discovery => 1,
            };
            self.tsih = tsih;
            r.tsih = tsih;
            self.state = State::Exit;
            return Step::Complete(r, Box::new(est));
        }
        Step::Continue(r)
    }

    /// First request of the connection. tgt: `login_start()`
    fn start(
        &mut self,
        req: &LoginPdu,
        env: &mut dyn LoginEnv,
        r: &mut LoginReply,
    ) -> Result<(), (u8, u8)> {
        self.cid = req.cid;
        self.isid = req.isid;
        self.tsih = req.tsih;
        if self.isid == [0; 6] && self.tsih == 0 {
            return Err(status::MISSING_FIELDS);
        }
        let Some(name) = find(&req.keys, "InitiatorName") else {
            return Err(status::MISSING_FIELDS);
        };
        self.initiator = name.to_owned();
        self.alias = find(&req.keys, "InitiatorAlias").map(str::to_owned);
        self.session_type = match find(&req.keys, "SessionType") {
            None | Some("Normal") => SessionType::Normal,
            Some("Discovery") => SessionType::Discovery,
            Some(_) => return Err(status::NO_SESSION_TYPE),
        };
        match self.session_type {
            SessionType::Discovery => {
                self.tid = -1;
                self.auth = env.discovery_auth();
                // Discovery negotiates from the RFC defaults.
                self.params = KEYS.map(|k| k.rfc_default);
            }
            SessionType::Normal => {
                let Some(target_name) = find(&req.keys, "TargetName") else {
                    return Err(status::MISSING_FIELDS);
                };
                let Some(t) = env.find_target(target_name) else {
                    return Err(status::TGT_NOT_FOUND);
                };
                self.tid = t.tid;
                self.auth = t.auth.clone();
                if let Some(redirect) = self.redirect(&t, target_name, env) {
                    let (addr, reason) = redirect?;
                    r.keys.push(("TargetAddress".into(), addr));
                    return Err((status::CLASS_REDIRECT, reason));
                }
                if !t.ready {
                    return Err(status::TARGET_ERROR);
                }
                if !super::acl::allowed(&t.acl_addresses, &t.acl_names, env.peer(), &self.initiator)
                {
                    return Err(status::TGT_NOT_FOUND);
                }
                self.auth = t.auth;
                self.params = t.params;
            }
        }
        self.exp_cmd_sn = req.cmd_sn;
        r.keys.push(("TargetPortalGroupTag".into(), "1".into()));
        Ok(())
    }

    /// `Some(Ok((addr:port, reason)))` to redirect, `Some(Err(..))` on a broken callback,
    /// `None` to proceed. Never redirects an initiator to its own address.
    /// tgt: usr/iscsi/target.c `target_redirected()`
    #[allow(clippy::type_complexity)]
    fn redirect(
        &self,
        t: &TargetAccess,
        target_name: &str,
        env: &mut dyn LoginEnv,
    ) -> Option<Result<(String, u8), (u8, u8)>> {
        let r = if let Some(prog) = &t.redirect_callback {
            let Some(out) = env.redirect_callback(prog, target_name) else {
                return Some(Err(status::TARGET_ERROR));
            };
            match parse_callback_output(&out) {
                Some(r) => r,
                None => return Some(Err(status::TARGET_ERROR)),
            }
        } else {
            t.redirect.clone()?
        };
        if r.reason != status::TGT_MOVED_TEMP && r.reason != status::TGT_MOVED_PERM {
            return None;
        }
        let host = r
            .addr
            .strip_prefix('[')
            .and_then(|h| h.split_once(']'))
            .map_or(r.addr.as_str(), |(h, _)| h);
        let ip: IpAddr = host.parse().ok()?;
        if ip == env.peer() {
            return None;
        }
        Some(Ok((format!("{}:{}", r.addr, r.port), r.reason)))
    }

    /// Security-stage keys on the first pass. tgt: `text_scan_security()`
    fn scan_security(&mut self, req: &LoginPdu, r: &mut LoginReply) -> Result<(), (u8, u8)> {
        for (k, v) in &req.keys {
            if is_login_key(k) {
                continue;
            }
            if k == "AuthMethod" {
                for m in v.split(',') {
                    if m == "None" && self.auth.incoming.is_empty() {
                        self.auth_method = AuthMethod::None;
                        r.keys.push((k.clone(), "None".into()));
                        break;
                    }
                    if m == "CHAP" && !self.auth.incoming.is_empty() {
                        self.auth_method = AuthMethod::Chap;
                        r.keys.push((k.clone(), "CHAP".into()));
                        break;
                    }
                }
                if self.auth_method == AuthMethod::Unknown {
                    r.keys.push((k.clone(), "Reject".into()));
                }
            } else {
                r.keys.push((k.clone(), "NotUnderstood".into()));
            }
        }
        if self.auth_method == AuthMethod::Unknown {
            return Err(status::AUTH_FAILED);
        }
        Ok(())
    }

    /// One CHAP exchange step. tgt: usr/iscsi/chap.c `cmnd_exec_auth_chap()`
    fn chap(
        &mut self,
        cs: ChapState,
        req: &LoginPdu,
        env: &mut dyn LoginEnv,
        r: &mut LoginReply,
    ) -> Result<(), (u8, u8)> {
        match cs {
            ChapState::Start => {
                let alg = find(&req.keys, "CHAP_A")
                    .and_then(ChapAlg::choose)
                    .ok_or(status::INIT_ERR)?;
                let id = env.next_chap_id();
                let challenge = env.challenge();
                r.keys.push(("CHAP_A".into(), alg.number().into()));
                r.keys.push(("CHAP_I".into(), id.to_string()));
                r.keys
                    .push(("CHAP_C".into(), chap::encode(&challenge, Encoding::Hex)));
                self.state = State::SecurityAuth(ChapState::Challenge { alg, id, challenge });
                Ok(())
            }
            ChapState::Challenge { alg, id, challenge } => {
                let user = find(&req.keys, "CHAP_N").ok_or(status::INIT_ERR)?;
                let secret = self
                    .auth
                    .incoming
                    .iter()
                    .find(|(u, _)| u == user)
                    .map(|(_, s)| s.clone())
                    .ok_or(status::AUTH_FAILED)?;
                let resp = find(&req.keys, "CHAP_R").ok_or(status::INIT_ERR)?;
                let (his, _) = chap::decode(resp).ok_or(status::INIT_ERR)?;
                let ours = alg.digest(id, secret.as_bytes(), &challenge);
                if his != ours {
                    tracing::warn!(initiator = self.initiator, "CHAP authentication failed");
                    return Err(status::AUTH_FAILED);
                }
                self.mutual(alg, &challenge, req, r)
            }
        }
    }

    /// Mutual CHAP: answer the initiator's challenge with the outgoing account.
    /// tgt: `chap_target_auth_create_response()`
    fn mutual(
        &mut self,
        alg: ChapAlg,
        our_challenge: &[u8],
        req: &LoginPdu,
        r: &mut LoginReply,
    ) -> Result<(), (u8, u8)> {
        let Some(id) = find(&req.keys, "CHAP_I") else {
            self.state = State::SecurityDone;
            return Ok(());
        };
        let (id, _) = crate::mgmt::params::strtol(id, 10);
        let id = id.to_ne_bytes()[0];
        let (user, secret) = self.auth.outgoing.clone().ok_or(status::AUTH_FAILED)?;
        let c = find(&req.keys, "CHAP_C").ok_or(status::INIT_ERR)?;
        let (challenge, enc) = chap::decode(c).ok_or(status::INIT_ERR)?;
        if challenge.len() > chap::MAX_INITIATOR_CHALLENGE || challenge == our_challenge {
            return Err(status::INIT_ERR);
        }
        let digest = alg.digest(id, secret.as_bytes(), &challenge);
        r.keys.push(("CHAP_N".into(), user));
        r.keys.push(("CHAP_R".into(), chap::encode(&digest, enc)));
        self.state = State::SecurityDone;
        Ok(())
    }

    /// Leaving the security stage: session reinstatement rules. tgt: `login_security_done()`
    fn security_done(&mut self, req: &LoginPdu, env: &mut dyn LoginEnv) -> Result<(), (u8, u8)> {
        if self.session_type == SessionType::Discovery {
            return Ok(());
        }
        match env.find_session(self.tid, &self.initiator, self.isid) {
            Some(existing) if req.tsih == 0 => self.session = SessionChoice::Reinstate(existing),
            Some(existing) if req.tsih != existing => return Err(status::TGT_NOT_FOUND),
            Some(existing) => self.session = SessionChoice::Join(existing),
            None if req.tsih != 0 => return Err(status::NO_SESSION),
            None => self.session = SessionChoice::New,
        }
        Ok(())
    }

    /// Operational keys. tgt: `text_scan_login()`
    fn scan_login(&mut self, req: &LoginPdu, r: &mut LoginReply) -> Result<(), (u8, u8)> {
        let mut rdma = false;
        for (k, v) in &req.keys {
            if is_login_key(k) || k == "AuthMethod" {
                continue;
            }
            let Some(mut i) = param::index_by_name(k) else {
                r.keys.push((k.clone(), "NotUnderstood".into()));
                continue;
            };
            if i == idx::MAX_RECV_DLENGTH {
                i = idx::MAX_XMIT_DLENGTH;
            }
            if i == idx::RDMA_EXTENSIONS {
                rdma = true;
            }
            let key = KEYS[i];
            let Some(mut val) = param::text_to_value(i, v) else {
                if self.key_state[i] == KeyState::Start {
                    r.keys.push((k.clone(), "Reject".into()));
                    continue;
                }
                return Err(status::INIT_ERR);
            };
            if !param::in_range(i, &mut val) {
                r.keys.push((k.clone(), "Reject".into()));
                continue;
            }
            let local = i >= idx::MAX_XMIT_DLENGTH;
            if local {
                self.params[i] = val;
            } else {
                val = negotiate(key.kind, i, self.params[i], val);
                self.params[i] = val;
            }
            match self.key_state[i] {
                KeyState::Start if !local => {
                    r.keys.push((k.clone(), param::render_value(i, val)));
                }
                KeyState::Request if val != self.params[i] => return Err(status::INIT_ERR),
                _ => {}
            }
            self.key_state[i] = KeyState::Done;
        }
        if rdma {
            self.params[idx::HDRDGST] = param::DIGEST_NONE;
            self.params[idx::DATADGST] = param::DIGEST_NONE;
        } else {
            self.params[idx::RDMA_EXTENSIONS] = 0;
        }
        Ok(())
    }

    /// Declares the target's non-default values the initiator did not negotiate; returns
    /// how many keys are still open. tgt: `text_check_param()`
    fn check_params(&mut self, r: &mut LoginReply) -> usize {
        let mut open = 0;
        for (i, key) in KEYS.iter().enumerate() {
            if self.key_state[i] != KeyState::Start || self.params[i] == key.rfc_default {
                continue;
            }
            if self.state == State::Login {
                if i >= idx::MAX_XMIT_DLENGTH {
                    // COMPAT: tgt clamps local limits above the RFC default at login
                    // (MaxQueueCmd > 128 becomes 128).
                    if self.params[i] > key.rfc_default {
                        self.params[i] = key.rfc_default;
                    }
                    self.key_state[i] = KeyState::Done;
                    continue;
                }
                if self.params[idx::RDMA_EXTENSIONS] == 1 {
                    if i == idx::MAX_RECV_DLENGTH {
                        continue;
                    }
                } else if i >= idx::RDMA_EXTENSIONS {
                    continue;
                }
                r.keys
                    .push((KEYS[i].name.into(), param::render_value(i, self.params[i])));
                self.key_state[i] = KeyState::Request;
            }
            open += 1;
        }
        open
    }
}

/// The negotiated value from the target's `ours` and the initiator's `theirs`.
/// RFC 7143 §6.2.2; tgt: the `*_set_val()` functions.
fn negotiate(kind: KeyKind, _i: usize, ours: u32, theirs: u32) -> u32 {
    match kind {
        KeyKind::Minimum => ours.min(theirs),
        KeyKind::MinOrZero => {
            if theirs == 0 || theirs > ours {
                ours
            } else {
                theirs
            }
        }
        KeyKind::Maximum => ours.max(theirs),
        KeyKind::Or => ours | theirs,
        KeyKind::And => ours & theirs,
        KeyKind::Digest => {
            if theirs & param::DIGEST_CRC32C != 0 && ours & param::DIGEST_CRC32C != 0 {
                param::DIGEST_CRC32C
            } else {
                param::DIGEST_NONE
            }
        }
        // tgt answers Reject for the marker intervals.
        KeyKind::Marker => 1,
    }
}

/// `addr:port:Temporary|Permanent` from a redirect callback. tgt: `get_redirect_address()`
fn parse_callback_output(out: &str) -> Option<Redirect> {
    let out = out.trim_end_matches(['\n', '\0']);
    let (addr, rest) = if out.starts_with('[') {
        let close = out.find(']')?;
        let after = &out[close + 1..];
        (&out[..=close], after.strip_prefix(':')?)
    } else {
        out.split_once(':')?
    };
    let (port, reason) = rest.split_once(':')?;
    let reason = if reason.starts_with("Temporary") {
        status::TGT_MOVED_TEMP
    } else if reason.starts_with("Permanent") {
        status::TGT_MOVED_PERM
    } else {
        return None;
    };
    Some(Redirect {
        addr: addr.to_owned(),
        port: port.to_owned(),
        reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Env {
        target: Option<TargetAccess>,
        discovery: Auth,
        sessions: Vec<(i32, String, [u8; 6], u16)>,
        chap_id: u8,
        next_tsih: u16,
    }

    impl Env {
        fn new() -> Self {
            Self {
                target: Some(TargetAccess {
                    tid: 1,
                    ready: true,
                    acl_addresses: vec!["ALL".into()],
                    acl_names: vec![],
                    auth: Auth::default(),
                    params: param::target_defaults(),
                    redirect: None,
                    redirect_callback: None,
                }),
                discovery: Auth::default(),
                sessions: vec![],
                chap_id: 0,
                next_tsih: 1,
            }
        }
    }

    impl LoginEnv for Env {
        fn find_target(&self, name: &str) -> Option<TargetAccess> {
            (name == "iqn.t").then(|| self.target.clone()).flatten()
        }
        fn discovery_auth(&self) -> Auth {
            self.discovery.clone()
        }
        fn peer(&self) -> IpAddr {
            "127.0.0.1".parse().unwrap()
        }
        fn find_session(&self, tid: i32, initiator: &str, isid: [u8; 6]) -> Option<u16> {
            self.sessions
                .iter()
                .find(|s| s.0 == tid && s.1 == initiator && s.2 == isid)
                .map(|s| s.3)
        }
        fn next_chap_id(&mut self) -> u8 {
            self.chap_id = self.chap_id.wrapping_add(1);
            self.chap_id
        }
        fn challenge(&mut self) -> [u8; chap::CHALLENGE_LEN] {
            [0x11; chap::CHALLENGE_LEN]
        }
        fn finish(&mut self, _est: &Established) -> Result<u16, (u8, u8)> {
            let t = self.next_tsih;
            self.next_tsih += 1;
            Ok(t)
        }
    }

    fn pdu(csg: u8, nsg: u8, transit: bool, keys: &[(&str, &str)]) -> LoginPdu {
        LoginPdu {
            transit,
            cont: false,
            csg,
            nsg,
            version_max: 0,
            version_min: 0,
            isid: [0x80, 0, 0, 0, 0, 1],
            tsih: 0,
            cid: 0,
            itt: 7,
            cmd_sn: 1,
            exp_stat_sn: 0,
            keys: keys
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    fn keys(r: &LoginReply) -> Vec<(&str, &str)> {
        r.keys
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }

    #[test]
    fn minimal_normal_login_gets_only_the_tpgt() {
        let mut env = Env::new();
        let mut l = Login::new();
        let step = l.handle(
            &pdu(
                1,
                3,
                true,
                &[("InitiatorName", "iqn.i"), ("TargetName", "iqn.t")],
            ),
            &mut env,
        );
        let Step::Complete(r, est) = step else {
            panic!("{step:?}")
        };
        assert_eq!(keys(&r), [("TargetPortalGroupTag", "1")]);
        assert!(r.transit);
        assert_eq!((r.csg, r.nsg, r.tsih), (1, 3, 1));
        assert_eq!(est.tid, 1);
        assert_eq!(est.params[idx::MAX_XMIT_DLENGTH], 8192);
    }

    #[test]
    fn negotiation_matches_tgt_capture() {
        let mut env = Env::new();
        let mut l = Login::new();
        let step = l.handle(
            &pdu(
                1,
                3,
                true,
                &[
                    ("InitiatorName", "iqn.i"),
                    ("TargetName", "iqn.t"),
                    ("HeaderDigest", "None,CRC32C"),
                    ("DataDigest", "None"),
                    ("MaxBurstLength", "16776192"),
                    ("FirstBurstLength", "262144"),
                    ("DefaultTime2Wait", "0"),
                    ("DefaultTime2Retain", "0"),
                    ("InitialR2T", "No"),
                    ("ImmediateData", "Yes"),
                    ("MaxRecvDataSegmentLength", "262144"),
                    ("X-foo", "bar"),
                ],
            ),
            &mut env,
        );
        let Step::Complete(r, est) = step else {
            panic!("{step:?}")
        };
        assert_eq!(
            keys(&r),
            [
                ("TargetPortalGroupTag", "1"),
                ("HeaderDigest", "None"),
                ("DataDigest", "None"),
                ("MaxBurstLength", "262144"),
                ("FirstBurstLength", "65536"),
                ("DefaultTime2Wait", "2"),
                ("DefaultTime2Retain", "0"),
                ("InitialR2T", "Yes"),
                ("ImmediateData", "Yes"),
                ("X-foo", "NotUnderstood"),
            ]
        );
        assert_eq!(est.params[idx::MAX_XMIT_DLENGTH], 262_144);
    }

    #[test]
    fn missing_fields_and_unknown_target() {
        let mut env = Env::new();
        let s = Login::new().handle(&pdu(1, 3, true, &[("TargetName", "iqn.t")]), &mut env);
        assert!(matches!(s, Step::Failed(ref r) if (r.status_class, r.status_detail) == (2, 7)));
        let s = Login::new().handle(
            &pdu(1, 3, true, &[("InitiatorName", "i"), ("TargetName", "x")]),
            &mut env,
        );
        assert!(matches!(s, Step::Failed(ref r) if (r.status_class, r.status_detail) == (2, 3)));
        let s = Login::new().handle(
            &pdu(
                1,
                3,
                true,
                &[("InitiatorName", "i"), ("SessionType", "Foo")],
            ),
            &mut env,
        );
        assert!(matches!(s, Step::Failed(ref r) if (r.status_class, r.status_detail) == (2, 9)));
    }

    #[test]
    fn acl_refusal_and_offline_target() {
        let mut env = Env::new();
        env.target.as_mut().unwrap().acl_addresses = vec!["10.0.0.0/8".into()];
        let s = Login::new().handle(
            &pdu(
                1,
                3,
                true,
                &[("InitiatorName", "i"), ("TargetName", "iqn.t")],
            ),
            &mut env,
        );
        assert!(matches!(s, Step::Failed(ref r) if (r.status_class, r.status_detail) == (2, 3)));
        let mut env = Env::new();
        env.target.as_mut().unwrap().ready = false;
        let s = Login::new().handle(
            &pdu(
                1,
                3,
                true,
                &[("InitiatorName", "i"), ("TargetName", "iqn.t")],
            ),
            &mut env,
        );
        assert!(matches!(s, Step::Failed(ref r) if (r.status_class, r.status_detail) == (3, 0)));
    }

    fn chap_env() -> Env {
        let mut env = Env::new();
        env.target.as_mut().unwrap().auth = Auth {
            incoming: vec![("alice".into(), "alicesecret1".into())],
            outgoing: Some(("tgt".into(), "targetsecret".into())),
        };
        env
    }

    #[test]
    fn operational_stage_first_with_accounts_is_auth_failure() {
        let mut env = chap_env();
        let s = Login::new().handle(
            &pdu(
                1,
                3,
                true,
                &[("InitiatorName", "i"), ("TargetName", "iqn.t")],
            ),
            &mut env,
        );
        assert!(matches!(s, Step::Failed(ref r) if (r.status_class, r.status_detail) == (2, 1)));
    }

    #[test]
    fn chap_one_way_and_mutual() {
        let mut env = chap_env();
        let mut l = Login::new();
        let s = l.handle(
            &pdu(
                0,
                1,
                true,
                &[
                    ("InitiatorName", "i"),
                    ("TargetName", "iqn.t"),
                    ("AuthMethod", "None,CHAP"),
                ],
            ),
            &mut env,
        );
        let Step::Continue(r) = s else {
            panic!("{s:?}")
        };
        assert_eq!(
            keys(&r),
            [("TargetPortalGroupTag", "1"), ("AuthMethod", "CHAP")]
        );
        assert!(!r.transit);
        let s = l.handle(&pdu(0, 1, false, &[("CHAP_A", "7,5")]), &mut env);
        let Step::Continue(r) = s else {
            panic!("{s:?}")
        };
        assert_eq!(r.keys[0], ("CHAP_A".into(), "7".into()));
        assert_eq!(r.keys[1], ("CHAP_I".into(), "1".into()));
        let resp = chap::encode(
            &ChapAlg::Sha1.digest(1, b"alicesecret1", &[0x11; 50]),
            Encoding::Hex,
        );
        // Wrong secret first, on a copy of the state.
        let mut bad = l.clone();
        let wrong = chap::encode(
            &ChapAlg::Sha1.digest(1, b"nope", &[0x11; 50]),
            Encoding::Hex,
        );
        let s = bad.handle(
            &pdu(0, 1, true, &[("CHAP_N", "alice"), ("CHAP_R", &wrong)]),
            &mut env,
        );
        assert!(matches!(s, Step::Failed(ref r) if (r.status_class, r.status_detail) == (2, 1)));
        let s = l.handle(
            &pdu(
                0,
                1,
                true,
                &[
                    ("CHAP_N", "alice"),
                    ("CHAP_R", &resp),
                    ("CHAP_I", "9"),
                    ("CHAP_C", "0bAAECAwQ="),
                ],
            ),
            &mut env,
        );
        let Step::Continue(r) = s else {
            panic!("{s:?}")
        };
        let expected = chap::encode(
            &ChapAlg::Sha1.digest(9, b"targetsecret", &[0, 1, 2, 3, 4]),
            Encoding::Base64,
        );
        assert_eq!(keys(&r), [("CHAP_N", "tgt"), ("CHAP_R", expected.as_str())]);
        assert!(r.transit);
        assert_eq!(r.nsg, 1);
        let s = l.handle(&pdu(1, 3, true, &[]), &mut env);
        assert!(matches!(s, Step::Complete(..)), "{s:?}");
    }

    #[test]
    fn target_declares_changed_limits_and_waits() {
        let mut env = Env::new();
        env.target.as_mut().unwrap().params[idx::MAX_RECV_DLENGTH] = 65536;
        let mut l = Login::new();
        let s = l.handle(
            &pdu(
                1,
                3,
                true,
                &[("InitiatorName", "i"), ("TargetName", "iqn.t")],
            ),
            &mut env,
        );
        let Step::Continue(r) = s else {
            panic!("{s:?}")
        };
        assert_eq!(
            keys(&r),
            [
                ("TargetPortalGroupTag", "1"),
                ("MaxRecvDataSegmentLength", "65536")
            ]
        );
        assert!(!r.transit);
        let s = l.handle(&pdu(1, 3, true, &[]), &mut env);
        assert!(matches!(s, Step::Complete(..)), "{s:?}");
    }

    #[test]
    fn reinstatement_and_missing_session() {
        let mut env = Env::new();
        env.sessions.push((1, "i".into(), [0x80, 0, 0, 0, 0, 1], 5));
        let mut l = Login::new();
        let s = l.handle(
            &pdu(
                0,
                1,
                true,
                &[
                    ("InitiatorName", "i"),
                    ("TargetName", "iqn.t"),
                    ("AuthMethod", "None"),
                ],
            ),
            &mut env,
        );
        assert!(matches!(s, Step::Continue(_)));
        assert_eq!(l.session, SessionChoice::Reinstate(5));
        let mut p = pdu(
            0,
            1,
            true,
            &[
                ("InitiatorName", "j"),
                ("TargetName", "iqn.t"),
                ("AuthMethod", "None"),
            ],
        );
        p.tsih = 9;
        let s = Login::new().handle(&p, &mut env);
        assert!(matches!(s, Step::Failed(ref r) if (r.status_class, r.status_detail) == (2, 10)));
    }

    #[test]
    fn discovery_login() {
        let mut env = Env::new();
        let s = Login::new().handle(
            &pdu(
                1,
                3,
                true,
                &[("InitiatorName", "i"), ("SessionType", "Discovery")],
            ),
            &mut env,
        );
        let Step::Complete(r, est) = s else {
            panic!("{s:?}")
        };
        assert_eq!(est.session_type, SessionType::Discovery);
        assert_eq!(r.tsih, 1);
    }

    #[test]
    fn redirect_to_other_address() {
        let mut env = Env::new();
        env.target.as_mut().unwrap().redirect = Some(Redirect {
            addr: "10.0.0.9".into(),
            port: "3260".into(),
            reason: status::TGT_MOVED_PERM,
        });
        let s = Login::new().handle(
            &pdu(
                1,
                3,
                true,
                &[("InitiatorName", "i"), ("TargetName", "iqn.t")],
            ),
            &mut env,
        );
        let Step::Failed(r) = s else { panic!("{s:?}") };
        assert_eq!((r.status_class, r.status_detail), (1, 2));
        assert_eq!(keys(&r), [("TargetAddress", "10.0.0.9:3260")]);
        assert_eq!(
            parse_callback_output("[::1]:3261:Temporary\n"),
            Some(Redirect {
                addr: "[::1]".into(),
                port: "3261".into(),
                reason: 1
            })
        );
    }

    #[test]
    fn bad_values_are_rejected_keys() {
        let mut env = Env::new();
        let s = Login::new().handle(
            &pdu(
                1,
                3,
                true,
                &[
                    ("InitiatorName", "i"),
                    ("TargetName", "iqn.t"),
                    ("MaxBurstLength", "100"),
                    ("InitialR2T", "Maybe"),
                ],
            ),
            &mut env,
        );
        let Step::Complete(r, _) = s else {
            panic!("{s:?}")
        };
        assert_eq!(
            keys(&r),
            [
                ("TargetPortalGroupTag", "1"),
                ("MaxBurstLength", "Reject"),
                ("InitialR2T", "Reject")
            ]
        );
    }
}
