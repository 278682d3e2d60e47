//! The admins' quality figures from real use: top-1, top-3 and "not in the list" over the
//! filings whose users were shown suggestions, and the automatic filings with those undone.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

#[tokio::test]
async fn stats_count_what_people_chose_against_what_they_were_shown() {
    let app = TestApp::spawn().await;
    let demo: Value = app
        .get("/api/v1/admin/stats", &app.admin_token)
        .await
        .json()
        .await
        .unwrap();
    let before = demo["overall"]["filings"].as_u64().unwrap();
    assert_eq!(
        demo["overall"]["shown"], 0,
        "the demo's filings were made without suggestions"
    );

    // One filed on the first suggestion, one on a case that was not suggested.
    let first = app.post_mail(fixture(FIXTURE_MAIL)).await;
    let shown = app.suggestions(first["id"].as_str().unwrap()).await;
    let top = shown["suggestions"][0]["case"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let response = app
        .file(filing_body(first["id"].as_str().unwrap(), &top))
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let other = app
        .post_item(b"Et notat om parkering ved havnen".to_vec(), "text/plain")
        .await;
    let other: Value = other.json().await.unwrap();
    let shown = app.suggestions(other["id"].as_str().unwrap()).await;
    let listed: Vec<&str> = shown["suggestions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["case"]["id"].as_str())
        .collect();
    let elsewhere = (1..=36)
        .map(|n| format!("VK-2026-{n:04}"))
        .find(|c| !listed.contains(&c.as_str()))
        .unwrap();
    let response = app
        .file(filing_body(other["id"].as_str().unwrap(), &elsewhere))
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);

    // One filed automatically (a reply in a filed thread), then undone.
    let reply = app
        .post_mail(reply_to(
            "tilbygning-strandvejen41-1@borger.example",
            "Tilbygning",
        ))
        .await;
    let automatic = reply["filings"][0]["id"].as_str().unwrap().to_string();
    let response = app
        .client
        .post(app.url(&format!("/api/v1/filings/{automatic}/undo")))
        .bearer_auth(&app.token)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    let stats: Value = app
        .get("/api/v1/admin/stats", &app.admin_token)
        .await
        .json()
        .await
        .unwrap();
    let overall = &stats["overall"];
    assert_eq!(overall["filings"].as_u64().unwrap(), before + 3, "{stats}");
    assert_eq!(
        (
            &overall["shown"],
            &overall["top1"],
            &overall["top3"],
            &overall["not_in_list"]
        ),
        (&json!(2), &json!(0.5), &json!(0.5), &json!(0.5)),
        "{stats}"
    );
    assert_eq!(
        (&overall["auto_filed"], &overall["undone"]),
        (&json!(1), &json!(1)),
        "{stats}"
    );
    let weeks = stats["weeks"].as_array().unwrap();
    let this_week = weeks.last().unwrap();
    assert_eq!(this_week["shown"], 2, "{stats}");
    let total: u64 = weeks.iter().map(|w| w["filings"].as_u64().unwrap()).sum();
    assert_eq!(total, before + 3, "the weeks add up");

    // Admins only, and a bad time is named.
    let refused = app.get("/api/v1/admin/stats", &app.token).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let bad = app
        .get("/api/v1/admin/stats?from=igår", &app.admin_token)
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.json::<Value>().await.unwrap()["field"], "from");
}
