//! The add-in's static files, embedded at build time from `web/addin/` together with the icons
//! drawn in code, each with its content type, cache lifetime and entity tag.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::http::HeaderValue;
use sha2::{Digest, Sha256};

use super::icons::{self, Style};

/// `(path below web/addin/, bytes)`, written by `build.rs`.
static FILES: &[(&str, &[u8])] = include!(concat!(env!("OUT_DIR"), "/addin_files.rs"));

/// Pages and the add-in's own scripts are checked on every load (cheaply: an unchanged file
/// answers 304 without a body), so a new release never pairs a new page with an old script.
pub const REVALIDATE: &str = "no-cache";
/// Images (Office fetches the icons the manifests name, and refuses uncacheable ones), fonts and
/// the vendored libraries change rarely: a week, then revalidated.
const LONG_LIVED: &str = "public, max-age=604800";

pub struct StaticFile {
    pub bytes: Bytes,
    pub content_type: &'static str,
    pub cache_control: &'static str,
    pub etag: HeaderValue,
}

/// Every embedded file by its path below `/addin/`.
pub struct Assets(HashMap<String, StaticFile>);

impl Assets {
    pub fn embedded() -> Assets {
        let drawn = icons::ASSET_SIZES.into_iter().map(|size| {
            (
                icons::asset_path(size),
                icons::png(Style::Color, size).into(),
            )
        });
        let files = FILES
            .iter()
            .map(|&(path, bytes)| (path.to_string(), Bytes::from_static(bytes)));
        Assets::from_files(files.chain(drawn))
    }

    fn from_files(files: impl IntoIterator<Item = (String, Bytes)>) -> Assets {
        let files = files
            .into_iter()
            .map(|(path, bytes)| {
                let digest = hex::encode(&Sha256::digest(&bytes)[..12]);
                let etag = HeaderValue::from_str(&format!("\"{digest}\""))
                    .expect("hex digits make a valid header value");
                let file = StaticFile {
                    content_type: content_type(&path),
                    cache_control: cache_control(&path),
                    bytes,
                    etag,
                };
                (path, file)
            })
            .collect();
        Assets(files)
    }

    pub fn get(&self, path: &str) -> Option<&StaticFile> {
        self.0.get(path)
    }
}

fn extension(path: &str) -> String {
    path.rsplit_once('.')
        .map(|(_, extension)| extension.to_ascii_lowercase())
        .unwrap_or_default()
}

fn content_type(path: &str) -> &'static str {
    match extension(path).as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "txt" => "text/plain; charset=utf-8",
        "png" => "image/png",
        "svg" => "image/svg+xml",
        "ico" => "image/x-icon",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "woff2" => "font/woff2",
        "woff" => "font/woff",
        "ttf" => "font/ttf",
        _ => "application/octet-stream",
    }
}

fn cache_control(path: &str) -> &'static str {
    let lasting = matches!(
        extension(path).as_str(),
        "png" | "svg" | "ico" | "jpg" | "jpeg" | "gif" | "webp" | "woff2" | "woff" | "ttf"
    );
    if lasting || path.starts_with("vendor/") {
        LONG_LIVED
    } else {
        REVALIDATE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_and_lifetimes_follow_the_kind_of_file() {
        let assets = Assets::from_files(
            [
                ("index.html", &b"<!doctype html>"[..]),
                ("app.js", b"1"),
                ("assets/icon-16.png", b"\x89PNG"),
                ("vendor/msal-browser.min.js", b"2"),
            ]
            .map(|(path, bytes)| (path.to_string(), Bytes::from_static(bytes))),
        );
        let page = assets.get("index.html").unwrap();
        assert_eq!(
            (page.content_type, page.cache_control),
            ("text/html; charset=utf-8", "no-cache")
        );
        assert_eq!(assets.get("app.js").unwrap().cache_control, "no-cache");
        let icon = assets.get("assets/icon-16.png").unwrap();
        assert_eq!(icon.content_type, "image/png");
        assert!(icon.cache_control.contains("max-age=604800"));
        assert!(
            assets
                .get("vendor/msal-browser.min.js")
                .unwrap()
                .cache_control
                .starts_with("public")
        );
        assert_ne!(page.etag, icon.etag);
        assert!(assets.get("missing.html").is_none());
    }

    /// Whatever the front end ships is embedded: every file below web/addin/ is served.
    #[test]
    fn every_file_below_web_addin_is_embedded() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("web/addin");
        let assets = Assets::embedded();
        let mut stack = vec![root.clone()];
        while let Some(dir) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries {
                let path = entry.unwrap().path();
                if path.file_name().unwrap().to_string_lossy().starts_with('.') {
                    continue;
                }
                if path.is_dir() {
                    stack.push(path);
                } else {
                    let relative = path
                        .strip_prefix(&root)
                        .unwrap()
                        .to_string_lossy()
                        .replace('\\', "/");
                    let file = assets
                        .get(&relative)
                        .unwrap_or_else(|| panic!("{relative} is not embedded"));
                    let on_disk = std::fs::read(&path).unwrap();
                    assert!(
                        file.bytes == on_disk,
                        "{relative} differs from its embedded copy"
                    );
                }
            }
        }
    }

    #[test]
    fn the_icons_the_manifests_name_are_drawn() {
        let assets = Assets::embedded();
        for size in icons::ASSET_SIZES {
            let icon = assets.get(&format!("assets/icon-{size}.png")).unwrap();
            assert_eq!(icon.bytes, icons::png(Style::Color, size));
            assert_eq!(icon.content_type, "image/png");
        }
    }
}
