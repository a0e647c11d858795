//! Framing, sans IO: a byte stream into PDUs ([`PduReader`]) and a PDU into the pieces of
//! one vectored write ([`TxFrame`]). RFC 7143 §11.1 (lengths, padding), §11.2.3 (digests).
//!
//! On the wire a PDU is BHS (48) · AHS (TotalAHSLength × 4) · header digest (4, if
//! negotiated) · data segment (DataSegmentLength) · padding to 4 bytes · data digest (4, if
//! negotiated and there is data). The reader checks both lengths against their limits as
//! soon as the BHS is complete, before it allocates anything for them; it verifies the
//! digests and strips the padding.
//!
//! The reader never touches a socket. It either copies from the caller's receive buffer
//! ([`PduReader::feed`]) or lends out the exact region it wants filled next
//! ([`PduReader::buf_mut`] + [`PduReader::commit`]), so a large data segment can be read
//! from the socket straight into its final buffer, which the caller may supply
//! ([`PduReader::provide_data_buffer`]) once the header is known.

use std::io::IoSlice;

use super::digest::{self, Digests, DIGEST_LEN};
use super::{Bhs, PduError, BHS_LEN};

/// A received PDU: header, AHS and data segment (padding and digests removed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pdu {
    /// The Basic Header Segment.
    pub bhs: Bhs,
    /// The additional header segments (empty for everything but some SCSI Commands).
    pub ahs: Vec<u8>,
    /// The data segment, `bhs.data_segment_len()` bytes.
    pub data: Vec<u8>,
}

/// Where the reader is within the current PDU.
#[derive(Debug)]
enum State {
    /// Collecting the 48-byte BHS.
    Bhs { buf: [u8; BHS_LEN], have: usize },
    /// Collecting TotalAHSLength bytes of AHS.
    Ahs { bhs: Bhs, ahs: Vec<u8>, have: usize },
    /// Collecting the header digest.
    HeaderDigest {
        bhs: Bhs,
        ahs: Vec<u8>,
        buf: [u8; DIGEST_LEN],
        have: usize,
    },
    /// Collecting the data segment and its padding. `data` is allocated (or supplied) at the
    /// first byte, so a caller can hand in its own buffer first.
    Data {
        bhs: Bhs,
        ahs: Vec<u8>,
        data: Vec<u8>,
        have: usize,
    },
    /// Collecting the data digest.
    DataDigest {
        bhs: Bhs,
        ahs: Vec<u8>,
        data: Vec<u8>,
        buf: [u8; DIGEST_LEN],
        have: usize,
    },
    /// A whole PDU (or the news that it was dropped for its data digest) waits for
    /// [`PduReader::take_pdu`].
    Ready(Result<Pdu, PduError>),
    /// The stream is out of step; only closing the connection helps.
    Failed(Option<Bhs>),
}

impl State {
    fn start() -> Self {
        Self::Bhs {
            buf: [0; BHS_LEN],
            have: 0,
        }
    }
}

/// Reassembles PDUs from a byte stream.
///
/// Errors from [`feed`](Self::feed) and [`commit`](Self::commit) are fatal
/// ([`PduError::is_fatal`]): the reader stays failed (every later call returns
/// [`PduError::Failed`]) and the connection must be closed, after a Reject if
/// [`PduError::reject_reason`] gives one. A data digest error is not: the stream is still in
/// step, so [`take_pdu`](Self::take_pdu) reports it in place of the dropped PDU
/// ([`PduError::DataDigest`], to be answered with a Reject) and the reader goes on.
#[derive(Debug)]
pub struct PduReader {
    max_recv_dsl: u32,
    digests: Digests,
    state: State,
}

impl PduReader {
    /// A reader for a new connection: no digests, DataSegmentLength at most `max_recv_dsl`
    /// (the MaxRecvDataSegmentLength this side declared; 8192 until negotiated).
    pub fn new(max_recv_dsl: u32) -> Self {
        Self {
            max_recv_dsl,
            digests: Digests::default(),
            state: State::start(),
        }
    }

    /// Changes the DataSegmentLength limit; it applies to every BHS completed from now on.
    pub fn set_max_recv_dsl(&mut self, max_recv_dsl: u32) {
        self.max_recv_dsl = max_recv_dsl;
    }

    /// Turns the digests on or off (at the start of the full feature phase). They apply from
    /// the next PDU whose BHS is not complete yet.
    pub fn set_digests(&mut self, header: bool, data: bool) {
        self.digests = Digests { header, data };
    }

    /// Bytes needed to complete the current piece (BHS, AHS, digest or data segment); 0 when
    /// a PDU is ready to take or the reader has failed.
    pub fn wanted(&self) -> usize {
        match &self.state {
            State::Bhs { have, .. } => BHS_LEN - have,
            State::Ahs { bhs, have, .. } => bhs.total_ahs_len() - have,
            State::HeaderDigest { have, .. } | State::DataDigest { have, .. } => DIGEST_LEN - have,
            State::Data { bhs, have, .. } => bhs.padded_data_len() - have,
            State::Ready(_) | State::Failed(_) => 0,
        }
    }

    /// The header of the PDU being received, once it is complete and verified (the data
    /// segment may still be missing): the caller learns `data_segment_len()` here before
    /// any data byte arrives. After a fatal length error it is the header refused, for the
    /// Reject's data segment.
    pub fn header(&self) -> Option<&Bhs> {
        match &self.state {
            State::Data { bhs, .. } | State::DataDigest { bhs, .. } => Some(bhs),
            State::Ready(Ok(pdu)) => Some(&pdu.bhs),
            State::Ready(Err(PduError::DataDigest { bhs, .. })) => Some(bhs),
            State::Failed(bhs) => bhs.as_ref(),
            _ => None,
        }
    }

    /// Whether the header is complete and no data byte has been received yet: the moment to
    /// [`provide_data_buffer`](Self::provide_data_buffer).
    pub fn at_data_start(&self) -> bool {
        matches!(self.state, State::Data { have: 0, .. })
    }

    /// Supplies the buffer the data segment is received into (from a pool, or the command's
    /// own). It is cleared and sized to the padded length. Refused (given back) unless
    /// [`at_data_start`](Self::at_data_start).
    pub fn provide_data_buffer(&mut self, mut buf: Vec<u8>) -> Result<(), Vec<u8>> {
        match &mut self.state {
            State::Data {
                bhs, data, have: 0, ..
            } => {
                buf.clear();
                buf.resize(bhs.padded_data_len(), 0);
                *data = buf;
                Ok(())
            }
            _ => Err(buf),
        }
    }

    /// The region to fill next: exactly [`wanted`](Self::wanted) bytes. Read into it, then
    /// [`commit`](Self::commit) what was read.
    pub fn buf_mut(&mut self) -> &mut [u8] {
        match &mut self.state {
            State::Bhs { buf, have } => &mut buf[*have..],
            State::Ahs { ahs, have, .. } => &mut ahs[*have..],
            State::HeaderDigest { buf, have, .. } | State::DataDigest { buf, have, .. } => {
                &mut buf[*have..]
            }
            State::Data {
                bhs, data, have, ..
            } => {
                let len = bhs.padded_data_len();
                if data.len() != len {
                    // Allocated only now: the length was bounded when the BHS completed.
                    data.resize(len, 0);
                }
                &mut data[*have..]
            }
            State::Ready(_) | State::Failed(_) => &mut [],
        }
    }

    /// Accounts for `n` bytes written into [`buf_mut`](Self::buf_mut) (at most
    /// [`wanted`](Self::wanted); more is a caller bug and is ignored).
    pub fn commit(&mut self, n: usize) -> Result<(), PduError> {
        let wanted = self.wanted();
        debug_assert!(n <= wanted, "committed {n} bytes of {wanted} wanted");
        let n = n.min(wanted);
        match &mut self.state {
            State::Failed(_) => return Err(PduError::Failed),
            State::Bhs { have, .. }
            | State::Ahs { have, .. }
            | State::HeaderDigest { have, .. }
            | State::Data { have, .. }
            | State::DataDigest { have, .. } => *have += n,
            State::Ready(_) => {}
        }
        if n > 0 && self.wanted() == 0 {
            self.advance()?;
        }
        Ok(())
    }

    /// Copies bytes from the caller's receive buffer and returns how many were used. It stops
    /// early when a PDU is ready ([`take_pdu`](Self::take_pdu) it, then feed the rest) and
    /// when a header with a data segment has just completed (so the caller may
    /// [`provide_data_buffer`](Self::provide_data_buffer)); feeding again simply continues.
    pub fn feed(&mut self, input: &[u8]) -> Result<usize, PduError> {
        if let State::Failed(_) = self.state {
            return Err(PduError::Failed);
        }
        let mut used = 0;
        while used < input.len() && self.wanted() > 0 {
            let n = self.wanted().min(input.len() - used);
            self.buf_mut()[..n].copy_from_slice(&input[used..used + n]);
            used += n;
            self.commit(n)?;
            if self.at_data_start() {
                break;
            }
        }
        Ok(used)
    }

    /// The completed PDU, if any, or the data digest error that dropped it; the reader then
    /// starts on the next one.
    pub fn take_pdu(&mut self) -> Option<Result<Pdu, PduError>> {
        if !matches!(self.state, State::Ready(_)) {
            return None;
        }
        match std::mem::replace(&mut self.state, State::start()) {
            State::Ready(pdu) => Some(pdu),
            _ => None,
        }
    }

    /// Moves past a completed piece.
    fn advance(&mut self) -> Result<(), PduError> {
        let state = std::mem::replace(&mut self.state, State::Failed(None));
        let (next, result) = self.next_state(state);
        self.state = next;
        result
    }

    fn next_state(&self, state: State) -> (State, Result<(), PduError>) {
        match state {
            State::Bhs { buf, .. } => {
                let bhs = Bhs::from_bytes(buf);
                if let Err(e) = bhs.check_lengths(self.max_recv_dsl) {
                    return (State::Failed(Some(bhs)), Err(e));
                }
                let ahs_len = bhs.total_ahs_len();
                if ahs_len > 0 {
                    // At most MAX_AHS_LEN (256) bytes, checked just above.
                    let ahs = vec![0; ahs_len];
                    (State::Ahs { bhs, ahs, have: 0 }, Ok(()))
                } else {
                    (self.after_ahs(bhs, Vec::new()), Ok(()))
                }
            }
            State::Ahs { bhs, ahs, .. } => (self.after_ahs(bhs, ahs), Ok(())),
            State::HeaderDigest { bhs, ahs, buf, .. } => {
                let received = digest::from_wire(buf);
                let computed = digest::header_digest(bhs.as_bytes(), &ahs);
                if received != computed {
                    return (
                        State::Failed(None),
                        Err(PduError::HeaderDigest { received, computed }),
                    );
                }
                (Self::data_state(bhs, ahs), Ok(()))
            }
            State::Data { bhs, ahs, data, .. } => {
                if self.digests.data {
                    let buf = [0; DIGEST_LEN];
                    (
                        State::DataDigest {
                            bhs,
                            ahs,
                            data,
                            buf,
                            have: 0,
                        },
                        Ok(()),
                    )
                } else {
                    (ready(bhs, ahs, data), Ok(()))
                }
            }
            State::DataDigest {
                bhs,
                ahs,
                data,
                buf,
                ..
            } => {
                let received = digest::from_wire(buf);
                // `data` is the padded segment: the digest covers the padding too.
                let computed = digest::data_digest(&data, 0);
                if received != computed {
                    let err = PduError::DataDigest {
                        bhs,
                        received,
                        computed,
                    };
                    return (State::Ready(Err(err)), Ok(()));
                }
                (ready(bhs, ahs, data), Ok(()))
            }
            s @ (State::Ready(_) | State::Failed(_)) => (s, Ok(())),
        }
    }

    fn after_ahs(&self, bhs: Bhs, ahs: Vec<u8>) -> State {
        if self.digests.header {
            State::HeaderDigest {
                bhs,
                ahs,
                buf: [0; DIGEST_LEN],
                have: 0,
            }
        } else {
            Self::data_state(bhs, ahs)
        }
    }

    fn data_state(bhs: Bhs, ahs: Vec<u8>) -> State {
        if bhs.data_segment_len() == 0 {
            // No data segment, so no padding and no data digest either.
            State::Ready(Ok(Pdu {
                bhs,
                ahs,
                data: Vec::new(),
            }))
        } else {
            State::Data {
                bhs,
                ahs,
                data: Vec::new(),
                have: 0,
            }
        }
    }
}

/// Strips the padding and hands out the PDU.
fn ready(bhs: Bhs, ahs: Vec<u8>, mut data: Vec<u8>) -> State {
    data.truncate(usize::try_from(bhs.data_segment_len()).unwrap_or(usize::MAX));
    State::Ready(Ok(Pdu { bhs, ahs, data }))
}

/// One PDU ready for a vectored write: header (+ header digest), the data segment, padding
/// (+ data digest). The data is owned (a `Vec`, a pool buffer) or borrowed; nothing is
/// concatenated. Target PDUs carry no AHS.
#[derive(Debug)]
pub struct TxFrame<D> {
    head: [u8; BHS_LEN + DIGEST_LEN],
    head_len: usize,
    data: D,
    tail: [u8; 3 + DIGEST_LEN],
    tail_len: usize,
}

impl<D: AsRef<[u8]>> TxFrame<D> {
    /// Frames `bhs` with `data`, computing the digests that are in force. The header's
    /// DataSegmentLength must equal `data`'s length and its TotalAHSLength must be 0.
    pub fn new(bhs: &[u8; BHS_LEN], data: D, digests: Digests) -> Result<Self, PduError> {
        let hdr = Bhs::from_bytes(*bhs);
        let len = data.as_ref().len();
        if usize::try_from(hdr.data_segment_len()).ok() != Some(len) {
            return Err(PduError::LengthMismatch {
                dsl: hdr.data_segment_len(),
                len,
            });
        }
        if hdr.total_ahs_len() != 0 {
            return Err(PduError::InvalidField {
                opcode: hdr.opcode(),
                field: "TotalAHSLength",
            });
        }
        let mut head = [0u8; BHS_LEN + DIGEST_LEN];
        head[..BHS_LEN].copy_from_slice(bhs);
        let mut head_len = BHS_LEN;
        if digests.header {
            head[BHS_LEN..].copy_from_slice(&digest::to_wire(digest::header_digest(bhs, &[])));
            head_len += DIGEST_LEN;
        }
        let pad = hdr.padded_data_len() - len;
        let mut tail = [0u8; 3 + DIGEST_LEN];
        let mut tail_len = pad;
        if digests.data && len > 0 {
            let crc = digest::data_digest(data.as_ref(), pad);
            tail[pad..pad + DIGEST_LEN].copy_from_slice(&digest::to_wire(crc));
            tail_len += DIGEST_LEN;
        }
        Ok(Self {
            head,
            head_len,
            data,
            tail,
            tail_len,
        })
    }

    /// The BHS and, if negotiated, its digest.
    pub fn head(&self) -> &[u8] {
        &self.head[..self.head_len]
    }

    /// The data segment.
    pub fn data(&self) -> &[u8] {
        self.data.as_ref()
    }

    /// Padding and, if negotiated, the data digest.
    pub fn tail(&self) -> &[u8] {
        &self.tail[..self.tail_len]
    }

    /// Bytes on the wire.
    pub fn len(&self) -> usize {
        self.head_len + self.data().len() + self.tail_len
    }

    /// Never true: a frame has at least its 48-byte header.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The three pieces in order (some may be empty).
    pub fn pieces(&self) -> [&[u8]; 3] {
        [self.head(), self.data(), self.tail()]
    }

    /// What is left after `written` bytes went out (a short `writev`): the same three pieces,
    /// cut; all empty once `written >= len()`.
    pub fn remaining(&self, written: usize) -> [&[u8]; 3] {
        let mut skip = written;
        self.pieces().map(|p| {
            let cut = skip.min(p.len());
            skip -= cut;
            &p[cut..]
        })
    }

    /// [`remaining`](Self::remaining) as `IoSlice`s for `writev`/`sendmsg`.
    pub fn io_slices(&self, written: usize) -> [IoSlice<'_>; 3] {
        self.remaining(written).map(IoSlice::new)
    }

    /// Gives the data buffer back (to its pool).
    pub fn into_data(self) -> D {
        self.data
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fuzzing::Rng;
    use crate::iscsi::pdu::{Opcode, RejectReason};

    /// A Text Request header with the given DSL (3 bytes) and AHS words, written by hand.
    fn text_hdr(dsl: [u8; 3], ahs_words: u8, itt: u8) -> [u8; 48] {
        let mut b = [0u8; 48];
        b[0] = 0x44;
        b[1] = 0x80;
        b[4] = ahs_words;
        b[5..8].copy_from_slice(&dsl);
        b[19] = itt;
        b[20..24].copy_from_slice(&[0xff; 4]);
        b
    }

    /// Two PDUs back to back: 5 data bytes (+3 pad), then an empty one.
    fn two_pdus() -> Vec<u8> {
        let mut s = text_hdr([0, 0, 5], 0, 1).to_vec();
        s.extend_from_slice(b"A=B\0\0");
        s.extend_from_slice(&[0, 0, 0]);
        s.extend_from_slice(&text_hdr([0, 0, 0], 0, 2));
        s
    }

    fn feed_in_chunks(
        r: &mut PduReader,
        stream: &[u8],
        mut size: impl FnMut() -> usize,
    ) -> Vec<Pdu> {
        let mut out = Vec::new();
        let mut pos = 0;
        while pos < stream.len() {
            let end = (pos + size().max(1)).min(stream.len());
            let mut chunk = &stream[pos..end];
            while !chunk.is_empty() {
                let n = r.feed(chunk).unwrap();
                chunk = &chunk[n..];
                if let Some(p) = r.take_pdu() {
                    out.push(p.unwrap());
                }
            }
            pos = end;
        }
        if let Some(p) = r.take_pdu() {
            out.push(p.unwrap());
        }
        out
    }

    fn check_two(pdus: &[Pdu]) {
        assert_eq!(pdus.len(), 2);
        assert_eq!(pdus[0].bhs.itt().0, 1);
        assert_eq!(pdus[0].data, b"A=B\0\0");
        assert!(pdus[0].ahs.is_empty());
        assert_eq!(pdus[1].bhs.itt().0, 2);
        assert!(pdus[1].data.is_empty());
    }

    #[test]
    fn byte_by_byte() {
        let mut r = PduReader::new(8192);
        check_two(&feed_in_chunks(&mut r, &two_pdus(), || 1));
    }

    #[test]
    fn random_chunk_sizes() {
        let stream: Vec<u8> = two_pdus().repeat(20);
        let mut rng = Rng(0x1234_5678);
        for _ in 0..50 {
            let mut r = PduReader::new(8192);
            let pdus = feed_in_chunks(&mut r, &stream, || rng.below(70));
            assert_eq!(pdus.len(), 40);
            for pair in pdus.chunks(2) {
                check_two(pair);
            }
        }
    }

    #[test]
    fn wanted_walks_through_the_pieces() {
        let mut r = PduReader::new(8192);
        r.set_digests(true, true);
        assert_eq!(r.wanted(), 48);
        let hdr = text_hdr([0, 0, 5], 1, 1);
        assert_eq!(r.feed(&hdr), Ok(48));
        assert_eq!(r.wanted(), 4); // AHS
        assert!(r.header().is_none());
        r.buf_mut().copy_from_slice(&[0, 0, 0, 0]);
        r.commit(4).unwrap();
        assert_eq!(r.wanted(), 4); // header digest
        let hd = digest::to_wire(digest::header_digest(&hdr, &[0; 4]));
        assert_eq!(r.feed(&hd), Ok(4));
        assert!(r.at_data_start());
        assert_eq!(r.header().map(Bhs::data_segment_len), Some(5));
        assert_eq!(r.wanted(), 8); // 5 + 3 padding
        assert_eq!(r.feed(b"hello\0\0\0"), Ok(8));
        assert_eq!(r.wanted(), 4); // data digest
        let dd = digest::to_wire(digest::data_digest(b"hello", 3));
        assert_eq!(r.feed(&dd), Ok(4));
        assert_eq!(r.wanted(), 0);
        let pdu = r.take_pdu().unwrap().unwrap();
        assert_eq!(pdu.ahs, [0; 4]);
        assert_eq!(pdu.data, b"hello");
        assert_eq!(r.wanted(), 48);
    }

    #[test]
    fn digests_verified_and_corruption_rejected() {
        let build = |corrupt_header: bool, corrupt_data: bool| {
            let hdr = text_hdr([0, 0, 6], 0, 7);
            let mut s = hdr.to_vec();
            let mut hd = digest::to_wire(digest::header_digest(&hdr, &[]));
            if corrupt_header {
                hd[0] ^= 1;
            }
            s.extend_from_slice(&hd);
            s.extend_from_slice(b"X=Y\0Z\0\0\0");
            s.truncate(48 + 4 + 8);
            let mut dd = digest::to_wire(digest::data_digest(b"X=Y\0Z\0", 2));
            if corrupt_data {
                dd[3] ^= 0x80;
            }
            s.extend_from_slice(&dd);
            s
        };
        let mut r = PduReader::new(8192);
        r.set_digests(true, true);
        let good = build(false, false);
        assert_eq!(r.feed(&good[..52]), Ok(52));
        assert_eq!(r.feed(&good[52..]), Ok(12));
        assert_eq!(r.take_pdu().unwrap().unwrap().data, b"X=Y\0Z\0");

        // A bad data digest drops that PDU; the next one still frames.
        let mut stream = build(false, true);
        stream.extend(build(false, false));
        let mut r = PduReader::new(8192);
        r.set_digests(true, true);
        let mut pos = 0;
        let err = loop {
            pos += r.feed(&stream[pos..]).unwrap();
            if let Some(p) = r.take_pdu() {
                break p.unwrap_err();
            }
        };
        assert_eq!(pos, 64);
        match &err {
            PduError::DataDigest { bhs, .. } => assert_eq!(bhs.itt().0, 7),
            e => panic!("{e:?}"),
        }
        assert_eq!(err.reject_reason(), Some(RejectReason(0x02)));
        assert!(!err.is_fatal());
        let next = loop {
            pos += r.feed(&stream[pos..]).unwrap();
            if let Some(p) = r.take_pdu() {
                break p.unwrap();
            }
        };
        assert_eq!((pos, next.data.as_slice()), (128, &b"X=Y\0Z\0"[..]));

        // A bad header digest is fatal: nothing after it can be trusted.
        let mut r = PduReader::new(8192);
        r.set_digests(true, false);
        let bad = build(true, false);
        let err = r.feed(&bad).unwrap_err();
        assert!(matches!(err, PduError::HeaderDigest { .. }));
        assert!(err.is_fatal());
        assert_eq!(err.reject_reason(), None);
        assert_eq!(r.feed(&bad), Err(PduError::Failed));
        assert_eq!(r.wanted(), 0);
    }

    #[test]
    fn lengths_are_refused_before_allocation() {
        // DSL 8193 with a limit of 8192: refused at the 48th byte.
        let mut r = PduReader::new(8192);
        let hdr = text_hdr([0, 0x20, 0x01], 0, 1);
        let err = r.feed(&hdr).unwrap_err();
        assert_eq!(
            err,
            PduError::SegmentTooLong {
                dsl: 8193,
                max: 8192
            }
        );
        assert_eq!(r.header().map(|b| *b.as_bytes()), Some(hdr));
        assert_eq!(r.feed(&[0]), Err(PduError::Failed));
        assert_eq!(r.commit(0), Err(PduError::Failed));

        // The largest DSL (16 MiB - 1) with a small limit.
        let mut r = PduReader::new(8192);
        assert!(matches!(
            r.feed(&text_hdr([0xff, 0xff, 0xff], 0, 1)),
            Err(PduError::SegmentTooLong { .. })
        ));

        // TotalAHSLength 255 words.
        let mut r = PduReader::new(8192);
        assert_eq!(
            r.feed(&text_hdr([0, 0, 0], 255, 1)),
            Err(PduError::AhsTooLong {
                len: 1020,
                max: 256
            })
        );

        // Raising the limit lets the same header through.
        let mut r = PduReader::new(8192);
        r.set_max_recv_dsl(8193);
        assert_eq!(r.feed(&hdr), Ok(48));
        assert_eq!(r.wanted(), 8196);
    }

    #[test]
    fn data_can_land_in_a_caller_buffer() {
        let mut r = PduReader::new(65536);
        let hdr = text_hdr([0, 0, 6], 0, 3);
        assert_eq!(r.feed(&hdr), Ok(48));
        assert!(r.at_data_start());
        let pool = Vec::with_capacity(4096);
        let cap = pool.capacity();
        r.provide_data_buffer(pool).unwrap();
        // Direct reads into the region the reader lends out.
        let region = r.buf_mut();
        assert_eq!(region.len(), 8);
        region[..3].copy_from_slice(b"K=V");
        r.commit(3).unwrap();
        assert!(!r.at_data_start());
        assert!(r.provide_data_buffer(Vec::new()).is_err());
        r.buf_mut()[..5].copy_from_slice(b"\0a\0\0\0");
        r.commit(5).unwrap();
        let pdu = r.take_pdu().unwrap().unwrap();
        assert_eq!(pdu.data, b"K=V\0a\0");
        assert_eq!(pdu.data.capacity(), cap);
        // Not at a data start: the buffer comes back.
        assert_eq!(r.provide_data_buffer(vec![1]), Err(vec![1]));
    }

    #[test]
    fn feed_pauses_when_the_header_completes() {
        let stream = two_pdus();
        let mut r = PduReader::new(8192);
        assert_eq!(r.feed(&stream), Ok(48));
        assert!(r.at_data_start());
        assert_eq!(r.feed(&stream[48..]), Ok(8));
        assert!(r.take_pdu().is_some());
        assert_eq!(r.feed(&stream[56..]), Ok(48));
        assert!(r.take_pdu().is_some());
        assert!(r.take_pdu().is_none());
    }

    #[test]
    fn digests_take_effect_at_the_next_pdu() {
        let mut r = PduReader::new(8192);
        let hdr = text_hdr([0, 0, 0], 0, 1);
        assert_eq!(r.feed(&hdr[..10]), Ok(10));
        r.set_digests(true, false);
        // This PDU's BHS completes now, so it already expects the digest.
        assert_eq!(r.feed(&hdr[10..]), Ok(38));
        assert_eq!(r.wanted(), 4);
    }

    #[test]
    fn tx_frame_pieces() {
        let mut hdr = [0u8; 48];
        hdr[0] = 0x24;
        hdr[7] = 5;
        let f = TxFrame::new(&hdr, b"abcde".to_vec(), Digests::default()).unwrap();
        assert_eq!(f.head(), &hdr[..]);
        assert_eq!(f.data(), b"abcde");
        assert_eq!(f.tail(), &[0, 0, 0]);
        assert_eq!(f.len(), 56);
        let [a, b, c] = f.remaining(50);
        assert_eq!((a, b, c), (&[][..], &b"cde"[..], &[0u8, 0, 0][..]));
        assert!(f.remaining(56).iter().all(|p| p.is_empty()));
        assert!(f.remaining(1000).iter().all(|p| p.is_empty()));
        assert_eq!(f.io_slices(0).iter().map(|s| s.len()).sum::<usize>(), 56);
        assert_eq!(f.into_data(), b"abcde");

        // With digests: 52-byte head, pad + 4-byte data digest.
        let f = TxFrame::new(
            &hdr,
            &b"abcde"[..],
            Digests {
                header: true,
                data: true,
            },
        )
        .unwrap();
        assert_eq!(f.head().len(), 52);
        assert_eq!(
            &f.head()[48..],
            &digest::to_wire(digest::header_digest(&hdr, &[]))
        );
        assert_eq!(f.tail().len(), 7);
        assert_eq!(&f.tail()[..3], &[0, 0, 0]);
        assert_eq!(
            &f.tail()[3..],
            &digest::to_wire(digest::data_digest(b"abcde", 3))
        );

        // No data: no padding and no data digest.
        hdr[7] = 0;
        let f = TxFrame::new(
            &hdr,
            [0u8; 0],
            Digests {
                header: false,
                data: true,
            },
        )
        .unwrap();
        assert_eq!((f.len(), f.tail().len()), (48, 0));
    }

    #[test]
    fn tx_frame_refuses_inconsistent_headers() {
        let mut hdr = [0u8; 48];
        hdr[0] = 0x21;
        hdr[7] = 4;
        assert_eq!(
            TxFrame::new(&hdr, &b"abc"[..], Digests::default()).unwrap_err(),
            PduError::LengthMismatch { dsl: 4, len: 3 }
        );
        hdr[7] = 0;
        hdr[4] = 1;
        assert_eq!(
            TxFrame::new(&hdr, &b""[..], Digests::default()).unwrap_err(),
            PduError::InvalidField {
                opcode: Opcode::SCSI_RSP,
                field: "TotalAHSLength"
            }
        );
    }

    #[test]
    fn what_the_writer_sends_the_reader_reads() {
        let mut rng = Rng(99);
        for digests in [
            Digests::default(),
            Digests {
                header: true,
                data: false,
            },
            Digests {
                header: true,
                data: true,
            },
        ] {
            let mut wire = Vec::new();
            let mut sent = Vec::new();
            for i in 0..30u8 {
                let len = rng.below(40);
                let data: Vec<u8> = (0..len)
                    .map(|j| u8::try_from(j % 251).unwrap() ^ i)
                    .collect();
                let dsl = u32::try_from(len).unwrap().to_be_bytes();
                let hdr = text_hdr([dsl[1], dsl[2], dsl[3]], 0, i);
                let f = TxFrame::new(&hdr, data.clone(), digests).unwrap();
                for p in f.pieces() {
                    wire.extend_from_slice(p);
                }
                sent.push((hdr, data));
            }
            let mut r = PduReader::new(8192);
            r.set_digests(digests.header, digests.data);
            let got = feed_in_chunks(&mut r, &wire, || rng.below(9));
            assert_eq!(got.len(), sent.len());
            for (p, (hdr, data)) in got.iter().zip(&sent) {
                assert_eq!(p.bhs.as_bytes(), hdr);
                assert_eq!(&p.data, data);
            }
        }
    }
}
