//! One SCSI command as the transport hands it to the SCSI layer, and its outcome.
//!
//! Transport-free: the iSCSI layer builds a [`Command`] from a SCSI Command PDU (after
//! collecting all Data-Out), and turns a [`Response`] into Data-In and SCSI Response PDUs.
//! SAM-5 §5 (command model), SPC-4 §4.5 (sense data).

use std::sync::Arc;

use crate::bs::aio::AioJob;

/// An I_T nexus id: the iSCSI session's TSIH-based id as tgt numbers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NexusId(pub u64);

/// SAM status codes. SAM-5 §5.3. Open: any byte survives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status(pub u8);

impl Status {
    /// GOOD
    pub const GOOD: Self = Self(0x00);
    /// CHECK CONDITION
    pub const CHECK_CONDITION: Self = Self(0x02);
    /// CONDITION MET
    pub const CONDITION_MET: Self = Self(0x04);
    /// BUSY
    pub const BUSY: Self = Self(0x08);
    /// RESERVATION CONFLICT
    pub const RESERVATION_CONFLICT: Self = Self(0x18);
    /// TASK SET FULL
    pub const TASK_SET_FULL: Self = Self(0x28);
    /// ACA ACTIVE
    pub const ACA_ACTIVE: Self = Self(0x30);
    /// TASK ABORTED
    pub const TASK_ABORTED: Self = Self(0x40);
}

/// Task attribute from the transport. SAM-5 §8.5; iSCSI ATTR field (RFC 7143 §11.3.1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskAttr {
    /// Untagged (iSCSI 0).
    Untagged,
    /// SIMPLE (1).
    Simple,
    /// ORDERED (2).
    Ordered,
    /// HEAD OF QUEUE (3).
    HeadOfQueue,
    /// ACA (4).
    Aca,
}

impl TaskAttr {
    /// From the 3-bit iSCSI ATTR field; reserved values are treated as ORDERED, as tgt does.
    pub fn from_iscsi(attr: u8) -> Self {
        match attr & 0x07 {
            0 => TaskAttr::Untagged,
            1 => TaskAttr::Simple,
            3 => TaskAttr::HeadOfQueue,
            4 => TaskAttr::Aca,
            _ => TaskAttr::Ordered,
        }
    }
}

/// A command ready to execute.
#[derive(Debug, Clone)]
pub struct Command {
    /// The CDB (6 to 16 bytes, or longer with an extended CDB AHS).
    pub cdb: Vec<u8>,
    /// The raw 8-byte LUN field.
    pub lun: [u8; 8],
    /// Task attribute.
    pub attr: TaskAttr,
    /// The I_T nexus it arrived on.
    pub nexus: NexusId,
    /// Initiator task tag (for task management lookups).
    pub tag: u64,
    /// Expected data-in length (read direction), from the transport.
    pub expected_in: u32,
    /// Expected data-out length (write direction), from the transport.
    pub expected_out: u32,
    /// All data-out bytes received (at most `expected_out`).
    pub data_out: Vec<u8>,
}

/// What the initiator gets back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// SAM status.
    pub status: Status,
    /// Sense data (empty unless CHECK CONDITION, or tgt's UNMAP quirk).
    pub sense: Vec<u8>,
    /// Data-in bytes (at most `expected_in`).
    pub data_in: Vec<u8>,
    /// Data-in residual: positive underflow, negative overflow, relative to `expected_in`.
    pub in_residual: i64,
    /// Data-out residual, relative to `expected_out`.
    pub out_residual: i64,
}

impl Response {
    /// GOOD with data, residuals computed against the expected lengths.
    pub fn good(cmd: &Command, mut data_in: Vec<u8>) -> Self {
        let full = i64::try_from(data_in.len()).unwrap_or(i64::MAX);
        let expected = i64::from(cmd.expected_in);
        let cap = usize::try_from(cmd.expected_in).unwrap_or(usize::MAX);
        data_in.truncate(cap);
        Self {
            status: Status::GOOD,
            sense: Vec::new(),
            data_in,
            in_residual: expected - full,
            out_residual: 0,
        }
    }

    /// A status without data (CHECK CONDITION carries `sense`).
    pub fn status(status: Status, sense: Vec<u8>) -> Self {
        Self {
            status,
            sense,
            data_in: Vec::new(),
            in_residual: 0,
            out_residual: 0,
        }
    }
}

/// Where asynchronous completions go: the transport's loop implements it (queue + wake).
pub trait Completer: Send + Sync + std::fmt::Debug {
    /// Delivers the outcome of the command with transport tag `tag`.
    fn complete(&self, tag: u64, response: Response);

    /// Takes a READ or WRITE of an aio LU to submit with native AIO on the transport's
    /// loop, which reaps it there and runs its `done` (which calls [`Completer::complete`]).
    /// May be called from any thread. The job comes back when there is no such loop; the
    /// SCSI layer then runs it on a backing-store worker.
    fn submit_aio(&self, job: AioJob) -> Result<(), AioJob> {
        Err(job)
    }
}

/// Shared handle to a completer.
pub type CompleterRef = Arc<dyn Completer>;
