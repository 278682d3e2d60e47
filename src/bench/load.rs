//! The bulk load: the organisation's cases, then its past mails, through the real extraction,
//! the store's batch path for past filings, the index and the ranker memory.

use std::collections::HashMap;
use std::time::Instant;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use sha2::{Digest, Sha256};

use super::corpus::Organisation;
use crate::connector::ARCHIVE;
use crate::domain::case::Case;
use crate::extract::{Format, Metadata};
use crate::import::{Parties, store_case};
use crate::server::Services;
use crate::store::PastFiling;

/// Mails stored in one transaction.
const BATCH: usize = 1_000;

pub struct Loaded {
    pub cases: Vec<Case>,
    pub documents: usize,
    /// Seconds the documents took, from their bytes to committed in store and index.
    pub seconds: f64,
}

/// Stores and indexes the cases, then `documents` mails filed on them, committing the index
/// once at the end (as a bulk load can).
pub async fn load(
    services: &Services,
    organisation: &mut Organisation,
    documents: usize,
    progress: bool,
) -> anyhow::Result<Loaded> {
    let mut cases = Vec::with_capacity(organisation.cases.len());
    for input in organisation.case_inputs() {
        let mut case = input.into_case(ARCHIVE, &services.extractor.cpr_hasher)?;
        store_case(
            &services.store,
            &services.index,
            &mut case,
            Parties::Replace,
        )
        .await?;
        cases.push(case);
    }
    services.index.commit()?;
    let by_id: HashMap<String, usize> = cases
        .iter()
        .enumerate()
        .map(|(i, case)| (case.id.clone(), i))
        .collect();

    let bar = match progress {
        true => ProgressBar::new(documents as u64),
        false => ProgressBar::hidden(),
    };
    bar.set_style(
        ProgressStyle::with_template("{msg:<10} {bar:40} {pos}/{len} {per_sec} ({eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message("documents");
    let started = Instant::now();
    let mut done = 0;
    while done < documents {
        let count = BATCH.min(documents - done);
        let mails: Vec<_> = (0..count).map(|_| organisation.next_mail()).collect();
        // Both cores read mails while the store and the index wait: extraction is the
        // costliest step of a mail's way in.
        let halves: Vec<Vec<_>> = mails
            .chunks(count.div_ceil(2).max(1))
            .map(|half| half.iter().map(|m| m.bytes.clone()).collect())
            .collect();
        let mut extracting = Vec::new();
        for half in halves {
            let extractor = services.extractor.clone();
            extracting.push(tokio::task::spawn_blocking(move || {
                half.iter()
                    .map(|bytes| {
                        let sha256 = hex::encode(Sha256::digest(bytes));
                        extractor.extract(bytes, Format::Mail).map(|e| (sha256, e))
                    })
                    .collect::<Result<Vec<_>, _>>()
            }));
        }
        let (mut hashes, mut extracted) = (Vec::with_capacity(count), Vec::with_capacity(count));
        for half in extracting {
            for (sha256, item) in half.await?.context("a generated mail could not be read")? {
                hashes.push(sha256);
                extracted.push(item);
            }
        }
        let titles: Vec<String> = extracted
            .iter()
            .map(|e| match &e.metadata {
                Metadata::Mail(mail) => mail.subject.clone().unwrap_or_default(),
                Metadata::Document(_) => String::new(),
            })
            .collect();
        let batch: Vec<PastFiling<'_>> = mails
            .iter()
            .zip(extracted)
            .zip(hashes.iter().zip(&titles))
            .map(|((mail, extracted), (sha256, title))| PastFiling {
                owner: &mail.owner,
                sha256,
                original: &mail.bytes,
                filed_at: match &extracted.metadata {
                    Metadata::Mail(m) => m.date.map_or(0, |d| d.timestamp_millis()),
                    Metadata::Document(_) => 0,
                },
                extracted,
                case_id: &cases[mail.case].id,
                title,
                document_id: None,
            })
            .collect();
        let stored = services.store.insert_past_filings(batch).await?;
        let by_case: Vec<_> = stored
            .into_iter()
            .filter_map(|(item, case_id)| by_id.get(&case_id).map(|i| (item, &cases[*i])))
            .collect();
        tokio::task::block_in_place(|| services.suggester.learn_past(&by_case))?;
        done += count;
        bar.inc(count as u64);
    }
    tokio::task::block_in_place(|| services.index.commit())?;
    services.suggester.keep_snapshot_after_bulk_load().await?;
    bar.finish_and_clear();
    Ok(Loaded {
        cases,
        documents,
        seconds: started.elapsed().as_secs_f64(),
    })
}
