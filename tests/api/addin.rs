//! The add-in side of the service over HTTP: pane files with their types, lifetimes and
//! framing policy, the sign-in settings, and the manifests for the configured address.

use reqwest::StatusCode;
use reqwest::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, ETAG, IF_NONE_MATCH, LOCATION,
    X_FRAME_OPTIONS,
};
use serde_json::{Value, json};

use crate::helpers::*;
use crate::process::{journaliser, output};

const PUBLIC: &str = "https://journaliser.vejstrand.example";

fn header(response: &reqwest::Response, name: reqwest::header::HeaderName) -> &str {
    response
        .headers()
        .get(&name)
        .map(|v| v.to_str().unwrap())
        .unwrap_or_default()
}

async fn anonymous(app: &TestApp, path: &str) -> reqwest::Response {
    app.client.get(app.url(path)).send().await.unwrap()
}

#[tokio::test]
async fn pane_files_are_served_with_their_types_lifetimes_and_framing_policy() {
    let app = TestApp::spawn().await;

    let page = anonymous(&app, "/addin/").await;
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(header(&page, CONTENT_TYPE), "text/html; charset=utf-8");
    assert_eq!(header(&page, CACHE_CONTROL), "no-cache");
    assert!(
        page.headers().get(X_FRAME_OPTIONS).is_none(),
        "Office frames the panes"
    );
    let policy = header(&page, CONTENT_SECURITY_POLICY).to_string();
    assert!(
        policy.contains("script-src 'self' https://appsforoffice.microsoft.com;"),
        "{policy}"
    );
    let ancestors = policy.split("frame-ancestors ").nth(1).unwrap().to_string();
    for host in [
        "https://outlook.office.com",
        "https://outlook.office365.com",
        "https://outlook.cloud.microsoft",
        "https://*.officeapps.live.com",
    ] {
        assert!(
            ancestors.split(' ').any(|a| a == host),
            "{host}: {ancestors}"
        );
    }
    assert!(
        page.text().await.unwrap().trim_start().starts_with("<!"),
        "an HTML page"
    );

    let moved = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(app.url("/addin"))
        .send()
        .await
        .unwrap();
    assert_eq!(moved.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(header(&moved, LOCATION), "/addin/");

    for page in ["outlook.html", "word.html", "commands.html"] {
        let response = anonymous(&app, &format!("/addin/{page}")).await;
        assert_eq!(response.status(), StatusCode::OK, "{page}");
        assert_eq!(
            header(&response, CONTENT_TYPE),
            "text/html; charset=utf-8",
            "{page}"
        );
    }
    let script = anonymous(&app, "/addin/launchevent.js").await;
    assert_eq!(
        header(&script, CONTENT_TYPE),
        "text/javascript; charset=utf-8"
    );

    // Icons are cacheable (Office refuses icons that are not), and revalidate cheaply.
    let icon = anonymous(&app, "/addin/assets/icon-32.png").await;
    assert_eq!(icon.status(), StatusCode::OK);
    assert_eq!(header(&icon, CONTENT_TYPE), "image/png");
    let cache = header(&icon, CACHE_CONTROL).to_string();
    assert!(
        cache.starts_with("public, max-age=") && !cache.contains("no-"),
        "{cache}"
    );
    let tag = header(&icon, ETAG).to_string();
    let bytes = icon.bytes().await.unwrap();
    assert_eq!(
        bytes.as_ref(),
        journaliser::web::icons::png(journaliser::web::icons::Style::Color, 32)
    );
    let again = app
        .client
        .get(app.url("/addin/assets/icon-32.png"))
        .header(IF_NONE_MATCH, &tag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert!(again.bytes().await.unwrap().is_empty());

    assert_eq!(
        anonymous(&app, "/addin/findes-ikke.js").await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        anonymous(&app, "/addin/../Cargo.toml").await.status(),
        StatusCode::NOT_FOUND
    );

    // Everything else may not be framed at all.
    for path in ["/healthz", "/api/v1/items/x"] {
        let response = anonymous(&app, path).await;
        assert_eq!(header(&response, X_FRAME_OPTIONS), "DENY", "{path}");
        assert!(
            header(&response, CONTENT_SECURITY_POLICY).contains("frame-ancestors 'none'"),
            "{path}"
        );
    }
}

#[tokio::test]
async fn the_pane_signs_in_with_development_tokens_unless_entra_is_configured() {
    let app = TestApp::spawn().await;
    let settings: Value = anonymous(&app, "/addin/config.json")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        settings,
        json!({"auth": "dev", "client_id": null, "authority": null, "scopes": []})
    );

    let app = TestApp::spawn_with(|config| {
        config.addin.public_url = PUBLIC.into();
        config.addin.client_id = "3f2c5b1e-8d4a-4e7b-9c61-2a7f0e5d9b43".into();
        config.auth.entra.tenants = vec!["7a1e4c2d-5b3f-4d6e-8a9b-0c1d2e3f4a5b".into()];
        config.auth.entra.audiences = vec!["3f2c5b1e-8d4a-4e7b-9c61-2a7f0e5d9b43".into()];
        // Nothing on this machine answers here: the key refresher must not go out on the net.
        config.auth.entra.authority = "http://127.0.0.1:9".into();
    })
    .await;
    let response = anonymous(&app, "/addin/config.json").await;
    let policy = header(&response, CONTENT_SECURITY_POLICY).to_string();
    assert!(
        policy.contains("connect-src 'self' http://127.0.0.1:9;"),
        "{policy}"
    );
    let settings: Value = response.json().await.unwrap();
    assert_eq!(
        settings,
        json!({
            "auth": "entra",
            "client_id": "3f2c5b1e-8d4a-4e7b-9c61-2a7f0e5d9b43",
            "authority": "http://127.0.0.1:9/7a1e4c2d-5b3f-4d6e-8a9b-0c1d2e3f4a5b",
            "scopes": ["api://journaliser.vejstrand.example/3f2c5b1e-8d4a-4e7b-9c61-2a7f0e5d9b43/access_as_user"],
        })
    );
    let secrets = ["hash", "key", "secret", "password"];
    assert!(
        !secrets.iter().any(|s| settings.to_string().contains(s)),
        "{settings}"
    );
}

#[tokio::test]
async fn the_served_manifests_are_those_the_manifest_command_writes() {
    let app = TestApp::spawn_with(|config| config.addin.public_url = format!("{PUBLIC}/")).await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("manifester");
    output(
        journaliser(dir.path())
            .args(["manifest", "--base-url", PUBLIC, "--out"])
            .arg(&out),
    );
    for (name, content_type) in [
        ("outlook.xml", "application/xml; charset=utf-8"),
        ("word.xml", "application/xml; charset=utf-8"),
        ("manifest.json", "application/json"),
    ] {
        let response = anonymous(&app, &format!("/addin/manifest/{name}")).await;
        assert_eq!(response.status(), StatusCode::OK, "{name}");
        assert_eq!(header(&response, CONTENT_TYPE), content_type, "{name}");
        let served = response.text().await.unwrap();
        let written = std::fs::read_to_string(out.join(name)).unwrap();
        assert_eq!(served, written, "{name}");
        assert!(served.contains(&format!("{PUBLIC}/addin/")), "{name}");
    }
    assert!(out.join("en-us.json").exists());

    // Another address, other ids: one manifest per environment.
    let other = dir.path().join("test");
    output(
        journaliser(dir.path())
            .args([
                "manifest",
                "--base-url",
                "https://journaliser-test.vejstrand.example",
                "--out",
            ])
            .arg(&other),
    );
    let id = |path: std::path::PathBuf| {
        let text = std::fs::read_to_string(path).unwrap();
        text.split("<Id>")
            .nth(1)
            .unwrap()
            .split("</Id>")
            .next()
            .unwrap()
            .to_string()
    };
    assert_ne!(id(out.join("outlook.xml")), id(other.join("outlook.xml")));

    let refused = journaliser(dir.path())
        .args([
            "manifest",
            "--base-url",
            "http://journaliser.vejstrand.example",
        ])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("https://"));
}

#[tokio::test]
async fn without_an_https_address_no_manifests_are_served() {
    let app = TestApp::spawn().await;
    let response = anonymous(&app, "/addin/manifest/outlook.xml").await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("addin.public_url"),
        "{body}"
    );
}
