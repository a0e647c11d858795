//! The iSCSI low-level driver: its management state now, the protocol with the data path.
//!
//! Owns what tgt's `usr/iscsi/` keeps per target (session parameters, NOP settings,
//! redirection), the portal list and the iSNS settings. It must not hold sockets outside
//! `tcp.rs`, and never names mio. Sources: tgt `usr/iscsi/target.c`, `usr/iscsi/iscsid.c`,
//! `usr/iscsi/iscsi_tcp.c`, `usr/iscsi/isns.c`.

pub mod acl;
pub mod chap;
pub mod conn;
pub mod login;
pub mod param;
pub mod pdu;
pub mod portal;
pub mod session;
pub mod tcp;
pub mod text;
pub mod view;

use std::collections::BTreeMap;

use crate::mgmt::params::{atoi, c_buf, items, match_int, match_str};
use crate::mgmt::wire::ErrCode;
use crate::tgt::{State, TargetId};

/// Login redirection settings of a target. tgt: `struct redirect_info`
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Redirect {
    /// Address to redirect to (at most 1025 characters).
    pub addr: String,
    /// Port (at most 32 characters).
    pub port: String,
    /// 0x01 temporary, 0x02 permanent, 0 unset.
    pub reason: u8,
    /// Program that decides the redirection at login.
    pub callback: Option<String>,
}

/// iSCSI state of one target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IscsiTarget {
    /// Session parameters the target offers, indexed as [`param::KEYS`].
    pub params: [u32; param::NR_KEYS],
    /// Seconds between NOP-In probes; 0 disables them.
    pub nop_interval: i32,
    /// Unanswered probes before the connection is dropped.
    pub nop_count: i32,
    /// Login redirection.
    pub redirect: Redirect,
}

/// iSNS client settings. tgt: usr/iscsi/isns.c
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Isns {
    /// `iSNS=On`.
    pub enabled: bool,
    /// `iSNSServerIP`.
    pub server_ip: String,
    /// `iSNSServerPort`.
    pub server_port: i32,
    /// `iSNSAccessControl=On`.
    pub access_control: bool,
}

/// `ISCSI_LISTEN_PORT`.
pub const DEFAULT_PORT: u16 = 3260;
/// `ISNS_PORT`.
pub const ISNS_PORT: i32 = 3205;
/// `NI_MAXHOST`: size of the redirect address buffer.
const NI_MAXHOST: usize = 1025;
/// `NI_MAXSERV`: size of the redirect port buffer.
const NI_MAXSERV: usize = 32;

/// The iSCSI driver's management state.
#[derive(Debug)]
pub struct IscsiDriver {
    /// Per-target state, created with the target.
    pub targets: BTreeMap<TargetId, IscsiTarget>,
    /// NOP interval given to targets created from now on (`--iscsi nop_interval=`).
    pub default_nop_interval: i32,
    /// NOP count given to targets created from now on.
    pub default_nop_count: i32,
    /// iSNS settings.
    pub isns: Isns,
}

impl Default for IscsiDriver {
    fn default() -> Self {
        Self::new()
    }
}

impl IscsiDriver {
    /// A fresh driver.
    pub fn new() -> Self {
        Self {
            targets: BTreeMap::new(),
            default_nop_interval: 0,
            default_nop_count: 0,
            isns: Isns {
                enabled: false,
                server_ip: String::new(),
                server_port: ISNS_PORT,
                access_control: false,
            },
        }
    }

    /// A target was created. tgt: `iscsi_target_create()`
    pub fn target_created(&mut self, tid: TargetId) {
        self.targets.insert(
            tid,
            IscsiTarget {
                params: param::target_defaults(),
                nop_interval: self.default_nop_interval,
                nop_count: self.default_nop_count,
                redirect: Redirect::default(),
            },
        );
    }

    /// A target was deleted.
    pub fn target_deleted(&mut self, tid: TargetId) {
        self.targets.remove(&tid);
    }

    /// `target update --name N --value V` for a name other than `state`.
    /// Names are prefix-compared for the tgt-specific keys, then matched case-insensitively
    /// against the session keys. tgt: usr/iscsi/target.c `iscsi_target_update()`
    pub fn update_target(&mut self, tid: TargetId, name: &str, value: &str) -> Result<(), ErrCode> {
        let t = self.targets.get_mut(&tid).ok_or(ErrCode::NO_TARGET)?;
        // tgt reads the NOP numbers at a fixed offset of "name\0value".
        let at = |off: usize| {
            let joined = format!("{name}\0{value}");
            atoi(
                joined
                    .get(off..)
                    .unwrap_or("")
                    .split('\0')
                    .next()
                    .unwrap_or(""),
            )
        };
        if name.starts_with("RedirectAddress") {
            t.redirect.addr = c_buf(value, NI_MAXHOST);
            return Ok(());
        }
        if name.starts_with("RedirectPort") {
            t.redirect.port = c_buf(value, NI_MAXSERV);
            return Ok(());
        }
        let mut handled = false;
        if name.starts_with("RedirectReason") {
            handled = true;
            t.redirect.reason = if value.starts_with("Temporary") {
                0x01
            } else if value.starts_with("Permanent") {
                0x02
            } else {
                return Err(ErrCode::INVALID_REQUEST);
            };
        } else if name.starts_with("RedirectCallback") {
            handled = true;
            t.redirect.callback = Some(value.to_owned());
        } else if name.starts_with("nop_count") {
            t.nop_count = at(10);
            return Ok(());
        } else if name.starts_with("nop_interval") {
            t.nop_interval = at(13);
            return Ok(());
        }
        match param::index_by_name(name) {
            Some(i) => match param::parse_value(i, value) {
                Some(Some(v)) => {
                    t.params[i] = v;
                    Ok(())
                }
                Some(None) => Ok(()),
                None => Err(ErrCode::INVALID_REQUEST),
            },
            // RedirectReason/RedirectCallback fall through here in tgt and keep their success.
            None if handled => Ok(()),
            None => Err(ErrCode::INVALID_REQUEST),
        }
    }

    /// `sys update` items the core does not handle: iSNS keys and `State`.
    /// Every item is applied; the last error wins. tgt: usr/iscsi/isns.c `isns_update()`
    pub fn update_system(&mut self, body: &str, sys_state: &mut State) -> Result<(), ErrCode> {
        let mut result = Ok(());
        for item in items(body) {
            let r = if let Some(v) = match_str(item, "iSNS") {
                match c_buf(v, 16).as_str() {
                    "On" => {
                        self.isns_enable();
                        Ok(())
                    }
                    "Off" => {
                        self.isns.enabled = false;
                        Ok(())
                    }
                    _ => Err(ErrCode::INVALID_REQUEST),
                }
            } else if let Some(v) = match_str(item, "iSNSServerIP") {
                self.isns.server_ip = c_buf(v, NI_MAXHOST);
                Ok(())
            } else if item.starts_with("iSNSServerPort=") {
                match match_int(item, "iSNSServerPort") {
                    Some(p) => {
                        self.isns.server_port = p;
                        Ok(())
                    }
                    None => Err(ErrCode::INVALID_REQUEST),
                }
            } else if let Some(v) = match_str(item, "iSNSAccessControl") {
                self.isns.access_control = c_buf(v, 16) == "On";
                Ok(())
            } else if let Some(v) = match_str(item, "State") {
                match State::parse(&c_buf(v, 16)) {
                    Some(s) => {
                        *sys_state = s;
                        Ok(())
                    }
                    None => Err(ErrCode::INVALID_REQUEST),
                }
            } else {
                Err(ErrCode::INVALID_REQUEST)
            };
            if let Err(e) = r {
                result = Err(e);
            }
        }
        result
    }

    /// `iSNS=On`: tgt turns the client on once the server name resolves (failures are only
    /// logged, the request still succeeds).
    fn isns_enable(&mut self) {
        use std::net::ToSocketAddrs;
        let port = u16::try_from(self.isns.server_port).unwrap_or(0);
        let resolves = !self.isns.server_ip.is_empty()
            && (self.isns.server_ip.as_str(), port)
                .to_socket_addrs()
                .is_ok_and(|mut a| a.next().is_some());
        if resolves {
            // The iSNS protocol client itself is not implemented: registration with the
            // server does not happen. The setting is kept and shown.
            tracing::warn!(
                server = self.isns.server_ip,
                "iSNS registration is not implemented"
            );
            self.isns.enabled = true;
        } else {
            tracing::warn!(
                server = self.isns.server_ip,
                "iSNS server address does not resolve"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drv() -> IscsiDriver {
        let mut d = IscsiDriver::new();
        d.target_created(TargetId(1));
        d
    }

    #[test]
    fn update_session_keys() {
        let mut d = drv();
        let t = TargetId(1);
        assert_eq!(d.update_target(t, "maxburstlength", "4096"), Ok(()));
        assert_eq!(d.targets[&t].params[param::idx::MAX_BURST], 4096);
        assert_eq!(
            d.update_target(t, "MaxRecvDataSegmentLength", "100"),
            Err(ErrCode::INVALID_REQUEST)
        );
        assert_eq!(
            d.update_target(t, "Bogus", "1"),
            Err(ErrCode::INVALID_REQUEST)
        );
        assert_eq!(
            d.update_target(TargetId(2), "Bogus", "1"),
            Err(ErrCode::NO_TARGET)
        );
    }

    #[test]
    fn update_tgt_specific_keys() {
        let mut d = drv();
        let t = TargetId(1);
        assert_eq!(d.update_target(t, "nop_interval", "5"), Ok(()));
        assert_eq!(d.update_target(t, "nop_count", "3"), Ok(()));
        assert_eq!(
            (d.targets[&t].nop_interval, d.targets[&t].nop_count),
            (5, 3)
        );
        assert_eq!(
            d.update_target(t, "RedirectReason", "Bogus"),
            Err(ErrCode::INVALID_REQUEST)
        );
        assert_eq!(d.update_target(t, "RedirectReason", "Permanent"), Ok(()));
        assert_eq!(d.update_target(t, "RedirectAddress", "10.0.0.9"), Ok(()));
        assert_eq!(d.targets[&t].redirect.reason, 2);
    }

    #[test]
    fn system_update_keys() {
        let mut d = IscsiDriver::new();
        let mut st = State::Ready;
        assert_eq!(d.update_system("State=offline", &mut st), Ok(()));
        assert_eq!(st, State::Offline);
        assert_eq!(
            d.update_system("State=bogus", &mut st),
            Err(ErrCode::INVALID_REQUEST)
        );
        assert_eq!(
            d.update_system("iSNSServerPort=12x", &mut st),
            Err(ErrCode::INVALID_REQUEST)
        );
        assert_eq!(d.update_system("iSNSServerPort=0x10", &mut st), Ok(()));
        assert_eq!(d.isns.server_port, 16);
        assert_eq!(
            d.update_system("iSNS=Maybe", &mut st),
            Err(ErrCode::INVALID_REQUEST)
        );
        assert_eq!(
            d.update_system("Foo=1", &mut st),
            Err(ErrCode::INVALID_REQUEST)
        );
    }
}
