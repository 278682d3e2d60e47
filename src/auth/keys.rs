//! Secrets the service makes for itself on first start and keeps in the data directory.

use std::io::{self, Write};
use std::path::Path;

use rand::RngCore;

/// Reads the hex-encoded secret at `path`, or makes a random 32-byte one there, readable by the
/// owner only. Two processes racing to create it end up with the same key.
pub fn load_or_create_secret(path: &Path) -> io::Result<Vec<u8>> {
    if let Some(secret) = read_secret(path)? {
        return Ok(secret);
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut secret = [0u8; 32];
    rand::rng().fill_bytes(&mut secret);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(mut file) => {
            file.write_all(hex::encode(secret).as_bytes())?;
            file.sync_all()?;
            Ok(secret.to_vec())
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            read_secret(path)?.ok_or_else(|| io::Error::other("secret file vanished"))
        }
        Err(e) => Err(e),
    }
}

fn read_secret(path: &Path) -> io::Result<Option<Vec<u8>>> {
    match std::fs::read_to_string(path) {
        Ok(text) => hex::decode(text.trim()).map(Some).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{} is not a hex key", path.display()),
            )
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_is_made_once_and_then_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/key");
        let first = load_or_create_secret(&path).unwrap();
        assert_eq!(first.len(), 32);
        assert_eq!(load_or_create_secret(&path).unwrap(), first);
    }
}
