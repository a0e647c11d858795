//! Management client: one request per connection, as tgtadm does. (Filled in by the tgtadm work.)
