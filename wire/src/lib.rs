//! `rampart-wire`: protocol bytes written by hand, for the traffic a well-behaved client
//! library will not send. attack-sim sends them at servers under test (rapid resets,
//! CONTINUATION and control-frame floods, offers of SSL 3.0 or CBC suites), and rampart's own
//! tests send them at rampart to show its limits hold.
//!
//! - [`h2`]: HTTP/2 frames (RFC 9113 section 4) and HPACK header blocks of literals only
//!   (RFC 7541 section 6.2.2: no dynamic table, no Huffman).
//! - [`tls`]: ClientHello records for any legacy version and suite list, the IANA names of the
//!   suites a scan offers, and the classification of a server's first answer.
//!
//! Pure functions over bytes: no sockets, no runtime, no dependencies.

pub mod h2;
pub mod tls;
