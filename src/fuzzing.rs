//! What the fuzz targets in `fuzz/` reach that is not public: the codec's
//! response reader as a plain tuple, the limits it must keep, both transports' whole
//! exchange with a server ([`send_builtin`], and [`send_ureq`] with the
//! `ureq` feature), the HTTP adapter's two halves, and a streamed answer
//! driven as the streaming loop drives it ([`Stream`]), and, with the `aws`
//! feature, how the AWS client reads what services and the credentials
//! endpoint answer ([`aws_error`], [`aws_credentials`], [`aws_time`]). Compiled only under
//! `--cfg fuzzing` (cargo-fuzz sets it), and hidden from the docs: this is
//! not an API, it may change with any commit.
//!
//! The public parsers (`protocol::api_address`, `protocol::parse_next`,
//! `http1`, the event types) need nothing here.

/// The reader refuses answers whose status line and headers are larger.
#[cfg(feature = "std")]
pub const MAX_HEAD_BYTES: usize = crate::http1::MAX_HEAD_BYTES;

/// The reader refuses answers whose bodies are larger.
#[cfg(feature = "std")]
pub const MAX_BODY_BYTES: usize = crate::http1::MAX_BODY_BYTES;

/// One answer as a transport reads it: status, headers, body.
#[cfg(feature = "std")]
pub type Answer = (
    u16,
    alloc::vec::Vec<(alloc::string::String, alloc::string::String)>,
    alloc::vec::Vec<u8>,
);

/// `http1::read::read_response`, its answer as a plain tuple.
#[cfg(feature = "std")]
pub fn read_response(reader: &mut impl std::io::BufRead) -> std::io::Result<Answer> {
    crate::http1::read::read_response(reader).map(|(head, body)| (head.status, head.headers, body))
}

/// One request to the Runtime API, as the runtime sends them: the long poll
/// for the next event, or an invocation's answer (its id, its body).
#[cfg(feature = "std")]
#[derive(Clone, Copy, Debug)]
pub enum Call<'a> {
    /// `GET /2018-06-01/runtime/invocation/next`.
    Next,
    /// `POST /2018-06-01/runtime/invocation/{id}/response` with `body`.
    Respond(&'a str, &'a [u8]),
}

/// `calls` in order through one `T` for `authority` (`host:port`), each
/// answer as a plain tuple; the connection closes when this returns.
#[cfg(feature = "std")]
fn send<T: crate::transport::Transport>(
    authority: &str,
    calls: &[Call],
) -> alloc::vec::Vec<std::io::Result<Answer>> {
    let mut transport = T::new(authority);
    calls
        .iter()
        .map(|call| {
            let path;
            let request = match call {
                Call::Next => crate::transport::Request {
                    method: "GET",
                    path: "/2018-06-01/runtime/invocation/next",
                    headers: &[],
                    body: b"",
                },
                Call::Respond(id, body) => {
                    path = alloc::format!("/2018-06-01/runtime/invocation/{id}/response");
                    crate::transport::Request {
                        method: "POST",
                        path: &path,
                        headers: &[("Content-Type", "application/json")],
                        body,
                    }
                }
            };
            transport
                .send(&request)
                .map(|r| (r.status, r.headers, r.body))
        })
        .collect()
}

/// `calls` through the built-in transport (`transport::builtin`).
#[cfg(feature = "std")]
pub fn send_builtin(authority: &str, calls: &[Call]) -> alloc::vec::Vec<std::io::Result<Answer>> {
    send::<crate::transport::builtin::Connection>(authority, calls)
}

/// `calls` through the ureq transport (`transport::ureq_agent`), the default.
#[cfg(feature = "ureq")]
pub fn send_ureq(authority: &str, calls: &[Call]) -> alloc::vec::Vec<std::io::Result<Answer>> {
    send::<crate::transport::ureq_agent::Connection>(authority, calls)
}

/// The adapter's first half: event bytes to a request, or the
/// `Runtime.InvalidEvent` that says why not.
#[cfg(feature = "http-adapter")]
pub fn recognise(event: &[u8]) -> Result<crate::http_adapter::Request, crate::error::Diagnostic> {
    crate::http_adapter::recognise::parse(event)
}

/// The adapter's second half: a response, answered in `source`'s shape.
#[cfg(feature = "http-adapter")]
pub fn answer(
    source: crate::http_adapter::Source,
    response: crate::http_adapter::Response,
) -> alloc::vec::Vec<u8> {
    crate::http_adapter::answer::answer(source, response)
}

/// One streamed answer's state and the writer a handler fills, as the
/// streaming loop holds them: [`begin`](Stream::begin) an invocation, write,
/// [`end`](Stream::end) it; the next `begin` reuses the kept connection.
#[cfg(feature = "std")]
pub struct Stream {
    sink: std::sync::Arc<std::sync::Mutex<crate::runtime::StreamState>>,
    writer: crate::ResponseStream,
}

#[cfg(feature = "std")]
impl Stream {
    /// A stream to the Runtime API at `authority` (`host:port`); nothing
    /// connects until the first chunk leaves.
    pub fn new(authority: &str) -> Result<Stream, crate::Error> {
        let client = crate::client::Client::new(authority)?;
        let sink = std::sync::Arc::new(std::sync::Mutex::new(crate::runtime::StreamState::new(
            &client,
        )));
        let writer = crate::ResponseStream::new(std::sync::Arc::clone(&sink));
        Ok(Stream { sink, writer })
    }

    /// Start answering the invocation `request_id` (with the nonce
    /// `invocation_id`, if `/next` sent one).
    pub fn begin(&mut self, request_id: &str, invocation_id: Option<&str>) {
        let ctx = crate::Context {
            request_id: request_id.into(),
            invocation_id: invocation_id.map(Into::into),
            ..crate::Context::default()
        };
        crate::runtime::lock(&self.sink).begin(&ctx);
    }

    /// The writer the handler gets.
    pub fn writer(&mut self) -> &mut crate::ResponseStream {
        &mut self.writer
    }

    /// The room the sink's buffer holds now.
    pub fn buffer_capacity(&self) -> usize {
        crate::runtime::lock(&self.sink).buffer_capacity()
    }

    /// End the stream: a success, or a failure `(error type, message)`.
    /// `Ok(None)`: nothing had left, so nothing was sent (the loop would post
    /// to `/error`); `Ok(Some(status))`: the API's answer; `Err`: broken.
    pub fn end(
        &mut self,
        failure: Option<(&str, &str)>,
    ) -> Result<Option<u16>, alloc::string::String> {
        let diagnostic =
            failure.map(|(error_type, message)| crate::Diagnostic::new(error_type, message));
        match crate::runtime::lock(&self.sink).end(diagnostic.as_ref()) {
            crate::runtime::Ended::NotStarted => Ok(None),
            crate::runtime::Ended::Answered(response) => Ok(Some(response.status)),
            crate::runtime::Ended::Broken(why) => Err(why),
        }
    }
}

/// `aws::Error::from_answer`: an error answer (status 300 and above, headers
/// with lower-case names, body) read into the client's error.
#[cfg(feature = "aws")]
pub fn aws_error(
    status: u16,
    headers: &[(alloc::string::String, alloc::string::String)],
    body: &[u8],
) -> crate::aws::Error {
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    crate::aws::error::Error::from_answer("fuzz", status, &header, body)
}

/// The container credentials endpoint's answer, read as the cache reads it.
#[cfg(feature = "aws")]
pub fn aws_credentials(body: &[u8]) -> Result<crate::aws::Credentials, alloc::string::String> {
    crate::aws::credentials::parse_endpoint_answer(body)
}

/// `Expiration`'s time (seconds since the epoch), and the two forms
/// a signature writes a time in.
#[cfg(feature = "aws")]
pub fn aws_time(text: &str) -> Option<(u64, (alloc::string::String, alloc::string::String))> {
    let secs = crate::aws::time::parse_rfc3339_utc(text)?;
    Some((secs, crate::aws::time::amz_date(secs)))
}
