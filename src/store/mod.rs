//! Durable state in SQL: cases, items, filings, feedback and the audit log.
//!
//! All SQL of the service lives in this module, written to run unchanged on SQLite (the
//! embedded default) and PostgreSQL (for several instances and larger organisations): `$n`
//! placeholders, `ON CONFLICT`, `RETURNING`, times as integer milliseconds. Only the schema
//! migrations are written once per database.

mod audit;
mod cases;
mod changes;
mod creations;
mod feedback;
mod filings;
mod follows;
mod intents;
mod items;
mod kle;
mod mailboxes;
mod overview;
mod past;
mod ranker;
mod review;
mod rules;
mod snapshot;
mod stats;
mod versions;
mod withdrawals;

use sqlx::AnyPool;
use sqlx::any::{AnyPoolOptions, AnyRow};

pub use audit::{AuditEvent, AuditFilter, AuditKind, AuditOrder, MAX_AUDIT_LIMIT, SYSTEM_ACTOR};
pub use cases::CaseQuery;
pub use changes::{Held, NewSettingChange, SettingChange, ThresholdState};
pub use creations::{Creation, CreationState};
pub use feedback::{Feedback, RecordedChoice, ShownCase};
pub use filings::{FilingCreated, FilingOptions, NewFiling, dedupe_key};
pub use follows::{NewFollow, ThreadFollow};
pub use intents::{Intent, IntentState};
pub use items::{FiledPlace, NewItem, StoredItem, conversation_of};
pub use mailboxes::{MailKey, MailboxPosition};
pub use overview::{ConnectorActivity, MailboxActivity};
pub use past::PastFiling;
pub use ranker::RankerRecord;
pub use review::{NewReview, ReviewItem, ReviewState};
pub use snapshot::sqlite_snapshot;
pub use stats::{Band, Breakdown, Quality, QualityReport, ShownChoice, Week};
pub use withdrawals::WithdrawalClaim;

/// One schema change, as each database needs it.
struct Migration {
    version: i64,
    sqlite: &'static str,
    postgres: &'static str,
}

/// A change both databases take as written (`migrations/portable`).
const fn portable(version: i64, sql: &'static str) -> Migration {
    Migration {
        version,
        sqlite: sql,
        postgres: sql,
    }
}

/// Schema changes in order; each runs once, in a transaction.
const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        sqlite: include_str!("../../migrations/sqlite/0001_initial.sql"),
        postgres: include_str!("../../migrations/postgres/0001_initial.sql"),
    },
    portable(2, include_str!("../../migrations/portable/0002_audit.sql")),
    portable(
        3,
        include_str!("../../migrations/portable/0003_retention.sql"),
    ),
    portable(
        4,
        include_str!("../../migrations/portable/0004_lookup_indexes.sql"),
    ),
    portable(
        5,
        include_str!("../../migrations/portable/0005_confirmed.sql"),
    ),
    portable(6, include_str!("../../migrations/portable/0006_ranker.sql")),
    portable(
        7,
        include_str!("../../migrations/portable/0007_intents_versions.sql"),
    ),
    Migration {
        version: 8,
        sqlite: include_str!("../../migrations/sqlite/0008_delivery_order.sql"),
        postgres: include_str!("../../migrations/postgres/0008_delivery_order.sql"),
    },
    portable(
        9,
        include_str!("../../migrations/portable/0009_unique_versions.sql"),
    ),
    portable(
        10,
        include_str!("../../migrations/portable/0010_autofile.sql"),
    ),
    portable(
        11,
        include_str!("../../migrations/portable/0011_mailbox_mails.sql"),
    ),
    portable(
        12,
        include_str!("../../migrations/portable/0012_shown_confidence.sql"),
    ),
    portable(13, include_str!("../../migrations/portable/0013_kle.sql")),
    portable(
        14,
        include_str!("../../migrations/portable/0014_filing_order.sql"),
    ),
    portable(
        15,
        include_str!("../../migrations/portable/0015_thread_follows.sql"),
    ),
    portable(
        16,
        include_str!("../../migrations/portable/0016_setting_changes.sql"),
    ),
    portable(
        17,
        include_str!("../../migrations/portable/0017_mailbox_looks.sql"),
    ),
    portable(
        18,
        include_str!("../../migrations/portable/0018_shown_features.sql"),
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
    #[error("store.url must start with sqlite: or postgres:, not {0:?}")]
    UnknownDatabase(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The PostgreSQL advisory lock that migrations take: any number, the same in every instance.
const MIGRATION_LOCK: i64 = 0x4a6f_7572_6e61;
/// The one that changes of settings take, so that each is numbered after the last.
const SETTINGS_LOCK: i64 = 0x4a6f_7572_6e62;

/// Each SQLite connection's settings. An accepted filing must survive a power cut too, so
/// every commit is synced.
const SQLITE_PRAGMAS: &[&str] = &[
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = FULL",
    "PRAGMA foreign_keys = ON",
    "PRAGMA busy_timeout = 10000",
];

/// The database a store is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    fn of(url: &str) -> Result<Backend> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Ok(Backend::Postgres)
        } else {
            // Only the scheme: the rest may hold a password.
            let scheme = url.split(':').next().unwrap_or_default();
            Err(StoreError::UnknownDatabase(scheme.to_string()))
        }
    }
}

/// How long what is read for every decision (the rules, the applied thresholds) is used
/// before it is read again: a change made through this store counts at once, one made by
/// another instance within this time.
const DECIDING_FRESH: std::time::Duration = std::time::Duration::from_secs(2);

/// A value read from the store, and when, kept for `DECIDING_FRESH`.
struct Cached<T>(std::sync::Arc<std::sync::Mutex<Option<(std::time::Instant, T)>>>);

impl<T> Default for Cached<T> {
    fn default() -> Self {
        Cached(Default::default())
    }
}

impl<T> Clone for Cached<T> {
    fn clone(&self) -> Self {
        Cached(self.0.clone())
    }
}

impl<T: Clone> Cached<T> {
    /// The value, unless it was read too long ago.
    fn fresh(&self) -> Option<T> {
        let cached = self.0.lock().ok()?;
        let (read, value) = cached.as_ref()?;
        (read.elapsed() < DECIDING_FRESH).then(|| value.clone())
    }

    fn keep(&self, value: &T) {
        if let Ok(mut cached) = self.0.lock() {
            *cached = Some((std::time::Instant::now(), value.clone()));
        }
    }

    /// Forgets the value, after a change through this store.
    fn clear(&self) {
        if let Ok(mut cached) = self.0.lock() {
            *cached = None;
        }
    }
}

#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// The rules in force as last read: every suggestion asks for them.
    rules: Cached<Vec<crate::autofile::rules::Rule>>,
    /// The thresholds applied from the console as last read: every decision asks for them.
    applied: Cached<crate::autofile::thresholds::Applied>,
}

impl Store {
    /// Opens (creating if needed) the database at `url` (`sqlite://…`, `sqlite::memory:` or
    /// `postgres://…`) and brings its schema up to date.
    pub async fn open(url: &str) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let backend = Backend::of(url)?;
        let in_memory = url.contains(":memory:");
        let mut url = url.to_string();
        if backend == Backend::Sqlite && !in_memory && !url.contains("mode=") {
            url.push(if url.contains('?') { '&' } else { '?' });
            url.push_str("mode=rwc");
        }
        // SQLite serialises writers anyway; a few connections let reads run beside a write.
        // An in-memory database exists once per connection, so it gets exactly one, kept for
        // the life of the pool. PostgreSQL serves many writers at once.
        let connections = match (backend, in_memory) {
            (Backend::Sqlite, true) => 1,
            (Backend::Sqlite, false) => 4,
            (Backend::Postgres, _) => 16,
        };
        let mut options = AnyPoolOptions::new().max_connections(connections);
        if in_memory {
            options = options.idle_timeout(None).max_lifetime(None);
        }
        let pool = options
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        for pragma in SQLITE_PRAGMAS {
                            sqlx::Executor::execute(&mut *conn, *pragma).await?;
                        }
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await?;
        let store = Store {
            pool,
            backend,
            rules: Default::default(),
            applied: Default::default(),
        };
        store.migrate().await?;
        Ok(store)
    }

    /// The end of a claim's row choice: on PostgreSQL, workers claiming at the same moment
    /// pass over each other's rows rather than all reaching for the first one and all but one
    /// coming away empty; SQLite has one writer at a time anyway.
    fn pass_over_claimed(&self) -> &'static str {
        match self.backend {
            Backend::Postgres => "FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        }
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Applies the migrations not yet applied. Each is looked up by its own number, so one
    /// merged later with a lower number than an applied one still runs. On PostgreSQL,
    /// instances starting together take turns (a transaction-scoped advisory lock).
    async fn migrate(&self) -> Result<()> {
        let mut tx = self.begin_serialised(MIGRATION_LOCK).await?;
        sqlx::raw_sql(
            "CREATE TABLE IF NOT EXISTS schema_version (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        for migration in MIGRATIONS {
            let version = migration.version;
            let mut tx = self.begin_serialised(MIGRATION_LOCK).await?;
            let applied: Option<i64> =
                sqlx::query_scalar("SELECT version FROM schema_version WHERE version = $1")
                    .bind(version)
                    .fetch_optional(&mut *tx)
                    .await?;
            if applied.is_some() {
                continue;
            }
            let sql = match self.backend {
                Backend::Sqlite => migration.sqlite,
                Backend::Postgres => migration.postgres,
            };
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

    /// A transaction that, on PostgreSQL, waits for every other one holding `lock` to end
    /// (SQLite has one writer at a time anyway).
    pub(super) async fn begin_serialised(
        &self,
        lock: i64,
    ) -> Result<sqlx::Transaction<'static, sqlx::Any>> {
        let mut tx = self.pool.begin().await?;
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(lock)
                .execute(&mut *tx)
                .await?;
        }
        Ok(tx)
    }

    /// A cheap round trip, for readiness checks.
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Bytes the database takes on disk (for SQLite without its write-ahead log).
    pub async fn size_on_disk(&self) -> Result<i64> {
        let sql = match self.backend {
            Backend::Postgres => "SELECT pg_database_size(current_database())",
            Backend::Sqlite => {
                "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()"
            }
        };
        Ok(sqlx::query_scalar(sql).fetch_one(&self.pool).await?)
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// The rows of `sql` for all of `values` at once: `{values}` in `sql` is where the
    /// `IN (…)` list goes (`{upper_values}` for the values upper-cased by the database), and
    /// `$1`, `$2`, … before it are `leading`, bound first. A long list is split over several
    /// statements.
    async fn rows_in(&self, sql: &str, leading: &[&str], values: &[String]) -> Result<Vec<AnyRow>> {
        let mut rows = Vec::new();
        for chunk in values.chunks(IN_LIST_MAX) {
            let first = leading.len() + 1;
            let statement = sql
                .replace("{values}", &in_list(first, chunk.len(), ""))
                .replace("{upper_values}", &in_list(first, chunk.len(), "UPPER"));
            let mut query = sqlx::query(&statement);
            for value in leading {
                query = query.bind(plain(value));
            }
            for value in chunk {
                query = query.bind(plain(value));
            }
            rows.extend(query.fetch_all(&self.pool).await?);
        }
        Ok(rows)
    }
}

/// `url` with its password, if any, hidden: for messages and logs. The password may be in
/// the user part (`user:secret@host`, where it may even hold `/` or `@`) or a `password=`
/// parameter.
pub fn redacted_url(url: &str) -> String {
    url_without_secrets(url, |key| key.eq_ignore_ascii_case("password"), "***")
}

/// `url` with the password of its user part, and the values of the query parameters
/// `hidden` picks, replaced by `mask`.
pub fn url_without_secrets(url: &str, hidden: impl Fn(&str) -> bool, mask: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (address, query) = match rest.split_once('?') {
        Some((address, query)) => (address, Some(query)),
        None => (rest, None),
    };
    let mut out = format!("{scheme}://");
    match address.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split_once(':').map_or(userinfo, |(user, _)| user);
            out.push_str(user);
            if user.len() < userinfo.len() {
                out.push(':');
                out.push_str(mask);
            }
            out.push('@');
            out.push_str(host);
        }
        None => out.push_str(address),
    }
    if let Some(query) = query {
        let parameters: Vec<String> = query
            .split('&')
            .map(|parameter| match parameter.split_once('=') {
                Some((key, _)) if hidden(key) => format!("{key}={mask}"),
                _ => parameter.to_string(),
            })
            .collect();
        out.push('?');
        out.push_str(&parameters.join("&"));
    }
    out
}

/// At most this many values are bound in one `IN (…)` list, well within both databases'
/// limits on the parameters of a statement.
const IN_LIST_MAX: usize = 500;

/// The placeholders `$first, $first+1, …` of an `IN (…)` list of `count` values, each in
/// `function` if one is named.
fn in_list(first: usize, count: usize, function: &str) -> String {
    (first..first + count)
        .map(|i| format!("{function}(${i})"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `text` without NUL characters, which PostgreSQL does not take in text columns (SQLite
/// does): for free text from mails, requests and targets, which may hold them.
fn plain(text: &str) -> String {
    text.replace('\0', "")
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_hidden_from_messages() {
        assert_eq!(
            redacted_url(
                "postgres://journaliser:s3cr3t@db.example:5432/journaliser?sslmode=require"
            ),
            "postgres://journaliser:***@db.example:5432/journaliser?sslmode=require"
        );
        assert_eq!(
            redacted_url("postgres://postgres@127.0.0.1/test"),
            "postgres://postgres@127.0.0.1/test"
        );
        assert_eq!(
            redacted_url("sqlite://data/journaliser.db"),
            "sqlite://data/journaliser.db"
        );
        assert_eq!(redacted_url("sqlite::memory:"), "sqlite::memory:");
        assert_eq!(
            redacted_url("postgres://j:a/b@c@db.example/journaliser"),
            "postgres://j:***@db.example/journaliser"
        );
        assert_eq!(
            redacted_url("postgres://db.example/j?user=j&password=s3cr3t&sslmode=require"),
            "postgres://db.example/j?user=j&password=***&sslmode=require"
        );
    }

    #[test]
    fn only_sqlite_and_postgres_are_known() {
        assert_eq!(Backend::of("sqlite::memory:").unwrap(), Backend::Sqlite);
        assert_eq!(Backend::of("postgresql://h/d").unwrap(), Backend::Postgres);
        let refused = Backend::of("mysql://root:pw@h/d").unwrap_err().to_string();
        assert!(
            refused.contains("\"mysql\"") && !refused.contains("pw"),
            "{refused}"
        );
    }
}
