//! Cases, their parties and the groups that may see them.

use std::collections::HashMap;

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Result, Store, StoreError, plain};
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
        write_case(&mut tx, case).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn case(&self, id: &str) -> Result<Option<Case>> {
        Ok(self.cases(&[id.to_string()]).await?.pop())
    }

    /// The case only if the viewer may see it: a hidden case is reported as absent.
    pub async fn visible_case(&self, id: &str, viewer_groups: &[String]) -> Result<Option<Case>> {
        Ok(self.case(id).await?.filter(|c| c.visible_to(viewer_groups)))
    }

    /// The cases with these ids, each once, in the order of `ids`; ids of no case are left
    /// out.
    pub async fn cases(&self, ids: &[String]) -> Result<Vec<Case>> {
        let mut distinct = ids.to_vec();
        distinct.sort();
        distinct.dedup();
        let rows = self
            .rows_in("SELECT * FROM cases WHERE id IN ({values})", &[], &distinct)
            .await?;
        let mut by_id: HashMap<String, Case> = self
            .complete_cases(&rows)
            .await?
            .into_iter()
            .map(|case| (case.id.clone(), case))
            .collect();
        Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
    }

    pub async fn all_cases(&self) -> Result<Vec<Case>> {
        let rows = sqlx::query("SELECT * FROM cases ORDER BY id")
            .fetch_all(&self.pool)
            .await?;
        self.complete_cases(&rows).await
    }

    /// Number of cases, for comparing the store with the index.
    pub async fn count_cases(&self) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM cases")
            .fetch_one(&self.pool)
            .await?)
    }

    /// Cases whose number is one of `numbers` (compared without regard to case).
    pub async fn case_ids_by_number(&self, numbers: &[String]) -> Result<Vec<(String, String)>> {
        self.rows_in(
            "SELECT id, number FROM cases WHERE UPPER(number) IN ({upper_values})",
            &[],
            numbers,
        )
        .await?
        .iter()
        .map(|row| Ok((row.try_get("id")?, row.try_get("number")?)))
        .collect()
    }

    /// Cases with a party of `kind` whose stored value is one of `values`; returns
    /// `(case_id, party)` pairs.
    pub async fn cases_by_party(
        &self,
        kind: PartyKind,
        values: &[String],
    ) -> Result<Vec<(String, Party)>> {
        self.rows_in(
            "SELECT case_id, value, display FROM case_parties WHERE kind = $1 AND value IN ({values})
             ORDER BY case_id, value",
            &[kind.as_str()],
            values,
        )
        .await?
        .iter()
        .map(|row| {
            Ok((
                row.try_get("case_id")?,
                Party {
                    kind,
                    value: row.try_get("value")?,
                    display: row.try_get("display")?,
                },
            ))
        })
        .collect()
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
        self.complete_cases(&rows).await
    }

    /// The cases of `rows` (from the cases table), in their order, with their parties and
    /// groups.
    async fn complete_cases(&self, rows: &[AnyRow]) -> Result<Vec<Case>> {
        let ids = rows
            .iter()
            .map(|row| row.try_get("id"))
            .collect::<Result<Vec<String>, _>>()?;
        let mut parties: HashMap<String, Vec<Party>> = HashMap::new();
        let party_rows = self
            .rows_in(
                "SELECT case_id, kind, value, display FROM case_parties WHERE case_id IN ({values})
                 ORDER BY case_id, kind, display",
                &[],
                &ids,
            )
            .await?;
        for r in party_rows {
            let kind: String = r.try_get("kind")?;
            parties
                .entry(r.try_get("case_id")?)
                .or_default()
                .push(Party {
                    kind: PartyKind::parse(&kind)
                        .ok_or_else(|| StoreError::Corrupt(format!("party kind {kind}")))?,
                    value: r.try_get("value")?,
                    display: r.try_get("display")?,
                });
        }
        let mut groups: HashMap<String, Vec<String>> = HashMap::new();
        let group_rows = self
            .rows_in(
                "SELECT case_id, group_name FROM case_groups WHERE case_id IN ({values})
                 ORDER BY case_id, group_name",
                &[],
                &ids,
            )
            .await?;
        for r in group_rows {
            groups
                .entry(r.try_get("case_id")?)
                .or_default()
                .push(r.try_get("group_name")?);
        }
        rows.iter()
            .zip(ids)
            .map(|(row, id)| {
                let status: String = row.try_get("status")?;
                Ok(Case {
                    connector: row.try_get("connector")?,
                    number: row.try_get("number")?,
                    title: row.try_get("title")?,
                    kle: row.try_get("kle")?,
                    facet: row.try_get("facet")?,
                    status: CaseStatus::parse(&status)
                        .ok_or_else(|| StoreError::Corrupt(format!("case status {status}")))?,
                    opened: row.try_get("opened")?,
                    parties: parties.remove(&id).unwrap_or_default(),
                    groups: groups.remove(&id).unwrap_or_default(),
                    id,
                })
            })
            .collect()
    }
}

/// Inserts or replaces a case with its parties and groups inside the caller's transaction.
pub(super) async fn write_case(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    case: &Case,
) -> Result<()> {
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
    .bind(plain(&case.number))
    .bind(plain(&case.title))
    .bind(case.kle.as_deref().map(plain))
    .bind(case.facet.as_deref().map(plain))
    .bind(case.status.as_str())
    .bind(case.opened.as_deref().map(plain))
    .bind(plain(&search_text(case)))
    .bind(now_millis())
    .execute(&mut **tx)
    .await?;
    sqlx::query("DELETE FROM case_parties WHERE case_id = $1")
        .bind(&case.id)
        .execute(&mut **tx)
        .await?;
    for party in &case.parties {
        sqlx::query(
            "INSERT INTO case_parties (case_id, kind, value, display) VALUES ($1, $2, $3, $4)
             ON CONFLICT DO NOTHING",
        )
        .bind(&case.id)
        .bind(party.kind.as_str())
        .bind(plain(&party.value))
        .bind(plain(&party.display))
        .execute(&mut **tx)
        .await?;
    }
    sqlx::query("DELETE FROM case_groups WHERE case_id = $1")
        .bind(&case.id)
        .execute(&mut **tx)
        .await?;
    for group in &case.groups {
        sqlx::query(
            "INSERT INTO case_groups (case_id, group_name) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(&case.id)
        .bind(plain(group))
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{IN_LIST_MAX, test_store};

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
    async fn batched_reads_keep_order_and_span_several_statements() {
        let store = test_store().await;
        let count = IN_LIST_MAX + 3;
        for i in 0..count {
            let mut c = case(&format!("{i:04}"), "Carport", &["byg"]);
            c.parties[0].value = format!("{i:04}@b.example");
            store.upsert_case(&c).await.unwrap();
        }
        let mut ids: Vec<String> = (0..count).rev().map(|i| format!("{i:04}")).collect();
        ids.insert(1, "nowhere".into());
        let cases = store.cases(&ids).await.unwrap();
        let got: Vec<&str> = cases.iter().map(|c| c.id.as_str()).collect();
        let wanted: Vec<&str> = ids
            .iter()
            .map(String::as_str)
            .filter(|id| *id != "nowhere")
            .collect();
        assert_eq!(got, wanted);
        assert!(
            cases
                .iter()
                .all(|c| c.groups == ["byg"] && c.parties.len() == 1)
        );
        assert_eq!(
            cases[0].parties[0].value,
            format!("{:04}@b.example", count - 1)
        );

        let addresses: Vec<String> = (0..count).map(|i| format!("{i:04}@b.example")).collect();
        let by_party = store
            .cases_by_party(PartyKind::Email, &addresses)
            .await
            .unwrap();
        assert_eq!(by_party.len(), count);
        assert!(
            by_party
                .iter()
                .all(|(id, p)| p.value == format!("{id}@b.example"))
        );
        assert!(
            store
                .cases_by_party(PartyKind::Cvr, &addresses)
                .await
                .unwrap()
                .is_empty()
        );

        let numbers = ["02.34.02-g01-0007-26".to_string(), "none".to_string()];
        assert_eq!(
            store.case_ids_by_number(&numbers).await.unwrap(),
            [("0007".to_string(), "02.34.02-G01-0007-26".to_string())]
        );
        assert!(store.case_ids_by_number(&[]).await.unwrap().is_empty());
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
