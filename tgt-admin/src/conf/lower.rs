//! From the tree to a typed configuration: which directives exist, where, and their values.
//!
//! Owns the directive table (targets-conf.md §2–§4) and the checks the Perl tool makes before
//! it uses a value: missing values (`check_value`), single-valued directives given twice
//! (`check_if_hash_array`), line and block forms of a store mixed ("Your config file is not
//! supported"). It does not decide what to send to tgtd; `plan` does, in the Perl tool's
//! order.
//!
//! When errors surface: a global directive's error is kept beside it and raised when the
//! Perl tool would look at it; a target's errors make the whole target an `Err`, raised
//! when the target is about to be created. The Perl tool checks some LUN-level values only
//! when it reaches a LUN whose device exists and is free; we check them for every LUN of a
//! target being created.
// COMPAT: a duplicated or empty LUN-level value of a missing or busy device is an error here,
// where the Perl tool skips the device without looking at the value.

use std::collections::BTreeMap;

use super::ast::{Loc, Node, Scalar, Value};
use super::{ConfError, ConfErrorKind, Warning};

/// Where a directive may appear.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Outside any block.
    Global,
    /// Directly inside `<target>`.
    Target,
    /// Inside `<target>` as a default for every LUN, and inside a store block.
    TargetAndLun,
    /// Only inside a `<backing-store>`/`<direct-store>` block (ignored at target level).
    Lun,
}

/// One directive of targets.conf.
#[derive(Debug, Clone, Copy)]
pub struct Directive {
    /// Its name, case-sensitive.
    pub name: &'static str,
    /// Where it belongs.
    pub scope: Scope,
    /// What its value looks like, for messages.
    pub expected: &'static str,
}

const fn d(name: &'static str, scope: Scope, expected: &'static str) -> Directive {
    Directive {
        name,
        scope,
        expected,
    }
}

/// Every directive tgt-admin 1.0.85 acts on. Source: /usr/sbin/tgt-admin `add_targets()`,
/// `process_options()`, `add_backing_direct()`, `add_params()`; targets-conf.md §2–§4.
pub const DIRECTIVES: &[Directive] = &[
    d(
        "default-driver",
        Scope::Global,
        "a driver name: iscsi or iser",
    ),
    d("ignore-errors", Scope::Global, "yes"),
    d("control-port", Scope::Global, "a control port number"),
    d("iSNS", Scope::Global, "On or Off"),
    d("iSNSServerIP", Scope::Global, "the iSNS server address"),
    d("iSNSServerPort", Scope::Global, "the iSNS server port"),
    d("iSNSAccessControl", Scope::Global, "On or Off"),
    d("incomingdiscoveryuser", Scope::Global, "USER PASSWORD"),
    d("outgoingdiscoveryuser", Scope::Global, "USER PASSWORD"),
    d("target", Scope::Global, "<target NAME> ... </target>"),
    d("backing-store", Scope::Target, "a file or device path"),
    d("direct-store", Scope::Target, "a SCSI device path"),
    d("driver", Scope::Target, "a driver name: iscsi or iser"),
    d("controller_tid", Scope::Target, "a target id number"),
    d(
        "initiator-address",
        Scope::Target,
        "an initiator address: ALL, an IP address or ADDRESS/PREFIX",
    ),
    d(
        "initiator-name",
        Scope::Target,
        "an initiator name (iqn...)",
    ),
    d("incominguser", Scope::Target, "USER PASSWORD"),
    d("outgoinguser", Scope::Target, "USER PASSWORD"),
    d(
        "MaxRecvDataSegmentLength",
        Scope::Target,
        "a number of bytes",
    ),
    d(
        "MaxXmitDataSegmentLength",
        Scope::Target,
        "a number of bytes",
    ),
    d(
        "HeaderDigest",
        Scope::Target,
        "None, CRC32C or a list of both",
    ),
    d(
        "DataDigest",
        Scope::Target,
        "None, CRC32C or a list of both",
    ),
    d("InitialR2T", Scope::Target, "Yes or No"),
    d("MaxOutstandingR2T", Scope::Target, "a number"),
    d("ImmediateData", Scope::Target, "Yes or No"),
    d("FirstBurstLength", Scope::Target, "a number of bytes"),
    d("MaxBurstLength", Scope::Target, "a number of bytes"),
    d("DataPDUInOrder", Scope::Target, "Yes or No"),
    d("DataSequenceInOrder", Scope::Target, "Yes or No"),
    d("ErrorRecoveryLevel", Scope::Target, "0, 1 or 2"),
    d("IFMarker", Scope::Target, "Yes or No"),
    d("OFMarker", Scope::Target, "Yes or No"),
    d("DefaultTime2Wait", Scope::Target, "a number of seconds"),
    d("DefaultTime2Retain", Scope::Target, "a number of seconds"),
    d("OFMarkInt", Scope::Target, "a marker interval"),
    d("IFMarkInt", Scope::Target, "a marker interval"),
    d("MaxConnections", Scope::Target, "a number"),
    d("lun", Scope::TargetAndLun, "a logical unit number"),
    d("allow-in-use", Scope::TargetAndLun, "yes"),
    d(
        "device-type",
        Scope::TargetAndLun,
        "a device type: disk, cd, tape, changer, osd or pt",
    ),
    d(
        "bs-type",
        Scope::TargetAndLun,
        "a backing store type: rdwr, aio, null, sg, ...",
    ),
    d("bsopts", Scope::TargetAndLun, "backing store options"),
    d(
        "bsoflags",
        Scope::TargetAndLun,
        "sync, direct or sync:direct",
    ),
    d("block-size", Scope::Lun, "a block size in bytes"),
    d("write-cache", Scope::TargetAndLun, "on or off"),
    d("scsi_id", Scope::TargetAndLun, "a SCSI id"),
    d("scsi_sn", Scope::TargetAndLun, "a serial number"),
    d("vendor_id", Scope::TargetAndLun, "a vendor name"),
    d("product_id", Scope::TargetAndLun, "a product name"),
    d("product_rev", Scope::TargetAndLun, "a revision"),
    d(
        "sense_format",
        Scope::TargetAndLun,
        "0 (fixed) or 1 (descriptor)",
    ),
    d("removable", Scope::TargetAndLun, "0 or 1"),
    d("online", Scope::TargetAndLun, "0 or 1"),
    d("path", Scope::TargetAndLun, "a file path"),
    d("readonly", Scope::TargetAndLun, "0 or 1"),
    d("lbppbe", Scope::TargetAndLun, "a number"),
    d("la_lba", Scope::TargetAndLun, "a number"),
    d("optimal_xfer_gran", Scope::TargetAndLun, "a number"),
    d("optimal_xfer_len", Scope::TargetAndLun, "a number"),
    d(
        "mode_page",
        Scope::TargetAndLun,
        "PAGE:SUBPAGE:SIZE:BYTE:...",
    ),
    d("params", Scope::TargetAndLun, "KEY=VALUE[,KEY=VALUE...]"),
];

/// Target keys passed to tgtd as `--name KEY --value V` besides `state*`.
/// Source: /usr/sbin/tgt-admin `process_options()` (the regex of iSCSI keys).
pub const ISCSI_KEYS: &[&str] = &[
    "MaxRecvDataSegmentLength",
    "MaxXmitDataSegmentLength",
    "HeaderDigest",
    "DataDigest",
    "InitialR2T",
    "MaxOutstandingR2T",
    "ImmediateData",
    "FirstBurstLength",
    "MaxBurstLength",
    "DataPDUInOrder",
    "DataSequenceInOrder",
    "ErrorRecoveryLevel",
    "IFMarker",
    "OFMarker",
    "DefaultTime2Wait",
    "DefaultTime2Retain",
    "OFMarkInt",
    "IFMarkInt",
    "MaxConnections",
];

/// LU parameters sent as `--params KEY="VALUE"`. Source: tgt-admin `add_params()`.
pub const LU_PARAMS: &[&str] = &[
    "scsi_id",
    "scsi_sn",
    "vendor_id",
    "product_id",
    "product_rev",
    "sense_format",
    "removable",
    "online",
    "path",
    "mode_page",
    "lbppbe",
    "la_lba",
    "optimal_xfer_gran",
    "optimal_xfer_len",
    "readonly",
];

/// Target-level defaults applied to each LUN unless the LUN sets them, first group, in this
/// order. Source: tgt-admin `add_backing_direct()` (`@opts`).
pub const DEFAULTS_PLAIN: &[&str] = &[
    "scsi_id",
    "sense_format",
    "removable",
    "online",
    "path",
    "readonly",
];

/// Second group: these can also come from the device of a direct-store.
pub const DEFAULTS_DEVICE: &[&str] = &[
    "vendor_id",
    "product_id",
    "product_rev",
    "scsi_sn",
    "lbppbe",
    "la_lba",
    "optimal_xfer_gran",
    "optimal_xfer_len",
];

/// The directive named `name`, if tgt-admin knows it.
pub fn directive(name: &str) -> Option<&'static Directive> {
    DIRECTIVES.iter().find(|d| d.name == name)
}

fn expected(name: &str) -> &'static str {
    if name.starts_with("state") {
        return "offline or ready";
    }
    directive(name).map_or("a value", |d| d.expected)
}

/// The whole configuration, typed.
#[derive(Debug)]
pub struct Config {
    /// The global section.
    pub globals: Globals,
    /// Targets by name, sorted as the Perl tool sorts them; `Err` when the `target` key is
    /// not a set of named blocks (the Perl tool dies when it reaches the targets).
    pub targets: Result<BTreeMap<String, TargetEntry>, ConfError>,
    /// True when the file has a `target` key at all (the Perl tool's `-e` only removes
    /// unconfigured targets then).
    pub has_target_key: bool,
    /// Warnings: unknown directives and the like.
    pub warnings: Vec<Warning>,
}

/// A target as configured, or why it cannot be used.
#[derive(Debug)]
pub struct TargetEntry {
    /// Where the first `<target NAME>` of this name is.
    pub loc: Loc,
    /// The checked target.
    pub target: Result<Target, ConfError>,
}

/// A global value that may turn out to be wrong only when it is used.
pub type Checked<T> = Result<T, ConfError>;

/// Global directives (targets-conf.md §2).
#[derive(Debug, Default)]
pub struct Globals {
    /// `default-driver`: `Ok(None)` when written without a value (the Perl tool then
    /// defaults to iscsi as if it were absent).
    pub default_driver: Option<Checked<Option<String>>>,
    /// `ignore-errors yes`.
    pub ignore_errors: bool,
    /// `iSNSAccessControl`, `iSNSServerIP`, `iSNSServerPort` in this order, raw values.
    pub isns_settings: Vec<(&'static str, Checked<Option<String>>)>,
    /// `incomingdiscoveryuser`.
    pub incoming_discovery_user: Option<Checked<UserPass>>,
    /// `outgoingdiscoveryuser`.
    pub outgoing_discovery_user: Option<Checked<UserPass>>,
    /// `control-port`, with where it is.
    pub control_port: Option<(Checked<Option<String>>, Loc)>,
    /// `iSNS`.
    pub isns: Option<Checked<Option<String>>>,
}

/// `USER PASSWORD`, split as the Perl tool does (`split(/ /, ...)`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserPass {
    /// First field.
    pub user: String,
    /// Second field.
    pub password: String,
    /// The line.
    pub loc: Loc,
}

/// A target and its directives (targets-conf.md §3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The IQN.
    pub name: String,
    /// `driver`.
    pub driver: Option<String>,
    /// `controller_tid`, as written.
    pub controller_tid: Option<String>,
    /// iSCSI keys present, sorted by key: (key, first value, more than one given).
    pub iscsi: Vec<KeyValue>,
    /// `state*` keys, sorted.
    pub states: Vec<KeyValue>,
    /// Stores: backing-stores sorted by path, then direct-stores sorted by path.
    pub stores: Vec<Store>,
    /// `incominguser`s in file order.
    pub incoming_users: Vec<UserPass>,
    /// The first `outgoinguser`, and whether there were more.
    pub outgoing_user: Option<(UserPass, bool)>,
    /// `initiator-address`es in file order; `None` when the directive is absent (then
    /// every initiator is allowed).
    pub initiator_addresses: Option<Vec<String>>,
    /// `initiator-name`s in file order.
    pub initiator_names: Vec<String>,
    /// Target-level `lun`: forces this number on every store.
    pub lun: Option<String>,
    /// Target-level `allow-in-use yes`.
    pub allow_in_use: bool,
    /// Target-level defaults for every LUN.
    pub defaults: LunDefaults,
}

/// `KEY VALUE` passed to tgtd as a target parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyValue {
    /// The key as written.
    pub key: String,
    /// The first value.
    pub value: String,
    /// The directive was repeated (the Perl tool uses the first and warns).
    pub repeated: bool,
}

/// Target-level LUN defaults (targets-conf.md §4).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LunDefaults {
    /// `device-type`.
    pub device_type: Option<String>,
    /// `bs-type` (also decides whether rbd/glfs stores skip the existence check).
    pub bs_type: Option<String>,
    /// `bsopts`.
    pub bsopts: Option<String>,
    /// `bsoflags`.
    pub bsoflags: Option<String>,
    /// `write-cache` value as written.
    pub write_cache: Option<String>,
    /// Single-valued LU parameters of [`DEFAULTS_PLAIN`] and [`DEFAULTS_DEVICE`].
    pub params: BTreeMap<&'static str, String>,
    /// `mode_page`s in file order.
    pub mode_pages: Vec<String>,
    /// `params` in file order.
    pub extra_params: Vec<String>,
}

/// backing-store or direct-store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    /// `backing-store`.
    Backing,
    /// `direct-store`: parameters read from the device.
    Direct,
}

impl StoreKind {
    /// The directive.
    pub fn directive(self) -> &'static str {
        match self {
            StoreKind::Backing => "backing-store",
            StoreKind::Direct => "direct-store",
        }
    }
}

/// One LUN source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Store {
    /// Which directive.
    pub kind: StoreKind,
    /// The path as written.
    pub path: String,
    /// Where.
    pub loc: Loc,
    /// Options of a `<backing-store PATH>` block, in file order; `None` for the line form.
    pub block: Option<Vec<LunOption>>,
}

impl Store {
    /// The block's value of `key`, if the block sets it.
    pub fn block_value(&self, key: &str) -> Option<&str> {
        self.block.as_ref()?.iter().find_map(|o| match o {
            LunOption::Single { key: k, value } if k == key => Some(value.as_str()),
            _ => None,
        })
    }
}

/// An option inside a store block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LunOption {
    /// Any single-valued option (known or not).
    Single {
        /// The key.
        key: String,
        /// The value.
        value: String,
    },
    /// `mode_page` or `params`, possibly repeated.
    Multi {
        /// `mode_page` or `params`.
        key: String,
        /// The values in file order.
        values: Vec<String>,
    },
}

/// Lowers a parsed tree into a [`Config`].
pub fn lower(root: &Node) -> Config {
    let mut warnings = Vec::new();
    let mut globals = Globals::default();
    let mut targets = Ok(BTreeMap::new());
    let mut has_target_key = false;
    for (key, value) in root.entries() {
        match key {
            "target" => {
                has_target_key = true;
                targets = lower_targets(value, &mut warnings);
            }
            "default-driver" => {
                globals.default_driver = Some(single_global(key, value).map(|s| s.text.clone()))
            }
            "ignore-errors" => {
                globals.ignore_errors =
                    matches!(value, Value::Scalar(s) if s.text.as_deref() == Some("yes"))
            }
            "iSNSAccessControl" | "iSNSServerIP" | "iSNSServerPort" => {
                let k = DIRECTIVES
                    .iter()
                    .find(|d| d.name == key)
                    .map_or("", |d| d.name);
                globals
                    .isns_settings
                    .push((k, single_global(key, value).map(|s| s.text.clone())));
            }
            "iSNS" => globals.isns = Some(single_global(key, value).map(|s| s.text.clone())),
            "incomingdiscoveryuser" => {
                globals.incoming_discovery_user =
                    Some(single_global(key, value).and_then(|s| user_pass(key, s)))
            }
            "outgoingdiscoveryuser" => {
                globals.outgoing_discovery_user =
                    Some(single_global(key, value).and_then(|s| user_pass(key, s)))
            }
            "control-port" => {
                globals.control_port = Some((
                    single_global(key, value).map(|s| s.text.clone()),
                    value.loc().clone(),
                ))
            }
            _ => warnings.push(unknown(key, value, "in the global section")),
        }
    }
    // The Perl tool walks sorted keys.
    globals.isns_settings.sort_by(|a, b| a.0.cmp(b.0));
    Config {
        globals,
        targets,
        has_target_key,
        warnings,
    }
}

fn unknown(key: &str, value: &Value, place: &str) -> Warning {
    let hint = match directive(key) {
        Some(d) => format!(
            "{key} is not used {place} ({}); ignored",
            match d.scope {
                Scope::Global => "it is a global directive",
                Scope::Target => "it belongs directly in a <target> block",
                Scope::TargetAndLun => "it belongs in a <target> or <backing-store> block",
                Scope::Lun => "it belongs in a <backing-store PATH> block",
            }
        ),
        None => format!("unknown directive {key} {place}; ignored"),
    };
    Warning {
        loc: Some(value.loc().clone()),
        message: hint,
    }
}

/// A global directive that must be given once: the Perl tool's `check_if_hash_array`.
fn single_global<'a>(key: &str, value: &'a Value) -> Checked<&'a Scalar> {
    match value {
        Value::Scalar(s) => Ok(s),
        Value::List { items, loc } => Err(ConfError::new(
            items.get(1).map_or(loc, Value::loc).clone(),
            ConfErrorKind::Repeated {
                directive: key.to_string(),
                scope: "the global section".to_string(),
                first_at: loc.clone(),
            },
        )),
        Value::Hash(n) => Err(ConfError::new(
            n.loc.clone(),
            ConfErrorKind::UnexpectedBlock {
                directive: key.to_string(),
                expected: expected(key),
            },
        )),
    }
}

/// `my @userpass = split(/ /, $value); check_value($userpass[1]);`
fn user_pass(key: &str, s: &Scalar) -> Checked<UserPass> {
    let text = s.text.as_deref().unwrap_or("");
    let fields = perl_split_space(text);
    match (fields.first(), fields.get(1)) {
        (Some(user), Some(pass)) if !pass.is_empty() => Ok(UserPass {
            user: (*user).to_string(),
            password: (*pass).to_string(),
            loc: s.loc.clone(),
        }),
        _ => Err(ConfError::new(
            s.loc.clone(),
            ConfErrorKind::MissingPassword {
                directive: key.to_string(),
            },
        )),
    }
}

/// Perl's `split(/ /, $s)`: split at every single space, trailing empty fields dropped.
pub fn perl_split_space(s: &str) -> Vec<&str> {
    let mut v: Vec<&str> = s.split(' ').collect();
    while v.last().is_some_and(|f| f.is_empty()) {
        v.pop();
    }
    v
}

fn lower_targets(
    value: &Value,
    warnings: &mut Vec<Warning>,
) -> Result<BTreeMap<String, TargetEntry>, ConfError> {
    let Value::Hash(container) = value else {
        return Err(ConfError::new(
            value.loc().clone(),
            ConfErrorKind::TargetNotNamedBlock,
        ));
    };
    let mut out = BTreeMap::new();
    for (name, v) in container.entries() {
        let entry = match v {
            Value::Hash(node) => TargetEntry {
                loc: node.loc.clone(),
                target: lower_target(name, node, warnings),
            },
            // `<target>` without a name: its options became "targets"; the Perl tool dies.
            other => TargetEntry {
                loc: other.loc().clone(),
                target: Err(ConfError::new(
                    other.loc().clone(),
                    ConfErrorKind::TargetNotNamedBlock,
                )),
            },
        };
        out.insert(name.to_string(), entry);
    }
    Ok(out)
}

fn missing(key: &str, loc: &Loc) -> ConfError {
    ConfError::new(
        loc.clone(),
        ConfErrorKind::MissingValue {
            directive: key.to_string(),
            expected: expected(key),
        },
    )
}

/// A value that must be one non-empty scalar in `scope`.
fn one(key: &str, value: &Value, scope: &str) -> Checked<String> {
    match value {
        Value::Scalar(s) => s
            .non_empty()
            .map(str::to_string)
            .ok_or_else(|| missing(key, &s.loc)),
        Value::List { items, loc } => Err(ConfError::new(
            items.get(1).map_or(loc, Value::loc).clone(),
            ConfErrorKind::Repeated {
                directive: key.to_string(),
                scope: scope.to_string(),
                first_at: loc.clone(),
            },
        )),
        Value::Hash(n) => Err(ConfError::new(
            n.loc.clone(),
            ConfErrorKind::UnexpectedBlock {
                directive: key.to_string(),
                expected: expected(key),
            },
        )),
    }
}

/// Every value of a repeatable directive: scalars, each non-empty.
fn many(key: &str, value: &Value) -> Checked<Vec<String>> {
    let items: Vec<&Value> = match value {
        Value::List { items, .. } => items.iter().collect(),
        other => vec![other],
    };
    items
        .into_iter()
        .map(|v| match v {
            Value::Scalar(s) => s
                .non_empty()
                .map(str::to_string)
                .ok_or_else(|| missing(key, &s.loc)),
            Value::Hash(n) => Err(ConfError::new(
                n.loc.clone(),
                ConfErrorKind::UnexpectedBlock {
                    directive: key.to_string(),
                    expected: expected(key),
                },
            )),
            Value::List { loc, .. } => Err(missing(key, loc)),
        })
        .collect()
}

/// Checks and types one `<target NAME>` block (tgt-admin `add_targets()` first loop,
/// `process_options()`, `add_backing_direct()`).
fn lower_target(name: &str, node: &Node, warnings: &mut Vec<Warning>) -> Checked<Target> {
    let scope = format!("target {name}");
    // check_value on every key, known or not: a bare key stops the Perl tool.
    for (key, value) in node.entries() {
        if let Value::Scalar(s) = value {
            if s.non_empty().is_none() {
                return Err(missing(key, &s.loc));
            }
        }
    }
    let mut t = Target {
        name: name.to_string(),
        driver: None,
        controller_tid: None,
        iscsi: Vec::new(),
        states: Vec::new(),
        stores: Vec::new(),
        incoming_users: Vec::new(),
        outgoing_user: None,
        initiator_addresses: None,
        initiator_names: Vec::new(),
        lun: None,
        allow_in_use: false,
        defaults: LunDefaults::default(),
    };
    let mut backing = Vec::new();
    let mut direct = Vec::new();
    for (key, value) in node.sorted_entries() {
        match key {
            "backing-store" => backing = stores(StoreKind::Backing, value, &scope, warnings)?,
            "direct-store" => direct = stores(StoreKind::Direct, value, &scope, warnings)?,
            // COMPAT: the Perl tool would pass "ARRAY(0x...)" to tgtd for these; we say why.
            "driver" => t.driver = Some(one(key, value, &scope)?),
            "controller_tid" => t.controller_tid = Some(one(key, value, &scope)?),
            "lun" => t.lun = Some(one(key, value, &scope)?),
            "allow-in-use" => {
                t.allow_in_use = matches!(value, Value::Scalar(s) if s.text.as_deref() == Some("yes"))
            }
            "incominguser" => {
                for s in scalars_of(key, value)? {
                    t.incoming_users.push(user_pass(key, s)?);
                }
            }
            "outgoinguser" => {
                let items = match value {
                    Value::List { items, .. } => items.iter().collect(),
                    other => vec![other],
                };
                let Some(Value::Scalar(first)) = items.first() else {
                    return Err(ConfError::new(
                        value.loc().clone(),
                        ConfErrorKind::UnexpectedBlock {
                            directive: key.to_string(),
                            expected: expected(key),
                        },
                    ));
                };
                // `length @$value[1]`: a second value that is not empty.
                let more = items.get(1).is_some_and(|v| match v {
                    Value::Scalar(s) => s.non_empty().is_some(),
                    _ => true,
                });
                t.outgoing_user = Some((user_pass(key, first)?, more));
            }
            "initiator-address" => t.initiator_addresses = Some(many(key, value)?),
            "initiator-name" => t.initiator_names = many(key, value)?,
            "device-type" => t.defaults.device_type = Some(one(key, value, &scope)?),
            "bs-type" => t.defaults.bs_type = Some(one(key, value, &scope)?),
            "bsopts" => t.defaults.bsopts = Some(one(key, value, &scope)?),
            "bsoflags" => t.defaults.bsoflags = Some(one(key, value, &scope)?),
            // COMPAT: a repeated write-cache makes the Perl tool warn about "ARRAY(0x...)";
            // we reject it.
            "write-cache" => t.defaults.write_cache = Some(one(key, value, &scope)?),
            "mode_page" => t.defaults.mode_pages = many_lenient(key, value)?,
            "params" => t.defaults.extra_params = many_lenient(key, value)?,
            "block-size" => warnings.push(Warning {
                loc: Some(value.loc().clone()),
                message: "block-size is only used inside a <backing-store PATH> or <direct-store PATH> block; ignored here".to_string(),
            }),
            k if ISCSI_KEYS.contains(&k) || k.starts_with("state") => {
                let kv = key_value(key, value)?;
                if k.starts_with("state") {
                    t.states.push(kv);
                } else {
                    t.iscsi.push(kv);
                }
            }
            k if DEFAULTS_PLAIN.contains(&k) || DEFAULTS_DEVICE.contains(&k) => {
                let param = DEFAULTS_PLAIN
                    .iter()
                    .chain(DEFAULTS_DEVICE)
                    .find(|p| **p == k)
                    .copied()
                    .unwrap_or_default();
                t.defaults.params.insert(param, one(key, value, &scope)?);
            }
            _ => warnings.push(unknown(key, value, &format!("in target {name}"))),
        }
    }
    t.stores = backing;
    t.stores.append(&mut direct);
    Ok(t)
}

/// Target-level `mode_page`/`params`: the Perl tool skips empty ones.
fn many_lenient(key: &str, value: &Value) -> Checked<Vec<String>> {
    let items: Vec<&Value> = match value {
        Value::List { items, .. } => items.iter().collect(),
        other => vec![other],
    };
    let mut out = Vec::new();
    for v in items {
        match v {
            Value::Scalar(s) => out.extend(s.non_empty().map(str::to_string)),
            _ => {
                return Err(ConfError::new(
                    v.loc().clone(),
                    ConfErrorKind::UnexpectedBlock {
                        directive: key.to_string(),
                        expected: expected(key),
                    },
                ))
            }
        }
    }
    Ok(out)
}

fn scalars_of<'a>(key: &str, value: &'a Value) -> Checked<Vec<&'a Scalar>> {
    value.scalars().ok_or_else(|| {
        ConfError::new(
            value.loc().clone(),
            ConfErrorKind::UnexpectedBlock {
                directive: key.to_string(),
                expected: expected(key),
            },
        )
    })
}

/// An iSCSI key or `state*`: the first value; more than one is allowed (with a warning).
fn key_value(key: &str, value: &Value) -> Checked<KeyValue> {
    let scalars = scalars_of(key, value)?;
    let first = scalars.first().ok_or_else(|| missing(key, value.loc()))?;
    let v = first.non_empty().ok_or_else(|| missing(key, &first.loc))?;
    Ok(KeyValue {
        key: key.to_string(),
        value: v.to_string(),
        repeated: scalars.get(1).is_some_and(|s| s.non_empty().is_some()),
    })
}

/// The stores of one `backing-store`/`direct-store` key, sorted by path (duplicates once).
fn stores(
    kind: StoreKind,
    value: &Value,
    scope: &str,
    warnings: &mut Vec<Warning>,
) -> Checked<Vec<Store>> {
    let directive = kind.directive();
    let mut out: BTreeMap<String, Store> = BTreeMap::new();
    match value {
        Value::Scalar(_) | Value::List { .. } => {
            let Some(scalars) = value.scalars() else {
                return Err(ConfError::new(
                    value.loc().clone(),
                    ConfErrorKind::MixedStoreForms {
                        directive: directive.to_string(),
                    },
                ));
            };
            for s in scalars {
                let path = s.non_empty().ok_or_else(|| missing(directive, &s.loc))?;
                out.entry(path.to_string()).or_insert_with(|| Store {
                    kind,
                    path: path.to_string(),
                    loc: s.loc.clone(),
                    block: None,
                });
            }
        }
        Value::Hash(node) => {
            for (path, v) in node.entries() {
                let Value::Hash(block) = v else {
                    return Err(ConfError::new(
                        v.loc().clone(),
                        ConfErrorKind::StoreWithoutPath {
                            directive: directive.to_string(),
                        },
                    ));
                };
                let scope = format!("<{directive} {path}> of {scope}");
                let options = lun_options(block, &scope, warnings)?;
                out.insert(
                    path.to_string(),
                    Store {
                        kind,
                        path: path.to_string(),
                        loc: block.loc.clone(),
                        block: Some(options),
                    },
                );
            }
        }
    }
    Ok(out.into_values().collect())
}

/// The options of a store block, in file order (the Perl tool's hash order is random).
fn lun_options(block: &Node, scope: &str, warnings: &mut Vec<Warning>) -> Checked<Vec<LunOption>> {
    let mut out = Vec::new();
    for (key, value) in block.entries() {
        if key == "mode_page" || key == "params" {
            out.push(LunOption::Multi {
                key: key.to_string(),
                values: many(key, value)?,
            });
            continue;
        }
        let v = match value {
            Value::Scalar(s) => s
                .non_empty()
                .map(str::to_string)
                .ok_or_else(|| missing(key, &s.loc))?,
            other => one(key, other, scope)?,
        };
        let known =
            directive(key).is_some_and(|d| matches!(d.scope, Scope::Lun | Scope::TargetAndLun));
        if !known {
            warnings.push(unknown(key, value, &format!("in {scope}")));
        }
        out.push(LunOption::Single {
            key: key.to_string(),
            value: v,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conf::load_str;

    fn target(text: &str) -> Target {
        let c = load_str("t.conf", text).unwrap();
        let mut targets = c.targets.unwrap();
        let (_, entry) = targets.pop_first().unwrap();
        entry.target.unwrap()
    }

    fn target_err(text: &str) -> String {
        let c = load_str("t.conf", text).unwrap();
        let mut targets = c.targets.unwrap();
        let (_, entry) = targets.pop_first().unwrap();
        entry.target.unwrap_err().to_string()
    }

    #[test]
    fn stores_sort_by_path_backing_before_direct() {
        let t = target(
            "<target t>\ndirect-store /dev/sdb\nbacking-store /b\nbacking-store /a\nbacking-store /b\n</target>\n",
        );
        let paths: Vec<_> = t.stores.iter().map(|s| (s.kind, s.path.as_str())).collect();
        assert_eq!(
            paths,
            [
                (StoreKind::Backing, "/a"),
                (StoreKind::Backing, "/b"),
                (StoreKind::Direct, "/dev/sdb")
            ]
        );
    }

    #[test]
    fn lun_block_options_keep_file_order() {
        let t = target(
            "<target t>\n<backing-store /a>\nvendor_id V\nlun 3\nmode_page 1\nmode_page 2\n</backing-store>\n</target>\n",
        );
        let block = t.stores[0].block.clone().unwrap();
        assert_eq!(
            block,
            [
                LunOption::Single {
                    key: "vendor_id".into(),
                    value: "V".into()
                },
                LunOption::Single {
                    key: "lun".into(),
                    value: "3".into()
                },
                LunOption::Multi {
                    key: "mode_page".into(),
                    values: vec!["1".into(), "2".into()]
                },
            ]
        );
        assert_eq!(t.stores[0].block_value("lun"), Some("3"));
    }

    #[test]
    fn bare_directive_in_a_target_is_a_missing_value() {
        assert_eq!(
            target_err("<target t>\n  initiator-address\n</target>\n"),
            "t.conf:2: initiator-address: missing value, expected an initiator address: ALL, an IP address or ADDRESS/PREFIX"
        );
        assert_eq!(
            target_err("<target t>\n  foo\n</target>\n"),
            "t.conf:2: foo: missing value, expected a value"
        );
    }

    #[test]
    fn repeated_lun_option_names_the_block_and_first_line() {
        assert_eq!(
            target_err("<target t>\n<backing-store /a>\nvendor_id A\nvendor_id B\n</backing-store>\n</target>\n"),
            "t.conf:4: vendor_id is given more than once in <backing-store /a> of target t (first at t.conf:3); only one is allowed"
        );
    }

    #[test]
    fn user_without_password_is_rejected() {
        assert_eq!(
            target_err("<target t>\nincominguser alice\n</target>\n"),
            "t.conf:2: incominguser: expected USER and PASSWORD separated by one space"
        );
        assert_eq!(
            target_err("<target t>\nincominguser alice  pw\n</target>\n"),
            "t.conf:2: incominguser: expected USER and PASSWORD separated by one space"
        );
    }

    #[test]
    fn mixed_store_forms_are_rejected() {
        assert_eq!(
            target_err("<target t>\n<backing-store /a>\n</backing-store>\nbacking-store /b\n</target>\n"),
            "t.conf:2: backing-store: 'backing-store PATH' lines and <backing-store PATH> blocks cannot be mixed in one target"
        );
    }

    #[test]
    fn iscsi_keys_use_first_value_and_note_repetition() {
        let t = target("<target t>\nMaxConnections 1\nMaxConnections 2\nstate offline\nheaderdigest x\n</target>\n");
        assert_eq!(
            t.iscsi,
            [KeyValue {
                key: "MaxConnections".into(),
                value: "1".into(),
                repeated: true
            }]
        );
        assert_eq!(t.states.len(), 1);
    }

    #[test]
    fn unknown_directives_are_ignored_with_a_warning() {
        let c = load_str("t.conf", "bogus 1\n<target t>\nMaxQueueCmd 3\n</target>\n").unwrap();
        let msgs: Vec<_> = c.warnings.iter().map(ToString::to_string).collect();
        assert_eq!(
            msgs,
            [
                "t.conf:1: warning: unknown directive bogus in the global section; ignored",
                "t.conf:3: warning: unknown directive MaxQueueCmd in target t; ignored"
            ]
        );
    }

    #[test]
    fn repeated_default_driver_is_an_error_when_used() {
        let c = load_str("t.conf", "default-driver iscsi\ndefault-driver iser\n").unwrap();
        let e = c.globals.default_driver.unwrap().unwrap_err();
        assert_eq!(
            e.to_string(),
            "t.conf:2: default-driver is given more than once in the global section (first at t.conf:1); only one is allowed"
        );
        assert_eq!(e.exit_code(), 1);
    }

    #[test]
    fn user_pass_splits_on_single_spaces() {
        assert_eq!(perl_split_space("a b c"), ["a", "b", "c"]);
        assert_eq!(perl_split_space(" a b"), ["", "a", "b"]);
        assert_eq!(perl_split_space("a b  "), ["a", "b"]);
    }
}
