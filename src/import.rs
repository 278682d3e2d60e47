//! Loads cases from files (JSON or CSV) and from connectors into the store and the index.

use std::path::Path;

use indicatif::{ProgressBar, ProgressStyle};

use crate::domain::case::{Case, CaseInput, PartyInput};
use crate::domain::identifiers::CprHasher;
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
    bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[')
}

/// One row of an import as read, before anything is written: the case, or what is wrong
/// with it. Rows count from 1 for JSON members and from 2 (after the header) for CSV lines,
/// as a spreadsheet shows them.
#[derive(Debug)]
pub struct RowRead {
    pub row: usize,
    pub input: Result<CaseInput, String>,
}

/// Every row of an upload, each read on its own so that all the bad ones are named at once;
/// an error only when the whole is unreadable (not a JSON array, no CSV header).
pub fn read_rows(bytes: &[u8], json: bool) -> Result<Vec<RowRead>, String> {
    if json {
        let members: Vec<serde_json::Value> =
            serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        return Ok(members
            .into_iter()
            .enumerate()
            .map(|(at, member)| RowRead {
                row: at + 1,
                input: serde_json::from_value(member).map_err(|e| e.to_string()),
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
    reader.headers().map_err(|e| e.to_string())?;
    let rows = reader
        .deserialize::<CsvRow>()
        .enumerate()
        .map(|(line, row)| RowRead {
            row: line + 2,
            input: row.map_err(|e| e.to_string()).and_then(csv_case),
        })
        .collect();
    Ok(rows)
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
    }
}
