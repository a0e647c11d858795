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
//! header digests.

use std::env;
use std::path::PathBuf;
use std::process::Command;

use compat_tests::{skip, workspace_root, Impl};

/// `name` in `$PATH`, if it is there.
fn in_path(name: &str) -> Option<PathBuf> {
    env::split_paths(&env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|path| path.is_file())
}

#[test]
fn libiscsi_conformance_fails_only_where_c_tgt_fails_or_known() {
    const TEST: &str = "libiscsi_conformance_fails_only_where_c_tgt_fails_or_known";
    if in_path("iscsi-test-cu").is_none() {
        return skip(
            TEST,
            &"iscsi-test-cu not found in PATH (Debian package libiscsi-bin)",
        );
    }
    let mut envs = Vec::new();
    for (var, binary) in [("TGTD", Impl::Rust.tgtd()), ("TGTADM", Impl::Rust.tgtadm())] {
        match binary {
            Ok(path) => envs.push((var, path)),
            Err(missing) => return skip(TEST, &missing),
        }
    }

    let script = workspace_root().join("compat-tests/libiscsi/run.sh");
    let output = Command::new("bash")
        .arg(&script)
        .envs(envs.iter().map(|(var, path)| (var, path.as_os_str())))
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    // Shown by the harness on failure (or with --nocapture).
    println!("{stdout}");
    eprintln!("{stderr}");
    assert!(
        output.status.success(),
        "{} failed ({}):\n{stderr}",
        script.display(),
        output.status
    );
}
