//! `GET /api/v1/admin/audit`: the audit log for admins, as JSON or as a JSON Lines or CSV
//! download.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::error::{ApiError, ApiQuery, ApiResult};
use crate::auth::Admin;
use crate::domain::Millis;
use crate::store::{AuditEvent, AuditFilter, AuditKind, AuditOrder, MAX_AUDIT_LIMIT};

const CSV_HEADER: [&str; 8] = [
    "id",
    "at",
    "actor",
    "kind",
    "item_hash",
    "case_id",
    "filing_id",
    "details",
];

// A misspelt filter must not quietly widen an export to the whole log.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditParams {
    from: Option<String>,
    to: Option<String>,
    actor: Option<String>,
    kind: Option<String>,
    case_id: Option<String>,
    filing_id: Option<String>,
    limit: Option<i64>,
    order: Option<String>,
    format: Option<String>,
    /// The `next_after` of the previous slice: resume right after that event.
    after: Option<String>,
}

enum Format {
    Json,
    JsonLines,
    Csv,
}

pub async fn list(
    State(state): State<AppState>,
    _admin: Admin,
    ApiQuery(params): ApiQuery<AuditParams>,
) -> ApiResult<Response> {
    let format = match given(&params.format) {
        None | Some("json") => Format::Json,
        Some("jsonl") => Format::JsonLines,
        Some("csv") => Format::Csv,
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "unknown format {other:?}; use json, jsonl or csv"
            )));
        }
    };
    let mut filter = filter(&params)?;
    if let Some(after) = given(&params.after) {
        let at = state.store.audit_event_time(after).await?.ok_or_else(|| {
            ApiError::BadRequest(format!(
                "after names no audit event ({after:?}); pass the next_after of the previous slice"
            ))
        })?;
        filter.after = Some((at, after.to_string()));
    }
    let (events, truncated) = state.store.audit_page(filter).await?;
    // Where the next slice starts, when this one was cut short.
    let next_after = events.last().filter(|_| truncated).map(|e| e.id.clone());
    let mut response = match format {
        Format::Json => Json(json!({
            "events": events.iter().map(event).collect::<Vec<_>>(),
            "truncated": truncated,
            "next_after": next_after,
        }))
        .into_response(),
        Format::JsonLines => {
            let mut body = String::new();
            for e in &events {
                body.push_str(&event(e).to_string());
                body.push('\n');
            }
            download("application/x-ndjson", "jsonl", body.into_bytes())
        }
        Format::Csv => download("text/csv; charset=utf-8", "csv", csv(&events)?),
    };
    // Downloads say it in a header: more events matched than the limit let through, and the
    // next slice starts after the last one here.
    if let Some(next_after) = next_after {
        let headers = response.headers_mut();
        headers.insert(TRUNCATED, header::HeaderValue::from_static("true"));
        if let Ok(value) = header::HeaderValue::from_str(&next_after) {
            headers.insert(NEXT_AFTER, value);
        }
    }
    Ok(response)
}

const TRUNCATED: header::HeaderName = header::HeaderName::from_static("x-journaliser-truncated");
const NEXT_AFTER: header::HeaderName = header::HeaderName::from_static("x-journaliser-next-after");

/// An empty parameter (`?actor=`) counts as not given.
fn given(param: &Option<String>) -> Option<&str> {
    param.as_deref().filter(|p| !p.is_empty())
}

fn filter(params: &AuditParams) -> ApiResult<AuditFilter> {
    let kind = match given(&params.kind) {
        None => None,
        Some(kind) => Some(AuditKind::parse(kind).ok_or_else(|| {
            let known: Vec<&str> = AuditKind::ALL.iter().map(|k| k.as_str()).collect();
            ApiError::BadRequest(format!(
                "unknown kind {kind:?}; use one of {}",
                known.join(", ")
            ))
        })?),
    };
    let order = match given(&params.order) {
        None | Some("newest") => AuditOrder::NewestFirst,
        Some("oldest") => AuditOrder::OldestFirst,
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "unknown order {other:?}; use newest or oldest"
            )));
        }
    };
    // Refused rather than capped: an export cut short without saying so looks complete.
    if let Some(limit) = params.limit
        && !(1..=MAX_AUDIT_LIMIT).contains(&limit)
    {
        return Err(ApiError::BadRequest(format!(
            "limit must be between 1 and {MAX_AUDIT_LIMIT}"
        )));
    }
    Ok(AuditFilter {
        from: time("from", &params.from)?,
        to: time("to", &params.to)?,
        actor: given(&params.actor).map(String::from),
        kind,
        case_id: given(&params.case_id).map(String::from),
        filing_id: given(&params.filing_id).map(String::from),
        limit: params.limit,
        order,
        after: None,
    })
}

fn time(name: &str, param: &Option<String>) -> ApiResult<Option<Millis>> {
    given(param)
        .map(|text| {
            chrono::DateTime::parse_from_rfc3339(text)
                .map(|t| t.timestamp_millis())
                .map_err(|_| {
                    ApiError::BadRequest(format!(
                        "{name} is not an RFC 3339 time like 2026-03-01T08:00:00Z (write + as %2B)"
                    ))
                })
        })
        .transpose()
}

fn rfc3339(at: Millis) -> Option<String> {
    chrono::DateTime::from_timestamp_millis(at)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
}

fn event(e: &AuditEvent) -> Value {
    json!({
        "id": e.id,
        "at": rfc3339(e.at),
        "actor": e.actor,
        "kind": e.kind,
        "item_hash": e.item_hash,
        "case_id": e.case_id,
        "filing_id": e.filing_id,
        "details": e.details,
    })
}

/// The events as CSV with a header row; `details` is a column holding JSON text. It starts
/// with a UTF-8 byte order mark, without which spreadsheets garble æ, ø and å.
fn csv(events: &[AuditEvent]) -> ApiResult<Vec<u8>> {
    let failed = |e: csv::Error| ApiError::Internal(format!("writing CSV: {e}"));
    let mut writer = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
    writer.write_record(CSV_HEADER).map_err(failed)?;
    for e in events {
        let at = rfc3339(e.at).unwrap_or_default();
        let details = e.details.to_string();
        writer
            .write_record([
                e.id.as_str(),
                at.as_str(),
                inert(&e.actor).as_ref(),
                e.kind.as_str(),
                e.item_hash.as_deref().unwrap_or_default(),
                inert(e.case_id.as_deref().unwrap_or_default()).as_ref(),
                e.filing_id.as_deref().unwrap_or_default(),
                details.as_str(),
            ])
            .map_err(failed)?;
    }
    writer
        .into_inner()
        .map_err(|e| ApiError::Internal(format!("writing CSV: {e}")))
}

/// A cell a spreadsheet will not run as a formula: values from outside (a case id named by a
/// folder on a share, a user id) that start like one get a leading apostrophe.
fn inert(value: &str) -> std::borrow::Cow<'_, str> {
    if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        std::borrow::Cow::Owned(format!("'{value}"))
    } else {
        std::borrow::Cow::Borrowed(value)
    }
}

fn download(content_type: &'static str, extension: &str, body: Vec<u8>) -> Response {
    let filename = format!(
        "journaliser-audit-{}.{extension}",
        chrono::Utc::now().format("%Y%m%dT%H%M%SZ")
    );
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        body,
    )
        .into_response()
}
