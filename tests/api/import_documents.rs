//! `journaliser import documents --from-connector`: the documents already on an archive's and
//! a WebDAV server's cases become past filings the service learns from, once however often
//! the import runs, and nothing is filed again.

use std::path::Path;

use journaliser::connector::{ArchiveConnector, Connector, FilingRequest};
use journaliser::domain::case::{Case, CaseStatus};
use journaliser::extract::ItemKind;
use serde_json::{Value, json};

use crate::process::{Remote, journaliser, output, serve};
use crate::wsgidav::{self, DavServer};

fn case(id: &str, connector: &str) -> Case {
    Case {
        id: id.into(),
        connector: connector.into(),
        number: format!("{id}-1"),
        // Titles that say nothing, so that only the documents can tell the cases apart.
        title: format!("Sag {id}"),
        kle: None,
        facet: None,
        status: CaseStatus::Open,
        parties: vec![],
        groups: vec![],
        opened: None,
    }
}

fn mail(from: &str, subject: &str, date: &str, id: &str, body: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: byg@kommune.example\r\nSubject: {subject}\r\nDate: {date}\r\n\
         Message-ID: <{id}@borger.example>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

/// A mail as it lies in the target, filed there before the service knew of it.
fn filed(key: &str, case: &Case, title: &str, content: Vec<u8>, date: &str) -> FilingRequest {
    let date = chrono::DateTime::parse_from_rfc2822(date).unwrap().to_utc();
    FilingRequest {
        idempotency_key: key.into(),
        accepted_at: date,
        case: case.clone(),
        title: title.into(),
        kind: ItemKind::Mail,
        content_type: "message/rfc822".into(),
        content,
        text: String::new(),
        metadata: json!({"type": "mail", "date": date.to_rfc3339()}),
        attachments: vec![],
        filed_by: "tidligere".into(),
        new_version_of: None,
    }
}

/// Three mails about a carport on case A, three and an old one about speed bumps on case B.
async fn fill(target: &dyn Connector, connector: &str) {
    let (a, b) = (case("A", connector), case("B", connector));
    let carport = [
        (
            "Ansøgning om carport på Skovvej 12",
            "Mon, 02 Mar 2026 09:00:00 +0000",
            "Jeg søger om tilladelse til en carport i skel.",
        ),
        (
            "Tegning af carporten, Skovvej 12",
            "Tue, 10 Mar 2026 09:00:00 +0000",
            "Her er tegningen af carporten med mål og tagets hældning.",
        ),
        (
            "Naboens bemærkning til carporten",
            "Wed, 18 Mar 2026 09:00:00 +0000",
            "Naboen har set carporten og har ingen indvendinger. CPR 150385-1234.",
        ),
    ];
    for (n, (subject, date, body)) in carport.iter().enumerate() {
        let title = match n {
            // A title made outside the service, with a CPR number in it.
            2 => "Bemærkning fra 150385-1234",
            _ => subject,
        };
        let content = mail(
            "Mette Kjær <mette.kjaer@borger.example>",
            subject,
            date,
            &format!("a{n}"),
            body,
        );
        target
            .file(filed(&format!("a{n}"), &a, title, content, date))
            .await
            .unwrap();
    }
    let bumps = [
        (
            "Vejbump på Bakkevej",
            "Mon, 02 Mar 2026 10:00:00 +0000",
            "Bilerne kører for stærkt; vi ønsker vejbump ved skolen.",
        ),
        (
            "Trafiktælling på Bakkevej",
            "Tue, 10 Mar 2026 10:00:00 +0000",
            "Tællingen viser mange biler over hastighedsgrænsen.",
        ),
        (
            "Høring om vejbump",
            "Wed, 18 Mar 2026 10:00:00 +0000",
            "Høringen om vejbump på Bakkevej slutter om to uger.",
        ),
        (
            "Gammel klage over Bakkevej",
            "Fri, 14 Jun 2019 10:00:00 +0000",
            "Fartdæmpning på Bakkevej er ønsket i mange år.",
        ),
    ];
    for (n, (subject, date, body)) in bumps.iter().enumerate() {
        let content = mail(
            "Jens Holm <jens.holm@borger.example>",
            subject,
            date,
            &format!("b{n}"),
            body,
        );
        target
            .file(filed(&format!("b{n}"), &b, subject, content, date))
            .await
            .unwrap();
    }
}

/// The one-line summary `import documents` ends with.
fn import_documents(dir: &Path, connector: &str, since: Option<&str>) -> String {
    let mut command = journaliser(dir);
    command.args(["import", "documents", "--from-connector", connector]);
    if let Some(since) = since {
        command.args(["--since", since]);
    }
    let done = command.output().unwrap();
    let stderr = String::from_utf8_lossy(&done.stderr).into_owned();
    assert!(done.status.success(), "{stderr}");
    stderr
        .lines()
        .rfind(|line| line.starts_with("documents:"))
        .unwrap_or_else(|| panic!("no summary in {stderr}"))
        .to_string()
}

/// Fills the target, imports its cases, adds a case the store does not know, imports the
/// documents twice, then asks the service where a new carport mail belongs and files it
/// there, and imports once more.
pub async fn learns_from_the_target(dir: &Path, target: &dyn Connector, connector: &str) {
    fill(target, connector).await;
    output(journaliser(dir).args(["import", "cases", "--from-connector", connector]));
    let unknown = case("C", connector);
    let content = mail(
        "x@borger.example",
        "Ukendt sag",
        "Mon, 02 Mar 2026 11:00:00 +0000",
        "c0",
        "Om noget helt tredje.",
    );
    target
        .file(filed(
            "c0",
            &unknown,
            "Ukendt sag",
            content,
            "Mon, 02 Mar 2026 11:00:00 +0000",
        ))
        .await
        .unwrap();

    assert_eq!(
        import_documents(dir, connector, Some("2020-01-01")),
        "documents: 8 read, 6 imported, 0 already there; skipped 1 on cases not in the store (import cases first), 1 older than --since, 0 unreadable"
    );
    assert_eq!(
        import_documents(dir, connector, None),
        "documents: 8 read, 1 imported, 6 already there; skipped 1 on cases not in the store (import cases first), 0 older than --since, 0 unreadable"
    );

    let admin = output(journaliser(dir).args(["token", "--user", "root", "--admin"]));
    let anna = output(journaliser(dir).args(["token", "--user", "anna"]));
    let (mut server, base) = serve(dir);
    let filings: Value = Remote::new(&base, admin.trim())
        .get("/api/v1/admin/filings?limit=1000")
        .await
        .json()
        .await
        .unwrap();
    let filings = filings["filings"].as_array().unwrap().clone();
    let on = |id: &str| filings.iter().filter(|f| f["case_id"] == id).count();
    assert_eq!((on("A"), on("B"), on("C")), (3, 4, 0), "{filings:#?}");
    assert!(
        filings.iter().all(|f| f["state"] == "filed"),
        "{filings:#?}"
    );
    let listed = Value::Array(filings).to_string();
    assert!(
        !listed.contains("150385-1234"),
        "a plain CPR number: {listed}"
    );
    assert!(listed.contains("Bemærkning fra 150385-XXXX"), "{listed}");

    let remote = Remote::new(&base, anna.trim());
    let item = remote
        .post_item(
            "message/rfc822",
            mail(
                "Mette Kjær <mette.kjaer@borger.example>",
                "Carporten på Skovvej 12: rettet tegning",
                "Mon, 23 Nov 2026 09:00:00 +0000",
                "new",
                "Her er den rettede tegning af carporten.",
            ),
        )
        .await;
    let suggestions: Value = remote
        .get(&format!(
            "/api/v1/items/{}/suggestions",
            item["id"].as_str().unwrap()
        ))
        .await
        .json()
        .await
        .unwrap();
    let filing = remote
        .accepted(json!({"item_id": item["id"], "case_id": "A", "title": "Rettet tegning"}))
        .await;
    let filing = remote.settled(&filing).await;
    server.kill().unwrap();
    server.wait().unwrap();
    assert_eq!(
        suggestions["suggestions"][0]["case"]["id"], "A",
        "{suggestions:#}"
    );
    assert_eq!(filing["state"], "filed", "{filing:#}");

    // What the service filed itself is on the case in the target now, and already there.
    assert_eq!(
        import_documents(dir, connector, None),
        "documents: 9 read, 0 imported, 8 already there; skipped 1 on cases not in the store (import cases first), 0 older than --since, 0 unreadable"
    );
}

#[tokio::test]
async fn the_archives_documents_are_learnt_once_and_not_filed_again() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("data").join("archive");
    let archive = ArchiveConnector::new(&root);
    learns_from_the_target(dir.path(), &archive, "archive").await;
    // The service started on the imported filings and delivered only the new mail.
    let documents = |id| crate::helpers::archived_documents(&root, id).len();
    assert_eq!((documents("A"), documents("B")), (4, 4));
}

#[tokio::test]
async fn a_webdav_servers_documents_are_learnt_once_and_not_filed_again() {
    let Some(server) = DavServer::start() else {
        return;
    };
    std::fs::create_dir(server.root().join("sager")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("journaliser.toml"),
        format!(
            "[[connectors]]\nname = \"dokumenter\"\nkind = \"webdav\"\nurl = \"{}sager/\"\n\
             username = \"{}\"\npassword = \"{}\"\n",
            server.url(),
            wsgidav::USER,
            wsgidav::PASSWORD
        ),
    )
    .unwrap();
    let dav = crate::connectors::webdav(&format!("{}sager/", server.url()), wsgidav::PASSWORD);
    learns_from_the_target(dir.path(), &dav, "dokumenter").await;
    let documents = |id: &str| {
        std::fs::read_dir(server.root().join("sager").join(id))
            .unwrap()
            .count()
    };
    assert_eq!((documents("A"), documents("B")), (4, 4));
}
