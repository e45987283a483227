//! S3 through `Aws::s3`, against moto: an object put, headed and got back
//! with its bytes and metadata, and a missing key on get and on head.

use super::*;

#[test]
fn put_then_head_then_get_keep_the_bytes_and_the_metadata() {
    let aws = user_aws();
    let s3 = aws.s3(Deadline::NONE);
    let bucket = &moto().bucket;
    // A space and slashes: what moto can verify signatures for.
    let key = format!("dir/{}/with space.bin", unique("obj"));
    let body: Vec<u8> = (0..=255u8).rev().chain(0..=255).collect();
    let etag = s3
        .put_object(bucket, &key, &body, "application/octet-stream")
        .unwrap()
        .expect("an ETag");

    let info = s3.head_object(bucket, &key).unwrap();
    assert_eq!(
        info.content_type.as_deref(),
        Some("application/octet-stream")
    );
    assert_eq!(info.content_length, Some(body.len() as u64));
    assert_eq!(info.etag.as_deref(), Some(etag.as_str()));
    assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");

    let object = s3.get_object(bucket, &key).unwrap();
    assert_eq!(object.body, body);
    assert_eq!(object.info.etag.as_deref(), Some(etag.as_str()));

    let text_key = format!("{}.json", unique("plain"));
    s3.put_object(bucket, &text_key, b"{}", "application/json")
        .unwrap();
    let text = s3.get_object(bucket, &text_key).unwrap();
    assert_eq!(text.body, b"{}");
    assert_eq!(text.info.content_type.as_deref(), Some("application/json"));
}

#[test]
fn a_missing_key_is_no_such_key_on_get_and_not_found_on_head() {
    let aws = user_aws();
    let s3 = aws.s3(Deadline::NONE);
    let key = unique("missing/key");
    let get = s3.get_object(&moto().bucket, &key).unwrap_err();
    assert_error(&get, "NoSuchKey", 404);
    let head = s3.head_object(&moto().bucket, &key).unwrap_err();
    assert_error(&head, "NotFound", 404);
}
