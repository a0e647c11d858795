//! targets.conf: reading, parsing and validating a configuration.
//!
//! The pipeline is `lex` (files → logical lines, includes) → `parse` (lines → [`ast::Node`],
//! Config::General's tree) → `lower` (tree → [`lower::Config`], typed and checked). Every
//! failure is a [`ConfError`] that prints as `file:line: message` and carries the exit status
//! the Perl tool has for the same mistake (targets-conf.md §1, §6.1).

pub mod ast;
pub mod include;
pub mod lex;
pub mod lower;
pub mod parse;

use std::fmt;
use std::io;
use std::sync::Arc;

use ast::Loc;

/// Something wrong in a configuration, and where.
#[derive(Debug, thiserror::Error)]
#[error("{loc}: {kind}")]
pub struct ConfError {
    /// The line the message is about.
    pub loc: Loc,
    /// What is wrong.
    #[source]
    pub kind: ConfErrorKind,
}

impl ConfError {
    /// An error at `loc`.
    pub fn new(loc: Loc, kind: ConfErrorKind) -> Self {
        Self { loc, kind }
    }

    /// The status the Perl tool exits with for this mistake.
    pub fn exit_code(&self) -> u8 {
        self.kind.exit_code()
    }
}

/// The mistakes, with the directive involved and what was expected.
#[derive(Debug, thiserror::Error)]
pub enum ConfErrorKind {
    /// `</name>` with no block open. Config::General croaks (exit 255).
    #[error("</{name}> closes no block (there is no <{name} ...> open)")]
    StrayBlockEnd {
        /// The tag's name.
        name: String,
    },
    /// A block still open at the end. Config::General croaks (exit 255).
    #[error("<{name} ...> is not closed: expected </{name}> before the end of the configuration")]
    UnclosedBlock {
        /// The block's name.
        name: String,
    },
    /// `key value` and `<key ...>` in one scope. Config::General croaks (exit 255).
    #[error(
        "<{name} ...> block cannot be combined with the {name} option at {option_at}; use either lines or blocks"
    )]
    BlockOverOption {
        /// The block's name.
        name: String,
        /// Where the option is.
        option_at: Loc,
    },
    /// `include` of a missing file. Config::General croaks with errno ENOENT (exit 2).
    #[error("include {path}: no such file or directory{}", also_in.as_ref().map(|d| format!(" (also looked in {d})")).unwrap_or_default())]
    IncludeNotFound {
        /// The argument of `include`.
        path: String,
        /// The main file's directory, tried second.
        also_in: Option<String>,
    },
    /// A file or directory that exists but cannot be read.
    #[error("cannot read {path}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// Bytes that are not UTF-8.
    #[error("the file is not UTF-8 text from this line on")]
    NotUtf8,
    /// A directive without its value (tgt-admin `check_value`, exit 1).
    #[error("{directive}: missing value, expected {expected}")]
    MissingValue {
        /// The directive.
        directive: String,
        /// What should follow it.
        expected: &'static str,
    },
    /// A single-valued directive given twice in one scope (tgt-admin
    /// `check_if_hash_array`, exit 1).
    #[error(
        "{directive} is given more than once in {scope} (first at {first_at}); only one is allowed"
    )]
    Repeated {
        /// The directive.
        directive: String,
        /// `the global section`, `target X`, `<backing-store P> of target X`.
        scope: String,
        /// Its first occurrence.
        first_at: Loc,
    },
    /// Line and block forms of backing-store/direct-store in one target ("Your config file
    /// is not supported", exit 1).
    #[error(
        "{directive}: '{directive} PATH' lines and <{directive} PATH> blocks cannot be mixed in one target"
    )]
    MixedStoreForms {
        /// `backing-store` or `direct-store`.
        directive: String,
    },
    /// `<backing-store>` without a path.
    #[error("<{directive}> needs a path, expected <{directive} /dev/sdb> ... </{directive}>")]
    StoreWithoutPath {
        /// `backing-store` or `direct-store`.
        directive: String,
    },
    /// A directive written as a block.
    #[error("{directive} cannot be a block, expected '{directive} {expected}'")]
    UnexpectedBlock {
        /// The directive.
        directive: String,
        /// Its value.
        expected: &'static str,
    },
    /// `incominguser alice` and the like (tgt-admin `check_value` on the password, exit 1).
    #[error("{directive}: expected USER and PASSWORD separated by one space")]
    MissingPassword {
        /// The directive.
        directive: String,
    },
    /// `<target>` without a name, or `target` as an option (Perl dies, exit 255).
    #[error("target must be a block with a name, expected <target iqn.2001-04.com.example:storage.disk1> ... </target>")]
    TargetNotNamedBlock,
    /// `control-port` in the file while -C/--control-port was given, or applied twice by
    /// `--update` (the Perl tool's "Multiple control-port definitions", exit 1).
    #[error("control-port: the control port is already {}; give it in one place only", if *from_cli { "given with -C/--control-port" } else { "set by this file (--update applies the globals once per target)" })]
    ControlPortConflict {
        /// True when -C was on the command line.
        from_cli: bool,
    },
}

impl ConfErrorKind {
    /// The status the Perl tool exits with (targets-conf.md §6.1): Config::General's croaks
    /// and Perl's own dies give 255 (2, ENOENT, for a missing include), tgt-admin's checks 1.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::StrayBlockEnd { .. }
            | Self::UnclosedBlock { .. }
            | Self::BlockOverOption { .. }
            | Self::NotUtf8
            | Self::TargetNotNamedBlock => 255,
            Self::IncludeNotFound { .. } => 2,
            Self::Read { source, .. } => source
                .raw_os_error()
                .and_then(|e| u8::try_from(e).ok())
                .unwrap_or(255),
            Self::MissingValue { .. }
            | Self::Repeated { .. }
            | Self::MixedStoreForms { .. }
            | Self::StoreWithoutPath { .. }
            | Self::UnexpectedBlock { .. }
            | Self::MissingPassword { .. }
            | Self::ControlPortConflict { .. } => 1,
        }
    }
}

/// Something suspicious that does not stop the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// Where, when known.
    pub loc: Option<Loc>,
    /// What.
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.loc {
            Some(loc) => write!(f, "{loc}: warning: {}", self.message),
            None => write!(f, "warning: {}", self.message),
        }
    }
}

/// Reads, parses and lowers the configuration file `path` (targets-conf.md §1–§5).
pub fn load(path: &str) -> Result<lower::Config, ConfError> {
    let lexed = lex::read_config(path)?;
    let top = Loc::new(&Arc::from(path), 1);
    let tree = parse::parse(&lexed.entries, top)?;
    let mut config = lower::lower(&tree);
    let mut warnings = lexed.warnings;
    warnings.append(&mut config.warnings);
    config.warnings = warnings;
    Ok(config)
}

/// Parses and lowers configuration text, as if read from the file `name`.
#[cfg(test)]
pub fn load_str(name: &str, text: &str) -> Result<lower::Config, ConfError> {
    let lexed = lex::lex_str(name, text)?;
    let top = Loc::new(&Arc::from(name), 1);
    let tree = parse::parse(&lexed.entries, top)?;
    let mut config = lower::lower(&tree);
    let mut warnings = lexed.warnings;
    warnings.append(&mut config.warnings);
    config.warnings = warnings;
    Ok(config)
}
