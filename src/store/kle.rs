//! The KLE plan: its entries with their history, and search over number, title and guidance.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Result, Store, StoreError, from_json, plain, to_json};
use crate::domain::now_millis;
use crate::kle::{Entry, History, ImportSummary, Level, Plan, PlanKind};

/// What KLE search matches against, lower-cased here because SQLite lower-cases only ASCII.
fn search_text(entry: &Entry) -> String {
    format!("{}\n{}\n{}", entry.number, entry.title, entry.guidance).to_lowercase()
}

fn date_text(date: Option<NaiveDate>) -> Option<String> {
    date.map(|d| d.to_string())
}

fn entry_from(row: &AnyRow) -> Result<Entry> {
    let date = |column: &str| -> Result<Option<NaiveDate>> {
        let text: Option<String> = row.try_get(column)?;
        text.map(|t| {
            NaiveDate::parse_from_str(&t, "%Y-%m-%d")
                .map_err(|e| StoreError::Corrupt(format!("kle_entries.{column}: {e}")))
        })
        .transpose()
    };
    let level: String = row.try_get("level")?;
    let history: Option<String> = row.try_get("history")?;
    Ok(Entry {
        number: row.try_get("number")?,
        level: Level::parse(&level)
            .ok_or_else(|| StoreError::Corrupt(format!("kle_entries.level: {level:?}")))?,
        parent: row.try_get("parent")?,
        title: row.try_get("title")?,
        guidance: row.try_get("guidance")?,
        created: date("created")?,
        changed: date("changed")?,
        history: history
            .map(|h| from_json("kle_entries.history", &h))
            .transpose()?,
    })
}

impl Store {
    /// Brings the plan of `plan.kind` up to `plan` in one transaction: entries added or
    /// changed, entries it no longer lists marked absent. `Err(imported)` (and nothing
    /// changed) when the store holds a plan published later.
    pub async fn import_kle_plan(&self, plan: &Plan) -> Result<Result<ImportSummary, NaiveDate>> {
        let kind = plan.kind.as_str();
        let published = plan.published.to_string();
        let mut tx = self.pool.begin().await?;
        // The write comes first, so that SQLite takes the write lock before any read.
        sqlx::query(
            "INSERT INTO kle_plans (kind, published, imported_at) VALUES ($1, $2, $3)
             ON CONFLICT (kind) DO UPDATE SET published = excluded.published,
                imported_at = excluded.imported_at
             WHERE kle_plans.published <= excluded.published",
        )
        .bind(kind)
        .bind(&published)
        .bind(now_millis())
        .execute(&mut *tx)
        .await?;
        let imported: String =
            sqlx::query_scalar("SELECT published FROM kle_plans WHERE kind = $1")
                .bind(kind)
                .fetch_one(&mut *tx)
                .await?;
        if imported > published {
            tx.rollback().await?;
            let imported = NaiveDate::parse_from_str(&imported, "%Y-%m-%d")
                .map_err(|e| StoreError::Corrupt(format!("kle_plans.published: {e}")))?;
            return Ok(Err(imported));
        }
        let rows = sqlx::query("SELECT * FROM kle_entries WHERE kind = $1")
            .bind(kind)
            .fetch_all(&mut *tx)
            .await?;
        let mut before: BTreeMap<String, Entry> = BTreeMap::new();
        for row in &rows {
            let entry = entry_from(row)?;
            before.insert(entry.number.clone(), entry);
        }
        let mut summary = ImportSummary::default();
        let mut writes: Vec<Entry> = Vec::new();
        for entry in &plan.entries {
            match before.remove(&entry.number) {
                None => summary.added += 1,
                Some(old) if old == *entry => {
                    summary.unchanged += 1;
                    continue;
                }
                Some(old) => {
                    summary.changed += 1;
                    if old.history.is_none() && entry.history.is_some() {
                        summary.now_historic += 1;
                    }
                }
            }
            writes.push(entry.clone());
        }
        for (_, mut unlisted) in before {
            if unlisted.history.is_none() {
                unlisted.history = Some(History::Absent {
                    since: plan.published,
                });
                summary.now_historic += 1;
                writes.push(unlisted);
            }
        }
        let now = now_millis();
        for entry in &writes {
            sqlx::query(
                "INSERT INTO kle_entries (number, kind, level, parent, title, guidance, created,
                    changed, history, search_text, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
                 ON CONFLICT (number) DO UPDATE SET kind = excluded.kind, level = excluded.level,
                    parent = excluded.parent, title = excluded.title, guidance = excluded.guidance,
                    created = excluded.created, changed = excluded.changed,
                    history = excluded.history, search_text = excluded.search_text,
                    updated_at = excluded.updated_at",
            )
            .bind(plain(&entry.number))
            .bind(kind)
            .bind(entry.level.as_str())
            .bind(entry.parent.as_deref().map(plain))
            .bind(plain(&entry.title))
            .bind(plain(&entry.guidance))
            .bind(date_text(entry.created))
            .bind(date_text(entry.changed))
            .bind(entry.history.as_ref().map(to_json))
            .bind(plain(&search_text(entry)))
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(Ok(summary))
    }

    pub async fn kle_entry(&self, number: &str) -> Result<Option<Entry>> {
        sqlx::query("SELECT * FROM kle_entries WHERE number = $1")
            .bind(plain(number))
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(entry_from)
            .transpose()
    }

    /// Every entry of one plan, history included, by number.
    pub async fn kle_entries(&self, kind: PlanKind) -> Result<Vec<Entry>> {
        sqlx::query("SELECT * FROM kle_entries WHERE kind = $1 ORDER BY number")
            .bind(kind.as_str())
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(entry_from)
            .collect()
    }

    /// Entries in force of `level` whose number, title or guidance holds every word (`02.34`
    /// finds the subjects of that group), by number.
    pub async fn search_kle(
        &self,
        level: Level,
        words: &[String],
        limit: usize,
    ) -> Result<Vec<Entry>> {
        let mut sql =
            String::from("SELECT * FROM kle_entries WHERE history IS NULL AND level = $1");
        for i in 0..words.len().min(8) {
            sql.push_str(&format!(" AND search_text LIKE ${}", i + 2));
        }
        sql.push_str(&format!(" ORDER BY number LIMIT {}", limit.clamp(1, 200)));
        let mut query = sqlx::query(&sql).bind(level.as_str());
        // As in case search: wildcards in a word are dropped rather than escaped, the same on
        // both databases.
        for word in words.iter().take(8) {
            let pattern = format!("%{}%", word.to_lowercase().replace(['%', '_', '\\'], ""));
            query = query.bind(plain(&pattern));
        }
        query
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(entry_from)
            .collect()
    }
}
