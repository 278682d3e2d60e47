//! `POST /api/v1/filings` (accept into the outbox), `GET /api/v1/filings/{id}` (its state) and
//! the operators' list `GET /api/v1/admin/filings`.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::{ApiError, ApiJson, ApiResult};
use super::{AppState, views};
use crate::auth::{Admin, CurrentUser};
use crate::domain::filing::{AttachmentChoice, FilingState};
use crate::filing::{FilingOrder, accept};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateFiling {
    item_id: String,
    case_id: String,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    attachments: Vec<AttachmentChoice>,
}

/// 202 with the new filing once it is committed to the outbox; 200 with the earlier filing when
/// the same mail or document is already filed on the case.
pub async fn create(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiJson(body): ApiJson<CreateFiling>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let order = FilingOrder {
        item_id: &body.item_id,
        case_id: &body.case_id,
        title: body.title.as_deref(),
        attachments: &body.attachments,
    };
    let created = accept(&state.store, &state.index, &user, order).await?;
    let status = if created.created {
        StatusCode::ACCEPTED
    } else {
        StatusCode::OK
    };
    let mut view = views::filing(&created.filing);
    view["duplicate"] = json!(!created.created);
    Ok((status, Json(view)))
}

/// A filing is visible to the user who made it and to admins.
pub async fn show(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let filing = state
        .store
        .filing(&id)
        .await?
        .filter(|f| f.created_by == user.id || user.admin)
        .ok_or(ApiError::NotFound("filing"))?;
    Ok(Json(views::filing(&filing)))
}

#[derive(Deserialize)]
pub struct ListParams {
    state: Option<String>,
    limit: Option<i64>,
}

pub async fn admin_list(
    State(state): State<AppState>,
    _admin: Admin,
    Query(params): Query<ListParams>,
) -> ApiResult<Json<Value>> {
    let filter = match params.state.as_deref() {
        None | Some("") => None,
        Some(s) => Some(FilingState::parse(s).ok_or_else(|| {
            ApiError::BadRequest(format!("unknown state {s:?}; use queued, filed or failed"))
        })?),
    };
    let filings = state
        .store
        .filings(filter, params.limit.unwrap_or(100).clamp(1, 1000))
        .await?;
    Ok(Json(
        json!({"filings": filings.iter().map(views::filing).collect::<Vec<_>>()}),
    ))
}
