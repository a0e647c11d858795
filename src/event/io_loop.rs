//! I/O loops: each a thread with its own `mio::Poll` that owns the iSCSI connections handed
//! to it for their whole life. No lock is taken per PDU; the configuration arrives as
//! snapshots ([`ViewCell`]), SCSI completions from backing-store workers through a queue
//! and the loop's `Waker`.
//!
//! READ and WRITE of aio LUs are submitted here with native AIO: the SCSI layer hands
//! them to the loop's completer ([`Completer::submit_aio`]), the loop submits them in a
//! batch after each round of input, reaps them when its [`AioQueue`]'s eventfd (in this
//! `Poll`) is readable, and ends their commands on this thread (tgt: usr/bs_aio.c).
//!
//! The connection logic is sans-IO ([`Connection`]); this file only moves bytes: it reads
//! what the PDU framer asks for, hands complete PDUs over, writes the queued PDUs with
//! vectored writes, runs the NOP-In probe tick, and registers sessions.

use std::collections::{HashMap, VecDeque};
use std::io::{self, ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::thread::{JoinHandle, ThreadId};
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token, Waker};

use crate::bs::aio::{self, AioJob, AioQueue};
use crate::bs::pool::WorkerPool;
use crate::bs::rdwr_io::{IoDone, IoError};
use crate::iscsi::chap;
use crate::iscsi::conn::{Connection, Event as ConnEvent, Payload};
use crate::iscsi::login::{Auth, Established, LoginEnv, SessionChoice, TargetAccess};
use crate::iscsi::pdu::digest::Digests;
use crate::iscsi::pdu::{PduReader, TxFrame};
use crate::iscsi::session::{ConnHandle, ConnRecord, ConnStats, Registry};
use crate::iscsi::view::{IscsiView, ViewCell};
use crate::scsi::cmd::{Completer, CompleterRef, NexusId, Response};

/// State shared by every I/O loop and the main loop.
#[derive(Debug)]
pub struct Shared {
    /// The configuration snapshot.
    pub view: ViewCell,
    /// Sessions and connections.
    pub sessions: Arc<Mutex<Registry>>,
    /// Backing-store workers.
    pub pool: Arc<WorkerPool>,
    /// CHAP identifier counter (daemon-wide, as in tgt).
    pub chap_id: AtomicU8,
    /// Every loop's mailbox, to close connections that live elsewhere.
    pub loops: OnceLock<Vec<Mailbox>>,
}

/// A message for an I/O loop.
#[derive(Debug)]
pub enum Msg {
    /// A newly accepted connection to own.
    Accept {
        /// The socket (non-blocking).
        stream: std::net::TcpStream,
        /// Peer address.
        peer: SocketAddr,
        /// Local address.
        local: SocketAddr,
    },
    /// Close a connection (conn delete, forced target delete, reinstatement).
    Close(ConnHandle),
    /// Stop the loop after closing every connection.
    Shutdown,
}

/// The way into a loop: a queue plus its waker.
#[derive(Debug, Clone)]
pub struct Mailbox {
    queue: Arc<Mutex<Vec<Msg>>>,
    waker: Arc<Waker>,
}

impl Mailbox {
    /// Queues a message and wakes the loop.
    pub fn send(&self, msg: Msg) {
        self.queue
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(msg);
        if let Err(e) = self.waker.wake() {
            tracing::warn!(error = %e, "can't wake an I/O loop");
        }
    }
}

/// Completions from backing-store workers to one loop, and the native AIO jobs of
/// aio LUs for the loop to submit.
#[derive(Debug)]
struct Completions {
    queue: Mutex<Vec<(u64, Response)>>,
    aio: Mutex<Vec<AioJob>>,
    waker: Arc<Waker>,
    /// The loop's thread: what it queues itself it handles before it polls again,
    /// without a wake.
    owner: OnceLock<ThreadId>,
}

impl Completions {
    fn wake(&self) {
        if self.owner.get() != Some(&std::thread::current().id()) {
            let _ = self.waker.wake();
        }
    }

    /// True when AIO jobs wait to be submitted.
    fn aio_pending(&self) -> bool {
        !self
            .aio
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_empty()
    }

    /// True when something is queued: the loop must not wait in poll.
    fn pending(&self) -> bool {
        self.aio_pending()
            || !self
                .queue
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .is_empty()
    }
}

impl Completer for Completions {
    fn complete(&self, tag: u64, response: Response) {
        self.queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((tag, response));
        self.wake();
    }

    fn submit_aio(&self, job: AioJob) -> Result<(), AioJob> {
        self.aio
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(job);
        self.wake();
        Ok(())
    }
}

/// Runs an AIO job with blocking calls on a backing-store worker.
fn run_blocking(pool: &WorkerPool, job: AioJob) {
    if let Err(e) = pool.submit(Box::new(move || job.run_blocking())) {
        tracing::error!(error = %e, "cannot queue backing-store i/o");
    }
}

/// The result handler of an AIO transfer: ends the SCSI command.
struct AioDone(Box<dyn FnOnce(Result<IoDone, IoError>) + Send>);

impl std::fmt::Debug for AioDone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AioDone")
    }
}

/// How long a stopping loop waits for its AIO transfers in flight.
const AIO_DRAIN: Duration = Duration::from_secs(30);

const WAKER: Token = Token(0);
/// The loop's AIO eventfd; connection tokens never reach it.
const AIO: Token = Token(usize::MAX);
/// Tokens for connections are slot + 1.
fn conn_token(slot: usize) -> Token {
    Token(slot + 1)
}

/// One PDU waiting to be written.
#[derive(Debug)]
struct Outgoing {
    frame: TxFrame<Payload>,
    written: usize,
}

impl AsRef<[u8]> for Payload {
    fn as_ref(&self) -> &[u8] {
        self.bytes()
    }
}

#[derive(Debug)]
struct Slot {
    stream: TcpStream,
    conn: Connection,
    reader: PduReader,
    tx: VecDeque<Outgoing>,
    handle: ConnHandle,
    peer: SocketAddr,
    tsih: Option<u16>,
    tid: Option<i32>,
    closing: bool,
    nop_countdown: i32,
    stats: Arc<ConnStats>,
    writable_registered: bool,
}

/// Starts `n` I/O loops. Returns their mailboxes and threads.
pub fn start(n: usize, shared: Arc<Shared>) -> io::Result<(Vec<Mailbox>, Vec<JoinHandle<()>>)> {
    let mut boxes = Vec::new();
    let mut threads = Vec::new();
    let mut loops = Vec::new();
    for index in 0..n.max(1) {
        let poll = Poll::new()?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        let mailbox = Mailbox {
            queue: Arc::new(Mutex::new(Vec::new())),
            waker: Arc::clone(&waker),
        };
        boxes.push(mailbox.clone());
        loops.push(IoLoop {
            index,
            poll,
            shared: Arc::clone(&shared),
            mailbox,
            completions: Arc::new(Completions {
                queue: Mutex::new(Vec::new()),
                aio: Mutex::new(Vec::new()),
                waker,
                owner: OnceLock::new(),
            }),
            aio: None,
            slots: Vec::new(),
            generation: 0,
            tags: HashMap::new(),
            next_tag: 1,
            stop: false,
            draining: None,
            rx_buf: Vec::new(),
        });
    }
    let _ = shared.loops.set(boxes.clone());
    for mut l in loops {
        threads.push(
            std::thread::Builder::new()
                .name(format!("io-loop-{}", l.index))
                .spawn(move || l.run())?,
        );
    }
    Ok((boxes, threads))
}

#[derive(Debug)]
struct IoLoop {
    index: usize,
    poll: Poll,
    shared: Arc<Shared>,
    mailbox: Mailbox,
    completions: Arc<Completions>,
    /// Native AIO for aio LUs, set up when the first job arrives; `Err` when that failed
    /// (the jobs then run on workers).
    aio: Option<Result<AioQueue<AioDone>, ()>>,
    slots: Vec<Option<Slot>>,
    generation: u64,
    tags: HashMap<u64, (usize, u64, u32)>,
    next_tag: u64,
    stop: bool,
    /// Shutting down: no new input is read; the deadline for in-flight commands.
    draining: Option<Instant>,
    rx_buf: Vec<u8>,
}

/// Most iovec pieces handed to one `writev` (Linux's IOV_MAX is 1024).
const MAX_IOV: usize = 64;

/// How long a shutting-down loop waits for commands in flight to be answered.
const DRAIN_LIMIT: Duration = Duration::from_secs(10);

/// Size of a loop's receive buffer.
const RX_BUF_LEN: usize = 256 * 1024;

/// How login sees the configuration from inside a loop.
struct Env<'a> {
    view: &'a IscsiView,
    shared: &'a Shared,
    peer: SocketAddr,
    handle: ConnHandle,
    stats: Arc<ConnStats>,
}

impl LoginEnv for Env<'_> {
    fn system_ready(&self) -> bool {
        self.view.system_ready
    }
    fn find_target(&self, name: &str) -> Option<TargetAccess> {
        self.view.by_name(name).map(|t| t.access())
    }
    fn discovery_auth(&self) -> Auth {
        self.view.discovery.clone()
    }
    fn peer(&self) -> std::net::IpAddr {
        self.peer.ip()
    }
    fn find_session(&self, tid: i32, initiator: &str, isid: [u8; 6]) -> Option<u16> {
        self.shared
            .sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .find(tid, initiator, isid)
            .map(|s| s.tsih)
    }
    fn next_chap_id(&mut self) -> u8 {
        self.shared
            .chap_id
            .fetch_add(1, Ordering::Relaxed)
            .wrapping_add(1)
    }
    fn challenge(&mut self) -> [u8; chap::CHALLENGE_LEN] {
        chap::random_challenge().unwrap_or_else(|e| {
            tracing::error!(error = %e, "no random bytes for a CHAP challenge");
            [0; chap::CHALLENGE_LEN]
        })
    }
    fn redirect_callback(&mut self, prog: &str, target: &str) -> Option<String> {
        let out = std::process::Command::new(prog)
            .arg(target)
            .arg(self.peer.ip().to_string())
            .output()
            .ok()?;
        String::from_utf8(out.stdout).ok()
    }
    fn finish(&mut self, est: &Established) -> Result<u16, (u8, u8)> {
        let conn = ConnRecord {
            cid: est.cid,
            peer: self.peer,
            handle: self.handle,
            stats: Arc::clone(&self.stats),
        };
        let mut reg = self
            .shared
            .sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let SessionChoice::Join(tsih) = est.session {
            return if reg.join(tsih, conn) {
                Ok(tsih)
            } else {
                Err(crate::iscsi::login::status::NO_SESSION)
            };
        }
        if let SessionChoice::Reinstate(old) = est.session {
            // The old session's connections are closed by their loops; its nexus goes
            // when the last one is gone.
            if let (Some(s), Some(loops)) = (reg.by_tsih(old), self.shared.loops.get()) {
                for c in &s.conns {
                    if let Some(m) = loops.get(c.handle.io_loop) {
                        m.send(Msg::Close(c.handle));
                    }
                }
            }
        }
        let tsih = reg
            .create(
                est.tid,
                &est.initiator,
                est.alias.as_deref(),
                est.isid,
                conn,
            )
            .ok_or(crate::iscsi::login::status::TARGET_ERROR)?;
        let nexus = NexusId(u64::from(tsih));
        if let Some(t) = self.view.targets.get(&est.tid) {
            let mut luns = Vec::new();
            let isid: String = est.isid.iter().map(|b| format!("{b:02x}")).collect();
            let port = format!("{},i,0x{isid}", est.initiator);
            for (lun, lu) in t.luns.iter() {
                lu.nexus_added_with_port(nexus, &port);
                luns.push(*lun);
            }
            reg.set_luns(tsih, luns);
        }
        tracing::info!(
            tid = est.tid,
            tsih,
            initiator = est.initiator,
            "session created"
        );
        Ok(tsih)
    }
}

/// Data segments at least this long are read straight into their PDU buffer.
const DIRECT_READ_MIN: usize = 16 * 1024;

/// Feeds received bytes to the framer and hands every complete PDU to the connection.
fn feed_and_deliver(
    s: &mut Slot,
    shared: &Shared,
    view: &Arc<IscsiView>,
    mut input: &[u8],
) -> Result<(), String> {
    while !input.is_empty() {
        let used = s.reader.feed(input).map_err(|e| e.to_string())?;
        input = &input[used..];
        deliver(s, shared, view)?;
        if used == 0 {
            break;
        }
    }
    Ok(())
}

/// Hands every complete PDU of the framer to the connection.
fn deliver(s: &mut Slot, shared: &Shared, view: &Arc<IscsiView>) -> Result<(), String> {
    while let Some(p) = s.reader.take_pdu() {
        let pdu = p.map_err(|e| e.to_string())?;
        s.stats.pdu(pdu.bhs.opcode().0);
        let msg = crate::iscsi::conn::decode(pdu);
        let mut env = Env {
            view,
            shared,
            peer: s.peer,
            handle: s.handle,
            stats: Arc::clone(&s.stats),
        };
        s.conn.handle(msg, &mut env, view);
    }
    Ok(())
}

impl IoLoop {
    fn run(&mut self) {
        let _ = self.completions.owner.set(std::thread::current().id());
        let mut events = Events::with_capacity(256);
        let mut last_tick = Instant::now();
        while !self.stop {
            // Work this thread queued for itself (it does not wake itself) comes first.
            let timeout = if self.completions.pending() {
                Duration::ZERO
            } else if self.draining.is_some() {
                Duration::from_millis(20)
            } else {
                Duration::from_secs(1).saturating_sub(last_tick.elapsed())
            };
            if let Err(e) = self.poll.poll(&mut events, Some(timeout)) {
                if e.kind() == ErrorKind::Interrupted {
                    continue;
                }
                tracing::error!(error = %e, "I/O loop poll failed");
                return;
            }
            let mut aio_ready = false;
            for ev in events.iter() {
                match ev.token() {
                    WAKER => {}
                    AIO => aio_ready = true,
                    Token(t) => {
                        let slot = t - 1;
                        let readable = ev.is_readable() || ev.is_read_closed() || ev.is_error();
                        if readable && self.draining.is_none() {
                            self.read(slot);
                        }
                        if ev.is_writable() {
                            self.flush(slot);
                        }
                    }
                }
            }
            self.inbox();
            if aio_ready {
                self.reap_aio();
            }
            self.pump_aio();
            self.drain_completions();
            if last_tick.elapsed() >= Duration::from_secs(1) {
                last_tick = Instant::now();
                self.tick();
            }
            if let Some(deadline) = self.draining {
                let idle =
                    self.tags.is_empty() && self.slots.iter().flatten().all(|s| s.tx.is_empty());
                if idle || Instant::now() >= deadline {
                    self.stop = true;
                }
            }
        }
        for slot in 0..self.slots.len() {
            self.close(slot);
        }
        self.drain_aio();
    }

    /// Sets up the loop's native AIO queue and watches its eventfd. On failure (for
    /// instance /proc/sys/fs/aio-max-nr reached) aio LUs run on workers.
    fn setup_aio(&self) -> Result<AioQueue<AioDone>, ()> {
        let q = AioQueue::new().map_err(|e| {
            tracing::error!(error = %e, "cannot set up native AIO; aio LUs use worker threads");
        })?;
        let raw = q.as_raw_fd();
        self.poll
            .registry()
            .register(&mut SourceFd(&raw), AIO, Interest::READABLE)
            .map_err(|e| {
                tracing::error!(error = %e, "cannot watch the AIO eventfd; aio LUs use worker threads");
            })?;
        tracing::debug!(
            loop_index = self.index,
            depth = aio::DEPTH,
            "native AIO set up"
        );
        Ok(q)
    }

    /// Submits the AIO jobs queued for this loop (from its own commands, or from other
    /// threads that started held-back commands), in one batch after a round of input, as
    /// tgt's bs_aio does at the end of a PDU batch.
    fn pump_aio(&mut self) {
        let jobs = std::mem::take(
            &mut *self
                .completions
                .aio
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        if jobs.is_empty() {
            // What the kernel refused for lack of resources (EAGAIN) is retried here, at
            // least once a second (the tick), as well as after every reap.
            if let Some(Ok(q)) = self.aio.as_mut() {
                q.flush();
            }
            return;
        }
        if self.aio.is_none() {
            self.aio = Some(self.setup_aio());
        }
        let pool = &self.shared.pool;
        let Some(Ok(q)) = self.aio.as_mut() else {
            jobs.into_iter().for_each(|job| run_blocking(pool, job));
            return;
        };
        for AioJob {
            file,
            access,
            io,
            done,
        } in jobs
        {
            if let Err(back) = q.push(AioDone(done), file, access, io) {
                // The SCSI layer sends only aligned writes; should one arrive, a worker
                // does it with the same outcome.
                let job = AioJob {
                    file: back.file,
                    access,
                    io: back.io,
                    done: back.tag.0,
                };
                run_blocking(pool, job);
            }
        }
        q.flush();
    }

    /// Reaps finished AIO transfers and ends their commands; submits what waited.
    fn reap_aio(&mut self) {
        let Some(Ok(q)) = self.aio.as_mut() else {
            return;
        };
        let mut done = Vec::new();
        if let Err(e) = q.reap(&mut done) {
            tracing::error!(error = %e, "io_getevents failed");
        }
        for (finish, result) in done {
            (finish.0)(result);
        }
    }

    /// At shutdown, after the connections are closed: lets the AIO transfers in flight
    /// finish (their responses have nowhere to go), so nothing outlives the loop.
    fn drain_aio(&mut self) {
        let deadline = Instant::now() + AIO_DRAIN;
        loop {
            self.pump_aio();
            let Some(Ok(q)) = self.aio.as_mut() else {
                return;
            };
            if q.is_idle() && !self.completions.aio_pending() {
                return;
            }
            if Instant::now() >= deadline {
                tracing::error!(
                    in_flight = q.in_flight(),
                    "AIO transfers still in flight at shutdown"
                );
                return;
            }
            let mut done = Vec::new();
            if let Err(e) = q.wait(&mut done, Duration::from_millis(100)) {
                tracing::error!(error = %e, "io_getevents failed");
                return;
            }
            for (finish, result) in done {
                (finish.0)(result);
            }
        }
    }

    fn inbox(&mut self) {
        let msgs = std::mem::take(
            &mut *self
                .mailbox
                .queue
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        for m in msgs {
            match m {
                Msg::Accept {
                    stream,
                    peer,
                    local,
                } => self.accept(stream, peer, local),
                Msg::Close(h) => {
                    if self.slot_matches(h) {
                        self.close(h.slot);
                    }
                }
                // Stop reading new commands; finish and answer those in flight first.
                Msg::Shutdown => {
                    self.draining.get_or_insert(Instant::now() + DRAIN_LIMIT);
                }
            }
        }
    }

    fn slot_matches(&self, h: ConnHandle) -> bool {
        self.slots
            .get(h.slot)
            .and_then(Option::as_ref)
            .is_some_and(|s| s.handle == h)
    }

    fn accept(&mut self, stream: std::net::TcpStream, peer: SocketAddr, local: SocketAddr) {
        if let Err(e) = stream.set_nonblocking(true) {
            tracing::warn!(error = %e, "can't make an iSCSI socket non-blocking");
            return;
        }
        let _ = stream.set_nodelay(true);
        let mut stream = TcpStream::from_std(stream);
        let slot = match self.slots.iter().position(Option::is_none) {
            Some(s) => s,
            None => {
                self.slots.push(None);
                self.slots.len() - 1
            }
        };
        if let Err(e) =
            self.poll
                .registry()
                .register(&mut stream, conn_token(slot), Interest::READABLE)
        {
            tracing::warn!(error = %e, "can't watch an iSCSI connection");
            return;
        }
        self.generation += 1;
        let conn = Connection::new(peer, local);
        let reader = PduReader::new(conn.max_recv_dsl());
        self.slots[slot] = Some(Slot {
            stream,
            conn,
            reader,
            tx: VecDeque::new(),
            handle: ConnHandle {
                io_loop: self.index,
                slot,
                generation: self.generation,
            },
            peer,
            tsih: None,
            tid: None,
            closing: false,
            nop_countdown: 0,
            stats: Arc::default(),
            writable_registered: false,
        });
        tracing::debug!(%peer, loop_index = self.index, "iSCSI connection accepted");
        self.read(slot);
    }

    /// Reads until WouldBlock, handing every complete PDU to the connection.
    fn read(&mut self, slot: usize) {
        let view = self.shared.view.get();
        // One receive buffer per loop, lent out for the duration of this call.
        let mut buf = std::mem::take(&mut self.rx_buf);
        if buf.len() < RX_BUF_LEN {
            buf.resize(RX_BUF_LEN, 0);
        }
        self.read_into(slot, &view, &mut buf);
        self.rx_buf = buf;
    }

    fn read_into(&mut self, slot: usize, view: &Arc<IscsiView>, buf: &mut [u8]) {
        loop {
            let Some(s) = self.slots.get_mut(slot).and_then(Option::as_mut) else {
                return;
            };
            if s.closing {
                break;
            }
            // A large data segment goes from the socket straight into the PDU's own buffer
            // instead of through the loop's receive buffer.
            let direct = s.reader.header().is_some() && s.reader.wanted() >= DIRECT_READ_MIN;
            let got = if direct {
                s.stream.read(s.reader.buf_mut())
            } else {
                s.stream.read(buf)
            };
            match got {
                Ok(0) => {
                    self.close(slot);
                    return;
                }
                Ok(n) => {
                    s.stats.rx(n);
                    let delivered = if direct {
                        s.reader
                            .commit(n)
                            .map_err(|e| e.to_string())
                            .and_then(|()| deliver(s, &self.shared, view))
                    } else {
                        feed_and_deliver(s, &self.shared, view, &buf[..n])
                    };
                    if let Err(e) = delivered {
                        tracing::warn!(peer = %s.peer, error = %e, "bad PDU stream");
                        self.close(slot);
                        return;
                    }
                    self.after_input(slot, view);
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => {
                    self.close(slot);
                    return;
                }
            }
        }
        self.after_input(slot, view);
    }

    /// Events, commands and output after a batch of PDUs.
    fn after_input(&mut self, slot: usize, view: &IscsiView) {
        let Some(s) = self.slots.get_mut(slot).and_then(Option::as_mut) else {
            return;
        };
        let mut close_now = false;
        for ev in s.conn.take_events() {
            match ev {
                ConnEvent::LoggedIn(est) => {
                    s.tsih = s.conn.tsih();
                    s.tid = s.conn.tid();
                    let (h, d) = s.conn.digests();
                    s.reader.set_digests(h, d);
                    s.reader.set_max_recv_dsl(s.conn.max_recv_dsl());
                    if let Some(t) = view.targets.get(&est.tid) {
                        s.nop_countdown = t.nop_interval;
                    }
                }
                ConnEvent::CloseAfterFlush => s.closing = true,
                ConnEvent::Close => close_now = true,
                ConnEvent::Reset { lun } => {
                    if let Some(t) = s.tid.and_then(|tid| view.targets.get(&tid)) {
                        for (n, lu) in t.luns.iter() {
                            if lun.map_or(true, |l| l == *n) {
                                lu.reset();
                            }
                        }
                    }
                }
                ConnEvent::Abort { lun, nexus, itt } => {
                    let Some(lu) = s
                        .tid
                        .and_then(|tid| view.targets.get(&tid))
                        .and_then(|t| t.luns.get(&lun))
                    else {
                        continue;
                    };
                    match itt {
                        // The SCSI layer knows the command by this loop's tag.
                        Some(itt) => {
                            let key = (slot, s.handle.generation, itt);
                            let tag = self.tags.iter().find(|(_, v)| **v == key);
                            if let Some((&tag, _)) = tag {
                                let completer: CompleterRef = self.completions.clone();
                                lu.abort_task(&completer, tag);
                            }
                        }
                        None => {
                            lu.abort_task_set(nexus);
                        }
                    }
                }
            }
        }
        if close_now {
            self.close(slot);
            return;
        }
        self.run_commands(slot, view);
        self.flush(slot);
    }

    fn run_commands(&mut self, slot: usize, view: &IscsiView) {
        let Some(s) = self.slots.get_mut(slot).and_then(Option::as_mut) else {
            return;
        };
        let cmds = s.conn.take_commands();
        if cmds.is_empty() {
            return;
        }
        let Some(t) = s.tid.and_then(|tid| view.targets.get(&tid)) else {
            return;
        };
        if !t.ready {
            // tgt drops commands silently while the target is offline.
            return;
        }
        let luns = Arc::clone(&t.luns);
        let completer: CompleterRef = self.completions.clone();
        let generation = s.handle.generation;
        for cmd in cmds {
            let itt = u32::try_from(cmd.tag).unwrap_or(0);
            let tag = self.next_tag;
            self.next_tag += 1;
            self.tags.insert(tag, (slot, generation, itt));
            if let Some(s) = self.slots.get_mut(slot).and_then(Option::as_mut) {
                s.conn.bind_tag(itt, tag);
            }
            let mut cmd = cmd;
            cmd.tag = tag;
            let ctx = crate::scsi::exec::ExecContext {
                luns: &luns,
                pool: &self.shared.pool,
                completer: &completer,
            };
            if let Some(rsp) = crate::scsi::exec::execute(&ctx, cmd) {
                self.tags.remove(&tag);
                if let Some(s) = self.slots.get_mut(slot).and_then(Option::as_mut) {
                    s.conn.complete_tagged(itt, tag, rsp);
                }
            }
        }
    }

    fn drain_completions(&mut self) {
        let done = std::mem::take(
            &mut *self
                .completions
                .queue
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        let mut touched = Vec::new();
        for (tag, rsp) in done {
            let Some((slot, generation, itt)) = self.tags.remove(&tag) else {
                continue;
            };
            if let Some(s) = self.slots.get_mut(slot).and_then(Option::as_mut) {
                if s.handle.generation == generation {
                    s.conn.complete_tagged(itt, tag, rsp);
                    touched.push(slot);
                }
            }
        }
        touched.sort_unstable();
        touched.dedup();
        for slot in touched {
            self.flush(slot);
        }
    }

    /// Encodes queued PDUs and writes until done or WouldBlock.
    fn flush(&mut self, slot: usize) {
        let Some(s) = self.slots.get_mut(slot).and_then(Option::as_mut) else {
            return;
        };
        let (hd, dd) = s.conn.digests();
        while let Some(out) = s.conn.take_output() {
            let (bhs, payload) = out.encode();
            // A Login Response that completes login goes out without digests.
            let digests = if matches!(out, crate::iscsi::conn::Out::Login { .. }) {
                Digests::default()
            } else {
                Digests {
                    header: hd,
                    data: dd,
                }
            };
            match TxFrame::new(&bhs, payload, digests) {
                Ok(frame) => s.tx.push_back(Outgoing { frame, written: 0 }),
                Err(e) => tracing::error!(error = %e, "can't frame a PDU"),
            }
        }
        while !s.tx.is_empty() {
            // Coalesce the queued PDUs into one writev (up to MAX_IOV pieces).
            let mut slices: Vec<std::io::IoSlice<'_>> = Vec::with_capacity(MAX_IOV);
            for f in s.tx.iter() {
                if slices.len() + 3 > MAX_IOV {
                    break;
                }
                slices.extend(
                    f.frame
                        .io_slices(f.written)
                        .into_iter()
                        .filter(|p| !p.is_empty()),
                );
            }
            match s.stream.write_vectored(&slices) {
                Ok(0) => break,
                Ok(n) => {
                    s.stats.tx(n);
                    let mut n = n;
                    while n > 0 {
                        let Some(f) = s.tx.front_mut() else { break };
                        let left = f.frame.len() - f.written;
                        if n >= left {
                            n -= left;
                            s.tx.pop_front();
                        } else {
                            f.written += n;
                            n = 0;
                        }
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => {
                    self.close(slot);
                    return;
                }
            }
        }
        let pending = !s.tx.is_empty();
        if pending != s.writable_registered {
            let interest = if pending {
                Interest::READABLE | Interest::WRITABLE
            } else {
                Interest::READABLE
            };
            let _ = self
                .poll
                .registry()
                .reregister(&mut s.stream, conn_token(slot), interest);
            s.writable_registered = pending;
        }
        if s.closing && !pending {
            self.close(slot);
        }
    }

    /// NOP-In keep-alive, once a second. tgt: `iscsi_tcp_nop_work_handler()`
    fn tick(&mut self) {
        let view = self.shared.view.get();
        let mut to_flush = Vec::new();
        let mut to_close = Vec::new();
        for (i, s) in self.slots.iter_mut().enumerate() {
            let Some(s) = s else { continue };
            let Some(t) = s.tid.and_then(|tid| view.targets.get(&tid)) else {
                continue;
            };
            if t.nop_interval <= 0 {
                continue;
            }
            s.nop_countdown -= 1;
            if s.nop_countdown > 0 {
                continue;
            }
            s.nop_countdown = t.nop_interval;
            if s.conn.nop_probe(t.nop_count) {
                to_flush.push(i);
            } else {
                to_close.push(i);
            }
        }
        for i in to_close {
            self.close(i);
        }
        for i in to_flush {
            self.flush(i);
        }
    }

    fn close(&mut self, slot: usize) {
        let Some(mut s) = self.slots.get_mut(slot).and_then(Option::take) else {
            return;
        };
        let _ = self.poll.registry().deregister(&mut s.stream);
        self.tags.retain(|_, (sl, _, _)| *sl != slot);
        if let Some(tsih) = s.tsih {
            let ended = self
                .shared
                .sessions
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .remove_conn(tsih, s.handle);
            if let Some(rec) = ended {
                let view = self.shared.view.get();
                if let Some(t) = view.targets.get(&rec.tid) {
                    for lu in t.luns.values() {
                        lu.nexus_removed(rec.nexus());
                    }
                }
                tracing::info!(tsih, tid = rec.tid, "session closed");
            }
        }
        tracing::debug!(peer = %s.peer, "iSCSI connection closed");
    }
}
