//! Shared helpers for the compatibility tests: locating binaries, starting daemons side by side.
