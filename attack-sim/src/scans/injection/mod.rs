//! The `injection` scans: SQL injection into every input the target's OpenAPI document
//! declares ([`sqli`]), with its payloads kept as data ([`payloads`]), and the other abuse
//! of those inputs a parser must refuse or survive ([`abuse`]).

pub mod abuse;
pub mod payloads;
pub mod sqli;
