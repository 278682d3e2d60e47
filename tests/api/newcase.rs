//! A new case when no suggestion fits: the proposal made from an item.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::*;

fn mail(from: &str, subject: &str, body: &str) -> Vec<u8> {
    format!(
        "From: Henrik Damgaard <{from}>\r\nTo: byg@vejstrand.example\r\nSubject: {subject}\r\n\
         Message-ID: <{}@borger.example>\r\nDate: Tue, 1 Dec 2026 09:00:00 +0100\r\n\r\n{body}\r\n",
        uuid::Uuid::new_v4()
    )
    .into_bytes()
}

#[tokio::test]
async fn the_proposal_names_the_subject_facet_parties_and_the_open_case_it_may_duplicate() {
    let app = TestApp::spawn().await;
    let item = app
        .post_mail(mail(
            "henrik.damgaard@borger.example",
            "SV: Fwd: Byggetilladelse til udestue for 111111-1118",
            "Jeg søger byggetilladelse til en udestue på 14 m² ved mit parcelhus. \
             Tegninger og situationsplan er vedhæftet. Mit CPR-nummer er 111111-1118.",
        ))
        .await;
    let id = item["id"].as_str().unwrap();
    let response = app
        .get(&format!("/api/v1/items/{id}/case-proposal"), &app.token)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.unwrap();
    assert!(
        !text.contains("1111111118") && !text.contains("111111-1118"),
        "{text}"
    );
    let proposal: Value = serde_json::from_str(&text).unwrap();

    assert_eq!(proposal["kle"][0]["number"], "02.34.02", "{proposal:#}");
    assert_eq!(proposal["kle"][0]["reasons"][0]["code"], "similar_cases");
    assert_eq!(proposal["facet"][0]["code"], "G01");
    // No plan imported: the title has no KLE title, and the subject lost its markers.
    assert_eq!(
        proposal["title"],
        "Henrik Damgaard – Byggetilladelse til udestue for 111111-XXXX"
    );
    let parties = proposal["parties"].as_array().unwrap();
    let kinds: Vec<&str> = parties
        .iter()
        .map(|p| p["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["name", "email", "cpr"]);
    assert_eq!(parties[2]["display"], "111111-XXXX");
    assert_eq!(proposal["groups"], serde_json::json!(["social", "boern"]));
    let similar = &proposal["similar_open_cases"];
    assert_eq!(similar[0]["id"], "VK-2026-0001", "{proposal:#}");
    assert_eq!(similar[0]["same_subject"], true);
    assert_eq!(
        similar[0]["shared_parties"][0],
        "henrik.damgaard@borger.example"
    );
}

#[tokio::test]
async fn only_cases_the_user_may_see_shape_the_proposal() {
    let app = TestApp::spawn().await;
    // The party of a restricted case (VK-2026-0009, group social) writes about home care.
    let body = "Min mor har brug for mere hjemmehjælp til personlig pleje og rengøring efter \
                sin hofteoperation. Visitationen bedes revurdere hjemmehjælpen.";
    let outsider = app.token_for("ib", &[]);
    let response = app
        .post_item_as(
            &outsider,
            mail("michael.bach@borger.example", "Hjemmehjælp", body),
            "message/rfc822",
        )
        .await;
    let item: Value = response.json().await.unwrap();
    let id = item["id"].as_str().unwrap();
    let proposal: Value = app
        .get(&format!("/api/v1/items/{id}/case-proposal"), &outsider)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        proposal["similar_open_cases"],
        serde_json::json!([]),
        "{proposal:#}"
    );
    assert!(
        proposal["kle"]
            .as_array()
            .unwrap()
            .iter()
            .all(|k| k["number"] != "27.36.04"),
        "{proposal:#}"
    );

    let insider = app.token_for("anna", &["social"]);
    let response = app
        .post_item_as(
            &insider,
            mail("michael.bach@borger.example", "Hjemmehjælp", body),
            "message/rfc822",
        )
        .await;
    let item: Value = response.json().await.unwrap();
    let id = item["id"].as_str().unwrap();
    let proposal: Value = app
        .get(&format!("/api/v1/items/{id}/case-proposal"), &insider)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(proposal["kle"][0]["number"], "27.36.04", "{proposal:#}");
    assert_eq!(proposal["similar_open_cases"][0]["id"], "VK-2026-0009");

    // Someone else's item is not there for them.
    let response = app
        .get(&format!("/api/v1/items/{id}/case-proposal"), &outsider)
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}
