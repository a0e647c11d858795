//! libiscsi's conformance suite (`iscsi-test-cu`) against our tgtd, as a cargo test.
//!
//! `compat-tests/libiscsi/run.sh` starts our tgtd on loopback, runs `iscsi-test-cu -d -v` against
//! a 256 MiB rdwr LUN and fails when a test that passes on C tgt 1.0.85 (is not in
//! `c-tgt-1.0.85.txt`) fails on ours without a `known-failures.txt` entry, when an entry there is
//! stale, or when the daemon dies (STYLE.md §8.4). This test resolves our binaries the way the
//! other compat tests do (`$TGTD_RS`/`$TGTADM_RS`, else `<target dir>/{debug,release}/`), hands
//! them to the script as `TGTD`/`TGTADM`, and fails if the script does; the script's report is
//! the failure message. It skips, printing why, when `iscsi-test-cu` or our binaries are missing.
//! The suite takes about a minute; `run.sh --digest` (not run here) adds a pass with CRC32C
//! header digests. A second test runs it against an aio LUN (`BSTYPE=aio`), held to C tgt's
//! rdwr and aio results at once: it may only fail where both fail. A third runs it against an
//! rdwr LUN opened with `--bsoflags sync:direct`, held to C tgt's rdwr results.

use std::env;
use std::path::PathBuf;
use std::sync::Mutex;

use compat_tests::{run_script, skip, Impl};

/// `name` in `$PATH`, if it is there.
fn in_path(name: &str) -> Option<PathBuf> {
    env::split_paths(&env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|path| path.is_file())
}

#[test]
fn libiscsi_conformance_fails_only_where_c_tgt_fails_or_known() {
    conformance(
        "libiscsi_conformance_fails_only_where_c_tgt_fails_or_known",
        "rdwr",
    );
}

#[test]
fn libiscsi_conformance_on_aio_fails_only_where_c_tgt_fails_with_rdwr_and_aio() {
    conformance(
        "libiscsi_conformance_on_aio_fails_only_where_c_tgt_fails_with_rdwr_and_aio",
        "aio",
    );
}

#[test]
fn libiscsi_conformance_on_rdwr_with_sync_and_direct_fails_only_where_c_tgt_fails() {
    conformance_with(
        "libiscsi_conformance_on_rdwr_with_sync_and_direct_fails_only_where_c_tgt_fails",
        "rdwr",
        "sync:direct",
    );
}

/// One suite at a time: both would pick the same free portal port.
static SERIAL: Mutex<()> = Mutex::new(());

/// Runs `run.sh` with LUN 1 of backing store `bstype`.
fn conformance(test: &str, bstype: &str) {
    conformance_with(test, bstype, "");
}

/// Runs `run.sh` with LUN 1 of backing store `bstype` opened with `bsoflags`.
fn conformance_with(test: &str, bstype: &str, bsoflags: &str) {
    let _one = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if in_path("iscsi-test-cu").is_none() {
        return skip(
            test,
            &"iscsi-test-cu not found in PATH (Debian package libiscsi-bin)",
        );
    }
    let mut envs = Vec::new();
    for (var, binary) in [("TGTD", Impl::Rust.tgtd()), ("TGTADM", Impl::Rust.tgtadm())] {
        match binary {
            Ok(path) => envs.push((var, path)),
            Err(missing) => return skip(test, &missing),
        }
    }

    let script = "compat-tests/libiscsi/run.sh";
    let (status, _, stderr) =
        run_script(script, &envs, &[("BSTYPE", bstype), ("BSOFLAGS", bsoflags)]);
    assert!(status.success(), "{script} failed ({status}):\n{stderr}");
}
