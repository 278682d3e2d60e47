//! Cases, their parties and the groups that may see them.

use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::{Result, Store, StoreError};
use crate::domain::case::{Case, CaseStatus, Party, PartyKind};
use crate::domain::now_millis;

/// A case search: words over number, title and parties, CPR numbers by their hash, limited
/// to what the viewer may see.
pub struct CaseQuery<'a> {
    pub words: Vec<String>,
    pub cpr_hashes: Vec<String>,
    pub viewer_groups: &'a [String],
    pub limit: usize,
}

/// What case searches match against, lower-cased here because SQLite lower-cases only ASCII.
/// CPR parties are left out: they are matched by hash.
fn search_text(case: &Case) -> String {
    let mut parts = vec![case.number.as_str(), case.title.as_str()];
    parts.extend(
        case.parties
            .iter()
            .filter(|p| p.kind != PartyKind::Cpr)
            .map(|p| p.display.as_str()),
    );
    parts.join("\n").to_lowercase()
}

impl Store {
    /// Inserts or replaces a case with its parties and groups, in one transaction.
    pub async fn upsert_case(&self, case: &Case) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO cases (id, connector, number, title, kle, facet, status, opened, search_text, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             ON CONFLICT (id) DO UPDATE SET connector = excluded.connector,
                number = excluded.number, title = excluded.title, kle = excluded.kle,
                facet = excluded.facet, status = excluded.status, opened = excluded.opened,
                search_text = excluded.search_text, updated_at = excluded.updated_at",
        )
        .bind(&case.id)
        .bind(&case.connector)
        .bind(&case.number)
        .bind(&case.title)
        .bind(&case.kle)
        .bind(&case.facet)
        .bind(case.status.as_str())
        .bind(&case.opened)
        .bind(search_text(case))
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

    /// Number of cases, for comparing the store with the index.
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
    /// party's name, e-mail address or CVR number; a CPR number in the query matches a CPR
    /// party by its hash. Only cases the viewer may see are searched.
    pub async fn search_cases(&self, query: &CaseQuery<'_>) -> Result<Vec<Case>> {
        let mut sql = String::from("SELECT c.* FROM cases c WHERE ");
        let mut binds: Vec<String> = Vec::new();
        let placeholder = |binds: &mut Vec<String>, value: String| {
            binds.push(value);
            format!("${}", binds.len())
        };
        if query.viewer_groups.is_empty() {
            sql.push_str("NOT EXISTS (SELECT 1 FROM case_groups g WHERE g.case_id = c.id)");
        } else {
            let groups: Vec<String> = query
                .viewer_groups
                .iter()
                .map(|g| placeholder(&mut binds, g.clone()))
                .collect();
            sql.push_str(&format!(
                "(NOT EXISTS (SELECT 1 FROM case_groups g WHERE g.case_id = c.id)
                  OR EXISTS (SELECT 1 FROM case_groups g WHERE g.case_id = c.id AND g.group_name IN ({})))",
                groups.join(", ")
            ));
        }
        for word in query.words.iter().take(8) {
            let pattern = format!("%{}%", word.to_lowercase().replace(['%', '_', '\\'], ""));
            let p = placeholder(&mut binds, pattern);
            sql.push_str(&format!(" AND c.search_text LIKE {p}"));
        }
        for hash in &query.cpr_hashes {
            let p = placeholder(&mut binds, hash.clone());
            sql.push_str(&format!(
                " AND EXISTS (SELECT 1 FROM case_parties p WHERE p.case_id = c.id AND p.kind = 'cpr' AND p.value = {p})"
            ));
        }
        sql.push_str(&format!(
            " ORDER BY c.status DESC, c.updated_at DESC LIMIT {}",
            query.limit
        ));
        let mut q = sqlx::query(&sql);
        for value in &binds {
            q = q.bind(value);
        }
        let rows = q.fetch_all(&self.pool).await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            out.push(self.complete_case(row).await?);
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
    async fn cpr_parties_are_found_by_hash_only() {
        let store = test_store().await;
        let mut with_cpr = case("1", "Hjælpemidler", &[]);
        with_cpr.parties.push(Party {
            kind: PartyKind::Cpr,
            value: "hash-of-cpr".into(),
            display: "150385-XXXX".into(),
        });
        store.upsert_case(&with_cpr).await.unwrap();
        let query = |hash: &str| CaseQuery {
            words: vec![],
            cpr_hashes: vec![hash.into()],
            viewer_groups: &[],
            limit: 5,
        };
        assert_eq!(
            store
                .search_cases(&query("hash-of-cpr"))
                .await
                .unwrap()
                .len(),
            1
        );
        assert!(
            store
                .search_cases(&query("other"))
                .await
                .unwrap()
                .is_empty()
        );
        let by_mask = CaseQuery {
            words: vec!["150385".into()],
            cpr_hashes: vec![],
            viewer_groups: &[],
            limit: 5,
        };
        assert!(
            store.search_cases(&by_mask).await.unwrap().is_empty(),
            "CPR parties are not in the searchable text"
        );
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
        let social = ["social".to_string()];
        let query = |text: &str, groups: &'static [String]| CaseQuery {
            words: text.split_whitespace().map(String::from).collect(),
            cpr_hashes: vec![],
            viewer_groups: groups,
            limit: 10,
        };
        let ids = |cases: Vec<Case>| cases.into_iter().map(|c| c.id).collect::<Vec<_>>();
        let hits = store
            .search_cases(&query("CARPORT skovvej", &[]))
            .await
            .unwrap();
        assert_eq!(ids(hits), ["1"]);
        let hits = store.search_cases(&query("carport", &[])).await.unwrap();
        assert_eq!(
            ids(hits),
            ["1"],
            "the social case is hidden from a user without the group"
        );
        let groups: &'static [String] = Box::leak(Box::new(social));
        let hits = store.search_cases(&query("carport", groups)).await.unwrap();
        assert_eq!(hits.len(), 2);
        let hits = store
            .search_cases(&query("PÅ BAKKEVEJ", groups))
            .await
            .unwrap();
        assert_eq!(
            ids(hits),
            ["2"],
            "Danish letters are matched without regard to case"
        );
        assert!(store.visible_case("2", &[]).await.unwrap().is_none());
    }
}
