//! The backing-store worker pool: one pool of `-t/--nr_iothreads` threads for the whole
//! daemon, not C tgt's 16 threads per LU.
//!
//! COMPAT: C tgt starts `nr_iothreads` threads for every LU (1600 threads for 100 LUs) and a
//! busy LU can only use its own; here every LU shares one pool, so the thread count does not
//! grow with the LU count and an idle LU's threads are not wasted.
//! Jobs are closures that own everything they touch (buffers, `Arc<File>`); they report
//! through the transport's completer, never by borrowing from a connection.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

/// A unit of blocking work (pread, pwrite, fdatasync, ...).
pub type Job = Box<dyn FnOnce() + Send + 'static>;

/// The queue the workers share. Idle workers wait on the condition variable, so a new job
/// wakes exactly one of them (a channel receiver behind a mutex would wake a second
/// thread per job to take the lock over, which doubled the context switches of a
/// queue-depth-1 read).
#[derive(Default)]
struct Queue {
    state: Mutex<QueueState>,
    ready: Condvar,
}

#[derive(Default)]
struct QueueState {
    jobs: VecDeque<Job>,
    closed: bool,
}

impl std::fmt::Debug for Queue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Queue").finish_non_exhaustive()
    }
}

impl Queue {
    fn lock(&self) -> std::sync::MutexGuard<'_, QueueState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A fixed set of worker threads fed from one queue.
#[derive(Debug)]
pub struct WorkerPool {
    queue: Arc<Queue>,
    workers: Vec<JoinHandle<()>>,
}

/// The pool has shut down.
#[derive(Debug, thiserror::Error)]
#[error("backing-store worker pool is shut down")]
pub struct PoolClosed;

impl WorkerPool {
    /// Starts `threads` workers (at least one).
    pub fn new(threads: usize) -> std::io::Result<Self> {
        let queue = Arc::new(Queue::default());
        let mut workers = Vec::new();
        for i in 0..threads.max(1) {
            let q = Arc::clone(&queue);
            workers.push(
                std::thread::Builder::new()
                    .name(format!("bs-worker-{i}"))
                    .spawn(move || worker(&q))?,
            );
        }
        Ok(Self { queue, workers })
    }

    /// Queues a job. It runs on some worker; completion is the job's own business.
    pub fn submit(&self, job: Job) -> Result<(), PoolClosed> {
        {
            let mut st = self.queue.lock();
            if st.closed {
                return Err(PoolClosed);
            }
            st.jobs.push_back(job);
        }
        self.queue.ready.notify_one();
        Ok(())
    }

    /// Number of worker threads.
    pub fn threads(&self) -> usize {
        self.workers.len()
    }
}

fn worker(q: &Queue) {
    loop {
        let job = {
            let mut st = q.lock();
            loop {
                if let Some(job) = st.jobs.pop_front() {
                    break job;
                }
                if st.closed {
                    return;
                }
                st = q
                    .ready
                    .wait(st)
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
            }
        };
        job();
    }
}

impl Drop for WorkerPool {
    /// Finishes queued jobs, then joins the workers. The last handle may go on a worker
    /// itself (a job that held one, such as a SCSI command started from a completion):
    /// that worker is not joined, it ends on its own once the queue is closed and empty.
    fn drop(&mut self) {
        self.queue.lock().closed = true;
        self.queue.ready.notify_all();
        let me = std::thread::current().id();
        for w in self.workers.drain(..) {
            if w.thread().id() != me {
                let _ = w.join();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    #[test]
    fn runs_every_job_before_drop_returns() {
        let pool = WorkerPool::new(3).unwrap();
        assert_eq!(pool.threads(), 3);
        let (tx, rx) = mpsc::channel();
        for i in 0..100 {
            let tx = tx.clone();
            pool.submit(Box::new(move || tx.send(i).unwrap())).unwrap();
        }
        drop(pool);
        let mut got: Vec<i32> = rx.try_iter().collect();
        got.sort_unstable();
        assert_eq!(got, (0..100).collect::<Vec<_>>());
    }

    #[test]
    fn last_handle_dropped_by_a_worker_does_not_join_itself() {
        let pool = Arc::new(WorkerPool::new(2).unwrap());
        let (tx, rx) = mpsc::channel();
        let held = Arc::clone(&pool);
        let (go_tx, go_rx) = mpsc::channel::<()>();
        pool.submit(Box::new(move || {
            go_rx.recv().unwrap();
            drop(held);
            tx.send(()).unwrap();
        }))
        .unwrap();
        drop(pool);
        go_tx.send(()).unwrap();
        rx.recv_timeout(std::time::Duration::from_secs(20)).unwrap();
    }
}
