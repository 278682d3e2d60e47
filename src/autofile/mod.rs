//! Auto-journalisation: one policy for every new item, wherever it came from (a pane's upload,
//! a watched mailbox, a sent copy), that answers *file it on this case by itself, on this
//! evidence*, *put it in a review queue*, or *leave it* to the ordinary pane flow.
//!
//! Evidence, strongest first, each switchable (`[autofile]`, and per mailbox): a send intent,
//! the thread, a case number in the subject or first lines, an admin's rule, the ranker's
//! calibrated confidence, from a threshold that admins may also apply from the console
//! (`thresholds.rs`). Never automatically: a closed case, a case the owner may not see, two
//! kinds of evidence naming different cases, or mail that a machine sent.

pub mod automail;
pub mod backtest;
mod evidence;
pub mod rules;
pub mod thresholds;

use std::sync::Arc;

use serde::Serialize;
use serde_json::{Value, json};

use crate::auth::User;
use crate::config::{AutofileConfig, AutofileOverrides};
use crate::domain::case::CaseStatus;
use crate::domain::filing::{AutoDecision, Decision, Evidence, RuleRef};
use crate::extract::{Extractor, ItemKind};
use crate::filing::{FilingError, FilingOrder, accept_with};
use crate::store::{FilingCreated, FilingOptions, NewReview, Store, StoreError, StoredItem};
use crate::suggest::{SuggestError, Suggester};

use rules::{ActionKind, Rule};
use thresholds::{Applied, Scope, Threshold, UnitThresholds};

#[derive(Debug, thiserror::Error)]
pub enum AutofileError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Suggest(#[from] SuggestError),
    #[error(transparent)]
    Filing(#[from] FilingError),
}

/// Why an item was not filed by itself. Shown in the review queue, kept in the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Why {
    /// Nothing pointed at one case strongly enough.
    NoEvidence,
    /// Earlier mails of the thread are filed on different cases.
    ThreadOnSeveralCases,
    /// Two kinds of evidence name different cases.
    EvidenceDisagrees,
    /// The case the evidence names is closed.
    CaseClosed,
    /// The case the evidence names is not one the owner may file on.
    CaseNotVisible,
    /// Sent by a machine: an auto-reply, a report, bulk mail.
    MachineSent,
    /// A rule sends such items to review.
    RuleSaysReview,
    /// A rule says to leave such items alone.
    RuleSaysSkip,
}

impl Why {
    pub fn as_str(self) -> &'static str {
        match self {
            Why::NoEvidence => "no_evidence",
            Why::ThreadOnSeveralCases => "thread_on_several_cases",
            Why::EvidenceDisagrees => "evidence_disagrees",
            Why::CaseClosed => "case_closed",
            Why::CaseNotVisible => "case_not_visible",
            Why::MachineSent => "machine_sent",
            Why::RuleSaysReview => "rule_says_review",
            Why::RuleSaysSkip => "rule_says_skip",
        }
    }
}

/// Items read from a watched mailbox belong to `mailbox:<name>`, an owner no person signs in as.
pub const MAILBOX_OWNER_PREFIX: &str = "mailbox:";

/// A watched mailbox as the policy sees it: whose cases it may file on and where its doubts go.
#[derive(Debug, Clone)]
pub struct MailboxPolicy {
    pub name: String,
    pub groups: Vec<String>,
    pub queue: String,
    /// Its own choices over the organisation's.
    pub overrides: AutofileOverrides,
}

/// Where an item came from.
#[derive(Debug, Clone, Copy)]
pub enum Origin<'a> {
    /// Uploaded by a person in a pane (or any API client): they are there to choose.
    Upload,
    /// Read from a functional mailbox that no one watches by hand.
    Mailbox(&'a MailboxPolicy),
}

impl Origin<'_> {
    fn mailbox(&self) -> Option<&str> {
        match self {
            Origin::Upload => None,
            Origin::Mailbox(mailbox) => Some(&mailbox.name),
        }
    }
}

/// The item a decision is asked for, whose it is and where it came from.
#[derive(Clone, Copy)]
pub struct Question<'a> {
    pub owner: &'a User,
    pub item: &'a StoredItem,
    /// The item's bytes as received, for the headers extraction does not keep.
    pub original: &'a [u8],
    pub origin: Origin<'a>,
}

/// What the policy concluded for one item.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    File {
        case_id: String,
        decision: AutoDecision,
        /// The evidence seen, for the audit log: ids and codes, never item text.
        details: Value,
        /// The title chosen with a send intent.
        title: Option<String>,
        /// The send intent that this filing fulfils.
        intent: Option<String>,
    },
    Review {
        queue: String,
        why: Why,
        details: Value,
    },
    Leave {
        why: Why,
    },
}

/// What became of an item.
pub enum Outcome {
    Filed(Box<FilingCreated>),
    Queued { queue: String, why: Why },
    Left { why: Why },
}

#[derive(Clone)]
pub struct Policy {
    store: Store,
    suggester: Suggester,
    extractor: Arc<Extractor>,
    settings: AutofileConfig,
    mailboxes: Arc<Vec<MailboxPolicy>>,
}

impl Policy {
    pub fn new(
        store: Store,
        suggester: Suggester,
        extractor: Arc<Extractor>,
        settings: AutofileConfig,
        mailboxes: Vec<MailboxPolicy>,
    ) -> Policy {
        Policy {
            store,
            suggester,
            extractor,
            settings,
            mailboxes: Arc::new(mailboxes),
        }
    }

    pub fn settings(&self) -> &AutofileConfig {
        &self.settings
    }

    /// The watched mailboxes' policies, by name order of the configuration.
    pub fn mailboxes(&self) -> &[MailboxPolicy] {
        &self.mailboxes
    }

    pub fn mailbox(&self, name: &str) -> Option<&MailboxPolicy> {
        self.mailboxes.iter().find(|m| m.name == name)
    }

    /// Decides for a new item and carries the decision out: files it, queues it, or leaves it.
    /// `owner` is the uploader, or the mailbox's own identity.
    #[tracing::instrument(name = "autofile", skip_all, fields(item = %item.id))]
    pub async fn process(
        &self,
        owner: &User,
        item: &StoredItem,
        original: &[u8],
        origin: Origin<'_>,
    ) -> Result<Outcome, AutofileError> {
        let verdict = self.decide(owner, item, original, origin).await?;
        match verdict {
            Verdict::File {
                case_id,
                decision,
                details,
                title,
                intent,
            } => {
                let order = FilingOrder {
                    item_id: &item.id,
                    case_id: &case_id,
                    title: title.as_deref(),
                    attachments: &[],
                };
                let evidence = decision.evidence;
                let options = FilingOptions {
                    decision: Decision::Automatic { decision, details },
                    version_of: None,
                };
                let created =
                    accept_with(&self.store, &self.suggester, owner, order, options).await?;
                if let Some(reference) = intent {
                    self.store
                        .fulfil_intent(&reference, &created.filing.id)
                        .await?;
                }
                tracing::info!(filing = %created.filing.id, evidence = evidence.as_str(), "filed automatically");
                Ok(Outcome::Filed(Box::new(created)))
            }
            Verdict::Review {
                queue,
                why,
                details,
            } => {
                let groups = match origin {
                    Origin::Mailbox(mailbox) => mailbox.groups.clone(),
                    Origin::Upload => vec![queue.clone()],
                };
                self.store
                    .queue_for_review(NewReview {
                        item_id: &item.id,
                        item_hash: &item.sha256,
                        queue: &queue,
                        mailbox: origin.mailbox(),
                        why: why.as_str(),
                        details,
                        groups: &groups,
                    })
                    .await?;
                tracing::info!(%queue, why = why.as_str(), "put in review");
                Ok(Outcome::Queued { queue, why })
            }
            Verdict::Leave { why } => Ok(Outcome::Left { why }),
        }
    }

    /// The threshold `scope` has without a change applied to the scope itself: its
    /// configuration's, under what was applied to the wider scope. A unit without its own
    /// follows the organisation.
    pub fn configured_threshold(&self, scope: &Scope, applied: &Applied) -> Threshold {
        let organisation = || {
            applied
                .get(&Scope::Organisation)
                .unwrap_or(self.settings.confidence_threshold)
        };
        match scope {
            Scope::Organisation => self.settings.confidence_threshold,
            Scope::Mailbox(name) => self
                .mailbox(name)
                .and_then(|mailbox| mailbox.overrides.confidence_threshold)
                .or_else(organisation),
            Scope::Group(_) => organisation(),
        }
    }

    /// The threshold in force for `scope`.
    pub fn threshold(&self, scope: &Scope, applied: &Applied) -> Threshold {
        applied
            .get(scope)
            .unwrap_or_else(|| self.configured_threshold(scope, applied))
    }

    /// The switches and the threshold an item from `origin` is decided under: the
    /// configuration's, a mailbox's own over the organisation's, with what admins applied.
    pub fn settings_for(&self, origin: Origin<'_>, applied: &Applied) -> AutofileConfig {
        let (mut settings, scope) = match origin {
            Origin::Upload => (self.settings.clone(), Scope::Organisation),
            Origin::Mailbox(mailbox) => (
                self.settings.with(&mailbox.overrides),
                Scope::Mailbox(mailbox.name.clone()),
            ),
        };
        settings.confidence_threshold = self.threshold(&scope, applied);
        settings
    }

    /// What the policy would do with `item`, changing nothing.
    pub async fn decide(
        &self,
        owner: &User,
        item: &StoredItem,
        original: &[u8],
        origin: Origin<'_>,
    ) -> Result<Verdict, AutofileError> {
        let rules = self.store.rules().await?;
        let applied = self.store.applied_thresholds().await?;
        let settings = self.settings_for(origin, &applied);
        let question = Question {
            owner,
            item,
            original,
            origin,
        };
        self.decide_under(question, &rules, &settings, &applied.units(), None)
            .await
    }

    /// `decide` under the given rules, switches and units' thresholds instead of the stored,
    /// configured and applied ones (for trying a change out, and for the replay). `first` is
    /// the ranker's first case and its confidence when already asked for; otherwise it is
    /// asked if a threshold may count.
    pub async fn decide_under(
        &self,
        question: Question<'_>,
        rules: &[Rule],
        settings: &AutofileConfig,
        units: &UnitThresholds,
        first: Option<(&str, f64)>,
    ) -> Result<Verdict, AutofileError> {
        let Question {
            owner,
            item,
            original,
            origin,
        } = question;
        // Where doubts go: the mailbox's queue; an upload's person decides in the pane.
        let doubt = |why: Why, details: Value| match origin {
            Origin::Mailbox(mailbox) => Verdict::Review {
                queue: mailbox.queue.clone(),
                why,
                details,
            },
            Origin::Upload => Verdict::Leave { why },
        };
        let rule = rules::deciding(rules, item, origin.mailbox(), &owner.groups);
        let rule_details = |rule: &Rule| json!({"rule": {"id": rule.id, "name": rule.spec.name, "version": rule.version}});
        let review_by_rule = |rule: &Rule, why: Why, mut details: Value| {
            details["rule"] = rule_details(rule)["rule"].clone();
            Verdict::Review {
                queue: rule.spec.then.queue.clone().unwrap_or_default(),
                why,
                details,
            }
        };

        if item.kind == ItemKind::Mail
            && let Some(machine) = automail::detect(original)
        {
            let details = json!({"machine_sent": machine.as_str()});
            return Ok(match rule {
                Some(rule) if rule.spec.then.action == ActionKind::Review => {
                    review_by_rule(rule, Why::MachineSent, details)
                }
                _ => Verdict::Leave {
                    why: Why::MachineSent,
                },
            });
        }
        if let Some(rule) = rule
            && rule.spec.then.action == ActionKind::Skip
        {
            return Ok(Verdict::Leave {
                why: Why::RuleSaysSkip,
            });
        }

        let mut found: Vec<evidence::Found> = Vec::new();
        if settings.intent
            && let Origin::Upload = origin
            && let Some(intent) = evidence::intent(&self.store, owner, item, original).await?
        {
            found.push(intent);
        }
        if settings.thread {
            match evidence::thread(&self.store, item).await? {
                evidence::Thread::None => {}
                evidence::Thread::One(thread) => found.push(thread),
                evidence::Thread::Several(cases) => {
                    return Ok(doubt(
                        Why::ThreadOnSeveralCases,
                        json!({"thread_cases": cases}),
                    ));
                }
            }
        }
        if settings.case_number {
            match evidence::case_number(&self.store, &self.extractor, item).await? {
                evidence::Numbers::None => {}
                evidence::Numbers::One(number) => found.push(number),
                evidence::Numbers::Conflicting(cases) => {
                    return Ok(doubt(
                        Why::EvidenceDisagrees,
                        json!({"case_numbers_name": cases}),
                    ));
                }
            }
        }
        if settings.rules
            && let Some(rule) = rule
            && rule.spec.then.action == ActionKind::File
            && let Some(case_id) = &rule.spec.then.case_id
        {
            found.push(evidence::Found {
                evidence: Evidence::Rule,
                case_id: case_id.clone(),
                details: rule_details(rule),
                rule: Some(RuleRef {
                    id: rule.id.clone(),
                    name: rule.spec.name.clone(),
                }),
                title: None,
                intent: None,
            });
        }
        let mut confidence = None;
        if settings.confidence_threshold.is_some() || units.any_on() {
            let ranked = match first {
                Some((case_id, confidence)) => Some((case_id.to_string(), confidence)),
                None => self
                    .suggester
                    .suggest(item, &owner.groups, 1)
                    .await?
                    .first()
                    .map(|s| (s.case.id.clone(), s.confidence)),
            };
            if let Some((case_id, first_confidence)) = ranked {
                confidence = Some(first_confidence);
                let threshold = match units.is_empty() {
                    true => settings.confidence_threshold,
                    false => {
                        let groups = self.store.case(&case_id).await?.map(|c| c.groups);
                        units
                            .for_case(&groups.unwrap_or_default())
                            .unwrap_or(settings.confidence_threshold)
                    }
                };
                if let Some(threshold) = threshold
                    && first_confidence >= threshold
                {
                    found.push(evidence::Found {
                        evidence: Evidence::Confidence,
                        case_id,
                        details: json!({"confidence": first_confidence, "threshold": threshold}),
                        rule: None,
                        title: None,
                        intent: None,
                    });
                }
            }
        }

        let summary: Vec<Value> = found
            .iter()
            .map(|f| json!({"evidence": f.evidence, "case_id": f.case_id}))
            .collect();
        if let Some(rule) = rule
            && rule.spec.then.action == ActionKind::Review
        {
            return Ok(review_by_rule(
                rule,
                Why::RuleSaysReview,
                json!({"found": summary}),
            ));
        }
        let Some(first) = found.first() else {
            return Ok(doubt(Why::NoEvidence, json!({"confidence": confidence})));
        };
        if found.iter().any(|f| f.case_id != first.case_id) {
            return Ok(doubt(Why::EvidenceDisagrees, json!({"found": summary})));
        }
        let case = self
            .store
            .visible_case(&first.case_id, &owner.groups)
            .await?;
        match case {
            None => {
                return Ok(doubt(
                    Why::CaseNotVisible,
                    json!({"evidence": first.evidence}),
                ));
            }
            Some(case) if case.status == CaseStatus::Closed => {
                return Ok(doubt(Why::CaseClosed, json!({"found": summary})));
            }
            Some(_) => {}
        }
        let first = found.swap_remove(0);
        let mut details = first.details;
        details["agreeing"] = json!(summary);
        Ok(Verdict::File {
            case_id: first.case_id,
            decision: AutoDecision {
                evidence: first.evidence,
                rule: first.rule,
                confidence,
            },
            details,
            title: first.title,
            intent: first.intent,
        })
    }
}
