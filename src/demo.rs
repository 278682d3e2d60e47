//! A small Danish demo organisation (Vejstrand Kommune) for trying the product on an empty
//! store: cases with KLE numbers and parties, and documents already filed on them through the
//! ordinary filing path.

use serde::Deserialize;

use crate::auth::User;
use crate::connector::ARCHIVE;
use crate::domain::case::CaseInput;
use crate::extract::Format;
use crate::filing::{FilingOrder, accept};
use crate::import::import_cases;
use crate::server::Services;

const CASES: &str = include_str!("demo/cases.json");
const DOCUMENTS: &str = include_str!("demo/documents.json");

/// The user the demo documents are filed as.
pub const DEMO_USER: &str = "demo";

#[derive(Deserialize)]
struct DemoAddress {
    name: String,
    email: String,
}

#[derive(Deserialize)]
struct DemoDocument {
    case_id: String,
    title: String,
    from: Option<DemoAddress>,
    #[serde(default)]
    to: Vec<DemoAddress>,
    date: String,
    message_id: Option<String>,
    text: String,
}

/// Seeds the demo organisation if the store has no cases yet. Returns whether it did.
pub async fn seed_if_empty(services: &Services) -> anyhow::Result<bool> {
    if services.store.count_cases().await? > 0 {
        return Ok(false);
    }
    let cases: Vec<CaseInput> = serde_json::from_str(CASES)?;
    let mut groups: Vec<String> = cases.iter().flat_map(|c| c.groups.clone()).collect();
    groups.sort();
    groups.dedup();
    import_cases(
        &services.store,
        &services.index,
        &services.extractor.cpr_hasher,
        ARCHIVE,
        cases,
        crate::import::Parties::Replace,
        false,
    )
    .await?;

    let user = User {
        id: DEMO_USER.into(),
        name: "Demo".into(),
        groups,
        admin: false,
    };
    let documents: Vec<DemoDocument> = serde_json::from_str(DOCUMENTS)?;
    for document in &documents {
        let (bytes, format) = match &document.message_id {
            Some(message_id) => (mail_bytes(document, message_id), Format::Mail),
            None => (document.text.clone().into_bytes(), Format::Text),
        };
        let (item, _) = services
            .intake
            .receive(&services.store, &user.id, bytes.into(), format)
            .await?;
        let order = FilingOrder {
            item_id: &item.id,
            case_id: &document.case_id,
            title: Some(&document.title),
            attachments: &[],
        };
        accept(&services.store, &services.suggester, &user, order).await?;
    }
    tracing::info!(documents = documents.len(), "demo organisation seeded");
    Ok(true)
}

/// A plain RFC 822 message for a demo mail, so that it is filed and threaded like a real one.
fn mail_bytes(document: &DemoDocument, message_id: &str) -> Vec<u8> {
    let address = |a: &DemoAddress| format!("{} <{}>", encode_word(&a.name), a.email);
    let date = chrono::DateTime::parse_from_rfc3339(&document.date)
        .map(|d| d.to_rfc2822())
        .unwrap_or_default();
    let mut out = String::new();
    if let Some(from) = &document.from {
        out.push_str(&format!("From: {}\r\n", address(from)));
    }
    if !document.to.is_empty() {
        out.push_str(&format!(
            "To: {}\r\n",
            document
                .to
                .iter()
                .map(address)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    out.push_str(&format!(
        "Subject: {}\r\nDate: {date}\r\nMessage-ID: <{message_id}>\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{}\r\n",
        encode_word(&document.title),
        document.text.replace('\n', "\r\n")
    ));
    out.into_bytes()
}

/// RFC 2047 encoding for header text that is not plain ASCII.
fn encode_word(text: &str) -> String {
    if text.is_ascii() {
        return text.to_string();
    }
    use base64::Engine;
    format!(
        "=?utf-8?b?{}?=",
        base64::engine::general_purpose::STANDARD.encode(text)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_data_parses_and_every_document_has_its_case() {
        let cases: Vec<CaseInput> = serde_json::from_str(CASES).unwrap();
        let documents: Vec<DemoDocument> = serde_json::from_str(DOCUMENTS).unwrap();
        assert!(cases.len() >= 24);
        for document in &documents {
            assert!(
                cases.iter().any(|c| c.id == document.case_id),
                "{}",
                document.case_id
            );
        }
        let hasher = crate::domain::identifiers::CprHasher::new(b"k");
        for case in cases {
            case.into_case(ARCHIVE, &hasher).unwrap();
        }
    }
}
