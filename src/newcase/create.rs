//! Creating a case in its target, durably and exactly once: the request is committed with
//! the case before the requester hears "accepted", and a worker makes it in the target under
//! the case's own id, so that a repeat after a crash finds the case made the first time.

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use tokio_util::sync::CancellationToken;

use crate::auth::User;
use crate::config::FilingConfig;
use crate::connector::{ConnectorError, Connectors};
use crate::domain::case::{Case, CaseError, CaseInput, Party, PartyInput, PartyKind};
use crate::domain::identifiers::CprHasher;
use crate::domain::now_millis;
use crate::store::{Creation, Store, StoreError};
use crate::suggest::{IndexError, SearchIndex};

/// What a user asks to create.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseOrder {
    pub connector: String,
    pub title: String,
    #[serde(default)]
    pub kle: Option<String>,
    #[serde(default)]
    pub facet: Option<String>,
    /// As the proposal gives them (`kind`, `value`, `display`); a CPR party's value is the
    /// proposal's hash or a number typed in.
    #[serde(default)]
    pub parties: Vec<OrderParty>,
    /// Groups that may see the case; the user's own only. Empty: everyone.
    #[serde(default)]
    pub groups: Vec<String>,
    /// The requester's key: asking again with it gives the same case.
    pub create_key: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderParty {
    pub kind: String,
    pub value: String,
    #[serde(default)]
    pub display: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error("{0}")]
    Invalid(String),
    #[error("no connector named {0:?}")]
    UnknownConnector(String),
    #[error("connector {0:?} cannot create cases")]
    CannotCreate(String),
    #[error("the case may only be given groups you belong to; {0:?} is not one of them")]
    ForeignGroup(String),
    #[error(transparent)]
    Case(#[from] CaseError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Index(#[from] IndexError),
}

/// The longest `create_key` kept.
const MAX_KEY_CHARS: usize = 200;
/// The longest case title, as for document titles.
const MAX_TITLE_CHARS: usize = 250;

/// Validates the order, and records the case (in store and index at once) with its creation;
/// an order repeated with the same key answers the first case. Returns the case, its
/// creation, and whether the order was new.
pub async fn accept(
    store: &Store,
    index: &Arc<SearchIndex>,
    connectors: &Connectors,
    hasher: &CprHasher,
    user: &User,
    order: CaseOrder,
) -> Result<(Case, Creation, bool), CreateError> {
    let key = order.create_key.trim();
    if key.is_empty() || key.chars().count() > MAX_KEY_CHARS || key.chars().any(char::is_control) {
        return Err(CreateError::Invalid(format!(
            "create_key must be 1 to {MAX_KEY_CHARS} characters without control characters"
        )));
    }
    let title = order.title.trim();
    if title.chars().count() > MAX_TITLE_CHARS {
        return Err(CreateError::Invalid(format!(
            "title is longer than {MAX_TITLE_CHARS} characters"
        )));
    }
    let connector = connectors
        .get(&order.connector)
        .ok_or_else(|| CreateError::UnknownConnector(order.connector.clone()))?;
    if !connector.creates_cases() {
        return Err(CreateError::CannotCreate(order.connector.clone()));
    }
    if let Some(foreign) = order.groups.iter().find(|g| !user.groups.contains(g)) {
        return Err(CreateError::ForeignGroup(foreign.clone()));
    }
    if let Some(facet) = order
        .facet
        .as_deref()
        .map(str::trim)
        .filter(|f| !f.is_empty())
        && !is_facet(facet)
    {
        return Err(CreateError::Invalid(format!(
            "facet {facet:?} is not a KLE action facet (a letter of A, P, S, Ø, G, K, I and two digits)"
        )));
    }
    let id = format!("NS-{}", &uuid::Uuid::new_v4().simple().to_string()[..16]);
    let (hashed, typed): (Vec<OrderParty>, Vec<OrderParty>) =
        order.parties.into_iter().partition(is_proposed_cpr);
    let input = CaseInput {
        id: id.clone(),
        number: id.clone(),
        title: crate::domain::identifiers::redact_cpr(title).into_owned(),
        kle: order.kle,
        facet: order.facet.filter(|f| !f.trim().is_empty()),
        status: "open".into(),
        parties: typed
            .into_iter()
            .map(|p| PartyInput {
                kind: p.kind,
                value: p.value,
            })
            .collect(),
        groups: order.groups,
        opened: Some(chrono::Utc::now().format("%Y-%m-%d").to_string()),
    };
    let mut case = input.into_case(&order.connector, hasher)?;
    case.parties.extend(hashed.into_iter().map(|p| Party {
        kind: PartyKind::Cpr,
        value: p.value,
        display: p.display.unwrap_or_default(),
    }));
    let (creation, new) = store.accept_case_creation(&case, &user.id, key).await?;
    if new {
        index.put_case(&case)?;
        tracing::info!(case = %case.id, connector = %case.connector, "case accepted for creation");
    }
    let case = store.case(&creation.id).await?.ok_or_else(|| {
        StoreError::Corrupt(format!("case {} of a creation is gone", creation.id))
    })?;
    Ok((case, creation, new))
}

/// A CPR party as a proposal gives it: the keyed hash (64 hex digits) and the masked number.
fn is_proposed_cpr(party: &OrderParty) -> bool {
    party.kind == "cpr"
        && party.value.len() == 64
        && party.value.bytes().all(|b| b.is_ascii_hexdigit())
        && party.display.as_deref().is_some_and(|d| {
            d.len() == 11 && d[..6].bytes().all(|b| b.is_ascii_digit()) && &d[6..] == "-XXXX"
        })
}

fn is_facet(text: &str) -> bool {
    let mut chars = text.chars();
    chars.next().is_some_and(|c| "APSØGKI".contains(c))
        && chars.as_str().len() == 2
        && chars.as_str().bytes().all(|b| b.is_ascii_digit())
}

/// Makes accepted cases in their targets until `shutdown` is cancelled.
#[derive(Clone)]
pub struct Creator {
    pub store: Store,
    /// Where the case is found again under the number the target gave it.
    pub index: Arc<SearchIndex>,
    pub connectors: Connectors,
    pub config: FilingConfig,
}

impl Creator {
    pub async fn run(self, shutdown: CancellationToken) {
        let idle = Duration::from_millis(self.config.poll_interval_ms);
        loop {
            let pause = match self.create_next().await {
                Ok(true) => Duration::ZERO,
                Ok(false) => idle,
                Err(error) => {
                    tracing::error!(%error, "case creation could not reach the store");
                    idle * 4
                }
            };
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(pause) => {}
            }
        }
    }

    /// Claims one due creation and makes its case in the target; whether one was due.
    pub async fn create_next(&self) -> Result<bool, StoreError> {
        let lease = Duration::from_secs(self.config.lease_secs.max(1));
        let lease_ms = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX / 4);
        let Some(creation) = self
            .store
            .claim_due_creation(now_millis(), lease_ms)
            .await?
        else {
            return Ok(false);
        };
        let result = match (
            self.store.case(&creation.id).await?,
            self.connectors.get(&creation.connector),
        ) {
            (Some(case), Some(connector)) => {
                match tokio::time::timeout(lease.mul_f64(0.9), connector.create_case(&case)).await {
                    Ok(result) => result,
                    Err(_) => Err(ConnectorError::Transient(
                        "the target did not answer in time".into(),
                    )),
                }
            }
            (None, _) => Err(ConnectorError::Permanent(
                "the case is no longer in the store".into(),
            )),
            (_, None) => Err(ConnectorError::Permanent(format!(
                "connector {:?} is no longer configured",
                creation.connector
            ))),
        };
        let attempts = u32::try_from(creation.attempts).unwrap_or(u32::MAX);
        match result {
            Ok(number) => {
                if self.store.mark_case_created(&creation, &number).await?
                    && let Some(case) = self.store.case(&creation.id).await?
                    && let Err(error) = self.index.put_case(&case)
                {
                    // The index is rebuilt from the store when the two disagree at start.
                    tracing::warn!(case = %creation.id, %error, "the created case's number is not in the index yet");
                }
                tracing::info!(case = %creation.id, %number, "case created in its target");
            }
            Err(ConnectorError::Transient(error)) if attempts < self.config.max_attempts => {
                let wait = crate::filing::backoff(&self.config, attempts);
                let retry_at =
                    now_millis() + i64::try_from(wait.as_millis()).unwrap_or(i64::MAX / 4);
                tracing::warn!(case = %creation.id, %error, "case creation failed; trying again");
                self.store
                    .mark_creation_failed(&creation, &error, Some(retry_at))
                    .await?;
            }
            Err(error) => {
                tracing::warn!(case = %creation.id, %error, "case creation failed for good");
                self.store
                    .mark_creation_failed(&creation, &error.to_string(), None)
                    .await?;
            }
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connector::ArchiveConnector;
    use crate::store::CreationState;

    fn order(key: &str) -> CaseOrder {
        CaseOrder {
            connector: "archive".into(),
            title: "Byggesager – Ole – Carport".into(),
            kle: Some("02.34.02".into()),
            facet: Some("G01".into()),
            parties: vec![OrderParty {
                kind: "email".into(),
                value: "ole@borger.example".into(),
                display: None,
            }],
            groups: vec![],
            create_key: key.into(),
        }
    }

    fn user(id: &str, groups: &[&str]) -> User {
        User {
            id: id.into(),
            name: id.into(),
            groups: groups.iter().map(|g| g.to_string()).collect(),
            admin: false,
        }
    }

    #[tokio::test]
    async fn a_repeated_order_gives_the_same_case_and_a_second_claim_makes_no_second_case() {
        let store = crate::store::test_store().await;
        let index = Arc::new(SearchIndex::in_memory().unwrap());
        let root = tempfile::tempdir().unwrap();
        let mut connectors = Connectors::default();
        connectors.insert("archive", Arc::new(ArchiveConnector::new(root.path())));
        let hasher = CprHasher::new(b"k");
        let anna = user("anna", &["byg"]);
        let (case, creation, _) = accept(&store, &index, &connectors, &hasher, &anna, order("k1"))
            .await
            .unwrap();
        assert_eq!(creation.state, CreationState::Queued);
        let (again, _, new) = accept(&store, &index, &connectors, &hasher, &anna, order("k1"))
            .await
            .unwrap();
        assert_eq!((again.id.as_str(), new), (case.id.as_str(), false));
        // Another user's key of the same text is another case.
        let (other, _, _) = accept(
            &store,
            &index,
            &connectors,
            &hasher,
            &user("ib", &[]),
            order("k1"),
        )
        .await
        .unwrap();
        assert_ne!(other.id, case.id);

        let config = FilingConfig {
            lease_secs: 1,
            ..FilingConfig::default()
        };
        let creator = Creator {
            store: store.clone(),
            index: index.clone(),
            connectors: connectors.clone(),
            config,
        };
        // A crash after the target made the case and before the store heard of it: the case
        // is in the target, the claim unsettled. The next claim finds it there.
        let claimed = store
            .claim_due_creation(now_millis(), 1)
            .await
            .unwrap()
            .unwrap();
        let made = connectors
            .get("archive")
            .unwrap()
            .create_case(&store.case(&claimed.id).await.unwrap().unwrap())
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
        while creator.create_next().await.unwrap() {}
        for created in [&case.id, &other.id] {
            assert_eq!(
                store.case_creation(created).await.unwrap().unwrap().state,
                CreationState::Created
            );
        }
        assert_eq!(made, claimed.id);
        let folders = std::fs::read_dir(root.path()).unwrap().count();
        assert_eq!(folders, 2);
        // Each case is audited once as ordered, by its user, and once as created.
        let events = store
            .audit_events(crate::store::AuditFilter {
                case_id: Some(case.id.clone()),
                order: crate::store::AuditOrder::OldestFirst,
                ..Default::default()
            })
            .await
            .unwrap();
        let kinds: Vec<(&str, &str)> = events
            .iter()
            .map(|e| (e.kind.as_str(), e.actor.as_str()))
            .collect();
        assert_eq!(
            kinds,
            [("case_ordered", "anna"), ("case_created", "system")]
        );
        assert_eq!(events[0].details["kle"], "02.34.02");
    }

    #[tokio::test]
    async fn orders_outside_what_the_user_and_the_target_may_are_refused() {
        let store = crate::store::test_store().await;
        let index = Arc::new(SearchIndex::in_memory().unwrap());
        let mut connectors = Connectors::default();
        connectors.insert("archive", Arc::new(ArchiveConnector::new("/nonexistent")));
        let hasher = CprHasher::new(b"k");
        let anna = user("anna", &["byg"]);
        let refused = |mut change: Box<dyn FnMut(&mut CaseOrder)>| {
            let mut o = order("k");
            change(&mut o);
            o
        };
        for (o, expected) in [
            (
                refused(Box::new(|o| o.groups = vec!["social".into()])),
                "groups you belong to",
            ),
            (
                refused(Box::new(|o| o.connector = "f2".into())),
                "no connector named",
            ),
            (
                refused(Box::new(|o| o.kle = Some("2.34".into()))),
                "invalid KLE number",
            ),
            (
                refused(Box::new(|o| o.facet = Some("X01".into()))),
                "not a KLE action facet",
            ),
            (
                refused(Box::new(|o| o.create_key = " ".into())),
                "create_key",
            ),
            (
                refused(Box::new(|o| o.title = "a".repeat(251))),
                "longer than 250",
            ),
        ] {
            let error = accept(&store, &index, &connectors, &hasher, &anna, o)
                .await
                .unwrap_err()
                .to_string();
            assert!(error.contains(expected), "{error}");
        }
        assert_eq!(store.count_cases().await.unwrap(), 0);
    }
}
