//! tgt-admin's command line, read as Perl's Getopt::Long reads the Perl tool's.
//!
//! Owns the option table of /usr/sbin/tgt-admin (`GetOptions(...)` with `no_ignore_case`) and
//! Getopt::Long's rules as they apply to it, checked against Perl 5.36: `-x` and `--x` are the
//! same (no bundling: `-ep` is the unknown option "ep"); a unique prefix of any option name is
//! accepted (`--del`, `-i`), an exact name wins (`-c`, `-C`), and `--d` is ambiguous; a value
//! comes from `--opt=value` or the next argument, whatever it looks like (`--delete -p`
//! deletes "-p"); flags refuse `=value`; `--` ends the options; other arguments are skipped
//! (or end the options under POSIXLY_CORRECT). Errors are printed and parsing goes on, as the
//! Perl tool ignores GetOptions' result (targets-conf.md §6).
//!
//! clap is not used: it rejects and rewords differently, and scripts depend on this tool
//! accepting what the Perl tool accepts.

/// An option's identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Id {
    Execute,
    Delete,
    Offline,
    Ready,
    Update,
    Show,
    Conf,
    IgnoreErrors,
    Force,
    Pretend,
    Dump,
    Verbose,
    Help,
    ControlPort,
}

/// (name, option, takes a value). Names of one option are its aliases.
const NAMES: &[(&str, Id, bool)] = &[
    ("e", Id::Execute, false),
    ("execute", Id::Execute, false),
    ("delete", Id::Delete, true),
    ("offline", Id::Offline, true),
    ("ready", Id::Ready, true),
    ("update", Id::Update, true),
    ("s", Id::Show, false),
    ("show", Id::Show, false),
    ("c", Id::Conf, true),
    ("conf", Id::Conf, true),
    ("ignore-errors", Id::IgnoreErrors, false),
    ("f", Id::Force, false),
    ("force", Id::Force, false),
    ("p", Id::Pretend, false),
    ("pretend", Id::Pretend, false),
    ("dump", Id::Dump, false),
    ("v", Id::Verbose, false),
    ("verbose", Id::Verbose, false),
    ("h", Id::Help, false),
    ("help", Id::Help, false),
    ("C", Id::ControlPort, true),
    ("control-port", Id::ControlPort, true),
];

/// The Perl tool's option variables. Valued options keep Perl's "0 means not given"
/// (`--delete 0` is no delete).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// `-e`.
    pub execute: bool,
    /// `--delete`.
    pub delete: String,
    /// `--offline`.
    pub offline: String,
    /// `--ready`.
    pub ready: String,
    /// `--update`.
    pub update: String,
    /// `-s`.
    pub show: bool,
    /// `-c` ("0" when absent).
    pub conf: String,
    /// `--ignore-errors`.
    pub ignore_errors: bool,
    /// `-f`.
    pub force: bool,
    /// `-p`.
    pub pretend: bool,
    /// `--dump`.
    pub dump: bool,
    /// `-v`.
    pub verbose: bool,
    /// `-h`.
    pub help: bool,
    /// `-C` ("0" when absent).
    pub control_port: String,
    /// `$ARGV[0]` before parsing was missing or empty (the Perl tool then shows usage).
    pub no_arguments: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            execute: false,
            delete: "0".into(),
            offline: "0".into(),
            ready: "0".into(),
            update: "0".into(),
            show: false,
            conf: "0".into(),
            ignore_errors: false,
            force: false,
            pretend: false,
            dump: false,
            verbose: false,
            help: false,
            control_port: "0".into(),
            no_arguments: true,
        }
    }
}

/// Perl's `$x ne 0`: a valued option counts as given unless it is the string "0".
pub fn given(v: &str) -> bool {
    v != "0"
}

/// Reads `args` (without the program name). Returns the options and the messages
/// Getopt::Long prints on stderr, in order.
pub fn parse(args: &[String], posixly_correct: bool) -> (Options, Vec<String>) {
    let mut o = Options {
        no_arguments: args.first().map_or(true, String::is_empty),
        ..Options::default()
    };
    let mut warnings = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        i += 1;
        if a == "--" {
            break;
        }
        let body = match a.strip_prefix("--").or_else(|| a.strip_prefix('-')) {
            Some(b) if !b.is_empty() => b,
            _ => {
                if posixly_correct {
                    break;
                }
                continue;
            }
        };
        let (name, inline) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (body, None),
        };
        let (full, id, takes) = match lookup(name) {
            Ok(hit) => hit,
            Err(msg) => {
                warnings.push(msg);
                continue;
            }
        };
        let value = if takes {
            match inline {
                Some(v) if !v.is_empty() => Some(v.to_string()),
                Some(_) => {
                    warnings.push(format!("Option {full} requires an argument"));
                    continue;
                }
                None => match args.get(i) {
                    Some(v) => {
                        i += 1;
                        Some(v.clone())
                    }
                    None => {
                        warnings.push(format!("Option {full} requires an argument"));
                        continue;
                    }
                },
            }
        } else {
            if inline.is_some() {
                warnings.push(format!("Option {full} does not take an argument"));
                continue;
            }
            None
        };
        let v = value.unwrap_or_default();
        match id {
            Id::Execute => o.execute = true,
            Id::Delete => o.delete = v,
            Id::Offline => o.offline = v,
            Id::Ready => o.ready = v,
            Id::Update => o.update = v,
            Id::Show => o.show = true,
            Id::Conf => o.conf = v,
            Id::IgnoreErrors => o.ignore_errors = true,
            Id::Force => o.force = true,
            Id::Pretend => o.pretend = true,
            Id::Dump => o.dump = true,
            Id::Verbose => o.verbose = true,
            Id::Help => o.help = true,
            Id::ControlPort => o.control_port = v,
        }
    }
    (o, warnings)
}

/// Getopt::Long's name lookup: exact, else a prefix of names of a single option.
fn lookup(name: &str) -> Result<(&'static str, Id, bool), String> {
    if let Some(&(n, id, takes)) = NAMES.iter().find(|(n, _, _)| *n == name) {
        return Ok((n, id, takes));
    }
    let mut hits: Vec<&(&str, Id, bool)> = NAMES
        .iter()
        .filter(|(n, _, _)| n.starts_with(name))
        .collect();
    hits.sort_by_key(|(n, _, _)| *n);
    match hits.as_slice() {
        [] => Err(format!("Unknown option: {name}")),
        [first, rest @ ..] if rest.iter().all(|h| h.1 == first.1) => {
            Ok((first.0, first.1, first.2))
        }
        _ => Err(format!(
            "Option {name} is ambiguous ({})",
            hits.iter().map(|h| h.0).collect::<Vec<_>>().join(", ")
        )),
    }
}

/// The usage text (stdout), as the Perl tool prints it for `-h` or no arguments.
pub const USAGE: &str = "Usage:
tgt-admin [OPTION]...
This tool configures tgt targets.

  -e, --execute\t\t\tread /etc/tgt/targets.conf and execute tgtadm commands
      --delete <value>\t\tdelete all or selected targets
\t\t\t\t(see \"--delete help\" for more info)
      --offline <value>\t\tput all or selected targets in offline state
\t\t\t\t(see \"--offline help\" for more info)
      --ready <value>\t\tput all or selected targets in ready state
\t\t\t\t(see \"--ready help\" for more info)
      --update <value>\t\tupdate configuration for all or selected targets
\t\t\t\t(see \"--update help\" for more info)
  -s, --show\t\t\tshow all the targets
  -C, --control-port <NNNN>\tspecify the control port to connect to
  -c, --conf <conf file>\tspecify an alternative configuration file
      --ignore-errors\t\tcontinue even if tgtadm exits with non-zero code
  -f, --force\t\t\tforce some operations even if the target is in use
  -p, --pretend\t\t\tonly print tgtadm options
      --dump\t\t\tdump current tgtd configuration (note: does not
\t\t\t\tinclude detailed parameters, like write caching)
  -v, --verbose\t\t\tincrease verbosity (show tgtadm commands)
  -h, --help\t\t\tshow this help

";

/// `--delete help` / `--update help` (`verb` is "delete"/"deleted" or "update"/"updated").
pub fn delete_update_help(verb: &str, done: &str) -> String {
    format!(
        "      --{verb} <value>\t\t{verb} all or selected targets
\t\t\t\tThe target will be {done} only if it's not used
\t\t\t\t(no initiator is connected to it).
\t\t\t\tIf you want to {verb} targets which are in use,
\t\t\t\tyou have to add \"--force\" flag.

Example usage:
      --{verb} help\t      - display this help
      --{verb} ALL\t      - {verb} all targets
      --{verb} tid=4\t      - {verb} target 4 (target with tid 4)
      --{verb} iqn.2008-08.com.example:some.target - {verb} this target

"
    )
}

/// `--offline help` / `--ready help`.
pub fn state_help(var: &str) -> String {
    format!(
        "      --{var} <value>\t\t{var} all or selected targets

Example usage:
      --{var} help\t      - display this help
      --{var} ALL\t      - {var} all targets
      --{var} tid=4\t      - {var} target 4 (target with tid 4)
      --{var} iqn.2008-08.com.example:some.target - {var} this target

"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &str) -> (Options, Vec<String>) {
        let v: Vec<String> = args.split_whitespace().map(str::to_string).collect();
        parse(&v, false)
    }

    // Expectations captured from Perl 5.36 Getopt::Long with the Perl tool's option spec.
    #[test]
    fn abbreviations_and_exact_names_resolve_like_getopt_long() {
        assert_eq!(p("--del ALL").0.delete, "ALL");
        assert!(p("-i").0.ignore_errors);
        assert!(p("--e").0.execute);
        assert!(p("-execute").0.execute);
        assert_eq!(p("--cont 5").0.control_port, "5");
        assert_eq!(p("--c x").0.conf, "x");
        assert_eq!(p("-c=x").0.conf, "x");
        assert_eq!(p("--o x").0.offline, "x");
        assert_eq!(p("--re x").0.ready, "x");
        assert!(p("--du").0.dump);
    }

    #[test]
    fn ambiguous_and_unknown_options_are_reported_and_skipped() {
        assert_eq!(p("-d").1, ["Option d is ambiguous (delete, dump)"]);
        assert_eq!(
            p("--co 5").1,
            ["Option co is ambiguous (conf, control-port)"]
        );
        let (o, w) = p("-ep");
        assert_eq!(w, ["Unknown option: ep"]);
        assert!(!o.execute);
        let (o, w) = p("-e --bogus -p");
        assert_eq!(w, ["Unknown option: bogus"]);
        assert!(o.execute && o.pretend);
        assert_eq!(p("-C5").1, ["Unknown option: C5"]);
    }

    #[test]
    fn values_are_taken_whatever_they_look_like() {
        assert_eq!(p("--delete -p").0.delete, "-p");
        assert_eq!(p("--update --ready").0.update, "--ready");
        assert_eq!(p("--delete=a=b").0.delete, "a=b");
        assert_eq!(p("--delete").1, ["Option delete requires an argument"]);
        assert_eq!(p("--del").1, ["Option delete requires an argument"]);
        assert_eq!(p("--delete=").1, ["Option delete requires an argument"]);
        assert_eq!(p("--exe=1").1, ["Option execute does not take an argument"]);
        assert_eq!(p("--p=").1, ["Option p does not take an argument"]);
    }

    #[test]
    fn double_dash_ends_options_and_operands_are_skipped() {
        let (o, _) = p("-- -e");
        assert!(!o.execute);
        let (o, _) = p("x -e");
        assert!(o.execute);
        let v: Vec<String> = ["x", "-e"].iter().map(|s| s.to_string()).collect();
        assert!(!parse(&v, true).0.execute);
    }

    #[test]
    fn no_arguments_or_an_empty_first_one_means_usage() {
        assert!(parse(&[], false).0.no_arguments);
        assert!(parse(&[String::new(), "-e".into()], false).0.no_arguments);
        assert!(!p("-e").0.no_arguments);
    }
}
