//! The admins' routing rules: `GET/POST /api/v1/admin/rules`, `GET/PUT/DELETE
//! /api/v1/admin/rules/{id}` (every change versioned and audited), and
//! `POST /api/v1/admin/rules/test`, which shows what a rule would have done to recent items.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::error::{ApiError, ApiJson, ApiResult};
use crate::auth::Admin;
use crate::autofile::rules::{ActionKind, RuleError, RuleSpec};
use crate::extract::Metadata;

const DEFAULT_TEST_ITEMS: i64 = 500;
const MAX_TEST_ITEMS: i64 = 5_000;

pub async fn list(State(state): State<AppState>, _admin: Admin) -> ApiResult<Json<Value>> {
    Ok(Json(json!({"rules": state.store.rules().await?})))
}

pub async fn show(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let rule = state
        .store
        .rule(&id)
        .await?
        .ok_or(ApiError::NotFound("rule"))?;
    Ok(Json(json!(rule)))
}

pub async fn create(
    State(state): State<AppState>,
    Admin(admin): Admin,
    ApiJson(spec): ApiJson<RuleSpec>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    validate(&state, &spec).await?;
    let rule = state
        .store
        .put_rule(None, &spec, &admin.id)
        .await?
        .ok_or_else(|| ApiError::Internal("a new rule was not stored".into()))?;
    tracing::info!(rule = %rule.id, "rule created");
    Ok((StatusCode::CREATED, Json(json!(rule))))
}

pub async fn replace(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(id): Path<String>,
    ApiJson(spec): ApiJson<RuleSpec>,
) -> ApiResult<Json<Value>> {
    validate(&state, &spec).await?;
    let rule = state
        .store
        .put_rule(Some(&id), &spec, &admin.id)
        .await?
        .ok_or(ApiError::NotFound("rule"))?;
    tracing::info!(rule = %rule.id, version = rule.version, "rule changed");
    Ok(Json(json!(rule)))
}

pub async fn delete(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    match state.store.delete_rule(&id, &admin.id).await? {
        true => Ok(StatusCode::NO_CONTENT),
        false => Err(ApiError::NotFound("rule")),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestRule {
    rule: RuleSpec,
    #[serde(default)]
    limit: Option<i64>,
}

/// Which of the latest `limit` items the rule matches, and what it would do to each: nothing
/// is filed, queued or stored.
pub async fn test(
    State(state): State<AppState>,
    _admin: Admin,
    ApiJson(body): ApiJson<TestRule>,
) -> ApiResult<Json<Value>> {
    validate(&state, &body.rule).await?;
    let limit = body
        .limit
        .unwrap_or(DEFAULT_TEST_ITEMS)
        .clamp(1, MAX_TEST_ITEMS);
    let items = state.store.latest_items(limit).await?;
    let mut matched = Vec::new();
    for item in &items {
        let mailbox = item
            .owner
            .strip_prefix(crate::autofile::MAILBOX_OWNER_PREFIX);
        let groups = match mailbox.and_then(|name| state.policy.mailbox(name)) {
            Some(mailbox) => mailbox.groups.clone(),
            None => Vec::new(),
        };
        if !body.rule.matches(item, mailbox, &groups) {
            continue;
        }
        let subject = match &item.extracted.metadata {
            Metadata::Mail(mail) => mail.subject.clone(),
            Metadata::Document(doc) => doc.title.clone(),
        };
        matched.push(json!({
            "item_id": item.id,
            "subject": subject,
            "mailbox": mailbox,
            "received_at": chrono::DateTime::from_timestamp_millis(item.created_at).map(|t| t.to_rfc3339()),
            "would": body.rule.then.action,
            "case_id": body.rule.then.case_id,
            "queue": body.rule.then.queue,
        }));
    }
    Ok(Json(json!({
        "examined": items.len(),
        "matched": matched.len(),
        "items": matched,
    })))
}

/// The checks a rule must pass before it is stored or tried, the case it names included.
pub(super) async fn validate(state: &AppState, spec: &RuleSpec) -> ApiResult<()> {
    let mailboxes: Vec<&str> = state
        .policy
        .mailboxes()
        .iter()
        .map(|m| m.name.as_str())
        .collect();
    spec.validate(&mailboxes)?;
    if let Some(case_id) = &spec.then.case_id
        && matches!(spec.then.action, ActionKind::File | ActionKind::Suggest)
    {
        let case = state.store.case(case_id).await?;
        match case {
            None => {
                return Err(RuleError {
                    field: "then.case_id".into(),
                    reason: format!("no case with id {case_id:?}"),
                }
                .into());
            }
            Some(case) if case.status == crate::domain::case::CaseStatus::Closed => {
                return Err(RuleError {
                    field: "then.case_id".into(),
                    reason: format!("case {case_id:?} is closed"),
                }
                .into());
            }
            Some(_) => {}
        }
    }
    Ok(())
}
