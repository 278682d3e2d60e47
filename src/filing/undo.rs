//! Undoing a filing and moving it to the right case: the withdrawal is recorded at once (a
//! filing still queued never leaves), the worker takes a delivered document back from its
//! target, and the ranker unlearns the wrong case and learns the right one.

use chrono::Duration;

use super::{FilingError, FilingOrder, accept_checked};
use crate::auth::User;
use crate::domain::filing::Filing;
use crate::domain::now_millis;
use crate::store::{FilingCreated, FilingOptions, Store};
use crate::suggest::Suggester;

pub struct UndoOrder<'a> {
    pub filing_id: &'a str,
    pub reason: Option<&'a str>,
    /// File the item on this case instead, in the same step.
    pub move_to: Option<&'a str>,
    /// How long after its acceptance a filing may be undone.
    pub window: Duration,
}

pub struct Undone {
    pub filing: Filing,
    pub moved: Option<FilingCreated>,
}

/// Undoes a filing for `user`: its filer, anyone who may see its case, or an admin. Anyone
/// else hears that there is no such filing.
pub async fn undo(
    store: &Store,
    suggester: &Suggester,
    user: &User,
    order: UndoOrder<'_>,
) -> Result<Undone, FilingError> {
    let filing = store
        .filing(order.filing_id)
        .await?
        .ok_or(FilingError::FilingNotFound)?;
    let allowed = user.admin
        || filing.created_by == user.id
        || store
            .visible_case(&filing.case_id, &user.groups)
            .await?
            .is_some();
    if !allowed {
        return Err(FilingError::FilingNotFound);
    }
    if filing.withdrawal.is_some() {
        return Err(FilingError::Conflict(
            "the filing is withdrawn already".into(),
        ));
    }
    let age = now_millis() - filing.created_at;
    if age > order.window.num_milliseconds() {
        return Err(FilingError::Conflict(format!(
            "the filing is older than the undo window of {} days; withdraw it in the records system",
            order.window.num_days()
        )));
    }
    let reason = order
        .reason
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .unwrap_or(match order.move_to {
            Some(_) => "moved to another case",
            None => "undone",
        });
    if reason.chars().count() > 500 || reason.chars().any(|c| c.is_control() && c != '\n') {
        return Err(FilingError::Invalid(
            "reason must be at most 500 characters without control characters".into(),
        ));
    }
    let item = store
        .item(&filing.item_id)
        .await?
        .ok_or(FilingError::ItemNotFound)?;
    let moved = match order.move_to {
        None => None,
        Some(case_id) if case_id == filing.case_id => {
            return Err(FilingError::Invalid(
                "move_to is the case it is filed on".into(),
            ));
        }
        Some(case_id) => {
            let move_order = FilingOrder {
                item_id: &item.id,
                case_id,
                title: Some(&filing.title),
                attachments: &filing.attachments,
            };
            Some(
                accept_checked(
                    store,
                    suggester,
                    user,
                    &item,
                    move_order,
                    FilingOptions::default(),
                )
                .await?,
            )
        }
    };
    let moved_to = moved.as_ref().map(|m| m.filing.id.as_str());
    let withdrawn = store
        .withdraw_filing(&filing.id, &user.id, reason, moved_to)
        .await?
        .ok_or_else(|| FilingError::Conflict("the filing is withdrawn already".into()))?;
    if let Err(error) = suggester.unlearn(&item, &filing.case_id).await {
        tracing::error!(%error, "the ranker did not unlearn the undone filing; the next start does");
    }
    tracing::info!(filing = %filing.id, moved = moved_to.is_some(), "filing withdrawn");
    Ok(Undone {
        filing: withdrawn,
        moved,
    })
}
