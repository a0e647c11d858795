#!/usr/bin/env bash
#
# run.sh: libiscsi's conformance suite (iscsi-test-cu) against a fresh tgtd.
#
# Starts one tgtd in the foreground with its own TGT_IPC_SOCKET directory, control
# port and loopback portal (first free portal port in 3420-3439, control port =
# portal - 3000), creates iqn.2026-11.org.example:conformance with a 256 MiB
# sparse LUN 1 (backing store $BSTYPE, default rdwr) in a temporary directory under
# ${TMPDIR:-/tmp}, binds it to ALL, and runs
#
#   iscsi-test-cu -d -v iscsi://127.0.0.1:PORT/iqn.2026-11.org.example:conformance/1
#
# The CUnit verbose output is parsed into one result per test run, `Suite.Test`
# and passed, skipped (a libiscsi `[SKIPPED]` note, then CUnit's `passed`) or
# FAILED. The default run (no family given) runs the families ALL, SCSI, iSCSI
# and LINUX one after the other, so most `Suite.Test` names run two or three
# times (615 runs of 230 names with libiscsi 1.19). A name's result is the worst
# of its runs: FAILED if any run failed, else passed if any run passed, else
# skipped. The parser's run counts must equal CUnit's own `Run Summary`.
#
# Exit status: 0 when the results match the expectations, 1 when
#   (a) a test fails that passes on C tgt (is not in c-tgt-1.0.85.txt) and is not
#       in known-failures.txt,
#   (b) a test in known-failures.txt did not fail (the entry is stale), or
#   (c) tgtd died (the suite is then stopped at once), iscsi-test-cu did not
#       finish (time limit, crash), or the digest check of --digest failed;
# 2 on usage or set-up errors (binaries missing, daemon not ready, bad lists).
# Tests that fail on C tgt but pass here are listed as "fixed" (information only).
# The daemon is stopped (targets deleted, `system delete`, SIGKILL after 10 s, all by
# PID) on every exit path, including SIGTERM and Ctrl-C.
#
# Usage: compat-tests/libiscsi/run.sh [--digest] [--capture-c] [--keep] [--help]
#   --digest     after the plain pass, run the suite once more on a fresh daemon
#                whose target has HeaderDigest=CRC32C and DataDigest=CRC32C
#                (`tgtadm --op update`); libiscsi offers HeaderDigest=None,CRC32C
#                so the target decides. Checked from libiscsi's own log
#                (LIBISCSI_DEBUG=6, `TargetLoginReply: HeaderDigest=CRC32C` for
#                every login). libiscsi 1.19 implements header digests only and
#                always offers DataDigest=None, so data digests are NOT exercised
#                (the Linux initiator in shared/tools/kvm-initiator covers them).
#                The digest pass is held to the same expectations as the plain one.
#   --capture-c  run against C tgt (TGTD_C/TGTADM_C, default /usr/sbin/tgtd,
#                /usr/sbin/tgtadm) and rewrite c-tgt-1.0.85.txt with the names
#                that FAILED (known-failures.txt is not consulted)
#   --keep       keep the work directory (raw output, parsed results, daemon log)
#                even when the run succeeds; it is always kept on failure
#
# Environment:
#   TGTD, TGTADM       the binaries under test (default <workspace>/target/release/,
#                      else <workspace>/target/debug/)
#   BSTYPE             backing store of LUN 1 (default rdwr). With another store,
#                      --capture-c writes c-tgt-1.0.85-BSTYPE.txt, and a run of ours
#                      accepts only the failures that C tgt has with rdwr AND with
#                      BSTYPE (so ours must pass what C passes on either store)
#   BSOFLAGS           --bsoflags of LUN 1 (e.g. sync:direct; default none); held to
#                      the same expectations as the store without flags
#   LUN_BACKING        backing path of LUN 1 instead of the 256 MiB file (e.g. an RBD
#                      image `pool/image` for BSTYPE=rbd; it is used as it is)
#   LUN_BSOPTS         --bsopts of LUN 1 (e.g. conf=/path/ceph.conf for BSTYPE=rbd)
#   TMPDIR             where the work directory and the LUN file go (default /tmp;
#                      /dev/shm puts the LUN on tmpfs)
#   LIBISCSI_TIMEOUT   seconds one iscsi-test-cu pass may take (default 240; a pass
#                      takes about 40 s on C tgt, 55 s on our release build and
#                      130 s on our debug build)
#   ISCSI_TEST_CU      the iscsi-test-cu binary (default: from PATH)
#
# Files beside this script:
#   c-tgt-1.0.85.txt     names that FAIL on C tgt 1.0.85 here, one per line, sorted;
#                        written only by --capture-c
#   known-failures.txt   `Suite.Test  reason` (two spaces), sorted (LC_ALL=C), one
#                        line per test that passes on C tgt but fails on ours;
#                        reasons are written by hand

set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WORKSPACE=$(cd "$SCRIPT_DIR/../.." && pwd)
readonly SCRIPT_DIR WORKSPACE
readonly IQN=iqn.2026-11.org.example:conformance
readonly LUN_SIZE=256M
readonly PORT_FIRST=3420 PORT_LAST=3439 CONTROL_OFFSET=3000
readonly READY_DEADLINE_S=10
readonly STOP_DEADLINE_S=10
readonly SUITE_TIMEOUT_S=${LIBISCSI_TIMEOUT:-240}
readonly BSTYPE=${BSTYPE:-rdwr}
readonly BSOFLAGS=${BSOFLAGS:-}
readonly C_LIST=$SCRIPT_DIR/c-tgt-1.0.85.txt
if [[ $BSTYPE == rdwr ]]; then
    readonly C_BS_LIST=$C_LIST
else
    readonly C_BS_LIST=$SCRIPT_DIR/c-tgt-1.0.85-$BSTYPE.txt
fi
readonly KNOWN_LIST=$SCRIPT_DIR/known-failures.txt

DIGEST=0 CAPTURE_C=0 KEEP=0
WORK="" DAEMON_PID="" TEST_PID="" FAILED_RUN=0

log() { printf 'libiscsi: %s\n' "$*" >&2; }
die() {
    log "$*"
    FAILED_RUN=1
    exit 2
}
usage() { sed -n '2,/^$/{s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; }

for arg in "$@"; do
    case $arg in
    --digest) DIGEST=1 ;;
    --capture-c) CAPTURE_C=1 ;;
    --keep) KEEP=1 ;;
    -h | --help)
        usage
        exit 0
        ;;
    *) die "unknown argument '$arg' (try --help)" ;;
    esac
done

# ---------------------------------------------------------------- binaries

if ((CAPTURE_C)); then
    TGTD_BIN=${TGTD_C:-/usr/sbin/tgtd}
    TGTADM_BIN=${TGTADM_C:-/usr/sbin/tgtadm}
else
    default_dir=$WORKSPACE/target/release
    [[ -x $default_dir/tgtd ]] || default_dir=$WORKSPACE/target/debug
    TGTD_BIN=${TGTD:-$default_dir/tgtd}
    TGTADM_BIN=${TGTADM:-$default_dir/tgtadm}
fi
TEST_CU=${ISCSI_TEST_CU:-$(command -v iscsi-test-cu || true)}
readonly TGTD_BIN TGTADM_BIN TEST_CU
[[ -x $TGTD_BIN ]] || die "tgtd not found at $TGTD_BIN (set TGTD)"
[[ -x $TGTADM_BIN ]] || die "tgtadm not found at $TGTADM_BIN (set TGTADM)"
[[ -n $TEST_CU && -x $TEST_CU ]] || die "iscsi-test-cu not found (apt-get install libiscsi-bin)"

# ---------------------------------------------------------------- lists

# Names (first field) of a list file; the file must be sorted and well formed.
check_known_list() {
    local line n=0
    [[ -f $KNOWN_LIST ]] || die "$KNOWN_LIST is missing"
    LC_ALL=C sort -c "$KNOWN_LIST" 2>/dev/null || die "$KNOWN_LIST is not sorted (LC_ALL=C sort)"
    while IFS= read -r line || [[ -n $line ]]; do
        n=$((n + 1))
        [[ $line =~ ^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\ \ [^\ ].*$ ]] ||
            die "$KNOWN_LIST:$n: expected 'Suite.Test  reason' (two spaces), got '$line'"
    done <"$KNOWN_LIST"
    [[ -z $(cut -d' ' -f1 "$KNOWN_LIST" | uniq -d) ]] || die "$KNOWN_LIST lists a test twice"
}

if ((!CAPTURE_C)); then
    for list in "$C_LIST" "$C_BS_LIST"; do
        [[ -f $list ]] || die "$list is missing (run with --capture-c)"
        LC_ALL=C sort -c -u "$list" 2>/dev/null || die "$list is not sorted and unique"
    done
    check_known_list
fi

# ---------------------------------------------------------------- daemon

stop_daemon() {
    local pid=$DAEMON_PID deadline
    [[ -n $pid ]] || return 0
    DAEMON_PID=""
    if daemon_alive "$pid"; then
        # C tgtd refuses `system delete` (and ignores SIGTERM) while it has targets.
        adm --mode target --op delete --force --tid 1 >/dev/null 2>&1 || true
        adm --mode system --op delete >/dev/null 2>&1 || true
        deadline=$((SECONDS + STOP_DEADLINE_S))
        while daemon_alive "$pid" && ((SECONDS < deadline)); do sleep 0.1; done
        if daemon_alive "$pid"; then
            log "tgtd (pid $pid) still running ${STOP_DEADLINE_S}s after 'system delete'; killing it"
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    wait "$pid" 2>/dev/null || true
}

# shellcheck disable=SC2317 # invoked by the EXIT trap
cleanup() {
    local rc=$?
    if [[ -n $TEST_PID ]]; then
        kill -TERM "$TEST_PID" 2>/dev/null || true # timeout passes it on to iscsi-test-cu
        wait "$TEST_PID" 2>/dev/null || true
    fi
    stop_daemon
    if [[ -n $WORK ]]; then
        rm -f "$WORK"/lun*.img
        if ((KEEP || FAILED_RUN || rc != 0)); then
            log "work directory kept: $WORK"
        else
            rm -rf "$WORK"
        fi
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Alive and not a zombie (our child stays a zombie until reaped by stop_daemon).
daemon_alive() {
    local state
    state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
    [[ -n $state && $state != Z ]]
}

# Inodes of the TCP sockets listening on port $1 (any address), from /proc/net/tcp{,6}.
listen_inodes() {
    awk -v port=":$(printf '%04X' "$1")" '$4 == "0A" && substr($2, length($2) - 4) == port { print $10 }' \
        /proc/net/tcp /proc/net/tcp6 2>/dev/null || true
}
port_in_use() { [[ -n $(listen_inodes "$1") ]]; }
# Whether process $1 holds a socket listening on port $2 (so we test our daemon, not
# one that took the port meanwhile).
port_owned_by() {
    local ino fd
    for ino in $(listen_inodes "$2"); do
        for fd in /proc/"$1"/fd/*; do
            [[ $(readlink "$fd" 2>/dev/null) == "socket:[$ino]" ]] && return 0
        done
    done
    return 1
}

PORT="" CONTROL_PORT=""
for ((p = PORT_FIRST; p <= PORT_LAST; p++)); do
    if ! port_in_use "$p"; then
        PORT=$p
        CONTROL_PORT=$((p - CONTROL_OFFSET))
        break
    fi
done
[[ -n $PORT ]] || die "no free portal port in $PORT_FIRST-$PORT_LAST"
readonly PORT CONTROL_PORT

WORK=$(mktemp -d "${TMPDIR:-/tmp}/libiscsi.XXXXXX")
mkdir "$WORK/sock"

adm() { TGT_IPC_SOCKET=$WORK/sock/socket "$TGTADM_BIN" -C "$CONTROL_PORT" --lld iscsi "$@"; }

# start_daemon NAME: fresh tgtd and target; the log goes to $WORK/NAME.tgtd.log.
start_daemon() {
    local name=$1 deadline
    rm -f "$WORK"/sock/socket* "$WORK"/lun*.img
    truncate -s "$LUN_SIZE" "$WORK/lun1.img"
    TGT_IPC_SOCKET=$WORK/sock/socket setsid "$TGTD_BIN" -f -C "$CONTROL_PORT" \
        --iscsi "portal=127.0.0.1:$PORT" </dev/null >"$WORK/$name.tgtd.log" 2>&1 &
    DAEMON_PID=$!
    deadline=$((SECONDS + READY_DEADLINE_S))
    until adm --mode target --op show >/dev/null 2>&1; do
        daemon_alive "$DAEMON_PID" || die "tgtd exited during start-up; log: $WORK/$name.tgtd.log"
        ((SECONDS < deadline)) || die "tgtd not answering tgtadm after ${READY_DEADLINE_S}s"
        sleep 0.1
    done
    if ! adm --mode target --op new --tid 1 -T "$IQN" >/dev/null ||
        ! adm --mode logicalunit --op new --tid 1 --lun 1 --bstype "$BSTYPE" \
            -b "${LUN_BACKING:-$WORK/lun1.img}" ${LUN_BSOPTS:+--bsopts "$LUN_BSOPTS"} \
            ${BSOFLAGS:+--bsoflags "$BSOFLAGS"} >/dev/null ||
        ! adm --mode target --op bind --tid 1 -I ALL >/dev/null; then
        die "target set-up failed; log: $WORK/$name.tgtd.log"
    fi
    deadline=$((SECONDS + READY_DEADLINE_S))
    until port_owned_by "$DAEMON_PID" "$PORT"; do
        ((SECONDS < deadline)) || die "tgtd (pid $DAEMON_PID) not listening on 127.0.0.1:$PORT after ${READY_DEADLINE_S}s"
        sleep 0.1
    done
}

# ---------------------------------------------------------------- parser

# parse_cunit OUT: CUnit verbose output -> one line per test run:
#   Suite.Test<TAB>passed|skipped|FAILED|UNFINISHED<TAB>message
# Grammar (CUnit 2.1-3 Basic.c, libiscsi's logging() writes "    msg\n" to stdout):
#   "Suite: S" at column 0 starts suite S;
#   "  Test: T ..." starts test T; CUnit writes its verdict "passed" or "FAILED"
#   right after the last output of the test: after "..." on the same line, or at
#   column 0 of a later line. Text after "passed" on that line, and lines after
#   the verdict, come from later code (suite set-up), except for FAILED's
#   "    N. file:line  - assertion" lines. A `[SKIPPED]` note before "passed"
#   makes the run skipped. A test with no verdict (crash, timeout) is UNFINISHED.
parse_cunit() {
    awk '
    function verdict(rest,   state) {
        if (rest ~ /^passed/) state = skipped ? "skipped" : "passed"
        else if (rest ~ /^FAILED/) state = "FAILED"
        else {
            if (rest ~ /\[SKIPPED\]/) skipped = 1
            if (rest ~ /\[FAILED\]/ && msg == "") { msg = rest; sub(/^ +/, "", msg) }
            return
        }
        if (state == "FAILED") { pending = cur; pmsg = msg }
        else print cur "\t" state "\t"
        cur = ""
    }
    function flush() {
        if (pending != "") { print pending "\t" "FAILED" "\t" pmsg; pending = "" }
    }
    /^Suite: / { flush(); suite = substr($0, 8); next }
    /^  Test: / {
        flush()
        if (cur != "") print cur "\tUNFINISHED\t" msg
        i = index($0, " ...")
        name = (i ? substr($0, 9, i - 9) : substr($0, 9))
        cur = suite "." name; skipped = 0; msg = ""
        verdict(i ? substr($0, i + 4) : "")
        next
    }
    /^Run Summary:/ { flush(); next }
    pending != "" && /^    [0-9]+\. / {
        a = $0; sub(/^ +/, "", a)
        pmsg = (pmsg == "" ? a : pmsg " | " a)
        next
    }
    cur != "" { verdict($0) }
    END {
        flush()
        if (cur != "") print cur "\tUNFINISHED\t" msg
    }
    ' "$1"
}

# cunit_summary OUT: "ran passed failed" from CUnit's "tests" summary line.
cunit_summary() {
    awk '/^Run Summary:/ { s = 1 } s && $1 == "tests" { print $3, $4, $5; exit }' "$1"
}

# aggregate RUNS: one line per name, worst state first (FAILED > UNFINISHED >
# passed > skipped), with "k/n" runs failed and the first failure message.
aggregate() {
    awk -F'\t' '
    {
        n[$1]++
        if (!($1 in order)) { order[$1] = ++count; names[count] = $1 }
        if ($2 == "FAILED" || $2 == "UNFINISHED") {
            bad[$1]++
            if (!($1 in state) || state[$1] != "FAILED") state[$1] = $2
            if (!($1 in msg) && $3 != "") msg[$1] = $3
        } else if ($2 == "passed") {
            if (!($1 in state) || state[$1] == "skipped") state[$1] = "passed"
        } else if (!($1 in state)) state[$1] = "skipped"
    }
    END {
        for (i = 1; i <= count; i++) {
            k = names[i]
            printf "%s\t%s\t%d/%d\t%s\n", k, state[k], bad[k] + 0, n[k], msg[k]
        }
    }
    ' "$1" | LC_ALL=C sort
}

# ---------------------------------------------------------------- one pass

# run_pass NAME DIGEST(0|1): results in $WORK/NAME.{out,err,runs,results}.
# Returns 1 if the daemon died, the suite did not finish or the digest check failed.
run_pass() {
    local name=$1 digest=$2 rc=0 summary parsed ok=0
    local out=$WORK/$name.out err=$WORK/$name.err
    start_daemon "$name"
    if ((digest)); then
        if ! adm --mode target --op update --tid 1 --name HeaderDigest --value CRC32C ||
            ! adm --mode target --op update --tid 1 --name DataDigest --value CRC32C; then
            die "cannot set HeaderDigest/DataDigest to CRC32C"
        fi
    fi
    log "$name pass: $(basename "$TEST_CU") against $TGTD_BIN (pid $DAEMON_PID) on 127.0.0.1:$PORT, $BSTYPE${BSOFLAGS:+ ($BSOFLAGS)} LUN in $WORK"
    local start=$SECONDS envs=()
    # libiscsi's log level 6 prints every key of the target's login response.
    ((digest)) && envs=(LIBISCSI_DEBUG=6)
    # In the background so that a signal to this script is handled at once (the trap
    # stops the suite and the daemon); `timeout` runs it in a process group of its own.
    env "${envs[@]}" timeout --kill-after=5 "$SUITE_TIMEOUT_S" "$TEST_CU" -d -v \
        "iscsi://127.0.0.1:$PORT/$IQN/1" >"$out" 2>"$err" </dev/null &
    TEST_PID=$!
    # Whichever ends first. If tgtd dies, stop the suite at once: its reconnects must not
    # reach another daemon that takes the port meanwhile (another run of this script).
    local first=""
    wait -n -p first "$TEST_PID" "$DAEMON_PID" || rc=$?
    if [[ $first != "$TEST_PID" ]]; then
        log "tgtd (pid $DAEMON_PID) exited during the $name pass; stopping iscsi-test-cu"
        kill -TERM "$TEST_PID" 2>/dev/null || true
        wait "$TEST_PID" || rc=$?
    fi
    TEST_PID=""
    log "$name pass: iscsi-test-cu exited with $rc after $((SECONDS - start))s"

    parse_cunit "$out" >"$WORK/$name.runs"
    aggregate "$WORK/$name.runs" >"$WORK/$name.results"

    if ! daemon_alive "$DAEMON_PID"; then
        log "FAIL: tgtd (pid $DAEMON_PID) died during the $name pass; log: $WORK/$name.tgtd.log"
        tail -n 20 "$WORK/$name.tgtd.log" | sed 's/^/    tgtd: /' >&2
        ok=1
    fi
    stop_daemon

    summary=$(cunit_summary "$out")
    if [[ -z $summary ]]; then
        log "FAIL: iscsi-test-cu did not finish the $name pass (exit $rc; time limit ${SUITE_TIMEOUT_S}s);" \
            "last test started: $(tail -n 1 "$WORK/$name.runs" | cut -f1)"
        ok=1
    else
        parsed=$(awk -F'\t' '{ ran++ } $2 == "passed" || $2 == "skipped" { p++ }
            $2 == "FAILED" { f++ } END { print ran + 0, p + 0, f + 0 }' "$WORK/$name.runs")
        if [[ $parsed != "$summary" ]]; then
            log "FAIL: parser disagrees with CUnit's summary (parsed ran/passed/failed $parsed," \
                "CUnit $summary); see $out"
            ok=1
        fi
    fi

    awk -F'\t' -v pass="$name" '
        { r[$2]++ }
        END { printf "libiscsi: %s pass: %d runs: %d passed, %d skipped, %d FAILED, %d unfinished\n",
                pass, NR, r["passed"], r["skipped"], r["FAILED"], r["UNFINISHED"] }' "$WORK/$name.runs" >&2
    awk -F'\t' -v pass="$name" '
        { r[$2]++ }
        END { printf "libiscsi: %s pass: %d tests (Suite.Test, worst of its runs): %d passed, %d skipped, %d FAILED, %d unfinished\n",
                pass, NR, r["passed"], r["skipped"], r["FAILED"], r["UNFINISHED"] }' "$WORK/$name.results" >&2
    [[ -z $summary ]] || log "$name pass: CUnit summary: ran $(cut -d' ' -f1 <<<"$summary")," \
        "passed $(cut -d' ' -f2 <<<"$summary"), failed $(cut -d' ' -f3 <<<"$summary")"

    if ((digest)); then
        local logins crc data
        logins=$(grep -c 'TargetLoginReply: HeaderDigest=' "$err" || true)
        crc=$(grep -c 'TargetLoginReply: HeaderDigest=CRC32C ' "$err" || true)
        data=$(grep -o 'TargetLoginReply: DataDigest=[A-Za-z0-9]*' "$err" | sort | uniq -c |
            awk '{ sub(/.*=/, "", $3); printf "%s%s x%d", (NR > 1 ? ", " : ""), $3, $1 }')
        log "$name pass: $crc of $logins logins negotiated HeaderDigest=CRC32C (libiscsi log);" \
            "DataDigest: ${data:-none seen} (libiscsi offers DataDigest=None only)"
        if ((logins == 0 || crc != logins)); then
            log "FAIL: header digests were not negotiated on every login of the $name pass"
            ok=1
        fi
    fi
    return "$ok"
}

# ---------------------------------------------------------------- compare

# compare NAME: apply rules (a) and (b) to $WORK/NAME.results. Returns 1 on a mismatch.
compare() {
    local name=$1 results=$WORK/$1.results bad=0 t state runs msg
    local -A c_fail=() known=() seen=()
    # Failures C tgt has with rdwr and with $BSTYPE alike.
    while IFS= read -r t; do [[ -n $t ]] && c_fail[$t]=1; done < <(LC_ALL=C comm -12 "$C_LIST" "$C_BS_LIST")
    while IFS= read -r t; do
        [[ -n $t ]] && known[${t%%  *}]=${t#*  }
    done <"$KNOWN_LIST"

    local regressions=() stale=() expected=() c_too=() fixed=()
    while IFS=$'\t' read -r t state runs msg; do
        seen[$t]=1
        if [[ $state == FAILED || $state == UNFINISHED ]]; then
            if [[ -n ${known[$t]+x} ]]; then
                expected+=("$t")
            elif [[ -n ${c_fail[$t]+x} ]]; then
                c_too+=("$t")
            else
                regressions+=("$t  $state in $runs runs: ${msg:-no message}")
            fi
        elif [[ -n ${c_fail[$t]+x} ]]; then
            fixed+=("$t")
        fi
        if [[ -n ${known[$t]+x} && $state != FAILED && $state != UNFINISHED ]]; then
            stale+=("$t  now $state; remove it from known-failures.txt")
        fi
    done <"$results"
    for t in "${!known[@]}"; do
        [[ -n ${seen[$t]+x} ]] || stale+=("$t  did not run at all; remove or rename the entry")
    done
    for t in "${!known[@]}"; do
        [[ -z ${c_fail[$t]+x} ]] || log "note: $t is in known-failures.txt but fails on C tgt too; the entry is not needed"
    done

    log "$name pass: ${#c_too[@]} fail as on C tgt, ${#expected[@]} known failures, ${#fixed[@]} fail on C tgt but pass here"
    if ((${#fixed[@]})); then
        printf '    fixed: %s\n' "${fixed[@]}" >&2
    fi
    if ((${#regressions[@]})); then
        log "FAIL: ${#regressions[@]} tests pass on C tgt but fail here and are not in known-failures.txt:"
        printf '    %s\n' "${regressions[@]}" >&2
        bad=1
    fi
    if ((${#stale[@]})); then
        log "FAIL: ${#stale[@]} stale entries in known-failures.txt:"
        printf '    %s\n' "${stale[@]}" | LC_ALL=C sort >&2
        bad=1
    fi
    return "$bad"
}

# ---------------------------------------------------------------- main

status=0
if ((CAPTURE_C)); then
    run_pass plain 0 || die "C tgt run is not usable; $C_BS_LIST left unchanged"
    awk -F'\t' '$2 == "FAILED" || $2 == "UNFINISHED" { print $1 }' "$WORK/plain.results" |
        LC_ALL=C sort -u >"$WORK/c-list"
    mv "$WORK/c-list" "$C_BS_LIST"
    log "wrote $C_BS_LIST ($(wc -l <"$C_BS_LIST") tests fail on C tgt with $BSTYPE)"
    if ((DIGEST)); then
        run_pass digest 1 || status=1
        if ! diff <(cut -f1,2 "$WORK/plain.results") <(cut -f1,2 "$WORK/digest.results") >"$WORK/digest.diff"; then
            log "FAIL: C tgt's results differ with digests:"
            sed 's/^/    /' "$WORK/digest.diff" >&2
            status=1
        fi
    fi
else
    run_pass plain 0 || status=1
    compare plain || status=1
    if ((DIGEST)); then
        run_pass digest 1 || status=1
        compare digest || status=1
    fi
fi

if ((status)); then
    FAILED_RUN=1
    log "FAILED"
else
    log "OK"
fi
exit "$status"
