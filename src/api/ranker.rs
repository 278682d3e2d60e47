//! `GET /api/v1/admin/ranker` (the learned weights beside the starting ones, how much the
//! ranker has learnt and how it calibrates) and `PUT /api/v1/admin/ranker` (an admin's
//! override or pin of the weights, audit-logged), and `POST /api/v1/admin/ranker/undo` (the
//! weights from before the last such change back, audit-logged too).

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
    let weights = checked_weights("weights", &body.weights)?;
    let change = WeightChange {
        reset: body.reset,
        weights,
        pinned: body.pinned,
    };
    let model = state.suggester.change_weights(&change, &admin.id).await?;
    tracing::info!(admin = %admin.id, pinned = model.combiner.pinned, "ranker weights changed");
    view(&state, &model).await
}

/// `POST /api/v1/admin/ranker/undo`: the weights from before an admin's last change, audited
/// as a change of its own.
pub async fn undo(State(state): State<AppState>, Admin(admin): Admin) -> ApiResult<Json<Value>> {
    let model = state
        .suggester
        .undo_weight_change(&admin.id)
        .await?
        .ok_or_else(|| {
            ApiError::Conflict("no admin has changed the ranker's weights yet".into())
        })?;
    tracing::info!(admin = %admin.id, "ranker weight change undone");
    view(&state, &model).await
}

/// Weights by feature name as an admin gives them in `field`, each known and of a sane size.
pub(super) fn checked_weights(
    field: &str,
    weights: &BTreeMap<String, f64>,
) -> ApiResult<Vec<(Feature, f64)>> {
    weights
        .iter()
        .map(|(name, weight)| {
            let invalid = |reason: String| ApiError::InvalidField {
                field: format!("{field}.{name}"),
                reason,
            };
            let feature = Feature::parse(name).ok_or_else(|| {
                let known: Vec<&str> = Feature::ALL.iter().map(|f| f.name()).collect();
                invalid(format!("unknown feature; use one of {}", known.join(", ")))
            })?;
            if !weight.is_finite() || weight.abs() > MAX_WEIGHT {
                return Err(invalid(format!(
                    "a weight between -{MAX_WEIGHT} and {MAX_WEIGHT}"
                )));
            }
            Ok((feature, *weight))
        })
        .collect()
}

async fn view(state: &AppState, model: &Model) -> ApiResult<Json<Value>> {
    let record = state.store.ranker_state().await?;
    let previous = match record.as_ref().and_then(|r| r.previous_state.as_deref()) {
        Some(state) => Some(Model::from_state(
            serde_json::from_str(state)
                .map_err(|e| ApiError::from(crate::suggest::SuggestError::State(e)))?,
        )),
        None => None,
    };
    let start = starting_weights();
    let features: Vec<Value> = Feature::ALL
        .iter()
        .map(|f| {
            json!({
                "name": f.name(),
                "weight": model.combiner.weights[*f as usize],
                "starting_weight": start[*f as usize],
                "previous_weight": previous.as_ref().map(|p| p.combiner.weights[*f as usize]),
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
        "previous": previous.map(|p| json!({"pinned": p.combiner.pinned})),
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
