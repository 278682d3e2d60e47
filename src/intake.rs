//! Receiving an upload: its content hash, de-duplication per user, extraction on a blocking
//! thread within a time limit and a limit on concurrent extractions, and storage. The API and
//! the demo seeding take items in this way.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

use crate::extract::{ExtractError, Extractor, Format};
use crate::store::{NewItem, Store, StoreError, StoredItem};

#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    #[error(transparent)]
    Extract(#[from] ExtractError),
    #[error("the file could not be read within {0} seconds")]
    TimedOut(u64),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("extraction task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

#[derive(Clone)]
pub struct Intake {
    extractor: Arc<Extractor>,
    slots: Arc<Semaphore>,
    timeout: Duration,
}

impl Intake {
    pub fn new(extractor: Arc<Extractor>, max_concurrent: usize, timeout: Duration) -> Intake {
        Intake {
            extractor,
            slots: Arc::new(Semaphore::new(max_concurrent.max(1))),
            timeout,
        }
    }

    /// Stores what `owner` uploaded, extracting it first. The same bytes from the same owner
    /// give the first item back without a second extraction; the flag says which happened.
    pub async fn receive(
        &self,
        store: &Store,
        owner: &str,
        bytes: Bytes,
        format: Format,
    ) -> Result<(StoredItem, bool), IntakeError> {
        let input = bytes.clone();
        let sha256 =
            tokio::task::spawn_blocking(move || hex::encode(Sha256::digest(&input))).await?;
        if let Some(mut item) = store.item_by_content(owner, &sha256).await? {
            if item.original_purged {
                // Uploaded again after its original was dropped: the bytes are wanted again.
                store.restore_original(&item.id, &bytes).await?;
                item.original_purged = false;
            }
            return Ok((item, false));
        }
        let slot = self
            .slots
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| IntakeError::TimedOut(0))?;
        let extractor = self.extractor.clone();
        let input = bytes.clone();
        // The slot travels with the work: a file given up on below still holds it until its
        // thread is done, because a blocking thread cannot be stopped.
        let work = tokio::task::spawn_blocking(move || {
            let extracted = extractor.extract(&input, format);
            drop(slot);
            extracted
        });
        let extracted = match tokio::time::timeout(self.timeout, work).await {
            Ok(joined) => joined??,
            Err(_) => return Err(IntakeError::TimedOut(self.timeout.as_secs())),
        };
        let item = NewItem {
            owner,
            sha256: &sha256,
            original: &bytes,
            extracted: &extracted,
        };
        Ok(store.insert_item(item).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ExtractConfig;
    use crate::domain::identifiers::{CprHasher, IdentifierPatterns};

    fn intake_within(timeout: Duration) -> Intake {
        let extractor = Extractor {
            patterns: IdentifierPatterns::new(&ExtractConfig::default().journal_number_patterns)
                .unwrap(),
            cpr_hasher: CprHasher::new(b"key"),
            max_depth: 5,
        };
        Intake::new(Arc::new(extractor), 1, timeout)
    }

    #[tokio::test]
    async fn the_same_upload_is_one_item_and_a_slow_one_is_refused() {
        let store = crate::store::test_store().await;
        let intake = intake_within(Duration::from_secs(30));
        let note = Bytes::from_static(b"Et notat om vejbump");
        let (first, created) = intake
            .receive(&store, "anna", note.clone(), Format::Text)
            .await
            .unwrap();
        assert!(created);
        let (again, created) = intake
            .receive(&store, "anna", note.clone(), Format::Text)
            .await
            .unwrap();
        assert!(!created);
        assert_eq!(again.id, first.id);
        let (other, created) = intake
            .receive(&store, "bo", note, Format::Text)
            .await
            .unwrap();
        assert!(created, "items belong to their uploader");
        assert_ne!(other.id, first.id);

        let slow = intake_within(Duration::from_nanos(1));
        let large = Bytes::from("ord ".repeat(2_000_000));
        let refused = slow
            .receive(&store, "anna", large, Format::Text)
            .await
            .unwrap_err();
        assert!(matches!(refused, IntakeError::TimedOut(_)), "{refused}");
    }
}
