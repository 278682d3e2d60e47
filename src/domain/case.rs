//! Cases as the service knows them, and the import form they arrive in.

use serde::{Deserialize, Serialize};

use super::identifiers::{
    CprHasher, CprNumber, CvrNumber, IdentifierPatterns, KleNumber, redact_cpr,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseStatus {
    Open,
    Closed,
}

impl CaseStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CaseStatus::Open => "open",
            CaseStatus::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<CaseStatus> {
        match s.trim().to_ascii_lowercase().as_str() {
            "open" | "åben" | "aaben" => Some(CaseStatus::Open),
            "closed" | "lukket" | "afsluttet" => Some(CaseStatus::Closed),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartyKind {
    Cpr,
    Cvr,
    Email,
    Name,
}

impl PartyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PartyKind::Cpr => "cpr",
            PartyKind::Cvr => "cvr",
            PartyKind::Email => "email",
            PartyKind::Name => "name",
        }
    }

    pub fn parse(s: &str) -> Option<PartyKind> {
        match s {
            "cpr" => Some(PartyKind::Cpr),
            "cvr" => Some(PartyKind::Cvr),
            "email" => Some(PartyKind::Email),
            "name" => Some(PartyKind::Name),
            _ => None,
        }
    }
}

/// A party as stored: `value` is what matching uses (the keyed hash for CPR), `display` what
/// people see (the masked form for CPR).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Party {
    pub kind: PartyKind,
    pub value: String,
    pub display: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Case {
    /// The case's id in its target system.
    pub id: String,
    /// Name of the connector instance the case lives in.
    pub connector: String,
    pub number: String,
    pub title: String,
    pub kle: Option<String>,
    pub facet: Option<String>,
    pub status: CaseStatus,
    pub parties: Vec<Party>,
    /// Groups allowed to see the case; empty means everyone in the organisation.
    pub groups: Vec<String>,
    /// `YYYY-MM-DD`.
    pub opened: Option<String>,
}

impl Case {
    pub fn visible_to(&self, groups: &[String]) -> bool {
        self.groups.is_empty() || self.groups.iter().any(|g| groups.contains(g))
    }
}

/// A case as it arrives from an import file or a connector, before validation.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseInput {
    pub id: String,
    pub number: String,
    pub title: String,
    #[serde(default)]
    pub kle: Option<String>,
    #[serde(default)]
    pub facet: Option<String>,
    #[serde(default = "default_status")]
    pub status: String,
    #[serde(default)]
    pub parties: Vec<PartyInput>,
    #[serde(default)]
    pub groups: Vec<String>,
    #[serde(default)]
    pub opened: Option<String>,
}

fn default_status() -> String {
    "open".into()
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartyInput {
    pub kind: String,
    pub value: String,
}

impl PartyInput {
    /// Parties written as `kind:value` pairs separated by `;` (`cvr:12345678; email:a@b.dk`),
    /// as CSV imports and records systems' text columns hold them. The error is the position
    /// of the pair that is not `kind:value`, never its text: it may be a CPR number.
    pub fn parse_list(text: &str) -> Result<Vec<PartyInput>, usize> {
        text.split(';')
            .map(str::trim)
            .filter(|pair| !pair.is_empty())
            .enumerate()
            .map(|(index, pair)| {
                let (kind, value) = pair.split_once(':').ok_or(index + 1)?;
                Ok(PartyInput {
                    kind: kind.trim().into(),
                    value: value.trim().into(),
                })
            })
            .collect()
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CaseError {
    #[error("case {id}: {field} is empty")]
    Empty { id: String, field: &'static str },
    #[error("case {id}: unknown status {status:?} (use open or closed)")]
    Status { id: String, status: String },
    #[error("case {id}: invalid KLE number {kle:?}")]
    Kle { id: String, kle: String },
    #[error("case {id}: unknown party kind {kind:?} (use cpr, cvr, email or name)")]
    PartyKind { id: String, kind: String },
    /// Never carries the rejected value: it may be a CPR number. `index` counts from 0; the
    /// message counts from 1, as people do.
    #[error("case {id}: party {} is not a valid {kind} number", index + 1)]
    PartyValue {
        id: String,
        index: usize,
        kind: &'static str,
    },
    #[error("case {id}: opened must be a date YYYY-MM-DD")]
    Opened { id: String },
    /// `id` is shown escaped: the control character must reach no log or terminal as it is.
    #[error("case {id}: {field} holds a control character (such as NUL or a line break)")]
    ControlCharacter { id: String, field: &'static str },
}

impl CaseError {
    /// The field of the input that is wrong.
    pub fn field(&self) -> &'static str {
        match self {
            CaseError::Empty { field, .. } | CaseError::ControlCharacter { field, .. } => field,
            CaseError::Status { .. } => "status",
            CaseError::Kle { .. } => "kle",
            CaseError::PartyKind { .. } | CaseError::PartyValue { .. } => "parties",
            CaseError::Opened { .. } => "opened",
        }
    }
}

impl CaseInput {
    /// An open case known only by id, number and title, as a folder or collection made by
    /// hand describes one.
    pub fn plain(
        id: impl Into<String>,
        number: impl Into<String>,
        title: impl Into<String>,
    ) -> CaseInput {
        CaseInput {
            id: id.into(),
            number: number.into(),
            title: title.into(),
            kle: None,
            facet: None,
            status: default_status(),
            parties: Vec::new(),
            groups: Vec::new(),
            opened: None,
        }
    }

    /// Validates the input and turns CPR numbers into keyed hashes.
    pub fn into_case(self, connector: &str, hasher: &CprHasher) -> Result<Case, CaseError> {
        let texts = [
            ("id", Some(self.id.as_str())),
            ("number", Some(self.number.as_str())),
            ("title", Some(self.title.as_str())),
            ("kle", self.kle.as_deref()),
            ("facet", self.facet.as_deref()),
            ("opened", self.opened.as_deref()),
        ];
        let groups = self.groups.iter().map(|g| ("groups", Some(g.as_str())));
        let parties = self.parties.iter().flat_map(|p| {
            [
                ("parties", Some(p.kind.as_str())),
                ("parties", Some(p.value.as_str())),
            ]
        });
        if let Some((field, _)) = texts
            .into_iter()
            .chain(groups)
            .chain(parties)
            .find(|(_, text)| text.is_some_and(|t| t.chars().any(char::is_control)))
        {
            return Err(CaseError::ControlCharacter {
                id: self.id.escape_debug().to_string(),
                field,
            });
        }
        let id = self.id.trim().to_string();
        if id.is_empty() {
            return Err(CaseError::Empty { id, field: "id" });
        }
        for (field, value) in [("number", &self.number), ("title", &self.title)] {
            if value.trim().is_empty() {
                return Err(CaseError::Empty { id, field });
            }
        }
        let status = CaseStatus::parse(&self.status).ok_or_else(|| CaseError::Status {
            id: id.clone(),
            status: self.status.clone(),
        })?;
        let kle = match self.kle.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            Some(kle) => Some(
                KleNumber::parse(kle)
                    .map_err(|_| CaseError::Kle {
                        id: id.clone(),
                        kle: kle.to_string(),
                    })?
                    .as_str()
                    .to_string(),
            ),
            None => None,
        };
        if let Some(opened) = &self.opened
            && chrono::NaiveDate::parse_from_str(opened, "%Y-%m-%d").is_err()
        {
            return Err(CaseError::Opened { id });
        }
        let mut parties = Vec::with_capacity(self.parties.len());
        for (index, party) in self.parties.into_iter().enumerate() {
            let kind = PartyKind::parse(party.kind.trim()).ok_or_else(|| CaseError::PartyKind {
                id: id.clone(),
                kind: party.kind.clone(),
            })?;
            let invalid = || CaseError::PartyValue {
                id: id.clone(),
                index,
                kind: kind.as_str(),
            };
            let value = party.value.trim();
            let parsed = match kind {
                PartyKind::Cpr => {
                    let cpr = CprNumber::parse(value).map_err(|_| invalid())?;
                    Party {
                        kind,
                        value: hasher.hash(&cpr),
                        display: cpr.masked(),
                    }
                }
                PartyKind::Cvr => {
                    let cvr = CvrNumber::parse(value).map_err(|_| invalid())?;
                    Party {
                        kind,
                        value: cvr.as_str().to_string(),
                        display: cvr.as_str().to_string(),
                    }
                }
                PartyKind::Email => {
                    if !value.contains('@') {
                        return Err(invalid());
                    }
                    let email = redact_cpr(&value.to_lowercase()).into_owned();
                    Party {
                        kind,
                        value: email.clone(),
                        display: email,
                    }
                }
                PartyKind::Name => {
                    if value.is_empty() {
                        return Err(invalid());
                    }
                    let name = redact_cpr(value);
                    Party {
                        kind,
                        value: name.to_lowercase(),
                        display: name.into_owned(),
                    }
                }
            };
            if !parties.contains(&parsed) {
                parties.push(parsed);
            }
        }
        // A CPR number in a title (common in social cases) becomes a hashed party, and the
        // title keeps only its masked form.
        for found in IdentifierPatterns::default().find(&self.title, hasher).cpr {
            let party = Party {
                kind: PartyKind::Cpr,
                value: found.hash,
                display: found.masked,
            };
            if !parties.contains(&party) {
                parties.push(party);
            }
        }
        let mut groups: Vec<String> = self
            .groups
            .iter()
            .map(|g| g.trim().to_string())
            .filter(|g| !g.is_empty())
            .collect();
        groups.sort();
        groups.dedup();
        Ok(Case {
            id,
            connector: connector.to_string(),
            number: self.number.trim().to_string(),
            title: redact_cpr(self.title.trim()).into_owned(),
            kle,
            facet: self
                .facet
                .map(|f| f.trim().to_uppercase())
                .filter(|f| !f.is_empty()),
            status,
            parties,
            groups,
            opened: self.opened,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(parties: Vec<(&str, &str)>) -> CaseInput {
        CaseInput {
            id: "S1".into(),
            number: "02.34.02-G01-1-26".into(),
            title: "Byggetilladelse".into(),
            kle: Some("02.34.02".into()),
            facet: Some("g01".into()),
            status: "open".into(),
            parties: parties
                .into_iter()
                .map(|(k, v)| PartyInput {
                    kind: k.into(),
                    value: v.into(),
                })
                .collect(),
            groups: vec!["byg".into(), "byg".into()],
            opened: Some("2026-01-02".into()),
        }
    }

    #[test]
    fn cpr_parties_are_kept_only_as_hash_and_mask() {
        let hasher = CprHasher::new(b"key");
        let case = input(vec![("cpr", "150385-1234")])
            .into_case("archive", &hasher)
            .unwrap();
        let party = &case.parties[0];
        assert_eq!(party.display, "150385-XXXX");
        assert!(!party.value.contains("1234"));
        assert_eq!(party.value.len(), 64);
        assert_eq!(case.groups, vec!["byg"]);
        assert_eq!(case.facet.as_deref(), Some("G01"));
    }

    #[test]
    fn invalid_party_errors_do_not_echo_the_value() {
        let hasher = CprHasher::new(b"key");
        let err = input(vec![("cpr", "999999-1234")])
            .into_case("archive", &hasher)
            .unwrap_err();
        assert!(!err.to_string().contains("999999"), "{err}");
        let err = input(vec![("cvr", "12345678")])
            .into_case("archive", &hasher)
            .unwrap_err();
        assert_eq!(
            err,
            CaseError::PartyValue {
                id: "S1".into(),
                index: 0,
                kind: "cvr"
            }
        );
    }

    #[test]
    fn a_cpr_number_in_the_title_becomes_a_hashed_party() {
        let hasher = CprHasher::new(b"key");
        let mut with_cpr = input(vec![("name", "Mette 150385-1234")]);
        with_cpr.title = "Hjælpemidler til 150385-1234".into();
        let case = with_cpr.into_case("archive", &hasher).unwrap();
        assert_eq!(case.title, "Hjælpemidler til 150385-XXXX");
        assert_eq!(case.parties[0].display, "Mette 150385-XXXX");
        let cpr = case
            .parties
            .iter()
            .find(|p| p.kind == PartyKind::Cpr)
            .unwrap();
        assert_eq!(
            cpr.value,
            hasher.hash(&CprNumber::parse("150385-1234").unwrap())
        );
    }

    #[test]
    fn unknown_status_is_rejected() {
        let mut case = input(vec![]);
        case.status = "maybe".into();
        assert!(matches!(
            case.into_case("archive", &CprHasher::new(b"k")),
            Err(CaseError::Status { .. })
        ));
    }

    #[test]
    fn control_characters_are_refused_and_never_echoed_raw() {
        let hasher = CprHasher::new(b"k");
        let mut nul = input(vec![]);
        nul.id = "S\u{0}1".into();
        let error = nul.into_case("archive", &hasher).unwrap_err();
        assert_eq!(
            error,
            CaseError::ControlCharacter {
                id: "S\\01".into(),
                field: "id"
            }
        );
        assert!(!error.to_string().contains('\u{0}'), "{error}");
        let mut bell = input(vec![("name", "Anna\u{7}")]);
        bell.title = "Byggetilladelse".into();
        assert!(matches!(
            bell.into_case("archive", &hasher),
            Err(CaseError::ControlCharacter {
                field: "parties",
                ..
            })
        ));
        let mut title = input(vec![]);
        title.title = "Byg\r\nSkovvej".into();
        assert!(matches!(
            title.into_case("archive", &hasher),
            Err(CaseError::ControlCharacter { field: "title", .. })
        ));
    }
}
