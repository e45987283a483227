//! What a signed request carries, as the fake AWS sees it: the SigV4
//! `Authorization` and `x-amz-date`, the JSON target, the session token,
//! and S3's payload hash.

use super::*;

/// `AWS4-HMAC-SHA256 Credential=KEY/DATE/us-east-1/SERVICE/aws4_request`
/// for today (or yesterday, at midnight), and the `x-amz-date`.
fn assert_signed(seen: &Seen, before: u64, service: &str) {
    let date = seen.header("x-amz-date").expect("x-amz-date");
    assert_eq!(date.len(), 16, "{date}");
    assert!(date.ends_with('Z') && date.as_bytes()[8] == b'T', "{date}");
    let authorization = seen.header("authorization").expect("authorization");
    let dates = [utc(before).0, utc(now_secs()).0];
    assert!(
        dates.iter().any(|day| {
            authorization.starts_with(&format!(
                "AWS4-HMAC-SHA256 Credential=AKIDFAKE/{day}/us-east-1/{service}/aws4_request, "
            )) && date.starts_with(day.as_str())
        }),
        "{authorization} (x-amz-date {date})"
    );
    let signature = authorization.rsplit("Signature=").next().unwrap();
    assert_eq!(signature.len(), 64, "{authorization}");
    assert!(signature.bytes().all(|b| b.is_ascii_hexdigit()));
}

#[test]
fn json_requests_carry_the_target_the_date_and_a_sigv4_authorization() {
    let fake = Fake::always(200, "{}");
    let before = now_secs();
    fake_aws(&fake, &[])
        .dynamodb(Deadline::NONE)
        .get_item("t", &key("id", "1"))
        .unwrap();
    let seen = &fake.requests()[0];
    assert_eq!((seen.method.as_str(), seen.path.as_str()), ("POST", "/"));
    assert_eq!(
        seen.header("x-amz-target"),
        Some("DynamoDB_20120810.GetItem")
    );
    assert_eq!(
        seen.header("content-type"),
        Some("application/x-amz-json-1.0")
    );
    assert_signed(seen, before, "dynamodb");
    let authorization = seen.header("authorization").unwrap();
    assert!(
        authorization.contains("SignedHeaders=content-type;host;x-amz-date;x-amz-target, "),
        "{authorization}"
    );
    assert_eq!(seen.header("x-amz-security-token"), None);
    let body: Json = json::from_str(std::str::from_utf8(&seen.body).unwrap()).unwrap();
    assert_eq!(text(field(&body, "TableName")), "t");
}

#[test]
fn a_session_token_is_sent_and_signed() {
    let fake = Fake::always(200, "{}");
    let before = now_secs();
    fake_aws(&fake, &[("AWS_SESSION_TOKEN", "session-token")])
        .sqs(Deadline::NONE)
        .delete_message(&fake.url, "handle")
        .unwrap();
    let seen = &fake.requests()[0];
    assert_eq!(seen.header("x-amz-target"), Some("AmazonSQS.DeleteMessage"));
    assert_eq!(seen.header("x-amz-security-token"), Some("session-token"));
    assert_signed(seen, before, "sqs");
    assert!(
        seen.header("authorization")
            .unwrap()
            .contains(";x-amz-security-token;x-amz-target, ")
    );
}

#[test]
fn s3_requests_carry_the_payload_hash() {
    let fake =
        Fake::start(|_, _| Reply::Answer(200, vec![("ETag", "\"abc\"".to_string())], Vec::new()));
    let before = now_secs();
    let etag = fake_aws(&fake, &[])
        .s3(Deadline::NONE)
        .put_object("bucket", "dir/a b.txt", b"hello", "text/plain")
        .unwrap();
    assert_eq!(etag.as_deref(), Some("\"abc\""));
    let seen = &fake.requests()[0];
    assert_eq!(
        (seen.method.as_str(), seen.path.as_str()),
        ("PUT", "/bucket/dir/a%20b.txt")
    );
    assert_eq!(seen.body, b"hello");
    assert_eq!(seen.header("content-type"), Some("text/plain"));
    // SHA-256 of "hello".
    assert_eq!(
        seen.header("x-amz-content-sha256"),
        Some("2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824")
    );
    assert_signed(seen, before, "s3");
    assert!(
        seen.header("authorization")
            .unwrap()
            .contains("SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date, ")
    );
}
