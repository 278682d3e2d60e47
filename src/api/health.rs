//! Liveness and readiness probes for load balancers and orchestrators; they reveal nothing.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::AppState;

/// `GET /healthz`: the process is up and serving.
pub async fn live() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// `GET /readyz`: the store answers and the index can be searched.
pub async fn ready(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let store = state.store.ping().await.is_ok();
    let index = state.index.counts().is_ok();
    let status = if store && index {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let word = |ok| if ok { "ok" } else { "unavailable" };
    (
        status,
        Json(json!({"status": word(store && index), "store": word(store), "index": word(index)})),
    )
}
