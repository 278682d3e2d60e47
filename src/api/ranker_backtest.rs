//! The backtest of ranker weights (`POST /api/v1/admin/backtest` with
//! `change.ranker_weights`): the latest filings people made after seeing suggestions, their
//! cases shown scored again with today's weights and with the proposed ones from what each was
//! scored by when shown (`suggest::replay`), and where the case chosen stands. Nothing is
//! changed here; `PUT /api/v1/admin/ranker` switches the weights on.

use axum::Json;
use serde_json::{Value, json};

use super::AppState;
use super::backtest::CHANGED_SHOWN;
use super::error::ApiResult;
use crate::suggest::{Feature, Places, replay};

pub async fn run(
    state: &AppState,
    weights: &[(Feature, f64)],
    limit: i64,
) -> ApiResult<Json<Value>> {
    let today = state.suggester.model()?.combiner;
    let mut after = today.clone();
    for (feature, weight) in weights {
        after.weights[*feature as usize] = *weight;
    }
    let choices = state.store.recorded_choices(limit).await?;
    // Scoring 10,000 lists of a few cases again, twice, is more than an async thread should
    // be held for.
    let (weights_today, weights_after) = (today.weights, after.weights);
    let replayed = tokio::task::spawn_blocking(move || replay(&today, &after, &choices))
        .await
        .map_err(crate::suggest::SuggestError::from)?;
    let column = |weights: &[f64], places: &Places| {
        let share = |n: usize| match replayed.examined {
            0 => 0.0,
            examined => n as f64 / examined as f64,
        };
        let named: serde_json::Map<String, Value> = Feature::ALL
            .iter()
            .map(|f| (f.name().to_string(), json!(weights[*f as usize])))
            .collect();
        json!({
            "ranker_weights": named,
            "first": places.first,
            "in_top3": places.top3,
            "top1": share(places.first),
            "top3": share(places.top3),
        })
    };
    let changed: Vec<Value> = replayed
        .moved
        .iter()
        .take(CHANGED_SHOWN)
        .map(|moved| {
            json!({
                "filing_id": moved.filing_id,
                "item_id": moved.item_id,
                "case_id": moved.case_id,
                "place_today": moved.today,
                "place_after": moved.after,
                "first_after": moved.after == Some(1),
            })
        })
        .collect();
    Ok(Json(json!({
        "examined": replayed.examined,
        "skipped": replayed.skipped,
        "today": column(&weights_today, &replayed.today),
        "after": column(&weights_after, &replayed.after),
        "changed_count": replayed.moved.len(),
        "changed": changed,
    })))
}
