//! What tgt-admin knows about the running tgtd: the `--op show` texts, read as the Perl tool
//! reads them.
//!
//! Owns the Perl tool's `%tgtadm_output`, `%tgtadm_output_tid`, `%tgtadm_output_name`
//! (`process_targets()`), `%existing_accounts` (`process_accounts()`), `check_isns()` and
//! `show_target_info()`: the regular expressions of targets-conf.md §6.3 applied to the text
//! of `tgtadm --op show --mode target|account|sys` (tgtadm-cli.md §6.1, §6.2, §6.4). Reading
//! the same lines the same way keeps tgt-admin working with any tgtd that prints what C
//! tgtd prints. It never talks to tgtd itself.

use std::collections::{BTreeSet, HashMap};

/// The targets tgtd reported, accumulated over every `show` read so far (the Perl tool
/// never forgets a target it has seen, and some of its decisions depend on that).
#[derive(Debug, Default, Clone)]
pub struct TgtdView {
    /// Target name → its `show` text, header line included.
    text: HashMap<String, String>,
    /// Target name → tid as printed (or as assigned while planning).
    tid_of: HashMap<String, String>,
    /// tid → target name.
    name_of: HashMap<String, String>,
}

/// Perl's numeric value of a string: leading blanks, an optional sign, digits; 0 otherwise.
pub fn perl_int(s: &str) -> i64 {
    let t = s.trim_start();
    let (neg, digits) = match t.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let end = digits
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    let v: i64 = digits[..end].parse().unwrap_or(0);
    if neg {
        -v
    } else {
        v
    }
}

impl TgtdView {
    /// Reads `tgtadm --op show --mode target` text (Perl `process_targets()`): a line
    /// `^Target (\d*): (.+)` starts a target; every other line is appended to the current
    /// one. Targets seen before keep their entries, refreshed if listed again.
    pub fn absorb(&mut self, show: &str) {
        let mut current = String::new();
        for line in show.split_inclusive('\n') {
            if let Some((tid, name)) = target_header(line) {
                current = name.to_string();
                self.text.insert(current.clone(), line.to_string());
                self.tid_of.insert(current.clone(), tid.to_string());
                self.name_of.insert(tid.to_string(), current.clone());
            } else {
                self.text.entry(current.clone()).or_default().push_str(line);
            }
        }
    }

    /// Has tgtd listed `name` (Perl `defined $tgtadm_output{$name}`)?
    pub fn listed(&self, name: &str) -> bool {
        self.text.contains_key(name)
    }

    /// The tid recorded for `name` (Perl `$tgtadm_output_tid{$name}`).
    pub fn tid_of(&self, name: &str) -> Option<&str> {
        self.tid_of.get(name).map(String::as_str)
    }

    /// Records `tid` for `name`, as the Perl tool does after processing a target.
    pub fn set_tid(&mut self, name: &str, tid: String) {
        self.tid_of.insert(name.to_string(), tid);
    }

    /// The name of the target with tid `tid` as tgtd printed it (Perl
    /// `$tgtadm_output_name{$tid}`: an exact string match, so "01" is not "1").
    pub fn name_of(&self, tid: &str) -> Option<&str> {
        self.name_of.get(tid).map(String::as_str)
    }

    /// Perl `check_configured()`: a tid is recorded and not empty.
    pub fn configured(&self, name: &str) -> bool {
        self.tid_of(name).is_some_and(|t| !t.is_empty())
    }

    /// The largest tid tgtd listed (Perl `$next_tid` after `process_targets()`).
    pub fn largest_tid(&self) -> Option<&str> {
        self.tid_of
            .values()
            .max_by_key(|t| perl_int(t))
            .map(String::as_str)
    }

    /// Perl `find_max_tid()`: the largest recorded tid, 0 without targets.
    pub fn max_tid(&self) -> i64 {
        self.tid_of.values().map(|t| perl_int(t)).fold(0, i64::max)
    }

    /// All recorded targets, in tid order. The Perl tool walks `keys %tgtadm_output_tid`,
    /// an order that changes from run to run; tid order is one of those orders.
    pub fn targets(&self) -> Vec<String> {
        let mut v: Vec<(i64, &String)> = self
            .tid_of
            .iter()
            .map(|(name, tid)| (perl_int(tid), name))
            .collect();
        v.sort();
        v.into_iter().map(|(_, n)| n.clone()).collect()
    }

    fn text(&self, name: &str) -> &str {
        self.text.get(name).map_or("", String::as_str)
    }

    /// Perl `check_connected()`: the target's text has `\s+Connection:`.
    pub fn connected(&self, name: &str) -> bool {
        has_blank_then(self.text(name), "Connection:")
    }

    /// `show_target_info($t, "driver")`: `\s+Driver: (.+)`.
    pub fn driver(&self, name: &str) -> Option<String> {
        after_blank_then(self.text(name), "Driver: ")
            .next()
            .map(str::to_string)
    }

    /// `show_target_info($t, "target_name")`: the name in the header line.
    pub fn target_name(&self, name: &str) -> Option<String> {
        target_header(self.text(name)).map(|(_, n)| n.to_string())
    }

    /// `show_target_info($t, "backing_stores")`: every `Backing store path:` except `None`
    /// (and none at all unless one path does not start with "None").
    pub fn backing_stores(&self, name: &str) -> Vec<String> {
        let paths: Vec<&str> = after_blank_then(self.text(name), "Backing store path: ").collect();
        if !paths.iter().any(|p| !p.starts_with("None")) {
            return Vec::new();
        }
        paths
            .into_iter()
            .filter(|p| *p != "None")
            .map(str::to_string)
            .collect()
    }

    /// `show_target_info($t, "account_information")`: the lines between `Account
    /// information:` and the last `ACL information:`, without their indentation (`None` for a
    /// line that has none).
    pub fn accounts(&self, name: &str) -> Vec<Option<String>> {
        let text = self.text(name);
        let Some(start) = find_blank_then(text, "Account information:\n") else {
            return Vec::new();
        };
        let body = &text[start + "Account information:\n".len()..];
        // `(.*)\n\s+ACL\ information:` with a greedy `.*`: the last such ACL line.
        let mut end = None;
        for (i, _) in body.match_indices('\n') {
            let rest = &body[i + 1..];
            let trimmed = rest.trim_start_matches(crate::conf::lex::is_space);
            if trimmed.len() < rest.len() && trimmed.starts_with("ACL information:") {
                end = Some(i);
            }
        }
        let Some(end) = end else {
            return Vec::new();
        };
        split_lines(&body[..end])
            .into_iter()
            .map(unindent)
            .collect()
    }

    /// `show_target_info($t, "acl_information")`: the lines after `ACL information:`,
    /// without their indentation.
    pub fn acls(&self, name: &str) -> Vec<Option<String>> {
        let text = self.text(name);
        let Some(start) = find_blank_then(text, "ACL information:\n") else {
            return Vec::new();
        };
        split_lines(&text[start + "ACL information:\n".len()..])
            .into_iter()
            .map(unindent)
            .collect()
    }

    /// `show_target_info($t, "sessions")`: sid → cid of its last connection, from the lines
    /// between `I_T nexus information:` and the last `LUN information:`. Sorted by sid.
    pub fn sessions(&self, name: &str) -> Vec<(String, String)> {
        let text = self.text(name);
        let Some(start) = find_blank_then(text, "I_T nexus information:\n") else {
            return Vec::new();
        };
        let body = &text[start + "I_T nexus information:\n".len()..];
        let Some(end) = body.rfind("LUN information:") else {
            return Vec::new();
        };
        let mut sessions: Vec<(String, String)> = Vec::new();
        let mut sid: Option<String> = None;
        for line in body[..end].split('\n') {
            if let Some(s) = after_blank_then(line, "I_T nexus: ").next() {
                sid = Some(s.to_string());
            } else if let Some(c) = after_blank_then(line, "Connection: ").next() {
                let key = sid.clone().unwrap_or_default();
                match sessions.iter_mut().find(|(s, _)| *s == key) {
                    Some(entry) => entry.1 = c.to_string(),
                    None => sessions.push((key, c.to_string())),
                }
            }
        }
        sessions.sort_by_key(|(s, _)| perl_int(s));
        sessions
    }
}

/// `^Target (\d*): (.+)`.
fn target_header(line: &str) -> Option<(&str, &str)> {
    let rest = line.strip_prefix("Target ")?;
    let digits = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    let name = rest[digits..].strip_prefix(": ")?;
    let name = name.split('\n').next().unwrap_or("");
    (!name.is_empty()).then_some((&rest[..digits], name))
}

/// Offset of the first `needle` that has at least one Perl blank right before it.
fn find_blank_then(text: &str, needle: &str) -> Option<usize> {
    text.match_indices(needle)
        .map(|(i, _)| i)
        .find(|&i| text[..i].ends_with(crate::conf::lex::is_space))
}

fn has_blank_then(text: &str, needle: &str) -> bool {
    find_blank_then(text, needle).is_some()
}

/// Every `\s+NEEDLE(.+)` match in `text`: the rest of the line after each occurrence.
fn after_blank_then<'a>(text: &'a str, needle: &'a str) -> impl Iterator<Item = &'a str> {
    text.match_indices(needle).filter_map(move |(i, _)| {
        if !text[..i].ends_with(crate::conf::lex::is_space) {
            return None;
        }
        let rest = &text[i + needle.len()..];
        let line = rest.split('\n').next().unwrap_or("");
        (!line.is_empty()).then_some(line)
    })
}

/// Perl `split(/\n/, $s)`: trailing empty fields dropped.
fn split_lines(s: &str) -> Vec<&str> {
    let mut v: Vec<&str> = s.split('\n').collect();
    while v.last().is_some_and(|l| l.is_empty()) {
        v.pop();
    }
    v
}

/// Perl `(split(/^\s+/, $line))[1]`: the text after the indentation, `None` without any.
fn unindent(line: &str) -> Option<String> {
    let rest = line.trim_start_matches(crate::conf::lex::is_space);
    (rest.len() < line.len() && !rest.is_empty()).then(|| rest.to_string())
}

/// Account names from `tgtadm --op show --mode account` (Perl `process_accounts()`:
/// lines `^\s+(.*?)$`).
pub fn parse_accounts(show: &str) -> BTreeSet<String> {
    show.split('\n')
        .filter_map(|l| {
            let rest = l.trim_start_matches(crate::conf::lex::is_space);
            (rest.len() < l.len()).then(|| rest.to_string())
        })
        .collect()
}

/// Perl `check_isns()`: the system text contains `iSNS=On`.
pub fn isns_enabled(sys_show: &str) -> bool {
    sys_show.contains("iSNS=On")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `tgtadm --op show --mode target` of C tgtd 1.0.85 (two targets, one with a session).
    pub const SHOW: &str = "Target 1: iqn.2024-01.com.example:b
    System information:
        Driver: iscsi
        State: ready
    I_T nexus information:
        I_T nexus: 1
            Initiator: iqn.1994-05.com.redhat:c alias: none
            Connection: 0
                IP Address: 127.0.0.1
    LUN information:
        LUN: 0
            Type: controller
            Backing store path: None
            Backing store flags: 
        LUN: 1
            Type: disk
            Backing store path: /tmp/tae/lun1.img
            Backing store flags: 
    Account information:
        alice
        bob (outgoing)
    ACL information:
        127.0.0.1
        iqn.x:y
Target 3: iqn.2024-01.com.example:c
    System information:
        Driver: iser
        State: ready
    I_T nexus information:
    LUN information:
        LUN: 0
            Type: controller
            Backing store path: None
            Backing store flags: 
    Account information:
    ACL information:
        ALL
";

    fn view() -> TgtdView {
        let mut v = TgtdView::default();
        v.absorb(SHOW);
        v
    }

    #[test]
    fn targets_are_indexed_by_name_and_tid() {
        let v = view();
        assert_eq!(v.tid_of("iqn.2024-01.com.example:c"), Some("3"));
        assert_eq!(v.name_of("1"), Some("iqn.2024-01.com.example:b"));
        assert_eq!(v.name_of("01"), None);
        assert_eq!(v.largest_tid(), Some("3"));
        assert_eq!(v.max_tid(), 3);
        assert_eq!(
            v.targets(),
            ["iqn.2024-01.com.example:b", "iqn.2024-01.com.example:c"]
        );
    }

    #[test]
    fn sessions_acls_accounts_and_stores_are_read_like_the_perl_tool() {
        let v = view();
        let b = "iqn.2024-01.com.example:b";
        assert!(v.connected(b));
        assert!(!v.connected("iqn.2024-01.com.example:c"));
        assert_eq!(v.sessions(b), [("1".to_string(), "0".to_string())]);
        assert_eq!(
            v.acls(b),
            [Some("127.0.0.1".to_string()), Some("iqn.x:y".to_string())]
        );
        assert_eq!(
            v.accounts(b),
            [
                Some("alice".to_string()),
                Some("bob (outgoing)".to_string())
            ]
        );
        assert_eq!(v.backing_stores(b), ["/tmp/tae/lun1.img"]);
        assert_eq!(
            v.driver("iqn.2024-01.com.example:c").as_deref(),
            Some("iser")
        );
        assert!(v.accounts("iqn.2024-01.com.example:c").is_empty());
        assert!(v.backing_stores("iqn.2024-01.com.example:c").is_empty());
    }

    #[test]
    fn a_later_show_refreshes_but_never_forgets() {
        let mut v = view();
        v.absorb("Target 1: iqn.2024-01.com.example:b\n    System information:\n");
        assert!(!v.connected("iqn.2024-01.com.example:b"));
        assert!(v.listed("iqn.2024-01.com.example:c"));
    }

    #[test]
    fn accounts_and_isns_are_read_from_their_show_texts() {
        assert_eq!(
            parse_accounts("Account list:\n    bob\n    alice\n"),
            ["alice".to_string(), "bob".to_string()]
                .into_iter()
                .collect()
        );
        assert!(isns_enabled("iSNS:\n    iSNS=On\n"));
        assert!(!isns_enabled("iSNS:\n    iSNS=Off\n"));
    }
}
