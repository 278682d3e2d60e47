//! Keeping personal data no longer than needed: uploads never filed are deleted, and the
//! originals of filed items are dropped once every filing of them is delivered.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::config::PrivacyConfig;
use crate::domain::Millis;
use crate::store::{Store, StoreError};

/// What one sweep removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Swept {
    pub unfiled_items_deleted: u64,
    pub originals_dropped: u64,
}

/// Applies the retention rules as of `now`.
pub async fn sweep(
    store: &Store,
    config: &PrivacyConfig,
    now: Millis,
) -> Result<Swept, StoreError> {
    let hours = |h: u64| i64::try_from(h.saturating_mul(3_600_000)).unwrap_or(i64::MAX / 2);
    Ok(Swept {
        unfiled_items_deleted: store
            .delete_unfiled_items(now - hours(config.unfiled_item_hours))
            .await?,
        originals_dropped: store
            .purge_filed_originals(now - hours(config.filed_original_hours))
            .await?,
    })
}

/// Sweeps now and then every ten minutes until `shutdown`.
pub async fn run(store: Store, config: PrivacyConfig, shutdown: CancellationToken) {
    loop {
        match sweep(&store, &config, crate::domain::now_millis()).await {
            Ok(swept) if swept != Swept::default() => tracing::info!(
                unfiled_items_deleted = swept.unfiled_items_deleted,
                originals_dropped = swept.originals_dropped,
                "retention sweep"
            ),
            Ok(_) => {}
            Err(error) => tracing::error!(%error, "retention sweep failed; trying again later"),
        }
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tokio::time::sleep(Duration::from_secs(600)) => {}
        }
    }
}
