#!/bin/sh
# /init of the sg-vm guest (build.sh puts it in the initramfs; run.sh boots it).
# Kernel command line parameters: sgvm.iqn=IQN  sgvm.debug_mb=N (scsi_debug size; 0 = no scsi_debug)
#   sgvm.tgtd_args="..." (extra tgtd options, e.g. -d1; spaces as commas)
# Loads virtio/SCSI modules, brings up eth0 as 10.0.2.15/24 (qemu user net, hostfwd to :3260), starts
# /sbin/tgtd (the tgtd under test) in the foreground with its log on the console, and creates target
# IQN with
#   LUN 1: --device-type pt --bstype sg  -b /dev/sgN             (the virtio scsi-hd, vendor QEMU)
#   LUN 2: --device-type pt --bstype bsg -b /dev/bsg/H:C:T:L     (scsi_debug, else the virtio disk)
# bound to ALL initiators. Prints "sgvm: ..." progress lines, the tgtadm show output, and then
# "SGVM READY lun1=... lun2=..." or "SGVM FAIL <step>: <why>"; then idles until the host stops qemu.
export PATH=/sbin:/bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
mkdir -p /tmp /var/run/tgtd /run/lock
IQN=iqn.2026-11.org.example:sg DEBUG_MB=64 TARGS=
for kv in $(cat /proc/cmdline); do
  case $kv in
    sgvm.iqn=*) IQN=${kv#*=} ;; sgvm.debug_mb=*) DEBUG_MB=${kv#*=} ;;
    sgvm.tgtd_args=*) TARGS=$(echo "${kv#*=}" | tr , ' ') ;;
  esac
done
say() { echo "sgvm: [$(cut -d' ' -f1 /proc/uptime)] $*"; }
idle() { while :; do sleep 3600; done; }
fail() { say "FAILED: $*"; dmesg | grep -iE 'scsi|sg|bsg|virtio|error' | tail -20; echo "SGVM FAIL $*"; idle; }
say "init: iqn=$IQN scsi_debug=${DEBUG_MB}MiB kernel=$(uname -r)"

modprobe -a virtio_pci virtio_net virtio_scsi sd_mod sg || fail "modules"
[ "$DEBUG_MB" -gt 0 ] 2>/dev/null && { modprobe scsi_debug dev_size_mb="$DEBUG_MB" || fail "modprobe scsi_debug"; }
ip link set lo up && ip addr add 10.0.2.15/24 dev eth0 && ip link set eth0 up || fail "net"

# sg node of the device whose INQUIRY vendor/model (sysfs) match: sgnode VENDOR MODEL
sgnode() {
  for d in /sys/class/scsi_generic/sg*; do
    [ -e "$d/device/model" ] || continue
    [ "$(sed 's/ *$//' "$d/device/vendor")" = "$1" ] && [ "$(sed 's/ *$//' "$d/device/model")" = "$2" ] \
      && { echo "${d##*/}"; return 0; }
  done; return 1
}
hctl() { basename "$(readlink -f "/sys/class/scsi_generic/$1/device")"; }
for i in $(seq 100); do
  SG1=$(sgnode QEMU "QEMU HARDDISK") && { [ "$DEBUG_MB" = 0 ] || SGD=$(sgnode Linux scsi_debug); } && break
  sleep 0.1
done
for d in /sys/class/scsi_generic/sg*; do
  [ -e "$d/device/model" ] && say "${d##*/} $(hctl "${d##*/}") type=$(cat "$d/device/type") '$(cat "$d/device/vendor")' '$(cat "$d/device/model")' block=$(ls "$d/device/block" 2>/dev/null)"
done
ls -l /dev/sg* /dev/bsg 2>&1 | sed 's/^/sgvm:   /'
[ -n "$SG1" ] && [ -c "/dev/$SG1" ] || fail "no sg node for the virtio scsi-hd (QEMU HARDDISK)"
BDEV=${SGD:-$SG1}; BSG=/dev/bsg/$(hctl "$BDEV")
[ -c "$BSG" ] || { say "no $BSG: no bsg LUN"; BSG=; }

say "starting: tgtd -f --iscsi portal=0.0.0.0:3260 $TARGS"
tgtd -f --iscsi portal=0.0.0.0:3260 $TARGS </dev/null >/dev/console 2>&1 &
TPID=$!
for i in $(seq 100); do [ -S /var/run/tgtd/socket.0 ] && break; kill -0 $TPID 2>/dev/null || break; sleep 0.1; done
[ -S /var/run/tgtd/socket.0 ] || fail "tgtd: no /var/run/tgtd/socket.0 (tgtd $(kill -0 $TPID 2>/dev/null && echo running || echo exited))"
sleep 0.3
adm() { say "tgtadm $*"; tgtadm "$@"; }
adm --lld iscsi --mode target --op new --tid 1 --targetname "$IQN" || fail "target new"
adm --lld iscsi --mode logicalunit --op new --tid 1 --lun 1 --device-type pt --bstype sg -b "/dev/$SG1" \
  || fail "LUN 1 (pt sg /dev/$SG1)"
L2=none
if [ -n "$BSG" ]; then
  if adm --lld iscsi --mode logicalunit --op new --tid 1 --lun 2 --device-type pt --bstype bsg -b "$BSG"; then
    L2="bsg:$BSG:$(cat /sys/class/scsi_generic/$BDEV/device/model | sed 's/ *$//; s/ /_/g')"
  else L2="failed:bsg:$BSG"; fi
fi
adm --lld iscsi --mode target --op bind --tid 1 -I ALL || fail "bind"
echo "sgvm: ---- tgtadm --lld iscsi --mode target --op show"
tgtadm --lld iscsi --mode target --op show
echo "sgvm: ----"
say "READY"
echo "SGVM READY lun1=sg:/dev/$SG1 lun2=$L2"
idle
