//! Filings made before the service knew of them, such as a bulk load of an authority's
//! earlier documents: stored in batches as already delivered, so the worker never sends them
//! and the index and ranker memory learn from them like any filing.

use super::{Result, Store, StoredItem, conversation_of, dedupe_key, plain, to_json};
use crate::domain::{Millis, new_id};
use crate::extract::{Extracted, Metadata};

/// A document already on a case in the target.
pub struct PastFiling<'a> {
    pub owner: &'a str,
    pub sha256: &'a str,
    pub original: &'a [u8],
    pub extracted: Extracted,
    pub case_id: &'a str,
    pub title: &'a str,
    /// When it was filed (or sent): its place among the filings the ranker learns from.
    pub filed_at: Millis,
    /// The target's id of the document, where it is known: a new version of it can then be
    /// filed as the document's next version.
    pub document_id: Option<&'a str>,
}

impl Store {
    /// Stores a batch of past filings in one transaction: each item, and its filing as
    /// delivered. An item stored already (same owner and bytes) is filed again only on
    /// another case; a filing stored already (same case and Message-ID or content) is passed
    /// over, with the item made for it, so an interrupted load can be run again. Returns the
    /// items filed now, each with its case id, in the batch's order.
    pub async fn insert_past_filings(
        &self,
        batch: Vec<PastFiling<'_>>,
    ) -> Result<Vec<(StoredItem, String)>> {
        let mut stored = Vec::with_capacity(batch.len());
        let mut tx = self.pool.begin().await?;
        for past in batch {
            let (message_id, conversation, kind) = match &past.extracted.metadata {
                Metadata::Mail(mail) => (
                    mail.message_id.clone(),
                    mail.thread_index.as_deref().and_then(conversation_of),
                    "mail",
                ),
                Metadata::Document(_) => (None, None, "document"),
            };
            let made = new_id();
            let inserted = sqlx::query(
                "INSERT INTO items (id, owner, kind, content_type, sha256, message_id, size,
                    extracted, original, created_at, conversation)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
                 ON CONFLICT DO NOTHING",
            )
            .bind(&made)
            .bind(past.owner)
            .bind(kind)
            .bind(&past.extracted.content_type)
            .bind(past.sha256)
            .bind(message_id.as_deref().map(plain))
            .bind(past.original.len() as i64)
            .bind(to_json(&past.extracted))
            .bind(past.original)
            .bind(past.filed_at)
            .bind(conversation)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            let id = match inserted {
                true => made,
                // The same bytes on another case, or this filing again.
                false => {
                    sqlx::query_scalar("SELECT id FROM items WHERE owner = $1 AND sha256 = $2")
                        .bind(past.owner)
                        .bind(past.sha256)
                        .fetch_one(&mut *tx)
                        .await?
                }
            };
            let dedupe_key = dedupe_key(past.case_id, message_id.as_deref(), past.sha256);
            let filed = sqlx::query(
                "INSERT INTO filings (id, item_id, case_id, dedupe_key, title, attachments, state,
                    attempts, created_by, created_at, updated_at, filed_at, target_document_id)
                 VALUES ($1, $2, $3, $4, $5, '[]', 'filed', 1, $6, $7, $7, $7, $8)
                 ON CONFLICT DO NOTHING",
            )
            .bind(new_id())
            .bind(&id)
            .bind(past.case_id)
            .bind(plain(&dedupe_key))
            .bind(plain(past.title))
            .bind(past.owner)
            .bind(past.filed_at)
            .bind(past.document_id.map(plain))
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if !filed {
                // Filed on the case before (by the service itself, say): an item made only
                // for this filing would be an upload never filed.
                if inserted {
                    sqlx::query("DELETE FROM items WHERE id = $1")
                        .bind(&id)
                        .execute(&mut *tx)
                        .await?;
                }
                continue;
            }
            stored.push((
                StoredItem {
                    id,
                    owner: past.owner.to_string(),
                    kind: past.extracted.kind,
                    content_type: past.extracted.content_type.clone(),
                    sha256: past.sha256.to_string(),
                    message_id,
                    size: past.original.len() as i64,
                    created_at: past.filed_at,
                    original_purged: false,
                    extracted: past.extracted,
                },
                past.case_id.to_string(),
            ));
        }
        tx.commit().await?;
        Ok(stored)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::case::CaseInput;
    use crate::domain::identifiers::CprHasher;
    use crate::extract::ItemKind;

    fn document(text: &str) -> Extracted {
        Extracted {
            kind: ItemKind::Document,
            content_type: "text/plain".into(),
            metadata: Metadata::Document(Default::default()),
            text: text.into(),
            identifiers: Default::default(),
            truncated: Vec::new(),
        }
    }

    #[tokio::test]
    async fn past_filings_are_delivered_and_a_second_load_passes_over_them() {
        let store = crate::store::test_store().await;
        let case = CaseInput::plain("S1", "1", "Carport")
            .into_case("archive", &CprHasher::new(b"k"))
            .unwrap();
        store.upsert_case(&case).await.unwrap();
        let batch = || {
            vec![
                PastFiling {
                    owner: "anna",
                    sha256: "a",
                    original: b"one",
                    extracted: document("et notat"),
                    case_id: "S1",
                    title: "Notat",
                    filed_at: 1,
                    document_id: Some("S1/notat"),
                },
                PastFiling {
                    owner: "anna",
                    sha256: "b",
                    original: b"two",
                    extracted: document("et andet notat"),
                    case_id: "S1",
                    title: "Notat 2",
                    filed_at: 2,
                    document_id: None,
                },
            ]
        };
        let stored = store.insert_past_filings(batch()).await.unwrap();
        assert_eq!(stored.len(), 2);
        assert_eq!(store.count_live_filings().await.unwrap(), 2);
        assert!(
            store
                .claim_due_filing(crate::domain::now_millis() + 86_400_000, 1000)
                .await
                .unwrap()
                .is_none()
        );
        assert!(store.insert_past_filings(batch()).await.unwrap().is_empty());
        assert_eq!(store.count_live_filings().await.unwrap(), 2);
        let filed = store
            .filings_of_item(&stored[0].0.id)
            .await
            .unwrap()
            .remove(0);
        assert_eq!(filed.target_document_id.as_deref(), Some("S1/notat"));

        // The same bytes on another case are filed there too, on the item stored before.
        let other = CaseInput::plain("S2", "2", "Vejbump")
            .into_case("archive", &CprHasher::new(b"k"))
            .unwrap();
        store.upsert_case(&other).await.unwrap();
        let mut elsewhere = batch();
        elsewhere.truncate(1);
        elsewhere[0].case_id = "S2";
        let again = store.insert_past_filings(elsewhere).await.unwrap();
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].0.id, stored[0].0.id);
        assert_eq!(store.count_live_filings().await.unwrap(), 3);

        // What the case holds already, brought by another owner, leaves no item behind.
        let mut by_other = batch();
        by_other.truncate(1);
        by_other[0].owner = "import:archive";
        assert!(
            store
                .insert_past_filings(by_other)
                .await
                .unwrap()
                .is_empty()
        );
        assert!(
            store
                .item_by_content("import:archive", "a")
                .await
                .unwrap()
                .is_none()
        );
    }

    #[tokio::test]
    async fn originals_of_more_filings_than_one_batch_are_all_dropped() {
        let store = crate::store::test_store().await;
        let case = CaseInput::plain("S1", "1", "Carport")
            .into_case("archive", &CprHasher::new(b"k"))
            .unwrap();
        store.upsert_case(&case).await.unwrap();
        let texts: Vec<(String, String)> = (0..2_500)
            .map(|n| (format!("h{n}"), format!("notat {n}")))
            .collect();
        let batch = texts
            .iter()
            .map(|(sha, text)| PastFiling {
                owner: "anna",
                sha256: sha,
                original: text.as_bytes(),
                extracted: document(text),
                case_id: "S1",
                title: "Notat",
                filed_at: 1,
                document_id: None,
            })
            .collect();
        let stored = store.insert_past_filings(batch).await.unwrap();
        let later = crate::domain::now_millis() + 3_600_000;
        assert_eq!(store.purge_filed_originals(later).await.unwrap(), 2_500);
        assert_eq!(
            store.item_original(&stored[2_499].0.id).await.unwrap(),
            None
        );
        assert_eq!(store.purge_filed_originals(later).await.unwrap(), 0);
    }
}
