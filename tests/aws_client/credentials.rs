//! Credentials, against moto (and a fake container credentials endpoint):
//! user keys, role keys with and without their session token, a wrong
//! secret, `Debug` hiding secrets, and the container endpoint's keys
//! (token from a variable or a file, cached, fetched again near expiry,
//! a wrong token, an endpoint that hangs).

use super::*;

/// Any signed call: a read of a key that is not there.
fn probe(aws: &Aws) -> Result<Option<Item>, Error> {
    probe_before(aws, Deadline::NONE)
}

fn probe_before(aws: &Aws, deadline: Deadline) -> Result<Option<Item>, Error> {
    aws.dynamodb(deadline)
        .get_item(&moto().table, &key("id", "credentials-probe"))
}

#[test]
fn user_keys_without_a_session_token_are_accepted() {
    assert!(moto().user.session_token.is_none());
    let aws = user_aws();
    assert_eq!(aws.credentials().unwrap().session_token, None);
    probe(&aws).expect("signed with the user's keys");
}

#[test]
fn role_keys_with_their_session_token_are_accepted() {
    let aws = aws_with_keys(&moto().role);
    assert!(aws.credentials().unwrap().session_token.is_some());
    probe(&aws).expect("signed with the role's keys and token");
    // S3 checks the token in its own code path.
    aws.s3(Deadline::NONE)
        .put_object(&moto().bucket, &unique("role"), b"x", "text/plain")
        .expect("S3 with the role's keys and token");
}

#[test]
fn role_keys_without_their_session_token_are_refused() {
    let mut keys = moto().role.clone();
    keys.session_token = None;
    let e = probe(&aws_with_keys(&keys)).unwrap_err();
    assert_error(&e, "InvalidClientTokenId", 403);
}

#[test]
fn a_wrong_secret_is_refused_with_signature_does_not_match() {
    let mut keys = moto().user.clone();
    keys.secret_access_key.push('x');
    let e = probe(&aws_with_keys(&keys)).unwrap_err();
    assert_error(&e, "SignatureDoesNotMatch", 403);
}

#[test]
fn debug_of_credentials_never_shows_the_secret_or_the_token() {
    for keys in [&moto().user, &moto().role] {
        let shown = format!("{:?}", aws_with_keys(keys).credentials().unwrap());
        assert!(shown.contains(&keys.access_key_id), "{shown}");
        assert!(!shown.contains(&keys.secret_access_key), "{shown}");
        if let Some(token) = &keys.session_token {
            assert!(!shown.contains(token.as_str()), "{shown}");
        }
    }
}

const TOKEN: &str = "container-token-1";

/// A container credentials endpoint serving the role's keys at
/// `GET /creds` to whoever sends `Authorization: TOKEN`, else 403.
fn endpoint(expiration: String) -> Fake {
    let role = moto().role.clone();
    Fake::start(move |_, seen| {
        if seen.method != "GET" || seen.path != "/creds" {
            return answer(404, "");
        }
        if seen.header("authorization") != Some(TOKEN) {
            return answer(403, r#"{"message":"bad token"}"#);
        }
        let body = format!(
            r#"{{"AccessKeyId":"{}","SecretAccessKey":"{}","Token":"{}","Expiration":"{expiration}"}}"#,
            role.access_key_id,
            role.secret_access_key,
            role.session_token.as_deref().unwrap(),
        );
        answer(200, &body)
    })
}

/// A client for moto whose keys come from `endpoint`, with `token_vars`
/// saying where its token is.
fn container_aws(endpoint: &Fake, token_vars: &[(&str, &str)]) -> Aws {
    let uri = format!("{}/creds", endpoint.url);
    let mut all = vars(&[
        ("AWS_REGION", &moto().region),
        ("AWS_ENDPOINT_URL", &moto().endpoint),
        ("AWS_CONTAINER_CREDENTIALS_FULL_URI", &uri),
    ]);
    all.extend(vars(token_vars));
    aws_from(all)
}

/// An hour away, as the endpoint's keys usually are.
fn in_an_hour() -> String {
    utc(now_secs() + 3600).1
}

#[test]
fn container_keys_are_fetched_with_the_token_once_and_cached() {
    let endpoint = endpoint(in_an_hour());
    let aws = container_aws(&endpoint, &[("AWS_CONTAINER_AUTHORIZATION_TOKEN", TOKEN)]);
    assert_eq!(endpoint.count(), 0, "nothing is fetched before a call");
    probe(&aws).expect("signed with the endpoint's keys");
    probe(&aws).expect("and again");
    assert_eq!(endpoint.count(), 1, "two calls, one fetch");
    let keys = aws.credentials().unwrap();
    assert_eq!(keys.access_key_id, moto().role.access_key_id);
    assert!(keys.expires_at.is_some());
    assert_eq!(endpoint.count(), 1);
}

#[test]
fn container_token_can_come_from_a_file() {
    let path = std::env::temp_dir().join(unique("tiny-lambda-token"));
    std::fs::write(&path, format!("{TOKEN}\n")).unwrap();
    let endpoint = endpoint(in_an_hour());
    let aws = container_aws(
        &endpoint,
        &[(
            "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
            path.to_str().unwrap(),
        )],
    );
    let result = probe(&aws).and_then(|_| probe(&aws));
    let _ = std::fs::remove_file(&path);
    result.expect("signed with the endpoint's keys");
    assert_eq!(endpoint.count(), 1, "two calls, one fetch");
}

#[test]
fn container_keys_expiring_within_five_minutes_are_fetched_for_every_call() {
    let endpoint = endpoint(utc(now_secs() + 120).1);
    let aws = container_aws(&endpoint, &[("AWS_CONTAINER_AUTHORIZATION_TOKEN", TOKEN)]);
    probe(&aws).unwrap();
    probe(&aws).unwrap();
    assert_eq!(endpoint.count(), 2, "two calls, two fetches");
}

#[test]
fn a_wrong_container_token_is_a_credentials_error() {
    let endpoint = endpoint(in_an_hour());
    let aws = container_aws(&endpoint, &[("AWS_CONTAINER_AUTHORIZATION_TOKEN", "wrong")]);
    let e = probe(&aws).unwrap_err();
    assert_eq!(e.code, "CredentialsError", "{e}");
    assert!(e.message.contains("403"), "{e}");
    // A refusal is not a failure on the way: asked once, not retried.
    assert_eq!(endpoint.count(), 1);
}

#[test]
fn a_hanging_credentials_endpoint_is_cut_at_the_deadline() {
    let endpoint = Fake::start(|_, _| Reply::Hang);
    let aws = container_aws(&endpoint, &[("AWS_CONTAINER_AUTHORIZATION_TOKEN", TOKEN)]);
    let start = Instant::now();
    let e = probe_before(&aws, Deadline::at(start + Duration::from_millis(500))).unwrap_err();
    let elapsed = start.elapsed();
    assert_error(&e, "DeadlineExceeded", 0);
    assert!(elapsed < Duration::from_millis(600), "{elapsed:?}");
    assert_eq!(endpoint.count(), 1);
}
