//! "Journalisér ved afsendelse": the case chosen while a mail is written is recorded under an
//! opaque reference, which the mail carries in a header; when its owner uploads the sent copy,
//! the auto-journalisation policy (`autofile`) files it on that case as an automatic decision.
//!
//! The sent copy reaches the service through the read pane opened on it in Sent Items (see
//! ARCHITECTURE.md); a copy that arrives another way, such as a journal mailbox in Bcc, meets
//! the same matcher.

use base64::Engine;

use super::FilingError;
use crate::auth::User;
use crate::store::{Intent, Store};

/// The header the compose pane sets on the outgoing mail. It travels to every recipient, so
/// it holds the random reference and nothing else.
pub const REFERENCE_HEADER: &str = "X-Journaliser-Ref";

/// 128 random bits: unguessable, and meaningless outside this service.
fn new_reference() -> String {
    let bytes: [u8; 16] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn plausible(reference: &str) -> bool {
    (16..=64).contains(&reference.len())
        && reference
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Records that `user` wants the mail being written filed on `case_id` once sent. A case the
/// user may not see is not found.
pub async fn record_intent(
    store: &Store,
    user: &User,
    case_id: &str,
    title: Option<&str>,
) -> Result<Intent, FilingError> {
    let case = store
        .visible_case(case_id, &user.groups)
        .await?
        .ok_or(FilingError::CaseNotFound)?;
    let title = super::checked_title(title)?;
    let intent = store
        .create_intent(&new_reference(), &user.id, &case.id, title.as_deref())
        .await?;
    tracing::info!(case = %case.id, "send intent recorded");
    Ok(intent)
}

/// The reference a mail carries, if it carries a well-formed one.
pub fn reference_in(mail: &[u8]) -> Option<String> {
    let message = mail_parser::MessageParser::default().parse_headers(mail)?;
    message
        .headers()
        .iter()
        .find(|header| header.name.as_str().eq_ignore_ascii_case(REFERENCE_HEADER))
        .and_then(|header| header.value.as_text())
        .map(str::trim)
        .filter(|reference| plausible(reference))
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_random_and_read_back_from_the_header() {
        let (one, two) = (new_reference(), new_reference());
        assert_ne!(one, two);
        assert!(plausible(&one), "{one}");
        let mail = format!(
            "From: a@b.example\r\nx-journaliser-ref:  {one}\r\nSubject: Hej\r\n\r\nTekst\r\n"
        );
        assert_eq!(reference_in(mail.as_bytes()), Some(one));
        for bad in [
            "kort",
            "mellemrum i referencen her",
            "<script>alert(1)</script>xxxxxxxx",
        ] {
            let mail = format!("{REFERENCE_HEADER}: {bad}\r\n\r\nx");
            assert_eq!(reference_in(mail.as_bytes()), None, "{bad}");
        }
        assert_eq!(reference_in(b"Subject: uden reference\r\n\r\nx"), None);
    }
}
