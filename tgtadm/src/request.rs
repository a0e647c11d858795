//! Turns a checked command line into the request tgtd receives: the `tgtadm_req` header
//! fields and the body text, in C tgtadm's fixed item order.
//!
//! It knows nothing of sockets (that is `tgt::mgmt::client`) nor of validation (`check`).
//!
//! Source: tgt `usr/tgtadm.c` `main()` (the `req->… =` assignments and the `concat_printf`
//! sequence), `usr/concat_buf.c`; facts in `shared/reference/mgmt-protocol.md` §4, §7, §8.

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;

use tgt::mgmt::wire::{Mode, Op, Request, AC_DIR_INCOMING, AC_DIR_OUTGOING};

use crate::options::{device_type, CommandLine};

/// The request header for `cl`; `len` is filled in when the body is known.
pub fn header(cl: &CommandLine, mode: Mode, op: Op) -> Request {
    let mut req = Request {
        mode,
        op,
        tid: cl.tid,
        sid: cl.sid,
        lun: cl.lun,
        cid: cl.cid,
        host_no: cl.host_no,
        device_type: cl.device_type,
        ac_dir: if cl.outgoing {
            AC_DIR_OUTGOING
        } else {
            AC_DIR_INCOMING
        },
        force: u32::from(cl.force),
        ..Request::default()
    };
    if let Some(lld) = &cl.lld {
        req.set_lld(lld.as_bytes());
    }
    req
}

/// The body: comma-separated items in C's order, then one NUL; empty when there is no item.
///
/// `--name` without `--value` (possible where nothing checks it: system show/delete/stat,
/// session, connection) sends `name=(null)`, which is what glibc's `printf("%s", NULL)` wrote.
/// tgt: usr/tgtadm.c `main()`
pub fn body(cl: &CommandLine) -> Vec<u8> {
    let mut items: Vec<Vec<u8>> = Vec::new();
    let mut item = |key: &[u8], value: &[u8], tail: &[u8]| {
        let mut it = key.to_vec();
        it.extend_from_slice(value);
        it.extend_from_slice(tail);
        items.push(it);
    };
    let bytes = |o: &Option<OsString>| o.as_ref().map(|s| s.as_bytes().to_vec());

    if let Some(name) = bytes(&cl.name) {
        let value = bytes(&cl.value).unwrap_or_else(|| b"(null)".to_vec());
        item(&name, b"=", &value);
    }
    if let Some(v) = bytes(&cl.path) {
        item(b"path=", &v, b"");
    }
    // A tape always gets the ssc backing store; `--bstype` is then ignored.
    if cl.device_type == device_type::TAPE {
        item(b"bstype=", b"ssc", b"");
    } else if let Some(v) = bytes(&cl.bstype) {
        item(b"bstype=", &v, b"");
    }
    let plain: [(&[u8], &Option<OsString>); 8] = [
        (b"bsopts=", &cl.bsopts),
        (b"bsoflags=", &cl.bsoflags),
        (b"blocksize=", &cl.blocksize),
        (b"targetname=", &cl.targetname),
        (b"initiator-address=", &cl.initiator_address),
        (b"initiator-name=", &cl.initiator_name),
        (b"user=", &cl.user),
        (b"password=", &cl.password),
    ];
    for (key, value) in plain {
        if let Some(v) = bytes(value) {
            item(key, &v, b"");
        }
    }
    // "Trailing ',' makes parsing params in modules easier" (C's comment).
    if let Some(v) = bytes(&cl.target_ops) {
        item(b"targetOps ", &v, b",");
    }
    if let Some(v) = bytes(&cl.portal_ops) {
        item(b"portalOps ", &v, b",");
    }

    let mut out = items.join(&b","[..]);
    if !out.is_empty() {
        out.push(0);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::parse;
    use tgt::getopt::argv;

    fn body_of(words: &[&str]) -> Vec<u8> {
        body(
            &parse(&argv(
                std::iter::once("tgtadm").chain(words.iter().copied()),
            ))
            .unwrap(),
        )
    }

    #[test]
    fn items_follow_cs_order_not_argv_order() {
        assert_eq!(
            body_of(&[
                "-P", "k=v", "-p", "pw", "-u", "u", "-Q", "iqn", "-I", "ALL", "-T", "t", "-y",
                "512", "-f", "sync", "-S", "o", "-E", "aio", "-b", "/f", "-n", "N", "-v", "V"
            ]),
            b"N=V,path=/f,bstype=aio,bsopts=o,bsoflags=sync,blocksize=512,targetname=t,\
              initiator-address=ALL,initiator-name=iqn,user=u,password=pw,targetOps k=v,\0"
        );
    }

    #[test]
    fn tape_forces_ssc_and_portal_params_come_last() {
        assert_eq!(body_of(&["-Y", "tape", "-E", "aio"]), b"bstype=ssc\0");
        assert_eq!(
            body_of(&["-P", "a", "-m", "portal", "-P", "b"]),
            b"targetOps a,,portalOps b,\0"
        );
    }

    #[test]
    fn name_without_value_is_null_and_no_items_is_no_body() {
        assert_eq!(body_of(&["-n", "foo"]), b"foo=(null)\0");
        assert_eq!(body_of(&["-v", "x"]), b"");
        assert_eq!(body_of(&[]), b"");
        assert_eq!(body_of(&["-n", ""]), b"=(null)\0");
    }

    #[test]
    fn header_fields() {
        let cl = parse(&argv([
            "tgtadm", "-L", "iscsi", "-t", "3", "-s", "4", "-c", "5", "-l", "6", "-H", "7", "-Y",
            "cd", "-O", "x", "-F", "y",
        ]))
        .unwrap();
        let req = header(&cl, Mode::ACCOUNT, Op::BIND);
        let b = req.encode();
        assert_eq!(&b[0..8], [7, 0, 0, 0, 3, 0, 0, 0]);
        assert_eq!(&b[8..14], b"iscsi\0");
        assert_eq!(&b[76..80], [3, 0, 0, 0]);
        assert_eq!(&b[80..88], [4, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(&b[88..96], [6, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(
            &b[96..120],
            [5, 0, 0, 0, 7, 0, 0, 0, 5, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0]
        );
    }
}
