//! The main event loop: the management socket, portal listeners and signals on one
//! `mio::Poll`.
//!
//! Owns every socket of the management plane and applies the [`Effect`]s that
//! [`Config::execute`] asks for. It holds no protocol logic: bytes go to the sans-IO
//! [`MgmtTask`] and requests to [`Config`]. tgt: usr/tgtd.c `event_loop()`, usr/mgmt.c
//! `ipc_init()`, `mgmt_event_handler()`.

use std::fs::{File, OpenOptions};
use std::io::{self, ErrorKind, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use mio::net::{UnixListener, UnixStream};
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};

pub mod io_loop;
pub mod notify;

use std::sync::Arc;

use crate::iscsi::view::IscsiView;
use crate::mgmt::server::{Config, Effect, MgmtTask};
use crate::mgmt::wire;

/// What a token stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The signal pipe.
    Signals,
    /// The management listening socket.
    MgmtListener,
    /// A management connection, by slot.
    Mgmt(usize),
    /// An iSCSI portal listener, by portal id.
    Portal(u64),
}

const KIND_BITS: u32 = 2;
const KIND_MASK: usize = (1 << KIND_BITS) - 1;

impl From<Source> for Token {
    fn from(s: Source) -> Token {
        let (kind, n) = match s {
            Source::Signals => (0, 0),
            Source::MgmtListener => (1, 0),
            Source::Mgmt(slot) => (2, slot),
            Source::Portal(id) => (3, usize::try_from(id).unwrap_or(usize::MAX >> KIND_BITS)),
        };
        Token((n << KIND_BITS) | kind)
    }
}

impl TryFrom<Token> for Source {
    type Error = Token;
    fn try_from(t: Token) -> Result<Source, Token> {
        let n = t.0 >> KIND_BITS;
        match t.0 & KIND_MASK {
            0 if n == 0 => Ok(Source::Signals),
            1 if n == 0 => Ok(Source::MgmtListener),
            2 => Ok(Source::Mgmt(n)),
            3 => Ok(Source::Portal(u64::try_from(n).unwrap_or(u64::MAX))),
            _ => Err(t),
        }
    }
}

/// Why the daemon could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The management path does not fit `sun_path`.
    #[error("managment path too long: {0}")]
    PathTooLong(PathBuf),
    /// Another daemon holds the lock for this control port.
    #[error("another tgtd is using {0}")]
    Locked(PathBuf),
    /// Creating the directory, lock or socket failed.
    #[error("can't set up the management socket {path}")]
    Socket {
        /// The path involved.
        path: PathBuf,
        /// The cause.
        #[source]
        err: io::Error,
    },
    /// The poller could not be created.
    #[error("can't create the event loop")]
    Poll(#[source] io::Error),
}

/// A management connection.
#[derive(Debug)]
struct MgmtConn {
    stream: UnixStream,
    task: MgmtTask,
    /// Reply bytes and how many were written.
    reply: Option<(Vec<u8>, usize)>,
    /// The reply closes a successful `system delete`.
    shutdown_after: bool,
}

/// The running daemon.
#[derive(Debug)]
pub struct Daemon {
    poll: Poll,
    config: Config,
    listener: UnixListener,
    conns: Vec<Option<MgmtConn>>,
    signals: mio::net::UnixStream,
    // Keeps the lockf lock for the daemon's life.
    _lock: File,
    socket_path: PathBuf,
    lock_path: PathBuf,
    /// The stop came from SIGTERM/SIGINT (not `system delete`).
    by_signal: bool,
    uid: u32,
    gid: u32,
    exiting: bool,
    shared: Arc<io_loop::Shared>,
    loops: Vec<io_loop::Mailbox>,
    threads: Vec<std::thread::JoinHandle<()>>,
    next_loop: usize,
}

/// How the daemon runs its data path.
#[derive(Debug, Clone, Copy)]
pub struct Tuning {
    /// I/O loop threads.
    pub io_loops: usize,
    /// Backing-store worker threads (`-t`).
    pub bs_threads: usize,
}

impl Default for Tuning {
    fn default() -> Self {
        let cpus = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
        Self {
            io_loops: cpus.clamp(1, 16),
            bs_threads: 16,
        }
    }
}

/// Opens the lock file and takes tgt's `lockf(F_TLOCK)` lock on its first byte (a POSIX
/// record lock, so C tgtd and ours exclude each other).
fn take_lock(path: &Path) -> Result<File, StartError> {
    let f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o644)
        .open(path)
        .map_err(|err| StartError::Socket {
            path: path.to_owned(),
            err,
        })?;
    let lock = libc::flock {
        l_type: libc::c_short::try_from(libc::F_WRLCK).expect("F_WRLCK fits a short"),
        l_whence: libc::c_short::try_from(libc::SEEK_CUR).expect("SEEK_CUR fits a short"),
        l_start: 0,
        l_len: 1,
        l_pid: 0,
    };
    match nix::fcntl::fcntl(f.as_raw_fd(), nix::fcntl::FcntlArg::F_SETLK(&lock)) {
        Ok(_) => Ok(f),
        Err(nix::errno::Errno::EACCES | nix::errno::Errno::EAGAIN) => {
            Err(StartError::Locked(path.to_owned()))
        }
        Err(e) => Err(StartError::Socket {
            path: path.to_owned(),
            err: e.into(),
        }),
    }
}

impl Daemon {
    /// Sets up the management socket for `control_port` (directory, lock, socket), the
    /// signal pipe and the iSCSI portals. tgt: usr/mgmt.c `ipc_init()`
    pub fn new(control_port: i16, config: Config, tuning: Tuning) -> Result<Self, StartError> {
        let (prefix, is_default) = wire::ipc_prefix();
        let socket_path = wire::socket_path(&prefix, control_port);
        let lock_path = wire::lock_path(&prefix, control_port);
        if socket_path.as_os_str().len() > wire::SUN_PATH_MAX {
            return Err(StartError::PathTooLong(socket_path));
        }
        if is_default {
            let dir = Path::new(wire::DEFAULT_IPC_DIR);
            if !dir.exists() {
                std::fs::DirBuilder::new()
                    .mode(0o755)
                    .create(dir)
                    .map_err(|err| StartError::Socket {
                        path: dir.to_owned(),
                        err,
                    })?;
            }
        }
        let lock = take_lock(&lock_path)?;
        let _ = std::fs::remove_file(&socket_path);
        let mut listener = UnixListener::bind(&socket_path).map_err(|err| StartError::Socket {
            path: socket_path.clone(),
            err,
        })?;
        let poll = Poll::new().map_err(StartError::Poll)?;
        poll.registry()
            .register(
                &mut listener,
                Source::MgmtListener.into(),
                Interest::READABLE,
            )
            .map_err(StartError::Poll)?;

        let (sig_rx, sig_tx) = std::os::unix::net::UnixStream::pair().map_err(StartError::Poll)?;
        sig_rx.set_nonblocking(true).map_err(StartError::Poll)?;
        sig_tx.set_nonblocking(true).map_err(StartError::Poll)?;
        let mut sig_rx = mio::net::UnixStream::from_std(sig_rx);
        for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
            let tx = sig_tx.try_clone().map_err(StartError::Poll)?;
            signal_hook::low_level::pipe::register(sig, tx).map_err(StartError::Poll)?;
        }
        poll.registry()
            .register(&mut sig_rx, Source::Signals.into(), Interest::READABLE)
            .map_err(StartError::Poll)?;

        let pool = crate::bs::pool::WorkerPool::new(tuning.bs_threads).map_err(StartError::Poll)?;
        let shared = Arc::new(io_loop::Shared {
            view: crate::iscsi::view::ViewCell::default(),
            sessions: Arc::clone(&config.sessions),
            pool: Arc::new(pool),
            chap_id: std::sync::atomic::AtomicU8::new(0),
            loops: std::sync::OnceLock::new(),
        });
        let (loops, threads) =
            io_loop::start(tuning.io_loops, Arc::clone(&shared)).map_err(StartError::Poll)?;
        let mut daemon = Self {
            poll,
            config,
            listener,
            conns: Vec::new(),
            signals: sig_rx,
            _lock: lock,
            socket_path,
            lock_path,
            by_signal: false,
            uid: nix::unistd::getuid().as_raw(),
            gid: nix::unistd::getgid().as_raw(),
            exiting: false,
            shared,
            loops,
            threads,
            next_loop: 0,
        };
        daemon.publish();
        let mut effects = Vec::new();
        daemon.config.start_portals(&mut effects);
        daemon.apply(effects);
        Ok(daemon)
    }

    /// The management socket path.
    pub fn socket_path(&self) -> &Path {
        &self.socket_path
    }

    /// Runs until `system delete` or SIGTERM/SIGINT.
    pub fn run(&mut self) -> io::Result<()> {
        let mut events = Events::with_capacity(256);
        while !self.exiting {
            if let Err(e) = self.poll.poll(&mut events, None) {
                if e.kind() == ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            for ev in events.iter() {
                match Source::try_from(ev.token()) {
                    Ok(Source::MgmtListener) => self.accept_mgmt(),
                    Ok(Source::Mgmt(slot)) => self.drive_mgmt(slot),
                    Ok(Source::Portal(id)) => self.accept_iscsi(id),
                    Ok(Source::Signals) => self.on_signal(),
                    Err(t) => tracing::debug!(token = t.0, "event for unknown token"),
                }
            }
        }
        self.shutdown();
        Ok(())
    }

    fn on_signal(&mut self) {
        let mut buf = [0u8; 64];
        loop {
            match self.signals.read(&mut buf) {
                Ok(0) => break,
                Ok(_) => {
                    // COMPAT: C tgtd ignores SIGTERM; a service manager expects it to stop us.
                    tracing::info!("signal received, shutting down");
                    self.exiting = true;
                    self.by_signal = true;
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => break,
            }
        }
    }

    /// Orderly stop: no new management or iSCSI connections, then every I/O loop closes its
    /// sessions (commands already handed to a backing store finish; acknowledged data is
    /// on disk). After `system delete` the socket and lock files stay, as tgt leaves them:
    /// C tgtadm waits for ECONNREFUSED on that path. After SIGTERM/SIGINT they are removed.
    fn shutdown(&mut self) {
        let _ = notify::notify("STOPPING=1");
        let _ = self.poll.registry().deregister(&mut self.listener);
        for p in std::mem::take(&mut self.config.portals) {
            self.apply(vec![Effect::ListenerRemoved(p)]);
        }
        for l in &self.loops {
            l.send(io_loop::Msg::Shutdown);
        }
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        if self.by_signal {
            let _ = std::fs::remove_file(&self.socket_path);
            let _ = std::fs::remove_file(&self.lock_path);
        }
        tracing::info!("tgtd exiting");
    }

    fn accept_mgmt(&mut self) {
        loop {
            match self.listener.accept() {
                Ok((stream, _)) => self.add_mgmt(stream),
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => {
                    tracing::warn!(error = %e, "can't accept a management connection");
                    break;
                }
            }
        }
    }

    /// Only the daemon's own uid and gid may manage it. tgt: usr/mgmt.c `ipc_perm()`
    fn peer_allowed(&self, stream: &UnixStream) -> bool {
        use nix::sys::socket::{getsockopt, sockopt::PeerCredentials};
        match getsockopt(stream, PeerCredentials) {
            Ok(c) => c.uid() == self.uid && c.gid() == self.gid,
            Err(_) => false,
        }
    }

    fn add_mgmt(&mut self, mut stream: UnixStream) {
        if !self.peer_allowed(&stream) {
            tracing::warn!("permission error");
            return;
        }
        let slot = match self.conns.iter().position(Option::is_none) {
            Some(s) => s,
            None => {
                self.conns.push(None);
                self.conns.len() - 1
            }
        };
        if let Err(e) = self.poll.registry().register(
            &mut stream,
            Source::Mgmt(slot).into(),
            Interest::READABLE,
        ) {
            tracing::warn!(error = %e, "can't watch a management connection");
            return;
        }
        self.conns[slot] = Some(MgmtConn {
            stream,
            task: MgmtTask::default(),
            reply: None,
            shutdown_after: false,
        });
        // Data may already be waiting: edge-triggered polls report only new arrivals.
        self.drive_mgmt(slot);
    }

    fn close_mgmt(&mut self, slot: usize) {
        if let Some(mut c) = self.conns.get_mut(slot).and_then(Option::take) {
            let _ = self.poll.registry().deregister(&mut c.stream);
        }
    }

    /// Reads what the task wants, executes a complete request, writes the reply.
    fn drive_mgmt(&mut self, slot: usize) {
        let Some(conn) = self.conns.get_mut(slot).and_then(Option::as_mut) else {
            return;
        };
        if conn.reply.is_none() {
            let mut buf = [0u8; 4096];
            loop {
                let want = conn.task.wanted().min(buf.len());
                if want == 0 {
                    break;
                }
                match conn.stream.read(&mut buf[..want]) {
                    Ok(0) => {
                        self.close_mgmt(slot);
                        return;
                    }
                    Ok(n) => {
                        if let Err(e) = conn.task.feed(&buf[..n]) {
                            tracing::warn!(error = %e, "bad management request");
                            self.close_mgmt(slot);
                            return;
                        }
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                    Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                    Err(_) => {
                        self.close_mgmt(slot);
                        return;
                    }
                }
            }
            let MgmtTask::Ready { req, body } = std::mem::take(&mut conn.task) else {
                return;
            };
            let out = self.config.execute(&req, &body);
            self.publish();
            let mut shutdown = false;
            let mut effects = Vec::new();
            for e in out.effects {
                match e {
                    Effect::Shutdown => shutdown = true,
                    other => effects.push(other),
                }
            }
            self.apply(effects);
            let Some(conn) = self.conns.get_mut(slot).and_then(Option::as_mut) else {
                return;
            };
            conn.reply = Some((out.reply, 0));
            conn.shutdown_after = shutdown;
            let _ = self.poll.registry().reregister(
                &mut conn.stream,
                Source::Mgmt(slot).into(),
                Interest::WRITABLE,
            );
        }
        self.write_reply(slot);
    }

    fn write_reply(&mut self, slot: usize) {
        let Some(conn) = self.conns.get_mut(slot).and_then(Option::as_mut) else {
            return;
        };
        let Some((reply, done)) = conn.reply.as_mut() else {
            return;
        };
        while *done < reply.len() {
            match conn.stream.write(&reply[*done..]) {
                Ok(n) => *done += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => break,
            }
        }
        if conn.shutdown_after {
            self.exiting = true;
        }
        self.close_mgmt(slot);
    }

    /// Carries out listener changes asked for by a request.
    fn apply(&mut self, effects: Vec<Effect>) {
        for e in effects {
            match e {
                Effect::ListenerAdded(id) => {
                    if let Some(p) = self.config.portals.iter().find(|p| p.id == id) {
                        let fd = p.listener.as_raw_fd();
                        if let Err(e) = self.poll.registry().register(
                            &mut SourceFd(&fd),
                            Source::Portal(id).into(),
                            Interest::READABLE,
                        ) {
                            tracing::warn!(error = %e, "can't watch a portal");
                        }
                    }
                }
                Effect::ListenerRemoved(p) => {
                    let fd = p.listener.as_raw_fd();
                    let _ = self.poll.registry().deregister(&mut SourceFd(&fd));
                    drop(p);
                }
                Effect::Shutdown => self.exiting = true,
                Effect::CloseConnections(handles) => {
                    for h in handles {
                        if let Some(l) = self.loops.get(h.io_loop) {
                            l.send(io_loop::Msg::Close(h));
                        }
                    }
                }
            }
        }
    }

    /// Publishes the configuration snapshot the I/O loops read.
    fn publish(&self) {
        self.shared
            .view
            .set(IscsiView::build(&self.config.sys, &self.config.iscsi));
    }

    /// Accepts iSCSI connections and hands each to an I/O loop, round robin. While the
    /// system is offline or has no target, tgt closes them at once; so do we.
    /// tgt: usr/iscsi/iscsi_tcp.c `accept_connection()`
    fn accept_iscsi(&mut self, id: u64) {
        let Some(p) = self.config.portals.iter().find(|p| p.id == id) else {
            return;
        };
        loop {
            match p.listener.accept() {
                Ok((s, peer)) => {
                    if !self.config.system_ready() || self.config.sys.targets.is_empty() {
                        tracing::debug!(%peer, "iSCSI connection refused: offline or no target");
                        continue;
                    }
                    let local = match s.local_addr() {
                        Ok(a) => a,
                        Err(_) => continue,
                    };
                    if self.loops.is_empty() {
                        continue;
                    }
                    let i = self.next_loop % self.loops.len();
                    self.next_loop = self.next_loop.wrapping_add(1);
                    self.loops[i].send(io_loop::Msg::Accept {
                        stream: s,
                        peer,
                        local,
                    });
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => {
                    tracing::warn!(error = %e, "can't accept an iSCSI connection");
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip() {
        for s in [
            Source::Signals,
            Source::MgmtListener,
            Source::Mgmt(0),
            Source::Mgmt(12345),
            Source::Portal(0),
            Source::Portal(77),
        ] {
            assert_eq!(Source::try_from(Token::from(s)), Ok(s));
        }
        assert!(Source::try_from(Token(4)).is_err());
    }
}
