//! One replayed user's organisation: in-memory store and index, one case per folder.
//!
//! Messages are taken in, suggested for and filed through the same code as the API.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;

use super::EvalError;
use super::metrics::SUGGESTION_LIMIT;
use crate::auth::User;
use crate::autofile::thresholds::UnitThresholds;
use crate::autofile::{Origin, Policy, Question, Verdict};
use crate::config::AutofileConfig;
use crate::connector::ARCHIVE;
use crate::domain::case::CaseInput;
use crate::extract::{Extractor, Format};
use crate::filing::{FilingOrder, accept};
use crate::import::import_cases;
use crate::intake::{Intake, IntakeError};
use crate::store::{Store, StoredItem};
use crate::suggest::{SearchIndex, Suggester, Suggestion};

pub struct Organisation {
    store: Store,
    index: Arc<SearchIndex>,
    /// Where on PostgreSQL the store is, when it is there.
    schema: Option<Schema>,
    suggester: Suggester,
    policy: Policy,
    user: User,
}

impl Organisation {
    /// A store and index in memory, so that the replay measures the ranker rather than disk
    /// syncs, or with `server` (a `postgres://` URL) the store in a schema of its own there,
    /// dropped at `close`; holding one open case per folder.
    pub async fn open(
        user: &str,
        folders: &[String],
        case_titles: bool,
        extractor: &Arc<Extractor>,
        server: Option<&str>,
    ) -> Result<Organisation, EvalError> {
        let cpr_hasher = &extractor.cpr_hasher;
        let schema = match server {
            Some(server) => Some(Schema::create(server).await?),
            None => None,
        };
        let store = match &schema {
            Some(schema) => Store::open(&schema.store_url()).await?,
            None => Store::open("sqlite::memory:").await?,
        };
        let index = Arc::new(SearchIndex::in_memory()?);
        import_cases(
            &store,
            &index,
            cpr_hasher,
            ARCHIVE,
            case_inputs(folders, case_titles),
            crate::import::Parties::Replace,
            false,
        )
        .await?;
        let suggester = Suggester::open(store.clone(), index.clone(), None).await?;
        Ok(Organisation {
            policy: Policy::new(
                store.clone(),
                suggester.clone(),
                extractor.clone(),
                AutofileConfig::default(),
                Vec::new(),
            ),
            suggester,
            store,
            index,
            schema,
            user: User {
                id: user.to_string(),
                name: user.to_string(),
                groups: Vec::new(),
                admin: false,
            },
        })
    }

    /// Reads a mail and takes it in as `POST /api/v1/items` does. `None` (with a warning)
    /// when it cannot be read as a mail in time: the message is skipped.
    pub async fn receive(
        &self,
        intake: &Intake,
        path: &Path,
    ) -> Result<Option<(StoredItem, Bytes)>, EvalError> {
        let bytes = Bytes::from(std::fs::read(path).map_err(|source| EvalError::Read {
            path: path.display().to_string(),
            source,
        })?);
        match intake
            .receive(&self.store, &self.user.id, bytes.clone(), Format::Mail)
            .await
        {
            Ok((item, _)) => Ok(Some((item, bytes))),
            Err(error @ (IntakeError::Extract(_) | IntakeError::TimedOut(_))) => {
                tracing::warn!(path = %path.display(), %error, "message skipped");
                Ok(None)
            }
            Err(error) => Err(error.into()),
        }
    }

    /// The suggestions for an item and how long the ranker took; what was shown is recorded
    /// as the suggestions endpoint does, so that the filing's feedback row is the real one.
    pub async fn suggest(
        &self,
        item: &StoredItem,
    ) -> Result<(Vec<Suggestion>, Duration), EvalError> {
        let started = Instant::now();
        let suggestions = self
            .suggester
            .suggest(item, &self.user.groups, SUGGESTION_LIMIT)
            .await?;
        let took = started.elapsed();
        let shown: Vec<_> = suggestions.iter().map(Suggestion::shown).collect();
        self.store
            .record_shown(&item.id, &self.user.id, &shown)
            .await?;
        Ok((suggestions, took))
    }

    /// The case the auto-journalisation policy would file `item` on by itself, at the default
    /// settings with `threshold` for the ranker's evidence, given the first suggestion.
    pub async fn autofile(
        &self,
        item: &StoredItem,
        original: &[u8],
        threshold: Option<f64>,
        first: Option<(&str, f64)>,
    ) -> Result<Option<String>, EvalError> {
        let settings = AutofileConfig {
            confidence_threshold: threshold,
            ..AutofileConfig::default()
        };
        let question = Question {
            owner: &self.user,
            item,
            original,
            origin: Origin::Upload,
        };
        let verdict = self
            .policy
            .decide_under(question, &[], &settings, &UnitThresholds::default(), first)
            .await?;
        Ok(match verdict {
            Verdict::File { case_id, .. } => Some(case_id),
            _ => None,
        })
    }

    /// Files an item on its folder's case as a user's click does.
    pub async fn file(&self, item: &StoredItem, case_id: &str) -> Result<(), EvalError> {
        let order = FilingOrder {
            item_id: &item.id,
            case_id,
            title: None,
            attachments: &[],
        };
        accept(&self.store, &self.suggester, &self.user, order).await?;
        Ok(())
    }

    /// Commits what the step's filings added to the index, as the server's timer does between
    /// requests, so that no suggestion pays for a commit.
    pub async fn settle(&self) -> Result<(), EvalError> {
        let index = self.index.clone();
        tokio::task::spawn_blocking(move || index.commit_if_pending())
            .await
            .map_err(crate::suggest::SuggestError::from)??;
        Ok(())
    }

    /// The ranker's weights as they stand, by feature.
    pub fn weights(&self) -> Result<BTreeMap<String, f64>, EvalError> {
        Ok(self.suggester.model()?.state().weights)
    }

    pub async fn close(self) {
        self.store.close().await;
        if let Some(schema) = self.schema {
            schema.drop().await;
        }
    }
}

/// A schema of its own on a PostgreSQL server, for one replayed organisation's store.
struct Schema {
    server: String,
    name: String,
}

impl Schema {
    async fn create(server: &str) -> Result<Schema, EvalError> {
        use sqlx::{Connection, Executor};
        if !server.starts_with("postgres://") && !server.starts_with("postgresql://") {
            return Err(EvalError::StoreUrl(crate::store::redacted_url(server)));
        }
        let name = format!("replay_{}", uuid::Uuid::new_v4().simple());
        let mut connection = sqlx::PgConnection::connect(server)
            .await
            .map_err(crate::store::StoreError::from)?;
        connection
            .execute(format!("CREATE SCHEMA {name}").as_str())
            .await
            .map_err(crate::store::StoreError::from)?;
        connection
            .close()
            .await
            .map_err(crate::store::StoreError::from)?;
        Ok(Schema {
            server: server.to_string(),
            name,
        })
    }

    /// The server's URL with the schema first on the search path, where the migrations make
    /// the tables.
    fn store_url(&self) -> String {
        let separator = if self.server.contains('?') { '&' } else { '?' };
        format!(
            "{}{separator}options=-c%20search_path%3D{}",
            self.server, self.name
        )
    }

    async fn drop(self) {
        use sqlx::{Connection, Executor};
        let dropped = async {
            let mut connection = sqlx::PgConnection::connect(&self.server).await?;
            connection
                .execute(format!("DROP SCHEMA {} CASCADE", self.name).as_str())
                .await?;
            connection.close().await
        };
        if let Err(error) = dropped.await {
            tracing::warn!(schema = %self.name, %error, "the replay's schema could not be dropped");
        }
    }
}

/// One open case per folder: id = folder name, number = its position among the sorted folders
/// (`001`, …), title = the folder name with `_` as spaces, or with `case_titles` off the number
/// again. Numbers alone never match text (pure numbers are not query terms); a word such as
/// "case" in every title would make each mail using it match every case a little.
fn case_inputs(folders: &[String], case_titles: bool) -> Vec<CaseInput> {
    folders
        .iter()
        .enumerate()
        .map(|(i, folder)| {
            let number = format!("{:03}", i + 1);
            let words: Vec<&str> = folder.split('_').filter(|w| !w.is_empty()).collect();
            let title = match case_titles {
                true if !words.is_empty() => words.join(" "),
                true => folder.clone(),
                false => number.clone(),
            };
            CaseInput::plain(folder.clone(), number, title)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_become_cases_with_opaque_titles_on_request() {
        let folders = ["apollo__beth".to_string(), "europe".to_string()];
        let titled = case_inputs(&folders, true);
        assert_eq!(
            (titled[0].id.as_str(), titled[0].number.as_str()),
            ("apollo__beth", "001")
        );
        assert_eq!(titled[0].title, "apollo beth");
        let opaque = case_inputs(&folders, false);
        assert_eq!(opaque[1].title, "002");
        assert!(opaque.iter().all(|c| !c.title.contains("europe")));
    }
}
