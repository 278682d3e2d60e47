//! The SharePoint connector against the Graph stand-in: the contract suite, what a filing
//! leaves in the library and its columns, large files in resumed slices, the refusals Graph
//! and Entra ID give (a wrong secret, an unknown column, a missing case folder, an expired
//! token, throttling), withdrawing, and a library's cases imported through the service.

use journaliser::config::{SharepointColumns, SharepointConfig};
use journaliser::connector::{
    Connector, ConnectorError, SharepointConnector, WithdrawRequest, Withdrawal,
};
use serde_json::{Value, json};

use crate::contract::{Target, attachments, case, contract_suite, request, version_contract};
use crate::graph_standin::{self, GraphStandin};
use crate::process::import_then_file;

pub fn config(standin: &GraphStandin, secret: &str) -> SharepointConfig {
    SharepointConfig {
        name: "sager".into(),
        site: graph_standin::SITE.into(),
        library: graph_standin::LIBRARY.into(),
        tenant_id: graph_standin::TENANT.into(),
        client_id: graph_standin::CLIENT_ID.into(),
        client_secret: serde_json::from_value(json!(secret)).unwrap(),
        login_url: standin.login_url(),
        graph_url: standin.graph_url(),
        timeout_secs: 10,
        ..SharepointConfig::default()
    }
}

fn connector(standin: &GraphStandin) -> SharepointConnector {
    SharepointConnector::new(&config(standin, graph_standin::CLIENT_SECRET)).unwrap()
}

/// A case folder for the contract's case, as a caseworker made it.
fn add_contract_case(standin: &GraphStandin, id: &str) {
    let case = case(id);
    standin.add_case_folder(
        id,
        json!({"Title": case.title, "Sagsnummer": case.number, "KLE": "02.34.02", "Facet": "G01"}),
    );
}

struct LibraryTarget {
    standin: GraphStandin,
    connector: SharepointConnector,
}

impl Target for LibraryTarget {
    fn connector(&self) -> &dyn Connector {
        &self.connector
    }

    fn documents(&self, case_id: &str) -> usize {
        self.standin.files(case_id).len()
    }

    async fn break_down(&mut self) {
        self.standin.set_down(true);
    }

    async fn recover(&mut self) {
        self.standin.set_down(false);
    }

    fn refused(&self) -> Option<(Box<dyn Connector>, &'static str)> {
        let wrong = SharepointConnector::new(&config(&self.standin, "wrong secret")).unwrap();
        Some((Box::new(wrong), "AADSTS7000215"))
    }
}

#[tokio::test]
async fn sharepoint_keeps_the_contract() {
    let standin = GraphStandin::start().await;
    add_contract_case(&standin, "VK-2026-0007");
    add_contract_case(&standin, "VK-2026-0008");
    let connector = connector(&standin);
    let mut target = LibraryTarget { standin, connector };
    contract_suite(&mut target).await;
    let standin = target.standin.clone();
    version_contract(&target.connector, |case| standin.files(case).len()).await;
}

#[tokio::test]
async fn a_mail_and_its_separate_attachment_land_in_the_case_folder_with_their_columns() {
    let standin = GraphStandin::start().await;
    add_contract_case(&standin, "VK-2026-0007");
    let connector = connector(&standin);
    let mut mail = request("k-1", &case("VK-2026-0007"));
    mail.attachments = attachments();

    // Graph throttles the first request; the connector waits as asked and goes on.
    standin.throttle(1);
    let filed = connector.file(mail.clone()).await.unwrap();
    assert_eq!(standin.throttled(), 1);

    let files = standin.files("VK-2026-0007");
    let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "2026-11-23_Ansøgning_om_carport_tegning_k-1-01-tegning.pdf",
            "2026-11-23_Ansøgning_om_carport_tegning_k-1.eml"
        ]
    );
    let (attachment, document) = (&files[0], &files[1]);
    assert_eq!(filed.document_id, document.id);
    assert_eq!(document.content, mail.content);
    assert_eq!(attachment.content, b"%PDF-1.4 tegning");
    assert_eq!(
        Value::Object(document.fields.clone()),
        json!({"Title": "Ansøgning om carport / tegning", "Sagsnummer": "02.34.02-G01-7-26",
               "JournaliserId": "k-1", "Retning": "Indgående",
               "Dokumentdato": "2026-11-20T09:30:00+00:00", "JournaliseretAf": "anna"})
    );
    assert_eq!(attachment.fields["BilagTil"], "k-1");
    assert_eq!(attachment.fields["JournaliserId"], "k-1-01");
    assert_eq!(attachment.fields["Title"], "tegning.pdf");

    // A repeat meets the first upload (409 at Graph) and answers with it.
    assert_eq!(connector.file(mail).await.unwrap(), filed);
    assert_eq!(standin.files("VK-2026-0007").len(), 2);
}

#[tokio::test]
async fn a_large_document_goes_in_slices_and_a_retry_resumes_where_it_stopped() {
    let standin = GraphStandin::start().await;
    add_contract_case(&standin, "VK-2026-0007");
    let connector = connector(&standin);
    let mut document = request("k-large", &case("VK-2026-0007"));
    document.kind = journaliser::extract::ItemKind::Document;
    document.content_type = "application/pdf".into();
    document.content = (0..7_000_000u32).map(|i| (i % 251) as u8).collect();
    const SLICE: usize = 10 * 320 * 1024;

    // The second slice is lost: the attempt fails, for now.
    standin.fail_fragment_at(SLICE);
    let first = connector.file(document.clone()).await;
    assert!(
        matches!(&first, Err(ConnectorError::Transient(m)) if m.contains("503")),
        "{first:?}"
    );
    assert!(standin.files("VK-2026-0007").is_empty());

    // The retry sends only what did not arrive.
    let filed = connector.file(document.clone()).await.unwrap();
    assert_eq!(
        standin.fragments(),
        [
            (0, SLICE - 1),
            (SLICE, 2 * SLICE - 1),
            (2 * SLICE, document.content.len() - 1)
        ]
    );
    let files = standin.files("VK-2026-0007");
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].content, document.content);
    assert_eq!(files[0].fields["JournaliserId"], "k-large");

    // Once there, a repeat finds it: the session's last slice meets the name (409).
    assert_eq!(connector.file(document).await.unwrap(), filed);
    assert_eq!(standin.files("VK-2026-0007").len(), 1);
}

#[tokio::test]
async fn a_column_the_library_lacks_is_refused_with_graphs_words_and_leaves_nothing() {
    let standin = GraphStandin::start().await;
    add_contract_case(&standin, "VK-2026-0007");
    let mut settings = config(&standin, graph_standin::CLIENT_SECRET);
    settings.columns = SharepointColumns {
        filed_by: "Sagsbehandler".into(),
        ..SharepointColumns::default()
    };
    let connector = SharepointConnector::new(&settings).unwrap();
    let mut mail = request("k-col", &case("VK-2026-0007"));
    mail.attachments = attachments();
    let refused = connector.file(mail).await;
    assert!(
        matches!(&refused, Err(ConnectorError::Permanent(m))
            if m.contains("400") && m.contains("Field 'Sagsbehandler' is not recognized")),
        "{refused:?}"
    );
    assert!(
        standin.files("VK-2026-0007").is_empty(),
        "what the attempt uploaded is removed"
    );
}

#[tokio::test]
async fn a_case_without_its_folder_is_refused_not_made() {
    let standin = GraphStandin::start().await;
    let refused = connector(&standin)
        .file(request("k", &case("VK-2026-0404")))
        .await;
    assert!(
        matches!(&refused, Err(ConnectorError::Permanent(m)) if m.contains("no folder for case \"VK-2026-0404\"")),
        "{refused:?}"
    );
}

#[tokio::test]
async fn the_token_is_kept_until_graph_says_it_expired_then_fetched_once_more() {
    let standin = GraphStandin::start().await;
    add_contract_case(&standin, "VK-2026-0007");
    let connector = connector(&standin);
    let sag = case("VK-2026-0007");
    connector.file(request("k-1", &sag)).await.unwrap();
    connector.file(request("k-2", &sag)).await.unwrap();
    assert_eq!(standin.token_requests(), 1, "one token for many requests");

    standin.expire_tokens();
    connector.file(request("k-3", &sag)).await.unwrap();
    assert_eq!(standin.token_requests(), 2);
    assert_eq!(standin.files("VK-2026-0007").len(), 3);
}

#[tokio::test]
async fn the_librarys_case_folders_are_its_cases_with_their_columns() {
    let standin = GraphStandin::start().await;
    for n in 1..=4 {
        standin.add_case_folder(
            &format!("BYG-2026-000{n}"),
            json!({"Title": format!("Byggesag {n}")}),
        );
    }
    standin.add_case_folder(
        "BYG-2026-0005",
        json!({"Title": "Carport, Skovvej 12", "Sagsnummer": "02.34.02-G01-5-26", "KLE": "02.34.02",
               "Facet": "G01", "Sagsstatus": "Lukket", "Parter": "cvr:29189846; email:ejer@skovvej.example",
               "Adgang": "Byg;Plan"}),
    );
    let connector = connector(&standin);
    let cases = connector.list_cases().await.unwrap();
    assert_eq!(cases.len(), 5, "across pages: {cases:?}");
    let carport = cases.iter().find(|c| c.id == "BYG-2026-0005").unwrap();
    assert_eq!(carport.number, "02.34.02-G01-5-26");
    assert_eq!(carport.kle.as_deref(), Some("02.34.02"));
    assert_eq!(carport.facet.as_deref(), Some("G01"));
    assert_eq!(carport.status, "Lukket");
    assert_eq!(carport.groups, ["Byg", "Plan"]);
    assert_eq!(carport.parties[1].value, "ejer@skovvej.example");
    let read = connector.read_case("BYG-2026-0001").await.unwrap().unwrap();
    assert_eq!(
        (read.number.as_str(), read.title.as_str()),
        ("BYG-2026-0001", "Byggesag 1")
    );
    assert!(
        connector
            .read_case("BYG-2026-0404")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn a_withdrawn_document_goes_with_its_attachments() {
    let standin = GraphStandin::start().await;
    add_contract_case(&standin, "VK-2026-0007");
    let connector = connector(&standin);
    let sag = case("VK-2026-0007");
    let mut mail = request("k-wrong", &sag);
    mail.attachments = attachments();
    let filed = connector.file(mail).await.unwrap();
    let kept = connector.file(request("k-right", &sag)).await.unwrap();
    assert_eq!(standin.files("VK-2026-0007").len(), 3);

    let withdraw = WithdrawRequest {
        idempotency_key: "k-wrong".into(),
        case: sag,
        document_id: filed.document_id,
        title: "Ansøgning om carport / tegning".into(),
        withdrawn_by: "anna".into(),
        reason: "forkert sag".into(),
    };
    assert_eq!(
        connector.withdraw(withdraw.clone()).await.unwrap(),
        Withdrawal::Removed
    );
    let left = standin.files("VK-2026-0007");
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].id, kept.document_id);
    assert_eq!(
        connector.withdraw(withdraw).await.unwrap(),
        Withdrawal::Removed,
        "withdrawn twice answers as the first time"
    );
}

#[tokio::test]
async fn a_new_version_replaces_the_content_of_the_same_item_once() {
    let standin = GraphStandin::start().await;
    add_contract_case(&standin, "VK-2026-0008");
    let connector = connector(&standin);
    let sag = case("VK-2026-0008");
    let first = connector.file(request("v-1", &sag)).await.unwrap();
    let mut version = request("v-2", &sag);
    version.content = b"Subject: Carport\r\n\r\nSe den rettede tegning.\r\n".to_vec();
    version.new_version_of = Some(journaliser::connector::NewVersion {
        document_id: first.document_id.clone(),
        version: 2,
    });
    connector.file(version.clone()).await.unwrap();
    connector.file(version.clone()).await.unwrap();
    let document = standin.node(&first.document_id).unwrap();
    assert_eq!(document.content, version.content);
    assert_eq!(document.versions, 1, "one new version, however often filed");
    assert_eq!(document.fields["JournaliserVersion"], "2");
    assert_eq!(
        document.fields["JournaliserId"], "v-1",
        "the document keeps its id"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_librarys_cases_import_into_the_service_and_take_its_filings() {
    let standin = GraphStandin::start().await;
    add_contract_case(&standin, "VK-2026-0007");
    let (filed, id) =
        import_then_file(&toml_instance(&standin, "sager"), "sager", "VK-2026-0007").await;
    let files = standin.files("VK-2026-0007");
    assert_eq!(files.len(), 1);
    assert_eq!(filed["target_document_id"], files[0].id.as_str());
    assert_eq!(files[0].fields["JournaliserId"], id.as_str());
}

/// A `[[connectors]]` entry for the stand-in's library.
pub fn toml_instance(standin: &GraphStandin, name: &str) -> String {
    format!(
        "[[connectors]]\nname = \"{name}\"\nkind = \"sharepoint\"\nsite = \"{}\"\nlibrary = \"{}\"\n\
         tenant_id = \"{}\"\nclient_id = \"{}\"\nclient_secret = \"{}\"\nlogin_url = \"{}\"\n\
         graph_url = \"{}\"\n",
        graph_standin::SITE,
        graph_standin::LIBRARY,
        graph_standin::TENANT,
        graph_standin::CLIENT_ID,
        graph_standin::CLIENT_SECRET,
        standin.login_url(),
        standin.graph_url()
    )
}

#[tokio::test]
async fn a_wrong_secret_is_refused_for_good_in_entra_ids_words_without_the_secret() {
    let standin = GraphStandin::start().await;
    add_contract_case(&standin, "VK-2026-0007");
    let wrong = SharepointConnector::new(&config(&standin, "hunter2-not-the-secret")).unwrap();
    for refused in [
        wrong
            .file(request("k", &case("VK-2026-0007")))
            .await
            .map(|_| ()),
        wrong.list_cases().await.map(|_| ()),
    ] {
        let Err(ConnectorError::Permanent(message)) = refused else {
            panic!("a wrong secret is permanent: {refused:?}");
        };
        assert!(message.contains("AADSTS7000215"), "{message}");
        assert!(!message.contains("hunter2"), "{message}");
    }
    assert!(standin.files("VK-2026-0007").is_empty());
}

#[tokio::test]
async fn case_folders_may_sit_in_a_folder_of_the_library() {
    let standin = GraphStandin::start().await;
    let year = standin.add_folder("root", "Sager 2026", json!({}));
    standin.add_folder(&year, "BYG-2026-0001", json!({"Title": "Carport"}));
    standin.add_case_folder("BYG-2025-0009", json!({"Title": "Sidste år"}));
    let mut settings = config(&standin, graph_standin::CLIENT_SECRET);
    settings.folder = "Sager 2026".into();
    let connector = SharepointConnector::new(&settings).unwrap();

    let cases = connector.list_cases().await.unwrap();
    let ids: Vec<&str> = cases.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["BYG-2026-0001"], "only the folder's case folders");
    assert!(
        connector
            .read_case("BYG-2025-0009")
            .await
            .unwrap()
            .is_none()
    );
    connector
        .file(request("k-year", &case("BYG-2026-0001")))
        .await
        .unwrap();
    assert_eq!(standin.files("BYG-2026-0001").len(), 1);
}

/// A certificate with its RSA key, as PEM files, and the key's public half (PKCS#1 DER) and
/// the certificate's SHA-256 thumbprint as Entra ID keeps them.
fn app_certificate(
    dir: &std::path::Path,
    name: &str,
) -> (std::path::PathBuf, std::path::PathBuf, Vec<u8>, String) {
    use base64::Engine;
    use rsa::pkcs1::EncodeRsaPublicKey;
    use rsa::pkcs8::EncodePrivateKey;
    use sha2::Digest;
    let private = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).unwrap();
    let pem = private.to_pkcs8_pem(rsa::pkcs8::LineEnding::LF).unwrap();
    let key_pair = rcgen::KeyPair::from_pem(&pem).unwrap();
    let certificate = rcgen::CertificateParams::new(vec!["journaliser".to_string()])
        .unwrap()
        .self_signed(&key_pair)
        .unwrap();
    let thumbprint = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(certificate.der()));
    let (cert_file, key_file) = (
        dir.join(format!("{name}.crt")),
        dir.join(format!("{name}.key")),
    );
    std::fs::write(&cert_file, certificate.pem()).unwrap();
    std::fs::write(&key_file, pem.as_bytes()).unwrap();
    let public = private
        .to_public_key()
        .to_pkcs1_der()
        .unwrap()
        .as_bytes()
        .to_vec();
    (cert_file, key_file, public, thumbprint)
}

#[tokio::test]
async fn an_app_may_sign_in_with_its_certificate_instead_of_a_secret() {
    let standin = GraphStandin::start().await;
    add_contract_case(&standin, "VK-2026-0007");
    let dir = tempfile::tempdir().unwrap();
    let (cert_file, key_file, public, thumbprint) = app_certificate(dir.path(), "app");
    standin.register_certificate(public, thumbprint);
    let mut settings = config(&standin, "");
    settings.client_cert_file = cert_file.clone();
    settings.client_key_file = key_file;
    let connector = SharepointConnector::new(&settings).unwrap();
    connector
        .file(request("k-cert", &case("VK-2026-0007")))
        .await
        .unwrap();
    assert_eq!(standin.files("VK-2026-0007").len(), 1);

    // The registered certificate with a key that is not its own is refused for good.
    let (_, other_key, _, _) = app_certificate(dir.path(), "other");
    settings.client_key_file = other_key;
    let refused = SharepointConnector::new(&settings)
        .unwrap()
        .file(request("k-other", &case("VK-2026-0007")))
        .await;
    assert!(
        matches!(&refused, Err(ConnectorError::Permanent(m)) if m.contains("AADSTS700027")),
        "{refused:?}"
    );
    assert_eq!(standin.files("VK-2026-0007").len(), 1);
}
