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

/// Flags byte: LUN 1 (the disk), 64 KiB of expected data-in.
const DISK_IN: u8 = 0xf1;
/// LUN 1, no data-in (writes).
const DISK_OUT: u8 = 0x01;
/// LUN 0 (the controller), 64 KiB of expected data-in.
const CTRL_IN: u8 = 0xf0;
/// An absent LUN.
const ABSENT: u8 = 0xf2;
/// Descriptor-format sense.
const DESC_SENSE: u8 = 0x04;

fn cdb_input(flags: u8, cdb: &[u8], data_out: &[u8]) -> Vec<u8> {
    let mut v = vec![u8::try_from(cdb.len()).expect("CDB length"), flags];
    v.extend_from_slice(cdb);
    v.extend_from_slice(data_out);
    v
}

fn be32(v: u32) -> [u8; 4] {
    v.to_be_bytes()
}

/// A 10-byte CDB with a 4-byte LBA at 2 and a 2-byte length at 7.
fn cdb10(op: u8, b1: u8, lba: u32, len: u16) -> Vec<u8> {
    let mut c = vec![op, b1];
    c.extend_from_slice(&be32(lba));
    c.push(0);
    c.extend_from_slice(&len.to_be_bytes());
    c.push(0);
    c
}

/// A 12-byte CDB with a 4-byte LBA at 2 and a 4-byte length at 6.
fn cdb12(op: u8, b1: u8, lba: u32, len: u32) -> Vec<u8> {
    let mut c = vec![op, b1];
    c.extend_from_slice(&be32(lba));
    c.extend_from_slice(&be32(len));
    c.extend_from_slice(&[0, 0]);
    c
}

/// A 16-byte CDB with an 8-byte LBA at 2 and a 4-byte length at 10.
fn cdb16v(op: u8, b1: u8, lba: u64, len: u32) -> Vec<u8> {
    let mut c = vec![op, b1];
    c.extend_from_slice(&lba.to_be_bytes());
    c.extend_from_slice(&be32(len));
    c.extend_from_slice(&[0, 0]);
    c
}

/// The PERSISTENT RESERVE OUT basic parameter list. SPC-4 §6.15.3
fn pr_out_params(key: u64, sa_key: u64, flags: u8) -> Vec<u8> {
    let mut p = key.to_be_bytes().to_vec();
    p.extend_from_slice(&sa_key.to_be_bytes());
    p.extend_from_slice(&[0, 0, 0, 0, flags, 0, 0, 0]);
    p
}

fn cdbs(out: &mut Out) {
    let block = [0xc3u8; 512];
    let two_blocks = [0x3cu8; 1024];
    let mut put = |name: &str, flags: u8, cdb: &[u8], data: &[u8]| {
        out.put(name, &cdb_input(flags, cdb, data));
        let op = cdb.first().copied().unwrap_or(0);
        (op, cdb.get(1).copied().unwrap_or(0) & 0x1f)
    };
    let mut seen = Vec::new();
    let mut add = |v: (u8, u8)| seen.push(v);

    add(put("test_unit_ready", DISK_IN, &[0x00, 0, 0, 0, 0, 0], &[]));
    add(put(
        "test_unit_ready_controller",
        CTRL_IN,
        &[0x00, 0, 0, 0, 0, 0],
        &[],
    ));
    add(put(
        "request_sense_fixed",
        DISK_IN,
        &[0x03, 0, 0, 0, 18, 0],
        &[],
    ));
    add(put(
        "request_sense_desc",
        DISK_IN,
        &[0x03, 1, 0, 0, 0xfc, 0],
        &[],
    ));
    add(put(
        "request_sense_absent_lun",
        ABSENT,
        &[0x03, 0, 0, 0, 18, 0],
        &[],
    ));
    add(put("format_unit", DISK_OUT, &[0x04, 0, 0, 0, 0, 0], &[]));
    add(put(
        "format_unit_fmtdata",
        DISK_OUT,
        &[0x04, 0x10, 0, 0, 0, 0],
        &[0, 0, 0, 0],
    ));
    add(put("read_6", DISK_IN, &[0x08, 0, 0, 1, 1, 0], &[]));
    add(put(
        "read_6_len_0_is_256",
        DISK_IN,
        &[0x08, 0, 0, 0, 0, 0],
        &[],
    ));
    add(put(
        "read_6_past_end",
        DISK_IN,
        &[0x08, 0x1f, 0xff, 0xff, 1, 0],
        &[],
    ));
    add(put("write_6", DISK_OUT, &[0x0a, 0, 0, 2, 1, 0], &block));
    add(put(
        "inquiry_standard",
        DISK_IN,
        &[0x12, 0, 0, 0, 36, 0],
        &[],
    ));
    add(put(
        "inquiry_standard_controller",
        CTRL_IN,
        &[0x12, 0, 0, 0, 0xff, 0],
        &[],
    ));
    add(put(
        "inquiry_standard_absent_lun",
        ABSENT,
        &[0x12, 0, 0, 0, 36, 0],
        &[],
    ));
    add(put(
        "inquiry_short_expected_in",
        0x11,
        &[0x12, 0, 0, 0, 0xff, 0],
        &[],
    ));
    for page in [0x00u8, 0x80, 0x83, 0x86, 0xb0, 0xb1, 0xb2] {
        let name = format!("inquiry_vpd_{page:02x}");
        add(put(&name, DISK_IN, &[0x12, 1, page, 0, 0xff, 0], &[]));
    }
    add(put(
        "inquiry_vpd_unknown",
        DISK_IN | DESC_SENSE,
        &[0x12, 1, 0xc7, 0, 0xff, 0],
        &[],
    ));
    add(put(
        "inquiry_cmddt_obsolete",
        DISK_IN,
        &[0x12, 2, 0, 0, 0xff, 0],
        &[],
    ));

    // MODE SELECT with the caching page (8) and the control page (0x0a).
    let mut caching = vec![0x08, 0x12, 0x04];
    caching.resize(20, 0);
    let mut control = vec![0x0a, 0x0a, 0x02];
    control.resize(12, 0);
    let mut ms6 = vec![0, 0, 0, 0];
    ms6.extend_from_slice(&caching);
    let ms6_len = u8::try_from(ms6.len()).expect("fits");
    add(put(
        "mode_select_6_caching",
        DISK_OUT,
        &[0x15, 0x10, 0, 0, ms6_len, 0],
        &ms6,
    ));
    let mut ms10 = vec![0, 0, 0, 0, 0, 0, 0, 0];
    ms10.extend_from_slice(&control);
    let ms10_len = u8::try_from(ms10.len()).expect("fits");
    add(put(
        "mode_select_10_control",
        DISK_OUT,
        &[0x55, 0x10, 0, 0, 0, 0, 0, 0, ms10_len, 0],
        &ms10,
    ));
    add(put("reserve_6", DISK_IN, &[0x16, 0, 0, 0, 0, 0], &[]));
    add(put("release_6", DISK_IN, &[0x17, 0, 0, 0, 0, 0], &[]));
    add(put(
        "mode_sense_6_all_pages",
        DISK_IN,
        &[0x1a, 0, 0x3f, 0, 0xff, 0],
        &[],
    ));
    add(put(
        "mode_sense_6_caching_dbd",
        DISK_IN,
        &[0x1a, 0x08, 0x08, 0, 0xff, 0],
        &[],
    ));
    add(put(
        "mode_sense_6_changeable_control",
        DISK_IN,
        &[0x1a, 0, 0x4a, 0, 0xff, 0],
        &[],
    ));
    add(put(
        "mode_sense_6_saved_values",
        DISK_IN,
        &[0x1a, 0, 0xff, 0, 0xff, 0],
        &[],
    ));
    add(put(
        "start_stop_start",
        DISK_IN,
        &[0x1b, 0, 0, 0, 1, 0],
        &[],
    ));
    add(put(
        "start_stop_immed_stop",
        DISK_IN,
        &[0x1b, 1, 0, 0, 0, 0],
        &[],
    ));
    add(put(
        "start_stop_eject",
        DISK_IN,
        &[0x1b, 0, 0, 0, 2, 0],
        &[],
    ));
    add(put(
        "start_stop_power_condition",
        DISK_IN,
        &[0x1b, 0, 0, 0, 0x30, 0],
        &[],
    ));
    add(put(
        "send_diagnostic_selftest",
        DISK_IN,
        &[0x1d, 0x04, 0, 0, 0, 0],
        &[],
    ));
    add(put(
        "prevent_medium_removal",
        DISK_IN,
        &[0x1e, 0, 0, 0, 1, 0],
        &[],
    ));
    add(put(
        "read_capacity_10",
        DISK_IN,
        &[0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        &[],
    ));
    add(put(
        "read_capacity_10_pmi",
        DISK_IN,
        &[0x25, 0, 0, 0, 0, 0x7f, 0, 0, 1, 0],
        &[],
    ));
    add(put("read_10", DISK_IN, &cdb10(0x28, 0, 0, 8), &[]));
    add(put(
        "read_10_fua_last_block",
        DISK_IN,
        &cdb10(0x28, 0x08, 127, 1),
        &[],
    ));
    add(put(
        "read_10_past_end",
        DISK_IN | DESC_SENSE,
        &cdb10(0x28, 0, 127, 2),
        &[],
    ));
    add(put(
        "read_10_zero_blocks",
        DISK_IN,
        &cdb10(0x28, 0, 0, 0),
        &[],
    ));
    add(put(
        "write_10",
        DISK_OUT,
        &cdb10(0x2a, 0, 4, 2),
        &two_blocks,
    ));
    add(put(
        "write_10_short_data",
        DISK_OUT,
        &cdb10(0x2a, 0, 4, 2),
        &block,
    ));
    add(put(
        "write_and_verify_10",
        DISK_OUT,
        &cdb10(0x2e, 0, 9, 1),
        &block,
    ));
    add(put("verify_10", DISK_IN, &cdb10(0x2f, 0, 0, 16), &[]));
    add(put(
        "verify_10_bytchk",
        DISK_OUT,
        &cdb10(0x2f, 0x02, 3, 1),
        &block,
    ));
    add(put(
        "verify_10_controller",
        CTRL_IN,
        &cdb10(0x2f, 0, 0, 1),
        &[],
    ));
    add(put("pre_fetch_10", DISK_IN, &cdb10(0x34, 0, 0, 32), &[]));
    add(put(
        "synchronize_cache_10",
        DISK_IN,
        &cdb10(0x35, 0, 0, 0),
        &[],
    ));
    add(put(
        "synchronize_cache_10_immed",
        DISK_IN,
        &cdb10(0x35, 0x02, 8, 8),
        &[],
    ));
    add(put(
        "write_same_10",
        DISK_OUT,
        &cdb10(0x41, 0, 16, 4),
        &block,
    ));
    add(put(
        "write_same_10_unmap",
        DISK_OUT,
        &cdb10(0x41, 0x08, 16, 4),
        &[0; 512],
    ));
    let mut unmap = vec![0, 0x16, 0, 0x10, 0, 0, 0, 0];
    unmap.extend_from_slice(&20u64.to_be_bytes());
    unmap.extend_from_slice(&be32(8));
    unmap.extend_from_slice(&[0, 0, 0, 0]);
    add(put(
        "unmap",
        DISK_OUT,
        &[0x42, 0, 0, 0, 0, 0, 0, 0, 24, 0],
        &unmap,
    ));
    add(put(
        "reserve_10",
        DISK_IN,
        &[0x56, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        &[],
    ));
    add(put(
        "release_10",
        DISK_IN,
        &[0x57, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        &[],
    ));
    add(put(
        "mode_sense_10_all_pages",
        DISK_IN,
        &[0x5a, 0, 0x3f, 0, 0, 0, 0, 0x10, 0, 0],
        &[],
    ));
    add(put(
        "mode_sense_10_llbaa_caching",
        DISK_IN,
        &[0x5a, 0x10, 0x08, 0, 0, 0, 0, 0, 0xff, 0],
        &[],
    ));
    for (sa, name) in [
        (0u8, "read_keys"),
        (1, "read_reservation"),
        (2, "report_capabilities"),
        (3, "read_full_status"),
    ] {
        let name = format!("pr_in_{name}");
        add(put(
            &name,
            DISK_IN,
            &[0x5e, sa, 0, 0, 0, 0, 0, 0x10, 0, 0],
            &[],
        ));
    }
    let key = 0x1122_3344_5566_7788;
    for (sa, name, scope_type, params) in [
        (0u8, "register", 0u8, pr_out_params(0, key, 0)),
        (0, "register_aptpl", 0, pr_out_params(0, key, 0x01)),
        (1, "reserve_write_exclusive", 0x01, pr_out_params(key, 0, 0)),
        (
            2,
            "release_exclusive_access",
            0x03,
            pr_out_params(key, 0, 0),
        ),
        (3, "clear", 0, pr_out_params(key, 0, 0)),
        (4, "preempt", 0x05, pr_out_params(key, 0x99, 0)),
        (5, "preempt_and_abort", 0x06, pr_out_params(key, 0x99, 0)),
        (6, "register_and_ignore", 0, pr_out_params(0, key, 0)),
        (7, "register_and_move", 0x01, pr_out_params(key, 0x99, 0)),
    ] {
        let len = u8::try_from(params.len()).expect("fits");
        let name = format!("pr_out_{name}");
        add(put(
            &name,
            DISK_OUT,
            &[0x5f, sa, scope_type, 0, 0, 0, 0, 0, len, 0],
            &params,
        ));
    }
    add(put("read_16", DISK_IN, &cdb16v(0x88, 0, 0, 8), &[]));
    add(put(
        "read_16_huge_lba",
        DISK_IN,
        &cdb16v(0x88, 0, u64::MAX, 1),
        &[],
    ));
    let mut caw = cdb16v(0x89, 0, 5, 0);
    caw[13] = 1;
    add(put("compare_and_write", DISK_OUT, &caw, &two_blocks));
    add(put("write_16", DISK_OUT, &cdb16v(0x8a, 0, 6, 1), &block));
    add(put("orwrite_16", DISK_OUT, &cdb16v(0x8b, 0, 7, 1), &block));
    add(put(
        "write_and_verify_16",
        DISK_OUT,
        &cdb16v(0x8e, 0, 8, 1),
        &block,
    ));
    add(put("verify_16", DISK_IN, &cdb16v(0x8f, 0, 0, 4), &[]));
    add(put(
        "verify_16_controller",
        CTRL_IN,
        &cdb16v(0x8f, 0, 0, 4),
        &[],
    ));
    add(put("pre_fetch_16", DISK_IN, &cdb16v(0x90, 0, 0, 4), &[]));
    add(put(
        "synchronize_cache_16",
        DISK_IN,
        &cdb16v(0x91, 0, 0, 0),
        &[],
    ));
    add(put(
        "write_same_16",
        DISK_OUT,
        &cdb16v(0x93, 0, 32, 8),
        &block,
    ));
    add(put(
        "write_same_16_unmap_ndob",
        DISK_OUT,
        &cdb16v(0x93, 0x09, 32, 8),
        &[],
    ));
    add(put(
        "read_capacity_16",
        DISK_IN,
        &cdb16v(0x9e, 0x10, 0, 32),
        &[],
    ));
    add(put(
        "get_lba_status",
        DISK_IN,
        &cdb16v(0x9e, 0x12, 0, 24),
        &[],
    ));
    add(put("report_luns", CTRL_IN, &cdb12(0xa0, 0, 0, 0x100), &[]));
    add(put(
        "report_luns_disk_select_2",
        DISK_IN,
        &[0xa0, 0, 2, 0, 0, 0, 0, 0, 1, 0, 0, 0],
        &[],
    ));
    add(put(
        "report_supported_opcodes_all",
        DISK_IN,
        &[0xa3, 0x0c, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0],
        &[],
    ));
    add(put(
        "report_supported_opcodes_all_rctd_controller",
        CTRL_IN,
        &[0xa3, 0x0c, 0x80, 0, 0, 0, 0, 0, 0x10, 0, 0, 0],
        &[],
    ));
    add(put(
        "report_supported_opcodes_one",
        DISK_IN,
        &[0xa3, 0x0c, 1, 0x28, 0, 0, 0, 0, 1, 0, 0, 0],
        &[],
    ));
    add(put(
        "report_supported_opcodes_one_with_sa",
        DISK_IN,
        &[0xa3, 0x0c, 2, 0x9e, 0, 0x10, 0, 0, 1, 0, 0, 0],
        &[],
    ));
    add(put("read_12", DISK_IN, &cdb12(0xa8, 0, 0, 4), &[]));
    add(put("write_12", DISK_OUT, &cdb12(0xaa, 0, 10, 1), &block));
    add(put(
        "write_and_verify_12",
        DISK_OUT,
        &cdb12(0xae, 0, 11, 1),
        &block,
    ));
    add(put("verify_12", DISK_IN, &cdb12(0xaf, 0, 0, 1), &[]));
    add(put(
        "verify_12_controller",
        CTRL_IN,
        &cdb12(0xaf, 0, 0, 1),
        &[],
    ));
    add(put(
        "unknown_opcode",
        DISK_IN | DESC_SENSE,
        &[0xff, 0, 0, 0, 0, 0],
        &[],
    ));
    add(put("empty_cdb", DISK_IN, &[], &[]));

    for row in TABLE {
        let sa = row.sa.unwrap_or(0);
        let covered = seen
            .iter()
            .any(|&(op, s)| op == row.op.0 && (row.sa.is_none() || s == sa));
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
