//! The configured connector instances, built by name: the built-in archive and every
//! `[[connectors]]` entry; and their settings as an admin may see them.

use std::sync::Arc;

use serde::Serialize;
use serde_json::{Value, json};

use super::{
    ARCHIVE, ArchiveConnector, Connector, Connectors, F2Connector, MailinConnector,
    SharepointConnector, WebdavConnector, WebhookConnector,
};
use crate::config::{Config, ConnectorConfig, Secret};

#[derive(Debug, thiserror::Error)]
#[error("connector {name:?}: {reason}")]
pub struct SetupError {
    pub name: String,
    pub reason: String,
}

impl Connectors {
    /// Every instance the configuration names. Settings only checkable by building the
    /// connector (a URL, a body template) fail here, at start.
    pub fn from_config(config: &Config) -> Result<Connectors, SetupError> {
        let mut connectors = Connectors::default();
        connectors.insert(
            ARCHIVE,
            Arc::new(ArchiveConnector::new(config.archive_root())),
        );
        for instance in &config.connectors {
            let built: Result<Arc<dyn Connector>, String> = match instance {
                ConnectorConfig::Archive(archive) => {
                    Ok(Arc::new(ArchiveConnector::new(&archive.root)))
                }
                ConnectorConfig::Webdav(webdav) => {
                    WebdavConnector::new(webdav).map(|c| Arc::new(c) as _)
                }
                ConnectorConfig::Webhook(webhook) => {
                    WebhookConnector::new(webhook).map(|c| Arc::new(c) as _)
                }
                ConnectorConfig::Mailin(mailin) => {
                    MailinConnector::new(mailin).map(|c| Arc::new(c) as _)
                }
                ConnectorConfig::F2(f2) => {
                    let state = config.data_dir.join("connectors").join(&f2.name);
                    F2Connector::new(f2, &state).map(|c| Arc::new(c) as _)
                }
                ConnectorConfig::Sharepoint(sharepoint) => {
                    SharepointConnector::new(sharepoint).map(|c| Arc::new(c) as _)
                }
            };
            let connector = built.map_err(|reason| SetupError {
                name: instance.name().to_string(),
                reason,
            })?;
            connectors.insert(instance.name(), connector);
        }
        Ok(connectors)
    }
}

/// A configured instance as an admin may see it: every secret shown as [`Secret::SHOWN`] (or
/// empty when not set), and the URLs without their passwords and query values.
#[derive(Debug, Clone, Serialize)]
pub struct InstanceSettings {
    pub name: String,
    pub kind: &'static str,
    pub settings: Value,
}

/// The settings of every instance [`Connectors::from_config`] builds, the built-in archive
/// first.
pub fn settings(config: &Config) -> Vec<InstanceSettings> {
    let builtin = InstanceSettings {
        name: ARCHIVE.into(),
        kind: "archive",
        settings: json!({ "root": config.archive_root() }),
    };
    std::iter::once(builtin)
        .chain(config.connectors.iter().map(|instance| {
            // A path that is not UTF-8 cannot be serialised; the instance is listed anyway.
            let mut settings = serde_json::to_value(instance)
                .unwrap_or_else(|e| json!({ "unreadable": e.to_string() }));
            if let Some(fields) = settings.as_object_mut() {
                fields.remove("name");
                fields.remove("kind");
                // A fagsystem's API key is sometimes written into the body template itself.
                if let Some(body) = fields.get_mut("body")
                    && body.as_str().is_some_and(|b| !b.is_empty())
                {
                    *body = json!(Secret::SHOWN);
                }
            }
            hide_url_secrets(&mut settings);
            InstanceSettings {
                name: instance.name().to_string(),
                kind: instance.kind(),
                settings,
            }
        }))
        .collect()
}

/// Every URL in `value` without the password of its user part and without its query values,
/// which for fagsystems often carry an API key.
fn hide_url_secrets(value: &mut Value) {
    match value {
        Value::String(text) if text.starts_with("http://") || text.starts_with("https://") => {
            *text = crate::store::url_without_secrets(text, |_| true, Secret::SHOWN);
        }
        Value::Array(items) => items.iter_mut().for_each(hide_url_secrets),
        Value::Object(fields) => fields.values_mut().for_each(hide_url_secrets),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_show_no_secret() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journaliser.toml");
        std::fs::write(
            &path,
            "[[connectors]]\nname = \"dav\"\nkind = \"webdav\"\n\
             url = \"https://j:in-the-url@dav.example/sager/?key=in-the-query\"\n\
             username = \"j\"\npassword = \"hunter2\"\n\n\
             [[connectors]]\nname = \"byg\"\nkind = \"webhook\"\nurl = \"https://byg.example/journal\"\n\
             bearer_token = \"t0ken\"\nheaders = { X-Api-Key = \"k3y\" }\n\
             body = '{\"apikey\": \"in-the-body\", \"title\": \"{title}\"}'\n",
        )
        .unwrap();
        let config = Config::load(Some(&path), Vec::new()).unwrap();
        let shown = serde_json::to_string(&settings(&config)).unwrap();
        for secret in [
            "hunter2",
            "t0ken",
            "k3y",
            "in-the-url",
            "in-the-query",
            "in-the-body",
        ] {
            assert!(!shown.contains(secret), "{secret} shown: {shown}");
        }
        let all = settings(&config);
        assert_eq!(
            all.iter()
                .map(|i| (i.name.as_str(), i.kind))
                .collect::<Vec<_>>(),
            [
                ("archive", "archive"),
                ("dav", "webdav"),
                ("byg", "webhook")
            ]
        );
        assert_eq!(
            all[1].settings["url"],
            "https://j:•••@dav.example/sager/?key=•••"
        );
        assert_eq!(all[1].settings["username"], "j");
        assert_eq!(all[2].settings["headers"]["X-Api-Key"], Secret::SHOWN);
        assert_eq!(all[2].settings["id_pointer"], "/id");
    }
}
