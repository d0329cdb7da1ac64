//! Money rules independent of storage: amount parsing and formatting, and the limits on
//! names and memos.

pub mod amount;
pub mod cursor;
pub mod text;

pub use amount::{Amount, AmountError};
