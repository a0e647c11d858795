#!/bin/bash
# Build the tgt-rs .deb and, with --install on a throwaway test machine, install it over
# Debian's tgt with dpkg -i and check that the installed binaries answer.
#
#   bash compat-tests/deb-install.sh             build target/deb/tgt-rs_*.deb, check its
#                                                 fields and file list, dpkg --no-act -i
#   bash compat-tests/deb-install.sh --install   also dpkg -i it (root): replaces C tgt,
#                                                 which the other compat tests use as their
#                                                 oracle, so not on a development machine
#
# Slow (a release build): not part of .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."

install=false
case "${1:-}" in
    --install) install=true ;;
    "") ;;
    *) echo "usage: $0 [--install]" >&2; exit 2 ;;
esac

outdir=target/deb
rm -rf "$outdir"
debian/rules clean
debian/rules binary DEB_OUTDIR="$outdir"
deb=$(ls "$outdir"/tgt-rs_*.deb)
echo "built $deb"

field() { dpkg-deb -f "$deb" "$1"; }
fail() { echo "deb-install.sh: $*" >&2; exit 1; }
[ "$(field Package)" = tgt-rs ] || fail "Package is $(field Package)"
for f in Provides Conflicts Replaces; do
    case "$(field "$f")" in tgt | "tgt "*) ;; *) fail "$f is '$(field "$f")', want tgt" ;; esac
done
contents=$(dpkg-deb -c "$deb" | awk '{print $6}')
for path in ./usr/sbin/tgtd ./usr/sbin/tgtadm ./usr/sbin/tgt-admin ./etc/tgt/targets.conf \
    ./lib/systemd/system/tgt.service ./usr/share/man/man8/tgtd.8.gz; do
    grep -qx "$path" <<<"$contents" || fail "$path missing from the package"
done

if [ "$(id -u)" = 0 ]; then
    # dpkg's own dry run: the package replaces an installed tgt without complaint.
    dpkg --no-act -i "$deb"
fi

if ! $install; then
    echo "not installed (pass --install on a test machine)"
    exit 0
fi
[ "$(id -u)" = 0 ] || fail "--install needs root"
dpkg -i "$deb"
dpkg-query -W -f '${Status}\n' tgt-rs | grep -q 'install ok installed' || fail "tgt-rs not installed"
if dpkg-query -W -f '${Status}\n' tgt 2>/dev/null | grep -q 'install ok installed'; then
    fail "Debian's tgt is still installed"
fi
[ "$(dpkg -S /usr/sbin/tgtd | cut -d: -f1)" = tgt-rs ] || fail "/usr/sbin/tgtd not owned by tgt-rs"
/usr/sbin/tgtd -V
/usr/sbin/tgtadm -V
/usr/sbin/tgt-admin -h >/dev/null
if [ -d /run/systemd/system ]; then
    systemd-analyze verify tgt.service
fi
echo "tgt-rs installed over tgt: tgtd -V, tgtadm -V answer"
