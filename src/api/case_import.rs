//! `POST /api/v1/admin/cases/import`: an admin imports cases from a CSV or JSON file, the
//! formats of `journaliser import cases`. With `?dry_run=true` it answers what each row would
//! do and writes nothing; otherwise it writes only a file whose every row is good.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode, header};
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::{ApiError, ApiQuery, ApiResult};
use super::{AppState, views};
use crate::auth::Admin;
use crate::connector::ARCHIVE;
use crate::import::{Counts, apply_plan, check_rows, looks_like_json, plan_rows, read_rows};
use crate::store::{AuditEvent, AuditKind};

/// The largest file taken here; a larger one goes through `journaliser import cases`.
pub const MAX_BYTES: usize = 8 * 1024 * 1024;
/// The most rows one file may hold here, so that its preview stays readable and its check
/// quick; the command line takes more.
pub const MAX_ROWS: usize = 10_000;

#[derive(Deserialize)]
pub struct ImportParams {
    #[serde(default)]
    dry_run: bool,
    /// The connector instance the cases belong to; the built-in archive by default.
    connector: Option<String>,
}

pub async fn run(
    State(state): State<AppState>,
    Admin(admin): Admin,
    ApiQuery(params): ApiQuery<ImportParams>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<Value>> {
    let bytes = body.map_err(|rejection| match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge(MAX_BYTES),
        _ => ApiError::BadRequest(rejection.body_text()),
    })?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::BadRequest("the file holds no cases".into()));
    }
    let connector = params.connector.unwrap_or_else(|| ARCHIVE.to_string());
    if state.connectors.get(&connector).is_none() {
        return Err(ApiError::InvalidField {
            field: "connector".into(),
            reason: format!("no connector named {connector:?}"),
        });
    }
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.to_ascii_lowercase().contains("json"))
        || looks_like_json(&bytes);
    let hasher = state.extractor.cpr_hasher.clone();
    let instance = connector.clone();
    let checked = tokio::task::spawn_blocking(move || {
        let rows = read_rows(&bytes, json).map_err(ApiError::BadRequest)?;
        match rows.len() {
            0 => Err(ApiError::BadRequest("the file holds no cases".into())),
            n if n > MAX_ROWS => Err(ApiError::TooManyRows {
                rows: n,
                limit: MAX_ROWS,
            }),
            _ => Ok(check_rows(rows, &instance, &hasher)),
        }
    })
    .await??;
    let mut plans = plan_rows(&state.store, &connector, checked).await?;
    let counts = Counts::of(&plans);
    if params.dry_run {
        return Ok(Json(views::import_report(&plans, counts, &connector, true)));
    }
    if counts.errors > 0 {
        return Err(ApiError::InvalidRows {
            errors: counts.errors,
            report: views::import_report(&plans, counts, &connector, false),
        });
    }
    apply_plan(&state.store, &state.index, &mut plans).await?;
    let counts = Counts::of(&plans);
    state
        .store
        .record_audit(&AuditEvent::new(
            AuditKind::CasesImported,
            &admin.id,
            json!({
                "connector": connector,
                "format": if json { "json" } else { "csv" },
                "counts": counts,
            }),
        ))
        .await?;
    tracing::info!(
        connector,
        rows = counts.rows,
        new = counts.new,
        changed = counts.changed,
        "cases imported"
    );
    Ok(Json(views::import_report(
        &plans, counts, &connector, false,
    )))
}
