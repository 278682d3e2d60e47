//! A small SMTP client (RFC 5321): one session hands a batch of messages to the server, with
//! STARTTLS (RFC 3207) and AUTH PLAIN or LOGIN (RFC 4954). A 4xx reply or a network failure
//! may pass; a 5xx reply is the server saying no, and its words become the reason.

use base64::Engine;

use crate::config::{MailTls, Secret};
use crate::connector::ConnectorError;
use crate::mail::stream::{Connection, Endpoint};

/// Longest reason kept from a reply: enough to read, short enough for a log line.
const MAX_REASON_CHARS: usize = 300;

pub(super) struct SmtpSettings {
    pub endpoint: Endpoint,
    /// AUTH with these when set.
    pub credentials: Option<(String, Secret)>,
}

/// Who sends and who receives: the SMTP envelope, apart from the headers.
pub(super) struct Envelope<'a> {
    pub from: &'a str,
    pub to: &'a str,
}

struct Reply {
    code: u16,
    text: String,
}

/// What the server announced in its EHLO reply.
struct Extensions(Vec<String>);

impl Extensions {
    /// The parameters of an extension, upper case; `None` when it is not offered.
    fn get(&self, keyword: &str) -> Option<Vec<String>> {
        self.0.iter().find_map(|line| {
            let mut words = line.split_whitespace();
            words
                .next()
                .filter(|w| w.eq_ignore_ascii_case(keyword))
                .map(|_| words.map(str::to_ascii_uppercase).collect())
        })
    }
}

/// Sends each message to the envelope's recipient in one session. Messages before a refused
/// one have been handed over.
pub(super) async fn send(
    settings: &SmtpSettings,
    envelope: &Envelope<'_>,
    messages: &[&[u8]],
) -> Result<(), ConnectorError> {
    let mut connection = Connection::open(&settings.endpoint).await?;
    let greeting = reply(&mut connection).await?;
    check(&connection, greeting, "greeting", &[220])?;
    let mut extensions = ehlo(&mut connection).await?;
    if settings.endpoint.tls == MailTls::Starttls {
        if extensions.get("STARTTLS").is_none() {
            // Never fall back to plain text: that is what an attacker in the middle wants.
            return Err(connection.permanent("the server does not offer STARTTLS"));
        }
        command(&mut connection, "STARTTLS", "STARTTLS", &[220]).await?;
        connection = connection.upgrade().await?;
        extensions = ehlo(&mut connection).await?;
    }
    if let Some((username, password)) = &settings.credentials {
        authenticate(&mut connection, &extensions, username, password).await?;
    }
    let eight_bit_ok = extensions.get("8BITMIME").is_some();
    for message in messages {
        let body = if eight_bit_ok && message.iter().any(|b| !b.is_ascii()) {
            " BODY=8BITMIME"
        } else {
            ""
        };
        let from = format!("MAIL FROM:<{}>{body}", envelope.from);
        command(&mut connection, &from, "MAIL FROM", &[250]).await?;
        let to = format!("RCPT TO:<{}>", envelope.to);
        command(&mut connection, &to, "RCPT TO", &[250, 251]).await?;
        command(&mut connection, "DATA", "DATA", &[354]).await?;
        connection.write(&data_block(message)).await?;
        let accepted = reply(&mut connection).await?;
        check(&connection, accepted, "the message", &[250])?;
    }
    // The messages are the server's now; how the goodbye goes changes nothing.
    let _ = command(&mut connection, "QUIT", "QUIT", &[221]).await;
    connection.close().await;
    Ok(())
}

async fn ehlo(connection: &mut Connection) -> Result<Extensions, ConnectorError> {
    let hello = format!("EHLO {}", connection.local_literal());
    let reply = command(connection, &hello, "EHLO", &[250]).await?;
    Ok(Extensions(
        reply.text.lines().skip(1).map(str::to_string).collect(),
    ))
}

async fn authenticate(
    connection: &mut Connection,
    extensions: &Extensions,
    username: &str,
    password: &Secret,
) -> Result<(), ConnectorError> {
    let base64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    let mechanisms = extensions.get("AUTH").unwrap_or_default();
    if mechanisms.iter().any(|m| m == "PLAIN") {
        let token = base64(format!("\0{username}\0{}", password.expose()).as_bytes());
        command(connection, &format!("AUTH PLAIN {token}"), "AUTH", &[235]).await?;
    } else if mechanisms.iter().any(|m| m == "LOGIN") {
        command(connection, "AUTH LOGIN", "AUTH", &[334]).await?;
        command(connection, &base64(username.as_bytes()), "AUTH", &[334]).await?;
        command(
            connection,
            &base64(password.expose().as_bytes()),
            "AUTH",
            &[235],
        )
        .await?;
    } else {
        return Err(connection
            .permanent("the server offers no AUTH PLAIN or LOGIN here (does it want TLS first?)"));
    }
    Ok(())
}

/// Sends one command line and reads the reply. `step` names it in errors, since the line
/// itself may carry credentials.
async fn command(
    connection: &mut Connection,
    line: &str,
    step: &str,
    expected: &[u16],
) -> Result<Reply, ConnectorError> {
    connection.write(format!("{line}\r\n").as_bytes()).await?;
    let answer = reply(connection).await?;
    check(connection, answer, step, expected)
}

/// A reply, its lines joined by newlines.
async fn reply(connection: &mut Connection) -> Result<Reply, ConnectorError> {
    let mut lines = Vec::new();
    loop {
        let line = connection.read_line().await?;
        let code = line
            .get(..3)
            .filter(|digits| digits.iter().all(u8::is_ascii_digit))
            .and_then(|digits| std::str::from_utf8(digits).ok()?.parse::<u16>().ok())
            .ok_or_else(|| connection.transient("unreadable answer from the server"))?;
        lines.push(String::from_utf8_lossy(line.get(4..).unwrap_or_default()).into_owned());
        if line.get(3) != Some(&b'-') {
            return Ok(Reply {
                code,
                text: lines.join("\n"),
            });
        }
    }
}

/// The reply when it is one of the expected codes; otherwise 4xx may pass and 5xx is final.
fn check(
    connection: &Connection,
    reply: Reply,
    step: &str,
    expected: &[u16],
) -> Result<Reply, ConnectorError> {
    if expected.contains(&reply.code) {
        return Ok(reply);
    }
    let said = format!("{step}: {} {}", reply.code, reason(&reply.text));
    Err(match reply.code {
        500..=599 => connection.permanent(&said),
        400..=499 => connection.transient(&said),
        _ => connection.transient(&format!("unexpected answer to {said}")),
    })
}

/// A reply's text on one line, without control characters, shortened.
fn reason(text: &str) -> String {
    let text = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    match text.char_indices().nth(MAX_REASON_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

/// A message as DATA sends it: every line ending CRLF, a leading dot doubled (RFC 5321,
/// 4.5.2), and the final `.` line.
fn data_block(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + message.len() / 64 + 8);
    let mut line_start = true;
    let mut bytes = message.iter().peekable();
    while let Some(&byte) = bytes.next() {
        match byte {
            b'\r' => {
                bytes.next_if_eq(&&b'\n');
                out.extend_from_slice(b"\r\n");
                line_start = true;
            }
            b'\n' => {
                out.extend_from_slice(b"\r\n");
                line_start = true;
            }
            _ => {
                if line_start && byte == b'.' {
                    out.push(b'.');
                }
                out.push(byte);
                line_start = false;
            }
        }
    }
    if !line_start {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b".\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_is_dot_stuffed_with_crlf_line_ends() {
        assert_eq!(
            data_block(b"a\n.b\r\n..c\rd"),
            b"a\r\n..b\r\n...c\r\nd\r\n.\r\n"
        );
        assert_eq!(data_block(b"a\r\n"), b"a\r\n.\r\n");
        assert_eq!(data_block(b""), b".\r\n");
    }

    #[test]
    fn extensions_are_found_by_keyword() {
        let extensions = Extensions(vec![
            "PIPELINING".into(),
            "auth plain LOGIN".into(),
            "8BITMIME".into(),
        ]);
        assert_eq!(extensions.get("AUTH").unwrap(), ["PLAIN", "LOGIN"]);
        assert!(extensions.get("8bitmime").is_some());
        assert!(extensions.get("STARTTLS").is_none());
    }

    #[test]
    fn reasons_are_one_short_line() {
        assert_eq!(
            reason("5.1.1 <x@y>:\nUser\tunknown"),
            "5.1.1 <x@y>: User unknown"
        );
        assert_eq!(
            reason(&"ø".repeat(400)).chars().count(),
            MAX_REASON_CHARS + 1
        );
    }
}
