//! `GET /api/v1/kle?q=&level=` — the KLE plan's subjects (or facets) in force, searched by
//! number and words of their title and guidance, for choosing one by hand.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::error::{ApiError, ApiQuery, ApiResult};
use crate::auth::CurrentUser;
use crate::kle::Level;

#[derive(Deserialize)]
pub struct SearchParams {
    #[serde(default)]
    q: String,
    /// `subject` (default) or `facet`.
    level: Option<String>,
    limit: Option<usize>,
}

pub async fn search(
    State(state): State<AppState>,
    CurrentUser(_user): CurrentUser,
    ApiQuery(params): ApiQuery<SearchParams>,
) -> ApiResult<Json<Value>> {
    let level = match params.level.as_deref().unwrap_or("subject") {
        "subject" => Level::Subject,
        "facet" => Level::Facet,
        other => {
            return Err(ApiError::BadRequest(format!(
                "level must be subject or facet, not {other:?}"
            )));
        }
    };
    let words: Vec<String> = params.q.split_whitespace().map(String::from).collect();
    let entries = state
        .store
        .search_kle(level, &words, params.limit.unwrap_or(20))
        .await?;
    let found: Vec<Value> = entries
        .iter()
        .map(|e| json!({"number": e.number, "title": e.title}))
        .collect();
    Ok(Json(json!({"kle": found})))
}
