#!/usr/bin/env bash
#
# bench.sh: C tgtd and ours side by side on loopback (DESIGN.md "Performance: how we
# measure"). A benchmark, not a test: it is not run by `cargo test` or .ci/run.
#
# Usage: compat-tests/bench.sh [--quick] [--no-io] [--no-memory] [--help]
#   --quick      one round and a fifth of the I/O counts (smoke run, numbers are noisy)
#   --no-io      skip the I/O part
#   --no-memory  skip the memory part (100 targets, 100 idle sessions)
#
# What it does:
#   1. Starts C tgtd and ours, each with its own TGT_IPC_SOCKET directory, control port
#      and loopback portal (the first two free portal ports in 3440-3459; control port =
#      portal - 3000). Each gets target iqn.2026-11.org.example:bench with LUN 1 =
#      `--bstype null` (1 TiB, nothing stored), LUN 2 = `--bstype rdwr` and LUN 3 =
#      `--bstype aio`, each on a 1 GiB file in /dev/shm (allocated with fallocate, so
#      every round finds the same state).
#   2. Drives them with `qemu-img bench -t none -n -f raw -c COUNT -s SIZE -d DEPTH [-w]
#      iscsi://127.0.0.1:PORT/IQN/LUN`: 4 KiB read and write at queue depth 1 and 32,
#      1 MiB read and write at depth 8, on null, rdwr and aio
#      (BENCH_STORES="null rdwr" picks a subset). Each workload runs C, ours,
#      C, ours, ... (A B A B) for BENCH_ROUNDS rounds (default 3); COUNT is chosen so a
#      run takes about 2-5 s on C tgt here.
#   3. Measures the target's CPU time per I/O: utime+stime of the whole tgtd process
#      (all threads) from /proc/PID/stat before and after each run, in clock ticks
#      (getconf CLK_TCK; 10 ms at 100 Hz, so about 0.5% of a 2 s run).
#   4. Prints medians: IOPS (4 KiB) or MB/s (1 MiB, 10^6 bytes), ours/C, CPU us per I/O
#      for each, and ours/C CPU; then every run's raw numbers.
#   5. Memory: on a fresh daemon of each kind, 100 targets with one rdwr LUN each
#      (64 MiB sparse files in /dev/shm): VmHWM, VmRSS and threads from /proc/PID/status;
#      then 100 idle sessions, one per target, held open by one qemu-storage-daemon with
#      100 iscsi blockdevs (read-only), counted as established TCP connections to the
#      portal, and the same figures again. Skipped if qemu-storage-daemon is missing.
#
# Run time here: about 4 minutes (3 rounds), about 30 s with --quick. iscsi-perf is
# not used: qemu-img bench covers the workloads and reports its own elapsed time.
#
# Client (qemu-img) and target run on the same machine and share its cores (2 here):
# quote ratios from one run, never absolute numbers from different runs. Other load on
# the machine adds noise; the load average is printed at start and end.
#
# Environment:
#   TGTD_C, TGTADM_C     C binaries (default /usr/sbin/tgtd, /usr/sbin/tgtadm)
#   TGTD_RS, TGTADM_RS   ours (default <workspace>/target/release/; build with
#                        `cargo build --release -p tgt -p tgtadm`)
#   BENCH_ROUNDS         rounds per workload (default 3)
#   BENCH_SCALE          factor on every COUNT (default 1)
#
# Cleans up after itself: both daemons and qemu-storage-daemon are killed by PID
# (SIGKILL: C tgtd ignores SIGTERM while it has targets), files in /dev/shm and the work
# directory are removed, also on error or Ctrl-C. Exit status: 0 if every run
# completed, 1 if a run or daemon failed, 2 on set-up errors.

set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WORKSPACE=$(dirname "$SCRIPT_DIR")
readonly SCRIPT_DIR WORKSPACE
readonly IQN=iqn.2026-11.org.example:bench
readonly PORT_FIRST=3440 PORT_LAST=3459 CONTROL_OFFSET=3000
readonly READY_DEADLINE_S=10 SESSIONS_DEADLINE_S=60 RUN_TIMEOUT_S=120
readonly MEM_TARGETS=100 MEM_LUN_SIZE=64M RDWR_SIZE=1G

ROUNDS=${BENCH_ROUNDS:-3}
SCALE=${BENCH_SCALE:-1}
MEMORY=1 IO=1

log() { printf 'bench: %s\n' "$*" >&2; }
die() {
    log "$*"
    exit 2
}
usage() { sed -n '2,/^$/{s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; }

for arg in "$@"; do
    case $arg in
    --quick)
        ROUNDS=1
        SCALE=0.2
        ;;
    --no-memory) MEMORY=0 ;;
    --no-io) IO=0 ;;
    -h | --help)
        usage
        exit 0
        ;;
    *) die "unknown argument '$arg' (try --help)" ;;
    esac
done
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "BENCH_ROUNDS must be a positive integer"
[[ $SCALE =~ ^[0-9]*\.?[0-9]+$ ]] || die "BENCH_SCALE must be a positive number"

# Workloads: name size depth write(0|1) count-on-null count-on-rdwr.
readonly WORKLOADS=(
    "4k-read-qd1 4096 1 0 100000 60000"
    "4k-write-qd1 4096 1 1 80000 40000"
    "4k-read-qd32 4096 32 0 300000 150000"
    "4k-write-qd32 4096 32 1 300000 120000"
    "1m-read-qd8 1048576 8 0 4000 3000"
    "1m-write-qd8 1048576 8 1 3000 3000"
)
# Stores under test (BENCH_STORES, default all three): name and LUN. aio gets its own 1 GiB
# file in /dev/shm (tmpfs takes O_DIRECT since Linux 6.6; older kernels refuse the LU).
declare -A STORE_LUN=([null]=1 [rdwr]=2 [aio]=3)
STORES=()
for sname in ${BENCH_STORES:-null rdwr aio}; do
    [[ -n ${STORE_LUN[$sname]:-} ]] || { echo "bench.sh: unknown store '$sname' in BENCH_STORES" >&2; exit 2; }
    STORES+=("$sname ${STORE_LUN[$sname]}")
done
readonly STORES
readonly IMPLS=(c rs)

# ---------------------------------------------------------------- binaries

declare -A TGTD TGTADM NAME LABEL
TGTD[c]=${TGTD_C:-/usr/sbin/tgtd}
TGTADM[c]=${TGTADM_C:-/usr/sbin/tgtadm}
TGTD[rs]=${TGTD_RS:-$WORKSPACE/target/release/tgtd}
TGTADM[rs]=${TGTADM_RS:-$WORKSPACE/target/release/tgtadm}
NAME[c]="C tgt"
NAME[rs]="our tgt"
LABEL[c]=C
LABEL[rs]=ours
for impl in "${IMPLS[@]}"; do
    [[ -x ${TGTD[$impl]} ]] || die "${NAME[$impl]} tgtd not found at ${TGTD[$impl]}"
    [[ -x ${TGTADM[$impl]} ]] || die "${NAME[$impl]} tgtadm not found at ${TGTADM[$impl]}"
done
command -v qemu-img >/dev/null || die "qemu-img not found (apt-get install qemu-utils qemu-block-extra)"
QSD=$(command -v qemu-storage-daemon || true)
CLK_TCK=$(getconf CLK_TCK)
readonly QSD CLK_TCK

# ---------------------------------------------------------------- processes

WORK="" SHM="" QSD_PID=""
declare -A PID=() PORT=() CPORT=()

# Alive and not a zombie.
alive() {
    local state
    state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
    [[ -n $state && $state != Z ]]
}

kill_pid() {
    local pid=$1
    [[ -n $pid ]] || return 0
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

stop_daemon() {
    local impl=$1
    kill_pid "${PID[$impl]:-}"
    PID[$impl]=""
}

# shellcheck disable=SC2317 # invoked by the EXIT trap
cleanup() {
    kill_pid "$QSD_PID"
    QSD_PID=""
    for impl in "${IMPLS[@]}"; do stop_daemon "$impl"; done
    [[ -z $SHM ]] || rm -rf "$SHM"
    [[ -z $WORK ]] || rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Inodes of the TCP sockets listening on port $1, from /proc/net/tcp{,6}.
listen_inodes() {
    awk -v port=":$(printf '%04X' "$1")" '$4 == "0A" && substr($2, length($2) - 4) == port { print $10 }' \
        /proc/net/tcp /proc/net/tcp6 2>/dev/null || true
}
# Established connections whose local (server) port is $1.
established() {
    awk -v port=":$(printf '%04X' "$1")" '$4 == "01" && substr($2, length($2) - 4) == port { n++ }
        END { print n + 0 }' /proc/net/tcp /proc/net/tcp6 2>/dev/null
}
port_owned_by() {
    local ino fd
    for ino in $(listen_inodes "$2"); do
        for fd in /proc/"$1"/fd/*; do
            [[ $(readlink "$fd" 2>/dev/null) == "socket:[$ino]" ]] && return 0
        done
    done
    return 1
}

adm() {
    local impl=$1
    shift
    TGT_IPC_SOCKET=$WORK/$impl/socket "${TGTADM[$impl]}" -C "${CPORT[$impl]}" --lld iscsi "$@"
}

start_daemon() {
    local impl=$1 tag=$2 deadline
    rm -f "$WORK/$impl"/socket*
    TGT_IPC_SOCKET=$WORK/$impl/socket setsid "${TGTD[$impl]}" -f -C "${CPORT[$impl]}" \
        --iscsi "portal=127.0.0.1:${PORT[$impl]}" </dev/null >"$WORK/$impl.$tag.log" 2>&1 &
    PID[$impl]=$!
    deadline=$((SECONDS + READY_DEADLINE_S))
    until adm "$impl" --mode target --op show >/dev/null 2>&1; do
        alive "${PID[$impl]}" || die "${NAME[$impl]} tgtd exited during start-up: $(tail -n 5 "$WORK/$impl.$tag.log")"
        ((SECONDS < deadline)) || die "${NAME[$impl]} tgtd not answering tgtadm after ${READY_DEADLINE_S}s"
        sleep 0.1
    done
}

wait_listening() {
    local impl=$1 deadline=$((SECONDS + READY_DEADLINE_S))
    until port_owned_by "${PID[$impl]}" "${PORT[$impl]}"; do
        ((SECONDS < deadline)) || die "${NAME[$impl]} tgtd not listening on 127.0.0.1:${PORT[$impl]}"
        sleep 0.1
    done
}

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
status_field() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }

# ---------------------------------------------------------------- set-up

WORK=$(mktemp -d "${TMPDIR:-/tmp}/tgt-bench.XXXXXX")
SHM=$(mktemp -d /dev/shm/tgt-bench.XXXXXX)
free_ports=()
for ((p = PORT_FIRST; p <= PORT_LAST && ${#free_ports[@]} < 2; p++)); do
    [[ -n $(listen_inodes "$p") ]] || free_ports+=("$p")
done
((${#free_ports[@]} == 2)) || die "need two free portal ports in $PORT_FIRST-$PORT_LAST"
PORT[c]=${free_ports[0]}
PORT[rs]=${free_ports[1]}
for impl in "${IMPLS[@]}"; do
    CPORT[$impl]=$((PORT[$impl] - CONTROL_OFFSET))
    mkdir "$WORK/$impl"
done

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

echo "== machine"
echo "cpus: $(nproc) ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)); kernel $(uname -r)"
echo "client (qemu-img) and both targets share these $(nproc) cores; one target is driven at a time"
echo "load average at start: $(loadavg)"
echo "C tgt: ${TGTD[c]} ($(dpkg-query -W -f '${Package} ${Version}' tgt 2>/dev/null || echo 'version unknown'))"
rev=$(git -C "$WORKSPACE" rev-parse --short HEAD 2>/dev/null || echo unknown)
[[ -z $(git -C "$WORKSPACE" status --porcelain --untracked-files=no 2>/dev/null) ]] || rev="$rev + uncommitted changes"
echo "ours:  ${TGTD[rs]} (workspace $rev)"
echo "client: $(qemu-img --version | head -n 1); rounds $ROUNDS, count scale $SCALE, CLK_TCK $CLK_TCK"
echo

# ---------------------------------------------------------------- I/O runs

declare -A RATE=() CPU=() ERR=()
status=0

# Both daemons with LUN 1 null and LUN 2 rdwr on a file in /dev/shm.
start_io_daemons() {
    for impl in "${IMPLS[@]}"; do
        fallocate -l "$RDWR_SIZE" "$SHM/$impl-rdwr.img"
        fallocate -l "$RDWR_SIZE" "$SHM/$impl-aio.img"
        start_daemon "$impl" perf
        if ! adm "$impl" --mode target --op new --tid 1 -T "$IQN" >/dev/null ||
            ! adm "$impl" --mode logicalunit --op new --tid 1 --lun 1 --bstype null -b /dev/null >/dev/null ||
            ! adm "$impl" --mode logicalunit --op new --tid 1 --lun 2 --bstype rdwr -b "$SHM/$impl-rdwr.img" >/dev/null ||
            ! adm "$impl" --mode logicalunit --op new --tid 1 --lun 3 --bstype aio -b "$SHM/$impl-aio.img" >/dev/null ||
            ! adm "$impl" --mode target --op bind --tid 1 -I ALL >/dev/null; then
            die "${NAME[$impl]}: target set-up failed"
        fi
        wait_listening "$impl"
    done
    log "C tgtd pid ${PID[c]} on 127.0.0.1:${PORT[c]}, ours pid ${PID[rs]} on 127.0.0.1:${PORT[rs]}"
}

# run_one IMPL LUN SIZE DEPTH WRITE COUNT: prints "rate cpu_us_per_io" (rate in IOPS for
# 4 KiB, MB/s otherwise) or fails.
run_one() {
    local impl=$1 lun=$2 size=$3 depth=$4 write=$5 count=$6 pid=${PID[$1]} before after out secs
    local args=(-t none -n -f raw -c "$count" -s "$size" -d "$depth")
    ((write)) && args+=(-w)
    alive "$pid" || return 1
    before=$(cpu_ticks "$pid")
    out=$(timeout "$RUN_TIMEOUT_S" qemu-img bench "${args[@]}" \
        "iscsi://127.0.0.1:${PORT[$impl]}/$IQN/$lun" 2>&1) || {
        log "${NAME[$impl]}: qemu-img bench ${args[*]} LUN $lun failed: $(tail -n 2 <<<"$out")"
        return 1
    }
    after=$(cpu_ticks "$pid")
    secs=$(sed -n 's/^Run completed in \([0-9.]*\) seconds\.$/\1/p' <<<"$out")
    [[ -n $secs ]] || {
        log "unexpected qemu-img output: $out"
        return 1
    }
    awk -v c="$count" -v s="$size" -v t="$secs" -v d="$((after - before))" -v hz="$CLK_TCK" 'BEGIN {
        rate = (s == 4096) ? c / t : c * s / 1e6 / t
        printf "%.6g %.6g\n", rate, d * 1e6 / hz / c }'
}

# Every workload on both stores, C and ours alternating, then stop both daemons.
run_workloads() {
    for wl in "${WORKLOADS[@]}"; do
        read -r name size depth write count_null count_rdwr <<<"$wl"
        for store in "${STORES[@]}"; do
            read -r sname lun <<<"$store"
            count=$([[ $sname == null ]] && echo "$count_null" || echo "$count_rdwr")
            count=$(awk -v c="$count" -v s="$SCALE" -v d="$depth" 'BEGIN {
                n = int(c * s); if (n < 2 * d) n = 2 * d; print n }')
            key="$name|$sname"
            for ((r = 1; r <= ROUNDS; r++)); do
                for impl in "${IMPLS[@]}"; do
                    if res=$(run_one "$impl" "$lun" "$size" "$depth" "$write" "$count"); then
                        read -r rate cpu <<<"$res"
                        RATE[$key|$impl]+="$rate "
                        CPU[$key|$impl]+="$cpu "
                    else
                        ERR[$key|$impl]=1
                        status=1
                    fi
                done
            done
            log "$key (count $count): C ${RATE[$key|c]:-error}| ours ${RATE[$key|rs]:-error}"
        done
    done

    for impl in "${IMPLS[@]}"; do
        if ! alive "${PID[$impl]}"; then
            log "${NAME[$impl]} tgtd (pid ${PID[$impl]}) died; log: $(tail -n 5 "$WORK/$impl.perf.log")"
            status=1
        fi
    done
    perf_threads_c=$(status_field "${PID[c]}" Threads || true)
    perf_threads_rs=$(status_field "${PID[rs]}" Threads || true)
    for impl in "${IMPLS[@]}"; do stop_daemon "$impl"; done
    rm -f "$SHM"/*-rdwr.img "$SHM"/*-aio.img
}

median() {
    [[ $# -gt 0 ]] || {
        echo "-"
        return
    }
    printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 }
        END { m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2; print m }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || a == 0) print "-"; else printf "%.2f", b / a }'; }
fmt() { awk -v v="$1" 'BEGIN { if (v == "-") print "-"; else if (v >= 100) printf "%.0f", v; else printf "%.1f", v }'; }

print_io_table() {
    echo "== I/O: medians of $ROUNDS rounds (A B A B); rate = IOPS for 4 KiB, MB/s for 1 MiB; CPU = target us per I/O"
    printf '%-14s %-5s %-5s %10s %10s %7s %10s %10s %8s\n' \
        workload store unit "C" "ours" "ours/C" "C cpu/IO" "ours cpu" "ours/C"
    for wl in "${WORKLOADS[@]}"; do
        read -r name size _ <<<"$wl"
        unit=$([[ $size == 4096 ]] && echo IOPS || echo MB/s)
        for store in "${STORES[@]}"; do
            read -r sname _ <<<"$store"
            key="$name|$sname"
            # shellcheck disable=SC2086 # word splitting of the space-separated samples is intended
            {
                rc=$(median ${RATE[$key|c]:-})
                rr=$(median ${RATE[$key|rs]:-})
                cc=$(median ${CPU[$key|c]:-})
                cr=$(median ${CPU[$key|rs]:-})
            }
            printf '%-14s %-5s %-5s %10s %10s %7s %10s %10s %8s\n' "$name" "$sname" "$unit" \
                "$(fmt "$rc")" "$(fmt "$rr")" "$(ratio "$rc" "$rr")" \
                "$(fmt "$cc")" "$(fmt "$cr")" "$(ratio "$cc" "$cr")"
        done
    done
    echo
    echo "raw runs (rate / CPU us per I/O, in run order):"
    for wl in "${WORKLOADS[@]}"; do
        read -r name _ <<<"$wl"
        for store in "${STORES[@]}"; do
            read -r sname _ <<<"$store"
            key="$name|$sname"
            for impl in "${IMPLS[@]}"; do
                printf '  %-20s %-6s rate: %s cpu: %s%s\n' "$key" "${LABEL[$impl]}" \
                    "${RATE[$key|$impl]:-}" "${CPU[$key|$impl]:-}" "${ERR[$key|$impl]:+ (a run failed)}"
            done
        done
    done
    echo "threads after the I/O runs (3 LUNs): C ${perf_threads_c:-?}, ours ${perf_threads_rs:-?}"
    echo
}

# ---------------------------------------------------------------- memory

mem_figures() { echo "VmHWM $(status_field "$1" VmHWM) kB, VmRSS $(status_field "$1" VmRSS) kB, threads $(status_field "$1" Threads)"; }

# Logged-in sessions: I_T nexuses listed by `target show` (both print "I_T nexus:").
nexus_count() {
    local text
    text=$(adm "$1" --mode target --op show) || return 1
    grep -c '^ *I_T nexus:' <<<"$text" || true
}

memory_one() {
    local impl=$1 i deadline n args=()
    start_daemon "$impl" mem
    for ((i = 1; i <= MEM_TARGETS; i++)); do
        truncate -s "$MEM_LUN_SIZE" "$SHM/$impl-mem-$i.img"
        if ! adm "$impl" --mode target --op new --tid "$i" -T "$IQN-$i" >/dev/null ||
            ! adm "$impl" --mode logicalunit --op new --tid "$i" --lun 1 --bstype rdwr \
                -b "$SHM/$impl-mem-$i.img" >/dev/null ||
            ! adm "$impl" --mode target --op bind --tid "$i" -I ALL >/dev/null; then
            die "${NAME[$impl]}: set-up of target $i failed"
        fi
    done
    wait_listening "$impl"
    printf '%-6s %d targets x 1 rdwr LUN:       %s\n' "${LABEL[$impl]}" "$MEM_TARGETS" "$(mem_figures "${PID[$impl]}")"
    if [[ -n $QSD ]]; then
        for ((i = 1; i <= MEM_TARGETS; i++)); do
            args+=(--blockdev "driver=iscsi,transport=tcp,portal=127.0.0.1:${PORT[$impl]},target=$IQN-$i,lun=1,node-name=n$i,read-only=on")
        done
        "$QSD" "${args[@]}" </dev/null >"$WORK/$impl.qsd.log" 2>&1 &
        QSD_PID=$!
        deadline=$((SECONDS + SESSIONS_DEADLINE_S))
        while n=$(nexus_count "$impl") && ((n < MEM_TARGETS)); do
            alive "$QSD_PID" || die "qemu-storage-daemon exited: $(tail -n 3 "$WORK/$impl.qsd.log")"
            ((SECONDS < deadline)) || die "only $n of $MEM_TARGETS sessions after ${SESSIONS_DEADLINE_S}s"
            sleep 0.2
        done
        printf '%-6s + %d idle sessions (%d I_T nexuses, %d TCP conns): %s\n' "${LABEL[$impl]}" "$MEM_TARGETS" \
            "$n" "$(established "${PORT[$impl]}")" "$(mem_figures "${PID[$impl]}")"
        kill_pid "$QSD_PID"
        QSD_PID=""
    fi
    alive "${PID[$impl]}" || {
        log "${NAME[$impl]} tgtd died in the memory test"
        status=1
    }
    stop_daemon "$impl"
    rm -f "$SHM/$impl"-mem-*.img
}

if ((IO)); then
    start_io_daemons
    run_workloads
    print_io_table
fi

if ((MEMORY)); then
    echo "== memory: peak RSS (VmHWM since start), fresh daemons"
    [[ -n $QSD ]] || echo "(qemu-storage-daemon not found: idle sessions skipped; apt-get install qemu-system-common)"
    for impl in "${IMPLS[@]}"; do memory_one "$impl"; done
    echo
fi

echo "load average at end: $(loadavg)"
exit "$status"
