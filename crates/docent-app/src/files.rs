//! Uploaded files, behind one small interface: a directory on local disk (the default), or
//! an S3-compatible bucket (AWS, MinIO, Cloudflare R2…) that every replica shares. Keys are
//! made by Docent (`{org}/{id}-{hash}`), never by users.

use std::path::PathBuf;
use std::sync::Arc;

use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt};

#[derive(Debug)]
enum Backend {
    Local(PathBuf),
    Bucket(Arc<dyn ObjectStore>),
}

#[derive(Debug)]
pub struct Files {
    backend: Backend,
}

fn io_error(e: object_store::Error) -> std::io::Error {
    match e {
        object_store::Error::NotFound { .. } => {
            std::io::Error::new(std::io::ErrorKind::NotFound, e.to_string())
        }
        other => std::io::Error::other(other.to_string()),
    }
}

/// Where an S3-compatible bucket is.
#[derive(Clone, Debug)]
pub struct BucketConfig {
    pub bucket: String,
    /// For providers other than AWS (MinIO, R2…); path-style addressing is used then.
    pub endpoint: Option<String>,
    pub region: String,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
}

impl Files {
    pub fn local(root: PathBuf) -> Files {
        Files {
            backend: Backend::Local(root),
        }
    }

    pub fn bucket(config: &BucketConfig) -> Result<Files, String> {
        let mut builder = object_store::aws::AmazonS3Builder::from_env()
            .with_bucket_name(&config.bucket)
            .with_region(&config.region);
        if let Some(endpoint) = &config.endpoint {
            builder = builder
                .with_endpoint(endpoint)
                .with_virtual_hosted_style_request(false)
                .with_allow_http(endpoint.starts_with("http://"));
        }
        if let (Some(id), Some(secret)) = (&config.access_key_id, &config.secret_access_key) {
            builder = builder
                .with_access_key_id(id)
                .with_secret_access_key(secret);
        }
        let store = builder
            .build()
            .map_err(|e| format!("S3 bucket {}: {e}", config.bucket))?;
        Ok(Files {
            backend: Backend::Bucket(Arc::new(store)),
        })
    }

    fn path(root: &std::path::Path, key: &str) -> PathBuf {
        root.join(key)
    }

    /// Stores `bytes` under `key`, atomically (a crash leaves the old file or none).
    pub async fn put(&self, key: &str, bytes: &[u8]) -> std::io::Result<()> {
        match &self.backend {
            Backend::Local(root) => {
                let path = Self::path(root, key);
                if let Some(dir) = path.parent() {
                    tokio::fs::create_dir_all(dir).await?;
                }
                let temp = path.with_extension(format!("tmp-{}", uuid::Uuid::now_v7().simple()));
                tokio::fs::write(&temp, bytes).await?;
                tokio::fs::rename(&temp, &path).await
            }
            Backend::Bucket(store) => store
                .put(&ObjectPath::from(key), bytes.to_vec().into())
                .await
                .map(|_| ())
                .map_err(io_error),
        }
    }

    pub async fn get(&self, key: &str) -> std::io::Result<Vec<u8>> {
        match &self.backend {
            Backend::Local(root) => tokio::fs::read(Self::path(root, key)).await,
            Backend::Bucket(store) => {
                let object = store.get(&ObjectPath::from(key)).await.map_err(io_error)?;
                object.bytes().await.map(|b| b.to_vec()).map_err(io_error)
            }
        }
    }

    /// Removes a file; a missing one is not an error.
    pub async fn delete(&self, key: &str) -> std::io::Result<()> {
        let result = match &self.backend {
            Backend::Local(root) => tokio::fs::remove_file(Self::path(root, key)).await,
            Backend::Bucket(store) => store.delete(&ObjectPath::from(key)).await.map_err(io_error),
        };
        match result {
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
