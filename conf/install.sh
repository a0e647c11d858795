#!/bin/sh
# Install tgt-rs with Debian tgt's file layout.
#
#   conf/install.sh [DESTDIR]
#
# DESTDIR (default: empty, i.e. the live system) is prefixed to every path, as for
# `make install DESTDIR=...`; the installed paths themselves are Debian's:
#
#   /usr/sbin/{tgtd,tgtadm,tgt-admin}               from $BINDIR (default: target/release)
#   /etc/tgt/targets.conf, /etc/tgt/conf.d/         from conf/ (targets.conf kept if present)
#   /lib/systemd/system/tgt.service, tgtd.service   conf/systemd/ (tgtd.service: symlink)
#   /usr/share/man/man5/targets.conf.5.gz, man8/{tgtd,tgtadm,tgt-admin}.8.gz
#   /usr/share/bash-completion/completions/tgt      with links tgtd, tgtadm, tgt-admin
#   /usr/share/doc/tgt-rs/examples/                 conf/examples/*.conf
#
# It does not build: run `cargo build --release --workspace` first (BINDIR=target/debug
# installs debug builds, as the layout test does). It does not start or enable the service.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
destdir=${1:-}
bindir=${BINDIR:-$root/target/release}
case $bindir in /*) ;; *) bindir=$root/$bindir ;; esac

for bin in tgtd tgtadm tgt-admin; do
    if [ ! -x "$bindir/$bin" ]; then
        echo "install.sh: $bindir/$bin missing; run cargo build --release --workspace" >&2
        exit 1
    fi
done

# install -D is GNU; plain mkdir + install keeps this POSIX sh.
d() { mkdir -p "$destdir$1"; }

d /usr/sbin
for bin in tgtd tgtadm tgt-admin; do
    install -m 0755 "$bindir/$bin" "$destdir/usr/sbin/$bin"
done

d /etc/tgt/conf.d
# A configuration already there is the administrator's: keep it.
if [ ! -e "$destdir/etc/tgt/targets.conf" ]; then
    install -m 0644 "$root/conf/targets.conf" "$destdir/etc/tgt/targets.conf"
fi

d /lib/systemd/system
install -m 0644 "$root/conf/systemd/tgt.service" "$destdir/lib/systemd/system/tgt.service"
ln -sfn tgt.service "$destdir/lib/systemd/system/tgtd.service"

d /usr/share/man/man5
d /usr/share/man/man8
for page in targets.conf.5 tgtd.8 tgtadm.8 tgt-admin.8; do
    section=${page##*.}
    gzip -9nc "$root/man/$page" >"$destdir/usr/share/man/man$section/$page.gz"
    chmod 0644 "$destdir/usr/share/man/man$section/$page.gz"
done

d /usr/share/bash-completion/completions
install -m 0644 "$root/conf/bash-completion/tgt" "$destdir/usr/share/bash-completion/completions/tgt"
for cmd in tgtd tgtadm tgt-admin; do
    ln -sfn tgt "$destdir/usr/share/bash-completion/completions/$cmd"
done

d /usr/share/doc/tgt-rs/examples
for example in "$root"/conf/examples/*.conf; do
    install -m 0644 "$example" "$destdir/usr/share/doc/tgt-rs/examples/"
done
