//! A case creation killed between the target's answer and our record makes no second case,
//! on every target that creates cases: WebDAV, a webhook, SharePoint and F2. Each target makes
//! the case and holds back its answer; the service is killed, started again, and asked again.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Child;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{Method, StatusCode, Uri};
use serde_json::{Value, json};

use crate::f2_standin::F2Standin;
use crate::graph_standin::GraphStandin;
use crate::process::{Remote, journaliser, output, serve_with};
use crate::receiver::{self, Receiver};

/// A WebDAV server's case side: MKCOL makes a collection once (405 after), and PROPPATCH
/// answers an empty multistatus, or never while `stalled`.
#[derive(Default)]
struct Collections {
    made: BTreeSet<String>,
    mkcol_requests: usize,
    proppatch_requests: usize,
    stalled: bool,
}

async fn start_webdav() -> (String, Arc<Mutex<Collections>>) {
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

async fn order(remote: &Remote, connector: &str) -> (reqwest::StatusCode, Value) {
    let response = remote
        .client
        .post(format!("{}/api/v1/cases", remote.base))
        .bearer_auth(&remote.token)
        .json(
            &json!({"connector": connector, "title": "Udestue, Strandvejen 41",
                      "kle": "02.34.02", "facet": "G01",
                      "parties": [{"kind": "email", "value": "henrik.damgaard@borger.example"}],
                      "create_key": "udestue-1"}),
        )
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

/// A service started on `dir`, with a lease short enough for a killed claim to pass soon.
fn start(dir: &Path) -> (Child, String) {
    let mut command = journaliser(dir);
    command
        .env("JOURNALISER_FILING__LEASE_SECS", "3")
        .env("JOURNALISER_SYNC__INTERVAL_MINUTES", "0");
    serve_with(command, std::process::Stdio::inherit())
}

/// A service on `config` after the kill: running, with its token, and the case as created.
struct AfterKill {
    dir: tempfile::TempDir,
    server: Child,
    remote: Remote,
    case: Value,
}

impl Drop for AfterKill {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

/// Orders a case on `connector`, kills the service once `made` says the target has made it
/// (its answer held back), lets the target answer (`release`), starts the service again and
/// asks again until the case is created.
async fn order_across_a_kill(
    config: &str,
    connector: &str,
    made: impl Fn() -> usize,
    release: impl FnOnce(),
) -> AfterKill {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("journaliser.toml"), config).unwrap();
    let token = output(journaliser(dir.path()).args(["token", "--user", "anna"]));
    let (mut first, base) = start(dir.path());
    let remote = Remote::new(&base, token.trim());
    let (status, accepted) = order(&remote, connector).await;
    assert_eq!(status, reqwest::StatusCode::CREATED, "{accepted:#}");
    let id = accepted["case"]["id"].as_str().unwrap().to_string();
    for _ in 0..300 {
        if made() > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(made(), 1, "the target made the case");
    // The target has made the case and not answered: the service has recorded nothing yet.
    first.kill().unwrap();
    first.wait().unwrap();
    release();

    let (server, base) = start(dir.path());
    let remote = Remote::new(&base, token.trim());
    let mut last = Value::Null;
    for _ in 0..150 {
        let (status, answer) = order(&remote, connector).await;
        assert_eq!(status, reqwest::StatusCode::OK, "{answer:#}");
        assert_eq!(answer["case"]["id"], id.as_str());
        last = answer;
        if last["creation"]["state"] == "created" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let after = AfterKill {
        dir,
        server,
        remote,
        case: last["case"].clone(),
    };
    assert_eq!(last["creation"]["state"], "created", "{last:#}");
    assert_eq!(made(), 1, "one case at the target");
    after
}

impl AfterKill {
    /// Files a note on the created case and waits until it is filed.
    async fn file_on_it(&self) -> Value {
        let item = self
            .remote
            .post_item("text/plain", "Tegninger til udestuen på Strandvejen 41.")
            .await;
        let id = self
            .remote
            .accepted(json!({"item_id": item["id"], "case_id": self.case["id"],
                             "title": "Tegninger"}))
            .await;
        let filed = self.remote.settled(&id).await;
        assert_eq!(filed["state"], "filed", "{filed:#}");
        filed
    }

    fn id(&self) -> &str {
        self.case["id"].as_str().unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_webdav() {
    let (url, target) = start_webdav().await;
    let config =
        format!("[[connectors]]\nname = \"dav\"\nkind = \"webdav\"\nurl = \"{url}sager/\"\n");
    let released = target.clone();
    let after = order_across_a_kill(
        &config,
        "dav",
        || target.lock().unwrap().made.len(),
        move || released.lock().unwrap().stalled = false,
    )
    .await;
    assert_eq!(target.lock().unwrap().mkcol_requests, 2);
    assert_eq!(after.case["number"], after.id());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_webhook() {
    let receiver = Receiver::start().await;
    receiver.hold_case_answers(true);
    let config = format!(
        "[[connectors]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"{}\"\nbearer_token = \"{}\"\n\
         id_pointer = \"/document/id\"\ncreate_url = \"{}\"\ncase_number_pointer = \"/sag/nummer\"\n",
        receiver.url,
        receiver::TOKEN,
        receiver.cases_url()
    );
    let released = receiver.clone();
    let after = order_across_a_kill(
        &config,
        "hook",
        || receiver.cases().len(),
        move || released.hold_case_answers(false),
    )
    .await;
    assert_eq!(receiver.case_requests(), 2);
    let (key, number, body) = receiver.cases().remove(0);
    // The case id is the key, and the number the fagsystem gave is the case's now.
    assert_eq!(key, after.id());
    assert_eq!(after.case["number"], number.as_str());
    assert_eq!(body["kle"], "02.34.02");
    assert_eq!(
        body["parties"][0]["value"],
        "henrik.damgaard@borger.example"
    );
    after.file_on_it().await;
    assert_eq!(receiver.documents(after.id()), 1);
    let filed = receiver.document_bodies(after.id());
    assert_eq!(filed[0]["case"]["number"], number.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_sharepoint() {
    let standin = GraphStandin::start().await;
    standin.hold_folder_answers(true);
    let released = standin.clone();
    let after = order_across_a_kill(
        &crate::sharepoint::toml_instance(&standin, "sager"),
        "sager",
        || standin.folders_made(),
        move || released.hold_folder_answers(false),
    )
    .await;
    let folder = standin.folder(after.id()).expect("the case folder");
    assert_eq!(folder.fields["Title"], "Udestue, Strandvejen 41");
    assert_eq!(folder.fields["KLE"], "02.34.02");
    assert_eq!(folder.fields["Facet"], "G01");
    assert_eq!(
        folder.fields["Parter"],
        "email:henrik.damgaard@borger.example"
    );
    after.file_on_it().await;
    assert_eq!(standin.files(after.id()).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_f2_whose_cases_have_ids_of_its_own() {
    let standin = F2Standin::start().await;
    standin.hold_case_answers(true);
    let released = standin.clone();
    let after = order_across_a_kill(
        &crate::f2::toml_instance(&standin, "f2"),
        "f2",
        || standin.cases_made(),
        move || released.hold_case_answers(false),
    )
    .await;
    // F2 gave the case an id and a number of its own; ours keeps its id and takes the number.
    let made = standin.case("9001").expect("the case F2 made");
    assert_eq!(made["Title"], "Udestue, Strandvejen 41");
    assert_eq!(made["Keyword"], "02.34.02");
    assert_eq!(made["ProcessInstruction"], "G01");
    assert_eq!(after.case["number"], made["CaseNumber"]);
    after.file_on_it().await;
    assert_eq!(standin.matters("9001").len(), 1);

    // Synchronising F2's cases finds the ordered case under its own id, not a second one.
    let admin = output(journaliser(after.dir.path()).args(["token", "--user", "ida", "--admin"]));
    let synced = after
        .remote
        .client
        .post(format!("{}/api/v1/admin/sync", after.remote.base))
        .bearer_auth(admin.trim())
        .send()
        .await
        .unwrap();
    assert_eq!(synced.status(), reqwest::StatusCode::OK);
    let found: Value = after
        .remote
        .get("/api/v1/cases?q=Udestue")
        .await
        .json()
        .await
        .unwrap();
    let ids: Vec<&str> = found["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [after.id()], "{found:#}");
}
