//! Mail that no person wrote to the authority: auto-replies, out-of-office answers, delivery
//! reports, read receipts, bulk mail and newsletters. None of it is filed without a click.

use mail_parser::{HeaderValue, MessageParser};
use serde::Serialize;

/// Why a mail counts as machine-sent, by the header that says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AutoMail {
    /// `Auto-Submitted` other than `no` (RFC 3834): auto-replies and out-of-office answers.
    AutoSubmitted,
    /// `X-Auto-Response-Suppress`, which Exchange sets on its own automatic answers.
    AutoResponseSuppress,
    /// `Precedence: bulk`, `junk` or `list`.
    Bulk,
    /// `multipart/report` (RFC 6522): delivery status notifications and read receipts.
    Report,
    /// `List-Id` or `List-Unsubscribe` (RFC 2919, 2369): a mailing list or newsletter.
    List,
    /// From the mail system itself (`MAILER-DAEMON`, `postmaster`) with an empty return path.
    MailSystem,
}

impl AutoMail {
    pub fn as_str(self) -> &'static str {
        match self {
            AutoMail::AutoSubmitted => "auto_submitted",
            AutoMail::AutoResponseSuppress => "auto_response_suppress",
            AutoMail::Bulk => "bulk",
            AutoMail::Report => "report",
            AutoMail::List => "list",
            AutoMail::MailSystem => "mail_system",
        }
    }
}

/// The first sign in the headers of `mail` that it was sent by a machine, if any.
pub fn detect(mail: &[u8]) -> Option<AutoMail> {
    let message = MessageParser::default().parse_headers(mail)?;
    let text = |name: &str| -> Option<String> {
        message
            .headers()
            .iter()
            .find(|h| h.name.as_str().eq_ignore_ascii_case(name))
            .map(|h| match &h.value {
                HeaderValue::Text(t) => t.to_string(),
                HeaderValue::TextList(list) => list.join(","),
                HeaderValue::ContentType(ct) => match &ct.c_subtype {
                    Some(sub) => format!("{}/{}", ct.c_type, sub),
                    None => ct.c_type.to_string(),
                },
                _ => String::new(),
            })
            .map(|t| t.trim().to_ascii_lowercase())
    };
    let present = |name: &str| {
        message
            .headers()
            .iter()
            .any(|h| h.name.as_str().eq_ignore_ascii_case(name))
    };
    if text("Auto-Submitted").is_some_and(|v| !v.is_empty() && !v.starts_with("no")) {
        return Some(AutoMail::AutoSubmitted);
    }
    if present("X-Auto-Response-Suppress") {
        return Some(AutoMail::AutoResponseSuppress);
    }
    if text("Precedence").is_some_and(|v| ["bulk", "junk", "list"].contains(&v.as_str())) {
        return Some(AutoMail::Bulk);
    }
    if text("Content-Type").is_some_and(|v| v.starts_with("multipart/report")) {
        return Some(AutoMail::Report);
    }
    if present("List-Id") || present("List-Unsubscribe") {
        return Some(AutoMail::List);
    }
    let from_mail_system = message
        .from()
        .and_then(|from| from.first())
        .is_some_and(|a| {
            a.address().is_some_and(|address| {
                let local = address.split('@').next().unwrap_or("").to_ascii_lowercase();
                local == "mailer-daemon" || local == "postmaster"
            })
        });
    if from_mail_system {
        return Some(AutoMail::MailSystem);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mail(headers: &str) -> Vec<u8> {
        format!("From: anna@example.dk\r\nSubject: Hej\r\n{headers}\r\nTekst\r\n").into_bytes()
    }

    #[test]
    fn machine_sent_mail_is_known_by_its_headers() {
        let cases = [
            (
                "Auto-Submitted: auto-replied\r\n",
                Some(AutoMail::AutoSubmitted),
            ),
            ("Auto-Submitted: no\r\n", None),
            (
                "X-Auto-Response-Suppress: All\r\n",
                Some(AutoMail::AutoResponseSuppress),
            ),
            ("Precedence: bulk\r\n", Some(AutoMail::Bulk)),
            ("Precedence: first-class\r\n", None),
            (
                "Content-Type: multipart/report; report-type=delivery-status; boundary=x\r\n",
                Some(AutoMail::Report),
            ),
            ("List-Id: <nyhedsbrev.kommune.dk>\r\n", Some(AutoMail::List)),
            ("", None),
        ];
        for (headers, expected) in cases {
            assert_eq!(detect(&mail(headers)), expected, "{headers:?}");
        }
        let bounce = b"From: Mail Delivery System <MAILER-DAEMON@mx.example.dk>\r\nSubject: Undelivered\r\n\r\nx";
        assert_eq!(detect(bounce), Some(AutoMail::MailSystem));
    }

    /// The delivery reports, read receipts and bounces of the test corpus are all recognised.
    #[test]
    fn the_corpus_reports_and_bounces_are_recognised() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/eml");
        let mut recognised = 0;
        for path in walk(&dir).expect("../shared/data/eml") {
            let name = path.to_string_lossy().to_ascii_lowercase();
            let machine = [
                "bounce",
                "delivery-status",
                "disposition-notification",
                "feedback-report",
            ]
            .iter()
            .any(|word| name.contains(word));
            if machine {
                let bytes = std::fs::read(&path).unwrap();
                assert!(
                    detect(&bytes).is_some(),
                    "{} is not recognised",
                    path.display()
                );
                recognised += 1;
            }
        }
        assert!(
            recognised >= 8,
            "only {recognised} machine-sent samples found"
        );
    }

    fn walk(dir: &std::path::Path) -> std::io::Result<Vec<std::path::PathBuf>> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            if path.is_dir() {
                out.extend(walk(&path)?);
            } else if path
                .extension()
                .is_some_and(|e| e == "eml" || e == "msg" || e == "txt")
            {
                out.push(path);
            }
        }
        Ok(out)
    }
}
