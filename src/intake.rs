//! Receiving an upload: its content hash, de-duplication per user, extraction on a blocking
//! thread, and storage. The API, the demo seeding and the replay all take items in this way.

use std::sync::Arc;

use axum::body::Bytes;
use sha2::{Digest, Sha256};

use crate::extract::{ExtractError, Extractor, Format};
use crate::store::{NewItem, Store, StoreError, StoredItem};

#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    #[error(transparent)]
    Extract(#[from] ExtractError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("extraction task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// Stores what `owner` uploaded, extracting it first. The same bytes from the same owner give
/// the first item back without a second extraction; `created` says which happened.
pub async fn receive(
    store: &Store,
    extractor: &Arc<Extractor>,
    owner: &str,
    bytes: Bytes,
    format: Format,
) -> Result<(StoredItem, bool), IntakeError> {
    let input = bytes.clone();
    let sha256 = tokio::task::spawn_blocking(move || hex::encode(Sha256::digest(&input))).await?;
    if let Some(item) = store.item_by_content(owner, &sha256).await? {
        return Ok((item, false));
    }
    let extractor = extractor.clone();
    let input = bytes.clone();
    let extracted =
        tokio::task::spawn_blocking(move || extractor.extract(&input, format)).await??;
    let item = NewItem {
        owner,
        sha256: &sha256,
        original: &bytes,
        extracted: &extracted,
    };
    Ok(store.insert_item(item).await?)
}
