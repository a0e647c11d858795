//! The registry of iSCSI sessions (I_T nexuses) and their connections, shared by the
//! I/O loops (which create and end them) and the management plane (which shows, counts and
//! closes them). Held briefly; it never holds protocol state, only identity.
//!
//! tgt: usr/iscsi/session.c (`session_create()`: TSIH allocation), usr/target.c
//! (`it_nexus_create()`: the info text shown by `target show`), usr/iscsi/target.c
//! (`iscsi_target_show_connections()`, `iscsi_stat()`).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;

use crate::scsi::cmd::NexusId;

/// Where a connection lives: its I/O loop and its slot there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConnHandle {
    /// Index of the I/O loop.
    pub io_loop: usize,
    /// Connection slot in that loop.
    pub slot: usize,
    /// Generation, so a reused slot is never mistaken for the old connection.
    pub generation: u64,
}

/// Per-connection counters for `conn stat`, updated by the owning I/O loop without locks
/// and read by the management plane. tgt counts every byte read or written on the socket
/// (headers included), SCSI Command and Data-Out PDUs received; its Data-In and Response
/// counters stay 0 on TCP. tgt: usr/iscsi/conn.c `iscsi_update_conn_stats_rx/tx()`
#[derive(Debug, Default)]
pub struct ConnStats {
    /// Bytes received.
    pub rxdata_octets: AtomicU64,
    /// Bytes sent.
    pub txdata_octets: AtomicU64,
    /// SCSI Command PDUs received.
    pub scsicmd_pdus: AtomicU32,
    /// Data-Out PDUs received.
    pub dataout_pdus: AtomicU32,
}

impl ConnStats {
    /// Adds received bytes.
    pub fn rx(&self, n: usize) {
        self.rxdata_octets
            .fetch_add(u64::try_from(n).unwrap_or(0), Ordering::Relaxed);
    }

    /// Adds sent bytes.
    pub fn tx(&self, n: usize) {
        self.txdata_octets
            .fetch_add(u64::try_from(n).unwrap_or(0), Ordering::Relaxed);
    }

    /// Counts a received PDU by opcode.
    pub fn pdu(&self, opcode: u8) {
        match opcode {
            0x01 => self.scsicmd_pdus.fetch_add(1, Ordering::Relaxed),
            0x05 => self.dataout_pdus.fetch_add(1, Ordering::Relaxed),
            _ => 0,
        };
    }
}

/// One connection of a session.
#[derive(Debug, Clone)]
pub struct ConnRecord {
    /// Connection id from the initiator.
    pub cid: u16,
    /// Peer address.
    pub peer: SocketAddr,
    /// Where it runs.
    pub handle: ConnHandle,
    /// Counters, shared with the owning loop.
    pub stats: Arc<ConnStats>,
}

/// One session.
#[derive(Debug, Clone)]
pub struct SessionRecord {
    /// Target session identifying handle; also the I_T nexus id tgtadm shows.
    pub tsih: u16,
    /// Target id.
    pub tid: i32,
    /// InitiatorName.
    pub initiator: String,
    /// InitiatorAlias.
    pub alias: Option<String>,
    /// ISID.
    pub isid: [u8; 6],
    /// Connections, oldest first.
    pub conns: Vec<ConnRecord>,
    /// The `target show` lines fixed at creation (first connection's cid and address).
    pub info: String,
    /// LUNs this nexus knows, in the order they were attached (tgt lists them newest
    /// first in `session stat`).
    pub luns: Vec<u64>,
}

impl SessionRecord {
    /// The I_T nexus id of this session.
    pub fn nexus(&self) -> NexusId {
        NexusId(u64::from(self.tsih))
    }
}

/// All sessions of the daemon, in creation order.
#[derive(Debug, Default)]
pub struct Registry {
    sessions: BTreeMap<u64, SessionRecord>,
    order: u64,
    last_tsih: u16,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sessions in creation order.
    pub fn sessions(&self) -> impl DoubleEndedIterator<Item = &SessionRecord> {
        self.sessions.values()
    }

    /// Sessions of one target in creation order.
    pub fn of_target(&self, tid: i32) -> impl DoubleEndedIterator<Item = &SessionRecord> {
        self.sessions.values().filter(move |s| s.tid == tid)
    }

    /// The session with this TSIH.
    pub fn by_tsih(&self, tsih: u16) -> Option<&SessionRecord> {
        self.sessions.values().find(|s| s.tsih == tsih)
    }

    fn by_tsih_mut(&mut self, tsih: u16) -> Option<&mut SessionRecord> {
        self.sessions.values_mut().find(|s| s.tsih == tsih)
    }

    /// The session of (target, initiator name, ISID), for reinstatement.
    pub fn find(&self, tid: i32, initiator: &str, isid: [u8; 6]) -> Option<&SessionRecord> {
        self.sessions
            .values()
            .find(|s| s.tid == tid && s.initiator == initiator && s.isid == isid)
    }

    /// Creates a session with its first connection; picks the first free TSIH after the
    /// last one used, skipping 0. tgt: `session_create()`
    pub fn create(
        &mut self,
        tid: i32,
        initiator: &str,
        alias: Option<&str>,
        isid: [u8; 6],
        conn: ConnRecord,
    ) -> Option<u16> {
        let mut tsih = self.last_tsih;
        let found = loop {
            tsih = tsih.wrapping_add(1);
            if tsih == self.last_tsih {
                break None;
            }
            if tsih != 0 && self.by_tsih(tsih).is_none() {
                break Some(tsih);
            }
        }?;
        self.last_tsih = found;
        let info = format!(
            "            Initiator: {} alias: {}\n            Connection: {}\n                IP Address: {}\n",
            initiator,
            alias.unwrap_or("none"),
            conn.cid,
            conn.peer.ip()
        );
        self.order += 1;
        self.sessions.insert(
            self.order,
            SessionRecord {
                tsih: found,
                tid,
                initiator: initiator.to_owned(),
                alias: alias.map(str::to_owned),
                isid,
                conns: vec![conn],
                info,
                luns: Vec::new(),
            },
        );
        Some(found)
    }

    /// Adds a connection to an existing session.
    pub fn join(&mut self, tsih: u16, conn: ConnRecord) -> bool {
        match self.by_tsih_mut(tsih) {
            Some(s) => {
                s.conns.retain(|c| c.cid != conn.cid);
                s.conns.push(conn);
                true
            }
            None => false,
        }
    }

    /// A connection ended. Returns the session when it was its last connection (the
    /// session is then gone, and so is its I_T nexus).
    pub fn remove_conn(&mut self, tsih: u16, handle: ConnHandle) -> Option<SessionRecord> {
        let key = self
            .sessions
            .iter()
            .find(|(_, s)| s.tsih == tsih)
            .map(|(k, _)| *k)?;
        let s = self.sessions.get_mut(&key)?;
        s.conns.retain(|c| c.handle != handle);
        if s.conns.is_empty() {
            return self.sessions.remove(&key);
        }
        None
    }

    /// Records that every session of `tid` now sees `lun`.
    pub fn lun_added(&mut self, tid: i32, lun: u64) {
        for s in self.sessions.values_mut().filter(|s| s.tid == tid) {
            s.luns.push(lun);
        }
    }

    /// Records that `lun` of `tid` is gone.
    pub fn lun_removed(&mut self, tid: i32, lun: u64) {
        for s in self.sessions.values_mut().filter(|s| s.tid == tid) {
            s.luns.retain(|l| *l != lun);
        }
    }

    /// Sets the LUNs a new session sees.
    pub fn set_luns(&mut self, tsih: u16, luns: Vec<u64>) {
        if let Some(s) = self.by_tsih_mut(tsih) {
            s.luns = luns;
        }
    }

    /// Whether the target has any session.
    pub fn target_active(&self, tid: i32) -> bool {
        self.sessions.values().any(|s| s.tid == tid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn(cid: u16, slot: usize) -> ConnRecord {
        ConnRecord {
            cid,
            peer: "127.0.0.1:5000".parse().unwrap(),
            handle: ConnHandle {
                io_loop: 0,
                slot,
                generation: 1,
            },
            stats: Arc::default(),
        }
    }

    #[test]
    fn tsih_allocation_skips_used_and_zero() {
        let mut r = Registry::new();
        assert_eq!(r.create(1, "i", None, [1; 6], conn(0, 0)), Some(1));
        assert_eq!(r.create(1, "j", None, [2; 6], conn(0, 1)), Some(2));
        assert!(r.remove_conn(1, conn(0, 0).handle).is_some());
        assert_eq!(r.create(1, "k", None, [3; 6], conn(0, 2)), Some(3));
        r.last_tsih = u16::MAX;
        assert_eq!(r.create(1, "l", None, [4; 6], conn(0, 3)), Some(1));
    }

    #[test]
    fn info_text_matches_tgt() {
        let mut r = Registry::new();
        r.create(1, "iqn.x", None, [1; 6], conn(0, 0));
        assert_eq!(
            r.by_tsih(1).unwrap().info,
            "            Initiator: iqn.x alias: none\n            Connection: 0\n                IP Address: 127.0.0.1\n"
        );
    }

    #[test]
    fn session_ends_with_its_last_connection() {
        let mut r = Registry::new();
        r.create(1, "i", None, [1; 6], conn(0, 0));
        assert!(r.join(1, conn(1, 1)));
        assert!(r.remove_conn(1, conn(0, 0).handle).is_none());
        assert!(r.target_active(1));
        assert!(r.remove_conn(1, conn(1, 1).handle).is_some());
        assert!(!r.target_active(1));
    }
}
