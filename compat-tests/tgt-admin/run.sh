#!/bin/bash
# Runs the tgt-admin differential comparison (Perl tgt-admin vs ours, each against a fresh
# C tgtd) on every case in cases/, or on the cases whose name contains $1.
# Prints "<case> N/M identical" per case and the differences. Needs Debian's tgt package.
#   compat-tests/tgt-admin/run.sh [CASE-SUBSTRING]   (TGT_ADMIN_COMPAT_KEEP=1 keeps scratch dirs)
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build -q -p tgt-admin
TGT_ADMIN_COMPAT_CASE=${1:-} exec cargo test -q -p compat-tests --test tgt_admin_compat -- --nocapture
