//! `Blobs` over a local folder: the key is the path below the root. Writes go to a temporary
//! file in the same folder and are renamed into place, so readers never see half an object.

use std::path::{Path, PathBuf};

use tokio::io::AsyncWriteExt;

use crate::ports::blobs::{BlobError, BlobReader, Blobs, check_key};

#[derive(Clone, Debug)]
pub struct FolderBlobs {
    root: PathBuf,
}

impl FolderBlobs {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path(&self, key: &str) -> Result<PathBuf, BlobError> {
        check_key(key)?;
        Ok(self.root.join(key))
    }

    /// A temporary name next to the target: same file system, so the rename is atomic.
    fn staging(target: &Path) -> PathBuf {
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        // Unique within the process too: two workers of one process may write the same key.
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        target.with_file_name(format!(".{name}.{}.{n}.part", std::process::id()))
    }

    /// Makes a staged file durable and renames it into place.
    async fn settle(staging: &Path, target: &Path) -> Result<(), BlobError> {
        tokio::fs::File::open(staging)
            .await
            .map_err(BlobError::unavailable)?
            .sync_all()
            .await
            .map_err(BlobError::unavailable)?;
        tokio::fs::rename(staging, target)
            .await
            .map_err(BlobError::unavailable)
    }

    async fn parent(target: &Path) -> Result<(), BlobError> {
        if let Some(parent) = target.parent() {
            tokio::fs::create_dir_all(parent)
                .await
                .map_err(BlobError::unavailable)?;
        }
        Ok(())
    }
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) -> std::io::Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        if entry.file_type()?.is_dir() {
            walk(root, &path, out)?;
        } else if let Ok(rel) = path.strip_prefix(root) {
            let key: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            out.push(key.join("/"));
        }
    }
    Ok(())
}

#[async_trait::async_trait]
impl Blobs for FolderBlobs {
    async fn list(&self, prefix: &str) -> Result<Vec<String>, BlobError> {
        let root = self.root.clone();
        // Walk only the deepest folder the prefix names whole; filter the rest by prefix.
        let start = match prefix.rfind('/') {
            Some(i) => root.join(&prefix[..i]),
            None => root.clone(),
        };
        let prefix = prefix.to_owned();
        tokio::task::spawn_blocking(move || {
            let mut keys = Vec::new();
            walk(&root, &start, &mut keys)?;
            keys.retain(|k| k.starts_with(&prefix));
            keys.sort();
            Ok::<_, std::io::Error>(keys)
        })
        .await
        .map_err(BlobError::unavailable)?
        .map_err(BlobError::unavailable)
    }

    async fn open(&self, key: &str) -> Result<Option<BlobReader>, BlobError> {
        let path = self.path(key)?;
        match tokio::fs::File::open(&path).await {
            Ok(file) => {
                // A folder opens too, but names no object: it only begins other keys.
                let meta = file.metadata().await.map_err(BlobError::unavailable)?;
                Ok(meta.is_file().then(|| Box::pin(file) as BlobReader))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(BlobError::unavailable(e)),
        }
    }

    async fn read_range(
        &self,
        key: &str,
        start: u64,
        end: u64,
    ) -> Result<Option<Vec<u8>>, BlobError> {
        use tokio::io::{AsyncReadExt, AsyncSeekExt};
        let path = self.path(key)?;
        let mut file = match tokio::fs::File::open(&path).await {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(BlobError::unavailable(e)),
        };
        let meta = file.metadata().await.map_err(BlobError::unavailable)?;
        if !meta.is_file() {
            return Ok(None);
        }
        file.seek(std::io::SeekFrom::Start(start))
            .await
            .map_err(BlobError::unavailable)?;
        let mut bytes = Vec::new();
        file.take(end.saturating_sub(start))
            .read_to_end(&mut bytes)
            .await
            .map_err(BlobError::unavailable)?;
        Ok(Some(bytes))
    }

    async fn put_file(&self, key: &str, source: &Path) -> Result<(), BlobError> {
        let target = self.path(key)?;
        Self::parent(&target).await?;
        let staging = Self::staging(&target);
        tokio::fs::copy(source, &staging)
            .await
            .map_err(BlobError::unavailable)?;
        Self::settle(&staging, &target).await
    }

    async fn put_scratch(&self, key: &str, scratch: tempfile::TempPath) -> Result<(), BlobError> {
        let target = self.path(key)?;
        Self::parent(&target).await?;
        let staging = Self::staging(&target);
        // Moved when the scratch file is on the same file system, copied otherwise.
        let to = staging.clone();
        tokio::task::spawn_blocking(move || match scratch.persist(&to) {
            Ok(()) => Ok(()),
            Err(e) if e.error.kind() == std::io::ErrorKind::CrossesDevices => {
                std::fs::copy(&e.path, &to).map(|_| ())
            }
            Err(e) => Err(e.error),
        })
        .await
        .map_err(BlobError::unavailable)?
        .map_err(BlobError::unavailable)?;
        Self::settle(&staging, &target).await
    }

    async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), BlobError> {
        let target = self.path(key)?;
        Self::parent(&target).await?;
        let staging = Self::staging(&target);
        let mut file = tokio::fs::File::create(&staging)
            .await
            .map_err(BlobError::unavailable)?;
        file.write_all(&bytes)
            .await
            .map_err(BlobError::unavailable)?;
        file.sync_all().await.map_err(BlobError::unavailable)?;
        tokio::fs::rename(&staging, &target)
            .await
            .map_err(BlobError::unavailable)
    }

    async fn delete(&self, key: &str) -> Result<(), BlobError> {
        match tokio::fs::remove_file(self.path(key)?).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(BlobError::unavailable(e)),
        }
    }
}
