//! Portal strings (`--iscsi portal=...` and `tgtadm --mode portal --param portal=...`) and
//! the portal list.
//!
//! The string grammar is tgt's, quirks included: a non-bracketed address ends at the first
//! `:` anywhere after it, an empty address is silently skipped, `nop_interval=`/`nop_count=`
//! set daemon-wide defaults. tgt: usr/iscsi/iscsid.c `iscsi_param_parse_portals()`.

use std::net::{SocketAddr, TcpListener};

use crate::mgmt::params::atoi;

use super::DEFAULT_PORT;

/// One item of a portal string, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortalItem {
    /// `portal=ADDR[:PORT]` with a non-empty address.
    Portal {
        /// Host part (brackets removed).
        addr: String,
        /// Port as `atoi` read it (may be out of range).
        port: i32,
    },
    /// `nop_interval=N`.
    NopInterval(i32),
    /// `nop_count=N`.
    NopCount(i32),
    /// `[` without `]`: processing stops here with an error.
    Malformed,
}

/// Splits a portal string into its items. Unknown items are ignored.
pub fn parse(s: &str) -> Vec<PortalItem> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut p = 0;
    while p < b.len() {
        let rest = &s[p..];
        if rest.starts_with("portal") {
            let addr_start = (p + 7).min(b.len());
            let mut addr = &s[addr_start..];
            let mut len = None;
            let mut port = i32::from(DEFAULT_PORT);
            let q: Option<usize>;
            if addr.starts_with('[') {
                addr = &addr[1..];
                let Some(close) = addr.find(']') else {
                    out.push(PortalItem::Malformed);
                    return out;
                };
                len = Some(close);
                let after = close + 1;
                q = (addr[after..].starts_with(':')).then_some(after);
            } else {
                q = addr.find(':');
            }
            let q = match q {
                Some(colon) => {
                    port = atoi(&addr[colon + 1..]);
                    Some(colon)
                }
                None => addr.find(','),
            };
            let len = match len {
                Some(l) if l > 0 => l,
                _ => q.unwrap_or(addr.len()),
            };
            if len > 0 {
                out.push(PortalItem::Portal {
                    addr: addr[..len].to_owned(),
                    port,
                });
            }
        } else if rest.starts_with("nop_interval") {
            out.push(PortalItem::NopInterval(atoi(rest.get(13..).unwrap_or(""))));
        } else if rest.starts_with("nop_count") {
            out.push(PortalItem::NopCount(atoi(rest.get(10..).unwrap_or(""))));
        }
        p += rest.find(',').map_or(rest.len(), |i| i + 1);
    }
    out
}

/// A listening portal.
#[derive(Debug)]
pub struct Portal {
    /// Numeric address as `inet_ntop` prints it (no brackets).
    pub addr: String,
    /// Bound port.
    pub port: u16,
    /// Target portal group tag (always 1 in tgt).
    pub tpgt: u16,
    /// The listening socket (non-blocking).
    pub listener: TcpListener,
    /// Stable id, used by the event loop to find this portal.
    pub id: u64,
}

impl Portal {
    /// `ADDR:PORT,TPGT` as `portal show` prints it, IPv6 in brackets.
    pub fn render(&self) -> String {
        let port = if self.port == 0 {
            DEFAULT_PORT
        } else {
            self.port
        };
        if self.addr.contains(':') {
            format!("[{}]:{},{}", self.addr, port, self.tpgt)
        } else {
            format!("{}:{},{}", self.addr, port, self.tpgt)
        }
    }

    /// The bound socket address.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.listener.local_addr().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn portal(addr: &str, port: i32) -> PortalItem {
        PortalItem::Portal {
            addr: addr.into(),
            port,
        }
    }

    #[test]
    fn parses_like_tgt() {
        assert_eq!(parse("portal=127.0.0.1:3291"), [portal("127.0.0.1", 3291)]);
        assert_eq!(parse("portal=127.0.0.1"), [portal("127.0.0.1", 3260)]);
        assert_eq!(parse("portal=[::1]:3293"), [portal("::1", 3293)]);
        assert_eq!(parse("portal=[::1]"), [portal("::1", 3260)]);
        assert_eq!(parse("portal=[::1"), [PortalItem::Malformed]);
        assert_eq!(parse("portal=:3251"), []);
        assert_eq!(parse("portal=::1:3293"), []);
        assert_eq!(
            parse("portal=127.0.0.1:3291,nop_interval=5,nop_count=6,foo=1"),
            [
                portal("127.0.0.1", 3291),
                PortalItem::NopInterval(5),
                PortalItem::NopCount(6)
            ]
        );
        assert_eq!(
            parse("portal=1.2.3.4,portal=5.6.7.8:99"),
            [portal("1.2.3.4,portal=5.6.7.8", 99), portal("5.6.7.8", 99)]
        );
        assert_eq!(parse("portal"), []);
        assert_eq!(
            parse("portal=a,portal=b"),
            [portal("a", 3260), portal("b", 3260)]
        );
    }
}
