//! Microsoft Entra ID access tokens: each tenant's signing keys from its OpenID metadata,
//! cached and refreshed, and the checks a v2.0 token for this API must pass.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use tokio_util::sync::CancellationToken;

use super::{AuthError, User};
use crate::config::EntraConfig;

/// One configured tenant and the keys it signs with.
struct Tenant {
    id: String,
    metadata_url: String,
    /// The issuer the tenant's metadata names; tokens must carry exactly this `iss`.
    issuer: RwLock<Option<String>>,
    keys: RwLock<HashMap<String, DecodingKey>>,
    /// When keys were last fetched; one fetch at a time.
    fetched: tokio::sync::Mutex<Option<Instant>>,
}

pub struct EntraVerifier {
    config: EntraConfig,
    tenants: HashMap<String, Tenant>,
    http: reqwest::Client,
}

#[derive(Deserialize)]
struct Metadata {
    issuer: String,
    jwks_uri: String,
}

/// What is read before the signature is checked, only to pick the tenant and key.
#[derive(Deserialize)]
struct Unverified {
    #[serde(default)]
    tid: String,
}

#[derive(Deserialize)]
struct Claims {
    tid: String,
    oid: String,
    #[serde(default)]
    ver: String,
    #[serde(default)]
    scp: String,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    groups: Vec<String>,
    name: Option<String>,
    preferred_username: Option<String>,
}

#[derive(Debug, thiserror::Error)]
enum FetchError {
    #[error("{0}")]
    Http(#[from] reqwest::Error),
    #[error("the key set holds no usable RSA signing key")]
    NoKeys,
    #[error("the metadata names issuer {0}, which is not this tenant's")]
    Issuer(String),
}

impl EntraVerifier {
    pub fn new(config: EntraConfig) -> Result<EntraVerifier, reqwest::Error> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()?;
        let authority = config.authority.trim_end_matches('/');
        let tenants = config
            .tenants
            .iter()
            .map(|id| {
                let tenant = Tenant {
                    id: id.to_lowercase(),
                    metadata_url: format!("{authority}/{id}/v2.0/.well-known/openid-configuration"),
                    issuer: RwLock::new(None),
                    keys: RwLock::new(HashMap::new()),
                    fetched: tokio::sync::Mutex::new(None),
                };
                (id.to_lowercase(), tenant)
            })
            .collect();
        Ok(EntraVerifier {
            config,
            tenants,
            http,
        })
    }

    /// Fetches every tenant's keys now, then again on the configured schedule until
    /// `shutdown`. A failed fetch keeps the keys already held.
    pub fn spawn_refresher(self: Arc<Self>, shutdown: CancellationToken) {
        tokio::spawn(async move {
            let every = Duration::from_secs(self.config.key_refresh_secs.max(60));
            loop {
                for id in self.tenants.keys() {
                    self.refresh(id, None).await;
                }
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tokio::time::sleep(every) => {}
                }
            }
        });
    }

    /// Checks a token and returns its user. Fails closed: no keys, no entry.
    pub async fn verify(&self, token: &str) -> Result<User, AuthError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| rejected("malformed"))?;
        // The algorithm is fixed by us; a token asking for another one is refused outright.
        if header.alg != Algorithm::RS256 {
            return Err(rejected("algorithm"));
        }
        let kid = header.kid.ok_or_else(|| rejected("no key id"))?;
        let unverified = jsonwebtoken::dangerous::insecure_decode::<Unverified>(token)
            .map_err(|_| rejected("malformed"))?;
        let tenant_id = unverified.claims.tid.to_lowercase();
        let tenant = self
            .tenants
            .get(&tenant_id)
            .ok_or_else(|| rejected("tenant"))?;

        let mut key = tenant.key(&kid);
        if key.is_none() {
            // Keys rotate: an unknown key id may be a new key, worth one (rate-limited) fetch.
            let least = Duration::from_secs(self.config.unknown_key_refresh_secs);
            self.refresh(&tenant_id, Some(least)).await;
            key = tenant.key(&kid);
        }
        let key = key.ok_or_else(|| rejected("unknown key"))?;
        let issuer = tenant.issuer().ok_or_else(|| rejected("no keys loaded"))?;

        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&self.config.audiences);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud"]);
        validation.validate_nbf = true;
        validation.leeway = self.config.leeway_secs;
        let claims = jsonwebtoken::decode::<Claims>(token, &key, &validation)
            .map_err(|e| rejected(&format!("{:?}", e.kind())))?
            .claims;

        if claims.ver != "2.0" {
            return Err(rejected("token version"));
        }
        if claims.tid.to_lowercase() != tenant_id || claims.oid.is_empty() {
            return Err(rejected("tenant or object id"));
        }
        if !claims
            .scp
            .split(' ')
            .any(|s| s == self.config.required_scope)
        {
            return Err(rejected("scope"));
        }
        let admin = claims
            .roles
            .iter()
            .any(|r| self.config.admin_roles.contains(r))
            || claims
                .groups
                .iter()
                .any(|g| self.config.admin_groups.contains(g));
        let id = format!("{tenant_id}:{}", claims.oid.to_lowercase());
        let name = claims
            .name
            .or(claims.preferred_username)
            .unwrap_or_else(|| id.clone());
        let mut groups = claims.groups;
        groups.extend(claims.roles);
        Ok(User {
            id,
            name,
            groups,
            admin,
        })
    }

    /// Fetches a tenant's metadata and keys, unless the last fetch is more recent than
    /// `unless_within`. Only one fetch per tenant runs at a time.
    async fn refresh(&self, tenant_id: &str, unless_within: Option<Duration>) {
        let Some(tenant) = self.tenants.get(tenant_id) else {
            return;
        };
        let mut fetched = tenant.fetched.lock().await;
        if let (Some(at), Some(least)) = (*fetched, unless_within)
            && at.elapsed() < least
        {
            return;
        }
        *fetched = Some(Instant::now());
        match self.fetch(tenant).await {
            Ok((issuer, keys)) => {
                tracing::info!(
                    tenant = tenant_id,
                    keys = keys.len(),
                    "loaded Entra ID signing keys"
                );
                if let Ok(mut slot) = tenant.issuer.write() {
                    *slot = Some(issuer);
                }
                if let Ok(mut slot) = tenant.keys.write() {
                    *slot = keys;
                }
            }
            Err(error) => {
                tracing::warn!(tenant = tenant_id, %error, "cannot fetch Entra ID signing keys; keeping the ones held");
            }
        }
    }

    async fn fetch(
        &self,
        tenant: &Tenant,
    ) -> Result<(String, HashMap<String, DecodingKey>), FetchError> {
        let metadata: Metadata = self
            .http
            .get(&tenant.metadata_url)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        // A tenant's issuer names the tenant; anything else is a misconfigured authority.
        if !metadata.issuer.to_lowercase().contains(&tenant.id) {
            return Err(FetchError::Issuer(metadata.issuer));
        }
        let set: JwkSet = self
            .http
            .get(&metadata.jwks_uri)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let keys: HashMap<String, DecodingKey> = set
            .keys
            .iter()
            .filter_map(|jwk| {
                let kid = jwk.common.key_id.clone()?;
                // Keys of other types, or unusable ones, are skipped: Entra lists only RSA keys
                // today, and one odd entry must not cost the others.
                let key = DecodingKey::from_jwk(jwk).ok()?;
                matches!(
                    jwk.algorithm,
                    jsonwebtoken::jwk::AlgorithmParameters::RSA(_)
                )
                .then_some((kid, key))
            })
            .collect();
        if keys.is_empty() {
            return Err(FetchError::NoKeys);
        }
        Ok((metadata.issuer, keys))
    }
}

impl Tenant {
    fn key(&self, kid: &str) -> Option<DecodingKey> {
        self.keys.read().ok()?.get(kid).cloned()
    }

    fn issuer(&self) -> Option<String> {
        self.issuer.read().ok()?.clone()
    }
}

/// Logs why a token was refused (the kind only, never the token) and refuses it.
fn rejected(reason: &str) -> AuthError {
    tracing::info!(reason, "bearer token rejected");
    AuthError::Invalid
}
