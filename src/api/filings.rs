//! `POST /api/v1/filings` (accept into the outbox), `GET /api/v1/filings/{id}` (its state) and
//! the operators' list `GET /api/v1/admin/filings`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::{ApiError, ApiJson, ApiQuery, ApiResult};
use super::{AppState, views};
use crate::auth::{Admin, CurrentUser};
use crate::domain::filing::{AttachmentChoice, FilingState};
use crate::filing::{FilingOrder, UndoOrder, accept_with};
use crate::store::FilingOptions;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateFiling {
    item_id: String,
    case_id: String,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    attachments: Vec<AttachmentChoice>,
    /// The target's id of a document filed on the same case: this filing becomes its next
    /// version (Word's "Gem på sag" on a document saved before).
    #[serde(default)]
    version_of: Option<String>,
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
    let options = FilingOptions {
        version_of: body.version_of.clone().filter(|v| !v.trim().is_empty()),
        ..FilingOptions::default()
    };
    let created = accept_with(&state.store, &state.suggester, &user, order, options).await?;
    let status = if created.created {
        StatusCode::ACCEPTED
    } else {
        StatusCode::OK
    };
    let mut view = views::filing(&created.filing);
    view["duplicate"] = json!(!created.created);
    Ok((status, Json(view)))
}

/// A filing is visible to the user who made it, to admins, and to anyone who may see its case:
/// a colleague filing the same mail on the same case gets this filing back and must be able
/// to follow it.
pub async fn show(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let filing = state
        .store
        .filing(&id)
        .await?
        .ok_or(ApiError::NotFound("filing"))?;
    let allowed = filing.created_by == user.id
        || user.admin
        || state
            .store
            .visible_case(&filing.case_id, &user.groups)
            .await?
            .is_some();
    if !allowed {
        return Err(ApiError::NotFound("filing"));
    }
    Ok(Json(views::filing(&filing)))
}

/// `POST /api/v1/admin/filings/{id}/retry`: a failed filing goes back in the queue with a
/// fresh retry budget, for when the target's problem has been fixed.
pub async fn admin_retry(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let filing = state
        .store
        .requeue_failed(&id, &admin.id)
        .await?
        .ok_or(ApiError::NotFound("failed filing"))?;
    tracing::info!(filing = %filing.id, admin = %admin.id, "failed filing requeued");
    Ok((StatusCode::ACCEPTED, Json(views::filing(&filing))))
}

#[derive(Deserialize)]
pub struct ListParams {
    state: Option<String>,
    limit: Option<i64>,
}

pub async fn admin_list(
    State(state): State<AppState>,
    _admin: Admin,
    ApiQuery(params): ApiQuery<ListParams>,
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Undo {
    #[serde(default)]
    reason: Option<String>,
    /// File it on this case instead, in the same call.
    #[serde(default)]
    move_to: Option<String>,
}

/// `POST /api/v1/filings/{id}/undo`: withdraws a filing (and with `move_to`, files the item on
/// the right case). 409 once withdrawn or past the undo window.
pub async fn undo(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Undo>,
) -> ApiResult<Json<Value>> {
    let order = UndoOrder {
        filing_id: &id,
        reason: body.reason.as_deref(),
        move_to: body.move_to.as_deref().filter(|m| !m.trim().is_empty()),
        window: chrono::Duration::days(
            i64::try_from(state.policy.settings().undo_days).unwrap_or(i64::MAX / 1_000_000),
        ),
    };
    let undone = crate::filing::undo(&state.store, &state.suggester, &user, order).await?;
    let mut view = views::filing(&undone.filing);
    view["moved_to"] = undone
        .moved
        .as_ref()
        .map_or(Value::Null, |m| views::filing(&m.filing));
    Ok(Json(view))
}
