//! GNU `getopt_long` compatible argument scanner. (Filled in by the tgtadm work.)
