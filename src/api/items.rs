//! `POST /api/v1/items` (upload and extract), `GET /api/v1/items/{id}` and its suggestions.

use std::time::Instant;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{StatusCode, header};
use serde::Deserialize;
use serde_json::Value;

use super::error::{ApiError, ApiQuery, ApiResult};
use super::{AppState, views};
use crate::auth::{CurrentUser, User};
use crate::extract::{Format, ItemKind};
use crate::store::StoredItem;
use crate::suggest::Suggestion;

/// Accepts the raw bytes with their content type, or `multipart/form-data` with a file part.
pub async fn create(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    request: Request,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let content_type = header_value(&request, header::CONTENT_TYPE);
    let (bytes, declared, file_name) = if content_type
        .to_ascii_lowercase()
        .starts_with("multipart/form-data")
    {
        file_part(request, &state).await?
    } else {
        let bytes = Bytes::from_request(request, &state)
            .await
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::PayloadTooLarge(state.max_body_bytes)
                } else {
                    ApiError::BadRequest(rejection.body_text())
                }
            })?;
        (bytes, content_type, None)
    };
    if bytes.is_empty() {
        return Err(ApiError::BadRequest("the upload is empty".into()));
    }
    let format = Format::from_content_type(&declared, file_name.as_deref()).ok_or_else(|| {
        ApiError::UnsupportedMediaType(format!(
            "content type {declared:?} is not supported; send message/rfc822, application/vnd.ms-outlook, application/pdf, a DOCX, DOC, RTF, XLSX, PPTX or ODT document, text/plain or text/html"
        ))
    })?;

    let (item, created) = state
        .intake
        .receive(&state.store, &user.id, bytes.clone(), format)
        .await?;
    state.metrics.item_received(match item.kind {
        ItemKind::Mail => "mail",
        ItemKind::Document => "document",
    });
    tracing::info!(item = %item.id, kind = ?item.kind, bytes = bytes.len(), created, "item received");
    // An item never filed nor queued goes through the auto-journalisation policy: a sent mail
    // with its send intent, a reply in a filed thread, a case number at the top may be filed
    // at once. One filed before, even if undone since, was decided by a person. The upload
    // stands whatever becomes of that: the user can still file it by hand.
    let undecided = created
        || (state.store.filings_of_item(&item.id).await?.is_empty()
            && state.store.review_item(&item.id).await?.is_none());
    if undecided
        && let Err(error) = state
            .policy
            .process(&user, &item, &bytes, crate::autofile::Origin::Upload)
            .await
    {
        tracing::warn!(%error, "the auto-journalisation policy could not decide on the item");
    }
    let filings = state.store.filings_of_item(&item.id).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(views::item(&item, &filings))))
}

/// The first file part of a multipart upload, with its declared type and name.
async fn file_part(
    request: Request,
    state: &AppState,
) -> ApiResult<(Bytes, String, Option<String>)> {
    let mut multipart = Multipart::from_request(request, state)
        .await
        .map_err(|rejection| ApiError::BadRequest(rejection.body_text()))?;
    let too_large = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge(state.max_body_bytes)
        } else {
            ApiError::BadRequest(format!("broken multipart body: {}", e.body_text()))
        }
    };
    while let Some(field) = multipart.next_field().await.map_err(too_large)? {
        if field.file_name().is_none() && field.name() != Some("file") {
            continue;
        }
        let file_name = field.file_name().map(str::to_string);
        let content_type = field.content_type().unwrap_or_default().to_string();
        let bytes = field.bytes().await.map_err(too_large)?;
        return Ok((bytes, content_type, file_name));
    }
    Err(ApiError::BadRequest(
        "the multipart body has no file part".into(),
    ))
}

fn header_value(request: &Request, name: header::HeaderName) -> String {
    request
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

pub async fn show(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let item = own_item(&state, &user, &id).await?;
    let filings = state.store.filings_of_item(&item.id).await?;
    Ok(Json(views::item(&item, &filings)))
}

#[derive(Deserialize)]
pub struct SuggestParams {
    limit: Option<usize>,
}

pub async fn suggestions(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    ApiQuery(params): ApiQuery<SuggestParams>,
) -> ApiResult<Json<Value>> {
    let limit = params.limit.unwrap_or(5).clamp(1, 50);
    let item = own_item(&state, &user, &id).await?;
    let started = Instant::now();
    let suggestions = state.suggester.suggest(&item, &user.groups, limit).await?;
    state
        .metrics
        .observe_suggest(started.elapsed().as_secs_f64());
    let shown: Vec<_> = suggestions.iter().map(Suggestion::shown).collect();
    state.store.record_shown(&item.id, &user.id, &shown).await?;
    Ok(Json(views::suggestions(&suggestions)))
}

/// What a new case for the item would be, when no suggestion fits.
pub async fn case_proposal(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> ApiResult<Json<crate::newcase::Proposal>> {
    let item = own_item(&state, &user, &id).await?;
    let proposal = crate::newcase::propose(
        &state.store,
        &state.index,
        &state.new_case,
        &item,
        &user.groups,
    )
    .await?;
    Ok(Json(proposal))
}

/// An item is visible to the user who uploaded it, and while it waits in a review queue to
/// those who may handle that queue.
async fn own_item(state: &AppState, user: &User, id: &str) -> ApiResult<StoredItem> {
    let item = state
        .store
        .item(id)
        .await?
        .ok_or(ApiError::NotFound("item"))?;
    if item.owner == user.id {
        return Ok(item);
    }
    let reviewable = state
        .store
        .review_item(id)
        .await?
        .is_some_and(|r| r.open_to(&user.groups, user.admin));
    match reviewable {
        true => Ok(item),
        false => Err(ApiError::NotFound("item")),
    }
}
