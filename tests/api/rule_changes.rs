//! Backtesting a rule before switching it on: the latest items decided again under today's
//! rules and under the change, with the items that would end up otherwise and nothing written;
//! then the rule switched on from the console acts on the next upload, and undone no longer
//! does, each a version in the one list of changes and in the audit log; only admins.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::autofile::{TILBYGNING, automatic, mail, upload_as};
use crate::changes::setting_changed_events;
use crate::helpers::*;

const BACKTEST: &str = "/api/v1/admin/backtest";
const CHANGES: &str = "/api/v1/admin/changes";
const CARPORT: &str = "VK-2026-0007";
const AUDIT: &str = "/api/v1/admin/audit?limit=10000";

fn from_tegnestuen(subject: &str, message_id: &str) -> Vec<u8> {
    mail(
        "Arkitekt <arkitekt@tegnestuen.example>",
        subject,
        "",
        "Vi sender hermed det aftalte materiale.",
        message_id,
    )
}

/// A rule that files the tegnestue's mail on the carport case.
fn tegnestuen_rule() -> Value {
    json!({
        "name": "Tegnestuen på carporten",
        "when": {"from": "tegnestuen.example"},
        "then": {"action": "file", "case_id": CARPORT}
    })
}

/// Uploads `bytes`, is shown suggestions and files the item on `case` as a person; its id.
async fn filed_by_a_person(app: &TestApp, bytes: Vec<u8>, case: &str) -> String {
    let item = upload_as(app, &app.token, bytes).await;
    assert!(automatic(&item).is_none(), "filed by itself: {item}");
    let id = item["id"].as_str().unwrap().to_string();
    app.suggestions(&id).await;
    let response = app.file(filing_body(&id, case)).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let filing: Value = response.json().await.unwrap();
    // Delivered, so that the audit log holds still while the backtest runs.
    app.wait_settled(filing["id"].as_str().unwrap()).await;
    id
}

async fn backtest(app: &TestApp, change: Value) -> reqwest::Response {
    app.post_json(
        BACKTEST,
        &app.admin_token,
        &json!({"change": change, "limit": 500}),
    )
    .await
}

async fn backtested(app: &TestApp, change: Value) -> Value {
    let response = backtest(app, change).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

async fn count(app: &TestApp, path: &str, key: &str) -> usize {
    app.get_json(path, &app.admin_token).await[key]
        .as_array()
        .unwrap()
        .len()
}

#[tokio::test]
async fn a_rule_is_backtested_switched_on_and_undone() {
    let app = TestApp::spawn().await;
    a_rule_is_backtested_switched_on_undone_and_audited(&app).await;
}

/// The whole round on `app`, a server with the demo organisation and no rules: shared with the
/// PostgreSQL tests.
pub async fn a_rule_is_backtested_switched_on_undone_and_audited(app: &TestApp) {
    let carport = filed_by_a_person(
        app,
        from_tegnestuen("Carport, Skovvej 12", "carport-1@tegnestuen.example"),
        CARPORT,
    )
    .await;
    let extension = filed_by_a_person(
        app,
        from_tegnestuen(
            "Tilbygning, Strandvejen 41",
            "tilbygning-1@tegnestuen.example",
        ),
        TILBYGNING,
    )
    .await;
    let neighbour = filed_by_a_person(
        app,
        mail(
            "Nabo <nabo@example.dk>",
            "Naboens carport",
            "",
            "Jeg har en bemærkning til carporten.",
            "nabo-1@example.dk",
        ),
        CARPORT,
    )
    .await;

    // Only admins try or apply a rule.
    let change = json!({"rule": tegnestuen_rule()});
    for path in [BACKTEST, CHANGES] {
        let refused = app
            .post_json(path, &app.token, &json!({"change": change}))
            .await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{path}");
    }

    // The two mails of the tegnestue would be filed by themselves, one of them wrongly.
    app.until_nothing_queued().await;
    let events_before = count(app, AUDIT, "events").await;
    let tried = backtested(app, change.clone()).await;
    assert_eq!(tried["matched"], 2, "{tried}");
    assert_eq!(tried["changed_count"], 2, "{tried}");
    let (today, after) = (&tried["today"], &tried["after"]);
    let figure = |side: &Value, name: &str| side[name].as_u64().unwrap();
    assert_eq!(
        figure(after, "auto_filed"),
        figure(today, "auto_filed") + 2,
        "{tried}"
    );
    assert_eq!(
        figure(after, "wrong"),
        figure(today, "wrong") + 1,
        "{tried}"
    );
    let examined = tried["examined"].as_f64().unwrap();
    assert!(examined >= 3.0, "{tried}");
    assert_eq!(
        after["share_auto_filed"].as_f64().unwrap(),
        figure(after, "auto_filed") as f64 / examined
    );
    let changed = tried["changed"].as_array().unwrap();
    let by_item = |id: &str| {
        changed
            .iter()
            .find(|c| c["item_id"] == id)
            .unwrap_or_else(|| panic!("{id} is not among the changed: {tried}"))
    };
    let wrong = by_item(&extension);
    assert_eq!(wrong["subject"], "Tilbygning, Strandvejen 41");
    assert_eq!(wrong["chosen_case_id"], TILBYGNING);
    assert_eq!(wrong["before"]["outcome"], "left", "{wrong}");
    assert_eq!(
        wrong["after"],
        json!({"outcome": "filed", "case_id": CARPORT, "evidence": "rule", "rule": "Tegnestuen på carporten"})
    );
    assert_eq!(by_item(&carport)["chosen_case_id"], CARPORT);
    assert!(changed.iter().all(|c| c["item_id"] != neighbour.as_str()));

    // Nothing was written: no rule, no change, no event, no filing.
    assert_eq!(count(app, "/api/v1/admin/rules", "rules").await, 0);
    assert_eq!(count(app, CHANGES, "changes").await, 0);
    assert_eq!(count(app, AUDIT, "events").await, events_before);
    for item in [&carport, &extension, &neighbour] {
        let shown = app
            .get_json(&format!("/api/v1/items/{item}"), &app.token)
            .await;
        assert_eq!(shown["filings"].as_array().unwrap().len(), 1, "{shown}");
    }

    // A wrong rule is refused in the words the rules API uses; a rule is no threshold.
    for (change, field) in [
        (
            json!({"rule": {"name": "x", "when": {"from": "a.example"}, "then": {"action": "file", "case_id": "VK-9999"}}}),
            "then.case_id",
        ),
        (
            json!({"rule": {"name": "x", "when": {}, "then": {"action": "skip"}}}),
            "when",
        ),
        (
            json!({"rule": {"id": "ingen", "name": "x", "when": {"from": "a.example"}, "then": {"action": "skip"}}}),
            "id",
        ),
        (
            json!({"rule": tegnestuen_rule(), "confidence_threshold": 0.9}),
            "change.rule",
        ),
    ] {
        let refused = backtest(app, change.clone()).await;
        assert_eq!(
            refused.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{change}"
        );
        let error: Value = refused.json().await.unwrap();
        assert_eq!(error["field"], field, "{error}");
    }

    // Switched on, it files the next mail of the tegnestue.
    let response = app
        .post_json(CHANGES, &app.admin_token, &json!({"change": change}))
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let applied: Value = response.json().await.unwrap();
    assert_eq!(applied["scope"], "rule", "{applied}");
    assert_eq!(applied["before"], Value::Null);
    assert_eq!(applied["after"]["name"], "Tegnestuen på carporten");
    let rule_id = applied["target"].as_str().unwrap().to_string();
    assert_eq!(applied["after"]["id"], rule_id.as_str());
    let next = upload_as(
        app,
        &app.token,
        from_tegnestuen("Carport, nye tegninger", "carport-2@tegnestuen.example"),
    )
    .await;
    let filing = automatic(&next).unwrap_or_else(|| panic!("not filed by the rule: {next}"));
    assert_eq!(filing["case_id"], CARPORT);
    assert_eq!(filing["automatic"]["evidence"], "rule");

    // The rule in force is today's; a new text for it is tried against it.
    let mut reviewing = tegnestuen_rule();
    reviewing["id"] = json!(rule_id);
    reviewing["then"] = json!({"action": "review", "queue": "byg"});
    let retried = backtested(app, json!({"rule": reviewing})).await;
    assert_eq!(retried["changed_count"], 3, "{retried}");
    assert_eq!(
        figure(&retried["after"], "sent_to_review"),
        figure(&retried["today"], "sent_to_review") + 3,
        "{retried}"
    );
    assert_eq!(
        figure(&retried["after"], "auto_filed") + 3,
        figure(&retried["today"], "auto_filed"),
        "{retried}"
    );

    // Undone: the rule the change made is gone, and the next mail waits for a person.
    let response = app
        .post_json(
            &format!("{CHANGES}/{}/undo", applied["version"]),
            &app.admin_token,
            &json!({}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let undone: Value = response.json().await.unwrap();
    assert_eq!(undone["undoes"], applied["version"], "{undone}");
    assert_eq!(undone["before"], applied["after"]);
    assert_eq!(undone["after"], Value::Null);
    assert_eq!(count(app, "/api/v1/admin/rules", "rules").await, 0);
    let later = upload_as(
        app,
        &app.token,
        from_tegnestuen("Carport, rettelse", "carport-3@tegnestuen.example"),
    )
    .await;
    assert!(automatic(&later).is_none(), "filed after the undo: {later}");
    let again = app
        .post_json(
            &format!("{CHANGES}/{}/undo", applied["version"]),
            &app.admin_token,
            &json!({}),
        )
        .await;
    assert_eq!(again.status(), StatusCode::CONFLICT);

    // One list of changes, and the audit log has each change and each version of the rule.
    let listed = app.get_json(CHANGES, &app.admin_token).await;
    let listed: Vec<(&Value, &Value)> = listed["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (&c["version"], &c["scope"]))
        .collect();
    assert_eq!(
        listed,
        [
            (&undone["version"], &json!("rule")),
            (&applied["version"], &json!("rule"))
        ]
    );
    let events = setting_changed_events(app).await;
    assert_eq!(events.len(), 2, "{events:?}");
    for (event, change) in events.iter().zip([&applied, &undone]) {
        assert_eq!(event["actor"], "root");
        assert_eq!(event["details"]["setting"], "rule");
        assert_eq!(event["details"]["change"]["version"], change["version"]);
        assert_eq!(event["details"]["change"]["rule_id"], rule_id.as_str());
    }
    let versions = app
        .get_json(
            "/api/v1/admin/audit?kind=rule_changed&order=oldest",
            &app.admin_token,
        )
        .await;
    let changes: Vec<&Value> = versions["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["details"]["change"])
        .collect();
    assert_eq!(
        changes,
        [&json!("created"), &json!("deleted")],
        "{versions}"
    );
}
