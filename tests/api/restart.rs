//! Nothing lost: the real binary, killed while a filing cannot be delivered, delivers it
//! exactly once after a restart; and it stops gracefully on SIGTERM.

use std::process::Command;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::archived_documents;
use crate::process::{Remote, import_and_token, serve};

#[tokio::test]
async fn an_accepted_filing_survives_a_kill_and_is_delivered_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let case = json!([{"id": "S-1", "number": "00.01.00-G01-1-26", "title": "Kommunens styrelse",
                       "kle": "00.01.00", "facet": "G01", "status": "open",
                       "parties": [{"kind": "email", "value": "borger@borger.example"}], "groups": []}]);
    let token = import_and_token(dir.path(), &case);

    // The archive cannot be written: a file stands where its folder should be.
    let archive = dir.path().join("data/archive");
    std::fs::write(&archive, b"blocked").unwrap();

    let (mut first, base) = serve(dir.path());
    let remote = Remote::new(&base, &token);
    let item = remote
        .post_item("text/plain", "Referat af mødet om kommunens styrelse.")
        .await;
    let response = remote
        .file(json!({"item_id": item["id"], "case_id": "S-1", "title": "Referat"}))
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let id = response.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();

    // Wait until a delivery has failed and the filing says why and when it retries.
    let seen = remote.wait_for(&id, |f| f["error"].is_string()).await;
    assert_eq!(seen["state"], "queued", "{seen:#}");
    assert!(
        seen["error"].as_str().unwrap().contains("archive"),
        "{seen:#}"
    );
    assert!(seen["next_attempt_at"].is_string(), "{seen:#}");

    first.kill().unwrap();
    first.wait().unwrap();
    std::fs::remove_file(&archive).unwrap();

    let (mut second, base) = serve(dir.path());
    let settled = Remote::new(&base, &token).settled(&id).await;
    assert_eq!(settled["state"], "filed", "{settled:#}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let documents = archived_documents(&archive, "S-1");
    assert_eq!(documents.len(), 1, "{documents:?}");
    assert!(documents[0].join("metadata.json").exists());

    // SIGTERM: the server stops by itself, cleanly.
    let stopped = Command::new("kill")
        .args(["-TERM", &second.id().to_string()])
        .status()
        .unwrap();
    assert!(stopped.success());
    let status = second.wait().unwrap();
    assert!(status.success(), "exit status after SIGTERM: {status}");
}
