//! What users may see: their own items, and only cases open to their groups.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

/// A case restricted to the group `social` in the demo data.
const SOCIAL_CASE: &str = "VK-2026-0004";

#[tokio::test]
async fn cases_of_other_groups_are_absent_from_search_lookup_and_filing() {
    let app = TestApp::spawn().await;
    let outsider = app.token_for("bo", &[]);

    let insider: Value = app
        .get("/api/v1/cases?q=kørestol", &app.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(insider["cases"][0]["id"], SOCIAL_CASE, "{insider}");
    let hidden: Value = app
        .get("/api/v1/cases?q=kørestol", &outsider)
        .await
        .json()
        .await
        .unwrap();
    assert!(
        hidden["cases"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["id"] != SOCIAL_CASE),
        "{hidden}"
    );
    assert_eq!(
        app.get(&format!("/api/v1/cases/{SOCIAL_CASE}"), &outsider)
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get(&format!("/api/v1/cases/{SOCIAL_CASE}"), &app.token)
            .await
            .status(),
        StatusCode::OK
    );

    // Even a mail quoting the hidden case's number does not reveal it or let it be filed.
    let case: Value = app
        .get(&format!("/api/v1/cases/{SOCIAL_CASE}"), &app.token)
        .await
        .json()
        .await
        .unwrap();
    let text = format!("Vedr. sag {} om kørestol", case["number"].as_str().unwrap());
    let item: Value = app
        .post_item_as(&outsider, text.into_bytes(), "text/plain")
        .await
        .json()
        .await
        .unwrap();
    let suggestions: Value = app
        .get(
            &format!("/api/v1/items/{}/suggestions", item["id"].as_str().unwrap()),
            &outsider,
        )
        .await
        .json()
        .await
        .unwrap();
    assert!(
        suggestions["suggestions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["case"]["id"] != SOCIAL_CASE)
    );
    let response = app
        .file_as(
            &outsider,
            json!({"item_id": item["id"], "case_id": SOCIAL_CASE}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn items_belong_to_their_uploader_and_filings_to_those_who_may_see_the_case() {
    let app = TestApp::spawn().await;
    let item = app.post_mail(fixture(FIXTURE_MAIL)).await;
    let item_id = item["id"].as_str().unwrap();
    let other = app.token_for("bo", &[]);
    assert_eq!(
        app.get(&format!("/api/v1/items/{item_id}"), &other)
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get(&format!("/api/v1/items/{item_id}/suggestions"), &other)
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    // A filing on a restricted case: its state is for the filer, admins and the case's group.
    let filing: Value = app
        .file(filing_body(item_id, SOCIAL_CASE))
        .await
        .json()
        .await
        .unwrap();
    let path = format!("/api/v1/filings/{}", filing["id"].as_str().unwrap());
    assert_eq!(app.get(&path, &other).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        app.get(&path, &app.admin_token).await.status(),
        StatusCode::OK
    );
    let colleague = app.token_for("carl", &["social"]);
    assert_eq!(app.get(&path, &colleague).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn cases_are_found_by_a_party_cpr_number_without_it_ever_being_echoed() {
    let app = TestApp::spawn().await;
    let found: Value = app
        .get("/api/v1/cases?q=150385-1234", &app.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(found["cases"][0]["id"], "VK-2026-0007", "{found}");
    assert!(!found.to_string().contains("1234"));
    let none: Value = app
        .get("/api/v1/cases?q=150385-9999", &app.token)
        .await
        .json()
        .await
        .unwrap();
    assert!(none["cases"].as_array().unwrap().is_empty());
    let danish: Value = app
        .get("/api/v1/cases?q=KØRESTOL", &app.token)
        .await
        .json()
        .await
        .unwrap();
    assert!(
        !danish["cases"].as_array().unwrap().is_empty(),
        "upper-case Danish letters match"
    );
}

/// Two users, each in a group the other is not in, each quoting the other's case.
#[tokio::test]
async fn two_users_never_see_each_others_restricted_cases() {
    let app = TestApp::spawn().await;
    let social = (
        "VK-2026-0004",
        "27.60.04-P20-21-26",
        "kørestol hjælpemiddel",
    );
    let children = (
        "VK-2026-0010",
        "27.24.45-P20-64-26",
        "underretning elev Havbakkeskolen",
    );
    let anne = app.token_for("anne", &["social"]);
    let bent = app.token_for("bent", &["boern"]);
    for (token, own, others) in [(&anne, social, children), (&bent, children, social)] {
        let (other_id, other_number, other_words) = others;
        let found: Value = app
            .get(
                &format!("/api/v1/cases?q={}", own.2.split(' ').next().unwrap()),
                token,
            )
            .await
            .json()
            .await
            .unwrap();
        assert!(
            found["cases"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["id"] == own.0),
            "{found}"
        );
        for query in [
            other_number,
            other_words.split(' ').next().unwrap(),
            other_id,
        ] {
            let found: Value = app
                .get(&format!("/api/v1/cases?q={query}"), token)
                .await
                .json()
                .await
                .unwrap();
            assert!(
                found["cases"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(|c| c["id"] != other_id),
                "{query}: {found}"
            );
        }
        // The same kind of mail about the user's own case finds it: the rule works, the
        // other case is hidden.
        let text = format!("Vedr. sag {}: {}", own.1, own.2);
        let item: Value = app
            .post_item_as(token, text.into_bytes(), "text/plain")
            .await
            .json()
            .await
            .unwrap();
        let path = format!("/api/v1/items/{}/suggestions", item["id"].as_str().unwrap());
        let suggestions: Value = app.get(&path, token).await.json().await.unwrap();
        assert_eq!(
            suggestions["suggestions"][0]["case"]["id"], own.0,
            "{suggestions}"
        );
        let text = format!("Vedr. sag {other_number}: {other_words}");
        let item: Value = app
            .post_item_as(token, text.into_bytes(), "text/plain")
            .await
            .json()
            .await
            .unwrap();
        let path = format!(
            "/api/v1/items/{}/suggestions?limit=50",
            item["id"].as_str().unwrap()
        );
        let suggestions: Value = app.get(&path, token).await.json().await.unwrap();
        assert!(
            suggestions["suggestions"]
                .as_array()
                .unwrap()
                .iter()
                .all(|s| s["case"]["id"] != other_id),
            "{suggestions}"
        );
        let response = app
            .file_as(token, json!({"item_id": item["id"], "case_id": other_id}))
            .await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert_eq!(
            app.get(&format!("/api/v1/cases/{other_id}"), token)
                .await
                .status(),
            StatusCode::NOT_FOUND
        );
    }
}
