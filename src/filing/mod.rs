//! The outbox of accepted filings and the worker that delivers them.
//!
//! Accepting a filing commits it to the store before anyone is told "accepted"; from then on
//! the worker owns it until the target confirms it or the retry budget runs out.

mod intents;
mod undo;
mod withdraw;
mod worker;

use crate::auth::User;
use crate::domain::filing::{AttachmentChoice, AttachmentMode};
use crate::domain::identifiers::redact_cpr;
use crate::extract::Metadata;
use crate::store::{
    FilingCreated, FilingOptions, NewFiling, ReviewState, Store, StoreError, StoredItem,
};
use crate::suggest::Suggester;

pub use intents::{record_intent, reference_in};
pub use undo::{UndoOrder, Undone, undo};
pub(crate) use worker::backoff;
pub use worker::{Outcome, Worker};

#[derive(Debug, thiserror::Error)]
pub enum FilingError {
    #[error("item not found")]
    ItemNotFound,
    /// Also what a user hears about a case they may not see.
    #[error("case not found")]
    CaseNotFound,
    #[error("{0}")]
    Invalid(String),
    /// A new version was asked of something that is not a document filed on the case.
    #[error("{0}")]
    NotADocumentOfCase(String),
    /// Also what a user hears about a filing they may not see.
    #[error("filing not found")]
    FilingNotFound,
    /// The filing cannot change that way any more (withdrawn already, or past the undo window).
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a user asks to file.
pub struct FilingOrder<'a> {
    pub item_id: &'a str,
    pub case_id: &'a str,
    pub title: Option<&'a str>,
    pub attachments: &'a [AttachmentChoice],
}

/// Validates and commits a filing to the outbox, and makes the item count for the next
/// suggestions at once: the ranker learns from the choice. Filing the same mail (by Message-ID) or document (by
/// content) on the same case again returns the first filing. Either outcome is in the audit
/// log, committed with it.
pub async fn accept(
    store: &Store,
    suggester: &Suggester,
    user: &User,
    order: FilingOrder<'_>,
) -> Result<FilingCreated, FilingError> {
    accept_with(store, suggester, user, order, FilingOptions::default()).await
}

/// `accept`, as a new version of a document filed on the case (`options.version_of`, which
/// must be one), or decided by a rule instead of a click (`options.decision`).
pub async fn accept_with(
    store: &Store,
    suggester: &Suggester,
    user: &User,
    order: FilingOrder<'_>,
    options: FilingOptions,
) -> Result<FilingCreated, FilingError> {
    let item = store
        .item(order.item_id)
        .await?
        .ok_or(FilingError::ItemNotFound)?;
    // Besides its owner, whoever holds an item's review claim files it.
    let review = match item.owner == user.id {
        true => None,
        false => Some(
            store
                .review_item(&item.id)
                .await?
                .filter(|r| {
                    r.state == ReviewState::Claimed && r.claimed_by.as_deref() == Some(&user.id)
                })
                .ok_or(FilingError::ItemNotFound)?,
        ),
    };
    let created = accept_checked(store, suggester, user, &item, order, options).await?;
    if review.is_some() || created.created {
        store
            .review_filed(&item.id, &user.id, &created.filing.id)
            .await?;
    }
    Ok(created)
}

/// `accept_with` for an item that `user` has been found entitled to file: its owner, its
/// reviewer, or one who may undo a filing of it and moves it.
pub(crate) async fn accept_checked(
    store: &Store,
    suggester: &Suggester,
    user: &User,
    item: &StoredItem,
    order: FilingOrder<'_>,
    options: FilingOptions,
) -> Result<FilingCreated, FilingError> {
    if item.original_purged {
        return Err(FilingError::Invalid(
            "the original of this item is no longer kept; upload the file again".into(),
        ));
    }
    let case = store
        .visible_case(order.case_id, &user.groups)
        .await?
        .ok_or(FilingError::CaseNotFound)?;

    let attachment_count = match &item.extracted.metadata {
        Metadata::Mail(mail) => mail.attachments.len(),
        Metadata::Document(_) => 0,
    };
    let mut seen = vec![false; attachment_count];
    for choice in order.attachments {
        match seen.get_mut(choice.index) {
            None => {
                return Err(FilingError::Invalid(format!(
                    "attachment {} does not exist (the item has {attachment_count})",
                    choice.index
                )));
            }
            Some(true) => {
                return Err(FilingError::Invalid(format!(
                    "attachment {} is listed twice",
                    choice.index
                )));
            }
            Some(flag) => *flag = true,
        }
    }
    // Attachments the request does not mention travel with the mail, as they arrived.
    let mut attachments = order.attachments.to_vec();
    for (index, listed) in seen.iter().enumerate() {
        if !listed {
            attachments.push(AttachmentChoice {
                index,
                mode: AttachmentMode::WithMail,
            });
        }
    }
    attachments.sort_by_key(|a| a.index);

    let title = match checked_title(order.title)? {
        Some(title) => title,
        None => default_title(&item.extracted.metadata),
    };
    let dedupe_key = crate::store::dedupe_key(&case.id, item.message_id.as_deref(), &item.sha256);
    if let Some(document_id) = &options.version_of
        && !store.is_document_of_case(&case.id, document_id).await?
    {
        return Err(FilingError::NotADocumentOfCase(format!(
            "version_of {document_id:?} is not a document filed on case {}",
            case.id
        )));
    }
    // What the ranker knew when the user chose, before the filing itself counts.
    let lesson = suggester.lesson(item, &case, user).await;
    let created = store
        .create_filing_with(
            NewFiling {
                item_id: &item.id,
                case_id: &case.id,
                dedupe_key,
                title: &title,
                attachments: &attachments,
                created_by: &user.id,
            },
            &options,
        )
        .await?;
    if created.created {
        tracing::info!(filing = %created.filing.id, case = %case.id, "filing accepted");
        // The filing is committed; a failure to learn from it only delays its counting for
        // suggestions until the next start, which rebuilds the index and memory from the store.
        let learnt = match lesson {
            Ok(lesson) => suggester.learn(lesson).await,
            Err(error) => Err(error),
        };
        if let Err(error) = learnt {
            tracing::error!(%error, "the ranker did not learn from the filing; the next start catches up");
        }
    }
    Ok(created)
}

/// The longest title a records system is given.
const MAX_TITLE_CHARS: usize = 250;

/// A title a person gave, checked: at most 250 characters, no control characters, and CPR
/// numbers masked (titles end up on public journal lists and in folder names). `None` when
/// none was given.
pub(crate) fn checked_title(title: Option<&str>) -> Result<Option<String>, FilingError> {
    match title.map(str::trim).filter(|t| !t.is_empty()) {
        Some(title) if title.chars().count() > MAX_TITLE_CHARS => Err(FilingError::Invalid(
            format!("title is longer than {MAX_TITLE_CHARS} characters"),
        )),
        Some(title) if title.chars().any(char::is_control) => Err(FilingError::Invalid(
            "title holds a control character (such as a line break)".into(),
        )),
        Some(title) => Ok(Some(redact_cpr(title).into_owned())),
        None => Ok(None),
    }
}

/// The item's own title (a mail's subject), cut to what a records system takes.
fn default_title(metadata: &Metadata) -> String {
    let title = match metadata {
        Metadata::Mail(mail) => mail.subject.clone(),
        Metadata::Document(doc) => doc.title.clone(),
    };
    title
        .map(|t| {
            t.trim()
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .take(MAX_TITLE_CHARS)
                .collect::<String>()
        })
        .filter(|t| !t.trim().is_empty())
        .unwrap_or_else(|| "Uden titel".into())
}
