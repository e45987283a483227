//! The moto harness (tests/aws/moto_harness.py), started once per test
//! binary and shared by its tests: moto in server mode with authentication
//! on, and the fixtures it made (keys, tables, queue, bucket).
//!
//! `moto()` starts it on first use and keeps it for the whole test process:
//! the static holds the child and its stdin, and the harness stops when
//! that pipe closes, which the process's exit does. std and miniserde only,
//! so it compiles whatever features a test binary is built with.
#![allow(dead_code)] // Each test file uses a different part of it.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{LazyLock, Mutex};

use miniserde::{Deserialize, json};

/// What the harness printed: where moto is and what it holds.
#[derive(Deserialize, Debug, Clone)]
pub struct Moto {
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    pub region: String,
    /// An IAM user's long-term keys (no session token).
    pub user: Keys,
    /// A role's session keys from STS AssumeRole.
    pub role: Keys,
    /// `http://127.0.0.1:PORT/123456789012/orders`.
    pub queue_url: String,
    /// `orders`: hash key `id` (S).
    pub table: String,
    /// `items`: hash key `pk` (S), range key `sk` (S).
    pub items_table: String,
    pub bucket: String,
}

/// A set of keys as the harness prints them.
#[derive(Deserialize, Debug, Clone)]
pub struct Keys {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
    /// `2026-01-01T12:00:00Z` (role keys only).
    pub expiration: Option<String>,
}

impl Moto {
    /// The variables a Lambda function would see, for `Aws::from_lookup`:
    /// region, endpoint URL, and these keys (with their session token, if
    /// any).
    pub fn vars(&self, keys: &Keys) -> Vec<(String, String)> {
        let mut vars = vec![
            ("AWS_REGION".to_string(), self.region.clone()),
            ("AWS_ENDPOINT_URL".to_string(), self.endpoint.clone()),
            ("AWS_ACCESS_KEY_ID".to_string(), keys.access_key_id.clone()),
            (
                "AWS_SECRET_ACCESS_KEY".to_string(),
                keys.secret_access_key.clone(),
            ),
        ];
        if let Some(token) = &keys.session_token {
            vars.push(("AWS_SESSION_TOKEN".to_string(), token.clone()));
        }
        vars
    }
}

/// The running harness: what it printed, and what keeps it alive.
struct Running {
    moto: Moto,
    /// Held, never used: the harness serves until this pipe closes.
    _process: Mutex<(Child, ChildStdin)>,
}

static HARNESS: LazyLock<Result<Running, String>> = LazyLock::new(start);

/// The shared moto, started on first use. Panics, saying how to install
/// moto, if it cannot be started: these tests never skip silently.
pub fn moto() -> &'static Moto {
    match &*HARNESS {
        Ok(running) => &running.moto,
        Err(why) => panic!("{why}"),
    }
}

const INSTALL: &str = "install moto with `python3 -m pip install -r tests/aws/requirements.txt`";

fn start() -> Result<Running, String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/aws/moto_harness.py");
    let mut child = Command::new("python3")
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| {
            format!(
                "cannot run python3 ({e}): the AWS client's tests need python3 and moto; {INSTALL}"
            )
        })?;
    let stdin = child.stdin.take().expect("piped stdin");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut line = String::new();
    let read = BufReader::new(stdout).read_line(&mut line);
    if read.is_err() || line.trim().is_empty() {
        // No line: the harness failed to start (its stderr, above, says why).
        drop(stdin);
        let status = child.wait().map(|s| s.to_string()).unwrap_or_default();
        return Err(format!(
            "the moto harness ({}) printed nothing and exited ({status}): is moto installed? {INSTALL}",
            script.display()
        ));
    }
    let moto: Moto = json::from_str(line.trim())
        .map_err(|_| format!("the moto harness printed an unexpected line: {line}"))?;
    Ok(Running {
        moto,
        _process: Mutex::new((child, stdin)),
    })
}
