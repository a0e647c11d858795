//! Persistent reservations: registrations, the reservation, PERSISTENT RESERVE IN/OUT,
//! and which commands conflict with a reservation held by someone else.
//!
//! State lives in [`PrState`] inside each LU's [`LuState`]; it is in memory only (APTPL is
//! not supported, as in tgt). Registrants are identified by their iSCSI initiator port name
//! when the transport gave it ([`Lu::nexus_added_with_port`](super::lu::Lu)), so a
//! registration survives the session that made it (SPC-4 §5.12.1: it belongs to the I_T
//! nexus, not the session), otherwise by the nexus id.
//! Sources: SPC-4 §5.12 (persistent reservations), §6.15/§6.16 (PR IN/OUT), §7.6.4.6
//! (iSCSI TransportID); tgt: usr/spc.c `spc_pr_*()`, `spc_access_check()`.
//!
//! COMPAT: beyond C tgt this implements READ FULL STATUS and PREEMPT AND ABORT; checks the
//! reservation key on RESERVE; sends RESERVATIONS RELEASED to the other registrants when a
//! registrants-only/all-registrants reservation is released (C sends it for the other types,
//! and to the releasing nexus itself when a holder unregisters — libiscsi
//! ProutReserve.Ownership*); uses REGISTRATIONS PREEMPTED for preempted registrations; and
//! answers parameter-list errors with PARAMETER LIST LENGTH ERROR / INVALID FIELD IN
//! PARAMETER LIST instead of INVALID FIELD IN CDB.

use std::ops::ControlFlow;

use super::cmd::NexusId;
use super::exec::{cut, done, ensure, illegal, Outcome, Reply, Req, Step};
use super::lu::LuState;
use super::opcodes::PrClass;
use super::sense::{asc, Asc, Sense, SenseKey};

/// PERSISTENT RESERVE IN service actions. SPC-4 §6.15.1
pub const IN_READ_KEYS: u8 = 0x00;
/// READ RESERVATION
pub const IN_READ_RESERVATION: u8 = 0x01;
/// REPORT CAPABILITIES
pub const IN_REPORT_CAPABILITIES: u8 = 0x02;
/// READ FULL STATUS
pub const IN_READ_FULL_STATUS: u8 = 0x03;

/// PERSISTENT RESERVE OUT service actions. SPC-4 §6.16.2
pub const OUT_REGISTER: u8 = 0x00;
/// RESERVE
pub const OUT_RESERVE: u8 = 0x01;
/// RELEASE
pub const OUT_RELEASE: u8 = 0x02;
/// CLEAR
pub const OUT_CLEAR: u8 = 0x03;
/// PREEMPT
pub const OUT_PREEMPT: u8 = 0x04;
/// PREEMPT AND ABORT
pub const OUT_PREEMPT_AND_ABORT: u8 = 0x05;
/// REGISTER AND IGNORE EXISTING KEY
pub const OUT_REGISTER_AND_IGNORE: u8 = 0x06;
/// REGISTER AND MOVE
pub const OUT_REGISTER_AND_MOVE: u8 = 0x07;

/// Persistent reservation type. SPC-4 §6.16.3.4 Table 174. Open: any nibble survives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrType(pub u8);

impl PrType {
    /// Write Exclusive
    pub const WRITE_EXCLUSIVE: Self = Self(1);
    /// Exclusive Access
    pub const EXCLUSIVE_ACCESS: Self = Self(3);
    /// Write Exclusive – Registrants Only
    pub const WRITE_EXCLUSIVE_RO: Self = Self(5);
    /// Exclusive Access – Registrants Only
    pub const EXCLUSIVE_ACCESS_RO: Self = Self(6);
    /// Write Exclusive – All Registrants
    pub const WRITE_EXCLUSIVE_AR: Self = Self(7);
    /// Exclusive Access – All Registrants
    pub const EXCLUSIVE_ACCESS_AR: Self = Self(8);

    /// One of the six types above.
    pub fn is_valid(self) -> bool {
        matches!(self.0, 1 | 3 | 5 | 6 | 7 | 8)
    }

    /// Every registrant holds the reservation.
    pub fn all_registrants(self) -> bool {
        matches!(self.0, 7 | 8)
    }

    /// Registrants-only or all-registrants: registered nexuses have full access.
    pub fn registrants_share(self) -> bool {
        matches!(self.0, 5..=8)
    }

    /// Exclusive Access flavour: reads conflict too.
    pub fn exclusive_access(self) -> bool {
        matches!(self.0, 3 | 6 | 8)
    }
}

/// Who holds a registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Registrant {
    /// An iSCSI initiator port, `<InitiatorName>,i,0x<ISID>` in lower case.
    Port(String),
    /// A nexus whose initiator port the transport did not name.
    Nexus(NexusId),
}

/// One registered reservation key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    /// The reservation key (never 0).
    pub key: u64,
    /// The registrant.
    pub who: Registrant,
}

/// The persistent reservation in effect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reservation {
    /// The holder (for all-registrants types: the one that reserved; every registrant holds).
    pub holder: Registrant,
    /// Type.
    pub ptype: PrType,
    /// Scope (always 0, LU_SCOPE).
    pub scope: u8,
}

/// Persistent reservation state of one LU.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrState {
    /// PRGENERATION: bumped by every successful REGISTER, CLEAR, PREEMPT, REGISTER AND MOVE.
    pub generation: u32,
    /// Registrations in registration order.
    pub registrations: Vec<Registration>,
    /// The reservation, if any.
    pub reservation: Option<Reservation>,
}

impl PrState {
    fn find(&self, who: &Registrant) -> Option<usize> {
        self.registrations.iter().position(|r| &r.who == who)
    }

    fn key_of(&self, who: &Registrant) -> Option<u64> {
        self.find(who).map(|i| self.registrations[i].key)
    }

    /// Whether `who` holds the reservation. SPC-4 §5.12.10
    pub fn is_holder(&self, who: &Registrant) -> bool {
        match &self.reservation {
            None => false,
            Some(r) if r.ptype.all_registrants() => self.find(who).is_some(),
            Some(r) => &r.holder == who,
        }
    }

    fn bump(&mut self) {
        self.generation = self.generation.wrapping_add(1);
    }
}

/// The registrant identity of `nexus`.
pub fn registrant(st: &LuState, nexus: NexusId) -> Registrant {
    match st.ports.get(&nexus) {
        Some(p) => Registrant::Port(p.clone()),
        None => Registrant::Nexus(nexus),
    }
}

/// Whether a command of class `class` from `nexus` conflicts with the reservation.
/// SPC-4 §5.12.1 Table 62; tgt: usr/spc.c `spc_access_check()`
pub fn conflicts(st: &LuState, nexus: NexusId, class: PrClass) -> bool {
    let Some(res) = &st.pr.reservation else {
        return false;
    };
    if class == PrClass::Allowed {
        return false;
    }
    let who = registrant(st, nexus);
    if st.pr.is_holder(&who) {
        return false;
    }
    if res.ptype.registrants_share() && st.pr.find(&who).is_some() {
        return false;
    }
    class == PrClass::Write || res.ptype.exclusive_access()
}

/// Queues a unit attention for every nexus of `who`.
fn ua_to(st: &mut LuState, who: &Registrant, asc: Asc) {
    let sense = Sense::new(SenseKey::UNIT_ATTENTION, asc);
    let nexuses: Vec<NexusId> = match who {
        Registrant::Nexus(n) => vec![*n],
        Registrant::Port(p) => st
            .ports
            .iter()
            .filter(|(_, q)| *q == p)
            .map(|(n, _)| *n)
            .collect(),
    };
    for n in nexuses {
        if let Some(q) = st.ua.get_mut(&n) {
            if !q.contains(&sense) {
                q.push_back(sense);
            }
        }
    }
}

/// Queues `asc` for every registrant but `except`.
fn ua_to_registrants(st: &mut LuState, except: &Registrant, asc: Asc) {
    let others: Vec<Registrant> = st
        .pr
        .registrations
        .iter()
        .filter(|r| &r.who != except)
        .map(|r| r.who.clone())
        .collect();
    for who in others {
        ua_to(st, &who, asc);
    }
}

/// Removes the registration at `i`; releases the reservation when its holder goes.
/// SPC-4 §5.12.11.2.3 (unregistering)
fn unregister(st: &mut LuState, i: usize) {
    let gone = st.pr.registrations.remove(i);
    let Some(res) = st.pr.reservation.clone() else {
        return;
    };
    if res.ptype.all_registrants() {
        if st.pr.registrations.is_empty() {
            st.pr.reservation = None;
        } else if res.holder == gone.who {
            // Every remaining registrant still holds it; name one as the holder of record.
            if let Some(r) = st.pr.reservation.as_mut() {
                r.holder = st.pr.registrations[0].who.clone();
            }
        }
    } else if res.holder == gone.who {
        st.pr.reservation = None;
        if res.ptype.registrants_share() {
            ua_to_registrants(st, &gone.who, asc::RESERVATIONS_RELEASED);
        }
    }
}

// ---------------------------------------------------------------- PERSISTENT RESERVE IN

fn alloc_len(req: &Req<'_>) -> u32 {
    u32::from(req.cdb.be16(7))
}

/// READ KEYS. SPC-4 §6.15.2
pub(crate) fn read_keys(req: &mut Req<'_>) -> Step<Reply> {
    let st = req.lu.state();
    let mut d = Vec::with_capacity(8 + 8 * st.pr.registrations.len());
    d.extend_from_slice(&st.pr.generation.to_be_bytes());
    let len = u32::try_from(8 * st.pr.registrations.len()).unwrap_or(u32::MAX);
    d.extend_from_slice(&len.to_be_bytes());
    for r in &st.pr.registrations {
        d.extend_from_slice(&r.key.to_be_bytes());
    }
    drop(st);
    done(Outcome::data(cut(d, alloc_len(req))))
}

/// READ RESERVATION. SPC-4 §6.15.3
pub(crate) fn read_reservation(req: &mut Req<'_>) -> Step<Reply> {
    let st = req.lu.state();
    let mut d = Vec::with_capacity(24);
    d.extend_from_slice(&st.pr.generation.to_be_bytes());
    match &st.pr.reservation {
        None => d.extend_from_slice(&0u32.to_be_bytes()),
        Some(r) => {
            d.extend_from_slice(&16u32.to_be_bytes());
            // All-registrants reservations report key 0. SPC-4 §6.15.3.2
            let key = if r.ptype.all_registrants() {
                0
            } else {
                st.pr.key_of(&r.holder).unwrap_or(0)
            };
            d.extend_from_slice(&key.to_be_bytes());
            d.extend_from_slice(&[0, 0, 0, 0, 0, (r.scope << 4) | (r.ptype.0 & 0x0f), 0, 0]);
        }
    }
    drop(st);
    done(Outcome::data(cut(d, alloc_len(req))))
}

/// REPORT CAPABILITIES: TMV with WE, EA, WE-RO, EA-RO, WE-AR, EA-AR; no SIP_C, ATP_C or
/// PTPL_C. SPC-4 §6.15.4; captured from tgt: `00 08 00 80 ea 01 00 00`
pub(crate) fn report_capabilities(req: &mut Req<'_>) -> Step<Reply> {
    let d = vec![0x00, 0x08, 0x00, 0x80, 0xea, 0x01, 0x00, 0x00];
    done(Outcome::data(cut(d, alloc_len(req))))
}

/// Most registrations a LU keeps; beyond it REGISTER answers INSUFFICIENT REGISTRATION
/// RESOURCES (REGISTER AND MOVE can name ports that never logged in).
pub const MAX_REGISTRATIONS: usize = 1024;

/// Relative target port identifier of our only target port (iSCSI TPGT 1).
const RELATIVE_TARGET_PORT: u16 = 1;

/// An iSCSI TransportID for `who`. SPC-4 §7.6.4.6
fn transport_id(who: &Registrant) -> Vec<u8> {
    let (format, name) = match who {
        Registrant::Port(p) => (0x40u8, p.clone()),
        Registrant::Nexus(n) => (0x00u8, format!("tgt.nexus.{}", n.0)),
    };
    let mut body = name.into_bytes();
    body.push(0);
    while body.len() % 4 != 0 || body.len() < 20 {
        body.push(0);
    }
    let len = u16::try_from(body.len()).unwrap_or(u16::MAX);
    let mut d = vec![format | 0x05, 0];
    d.extend_from_slice(&len.to_be_bytes());
    d.extend_from_slice(&body);
    d
}

/// READ FULL STATUS. SPC-4 §6.15.5
// COMPAT: C tgt answers 05/24/00 (libiscsi PrinServiceactionRange fails on it).
pub(crate) fn read_full_status(req: &mut Req<'_>) -> Step<Reply> {
    let st = req.lu.state();
    let mut descs = Vec::new();
    for r in &st.pr.registrations {
        let holder = st.pr.is_holder(&r.who);
        let (scope_type, r_holder) = match (&st.pr.reservation, holder) {
            (Some(res), true) => ((res.scope << 4) | (res.ptype.0 & 0x0f), 0x01),
            _ => (0, 0),
        };
        let tid = transport_id(&r.who);
        descs.extend_from_slice(&r.key.to_be_bytes());
        descs.extend_from_slice(&[0, 0, 0, 0, r_holder, scope_type, 0, 0, 0, 0]);
        descs.extend_from_slice(&RELATIVE_TARGET_PORT.to_be_bytes());
        let tlen = u32::try_from(tid.len()).unwrap_or(u32::MAX);
        descs.extend_from_slice(&tlen.to_be_bytes());
        descs.extend_from_slice(&tid);
    }
    let mut d = Vec::with_capacity(8 + descs.len());
    d.extend_from_slice(&st.pr.generation.to_be_bytes());
    drop(st);
    d.extend_from_slice(&u32::try_from(descs.len()).unwrap_or(u32::MAX).to_be_bytes());
    d.extend_from_slice(&descs);
    done(Outcome::data(cut(d, alloc_len(req))))
}

// --------------------------------------------------------------- PERSISTENT RESERVE OUT

/// The basic 24-byte PR OUT parameter list. SPC-4 §6.16.3.1
struct Params {
    key: u64,
    sa_key: u64,
    scope: u8,
    ptype: PrType,
}

/// Validates the parameter list of every service action but REGISTER AND MOVE.
fn params(req: &Req<'_>) -> Step<Params> {
    let plen = req.cdb.be32(5);
    let d = &req.cmd.data_out;
    ensure(plen == 24 && d.len() >= 24, asc::PARAMETER_LIST_LENGTH_ERR)?;
    // SPEC_I_PT, ALL_TG_PT, APTPL: not offered in REPORT CAPABILITIES.
    ensure(d[20] & 0x0d == 0, asc::INVALID_FIELD_IN_PARMS)?;
    let be64 = |o: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&d[o..o + 8]);
        u64::from_be_bytes(b)
    };
    ControlFlow::Continue(Params {
        key: be64(0),
        sa_key: be64(8),
        scope: req.cdb.byte(2) >> 4,
        ptype: PrType(req.cdb.byte(2) & 0x0f),
    })
}

fn conflict() -> Step<Reply> {
    ControlFlow::Break(Outcome::conflict())
}

fn good_out() -> Step<Reply> {
    done(Outcome::good().with_out_len(24))
}

/// REGISTER and REGISTER AND IGNORE EXISTING KEY. SPC-4 §5.12.7
pub(crate) fn register(req: &mut Req<'_>) -> Step<Reply> {
    let p = params(req)?;
    let ignore = req.cdb.service_action() == OUT_REGISTER_AND_IGNORE;
    let mut st = req.lu.state();
    let who = registrant(&st, req.nexus);
    match st.pr.find(&who) {
        Some(i) => {
            if !ignore && st.pr.registrations[i].key != p.key {
                return conflict();
            }
            if p.sa_key == 0 {
                unregister(&mut st, i);
            } else {
                st.pr.registrations[i].key = p.sa_key;
            }
        }
        None => {
            if !ignore && p.key != 0 {
                return conflict();
            }
            if p.sa_key != 0 {
                if st.pr.registrations.len() >= MAX_REGISTRATIONS {
                    return illegal(asc::INSUFFICIENT_REGISTRATION_RESOURCES);
                }
                st.pr
                    .registrations
                    .push(Registration { key: p.sa_key, who });
            }
        }
    }
    st.pr.bump();
    good_out()
}

/// Checks type and scope of a reservation request.
fn valid_type(p: &Params) -> Step<()> {
    ensure(
        p.ptype.is_valid() && p.scope == 0,
        asc::INVALID_FIELD_IN_CDB,
    )
}

/// The caller's registration, checked against the RESERVATION KEY field.
fn own_registration(st: &LuState, who: &Registrant, key: u64) -> Option<usize> {
    st.pr
        .find(who)
        .filter(|&i| st.pr.registrations[i].key == key)
}

/// RESERVE. SPC-4 §5.12.9
pub(crate) fn reserve(req: &mut Req<'_>) -> Step<Reply> {
    let p = params(req)?;
    valid_type(&p)?;
    let mut st = req.lu.state();
    let who = registrant(&st, req.nexus);
    if own_registration(&st, &who, p.key).is_none() {
        return conflict();
    }
    match &st.pr.reservation {
        Some(r) => {
            if st.pr.is_holder(&who) && r.ptype == p.ptype && r.scope == p.scope {
                good_out()
            } else {
                conflict()
            }
        }
        None => {
            st.pr.reservation = Some(Reservation {
                holder: who,
                ptype: p.ptype,
                scope: p.scope,
            });
            good_out()
        }
    }
}

/// RELEASE. SPC-4 §5.12.11.2
pub(crate) fn release(req: &mut Req<'_>) -> Step<Reply> {
    let p = params(req)?;
    let mut st = req.lu.state();
    let who = registrant(&st, req.nexus);
    if own_registration(&st, &who, p.key).is_none() {
        return conflict();
    }
    let Some(res) = st.pr.reservation.clone() else {
        return good_out();
    };
    if !st.pr.is_holder(&who) {
        return good_out();
    }
    if res.ptype != p.ptype || res.scope != p.scope {
        return illegal(asc::INVALID_RELEASE_OF_PR);
    }
    st.pr.reservation = None;
    if res.ptype.registrants_share() {
        ua_to_registrants(&mut st, &who, asc::RESERVATIONS_RELEASED);
    }
    good_out()
}

/// CLEAR. SPC-4 §5.12.11.2.6
pub(crate) fn clear(req: &mut Req<'_>) -> Step<Reply> {
    let p = params(req)?;
    let mut st = req.lu.state();
    let who = registrant(&st, req.nexus);
    if own_registration(&st, &who, p.key).is_none() {
        return conflict();
    }
    st.pr.reservation = None;
    ua_to_registrants(&mut st, &who, asc::RESERVATIONS_PREEMPTED);
    st.pr.registrations.clear();
    st.pr.bump();
    good_out()
}

/// Removes every registration with `key` except the caller's; returns who was removed.
fn remove_key(st: &mut LuState, key: u64, keep: &Registrant) -> Vec<Registrant> {
    let mut removed = Vec::new();
    st.pr.registrations.retain(|r| {
        if r.key == key && &r.who != keep {
            removed.push(r.who.clone());
            false
        } else {
            true
        }
    });
    removed
}

/// PREEMPT and PREEMPT AND ABORT. SPC-4 §5.12.11.4
// PREEMPT AND ABORT: commands of the preempted nexuses that already reached a worker are
// not aborted; this layer queues no commands, so there is nothing else to abort.
pub(crate) fn preempt(req: &mut Req<'_>) -> Step<Reply> {
    let p = params(req)?;
    let mut st = req.lu.state();
    let who = registrant(&st, req.nexus);
    if own_registration(&st, &who, p.key).is_none() {
        return conflict();
    }
    let preempted = match st.pr.reservation.clone() {
        None => {
            if p.sa_key == 0 {
                return illegal(asc::INVALID_FIELD_IN_PARMS);
            }
            let gone = remove_key(&mut st, p.sa_key, &who);
            if gone.is_empty() {
                return conflict();
            }
            gone
        }
        Some(res) if res.ptype.all_registrants() => {
            if p.sa_key == 0 {
                valid_type(&p)?;
                let gone: Vec<Registrant> = st
                    .pr
                    .registrations
                    .iter()
                    .filter(|r| r.who != who)
                    .map(|r| r.who.clone())
                    .collect();
                st.pr.registrations.retain(|r| r.who == who);
                st.pr.reservation = Some(Reservation {
                    holder: who.clone(),
                    ptype: p.ptype,
                    scope: p.scope,
                });
                gone
            } else {
                let gone = remove_key(&mut st, p.sa_key, &who);
                if gone.is_empty() {
                    return conflict();
                }
                gone
            }
        }
        Some(res) => {
            let holder_key = st.pr.key_of(&res.holder);
            if holder_key == Some(p.sa_key) {
                valid_type(&p)?;
                let gone = remove_key(&mut st, p.sa_key, &who);
                st.pr.reservation = Some(Reservation {
                    holder: who.clone(),
                    ptype: p.ptype,
                    scope: p.scope,
                });
                if res.ptype != p.ptype || res.scope != p.scope {
                    ua_to_registrants(&mut st, &who, asc::RESERVATIONS_RELEASED);
                }
                gone
            } else {
                if p.sa_key == 0 {
                    return illegal(asc::INVALID_FIELD_IN_PARMS);
                }
                let gone = remove_key(&mut st, p.sa_key, &who);
                if gone.is_empty() {
                    return conflict();
                }
                gone
            }
        }
    };
    for g in &preempted {
        ua_to(&mut st, g, asc::REGISTRATIONS_PREEMPTED);
    }
    st.pr.bump();
    good_out()
}

/// Parses an iSCSI TransportID into a registrant. Format 01b names the initiator port;
/// format 00b names the initiator, resolved to a logged-in port of that name.
/// SPC-4 §7.6.4.6
fn parse_transport_id(st: &LuState, tid: &[u8]) -> Option<Registrant> {
    let (&b0, rest) = tid.split_first()?;
    if b0 & 0x0f != 0x05 || rest.len() < 3 {
        return None;
    }
    let len = usize::from(u16::from_be_bytes([rest[1], rest[2]]));
    let body = rest.get(3..3 + len)?;
    let end = body.iter().position(|&c| c == 0).unwrap_or(body.len());
    let name = std::str::from_utf8(&body[..end]).ok()?.to_ascii_lowercase();
    if name.is_empty() {
        return None;
    }
    match b0 >> 6 {
        1 if name.contains(",i,0x") => Some(Registrant::Port(name)),
        0 => {
            let prefix = format!("{name},i,0x");
            st.ports
                .values()
                .find(|p| p.starts_with(&prefix))
                .map(|p| Registrant::Port(p.clone()))
        }
        _ => None,
    }
}

/// REGISTER AND MOVE. SPC-4 §5.12.8
pub(crate) fn register_and_move(req: &mut Req<'_>) -> Step<Reply> {
    let plen = req.cdb.be32(5);
    let d = &req.cmd.data_out;
    let usable = usize::try_from(plen).unwrap_or(usize::MAX).min(d.len());
    ensure(plen >= 24 && usable >= 24, asc::PARAMETER_LIST_LENGTH_ERR)?;
    let be64 = |o: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&d[o..o + 8]);
        u64::from_be_bytes(b)
    };
    let (key, sa_key) = (be64(0), be64(8));
    let unreg = d[17] & 0x02 != 0;
    ensure(d[17] & 0x01 == 0, asc::INVALID_FIELD_IN_PARMS)?;
    let tid_len =
        usize::try_from(u32::from_be_bytes([d[20], d[21], d[22], d[23]])).unwrap_or(usize::MAX);
    ensure(
        tid_len >= 24 && tid_len % 4 == 0 && tid_len <= usable - 24,
        asc::INVALID_FIELD_IN_PARMS,
    )?;
    let tid = d[24..24 + tid_len].to_vec();
    let mut st = req.lu.state();
    let who = registrant(&st, req.nexus);
    let Some(mine) = own_registration(&st, &who, key) else {
        return conflict();
    };
    let Some(res) = st.pr.reservation.clone() else {
        return conflict();
    };
    if !st.pr.is_holder(&who) || res.ptype.all_registrants() {
        return conflict();
    }
    ensure(sa_key != 0, asc::INVALID_FIELD_IN_PARMS)?;
    let Some(dest) = parse_transport_id(&st, &tid) else {
        return illegal(asc::INVALID_FIELD_IN_PARMS);
    };
    ensure(dest != who, asc::INVALID_FIELD_IN_PARMS)?;
    match st.pr.find(&dest) {
        Some(i) => st.pr.registrations[i].key = sa_key,
        None if st.pr.registrations.len() >= MAX_REGISTRATIONS => {
            return illegal(asc::INSUFFICIENT_REGISTRATION_RESOURCES);
        }
        None => st.pr.registrations.push(Registration {
            key: sa_key,
            who: dest.clone(),
        }),
    }
    if let Some(r) = st.pr.reservation.as_mut() {
        r.holder = dest;
    }
    if unreg {
        st.pr.registrations.remove(mine);
    }
    st.pr.bump();
    done(Outcome::good().with_out_len(u64::from(plen)))
}

#[cfg(test)]
mod tests {
    use crate::scsi::cmd::NexusId;
    use crate::scsi::exec::testutil::*;

    fn prout(sa: u8, scope_type: u8, key: u64, sa_key: u64) -> (Vec<u8>, Vec<u8>) {
        let cdb = vec![0x5f, sa, scope_type, 0, 0, 0, 0, 0, 24, 0];
        let mut p = vec![0u8; 24];
        p[..8].copy_from_slice(&key.to_be_bytes());
        p[8..16].copy_from_slice(&sa_key.to_be_bytes());
        (cdb, p)
    }

    fn out(h: &mut Harness, n: NexusId, sa: u8, st: u8, key: u64, sa_key: u64) -> u8 {
        let (cdb, p) = prout(sa, st, key, sa_key);
        let r = h.run_on(n, 1, &cdb, &p, 0);
        r.status.0
    }

    fn prin(h: &mut Harness, n: NexusId, sa: u8, alloc: u16) -> Vec<u8> {
        let [a, b] = alloc.to_be_bytes();
        let r = h.run_on(
            n,
            1,
            &[0x5e, sa, 0, 0, 0, 0, 0, a, b, 0],
            &[],
            u32::from(alloc),
        );
        assert_good(&r);
        r.data_in
    }

    #[test]
    fn report_capabilities_matches_tgt_capture() {
        let mut h = Harness::disk(1 << 20);
        assert_eq!(
            prin(&mut h, I1, 2, 8),
            [0x00, 0x08, 0x00, 0x80, 0xea, 0x01, 0x00, 0x00]
        );
    }

    #[test]
    fn register_reserve_read_release_like_tgt_capture() {
        let mut h = Harness::disk(1 << 20);
        assert_eq!(prin(&mut h, I1, 0, 8), [0, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(out(&mut h, I1, 0, 0, 0, 0x1234), 0);
        assert_eq!(
            prin(&mut h, I1, 0, 64),
            [0, 0, 0, 1, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0x12, 0x34]
        );
        assert_eq!(out(&mut h, I1, 1, 0x01, 0x1234, 0), 0);
        assert_eq!(
            prin(&mut h, I1, 1, 64),
            [0, 0, 0, 1, 0, 0, 0, 0x10, 0, 0, 0, 0, 0, 0, 0x12, 0x34, 0, 0, 0, 0, 0, 0x01, 0, 0]
        );
        assert_eq!(out(&mut h, I1, 2, 0x01, 0x1234, 0), 0);
        assert_eq!(prin(&mut h, I1, 1, 64), [0, 0, 0, 1, 0, 0, 0, 0]);
    }

    #[test]
    fn read_keys_truncated_keeps_additional_length() {
        let mut h = Harness::disk(1 << 20);
        out(&mut h, I1, 6, 0, 0, 0xabc);
        assert_eq!(prin(&mut h, I1, 0, 8), [0, 0, 0, 1, 0, 0, 0, 8]);
    }

    #[test]
    fn register_with_wrong_key_conflicts() {
        let mut h = Harness::disk(1 << 20);
        assert_eq!(out(&mut h, I1, 0, 0, 5, 7), 0x18);
        assert_eq!(out(&mut h, I1, 0, 0, 0, 7), 0);
        assert_eq!(out(&mut h, I1, 0, 0, 8, 9), 0x18);
        assert_eq!(out(&mut h, I1, 6, 0, 8, 9), 0);
        assert_eq!(out(&mut h, I1, 0, 0, 9, 0), 0);
        assert_eq!(prin(&mut h, I1, 0, 64)[4..8], [0, 0, 0, 0]);
    }

    #[test]
    fn parameter_list_must_be_24_bytes() {
        let mut h = Harness::disk(1 << 20);
        let r = h.run(&[0x5f, 0, 0, 0, 0, 0, 0, 0, 20, 0], &[0; 20], 0);
        assert_check(&r, 0x05, 0x1a, 0x00);
        let (cdb, mut p) = prout(0, 0, 0, 1);
        p[20] = 0x01; // APTPL
        assert_check(&h.run(&cdb, &p, 0), 0x05, 0x26, 0x00);
    }

    #[test]
    fn reserve_type_and_scope_are_checked() {
        let mut h = Harness::disk(1 << 20);
        out(&mut h, I1, 0, 0, 0, 1);
        let (cdb, p) = prout(1, 0x02, 1, 0);
        assert_check(&h.run(&cdb, &p, 0), 0x05, 0x24, 0x00);
        let (cdb, p) = prout(1, 0x11, 1, 0);
        assert_check(&h.run(&cdb, &p, 0), 0x05, 0x24, 0x00);
        // Unregistered nexus cannot reserve.
        assert_eq!(out(&mut h, I2, 1, 0x01, 0, 0), 0x18);
        // Wrong key.
        assert_eq!(out(&mut h, I1, 1, 0x01, 2, 0), 0x18);
    }

    const READ10: [u8; 10] = [0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0];
    const WRITE10: [u8; 10] = [0x2a, 0, 0, 0, 0, 0, 0, 0, 1, 0];

    fn access(h: &mut Harness, n: NexusId) -> (u8, u8) {
        let r = h.run_on(n, 1, &READ10, &[], 512).status.0;
        let w = h.run_on(n, 1, &WRITE10, &[0xaa; 512], 0).status.0;
        (r, w)
    }

    /// libiscsi test_prout_reserve_access: (registered read, write, unregistered read, write).
    #[test]
    fn access_per_reservation_type() {
        let cases: &[(u8, [u8; 4])] = &[
            (3, [0x18, 0x18, 0x18, 0x18]),
            (1, [0, 0x18, 0, 0x18]),
            (6, [0, 0, 0x18, 0x18]),
            (5, [0, 0, 0, 0x18]),
            (8, [0, 0, 0x18, 0x18]),
            (7, [0, 0, 0, 0x18]),
        ];
        for &(t, expect) in cases {
            let mut h = Harness::disk(1 << 20);
            assert_eq!(out(&mut h, I1, 6, 0, 0, 0x11), 0);
            assert_eq!(out(&mut h, I2, 6, 0, 0, 0x22), 0);
            assert_eq!(out(&mut h, I1, 1, t, 0x11, 0), 0);
            assert_eq!(access(&mut h, I1), (0, 0), "holder, type {t}");
            let (r, w) = access(&mut h, I2);
            assert_eq!([r, w], expect[..2], "registered, type {t}");
            assert_eq!(out(&mut h, I2, 0, 0, 0x22, 0), 0);
            let (r, w) = access(&mut h, I2);
            assert_eq!([r, w], expect[2..], "unregistered, type {t}");
            // INQUIRY and REPORT LUNS never conflict.
            assert_good(&h.run_on(I2, 1, &[0x12, 0, 0, 0, 36, 0], &[], 36));
        }
    }

    /// libiscsi test_prout_reserve_ownership: the holder unregisters.
    #[test]
    fn holder_unregistering_releases_unless_all_registrants() {
        for (t, shared) in [
            (1u8, false),
            (3, false),
            (5, false),
            (6, false),
            (7, true),
            (8, true),
        ] {
            let mut h = Harness::disk(1 << 20);
            out(&mut h, I1, 6, 0, 0, 0x11);
            out(&mut h, I2, 6, 0, 0, 0x22);
            assert_eq!(out(&mut h, I1, 1, t, 0x11, 0), 0);
            assert_eq!(out(&mut h, I1, 0, 0, 0x11, 0), 0);
            // The unregistering nexus gets no unit attention.
            assert_good(&h.run_on(I1, 1, &[0, 0, 0, 0, 0, 0], &[], 0));
            let rr = prin(&mut h, I1, 1, 64);
            if shared {
                assert_eq!(rr[7], 0x10, "type {t}");
                assert_eq!(&rr[8..16], &[0; 8], "all-registrants key is 0");
                assert_eq!(out(&mut h, I2, 2, t, 0x22, 0), 0);
            } else {
                assert_eq!(rr[7], 0, "type {t}");
            }
            let ua = h.run_on(I2, 1, &[0, 0, 0, 0, 0, 0], &[], 0);
            if t == 5 || t == 6 {
                assert_check(&ua, 0x06, 0x2a, 0x04);
            } else {
                assert_good(&ua);
            }
        }
    }

    #[test]
    fn release_with_wrong_type_is_invalid_release() {
        let mut h = Harness::disk(1 << 20);
        out(&mut h, I1, 0, 0, 0, 1);
        out(&mut h, I1, 1, 0x03, 1, 0);
        let (cdb, p) = prout(2, 0x01, 1, 0);
        assert_check(&h.run(&cdb, &p, 0), 0x05, 0x26, 0x04);
        // Not the holder: GOOD, nothing happens.
        out(&mut h, I2, 0, 0, 0, 2);
        assert_eq!(out(&mut h, I2, 2, 0x03, 2, 0), 0);
        assert_eq!(prin(&mut h, I1, 1, 64)[21], 0x03);
    }

    #[test]
    fn clear_removes_everything_and_bumps_generation_once() {
        let mut h = Harness::disk(1 << 20);
        out(&mut h, I1, 6, 0, 0, 1);
        out(&mut h, I2, 6, 0, 0, 2);
        out(&mut h, I1, 1, 0x03, 1, 0);
        let gen = prin(&mut h, I1, 0, 64)[3];
        assert_eq!(out(&mut h, I1, 3, 0, 1, 0), 0);
        let k = prin(&mut h, I1, 0, 64);
        assert_eq!(k, [0, 0, 0, gen + 1, 0, 0, 0, 0]);
        assert_eq!(prin(&mut h, I1, 1, 64)[4..8], [0, 0, 0, 0]);
        assert_check(
            &h.run_on(I2, 1, &[0, 0, 0, 0, 0, 0], &[], 0),
            0x06,
            0x2a,
            0x03,
        );
    }

    /// libiscsi test_prout_preempt_rm_reg.
    #[test]
    fn preempt_without_reservation_removes_registration() {
        let mut h = Harness::disk(1 << 20);
        out(&mut h, I1, 6, 0, 0, 0x11);
        out(&mut h, I2, 6, 0, 0, 0x22);
        let gen = prin(&mut h, I1, 0, 64)[3];
        assert_eq!(out(&mut h, I2, 4, 0x03, 0x22, 0x11), 0);
        let k = prin(&mut h, I2, 0, 64);
        assert_eq!(k, [0, 0, 0, gen + 1, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0x22]);
        assert_check(
            &h.run_on(I1, 1, &[0, 0, 0, 0, 0, 0], &[], 0),
            0x06,
            0x2a,
            0x05,
        );
        // Preempting a key nobody has conflicts.
        assert_eq!(out(&mut h, I2, 4, 0x03, 0x22, 0x99), 0x18);
    }

    #[test]
    fn preempt_takes_over_the_reservation() {
        let mut h = Harness::disk(1 << 20);
        out(&mut h, I1, 6, 0, 0, 0x11);
        out(&mut h, I2, 6, 0, 0, 0x22);
        out(&mut h, I1, 1, 0x01, 0x11, 0);
        assert_eq!(out(&mut h, I2, 5, 0x03, 0x22, 0x11), 0);
        let rr = prin(&mut h, I2, 1, 64);
        assert_eq!(&rr[8..16], &0x22u64.to_be_bytes());
        assert_eq!(rr[21], 0x03);
        assert_eq!(prin(&mut h, I2, 0, 64)[7], 8);
        // I1 lost its registration: its write conflicts.
        let r = h.run_on(I1, 1, &WRITE10, &[0; 512], 0);
        assert_eq!(r.status.0, 0x02, "unit attention first");
        assert_check(&r, 0x06, 0x2a, 0x05);
        assert_eq!(h.run_on(I1, 1, &WRITE10, &[0; 512], 0).status.0, 0x18);
    }

    #[test]
    fn read_full_status_lists_registrants_with_transport_ids() {
        let mut h = Harness::disk(1 << 20);
        h.lu()
            .nexus_added_with_port(NexusId(7), "iqn.x,i,0x123456789ABC");
        h.lu().state().ua.values_mut().for_each(|q| q.clear());
        out(&mut h, NexusId(7), 0, 0, 0, 0x42);
        out(&mut h, NexusId(7), 1, 0x05, 0x42, 0);
        let d = prin(&mut h, I1, 3, 512);
        let name = b"iqn.x,i,0x123456789abc\0\0";
        let mut want = vec![0, 0, 0, 1];
        want.extend_from_slice(&u32::try_from(24 + 4 + name.len()).unwrap().to_be_bytes());
        want.extend_from_slice(&0x42u64.to_be_bytes());
        want.extend_from_slice(&[0, 0, 0, 0, 0x01, 0x05, 0, 0, 0, 0, 0, 1]);
        want.extend_from_slice(&u32::try_from(4 + name.len()).unwrap().to_be_bytes());
        want.extend_from_slice(&[0x45, 0, 0, u8::try_from(name.len()).unwrap()]);
        want.extend_from_slice(name);
        assert_eq!(d, want);
    }

    #[test]
    fn registration_survives_reconnection_of_the_same_port() {
        let mut h = Harness::disk(1 << 20);
        h.lu().nexus_added_with_port(NexusId(7), "iqn.x,i,0x1");
        h.lu().state().ua.values_mut().for_each(|q| q.clear());
        out(&mut h, NexusId(7), 0, 0, 0, 0x42);
        h.lu().nexus_removed(NexusId(7));
        h.lu().nexus_added_with_port(NexusId(8), "iqn.x,i,0x1");
        h.lu().state().ua.values_mut().for_each(|q| q.clear());
        assert_eq!(out(&mut h, NexusId(8), 0, 0, 0x42, 0x43), 0);
    }

    #[test]
    fn register_and_move_hands_the_reservation_over() {
        let mut h = Harness::disk(1 << 20);
        h.lu().nexus_added_with_port(NexusId(7), "iqn.a,i,0x1");
        h.lu().nexus_added_with_port(NexusId(8), "iqn.b,i,0x2");
        h.lu().state().ua.values_mut().for_each(|q| q.clear());
        out(&mut h, NexusId(7), 0, 0, 0, 0x42);
        out(&mut h, NexusId(7), 1, 0x01, 0x42, 0);
        let name = b"iqn.b,i,0x2\0";
        let mut tid = vec![0x45, 0, 0, 20];
        tid.extend_from_slice(name);
        tid.resize(24, 0);
        let mut p = vec![0u8; 24];
        p[..8].copy_from_slice(&0x42u64.to_be_bytes());
        p[8..16].copy_from_slice(&0x77u64.to_be_bytes());
        p[17] = 0x02; // UNREG
        p[20..24].copy_from_slice(&24u32.to_be_bytes());
        p.extend_from_slice(&tid);
        let cdb = [0x5f, 7, 0x01, 0, 0, 0, 0, 0, 48, 0];
        assert_good(&h.run_on(NexusId(7), 1, &cdb, &p, 0));
        let rr = prin(&mut h, NexusId(8), 1, 64);
        assert_eq!(&rr[8..16], &0x77u64.to_be_bytes());
        let keys = prin(&mut h, NexusId(8), 0, 64);
        assert_eq!(keys[4..8], [0, 0, 0, 8]);
        // The old holder is unregistered: its writes conflict.
        let w = h.run_on(NexusId(7), 1, &WRITE10, &[0; 512], 0);
        assert_eq!(w.status.0, 0x18);
    }

    #[test]
    fn service_actions_beyond_read_full_status_are_invalid() {
        let mut h = Harness::disk(1 << 20);
        for sa in 0..4u8 {
            prin(&mut h, I1, sa, 16384);
        }
        for sa in 4..0x20u8 {
            let r = h.run(&[0x5e, sa, 0, 0, 0, 0, 0, 0x40, 0, 0], &[], 16384);
            assert_check(&r, 0x05, 0x24, 0x00);
        }
    }

    #[test]
    fn registrations_are_bounded() {
        let mut h = Harness::disk(1 << 20);
        for n in 0..super::MAX_REGISTRATIONS {
            let nexus = NexusId(100 + u64::try_from(n).unwrap());
            h.lu().nexus_joined(nexus);
            assert_eq!(out(&mut h, nexus, 0, 0, 0, 1), 0);
        }
        let (cdb, p) = prout(0, 0, 0, 1);
        let r = h.run(&cdb, &p, 0);
        assert_check(&r, 0x05, 0x55, 0x04);
    }

    #[test]
    fn scsi2_reserve_blocks_pr_commands_of_others() {
        let mut h = Harness::disk(1 << 20);
        assert_good(&h.run(&[0x16, 0, 0, 0, 0, 0], &[], 0));
        assert_eq!(out(&mut h, I2, 0, 0, 0, 1), 0x18);
    }
}
