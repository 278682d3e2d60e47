//! `TestApp`: a real server on a random port with a temporary data directory, and typed
//! requests against it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use journaliser::auth::{TokenKeys, User};
use journaliser::config::Config;
use journaliser::server::Server;
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::sync::oneshot;

pub const FIXTURE_MAIL: &str = "tests/fixtures/mail/mail-with-inline-img-and-attached-odt.eml";
pub const FIXTURE_MSG: &str = "tests/fixtures/mail/attachment-files.msg";

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub data_dir: PathBuf,
    /// A user in every demo group.
    pub token: String,
    pub admin_token: String,
    keys: TokenKeys,
    stop: Option<oneshot::Sender<()>>,
    _dir: Option<TempDir>,
}

pub fn test_config(data_dir: &Path) -> Config {
    let mut config = Config::load(Some(Path::new("/dev/null")), Vec::new()).unwrap();
    config.data_dir = data_dir.to_path_buf();
    config.server.bind = "127.0.0.1:0".parse().unwrap();
    config.filing.poll_interval_ms = 50;
    config.filing.initial_backoff_secs = 1;
    config.index.writer_memory_mb = 15;
    // Cases are synced when a test asks, never behind its back.
    config.sync.interval_minutes = 0;
    if std::env::var_os("TEST_LOG").is_some() {
        journaliser::telemetry::init(&config.log);
    }
    config
}

impl TestApp {
    /// A server with the demo organisation.
    pub async fn spawn() -> TestApp {
        TestApp::spawn_with(|_| {}).await
    }

    pub async fn spawn_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let mut config = test_config(dir.path());
        adjust(&mut config);
        let mut app = TestApp::start(config).await;
        app._dir = Some(dir);
        app
    }

    /// A server on an existing data directory; the demo is seeded only into an empty store.
    pub async fn spawn_on(data_dir: &Path) -> TestApp {
        TestApp::start(test_config(data_dir)).await
    }

    async fn start(config: Config) -> TestApp {
        let data_dir = config.data_dir.clone();
        let server = Server::build(config).await.unwrap();
        journaliser::demo::seed_if_empty(server.services())
            .await
            .unwrap();
        let base = format!("http://{}", server.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(server.run_until_stopped(async {
            let _ = stopped.await;
        }));
        let keys = TokenKeys::load_or_create(&data_dir).unwrap();
        let token = issue(&keys, "anna", &["social", "boern"], false);
        let admin_token = issue(&keys, "root", &[], true);
        TestApp {
            base,
            client: reqwest::Client::new(),
            data_dir,
            token,
            admin_token,
            keys,
            stop: Some(stop),
            _dir: None,
        }
    }

    pub fn token_for(&self, user: &str, groups: &[&str]) -> String {
        issue(&self.keys, user, groups, false)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn post_item(&self, bytes: Vec<u8>, content_type: &str) -> Response {
        self.post_item_as(&self.token, bytes, content_type).await
    }

    pub async fn post_item_as(&self, token: &str, bytes: Vec<u8>, content_type: &str) -> Response {
        self.client
            .post(self.url("/api/v1/items"))
            .bearer_auth(token)
            .header("content-type", content_type)
            .body(bytes)
            .send()
            .await
            .unwrap()
    }

    /// Posts a plain text and returns the created item.
    pub async fn post_text(&self, text: &str) -> Value {
        let response = self.post_item(text.as_bytes().to_vec(), "text/plain").await;
        assert!(response.status().is_success(), "{}", response.status());
        response.json().await.unwrap()
    }

    /// Posts a mail and returns the created item.
    pub async fn post_mail(&self, bytes: Vec<u8>) -> Value {
        let response = self.post_item(bytes, "message/rfc822").await;
        assert!(response.status().is_success(), "{}", response.status());
        response.json().await.unwrap()
    }

    pub async fn get(&self, path: &str, token: &str) -> Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    pub async fn suggestions(&self, item_id: &str) -> Value {
        let response = self
            .get(&format!("/api/v1/items/{item_id}/suggestions"), &self.token)
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    pub async fn file(&self, body: Value) -> Response {
        self.file_as(&self.token, body).await
    }

    pub async fn file_as(&self, token: &str, body: Value) -> Response {
        self.client
            .post(self.url("/api/v1/filings"))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub async fn filing(&self, id: &str) -> Value {
        self.get(&format!("/api/v1/filings/{id}"), &self.token)
            .await
            .json()
            .await
            .unwrap()
    }

    /// Polls a filing until it leaves `queued`, for at most 30 seconds.
    pub async fn wait_settled(&self, id: &str) -> Value {
        for _ in 0..300 {
            let filing = self.filing(id).await;
            if filing["state"] != "queued" {
                return filing;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "filing {id} still queued after 30 s: {}",
            self.filing(id).await
        );
    }

    /// Waits, for at most 30 seconds, until no filing is queued (the demo's are delivered).
    pub async fn until_nothing_queued(&self) {
        for _ in 0..300 {
            let queued = self
                .get_json("/api/v1/admin/filings?state=queued", &self.admin_token)
                .await;
            if queued["filings"].as_array().unwrap().is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn post_json(&self, path: &str, token: &str, body: &Value) -> Response {
        self.client
            .post(self.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// A GET's answer as JSON.
    pub async fn get_json(&self, path: &str, token: &str) -> Value {
        self.get(path, token).await.json().await.unwrap()
    }

    pub fn archive(&self) -> PathBuf {
        self.data_dir.join("archive")
    }

    /// On a server allowing one delivery attempt: once everything queued is delivered, a mail
    /// filed on `case_id` while the archive cannot be written, so that its filing fails for
    /// good; the archive works again afterwards. Returns the failed filing.
    pub async fn fail_one_filing(&self, case_id: &str) -> Value {
        self.until_nothing_queued().await;
        let archive = self.archive();
        let aside = self.data_dir.join("archive.aside");
        if archive.is_dir() {
            std::fs::rename(&archive, &aside).unwrap();
        }
        std::fs::write(&archive, b"a file where the archive folder should be").unwrap();
        let item = self.post_mail(fixture(FIXTURE_MAIL)).await;
        let filing: Value = self
            .file(filing_body(item["id"].as_str().unwrap(), case_id))
            .await
            .json()
            .await
            .unwrap();
        let failed = self.wait_settled(filing["id"].as_str().unwrap()).await;
        assert_eq!(failed["state"], "failed", "{failed:#}");
        std::fs::remove_file(&archive).unwrap();
        if aside.is_dir() {
            std::fs::rename(&aside, &archive).unwrap();
        }
        failed
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

pub fn issue(keys: &TokenKeys, user: &str, groups: &[&str], admin: bool) -> String {
    let user = User {
        id: user.into(),
        name: user.into(),
        groups: groups.iter().map(|g| g.to_string()).collect(),
        admin,
    };
    keys.issue(&user, Duration::from_secs(3600))
}

pub fn fixture(path: &str) -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap()
}

/// A reply to `message_id`, as a mail client would write it.
pub fn reply_to(message_id: &str, subject: &str) -> Vec<u8> {
    format!(
        "From: Test Testsen <test.testsen@borger.example>\r\nTo: Vejstrand Kommune <post@vejstrand.example>\r\n\
         Subject: SV: {subject}\r\nDate: Tue, 12 Oct 2021 10:00:00 +0200\r\nMessage-ID: <reply-1@borger.example>\r\n\
         In-Reply-To: <{message_id}>\r\nReferences: <{message_id}>\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nTak for svaret. Jeg vender tilbage i næste uge.\r\n"
    )
    .into_bytes()
}

pub fn filing_body(item_id: &str, case_id: &str) -> Value {
    json!({"item_id": item_id, "case_id": case_id, "title": "Henvendelse om databehandling"})
}

/// Every document folder filed on a case in the archive (the case record itself excluded).
pub fn archived_documents(archive: &Path, case_id: &str) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(archive.join(case_id)) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            // Staging folders and the withdrawn documents are not on the case.
            p.is_dir() && !name.starts_with('.') && name != "_withdrawn"
        })
        .collect();
    out.sort();
    out
}
