//! Durable state in SQL: cases, items, filings, feedback and the audit log.
//!
//! All SQL of the service lives in this module, written to run unchanged on SQLite and
//! PostgreSQL (`$n` placeholders, `ON CONFLICT`, `RETURNING`, times as integer milliseconds).

mod audit;
mod cases;
mod feedback;
mod filings;
mod intents;
mod items;
mod ranker;
mod versions;

use std::str::FromStr;
use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};

pub use audit::{AuditEvent, AuditFilter, AuditKind, AuditOrder, MAX_AUDIT_LIMIT};
pub use cases::CaseQuery;
pub use feedback::Feedback;
pub use filings::{FilingCreated, FilingOptions, NewFiling};
pub use intents::{Intent, IntentState};
pub use items::{NewItem, StoredItem};
pub use ranker::RankerRecord;

/// Schema changes in order; each runs once, in a transaction.
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../../migrations/sqlite/0001_initial.sql")),
    (2, include_str!("../../migrations/sqlite/0002_audit.sql")),
    (
        3,
        include_str!("../../migrations/sqlite/0003_retention.sql"),
    ),
    (
        4,
        include_str!("../../migrations/sqlite/0004_lookup_indexes.sql"),
    ),
    (
        5,
        include_str!("../../migrations/sqlite/0005_confirmed.sql"),
    ),
    (6, include_str!("../../migrations/sqlite/0006_ranker.sql")),
    (
        7,
        include_str!("../../migrations/sqlite/0007_intents_versions.sql"),
    ),
    (
        8,
        include_str!("../../migrations/sqlite/0008_delivery_order.sql"),
    ),
    (
        9,
        include_str!("../../migrations/sqlite/0009_unique_versions.sql"),
    ),
];

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// The change would break a uniqueness rule; the message says which.
    #[error("{0}")]
    Conflict(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[derive(Clone)]
pub struct Store {
    pool: SqlitePool,
}

impl Store {
    /// Opens (creating if needed) the database at `url` and brings its schema up to date.
    pub async fn open(url: &str) -> Result<Store> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // An accepted filing must survive a power cut too, so every commit is synced.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        // SQLite serialises writers anyway; a few connections let reads run beside a write.
        // An in-memory database exists once per connection, so it gets exactly one.
        let connections = if url.contains(":memory:") { 1 } else { 4 };
        let pool = SqlitePoolOptions::new()
            .max_connections(connections)
            .connect_with(options)
            .await?;
        let store = Store { pool };
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> Result<()> {
        sqlx::raw_sql(
            "CREATE TABLE IF NOT EXISTS schema_version (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
        )
        .execute(&self.pool)
        .await?;
        // Each migration is looked up by its own number, so one merged later with a lower
        // number than an applied one still runs.
        let applied: Vec<i64> = sqlx::query_scalar("SELECT version FROM schema_version")
            .fetch_all(&self.pool)
            .await?;
        for (version, sql) in MIGRATIONS {
            if applied.contains(version) {
                continue;
            }
            let mut tx = self.pool.begin().await?;
            sqlx::raw_sql(sql).execute(&mut *tx).await?;
            sqlx::query("INSERT INTO schema_version (version, applied_at) VALUES ($1, $2)")
                .bind(version)
                .bind(crate::domain::now_millis())
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            tracing::info!(version, "applied schema migration");
        }
        Ok(())
    }

    /// A cheap round trip, for readiness checks.
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// The rows of `sql` for all of `values` at once: `{values}` in `sql` is where the
    /// `IN (…)` list goes, and `$1`, `$2`, … before it are `leading`, bound first. A long list
    /// is split over several statements.
    async fn rows_in(
        &self,
        sql: &str,
        leading: &[&str],
        values: &[String],
    ) -> Result<Vec<SqliteRow>> {
        let mut rows = Vec::new();
        for chunk in values.chunks(IN_LIST_MAX) {
            let statement = sql.replace("{values}", &in_list(leading.len() + 1, chunk.len()));
            let mut query = sqlx::query(&statement);
            for value in leading {
                query = query.bind(*value);
            }
            for value in chunk {
                query = query.bind(value);
            }
            rows.extend(query.fetch_all(&self.pool).await?);
        }
        Ok(rows)
    }
}

/// At most this many values are bound in one `IN (…)` list, well within both databases'
/// limits on the parameters of a statement.
const IN_LIST_MAX: usize = 500;

/// The placeholders `$first, $first+1, …` of an `IN (…)` list of `count` values.
fn in_list(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Decodes a JSON column, naming the column when the content is not what the code expects.
fn from_json<T: serde::de::DeserializeOwned>(column: &str, text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
}

fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("serialising plain data to JSON cannot fail")
}

#[cfg(test)]
pub(crate) async fn test_store() -> Store {
    Store::open("sqlite::memory:").await.unwrap()
}
