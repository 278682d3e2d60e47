//! The review queue: `GET /api/v1/review?queue=Q` (the items waiting, each with its top
//! suggestions and why it was not filed), `POST /api/v1/review/{item}/claim` (one person at a
//! time) and `POST /api/v1/review/{item}/dismiss`. A claimed item is filed with the ordinary
//! `POST /api/v1/filings`.

use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::{ApiError, ApiJson, ApiQuery, ApiResult};
use super::{AppState, views};
use crate::auth::{CurrentUser, User};
use crate::extract::Metadata;
use crate::store::ReviewItem;

/// A claim left this long may be taken over by someone else.
const STALE_CLAIM_MS: i64 = 30 * 60 * 1000;
const MAX_LISTED: i64 = 100;
const SUGGESTIONS: usize = 3;

#[derive(Deserialize)]
pub struct ListParams {
    queue: Option<String>,
    limit: Option<i64>,
}

pub async fn list(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<Value>> {
    let limit = params.limit.unwrap_or(50).clamp(1, MAX_LISTED);
    let waiting = state
        .store
        .review_queue(params.queue.as_deref(), MAX_LISTED * 10)
        .await?;
    let mut items = Vec::new();
    for review in waiting
        .into_iter()
        .filter(|r| r.open_to(&user.groups, user.admin))
    {
        if items.len() as i64 >= limit {
            break;
        }
        items.push(entry(&state, &user, &review).await?);
    }
    let queues: Vec<Value> = state
        .store
        .review_backlog()
        .await?
        .into_iter()
        .map(|(queue, waiting)| json!({"queue": queue, "waiting": waiting}))
        .collect();
    Ok(Json(json!({"items": items, "queues": queues})))
}

/// One waiting item as a reviewer sees it: what it is, why it waits, the likely cases.
async fn entry(state: &AppState, user: &User, review: &ReviewItem) -> ApiResult<Value> {
    let item = state
        .store
        .item(&review.item_id)
        .await?
        .ok_or(ApiError::NotFound("item"))?;
    let suggestions = state
        .suggester
        .suggest(&item, &user.groups, SUGGESTIONS)
        .await?;
    let (subject, from, date, attachments) = match &item.extracted.metadata {
        Metadata::Mail(mail) => (
            mail.subject.clone(),
            mail.from.first().and_then(|a| a.email.clone()),
            mail.date.map(|d| d.to_rfc3339()),
            mail.attachments
                .iter()
                .filter_map(|a| a.name.clone())
                .collect::<Vec<_>>(),
        ),
        Metadata::Document(doc) => (doc.title.clone(), None, None, Vec::new()),
    };
    Ok(json!({
        "item_id": review.item_id,
        "queue": review.queue,
        "mailbox": review.mailbox,
        "why": review.why,
        "state": review.state,
        "claimed_by": review.claimed_by,
        "received_at": chrono::DateTime::from_timestamp_millis(review.created_at).map(|t| t.to_rfc3339()),
        "subject": subject,
        "from": from,
        "date": date,
        "attachments": attachments,
        "text_preview": item.extracted.text.chars().take(300).collect::<String>(),
        "suggestions": views::suggestions(&suggestions)["suggestions"],
    }))
}

/// The review entry for `item_id`, if this user may handle it; otherwise not found.
async fn reviewable(state: &AppState, user: &User, item_id: &str) -> ApiResult<ReviewItem> {
    state
        .store
        .review_item(item_id)
        .await?
        .filter(|r| r.open_to(&user.groups, user.admin))
        .ok_or(ApiError::NotFound("review item"))
}

pub async fn claim(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(item_id): Path<String>,
) -> ApiResult<Json<Value>> {
    reviewable(&state, &user, &item_id).await?;
    let review = state
        .store
        .claim_review(&item_id, &user.id, STALE_CLAIM_MS)
        .await?
        .ok_or(ApiError::NotFound("review item"))?;
    Ok(Json(entry(&state, &user, &review).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dismiss {
    reason: String,
}

pub async fn dismiss(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(item_id): Path<String>,
    ApiJson(body): ApiJson<Dismiss>,
) -> ApiResult<Json<Value>> {
    let reason = body.reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 || reason.chars().any(char::is_control) {
        return Err(ApiError::InvalidField {
            field: "reason".into(),
            reason: "say why in at most 500 characters, without control characters".into(),
        });
    }
    reviewable(&state, &user, &item_id).await?;
    if !state
        .store
        .dismiss_review(&item_id, &user.id, reason)
        .await?
    {
        return Err(ApiError::Conflict(
            "claim the item before dismissing it".into(),
        ));
    }
    Ok(Json(json!({"item_id": item_id, "state": "dismissed"})))
}
