//! tgtd: the SCSI target daemon. Arguments, logging, `Daemon::new`, run. Nothing else.

use std::process::ExitCode;

use tgt::event::Daemon;
use tgt::mgmt::server::Config;

mod args;

use args::{Args, Parsed};

fn init_logging(foreground: bool) {
    use tracing_subscriber::prelude::*;
    let filter = tracing_subscriber::filter::filter_fn(tgt::log::debug_filter);
    // In the background, or in the foreground under systemd (which sets JOURNAL_STREAM
    // when stderr is the journal, as with Debian's `tgtd -f` unit), log to the journal
    // with structured fields; otherwise plain lines on stderr.
    let under_systemd = std::env::var_os("JOURNAL_STREAM").is_some();
    let journald = if foreground && !under_systemd {
        None
    } else {
        tracing_journald::layer().ok()
    };
    match journald {
        Some(j) => tracing_subscriber::registry()
            .with(j.with_filter(filter))
            .init(),
        None => tracing_subscriber::registry()
            .with(
                tracing_subscriber::fmt::layer()
                    .with_writer(std::io::stderr)
                    .with_target(false)
                    .without_time()
                    .with_ansi(false)
                    .with_filter(filter),
            )
            .init(),
    }
}

fn write_pid_file(path: &str) -> std::io::Result<()> {
    std::fs::write(path, std::process::id().to_string())
}

fn run(args: Args) -> ExitCode {
    tgt::log::set_debug(args.debug);
    if !args.foreground && !args.nodaemonize {
        if let Err(e) = nix::unistd::daemon(false, false) {
            eprintln!("tgtd: can't daemonize: {e}");
            return ExitCode::from(1);
        }
    }
    init_logging(args.foreground);
    let config = Config::new(args.iscsi.clone());
    let tuning = tgt::event::Tuning {
        bs_threads: usize::try_from(args.nr_iothreads).unwrap_or(16),
        ..tgt::event::Tuning::default()
    };
    let mut daemon = match Daemon::new(args.control_port, config, tuning) {
        Ok(d) => d,
        Err(e) => {
            tracing::error!(error = %e, "startup failed");
            eprintln!("tgtd: {e}");
            return ExitCode::from(1);
        }
    };
    let daemonized = !args.foreground && !args.nodaemonize;
    if let (true, Some(p)) = (daemonized, args.pid_file.as_deref()) {
        if let Err(e) = write_pid_file(p) {
            tracing::error!(path = p, error = %e, "can't write the pid file");
            return ExitCode::from(1);
        }
    }
    tracing::info!(socket = %daemon.socket_path().display(), "tgtd ready");
    if let Err(e) = tgt::event::notify::notify("READY=1\nSTATUS=Starting event loop...") {
        tracing::warn!(error = %e, "can't notify the service manager");
    }
    let rc = match daemon.run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "event loop failed");
            ExitCode::from(1)
        }
    };
    if let (true, Some(p)) = (daemonized, args.pid_file.as_deref()) {
        let _ = std::fs::remove_file(p);
    }
    rc
}

fn main() -> ExitCode {
    match args::parse(std::env::args_os().collect()) {
        Parsed::Run(a) => run(a),
        Parsed::Exit {
            code,
            stdout,
            stderr,
        } => {
            use std::io::Write;
            let _ = std::io::stdout().write_all(stdout.as_bytes());
            let _ = std::io::stderr().write_all(stderr.as_bytes());
            ExitCode::from(code)
        }
    }
}
