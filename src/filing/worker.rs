//! Delivers queued filings through their case's connector, with retries and backoff.

use std::time::Duration;

use rand::Rng;
use tokio_util::sync::CancellationToken;

use crate::config::FilingConfig;
use crate::connector::{AttachmentDocument, ConnectorError, Connectors, FilingRequest};
use crate::domain::filing::{AttachmentMode, Filing};
use crate::domain::now_millis;
use crate::extract::{ItemKind, attachment_content};
use crate::store::{Store, StoreError};

/// What one step of the worker did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing was due.
    Empty,
    Delivered {
        filing_id: String,
        document_id: String,
    },
    /// Delivery failed for now and is scheduled again.
    Retry { filing_id: String },
    /// Delivery failed for good.
    Failed { filing_id: String },
}

#[derive(Clone)]
pub struct Worker {
    store: Store,
    connectors: Connectors,
    config: FilingConfig,
}

impl Worker {
    pub fn new(store: Store, connectors: Connectors, config: FilingConfig) -> Worker {
        Worker {
            store,
            connectors,
            config,
        }
    }

    /// Delivers due filings until `shutdown` is cancelled. A delivery in progress is finished
    /// first; one cut short by a crash is claimed again when its lease runs out.
    pub async fn run(self, shutdown: CancellationToken) {
        let idle = Duration::from_millis(self.config.poll_interval_ms);
        loop {
            let pause = match self.deliver_next().await {
                Ok(Outcome::Empty) => idle,
                Ok(_) => Duration::ZERO,
                Err(error) => {
                    tracing::error!(%error, "filing worker could not reach the store");
                    idle * 4
                }
            };
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(pause) => {}
            }
        }
        tracing::info!("filing worker stopped");
    }

    /// Claims one due filing and tries to deliver it.
    #[tracing::instrument(name = "deliver", skip_all, fields(filing))]
    pub async fn deliver_next(&self) -> Result<Outcome, StoreError> {
        let lease_ms =
            i64::try_from(self.config.lease_secs.saturating_mul(1000)).unwrap_or(i64::MAX / 4);
        let Some(filing) = self.store.claim_due_filing(now_millis(), lease_ms).await? else {
            return Ok(Outcome::Empty);
        };
        tracing::Span::current().record("filing", tracing::field::display(&filing.id));
        let filing_id = filing.id.clone();
        match self.attempt(&filing).await? {
            Ok(document_id) => {
                self.store.mark_filed(&filing.id, &document_id).await?;
                tracing::info!(attempt = filing.attempts, %document_id, "filing delivered");
                Ok(Outcome::Delivered {
                    filing_id,
                    document_id,
                })
            }
            Err(ConnectorError::Transient(reason))
                if filing.attempts < self.config.max_attempts =>
            {
                let delay = self.backoff(filing.attempts);
                self.store
                    .schedule_retry(&filing.id, &reason, now_millis() + delay.as_millis() as i64)
                    .await?;
                tracing::warn!(attempt = filing.attempts, retry_in_s = delay.as_secs(), %reason, "filing delivery failed, will retry");
                Ok(Outcome::Retry { filing_id })
            }
            Err(error) => {
                let reason = error.to_string();
                self.store.mark_failed(&filing.id, &reason).await?;
                tracing::error!(attempt = filing.attempts, %reason, "filing failed");
                Ok(Outcome::Failed { filing_id })
            }
        }
    }

    /// One delivery attempt. The outer error is the store's; the inner one the target's.
    async fn attempt(&self, filing: &Filing) -> Result<Result<String, ConnectorError>, StoreError> {
        let Some(case) = self.store.case(&filing.case_id).await? else {
            return Ok(Err(ConnectorError::Permanent(
                "the case no longer exists".into(),
            )));
        };
        let (Some(item), Some(content)) = (
            self.store.item(&filing.item_id).await?,
            self.store.item_original(&filing.item_id).await?,
        ) else {
            return Ok(Err(ConnectorError::Permanent(
                "the item to file no longer exists".into(),
            )));
        };
        let Some(connector) = self.connectors.get(&case.connector) else {
            return Ok(Err(ConnectorError::Permanent(format!(
                "no connector named {:?} is configured",
                case.connector
            ))));
        };
        let mut attachments = Vec::new();
        if item.kind == ItemKind::Mail {
            let listed = match &item.extracted.metadata {
                crate::extract::Metadata::Mail(mail) => mail.attachments.clone(),
                crate::extract::Metadata::Document(_) => Vec::new(),
            };
            for choice in &filing.attachments {
                let Some(info) = listed.get(choice.index) else {
                    continue;
                };
                let bytes = match choice.mode {
                    AttachmentMode::Skip => Vec::new(),
                    _ => match attachment_content(&content, choice.index) {
                        Some(found) => found.bytes,
                        None => {
                            return Ok(Err(ConnectorError::Permanent(format!(
                                "attachment {} cannot be read",
                                choice.index
                            ))));
                        }
                    },
                };
                attachments.push(AttachmentDocument {
                    index: choice.index,
                    mode: choice.mode,
                    name: info
                        .name
                        .clone()
                        .unwrap_or_else(|| format!("bilag-{}", choice.index + 1)),
                    content_type: info.content_type.clone(),
                    content: bytes,
                    text: info.text.clone(),
                });
            }
        }
        let request = FilingRequest {
            idempotency_key: filing.id.clone(),
            accepted_at: chrono::DateTime::from_timestamp_millis(filing.created_at)
                .unwrap_or_default(),
            case,
            title: filing.title.clone(),
            kind: item.kind,
            content_type: item.content_type.clone(),
            content,
            text: item.extracted.text.clone(),
            metadata: serde_json::to_value(&item.extracted.metadata).unwrap_or_default(),
            attachments,
            filed_by: filing.created_by.clone(),
        };
        Ok(connector.file(request).await.map(|filed| filed.document_id))
    }

    /// Exponential backoff with ±20 % jitter, so that many filings failing together do not
    /// all come back at the same moment.
    fn backoff(&self, attempts: u32) -> Duration {
        let exponent = attempts.saturating_sub(1).min(30);
        let base = self
            .config
            .initial_backoff_secs
            .saturating_mul(1u64 << exponent)
            .min(self.config.max_backoff_secs);
        let jitter = rand::rng().random_range(0.8..1.2);
        Duration::from_secs_f64(base as f64 * jitter)
    }
}
