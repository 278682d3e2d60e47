//! Uploading mails and documents: what is accepted, what is refused, and how.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::*;

#[tokio::test]
async fn a_real_mail_is_extracted_with_headers_attachments_and_their_text() {
    let app = TestApp::spawn().await;
    let response = app.post_item(fixture(FIXTURE_MAIL), "message/rfc822").await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let item: Value = response.json().await.unwrap();
    assert_eq!(item["kind"], "mail");
    let mail = &item["metadata"];
    assert_eq!(mail["subject"], "Mail med inline billede og vedhæftet fil");
    assert_eq!(mail["from"][0]["email"], "pawsen@gmail.com");
    assert_eq!(
        mail["message_id"],
        "CAP6xULFuEzdY+Mj5WY5nt=9TfRuaWroy6-4LWmhpp9G2+vfzLw@mail.gmail.com"
    );
    let attachments = mail["attachments"].as_array().unwrap();
    assert_eq!(attachments[0]["name"], "cpr.jpg");
    assert_eq!(attachments[0]["inline"], true);
    assert_eq!(attachments[1]["name"], "embedded-cpr.odt");
    assert!(
        attachments[1]["text_preview"]
            .as_str()
            .unwrap()
            .contains("Uansvarlig Databehandling ApS")
    );
    assert!(
        attachments[1].get("text").is_none(),
        "full attachment texts stay on the server"
    );
    assert!(
        item["text_preview"]
            .as_str()
            .unwrap()
            .contains("inline billede")
    );
}

#[tokio::test]
async fn outlook_messages_are_mails_and_file_as_the_same_mail_in_rfc_822_does() {
    let app = TestApp::spawn().await;
    let response = app
        .post_item(fixture(FIXTURE_MSG), "application/vnd.ms-outlook")
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let item: Value = response.json().await.unwrap();
    assert_eq!(item["kind"], "mail");
    let mail = &item["metadata"];
    assert_eq!(mail["subject"], "attachmentFiles");
    assert_eq!(mail["from"][0]["email"], "hmailuser@hmailserver.test");
    assert_eq!(mail["to"][0]["email"], "hmailuser@hmailserver.test");
    let message_id = "000001da0c5d$22ab1460$68013d20$@hmailserver.test";
    assert_eq!(mail["message_id"], message_id);
    let names: Vec<_> = mail["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["jpg.jpg", "png.png", "tif.tif"]);

    // Sent as bytes of no particular type (another user, so not the same item): sniffed.
    let other = app.token_for("bo", &[]);
    let response = app
        .post_item_as(&other, fixture(FIXTURE_MSG), "application/octet-stream")
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let sniffed: Value = response.json().await.unwrap();
    assert_eq!(sniffed["kind"], "mail");
    assert_eq!(sniffed["metadata"]["message_id"], message_id);

    // The same mail saved as RFC 822 is filed once on a case, whichever form comes first.
    let case = "VK-2026-0031";
    let response = app
        .file(filing_body(item["id"].as_str().unwrap(), case))
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let filing: Value = response.json().await.unwrap();
    let eml = format!(
        "From: hmailuser <hmailuser@hmailserver.test>\r\nTo: hmailuser@hmailserver.test\r\n\
         Subject: attachmentFiles\r\nMessage-ID: <{message_id}>\r\n\r\nattachmentFiles\r\n"
    );
    let eml_item = app.post_mail(eml.into_bytes()).await;
    let again = app
        .file(filing_body(eml_item["id"].as_str().unwrap(), case))
        .await;
    assert_eq!(again.status(), StatusCode::OK);
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["id"], filing["id"]);
    assert_eq!(again["duplicate"], true);
}

#[tokio::test]
async fn documents_arrive_raw_or_as_multipart() {
    let app = TestApp::spawn().await;
    let response = app
        .post_item(
            b"Et lille notat om vejbump.".to_vec(),
            "text/plain; charset=utf-8",
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let item: Value = response.json().await.unwrap();
    assert_eq!(item["kind"], "document");
    assert_eq!(item["metadata"]["format"], "text");

    let part = reqwest::multipart::Part::bytes(fixture(FIXTURE_MAIL)).file_name("besked.eml");
    let form = reqwest::multipart::Form::new().part("file", part);
    let response = app
        .client
        .post(app.url("/api/v1/items"))
        .bearer_auth(&app.token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let item: Value = response.json().await.unwrap();
    assert_eq!(item["kind"], "mail");
}

#[tokio::test]
async fn garbage_and_truncated_uploads_are_bad_requests() {
    let app = TestApp::spawn().await;
    let garbage: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let response = app.post_item(garbage, "message/rfc822").await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "bad_request");
    assert!(!body["message"].as_str().unwrap().is_empty());

    let truncated_pdf =
        b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Type /Pa";
    let response = app
        .post_item(truncated_pdf.to_vec(), "application/pdf")
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);

    let response = app
        .post_item(
            b"PK\x03\x04 not really a zip".to_vec(),
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        )
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let response = app.post_item(Vec::new(), "text/plain").await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn unsupported_types_are_415_and_oversized_uploads_413() {
    let app = TestApp::spawn_with(|config| config.server.max_body_bytes = 10_000).await;
    let response = app
        .post_item(vec![0x89, b'P', b'N', b'G'], "image/png")
        .await;
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "unsupported_media_type");

    let response = app.post_item(fixture(FIXTURE_MAIL), "message/rfc822").await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "payload_too_large");

    let part = reqwest::multipart::Part::bytes(fixture(FIXTURE_MAIL)).file_name("besked.eml");
    let form = reqwest::multipart::Form::new().part("file", part);
    let response = app
        .client
        .post(app.url("/api/v1/items"))
        .bearer_auth(&app.token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn malformed_query_strings_get_json_errors() {
    let app = TestApp::spawn().await;
    let item = app.post_mail(fixture(FIXTURE_MAIL)).await;
    let path = format!(
        "/api/v1/items/{}/suggestions?limit=many",
        item["id"].as_str().unwrap()
    );
    let response = app.get(&path, &app.token).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "bad_request");
}
