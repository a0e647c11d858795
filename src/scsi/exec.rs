//! Executing one SCSI command against the LUs of a target: LUN addressing, the checks every
//! command goes through, dispatch to the handler, residuals, statistics, completion.
//!
//! The transport calls [`execute`] with a [`Command`]; it gets `Some(Response)` when the
//! command finished on the caller's thread, or `None` when the response will reach the
//! [`Completer`](super::cmd::Completer) with the command's tag: from a backing-store
//! worker, or from whichever thread starts the command later, when its task attribute
//! held it back ([`task_set`](super::task_set)).
//! Knows nothing of iSCSI. Sources: SAM-5 §5 (command model), §5.14 (unit attention),
//! §8 (task set), SPC-4 §4.2.5.6 (CONTROL byte), §5.12 (reservations); tgt: usr/scsi.c
//! `scsi_cmd_perform()`, usr/target.c `target_cmd_queue()`, `target_cmd_perform()`,
//! `target_cmd_io_done()`, `__cmd_done()`.
//!
//! Transport contract:
//! - a session's login calls [`Lu::nexus_added_with_port`] (or [`Lu::nexus_added`]) on
//!   every LU of the target, its end [`Lu::nexus_removed`] (which also drops the nexus's
//!   held-back commands); a LU created while sessions exist gets [`Lu::nexus_joined`] for
//!   each (commands from an unknown nexus join lazily);
//! - every command goes through [`execute`], with all its data-out collected; tags are
//!   unique per completer among the commands in flight;
//! - every command for which [`execute`] returned `None` reaches the completer exactly
//!   once: with its outcome, or with TASK ABORTED when a task management function or the
//!   end of its nexus removed it before it started (the transport drops that response for
//!   the tasks it aborted itself; another nexus's commands removed by a LU reset get it,
//!   as they do from tgt);
//! - ABORT TASK calls [`Lu::abort_task`], ABORT TASK SET [`Lu::abort_task_set`], LOGICAL
//!   UNIT RESET [`Lu::reset`] (which calls [`Lu::abort_all`]); they remove commands still
//!   held back. A command already started is not stopped: its response still arrives,
//!   and the transport, which forgot the tag, drops it.
//!
//! Task attributes (SAM-5 §8.6, [`task_set`](super::task_set)) are applied when a command
//! arrives at a LU that exists: it starts now, or waits in the LU's task set and starts on
//! the thread that completes (or aborts) the command it waited for. As in tgt, everything
//! below (statistics, unit attentions, reservations) happens when the command starts, not
//! when it arrives: a held-back command sees the unit attentions and reservations that
//! earlier commands left. Commands to an absent LUN are answered at once, outside any task
//! set.
//!
//! Check order (reference §3.1): statistics; CONTROL byte NACA/LINK → 05/24/00; absent LUN
//! (INQUIRY answered by LUN 0 with peripheral 0x7F, REQUEST SENSE → zeros, others 05/25/00);
//! unit attention (not for INQUIRY, REPORT LUNS or REQUEST SENSE); reservation conflicts
//! (persistent, then SCSI-2); opcode map → 05/20/00 (unknown service action → 05/24/00);
//! medium present; then the handler.

use std::collections::BTreeMap;
use std::fs::File;
use std::ops::ControlFlow;
use std::sync::Arc;

use crate::bs::aio::{AioIo, AioJob};
use crate::bs::pool::WorkerPool;
use crate::bs::rbd::{RbdIo, RbdMedia};
use crate::bs::rdwr_io::{IoDone, IoError};
use crate::bs::Access;

use super::cdb::{Cdb, Opcode};
use super::cmd::{Command, CompleterRef, NexusId, Response, Status};
use super::lu::{Lu, LuState};
use super::opcodes::{self, Handler, Lookup};
use super::sense::{asc, Asc, Sense, SenseKey};
use super::task_set::{AbortScope, Deferred, TaskClass};
use super::{pr, sbc, spc, DeviceType};

/// What `execute` needs besides the command: the target's LUs (LUN 0 included), the
/// backing-store worker pool, and where asynchronous completions go. The handles are
/// `Arc`s because a command held back by its task attribute keeps them until it starts.
#[derive(Debug, Clone, Copy)]
pub struct ExecContext<'a> {
    /// The target's logical units by LUN.
    pub luns: &'a Arc<BTreeMap<u64, Arc<Lu>>>,
    /// The shared backing-store worker pool.
    pub pool: &'a Arc<WorkerPool>,
    /// Receives responses of commands for which `execute` returned `None`.
    pub completer: &'a CompleterRef,
}

/// Executes `cmd`. `Some` when the command finished synchronously; `None` when the
/// completer will receive the response for `cmd.tag` (from a worker thread, or from the
/// thread that starts it once its task attribute lets it). tgt: usr/target.c
/// `target_cmd_perform()`
pub fn execute(ctx: &ExecContext<'_>, cmd: Command) -> Option<Response> {
    let addressed = decode_lun(&cmd.lun).and_then(|l| ctx.luns.get(&l));
    let (lu, absent) = match addressed {
        Some(lu) => (lu, false),
        None => match ctx.luns.get(&0) {
            Some(lu0) => (lu0, true),
            None => {
                // A target always has LUN 0; without it there is nobody to answer.
                let sense = Sense::new(SenseKey::ILLEGAL_REQUEST, asc::LUN_NOT_SUPPORTED);
                return Some(finish(
                    Outcome::check(sense),
                    cmd.expected_in,
                    cmd.expected_out,
                    false,
                ));
            }
        },
    };
    if !absent && lu.config().device_type == DeviceType::PT {
        return passthrough(ctx, lu, cmd);
    }
    let class = TaskClass::of(cmd.attr);
    let task = {
        let mut st = lu.state();
        let task = if absent {
            // COMPAT: tgt queues commands to an absent LUN in LUN 0's task set; they
            // need no LU, so here none of LUN 0's commands waits for them, nor they for it.
            None
        } else if st.tasks.admit(class) {
            Some(class)
        } else {
            tracing::debug!(lun = lu.lun, tag = cmd.tag, attr = ?cmd.attr, "command held back");
            st.tasks.defer(Deferred {
                cmd,
                class,
                luns: Arc::clone(ctx.luns),
                pool: Arc::clone(ctx.pool),
                completer: Arc::clone(ctx.completer),
            });
            return None;
        };
        begin(&mut st, &cmd);
        task
    };
    let (resp, ready) = perform(ctx, lu, cmd, absent, task)?;
    start_released(lu, ready);
    Some(resp)
}

/// Sends a command for a passthrough LU to its device as it is, on a backing-store
/// worker, and answers with what the device answered: status, sense and data unchanged,
/// residuals from what moved. Nothing of the SCSI core applies (task attributes, unit
/// attention, reservations, opcode checks): the device does all of that itself.
/// tgt: usr/target.c `target_cmd_perform_passthrough()`, usr/bs_sg.c `bs_sg_rw()`,
/// `bs_sg_cmd_complete()`
fn passthrough(ctx: &ExecContext<'_>, lu: &Arc<Lu>, cmd: Command) -> Option<Response> {
    let (device, descriptor) = {
        let c = lu.config();
        let device = c
            .media
            .as_ref()
            .and_then(|m| Some((m.file.clone()?, m.passthrough?)));
        (device, c.attrs.sense_format != 0)
    };
    let answer_now = |key, asc| {
        Some(finish(
            Outcome::check(Sense::new(key, asc)),
            cmd.expected_in,
            cmd.expected_out,
            descriptor,
        ))
    };
    let Some((file, pt)) = device else {
        return answer_now(SenseKey::NOT_READY, asc::MEDIUM_NOT_PRESENT);
    };
    let expected_in = usize::try_from(cmd.expected_in).unwrap_or(usize::MAX);
    if cmd.data_out.is_empty() && expected_in > sbc::MAX_READ_BYTES {
        // The buffer is allocated before the device sees the command, from a length the
        // initiator chose; no device takes this much in one command.
        return answer_now(SenseKey::ILLEGAL_REQUEST, asc::INVALID_FIELD_IN_CDB);
    }
    let completer = Arc::clone(ctx.completer);
    let lun = lu.lun;
    let tag = cmd.tag;
    let job = move || {
        let done = crate::bs::sg::run(&file, pt, &cmd.cdb, &cmd.data_out, expected_in);
        let resp = passthrough_response(&cmd, done, descriptor, lun);
        completer.complete(tag, resp);
    };
    match ctx.pool.submit(Box::new(job)) {
        Ok(()) => None,
        Err(e) => {
            tracing::error!(lun, error = %e, "cannot queue passthrough command");
            Some(internal_failure(descriptor))
        }
    }
}

/// The response to a passed-through command.
fn passthrough_response(
    cmd: &Command,
    done: crate::bs::sg::PtDone,
    descriptor: bool,
    lun: u64,
) -> Response {
    use crate::bs::sg::PtDone;
    match done {
        PtDone::Answered {
            status,
            sense,
            data_in,
            resid,
        } => {
            let resid = i64::from(resid);
            let (in_residual, out_residual) = if cmd.data_out.is_empty() {
                let moved = i64::try_from(data_in.len()).unwrap_or(i64::MAX);
                (i64::from(cmd.expected_in) - moved, 0)
            } else {
                let moved = i64::try_from(cmd.data_out.len()).unwrap_or(i64::MAX) - resid;
                (0, i64::from(cmd.expected_out) - moved)
            };
            Response {
                status: Status(status),
                sense,
                data_in,
                in_residual,
                out_residual,
            }
        }
        // COMPAT: C tgt answers GOOD when the host adapter lost the command without a
        // SCSI status, and MEDIUM ERROR / UNRECOVERED READ ERROR when the kernel refuses
        // it; both are the target's own failure here, and the initiator may retry.
        PtDone::Transport {
            host_status,
            driver_status,
        } => {
            let op = cmd.cdb.first().copied().unwrap_or(0);
            tracing::warn!(
                lun,
                host_status,
                driver_status,
                op,
                "passthrough command failed below the device"
            );
            internal_failure(descriptor)
        }
        PtDone::Refused(e) => {
            let op = cmd.cdb.first().copied().unwrap_or(0);
            tracing::warn!(lun, error = %e, op, "passthrough command refused by the kernel");
            internal_failure(descriptor)
        }
    }
}

/// CHECK CONDITION, HARDWARE ERROR / INTERNAL TARGET FAILURE.
fn internal_failure(descriptor: bool) -> Response {
    Response::status(
        Status::CHECK_CONDITION,
        Sense::new(SenseKey::HARDWARE_ERROR, asc::INTERNAL_TGT_FAILURE).render(descriptor),
    )
}

/// Runs a started command: the common checks and the handler. `Some` with the response
/// (and the commands its completion released, not yet run) when it finished here; `None`
/// when a worker has it. tgt: usr/scsi.c `scsi_cmd_perform()`
fn perform(
    ctx: &ExecContext<'_>,
    lu: &Arc<Lu>,
    cmd: Command,
    absent: bool,
    task: Option<TaskClass>,
) -> Option<(Response, Vec<Deferred>)> {
    let cdb = Cdb::new(&cmd.cdb);
    let (dev, descriptor) = {
        let c = lu.config();
        (c.device_type, c.attrs.sense_format != 0)
    };
    let nexus = cmd.nexus;
    let mut req = Req {
        ctx,
        lu,
        cdb,
        nexus,
        absent,
        descriptor,
        dev,
        task,
        cmd,
    };
    let reply = match common_checks(&mut req) {
        ControlFlow::Continue(handler) => match handler(&mut req) {
            ControlFlow::Continue(reply) => reply,
            ControlFlow::Break(outcome) => Reply::Done(outcome),
        },
        ControlFlow::Break(outcome) => Reply::Done(outcome),
    };
    match reply {
        Reply::Done(outcome) => {
            let done = req.completion();
            let resp = finish(outcome, done.expected_in, done.expected_out, descriptor);
            let ready = done.end(resp.status);
            Some((resp, ready))
        }
        Reply::Queued => None,
    }
}

/// Starts, on this thread, the commands the task set released. One that finishes at once
/// may release more: they run in this loop rather than by recursion, so a long line of
/// held-back commands does not grow the stack. tgt: usr/target.c `post_cmd_done()`
fn start_released(lu: &Arc<Lu>, mut ready: Vec<Deferred>) {
    while !ready.is_empty() {
        let mut next = Vec::new();
        for d in ready {
            let tag = d.cmd.tag;
            let ctx = ExecContext {
                luns: &d.luns,
                pool: &d.pool,
                completer: &d.completer,
            };
            if let Some((resp, more)) = perform(&ctx, lu, d.cmd, false, Some(d.class)) {
                d.completer.complete(tag, resp);
                next.extend(more);
            }
        }
        ready = next;
    }
}

/// What a command does to the LU's state when it starts: the nexus joins if it is new,
/// submission statistics. tgt: usr/scsi.c `scsi_cmd_perform()`
fn begin(st: &mut LuState, cmd: &Command) {
    join(st, cmd.nexus);
    record_submit(st, cmd.nexus, cmd);
}

/// Ends a started command of `class` in the task set and begins the commands that may
/// start now; the caller runs them once the lock is gone.
fn end_task(st: &mut LuState, class: TaskClass) -> Vec<Deferred> {
    let ready = st.tasks.complete(class);
    for d in &ready {
        begin(st, &d.cmd);
    }
    ready
}

/// Decodes the 8-byte LUN field: peripheral (method 0) → byte 1; flat (method 1) → 14 bits
/// of bytes 0–1; logical unit and extended methods are not addressable here.
/// SAM-5 §4.7.4; tgt: usr/scsi.c `__scsi_get_devid()`
pub fn decode_lun(raw: &[u8; 8]) -> Option<u64> {
    match raw[0] >> 6 {
        0 => Some(u64::from(raw[1])),
        1 => Some(u64::from(u16::from_be_bytes([raw[0] & 0x3f, raw[1]]))),
        _ => None,
    }
}

/// Encodes a LUN as REPORT LUNS lists it: peripheral below 256, flat otherwise (14 bits, as
/// tgt masks it). SAM-5 §4.7.4; tgt: usr/spc.c `spc_report_luns()`
pub fn encode_lun(lun: u64) -> [u8; 8] {
    let low = lun & 0x3fff;
    let [hi, lo] = u16::try_from(low).unwrap_or(0).to_be_bytes();
    if lun > 0xff {
        [0x40 | hi, lo, 0, 0, 0, 0, 0, 0]
    } else {
        [0, lo, 0, 0, 0, 0, 0, 0]
    }
}

impl Lu {
    /// A nexus that already exists sees this LU for the first time (the LU was created
    /// after the login): it starts without pending unit attention. tgt: usr/target.c
    /// `tgt_device_create()`
    pub fn nexus_joined(&self, nexus: NexusId) {
        join(&mut self.state(), nexus);
    }

    /// Like [`Lu::nexus_added`], and records the nexus's iSCSI initiator port name
    /// (`<InitiatorName>,i,0x<ISID as 12 hex digits>`), which persistent reservations use
    /// to identify registrants across reconnections and in TransportIDs. SPC-4 §7.6.4.6
    pub fn nexus_added_with_port(&self, nexus: NexusId, initiator_port: &str) {
        self.nexus_added(nexus);
        self.state()
            .ports
            .insert(nexus, initiator_port.to_ascii_lowercase());
    }

    /// LOGICAL UNIT RESET task management function: releases the SCSI-2 reservation,
    /// clears every nexus's PREVENT ALLOW MEDIUM REMOVAL, queues BUS DEVICE RESET
    /// FUNCTION OCCURRED for every nexus, and removes every held-back command
    /// ([`Lu::abort_all`]). Persistent reservations survive (SPC-4 §5.12.1).
    /// The transport aborts the LU's commands it still tracks; commands already started
    /// complete and are reported to the completer as usual.
    /// SAM-5 §7.7; tgt: usr/target.c `target_mgmt_request()` LOGICAL_UNIT_RESET
    // COMPAT: C tgt queues 29/00; SAM-5 specifies 29/03 for a logical unit reset.
    pub fn reset(self: &Arc<Self>) {
        {
            let mut st = self.state();
            st.reserved_by = None;
            st.prevent.clear();
            st.ua_all(Sense::new(SenseKey::UNIT_ATTENTION, asc::BUS_DEVICE_RESET));
        }
        self.abort_all();
    }

    /// ABORT TASK: removes the held-back command the transport submitted as `tag` with
    /// `completer`. `true` when it was found; it never starts, and its completer gets
    /// TASK ABORTED for it. A command that already started is not found here.
    /// SAM-5 §7.2; tgt: usr/target.c `abort_task_set()`, `abort_cmd()`
    pub fn abort_task(self: &Arc<Self>, completer: &CompleterRef, tag: u64) -> bool {
        self.abort(AbortScope::Task { completer, tag })
    }

    /// ABORT TASK SET (and the end of an I_T nexus): removes the held-back commands of
    /// `nexus`, as [`Lu::abort_task`] does one. `true` when there were any. SAM-5 §7.3
    pub fn abort_task_set(self: &Arc<Self>, nexus: NexusId) -> bool {
        self.abort(AbortScope::Nexus(nexus))
    }

    /// Removes every held-back command (LOGICAL UNIT RESET), as [`Lu::abort_task`] does
    /// one. `true` when there were any. SAM-5 §7.7
    pub fn abort_all(self: &Arc<Self>) -> bool {
        self.abort(AbortScope::All)
    }

    fn abort(self: &Arc<Self>, scope: AbortScope<'_>) -> bool {
        let (gone, ready) = {
            let mut st = self.state();
            let (gone, ready) = st.tasks.remove(scope);
            for d in &ready {
                begin(&mut st, &d.cmd);
            }
            (gone, ready)
        };
        let found = !gone.is_empty();
        for d in gone {
            tracing::debug!(lun = self.lun, tag = d.cmd.tag, "held-back command aborted");
            // COMPAT: tgt also counts an aborted queued command as done (and as an error)
            // in `--op stat`, although it never counted it as submitted; here it is in
            // neither count.
            d.completer.complete(
                d.cmd.tag,
                Response::status(Status::TASK_ABORTED, Vec::new()),
            );
        }
        start_released(self, ready);
        found
    }
}

/// Makes sure `nexus` has its per-LU entries (unit attention queue, statistics).
fn join(st: &mut LuState, nexus: NexusId) {
    st.ua.entry(nexus).or_default();
    st.stats.entry(nexus).or_default();
}

/// Steps 2–7 of the check order; yields the handler to run.
fn common_checks(req: &mut Req<'_>) -> Step<Handler> {
    let op = req.cdb.opcode();
    // SAM-5 §5.2: no NACA (ACA not supported) and no linked commands (obsolete).
    if req.cdb.control() & 0x05 != 0 {
        return illegal(asc::INVALID_FIELD_IN_CDB);
    }
    if req.absent {
        return match op {
            Opcode::INQUIRY => ControlFlow::Continue(spc::inquiry),
            // Captured from C tgt: GOOD with zeroed sense-sized parameter data.
            Opcode::REQUEST_SENSE => {
                let alloc = usize::from(req.cdb.byte(4)).min(18);
                ControlFlow::Break(Outcome::data(vec![0; alloc]))
            }
            _ => illegal(asc::LUN_NOT_SUPPORTED),
        };
    }
    let found = opcodes::lookup(req.dev, op, req.cdb.service_action());
    unit_attention(req, op)?;
    let row = match found {
        Lookup::Found(row) => row,
        Lookup::NoOpcode => return illegal(asc::INVALID_OP_CODE),
        Lookup::NoServiceAction => return illegal(asc::INVALID_FIELD_IN_CDB),
    };
    {
        let st = req.lu.state();
        if pr::conflicts(&st, req.nexus, row.pr)
            || (row.scsi2 && st.reserved_by.is_some_and(|h| h != req.nexus))
        {
            return ControlFlow::Break(Outcome::conflict());
        }
    }
    if row.media {
        medium_present(req)?;
    }
    ControlFlow::Continue(row.handler)
}

/// Reports (and consumes) the oldest pending unit attention. INQUIRY and REQUEST SENSE
/// never report one here; REPORT LUNS clears REPORTED LUNS DATA HAS CHANGED on every LU
/// of the nexus. SAM-5 §5.14; SPC-4 §6.33
fn unit_attention(req: &Req<'_>, op: Opcode) -> Step<()> {
    match op {
        Opcode::INQUIRY | Opcode::REQUEST_SENSE => ControlFlow::Continue(()),
        Opcode::REPORT_LUNS => {
            for lu in req.ctx.luns.values() {
                if let Some(q) = lu.state().ua.get_mut(&req.nexus) {
                    q.retain(|s| s.asc != asc::REPORTED_LUNS_DATA_HAS_CHANGED);
                }
            }
            ControlFlow::Continue(())
        }
        _ => {
            let pending = req
                .lu
                .state()
                .ua
                .get_mut(&req.nexus)
                .and_then(|q| q.pop_front());
            match pending {
                Some(sense) => ControlFlow::Break(Outcome::check(sense)),
                None => ControlFlow::Continue(()),
            }
        }
    }
}

/// NOT READY while the LU is offline: MEDIUM NOT PRESENT for removable media, LOGICAL
/// UNIT IS IN PROCESS OF BECOMING READY otherwise. tgt: usr/spc.c `spc_test_unit()`
// COMPAT: C tgt only refuses media commands of an offline LU when it is removable (and
// then still does the I/O on a non-removable one); every media command is NOT READY here.
pub(crate) fn medium_present(req: &Req<'_>) -> Step<()> {
    let c = req.lu.config();
    if c.attrs.online != 0 && (c.media.is_some() || c.bst.kind == crate::bs::BsKind::Null) {
        return ControlFlow::Continue(());
    }
    let asc = if c.attrs.removable != 0 || c.media.is_none() {
        asc::MEDIUM_NOT_PRESENT
    } else {
        asc::BECOMING_READY
    };
    fail(SenseKey::NOT_READY, asc)
}

/// How a handler finished: a SCSI outcome now, or the I/O is on a worker.
#[derive(Debug)]
pub(crate) enum Reply {
    /// Finished; the transport gets the response from `execute`.
    Done(Outcome),
    /// A worker owns the command and will call the completer.
    Queued,
}

impl From<Outcome> for Reply {
    fn from(o: Outcome) -> Self {
        Reply::Done(o)
    }
}

/// A handler step: `Continue` carries on, `Break` finishes the command with that SCSI
/// outcome (typically CHECK CONDITION or RESERVATION CONFLICT). A SCSI outcome is never an
/// `Err` (STYLE §3); `Break` lets validation use `?`.
pub(crate) type Step<T> = ControlFlow<Outcome, T>;

/// Status, sense and data of a finished command, before residuals are computed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Outcome {
    /// SAM status.
    pub status: Status,
    /// Sense for CHECK CONDITION (or GOOD with parameter data, never here).
    pub sense: Option<Sense>,
    /// Data-in, already cut at the CDB's allocation length.
    pub data: Vec<u8>,
    /// The data-in length the command transfers, when it differs from `data.len()`
    /// (READ with a shorter expected length: only those bytes were read).
    pub in_len: Option<u64>,
    /// The data-out length the command consumes, for the data-out residual.
    pub out_len: Option<u64>,
}

impl Outcome {
    /// GOOD without data.
    pub fn good() -> Self {
        Self {
            status: Status::GOOD,
            sense: None,
            data: Vec::new(),
            in_len: None,
            out_len: None,
        }
    }

    /// GOOD with data-in.
    pub fn data(data: Vec<u8>) -> Self {
        Self {
            data,
            ..Self::good()
        }
    }

    /// CHECK CONDITION with `sense`.
    pub fn check(sense: Sense) -> Self {
        Self {
            status: Status::CHECK_CONDITION,
            sense: Some(sense),
            ..Self::good()
        }
    }

    /// RESERVATION CONFLICT.
    pub fn conflict() -> Self {
        Self {
            status: Status::RESERVATION_CONFLICT,
            ..Self::good()
        }
    }

    /// Sets the data-in transfer length.
    pub fn with_in_len(mut self, n: u64) -> Self {
        self.in_len = Some(n);
        self
    }

    /// Sets the data-out length the command consumes.
    pub fn with_out_len(mut self, n: u64) -> Self {
        self.out_len = Some(n);
        self
    }
}

/// Finishes the command with CHECK CONDITION `key`/`asc`.
pub(crate) fn fail<T>(key: SenseKey, asc: Asc) -> Step<T> {
    ControlFlow::Break(Outcome::check(Sense::new(key, asc)))
}

/// Finishes the command with CHECK CONDITION, ILLEGAL REQUEST / `asc`.
pub(crate) fn illegal<T>(asc: Asc) -> Step<T> {
    fail(SenseKey::ILLEGAL_REQUEST, asc)
}

/// Continues only when `ok`; otherwise ILLEGAL REQUEST / `asc`.
pub(crate) fn ensure(ok: bool, asc: Asc) -> Step<()> {
    if ok {
        ControlFlow::Continue(())
    } else {
        illegal(asc)
    }
}

/// Finishes the command now with `o`.
pub(crate) fn done(o: Outcome) -> Step<Reply> {
    ControlFlow::Continue(Reply::Done(o))
}

/// Cuts parameter data at the allocation length. SPC-4 §4.2.5.6
pub(crate) fn cut(mut data: Vec<u8>, alloc: u32) -> Vec<u8> {
    data.truncate(usize::try_from(alloc).unwrap_or(usize::MAX));
    data
}

/// One command on its way through the handlers.
pub(crate) struct Req<'a> {
    /// The target's LUs, pool, completer.
    pub ctx: &'a ExecContext<'a>,
    /// The LU that answers (LUN 0 for an absent LUN).
    pub lu: &'a Arc<Lu>,
    /// The command; handlers may take `data_out`.
    pub cmd: Command,
    /// The padded CDB.
    pub cdb: Cdb,
    /// The I_T nexus.
    pub nexus: NexusId,
    /// The addressed LUN does not exist (INQUIRY answers with peripheral 0x7F).
    pub absent: bool,
    /// Sense in descriptor format.
    pub descriptor: bool,
    /// Device type of `lu`.
    pub dev: DeviceType,
    /// The command's place in the LU's task set (`None` for an absent LUN).
    pub task: Option<TaskClass>,
}

impl std::fmt::Debug for Req<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Req")
            .field("lun", &self.lu.lun)
            .field("cdb", &self.cdb)
            .field("nexus", &self.nexus)
            .finish_non_exhaustive()
    }
}

impl Req<'_> {
    /// What a worker needs to deliver this command's response later.
    pub(crate) fn completion(&self) -> Completion {
        Completion {
            lu: Arc::clone(self.lu),
            nexus: self.nexus,
            tag: self.cmd.tag,
            expected_in: self.cmd.expected_in,
            expected_out: self.cmd.expected_out,
            descriptor: self.descriptor,
            task: self.task,
            completer: Arc::clone(self.ctx.completer),
        }
    }

    /// Runs `job` on a backing-store worker; its outcome goes to the completer. If the pool
    /// is gone the command ends now with INTERNAL TARGET FAILURE, as tgt's failed
    /// `bs_cmd_submit` does.
    pub(crate) fn spawn(&self, job: impl FnOnce() -> Outcome + Send + 'static) -> Step<Reply> {
        let done = self.completion();
        match self.ctx.pool.submit(Box::new(move || done.deliver(job()))) {
            Ok(()) => ControlFlow::Continue(Reply::Queued),
            Err(e) => {
                tracing::error!(lun = self.lu.lun, error = %e, "cannot queue backing-store i/o");
                fail(SenseKey::HARDWARE_ERROR, asc::INTERNAL_TGT_FAILURE)
            }
        }
    }

    /// Hands a READ or WRITE of an aio LU to the transport's loop, which submits it with
    /// native AIO and, once reaped there, passes the result through `job` to the
    /// completer. A completer without a loop gives it back: it then runs with blocking
    /// calls on a backing-store worker, with the same outcome. tgt: usr/bs_aio.c
    /// `bs_aio_cmd_submit()`
    pub(crate) fn spawn_aio(
        &self,
        file: Arc<File>,
        access: Access,
        io: AioIo,
        job: impl FnOnce(Result<IoDone, IoError>) -> Outcome + Send + 'static,
    ) -> Step<Reply> {
        let done = self.completion();
        let aio = AioJob {
            file,
            access,
            io,
            done: Box::new(move |result| done.deliver(job(result))),
        };
        let Err(aio) = self.ctx.completer.submit_aio(aio) else {
            return ControlFlow::Continue(Reply::Queued);
        };
        match self.ctx.pool.submit(Box::new(move || aio.run_blocking())) {
            Ok(()) => ControlFlow::Continue(Reply::Queued),
            Err(e) => {
                tracing::error!(lun = self.lu.lun, error = %e, "cannot queue backing-store i/o");
                fail(SenseKey::HARDWARE_ERROR, asc::INTERNAL_TGT_FAILURE)
            }
        }
    }
}

impl Req<'_> {
    /// Hands a transfer of an rbd LU to librbd; once done, `job` turns the result into the
    /// outcome on a librbd thread and the response goes to the completer, which queues it
    /// to the submitting loop and wakes it. Commands the completion releases from the
    /// task set start on a backing-store worker, never on librbd's thread.
    /// tgt: usr/bs_rbd.c (which blocks one of 16 threads per LU instead)
    pub(crate) fn spawn_rbd(
        &self,
        rbd: &RbdMedia,
        io: RbdIo,
        job: impl FnOnce(Result<IoDone, IoError>) -> Outcome + Send + 'static,
    ) -> Step<Reply> {
        let done = self.completion();
        let pool = Arc::clone(self.ctx.pool);
        rbd.submit(
            io,
            Box::new(move |result| done.deliver_elsewhere(job(result), &pool)),
        );
        ControlFlow::Continue(Reply::Queued)
    }
}

/// Delivers an asynchronous command's outcome: residuals, statistics, completer, and
/// the commands of the task set that were waiting for it.
pub(crate) struct Completion {
    lu: Arc<Lu>,
    nexus: NexusId,
    tag: u64,
    expected_in: u32,
    expected_out: u32,
    descriptor: bool,
    task: Option<TaskClass>,
    completer: CompleterRef,
}

impl Completion {
    /// Builds the response, hands it to the completer, then starts what the task set
    /// released (on this thread: a backing-store worker).
    pub(crate) fn deliver(self, o: Outcome) {
        let resp = finish(o, self.expected_in, self.expected_out, self.descriptor);
        let ready = self.end(resp.status);
        self.completer.complete(self.tag, resp);
        start_released(&self.lu, ready);
    }

    /// Like [`deliver`](Self::deliver), from a thread that must not run commands (a
    /// library's callback thread): what the task set releases starts on a worker of `pool`.
    pub(crate) fn deliver_elsewhere(self, o: Outcome, pool: &WorkerPool) {
        let resp = finish(o, self.expected_in, self.expected_out, self.descriptor);
        let ready = self.end(resp.status);
        self.completer.complete(self.tag, resp);
        if ready.is_empty() {
            return;
        }
        let lu = Arc::clone(&self.lu);
        if let Err(e) = pool.submit(Box::new(move || start_released(&lu, ready))) {
            tracing::error!(lun = self.lu.lun, error = %e, "cannot start released commands");
        }
    }

    /// Completion statistics and the task set, in one hold of the LU's lock. Returns the
    /// released commands, begun but not run. tgt: usr/target.c `target_cmd_io_done()`,
    /// `__cmd_done()`
    fn end(&self, status: Status) -> Vec<Deferred> {
        let mut st = self.lu.state();
        record_done(
            &mut st,
            self.nexus,
            self.expected_in,
            self.expected_out,
            status,
        );
        match self.task {
            Some(class) => end_task(&mut st, class),
            None => Vec::new(),
        }
    }
}

/// Turns an outcome into the transport's response: sense in the LU's format, data-in cut at
/// the expected length, residuals (positive underflow, negative overflow).
/// RFC 7143 §11.4.5; tgt: `scsi_set_in_resid_by_actual()`
pub(crate) fn finish(
    o: Outcome,
    expected_in: u32,
    expected_out: u32,
    descriptor: bool,
) -> Response {
    let wanted_in = o
        .in_len
        .unwrap_or_else(|| u64::try_from(o.data.len()).unwrap_or(u64::MAX));
    let mut data = o.data;
    data.truncate(usize::try_from(expected_in).unwrap_or(usize::MAX));
    let residual = |expected: u32, wanted: u64| {
        i64::from(expected) - i64::try_from(wanted).unwrap_or(i64::MAX)
    };
    Response {
        status: o.status,
        sense: o.sense.map(|s| s.render(descriptor)).unwrap_or_default(),
        data_in: data,
        in_residual: residual(expected_in, wanted_in),
        out_residual: o.out_len.map_or(0, |n| residual(expected_out, n)),
    }
}

fn record_submit(st: &mut LuState, nexus: NexusId, cmd: &Command) {
    let s = st.stats.entry(nexus).or_default();
    if cmd.expected_out > 0 {
        s.wr_subm_bytes = s.wr_subm_bytes.wrapping_add(u64::from(cmd.expected_out));
        s.wr_subm_cmds = s.wr_subm_cmds.wrapping_add(1);
    }
    if cmd.expected_in > 0 {
        s.rd_subm_bytes = s.rd_subm_bytes.wrapping_add(u64::from(cmd.expected_in));
        s.rd_subm_cmds = s.rd_subm_cmds.wrapping_add(1);
    }
}

/// Completion statistics. tgt: usr/target.c `target_cmd_io_done()`
fn record_done(
    st: &mut LuState,
    nexus: NexusId,
    expected_in: u32,
    expected_out: u32,
    status: Status,
) {
    // The nexus may have ended while a worker had the command.
    let Some(s) = st.stats.get_mut(&nexus) else {
        return;
    };
    if expected_out > 0 {
        s.wr_done_bytes = s.wr_done_bytes.wrapping_add(u64::from(expected_out));
        s.wr_done_cmds = s.wr_done_cmds.wrapping_add(1);
    }
    if expected_in > 0 {
        s.rd_done_bytes = s.rd_done_bytes.wrapping_add(u64::from(expected_in));
        s.rd_done_cmds = s.rd_done_cmds.wrapping_add(1);
    }
    if status != Status::GOOD {
        s.errors = s.errors.wrapping_add(1);
    }
}

#[cfg(test)]
pub(crate) mod testutil {
    //! LUs on pattern-filled files in /dev/shm, a worker pool, and a completer that
    //! collects responses over a channel.

    use std::collections::BTreeMap;
    use std::fs::File;
    use std::io::Write as _;
    use std::path::PathBuf;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::mpsc::{self, Receiver, Sender};
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use crate::bs::pool::WorkerPool;
    use crate::bs::{self, OpenFlags};
    use crate::scsi::cmd::{Command, Completer, CompleterRef, NexusId, Response, TaskAttr};
    use crate::scsi::lu::{null_template, LogicalUnit, Lu};
    use crate::scsi::DeviceType;

    use super::{execute, ExecContext};

    /// Collects asynchronous completions.
    #[derive(Debug)]
    pub struct ChannelCompleter(pub Mutex<Sender<(u64, Response)>>);

    impl Completer for ChannelCompleter {
        fn complete(&self, tag: u64, response: Response) {
            let tx = self.0.lock().unwrap();
            let _ = tx.send((tag, response));
        }
    }

    /// The byte at `offset` of a pattern-filled LU file: every 512-byte sector differs.
    pub fn pattern(offset: u64) -> u8 {
        let sector = offset / 512;
        let within = offset % 512;
        u8::try_from((sector.wrapping_mul(7).wrapping_add(within / 2 + 1)) % 251).unwrap()
    }

    /// A temporary backing file in /dev/shm, removed on drop.
    #[derive(Debug)]
    pub struct TempFile(pub PathBuf);

    impl TempFile {
        /// `size` bytes of [`pattern`].
        pub fn patterned(size: u64) -> Self {
            static N: AtomicU64 = AtomicU64::new(0);
            let dir = if std::path::Path::new("/dev/shm").is_dir() {
                PathBuf::from("/dev/shm")
            } else {
                std::env::temp_dir()
            };
            let p = dir.join(format!(
                "tgt-scsi-test-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ));
            let mut f = File::create(&p).unwrap();
            let data: Vec<u8> = (0..size).map(pattern).collect();
            f.write_all(&data).unwrap();
            Self(p)
        }

        /// The path as a string.
        pub fn path(&self) -> &str {
            self.0.to_str().unwrap()
        }

        /// Current file contents.
        pub fn contents(&self) -> Vec<u8> {
            std::fs::read(&self.0).unwrap()
        }
    }

    impl Drop for TempFile {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    /// A target with LUN 0 and one disk LU, a pool and a collecting completer.
    #[derive(Debug)]
    pub struct Harness {
        pub luns: Arc<BTreeMap<u64, Arc<Lu>>>,
        pub pool: Arc<WorkerPool>,
        pub completer: CompleterRef,
        pub rx: Receiver<(u64, Response)>,
        pub file: Option<TempFile>,
        next_tag: u64,
    }

    /// Initiator nexus used by default.
    pub const I1: NexusId = NexusId(1);
    /// A second initiator.
    pub const I2: NexusId = NexusId(2);

    impl Harness {
        /// LUN 1: an rdwr disk of `size` pattern bytes at `tid` 1 (unit attentions cleared).
        pub fn disk(size: u64) -> Self {
            Self::disk_with(size, |_| {})
        }

        /// LUN 1 rdwr disk, configured by `f` before it is shared.
        pub fn disk_with(size: u64, f: impl FnOnce(&mut LogicalUnit)) -> Self {
            let file = TempFile::patterned(size);
            let mut lu = LogicalUnit::new(
                1,
                1,
                DeviceType::DISK,
                bs::lookup("rdwr").unwrap(),
                OpenFlags::NONE,
                None,
            );
            lu.set_path(file.path()).unwrap();
            f(&mut lu);
            let mut h = Self::with_lu(lu);
            h.file = Some(file);
            h
        }

        /// LUN 1: a null-store disk.
        pub fn null_disk() -> Self {
            let mut lu = LogicalUnit::new(
                1,
                1,
                DeviceType::DISK,
                null_template(),
                OpenFlags::NONE,
                None,
            );
            lu.set_path("/nonexistent").unwrap();
            Self::with_lu(lu)
        }

        /// A target whose LUN 1 is `lu`; nexuses I1 and I2 are logged in with their
        /// POWER ON unit attentions already consumed.
        pub fn with_lu(lu: LogicalUnit) -> Self {
            let mut luns = BTreeMap::new();
            let lu0 = LogicalUnit::new(
                1,
                0,
                DeviceType::RAID,
                null_template(),
                OpenFlags::NONE,
                None,
            );
            luns.insert(0, Arc::new(Lu::new(lu0)));
            luns.insert(lu.lun, Arc::new(Lu::new(lu)));
            let (tx, rx) = mpsc::channel();
            let completer: CompleterRef = Arc::new(ChannelCompleter(Mutex::new(tx)));
            let h = Self {
                luns: Arc::new(luns),
                pool: Arc::new(WorkerPool::new(4).unwrap()),
                completer,
                rx,
                file: None,
                next_tag: 1,
            };
            for lu in h.luns.values() {
                lu.nexus_added(I1);
                lu.nexus_added(I2);
                lu.state().ua.values_mut().for_each(|q| q.clear());
            }
            h
        }

        /// The disk LU.
        pub fn lu(&self) -> &Arc<Lu> {
            &self.luns[&1]
        }

        /// Runs a command on LUN `lun` from `nexus` and waits for its response.
        pub fn run_on(
            &mut self,
            nexus: NexusId,
            lun: u64,
            cdb: &[u8],
            data_out: &[u8],
            expected_in: u32,
        ) -> Response {
            let tag = self.next_tag;
            self.next_tag += 1;
            let cmd = Command {
                cdb: cdb.to_vec(),
                lun: super::encode_lun(lun),
                attr: TaskAttr::Simple,
                nexus,
                tag,
                expected_in,
                expected_out: u32::try_from(data_out.len()).unwrap(),
                data_out: data_out.to_vec(),
            };
            let ctx = ExecContext {
                luns: &self.luns,
                pool: &self.pool,
                completer: &self.completer,
            };
            match execute(&ctx, cmd) {
                Some(r) => r,
                None => {
                    let (t, r) = self
                        .rx
                        .recv_timeout(Duration::from_secs(20))
                        .expect("completion");
                    assert_eq!(t, tag);
                    r
                }
            }
        }

        /// Runs on LUN 1 from I1.
        pub fn run(&mut self, cdb: &[u8], data_out: &[u8], expected_in: u32) -> Response {
            self.run_on(I1, 1, cdb, data_out, expected_in)
        }
    }

    /// Fixed-format sense bytes for key/asc/ascq, as tgt builds them (reference §3.2).
    pub fn fixed(key: u8, asc: u8, ascq: u8) -> Vec<u8> {
        vec![
            0x70, 0, key, 0, 0, 0, 0, 0x0a, 0, 0, 0, 0, asc, ascq, 0, 0, 0, 0,
        ]
    }

    /// Asserts CHECK CONDITION with fixed sense key/asc/ascq.
    #[track_caller]
    pub fn assert_check(r: &Response, key: u8, asc: u8, ascq: u8) {
        assert_eq!(r.status.0, 0x02, "status, sense {:02x?}", r.sense);
        assert_eq!(r.sense, fixed(key, asc, ascq));
    }

    /// Asserts GOOD.
    #[track_caller]
    pub fn assert_good(r: &Response) {
        assert_eq!(r.status.0, 0x00, "sense {:02x?}", r.sense);
        assert!(r.sense.is_empty());
    }
}

#[cfg(test)]
mod tests {
    use super::testutil::*;
    use super::*;
    use crate::scsi::cmd::TaskAttr;

    #[test]
    fn lun_addressing_methods() {
        assert_eq!(decode_lun(&[0, 5, 0, 0, 0, 0, 0, 0]), Some(5));
        assert_eq!(decode_lun(&[0x41, 0x02, 0, 0, 0, 0, 0, 0]), Some(0x102));
        assert_eq!(decode_lun(&[0x80, 1, 0, 0, 0, 0, 0, 0]), None);
        assert_eq!(decode_lun(&[0xc0, 1, 0, 0, 0, 0, 0, 0]), None);
        assert_eq!(encode_lun(1), [0, 1, 0, 0, 0, 0, 0, 0]);
        assert_eq!(encode_lun(0x123), [0x41, 0x23, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn new_nexus_sees_power_on_reset_once() {
        let mut h = Harness::disk(1 << 20);
        h.lu().nexus_added(NexusId(9));
        let r = h.run_on(NexusId(9), 1, &[0, 0, 0, 0, 0, 0], &[], 0);
        assert_check(&r, 0x06, 0x29, 0x00);
        let r = h.run_on(NexusId(9), 1, &[0, 0, 0, 0, 0, 0], &[], 0);
        assert_good(&r);
    }

    #[test]
    fn control_byte_naca_or_link_is_invalid_field() {
        let mut h = Harness::disk(1 << 20);
        assert_check(&h.run(&[0, 0, 0, 0, 0, 0x04], &[], 0), 0x05, 0x24, 0x00);
        assert_check(&h.run(&[0, 0, 0, 0, 0, 0x01], &[], 0), 0x05, 0x24, 0x00);
        let mut cdb = [0u8; 10];
        cdb[0] = 0x28;
        cdb[9] = 0x04;
        assert_check(&h.run(&cdb, &[], 512), 0x05, 0x24, 0x00);
    }

    #[test]
    fn absent_lun_answers_like_tgt() {
        let mut h = Harness::disk(1 << 20);
        let r = h.run_on(I1, 7, &[0, 0, 0, 0, 0, 0], &[], 0);
        assert_check(&r, 0x05, 0x25, 0x00);
        let r = h.run_on(I1, 7, &[0x03, 0, 0, 0, 252, 0], &[], 252);
        assert_good(&r);
        assert_eq!(r.data_in, [0u8; 18]);
        let r = h.run_on(I1, 7, &[0x12, 0, 0, 0, 96, 0], &[], 96);
        assert_good(&r);
        assert_eq!(r.data_in[0], 0x7f);
        assert_eq!(&r.data_in[16..26], b"Controller");
        // An undecodable LUN (logical unit addressing method) is absent too.
        let cmd = Command {
            cdb: vec![0, 0, 0, 0, 0, 0],
            lun: [0x80, 1, 0, 0, 0, 0, 0, 0],
            attr: TaskAttr::Simple,
            nexus: I1,
            tag: 99,
            expected_in: 0,
            expected_out: 0,
            data_out: Vec::new(),
        };
        let ctx = ExecContext {
            luns: &h.luns,
            pool: &h.pool,
            completer: &h.completer,
        };
        assert_check(&execute(&ctx, cmd).unwrap(), 0x05, 0x25, 0x00);
    }

    #[test]
    fn unknown_opcode_is_invalid_command_operation_code() {
        let mut h = Harness::disk(1 << 20);
        // LOG SENSE: captured 05/20/00.
        assert_check(
            &h.run(&[0x4d, 0, 0, 0, 0, 0, 0, 0, 0, 0], &[], 0),
            0x05,
            0x20,
            0x00,
        );
        // READ CAPACITY on the controller: captured 05/20/00.
        let r = h.run_on(I1, 0, &[0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0], &[], 8);
        assert_check(&r, 0x05, 0x20, 0x00);
        // Unknown service action of SERVICE ACTION IN(16).
        let mut cdb = [0u8; 16];
        cdb[0] = 0x9e;
        cdb[1] = 0x11;
        assert_check(&h.run(&cdb, &[], 0), 0x05, 0x24, 0x00);
    }

    #[test]
    fn unit_attention_comes_before_unknown_opcode_and_skips_inquiry() {
        let mut h = Harness::disk(1 << 20);
        h.lu().nexus_added(I1);
        let r = h.run(&[0x12, 0, 0, 0, 36, 0], &[], 36);
        assert_good(&r);
        let r = h.run(&[0x4d, 0, 0, 0, 0, 0, 0, 0, 0, 0], &[], 0);
        assert_check(&r, 0x06, 0x29, 0x00);
        assert_check(
            &h.run(&[0x4d, 0, 0, 0, 0, 0, 0, 0, 0, 0], &[], 0),
            0x05,
            0x20,
            0x00,
        );
    }

    #[test]
    fn report_luns_clears_reported_luns_changed_everywhere() {
        let mut h = Harness::disk(1 << 20);
        for lu in h.luns.values() {
            lu.state().ua_all(Sense::new(
                SenseKey::UNIT_ATTENTION,
                asc::REPORTED_LUNS_DATA_HAS_CHANGED,
            ));
        }
        let r = h.run_on(I1, 0, &[0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 64, 0, 0], &[], 64);
        assert_good(&r);
        assert_good(&h.run(&[0, 0, 0, 0, 0, 0], &[], 0));
        // The other nexus still has it.
        assert_check(
            &h.run_on(I2, 1, &[0, 0, 0, 0, 0, 0], &[], 0),
            0x06,
            0x3f,
            0x0e,
        );
    }

    #[test]
    fn descriptor_sense_format_follows_the_lu() {
        let mut h = Harness::disk_with(1 << 20, |lu| lu.attrs.sense_format = 1);
        let r = h.run(&[0x4d, 0, 0, 0, 0, 0, 0, 0, 0, 0], &[], 0);
        assert_eq!(r.sense, [0x72, 0x05, 0x20, 0x00, 0, 0, 0, 0]);
    }

    #[test]
    fn statistics_count_bytes_commands_and_errors() {
        let mut h = Harness::disk(1 << 20);
        assert_good(&h.run(&[0x28, 0, 0, 0, 0, 0, 0, 0, 2, 0], &[], 1024));
        assert_good(&h.run(&[0x2a, 0, 0, 0, 0, 0, 0, 0, 1, 0], &[7; 512], 0));
        assert_check(
            &h.run(&[0x4d, 0, 0, 0, 0, 0, 0, 0, 0, 0], &[], 0),
            0x05,
            0x20,
            0x00,
        );
        let st = h.lu().state().stats[&I1];
        assert_eq!((st.rd_subm_bytes, st.rd_subm_cmds), (1024, 1));
        assert_eq!((st.rd_done_bytes, st.rd_done_cmds), (1024, 1));
        assert_eq!((st.wr_subm_bytes, st.wr_done_cmds), (512, 1));
        assert_eq!(st.errors, 1);
    }

    #[test]
    fn lu_reset_releases_reserve_and_prevent_and_queues_ua() {
        let mut h = Harness::disk_with(1 << 20, |lu| lu.attrs.removable = 1);
        assert_good(&h.run(&[0x16, 0, 0, 0, 0, 0], &[], 0));
        assert_good(&h.run(&[0x1e, 0, 0, 0, 1, 0], &[], 0));
        h.lu().reset();
        assert!(h.lu().state().reserved_by.is_none());
        assert!(!h.lu().prevents_removal());
        assert_check(&h.run(&[0, 0, 0, 0, 0, 0], &[], 0), 0x06, 0x29, 0x03);
        assert_check(
            &h.run_on(I2, 1, &[0, 0, 0, 0, 0, 0], &[], 0),
            0x06,
            0x29,
            0x03,
        );
    }

    #[test]
    fn lu_created_after_login_has_no_unit_attention() {
        let mut h = Harness::disk(1 << 20);
        h.lu().nexus_joined(NexusId(5));
        assert_good(&h.run_on(NexusId(5), 1, &[0, 0, 0, 0, 0, 0], &[], 0));
    }
}
