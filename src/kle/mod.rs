//! KL's classification of municipal tasks (KLE): the organisation's subject plan and action
//! facets, imported from KLE-XML and kept with their history.
//!
//! A newer plan updates the one imported before: changed titles and guidance are taken over,
//! and a subject the new plan marks as removed or moved, or no longer lists, stays in the store
//! marked as history. Cases keep the numbers they were given whatever the plan does.

pub mod rank;
mod xml;

use std::path::Path;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

pub use xml::{Invalid, Strictness, read_plan};

use crate::store::{Store, StoreError};

/// Which of KL's two files a plan is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanKind {
    /// `KLE-Emneplan`: main groups, groups and subjects.
    Subjects,
    /// `KLE-Handlingsfacetter`: facet categories and facets.
    Facets,
}

impl PlanKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PlanKind::Subjects => "subjects",
            PlanKind::Facets => "facets",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// `HH`
    MainGroup,
    /// `HH.GG`
    Group,
    /// `HH.GG.EE`
    Subject,
    /// `A`, `P`, `S`, `Ø`, `G`, `K`, `I`
    FacetCategory,
    /// `A00`
    Facet,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::MainGroup => "main_group",
            Level::Group => "group",
            Level::Subject => "subject",
            Level::FacetCategory => "facet_category",
            Level::Facet => "facet",
        }
    }

    pub fn parse(text: &str) -> Option<Level> {
        [
            Level::MainGroup,
            Level::Group,
            Level::Subject,
            Level::FacetCategory,
            Level::Facet,
        ]
        .into_iter()
        .find(|level| level.as_str() == text)
    }
}

/// Why an entry is no longer in force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum History {
    /// KL marked it as gone (`UdgaaetDato`).
    Removed { since: NaiveDate },
    /// KL moved it (`Flyttet`), to the numbers that replace it.
    Moved {
        since: NaiveDate,
        replaced_by: Vec<String>,
    },
    /// A newer plan, published on `since`, no longer lists it.
    Absent { since: NaiveDate },
}

/// One main group, group, subject, facet category or facet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    pub number: String,
    pub level: Level,
    pub parent: Option<String>,
    pub title: String,
    /// KL's guidance, as plain words.
    pub guidance: String,
    pub created: Option<NaiveDate>,
    pub changed: Option<NaiveDate>,
    pub history: Option<History>,
}

/// One file's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub kind: PlanKind,
    pub published: NaiveDate,
    pub entries: Vec<Entry>,
}

/// What an import changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportSummary {
    pub added: usize,
    pub changed: usize,
    pub unchanged: usize,
    /// Entries that became history with this plan (removed, moved or no longer listed).
    pub now_historic: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum KleError {
    // The causes are not `source`s: the message already holds them, and error chains would
    // print them twice.
    #[error("cannot read {path}: {reason}")]
    Read {
        path: String,
        reason: std::io::Error,
    },
    #[error("{path}: {reason}")]
    Invalid { path: String, reason: Invalid },
    #[error("{path} is a {found} plan, expected a {expected} plan")]
    WrongKind {
        path: String,
        found: &'static str,
        expected: &'static str,
    },
    #[error(
        "the {kind} plan published {published} is older than the one imported ({imported}); import the newer plan"
    )]
    Older {
        kind: &'static str,
        published: NaiveDate,
        imported: NaiveDate,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Reads a KLE-XML file and checks that it is the plan expected.
pub fn read_file(
    path: &Path,
    expected: PlanKind,
    strictness: Strictness,
) -> Result<Plan, KleError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|reason| KleError::Read {
        path: name.clone(),
        reason,
    })?;
    let plan = read_plan(&text, strictness).map_err(|reason| KleError::Invalid {
        path: name.clone(),
        reason,
    })?;
    if plan.kind != expected {
        return Err(KleError::WrongKind {
            path: name,
            found: plan.kind.as_str(),
            expected: expected.as_str(),
        });
    }
    Ok(plan)
}

/// Brings the store's plan of `plan.kind` up to `plan`; an older plan than the one imported
/// is refused.
pub async fn import(store: &Store, plan: &Plan) -> Result<ImportSummary, KleError> {
    store
        .import_kle_plan(plan)
        .await?
        .map_err(|imported| KleError::Older {
            kind: plan.kind.as_str(),
            published: plan.published,
            imported,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn openesdh(name: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/data/kle/openesdh")
            .join(name)
    }

    fn excerpt(name: &str, kind: PlanKind) -> Plan {
        read_file(&openesdh(name), kind, Strictness::Excerpt).unwrap()
    }

    #[tokio::test]
    async fn the_changed_plan_takes_over_the_titles() {
        let store = crate::store::test_store().await;
        let first = import(
            &store,
            &excerpt("test-kle-emneplan.xml", PlanKind::Subjects),
        )
        .await
        .unwrap();
        assert_eq!(first.added, 3);
        let again = import(
            &store,
            &excerpt("test-kle-emneplan.xml", PlanKind::Subjects),
        )
        .await
        .unwrap();
        assert_eq!((again.added, again.changed, again.unchanged), (0, 0, 3));
        let changed = import(
            &store,
            &excerpt("test-kle-emneplan-changed.xml", PlanKind::Subjects),
        )
        .await
        .unwrap();
        assert_eq!((changed.changed, changed.now_historic), (3, 0));
        let subject = store.kle_entry("00.01.00").await.unwrap().unwrap();
        assert_eq!(subject.title, "Kommunens styrelse i almindelighed-CHANGED");
        assert_eq!(subject.history, None);

        import(&store, &excerpt("test-kle-facetter.xml", PlanKind::Facets))
            .await
            .unwrap();
        let facets = import(
            &store,
            &excerpt("test-kle-facetter-changed.xml", PlanKind::Facets),
        )
        .await
        .unwrap();
        assert_eq!(facets.changed, 2);
        let facet = store.kle_entry("A00").await.unwrap().unwrap();
        assert_eq!(facet.title, "Organisering mv. i almindelighed-CHANGED");
        // The facet plan does not touch the subjects.
        assert!(store.kle_entry("00.01.00").await.unwrap().is_some());
    }

    #[tokio::test]
    async fn a_plan_of_the_wrong_kind_or_an_older_plan_is_refused() {
        let wrong = read_file(
            &openesdh("test-kle-facetter.xml"),
            PlanKind::Subjects,
            Strictness::Excerpt,
        )
        .unwrap_err()
        .to_string();
        assert!(
            wrong.ends_with("is a facets plan, expected a subjects plan"),
            "{wrong}"
        );

        let store = crate::store::test_store().await;
        let mut plan = excerpt("test-kle-emneplan.xml", PlanKind::Subjects);
        import(&store, &plan).await.unwrap();
        plan.published = NaiveDate::from_ymd_opt(2014, 1, 1).unwrap();
        let older = import(&store, &plan).await.unwrap_err().to_string();
        assert_eq!(
            older,
            "the subjects plan published 2014-01-01 is older than the one imported (2015-05-01); import the newer plan"
        );
    }

    /// A subject of a test plan, below its group.
    pub(super) fn subject(number: &str, title: &str, history: Option<History>) -> Entry {
        Entry {
            number: number.into(),
            level: Level::Subject,
            parent: Some(number[..5].into()),
            title: title.into(),
            guidance: String::new(),
            created: None,
            changed: None,
            history,
        }
    }

    #[tokio::test]
    async fn removed_moved_and_unlisted_subjects_stay_as_history() {
        let store = crate::store::test_store().await;
        let day = |m, d| NaiveDate::from_ymd_opt(2016, m, d).unwrap();
        let first = Plan {
            kind: PlanKind::Subjects,
            published: day(1, 1),
            entries: vec![
                subject("90.01.00", "Bliver", None),
                subject("90.01.02", "Udgår", None),
                subject("90.01.04", "Flyttes", None),
                subject("90.01.06", "Forsvinder", None),
            ],
        };
        import(&store, &first).await.unwrap();
        let second = Plan {
            kind: PlanKind::Subjects,
            published: day(6, 1),
            entries: vec![
                subject("90.01.00", "Bliver", None),
                subject(
                    "90.01.02",
                    "Udgår",
                    Some(History::Removed { since: day(5, 1) }),
                ),
                subject(
                    "90.01.04",
                    "Flyttes",
                    Some(History::Moved {
                        since: day(5, 1),
                        replaced_by: vec!["90.02.01".into()],
                    }),
                ),
                subject("90.02.01", "Ny plads", None),
            ],
        };
        let summary = import(&store, &second).await.unwrap();
        assert_eq!(
            summary,
            ImportSummary {
                added: 1,
                changed: 2,
                unchanged: 1,
                now_historic: 3
            }
        );
        let history = |number: &'static str| {
            let store = store.clone();
            async move { store.kle_entry(number).await.unwrap().unwrap().history }
        };
        assert_eq!(history("90.01.00").await, None);
        assert_eq!(
            history("90.01.02").await,
            Some(History::Removed { since: day(5, 1) })
        );
        assert_eq!(
            history("90.01.04").await,
            Some(History::Moved {
                since: day(5, 1),
                replaced_by: vec!["90.02.01".into()]
            })
        );
        assert_eq!(
            history("90.01.06").await,
            Some(History::Absent { since: day(6, 1) })
        );
        // Importing the same plan again changes nothing, and an absent subject stays absent
        // from the day it went.
        let again = import(&store, &second).await.unwrap();
        assert_eq!((again.changed, again.now_historic), (0, 0));
        assert_eq!(
            history("90.01.06").await,
            Some(History::Absent { since: day(6, 1) })
        );
        let in_force: Vec<String> = store
            .kle_entries(PlanKind::Subjects)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.history.is_none())
            .map(|e| e.number)
            .collect();
        assert_eq!(in_force, ["90.01.00", "90.02.01"]);
        let found = |words: &[&str]| {
            let store = store.clone();
            let words: Vec<String> = words.iter().map(|w| w.to_string()).collect();
            async move {
                let entries = store.search_kle(Level::Subject, &words, 10).await.unwrap();
                entries.into_iter().map(|e| e.number).collect::<Vec<_>>()
            }
        };
        assert_eq!(found(&["90.01"]).await, ["90.01.00"]);
        assert_eq!(found(&["NY", "plads"]).await, ["90.02.01"]);
        assert_eq!(found(&["flyttes"]).await, Vec::<String>::new());
    }
}
