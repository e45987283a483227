//! AWS Signature Version 4, as a pure function of a request, credentials and
//! the time: no I/O, no clock, no environment, so every step is tested
//! against AWS's own worked examples.
//!
//! The four steps, each a function below: the canonical request (method,
//! path, query, the signed headers, the payload's hash), the string to sign
//! (algorithm, time, scope, the canonical request's hash), the signing key
//! (the secret HMAC-chained through date, region, service), and the
//! `Authorization` header that carries the signature.
//!
//! SHA-256 and HMAC come from ring, which the HTTPS side links already:
//! size-report's notes weigh it against RustCrypto's `sha2` and `hmac`.

use alloc::string::String;
use alloc::vec::Vec;

use ring::{digest, hmac};

use super::credentials::Credentials;

/// The only algorithm SigV4 names.
const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// The SHA-256 of nothing, as AWS's examples sign a request without a body.
#[cfg(test)]
pub(crate) const EMPTY_SHA256: &str =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// What a request is signed as: where it goes and what it carries.
pub(crate) struct Request<'a> {
    pub method: &'a str,
    /// The `Host` header as sent: host, and `:port` unless the scheme's own.
    pub host: &'a str,
    /// The path as sent, already percent-encoded (`/bucket/my%20key`).
    pub path: &'a str,
    /// The query's pairs, not yet encoded.
    pub query: &'a [(&'a str, &'a str)],
    /// Headers to sign besides `host`, `x-amz-date` and
    /// `x-amz-security-token`, with lower-case names.
    pub headers: &'a [(&'a str, &'a str)],
    /// Hex SHA-256 of the body (or `UNSIGNED-PAYLOAD` where S3 allows it).
    pub payload_hash: &'a str,
}

/// Where a signature is valid: the scope's region and the service's signing
/// name (`dynamodb`, `sqs`, `s3`), and whether the path is encoded twice,
/// as every service but S3 wants it.
pub(crate) struct Scope<'a> {
    pub region: &'a str,
    pub service: &'a str,
    pub double_encode_path: bool,
}

/// The headers a signed request adds: `x-amz-date`, `x-amz-security-token`
/// when the credentials carry a session token, and `authorization`.
pub(crate) fn sign(
    request: &Request,
    scope: &Scope,
    credentials: &Credentials,
    epoch_secs: u64,
) -> Vec<(&'static str, String)> {
    let (date, stamp) = super::time::amz_date(epoch_secs);
    let mut headers: Vec<(&str, &str)> = Vec::with_capacity(request.headers.len() + 3);
    headers.push(("host", request.host));
    headers.push(("x-amz-date", &stamp));
    if let Some(token) = &credentials.session_token {
        headers.push(("x-amz-security-token", token));
    }
    headers.extend_from_slice(request.headers);
    let canonical = canonical_request(request, scope, &mut headers);
    let credential_scope = [date.as_str(), scope.region, scope.service, "aws4_request"].join("/");
    let to_sign = string_to_sign(&stamp, &credential_scope, &canonical);
    let key = signing_key(
        &credentials.secret_access_key,
        &date,
        scope.region,
        scope.service,
    );
    let signature = hex(&hmac(&key, to_sign.as_bytes()));
    let signed: Vec<&str> = headers.iter().map(|(name, _)| *name).collect();
    let authorization = [
        ALGORITHM,
        " Credential=",
        &credentials.access_key_id,
        "/",
        &credential_scope,
        ", SignedHeaders=",
        &signed.join(";"),
        ", Signature=",
        &signature,
    ]
    .concat();

    let mut added = Vec::with_capacity(3);
    added.push(("x-amz-date", stamp.clone()));
    if let Some(token) = &credentials.session_token {
        added.push(("x-amz-security-token", token.clone()));
    }
    added.push(("authorization", authorization));
    added
}

/// Step 1. Sorts `headers` by name, which is also the order `SignedHeaders`
/// lists them in.
pub(crate) fn canonical_request(
    request: &Request,
    scope: &Scope,
    headers: &mut [(&str, &str)],
) -> String {
    headers.sort_by(|a, b| a.0.cmp(b.0));
    let mut out = String::with_capacity(256);
    out.push_str(request.method);
    out.push('\n');
    if scope.double_encode_path {
        uri_encode_into(&mut out, request.path, false);
    } else {
        out.push_str(request.path);
    }
    out.push('\n');
    let mut query: Vec<(String, String)> = request
        .query
        .iter()
        .map(|(k, v)| (uri_encode(k, true), uri_encode(v, true)))
        .collect();
    query.sort();
    for (i, (name, value)) in query.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(name);
        out.push('=');
        out.push_str(value);
    }
    out.push('\n');
    for (name, value) in headers.iter() {
        out.push_str(name);
        out.push(':');
        push_trimmed(&mut out, value);
        out.push('\n');
    }
    out.push('\n');
    for (i, (name, _)) in headers.iter().enumerate() {
        if i > 0 {
            out.push(';');
        }
        out.push_str(name);
    }
    out.push('\n');
    out.push_str(request.payload_hash);
    out
}

/// Step 2.
pub(crate) fn string_to_sign(stamp: &str, credential_scope: &str, canonical: &str) -> String {
    [
        ALGORITHM,
        "\n",
        stamp,
        "\n",
        credential_scope,
        "\n",
        &sha256_hex(canonical.as_bytes()),
    ]
    .concat()
}

/// Step 3: the key for one day, region and service.
pub(crate) fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> [u8; 32] {
    let mut first = String::with_capacity(4 + secret.len());
    first.push_str("AWS4");
    first.push_str(secret);
    let key = hmac(first.as_bytes(), date.as_bytes());
    let key = hmac(&key, region.as_bytes());
    let key = hmac(&key, service.as_bytes());
    hmac(&key, b"aws4_request")
}

/// Hex SHA-256, the form every hash in a signature takes.
pub(crate) fn sha256_hex(data: &[u8]) -> String {
    hex(digest::digest(&digest::SHA256, data).as_ref())
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data);
    let mut out = [0; 32];
    out.copy_from_slice(tag.as_ref());
    out
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 15) as usize] as char);
    }
    out
}

/// A header value as SigV4 wants it: outer spaces removed, inner runs of
/// spaces made one.
fn push_trimmed(out: &mut String, value: &str) {
    let mut words = value.split(' ').filter(|w| !w.is_empty());
    if let Some(first) = words.next() {
        out.push_str(first);
        for word in words {
            out.push(' ');
            out.push_str(word);
        }
    }
}

/// Percent-encoding as SigV4 defines it: everything but `A-Z a-z 0-9 - _ . ~`
/// (and `/`, unless `encode_slash`), upper-case hex.
pub(crate) fn uri_encode(text: &str, encode_slash: bool) -> String {
    let mut out = String::with_capacity(text.len());
    uri_encode_into(&mut out, text, encode_slash);
    out
}

fn uri_encode_into(out: &mut String, text: &str, encode_slash: bool) {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) || (b == b'/' && !encode_slash) {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(DIGITS[(b >> 4) as usize] as char);
            out.push(DIGITS[(b & 15) as usize] as char);
        }
    }
}

#[cfg(test)]
mod tests {
    //! Fixtures written out from the worked examples in AWS's documentation:
    //! the Signature Version 4 test suite's `get-vanilla`, the IAM
    //! `ListUsers` example of the general reference, and the S3 `GetObject`
    //! example of the S3 API reference.
    use super::*;
    use alloc::string::ToString;

    const SUITE_SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

    fn credentials(id: &str, secret: &str) -> Credentials {
        Credentials {
            access_key_id: id.to_string(),
            secret_access_key: secret.to_string(),
            session_token: None,
            expires_at: None,
        }
    }

    /// `authorization`'s value among the added headers.
    fn authorization<'a>(added: &'a [(&str, String)]) -> &'a str {
        &added.iter().find(|(n, _)| *n == "authorization").unwrap().1
    }

    #[test]
    fn get_vanilla_from_the_test_suite() {
        let request = Request {
            method: "GET",
            host: "example.amazonaws.com",
            path: "/",
            query: &[],
            headers: &[],
            payload_hash: EMPTY_SHA256,
        };
        let scope = Scope {
            region: "us-east-1",
            service: "service",
            double_encode_path: true,
        };
        let added = sign(
            &request,
            &scope,
            &credentials("AKIDEXAMPLE", SUITE_SECRET),
            1_440_938_160,
        );
        assert_eq!(added[0], ("x-amz-date", "20150830T123600Z".to_string()));
        assert_eq!(
            authorization(&added),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
             SignedHeaders=host;x-amz-date, \
             Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        );
    }

    #[test]
    fn iam_list_users_step_by_step() {
        let request = Request {
            method: "GET",
            host: "iam.amazonaws.com",
            path: "/",
            query: &[("Version", "2010-05-08"), ("Action", "ListUsers")],
            headers: &[(
                "content-type",
                "application/x-www-form-urlencoded; charset=utf-8",
            )],
            payload_hash: EMPTY_SHA256,
        };
        let scope = Scope {
            region: "us-east-1",
            service: "iam",
            double_encode_path: true,
        };
        let mut headers = [
            ("host", "iam.amazonaws.com"),
            (
                "content-type",
                "application/x-www-form-urlencoded; charset=utf-8",
            ),
            ("x-amz-date", "20150830T123600Z"),
        ];
        let canonical = canonical_request(&request, &scope, &mut headers);
        assert_eq!(
            canonical,
            "GET\n/\nAction=ListUsers&Version=2010-05-08\n\
             content-type:application/x-www-form-urlencoded; charset=utf-8\n\
             host:iam.amazonaws.com\nx-amz-date:20150830T123600Z\n\n\
             content-type;host;x-amz-date\n\
             e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            sha256_hex(canonical.as_bytes()),
            "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59"
        );
        let to_sign = string_to_sign(
            "20150830T123600Z",
            "20150830/us-east-1/iam/aws4_request",
            &canonical,
        );
        let key = signing_key(SUITE_SECRET, "20150830", "us-east-1", "iam");
        assert_eq!(
            hex(&key),
            "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9"
        );
        assert_eq!(
            hex(&hmac(&key, to_sign.as_bytes())),
            "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
        );
        let added = sign(
            &request,
            &scope,
            &credentials("AKIDEXAMPLE", SUITE_SECRET),
            1_440_938_160,
        );
        assert!(authorization(&added).ends_with(
            "SignedHeaders=content-type;host;x-amz-date, \
             Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
        ));
    }

    #[test]
    fn s3_get_object_example() {
        let request = Request {
            method: "GET",
            host: "examplebucket.s3.amazonaws.com",
            path: "/test.txt",
            query: &[],
            headers: &[
                ("range", "bytes=0-9"),
                ("x-amz-content-sha256", EMPTY_SHA256),
            ],
            payload_hash: EMPTY_SHA256,
        };
        let scope = Scope {
            region: "us-east-1",
            service: "s3",
            double_encode_path: false,
        };
        // 2013-05-24T00:00:00Z.
        let added = sign(
            &request,
            &scope,
            &credentials(
                "AKIAIOSFODNN7EXAMPLE",
                "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            ),
            1_369_353_600,
        );
        assert_eq!(
            authorization(&added),
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, \
             SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, \
             Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        );
    }

    #[test]
    fn a_session_token_is_sent_and_signed() {
        let request = Request {
            method: "POST",
            host: "dynamodb.us-east-1.amazonaws.com",
            path: "/",
            query: &[],
            headers: &[],
            payload_hash: EMPTY_SHA256,
        };
        let scope = Scope {
            region: "us-east-1",
            service: "dynamodb",
            double_encode_path: true,
        };
        let mut with_token = credentials("AKIDEXAMPLE", SUITE_SECRET);
        with_token.session_token = Some("the-token".to_string());
        let added = sign(&request, &scope, &with_token, 1_440_938_160);
        assert_eq!(added[1], ("x-amz-security-token", "the-token".to_string()));
        assert!(
            authorization(&added).contains("SignedHeaders=host;x-amz-date;x-amz-security-token,")
        );
        // The token is part of what is signed: another token, another signature.
        with_token.session_token = Some("other".to_string());
        let other = sign(&request, &scope, &with_token, 1_440_938_160);
        assert_ne!(authorization(&added), authorization(&other));
    }

    #[test]
    fn paths_and_queries_are_encoded_as_sigv4_says() {
        assert_eq!(uri_encode("a b/c~d*é", false), "a%20b/c~d%2A%C3%A9");
        assert_eq!(uri_encode("a/b", true), "a%2Fb");
        let request = Request {
            method: "GET",
            host: "h",
            path: "/my%20key",
            query: &[("b", "2 3"), ("a", "")],
            headers: &[],
            payload_hash: "UNSIGNED-PAYLOAD",
        };
        let mut headers = [("host", "h"), ("x-amz-date", "  20150830T123600Z  ")];
        let once = Scope {
            region: "r",
            service: "s3",
            double_encode_path: false,
        };
        let canonical = canonical_request(&request, &once, &mut headers);
        assert!(
            canonical
                .starts_with("GET\n/my%20key\na=&b=2%203\nhost:h\nx-amz-date:20150830T123600Z\n")
        );
        let twice = Scope {
            region: "r",
            service: "sqs",
            double_encode_path: true,
        };
        assert!(
            canonical_request(&request, &twice, &mut headers).starts_with("GET\n/my%2520key\n")
        );
    }
}
