//! The only file in `iscsi/` that touches sockets: binding portal listeners.
//!
//! Mirrors tgt's `iscsi_tcp_init_portal()`: every address the name resolves to gets its own
//! listener with SO_REUSEADDR (and IPV6_V6ONLY for IPv6); the portal is created when at
//! least one of them binds.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, ToSocketAddrs};
use std::os::fd::OwnedFd;

use nix::sys::socket::{
    bind, listen, setsockopt, socket, sockopt, AddressFamily, Backlog, SockFlag, SockType,
    SockaddrStorage,
};

/// Resolves `addr` (wildcards when `None`) and binds a non-blocking listener on each result.
/// Returns the listeners with their bound addresses; an error when none could be bound.
pub fn bind_portal(addr: Option<&str>, port: i32) -> io::Result<Vec<(TcpListener, SocketAddr)>> {
    let port = u16::try_from(port)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "port out of range"))?;
    let addrs: Vec<SocketAddr> = match addr {
        None => vec![
            SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port),
            SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port),
        ],
        Some(a) => (a, port).to_socket_addrs()?.collect(),
    };
    let mut out = Vec::new();
    let mut last_err = io::Error::new(io::ErrorKind::AddrNotAvailable, "no address to bind");
    for sa in addrs {
        match bind_one(sa) {
            Ok(l) => {
                let local = l.local_addr()?;
                out.push((l, local));
            }
            Err(e) => {
                tracing::warn!(addr = %sa, error = %e, "unable to bind portal");
                last_err = e;
            }
        }
    }
    if out.is_empty() {
        return Err(last_err);
    }
    Ok(out)
}

fn bind_one(sa: SocketAddr) -> io::Result<TcpListener> {
    let family = match sa {
        SocketAddr::V4(_) => AddressFamily::Inet,
        SocketAddr::V6(_) => AddressFamily::Inet6,
    };
    let fd: OwnedFd = socket(
        family,
        SockType::Stream,
        SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC,
        None,
    )?;
    setsockopt(&fd, sockopt::ReuseAddr, &true)?;
    if family == AddressFamily::Inet6 {
        setsockopt(&fd, sockopt::Ipv6V6Only, &true)?;
    }
    bind(
        std::os::fd::AsRawFd::as_raw_fd(&fd),
        &SockaddrStorage::from(sa),
    )?;
    listen(&fd, Backlog::MAXCONN)?;
    Ok(TcpListener::from(fd))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binds_loopback_ephemeral_and_refuses_duplicates() {
        let v = bind_portal(Some("127.0.0.1"), 0).unwrap();
        assert_eq!(v.len(), 1);
        let port = v[0].1.port();
        assert_ne!(port, 0);
        assert!(bind_portal(Some("127.0.0.1"), i32::from(port)).is_err());
        assert!(bind_portal(Some("127.0.0.1"), 70000).is_err());
    }
}
