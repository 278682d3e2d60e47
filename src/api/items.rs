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
use crate::auth::CurrentUser;
use crate::extract::{Format, ItemKind};
use crate::store::StoredItem;

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
    // A sent mail that names its uploader's send intent is filed on the chosen case now. The
    // upload stands whatever becomes of that: the user can still file it by hand.
    if let Err(error) =
        crate::filing::file_sent_copy(&state.store, &state.suggester, &user, &item, &bytes).await
    {
        tracing::warn!(%error, "the mail's send intent could not be fulfilled");
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
    let item = own_item(&state, &user.id, &id).await?;
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
    let item = own_item(&state, &user.id, &id).await?;
    let started = Instant::now();
    let suggestions = state.suggester.suggest(&item, &user.groups, limit).await?;
    state
        .metrics
        .observe_suggest(started.elapsed().as_secs_f64());
    let shown: Vec<String> = suggestions.iter().map(|s| s.case.id.clone()).collect();
    state.store.record_shown(&item.id, &user.id, &shown).await?;
    Ok(Json(views::suggestions(&suggestions)))
}

/// An item is visible only to the user who uploaded it.
async fn own_item(state: &AppState, user_id: &str, id: &str) -> ApiResult<StoredItem> {
    state
        .store
        .item(id)
        .await?
        .filter(|item| item.owner == user_id)
        .ok_or(ApiError::NotFound("item"))
}
