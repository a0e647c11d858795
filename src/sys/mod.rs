//! Every `unsafe` operation of the crate lives here, behind safe functions that build their
//! own pointers and check their own preconditions (STYLE.md §6).
//!
//! Each `unsafe` block holds one operation and a `// SAFETY:` comment naming the invariant
//! it relies on; the workspace lints enforce both. Nothing here knows about iSCSI, SCSI or
//! the management protocol: callers in `bs`, `iscsi` and `event` use the safe wrappers.
#![allow(unsafe_code)]

pub mod aio;
pub mod crc32c;
pub mod dio;
#[cfg(feature = "rbd")]
pub mod rbd;
pub mod rbd_op;
pub mod sg;
