//! tgt-admin as a program: what it prints and how it exits when no tgtd is needed.
//!
//! Expected texts are the Perl tool's (targets-conf.md §6) or, for configuration errors,
//! ours (`file:line: message` on stderr) with the Perl tool's exit status.

use std::path::PathBuf;
use std::process::{Command, Output};

fn tgt_admin(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tgt-admin"))
        .args(args)
        // No tgtd listens here, whatever runs on the machine.
        .env("TGT_IPC_SOCKET", "/nonexistent/tgt-admin-cli/socket")
        .output()
        .expect("tgt-admin runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

struct Conf(PathBuf);

impl Conf {
    fn new(name: &str, body: &str) -> Self {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("tgt-admin-cli.{}.{n}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir is writable");
        let p = dir.join(name);
        std::fs::write(&p, body).expect("temp dir is writable");
        Conf(p)
    }
    fn path(&self) -> &str {
        self.0.to_str().expect("temp paths are UTF-8 here")
    }
}

impl Drop for Conf {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
        if let Some(dir) = self.0.parent() {
            let _ = std::fs::remove_dir(dir);
        }
    }
}

#[test]
fn no_arguments_print_the_usage_and_exit_0() {
    let o = tgt_admin(&[]);
    assert_eq!(o.status.code(), Some(0));
    let out = text(&o.stdout);
    assert!(out.starts_with("Usage:\ntgt-admin [OPTION]...\nThis tool configures tgt targets.\n\n"));
    assert!(out
        .contains("  -e, --execute\t\t\tread /etc/tgt/targets.conf and execute tgtadm commands\n"));
    assert!(out.ends_with("  -h, --help\t\t\tshow this help\n\n"));
}

#[test]
fn help_texts_of_the_selectors_match_the_perl_tool() {
    let o = tgt_admin(&["--offline", "help"]);
    assert_eq!(
        text(&o.stdout),
        "      --offline <value>\t\toffline all or selected targets\n\nExample usage:\n      --offline help\t      - display this help\n      --offline ALL\t      - offline all targets\n      --offline tid=4\t      - offline target 4 (target with tid 4)\n      --offline iqn.2008-08.com.example:some.target - offline this target\n\n"
    );
    let o = tgt_admin(&["--delete", "help"]);
    assert!(text(&o.stdout).contains("\t\t\t\tyou have to add \"--force\" flag.\n"));
    assert_eq!(o.status.code(), Some(0));
}

#[test]
fn nothing_to_do_and_contradictions_are_reported_like_the_perl_tool() {
    let o = tgt_admin(&["-v"]);
    assert_eq!(
        (text(&o.stdout).as_str(), o.status.code()),
        ("No action specified.\n", Some(0))
    );
    let o = tgt_admin(&["-d"]);
    assert_eq!(text(&o.stderr), "Option d is ambiguous (delete, dump)\n");
    assert_eq!(text(&o.stdout), "No action specified.\n");
    let o = tgt_admin(&["--offline", "x", "--ready", "y"]);
    assert_eq!(
        (text(&o.stdout).as_str(), o.status.code()),
        (
            "Invalid value (you can't use both ready and offline)!\n",
            Some(1)
        )
    );
}

#[test]
fn missing_configuration_file_dies_with_enoent() {
    let o = tgt_admin(&["-c", "/nonexistent/targets.conf", "-e"]);
    assert_eq!(
        (text(&o.stderr).as_str(), o.status.code()),
        (
            "Config file /nonexistent/targets.conf not found. Exiting...\n",
            Some(2)
        )
    );
}

#[test]
fn configuration_errors_print_file_line_and_the_perl_exit_status() {
    let c = Conf::new(
        "unclosed.conf",
        "# x\n<target iqn.2024-01.com.example:a>\n    backing-store /x\n",
    );
    let o = tgt_admin(&["-c", c.path(), "-e", "-p"]);
    assert_eq!(o.status.code(), Some(255));
    assert_eq!(
        text(&o.stderr),
        format!("{}:2: <target ...> is not closed: expected </target> before the end of the configuration\n", c.path())
    );
    // The Perl tool prints this line before it parses.
    assert_eq!(
        text(&o.stdout),
        format!("# Using {} as configuration file\n\n", c.path())
    );

    let c = Conf::new(
        "drivers.conf",
        "default-driver iscsi\n\ndefault-driver iser\n",
    );
    let o = tgt_admin(&["-c", c.path(), "-e"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        text(&o.stderr),
        format!(
            "{p}:3: default-driver is given more than once in the global section (first at {p}:1); only one is allowed\n",
            p = c.path()
        )
    );
    assert_eq!(text(&o.stdout), "");
}

#[test]
fn unreachable_tgtd_makes_show_fail_with_the_perl_report() {
    let o = tgt_admin(&["-C", "7", "-s"]);
    assert_eq!(o.status.code(), Some(107));
    assert_eq!(
        text(&o.stdout),
        "Command:\n\ttgtadm -C 7 --op show --mode target\nexited with code: 107.\n"
    );
    assert_eq!(
        text(&o.stderr),
        "tgtadm: failed to send request hdr to tgt daemon, Transport endpoint is not connected\n"
    );
}
