#!/bin/bash
# Capture golden tgtadm request bytes from the REAL C tgtadm (Debian bookworm tgt 1.0.85).
#
# For each command line below, a fake tgtd (Python) listens on $TGT_IPC_SOCKET.<port>, records
# every byte C tgtadm sends (120-byte header + body, as announced by the header's len) and answers
# `00 00 00 00 08 00 00 00` (success, no text). Output, per case, in compat-tests/golden/wire/:
#   <name>.bin   the exact bytes received
#   <name>.src   tgt version, the exact command, the control port, C tgtadm's exit status and
#                stderr, and argv (one word per line, after the `argv:` line)
# compat-tests/tests/wire_golden.rs replays them against our tgtadm.
#
# Usage: compat-tests/capture-wire.sh            (needs python3 and /usr/sbin/tgtadm, or $TGTADM_C)
# Files change only by re-running this script; review the diff.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out="$here/golden/wire"
tgtadm=${TGTADM_C:-/usr/sbin/tgtadm}
[ -x "$tgtadm" ] || { echo "capture-wire.sh: $tgtadm not found (install Debian package tgt)" >&2; exit 1; }
command -v python3 >/dev/null || { echo "capture-wire.sh: python3 not found" >&2; exit 1; }
version=$(dpkg-query -W -f '${Version}' tgt 2>/dev/null || echo "unknown")
[ "$("$tgtadm" --version)" = "1.0.85" ] || { echo "capture-wire.sh: $tgtadm is not tgt 1.0.85" >&2; exit 1; }

work=$(mktemp -d /tmp/capture-wire.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"

exec python3 - "$tgtadm" "$out" "$work" "$version" <<'PYTHON'
import os, shlex, socket, struct, subprocess, sys, threading

tgtadm, out, work, version = sys.argv[1:5]
prefix = os.path.join(work, "socket")
OK = bytes([0, 0, 0, 0, 8, 0, 0, 0])

def fake_tgtd(path, got, ready):
    """Accept one connection, record the request, answer OK, stop listening."""
    ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    ls.bind(path)
    ls.listen(8)
    ls.settimeout(10)
    ready.set()
    try:
        c, _ = ls.accept()
    except socket.timeout:
        ls.close()
        return
    c.settimeout(10)
    data = b""
    while len(data) < 120:
        d = c.recv(120 - len(data))
        if not d:
            break
        data += d
    if len(data) == 120:
        n = struct.unpack_from("=I", data, 72)[0] - 120
        while n > 0:
            d = c.recv(n)
            if not d:
                break
            data += d
            n -= len(d)
    got.append(data)
    c.sendall(OK)
    c.close()
    # Closing the listener makes `system delete`'s reconnect loop see ECONNREFUSED.
    ls.close()

def capture(name, port, *args):
    argv = [a.encode() if isinstance(a, str) else a for a in args]
    path = "%s.%d" % (prefix, port)
    if os.path.exists(path):
        os.unlink(path)
    got, ready = [], threading.Event()
    t = threading.Thread(target=fake_tgtd, args=(path, got, ready))
    t.start()
    ready.wait()
    env = dict(os.environ, TGT_IPC_SOCKET=prefix)
    env.pop("POSIXLY_CORRECT", None)
    p = subprocess.run([b"tgtadm"] + argv, executable=tgtadm, env=env,
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
    t.join()
    if not got:
        sys.exit("capture-wire.sh: %s: tgtadm sent nothing (exit %d, stderr %r)"
                 % (name, p.returncode, p.stderr))
    if p.stdout:
        sys.exit("capture-wire.sh: %s: unexpected stdout %r" % (name, p.stdout))
    with open(os.path.join(out, name + ".bin"), "wb") as f:
        f.write(got[0])
    shown = " ".join(shlex.quote(a.decode("utf-8", "backslashreplace")) for a in argv)
    with open(os.path.join(out, name + ".src"), "wb") as f:
        f.write(b"# Golden request bytes from C tgtadm: tgt " + version.encode()
                + b" (Debian bookworm, amd64), " + tgtadm.encode() + b"\n")
        f.write(b"# Captured by compat-tests/capture-wire.sh; the fake tgtd answered 00 00 00 00 08 00 00 00.\n")
        f.write(b"# command: TGT_IPC_SOCKET=<dir>/socket tgtadm " + shown.encode() + b"\n")
        f.write(b"port: %d\n" % port)
        f.write(b"exit: %d\n" % p.returncode)
        for line in p.stderr.splitlines():
            f.write(b"stderr: " + line + b"\n")
        f.write(b"argv:\n")
        for a in argv:
            assert b"\n" not in a
            f.write(a + b"\n")
    print("captured %-32s %4d bytes" % (name, len(got[0])))

IQN = "iqn.2001-04.com.example:storage.disk1"

# system
capture("sys_show", 0, "--mode", "system", "--op", "show")
capture("sys_show_debug", 0, "-d", "-m", "sys", "-o", "show")
capture("sys_stat", 0, "--mode", "sys", "--op", "stat")
capture("sys_update_debug", 0, "--mode", "sys", "--op", "update", "--name", "debug", "--value", "on")
capture("sys_update_state", 0, "-m", "system", "-o", "update", "-n", "State", "-v", "offline")
capture("sys_delete", 0, "--mode", "system", "--op", "delete")
capture("sys_show_name_without_value", 0, "--mode", "sys", "--op", "show", "--name", "foo")
# target
capture("target_new", 0, "--lld", "iscsi", "--mode", "target", "--op", "new", "--tid", "1", "--targetname", IQN)
capture("target_new_abbrev_glued", 0, "--ll=iscsi", "--mo", "tgt", "--op=new", "-t1", "--targ", IQN)
capture("target_new_debug", 0, "-dL", "iscsi", "-m", "target", "-o", "new", "-t", "2", "-T", "iqn.x:y")
capture("target_delete_force", 0, "--mode", "target", "--op", "delete", "--tid", "2", "--force")
capture("target_delete_force_short", 0, "-m", "target", "-o", "delete", "-t", "2", "-F", "yes")
capture("target_show_all", 0, "--lld", "iscsi", "--mode", "target", "--op", "show")
capture("target_show_tid", 0, "--mode", "target", "--op", "show", "--tid", "1")
capture("target_stat_hex_tid", 0, "-m", "tgt", "-o", "stat", "-t", "0x10")
capture("target_bind_address", 0, "--mode", "target", "--op", "bind", "--tid", "1", "--initiator-address", "192.168.0.0/24")
capture("target_bind_name", 0, "--mode", "target", "--op", "bind", "--tid", "1", "--initiator-name", "iqn.1994-05.com.redhat:client")
capture("target_bind_address_and_name", 0, "-m", "target", "-o", "bind", "-t", "1", "-Q", "iqn.i:x", "-I", "ALL")
capture("target_bind_host", 0, "--mode", "target", "--op", "bind", "--tid", "1", "--host", "5")
capture("target_unbind_bus_without_comma", 0, "--mode", "target", "--op", "unbind", "--tid", "1", "-B", "nocomma")
capture("target_update", 0, "--mode", "target", "--op", "update", "--tid", "1", "--name", "MaxRecvDataSegmentLength", "--value", "65536")
capture("target_update_state", 0, "-m", "target", "-o", "update", "-t", "1", "-n", "state", "-v", "offline")
capture("target_update_comma_and_equals", 0, "-m", "target", "-o", "update", "-t", "1", "-n", "a,b", "-v", "c=d,e")
# logicalunit
capture("lu_new_all_items", 0, "--mode", "logicalunit", "--op", "new", "--tid", "1", "--lun", "2",
        "-b", "/srv/tgt/disk2.img", "--bstype", "rdwr", "--bsopts", "conf=a;id=b", "--bsoflags", "sync:direct",
        "--blocksize", "4096")
capture("lu_new_items_in_reverse_order", 0, "-y", "512", "-f", "sync", "-S", "x", "-E", "aio", "-b", "/f",
        "-l", "3", "-t", "1", "-o", "new", "-m", "lu")
capture("lu_new_tape_ignores_bstype", 0, "-m", "lu", "-o", "new", "-t", "1", "-l", "6", "-Y", "tape", "-E", "aio")
capture("lu_new_ssc_with_path", 0, "-m", "lu", "-o", "new", "-t", "1", "-l", "7", "-Y", "ssc", "-b", "/srv/tape")
capture("lu_new_cd", 0, "-m", "lu", "-o", "new", "-t", "1", "-l", "3", "--device-type", "cd")
capture("lu_new_pt", 0, "-m", "lu", "-o", "new", "-t", "1", "-l", "4", "-Y", "pt", "-E", "sg", "-b", "/dev/sg0")
capture("lu_new_changer", 0, "-m", "lu", "-o", "new", "-t", "1", "-l", "5", "-Y", "changer", "-b", "/srv/ch")
capture("lu_new_osd", 0, "-m", "lu", "-o", "new", "-t", "1", "-l", "8", "-Y", "osd", "-b", "/srv/osd")
capture("lu_delete", 0, "--mode", "logicalunit", "--op", "delete", "--tid", "1", "--lun", "2")
capture("lu_stat_octal_lun", 0, "-m", "lu", "-o", "stat", "-t", "1", "-l", "010")
capture("lu_update_params", 0, "--lld", "iscsi", "--mode", "logicalunit", "--op", "update", "--tid", "1", "--lun", "1",
        "--params", "vendor_id=ACME,product_id=SuperDisk,product_rev=0042")
capture("lu_update_bsoflags_blocksize", 0, "-m", "lu", "-o", "update", "-t", "1", "-l", "2", "-f", "direct", "-y", "512")
capture("lu_delete_negative_lun", 0, "-m", "lu", "-o", "delete", "-t", "1", "-l", "-2")
# portal
capture("portal_new", 0, "--mode", "portal", "--op", "new", "--param", "portal=127.0.0.1:3291")
capture("portal_delete_v6", 0, "-m", "pt", "-o", "delete", "-P", "portal=[::1]:3260")
capture("portal_show", 0, "--mode", "portal", "--op", "show")
capture("portal_params_before_and_after_mode", 0, "-P", "nop_count=3", "-m", "portal", "-o", "new", "-P", "portal=10.0.0.1")
# lld
capture("lld_start_iser", 0, "--mode", "lld", "--op", "start", "--lld", "iser")
capture("lld_stop", 0, "-L", "iscsi", "-m", "lld", "-o", "stop")
capture("lld_show", 0, "-m", "lld", "-o", "show")
# session / connection (no client-side checks)
capture("session_stat", 0, "--mode", "session", "--op", "stat", "--tid", "1", "--sid", "0x1000000000001")
capture("session_anything_goes", 0, "-m", "sess", "-o", "new", "-n", "a", "-v", "b", "-u", "c", "-Y", "pt", "-O", "x")
capture("conn_show", 0, "--lld", "iscsi", "--mode", "conn", "--op", "show", "--tid", "1")
capture("conn_stat", 0, "-m", "connection", "-o", "stat", "--sid", "2", "--cid", "0")
capture("conn_delete_max_cid", 0, "-m", "conn", "-o", "delete", "-t", "1", "-s", "2", "-c", "4294967295")
# account
capture("account_new", 0, "--mode", "account", "--op", "new", "--user", "alice", "--password", "secretpass12")
capture("account_show", 0, "--lld", "iscsi", "--mode", "account", "--op", "show")
capture("account_delete", 0, "--mode", "account", "--op", "delete", "--user", "alice")
capture("account_delete_without_user", 0, "--mode", "account", "--op", "delete")
capture("account_bind_global", 0, "--mode", "account", "--op", "bind", "--user", "bob")
capture("account_bind_outgoing", 0, "--mode", "account", "--op", "bind", "--tid", "1", "--user", "bob", "--outgoing")
capture("account_unbind_short_outgoing", 0, "-m", "account", "-o", "unbind", "-t", "1", "-u", "bob", "-O", "x")
# lld names: 64 characters fill the field without a NUL; longer ones are cut; empty stays zero
capture("lld_name_64_chars", 0, "-L", "L" * 64, "-m", "target", "-o", "show")
capture("lld_name_70_chars", 0, "-L", "abcdefghij" * 7, "-m", "target", "-o", "show")
capture("lld_name_empty", 0, "--lld=", "-m", "target", "-o", "show")
# control port and numeric forms
capture("control_port_5", 5, "-C", "5", "--mode", "sys", "--op", "show")
capture("control_port_hex", 16, "--control-port", "0x10", "--mode", "sys", "--op", "show")
capture("control_port_octal", 8, "--control-port=010", "-m", "sys", "-o", "show")
capture("tid_trailing_junk", 0, "-m", "tgt", "-o", "show", "-t", "7x")
capture("tid_space_plus_sign", 0, "-m", "tgt", "-o", "show", "-t", " +3")
capture("sid_negative_wraps", 0, "-m", "sess", "-o", "stat", "-s", "-2")
capture("lun_hex_large", 0, "-m", "lu", "-o", "stat", "-t", "1", "-l", "0xfffffffffffffffe")
# raw bytes pass through untouched
capture("targetname_non_utf8", 0, "-m", "target", "-o", "new", "-t", "3", "-T", b"iqn.\xe9t\xff")
capture("double_dash_at_end", 0, "-m", "sys", "-o", "show", "--")
PYTHON
