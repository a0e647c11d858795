//! systemd readiness notification (`sd_notify`), written here instead of linking
//! libsystemd: one datagram to `$NOTIFY_SOCKET`. Paths starting with `@` are abstract
//! socket names. sd_notify(3)
//!
//! tgtd says `READY=1` once its management socket and portals are up, so a `Type=notify`
//! unit's `ExecStartPost` (tgt-admin) never races the daemon, and `STOPPING=1` when it
//! begins an orderly shutdown.

use std::io;
use std::os::unix::net::UnixDatagram;

/// Sends `state` to the service manager, if there is one. Returns whether it was sent.
pub fn notify(state: &str) -> io::Result<bool> {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        return Ok(false);
    };
    let sock = UnixDatagram::unbound()?;
    let bytes = path.as_encoded_bytes();
    if let Some(name) = bytes.strip_prefix(b"@") {
        use std::os::linux::net::SocketAddrExt;
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
        sock.send_to_addr(state.as_bytes(), &addr)?;
    } else {
        sock.send_to(state.as_bytes(), &path)?;
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_reaches_a_datagram_socket_standing_in_for_systemd() {
        let dir = std::env::temp_dir().join(format!("tgt-notify-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("notify");
        let _ = std::fs::remove_file(&path);
        let server = UnixDatagram::bind(&path).unwrap();
        // The variable is process-wide; this test is the only one in the crate using it.
        std::env::set_var("NOTIFY_SOCKET", &path);
        assert!(notify("READY=1\nSTATUS=Serving").unwrap());
        std::env::remove_var("NOTIFY_SOCKET");
        let mut buf = [0u8; 64];
        let n = server.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"READY=1\nSTATUS=Serving");
        assert!(!notify("READY=1").unwrap(), "no socket, nothing sent");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
