//! Sending a planned tgtadm command to tgtd through the shared management client.
//!
//! Owns the one place where tgt-admin talks to tgtd: each [`TgtadmCmd`] becomes the request
//! C tgtadm would send ([`TgtadmCmd::invocation`]) and goes out on its own connection with
//! [`tgt::mgmt::client::Client`], as tgtadm does. Failures come back as C tgtadm would report
//! them: its stderr text and its exit status (mgmt-protocol.md §11), which the Perl tool
//! then reports as "exited with code N".

use tgt::mgmt::client::{Client, ClientError};

use crate::plan::{Failure, Tgtd};
use crate::tgtadm::TgtadmCmd;

/// The daemon named by `$TGT_IPC_SOCKET` and each command's `-C` port.
#[derive(Debug, Default, Clone, Copy)]
pub struct Live;

impl Tgtd for Live {
    fn run(&mut self, cmd: &TgtadmCmd) -> Result<String, Failure> {
        let inv = cmd.invocation().map_err(|r| Failure {
            message: r.message,
            code: r.code,
        })?;
        let client = Client::from_env(inv.control_port);
        match client.request(&inv.req, &inv.body) {
            Ok(reply) => Ok(String::from_utf8_lossy(&reply.text).into_owned()),
            Err(e) => {
                let mut f = failure(&client, &e);
                if inv.status_from_rest {
                    f.code = 0;
                }
                Err(f)
            }
        }
    }
}

/// What C tgtadm prints and returns for a client error.
fn failure(client: &Client, e: &ClientError) -> Failure {
    let mut message = String::new();
    if client.path().too_long {
        message.push_str(&format!(
            "tgtadm: management path too long: {}\n",
            client.path().path.display()
        ));
    }
    match e {
        // C prints these two without its name and without a newline.
        ClientError::BadLength { .. } | ClientError::ReadBody { .. } => {
            message.push_str(&e.to_string())
        }
        _ => message.push_str(&format!("tgtadm: {e}\n")),
    }
    // A tgtadm killed by SIGPIPE has no exit status; the Perl tool sees 0.
    let code = if e.is_broken_pipe() { 0 } else { e.exit_code() };
    Failure { message, code }
}
