//! Filings that failed for good: visible with their reason, retried by an admin, or filed again.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::*;

const CASE: &str = "VK-2026-0031";

/// A server allowing one delivery attempt, an archive that cannot be written, and a mail
/// whose filing has therefore failed. Returns the app, the item id and the failed filing.
async fn failed_filing() -> (TestApp, String, Value) {
    let app = TestApp::spawn_with(|config| config.filing.max_attempts = 1).await;
    std::fs::write(app.archive(), b"a file where the archive folder should be").unwrap();
    let item = app.post_mail(fixture(FIXTURE_MAIL)).await;
    let item_id = item["id"].as_str().unwrap().to_string();
    let filing: Value = app
        .file(filing_body(&item_id, CASE))
        .await
        .json()
        .await
        .unwrap();
    let failed = app.wait_settled(filing["id"].as_str().unwrap()).await;
    assert_eq!(failed["state"], "failed", "{failed:#}");
    (app, item_id, failed)
}

async fn retry(app: &TestApp, filing_id: &str, token: &str) -> StatusCode {
    let path = format!("/api/v1/admin/filings/{filing_id}/retry");
    app.client
        .post(app.url(&path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn a_failed_filing_says_why_and_an_admin_can_retry_it() {
    let (app, item_id, failed) = failed_filing().await;
    let filing_id = failed["id"].as_str().unwrap();
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
            .any(|f| f["id"] == filing_id)
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
    assert_eq!(
        retry(&app, filing_id, &app.token).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        retry(&app, filing_id, &app.admin_token).await,
        StatusCode::ACCEPTED
    );
    assert_eq!(app.wait_settled(filing_id).await["state"], "filed");
    assert_eq!(
        retry(&app, filing_id, &app.admin_token).await,
        StatusCode::NOT_FOUND,
        "only failed filings"
    );

    // Once filed, filing the same mail again is the same filing.
    let again: Value = app
        .file(filing_body(&item_id, CASE))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again["id"], filing_id);
}

#[tokio::test]
async fn after_a_failure_the_same_mail_may_be_filed_anew_but_not_twice() {
    let (app, item_id, failed) = failed_filing().await;
    std::fs::remove_file(app.archive()).unwrap();

    let response = app.file(filing_body(&item_id, CASE)).await;
    assert_eq!(
        response.status(),
        StatusCode::ACCEPTED,
        "a failed filing does not block a new one"
    );
    let second: Value = response.json().await.unwrap();
    assert_ne!(second["id"], failed["id"]);
    assert_eq!(
        app.wait_settled(second["id"].as_str().unwrap()).await["state"],
        "filed"
    );

    // The old failed filing can no longer be retried: that would file the mail twice.
    assert_eq!(
        retry(&app, failed["id"].as_str().unwrap(), &app.admin_token).await,
        StatusCode::CONFLICT
    );
}
