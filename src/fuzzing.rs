//! Entry points for the fuzz targets in `compat-tests/fuzz/` and for the stable-Rust
//! replay of their corpora. Each function takes hostile bytes and must never panic.

use crate::iscsi::pdu::{
    self, Ahs, Bhs, DataIn, DataOut, LoginRequest, LoginResponse, LogoutRequest, LogoutResponse,
    NopIn, NopOut, PduReader, R2t, Reject, Response, ScsiCommand, ScsiResponse, Snack, TaskMgmt,
    TaskMgmtResponse, TextRequest, TextResponse, BHS_LEN, MAX_DSL,
};
use crate::iscsi::text;
use crate::mgmt::server::{Config, MgmtTask};
use crate::mgmt::wire::{Mode, Op, Request};

/// A fuzz target: takes hostile bytes, must never panic.
pub type Target = fn(&[u8]);

/// Every entry point by name: the `[[bin]]`s of `compat-tests/fuzz/Cargo.toml`, replayed
/// on stable Rust by `compat-tests` (corpus replay, `fuzz_stable`).
pub const TARGETS: &[(&str, Target)] = &[
    ("bhs", bhs),
    ("pdu_stream", pdu_stream),
    ("login_text", login_text),
    ("cdb", cdb),
    ("mgmt_req", mgmt_req),
];

/// splitmix64: a small deterministic generator, so a fuzz run or a randomised test
/// reproduces from its seed.
#[derive(Debug, Clone)]
pub struct Rng(pub u64);

impl Rng {
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n`; 0 when `n` is 0.
    pub fn below(&mut self, n: usize) -> usize {
        let n = u64::try_from(n).unwrap_or(u64::MAX);
        if n == 0 {
            return 0;
        }
        usize::try_from(self.next_u64() % n).unwrap_or(0)
    }

    /// A random byte.
    pub fn byte(&mut self) -> u8 {
        self.next_u64().to_le_bytes()[0]
    }

    /// One of `items` (which must not be empty).
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

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

/// Decodes the first 48 bytes as a BHS with every typed view, and the rest as AHS. Every
/// view that decodes must encode back to a header that decodes to the same view.
pub fn bhs(data: &[u8]) {
    for max in [0, 8192, MAX_DSL] {
        let _ = Bhs::decode_prefix(data, max);
    }
    let Some(raw) = data
        .get(..BHS_LEN)
        .and_then(|b| <[u8; BHS_LEN]>::try_from(b).ok())
    else {
        return;
    };
    let b = Bhs::from_bytes(raw);
    let _ = format!("{b:?}");
    let _ = (b.total_ahs_len(), b.padded_data_len(), b.lun(), b.itt());
    let dl = usize::try_from(b.data_segment_len()).unwrap_or(0);
    let words = raw[pdu::off::TOTAL_AHS_LEN];
    macro_rules! round_trip {
        ($ty:ty, $v:ident => $enc:expr) => {
            if let Ok($v) = <$ty>::decode(&b) {
                let again = <$ty>::decode(&Bhs::from_bytes($enc));
                assert_eq!(again.as_ref(), Ok(&$v), "{} round trip", stringify!($ty));
            }
        };
    }
    round_trip!(ScsiCommand, v => v.encode_with_ahs(words, dl));
    round_trip!(DataOut, v => v.encode(dl));
    round_trip!(NopOut, v => v.encode(dl));
    round_trip!(TaskMgmt, v => v.encode());
    round_trip!(LoginRequest, v => v.encode(dl));
    round_trip!(TextRequest, v => v.encode(dl));
    round_trip!(LogoutRequest, v => v.encode());
    round_trip!(Snack, v => v.encode());
    round_trip!(LoginResponse, v => v.encode(dl));
    round_trip!(ScsiResponse, v => v.encode(dl));
    round_trip!(DataIn, v => v.encode(dl));
    round_trip!(R2t, v => v.encode());
    round_trip!(NopIn, v => v.encode(dl));
    round_trip!(TaskMgmtResponse, v => v.encode());
    round_trip!(TextResponse, v => v.encode(dl));
    round_trip!(LogoutResponse, v => v.encode());
    round_trip!(Reject, v => v.encode());
    round_trip!(pdu::AsyncMessage, v => v.encode(dl));
    if let Err(e) = pdu::Request::decode(&b) {
        let _ = (e.reject_reason(), e.is_fatal(), e.to_string());
    }
    let _ = Response::decode(&b);
    if let Ok(ahs) = Ahs::decode(&data[BHS_LEN..]) {
        let cdb: [u8; 16] = raw[32..48].try_into().expect("16 bytes");
        assert!(ahs.full_cdb(&cdb).len() <= pdu::ahs::MAX_CDB_LEN);
        if let Some(enc) = ahs.encode() {
            assert_eq!(Ahs::decode(&enc), Ok(ahs), "AHS round trip");
        }
    }
}

/// Feeds `data` to a [`PduReader`] as a receive stream, in chunks whose sizes come from the
/// input, and decodes every PDU it yields. The first byte picks digests and the
/// MaxRecvDataSegmentLength.
pub fn pdu_stream(data: &[u8]) {
    pdu_stream_count(data);
}

/// [`pdu_stream`], returning how many PDUs came out whole (so tests can tell the inputs
/// reach past the framing).
fn pdu_stream_count(data: &[u8]) -> usize {
    let mut count = 0;
    let Some((&cfg, mut rest)) = data.split_first() else {
        return count;
    };
    let max = [0, 512, 8192, 262_144][usize::from(cfg & 3)];
    let mut reader = PduReader::new(max);
    reader.set_digests(cfg & 4 != 0, cfg & 8 != 0);
    let mut chunk = usize::from(cfg >> 4) + 1;
    while !rest.is_empty() {
        let n = chunk.min(rest.len());
        let mut piece = &rest[..n];
        rest = &rest[n..];
        chunk = chunk % 61 + 7;
        while !piece.is_empty() {
            if reader.at_data_start() && piece[0] & 1 == 0 {
                let _ = reader.provide_data_buffer(Vec::with_capacity(64));
            }
            let used = match reader.feed(piece) {
                Ok(u) => u,
                Err(e) => {
                    assert!(e.is_fatal(), "feed returns only fatal errors: {e:?}");
                    return count;
                }
            };
            // Between PDUs the reader always wants bytes, so it takes at least one.
            assert!(used > 0 && used <= piece.len());
            piece = &piece[used..];
            if let Some(p) = reader.take_pdu() {
                match p {
                    Ok(p) => {
                        count += 1;
                        assert!(p.ahs.len() <= pdu::MAX_AHS_LEN);
                        assert_eq!(
                            Some(p.data.len()),
                            usize::try_from(p.bhs.data_segment_len()).ok()
                        );
                        assert!(p.bhs.data_segment_len() <= max);
                        if let Ok(req) = pdu::Request::decode(&p.bhs) {
                            if matches!(req, pdu::Request::Login(_) | pdu::Request::Text(_)) {
                                let _ = text::parse(&p.data);
                            }
                        }
                        let _ = Ahs::decode(&p.ahs);
                    }
                    Err(e) => assert!(!e.is_fatal()),
                }
            }
        }
    }
    count
}

/// Parses `data` as login/text key=value text, renders what parsed and parses it again, and
/// tries every value decoder on every value. Chunking and collecting must give the text back.
pub fn login_text(data: &[u8]) {
    if let Ok(pairs) = text::parse(data) {
        let rendered = text::render(&pairs);
        assert_eq!(
            text::parse(&rendered).as_ref(),
            Ok(&pairs),
            "render round trip"
        );
        for (k, v) in &pairs {
            assert!(!k.is_empty() && k.len() <= text::MAX_KEY_LEN);
            let _ = (
                text::parse_number(v),
                text::parse_range(v),
                text::parse_bool(v),
            );
            if let Ok((bytes, enc)) = text::parse_binary(v) {
                let again = text::parse_binary(&text::render_binary(&bytes, enc));
                assert_eq!(again, Ok((bytes, enc)), "binary round trip");
            }
            let _ = text::split_list(v).count();
        }
    }
    let max = data.first().map_or(1, |&b| usize::from(b % 32) + 1);
    let mut c = text::TextCollector::new(text::MAX_TEXT_LEN);
    let mut last_more = true;
    for (piece, more) in text::chunks(data, max) {
        assert!(piece.len() <= max && last_more);
        last_more = more;
        if c.push(piece).is_err() {
            return;
        }
    }
    assert!(!last_more);
    assert_eq!(c.take(), data);
    if let Ok(s) = std::str::from_utf8(data) {
        if let Some(b) = text::base64_decode(s) {
            assert_eq!(text::base64_decode(&text::base64_encode(&b)), Some(b));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mgmt::wire::REQ_LEN;

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
            let data: Vec<u8> = (0..len).map(|_| rng.byte()).collect();
            mgmt_req(&data);
        }
    }

    fn random_bytes(rng: &mut Rng, len: usize) -> Vec<u8> {
        (0..len).map(|_| rng.byte()).collect()
    }

    /// A stream of well-formed PDUs (valid headers from the encoders, framed with or without
    /// digests), then some corruption.
    fn pdu_stream_input(rng: &mut Rng) -> Vec<u8> {
        use crate::iscsi::pdu::{digest::Digests, Itt, Ttt, TxFrame};
        let cfg = u8::try_from(rng.below(256)).unwrap() | 2; // MaxRecvDSL 8192 or more
        let digests = Digests {
            header: cfg & 4 != 0,
            data: cfg & 8 != 0,
        };
        let mut out = vec![cfg];
        for i in 0..rng.below(12) {
            let itt = Itt(u32::try_from(i).unwrap());
            let data = match rng.below(3) {
                0 => Vec::new(),
                1 => b"SendTargets=All\0".to_vec(),
                _ => {
                    let n = rng.below(300);
                    random_bytes(rng, n)
                }
            };
            let hdr = match rng.below(4) {
                0 => TextRequest {
                    immediate: true,
                    final_pdu: true,
                    cont: false,
                    lun: [0; 8],
                    itt,
                    ttt: Ttt::RESERVED,
                    cmd_sn: 1,
                    exp_stat_sn: 1,
                }
                .encode(data.len()),
                1 => NopOut {
                    immediate: false,
                    lun: [0; 8],
                    itt,
                    ttt: Ttt::RESERVED,
                    cmd_sn: 2,
                    exp_stat_sn: 2,
                }
                .encode(data.len()),
                2 => DataOut {
                    final_pdu: true,
                    lun: [0; 8],
                    itt,
                    ttt: Ttt(7),
                    exp_stat_sn: 3,
                    data_sn: 0,
                    buffer_offset: 0,
                }
                .encode(data.len()),
                _ => {
                    let mut h = random_bytes(rng, BHS_LEN);
                    h[4] = 0;
                    let dl = u32::try_from(data.len()).unwrap().to_be_bytes();
                    h[5..8].copy_from_slice(&dl[1..]);
                    h.try_into().unwrap()
                }
            };
            let frame = TxFrame::new(&hdr, data, digests).unwrap();
            for p in frame.pieces() {
                out.extend_from_slice(p);
            }
        }
        for _ in 0..rng.below(3) {
            if out.len() > 1 {
                let at = 1 + rng.below(out.len() - 1);
                out[at] ^= u8::try_from(1 + rng.below(255)).unwrap();
            }
        }
        out
    }

    #[test]
    fn random_pdu_streams_never_panic() {
        let mut rng = Rng(0x5eed_1234);
        let mut whole = 0;
        for _ in 0..1500 {
            let input = pdu_stream_input(&mut rng);
            whole += pdu_stream_count(&input);
            bhs(&input[1..]);
        }
        // Most of the generated PDUs frame whole; corruption stops some streams early.
        assert!(whole > 3000, "only {whole} PDUs framed");
    }

    #[test]
    fn random_bytes_as_pdus_never_panic() {
        let mut rng = Rng(11);
        for _ in 0..3000 {
            let len = rng.below(200);
            let data = random_bytes(&mut rng, len);
            bhs(&data);
            pdu_stream(&data);
        }
    }

    #[test]
    fn random_login_texts_never_panic() {
        const KEYS: &[&str] = &[
            "InitiatorName=iqn.1993-08.org.debian:01:abc",
            "TargetName=iqn.2001-04.com.example:t",
            "SessionType=Discovery",
            "AuthMethod=CHAP,None",
            "CHAP_A=5,7",
            "CHAP_R=0x0123456789abcdef",
            "CHAP_C=0bAAECAwQ=",
            "MaxRecvDataSegmentLength=0x2000",
            "FirstBurstLength=0b/w==",
            "X=1~2",
            "HeaderDigest=CRC32C,None",
            "=",
            "NoEquals",
            "\u{ff}=\u{0}",
        ];
        let mut rng = Rng(23);
        for _ in 0..2000 {
            let mut t = Vec::new();
            for _ in 0..rng.below(6) {
                t.extend_from_slice(KEYS[rng.below(KEYS.len())].as_bytes());
                if rng.below(8) != 0 {
                    t.push(0);
                }
            }
            if rng.below(4) == 0 {
                let n = rng.below(40);
                t.extend(random_bytes(&mut rng, n));
            }
            login_text(&t);
        }
    }
}

/// Executes arbitrary CDB bytes against a small in-memory disk (LUN 1, 128 blocks of 512
/// bytes on a memfd, thin-provisioned) and the controller (LUN 0), waiting for completions
/// from the backing-store pool. Layout of `data`: byte 0 selects the CDB length (`% 17`),
/// byte 1 the LUN (bit 0: LUN 1 or 0; bit 1: an absent LUN), the sense format (bit 2) and
/// the expected data-in length (bits 4–7, in 64-byte steps, 0xF = 64 KiB); then the CDB;
/// the rest is data-out. Checks the response invariants; must never panic.
pub fn cdb(data: &[u8]) {
    use std::collections::BTreeMap;
    use std::sync::mpsc;
    use std::sync::{Arc, Mutex, OnceLock};
    use std::time::Duration;

    use crate::bs::pool::WorkerPool;
    use crate::bs::{self, Media, OpenFlags};
    use crate::scsi::cmd::{Command, Completer, CompleterRef, NexusId, Response, TaskAttr};
    use crate::scsi::exec::{encode_lun, execute, ExecContext};
    use crate::scsi::lu::{null_template, LogicalUnit, Lu};
    use crate::scsi::DeviceType;

    #[derive(Debug)]
    struct Channel(Mutex<mpsc::Sender<(u64, Response)>>);
    impl Completer for Channel {
        fn complete(&self, tag: u64, response: Response) {
            let tx = self
                .0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let _ = tx.send((tag, response));
        }
    }

    static POOL: OnceLock<Option<Arc<WorkerPool>>> = OnceLock::new();
    let Some(pool) = POOL
        .get_or_init(|| WorkerPool::new(2).ok().map(Arc::new))
        .as_ref()
    else {
        return;
    };
    let (Some(&sel), Some(&flags)) = (data.first(), data.get(1)) else {
        return;
    };
    let rest = &data[2..];
    let cdb_len = usize::from(sel % 17).min(rest.len());
    let (cdb, data_out) = rest.split_at(cdb_len);

    let Ok(fd) = nix::sys::memfd::memfd_create(
        c"tgt-fuzz-cdb",
        nix::sys::memfd::MemFdCreateFlag::MFD_CLOEXEC,
    ) else {
        return;
    };
    let file = std::fs::File::from(fd);
    const SIZE: u64 = 128 * 512;
    if file.set_len(SIZE).is_err() {
        return;
    }
    let Some(rdwr) = bs::lookup("rdwr") else {
        return;
    };
    let mut disk = LogicalUnit::new(1, 1, DeviceType::DISK, rdwr, OpenFlags::NONE, None);
    disk.media = Some(Media {
        file: Some(Arc::new(file)),
        size: SIZE,
        preferred_blksize: None,
        read_only_fallback: false,
        access: bs::Access::Buffered,
        passthrough: None,
        rbd: None,
    });
    disk.size = SIZE;
    disk.path = Some("memfd".to_owned());
    disk.attrs.thin_provisioning = 1;
    disk.attrs.sense_format = i8::from(flags & 0x04 != 0);
    disk.go_online();
    let controller = LogicalUnit::new(
        1,
        0,
        DeviceType::RAID,
        null_template(),
        OpenFlags::NONE,
        None,
    );
    let mut luns = BTreeMap::new();
    luns.insert(0, Arc::new(Lu::new(controller)));
    luns.insert(1, Arc::new(Lu::new(disk)));
    let luns = Arc::new(luns);
    let nexus = NexusId(1);
    for lu in luns.values() {
        lu.nexus_added_with_port(nexus, "iqn.fuzz,i,0x000000000001");
    }

    let (tx, rx) = mpsc::channel();
    let completer: CompleterRef = Arc::new(Channel(Mutex::new(tx)));
    let ctx = ExecContext {
        luns: &luns,
        pool,
        completer: &completer,
    };
    let lun = match flags & 0x03 {
        0 => 0,
        1 => 1,
        _ => 9,
    };
    let expected_in = match flags >> 4 {
        0x0f => 65536,
        n => u32::from(n) * 64,
    };
    // Twice: the first command of a new nexus meets its POWER ON unit attention.
    for tag in 1..=2u64 {
        let cmd = Command {
            cdb: cdb.to_vec(),
            lun: encode_lun(lun),
            attr: TaskAttr::Simple,
            nexus,
            tag,
            expected_in,
            expected_out: u32::try_from(data_out.len()).unwrap_or(u32::MAX),
            data_out: data_out.to_vec(),
        };
        let resp = match execute(&ctx, cmd) {
            Some(r) => r,
            None => match rx.recv_timeout(Duration::from_secs(60)) {
                Ok((t, r)) => {
                    assert_eq!(t, tag, "completion for another command");
                    r
                }
                Err(_) => panic!("queued command never completed"),
            },
        };
        let expected = usize::try_from(expected_in).unwrap_or(usize::MAX);
        assert!(
            resp.data_in.len() <= expected,
            "data-in beyond the expected length"
        );
        assert_eq!(
            resp.sense.is_empty(),
            resp.status.0 != 0x02,
            "sense exactly with CHECK CONDITION"
        );
    }
}

#[cfg(test)]
mod cdb_tests {
    use super::{cdb, Rng};
    use crate::scsi::opcodes::TABLE;

    #[test]
    fn random_bytes_never_panic() {
        let mut rng = Rng(1);
        for _ in 0..1500 {
            let len = rng.below(80);
            let data: Vec<u8> = (0..len).map(|_| rng.byte()).collect();
            cdb(&data);
        }
    }

    /// Every served opcode with random fields, small LBAs and lengths, random data-out.
    #[test]
    fn every_served_opcode_with_random_fields_never_panics() {
        let mut rng = Rng(2);
        for round in 0..3000 {
            let row = &TABLE[round % TABLE.len()];
            let len = row.cdb_len();
            let mut c: Vec<u8> = (0..len).map(|_| rng.byte()).collect();
            c[0] = row.op.0;
            if let Some(sa) = row.sa {
                c[1] = (c[1] & 0xe0) | sa;
            }
            // Mostly small numbers, so the command gets past the range checks.
            for b in c.iter_mut().skip(2) {
                if rng.below(4) != 0 {
                    *b &= 0x03;
                }
            }
            *c.last_mut().unwrap() &= 0xfa;
            let out_len = [0, 8, 24, 48, 512, 1024, 4096][rng.below(7)];
            let flags = rng.byte() | 0x01;
            let mut data = vec![u8::try_from(len).unwrap(), flags & !0x02];
            data.extend_from_slice(&c);
            data.extend((0..out_len).map(|_| rng.byte()));
            cdb(&data);
        }
    }
}
