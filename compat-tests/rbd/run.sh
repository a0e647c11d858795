#!/usr/bin/env bash
#
# run.sh [TGTD TGTADM]: the rbd backing store of our tgtd against a throwaway one-node Ceph
# (../shared/tools/ceph-single/start.sh), side by side with C tgt + Debian's tgt-rbd where
# that helps. Builds nothing: give it binaries built with `--features tgt/rbd` (default
# <workspace>/target/release/, else target/debug/). SKIPs (exit 0) when the ceph-single
# tool is not there.
#
# Checks, in order (each prints "rbd: PASS|FAIL|SKIP: what"):
#   sys        `sys show` lists rbd as C does: "rbd (bsoflags sync:direct)"
#   errors     logicalunit new on a wrong pool, image, snapshot, ceph.conf, client id, and
#              with conflicting key options: tgtadm's message and exit status equal C
#              tgt+tgt-rbd's (invalid request for pool/image, unknown error for the
#              cluster set-up), and our log names pool/image and librados' error
#   inquiry    iscsi-inq: DIRECT_ACCESS; iscsi-readcapacity16: 256 MiB, lbppbe 13 (4 MiB
#              objects)
#   qemu-img   32 MiB of random data written through iSCSI with qemu-img, read back
#              through iSCSI and with `rbd export`: identical
#   resize     `rbd resize` while a session is open: the next command gets UNIT ATTENTION
#              CAPACITY DATA HAS CHANGED (2A/09) and READ CAPACITY the new size
#              (mini_iscsi.py resize-ua); tgtadm shows the new size
#   durability 4 KiB writes, one at a time, each logged once acknowledged; tgtd killed with
#              SIGKILL mid-way; restarted, the LUN reopens; every acknowledged block is
#              in `rbd export` of the image and reads back through iSCSI
#   outage     the OSD stopped (its PID from DIR/pids): READ on the rbd LUN ends with
#              CHECK CONDITION MEDIUM ERROR within the bound (librados op timeouts set to
#              RBD_OP_TIMEOUT s, default 8, through CEPH_ARGS), tgtd stays up and serves
#              an rdwr LUN of another target meanwhile; the OSD restarted, READ on the rbd
#              LUN succeeds again within 60 s
#   thin       with thin_provisioning=1, iscsi-test-cu's Unmap, WriteSame10/16, GetLBAStatus,
#              CompareAndWrite and OrWrite suites run as many tests on rbd as on rdwr, and
#              none fails on rbd
#   libiscsi   (RBD_LIBISCSI=1, default) compat-tests/libiscsi/run.sh on an rbd LUN
#              (BSTYPE=rbd, LUN_BACKING, LUN_BSOPTS), then on our rdwr; the per-test
#              results must be the same. C tgt + tgt-rbd cannot be measured: it aborts
#              inside librbd at Read10.ZeroBlocks (a zero-length rbd_read), so
#              libiscsi/c-tgt-1.0.85-rbd.txt is a copy of C's rdwr list (run.sh holds ours
#              to the failures C has with both lists, i.e. C's rdwr failures)
#   kvm        (RBD_KVM=1, default) the Linux kernel initiator VM of
#              ../shared/tools/kvm-initiator/run.sh on an rbd LUN; SKIP when that tool or
#              its image (/tmp/kvmi, built by its build.sh) is missing
#
# Environment: CEPH_MON_PORT (default 3390), RBD_PORT (portal, default 3391; control port
# = portal - 3000), RBD_OP_TIMEOUT, RBD_LIBISCSI, RBD_KVM, KEEP=1 (keep the work directory).
# Everything it starts (cluster, daemons) is stopped by PID on exit.
# Exit status: 0 when every check passed or was skipped, 1 otherwise, 2 on set-up errors.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
ceph_tool=${CEPH_SINGLE:-$(cd "$root/.." && pwd)/shared/tools/ceph-single}
kvm_tool=${KVMI_TOOL:-$(cd "$root/.." && pwd)/shared/tools/kvm-initiator}
bin_dir=$root/target/release
[[ -x $bin_dir/tgtd ]] || bin_dir=$root/target/debug
TGTD=$(realpath "${1:-${TGTD:-$bin_dir/tgtd}}")
TGTADM=$(realpath "${2:-${TGTADM:-$bin_dir/tgtadm}}")
TGTD_C=${TGTD_C:-/usr/sbin/tgtd}
TGTADM_C=${TGTADM_C:-/usr/sbin/tgtadm}
export CEPH_MON_PORT=${CEPH_MON_PORT:-3390}
PORT=${RBD_PORT:-3391}
CPORT=$((PORT - 3000))
OP_TIMEOUT=${RBD_OP_TIMEOUT:-8}
IQN=iqn.2026-11.org.example:rbd
IQN2=iqn.2026-11.org.example:rbd-other
MINI=(python3 "$here/mini_iscsi.py")

if [[ ! -x $ceph_tool/start.sh ]]; then
    echo "rbd: SKIP: $ceph_tool/start.sh not found (the one-node Ceph tool)"
    exit 0
fi
for b in "$TGTD" "$TGTADM"; do
    [[ -x $b ]] || { echo "rbd: $b missing (cargo build --release --workspace --features tgt/rbd)"; exit 2; }
done

W=$(mktemp -d /tmp/rbd-check.XXXXXX)
D=$W/ceph
RBD=(timeout 120 rbd -c "$D/ceph.conf")
PID="" CPID=""
fails=0 passes=0 skips=0
pass() { echo "rbd: PASS: $*"; passes=$((passes + 1)); }
fail() { echo "rbd: FAIL: $*"; fails=$((fails + 1)); }
skip() { echo "rbd: SKIP: $*"; skips=$((skips + 1)); }
kill_pid() { [[ -n $1 ]] && kill -9 "$1" 2>/dev/null && wait "$1" 2>/dev/null; return 0; }
cleanup() {
    kill_pid "$PID"; kill_pid "$CPID"
    "$ceph_tool/stop.sh" "$D"
    if [[ ${KEEP:-0} == 1 || $fails -gt 0 ]]; then echo "rbd: work directory kept: $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "rbd: starting a one-node Ceph in $D (monitor port $CEPH_MON_PORT)"
"$ceph_tool/start.sh" "$D" >"$W/ceph-start.log" 2>&1 || { cat "$W/ceph-start.log"; echo "rbd: ceph start failed"; exit 2; }
CONF=$D/ceph.conf

# start_tgtd BIN CTL PORTAL LOG: a foreground tgtd in the background; sets $! as usual.
start_tgtd() {
    TGT_IPC_SOCKET=$W/sock setsid "$1" -f -C "$2" --iscsi "portal=127.0.0.1:$3" </dev/null >>"$4" 2>&1 &
    local p=$!
    for _ in $(seq 100); do [[ -S $W/sock.$2 ]] && break; sleep 0.1; done
    echo "$p"
}
adm() { TGT_IPC_SOCKET=$W/sock "$TGTADM" -C "$CPORT" --lld iscsi "$@"; }
adm_c() { TGT_IPC_SOCKET=$W/sock "$TGTADM_C" -C "$((CPORT + 1))" --lld iscsi "$@"; }
url() { echo "iscsi://127.0.0.1:$PORT/$IQN/$1"; }

# Our daemon: target 1 with LUN 1 on rbd/tgt-test; target 2 with an rdwr LUN (the outage
# check's other LU). The op timeouts come from CEPH_ARGS, as librados reads it.
up() {
    rm -f "$W"/sock.$CPORT*
    PID=$(CEPH_ARGS="--rados_osd_op_timeout $OP_TIMEOUT --rados_mon_op_timeout $OP_TIMEOUT" \
        start_tgtd "$TGTD" "$CPORT" "$PORT" "$W/tgtd.log")
    adm --mode target --op new --tid 1 -T "$IQN" &&
        adm --mode logicalunit --op new --tid 1 --lun 1 --bstype rbd -b rbd/tgt-test --bsopts "conf=$CONF" &&
        adm --mode target --op bind --tid 1 -I ALL &&
        adm --mode target --op new --tid 2 -T "$IQN2" &&
        adm --mode logicalunit --op new --tid 2 --lun 1 -b "$W/other.img" &&
        adm --mode target --op bind --tid 2 -I ALL
}
truncate -s 64M "$W/other.img"
if ! up; then
    tail -20 "$W/tgtd.log"
    echo "rbd: our tgtd did not take the rbd LUN"
    exit 2
fi

# ---- sys
if adm --mode sys --op show | grep -qx '    rbd (bsoflags sync:direct)'; then
    pass "sys show lists rbd (bsoflags sync:direct)"
else
    fail "sys show does not list rbd: was $TGTD built with --features tgt/rbd?"
    exit 1
fi

# ---- errors: the same requests to ours and to C tgt + tgt-rbd
error_cases=(
    "nopool/tgt-test|conf=$CONF"
    "rbd/noimage|conf=$CONF"
    "rbd/tgt-test@nosnap|conf=$CONF"
    "rbd/tgt-test|conf=$W/missing.conf"
    "rbd/tgt-test|conf=$CONF;id=nobody"
    "rbd/tgt-test|conf=$CONF;cephx_key=x;virsecretuuid=y"
    "tgt-test|conf=$CONF;bogus=1;id=nobody"
)
errors_of() {  # errors_of ADMFN: one line per case: "path bsopts -> rc message"
    local n=10 c p o out rc
    for c in "${error_cases[@]}"; do
        p=${c%%|*} o=${c#*|} n=$((n + 1))
        out=$("$1" --mode logicalunit --op new --tid 1 --lun $n --bstype rbd -b "$p" --bsopts "$o" 2>&1)
        rc=$?
        echo "$p ${o//$W/W} -> $rc ${out:-ok}"
        [[ $rc == 0 ]] && "$1" --mode logicalunit --op delete --tid 1 --lun $n >/dev/null 2>&1
    done
}
errors_of adm >"$W/errors.ours"
expect_ours="nopool/tgt-test conf=W/ceph/ceph.conf -> 22 tgtadm: invalid request
rbd/noimage conf=W/ceph/ceph.conf -> 22 tgtadm: invalid request
rbd/tgt-test@nosnap conf=W/ceph/ceph.conf -> 22 tgtadm: invalid request
rbd/tgt-test conf=W/missing.conf -> 22 tgtadm: unknown error
rbd/tgt-test conf=W/ceph/ceph.conf;id=nobody -> 22 tgtadm: unknown error
rbd/tgt-test conf=W/ceph/ceph.conf;cephx_key=x;virsecretuuid=y -> 22 tgtadm: unknown error
tgt-test conf=W/ceph/ceph.conf;bogus=1;id=nobody -> 0 ok"
if [[ $(cat "$W/errors.ours") == "$expect_ours" ]]; then
    pass "creation errors: wrong pool/image/snapshot invalid request, wrong conf/id/keys unknown error, unknown bsopts ignored"
else
    fail "creation errors differ from the expected:"; diff <(echo "$expect_ours") "$W/errors.ours"
fi
for what in "cannot open pool (pool nopool, image tgt-test)" "cannot open image (pool rbd, image noimage)" \
    "rados_conf_read_file failed" "rados_connect failed: Permission denied" "ignoring unknown option"; do
    grep -qF "$what" "$W/tgtd.log" || fail "no log line with '$what'"
done
if [[ -x $TGTD_C && -f /usr/lib/tgt/backing-store/bs_rbd.so ]]; then
    CPID=$(start_tgtd "$TGTD_C" "$((CPORT + 1))" "$((PORT + 1))" "$W/tgtd-c.log")
    adm_c --mode target --op new --tid 1 -T "$IQN" >/dev/null
    errors_of adm_c >"$W/errors.c"
    if diff "$W/errors.c" "$W/errors.ours" >"$W/errors.diff"; then
        pass "creation errors equal C tgt + tgt-rbd's ($(wc -l <"$W/errors.c") cases)"
    else
        fail "creation errors differ from C tgt + tgt-rbd's:"; cat "$W/errors.diff"
    fi
    kill_pid "$CPID"; CPID=""
else
    skip "C tgt with tgt-rbd not installed: errors not compared with C"
fi

# ---- inquiry, capacity
if iscsi-inq "$(url 1)" | grep -q DIRECT_ACCESS; then pass "iscsi-inq: DIRECT_ACCESS"; else fail "iscsi-inq"; fi
rc16=$(iscsi-readcapacity16 "$(url 1)")
if grep -q 'Total size:268435456' <<<"$rc16" && grep -q 'PHYSICAL BLOCK EXPONENT:13' <<<"$rc16"; then
    pass "iscsi-readcapacity16: 256 MiB, lbppbe 13 (4 MiB objects)"
else
    fail "iscsi-readcapacity16: $rc16"
fi

# ---- qemu-img round trip
head -c 32M /dev/urandom >"$W/src"
if qemu-img convert -n -f raw -O raw "$W/src" "$(url 1)" &&
    qemu-img convert -f raw -O raw "$(url 1)" "$W/back" &&
    "${RBD[@]}" export --no-progress rbd/tgt-test "$W/exp" >/dev/null &&
    cmp -n 33554432 "$W/src" "$W/back" && cmp -n 33554432 "$W/src" "$W/exp"; then
    pass "qemu-img: 32 MiB through iSCSI, identical read back via iSCSI and rbd export"
else
    fail "qemu-img round trip"
fi
rm -f "$W/back" "$W/exp"

# ---- resize
r=$("${MINI[@]}" "127.0.0.1:$PORT" "$IQN" 1 resize-ua "${RBD[*]} resize --no-progress --size 320M rbd/tgt-test" 2>&1)
if [[ $? == 0 ]] && adm --mode target --op show | grep -q 'Size: 336 MB'; then
    pass "resize: $r; tgtadm shows 336 MB"
else
    fail "resize: $r"
fi

# ---- durability
: >"$W/acked"
"${MINI[@]}" "127.0.0.1:$PORT" "$IQN" 1 write-acked "$W/acked" "tok$$" >"$W/writer.log" 2>&1 &
wpid=$!
for _ in $(seq 100); do [[ $(wc -l <"$W/acked" 2>/dev/null || echo 0) -ge 300 ]] && break; sleep 0.05; done
kill -9 "$PID"; wait "$PID" 2>/dev/null; PID=""
wait "$wpid"
acked=$(wc -l <"$W/acked")
if up && "${RBD[@]}" export --no-progress rbd/tgt-test "$W/exp" >/dev/null &&
    v=$("${MINI[@]}" verify "$W/acked" "tok$$" "$W/exp") &&
    qemu-img convert -f raw -O raw "$(url 1)" "$W/back" &&
    v2=$("${MINI[@]}" verify "$W/acked" "tok$$" "$W/back"); then
    pass "durability: killed with SIGKILL after $acked acknowledged writes; restarted; rbd export $v; iSCSI read $v2"
else
    fail "durability: $acked acknowledged; ${v:-}; ${v2:-}"
fi
rm -f "$W/back" "$W/exp"

# ---- outage
osd=$(awk '$2 ~ /^osd\./ { p = $1; n = $2 } END { print p, n }' "$D/pids")
osd_pid=${osd% *} osd_name=${osd#* }
kill "$osd_pid"
for _ in $(seq 100); do kill -0 "$osd_pid" 2>/dev/null || break; sleep 0.1; done
r=$("${MINI[@]}" "127.0.0.1:$PORT" "$IQN" 1 read-timed 4000 2>&1 &
    "${MINI[@]}" "127.0.0.1:$PORT" "$IQN2" 1 read-timed 0 >"$W/other-read" 2>&1; wait)
secs=$(sed -n 's/.*secs=\([0-9]*\).*/\1/p' <<<"$r")
other=$(cat "$W/other-read")
if [[ $r == "status=2 sense=03/1100 "* ]] && ((secs <= OP_TIMEOUT + 5)) && [[ $other == status=0* ]] &&
    kill -0 "$PID" 2>/dev/null; then
    pass "outage: OSD stopped: rbd READ $r (bound ${OP_TIMEOUT}s); rdwr LUN of target 2 meanwhile: $other"
else
    fail "outage: rbd READ: $r; other LUN: $other; tgtd alive: $(kill -0 "$PID" 2>/dev/null && echo yes || echo no)"
fi
sed -i "/ $osd_name\$/d" "$D/pids"
setsid ceph-osd -c "$CONF" -i "${osd_name#osd.}" -f </dev/null >>"$D/log/$osd_name.out" 2>&1 &
echo "$! $osd_name" >>"$D/pids"
t0=$SECONDS ok=""
while ((SECONDS - t0 < 60)); do
    r=$("${MINI[@]}" "127.0.0.1:$PORT" "$IQN" 1 read-timed 4000 2>&1)
    [[ $r == status=0* ]] && { ok=1; break; }
    sleep 1
done
if [[ -n $ok ]]; then pass "outage: OSD restarted: rbd READ succeeds again after $((SECONDS - t0)) s"; else fail "outage: no recovery: $r"; fi
grep -q 'backing-store i/o failed.*lun=1.*cause=.*timed out' "$W/tgtd.log" ||
    fail "outage: no log line with the timeout"

# ---- thin provisioning: UNMAP, WRITE SAME (with UNMAP), GET LBA STATUS, COMPARE AND WRITE
# on a thin rbd LUN and a thin rdwr LUN: the same CUnit results per suite.
"${RBD[@]}" create --size 64M --image-feature layering rbd/thin
truncate -s 64M "$W/thin.img"
adm --mode logicalunit --op new --tid 1 --lun 2 --bstype rbd -b rbd/thin --bsopts "conf=$CONF" &&
    adm --mode logicalunit --op update --tid 1 --lun 2 --params thin_provisioning=1 &&
    adm --mode logicalunit --op new --tid 2 --lun 2 -b "$W/thin.img" &&
    adm --mode logicalunit --op update --tid 2 --lun 2 --params thin_provisioning=1 ||
    fail "thin LUNs not created"
thin_same=1 thin_report=""
for suite in Unmap WriteSame10 WriteSame16 GetLBAStatus CompareAndWrite OrWrite; do
    for t in "$IQN" "$IQN2"; do
        timeout 300 iscsi-test-cu -d -v -t "ALL.$suite" "iscsi://127.0.0.1:$PORT/$t/2" >"$W/thin-$suite-${t##*:}.out" 2>&1
    done
    a=$(awk '$1 == "tests" { print $3 "/" $4 "/" $5 }' "$W/thin-$suite-rbd.out")
    b=$(awk '$1 == "tests" { print $3 "/" $4 "/" $5 }' "$W/thin-$suite-rbd-other.out")
    thin_report+=" $suite rbd $a rdwr $b;"
    # rbd must run what rdwr runs and fail nothing (rdwr's GET LBA STATUS depends on the
    # file system's hole granularity and may fail UnmapSingle).
    [[ -n $a && ${a%%/*} == "${b%%/*}" && ${a##*/} == 0 ]] || thin_same=0
done
if ((thin_same)); then
    pass "thin LUN, libiscsi run/passed/failed per suite, nothing fails on rbd:$thin_report"
else
    fail "thin LUN, libiscsi run/passed/failed:$thin_report"
fi

# ---- libiscsi: ours on rbd vs ours on rdwr
if [[ ${RBD_LIBISCSI:-1} == 1 ]]; then
    libiscsi() {  # libiscsi NAME ENV...: results file of one pass in $W/libiscsi-NAME.results
        local name=$1
        shift
        env "$@" TGTD="$TGTD" TGTADM="$TGTADM" LIBISCSI_TIMEOUT=600 "$root/compat-tests/libiscsi/run.sh" --keep \
            >"$W/libiscsi-$name.log" 2>&1
        local rc=$? wd
        wd=$(sed -n 's/.*work directory kept: //p' "$W/libiscsi-$name.log" | tail -1)
        [[ -n $wd ]] && cp "$wd/plain.results" "$W/libiscsi-$name.results" && rm -rf "$wd"
        return $rc
    }
    "${RBD[@]}" create --size 256M --image-feature layering rbd/conformance
    libiscsi rbd BSTYPE=rbd LUN_BACKING=rbd/conformance LUN_BSOPTS="conf=$CONF"
    rc_rbd=$?
    libiscsi rdwr BSTYPE=rdwr
    rc_rdwr=$?
    count() { awk -F'\t' -v s="$1" '$2 == s { n++ } END { print n + 0 }' "$2"; }
    for b in rbd rdwr; do
        f=$W/libiscsi-$b.results
        [[ -s $f ]] && echo "rbd: libiscsi on our $b: $(count passed "$f") passed, $(count skipped "$f") skipped, $(count FAILED "$f") failed"
    done
    if [[ -s $W/libiscsi-rbd.results && -s $W/libiscsi-rdwr.results ]] &&
        diff <(cut -f1,2 "$W/libiscsi-rdwr.results") <(cut -f1,2 "$W/libiscsi-rbd.results") >"$W/libiscsi.diff"; then
        pass "libiscsi: the same per-test results on rbd as on rdwr (run.sh exit: rbd $rc_rbd, rdwr $rc_rdwr)"
    else
        fail "libiscsi: results on rbd differ from rdwr (run.sh exit: rbd $rc_rbd, rdwr $rc_rdwr):"
        cat "$W/libiscsi.diff" 2>/dev/null
    fi
    grep -E 'FAIL|fixed' "$W/libiscsi-rbd.log" | head -20
else
    skip "libiscsi (RBD_LIBISCSI=0)"
fi

# ---- the kernel initiator
if [[ ${RBD_KVM:-1} != 1 ]]; then
    skip "kernel initiator (RBD_KVM=0)"
elif [[ ! -x $kvm_tool/run.sh || ! -s ${KVMI_DIR:-/tmp/kvmi}/initrd.img ]]; then
    skip "kernel initiator: $kvm_tool/run.sh or its VM image (${KVMI_DIR:-/tmp/kvmi}) missing"
else
    "${RBD[@]}" create --size 256M --image-feature layering rbd/kvm
    adm --mode target --op new --tid 3 -T "$IQN:kvm" &&
        adm --mode logicalunit --op new --tid 3 --lun 1 --bstype rbd -b rbd/kvm --bsopts "conf=$CONF" &&
        adm --mode target --op bind --tid 3 -I ALL
    if KVMI_DIR=${KVMI_DIR:-/tmp/kvmi} "$kvm_tool/run.sh" "$PORT" "$IQN:kvm" 1 >"$W/kvm.log" 2>&1; then
        pass "kernel initiator VM: $(grep -E 'KVMI RESULT' "$W/kvm.log" | tail -1)"
    else
        fail "kernel initiator VM:"; grep -E '^kvmi: \[|KVMI RESULT' "$W/kvm.log" | tail -15
    fi
fi

kill -0 "$PID" 2>/dev/null || fail "our tgtd died"
echo "rbd: $passes passed, $fails failed, $skips skipped"
((fails == 0))
