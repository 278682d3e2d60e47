//! Just enough IMAP (RFC 3501) for the two rooms that read mailboxes: the mail-in connector's
//! read-back (is this Message-ID there?) and the watcher of functional mailboxes (take each new
//! mail, mark it, move it). LOGIN or SASL XOAUTH2, SELECT/EXAMINE with UIDVALIDITY, UID SEARCH,
//! UID FETCH, UID STORE of keywords, UID MOVE (or COPY, STORE \Deleted, EXPUNGE), CREATE,
//! IDLE (RFC 2177), LOGOUT.
//!
//! Our own, not an IMAP crate: it sits on the same connection and TLS plumbing as our SMTP
//! client (`stream.rs`), and owning the replies lets NO and BAD map onto "may pass" and "for
//! good" with the server's words and never a credential.

use std::collections::BTreeSet;
use std::time::Duration;

use base64::Engine;

use super::stream::{Connection, Endpoint};
use crate::config::{MailTls, Secret};
use crate::connector::ConnectorError;
use crate::connector::http::oauth::OAuthToken;

/// Response codes (RFC 5530) of a NO that may pass.
const PASSING: [&str; 5] = [
    "[UNAVAILABLE]",
    "[INUSE]",
    "[LIMIT]",
    "[SERVERBUG]",
    "[OVERQUOTA]",
];

/// How a client proves who it is.
#[derive(Clone)]
pub enum Login {
    Password {
        username: String,
        password: Secret,
    },
    /// SASL XOAUTH2 with an OAuth 2.0 access token, as Exchange Online asks.
    Bearer {
        username: String,
        token: Secret,
    },
    /// SASL XOAUTH2 with the app's own token (client credentials), fetched and renewed as
    /// it expires.
    App {
        username: String,
        token: std::sync::Arc<OAuthToken>,
        http: reqwest::Client,
    },
}

/// The SASL XOAUTH2 command for a user and an access token.
fn xoauth2(username: &str, token: &str) -> String {
    let initial = format!("user={username}\x01auth=Bearer {token}\x01\x01");
    format!(
        "AUTHENTICATE XOAUTH2 {}",
        base64::engine::general_purpose::STANDARD.encode(initial)
    )
}

pub struct ImapSettings {
    pub endpoint: Endpoint,
    pub login: Login,
    pub mailboxes: Vec<String>,
}

/// One response line, with the literals (`{n}` then n bytes) it carried taken out.
struct Response {
    text: Vec<u8>,
    literals: Vec<Vec<u8>>,
}

/// A logged-in conversation with the server.
pub struct Session {
    connection: Connection,
    tag: u32,
    capabilities: BTreeSet<String>,
}

/// What selecting a mailbox told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Selected {
    pub uid_validity: u32,
}

/// The Message-IDs (with their angle brackets) found in any of the mailboxes.
pub async fn find(
    settings: &ImapSettings,
    message_ids: &[String],
) -> Result<BTreeSet<String>, ConnectorError> {
    let mut session = Session::open(settings).await?;
    let mut found = BTreeSet::new();
    for mailbox in &settings.mailboxes {
        session.examine(mailbox).await?;
        let pending: Vec<&String> = message_ids
            .iter()
            .filter(|id| !found.contains(*id))
            .collect();
        for id in pending {
            let hits = session
                .uid_search(&format!("HEADER Message-ID {}", quoted(id)))
                .await?;
            if !hits.is_empty() {
                found.insert(id.clone());
            }
        }
    }
    // What was found stands, however the goodbye goes.
    session.logout().await;
    Ok(found)
}

impl Session {
    /// Connects, upgrades with STARTTLS when configured, and logs in.
    pub async fn open(settings: &ImapSettings) -> Result<Session, ConnectorError> {
        let mut connection = Connection::open(&settings.endpoint).await?;
        let greeting = connection.read_line().await?;
        let preauthenticated = greeting.starts_with(b"* PREAUTH");
        if !greeting.starts_with(b"* OK") && !preauthenticated {
            return Err(connection.transient("the server did not greet"));
        }
        let mut session = Session {
            connection,
            tag: 0,
            capabilities: BTreeSet::new(),
        };
        if settings.endpoint.tls == MailTls::Starttls {
            session.run("STARTTLS", "STARTTLS").await?;
            let Session {
                connection, tag, ..
            } = session;
            session = Session {
                connection: connection.upgrade().await?,
                tag,
                capabilities: BTreeSet::new(),
            };
        }
        if !preauthenticated {
            let (command, app_token) = match &settings.login {
                Login::Password { username, password } => (
                    format!("LOGIN {} {}", quoted(username), quoted(password.expose())),
                    None,
                ),
                Login::Bearer { username, token } => (xoauth2(username, token.expose()), None),
                Login::App {
                    username,
                    token,
                    http,
                } => {
                    let held = token.get(http).await?;
                    (xoauth2(username, held.expose()), Some((token, held)))
                }
            };
            if let Err(error) = session.run(&command, "LOGIN").await {
                // A token the server refused is not offered again.
                if let Some((token, held)) = app_token {
                    token.forget(&held).await;
                }
                return Err(error);
            }
        }
        let said = session.run("CAPABILITY", "CAPABILITY").await?;
        for response in said {
            if let Some(rest) = response.text.strip_prefix(b"* CAPABILITY ") {
                session.capabilities = text(rest)
                    .split_whitespace()
                    .map(str::to_ascii_uppercase)
                    .collect();
            }
        }
        Ok(session)
    }

    pub fn supports(&self, capability: &str) -> bool {
        self.capabilities.contains(capability)
    }

    /// Opens `mailbox` for reading and changing.
    pub async fn select(&mut self, mailbox: &str) -> Result<Selected, ConnectorError> {
        self.open_mailbox("SELECT", mailbox).await
    }

    /// Opens `mailbox` read only, so that whoever else watches it sees nothing change.
    pub async fn examine(&mut self, mailbox: &str) -> Result<Selected, ConnectorError> {
        self.open_mailbox("EXAMINE", mailbox).await
    }

    async fn open_mailbox(
        &mut self,
        verb: &str,
        mailbox: &str,
    ) -> Result<Selected, ConnectorError> {
        let said = self
            .run(&format!("{verb} {}", quoted(&mailbox_name(mailbox))), verb)
            .await?;
        let uid_validity = said
            .iter()
            .find_map(|r| {
                let line = text(&r.text);
                let start = line.find("[UIDVALIDITY ")? + "[UIDVALIDITY ".len();
                line[start..].split(']').next()?.trim().parse().ok()
            })
            .unwrap_or(0);
        Ok(Selected { uid_validity })
    }

    /// Makes a mailbox; one that is there already is no error.
    pub async fn create(&mut self, mailbox: &str) -> Result<(), ConnectorError> {
        match self
            .run(
                &format!("CREATE {}", quoted(&mailbox_name(mailbox))),
                "CREATE",
            )
            .await
        {
            Ok(_) => Ok(()),
            Err(ConnectorError::Permanent(said))
                if said.contains("[ALREADYEXISTS]")
                    || said.to_ascii_lowercase().contains("exists") =>
            {
                Ok(())
            }
            Err(other) => Err(other),
        }
    }

    /// The UIDs of the messages matching `criteria` in the selected mailbox, ascending.
    pub async fn uid_search(&mut self, criteria: &str) -> Result<Vec<u32>, ConnectorError> {
        let said = self
            .run(&format!("UID SEARCH {criteria}"), "UID SEARCH")
            .await?;
        let mut uids: Vec<u32> = said
            .iter()
            .filter_map(|r| r.text.strip_prefix(b"* SEARCH"))
            .flat_map(|rest| {
                text(rest)
                    .split_whitespace()
                    .filter_map(|n| n.parse().ok())
                    .collect::<Vec<u32>>()
            })
            .collect();
        uids.sort_unstable();
        Ok(uids)
    }

    /// The whole message `uid`, without marking it seen; `None` when it is gone.
    pub async fn fetch(&mut self, uid: u32) -> Result<Option<Vec<u8>>, ConnectorError> {
        let said = self
            .run(&format!("UID FETCH {uid} (BODY.PEEK[])"), "UID FETCH")
            .await?;
        Ok(said
            .into_iter()
            .find(|r| r.text.starts_with(b"* ") && text(&r.text).contains("FETCH"))
            .and_then(|r| r.literals.into_iter().next()))
    }

    /// Adds a keyword (such as `$Journaliseret`) to message `uid`.
    pub async fn add_keyword(&mut self, uid: u32, keyword: &str) -> Result<(), ConnectorError> {
        self.run(
            &format!("UID STORE {uid} +FLAGS.SILENT ({keyword})"),
            "UID STORE",
        )
        .await
        .map(drop)
    }

    /// Moves message `uid` to `mailbox`: MOVE (RFC 6851) where offered, else a copy and the
    /// original deleted.
    pub async fn move_to(&mut self, uid: u32, mailbox: &str) -> Result<(), ConnectorError> {
        let target = quoted(&mailbox_name(mailbox));
        if self.supports("MOVE") {
            return self
                .run(&format!("UID MOVE {uid} {target}"), "UID MOVE")
                .await
                .map(drop);
        }
        self.run(&format!("UID COPY {uid} {target}"), "UID COPY")
            .await?;
        self.run(
            &format!("UID STORE {uid} +FLAGS.SILENT (\\Deleted)"),
            "UID STORE",
        )
        .await?;
        let expunge = match self.supports("UIDPLUS") {
            true => format!("UID EXPUNGE {uid}"),
            false => "EXPUNGE".to_string(),
        };
        self.run(&expunge, "EXPUNGE").await.map(drop)
    }

    /// Waits up to `longest` for the selected mailbox to change: IDLE where offered, a plain
    /// wait otherwise. True when the server told of new mail.
    pub async fn wait(&mut self, longest: Duration) -> Result<bool, ConnectorError> {
        if !self.supports("IDLE") {
            tokio::time::sleep(longest).await;
            return Ok(false);
        }
        self.tag += 1;
        let tag = format!("j{}", self.tag);
        self.connection
            .write(format!("{tag} IDLE\r\n").as_bytes())
            .await?;
        let first = self.connection.read_line().await?;
        if !first.starts_with(b"+") {
            return Err(self.connection.transient("IDLE: the server did not agree"));
        }
        let deadline = tokio::time::Instant::now() + longest;
        let mut changed = false;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                break;
            }
            match self.connection.read_line_within(left).await? {
                None => break,
                Some(line) => {
                    let line = text(&line);
                    if line.ends_with("EXISTS") || line.ends_with("RECENT") {
                        changed = true;
                        break;
                    }
                }
            }
        }
        self.connection.write(b"DONE\r\n").await?;
        loop {
            let response = self.response().await?;
            if let Some(status) = response
                .text
                .strip_prefix(tag.as_bytes())
                .and_then(|rest| rest.strip_prefix(b" "))
            {
                self.completed(status, "IDLE")?;
                return Ok(changed);
            }
            if text(&response.text).ends_with("EXISTS") {
                changed = true;
            }
        }
    }

    /// Says goodbye; what was done stands however it goes.
    pub async fn logout(mut self) {
        let _ = self.run("LOGOUT", "LOGOUT").await;
        self.connection.close().await;
    }

    /// Sends one tagged command and reads up to its completion; the untagged responses come
    /// back. `step` names the command in errors, since the line itself may carry a secret.
    async fn run(&mut self, command: &str, step: &str) -> Result<Vec<Response>, ConnectorError> {
        self.tag += 1;
        let tag = format!("j{}", self.tag);
        let line = format!("{tag} {command}\r\n");
        self.connection.write(line.as_bytes()).await?;
        let mut untagged = Vec::new();
        loop {
            let response = self.response().await?;
            if let Some(status) = response
                .text
                .strip_prefix(tag.as_bytes())
                .and_then(|rest| rest.strip_prefix(b" "))
            {
                return self.completed(status, step).map(|()| untagged);
            }
            if response.text.starts_with(b"* BYE") && step != "LOGOUT" {
                return Err(self.connection.transient(&format!(
                    "{step}: the server is closing the connection: {}",
                    text(&response.text[5..])
                )));
            }
            if response.text.starts_with(b"+") {
                return Err(self
                    .connection
                    .transient(&format!("{step}: the server asked for more")));
            }
            untagged.push(response);
        }
    }

    /// One response, with any literals it carries read out of it, so that the conversation
    /// stays in step.
    async fn response(&mut self) -> Result<Response, ConnectorError> {
        let mut text = self.connection.read_line().await?;
        let mut literals = Vec::new();
        while let Some((start, n)) = literal_at_end(&text) {
            text.truncate(start);
            literals.push(self.connection.read_exact(n).await?);
            text.extend_from_slice(&self.connection.read_line().await?);
        }
        Ok(Response { text, literals })
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

/// `{123}` at the end of a line announces a literal of 123 bytes: where it starts, and its size.
fn literal_at_end(line: &[u8]) -> Option<(usize, usize)> {
    let open = line.strip_suffix(b"}")?;
    let start = open.iter().rposition(|&b| b == b'{')?;
    let n = std::str::from_utf8(&open[start + 1..]).ok()?.parse().ok()?;
    Some((start, n))
}

/// A quoted string. Settings are checked at start to hold no CR, LF or NUL, which a quoted
/// string cannot carry.
pub fn quoted(value: &str) -> String {
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
    fn literals_are_found_at_the_end_of_a_line() {
        assert_eq!(
            literal_at_end(b"* 3 FETCH (UID 7 BODY[] {12}"),
            Some((24, 12))
        );
        assert_eq!(literal_at_end(b"* OK done"), None);
    }

    #[test]
    fn quoted_strings_escape_quotes_and_backslashes() {
        assert_eq!(quoted(r#"a"b\c"#), r#""a\"b\\c""#);
    }
}
