//! What the fuzz targets in `fuzz/` reach that is not public: the built-in
//! client's response reader, the limits it must keep, and the HTTP adapter's
//! two halves. Compiled only under `--cfg fuzzing` (cargo-fuzz sets it), and
//! hidden from the docs: this is not an API, it may change with any commit.
//!
//! The public parsers (`protocol::base_url`, `protocol::parse_next`, the
//! event types) need nothing here.

/// The reader refuses answers whose status line and headers are larger.
#[cfg(feature = "std")]
pub const MAX_HEAD_BYTES: usize = crate::transport::MAX_HEAD_BYTES;

/// The reader refuses answers whose bodies are larger.
#[cfg(feature = "std")]
pub const MAX_BODY_BYTES: usize = crate::transport::MAX_BODY_BYTES;

/// One answer as the built-in client reads it: status, headers, body.
#[cfg(feature = "std")]
pub type Answer = (
    u16,
    alloc::vec::Vec<(alloc::string::String, alloc::string::String)>,
    alloc::vec::Vec<u8>,
);

/// `transport::builtin::read_response`, its answer as a plain tuple.
#[cfg(feature = "std")]
pub fn read_response(reader: &mut impl std::io::BufRead) -> std::io::Result<Answer> {
    crate::transport::builtin::read_response(reader).map(|r| (r.status, r.headers, r.body))
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
