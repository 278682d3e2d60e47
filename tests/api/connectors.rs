//! Every connector against its real target: the contract suite for the archive, a wsgidav
//! WebDAV server and a webhook receiver; what each leaves at its target; and filings routed
//! by the running service to their case's connector instance.

use std::path::{Path, PathBuf};

use base64::Engine;
use journaliser::config::{WebdavConfig, WebhookConfig};
use journaliser::connector::{
    ArchiveConnector, AttachmentDocument, Connector, ConnectorError, Receipt, WebdavConnector,
    WebhookConnector,
};
use journaliser::domain::filing::AttachmentMode;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tempfile::TempDir;

use crate::contract::{Target, attachments, case, contract_suite, request};
use crate::helpers::{FIXTURE_MAIL, fixture};
use crate::process::{Remote, journaliser, output, serve};
use crate::receiver::{self, Receiver};
use crate::wsgidav::{self, DavServer};

/// Files (not folders, not hidden) in a folder.
fn files_in(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && !p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .collect();
    files.sort();
    files
}

// ---- the archive ----

struct ArchiveTarget {
    dir: TempDir,
    connector: ArchiveConnector,
}

impl ArchiveTarget {
    fn root(&self) -> PathBuf {
        self.dir.path().join("archive")
    }
}

impl Target for ArchiveTarget {
    fn connector(&self) -> &dyn Connector {
        &self.connector
    }

    fn documents(&self, case_id: &str) -> usize {
        crate::helpers::archived_documents(&self.root(), case_id).len()
    }

    /// A file where the archive's folder should be, as a full or unmounted disk would.
    async fn break_down(&mut self) {
        std::fs::rename(self.root(), self.dir.path().join("moved")).unwrap();
        std::fs::write(self.root(), b"not a folder").unwrap();
    }

    async fn recover(&mut self) {
        std::fs::remove_file(self.root()).unwrap();
        std::fs::rename(self.dir.path().join("moved"), self.root()).unwrap();
    }

    fn refused(&self) -> Option<(Box<dyn Connector>, &'static str)> {
        None
    }
}

#[tokio::test]
async fn the_archive_keeps_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    let connector = ArchiveConnector::new(dir.path().join("archive"));
    contract_suite(&mut ArchiveTarget { dir, connector }).await;
}

// ---- WebDAV ----

/// A connector to the WebDAV collection at `url`, as the test user with `password`.
pub fn webdav(url: &str, password: &str) -> WebdavConnector {
    WebdavConnector::new(&WebdavConfig {
        name: "dokumenter".into(),
        url: url.into(),
        username: wsgidav::USER.into(),
        password: serde_json::from_value(json!(password)).unwrap(),
        timeout_secs: 10,
    })
    .unwrap()
}

struct DavTarget {
    server: DavServer,
    connector: WebdavConnector,
}

impl DavTarget {
    /// The server with a `sager` collection as the connector's base.
    fn start() -> Option<DavTarget> {
        let server = DavServer::start()?;
        std::fs::create_dir(server.root().join("sager")).unwrap();
        let connector = webdav(&format!("{}sager/", server.url()), wsgidav::PASSWORD);
        Some(DavTarget { server, connector })
    }

    fn case_dir(&self, case_id: &str) -> PathBuf {
        self.server.root().join("sager").join(case_id)
    }
}

impl Target for DavTarget {
    fn connector(&self) -> &dyn Connector {
        &self.connector
    }

    fn documents(&self, case_id: &str) -> usize {
        files_in(&self.case_dir(case_id)).len()
    }

    async fn break_down(&mut self) {
        self.server.stop();
    }

    async fn recover(&mut self) {
        self.server.resume();
    }

    fn refused(&self) -> Option<(Box<dyn Connector>, &'static str)> {
        let wrong = webdav(&format!("{}sager/", self.server.url()), "wrong password");
        Some((Box::new(wrong), "401"))
    }
}

#[tokio::test]
async fn webdav_keeps_the_contract() {
    let Some(mut target) = DavTarget::start() else {
        return;
    };
    contract_suite(&mut target).await;
}

/// All properties of a resource, as the server keeps them.
async fn dav_properties(server: &DavServer, path: &str) -> String {
    let response = reqwest::Client::new()
        .request(
            reqwest::Method::from_bytes(b"PROPFIND").unwrap(),
            format!("{}{path}", server.url()),
        )
        .basic_auth(wsgidav::USER, Some(wsgidav::PASSWORD))
        .header("Depth", "0")
        .body(r#"<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::MULTI_STATUS);
    response.text().await.unwrap()
}

#[tokio::test]
async fn webdav_keeps_a_folder_per_case_and_never_overwrites_a_document() {
    let Some(target) = DavTarget::start() else {
        return;
    };
    let unsafe_id = case("Sag 7/2026");
    let mut mail = request("k-1", &unsafe_id);
    mail.attachments = attachments();
    let filed = target.connector.file(mail.clone()).await.unwrap();
    assert_eq!(filed.receipt, Receipt::Filed);
    let (folder, name) = filed.document_id.split_once('/').unwrap();
    assert!(
        folder.starts_with("Sag_7_2026_"),
        "a safe, unique folder: {folder}"
    );
    assert_eq!(
        name, "2026-11-23_Ansøgning_om_carport_tegning_k-1.eml",
        "named by date, title and key"
    );

    // On the server's disk: the mail and its separate attachment, nothing else.
    let files = files_in(&target.case_dir(folder));
    let names: Vec<_> = files
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "2026-11-23_Ansøgning_om_carport_tegning_k-1-01-tegning.pdf",
            "2026-11-23_Ansøgning_om_carport_tegning_k-1.eml"
        ]
    );
    assert_eq!(std::fs::read(&files[1]).unwrap(), mail.content);
    assert_eq!(std::fs::read(&files[0]).unwrap(), b"%PDF-1.4 tegning");

    // The metadata as properties in our namespace, on the document and on the case.
    let props = dav_properties(
        &target.server,
        &format!("sager/{}", urlencode(&filed.document_id)),
    )
    .await;
    for expected in [
        ">incoming<",
        ">2026-11-20T09:30:00+00:00<",
        ">02.34.02-G01-7-26<",
        ">k-1<",
        ">Ansøgning om carport / tegning<",
        "urn:journaliser",
    ] {
        assert!(props.contains(expected), "{expected} missing in {props}");
    }
    let case_props = dav_properties(&target.server, &format!("sager/{}/", urlencode(folder))).await;
    assert!(case_props.contains(">Sag 7/2026<"), "{case_props}");
    let listed = target.connector.list_cases().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        listed[0].id, "Sag 7/2026",
        "the id comes back from the properties"
    );

    // A collection made by hand is a case named after it, and its filings go into it.
    std::fs::create_dir(target.case_dir("Byggesag Skovvej 12")).unwrap();
    let by_hand = target
        .connector
        .read_case("Byggesag Skovvej 12")
        .await
        .unwrap()
        .expect("the collection made by hand");
    assert_eq!(by_hand.title, "Byggesag Skovvej 12");
    target
        .connector
        .file(request("k-hand", &case(&by_hand.id)))
        .await
        .unwrap();
    assert_eq!(files_in(&target.case_dir("Byggesag Skovvej 12")).len(), 1);

    // A document that is there is never overwritten, even by different bytes under its key.
    let mut changed = mail.clone();
    changed.content = b"Subject: changed\r\n\r\nother bytes".to_vec();
    assert_eq!(target.connector.file(changed).await.unwrap(), filed);
    assert_eq!(std::fs::read(&files[1]).unwrap(), mail.content);
}

#[tokio::test]
async fn webdav_mends_an_upload_cut_short_and_keeps_one_left_undescribed() {
    let Some(target) = DavTarget::start() else {
        return;
    };
    let case = case("VK-2026-0008");
    let mail = request("k-cut", &case);
    let name = "2026-11-23_Ansøgning_om_carport_tegning_k-cut.eml";
    let case_dir = target.case_dir(&case.id);
    std::fs::create_dir_all(&case_dir).unwrap();

    // An earlier attempt died mid-upload: half the bytes, no properties. It is removed and
    // the next attempt puts the whole document.
    std::fs::write(case_dir.join(name), &mail.content[..10]).unwrap();
    let cut = target.connector.file(mail.clone()).await;
    assert!(matches!(cut, Err(ConnectorError::Transient(_))), "{cut:?}");
    target.connector.file(mail.clone()).await.unwrap();
    assert_eq!(std::fs::read(case_dir.join(name)).unwrap(), mail.content);

    // An earlier attempt put the whole document and died before describing it: it is kept
    // and described.
    let other = request("k-whole", &case);
    let other_name = "2026-11-23_Ansøgning_om_carport_tegning_k-whole.eml";
    std::fs::write(case_dir.join(other_name), &other.content).unwrap();
    target.connector.file(other).await.unwrap();
    let props = dav_properties(
        &target.server,
        &format!("sager/{}/{}", case.id, urlencode(other_name)),
    )
    .await;
    assert!(props.contains(">k-whole<"), "{props}");
    assert_eq!(files_in(&case_dir).len(), 2);
}

#[tokio::test]
async fn webdav_without_its_base_collection_is_refused_for_good() {
    let Some(server) = DavServer::start() else {
        return;
    };
    let connector = webdav(
        &format!("{}mangler/sager/", server.url()),
        wsgidav::PASSWORD,
    );
    let refused = connector.file(request("k", &case("S-1"))).await;
    assert!(
        matches!(&refused, Err(ConnectorError::Permanent(m)) if m.contains("409")),
        "{refused:?}"
    );
}

fn urlencode(path: &str) -> String {
    path.split('/')
        .map(|segment| {
            let mut url = reqwest::Url::parse("http://x/").unwrap();
            url.path_segments_mut().unwrap().push(segment);
            url.path()[1..].to_string()
        })
        .collect::<Vec<_>>()
        .join("/")
}

// ---- webhooks ----

fn webhook(
    receiver: &Receiver,
    token: &str,
    adjust: impl FnOnce(&mut WebhookConfig),
) -> WebhookConnector {
    let mut config = WebhookConfig {
        name: "byggesag".into(),
        url: receiver.url.clone(),
        bearer_token: serde_json::from_value(json!(token)).unwrap(),
        id_pointer: "/document/id".into(),
        timeout_secs: 10,
        ..WebhookConfig::default()
    };
    adjust(&mut config);
    WebhookConnector::new(&config).unwrap()
}

struct HookTarget {
    receiver: Receiver,
    connector: WebhookConnector,
}

impl Target for HookTarget {
    fn connector(&self) -> &dyn Connector {
        &self.connector
    }

    fn documents(&self, case_id: &str) -> usize {
        self.receiver.documents(case_id)
    }

    async fn break_down(&mut self) {
        self.receiver.unavailable_for(usize::MAX);
    }

    async fn recover(&mut self) {
        self.receiver.unavailable_for(0);
    }

    fn refused(&self) -> Option<(Box<dyn Connector>, &'static str)> {
        let wrong = webhook(&self.receiver, "wrong token", |_| {});
        Some((Box::new(wrong), "ukendt adgangsnøgle"))
    }
}

#[tokio::test]
async fn the_webhook_keeps_the_contract() {
    let receiver = Receiver::start().await;
    let withdraw = receiver.withdraw_url();
    let create = receiver.cases_url();
    let connector = webhook(&receiver, receiver::TOKEN, |config| {
        config.withdraw_url = withdraw;
        config.create_url = create;
        config.case_number_pointer = "/sag/nummer".into();
    });
    contract_suite(&mut HookTarget {
        receiver,
        connector,
    })
    .await;
}

#[tokio::test]
async fn a_webhook_sends_the_document_as_configured_and_reads_the_id() {
    let receiver = Receiver::start().await;
    let connector = webhook(&receiver, receiver::TOKEN, |config| {
        config.body = r#"{"case": {"id": "{case_id}"}, "sagsnummer": "{case_number}", "titel": "{title}",
                          "retning": "{direction}", "dato": "{date}", "fil": {"navn": "{file_name}",
                          "type": "{content_type}", "indhold": "{content_base64}"}, "bilag": "{attachments}",
                          "nøgle": "{idempotency_key}"}"#
            .into();
        config.headers.insert(
            "X-Kilde".into(),
            serde_json::from_value(json!("journaliser")).unwrap(),
        );
    });
    let byg = case("BYG-1");
    let mut mail = request("k-1", &byg);
    mail.attachments = vec![AttachmentDocument {
        index: 0,
        mode: AttachmentMode::Separate,
        name: "tegning.pdf".into(),
        content_type: "application/pdf".into(),
        content: b"%PDF".to_vec(),
        text: String::new(),
    }];
    let filed = connector.file(mail.clone()).await.unwrap();
    assert_eq!(
        (filed.document_id.as_str(), filed.receipt),
        ("FS-1", Receipt::Filed)
    );
    let body = receiver.document("k-1").unwrap();
    let decode = |v: &Value| {
        base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap())
            .unwrap()
    };
    assert_eq!(decode(&body["fil"]["indhold"]), mail.content);
    assert_eq!(body["fil"]["navn"], "Ansøgning_om_carport_tegning.eml");
    assert_eq!(body["retning"], "incoming");
    assert_eq!(body["dato"], "2026-11-20T09:30:00+00:00");
    assert_eq!(body["nøgle"], "k-1");
    assert_eq!(body["bilag"][0]["file_name"], "tegning.pdf");
    assert_eq!(decode(&body["bilag"][0]["content_base64"]), b"%PDF");

    // Busy is transient; a refusal is permanent with the fagsystem's words.
    receiver.unavailable_for(1);
    let busy = connector.file(request("k-2", &byg)).await;
    assert!(
        matches!(&busy, Err(ConnectorError::Transient(m)) if m.contains("503")),
        "{busy:?}"
    );
    receiver.close_case("BYG-1");
    let refused = connector.file(request("k-2", &byg)).await;
    assert!(
        matches!(&refused, Err(ConnectorError::Permanent(m)) if m.contains("422") && m.contains("Sagen er afsluttet")),
        "{refused:?}"
    );

    // An answer without an id at the pointer is only "submitted", under our key.
    let unsure = webhook(&receiver, receiver::TOKEN, |c| {
        c.id_pointer = "/sag/dokument".into()
    });
    let submitted = unsure.file(request("k-3", &case("BYG-2"))).await.unwrap();
    assert_eq!(
        (submitted.document_id.as_str(), submitted.receipt),
        ("k-3", Receipt::Submitted)
    );
}

// ---- through the service ----

/// Files through the service and returns the accepted filing's id.
async fn file(remote: &Remote, body: Value) -> String {
    let response = remote.file(body).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    response.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn filings_go_to_the_connector_their_case_was_imported_for() {
    let receiver = Receiver::start().await;
    let dav = DavServer::start();
    let dir = tempfile::tempdir().unwrap();
    let mut config = format!(
        "[[connectors]]\nname = \"byggesag\"\nkind = \"webhook\"\nurl = \"{}\"\nbearer_token = \"{}\"\n\
         id_pointer = \"/document/id\"\n",
        receiver.url,
        receiver::TOKEN
    );
    if let Some(dav) = &dav {
        std::fs::create_dir(dav.root().join("sager")).unwrap();
        config.push_str(&format!(
            "\n[[connectors]]\nname = \"dokumenter\"\nkind = \"webdav\"\nurl = \"{}sager/\"\n\
             username = \"{}\"\npassword = \"{}\"\n",
            dav.url(),
            wsgidav::USER,
            wsgidav::PASSWORD
        ));
    }
    std::fs::write(dir.path().join("journaliser.toml"), config).unwrap();
    let import = |file: &str, cases: Value, connector: &str| {
        std::fs::write(dir.path().join(file), cases.to_string()).unwrap();
        journaliser(dir.path())
            .args(["import", "cases", file, "--connector", connector])
            .output()
            .unwrap()
    };
    let case = |id: &str, title: &str| json!([{"id": id, "number": format!("02.34.02-G01-{id}-26"), "title": title}]);
    let unknown = import("x.json", case("X-1", "Ukendt"), "nope");
    let said = String::from_utf8_lossy(&unknown.stderr);
    assert!(
        !unknown.status.success()
            && said.contains("no connector named \"nope\"")
            && said.contains("byggesag"),
        "{said}"
    );
    assert!(
        import("byg.json", case("BYG-1", "Carport, Skovvej 12"), "byggesag")
            .status
            .success()
    );
    if dav.is_some() {
        assert!(
            import("dok.json", case("DOK-1", "Referater"), "dokumenter")
                .status
                .success()
        );
    }
    let listing = journaliser(dir.path())
        .args(["import", "cases", "--from-connector", "byggesag"])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&listing.stderr).contains("cannot list its cases"),
        "{}",
        String::from_utf8_lossy(&listing.stderr)
    );
    let token = output(journaliser(dir.path()).args(["token", "--user", "anna"]))
        .trim()
        .to_string();

    let (mut server, base) = serve(dir.path());
    let remote = Remote::new(&base, &token);
    let item = remote
        .post_item("message/rfc822", fixture(FIXTURE_MAIL))
        .await;

    // The fagsystem is busy for two requests; the worker retries until it answers.
    receiver.unavailable_for(2);
    let body = json!({"item_id": item["id"], "case_id": "BYG-1", "title": "Henvendelse om carport",
                      "attachments": [{"index": 1, "mode": "separate"}]});
    let to_hook = file(&remote, body).await;
    let filed = remote.settled(&to_hook).await;
    assert_eq!(filed["state"], "filed", "{filed:#}");
    assert_eq!(filed["target_document_id"], "FS-1");
    assert_eq!(receiver.deliveries(), 3, "two refused for now, one filed");
    assert_eq!(receiver.documents("BYG-1"), 1);
    let body = receiver.document(&to_hook).unwrap();
    assert_eq!(body["document"]["direction"], "incoming");
    assert_eq!(body["attachments"].as_array().unwrap().len(), 1);
    assert!(
        body["attachments"][0]["file_name"]
            .as_str()
            .unwrap()
            .ends_with(".odt")
    );

    if let Some(dav) = &dav {
        let text = remote
            .post_item("text/plain", "Referat af mødet om kommunens styrelse.")
            .await;
        let to_dav = file(
            &remote,
            json!({"item_id": text["id"], "case_id": "DOK-1", "title": "Referat"}),
        )
        .await;
        let filed = remote.settled(&to_dav).await;
        assert_eq!(filed["state"], "filed", "{filed:#}");
        let files = files_in(&dav.root().join("sager/DOK-1"));
        assert_eq!(files.len(), 1, "{files:?}");
        assert_eq!(
            std::fs::read_to_string(&files[0]).unwrap(),
            "Referat af mødet om kommunens styrelse."
        );
        assert_eq!(
            filed["target_document_id"],
            format!("DOK-1/{}", files[0].file_name().unwrap().to_string_lossy())
        );
    }
    server.kill().unwrap();
    server.wait().unwrap();
}

/// A WebDAV server that stores documents but keeps no properties (as nginx without its
/// extension answers PROPPATCH), and records what it was asked to delete.
async fn dav_without_properties() -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use axum::http::{Method, StatusCode as Status};
    let deleted = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = deleted.clone();
    let app = axum::Router::new().fallback(move |method: Method, uri: axum::http::Uri| {
        let seen = seen.clone();
        async move {
            match method.as_str() {
                "MKCOL" | "PUT" => Status::CREATED,
                "DELETE" => {
                    seen.lock().unwrap().push(uri.path().to_string());
                    Status::NO_CONTENT
                }
                _ => Status::METHOD_NOT_ALLOWED,
            }
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/dav/", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, deleted)
}

#[tokio::test]
async fn a_webdav_filing_refused_for_good_leaves_nothing_behind() {
    let (url, deleted) = dav_without_properties().await;
    let connector = webdav(&url, wsgidav::PASSWORD);
    let mut filing = request("k-undo", &case("DOK-9"));
    filing
        .attachments
        .push(journaliser::connector::AttachmentDocument {
            index: 0,
            mode: AttachmentMode::Separate,
            name: "bilag.txt".into(),
            content_type: "text/plain".into(),
            content: b"bilag".to_vec(),
            text: "bilag".into(),
        });
    let refused = connector.file(filing).await;
    assert!(
        matches!(&refused, Err(ConnectorError::Permanent(m)) if m.contains("405")),
        "{refused:?}"
    );
    let deleted = deleted.lock().unwrap().clone();
    assert_eq!(
        deleted.len(),
        1,
        "the attachment put before the refusal is removed: {deleted:?}"
    );
    assert!(deleted[0].starts_with("/dav/DOK-9/"), "{deleted:?}");
}
