//! The webhook's JSON body: a JSON template whose strings name `{placeholders}`, checked once
//! at start and filled per filing, so values are always escaped as JSON.

use serde_json::Value;

/// What a template may name. `{attachments}` stands for an array, so it must be a whole
/// string; the others are text and may sit inside one (`"Sag {case_number}"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placeholder {
    CaseId,
    CaseNumber,
    CaseTitle,
    Title,
    Direction,
    Date,
    IdempotencyKey,
    FileName,
    ContentType,
    ContentBase64,
    FiledBy,
    Attachments,
    /// The target's id of the document this one is a new version of, or null.
    VersionOf,
    /// 1 for a document of its own, n for the n-th version.
    Version,
}

impl Placeholder {
    const ALL: [(&'static str, Placeholder); 14] = [
        ("case_id", Placeholder::CaseId),
        ("case_number", Placeholder::CaseNumber),
        ("case_title", Placeholder::CaseTitle),
        ("title", Placeholder::Title),
        ("direction", Placeholder::Direction),
        ("date", Placeholder::Date),
        ("idempotency_key", Placeholder::IdempotencyKey),
        ("file_name", Placeholder::FileName),
        ("content_type", Placeholder::ContentType),
        ("content_base64", Placeholder::ContentBase64),
        ("filed_by", Placeholder::FiledBy),
        ("attachments", Placeholder::Attachments),
        ("version_of", Placeholder::VersionOf),
        ("version", Placeholder::Version),
    ];

    fn parse(name: &str) -> Option<Placeholder> {
        Self::ALL
            .iter()
            .find(|(known, _)| *known == name)
            .map(|(_, placeholder)| *placeholder)
    }
}

/// The body sent when none is configured.
pub const DEFAULT_BODY: &str = r#"{
  "case": {"id": "{case_id}", "number": "{case_number}"},
  "document": {
    "title": "{title}", "direction": "{direction}", "date": "{date}",
    "file_name": "{file_name}", "content_type": "{content_type}", "content_base64": "{content_base64}",
    "version_of": "{version_of}", "version": "{version}"
  },
  "attachments": "{attachments}",
  "idempotency_key": "{idempotency_key}",
  "filed_by": "{filed_by}"
}"#;

/// A checked template.
#[derive(Debug, Clone)]
pub struct BodyTemplate(Node);

#[derive(Debug, Clone)]
enum Node {
    Literal(Value),
    Whole(Placeholder),
    Text(Vec<Piece>),
    Array(Vec<Node>),
    Object(Vec<(String, Node)>),
}

#[derive(Debug, Clone)]
enum Piece {
    Literal(String),
    Placeholder(Placeholder),
}

impl BodyTemplate {
    pub fn parse(text: &str) -> Result<BodyTemplate, String> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| format!("body is not JSON: {e}"))?;
        compile(value).map(BodyTemplate)
    }

    /// The body for one filing; `value` gives each placeholder's value.
    pub fn render(&self, value: &impl Fn(Placeholder) -> Value) -> Value {
        render(&self.0, value)
    }
}

fn compile(value: Value) -> Result<Node, String> {
    Ok(match value {
        Value::String(text) => {
            let pieces = pieces(&text)?;
            match pieces[..] {
                [Piece::Placeholder(placeholder)] => Node::Whole(placeholder),
                _ if pieces
                    .iter()
                    .any(|p| matches!(p, Piece::Placeholder(Placeholder::Attachments))) =>
                {
                    return Err(format!(
                        "{{attachments}} is an array and must be a whole string, not part of {text:?}"
                    ));
                }
                _ => Node::Text(pieces),
            }
        }
        Value::Array(items) => {
            Node::Array(items.into_iter().map(compile).collect::<Result<_, _>>()?)
        }
        Value::Object(fields) => Node::Object(
            fields
                .into_iter()
                .map(|(key, value)| Ok((key, compile(value)?)))
                .collect::<Result<_, String>>()?,
        ),
        other => Node::Literal(other),
    })
}

/// Splits a string into text and placeholders; `{{` and `}}` stand for braces.
fn pieces(text: &str) -> Result<Vec<Piece>, String> {
    let mut pieces = Vec::new();
    let mut literal = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                literal.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                literal.push('}');
            }
            '{' => {
                let name: String = chars.by_ref().take_while(|c| *c != '}').collect();
                let placeholder = Placeholder::parse(&name).ok_or_else(|| {
                    let known: Vec<_> = Placeholder::ALL.iter().map(|(n, _)| *n).collect();
                    format!(
                        "unknown placeholder {{{name}}} in {text:?} (known: {}; write {{{{ for a brace)",
                        known.join(", ")
                    )
                })?;
                if !literal.is_empty() {
                    pieces.push(Piece::Literal(std::mem::take(&mut literal)));
                }
                pieces.push(Piece::Placeholder(placeholder));
            }
            '}' => return Err(format!("a lone }} in {text:?} (write }}}} for a brace)")),
            _ => literal.push(c),
        }
    }
    if !literal.is_empty() || pieces.is_empty() {
        pieces.push(Piece::Literal(literal));
    }
    Ok(pieces)
}

fn render(node: &Node, value: &impl Fn(Placeholder) -> Value) -> Value {
    match node {
        Node::Literal(literal) => literal.clone(),
        Node::Whole(placeholder) => value(*placeholder),
        Node::Text(pieces) => {
            let mut text = String::new();
            for piece in pieces {
                match piece {
                    Piece::Literal(literal) => text.push_str(literal),
                    Piece::Placeholder(placeholder) => match value(*placeholder) {
                        Value::String(s) => text.push_str(&s),
                        other => text.push_str(&other.to_string()),
                    },
                }
            }
            Value::String(text)
        }
        Node::Array(items) => Value::Array(items.iter().map(|n| render(n, value)).collect()),
        Node::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(key, node)| (key.clone(), render(node, value)))
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn values(placeholder: Placeholder) -> Value {
        match placeholder {
            Placeholder::CaseNumber => json!("02.34.02-G01-7-26"),
            Placeholder::Title => json!("Ansøgning \"carport\""),
            Placeholder::Attachments => json!([{"name": "tegning.pdf"}]),
            other => json!(format!("{other:?}")),
        }
    }

    #[test]
    fn placeholders_are_filled_and_escaped_as_json() {
        let template = BodyTemplate::parse(
            r#"{"sag": "Sag {case_number}", "titel": "{title}", "n": 3, "bilag": "{attachments}",
                "tekst": "{{ikke en pladsholder}}", "liste": ["{filed_by}"]}"#,
        )
        .unwrap();
        assert_eq!(
            template.render(&values),
            json!({"sag": "Sag 02.34.02-G01-7-26", "titel": "Ansøgning \"carport\"", "n": 3,
                   "bilag": [{"name": "tegning.pdf"}], "tekst": "{ikke en pladsholder}",
                   "liste": ["FiledBy"]})
        );
    }

    #[test]
    fn the_default_body_names_only_known_placeholders() {
        let body = BodyTemplate::parse(DEFAULT_BODY).unwrap().render(&values);
        assert_eq!(body["document"]["title"], "Ansøgning \"carport\"");
        assert!(body["attachments"].is_array());
    }

    #[test]
    fn mistakes_are_found_at_start() {
        for (template, expected) in [
            (
                r#"{"a": "{case_nummer}"}"#,
                "unknown placeholder {case_nummer}",
            ),
            (r#"{"a": "bilag: {attachments}"}"#, "whole string"),
            (r#"{"a": "x}"}"#, "lone"),
            ("{a: 1}", "not JSON"),
        ] {
            let err = BodyTemplate::parse(template).unwrap_err();
            assert!(err.contains(expected), "{template}: {err}");
        }
    }
}
