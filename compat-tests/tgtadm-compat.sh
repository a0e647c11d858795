#!/usr/bin/env bash
#
# tgtadm-compat.sh: differential test of our tgtadm and tgtd against C tgt 1.0.85.
#
# Every step of tgtadm-sequence.txt (one tgtadm invocation per line) runs four
# ways, one after the other, each on a fresh daemon started with the same
# socket path, control port, portal port and backing files:
#
#   c-c     C tgtadm   -> C tgtd      the reference
#   c-rs    C tgtadm   -> our tgtd
#   rs-c    our tgtadm -> C tgtd
#   rs-rs   our tgtadm -> our tgtd
#
# stdout, stderr and the exit status of every step are compared byte for byte
# with c-c. The only normalisation is the list of lines under `Backing stores:`
# and `Device types:` in `sys show` output (each tgtd lists what it supports).
# Prints a compact diff per differing step and `identical N/M` per direction;
# exits 0 when everything is identical, 1 on any difference, 2 on setup errors.
#
# Usage: compat-tests/tgtadm-compat.sh [--keep] [--help]
#   --keep   keep the per-run directory (outputs of every step, daemon logs)
#
# Environment:
#   TGTD_C, TGTADM_C     C binaries (default /usr/sbin/tgtd, /usr/sbin/tgtadm;
#                        Debian's `tgt` is installed with apt-get when the
#                        defaults are missing and we run as root)
#   TGTD_RS, TGTADM_RS   our binaries (default <workspace>/target/{debug,release}/)
#   TGTADM_COMPAT_PORT   first portal port to try (default 21260; the run needs
#                        three consecutive free ports)
#   TGTADM_COMPAT_SEQUENCE  sequence file (default: tgtadm-sequence.txt beside this script)
#
# Validating the harness itself: with TGTD_RS=/usr/sbin/tgtd
# TGTADM_RS=/usr/sbin/tgtadm all four directions run C and must be identical.

set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WORKSPACE=$(dirname "$SCRIPT_DIR")
readonly SCRIPT_DIR WORKSPACE
readonly SEQUENCE=${TGTADM_COMPAT_SEQUENCE:-$SCRIPT_DIR/tgtadm-sequence.txt}
readonly CONTROL_PORT=0
readonly READY_DEADLINE_S=10
readonly STEP_TIMEOUT_S=10
readonly MAX_CONSECUTIVE_TIMEOUTS=3
readonly SESSION_DEADLINE_S=10
readonly DIFF_MAX_LINES=40
readonly DIRECTIONS=(c-c c-rs rs-c rs-rs)

KEEP=0
WORK=""
DAEMON_PID=""
declare -A SLOT_FD=() SLOT_INITIATOR=()

log() { printf 'tgtadm-compat: %s\n' "$*" >&2; }
die() {
    log "$*"
    exit 2
}

usage() { sed -n '2,/^$/{s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; }

for arg in "$@"; do
    case $arg in
    --keep) KEEP=1 ;;
    -h | --help)
        usage
        exit 0
        ;;
    *) die "unknown argument '$arg' (try --help)" ;;
    esac
done

# ---------------------------------------------------------------- cleanup

close_slots() {
    local slot fd
    for slot in "${!SLOT_FD[@]}"; do
        fd=${SLOT_FD[$slot]}
        exec {fd}>&- || true
    done
    SLOT_FD=()
    SLOT_INITIATOR=()
}

stop_daemon() {
    if [[ -n $DAEMON_PID ]]; then
        kill -9 "$DAEMON_PID" 2>/dev/null || true
        wait "$DAEMON_PID" 2>/dev/null || true
        DAEMON_PID=""
    fi
}

cleanup() {
    close_slots
    stop_daemon
    if [[ -n $WORK && -d $WORK ]]; then
        if ((KEEP)); then
            log "outputs kept in $WORK"
        else
            rm -rf "$WORK"
        fi
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- binaries

ensure_c_tgt() {
    if [[ -x $TGTD_C && -x $TGTADM_C ]]; then
        return
    fi
    if [[ $TGTD_C == /usr/sbin/tgtd && $TGTADM_C == /usr/sbin/tgtadm ]] &&
        ((EUID == 0)) && command -v apt-get >/dev/null; then
        log "C tgt missing: installing Debian package tgt"
        export DEBIAN_FRONTEND=noninteractive
        apt-get install -y --no-install-recommends tgt >&2 ||
            { apt-get update >&2 && apt-get install -y --no-install-recommends tgt >&2; } ||
            die "apt-get install tgt failed"
    fi
    [[ -x $TGTD_C && -x $TGTADM_C ]] || die "C tgt not found: $TGTD_C, $TGTADM_C"
}

# Our binary $1 (tgtd or tgtadm): the debug build first, then release.
find_ours() {
    local target_dir=${CARGO_TARGET_DIR:-$WORKSPACE/target} profile
    for profile in debug release; do
        if [[ -x $target_dir/$profile/$1 ]]; then
            printf '%s\n' "$target_dir/$profile/$1"
            return
        fi
    done
    printf '%s\n' "$target_dir/debug/$1"
}

TGTD_C=${TGTD_C:-/usr/sbin/tgtd}
TGTADM_C=${TGTADM_C:-/usr/sbin/tgtadm}
TGTD_RS=${TGTD_RS:-$(find_ours tgtd)}
TGTADM_RS=${TGTADM_RS:-$(find_ours tgtadm)}
ensure_c_tgt
[[ -x $TGTD_RS ]] || die "our tgtd not found: $TGTD_RS (cargo build, or set TGTD_RS)"
[[ -x $TGTADM_RS ]] || die "our tgtadm not found: $TGTADM_RS (cargo build, or set TGTADM_RS)"
[[ -r $SEQUENCE ]] || die "sequence file not readable: $SEQUENCE"

# tgtadm is run as `tgtadm` through PATH, from a directory holding a symlink
# to the binary, so that argv[0] (printed in getopt messages) is the same for
# both, as it is for a user who types `tgtadm`.
tgtadm_bin_dir_of() { case $1 in c-*) echo "$WORK/bin-c" ;; *) echo "$WORK/bin-rs" ;; esac; }
tgtd_of() { case $1 in *-c) echo "$TGTD_C" ;; *) echo "$TGTD_RS" ;; esac; }
describe() {
    case $1 in
    c-c) echo "C tgtadm -> C tgtd" ;;
    c-rs) echo "C tgtadm -> our tgtd" ;;
    rs-c) echo "our tgtadm -> C tgtd" ;;
    rs-rs) echo "our tgtadm -> our tgtd" ;;
    esac
}

# ---------------------------------------------------------------- ports, readiness

now_ms() { echo $((${EPOCHREALTIME/./} / 1000)); }

# Is TCP port $1 used by any socket (any state) on this host?
tcp_port_used() {
    local hex
    hex=$(printf '%04X' "$1")
    awk -v p=":$hex" 'FNR > 1 && substr($2, length($2) - 4) == p { found = 1 } END { exit !found }' \
        /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

tcp_port_listening() {
    local hex
    hex=$(printf '%04X' "$1")
    awk -v p=":$hex" 'FNR > 1 && $4 == "0A" && substr($2, length($2) - 4) == p { found = 1 } END { exit !found }' \
        /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

unix_socket_listening() {
    # /proc/net/unix: Flags 00010000 is __SO_ACCEPTCON, i.e. listen() was called.
    awk -v p="$1" 'FNR > 1 && $4 == "00010000" && $NF == p { found = 1 } END { exit !found }' /proc/net/unix
}

# Three consecutive free TCP ports: the portal tgtd starts with and two for `portal new`.
choose_ports() {
    local base=${TGTADM_COMPAT_PORT:-21260} tries
    for ((tries = 0; tries < 200; tries++, base += 3)); do
        if ! tcp_port_used "$base" && ! tcp_port_used $((base + 1)) && ! tcp_port_used $((base + 2)); then
            P0=$base P1=$((base + 1)) P2=$((base + 2))
            return
        fi
    done
    die "no three consecutive free TCP ports found"
}

# Start tgtd $1, log to $2; wait (with a deadline) until both the management
# socket and the iSCSI portal accept connections. On failure: return 1 with
# the reason in START_ERROR.
start_daemon() {
    local tgtd=$1 logfile=$2 deadline
    rm -rf "$IPC_DIR"
    mkdir -p "$IPC_DIR"
    TGT_IPC_SOCKET=$IPC_DIR/socket "$tgtd" -f -C "$CONTROL_PORT" --iscsi "portal=127.0.0.1:$P0" \
        </dev/null >"$logfile" 2>&1 &
    DAEMON_PID=$!
    deadline=$(($(now_ms) + READY_DEADLINE_S * 1000))
    until unix_socket_listening "$IPC_DIR/socket.$CONTROL_PORT" && tcp_port_listening "$P0"; do
        if process_exited "$DAEMON_PID"; then
            START_ERROR="$tgtd exited during startup: $(tail -n 5 "$logfile" | tr '\n' ' ')"
            stop_daemon
            return 1
        fi
        if (($(now_ms) > deadline)); then
            START_ERROR="$tgtd: management socket or portal 127.0.0.1:$P0 not listening after ${READY_DEADLINE_S}s"
            stop_daemon
            return 1
        fi
        sleep 0.02 # poll interval; readiness is the condition above
    done
}

# Has our child $1 exited (gone or a zombie not yet reaped)?
process_exited() {
    local state
    state=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 0
    [[ -z $state || $state == Z ]]
}

# ---------------------------------------------------------------- iSCSI login directive

# Bytes of the hex string $1 written to fd $2.
write_hex() {
    local fmt
    # shellcheck disable=SC2001 # a back-reference: every byte gets its own \x
    fmt=$(sed 's/../\\x&/g' <<<"$1")
    # shellcheck disable=SC2059 # the format is built from hex digits only
    printf "$fmt" >&"$2"
}

# Read exactly $2 bytes from fd $1 into file $3 (fewer on EOF, reset or timeout).
# A target that closes a connection with our request still unread makes the kernel send
# a reset instead of a FIN; which one the reader sees is a race, so both read as "closed"
# and dd's message about it is dropped.
read_exact() {
    timeout "$SESSION_DEADLINE_S" dd bs="$2" count=1 iflag=fullblock status=none <&"$1" >"$3" 2>/dev/null || true
}

# !login SLOT TARGETNAME INITIATORNAME: one Login request, operational stage
# straight to full feature (T=1 CSG=1 NSG=3), no authentication. Prints the
# response's status, flags, TSIH and keys; the connection stays open in SLOT.
directive_login() {
    local slot=$1 target=$2 initiator=$3 fd text dsl pad hdr tmp=$STEP_OUT.bhs
    local -a b
    [[ $slot =~ ^[1-9]$ ]] || { echo "login: slot must be 1..9"; return 1; }
    [[ -z ${SLOT_FD[$slot]:-} ]] || { echo "login: slot $slot already in use"; return 1; }
    if ! { exec {fd}<>"/dev/tcp/127.0.0.1/$P0"; } 2>/dev/null; then
        echo "login: cannot connect to 127.0.0.1:$P0"
        return 1
    fi
    SLOT_FD[$slot]=$fd
    SLOT_INITIATOR[$slot]=$initiator
    text=$(printf 'InitiatorName=%s\0SessionType=Normal\0TargetName=%s\0' "$initiator" "$target" |
        od -An -v -tx1 | tr -d ' \n')
    dsl=$((${#text} / 2))
    pad=$(((4 - dsl % 4) % 4))
    local -a bhs=( # RFC 7143 §11.12 Login Request
        43 87 00 00                       # opcode 0x03|I; T, CSG=1, NSG=3; VersionMax; VersionMin
        00 "$(printf '%06x' "$dsl")"      # TotalAHSLength; DataSegmentLength
        00 02 3d 00 00 "0$slot"           # ISID
        00 00                             # TSIH
        00 00 00 "0$slot"                 # ITT
        00 00 00 00                       # CID; reserved
        00 00 00 01                       # CmdSN
        00 00 00 00                       # ExpStatSN
        00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
    )
    hdr=$(printf '%s' "${bhs[@]}")
    ((${#hdr} == 96)) || die "login: BHS is ${#hdr} hex digits, not 96"
    write_hex "$hdr$text$(printf '%*s' $((pad * 2)) '' | tr ' ' 0)" "$fd"
    read_exact "$fd" 48 "$tmp"
    if [[ ! -s $tmp ]]; then
        echo "login: connection closed by the target"
        return 0
    fi
    read -ra b <<<"$(od -An -v -tx1 "$tmp" | tr '\n' ' ')"
    if ((${#b[@]} < 48)); then
        echo "login: short response (${#b[@]} bytes)"
        return 0
    fi
    # TSIH as the raw bytes: C tgtd 1.0.85 sends it in host byte order.
    echo "login: opcode=0x${b[0]} flags=0x${b[1]} class=0x${b[36]} detail=0x${b[37]} tsih=0x${b[14]}${b[15]}"
    dsl=$((16#${b[5]}${b[6]}${b[7]}))
    if ((dsl > 0)); then
        read_exact "$fd" $((dsl + (4 - dsl % 4) % 4)) "$tmp"
        tr '\0' '\n' <"$tmp" | sed '/^$/d'
    fi
    rm -f "$tmp"
}

# Does the daemon list an I_T nexus of initiator $1? Asked with the C tgtadm
# (the oracle client) so that the wait does not depend on our tgtadm.
initiator_has_nexus() {
    TGT_IPC_SOCKET=$IPC_DIR/socket "$TGTADM_C" -C "$CONTROL_PORT" --mode target --op show </dev/null 2>/dev/null |
        grep -qF "Initiator: $1 alias:"
}

# !logout SLOT: close SLOT's connection, then wait (with a deadline) until the
# daemon no longer lists a nexus of that slot's initiator.
directive_logout() {
    local slot=$1 initiator fd deadline
    [[ -n ${SLOT_FD[$slot]:-} ]] || { echo "logout: slot $slot not in use"; return 1; }
    fd=${SLOT_FD[$slot]}
    initiator=${SLOT_INITIATOR[$slot]}
    exec {fd}>&-
    unset "SLOT_FD[$slot]" "SLOT_INITIATOR[$slot]"
    deadline=$(($(now_ms) + SESSION_DEADLINE_S * 1000))
    while initiator_has_nexus "$initiator"; do
        if (($(now_ms) > deadline)); then
            echo "logout: $initiator still has a nexus after ${SESSION_DEADLINE_S}s"
            return 1
        fi
        sleep 0.02 # poll interval; the condition is the nexus listing above
    done
    echo "logout: no nexus left"
}

# ---------------------------------------------------------------- the sequence

STEP_LINES=()   # expanded step text
STEP_LINENOS=() # line number in the sequence file

load_sequence() {
    local line lineno=0
    while IFS= read -r line || [[ -n $line ]]; do
        lineno=$((lineno + 1))
        [[ $line =~ ^[[:space:]]*(#|$) ]] && continue
        if [[ $line =~ [\$\`\;\|\&\<\>\(\)\\\{\}~*?\"] ]]; then
            die "$SEQUENCE:$lineno: shell metacharacters are not allowed: $line"
        fi
        line=${line//@IMG@/$IMG_DIR}
        line=${line//@P0@/$P0}
        line=${line//@P1@/$P1}
        line=${line//@P2@/$P2}
        [[ ! $line =~ @[A-Z0-9]+@ ]] || die "$SEQUENCE:$lineno: unknown placeholder: $line"
        STEP_LINES+=("$line")
        STEP_LINENOS+=("$lineno")
    done <"$SEQUENCE"
    ((${#STEP_LINES[@]} > 0)) || die "$SEQUENCE: no steps"
}

make_images() {
    mkdir -p "$IMG_DIR/dir"
    truncate -s 10M "$IMG_DIR/10m"
    truncate -s 50M "$IMG_DIR/50m"
    truncate -s 1G "$IMG_DIR/1g"
    truncate -s 1000 "$IMG_DIR/odd"
    : >"$IMG_DIR/empty"
    # Mode 0444: root opens it read-write all the same, so a tgtd that looks at the
    # permission bits instead of trying open() would differ.
    truncate -s 10M "$IMG_DIR/ro"
    chmod 0444 "$IMG_DIR/ro"
    # @IMG@/missing never exists.
}

# Run step $1 of direction $2 (outputs under $3/NNN.{out,err,rc}).
run_step() {
    local i=$1 dir=$2 outdir=$3 rc=0
    local -a args
    STEP_OUT=$outdir/$(printf '%03d' "$((i + 1))")
    # Split like a shell (single quotes); load_sequence rejected expansions.
    set -f
    eval "args=(${STEP_LINES[i]})"
    set +f
    case ${args[0]:-} in
    !login)
        directive_login "${args[@]:1}" >"$STEP_OUT.out" 2>"$STEP_OUT.err" || rc=$?
        ;;
    !logout)
        directive_logout "${args[@]:1}" >"$STEP_OUT.out" 2>"$STEP_OUT.err" || rc=$?
        ;;
    !*)
        die "line ${STEP_LINENOS[i]}: unknown directive ${args[0]}"
        ;;
    *)
        PATH=$(tgtadm_bin_dir_of "$dir"):$PATH TGT_IPC_SOCKET=$IPC_DIR/socket \
            timeout -k 2 "$STEP_TIMEOUT_S" tgtadm "${args[@]}" \
            </dev/null >"$STEP_OUT.out" 2>"$STEP_OUT.err" || rc=$?
        ;;
    esac
    echo "$rc" >"$STEP_OUT.rc"
}

# How the daemon ended, compared between directions: still serving at the end
# of the sequence, or exited (and with which status). A daemon whose management
# socket is gone is shutting down (`sys delete`): give it a deadline to exit.
record_daemon_end() {
    local outfile=$1 status=0 deadline
    if ! unix_socket_listening "$IPC_DIR/socket.$CONTROL_PORT"; then
        deadline=$(($(now_ms) + READY_DEADLINE_S * 1000))
        until process_exited "$DAEMON_PID" || (($(now_ms) > deadline)); do
            sleep 0.02 # poll interval; the condition is the process state
        done
    fi
    if process_exited "$DAEMON_PID"; then
        wait "$DAEMON_PID" || status=$?
        DAEMON_PID=""
        echo "tgtd exited with status $status" >"$outfile"
    else
        echo "tgtd still running at the end (then killed)" >"$outfile"
    fi
}

# Steps from $2 (1-based) on were not run in direction dir $1, because of $3.
record_not_run() {
    echo "$2" >"$WORK/$1/not-run-from"
    echo "$3" >"$WORK/$1/not-run-why"
    log "$1: steps $2..${#STEP_LINES[@]} not run: $3"
}

# Run the whole sequence in direction $1 (outputs under $WORK/$1). A daemon
# that does not start, or stops answering (consecutive step timeouts), ends
# the direction early instead of costing a timeout per step.
run_direction() {
    local dir=$1 outdir=$WORK/$1 i rc first_dead="" timeouts=0
    mkdir -p "$outdir"
    if ! start_daemon "$(tgtd_of "$dir")" "$outdir/tgtd.log"; then
        record_not_run "$dir" 1 "$START_ERROR"
        echo "tgtd did not start" >"$outdir/daemon-end"
        return
    fi
    for i in "${!STEP_LINES[@]}"; do
        if ((timeouts >= MAX_CONSECUTIVE_TIMEOUTS)); then
            record_not_run "$dir" $((i + 1)) "tgtd unresponsive: steps $((i + 1 - timeouts))..$i timed out"
            break
        fi
        run_step "$i" "$dir" "$outdir"
        rc=$(<"$STEP_OUT.rc")
        if ((rc == 124 || rc == 137)); then
            timeouts=$((timeouts + 1))
        else
            timeouts=0
        fi
        if [[ -z $first_dead ]] && process_exited "$DAEMON_PID"; then
            first_dead=$((i + 1))
            log "$dir: tgtd gone after step $first_dead (line ${STEP_LINENOS[i]}): ${STEP_LINES[i]}"
        fi
    done
    close_slots
    record_daemon_end "$outdir/daemon-end"
    stop_daemon
}

# ---------------------------------------------------------------- comparison

# The one normalisation: drop the entries under `Backing stores:` and
# `Device types:` (but keep the global `Account information:` block that
# follows the device types).
normalise() {
    sed -e '/^Backing stores:$/,/^[^ ]/{/^    /d}' \
        -e '/^Device types:$/,/^\(    Account information:$\|[^ ]\)/{/^    Account information:$/!{/^    /d}}' \
        "$1"
}

# Print a compact diff of files $1 (expected) and $2 (got), indented.
show_diff() {
    diff -a --unified=1 --label expected --label got "$1" "$2" | sed '1,2d' |
        head -n "$DIFF_MAX_LINES" | sed 's/^/      /' || true
}

# Compare direction $1 with c-c: print every differing step; set SAME to the
# number of identical steps and END_DIFFERS to 1 if the daemon ended otherwise.
compare_direction() {
    local ref=$WORK/c-c got=$WORK/$1 cmp_dir=$WORK/cmp-$1 i n exp_rc got_rc out_same err_same
    local not_run_from=$((${#STEP_LINES[@]} + 1))
    [[ ! -e $got/not-run-from ]] || not_run_from=$(<"$got/not-run-from")
    mkdir -p "$cmp_dir"
    SAME=0
    END_DIFFERS=0
    for i in "${!STEP_LINES[@]}"; do
        if ((i + 1 >= not_run_from)); then
            printf '  steps %d..%d (lines %s..%s) not run: %s\n' "$not_run_from" "${#STEP_LINES[@]}" \
                "${STEP_LINENOS[i]}" "${STEP_LINENOS[-1]}" "$(<"$got/not-run-why")"
            break
        fi
        n=$(printf '%03d' "$((i + 1))")
        normalise "$ref/$n.out" >"$cmp_dir/$n.expected"
        normalise "$got/$n.out" >"$cmp_dir/$n.got"
        exp_rc=$(<"$ref/$n.rc")
        got_rc=$(<"$got/$n.rc")
        out_same=1 err_same=1
        cmp -s "$cmp_dir/$n.expected" "$cmp_dir/$n.got" || out_same=0
        cmp -s "$ref/$n.err" "$got/$n.err" || err_same=0
        if ((out_same && err_same)) && [[ $exp_rc == "$got_rc" ]]; then
            SAME=$((SAME + 1))
            continue
        fi
        printf '  step %s (line %s): %s\n' "$n" "${STEP_LINENOS[i]}" "${STEP_LINES[i]}"
        [[ $exp_rc == "$got_rc" ]] || printf '    exit status: expected %s, got %s\n' "$exp_rc" "$got_rc"
        if ((!out_same)); then
            echo "    stdout:"
            show_diff "$cmp_dir/$n.expected" "$cmp_dir/$n.got"
        fi
        if ((!err_same)); then
            echo "    stderr:"
            show_diff "$ref/$n.err" "$got/$n.err"
        fi
    done
    if ! cmp -s "$ref/daemon-end" "$got/daemon-end"; then
        END_DIFFERS=1
        echo "  daemon end: expected '$(<"$ref/daemon-end")', got '$(<"$got/daemon-end")'"
    fi
}

# ---------------------------------------------------------------- main

main() {
    local dir total failed=0
    local -A same=()

    # One run at a time on this host: the runs share nothing but TCP ports.
    exec {lock_fd}>"${TMPDIR:-/tmp}/tgtadm-compat.lock"
    flock "$lock_fd"

    WORK=$(mktemp -d "${TMPDIR:-/tmp}/tgtadm-compat.XXXXXX")
    IPC_DIR=$WORK/ipc
    IMG_DIR=$WORK/img
    make_images
    mkdir "$WORK/bin-c" "$WORK/bin-rs"
    ln -s "$(readlink -f "$TGTADM_C")" "$WORK/bin-c/tgtadm"
    ln -s "$(readlink -f "$TGTADM_RS")" "$WORK/bin-rs/tgtadm"
    choose_ports
    load_sequence
    total=${#STEP_LINES[@]}

    log "$total steps from $SEQUENCE; portal ports $P0 $P1 $P2; work dir $WORK"
    log "C:    $TGTADM_C, $TGTD_C"
    log "ours: $TGTADM_RS, $TGTD_RS"
    for dir in "${DIRECTIONS[@]}"; do
        log "running $dir ($(describe "$dir"))"
        run_direction "$dir"
    done

    log "reference run: $(<"$WORK/c-c/daemon-end")"
    [[ ! -e $WORK/c-c/not-run-from ]] ||
        die "the reference run (C tgtadm -> C tgtd) did not complete: $(<"$WORK/c-c/not-run-why")"
    for dir in "${DIRECTIONS[@]:1}"; do
        compare_direction "$dir" >"$WORK/differences-$dir"
        same[$dir]=$SAME
        if ((END_DIFFERS || SAME != total)); then
            failed=1
            echo "differences in $dir ($(describe "$dir")), expected = $(describe c-c):"
            cat "$WORK/differences-$dir"
        fi
    done

    echo "tgtadm-compat summary ($total steps, reference: $(describe c-c)):"
    for dir in "${DIRECTIONS[@]:1}"; do
        printf '  %-6s %-24s identical %d/%d\n' "$dir" "$(describe "$dir")" "${same[$dir]}" "$total"
    done
    return "$failed"
}

main
