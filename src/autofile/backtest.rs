//! What the policy would have done with the latest items under today's rules and under a
//! proposed rule: each item is decided again by `Policy::decide_under` under both, and the two
//! outcomes are compared with the case a person filed it on. Nothing is written.
//!
//! The store is today's, so the replay keeps to what an item had when it came: the ranker's
//! first case is the one its owner was shown then (an item never shown suggestions is decided
//! without the ranker, which by now has learnt from its filing), and the item's own filings are
//! no thread evidence. An uploader is taken to be in the groups of the case they filed the item
//! on (the groups a token carried are not kept); a mailbox's item has the mailbox's groups, and
//! an item of a mailbox no longer watched is passed over.

use std::collections::HashMap;

use serde::Serialize;

use super::rules::{ProposedRule, Rule, deciding};
use super::thresholds::UnitThresholds;
use super::{AutofileError, MAILBOX_OWNER_PREFIX, Origin, Policy, Question, Verdict, Why};
use crate::auth::User;
use crate::domain::filing::Evidence;
use crate::extract::{ItemKind, Metadata};
use crate::store::{BacktestItem, BacktestPlace, Store};

/// Items read from the store at a time.
const PAGE: usize = 200;

/// What became of an item, as far as the backtest compares it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Handled {
    Filed {
        case_id: String,
        evidence: Evidence,
        #[serde(skip_serializing_if = "Option::is_none")]
        rule: Option<String>,
    },
    Review {
        queue: String,
        why: Why,
    },
    Left {
        why: Why,
    },
}

impl Handled {
    fn of(verdict: Verdict) -> Handled {
        match verdict {
            Verdict::File {
                case_id, decision, ..
            } => Handled::Filed {
                case_id,
                evidence: decision.evidence,
                rule: decision.rule.map(|rule| rule.name),
            },
            Verdict::Review { queue, why, .. } => Handled::Review { queue, why },
            Verdict::Leave { why } => Handled::Left { why },
        }
    }

    /// Whether the item ends up the same way: on the same case, in the same queue, or left;
    /// the evidence or the reason may differ.
    fn same_as(&self, other: &Handled) -> bool {
        match (self, other) {
            (Handled::Filed { case_id: a, .. }, Handled::Filed { case_id: b, .. }) => a == b,
            (Handled::Review { queue: a, .. }, Handled::Review { queue: b, .. }) => a == b,
            (Handled::Left { .. }, Handled::Left { .. }) => true,
            _ => false,
        }
    }
}

/// One side of the comparison.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Column {
    pub auto_filed: usize,
    pub sent_to_review: usize,
    /// Filed by themselves on another case than the one a person filed the item on.
    pub wrong: usize,
}

impl Column {
    fn count(&mut self, handled: &Handled, chosen: Option<&str>) {
        match handled {
            Handled::Filed { case_id, .. } => {
                self.auto_filed += 1;
                self.wrong += usize::from(chosen.is_some_and(|chosen| chosen != case_id));
            }
            Handled::Review { .. } => self.sent_to_review += 1,
            Handled::Left { .. } => {}
        }
    }
}

/// An item the change would handle otherwise.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Changed {
    pub item_id: String,
    pub subject: Option<String>,
    pub before: Handled,
    pub after: Handled,
    pub chosen_case_id: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Report {
    pub examined: usize,
    /// The items the proposed rule matches, whether or not it decides them.
    pub matched: usize,
    pub today: Column,
    pub after: Column,
    pub changed_count: usize,
    /// The first `listed` of the items that change, newest first.
    pub changed: Vec<Changed>,
}

/// Today's rules with `proposed` in them, in the order they would be tried: in place of the
/// rule it names, or, new, after the rules of its order (rule ids are made in time order, and
/// rules of one order are tried by id). `None` when it names no rule in force.
pub fn with_change(today: &[Rule], proposed: &ProposedRule) -> Option<Vec<Rule>> {
    let mut rules = today.to_vec();
    match &proposed.id {
        Some(id) => {
            let rule = rules.iter_mut().find(|rule| &rule.id == id)?;
            rule.spec = proposed.spec.clone();
            rules.sort_by(|a, b| {
                a.spec
                    .order
                    .cmp(&b.spec.order)
                    .then_with(|| a.id.cmp(&b.id))
            });
        }
        None => {
            let place = rules.partition_point(|rule| rule.spec.order <= proposed.spec.order);
            rules.insert(
                place,
                Rule {
                    id: String::new(),
                    version: 0,
                    spec: proposed.spec.clone(),
                },
            );
        }
    }
    Some(rules)
}

/// Replays the latest `limit` items under `today` and `after`, listing the first `listed` that
/// change.
pub async fn replay(
    policy: &Policy,
    proposed: &ProposedRule,
    today: &[Rule],
    after: &[Rule],
    limit: usize,
    listed: usize,
) -> Result<Report, AutofileError> {
    let store = &policy.store;
    let applied = store.applied_thresholds().await?;
    let units = applied.units();
    let mut cases = CaseGroups::default();
    let mut report = Report::default();
    let mut place: Option<BacktestPlace> = None;
    let mut read = 0;
    while read < limit {
        let page = store
            .backtest_items(place.as_ref(), (limit - read).min(PAGE) as i64)
            .await?;
        let Some(last) = page.last() else { break };
        place = Some(last.place());
        read += page.len();
        for entry in &page {
            let Some((origin, owner)) = origin_of(policy, store, entry, &mut cases).await? else {
                continue;
            };
            let item = &entry.item;
            let original = match item.kind {
                ItemKind::Mail => store.item_original(&item.id).await?.unwrap_or_default(),
                ItemKind::Document => Vec::new(),
            };
            let mut settings = policy.settings_for(origin, &applied);
            let no_units = UnitThresholds::default();
            let (units, first) = match &entry.first_shown {
                Some((case_id, confidence)) => (&units, Some((case_id.as_str(), *confidence))),
                None => {
                    settings.confidence_threshold = None;
                    (&no_units, None)
                }
            };
            let question = Question {
                owner: &owner,
                item,
                original: &original,
                origin,
            };
            let mailbox = origin.mailbox();
            report.examined += 1;
            report.matched += usize::from(proposed.spec.matches(item, mailbox, &owner.groups));
            let before = Handled::of(
                policy
                    .decide_under(question, today, &settings, units, first)
                    .await?,
            );
            // Rules count only through the first that decides: where that is the same, so is
            // the outcome.
            let unchanged = match (
                deciding(today, item, mailbox, &owner.groups),
                deciding(after, item, mailbox, &owner.groups),
            ) {
                (None, None) => true,
                (Some(a), Some(b)) => a.id == b.id && a.spec == b.spec,
                _ => false,
            };
            let after = match unchanged {
                true => before.clone(),
                false => Handled::of(
                    policy
                        .decide_under(question, after, &settings, units, first)
                        .await?,
                ),
            };
            let chosen = entry.chosen_case_id.as_deref();
            report.today.count(&before, chosen);
            report.after.count(&after, chosen);
            if !before.same_as(&after) {
                report.changed_count += 1;
                if report.changed.len() < listed {
                    report.changed.push(Changed {
                        item_id: item.id.clone(),
                        subject: subject(entry),
                        before,
                        after,
                        chosen_case_id: entry.chosen_case_id.clone(),
                    });
                }
            }
        }
    }
    Ok(report)
}

fn subject(entry: &BacktestItem) -> Option<String> {
    match &entry.item.extracted.metadata {
        Metadata::Mail(mail) => mail.subject.clone(),
        Metadata::Document(doc) => doc.title.clone(),
    }
}

/// The groups of the cases people filed on, each read once.
#[derive(Default)]
struct CaseGroups(HashMap<String, Vec<String>>);

impl CaseGroups {
    async fn of(&mut self, store: &Store, case_id: &str) -> Result<Vec<String>, AutofileError> {
        if let Some(groups) = self.0.get(case_id) {
            return Ok(groups.clone());
        }
        let groups = store
            .case(case_id)
            .await?
            .map(|case| case.groups)
            .unwrap_or_default();
        self.0.insert(case_id.to_string(), groups.clone());
        Ok(groups)
    }
}

/// Where the item came from and whose it is; `None` for a mailbox no longer watched.
async fn origin_of<'p>(
    policy: &'p Policy,
    store: &Store,
    entry: &BacktestItem,
    cases: &mut CaseGroups,
) -> Result<Option<(Origin<'p>, User)>, AutofileError> {
    let owner = &entry.item.owner;
    if let Some(name) = owner.strip_prefix(MAILBOX_OWNER_PREFIX) {
        return Ok(policy
            .mailbox(name)
            .map(|mailbox| (Origin::Mailbox(mailbox), crate::mailboxes::owner(mailbox))));
    }
    let groups = match &entry.chosen_case_id {
        Some(case_id) => cases.of(store, case_id).await?,
        None => Vec::new(),
    };
    let user = User {
        id: owner.clone(),
        name: owner.clone(),
        groups,
        admin: false,
    };
    Ok(Some((Origin::Upload, user)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::autofile::rules::RuleSpec;
    use serde_json::json;

    fn rule(id: &str, order: i64) -> Rule {
        let spec: RuleSpec = serde_json::from_value(json!({
            "name": id, "order": order,
            "when": {"from": "a.example"}, "then": {"action": "skip"}
        }))
        .unwrap();
        Rule {
            id: id.into(),
            version: 1,
            spec,
        }
    }

    fn proposed(id: Option<&str>, order: i64) -> ProposedRule {
        ProposedRule {
            id: id.map(str::to_string),
            spec: rule("ny", order).spec,
        }
    }

    fn names(rules: &[Rule]) -> Vec<&str> {
        rules.iter().map(|r| r.spec.name.as_str()).collect()
    }

    #[test]
    fn a_new_rule_comes_after_the_rules_of_its_order_and_a_changed_one_takes_its_place() {
        let today = [rule("a", 10), rule("b", 20), rule("c", 20), rule("d", 30)];
        let added = with_change(&today, &proposed(None, 20)).unwrap();
        assert_eq!(names(&added), ["a", "b", "c", "ny", "d"]);
        assert_eq!(added[3].id, "");
        let first = with_change(&today, &proposed(None, 0)).unwrap();
        assert_eq!(names(&first), ["ny", "a", "b", "c", "d"]);
        // "c" moved to the front by its new order.
        let moved = with_change(&today, &proposed(Some("c"), 5)).unwrap();
        assert_eq!(names(&moved), ["ny", "a", "b", "d"]);
        assert_eq!(moved[0].id, "c");
        assert_eq!(with_change(&today, &proposed(Some("x"), 5)), None);
    }

    #[test]
    fn an_item_changes_when_it_lands_elsewhere_not_when_only_the_reason_does() {
        let filed = |case: &str, evidence| Handled::Filed {
            case_id: case.into(),
            evidence,
            rule: None,
        };
        assert!(filed("A", Evidence::Rule).same_as(&filed("A", Evidence::Thread)));
        assert!(!filed("A", Evidence::Rule).same_as(&filed("B", Evidence::Rule)));
        let left = |why| Handled::Left { why };
        assert!(left(Why::NoEvidence).same_as(&left(Why::RuleSaysSkip)));
        assert!(!left(Why::NoEvidence).same_as(&Handled::Review {
            queue: "byg".into(),
            why: Why::RuleSaysReview
        }));

        let mut column = Column::default();
        column.count(&filed("A", Evidence::Rule), Some("A"));
        column.count(&filed("A", Evidence::Rule), Some("B"));
        column.count(&filed("A", Evidence::Rule), None);
        column.count(&left(Why::NoEvidence), Some("B"));
        assert_eq!(
            column,
            Column {
                auto_filed: 3,
                sent_to_review: 0,
                wrong: 1
            }
        );
    }
}
