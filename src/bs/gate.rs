//! The media access gate of a LU: ordinary transfers hold it shared, read-modify-write
//! operations (COMPARE AND WRITE, ORWRITE, a partial-block write with O_DIRECT) hold it
//! alone, so they are atomic against every other transfer of the LU.
//!
//! Unlike `std::sync::RwLock`, a hold is an owned value that may move between threads
//! and be released on another one: an AIO transfer takes the gate on the thread that
//! starts the command and releases it on the loop that reaps the completion. An I/O loop
//! never blocks on it: it uses [`IoGate::try_shared`], which fails while an exclusive
//! hold is taken or waited for (writers are preferred, so a stream of transfers cannot
//! starve a COMPARE AND WRITE); the caller then runs the transfer on a worker, which may
//! block.

use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

#[derive(Debug, Default)]
struct State {
    /// Shared holds.
    shared: usize,
    /// An exclusive hold exists.
    exclusive: bool,
    /// Exclusive requests waiting.
    writers_waiting: usize,
}

/// A LU's media access gate.
#[derive(Debug, Default)]
pub struct IoGate {
    state: Mutex<State>,
    changed: Condvar,
}

/// A shared hold; released on drop, on any thread.
#[derive(Debug)]
pub struct SharedHold(Arc<IoGate>);

/// An exclusive hold; released on drop, on any thread.
#[derive(Debug)]
pub struct ExclusiveHold(Arc<IoGate>);

impl IoGate {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn wait<'a>(&self, g: MutexGuard<'a, State>) -> MutexGuard<'a, State> {
        self.changed.wait(g).unwrap_or_else(PoisonError::into_inner)
    }

    /// A shared hold if one can be had without waiting.
    pub fn try_shared(self: &Arc<Self>) -> Option<SharedHold> {
        let mut st = self.lock();
        if st.exclusive || st.writers_waiting > 0 {
            return None;
        }
        st.shared += 1;
        Some(SharedHold(Arc::clone(self)))
    }

    /// A shared hold, waiting while an exclusive one is held or waited for.
    pub fn shared(self: &Arc<Self>) -> SharedHold {
        let mut st = self.lock();
        while st.exclusive || st.writers_waiting > 0 {
            st = self.wait(st);
        }
        st.shared += 1;
        SharedHold(Arc::clone(self))
    }

    /// The exclusive hold, waiting until no other hold exists.
    pub fn exclusive(self: &Arc<Self>) -> ExclusiveHold {
        let mut st = self.lock();
        st.writers_waiting += 1;
        while st.exclusive || st.shared > 0 {
            st = self.wait(st);
        }
        st.writers_waiting -= 1;
        st.exclusive = true;
        ExclusiveHold(Arc::clone(self))
    }
}

impl Drop for SharedHold {
    fn drop(&mut self) {
        let mut st = self.0.lock();
        st.shared = st.shared.saturating_sub(1);
        if st.shared == 0 {
            self.0.changed.notify_all();
        }
    }
}

impl Drop for ExclusiveHold {
    fn drop(&mut self) {
        self.0.lock().exclusive = false;
        self.0.changed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Duration;

    #[test]
    fn shared_holds_coexist_and_block_the_exclusive_one() {
        let gate = Arc::new(IoGate::default());
        let a = gate.try_shared().unwrap();
        let b = gate.shared();
        let (tx, rx) = mpsc::channel();
        let g = Arc::clone(&gate);
        let writer = std::thread::spawn(move || {
            let hold = g.exclusive();
            tx.send(()).unwrap();
            drop(hold);
        });
        // The writer now waits: new shared holds are refused without waiting.
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while gate.lock().writers_waiting == 0 {
            assert!(std::time::Instant::now() < deadline);
            std::thread::yield_now();
        }
        assert!(gate.try_shared().is_none());
        assert!(rx.try_recv().is_err());
        drop(a);
        assert!(rx.try_recv().is_err());
        // Released on another thread than the one that took it.
        std::thread::spawn(move || drop(b)).join().unwrap();
        rx.recv_timeout(Duration::from_secs(20)).unwrap();
        writer.join().unwrap();
        assert!(gate.try_shared().is_some());
    }

    #[test]
    fn exclusive_hold_refuses_shared_until_dropped() {
        let gate = Arc::new(IoGate::default());
        let x = gate.exclusive();
        assert!(gate.try_shared().is_none());
        drop(x);
        let s = gate.try_shared();
        assert!(s.is_some());
    }
}
