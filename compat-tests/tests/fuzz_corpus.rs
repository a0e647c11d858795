//! Replays the fuzz corpora and the saved regressions (`compat-tests/fuzz/corpus/<target>/`,
//! `compat-tests/fuzz/regressions/<target>/`) through the `tgt::fuzzing` entry points on
//! stable Rust, so inputs cargo-fuzz or `fuzz-stable.sh` once found keep passing. STYLE.md §8
//! item 5.

use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use compat_tests::corpus_files;
use tgt::fuzzing::{Target, TARGETS};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

/// Runs every file of `kind/<target>/` through its target; returns the files that panicked.
fn replay(kind: &str, target: &str, f: Target) -> (usize, Vec<String>) {
    let paths = corpus_files(&fuzz_dir().join(kind).join(target));
    let mut failed = Vec::new();
    for p in &paths {
        let data = std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        if panic::catch_unwind(AssertUnwindSafe(|| f(&data))).is_err() {
            failed.push(p.display().to_string());
        }
    }
    (paths.len(), failed)
}

#[test]
fn seed_corpora_and_regressions_replay_without_panics() {
    let mut failed = Vec::new();
    for &(target, f) in TARGETS {
        let (seeds, mut bad) = replay("corpus", target, f);
        assert!(seeds > 0, "no seed corpus for {target}");
        failed.append(&mut bad);
        let (_, mut bad) = replay("regressions", target, f);
        failed.append(&mut bad);
    }
    assert!(
        failed.is_empty(),
        "inputs that panic:\n{}",
        failed.join("\n")
    );
}

/// Every corpus and regression directory belongs to a target that the replay runs, so no
/// input sits where nothing reads it.
#[test]
fn every_input_directory_has_a_target() {
    for kind in ["corpus", "regressions"] {
        let Ok(entries) = std::fs::read_dir(fuzz_dir().join(kind)) else {
            continue;
        };
        for e in entries.filter_map(Result::ok) {
            let name = e.file_name().to_string_lossy().into_owned();
            assert!(
                TARGETS.iter().any(|(t, _)| *t == name),
                "{kind}/{name} has no fuzz target"
            );
        }
    }
}

/// Seeds stay small (libFuzzer's default -max_len is 4096).
#[test]
fn seed_inputs_are_under_4_kib() {
    for &(target, _) in TARGETS {
        for p in corpus_files(&fuzz_dir().join("corpus").join(target)) {
            let len = std::fs::metadata(&p).map_or(0, |m| m.len());
            assert!(len < 4096, "{}: {len} bytes", p.display());
        }
    }
}
