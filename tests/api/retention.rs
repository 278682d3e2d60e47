//! Retention: uploads never filed are deleted, delivered originals are dropped, and a file
//! uploaded again brings its original back.

use reqwest::StatusCode;
use serde_json::{Value, json};

use journaliser::config::PrivacyConfig;
use journaliser::retention::{Swept, sweep};
use journaliser::store::Store;

use crate::helpers::*;

#[tokio::test]
async fn unfiled_uploads_go_and_delivered_originals_are_dropped() {
    let app = TestApp::spawn().await;
    let unfiled: Value = app
        .post_item(
            b"Et udkast der aldrig blev journaliseret".to_vec(),
            "text/plain",
        )
        .await
        .json()
        .await
        .unwrap();
    let filed = app.post_mail(fixture(FIXTURE_MAIL)).await;
    let filed_id = filed["id"].as_str().unwrap();
    let filing: Value = app
        .file(filing_body(filed_id, "VK-2026-0031"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        app.wait_settled(filing["id"].as_str().unwrap()).await["state"],
        "filed"
    );

    let store = Store::open(&format!(
        "sqlite://{}",
        app.data_dir.join("journaliser.db").display()
    ))
    .await
    .unwrap();
    let config = PrivacyConfig {
        unfiled_item_hours: 0,
        filed_original_hours: 0,
        ..PrivacyConfig::default()
    };
    let later = chrono::Utc::now().timestamp_millis() + 1_000;
    let swept = sweep(&store, &config, later).await.unwrap();
    assert!(swept.unfiled_items_deleted >= 1, "{swept:?}");
    assert!(swept.originals_dropped >= 1, "{swept:?}");
    assert_eq!(
        sweep(&store, &config, later).await.unwrap(),
        Swept::default(),
        "a second sweep finds nothing"
    );

    let unfiled_path = format!("/api/v1/items/{}", unfiled["id"].as_str().unwrap());
    assert_eq!(
        app.get(&unfiled_path, &app.token).await.status(),
        StatusCode::NOT_FOUND
    );
    let kept: Value = app
        .get(&format!("/api/v1/items/{filed_id}"), &app.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        kept["filings"][0]["state"], "filed",
        "the filed item and its history stay"
    );
    assert!(store.item_original(filed_id).await.unwrap().is_none());

    // Filing it on another case needs the original: refused until the file is uploaded again.
    let response = app
        .file(json!({"item_id": filed_id, "case_id": "VK-2026-0001"}))
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let again = app.post_item(fixture(FIXTURE_MAIL), "message/rfc822").await;
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(
        store.item_original(filed_id).await.unwrap().unwrap(),
        fixture(FIXTURE_MAIL)
    );
    let second: Value = app
        .file(json!({"item_id": filed_id, "case_id": "VK-2026-0001"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        app.wait_settled(second["id"].as_str().unwrap()).await["state"],
        "filed"
    );
}
