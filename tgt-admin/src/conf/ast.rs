//! The tree a targets.conf parses into: Config::General's nested hash, with source positions.
//!
//! Owns the shape that the Perl tool sees after `ParseConfig(..., -MergeDuplicateBlocks => 1)`
//! (targets-conf.md §1.1): a node maps each key to a scalar (possibly undefined), a list (the key
//! was repeated) or a hash (a block; a named block `<target X>` is a hash under `target` whose
//! key is `X`). It knows nothing about what any key means; `lower` does.
//!
//! Differences from Perl, on purpose: keys keep their insertion order (Perl's hash order is
//! random, so any order is one the Perl tool could produce, and file order is the one a reader
//! expects), and every value remembers the file and line it came from.

use std::fmt;
use std::sync::Arc;

/// Where something came from: a file and a 1-based line number.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Loc {
    /// The file as it was named (the `-c` argument or the include path as resolved).
    pub file: Arc<str>,
    /// 1-based line number; for a line continued with `\`, its first line.
    pub line: u32,
}

impl Loc {
    /// A position in `file`.
    pub fn new(file: &Arc<str>, line: u32) -> Self {
        Self {
            file: Arc::clone(file),
            line,
        }
    }
}

impl fmt::Display for Loc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

impl fmt::Debug for Loc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// One option value as written: `key value` gives `Some(value)`, a bare `key` gives `None`
/// (Perl's `undef`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scalar {
    /// The value after quote stripping and escape processing.
    pub text: Option<String>,
    /// The line of the option.
    pub loc: Loc,
}

impl Scalar {
    /// The value when it is defined and not empty: Perl's `length $value`.
    pub fn non_empty(&self) -> Option<&str> {
        self.text.as_deref().filter(|s| !s.is_empty())
    }
}

/// A value in the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// `key value` once.
    Scalar(Scalar),
    /// `key` given several times in one scope, in order; elements are scalars, or hashes when
    /// an option line and a block of the same name were mixed. `loc` is the first element's.
    List {
        /// The values, at least two.
        items: Vec<Value>,
        /// Where the first one was written.
        loc: Loc,
    },
    /// A block (`<key>` … `</key>`) or the container of named blocks (`<key NAME>`).
    Hash(Node),
}

impl Value {
    /// Where the value (or its first element) was written.
    pub fn loc(&self) -> &Loc {
        match self {
            Value::Scalar(s) => &s.loc,
            Value::Hash(n) => &n.loc,
            Value::List { loc, .. } => loc,
        }
    }

    /// The scalars of a scalar or of a list of scalars; `None` when a hash is involved.
    pub fn scalars(&self) -> Option<Vec<&Scalar>> {
        match self {
            Value::Scalar(s) => Some(vec![s]),
            Value::List { items, .. } => items
                .iter()
                .map(|v| match v {
                    Value::Scalar(s) => Some(s),
                    _ => None,
                })
                .collect(),
            Value::Hash(_) => None,
        }
    }
}

/// A hash: keys in first-insertion order, each with its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// Where the block opened (for the top level: the start of the main file).
    pub loc: Loc,
    entries: Vec<(String, Value)>,
}

impl Node {
    /// An empty hash opened at `loc`.
    pub fn new(loc: Loc) -> Self {
        Self {
            loc,
            entries: Vec::new(),
        }
    }

    /// The value of `key`.
    #[cfg(test)]
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// The value of `key`, mutably.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Value> {
        self.entries
            .iter_mut()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    /// Sets `key` (appending it if new).
    pub fn insert(&mut self, key: String, value: Value) {
        match self.get_mut(&key) {
            Some(slot) => *slot = value,
            None => self.entries.push((key, value)),
        }
    }

    /// The value of `key`, inserted from `default` if the key is new.
    pub fn get_or_insert(&mut self, key: &str, default: impl FnOnce() -> Value) -> &mut Value {
        let i = match self.entries.iter().position(|(k, _)| k == key) {
            Some(i) => i,
            None => {
                self.entries.push((key.to_string(), default()));
                self.entries.len() - 1
            }
        };
        &mut self.entries[i].1
    }

    /// Entries in insertion order.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Entries in the order Perl's `sort keys` gives: byte order of the keys.
    pub fn sorted_entries(&self) -> Vec<(&str, &Value)> {
        let mut v: Vec<_> = self.entries().collect();
        v.sort_by(|a, b| a.0.cmp(b.0));
        v
    }

    /// Number of keys.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.entries.len()
    }
}
