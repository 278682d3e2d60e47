//! One functional mailbox in Exchange Online, watched through Microsoft Graph as the app
//! (`Mail.ReadWrite` application permission): a delta query on the watched folder every
//! `poll_secs`, each new mail's MIME by `$value`, then a category and a move.
//!
//! Each mail is named by its immutable id (`Prefer: IdType="ImmutableId"`), which a move does
//! not change, and recorded in the store before and after it is decided, as over IMAP. The
//! delta link is saved only once every mail of its pages was handled, so a crash reads the
//! last pages again and finds each mail already taken.

use std::time::Duration;

use reqwest::Url;
use serde_json::{Value, json};
use tokio::sync::OnceCell;
use tokio_util::sync::CancellationToken;

use super::{FILED_CATEGORY, Intakes, Looks, REVIEW_CATEGORY, keep_watching};
use crate::autofile::MailboxPolicy;
use crate::config::{EntraAppConfig, MailboxConfig};
use crate::connector::ConnectorError;
use crate::graph::{AppCredentials, GraphClient, GraphError};
use crate::store::MailKey;

/// Folders Graph knows by name in every mailbox (a subset: those one would watch).
const WELL_KNOWN: [&str; 4] = ["inbox", "archive", "junkemail", "sentitems"];
/// What every request asks for: ids that survive a move, and delta pages of 50 mails, so
/// that a large backlog is saved as read page by page.
const PREFER: &str = "IdType=\"ImmutableId\", odata.maxpagesize=50";

pub struct GraphWatcher {
    name: String,
    /// The mailbox's address (or its user id).
    user: String,
    folder: String,
    processed: String,
    poll: Duration,
    graph: GraphClient,
    /// The two folders' ids, looked up once.
    folders: OnceCell<(String, String)>,
    policy: MailboxPolicy,
    intakes: Intakes,
}

fn graph_failed(error: GraphError) -> ConnectorError {
    error.into_connector_error()
}

fn stored(error: crate::store::StoreError) -> ConnectorError {
    ConnectorError::Transient(error.to_string())
}

impl GraphWatcher {
    pub fn new(
        config: &MailboxConfig,
        entra: &EntraAppConfig,
        policy: MailboxPolicy,
        intakes: Intakes,
    ) -> Result<GraphWatcher, String> {
        let credentials = AppCredentials::of(entra)?;
        Ok(GraphWatcher {
            name: config.name.clone(),
            user: config.username.clone(),
            folder: config.folder.clone(),
            processed: config.processed_folder.clone(),
            poll: Duration::from_secs(config.poll_secs.max(1)),
            graph: GraphClient::new("mailbox", &entra.graph_url, credentials, entra.timeout_secs)?,
            folders: OnceCell::new(),
            policy,
            intakes,
        })
    }

    /// Looks every `poll` until `stop`; a failed look is tried again after a pause.
    #[tracing::instrument(name = "mailbox", skip_all, fields(mailbox = %self.name))]
    pub async fn run(self: std::sync::Arc<Self>, stop: CancellationToken) {
        let looks = Looks {
            store: &self.intakes.store,
            mailbox: &self.name,
        };
        keep_watching(self.poll, &stop, Some(&looks), || async {
            self.look(&stop).await?;
            looks.looked().await;
            tokio::select! {
                _ = stop.cancelled() => {}
                _ = tokio::time::sleep(self.poll) => {}
            }
            Ok(())
        })
        .await;
    }

    /// Reads the folder's changes since the saved delta link, and handles each new mail.
    async fn look(&self, stop: &CancellationToken) -> Result<(), ConnectorError> {
        let (watched, processed) = self
            .folders
            .get_or_try_init(|| async {
                let watched = self.folder_id(&self.folder, false).await?;
                let processed = self.folder_id(&self.processed, true).await?;
                Ok::<_, ConnectorError>((watched, processed))
            })
            .await?;
        let store = &self.intakes.store;
        let saved = store
            .mailbox_resume_point(&self.name)
            .await
            .map_err(stored)?;
        let mut next = match saved.as_deref().map(Url::parse) {
            Some(Ok(link)) if self.graph.is_graph_url(&link) => link,
            _ => self.first_delta(watched),
        };
        loop {
            let page = match self.page(&next).await {
                Ok(page) => page,
                Err(error) if error.is(reqwest::StatusCode::GONE) => {
                    // The server forgot where the reading stood: read the folder anew; each
                    // mail already taken is found in the store.
                    tracing::info!("the delta link expired; reading the folder anew");
                    store
                        .forget_mailbox_resume_point(&self.name)
                        .await
                        .map_err(stored)?;
                    next = self.first_delta(watched);
                    continue;
                }
                Err(error) => return Err(graph_failed(error)),
            };
            for message in page["value"].as_array().into_iter().flatten() {
                if message.get("@removed").is_some() {
                    continue;
                }
                let Some(id) = message["id"].as_str() else {
                    continue;
                };
                let categories = message["categories"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                self.handle(id, categories, processed).await?;
            }
            let link = page["@odata.nextLink"]
                .as_str()
                .or_else(|| page["@odata.deltaLink"].as_str())
                .and_then(|link| Url::parse(link).ok())
                .filter(|link| self.graph.is_graph_url(link));
            let Some(link) = link else {
                return Err(ConnectorError::Transient(
                    "mailbox: the delta answer named no next or delta link on Graph".into(),
                ));
            };
            store
                .save_mailbox_resume_point(&self.name, link.as_str())
                .await
                .map_err(stored)?;
            if page.get("@odata.deltaLink").is_some() || stop.is_cancelled() {
                return Ok(());
            }
            next = link;
        }
    }

    fn first_delta(&self, folder: &str) -> Url {
        let mut url = self.graph.url([
            "users",
            self.user.as_str(),
            "mailFolders",
            folder,
            "messages",
            "delta",
        ]);
        url.query_pairs_mut()
            .append_pair("$select", "id,categories");
        url
    }

    async fn page(&self, url: &Url) -> Result<Value, GraphError> {
        let response = self
            .graph
            .send(|http| http.get(url.clone()).header("prefer", PREFER))
            .await?;
        self.graph.json(response).await
    }

    /// One mail: taken (once), then given its category and moved.
    async fn handle(
        &self,
        id: &str,
        categories: Vec<Value>,
        processed: &str,
    ) -> Result<(), ConnectorError> {
        let key = MailKey::graph(id);
        let store = &self.intakes.store;
        let position = store
            .mailbox_position(&self.name, &key)
            .await
            .map_err(stored)?;
        let outcome = match position.and_then(|p| p.outcome) {
            Some(outcome) => outcome,
            None => {
                let Some(mail) = self.mime(id).await? else {
                    return Ok(());
                };
                self.intakes.take(&self.policy, &key, mail).await?
            }
        };
        let category = match outcome.as_str() {
            "filed" => FILED_CATEGORY,
            "queued" => REVIEW_CATEGORY,
            _ => return Ok(()),
        };
        let message = self
            .graph
            .url(["users", self.user.as_str(), "messages", id]);
        let mut categories = categories;
        if !categories.iter().any(|c| c == category) {
            categories.push(json!(category));
        }
        let body = json!({"categories": categories});
        let marked = self
            .graph
            .send(|http| {
                http.patch(message.clone())
                    .header("prefer", PREFER)
                    .json(&body)
            })
            .await;
        match marked {
            Ok(_) => {}
            // Moved or deleted by a person meanwhile: it was handled, and is gone from here.
            Err(error) if error.is(reqwest::StatusCode::NOT_FOUND) => return Ok(()),
            Err(error) => return Err(graph_failed(error)),
        }
        let mut move_url = message.clone();
        move_url
            .path_segments_mut()
            .map_err(|_| ConnectorError::Permanent("mailbox: graph_url cannot take a path".into()))?
            .push("move");
        let destination = json!({"destinationId": processed});
        let moved = self
            .graph
            .send(|http| {
                http.post(move_url.clone())
                    .header("prefer", PREFER)
                    .json(&destination)
            })
            .await;
        match moved {
            Ok(_) => Ok(()),
            Err(error) if error.is(reqwest::StatusCode::NOT_FOUND) => Ok(()),
            Err(error) => Err(graph_failed(error)),
        }
    }

    /// The mail's MIME, or `None` when it is gone (deleted between the delta and now).
    async fn mime(&self, id: &str) -> Result<Option<Vec<u8>>, ConnectorError> {
        let url = self
            .graph
            .url(["users", self.user.as_str(), "messages", id, "$value"]);
        let answer = self
            .graph
            .send(|http| http.get(url.clone()).header("prefer", PREFER))
            .await;
        let response = match answer {
            Ok(response) => response,
            Err(error) if error.is(reqwest::StatusCode::NOT_FOUND) => {
                tracing::info!(%id, "a mail went away before it was read");
                return Ok(None);
            }
            Err(error) => return Err(graph_failed(error)),
        };
        let bytes = response.bytes().await.map_err(|e| {
            ConnectorError::Transient(format!("mailbox: reading a mail: {}", e.without_url()))
        })?;
        Ok(Some(bytes.to_vec()))
    }

    /// A folder's id: a well-known name as it is, a top folder by its name (made when
    /// `create` and missing).
    async fn folder_id(&self, name: &str, create: bool) -> Result<String, ConnectorError> {
        if let Some(known) = WELL_KNOWN.iter().find(|k| k.eq_ignore_ascii_case(name)) {
            return Ok(known.to_string());
        }
        let folders = self.graph.url(["users", self.user.as_str(), "mailFolders"]);
        let mut lookup = folders.clone();
        lookup.query_pairs_mut().append_pair(
            "$filter",
            &format!("displayName eq '{}'", name.replace('\'', "''")),
        );
        let found = |answer: Value| {
            answer["value"]
                .as_array()
                .and_then(|v| v.first())
                .and_then(|f| f["id"].as_str())
                .map(str::to_owned)
        };
        if let Some(id) = found(self.graph.get_json(&lookup).await.map_err(graph_failed)?) {
            return Ok(id);
        }
        if !create {
            return Err(ConnectorError::Permanent(format!(
                "mailbox: the folder {name:?} is not in {}",
                self.user
            )));
        }
        let body = json!({"displayName": name});
        match self
            .graph
            .send(|http| http.post(folders.clone()).json(&body))
            .await
        {
            Ok(response) => {
                let made = self.graph.json(response).await.map_err(graph_failed)?;
                made["id"].as_str().map(str::to_owned).ok_or_else(|| {
                    ConnectorError::Transient("mailbox: a made folder came without an id".into())
                })
            }
            // Made meanwhile by someone else.
            Err(error) if error.is(reqwest::StatusCode::CONFLICT) => {
                found(self.graph.get_json(&lookup).await.map_err(graph_failed)?).ok_or_else(|| {
                    ConnectorError::Transient(format!("mailbox: the folder {name:?} vanished"))
                })
            }
            Err(error) => Err(graph_failed(error)),
        }
    }
}
