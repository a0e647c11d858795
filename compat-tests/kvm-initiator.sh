#!/bin/bash
# kvm-initiator.sh [TGTD TGTADM]: the Linux kernel initiator (open-iscsi + iscsi_tcp in a
# throwaway VM, ../shared/tools/kvm-initiator/) against our tgtd: discovery, login, a 32 MiB
# O_DIRECT pattern write/read-back, mkfs.ext4, files, fsck, logout. It runs twice: without
# digests, then with HeaderDigest and DataDigest CRC32C negotiated.
#
# Builds the VM image on first use (Debian packages fetched with apt-get download into
# $KVMI_DIR, default /tmp/kvmi). Each run starts its own tgtd with its own socket directory,
# control port and loopback portal and kills it at the end. Exit 0 only when both runs pass.
# Skips (exit 0 with a message) when the shared kvm-initiator tool is not available.
# BSTYPE (default rdwr) is the backing store of LUN 1, a file under /tmp.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
kvmi=${KVMI_TOOL:-$(cd "$root/.." && pwd)/shared/tools/kvm-initiator}
TGTD=${1:-${TGTD_RS:-$root/target/release/tgtd}}
TGTADM=${2:-${TGTADM_RS:-$root/target/release/tgtadm}}
K=${KVMI_DIR:-/tmp/kvmi}
export KVMI_DIR=$K
iqn=iqn.2026-11.org.example:kvmi-rs
port=3350
cport=35

if [[ ! -x $kvmi/run.sh ]]; then
    echo "kvm-initiator: SKIP: $kvmi/run.sh not found"
    exit 0
fi
for b in "$TGTD" "$TGTADM"; do
    [[ -x $b ]] || { echo "kvm-initiator: $b missing (cargo build --release -p tgt -p tgtadm)"; exit 1; }
done
[[ -s $K/initrd.img ]] || "$kvmi/build.sh"

work=$(mktemp -d /tmp/kvm-initiator.XXXXXX)
pid=""
cleanup() {
    [[ -n $pid ]] && kill -9 "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

adm() { TGT_IPC_SOCKET=$work/sock "$TGTADM" -C "$cport" --lld iscsi "$@"; }

# run DIGEST: one VM run against a fresh daemon offering DIGEST for both digests.
run() {
    local digest=$1 rc
    truncate -s 256M "$work/lun.img"
    TGT_IPC_SOCKET=$work/sock setsid "$TGTD" -f -C "$cport" --iscsi "portal=127.0.0.1:$port" \
        >"$work/tgtd-$digest.log" 2>&1 &
    pid=$!
    local deadline=$((SECONDS + 10))
    until adm --mode sys --op show >/dev/null 2>&1; do
        ((SECONDS < deadline)) || { echo "kvm-initiator: tgtd did not come up"; return 1; }
        sleep 0.1
    done
    adm --mode target --op new --tid 1 -T "$iqn"
    adm --mode logicalunit --op new --tid 1 --lun 1 -E "${BSTYPE:-rdwr}" -b "$work/lun.img"
    adm --mode target --op bind --tid 1 -I ALL
    if [[ $digest != None ]]; then
        adm --mode target --op update --tid 1 --name HeaderDigest --value "$digest"
        adm --mode target --op update --tid 1 --name DataDigest --value "$digest"
    fi
    rc=0
    KVMI_DIGEST=$digest "$kvmi/run.sh" "$port" "$iqn" 1 >"$work/vm-$digest.log" 2>&1 || rc=$?
    grep -E '^kvmi: \[|KVMI RESULT' "$work/vm-$digest.log" | sed "s/^/[$digest] /" || true
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null || true
    pid=""
    rm -f "$work"/sock.* "$work/lun.img"
    if ((rc != 0)); then
        echo "kvm-initiator: digest $digest FAILED (rc $rc); tgtd log:"
        tail -20 "$work/tgtd-$digest.log"
        return 1
    fi
    echo "kvm-initiator: digest $digest PASS"
}

run None
run CRC32C
echo "kvm-initiator: 2 passed, 0 failed"
