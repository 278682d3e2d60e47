//! Applying a backtested threshold from the console: the next upload is decided under it with
//! no restart, an undo brings the value before it back, every change is a version in the list
//! and the audit log, and only admins may make them.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::autofile::{TILBYGNING, automatic, drawings_sent_later, upload_as};
use crate::graph_mailboxes::{MAILBOX, moved_categories, watched};
use crate::graph_standin::GraphStandin;
use crate::helpers::*;
use crate::mailboxes::until;

const CHANGES: &str = "/api/v1/admin/changes";
/// Only the group `social` may see it.
const WHEELCHAIR: &str = "VK-2026-0004";

async fn apply(app: &TestApp, change: Value) -> reqwest::Response {
    app.post_json(CHANGES, &app.admin_token, &json!({"change": change}))
        .await
}

/// Applies `change`, which must be taken, and returns the version it made.
async fn applied(app: &TestApp, change: Value) -> Value {
    let response = apply(app, change).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json().await.unwrap()
}

async fn undo(app: &TestApp, version: &Value) -> reqwest::Response {
    app.post_json(
        &format!("{CHANGES}/{version}/undo"),
        &app.admin_token,
        &json!({}),
    )
    .await
}

/// Uploads `mail`, which no threshold files yet, and returns a threshold a little below the
/// ranker's confidence in its first case, `case`, in hundredths as an admin types it.
async fn threshold_below(app: &TestApp, mail: Vec<u8>, case: &str) -> f64 {
    let item = upload_as(app, &app.token, mail).await;
    assert!(
        automatic(&item).is_none(),
        "filed with no threshold: {item}"
    );
    let suggestions = app.suggestions(item["id"].as_str().unwrap()).await;
    let first = &suggestions["suggestions"][0];
    assert_eq!(first["case"]["id"], case, "{suggestions}");
    let confidence = first["confidence"].as_f64().unwrap();
    assert!(
        confidence >= 0.5,
        "the ranker is too unsure to try: {suggestions}"
    );
    ((confidence - 0.05).max(0.5) * 100.0).floor() / 100.0
}

/// The whole round on `app`, a server with no threshold configured: shared with the
/// PostgreSQL tests.
pub async fn a_threshold_is_applied_live_undone_and_audited(app: &TestApp) {
    let threshold = threshold_below(
        app,
        drawings_sent_later("eftersendt-a@borger.example"),
        TILBYGNING,
    )
    .await;

    // A user may neither apply, list nor undo.
    let change = json!({"confidence_threshold": threshold});
    for (path, body) in [
        (CHANGES.to_string(), json!({"change": change})),
        (format!("{CHANGES}/1/undo"), json!({})),
    ] {
        let refused = app.post_json(&path, &app.token, &body).await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{path}");
    }
    assert_eq!(
        app.get(CHANGES, &app.token).await.status(),
        StatusCode::FORBIDDEN
    );

    let applied = applied(app, change.clone()).await;
    assert_eq!(applied["scope"], "organisation", "{applied}");
    assert_eq!(
        applied["before"],
        json!({"confidence_threshold": null, "configured": true})
    );
    assert_eq!(
        applied["after"],
        json!({"confidence_threshold": threshold, "configured": false})
    );
    assert_eq!(applied["changed_by"], "root");

    // The next upload is decided under it, and the backtest's "today" is it.
    let after = upload_as(
        app,
        &app.token,
        drawings_sent_later("eftersendt-b@borger.example"),
    )
    .await;
    let filing = automatic(&after).unwrap_or_else(|| panic!("not filed at {threshold}: {after}"));
    assert_eq!(filing["case_id"], TILBYGNING);
    assert_eq!(filing["automatic"]["evidence"], "confidence");
    let backtest: Value = app
        .post_json(
            "/api/v1/admin/backtest",
            &app.admin_token,
            &json!({"change": {"confidence_threshold": 0.99}}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        backtest["today"]["confidence_threshold"], threshold,
        "{backtest}"
    );

    // Undone: a new version with the value from before, and the next upload waits again.
    let response = undo(app, &applied["version"]).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let undone: Value = response.json().await.unwrap();
    assert_eq!(undone["undoes"], applied["version"], "{undone}");
    assert_ne!(undone["version"], applied["version"]);
    assert_eq!(undone["before"], applied["after"]);
    assert_eq!(undone["after"], applied["before"]);
    let later = upload_as(
        app,
        &app.token,
        drawings_sent_later("eftersendt-c@borger.example"),
    )
    .await;
    assert!(automatic(&later).is_none(), "filed after the undo: {later}");

    // Undoing it again would change nothing; a version that does not exist is not found.
    assert_eq!(
        undo(app, &applied["version"]).await.status(),
        StatusCode::CONFLICT
    );
    assert_eq!(
        undo(app, &json!("nine")).await.status(),
        StatusCode::NOT_FOUND
    );

    let listed = app.get_json(CHANGES, &app.admin_token).await;
    let versions: Vec<&Value> = listed["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["version"])
        .collect();
    assert_eq!(
        versions,
        [&undone["version"], &applied["version"]],
        "{listed}"
    );

    let events = setting_changed_events(app).await;
    assert_eq!(events.len(), 2, "{events:?}");
    for (event, change) in events.iter().zip([&applied, &undone]) {
        assert_eq!(event["actor"], "root");
        let recorded = &event["details"]["change"];
        for field in ["version", "scope", "before", "after", "undoes"] {
            assert_eq!(recorded[field], change[field], "{field}: {event}");
        }
    }
}

#[tokio::test]
async fn a_threshold_applied_from_the_console_counts_at_once_and_is_undone() {
    let app = TestApp::spawn().await;
    a_threshold_is_applied_live_undone_and_audited(&app).await;
}

#[tokio::test]
async fn a_change_names_one_scope_a_watched_mailbox_and_a_threshold_in_range() {
    let app = TestApp::spawn().await;
    for (change, field) in [
        (
            json!({"confidence_threshold": 0.8, "mailbox": "byg", "group": "social"}),
            "change.mailbox",
        ),
        (
            json!({"confidence_threshold": 0.2}),
            "change.confidence_threshold",
        ),
    ] {
        let refused = apply(&app, change).await;
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let error: Value = refused.json().await.unwrap();
        assert_eq!(error["field"], field, "{error}");
    }
    // A mailbox that is watched, at an address where no server answers.
    let app = TestApp::spawn_with(|config| {
        config.mailboxes.push(journaliser::config::MailboxConfig {
            name: "byg".into(),
            host: "127.0.0.1".into(),
            port: 1,
            ..Default::default()
        })
    })
    .await;
    let refused = apply(
        &app,
        json!({"confidence_threshold": 0.8, "mailbox": "byg", "group": "social"}),
    )
    .await;
    let error: Value = refused.json().await.unwrap();
    assert_eq!(error["field"], "change.group", "{error}");
    let mailbox = applied(&app, json!({"confidence_threshold": 0.8, "mailbox": "byg"})).await;
    assert_eq!(
        (&mailbox["scope"], &mailbox["target"]),
        (&json!("mailbox"), &json!("byg"))
    );
    let unit = applied(
        &app,
        json!({"confidence_threshold": null, "group": "social"}),
    )
    .await;
    assert_eq!(unit["after"]["confidence_threshold"], Value::Null, "{unit}");
    assert_eq!(
        (&unit["scope"], &unit["target"]),
        (&json!("group"), &json!("social"))
    );
}

/// A mail the ranker puts on the wheelchair case, which only the group `social` may see.
fn wheelchair(message_id: &str) -> Vec<u8> {
    crate::autofile::mail(
        "Lene Skov Madsen <lene.skov.madsen@borger.example>",
        "Kørestol til Poul Erik Skov",
        "",
        "Hej Visitation og Hjælpemidler\n\nHvornår bliver kørestolen til min far, Poul Erik Skov på Granvænget 5, udleveret fra hjælpemiddeldepotet?",
        message_id,
    )
}

#[tokio::test]
async fn a_units_threshold_counts_over_the_organisations_for_the_units_cases() {
    let app = TestApp::spawn().await;
    let threshold =
        threshold_below(&app, wheelchair("korestol-1@borger.example"), WHEELCHAIR).await;

    // The unit's own threshold files its case, with the organisation's still off.
    applied(
        &app,
        json!({"confidence_threshold": threshold, "group": "social"}),
    )
    .await;
    let second = upload_as(&app, &app.token, wheelchair("korestol-2@borger.example")).await;
    let filing = automatic(&second).unwrap_or_else(|| panic!("not filed at {threshold}: {second}"));
    assert_eq!(filing["case_id"], WHEELCHAIR);
    assert_eq!(filing["automatic"]["evidence"], "confidence");

    // Switched off for the unit, the organisation's threshold no longer reaches its cases.
    applied(&app, json!({"confidence_threshold": threshold})).await;
    applied(
        &app,
        json!({"confidence_threshold": null, "group": "social"}),
    )
    .await;
    let third = upload_as(&app, &app.token, wheelchair("korestol-3@borger.example")).await;
    assert!(
        automatic(&third).is_none(),
        "filed with the unit's threshold off: {third}"
    );
}

#[tokio::test]
async fn a_mailboxs_threshold_files_its_mail_and_leaves_uploads_to_their_person() {
    let standin = GraphStandin::start().await;
    standin.add_mail_user(MAILBOX);
    let config = watched(&standin);
    let app = TestApp::spawn_with(move |c| c.mailboxes = vec![config]).await;
    // Each mail delivered is decided and moved; the categories of all moved so far.
    let decided = async |message_id: &str| {
        let before = standin.mails_in(MAILBOX, "Journaliseret").len();
        standin.deliver_mail(MAILBOX, "inbox", &drawings_sent_later(message_id));
        until(60, "the mail moved", async || {
            standin.mails_in(MAILBOX, "Journaliseret").len() > before
        })
        .await;
        moved_categories(&standin)
    };
    assert_eq!(
        decided("postkasse-1@borger.example").await,
        [["Til gennemsyn"]]
    );
    applied(&app, json!({"confidence_threshold": 0.5, "mailbox": "byg"})).await;
    assert_eq!(
        decided("postkasse-2@borger.example").await,
        [["Journaliseret"], ["Til gennemsyn"]]
    );
    // The organisation's threshold is still off: an upload waits for its person.
    let upload = upload_as(
        &app,
        &app.token,
        drawings_sent_later("upload-1@borger.example"),
    )
    .await;
    assert!(automatic(&upload).is_none(), "{upload}");
}

/// The audit log's changes of settings, oldest first.
pub async fn setting_changed_events(app: &TestApp) -> Vec<Value> {
    let audit = app
        .get_json(
            "/api/v1/admin/audit?kind=setting_changed&order=oldest",
            &app.admin_token,
        )
        .await;
    audit["events"].as_array().unwrap().clone()
}
