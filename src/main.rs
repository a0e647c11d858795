//! tgtd: the SCSI target daemon.
fn main() {}
