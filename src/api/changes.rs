//! `POST /api/v1/admin/changes`: applies a change tried in the backtest (a confidence threshold
//! for the organisation, one watched mailbox or one unit), so that the next items are decided
//! under it; `GET` lists the versions newest first; `POST /api/v1/admin/changes/{version}/undo`
//! brings back the value from before a version, as a new version. Every change is audited.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::error::{ApiError, ApiJson, ApiResult};
use crate::auth::Admin;
use crate::autofile::thresholds::{Scope, Threshold};
use crate::store::{Held, NewSettingChange, SettingChange};
use crate::suggest::Feature;

/// The versions listed, newest first; the audit log keeps every one.
const LISTED: i64 = 200;

/// A proposed setting, as the backtest tries it and as it is applied.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Change {
    /// The confidence at or above which the ranker's first suggestion is filed by itself;
    /// `null` for off.
    confidence_threshold: Option<f64>,
    #[serde(default)]
    mailbox: Option<String>,
    #[serde(default)]
    group: Option<String>,
    /// Weights of the ranker's features by name, tried in place of today's; the others stay.
    /// They are the organisation's, and switched on through `PUT /api/v1/admin/ranker`.
    #[serde(default)]
    ranker_weights: Option<BTreeMap<String, f64>>,
}

impl Change {
    /// The proposed threshold, checked.
    pub fn threshold(&self) -> ApiResult<Threshold> {
        if self.ranker_weights.is_some() {
            return Err(ApiError::InvalidField {
                field: "change.ranker_weights".into(),
                reason: "the ranker's weights are switched on with PUT /api/v1/admin/ranker".into(),
            });
        }
        match self.confidence_threshold {
            Some(t) if !(0.5..=1.0).contains(&t) => Err(ApiError::InvalidField {
                field: "change.confidence_threshold".into(),
                reason: "a confidence between 0.5 and 1, or null for off".into(),
            }),
            threshold => Ok(threshold),
        }
    }

    /// The watched mailbox named, if one is; naming one that is not watched is an error.
    pub fn mailbox(&self, state: &AppState) -> ApiResult<Option<&str>> {
        let Some(name) = self.mailbox.as_deref().filter(|m| !m.is_empty()) else {
            return Ok(None);
        };
        match state.policy.mailbox(name) {
            Some(_) => Ok(Some(name)),
            None => Err(ApiError::InvalidField {
                field: "change.mailbox".into(),
                reason: format!("no watched mailbox is called {name:?}"),
            }),
        }
    }

    /// The proposed weights of the ranker, checked, if the change is one of them.
    pub fn ranker_weights(&self) -> ApiResult<Option<Vec<(Feature, f64)>>> {
        let Some(weights) = &self.ranker_weights else {
            return Ok(None);
        };
        if self.mailbox.is_some() || self.group.is_some() || self.confidence_threshold.is_some() {
            return Err(ApiError::InvalidField {
                field: "change.ranker_weights".into(),
                reason: "the ranker's weights are the whole organisation's and tried on their \
                         own: leave the threshold, the mailbox and the group out"
                    .into(),
            });
        }
        super::ranker::checked_weights("change.ranker_weights", weights).map(Some)
    }

    pub fn group(&self) -> Option<&str> {
        self.group.as_deref().filter(|g| !g.is_empty())
    }

    /// Where the change applies: one scope, so not a mailbox and a group at once.
    fn scope(&self, state: &AppState) -> ApiResult<Scope> {
        match (self.mailbox(state)?, self.group()) {
            (None, None) => Ok(Scope::Organisation),
            (Some(mailbox), None) => Ok(Scope::Mailbox(mailbox.to_string())),
            (None, Some(group)) => Ok(Scope::Group(group.to_string())),
            (Some(_), Some(_)) => Err(ApiError::InvalidField {
                field: "change.group".into(),
                reason: "a change is for the organisation, one mailbox or one group; \
                         leave the mailbox or the group out"
                    .into(),
            }),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Apply {
    change: Change,
}

pub async fn apply(
    State(state): State<AppState>,
    Admin(admin): Admin,
    ApiJson(body): ApiJson<Apply>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let threshold = body.change.threshold()?;
    let scope = body.change.scope(&state)?;
    let change = record(&state, &scope, Held::Applied(threshold), None, &admin.id).await?;
    Ok((StatusCode::CREATED, Json(view(&change))))
}

pub async fn undo(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(version): Path<String>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let undone = match version.parse::<i64>() {
        Ok(version) => state.store.setting_change(version).await?,
        Err(_) => None,
    }
    .ok_or(ApiError::NotFound("change"))?;
    let change = record(
        &state,
        &undone.scope,
        undone.before.held(),
        Some(undone.version),
        &admin.id,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(view(&change))))
}

pub async fn list(State(state): State<AppState>, _admin: Admin) -> ApiResult<Json<Value>> {
    let changes = state.store.setting_changes(LISTED).await?;
    Ok(Json(
        json!({"changes": changes.iter().map(view).collect::<Vec<_>>()}),
    ))
}

/// Stores the change as the next version, with what the scope has from its configuration.
async fn record(
    state: &AppState,
    scope: &Scope,
    to: Held,
    undoes: Option<i64>,
    admin: &str,
) -> ApiResult<SettingChange> {
    let applied = state.store.applied_thresholds().await?;
    let change = state
        .store
        .change_setting(NewSettingChange {
            scope,
            to,
            configured: state.policy.configured_threshold(scope, &applied),
            undoes,
            admin,
        })
        .await?;
    tracing::info!(version = change.version, ?undoes, "setting changed");
    Ok(change)
}

fn view(change: &SettingChange) -> Value {
    let mut view = json!(change);
    view["changed_at"] =
        json!(chrono::DateTime::from_timestamp_millis(change.changed_at).map(|t| t.to_rfc3339()));
    view
}
