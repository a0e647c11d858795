//! tgt-admin: applies targets.conf to a running tgtd, as Debian's Perl tgt-admin 1.0.85 does.
//!
//! Layout (STYLE.md §1): `cli` reads the command line as Getopt::Long does; `conf` reads
//! targets.conf (`lex` → `parse` → `lower`); `tgtd` reads tgtd's `show` texts; `plan` decides
//! the operations in the Perl tool's order; `tgtadm` turns each operation's command line into
//! the request C tgtadm would send; `exec` sends it with the shared management client;
//! `device` answers in-use and identity questions; `dump` renders `--dump`.
//!
//! Compared with the Perl tool: the same options, selectors, output (`-p`, `-v`, `--dump`,
//! `-s`), operations and exit codes. Configuration mistakes are reported as
//! `file:line: message` on stderr, and are found before anything is changed: where the Perl
//! tool would apply the targets sorted before a faulty one and then stop, we apply nothing.
//! A tgtadm command tgtd refuses stops the run as in the Perl tool, keeping what was done
//! (the Perl tool has no rollback either).

mod cli;
mod conf;
mod device;
mod dump;
mod exec;
#[cfg(test)]
mod fake_tgtd;
mod plan;
mod tgtadm;
mod tgtd;

use std::io::{self, Write};
use std::process::ExitCode;

use cli::{given, Options};
use conf::lower::Config;
use plan::{Mode, Planner, Session, Settings, Step, Stop};
use tgtadm::TgtadmCmd;

/// The Perl tool's default configuration file.
const DEFAULT_CONFIG: &str = "/etc/tgt/targets.conf";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let (opts, warnings) = cli::parse(&args, std::env::var_os("POSIXLY_CORRECT").is_some());
    let stdout = io::stdout();
    let stderr = io::stderr();
    let mut out = stdout.lock();
    let mut err = stderr.lock();
    for w in warnings {
        let _ = writeln!(err, "{w}");
    }
    let result = run(&opts, &mut out, &mut err);
    let code = match result {
        Ok(()) => 0,
        Err(stop) => report(&stop, &mut out, &mut err),
    };
    let _ = out.flush();
    ExitCode::from(code)
}

/// The only place a stop becomes text and an exit status.
fn report(stop: &Stop, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let _ = match stop {
        Stop::Conf { message, .. } => writeln!(err, "{message}"),
        Stop::Message { text, .. } => write!(out, "{text}"),
        Stop::Die { text, .. } => write!(err, "{text}"),
        Stop::Failed { line, code } => {
            write!(out, "Command:\n\t{line}\nexited with code: {code}.\n")
        }
    };
    stop.code()
}

/// Runs the mode selected by `opts`, with the Perl tool's precedence: `--show`, then `-e`,
/// `--delete`, `--update`, `--dump`, `--offline`, `--ready`.
fn run(opts: &Options, out: &mut dyn Write, err: &mut dyn Write) -> Result<(), Stop> {
    if opts.help || opts.no_arguments {
        let _ = out.write_all(cli::USAGE.as_bytes());
        return Ok(());
    }
    let settings = Settings {
        control_port: opts.control_port.clone(),
        force: opts.force,
        pretend: opts.pretend,
        update: given(&opts.update),
        root: nix::unistd::geteuid().is_root(),
    };
    let run = Runner {
        opts,
        settings: &settings,
    };
    if opts.show {
        return run.with(None, out, err, |p| {
            let line = format!("tgtadm -C {} --op show --mode target", opts.control_port);
            p.s.execute(Step::Cmd(TgtadmCmd::new(line)))
        });
    }
    if opts.execute {
        let config = read_config(opts, out, err)?;
        return run.rehearsed(&config, out, err, |p| p.execute_config());
    }
    if given(&opts.delete) {
        if opts.delete == "help" {
            let _ = out.write_all(cli::delete_update_help("delete", "deleted").as_bytes());
            return Ok(());
        }
        return run.with(None, out, err, |p| p.delete(&opts.delete));
    }
    if given(&opts.update) {
        if opts.update == "help" {
            // The Perl tool reads the accounts (as root only) before looking at the value.
            if !settings.root {
                return Err(not_root());
            }
            let _ = out.write_all(cli::delete_update_help("update", "updated").as_bytes());
            return Ok(());
        }
        if !settings.root {
            return Err(not_root());
        }
        let config = read_config(opts, out, err)?;
        return run.rehearsed(&config, out, err, |p| {
            p.process_accounts()?;
            p.update(&opts.update)
        });
    }
    if opts.dump {
        let mut text = String::new();
        run.with(None, out, err, |p| {
            p.process_targets()?;
            text = dump::render(p.view());
            Ok(())
        })?;
        let _ = out.write_all(text.as_bytes());
        return Ok(());
    }
    if given(&opts.offline) || given(&opts.ready) {
        let var = if given(&opts.offline) {
            "offline"
        } else {
            "ready"
        };
        let selector = if !given(&opts.ready) {
            &opts.offline
        } else if !given(&opts.offline) {
            &opts.ready
        } else {
            return Err(Stop::Message {
                text: "Invalid value (you can't use both ready and offline)!\n".to_string(),
                code: 1,
            });
        };
        if selector == "help" {
            let _ = out.write_all(cli::state_help(var).as_bytes());
            return Ok(());
        }
        return run.with(None, out, err, |p| p.set_state(selector, var));
    }
    let _ = out.write_all(b"No action specified.\n");
    Ok(())
}

fn not_root() -> Stop {
    Stop::Die {
        text: "You must be root to run this program.\n".to_string(),
        code: 255,
    }
}

/// Perl `parse_configs()`: the file must exist; `-c FILE` is announced in `-p`/`-v` output.
fn read_config(opts: &Options, out: &mut dyn Write, err: &mut dyn Write) -> Result<Config, Stop> {
    let path = if given(&opts.conf) {
        opts.conf.as_str()
    } else {
        DEFAULT_CONFIG
    };
    if let Err(e) = std::fs::metadata(path) {
        return Err(Stop::Die {
            text: format!("Config file {path} not found. Exiting...\n"),
            code: e
                .raw_os_error()
                .and_then(|c| u8::try_from(c).ok())
                .unwrap_or(2),
        });
    }
    let shown = opts.pretend || opts.verbose;
    if given(&opts.conf) && shown {
        let _ = write!(out, "# Using {path} as configuration file\n\n");
    }
    let config = conf::load(path).map_err(|e| Stop::conf(&e))?;
    if shown {
        for w in &config.warnings {
            let _ = writeln!(err, "{w}");
        }
    }
    Ok(config)
}

/// Builds planners for one invocation.
struct Runner<'o> {
    opts: &'o Options,
    settings: &'o Settings,
}

impl Runner<'_> {
    fn mode(&self) -> Mode {
        if self.opts.pretend {
            Mode::Pretend
        } else {
            Mode::Execute {
                verbose: self.opts.verbose,
            }
        }
    }

    /// Runs `f` once for real (or pretend).
    fn with(
        &self,
        config: Option<&Config>,
        out: &mut dyn Write,
        err: &mut dyn Write,
        f: impl FnOnce(&mut Planner<'_, '_>) -> Result<(), Stop>,
    ) -> Result<(), Stop> {
        let mut tgtd = exec::Live;
        let session = Session {
            mode: self.mode(),
            tgtd: &mut tgtd,
            out,
            err,
            ignore_errors: self.opts.ignore_errors,
            log: Vec::new(),
        };
        let mut planner = Planner::new(session, &device::System, config, self.settings.clone());
        f(&mut planner)
    }

    /// Runs `f` as a rehearsal first: a configuration error found there stops the run
    /// before anything is sent to tgtd.
    fn rehearsed(
        &self,
        config: &Config,
        out: &mut dyn Write,
        err: &mut dyn Write,
        f: impl Fn(&mut Planner<'_, '_>) -> Result<(), Stop>,
    ) -> Result<(), Stop> {
        {
            let mut tgtd = exec::Live;
            let (mut sink_out, mut sink_err) = (io::sink(), io::sink());
            let session = Session {
                mode: Mode::Rehearse,
                tgtd: &mut tgtd,
                out: &mut sink_out,
                err: &mut sink_err,
                ignore_errors: self.opts.ignore_errors,
                log: Vec::new(),
            };
            let mut planner = Planner::new(
                session,
                &device::System,
                Some(config),
                self.settings.clone(),
            );
            match f(&mut planner) {
                Ok(()) | Err(Stop::Failed { .. }) => {}
                Err(stop) => return Err(stop),
            }
        }
        self.with(Some(config), out, err, f)
    }
}
