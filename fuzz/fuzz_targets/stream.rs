//! The streaming writer (`ResponseStream` over its `StreamState`) and the
//! chunked post under it (`transport::stream_post`, on `http1`'s chunk
//! framing), driven by a script of writes, flushes, content types and HTTP
//! preludes, then a success or a failure, against a Runtime API in this
//! process on 127.0.0.1 (`stream_api` in this
//! package's library), which decodes every request with its own strict
//! HTTP/1.1 reader and keeps each connection alive, so the runtime's reuse
//! of one connection from stream to stream is driven too.
//!
//! What must hold, besides never panicking:
//!
//! 1. the body the server decodes is exactly the bytes written (the prelude
//!    first when `start_http` succeeded), whatever the sizes of the writes and
//!    wherever the flushes; an operation that returned an error wrote nothing;
//! 2. the buffering rule: no empty chunk before the last; every chunk is at
//!    most `STREAM_BUFFER_BYTES` unless it is one write of at least that size
//!    sent whole; no more chunks than writes plus flushes plus one; and the
//!    chunks are exactly those the documented rule gives (a chunk leaves when
//!    the buffer would overflow, on a flush with something buffered, at the
//!    end);
//! 3. trailers only when the stream failed after bytes had left, and then
//!    exactly the two error trailers, once each, after the last chunk, each a
//!    valid field value; the type is `Function.` and the error type made a
//!    token, the body the base64 of `{"errorMessage":..,"errorType":..,
//!    "stackTrace":[]}` whose message and type read back (miniserde) as the
//!    ones given. A failure before the first byte sends nothing at all and
//!    ends `NotStarted`;
//! 4. nothing follows the terminating chunk: what the server reads next on
//!    that connection is the next request's head or the end of the
//!    connection, never stray bytes;
//! 5. memory stays bounded: the sink's buffer holds room for exactly
//!    `STREAM_BUFFER_BYTES` after every operation and after every end; only
//!    an HTTP prelude larger than that, waiting for the first byte, may grow
//!    it (to at most twice the prelude), and it is back to its size once the
//!    prelude has left or the stream has ended (and no single allocation
//!    over 16 MiB: `fuzz/run` passes `-malloc_limit_mb=16`);
//! 6. the request head is the streaming head: `POST
//!    /2018-06-01/runtime/invocation/{id}/response`, `Host`, the response
//!    mode `streaming`, `Transfer-Encoding: chunked`, the `Trailer`
//!    declaration, the nonce when there is one, no `Content-Length`, no other
//!    field, and the content type last set (`application/octet-stream`
//!    unless set, the HTTP integration type after `start_http`), as an HTTP
//!    reader reads it (without surrounding spaces); setting a content type
//!    succeeds before the first byte exactly when it has no control bytes.
//!
//! The input, byte by byte (missing bytes read as 0): a flags byte (bit 0:
//! drop the kept connection first), then up to four streams. A stream is a
//! flags byte (bit 0: `/next` sent a nonce), then up to 64 operations, each
//! an opcode byte taken modulo 8:
//!
//! - 0 `n f`: write `n` (0..=255) bytes of fill `f`;
//! - 1 `d f`: write `STREAM_BUFFER_BYTES + d` bytes (`d` an `i8`);
//! - 2 `d f`: write what fills the buffer exactly, plus `d` (an `i8`);
//! - 3 `lo hi f`: write a `u16` number of bytes;
//! - 4: flush;
//! - 5 `text`: set the content type;
//! - 6 `lo hi h (name value times)* c (cookie times)*`: `start_http` with
//!   that status, `h % 4` headers and `c % 3` cookies, each value repeated
//!   `1 + times % 64` times;
//! - 7 `e`: end the stream: a success when `e` is even, else a failure
//!   `type message`; the next stream starts after it.
//!
//! The end of the input ends the current stream with a success. A `text` is
//! a length byte and that many bytes, read as UTF-8 (invalid sequences
//! replaced). A fill `f` below 0xF0 writes bytes that count up from `f`
//! (period 251, so a lost, doubled or moved byte shows); from 0xF0 it repeats
//! one of a few framing look-alikes (`\r\n`, `0\r\n\r\n`, a request line).
//! Writes stop at 256 KiB of body per input.
#![no_main]

use std::io::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use miniserde::{Deserialize, json};
use tiny_lambda::__fuzz::Stream;
use tiny_lambda::protocol::{HTTP_INTEGRATION_CONTENT_TYPE, http_prelude};
use tiny_lambda::runtime::STREAM_BUFFER_BYTES;
use tiny_lambda_fuzz::stream_api::{
    Seen, api, is_ctl, is_field_value, is_tchar, next_report, trim,
};
use tiny_lambda_fuzz::{Bytes, base64_decode};

const B: usize = STREAM_BUFFER_BYTES;
const MAX_STREAMS: usize = 4;
const MAX_OPS: usize = 64;
const MAX_INPUT_BODY: usize = 256 * 1024;
const DEFAULT_CONTENT_TYPE: &str = "application/octet-stream";
const ERROR_TYPE: &str = "Lambda-Runtime-Function-Error-Type";
const ERROR_BODY: &str = "Lambda-Runtime-Function-Error-Body";
const TRAILER_DECLARATION: &str =
    "Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body";
const LOOK_ALIKES: [&[u8]; 4] = [
    b"\r\n",
    b"0\r\n\r\n",
    b"\r\n0\r\n\r\nPOST / HTTP/1.1\r\n\r\n",
    b"\0",
];

// ---------------------------------------------------------------------------
// The script.

/// A text, then how many times it repeats (1 to 64): header values long
/// enough to outgrow the stream buffer.
fn repeated(input: &mut Bytes) -> String {
    let text = input.text();
    text.repeat(1 + usize::from(input.byte() % 64))
}

/// `n` bytes of fill `f`, starting at body offset `at`.
fn fill(f: u8, at: usize, n: usize) -> Vec<u8> {
    if f < 0xf0 {
        (at..at + n)
            .map(|i| f.wrapping_add((i % 251) as u8))
            .collect()
    } else {
        let pattern = LOOK_ALIKES[usize::from(f & 0x0f) % LOOK_ALIKES.len()];
        (at..at + n).map(|i| pattern[i % pattern.len()]).collect()
    }
}

/// What the documented behaviour says one stream sends.
struct Model {
    content_type: String,
    /// A chunk has left: the post has started.
    started: bool,
    buffered: usize,
    body: Vec<u8>,
    chunks: Vec<usize>,
    /// Successful writes (of any size) and flushes.
    writes: usize,
    flushes: usize,
    /// The sizes of the writes of `B` bytes or more.
    large_writes: Vec<usize>,
}

impl Model {
    fn new() -> Model {
        Model {
            content_type: DEFAULT_CONTENT_TYPE.into(),
            started: false,
            buffered: 0,
            body: Vec::new(),
            chunks: Vec::new(),
            writes: 0,
            flushes: 0,
            large_writes: Vec::new(),
        }
    }
    fn emit_buffer(&mut self) {
        if self.buffered > 0 {
            self.chunks.push(self.buffered);
            self.buffered = 0;
            self.started = true;
        }
    }
    fn write(&mut self, data: &[u8]) {
        self.writes += 1;
        self.body.extend_from_slice(data);
        if self.buffered + data.len() > B {
            self.emit_buffer();
        }
        if data.len() >= B {
            self.large_writes.push(data.len());
            self.chunks.push(data.len());
            self.started = true;
        } else {
            self.buffered += data.len();
        }
    }
}

fn id_of(request_line: &str) -> &str {
    request_line
        .strip_prefix("POST /2018-06-01/runtime/invocation/")
        .and_then(|rest| rest.strip_suffix("/response HTTP/1.1"))
        .unwrap_or(request_line)
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(rename = "errorMessage")]
    error_message: String,
    #[serde(rename = "errorType")]
    error_type: String,
    #[serde(rename = "stackTrace")]
    stack_trace: Vec<String>,
}

/// The one value of `name` among `fields`, if there is exactly one.
fn only<'a>(fields: &'a [(String, Vec<u8>)], name: &str) -> Option<&'a [u8]> {
    let mut values = fields.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name));
    let value = values.next()?;
    assert!(values.next().is_none(), "{name} sent twice: {fields:?}");
    Some(&value.1)
}

fn check_head(seen: &Seen, id: &str, nonce: Option<&str>, model: &Model, authority: &str) {
    assert_eq!(
        seen.request_line,
        format!("POST /2018-06-01/runtime/invocation/{id}/response HTTP/1.1")
    );
    let h = &seen.headers;
    assert_eq!(only(h, "Host"), Some(authority.as_bytes()));
    assert_eq!(
        only(h, "Content-Type"),
        Some(trim(model.content_type.as_bytes())),
        "the content type set was {:?}",
        model.content_type
    );
    let mode = only(h, "Lambda-Runtime-Function-Response-Mode");
    assert_eq!(mode, Some(&b"streaming"[..]));
    assert_eq!(only(h, "Transfer-Encoding"), Some(&b"chunked"[..]));
    assert_eq!(only(h, "Trailer"), Some(TRAILER_DECLARATION.as_bytes()));
    let sent_nonce = only(h, "Lambda-Runtime-Invocation-Id");
    assert_eq!(sent_nonce, nonce.map(str::as_bytes));
    let known = [
        "Host",
        "User-Agent",
        "Content-Type",
        "Lambda-Runtime-Function-Response-Mode",
        "Transfer-Encoding",
        "Trailer",
        "Lambda-Runtime-Invocation-Id",
    ];
    for (name, _) in h {
        assert!(
            known.iter().any(|k| k.eq_ignore_ascii_case(name)),
            "an unexpected header {name:?}: {h:?}"
        );
    }
}

fn check_chunks(seen: &Seen, model: &Model) {
    // 1: the bytes, exactly.
    assert!(
        seen.body == model.body,
        "the body differs: {} bytes sent, {} written; first difference at {:?}",
        seen.body.len(),
        model.body.len(),
        seen.body.iter().zip(&model.body).position(|(a, b)| a != b)
    );
    // 2: the buffering rule.
    assert!(seen.chunks.iter().all(|&c| c > 0), "an empty chunk");
    for &c in &seen.chunks {
        assert!(
            c <= B || model.large_writes.contains(&c),
            "a chunk of {c} bytes that is no single write: {:?}",
            seen.chunks
        );
    }
    assert!(
        seen.chunks.len() <= model.writes + model.flushes + 1,
        "{} chunks for {} writes and {} flushes",
        seen.chunks.len(),
        model.writes,
        model.flushes
    );
    assert_eq!(seen.chunks, model.chunks, "not the chunks the rule gives");
}

fn check_trailers(seen: &Seen, failure: Option<&(String, String)>) {
    let Some((error_type, message)) = failure else {
        assert!(
            seen.trailers.is_empty(),
            "trailers on a success: {:?}",
            seen.trailers
        );
        return;
    };
    let names: Vec<&str> = seen.trailers.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, [ERROR_TYPE, ERROR_BODY], "{:?}", seen.trailers);
    let type_value = &seen.trailers[0].1;
    let body_value = &seen.trailers[1].1;
    for value in [type_value, body_value] {
        assert!(is_field_value(value), "not a field value: {value:?}");
    }
    // `Function.` and the type, anything but [A-Za-z0-9._-] made `_`.
    let type_value = std::str::from_utf8(type_value).unwrap();
    assert!(
        type_value.bytes().all(is_tchar),
        "not a token: {type_value:?}"
    );
    let made_token: String = error_type
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    assert_eq!(type_value, format!("Function.{made_token}"));
    let body = std::str::from_utf8(body_value).unwrap();
    let decoded = base64_decode(body).expect("the error body is base64");
    let text = String::from_utf8(decoded).expect("the error body is UTF-8");
    assert!(
        text.starts_with(r#"{"errorMessage":"#) && text.ends_with(r#","stackTrace":[]}"#),
        "{text}"
    );
    let parsed: ErrorBody = json::from_str(&text).expect("the error body parses");
    assert_eq!(&parsed.error_message, message);
    assert_eq!(&parsed.error_type, error_type);
    assert!(parsed.stack_trace.is_empty());
}

/// The stream kept from one input to the next: its connection is reused.
static STREAM: Mutex<Option<Stream>> = Mutex::new(None);
static INVOCATIONS: AtomicU64 = AtomicU64::new(0);
const WAIT: Duration = Duration::from_secs(10);

fuzz_target!(|data: &[u8]| {
    let api = api();
    let mut input = Bytes(data);
    let mut kept = STREAM.lock().unwrap();
    if input.byte() & 1 == 1 || kept.is_none() {
        *kept = None; // closes the kept connection before another opens
        *kept = Some(Stream::new(&api.authority).unwrap());
    }
    let stream = kept.as_mut().unwrap();
    if let Some(left) = next_report(Duration::ZERO) {
        panic!("a report nobody waited for: {left:?}");
    }
    let mut budget = MAX_INPUT_BODY;
    let mut last_not_started = false;
    for _ in 0..MAX_STREAMS {
        let n = INVOCATIONS.fetch_add(1, Ordering::Relaxed);
        let id = format!("fuzz-{n}");
        let nonce = (input.byte() & 1 == 1).then(|| format!("nonce-{n}"));
        stream.begin(&id, nonce.as_deref());
        let mut model = Model::new();
        let mut failure = None;
        for _ in 0..MAX_OPS {
            if input.0.is_empty() {
                break;
            }
            let out = stream.writer();
            match input.byte() % 8 {
                op @ 0..=3 => {
                    let size = match op {
                        0 => usize::from(input.byte()),
                        1 => B.saturating_add_signed(isize::from(input.byte() as i8)),
                        2 => (B - model.buffered.min(B))
                            .saturating_add_signed(isize::from(input.byte() as i8)),
                        _ => usize::from(input.u16()),
                    };
                    let f = input.byte();
                    if size > budget {
                        continue;
                    }
                    budget -= size;
                    let bytes = fill(f, model.body.len(), size);
                    match out.write(&bytes) {
                        Ok(n) => assert_eq!(n, bytes.len(), "a short write"),
                        Err(e) => panic!("a write failed: {e}"),
                    }
                    model.write(&bytes);
                }
                4 => {
                    out.flush().expect("a flush failed");
                    model.flushes += 1;
                    model.emit_buffer();
                }
                5 => {
                    let content_type = input.text();
                    let result = out.set_content_type(&content_type);
                    let allowed = !model.started && !content_type.bytes().any(|b| is_ctl(&b));
                    assert_eq!(
                        result.is_ok(),
                        allowed,
                        "set_content_type({content_type:?}) after {} chunks: {result:?}",
                        model.chunks.len()
                    );
                    if result.is_ok() {
                        model.content_type = content_type;
                    }
                }
                6 => {
                    let status = input.u16();
                    let headers: Vec<(String, String)> = (0..input.byte() % 4)
                        .map(|_| (input.text(), repeated(&mut input)))
                        .collect();
                    let cookies: Vec<String> = (0..input.byte() % 3)
                        .map(|_| repeated(&mut input))
                        .collect();
                    let headers: Vec<(&str, &str)> = headers
                        .iter()
                        .map(|(k, v)| (k.as_str(), v.as_str()))
                        .collect();
                    let cookies: Vec<&str> = cookies.iter().map(String::as_str).collect();
                    let prelude = http_prelude(status, &headers, &cookies);
                    if prelude.len() > budget {
                        continue;
                    }
                    let result = out.start_http(status, &headers, &cookies);
                    let allowed = !model.started && model.buffered == 0;
                    assert_eq!(result.is_ok(), allowed, "start_http: {result:?}");
                    if result.is_ok() {
                        budget -= prelude.len();
                        model.content_type = HTTP_INTEGRATION_CONTENT_TYPE.into();
                        model.body.extend_from_slice(&prelude);
                        // The prelude waits in the buffer like a write.
                        model.writes += 1;
                        model.buffered += prelude.len();
                        if prelude.len() >= B {
                            model.large_writes.push(prelude.len());
                        }
                    }
                }
                _ => {
                    if input.byte() % 2 == 1 {
                        failure = Some((input.text(), input.text()));
                    }
                    break;
                }
            }
            // 5: the buffer's room never grows, but for a waiting prelude.
            let room = stream.buffer_capacity();
            if model.buffered <= B {
                assert_eq!(room, B, "the sink's buffer holds room for {room} bytes");
            } else {
                assert!(
                    room <= 2 * model.buffered,
                    "{room} bytes of room for a prelude"
                );
            }
        }

        // The ending, as the model says.
        let ended = stream.end(failure.as_ref().map(|(t, m)| (t.as_str(), m.as_str())));
        assert_eq!(stream.buffer_capacity(), B);
        last_not_started = failure.is_some() && !model.started;
        if last_not_started {
            // 3: nothing at all was sent; the next report (if any) proves it.
            assert_eq!(ended, Ok(None), "a failure before the first byte");
        } else {
            model.emit_buffer();
            let seen = next_report(WAIT).unwrap_or_else(|| panic!("no request seen ({ended:?})"));
            let seen = seen.unwrap_or_else(|e| panic!("the server refused the stream: {e}"));
            assert_eq!(ended, Ok(Some(202)), "the runtime's end of {id}");
            assert_eq!(
                id_of(&seen.request_line),
                id,
                "a request that was never to be sent (an earlier stream's?)"
            );
            check_head(&seen, &id, nonce.as_deref(), &model, &api.authority);
            check_chunks(&seen, &model);
            check_trailers(&seen, failure.as_ref());
        }
        if input.0.is_empty() {
            break;
        }
    }
    if last_not_started {
        // One more stream, empty, so that what the last one might have sent
        // shows up now rather than in the next input.
        let n = INVOCATIONS.fetch_add(1, Ordering::Relaxed);
        let id = format!("fuzz-{n}");
        stream.begin(&id, None);
        assert_eq!(stream.end(None), Ok(Some(202)));
        let seen = next_report(WAIT)
            .expect("no request seen")
            .expect("refused");
        assert_eq!(
            id_of(&seen.request_line),
            id,
            "a stream that ended before its first byte sent something"
        );
        assert!(seen.chunks.is_empty() && seen.trailers.is_empty());
    }
});
