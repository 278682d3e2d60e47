//! Budgets: uploads past the per-user budget get their 429 and `Retry-After` on the same
//! keep-alive connection, never a broken one; a mail of a million recipients is read within
//! the item's budget and says what was cut.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;

use serde_json::Value;

use crate::helpers::*;

/// One request on the connection, written whole as a simple HTTP/1.1 client writes it, and its
/// answer read: the status and the `Retry-After` header, if any.
fn exchange(
    stream: &mut BufReader<TcpStream>,
    host: &str,
    token: &str,
    body: &[u8],
) -> std::io::Result<(u16, Option<String>)> {
    let head = format!(
        "POST /api/v1/items HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: message/rfc822\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.get_mut().write_all(head.as_bytes())?;
    stream.get_mut().write_all(body)?;
    let mut status = String::new();
    if stream.read_line(&mut status)? == 0 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "closed",
        ));
    }
    let code: u16 = status
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let (mut length, mut retry_after) = (0, None);
    loop {
        let mut line = String::new();
        stream.read_line(&mut line)?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':').unwrap_or((line, ""));
        match name.to_ascii_lowercase().as_str() {
            "content-length" => length = value.trim().parse().unwrap_or(0),
            "retry-after" => retry_after = Some(value.trim().to_string()),
            _ => {}
        }
    }
    let mut answer = vec![0; length];
    stream.read_exact(&mut answer)?;
    Ok((code, retry_after))
}

#[tokio::test]
async fn uploads_past_the_budget_on_one_connection_all_get_a_readable_429() {
    let app = TestApp::spawn_with(|config| config.server.requests_per_minute = 5).await;
    let (host, token) = (
        app.base.trim_start_matches("http://").to_string(),
        app.token.clone(),
    );
    let (accepted, refused) = tokio::task::spawn_blocking(move || {
        let mut stream = BufReader::new(TcpStream::connect(&host).unwrap());
        let (mut accepted, mut refused) = (0, 0);
        for n in 0..300 {
            let mut mail = format!("From: a@b.dk\r\nSubject: x\r\nMessage-ID: <k{n}@b.dk>\r\n\r\n")
                .into_bytes();
            mail.resize(200_000, b'X');
            match exchange(&mut stream, &host, &token, &mail) {
                Ok((201 | 200, _)) => accepted += 1,
                Ok((429, Some(retry))) => {
                    assert!(
                        retry.parse::<u64>().is_ok_and(|s| s >= 1),
                        "Retry-After {retry}"
                    );
                    refused += 1;
                }
                Ok(other) => panic!("upload {n}: {other:?}"),
                Err(error) => panic!("upload {n} broke the connection: {error}"),
            }
        }
        (accepted, refused)
    })
    .await
    .unwrap();
    assert!(accepted >= 5, "the budget's uploads are taken: {accepted}");
    assert!(refused >= 250, "the rest are refused readably: {refused}");
}

#[tokio::test]
async fn a_mail_to_a_million_recipients_is_read_within_its_budget_and_says_what_was_cut() {
    let app = TestApp::spawn().await;
    let to: Vec<String> = (0..1_200_000)
        .map(|i| format!("r{i}@x{}.example", i % 997))
        .collect();
    let mail = format!(
        "From: a@example.dk\r\nTo: {}\r\nSubject: {}\r\nMessage-ID: <many@example.dk>\r\n\
         Date: Thu, 05 Sep 2024 09:00:00 +0200\r\n\r\nhello\r\n",
        to.join(", "),
        "lang ".repeat(200_000),
    );
    assert!(mail.len() > 20_000_000);
    let item = app.post_mail(mail.into_bytes()).await;
    assert_eq!(
        item["metadata"]["to"].as_array().unwrap().len(),
        1_000,
        "addresses past the cap"
    );
    let cut: Vec<&str> = item["truncated"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["what"].as_str())
        .collect();
    assert!(
        cut.contains(&"To") && cut.contains(&"Subject") && cut.contains(&"To addresses"),
        "{cut:?}"
    );
    assert!(item["metadata"]["subject"].as_str().unwrap().len() <= 4 * 1024);
    let shown: Value = app.suggestions(item["id"].as_str().unwrap()).await;
    assert!(shown["suggestions"].is_array());
    // The whole mail is kept as it came: it is the original that is filed.
    let again: Value = app
        .get(
            &format!("/api/v1/items/{}", item["id"].as_str().unwrap()),
            &app.token,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again["size"].as_u64(), item["size"].as_u64());
}
