#!/bin/bash
# Demo: build tgtd and tgtadm, start tgtd in the foreground on loopback, and create one
# target with a 1 GiB sparse-file LUN through tgtadm. Ctrl-C stops it.
#   PORTAL (default 127.0.0.1:3260), CONTROL_PORT (default 0), IMG (default /tmp/tgt-demo.img)
set -euo pipefail
cd "$(dirname "$0")/.."
PORTAL=${PORTAL:-127.0.0.1:3260}
CONTROL_PORT=${CONTROL_PORT:-0}
IMG=${IMG:-/tmp/tgt-demo.img}
IQN=${IQN:-iqn.2026-11.org.example:demo}

cargo build --release -p tgt -p tgtadm
truncate -s 1G "$IMG"
TGTD=target/release/tgtd
TGTADM="target/release/tgtadm -C $CONTROL_PORT"

"$TGTD" -f -C "$CONTROL_PORT" --iscsi "portal=$PORTAL" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null' EXIT INT TERM
for _ in $(seq 100); do
    $TGTADM --mode sys --op show >/dev/null 2>&1 && break
    sleep 0.1
done
$TGTADM --lld iscsi --mode target --op new --tid 1 --targetname "$IQN"
$TGTADM --lld iscsi --mode logicalunit --op new --tid 1 --lun 1 --backing-store "$IMG"
$TGTADM --lld iscsi --mode target --op bind --tid 1 --initiator-address ALL
$TGTADM --lld iscsi --mode target --op show
echo "tgtd (pid $pid) is serving $IQN on $PORTAL; Ctrl-C to stop."
wait $pid
