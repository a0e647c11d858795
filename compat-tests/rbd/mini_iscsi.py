#!/usr/bin/env python3
"""mini_iscsi.py: a tiny iSCSI initiator (one session, one connection, no digests, no auth)
for the rbd checks of run.sh, where libiscsi's tools are not enough: it keeps a session
open across an outside event and reports every status and sense it gets.

Usage: mini_iscsi.py HOST:PORT IQN LUN COMMAND [ARGS]
  capacity                 READ CAPACITY(16): prints "blocks=N blksize=N lbppbe=N"
  resize-ua SHELL_CMD      clears the login unit attentions, runs SHELL_CMD (e.g. `rbd
                           resize`), then polls TEST UNIT READY for up to 20 s and prints
                           "ua=2a09" when CAPACITY DATA HAS CHANGED arrives, then the capacity
  write-acked LOG TOKEN    writes 4 KiB blocks 0, 1, 2, ... (each: TOKEN, block number,
                           pattern), one at a time, appending "N" to LOG after the GOOD of
                           block N, until the connection dies or 16384 blocks are written
  verify LOG TOKEN FILE    (no connection) every block listed in LOG is in FILE (an export
                           of the image); prints "verified=N", exit 1 on a missing block
  read-timed LBA           READ(10) of 8 blocks at LBA: prints "status=S sense=KK/AAAA
                           secs=T"
Exit status 0 when the command did what it says, 1 otherwise, 2 on usage errors.
"""
import os
import socket
import struct
import subprocess
import sys
import time

BLOCK = 4096


class Session:
    def __init__(self, host, port, iqn, lun, timeout=120):
        self.s = socket.create_connection((host, port), timeout=10)
        self.s.settimeout(timeout)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.lun = lun
        self.itt = 1
        self.cmdsn = 1
        self.statsn = 0
        self.login(iqn)

    def recv_exact(self, n):
        b = b""
        while len(b) < n:
            c = self.s.recv(n - len(b))
            if not c:
                raise ConnectionError("connection closed")
            b += c
        return b

    def recv_pdu(self):
        bhs = self.recv_exact(48)
        ahs = bhs[4] * 4
        dlen = int.from_bytes(bhs[5:8], "big")
        self.recv_exact(ahs)
        data = self.recv_exact((dlen + 3) & ~3)[:dlen]
        return bhs, data

    def send_pdu(self, bhs, data=b""):
        assert len(bhs) == 48
        pad = (-len(data)) % 4
        self.s.sendall(bhs + data + b"\0" * pad)

    def login(self, iqn):
        keys = {
            "InitiatorName": "iqn.2026-11.org.example:mini",
            "SessionType": "Normal",
            "TargetName": iqn,
            "HeaderDigest": "None",
            "DataDigest": "None",
            "InitialR2T": "No",
            "ImmediateData": "Yes",
            "MaxRecvDataSegmentLength": "262144",
            "FirstBurstLength": "65536",
            "MaxBurstLength": "262144",
        }
        data = b"".join(f"{k}={v}".encode() + b"\0" for k, v in keys.items())
        # Operational stage straight to full feature phase (no security negotiation).
        bhs = bytearray(48)
        bhs[0] = 0x43
        bhs[1] = 0x80 | (1 << 2) | 3
        bhs[5:8] = len(data).to_bytes(3, "big")
        bhs[8:14] = bytes([0x80, 0, 0, 0x12, 0x34, 0x56])
        struct.pack_into(">I", bhs, 16, self.itt)
        struct.pack_into(">I", bhs, 24, self.cmdsn)
        self.itt += 1
        self.send_pdu(bytes(bhs), data)
        rsp, _ = self.recv_pdu()
        if rsp[0] & 0x3F != 0x23 or rsp[36] != 0 or not rsp[1] & 0x80:
            raise RuntimeError(f"login failed: status class {rsp[36]} detail {rsp[37]}")
        self.statsn = struct.unpack(">I", rsp[24:28])[0] + 1

    def command(self, cdb, data_out=b"", data_in_len=0):
        """Returns (status, sense bytes, data-in)."""
        itt = self.itt
        self.itt += 1
        bhs = bytearray(48)
        bhs[0] = 0x01
        flags = 0x80 | 0x01  # final, simple task
        if data_out:
            flags |= 0x20
        if data_in_len:
            flags |= 0x40
        bhs[1] = flags
        bhs[5:8] = len(data_out).to_bytes(3, "big")
        bhs[8:16] = struct.pack(">HHI", self.lun & 0x3FFF, 0, 0)
        struct.pack_into(">IIII", bhs, 16, itt, len(data_out) or data_in_len, self.cmdsn, self.statsn)
        bhs[32 : 32 + len(cdb)] = cdb
        self.cmdsn += 1
        self.send_pdu(bytes(bhs), data_out)
        data_in = b""
        while True:
            rsp, data = self.recv_pdu()
            op = rsp[0] & 0x3F
            if op == 0x25:  # Data-In
                data_in += data
                if rsp[1] & 0x01:  # status in the last Data-In
                    self.statsn = struct.unpack(">I", rsp[24:28])[0] + 1
                    return rsp[3], b"", data_in
            elif op == 0x21:  # SCSI Response
                self.statsn = struct.unpack(">I", rsp[24:28])[0] + 1
                sense = b""
                if len(data) >= 2:
                    n = int.from_bytes(data[:2], "big")
                    sense = data[2 : 2 + n]
                return rsp[3], sense, data_in
            elif op == 0x20:  # NOP-In: answer a ping
                ttt = rsp[20:24]
                if ttt != b"\xff\xff\xff\xff":
                    nop = bytearray(48)
                    nop[0] = 0x40
                    nop[1] = 0x80
                    nop[8:16] = rsp[8:16]
                    nop[16:20] = b"\xff\xff\xff\xff"
                    nop[20:24] = ttt
                    struct.pack_into(">II", nop, 24, self.cmdsn, self.statsn)
                    self.send_pdu(bytes(nop))
            elif op == 0x31:
                raise RuntimeError("R2T: the write did not fit the immediate data")
            else:
                raise RuntimeError(f"unexpected PDU opcode {op:#x}")


def sense_code(sense):
    """KK/AAAA of fixed or descriptor sense."""
    if not sense:
        return "none"
    if sense[0] & 0x7F in (0x72, 0x73):
        return f"{sense[1] & 0xF:02x}/{sense[2]:02x}{sense[3]:02x}"
    return f"{sense[2] & 0xF:02x}/{sense[12]:02x}{sense[13]:02x}"


def capacity(sess):
    cdb = bytes([0x9E, 0x10]) + bytes(8) + (32).to_bytes(4, "big") + bytes(2)
    for _ in range(10):
        st, sense, d = sess.command(cdb, data_in_len=32)
        if st == 0:
            last, bs = struct.unpack(">QI", d[:12])
            return last + 1, bs, d[13] & 0xF
    raise RuntimeError(f"READ CAPACITY(16): status {st} sense {sense_code(sense)}")


def tur(sess):
    st, sense, _ = sess.command(bytes(6))
    return st, sense_code(sense)


def block_data(token, n):
    head = f"{token}:{n:08d}:".encode()
    return (head * (BLOCK // len(head) + 1))[:BLOCK]


def main(argv):
    if len(argv) >= 2 and argv[1] == "verify":
        _, _, log, token, path = argv
        acked = [int(x) for x in open(log).read().split()]
        bad = 0
        with open(path, "rb") as f:
            for n in acked:
                f.seek(n * BLOCK)
                if f.read(BLOCK) != block_data(token, n):
                    bad += 1
                    if bad <= 5:
                        print(f"block {n} acknowledged but not in the image")
        print(f"verified={len(acked) - bad} missing={bad}")
        return 1 if bad or not acked else 0
    if len(argv) < 5:
        print(__doc__, file=sys.stderr)
        return 2
    host, port = argv[1].rsplit(":", 1)
    iqn, lun, cmd = argv[2], int(argv[3]), argv[4]
    sess = Session(host, int(port), iqn, lun)
    if cmd == "capacity":
        blocks, bs, exp = capacity(sess)
        print(f"blocks={blocks} blksize={bs} lbppbe={exp}")
        return 0
    if cmd == "resize-ua":
        for _ in range(10):  # POWER ON/RESET and anything else pending
            if tur(sess)[0] == 0:
                break
        before = capacity(sess)[0]
        subprocess.run(argv[5], shell=True, check=True)
        deadline = time.time() + 20
        seen = None
        while time.time() < deadline:
            st, code = tur(sess)
            if st == 2:
                seen = code
                break
            time.sleep(0.2)
        after = capacity(sess)[0]
        print(f"ua={seen and seen.split('/')[1]} blocks_before={before} blocks_after={after}")
        return 0 if seen == "06/2a09" and after != before else 1
    if cmd == "write-acked":
        log, token = argv[5], argv[6]
        tur(sess)
        with open(log, "a") as out:
            for n in range(16384):
                lba = n * (BLOCK // 512)
                cdb = bytes([0x2A, 0]) + lba.to_bytes(4, "big") + bytes([0]) + (8).to_bytes(2, "big") + bytes([0])
                try:
                    st, sense, _ = sess.command(cdb, data_out=block_data(token, n))
                except (ConnectionError, OSError) as e:
                    print(f"connection ended after {n} blocks: {e}")
                    return 0
                if st != 0:
                    print(f"block {n}: status {st} sense {sense_code(sense)}")
                    return 1
                out.write(f"{n}\n")
                out.flush()
        return 0
    if cmd == "read-timed":
        lba = int(argv[5])
        tur(sess)
        t0 = time.time()
        cdb = bytes([0x28, 0]) + lba.to_bytes(4, "big") + bytes([0]) + (8).to_bytes(2, "big") + bytes([0])
        st, sense, _ = sess.command(cdb, data_in_len=4096)
        print(f"status={st} sense={sense_code(sense)} secs={time.time() - t0:.1f}")
        return 0
    print(f"unknown command {cmd}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
