//! Running the real `journaliser` binary in a temporary directory, as an operator would.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

const BINARY: &str = env!("CARGO_BIN_EXE_journaliser");

pub fn journaliser(dir: &Path) -> Command {
    let mut command = Command::new(BINARY);
    command
        .current_dir(dir)
        .env("JOURNALISER_DATA_DIR", dir.join("data"))
        .env("JOURNALISER_FILING__INITIAL_BACKOFF_SECS", "1")
        .env("JOURNALISER_FILING__MAX_BACKOFF_SECS", "2")
        .env("JOURNALISER_FILING__POLL_INTERVAL_MS", "50")
        .env("JOURNALISER_INDEX__WRITER_MEMORY_MB", "15")
        .env("JOURNALISER_LOG__FILTER", "warn");
    command
}

pub fn output(command: &mut Command) -> String {
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// With `config` as the service's configuration: imports the cases of `connector` from it,
/// starts the service, files a note on `case_id` through it and waits until it is filed.
/// Answers the filing and its id.
pub async fn import_then_file(config: &str, connector: &str, case_id: &str) -> (Value, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("journaliser.toml"), config).unwrap();
    // The filing below needs the case in the store: only the import puts it there.
    output(journaliser(dir.path()).args(["import", "cases", "--from-connector", connector]));
    let token = output(journaliser(dir.path()).args(["token", "--user", "anna"]));
    let (mut server, base) = serve(dir.path());
    let remote = Remote::new(&base, token.trim());
    let item = remote
        .post_item("text/plain", "Referat af mødet om carporten på Skovvej 12.")
        .await;
    let id = remote
        .accepted(json!({"item_id": item["id"], "case_id": case_id, "title": "Referat"}))
        .await;
    let filed = remote.settled(&id).await;
    server.kill().unwrap();
    server.wait().unwrap();
    assert_eq!(filed["state"], "filed", "{filed:#}");
    (filed, id)
}

/// Imports `cases` (a JSON array) into the data directory under `dir` and returns a user
/// token for it, as an operator would before starting the service.
pub fn import_and_token(dir: &Path, cases: &Value) -> String {
    let file = dir.join("cases.json");
    std::fs::write(&file, cases.to_string()).unwrap();
    output(journaliser(dir).args(["import", "cases"]).arg(&file));
    output(journaliser(dir).args(["token", "--user", "anna"]))
        .trim()
        .to_string()
}

/// Starts `journaliser serve` on a free port and returns it with its base URL.
pub fn serve(dir: &Path) -> (Child, String) {
    serve_with(journaliser(dir), Stdio::inherit())
}

/// Starts `serve` from a prepared command, its log (stderr) going to `log`.
pub fn serve_with(mut command: Command, log: Stdio) -> (Child, String) {
    let mut child = command
        .args(["serve", "--bind", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let base = line.trim().rsplit(' ').next().unwrap().to_string();
    assert!(
        base.starts_with("http://127.0.0.1:"),
        "unexpected first line {line:?}"
    );
    (child, base)
}

/// A client for a running binary: where it listens and whose token to send.
pub struct Remote {
    pub client: reqwest::Client,
    pub base: String,
    pub token: String,
}

impl Remote {
    pub fn new(base: &str, token: &str) -> Remote {
        Remote {
            client: reqwest::Client::new(),
            base: base.to_string(),
            token: token.to_string(),
        }
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap()
    }

    /// Uploads an item and returns it; the upload must succeed.
    pub async fn post_item(&self, content_type: &str, body: impl Into<reqwest::Body>) -> Value {
        let response = self
            .client
            .post(format!("{}/api/v1/items", self.base))
            .bearer_auth(&self.token)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "upload answered {}",
            response.status()
        );
        response.json().await.unwrap()
    }

    pub async fn file(&self, body: Value) -> reqwest::Response {
        let url = format!("{}/api/v1/filings", self.base);
        self.client
            .post(url)
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    /// Files, expecting the filing accepted, and answers its id.
    pub async fn accepted(&self, body: Value) -> String {
        let response = self.file(body).await;
        assert_eq!(response.status(), reqwest::StatusCode::ACCEPTED);
        response.json::<Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    pub async fn filing(&self, id: &str) -> Value {
        self.get(&format!("/api/v1/filings/{id}"))
            .await
            .json()
            .await
            .unwrap()
    }

    /// Polls a filing until `done` holds for it, for at most 30 seconds.
    pub async fn wait_for(&self, id: &str, done: impl Fn(&Value) -> bool) -> Value {
        for _ in 0..300 {
            let filing = self.filing(id).await;
            if done(&filing) {
                return filing;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!(
            "filing {id} did not reach the awaited state in 30 s: {}",
            self.filing(id).await
        );
    }

    /// Polls a filing until it leaves `queued`.
    pub async fn settled(&self, id: &str) -> Value {
        self.wait_for(id, |f| f["state"] != "queued").await
    }
}
