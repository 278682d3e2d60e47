//! Word's "Gem på sag" a second time: a filing with `version_of` becomes the next version of
//! that document on the same case, and every target keeps it so.

use journaliser::config::{WebdavConfig, WebhookConfig};
use journaliser::connector::{
    ArchiveConnector, Connector, ConnectorError, NewVersion, WebdavConnector, WebhookConnector,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::contract::{case, request, version_contract};
use crate::helpers::*;
use crate::receiver::{self, Receiver};
use crate::wsgidav::{self, DavServer};

const CASE: &str = "VK-2026-0031";
const OTHER_CASE: &str = "VK-2026-0001";

async fn upload_text(app: &TestApp, text: &str) -> String {
    let response = app.post_item(text.as_bytes().to_vec(), "text/plain").await;
    assert!(response.status().is_success(), "{}", response.status());
    let item: Value = response.json().await.unwrap();
    item["id"].as_str().unwrap().to_string()
}

/// Files an item and waits until the target has it.
async fn filed(app: &TestApp, body: Value) -> Value {
    let response = app.file(body).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let filing: Value = response.json().await.unwrap();
    let settled = app.wait_settled(filing["id"].as_str().unwrap()).await;
    assert_eq!(settled["state"], "filed", "{settled}");
    settled
}

#[tokio::test]
async fn a_document_saved_again_becomes_its_next_version() {
    let app = TestApp::spawn().await;
    let draft = upload_text(&app, "Afgørelse om tilskud. Udkast 1.").await;
    let first = filed(
        &app,
        json!({"item_id": draft, "case_id": CASE, "title": "Afgørelse"}),
    )
    .await;
    let document = first["target_document_id"].as_str().unwrap().to_string();
    assert_eq!(
        (&first["version"], &first["version_of"]),
        (&json!(1), &Value::Null)
    );
    let documents = archived_documents(&app.archive(), CASE).len();

    let revised = upload_text(&app, "Afgørelse om tilskud. Udkast 2, rettet.").await;
    let second = filed(
        &app,
        json!({"item_id": revised, "case_id": CASE, "title": "Afgørelse", "version_of": document}),
    )
    .await;
    assert_eq!(
        second["target_document_id"],
        document.as_str(),
        "the same document"
    );
    assert_eq!(
        (&second["version"], &second["version_of"]),
        (&json!(2), &json!(document))
    );

    let third_item = upload_text(&app, "Afgørelse om tilskud. Endelig.").await;
    let third = filed(
        &app,
        json!({"item_id": third_item, "case_id": CASE, "version_of": document}),
    )
    .await;
    assert_eq!(third["target_document_id"], document.as_str());
    assert_eq!(third["version"], 3);

    // The archive keeps the versions inside the document's folder, not as new documents.
    assert_eq!(archived_documents(&app.archive(), CASE).len(), documents);
    let folder = app.archive().join(&document);
    for (filing, version) in [(&second, 2), (&third, 3)] {
        let metadata = folder
            .join(format!("v{version}_{}", filing["id"].as_str().unwrap()))
            .join("metadata.json");
        let metadata: Value = serde_json::from_slice(&std::fs::read(&metadata).unwrap()).unwrap();
        assert_eq!(metadata["version"], version);
        assert_eq!(metadata["version_of"], document.as_str());
    }
    let text = std::fs::read_to_string(
        folder
            .join(format!("v3_{}", third["id"].as_str().unwrap()))
            .join("text.txt"),
    )
    .unwrap();
    assert!(text.contains("Endelig"), "{text}");

    // The item view shows each filing with its version.
    let item: Value = app
        .get(&format!("/api/v1/items/{third_item}"), &app.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(item["filings"][0]["version"], 3, "{item}");
}

#[tokio::test]
async fn a_version_of_what_is_not_a_document_of_the_case_is_refused() {
    let app = TestApp::spawn().await;
    let item = upload_text(&app, "Referat af møde om kørselsordning.").await;
    let elsewhere = filed(&app, json!({"item_id": item, "case_id": OTHER_CASE})).await;
    let other_document = elsewhere["target_document_id"].as_str().unwrap();

    let revised = upload_text(&app, "Referat af møde om kørselsordning, rettet.").await;
    for version_of in [
        other_document,
        "VK-2026-0031/findes-ikke",
        "../../etc/passwd",
    ] {
        let response = app
            .file(json!({"item_id": revised, "case_id": CASE, "version_of": version_of}))
            .await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{version_of}"
        );
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["code"], "unprocessable");
        assert!(
            body["message"].as_str().unwrap().contains("version_of"),
            "{body}"
        );
    }
    // Nothing was accepted meanwhile: the item is not filed anywhere.
    let shown: Value = app
        .get(&format!("/api/v1/items/{revised}"), &app.token)
        .await
        .json()
        .await
        .unwrap();
    assert!(shown["filings"].as_array().unwrap().is_empty(), "{shown}");
}

#[tokio::test]
async fn the_archive_keeps_versions_under_the_document_id() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("archive");
    let connector = ArchiveConnector::new(&root);
    version_contract(&connector, |case_id| {
        archived_documents(&root, case_id).len()
    })
    .await;
}

#[tokio::test]
async fn webdav_keeps_versions_under_the_document_id() {
    let Some(server) = DavServer::start() else {
        return;
    };
    std::fs::create_dir(server.root().join("sager")).unwrap();
    let connector = WebdavConnector::new(&WebdavConfig {
        name: "dokumenter".into(),
        url: format!("{}sager/", server.url()),
        username: wsgidav::USER.into(),
        password: serde_json::from_value(json!(wsgidav::PASSWORD)).unwrap(),
        timeout_secs: 10,
    })
    .unwrap();
    let files = |case_id: &str| {
        std::fs::read_dir(server.root().join("sager").join(case_id))
            .map(|entries| {
                entries
                    .filter(|e| e.as_ref().unwrap().path().is_file())
                    .count()
            })
            .unwrap_or(0)
    };
    version_contract(&connector, files).await;
    let names: Vec<String> = std::fs::read_dir(server.root().join("sager/VK-2026-0008"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.iter().any(|n| n.ends_with("_version-1.v2.eml")),
        "{names:?}"
    );
}

/// Two live filings given the same version number (a failed one brought back) must not
/// share one file: the second is refused, and the first one's file stays as it was.
#[tokio::test]
async fn webdav_refuses_a_version_file_that_is_another_filings() {
    let Some(server) = DavServer::start() else {
        return;
    };
    std::fs::create_dir(server.root().join("sager")).unwrap();
    let connector = WebdavConnector::new(&WebdavConfig {
        name: "dokumenter".into(),
        url: format!("{}sager/", server.url()),
        username: wsgidav::USER.into(),
        password: serde_json::from_value(json!(wsgidav::PASSWORD)).unwrap(),
        timeout_secs: 10,
    })
    .unwrap();
    let byg = case("VK-2026-0009");
    let first = connector.file(request("dobbelt-1", &byg)).await.unwrap();
    let as_version = |key: &str, text: &str| {
        let mut version = request(key, &byg);
        version.content = format!("Subject: Carport\r\n\r\n{text}\r\n").into_bytes();
        version.new_version_of = Some(NewVersion {
            document_id: first.document_id.clone(),
            version: 2,
        });
        version
    };
    connector
        .file(as_version("dobbelt-2", "Rettelse nr. 1."))
        .await
        .unwrap();
    let folder = server.root().join("sager").join(&byg.id);
    let version_file = std::fs::read_dir(&folder)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with(".v2.eml"))
        .expect("the version file");
    let before = std::fs::read(&version_file).unwrap();

    // Same length as well, so only the key tells the two apart.
    let clash = connector
        .file(as_version("dobbelt-3", "Rettelse nr. 2."))
        .await;
    match clash {
        Err(ConnectorError::Permanent(message)) => {
            assert!(message.contains("another filing"), "{message}")
        }
        other => panic!("a foreign version file was taken: {other:?}"),
    }
    assert_eq!(std::fs::read(&version_file).unwrap(), before);
}

#[tokio::test]
async fn a_webhook_is_told_which_document_a_version_belongs_to() {
    let receiver = Receiver::start().await;
    let connector = WebhookConnector::new(&WebhookConfig {
        name: "byggesag".into(),
        url: receiver.url.clone(),
        bearer_token: serde_json::from_value(json!(receiver::TOKEN)).unwrap(),
        id_pointer: "/document/id".into(),
        timeout_secs: 10,
        ..WebhookConfig::default()
    })
    .unwrap();
    let byg = case("BYG-7");
    let first = connector.file(request("hook-v1", &byg)).await.unwrap();
    let mut version = request("hook-v2", &byg);
    version.new_version_of = Some(NewVersion {
        document_id: first.document_id.clone(),
        version: 2,
    });
    connector.file(version).await.unwrap();

    let original = receiver.document("hook-v1").unwrap();
    assert_eq!(
        (
            &original["document"]["version_of"],
            &original["document"]["version"]
        ),
        (&Value::Null, &json!(1))
    );
    let sent = receiver.document("hook-v2").unwrap();
    assert_eq!(
        sent["document"]["version_of"],
        first.document_id.as_str(),
        "{sent}"
    );
    assert_eq!(sent["document"]["version"], 2, "{sent}");
}
