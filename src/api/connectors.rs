//! `GET /api/v1/admin/connectors`: every configured connector instance with its kind, what it
//! can do and its settings, secrets left as `•••`.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use super::AppState;
use crate::auth::Admin;

pub async fn list(State(state): State<AppState>, Admin(_): Admin) -> Json<Value> {
    let connectors: Vec<Value> = state
        .connector_settings
        .iter()
        .map(|instance| {
            let connector = state.connectors.get(&instance.name);
            json!({
                "name": instance.name,
                "kind": instance.kind,
                "capabilities": connector.as_ref().map(|c| c.capabilities()),
                "creates_cases": connector.is_some_and(|c| c.creates_cases()),
                "settings": instance.settings,
            })
        })
        .collect();
    Json(json!({ "connectors": connectors }))
}
