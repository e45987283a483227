//! What the mock keeps of the runtime's requests for the test to read: each
//! request as received, the post that answered each invocation, and a
//! streamed answer chunk by chunk.

use std::net::SocketAddr;
use std::string::String;
use std::time::Instant;
use std::vec::Vec;

use super::find_header;

/// What the runtime posted for one invocation.
#[derive(Clone, Debug)]
pub enum Outcome {
    /// A post to `/invocation/{id}/response`.
    Response(Posted),
    /// A post to `/invocation/{id}/error`.
    Error(Posted),
}

/// One post from the runtime, with what the mock answered to it.
#[derive(Clone, Debug)]
pub struct Posted {
    /// The id from the path (empty for `/init/error`).
    pub request_id: String,
    /// The request headers, in the order received.
    pub headers: Vec<(String, String)>,
    /// The request body.
    pub body: Vec<u8>,
    /// The status the mock answered; 0 when it closed the connection instead.
    pub status: u16,
    /// When the post was received.
    pub at: Instant,
    /// When `/next` delivered this event, if it did.
    pub handed_out_at: Option<Instant>,
    /// For a streamed answer, its chunks and trailers; `body` is the chunks
    /// joined. `None` for a buffered post.
    pub stream: Option<Stream>,
}

/// A streamed answer as it arrived.
#[derive(Clone, Debug, Default)]
pub struct Stream {
    /// The chunks, in order, each with the time it was read.
    pub chunks: Vec<Chunk>,
    /// The trailers after the last chunk, in the order received.
    pub trailers: Vec<(String, String)>,
    /// Whether the stream has ended, whole or not.
    pub ended: bool,
    /// Whether it ended with its last chunk, rather than cut or timed out.
    pub complete: bool,
    /// When it ended, whole or not.
    pub ended_at: Option<Instant>,
}

/// One chunk of a streamed answer.
#[derive(Clone, Debug)]
pub struct Chunk {
    /// When the chunk had been read whole.
    pub at: Instant,
    /// Its data.
    pub bytes: Vec<u8>,
}

/// One request as the mock received it.
#[derive(Clone, Debug)]
pub struct Record {
    /// When the request arrived.
    pub at: Instant,
    /// The HTTP method, such as `GET`.
    pub method: String,
    /// The path, as sent.
    pub path: String,
    /// The request headers, in the order received.
    pub headers: Vec<(String, String)>,
    /// The request body.
    pub body: Vec<u8>,
    /// The status answered; 0 while a `/next` waits for an event, or when
    /// the mock closed the connection instead.
    pub status: u16,
    /// The client's address: requests from one address came on one connection.
    pub peer: Option<SocketAddr>,
}

impl Outcome {
    /// The post, whichever endpoint it went to.
    pub fn posted(&self) -> &Posted {
        match self {
            Outcome::Response(posted) | Outcome::Error(posted) => posted,
        }
    }
}

impl Posted {
    /// The value of a request header, found without regard to case.
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }

    /// The body as text; empty if it is not UTF-8.
    pub fn body_str(&self) -> &str {
        std::str::from_utf8(&self.body).unwrap_or("")
    }
}

impl Stream {
    /// The value of a trailer, found without regard to case.
    pub fn trailer(&self, name: &str) -> Option<&str> {
        find_header(&self.trailers, name)
    }

    /// The error body a failed stream carried in
    /// `Lambda-Runtime-Function-Error-Body`, decoded from base64.
    pub fn error_body(&self) -> Option<String> {
        let encoded = self.trailer("Lambda-Runtime-Function-Error-Body")?;
        let bytes = tiny_lambda::protocol::decode_base64(encoded)?;
        String::from_utf8(bytes).ok()
    }
}
