//! Entry points for the fuzz targets in `compat-tests/fuzz/` and for the stable-Rust
//! replay of their corpora. Each function takes hostile bytes and must never panic.

use crate::mgmt::server::{Config, MgmtTask};
use crate::mgmt::wire::{Mode, Op, Request};

/// Feeds `data` to a management task as a byte stream and executes every complete request
/// against one configuration. Requests that would touch the outside world (binding portals,
/// opening backing paths) are decoded but not executed.
pub fn mgmt_req(data: &[u8]) {
    let mut config = Config::new(None);
    let mut rest = data;
    while !rest.is_empty() {
        let mut task = MgmtTask::default();
        while task.wanted() > 0 && !rest.is_empty() {
            let n = task.wanted().min(rest.len());
            if task.feed(&rest[..n]).is_err() {
                return;
            }
            rest = &rest[n..];
        }
        if let MgmtTask::Ready { req, body } = task {
            if is_side_effect_free(&req, &body) {
                let out = config.execute(&req, &body);
                assert!(out.reply.len() >= 8, "every request gets a response header");
            }
        }
    }
}

fn is_side_effect_free(req: &Request, body: &[u8]) -> bool {
    let binds = req.mode == Mode::PORTAL || (req.mode == Mode::LLD && req.op == Op::START);
    let opens = body.windows(5).any(|w| w == b"path=");
    // iSNS=On resolves the server name (a DNS query).
    let resolves = body.windows(7).any(|w| w == b"iSNS=On");
    !binds && !opens && !resolves
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mgmt::wire::REQ_LEN;

    /// xorshift64*: deterministic, so a failure reproduces.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn below(&mut self, n: usize) -> usize {
            usize::try_from(self.next() % u64::try_from(n).unwrap()).unwrap()
        }
    }

    const TOKENS: &[&str] = &[
        "targetname=iqn.2001-04.com.example:a",
        "targetname=iqn.b",
        "bstype=null",
        "bstype=rdwr",
        "bsoflags=sync:direct",
        "blocksize=4096",
        "user=alice",
        "user=bob",
        "password=secret",
        "initiator-address=10.0.0.0/8",
        "initiator-name=iqn.x",
        "targetOps vendor_id=V,online=0,readonly=1,mode_page=8:0:2:1:2:3,",
        "targetOps thin_provisioning=1,scsi_sn=,bogus,",
        "state=offline",
        "MaxBurstLength=0x100",
        "HeaderDigest=None,CRC32C",
        "nop_interval=5",
        "RedirectAddress=1.2.3.4",
        "RedirectCallback=/bin/true",
        "debug=on",
        "debug=off",
        "State=offline",
        "iSNSServerPort=12",
        "=",
        ",,,",
        "\u{ff}\u{0}x",
    ];

    fn request(rng: &mut Rng) -> Vec<u8> {
        let mut body = String::new();
        for _ in 0..rng.below(4) {
            if !body.is_empty() {
                body.push(',');
            }
            body.push_str(TOKENS[rng.below(TOKENS.len())]);
        }
        let mut b = body.into_bytes();
        if !b.is_empty() && rng.below(4) != 0 {
            b.push(0);
        }
        let lld: &[u8] = [&b""[..], b"iscsi", b"iser", b"bogus"][rng.below(4)];
        let mut r = Request {
            mode: Mode(i32::try_from(rng.below(10)).unwrap()),
            op: Op(i32::try_from(rng.below(10)).unwrap()),
            tid: [-1, 0, 1, 2, 7][rng.below(5)],
            sid: u64::try_from(rng.below(3)).unwrap(),
            lun: [0, 1, 2, u64::MAX][rng.below(4)],
            cid: u32::try_from(rng.below(2)).unwrap(),
            host_no: u32::try_from(rng.below(3)).unwrap(),
            device_type: [0, 0, 0, 5, 0xff, 0x0c][rng.below(6)],
            ac_dir: u32::try_from(rng.below(2)).unwrap(),
            force: u32::try_from(rng.below(2)).unwrap(),
            ..Request::default()
        };
        r.set_lld(lld);
        r.len = u32::try_from(REQ_LEN + b.len()).unwrap();
        let mut out = r.encode().to_vec();
        out.extend_from_slice(&b);
        out
    }

    #[test]
    fn random_request_streams_never_panic() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for _ in 0..300 {
            let mut stream = Vec::new();
            for _ in 0..40 {
                stream.extend(request(&mut rng));
            }
            mgmt_req(&stream);
        }
    }

    #[test]
    fn random_bytes_never_panic() {
        let mut rng = Rng(7);
        for _ in 0..2000 {
            let len = rng.below(400);
            let data: Vec<u8> = (0..len).map(|_| rng.next().to_ne_bytes()[0]).collect();
            mgmt_req(&data);
        }
    }
}
