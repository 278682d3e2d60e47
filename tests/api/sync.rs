//! Case sync: an admin has the connectors' cases brought in now; unchanged cases are left
//! alone, and a target that does not say who may see a case does not open it to everyone.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::TestApp;

async fn sync(app: &TestApp, token: &str) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/admin/sync"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

async fn archive_report(app: &TestApp) -> Value {
    let response = sync(app, &app.admin_token).await;
    assert_eq!(response.status(), StatusCode::OK);
    let report: Value = response.json().await.unwrap();
    report["connectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["connector"] == "archive")
        .cloned()
        .unwrap()
}

async fn case_titles(app: &TestApp, token: &str, query: &str) -> Vec<String> {
    let found: Value = app
        .get(&format!("/api/v1/cases?q={query}"), token)
        .await
        .json()
        .await
        .unwrap();
    found["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["title"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn an_admin_sync_brings_in_new_and_changed_cases_only() {
    let app = TestApp::spawn().await;
    assert_eq!(
        sync(&app, &app.token).await.status(),
        StatusCode::FORBIDDEN,
        "users may not sync"
    );

    // The demo's filings are delivered first: each delivery writes its case's record.
    app.until_nothing_queued().await;

    // A folder made by hand in the archive is a new case; a case.json that renames a
    // restricted case but names no groups is a change that keeps the groups.
    std::fs::create_dir_all(app.archive().join("Vejbump ved Tudsemosen")).unwrap();
    let restricted = app.archive().join("VK-2026-0004");
    std::fs::create_dir_all(&restricted).unwrap();
    std::fs::write(
        restricted.join("case.json"),
        json!({"id": "VK-2026-0004", "number": "27.60.04-P20-21-26",
               "title": "Ansøgning om el-kørestol"})
        .to_string(),
    )
    .unwrap();

    let first = archive_report(&app).await;
    assert_eq!(first["error"], Value::Null, "{first}");
    assert!(first["changed"].as_u64().unwrap() >= 2, "{first}");
    assert_eq!(
        case_titles(&app, &app.token, "Tudsemosen").await,
        ["Vejbump ved Tudsemosen"]
    );
    assert_eq!(
        case_titles(&app, &app.token, "el-kørestol").await,
        ["Ansøgning om el-kørestol"]
    );
    let renamed: Value = app
        .get("/api/v1/cases/VK-2026-0004", &app.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(renamed["kle"], "27.60.04", "kept: the listing left it out");
    let outsider = app.token_for("bo", &["teknik"]);
    assert!(
        case_titles(&app, &outsider, "el-kørestol").await.is_empty(),
        "the listing named no groups; the case stays restricted"
    );

    let second = archive_report(&app).await;
    assert_eq!(second["listed"], first["listed"]);
    assert_eq!(second["changed"], 0, "{second}");

    let audit: Value = app
        .get("/api/v1/admin/audit?kind=cases_synced", &app.admin_token)
        .await
        .json()
        .await
        .unwrap();
    let events = audit["events"].as_array().unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0]["actor"], "root");
}

#[tokio::test]
async fn a_case_listed_by_a_second_connector_is_not_taken_over() {
    use journaliser::config::{ArchiveInstanceConfig, ConnectorConfig};
    let share = tempfile::tempdir().unwrap();
    let root = share.path().to_path_buf();
    let app = TestApp::spawn_with(|config| {
        config
            .connectors
            .push(ConnectorConfig::Archive(ArchiveInstanceConfig {
                name: "overfoersel".into(),
                root,
            }));
    })
    .await;
    // The share has a case of its own and one with the id of a demo case in the archive.
    std::fs::create_dir_all(share.path().join("Skurvogn ved havnen")).unwrap();
    let clash = share.path().join("VK-2026-0007");
    std::fs::create_dir_all(&clash).unwrap();
    std::fs::write(
        clash.join("case.json"),
        json!({"id": "VK-2026-0007", "number": "99.99.99-A00-1-26", "title": "Noget andet"})
            .to_string(),
    )
    .unwrap();

    let response = sync(&app, &app.admin_token).await;
    let report: Value = response.json().await.unwrap();
    let share_report = report["connectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["connector"] == "overfoersel")
        .cloned()
        .unwrap();
    assert_eq!(share_report["listed"], 2, "{share_report}");
    assert_eq!(share_report["changed"], 1, "{share_report}");
    let rejected = share_report["rejected"].as_array().unwrap();
    assert_eq!(rejected.len(), 1, "{share_report}");
    assert!(
        rejected[0].as_str().unwrap().contains("archive"),
        "{share_report}"
    );
    let kept: Value = app
        .get("/api/v1/cases/VK-2026-0007", &app.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(kept["title"], "Byggetilladelse til carport, Skovvej 12");
    assert_eq!(
        case_titles(&app, &app.token, "Skurvogn").await,
        ["Skurvogn ved havnen"]
    );
}
