//! The Post Once Exactly addresses F2 handed out, kept on disk before the payload is sent:
//! after a crash the retry posts to the same address, and F2 answers it with what it made
//! the first time instead of making it again. The addresses of the cases made here are kept
//! the same way.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use reqwest::Url;
use tokio::io::AsyncWriteExt;
use tokio::sync::Mutex;

use super::{ConnectorError, TARGET};

/// One line a step: `<step>\t<POE URL>`, appended and synced.
pub(super) struct PoeLog {
    path: PathBuf,
    known: Mutex<HashMap<String, Url>>,
}

impl PoeLog {
    /// The log in `dir`, read back; the folder is made when the first address is recorded.
    pub(super) fn open(dir: &Path) -> Result<PoeLog, String> {
        let path = dir.join("poe.log");
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        };
        // A line cut off by a crash has no URL that parses, and is passed over: its step got
        // no payload yet, so a fresh address does no harm.
        let known = text
            .lines()
            .filter_map(|line| {
                let (step, url) = line.split_once('\t')?;
                Some((step.to_string(), Url::parse(url).ok()?))
            })
            .collect();
        Ok(PoeLog {
            path,
            known: Mutex::new(known),
        })
    }

    pub(super) async fn get(&self, step: &str) -> Option<Url> {
        self.known.lock().await.get(step).cloned()
    }

    /// Records the address of `step` on disk, then in memory.
    pub(super) async fn record(&self, step: &str, url: &Url) -> Result<(), ConnectorError> {
        let mut known = self.known.lock().await;
        let failed = |e: std::io::Error| {
            ConnectorError::Transient(format!("{TARGET}: cannot record the POE address: {e}"))
        };
        if let Some(dir) = self.path.parent() {
            tokio::fs::create_dir_all(dir).await.map_err(failed)?;
        }
        let mut file = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .await
            .map_err(failed)?;
        file.write_all(format!("{step}\t{url}\n").as_bytes())
            .await
            .map_err(failed)?;
        file.sync_data().await.map_err(failed)?;
        known.insert(step.to_string(), url.clone());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn addresses_survive_a_restart_and_a_cut_line_is_passed_over() {
        let dir = tempfile::tempdir().unwrap();
        let log = PoeLog::open(dir.path()).unwrap();
        let url = Url::parse("https://f2.example/poe/1").unwrap();
        log.record("k-1/matter", &url).await.unwrap();
        std::fs::OpenOptions::new()
            .append(true)
            .open(dir.path().join("poe.log"))
            .and_then(|mut f| std::io::Write::write_all(&mut f, b"k-2/matter\thttps:"))
            .unwrap();
        let again = PoeLog::open(dir.path()).unwrap();
        assert_eq!(again.get("k-1/matter").await, Some(url));
        assert_eq!(again.get("k-2/matter").await, None);
    }
}
