//! The whole path: a real mail in, the right case suggested, filed durably, filed once.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

const DATA_PROTECTION_CASE: &str = "VK-2026-0031";
const FIXTURE_MESSAGE_ID: &str =
    "CAP6xULFuEzdY+Mj5WY5nt=9TfRuaWroy6-4LWmhpp9G2+vfzLw@mail.gmail.com";

fn reason_codes(suggestion: &Value) -> Vec<String> {
    suggestion["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn a_real_mail_is_suggested_filed_once_and_its_reply_follows_the_thread() {
    let app = TestApp::spawn().await;

    // A real mail whose attached ODT letter is from Uansvarlig Databehandling ApS.
    let item = app.post_mail(fixture(FIXTURE_MAIL)).await;
    let item_id = item["id"].as_str().unwrap();
    let attachments = item["metadata"]["attachments"].as_array().unwrap();
    assert_eq!(attachments.len(), 2, "{attachments:?}");

    let suggestions = app.suggestions(item_id).await;
    let first = &suggestions["suggestions"][0];
    assert_eq!(first["case"]["id"], DATA_PROTECTION_CASE, "{suggestions:#}");
    let codes = reason_codes(first);
    assert!(
        codes.iter().any(|c| c == "text" || c == "words"),
        "{first:#}"
    );
    let confidence = first["confidence"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&confidence));
    // The reason that counted most comes first, in Danish, with its English beside it.
    let reason = &first["reasons"][0];
    assert!(
        reason["code"] == "text" || reason["code"] == "words",
        "{first:#}"
    );
    assert!(
        reason["text"].as_str().unwrap().starts_with("Teksten"),
        "Danish reason first: {first:#}"
    );
    assert!(
        reason["text_en"].as_str().unwrap().starts_with("The text"),
        "{first:#}"
    );

    // File it: the picture inline with the mail, the letter as a document of its own.
    let mut body = filing_body(item_id, DATA_PROTECTION_CASE);
    body["attachments"] = json!([{"index": 0, "mode": "skip"}, {"index": 1, "mode": "separate"}]);
    let response = app.file(body.clone()).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let filing: Value = response.json().await.unwrap();
    assert_eq!(filing["state"], "queued");
    let filing_id = filing["id"].as_str().unwrap();

    let settled = app.wait_settled(filing_id).await;
    assert_eq!(settled["state"], "filed", "{settled:#}");
    assert_eq!(
        settled["confirmed"], true,
        "the archive confirms what it files"
    );
    let document_id = settled["target_document_id"].as_str().unwrap();
    let document = app.archive().join(document_id);
    assert!(document.join("original.eml").exists());
    assert_eq!(
        std::fs::read(document.join("original.eml")).unwrap(),
        fixture(FIXTURE_MAIL)
    );
    let text = std::fs::read_to_string(document.join("text.txt")).unwrap();
    assert!(text.contains("Uansvarlig Databehandling ApS"));
    let metadata: Value =
        serde_json::from_slice(&std::fs::read(document.join("metadata.json")).unwrap()).unwrap();
    assert_eq!(metadata["case"]["id"], DATA_PROTECTION_CASE);
    assert_eq!(metadata["attachments"][1]["mode"], "separate");
    let documents = archived_documents(&app.archive(), DATA_PROTECTION_CASE);
    let separate: Vec<_> = documents
        .iter()
        .filter(|d| d.to_string_lossy().ends_with("-01"))
        .collect();
    assert_eq!(separate.len(), 1, "{documents:?}");
    assert!(separate[0].join("original-embedded-cpr.odt").exists());

    // Filing the same mail on the same case again gives the first filing back.
    let again = app.file(body).await;
    assert_eq!(again.status(), StatusCode::OK);
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["id"], filing_id);
    assert_eq!(again["duplicate"], true);
    // The same bytes uploaded again are the same item, which knows it is filed.
    let reposted = app.post_item(fixture(FIXTURE_MAIL), "message/rfc822").await;
    assert_eq!(reposted.status(), StatusCode::OK);
    let reposted: Value = reposted.json().await.unwrap();
    assert_eq!(reposted["id"], item_id);
    assert_eq!(reposted["filings"][0]["id"], filing_id);
    // No second delivery follows. The demo's own documents on the case may still be arriving
    // meanwhile, so only documents under this filing's title are counted.
    let ours = || {
        archived_documents(&app.archive(), DATA_PROTECTION_CASE)
            .into_iter()
            .filter(|d| {
                d.to_string_lossy()
                    .contains("Henvendelse_om_databehandling")
            })
            .count()
    };
    let before = ours();
    assert!(before >= 1, "the filed mail is among them");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(ours(), before);

    // A reply to the filed mail follows its thread: filed on the same case by itself, and
    // the suggestions say that it is there.
    let reply = app
        .post_mail(reply_to(FIXTURE_MESSAGE_ID, "Mail med inline billede"))
        .await;
    let automatic = &reply["filings"][0];
    assert_eq!(automatic["case_id"], DATA_PROTECTION_CASE, "{reply:#}");
    assert_eq!(automatic["automatic"]["evidence"], "thread", "{reply:#}");
    let suggestions = app.suggestions(reply["id"].as_str().unwrap()).await;
    let first = &suggestions["suggestions"][0];
    assert_eq!(first["case"]["id"], DATA_PROTECTION_CASE, "{suggestions:#}");
    assert_eq!(
        reason_codes(first)[..2],
        ["already_filed", "thread"],
        "{first:#}"
    );
    assert!(first["confidence"].as_f64().unwrap() > 0.9, "{first}");
}

#[tokio::test]
async fn a_filed_document_counts_for_the_next_suggestion_at_once() {
    let app = TestApp::spawn().await;
    let note =
        "Notat om forsøg med solcellepaneler på taget af Vejstrand Rådhus og kommunale garager.";
    let item: Value = app
        .post_item(note.as_bytes().to_vec(), "text/plain")
        .await
        .json()
        .await
        .unwrap();
    // An open case the note has nothing to do with: only the filing can put it first.
    let case = "VK-2026-0029";
    let filing: Value = app
        .file(json!({"item_id": item["id"], "case_id": case}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(filing["title"], "Uden titel");

    let similar = "Hvad koster solcellepanelerne på rådhusets tag?";
    let next: Value = app
        .post_item(similar.as_bytes().to_vec(), "text/plain")
        .await
        .json()
        .await
        .unwrap();
    let suggestions = app.suggestions(next["id"].as_str().unwrap()).await;
    assert_eq!(
        suggestions["suggestions"][0]["case"]["id"], case,
        "{suggestions:#}"
    );
}

#[tokio::test]
async fn a_case_number_in_the_text_is_a_reason() {
    let app = TestApp::spawn().await;
    let text = "Vedr. sag 02.34.02-G01-12-26: Jeg sender hermed de reviderede tegninger.";
    let item: Value = app
        .post_item(text.as_bytes().to_vec(), "text/plain")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(item["identifiers"]["case_numbers"][0], "02.34.02-G01-12-26");
    assert_eq!(item["identifiers"]["kle"][0], "02.34.02");
    let suggestions = app.suggestions(item["id"].as_str().unwrap()).await;
    let first = &suggestions["suggestions"][0];
    assert_eq!(first["case"]["id"], "VK-2026-0007");
    assert_eq!(reason_codes(first)[0], "case_number");
}

#[tokio::test]
async fn a_cpr_number_of_a_party_is_a_reason_and_never_shown_in_full() {
    let app = TestApp::spawn().await;
    let text = "Min carport: se vedlagte. Cpr-nr. 150385-1234. Venlig hilsen";
    let item: Value = app
        .post_item(text.as_bytes().to_vec(), "text/plain")
        .await
        .json()
        .await
        .unwrap();
    let raw = item.to_string();
    assert!(!raw.contains("1234"), "{raw}");
    assert_eq!(item["identifiers"]["cpr"][0], "150385-XXXX");
    let suggestions = app.suggestions(item["id"].as_str().unwrap()).await;
    let first = &suggestions["suggestions"][0];
    assert_eq!(first["case"]["id"], "VK-2026-0007");
    assert!(reason_codes(first).contains(&"party".to_string()));
    assert!(!suggestions.to_string().contains("1234"));

    let body =
        json!({"item_id": item["id"], "case_id": "VK-2026-0007", "title": "Carport, 150385-1234"});
    let filing: Value = app.file(body).await.json().await.unwrap();
    assert_eq!(filing["title"], "Carport, 150385-XXXX");
}

#[tokio::test]
async fn filings_record_what_was_shown_and_what_was_chosen() {
    let app = TestApp::spawn().await;
    let item = app.post_mail(fixture(FIXTURE_MAIL)).await;
    let item_id = item["id"].as_str().unwrap();
    let suggestions = app.suggestions(item_id).await;
    let shown: Vec<String> = suggestions["suggestions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["case"]["id"].as_str().unwrap().to_string())
        .collect();
    let chosen: Value = app
        .file(filing_body(item_id, &shown[0]))
        .await
        .json()
        .await
        .unwrap();
    // The same mail may concern a second case, one that was not suggested at all.
    let unsuggested = ["VK-2026-0001", "VK-2026-0002"]
        .into_iter()
        .find(|c| !shown.iter().any(|s| s == c))
        .unwrap();
    let other: Value = app
        .file(filing_body(item_id, unsuggested))
        .await
        .json()
        .await
        .unwrap();
    assert_ne!(chosen["id"], other["id"]);

    let store = journaliser::store::Store::open(&format!(
        "sqlite://{}",
        app.data_dir.join("journaliser.db").display()
    ))
    .await
    .unwrap();
    let feedback = store
        .feedback_for_filing(chosen["id"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(feedback.chosen_case_id, shown[0]);
    assert_eq!(feedback.chosen_rank, Some(1));
    assert_eq!(feedback.shown_case_ids, shown);
    let feedback = store
        .feedback_for_filing(other["id"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(feedback.chosen_rank, None);
}

#[tokio::test]
async fn bad_filing_requests_are_refused_clearly() {
    let app = TestApp::spawn().await;
    let item = app.post_mail(fixture(FIXTURE_MAIL)).await;
    let item_id = item["id"].as_str().unwrap();

    let response = app
        .file(json!({"item_id": item_id, "case_id": "no-such-case"}))
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let response = app
        .file(json!({"item_id": "no-such-item", "case_id": "VK-2026-0031"}))
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let body = json!({"item_id": item_id, "case_id": "VK-2026-0031", "attachments": [{"index": 7, "mode": "skip"}]});
    let response = app.file(body).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["code"], "bad_request");
    assert!(error["message"].as_str().unwrap().contains("attachment 7"));
    let response = app.file(json!({"item_id": item_id})).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    // Titles go into journal lists and folder names: too long, or with a control character,
    // they are refused with the reason.
    for (title, reason) in [
        ("x".repeat(251), "longer than 250"),
        ("Byg\u{7}sag".to_string(), "control character"),
    ] {
        let body = json!({"item_id": item_id, "case_id": "VK-2026-0031", "title": title});
        let response = app.file(body).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let error: Value = response.json().await.unwrap();
        assert!(
            error["message"].as_str().unwrap().contains(reason),
            "{error}"
        );
    }
}
