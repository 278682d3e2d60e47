//! What the ranker keeps and asks: its learned state per organisation, and which candidate
//! cases are closed.

use serde_json::Value;
use sqlx::Row;

use super::audit::{self, AuditEvent, AuditKind, SYSTEM_ACTOR};
use super::{Result, Store};
use crate::domain::now_millis;

/// The one organisation a store serves.
const SCOPE: &str = "organisation";

/// A stored ranker state as an admin sees its record.
#[derive(Debug, Clone, PartialEq)]
pub struct RankerRecord {
    /// The state as JSON, in the form the suggest module writes.
    pub state: String,
    pub updated_at: crate::domain::Millis,
    /// `system` when learning wrote it last, else the admin's id.
    pub updated_by: String,
    /// The state before an admin's last change, for undoing it.
    pub previous_state: Option<String>,
}

impl Store {
    pub async fn ranker_state(&self) -> Result<Option<RankerRecord>> {
        let row = sqlx::query(
            "SELECT state, updated_at, updated_by, previous_state FROM ranker WHERE scope = $1",
        )
        .bind(SCOPE)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(RankerRecord {
                state: row.try_get("state")?,
                updated_at: row.try_get("updated_at")?,
                updated_by: row.try_get("updated_by")?,
                previous_state: row.try_get("previous_state")?,
            })
        })
        .transpose()
    }

    /// Stores what learning made of the ranker after `updates` filings, unless a state that
    /// has learnt from more filings is stored already.
    pub async fn save_ranker_state(&self, state: &str, updates: u64) -> Result<()> {
        let mut conn = self.pool.acquire().await?;
        upsert(&mut conn, state, updates, SYSTEM_ACTOR).await
    }

    /// Stores an admin's override of the ranker with its audit record, in one transaction,
    /// keeping the state it replaces (`previous`) for an undo.
    pub async fn override_ranker_state(
        &self,
        state: &str,
        updates: u64,
        admin: &str,
        details: Value,
        previous: &str,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        upsert(&mut tx, state, updates, admin).await?;
        sqlx::query("UPDATE ranker SET previous_state = $1 WHERE scope = $2")
            .bind(previous)
            .bind(SCOPE)
            .execute(&mut *tx)
            .await?;
        audit::insert(
            &mut tx,
            &AuditEvent::new(AuditKind::RankerChanged, admin, details),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Which of `ids` are closed cases.
    pub async fn closed_cases(&self, ids: &[String]) -> Result<Vec<String>> {
        self.rows_in(
            "SELECT id FROM cases WHERE status = 'closed' AND id IN ({values})",
            &[],
            ids,
        )
        .await?
        .iter()
        .map(|row| Ok(row.try_get("id")?))
        .collect()
    }
}

async fn upsert(conn: &mut sqlx::AnyConnection, state: &str, updates: u64, by: &str) -> Result<()> {
    sqlx::query(
        "INSERT INTO ranker (scope, state, updates, updated_at, updated_by) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (scope) DO UPDATE SET state = excluded.state, updates = excluded.updates,
             updated_at = excluded.updated_at, updated_by = excluded.updated_by
         WHERE ranker.updates <= excluded.updates",
    )
    .bind(SCOPE)
    .bind(state)
    .bind(i64::try_from(updates).unwrap_or(i64::MAX))
    .bind(now_millis())
    .bind(by)
    .execute(conn)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::store::{AuditFilter, test_store};

    async fn add_case(store: &Store, id: &str, status: &str) {
        sqlx::query(
            "INSERT INTO cases (id, connector, number, title, status, search_text, updated_at)
             VALUES ($1, 'archive', $1, 'Sag', $2, '', 0)",
        )
        .bind(id)
        .bind(status)
        .execute(&store.pool)
        .await
        .unwrap();
    }

    #[tokio::test]
    async fn a_state_learnt_from_fewer_filings_never_replaces_a_newer_one() {
        let store = test_store().await;
        assert_eq!(store.ranker_state().await.unwrap(), None);
        store.save_ranker_state("{\"n\":2}", 2).await.unwrap();
        store.save_ranker_state("{\"n\":1}", 1).await.unwrap();
        let record = store.ranker_state().await.unwrap().unwrap();
        assert_eq!(
            (record.state.as_str(), record.updated_by.as_str()),
            ("{\"n\":2}", SYSTEM_ACTOR)
        );
        store
            .save_ranker_state("{\"n\":2,\"c\":1}", 2)
            .await
            .unwrap();
        assert_eq!(
            store.ranker_state().await.unwrap().unwrap().state,
            "{\"n\":2,\"c\":1}"
        );
    }

    #[tokio::test]
    async fn an_override_is_stored_with_its_audit_record() {
        let store = test_store().await;
        store
            .override_ranker_state(
                "{\"pinned\":true}",
                0,
                "root",
                json!({"pinned": true}),
                "{\"pinned\":false}",
            )
            .await
            .unwrap();
        let record = store.ranker_state().await.unwrap().unwrap();
        assert_eq!(record.updated_by, "root");
        assert_eq!(record.previous_state.as_deref(), Some("{\"pinned\":false}"));
        // Learning afterwards keeps what an undo brings back.
        store.save_ranker_state("{\"n\":1}", 1).await.unwrap();
        let record = store.ranker_state().await.unwrap().unwrap();
        assert_eq!(
            (record.state.as_str(), record.previous_state.as_deref()),
            ("{\"n\":1}", Some("{\"pinned\":false}"))
        );
        let events = store.audit_events(AuditFilter::default()).await.unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(
            (events[0].kind, events[0].actor.as_str()),
            (AuditKind::RankerChanged, "root")
        );
        assert_eq!(events[0].details, json!({"pinned": true}));
    }

    #[tokio::test]
    async fn closed_cases_are_picked_out() {
        let store = test_store().await;
        add_case(&store, "open", "open").await;
        add_case(&store, "shut", "closed").await;
        let ids: Vec<String> = ["open", "shut", "nowhere"].map(String::from).to_vec();
        assert_eq!(store.closed_cases(&ids).await.unwrap(), ["shut"]);
        assert!(store.closed_cases(&[]).await.unwrap().is_empty());
    }
}
