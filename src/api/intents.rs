//! `POST /api/v1/intents` ("Journalisér ved afsendelse": file this mail on that case once it is
//! sent), `GET /api/v1/intents/{reference}` and `DELETE` of it (the user changed their mind).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::error::{ApiError, ApiJson, ApiResult};
use crate::auth::CurrentUser;
use crate::filing::record_intent;
use crate::store::Intent;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateIntent {
    case_id: String,
    #[serde(default)]
    title: Option<String>,
}

/// 201 with the reference the compose pane puts in the mail's `X-Journaliser-Ref` header.
pub async fn create(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiJson(body): ApiJson<CreateIntent>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let intent = record_intent(&state.store, &user, &body.case_id, body.title.as_deref()).await?;
    Ok((StatusCode::CREATED, Json(view(&intent))))
}

/// An intent is visible only to the user who made it.
pub async fn show(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(reference): Path<String>,
) -> ApiResult<Json<Value>> {
    let intent = state
        .store
        .intent(&reference)
        .await?
        .filter(|intent| intent.owner == user.id)
        .ok_or(ApiError::NotFound("intent"))?;
    Ok(Json(view(&intent)))
}

/// 204 once the intent is gone; 409 when the sent copy is already filed (undo the filing at
/// the target instead); 404 for an intent that is not the user's.
pub async fn cancel(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(reference): Path<String>,
) -> ApiResult<StatusCode> {
    if state.store.cancel_intent(&reference, &user.id).await? {
        return Ok(StatusCode::NO_CONTENT);
    }
    match state.store.intent(&reference).await? {
        Some(intent) if intent.owner == user.id => Err(ApiError::Conflict(
            "the sent mail is already filed on the case".into(),
        )),
        _ => Err(ApiError::NotFound("intent")),
    }
}

fn view(intent: &Intent) -> Value {
    let time = |millis: Option<i64>| {
        millis
            .and_then(chrono::DateTime::from_timestamp_millis)
            .map(|t| t.to_rfc3339())
    };
    json!({
        "reference": intent.reference,
        "case_id": intent.case_id,
        "title": intent.title,
        "state": intent.state,
        "filing_id": intent.filing_id,
        "created_at": time(Some(intent.created_at)),
        "fulfilled_at": time(intent.fulfilled_at),
    })
}
