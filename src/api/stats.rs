//! `GET /api/v1/admin/stats?from&to&group`: how well suggestions and auto-journalisation do in
//! real use, overall and per week, the numbers the admin console draws.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::error::{ApiError, ApiQuery, ApiResult};
use crate::auth::Admin;
use crate::domain::now_millis;

/// Without `from`, the last 90 days.
const DEFAULT_DAYS: i64 = 90;

#[derive(Deserialize)]
pub struct Params {
    from: Option<String>,
    to: Option<String>,
    group: Option<String>,
}

fn instant(field: &str, value: Option<&str>, default: i64) -> ApiResult<i64> {
    match value {
        None => Ok(default),
        Some(text) => chrono::DateTime::parse_from_rfc3339(text)
            .map(|t| t.timestamp_millis())
            .map_err(|_| ApiError::InvalidField {
                field: field.into(),
                reason: "an RFC 3339 time, such as 2026-11-01T00:00:00Z".into(),
            }),
    }
}

pub async fn show(
    State(state): State<AppState>,
    _admin: Admin,
    ApiQuery(params): ApiQuery<Params>,
) -> ApiResult<Json<Value>> {
    let now = now_millis();
    let to = instant("to", params.to.as_deref(), now)?;
    let from = instant(
        "from",
        params.from.as_deref(),
        to - DEFAULT_DAYS * 24 * 3600 * 1000,
    )?;
    let group = params.group.as_deref().filter(|g| !g.is_empty());
    let (overall, weeks) = state.store.quality(from, to, group).await?;
    Ok(Json(json!({
        "from": chrono::DateTime::from_timestamp_millis(from).map(|t| t.to_rfc3339()),
        "to": chrono::DateTime::from_timestamp_millis(to).map(|t| t.to_rfc3339()),
        "group": group,
        "overall": overall,
        "weeks": weeks,
    })))
}
