//! Who may log in to a target: initiator-address and initiator-name ACLs.
//!
//! A login passes when the peer matches ANY address rule OR the initiator name matches ANY
//! name rule; no rule at all refuses everyone. Address rules keep tgt's quirks exactly,
//! because configurations depend on them (reference §7.2): `ALL`, literals, `addr/prefix`,
//! `[v6]` and `[v6]/prefix`; an ACL address with host bits set never matches; IPv4 prefixes
//! above 31 and IPv6 above 127 never match; `/0` compares exactly (C's undefined shift on
//! x86). tgt: usr/iscsi/target.c `ip_match()`, `netmask_match_v4()`, `netmask_match_v6()`.

use std::net::IpAddr;

/// Whether the login from `peer` with `initiator` passes the target's ACLs.
pub fn allowed(addresses: &[String], names: &[String], peer: IpAddr, initiator: &str) -> bool {
    addresses.iter().any(|a| address_matches(a, peer)) || names.iter().any(|n| n == initiator)
}

/// One address rule against the peer.
pub fn address_matches(rule: &str, peer: IpAddr) -> bool {
    if rule == "ALL" {
        return true;
    }
    let (host, rest) = match rule.strip_prefix('[') {
        Some(inner) => match inner.split_once(']') {
            Some((h, r)) => (h, r),
            None => return false,
        },
        None => (rule, rule),
    };
    let prefix = rest.split_once('/').map(|(_, p)| p);
    let host = if rule.starts_with('[') {
        host
    } else {
        rule.split_once('/').map_or(rule, |(h, _)| h)
    };
    let Ok(acl) = host.parse::<IpAddr>() else {
        return false;
    };
    match prefix {
        None => acl == peer,
        Some(p) => {
            let (bits, _) = crate::mgmt::params::strtoul(p, 0);
            netmask_match(acl, peer, bits)
        }
    }
}

fn netmask_match(acl: IpAddr, peer: IpAddr, bits: u64) -> bool {
    match (acl, peer) {
        (IpAddr::V4(a), IpAddr::V4(p)) => {
            if bits > 31 {
                return false;
            }
            let shift = u32::try_from(32 - bits).unwrap_or(0) & 31;
            let mask = !((1u32 << shift).wrapping_sub(1));
            let (a, p) = (u32::from(a), u32::from(p));
            if !mask & a != 0 {
                return false;
            }
            mask & a == mask & p
        }
        (IpAddr::V6(a), IpAddr::V6(p)) => {
            if bits > 127 {
                return false;
            }
            let bits = u32::try_from(bits).unwrap_or(0);
            let (a, p) = (a.segments(), p.segments());
            let full = usize::try_from(bits / 16).unwrap_or(0);
            if a[..full] != p[..full] {
                return false;
            }
            if bits % 16 != 0 {
                let mask: u16 = !((1u16 << (16 - bits % 16)) - 1);
                if (mask & a[full]) != (mask & p[full]) {
                    return false;
                }
            }
            true
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(rule: &str, peer: &str) -> bool {
        address_matches(rule, peer.parse().unwrap())
    }

    #[test]
    fn captured_quirks_against_127_0_0_1() {
        assert!(m("ALL", "127.0.0.1"));
        assert!(!m("all", "127.0.0.1"));
        assert!(m("127.0.0.1", "127.0.0.1"));
        assert!(m("127.0.0.0/8", "127.0.0.1"));
        assert!(m("127.0.0.0/31", "127.0.0.1"));
        assert!(!m("127.0.0.1/8", "127.0.0.1"));
        assert!(!m("127.0.0.1/32", "127.0.0.1"));
        assert!(!m("0.0.0.0/0", "127.0.0.1"));
        assert!(!m("10.0.0.0/8", "127.0.0.1"));
        assert!(!m("::1", "127.0.0.1"));
    }

    #[test]
    fn ipv6_forms() {
        assert!(m("::1", "::1"));
        assert!(m("[::1]", "::1"));
        assert!(m("[fd00::]/8", "fd12::5"));
        assert!(!m("[fd00::]/8", "fe80::1"));
        assert!(!m("[::1", "::1"));
        assert!(!m("[::1]/128", "::1"));
    }

    #[test]
    fn any_rule_of_either_kind_admits() {
        let addrs = vec!["10.0.0.0/8".to_string()];
        let names = vec!["iqn.x".to_string()];
        let peer: IpAddr = "127.0.0.1".parse().unwrap();
        assert!(allowed(&addrs, &names, peer, "iqn.x"));
        assert!(!allowed(&addrs, &names, peer, "iqn.y"));
        assert!(!allowed(&[], &[], peer, "iqn.x"));
    }
}
