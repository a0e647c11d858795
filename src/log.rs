//! Log filtering shared by the binaries: tgtd's debug switch (`-d 1`, `sys update --name
//! debug`) turns debug events on and off at run time.
//!
//! The library never installs a subscriber; `tgtd`'s main does, with [`debug_filter`].

use std::sync::atomic::{AtomicBool, Ordering};

static DEBUG: AtomicBool = AtomicBool::new(false);

/// Turns debug-level logging on or off.
pub fn set_debug(on: bool) {
    DEBUG.store(on, Ordering::Relaxed);
}

/// Whether debug-level logging is on.
pub fn debug_enabled() -> bool {
    DEBUG.load(Ordering::Relaxed)
}

/// A per-event filter: info and above always; debug and trace only while debug is on.
pub fn debug_filter(meta: &tracing::Metadata<'_>) -> bool {
    *meta.level() <= tracing::Level::INFO || debug_enabled()
}
