//! The client-side validation matrix: which options each mode and operation allows, and what
//! each must have, with C tgtadm's exact messages and order of checks.
//!
//! It sees only the parsed [`CommandLine`]; it builds nothing and sends nothing.
//!
//! Source: tgt `usr/tgtadm.c` `main()` (the `if (mode == MODE_…)` blocks) and
//! `verify_mode_params()`; facts in `shared/reference/tgtadm-cli.md` §4.

use tgt::mgmt::wire::{Mode, Op};

use crate::options::{device_type, CommandLine};

/// A command line C tgtadm refuses before connecting. Each renders to one stderr line
/// (after `tgtadm: `) and exits 22.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// No `--op`.
    NoOp,
    /// No `--mode`.
    NoMode,
    /// An option letter outside the allowed set: `<mode> mode: option '-<c>' is not
    /// allowed/supported`.
    NotAllowed {
        /// Mode name as C spells it in this message.
        mode: &'static str,
        /// Offending option's short letter.
        letter: u8,
    },
    /// The other wording, used by `logicalunit update` and `portal show`:
    /// `option '-<c>' not supported in <mode> mode`.
    NotSupportedIn {
        /// Mode name.
        mode: &'static str,
        /// Offending option's short letter.
        letter: u8,
    },
    /// `operation <op> not supported in <mode> mode`.
    OpNotSupported {
        /// The `--op` word.
        op: &'static str,
        /// Mode name.
        mode: &'static str,
    },
    /// `option <N> not supported in lld mode` (C prints the op's number).
    LldOpNotSupported(i32),
    /// `update` without `--name` and `--value`.
    NeedNameValue,
    /// target mode without `--tid`.
    TidNecessary,
    /// target mode with `--tid 0`.
    TidCannotBeZero,
    /// logicalunit mode with `--tid 0`.
    TidMustNotBeZero,
    /// logicalunit mode without `--lun`.
    LunNecessary,
    /// `target new` without `--targetname`.
    NeedTargetname,
    /// `target bind/unbind` without an initiator or host.
    NeedInitiator {
        /// The `--op` word.
        op: &'static str,
    },
    /// `account new` without `--user` and `--password`.
    NeedUserPassword,
    /// `account bind/unbind` without `--user`.
    NeedUser,
    /// `logicalunit new` of a type that needs a file, without `--backing-store`.
    NeedBackingStore,
    /// `portal new/delete` without `--param` given after `--mode portal`.
    NeedPortal,
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let c = |l: &u8| char::from(*l);
        match self {
            Self::NoOp => f.write_str("specify the operation type"),
            Self::NoMode => f.write_str("specify the mode"),
            Self::NotAllowed { mode, letter } => write!(
                f,
                "{mode} mode: option '-{}' is not allowed/supported",
                c(letter)
            ),
            Self::NotSupportedIn { mode, letter } => {
                write!(f, "option '-{}' not supported in {mode} mode", c(letter))
            }
            Self::OpNotSupported { op, mode } => {
                write!(f, "operation {op} not supported in {mode} mode")
            }
            Self::LldOpNotSupported(op) => write!(f, "option {op} not supported in lld mode"),
            Self::NeedNameValue => {
                f.write_str("update operation requires 'name' and 'value' options")
            }
            Self::TidNecessary => f.write_str("'tid' option is necessary"),
            Self::TidCannotBeZero => f.write_str("'tid' cannot be 0"),
            Self::TidMustNotBeZero => f.write_str("'tid' must not be 0"),
            Self::LunNecessary => f.write_str("'lun' option is necessary"),
            Self::NeedTargetname => {
                f.write_str("creating new target requires a name, use --targetname")
            }
            // (sic) C has no space before "or".
            Self::NeedInitiator { op } => write!(
                f,
                "{op} operation requires initiator-address, initiator-nameor bus"
            ),
            Self::NeedUserPassword => f.write_str("'user' and 'password' options are required"),
            Self::NeedUser => f.write_str("'user' option is necessary"),
            Self::NeedBackingStore => f.write_str("'backing-store' option is necessary"),
            Self::NeedPortal => f.write_str("you must specify --param portal=<portal>"),
        }
    }
}

/// Which wording a bad option letter gets.
#[derive(Clone, Copy)]
enum Wording {
    NotAllowed,
    NotSupportedIn,
}

/// C's `verify_mode_params()`: the first option whose letter is neither in `allowed` nor `d`.
fn allow(
    cl: &CommandLine,
    mode: &'static str,
    allowed: &str,
    wording: Wording,
) -> Result<(), Rejection> {
    let bad = cl
        .letters
        .iter()
        .find(|&&l| l != b'd' && !allowed.as_bytes().contains(&l));
    match (bad, wording) {
        (None, _) => Ok(()),
        (Some(&letter), Wording::NotAllowed) => Err(Rejection::NotAllowed { mode, letter }),
        (Some(&letter), Wording::NotSupportedIn) => Err(Rejection::NotSupportedIn { mode, letter }),
    }
}

/// Runs C tgtadm's checks in C's order. tgt: usr/tgtadm.c `main()`
///
/// `account bind/unbind` without `--tid` turn `tid` into `GLOBAL_TID` (`~0U`) in C; that is
/// the same bytes as "no tid" (-1), so the command line needs no change.
pub fn check(cl: &CommandLine) -> Result<(Mode, Op), Rejection> {
    let op = cl.op.ok_or(Rejection::NoOp)?;
    let mode = cl.mode.ok_or(Rejection::NoMode)?;
    let op_name = op.name().unwrap_or_default();
    let has = |o: &Option<std::ffi::OsString>| o.is_some();
    let name_value = || {
        if has(&cl.name) && has(&cl.value) {
            Ok(())
        } else {
            Err(Rejection::NeedNameValue)
        }
    };
    use Wording::{NotAllowed, NotSupportedIn};

    match mode {
        Mode::SYSTEM => match op {
            Op::UPDATE => {
                allow(cl, "system", "LmonvC", NotAllowed)?;
                name_value()?;
            }
            Op::SHOW | Op::DELETE | Op::STATS => {}
            _ => {
                return Err(Rejection::OpNotSupported {
                    op: op_name,
                    mode: "system",
                })
            }
        },
        Mode::TARGET => {
            if cl.tid <= 0 && op != Op::SHOW {
                return Err(if cl.tid == 0 {
                    Rejection::TidCannotBeZero
                } else {
                    Rejection::TidNecessary
                });
            }
            match op {
                Op::NEW => {
                    allow(cl, "target", "LmotTC", NotAllowed)?;
                    if !has(&cl.targetname) {
                        return Err(Rejection::NeedTargetname);
                    }
                }
                Op::DELETE => allow(cl, "target", "LmotCF", NotAllowed)?,
                Op::SHOW | Op::STATS => allow(cl, "target", "LmotC", NotAllowed)?,
                Op::BIND | Op::UNBIND => {
                    allow(cl, "target", "LmotIQBHC", NotAllowed)?;
                    if !has(&cl.initiator_address) && !has(&cl.initiator_name) && cl.host_no == 0 {
                        return Err(Rejection::NeedInitiator { op: op_name });
                    }
                }
                Op::UPDATE => {
                    allow(cl, "target", "LmotnvC", NotAllowed)?;
                    name_value()?;
                }
                _ => {
                    return Err(Rejection::OpNotSupported {
                        op: op_name,
                        mode: "target",
                    })
                }
            }
        }
        Mode::ACCOUNT => match op {
            Op::NEW => {
                allow(cl, "account", "LmoupfC", NotAllowed)?;
                if !has(&cl.user) || !has(&cl.password) {
                    return Err(Rejection::NeedUserPassword);
                }
            }
            Op::SHOW => allow(cl, "account", "LmoC", NotAllowed)?,
            Op::DELETE => allow(cl, "account", "LmouC", NotAllowed)?,
            Op::BIND | Op::UNBIND => {
                allow(cl, "account", "LmotuOC", NotAllowed)?;
                if !has(&cl.user) {
                    return Err(Rejection::NeedUser);
                }
            }
            _ => {
                return Err(Rejection::OpNotSupported {
                    op: op_name,
                    mode: "account",
                })
            }
        },
        Mode::DEVICE => {
            if cl.tid <= 0 {
                return Err(if cl.tid == 0 {
                    Rejection::TidMustNotBeZero
                } else {
                    Rejection::TidNecessary
                });
            }
            if cl.lun == u64::MAX {
                return Err(Rejection::LunNecessary);
            }
            match op {
                Op::NEW => {
                    allow(cl, "logicalunit", "LmofytlbEYCS", NotAllowed)?;
                    let needs_file = !matches!(
                        cl.device_type,
                        device_type::MMC | device_type::TAPE | device_type::DISK
                    );
                    if !has(&cl.path) && needs_file {
                        return Err(Rejection::NeedBackingStore);
                    }
                }
                Op::DELETE | Op::STATS => allow(cl, "logicalunit", "LmotlC", NotAllowed)?,
                Op::UPDATE => allow(cl, "logicalunit", "LmofytlPC", NotSupportedIn)?,
                _ => {
                    return Err(Rejection::OpNotSupported {
                        op: op_name,
                        mode: "logicalunit",
                    })
                }
            }
        }
        Mode::PORTAL => match op {
            Op::NEW | Op::DELETE => {
                allow(cl, "portal", "LmoCP", NotAllowed)?;
                if !has(&cl.portal_ops) {
                    return Err(Rejection::NeedPortal);
                }
            }
            Op::SHOW => allow(cl, "portal", "LmoC", NotSupportedIn)?,
            _ => {
                return Err(Rejection::OpNotSupported {
                    op: op_name,
                    mode: "portal",
                })
            }
        },
        Mode::LLD => match op {
            Op::START | Op::STOP | Op::SHOW => allow(cl, "lld", "LmoC", NotAllowed)?,
            _ => return Err(Rejection::LldOpNotSupported(op.0)),
        },
        // session and connection: no client-side checks at all.
        _ => {}
    }
    Ok((mode, op))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::parse;
    use tgt::getopt::argv;

    fn checked(words: &[&str]) -> Result<(Mode, Op), String> {
        let cl = parse(&argv(
            std::iter::once("tgtadm").chain(words.iter().copied()),
        ))
        .map_err(|e| format!("{e:?}"))?;
        check(&cl).map_err(|r| r.to_string())
    }

    #[test]
    fn op_is_checked_before_mode() {
        assert_eq!(checked(&[]), Err("specify the operation type".into()));
        assert_eq!(checked(&["--op", "show"]), Err("specify the mode".into()));
    }

    #[test]
    fn target_tid_check_precedes_the_op_check() {
        assert_eq!(
            checked(&["--mode", "target", "--op", "start"]),
            Err("'tid' option is necessary".into())
        );
        assert_eq!(
            checked(&["--mode", "target", "--op", "start", "--tid", "1"]),
            Err("operation start not supported in target mode".into())
        );
        assert_eq!(
            checked(&["-m", "tgt", "-o", "new", "-t", "0"]),
            Err("'tid' cannot be 0".into())
        );
        assert!(checked(&["-m", "tgt", "-o", "show"]).is_ok());
    }

    #[test]
    fn first_disallowed_letter_in_argv_order_is_reported() {
        assert_eq!(
            checked(&["-m", "target", "-o", "new", "-t", "1", "--lun", "2", "-u", "x"]),
            Err("target mode: option '-l' is not allowed/supported".into())
        );
        assert_eq!(
            checked(&["-d", "-m", "target", "-o", "delete", "-t", "1", "-F", "x"]),
            Ok((Mode::TARGET, Op::DELETE))
        );
        assert_eq!(
            checked(&["-m", "lu", "-o", "update", "-t", "1", "-l", "1", "-b", "x"]),
            Err("option '-b' not supported in logicalunit mode".into())
        );
        assert_eq!(
            checked(&["-m", "pt", "-o", "show", "--tid", "1"]),
            Err("option '-t' not supported in portal mode".into())
        );
    }

    #[test]
    fn bind_needs_an_initiator_or_a_nonzero_host() {
        assert_eq!(
            checked(&["-m", "target", "-o", "unbind", "-t", "1", "-H", "0"]),
            Err("unbind operation requires initiator-address, initiator-nameor bus".into())
        );
        assert!(checked(&["-m", "target", "-o", "bind", "-t", "1", "-H", "3"]).is_ok());
    }

    #[test]
    fn logicalunit_rules() {
        assert_eq!(
            checked(&["-m", "lu", "-o", "new", "-t", "0"]),
            Err("'tid' must not be 0".into())
        );
        assert_eq!(
            checked(&["-m", "lu", "-o", "new", "-t", "1"]),
            Err("'lun' option is necessary".into())
        );
        assert!(checked(&["-m", "lu", "-o", "new", "-t", "1", "-l", "1", "-Y", "tape"]).is_ok());
        assert_eq!(
            checked(&["-m", "lu", "-o", "new", "-t", "1", "-l", "1", "-Y", "changer"]),
            Err("'backing-store' option is necessary".into())
        );
        assert_eq!(
            checked(&["-m", "lu", "-o", "show", "-t", "1", "-l", "1"]),
            Err("operation show not supported in logicalunit mode".into())
        );
    }

    #[test]
    fn lld_prints_the_op_number() {
        assert_eq!(
            checked(&["-m", "lld", "-o", "update"]),
            Err("option 5 not supported in lld mode".into())
        );
    }

    #[test]
    fn portal_needs_params_after_mode() {
        assert_eq!(
            checked(&["--param", "portal=x", "-m", "portal", "-o", "new"]),
            Err("you must specify --param portal=<portal>".into())
        );
        assert!(checked(&["-m", "portal", "-o", "new", "--param", "portal=x"]).is_ok());
    }

    #[test]
    fn session_and_connection_accept_anything() {
        assert!(checked(&["-m", "sess", "-o", "new", "-Y", "pt", "-u", "x"]).is_ok());
        assert!(checked(&["-m", "conn", "-o", "start"]).is_ok());
    }
}
