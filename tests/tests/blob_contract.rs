//! The `Blobs` contract: every rule of the port, run against both adapters (a folder, and S3 on
//! the local emulator with a bucket of its own per test), so that they cannot drift apart. The
//! S3 store asks for pages of two keys, so every listing below crosses pages there.

use std::path::Path;
use std::sync::{Arc, Mutex};

use aws_sdk_s3::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_s3::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_s3::error::BoxError;
use clientwatch::adapters::folder::FolderBlobs;
use clientwatch::adapters::s3::S3Blobs;
use clientwatch::ports::blobs::{BlobError, Blobs};
use clientwatch_tests::{emulator_url, fresh_bucket, s3_client};
use tempfile::TempDir;
use tokio::io::AsyncReadExt;

macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        mod folder {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                super::$name(&super::Store::folder()).await;
            })*
        }
        mod s3 {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                super::$name(&super::Store::s3().await).await;
            })*
        }
    };
}

contract!(
    list_returns_the_keys_under_a_prefix_in_byte_order,
    list_follows_every_page,
    opening_a_missing_key_is_none,
    a_streamed_read_returns_exactly_the_bytes_written,
    a_range_read_returns_exactly_the_bytes_of_the_range,
    put_file_replaces_an_existing_object,
    a_scratch_file_is_stored_and_gone,
    put_replaces_an_existing_object,
    a_deleted_object_is_gone,
    deleting_a_missing_key_is_ok,
    put_file_of_a_missing_file_fails_and_stores_nothing,
    invalid_keys_are_refused_by_every_operation,
);

/// Keys asked for per `ListObjectsV2` call on the S3 store.
const PAGE: u16 = 2;

/// One adapter under test, its scratch folder, and (on S3) every request it sent.
struct Store {
    blobs: Arc<dyn Blobs>,
    s3: Option<(String, Requests)>,
    dir: TempDir,
}

/// Records the method and URI of every HTTP request an S3 client sends.
#[derive(Clone, Debug, Default)]
struct Requests(Arc<Mutex<Vec<(String, String)>>>);

impl Intercept for Requests {
    fn name(&self) -> &'static str {
        "Requests"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request();
        self.0
            .lock()
            .unwrap()
            .push((request.method().to_owned(), request.uri().to_owned()));
        Ok(())
    }
}

impl Requests {
    fn all(&self) -> Vec<(String, String)> {
        self.0.lock().unwrap().clone()
    }
}

impl Store {
    fn folder() -> Self {
        let dir = tempfile::tempdir().expect("a temporary folder");
        Self {
            blobs: Arc::new(FolderBlobs::new(dir.path().join("blobs"))),
            s3: None,
            dir,
        }
    }

    async fn s3() -> Self {
        let client = s3_client().await;
        let bucket = fresh_bucket(&client).await;
        let requests = Requests::default();
        let client = aws_sdk_s3::Client::from_conf(
            client
                .config()
                .to_builder()
                .interceptor(requests.clone())
                .build(),
        );
        Self {
            blobs: Arc::new(S3Blobs::new(client, &bucket).with_page_size(PAGE)),
            s3: Some((bucket, requests)),
            dir: tempfile::tempdir().expect("a temporary folder"),
        }
    }

    async fn put(&self, key: &str, bytes: &[u8]) {
        self.blobs.put(key, bytes.to_vec()).await.unwrap();
    }

    /// The whole object, read through the stream, or `None` when there is none.
    async fn read(&self, key: &str) -> Option<Vec<u8>> {
        let mut reader = self.blobs.open(key).await.unwrap()?;
        let mut bytes = Vec::new();
        reader.read_to_end(&mut bytes).await.unwrap();
        Some(bytes)
    }

    async fn list(&self, prefix: &str) -> Vec<String> {
        self.blobs.list(prefix).await.unwrap()
    }

    /// A file in the scratch folder with `bytes` in it.
    fn file(&self, name: &str, bytes: &[u8]) -> std::path::PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }
}

/// Deterministic bytes that do not repeat with any short period (xorshift).
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 32) as u8
        })
        .collect()
}

fn strings(keys: &[&str]) -> Vec<String> {
    keys.iter().map(|k| k.to_string()).collect()
}

async fn list_returns_the_keys_under_a_prefix_in_byte_order(s: &Store) {
    // Written out of order; byte order puts upper case before lower and `ä` after `z`.
    let keys = [
        "feeds/2026-11-20/part-0010.csv",
        "feeds/2026-11-21/part-0001.csv",
        "feeds/2026-11-20/part-0002.csv",
        "feeds/2026-11-20/manifest.json",
        "feeds/2026-11-20/part-0001.csv",
        "feeds/2026-11-20/partial.csv",
        "feeds/2026-11-2/part-0001.csv",
        "feeds/a.csv",
        "feeds/ä.csv",
        "feeds/B.csv",
        "feeds/z.csv",
        "feedsX/other.csv",
        "baselines/t1.json",
    ];
    for key in keys {
        s.put(key, key.as_bytes()).await;
    }

    assert_eq!(
        s.list("feeds/2026-11-20/part-").await,
        strings(&[
            "feeds/2026-11-20/part-0001.csv",
            "feeds/2026-11-20/part-0002.csv",
            "feeds/2026-11-20/part-0010.csv",
        ])
    );
    assert_eq!(
        s.list("feeds/2026-11-20/").await,
        strings(&[
            "feeds/2026-11-20/manifest.json",
            "feeds/2026-11-20/part-0001.csv",
            "feeds/2026-11-20/part-0002.csv",
            "feeds/2026-11-20/part-0010.csv",
            "feeds/2026-11-20/partial.csv",
        ])
    );
    // A prefix is a prefix of the key, not a folder: `2026-11-2` also takes `2026-11-20/...`.
    assert_eq!(
        s.list("feeds/2026-11-2").await,
        strings(&[
            "feeds/2026-11-2/part-0001.csv",
            "feeds/2026-11-20/manifest.json",
            "feeds/2026-11-20/part-0001.csv",
            "feeds/2026-11-20/part-0002.csv",
            "feeds/2026-11-20/part-0010.csv",
            "feeds/2026-11-20/partial.csv",
            "feeds/2026-11-21/part-0001.csv",
        ])
    );
    assert_eq!(
        s.list("feeds/").await,
        strings(&[
            "feeds/2026-11-2/part-0001.csv",
            "feeds/2026-11-20/manifest.json",
            "feeds/2026-11-20/part-0001.csv",
            "feeds/2026-11-20/part-0002.csv",
            "feeds/2026-11-20/part-0010.csv",
            "feeds/2026-11-20/partial.csv",
            "feeds/2026-11-21/part-0001.csv",
            "feeds/B.csv",
            "feeds/a.csv",
            "feeds/z.csv",
            "feeds/ä.csv",
        ])
    );
    let under_feeds = s.list("feeds").await;
    assert_eq!(under_feeds.len(), 12, "{under_feeds:?}");
    assert_eq!(under_feeds.last().unwrap(), "feedsX/other.csv");

    let mut everything = strings(&keys);
    everything.sort();
    assert_eq!(everything[0], "baselines/t1.json");
    assert_eq!(s.list("").await, everything);

    assert!(s.list("feeds/2026-11-22/").await.is_empty());
    assert!(s.list("nothing").await.is_empty());
}

async fn list_follows_every_page(s: &Store) {
    let keys = ["d/5", "d/3", "d/1", "d/4", "d/2"];
    for key in keys {
        s.put(key, b"x").await;
    }
    s.put("e/1", b"x").await;
    assert_eq!(
        s.list("d/").await,
        strings(&["d/1", "d/2", "d/3", "d/4", "d/5"])
    );

    if let Some((bucket, requests)) = &s.s3 {
        let lists: Vec<String> = requests
            .all()
            .into_iter()
            .filter(|(method, uri)| method == "GET" && uri.contains("list-type=2"))
            .map(|(_, uri)| uri)
            .collect();
        // Five keys in pages of two: three calls, the second and third with a token.
        assert_eq!(lists.len(), 3, "{lists:?}");
        assert!(!lists[0].contains("continuation-token"), "{lists:?}");
        assert!(
            lists[1..].iter().all(|u| u.contains("continuation-token")),
            "{lists:?}"
        );
        // The bucket is in the path (the emulator has no per-bucket host names).
        let base = format!("{}/{bucket}", emulator_url());
        assert!(lists.iter().all(|u| u.starts_with(&base)), "{lists:?}");
    }
}

async fn opening_a_missing_key_is_none(s: &Store) {
    assert!(s.blobs.open("feeds/none.csv").await.unwrap().is_none());
    s.put("feeds/2026-11-20/part-0001.csv", b"a").await;
    assert!(
        s.blobs
            .open("feeds/2026-11-20/part-0002.csv")
            .await
            .unwrap()
            .is_none()
    );
    // A key that only begins other keys names no object.
    assert!(s.blobs.open("feeds/2026-11-20").await.unwrap().is_none());
    assert!(s.blobs.open("feeds").await.unwrap().is_none());
}

async fn a_streamed_read_returns_exactly_the_bytes_written(s: &Store) {
    // Not a multiple of any buffer size.
    let written = noise(6 * 1024 * 1024 + 12_345, 0x5eed);
    let path = s.file("feed.csv", &written);
    s.blobs.put_file("feeds/big.csv", &path).await.unwrap();

    let mut reader = s
        .blobs
        .open("feeds/big.csv")
        .await
        .unwrap()
        .expect("stored");
    let mut read = Vec::with_capacity(written.len());
    let mut chunk = vec![0u8; 64 * 1024];
    let mut reads = 0;
    loop {
        let n = reader.read(&mut chunk).await.unwrap();
        if n == 0 {
            break;
        }
        assert!(n <= chunk.len());
        read.extend_from_slice(&chunk[..n]);
        reads += 1;
    }
    assert!(reads >= written.len() / chunk.len(), "{reads} reads");
    assert_eq!(read.len(), written.len());
    assert!(
        read == written,
        "the bytes read differ from the bytes written"
    );
}

async fn put_file_replaces_an_existing_object(s: &Store) {
    s.put(
        "baselines/t1.json",
        b"the old baseline, longer than the new one",
    )
    .await;
    let path = s.file("new.json", b"{\"new\":true}");
    s.blobs.put_file("baselines/t1.json", &path).await.unwrap();
    assert_eq!(
        s.read("baselines/t1.json").await.unwrap(),
        b"{\"new\":true}"
    );
    assert_eq!(s.list("baselines/").await, strings(&["baselines/t1.json"]));
    // The source file is left as it was.
    assert_eq!(std::fs::read(&path).unwrap(), b"{\"new\":true}");
}

async fn a_scratch_file_is_stored_and_gone(s: &Store) {
    s.put("baselines/p/2026-11-20.base", b"the old baseline")
        .await;
    let written = noise(300_000, 7);
    let scratch = tempfile::NamedTempFile::new_in(s.dir.path()).unwrap();
    std::fs::write(scratch.path(), &written).unwrap();
    let path = scratch.path().to_owned();
    s.blobs
        .put_scratch("baselines/p/2026-11-20.base", scratch.into_temp_path())
        .await
        .unwrap();
    assert!(s.read("baselines/p/2026-11-20.base").await.unwrap() == written);
    assert!(!path.exists(), "the scratch file is gone");
    // Nothing else is left beside the object (no staged copy).
    assert_eq!(
        s.list("baselines/").await,
        strings(&["baselines/p/2026-11-20.base"])
    );
}

async fn put_replaces_an_existing_object(s: &Store) {
    s.put("baselines/t1.json", &noise(100_000, 1)).await;
    s.put("baselines/t1.json", b"short").await;
    assert_eq!(s.read("baselines/t1.json").await.unwrap(), b"short");
    s.put("baselines/t1.json", b"").await;
    assert_eq!(s.read("baselines/t1.json").await.unwrap(), b"");
}

async fn a_deleted_object_is_gone(s: &Store) {
    s.put("feeds/a.csv", b"a").await;
    s.put("feeds/b.csv", b"b").await;
    s.blobs.delete("feeds/a.csv").await.unwrap();
    assert!(s.blobs.open("feeds/a.csv").await.unwrap().is_none());
    assert_eq!(s.list("feeds/").await, strings(&["feeds/b.csv"]));
    assert_eq!(s.read("feeds/b.csv").await.unwrap(), b"b");
}

async fn deleting_a_missing_key_is_ok(s: &Store) {
    s.blobs.delete("feeds/never.csv").await.unwrap();
    s.put("feeds/a.csv", b"a").await;
    s.blobs.delete("feeds/a.csv").await.unwrap();
    s.blobs.delete("feeds/a.csv").await.unwrap();
    assert!(s.list("").await.is_empty());
}

async fn put_file_of_a_missing_file_fails_and_stores_nothing(s: &Store) {
    let missing = s.dir.path().join("no-such-file.csv");
    let err = s.blobs.put_file("feeds/a.csv", &missing).await.unwrap_err();
    assert!(matches!(err, BlobError::Unavailable(_)), "{err:?}");
    assert!(s.blobs.open("feeds/a.csv").await.unwrap().is_none());
    assert!(s.list("").await.is_empty());
}

async fn a_range_read_returns_exactly_the_bytes_of_the_range(s: &Store) {
    let written = noise(100_000, 0x7a7e);
    s.blobs
        .put("baselines/part-0000/2026-11-20.base", written.clone())
        .await
        .unwrap();
    let key = "baselines/part-0000/2026-11-20.base";
    let len = written.len() as u64;
    for (start, end) in [
        (0, 1),
        (0, 16_384),
        (16_384, 32_768),
        (99_999, 100_000),
        (12_345, 67_891),
        (0, len),
        (90_000, u64::MAX),
        (0, u64::MAX),
    ] {
        let read = s.blobs.read_range(key, start, end).await.unwrap();
        let expected = &written[start as usize..end.min(len) as usize];
        assert_eq!(read.as_deref(), Some(expected), "{start}..{end}");
    }
    assert_eq!(
        s.blobs.read_range(key, len, len + 10).await.unwrap(),
        Some(Vec::new()),
        "a range past the end holds nothing"
    );
    assert_eq!(
        s.blobs
            .read_range("baselines/part-0000/none.base", 0, 10)
            .await
            .unwrap(),
        None
    );
    assert!(matches!(
        s.blobs.read_range("a/../b", 0, 10).await,
        Err(BlobError::InvalidKey(_))
    ));
}

async fn invalid_keys_are_refused_by_every_operation(s: &Store) {
    let file = s.file("x", b"x");
    fn refused(key: &str, result: Result<impl std::fmt::Debug, BlobError>) {
        match result {
            Err(BlobError::InvalidKey(k)) => assert_eq!(k, key),
            other => panic!("{key:?} was not refused: {other:?}"),
        }
    }
    for key in ["", "/a", "a//b", "a/../b", "a/", "./a", "a\\b"] {
        refused(key, s.blobs.open(key).await.map(|r| r.is_some()));
        refused(key, s.blobs.put(key, b"x".to_vec()).await);
        refused(key, s.blobs.put_file(key, Path::new(&file)).await);
        refused(key, s.blobs.delete(key).await);
    }
    assert!(s.list("").await.is_empty(), "nothing was stored");
}

#[tokio::test]
async fn s3_a_missing_bucket_is_a_failure_not_a_missing_key() {
    let client = s3_client().await;
    let blobs = S3Blobs::new(client, clientwatch_tests::unique("never-created"));
    let err = match blobs.open("feeds/a.csv").await {
        Err(e) => e,
        Ok(found) => panic!("a missing bucket was read as {:?}", found.is_some()),
    };
    let BlobError::Unavailable(cause) = &err else {
        panic!("{err:?}")
    };
    let message = cause.to_string();
    assert!(message.contains("NoSuchBucket"), "{message}");
    assert!(message.contains("GetObject"), "{message}");
    assert!(matches!(
        blobs.list("").await,
        Err(BlobError::Unavailable(_))
    ));
}

#[tokio::test]
async fn s3_an_unreachable_store_is_a_failure_that_says_why() {
    // A loopback port with nothing listening (bound, then released).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = aws_sdk_s3::Client::from_conf(
        s3_client()
            .await
            .config()
            .to_builder()
            .endpoint_url(format!("http://127.0.0.1:{port}"))
            .retry_config(aws_sdk_s3::config::retry::RetryConfig::disabled())
            .build(),
    );
    let blobs = S3Blobs::new(client, "clientwatch-blobs");
    let err = blobs.put("feeds/a.csv", b"a".to_vec()).await.unwrap_err();
    let BlobError::Unavailable(cause) = &err else {
        panic!("{err:?}")
    };
    let message = cause.to_string();
    assert!(message.contains("PutObject"), "{message}");
    assert!(message.contains("dispatch failure"), "{message}");
    assert!(message.contains("Connection refused"), "{message}");
}
