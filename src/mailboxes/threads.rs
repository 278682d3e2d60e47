//! Following a thread from a caseworker's own mailbox in Exchange Online: every `poll_secs`,
//! for each running follow, the later mails of the filed mail's conversation (found by its
//! Message-ID, then by Graph's `conversationId`) are taken in as the caseworker's items and
//! filed on the followed case when the policy's own evidence, the thread, says that case; any
//! other verdict leaves the mail to the caseworker. A follow ends when its case closes or its
//! filing is undone.
//!
//! Each mail is taken once, by its immutable id, recorded as a watched mailbox's mails are.

use std::time::Duration;

use chrono::DateTime;
use reqwest::Url;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::{FILED_CATEGORY, Intakes, keep_watching};
use crate::autofile::{Origin, Verdict};
use crate::config::ThreadsConfig;
use crate::connector::ConnectorError;
use crate::domain::case::CaseStatus;
use crate::extract::Format;
use crate::graph::{AppCredentials, GraphClient, GraphError};
use crate::store::{MailKey, SYSTEM_ACTOR, ThreadFollow};

const PREFER: &str = "IdType=\"ImmutableId\"";

pub struct ThreadFollower {
    graph: GraphClient,
    poll: Duration,
    intakes: Intakes,
}

fn graph_failed(error: GraphError) -> ConnectorError {
    error.into_connector_error()
}

fn stored(error: crate::store::StoreError) -> ConnectorError {
    ConnectorError::Transient(error.to_string())
}

/// The Graph user a signed-in user's mailbox is: the object id of an Entra ID user
/// (`tenant:oid`), else the user id as it stands.
fn mailbox_user(user_id: &str) -> &str {
    user_id.split_once(':').map_or(user_id, |(_, oid)| oid)
}

/// A value for an OData string literal.
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

impl ThreadFollower {
    /// The follower, when `[threads.entra]` is set.
    pub fn new(config: &ThreadsConfig, intakes: Intakes) -> Result<Option<ThreadFollower>, String> {
        let Some(entra) = &config.entra else {
            return Ok(None);
        };
        let credentials = AppCredentials::of(entra)?;
        Ok(Some(ThreadFollower {
            graph: GraphClient::new("threads", &entra.graph_url, credentials, entra.timeout_secs)?,
            poll: Duration::from_secs(config.poll_secs.max(1)),
            intakes,
        }))
    }

    #[tracing::instrument(name = "threads", skip_all)]
    pub async fn run(self, stop: CancellationToken) {
        keep_watching(self.poll, &stop, None, || async {
            self.look().await?;
            tokio::select! {
                _ = stop.cancelled() => {}
                _ = tokio::time::sleep(self.poll) => {}
            }
            Ok(())
        })
        .await;
    }

    /// One look at every running follow; one user's failure does not hold up the others.
    async fn look(&self) -> Result<(), ConnectorError> {
        let follows = self
            .intakes
            .store
            .active_follows(None)
            .await
            .map_err(stored)?;
        for follow in follows {
            if let Err(error) = self.follow(&follow).await {
                tracing::warn!(follow = %follow.id, %error, "a followed thread could not be read");
            }
        }
        Ok(())
    }

    async fn follow(&self, follow: &ThreadFollow) -> Result<(), ConnectorError> {
        let store = &self.intakes.store;
        let case = store.case(&follow.case_id).await.map_err(stored)?;
        if case.is_none_or(|c| c.status == CaseStatus::Closed) {
            store
                .end_follow(follow, SYSTEM_ACTOR, "case_closed")
                .await
                .map_err(stored)?;
            return Ok(());
        }
        let filing = store.filing(&follow.filing_id).await.map_err(stored)?;
        if filing.is_none_or(|f| f.withdrawal.is_some()) {
            store
                .end_follow(follow, SYSTEM_ACTOR, "filing_withdrawn")
                .await
                .map_err(stored)?;
            return Ok(());
        }
        let user = mailbox_user(&follow.user.id);
        let conversation = match &follow.conversation_id {
            Some(conversation) => conversation.clone(),
            None => match self.conversation_of(user, &follow.message_id).await? {
                Some(conversation) => {
                    store
                        .set_follow_conversation(&follow.id, &conversation)
                        .await
                        .map_err(stored)?;
                    conversation
                }
                // Not in the mailbox (yet): looked for again next time.
                None => return Ok(()),
            },
        };
        let mut url = self.graph.url(["users", user, "messages"]);
        url.query_pairs_mut()
            .append_pair(
                "$filter",
                &format!("conversationId eq {}", literal(&conversation)),
            )
            .append_pair("$select", "id,receivedDateTime,categories");
        for message in self.all(url).await? {
            let received = message["receivedDateTime"]
                .as_str()
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.timestamp_millis());
            let (Some(id), Some(received)) = (message["id"].as_str(), received) else {
                continue;
            };
            if received >= follow.since {
                self.take(follow, user, id, &message["categories"]).await?;
            }
        }
        Ok(())
    }

    /// One later mail of the thread: taken once, filed if its thread says the followed case.
    async fn take(
        &self,
        follow: &ThreadFollow,
        user: &str,
        id: &str,
        categories: &Value,
    ) -> Result<(), ConnectorError> {
        let store = &self.intakes.store;
        let place = format!("follow:{}", follow.id);
        let key = MailKey::graph(id);
        if store
            .mailbox_position(&place, &key)
            .await
            .map_err(stored)?
            .is_some_and(|p| p.outcome.is_some())
        {
            return Ok(());
        }
        let message = self.graph.url(["users", user, "messages", id]);
        let mut value = message.clone();
        value
            .path_segments_mut()
            .map_err(|_| ConnectorError::Permanent("threads: graph_url cannot take a path".into()))?
            .push("$value");
        let response = self
            .graph
            .send(|http| http.get(value.clone()).header("prefer", PREFER))
            .await
            .map_err(graph_failed)?;
        let mail = response.bytes().await.map_err(|e| {
            ConnectorError::Transient(format!("threads: reading a mail: {}", e.without_url()))
        })?;
        let received = self
            .intakes
            .intake
            .receive(store, &follow.user.id, mail.clone(), Format::Mail)
            .await;
        let item = match received {
            Ok((item, _)) => item,
            Err(error) => {
                tracing::warn!(%key, %error, "a mail of a followed thread could not be taken in");
                store
                    .take_mailbox_position(&place, &key, &format!("unreadable:{key}"))
                    .await
                    .map_err(stored)?;
                store
                    .decide_mailbox_position(&place, &key, "unreadable")
                    .await
                    .map_err(stored)?;
                return Ok(());
            }
        };
        store
            .take_mailbox_position(&place, &key, &item.id)
            .await
            .map_err(stored)?;
        let policy = &self.intakes.policy;
        let failed = |e: crate::autofile::AutofileError| ConnectorError::Transient(e.to_string());
        let verdict = policy
            .decide(&follow.user, &item, &mail, Origin::Upload)
            .await
            .map_err(failed)?;
        let on_the_case =
            matches!(&verdict, Verdict::File { case_id, .. } if *case_id == follow.case_id);
        let outcome = match on_the_case {
            true => {
                policy
                    .process(&follow.user, &item, &mail, Origin::Upload)
                    .await
                    .map_err(failed)?;
                "filed"
            }
            false => "left",
        };
        store
            .decide_mailbox_position(&place, &key, outcome)
            .await
            .map_err(stored)?;
        tracing::info!(follow = %follow.id, item = %item.id, outcome, "a mail of a followed thread taken");
        if on_the_case {
            let mut categories = categories.as_array().cloned().unwrap_or_default();
            if !categories.iter().any(|c| c == FILED_CATEGORY) {
                categories.push(json!(FILED_CATEGORY));
            }
            let body = json!({"categories": categories});
            self.graph
                .send(|http| {
                    http.patch(message.clone())
                        .header("prefer", PREFER)
                        .json(&body)
                })
                .await
                .map_err(graph_failed)?;
        }
        Ok(())
    }

    /// Graph's conversationId of the mail with this Message-ID in the user's mailbox.
    async fn conversation_of(
        &self,
        user: &str,
        message_id: &str,
    ) -> Result<Option<String>, ConnectorError> {
        let mut url = self.graph.url(["users", user, "messages"]);
        let bracketed = format!("<{}>", message_id.trim_matches(['<', '>']));
        url.query_pairs_mut()
            .append_pair(
                "$filter",
                &format!("internetMessageId eq {}", literal(&bracketed)),
            )
            .append_pair("$select", "id,conversationId");
        let found = self.all(url).await?;
        Ok(found
            .iter()
            .find_map(|m| m["conversationId"].as_str())
            .map(str::to_owned))
    }

    async fn all(&self, url: Url) -> Result<Vec<Value>, ConnectorError> {
        self.graph
            .get_all_preferring(url, Some(PREFER))
            .await
            .map_err(graph_failed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entra_user_is_read_by_object_id() {
        assert_eq!(mailbox_user("vejstrand.onmicrosoft.com:6f1c-aa"), "6f1c-aa");
        assert_eq!(mailbox_user("mette"), "mette");
        assert_eq!(literal("o'hara"), "'o''hara'");
    }
}
