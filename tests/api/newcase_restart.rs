//! A case creation killed between the target's answer and our record makes no second case.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{Method, StatusCode, Uri};
use serde_json::{Value, json};

use crate::process::{journaliser, output, serve_with};

/// A WebDAV server's case side: MKCOL makes a collection once (405 after), and PROPPATCH
/// answers an empty multistatus, or never while `stalled`.
#[derive(Default)]
struct Collections {
    made: BTreeSet<String>,
    mkcol_requests: usize,
    proppatch_requests: usize,
    stalled: bool,
}

async fn start() -> (String, Arc<Mutex<Collections>>) {
    let state = Arc::new(Mutex::new(Collections {
        stalled: true,
        ..Default::default()
    }));
    let shared = state.clone();
    let app = axum::Router::new().fallback(move |method: Method, uri: Uri| {
        let state = shared.clone();
        async move {
            let path = uri.path().to_string();
            if method.as_str() == "MKCOL" {
                let mut state = state.lock().unwrap();
                state.mkcol_requests += 1;
                return match state.made.insert(path) {
                    true => (StatusCode::CREATED, String::new()),
                    false => (StatusCode::METHOD_NOT_ALLOWED, String::new()),
                };
            }
            if method.as_str() == "PROPPATCH" {
                let stalled = {
                    let mut state = state.lock().unwrap();
                    state.proppatch_requests += 1;
                    state.stalled
                };
                if stalled {
                    std::future::pending::<()>().await;
                }
                return (
                    StatusCode::MULTI_STATUS,
                    r#"<?xml version="1.0"?><D:multistatus xmlns:D="DAV:"/>"#.to_string(),
                );
            }
            (StatusCode::NOT_IMPLEMENTED, String::new())
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, state)
}

async fn order(client: &reqwest::Client, base: &str, token: &str) -> (StatusCode, Value) {
    let response = client
        .post(format!("{base}/api/v1/cases"))
        .bearer_auth(token)
        .json(
            &json!({"connector": "dav", "title": "Udestue, Strandvejen 41", "kle": "02.34.02",
                      "facet": "G01", "create_key": "udestue-1"}),
        )
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn a_kill_after_the_target_made_the_case_makes_no_second_case() {
    let (url, target) = start().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("journaliser.toml"),
        format!("[[connectors]]\nname = \"dav\"\nkind = \"webdav\"\nurl = \"{url}sager/\"\n"),
    )
    .unwrap();
    let token = output(journaliser(dir.path()).args(["token", "--user", "anna"]));
    let token = token.trim();
    let command = || {
        let mut command = journaliser(dir.path());
        command
            .env("JOURNALISER_FILING__LEASE_SECS", "3")
            .env("JOURNALISER_SYNC__INTERVAL_MINUTES", "0");
        command
    };
    let client = reqwest::Client::new();

    let (mut first, base) = serve_with(command(), std::process::Stdio::inherit());
    let (status, accepted) = order(&client, &base, token).await;
    assert_eq!(status, reqwest::StatusCode::CREATED, "{accepted:#}");
    let id = accepted["case"]["id"].as_str().unwrap().to_string();
    // The target has made the collection and is asked for its properties: the service has
    // its answer to MKCOL and has recorded nothing yet.
    for _ in 0..200 {
        if target.lock().unwrap().proppatch_requests > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(target.lock().unwrap().made.len(), 1);
    first.kill().unwrap();
    first.wait().unwrap();
    target.lock().unwrap().stalled = false;

    let (mut second, base) = serve_with(command(), std::process::Stdio::inherit());
    let mut last = Value::Null;
    for _ in 0..150 {
        let (status, answer) = order(&client, &base, token).await;
        assert_eq!(status, reqwest::StatusCode::OK, "{answer:#}");
        assert_eq!(answer["case"]["id"], id.as_str());
        last = answer;
        if last["creation"]["state"] == "created" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    second.kill().unwrap();
    second.wait().unwrap();
    assert_eq!(last["creation"]["state"], "created", "{last:#}");
    let target = target.lock().unwrap();
    assert_eq!(target.made.len(), 1, "{:?}", target.made);
    assert_eq!(target.mkcol_requests, 2);
}
