//! The management plane: the `tgtadm` IPC protocol on the Unix socket.
//!
//! `wire` is the byte layout shared by every program; `client` is the requester used by
//! `tgtadm` and `tgt-admin`; `params` parses the request body text; `server` runs requests
//! against the daemon's configuration; `render` builds the `--op show` text.

pub mod client;
pub mod params;
pub mod render;
pub mod server;
pub mod wire;
