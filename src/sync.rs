//! Case sync: brings the cases of every connector instance that can list them into the store
//! and the index, on a schedule and when an admin asks.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::connector::Connectors;
use crate::domain::identifiers::CprHasher;
use crate::import::{ImportError, Parties, store_case};
use crate::store::Store;
use crate::suggest::SearchIndex;

/// What one sync did at one connector instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InstanceSync {
    pub connector: String,
    /// Cases the target listed.
    pub listed: usize,
    /// Of those, the ones new to the store or changed since the last sync.
    pub changed: usize,
    /// Cases the target listed that could not be taken in (an empty number, say), by id with
    /// the reason; the others are synced regardless.
    pub rejected: Vec<String>,
    /// Why the instance could not be synced at all; it is tried again at the next sync.
    pub error: Option<String>,
}

#[derive(Clone)]
pub struct CaseSync {
    store: Store,
    index: Arc<SearchIndex>,
    hasher: CprHasher,
    connectors: Connectors,
    /// A sync asked for while another runs waits for it, rather than listing twice at once.
    running: Arc<tokio::sync::Mutex<()>>,
}

impl CaseSync {
    pub fn new(
        store: Store,
        index: Arc<SearchIndex>,
        hasher: CprHasher,
        connectors: Connectors,
    ) -> CaseSync {
        CaseSync {
            store,
            index,
            hasher,
            connectors,
            running: Arc::default(),
        }
    }

    /// Syncs every instance that can list its cases. A target that is down is reported and
    /// does not stop the others.
    pub async fn sync_all(&self) -> Vec<InstanceSync> {
        let _only_one = self.running.lock().await;
        let mut report = Vec::new();
        for (name, connector) in self.connectors.iter() {
            if !connector.capabilities().list_cases {
                continue;
            }
            let mut sync = InstanceSync {
                connector: name.to_string(),
                listed: 0,
                changed: 0,
                rejected: Vec::new(),
                error: None,
            };
            match connector.list_cases().await {
                Ok(inputs) => {
                    sync.listed = inputs.len();
                    if let Err(error) = self.take_in(name, inputs, &mut sync).await {
                        sync.error = Some(error.to_string());
                    }
                }
                Err(error) => sync.error = Some(error.to_string()),
            }
            match &sync.error {
                Some(error) => tracing::warn!(connector = name, %error, "case sync failed"),
                None => tracing::info!(
                    connector = name,
                    listed = sync.listed,
                    changed = sync.changed,
                    rejected = sync.rejected.len(),
                    "cases synced"
                ),
            }
            report.push(sync);
        }
        report
    }

    async fn take_in(
        &self,
        connector: &str,
        inputs: Vec<crate::domain::case::CaseInput>,
        sync: &mut InstanceSync,
    ) -> Result<(), ImportError> {
        for input in inputs {
            let id = input.id.clone();
            let mut case = match input.into_case(connector, &self.hasher) {
                Ok(case) => case,
                Err(error) => {
                    sync.rejected.push(format!("{id}: {error}"));
                    continue;
                }
            };
            // A case ordered here and made by a target that gives ids of its own is listed
            // under the target's id: it is the ordered case, not another.
            if self.store.case(&case.id).await?.is_none()
                && let Some(ordered) = self
                    .store
                    .created_case_numbered(connector, &case.number)
                    .await?
            {
                case.id = ordered;
            }
            // The same id listed by a second instance is another system's case of that name:
            // taking it over would send its filings to the wrong records system.
            if let Some(known) = self.store.case(&case.id).await?
                && known.connector != connector
            {
                sync.rejected.push(format!(
                    "{id}: the case belongs to the connector {:?}",
                    known.connector
                ));
                continue;
            }
            if store_case(&self.store, &self.index, &mut case, Parties::Merge).await? {
                sync.changed += 1;
            }
        }
        if sync.changed > 0 {
            self.index.commit()?;
        }
        Ok(())
    }

    /// Syncs shortly after the start and then every `interval`, until `shutdown`.
    pub async fn run(self, interval: Duration, shutdown: CancellationToken) {
        let mut next = Duration::from_secs(10).min(interval);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(next) => {}
            }
            self.sync_all().await;
            next = interval;
        }
    }
}
