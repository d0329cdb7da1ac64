//! Credentials and sessions: username and password rules (NIST 800-63B), argon2id hashing on
//! a bounded pool that sheds instead of queueing without bound, bearer tokens stored only as
//! hashes, and the extractor that turns a bearer token into an authenticated user.

pub mod backoff;
pub mod hasher;
pub mod known_logins;
pub mod rules;
pub mod session;
pub mod token;

pub use hasher::{HashError, Hasher};
pub use session::Authenticated;
