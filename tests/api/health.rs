//! Probes, metrics and the authentication every API route demands.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::*;

#[tokio::test]
async fn probes_answer_and_metrics_need_a_token() {
    let app = TestApp::spawn().await;
    let live = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(live.status(), StatusCode::OK);
    let ready: Value = app
        .client
        .get(app.url("/readyz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["status"], "ok");

    assert_eq!(
        app.client
            .get(app.url("/metrics"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );
    app.get("/api/v1/cases?q=carport", &app.token).await;
    let metrics = app.get("/metrics", &app.token).await.text().await.unwrap();
    assert!(metrics.contains("journaliser_http_requests_total{method=\"GET\",route=\"/api/v1/cases\",status=\"200\"} 1"), "{metrics}");
    assert!(
        metrics.contains("journaliser_filings{state=\"failed\"} 0"),
        "{metrics}"
    );
}

/// The age of the oldest queued filing, for an alert on deliveries that stall.
#[tokio::test]
async fn metrics_tell_how_long_the_oldest_queued_filing_has_waited() {
    let blocked = tempfile::NamedTempFile::new().unwrap();
    let archive = blocked.path().to_path_buf();
    let app = TestApp::spawn_with(|config| config.archive.root = archive).await;
    let age = |metrics: &str| -> i64 {
        metrics
            .lines()
            .find_map(|line| line.strip_prefix("journaliser_oldest_queued_filing_age_seconds "))
            .unwrap_or_else(|| panic!("no age in {metrics}"))
            .parse()
            .unwrap()
    };
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let metrics = app.get("/metrics", &app.token).await.text().await.unwrap();
    assert!(
        age(&metrics) >= 1,
        "the demo's filings wait for the archive"
    );
    assert!(
        !metrics.contains("journaliser_filings{state=\"queued\"} 0"),
        "{metrics}"
    );
}

#[tokio::test]
async fn api_routes_refuse_missing_and_bad_tokens_and_users_on_admin_routes() {
    let app = TestApp::spawn().await;
    for path in [
        "/api/v1/cases",
        "/api/v1/items/x",
        "/api/v1/filings/x",
        "/api/v1/admin/filings",
    ] {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["code"], "unauthenticated");
        let response = app.get(path, "not-a-token").await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{path}");
    }
    let response = app
        .client
        .post(app.url("/api/v1/items"))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    let response = app
        .get("/api/v1/admin/filings?state=failed", &app.token)
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let response = app
        .get("/api/v1/admin/filings?state=failed", &app.admin_token)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert!(body["filings"].as_array().unwrap().is_empty());
    let response = app
        .get("/api/v1/admin/filings?state=bogus", &app.admin_token)
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn responses_carry_a_request_id_and_unknown_routes_are_json_404s() {
    let app = TestApp::spawn().await;
    let response = app.get("/api/v1/nowhere", &app.token).await;
    assert!(response.headers().contains_key("x-request-id"));
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "not_found");
}

#[tokio::test]
async fn answers_are_not_cached_or_sniffed_and_each_user_has_a_request_budget() {
    let app = TestApp::spawn_with(|config| config.server.requests_per_minute = 5).await;
    let response = app.get("/api/v1/cases", &app.token).await;
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    assert_eq!(response.headers()["referrer-policy"], "no-referrer");

    for _ in 0..4 {
        assert_eq!(
            app.get("/api/v1/cases", &app.token).await.status(),
            StatusCode::OK
        );
    }
    let limited = app.get("/api/v1/cases", &app.token).await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(
        limited.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 1
    );
    let body: Value = limited.json().await.unwrap();
    assert_eq!(body["code"], "rate_limited");
    let other = app.token_for("bo", &[]);
    assert_eq!(
        app.get("/api/v1/cases", &other).await.status(),
        StatusCode::OK
    );
}
