//! Uploaded files, behind one small interface: a directory on local disk (the default).
//! Keys are made by Docent (`{org}/{document}`), never by users.

use std::path::PathBuf;

#[derive(Debug)]
pub struct Files {
    root: PathBuf,
}

impl Files {
    pub fn local(root: PathBuf) -> Files {
        Files { root }
    }

    fn path(&self, key: &str) -> PathBuf {
        self.root.join(key)
    }

    /// Stores `bytes` under `key`, atomically (a crash leaves the old file or none).
    pub async fn put(&self, key: &str, bytes: &[u8]) -> std::io::Result<()> {
        let path = self.path(key);
        if let Some(dir) = path.parent() {
            tokio::fs::create_dir_all(dir).await?;
        }
        let temp = path.with_extension(format!("tmp-{}", uuid::Uuid::now_v7().simple()));
        tokio::fs::write(&temp, bytes).await?;
        tokio::fs::rename(&temp, &path).await
    }

    pub async fn get(&self, key: &str) -> std::io::Result<Vec<u8>> {
        tokio::fs::read(self.path(key)).await
    }

    /// Removes a file; a missing one is not an error.
    pub async fn delete(&self, key: &str) -> std::io::Result<()> {
        match tokio::fs::remove_file(self.path(key)).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

/// Where new bytes went, and what identifies them.
#[derive(Debug)]
pub struct Stored {
    pub key: String,
    /// SHA-256, hex.
    pub content_hash: String,
    pub size: i64,
}

impl Files {
    /// Stores bytes of organization `org` under a new key that carries their hash.
    pub async fn store(&self, org: docent_core::OrgId, bytes: &[u8]) -> std::io::Result<Stored> {
        use sha2::{Digest, Sha256};
        let content_hash: String = Sha256::digest(bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let key = format!(
            "{org}/{}-{}",
            uuid::Uuid::now_v7().simple(),
            &content_hash[..16]
        );
        self.put(&key, bytes).await?;
        Ok(Stored {
            key,
            content_hash,
            size: bytes.len() as i64,
        })
    }
}
