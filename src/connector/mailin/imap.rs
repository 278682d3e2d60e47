//! Just enough IMAP (RFC 3501) to ask whether mails are in a mailbox: LOGIN, EXAMINE (read
//! only, so a records system watching the mailbox sees nothing change), UID SEARCH by
//! Message-ID, LOGOUT.

use std::collections::BTreeSet;

use base64::Engine;

use super::stream::{Connection, Endpoint};
use crate::config::{MailTls, Secret};
use crate::connector::ConnectorError;

/// Response codes (RFC 5530) of a NO that may pass.
const PASSING: [&str; 5] = [
    "[UNAVAILABLE]",
    "[INUSE]",
    "[LIMIT]",
    "[SERVERBUG]",
    "[OVERQUOTA]",
];

pub(super) struct ImapSettings {
    pub endpoint: Endpoint,
    pub username: String,
    pub password: Secret,
    pub mailboxes: Vec<String>,
}

struct Session {
    connection: Connection,
    tag: u32,
}

/// The Message-IDs (with their angle brackets) found in any of the mailboxes.
pub(super) async fn find(
    settings: &ImapSettings,
    message_ids: &[String],
) -> Result<BTreeSet<String>, ConnectorError> {
    let mut connection = Connection::open(&settings.endpoint).await?;
    let greeting = connection.read_line().await?;
    let preauthenticated = greeting.starts_with(b"* PREAUTH");
    if !greeting.starts_with(b"* OK") && !preauthenticated {
        return Err(connection.transient("the server did not greet"));
    }
    let mut session = Session { connection, tag: 0 };
    if settings.endpoint.tls == MailTls::Starttls {
        session.run("STARTTLS", "STARTTLS").await?;
        let Session { connection, tag } = session;
        session = Session {
            connection: connection.upgrade().await?,
            tag,
        };
    }
    if !preauthenticated {
        let login = format!(
            "LOGIN {} {}",
            quoted(&settings.username),
            quoted(settings.password.expose())
        );
        session.run(&login, "LOGIN").await?;
    }
    let mut found = BTreeSet::new();
    for mailbox in &settings.mailboxes {
        session
            .run(
                &format!("EXAMINE {}", quoted(&mailbox_name(mailbox))),
                "EXAMINE",
            )
            .await?;
        let pending: Vec<&String> = message_ids
            .iter()
            .filter(|id| !found.contains(*id))
            .collect();
        for id in pending {
            let search = format!("UID SEARCH HEADER Message-ID {}", quoted(id));
            let untagged = session.run(&search, "UID SEARCH").await?;
            if untagged.iter().any(|line| is_hit(line)) {
                found.insert(id.clone());
            }
        }
    }
    // What was found stands, however the goodbye goes.
    let _ = session.run("LOGOUT", "LOGOUT").await;
    session.connection.close().await;
    Ok(found)
}

impl Session {
    /// Sends one tagged command and reads up to its completion; the untagged lines come back.
    /// `step` names the command in errors, since the line itself may carry the password.
    async fn run(&mut self, command: &str, step: &str) -> Result<Vec<Vec<u8>>, ConnectorError> {
        self.tag += 1;
        let tag = format!("j{}", self.tag);
        let line = format!("{tag} {command}\r\n");
        self.connection.write(line.as_bytes()).await?;
        let mut untagged = Vec::new();
        loop {
            let line = self.line().await?;
            if let Some(status) = line
                .strip_prefix(tag.as_bytes())
                .and_then(|rest| rest.strip_prefix(b" "))
            {
                return self.completed(status, step).map(|()| untagged);
            }
            if line.starts_with(b"* BYE") && step != "LOGOUT" {
                return Err(self.connection.transient(&format!(
                    "{step}: the server is closing the connection: {}",
                    text(&line[5..])
                )));
            }
            if line.starts_with(b"+") {
                return Err(self
                    .connection
                    .transient(&format!("{step}: the server asked for more")));
            }
            untagged.push(line);
        }
    }

    /// One response line, with any literals (`{n}` then n bytes) it carries read into it, so
    /// that the conversation stays in step.
    async fn line(&mut self) -> Result<Vec<u8>, ConnectorError> {
        let mut line = self.connection.read_line().await?;
        while let Some(n) = literal_length(&line) {
            let literal = self.connection.read_exact(n).await?;
            line.extend_from_slice(&literal);
            line.extend_from_slice(&self.connection.read_line().await?);
        }
        Ok(line)
    }

    fn completed(&self, status: &[u8], step: &str) -> Result<(), ConnectorError> {
        let said = format!("{step}: {}", text(status));
        if status.starts_with(b"OK") {
            Ok(())
        } else if status.starts_with(b"NO") && PASSING.iter().any(|c| said.contains(c)) {
            Err(self.connection.transient(&said))
        } else {
            // NO (a wrong password, a mailbox that is not there) and BAD are not mended by
            // waiting.
            Err(self.connection.permanent(&said))
        }
    }
}

/// `{123}` at the end of a line announces a literal of 123 bytes.
fn literal_length(line: &[u8]) -> Option<usize> {
    let open = line.strip_suffix(b"}")?;
    let start = open.iter().rposition(|&b| b == b'{')?;
    std::str::from_utf8(&open[start + 1..]).ok()?.parse().ok()
}

/// `* SEARCH 4 7` names messages; `* SEARCH` alone finds none.
fn is_hit(line: &[u8]) -> bool {
    line.strip_prefix(b"* SEARCH")
        .is_some_and(|rest| rest.iter().any(u8::is_ascii_digit))
}

/// A quoted string. Settings are checked at start to hold no CR, LF or NUL, which a quoted
/// string cannot carry.
fn quoted(value: &str) -> String {
    format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
}

/// A mailbox name in IMAP's modified UTF-7 (RFC 3501, 5.1.3): `Færdige` is `F&AOY-rdige`.
fn mailbox_name(name: &str) -> String {
    fn flush(out: &mut String, pending: &mut Vec<u16>) {
        if pending.is_empty() {
            return;
        }
        let bytes: Vec<u8> = pending.iter().flat_map(|unit| unit.to_be_bytes()).collect();
        let encoded = base64::engine::general_purpose::STANDARD_NO_PAD.encode(bytes);
        out.push('&');
        out.push_str(&encoded.replace('/', ","));
        out.push('-');
        pending.clear();
    }
    let mut out = String::new();
    let mut pending = Vec::new();
    for c in name.chars() {
        if (' '..='~').contains(&c) {
            flush(&mut out, &mut pending);
            if c == '&' {
                out.push_str("&-");
            } else {
                out.push(c);
            }
        } else {
            pending.extend_from_slice(c.encode_utf16(&mut [0; 2]));
        }
    }
    flush(&mut out, &mut pending);
    out
}

/// A server's words, printable and short.
fn text(bytes: &[u8]) -> String {
    let text: String = String::from_utf8_lossy(bytes)
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(300)
        .collect();
    text.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mailbox_names_are_modified_utf7() {
        assert_eq!(mailbox_name("INBOX"), "INBOX");
        assert_eq!(mailbox_name("Færdige"), "F&AOY-rdige");
        assert_eq!(mailbox_name("Sager & sånt"), "Sager &- s&AOU-nt");
        assert_eq!(mailbox_name("日本語"), "&ZeVnLIqe-");
    }

    #[test]
    fn search_results_and_literals_are_read() {
        assert!(is_hit(b"* SEARCH 4 7"));
        assert!(!is_hit(b"* SEARCH"));
        assert!(!is_hit(b"* 4 EXISTS"));
        assert_eq!(literal_length(b"* LIST () \"/\" {12}"), Some(12));
        assert_eq!(literal_length(b"* OK done"), None);
    }

    #[test]
    fn quoted_strings_escape_quotes_and_backslashes() {
        assert_eq!(quoted(r#"a"b\c"#), r#""a\"b\\c""#);
    }
}
