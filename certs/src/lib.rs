//! `rampart-certs`: the development certificate authority and leaf certificates Rampart
//! generates on first run, and PEM loading that fails with errors naming the file and the
//! problem (missing file, no certificate, unsupported or encrypted key, key that does not
//! match the certificate).
//!
//! Everything here is for *development* trust: production deployments point `tls.cert` and
//! `tls.key` at certificates from a real CA, which go through the same [`load_certified_key`].

mod atomic_write;
pub mod dev;
mod error;
#[cfg(any(test, fuzzing))]
pub mod fuzzing;
pub mod pem;

pub use atomic_write::write_atomic;
pub use dev::{
    DevCa, DevOutcome, DevPaths, ensure_dev_set, generate_dev_set, issue_leaf, not_after,
};
pub use error::{CertError, PemProblem};
pub use pem::{
    certified_key_from_pem, load_cert_chain, load_certified_key, load_private_key,
    parse_cert_chain, parse_private_key,
};
