#!/usr/bin/env bash
#
# bench.sh [TGTD TGTADM]: C tgtd + Debian's tgt-rbd and our tgtd side by side on one RBD
# image of a throwaway one-node Ceph (../shared/tools/ceph-single), in the style of
# compat-tests/bench.sh. A benchmark, not a test.
#
# Starts the cluster, fills the 256 MiB image rbd/bench once (so reads find data), starts
# C tgtd (/usr/sbin/tgtd, needs tgt-rbd) and ours (default <workspace>/target/release/,
# built with --features tgt/rbd), each with LUN 1 = `--bstype rbd` on rbd/bench, and
# drives them with `qemu-img bench -t none -n -f raw` over iscsi://: 4 KiB read and write
# at depth 1 and 32, 1 MiB read and write at depth 8, C and ours alternating (A B A B) for
# BENCH_ROUNDS rounds (default 3). For each run: rate (IOPS for 4 KiB, MB/s for 1 MiB) and
# the target's CPU per I/O (utime+stime of the whole tgtd from /proc/PID/stat). Prints
# medians and ours/C ratios. Client, target and the Ceph daemons share the machine's cores.
#
# Ours runs librbd without its cache (an acknowledged write is in the cluster); C tgt runs
# with librbd's default (rbd_cache on, writethrough until the initiator's first SYNCHRONIZE
# CACHE, writeback after: qemu-img sends one when it closes, so C's writes from the second
# run on are acknowledged from tgtd's memory). BENCH_C_CEPH_ARGS=--rbd_cache=false gives C
# ours' durability (C tgt reads CEPH_ARGS like ours).
#
# Environment: BENCH_ROUNDS, BENCH_SCALE (factor on the I/O counts, default 1),
# CEPH_MON_PORT (default 3392), BENCH_PORT (ours; C gets +1; default 3393),
# BENCH_C_CEPH_ARGS (CEPH_ARGS of C tgtd, default none).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
ceph_tool=${CEPH_SINGLE:-$(cd "$root/.." && pwd)/shared/tools/ceph-single}
TGTD=$(realpath "${1:-$root/target/release/tgtd}")
TGTADM=$(realpath "${2:-$root/target/release/tgtadm}")
TGTD_C=${TGTD_C:-/usr/sbin/tgtd}
TGTADM_C=${TGTADM_C:-/usr/sbin/tgtadm}
ROUNDS=${BENCH_ROUNDS:-3}
SCALE=${BENCH_SCALE:-1}
export CEPH_MON_PORT=${CEPH_MON_PORT:-3392}
declare -A PORT=([rs]=${BENCH_PORT:-3393} [c]=$((${BENCH_PORT:-3393} + 1)))
declare -A BIN=([rs]=$TGTD [c]=$TGTD_C) ADMBIN=([rs]=$TGTADM [c]=$TGTADM_C)
declare -A NAME=([rs]=ours [c]=C) PID=()
IQN=iqn.2026-11.org.example:rbd-bench
CLK_TCK=$(getconf CLK_TCK)

[[ -x $ceph_tool/start.sh ]] || { echo "bench: SKIP: $ceph_tool/start.sh not found"; exit 0; }
[[ -f /usr/lib/tgt/backing-store/bs_rbd.so ]] || { echo "bench: C tgt's bs_rbd.so missing (apt-get install tgt-rbd)"; exit 2; }

W=$(mktemp -d /tmp/rbd-bench.XXXXXX)
D=$W/ceph
cleanup() {
    set +e
    for i in "${!PID[@]}"; do kill -9 "${PID[$i]}" 2>/dev/null; wait "${PID[$i]}" 2>/dev/null; done
    "$ceph_tool/stop.sh" "$D"
    rm -rf "$W"
}
trap cleanup EXIT
"$ceph_tool/start.sh" "$D" >"$W/ceph.log" 2>&1 || { cat "$W/ceph.log"; exit 2; }
CONF=$D/ceph.conf
timeout 120 rbd -c "$CONF" create --size 256M --image-feature layering rbd/bench
timeout 300 rbd -c "$CONF" bench --io-type write --io-size 4M --io-total 256M --io-pattern seq rbd/bench >/dev/null

for i in rs c; do
    ctl=$((PORT[$i] - 3000))
    args=""
    [[ $i == c ]] && args=${BENCH_C_CEPH_ARGS:-}
    CEPH_ARGS=$args TGT_IPC_SOCKET=$W/sock-$i setsid "${BIN[$i]}" -f -C "$ctl" --iscsi "portal=127.0.0.1:${PORT[$i]}" \
        </dev/null >"$W/tgtd-$i.log" 2>&1 &
    PID[$i]=$!
    for _ in $(seq 100); do [[ -S $W/sock-$i.$ctl ]] && break; sleep 0.1; done
    a=(env TGT_IPC_SOCKET="$W/sock-$i" "${ADMBIN[$i]}" -C "$ctl" --lld iscsi)
    "${a[@]}" --mode target --op new --tid 1 -T "$IQN"
    "${a[@]}" --mode logicalunit --op new --tid 1 --lun 1 --bstype rbd -b rbd/bench --bsopts "conf=$CONF"
    "${a[@]}" --mode target --op bind --tid 1 -I ALL
done

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# run_one IMPL SIZE DEPTH WRITE COUNT: "rate cpu_us_per_io"
run_one() {
    local i=$1 size=$2 depth=$3 write=$4 count=$5 before after out secs
    local args=(-t none -n -f raw -c "$count" -s "$size" -d "$depth")
    ((write)) && args+=(-w)
    before=$(cpu_ticks "${PID[$i]}")
    out=$(timeout 300 qemu-img bench "${args[@]}" "iscsi://127.0.0.1:${PORT[$i]}/$IQN/1" 2>&1)
    after=$(cpu_ticks "${PID[$i]}")
    secs=$(sed -n 's/^Run completed in \([0-9.]*\) seconds\.$/\1/p' <<<"$out")
    [[ -n $secs ]] || { echo "bench: ${NAME[$i]}: $out" >&2; return 1; }
    awk -v c="$count" -v s="$size" -v t="$secs" -v d="$((after - before))" -v hz="$CLK_TCK" 'BEGIN {
        rate = (s == 4096) ? c / t : c * s / 1e6 / t
        printf "%.6g %.6g\n", rate, d * 1e6 / hz / c }'
}
median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

# name size depth write count
WORKLOADS=(
    "4k-read-qd1 4096 1 0 3000"
    "4k-write-qd1 4096 1 1 1500"
    "4k-read-qd32 4096 32 0 20000"
    "4k-write-qd32 4096 32 1 8000"
    "1m-read-qd8 1048576 8 0 600"
    "1m-write-qd8 1048576 8 1 300"
)
echo "bench: $(nproc) cores shared by qemu-img, both tgtd and the Ceph monitor and OSD; load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "bench: $ROUNDS rounds, C and ours alternating; rate = IOPS (4k) or MB/s (1m); cpu = target us per I/O"
echo "bench: C tgtd CEPH_ARGS: '${BENCH_C_CEPH_ARGS:-}'; ours: librbd cache off"
printf '%-14s %10s %10s %7s %10s %10s %7s\n' workload C-rate ours-rate ratio C-cpu ours-cpu ratio
for wl in "${WORKLOADS[@]}"; do
    read -r name size depth write count <<<"$wl"
    count=$(awk -v c="$count" -v s="$SCALE" -v d="$depth" 'BEGIN { n = int(c * s); if (n < 2 * d) n = 2 * d; print n }')
    declare -A R=() C=()
    for ((r = 1; r <= ROUNDS; r++)); do
        for i in c rs; do
            read -r rate cpu <<<"$(run_one "$i" "$size" "$depth" "$write" "$count")"
            R[$i]+="$rate " C[$i]+="$cpu "
        done
    done
    # shellcheck disable=SC2086
    rc=$(median ${R[c]}) rr=$(median ${R[rs]}) cc=$(median ${C[c]}) cr=$(median ${C[rs]})
    awk -v n="$name" -v rc="$rc" -v rr="$rr" -v cc="$cc" -v cr="$cr" 'BEGIN {
        printf "%-14s %10.1f %10.1f %7.2f %10.1f %10.1f %7.2f\n", n, rc, rr, rr / rc, cc, cr, (cc > 0 ? cr / cc : 0) }'
    echo "    raw: C rates ${R[c]}| ours ${R[rs]}| C cpu ${C[c]}| ours cpu ${C[rs]}" >&2
    unset R C
done
for i in rs c; do
    kill -0 "${PID[$i]}" 2>/dev/null || echo "bench: ${NAME[$i]} tgtd died"
    echo "bench: ${NAME[$i]} tgtd threads: $(awk '$1 == "Threads:" { print $2 }' "/proc/${PID[$i]}/status")"
done
