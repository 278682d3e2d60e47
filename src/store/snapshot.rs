//! A consistent copy of an SQLite store taken while the service goes on writing to it, ready to
//! be opened by another service.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::Connection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};

use super::Result;

/// Writes the database at `url` (an `sqlite:` URL) to `destination`, a file that must not exist
/// yet, with `VACUUM INTO`: SQLite's online backup, one read transaction, so the copy holds
/// every transaction committed before it began and none after, whatever the service does
/// meanwhile through its own connections.
pub async fn sqlite_snapshot(url: &str, destination: &Path) -> Result<()> {
    let options = SqliteConnectOptions::from_str(url)?
        .create_if_missing(false)
        // The service's writers hold the lock only briefly; wait for them rather than fail.
        .busy_timeout(Duration::from_secs(30));
    let mut connection = SqliteConnection::connect_with(&options).await?;
    sqlx::query("VACUUM INTO $1")
        .bind(destination.to_string_lossy().into_owned())
        .execute(&mut connection)
        .await?;
    connection.close().await?;
    release_claims(destination).await
}

/// Frees the copy's filings from the delivery claims of the workers that made them: no worker
/// of the service that opens the copy holds them, and it would otherwise wait out each lease.
/// The delivery is then repeated, as after a crash, and the connector dedupes it on the filing id.
async fn release_claims(copy: &Path) -> Result<()> {
    let options = SqliteConnectOptions::new()
        .filename(copy)
        .create_if_missing(false);
    let mut connection = SqliteConnection::connect_with(&options).await?;
    sqlx::query(
        "UPDATE filings SET lease_until = NULL WHERE state = 'queued' AND lease_until IS NOT NULL",
    )
    .execute(&mut connection)
    .await?;
    connection.close().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::case::{Case, CaseStatus};
    use crate::domain::{new_id, now_millis};
    use crate::store::{FilingOptions, NewFiling, Store};

    #[tokio::test]
    async fn the_snapshot_is_a_store_with_the_same_rows() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("live.db").display());
        let live = Store::open(&url).await.unwrap();
        for id in ["S-1", "S-2"] {
            let case = Case {
                id: id.into(),
                connector: "archive".into(),
                number: format!("00.01.00-G01-{id}-26"),
                title: "Kommunens styrelse".into(),
                kle: None,
                facet: None,
                status: CaseStatus::Open,
                parties: Vec::new(),
                groups: Vec::new(),
                opened: None,
            };
            live.upsert_case(&case).await.unwrap();
        }
        let item = new_id();
        sqlx::query(
            "INSERT INTO items (id, owner, kind, content_type, sha256, size, extracted, original, created_at)
             VALUES ($1, 'anna', 'document', 'text/plain', $1, 0, '{}', x'', 0)",
        )
        .bind(&item)
        .execute(&live.pool)
        .await
        .unwrap();
        let filing = NewFiling {
            item_id: &item,
            case_id: "S-1",
            dedupe_key: item.clone(),
            title: "Referat",
            attachments: &[],
            created_by: "anna",
        };
        live.create_filing_with(filing, &FilingOptions::default())
            .await
            .unwrap();
        // A worker is delivering it when the copy is taken.
        assert!(
            live.claim_due_filing(now_millis(), 60_000)
                .await
                .unwrap()
                .is_some()
        );
        let copy = dir.path().join("copy.db");
        sqlite_snapshot(&url, &copy).await.unwrap();
        let reopened = Store::open(&format!("sqlite://{}", copy.display()))
            .await
            .unwrap();
        assert_eq!(reopened.count_cases().await.unwrap(), 2);
        assert!(reopened.case("S-2").await.unwrap().is_some());
        assert!(
            reopened
                .claim_due_filing(now_millis(), 60_000)
                .await
                .unwrap()
                .is_some(),
            "the filing claimed in the live store is free in the copy"
        );
        assert!(
            live.claim_due_filing(now_millis(), 60_000)
                .await
                .unwrap()
                .is_none(),
            "and still claimed in the live one"
        );
        assert!(
            sqlite_snapshot(&url, &copy).await.is_err(),
            "an existing file is never overwritten"
        );
        let missing = format!("sqlite://{}", dir.path().join("missing.db").display());
        assert!(
            sqlite_snapshot(&missing, &dir.path().join("x.db"))
                .await
                .is_err()
        );
    }
}
