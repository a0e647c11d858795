//! tgtadm: the tgt management client.
fn main() {}
