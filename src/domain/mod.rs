//! Validated value types shared by every module.

pub mod case;
pub mod filing;
pub mod identifiers;

/// Milliseconds since the Unix epoch: the one time representation the store uses, because it
/// compares and sorts the same way in SQLite and PostgreSQL.
pub type Millis = i64;

pub fn now_millis() -> Millis {
    chrono::Utc::now().timestamp_millis()
}

/// A fresh, time-ordered identifier for items and filings.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}
