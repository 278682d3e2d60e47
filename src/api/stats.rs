//! `GET /api/v1/admin/stats?from&to&group`: how well suggestions and auto-journalisation do in
//! real use, overall, per week, per unit and per connector, and the reliability plot of the
//! confidence: the numbers the admin console draws.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::charts::{self, Language};
use super::error::{ApiError, ApiQuery, ApiResult};
use crate::auth::Admin;
use crate::domain::now_millis;

/// Without `from`, the last 90 days.
pub(super) const DEFAULT_DAYS: i64 = 90;

#[derive(Deserialize)]
pub struct Params {
    from: Option<String>,
    to: Option<String>,
    group: Option<String>,
    /// The plot's language: `da` (the default) or `en`.
    lang: Option<String>,
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

/// The period and group asked for, with their defaults.
fn period(params: &Params) -> ApiResult<(i64, i64, Option<&str>)> {
    let to = instant("to", params.to.as_deref(), now_millis())?;
    let from = instant(
        "from",
        params.from.as_deref(),
        to - DEFAULT_DAYS * 24 * 3600 * 1000,
    )?;
    Ok((from, to, params.group.as_deref().filter(|g| !g.is_empty())))
}

pub async fn show(
    State(state): State<AppState>,
    _admin: Admin,
    ApiQuery(params): ApiQuery<Params>,
) -> ApiResult<Json<Value>> {
    let (from, to, group) = period(&params)?;
    let report = state.store.quality(from, to, group).await?;
    Ok(Json(json!({
        "from": chrono::DateTime::from_timestamp_millis(from).map(|t| t.to_rfc3339()),
        "to": chrono::DateTime::from_timestamp_millis(to).map(|t| t.to_rfc3339()),
        "group": group,
        "overall": report.overall,
        "weeks": report.weeks,
        "groups": report.groups,
        "connectors": report.connectors,
        "reliability": report.reliability,
    })))
}

/// `GET /api/v1/admin/stats/reliability.svg?from&to&group&lang`: the reliability plot of the
/// same period, drawn here so that the page needs no chart library.
pub async fn reliability_plot(
    State(state): State<AppState>,
    _admin: Admin,
    ApiQuery(params): ApiQuery<Params>,
) -> ApiResult<Response> {
    let (from, to, group) = period(&params)?;
    let report = state.store.quality(from, to, group).await?;
    let language = match params.lang.as_deref() {
        Some("en") => Language::English,
        _ => Language::Danish,
    };
    let svg = charts::reliability(&report.reliability, language);
    Ok(([(header::CONTENT_TYPE, "image/svg+xml")], svg).into_response())
}
