//! `POST /api/v1/admin/sync`: an admin has the cases of every connector that can list them
//! synced now, rather than at the next scheduled sync.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use super::AppState;
use super::error::ApiResult;
use crate::auth::Admin;
use crate::store::{AuditEvent, AuditKind};

pub async fn run(State(state): State<AppState>, Admin(admin): Admin) -> ApiResult<Json<Value>> {
    let report = state.case_sync.sync_all().await;
    let report = json!({ "connectors": report });
    state
        .store
        .record_audit(&AuditEvent::new(
            AuditKind::CasesSynced,
            &admin.id,
            report.clone(),
        ))
        .await?;
    Ok(Json(report))
}
