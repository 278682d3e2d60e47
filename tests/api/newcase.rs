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
    let (_, proposal) = proposal_for(
        &app,
        &outsider,
        mail("michael.bach@borger.example", "Hjemmehjælp", body),
    )
    .await;
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
    let (id, proposal) = proposal_for(
        &app,
        &insider,
        mail("michael.bach@borger.example", "Hjemmehjælp", body),
    )
    .await;
    assert_eq!(proposal["kle"][0]["number"], "27.36.04", "{proposal:#}");
    assert_eq!(proposal["similar_open_cases"][0]["id"], "VK-2026-0009");

    // Someone else's item is not there for them.
    let response = app
        .get(&format!("/api/v1/items/{id}/case-proposal"), &outsider)
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

fn case_order(connector: &str, key: &str) -> Value {
    serde_json::json!({
        "connector": connector, "title": "Byggesager – Henrik Damgaard – Udestue",
        "kle": "02.34.02", "facet": "G01",
        "parties": [{"kind": "email", "value": "henrik.damgaard@borger.example"}],
        "groups": [], "create_key": key,
    })
}

/// Orders a case on `connector` and files a mail on it at once; answers the case's id and the
/// filing once it has settled.
async fn file_on_a_new_case(app: &TestApp, connector: &str) -> (String, Value) {
    let response = order(app, case_order(connector, "udestue-1")).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let ordered: Value = response.json().await.unwrap();
    let id = ordered["case"]["id"].as_str().unwrap().to_string();
    let item = app
        .post_mail(mail(
            "henrik.damgaard@borger.example",
            "Udestue",
            "Tegninger til udestuen.",
        ))
        .await;
    let response = app
        .file(filing_body(item["id"].as_str().unwrap(), &id))
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let filing: Value = response.json().await.unwrap();
    let settled = app.wait_settled(filing["id"].as_str().unwrap()).await;
    (id, settled)
}

async fn order(app: &TestApp, body: Value) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/cases"))
        .bearer_auth(&app.token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_case_is_created_once_per_key_and_a_filing_on_it_waits_until_it_is_made() {
    let app = TestApp::spawn().await;
    // Filed at once, before the archive has the case: the filing waits for it.
    let (id, filed) = file_on_a_new_case(&app, "archive").await;
    assert_eq!(filed["state"], "filed", "{filed:#}");

    let again = order(&app, case_order("archive", "udestue-1")).await;
    assert_eq!(again.status(), StatusCode::OK);
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["case"]["id"], id.as_str());
    assert_eq!(again["creation"]["state"], "created", "{again:#}");
    let record: Value =
        serde_json::from_slice(&std::fs::read(app.archive().join(&id).join("case.json")).unwrap())
            .unwrap();
    assert_eq!(record["kle"], "02.34.02");
    assert_eq!(archived_documents(&app.archive(), &id).len(), 1);
    let case_folders = std::fs::read_dir(app.archive())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("NS-")
        })
        .count();
    assert_eq!(case_folders, 1);

    // The new case is suggested at once for mail about it.
    let other = app
        .post_mail(mail(
            "henrik.damgaard@borger.example",
            "SV: Udestue",
            "Mere om udestuen.",
        ))
        .await;
    let suggestions = app.suggestions(other["id"].as_str().unwrap()).await;
    let ids: Vec<&str> = suggestions["suggestions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["case"]["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&id.as_str()), "{suggestions:#}");
}

#[tokio::test]
async fn orders_a_target_cannot_take_are_refused_with_a_reason() {
    let app = TestApp::spawn().await;
    let mut refused = case_order("archive", "x");
    refused["groups"] = serde_json::json!(["jura"]);
    let response = order(&app, refused).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert!(body.to_string().contains("groups you belong to"), "{body}");
}

/// The item `mail` becomes, uploaded by the holder of `token`, and the proposal for a new
/// case from it.
async fn proposal_for(app: &TestApp, token: &str, mail: Vec<u8>) -> (String, Value) {
    let item: Value = app
        .post_item_as(token, mail, "message/rfc822")
        .await
        .json()
        .await
        .unwrap();
    let id = item["id"].as_str().unwrap().to_string();
    let proposal = app
        .get_json(&format!("/api/v1/items/{id}/case-proposal"), token)
        .await;
    (id, proposal)
}

#[tokio::test]
async fn a_case_the_target_refuses_fails_with_its_waiting_filings_and_both_are_audited() {
    let receiver = crate::receiver::Receiver::start().await;
    // Busy at first, so that the filing is accepted while the case waits for its next try.
    receiver.unavailable_for(1);
    let cases_url = receiver.cases_url();
    let url = receiver.url.clone();
    let app = TestApp::spawn_with(|config| {
        config
            .connectors
            .push(journaliser::config::ConnectorConfig::Webhook(
                journaliser::config::WebhookConfig {
                    name: "hook".into(),
                    url,
                    create_url: cases_url,
                    bearer_token: serde_json::from_value(serde_json::json!("not the token"))
                        .unwrap(),
                    ..Default::default()
                },
            ));
    })
    .await;
    let (id, failed) = file_on_a_new_case(&app, "hook").await;
    assert_eq!(failed["state"], "failed", "{failed:#}");
    assert!(
        failed["error"]
            .as_str()
            .is_some_and(|e| e.contains("could not be created") && e.contains("401")),
        "{failed:#}"
    );
    assert_eq!(receiver.cases().len(), 0);
    let audit = app
        .get_json(
            &format!("/api/v1/admin/audit?case_id={id}&order=oldest"),
            &app.admin_token,
        )
        .await;
    let kinds: Vec<&str> = audit["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    for kind in ["case_ordered", "case_creation_failed", "filing_failed"] {
        assert!(kinds.contains(&kind), "{kind}: {audit:#}");
    }
}
