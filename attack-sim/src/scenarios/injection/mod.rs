//! The `injection` scans: SQL injection into every input the target's OpenAPI document
//! declares ([`sqli`]), with its payloads kept as data ([`payloads`]).

pub mod payloads;
pub mod sqli;
