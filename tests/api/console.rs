//! The admin console: its pages and routes refuse a user's token with the API's own 403, and
//! its overview tells how each connector and mailbox is doing.

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::*;

/// Every `/admin/…` path routed in the API, read from the router so that a route added later
/// is covered too.
fn admin_routes() -> Vec<String> {
    let router =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/api/mod.rs")).unwrap();
    let mut paths: Vec<String> = router
        .split("\"/admin/")
        .skip(1)
        .map(|rest| format!("/api/v1/admin/{}", &rest[..rest.find('"').unwrap()]))
        .map(|path| path.replace("{id}", "x"))
        .collect();
    paths.sort();
    paths.dedup();
    paths
}

#[tokio::test]
async fn a_users_token_gets_403_on_every_admin_page_and_route() {
    let app = TestApp::spawn().await;
    let routes = admin_routes();
    assert!(routes.len() >= 10, "{routes:?}");
    let refusal = |response: reqwest::Response| async move {
        let status = response.status();
        (status, response.text().await.unwrap())
    };
    let mut api_refusal = None;
    for path in &routes {
        let mut refused = 0;
        for method in [Method::GET, Method::POST, Method::PUT, Method::DELETE] {
            let response = app
                .client
                .request(method.clone(), app.url(path))
                .bearer_auth(&app.token)
                .header("content-type", "application/json")
                .body("{}")
                .send()
                .await
                .unwrap();
            let (status, body) = refusal(response).await;
            match status {
                StatusCode::FORBIDDEN => {
                    refused += 1;
                    api_refusal.get_or_insert(body);
                }
                StatusCode::METHOD_NOT_ALLOWED => {}
                other => panic!("{method} {path} answered a user {other}: {body}"),
            }
        }
        assert!(refused > 0, "{path} refused no method");
    }
    let api_refusal = api_refusal.unwrap();
    assert!(api_refusal.contains("\"forbidden\""), "{api_refusal}");

    let pages = std::iter::once(String::new()).chain(
        journaliser::web::console::SECTIONS
            .iter()
            .map(|s| s.to_string()),
    );
    for section in pages {
        let path = format!("/admin/{section}");
        let (status, body) = refusal(app.get(&path, &app.token).await).await;
        assert_eq!(
            (status, body.as_str()),
            (StatusCode::FORBIDDEN, api_refusal.as_str()),
            "{path}"
        );
        let admin = app.get(&path, &app.admin_token).await;
        assert_eq!(admin.status(), StatusCode::OK, "{path}");
        let policy = admin.headers()["content-security-policy"].to_str().unwrap();
        assert!(policy.starts_with("default-src 'self'"), "{policy}");
        assert!(admin.text().await.unwrap().contains("admin.js"), "{path}");
        // A browser's navigation carries no token: the page comes, and holds no data.
        let bare = app.client.get(app.url(&path)).send().await.unwrap();
        assert_eq!(bare.status(), StatusCode::OK, "{path}");
    }
    let missing = app.get("/admin/nowhere", &app.admin_token).await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_overview_counts_each_connectors_filings_and_lists_the_failed() {
    let app = TestApp::spawn_with(|config| config.filing.max_attempts = 1).await;
    let archive = |o: &Value| {
        o["connectors"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["connector"] == "archive")
            .cloned()
            .unwrap_or_else(|| panic!("no archive connector: {o}"))
    };
    let overview = || async {
        app.get("/api/v1/admin/overview", &app.admin_token)
            .await
            .json::<Value>()
            .await
            .unwrap()
    };
    let before = overview().await;
    let failed = app.fail_one_filing("VK-2026-0031").await;
    let overview = overview().await;
    let (was, now) = (archive(&before), archive(&overview));
    for period in ["day", "week"] {
        assert_eq!(
            now[period]["failed"].as_u64().unwrap(),
            was[period]["failed"].as_u64().unwrap() + 1,
            "{period}: {now}"
        );
    }
    assert!(
        now["last_error"]["message"]
            .as_str()
            .unwrap()
            .contains("archive"),
        "{now}"
    );
    assert!(
        overview["failed"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["id"] == failed["id"]),
        "{overview}"
    );
    assert_eq!(
        app.get("/api/v1/admin/overview", &app.token).await.status(),
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn the_quality_figures_are_gauges_and_a_plot_and_a_backtest_replays_them() {
    let app = TestApp::spawn().await;
    // (confidence of the first suggestion, whether it was the case chosen)
    let mut shown = Vec::new();
    for (text, case) in [
        (
            "Tegninger til tilbygningen på Strandvejen 41",
            "VK-2026-0001",
        ),
        ("Sne på Engvej er ikke ryddet", "VK-2026-0036"),
    ] {
        let item: Value = app
            .post_item(text.as_bytes().to_vec(), "text/plain")
            .await
            .json()
            .await
            .unwrap();
        let suggestions = app.suggestions(item["id"].as_str().unwrap()).await;
        let first = &suggestions["suggestions"][0];
        shown.push((
            first["confidence"].as_f64().unwrap(),
            first["case"]["id"] == case,
        ));
        let response = app
            .file(filing_body(item["id"].as_str().unwrap(), case))
            .await;
        assert_eq!(response.status(), StatusCode::ACCEPTED);
    }
    let stats: Value = app
        .get("/api/v1/admin/stats", &app.admin_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(stats["overall"]["shown"], 2, "{stats}");
    let banded: u64 = stats["reliability"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["count"].as_u64().unwrap())
        .sum();
    assert_eq!(
        banded, 2,
        "each shown filing's confidence is in a band: {stats}"
    );
    let metrics = app.get("/metrics", &app.token).await.text().await.unwrap();
    let gauge = |figure: &str, connector: &str| -> f64 {
        let name = format!("journaliser_quality{{figure=\"{figure}\",connector=\"{connector}\"}} ");
        let line = metrics
            .lines()
            .find(|l| l.starts_with(&name))
            .unwrap_or_else(|| panic!("no {name} in {metrics}"));
        line[name.len()..].parse().unwrap()
    };
    for figure in [
        "filings",
        "shown",
        "top1",
        "top3",
        "not_in_list",
        "auto_filed",
        "undone",
    ] {
        assert_eq!(
            gauge(figure, "all"),
            stats["overall"][figure].as_f64().unwrap(),
            "{figure}"
        );
    }
    let archive = stats["connectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "archive")
        .unwrap();
    assert_eq!(gauge("top3", "archive"), archive["top3"].as_f64().unwrap());

    let plot = app
        .get(
            "/api/v1/admin/stats/reliability.svg?lang=en",
            &app.admin_token,
        )
        .await;
    assert_eq!(plot.status(), StatusCode::OK);
    assert_eq!(plot.headers()["content-type"], "image/svg+xml");
    let svg = plot.text().await.unwrap();
    assert!(svg.contains("class=\"band\""), "{svg}");
    assert!(svg.contains("filings, first suggestion chosen in"), "{svg}");

    // The same filings backtested at a threshold of 0.5, against today's (off).
    let backtest: Value = app
        .client
        .post(app.url("/api/v1/admin/backtest"))
        .bearer_auth(&app.admin_token)
        .json(&serde_json::json!({"change": {"confidence_threshold": 0.5}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let filed = shown.iter().filter(|(c, _)| *c >= 0.5).count();
    let wrong = shown
        .iter()
        .filter(|(c, right)| *c >= 0.5 && !right)
        .count();
    assert_eq!(backtest["examined"], 2, "{backtest}");
    assert_eq!(backtest["today"]["auto_filed"], 0, "{backtest}");
    assert_eq!(backtest["after"]["auto_filed"], filed, "{backtest}");
    assert_eq!(backtest["after"]["wrong"], wrong, "{backtest}");
    assert_eq!(backtest["changed_count"], filed, "{backtest}");
    assert_eq!(
        backtest["after"]["top1"], stats["overall"]["top1"],
        "{backtest}"
    );
    let refused = app
        .client
        .post(app.url("/api/v1/admin/backtest"))
        .bearer_auth(&app.admin_token)
        .json(&serde_json::json!({"change": {"confidence_threshold": 0.2}}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let refused: Value = refused.json().await.unwrap();
    assert_eq!(refused["field"], "change.confidence_threshold");
}
