//! CPR numbers never reach the log: a full flow with CPR-bearing input, the service logging at
//! its most verbose, and the whole log scanned for the number.

use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};

use crate::process::{Remote, import_and_token, journaliser, serve_with};

const CPR: &str = "150385-1234";
const CPR_DIGITS: &str = "1503851234";

#[tokio::test]
async fn a_full_flow_with_cpr_numbers_logs_none_of_them() {
    let dir = tempfile::tempdir().unwrap();
    let case = json!([{"id": "S-1", "number": "02.34.02-G01-1-26", "title": format!("Carport til {CPR}"),
                       "parties": [{"kind": "cpr", "value": CPR}]}]);
    let token = import_and_token(dir.path(), &case);

    let log_path = dir.path().join("journaliser.log");
    let mut command = journaliser(dir.path());
    command
        .env("RUST_LOG", "trace")
        .arg("--config")
        .arg("/dev/null");
    let (mut server, base) = serve_with(
        command,
        Stdio::from(std::fs::File::create(&log_path).unwrap()),
    );
    let remote = Remote::new(&base, &token);

    let mail = format!(
        "From: Mette Kjær <mette.kjaer@borger.example>\r\nTo: post@vejstrand.example\r\n\
         Subject: Carport, cpr {CPR}\r\nDate: Mon, 23 Nov 2026 10:00:00 +0100\r\n\
         Message-ID: <cpr-test@borger.example>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         Mit cpr-nummer er {CPR}, eller {CPR_DIGITS}.\r\n--b\r\nContent-Type: text/plain; name=\"{CPR}.txt\"\r\n\
         Content-Disposition: attachment; filename=\"{CPR}.txt\"\r\n\r\nBilag for {CPR}\r\n--b--\r\n"
    );
    let item = remote.post_item("message/rfc822", mail).await;
    assert!(!item.to_string().contains("1234"), "{item}");
    let id = item["id"].as_str().unwrap();
    let suggestions: Value = remote
        .get(&format!("/api/v1/items/{id}/suggestions"))
        .await
        .json()
        .await
        .unwrap();
    assert!(!suggestions.to_string().contains("1234"));
    assert_eq!(suggestions["suggestions"][0]["case"]["id"], "S-1");
    let found: Value = remote
        .get(&format!("/api/v1/cases?q={CPR}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(found["cases"][0]["id"], "S-1");

    let body = json!({"item_id": id, "case_id": "S-1", "title": format!("Carport {CPR}"),
                      "attachments": [{"index": 0, "mode": "separate"}]});
    let filing: Value = remote.file(body).await.json().await.unwrap();
    let settled = remote.settled(filing["id"].as_str().unwrap()).await;
    assert_eq!(settled["state"], "filed", "{settled}");
    let refused = remote
        .file(json!({"item_id": id, "case_id": format!("sag-{CPR}")}))
        .await;
    assert_eq!(refused.status(), reqwest::StatusCode::NOT_FOUND);

    server.kill().unwrap();
    server.wait().unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let log = std::fs::read_to_string(&log_path).unwrap();
    // The log covered the whole flow, at its most verbose.
    for expected in [
        "item received",
        "filing accepted",
        "filing delivered",
        "TRACE",
    ] {
        assert!(log.contains(expected), "the log lacks {expected:?}");
    }
    // Ids (request ids, filing ids: UUIDs), timings and the lines' timestamps (such as
    // "17:46:00.112349Z") may hold "1234" by chance; they are taken out before looking for
    // the CPR number's last four digits.
    let by_chance = regex::Regex::new(
        r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|\d+\.\d+|:\d+(\.\d+)?",
    )
    .unwrap();
    for needle in [CPR, CPR_DIGITS, "1234"] {
        let hits: Vec<&str> = log
            .lines()
            .filter(|l| {
                if needle == "1234" {
                    by_chance.replace_all(l, "").contains(needle)
                } else {
                    l.contains(needle)
                }
            })
            .take(3)
            .collect();
        assert!(
            hits.is_empty(),
            "{needle} found in the log:\n{}",
            hits.join("\n")
        );
    }
}
