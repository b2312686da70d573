//! The media store on a real S3-compatible server (moto, started by this test) next to local
//! files: atomic puts with multipart above the part size, streamed reads, deletes by key and by
//! folder, readiness, key prefixes, and `migrate-blobs`' copy from files into a bucket.

use crate::s3;

use bytes::Bytes;
use faceproof_server::blobs::migrate::migrate;
use faceproof_server::blobs::{BlobStore, ObjectBlobs, S3Settings, MIN_PART_BYTES};
use futures::TryStreamExt;
use object_store::ObjectStoreExt;

fn settings(s3: &s3::S3Server, bucket: &str, prefix: &str) -> S3Settings {
    S3Settings {
        endpoint: Some(s3.endpoint.clone()),
        bucket: bucket.into(),
        region: "us-east-1".into(),
        prefix: prefix.into(),
        access_key_id: Some("faceproof-test".into()),
        secret_access_key: Some("faceproof-test-secret".into()),
        path_style: true,
        allow_http: true,
    }
}

fn sorted(mut v: Vec<(String, u64)>) -> Vec<(String, u64)> {
    v.sort();
    v
}

/// Every behaviour the handlers rely on, on one store.
async fn contract(b: &dyn BlobStore) {
    b.check().await.unwrap();
    b.put("folders/ab/m1/original.jpg", b"photo").await.unwrap();
    b.put("folders/ab/m1/thumb.jpg", b"thumb").await.unwrap();
    // A sibling whose name extends the first folder's: deleting "folders/ab" must keep it.
    b.put("folders/abc/m2/original.jpg", b"other")
        .await
        .unwrap();
    assert_eq!(b.get("folders/ab/m1/original.jpg").await.unwrap(), b"photo");
    // Overwrite is atomic and complete.
    b.put("folders/ab/m1/thumb.jpg", b"thumb2").await.unwrap();
    assert_eq!(b.get("folders/ab/m1/thumb.jpg").await.unwrap(), b"thumb2");
    // Above the part size: multipart, read back whole and streamed.
    let big: Vec<u8> = (0..MIN_PART_BYTES * 2 + 1234)
        .map(|i| (i * 7 % 251) as u8)
        .collect();
    b.put("folders/ab/m3/original.mp4", &big).await.unwrap();
    assert_eq!(b.get("folders/ab/m3/original.mp4").await.unwrap(), big);
    let s = b.get_stream("folders/ab/m3/original.mp4").await.unwrap();
    assert_eq!(s.size, big.len() as u64);
    let chunks: Vec<Bytes> = s.chunks.try_collect().await.unwrap();
    assert_eq!(chunks.concat(), big);
    assert_eq!(
        sorted(b.list("folders/ab").await.unwrap()),
        vec![
            ("folders/ab/m1/original.jpg".into(), 5),
            ("folders/ab/m1/thumb.jpg".into(), 6),
            ("folders/ab/m3/original.mp4".into(), big.len() as u64),
        ]
    );
    // Missing keys: NotFound on reads (before any byte of a stream), no error on delete.
    let missing = b.get("folders/zz/m/original.jpg").await.unwrap_err();
    assert_eq!(missing.kind(), std::io::ErrorKind::NotFound, "{missing}");
    assert!(b.get_stream("folders/zz/m/original.jpg").await.is_err());
    b.delete("folders/zz/m/original.jpg").await.unwrap();
    b.delete_prefix("folders/zz").await.unwrap();
    // Keys that are not plain UUID paths never reach the store.
    for bad in ["../x", "/abs", "a//b", "a/../b", "a b", "a?b", ""] {
        assert!(b.put(bad, b"x").await.is_err(), "{bad:?} accepted");
    }
    // Delete one key, then a folder.
    b.delete("folders/ab/m1/thumb.jpg").await.unwrap();
    assert!(b.get("folders/ab/m1/thumb.jpg").await.is_err());
    b.delete_prefix("folders/ab").await.unwrap();
    assert!(b.list("folders/ab").await.unwrap().is_empty());
    assert_eq!(
        b.list("").await.unwrap(),
        vec![("folders/abc/m2/original.jpg".to_string(), 5)]
    );
    b.delete_prefix("folders/abc").await.unwrap();
    assert!(b.list("").await.unwrap().is_empty());
}

#[tokio::test]
async fn local_files() {
    let dir = tempfile::tempdir().unwrap();
    let b = ObjectBlobs::local(dir.path(), MIN_PART_BYTES).unwrap();
    contract(&b).await;
    // Emptied folders leave no directories behind.
    assert!(!dir.path().join("folders/ab").exists());
    // Readiness fails when the volume's content is gone.
    std::fs::remove_dir_all(dir.path().join("tmp")).unwrap();
    assert!(b.check().await.is_err());
}

#[tokio::test]
async fn s3_bucket() {
    let Some(mut s3) = s3::S3Server::start() else {
        return;
    };
    s3.create_bucket("media");
    let b = ObjectBlobs::s3(&settings(&s3, "media", ""), MIN_PART_BYTES).unwrap();
    contract(&b).await;

    // The large object went up in parts: S3 gives a multipart object an ETag "<md5>-<parts>".
    let big = vec![7u8; MIN_PART_BYTES * 2 + 1];
    b.put("folders/f/m/original.mp4", &big).await.unwrap();
    b.put("folders/f/m/thumb.jpg", b"small").await.unwrap();
    let raw = object_store::aws::AmazonS3Builder::new()
        .with_endpoint(&s3.endpoint)
        .with_bucket_name("media")
        .with_region("us-east-1")
        .with_access_key_id("x")
        .with_secret_access_key("y")
        .with_allow_http(true)
        .build()
        .unwrap();
    let etag = |key: &'static str| {
        let raw = &raw;
        async move {
            raw.head(&key.into())
                .await
                .unwrap()
                .e_tag
                .unwrap_or_default()
                .trim_matches('"')
                .to_string()
        }
    };
    assert!(
        etag("folders/f/m/original.mp4").await.ends_with("-3"),
        "{}",
        etag("folders/f/m/original.mp4").await
    );
    assert!(!etag("folders/f/m/thumb.jpg").await.contains('-'));

    // A prefix keeps two deployments apart in one bucket.
    let p = ObjectBlobs::s3(&settings(&s3, "media", "tenant-a/prod"), MIN_PART_BYTES).unwrap();
    p.put("folders/f/m/original.jpg", b"prefixed")
        .await
        .unwrap();
    assert!(raw
        .head(&"tenant-a/prod/folders/f/m/original.jpg".into())
        .await
        .is_ok());
    assert_eq!(p.list("").await.unwrap().len(), 1);
    p.delete_prefix("folders/f").await.unwrap();
    assert_eq!(
        b.get("folders/f/m/thumb.jpg").await.unwrap(),
        b"small",
        "a prefixed delete reached outside its prefix"
    );

    // Readiness: a missing bucket, then a stopped store, are failures; nothing was written by
    // the checks (the bucket holds just the two objects above).
    assert_eq!(b.list("").await.unwrap().len(), 2);
    let nobucket = ObjectBlobs::s3(&settings(&s3, "no-such-bucket", ""), MIN_PART_BYTES).unwrap();
    assert!(nobucket.check().await.is_err());
    s3.stop();
    let started = std::time::Instant::now();
    assert!(b.check().await.is_err());
    let put = b.put("folders/g/m/original.jpg", b"x").await;
    assert!(put.is_err());
    assert!(
        started.elapsed() < std::time::Duration::from_secs(60),
        "a down store took {:?} to fail",
        started.elapsed()
    );
}

#[tokio::test]
async fn migrate_files_into_a_bucket() {
    let Some(s3) = s3::S3Server::start() else {
        return;
    };
    s3.create_bucket("migrated");
    let dir = tempfile::tempdir().unwrap();
    let local = ObjectBlobs::local(dir.path(), MIN_PART_BYTES).unwrap();
    let big: Vec<u8> = (0..MIN_PART_BYTES + 99).map(|i| i as u8).collect();
    local.put("folders/f/m/original.mp4", &big).await.unwrap();
    local.put("folders/f/m/thumb.jpg", b"thumb").await.unwrap();
    local
        .put("collections/c/p/i/original.jpg", b"face")
        .await
        .unwrap();
    let bucket = ObjectBlobs::s3(&settings(&s3, "migrated", ""), MIN_PART_BYTES).unwrap();
    let steps = std::sync::Mutex::new(Vec::new());
    let r = migrate(&local, &bucket, |done, total| {
        steps.lock().unwrap().push((done, total))
    })
    .await
    .unwrap();
    assert!(r.ok(), "{r:?}");
    assert_eq!((r.total, r.copied, r.skipped), (3, 3, 0));
    assert_eq!(r.bytes_copied, big.len() as u64 + 5 + 4);
    assert_eq!(steps.lock().unwrap().last(), Some(&(3, 3)));
    assert_eq!(
        sorted(bucket.list("").await.unwrap()),
        sorted(local.list("").await.unwrap())
    );
    assert_eq!(bucket.get("folders/f/m/original.mp4").await.unwrap(), big);
    // Resumed: what is there with the same digest is skipped, a changed object is copied again.
    bucket
        .put("folders/f/m/thumb.jpg", b"tampered")
        .await
        .unwrap();
    let r = migrate(&local, &bucket, |_, _| {}).await.unwrap();
    assert_eq!((r.total, r.copied, r.skipped), (3, 1, 2), "{r:?}");
    assert_eq!(bucket.get("folders/f/m/thumb.jpg").await.unwrap(), b"thumb");
    // A target that refuses writes: every object fails, reported, nothing claimed copied.
    let nobucket = ObjectBlobs::s3(&settings(&s3, "no-such-bucket", ""), MIN_PART_BYTES).unwrap();
    let r = migrate(&local, &nobucket, |_, _| {}).await.unwrap();
    assert!(!r.ok());
    assert_eq!((r.copied, r.failed.len()), (0, 3), "{r:?}");
}

/// Throughput of 10 puts and streamed gets of 24 MiB on local files and on moto (loopback), for
/// the operations guide: `cargo nextest run --workspace --run-ignored only -E 'test(throughput)'
/// --no-capture`. Ignored by default: it measures, asserts nothing about speed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn throughput() {
    let Some(s3) = s3::S3Server::start() else {
        return;
    };
    s3.create_bucket("speed");
    let dir = tempfile::tempdir().unwrap();
    let part = 8 << 20;
    let local = ObjectBlobs::local(dir.path(), part).unwrap();
    let bucket = ObjectBlobs::s3(&settings(&s3, "speed", ""), part).unwrap();
    let data: Vec<u8> = (0..24usize << 20).map(|i| (i * 31 % 253) as u8).collect();
    for (name, b) in [
        ("local files", &local as &dyn BlobStore),
        ("S3 (moto)", &bucket),
    ] {
        let n = 10;
        let t = std::time::Instant::now();
        for i in 0..n {
            b.put(&format!("speed/{i}/original.mp4"), &data)
                .await
                .unwrap();
        }
        let put = t.elapsed();
        let t = std::time::Instant::now();
        for i in 0..n {
            let s = b
                .get_stream(&format!("speed/{i}/original.mp4"))
                .await
                .unwrap();
            let got: usize = s
                .chunks
                .try_fold(0, |acc, c| async move { Ok(acc + c.len()) })
                .await
                .unwrap();
            assert_eq!(got, data.len());
        }
        let get = t.elapsed();
        let mib = (n * data.len()) as f64 / (1 << 20) as f64;
        println!(
            "{name}: put {:.0} MiB/s, streamed get {:.0} MiB/s ({n} × 24 MiB)",
            mib / put.as_secs_f64(),
            mib / get.as_secs_f64()
        );
        b.delete_prefix("speed").await.unwrap();
    }
}
