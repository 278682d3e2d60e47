//! `/api/v1/threads`: a caseworker's followed threads ("Journalisér også svar i tråden"):
//! start following the thread of a mail they filed, list what they follow, stop.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::error::{ApiError, ApiJson, ApiResult};
use crate::auth::CurrentUser;
use crate::domain::case::CaseStatus;
use crate::store::{NewFollow, ThreadFollow};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Follow {
    filing_id: String,
}

fn view(follow: &ThreadFollow) -> Value {
    json!({
        "id": follow.id,
        "filing_id": follow.filing_id,
        "case_id": follow.case_id,
        "since": follow.since,
        "following": follow.ended_at.is_none(),
        "ended_why": follow.ended_why,
    })
}

/// 201 with the new follow, 200 with the one already running for that filing.
pub async fn follow(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiJson(body): ApiJson<Follow>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    if !state.following_threads {
        return Err(ApiError::Conflict(
            "following threads is not set up on this service ([threads.entra])".into(),
        ));
    }
    let filing = state
        .store
        .filing(&body.filing_id)
        .await?
        .filter(|f| f.created_by == user.id)
        .ok_or(ApiError::NotFound("filing"))?;
    if filing.withdrawal.is_some() {
        return Err(ApiError::Conflict("the filing was undone".into()));
    }
    let case = state
        .store
        .visible_case(&filing.case_id, &user.groups)
        .await?
        .ok_or(ApiError::NotFound("filing"))?;
    if case.status == CaseStatus::Closed {
        return Err(ApiError::Conflict("the case is closed".into()));
    }
    let item = state
        .store
        .item(&filing.item_id)
        .await?
        .ok_or(ApiError::NotFound("filing"))?;
    let Some(message_id) = item.message_id.as_deref() else {
        return Err(ApiError::InvalidField {
            field: "filing_id".into(),
            reason: "only a filed mail has a thread to follow".into(),
        });
    };
    let (follow, new) = state
        .store
        .follow_thread(NewFollow {
            filing_id: &filing.id,
            case_id: &filing.case_id,
            item_hash: &item.sha256,
            message_id,
            user: &user,
        })
        .await?;
    let status = if new {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(view(&follow))))
}

/// The threads the user follows now, and whether following is set up at all.
pub async fn list(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> ApiResult<Json<Value>> {
    let follows = state.store.active_follows(Some(&user.id)).await?;
    Ok(Json(json!({
        "available": state.following_threads,
        "threads": follows.iter().map(view).collect::<Vec<_>>(),
    })))
}

/// Stops following; the follow's owner only.
pub async fn stop(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let follow = state
        .store
        .thread_follow(&id)
        .await?
        .filter(|f| f.user.id == user.id)
        .ok_or(ApiError::NotFound("thread"))?;
    state.store.end_follow(&follow, &user.id, "stopped").await?;
    let ended = state.store.thread_follow(&id).await?.unwrap_or(follow);
    Ok(Json(view(&ended)))
}
