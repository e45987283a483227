//! The call itself, as [`Aws`] sends it: where a service's endpoint is
//! (the region's, or an `AWS_ENDPOINT_URL*` override), and one request
//! signed, sent and read, retried with backoff and jitter while the
//! [`Deadline`] allows. The AWS JSON protocol's calls ([`Aws::call_json`]
//! and the services' operations) are built on it here too.

use std::string::{String, ToString};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use std::vec::Vec;

use miniserde::json::{self, Object, Value as Json};

use super::{
    Aws, Call, Deadline, Endpoint, Error, JsonService, MAX_BACKOFF, MAX_JSON_ANSWER, credentials,
    http, sigv4,
};

impl Aws {
    /// Any service on the AWS JSON protocol: `target` is the
    /// `X-Amz-Target` (`Kinesis_20131202.PutRecord`), `json_version` the
    /// protocol's (`1.0` for DynamoDB and SQS, `1.1` for most others: see
    /// the service's API reference), `body` the request as JSON. Returns the
    /// answer's JSON text. `service` is the signing name and endpoint
    /// prefix (`kinesis`, `secretsmanager`); its endpoint variable is
    /// `AWS_ENDPOINT_URL_` and the name in capitals, read from the process
    /// environment by a client from [`Aws::from_env`]. A client from
    /// [`Aws::from_lookup`] reads only what its lookup gave at start:
    /// `AWS_ENDPOINT_URL` and the DynamoDB, SQS and S3 variables.
    pub fn call_json(
        &self,
        deadline: impl Into<Deadline>,
        service: &str,
        target: &str,
        json_version: &str,
        body: &str,
    ) -> Result<String, Error> {
        let variable = [
            "AWS_ENDPOINT_URL_",
            &service.to_ascii_uppercase().replace('-', "_"),
        ]
        .concat();
        // The variables read at start first: those are the lookup's.
        let own = self.endpoint_url(&variable).or_else(|| {
            self.shared
                .process_env
                .then(|| std::env::var(&variable).ok())
                .flatten()
        });
        let endpoint = self.endpoint_for(&variable, service, own)?;
        let content_type = ["application/x-amz-json-", json_version].concat();
        self.json(
            deadline.into(),
            service,
            &endpoint,
            target,
            &content_type,
            body,
            Duration::ZERO,
        )
    }

    /// A call on the AWS JSON protocol (`POST /` with `X-Amz-Target`), its
    /// answer as text.
    #[allow(clippy::too_many_arguments)] // Each is one field of the call; a struct would only rename them.
    pub(crate) fn json(
        &self,
        deadline: Deadline,
        service: &str,
        endpoint: &Endpoint,
        target: &str,
        content_type: &str,
        body: &str,
        wait: Duration,
    ) -> Result<String, Error> {
        let headers = [("content-type", content_type), ("x-amz-target", target)];
        let answer = self.call(
            deadline,
            &Call {
                service,
                endpoint,
                method: "POST",
                path: "/",
                query: &[],
                headers: &headers,
                body: body.as_bytes(),
                s3: false,
                body_limit: MAX_JSON_ANSWER,
                wait,
            },
        )?;
        String::from_utf8(answer.body).map_err(|_| {
            Error::local(
                service,
                "MalformedResponse",
                ["the answer to ", target, " is not UTF-8"].concat(),
            )
        })
    }

    /// One operation of a service on the AWS JSON protocol: `body` out, the
    /// answer's JSON object back (an empty answer is an empty object).
    pub(crate) fn json_object(
        &self,
        deadline: Deadline,
        service: &JsonService,
        operation: &str,
        body: Object,
        wait: Duration,
    ) -> Result<Object, Error> {
        let endpoint = self.endpoint(service.variable, service.name)?;
        let target = [service.target_prefix, operation].concat();
        let text = json::to_string(&Json::Object(body));
        let answer = self.json(
            deadline,
            service.name,
            &endpoint,
            &target,
            service.content_type,
            &text,
            wait,
        )?;
        if answer.trim().is_empty() {
            return Ok(Object::new());
        }
        match json::from_str::<Json>(&answer) {
            Ok(Json::Object(object)) => Ok(object),
            _ => Err(Error::local(
                service.name,
                "MalformedResponse",
                [operation, ": the answer is not a JSON object"].concat(),
            )),
        }
    }

    /// The endpoint of a service with a variable of its own
    /// (`AWS_ENDPOINT_URL_DYNAMODB`), read when the client was made.
    pub(crate) fn endpoint(&self, variable: &str, prefix: &str) -> Result<Endpoint, Error> {
        self.endpoint_for(variable, prefix, self.endpoint_url(variable))
    }

    /// An endpoint variable's value, as read when the client was made.
    fn endpoint_url(&self, variable: &str) -> Option<String> {
        self.shared
            .endpoint_urls
            .iter()
            .find(|(name, _)| name == variable)
            .map(|(_, url)| url.clone())
    }

    fn endpoint_for(
        &self,
        variable: &str,
        prefix: &str,
        own: Option<String>,
    ) -> Result<Endpoint, Error> {
        match own
            .filter(|u| !u.is_empty())
            .or_else(|| self.endpoint_url("AWS_ENDPOINT_URL"))
        {
            Some(url) => parse_endpoint_url(&url).ok_or_else(|| {
                Error::local(
                    prefix,
                    "InvalidConfiguration",
                    [
                        variable,
                        " (or AWS_ENDPOINT_URL) is not an http(s) URL: ",
                        &url,
                    ]
                    .concat(),
                )
            }),
            None => {
                let suffix = if self.shared.region.starts_with("cn-") {
                    "amazonaws.com.cn"
                } else {
                    "amazonaws.com"
                };
                let host = [prefix, ".", &self.shared.region, ".", suffix].concat();
                Ok(Endpoint {
                    origin: ["https://", &host].concat(),
                    host,
                    prefix: String::new(),
                    overridden: false,
                })
            }
        }
    }

    /// Sign, send, read; retry what may succeed when sent again, while the
    /// deadline allows. An answer of 300 or more is an [`Error`].
    pub(crate) fn call(&self, deadline: Deadline, call: &Call) -> Result<http::Answer, Error> {
        let shared = &self.shared;
        let mut url = String::with_capacity(call.endpoint.origin.len() + call.path.len() + 16);
        url.push_str(&call.endpoint.origin);
        url.push_str(&call.endpoint.prefix);
        url.push_str(call.path);
        for (i, (name, value)) in call.query.iter().enumerate() {
            url.push(if i == 0 { '?' } else { '&' });
            url.push_str(&sigv4::uri_encode(name, true));
            url.push('=');
            url.push_str(&sigv4::uri_encode(value, true));
        }
        let signed_path = [call.endpoint.prefix.as_str(), call.path].concat();
        let payload_hash = sigv4::sha256_hex(call.body);
        let mut headers: Vec<(&str, &str)> = call.headers.to_vec();
        if call.s3 {
            headers.push(("x-amz-content-sha256", &payload_hash));
        }
        let scope = sigv4::Scope {
            region: &shared.region,
            service: call.service,
            double_encode_path: !call.s3,
        };

        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut timeout = shared.timeout + call.wait;
            let mut bounded_by_deadline = false;
            if let Some(left) = deadline.usable() {
                if left.is_zero() {
                    return Err(Error::local(
                        call.service,
                        "DeadlineExceeded",
                        "no time left before the invocation's deadline",
                    ));
                }
                if left < timeout {
                    timeout = left;
                    bounded_by_deadline = true;
                }
            }
            let keys = shared
                .credentials
                .get_before(deadline.usable().map(|left| Instant::now() + left))?;
            let request = sigv4::Request {
                method: call.method,
                host: &call.endpoint.host,
                path: &signed_path,
                query: call.query,
                headers: &headers,
                payload_hash: &payload_hash,
            };
            let added = sigv4::sign(&request, &scope, &keys, credentials::now_secs());
            let mut all: Vec<(&str, &str)> = Vec::with_capacity(headers.len() + 4);
            all.push(("host", &call.endpoint.host));
            all.extend_from_slice(&headers);
            all.extend(added.iter().map(|(n, v)| (*n, v.as_str())));
            let sent = http::send(&http::Outgoing {
                method: call.method,
                url: &url,
                headers: &all,
                body: call.body,
                connect_timeout: shared.connect_timeout.min(timeout),
                timeout,
                body_limit: call.body_limit,
            });
            let error = match sent {
                Ok(answer) if answer.status < 300 => return Ok(answer),
                Ok(answer) => {
                    let header = |name: &str| answer.header(name).map(str::to_string);
                    Error::from_answer(call.service, answer.status, &header, &answer.body)
                }
                Err(http::Fault::Timeout(why)) if bounded_by_deadline => {
                    return Err(Error::local(
                        call.service,
                        "DeadlineExceeded",
                        ["cut short by the invocation's deadline: ", &why].concat(),
                    ));
                }
                Err(http::Fault::Timeout(why)) => Error::local(call.service, "TimeoutError", why),
                Err(http::Fault::Connection(why)) => {
                    Error::local(call.service, "ConnectionError", why)
                }
                Err(http::Fault::Malformed(why)) => {
                    Error::local(call.service, "MalformedResponse", why)
                }
            };
            if !error.is_retryable() || attempt >= shared.max_attempts {
                return Err(error);
            }
            let pause = backoff(attempt);
            if deadline.usable().is_some_and(|left| left <= pause) {
                log::debug!(
                    "{}: attempt {attempt} failed ({}); no time left for another before the deadline",
                    call.service,
                    error.code
                );
                return Err(error);
            }
            log::debug!(
                "{}: attempt {attempt} failed ({}); retrying in {} ms",
                call.service,
                error.code,
                pause.as_millis()
            );
            std::thread::sleep(pause);
        }
    }
}

/// `http(s)://host[:port][/path]` as an endpoint, or `None`.
fn parse_endpoint_url(url: &str) -> Option<Endpoint> {
    let (scheme, rest) = url.split_once("://")?;
    let default_port = match scheme {
        "http" => ":80",
        "https" => ":443",
        _ => return None,
    };
    let (authority, path) = match rest.find('/') {
        Some(at) => (&rest[..at], rest[at..].trim_end_matches('/')),
        None => (rest, ""),
    };
    if authority.is_empty() || authority.contains(['@', '?', '#', ' ']) {
        return None;
    }
    let host = authority.strip_suffix(default_port).unwrap_or(authority);
    Some(Endpoint {
        origin: [scheme, "://", authority].concat(),
        host: host.to_string(),
        prefix: path.to_string(),
        overridden: true,
    })
}

/// The pause before attempt `attempt + 1`: full jitter on an exponential
/// base of one second, as the SDKs' standard mode.
fn backoff(attempt: u32) -> Duration {
    let ceiling = Duration::from_secs(1u64 << (attempt - 1).min(5)).min(MAX_BACKOFF);
    ceiling.mul_f64(jitter())
}

/// A number in [0, 1) that differs from call to call: enough for jitter,
/// which only has to keep many clients from retrying in step.
fn jitter() -> f64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos() as u64);
    // splitmix64 of the time and a counter.
    let mut z = nanos ^ COUNTER.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::dynamodb;

    fn aws(vars: &[(&str, &str)]) -> Result<Aws, Error> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        Aws::from_lookup(&move |name| vars.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone()))
    }

    const KEYS: [(&str, &str); 2] = [
        ("AWS_ACCESS_KEY_ID", "AKID"),
        ("AWS_SECRET_ACCESS_KEY", "S"),
    ];

    #[test]
    fn endpoints_follow_the_region_and_the_overrides() {
        let plain = aws(&[
            KEYS[0],
            KEYS[1],
            ("AWS_REGION", "eu-west-1"),
            ("AWS_DEFAULT_REGION", "us-east-1"),
        ])
        .unwrap();
        assert_eq!(plain.region(), "eu-west-1");
        let e = plain
            .endpoint("AWS_ENDPOINT_URL_DYNAMODB", "dynamodb")
            .unwrap();
        assert_eq!(
            (e.origin.as_str(), e.host.as_str(), e.overridden),
            (
                "https://dynamodb.eu-west-1.amazonaws.com",
                "dynamodb.eu-west-1.amazonaws.com",
                false
            )
        );
        let china = aws(&[KEYS[0], KEYS[1], ("AWS_DEFAULT_REGION", "cn-north-1")]).unwrap();
        assert_eq!(
            china.endpoint("AWS_ENDPOINT_URL_SQS", "sqs").unwrap().host,
            "sqs.cn-north-1.amazonaws.com.cn"
        );

        let local = aws(&[
            KEYS[0],
            KEYS[1],
            ("AWS_REGION", "us-east-1"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:4566/"),
            ("AWS_ENDPOINT_URL_SQS", "https://sqs.example:443/base"),
        ])
        .unwrap();
        let ddb = local
            .endpoint("AWS_ENDPOINT_URL_DYNAMODB", "dynamodb")
            .unwrap();
        assert_eq!(
            (ddb.origin.as_str(), ddb.host.as_str(), ddb.prefix.as_str()),
            ("http://127.0.0.1:4566", "127.0.0.1:4566", "")
        );
        let sqs = local.endpoint("AWS_ENDPOINT_URL_SQS", "sqs").unwrap();
        assert_eq!(
            (sqs.origin.as_str(), sqs.host.as_str(), sqs.prefix.as_str()),
            ("https://sqs.example:443", "sqs.example", "/base")
        );
    }

    #[test]
    fn bad_settings_are_named() {
        assert_eq!(
            aws(&[KEYS[0], KEYS[1]]).err().unwrap().code,
            "MissingRegion"
        );
        assert_eq!(
            aws(&[("AWS_REGION", "us-east-1")]).err().unwrap().code,
            "CredentialsError"
        );
        let e = aws(&[
            KEYS[0],
            KEYS[1],
            ("AWS_REGION", "r"),
            ("AWS_MAX_ATTEMPTS", "0"),
        ])
        .err()
        .unwrap();
        assert!(e.message.contains("AWS_MAX_ATTEMPTS"), "{e}");
        let bad_url = aws(&[
            KEYS[0],
            KEYS[1],
            ("AWS_REGION", "r"),
            ("AWS_ENDPOINT_URL", "ftp://x"),
        ])
        .unwrap();
        let e = bad_url.endpoint("AWS_ENDPOINT_URL_S3", "s3").unwrap_err();
        assert!(e.message.contains("AWS_ENDPOINT_URL"), "{e}");
        assert_eq!(parse_endpoint_url("http://"), None);
        assert_eq!(parse_endpoint_url("http://user@host"), None);
    }

    #[test]
    fn backoff_grows_with_full_jitter() {
        for attempt in 1..=8 {
            let ceiling = Duration::from_secs(1 << (attempt - 1).min(5)).min(MAX_BACKOFF);
            for _ in 0..50 {
                assert!(backoff(attempt) < ceiling);
            }
        }
        let draws: Vec<f64> = (0..100).map(|_| jitter()).collect();
        assert!(draws.iter().all(|j| (0.0..1.0).contains(j)));
        assert!(draws.windows(2).any(|w| w[0] != w[1]));
    }

    #[test]
    fn a_spent_deadline_sends_nothing() {
        let client = aws(&[
            KEYS[0],
            KEYS[1],
            ("AWS_REGION", "us-east-1"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
        ])
        .unwrap();
        let past = Deadline::at(Instant::now());
        let e = client
            .dynamodb(past)
            .get_item("t", &dynamodb::Item::new())
            .unwrap_err();
        assert_eq!(e.code, "DeadlineExceeded");
    }
}
