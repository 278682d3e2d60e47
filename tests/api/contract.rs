//! The contract every connector keeps, as one suite each target runs: the same key filed
//! twice is one document (counted at the target), a failure that may pass is transient, a
//! refusal is permanent with the target's reason, and cases can be listed, read and made, and
//! a case's documents listed, where the connector says it can.

use journaliser::connector::{
    AttachmentDocument, Connector, ConnectorError, DocumentContent, FilingRequest, NewVersion,
    WithdrawRequest, Withdrawal,
};
use journaliser::domain::case::{Case, CaseStatus};
use journaliser::domain::filing::AttachmentMode;
use journaliser::extract::ItemKind;
use serde_json::json;

/// A target system as the suite sees it: the connector to it, and ways to count and to
/// break it that go around the connector.
pub trait Target {
    fn connector(&self) -> &dyn Connector;
    /// Documents filed on the case, counted at the target itself.
    fn documents(&self, case_id: &str) -> usize;
    /// Makes the target fail in a way that passes (down, busy, unwritable) until `recover`.
    async fn break_down(&mut self);
    async fn recover(&mut self);
    /// A connector this target refuses for good, and a word of the reason it gives; `None`
    /// where the target refuses nothing that a retry could not mend.
    fn refused(&self) -> Option<(Box<dyn Connector>, &'static str)>;
}

pub fn case(id: &str) -> Case {
    Case {
        id: id.into(),
        connector: "contract".into(),
        number: "02.34.02-G01-7-26".into(),
        title: "Byggetilladelse til carport, Skovvej 12".into(),
        kle: Some("02.34.02".into()),
        facet: Some("G01".into()),
        status: CaseStatus::Open,
        parties: vec![],
        groups: vec![],
        opened: Some("2026-03-02".into()),
    }
}

/// A mail to file on `case` under `key`.
pub fn request(key: &str, case: &Case) -> FilingRequest {
    FilingRequest {
        idempotency_key: key.into(),
        accepted_at: chrono::DateTime::parse_from_rfc3339("2026-11-23T10:00:00Z")
            .unwrap()
            .to_utc(),
        case: case.clone(),
        title: "Ansøgning om carport / tegning".into(),
        kind: ItemKind::Mail,
        content_type: "message/rfc822".into(),
        content: format!(
            "Subject: Carport\r\nMessage-ID: <{key}@borger.example>\r\n\r\nSe tegningen.\r\n"
        )
        .into_bytes(),
        text: "Carport. Se tegningen.".into(),
        metadata: json!({"type": "mail", "subject": "Carport", "date": "2026-11-20T09:30:00Z"}),
        attachments: vec![],
        filed_by: "anna".into(),
        new_version_of: None,
    }
}

/// Two attachments of the mail: a drawing chosen as a separate document, a text left in the
/// mail.
pub fn attachments() -> Vec<AttachmentDocument> {
    vec![
        AttachmentDocument {
            index: 1,
            mode: AttachmentMode::Separate,
            name: "tegning.pdf".into(),
            content_type: "application/pdf".into(),
            content: b"%PDF-1.4 tegning".to_vec(),
            text: "tegning".into(),
        },
        AttachmentDocument {
            index: 2,
            mode: AttachmentMode::WithMail,
            name: "bilag.txt".into(),
            content_type: "text/plain".into(),
            content: b"i mailen".to_vec(),
            text: "i mailen".into(),
        },
    ]
}

pub async fn contract_suite(target: &mut impl Target) {
    let case = case("VK-2026-0007");

    // One key is one document, however often it is filed.
    let first = target
        .connector()
        .file(request("contract-1", &case))
        .await
        .expect("the first filing");
    let again = target
        .connector()
        .file(request("contract-1", &case))
        .await
        .expect("the same key again");
    assert_eq!(first, again, "the same key gives the same document");
    assert_eq!(target.documents(&case.id), 1, "one document at the target");
    let other = target
        .connector()
        .file(request("contract-2", &case))
        .await
        .expect("another key");
    assert_ne!(other.document_id, first.document_id);
    assert_eq!(target.documents(&case.id), 2);

    // Cases can be listed and read where the connector says so, and only there.
    let capabilities = target.connector().capabilities();
    let listed = target.connector().list_cases().await;
    if capabilities.list_cases {
        let listed = listed.expect("listing cases");
        assert!(
            listed
                .iter()
                .any(|c| c.id == case.id && c.number == case.number && c.title == case.title),
            "{listed:?}"
        );
    } else {
        assert!(
            matches!(listed, Err(ConnectorError::Permanent(_))),
            "{listed:?}"
        );
    }
    let read = target.connector().read_case(&case.id).await;
    if capabilities.read_case {
        let read = read.expect("reading a case").expect("the case filed on");
        assert_eq!(
            (read.id.as_str(), read.number.as_str()),
            (case.id.as_str(), case.number.as_str())
        );
        let missing = target.connector().read_case("VK-2026-9999").await;
        assert!(matches!(missing, Ok(None)), "{missing:?}");
    } else {
        assert!(
            matches!(read, Err(ConnectorError::Permanent(_))),
            "{read:?}"
        );
    }

    // Cases are made where the connector says so, once however often asked, and then take
    // filings; elsewhere asking is refused for good.
    let mut ordered = self::case("NS-contract-0001");
    ordered.number = ordered.id.clone();
    ordered.title = "Udestue, Strandvejen 41".into();
    let made = target.connector().create_case(&ordered).await;
    if target.connector().creates_cases() {
        let number = made.expect("creating a case");
        let again = target
            .connector()
            .create_case(&ordered)
            .await
            .expect("creating the same case again");
        assert_eq!(again, number, "the same case, not a second one");
        ordered.number = number;
        target
            .connector()
            .file(request("contract-new-case", &ordered))
            .await
            .expect("filing on the case made");
        if capabilities.list_cases {
            let listed = target.connector().list_cases().await.expect("listing");
            let made: Vec<_> = listed
                .iter()
                .filter(|c| c.number == ordered.number)
                .collect();
            assert_eq!(made.len(), 1, "{listed:?}");
            assert_eq!(made[0].title, ordered.title);
        }
    } else {
        assert!(
            matches!(made, Err(ConnectorError::Permanent(_))),
            "{made:?}"
        );
    }

    // A failure that passes is transient, so the worker retries; the retry files once.
    target.break_down().await;
    let failed = target.connector().file(request("contract-3", &case)).await;
    assert!(
        matches!(failed, Err(ConnectorError::Transient(_))),
        "a target that is down: {failed:?}"
    );
    target.recover().await;
    target
        .connector()
        .file(request("contract-3", &case))
        .await
        .expect("the retry once the target is back");
    assert_eq!(target.documents(&case.id), 3);

    // A withdrawn document leaves the case, or is answered by a correction the target keeps
    // beside it; withdrawing it again changes nothing more.
    let withdraw = || WithdrawRequest {
        idempotency_key: "contract-2".into(),
        case: case.clone(),
        document_id: other.document_id.clone(),
        title: "Ansøgning om carport / tegning".into(),
        withdrawn_by: "anna".into(),
        reason: "journaliseret på den forkerte sag".into(),
    };
    let before = target.documents(&case.id);
    let answer = target.connector().withdraw(withdraw()).await;
    if capabilities.withdraw {
        let answer = answer.expect("withdrawing a filed document");
        let after = target.documents(&case.id);
        match &answer {
            Withdrawal::Removed => assert_eq!(after, before - 1, "the document left the case"),
            Withdrawal::Corrected(note) => {
                assert!(
                    after == before || after == before + 1,
                    "{note}: {before} → {after}"
                )
            }
        }
        let again = target
            .connector()
            .withdraw(withdraw())
            .await
            .expect("again");
        assert_eq!(again, answer, "withdrawing twice answers as once");
        assert_eq!(target.documents(&case.id), after, "and does nothing more");
        // What was withdrawn may be filed again under a new key, as a move back would.
        target
            .connector()
            .file(request("contract-2b", &case))
            .await
            .expect("filing after a withdrawal");
    } else {
        assert!(
            matches!(answer, Err(ConnectorError::Permanent(_))),
            "{answer:?}"
        );
        target
            .connector()
            .file(request("contract-2b", &case))
            .await
            .expect("another filing");
    }
    let count = target.documents(&case.id);

    // A case's documents are listed where the connector says so: each one on the case, with
    // its original, title and date, and none withdrawn.
    let listed = target.connector().list_documents(&case.id).await;
    if capabilities.list_documents {
        let listed = listed.expect("listing a case's documents");
        assert_eq!(listed.len(), count, "{listed:?}");
        let mail = listed
            .iter()
            .find(|d| d.document_id == first.document_id)
            .expect("the first filing is listed");
        assert_eq!(mail.title, "Ansøgning om carport / tegning");
        assert_eq!(
            mail.content,
            DocumentContent::Original(request("contract-1", &case).content)
        );
        assert_eq!(
            mail.date.map(|date| date.to_rfc3339()),
            Some("2026-11-20T09:30:00+00:00".into())
        );
        assert!(listed.iter().all(|d| d.case_id == case.id), "{listed:?}");
        if capabilities.withdraw {
            assert!(
                listed.iter().all(|d| d.document_id != other.document_id),
                "the withdrawn document is listed: {listed:?}"
            );
        }
        let elsewhere = target
            .connector()
            .list_documents("VK-2026-9999")
            .await
            .expect("listing a case the target does not have");
        assert!(elsewhere.is_empty(), "{elsewhere:?}");
    } else {
        assert!(
            matches!(listed, Err(ConnectorError::Permanent(_))),
            "{listed:?}"
        );
    }

    // A refusal is permanent and carries the target's reason.
    if let Some((refused, reason)) = target.refused() {
        match refused.file(request("contract-4", &case)).await {
            Err(ConnectorError::Permanent(message)) => {
                assert!(message.contains(reason), "{message:?} lacks {reason:?}")
            }
            other => panic!("a refusal must be permanent: {other:?}"),
        }
        assert_eq!(
            target.documents(&case.id),
            count,
            "a refused filing leaves nothing"
        );
    }
}

/// For targets that keep documents by id (the archive, WebDAV): a new version of a document
/// is filed once per key and answered with the document's own id, adding at most itself to
/// what `documents` counts at the target; a version of what is not a document of the case is
/// refused for good.
pub async fn version_contract(connector: &dyn Connector, documents: impl Fn(&str) -> usize) {
    let case = case("VK-2026-0008");
    let first = connector
        .file(request("version-1", &case))
        .await
        .expect("the document");
    let before = documents(&case.id);
    let mut version = request("version-2", &case);
    version.content = b"Subject: Carport\r\n\r\nSe den rettede tegning.\r\n".to_vec();
    version.new_version_of = Some(NewVersion {
        document_id: first.document_id.clone(),
        version: 2,
    });
    let filed = connector
        .file(version.clone())
        .await
        .expect("the new version");
    assert_eq!(
        filed.document_id, first.document_id,
        "the document keeps its id"
    );
    assert_eq!(
        connector.file(version).await.expect("the same key again"),
        filed
    );
    let after = documents(&case.id);
    assert!(
        after == before || after == before + 1,
        "one version added {} things at the target",
        after - before
    );

    let mut stray = request("version-3", &case);
    stray.new_version_of = Some(NewVersion {
        document_id: format!("{}/ikke-et-dokument", case.id),
        version: 2,
    });
    let refused = connector.file(stray).await;
    assert!(
        matches!(refused, Err(ConnectorError::Permanent(_))),
        "{refused:?}"
    );
}
