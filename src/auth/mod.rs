//! Who is calling: bearer tokens, users, admins and the groups that decide what they see.
//!
//! Two kinds of token are accepted: Microsoft Entra ID access tokens (what the add-ins send),
//! and, where configured, the service's own HS256 tokens signed with a key it keeps in the data
//! directory (`journaliser token` prints one).

mod entra;
mod extract;
mod keys;
mod limit;

use std::path::Path;
use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

pub use entra::EntraVerifier;
pub use extract::{Admin, CurrentUser, admit_before_body};
pub use keys::load_or_create_secret;
pub use limit::RateLimiter;

const ISSUER: &str = "journaliser";
const AUDIENCE: &str = "journaliser-api";
const ADMIN_ROLE: &str = "admin";

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: String,
    pub name: String,
    pub groups: Vec<String>,
    pub admin: bool,
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    iss: String,
    aud: String,
    sub: String,
    name: String,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    groups: Vec<String>,
    iat: i64,
    exp: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("missing bearer token")]
    Missing,
    #[error("invalid bearer token")]
    Invalid,
    #[error("this needs the admin role")]
    NotAdmin,
    /// The user's request budget is spent; the number is the seconds until it refills.
    #[error("too many requests; try again in {0} s")]
    RateLimited(u64),
}

/// Decides which verifier a token is for, asks it, and keeps each user within a budget.
pub struct Authenticator {
    dev: Option<TokenKeys>,
    entra: Option<std::sync::Arc<EntraVerifier>>,
    limiter: RateLimiter,
}

impl Authenticator {
    pub fn new(
        dev: Option<TokenKeys>,
        entra: Option<std::sync::Arc<EntraVerifier>>,
        limiter: RateLimiter,
    ) -> Authenticator {
        Authenticator {
            dev,
            entra,
            limiter,
        }
    }

    /// Verifies the token, then takes one request from the user's budget.
    pub async fn admit(&self, token: &str) -> Result<User, AuthError> {
        let user = self.verify(token).await?;
        self.limiter
            .check(&user.id)
            .map_err(AuthError::RateLimited)?;
        Ok(user)
    }

    pub async fn verify(&self, token: &str) -> Result<User, AuthError> {
        #[derive(Deserialize)]
        struct Issuer {
            #[serde(default)]
            iss: String,
        }
        // Only routes the token; each verifier checks signature and claims itself.
        let issuer = jsonwebtoken::dangerous::insecure_decode::<Issuer>(token)
            .map_err(|_| AuthError::Invalid)?;
        match (&self.dev, &self.entra) {
            (Some(dev), _) if issuer.claims.iss == ISSUER => dev.verify(token),
            (_, Some(entra)) => entra.verify(token).await,
            _ => Err(AuthError::Invalid),
        }
    }
}

/// Signs and checks the service's own tokens.
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl TokenKeys {
    /// Uses the signing key in `data_dir`, making one on first use.
    pub fn load_or_create(data_dir: &Path) -> std::io::Result<TokenKeys> {
        let secret = load_or_create_secret(&data_dir.join("token-signing.key"))?;
        Ok(TokenKeys::from_secret(&secret))
    }

    pub fn from_secret(secret: &[u8]) -> TokenKeys {
        TokenKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
        }
    }

    pub fn issue(&self, user: &User, ttl: Duration) -> String {
        let now = chrono::Utc::now().timestamp();
        let mut roles = vec!["user".to_string()];
        if user.admin {
            roles.push(ADMIN_ROLE.into());
        }
        let claims = Claims {
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            sub: user.id.clone(),
            name: user.name.clone(),
            roles,
            groups: user.groups.clone(),
            iat: now,
            exp: now + i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX / 2),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .expect("HS256 signing of plain claims cannot fail")
    }

    pub fn verify(&self, token: &str) -> Result<User, AuthError> {
        // The algorithm is fixed here, never taken from the token's header.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.leeway = 60;
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .map_err(|_| AuthError::Invalid)?;
        let claims = data.claims;
        if claims.sub.is_empty() {
            return Err(AuthError::Invalid);
        }
        Ok(User {
            admin: claims.roles.iter().any(|r| r == ADMIN_ROLE),
            name: if claims.name.is_empty() {
                claims.sub.clone()
            } else {
                claims.name
            },
            id: claims.sub,
            groups: claims.groups,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(admin: bool) -> User {
        User {
            id: "anna".into(),
            name: "Anna".into(),
            groups: vec!["byg".into()],
            admin,
        }
    }

    #[test]
    fn issued_tokens_verify_with_roles_and_groups() {
        let keys = TokenKeys::from_secret(b"0123456789abcdef0123456789abcdef");
        let token = keys.issue(&user(true), Duration::from_secs(60));
        assert_eq!(keys.verify(&token).unwrap(), user(true));
        let token = keys.issue(&user(false), Duration::from_secs(60));
        assert!(!keys.verify(&token).unwrap().admin);
    }

    #[test]
    fn tokens_from_another_key_or_tampered_are_rejected() {
        let keys = TokenKeys::from_secret(b"0123456789abcdef0123456789abcdef");
        let other = TokenKeys::from_secret(b"fedcba9876543210fedcba9876543210");
        let token = other.issue(&user(true), Duration::from_secs(60));
        assert!(keys.verify(&token).is_err());
        let token = keys.issue(&user(false), Duration::from_secs(60));
        let mut parts: Vec<String> = token.split('.').map(String::from).collect();
        parts[1] = parts[1].chars().rev().collect();
        assert!(keys.verify(&parts.join(".")).is_err());
        assert!(keys.verify("garbage").is_err());
    }

    #[test]
    fn expired_tokens_are_rejected() {
        let keys = TokenKeys::from_secret(b"0123456789abcdef0123456789abcdef");
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            sub: "anna".into(),
            name: "Anna".into(),
            roles: vec![],
            groups: vec![],
            iat: now - 7200,
            exp: now - 3600,
        };
        let token =
            jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &keys.encoding).unwrap();
        assert!(keys.verify(&token).is_err());
    }
}
