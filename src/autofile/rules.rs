//! Routing rules written by admins: what a rule says (conditions on an item and one action),
//! how it is checked before it is stored, and whether it matches an item.
//!
//! The policy reads the rules whose action files, reviews or skips; the ranker reads those
//! that suggest a case, as a feature of its own.

use regex::{Regex, RegexBuilder};
use serde::{Deserialize, Serialize};

use crate::extract::Metadata;
use crate::store::StoredItem;

/// Longest regular expression a rule may hold, and the most memory its compiled form may take:
/// a rule runs on every incoming item.
const MAX_REGEX_CHARS: usize = 500;
const MAX_REGEX_BYTES: usize = 1 << 20;
const MAX_NAME_CHARS: usize = 200;
const MAX_WORDS: usize = 100;

/// A rule as admins write it (`POST /api/v1/admin/rules`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    pub name: String,
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Rules are tried in this order, lowest first; the first that matches decides.
    #[serde(default)]
    pub order: i64,
    pub when: Conditions,
    pub then: Action,
}

fn yes() -> bool {
    true
}

/// Every condition given must hold; a list inside one condition holds when any of it does.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Conditions {
    /// The watched mailbox the item came from, by its name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mailbox: Option<String>,
    /// An address (`arkitekt@tegnestuen.dk`) or a domain (`tegnestuen.dk`).
    #[serde(default, skip_serializing_if = "Vec::is_empty", with = "one_or_many")]
    pub from: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty", with = "one_or_many")]
    pub to: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty", with = "one_or_many")]
    pub cc: Vec<String>,
    /// Words or phrases, matched without regard to case.
    #[serde(default, skip_serializing_if = "Vec::is_empty", with = "one_or_many")]
    pub subject_contains: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_regex: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty", with = "one_or_many")]
    pub body_contains: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_regex: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub has_identifier: Vec<IdentifierKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachment: Option<AttachmentCondition>,
    /// The owner's groups: the uploader's, or the mailbox's.
    #[serde(default, skip_serializing_if = "Vec::is_empty", with = "one_or_many")]
    pub groups: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentifierKind {
    Cpr,
    Cvr,
    CaseNumber,
    Kle,
}

/// An attachment of this type (a MIME type, `application/pdf`, or an extension, `pdf`) and/or
/// whose name contains this text.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttachmentCondition {
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Action {
    pub action: ActionKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    /// File on `case_id` without a click.
    File,
    /// Point the ranker at `case_id`: a feature with its own learned weight and reason.
    Suggest,
    /// Put the item in review queue `queue`.
    Review,
    /// Leave the item alone: neither filed nor queued.
    Skip,
}

impl ActionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::File => "file",
            ActionKind::Suggest => "suggest",
            ActionKind::Review => "review",
            ActionKind::Skip => "skip",
        }
    }
}

/// A stored rule: its id and version with what it says.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rule {
    pub id: String,
    pub version: i64,
    #[serde(flatten)]
    pub spec: RuleSpec,
}

/// The first of `rules` (in the order they are tried) that decides on `item`: a rule that
/// suggests a case feeds the ranker instead.
pub fn deciding<'r>(
    rules: &'r [Rule],
    item: &StoredItem,
    mailbox: Option<&str>,
    groups: &[String],
) -> Option<&'r Rule> {
    rules.iter().find(|rule| {
        rule.spec.then.action != ActionKind::Suggest && rule.spec.matches(item, mailbox, groups)
    })
}

/// A rule an admin proposes in the backtest and switches on: a new rule, or a new text for the
/// rule `id`.
#[derive(Debug, Clone, PartialEq)]
pub struct ProposedRule {
    pub id: Option<String>,
    pub spec: RuleSpec,
}

impl<'de> Deserialize<'de> for ProposedRule {
    /// The rule as the rules API takes it, with `"id"` beside its fields (`RuleSpec` refuses
    /// fields it does not know, which rules out `flatten`).
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        use serde_json::Value;
        let mut fields = serde_json::Map::deserialize(d)?;
        let id = match fields.remove("id") {
            None | Some(Value::Null) => None,
            Some(Value::String(id)) => Some(id),
            Some(_) => return Err(D::Error::custom("id: a rule's id, as a string")),
        };
        let spec = RuleSpec::deserialize(Value::Object(fields)).map_err(D::Error::custom)?;
        Ok(ProposedRule { id, spec })
    }
}

/// What is wrong with a rule, naming the field: the API answers 422 with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct RuleError {
    pub field: String,
    pub reason: String,
}

fn invalid(field: &str, reason: impl Into<String>) -> RuleError {
    RuleError {
        field: field.into(),
        reason: reason.into(),
    }
}

/// Whether an address condition is an address or a domain.
fn address_like(value: &str) -> bool {
    let value = value.trim_start_matches('@');
    !value.is_empty()
        && value.contains('.')
        && !value.contains(|c: char| c.is_whitespace() || c.is_control() || "<>,;\"".contains(c))
        && value.matches('@').count() <= 1
}

fn compile(field: &str, pattern: &str) -> Result<Regex, RuleError> {
    if pattern.chars().count() > MAX_REGEX_CHARS {
        return Err(invalid(
            field,
            format!("longer than {MAX_REGEX_CHARS} characters"),
        ));
    }
    RegexBuilder::new(pattern)
        .case_insensitive(true)
        .size_limit(MAX_REGEX_BYTES)
        .build()
        .map_err(|e| invalid(field, format!("not a valid regular expression: {e}")))
}

impl RuleSpec {
    /// Checks everything that can be checked without the store; `mailboxes` are the names of
    /// the configured mailboxes. Whether `case_id` names a case is for the caller to check.
    pub fn validate(&self, mailboxes: &[&str]) -> Result<(), RuleError> {
        let name = self.name.trim();
        if name.is_empty() {
            return Err(invalid("name", "a rule needs a name"));
        }
        if name.chars().count() > MAX_NAME_CHARS {
            return Err(invalid(
                "name",
                format!("longer than {MAX_NAME_CHARS} characters"),
            ));
        }
        if self.name.chars().any(char::is_control) {
            return Err(invalid("name", "control characters are not allowed"));
        }
        let w = &self.when;
        if let Some(mailbox) = &w.mailbox
            && !mailboxes.contains(&mailbox.as_str())
        {
            return Err(invalid(
                "when.mailbox",
                format!("no mailbox named {mailbox:?} is configured"),
            ));
        }
        for (field, values) in [
            ("when.from", &w.from),
            ("when.to", &w.to),
            ("when.cc", &w.cc),
        ] {
            if let Some(bad) = values.iter().find(|v| !address_like(v)) {
                return Err(invalid(
                    field,
                    format!("{bad:?} is neither an address nor a domain"),
                ));
            }
        }
        for (field, words) in [
            ("when.subject_contains", &w.subject_contains),
            ("when.body_contains", &w.body_contains),
            ("when.groups", &w.groups),
        ] {
            if words.len() > MAX_WORDS {
                return Err(invalid(field, format!("more than {MAX_WORDS} entries")));
            }
            if words.iter().any(|word| word.trim().is_empty()) {
                return Err(invalid(field, "an empty entry matches everything"));
            }
        }
        if let Some(pattern) = &w.subject_regex {
            compile("when.subject_regex", pattern)?;
        }
        if let Some(pattern) = &w.body_regex {
            compile("when.body_regex", pattern)?;
        }
        if let Some(attachment) = &w.attachment
            && attachment.kind.is_none()
            && attachment.name.is_none()
        {
            return Err(invalid("when.attachment", "give a type, a name or both"));
        }
        if *w == Conditions::default() {
            return Err(invalid(
                "when",
                "a rule without conditions would match every item",
            ));
        }
        match self.then.action {
            ActionKind::File | ActionKind::Suggest if self.then.case_id.is_none() => Err(invalid(
                "then.case_id",
                format!("the action {} needs a case", self.then.action.as_str()),
            )),
            ActionKind::Review
                if self
                    .then
                    .queue
                    .as_deref()
                    .is_none_or(|q| q.trim().is_empty()) =>
            {
                Err(invalid("then.queue", "the action review needs a queue"))
            }
            _ => Ok(()),
        }
    }

    /// Whether the rule matches `item`, which came from `mailbox` (if from one) and belongs to
    /// an owner in `groups`. A disabled rule matches nothing.
    pub fn matches(&self, item: &StoredItem, mailbox: Option<&str>, groups: &[String]) -> bool {
        if !self.enabled {
            return false;
        }
        let w = &self.when;
        if w.mailbox.is_some() && w.mailbox.as_deref() != mailbox {
            return false;
        }
        if !w.groups.is_empty() && !w.groups.iter().any(|g| groups.contains(g)) {
            return false;
        }
        let mail = match &item.extracted.metadata {
            Metadata::Mail(mail) => Some(mail),
            Metadata::Document(_) => None,
        };
        let addresses = |list: Option<&Vec<crate::extract::Address>>| -> Vec<String> {
            list.into_iter()
                .flatten()
                .filter_map(|a| a.email.as_deref())
                .map(str::to_lowercase)
                .collect()
        };
        for (wanted, have) in [
            (&w.from, addresses(mail.map(|m| &m.from))),
            (&w.to, addresses(mail.map(|m| &m.to))),
            (&w.cc, addresses(mail.map(|m| &m.cc))),
        ] {
            if !wanted.is_empty()
                && !wanted
                    .iter()
                    .any(|want| have.iter().any(|a| address_matches(a, want)))
            {
                return false;
            }
        }
        let subject = match &item.extracted.metadata {
            Metadata::Mail(mail) => mail.subject.clone().unwrap_or_default(),
            Metadata::Document(doc) => doc.title.clone().unwrap_or_default(),
        };
        let body = &item.extracted.text;
        if !contains_any(&subject, &w.subject_contains) || !contains_any(body, &w.body_contains) {
            return false;
        }
        for (pattern, text) in [(&w.subject_regex, subject.as_str()), (&w.body_regex, body)] {
            // A pattern that no longer compiles (it was checked when stored) matches nothing.
            if let Some(pattern) = pattern
                && !compile("", pattern).is_ok_and(|regex| regex.is_match(text))
            {
                return false;
            }
        }
        let found = &item.extracted.identifiers;
        let has = |kind: &IdentifierKind| match kind {
            IdentifierKind::Cpr => !found.cpr.is_empty(),
            IdentifierKind::Cvr => !found.cvr.is_empty(),
            IdentifierKind::CaseNumber => !found.case_numbers.is_empty(),
            IdentifierKind::Kle => !found.kle.is_empty(),
        };
        if !w.has_identifier.is_empty() && !w.has_identifier.iter().any(has) {
            return false;
        }
        if let Some(condition) = &w.attachment {
            let attachments = mail.map(|m| m.attachments.as_slice()).unwrap_or_default();
            if !attachments.iter().any(|a| attachment_matches(a, condition)) {
                return false;
            }
        }
        true
    }
}

fn address_matches(address: &str, wanted: &str) -> bool {
    let wanted = wanted.to_lowercase();
    let wanted = wanted.trim_start_matches('@');
    if wanted.contains('@') {
        address == wanted
    } else {
        address
            .rsplit_once('@')
            .is_some_and(|(_, domain)| domain == wanted || domain.ends_with(&format!(".{wanted}")))
    }
}

fn contains_any(text: &str, words: &[String]) -> bool {
    if words.is_empty() {
        return true;
    }
    let text = text.to_lowercase();
    words
        .iter()
        .any(|word| text.contains(&word.trim().to_lowercase()))
}

fn attachment_matches(
    attachment: &crate::extract::Attachment,
    condition: &AttachmentCondition,
) -> bool {
    let name = attachment
        .name
        .as_deref()
        .unwrap_or_default()
        .to_lowercase();
    let kind_ok = condition.kind.as_deref().is_none_or(|kind| {
        let kind = kind.to_lowercase();
        if kind.contains('/') {
            attachment.content_type.to_lowercase().starts_with(&kind)
        } else {
            name.ends_with(&format!(".{}", kind.trim_start_matches('.')))
        }
    });
    let name_ok = condition
        .name
        .as_deref()
        .is_none_or(|wanted| name.contains(&wanted.to_lowercase()));
    kind_ok && name_ok
}

/// Accepts `"x"` as well as `["x", "y"]` for list conditions.
mod one_or_many {
    use serde::{Deserialize, Deserializer, Serializer};

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
        Ok(match OneOrMany::deserialize(d)? {
            OneOrMany::One(one) => vec![one],
            OneOrMany::Many(many) => many,
        })
    }

    pub fn serialize<S: Serializer>(values: &[String], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(value: serde_json::Value) -> RuleSpec {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn a_rule_is_read_with_single_values_or_lists_and_refused_with_the_field_named() {
        let rule = spec(json!({
            "name": "Byggesager fra tegnestuen",
            "when": {"from": "tegnestuen.dk", "subject_contains": ["carport", "tilbygning"]},
            "then": {"action": "file", "case_id": "VK-2026-0031"}
        }));
        assert!(rule.enabled);
        assert_eq!(rule.when.from, vec!["tegnestuen.dk"]);
        assert_eq!(rule.validate(&[]), Ok(()));

        let refused = |value: serde_json::Value, field: &str| {
            let error = spec(value).validate(&["byg"]).unwrap_err();
            assert_eq!(error.field, field, "{error}");
        };
        refused(
            json!({"name": " ", "when": {"from": "a.dk"}, "then": {"action": "skip"}}),
            "name",
        );
        refused(
            json!({"name": "x", "when": {}, "then": {"action": "skip"}}),
            "when",
        );
        refused(
            json!({"name": "x", "when": {"from": "ikke en adresse"}, "then": {"action": "skip"}}),
            "when.from",
        );
        refused(
            json!({"name": "x", "when": {"subject_regex": "(uafsluttet"}, "then": {"action": "skip"}}),
            "when.subject_regex",
        );
        refused(
            json!({"name": "x", "when": {"subject_regex": "a{1000}{1000}"}, "then": {"action": "skip"}}),
            "when.subject_regex",
        );
        refused(
            json!({"name": "x", "when": {"mailbox": "social"}, "then": {"action": "skip"}}),
            "when.mailbox",
        );
        refused(
            json!({"name": "x", "when": {"from": "a.dk"}, "then": {"action": "file"}}),
            "then.case_id",
        );
        refused(
            json!({"name": "x", "when": {"from": "a.dk"}, "then": {"action": "review"}}),
            "then.queue",
        );
        assert!(
            serde_json::from_value::<RuleSpec>(
                json!({"name": "x", "when": {"fra": "a.dk"}, "then": {"action": "skip"}})
            )
            .is_err()
        );
    }

    #[test]
    fn a_proposed_rule_is_a_rule_with_the_id_it_replaces_beside_it() {
        let rule = json!({"name": "x", "when": {"from": "a.dk"}, "then": {"action": "skip"}});
        let new: ProposedRule = serde_json::from_value(rule.clone()).unwrap();
        assert_eq!((new.id, &new.spec), (None, &spec(rule.clone())));
        let mut changing = rule.clone();
        changing["id"] = json!("r1");
        let changed: ProposedRule = serde_json::from_value(changing.clone()).unwrap();
        assert_eq!(changed.id.as_deref(), Some("r1"));
        changing["id"] = json!(7);
        assert!(serde_json::from_value::<ProposedRule>(changing).is_err());
        let mut unknown = rule;
        unknown["fra"] = json!("a.dk");
        let error = serde_json::from_value::<ProposedRule>(unknown).unwrap_err();
        assert!(error.to_string().contains("fra"), "{error}");
    }

    #[test]
    fn addresses_match_by_address_or_domain() {
        assert!(address_matches("arkitekt@tegnestuen.dk", "tegnestuen.dk"));
        assert!(address_matches(
            "arkitekt@mail.tegnestuen.dk",
            "@tegnestuen.dk"
        ));
        assert!(address_matches(
            "arkitekt@tegnestuen.dk",
            "Arkitekt@Tegnestuen.dk"
        ));
        assert!(!address_matches(
            "arkitekt@nottegnestuen.dk",
            "tegnestuen.dk"
        ));
        assert!(!address_matches(
            "bo@tegnestuen.dk",
            "arkitekt@tegnestuen.dk"
        ));
    }
}
