#!/bin/bash
# build.sh TGTD TGTADM: build the sg-vm guest (see run.sh) under $SGVM_DIR (default /tmp/sgvm):
#   vmlinuz     Debian's linux-image-cloud-amd64 kernel (6.1: virtio_scsi, sg, sd_mod, scsi_debug as
#               modules; bsg built in)
#   initrd.img  two concatenated gzipped cpio archives, which the kernel unpacks one over the other:
#     base.cpio.gz  static busybox and the modules.dep closure of $MODS (cached: rebuilt only when
#                   the .debs or this script change)
#     bin.cpio.gz   TGTD and TGTADM as /sbin/tgtd and /sbin/tgtadm, their shared libraries (ldd),
#                   and init.sh as /init (rebuilt whenever their checksums change)
# The guest's .debs come from $SGVM_DIR/deb, else are copied from /tmp/kvmi/deb (the kvm-initiator
# tool's cache), else are fetched with `apt-get download`; they are unpacked, never installed.
# Prints "build.sh: ..." lines; exit 0 when vmlinuz and initrd.img are ready.
set -euo pipefail
[ $# -eq 2 ] || { sed -n '2,12p' "$0"; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
TGTD=$(readlink -f "$1") TGTADM=$(readlink -f "$2")
[ -x "$TGTD" ] && [ -x "$TGTADM" ] || { echo "build.sh: $1 or $2 is not an executable"; exit 2; }
S=${SGVM_DIR:-/tmp/sgvm}; X=$S/x; A=x86_64-linux-gnu
MODS="virtio_pci virtio_net virtio_scsi sd_mod sg scsi_debug"
export DEBIAN_FRONTEND=noninteractive
mkdir -p "$S/deb"

# Guest packages: the kernel the linux-image-cloud-amd64 metapackage points at, and busybox-static.
cd "$S/deb"
have() { ls ${1}_*.deb >/dev/null 2>&1; }   # $1 may be a glob
for p in 'linux-image-*-cloud-amd64' busybox-static; do   # reuse kvm-initiator's downloads
  have "$p" || ! ls /tmp/kvmi/deb/${p}_*.deb >/dev/null 2>&1 || cp "$(ls -v /tmp/kvmi/deb/${p}_*.deb | tail -1)" .
done
if ! have 'linux-image-*-cloud-amd64'; then
  apt-cache show linux-image-cloud-amd64 >/dev/null 2>&1 || apt-get update -qq
  kpkg=$(apt-cache depends linux-image-cloud-amd64 | awk '/Depends: linux-image-/ { print $2; exit }')
  [ -n "$kpkg" ] || { apt-get update -qq
    kpkg=$(apt-cache depends linux-image-cloud-amd64 | awk '/Depends: linux-image-/ { print $2; exit }'); }
  get="$kpkg"
else get=""; fi
have busybox-static || get+=" busybox-static"
dl() { apt-get download -q -o APT::Sandbox::User=root "$@"; }
[ -z "${get// }" ] || dl $get >/dev/null || { apt-get update -qq && dl $get >/dev/null; }
KDEB=$(ls -v linux-image-*-cloud-amd64_*.deb | tail -1) BDEB=$(ls -v busybox-static_*.deb | tail -1)

# Base archive (cached): busybox + modules.
bstamp=$(printf '%s\n' "$KDEB" "$BDEB" "$MODS" "$(sha256sum < "$here/build.sh")")
if [ "$(cat "$S/base.stamp" 2>/dev/null)" != "$bstamp" ] || [ ! -s "$S/base.cpio.gz" ] || [ ! -s "$S/vmlinuz" ]; then
  R=$S/base; rm -rf "$X" "$R" "$S/base.stamp"; mkdir -p "$X"
  dpkg-deb -x "$S/deb/$KDEB" "$X"; dpkg-deb -x "$S/deb/$BDEB" "$X"
  BB=$X/bin/busybox; cp "$BB" "$S/busybox"
  KVER=$(ls "$X/lib/modules"); KM=lib/modules/$KVER
  cp "$X/boot/vmlinuz-$KVER" "$S/vmlinuz"
  mkdir -p "$R"/{bin,sbin,lib/$A,lib64,etc,proc,sys,dev,run,tmp,var/run/tgtd}
  cp "$BB" "$R/bin/"; for a in $("$BB" --list | grep -vx busybox); do ln -s busybox "$R/bin/$a"; done
  "$BB" depmod -b "$X" "$KVER"
  for f in $(awk -F': ?' -v want=" $MODS " '{ n = $1; sub(/.*\//, "", n); sub(/\.ko$/, "", n); gsub("-", "_", n)
      if (index(want, " " n " ")) print $1, $2 }' "$X/$KM/modules.dep" | tr ' ' '\n' | sort -u); do
    mkdir -p "$R/$KM/$(dirname "$f")"; cp "$X/$KM/$f" "$R/$KM/$f"
  done
  cp "$X/$KM"/modules.{builtin,order} "$R/$KM/"; "$BB" depmod -b "$R" "$KVER"
  echo "root:x:0:0:root:/:/bin/sh" > "$R/etc/passwd"; echo "root:x:0:" > "$R/etc/group"
  (cd "$R" && find . | sort | "$BB" cpio -o -H newc 2>/dev/null | gzip) > "$S/base.cpio.gz"
  rm -rf "$X"
  echo "$bstamp" > "$S/base.stamp"
  echo "build.sh: base: kernel $KVER, $(find "$R/$KM" -name '*.ko' | wc -l) modules -> $S/base.cpio.gz"
fi

# Binary archive: rebuilt when TGTD, TGTADM, their libraries or init.sh change.
deps=$(ldd "$TGTD" "$TGTADM")
! grep -q 'not found' <<<"$deps" || { grep 'not found' <<<"$deps"; echo "build.sh: missing libraries"; exit 1; }
libs=$(awk '$2 == "=>" && $3 ~ /^\// { print $3 }' <<<"$deps" | sort -u)
xstamp=$( { sha256sum "$TGTD" "$TGTADM" "$here/init.sh" "$S/base.stamp"; for l in $libs; do sha256sum "$(readlink -f "$l")"; done; } | sha256sum)
if [ "$(cat "$S/bin.stamp" 2>/dev/null)" != "$xstamp" ] || [ ! -s "$S/bin.cpio.gz" ] || [ ! -s "$S/initrd.img" ]; then
  R=$S/bin; rm -rf "$R" "$S/bin.stamp"; mkdir -p "$R"/{sbin,lib/$A,lib64}
  cp "$TGTD" "$R/sbin/tgtd"; cp "$TGTADM" "$R/sbin/tgtadm"
  for l in $libs; do cp -L "$l" "$R/lib/$A/"; done
  cp -L /lib64/ld-linux-x86-64.so.2 "$R/lib64/"
  cp "$here/init.sh" "$R/init"; chmod 755 "$R/init"
  (cd "$R" && find . | sort | "$S/busybox" cpio -o -H newc 2>/dev/null | gzip) > "$S/bin.cpio.gz"
  cat "$S/base.cpio.gz" "$S/bin.cpio.gz" > "$S/initrd.img"
  echo "$xstamp" > "$S/bin.stamp"
  echo "build.sh: tgtd=$TGTD tgtadm=$TGTADM, $(wc -w <<<"$libs") libraries -> $S/initrd.img ($(du -h "$S/initrd.img" | cut -f1))"
else
  echo "build.sh: $S/initrd.img is up to date for $TGTD $TGTADM"
fi
