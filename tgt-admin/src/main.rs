//! tgt-admin: applies targets.conf to a running tgtd.
fn main() {}
