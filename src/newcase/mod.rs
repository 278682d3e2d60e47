//! A new case when no suggestion fits: what it should be called, which KLE subject and facet
//! it belongs to, its parties and groups, and the open cases it may duplicate.

pub mod create;

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;

use crate::config::NewCaseConfig;
use crate::domain::case::{Case, CaseStatus, Party, PartyKind};
use crate::domain::identifiers::redact_cpr;
use crate::extract::Metadata;
use crate::kle::rank::{KleQuery, Proposed, RankError, rank};
use crate::store::{Store, StoreError, StoredItem};
use crate::suggest::{SearchIndex, bare_subject};

/// The longest case title proposed, as for document titles.
const MAX_TITLE_CHARS: usize = 250;
/// Subjects and facets proposed.
const PROPOSED: usize = 5;
/// Similar open cases shown at most.
const SIMILAR: usize = 5;

#[derive(Debug, Clone, Serialize)]
pub struct Proposal {
    /// Where the case would be created.
    pub connector: String,
    pub title: String,
    pub kle: Vec<Proposed>,
    pub facet: Vec<ProposedFacet>,
    /// For a CPR party, `value` is the keyed hash and `display` the masked number.
    pub parties: Vec<Party>,
    pub groups: Vec<String>,
    pub similar_open_cases: Vec<SimilarCase>,
}

/// A facet as proposed: KLE calls its number a code.
#[derive(Debug, Clone, Serialize)]
pub struct ProposedFacet {
    pub code: String,
    pub title: Option<String>,
    pub confidence: f64,
    pub reasons: Vec<crate::suggest::Reason>,
}

impl From<Proposed> for ProposedFacet {
    fn from(p: Proposed) -> Self {
        ProposedFacet {
            code: p.number,
            title: p.title,
            confidence: p.confidence,
            reasons: p.reasons,
        }
    }
}

/// An open case of the same party: by the single-case principle it is probably the one, the
/// more so when it has the subject proposed.
#[derive(Debug, Clone, Serialize)]
pub struct SimilarCase {
    pub id: String,
    pub number: String,
    pub title: String,
    pub kle: Option<String>,
    /// Its subject is among the proposed ones.
    pub same_subject: bool,
    /// The parties it shares with the item, as people see them.
    pub shared_parties: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ProposalError {
    #[error(transparent)]
    Rank(#[from] RankError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a new case for `item` would be, from what the user may see.
pub async fn propose(
    store: &Store,
    index: &Arc<SearchIndex>,
    settings: &NewCaseConfig,
    item: &StoredItem,
    viewer_groups: &[String],
) -> Result<Proposal, ProposalError> {
    let extracted = &item.extracted;
    let people: Vec<String> = match &extracted.metadata {
        Metadata::Mail(mail) => mail
            .from
            .iter()
            .chain(&mail.to)
            .chain(&mail.cc)
            .filter_map(|a| a.email.clone())
            .collect(),
        Metadata::Document(_) => Vec::new(),
    };
    let ranked = rank(
        store,
        index,
        &KleQuery {
            text: &extracted.text,
            mentioned: &extracted.identifiers.kle,
            people: &people,
            viewer_groups,
            exclude_case: None,
            limit: PROPOSED,
        },
    )
    .await?;
    let parties = parties_of(item);
    let similar_open_cases =
        similar_open_cases(store, &parties, &ranked.subjects, viewer_groups).await?;
    let (subject, party) = title_parts(item, &parties);
    let title = render_title(
        &settings.title_pattern,
        &[
            (
                "kle_title",
                ranked
                    .subjects
                    .first()
                    .and_then(|s| s.title.clone())
                    .unwrap_or_default(),
            ),
            (
                "kle",
                ranked
                    .subjects
                    .first()
                    .map(|s| s.number.clone())
                    .unwrap_or_default(),
            ),
            ("party", party),
            ("subject", subject),
        ],
    );
    Ok(Proposal {
        connector: settings.connector.clone(),
        title,
        kle: ranked.subjects,
        facet: ranked.facets.into_iter().map(ProposedFacet::from).collect(),
        parties,
        groups: viewer_groups.to_vec(),
        similar_open_cases,
    })
}

/// The sender (name and address), and the CVR and CPR numbers found in the item.
fn parties_of(item: &StoredItem) -> Vec<Party> {
    let mut parties = Vec::new();
    if let Metadata::Mail(mail) = &item.extracted.metadata {
        for sender in &mail.from {
            if let Some(name) = sender
                .name
                .as_deref()
                .map(str::trim)
                .filter(|n| !n.is_empty())
            {
                let name = redact_cpr(name).into_owned();
                parties.push(Party {
                    kind: PartyKind::Name,
                    value: name.clone(),
                    display: name,
                });
            }
            if let Some(email) = &sender.email {
                parties.push(Party {
                    kind: PartyKind::Email,
                    value: email.clone(),
                    display: email.clone(),
                });
            }
        }
    }
    let identifiers = &item.extracted.identifiers;
    for cvr in &identifiers.cvr {
        parties.push(Party {
            kind: PartyKind::Cvr,
            value: cvr.clone(),
            display: cvr.clone(),
        });
    }
    for cpr in &identifiers.cpr {
        parties.push(Party {
            kind: PartyKind::Cpr,
            value: cpr.hash.clone(),
            display: cpr.masked.clone(),
        });
    }
    let mut seen = std::collections::HashSet::new();
    parties.retain(|p| seen.insert((p.kind, p.value.clone())));
    parties
}

/// The item's subject without reply markers, and the party a title names (the sender's name,
/// else the first party), both with CPR numbers masked.
fn title_parts(item: &StoredItem, parties: &[Party]) -> (String, String) {
    let subject = match &item.extracted.metadata {
        Metadata::Mail(mail) => mail.subject.clone(),
        Metadata::Document(document) => document.title.clone(),
    }
    .unwrap_or_default();
    let subject = redact_cpr(bare_subject(&subject)).into_owned();
    let party = parties
        .iter()
        .find(|p| p.kind == PartyKind::Name)
        .or(parties.first())
        .map(|p| p.display.clone())
        .unwrap_or_default();
    (subject, party)
}

/// `pattern` with its `{name}` parts filled in. An empty part is left out with the text
/// between it and the part before; text before the first part and after the last stays.
/// Control characters become spaces and the title is cut to what records systems take.
pub fn render_title(pattern: &str, values: &[(&str, String)]) -> String {
    let values: BTreeMap<&str, &str> = values.iter().map(|(k, v)| (*k, v.trim())).collect();
    let mut out = String::new();
    let mut rest = pattern;
    let mut separator = String::new();
    let mut first = true;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}').map(|c| open + c) else {
            break;
        };
        let literal = &rest[..open];
        if first {
            out.push_str(literal);
        } else {
            separator.push_str(literal);
        }
        first = false;
        let value = values
            .get(&rest[open + 1..close])
            .copied()
            .unwrap_or_default();
        if !value.is_empty() {
            if !out.trim().is_empty() {
                out.push_str(&separator);
            }
            out.push_str(value);
        }
        separator.clear();
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    let title: String = redact_cpr(out.trim())
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_TITLE_CHARS)
        .collect();
    if title.trim().is_empty() {
        "Ny sag".into()
    } else {
        title.trim().to_string()
    }
}

/// Open cases the viewer may see that share a party with the item (CPR by hash), those with a
/// proposed subject first.
async fn similar_open_cases(
    store: &Store,
    parties: &[Party],
    subjects: &[Proposed],
    viewer_groups: &[String],
) -> Result<Vec<SimilarCase>, StoreError> {
    let mut shared: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for kind in [PartyKind::Cpr, PartyKind::Cvr, PartyKind::Email] {
        let values: Vec<String> = parties
            .iter()
            .filter(|p| p.kind == kind)
            .map(|p| p.value.clone())
            .collect();
        if values.is_empty() {
            continue;
        }
        for (case_id, party) in store.cases_by_party(kind, &values).await? {
            shared.entry(case_id).or_default().push(party.display);
        }
    }
    let ids: Vec<String> = shared.keys().cloned().collect();
    let cases: Vec<Case> = store
        .cases(&ids)
        .await?
        .into_iter()
        .filter(|c| c.status == CaseStatus::Open && c.visible_to(viewer_groups))
        .collect();
    let mut similar: Vec<SimilarCase> = cases
        .into_iter()
        .map(|case| SimilarCase {
            same_subject: case
                .kle
                .as_ref()
                .is_some_and(|kle| subjects.iter().any(|s| &s.number == kle)),
            shared_parties: shared.remove(&case.id).unwrap_or_default(),
            id: case.id,
            number: case.number,
            title: case.title,
            kle: case.kle,
        })
        .collect();
    similar.sort_by(|a, b| {
        b.same_subject
            .cmp(&a.same_subject)
            .then_with(|| a.id.cmp(&b.id))
    });
    similar.truncate(SIMILAR);
    Ok(similar)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn title(values: &[(&str, &str)]) -> String {
        let values: Vec<(&str, String)> = values.iter().map(|(k, v)| (*k, v.to_string())).collect();
        render_title("{kle_title} – {party} – {subject}", &values)
    }

    #[test]
    fn the_naming_pattern_leaves_out_empty_parts_with_their_separator() {
        assert_eq!(
            title(&[
                ("kle_title", "Byggesager"),
                ("party", "Ole Hansen"),
                ("subject", "Carport")
            ]),
            "Byggesager – Ole Hansen – Carport"
        );
        assert_eq!(
            title(&[("kle_title", ""), ("party", "Ole"), ("subject", "Carport")]),
            "Ole – Carport"
        );
        assert_eq!(
            title(&[
                ("kle_title", "Byggesager"),
                ("party", ""),
                ("subject", "Carport")
            ]),
            "Byggesager – Carport"
        );
        assert_eq!(
            title(&[
                ("kle_title", "Byggesager"),
                ("party", "Ole"),
                ("subject", "")
            ]),
            "Byggesager – Ole"
        );
        assert_eq!(title(&[]), "Ny sag");
        assert_eq!(
            render_title(
                "Sag: {subject} ({kle})",
                &[("subject", "Carport".into()), ("kle", "02.34.02".into())]
            ),
            "Sag: Carport (02.34.02)"
        );
    }

    #[test]
    fn a_title_never_shows_a_cpr_number_or_a_line_break_and_fits_records_systems() {
        let made = title(&[("subject", "Vedr. 111111-1118\nflytning")]);
        assert_eq!(made, "Vedr. 111111-XXXX flytning");
        let long = "a".repeat(400);
        assert_eq!(
            title(&[("subject", &long)]).chars().count(),
            MAX_TITLE_CHARS
        );
    }
}
