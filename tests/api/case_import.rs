//! The admin's case import and connector list: a dry run says what each row of a file would
//! do and writes nothing; a file with a bad row is refused whole; a clean one is stored,
//! indexed and audited; the connectors are listed without a secret.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::*;

const IMPORT: &str = "/api/v1/admin/cases/import";

/// Two new cases the demo user may see, with words no demo case has.
const CLEAN: &str = "id,number,title,kle,facet,status,parties,groups,opened\n\
    IMP-1,00.01.00-A00-1-26,Saunaflåde for vinterbadere ved Nordstranden,00.01.00,A00,open,email:bad@vinterbad.example,social,2026-11-02\n\
    IMP-2,00.01.00-A00-2-26,Isbadning og livredning ved Nordstranden,,,open,,social,\n";

async fn import(
    app: &TestApp,
    token: &str,
    query: &str,
    body: &str,
    content_type: &str,
) -> (StatusCode, Value) {
    let response = app
        .client
        .post(app.url(&format!("{IMPORT}{query}")))
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

/// `(row, case_id, outcome)` of each row of a report.
fn outcomes(report: &Value) -> Vec<(u64, String, String)> {
    report["rows"]
        .as_array()
        .unwrap_or_else(|| panic!("no rows: {report}"))
        .iter()
        .map(|r| {
            (
                r["row"].as_u64().unwrap(),
                r["case_id"].as_str().unwrap_or_default().to_string(),
                r["outcome"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn row(row: u64, case: &str, outcome: &str) -> (u64, String, String) {
    (row, case.to_string(), outcome.to_string())
}

async fn imports_audited(app: &TestApp) -> Vec<Value> {
    app.get_json("/api/v1/admin/audit?kind=cases_imported", &app.admin_token)
        .await["events"]
        .as_array()
        .unwrap()
        .clone()
}

/// The clean file with a third row whose KLE number is not one.
fn with_bad_row() -> String {
    format!("{CLEAN}IMP-3,00.01.00-A00-3-26,Bådebro ved Nordstranden,99,,open,,social,\n")
}

#[tokio::test]
async fn a_dry_run_names_the_bad_row_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let (status, report) = import(
        &app,
        &app.admin_token,
        "?dry_run=true",
        &with_bad_row(),
        "text/csv",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["dry_run"], true);
    assert_eq!(
        outcomes(&report),
        [
            row(2, "IMP-1", "new"),
            row(3, "IMP-2", "new"),
            row(4, "IMP-3", "error")
        ]
    );
    let error = &report["rows"][2]["error"];
    assert_eq!(
        (&error["code"], &error["field"], &error["value"]),
        (&"kle".into(), &"kle".into(), &"99".into()),
        "{error}"
    );
    assert!(
        error["message"].as_str().unwrap().contains("KLE"),
        "{error}"
    );
    assert_eq!(report["counts"]["errors"], 1);
    assert_eq!(report["counts"]["new"], 2);
    for id in ["IMP-1", "IMP-2", "IMP-3"] {
        let response = app.get(&format!("/api/v1/cases/{id}"), &app.token).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{id} was written");
    }
    assert!(imports_audited(&app).await.is_empty());
}

#[tokio::test]
async fn an_import_with_a_bad_row_is_refused_whole_with_every_error() {
    let app = TestApp::spawn().await;
    let two_bad = format!(
        "{}IMP-5,00.01.00-A00-5-26,Saunaflåde,,,lukket-ish,,social,\n",
        with_bad_row()
    );
    let (status, body) = import(&app, &app.admin_token, "", &two_bad, "text/csv").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["code"], "invalid_rows");
    assert_eq!(body["counts"]["errors"], 2, "{body}");
    let errors: Vec<(u64, &str)> = body["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["outcome"] == "error")
        .map(|r| {
            (
                r["row"].as_u64().unwrap(),
                r["error"]["code"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(errors, [(4, "kle"), (5, "status")]);
    let response = app.get("/api/v1/cases/IMP-1", &app.token).await;
    assert_eq!(
        response.status(),
        StatusCode::NOT_FOUND,
        "a refused file writes no row"
    );
    assert!(imports_audited(&app).await.is_empty());

    let twice = format!("{CLEAN}IMP-1,00.01.00-A00-1-26,Saunaflåde,,,open,,social,\n");
    let (status, body) = import(&app, &app.admin_token, "", &twice, "text/csv").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["rows"][2]["error"]["code"], "repeated");
    assert_eq!(body["rows"][2]["error"]["first_row"], 2);
}

#[tokio::test]
async fn a_clean_import_is_stored_indexed_searchable_and_audited() {
    let app = TestApp::spawn().await;
    let (status, report) = import(&app, &app.admin_token, "", CLEAN, "text/csv").await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(
        outcomes(&report),
        [row(2, "IMP-1", "new"), row(3, "IMP-2", "new")]
    );

    let found = app.get_json("/api/v1/cases?q=saunaflåde", &app.token).await;
    let ids: Vec<&str> = found["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["IMP-1"], "{found}");
    let case = app.get_json("/api/v1/cases/IMP-1", &app.token).await;
    assert_eq!(case["kle"], "00.01.00", "{case}");
    let outsider = app.token_for("per", &["byg"]);
    let hidden = app.get("/api/v1/cases/IMP-1", &outsider).await;
    assert_eq!(
        hidden.status(),
        StatusCode::NOT_FOUND,
        "the groups came with the case"
    );

    // The index has it too: a text about the same thing is suggested the case.
    let item: Value = app
        .post_item(
            "Saunaflåden for vinterbadere ved Nordstranden"
                .as_bytes()
                .to_vec(),
            "text/plain",
        )
        .await
        .json()
        .await
        .unwrap();
    let suggestions = app.suggestions(item["id"].as_str().unwrap()).await;
    assert!(
        suggestions["suggestions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["case"]["id"] == "IMP-1"),
        "{suggestions}"
    );

    let audited = imports_audited(&app).await;
    assert_eq!(audited.len(), 1, "{audited:?}");
    assert_eq!(audited[0]["actor"], "root");
    assert_eq!(audited[0]["details"]["connector"], "archive");
    assert_eq!(audited[0]["details"]["format"], "csv");
    assert_eq!(audited[0]["details"]["counts"]["new"], 2);

    // The same cases again as JSON, one of them changed: a dry run says so.
    let json = r#"[{"id": "IMP-1", "number": "00.01.00-A00-1-26", "title": "Saunaflåde for vinterbadere ved Nordstranden",
                    "kle": "00.01.00", "facet": "A00", "parties": [{"kind": "email", "value": "bad@vinterbad.example"}],
                    "groups": ["social"], "opened": "2026-11-02"},
                   {"id": "IMP-2", "number": "00.01.00-A00-2-26", "title": "Isbadning ved Nordstranden", "groups": ["social"]}]"#;
    let (status, report) = import(
        &app,
        &app.admin_token,
        "?dry_run=true",
        json,
        "application/json",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(
        outcomes(&report),
        [row(1, "IMP-1", "unchanged"), row(2, "IMP-2", "changed")]
    );
}

#[tokio::test]
async fn a_users_token_may_not_import() {
    let app = TestApp::spawn().await;
    for query in ["", "?dry_run=true"] {
        let (status, body) = import(&app, &app.token, query, CLEAN, "text/csv").await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert_eq!(body["code"], "forbidden");
    }
    let response = app.get("/api/v1/admin/connectors", &app.token).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        app.get("/api/v1/cases/IMP-1", &app.admin_token)
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn files_too_large_or_unreadable_are_refused_in_words() {
    let app = TestApp::spawn().await;
    let mut many = String::from("id,number,title\n");
    for i in 0..10_001 {
        many.push_str(&format!("M-{i},{i},Sag {i}\n"));
    }
    let (status, body) = import(&app, &app.admin_token, "?dry_run=true", &many, "text/csv").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("too_many_rows")),
        "{body}"
    );
    assert!(
        body["message"].as_str().unwrap().contains("10000"),
        "{body}"
    );

    let huge = format!("id,number,title\n{}", "x".repeat(9 * 1024 * 1024));
    let (status, body) = import(&app, &app.admin_token, "?dry_run=true", &huge, "text/csv").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("payload_too_large")),
        "{body}"
    );

    for (text, content_type, words) in [
        ("", "text/csv", "no cases"),
        ("id,number,title\n", "text/csv", "no cases"),
        ("{\"id\": 1}", "application/json", "invalid type"),
    ] {
        let (status, body) =
            import(&app, &app.admin_token, "?dry_run=true", text, content_type).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{text}: {body}");
        assert!(body["message"].as_str().unwrap().contains(words), "{body}");
    }
    let (status, body) = import(
        &app,
        &app.admin_token,
        "?connector=nowhere",
        CLEAN,
        "text/csv",
    )
    .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("connector")),
        "{body}"
    );
}

#[tokio::test]
async fn the_connectors_are_listed_with_what_they_can_do_and_no_secret() {
    use journaliser::config::{
        ConnectorConfig, F2Config, MailinConfig, Secret, SharepointConfig, WebdavConfig,
        WebhookConfig,
    };
    let secret = |s: &str| serde_json::from_value::<Secret>(s.into()).unwrap();
    let secrets = [
        "dav-hunter2",
        "hook-t0ken",
        "hook-k3y",
        "smtp-pa55",
        "imap-pa55",
        "sp-s3cret",
        "f2-s3cret",
        "f2-pa55",
        "q-k3y",
    ];
    let app = TestApp::spawn_with(move |config| {
        config.connectors = vec![
            ConnectorConfig::Webdav(WebdavConfig {
                name: "dav".into(),
                url: "https://127.0.0.1:9/sager/?key=q-k3y".into(),
                username: "journaliser".into(),
                password: secret("dav-hunter2"),
                ..WebdavConfig::default()
            }),
            ConnectorConfig::Webhook(WebhookConfig {
                name: "byg".into(),
                url: "https://127.0.0.1:9/journal".into(),
                bearer_token: secret("hook-t0ken"),
                headers: [("X-Api-Key".to_string(), secret("hook-k3y"))].into(),
                ..WebhookConfig::default()
            }),
            ConnectorConfig::Mailin(MailinConfig {
                name: "journal".into(),
                to: "journal@vejstrand.example".into(),
                from: "journaliser@vejstrand.example".into(),
                host: "127.0.0.1".into(),
                username: "journaliser".into(),
                password: secret("smtp-pa55"),
                imap_host: "127.0.0.1".into(),
                imap_username: "journaliser".into(),
                imap_password: secret("imap-pa55"),
                ..MailinConfig::default()
            }),
            ConnectorConfig::Sharepoint(Box::new(SharepointConfig {
                name: "sager".into(),
                site: "vejstrand.sharepoint.com:/sites/sager".into(),
                library: "Sager".into(),
                tenant_id: "vejstrand.onmicrosoft.com".into(),
                client_id: "00000000-0000-0000-0000-000000000000".into(),
                client_secret: secret("sp-s3cret"),
                ..SharepointConfig::default()
            })),
            ConnectorConfig::F2(F2Config {
                name: "f2".into(),
                url: "https://127.0.0.1:9/f2/api".into(),
                token_url: "https://127.0.0.1:9/oauth2/token".into(),
                client_id: "journaliser".into(),
                client_secret: secret("f2-s3cret"),
                username: "journaliser".into(),
                password: secret("f2-pa55"),
                ..F2Config::default()
            }),
        ];
    })
    .await;
    let response = app.get("/api/v1/admin/connectors", &app.admin_token).await;
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.unwrap();
    for secret in secrets {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
    let answer: Value = serde_json::from_str(&text).unwrap();
    let listed: Vec<(&str, &str)> = answer["connectors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap(), c["kind"].as_str().unwrap()))
        .collect();
    assert_eq!(
        listed,
        [
            ("archive", "archive"),
            ("dav", "webdav"),
            ("byg", "webhook"),
            ("journal", "mailin"),
            ("sager", "sharepoint"),
            ("f2", "f2")
        ]
    );
    let named = |name: &str| {
        answer["connectors"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap()
            .clone()
    };
    let archive = named("archive");
    assert_eq!(archive["capabilities"]["list_cases"], true, "{archive}");
    assert_eq!(archive["creates_cases"], true, "{archive}");
    assert_eq!(
        archive["settings"]["root"],
        app.archive().display().to_string()
    );
    let dav = named("dav");
    assert_eq!(dav["settings"]["password"], "•••");
    assert_eq!(dav["settings"]["username"], "journaliser");
    assert_eq!(dav["settings"]["url"], "https://127.0.0.1:9/sager/?key=•••");
    let hook = named("byg");
    assert_eq!(hook["capabilities"]["list_cases"], false, "{hook}");
    assert_eq!(hook["settings"]["headers"]["X-Api-Key"], "•••");
    assert_eq!(
        hook["settings"]["password"], "",
        "a secret not set is shown empty"
    );
    assert_eq!(named("f2")["settings"]["client_id"], "journaliser");
}
