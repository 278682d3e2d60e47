//! The mail-in connector against real postfix and dovecot: the contract suite; what arrives in
//! the journal mailbox, read back over IMAP by the test's own reader (subject with the case
//! number, body, attachments, each exactly once); TLS and AUTH; the server's refusals; and a
//! filing made through the running service.

use journaliser::config::{MailTls, MailinConfig, MailinMode};
use journaliser::connector::{
    AttachmentDocument, Connector, ConnectorError, MailinConnector, NewVersion, Receipt,
};
use journaliser::domain::filing::AttachmentMode;
use journaliser::extract::ItemKind;
use mail_parser::{Message, MessageParser, MimeHeaders};
use reqwest::StatusCode;
use serde_json::json;

use crate::contract::{Target, case, contract_suite, request};
use crate::helpers::{FIXTURE_MAIL, fixture};
use crate::mailserver::{self, MailServer};
use crate::process::{Remote, journaliser, output, serve};

const FROM: &str = "journaliser@vejstrand.example";
const FIXTURE_MESSAGE_ID: &str =
    "CAP6xULFuEzdY+Mj5WY5nt=9TfRuaWroy6-4LWmhpp9G2+vfzLw@mail.gmail.com";

fn secret(value: &str) -> journaliser::config::Secret {
    serde_json::from_value(json!(value)).unwrap()
}

/// Plain SMTP to the relay port, read back over plain IMAP (both on loopback).
fn config(server: &MailServer) -> MailinConfig {
    MailinConfig {
        name: "journalpostkasse".into(),
        to: mailserver::JOURNAL.into(),
        from: FROM.into(),
        host: "127.0.0.1".into(),
        port: server.ports.smtp,
        tls: MailTls::None,
        ca_file: server.ca_file(),
        timeout_secs: 10,
        imap_host: "127.0.0.1".into(),
        imap_port: server.ports.imap,
        imap_tls: MailTls::None,
        imap_username: mailserver::READER.into(),
        imap_password: secret(mailserver::READER_PASSWORD),
        confirm_secs: 20,
        ..MailinConfig::default()
    }
}

fn connector(config: &MailinConfig) -> MailinConnector {
    MailinConnector::new(config).unwrap()
}

fn parse(raw: &[u8]) -> Message<'_> {
    MessageParser::default()
        .parse(raw)
        .expect("a parsable mail")
}

/// The one arrived mail with this Message-ID (given with its angle brackets).
fn with_id<'a>(arrived: &'a [Message<'a>], id: &str) -> &'a Message<'a> {
    let bare = id.trim_start_matches('<').trim_end_matches('>');
    let found: Vec<_> = arrived
        .iter()
        .filter(|m| m.message_id() == Some(bare))
        .collect();
    assert_eq!(found.len(), 1, "exactly one mail {id}");
    found[0]
}

fn content_type<'x>(part: &impl MimeHeaders<'x>) -> String {
    part.content_type().map_or(String::new(), |ct| {
        format!("{}/{}", ct.ctype(), ct.subtype().unwrap_or_default())
    })
}

// ---- the contract ----

struct MailTarget {
    server: MailServer,
    connector: MailinConnector,
}

impl Target for MailTarget {
    fn connector(&self) -> &dyn Connector {
        &self.connector
    }

    /// Mails in the journal mailbox whose subject names the case's number in brackets, as
    /// the records system files them.
    fn documents(&self, case_id: &str) -> usize {
        let tag = format!("[{}]", case(case_id).number);
        self.server
            .messages()
            .iter()
            .filter(|raw| parse(raw).subject().is_some_and(|s| s.contains(&tag)))
            .count()
    }

    async fn break_down(&mut self) {
        self.server.stop_smtp();
    }

    async fn recover(&mut self) {
        self.server.resume_smtp();
    }

    fn refused(&self) -> Option<(Box<dyn Connector>, &'static str)> {
        let mut unknown = config(&self.server);
        unknown.to = mailserver::UNKNOWN.into();
        Some((Box::new(connector(&unknown)), "User unknown"))
    }
}

#[tokio::test]
async fn mail_in_keeps_the_contract() {
    let Some(server) = MailServer::start() else {
        return;
    };
    let connector = connector(&config(&server));
    contract_suite(&mut MailTarget { server, connector }).await;
}

// ---- what arrives ----

#[tokio::test]
async fn a_mail_arrives_once_over_tls_with_the_case_number_its_attachment_and_a_body() {
    let Some(server) = MailServer::start() else {
        return;
    };
    // Submission: STARTTLS, then AUTH; read back over IMAPS. The servers' certificate is
    // trusted through ca_file.
    let mut settings = config(&server);
    settings.port = server.ports.submission;
    settings.tls = MailTls::Starttls;
    settings.username = mailserver::SENDER.into();
    settings.password = secret(mailserver::SENDER_PASSWORD);
    settings.imap_port = server.ports.imaps;
    settings.imap_tls = MailTls::Tls;
    let connector = connector(&settings);

    let case = case("VK-2026-0007");
    let mut mail = request("k-tls", &case);
    mail.content = fixture(FIXTURE_MAIL);
    mail.attachments = vec![
        AttachmentDocument {
            index: 1,
            mode: AttachmentMode::Separate,
            name: "tegning.pdf".into(),
            content_type: "application/pdf".into(),
            content: b"%PDF-1.4 tegning".to_vec(),
            text: "tegning".into(),
        },
        AttachmentDocument {
            index: 0,
            mode: AttachmentMode::WithMail,
            name: "cpr.jpg".into(),
            content_type: "image/jpeg".into(),
            content: b"in the mail already".to_vec(),
            text: String::new(),
        },
    ];
    let filed = connector.file(mail.clone()).await.unwrap();
    assert_eq!(
        (filed.document_id.as_str(), filed.receipt),
        ("<k-tls@vejstrand.example>", Receipt::Filed),
        "seen in the mailbox, so filed"
    );
    let again = connector.file(mail).await.unwrap();
    assert_eq!(again, filed, "the retry finds the mail and sends nothing");

    let raw = server.messages();
    assert_eq!(
        raw.len(),
        2,
        "the mail and its separate attachment, once each"
    );
    let arrived: Vec<Message> = raw.iter().map(|r| parse(r)).collect();

    let main = with_id(&arrived, &filed.document_id);
    assert_eq!(
        main.subject(),
        Some("[02.34.02-G01-7-26] Ansøgning om carport / tegning")
    );
    let raw_main = String::from_utf8_lossy(main.raw_message());
    assert!(
        raw_main.contains("Subject: [02.34.02-G01-7-26] =?UTF-8?B?"),
        "the case number is readable in the raw header: {raw_main:.600}"
    );
    assert_eq!(
        main.header_raw("X-Journaliser-Filing").map(str::trim),
        Some("k-tls")
    );
    let body = main.body_text(0).unwrap();
    for line in [
        "Sag: 02.34.02-G01-7-26 Byggetilladelse til carport, Skovvej 12",
        "Titel: Ansøgning om carport / tegning",
        "Retning: indgående",
        "Dato: 2026-11-20T09:30:00+00:00",
        "Journaliseret af: anna",
    ] {
        assert!(body.contains(line), "{line:?} missing in {body}");
    }
    let attachments: Vec<_> = main.attachments().collect();
    assert_eq!(attachments.len(), 1, "the original, and only it");
    assert_eq!(content_type(attachments[0]), "message/rfc822");
    let original = attachments[0].message().expect("the original as a message");
    assert_eq!(original.message_id(), Some(FIXTURE_MESSAGE_ID));
    assert_eq!(
        original.subject(),
        Some("Mail med inline billede og vedhæftet fil")
    );
    assert_eq!(
        original.attachments().count(),
        parse(&fixture(FIXTURE_MAIL)).attachments().count(),
        "its own attachments travel inside it"
    );

    let separate = with_id(&arrived, "<k-tls.01@vejstrand.example>");
    assert_eq!(separate.subject(), Some("[02.34.02-G01-7-26] tegning.pdf"));
    assert_eq!(
        separate
            .header_raw("X-Journaliser-Attachment-Of")
            .map(str::trim),
        Some("<k-tls@vejstrand.example>")
    );
    assert!(
        separate
            .body_text(0)
            .unwrap()
            .contains("Bilag til: Ansøgning om carport / tegning")
    );
    let pdf: Vec<_> = separate.attachments().collect();
    assert_eq!(pdf.len(), 1);
    assert_eq!(pdf[0].attachment_name(), Some("tegning.pdf"));
    assert_eq!(content_type(pdf[0]), "application/pdf");
    assert_eq!(pdf[0].contents(), b"%PDF-1.4 tegning");
}

#[tokio::test]
async fn a_mail_can_be_resent_as_it_is_and_a_document_goes_attached_to_a_short_mail() {
    let Some(server) = MailServer::start() else {
        return;
    };
    // SMTPS (TLS from the first byte) with AUTH, and no read-back: only submitted.
    let mut settings = config(&server);
    settings.port = server.ports.smtps;
    settings.tls = MailTls::Tls;
    settings.username = mailserver::SENDER.into();
    settings.password = secret(mailserver::SENDER_PASSWORD);
    settings.imap_host = String::new();
    settings.mode = MailinMode::Resend;
    settings.subject = "{case_number} – {subject}".into();
    let connector = connector(&settings);

    let case = case("VK-2026-0007");
    let mut mail = request("k-resend", &case);
    mail.content = fixture(FIXTURE_MAIL);
    mail.metadata["subject"] = json!("Mail med inline billede og vedhæftet fil");
    let sent = connector.file(mail).await.unwrap();
    assert_eq!(
        (sent.document_id.as_str(), sent.receipt),
        ("<k-resend@vejstrand.example>", Receipt::Submitted),
        "SMTP alone cannot confirm a filing"
    );

    let mut document = request("k-doc", &case);
    document.kind = ItemKind::Document;
    document.content_type = "application/pdf".into();
    document.content = b"%PDF-1.4 referat".to_vec();
    document.title = "Referat".into();
    document.metadata = json!({"type": "document"});
    document.new_version_of = Some(NewVersion {
        document_id: "<k-doc-1@vejstrand.example>".into(),
        version: 2,
    });
    let sent_document = connector.file(document).await.unwrap();
    assert_eq!(
        sent_document.document_id, "<k-doc-1@vejstrand.example>",
        "a new version keeps the document's id"
    );

    let raw = server.messages();
    assert_eq!(raw.len(), 2);
    let arrived: Vec<Message> = raw.iter().map(|r| parse(r)).collect();

    let resent = with_id(&arrived, &sent.document_id);
    assert_eq!(
        resent.subject(),
        Some("02.34.02-G01-7-26 – Mail med inline billede og vedhæftet fil")
    );
    let sender = resent
        .from()
        .and_then(|f| f.first())
        .and_then(|a| a.address());
    assert_eq!(
        sender,
        Some("pawsen@gmail.com"),
        "the original sender stays"
    );
    assert_eq!(
        resent
            .header_raw("X-Journaliser-Original-Message-ID")
            .map(str::trim),
        Some(format!("<{FIXTURE_MESSAGE_ID}>").as_str())
    );
    assert_eq!(resent.header_raw("Resent-From").map(str::trim), Some(FROM));
    assert_eq!(
        resent.date().map(|d| d.to_rfc3339()),
        parse(&fixture(FIXTURE_MAIL)).date().map(|d| d.to_rfc3339()),
        "the original date stays"
    );
    let names: Vec<_> = resent
        .attachments()
        .filter_map(|a| a.attachment_name())
        .collect();
    assert_eq!(names, ["cpr.jpg", "embedded-cpr.odt"]);
    assert!(
        resent
            .body_text(0)
            .unwrap()
            .contains("Denne mail har et inline billede")
    );

    let short = with_id(&arrived, "<k-doc@vejstrand.example>");
    assert_eq!(short.subject(), Some("02.34.02-G01-7-26 – Referat"));
    assert!(short.body_text(0).unwrap().contains("Retning: intern"));
    assert_eq!(
        short
            .header_raw("X-Journaliser-New-Version-Of")
            .map(str::trim),
        Some("<k-doc-1@vejstrand.example>"),
        "a new version says which mail it follows"
    );
    let files: Vec<_> = short.attachments().collect();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].attachment_name(), Some("Referat.pdf"));
    assert_eq!(files[0].contents(), b"%PDF-1.4 referat");
}

// ---- refusals ----

#[tokio::test]
async fn a_busy_mailbox_may_pass_while_a_wrong_password_and_an_unseen_mailbox_stop_it() {
    let Some(server) = MailServer::start() else {
        return;
    };
    let case = case("VK-2026-0007");

    let mut busy = config(&server);
    busy.to = mailserver::BUSY.into();
    busy.imap_host = String::new();
    let answer = connector(&busy).file(request("k-busy", &case)).await;
    assert!(
        matches!(&answer, Err(ConnectorError::Transient(m)) if m.contains("451") && m.contains(mailserver::BUSY_REASON)),
        "{answer:?}"
    );

    let mut wrong = config(&server);
    wrong.port = server.ports.submission;
    wrong.tls = MailTls::Starttls;
    wrong.username = mailserver::SENDER.into();
    wrong.password = secret("forkert-kodeord");
    let answer = connector(&wrong).file(request("k-wrong", &case)).await;
    match &answer {
        Err(ConnectorError::Permanent(message)) => {
            assert!(message.contains("535"), "{message}");
            assert!(!message.contains("forkert-kodeord"), "{message}");
        }
        other => panic!("a refused login is final: {other:?}"),
    }

    // Without the mailbox to look in, nothing is sent: a mail cannot be called back.
    let mut blind = config(&server);
    blind.imap_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let answer = connector(&blind).file(request("k-blind", &case)).await;
    assert!(
        matches!(&answer, Err(ConnectorError::Transient(m)) if m.starts_with("imap")),
        "{answer:?}"
    );
    assert!(server.messages().is_empty(), "nothing arrived");
}

// ---- through the service ----

/// Configured as an operator would, with the read-back over IMAP upgraded by STARTTLS.
#[tokio::test]
async fn a_filing_through_the_service_is_filed_in_the_journal_mailbox() {
    let Some(server) = MailServer::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let settings = format!(
        "[[connectors]]\nname = \"journalpostkasse\"\nkind = \"mailin\"\nto = \"{}\"\n\
         from = \"{FROM}\"\nhost = \"127.0.0.1\"\nport = {}\ntls = \"none\"\n\
         imap_host = \"127.0.0.1\"\nimap_port = {}\nimap_tls = \"starttls\"\nca_file = \"{}\"\n\
         imap_username = \"{}\"\nimap_password = \"{}\"\n",
        mailserver::JOURNAL,
        server.ports.smtp,
        server.ports.imap,
        server.ca_file().display(),
        mailserver::READER,
        mailserver::READER_PASSWORD,
    );
    std::fs::write(dir.path().join("journaliser.toml"), settings).unwrap();
    let cases =
        json!([{"id": "BYG-7", "number": "02.34.02-G01-7-26", "title": "Carport, Skovvej 12"}]);
    std::fs::write(dir.path().join("byg.json"), cases.to_string()).unwrap();
    let imported = journaliser(dir.path())
        .args([
            "import",
            "cases",
            "byg.json",
            "--connector",
            "journalpostkasse",
        ])
        .output()
        .unwrap();
    assert!(
        imported.status.success(),
        "{}",
        String::from_utf8_lossy(&imported.stderr)
    );
    let token = output(journaliser(dir.path()).args(["token", "--user", "anna"]))
        .trim()
        .to_string();

    let (mut service, base) = serve(dir.path());
    let remote = Remote::new(&base, &token);
    let item = remote
        .post_item("message/rfc822", fixture(FIXTURE_MAIL))
        .await;
    let response = remote
        .file(json!({"item_id": item["id"], "case_id": "BYG-7", "title": "Henvendelse om carport"}))
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let filing_id = response.json::<serde_json::Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let filed = remote.settled(&filing_id).await;
    service.kill().unwrap();
    service.wait().unwrap();

    assert_eq!(filed["state"], "filed", "{filed:#}");
    assert_eq!(
        filed["target_document_id"],
        format!("<{filing_id}@vejstrand.example>")
    );
    let raw = server.messages();
    assert_eq!(raw.len(), 1);
    assert_eq!(
        parse(&raw[0]).subject(),
        Some("[02.34.02-G01-7-26] Henvendelse om carport")
    );
}
