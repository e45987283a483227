//! The streamed sink: [`ResponseStream`], the `std::io::Write` a streaming
//! handler fills, and behind it the state of one streamed answer
//! (`StreamState`): what is buffered, whether the post has started, and
//! whether the Runtime API hung up.
//!
//! The post starts with the first chunk that leaves, not before: until then
//! a failure can still go to `/invocation/{id}/error` as a buffered answer's
//! would. Once a byte is out, a failure can only end the stream with the
//! error trailers. [`Streamed::end`] (for the loop) and the panic hook
//! decide which; `StreamState` only knows how.
//!
//! `on_panic` owns the step in front of the panic hook: which stream is in
//! flight on this thread, and ending it with the error trailers when the
//! handler panics after bytes were sent.

use std::io::{self, Write};
use std::string::{String, ToString};
use std::sync::{Arc, Mutex, MutexGuard};
use std::vec::Vec;

use crate::client::Client;
use crate::context::Context;
use crate::error::{Diagnostic, Error};
use crate::protocol;
use crate::transport::Response;
use crate::transport::stream_post::{StreamConnection, StreamPost};

mod on_panic;

pub(super) use on_panic::{install_stream_panic_hook, set_stream};

/// Writes are gathered up to this many bytes before they leave as one chunk.
pub const STREAM_BUFFER_BYTES: usize = 16 * 1024;

/// The content type of a stream unless the handler sets one.
const DEFAULT_CONTENT_TYPE: &str = "application/octet-stream";

/// Where a streaming handler writes its response.
///
/// Bytes are gathered in a buffer of [`STREAM_BUFFER_BYTES`] and leave as one
/// HTTP chunk when the buffer would overflow, when you call
/// [`flush`](Write::flush), and when the handler returns. A single write of
/// the buffer's size or more leaves as a chunk of its own, uncopied. So
/// writing a line at a time does not send a chunk per line; call `flush`
/// when the caller should see what you wrote so far now.
///
/// Before the first chunk leaves, nothing has been sent: a handler that fails
/// then is reported to `/invocation/{id}/error` as a buffered one is, and what
/// it had buffered is dropped. After it, a failure (an `Err`, or a panic)
/// ends the stream with Lambda's error trailers instead, and the caller sees
/// the bytes sent so far and then the error.
///
/// A write fails once the Runtime API has closed the stream (the caller went
/// away, the deadline passed, the response grew past what Lambda allows):
/// the error says so, and every later write fails the same way. Return it;
/// the runtime logs it and goes on with the next event.
///
/// Limits, from the AWS documentation: a streamed response may be up to
/// 200 MB; the first 6 MB leave at full speed and the rest at up to 2 MB/s.
/// The runtime does not count: Lambda enforces both. At the bandwidth cap a
/// write simply blocks until the bytes are taken; past the size limit Lambda
/// ends the stream, and writes fail as above.
pub struct ResponseStream {
    sink: Arc<Mutex<StreamState>>,
}

/// One streamed answer's state, shared by the handler's [`ResponseStream`],
/// the loop and the panic hook.
pub(crate) struct StreamState {
    connection: StreamConnection,
    /// Where the API is: the post's path goes below its root.
    client: Client,
    /// The invocation being answered (request id and nonce matter).
    ctx: Context,
    content_type: String,
    buffer: Vec<u8>,
    /// The post, once its first chunk has left.
    post: Option<StreamPost>,
    /// Body bytes sent so far.
    sent: u64,
    /// Why writes fail from now on: the stream broke under us.
    broken: Option<(io::ErrorKind, String)>,
}

/// How a stream ended, for the loop to log and judge.
pub(crate) enum Ended {
    /// Nothing left: the loop reports the failure to `/error` instead.
    NotStarted,
    /// The Runtime API answered the finished post.
    Answered(Response),
    /// The connection broke (before or while finishing); the answer is lost.
    Broken(String),
}

impl ResponseStream {
    pub(crate) fn new(sink: Arc<Mutex<StreamState>>) -> ResponseStream {
        ResponseStream { sink }
    }

    /// Set the `Content-Type` the caller sees (`application/octet-stream`
    /// unless set). Only before the first byte leaves, and only a value
    /// that can be written as a header: no control characters (CR, LF, NUL
    /// and the like are refused with `InvalidInput`).
    pub fn set_content_type(&mut self, content_type: &str) -> io::Result<()> {
        let mut sink = self.sink();
        sink.not_started("the content type")?;
        // It goes into the post's head as it is: a CR or LF would end the
        // line there and bend the request. (Found by fuzz/stream.)
        if !content_type.bytes().all(protocol::is_field_value_byte) {
            return Err(misuse("the content type has control characters"));
        }
        sink.content_type = content_type.to_string();
        Ok(())
    }

    /// Answer a function URL (or other HTTP) invocation: `status`, `headers`
    /// (one value per name) and `cookies` (`Set-Cookie` values) become the
    /// prelude Lambda turns into the HTTP response's head; what you write
    /// next is its body. Only before anything else was written.
    ///
    /// ```no_run
    /// use std::io::Write;
    /// use tiny_lambda::{Context, Handler, ResponseStream, Runtime};
    ///
    /// fn main() {
    ///     Runtime::from_env().serve(Handler::streaming_raw(
    ///         |_event: &[u8], _ctx: &Context, out: &mut ResponseStream| {
    ///             out.start_http(200, &[("content-type", "text/plain")], &[])?;
    ///             out.write_all(b"hello")?;
    ///             Ok::<_, std::io::Error>(())
    ///         },
    ///     ))
    /// }
    /// ```
    pub fn start_http(
        &mut self,
        status: u16,
        headers: &[(&str, &str)],
        cookies: &[&str],
    ) -> io::Result<()> {
        let mut sink = self.sink();
        sink.not_started("the HTTP prelude")?;
        if !sink.buffer.is_empty() {
            return Err(misuse("the HTTP prelude must come before the body"));
        }
        sink.content_type = protocol::HTTP_INTEGRATION_CONTENT_TYPE.to_string();
        let prelude = protocol::http_prelude(status, headers, cookies);
        sink.buffer.extend_from_slice(&prelude);
        Ok(())
    }

    /// Body bytes that have left so far (buffered ones not counted).
    pub fn bytes_sent(&self) -> u64 {
        self.sink().sent
    }

    fn sink(&self) -> MutexGuard<'_, StreamState> {
        lock(&self.sink)
    }
}

impl Write for ResponseStream {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.sink().write(data)?;
        Ok(data.len())
    }

    /// Send what is buffered now, as one chunk. With nothing buffered it
    /// sends nothing (an empty chunk would end the stream).
    fn flush(&mut self) -> io::Result<()> {
        self.sink().send_buffer()
    }
}

/// A panic while the sink was locked leaves it usable: the hook and the loop
/// decide what to do with a half-sent stream.
pub(crate) fn lock(sink: &Mutex<StreamState>) -> MutexGuard<'_, StreamState> {
    sink.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl StreamState {
    pub(crate) fn new(client: &Client) -> StreamState {
        StreamState {
            connection: StreamConnection::new(client.authority()),
            client: client.clone(),
            ctx: Context::default(),
            content_type: String::new(),
            buffer: Vec::with_capacity(STREAM_BUFFER_BYTES),
            post: None,
            sent: 0,
            broken: None,
        }
    }

    /// Start afresh for the invocation `ctx`; a post left over from the one
    /// before (only after a panic) is dropped with its connection.
    pub(crate) fn begin(&mut self, ctx: &Context) {
        self.ctx = ctx.clone();
        self.content_type.clear();
        self.content_type.push_str(DEFAULT_CONTENT_TYPE);
        self.clear_buffer();
        self.post = None;
        self.sent = 0;
        self.broken = None;
    }

    /// Whether any byte has left: failures go into the trailers from now on.
    pub(super) fn started(&self) -> bool {
        self.post.is_some() || self.broken.is_some()
    }

    /// Body bytes sent so far.
    pub(super) fn sent(&self) -> u64 {
        self.sent
    }

    /// What the buffer holds room for: the fuzz target checks it stays put.
    #[cfg(fuzzing)]
    pub(crate) fn buffer_capacity(&self) -> usize {
        self.buffer.capacity()
    }

    fn not_started(&self, what: &str) -> io::Result<()> {
        if self.started() {
            let mut message = String::from(what);
            message.push_str(" cannot change once bytes were sent");
            return Err(misuse(&message));
        }
        Ok(())
    }

    fn write(&mut self, data: &[u8]) -> io::Result<()> {
        self.check()?;
        if self.buffer.len() + data.len() > STREAM_BUFFER_BYTES {
            self.send_buffer()?;
        }
        if data.len() >= STREAM_BUFFER_BYTES {
            return self.send(data);
        }
        self.buffer.extend_from_slice(data);
        Ok(())
    }

    /// Send the buffer as one chunk, if it holds anything.
    fn send_buffer(&mut self) -> io::Result<()> {
        self.check()?;
        if self.buffer.is_empty() {
            return Ok(());
        }
        let buffer = std::mem::take(&mut self.buffer);
        let sent = self.send(&buffer);
        self.buffer = buffer;
        self.clear_buffer();
        sent
    }

    /// Empty the buffer. Only an HTTP prelude grows it past its size (it
    /// waits there for the first byte); that room is given back here, so a
    /// large prelude once does not stay allocated for the process's life.
    fn clear_buffer(&mut self) {
        self.buffer.clear();
        if self.buffer.capacity() > STREAM_BUFFER_BYTES {
            self.buffer = Vec::with_capacity(STREAM_BUFFER_BYTES);
        }
    }

    /// Send one chunk, starting the post first if this is the first.
    fn send(&mut self, data: &[u8]) -> io::Result<()> {
        let result = match self.post_mut() {
            Ok(post) => post.send(data),
            Err(e) => Err(e),
        };
        match result {
            Ok(()) => {
                self.sent += data.len() as u64;
                Ok(())
            }
            Err(e) => Err(self.break_with(&e)),
        }
    }

    fn post_mut(&mut self) -> io::Result<&mut StreamPost> {
        if self.post.is_none() {
            let head = protocol::stream_head(&self.ctx, &self.content_type);
            let post = self
                .connection
                .start(&self.client.target(&head.path), &head.headers)?;
            log::debug!("POST {} (streaming)", head.path);
            self.post = Some(post);
        }
        // Just set when it was missing.
        self.post
            .as_mut()
            .ok_or_else(|| io::ErrorKind::NotConnected.into())
    }

    /// Remember that the stream is broken, log it once, and return the error
    /// every write gets from now on.
    fn break_with(&mut self, e: &io::Error) -> io::Error {
        log::warn!(
            "the response stream for {} broke after {} bytes: {e}",
            self.ctx.request_id,
            self.sent
        );
        let message = std::format!("the Runtime API closed the response stream: {e}");
        self.broken = Some((e.kind(), message));
        self.post = None;
        self.check().err().unwrap_or_else(|| e.kind().into())
    }

    fn check(&self) -> io::Result<()> {
        match &self.broken {
            Some((kind, message)) => Err(io::Error::new(*kind, message.as_str())),
            None => Ok(()),
        }
    }

    /// End the stream: on success with what is still buffered and the last
    /// chunk; on failure with the error trailers, if bytes were sent.
    /// Returns how it ended; the kept-alive connection is taken back.
    pub(crate) fn end(&mut self, failure: Option<&Diagnostic>) -> Ended {
        if let Some((_, why)) = &self.broken {
            return Ended::Broken(why.clone());
        }
        if failure.is_some() && self.post.is_none() {
            self.clear_buffer();
            return Ended::NotStarted;
        }
        // What the handler wrote before it failed still goes out first.
        if let Err(e) = self.send_buffer().and_then(|()| self.post_mut().map(drop)) {
            return Ended::Broken(e.to_string());
        }
        let trailers = failure.map(protocol::error_trailers);
        let trailers: Vec<(&str, &str)> = trailers
            .iter()
            .flatten()
            .map(|(name, value)| (*name, value.as_str()))
            .collect();
        let Some(mut post) = self.post.take() else {
            return Ended::NotStarted;
        };
        let answer = post.finish(&trailers);
        self.connection.keep(post, &answer);
        match answer {
            Ok(response) => Ended::Answered(response),
            Err(e) => Ended::Broken(e.to_string()),
        }
    }
}

impl Ended {
    /// Judge the ending as a post's answer is judged: a 4xx is about this
    /// invocation, a 5xx ends the process. A broken stream is logged and is
    /// not fatal: it cannot be sent again, and if the API itself is gone the
    /// next `/next` finds out.
    pub(super) fn judge(self, request_id: &str) -> Result<(), Error> {
        match self {
            Ended::NotStarted => Ok(()),
            Ended::Answered(response) => {
                protocol::judge_post(response.status, &String::from_utf8_lossy(&response.body))
            }
            Ended::Broken(why) => {
                log::warn!("the response stream for {request_id} was cut short: {why}");
                Ok(())
            }
        }
    }
}

fn misuse(message: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, String::from(message))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Read};
    use std::net::TcpListener;
    use std::thread;

    /// The sizes of the chunks a server read, and the trailer lines.
    type Seen = (Vec<usize>, Vec<String>);

    /// A Runtime API that takes one streamed post and answers 202.
    fn api() -> (String, thread::JoinHandle<Seen>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let server = thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream);
            let mut line = String::new();
            while line != "\r\n" {
                line.clear();
                reader.read_line(&mut line).unwrap();
            }
            let mut sizes = Vec::new();
            loop {
                line.clear();
                reader.read_line(&mut line).unwrap();
                let size = usize::from_str_radix(line.trim_end(), 16).unwrap();
                if size == 0 {
                    break;
                }
                let mut data = std::vec![0; size + 2];
                reader.read_exact(&mut data).unwrap();
                sizes.push(size);
            }
            let mut trailers = Vec::new();
            loop {
                line.clear();
                reader.read_line(&mut line).unwrap();
                if line == "\r\n" {
                    break;
                }
                trailers.push(line.trim_end().to_string());
            }
            reader
                .get_mut()
                .write_all(b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n")
                .unwrap();
            (sizes, trailers)
        });
        (address, server)
    }

    /// An address nothing listens on: a port bound and released.
    fn closed_port() -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().to_string()
    }

    fn stream_to(address: &str) -> (Arc<Mutex<StreamState>>, ResponseStream) {
        let client = Client::new(address).unwrap();
        let sink = Arc::new(Mutex::new(StreamState::new(&client)));
        let ctx = Context {
            request_id: "r1".into(),
            ..Context::default()
        };
        lock(&sink).begin(&ctx);
        (Arc::clone(&sink), ResponseStream::new(sink))
    }

    #[test]
    fn small_writes_gather_into_chunks_and_large_ones_go_whole() {
        let (address, server) = api();
        let (sink, mut out) = stream_to(&address);
        for _ in 0..100 {
            out.write_all(&[b'a'; 10]).unwrap();
        }
        assert_eq!(out.bytes_sent(), 0, "nothing leaves before a flush");
        assert!(!lock(&sink).started());
        out.flush().unwrap();
        out.flush().unwrap(); // nothing buffered: no empty chunk
        out.write_all(&[b'b'; 20_000]).unwrap();
        out.write_all(&[b'c'; 10]).unwrap();
        out.write_all(&[b'd'; STREAM_BUFFER_BYTES - 4]).unwrap();
        assert_eq!(out.bytes_sent(), 21_010);
        assert!(
            out.start_http(200, &[], &[]).is_err(),
            "too late for a prelude"
        );
        let Ended::Answered(answer) = lock(&sink).end(None) else {
            panic!("the stream did not end with an answer");
        };
        assert_eq!(answer.status, 202);
        let (sizes, trailers) = server.join().unwrap();
        assert_eq!(sizes, [1000, 20_000, 10, STREAM_BUFFER_BYTES - 4]);
        assert!(trailers.is_empty());
    }

    #[test]
    fn a_failure_after_the_first_chunk_sends_what_was_buffered_then_trailers() {
        let (address, server) = api();
        let (sink, mut out) = stream_to(&address);
        out.write_all(b"first").unwrap();
        out.flush().unwrap();
        out.write_all(b"buffered").unwrap();
        let diagnostic = Diagnostic::new("Boom", "late");
        assert!(matches!(
            lock(&sink).end(Some(&diagnostic)),
            Ended::Answered(_)
        ));
        let (sizes, trailers) = server.join().unwrap();
        assert_eq!(sizes, [5, 8]);
        assert_eq!(
            trailers[0],
            "Lambda-Runtime-Function-Error-Type: Function.Boom"
        );
        assert!(trailers[1].starts_with("Lambda-Runtime-Function-Error-Body: eyJ"));
    }

    #[test]
    fn a_failure_before_the_first_chunk_sends_nothing() {
        // Nothing listens: had it tried to connect, the end would be Broken.
        let (_sink, mut out) = stream_to(&closed_port());
        out.write_all(b"never sent").unwrap();
        let diagnostic = Diagnostic::new("Boom", "early");
        assert!(matches!(
            lock(&out.sink).end(Some(&diagnostic)),
            Ended::NotStarted
        ));
    }

    #[test]
    fn a_content_type_that_cannot_be_a_header_is_refused() {
        // From fuzz/stream: it went into the post's head as it was.
        let (sink, mut out) = stream_to(&closed_port());
        for bad in [
            "text/plain\r\nX-Injected: 1",
            "a\nb",
            "\u{0}",
            "t\u{1}\u{5}",
            "x\u{7f}",
        ] {
            let refused = out.set_content_type(bad).unwrap_err();
            assert_eq!(refused.kind(), io::ErrorKind::InvalidInput, "{bad:?}");
        }
        assert_eq!(lock(&sink).content_type, DEFAULT_CONTENT_TYPE);
        out.set_content_type("text/plain; charset=\"utf-8\"\t é")
            .unwrap();
        assert_eq!(
            lock(&sink).content_type,
            "text/plain; charset=\"utf-8\"\t é"
        );
    }

    #[test]
    fn a_prelude_larger_than_the_buffer_does_not_keep_it_large() {
        // From fuzz/stream: a 20 KiB header value grew the buffer to 32 KiB,
        // and begin() kept that room for every later invocation.
        let big = "v".repeat(20_000);
        let (address, server) = api();
        let (sink, mut out) = stream_to(&address);
        out.start_http(200, &[("x-big", &big)], &[]).unwrap();
        out.write_all(b"body").unwrap();
        assert_eq!(lock(&sink).buffer.capacity(), STREAM_BUFFER_BYTES);
        assert!(matches!(lock(&sink).end(None), Ended::Answered(_)));
        let (sizes, _) = server.join().unwrap();
        assert_eq!(
            sizes.len(),
            2,
            "the prelude whole, then the body: {sizes:?}"
        );
        assert_eq!(sizes[1], 4);
        // Never sent: a failure before the first byte, then the next begin.
        let ctx = Context::default();
        out.start_http(200, &[("x-big", &big)], &[]).unwrap();
        assert!(matches!(
            lock(&sink).end(Some(&Diagnostic::new("Boom", "early"))),
            Ended::NotStarted
        ));
        assert_eq!(lock(&sink).buffer.capacity(), STREAM_BUFFER_BYTES);
        lock(&sink).begin(&ctx);
        out.start_http(200, &[("x-big", &big)], &[]).unwrap();
        lock(&sink).begin(&ctx);
        assert_eq!(lock(&sink).buffer.capacity(), STREAM_BUFFER_BYTES);
    }

    #[test]
    fn once_broken_every_write_fails_the_same_way() {
        let (sink, mut out) = stream_to(&closed_port());
        out.write_all(b"x").unwrap();
        let first = out.flush().unwrap_err();
        let second = out.write_all(&[0; 20_000]).unwrap_err();
        assert_eq!(first.kind(), second.kind());
        assert!(
            second.to_string().contains("closed the response stream"),
            "{second}"
        );
        assert!(lock(&sink).started(), "a broken stream cannot go to /error");
        assert!(matches!(lock(&sink).end(None), Ended::Broken(_)));
    }
}
