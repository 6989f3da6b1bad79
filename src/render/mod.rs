//! Output formats. Each renders a [`Report`](crate::report::Report) to a writer and never reads
//! the system.

pub mod json;
pub mod plain;
pub mod table;
