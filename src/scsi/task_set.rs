//! The task set of a logical unit: which commands may start now, given their task
//! attributes, and which wait for earlier ones.
//!
//! Owns the rules of SAM-5 §8.6 (task attributes) and the bookkeeping behind them: the
//! number of enabled commands, how many of them hold the set blocked (ORDERED and HEAD
//! OF QUEUE), and a FIFO of commands held back (the dormant state, SAM-5 §8.5). It does
//! not run commands: `exec` admits a command here, runs it when admitted, and reports its
//! completion here, which hands back the commands that may start next. Knows nothing of
//! iSCSI. Held inside [`LuState`](super::lu::LuState), under the LU's one mutex.
//! tgt: usr/target.c `cmd_enabled()`, `cmd_post_perform()`, `post_cmd_done()`,
//! `__cmd_done()`, `abort_task_set()`.
//!
//! - SIMPLE (and untagged) starts unless an ORDERED or HEAD OF QUEUE command is running
//!   or an older command is still held back.
//! - ORDERED (and ACA, and anything unknown, as tgt's iSCSI driver maps them) starts when
//!   no command is running and none is held back; it blocks the set until it completes.
//! - HEAD OF QUEUE starts at once and blocks the set until it completes.
//!
//! On every completion the held-back commands start in arrival order, as far as the
//! rules allow; the first that may not start stops the scan, so none overtakes an older.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use crate::bs::pool::WorkerPool;

use super::cmd::{Command, CompleterRef, NexusId, TaskAttr};
use super::lu::Lu;

/// How a command's task attribute constrains the task set. SAM-5 §8.6
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskClass {
    /// SIMPLE or untagged.
    Simple,
    /// ORDERED, and the attributes tgt treats as ORDERED (ACA, reserved values).
    Ordered,
    /// HEAD OF QUEUE.
    HeadOfQueue,
}

impl TaskClass {
    /// The class of a transport's task attribute. tgt: usr/iscsi/iscsid.c `cmd_attr()`
    /// maps untagged to SIMPLE and everything but SIMPLE/HEAD OF QUEUE to ORDERED.
    pub fn of(attr: TaskAttr) -> Self {
        match attr {
            TaskAttr::Untagged | TaskAttr::Simple => Self::Simple,
            TaskAttr::HeadOfQueue => Self::HeadOfQueue,
            // ACA is not supported (the NACA bit is refused in every CDB), so no ACA
            // condition ever exists; tgt runs such commands as ORDERED, and so do we.
            TaskAttr::Ordered | TaskAttr::Aca => Self::Ordered,
        }
    }

    /// Whether a running command of this class keeps the others out.
    fn blocks(self) -> bool {
        self != Self::Simple
    }
}

/// A command held back, with everything it needs to start later on another thread.
#[derive(Debug)]
pub(crate) struct Deferred {
    /// The command, untouched.
    pub cmd: Command,
    /// Its class.
    pub class: TaskClass,
    /// The target's LUs it was addressed through (REPORT LUNS and unit attentions use them).
    pub luns: Arc<BTreeMap<u64, Arc<Lu>>>,
    /// The backing-store worker pool.
    pub pool: Arc<WorkerPool>,
    /// Where its response goes.
    pub completer: CompleterRef,
}

/// Which held-back commands a task management function removes. SAM-5 §7
#[derive(Debug, Clone, Copy)]
pub(crate) enum AbortScope<'a> {
    /// ABORT TASK: the command the transport submitted as `tag` with `completer`.
    Task {
        /// The submitting transport's completer (tags are unique per completer).
        completer: &'a CompleterRef,
        /// The transport's tag.
        tag: u64,
    },
    /// ABORT TASK SET, I_T nexus loss: every command of one I_T nexus.
    Nexus(NexusId),
    /// LOGICAL UNIT RESET: everything.
    All,
}

impl AbortScope<'_> {
    fn matches(&self, d: &Deferred) -> bool {
        match self {
            Self::Task { completer, tag } => {
                d.cmd.tag == *tag && Arc::ptr_eq(&d.completer, completer)
            }
            Self::Nexus(n) => d.cmd.nexus == *n,
            Self::All => true,
        }
    }
}

/// The task set of one LU. SAM-5 §8; tgt: usr/tgtd.h `struct tgt_cmd_queue`
#[derive(Debug, Default)]
pub struct TaskSet {
    /// Commands started and not yet completed (tgt `active_cmd`).
    active: usize,
    /// Of those, the ORDERED and HEAD OF QUEUE ones.
    // COMPAT: tgt keeps one "blocked" bit, which the first blocking command to complete
    // clears while another (a HEAD OF QUEUE that overtook an ORDERED, or a second HEAD OF
    // QUEUE) still runs; SAM-5 §8.6.2 keeps SIMPLE commands out until all have completed.
    blocking: usize,
    /// Commands held back, oldest first.
    deferred: VecDeque<Deferred>,
}

impl TaskSet {
    /// Commands running (started, not completed).
    pub fn active(&self) -> usize {
        self.active
    }

    /// Running commands that hold the set blocked (ORDERED, HEAD OF QUEUE).
    pub fn blocking(&self) -> usize {
        self.blocking
    }

    /// Commands held back.
    pub fn deferred(&self) -> usize {
        self.deferred.len()
    }

    /// Whether a command of `class` at the head of the line may start: SAM-5 §8.6.2
    /// (SIMPLE: no ORDERED or HEAD OF QUEUE command running), §8.6.3 (ORDERED: nothing
    /// running), §8.6.4 (HEAD OF QUEUE: always). tgt: `cmd_enabled()`
    fn may_start(&self, class: TaskClass) -> bool {
        match class {
            TaskClass::Simple => self.blocking == 0,
            TaskClass::Ordered => self.active == 0,
            TaskClass::HeadOfQueue => true,
        }
    }

    /// Counts a command as started. tgt: `cmd_post_perform()`
    fn start(&mut self, class: TaskClass) {
        self.active += 1;
        if class.blocks() {
            self.blocking += 1;
        }
    }

    /// A new command arrives: `true` when it starts now (and is counted running), `false`
    /// when the caller must [`defer`](Self::defer) it. Besides [`may_start`](Self::may_start),
    /// a SIMPLE or ORDERED command waits behind any command already held back: that one is
    /// older, and an ORDERED command among them must go first. tgt: `target_cmd_perform()`
    // COMPAT: tgt only looks at the blocked bit, so a SIMPLE command arriving while an
    // ORDERED one waits for earlier commands overtakes it (SAM-5 §8.6.2 forbids that).
    pub(crate) fn admit(&mut self, class: TaskClass) -> bool {
        let behind = class != TaskClass::HeadOfQueue && !self.deferred.is_empty();
        if behind || !self.may_start(class) {
            return false;
        }
        self.start(class);
        true
    }

    /// Holds `d` back until [`complete`](Self::complete) releases it.
    pub(crate) fn defer(&mut self, d: Deferred) {
        self.deferred.push_back(d);
    }

    /// A started command of `class` completed. Returns the held-back commands that start
    /// now, in order, already counted as running. tgt: `__cmd_done()`, `post_cmd_done()`
    pub(crate) fn complete(&mut self, class: TaskClass) -> Vec<Deferred> {
        self.active = self.active.saturating_sub(1);
        if class.blocks() {
            self.blocking = self.blocking.saturating_sub(1);
        }
        self.release()
    }

    /// Starts held-back commands from the front while the rules allow.
    fn release(&mut self) -> Vec<Deferred> {
        let mut ready = Vec::new();
        while let Some(class) = self.deferred.front().map(|d| d.class) {
            if !self.may_start(class) {
                break;
            }
            self.start(class);
            ready.extend(self.deferred.pop_front());
        }
        ready
    }

    /// Removes the held-back commands in `scope`. Returns them (they never started and
    /// must not) and the commands that may start now that they are gone (an aborted
    /// ORDERED command no longer holds back the SIMPLE ones behind it).
    /// tgt: usr/target.c `abort_task_set()`
    pub(crate) fn remove(&mut self, scope: AbortScope<'_>) -> (Vec<Deferred>, Vec<Deferred>) {
        let mut removed = Vec::new();
        let mut kept = VecDeque::with_capacity(self.deferred.len());
        for d in self.deferred.drain(..) {
            if scope.matches(&d) {
                removed.push(d);
            } else {
                kept.push_back(d);
            }
        }
        self.deferred = kept;
        let ready = if removed.is_empty() {
            Vec::new()
        } else {
            self.release()
        };
        (removed, ready)
    }
}

#[cfg(test)]
mod tests {
    //! The rules alone, without I/O; `exec`'s tests drive them through real commands.

    use super::*;
    use crate::scsi::cmd::{Completer, Response};

    #[derive(Debug)]
    struct Nowhere;
    impl Completer for Nowhere {
        fn complete(&self, _: u64, _: Response) {}
    }

    fn deferred(tag: u64, class: TaskClass, nexus: u64, completer: &CompleterRef) -> Deferred {
        Deferred {
            cmd: Command {
                cdb: vec![0; 6],
                lun: [0, 1, 0, 0, 0, 0, 0, 0],
                attr: TaskAttr::Simple,
                nexus: NexusId(nexus),
                tag,
                expected_in: 0,
                expected_out: 0,
                data_out: Vec::new(),
            },
            class,
            luns: Arc::new(BTreeMap::new()),
            pool: POOL.with(Arc::clone),
            completer: Arc::clone(completer),
        }
    }

    thread_local! {
        static POOL: Arc<WorkerPool> = Arc::new(WorkerPool::new(1).unwrap());
    }

    fn tags(v: &[Deferred]) -> Vec<u64> {
        v.iter().map(|d| d.cmd.tag).collect()
    }

    /// Admits or defers, as `exec` does.
    fn arrive(ts: &mut TaskSet, tag: u64, class: TaskClass, c: &CompleterRef) -> bool {
        if ts.admit(class) {
            true
        } else {
            ts.defer(deferred(tag, class, 1, c));
            false
        }
    }

    #[test]
    fn attributes_map_as_tgt_does() {
        assert_eq!(TaskClass::of(TaskAttr::Untagged), TaskClass::Simple);
        assert_eq!(TaskClass::of(TaskAttr::Simple), TaskClass::Simple);
        assert_eq!(TaskClass::of(TaskAttr::Ordered), TaskClass::Ordered);
        assert_eq!(TaskClass::of(TaskAttr::HeadOfQueue), TaskClass::HeadOfQueue);
        assert_eq!(TaskClass::of(TaskAttr::Aca), TaskClass::Ordered);
        assert_eq!(TaskClass::of(TaskAttr::from_iscsi(7)), TaskClass::Ordered);
    }

    #[test]
    fn ordered_waits_for_running_commands_then_blocks_the_set() {
        let c: CompleterRef = Arc::new(Nowhere);
        let mut ts = TaskSet::default();
        assert!(arrive(&mut ts, 1, TaskClass::Simple, &c));
        assert!(arrive(&mut ts, 2, TaskClass::Simple, &c));
        assert!(!arrive(&mut ts, 3, TaskClass::Ordered, &c));
        assert!(!arrive(&mut ts, 4, TaskClass::Simple, &c));
        assert_eq!((ts.active(), ts.deferred()), (2, 2));
        assert!(tags(&ts.complete(TaskClass::Simple)).is_empty());
        assert_eq!(tags(&ts.complete(TaskClass::Simple)), [3]);
        assert_eq!((ts.active(), ts.blocking(), ts.deferred()), (1, 1, 1));
        assert_eq!(tags(&ts.complete(TaskClass::Ordered)), [4]);
        assert_eq!(tags(&ts.complete(TaskClass::Simple)), Vec::<u64>::new());
        assert_eq!((ts.active(), ts.blocking(), ts.deferred()), (0, 0, 0));
    }

    #[test]
    fn simple_commands_after_an_ordered_one_start_together() {
        let c: CompleterRef = Arc::new(Nowhere);
        let mut ts = TaskSet::default();
        assert!(arrive(&mut ts, 1, TaskClass::Ordered, &c));
        for tag in 2..5 {
            assert!(!arrive(&mut ts, tag, TaskClass::Simple, &c));
        }
        assert!(!arrive(&mut ts, 5, TaskClass::Ordered, &c));
        assert!(!arrive(&mut ts, 6, TaskClass::Simple, &c));
        assert_eq!(tags(&ts.complete(TaskClass::Ordered)), [2, 3, 4]);
        assert_eq!(ts.active(), 3);
        assert!(ts.complete(TaskClass::Simple).is_empty());
        assert!(ts.complete(TaskClass::Simple).is_empty());
        assert_eq!(tags(&ts.complete(TaskClass::Simple)), [5]);
        assert_eq!(tags(&ts.complete(TaskClass::Ordered)), [6]);
    }

    #[test]
    fn head_of_queue_starts_at_once_and_every_one_must_finish() {
        let c: CompleterRef = Arc::new(Nowhere);
        let mut ts = TaskSet::default();
        assert!(arrive(&mut ts, 1, TaskClass::Ordered, &c));
        assert!(arrive(&mut ts, 2, TaskClass::HeadOfQueue, &c));
        assert!(arrive(&mut ts, 3, TaskClass::HeadOfQueue, &c));
        assert!(!arrive(&mut ts, 4, TaskClass::Simple, &c));
        assert_eq!((ts.active(), ts.blocking()), (3, 3));
        // tgt would let 4 start here; two HEAD OF QUEUE commands still run.
        assert!(ts.complete(TaskClass::Ordered).is_empty());
        assert!(ts.complete(TaskClass::HeadOfQueue).is_empty());
        assert_eq!(tags(&ts.complete(TaskClass::HeadOfQueue)), [4]);
    }

    #[test]
    fn removing_a_waiting_ordered_command_releases_those_behind_it() {
        let c: CompleterRef = Arc::new(Nowhere);
        let other: CompleterRef = Arc::new(Nowhere);
        let mut ts = TaskSet::default();
        assert!(arrive(&mut ts, 1, TaskClass::Simple, &c));
        assert!(!arrive(&mut ts, 2, TaskClass::Ordered, &c));
        assert!(!arrive(&mut ts, 3, TaskClass::Simple, &c));
        // Same tag, other transport: not the one.
        let (gone, ready) = ts.remove(AbortScope::Task {
            completer: &other,
            tag: 2,
        });
        assert!(gone.is_empty() && ready.is_empty());
        let (gone, ready) = ts.remove(AbortScope::Task {
            completer: &c,
            tag: 2,
        });
        assert_eq!((tags(&gone), tags(&ready)), (vec![2], vec![3]));
        assert_eq!((ts.active(), ts.deferred()), (2, 0));
    }

    #[test]
    fn removal_by_nexus_and_all() {
        let c: CompleterRef = Arc::new(Nowhere);
        let mut ts = TaskSet::default();
        assert!(ts.admit(TaskClass::HeadOfQueue));
        for (tag, nexus) in [(1, 1), (2, 2), (3, 1), (4, 2)] {
            assert!(!ts.admit(TaskClass::Simple));
            ts.defer(deferred(tag, TaskClass::Simple, nexus, &c));
        }
        let (gone, ready) = ts.remove(AbortScope::Nexus(NexusId(2)));
        assert_eq!((tags(&gone), ready.len()), (vec![2, 4], 0));
        let (gone, _) = ts.remove(AbortScope::All);
        assert_eq!(tags(&gone), [1, 3]);
        assert_eq!((ts.active(), ts.deferred()), (1, 0));
    }
}

#[cfg(test)]
mod with_commands {
    //! Real commands through `exec::execute` on an rdwr LU, with the worker pool plugged
    //! by jobs that wait for a signal: what is running and what waits is then fixed until
    //! the test opens the plug, whatever the pool's scheduling.

    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{Arc, Condvar, Mutex};
    use std::time::Duration;

    use crate::bs::pool::WorkerPool;
    use crate::scsi::cmd::{Command, NexusId, Response, TaskAttr};
    use crate::scsi::exec::testutil::*;
    use crate::scsi::exec::{encode_lun, execute, ExecContext};
    use crate::scsi::sense::{asc, Sense, SenseKey};

    /// Every worker of a pool waits in a job until [`Plug::open`] (or drop).
    struct Plug(Arc<(Mutex<bool>, Condvar)>);

    impl Plug {
        fn new(pool: &WorkerPool) -> Self {
            let gate = Arc::new((Mutex::new(false), Condvar::new()));
            // The jobs are queued before any command: each worker takes one and stays.
            for _ in 0..pool.threads() {
                let gate = Arc::clone(&gate);
                pool.submit(Box::new(move || {
                    let (open, cv) = &*gate;
                    let mut o = open.lock().unwrap();
                    while !*o {
                        o = cv.wait(o).unwrap();
                    }
                }))
                .unwrap();
            }
            Self(gate)
        }

        fn open(&self) {
            *self.0 .0.lock().unwrap() = true;
            self.0 .1.notify_all();
        }
    }

    impl Drop for Plug {
        fn drop(&mut self) {
            self.open();
        }
    }

    fn read10(lba: u8, n: u8) -> Vec<u8> {
        vec![0x28, 0, 0, 0, 0, lba, 0, 0, n, 0]
    }

    fn write10(lba: u8, n: u8) -> Vec<u8> {
        vec![0x2a, 0, 0, 0, 0, lba, 0, 0, n, 0]
    }

    const TUR: [u8; 6] = [0; 6];

    static TAG: AtomicU64 = AtomicU64::new(1000);

    /// Submits one command to LUN 1; returns its tag and the response if it finished now.
    fn submit(
        h: &Harness,
        nexus: NexusId,
        attr: TaskAttr,
        cdb: &[u8],
        data_out: &[u8],
        expected_in: u32,
    ) -> (u64, Option<Response>) {
        let tag = TAG.fetch_add(1, Ordering::Relaxed);
        let cmd = Command {
            cdb: cdb.to_vec(),
            lun: encode_lun(1),
            attr,
            nexus,
            tag,
            expected_in,
            expected_out: u32::try_from(data_out.len()).unwrap(),
            data_out: data_out.to_vec(),
        };
        let ctx = ExecContext {
            luns: &h.luns,
            pool: &h.pool,
            completer: &h.completer,
        };
        (tag, execute(&ctx, cmd))
    }

    /// `n` completions, in the order they arrived.
    fn collect(h: &Harness, n: usize) -> Vec<(u64, Response)> {
        (0..n)
            .map(|_| {
                h.rx.recv_timeout(Duration::from_secs(20))
                    .expect("completion")
            })
            .collect()
    }

    fn position(done: &[(u64, Response)], tag: u64) -> usize {
        done.iter()
            .position(|(t, _)| *t == tag)
            .expect("tag completed")
    }

    fn response(done: &[(u64, Response)], tag: u64) -> &Response {
        &done[position(done, tag)].1
    }

    /// (active, blocking, deferred) of LUN 1.
    fn counts(h: &Harness) -> (usize, usize, usize) {
        let st = h.lu().state();
        (st.tasks.active(), st.tasks.blocking(), st.tasks.deferred())
    }

    #[test]
    fn simple_commands_run_together() {
        let h = Harness::disk(1 << 20);
        let plug = Plug::new(&h.pool);
        let tags: Vec<u64> = (0..3)
            .map(|i| {
                let (tag, now) = submit(&h, I1, TaskAttr::Simple, &read10(i, 1), &[], 512);
                assert!(now.is_none());
                tag
            })
            .collect();
        let (tag, now) = submit(&h, I2, TaskAttr::Untagged, &read10(3, 1), &[], 512);
        assert!(now.is_none());
        // All four are on the (plugged) pool at once; none waits in the task set.
        assert_eq!(counts(&h), (4, 0, 0));
        plug.open();
        let done = collect(&h, 4);
        for t in tags.iter().chain([&tag]) {
            assert_good(response(&done, *t));
        }
        assert_eq!(counts(&h), (0, 0, 0));
    }

    #[test]
    fn ordered_waits_for_older_commands_and_holds_back_newer_ones() {
        let h = Harness::disk(1 << 20);
        let plug = Plug::new(&h.pool);
        let (a, now) = submit(&h, I1, TaskAttr::Simple, &write10(0, 1), &[b'A'; 512], 0);
        assert!(now.is_none());
        let (b, now) = submit(&h, I2, TaskAttr::Ordered, &read10(0, 1), &[], 512);
        assert!(now.is_none());
        let (c, now) = submit(&h, I1, TaskAttr::Simple, &write10(0, 1), &[b'C'; 512], 0);
        assert!(now.is_none());
        // A synchronous command waits too, and reaches the completer.
        let (d, now) = submit(&h, I1, TaskAttr::Simple, &TUR, &[], 0);
        assert!(now.is_none());
        assert_eq!(counts(&h), (1, 0, 3));
        plug.open();
        let done = collect(&h, 4);
        let order: Vec<u64> = done.iter().map(|(t, _)| *t).collect();
        assert_eq!(order[..2], [a, b], "B runs after A, alone");
        assert_eq!(response(&done, b).data_in, [b'A'; 512], "B saw A's write");
        assert!(position(&done, c) > position(&done, b));
        assert!(position(&done, d) > position(&done, b));
        for (_, r) in &done {
            assert_good(r);
        }
        assert_eq!(
            &h.file.as_ref().unwrap().contents()[..512],
            &[b'C'; 512][..]
        );
        assert_eq!(counts(&h), (0, 0, 0));
    }

    #[test]
    fn head_of_queue_overtakes_waiting_commands_and_blocks_newer_ones() {
        let h = Harness::disk(1 << 20);
        let plug = Plug::new(&h.pool);
        let (a, _) = submit(&h, I1, TaskAttr::Simple, &write10(0, 1), &[b'A'; 512], 0);
        let (b, now) = submit(&h, I1, TaskAttr::Ordered, &write10(0, 1), &[b'B'; 512], 0);
        assert!(now.is_none());
        let (hq, now) = submit(&h, I2, TaskAttr::HeadOfQueue, &read10(1, 1), &[], 512);
        assert!(now.is_none());
        assert_eq!(
            counts(&h),
            (2, 1, 1),
            "HEAD OF QUEUE started past the ORDERED one"
        );
        // A synchronous HEAD OF QUEUE command answers at once.
        let (_, now) = submit(&h, I2, TaskAttr::HeadOfQueue, &TUR, &[], 0);
        assert_good(&now.expect("HEAD OF QUEUE TEST UNIT READY runs at once"));
        let (c, now) = submit(&h, I2, TaskAttr::Simple, &read10(0, 1), &[], 512);
        assert!(now.is_none());
        assert_eq!(counts(&h), (2, 1, 2));
        plug.open();
        let done = collect(&h, 4);
        assert!(position(&done, b) > position(&done, a));
        assert!(position(&done, b) > position(&done, hq));
        assert!(position(&done, c) > position(&done, b));
        assert_eq!(response(&done, c).data_in, [b'B'; 512]);
        assert_eq!(
            response(&done, hq).data_in,
            (512..1024).map(pattern).collect::<Vec<_>>()
        );
        assert_eq!(counts(&h), (0, 0, 0));
    }

    #[test]
    fn head_of_queue_holds_back_simple_commands_until_it_completes() {
        let h = Harness::disk(1 << 20);
        let plug = Plug::new(&h.pool);
        let (hq, _) = submit(
            &h,
            I1,
            TaskAttr::HeadOfQueue,
            &write10(2, 1),
            &[b'H'; 512],
            0,
        );
        let (s, now) = submit(&h, I2, TaskAttr::Simple, &read10(2, 1), &[], 512);
        assert!(now.is_none());
        assert_eq!(counts(&h), (1, 1, 1));
        plug.open();
        let done = collect(&h, 2);
        assert_eq!([done[0].0, done[1].0], [hq, s]);
        assert_eq!(done[1].1.data_in, [b'H'; 512]);
    }

    #[test]
    fn checks_and_statistics_happen_when_a_held_back_command_starts() {
        let h = Harness::disk(1 << 20);
        let plug = Plug::new(&h.pool);
        let (a, _) = submit(&h, I1, TaskAttr::Simple, &read10(0, 1), &[], 512);
        let (b, now) = submit(&h, I2, TaskAttr::Ordered, &TUR, &[], 0);
        assert!(now.is_none());
        let (c, now) = submit(&h, I2, TaskAttr::Simple, &read10(0, 2), &[], 1024);
        assert!(now.is_none());
        // Not counted yet: C has not started.
        assert_eq!(h.lu().state().stats[&I2].rd_subm_cmds, 0);
        // A unit attention that appears while B waits is B's to report, as in tgt.
        h.lu()
            .state()
            .ua_others(I1, Sense::new(SenseKey::UNIT_ATTENTION, asc::POWERON_RESET));
        plug.open();
        let done = collect(&h, 3);
        assert_eq!(done.iter().map(|(t, _)| *t).collect::<Vec<_>>(), [a, b, c]);
        assert_check(response(&done, b), 0x06, 0x29, 0x00);
        assert_good(response(&done, c));
        let st = h.lu().state().stats[&I2];
        assert_eq!(
            (st.rd_subm_cmds, st.rd_done_cmds, st.rd_done_bytes),
            (1, 1, 1024)
        );
        assert_eq!(st.errors, 1);
    }

    #[test]
    fn abort_task_drops_a_held_back_command_and_releases_those_behind_it() {
        let h = Harness::disk(1 << 20);
        let plug = Plug::new(&h.pool);
        let (a, _) = submit(&h, I1, TaskAttr::Simple, &write10(0, 1), &[b'A'; 512], 0);
        let (b, _) = submit(&h, I1, TaskAttr::Ordered, &write10(1, 1), &[b'B'; 512], 0);
        let (c, _) = submit(&h, I2, TaskAttr::Simple, &write10(2, 1), &[b'C'; 512], 0);
        assert_eq!(counts(&h), (1, 0, 2));
        let other = Arc::clone(&h.completer);
        assert!(!h.lu().abort_task(&other, a), "A already started");
        assert!(h.lu().abort_task(&h.completer, b));
        assert!(!h.lu().abort_task(&h.completer, b));
        // B is gone: C no longer waits for it.
        assert_eq!(counts(&h), (2, 0, 0));
        let (t, r) = h.rx.recv_timeout(Duration::from_secs(20)).unwrap();
        assert_eq!((t, r.status.0, r.sense.len()), (b, 0x40, 0));
        plug.open();
        let done = collect(&h, 2);
        assert_good(response(&done, a));
        assert_good(response(&done, c));
        let f = h.file.as_ref().unwrap().contents();
        assert_eq!(
            &f[512..1024],
            (512..1024).map(pattern).collect::<Vec<_>>(),
            "B never ran"
        );
        assert_eq!(&f[1024..1536], &[b'C'; 512][..]);
        // B was never submitted as far as the statistics go.
        assert_eq!(h.lu().state().stats[&I1].wr_subm_cmds, 1);
        assert_eq!(counts(&h), (0, 0, 0));
    }

    #[test]
    fn abort_task_set_reset_and_nexus_loss_drop_held_back_commands() {
        let h = Harness::disk(1 << 20);
        let plug = Plug::new(&h.pool);
        let (x, _) = submit(&h, I1, TaskAttr::HeadOfQueue, &read10(0, 1), &[], 512);
        let (s1, _) = submit(&h, I1, TaskAttr::Simple, &read10(1, 1), &[], 512);
        let (s2, _) = submit(&h, I2, TaskAttr::Simple, &read10(2, 1), &[], 512);
        let (s3, _) = submit(&h, I1, TaskAttr::Ordered, &read10(3, 1), &[], 512);
        let n3 = NexusId(3);
        h.lu().nexus_joined(n3);
        let (s4, _) = submit(&h, n3, TaskAttr::Simple, &read10(4, 1), &[], 512);
        assert_eq!(counts(&h), (1, 1, 4));
        assert!(h.lu().abort_task_set(I1));
        assert!(!h.lu().abort_task_set(I1));
        assert_eq!(
            counts(&h),
            (1, 1, 2),
            "I2's and nexus 3's commands still wait"
        );
        h.lu().nexus_removed(n3);
        assert_eq!(counts(&h), (1, 1, 1));
        h.lu().reset();
        assert_eq!(counts(&h), (1, 1, 0));
        assert!(!h.lu().abort_all());
        let aborted = collect(&h, 4);
        let mut tags: Vec<u64> = aborted.iter().map(|(t, _)| *t).collect();
        tags.sort_unstable();
        assert_eq!(tags, [s1, s2, s3, s4]);
        assert!(aborted.iter().all(|(_, r)| r.status.0 == 0x40));
        plug.open();
        let done = collect(&h, 1);
        assert_eq!(done[0].0, x);
        assert_good(&done[0].1);
        assert_eq!(counts(&h), (0, 0, 0));
    }

    /// Four initiator threads, each with its own completer, send mixed attributes while
    /// the whole pool is plugged; everything completes once it opens, and the task set
    /// ends empty. Commands released by a completion start on a worker and queue behind
    /// the others: nothing waits for a worker while holding one.
    #[test]
    fn saturated_pool_with_mixed_attributes_does_not_deadlock() {
        const THREADS: u64 = 4;
        const PER_THREAD: u64 = 60;
        let h = Harness::disk(1 << 20);
        let plug = Plug::new(&h.pool);
        let receivers: Vec<_> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..THREADS)
                .map(|t| {
                    let (luns, pool) = (&h.luns, &h.pool);
                    s.spawn(move || {
                        let (tx, rx) = std::sync::mpsc::channel();
                        let completer: crate::scsi::cmd::CompleterRef =
                            Arc::new(ChannelCompleter(Mutex::new(tx)));
                        let ctx = ExecContext {
                            luns,
                            pool,
                            completer: &completer,
                        };
                        let mut now = 0;
                        for i in 0..PER_THREAD {
                            let attr = match i % 7 {
                                0 => TaskAttr::Ordered,
                                3 => TaskAttr::HeadOfQueue,
                                5 => TaskAttr::Untagged,
                                _ => TaskAttr::Simple,
                            };
                            let lba = u8::try_from((t * PER_THREAD + i) % 200).unwrap();
                            let (cdb, out, exp_in) = match i % 3 {
                                0 => (write10(lba, 1), vec![lba; 512], 0),
                                1 => (read10(lba, 1), Vec::new(), 512),
                                _ => (TUR.to_vec(), Vec::new(), 0),
                            };
                            let cmd = Command {
                                cdb,
                                lun: encode_lun(1),
                                attr,
                                nexus: NexusId(10 + t),
                                tag: i,
                                expected_in: exp_in,
                                expected_out: u32::try_from(out.len()).unwrap(),
                                data_out: out,
                            };
                            if let Some(r) = execute(&ctx, cmd) {
                                assert_eq!(r.status.0, 0x00);
                                now += 1;
                            }
                        }
                        (rx, now)
                    })
                })
                .collect();
            handles.into_iter().map(|j| j.join().unwrap()).collect()
        });
        plug.open();
        for (rx, now) in receivers {
            let mut tags: Vec<u64> = (now..PER_THREAD)
                .map(|_| {
                    let (tag, r) = rx
                        .recv_timeout(Duration::from_secs(20))
                        .expect("completion");
                    assert_eq!(r.status.0, 0x00, "sense {:02x?}", r.sense);
                    tag
                })
                .collect();
            tags.sort_unstable();
            tags.dedup();
            assert_eq!(u64::try_from(tags.len()).unwrap(), PER_THREAD - now);
        }
        assert_eq!(counts(&h), (0, 0, 0));
    }
}
