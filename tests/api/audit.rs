//! The audit log: a whole flow recorded in order, for admins only, and the same in every export.

use reqwest::{Response, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;

/// A case without demo documents, so its archive folder does not exist until a test makes one.
const FAILING_CASE: &str = "VK-2026-0033";
const CPR: &str = "150385-1234";

async fn audit(app: &TestApp, token: &str, query: &[(&str, &str)]) -> Response {
    app.client
        .get(app.url("/api/v1/admin/audit"))
        .bearer_auth(token)
        .query(query)
        .send()
        .await
        .unwrap()
}

async fn events(app: &TestApp, query: &[(&str, &str)]) -> Vec<Value> {
    let response = audit(app, &app.admin_token, query).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    body["events"].as_array().unwrap().clone()
}

fn summary(events: &[Value]) -> Vec<(String, String, String)> {
    events
        .iter()
        .map(|e| {
            let text = |key: &str| e[key].as_str().unwrap_or_default().to_string();
            (text("kind"), text("actor"), text("filing_id"))
        })
        .collect()
}

fn expected(rows: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
    rows.iter()
        .map(|(kind, actor, filing)| (kind.to_string(), actor.to_string(), filing.to_string()))
        .collect()
}

#[tokio::test]
async fn a_whole_flow_is_recorded_in_order_and_exported_alike() {
    let app = TestApp::spawn_with(|config| config.filing.max_attempts = 2).await;
    // The demo organisation's filings were accepted before this; their deliveries may still
    // be running, so the events below are picked by filing.
    let started = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);

    let item = app.post_mail(fixture(FIXTURE_MAIL)).await;
    let item_id = item["id"].as_str().unwrap();
    let item_hash = item["sha256"].as_str().unwrap();
    let suggestions = app.suggestions(item_id).await;
    let shown: Vec<&str> = suggestions["suggestions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["case"]["id"].as_str().unwrap())
        .collect();
    let chosen = shown[0];

    // Filed on the first suggestion and delivered; filed again: the same filing back.
    let response = app.file(filing_body(item_id, chosen)).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let first: Value = response.json().await.unwrap();
    let first_id = first["id"].as_str().unwrap();
    let first_filed = app.wait_settled(first_id).await;
    assert_eq!(first_filed["state"], "filed", "{first_filed:#}");
    let again = app.file(filing_body(item_id, chosen)).await;
    assert_eq!(again.status(), StatusCode::OK);

    // A file where the case's archive folder belongs: both attempts fail, an admin retries
    // once it is gone. The title carries a CPR number, which must not reach the log.
    std::fs::create_dir_all(app.archive()).unwrap();
    let blocker = app.archive().join(FAILING_CASE);
    std::fs::write(&blocker, b"not a folder").unwrap();
    let mut body = filing_body(item_id, FAILING_CASE);
    body["title"] = json!(format!("Henvendelse om {CPR}"));
    let response = app.file(body).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let second: Value = response.json().await.unwrap();
    let second_id = second["id"].as_str().unwrap();
    assert_eq!(app.wait_settled(second_id).await["state"], "failed");
    std::fs::remove_file(&blocker).unwrap();
    let retried = app
        .client
        .post(app.url(&format!("/api/v1/admin/filings/{second_id}/retry")))
        .bearer_auth(&app.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(retried.status(), StatusCode::ACCEPTED);
    let second_filed = app.wait_settled(second_id).await;
    assert_eq!(second_filed["state"], "filed", "{second_filed:#}");

    let all = events(&app, &[("from", &started), ("order", "oldest")]).await;
    let ours: Vec<Value> = all
        .into_iter()
        .filter(|e| e["filing_id"] == first_id || e["filing_id"] == second_id)
        .collect();
    assert_eq!(
        summary(&ours),
        expected(&[
            ("filing_accepted", "anna", first_id),
            ("filing_delivered", "system", first_id),
            ("filing_duplicate", "anna", first_id),
            ("filing_accepted", "anna", second_id),
            ("filing_retry_scheduled", "system", second_id),
            ("filing_failed", "system", second_id),
            ("filing_requeued", "root", second_id),
            ("filing_delivered", "system", second_id),
        ]),
        "{ours:#?}"
    );
    assert!(ours.iter().all(|e| e["item_hash"] == item_hash));
    let cases: Vec<&str> = ours
        .iter()
        .map(|e| e["case_id"].as_str().unwrap())
        .collect();
    assert_eq!(cases[..3], [chosen; 3]);
    assert_eq!(cases[3..], [FAILING_CASE; 5]);

    let shown_ranked: Vec<Value> = shown
        .iter()
        .zip(1..)
        .map(|(case_id, rank)| json!({"case_id": case_id, "rank": rank}))
        .collect();
    assert_eq!(
        ours[0]["details"],
        json!({"decision": "manual", "suggestions_shown": shown_ranked, "chosen_rank": 1, "result": "queued"})
    );
    assert_eq!(
        ours[1]["details"],
        json!({"attempt": 1, "target_document_id": first_filed["target_document_id"], "confirmed": true})
    );
    assert_eq!(ours[2]["details"]["result"], "filed");
    assert_eq!(ours[2]["details"]["suggestions_shown"], json!(shown_ranked));
    let failing_rank = shown.iter().position(|c| *c == FAILING_CASE).map(|p| p + 1);
    assert_eq!(ours[3]["details"]["chosen_rank"], json!(failing_rank));
    assert_eq!(ours[4]["details"]["attempt"], 1);
    assert_eq!(ours[5]["details"]["attempt"], 2);
    for reason in [
        &ours[4]["details"]["reason"],
        &ours[5]["details"]["reason"],
        &ours[6]["details"]["previous_error"],
    ] {
        assert!(reason.as_str().unwrap().contains("archive"), "{reason}");
    }
    assert_eq!(
        ours[7]["details"]["target_document_id"],
        second_filed["target_document_id"]
    );

    // The filters, alone and together.
    let newest_first = events(&app, &[("filing_id", second_id)]).await;
    let mut oldest_first = ours[3..].to_vec();
    oldest_first.reverse();
    assert_eq!(newest_first, oldest_first);
    let latest = events(&app, &[("filing_id", second_id), ("limit", "1")]).await;
    assert_eq!(latest, ours[7..]);
    let by_admin = events(&app, &[("actor", "root")]).await;
    assert_eq!(by_admin, ours[6..7]);
    let duplicates = events(
        &app,
        &[
            ("kind", "filing_duplicate"),
            ("case_id", chosen),
            ("from", &started),
        ],
    )
    .await;
    assert_eq!(duplicates, ours[2..3]);
    assert!(
        events(&app, &[("actor", "anna"), ("to", &started)])
            .await
            .is_empty()
    );

    // The exports carry the same events.
    let export = |format| {
        [
            ("filing_id", second_id),
            ("order", "oldest"),
            ("format", format),
        ]
    };
    let jsonl = audit(&app, &app.admin_token, &export("jsonl")).await;
    assert_eq!(jsonl.status(), StatusCode::OK);
    assert_eq!(jsonl.headers()["content-type"], "application/x-ndjson");
    let disposition = jsonl.headers()["content-disposition"].to_str().unwrap();
    assert!(
        disposition.starts_with("attachment; filename=\"journaliser-audit-")
            && disposition.ends_with(".jsonl\""),
        "{disposition}"
    );
    let jsonl_text = jsonl.text().await.unwrap();
    let lines: Vec<Value> = jsonl_text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines, ours[3..]);

    let csv_export = audit(&app, &app.admin_token, &export("csv")).await;
    assert_eq!(csv_export.status(), StatusCode::OK);
    assert_eq!(
        csv_export.headers()["content-type"],
        "text/csv; charset=utf-8"
    );
    let disposition = csv_export.headers()["content-disposition"]
        .to_str()
        .unwrap();
    assert!(disposition.ends_with(".csv\""), "{disposition}");
    let csv_text = csv_export.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(
        header,
        [
            "id",
            "at",
            "actor",
            "kind",
            "item_hash",
            "case_id",
            "filing_id",
            "details"
        ]
    );
    let rows: Vec<Value> = reader
        .records()
        .map(|record| {
            let record = record.unwrap();
            let mut event = json!({});
            for (column, value) in header.iter().zip(record.iter()) {
                event[column] = if column == "details" {
                    serde_json::from_str(value).unwrap()
                } else {
                    json!(value)
                };
            }
            event
        })
        .collect();
    assert_eq!(rows, ours[3..]);

    let json_text = json!(events(&app, &[("from", &started)]).await).to_string();
    for text in [json_text, jsonl_text, csv_text] {
        assert!(!text.contains(CPR) && !text.contains(&CPR.replace('-', "")));
    }
}

#[tokio::test]
async fn only_admins_read_the_log_and_bad_parameters_are_refused() {
    let app = TestApp::spawn().await;
    assert_eq!(
        audit(&app, &app.token, &[]).await.status(),
        StatusCode::FORBIDDEN
    );
    let anonymous = app
        .client
        .get(app.url("/api/v1/admin/audit"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);

    for query in [
        ("kind", "filing_lost"),
        ("from", "yesterday"),
        ("to", "2026-13-01T00:00:00Z"),
        ("order", "sideways"),
        ("format", "xml"),
        ("limit", "0"),
        ("limit", "10001"),
        ("limit", "many"),
        ("user", "anna"),
    ] {
        let response = audit(&app, &app.admin_token, &[query]).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{query:?}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["code"], "bad_request", "{query:?}: {body}");
    }

    // The demo organisation's filings are in the log from the start.
    let accepted = events(
        &app,
        &[
            ("kind", "filing_accepted"),
            ("actor", "demo"),
            ("limit", "10000"),
        ],
    )
    .await;
    assert!(!accepted.is_empty());
    assert!(
        accepted
            .iter()
            .all(|e| e["details"]["decision"] == "manual")
    );
}

#[tokio::test]
async fn an_export_cut_short_says_so() {
    let app = TestApp::spawn().await;
    let cut: Value = app
        .get("/api/v1/admin/audit?limit=1", &app.admin_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(cut["events"].as_array().unwrap().len(), 1);
    assert_eq!(cut["truncated"], true);
    let csv = app
        .get("/api/v1/admin/audit?limit=1&format=csv", &app.admin_token)
        .await;
    assert_eq!(csv.headers()["x-journaliser-truncated"], "true");
    let whole: Value = app
        .get("/api/v1/admin/audit?limit=10000", &app.admin_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(whole["truncated"], false);
    assert!(whole["events"].as_array().unwrap().len() > 1);
    let jsonl = app
        .get(
            "/api/v1/admin/audit?limit=10000&format=jsonl",
            &app.admin_token,
        )
        .await;
    assert!(!jsonl.headers().contains_key("x-journaliser-truncated"));
}

#[tokio::test]
async fn an_export_resumes_exactly_where_the_last_slice_stopped() {
    let app = TestApp::spawn().await;
    for order in ["oldest", "newest"] {
        let whole: Value = app
            .get(
                &format!("/api/v1/admin/audit?limit=10000&order={order}&kind=filing_accepted"),
                &app.admin_token,
            )
            .await
            .json()
            .await
            .unwrap();
        let whole: Vec<Value> = whole["events"].as_array().unwrap().clone();
        // The demo organisation is seeded in one go: many of its events share a millisecond.
        let mut paged: Vec<Value> = Vec::new();
        let mut after = String::new();
        loop {
            let slice: Value = app
                .get(
                    &format!("/api/v1/admin/audit?limit=7&order={order}&kind=filing_accepted&after={after}"),
                    &app.admin_token,
                )
                .await
                .json()
                .await
                .unwrap();
            paged.extend(slice["events"].as_array().unwrap().iter().cloned());
            match slice["next_after"].as_str() {
                Some(next) => after = next.to_string(),
                None => break,
            }
        }
        assert!(whole.len() > 7, "{order}: {}", whole.len());
        assert_eq!(paged, whole, "{order}");
    }
    let unknown = app
        .get("/api/v1/admin/audit?after=no-such-event", &app.admin_token)
        .await;
    assert_eq!(unknown.status(), StatusCode::BAD_REQUEST);
}
