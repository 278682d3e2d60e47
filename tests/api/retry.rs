//! Filings that failed for good: visible with their reason, retried by an admin, or filed again.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::*;

#[tokio::test]
async fn a_failed_filing_says_why_and_can_be_retried_or_filed_again() {
    // One attempt only, and the archive cannot be written: every delivery fails for good.
    let app = TestApp::spawn_with(|config| config.filing.max_attempts = 1).await;
    std::fs::write(app.archive(), b"a file where the archive folder should be").unwrap();

    let item = app.post_mail(fixture(FIXTURE_MAIL)).await;
    let item_id = item["id"].as_str().unwrap();
    let first: Value = app
        .file(filing_body(item_id, "VK-2026-0031"))
        .await
        .json()
        .await
        .unwrap();
    let first_id = first["id"].as_str().unwrap();
    let failed = app.wait_settled(first_id).await;
    assert_eq!(failed["state"], "failed", "{failed:#}");
    assert!(
        failed["error"].as_str().unwrap().contains("archive"),
        "{failed:#}"
    );
    let listed: Value = app
        .get("/api/v1/admin/filings?state=failed", &app.admin_token)
        .await
        .json()
        .await
        .unwrap();
    assert!(
        listed["filings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["id"] == first_id)
    );
    let shown: Value = app
        .get(&format!("/api/v1/items/{item_id}"), &app.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        shown["filings"][0]["state"], "failed",
        "the item shows its failed filing"
    );

    // The fault is fixed; an admin puts the filing back in the queue.
    std::fs::remove_file(app.archive()).unwrap();
    let path = format!("/api/v1/admin/filings/{first_id}/retry");
    let response = app
        .client
        .post(app.url(&path))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let response = app
        .client
        .post(app.url(&path))
        .bearer_auth(&app.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    assert_eq!(app.wait_settled(first_id).await["state"], "filed");
    let response = app
        .client
        .post(app.url(&path))
        .bearer_auth(&app.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::NOT_FOUND,
        "only failed filings can be retried"
    );

    // Once filed, filing the same mail again is the same filing.
    let again: Value = app
        .file(filing_body(item_id, "VK-2026-0031"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again["id"], first_id);
}

#[tokio::test]
async fn after_a_failure_the_same_mail_may_be_filed_anew() {
    let app = TestApp::spawn_with(|config| config.filing.max_attempts = 1).await;
    std::fs::write(app.archive(), b"blocked").unwrap();
    let item = app.post_mail(fixture(FIXTURE_MAIL)).await;
    let item_id = item["id"].as_str().unwrap();
    let first: Value = app
        .file(filing_body(item_id, "VK-2026-0031"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        app.wait_settled(first["id"].as_str().unwrap()).await["state"],
        "failed"
    );
    std::fs::remove_file(app.archive()).unwrap();

    let response = app.file(filing_body(item_id, "VK-2026-0031")).await;
    assert_eq!(
        response.status(),
        StatusCode::ACCEPTED,
        "a failed filing does not block a new one"
    );
    let second: Value = response.json().await.unwrap();
    assert_ne!(second["id"], first["id"]);
    assert_eq!(
        app.wait_settled(second["id"].as_str().unwrap()).await["state"],
        "filed"
    );

    // Now the old failed filing cannot be retried: that would file the mail twice.
    let path = format!(
        "/api/v1/admin/filings/{}/retry",
        first["id"].as_str().unwrap()
    );
    let response = app
        .client
        .post(app.url(&path))
        .bearer_auth(&app.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CONFLICT);
}
