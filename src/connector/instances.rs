//! The configured connector instances, built by name: the built-in archive and every
//! `[[connectors]]` entry.

use std::sync::Arc;

use super::{
    ARCHIVE, ArchiveConnector, Connector, Connectors, F2Connector, MailinConnector,
    SharepointConnector, WebdavConnector, WebhookConnector,
};
use crate::config::{Config, ConnectorConfig};

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
