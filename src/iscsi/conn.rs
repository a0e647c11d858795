//! One iSCSI connection, sans-IO: login, then the full-feature phase.
//!
//! The connection takes decoded PDUs ([`Connection::handle`]) and SCSI completions
//! ([`Connection::complete`]) and produces PDUs to send ([`Out`], taken with
//! [`Connection::take_output`]) and SCSI commands to execute ([`Connection::take_commands`]).
//! The I/O loop does the socket work and runs the commands; nothing here blocks or touches
//! a socket, so every behaviour is testable with scripted PDUs.
//!
//! RFC 7143 §3.2.2 (CmdSN window), §3.2.4 (Data-In/R2T/Data-Out), §4.2.3 (ordering),
//! §11 (PDUs); tgt: usr/iscsi/iscsid.c (`iscsi_task_queue()`, `iscsi_data_rsp_build()`,
//! `iscsi_r2t_build()`, `iscsi_cmd_rsp_build()`, `cmnd_exec_text()`, `cmnd_exec_logout()`,
//! `iscsi_tm_execute()`), usr/iscsi/iscsi_tcp.c (NOP-In probes).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;

use super::login::{self, Established, Login, LoginEnv, LoginPdu, LoginReply, SessionType, Step};
use super::param::{idx, NR_KEYS};
use super::view::IscsiView;
use crate::scsi::cmd::{Command, NexusId, Response, Status, TaskAttr};
use crate::scsi::lu::Lu;

/// The reserved tag. RFC 7143 §11.2.1.8
pub const RESERVED_TAG: u32 = 0xffff_ffff;

/// SCSI Response "response" field: command completed at target. RFC 7143 §11.4.3
pub const RESPONSE_COMPLETED: u8 = 0x00;

/// Task management functions. RFC 7143 §11.5.1
pub mod tmf {
    /// ABORT TASK
    pub const ABORT_TASK: u8 = 1;
    /// ABORT TASK SET
    pub const ABORT_TASK_SET: u8 = 2;
    /// CLEAR ACA
    pub const CLEAR_ACA: u8 = 3;
    /// CLEAR TASK SET
    pub const CLEAR_TASK_SET: u8 = 4;
    /// LOGICAL UNIT RESET
    pub const LUN_RESET: u8 = 5;
    /// TARGET WARM RESET
    pub const TARGET_WARM_RESET: u8 = 6;
    /// TARGET COLD RESET
    pub const TARGET_COLD_RESET: u8 = 7;
    /// TASK REASSIGN
    pub const TASK_REASSIGN: u8 = 8;
    /// Response: function complete.
    pub const RSP_COMPLETE: u8 = 0;
    /// Response: task does not exist.
    pub const RSP_NO_TASK: u8 = 1;
    /// Response: LUN does not exist.
    pub const RSP_NO_LUN: u8 = 2;
    /// Response: function not supported.
    pub const RSP_NOT_SUPPORTED: u8 = 5;
    /// Response: function rejected.
    pub const RSP_REJECTED: u8 = 255;
}

/// Reject reasons. RFC 7143 §11.17.1
pub mod reject {
    /// Data (payload) digest error.
    pub const DATA_DIGEST_ERROR: u8 = 0x02;
    /// Protocol error.
    pub const PROTOCOL_ERROR: u8 = 0x04;
    /// Command not supported.
    pub const COMMAND_NOT_SUPPORTED: u8 = 0x05;
    /// Invalid PDU field.
    pub const INVALID_PDU_FIELD: u8 = 0x09;
}

/// A decoded PDU from the initiator, with the fields this layer uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum In {
    /// Login Request with its text keys.
    Login(LoginPdu),
    /// SCSI Command with immediate data.
    ScsiCommand {
        /// I bit.
        immediate: bool,
        /// F bit: no unsolicited Data-Out follows.
        final_pdu: bool,
        /// R bit.
        read: bool,
        /// W bit.
        write: bool,
        /// ATTR.
        attr: u8,
        /// LUN field.
        lun: [u8; 8],
        /// ITT.
        itt: u32,
        /// Expected Data Transfer Length.
        edtl: u32,
        /// CmdSN.
        cmd_sn: u32,
        /// The CDB (16 bytes, or longer with an extended-CDB AHS).
        cdb: Vec<u8>,
        /// Immediate data.
        data: Vec<u8>,
    },
    /// SCSI Data-Out.
    DataOut {
        /// F bit.
        final_pdu: bool,
        /// ITT.
        itt: u32,
        /// TTT (reserved for unsolicited data).
        ttt: u32,
        /// DataSN.
        data_sn: u32,
        /// Buffer offset.
        offset: u32,
        /// Data.
        data: Vec<u8>,
    },
    /// NOP-Out.
    NopOut {
        /// I bit.
        immediate: bool,
        /// LUN field.
        lun: [u8; 8],
        /// ITT.
        itt: u32,
        /// TTT.
        ttt: u32,
        /// CmdSN.
        cmd_sn: u32,
        /// Ping data.
        data: Vec<u8>,
    },
    /// Task Management Function Request.
    TaskMgmt {
        /// I bit.
        immediate: bool,
        /// Function.
        function: u8,
        /// LUN field.
        lun: [u8; 8],
        /// ITT.
        itt: u32,
        /// Referenced task tag.
        ref_itt: u32,
        /// CmdSN.
        cmd_sn: u32,
    },
    /// Text Request.
    Text {
        /// I bit.
        immediate: bool,
        /// F bit.
        final_pdu: bool,
        /// ITT.
        itt: u32,
        /// TTT (continuation).
        ttt: u32,
        /// CmdSN.
        cmd_sn: u32,
        /// Text keys.
        keys: Vec<(String, String)>,
    },
    /// Logout Request.
    Logout {
        /// I bit.
        immediate: bool,
        /// Reason code.
        reason: u8,
        /// ITT.
        itt: u32,
        /// CID to log out.
        cid: u16,
        /// CmdSN.
        cmd_sn: u32,
    },
    /// SNACK (ignored at ErrorRecoveryLevel 0, as tgt does).
    Snack,
    /// A PDU this connection cannot use: answer with a Reject carrying its header.
    Invalid {
        /// Reject reason.
        reason: u8,
        /// The offending BHS.
        bhs: [u8; 48],
    },
}

/// Sequence numbers stamped on a target PDU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seq {
    /// StatSN.
    pub stat_sn: u32,
    /// ExpCmdSN.
    pub exp_cmd_sn: u32,
    /// MaxCmdSN.
    pub max_cmd_sn: u32,
}

/// A PDU to send, described by meaning; `iscsi::pdu` turns it into bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Out {
    /// Login Response.
    Login {
        /// Fields from the login state machine.
        reply: LoginReply,
        /// Sequence numbers.
        seq: Seq,
    },
    /// SCSI Response (status, sense, residuals).
    ScsiResponse {
        /// ITT.
        itt: u32,
        /// SAM status.
        status: u8,
        /// Sense data (sent with its 2-byte length prefix).
        sense: Vec<u8>,
        /// Residual: positive underflow, negative overflow.
        residual: i64,
        /// ExpDataSN: Data-In and R2T PDUs sent for this command.
        exp_data_sn: u32,
        /// Sequence numbers.
        seq: Seq,
    },
    /// Data-In, possibly carrying the status (S bit).
    DataIn {
        /// ITT.
        itt: u32,
        /// LUN field.
        lun: [u8; 8],
        /// The whole read buffer (shared by every Data-In of the command).
        buf: Arc<Vec<u8>>,
        /// Offset of this PDU's data in `buf` (= Buffer Offset).
        offset: u32,
        /// Length of this PDU's data.
        len: u32,
        /// DataSN.
        data_sn: u32,
        /// F bit.
        final_pdu: bool,
        /// `Some((status, residual))` when the status rides on this PDU.
        status: Option<(u8, i64)>,
        /// Sequence numbers (StatSN meaningful only with status).
        seq: Seq,
    },
    /// Ready To Transfer.
    R2t {
        /// ITT.
        itt: u32,
        /// LUN field.
        lun: [u8; 8],
        /// TTT.
        ttt: u32,
        /// R2TSN.
        r2t_sn: u32,
        /// Buffer offset.
        offset: u32,
        /// Desired data transfer length.
        len: u32,
        /// Sequence numbers (StatSN not advanced).
        seq: Seq,
    },
    /// NOP-In (answer to a ping, or the target's own probe).
    NopIn {
        /// ITT (reserved for a probe).
        itt: u32,
        /// TTT (reserved for an answer).
        ttt: u32,
        /// LUN field.
        lun: [u8; 8],
        /// Echoed ping data.
        data: Vec<u8>,
        /// Sequence numbers.
        seq: Seq,
    },
    /// Task Management Function Response.
    TaskMgmtResponse {
        /// ITT.
        itt: u32,
        /// Response code.
        response: u8,
        /// Sequence numbers.
        seq: Seq,
    },
    /// Text Response.
    Text {
        /// ITT.
        itt: u32,
        /// TTT (reserved when final).
        ttt: u32,
        /// F bit.
        final_pdu: bool,
        /// Encoded `key=value\0` bytes of this PDU.
        data: Vec<u8>,
        /// Sequence numbers.
        seq: Seq,
    },
    /// Logout Response.
    Logout {
        /// ITT.
        itt: u32,
        /// Response code.
        response: u8,
        /// Sequence numbers.
        seq: Seq,
    },
    /// Reject with the offending header.
    Reject {
        /// Reason.
        reason: u8,
        /// The rejected BHS.
        bhs: [u8; 48],
        /// Sequence numbers.
        seq: Seq,
    },
}

/// What the connection asks of its loop besides sending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Login completed: register the session/connection.
    LoggedIn(Box<Established>),
    /// Close the connection once the queued output is written.
    CloseAfterFlush,
    /// Close now.
    Close,
    /// Task management reset of one LU (LUN) or the whole target (`None`).
    Reset {
        /// The LU, or every LU of the target.
        lun: Option<u64>,
    },
    /// ABORT TASK (`itt`) or ABORT TASK SET / CLEAR TASK SET (`itt` is `None`) on LU
    /// `lun`: the SCSI layer drops the session's commands that their task attributes
    /// still hold back (`Lu::abort_task`, `Lu::abort_task_set`).
    Abort {
        /// The LU.
        lun: u64,
        /// The session's I_T nexus.
        nexus: NexusId,
        /// The aborted task's ITT; `None` for the whole task set of the nexus.
        itt: Option<u32>,
    },
}

/// A write command collecting its data.
#[derive(Debug)]
struct WriteTask {
    itt: u32,
    lun: [u8; 8],
    attr: u8,
    cdb: Vec<u8>,
    edtl: u32,
    buf: Vec<u8>,
    /// Bytes received so far (sum of PDU lengths).
    received: u32,
    /// Next offset to request with an R2T.
    next_r2t_offset: u32,
    /// Outstanding R2Ts: (ttt, end offset, next expected DataSN).
    outstanding: Vec<(u32, u32, u32)>,
    /// Next expected DataSN of the unsolicited Data-Out sequence.
    unsolicited_sn: u32,
    r2t_sn: u32,
    /// Unsolicited Data-Out may still arrive (F not yet seen).
    unsolicited_open: bool,
    /// CmdSN order reached: ready to run once the data is in.
    ordered: bool,
    expect_in: u32,
}

/// A command released to the SCSI layer.
#[derive(Debug)]
struct Running {
    lun: [u8; 8],
    read: bool,
    aborted: bool,
    /// The I/O loop's tag once the command was handed to the SCSI layer: a late
    /// completion of an aborted command whose ITT the initiator has reused must not
    /// answer the new command.
    tag: Option<u64>,
}

#[derive(Debug, Clone)]
enum Phase {
    Login(Box<Login>),
    FullFeature(Box<Ffp>),
    Closed,
}

/// Full-feature state: what the session negotiated.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Ffp {
    session_type: SessionType,
    tid: i32,
    tsih: u16,
    params: [u32; NR_KEYS],
    initiator: String,
}

/// Work waiting for an earlier CmdSN.
#[derive(Debug)]
enum Pending {
    /// A whole PDU to dispatch.
    Pdu(In),
    /// A write (already collecting data) whose turn it is.
    WriteTurn(u32),
}

/// One connection.
#[derive(Debug)]
pub struct Connection {
    phase: Phase,
    peer: SocketAddr,
    local: SocketAddr,
    stat_sn: u32,
    exp_cmd_sn: u32,
    max_queue: u32,
    writes: HashMap<u32, WriteTask>,
    running: HashMap<u32, Running>,
    pending: BTreeMap<u32, Pending>,
    next_ttt: u32,
    text: Option<(u32, VecDeque<u8>)>,
    out: VecDeque<Out>,
    commands: Vec<Command>,
    events: Vec<Event>,
    nop_outstanding: u32,
    nop_ttt: Option<u32>,
    luns: Option<Arc<BTreeMap<u64, Arc<Lu>>>>,
    login_started: bool,
}

/// Serial number arithmetic: `a` is before `b`. RFC 1982
fn before(a: u32, b: u32) -> bool {
    i32::from_ne_bytes(a.wrapping_sub(b).to_ne_bytes()) < 0
}

/// Decodes the 8-byte LUN field into tgt's LUN number; `None` for methods 2/3.
/// SAM-5 §4.7; tgt: usr/scsi.c `scsi_get_devid()`
pub fn lun_number(lun: &[u8; 8]) -> Option<u64> {
    match lun[0] >> 6 {
        0 => Some(u64::from(lun[1])),
        1 => Some((u64::from(lun[0] & 0x3f) << 8) | u64::from(lun[1])),
        _ => None,
    }
}

impl Connection {
    /// A freshly accepted connection.
    pub fn new(peer: SocketAddr, local: SocketAddr) -> Self {
        Self {
            phase: Phase::Login(Box::default()),
            peer,
            local,
            stat_sn: 0,
            exp_cmd_sn: 0,
            max_queue: 128,
            writes: HashMap::new(),
            running: HashMap::new(),
            pending: BTreeMap::new(),
            next_ttt: 1,
            text: None,
            out: VecDeque::new(),
            commands: Vec::new(),
            events: Vec::new(),
            nop_outstanding: 0,
            nop_ttt: None,
            luns: None,
            login_started: false,
        }
    }

    /// The negotiated session parameters once in full feature phase.
    pub fn params(&self) -> Option<&[u32; NR_KEYS]> {
        match &self.phase {
            Phase::FullFeature(f) => Some(&f.params),
            _ => None,
        }
    }

    /// Whether the connection is in full feature phase.
    pub fn is_full_feature(&self) -> bool {
        matches!(self.phase, Phase::FullFeature(_))
    }

    /// The largest data segment the target accepts (its MaxRecvDataSegmentLength).
    pub fn max_recv_dsl(&self) -> u32 {
        match &self.phase {
            Phase::FullFeature(f) => f.params[idx::MAX_RECV_DLENGTH],
            // During login tgt accepts up to its login buffer; 8192 is the RFC default and
            // what every initiator sends in login.
            _ => 8192,
        }
    }

    /// Header/data digests negotiated (CRC32C on).
    pub fn digests(&self) -> (bool, bool) {
        match &self.phase {
            Phase::FullFeature(f) => (
                f.params[idx::HDRDGST] & super::param::DIGEST_CRC32C != 0,
                f.params[idx::DATADGST] & super::param::DIGEST_CRC32C != 0,
            ),
            _ => (false, false),
        }
    }

    /// The session of this connection (TSIH), once logged in.
    pub fn tsih(&self) -> Option<u16> {
        match &self.phase {
            Phase::FullFeature(f) if f.session_type == SessionType::Normal => Some(f.tsih),
            _ => None,
        }
    }

    /// The target of this connection, once logged in to a normal session.
    pub fn tid(&self) -> Option<i32> {
        match &self.phase {
            Phase::FullFeature(f) if f.session_type == SessionType::Normal => Some(f.tid),
            _ => None,
        }
    }

    /// PDUs ready to send, in order.
    pub fn take_output(&mut self) -> Option<Out> {
        self.out.pop_front()
    }

    /// Whether output is queued.
    pub fn has_output(&self) -> bool {
        !self.out.is_empty()
    }

    /// SCSI commands ready to execute.
    pub fn take_commands(&mut self) -> Vec<Command> {
        std::mem::take(&mut self.commands)
    }

    /// Loop-level events.
    pub fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }

    fn seq(&mut self, advance: bool) -> Seq {
        let s = Seq {
            stat_sn: self.stat_sn,
            exp_cmd_sn: self.exp_cmd_sn,
            max_cmd_sn: self.exp_cmd_sn.wrapping_add(self.max_queue).wrapping_sub(1),
        };
        if advance {
            self.stat_sn = self.stat_sn.wrapping_add(1);
        }
        s
    }

    fn login_seq(&mut self, l: &Login) -> Seq {
        let s = Seq {
            stat_sn: self.stat_sn,
            exp_cmd_sn: l.exp_cmd_sn(),
            max_cmd_sn: l.max_cmd_sn(),
        };
        self.stat_sn = self.stat_sn.wrapping_add(1);
        s
    }

    fn reject(&mut self, reason: u8, bhs: [u8; 48]) {
        let seq = self.seq(true);
        self.out.push_back(Out::Reject { reason, bhs, seq });
    }

    /// Handles one PDU from the initiator.
    pub fn handle(&mut self, pdu: In, env: &mut dyn LoginEnv, view: &IscsiView) {
        match std::mem::replace(&mut self.phase, Phase::Closed) {
            Phase::Login(mut l) => {
                self.phase = Phase::Login(l.clone());
                match pdu {
                    In::Login(req) => self.handle_login(&mut l, &req, env, view),
                    In::Invalid { reason, bhs } => {
                        self.reject(reason, bhs);
                        self.events.push(Event::CloseAfterFlush);
                    }
                    _ => {
                        // Anything but Login before login completes: protocol error.
                        self.events.push(Event::Close);
                    }
                }
            }
            Phase::FullFeature(f) => {
                self.phase = Phase::FullFeature(f);
                self.handle_ffp(pdu, view);
            }
            Phase::Closed => {}
        }
    }

    fn handle_login(
        &mut self,
        l: &mut Login,
        req: &LoginPdu,
        env: &mut dyn LoginEnv,
        view: &IscsiView,
    ) {
        if !self.login_started {
            // The first response's StatSN is the initiator's ExpStatSN (RFC 7143 §11.13.4
            // leaves it to the target; initiators accept any).
            self.login_started = true;
            self.stat_sn = req.exp_stat_sn;
        }
        let step = l.handle(req, env);
        let seq = self.login_seq(l);
        match step {
            Step::Continue(reply) => {
                self.out.push_back(Out::Login { reply, seq });
                self.phase = Phase::Login(Box::new(l.clone()));
            }
            Step::Failed(reply) => {
                self.out.push_back(Out::Login { reply, seq });
                self.phase = Phase::Closed;
                self.events.push(Event::CloseAfterFlush);
            }
            Step::Complete(reply, est) => {
                self.exp_cmd_sn = est.exp_cmd_sn;
                self.max_queue = est.params[idx::MAX_QUEUE_CMD].max(1);
                let tsih = reply.tsih;
                self.out.push_back(Out::Login { reply, seq });
                if est.session_type == SessionType::Normal {
                    self.luns = view.targets.get(&est.tid).map(|t| Arc::clone(&t.luns));
                }
                self.phase = Phase::FullFeature(Box::new(Ffp {
                    session_type: est.session_type,
                    tid: est.tid,
                    tsih,
                    params: est.params,
                    initiator: est.initiator.clone(),
                }));
                self.events.push(Event::LoggedIn(est));
            }
        }
    }

    fn ffp(&self) -> Option<&Ffp> {
        match &self.phase {
            Phase::FullFeature(f) => Some(f),
            _ => None,
        }
    }

    /// CmdSN gate for a non-immediate command: run now, queue for later, or drop.
    /// tgt: `iscsi_task_queue()`
    fn ordered(&mut self, cmd_sn: u32, immediate: bool, pdu: In) -> Option<In> {
        if immediate {
            return Some(pdu);
        }
        if cmd_sn == self.exp_cmd_sn {
            self.exp_cmd_sn = self.exp_cmd_sn.wrapping_add(1);
            return Some(pdu);
        }
        if before(cmd_sn, self.exp_cmd_sn) {
            tracing::warn!(
                cmd_sn,
                exp = self.exp_cmd_sn,
                "stale CmdSN, command dropped"
            );
            return None;
        }
        let max = self.exp_cmd_sn.wrapping_add(self.max_queue);
        if !before(cmd_sn, max) {
            tracing::warn!(cmd_sn, max, "CmdSN outside the window, command dropped");
            return None;
        }
        self.pending.insert(cmd_sn, Pending::Pdu(pdu));
        None
    }

    /// Runs queued commands whose CmdSN has come.
    fn drain_pending(&mut self, view: &IscsiView) {
        while let Some(p) = self.pending.remove(&self.exp_cmd_sn) {
            self.exp_cmd_sn = self.exp_cmd_sn.wrapping_add(1);
            match p {
                Pending::Pdu(pdu) => self.dispatch(pdu, view),
                Pending::WriteTurn(itt) => {
                    if let Some(t) = self.writes.get_mut(&itt) {
                        t.ordered = true;
                    }
                    self.try_release_write(itt);
                }
            }
        }
    }

    fn handle_ffp(&mut self, pdu: In, view: &IscsiView) {
        let (cmd_sn, immediate) = match &pdu {
            In::ScsiCommand {
                cmd_sn, immediate, ..
            }
            | In::NopOut {
                cmd_sn, immediate, ..
            }
            | In::TaskMgmt {
                cmd_sn, immediate, ..
            }
            | In::Text {
                cmd_sn, immediate, ..
            }
            | In::Logout {
                cmd_sn, immediate, ..
            } => (*cmd_sn, *immediate),
            In::DataOut { .. } | In::Snack | In::Invalid { .. } | In::Login(_) => {
                return self.dispatch(pdu, view);
            }
        };
        // Write data is collected as soon as the command arrives, whatever its CmdSN.
        if let In::ScsiCommand { write: true, .. } = &pdu {
            return self.scsi_command(pdu, Some((cmd_sn, immediate)), view);
        }
        // A NOP-Out with the reserved ITT answers our probe; it carries no CmdSN work.
        if let In::NopOut {
            itt: RESERVED_TAG, ..
        } = &pdu
        {
            return self.dispatch(pdu, view);
        }
        if let Some(p) = self.ordered(cmd_sn, immediate, pdu) {
            self.dispatch(p, view);
        }
        self.drain_pending(view);
    }

    fn dispatch(&mut self, pdu: In, view: &IscsiView) {
        let discovery = self
            .ffp()
            .is_some_and(|f| f.session_type == SessionType::Discovery);
        match pdu {
            In::ScsiCommand { .. } if discovery => {
                self.reject(reject::PROTOCOL_ERROR, [0; 48]);
            }
            In::ScsiCommand { .. } => self.scsi_command(pdu, None, view),
            In::DataOut {
                final_pdu,
                itt,
                ttt,
                data_sn,
                offset,
                data,
            } => self.data_out(itt, ttt, data_sn, offset, final_pdu, data, view),
            In::NopOut {
                lun,
                itt,
                ttt,
                data,
                ..
            } => {
                if itt == RESERVED_TAG {
                    if Some(ttt) == self.nop_ttt {
                        self.nop_outstanding = 0;
                        self.nop_ttt = None;
                    }
                    return;
                }
                let seq = self.seq(true);
                self.out.push_back(Out::NopIn {
                    itt,
                    ttt: RESERVED_TAG,
                    lun,
                    data,
                    seq,
                });
            }
            In::TaskMgmt {
                function,
                lun,
                itt,
                ref_itt,
                ..
            } => self.task_mgmt(function, lun, itt, ref_itt),
            In::Text { itt, ttt, keys, .. } => self.text(itt, ttt, &keys, view),
            In::Logout { itt, reason, .. } => {
                // ERL 0: closing the session or the connection both succeed; recovery
                // (reason 2) is not supported.
                let response = if reason <= 1 { 0 } else { 2 };
                let seq = self.seq(true);
                self.out.push_back(Out::Logout { itt, response, seq });
                self.events.push(Event::CloseAfterFlush);
            }
            In::Snack => {}
            In::Invalid { reason, bhs } => self.reject(reason, bhs),
            In::Login(_) => self.reject(reject::PROTOCOL_ERROR, [0; 48]),
        }
    }

    /// A SCSI Command. Writes first collect their data (immediate, unsolicited, then R2T);
    /// `gate` carries the CmdSN when ordering is still to be decided.
    fn scsi_command(&mut self, pdu: In, gate: Option<(u32, bool)>, view: &IscsiView) {
        let In::ScsiCommand {
            final_pdu,
            read,
            write,
            attr,
            lun,
            itt,
            edtl,
            cdb,
            data,
            ..
        } = pdu
        else {
            return;
        };
        let Some(f) = self.ffp() else { return };
        let params = f.params;
        if !write {
            self.release(
                itt,
                lun,
                attr,
                cdb,
                Vec::new(),
                if read { edtl } else { 0 },
                0,
                read,
            );
            return;
        }
        // Immediate data beyond what was negotiated is a protocol error.
        let imm_allowed = params[idx::IMM_DATA] != 0;
        if !data.is_empty() && !imm_allowed {
            self.reject(reject::PROTOCOL_ERROR, [0; 48]);
            return;
        }
        let edtl_usize = usize::try_from(edtl).unwrap_or(usize::MAX);
        if data.len() > edtl_usize {
            self.reject(reject::PROTOCOL_ERROR, [0; 48]);
            return;
        }
        // The buffer grows as the data arrives (in order, normally: appended without
        // first zero-filling the whole transfer); `try_release_write` pads any gap.
        let mut buf = data;
        let received = u32::try_from(buf.len()).unwrap_or(u32::MAX);
        buf.reserve_exact(edtl_usize - buf.len());
        let unsolicited_open = !final_pdu && params[idx::INITIAL_R2T] == 0;
        let unsolicited_end = if params[idx::INITIAL_R2T] == 0 {
            params[idx::FIRST_BURST].min(edtl)
        } else {
            received
        };
        let mut t = WriteTask {
            itt,
            lun,
            attr,
            cdb,
            edtl,
            buf,
            received,
            next_r2t_offset: if unsolicited_open {
                unsolicited_end
            } else {
                received
            },
            outstanding: Vec::new(),
            unsolicited_sn: 0,
            r2t_sn: 0,
            unsolicited_open,
            ordered: false,
            expect_in: if read { edtl } else { 0 },
        };
        // Decide ordering now (it may be released only when its data is complete).
        match gate {
            Some((sn, imm)) => {
                if imm || sn == self.exp_cmd_sn {
                    if !imm {
                        self.exp_cmd_sn = self.exp_cmd_sn.wrapping_add(1);
                    }
                    t.ordered = true;
                } else if before(sn, self.exp_cmd_sn) {
                    tracing::warn!(sn, "stale CmdSN, write dropped");
                    return;
                } else {
                    self.pending.insert(sn, Pending::WriteTurn(itt));
                }
            }
            None => t.ordered = true,
        }
        self.writes.insert(itt, t);
        self.send_r2ts(itt);
        self.try_release_write(itt);
        self.drain_pending(view);
    }

    /// Issues R2Ts for the data not yet requested, within MaxOutstandingR2T.
    /// tgt: `iscsi_r2t_build()`
    fn send_r2ts(&mut self, itt: u32) {
        let Some(params) = self.ffp().map(|f| f.params) else {
            return;
        };
        let max_burst = params[idx::MAX_BURST].max(1);
        let max_r2t = usize::try_from(params[idx::MAX_R2T].max(1)).unwrap_or(1);
        loop {
            let ttt = self.next_ttt;
            let Some(t) = self.writes.get_mut(&itt) else {
                return;
            };
            if t.unsolicited_open || t.next_r2t_offset >= t.edtl || t.outstanding.len() >= max_r2t {
                return;
            }
            let len = (t.edtl - t.next_r2t_offset).min(max_burst);
            let offset = t.next_r2t_offset;
            t.next_r2t_offset += len;
            t.outstanding.push((ttt, offset + len, 0));
            let r2t_sn = t.r2t_sn;
            t.r2t_sn += 1;
            let lun = t.lun;
            self.next_ttt = self.next_ttt.wrapping_add(1);
            if self.next_ttt == RESERVED_TAG {
                self.next_ttt = 1;
            }
            let seq = self.seq(false);
            self.out.push_back(Out::R2t {
                itt,
                lun,
                ttt,
                r2t_sn,
                offset,
                len,
                seq,
            });
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn data_out(
        &mut self,
        itt: u32,
        ttt: u32,
        data_sn: u32,
        offset: u32,
        final_pdu: bool,
        data: Vec<u8>,
        _view: &IscsiView,
    ) {
        let Some(t) = self.writes.get_mut(&itt) else {
            tracing::warn!(itt, "Data-Out for an unknown task");
            self.reject(reject::INVALID_PDU_FIELD, [0; 48]);
            return;
        };
        // DataSN counts from 0 in each sequence (unsolicited, or per R2T). At
        // ErrorRecoveryLevel 0 a sequence error cannot be recovered within the command
        // (RFC 7143 §7.2.1): the command ends with CHECK CONDITION, ABORTED COMMAND /
        // DATA PHASE ERROR, and later Data-Out PDUs for it are rejected; the connection
        // and the other commands go on.
        // COMPAT: C tgt ignores DataSN (libiscsi iSCSIdatasn.iSCSIDataSnInvalid).
        let expected = if ttt == RESERVED_TAG {
            Some(&mut t.unsolicited_sn)
        } else {
            t.outstanding
                .iter_mut()
                .find(|(x, _, _)| *x == ttt)
                .map(|(_, _, sn)| sn)
        };
        match expected {
            Some(sn) if *sn == data_sn => *sn = sn.wrapping_add(1),
            _ => {
                tracing::warn!(itt, ttt, data_sn, "Data-Out out of sequence");
                self.writes.remove(&itt);
                let sense = crate::scsi::sense::Sense::new(
                    crate::scsi::sense::SenseKey::ABORTED_COMMAND,
                    crate::scsi::sense::Asc(0x4b00),
                );
                let seq = self.seq(true);
                self.out.push_back(Out::ScsiResponse {
                    itt,
                    status: Status::CHECK_CONDITION.0,
                    sense: sense.fixed(),
                    residual: 0,
                    exp_data_sn: 0,
                    seq,
                });
                return;
            }
        }
        let len = u32::try_from(data.len()).unwrap_or(u32::MAX);
        let end = offset.checked_add(len);
        match end {
            Some(end) if end <= t.edtl => {
                let (o, e) = (
                    usize::try_from(offset).unwrap_or(0),
                    usize::try_from(end).unwrap_or(0),
                );
                if t.buf.len() >= e {
                    t.buf[o..e].copy_from_slice(&data);
                } else if t.buf.len() == o {
                    t.buf.extend_from_slice(&data);
                } else {
                    t.buf.resize(e, 0);
                    t.buf[o..e].copy_from_slice(&data);
                }
                t.received = t.received.saturating_add(len);
            }
            _ => {
                tracing::warn!(itt, offset, len, "Data-Out beyond the expected length");
                self.reject(reject::PROTOCOL_ERROR, [0; 48]);
                return;
            }
        }
        if ttt == RESERVED_TAG {
            if final_pdu {
                t.unsolicited_open = false;
            }
        } else if final_pdu {
            t.outstanding.retain(|(x, _, _)| *x != ttt);
        }
        self.send_r2ts(itt);
        self.try_release_write(itt);
    }

    fn try_release_write(&mut self, itt: u32) {
        let ready = self.writes.get(&itt).is_some_and(|t| {
            t.ordered
                && !t.unsolicited_open
                && t.outstanding.is_empty()
                && t.next_r2t_offset >= t.edtl
        });
        if !ready {
            return;
        }
        if let Some(mut t) = self.writes.remove(&itt) {
            let out_len = t.edtl;
            t.buf
                .resize(usize::try_from(out_len).unwrap_or(usize::MAX), 0);
            self.release(
                t.itt,
                t.lun,
                t.attr,
                t.cdb,
                t.buf,
                t.expect_in,
                out_len,
                t.expect_in > 0,
            );
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn release(
        &mut self,
        itt: u32,
        lun: [u8; 8],
        attr: u8,
        cdb: Vec<u8>,
        data_out: Vec<u8>,
        expected_in: u32,
        expected_out: u32,
        read: bool,
    ) {
        let Some(f) = self.ffp() else { return };
        let nexus = NexusId(u64::from(f.tsih));
        self.running.insert(
            itt,
            Running {
                lun,
                read,
                aborted: false,
                tag: None,
            },
        );
        self.commands.push(Command {
            cdb,
            lun,
            attr: TaskAttr::from_iscsi(attr),
            nexus,
            tag: u64::from(itt),
            expected_in,
            expected_out,
            data_out,
        });
    }

    /// Records the loop's tag of a command handed to the SCSI layer.
    pub fn bind_tag(&mut self, itt: u32, tag: u64) {
        if let Some(r) = self.running.get_mut(&itt) {
            r.tag = Some(tag);
        }
    }

    /// Like [`complete`](Self::complete), for the command the loop knows by `tag`; a
    /// completion for an older command with the same ITT is dropped.
    pub fn complete_tagged(&mut self, itt: u32, tag: u64, rsp: Response) {
        if self.running.get(&itt).is_some_and(|r| r.tag == Some(tag)) {
            self.complete(itt, rsp);
        }
    }

    /// A SCSI command finished: Data-In, then status (on the last Data-In when GOOD).
    /// tgt: `iscsi_data_rsp_build()`, `iscsi_cmd_rsp_build()`
    pub fn complete(&mut self, itt: u32, rsp: Response) {
        let Some(r) = self.running.remove(&itt) else {
            return;
        };
        if r.aborted {
            return;
        }
        let Some(params) = self.ffp().map(|f| f.params) else {
            return;
        };
        let max_xmit = params[idx::MAX_XMIT_DLENGTH].max(512);
        let max_burst = params[idx::MAX_BURST].max(max_xmit);
        let data_len = u32::try_from(rsp.data_in.len()).unwrap_or(u32::MAX);
        let mut data_sn = 0u32;
        let residual = if r.read {
            rsp.in_residual
        } else {
            rsp.out_residual
        };
        if data_len > 0 {
            let buf = Arc::new(rsp.data_in);
            let mut offset = 0u32;
            let mut burst_left = max_burst;
            while offset < data_len {
                let len = (data_len - offset).min(max_xmit).min(burst_left);
                let last = offset + len == data_len;
                burst_left -= len;
                let end_of_burst = burst_left == 0;
                if end_of_burst {
                    burst_left = max_burst;
                }
                let carry_status = last && rsp.status == Status::GOOD;
                let seq = self.seq(carry_status);
                self.out.push_back(Out::DataIn {
                    itt,
                    lun: r.lun,
                    buf: Arc::clone(&buf),
                    offset,
                    len,
                    data_sn,
                    final_pdu: last || end_of_burst,
                    status: carry_status.then_some((rsp.status.0, residual)),
                    seq,
                });
                data_sn += 1;
                offset += len;
            }
            if rsp.status == Status::GOOD {
                return;
            }
        }
        let seq = self.seq(true);
        self.out.push_back(Out::ScsiResponse {
            itt,
            status: rsp.status.0,
            sense: rsp.sense,
            residual,
            exp_data_sn: data_sn,
            seq,
        });
    }

    /// Task management. tgt: `iscsi_tm_execute()`
    fn task_mgmt(&mut self, function: u8, lun: [u8; 8], itt: u32, ref_itt: u32) {
        let lun_no = lun_number(&lun);
        let lun_exists =
            lun_no.is_some_and(|n| self.luns.as_ref().is_some_and(|m| m.contains_key(&n)));
        let response = match function {
            tmf::ABORT_TASK => {
                if self.writes.remove(&ref_itt).is_some()
                    || self.drop_unsubmitted(|c| c.tag == u64::from(ref_itt))
                {
                    tmf::RSP_COMPLETE
                } else if let Some(r) = self.running.get_mut(&ref_itt) {
                    r.aborted = true;
                    let lun = lun_number(&r.lun);
                    self.push_abort(lun, Some(ref_itt));
                    tmf::RSP_COMPLETE
                } else {
                    tmf::RSP_NO_TASK
                }
            }
            tmf::ABORT_TASK_SET | tmf::CLEAR_TASK_SET => {
                self.abort_lun(&lun);
                self.push_abort(lun_no, None);
                tmf::RSP_COMPLETE
            }
            tmf::LUN_RESET => {
                if lun_exists {
                    self.abort_lun(&lun);
                    self.events.push(Event::Reset { lun: lun_no });
                    tmf::RSP_COMPLETE
                } else {
                    tmf::RSP_NO_LUN
                }
            }
            tmf::TARGET_WARM_RESET | tmf::TARGET_COLD_RESET => {
                self.writes.clear();
                self.drop_unsubmitted(|_| true);
                for r in self.running.values_mut() {
                    r.aborted = true;
                }
                self.events.push(Event::Reset { lun: None });
                if function == tmf::TARGET_COLD_RESET {
                    self.events.push(Event::CloseAfterFlush);
                }
                tmf::RSP_COMPLETE
            }
            tmf::CLEAR_ACA | tmf::TASK_REASSIGN => tmf::RSP_NOT_SUPPORTED,
            _ => tmf::RSP_REJECTED,
        };
        let seq = self.seq(true);
        self.out
            .push_back(Out::TaskMgmtResponse { itt, response, seq });
    }

    /// Asks the loop to drop held-back commands of this session on `lun` (see
    /// [`Event::Abort`]).
    fn push_abort(&mut self, lun: Option<u64>, itt: Option<u32>) {
        if let (Some(lun), Some(f)) = (lun, self.ffp()) {
            let nexus = NexusId(u64::from(f.tsih));
            self.events.push(Event::Abort { lun, nexus, itt });
        }
    }

    /// Removes the released commands that the loop has not handed to the SCSI layer yet
    /// and that `aborted` selects: they are older than this task management request, and
    /// the loop acts on its events before it submits them, so they must never run.
    /// Returns whether there were any.
    fn drop_unsubmitted(&mut self, aborted: impl Fn(&Command) -> bool) -> bool {
        let running = &mut self.running;
        let before = self.commands.len();
        self.commands.retain(|c| {
            if !aborted(c) {
                return true;
            }
            if let Ok(itt) = u32::try_from(c.tag) {
                running.remove(&itt);
            }
            false
        });
        self.commands.len() != before
    }

    fn abort_lun(&mut self, lun: &[u8; 8]) {
        self.writes.retain(|_, t| &t.lun != lun);
        self.drop_unsubmitted(|c| &c.lun == lun);
        for r in self.running.values_mut() {
            if &r.lun == lun {
                r.aborted = true;
            }
        }
    }

    /// Text requests: SendTargets, with continuation for long answers.
    /// tgt: `cmnd_exec_text()`, `text_scan_text()`
    fn text(&mut self, itt: u32, ttt: u32, keys: &[(String, String)], view: &IscsiView) {
        let Some(f) = self.ffp().cloned() else { return };
        let max = usize::try_from(f.params[idx::MAX_XMIT_DLENGTH].max(512)).unwrap_or(8192);
        if ttt == RESERVED_TAG {
            let mut body = Vec::new();
            for (k, v) in keys {
                if k == "SendTargets" {
                    if v.is_empty() {
                        continue;
                    }
                    let name = (v != "All").then_some(v.as_str());
                    for (tk, tv) in self.send_targets(view, name, &f.initiator) {
                        push_key(&mut body, &tk, &tv);
                    }
                } else {
                    push_key(&mut body, k, "NotUnderstood");
                }
            }
            self.text = Some((0, body.into()));
        } else if !self.text.as_ref().is_some_and(|(t, _)| *t == ttt) {
            self.reject(reject::INVALID_PDU_FIELD, [0; 48]);
            return;
        }
        let Some((_, mut rest)) = self.text.take() else {
            return;
        };
        let n = rest.len().min(max);
        let data: Vec<u8> = rest.drain(..n).collect();
        let final_pdu = rest.is_empty();
        let ttt_out = if final_pdu {
            RESERVED_TAG
        } else {
            let t = self.next_ttt;
            self.next_ttt = self.next_ttt.wrapping_add(1).max(1);
            self.text = Some((t, rest));
            t
        };
        let seq = self.seq(true);
        self.out.push_back(Out::Text {
            itt,
            ttt: ttt_out,
            final_pdu,
            data,
            seq,
        });
    }

    /// The SendTargets answer: every target the initiator may log in to, at the address
    /// of this connection. tgt: `target_list_build()`
    fn send_targets(
        &self,
        view: &IscsiView,
        name: Option<&str>,
        initiator: &str,
    ) -> Vec<(String, String)> {
        let addr = match self.local {
            SocketAddr::V4(a) => format!("{}:{},1", a.ip(), a.port()),
            SocketAddr::V6(a) => format!("[{}]:{},1", a.ip(), a.port()),
        };
        let mut out = Vec::new();
        for t in view.in_creation_order() {
            if name.is_some_and(|n| n != t.name) {
                continue;
            }
            if !super::acl::allowed(&t.acl_addresses, &t.acl_names, self.peer.ip(), initiator) {
                continue;
            }
            out.push(("TargetName".to_owned(), t.name.clone()));
            out.push(("TargetAddress".to_owned(), addr.clone()));
        }
        out
    }

    /// One tick of the NOP-In keep-alive; returns false when the connection must close.
    /// tgt: usr/iscsi/iscsi_tcp.c `iscsi_tcp_nop_work_handler()`
    pub fn nop_probe(&mut self, nop_count: i32) -> bool {
        if !self.is_full_feature() {
            return true;
        }
        self.nop_outstanding += 1;
        if i64::from(self.nop_outstanding) > i64::from(nop_count) {
            tracing::warn!(
                failed = self.nop_outstanding - 1,
                "tcp connection timed out after failed NOP-OUT"
            );
            return false;
        }
        let ttt = self.next_ttt;
        self.next_ttt = self.next_ttt.wrapping_add(1).max(1);
        self.nop_ttt = Some(ttt);
        let seq = self.seq(false);
        self.out.push_back(Out::NopIn {
            itt: RESERVED_TAG,
            ttt,
            lun: [0; 8],
            data: Vec::new(),
            seq,
        });
        true
    }

    /// Number of commands in flight (for LU-delete and shutdown checks).
    pub fn in_flight(&self) -> usize {
        self.running.len() + self.writes.len()
    }
}

fn push_key(b: &mut Vec<u8>, k: &str, v: &str) {
    super::text::render_into(b, k, v);
}

/// Login status constants re-exported for the loop.
pub use login::status;

/// The data segment of an outgoing PDU, without copying read data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    /// No data segment.
    None,
    /// Owned bytes (text, sense, ping data, rejected header).
    Owned(Vec<u8>),
    /// A slice of a shared read buffer.
    Shared(Arc<Vec<u8>>, std::ops::Range<usize>),
}

impl Payload {
    /// The bytes.
    pub fn bytes(&self) -> &[u8] {
        match self {
            Payload::None => &[],
            Payload::Owned(v) => v,
            Payload::Shared(b, r) => b.get(r.clone()).unwrap_or(&[]),
        }
    }
}

/// Residual flags and count from a signed residual.
fn residual_fields(residual: i64) -> (bool, bool, u32) {
    let count = u32::try_from(residual.unsigned_abs()).unwrap_or(u32::MAX);
    (residual < 0, residual > 0, count)
}

impl Out {
    /// The 48-byte header and the data segment. RFC 7143 §11
    pub fn encode(&self) -> ([u8; 48], Payload) {
        use super::pdu::{
            initiator::Stage, target, DataIn, Isid, LoginResponse, LogoutResponse, NopIn, R2t,
            Reject, RejectReason, ScsiResponse, TaskMgmtResponse, TextResponse,
        };
        use super::pdu::{Itt, Ttt};
        match self {
            Out::Login { reply, seq } => {
                let data = render_keys(&reply.keys);
                let h = LoginResponse {
                    transit: reply.transit,
                    cont: false,
                    csg: Stage(reply.csg),
                    nsg: Stage(reply.nsg),
                    version_max: 0,
                    version_active: 0,
                    isid: Isid(reply.isid),
                    tsih: reply.tsih,
                    itt: Itt(reply.itt),
                    stat_sn: seq.stat_sn,
                    exp_cmd_sn: seq.exp_cmd_sn,
                    max_cmd_sn: seq.max_cmd_sn,
                    status: target::LoginStatus {
                        class: reply.status_class,
                        detail: reply.status_detail,
                    },
                }
                // COMPAT: tgt writes the TSIH in host byte order; initiators echo it
                // opaquely, and tgtadm users see the same bytes as with C tgt.
                .encode_with_tsih_order(target::TsihOrder::Host, data.len());
                (h, Payload::Owned(data))
            }
            Out::ScsiResponse {
                itt,
                status,
                sense,
                residual,
                exp_data_sn,
                seq,
            } => {
                let (overflow, underflow, residual_count) = residual_fields(*residual);
                let data = if sense.is_empty() {
                    Vec::new()
                } else {
                    let len = u16::try_from(sense.len()).unwrap_or(u16::MAX);
                    let mut d = len.to_be_bytes().to_vec();
                    d.extend_from_slice(sense);
                    d
                };
                let h = ScsiResponse {
                    bidi_overflow: false,
                    bidi_underflow: false,
                    overflow,
                    underflow,
                    response: target::ScsiResponseCode(RESPONSE_COMPLETED),
                    status: *status,
                    itt: Itt(*itt),
                    snack_tag: 0,
                    stat_sn: seq.stat_sn,
                    exp_cmd_sn: seq.exp_cmd_sn,
                    max_cmd_sn: seq.max_cmd_sn,
                    exp_data_sn: *exp_data_sn,
                    bidi_read_residual: 0,
                    residual_count,
                }
                .encode(data.len());
                (h, Payload::Owned(data))
            }
            Out::DataIn {
                itt,
                lun,
                buf,
                offset,
                len,
                data_sn,
                final_pdu,
                status,
                seq,
            } => {
                let (status_present, st, (overflow, underflow, residual_count)) = match status {
                    Some((s, r)) => (true, *s, residual_fields(*r)),
                    None => (false, 0, (false, false, 0)),
                };
                let start = usize::try_from(*offset).unwrap_or(0);
                let end = start + usize::try_from(*len).unwrap_or(0);
                let h = DataIn {
                    final_pdu: *final_pdu,
                    ack: false,
                    overflow,
                    underflow,
                    status_present,
                    status: st,
                    lun: *lun,
                    itt: Itt(*itt),
                    ttt: Ttt(RESERVED_TAG),
                    stat_sn: if status_present { seq.stat_sn } else { 0 },
                    exp_cmd_sn: seq.exp_cmd_sn,
                    max_cmd_sn: seq.max_cmd_sn,
                    data_sn: *data_sn,
                    buffer_offset: *offset,
                    residual_count,
                }
                .encode(end - start);
                (h, Payload::Shared(Arc::clone(buf), start..end))
            }
            Out::R2t {
                itt,
                lun,
                ttt,
                r2t_sn,
                offset,
                len,
                seq,
            } => (
                R2t {
                    lun: *lun,
                    itt: Itt(*itt),
                    ttt: Ttt(*ttt),
                    stat_sn: seq.stat_sn,
                    exp_cmd_sn: seq.exp_cmd_sn,
                    max_cmd_sn: seq.max_cmd_sn,
                    r2t_sn: *r2t_sn,
                    buffer_offset: *offset,
                    desired_length: *len,
                }
                .encode(),
                Payload::None,
            ),
            Out::NopIn {
                itt,
                ttt,
                lun,
                data,
                seq,
            } => (
                NopIn {
                    lun: *lun,
                    itt: Itt(*itt),
                    ttt: Ttt(*ttt),
                    stat_sn: seq.stat_sn,
                    exp_cmd_sn: seq.exp_cmd_sn,
                    max_cmd_sn: seq.max_cmd_sn,
                }
                .encode(data.len()),
                Payload::Owned(data.clone()),
            ),
            Out::TaskMgmtResponse { itt, response, seq } => (
                TaskMgmtResponse {
                    response: target::TmfResponse(*response),
                    itt: Itt(*itt),
                    stat_sn: seq.stat_sn,
                    exp_cmd_sn: seq.exp_cmd_sn,
                    max_cmd_sn: seq.max_cmd_sn,
                }
                .encode(),
                Payload::None,
            ),
            Out::Text {
                itt,
                ttt,
                final_pdu,
                data,
                seq,
            } => (
                TextResponse {
                    final_pdu: *final_pdu,
                    cont: false,
                    lun: [0; 8],
                    itt: Itt(*itt),
                    ttt: Ttt(*ttt),
                    stat_sn: seq.stat_sn,
                    exp_cmd_sn: seq.exp_cmd_sn,
                    max_cmd_sn: seq.max_cmd_sn,
                }
                .encode(data.len()),
                Payload::Owned(data.clone()),
            ),
            Out::Logout { itt, response, seq } => (
                LogoutResponse {
                    response: target::LogoutResponseCode(*response),
                    itt: Itt(*itt),
                    stat_sn: seq.stat_sn,
                    exp_cmd_sn: seq.exp_cmd_sn,
                    max_cmd_sn: seq.max_cmd_sn,
                    time2wait: 0,
                    time2retain: 0,
                }
                .encode(),
                Payload::None,
            ),
            Out::Reject { reason, bhs, seq } => (
                Reject {
                    reason: RejectReason(*reason),
                    stat_sn: seq.stat_sn,
                    exp_cmd_sn: seq.exp_cmd_sn,
                    max_cmd_sn: seq.max_cmd_sn,
                    data_sn_or_r2t_sn: 0,
                }
                .encode(),
                Payload::Owned(bhs.to_vec()),
            ),
        }
    }
}

/// `key=value\0` for each pair.
fn render_keys(keys: &[(String, String)]) -> Vec<u8> {
    super::text::render(keys)
}

/// Text keys of a Login or Text Request data segment: `key=value` items separated by NULs.
/// Items without `=` are skipped, as tgt's `next_key()` does.
fn text_keys(data: &[u8]) -> Vec<(String, String)> {
    data.split(|&b| b == 0)
        .filter(|item| !item.is_empty())
        .filter_map(|item| {
            let s = String::from_utf8_lossy(item);
            let (k, v) = s.split_once('=')?;
            Some((k.to_owned(), v.to_owned()))
        })
        .collect()
}

/// Turns a received PDU into what the connection handles; undecodable PDUs become a
/// Reject carrying their header. RFC 7143 §11, §11.17
pub fn decode(pdu: super::pdu::Pdu) -> In {
    use super::pdu::Request;
    let bhs = *pdu.bhs.as_bytes();
    let req = match Request::decode(&pdu.bhs) {
        Ok(r) => r,
        Err(e) => {
            let reason = e.reject_reason().map_or(reject::PROTOCOL_ERROR, |r| r.0);
            return In::Invalid { reason, bhs };
        }
    };
    match req {
        Request::Login(l) => In::Login(LoginPdu {
            transit: l.transit,
            cont: l.cont,
            csg: l.csg.0,
            nsg: l.nsg.0,
            version_max: l.version_max,
            version_min: l.version_min,
            isid: l.isid.0,
            // The initiator echoes the bytes we sent (host order, see `Out::encode`).
            tsih: super::pdu::TsihOrder::Host.from_wire(l.tsih),
            cid: l.cid,
            itt: l.itt.0,
            cmd_sn: l.cmd_sn,
            exp_stat_sn: l.exp_stat_sn,
            keys: text_keys(&pdu.data),
        }),
        Request::ScsiCommand(c) => {
            let mut cdb = c.cdb.to_vec();
            // Extended CDB AHS (type 1): the CDB continues. RFC 7143 §11.2.2.3
            let ahs = &pdu.ahs;
            if ahs.len() >= 4 && ahs[2] == 0x01 {
                let len = usize::from(u16::from_be_bytes([ahs[0], ahs[1]])).saturating_sub(1);
                if let Some(ext) = ahs.get(4..4 + len) {
                    cdb.extend_from_slice(ext);
                }
            }
            In::ScsiCommand {
                immediate: c.immediate,
                final_pdu: c.final_pdu,
                read: c.read,
                write: c.write,
                attr: c.attr.0,
                lun: c.lun,
                itt: c.itt.0,
                edtl: c.edtl,
                cmd_sn: c.cmd_sn,
                cdb,
                data: pdu.data,
            }
        }
        Request::DataOut(d) => In::DataOut {
            final_pdu: d.final_pdu,
            itt: d.itt.0,
            ttt: d.ttt.0,
            data_sn: d.data_sn,
            offset: d.buffer_offset,
            data: pdu.data,
        },
        Request::NopOut(n) => In::NopOut {
            immediate: n.immediate,
            lun: n.lun,
            itt: n.itt.0,
            ttt: n.ttt.0,
            cmd_sn: n.cmd_sn,
            data: pdu.data,
        },
        Request::TaskMgmt(t) => In::TaskMgmt {
            immediate: t.immediate,
            function: t.function.0,
            lun: t.lun,
            itt: t.itt.0,
            ref_itt: t.ref_task_tag.0,
            cmd_sn: t.cmd_sn,
        },
        Request::Text(t) => In::Text {
            immediate: t.immediate,
            final_pdu: t.final_pdu,
            itt: t.itt.0,
            ttt: t.ttt.0,
            cmd_sn: t.cmd_sn,
            keys: text_keys(&pdu.data),
        },
        Request::Logout(l) => In::Logout {
            immediate: l.immediate,
            reason: l.reason.0,
            itt: l.itt.0,
            cid: l.cid,
            cmd_sn: l.cmd_sn,
        },
        Request::Snack(_) => In::Snack,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iscsi::login::{Auth, TargetAccess};
    use crate::iscsi::param;

    struct Env;
    impl LoginEnv for Env {
        fn find_target(&self, name: &str) -> Option<TargetAccess> {
            (name == "iqn.t").then(|| TargetAccess {
                tid: 1,
                ready: true,
                acl_addresses: vec!["ALL".into()],
                acl_names: vec![],
                auth: Auth::default(),
                params: param::target_defaults(),
                redirect: None,
                redirect_callback: None,
            })
        }
        fn discovery_auth(&self) -> Auth {
            Auth::default()
        }
        fn peer(&self) -> std::net::IpAddr {
            "127.0.0.1".parse().unwrap()
        }
        fn find_session(&self, _: i32, _: &str, _: [u8; 6]) -> Option<u16> {
            None
        }
        fn next_chap_id(&mut self) -> u8 {
            1
        }
        fn challenge(&mut self) -> [u8; crate::iscsi::chap::CHALLENGE_LEN] {
            [0; crate::iscsi::chap::CHALLENGE_LEN]
        }
        fn finish(&mut self, _: &Established) -> Result<u16, (u8, u8)> {
            Ok(7)
        }
    }

    fn view() -> IscsiView {
        IscsiView {
            system_ready: true,
            ..IscsiView::default()
        }
    }

    fn logged_in(extra: &[(&str, &str)]) -> Connection {
        let mut c = Connection::new(
            "127.0.0.1:5000".parse().unwrap(),
            "127.0.0.1:3260".parse().unwrap(),
        );
        let mut keys = vec![
            ("InitiatorName".to_string(), "iqn.i".to_string()),
            ("TargetName".to_string(), "iqn.t".to_string()),
        ];
        keys.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        c.handle(
            In::Login(LoginPdu {
                transit: true,
                cont: false,
                csg: 1,
                nsg: 3,
                version_max: 0,
                version_min: 0,
                isid: [0x80, 0, 0, 0, 0, 1],
                tsih: 0,
                cid: 0,
                itt: 1,
                cmd_sn: 10,
                exp_stat_sn: 100,
                keys,
            }),
            &mut Env,
            &view(),
        );
        let out = c.take_output().unwrap();
        let Out::Login { reply, seq } = out else {
            panic!("{out:?}")
        };
        assert_eq!(reply.tsih, 7);
        assert_eq!(seq.stat_sn, 100);
        assert!(c.is_full_feature());
        c
    }

    fn cmd(
        itt: u32,
        cmd_sn: u32,
        read: bool,
        write: bool,
        edtl: u32,
        data: Vec<u8>,
        final_pdu: bool,
    ) -> In {
        In::ScsiCommand {
            immediate: false,
            final_pdu,
            read,
            write,
            attr: 1,
            lun: [0, 1, 0, 0, 0, 0, 0, 0],
            itt,
            edtl,
            cmd_sn,
            cdb: vec![0x28; 16],
            data,
        }
    }

    #[test]
    fn read_data_is_split_and_status_rides_the_last_pdu() {
        let mut c = logged_in(&[("MaxRecvDataSegmentLength", "4096")]);
        c.handle(
            cmd(5, 10, true, false, 10000, vec![], true),
            &mut Env,
            &view(),
        );
        let cmds = c.take_commands();
        assert_eq!(cmds.len(), 1);
        assert_eq!(cmds[0].expected_in, 10000);
        let data: Vec<u8> = (0..10000u32).map(|i| (i % 251) as u8).collect();
        c.complete(
            5,
            Response {
                status: Status::GOOD,
                sense: vec![],
                data_in: data,
                in_residual: 0,
                out_residual: 0,
            },
        );
        let mut lens = vec![];
        let mut last_status = None;
        while let Some(o) = c.take_output() {
            let Out::DataIn {
                len,
                offset,
                data_sn,
                status,
                ..
            } = o
            else {
                panic!("{o:?}")
            };
            assert_eq!(offset, 4096 * data_sn);
            lens.push(len);
            last_status = status;
        }
        assert_eq!(lens, [4096, 4096, 1808]);
        assert_eq!(last_status, Some((0, 0)));
    }

    #[test]
    fn check_condition_after_data_uses_a_response() {
        let mut c = logged_in(&[]);
        c.handle(
            cmd(5, 10, true, false, 512, vec![], true),
            &mut Env,
            &view(),
        );
        c.take_commands();
        c.complete(
            5,
            Response::status(Status::CHECK_CONDITION, vec![0x70, 0, 5]),
        );
        let Some(Out::ScsiResponse {
            status,
            sense,
            exp_data_sn,
            ..
        }) = c.take_output()
        else {
            panic!()
        };
        assert_eq!((status, exp_data_sn), (2, 0));
        assert_eq!(sense, [0x70, 0, 5]);
    }

    #[test]
    fn write_collects_immediate_then_r2t_data() {
        let mut c = logged_in(&[("MaxBurstLength", "4096"), ("ImmediateData", "Yes")]);
        // 10000 bytes, 1000 immediate, InitialR2T=Yes (default): R2Ts for the rest.
        c.handle(
            cmd(9, 10, false, true, 10000, vec![1; 1000], true),
            &mut Env,
            &view(),
        );
        let Some(Out::R2t {
            ttt,
            offset,
            len,
            r2t_sn,
            ..
        }) = c.take_output()
        else {
            panic!()
        };
        assert_eq!((offset, len, r2t_sn), (1000, 4096, 0));
        assert!(c.take_output().is_none(), "MaxOutstandingR2T is 1");
        c.handle(
            In::DataOut {
                final_pdu: true,
                itt: 9,
                ttt,
                data_sn: 0,
                offset: 1000,
                data: vec![2; 4096],
            },
            &mut Env,
            &view(),
        );
        let Some(Out::R2t {
            ttt, offset, len, ..
        }) = c.take_output()
        else {
            panic!()
        };
        assert_eq!((offset, len), (5096, 4096));
        c.handle(
            In::DataOut {
                final_pdu: true,
                itt: 9,
                ttt,
                data_sn: 0,
                offset: 5096,
                data: vec![3; 4096],
            },
            &mut Env,
            &view(),
        );
        let Some(Out::R2t {
            ttt, offset, len, ..
        }) = c.take_output()
        else {
            panic!()
        };
        assert_eq!((offset, len), (9192, 808));
        assert!(c.take_commands().is_empty());
        c.handle(
            In::DataOut {
                final_pdu: true,
                itt: 9,
                ttt,
                data_sn: 0,
                offset: 9192,
                data: vec![4; 808],
            },
            &mut Env,
            &view(),
        );
        let cmds = c.take_commands();
        assert_eq!(cmds.len(), 1);
        assert_eq!(cmds[0].data_out.len(), 10000);
        assert_eq!(
            &cmds[0].data_out[995..1005],
            &[1, 1, 1, 1, 1, 2, 2, 2, 2, 2]
        );
        assert_eq!(cmds[0].data_out[9999], 4);
    }

    #[test]
    fn data_out_in_any_order_lands_at_its_offset() {
        // One R2T for the whole 8192 bytes; its data comes as two PDUs, the tail first
        // (DataPDUInOrder=No), so the buffer has a gap until the head arrives.
        let mut c = logged_in(&[("MaxBurstLength", "8192"), ("DataPDUInOrder", "No")]);
        c.handle(
            cmd(9, 10, false, true, 8192, vec![], true),
            &mut Env,
            &view(),
        );
        let Some(Out::R2t {
            ttt, offset, len, ..
        }) = c.take_output()
        else {
            panic!()
        };
        assert_eq!((offset, len), (0, 8192));
        for (offset, fill, data_sn, final_pdu) in [(4096, 5, 0, false), (0, 6, 1, true)] {
            c.handle(
                In::DataOut {
                    final_pdu,
                    itt: 9,
                    ttt,
                    data_sn,
                    offset,
                    data: vec![fill; 4096],
                },
                &mut Env,
                &view(),
            );
        }
        let cmds = c.take_commands();
        assert_eq!(cmds.len(), 1);
        let d = &cmds[0].data_out;
        assert_eq!(d.len(), 8192);
        assert!(d[..4096].iter().all(|&b| b == 6));
        assert!(d[4096..].iter().all(|&b| b == 5));
    }

    #[test]
    fn data_out_out_of_sequence_ends_the_command_with_data_phase_error() {
        let mut c = logged_in(&[("MaxBurstLength", "8192")]);
        c.handle(
            cmd(9, 10, false, true, 4096, vec![], true),
            &mut Env,
            &view(),
        );
        let Some(Out::R2t { ttt, .. }) = c.take_output() else {
            panic!()
        };
        // Two PDUs of one R2T sequence must carry DataSN 0 and 1; 1 first is an error.
        let bad = In::DataOut {
            final_pdu: false,
            itt: 9,
            ttt,
            data_sn: 1,
            offset: 0,
            data: vec![0; 2048],
        };
        c.handle(bad, &mut Env, &view());
        let Some(Out::ScsiResponse {
            itt, status, sense, ..
        }) = c.take_output()
        else {
            panic!()
        };
        assert_eq!((itt, status), (9, 2));
        assert_eq!((sense[2], sense[12], sense[13]), (0x0b, 0x4b, 0x00));
        assert!(c.take_commands().is_empty(), "the write never runs");
        // The rest of the sequence is refused; the connection stays.
        let rest = In::DataOut {
            final_pdu: true,
            itt: 9,
            ttt,
            data_sn: 0,
            offset: 2048,
            data: vec![0; 2048],
        };
        c.handle(rest, &mut Env, &view());
        assert!(matches!(
            c.take_output(),
            Some(Out::Reject {
                reason: reject::INVALID_PDU_FIELD,
                ..
            })
        ));
        assert!(c
            .take_events()
            .iter()
            .all(|e| !matches!(e, Event::Close | Event::CloseAfterFlush)));
    }

    #[test]
    fn commands_run_in_cmdsn_order() {
        let mut c = logged_in(&[]);
        c.handle(cmd(2, 11, false, false, 0, vec![], true), &mut Env, &view());
        assert!(c.take_commands().is_empty(), "CmdSN 10 has not arrived");
        c.handle(cmd(1, 10, false, false, 0, vec![], true), &mut Env, &view());
        let tags: Vec<u64> = c.take_commands().iter().map(|c| c.tag).collect();
        assert_eq!(tags, [1, 2]);
        // A stale CmdSN is dropped.
        c.handle(cmd(3, 5, false, false, 0, vec![], true), &mut Env, &view());
        assert!(c.take_commands().is_empty());
    }

    #[test]
    fn nop_ping_is_echoed_and_probe_reply_resets() {
        let mut c = logged_in(&[]);
        c.handle(
            In::NopOut {
                immediate: true,
                lun: [0; 8],
                itt: 4,
                ttt: RESERVED_TAG,
                cmd_sn: 10,
                data: vec![9, 9],
            },
            &mut Env,
            &view(),
        );
        let Some(Out::NopIn { itt, ttt, data, .. }) = c.take_output() else {
            panic!()
        };
        assert_eq!((itt, ttt, data), (4, RESERVED_TAG, vec![9, 9]));
        assert!(c.nop_probe(1));
        let Some(Out::NopIn { itt, ttt, .. }) = c.take_output() else {
            panic!()
        };
        assert_eq!(itt, RESERVED_TAG);
        c.handle(
            In::NopOut {
                immediate: true,
                lun: [0; 8],
                itt: RESERVED_TAG,
                ttt,
                cmd_sn: 10,
                data: vec![],
            },
            &mut Env,
            &view(),
        );
        assert!(c.nop_probe(1));
        c.take_output();
        assert!(
            !c.nop_probe(1),
            "second unanswered probe exceeds nop_count 1"
        );
    }

    #[test]
    fn abort_task_suppresses_the_response() {
        let mut c = logged_in(&[]);
        c.handle(
            cmd(5, 10, true, false, 512, vec![], true),
            &mut Env,
            &view(),
        );
        c.take_commands();
        c.handle(
            In::TaskMgmt {
                immediate: true,
                function: tmf::ABORT_TASK,
                lun: [0, 1, 0, 0, 0, 0, 0, 0],
                itt: 6,
                ref_itt: 5,
                cmd_sn: 11,
            },
            &mut Env,
            &view(),
        );
        let Some(Out::TaskMgmtResponse { response, .. }) = c.take_output() else {
            panic!()
        };
        assert_eq!(response, tmf::RSP_COMPLETE);
        c.complete(5, Response::status(Status::GOOD, vec![]));
        assert!(c.take_output().is_none());
        c.handle(
            In::TaskMgmt {
                immediate: true,
                function: tmf::ABORT_TASK,
                lun: [0; 8],
                itt: 7,
                ref_itt: 99,
                cmd_sn: 11,
            },
            &mut Env,
            &view(),
        );
        let Some(Out::TaskMgmtResponse { response, .. }) = c.take_output() else {
            panic!()
        };
        assert_eq!(response, tmf::RSP_NO_TASK);
    }

    #[test]
    fn abort_task_and_abort_task_set_ask_the_loop_to_drop_held_back_commands() {
        let mut c = logged_in(&[]);
        c.handle(
            cmd(5, 10, true, false, 512, vec![], true),
            &mut Env,
            &view(),
        );
        c.take_commands();
        c.take_events();
        let tm = |function, itt, ref_itt| In::TaskMgmt {
            immediate: true,
            function,
            lun: [0, 1, 0, 0, 0, 0, 0, 0],
            itt,
            ref_itt,
            cmd_sn: 11,
        };
        c.handle(tm(tmf::ABORT_TASK, 6, 5), &mut Env, &view());
        assert_eq!(
            c.take_events(),
            [Event::Abort {
                lun: 1,
                nexus: NexusId(7),
                itt: Some(5)
            }]
        );
        // An unknown task asks nothing of the loop.
        c.handle(tm(tmf::ABORT_TASK, 7, 99), &mut Env, &view());
        assert!(c.take_events().is_empty());
        c.handle(tm(tmf::ABORT_TASK_SET, 8, 0), &mut Env, &view());
        assert_eq!(
            c.take_events(),
            [Event::Abort {
                lun: 1,
                nexus: NexusId(7),
                itt: None
            }]
        );
    }

    #[test]
    fn commands_not_yet_submitted_are_dropped_by_the_abort() {
        let mut c = logged_in(&[]);
        let tm = |function, itt, ref_itt| In::TaskMgmt {
            immediate: true,
            function,
            lun: [0, 1, 0, 0, 0, 0, 0, 0],
            itt,
            ref_itt,
            cmd_sn: 12,
        };
        c.take_events();
        // Command and abort in one batch: the loop has not submitted the command yet.
        c.handle(
            cmd(5, 10, true, false, 512, vec![], true),
            &mut Env,
            &view(),
        );
        c.handle(tm(tmf::ABORT_TASK, 6, 5), &mut Env, &view());
        assert!(c.take_commands().is_empty());
        assert!(c.take_events().is_empty());
        assert_eq!(c.in_flight(), 0);
        c.handle(
            cmd(7, 11, true, false, 512, vec![], true),
            &mut Env,
            &view(),
        );
        c.handle(tm(tmf::ABORT_TASK_SET, 8, 0), &mut Env, &view());
        assert!(c.take_commands().is_empty());
        assert_eq!(c.in_flight(), 0);
        let tmf_responses = std::iter::from_fn(|| c.take_output())
            .filter(|o| matches!(o, Out::TaskMgmtResponse { .. }))
            .count();
        assert_eq!(tmf_responses, 2);
    }

    #[test]
    fn late_completion_of_an_aborted_command_does_not_answer_a_reused_itt() {
        let mut c = logged_in(&[]);
        c.handle(
            cmd(5, 10, true, false, 512, vec![], true),
            &mut Env,
            &view(),
        );
        c.take_commands();
        c.bind_tag(5, 100);
        c.handle(
            In::TaskMgmt {
                immediate: true,
                function: tmf::ABORT_TASK,
                lun: [0, 1, 0, 0, 0, 0, 0, 0],
                itt: 6,
                ref_itt: 5,
                cmd_sn: 11,
            },
            &mut Env,
            &view(),
        );
        c.take_output();
        // The initiator reuses ITT 5 for a new command.
        c.handle(
            cmd(5, 11, true, false, 512, vec![], true),
            &mut Env,
            &view(),
        );
        c.take_commands();
        c.bind_tag(5, 101);
        c.complete_tagged(5, 100, Response::status(Status::GOOD, vec![]));
        assert!(
            c.take_output().is_none(),
            "the old command's completion is dropped"
        );
        c.complete_tagged(5, 101, Response::status(Status::GOOD, vec![]));
        assert!(matches!(
            c.take_output(),
            Some(Out::ScsiResponse { itt: 5, .. })
        ));
    }

    #[test]
    fn logout_answers_then_closes() {
        let mut c = logged_in(&[]);
        c.handle(
            In::Logout {
                immediate: true,
                reason: 0,
                itt: 3,
                cid: 0,
                cmd_sn: 10,
            },
            &mut Env,
            &view(),
        );
        assert!(matches!(
            c.take_output(),
            Some(Out::Logout { response: 0, .. })
        ));
        assert_eq!(c.take_events().last(), Some(&Event::CloseAfterFlush));
    }

    #[test]
    fn lun_field_decoding() {
        assert_eq!(lun_number(&[0, 5, 0, 0, 0, 0, 0, 0]), Some(5));
        assert_eq!(lun_number(&[0x41, 0x02, 0, 0, 0, 0, 0, 0]), Some(0x102));
        assert_eq!(lun_number(&[0x80, 0, 0, 0, 0, 0, 0, 0]), None);
    }

    #[test]
    fn text_keys_skip_items_without_equals() {
        assert_eq!(
            text_keys(b"a=1\0junk\0b=\0"),
            [
                ("a".to_string(), "1".to_string()),
                ("b".to_string(), String::new())
            ]
        );
    }
}
