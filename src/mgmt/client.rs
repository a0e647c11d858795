//! The management client: one request per connection, exactly as C tgtadm talks to tgtd.
//!
//! Owns the client side of the management socket: the socket path (`$TGT_IPC_SOCKET` or the
//! default prefix, then `.<control port>`), connecting, writing the 120-byte header and the
//! NUL-terminated body, reading the 8-byte answer and its text, and the wait for a stopping
//! daemon after `--mode system --op delete`. It knows nothing about options or modes beyond
//! what is in the header, and it prints nothing: every failure is a [`ClientError`] carrying
//! what tgtadm needs to print C's message and exit with C's status.
//!
//! Source: tgt `usr/tgtadm.c` `ipc_mgmt_connect()`, `ipc_mgmt_req()`, `ipc_mgmt_rsp()`; facts in
//! `shared/reference/mgmt-protocol.md` §2, §3 (client), §11, §12.1.

use std::ffi::OsStr;
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::errno::Errno;

use super::wire::{self, ErrCode, Mode, Op, Request, Response, REQ_LEN, RSP_LEN};

/// Size of tgtadm's `mgmt_path` buffer; `snprintf` cuts the path to one byte less.
/// tgt: usr/tgtadm.c `ipc_mgmt_connect()` `char mgmt_path[256]`
const MGMT_PATH_BUF: usize = 256;

/// Pause between connection attempts while waiting for tgtd to stop.
/// tgt: usr/tgtadm.c `ipc_mgmt_rsp()` (`select` with 100 ms)
pub const STOP_POLL_INTERVAL: Duration = Duration::from_millis(100);

/// Where the daemon listens, as tgtadm computes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MgmtPath {
    /// `<prefix>.<port>`, cut to 255 bytes as C's `snprintf` does.
    pub path: PathBuf,
    /// The path does not fit `sun_path` (more than 107 bytes): C tgtadm prints
    /// `management path too long: <path>` and then fails to send, with ENOTCONN.
    pub too_long: bool,
}

impl MgmtPath {
    /// The path for control port `port`, from `$TGT_IPC_SOCKET` (or the default prefix).
    pub fn from_env(port: i16) -> Self {
        let (prefix, _) = wire::ipc_prefix();
        Self::new(&prefix, port)
    }

    /// The path for control port `port` under `prefix`.
    pub fn new(prefix: &OsStr, port: i16) -> Self {
        let full = wire::socket_path(prefix, port);
        let bytes = full.as_os_str().as_bytes();
        let cut = &bytes[..bytes.len().min(MGMT_PATH_BUF - 1)];
        Self {
            path: PathBuf::from(OsStr::from_bytes(cut)),
            too_long: cut.len() > wire::SUN_PATH_MAX,
        }
    }
}

/// Why a request did not produce an answer text. Each variant corresponds to one message (or
/// silence) of C tgtadm; [`ClientError::exit_code`] gives its exit status.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Connecting failed (daemon not running, wrong control port, path too long). C tgtadm
    /// does not notice the failed `connect()` and reports the header `write()`'s ENOTCONN.
    #[error("failed to send request hdr to tgt daemon, {}", Errno::ENOTCONN.desc())]
    NotConnected {
        /// The socket path tried.
        path: MgmtPath,
        /// Why `connect()` failed; C never shows it.
        #[source]
        cause: io::Error,
    },
    /// Writing the header failed on a connected socket.
    #[error("failed to send request hdr to tgt daemon, {}", .errno.desc())]
    SendHeader {
        /// `errno` of the failed `write()`.
        errno: Errno,
    },
    /// Writing the body failed.
    #[error("failed to send request buf to tgt daemon, {}", .errno.desc())]
    SendBody {
        /// `errno` of the failed `write()`.
        errno: Errno,
    },
    /// The daemon closed the connection without answering (C exits 0).
    #[error("tgtd closed the socket")]
    Closed,
    /// The daemon sent fewer than 8 bytes and closed (C exits 0).
    #[error("a partial response")]
    Partial,
    /// Receiving the answer header was interrupted by a signal.
    #[error("interrupted by a signal")]
    Interrupted,
    /// Receiving the answer header failed (`ECONNRESET` when tgtd rejected our credentials).
    #[error("can't get the response, {}", .errno.desc())]
    Recv {
        /// `errno` of the failed `recv()`.
        errno: Errno,
    },
    /// The daemon answered with an error code.
    #[error("{}", .0.message())]
    Daemon(ErrCode),
    /// The answer's `len` is below 8, so C's body size is negative and its `malloc` fails.
    /// C prints this without program name or newline.
    #[error("failed to allocate {len} bytes")]
    BadLength {
        /// `rsp.len - 8` as C's `int`.
        len: i32,
    },
    /// Reading the answer text failed; C prints this without program name or newline and
    /// exits 0 without printing the text.
    #[error("failed to read from tgtd, {}", errno_number(.errno))]
    ReadBody {
        /// `errno` of the failed `read()`.
        errno: Errno,
    },
    /// The daemon closed the connection before sending all the text it announced.
    // COMPAT: C tgtadm loops forever on `read() == 0` here; we stop, print nothing and exit 0
    // (what C does for a read error, minus the message).
    #[error("tgtd closed the socket after {got} of {expected} response bytes")]
    TruncatedBody {
        /// Bytes announced by `len - 8`.
        expected: u32,
        /// Bytes received.
        got: u32,
    },
    /// The body is too large for the header's 32-bit `len` (impossible from a command line).
    #[error("request body of {len} bytes does not fit the header")]
    BodyTooLarge {
        /// Body length in bytes.
        len: usize,
    },
}

impl ClientError {
    /// The status C tgtadm exits with: `errno` for socket failures, `EINVAL` (22) for a
    /// daemon error, 0 for the answers C treats as success, 244 (`-ENOMEM`) for a bad length.
    pub fn exit_code(&self) -> u8 {
        let errno = |e: &Errno| u8::try_from(*e as i32).unwrap_or(u8::MAX);
        match self {
            Self::NotConnected { .. } => errno(&Errno::ENOTCONN),
            Self::SendHeader { errno: e }
            | Self::SendBody { errno: e }
            | Self::Recv { errno: e } => errno(e),
            Self::Interrupted => errno(&Errno::EINTR),
            Self::Daemon(_) | Self::BodyTooLarge { .. } => errno(&Errno::EINVAL),
            Self::Closed | Self::Partial | Self::ReadBody { .. } | Self::TruncatedBody { .. } => 0,
            // `return -ENOMEM` from main: the status is the low byte, 256 - 12.
            Self::BadLength { .. } => 244,
        }
    }

    /// True when the failure is a write to a connection the daemon already closed. C tgtadm
    /// does not ignore SIGPIPE and dies of it there, without a message.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(
            self,
            Self::SendHeader {
                errno: Errno::EPIPE
            } | Self::SendBody {
                errno: Errno::EPIPE
            }
        )
    }
}

/// A successful answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The answer text up to its first NUL (what C's `fputs` prints); empty when the daemon
    /// sent none.
    pub text: Vec<u8>,
}

/// The number C prints with `%d` for an `errno`.
fn errno_number(e: &Errno) -> i32 {
    *e as i32
}

/// Errno of an `io::Error` from a socket call (`EIO` if it has none).
fn errno_of(e: &io::Error) -> Errno {
    Errno::from_raw(e.raw_os_error().unwrap_or(Errno::EIO as i32))
}

/// A request that has been written and awaits its answer.
#[derive(Debug)]
pub struct Pending {
    stream: UnixStream,
    path: MgmtPath,
    stops_daemon: bool,
    len: u32,
}

impl Pending {
    /// The `len` written in the header (120 + body), printed by `tgtadm -d`.
    pub fn sent_len(&self) -> u32 {
        self.len
    }

    /// Reads the answer. tgt: usr/tgtadm.c `ipc_mgmt_rsp()`
    pub fn receive(mut self) -> Result<Reply, ClientError> {
        let mut hdr = [0u8; RSP_LEN];
        match recv_waitall(&mut self.stream, &mut hdr) {
            Ok(0) => return Err(ClientError::Closed),
            Ok(n) if n < RSP_LEN => return Err(ClientError::Partial),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                return Err(ClientError::Interrupted)
            }
            Err(e) => {
                return Err(ClientError::Recv {
                    errno: errno_of(&e),
                })
            }
        }
        let rsp = Response::decode(&hdr);
        if !rsp.err.is_success() {
            return Err(ClientError::Daemon(rsp.err));
        }
        if self.stops_daemon {
            wait_until_stopped(&self.path.path);
        }
        // C: `int len = rsp.len - sizeof(rsp)`, a 64-bit difference cut to `int`.
        let len = i32::from_ne_bytes(rsp.len.wrapping_sub(wire::RSP_LEN_U32).to_ne_bytes());
        let Ok(expected) = u32::try_from(len) else {
            return Err(ClientError::BadLength { len });
        };
        read_text(&mut self.stream, expected)
    }
}

/// `recv(fd, buf, len, MSG_WAITALL)`: fills `buf` unless the peer closes first; an error
/// (EINTR included: C does not retry) after some bytes arrived reports the bytes, as the
/// kernel does.
fn recv_waitall(stream: &mut UnixStream, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match stream.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(_) if got > 0 => break,
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// Reads `expected` bytes of answer text and keeps what `fputs` would print: the bytes before
/// the first NUL. Bytes after it are read and dropped, so memory is bounded by the text.
fn read_text(stream: &mut UnixStream, expected: u32) -> Result<Reply, ClientError> {
    let mut text = Vec::new();
    let mut seen_nul = false;
    let mut got: u32 = 0;
    let mut chunk = [0u8; 8192];
    while got < expected {
        let want = usize::try_from(expected - got)
            .unwrap_or(usize::MAX)
            .min(chunk.len());
        match stream.read(&mut chunk[..want]) {
            Ok(0) => return Err(ClientError::TruncatedBody { expected, got }),
            Ok(n) => {
                let part = &chunk[..n];
                if !seen_nul {
                    match part.iter().position(|&b| b == 0) {
                        Some(i) => {
                            text.extend_from_slice(&part[..i]);
                            seen_nul = true;
                        }
                        None => text.extend_from_slice(part),
                    }
                }
                got += u32::try_from(n).expect("n <= want, which came from a u32");
            }
            // C retries only EAGAIN; EINTR is reported like any other error.
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(e) => {
                return Err(ClientError::ReadBody {
                    errno: errno_of(&e),
                })
            }
        }
    }
    Ok(Reply { text })
}

/// After tgtd accepted `system delete`: reconnect every 100 ms until nobody listens.
/// tgt: usr/tgtadm.c `ipc_mgmt_rsp()`; mgmt-protocol.md §12.1
pub fn wait_until_stopped(path: &Path) {
    loop {
        match UnixStream::connect(path) {
            Err(e) if e.raw_os_error() == Some(Errno::ECONNREFUSED as i32) => return,
            // COMPAT: C tgtadm waits only for ECONNREFUSED and spins forever if the socket
            // file is gone; a missing socket means nobody listens, so we stop too.
            Err(e) if e.raw_os_error() == Some(Errno::ENOENT as i32) => return,
            _ => {}
        }
        std::thread::sleep(STOP_POLL_INTERVAL);
    }
}

/// A management connection target: the daemon on one control port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    path: MgmtPath,
}

impl Client {
    /// The daemon on control port `port`, at `$TGT_IPC_SOCKET.<port>` (or the default).
    pub fn from_env(port: i16) -> Self {
        Self {
            path: MgmtPath::from_env(port),
        }
    }

    /// The daemon listening at `path`.
    pub fn at(path: MgmtPath) -> Self {
        Self { path }
    }

    /// Where requests go.
    pub fn path(&self) -> &MgmtPath {
        &self.path
    }

    /// Connects and writes one request: `req` with `len` set to 120 + `body.len()`, then
    /// `body`, which must already end with its NUL (or be empty for no body).
    /// tgt: usr/tgtadm.c `ipc_mgmt_req()`
    pub fn send(&self, req: &Request, body: &[u8]) -> Result<Pending, ClientError> {
        let len = u32::try_from(REQ_LEN + body.len())
            .map_err(|_| ClientError::BodyTooLarge { len: body.len() })?;
        let mut req = req.clone();
        req.len = len;
        let not_connected = |cause| ClientError::NotConnected {
            path: self.path.clone(),
            cause,
        };
        if self.path.too_long {
            return Err(not_connected(io::Error::from_raw_os_error(
                Errno::ENAMETOOLONG as i32,
            )));
        }
        let mut stream = UnixStream::connect(&self.path.path).map_err(not_connected)?;
        stream
            .write_all(&req.encode())
            .map_err(|e| ClientError::SendHeader {
                errno: errno_of(&e),
            })?;
        stream.write_all(body).map_err(|e| ClientError::SendBody {
            errno: errno_of(&e),
        })?;
        Ok(Pending {
            stream,
            path: self.path.clone(),
            stops_daemon: req.mode == Mode::SYSTEM && req.op == Op::DELETE,
            len,
        })
    }

    /// [`Client::send`] then [`Pending::receive`].
    pub fn request(&self, req: &Request, body: &[u8]) -> Result<Reply, ClientError> {
        self.send(req, body)?.receive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixListener;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::thread::JoinHandle;

    /// A scratch directory removed on drop.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new() -> Self {
            static N: AtomicU32 = AtomicU32::new(0);
            let n = N.fetch_add(1, Ordering::Relaxed);
            let p = std::env::temp_dir().join(format!("tgt-client.{}.{n}", std::process::id()));
            std::fs::create_dir_all(&p).unwrap();
            Self(p)
        }
        fn client(&self) -> Client {
            Client::at(MgmtPath::new(self.0.join("s").as_os_str(), 0))
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// Accepts one connection, reads the full request, answers with `answer`, closes.
    fn serve_once(client: &Client, answer: Vec<u8>) -> JoinHandle<Vec<u8>> {
        let listener = UnixListener::bind(&client.path().path).unwrap();
        std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut hdr = [0u8; REQ_LEN];
            s.read_exact(&mut hdr).unwrap();
            let req = Request::decode(&hdr);
            let mut body = vec![0u8; req.body_len().unwrap()];
            s.read_exact(&mut body).unwrap();
            s.write_all(&answer).unwrap();
            let mut all = hdr.to_vec();
            all.extend_from_slice(&body);
            all
        })
    }

    fn target_new() -> Request {
        Request {
            mode: Mode::TARGET,
            op: Op::NEW,
            tid: 1,
            ..Request::default()
        }
    }

    #[test]
    fn path_is_prefix_dot_port_cut_to_255_bytes() {
        let p = MgmtPath::new(OsStr::new("/tmp/x/socket"), 21);
        assert_eq!(p.path, Path::new("/tmp/x/socket.21"));
        assert!(!p.too_long);
        let long = "a".repeat(300);
        let p = MgmtPath::new(OsStr::new(&long), 0);
        assert_eq!(p.path.as_os_str().len(), 255);
        assert!(p.too_long);
        // 105 bytes + ".0" = 107 fits; one more does not.
        assert!(!MgmtPath::new(OsStr::new(&"b".repeat(105)), 0).too_long);
        assert!(MgmtPath::new(OsStr::new(&"b".repeat(106)), 0).too_long);
    }

    #[test]
    fn request_writes_header_then_body_and_reads_text_up_to_nul() {
        let dir = Scratch::new();
        let c = dir.client();
        let server = serve_once(&c, b"\0\0\0\0\x0f\0\0\0ab\ncd\0x".to_vec());
        let reply = c.request(&target_new(), b"targetname=x\0").unwrap();
        assert_eq!(reply.text, b"ab\ncd");
        let got = server.join().unwrap();
        assert_eq!(got.len(), 133);
        assert_eq!(&got[72..76], [133, 0, 0, 0]);
        assert_eq!(&got[120..], b"targetname=x\0");
    }

    #[test]
    fn empty_answer_is_an_empty_reply() {
        let dir = Scratch::new();
        let c = dir.client();
        let server = serve_once(&c, vec![0, 0, 0, 0, 8, 0, 0, 0]);
        let pending = c.send(&target_new(), b"").unwrap();
        assert_eq!(pending.sent_len(), 120);
        assert_eq!(pending.receive().unwrap().text, b"");
        assert_eq!(server.join().unwrap().len(), 120);
    }

    #[test]
    fn daemon_error_maps_to_its_message_and_exit_22() {
        let dir = Scratch::new();
        let c = dir.client();
        let server = serve_once(&c, vec![17, 0, 0, 0, 8, 0, 0, 0]);
        let e = c.request(&target_new(), b"").unwrap_err();
        assert_eq!(e.to_string(), "invalid request");
        assert_eq!(e.exit_code(), 22);
        server.join().unwrap();
    }

    #[test]
    fn closed_and_partial_answers_exit_0() {
        let dir = Scratch::new();
        let c = dir.client();
        let server = serve_once(&c, vec![]);
        let e = c.request(&target_new(), b"").unwrap_err();
        assert_eq!(
            (e.to_string().as_str(), e.exit_code()),
            ("tgtd closed the socket", 0)
        );
        server.join().unwrap();
        std::fs::remove_file(&c.path().path).unwrap();

        let server = serve_once(&c, vec![0, 0, 0]);
        let e = c.request(&target_new(), b"").unwrap_err();
        assert_eq!(
            (e.to_string().as_str(), e.exit_code()),
            ("a partial response", 0)
        );
        server.join().unwrap();
    }

    #[test]
    fn length_below_header_is_cs_failed_allocation() {
        let dir = Scratch::new();
        let c = dir.client();
        let server = serve_once(&c, vec![0, 0, 0, 0, 4, 0, 0, 0]);
        let e = c.request(&target_new(), b"").unwrap_err();
        assert_eq!(e.to_string(), "failed to allocate -4 bytes");
        assert_eq!(e.exit_code(), 244);
        server.join().unwrap();
    }

    #[test]
    fn truncated_text_is_reported_not_awaited_forever() {
        let dir = Scratch::new();
        let c = dir.client();
        let server = serve_once(&c, b"\0\0\0\0\x10\0\0\0abc".to_vec());
        let e = c.request(&target_new(), b"").unwrap_err();
        assert!(matches!(
            e,
            ClientError::TruncatedBody {
                expected: 8,
                got: 3
            }
        ));
        assert_eq!(e.exit_code(), 0);
        server.join().unwrap();
    }

    #[test]
    fn nobody_listening_is_enotconn_exit_107() {
        let dir = Scratch::new();
        let c = dir.client();
        let e = c.request(&target_new(), b"").unwrap_err();
        assert_eq!(
            e.to_string(),
            "failed to send request hdr to tgt daemon, Transport endpoint is not connected"
        );
        assert_eq!(e.exit_code(), 107);
        assert!(matches!(e, ClientError::NotConnected { ref path, .. } if !path.too_long));
    }

    #[test]
    fn reset_connection_exits_104() {
        let dir = Scratch::new();
        let c = dir.client();
        let listener = UnixListener::bind(&c.path().path).unwrap();
        let server = std::thread::spawn(move || {
            // Close with the request unread: the client's recv sees ECONNRESET, as with
            // tgtd's credential check.
            let (s, _) = listener.accept().unwrap();
            std::thread::sleep(Duration::from_millis(50));
            drop(s);
        });
        let e = c.request(&target_new(), b"user=x\0").unwrap_err();
        server.join().unwrap();
        assert_eq!(
            e.to_string(),
            "can't get the response, Connection reset by peer"
        );
        assert_eq!(e.exit_code(), 104);
    }

    #[test]
    fn system_delete_waits_until_the_listener_is_gone() {
        let dir = Scratch::new();
        let c = dir.client();
        let listener = UnixListener::bind(&c.path().path).unwrap();
        let server = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut hdr = [0u8; REQ_LEN];
            s.read_exact(&mut hdr).unwrap();
            s.write_all(&[0, 0, 0, 0, 8, 0, 0, 0]).unwrap();
            drop(s);
            // Still listening for a while: the client must keep polling.
            std::thread::sleep(Duration::from_millis(250));
            drop(listener);
            std::time::Instant::now()
        });
        let req = Request {
            mode: Mode::SYSTEM,
            op: Op::DELETE,
            ..Request::default()
        };
        c.request(&req, b"").unwrap();
        let returned_at = std::time::Instant::now();
        let closed_at = server.join().unwrap();
        assert!(
            returned_at >= closed_at,
            "returned while tgtd still listened"
        );
    }

    #[test]
    fn stop_wait_ends_when_the_socket_file_is_missing() {
        let dir = Scratch::new();
        wait_until_stopped(&dir.0.join("absent"));
    }
}
