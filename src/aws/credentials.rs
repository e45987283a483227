//! Where the keys come from, in the order the AWS SDKs look on Lambda, and
//! the cache that holds them until shortly before they expire.
//!
//! 1. `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`:
//!    what Lambda sets for an ordinary function.
//! 2. The container credentials endpoint: `AWS_CONTAINER_CREDENTIALS_FULL_URI`
//!    (or ECS's `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`), with the token
//!    from `AWS_CONTAINER_AUTHORIZATION_TOKEN` or the file named by
//!    `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`: how SnapStart and Managed
//!    Instances functions get theirs. Its answer names an `Expiration`; the
//!    cache asks again [`REFRESH_BEFORE_SECS`] before it.
//!
//! Nothing is read from the network until the first call needs keys, and a
//! secret never reaches a log line: [`Credentials`]' `Debug` leaves it out.

use std::fmt;
use std::string::{String, ToString};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use miniserde::{Deserialize, json};

use super::error::Error;
use super::http;

/// How long before `Expiration` the cache fetches new keys: the SDKs leave
/// a few minutes so that a signed request is never sent with keys that
/// expire in flight.
pub const REFRESH_BEFORE_SECS: u64 = 300;

/// ECS's fixed host for `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`.
const ECS_HOST: &str = "http://169.254.170.2";

/// How long the credentials endpoint may take, per attempt. It is local to
/// the execution environment and answers in milliseconds.
const ENDPOINT_TIMEOUT: Duration = Duration::from_secs(2);

/// A set of keys. `Debug` shows the key id only.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The access key id (`AKIA...` or, for temporary keys, `ASIA...`).
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: String,
    /// The session token of temporary keys.
    pub session_token: Option<String>,
    /// When they expire, in seconds since the Unix epoch, if they do.
    pub expires_at: Option<u64>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "<redacted>"),
            )
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Where keys are read from, decided once from the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    /// Fixed keys from the environment.
    Environment(Credentials),
    /// The container credentials endpoint, and where its token comes from.
    Container { uri: String, token: Token },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Token {
    None,
    Value(String),
    /// Read at each fetch: the file may be rotated under a running process.
    File(String),
}

impl Source {
    /// The first source the environment offers, or why there is none.
    pub(crate) fn from_lookup(var: &dyn Fn(&str) -> Option<String>) -> Result<Source, Error> {
        let set = |name: &str| var(name).filter(|v| !v.is_empty());
        if let (Some(id), Some(secret)) = (set("AWS_ACCESS_KEY_ID"), set("AWS_SECRET_ACCESS_KEY")) {
            return Ok(Source::Environment(Credentials {
                access_key_id: id,
                secret_access_key: secret,
                session_token: set("AWS_SESSION_TOKEN"),
                expires_at: None,
            }));
        }
        let uri = set("AWS_CONTAINER_CREDENTIALS_FULL_URI").or_else(|| {
            set("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI").map(|r| [ECS_HOST, &r].concat())
        });
        let Some(uri) = uri else {
            return Err(Error::local(
                "credentials",
                "CredentialsError",
                "no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, \
                 or AWS_CONTAINER_CREDENTIALS_FULL_URI",
            ));
        };
        let token = match (
            set("AWS_CONTAINER_AUTHORIZATION_TOKEN"),
            set("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"),
        ) {
            (Some(value), _) => Token::Value(value),
            (None, Some(path)) => Token::File(path),
            (None, None) => Token::None,
        };
        Ok(Source::Container { uri, token })
    }
}

/// The keys in use, shared by every thread of one client.
pub(crate) struct Cache {
    source: Mutex<Source>,
    /// The keys, and the restore count they were fetched under.
    current: Mutex<Option<(u64, Credentials)>>,
}

impl Cache {
    pub(crate) fn new(source: Source) -> Cache {
        Cache {
            source: Mutex::new(source),
            current: Mutex::new(None),
        }
    }

    /// Keys valid for at least a few more minutes, fetched if need be.
    /// Threads that find the keys stale wait for one fetch rather than each
    /// making its own.
    pub(crate) fn get(&self) -> Result<Credentials, Error> {
        self.get_before(None)
    }

    /// The same, with a fetch cut short at `end` (a call's deadline, less
    /// its margin) as `DeadlineExceeded`.
    pub(crate) fn get_before(&self, end: Option<Instant>) -> Result<Credentials, Error> {
        let mut current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        let (now, restores) = (now_secs(), super::restores());
        match current.as_ref() {
            Some((made, keys)) if *made == restores && fresh(keys, now) => return Ok(keys.clone()),
            // Restored from a SnapStart snapshot: the environment may name
            // other keys, or another endpoint, than it did at init.
            Some((made, _)) if *made != restores => {
                if let Ok(source) = Source::from_lookup(&|name| std::env::var(name).ok()) {
                    *self.source.lock().unwrap_or_else(|p| p.into_inner()) = source;
                }
            }
            _ => {}
        }
        let source = self.source();
        let keys = match source {
            Source::Environment(keys) => keys,
            Source::Container { uri, token } => {
                let keys = fetch(&uri, &token, end)?;
                log::debug!(
                    "credentials from the container endpoint, key id {}, expiring at {:?}",
                    keys.access_key_id,
                    keys.expires_at
                );
                keys
            }
        };
        *current = Some((restores, keys.clone()));
        Ok(keys)
    }

    /// Where keys are read from now.
    pub(crate) fn source(&self) -> Source {
        self.source
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

fn fresh(keys: &Credentials, now: u64) -> bool {
    keys.expires_at
        .is_none_or(|at| at > now.saturating_add(REFRESH_BEFORE_SECS))
}

pub(crate) fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The container endpoint's answer.
#[derive(Deserialize)]
struct EndpointAnswer {
    #[serde(rename = "AccessKeyId")]
    access_key_id: String,
    #[serde(rename = "SecretAccessKey")]
    secret_access_key: String,
    #[serde(rename = "Token")]
    token: Option<String>,
    #[serde(rename = "Expiration")]
    expiration: Option<String>,
}

/// One `GET` to the endpoint, tried once more if it fails on the way (the
/// SDKs retry this endpoint too), never past `end`.
fn fetch(uri: &str, token: &Token, end: Option<Instant>) -> Result<Credentials, Error> {
    let fail = |message: String| Error::local("credentials", "CredentialsError", message);
    let authorization = match token {
        Token::None => None,
        Token::Value(value) => Some(value.clone()),
        Token::File(path) => Some(
            std::fs::read_to_string(path)
                .map_err(|e| {
                    fail(
                        [
                            "cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: ",
                            &e.to_string(),
                        ]
                        .concat(),
                    )
                })?
                .trim()
                .to_string(),
        ),
    };
    let mut headers = std::vec::Vec::new();
    if let Some(value) = &authorization {
        headers.push(("authorization", value.as_str()));
    }
    let out_of_time = |why: &str| {
        Error::local(
            "credentials",
            "DeadlineExceeded",
            ["the credentials endpoint, cut short by the deadline: ", why].concat(),
        )
    };
    let mut attempt = 0;
    let answer = loop {
        attempt += 1;
        let left = end.map(|end| end.saturating_duration_since(Instant::now()));
        if left.is_some_and(|left| left.is_zero()) {
            return Err(out_of_time("no time left"));
        }
        let timeout = left.map_or(ENDPOINT_TIMEOUT, |left| left.min(ENDPOINT_TIMEOUT));
        match http::get(uri, &headers, timeout) {
            Ok(answer) if answer.status == 200 => break answer,
            Err(http::Fault::Timeout(why)) if left.is_some_and(|l| l < ENDPOINT_TIMEOUT) => {
                return Err(out_of_time(&why));
            }
            Ok(answer) if answer.status < 500 || attempt == 2 => {
                return Err(fail(std::format!(
                    "the credentials endpoint answered {}: {}",
                    answer.status,
                    String::from_utf8_lossy(&answer.body)
                        .chars()
                        .take(200)
                        .collect::<String>()
                )));
            }
            Err(e) if attempt == 2 => {
                return Err(fail(
                    ["the credentials endpoint: ", &e.to_string()].concat(),
                ));
            }
            _ => log::debug!("the credentials endpoint failed; trying once more"),
        }
    };
    parse_endpoint_answer(&answer.body).map_err(fail)
}

pub(crate) fn parse_endpoint_answer(body: &[u8]) -> Result<Credentials, String> {
    let text = core::str::from_utf8(body)
        .map_err(|_| "the credentials endpoint's answer is not UTF-8".to_string())?;
    let answer: EndpointAnswer = json::from_str(text)
        .map_err(|_| "the credentials endpoint's answer is not the JSON expected".to_string())?;
    let expires_at =
        match answer.expiration {
            None => None,
            Some(text) => Some(super::time::parse_rfc3339_utc(&text).ok_or_else(|| {
                ["the credentials' Expiration is not a UTC time: ", &text].concat()
            })?),
        };
    if answer.access_key_id.is_empty() || answer.secret_access_key.is_empty() {
        return Err("the credentials endpoint's answer has empty keys".to_string());
    }
    Ok(Credentials {
        access_key_id: answer.access_key_id,
        secret_access_key: answer.secret_access_key,
        session_token: answer.token.filter(|t| !t.is_empty()),
        expires_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn the_environment_comes_first() {
        let vars = [
            ("AWS_ACCESS_KEY_ID", "AKID"),
            ("AWS_SECRET_ACCESS_KEY", "SECRET"),
            ("AWS_SESSION_TOKEN", "TOKEN"),
            (
                "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                "http://127.0.0.1:1/creds",
            ),
        ];
        let Source::Environment(keys) = Source::from_lookup(&lookup(&vars)).unwrap() else {
            panic!("not the environment");
        };
        assert_eq!(keys.session_token.as_deref(), Some("TOKEN"));
        // Keys are never printed.
        let shown = std::format!("{keys:?}");
        assert!(
            shown.contains("AKID") && !shown.contains("SECRET") && !shown.contains("TOKEN"),
            "{shown}"
        );
    }

    #[test]
    fn then_the_container_endpoint_with_its_token() {
        let full = [
            ("AWS_ACCESS_KEY_ID", "AKID"),
            (
                "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                "http://127.0.0.1:1/creds",
            ),
            ("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "/tmp/token"),
        ];
        assert_eq!(
            Source::from_lookup(&lookup(&full)).unwrap(),
            Source::Container {
                uri: "http://127.0.0.1:1/creds".into(),
                token: Token::File("/tmp/token".into())
            }
        );
        let relative = [
            ("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/creds"),
            ("AWS_CONTAINER_AUTHORIZATION_TOKEN", "T"),
        ];
        assert_eq!(
            Source::from_lookup(&lookup(&relative)).unwrap(),
            Source::Container {
                uri: "http://169.254.170.2/v2/creds".into(),
                token: Token::Value("T".into())
            }
        );
        let none = Source::from_lookup(&lookup(&[("AWS_ACCESS_KEY_ID", "AKID")])).unwrap_err();
        assert_eq!(none.code, "CredentialsError");
    }

    #[test]
    fn reads_the_endpoints_answer() {
        let keys = parse_endpoint_answer(
            br#"{"AccessKeyId":"ASIA1","SecretAccessKey":"S","Token":"T","Expiration":"2015-08-30T12:36:00Z","RoleArn":"x"}"#,
        )
        .unwrap();
        assert_eq!(keys.expires_at, Some(1_440_938_160));
        assert_eq!(keys.session_token.as_deref(), Some("T"));
        for bad in [
            &b"{}"[..],
            b"not json",
            br#"{"AccessKeyId":"","SecretAccessKey":"S"}"#,
            br#"{"AccessKeyId":"A","SecretAccessKey":"S","Expiration":"tomorrow"}"#,
            b"\xff",
        ] {
            assert!(parse_endpoint_answer(bad).is_err());
        }
    }

    #[test]
    fn keys_are_refreshed_minutes_before_they_expire() {
        let mut keys =
            parse_endpoint_answer(br#"{"AccessKeyId":"A","SecretAccessKey":"S"}"#).unwrap();
        assert!(fresh(&keys, 1_000));
        keys.expires_at = Some(1_000 + REFRESH_BEFORE_SECS + 1);
        assert!(fresh(&keys, 1_000));
        keys.expires_at = Some(1_000 + REFRESH_BEFORE_SECS);
        assert!(!fresh(&keys, 1_000));
    }
}
