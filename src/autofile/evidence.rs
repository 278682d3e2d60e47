//! The kinds of evidence that can file an item without a click, each read from the item and
//! the store: a send intent, the thread, a case number at the top of the mail.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::auth::User;
use crate::domain::filing::{Evidence, RuleRef};
use crate::extract::{Extractor, Metadata};
use crate::filing::reference_in;
use crate::store::{IntentState, Result, Store, StoredItem, conversation_of};

/// Lines of the body, after the subject, in which a case number counts as naming the case.
const HEAD_LINES: usize = 5;

/// One piece of evidence for one case.
#[derive(Debug, Clone)]
pub struct Found {
    pub evidence: Evidence,
    pub case_id: String,
    pub details: Value,
    pub rule: Option<RuleRef>,
    pub title: Option<String>,
    pub intent: Option<String>,
}

impl Found {
    fn plain(evidence: Evidence, case_id: String, details: Value) -> Found {
        Found {
            evidence,
            case_id,
            details,
            rule: None,
            title: None,
            intent: None,
        }
    }
}

/// The owner's own open send intent that a sent mail names in its header.
pub async fn intent(
    store: &Store,
    owner: &User,
    item: &StoredItem,
    original: &[u8],
) -> Result<Option<Found>> {
    let Some(reference) = reference_in(original) else {
        return Ok(None);
    };
    let intent = match store.intent(&reference).await? {
        Some(intent) if intent.owner == owner.id && intent.state == IntentState::Open => intent,
        _ => {
            tracing::debug!(item = %item.id, "the mail names no open send intent of its owner");
            return Ok(None);
        }
    };
    Ok(Some(Found {
        title: intent.title.clone(),
        intent: Some(intent.reference.clone()),
        ..Found::plain(
            Evidence::Intent,
            intent.case_id,
            json!({"intent": intent.reference}),
        )
    }))
}

pub enum Thread {
    None,
    One(Found),
    Several(Vec<String>),
}

/// The cases on which earlier mails of the thread are filed: by the Message-IDs the mail
/// answers (In-Reply-To, References), and by Outlook's conversation (Thread-Index).
pub async fn thread(store: &Store, item: &StoredItem) -> Result<Thread> {
    let Metadata::Mail(mail) = &item.extracted.metadata else {
        return Ok(Thread::None);
    };
    let mut earlier: Vec<String> = mail
        .in_reply_to
        .iter()
        .chain(&mail.references)
        .filter(|id| Some(id.as_str()) != item.message_id.as_deref())
        .cloned()
        .collect();
    earlier.sort();
    earlier.dedup();
    let mut cases = BTreeSet::new();
    let mut by = "message_id";
    if !earlier.is_empty() {
        for (_, case_id) in store.cases_of_messages(&earlier).await? {
            cases.insert(case_id);
        }
    }
    if cases.is_empty()
        && let Some(conversation) = mail.thread_index.as_deref().and_then(conversation_of)
    {
        by = "thread_index";
        // The item's own filings are none when it is first decided, but are there when a
        // backtest decides it again.
        cases.extend(store.cases_of_conversation(&conversation, &item.id).await?);
        // The mail itself, filed before (by another owner's upload), is no earlier mail.
        if let Some(own) = &item.message_id {
            let own_cases: BTreeSet<String> = store
                .cases_of_messages(std::slice::from_ref(own))
                .await?
                .into_iter()
                .map(|(_, case)| case)
                .collect();
            if cases.len() > 1 {
                cases.retain(|c| !own_cases.contains(c));
            }
        }
    }
    Ok(match cases.len() {
        0 => Thread::None,
        1 => {
            let case_id = cases.into_iter().next().unwrap_or_default();
            Thread::One(Found::plain(
                Evidence::Thread,
                case_id,
                json!({"thread_by": by}),
            ))
        }
        _ => Thread::Several(cases.into_iter().collect()),
    })
}

pub enum Numbers {
    None,
    One(Found),
    /// Numbers of several cases: at the top, or one at the top and another further down.
    Conflicting(Vec<String>),
}

/// A case number at the top of the item (the subject and the first lines) naming one known
/// case, with no number of another case anywhere in it.
pub async fn case_number(
    store: &Store,
    extractor: &Extractor,
    item: &StoredItem,
) -> Result<Numbers> {
    let (subject, body) = match &item.extracted.metadata {
        Metadata::Mail(mail) => (
            mail.subject.clone().unwrap_or_default(),
            mail.body_text.as_str(),
        ),
        Metadata::Document(doc) => (
            doc.title.clone().unwrap_or_default(),
            item.extracted.text.as_str(),
        ),
    };
    let head: String = std::iter::once(subject.as_str())
        .chain(
            body.lines()
                .filter(|l| !l.trim().is_empty())
                .take(HEAD_LINES),
        )
        .collect::<Vec<_>>()
        .join("\n");
    let at_top = extractor
        .patterns
        .find(&head, &extractor.cpr_hasher)
        .case_numbers;
    if at_top.is_empty() {
        return Ok(Numbers::None);
    }
    let mut anywhere = item.extracted.identifiers.case_numbers.clone();
    anywhere.extend(at_top.iter().cloned());
    anywhere.sort();
    anywhere.dedup();
    let known = store.case_ids_by_number(&anywhere).await?;
    let top_cases: BTreeSet<&str> = known
        .iter()
        .filter(|(_, number)| at_top.iter().any(|n| n.eq_ignore_ascii_case(number)))
        .map(|(case, _)| case.as_str())
        .collect();
    let all_cases: BTreeSet<&str> = known.iter().map(|(case, _)| case.as_str()).collect();
    Ok(match top_cases.len() {
        0 => Numbers::None,
        1 if all_cases.len() == 1 => {
            let case_id = top_cases.into_iter().next().unwrap_or_default().to_string();
            let number = known
                .iter()
                .find(|(case, _)| *case == case_id)
                .map(|(_, number)| number.clone());
            Numbers::One(Found::plain(
                Evidence::CaseNumber,
                case_id,
                json!({"case_number": number}),
            ))
        }
        _ => Numbers::Conflicting(all_cases.into_iter().map(str::to_string).collect()),
    })
}
