//! `journaliser backup` while filings arrive, and `journaliser restore` into a fresh
//! directory: a server started on it has every filing accepted before the backup began, each
//! delivered once, and an index whose search finds the filed documents.

use std::sync::{Arc, Mutex};

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{TestApp, archived_documents, filing_body};
use crate::process::{journaliser, output};

const CASE: &str = "VK-2026-0002";
/// A word no demo case or document has, so that only the filed documents can match it.
const WORD: &str = "Saltspredervognene";

async fn file_one(app: &TestApp, n: usize) -> String {
    let text = format!(
        "Notat {n} om {WORD} på Bakkevej: {WORD} kørte ikke i nat, og borgerne klager igen."
    );
    let item: Value = app
        .post_item(text.into_bytes(), "text/plain")
        .await
        .json()
        .await
        .unwrap();
    let response = app
        .file(filing_body(item["id"].as_str().unwrap(), CASE))
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let filing: Value = response.json().await.unwrap();
    filing["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_backup_taken_during_filings_restores_every_filing_and_a_working_index() {
    let app = Arc::new(TestApp::spawn().await);
    let work = tempfile::tempdir().unwrap();
    let mut accepted = Vec::new();
    for n in 0..5 {
        accepted.push(file_one(&app, n).await);
    }
    for id in &accepted {
        assert_eq!(app.wait_settled(id).await["state"], "filed");
    }

    // Filings keep arriving while the backup runs.
    let during = Arc::new(Mutex::new(Vec::new()));
    let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
    let filer = {
        let (app, during) = (app.clone(), during.clone());
        tokio::spawn(async move {
            for n in 5.. {
                if stopped.try_recv().is_ok() {
                    break;
                }
                let id = file_one(&app, n).await;
                during.lock().unwrap().push(id);
            }
        })
    };
    while during.lock().unwrap().len() < 3 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    accepted.extend(during.lock().unwrap().iter().cloned());
    let file = work.path().join("backup.zip");
    let backup = {
        let (work, data_dir, file) = (
            work.path().to_path_buf(),
            app.data_dir.clone(),
            file.clone(),
        );
        tokio::task::spawn_blocking(move || {
            output(
                journaliser(&work)
                    .args(["backup", "--data-dir"])
                    .arg(&data_dir)
                    .arg("--out")
                    .arg(&file),
            )
        })
    };
    backup.await.unwrap();
    stop.send(()).unwrap();
    filer.await.unwrap();
    let filed_during = during.lock().unwrap().len() - 3;
    assert!(filed_during > 0, "no filing arrived while the backup ran");

    // A directory in use is refused; a fresh one is restored.
    let refused = journaliser(work.path())
        .args(["restore"])
        .arg(&file)
        .arg("--data-dir")
        .arg(&app.data_dir)
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("not empty"));
    let restored_dir = work.path().join("restored");
    output(
        journaliser(work.path())
            .args(["restore"])
            .arg(&file)
            .arg("--data-dir")
            .arg(&restored_dir),
    );
    assert!(restored_dir.join("token-signing.key").exists());
    assert!(restored_dir.join("cpr-hash.key").exists());

    let restored = TestApp::spawn_on(&restored_dir).await;
    let mut present = Vec::new();
    let filed_while_copying: Vec<String> = during.lock().unwrap().iter().skip(3).cloned().collect();
    for id in &filed_while_copying {
        if restored
            .get(&format!("/api/v1/filings/{id}"), &restored.token)
            .await
            .status()
            == StatusCode::OK
        {
            present.push(id.clone());
        }
    }
    present.extend(accepted.iter().cloned());
    for id in &present {
        let filing = restored.wait_settled(id).await;
        assert_eq!(filing["state"], "filed", "{filing:#}");
    }
    // Each filing is in the restored archive exactly once: those delivered after the store was
    // copied are delivered again there, and no earlier one twice.
    let documents = archived_documents(&restored.archive(), CASE);
    for id in &present {
        let copies = documents
            .iter()
            .filter(|d| {
                d.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .contains(id.as_str())
            })
            .count();
        assert_eq!(copies, 1, "filing {id} in {documents:#?}");
    }

    // The restored index finds the filed documents.
    let probe = format!("Endnu en henvendelse om {WORD}, som ikke kørte på Bakkevej.");
    let item: Value = restored
        .post_item(probe.into_bytes(), "text/plain")
        .await
        .json()
        .await
        .unwrap();
    let suggestions = restored.suggestions(item["id"].as_str().unwrap()).await;
    let first = &suggestions["suggestions"][0];
    assert_eq!(first["case"]["id"], CASE, "{suggestions:#}");
    assert!(
        first["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["code"] == "text"),
        "{first:#}"
    );
}
