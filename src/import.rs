//! Loads cases from files (JSON or CSV) and from connectors into the store and the index;
//! `documents` loads the documents already on them.

pub mod documents;

use std::path::Path;

use indicatif::{ProgressBar, ProgressStyle};

use std::collections::HashMap;

use serde::Serialize;

use crate::domain::case::{Case, CaseError, CaseInput, PartyInput};
use crate::domain::identifiers::{CprHasher, redact_cpr};
use crate::store::{Store, StoreError};
use crate::suggest::{IndexError, SearchIndex};

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: String, message: String },
    #[error(transparent)]
    Case(#[from] crate::domain::case::CaseError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Index(#[from] IndexError),
}

/// Reads a JSON array of cases, or CSV with the columns `id, number, title, kle, facet,
/// status, parties, groups, opened`. In CSV, `parties` is `kind:value` pairs separated by `;`
/// and `groups` is names separated by `;`. The first bad row stops it.
pub fn read_cases(path: &Path) -> Result<Vec<CaseInput>, ImportError> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| ImportError::Read {
        path: name.clone(),
        source,
    })?;
    let json = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
        || looks_like_json(&bytes);
    let parse = |message: String| ImportError::Parse {
        path: name.clone(),
        message,
    };
    read_rows(&bytes, json)
        .map_err(parse)?
        .into_iter()
        .map(|row| {
            row.input
                .map_err(|e| parse(format!("row {}: {e}", row.row)))
        })
        .collect()
}

/// Whether an upload of cases is a JSON array rather than CSV.
pub fn looks_like_json(bytes: &[u8]) -> bool {
    without_bom(bytes).iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[')
}

/// The bytes without the UTF-8 byte order mark spreadsheets put before what they save.
fn without_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)
}

/// One row of an import as read, before anything is written: the case, or what is wrong
/// with it. Rows count from 1 for JSON members and from 2 (after the header) for CSV lines,
/// as a spreadsheet shows them. A reason never holds a CPR number but masked.
#[derive(Debug)]
pub struct RowRead {
    pub row: usize,
    /// The case id the row names, when that much of it can be read.
    pub id: Option<String>,
    pub input: Result<CaseInput, String>,
}

fn unreadable(error: impl std::fmt::Display) -> String {
    redact_cpr(&error.to_string()).into_owned()
}

/// Every row of an upload, each read on its own so that all the bad ones are named at once;
/// an error only when the whole is unreadable (not a JSON array, no CSV header).
pub fn read_rows(bytes: &[u8], json: bool) -> Result<Vec<RowRead>, String> {
    let bytes = without_bom(bytes);
    if let Err(error) = std::str::from_utf8(bytes) {
        return Err(format!(
            "the file is not UTF-8 text (from byte {}): save it as CSV UTF-8 or JSON",
            error.valid_up_to()
        ));
    }
    if json {
        let members: Vec<serde_json::Value> =
            serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        return Ok(members
            .into_iter()
            .enumerate()
            .map(|(at, member)| RowRead {
                row: at + 1,
                id: member
                    .get("id")
                    .and_then(serde_json::Value::as_str)
                    .map(String::from),
                input: serde_json::from_value(member).map_err(unreadable),
            })
            .collect());
    }
    read_csv(bytes)
}

#[derive(serde::Deserialize)]
struct CsvRow {
    id: String,
    number: String,
    title: String,
    #[serde(default)]
    kle: String,
    #[serde(default)]
    facet: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    parties: String,
    #[serde(default)]
    groups: String,
    #[serde(default)]
    opened: String,
}

fn read_csv(bytes: &[u8]) -> Result<Vec<RowRead>, String> {
    let delimiter = if bytes
        .split(|b| *b == b'\n')
        .next()
        .is_some_and(|h| h.contains(&b';') && !h.contains(&b','))
    {
        b';'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let headers = reader.headers().map_err(unreadable)?.clone();
    let id_column = headers.iter().position(|name| name == "id");
    let rows = reader
        .records()
        .enumerate()
        .map(|(at, record)| {
            let position = match &record {
                Ok(record) => record.position(),
                Err(error) => error.position(),
            };
            let row = position.map_or(at + 2, |p| line_of(bytes, p));
            let id = record
                .as_ref()
                .ok()
                .and_then(|r| r.get(id_column?))
                .filter(|id| !id.is_empty())
                .map(String::from);
            let input = record
                .and_then(|r| r.deserialize::<CsvRow>(Some(&headers)))
                .map_err(unreadable)
                .and_then(csv_case);
            RowRead { row, id, input }
        })
        .collect();
    Ok(rows)
}

/// The line a record starts on, which quoted line breaks move: the reader's position is
/// where it began to read, before the blank lines it skips.
fn line_of(bytes: &[u8], position: &csv::Position) -> usize {
    let start = usize::try_from(position.byte()).map_or(bytes.len(), |b| b.min(bytes.len()));
    let blank = bytes[start..]
        .iter()
        .take_while(|b| matches!(b, b'\n' | b'\r'))
        .filter(|b| **b == b'\n')
        .count();
    usize::try_from(position.line()).unwrap_or(usize::MAX) + blank
}

fn csv_case(row: CsvRow) -> Result<CaseInput, String> {
    let parties = PartyInput::parse_list(&row.parties)
        .map_err(|party| format!("party {party} is not kind:value"))?;
    let optional = |s: String| Some(s).filter(|s| !s.is_empty());
    Ok(CaseInput {
        id: row.id,
        number: row.number,
        title: row.title,
        kle: optional(row.kle),
        facet: optional(row.facet),
        status: optional(row.status).unwrap_or_else(|| "open".into()),
        parties,
        groups: row
            .groups
            .split(';')
            .map(str::trim)
            .filter(|g| !g.is_empty())
            .map(String::from)
            .collect(),
        opened: optional(row.opened),
    })
}

/// How an import treats parties the store already knows for a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parties {
    /// The import is the truth: parties not in it are removed (files from the case owner).
    Replace,
    /// Parties are added, never removed: a connector's case list may lack what an import
    /// brought (the file archive keeps no CPR numbers).
    Merge,
}

/// Validates every case first, so that one bad row stops the import before anything is
/// written; then stores and indexes them all.
pub async fn import_cases(
    store: &Store,
    index: &SearchIndex,
    hasher: &CprHasher,
    connector: &str,
    inputs: Vec<CaseInput>,
    parties: Parties,
    progress: bool,
) -> Result<usize, ImportError> {
    let mut cases = inputs
        .into_iter()
        .map(|input| input.into_case(connector, hasher))
        .collect::<Result<Vec<_>, _>>()?;
    let bar = if progress {
        ProgressBar::new(cases.len() as u64)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{msg} {bar:40} {pos}/{len} ({eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message("importing cases");
    for case in cases.iter_mut() {
        store_case(store, index, case, parties).await?;
        bar.inc(1);
    }
    index.commit()?;
    bar.finish_and_clear();
    Ok(cases.len())
}

/// Stores and indexes one case unless the store already holds it exactly so; says whether it
/// changed. The index still needs a commit afterwards.
///
/// With [`Parties::Merge`] the case is read as a connector lists it, which may know less than
/// the store: parties are added, never removed; KLE number, facet and opening date the listing
/// leaves out are kept; and a listing that names no groups keeps the groups the store has,
/// because a target that does not say who may see a case must not open it to everyone.
pub async fn store_case(
    store: &Store,
    index: &SearchIndex,
    case: &mut Case,
    parties: Parties,
) -> Result<bool, ImportError> {
    let known = store.case(&case.id).await?;
    if parties == Parties::Merge
        && let Some(known) = &known
    {
        for party in &known.parties {
            if !case.parties.contains(party) {
                case.parties.push(party.clone());
            }
        }
        if case.groups.is_empty() {
            case.groups = known.groups.clone();
        }
        for (listed, stored) in [
            (&mut case.kle, &known.kle),
            (&mut case.facet, &known.facet),
            (&mut case.opened, &known.opened),
        ] {
            if listed.is_none() {
                listed.clone_from(stored);
            }
        }
    }
    if known.as_ref().is_some_and(|known| same_case(known, case)) {
        return Ok(false);
    }
    store.upsert_case(case).await?;
    index.put_case(case)?;
    Ok(true)
}

/// What importing a case does: the store has no case by its id, holds it otherwise, or holds
/// it exactly so.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    New,
    Changed,
    Unchanged,
}

/// Why one row of an upload cannot be imported.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum RowError {
    /// The row is not a case at all (a missing column, a number where text belongs).
    #[error("{0}")]
    Unreadable(String),
    #[error(transparent)]
    Invalid(#[from] CaseError),
    #[error("case {id}: the same case is on row {first}")]
    Repeated { id: String, first: usize },
    /// Taking the case over would send its filings to another records system.
    #[error("case {id}: the case belongs to the connector {connector:?}")]
    OtherConnector { id: String, connector: String },
}

impl RowError {
    /// The kind of error by a stable name, for a page to say it in its own words.
    pub fn code(&self) -> &'static str {
        match self {
            RowError::Unreadable(_) => "unreadable",
            RowError::Invalid(error) => match error {
                CaseError::Empty { .. } => "empty",
                CaseError::Status { .. } => "status",
                CaseError::Kle { .. } => "kle",
                CaseError::PartyKind { .. } => "party_kind",
                CaseError::PartyValue { .. } => "party_value",
                CaseError::Opened { .. } => "opened",
                CaseError::ControlCharacter { .. } => "control_character",
            },
            RowError::Repeated { .. } => "repeated",
            RowError::OtherConnector { .. } => "other_connector",
        }
    }

    /// The field that is wrong, when it is one field.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            RowError::Invalid(error) => Some(error.field()),
            RowError::Repeated { .. } | RowError::OtherConnector { .. } => Some("id"),
            RowError::Unreadable(_) => None,
        }
    }
}

/// One row of an upload checked against the store: the case as it would be stored and what
/// storing it would do, or why it cannot be.
#[derive(Debug)]
pub struct RowPlan {
    pub row: usize,
    pub case_id: Option<String>,
    pub verdict: Result<(Case, Outcome), RowError>,
}

/// How many rows of a plan come to each outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub rows: usize,
    pub new: usize,
    pub changed: usize,
    pub unchanged: usize,
    pub errors: usize,
}

impl Counts {
    pub fn of(plans: &[RowPlan]) -> Counts {
        let mut counts = Counts {
            rows: plans.len(),
            ..Counts::default()
        };
        for plan in plans {
            match &plan.verdict {
                Ok((_, Outcome::New)) => counts.new += 1,
                Ok((_, Outcome::Changed)) => counts.changed += 1,
                Ok((_, Outcome::Unchanged)) => counts.unchanged += 1,
                Err(_) => counts.errors += 1,
            }
        }
        counts
    }
}

/// A row validated on its own, before the store is asked about it.
#[derive(Debug)]
pub struct RowChecked {
    row: usize,
    case_id: Option<String>,
    case: Result<Case, RowError>,
}

/// Validates every row for `connector` (CPU work: CPR numbers are hashed) and names the
/// later rows of a case that is on several.
pub fn check_rows(rows: Vec<RowRead>, connector: &str, hasher: &CprHasher) -> Vec<RowChecked> {
    let mut first_row: HashMap<String, usize> = HashMap::new();
    rows.into_iter()
        .map(|read| {
            let case = read
                .input
                .map_err(RowError::Unreadable)
                .and_then(|input| input.into_case(connector, hasher).map_err(RowError::from))
                .and_then(|case| match first_row.get(&case.id) {
                    Some(&first) => Err(RowError::Repeated {
                        id: case.id.clone(),
                        first,
                    }),
                    None => {
                        first_row.insert(case.id.clone(), read.row);
                        Ok(case)
                    }
                });
            RowChecked {
                row: read.row,
                case_id: case.as_ref().ok().map(|c| c.id.clone()).or(read.id),
                case,
            }
        })
        .collect()
}

/// What importing the checked rows into `connector` would do, by what the store holds now;
/// a file import is the truth about a case's parties ([`Parties::Replace`]).
pub async fn plan_rows(
    store: &Store,
    connector: &str,
    rows: Vec<RowChecked>,
) -> Result<Vec<RowPlan>, StoreError> {
    let ids: Vec<String> = rows
        .iter()
        .filter_map(|r| r.case.as_ref().ok().map(|c| c.id.clone()))
        .collect();
    let known: HashMap<String, Case> = store
        .cases(&ids)
        .await?
        .into_iter()
        .map(|case| (case.id.clone(), case))
        .collect();
    Ok(rows
        .into_iter()
        .map(|checked| {
            let verdict = checked.case.and_then(|case| match known.get(&case.id) {
                None => Ok((case, Outcome::New)),
                Some(known) if known.connector != connector => Err(RowError::OtherConnector {
                    id: case.id,
                    connector: known.connector.clone(),
                }),
                Some(known) if same_case(known, &case) => Ok((case, Outcome::Unchanged)),
                Some(_) => Ok((case, Outcome::Changed)),
            });
            RowPlan {
                row: checked.row,
                case_id: checked.case_id,
                verdict,
            }
        })
        .collect())
}

/// Stores and indexes the new and changed cases of a plan without errors, and commits the
/// index; a case someone stored the same meanwhile becomes unchanged.
pub async fn apply_plan(
    store: &Store,
    index: &SearchIndex,
    plans: &mut [RowPlan],
) -> Result<(), ImportError> {
    let mut written = false;
    for plan in plans.iter_mut() {
        if let Ok((case, outcome)) = &mut plan.verdict
            && *outcome != Outcome::Unchanged
        {
            if store_case(store, index, case, Parties::Replace).await? {
                written = true;
            } else {
                *outcome = Outcome::Unchanged;
            }
        }
    }
    if written {
        index.commit()?;
    }
    Ok(())
}

/// Equal but for the order of parties and groups, which targets list as they please.
fn same_case(a: &Case, b: &Case) -> bool {
    let normal = |case: &Case| {
        let mut case = case.clone();
        case.parties
            .sort_by(|x, y| (&x.value, &x.display).cmp(&(&y.value, &y.display)));
        case.groups.sort();
        case
    };
    normal(a) == normal(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_carry_parties_and_groups() {
        let csv = "id,number,title,kle,facet,status,parties,groups,opened\n\
                   S1,02.34.02-G01-1-26,Carport,02.34.02,G01,open,email:a@b.example; cvr:10000009,byg;plan,2026-01-02\n";
        let rows = read_csv(csv.as_bytes()).unwrap();
        let case = rows[0].input.as_ref().unwrap();
        assert_eq!(case.parties.len(), 2);
        assert_eq!(case.parties[1].kind, "cvr");
        assert_eq!(case.groups, ["byg", "plan"]);
    }

    #[test]
    fn semicolon_separated_csv_from_spreadsheets_is_read() {
        let csv = "id;number;title\nS1;1;Carport\n";
        let rows = read_csv(csv.as_bytes()).unwrap();
        assert_eq!(rows[0].input.as_ref().unwrap().title, "Carport");
    }

    #[test]
    fn every_bad_row_is_named_with_its_line() {
        let csv = "id,number,title,parties\nS1,1,Carport,nocolon\nS2,2,Garage,\nS3,3\n";
        let rows = read_csv(csv.as_bytes()).unwrap();
        let bad: Vec<usize> = rows
            .iter()
            .filter(|r| r.input.is_err())
            .map(|r| r.row)
            .collect();
        assert_eq!(bad, [2, 4]);
        assert!(rows[0].input.as_ref().unwrap_err().contains("kind:value"));
    }

    #[test]
    fn csv_rows_are_numbered_by_their_line_and_keep_their_id_when_bad() {
        let csv =
            "id,number,title,kle\n\nS1,1,Carport,\n\"S2\",2,\"Garage\nSkovvej\",\nS3,3,Skur,xx\n";
        let rows = read_csv(csv.as_bytes()).unwrap();
        assert_eq!(rows.iter().map(|r| r.row).collect::<Vec<_>>(), [3, 4, 6]);
        assert_eq!(rows[2].id.as_deref(), Some("S3"));
    }

    #[test]
    fn a_reason_never_holds_a_cpr_number() {
        let json = br#"[{"id": "S1", "number": "1", "title": "T", "parties": "cpr:150385-1234"}]"#;
        let rows = read_rows(json, true).unwrap();
        let reason = rows[0].input.as_ref().unwrap_err();
        assert!(
            !reason.contains("1234") && reason.contains("150385-XXXX"),
            "{reason}"
        );
    }

    fn csv_rows(text: &str) -> Vec<RowRead> {
        read_csv(text.as_bytes()).unwrap()
    }

    #[tokio::test]
    async fn a_plan_says_what_each_row_would_do_and_applying_it_does_that() {
        let store = crate::store::test_store().await;
        let index = SearchIndex::in_memory().unwrap();
        let hasher = CprHasher::new(b"key");
        let plan = |text: &str, connector: &str| {
            let rows = check_rows(csv_rows(text), connector, &hasher);
            let store = store.clone();
            let connector = connector.to_string();
            async move { plan_rows(&store, &connector, rows).await.unwrap() }
        };
        let first = "id,number,title,kle\nS1,1,Carport,02.34.02\nS2,2,Garage,\n";
        let mut plans = plan(first, "archive").await;
        assert_eq!(
            Counts::of(&plans),
            Counts {
                rows: 2,
                new: 2,
                ..Counts::default()
            }
        );
        apply_plan(&store, &index, &mut plans).await.unwrap();
        assert_eq!(
            store.case("S1").await.unwrap().unwrap().kle.as_deref(),
            Some("02.34.02")
        );

        let second = "id,number,title,kle\nS1,1,Carport,02.34.02\nS2,2,Garage og skur,\n\
                      S3,3,Skur,99\nS2,2,Garage,\nS4,4,Hegn,\n";
        let plans = plan(second, "archive").await;
        let verdicts: Vec<_> = plans
            .iter()
            .map(|p| {
                (
                    p.row,
                    p.case_id.clone(),
                    p.verdict.as_ref().map(|(_, o)| *o).map_err(RowError::code),
                )
            })
            .collect();
        let id = |s: &str| Some(s.to_string());
        assert_eq!(
            verdicts,
            [
                (2, id("S1"), Ok(Outcome::Unchanged)),
                (3, id("S2"), Ok(Outcome::Changed)),
                (4, id("S3"), Err("kle")),
                (5, id("S2"), Err("repeated")),
                (6, id("S4"), Ok(Outcome::New)),
            ]
        );
        assert_eq!(plans[2].verdict.as_ref().unwrap_err().field(), Some("kle"));
        assert_eq!(
            store.case("S2").await.unwrap().unwrap().title,
            "Garage",
            "a plan writes nothing"
        );

        let elsewhere = plan("id,number,title\nS1,1,Carport\n", "byg").await;
        assert_eq!(
            elsewhere[0].verdict.as_ref().unwrap_err(),
            &RowError::OtherConnector {
                id: "S1".into(),
                connector: "archive".into()
            }
        );
    }

    #[test]
    fn json_members_are_read_one_by_one() {
        let json = br#"[{"id": "S1", "number": "1", "title": "Carport"}, {"id": "S2"}]"#;
        let rows = read_rows(json, true).unwrap();
        assert!(rows[0].input.is_ok());
        assert_eq!(rows[1].row, 2);
        assert!(
            rows[1].input.as_ref().unwrap_err().contains("number"),
            "{rows:?}"
        );
        assert!(read_rows(b"{}", true).is_err());
        let with_bom = b"\xEF\xBB\xBF[{\"id\": \"S1\", \"number\": \"1\", \"title\": \"T\"}]";
        assert!(looks_like_json(with_bom));
        assert!(read_rows(with_bom, true).unwrap()[0].input.is_ok());
        let latin1 = b"id,number,title\nS1,1,Tilbygning p\xe5 Strandvejen\n";
        assert!(read_rows(latin1, false).unwrap_err().contains("UTF-8"));
    }
}
