//! Watched functional mailboxes against Debian's postfix and dovecot: mail delivered through
//! postfix into the mailbox is filed or queued for review, marked and moved; with the service
//! SIGKILLed twice while it works through 200 mails, each is handled exactly once.

use std::path::Path;
use std::time::{Duration, Instant};

use journaliser::config::{MailTls, MailboxConfig, Secret};
use serde_json::{Value, json};

use crate::graph_standin::GraphStandin;
use crate::helpers::*;
use crate::mailserver::{MailServer, READER, READER_PASSWORD};
use crate::process::{Remote, journaliser, output, serve_with};

const TILBYGNING: &str = "VK-2026-0001";
const TILBYGNING_MAIL: &str = "tilbygning-strandvejen41-1@borger.example";

fn watched(server: &MailServer) -> MailboxConfig {
    MailboxConfig {
        name: "byg".into(),
        host: "127.0.0.1".into(),
        port: server.ports.imap,
        tls: MailTls::None,
        username: READER.into(),
        password: serde_json::from_value(json!(READER_PASSWORD)).unwrap(),
        groups: vec!["byg".into()],
        poll_secs: 1,
        ..MailboxConfig::default()
    }
}

/// A mail to the watched mailbox from a citizen.
pub fn mail(subject: &str, headers: &str, message_id: &str) -> Vec<u8> {
    format!(
        "From: Borger <borger@example.dk>\r\nTo: byg@vejstrand.example\r\nSubject: {subject}\r\n\
         Date: Wed, 25 Nov 2026 10:00:00 +0100\r\nMessage-ID: <{message_id}>\r\n{headers}\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHej kommune.\r\n"
    )
    .into_bytes()
}

/// Waits until `done` holds, for at most `seconds`.
pub async fn until(seconds: u64, what: &str, mut done: impl AsyncFnMut() -> bool) {
    let started = Instant::now();
    while !done().await {
        assert!(
            started.elapsed() < Duration::from_secs(seconds),
            "{what} within {seconds} s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn mail_in_a_watched_mailbox_is_filed_or_queued_then_marked_and_moved() {
    let Some(server) = MailServer::start() else {
        return;
    };
    let config = watched(&server);
    // A second mailbox on a server that is not there: its watcher fails, and the overview
    // says so.
    let refused = MailboxConfig {
        name: "forkert".into(),
        port: std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port(),
        ..watched(&server)
    };
    let app = TestApp::spawn_with(move |c| c.mailboxes = vec![config, refused]).await;
    for mail in reply_question_and_auto_reply() {
        server.deliver(&mail);
    }

    until(60, "two mails moved", async || {
        server.flags("Journaliseret").len() == 2
    })
    .await;
    let moved = server.flags("Journaliseret");
    assert!(
        moved.iter().any(|f| f.contains("$Journaliseret")),
        "{moved:?}"
    );
    assert!(
        moved.iter().any(|f| f.contains("$Til-gennemsyn")),
        "{moved:?}"
    );
    // The auto-reply stays where it was, unfiled.
    assert_eq!(server.flags("INBOX").len(), 1);

    one_queued_and_one_filed_by_thread(&app).await;

    // What operators alert on: the review backlog, and each mailbox's mails by outcome (the
    // auto-reply may be decided a moment after the others are moved).
    let wanted = [
        "journaliser_review_waiting{queue=\"byg\"} 1",
        "journaliser_mailbox_mails{mailbox=\"byg\",outcome=\"filed\"} 1",
        "journaliser_mailbox_mails{mailbox=\"byg\",outcome=\"queued\"} 1",
        "journaliser_mailbox_mails{mailbox=\"byg\",outcome=\"left\"} 1",
    ];
    until(60, "the metrics of the mailbox", async || {
        let metrics = app
            .get("/metrics", &app.admin_token)
            .await
            .text()
            .await
            .unwrap();
        wanted
            .iter()
            .all(|line| metrics.lines().any(|l| l == *line))
    })
    .await;

    // The overview tells a mailbox being read from one whose watcher cannot reach its server.
    let overview = app
        .get_json("/api/v1/admin/overview", &app.admin_token)
        .await;
    let mailbox = |name: &str| {
        overview["mailboxes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == name)
            .cloned()
            .unwrap()
    };
    let (read, failing) = (mailbox("byg"), mailbox("forkert"));
    assert!(read["last_look"].is_string(), "{overview:#}");
    assert!(read["last_error"].is_null(), "{overview:#}");
    assert!(failing["last_look"].is_null(), "{overview:#}");
    assert!(failing["last_error"]["message"].is_string(), "{overview:#}");
}

#[tokio::test]
async fn an_exchange_online_mailbox_over_imap_signs_in_as_the_app_by_xoauth2() {
    let standin = GraphStandin::start().await;
    let introspection = standin.grant_imap(READER);
    let Some(server) = MailServer::start_with_oauth(&introspection) else {
        return;
    };
    let config = MailboxConfig {
        password: Secret::default(),
        entra: Some(standin.entra_app()),
        ..watched(&server)
    };
    let _app = TestApp::spawn_with(move |c| c.mailboxes = vec![config]).await;
    server.deliver(&reply_to(TILBYGNING_MAIL, "Tilbygning"));
    until(60, "the reply filed and moved", async || {
        server.flags("Journaliseret").len() == 1
    })
    .await;
    assert!(standin.token_requests() >= 1);
}

/// A reply to a mail filed on a case, a question naming no case, and an auto-reply.
pub fn reply_question_and_auto_reply() -> [Vec<u8>; 3] {
    [
        reply_to(TILBYGNING_MAIL, "Tilbygning"),
        mail("Spørgsmål om affald", "", "affald@example.dk"),
        mail(
            "Ude af kontoret",
            "Auto-Submitted: auto-replied\r\n",
            "ferie@example.dk",
        ),
    ]
}

/// What the three test mails became: the question waits for review, the reply was filed by
/// its thread.
pub async fn one_queued_and_one_filed_by_thread(app: &TestApp) {
    let reviewer = app.token_for("mette", &["byg"]);
    let queue: Value = app
        .get("/api/v1/review?queue=byg", &reviewer)
        .await
        .json()
        .await
        .unwrap();
    let items = queue["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{queue}");
    assert_eq!(items[0]["subject"], "Spørgsmål om affald");
    assert_eq!(items[0]["mailbox"], "byg");
    assert_eq!(items[0]["why"], "no_evidence");

    let audit: Value = app
        .get(
            "/api/v1/admin/audit?kind=filing_accepted&actor=mailbox:byg",
            &app.admin_token,
        )
        .await
        .json()
        .await
        .unwrap();
    let events = audit["events"].as_array().unwrap();
    assert_eq!(events.len(), 1, "{audit}");
    assert_eq!(events[0]["case_id"], TILBYGNING);
    assert_eq!(events[0]["details"]["automatic"]["evidence"], "thread");
}

/// SIGKILL: no shutdown; the watcher is cut off wherever it is.
pub struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn start(dir: &Path) -> (Running, String) {
    let (child, base) = serve_with(journaliser(dir), std::process::Stdio::inherit());
    (Running(child), base)
}

#[tokio::test]
async fn two_hundred_mails_are_each_handled_once_across_two_kills() {
    let Some(server) = MailServer::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "[[mailboxes]]\nname = \"byg\"\nhost = \"127.0.0.1\"\nport = {}\ntls = \"none\"\n\
         username = \"{READER}\"\npassword = \"{READER_PASSWORD}\"\ngroups = [\"byg\"]\npoll_secs = 1\n",
        server.ports.imap
    );
    let admin = two_building_cases(dir.path(), &config);
    for mail in two_hundred_mails() {
        server.deliver(&mail);
    }

    let moved = |server: &MailServer| server.flags("Journaliseret").len();
    let (running, _) = start(dir.path());
    until(300, "the first mails taken", async || moved(&server) >= 30).await;
    drop(running);
    let (running, _) = start(dir.path());
    until(300, "more mails taken", async || moved(&server) >= 110).await;
    drop(running);
    let (_running, base) = start(dir.path());
    // A MOVE cut off by a kill can leave the server with the mail in both folders; the
    // watcher then moves what is left again, so the processed folder may hold a copy more
    // than once: what counts is that no mail stays behind and each is handled once.
    until(600, "every mail moved", async || {
        server.flags("INBOX").is_empty() && moved(&server) >= 200
    })
    .await;

    each_handled_once(&base, &admin, dir.path()).await;
}

/// A data directory with `config`, two building cases and an admin's token.
pub fn two_building_cases(dir: &Path, config: &str) -> String {
    std::fs::write(dir.join("journaliser.toml"), config).unwrap();
    let cases = json!([
        {"id": "BYG-1", "number": "02.34.02-G01-101-26", "title": "Byggesag Skovvej 1"},
        {"id": "BYG-2", "number": "02.34.02-G01-102-26", "title": "Byggesag Skovvej 2"},
    ]);
    std::fs::write(dir.join("cases.json"), cases.to_string()).unwrap();
    output(
        journaliser(dir)
            .args(["import", "cases"])
            .arg(dir.join("cases.json")),
    );
    output(journaliser(dir).args(["token", "--user", "root", "--admin"]))
        .trim()
        .to_string()
}

/// Half name a case in the subject (to be filed), half name none (to be queued for review).
pub fn two_hundred_mails() -> Vec<Vec<u8>> {
    (0..200)
        .map(|n| {
            let subject = match n % 2 {
                0 => format!("Vedr. 02.34.02-G01-10{}-26 nr. {n}", 1 + n % 4 / 2),
                _ => format!("Spørgsmål nr. {n}"),
            };
            mail(&subject, "", &format!("m{n}@example.dk"))
        })
        .collect()
}

/// Each of the two hundred mails was filed or queued once, and each filed one is one
/// document at the target.
pub async fn each_handled_once(base: &str, admin: &str, dir: &Path) {
    let remote = Remote::new(base, admin);
    let filings: Value = remote
        .get("/api/v1/admin/filings?limit=1000")
        .await
        .json()
        .await
        .unwrap();
    let filings = filings["filings"].as_array().unwrap();
    assert_eq!(filings.len(), 100, "each numbered mail filed once");
    let queue: Value = remote
        .get("/api/v1/review?limit=100")
        .await
        .json()
        .await
        .unwrap();
    let waiting = queue["queues"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["queue"] == "byg")
        .unwrap()["waiting"]
        .clone();
    assert_eq!(waiting, 100, "each other mail queued once: {queue}");
    until(300, "every filing delivered", async || {
        let documents: usize = ["BYG-1", "BYG-2"]
            .iter()
            .map(|c| archived_documents(&dir.join("data/archive"), c).len())
            .sum();
        documents == 100
    })
    .await;
}
