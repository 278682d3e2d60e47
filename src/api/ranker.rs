//! `GET /api/v1/admin/ranker` (the learned weights beside the starting ones, how much the
//! ranker has learnt and how it calibrates) and `PUT /api/v1/admin/ranker` (an admin's
//! override or pin of the weights, audit-logged).

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::error::{ApiError, ApiJson, ApiResult};
use crate::auth::Admin;
use crate::suggest::{Feature, Model, WeightChange, starting_weights};

/// Weights beyond this size are a typing error, not a ranking.
const MAX_WEIGHT: f64 = 100.0;

pub async fn show(State(state): State<AppState>, _admin: Admin) -> ApiResult<Json<Value>> {
    let model = state.suggester.model()?;
    view(&state, &model).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Change {
    #[serde(default)]
    reset: bool,
    #[serde(default)]
    weights: BTreeMap<String, f64>,
    pinned: Option<bool>,
}

pub async fn change(
    State(state): State<AppState>,
    Admin(admin): Admin,
    ApiJson(body): ApiJson<Change>,
) -> ApiResult<Json<Value>> {
    if !body.reset && body.weights.is_empty() && body.pinned.is_none() {
        return Err(ApiError::BadRequest(
            "nothing to change: give weights, pinned or reset".into(),
        ));
    }
    let mut weights = Vec::with_capacity(body.weights.len());
    for (name, weight) in &body.weights {
        let feature = Feature::parse(name).ok_or_else(|| {
            let known: Vec<&str> = Feature::ALL.iter().map(|f| f.name()).collect();
            ApiError::BadRequest(format!(
                "unknown feature {name:?}; use one of {}",
                known.join(", ")
            ))
        })?;
        if !weight.is_finite() || weight.abs() > MAX_WEIGHT {
            return Err(ApiError::BadRequest(format!(
                "the weight of {name} must be between -{MAX_WEIGHT} and {MAX_WEIGHT}"
            )));
        }
        weights.push((feature, *weight));
    }
    let change = WeightChange {
        reset: body.reset,
        weights,
        pinned: body.pinned,
    };
    let model = state.suggester.change_weights(&change, &admin.id).await?;
    tracing::info!(admin = %admin.id, pinned = model.combiner.pinned, "ranker weights changed");
    view(&state, &model).await
}

async fn view(state: &AppState, model: &Model) -> ApiResult<Json<Value>> {
    let record = state.store.ranker_state().await?;
    let start = starting_weights();
    let features: Vec<Value> = Feature::ALL
        .iter()
        .map(|f| {
            json!({
                "name": f.name(),
                "weight": model.combiner.weights[*f as usize],
                "starting_weight": start[*f as usize],
            })
        })
        .collect();
    let calibration: Vec<Value> = (1..=10)
        .map(|tenth| {
            let raw = f64::from(tenth) / 10.0;
            json!({"probability": raw, "confidence": model.calibrator.calibrate(raw)})
        })
        .collect();
    Ok(Json(json!({
        "features": features,
        "updates": model.combiner.updates,
        "pinned": model.combiner.pinned,
        "calibration": {
            "outcomes": model.calibrator.outcomes,
            "slope": model.calibrator.slope,
            "offset": model.calibrator.offset,
            "table": calibration,
        },
        "updated_at": record.as_ref().and_then(|r| chrono::DateTime::from_timestamp_millis(r.updated_at)).map(|t| t.to_rfc3339()),
        "updated_by": record.map(|r| r.updated_by),
    })))
}
