//! Entra ID access tokens against a local OpenID/JWKS endpoint with generated RSA keys: the
//! valid token passes, every kind of bad token gets 401, keys rotate without a restart, and a
//! key endpoint that is down leaves the cached keys in service.

use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode as AxumStatus;
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use rsa::RsaPrivateKey;
use rsa::pkcs1::{EncodeRsaPrivateKey, EncodeRsaPublicKey};
use rsa::traits::PublicKeyParts;
use serde_json::{Value, json};

use crate::helpers::*;

const TENANT: &str = "11111111-2222-3333-4444-555555555555";
const OTHER_TENANT: &str = "99999999-8888-7777-6666-555555555555";
const AUDIENCE: &str = "6e1f0c4a-0000-4000-8000-00000000a11e";

struct Key {
    kid: &'static str,
    private: RsaPrivateKey,
}

impl Key {
    fn new(kid: &'static str) -> Key {
        Key {
            kid,
            private: RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).unwrap(),
        }
    }

    /// The key as Entra publishes it: no `alg`, with `use`, `x5t` and a per-key issuer.
    fn jwk(&self, base: &str) -> Value {
        let public = self.private.to_public_key();
        json!({
            "kty": "RSA", "use": "sig", "kid": self.kid, "x5t": self.kid,
            "n": URL_SAFE_NO_PAD.encode(public.n().to_bytes_be()),
            "e": URL_SAFE_NO_PAD.encode(public.e().to_bytes_be()),
            "issuer": format!("{base}/{TENANT}/v2.0"),
        })
    }

    fn sign(&self, claims: &Value) -> String {
        self.sign_as(self.kid, claims)
    }

    fn sign_as(&self, kid: &str, claims: &Value) -> String {
        let der = self.private.to_pkcs1_der().unwrap();
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(kid.into());
        jsonwebtoken::encode(&header, claims, &EncodingKey::from_rsa_der(der.as_bytes())).unwrap()
    }
}

/// What the local identity provider serves, changeable while the test runs.
#[derive(Clone, Default)]
struct Provider {
    keys: Arc<Mutex<Vec<Value>>>,
    down: Arc<Mutex<bool>>,
    base: Arc<Mutex<String>>,
}

async fn metadata(State(provider): State<Provider>, Path(tenant): Path<String>) -> Json<Value> {
    let base = provider.base.lock().unwrap().clone();
    Json(json!({
        "issuer": format!("{base}/{tenant}/v2.0"),
        "jwks_uri": format!("{base}/{tenant}/discovery/v2.0/keys"),
    }))
}

async fn keys(State(provider): State<Provider>) -> Result<Json<Value>, AxumStatus> {
    if *provider.down.lock().unwrap() {
        return Err(AxumStatus::SERVICE_UNAVAILABLE);
    }
    let mut keys = provider.keys.lock().unwrap().clone();
    // Entra's key sets may hold entries of other kinds; they must not spoil the rest.
    keys.push(json!({"kty": "oct", "kid": "not-rsa", "k": "c2VjcmV0"}));
    Ok(Json(json!({"keys": keys})))
}

async fn start_provider() -> (Provider, String) {
    let provider = Provider::default();
    let app = axum::Router::new()
        .route(
            "/{tenant}/v2.0/.well-known/openid-configuration",
            get(metadata),
        )
        .route("/{tenant}/discovery/v2.0/keys", get(keys))
        .with_state(provider.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    *provider.base.lock().unwrap() = base.clone();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (provider, base)
}

fn claims(base: &str, tenant: &str, changes: Value) -> Value {
    let now = chrono::Utc::now().timestamp();
    let mut claims = json!({
        "iss": format!("{base}/{tenant}/v2.0"), "aud": AUDIENCE, "tid": tenant,
        "oid": "aaaaaaaa-0000-4000-8000-000000000001", "ver": "2.0", "scp": "access_as_user",
        "name": "Anna Andersen", "preferred_username": "anna@vejstrand.example",
        "iat": now - 60, "nbf": now - 60, "exp": now + 3600,
    });
    for (key, value) in changes.as_object().unwrap() {
        claims[key] = value.clone();
    }
    claims
}

async fn status(app: &TestApp, token: &str, path: &str) -> StatusCode {
    app.get(path, token).await.status()
}

#[tokio::test]
async fn entra_tokens_are_checked_by_the_recipe() {
    let (provider, base) = start_provider().await;
    let first = Key::new("k1");
    provider.keys.lock().unwrap().push(first.jwk(&base));
    let authority = base.clone();
    let app = TestApp::spawn_with(move |config| {
        config.auth.entra.tenants = vec![TENANT.into()];
        config.auth.entra.audiences = vec![AUDIENCE.into()];
        config.auth.entra.authority = authority;
        config.auth.entra.unknown_key_refresh_secs = 0;
    })
    .await;
    let cases = "/api/v1/cases?q=carport";
    let now = chrono::Utc::now().timestamp();

    let valid = first.sign(&claims(&base, TENANT, json!({})));
    assert_eq!(status(&app, &valid, cases).await, StatusCode::OK);

    let refused = [
        (
            "expired",
            first.sign(&claims(
                &base,
                TENANT,
                json!({"exp": now - 600, "nbf": now - 7200}),
            )),
        ),
        (
            "not yet valid",
            first.sign(&claims(&base, TENANT, json!({"nbf": now + 3600}))),
        ),
        (
            "wrong issuer",
            first.sign(&claims(
                &base,
                TENANT,
                json!({"iss": format!("{base}/{OTHER_TENANT}/v2.0")}),
            )),
        ),
        (
            "wrong tenant",
            first.sign(&claims(&base, OTHER_TENANT, json!({}))),
        ),
        (
            "wrong audience",
            first.sign(&claims(&base, TENANT, json!({"aud": "api://someone-else"}))),
        ),
        (
            "missing scope",
            first.sign(&claims(&base, TENANT, json!({"scp": "User.Read"}))),
        ),
        (
            "v1 token",
            first.sign(&claims(&base, TENANT, json!({"ver": "1.0"}))),
        ),
        (
            "unknown key",
            Key::new("k9").sign(&claims(&base, TENANT, json!({}))),
        ),
        (
            "known kid, wrong key",
            Key::new("k9").sign_as("k1", &claims(&base, TENANT, json!({}))),
        ),
        ("alg none", unsigned(&claims(&base, TENANT, json!({})))),
        (
            "HS256 with the public key as secret",
            hs256_with_public_key(&first, &claims(&base, TENANT, json!({}))),
        ),
        ("tampered payload", tampered(&valid)),
        ("garbage", "not.a.token".to_string()),
    ];
    for (what, token) in &refused {
        assert_eq!(
            status(&app, token, cases).await,
            StatusCode::UNAUTHORIZED,
            "{what}"
        );
    }

    // Roles decide admin: a plain user gets 403 on admin routes, the app role lets in.
    let admin_route = "/api/v1/admin/filings";
    assert_eq!(
        status(&app, &valid, admin_route).await,
        StatusCode::FORBIDDEN
    );
    let admin = first.sign(&claims(
        &base,
        TENANT,
        json!({"roles": ["Journaliser.Admin"]}),
    ));
    assert_eq!(status(&app, &admin, admin_route).await, StatusCode::OK);

    // The user is (tenant, object id), with the name from the token.
    let item: Value = app
        .post_item_as(&valid, b"Et notat".to_vec(), "text/plain")
        .await
        .json()
        .await
        .unwrap();
    let filing: Value = app
        .file_as(
            &valid,
            json!({"item_id": item["id"], "case_id": "VK-2026-0001"}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        filing["created_by"],
        format!("{TENANT}:aaaaaaaa-0000-4000-8000-000000000001")
    );

    // Key rotation: a new key appears at the endpoint and is used without a restart.
    let second = Key::new("k2");
    provider.keys.lock().unwrap().push(second.jwk(&base));
    let rotated = second.sign(&claims(&base, TENANT, json!({})));
    assert_eq!(status(&app, &rotated, cases).await, StatusCode::OK);

    // The key endpoint goes down: the keys held keep serving; unknown keys stay refused.
    *provider.down.lock().unwrap() = true;
    assert_eq!(status(&app, &valid, cases).await, StatusCode::OK);
    assert_eq!(status(&app, &rotated, cases).await, StatusCode::OK);
    let third = Key::new("k3").sign(&claims(&base, TENANT, json!({})));
    assert_eq!(status(&app, &third, cases).await, StatusCode::UNAUTHORIZED);
}

fn unsigned(claims: &Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","kid":"k1","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    format!("{header}.{payload}.")
}

/// The classic confusion attack: an HMAC signature keyed with the RSA public key.
fn hs256_with_public_key(key: &Key, claims: &Value) -> String {
    let public = key.private.to_public_key().to_pkcs1_der().unwrap();
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(key.kid.into());
    jsonwebtoken::encode(
        &header,
        claims,
        &EncodingKey::from_secret(public.as_bytes()),
    )
    .unwrap()
}

fn tampered(token: &str) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    let mut payload: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    payload["roles"] = json!(["Journaliser.Admin"]);
    format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(payload.to_string()),
        parts[2]
    )
}
