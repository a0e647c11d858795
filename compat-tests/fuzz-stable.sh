#!/bin/bash
# Fuzzes the tgt::fuzzing entry points on stable Rust, without cargo-fuzz or nightly.
#
#   compat-tests/fuzz-stable.sh SECONDS [TARGET...] [-- DRIVER-OPTIONS]
#
# SECONDS per target; TARGETs default to all (bhs pdu_stream login_text cdb mgmt_req).
# DRIVER-OPTIONS go to compat-tests/examples/fuzz_stable.rs: --seed N, --max-len BYTES,
# --timeout SECONDS. Inputs that panic are shrunk and saved in
# compat-tests/fuzz/regressions/TARGET/, which tests/fuzz_corpus.rs replays; the exit
# status is non-zero when any target found one. Not part of the normal test run.
#
# The driver is built optimized, but with unwinding panics (the release profile aborts),
# debug assertions and overflow checks, in its own target directory so the release build
# of tgtd is left alone.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ $# -lt 1 ] || ! [[ $1 =~ ^[0-9]+$ ]]; then
    echo "usage: $0 SECONDS [TARGET...] [-- DRIVER-OPTIONS]" >&2
    exit 2
fi
seconds=$1
shift
targets=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do
    targets+=("$1")
    shift
done
[ "${1:-}" = -- ] && shift
[ ${#targets[@]} -gt 0 ] || targets=(bhs pdu_stream login_text cdb mgmt_req)

export CARGO_TARGET_DIR="$PWD/target/fuzz-stable"
export CARGO_PROFILE_RELEASE_PANIC=unwind
export CARGO_PROFILE_RELEASE_DEBUG_ASSERTIONS=true
export CARGO_PROFILE_RELEASE_OVERFLOW_CHECKS=true
cargo build --release --locked -p compat-tests --example fuzz_stable
driver="$CARGO_TARGET_DIR/release/examples/fuzz_stable"

failed=()
for t in "${targets[@]}"; do
    if ! "$driver" "$t" "$seconds" "$@"; then
        failed+=("$t")
    fi
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz-stable: panics found in: ${failed[*]} (see compat-tests/fuzz/regressions/)" >&2
    exit 1
fi
echo "fuzz-stable: no panics in ${targets[*]}"
