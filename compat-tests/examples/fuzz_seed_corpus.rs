//! Writes the seed corpora of the fuzz targets, `compat-tests/fuzz/corpus/<target>/`: real
//! inputs built with tgt's own encoders (PDUs), typical login key sets, a CDB for every row
//! of the opcode table with a few field variants, and tgtadm's golden request captures.
//!
//! ```text
//! cargo run -p compat-tests --example fuzz_seed_corpus [FUZZ_DIR]
//! ```
//!
//! Files are named after what they hold and overwritten in place; files it did not write are
//! left alone. Every file stays under 4 KiB.

use std::path::{Path, PathBuf};

use tgt::iscsi::pdu::ahs::Ahs;
use tgt::iscsi::pdu::digest::{self, Digests};
use tgt::iscsi::pdu::initiator::{LogoutReason, SnackType, Stage, TaskAttr, TmfFunction};
use tgt::iscsi::pdu::target::{
    AsyncEvent, LoginStatus, LogoutResponseCode, ScsiResponseCode, TmfResponse,
};
use tgt::iscsi::pdu::{
    AsyncMessage, DataIn, DataOut, Isid, Itt, LoginRequest, LoginResponse, LogoutRequest,
    LogoutResponse, NopIn, NopOut, R2t, Reject, RejectReason, ScsiCommand, ScsiResponse, Snack,
    TaskMgmt, TaskMgmtResponse, TextRequest, TextResponse, Ttt, TxFrame, BHS_LEN,
};
use tgt::iscsi::text;
use tgt::scsi::opcodes::TABLE;

const MAX_FILE: usize = 4096;

struct Out {
    dir: PathBuf,
    count: usize,
}

impl Out {
    fn new(fuzz_dir: &Path, target: &str) -> Self {
        let dir = fuzz_dir.join("corpus").join(target);
        std::fs::create_dir_all(&dir).expect("create corpus dir");
        Self { dir, count: 0 }
    }

    fn put(&mut self, name: &str, data: &[u8]) {
        assert!(data.len() < MAX_FILE, "{name}: {} bytes", data.len());
        std::fs::write(self.dir.join(name), data).expect("write corpus file");
        self.count += 1;
    }
}

// ---------------------------------------------------------------------------------------
// Login text

fn keys(pairs: &[(&str, &str)]) -> Vec<u8> {
    text::render(pairs)
}

const INITIATOR: &str = "iqn.1993-08.org.debian:01:5ee2a1b1c3d4";
const TARGET: &str = "iqn.2001-04.com.example:storage.disk1";

fn security_keys() -> Vec<u8> {
    keys(&[
        ("InitiatorName", INITIATOR),
        ("InitiatorAlias", "client"),
        ("TargetName", TARGET),
        ("SessionType", "Normal"),
        ("AuthMethod", "None"),
    ])
}

fn operational_keys() -> Vec<u8> {
    keys(&[
        ("HeaderDigest", "None"),
        ("DataDigest", "None"),
        ("DefaultTime2Wait", "2"),
        ("DefaultTime2Retain", "0"),
        ("IFMarker", "No"),
        ("OFMarker", "No"),
        ("ErrorRecoveryLevel", "0"),
        ("InitialR2T", "No"),
        ("ImmediateData", "Yes"),
        ("MaxBurstLength", "16776192"),
        ("FirstBurstLength", "262144"),
        ("MaxOutstandingR2T", "1"),
        ("MaxConnections", "1"),
        ("DataPDUInOrder", "Yes"),
        ("DataSequenceInOrder", "Yes"),
        ("MaxRecvDataSegmentLength", "262144"),
    ])
}

fn discovery_keys() -> Vec<u8> {
    keys(&[
        ("InitiatorName", INITIATOR),
        ("SessionType", "Discovery"),
        ("AuthMethod", "None"),
    ])
}

fn login_texts(out: &mut Out) {
    out.put("security_normal", &security_keys());
    out.put("operational_open_iscsi", &operational_keys());
    out.put("discovery", &discovery_keys());
    out.put(
        "security_chap_offer",
        &keys(&[
            ("InitiatorName", INITIATOR),
            ("TargetName", TARGET),
            ("SessionType", "Normal"),
            ("AuthMethod", "CHAP,None"),
        ]),
    );
    out.put("chap_a", &keys(&[("CHAP_A", "5,7")]));
    out.put(
        "chap_response_hex",
        &keys(&[
            ("CHAP_N", "alice"),
            ("CHAP_R", "0x6f1ed9b03a5c2d8e4f7a0b1c2d3e4f50"),
        ]),
    );
    out.put(
        "chap_mutual_base64",
        &keys(&[
            ("CHAP_N", "alice"),
            ("CHAP_R", "0bbx7ZsDpcLY5PegscLT5PUA=="),
            ("CHAP_I", "77"),
            ("CHAP_C", "0b3q2+7wABAgMEBQYHCAkKCw=="),
        ]),
    );
    out.put(
        "chap_target_challenge",
        &keys(&[
            ("CHAP_A", "5"),
            ("CHAP_I", "1"),
            ("CHAP_C", "0x0123456789abcdef0123456789abcdef"),
        ]),
    );
    out.put(
        "operational_digests_crc32c",
        &keys(&[
            ("HeaderDigest", "CRC32C,None"),
            ("DataDigest", "CRC32C,None"),
            ("MaxRecvDataSegmentLength", "8192"),
        ]),
    );
    out.put(
        "operational_hex_numbers",
        &keys(&[
            ("MaxRecvDataSegmentLength", "0x2000"),
            ("MaxBurstLength", "0X40000"),
            ("FirstBurstLength", "0b/w=="),
        ]),
    );
    out.put(
        "target_response_keys",
        &keys(&[
            ("TargetPortalGroupTag", "1"),
            ("HeaderDigest", "None"),
            ("DataDigest", "None"),
            ("MaxRecvDataSegmentLength", "8192"),
            ("TargetAlias", "disk1"),
        ]),
    );
    out.put("sendtargets_all", &keys(&[("SendTargets", "All")]));
    out.put("sendtargets_named", &keys(&[("SendTargets", TARGET)]));
    out.put("sendtargets_empty", &keys(&[("SendTargets", "")]));
    out.put(
        "sendtargets_reply",
        &keys(&[
            ("TargetName", TARGET),
            ("TargetAddress", "192.0.2.1:3260,1"),
            ("TargetAddress", "[2001:db8::1]:3260,1"),
        ]),
    );
    out.put(
        "iser_keys",
        &keys(&[
            ("RDMAExtensions", "Yes"),
            ("InitiatorRecvDataSegmentLength", "262144"),
            ("TargetRecvDataSegmentLength", "8192"),
            ("MaxOutstandingUnexpectedPDUs", "0"),
        ]),
    );
    out.put(
        "special_values",
        &keys(&[
            ("X-com.example.range", "1~5"),
            ("X#org.example.list", "a,b,,c"),
            ("OFMarkInt", "2048~8192"),
            ("TaskReporting", "RFC3720"),
            ("Unknown", "NotUnderstood"),
            ("SessionType", "Irrelevant"),
            ("AuthMethod", "Reject"),
        ]),
    );
    out.put(
        "empty_and_missing_values",
        b"InitiatorName=\0NoEqualsSign\0=value\0\0TargetName=x",
    );
    out.put(
        "no_trailing_nul",
        b"InitiatorName=iqn.x\0SessionType=Normal",
    );
    out.put(
        "numbers_at_limits",
        &keys(&[
            ("MaxRecvDataSegmentLength", "16777215"),
            ("MaxBurstLength", "4294967296"),
            ("DefaultTime2Wait", "18446744073709551616"),
            ("FirstBurstLength", "0xffffffffffffffffff"),
            ("MaxConnections", "-1"),
        ]),
    );
    let long_value = "a".repeat(300);
    let long_key = format!("X-{}", "k".repeat(70));
    out.put(
        "long_key_and_value",
        &keys(&[
            ("InitiatorAlias", long_value.as_str()),
            (long_key.as_str(), "1"),
        ]),
    );
    out.put(
        "non_utf8",
        b"InitiatorName=iqn.\xff\xfe\0TargetName=\xc3\x28\0",
    );
}

// ---------------------------------------------------------------------------------------
// PDUs

const ISID: Isid = Isid([0x00, 0x02, 0x3d, 0x00, 0x00, 0x01]);

fn lun(n: u8) -> [u8; 8] {
    [0, n, 0, 0, 0, 0, 0, 0]
}

fn cdb16(bytes: &[u8]) -> [u8; 16] {
    let mut c = [0u8; 16];
    c[..bytes.len()].copy_from_slice(bytes);
    c
}

fn login(
    itt: u32,
    csg: Stage,
    nsg: Stage,
    transit: bool,
    cont: bool,
    cmd_sn: u32,
    data_len: usize,
) -> [u8; BHS_LEN] {
    LoginRequest {
        immediate: true,
        transit,
        cont,
        csg,
        nsg,
        version_max: 0,
        version_min: 0,
        isid: ISID,
        tsih: 0,
        itt: Itt(itt),
        cid: 0,
        cmd_sn,
        exp_stat_sn: 0,
    }
    .encode(data_len)
}

#[allow(clippy::too_many_arguments)]
fn scsi(
    itt: u32,
    read: bool,
    write: bool,
    edtl: u32,
    cmd_sn: u32,
    cdb: &[u8],
    lun_no: u8,
    data_len: usize,
) -> [u8; BHS_LEN] {
    ScsiCommand {
        immediate: false,
        final_pdu: true,
        read,
        write,
        attr: TaskAttr::SIMPLE,
        lun: lun(lun_no),
        itt: Itt(itt),
        edtl,
        cmd_sn,
        exp_stat_sn: 2,
        cdb: cdb16(cdb),
    }
    .encode(data_len)
}

fn data_out(
    itt: u32,
    ttt: Ttt,
    data_sn: u32,
    offset: u32,
    last: bool,
    len: usize,
) -> [u8; BHS_LEN] {
    DataOut {
        final_pdu: last,
        lun: lun(1),
        itt: Itt(itt),
        ttt,
        exp_stat_sn: 2,
        data_sn,
        buffer_offset: offset,
    }
    .encode(len)
}

fn nop_out(itt: Itt, ttt: Ttt, cmd_sn: u32, len: usize) -> [u8; BHS_LEN] {
    NopOut {
        immediate: itt == Itt::RESERVED,
        lun: [0; 8],
        itt,
        ttt,
        cmd_sn,
        exp_stat_sn: 2,
    }
    .encode(len)
}

fn text_req(itt: u32, final_pdu: bool, cont: bool, cmd_sn: u32, len: usize) -> [u8; BHS_LEN] {
    TextRequest {
        immediate: false,
        final_pdu,
        cont,
        lun: [0; 8],
        itt: Itt(itt),
        ttt: Ttt::RESERVED,
        cmd_sn,
        exp_stat_sn: 2,
    }
    .encode(len)
}

fn task_mgmt(itt: u32, function: TmfFunction, ref_itt: u32, cmd_sn: u32) -> [u8; BHS_LEN] {
    TaskMgmt {
        immediate: true,
        function,
        lun: lun(1),
        itt: Itt(itt),
        ref_task_tag: Itt(ref_itt),
        cmd_sn,
        exp_stat_sn: 2,
        ref_cmd_sn: cmd_sn.wrapping_sub(1),
        exp_data_sn: 0,
    }
    .encode()
}

fn logout(itt: u32, reason: LogoutReason, cmd_sn: u32) -> [u8; BHS_LEN] {
    LogoutRequest {
        immediate: true,
        reason,
        itt: Itt(itt),
        cid: 0,
        cmd_sn,
        exp_stat_sn: 2,
    }
    .encode()
}

fn snack(itt: u32) -> [u8; BHS_LEN] {
    Snack {
        snack_type: SnackType::STATUS,
        lun: lun(1),
        itt: Itt(itt),
        ttt_or_snack_tag: 0,
        exp_stat_sn: 2,
        beg_run: 1,
        run_length: 0,
    }
    .encode()
}

/// A receive stream for `tgt::fuzzing::pdu_stream`: the configuration byte, then each PDU
/// framed with the digests the byte selects.
struct Stream {
    bytes: Vec<u8>,
    digests: Digests,
}

impl Stream {
    fn new(cfg: u8) -> Self {
        Self {
            bytes: vec![cfg],
            digests: Digests {
                header: cfg & 4 != 0,
                data: cfg & 8 != 0,
            },
        }
    }

    fn pdu(mut self, hdr: [u8; BHS_LEN], data: &[u8]) -> Self {
        let frame = TxFrame::new(&hdr, data, self.digests).expect("consistent header");
        for p in frame.pieces() {
            self.bytes.extend_from_slice(p);
        }
        self
    }

    /// A SCSI Command with AHS, framed by hand (TxFrame frames target PDUs, which have none).
    fn pdu_with_ahs(mut self, hdr: [u8; BHS_LEN], ahs: &[u8]) -> Self {
        self.bytes.extend_from_slice(&hdr);
        self.bytes.extend_from_slice(ahs);
        if self.digests.header {
            self.bytes
                .extend_from_slice(&digest::to_wire(digest::header_digest(&hdr, ahs)));
        }
        self
    }
}

fn login_normal(cfg: u8) -> Stream {
    let sec = security_keys();
    let op = operational_keys();
    Stream::new(cfg)
        .pdu(
            login(
                1,
                Stage::SECURITY,
                Stage::OPERATIONAL,
                true,
                false,
                0,
                sec.len(),
            ),
            &sec,
        )
        .pdu(
            login(
                1,
                Stage::OPERATIONAL,
                Stage::FULL_FEATURE,
                true,
                false,
                0,
                op.len(),
            ),
            &op,
        )
}

fn full_feature_io(cfg: u8) -> Stream {
    let block = [0xa5u8; 512];
    let ping = b"ping";
    let st = text::render(&[("SendTargets", "All")]);
    Stream::new(cfg)
        .pdu(
            scsi(0x10, true, false, 36, 1, &[0x12, 0, 0, 0, 36, 0], 0, 0),
            &[],
        )
        .pdu(scsi(0x11, false, false, 0, 2, &[0; 6], 1, 0), &[])
        .pdu(
            scsi(
                0x12,
                true,
                false,
                8,
                3,
                &[0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0],
                1,
                0,
            ),
            &[],
        )
        .pdu(
            scsi(
                0x13,
                true,
                false,
                1024,
                4,
                &[0x28, 0, 0, 0, 0, 4, 0, 0, 2, 0],
                1,
                0,
            ),
            &[],
        )
        .pdu(
            scsi(
                0x14,
                false,
                true,
                1024,
                5,
                &[0x2a, 0, 0, 0, 0, 8, 0, 0, 2, 0],
                1,
                512,
            ),
            &block,
        )
        .pdu(data_out(0x14, Ttt::RESERVED, 0, 512, true, 512), &block)
        .pdu(nop_out(Itt(0x15), Ttt::RESERVED, 6, ping.len()), ping)
        .pdu(nop_out(Itt::RESERVED, Ttt(5), 7, 0), &[])
        .pdu(task_mgmt(0x16, TmfFunction::ABORT_TASK, 0x13, 7), &[])
        .pdu(
            task_mgmt(0x17, TmfFunction::LOGICAL_UNIT_RESET, 0xffff_ffff, 8),
            &[],
        )
        .pdu(text_req(0x18, true, false, 9, st.len()), &st)
        .pdu(snack(0x13), &[])
        .pdu(logout(0x19, LogoutReason::CLOSE_SESSION, 10), &[])
}

fn pdu_streams(out: &mut Out) {
    out.put("login_normal", &login_normal(0x02).bytes);
    out.put("login_normal_chunks_16", &login_normal(0xf2).bytes);

    let chap1 = keys(&[
        ("InitiatorName", INITIATOR),
        ("TargetName", TARGET),
        ("SessionType", "Normal"),
        ("AuthMethod", "CHAP,None"),
    ]);
    let chap2 = keys(&[("CHAP_A", "5")]);
    let chap3 = keys(&[
        ("CHAP_N", "alice"),
        ("CHAP_R", "0x6f1ed9b03a5c2d8e4f7a0b1c2d3e4f50"),
    ]);
    let op = operational_keys();
    let s = Stream::new(0x02)
        .pdu(
            login(
                2,
                Stage::SECURITY,
                Stage::SECURITY,
                false,
                false,
                0,
                chap1.len(),
            ),
            &chap1,
        )
        .pdu(
            login(
                2,
                Stage::SECURITY,
                Stage::SECURITY,
                false,
                false,
                0,
                chap2.len(),
            ),
            &chap2,
        )
        .pdu(
            login(
                2,
                Stage::SECURITY,
                Stage::OPERATIONAL,
                true,
                false,
                0,
                chap3.len(),
            ),
            &chap3,
        )
        .pdu(
            login(
                2,
                Stage::OPERATIONAL,
                Stage::FULL_FEATURE,
                true,
                false,
                0,
                op.len(),
            ),
            &op,
        );
    out.put("login_chap", &s.bytes);

    // One login text across two PDUs (C bit).
    let sec = security_keys();
    let (a, b) = sec.split_at(sec.len() / 2);
    let s = Stream::new(0x02)
        .pdu(
            login(
                3,
                Stage::SECURITY,
                Stage::OPERATIONAL,
                false,
                true,
                0,
                a.len(),
            ),
            a,
        )
        .pdu(
            login(
                3,
                Stage::SECURITY,
                Stage::OPERATIONAL,
                true,
                false,
                0,
                b.len(),
            ),
            b,
        );
    out.put("login_continued", &s.bytes);

    let disc = discovery_keys();
    let st = text::render(&[("SendTargets", "All")]);
    let s = Stream::new(0x02)
        .pdu(
            login(
                4,
                Stage::SECURITY,
                Stage::FULL_FEATURE,
                true,
                false,
                0,
                disc.len(),
            ),
            &disc,
        )
        .pdu(text_req(5, true, false, 1, st.len()), &st)
        .pdu(logout(6, LogoutReason::CLOSE_SESSION, 2), &[]);
    out.put("discovery_sendtargets_logout", &s.bytes);

    // A Text Request continued over two PDUs.
    let (a, b) = st.split_at(5);
    let s = Stream::new(0x02)
        .pdu(text_req(7, false, true, 1, a.len()), a)
        .pdu(text_req(7, true, false, 1, b.len()), b);
    out.put("text_continued", &s.bytes);

    out.put("full_feature_io", &full_feature_io(0x02).bytes);
    out.put("full_feature_io_max_256k", &full_feature_io(0x03).bytes);
    out.put(
        "full_feature_io_header_digest",
        &full_feature_io(0x06).bytes,
    );
    out.put("full_feature_io_both_digests", &full_feature_io(0x0e).bytes);
    out.put(
        "full_feature_io_both_digests_chunks_8",
        &full_feature_io(0x7e).bytes,
    );

    // WRITE(10) of two blocks without immediate data, then two solicited Data-Outs.
    let block = [0x5au8; 512];
    let s = Stream::new(0x0a)
        .pdu(
            scsi(
                0x20,
                false,
                true,
                1024,
                1,
                &[0x2a, 0, 0, 0, 0, 0x10, 0, 0, 2, 0],
                1,
                0,
            ),
            &[],
        )
        .pdu(data_out(0x20, Ttt(1), 0, 0, false, 512), &block)
        .pdu(data_out(0x20, Ttt(1), 1, 512, true, 512), &block);
    out.put("write_solicited_data_out", &s.bytes);

    // 32-byte CDB (VARIABLE LENGTH) in an extended CDB AHS, and a bidirectional length AHS.
    let mut cdb32 = [0u8; 32];
    cdb32[0] = 0x7f;
    cdb32[7] = 0x18;
    cdb32[9] = 0x09;
    let ahs = Ahs {
        extended_cdb: Some(&cdb32[16..]),
        bidi_read_edtl: Some(512),
    }
    .encode()
    .expect("AHS fits");
    let words = u8::try_from(ahs.len() / 4).expect("AHS words");
    let hdr = ScsiCommand {
        immediate: false,
        final_pdu: true,
        read: true,
        write: true,
        attr: TaskAttr::SIMPLE,
        lun: lun(1),
        itt: Itt(0x30),
        edtl: 512,
        cmd_sn: 1,
        exp_stat_sn: 0,
        cdb: cdb16(&cdb32[..16]),
    }
    .encode_with_ahs(words, 0);
    out.put(
        "scsi_extended_cdb_ahs",
        &Stream::new(0x02).pdu_with_ahs(hdr, &ahs).bytes,
    );
    out.put(
        "scsi_extended_cdb_ahs_header_digest",
        &Stream::new(0x06).pdu_with_ahs(hdr, &ahs).bytes,
    );

    // Odd data lengths (padding), and a data segment over MaxRecvDataSegmentLength 512.
    let s = Stream::new(0x0e)
        .pdu(nop_out(Itt(0x40), Ttt::RESERVED, 1, 3), b"abc")
        .pdu(nop_out(Itt(0x41), Ttt::RESERVED, 2, 1), b"z");
    out.put("nop_out_padded_data", &s.bytes);
    let big = [0x11u8; 600];
    let s = Stream::new(0x01).pdu(nop_out(Itt(0x42), Ttt::RESERVED, 1, big.len()), &big);
    out.put("data_over_max_recv_512", &s.bytes);
    let s = Stream::new(0x00)
        .pdu(nop_out(Itt(0x43), Ttt::RESERVED, 1, 0), &[])
        .pdu(logout(0x44, LogoutReason::CLOSE_CONNECTION, 2), &[]);
    out.put("max_recv_zero_nop_logout", &s.bytes);
}

fn bhs_headers(out: &mut Out) {
    let sec = security_keys();
    out.put(
        "login_security",
        &login(
            1,
            Stage::SECURITY,
            Stage::OPERATIONAL,
            true,
            false,
            0,
            sec.len(),
        ),
    );
    out.put(
        "login_operational_continue",
        &login(
            1,
            Stage::OPERATIONAL,
            Stage::FULL_FEATURE,
            false,
            true,
            0,
            100,
        ),
    );
    out.put(
        "scsi_read_10",
        &scsi(
            1,
            true,
            false,
            4096,
            1,
            &[0x28, 0, 0, 0, 0, 0, 0, 0, 8, 0],
            1,
            0,
        ),
    );
    out.put(
        "scsi_write_10_immediate",
        &scsi(
            2,
            false,
            true,
            4096,
            2,
            &[0x2a, 0, 0, 0, 0, 0, 0, 0, 8, 0],
            1,
            1024,
        ),
    );
    out.put(
        "scsi_inquiry_lun0",
        &scsi(3, true, false, 36, 3, &[0x12, 0, 0, 0, 36, 0], 0, 0),
    );
    out.put("data_out", &data_out(2, Ttt(9), 1, 1024, true, 3072));
    out.put("nop_out_ping", &nop_out(Itt(4), Ttt::RESERVED, 4, 4));
    out.put("nop_out_reply", &nop_out(Itt::RESERVED, Ttt(3), 4, 0));
    out.put(
        "task_mgmt_abort_task",
        &task_mgmt(5, TmfFunction::ABORT_TASK, 1, 5),
    );
    out.put(
        "task_mgmt_target_cold_reset",
        &task_mgmt(6, TmfFunction::TARGET_COLD_RESET, 0, 6),
    );
    out.put("text_sendtargets", &text_req(7, true, false, 7, 16));
    out.put(
        "logout_close_session",
        &logout(8, LogoutReason::CLOSE_SESSION, 8),
    );
    out.put(
        "logout_remove_for_recovery",
        &logout(9, LogoutReason::REMOVE_FOR_RECOVERY, 9),
    );
    out.put("snack_status", &snack(1));

    // With AHS after the BHS.
    let mut cdb32 = [0u8; 32];
    cdb32[0] = 0x7f;
    cdb32[7] = 0x18;
    let ahs = Ahs {
        extended_cdb: Some(&cdb32[16..]),
        bidi_read_edtl: Some(4096),
    }
    .encode()
    .expect("AHS fits");
    let words = u8::try_from(ahs.len() / 4).expect("AHS words");
    let c = ScsiCommand {
        immediate: false,
        final_pdu: true,
        read: true,
        write: true,
        attr: TaskAttr::ORDERED,
        lun: lun(1),
        itt: Itt(10),
        edtl: 4096,
        cmd_sn: 10,
        exp_stat_sn: 1,
        cdb: cdb16(&cdb32[..16]),
    };
    let mut b = c.encode_with_ahs(words, 0).to_vec();
    b.extend_from_slice(&ahs);
    out.put("scsi_extended_cdb_and_bidi_ahs", &b);

    // Target PDUs.
    out.put(
        "login_response",
        &LoginResponse {
            transit: true,
            cont: false,
            csg: Stage::OPERATIONAL,
            nsg: Stage::FULL_FEATURE,
            version_max: 0,
            version_active: 0,
            isid: ISID,
            tsih: 1,
            itt: Itt(1),
            stat_sn: 0,
            exp_cmd_sn: 1,
            max_cmd_sn: 32,
            status: LoginStatus::SUCCESS,
        }
        .encode(120),
    );
    out.put(
        "scsi_response_check_condition",
        &ScsiResponse {
            bidi_overflow: false,
            bidi_underflow: false,
            overflow: false,
            underflow: true,
            response: ScsiResponseCode::COMPLETED,
            status: 0x02,
            itt: Itt(1),
            snack_tag: 0,
            stat_sn: 5,
            exp_cmd_sn: 6,
            max_cmd_sn: 37,
            exp_data_sn: 0,
            bidi_read_residual: 0,
            residual_count: 4096,
        }
        .encode(20),
    );
    out.put(
        "data_in_with_status",
        &DataIn {
            final_pdu: true,
            ack: false,
            overflow: false,
            underflow: false,
            status_present: true,
            status: 0,
            lun: lun(1),
            itt: Itt(1),
            ttt: Ttt::RESERVED,
            stat_sn: 5,
            exp_cmd_sn: 6,
            max_cmd_sn: 37,
            data_sn: 0,
            buffer_offset: 0,
            residual_count: 0,
        }
        .encode(4096),
    );
    out.put(
        "r2t",
        &R2t {
            lun: lun(1),
            itt: Itt(2),
            ttt: Ttt(9),
            stat_sn: 6,
            exp_cmd_sn: 7,
            max_cmd_sn: 38,
            r2t_sn: 0,
            buffer_offset: 1024,
            desired_length: 3072,
        }
        .encode(),
    );
    out.put(
        "nop_in_ping",
        &NopIn {
            lun: [0; 8],
            itt: Itt::RESERVED,
            ttt: Ttt(3),
            stat_sn: 7,
            exp_cmd_sn: 8,
            max_cmd_sn: 39,
        }
        .encode(0),
    );
    out.put(
        "task_mgmt_response",
        &TaskMgmtResponse {
            response: TmfResponse::NO_TASK,
            itt: Itt(5),
            stat_sn: 8,
            exp_cmd_sn: 9,
            max_cmd_sn: 40,
        }
        .encode(),
    );
    out.put(
        "text_response",
        &TextResponse {
            final_pdu: true,
            cont: false,
            lun: [0; 8],
            itt: Itt(7),
            ttt: Ttt::RESERVED,
            stat_sn: 9,
            exp_cmd_sn: 10,
            max_cmd_sn: 41,
        }
        .encode(64),
    );
    out.put(
        "logout_response",
        &LogoutResponse {
            response: LogoutResponseCode::SUCCESS,
            itt: Itt(8),
            stat_sn: 10,
            exp_cmd_sn: 11,
            max_cmd_sn: 42,
            time2wait: 2,
            time2retain: 20,
        }
        .encode(),
    );
    out.put(
        "reject_protocol_error",
        &Reject {
            reason: RejectReason(0x04),
            stat_sn: 11,
            exp_cmd_sn: 12,
            max_cmd_sn: 43,
            data_sn_or_r2t_sn: 0,
        }
        .encode(),
    );
    out.put(
        "async_request_logout",
        &AsyncMessage {
            lun: [0; 8],
            stat_sn: 12,
            exp_cmd_sn: 13,
            max_cmd_sn: 44,
            event: AsyncEvent::REQUEST_LOGOUT,
            vcode: 0,
            parameter1: 0,
            parameter2: 0,
            parameter3: 20,
        }
        .encode(0),
    );
}

// ---------------------------------------------------------------------------------------
// CDBs: [CDB length, flags, CDB..., data-out...] as `tgt::fuzzing::cdb` reads them.

/// One seed per line: name, flags byte (bit 0: LUN 1, the disk, else LUN 0, the controller;
/// bit 1: an absent LUN; bit 2: descriptor-format sense; bits 4-7: expected data-in in
/// 64-byte steps, f = 64 KiB), the CDB in hex, and the data-out by its name in
/// [`cdb_data_out`].
const CDB_SEEDS: &str = "
test_unit_ready                               f1  00 00 00 00 00 00
test_unit_ready_controller                    f0  00 00 00 00 00 00
request_sense_fixed                           f1  03 00 00 00 12 00
request_sense_desc                            f1  03 01 00 00 fc 00
request_sense_absent_lun                      f2  03 00 00 00 12 00
format_unit                                   01  04 00 00 00 00 00
format_unit_fmtdata                           01  04 10 00 00 00 00                               format_header
read_6                                        f1  08 00 00 01 01 00
read_6_len_0_is_256                           f1  08 00 00 00 00 00
read_6_past_end                               f1  08 1f ff ff 01 00
write_6                                       01  0a 00 00 02 01 00                               block
inquiry_standard                              f1  12 00 00 00 24 00
inquiry_standard_controller                   f0  12 00 00 00 ff 00
inquiry_standard_absent_lun                   f2  12 00 00 00 24 00
inquiry_short_expected_in                     11  12 00 00 00 ff 00
inquiry_vpd_00                                f1  12 01 00 00 ff 00
inquiry_vpd_80                                f1  12 01 80 00 ff 00
inquiry_vpd_83                                f1  12 01 83 00 ff 00
inquiry_vpd_86                                f1  12 01 86 00 ff 00
inquiry_vpd_b0                                f1  12 01 b0 00 ff 00
inquiry_vpd_b1                                f1  12 01 b1 00 ff 00
inquiry_vpd_b2                                f1  12 01 b2 00 ff 00
inquiry_vpd_unknown                           f5  12 01 c7 00 ff 00
inquiry_cmddt_obsolete                        f1  12 02 00 00 ff 00
mode_select_6_caching                         01  15 10 00 00 18 00                               mode_select_6
mode_select_10_control                        01  55 10 00 00 00 00 00 00 14 00                   mode_select_10
reserve_6                                     f1  16 00 00 00 00 00
release_6                                     f1  17 00 00 00 00 00
mode_sense_6_all_pages                        f1  1a 00 3f 00 ff 00
mode_sense_6_caching_dbd                      f1  1a 08 08 00 ff 00
mode_sense_6_changeable_control               f1  1a 00 4a 00 ff 00
mode_sense_6_saved_values                     f1  1a 00 ff 00 ff 00
start_stop_start                              f1  1b 00 00 00 01 00
start_stop_immed_stop                         f1  1b 01 00 00 00 00
start_stop_eject                              f1  1b 00 00 00 02 00
start_stop_power_condition                    f1  1b 00 00 00 30 00
send_diagnostic_selftest                      f1  1d 04 00 00 00 00
prevent_medium_removal                        f1  1e 00 00 00 01 00
read_capacity_10                              f1  25 00 00 00 00 00 00 00 00 00
read_capacity_10_pmi                          f1  25 00 00 00 00 7f 00 00 01 00
read_10                                       f1  28 00 00 00 00 00 00 00 08 00
read_10_fua_last_block                        f1  28 08 00 00 00 7f 00 00 01 00
read_10_past_end                              f5  28 00 00 00 00 7f 00 00 02 00
read_10_zero_blocks                           f1  28 00 00 00 00 00 00 00 00 00
write_10                                      01  2a 00 00 00 00 04 00 00 02 00                   two_blocks
write_10_short_data                           01  2a 00 00 00 00 04 00 00 02 00                   block
write_and_verify_10                           01  2e 00 00 00 00 09 00 00 01 00                   block
verify_10                                     f1  2f 00 00 00 00 00 00 00 10 00
verify_10_bytchk                              01  2f 02 00 00 00 03 00 00 01 00                   block
verify_10_controller                          f0  2f 00 00 00 00 00 00 00 01 00
pre_fetch_10                                  f1  34 00 00 00 00 00 00 00 20 00
synchronize_cache_10                          f1  35 00 00 00 00 00 00 00 00 00
synchronize_cache_10_immed                    f1  35 02 00 00 00 08 00 00 08 00
write_same_10                                 01  41 00 00 00 00 10 00 00 04 00                   block
write_same_10_unmap                           01  41 08 00 00 00 10 00 00 04 00                   zero_block
unmap                                         01  42 00 00 00 00 00 00 00 18 00                   unmap
reserve_10                                    f1  56 00 00 00 00 00 00 00 00 00
release_10                                    f1  57 00 00 00 00 00 00 00 00 00
mode_sense_10_all_pages                       f1  5a 00 3f 00 00 00 00 10 00 00
mode_sense_10_llbaa_caching                   f1  5a 10 08 00 00 00 00 00 ff 00
pr_in_read_keys                               f1  5e 00 00 00 00 00 00 10 00 00
pr_in_read_reservation                        f1  5e 01 00 00 00 00 00 10 00 00
pr_in_report_capabilities                     f1  5e 02 00 00 00 00 00 10 00 00
pr_in_read_full_status                        f1  5e 03 00 00 00 00 00 10 00 00
pr_out_register                               01  5f 00 00 00 00 00 00 00 18 00                   pr_register
pr_out_register_aptpl                         01  5f 00 00 00 00 00 00 00 18 00                   pr_register_aptpl
pr_out_reserve_write_exclusive                01  5f 01 01 00 00 00 00 00 18 00                   pr_key
pr_out_release_exclusive_access               01  5f 02 03 00 00 00 00 00 18 00                   pr_key
pr_out_clear                                  01  5f 03 00 00 00 00 00 00 18 00                   pr_key
pr_out_preempt                                01  5f 04 05 00 00 00 00 00 18 00                   pr_preempt
pr_out_preempt_and_abort                      01  5f 05 06 00 00 00 00 00 18 00                   pr_preempt
pr_out_register_and_ignore                    01  5f 06 00 00 00 00 00 00 18 00                   pr_register
pr_out_register_and_move                      01  5f 07 01 00 00 00 00 00 18 00                   pr_preempt
read_16                                       f1  88 00 00 00 00 00 00 00 00 00 00 00 00 08 00 00
read_16_huge_lba                              f1  88 00 ff ff ff ff ff ff ff ff 00 00 00 01 00 00
compare_and_write                             01  89 00 00 00 00 00 00 00 00 05 00 00 00 01 00 00 two_blocks
write_16                                      01  8a 00 00 00 00 00 00 00 00 06 00 00 00 01 00 00 block
orwrite_16                                    01  8b 00 00 00 00 00 00 00 00 07 00 00 00 01 00 00 block
write_and_verify_16                           01  8e 00 00 00 00 00 00 00 00 08 00 00 00 01 00 00 block
verify_16                                     f1  8f 00 00 00 00 00 00 00 00 00 00 00 00 04 00 00
verify_16_controller                          f0  8f 00 00 00 00 00 00 00 00 00 00 00 00 04 00 00
pre_fetch_16                                  f1  90 00 00 00 00 00 00 00 00 00 00 00 00 04 00 00
synchronize_cache_16                          f1  91 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
write_same_16                                 01  93 00 00 00 00 00 00 00 00 20 00 00 00 08 00 00 block
write_same_16_unmap_ndob                      01  93 09 00 00 00 00 00 00 00 20 00 00 00 08 00 00
read_capacity_16                              f1  9e 10 00 00 00 00 00 00 00 00 00 00 00 20 00 00
get_lba_status                                f1  9e 12 00 00 00 00 00 00 00 00 00 00 00 18 00 00
report_luns                                   f0  a0 00 00 00 00 00 00 00 01 00 00 00
report_luns_disk_select_2                     f1  a0 00 02 00 00 00 00 00 01 00 00 00
report_supported_opcodes_all                  f1  a3 0c 00 00 00 00 00 00 10 00 00 00
report_supported_opcodes_all_rctd_controller  f0  a3 0c 80 00 00 00 00 00 10 00 00 00
report_supported_opcodes_one                  f1  a3 0c 01 28 00 00 00 00 01 00 00 00
report_supported_opcodes_one_with_sa          f1  a3 0c 02 9e 00 10 00 00 01 00 00 00
read_12                                       f1  a8 00 00 00 00 00 00 00 00 04 00 00
write_12                                      01  aa 00 00 00 00 0a 00 00 00 01 00 00             block
write_and_verify_12                           01  ae 00 00 00 00 0b 00 00 00 01 00 00             block
verify_12                                     f1  af 00 00 00 00 00 00 00 00 01 00 00
verify_12_controller                          f0  af 00 00 00 00 00 00 00 00 01 00 00
unknown_opcode                                f5  ff 00 00 00 00 00
empty_cdb                                     f1
";

/// The PERSISTENT RESERVE OUT basic parameter list. SPC-4 §6.15.3
fn pr_out_params(key: u64, sa_key: u64, flags: u8) -> Vec<u8> {
    let mut p = key.to_be_bytes().to_vec();
    p.extend_from_slice(&sa_key.to_be_bytes());
    p.extend_from_slice(&[0, 0, 0, 0, flags, 0, 0, 0]);
    p
}

/// The data-out buffers [`CDB_SEEDS`] names.
fn cdb_data_out(name: &str) -> Vec<u8> {
    const KEY: u64 = 0x1122_3344_5566_7788;
    match name {
        "block" => vec![0xc3; 512],
        "two_blocks" => vec![0x3c; 1024],
        "zero_block" => vec![0; 512],
        // FORMAT UNIT short parameter list header. SBC-3 §5.3.2
        "format_header" => vec![0; 4],
        // Mode parameter header(6), then the caching page with WCE set. SPC-4 §7.5.5
        "mode_select_6" => {
            let mut p = vec![0, 0, 0, 0, 0x08, 0x12, 0x04];
            p.resize(24, 0);
            p
        }
        // Mode parameter header(10), then the control page. SPC-4 §7.5.8
        "mode_select_10" => {
            let mut p = vec![0, 0, 0, 0, 0, 0, 0, 0, 0x0a, 0x0a, 0x02];
            p.resize(20, 0);
            p
        }
        // One block descriptor: LBA 20, 8 blocks. SBC-3 §5.28.2
        "unmap" => {
            let mut p = vec![0, 0x16, 0, 0x10, 0, 0, 0, 0];
            p.extend_from_slice(&20u64.to_be_bytes());
            p.extend_from_slice(&8u32.to_be_bytes());
            p.extend_from_slice(&[0; 4]);
            p
        }
        "pr_register" => pr_out_params(0, KEY, 0),
        "pr_register_aptpl" => pr_out_params(0, KEY, 0x01),
        "pr_key" => pr_out_params(KEY, 0, 0),
        "pr_preempt" => pr_out_params(KEY, 0x99, 0),
        _ => panic!("no data-out named {name}"),
    }
}

fn hex_byte(s: &str) -> u8 {
    u8::from_str_radix(s, 16).unwrap_or_else(|e| panic!("{s:?}: {e}"))
}

/// Input layout of `tgt::fuzzing::cdb`: CDB length, flags, CDB, data-out.
fn cdbs(out: &mut Out) {
    let mut seen = Vec::new();
    for line in CDB_SEEDS.lines().filter(|l| !l.trim().is_empty()) {
        let mut words = line.split_whitespace();
        let name = words.next().expect("name");
        let flags = hex_byte(words.next().expect("flags"));
        let mut cdb = Vec::new();
        let mut data = Vec::new();
        for w in words {
            if w.len() == 2 {
                cdb.push(hex_byte(w));
            } else {
                data = cdb_data_out(w);
            }
        }
        let mut input = vec![u8::try_from(cdb.len()).expect("CDB length"), flags];
        input.extend_from_slice(&cdb);
        input.extend_from_slice(&data);
        out.put(name, &input);
        if let [op, b1, ..] = cdb[..] {
            seen.push((op, b1 & 0x1f));
        }
    }
    for row in TABLE {
        let covered = seen
            .iter()
            .any(|&(op, sa)| op == row.op.0 && (row.sa.is_none() || row.sa == Some(sa)));
        assert!(covered, "no seed for {}", row.name);
    }
}

// ---------------------------------------------------------------------------------------
// Management requests

fn mgmt_requests(out: &mut Out, golden: &Path) {
    let mut names: Vec<PathBuf> = std::fs::read_dir(golden)
        .expect("golden wire captures")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "bin"))
        .collect();
    names.sort();
    for p in &names {
        let data = std::fs::read(p).expect("read golden");
        let stem = p.file_stem().expect("name").to_string_lossy();
        out.put(&format!("golden_{stem}"), &data);
    }
    // Streams: several requests against one configuration, so the later ones find a target.
    let read = |n: &str| std::fs::read(golden.join(format!("{n}.bin"))).expect("read golden");
    for (name, parts) in [
        (
            "stream_target_lifecycle",
            &[
                "target_new",
                "target_update",
                "target_bind_address",
                "target_bind_name",
                "target_show_all",
                "target_unbind_bus_without_comma",
                "target_update_state",
                "target_delete_force",
            ][..],
        ),
        (
            "stream_accounts",
            &[
                "target_new",
                "account_new",
                "account_bind_outgoing",
                "account_bind_global",
                "account_show",
                "account_unbind_short_outgoing",
                "account_delete",
            ][..],
        ),
        (
            "stream_target_lu_params",
            &[
                "target_new",
                "lu_update_params",
                "lu_update_bsoflags_blocksize",
                "lu_delete",
                "target_show_tid",
            ][..],
        ),
        (
            "stream_system",
            &[
                "sys_show",
                "sys_update_debug",
                "sys_update_state",
                "sys_show_debug",
                "sys_stat",
                "lld_show",
            ][..],
        ),
        (
            "stream_sessions",
            &[
                "target_new",
                "session_stat",
                "conn_show",
                "conn_stat",
                "conn_delete_max_cid",
                "target_stat_hex_tid",
            ][..],
        ),
    ] {
        let data: Vec<u8> = parts.iter().flat_map(|p| read(p)).collect();
        out.put(name, &data);
    }
}

fn main() {
    let compat = Path::new(env!("CARGO_MANIFEST_DIR"));
    let fuzz_dir = std::env::args()
        .nth(1)
        .map_or_else(|| compat.join("fuzz"), PathBuf::from);
    let mut counts = Vec::new();
    let mut out = Out::new(&fuzz_dir, "login_text");
    login_texts(&mut out);
    counts.push(("login_text", out.count));
    let mut out = Out::new(&fuzz_dir, "pdu_stream");
    pdu_streams(&mut out);
    counts.push(("pdu_stream", out.count));
    let mut out = Out::new(&fuzz_dir, "bhs");
    bhs_headers(&mut out);
    counts.push(("bhs", out.count));
    let mut out = Out::new(&fuzz_dir, "cdb");
    cdbs(&mut out);
    counts.push(("cdb", out.count));
    let mut out = Out::new(&fuzz_dir, "mgmt_req");
    mgmt_requests(&mut out, &compat.join("golden").join("wire"));
    counts.push(("mgmt_req", out.count));
    for (target, n) in counts {
        println!(
            "{target}: {n} files in {}",
            fuzz_dir.join("corpus").join(target).display()
        );
    }
}
