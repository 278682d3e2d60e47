//! "Journalisér ved afsendelse": an intent recorded while writing, and the sent copy filed on
//! its case when its owner uploads it.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

const CASE: &str = "VK-2026-0031";
/// Restricted to the group `social` in the demo data.
const SOCIAL_CASE: &str = "VK-2026-0004";

async fn record(app: &TestApp, token: &str, body: Value) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/intents"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// The sent copy of a mail the compose pane stamped with `reference`, as Sent Items holds it.
fn sent_mail(reference: &str, message_id: &str) -> Vec<u8> {
    format!(
        "From: Anna Sagsbehandler <anna@vejstrand.example>\r\nTo: Test Testsen <test.testsen@borger.example>\r\n\
         Subject: Svar på din henvendelse\r\nDate: Wed, 25 Nov 2026 10:00:00 +0100\r\nMessage-ID: <{message_id}>\r\n\
         X-Journaliser-Ref: {reference}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         Kære Test. Vi har modtaget din henvendelse og vender tilbage.\r\n"
    )
    .into_bytes()
}

async fn intent(app: &TestApp, token: &str, reference: &str) -> reqwest::Response {
    app.get(&format!("/api/v1/intents/{reference}"), token)
        .await
}

#[tokio::test]
async fn the_sent_copy_is_filed_on_the_chosen_case_when_its_owner_uploads_it() {
    let app = TestApp::spawn().await;
    let response = record(
        &app,
        &app.token,
        json!({"case_id": CASE, "title": "Svar til borger"}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let created: Value = response.json().await.unwrap();
    let reference = created["reference"].as_str().unwrap().to_string();
    assert_eq!(
        (
            &created["case_id"],
            &created["title"],
            &created["state"],
            &created["filing_id"]
        ),
        (
            &json!(CASE),
            &json!("Svar til borger"),
            &json!("open"),
            &Value::Null
        ),
        "{created}"
    );
    // The header travels to the recipients: it says nothing about the case.
    let case: Value = app
        .get(&format!("/api/v1/cases/{CASE}"), &app.token)
        .await
        .json()
        .await
        .unwrap();
    for secret in [
        CASE,
        case["number"].as_str().unwrap(),
        case["title"].as_str().unwrap(),
        "Svar",
    ] {
        assert!(
            !reference.contains(secret),
            "{reference} gives away {secret}"
        );
    }
    assert!(reference.len() >= 20, "{reference}");
    let again: Value = record(&app, &app.token, json!({"case_id": CASE}))
        .await
        .json()
        .await
        .unwrap();
    assert_ne!(again["reference"], created["reference"]);

    let item = app
        .post_mail(sent_mail(&reference, "svar-1@vejstrand.example"))
        .await;
    let filings = item["filings"].as_array().unwrap();
    assert_eq!(filings.len(), 1, "{item}");
    assert_eq!(filings[0]["case_id"], CASE);
    assert_eq!(filings[0]["title"], "Svar til borger");
    let filing_id = filings[0]["id"].as_str().unwrap().to_string();

    let fulfilled: Value = intent(&app, &app.token, &reference)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(fulfilled["state"], "fulfilled");
    assert_eq!(fulfilled["filing_id"], filing_id.as_str());
    assert!(fulfilled["fulfilled_at"].is_string());
    assert_eq!(app.wait_settled(&filing_id).await["state"], "filed");

    // Uploading the same copy again changes nothing.
    let again = app
        .post_item(
            sent_mail(&reference, "svar-1@vejstrand.example"),
            "message/rfc822",
        )
        .await;
    assert_eq!(again.status(), StatusCode::OK);
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["filings"].as_array().unwrap().len(), 1, "{again}");

    // The audit log says the service decided, and why.
    let audit: Value = app
        .get(
            &format!("/api/v1/admin/audit?kind=filing_accepted&filing_id={filing_id}"),
            &app.admin_token,
        )
        .await
        .json()
        .await
        .unwrap();
    let details = &audit["events"][0]["details"];
    assert_eq!(details["decision"], "automatic", "{audit}");
    assert_eq!(details["automatic"]["evidence"], "intent", "{audit}");
    assert_eq!(details["evidence"]["intent"], reference.as_str(), "{audit}");
}

#[tokio::test]
async fn another_users_reference_and_unknown_references_file_nothing() {
    let app = TestApp::spawn().await;
    let created: Value = record(&app, &app.token, json!({"case_id": CASE}))
        .await
        .json()
        .await
        .unwrap();
    let reference = created["reference"].as_str().unwrap();

    // Bo uploads a mail carrying Anna's reference (a reply quoting it, or a guess).
    let bo = app.token_for("bo", &["social", "boern"]);
    let response = app
        .post_item_as(
            &bo,
            sent_mail(reference, "bo-1@vejstrand.example"),
            "message/rfc822",
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let item: Value = response.json().await.unwrap();
    assert!(item["filings"].as_array().unwrap().is_empty(), "{item}");
    // Nor may Bo look the intent up.
    assert_eq!(
        intent(&app, &bo, reference).await.status(),
        StatusCode::NOT_FOUND
    );
    let still: Value = intent(&app, &app.token, reference)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(still["state"], "open");

    let unknown = app
        .post_mail(sent_mail(
            "AAAAAAAAAAAAAAAAAAAAAA",
            "anna-2@vejstrand.example",
        ))
        .await;
    assert!(
        unknown["filings"].as_array().unwrap().is_empty(),
        "{unknown}"
    );
    assert_eq!(
        intent(&app, &app.token, "AAAAAAAAAAAAAAAAAAAAAA")
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn an_intent_needs_a_case_the_user_may_see() {
    let app = TestApp::spawn().await;
    let outsider = app.token_for("bo", &[]);
    let hidden = record(&app, &outsider, json!({"case_id": SOCIAL_CASE})).await;
    assert_eq!(hidden.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        record(&app, &app.token, json!({"case_id": "VK-2099-0001"}))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        record(&app, &app.token, json!({"case_id": SOCIAL_CASE}))
            .await
            .status(),
        StatusCode::CREATED
    );
    let unknown_field = record(&app, &app.token, json!({"case_id": CASE, "sag": "x"})).await;
    assert_eq!(unknown_field.status(), StatusCode::BAD_REQUEST);
    let anonymous = app
        .client
        .post(app.url("/api/v1/intents"))
        .json(&json!({"case_id": CASE}))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_cancelled_intent_files_nothing_and_only_its_owner_may_cancel_it() {
    let app = TestApp::spawn().await;
    let recorded: Value = record(&app, &app.token, json!({"case_id": CASE}))
        .await
        .json()
        .await
        .unwrap();
    let reference = recorded["reference"].as_str().unwrap();
    let cancel = |token: String, reference: String| {
        let app = &app;
        async move {
            app.client
                .delete(app.url(&format!("/api/v1/intents/{reference}")))
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    let other = app.token_for("bo", &[]);
    assert_eq!(
        cancel(other, reference.into()).await,
        StatusCode::NOT_FOUND,
        "not bo's to cancel"
    );
    assert_eq!(
        cancel(app.token.clone(), reference.into()).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        intent(&app, &app.token, reference).await.status(),
        StatusCode::NOT_FOUND
    );

    // The sent copy still carries the reference: it is an ordinary upload now.
    let item = app
        .post_mail(sent_mail(reference, "cancelled-1@vejstrand.example"))
        .await;
    assert_eq!(item["filings"], json!([]), "{item:#}");

    // A fulfilled intent cannot be cancelled any more.
    let recorded: Value = record(&app, &app.token, json!({"case_id": CASE}))
        .await
        .json()
        .await
        .unwrap();
    let reference = recorded["reference"].as_str().unwrap();
    app.post_mail(sent_mail(reference, "fulfilled-1@vejstrand.example"))
        .await;
    assert_eq!(
        cancel(app.token.clone(), reference.into()).await,
        StatusCode::CONFLICT
    );
}
