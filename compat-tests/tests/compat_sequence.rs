//! The four-way tgtadm/tgtd differential run as a cargo test.
//!
//! `compat-tests/tgtadm-compat.sh` runs every step of `tgtadm-sequence.txt` as C tgtadm → C tgtd
//! (expected), C tgtadm → our tgtd, our tgtadm → C tgtd and ours → ours, and compares stdout,
//! stderr and exit status byte for byte. This test resolves the four binaries the same way the
//! other compat tests do, hands them to the script, and fails if the script does; its report
//! (per-step diffs and `identical N/M` per direction) is the failure message.

use compat_tests::{run_script, skip, Impl};

#[test]
fn tgtadm_sequence_output_is_identical_in_all_four_directions() {
    const TEST: &str = "tgtadm_sequence_output_is_identical_in_all_four_directions";
    let mut env = Vec::new();
    for (var, binary) in [
        ("TGTD_C", Impl::C.tgtd()),
        ("TGTADM_C", Impl::C.tgtadm()),
        ("TGTD_RS", Impl::Rust.tgtd()),
        ("TGTADM_RS", Impl::Rust.tgtadm()),
    ] {
        match binary {
            Ok(path) => env.push((var, path)),
            Err(missing) => return skip(TEST, &missing),
        }
    }

    let script = "compat-tests/tgtadm-compat.sh";
    let (status, stdout, _) = run_script(script, &env, &[]);
    assert!(
        status.success(),
        "{script} failed ({status}); rerun it with --keep to inspect every step:\n{stdout}"
    );
}
