//! Credentials: username and password rules (NIST 800-63B), argon2id hashing on a bounded pool
//! that sheds instead of queueing without bound, bearer tokens stored only as hashes, the
//! failed-login backoff, the browser's session cookie and the record of where users logged in
//! before. Below `http`: the extractor that turns a bearer token or the cookie into an
//! authenticated user is `crate::http::authenticated`, which uses these.

pub mod backoff;
pub mod cookie;
pub mod hasher;
pub mod known_logins;
pub mod rules;
pub mod token;

pub use hasher::{HashError, Hasher};
