//! The JSON shapes the API returns, kept apart from the stored types so that stored detail
//! (attachment texts, CPR hashes, party hashes) never leaks by accident.

use serde::Serialize;
use serde_json::{Value, json};

use crate::domain::case::Case;
use crate::domain::filing::Filing;
use crate::domain::identifiers::redact_cpr;
use crate::extract::{Identifiers, Metadata};
use crate::store::StoredItem;
use crate::suggest::{Reason, Suggestion};

const PREVIEW_CHARS: usize = 500;

fn preview(text: &str, chars: usize) -> String {
    let mut out: String = text.chars().take(chars).collect();
    if text.chars().nth(chars).is_some() {
        out.push('…');
    }
    out
}

pub fn item(item: &StoredItem, filings: &[Filing]) -> Value {
    let mut metadata = serde_json::to_value(&item.extracted.metadata).unwrap_or_default();
    if let Metadata::Mail(_) = &item.extracted.metadata {
        strip_attachment_texts(&mut metadata);
    }
    json!({
        "id": item.id,
        "kind": item.kind,
        "content_type": item.content_type,
        "size": item.size,
        "sha256": item.sha256,
        "metadata": metadata,
        "identifiers": identifiers(&item.extracted.identifiers),
        "text_preview": preview(&item.extracted.text, PREVIEW_CHARS),
        // What was cut to keep the item within its budget; the original is kept whole.
        "truncated": item.extracted.truncated,
        "filings": filings.iter().map(filing).collect::<Vec<_>>(),
    })
}

/// Attachments are listed with a short preview of their text, not all of it; nested mails too.
fn strip_attachment_texts(mail: &mut Value) {
    let Some(Value::Array(attachments)) = mail.get_mut("attachments") else {
        return;
    };
    for attachment in attachments {
        if let Some(Value::String(text)) = attachment.get("text").cloned() {
            attachment["text_preview"] = Value::String(preview(&text, 200));
            attachment["text_chars"] = json!(text.chars().count());
        }
        if let Some(object) = attachment.as_object_mut() {
            object.remove("text");
            if let Some(nested) = object.get_mut("nested").filter(|n| !n.is_null()) {
                if let Some(body) = nested
                    .get("body_text")
                    .and_then(Value::as_str)
                    .map(|b| preview(b, 200))
                {
                    nested["body_text"] = Value::String(body);
                }
                strip_attachment_texts(nested);
            }
        }
    }
}

fn identifiers(found: &Identifiers) -> Value {
    json!({
        "case_numbers": found.case_numbers,
        "kle": found.kle,
        "cvr": found.cvr,
        "emails": found.emails,
        // Only the masked form leaves the server; the hash is for matching.
        "cpr": found.cpr.iter().map(|c| c.masked.clone()).collect::<Vec<_>>(),
    })
}

pub fn case_summary(case: &Case) -> Value {
    json!({"id": case.id, "number": case.number, "title": case.title, "kle": case.kle, "status": case.status})
}

/// How far a case's creation in its target has come.
pub fn creation(creation: &crate::store::Creation) -> Value {
    json!({"state": creation.state, "attempts": creation.attempts, "error": creation.last_error})
}

pub fn case(case: &Case) -> Value {
    let parties: Vec<Value> = case
        .parties
        .iter()
        // `display` is the masked form for CPR parties; the hash stays inside.
        .map(|p| json!({"kind": p.kind, "value": p.display}))
        .collect();
    json!({
        "id": case.id,
        "number": case.number,
        "title": case.title,
        "kle": case.kle,
        "facet": case.facet,
        "status": case.status,
        "parties": parties,
        "groups": case.groups,
        "opened": case.opened,
        "connector": case.connector,
    })
}

#[derive(Serialize)]
struct SuggestionView<'a> {
    case: Value,
    score: f64,
    confidence: f64,
    reasons: &'a [Reason],
}

pub fn suggestions(suggestions: &[Suggestion]) -> Value {
    let views: Vec<SuggestionView> = suggestions
        .iter()
        .map(|s| SuggestionView {
            case: case_summary(&s.case),
            score: (s.score * 1000.0).round() / 1000.0,
            confidence: (s.confidence * 1000.0).round() / 1000.0,
            reasons: &s.reasons,
        })
        .collect();
    json!({"suggestions": views})
}

pub fn filing(filing: &Filing) -> Value {
    let millis = |m: Option<i64>| {
        m.and_then(chrono::DateTime::from_timestamp_millis)
            .map(|t| t.to_rfc3339())
    };
    // A withdrawn filing says so first; how far its document got stays in `delivery`.
    let state = match filing.withdrawal {
        Some(_) => json!("withdrawn"),
        None => json!(filing.state),
    };
    let withdrawal = filing.withdrawal.as_ref().map(|w| {
        json!({
            "at": millis(Some(w.at)),
            "by": w.by,
            "reason": w.reason,
            "state": w.state,
            "note": w.note,
            "moved_to": w.moved_to,
        })
    });
    json!({
        "id": filing.id,
        "item_id": filing.item_id,
        "case_id": filing.case_id,
        "title": filing.title,
        "state": state,
        "delivery": filing.state,
        "automatic": filing.automatic,
        "withdrawal": withdrawal,
        "attempts": filing.attempts,
        "target_document_id": filing.target_document_id,
        "error": filing.last_error,
        "next_attempt_at": if filing.state == crate::domain::filing::FilingState::Queued { millis(filing.next_attempt_at) } else { None },
        "attachments": filing.attachments,
        "created_by": filing.created_by,
        "created_at": millis(Some(filing.created_at)),
        "filed_at": millis(filing.filed_at),
        // "filed" with `confirmed: false`: the target took the document in but has not
        // confirmed it is filed; the add-in must not say "journaliseret" yet.
        "confirmed": filing.state == crate::domain::filing::FilingState::Filed && filing.confirmed,
        "version_of": filing.version_of,
        "version": filing.version,
    })
}

/// What an import did, or would do, with each row of a file: `outcome` is `new`, `changed`,
/// `unchanged` or `error`, and an error says its `code`, the `field` and the reason in words.
pub fn import_report(
    plans: &[crate::import::RowPlan],
    counts: crate::import::Counts,
    connector: &str,
    dry_run: bool,
) -> Value {
    let rows: Vec<Value> = plans
        .iter()
        .map(|plan| match &plan.verdict {
            Ok((_, outcome)) => json!({"row": plan.row, "case_id": plan.case_id, "outcome": outcome}),
            Err(error) => {
                let mut described = json!({
                    "code": error.code(),
                    "field": error.field(),
                    "message": redact_cpr(&error.to_string()),
                });
                if let (Some(fields), Value::Object(more)) =
                    (described.as_object_mut(), row_error_details(error))
                {
                    fields.extend(more);
                }
                json!({"row": plan.row, "case_id": plan.case_id, "outcome": "error", "error": described})
            }
        })
        .collect();
    json!({"dry_run": dry_run, "connector": connector, "counts": counts, "rows": rows})
}

/// What a page needs to say a row's error in its own words. A party's value is never among
/// them: it may be a CPR number.
fn row_error_details(error: &crate::import::RowError) -> Value {
    use crate::domain::case::CaseError;
    use crate::import::RowError;
    match error {
        RowError::Repeated { first, .. } => json!({"first_row": first}),
        RowError::OtherConnector { connector, .. } => json!({"connector": connector}),
        RowError::Invalid(CaseError::Status { status, .. }) => json!({"value": redact_cpr(status)}),
        RowError::Invalid(CaseError::Kle { kle, .. }) => json!({"value": redact_cpr(kle)}),
        RowError::Invalid(CaseError::PartyKind { kind, .. }) => json!({"kind": kind}),
        RowError::Invalid(CaseError::PartyValue { index, kind, .. }) => {
            json!({"party": index + 1, "kind": kind})
        }
        _ => json!({}),
    }
}
