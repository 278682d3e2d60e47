//! Ranked, explained suggestions with a calibrated confidence, and the learning from every
//! filing that makes them better.
//!
//! A suggestion gathers candidate cases and their features (`features.rs`), scores them with
//! the organisation's learned model (`model.rs`), calibrates the first one's probability
//! (`calibration.rs`) and explains each case by the features that contributed most. A filing
//! first teaches the model with the same features as a suggestion would have had, then the
//! memory and the index learn the item itself.

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};

use serde::Serialize;

use super::features::{Candidate, Clues, Feature, Sources, gather};
use super::index::{IndexError, SearchIndex};
use super::memory::Memory;
use super::model::{Model, RankerState};
use super::replay::{FeatureValues, best_first};
use super::snapshot;
use crate::auth::User;
use crate::domain::case::{Case, PartyKind};
use crate::store::{FiledPlace, ShownCase, Store, StoreError, StoredItem};

/// Contributions to a case's score below this are not worth a reason.
const MIN_REASON: f64 = 0.05;
/// Relative text similarity from which the text is called like the case rather than
/// somewhat like it.
const STRONG_TEXT: f64 = 0.3;

#[derive(Debug, thiserror::Error)]
pub enum SuggestError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Index(#[from] IndexError),
    #[error("search task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    #[error("the ranker's state is unusable after a panic")]
    Poisoned,
    #[error("the stored ranker state is unreadable: {0}")]
    State(#[from] serde_json::Error),
}

/// Why a case is suggested, in Danish (`text`) and English (`text_en`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reason {
    pub code: &'static str,
    pub text: String,
    pub text_en: String,
}

#[derive(Debug, Clone)]
pub struct Suggestion {
    pub case: Case,
    /// The model's score: the log-odds scale the probabilities come from.
    pub score: f64,
    /// Calibrated probability that this is the case the user wants.
    pub confidence: f64,
    pub reasons: Vec<Reason>,
    /// What the model scored the case by, kept with the suggestions shown for replaying.
    pub features: FeatureValues,
}

impl Suggestion {
    /// The suggestion as the store keeps what was shown.
    pub fn shown(&self) -> ShownCase<'_> {
        ShownCase {
            case_id: &self.case.id,
            confidence: self.confidence,
            features: &self.features,
        }
    }
}

#[derive(Clone)]
pub struct Suggester {
    store: Store,
    index: Arc<SearchIndex>,
    memory: Arc<RwLock<Memory>>,
    model: Arc<Mutex<Model>>,
    /// Held from changing the model until it is stored, so that states reach the store in
    /// the order they were made.
    saving: Arc<tokio::sync::Mutex<()>>,
    /// The candidates of the latest suggestions, by item: a filing teaches what the user was
    /// shown.
    shown: Arc<Mutex<Shown>>,
    /// Where the memory is kept between starts; `None` to rebuild it each time.
    snapshot: Option<PathBuf>,
}

/// Writes the memory's snapshot off the async threads, handing the memory back. A snapshot
/// that cannot be written only costs the next start its time.
async fn save_snapshot(
    path: PathBuf,
    memory: Memory,
    filed: u64,
    after: FiledPlace,
) -> Result<Memory, SuggestError> {
    Ok(tokio::task::spawn_blocking(move || {
        match snapshot::save(&path, &memory, filed, &after) {
            Ok(()) => tracing::info!(filed, "ranker memory kept for the next start"),
            Err(error) => {
                tracing::warn!(path = %path.display(), %error, "cannot keep the ranker memory's snapshot")
            }
        }
        memory
    })
    .await?)
}

/// Filed items read from the store at a time when the memory is rebuilt.
const REBUILD_PAGE: i64 = 2_000;

/// How many items' suggestions are remembered for their filing.
const SHOWN_ITEMS: usize = 4096;

/// The candidates of recent suggestions, the oldest forgotten first.
#[derive(Default)]
struct Shown {
    by_item: HashMap<String, Arc<Vec<Candidate>>>,
    order: VecDeque<String>,
}

impl Shown {
    fn remember(&mut self, item_id: &str, candidates: Arc<Vec<Candidate>>) {
        if self
            .by_item
            .insert(item_id.to_string(), candidates)
            .is_none()
        {
            self.order.push_back(item_id.to_string());
        }
        while self.order.len() > SHOWN_ITEMS {
            if let Some(oldest) = self.order.pop_front() {
                self.by_item.remove(&oldest);
            }
        }
    }
}

/// A filing's features, gathered before it was stored, for the ranker to learn from once it is.
pub struct Lesson {
    item: StoredItem,
    case: Case,
    clues: Arc<Clues>,
    candidates: Arc<Vec<Candidate>>,
}

/// An admin's change to the ranker's weights.
#[derive(Debug, Clone, Default)]
pub struct WeightChange {
    /// Back to the starting weights first (and learning afresh from there).
    pub reset: bool,
    pub weights: Vec<(Feature, f64)>,
    /// Stop (or resume) learning the weights from filings.
    pub pinned: Option<bool>,
}

impl Suggester {
    /// The organisation's ranker: its model from the store, and its memory rebuilt from the
    /// items filed so far, oldest first: from the snapshot at `snapshot` onwards where it still
    /// matches the store, and then kept there for the next start.
    pub async fn open(
        store: Store,
        index: Arc<SearchIndex>,
        snapshot: Option<PathBuf>,
    ) -> Result<Suggester, SuggestError> {
        let model = match store.ranker_state().await? {
            Some(record) => Model::from_state(serde_json::from_str::<RankerState>(&record.state)?),
            None => Model::default(),
        };
        let mut memory = Memory::default();
        let mut filed = 0;
        let mut after = None;
        let restored = match snapshot.clone() {
            Some(path) => tokio::task::spawn_blocking(move || snapshot::load(&path)).await?,
            None => None,
        };
        if let Some(restored) = restored {
            let live = store.live_filings_up_to(&restored.after).await?;
            if u64::try_from(live) == Ok(restored.filed) {
                (memory, filed, after) = (restored.memory, restored.filed, Some(restored.after));
            } else {
                tracing::info!(
                    snapshot = restored.filed,
                    store = live,
                    "filings were undone or arrived late since the ranker memory's snapshot; rebuilding"
                );
            }
        }
        let restored = filed;
        loop {
            let page = store.live_filed_items(after.as_ref(), REBUILD_PAGE).await?;
            let Some((_, _, last)) = page.last() else {
                break;
            };
            after = Some(last.clone());
            filed += page.len() as u64;
            for (item, case_id, _) in &page {
                memory.learn(&Clues::of(item), case_id);
            }
        }
        if filed > 0 {
            tracing::info!(
                filed,
                from_snapshot = restored,
                "ranker memory rebuilt from the store"
            );
        }
        // Kept before anything else can teach it, so that it holds exactly the filings up to
        // `after`.
        if let (Some(path), Some(after)) = (&snapshot, after)
            && filed > restored
        {
            memory = save_snapshot(path.clone(), memory, filed, after).await?;
        }
        Ok(Suggester {
            store,
            index,
            memory: Arc::new(RwLock::new(memory)),
            model: Arc::new(Mutex::new(model)),
            saving: Arc::new(tokio::sync::Mutex::new(())),
            shown: Arc::new(Mutex::new(Shown::default())),
            snapshot,
        })
    }

    /// Keeps the memory's snapshot after a bulk load, when nothing else is filing: the memory
    /// then holds exactly the live filings.
    pub async fn keep_snapshot_after_bulk_load(&self) -> Result<(), SuggestError> {
        let (Some(path), Some(after)) = (&self.snapshot, self.store.last_live_filing().await?)
        else {
            return Ok(());
        };
        let filed = u64::try_from(self.store.live_filings_up_to(&after).await?).unwrap_or(0);
        let memory = std::mem::take(&mut *self.memory.write().map_err(|_| SuggestError::Poisoned)?);
        let memory = save_snapshot(path.clone(), memory, filed, after).await?;
        *self.memory.write().map_err(|_| SuggestError::Poisoned)? = memory;
        Ok(())
    }

    pub fn index(&self) -> &Arc<SearchIndex> {
        &self.index
    }

    fn sources(&self) -> Sources<'_> {
        Sources {
            store: &self.store,
            index: &self.index,
            memory: &self.memory,
        }
    }

    /// The best `limit` cases for an item among those the viewer may see, best first.
    #[tracing::instrument(name = "suggest", skip_all, fields(item = %item.id))]
    pub async fn suggest(
        &self,
        item: &StoredItem,
        viewer_groups: &[String],
        limit: usize,
    ) -> Result<Vec<Suggestion>, SuggestError> {
        // Filings since the last commit count at once; the server commits on a timer too, so
        // this is rarely needed.
        let index = self.index.clone();
        tokio::task::spawn_blocking(move || index.commit_if_pending()).await??;
        let clues = Arc::new(Clues::of(item));
        let candidates =
            Arc::new(gather(&self.sources(), item, &clues, viewer_groups, None).await?);
        self.shown
            .lock()
            .map_err(|_| SuggestError::Poisoned)?
            .remember(&item.id, candidates.clone());
        let (probabilities, weights, calibrator) = {
            let model = self.model.lock().map_err(|_| SuggestError::Poisoned)?;
            let values: Vec<_> = candidates.iter().map(|c| c.values).collect();
            (
                model.combiner.probabilities(&values),
                model.combiner.weights,
                model.calibrator.clone(),
            )
        };
        let mut ranked: Vec<(f64, &Candidate)> =
            probabilities.into_iter().zip(candidates.iter()).collect();
        ranked.sort_by(|a, b| best_first((a.0, &a.1.case_id), (b.0, &b.1.case_id)));

        // The cases are read a suggestion list at a time; the ones the viewer may not see
        // are passed over.
        let mut shown: Vec<(f64, &Candidate, Case)> = Vec::with_capacity(limit);
        for window in ranked.chunks(limit.max(1)) {
            if shown.len() >= limit {
                break;
            }
            let ids: Vec<String> = window.iter().map(|(_, c)| c.case_id.clone()).collect();
            let mut cases: HashMap<String, Case> = self
                .store
                .cases(&ids)
                .await?
                .into_iter()
                .filter(|case| case.visible_to(viewer_groups))
                .map(|case| (case.id.clone(), case))
                .collect();
            for (probability, candidate) in window {
                if let Some(case) = cases.remove(&candidate.case_id) {
                    shown.push((*probability, candidate, case));
                }
            }
        }
        shown.truncate(limit);

        let mut suggestions: Vec<Suggestion> = Vec::with_capacity(shown.len());
        let first_raw = shown.first().map(|(probability, _, _)| *probability);
        for (probability, candidate, case) in shown {
            // The first shown case gets the calibrated confidence; the others share what is
            // left in the proportions the model gives them.
            let confidence = match (suggestions.first(), first_raw) {
                (None, _) => calibrator.calibrate(probability),
                (Some(first), Some(raw)) if raw < 1.0 => {
                    probability * (1.0 - first.confidence) / (1.0 - raw)
                }
                (Some(_), _) => 0.0,
            };
            suggestions.push(Suggestion {
                reasons: explain(candidate, &weights),
                score: weights
                    .iter()
                    .zip(&candidate.values)
                    .map(|(w, v)| w * v)
                    .sum(),
                confidence,
                features: FeatureValues::of(&candidate.values),
                case,
            });
        }
        Ok(suggestions)
    }

    /// What a filing of `item` on `case` has to teach, gathered before the filing is stored:
    /// the features every candidate had when the user chose.
    #[tracing::instrument(name = "lesson", skip_all, fields(item = %item.id, case = %case.id))]
    pub async fn lesson(
        &self,
        item: &StoredItem,
        case: &Case,
        user: &User,
    ) -> Result<Lesson, SuggestError> {
        let clues = Arc::new(Clues::of(item));
        // What the user was shown, if the chosen case was among it: the features and the
        // confidence the choice answered. Otherwise the evidence as it stands now.
        let shown = self
            .shown
            .lock()
            .map_err(|_| SuggestError::Poisoned)?
            .by_item
            .get(&item.id)
            .filter(|candidates| candidates.iter().any(|c| c.case_id == case.id))
            .cloned();
        let candidates = match shown {
            Some(candidates) => candidates,
            None => {
                Arc::new(gather(&self.sources(), item, &clues, &user.groups, Some(&case.id)).await?)
            }
        };
        Ok(Lesson {
            item: item.clone(),
            case: case.clone(),
            clues,
            candidates,
        })
    }

    /// Learns from a stored filing: the model from the lesson's features, then the memory and
    /// the index from the item. The index takes it in at its next commit.
    #[tracing::instrument(name = "learn", skip_all, fields(item = %lesson.item.id, case = %lesson.case.id))]
    pub async fn learn(&self, lesson: Lesson) -> Result<(), SuggestError> {
        let Lesson {
            item,
            case,
            clues,
            candidates,
        } = lesson;
        let saving = self.saving.lock().await;
        let state = {
            let mut model = self.model.lock().map_err(|_| SuggestError::Poisoned)?;
            let values: Vec<_> = candidates.iter().map(|c| c.values).collect();
            let probabilities = model.combiner.probabilities(&values);
            let chosen = candidates.iter().position(|c| c.case_id == case.id);
            let first = probabilities.iter().enumerate().max_by(|a, b| {
                a.1.total_cmp(b.1)
                    .then_with(|| candidates[b.0].case_id.cmp(&candidates[a.0].case_id))
            });
            if let (Some((first, raw)), Some(chosen)) = (first, chosen) {
                model.calibrator.observe(*raw, first == chosen);
                model.combiner.learn(&values, chosen);
            }
            model.state()
        };
        self.store
            .save_ranker_state(&serde_json::to_string(&state)?, state.updates)
            .await?;
        drop(saving);
        self.memory
            .write()
            .map_err(|_| SuggestError::Poisoned)?
            .learn(&clues, &case.id);
        let index = self.index.clone();
        tokio::task::spawn_blocking(move || index.put_filed_item(&item.id, &case, &item.extracted))
            .await??;
        Ok(())
    }

    /// Learns from filings made before the service knew of them (a bulk load): the memory
    /// and the index take the items in; the model's weights stay as they are, since nobody
    /// chose among suggestions. Blocks on the index; the index takes them in at its next
    /// commit.
    pub fn learn_past(&self, filings: &[(StoredItem, &Case)]) -> Result<(), SuggestError> {
        let clues: Vec<Clues> = filings.iter().map(|(item, _)| Clues::of(item)).collect();
        {
            let mut memory = self.memory.write().map_err(|_| SuggestError::Poisoned)?;
            for (clues, (_, case)) in clues.iter().zip(filings) {
                memory.learn(clues, &case.id);
            }
        }
        for (item, case) in filings {
            self.index.put_filed_item(&item.id, case, &item.extracted)?;
        }
        Ok(())
    }

    /// Forgets a filing of `item` on `case_id` that was undone: the memory's counts and the
    /// classifier's lesson, and the item's document on the case in the index. (A move to the
    /// right case is learnt by that case's own filing.)
    pub async fn unlearn(&self, item: &StoredItem, case_id: &str) -> Result<(), SuggestError> {
        self.memory
            .write()
            .map_err(|_| SuggestError::Poisoned)?
            .unlearn(&Clues::of(item), case_id);
        let (index, item_id, case_id) = (self.index.clone(), item.id.clone(), case_id.to_string());
        tokio::task::spawn_blocking(move || index.remove_filed_item(&item_id, &case_id)).await??;
        Ok(())
    }

    /// The model as it stands, for admins.
    pub fn model(&self) -> Result<Model, SuggestError> {
        Ok(self
            .model
            .lock()
            .map_err(|_| SuggestError::Poisoned)?
            .clone())
    }

    /// Applies an admin's change to the weights and stores it with its audit record, which
    /// holds the weights before and after. Returns the model as it is now.
    pub async fn change_weights(
        &self,
        change: &WeightChange,
        admin: &str,
    ) -> Result<Model, SuggestError> {
        let _saving = self.saving.lock().await;
        self.override_model(admin, false, |model| {
            if change.reset {
                model.combiner.reset();
            }
            for (feature, weight) in &change.weights {
                model.combiner.weights[*feature as usize] = *weight;
            }
            if let Some(pinned) = change.pinned {
                model.combiner.pinned = pinned;
            }
        })
        .await
    }

    /// Brings back the weights (their learning state and pin too) from before an admin's last
    /// change, as a change of its own; `None` when no admin has changed them. Undone again, it
    /// brings back what it undid.
    pub async fn undo_weight_change(&self, admin: &str) -> Result<Option<Model>, SuggestError> {
        let _saving = self.saving.lock().await;
        let Some(previous) = self
            .store
            .ranker_state()
            .await?
            .and_then(|record| record.previous_state)
        else {
            return Ok(None);
        };
        let previous = Model::from_state(serde_json::from_str::<RankerState>(&previous)?);
        let model = self
            .override_model(admin, true, |model| {
                model.combiner.restore(&previous.combiner);
            })
            .await?;
        Ok(Some(model))
    }

    /// Makes `change` to the model and stores the result with its audit record and the state
    /// before, which an undo brings back. The caller holds `saving`.
    async fn override_model(
        &self,
        admin: &str,
        undo: bool,
        change: impl FnOnce(&mut Model),
    ) -> Result<Model, SuggestError> {
        let (before, after) = {
            let mut model = self.model.lock().map_err(|_| SuggestError::Poisoned)?;
            let before = model.clone();
            change(&mut model);
            (before, model.clone())
        };
        let summary = |model: &Model| {
            let state = model.state();
            serde_json::json!({"weights": state.weights, "pinned": state.pinned})
        };
        let mut details = serde_json::json!({"before": summary(&before), "after": summary(&after)});
        if undo {
            details["undo"] = serde_json::json!(true);
        }
        let state = after.state();
        self.store
            .override_ranker_state(
                &serde_json::to_string(&state)?,
                state.updates,
                admin,
                details,
                &serde_json::to_string(&before.state())?,
            )
            .await?;
        Ok(after)
    }
}

/// The reasons for a candidate, strongest contribution to its score first; a closed case says
/// so last.
fn explain(candidate: &Candidate, weights: &[f64]) -> Vec<Reason> {
    let contribution = |feature: Feature| weights[feature as usize] * candidate.value(feature);
    let mut parts: Vec<(f64, Vec<Reason>)> = Vec::new();
    // Two kinds of text evidence: the search over the case and its documents, and the words
    // the classifier has learnt the case by.
    let sum = |features: [Feature; 3]| features.into_iter().map(contribution).sum::<f64>();
    let search = sum([
        Feature::TextDocument,
        Feature::TextDocuments,
        Feature::TextCaseRecord,
    ]);
    parts.push((
        search,
        vec![if candidate.value(Feature::TextDocuments) >= STRONG_TEXT {
            reason(
                "text",
                "Teksten ligner sagen og dokumenterne på den".into(),
                "The text resembles this case and its documents".into(),
            )
        } else {
            reason(
                "text",
                "Teksten minder lidt om sagen".into(),
                "The text is somewhat like this case".into(),
            )
        }],
    ));
    let words = sum([
        Feature::Classifier,
        Feature::ClassifierBest,
        Feature::Centroid,
    ]);
    parts.push((
        words,
        vec![if candidate.value(Feature::ClassifierBest) > 0.0 {
            reason(
                "words",
                "Teksten ligner mest det, der er journaliseret på sagen".into(),
                "The text is most like what is filed on this case".into(),
            )
        } else {
            reason(
                "words",
                "Teksten minder om det, der er journaliseret på sagen".into(),
                "The text is like what is filed on this case".into(),
            )
        }],
    ));
    let simple = [
        (
            Feature::AlreadyFiled,
            "already_filed",
            "Mailen er allerede journaliseret på sagen",
            "This mail is already filed on this case",
        ),
        (
            Feature::Thread,
            "thread",
            "En tidligere mail i samme tråd er journaliseret på sagen",
            "An earlier mail in this thread is filed on this case",
        ),
        (
            Feature::Subject,
            "same_subject",
            "En tidligere mail med samme emne er journaliseret på sagen",
            "An earlier mail with the same subject is filed on this case",
        ),
        (
            Feature::Sender,
            "sender",
            "Tidligere mails fra afsenderen er journaliseret på sagen",
            "Earlier mail from this sender is filed on this case",
        ),
        (
            Feature::SenderLatest,
            "sender_latest",
            "Afsenderens seneste mail er journaliseret på sagen",
            "The sender's latest mail is filed on this case",
        ),
        (
            Feature::Recipients,
            "recipients",
            "Tidligere mails til de samme modtagere er journaliseret på sagen",
            "Earlier mail to the same recipients is filed on this case",
        ),
        (
            Feature::Recent,
            "recent",
            "Du har for nylig journaliseret på sagen",
            "You filed on this case recently",
        ),
    ];
    for (feature, code, da, en) in simple {
        parts.push((
            contribution(feature),
            vec![reason(code, da.into(), en.into())],
        ));
    }
    parts.push((
        contribution(Feature::Activity) + contribution(Feature::Recency),
        vec![reason(
            "active",
            "Der er journaliseret på sagen for nylig".into(),
            "Documents were filed on this case lately".into(),
        )],
    ));
    if let Some(number) = &candidate.case_number {
        parts.push((
            contribution(Feature::CaseNumber),
            vec![reason(
                "case_number",
                format!("Sagsnummeret {number} står i teksten"),
                format!("The case number {number} appears in the text"),
            )],
        ));
    }
    if let Some(rule) = &candidate.rule {
        parts.push((
            contribution(Feature::Rule),
            vec![reason(
                "rule",
                format!("Reglen «{rule}» peger på sagen"),
                format!("The rule “{rule}” points to this case"),
            )],
        ));
    }
    let parties: Vec<Reason> = candidate
        .parties
        .iter()
        .map(|(party, from_sender)| {
            let (da, en) = match (party.kind, from_sender) {
                (PartyKind::Cpr, _) => (
                    format!("CPR-nummeret {} er part på sagen", party.display),
                    format!("The CPR number {} is a party to this case", party.display),
                ),
                (PartyKind::Cvr, _) => (
                    format!("CVR-nummeret {} er part på sagen", party.display),
                    format!("The CVR number {} is a party to this case", party.display),
                ),
                (_, true) => (
                    format!("Afsenderen {} er part på sagen", party.display),
                    format!("The sender {} is a party to this case", party.display),
                ),
                (_, false) => (
                    format!("{} er part på sagen", party.display),
                    format!("{} is a party to this case", party.display),
                ),
            };
            reason("party", da, en)
        })
        .collect();
    if !parties.is_empty() {
        let weight = [Feature::PartyCpr, Feature::PartyCvr, Feature::PartyEmail]
            .into_iter()
            .map(contribution)
            .sum();
        parts.push((weight, parties));
    }
    parts.retain(|(weight, _)| *weight >= MIN_REASON);
    parts.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut reasons: Vec<Reason> = parts.into_iter().flat_map(|(_, r)| r).collect();
    if candidate.value(Feature::Closed) > 0.0 {
        reasons.push(reason(
            "closed",
            "Sagen er lukket".into(),
            "The case is closed".into(),
        ));
    }
    reasons
}

fn reason(code: &'static str, text: String, text_en: String) -> Reason {
    Reason {
        code,
        text,
        text_en,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::case::Party;
    use crate::suggest::model::starting_weights;

    fn candidate(pairs: &[(Feature, f64)]) -> Candidate {
        Candidate {
            case_id: "c".into(),
            values: super::super::features::with(pairs),
            case_number: None,
            parties: Vec::new(),
            rule: None,
        }
    }

    /// Past filings of notes on cases S1 and S2, numbered from `first`.
    async fn file_notes(store: &Store, first: i64, count: i64) -> Vec<(StoredItem, String)> {
        let texts: Vec<(String, String)> = (first..first + count)
            .map(|n| {
                (
                    format!("h{n}"),
                    format!("notat {n} om carport og tagrender"),
                )
            })
            .collect();
        let batch = texts
            .iter()
            .enumerate()
            .map(|(i, (sha, text))| crate::store::PastFiling {
                owner: "anna",
                sha256: sha,
                original: text.as_bytes(),
                extracted: crate::extract::Extracted {
                    kind: crate::extract::ItemKind::Document,
                    content_type: "text/plain".into(),
                    metadata: crate::extract::Metadata::Document(Default::default()),
                    text: text.clone(),
                    identifiers: Default::default(),
                    truncated: Vec::new(),
                },
                case_id: if i % 2 == 0 { "S1" } else { "S2" },
                title: "Notat",
                filed_at: first + i as i64,
                document_id: None,
            })
            .collect();
        store.insert_past_filings(batch).await.unwrap()
    }

    fn memory_of(suggester: &Suggester) -> std::sync::RwLockReadGuard<'_, Memory> {
        suggester.memory.read().unwrap()
    }

    #[tokio::test]
    async fn a_start_from_the_snapshot_knows_what_a_rebuild_knows_and_an_undo_makes_it_rebuild() {
        let store = crate::store::test_store().await;
        let hasher = crate::domain::identifiers::CprHasher::new(b"k");
        for id in ["S1", "S2"] {
            let case = crate::domain::case::CaseInput::plain(id, id, "Carport")
                .into_case("archive", &hasher)
                .unwrap();
            store.upsert_case(&case).await.unwrap();
        }
        let index = Arc::new(SearchIndex::in_memory().unwrap());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ranker-memory.snapshot");
        let open =
            |snapshot: Option<PathBuf>| Suggester::open(store.clone(), index.clone(), snapshot);

        let first = file_notes(&store, 1, 6).await;
        open(Some(path.clone())).await.unwrap();
        let kept = std::fs::read(&path).unwrap();
        file_notes(&store, 100, 4).await;
        let restarted = open(Some(path.clone())).await.unwrap();
        let rebuilt = open(None).await.unwrap();
        assert!(*memory_of(&rebuilt) != Memory::default());
        assert!(*memory_of(&restarted) == *memory_of(&rebuilt));
        assert_ne!(
            std::fs::read(&path).unwrap(),
            kept,
            "kept again with the new filings"
        );

        // What the snapshot holds is what a start uses: one taught something the store never
        // saw comes back with it.
        let kept = snapshot::load(&path).unwrap();
        assert_eq!(kept.filed, 10);
        let mut taught = kept.memory;
        taught.learn(
            &Clues {
                owner: "ib".into(),
                terms: [(1, 1)].into_iter().collect(),
                ..Clues::default()
            },
            "S2",
        );
        snapshot::save(&path, &taught, kept.filed, &kept.after).unwrap();
        let from_snapshot = open(Some(path.clone())).await.unwrap();
        assert!(*memory_of(&from_snapshot) == taught);
        assert!(*memory_of(&from_snapshot) != *memory_of(&rebuilt));
        snapshot::save(&path, &memory_of(&rebuilt), kept.filed, &kept.after).unwrap();

        // An undo of a filing the snapshot holds: it no longer matches, and is not used.
        let (item, _) = &first[0];
        let filing = store.filings_of_item(&item.id).await.unwrap().remove(0);
        store
            .withdraw_filing(&filing.id, "anna", "forkert sag", None)
            .await
            .unwrap()
            .unwrap();
        let restarted = open(Some(path.clone())).await.unwrap();
        let before_undo = rebuilt;
        let rebuilt = open(None).await.unwrap();
        assert!(*memory_of(&rebuilt) != *memory_of(&before_undo));
        assert!(*memory_of(&restarted) == *memory_of(&rebuilt));
    }

    fn codes(reasons: &[Reason]) -> Vec<&str> {
        reasons.iter().map(|r| r.code).collect()
    }

    #[test]
    fn reasons_come_strongest_first_and_faint_ones_are_left_out() {
        let weights = starting_weights();
        let reasons = explain(
            &candidate(&[
                (Feature::Thread, 1.0),
                (Feature::TextDocuments, 0.5),
                (Feature::Recent, 0.01),
            ]),
            &weights,
        );
        assert_eq!(codes(&reasons), ["thread", "text"]);
        assert!(reasons[1].text.contains("ligner"));
        let faint = explain(&candidate(&[(Feature::TextDocuments, 0.04)]), &weights);
        assert!(faint.is_empty());
    }

    #[test]
    fn the_learnt_words_and_the_search_are_told_apart() {
        let weights = starting_weights();
        let reasons = explain(
            &candidate(&[
                (Feature::Thread, 1.0),
                (Feature::Classifier, 1.0),
                (Feature::ClassifierBest, 1.0),
                (Feature::TextDocuments, 0.2),
            ]),
            &weights,
        );
        assert_eq!(codes(&reasons), ["thread", "words", "text"]);
        assert!(
            reasons[1].text.contains("mest"),
            "the classifier's first choice"
        );
        assert!(reasons[2].text.contains("lidt"), "weak search similarity");
        let second = explain(&candidate(&[(Feature::Classifier, 0.5)]), &weights);
        assert_eq!(codes(&second), ["words"]);
        assert!(!second[0].text.contains("mest"));
    }

    #[test]
    fn the_learned_weights_decide_the_order_and_closed_cases_say_so_last() {
        let mut weights = starting_weights();
        let c = candidate(&[
            (Feature::Sender, 0.5),
            (Feature::Subject, 0.5),
            (Feature::Closed, 1.0),
        ]);
        assert_eq!(
            codes(&explain(&c, &weights)),
            ["same_subject", "sender", "closed"]
        );
        weights[Feature::Sender as usize] = 10.0;
        assert_eq!(
            codes(&explain(&c, &weights)),
            ["sender", "same_subject", "closed"]
        );
        assert!(explain(&c, &weights)[0].text_en.contains("sender"));
    }

    #[test]
    fn parties_and_case_numbers_are_named() {
        let mut c = candidate(&[(Feature::PartyCpr, 1.0), (Feature::CaseNumber, 1.0)]);
        c.case_number = Some("27.24.00-G01-12-23".into());
        c.parties = vec![(
            Party {
                kind: PartyKind::Cpr,
                value: "hash".into(),
                display: "150385-XXXX".into(),
            },
            false,
        )];
        let reasons = explain(&c, &starting_weights());
        assert_eq!(codes(&reasons), ["case_number", "party"]);
        assert!(reasons[0].text.contains("27.24.00-G01-12-23"));
        assert!(reasons[1].text.contains("150385-XXXX") && !reasons[1].text.contains("hash"));
    }
}
