//! The audit log: an append-only record of who filed what where, what became of it, and what
//! admins changed.
//!
//! Nothing here updates or deletes a row. Events about a filing are written by the store
//! function that changes the filing, in the same transaction, so a change is never committed
//! without its record. An item appears only by its content hash: the log holds no mail text,
//! and with it no CPR number.

use serde::Serialize;
use serde_json::Value;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::{Result, Store, StoreError, from_json, to_json};
use crate::domain::{Millis, new_id, now_millis};

/// The actor of what the service does by itself, such as delivering a filing.
pub const SYSTEM_ACTOR: &str = "system";

/// How many events a query returns when it does not say.
const DEFAULT_LIMIT: i64 = 1000;
/// The most events one query returns; larger exports are made in time slices.
pub const MAX_AUDIT_LIMIT: i64 = 10_000;

const COLUMNS: &str = "id, at, actor, kind, item_hash, case_id, filing_id, details";

/// What happened. Stored and shown as its snake_case name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditKind {
    /// A user's filing was committed to the outbox.
    FilingAccepted,
    /// A user filed something already filed on the case and got the earlier filing back.
    FilingDuplicate,
    /// The target confirmed the document.
    FilingDelivered,
    /// A delivery attempt failed for a reason that may pass; it is tried again later.
    FilingRetryScheduled,
    /// Delivery failed for good.
    FilingFailed,
    /// An admin put a failed filing back in the queue.
    FilingRequeued,
    /// An admin had the cases synced from the connectors; the details hold what each did.
    CasesSynced,
    /// An admin imported cases from a file; the details hold the connector and the counts.
    CasesImported,
    /// An admin overrode or pinned the ranker's weights; the details hold before and after.
    RankerChanged,
    /// A filing was undone (and perhaps moved); the details say by whom and why.
    FilingWithdrawn,
    /// What the target did with a withdrawn document: removed, corrected, or not possible.
    WithdrawalSettled,
    /// An admin made, changed or removed a routing rule; the details hold the new version.
    RuleChanged,
    /// An item was put in a review queue; the details say why it was not filed.
    ReviewQueued,
    /// Someone took an item of a review queue, or let it go, or dismissed it.
    ReviewChanged,
    /// A caseworker started or stopped following a filed mail's thread, or its case closed.
    ThreadFollowChanged,
    /// A user asked for a new case in a target; the details hold the connector and the KLE
    /// subject and facet asked for.
    CaseOrdered,
    /// The target made an ordered case; the details hold the number it gave.
    CaseCreated,
    /// The target refused an ordered case, or every attempt failed; the details say why.
    CaseCreationFailed,
    /// An admin applied a setting from the console, or undid one; the details hold the
    /// version with the value before and after.
    SettingChanged,
}

impl AuditKind {
    pub const ALL: [AuditKind; 19] = [
        AuditKind::FilingAccepted,
        AuditKind::FilingDuplicate,
        AuditKind::FilingDelivered,
        AuditKind::FilingRetryScheduled,
        AuditKind::FilingFailed,
        AuditKind::FilingRequeued,
        AuditKind::CasesSynced,
        AuditKind::CasesImported,
        AuditKind::RankerChanged,
        AuditKind::FilingWithdrawn,
        AuditKind::WithdrawalSettled,
        AuditKind::RuleChanged,
        AuditKind::ReviewQueued,
        AuditKind::ReviewChanged,
        AuditKind::ThreadFollowChanged,
        AuditKind::CaseOrdered,
        AuditKind::CaseCreated,
        AuditKind::CaseCreationFailed,
        AuditKind::SettingChanged,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AuditKind::FilingAccepted => "filing_accepted",
            AuditKind::FilingDuplicate => "filing_duplicate",
            AuditKind::FilingDelivered => "filing_delivered",
            AuditKind::FilingRetryScheduled => "filing_retry_scheduled",
            AuditKind::FilingFailed => "filing_failed",
            AuditKind::FilingRequeued => "filing_requeued",
            AuditKind::RankerChanged => "ranker_changed",
            AuditKind::CasesSynced => "cases_synced",
            AuditKind::CasesImported => "cases_imported",
            AuditKind::FilingWithdrawn => "filing_withdrawn",
            AuditKind::WithdrawalSettled => "withdrawal_settled",
            AuditKind::RuleChanged => "rule_changed",
            AuditKind::ReviewQueued => "review_queued",
            AuditKind::ReviewChanged => "review_changed",
            AuditKind::ThreadFollowChanged => "thread_follow_changed",
            AuditKind::CaseOrdered => "case_ordered",
            AuditKind::CaseCreated => "case_created",
            AuditKind::CaseCreationFailed => "case_creation_failed",
            AuditKind::SettingChanged => "setting_changed",
        }
    }

    pub fn parse(s: &str) -> Option<AuditKind> {
        AuditKind::ALL.into_iter().find(|kind| kind.as_str() == s)
    }
}

/// One recorded event.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEvent {
    pub id: String,
    pub at: Millis,
    /// The user's id, or `system` for what the service did by itself.
    pub actor: String,
    pub kind: AuditKind,
    /// SHA-256 (hex) of the item's bytes.
    pub item_hash: Option<String>,
    pub case_id: Option<String>,
    pub filing_id: Option<String>,
    /// What else the kind of event needs said (suggestions shown, reasons, document ids); never
    /// item text.
    pub details: Value,
}

impl AuditEvent {
    /// An event happening now, naming no item, case or filing yet.
    pub fn new(kind: AuditKind, actor: &str, details: Value) -> AuditEvent {
        AuditEvent {
            id: new_id(),
            at: now_millis(),
            actor: actor.into(),
            kind,
            item_hash: None,
            case_id: None,
            filing_id: None,
            details,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AuditOrder {
    #[default]
    NewestFirst,
    OldestFirst,
}

/// Which events to read; every condition given must hold.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Events at or after this time.
    pub from: Option<Millis>,
    /// Events before this time, so that consecutive slices do not overlap.
    pub to: Option<Millis>,
    pub actor: Option<String>,
    pub kind: Option<AuditKind>,
    pub case_id: Option<String>,
    pub filing_id: Option<String>,
    /// At most this many events: 1000 when not given, never more than [`MAX_AUDIT_LIMIT`].
    pub limit: Option<i64>,
    pub order: AuditOrder,
    /// Resume after this event (its time and id), in the order asked for: the cursor of an
    /// export that was cut short, exact even when many events share a millisecond.
    pub after: Option<(Millis, String)>,
}

impl Store {
    /// Appends one event to the audit log.
    pub async fn record_audit(&self, event: &AuditEvent) -> Result<()> {
        let mut conn = self.pool.acquire().await?;
        insert(&mut conn, event).await
    }

    /// The events matching `filter`, ordered by time (and, within a millisecond, by id, which
    /// is time-ordered too).
    pub async fn audit_events(&self, filter: AuditFilter) -> Result<Vec<AuditEvent>> {
        let limit = effective_limit(filter.limit);
        self.matching_events(filter, limit).await
    }

    /// Like `audit_events`, and whether more events matched than the limit let through: an
    /// export cut short must say so.
    pub async fn audit_page(&self, filter: AuditFilter) -> Result<(Vec<AuditEvent>, bool)> {
        let limit = effective_limit(filter.limit);
        let mut events = self.matching_events(filter, limit + 1).await?;
        let truncated = events.len() as i64 > limit;
        events.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        Ok((events, truncated))
    }

    /// When the event `id` was recorded, if there is such an event.
    pub async fn audit_event_time(&self, id: &str) -> Result<Option<Millis>> {
        Ok(
            sqlx::query_scalar("SELECT at FROM audit_events WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    async fn matching_events(&self, filter: AuditFilter, limit: i64) -> Result<Vec<AuditEvent>> {
        // Only the conditions given go into the SQL, so that the indexes on time, kind and
        // actor can serve them.
        let mut conditions = Vec::new();
        let mut times = Vec::new();
        for (operator, at) in [(">=", filter.from), ("<", filter.to)] {
            if let Some(at) = at {
                times.push(at);
                conditions.push(format!("at {operator} ${}", times.len()));
            }
        }
        // A cursor: past the event (at, id) in the order asked for. Its time is bound with the
        // times and its id with the texts, so the numbering below stays "times, then texts".
        let beyond = match filter.order {
            AuditOrder::NewestFirst => "<",
            AuditOrder::OldestFirst => ">",
        };
        let after_at = filter.after.as_ref().map(|(at, _)| {
            times.push(*at);
            times.len()
        });
        let mut texts = Vec::new();
        let equal_to = [
            ("actor", filter.actor.as_deref()),
            ("kind", filter.kind.map(AuditKind::as_str)),
            ("case_id", filter.case_id.as_deref()),
            ("filing_id", filter.filing_id.as_deref()),
        ];
        for (column, value) in equal_to {
            if let Some(value) = value {
                texts.push(value);
                conditions.push(format!("{column} = ${}", times.len() + texts.len()));
            }
        }
        if let (Some(at), Some((_, id))) = (after_at, &filter.after) {
            texts.push(id.as_str());
            let id = times.len() + texts.len();
            conditions.push(format!(
                "(at {beyond} ${at} OR (at = ${at} AND id {beyond} ${id}))"
            ));
        }
        let condition = if conditions.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", conditions.join(" AND "))
        };
        let direction = match filter.order {
            AuditOrder::NewestFirst => "DESC",
            AuditOrder::OldestFirst => "ASC",
        };
        let sql = format!(
            "SELECT {COLUMNS} FROM audit_events {condition}
             ORDER BY at {direction}, id {direction} LIMIT ${}",
            times.len() + texts.len() + 1
        );
        let mut query = sqlx::query(&sql);
        for at in times {
            query = query.bind(at);
        }
        for text in texts {
            query = query.bind(text);
        }
        let rows = query.bind(limit).fetch_all(&self.pool).await?;
        rows.iter().map(event_from_row).collect()
    }
}

fn effective_limit(limit: Option<i64>) -> i64 {
    limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_AUDIT_LIMIT)
}

/// Inserts an event about the item `item_id`, named by its hash, on `conn`.
pub(super) async fn insert_about_item(
    conn: &mut AnyConnection,
    mut event: AuditEvent,
    item_id: &str,
) -> Result<()> {
    event.item_hash = sqlx::query_scalar("SELECT sha256 FROM items WHERE id = $1")
        .bind(item_id)
        .fetch_optional(&mut *conn)
        .await?;
    insert(conn, &event).await
}

/// Inserts an event on `conn`, which may be inside the transaction of the change it records.
pub(super) async fn insert(conn: &mut AnyConnection, event: &AuditEvent) -> Result<()> {
    sqlx::query(&format!(
        "INSERT INTO audit_events ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
    ))
    .bind(&event.id)
    .bind(event.at)
    .bind(&event.actor)
    .bind(event.kind.as_str())
    .bind(&event.item_hash)
    .bind(&event.case_id)
    .bind(&event.filing_id)
    .bind(to_json(&event.details))
    .execute(conn)
    .await?;
    Ok(())
}

fn event_from_row(row: &AnyRow) -> Result<AuditEvent> {
    let kind: String = row.try_get("kind")?;
    Ok(AuditEvent {
        id: row.try_get("id")?,
        at: row.try_get("at")?,
        actor: row.try_get("actor")?,
        kind: AuditKind::parse(&kind)
            .ok_or_else(|| StoreError::Corrupt(format!("audit event kind {kind}")))?,
        item_hash: row.try_get("item_hash")?,
        case_id: row.try_get("case_id")?,
        filing_id: row.try_get("filing_id")?,
        details: from_json("audit_events.details", row.try_get("details")?)?,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::domain::filing::{Filing, FilingState};
    use crate::store::{FilingOptions, NewFiling, RecordedChoice, ShownCase, test_store};
    use crate::suggest::FeatureValues;

    fn event(kind: AuditKind, actor: &str, at: Millis, case_id: &str) -> AuditEvent {
        let mut event = AuditEvent::new(kind, actor, json!({"note": at}));
        event.at = at;
        event.case_id = Some(case_id.into());
        event.filing_id = Some(format!("filing-{at}"));
        event.item_hash = Some("ab".repeat(32));
        event
    }

    fn ats(events: &[AuditEvent]) -> Vec<Millis> {
        events.iter().map(|e| e.at).collect()
    }

    async fn store_with_events() -> Store {
        let store = test_store().await;
        let events = [
            event(AuditKind::FilingAccepted, "anna", 1_000, "A"),
            event(AuditKind::FilingDelivered, SYSTEM_ACTOR, 2_000, "A"),
            event(AuditKind::FilingAccepted, "bo", 3_000, "B"),
            event(AuditKind::FilingFailed, SYSTEM_ACTOR, 4_000, "B"),
            event(AuditKind::FilingRequeued, "root", 5_000, "B"),
        ];
        for event in &events {
            store.record_audit(event).await.unwrap();
        }
        store
    }

    #[tokio::test]
    async fn recorded_events_read_back_whole() {
        let store = test_store().await;
        let recorded = event(AuditKind::FilingRetryScheduled, SYSTEM_ACTOR, 7, "A");
        store.record_audit(&recorded).await.unwrap();
        let read = store.audit_events(AuditFilter::default()).await.unwrap();
        assert_eq!(read, [recorded]);
    }

    #[tokio::test]
    async fn every_filter_narrows_and_they_combine() {
        let store = store_with_events().await;
        let read = |filter: AuditFilter| {
            let store = store.clone();
            async move { ats(&store.audit_events(filter).await.unwrap()) }
        };
        assert_eq!(
            read(AuditFilter {
                from: Some(2_000),
                to: Some(4_000),
                ..AuditFilter::default()
            })
            .await,
            [3_000, 2_000],
            "from is inclusive, to exclusive"
        );
        let by_actor = AuditFilter {
            actor: Some(SYSTEM_ACTOR.into()),
            ..AuditFilter::default()
        };
        assert_eq!(read(by_actor).await, [4_000, 2_000]);
        let by_kind = AuditFilter {
            kind: Some(AuditKind::FilingAccepted),
            ..AuditFilter::default()
        };
        assert_eq!(read(by_kind).await, [3_000, 1_000]);
        let by_case = AuditFilter {
            case_id: Some("B".into()),
            ..AuditFilter::default()
        };
        assert_eq!(read(by_case).await, [5_000, 4_000, 3_000]);
        let by_filing = AuditFilter {
            filing_id: Some("filing-4000".into()),
            ..AuditFilter::default()
        };
        assert_eq!(read(by_filing).await, [4_000]);
        let combined = AuditFilter {
            case_id: Some("B".into()),
            kind: Some(AuditKind::FilingAccepted),
            actor: Some("bo".into()),
            from: Some(3_000),
            ..AuditFilter::default()
        };
        assert_eq!(read(combined).await, [3_000]);
        let nothing = AuditFilter {
            case_id: Some("A".into()),
            actor: Some("bo".into()),
            ..AuditFilter::default()
        };
        assert!(read(nothing).await.is_empty());
    }

    #[tokio::test]
    async fn order_and_limit() {
        let store = store_with_events().await;
        let newest = store.audit_events(AuditFilter::default()).await.unwrap();
        assert_eq!(ats(&newest), [5_000, 4_000, 3_000, 2_000, 1_000]);
        let oldest_two = AuditFilter {
            order: AuditOrder::OldestFirst,
            limit: Some(2),
            ..AuditFilter::default()
        };
        assert_eq!(
            ats(&store.audit_events(oldest_two).await.unwrap()),
            [1_000, 2_000]
        );
        let at_least_one = AuditFilter {
            limit: Some(0),
            ..AuditFilter::default()
        };
        assert_eq!(
            ats(&store.audit_events(at_least_one).await.unwrap()),
            [5_000]
        );
        assert_eq!(effective_limit(None), 1000);
        assert_eq!(effective_limit(Some(1_000_000)), MAX_AUDIT_LIMIT);
    }

    #[tokio::test]
    async fn without_a_limit_a_thousand_events_come_back() {
        let store = test_store().await;
        for at in 0..1001 {
            store
                .record_audit(&event(AuditKind::FilingAccepted, "anna", at, "A"))
                .await
                .unwrap();
        }
        let read = store.audit_events(AuditFilter::default()).await.unwrap();
        assert_eq!(read.len(), 1000);
        assert_eq!(read[0].at, 1000, "the newest first");
    }

    #[tokio::test]
    async fn events_within_one_millisecond_keep_the_order_they_were_made_in() {
        let store = test_store().await;
        let made: Vec<AuditEvent> = (0..5)
            .map(|_| event(AuditKind::FilingDelivered, SYSTEM_ACTOR, 42, "A"))
            .collect();
        for event in made.iter().rev() {
            store.record_audit(event).await.unwrap();
        }
        let oldest_first = AuditFilter {
            order: AuditOrder::OldestFirst,
            ..AuditFilter::default()
        };
        let read = store.audit_events(oldest_first).await.unwrap();
        assert_eq!(read, made);
    }

    /// A case and an item (with the hash `hash`) for filings to refer to.
    async fn case_and_item(store: &Store, hash: &str) -> String {
        sqlx::query(
            "INSERT INTO cases (id, connector, number, title, status, search_text, updated_at)
             VALUES ('A', 'archive', '1', 'Sag', 'open', '', 0) ON CONFLICT (id) DO NOTHING",
        )
        .execute(&store.pool)
        .await
        .unwrap();
        let id = new_id();
        sqlx::query(
            "INSERT INTO items (id, owner, kind, content_type, sha256, size, extracted, original, created_at)
             VALUES ($1, 'anna', 'document', 'text/plain', $2, 0, '{}', x'', 0)",
        )
        .bind(&id)
        .bind(hash)
        .execute(&store.pool)
        .await
        .unwrap();
        id
    }

    async fn file(store: &Store, item_id: &str, user: &str) -> (Filing, bool) {
        let created = store
            .create_filing_with(
                NewFiling {
                    item_id,
                    case_id: "A",
                    dedupe_key: "A\nsha256:same".into(),
                    title: "Notat",
                    attachments: &[],
                    created_by: user,
                },
                &FilingOptions::default(),
            )
            .await
            .unwrap();
        (created.filing, created.created)
    }

    #[tokio::test]
    async fn a_filing_keeps_what_the_cases_shown_were_scored_by_for_replaying() {
        let store = test_store().await;
        let item = case_and_item(&store, "hash-1").await;
        let mut values = [0.0; crate::suggest::Feature::ALL.len()];
        values[crate::suggest::Feature::Sender as usize] = 0.5;
        let (sender, nothing) = (FeatureValues::of(&values), FeatureValues::default());
        let shown = [("B", &sender), ("A", &nothing)].map(|(case_id, features)| ShownCase {
            case_id,
            confidence: 0.7,
            features,
        });
        store.record_shown(&item, "anna", &shown).await.unwrap();
        let (filing, _) = file(&store, &item, "anna").await;
        let unshown = case_and_item(&store, "hash-2").await;
        store
            .create_filing_with(
                NewFiling {
                    item_id: &unshown,
                    case_id: "A",
                    dedupe_key: "A\nsha256:other".into(),
                    title: "Notat",
                    attachments: &[],
                    created_by: "anna",
                },
                &FilingOptions::default(),
            )
            .await
            .unwrap();

        let choices = store.recorded_choices(10).await.unwrap();
        assert_eq!(
            choices,
            [RecordedChoice {
                filing_id: filing.id.clone(),
                item_id: item.clone(),
                case_id: "A".into(),
                shown: Some(vec![("B".into(), sender), ("A".into(), nothing)]),
            }],
            "the filing made without suggestions is not a choice among them"
        );
        // One shown before the values were kept is a choice without them.
        sqlx::query("UPDATE feedback SET shown_features = NULL")
            .execute(&store.pool)
            .await
            .unwrap();
        let choices = store.recorded_choices(10).await.unwrap();
        assert_eq!(choices[0].shown, None);
    }

    fn oldest_first_of(filing_id: &str) -> AuditFilter {
        AuditFilter {
            filing_id: Some(filing_id.into()),
            order: AuditOrder::OldestFirst,
            ..AuditFilter::default()
        }
    }

    #[tokio::test]
    async fn a_filing_records_its_acceptance_with_the_suggestions_shown() {
        let store = test_store().await;
        let item = case_and_item(&store, "hash-1").await;
        let nothing = FeatureValues::default();
        let shown = ["B", "A"].map(|case_id| ShownCase {
            case_id,
            confidence: 0.0,
            features: &nothing,
        });
        store.record_shown(&item, "anna", &shown).await.unwrap();
        let (filing, created) = file(&store, &item, "anna").await;
        assert!(created);
        let other = case_and_item(&store, "hash-2").await;
        let (again, created) = file(&store, &other, "bo").await;
        assert!(!created);
        assert_eq!(again.id, filing.id);

        let events = store
            .audit_events(oldest_first_of(&filing.id))
            .await
            .unwrap();
        let summary: Vec<_> = events
            .iter()
            .map(|e| (e.kind, e.actor.as_str(), e.item_hash.as_deref()))
            .collect();
        assert_eq!(
            summary,
            [
                (AuditKind::FilingAccepted, "anna", Some("hash-1")),
                (AuditKind::FilingDuplicate, "bo", Some("hash-2")),
            ],
            "a duplicate names the item of the user who tried to file it"
        );
        assert_eq!(events[0].case_id.as_deref(), Some("A"));
        assert_eq!(
            events[0].details,
            json!({
                "decision": "manual",
                "suggestions_shown": [{"case_id": "B", "rank": 1}, {"case_id": "A", "rank": 2}],
                "chosen_rank": 2,
                "result": "queued",
            })
        );
        assert_eq!(events[1].details["suggestions_shown"], json!([]));
        assert_eq!(events[1].details["chosen_rank"], Value::Null);
    }

    #[tokio::test]
    async fn delivery_outcomes_and_requeues_are_recorded_once_each() {
        let store = test_store().await;
        let item = case_and_item(&store, "hash-1").await;
        let (filing, _) = file(&store, &item, "anna").await;
        let claimed = store
            .claim_due_filing(now_millis(), 60_000)
            .await
            .unwrap()
            .unwrap();
        store
            .schedule_retry(&claimed, "archive: disk full", 0)
            .await
            .unwrap();
        let claimed = store
            .claim_due_filing(now_millis(), 60_000)
            .await
            .unwrap()
            .unwrap();
        store
            .mark_failed(&claimed, "archive: disk full")
            .await
            .unwrap();
        // The filing is no longer queued: a late delivery report changes nothing and records
        // nothing.
        store.mark_filed(&claimed, "A/doc", true).await.unwrap();
        let requeued = store
            .requeue_failed(&filing.id, "root")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(requeued.state, FilingState::Queued);
        let claimed = store
            .claim_due_filing(now_millis(), 60_000)
            .await
            .unwrap()
            .unwrap();
        // Taken in by the target without a confirmation: filed, and said to be unconfirmed.
        store.mark_filed(&claimed, "A/doc", false).await.unwrap();
        let delivered = store.filing(&filing.id).await.unwrap().unwrap();
        assert_eq!(delivered.state, FilingState::Filed);
        assert!(!delivered.confirmed);

        let events = store
            .audit_events(oldest_first_of(&filing.id))
            .await
            .unwrap();
        let summary: Vec<_> = events.iter().map(|e| (e.kind, e.actor.as_str())).collect();
        assert_eq!(
            summary,
            [
                (AuditKind::FilingAccepted, "anna"),
                (AuditKind::FilingRetryScheduled, SYSTEM_ACTOR),
                (AuditKind::FilingFailed, SYSTEM_ACTOR),
                (AuditKind::FilingRequeued, "root"),
                (AuditKind::FilingDelivered, SYSTEM_ACTOR),
            ]
        );
        assert!(
            events
                .iter()
                .all(|e| e.item_hash.as_deref() == Some("hash-1"))
        );
        assert_eq!(events[1].details["attempt"], 1);
        assert_eq!(events[1].details["reason"], "archive: disk full");
        assert_eq!(events[2].details["attempt"], 2);
        assert_eq!(events[3].details["previous_error"], "archive: disk full");
        assert_eq!(events[4].details["target_document_id"], "A/doc");
        assert_eq!(events[4].details["attempt"], 1);
    }

    #[tokio::test]
    async fn the_database_refuses_to_change_or_remove_a_record() {
        let store = test_store().await;
        let item = case_and_item(&store, "hash-1").await;
        file(&store, &item, "anna").await;
        for statement in [
            "UPDATE audit_events SET actor = 'mallory'",
            "DELETE FROM audit_events",
        ] {
            let error = sqlx::query(statement)
                .execute(&store.pool)
                .await
                .unwrap_err();
            assert!(
                error.to_string().contains("append-only"),
                "{statement}: {error}"
            );
        }
        let events = store.audit_events(AuditFilter::default()).await.unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].actor, "anna");
    }
}
