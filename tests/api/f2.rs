//! The F2 connector against the F2 stand-in: the contract suite, a mail as a matter with its
//! documents, Post Once Exactly across a lost answer and a restart, the refusals F2 gives (bad
//! credentials, a closed case, a matter without a title, an expired token), and F2's cases.

use std::path::Path;

use journaliser::config::F2Config;
use journaliser::connector::{Connector, ConnectorError, F2Connector};
use serde_json::json;

use crate::contract::{Target, attachments, case, contract_suite, request, version_contract};
use crate::f2_standin::{self, F2Standin};
use crate::process::import_then_file;

fn connector(standin: &F2Standin, password: &str, state: &Path) -> F2Connector {
    F2Connector::new(
        &F2Config {
            name: "f2".into(),
            url: standin.url(),
            token_url: standin.token_url(),
            client_id: f2_standin::CLIENT_ID.into(),
            username: f2_standin::USERNAME.into(),
            password: serde_json::from_value(json!(password)).unwrap(),
            timeout_secs: 10,
            ..F2Config::default()
        },
        state,
    )
    .unwrap()
}

/// A case for the contract's, as a caseworker made it in F2.
fn add_contract_case(standin: &F2Standin, id: &str) {
    let case = case(id);
    standin.add_case(
        id,
        json!({"CaseNumber": case.number, "Title": case.title, "Keyword": "02.34.02",
               "ProcessInstruction": "G01", "Closed": false}),
    );
}

struct F2Target {
    standin: F2Standin,
    state: tempfile::TempDir,
    connector: F2Connector,
}

impl Target for F2Target {
    fn connector(&self) -> &dyn Connector {
        &self.connector
    }

    fn documents(&self, case_id: &str) -> usize {
        self.standin.matters(case_id).len()
    }

    async fn break_down(&mut self) {
        self.standin.set_down(true);
    }

    async fn recover(&mut self) {
        self.standin.set_down(false);
    }

    fn refused(&self) -> Option<(Box<dyn Connector>, &'static str)> {
        let wrong = connector(&self.standin, "wrong password", self.state.path());
        Some((Box::new(wrong), "Bad credentials"))
    }
}

#[tokio::test]
async fn f2_keeps_the_contract() {
    let standin = F2Standin::start().await;
    add_contract_case(&standin, "VK-2026-0007");
    add_contract_case(&standin, "VK-2026-0008");
    let state = tempfile::tempdir().unwrap();
    let connector = connector(&standin, f2_standin::PASSWORD, state.path());
    let mut target = F2Target {
        standin,
        state,
        connector,
    };
    contract_suite(&mut target).await;
    let standin = target.standin.clone();
    version_contract(&target.connector, |case| standin.matters(case).len()).await;
}

#[tokio::test]
async fn a_mail_is_one_inbound_matter_with_its_documents_once_across_a_lost_answer_and_a_restart() {
    let standin = F2Standin::start().await;
    add_contract_case(&standin, "VK-2026-0007");
    let state = tempfile::tempdir().unwrap();
    let mut mail = request("k-1", &case("VK-2026-0007"));
    mail.attachments = attachments();

    // F2 makes the matter but its answer is lost: the attempt fails, for now.
    standin.lose_answers(1);
    let first = connector(&standin, f2_standin::PASSWORD, state.path())
        .file(mail.clone())
        .await;
    assert!(
        matches!(&first, Err(ConnectorError::Transient(m)) if m.contains("503")),
        "{first:?}"
    );

    // The service restarts; the retry posts to the same POE address and F2 answers 303.
    let filed = connector(&standin, f2_standin::PASSWORD, state.path())
        .file(mail.clone())
        .await
        .unwrap();
    let matters = standin.matters("VK-2026-0007");
    assert_eq!(matters.len(), 1, "one matter: {matters:?}");
    let (title, kind, text, documents) = &matters[0];
    assert_eq!(
        (title.as_str(), kind.as_str()),
        ("Ansøgning om carport / tegning", "Inbound")
    );
    assert_eq!(text, "<p>Carport. Se tegningen.</p>");
    assert_eq!(*documents, 2, "the mail and its separate attachment");
    let index = standin.matter_index(&filed.document_id).unwrap();
    let files = standin.matter_documents(index);
    assert_eq!(files[0].1, "Ansøgning_om_carport_tegning.eml");
    assert_eq!(files[0].2, mail.content);
    assert_eq!(
        (files[1].0.as_str(), files[1].2.as_slice()),
        ("tegning.pdf", b"%PDF-1.4 tegning".as_slice())
    );

    // Filed again, the same.
    let again = connector(&standin, f2_standin::PASSWORD, state.path())
        .file(mail)
        .await
        .unwrap();
    assert_eq!(again, filed);
    assert_eq!(standin.matters("VK-2026-0007")[0].3, 2);
}

#[tokio::test]
async fn f2s_refusals_are_final_with_its_words() {
    let standin = F2Standin::start().await;
    add_contract_case(&standin, "VK-2026-0007");
    standin.add_case(
        "VK-2025-0001",
        json!({"CaseNumber": "2025 - 1", "Title": "Afsluttet", "Closed": true}),
    );
    let state = tempfile::tempdir().unwrap();
    let connector = connector(&standin, f2_standin::PASSWORD, state.path());

    let closed = connector
        .file(request("k-closed", &case("VK-2025-0001")))
        .await;
    assert!(
        matches!(&closed, Err(ConnectorError::Permanent(m)) if m.contains("takes no matters")),
        "{closed:?}"
    );
    let missing = connector
        .file(request("k-missing", &case("VK-2026-0404")))
        .await;
    assert!(
        matches!(&missing, Err(ConnectorError::Permanent(m)) if m.contains("no case \"VK-2026-0404\"")),
        "{missing:?}"
    );
    let mut untitled = request("k-untitled", &case("VK-2026-0007"));
    untitled.title = String::new();
    let refused = connector.file(untitled).await;
    assert!(
        matches!(&refused, Err(ConnectorError::Permanent(m)) if m.contains("400") && m.contains("Title er påkrævet")),
        "{refused:?}"
    );
    assert!(standin.matters("VK-2026-0007").is_empty());
}

#[tokio::test]
async fn the_token_is_kept_until_f2_refuses_it_then_fetched_once_more() {
    let standin = F2Standin::start().await;
    add_contract_case(&standin, "VK-2026-0007");
    let state = tempfile::tempdir().unwrap();
    let connector = connector(&standin, f2_standin::PASSWORD, state.path());
    let sag = case("VK-2026-0007");
    connector.file(request("k-1", &sag)).await.unwrap();
    connector.file(request("k-2", &sag)).await.unwrap();
    assert_eq!(standin.token_requests(), 1);
    standin.expire_tokens();
    connector.file(request("k-3", &sag)).await.unwrap();
    assert_eq!(standin.token_requests(), 2);
    assert_eq!(standin.matters("VK-2026-0007").len(), 3);
}

#[tokio::test]
async fn f2s_cases_are_listed_and_read_with_their_properties() {
    let standin = F2Standin::start().await;
    standin.add_case(
        "812",
        json!({"CaseNumber": "2026 - 60", "Title": "Carport, Skovvej 12", "Keyword": "02.34.02",
               "ProcessInstruction": "G01", "Closed": true, "CprNumber": "29189846",
               "InvolvedParties": [{"Name": "Skovvej 12 ApS"}], "SecurityGroups": [{"Name": "Byg"}]}),
    );
    add_contract_case(&standin, "VK-2026-0007");
    let state = tempfile::tempdir().unwrap();
    let connector = connector(&standin, f2_standin::PASSWORD, state.path());
    let cases = connector.list_cases().await.unwrap();
    assert_eq!(cases.len(), 2);
    let carport = cases.iter().find(|c| c.id == "812").unwrap();
    assert_eq!(carport.number, "2026 - 60");
    assert_eq!(carport.kle.as_deref(), Some("02.34.02"));
    assert_eq!(carport.facet.as_deref(), Some("G01"));
    assert_eq!(carport.status, "closed");
    assert_eq!(carport.groups, ["Byg"]);
    assert_eq!(carport.parties.len(), 2);
    let read = connector.read_case("812").await.unwrap().unwrap();
    assert_eq!(read.title, "Carport, Skovvej 12");
    assert!(connector.read_case("999").await.unwrap().is_none());
}

/// A `[[connectors]]` entry for the stand-in.
pub fn toml_instance(standin: &F2Standin, name: &str) -> String {
    format!(
        "[[connectors]]\nname = \"{name}\"\nkind = \"f2\"\nurl = \"{}\"\ntoken_url = \"{}\"\n\
         client_id = \"{}\"\nusername = \"{}\"\npassword = \"{}\"\n",
        standin.url(),
        standin.token_url(),
        f2_standin::CLIENT_ID,
        f2_standin::USERNAME,
        f2_standin::PASSWORD
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn f2s_cases_import_into_the_service_and_take_its_filings() {
    let standin = F2Standin::start().await;
    add_contract_case(&standin, "VK-2026-0007");
    let (filed, _) = import_then_file(&toml_instance(&standin, "f2"), "f2", "VK-2026-0007").await;
    let matters = standin.matters("VK-2026-0007");
    assert_eq!(matters.len(), 1);
    assert_eq!(
        (matters[0].0.as_str(), matters[0].1.as_str()),
        ("Referat", "Internal")
    );
    let matter = standin
        .matter_index(filed["target_document_id"].as_str().unwrap())
        .unwrap();
    assert_eq!(
        standin.matter_documents(matter)[0].2,
        b"Referat af m\xc3\xb8det om carporten p\xc3\xa5 Skovvej 12."
    );
}
