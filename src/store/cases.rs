//! Cases, their parties and the groups that may see them.

use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::{Result, Store, StoreError};
use crate::domain::case::{Case, CaseStatus, Party, PartyKind};
use crate::domain::now_millis;

/// A case search: free text over number, title and party names, limited to what the viewer
/// may see.
pub struct CaseQuery<'a> {
    pub text: &'a str,
    pub viewer_groups: &'a [String],
    pub limit: usize,
}

impl Store {
    /// Inserts or replaces a case with its parties and groups, in one transaction.
    pub async fn upsert_case(&self, case: &Case) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO cases (id, connector, number, title, kle, facet, status, opened, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT (id) DO UPDATE SET connector = excluded.connector,
                number = excluded.number, title = excluded.title, kle = excluded.kle,
                facet = excluded.facet, status = excluded.status, opened = excluded.opened,
                updated_at = excluded.updated_at",
        )
        .bind(&case.id)
        .bind(&case.connector)
        .bind(&case.number)
        .bind(&case.title)
        .bind(&case.kle)
        .bind(&case.facet)
        .bind(case.status.as_str())
        .bind(&case.opened)
        .bind(now_millis())
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM case_parties WHERE case_id = $1")
            .bind(&case.id)
            .execute(&mut *tx)
            .await?;
        for party in &case.parties {
            sqlx::query(
                "INSERT INTO case_parties (case_id, kind, value, display) VALUES ($1, $2, $3, $4)
                 ON CONFLICT DO NOTHING",
            )
            .bind(&case.id)
            .bind(party.kind.as_str())
            .bind(&party.value)
            .bind(&party.display)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query("DELETE FROM case_groups WHERE case_id = $1")
            .bind(&case.id)
            .execute(&mut *tx)
            .await?;
        for group in &case.groups {
            sqlx::query("INSERT INTO case_groups (case_id, group_name) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(&case.id)
                .bind(group)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn case(&self, id: &str) -> Result<Option<Case>> {
        let row = sqlx::query("SELECT * FROM cases WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(row) => Ok(Some(self.complete_case(&row).await?)),
            None => Ok(None),
        }
    }

    /// The case only if the viewer may see it: a hidden case is reported as absent.
    pub async fn visible_case(&self, id: &str, viewer_groups: &[String]) -> Result<Option<Case>> {
        Ok(self.case(id).await?.filter(|c| c.visible_to(viewer_groups)))
    }

    pub async fn all_cases(&self) -> Result<Vec<Case>> {
        let rows = sqlx::query("SELECT * FROM cases ORDER BY id")
            .fetch_all(&self.pool)
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            out.push(self.complete_case(row).await?);
        }
        Ok(out)
    }

    pub async fn count_cases(&self) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM cases")
            .fetch_one(&self.pool)
            .await?)
    }

    /// Cases whose number is one of `numbers` (compared without regard to case).
    pub async fn case_ids_by_number(&self, numbers: &[String]) -> Result<Vec<(String, String)>> {
        let mut out = Vec::new();
        for number in numbers {
            let rows = sqlx::query("SELECT id, number FROM cases WHERE UPPER(number) = UPPER($1)")
                .bind(number)
                .fetch_all(&self.pool)
                .await?;
            for row in rows {
                out.push((row.try_get("id")?, row.try_get("number")?));
            }
        }
        Ok(out)
    }

    /// Cases with a party of `kind` whose stored value is one of `values`; returns
    /// `(case_id, party)` pairs.
    pub async fn cases_by_party(
        &self,
        kind: PartyKind,
        values: &[String],
    ) -> Result<Vec<(String, Party)>> {
        let mut out = Vec::new();
        for value in values {
            let rows = sqlx::query(
                "SELECT case_id, display FROM case_parties WHERE kind = $1 AND value = $2",
            )
            .bind(kind.as_str())
            .bind(value)
            .fetch_all(&self.pool)
            .await?;
            for row in rows {
                let display: String = row.try_get("display")?;
                out.push((
                    row.try_get("case_id")?,
                    Party {
                        kind,
                        value: value.clone(),
                        display,
                    },
                ));
            }
        }
        Ok(out)
    }

    /// Free-text case search for people: every word must occur in the number, title or a
    /// party's name or e-mail address.
    pub async fn search_cases(&self, query: &CaseQuery<'_>) -> Result<Vec<Case>> {
        let words: Vec<String> = query
            .text
            .split_whitespace()
            .take(8)
            .map(|w| format!("%{}%", w.to_lowercase().replace(['%', '_'], "")))
            .collect();
        let mut sql = String::from("SELECT c.* FROM cases c WHERE 1 = 1");
        for i in 0..words.len() {
            let n = i + 1;
            sql.push_str(&format!(
                " AND (LOWER(c.number) LIKE ${n} OR LOWER(c.title) LIKE ${n} OR EXISTS (
                    SELECT 1 FROM case_parties p WHERE p.case_id = c.id
                    AND p.kind IN ('name', 'email', 'cvr') AND p.value LIKE ${n}))"
            ));
        }
        sql.push_str(" ORDER BY c.status DESC, c.updated_at DESC");
        let mut q = sqlx::query(&sql);
        for word in &words {
            q = q.bind(word);
        }
        let rows = q.fetch_all(&self.pool).await?;
        let mut out = Vec::new();
        for row in &rows {
            let case = self.complete_case(row).await?;
            if case.visible_to(query.viewer_groups) {
                out.push(case);
                if out.len() >= query.limit {
                    break;
                }
            }
        }
        Ok(out)
    }

    async fn complete_case(&self, row: &SqliteRow) -> Result<Case> {
        let id: String = row.try_get("id")?;
        let status: String = row.try_get("status")?;
        let parties = sqlx::query("SELECT kind, value, display FROM case_parties WHERE case_id = $1 ORDER BY kind, display")
            .bind(&id)
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .map(|r| {
                let kind: String = r.try_get("kind")?;
                Ok(Party {
                    kind: PartyKind::parse(&kind)
                        .ok_or_else(|| StoreError::Corrupt(format!("party kind {kind}")))?,
                    value: r.try_get("value")?,
                    display: r.try_get("display")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let groups = sqlx::query_scalar(
            "SELECT group_name FROM case_groups WHERE case_id = $1 ORDER BY group_name",
        )
        .bind(&id)
        .fetch_all(&self.pool)
        .await?;
        Ok(Case {
            connector: row.try_get("connector")?,
            number: row.try_get("number")?,
            title: row.try_get("title")?,
            kle: row.try_get("kle")?,
            facet: row.try_get("facet")?,
            status: CaseStatus::parse(&status)
                .ok_or_else(|| StoreError::Corrupt(format!("case status {status}")))?,
            opened: row.try_get("opened")?,
            parties,
            groups,
            id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_store;

    fn case(id: &str, title: &str, groups: &[&str]) -> Case {
        Case {
            id: id.into(),
            connector: "archive".into(),
            number: format!("02.34.02-G01-{id}-26"),
            title: title.into(),
            kle: Some("02.34.02".into()),
            facet: Some("G01".into()),
            status: CaseStatus::Open,
            parties: vec![Party {
                kind: PartyKind::Email,
                value: "a@b.example".into(),
                display: "a@b.example".into(),
            }],
            groups: groups.iter().map(|g| g.to_string()).collect(),
            opened: None,
        }
    }

    #[tokio::test]
    async fn upsert_replaces_parties_and_groups() {
        let store = test_store().await;
        store
            .upsert_case(&case("1", "Carport", &["byg"]))
            .await
            .unwrap();
        let mut changed = case("1", "Carport på Skovvej", &[]);
        changed.parties.clear();
        store.upsert_case(&changed).await.unwrap();
        let got = store.case("1").await.unwrap().unwrap();
        assert_eq!(got.title, "Carport på Skovvej");
        assert!(got.parties.is_empty());
        assert!(got.groups.is_empty());
        assert_eq!(store.count_cases().await.unwrap(), 1);
    }

    #[tokio::test]
    async fn search_needs_every_word_and_hides_cases_of_other_groups() {
        let store = test_store().await;
        store
            .upsert_case(&case("1", "Carport på Skovvej", &[]))
            .await
            .unwrap();
        store
            .upsert_case(&case("2", "Carport på Bakkevej", &["social"]))
            .await
            .unwrap();
        let query = |text, groups: &'static [String]| CaseQuery {
            text,
            viewer_groups: groups,
            limit: 10,
        };
        let hits = store
            .search_cases(&query("carport skovvej", &[]))
            .await
            .unwrap();
        assert_eq!(
            hits.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
            ["1"]
        );
        let hits = store.search_cases(&query("carport", &[])).await.unwrap();
        assert_eq!(
            hits.len(),
            1,
            "the social case is hidden from a user without the group"
        );
        assert!(store.visible_case("2", &[]).await.unwrap().is_none());
    }
}
