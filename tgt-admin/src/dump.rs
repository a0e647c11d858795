//! `--dump`: a targets.conf rebuilt from what tgtd reports.
//!
//! Owns the Perl tool's `dump_config()` (targets-conf.md §8): one `default-driver` line when
//! every target uses the same driver (else a `driver` line per target), then per target its
//! backing-store paths, account names (passwords cannot be read back), and ACLs split into
//! `initiator-address` (`^[0-9,.E]+$`) and `initiator-name` (everything else). LUN numbers,
//! store types, parameters and iSCSI keys are not dumped, as in the Perl tool.

use std::collections::BTreeSet;

use crate::tgtd::TgtdView;

/// The `--dump` text for the targets in `view`, in tid order.
pub fn render(view: &TgtdView) -> String {
    let targets = view.targets();
    let drivers: BTreeSet<String> = targets
        .iter()
        .map(|t| view.driver(t).unwrap_or_default())
        .collect();
    let mut out = String::new();
    if drivers.len() == 1 {
        if let Some(d) = drivers.first() {
            out.push_str(&format!("default-driver {d}\n\n"));
        }
    }
    for t in &targets {
        out.push_str(&format!(
            "<target {}>\n",
            view.target_name(t).unwrap_or_default()
        ));
        if drivers.len() > 1 {
            out.push_str(&format!(
                "\tdriver {}\n",
                view.driver(t).unwrap_or_default()
            ));
        }
        for bs in view.backing_stores(t) {
            out.push_str(&format!("\tbacking-store {bs}\n"));
        }
        for account in view.accounts(t).into_iter().flatten() {
            match account
                .strip_suffix(" (outgoing)")
                .filter(|u| !u.is_empty())
            {
                Some(user) => out.push_str(&format!(
                    "\toutgoinguser {user} PLEASE_CORRECT_THE_PASSWORD\n"
                )),
                None => out.push_str(&format!(
                    "\tincominguser {account} PLEASE_CORRECT_THE_PASSWORD\n"
                )),
            }
        }
        let acls = view.acls(t);
        let only_all = acls.len() == 1 && acls[0].as_deref() == Some("ALL");
        if !only_all {
            for acl in acls {
                let acl = acl.unwrap_or_default();
                if !acl.is_empty()
                    && acl
                        .chars()
                        .all(|c| c.is_ascii_digit() || matches!(c, ',' | '.' | 'E'))
                {
                    out.push_str(&format!("\tinitiator-address {acl}\n"));
                } else {
                    out.push_str(&format!("\tinitiator-name {acl}\n"));
                }
            }
        }
        out.push_str("</target>\n\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dump_matches_the_perl_tools_layout() {
        // Captured from C tgtd 1.0.85 + Perl tgt-admin --dump (targets-conf.md §8).
        let show = "Target 1: iqn.2024-05.com.example:storage.disk1
    System information:
        Driver: iscsi
        State: ready
    I_T nexus information:
    LUN information:
        LUN: 0
            Backing store path: None
        LUN: 1
            Backing store path: /srv/tgt-example/lun1.img
        LUN: 2
            Backing store path: /srv/tgt-example/lun2.img
    Account information:
        user1
        user2
        outuser (outgoing)
    ACL information:
        127.0.0.1
        192.168.0.0/16
        iqn.1994-05.com.redhat:client1
";
        let mut v = TgtdView::default();
        v.absorb(show);
        assert_eq!(
            render(&v),
            "default-driver iscsi

<target iqn.2024-05.com.example:storage.disk1>
\tbacking-store /srv/tgt-example/lun1.img
\tbacking-store /srv/tgt-example/lun2.img
\tincominguser user1 PLEASE_CORRECT_THE_PASSWORD
\tincominguser user2 PLEASE_CORRECT_THE_PASSWORD
\toutgoinguser outuser PLEASE_CORRECT_THE_PASSWORD
\tinitiator-address 127.0.0.1
\tinitiator-name 192.168.0.0/16
\tinitiator-name iqn.1994-05.com.redhat:client1
</target>

"
        );
    }

    #[test]
    fn only_all_acl_is_not_dumped_and_mixed_drivers_are_per_target() {
        let show = "Target 1: a\n    System information:\n        Driver: iscsi\n    ACL information:\n        ALL\nTarget 2: b\n    System information:\n        Driver: iser\n    ACL information:\n        ALL\n        10.0.0.1\n";
        let mut v = TgtdView::default();
        v.absorb(show);
        assert_eq!(
            render(&v),
            "<target a>\n\tdriver iscsi\n</target>\n\n<target b>\n\tdriver iser\n\tinitiator-name ALL\n\tinitiator-address 10.0.0.1\n</target>\n\n"
        );
    }

    #[test]
    fn no_targets_dump_nothing() {
        assert_eq!(render(&TgtdView::default()), "");
    }
}
