//! Delivers queued filings through their case's connector, with retries and backoff.

use std::time::Duration;

use rand::Rng;
use tokio_util::sync::CancellationToken;

use crate::config::FilingConfig;
use crate::connector::{
    AttachmentDocument, ConnectorError, Connectors, FiledDocument, FilingRequest, NewVersion,
    Receipt,
};
use crate::domain::filing::{AttachmentMode, Filing};
use crate::domain::now_millis;
use crate::extract::{Attachment, Metadata, attachment_content};
use crate::store::{Store, StoreError, StoredItem};

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
    /// A withdrawn document was taken back from its target (or the target said it cannot be).
    Withdrawn { filing_id: String },
}

#[derive(Clone)]
pub struct Worker {
    pub(super) store: Store,
    pub(super) connectors: Connectors,
    pub(super) config: FilingConfig,
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
            // Each step runs as its own task, so a panic in one delivery is reported and the
            // worker goes on; the filing it held is claimed again when its lease runs out.
            let step = self.clone();
            let pause = match tokio::spawn(async move { step.next_step().await }).await {
                Ok(Ok(Outcome::Empty)) => idle,
                Ok(Ok(_)) => Duration::ZERO,
                Ok(Err(error)) => {
                    tracing::error!(%error, "filing worker could not reach the store");
                    idle * 4
                }
                Err(panic) => {
                    tracing::error!(error = %panic, "a delivery panicked; its filing will be retried");
                    idle
                }
            };
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(pause) => {}
            }
        }
        tracing::info!("filing worker stopped");
    }

    /// One delivery if one is due, else one withdrawal.
    async fn next_step(&self) -> Result<Outcome, StoreError> {
        match self.deliver_next().await? {
            Outcome::Empty => self.withdraw_next().await,
            delivered => Ok(delivered),
        }
    }

    /// Claims one due filing and tries to deliver it.
    #[tracing::instrument(name = "deliver", skip_all, fields(filing))]
    pub async fn deliver_next(&self) -> Result<Outcome, StoreError> {
        let lease = Duration::from_secs(self.config.lease_secs.max(1));
        let lease_ms = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX / 4);
        let Some(filing) = self.store.claim_due_filing(now_millis(), lease_ms).await? else {
            return Ok(Outcome::Empty);
        };
        tracing::Span::current().record("filing", tracing::field::display(&filing.id));
        let filing_id = filing.id.clone();

        // Attempts are counted when claimed, so a filing whose delivery keeps killing the
        // process (or the task) runs out of attempts instead of crash-looping the service.
        let result = if filing.attempts > self.config.max_attempts {
            Err(ConnectorError::Permanent(format!(
                "delivery was interrupted {} times without finishing",
                filing.attempts - 1
            )))
        } else {
            // Give up on a hung target before the lease runs out and another worker steps in.
            let deadline = lease.mul_f64(0.9);
            match tokio::time::timeout(deadline, self.attempt(&filing)).await {
                Ok(result) => result,
                Err(_) => Err(ConnectorError::Transient(format!(
                    "the target did not answer within {} s",
                    deadline.as_secs()
                ))),
            }
        };
        match result {
            Ok(filed) => {
                let confirmed = filed.receipt == Receipt::Filed;
                let document_id = filed.document_id;
                self.store
                    .mark_filed(&filing, &document_id, confirmed)
                    .await?;
                tracing::info!(attempt = filing.attempts, %document_id, confirmed, "filing delivered");
                Ok(Outcome::Delivered {
                    filing_id,
                    document_id,
                })
            }
            Err(ConnectorError::Transient(reason))
                if filing.attempts < self.config.max_attempts =>
            {
                let delay = self.backoff(filing.attempts);
                let next = now_millis() + i64::try_from(delay.as_millis()).unwrap_or(i64::MAX / 4);
                self.store.schedule_retry(&filing, &reason, next).await?;
                tracing::warn!(attempt = filing.attempts, retry_in_s = delay.as_secs(), %reason, "filing delivery failed, will retry");
                Ok(Outcome::Retry { filing_id })
            }
            Err(error) => {
                let reason = error.to_string();
                self.store.mark_failed(&filing, &reason).await?;
                tracing::error!(attempt = filing.attempts, %reason, "filing failed");
                Ok(Outcome::Failed { filing_id })
            }
        }
    }

    /// One delivery attempt. Data the store cannot read back makes the filing fail for good:
    /// retrying would read the same data.
    async fn attempt(&self, filing: &Filing) -> Result<FiledDocument, ConnectorError> {
        let stored = |e: StoreError| match e {
            StoreError::Corrupt(reason) => {
                ConnectorError::Permanent(format!("stored data is unreadable: {reason}"))
            }
            other => ConnectorError::Transient(other.to_string()),
        };
        let case = self
            .store
            .case(&filing.case_id)
            .await
            .map_err(stored)?
            .ok_or_else(|| ConnectorError::Permanent("the case no longer exists".into()))?;
        let item = self.store.item(&filing.item_id).await.map_err(stored)?;
        let content = self
            .store
            .item_original(&filing.item_id)
            .await
            .map_err(stored)?;
        let (Some(item), Some(content)) = (item, content) else {
            return Err(ConnectorError::Permanent(
                "the item's original is no longer kept (deleted under the retention rules)".into(),
            ));
        };
        let connector = self.connectors.get(&case.connector).ok_or_else(|| {
            ConnectorError::Permanent(format!(
                "no connector named {:?} is configured",
                case.connector
            ))
        })?;
        let (content, attachments) = attachment_documents(&item, filing, content).await?;
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
            new_version_of: filing.version_of.clone().map(|document_id| NewVersion {
                document_id,
                version: filing.version,
            }),
        };
        connector.file(request).await
    }

    /// Exponential backoff with ±20 % jitter, so that many filings failing together do not
    /// all come back at the same moment.
    pub(super) fn backoff(&self, attempts: u32) -> Duration {
        backoff(&self.config, attempts)
    }
}

/// Exponential backoff with ±20 % jitter after `attempts` failed attempts, as configured for
/// deliveries; case creations wait the same way.
pub(crate) fn backoff(config: &FilingConfig, attempts: u32) -> Duration {
    let exponent = attempts.saturating_sub(1).min(30);
    let base = config
        .initial_backoff_secs
        .saturating_mul(1u64 << exponent)
        .min(config.max_backoff_secs);
    let jitter = rand::rng().random_range(0.8..1.2);
    Duration::from_secs_f64(base as f64 * jitter)
}

/// The attachments chosen for filing, read out of the original mail on a blocking thread
/// (parsing a large mail is CPU work). Hands the original back with them.
async fn attachment_documents(
    item: &StoredItem,
    filing: &Filing,
    content: Vec<u8>,
) -> Result<(Vec<u8>, Vec<AttachmentDocument>), ConnectorError> {
    let listed: Vec<Attachment> = match &item.extracted.metadata {
        Metadata::Mail(mail) => mail.attachments.clone(),
        Metadata::Document(_) => return Ok((content, Vec::new())),
    };
    let choices = filing.attachments.clone();
    tokio::task::spawn_blocking(move || {
        let mut documents = Vec::new();
        for choice in &choices {
            let Some(info) = listed.get(choice.index) else {
                continue;
            };
            let bytes = match choice.mode {
                AttachmentMode::Skip => Vec::new(),
                _ => {
                    attachment_content(&content, choice.index)
                        .ok_or_else(|| {
                            ConnectorError::Permanent(format!(
                                "attachment {} cannot be read",
                                choice.index
                            ))
                        })?
                        .bytes
                }
            };
            documents.push(AttachmentDocument {
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
        Ok((content, documents))
    })
    .await
    .map_err(|e| ConnectorError::Transient(format!("attachment task failed: {e}")))?
}
