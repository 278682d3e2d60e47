//! Uploaded items: the original bytes and what extraction found in them.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Result, Store, from_json, plain, to_json};
use crate::domain::{Millis, new_id, now_millis};
use crate::extract::{Extracted, ItemKind, Metadata};

pub struct NewItem<'a> {
    pub owner: &'a str,
    pub sha256: &'a str,
    pub original: &'a [u8],
    pub extracted: &'a Extracted,
}

/// Items whose originals one statement of `purge_filed_originals` drops.
const PURGE_BATCH: i64 = 1_000;

/// Where a page of `live_filed_items` ended.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FiledPlace {
    created_at: Millis,
    filing_id: String,
}

#[derive(Debug, Clone)]
pub struct StoredItem {
    pub id: String,
    pub owner: String,
    pub kind: ItemKind,
    pub content_type: String,
    pub sha256: String,
    pub message_id: Option<String>,
    pub size: i64,
    pub extracted: Extracted,
    pub created_at: Millis,
    /// Whether the retention rules have dropped the original bytes.
    pub original_purged: bool,
}

impl Store {
    /// Stores an item; the same bytes uploaded again by the same owner give the first item back.
    /// Returns the item and whether it was new.
    pub async fn insert_item(&self, item: NewItem<'_>) -> Result<(StoredItem, bool)> {
        let message_id = match &item.extracted.metadata {
            Metadata::Mail(mail) => mail.message_id.clone(),
            Metadata::Document(_) => None,
        };
        let kind = match item.extracted.kind {
            ItemKind::Mail => "mail",
            ItemKind::Document => "document",
        };
        let conversation = match &item.extracted.metadata {
            Metadata::Mail(mail) => mail.thread_index.as_deref().and_then(conversation_of),
            Metadata::Document(_) => None,
        };
        let inserted = sqlx::query(
            "INSERT INTO items (id, owner, kind, content_type, sha256, message_id, size, extracted, original,
                created_at, conversation)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
             ON CONFLICT (owner, sha256) DO NOTHING",
        )
        .bind(new_id())
        .bind(item.owner)
        .bind(kind)
        .bind(&item.extracted.content_type)
        .bind(item.sha256)
        .bind(message_id.as_deref().map(plain))
        .bind(item.original.len() as i64)
        .bind(to_json(item.extracted))
        .bind(item.original)
        .bind(now_millis())
        .bind(conversation)
        .execute(&self.pool)
        .await?
        .rows_affected()
            == 1;
        let row = sqlx::query(&format!(
            "SELECT {ITEM_COLUMNS} FROM items WHERE owner = $1 AND sha256 = $2"
        ))
        .bind(item.owner)
        .bind(item.sha256)
        .fetch_one(&self.pool)
        .await?;
        Ok((item_from_row(&row)?, inserted))
    }

    /// The next `limit` items of live filings with the case each is on, in the order they were
    /// filed, after `after` (the last row's place of the page before): the index and the
    /// ranker memory are rebuilt from these pages rather than with a query per item.
    pub async fn live_filed_items(
        &self,
        after: Option<&FiledPlace>,
        limit: i64,
    ) -> Result<Vec<(StoredItem, String, FiledPlace)>> {
        let (at, id) = after.map_or((i64::MIN, ""), |p| (p.created_at, p.filing_id.as_str()));
        let rows = sqlx::query(&format!(
            "SELECT {}, f.case_id, f.created_at AS filed_at, f.id AS filing_id
             FROM filings f JOIN items i ON i.id = f.item_id
             WHERE f.state <> 'failed' AND f.withdrawn_at IS NULL
               AND (f.created_at > $1 OR (f.created_at = $1 AND f.id > $2))
             ORDER BY f.created_at, f.id LIMIT $3",
            item_columns_of("i")
        ))
        .bind(at)
        .bind(id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let place = FiledPlace {
                    created_at: row.try_get("filed_at")?,
                    filing_id: row.try_get("filing_id")?,
                };
                Ok((item_from_row(row)?, row.try_get("case_id")?, place))
            })
            .collect()
    }

    /// Where the latest live filing stands in filing order; `None` before the first.
    pub async fn last_live_filing(&self) -> Result<Option<FiledPlace>> {
        let row = sqlx::query(
            "SELECT created_at, id FROM filings WHERE state <> 'failed' AND withdrawn_at IS NULL
             ORDER BY created_at DESC, id DESC LIMIT 1",
        )
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(FiledPlace {
                created_at: row.try_get("created_at")?,
                filing_id: row.try_get("id")?,
            })
        })
        .transpose()
    }

    /// How many live filings there are up to and including `place`, in filing order: what a
    /// memory that learnt every page up to `place` was taught.
    pub async fn live_filings_up_to(&self, place: &FiledPlace) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM filings
             WHERE state <> 'failed' AND withdrawn_at IS NULL
               AND (created_at < $1 OR (created_at = $1 AND id <= $2))",
        )
        .bind(place.created_at)
        .bind(&place.filing_id)
        .fetch_one(&self.pool)
        .await?)
    }

    /// The latest `limit` items, newest first: what a rule or a threshold is tried on.
    pub async fn latest_items(&self, limit: i64) -> Result<Vec<StoredItem>> {
        let rows = sqlx::query(&format!(
            "SELECT {ITEM_COLUMNS} FROM items ORDER BY created_at DESC, id LIMIT $1"
        ))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(item_from_row).collect()
    }

    /// The item `owner` uploaded with this content hash, if any.
    pub async fn item_by_content(&self, owner: &str, sha256: &str) -> Result<Option<StoredItem>> {
        let row = sqlx::query(&format!(
            "SELECT {ITEM_COLUMNS} FROM items WHERE owner = $1 AND sha256 = $2"
        ))
        .bind(owner)
        .bind(sha256)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(item_from_row).transpose()
    }

    pub async fn item(&self, id: &str) -> Result<Option<StoredItem>> {
        let row = sqlx::query(&format!("SELECT {ITEM_COLUMNS} FROM items WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(item_from_row).transpose()
    }

    /// Puts back the original bytes of an item whose original was dropped, when the same bytes
    /// are uploaded again.
    pub async fn restore_original(&self, id: &str, original: &[u8]) -> Result<()> {
        sqlx::query("UPDATE items SET original = $2, original_purged_at = NULL WHERE id = $1")
            .bind(id)
            .bind(original)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Deletes items uploaded before `before` that were never filed, with what was recorded
    /// about them. Returns how many.
    pub async fn delete_unfiled_items(&self, before: Millis) -> Result<u64> {
        let unfiled = "SELECT i.id FROM items i WHERE i.created_at < $1
                       AND NOT EXISTS (SELECT 1 FROM filings f WHERE f.item_id = i.id)";
        let mut tx = self.pool.begin().await?;
        sqlx::query(&format!(
            "DELETE FROM suggestions_shown WHERE item_id IN ({unfiled})"
        ))
        .bind(before)
        .execute(&mut *tx)
        .await?;
        let deleted = sqlx::query(&format!("DELETE FROM items WHERE id IN ({unfiled})"))
            .bind(before)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(deleted)
    }

    /// Drops the original bytes of items whose every filing was delivered before `before`:
    /// the target holds the document now, and no retry can need them. Returns how many.
    ///
    /// A thousand items a statement: at a million filed items one statement held SQLite's
    /// write lock for longer than an upload waits for it.
    pub async fn purge_filed_originals(&self, before: Millis) -> Result<u64> {
        let mut purged = 0;
        loop {
            let batch = sqlx::query(
                "UPDATE items SET original = $2, original_purged_at = $3
                 WHERE id IN (SELECT i.id FROM items i
                              WHERE i.original_purged_at IS NULL
                                AND EXISTS (SELECT 1 FROM filings f WHERE f.item_id = i.id)
                                AND NOT EXISTS (SELECT 1 FROM filings f WHERE f.item_id = i.id
                                                AND (f.state <> 'filed' OR f.filed_at >= $1))
                              LIMIT $4)",
            )
            .bind(before)
            .bind(Vec::<u8>::new())
            .bind(crate::domain::now_millis())
            .bind(PURGE_BATCH)
            .execute(&self.pool)
            .await?
            .rows_affected();
            purged += batch;
            if batch < PURGE_BATCH as u64 {
                return Ok(purged);
            }
            tokio::task::yield_now().await;
        }
    }

    /// The bytes as uploaded, unless the retention rules have dropped them.
    pub async fn item_original(&self, id: &str) -> Result<Option<Vec<u8>>> {
        Ok(sqlx::query_scalar(
            "SELECT original FROM items WHERE id = $1 AND original_purged_at IS NULL",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?)
    }
}

const ITEM_COLUMNS: &str = "id, owner, kind, content_type, sha256, message_id, size, extracted, created_at, original_purged_at";

/// The item columns of the items table named `table` in a join.
pub(super) fn item_columns_of(table: &str) -> String {
    let columns: Vec<String> = ITEM_COLUMNS
        .split(", ")
        .map(|c| format!("{table}.{c}"))
        .collect();
    columns.join(", ")
}

pub(super) fn item_from_row(row: &AnyRow) -> Result<StoredItem> {
    let extracted: Extracted = from_json("items.extracted", row.try_get("extracted")?)?;
    Ok(StoredItem {
        id: row.try_get("id")?,
        owner: row.try_get("owner")?,
        kind: extracted.kind,
        content_type: row.try_get("content_type")?,
        sha256: row.try_get("sha256")?,
        message_id: row.try_get("message_id")?,
        size: row.try_get("size")?,
        created_at: row.try_get("created_at")?,
        original_purged: row
            .try_get::<Option<Millis>, _>("original_purged_at")?
            .is_some(),
        extracted,
    })
}

/// The conversation a Thread-Index names: its first 22 bytes (a time and a GUID), which every
/// reply and forward keeps, as hex. None for a header too short or not base64.
pub fn conversation_of(thread_index: &str) -> Option<String> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(thread_index.trim())
        .ok()?;
    (bytes.len() >= 22).then(|| hex::encode(&bytes[..22]))
}
