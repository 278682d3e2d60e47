//! Auto-journalisation through the API: each kind of evidence filing an upload by itself, each
//! "never" leaving it alone, the admins' rules, the review queue, and undo and move.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

/// Filed in the demo by a mail with this Message-ID.
pub const TILBYGNING: &str = "VK-2026-0001";
const TILBYGNING_MAIL: &str = "tilbygning-strandvejen41-1@borger.example";
const CARPORT: &str = "VK-2026-0007";
const CARPORT_NUMBER: &str = "02.34.02-G01-12-26";
/// Closed in the demo data.
const CLOSED_NUMBER: &str = "17.20.17-P20-41-25";
/// Only the group `social` may see it.
const SOCIAL_NUMBER: &str = "27.60.04-P20-21-26";

pub fn mail(from: &str, subject: &str, headers: &str, body: &str, message_id: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: Byggesag <byg@vejstrand.example>\r\nSubject: {subject}\r\n\
         Date: Wed, 25 Nov 2026 10:00:00 +0100\r\nMessage-ID: <{message_id}>\r\n{headers}\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

/// The automatic filing an upload made, if it made one.
pub fn automatic(item: &Value) -> Option<&Value> {
    item["filings"]
        .as_array()
        .and_then(|f| f.iter().find(|f| !f["automatic"].is_null()))
}

pub async fn upload_as(app: &TestApp, token: &str, bytes: Vec<u8>) -> Value {
    let response = app.post_item_as(token, bytes, "message/rfc822").await;
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json().await.unwrap()
}

async fn send(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Value,
) -> reqwest::Response {
    app.client
        .request(method, app.url(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_reply_in_a_filed_thread_and_a_case_number_at_the_top_are_filed_by_themselves() {
    let app = TestApp::spawn().await;
    let reply = upload_as(&app, &app.token, reply_to(TILBYGNING_MAIL, "Tilbygning")).await;
    let filing = automatic(&reply).unwrap_or_else(|| panic!("not filed: {reply}"));
    assert_eq!(filing["case_id"], TILBYGNING);
    assert_eq!(filing["automatic"]["evidence"], "thread");

    let numbered = mail(
        "Arkitekt <arkitekt@tegnestuen.example>",
        &format!("Reviderede tegninger, jeres sag {CARPORT_NUMBER}"),
        "",
        "Hermed de reviderede tegninger til carporten.",
        "tegninger-1@tegnestuen.example",
    );
    let item = upload_as(&app, &app.token, numbered).await;
    let filing = automatic(&item).unwrap_or_else(|| panic!("not filed: {item}"));
    assert_eq!(filing["case_id"], CARPORT);
    assert_eq!(filing["automatic"]["evidence"], "case_number");

    // The audit record names the decision and its evidence.
    let audit: Value = app
        .get(
            &format!(
                "/api/v1/admin/audit?kind=filing_accepted&filing_id={}",
                filing["id"].as_str().unwrap()
            ),
            &app.admin_token,
        )
        .await
        .json()
        .await
        .unwrap();
    let details = &audit["events"][0]["details"];
    assert_eq!(details["decision"], "automatic", "{audit}");
    assert_eq!(details["automatic"]["evidence"], "case_number");
    assert_eq!(details["evidence"]["case_number"], CARPORT_NUMBER);

    // It is delivered like any filing.
    let settled = app.wait_settled(filing["id"].as_str().unwrap()).await;
    assert_eq!(settled["state"], "filed", "{settled}");
}

#[tokio::test]
async fn closed_invisible_disagreeing_and_machine_sent_items_are_never_filed_by_themselves() {
    let app = TestApp::spawn().await;
    let outsider = app.token_for("ole", &[]);
    let cases = [
        (
            "a closed case",
            app.token.clone(),
            format!("Vedr. {CLOSED_NUMBER}"),
            String::new(),
            "",
        ),
        (
            "a case the owner may not see",
            outsider,
            format!("Vedr. {SOCIAL_NUMBER}"),
            String::new(),
            "",
        ),
        (
            "two cases named",
            app.token.clone(),
            format!("Vedr. {CARPORT_NUMBER}"),
            "Se også sag 02.34.02-G01-3-26 om tilbygningen.".to_string(),
            "",
        ),
        (
            "an auto-reply",
            app.token.clone(),
            format!("Autosvar: Vedr. {CARPORT_NUMBER}"),
            String::new(),
            "Auto-Submitted: auto-replied\r\n",
        ),
    ];
    for (n, (what, token, subject, body, headers)) in cases.into_iter().enumerate() {
        let bytes = mail(
            "Borger <borger@example.dk>",
            &subject,
            headers,
            &format!("Hej.\r\n\r\n{body}"),
            &format!("never-{n}@example.dk"),
        );
        let item = upload_as(&app, &token, bytes).await;
        assert!(automatic(&item).is_none(), "{what} was filed: {item}");
    }
    // Without the header, the same auto-reply would have been filed: the header is what stops it.
    let item = upload_as(
        &app,
        &app.token,
        mail(
            "Borger <borger@example.dk>",
            &format!("Vedr. {CARPORT_NUMBER}"),
            "",
            "Hej.",
            "plain@example.dk",
        ),
    )
    .await;
    assert!(automatic(&item).is_some(), "{item}");

    // Delivery reports, read receipts and bounces of the test corpus are never filed.
    let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/eml/mimekit/messages");
    let mut tried = 0;
    for name in [
        "bounce.txt",
        "delivery-status.txt",
        "delivery-status2.txt",
        "disposition-notification.txt",
        "feedback-report.txt",
    ] {
        let bytes = std::fs::read(corpus.join(name)).unwrap();
        let response = app.post_item(bytes, "message/rfc822").await;
        assert!(
            response.status().is_success(),
            "{name}: {}",
            response.status()
        );
        let item: Value = response.json().await.unwrap();
        assert!(automatic(&item).is_none(), "{name} was filed: {item}");
        tried += 1;
    }
    assert_eq!(tried, 5);
}

/// A mail the ranker puts on `TILBYGNING` with no thread or case number to go by.
pub fn drawings_sent_later(message_id: &str) -> Vec<u8> {
    mail(
        "Henrik Damgaard <henrik.damgaard@borger.example>",
        "Tegninger til tilbygning, Strandvejen 41",
        "",
        "Kære byggesagsafdeling\n\nHermed eftersendes de sidste tegninger til ansøgningen om byggetilladelse til tilbygning til parcelhus, Strandvejen 41.",
        message_id,
    )
}

#[tokio::test]
async fn a_confidence_threshold_files_what_the_ranker_is_sure_of_and_only_when_set() {
    let bytes = || drawings_sent_later("eftersendt-1@borger.example");
    let off = TestApp::spawn().await;
    let item = upload_as(&off, &off.token, bytes()).await;
    assert!(
        automatic(&item).is_none(),
        "filed with no threshold set: {item}"
    );
    let suggestions = off.suggestions(item["id"].as_str().unwrap()).await;
    let first = &suggestions["suggestions"][0];
    let confidence = first["confidence"].as_f64().unwrap();
    assert_eq!(first["case"]["id"], TILBYGNING, "{suggestions}");

    let threshold = (confidence - 0.05).max(0.5);
    let on =
        TestApp::spawn_with(|config| config.autofile.confidence_threshold = Some(threshold)).await;
    let item = upload_as(&on, &on.token, bytes()).await;
    let filing = automatic(&item).unwrap_or_else(|| panic!("not filed at {threshold}: {item}"));
    assert_eq!(filing["case_id"], TILBYGNING);
    assert_eq!(filing["automatic"]["evidence"], "confidence");
    assert!(filing["automatic"]["confidence"].as_f64().unwrap() >= threshold);
}

#[tokio::test]
async fn rules_are_validated_versioned_audited_tried_and_acted_on() {
    let app = TestApp::spawn().await;
    let rules = "/api/v1/admin/rules";
    // Only admins.
    let refused = send(&app, reqwest::Method::GET, rules, &app.token, Value::Null).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    // A bad rule is refused with the field and the reason.
    for (body, field) in [
        (
            json!({"name": "Uden betingelser", "when": {}, "then": {"action": "skip"}}),
            "when",
        ),
        (
            json!({"name": "Forkert regex", "when": {"subject_regex": "(carport"}, "then": {"action": "skip"}}),
            "when.subject_regex",
        ),
        (
            json!({"name": "Ukendt sag", "when": {"from": "tegnestuen.example"}, "then": {"action": "file", "case_id": "VK-9999"}}),
            "then.case_id",
        ),
    ] {
        let response = send(&app, reqwest::Method::POST, rules, &app.admin_token, body).await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["field"], field, "{error}");
    }
    let rule = json!({
        "name": "Byggesager fra tegnestuen",
        "when": {"from": "tegnestuen.example", "subject_contains": "carport"},
        "then": {"action": "file", "case_id": CARPORT}
    });
    let response = send(
        &app,
        reqwest::Method::POST,
        rules,
        &app.admin_token,
        rule.clone(),
    )
    .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let created: Value = response.json().await.unwrap();
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(created["version"], 1);

    // Tried on the latest items before it acts on new ones.
    let earlier = mail(
        "Arkitekt <arkitekt@tegnestuen.example>",
        "Spørgsmål om carport",
        "",
        "Hvornår kan vi forvente svar?",
        "tidligere@tegnestuen.example",
    );
    let before = upload_as(&app, &app.token, earlier).await;
    let tried: Value = send(
        &app,
        reqwest::Method::POST,
        &format!("{rules}/test"),
        &app.admin_token,
        json!({"rule": rule, "limit": 50}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(tried["matched"], 1, "{tried}");
    assert_eq!(tried["items"][0]["item_id"], before["id"]);
    assert_eq!(tried["items"][0]["would"], "file");

    let item = upload_as(
        &app,
        &app.token,
        mail(
            "Arkitekt <arkitekt@tegnestuen.example>",
            "Ny tegning af carport",
            "",
            "Se vedhæftede.",
            "ny@tegnestuen.example",
        ),
    )
    .await;
    let filing = automatic(&item).unwrap_or_else(|| panic!("not filed by the rule: {item}"));
    assert_eq!(filing["case_id"], CARPORT);
    assert_eq!(filing["automatic"]["evidence"], "rule");
    assert_eq!(
        filing["automatic"]["rule"]["name"],
        "Byggesager fra tegnestuen"
    );
    // Another sender is not the rule's.
    let other = upload_as(
        &app,
        &app.token,
        mail(
            "Nabo <nabo@example.dk>",
            "Nabos carport",
            "",
            "Jeg klager.",
            "nabo@example.dk",
        ),
    )
    .await;
    assert!(automatic(&other).is_none(), "{other}");

    // A rule that suggests becomes a reason of its own.
    let suggesting = json!({
        "name": "Klager over carporte", "order": 1,
        "when": {"subject_contains": ["klage over carport"]},
        "then": {"action": "suggest", "case_id": CARPORT}
    });
    let response = send(
        &app,
        reqwest::Method::POST,
        rules,
        &app.admin_token,
        suggesting,
    )
    .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let item = upload_as(
        &app,
        &app.token,
        mail(
            "Nabo <nabo@example.dk>",
            "Klage over carport",
            "",
            "Den skygger for min have.",
            "klage@example.dk",
        ),
    )
    .await;
    let suggestions = app.suggestions(item["id"].as_str().unwrap()).await;
    let carport = suggestions["suggestions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["case"]["id"] == CARPORT)
        .unwrap_or_else(|| panic!("{suggestions}"));
    let texts: Vec<&str> = carport["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["text"].as_str())
        .collect();
    assert!(
        texts.contains(&"Reglen «Klager over carporte» peger på sagen"),
        "{texts:?}"
    );

    // Changed: a new version; deleted: gone; every change audited.
    let mut changed = rule.clone();
    changed["enabled"] = json!(false);
    let response = send(
        &app,
        reqwest::Method::PUT,
        &format!("{rules}/{id}"),
        &app.admin_token,
        changed,
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.json::<Value>().await.unwrap()["version"], 2);
    let response = send(
        &app,
        reqwest::Method::DELETE,
        &format!("{rules}/{id}"),
        &app.admin_token,
        Value::Null,
    )
    .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let gone = app.get(&format!("{rules}/{id}"), &app.admin_token).await;
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
    let audit: Value = app
        .get(
            "/api/v1/admin/audit?kind=rule_changed&order=oldest",
            &app.admin_token,
        )
        .await
        .json()
        .await
        .unwrap();
    let changes: Vec<&str> = audit["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["details"]["rule_id"] == id.as_str())
        .filter_map(|e| e["details"]["change"].as_str())
        .collect();
    assert_eq!(changes, ["created", "changed", "deleted"], "{audit}");
}

#[tokio::test]
async fn a_review_queue_is_worked_by_one_person_at_a_time() {
    let app = TestApp::spawn().await;
    let rule = json!({
        "name": "Naboklager til gennemsyn",
        "when": {"subject_contains": "naboklage"},
        "then": {"action": "review", "queue": "byg"}
    });
    let response = send(
        &app,
        reqwest::Method::POST,
        "/api/v1/admin/rules",
        &app.admin_token,
        rule,
    )
    .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let item = upload_as(
        &app,
        &app.token,
        mail(
            "Nabo <nabo@example.dk>",
            "Naboklage over carport på Skovvej 12",
            "",
            "Carporten er for høj.",
            "naboklage@example.dk",
        ),
    )
    .await;
    assert!(automatic(&item).is_none());
    let item_id = item["id"].as_str().unwrap();

    let (mette, lars, outsider) = (
        app.token_for("mette", &["byg"]),
        app.token_for("lars", &["byg"]),
        app.token_for("ole", &["social"]),
    );
    let queue: Value = app
        .get("/api/v1/review?queue=byg", &mette)
        .await
        .json()
        .await
        .unwrap();
    let entry = &queue["items"][0];
    assert_eq!(entry["item_id"], item_id, "{queue}");
    assert_eq!(entry["why"], "rule_says_review");
    assert!(
        entry["suggestions"]
            .as_array()
            .is_some_and(|s| !s.is_empty()),
        "{entry}"
    );
    let hidden: Value = app
        .get("/api/v1/review?queue=byg", &outsider)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(hidden["items"], json!([]));

    let claim = |token: String| {
        let app = &app;
        async move {
            send(
                app,
                reqwest::Method::POST,
                &format!("/api/v1/review/{item_id}/claim"),
                &token,
                Value::Null,
            )
            .await
            .status()
        }
    };
    assert_eq!(claim(mette.clone()).await, StatusCode::OK);
    assert_eq!(claim(lars.clone()).await, StatusCode::CONFLICT);
    assert_eq!(claim(outsider.clone()).await, StatusCode::NOT_FOUND);
    // Only the claimant files it, through the ordinary filing route.
    let refused = app.file_as(&lars, filing_body(item_id, CARPORT)).await;
    assert_eq!(refused.status(), StatusCode::NOT_FOUND);
    let filed = app.file_as(&mette, filing_body(item_id, CARPORT)).await;
    assert_eq!(filed.status(), StatusCode::ACCEPTED);
    let queue: Value = app
        .get("/api/v1/review?queue=byg", &mette)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(queue["items"], json!([]), "{queue}");
}

#[tokio::test]
async fn an_undone_filing_leaves_the_archive_and_a_move_teaches_the_thread() {
    let app = TestApp::spawn().await;
    let item = upload_as(&app, &app.token, reply_to(TILBYGNING_MAIL, "Tilbygning")).await;
    let filing = automatic(&item).unwrap().clone();
    let id = filing["id"].as_str().unwrap();
    let filed = app.wait_settled(id).await;
    assert_eq!(filed["state"], "filed");
    let before = archived_documents(&app.archive(), TILBYGNING).len();

    let response = send(
        &app,
        reqwest::Method::POST,
        &format!("/api/v1/filings/{id}/undo"),
        &app.token,
        json!({"reason": "forkert sag", "move_to": CARPORT}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let undone: Value = response.json().await.unwrap();
    assert_eq!(undone["state"], "withdrawn", "{undone}");
    assert_eq!(undone["withdrawal"]["reason"], "forkert sag");
    let moved_id = undone["moved_to"]["id"].as_str().unwrap().to_string();
    assert_eq!(undone["moved_to"]["case_id"], CARPORT);

    // The worker takes the document back: it leaves the case for its _withdrawn folder.
    let mut withdrawal = Value::Null;
    for _ in 0..300 {
        withdrawal = app.filing(id).await["withdrawal"].clone();
        if withdrawal["state"] != "pending" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(withdrawal["state"], "done", "{withdrawal}");
    assert_eq!(
        archived_documents(&app.archive(), TILBYGNING).len(),
        before - 1
    );
    let withdrawn = app.archive().join(TILBYGNING).join("_withdrawn");
    let moved_aside: Vec<_> = std::fs::read_dir(&withdrawn).unwrap().collect();
    assert_eq!(moved_aside.len(), 1);
    assert_eq!(app.wait_settled(&moved_id).await["state"], "filed");

    // Twice is once.
    let again = send(
        &app,
        reqwest::Method::POST,
        &format!("/api/v1/filings/{id}/undo"),
        &app.token,
        json!({}),
    )
    .await;
    assert_eq!(again.status(), StatusCode::CONFLICT);

    // The next mail of the thread follows the correction.
    let next = String::from(
        "From: Henrik Damgaard <henrik.damgaard@borger.example>\r\nTo: byg@vejstrand.example\r\nSubject: SV: Tilbygning\r\n\
         Date: Thu, 26 Nov 2026 10:00:00 +0100\r\nMessage-ID: <reply-2@borger.example>\r\nIn-Reply-To: <reply-1@borger.example>\r\n\
         References: <reply-1@borger.example>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nEndnu et spørgsmål.\r\n",
    );
    let item = upload_as(&app, &app.token, next.into_bytes()).await;
    let filing = automatic(&item).unwrap_or_else(|| panic!("{item}"));
    assert_eq!(filing["case_id"], CARPORT, "{item}");
}

#[tokio::test]
async fn a_queued_filing_undone_never_leaves_and_the_window_closes() {
    let app = TestApp::spawn_with(|config| config.filing.poll_interval_ms = 60_000).await;
    // Once the demo's own filings are delivered, the idle worker waits a minute before it looks
    // again: a filing made now stays queued.
    for _ in 0..300 {
        let queued: Value = app
            .get("/api/v1/admin/filings?state=queued", &app.admin_token)
            .await
            .json()
            .await
            .unwrap();
        if queued["filings"].as_array().is_some_and(|f| f.is_empty()) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let item = app.post_mail(fixture(FIXTURE_MAIL)).await;
    let response = app
        .file(filing_body(item["id"].as_str().unwrap(), CARPORT))
        .await;
    let filing: Value = response.json().await.unwrap();
    let id = filing["id"].as_str().unwrap();
    let undone: Value = send(
        &app,
        reqwest::Method::POST,
        &format!("/api/v1/filings/{id}/undo"),
        &app.token,
        json!({}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(undone["state"], "withdrawn");
    assert_eq!(undone["withdrawal"]["state"], "done", "{undone}");
    assert_eq!(undone["delivery"], "queued");
    assert!(
        archived_documents(&app.archive(), CARPORT)
            .iter()
            .all(|d| !d.to_string_lossy().contains(id))
    );

    // Someone who may not see the case hears of no such filing.
    let social = app
        .file(filing_body(item["id"].as_str().unwrap(), "VK-2026-0004"))
        .await;
    let social: Value = social.json().await.unwrap();
    let outsider = app.token_for("ole", &["ingen"]);
    let path = format!("/api/v1/filings/{}/undo", social["id"].as_str().unwrap());
    let hidden = send(&app, reqwest::Method::POST, &path, &outsider, json!({})).await;
    assert_eq!(hidden.status(), StatusCode::NOT_FOUND);

    let closed = TestApp::spawn_with(|config| config.autofile.undo_days = 0).await;
    let item = closed.post_mail(fixture(FIXTURE_MAIL)).await;
    let filing: Value = closed
        .file(filing_body(item["id"].as_str().unwrap(), CARPORT))
        .await
        .json()
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let late = send(
        &closed,
        reqwest::Method::POST,
        &format!("/api/v1/filings/{}/undo", filing["id"].as_str().unwrap()),
        &closed.token,
        json!({}),
    )
    .await;
    assert_eq!(late.status(), StatusCode::CONFLICT);
}
