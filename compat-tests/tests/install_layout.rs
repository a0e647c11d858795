//! `conf/install.sh` against Debian's `tgt` 1.0.85 package layout (issue #6).
//!
//! Runs the install script into a scratch DESTDIR with the binaries of the target directory
//! (`debug` or `release`, whichever holds all three), then:
//!
//! - every file or symlink `dpkg -L tgt` lists is either installed by us at the same path or
//!   named in [`NOT_SHIPPED`] with the reason; every file we install that Debian does not is
//!   named in [`OURS_ONLY`]. An unexplained path either way fails the test. Skipped when
//!   Debian's `tgt` is not installed (`dpkg -L tgt` fails).
//! - binaries are executable, man pages decompress to the sources in `man/`, the bash
//!   completion parses (`bash -n`) and completes `tgtadm --mode lu --op`.
//! - `tgt.service` has Debian's `Exec*` command lines, in order, and `Type=notify`.
//! - `systemd-analyze verify --root=DESTDIR` accepts `tgt.service` and `tgtd.service`. The
//!   scratch root gets a copy of the host's `/usr/lib/systemd/system` first (without any
//!   `tgt.service` of the host), because verify loads `sysinit.target` and friends from the
//!   root, and it checks that `ExecStart=` paths exist inside the root. Skipped without
//!   `systemd-analyze`.

use std::collections::BTreeSet;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use compat_tests::{skip, target_dir, workspace_root, ScratchDir};

/// Paths of Debian's `tgt` we do not install, each with why. An entry ending in `/` covers
/// everything below it.
const NOT_SHIPPED: &[(&str, &str)] = &[
    (
        "/etc/init.d/tgt",
        "SysV init script: we ship only the systemd unit (tgt.service)",
    ),
    (
        "/usr/sbin/tgt-setup-lun",
        "C tgt's shell helper, not rewritten; tgtadm/tgt-admin do the same",
    ),
    (
        "/usr/sbin/tgtimg",
        "virtual tape/optical image tool: tape and changer device types are out of scope",
    ),
    (
        "/usr/share/man/man8/tgt-setup-lun.8.gz",
        "page of tgt-setup-lun, not shipped",
    ),
    (
        "/usr/share/man/man8/tgtimg.8.gz",
        "page of tgtimg, not shipped",
    ),
    (
        "/usr/share/doc/tgt/",
        "C tgt's READMEs, changelog and examples; ours go to /usr/share/doc/tgt-rs",
    ),
    (
        "/usr/lib/tgt/backing-store/",
        "loadable backing stores: rbd (Debian's tgt-rbd) is built into tgtd (cargo feature \
         tgt/rbd, on in debian/rules); glfs (tgt-glusterfs) is not implemented",
    ),
];

/// Paths we install that Debian's `tgt` does not have, each with why. Prefixes end in `/`.
const OURS_ONLY: &[(&str, &str)] = &[
    (
        "/lib/systemd/system/tgtd.service",
        "alias of tgt.service (symlink), the name upstream tgt uses",
    ),
    (
        "/usr/share/bash-completion/completions/tgtd",
        "link to `tgt`, so bash-completion loads it on demand for tgtd",
    ),
    (
        "/usr/share/bash-completion/completions/tgtadm",
        "link to `tgt`, for tgtadm",
    ),
    (
        "/usr/share/bash-completion/completions/tgt-admin",
        "link to `tgt`, for tgt-admin",
    ),
    (
        "/usr/share/doc/tgt-rs/",
        "our example configurations (conf/examples)",
    ),
];

/// The directory holding `tgtd`, `tgtadm` and `tgt-admin`, if one does.
fn bindir() -> Option<PathBuf> {
    ["debug", "release"]
        .iter()
        .map(|profile| target_dir().join(profile))
        .find(|dir| {
            ["tgtd", "tgtadm", "tgt-admin"]
                .iter()
                .all(|b| dir.join(b).is_file())
        })
}

/// Install into a fresh scratch directory; `None` (after saying why) when binaries are missing.
fn install(test: &str) -> Option<ScratchDir> {
    let Some(bindir) = bindir() else {
        skip(
            test,
            &"tgtd, tgtadm and tgt-admin are not all built (cargo build --workspace)",
        );
        return None;
    };
    let dest = ScratchDir::new().expect("scratch directory");
    let out = Command::new("sh")
        .arg(workspace_root().join("conf/install.sh"))
        .arg(dest.path())
        .env("BINDIR", &bindir)
        .output()
        .expect("sh runs");
    assert!(
        out.status.success(),
        "install.sh failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(dest)
}

/// Every file and symlink below `root`, as absolute paths relative to it (`/usr/sbin/tgtd`).
fn installed_files(root: &Path) -> BTreeSet<String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeSet<String>) {
        for entry in fs::read_dir(dir).expect("readable install tree") {
            let entry = entry.expect("directory entry");
            let path = entry.path();
            let kind = entry.file_type().expect("file type");
            if kind.is_dir() {
                walk(root, &path, out);
            } else {
                let rel = path.strip_prefix(root).expect("below root");
                out.insert(format!("/{}", rel.display()));
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(root, root, &mut out);
    out
}

fn explained(table: &[(&str, &str)], path: &str) -> bool {
    table.iter().any(|(p, _)| {
        if p.ends_with('/') {
            path.starts_with(p)
        } else {
            path == *p
        }
    })
}

/// Debian's `tgt` files and symlinks (directories dropped), or `None` when it is not installed.
fn debian_files() -> Option<BTreeSet<String>> {
    let out = Command::new("dpkg").args(["-L", "tgt"]).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    Some(
        text.lines()
            .filter(|line| line.starts_with('/') && *line != "/.")
            // `metadata` follows links: `/lib` is a link to a directory on merged-/usr systems.
            .filter(|line| fs::metadata(line).map_or(true, |m| !m.is_dir()))
            .map(str::to_owned)
            .collect(),
    )
}

#[test]
fn layout_matches_debian_tgt() {
    const TEST: &str = "layout_matches_debian_tgt";
    let Some(dest) = install(TEST) else { return };
    let ours = installed_files(dest.path());

    let unexplained_ours: Vec<&String> = ours
        .iter()
        .filter(|p| !explained(OURS_ONLY, p))
        .filter(|p| !is_debian_path(p))
        .collect();
    assert!(
        unexplained_ours.is_empty(),
        "installed but neither a Debian tgt path nor in OURS_ONLY: {unexplained_ours:?}"
    );
    assert!(dest.path().join("etc/tgt/conf.d").is_dir());

    let Some(debian) = debian_files() else {
        skip(TEST, &"Debian's tgt is not installed (dpkg -L tgt failed)");
        return;
    };
    let missing: Vec<&String> = debian
        .iter()
        .filter(|p| !ours.contains(*p) && !explained(NOT_SHIPPED, p))
        .collect();
    assert!(
        missing.is_empty(),
        "Debian tgt ships these, we do not, and NOT_SHIPPED does not say why: {missing:?}"
    );
    let extra: Vec<&String> = ours
        .iter()
        .filter(|p| !debian.contains(*p) && !explained(OURS_ONLY, p))
        .collect();
    assert!(
        extra.is_empty(),
        "we install these, Debian tgt does not, and OURS_ONLY does not say why: {extra:?}"
    );
    // A NOT_SHIPPED entry for a path we do install would be a stale explanation.
    for (path, why) in NOT_SHIPPED {
        assert!(
            !ours.iter().any(|p| explained(&[(path, why)], p)),
            "{path} is in NOT_SHIPPED but installed"
        );
    }
}

/// The paths of Debian's layout we reproduce: checked even where `dpkg` is missing.
fn is_debian_path(path: &str) -> bool {
    const DEBIAN: &[&str] = &[
        "/usr/sbin/tgtd",
        "/usr/sbin/tgtadm",
        "/usr/sbin/tgt-admin",
        "/etc/tgt/targets.conf",
        "/lib/systemd/system/tgt.service",
        "/usr/share/man/man5/targets.conf.5.gz",
        "/usr/share/man/man8/tgtd.8.gz",
        "/usr/share/man/man8/tgtadm.8.gz",
        "/usr/share/man/man8/tgt-admin.8.gz",
        "/usr/share/bash-completion/completions/tgt",
    ];
    DEBIAN.contains(&path)
}

#[test]
fn installed_files_are_usable() {
    const TEST: &str = "installed_files_are_usable";
    let Some(dest) = install(TEST) else { return };
    let root = dest.path();
    for bin in ["tgtd", "tgtadm", "tgt-admin"] {
        let out = Command::new(root.join("usr/sbin").join(bin))
            .arg("-h")
            .output()
            .expect("installed binary runs");
        assert!(out.status.success(), "{bin} -h failed");
    }
    for (dir, page) in [
        ("man5", "targets.conf.5"),
        ("man8", "tgtd.8"),
        ("man8", "tgtadm.8"),
        ("man8", "tgt-admin.8"),
    ] {
        let gz = root
            .join("usr/share/man")
            .join(dir)
            .join(format!("{page}.gz"));
        let out = Command::new("gzip")
            .arg("-dc")
            .arg(&gz)
            .output()
            .expect("gzip runs");
        assert!(out.status.success(), "{} does not decompress", gz.display());
        let source = fs::read(workspace_root().join("man").join(page)).expect("man source");
        assert!(
            out.stdout == source,
            "{} differs from man/{page}",
            gz.display()
        );
    }
    let completion = root.join("usr/share/bash-completion/completions/tgtadm");
    let script = format!(
        "source {}; COMP_WORDS=(tgtadm --mode lu --op ''); COMP_CWORD=4; _tgtadm; \
         echo \"${{COMPREPLY[*]}}\"",
        completion.display()
    );
    let out = Command::new("bash")
        .args(["-c", &script])
        .output()
        .expect("bash runs");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "new delete update stat",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The `Exec*=` lines of a unit, in order.
fn exec_lines(unit: &str) -> Vec<String> {
    unit.lines()
        .map(str::trim)
        .filter(|l| l.starts_with("Exec"))
        .map(str::to_owned)
        .collect()
}

#[test]
fn unit_runs_debians_commands() {
    const TEST: &str = "unit_runs_debians_commands";
    let ours = fs::read_to_string(workspace_root().join("conf/systemd/tgt.service"))
        .expect("conf/systemd/tgt.service");
    assert!(ours.lines().any(|l| l.trim() == "Type=notify"));
    let Ok(debian) = fs::read_to_string("/lib/systemd/system/tgt.service") else {
        skip(
            TEST,
            &"Debian's /lib/systemd/system/tgt.service is not there",
        );
        return;
    };
    // Same commands per kind; ours may order kinds differently in the file.
    for kind in ["ExecStart=", "ExecStartPost=", "ExecReload=", "ExecStop="] {
        let of = |unit: &str| -> Vec<String> {
            exec_lines(unit)
                .into_iter()
                .filter(|l| l.starts_with(kind))
                .collect()
        };
        assert_eq!(of(&ours), of(&debian), "{kind} lines differ from Debian's");
    }
}

#[test]
fn systemd_analyze_verify_accepts_units() {
    const TEST: &str = "systemd_analyze_verify_accepts_units";
    if Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .map_or(true, |o| !o.status.success())
    {
        skip(
            TEST,
            &"systemd-analyze is not installed (apt-get install systemd)",
        );
        return;
    }
    let Some(dest) = install(TEST) else { return };
    let root = dest.path();
    // sysinit.target, basic.target, ... for the dependencies verify loads.
    let units = root.join("usr/lib/systemd");
    fs::create_dir_all(&units).expect("usr/lib/systemd");
    let status = Command::new("cp")
        .arg("-a")
        .arg("/usr/lib/systemd/system")
        .arg(&units)
        .status()
        .expect("cp runs");
    assert!(status.success(), "copying the host's unit directory failed");
    let _ = fs::remove_file(units.join("system/tgt.service"));
    let _ = fs::remove_file(units.join("system/tgtd.service"));
    for unit in ["tgt.service", "tgtd.service"] {
        let out = Command::new("systemd-analyze")
            .arg("verify")
            .arg(format!("--root={}", root.display()))
            .arg(unit)
            .output()
            .expect("systemd-analyze runs");
        let mut stderr = String::new();
        out.stderr
            .as_slice()
            .read_to_string(&mut stderr)
            .expect("utf-8");
        assert!(
            out.status.success() && stderr.trim().is_empty(),
            "systemd-analyze verify {unit}: {stderr}"
        );
    }
}
