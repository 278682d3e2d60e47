//! The library's columns: a case read from its folder's, a document's written.

use serde_json::{Map, Value};

use super::{ConnectorError, TARGET};
use crate::config::SharepointColumns;
use crate::connector::Direction;
use crate::domain::case::{CaseInput, PartyInput};

/// Sets a column, unless the library has none by that name.
pub(super) fn set(fields: &mut Map<String, Value>, column: &str, value: &str) {
    if !column.is_empty() {
        fields.insert(column.to_string(), Value::String(value.to_string()));
    }
}

/// A direction as Danish records systems name it.
pub(super) fn direction(direction: Direction) -> &'static str {
    match direction {
        Direction::Incoming => "Indgående",
        Direction::Outgoing => "Udgående",
        Direction::Internal => "Intern",
    }
}

/// The case a folder (a driveItem with its list item's fields) is: its name is the case id;
/// number and title fall back to the name where the columns are empty.
pub(super) fn case(columns: &SharepointColumns, item: &Value) -> Result<CaseInput, ConnectorError> {
    let name = item["name"].as_str().unwrap_or_default();
    if name.is_empty() {
        return Err(ConnectorError::Transient(format!(
            "{TARGET}: unreadable answer: a folder without a name"
        )));
    }
    let empty = Map::new();
    let fields = item
        .pointer("/listItem/fields")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let text = |column: &str| -> Option<String> {
        if column.is_empty() {
            return None;
        }
        let value = match fields.get(column)? {
            Value::String(text) => text.trim().to_string(),
            Value::Array(values) => values
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(";"),
            Value::Number(number) => number.to_string(),
            _ => return None,
        };
        Some(value).filter(|v| !v.is_empty())
    };
    let parties = match text(&columns.parties) {
        Some(parties) => PartyInput::parse_list(&parties).map_err(|index| {
            ConnectorError::Permanent(format!(
                "{TARGET}: case folder {name:?}: party {index} in {:?} is not kind:value",
                columns.parties
            ))
        })?,
        None => Vec::new(),
    };
    let groups = text(&columns.groups)
        .map(|groups| {
            groups
                .split([';', ','])
                .map(str::trim)
                .filter(|g| !g.is_empty())
                .map(String::from)
                .collect()
        })
        .unwrap_or_default();
    let opened = item["createdDateTime"]
        .as_str()
        .and_then(|created| created.get(..10))
        .map(String::from);
    Ok(CaseInput {
        id: name.to_string(),
        number: text(&columns.case_number).unwrap_or_else(|| name.to_string()),
        title: text("Title").unwrap_or_else(|| name.to_string()),
        kle: text(&columns.kle),
        facet: text(&columns.facet),
        status: text(&columns.status).unwrap_or_else(|| "open".into()),
        parties,
        groups,
        opened,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_folder_is_a_case_with_its_columns() {
        let folder = json!({
            "name": "BYG-2026-0012", "folder": {"childCount": 2},
            "createdDateTime": "2026-03-02T08:15:00Z",
            "listItem": {"id": "7", "fields": {
                "Title": "Carport, Skovvej 12", "Sagsnummer": "02.34.02-G01-12-26",
                "KLE": "02.34.02", "Facet": "G01", "Sagsstatus": "Lukket",
                "Parter": "cvr:29189846; email:ejer@skovvej.example", "Adgang": ["Byg", "Plan"]
            }}
        });
        let case = case(&SharepointColumns::default(), &folder).unwrap();
        assert_eq!(case.id, "BYG-2026-0012");
        assert_eq!(case.number, "02.34.02-G01-12-26");
        assert_eq!(case.title, "Carport, Skovvej 12");
        assert_eq!(case.kle.as_deref(), Some("02.34.02"));
        assert_eq!(case.status, "Lukket");
        assert_eq!(case.parties.len(), 2);
        assert_eq!(case.parties[0].kind, "cvr");
        assert_eq!(case.groups, ["Byg", "Plan"]);
        assert_eq!(case.opened.as_deref(), Some("2026-03-02"));
    }

    #[test]
    fn a_folder_made_by_hand_is_a_case_named_after_it() {
        let folder = json!({"name": "Referater 2026", "folder": {}, "listItem": {"fields": {}}});
        let case = case(&SharepointColumns::default(), &folder).unwrap();
        assert_eq!(
            (case.number.as_str(), case.title.as_str()),
            ("Referater 2026", "Referater 2026")
        );
        assert_eq!(case.status, "open");
    }

    #[test]
    fn a_malformed_party_never_shows_its_value() {
        let folder = json!({"name": "S", "listItem": {"fields": {"Parter": "0101701234"}}});
        let Err(ConnectorError::Permanent(message)) = case(&SharepointColumns::default(), &folder)
        else {
            panic!("a malformed party is refused");
        };
        assert!(!message.contains("0101701234"), "{message}");
    }
}
