//! The one piece of the AWS client that does I/O: a request out, an answer
//! in, over ureq with rustls for HTTPS (plain HTTP where an endpoint URL
//! says `http://`).
//!
//! Each thread has its own agent, made on its first call, so the threads of
//! Lambda Managed Instances never wait on each other's pool, and each agent
//! keeps its connections alive across invocations. A SnapStart restore
//! leaves every pooled connection dead: an agent made before the last
//! restore (`super::restores`) is dropped at the thread's next call.
//!
//! TLS is set up by ureq on the first HTTPS connection a thread makes, not
//! at start: a bootstrap pays for it only when it calls AWS, and the first
//! `/next` is not delayed by it (size-report's notes measure both).

use std::cell::RefCell;
use std::string::{String, ToString};
use std::time::Duration;
use std::vec::Vec;

use ureq::http;

/// Each connection's buffer each way: one TLS record, and the largest
/// response head read.
const BUFFER_BYTES: usize = 16 * 1024;

/// An answer: status, headers (names lower-case), body.
pub(crate) struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Answer {
    /// The first value of a header, by lower-case name.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Why no answer came.
#[derive(Debug)]
pub(crate) enum Fault {
    /// Could not connect, or the connection broke.
    Connection(String),
    /// A connect or read timeout, or the call's time ran out.
    Timeout(String),
    /// The answer could not be read (bad framing, over the size limit).
    Malformed(String),
}

impl core::fmt::Display for Fault {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Fault::Connection(why) | Fault::Timeout(why) | Fault::Malformed(why) => {
                f.write_str(why)
            }
        }
    }
}

/// One request.
pub(crate) struct Outgoing<'a> {
    pub method: &'a str,
    pub url: &'a str,
    pub headers: &'a [(&'a str, &'a str)],
    pub body: &'a [u8],
    pub connect_timeout: Duration,
    /// The whole exchange, body included.
    pub timeout: Duration,
    /// The largest body read; more is [`Fault::Malformed`].
    pub body_limit: u64,
}

std::thread_local! {
    /// This thread's agent, and the restore count it was made under.
    static AGENT: RefCell<Option<(u64, ureq::Agent)>> = const { RefCell::new(None) };
}

fn new_agent() -> ureq::Agent {
    let config = ureq::config::Config::builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .user_agent(concat!("tiny-lambda/", env!("CARGO_PKG_VERSION")))
        // AWS closes idle connections after a minute or so; reusing one
        // that old would only cost a failed attempt.
        .max_idle_age(Duration::from_secs(50))
        // ureq zero-fills 128 KiB each way for every new connection, byte
        // by byte at opt-level "z": 1.57 M instructions, more than a TLS
        // handshake's set-up (size-report/tls-candidates). A head fits in
        // 16 KiB and a body streams through it.
        .input_buffer_size(BUFFER_BYTES)
        .output_buffer_size(BUFFER_BYTES)
        .build();
    ureq::Agent::new_with_config(config)
}

/// Send one request and read the whole answer.
pub(crate) fn send(out: &Outgoing) -> Result<Answer, Fault> {
    let generation = super::restores();
    let agent = AGENT.with(|slot| {
        let mut slot = slot.borrow_mut();
        match slot.as_ref() {
            Some((made, agent)) if *made == generation => agent.clone(),
            _ => {
                let agent = new_agent();
                *slot = Some((generation, agent.clone()));
                agent
            }
        }
    });
    let mut builder = http::Request::builder().method(out.method).uri(out.url);
    for (name, value) in out.headers {
        builder = builder.header(*name, *value);
    }
    let request = builder
        .body(out.body)
        .map_err(|e| Fault::Malformed(["cannot build the request: ", &e.to_string()].concat()))?;
    let request = agent
        .configure_request(request)
        .timeout_connect(Some(out.connect_timeout))
        .timeout_global(Some(out.timeout))
        .build();
    let mut answer = agent.run(request).map_err(fault)?;
    let mut headers = Vec::with_capacity(answer.headers().len());
    for (name, value) in answer.headers() {
        if let Ok(value) = value.to_str() {
            headers.push((name.as_str().to_string(), value.to_string()));
        }
    }
    let status = answer.status().as_u16();
    let body = if out.method == "HEAD" {
        Vec::new()
    } else {
        answer
            .body_mut()
            .with_config()
            .limit(out.body_limit)
            .read_to_vec()
            .map_err(fault)?
    };
    Ok(Answer {
        status,
        headers,
        body,
    })
}

/// A `GET` with a fixed timeout, for the credentials endpoint.
pub(crate) fn get(url: &str, headers: &[(&str, &str)], timeout: Duration) -> Result<Answer, Fault> {
    send(&Outgoing {
        method: "GET",
        url,
        headers,
        body: &[],
        connect_timeout: timeout,
        timeout,
        body_limit: 64 * 1024,
    })
}

fn fault(error: ureq::Error) -> Fault {
    let text = error.to_string();
    match error {
        ureq::Error::Timeout(_) => Fault::Timeout(text),
        ureq::Error::Io(e) if e.kind() == std::io::ErrorKind::TimedOut => Fault::Timeout(text),
        ureq::Error::Io(_)
        | ureq::Error::ConnectionFailed
        | ureq::Error::HostNotFound
        | ureq::Error::Tls(_)
        | ureq::Error::Rustls(_) => Fault::Connection(text),
        _ => Fault::Malformed(text),
    }
}
