//! The operations tgt-admin performs, in the Perl tool's order.
//!
//! Owns the algorithm of /usr/sbin/tgt-admin 1.0.85: `add_targets()`, `process_options()`,
//! `add_backing_direct()`, `add_params()`, `find_next_lun()`, `check_device()`,
//! `main_delete()`, `remove_targets()`, `update_targets()`, `delete_targets()`,
//! `ready_offline_targets()` (targets-conf.md §2–§7). Each operation is a [`Step`]: a comment,
//! an empty line, or a [`TgtadmCmd`] (the tgtadm request and its command line). Steps go to a
//! [`Session`] one at a time, because later decisions depend on earlier effects, as in the
//! Perl tool (a device is free only after the target that held it was deleted; `-e` reads
//! tgtd again before removing targets).
//!
//! What is shown (`--pretend`, `-v`) is exactly what the Perl tool prints; what is sent is
//! what its tgtadm calls would send. Where the Perl tool walks a hash (targets of `ALL`,
//! options inside a `<backing-store>` block, sessions) its order changes from run to run; we
//! use tid order, file order and sid order, which are among the orders it can produce.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::io::Write;

use crate::conf::ast::Loc;
use crate::conf::lower::{
    Config, LunOption, Store, StoreKind, Target, DEFAULTS_DEVICE, DEFAULTS_PLAIN, LU_PARAMS,
};
use crate::conf::ConfError;
use crate::device::{Identity, Probe};
use crate::tgtadm::TgtadmCmd;
use crate::tgtd::{isns_enabled, parse_accounts, perl_int, TgtdView};

/// One thing the Perl tool passes to its `execute()`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// A comment, printed and never run (its text may end with `\n`).
    Comment(String),
    /// `execute()` without arguments: an empty line.
    Blank,
    /// A tgtadm call.
    Cmd(TgtadmCmd),
}

impl Step {
    /// The line the Perl tool prints for this step (without the final newline).
    pub fn text(&self) -> &str {
        match self {
            Step::Comment(t) => t,
            Step::Blank => "",
            Step::Cmd(c) => &c.line,
        }
    }
}

/// How a tgtadm call failed: what tgtadm prints on stderr and its exit status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// tgtadm's stderr text, newline included (may be empty).
    pub message: String,
    /// tgtadm's exit status; 0 means the Perl tool sees success.
    pub code: u8,
}

/// The daemon, as tgtadm reaches it.
pub trait Tgtd {
    /// Runs one command; `Ok` is what tgtadm prints on stdout.
    fn run(&mut self, cmd: &TgtadmCmd) -> Result<String, Failure>;
}

/// Why a run stops early, and what is printed then.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    /// A mistake in the configuration: `file:line: message` on stderr.
    Conf {
        /// The message.
        message: String,
        /// The exit status.
        code: u8,
    },
    /// One of the Perl tool's own messages, on stdout.
    Message {
        /// The text, newlines included.
        text: String,
        /// The exit status.
        code: u8,
    },
    /// A Perl `die`: message on stderr.
    Die {
        /// The text, newline included.
        text: String,
        /// The exit status.
        code: u8,
    },
    /// A tgtadm call failed (without --ignore-errors): the Perl tool's report on stdout.
    Failed {
        /// The command line.
        line: String,
        /// tgtadm's status, which becomes ours.
        code: u8,
    },
}

impl Stop {
    /// Turns a configuration error into a stop.
    pub fn conf(e: &ConfError) -> Self {
        Stop::Conf {
            message: e.to_string(),
            code: e.exit_code(),
        }
    }

    /// The exit status.
    pub fn code(&self) -> u8 {
        match self {
            Stop::Conf { code, .. }
            | Stop::Message { code, .. }
            | Stop::Die { code, .. }
            | Stop::Failed { code, .. } => *code,
        }
    }
}

/// How steps are handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Run commands; print each step first when `verbose` (`-v`).
    Execute {
        /// `-v`.
        verbose: bool,
    },
    /// Print steps, run nothing (`-p`); tgtd is still read.
    Pretend,
    /// Print and run nothing: a rehearsal that finds configuration errors before anything
    /// is changed. Devices are assumed free.
    Rehearse,
}

/// Where steps go: the Perl tool's `execute()`, and its backtick queries.
pub struct Session<'a> {
    /// How steps are handled.
    pub mode: Mode,
    /// The daemon.
    pub tgtd: &'a mut dyn Tgtd,
    /// Our stdout.
    pub out: &'a mut dyn Write,
    /// Our stderr.
    pub err: &'a mut dyn Write,
    /// `--ignore-errors` (or `ignore-errors yes`, once read).
    pub ignore_errors: bool,
    /// Every step, in order (what `--pretend` would print).
    pub log: Vec<Step>,
}

impl std::fmt::Debug for Session<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("mode", &self.mode)
            .field("ignore_errors", &self.ignore_errors)
            .finish_non_exhaustive()
    }
}

impl Session<'_> {
    /// Perl `execute()`.
    pub fn execute(&mut self, step: Step) -> Result<(), Stop> {
        let shown = matches!(self.mode, Mode::Pretend | Mode::Execute { verbose: true });
        if shown {
            // A failed write to stdout is not a reason to stop configuring tgtd.
            let _ = writeln!(self.out, "{}", step.text());
        }
        if let (Mode::Execute { .. }, Step::Cmd(cmd)) = (self.mode, &step) {
            match self.tgtd.run(cmd) {
                Ok(text) => {
                    let _ = self.out.write_all(text.as_bytes());
                }
                Err(f) => {
                    let _ = self.err.write_all(f.message.as_bytes());
                    if f.code != 0 {
                        if let Some(origin) = &cmd.origin {
                            let _ = writeln!(
                                self.err,
                                "tgt-admin: {origin}: the command above comes from here"
                            );
                        }
                        if !self.ignore_errors {
                            self.log.push(step.clone());
                            return Err(Stop::Failed {
                                line: cmd.line.clone(),
                                code: f.code,
                            });
                        }
                    }
                }
            }
        }
        self.log.push(step);
        Ok(())
    }

    /// A backtick query: tgtadm's stdout, or "" after its complaint on stderr.
    pub fn query(&mut self, line: String) -> String {
        match self.tgtd.run(&TgtadmCmd::new(line)) {
            Ok(text) => text,
            Err(f) => {
                let _ = self.err.write_all(f.message.as_bytes());
                String::new()
            }
        }
    }
}

/// Settings from the command line that the algorithm reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// `-C` as given ("0" when absent, as in the Perl tool).
    pub control_port: String,
    /// `-f`.
    pub force: bool,
    /// `-p` (also changes tid choices in `--update`).
    pub pretend: bool,
    /// `--update` was given (changes wording and decisions of `main_delete()`).
    pub update: bool,
    /// The effective uid is 0.
    pub root: bool,
}

/// Per-path LUN bookkeeping of `make_key()`/`find_next_lun()`: the `lun` and
/// `allow-in-use` values of every store block, and LUNs handed out.
#[derive(Debug, Default)]
struct DataKey(BTreeMap<String, (Option<String>, Option<String>)>);

impl DataKey {
    fn for_target(t: &Target) -> Self {
        let mut map = BTreeMap::new();
        for s in t.stores.iter().filter(|s| s.block.is_some()) {
            map.insert(
                s.path.clone(),
                (
                    s.block_value("lun").map(str::to_string),
                    s.block_value("allow-in-use").map(str::to_string),
                ),
            );
        }
        Self(map)
    }

    fn lun(&self, path: &str) -> Option<&str> {
        self.0.get(path)?.0.as_deref().filter(|l| !l.is_empty())
    }

    fn allow_in_use(&self, path: &str) -> bool {
        self.0.get(path).and_then(|e| e.1.as_deref()) == Some("yes")
    }

    /// Perl `find_next_lun()`: the smallest number from 1 that equals (as a string) no value
    /// recorded for any store, recorded for `path`.
    fn next_lun(&mut self, path: &str) -> String {
        let mut n: u64 = 1;
        loop {
            let s = n.to_string();
            let taken = self
                .0
                .values()
                .any(|(l, a)| l.as_deref() == Some(&s) || a.as_deref() == Some(&s));
            if !taken {
                self.0.entry(path.to_string()).or_default().0 = Some(s.clone());
                return s;
            }
            n += 1;
        }
    }
}

/// The Perl tool's state while it works.
pub struct Planner<'a, 's> {
    /// Where steps go.
    pub s: Session<'s>,
    probe: &'a dyn Probe,
    conf: Option<&'a Config>,
    set: Settings,
    /// `$control_port`: -C, possibly replaced by the configuration's `control-port`.
    control_port: String,
    control_port_from_conf: bool,
    view: TgtdView,
    accounts: BTreeSet<String>,
    next_tid: Option<String>,
    default_driver: Option<String>,
}

impl std::fmt::Debug for Planner<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Planner")
            .field("control_port", &self.control_port)
            .field("next_tid", &self.next_tid)
            .finish_non_exhaustive()
    }
}

const WRITE_CACHE_OFF: &str =
    "mode_page=8:0:18:0x10:0:0xff:0xff:0:0:0xff:0xff:0xff:0xff:0x80:0x14:0:0:0:0:0:0";

/// The target being created: what `add_params()` and friends read from Perl globals.
struct Current<'t> {
    target: &'t Target,
    driver: String,
    tid: String,
}

impl<'a, 's> Planner<'a, 's> {
    /// A planner sending steps to `s`, reading devices through `probe`.
    pub fn new(
        s: Session<'s>,
        probe: &'a dyn Probe,
        conf: Option<&'a Config>,
        set: Settings,
    ) -> Self {
        Self {
            s,
            probe,
            conf,
            control_port: set.control_port.clone(),
            control_port_from_conf: false,
            set,
            view: TgtdView::default(),
            accounts: BTreeSet::new(),
            next_tid: None,
            default_driver: None,
        }
    }

    fn step(&mut self, step: Step) -> Result<(), Stop> {
        self.s.execute(step)
    }

    fn comment(&mut self, text: impl Into<String>) -> Result<(), Stop> {
        self.step(Step::Comment(text.into()))
    }

    fn cmd(&mut self, line: String, origin: Option<&Loc>) -> Result<(), Stop> {
        let cmd = match origin {
            Some(loc) => TgtadmCmd::from_conf(line, loc),
            None => TgtadmCmd::new(line),
        };
        self.step(Step::Cmd(cmd))
    }

    fn conf(&self) -> Result<&'a Config, Stop> {
        self.conf.ok_or_else(|| Stop::Die {
            text: "internal error: no configuration was read\n".to_string(),
            code: 255,
        })
    }

    fn root_check(&self) -> Result<(), Stop> {
        if self.set.root {
            Ok(())
        } else {
            Err(Stop::Die {
                text: "You must be root to run this program.\n".to_string(),
                code: 255,
            })
        }
    }

    /// Perl `process_targets()`.
    pub fn process_targets(&mut self) -> Result<(), Stop> {
        self.root_check()?;
        let cp = &self.control_port;
        let text = self
            .s
            .query(format!("tgtadm -C {cp} --op show --mode target"));
        self.view.absorb(&text);
        self.next_tid = self.view.largest_tid().map(str::to_string);
        Ok(())
    }

    /// Perl `process_accounts()`.
    pub fn process_accounts(&mut self) -> Result<(), Stop> {
        self.root_check()?;
        let cp = &self.control_port;
        let text = self
            .s
            .query(format!("tgtadm -C {cp} --op show --mode account"));
        self.accounts.extend(parse_accounts(&text));
        Ok(())
    }

    /// Perl `check_isns()`.
    fn check_isns(&mut self) -> Result<bool, Stop> {
        self.root_check()?;
        let cp = &self.control_port;
        let text = self.s.query(format!("tgtadm -C {cp} --op show --mode sys"));
        Ok(isns_enabled(&text))
    }

    /// The tgtd view read so far (for `--dump`).
    pub fn view(&self) -> &TgtdView {
        &self.view
    }

    /// `-e`: create what is missing, then remove what is not configured.
    pub fn execute_config(&mut self) -> Result<(), Stop> {
        self.process_targets()?;
        self.process_accounts()?;
        self.add_targets(None, None, None)?;
        self.remove_targets()
    }

    /// Perl `add_targets($single_target, $configured, $connected, $in_configfile)`.
    fn add_targets(
        &mut self,
        single: Option<&str>,
        configured: Option<bool>,
        in_configfile: Option<bool>,
    ) -> Result<(), Stop> {
        let conf = self.conf()?;
        let g = &conf.globals;
        let isns_on = self.check_isns()?;
        // First pass over the sorted global keys.
        if let Some(dd) = &g.default_driver {
            self.default_driver = dd.as_ref().map_err(Stop::conf)?.clone();
        }
        for (key, value) in &g.isns_settings {
            if !isns_on {
                let v = value.as_ref().map_err(Stop::conf)?;
                let line = format!(
                    "tgtadm -C {} --op update --mode sys --name {key} -v {}",
                    self.control_port,
                    v.as_deref().unwrap_or("")
                );
                self.cmd(line, None)?;
            }
        }
        if g.ignore_errors {
            self.s.ignore_errors = true;
        }
        for (user, outgoing) in [
            (&g.incoming_discovery_user, false),
            (&g.outgoing_discovery_user, true),
        ] {
            let Some(user) = user else { continue };
            let up = user.as_ref().map_err(Stop::conf)?;
            if !self.accounts.contains(&up.user) {
                let line = format!(
                    "tgtadm -C {} --mode account --op new --user={} --password={}",
                    self.control_port, up.user, up.password
                );
                self.cmd(line, Some(&up.loc))?;
                self.accounts.insert(up.user.clone());
            }
            let line = format!(
                "tgtadm -C {} --mode account --op bind --user={} {}",
                self.control_port,
                up.user,
                if outgoing { " --outgoing" } else { "" }
            );
            self.cmd(line, Some(&up.loc))?;
        }
        // Second pass: control-port, then iSNS.
        if let Some((cp, loc)) = &g.control_port {
            if self.control_port == "0" {
                self.control_port = cp.as_ref().map_err(Stop::conf)?.clone().unwrap_or_default();
                self.control_port_from_conf = true;
            } else {
                return Err(Stop::conf(&ConfError::new(
                    loc.clone(),
                    crate::conf::ConfErrorKind::ControlPortConflict {
                        from_cli: !self.control_port_from_conf,
                    },
                )));
            }
        }
        if let Some(v) = &g.isns {
            if !isns_on {
                let v = v.as_ref().map_err(Stop::conf)?;
                let line = format!(
                    "tgtadm -C {} --op update --mode sys --name iSNS -v {}",
                    self.control_port,
                    v.as_deref().unwrap_or("")
                );
                self.cmd(line, None)?;
            } else {
                self.comment("# iSNS already enabled")?;
            }
        }
        if self.default_driver.is_none() {
            self.comment("# default-driver not defined, defaulting to iscsi.\n")?;
            self.default_driver = Some("iscsi".to_string());
        }

        if !conf.has_target_key {
            return Ok(());
        }
        let targets = conf.targets.as_ref().map_err(Stop::conf)?;
        for (name, entry) in targets {
            if single.is_some_and(|s| s != name) {
                continue;
            }
            let in_use = match single {
                Some(_) => self.main_delete(Some(name), None)?,
                None => false,
            };
            // Perl: not listed, or --update and (not in use, or in use with -p and -f).
            let create = !self.view.listed(name)
                || (self.set.update && (!in_use || (self.set.pretend && self.set.force)));
            if create {
                let tid = if in_configfile == Some(true)
                    && configured == Some(false)
                    && !self.set.pretend
                {
                    (self.view.max_tid() + 1).to_string()
                } else if single.is_some() && configured == Some(true) {
                    self.view.tid_of(name).unwrap_or("").to_string()
                } else {
                    (perl_int(self.next_tid.as_deref().unwrap_or("0")) + 1).to_string()
                };
                self.next_tid = Some(tid);
                let target = entry.target.as_ref().map_err(Stop::conf)?;
                if let Some(ct) = &target.controller_tid {
                    self.next_tid = Some(ct.clone());
                }
                let driver = target
                    .driver
                    .clone()
                    .or_else(|| self.default_driver.clone())
                    .unwrap_or_else(|| "iscsi".to_string());
                let cur = Current {
                    target,
                    driver,
                    tid: self.next_tid.clone().unwrap_or_default(),
                };
                self.create_target(&cur, &entry.loc)?;
            } else if configured.is_none() && !in_use {
                self.comment(format!("# Target {name} already exists!"))?;
            }
            let tid = self.next_tid.clone().unwrap_or_default();
            self.view.set_tid(name, tid);
        }
        if let Some(single) = single {
            if in_configfile == Some(false) && configured == Some(false) {
                return Err(Stop::Message {
                    text: format!(
                        "Target {single} is currently not configured\nand does not exist in the config file - can't continue!\n"
                    ),
                    code: 1,
                });
            }
        }
        self.step(Step::Blank)
    }

    /// The commands for one new target, in the order of its sorted option keys.
    fn create_target(&mut self, cur: &Current<'_>, loc: &Loc) -> Result<(), Stop> {
        let t = cur.target;
        let (cp, drv, tid) = (self.control_port.clone(), &cur.driver, &cur.tid);
        self.comment(format!("# Adding target: {}", t.name))?;
        self.cmd(
            format!(
                "tgtadm -C {cp} --lld {drv} --op new --mode target --tid {tid} -T {}",
                t.name
            ),
            Some(loc),
        )?;
        // Upper-case iSCSI keys sort before every lower-case directive.
        for kv in &t.iscsi {
            self.key_value(cur, &kv.key, &kv.value, kv.repeated, loc)?;
        }
        let mut data_key = DataKey::for_target(t);
        for store in &t.stores {
            self.add_store(cur, store, &mut data_key)?;
        }
        for u in &t.incoming_users {
            self.new_account(&cp, drv, &u.user, &u.password, &u.loc)?;
            self.cmd(
                format!(
                    "tgtadm -C {cp} --lld {drv} --mode account --op bind --tid={tid} --user={}",
                    u.user
                ),
                Some(&u.loc),
            )?;
        }
        for a in t.initiator_addresses.iter().flatten() {
            self.cmd(
                format!("tgtadm -C {cp} --lld {drv} --op bind --mode target --tid {tid} -I {a}"),
                Some(loc),
            )?;
        }
        for n in &t.initiator_names {
            self.cmd(
                format!("tgtadm -C {cp} --lld {drv} --op bind --mode target --tid {tid} -Q {n}"),
                Some(loc),
            )?;
        }
        if let Some((u, more)) = &t.outgoing_user {
            if *more {
                self.comment(
                    "# Warning: only one outgoinguser is allowed. Will only use the first one.",
                )?;
            }
            self.new_account(&cp, drv, &u.user, &u.password, &u.loc)?;
            self.cmd(
                format!(
                    "tgtadm -C {cp} --lld {drv} --mode account --op bind --tid={tid} --user={} --outgoing",
                    u.user
                ),
                Some(&u.loc),
            )?;
        }
        for kv in &t.states {
            self.key_value(cur, &kv.key, &kv.value, kv.repeated, loc)?;
        }
        if t.initiator_addresses.is_none() {
            self.cmd(
                format!("tgtadm -C {cp} --lld {drv} --op bind --mode target --tid {tid} -I ALL"),
                Some(loc),
            )?;
        }
        Ok(())
    }

    fn key_value(
        &mut self,
        cur: &Current<'_>,
        key: &str,
        value: &str,
        repeated: bool,
        loc: &Loc,
    ) -> Result<(), Stop> {
        if repeated {
            self.comment(format!(
                "# Warning: only one {key} is allowed. Will only use the first one."
            ))?;
        }
        let line = format!(
            "tgtadm -C {} --lld {} --mode target --op update --tid {} --name {key} --value {value}",
            self.control_port, cur.driver, cur.tid
        );
        self.cmd(line, Some(loc))
    }

    /// `account new` unless tgtd (or an earlier step) already has the account.
    fn new_account(
        &mut self,
        cp: &str,
        drv: &str,
        user: &str,
        pass: &str,
        loc: &Loc,
    ) -> Result<(), Stop> {
        if self.accounts.contains(user) {
            return Ok(());
        }
        self.cmd(
            format!("tgtadm -C {cp} --lld {drv} --mode account --op new --user={user} --password={pass}"),
            Some(loc),
        )?;
        self.accounts.insert(user.to_string());
        Ok(())
    }

    /// Perl `check_device()`: may the device be used?
    fn check_device(&mut self, path: &str, data_key: &DataKey) -> Result<bool, Stop> {
        if data_key.allow_in_use(path) || !self.probe.exists(path) {
            return Ok(true);
        }
        if self.s.mode == Mode::Rehearse {
            return Ok(true);
        }
        if self.probe.used_by_system(path) {
            self.comment(format!(
                "# Device {path} is used by the system (mounted, used by swap?)."
            ))?;
            return Ok(false);
        }
        if self.probe.used_by_process(path) {
            self.comment(format!("# Device {path} is used (already tgtd target?)."))?;
            self.comment(format!("# Run 'lsof {path}' to see the details."))?;
            return Ok(false);
        }
        Ok(true)
    }

    /// Perl `add_params()`: the step for one LU setting.
    fn lu_param(
        &self,
        cur: &Current<'_>,
        lun: &str,
        key: &str,
        value: Option<&str>,
        loc: &Loc,
    ) -> Option<Step> {
        let (cp, drv, tid) = (&self.control_port, &cur.driver, &cur.tid);
        let update = format!(
            "tgtadm -C {cp} --lld {drv} --op update --mode logicalunit --tid {tid} --lun={lun} --params"
        );
        match key {
            "write-cache" => Some(match value {
                Some("off") => Step::Cmd(TgtadmCmd::from_conf(format!("{update} {WRITE_CACHE_OFF}"), loc)),
                Some("on") | Some("") | None => {
                    Step::Comment(format!("# Write cache is enabled (default) for lun {lun}."))
                }
                Some(other) => Step::Comment(format!(
                    "# WARNING! Unknown value ({other}) to write-cache! Accepted values are \"on\" and \"off\"."
                )),
            }),
            "params" => Some(Step::Cmd(TgtadmCmd::from_conf(
                format!("{update} \"{}\"", value.unwrap_or("")),
                loc,
            ))),
            k if LU_PARAMS.contains(&k) => Some(Step::Cmd(TgtadmCmd::from_conf(
                format!("{update} {k}=\"{}\"", value.unwrap_or("")),
                loc,
            ))),
            _ => None,
        }
    }

    /// Perl `add_backing_direct()`: one LUN.
    fn add_store(
        &mut self,
        cur: &Current<'_>,
        store: &Store,
        data_key: &mut DataKey,
    ) -> Result<(), Stop> {
        let t = cur.target;
        let path = store.path.as_str();
        let bstype = t.defaults.bs_type.as_deref().unwrap_or("");
        let mut can_alloc = true;
        if !bstype.contains("rbd") && !self.set.force && !t.allow_in_use {
            can_alloc = self.check_device(path, data_key)?;
        }
        let usable =
            bstype.contains("glfs") || bstype.contains("rbd") || self.probe.is_usable_file(path);
        if !can_alloc {
            self.comment(format!("# Skipping device {path} - it is in use."))?;
            self.comment(
                "# You can override it with --force or 'allow-in-use yes' config option.",
            )?;
            return self.comment(
                "# Note - do so only if you know what you're doing, you may damage your data.",
            );
        }
        if !usable {
            self.comment(format!("# Skipping device: {path}"))?;
            return self.comment(format!(
                "# {path} does not exist - please check the configuration file"
            ));
        }
        let mut lun = match data_key.lun(path) {
            Some(l) => l.to_string(),
            None => data_key.next_lun(path),
        };
        if let Some(l) = &t.lun {
            lun = l.clone();
        }
        let loc = &store.loc;
        let mut steps: Vec<Step> = Vec::new();
        let mut added: HashSet<&str> = HashSet::new();
        let (mut device_type, mut bs_type, mut bsopts, mut bsoflags, mut block_size) =
            (None, None, None, None, None);
        for opt in store.block.iter().flatten() {
            match opt {
                LunOption::Single { key, value } => {
                    let k = key.as_str();
                    if k == "write-cache" {
                        steps.extend(self.lu_param(cur, &lun, k, Some(value), loc));
                        added.insert("write_cache");
                    } else {
                        steps.extend(self.lu_param(cur, &lun, k, Some(value), loc));
                        added.insert(k);
                    }
                    match k {
                        "device-type" => device_type = Some(value.clone()),
                        "bs-type" => bs_type = Some(value.clone()),
                        "bsopts" => bsopts = Some(value.clone()),
                        "bsoflags" => bsoflags = Some(value.clone()),
                        "block-size" => block_size = Some(value.clone()),
                        _ => {}
                    }
                }
                LunOption::Multi { key, values } => {
                    for v in values {
                        steps.extend(self.lu_param(cur, &lun, key, Some(v), loc));
                    }
                }
            }
        }
        let id = match store.kind {
            StoreKind::Direct => self.probe.identity(path),
            StoreKind::Backing => Identity::default(),
        };
        if block_size.is_none() {
            block_size = id.block_size.clone();
        }
        let defaults = &t.defaults;
        for &opt in DEFAULTS_PLAIN {
            if let Some(v) = defaults.params.get(opt) {
                if added.insert(opt) {
                    steps.extend(self.lu_param(cur, &lun, opt, Some(v), loc));
                }
            }
        }
        for &opt in DEFAULTS_DEVICE {
            let v = defaults
                .params
                .get(opt)
                .map(String::as_str)
                .or_else(|| id.param(opt))
                .filter(|v| !v.is_empty());
            if let Some(v) = v {
                if added.insert(opt) {
                    steps.extend(self.lu_param(cur, &lun, opt, Some(v), loc));
                }
            }
        }
        if added.insert("write_cache") {
            steps.extend(self.lu_param(
                cur,
                &lun,
                "write-cache",
                defaults.write_cache.as_deref(),
                loc,
            ));
        }
        for mp in &defaults.mode_pages {
            steps.extend(self.lu_param(cur, &lun, "mode_page", Some(mp), loc));
        }
        for p in &defaults.extra_params {
            steps.extend(self.lu_param(cur, &lun, "params", Some(p), loc));
        }
        if !added.contains("device-type") {
            device_type = defaults.device_type.clone();
        }
        if !added.contains("bs-type") {
            bs_type = defaults.bs_type.clone();
        }
        if !added.contains("bsopts") {
            bsopts = defaults.bsopts.clone();
        }
        if !added.contains("bsoflags") {
            bsoflags = defaults.bsoflags.clone();
        }
        let flag =
            |name: &str, v: Option<String>| v.map(|v| format!("--{name} {v}")).unwrap_or_default();
        let line = format!(
            "tgtadm -C {} --lld {} --op new --mode logicalunit --tid {} --lun {lun} -b \"{path}\" {} {} {} {} {}",
            self.control_port,
            cur.driver,
            cur.tid,
            flag("device-type", device_type),
            flag("bstype", bs_type),
            flag("bsopts", bsopts),
            flag("bsoflags", bsoflags),
            flag("blocksize", block_size),
        );
        self.cmd(line, Some(loc))?;
        // Mode pages first (write-cache off is one), then the rest, each in collection order.
        let (first, rest): (Vec<Step>, Vec<Step>) = steps
            .into_iter()
            .partition(|s| matches!(s, Step::Cmd(c) if c.line.contains("params mode_page")));
        for s in first.into_iter().chain(rest) {
            self.step(s)?;
        }
        Ok(())
    }

    /// Perl `main_delete($target, $tid)`: returns true when the target is in use and was
    /// left alone.
    pub fn main_delete(&mut self, target: Option<&str>, tid: Option<&str>) -> Result<bool, Stop> {
        let name = target.unwrap_or("");
        let configured = self.view.configured(name);
        let cp = self.control_port.clone();
        let t = self.view.tid_of(name).unwrap_or("").to_string();
        if self.view.connected(name) {
            if !self.set.force {
                let what = if self.set.update {
                    "updated"
                } else {
                    "deleted"
                };
                self.comment(format!(
                    "# Target with tid {t} ({name}) is in use, it won't be {what}."
                ))?;
                return Ok(true);
            }
            self.comment(format!("# Removing target: {name}"))?;
            for acl in self.view.acls(name) {
                let acl = acl.unwrap_or_default();
                self.cmd(
                    format!("tgtadm -C {cp} --op unbind --mode target --tid {t} -I {acl}"),
                    None,
                )?;
            }
            for (sid, cid) in self.view.sessions(name) {
                self.cmd(
                    format!(
                        "tgtadm -C {cp} --op delete --mode conn --tid {t} --sid {sid} --cid {cid}"
                    ),
                    None,
                )?;
            }
            self.cmd(
                format!("tgtadm -C {cp} --mode target --op delete --tid={t}"),
                None,
            )?;
        } else if !t.is_empty() {
            self.comment(format!("# Removing target: {name}"))?;
            self.cmd(
                format!("tgtadm -C {cp} --mode target --op delete --tid={t}"),
                None,
            )?;
        } else {
            match tid.filter(|t| !t.is_empty()) {
                Some(tid) => self.comment(format!("# Target with tid {tid} does not exist!"))?,
                None => self.comment(format!("# Target with name {name} does not exist!"))?,
            }
        }
        if configured {
            self.step(Step::Blank)?;
        }
        Ok(false)
    }

    /// Perl `remove_targets()`: after `-e`, delete targets the configuration does not have.
    fn remove_targets(&mut self) -> Result<(), Stop> {
        self.process_targets()?;
        let conf = self.conf()?;
        if !conf.has_target_key {
            return Ok(());
        }
        let configured: BTreeSet<&str> = match &conf.targets {
            Ok(t) => t.keys().map(String::as_str).collect(),
            Err(e) => return Err(Stop::conf(e)),
        };
        for existing in self.view.targets() {
            if !configured.contains(existing.as_str()) {
                self.main_delete(Some(&existing), None)?;
            }
        }
        Ok(())
    }

    fn in_configfile(&self, name: &str) -> Result<bool, Stop> {
        let conf = self.conf()?;
        if !conf.has_target_key {
            return Ok(false);
        }
        match &conf.targets {
            Ok(t) => Ok(t.contains_key(name)),
            Err(e) => Err(Stop::conf(e)),
        }
    }

    /// Perl `update_targets()` for `ALL`, `tid=N` or a name (the configuration is read).
    pub fn update(&mut self, selector: &str) -> Result<(), Stop> {
        self.process_targets()?;
        if selector == "ALL" {
            let conf = self.conf()?;
            let mut combined: Vec<String> = Vec::new();
            let in_file: Vec<String> = if conf.has_target_key {
                conf.targets
                    .as_ref()
                    .map_err(Stop::conf)?
                    .keys()
                    .cloned()
                    .collect()
            } else {
                Vec::new()
            };
            for t in self.view.targets() {
                if !in_file.contains(&t) {
                    combined.push(t);
                }
            }
            combined.extend(in_file);
            for t in combined {
                let configured = self.view.configured(&t);
                let in_config = self.in_configfile(&t)?;
                if !in_config && configured {
                    self.main_delete(Some(&t), None)?;
                } else {
                    self.add_targets(Some(&t), Some(configured), Some(in_config))?;
                }
            }
            return Ok(());
        }
        if let Some(tid) = selector.strip_prefix("tid=").filter(|t| !t.is_empty()) {
            let current = self.view.name_of(tid).map(str::to_string);
            let name = current.clone().unwrap_or_default();
            let configured = self.view.configured(&name);
            let in_config = current.is_some() && self.in_configfile(&name)?;
            if !in_config && configured {
                self.main_delete(current.as_deref(), None)?;
            } else if configured {
                self.add_targets(Some(&name), Some(configured), Some(in_config))?;
            } else {
                return Err(Stop::Message {
                    text: format!("There is no target with tid {tid}, can't continue!\n"),
                    code: 1,
                });
            }
            return Ok(());
        }
        let configured = self.view.configured(selector);
        let in_config = self.in_configfile(selector)?;
        if !in_config && configured {
            self.main_delete(Some(selector), None)?;
        } else {
            self.add_targets(Some(selector), Some(configured), Some(in_config))?;
        }
        Ok(())
    }

    /// Perl `delete_targets()` for `ALL`, `tid=N` or a name.
    pub fn delete(&mut self, selector: &str) -> Result<(), Stop> {
        self.process_targets()?;
        if selector == "ALL" {
            for t in self.view.targets() {
                self.main_delete(Some(&t), None)?;
            }
        } else if let Some(tid) = selector.strip_prefix("tid=").filter(|t| !t.is_empty()) {
            let current = self.view.name_of(tid).map(str::to_string);
            self.main_delete(current.as_deref(), Some(tid))?;
        } else {
            self.main_delete(Some(selector), None)?;
        }
        Ok(())
    }

    /// Perl `ready_offline_targets()` for `ALL`, `...tid=N` or a name; `state` is
    /// "offline" or "ready".
    pub fn set_state(&mut self, selector: &str, state: &str) -> Result<(), Stop> {
        self.process_targets()?;
        let cp = self.control_port.clone();
        if selector == "ALL" {
            for t in self.view.targets() {
                let tid = self.view.tid_of(&t).unwrap_or("").to_string();
                self.cmd(
                    format!(
                        "tgtadm -C {cp} --op update --mode target --tid={tid} -n state -v {state}"
                    ),
                    None,
                )?;
            }
        } else if let Some(tid) = selector
            .find("tid=")
            .map(|i| &selector[i + 4..])
            .filter(|t| !t.is_empty())
        {
            self.cmd(
                format!("tgtadm -C {cp} --op update --mode target --tid={tid} -n state -v {state}"),
                None,
            )?;
        } else {
            match self.view.tid_of(selector).filter(|t| !t.is_empty()) {
                Some(tid) => {
                    let line = format!(
                        "tgtadm -C {cp} --op update --mode target --tid={tid} --name=\"{selector}\" -n state -v {state}"
                    );
                    self.cmd(line, None)?;
                }
                None => {
                    return Err(Stop::Message {
                        text: format!(
                            "There is no target with name \"{selector}\", can't {state} it!\n"
                        ),
                        code: 1,
                    })
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conf::load_str;
    use crate::fake_tgtd::{FakeProbe, FakeTgtd};

    fn settings(port: &str) -> Settings {
        Settings {
            control_port: port.into(),
            force: false,
            pretend: true,
            update: false,
            root: true,
        }
    }

    /// Runs `f` on a planner over `tgtd`; returns stdout and the result.
    fn with_planner(
        conf: Option<&Config>,
        tgtd: &mut FakeTgtd,
        probe: &FakeProbe,
        set: Settings,
        mode: Mode,
        ignore_errors: bool,
        f: impl FnOnce(&mut Planner<'_, '_>) -> Result<(), Stop>,
    ) -> (String, Result<(), Stop>) {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let result = {
            let s = Session {
                mode,
                tgtd,
                out: &mut out,
                err: &mut err,
                ignore_errors,
                log: Vec::new(),
            };
            let mut p = Planner::new(s, probe, conf, set);
            f(&mut p)
        };
        (String::from_utf8(out).unwrap(), result)
    }

    const EX1: &str = "<target iqn.2024-01.com.example:ex1>
    backing-store /srv/tgt-example/lun2.img
    backing-store /srv/tgt-example/lun1.img
    incominguser alice secretpass12
    incominguser carol secretpass34
    outgoinguser bob outpass12345
    initiator-address 127.0.0.1
    initiator-name iqn.1994-05.com.redhat:client1
    MaxRecvDataSegmentLength 65536
    write-cache off
    vendor_id MyVendor
</target>
";

    // Expected text: targets-conf.md §7.1, captured from the Perl tool 1.0.85.
    #[test]
    fn reference_7_1_pretend_output_is_the_perl_tools() {
        let conf = load_str("ex1.conf", EX1).unwrap();
        let probe =
            FakeProbe::with_files(&["/srv/tgt-example/lun1.img", "/srv/tgt-example/lun2.img"]);
        let mut tgtd = FakeTgtd::default();
        let (out, r) = with_planner(
            Some(&conf),
            &mut tgtd,
            &probe,
            settings("22"),
            Mode::Pretend,
            false,
            |p| p.execute_config(),
        );
        r.unwrap();
        let wc = "mode_page=8:0:18:0x10:0:0xff:0xff:0:0:0xff:0xff:0xff:0xff:0x80:0x14:0:0:0:0:0:0";
        let expected = format!(
            "# default-driver not defined, defaulting to iscsi.

# Adding target: iqn.2024-01.com.example:ex1
tgtadm -C 22 --lld iscsi --op new --mode target --tid 1 -T iqn.2024-01.com.example:ex1
tgtadm -C 22 --lld iscsi --mode target --op update --tid 1 --name MaxRecvDataSegmentLength --value 65536
tgtadm -C 22 --lld iscsi --op new --mode logicalunit --tid 1 --lun 1 -b \"/srv/tgt-example/lun1.img\"     
tgtadm -C 22 --lld iscsi --op update --mode logicalunit --tid 1 --lun=1 --params {wc}
tgtadm -C 22 --lld iscsi --op update --mode logicalunit --tid 1 --lun=1 --params vendor_id=\"MyVendor\"
tgtadm -C 22 --lld iscsi --op new --mode logicalunit --tid 1 --lun 2 -b \"/srv/tgt-example/lun2.img\"     
tgtadm -C 22 --lld iscsi --op update --mode logicalunit --tid 1 --lun=2 --params {wc}
tgtadm -C 22 --lld iscsi --op update --mode logicalunit --tid 1 --lun=2 --params vendor_id=\"MyVendor\"
tgtadm -C 22 --lld iscsi --mode account --op new --user=alice --password=secretpass12
tgtadm -C 22 --lld iscsi --mode account --op bind --tid=1 --user=alice
tgtadm -C 22 --lld iscsi --mode account --op new --user=carol --password=secretpass34
tgtadm -C 22 --lld iscsi --mode account --op bind --tid=1 --user=carol
tgtadm -C 22 --lld iscsi --op bind --mode target --tid 1 -I 127.0.0.1
tgtadm -C 22 --lld iscsi --op bind --mode target --tid 1 -Q iqn.1994-05.com.redhat:client1
tgtadm -C 22 --lld iscsi --mode account --op new --user=bob --password=outpass12345
tgtadm -C 22 --lld iscsi --mode account --op bind --tid=1 --user=bob --outgoing

"
        );
        assert_eq!(out, expected);
        // Pretend sends queries only.
        assert!(tgtd.lines.iter().all(|l| l.contains("--op show")));
    }

    // Expected text: targets-conf.md §7.3 (a tgtd with one target, which is removed).
    #[test]
    fn reference_7_3_target_defaults_output_is_the_perl_tools() {
        let text = "<target iqn.2024-01.com.example:ex5>
    backing-store /srv/tgt-example/lun1.img
    block-size 4096
    bs-type aio
    bsoflags direct
    device-type disk
    state offline
    foo bar
    lun 7
    allow-in-use yes
    params thin_provisioning=1
    params rotation_rate=1
    mode_page 0x1c:0:10:8:0:0:0:0:0:0:0:0:0
    online 1
    removable 0
    sense_format 1
    product_rev 0100
    incominguser u1 pass1pass1pass1
    incominguser u2 pass2pass2pass2
    outgoinguser o1 opass1opass1
    outgoinguser o2 opass2opass2
</target>
";
        let conf = load_str("ex5.conf", text).unwrap();
        let probe = FakeProbe::with_files(&["/srv/tgt-example/lun1.img"]);
        let mut tgtd = FakeTgtd::default();
        tgtd.add_target(1, "iqn.2024-01.com.example:other");
        let (out, r) = with_planner(
            Some(&conf),
            &mut tgtd,
            &probe,
            settings("25"),
            Mode::Pretend,
            false,
            |p| p.execute_config(),
        );
        r.unwrap();
        let p = "tgtadm -C 25 --lld iscsi --op update --mode logicalunit --tid 2 --lun=7 --params";
        let a = "tgtadm -C 25 --lld iscsi --mode account --op";
        let expected = format!(
            "# default-driver not defined, defaulting to iscsi.

# Adding target: iqn.2024-01.com.example:ex5
tgtadm -C 25 --lld iscsi --op new --mode target --tid 2 -T iqn.2024-01.com.example:ex5
tgtadm -C 25 --lld iscsi --op new --mode logicalunit --tid 2 --lun 7 -b \"/srv/tgt-example/lun1.img\" --device-type disk --bstype aio  --bsoflags direct 
{p} mode_page=\"0x1c:0:10:8:0:0:0:0:0:0:0:0:0\"
{p} sense_format=\"1\"
{p} removable=\"0\"
{p} online=\"1\"
{p} product_rev=\"0100\"
# Write cache is enabled (default) for lun 7.
{p} \"thin_provisioning=1\"
{p} \"rotation_rate=1\"
{a} new --user=u1 --password=pass1pass1pass1
{a} bind --tid=2 --user=u1
{a} new --user=u2 --password=pass2pass2pass2
{a} bind --tid=2 --user=u2
# Warning: only one outgoinguser is allowed. Will only use the first one.
{a} new --user=o1 --password=opass1opass1
{a} bind --tid=2 --user=o1 --outgoing
tgtadm -C 25 --lld iscsi --mode target --op update --tid 2 --name state --value offline
tgtadm -C 25 --lld iscsi --op bind --mode target --tid 2 -I ALL

# Removing target: iqn.2024-01.com.example:other
tgtadm -C 25 --mode target --op delete --tid=1

"
        );
        assert_eq!(out, expected);
    }

    // Expected text: targets-conf.md §7.5, the packaging's stop sequence.
    #[test]
    fn reference_7_5_update_all_with_an_empty_file_removes_every_target() {
        let conf = load_str("/dev/null", "").unwrap();
        let mut tgtd = FakeTgtd::default();
        tgtd.add_target(1, "iqn.2001-04.com.example:facts.t1");
        tgtd.add_target(2, "iqn.2001-04.com.example:facts.t2");
        let set = Settings {
            force: true,
            update: true,
            ..settings("21")
        };
        let (out, r) = with_planner(
            Some(&conf),
            &mut tgtd,
            &FakeProbe::default(),
            set.clone(),
            Mode::Pretend,
            false,
            |p| {
                p.process_accounts()?;
                p.update("ALL")
            },
        );
        r.unwrap();
        assert_eq!(
            out,
            "# Removing target: iqn.2001-04.com.example:facts.t1
tgtadm -C 21 --mode target --op delete --tid=1

# Removing target: iqn.2001-04.com.example:facts.t2
tgtadm -C 21 --mode target --op delete --tid=2

"
        );
        let (out, r) = with_planner(
            None,
            &mut tgtd,
            &FakeProbe::default(),
            set,
            Mode::Pretend,
            false,
            |p| p.set_state("ALL", "offline"),
        );
        r.unwrap();
        assert_eq!(
            out,
            "tgtadm -C 21 --op update --mode target --tid=1 -n state -v offline
tgtadm -C 21 --op update --mode target --tid=2 -n state -v offline
"
        );
    }

    #[test]
    fn execute_then_update_keeps_tids_deletes_and_adds() {
        let first = load_str(
            "a.conf",
            "<target t:a>\nbacking-store /a1\n</target>\n<target t:b>\nbacking-store /b1\n</target>\n",
        )
        .unwrap();
        let probe = FakeProbe::with_files(&["/a1", "/a2", "/b1", "/c1"]);
        let mut tgtd = FakeTgtd::default();
        let exec = Mode::Execute { verbose: false };
        let set = Settings {
            pretend: false,
            ..settings("0")
        };
        let (_, r) = with_planner(
            Some(&first),
            &mut tgtd,
            &probe,
            set.clone(),
            exec,
            false,
            |p| p.execute_config(),
        );
        r.unwrap();
        assert_eq!(tgtd.targets[&1].luns.values().collect::<Vec<_>>(), ["/a1"]);
        assert_eq!(tgtd.targets[&2].name, "t:b");

        let second = load_str(
            "b.conf",
            "<target t:a>\nbacking-store /a1\nbacking-store /a2\n</target>\n<target t:c>\nbacking-store /c1\n</target>\n",
        )
        .unwrap();
        let set = Settings {
            update: true,
            ..set
        };
        let (_, r) = with_planner(Some(&second), &mut tgtd, &probe, set, exec, false, |p| {
            p.process_accounts()?;
            p.update("ALL")
        });
        r.unwrap();
        let names: Vec<(i32, &str)> = tgtd
            .targets
            .iter()
            .map(|(t, x)| (*t, x.name.as_str()))
            .collect();
        // t:a keeps tid 1; t:c gets max(known tids) + 1, counting the deleted t:b.
        assert_eq!(names, [(1, "t:a"), (3, "t:c")]);
        assert_eq!(
            tgtd.targets[&1].luns.values().collect::<Vec<_>>(),
            ["/a1", "/a2"]
        );
    }

    #[test]
    fn busy_devices_are_skipped_unless_allowed_or_forced() {
        let conf = load_str(
            "t.conf",
            "<target t:a>\nbacking-store /busy\n</target>\n<target t:b>\nallow-in-use yes\nbacking-store /busy\n</target>\n",
        )
        .unwrap();
        let mut probe = FakeProbe::with_files(&["/busy"]);
        probe.open.insert("/busy".into());
        let mut tgtd = FakeTgtd::default();
        let (out, r) = with_planner(
            Some(&conf),
            &mut tgtd,
            &probe,
            settings("0"),
            Mode::Pretend,
            false,
            |p| p.execute_config(),
        );
        r.unwrap();
        assert!(out.contains(
            "# Device /busy is used (already tgtd target?).
# Run 'lsof /busy' to see the details.
# Skipping device /busy - it is in use.
# You can override it with --force or 'allow-in-use yes' config option.
# Note - do so only if you know what you're doing, you may damage your data.
"
        ));
        assert!(out.contains("--tid 2 --lun 1 -b \"/busy\""));
        assert!(!out.contains("--tid 1 --lun 1"));
    }

    #[test]
    fn forced_delete_unbinds_acls_and_drops_sessions_first() {
        let mut tgtd = FakeTgtd::default();
        tgtd.add_target(1, "t:a");
        let t = tgtd.targets.get_mut(&1).unwrap();
        t.acls = vec![(false, "127.0.0.1".into()), (true, "iqn.x:y".into())];
        t.sessions.push((1, 0, "iqn.x:y".into()));
        let exec = Mode::Execute { verbose: true };
        let set = Settings {
            force: true,
            pretend: false,
            ..settings("0")
        };
        // Unbinding a name ACL with -I fails, as with C tgtd: the Perl tool stops with 22.
        let (out, r) = with_planner(
            None,
            &mut tgtd,
            &FakeProbe::default(),
            set.clone(),
            exec,
            false,
            |p| p.delete("ALL"),
        );
        assert_eq!(
            r,
            Err(Stop::Failed {
                line: "tgtadm -C 0 --op unbind --mode target --tid 1 -I iqn.x:y".into(),
                code: 22
            })
        );
        assert!(out.starts_with(
            "# Removing target: t:a\ntgtadm -C 0 --op unbind --mode target --tid 1 -I 127.0.0.1\n"
        ));
        let (_, r) = with_planner(
            None,
            &mut tgtd,
            &FakeProbe::default(),
            set,
            exec,
            true,
            |p| p.delete("ALL"),
        );
        r.unwrap();
        assert!(tgtd.targets.is_empty());
        assert!(tgtd
            .lines
            .contains(&"tgtadm -C 0 --op delete --mode conn --tid 1 --sid 1 --cid 0".to_string()));
    }

    #[test]
    fn in_use_target_is_neither_deleted_nor_updated_without_force() {
        let mut tgtd = FakeTgtd::default();
        tgtd.add_target(4, "t:a");
        tgtd.targets
            .get_mut(&4)
            .unwrap()
            .sessions
            .push((2, 0, "i".into()));
        let set = Settings {
            update: true,
            ..settings("0")
        };
        let conf = load_str("t.conf", "<target t:a>\n</target>\n").unwrap();
        let (out, r) = with_planner(
            Some(&conf),
            &mut tgtd,
            &FakeProbe::default(),
            set,
            Mode::Pretend,
            false,
            |p| p.update("t:a"),
        );
        r.unwrap();
        assert_eq!(
            out,
            "# default-driver not defined, defaulting to iscsi.\n\n\
             # Target with tid 4 (t:a) is in use, it won't be updated.\n\n"
        );
    }

    #[test]
    fn rehearsal_finds_a_bad_target_before_anything_is_sent() {
        let conf = load_str(
            "t.conf",
            "<target t:a>\n</target>\n<target t:b>\nincominguser alone\n</target>\n",
        )
        .unwrap();
        let mut tgtd = FakeTgtd::default();
        let (out, r) = with_planner(
            Some(&conf),
            &mut tgtd,
            &FakeProbe::default(),
            settings("0"),
            Mode::Rehearse,
            false,
            |p| p.execute_config(),
        );
        assert_eq!(
            r,
            Err(Stop::Conf {
                message:
                    "t.conf:4: incominguser: expected USER and PASSWORD separated by one space"
                        .into(),
                code: 1
            })
        );
        assert!(out.is_empty());
        assert!(tgtd.targets.is_empty());
        assert!(tgtd.lines.iter().all(|l| l.contains("--op show")));
    }

    #[test]
    fn update_of_an_unknown_target_stops_with_the_perl_message() {
        let conf = load_str("t.conf", "<target t:a>\n</target>\n").unwrap();
        let mut tgtd = FakeTgtd::default();
        let set = Settings {
            update: true,
            ..settings("0")
        };
        let (_, r) = with_planner(
            Some(&conf),
            &mut tgtd,
            &FakeProbe::default(),
            set.clone(),
            Mode::Pretend,
            false,
            |p| p.update("t:zz"),
        );
        assert_eq!(
            r,
            Err(Stop::Message {
                text: "Target t:zz is currently not configured\nand does not exist in the config file - can't continue!\n".into(),
                code: 1
            })
        );
        let (_, r) = with_planner(
            Some(&conf),
            &mut tgtd,
            &FakeProbe::default(),
            set,
            Mode::Pretend,
            false,
            |p| p.update("tid=9"),
        );
        assert_eq!(
            r,
            Err(Stop::Message {
                text: "There is no target with tid 9, can't continue!\n".into(),
                code: 1
            })
        );
    }

    #[test]
    fn direct_store_takes_what_the_device_reports_unless_configured() {
        let conf = load_str(
            "t.conf",
            "<target t:d>\ndirect-store /dev/sdz\nvendor_id Mine\n</target>\n",
        )
        .unwrap();
        let mut probe = FakeProbe::with_files(&["/dev/sdz"]);
        probe.identities.insert(
            "/dev/sdz".into(),
            Identity {
                vendor_id: Some("ATA     ".into()),
                product_id: Some("DISK".into()),
                product_rev: Some("1.0".into()),
                scsi_sn: Some("SN9".into()),
                block_size: Some("4096".into()),
                lbppbe: Some("0".into()),
                la_lba: Some("0".into()),
                ..Identity::default()
            },
        );
        let mut tgtd = FakeTgtd::default();
        let (out, r) = with_planner(
            Some(&conf),
            &mut tgtd,
            &probe,
            settings("0"),
            Mode::Pretend,
            false,
            |p| p.execute_config(),
        );
        r.unwrap();
        let lines: Vec<&str> = out.lines().filter(|l| l.contains("logicalunit")).collect();
        assert_eq!(
            lines,
            [
                "tgtadm -C 0 --lld iscsi --op new --mode logicalunit --tid 1 --lun 1 -b \"/dev/sdz\"     --blocksize 4096",
                "tgtadm -C 0 --lld iscsi --op update --mode logicalunit --tid 1 --lun=1 --params vendor_id=\"Mine\"",
                "tgtadm -C 0 --lld iscsi --op update --mode logicalunit --tid 1 --lun=1 --params product_id=\"DISK\"",
                "tgtadm -C 0 --lld iscsi --op update --mode logicalunit --tid 1 --lun=1 --params product_rev=\"1.0\"",
                "tgtadm -C 0 --lld iscsi --op update --mode logicalunit --tid 1 --lun=1 --params scsi_sn=\"SN9\"",
                "tgtadm -C 0 --lld iscsi --op update --mode logicalunit --tid 1 --lun=1 --params lbppbe=\"0\"",
                "tgtadm -C 0 --lld iscsi --op update --mode logicalunit --tid 1 --lun=1 --params la_lba=\"0\"",
            ]
        );
    }

    /// config → tgtd → --dump → parse gives the same targets, stores, users and ACLs.
    #[test]
    fn dump_of_an_applied_config_parses_back_to_the_same_configuration() {
        let text = "<target iqn.2024-01.com.example:rt1>
    backing-store /img/b.img
    backing-store /img/a.img
    incominguser alice alicepass12
    incominguser bob bobpass12345
    outgoinguser carol carolpass123
    initiator-address 10.0.0.1
    initiator-address 127.0.0.1
    initiator-name iqn.1994-05.com.redhat:client1
</target>
<target iqn.2024-01.com.example:rt2>
    backing-store /img/c.img
</target>
";
        let original = load_str("rt.conf", text).unwrap();
        let probe = FakeProbe::with_files(&["/img/a.img", "/img/b.img", "/img/c.img"]);
        let mut tgtd = FakeTgtd::default();
        let set = Settings {
            pretend: false,
            ..settings("0")
        };
        let exec = Mode::Execute { verbose: false };
        let (_, r) = with_planner(
            Some(&original),
            &mut tgtd,
            &probe,
            set.clone(),
            exec,
            false,
            |p| p.execute_config(),
        );
        r.unwrap();
        let mut dumped = String::new();
        let (_, r) = with_planner(None, &mut tgtd, &probe, set, exec, false, |p| {
            p.process_targets()?;
            dumped = crate::dump::render(p.view());
            Ok(())
        });
        r.unwrap();
        let reparsed = load_str("dump.conf", &dumped).unwrap();
        let summary = |c: &Config| -> Vec<String> {
            c.targets
                .as_ref()
                .unwrap()
                .iter()
                .map(|(name, e)| {
                    let t = e.target.as_ref().unwrap();
                    format!(
                        "{name} stores={:?} in={:?} out={:?} addr={:?} names={:?}",
                        t.stores.iter().map(|s| &s.path).collect::<Vec<_>>(),
                        t.incoming_users.iter().map(|u| &u.user).collect::<Vec<_>>(),
                        t.outgoing_user.as_ref().map(|(u, _)| &u.user),
                        t.initiator_addresses,
                        t.initiator_names
                    )
                })
                .collect()
        };
        assert_eq!(summary(&reparsed), summary(&original));
        assert_eq!(
            reparsed.globals.default_driver.unwrap().unwrap().as_deref(),
            Some("iscsi")
        );
    }
}
