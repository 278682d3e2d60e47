//! `GET /api/v1/cases?q=` (search by number, title or party), `GET /api/v1/cases/{id}`, and
//! `POST /api/v1/cases` (a new case, created in its target exactly once).

use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::{ApiError, ApiQuery, ApiResult};
use super::{AppState, views};
use crate::auth::CurrentUser;
use crate::domain::identifiers::redact_cpr;
use crate::store::CaseQuery;

#[derive(Deserialize)]
pub struct SearchParams {
    #[serde(default)]
    q: String,
    limit: Option<usize>,
}

pub async fn search(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiQuery(params): ApiQuery<SearchParams>,
) -> ApiResult<Json<Value>> {
    // A CPR number in the query is matched by its hash, never as text.
    let cpr_hashes = state
        .extractor
        .patterns
        .find(&params.q, &state.extractor.cpr_hasher)
        .cpr;
    let words = redact_cpr(&params.q)
        .split_whitespace()
        .filter(|w| !w.contains("XXXX"))
        .map(String::from)
        .collect();
    let query = CaseQuery {
        words,
        cpr_hashes: cpr_hashes.into_iter().map(|c| c.hash).collect(),
        viewer_groups: &user.groups,
        limit: params.limit.unwrap_or(20).clamp(1, 100),
    };
    let cases = state.store.search_cases(&query).await?;
    Ok(Json(
        json!({"cases": cases.iter().map(views::case_summary).collect::<Vec<_>>()}),
    ))
}

pub async fn show(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let case = state
        .store
        .visible_case(&id, &user.groups)
        .await?
        .ok_or(ApiError::NotFound("case"))?;
    Ok(Json(views::case(&case)))
}

/// Accepts a new case: `201` with the case (in the store and index at once) and its creation's
/// state; the same `create_key` again answers the same case with `200`.
pub async fn create(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    super::error::ApiJson(order): super::error::ApiJson<crate::newcase::create::CaseOrder>,
) -> ApiResult<(axum::http::StatusCode, Json<Value>)> {
    let (case, creation, new) = crate::newcase::create::accept(
        &state.store,
        &state.index,
        &state.connectors,
        &state.extractor.cpr_hasher,
        &user,
        order,
    )
    .await?;
    let status = match new {
        true => axum::http::StatusCode::CREATED,
        false => axum::http::StatusCode::OK,
    };
    Ok((
        status,
        Json(json!({"case": views::case_summary(&case), "creation": views::creation(&creation)})),
    ))
}
