//! `GET /api/v1/admin/overview`: the admin console's first page. Per connector its filings of
//! the last 24 hours and 7 days by state, the oldest waiting, the last success and error; the
//! failed filings to retry; per watched mailbox how far it has come.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use super::error::ApiResult;
use super::{AppState, views};
use crate::auth::Admin;
use crate::domain::filing::FilingState;
use crate::domain::now_millis;

const DAY_MS: i64 = 24 * 3600 * 1000;
/// The failed filings listed; more are at `/api/v1/admin/filings?state=failed`.
const FAILED_SHOWN: i64 = 50;

fn time(millis: Option<i64>) -> Value {
    millis
        .and_then(chrono::DateTime::from_timestamp_millis)
        .map_or(Value::Null, |t| json!(t.to_rfc3339()))
}

pub async fn show(State(state): State<AppState>, _admin: Admin) -> ApiResult<Json<Value>> {
    let now = now_millis();
    let connectors = state
        .store
        .connector_activity(now - DAY_MS, now - 7 * DAY_MS)
        .await?;
    let names: Vec<&str> = state
        .policy
        .mailboxes()
        .iter()
        .map(|m| m.name.as_str())
        .collect();
    let mailboxes = state.store.mailbox_activity(&names).await?;
    let failed = state
        .store
        .filings(Some(FilingState::Failed), FAILED_SHOWN)
        .await?;
    let connectors: Vec<Value> = connectors
        .iter()
        .map(|c| {
            json!({
                "connector": c.connector,
                "day": c.day,
                "week": c.week,
                "oldest_queued": time(c.oldest_queued),
                "last_success": time(c.last_success),
                "last_error": c.last_error.as_ref().map(|e| json!({
                    "at": time(Some(e.at)),
                    "message": e.message,
                })),
            })
        })
        .collect();
    let mailboxes: Vec<Value> = mailboxes
        .iter()
        .map(|m| {
            json!({
                "name": m.name,
                "last_taken": time(m.last_taken),
                "last_look": time(m.last_look),
                "last_error": m.last_error.as_ref().map(|(at, message)| json!({
                    "at": time(Some(*at)),
                    "message": message,
                })),
                "backlog": m.backlog,
                "auto_filed": m.auto_filed,
                "in_review": m.in_review,
            })
        })
        .collect();
    Ok(Json(json!({
        "connectors": connectors,
        "failed": failed.iter().filter(|f| f.withdrawal.is_none()).map(views::filing).collect::<Vec<_>>(),
        "mailboxes": mailboxes,
    })))
}
