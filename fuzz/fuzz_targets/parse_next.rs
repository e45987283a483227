//! `protocol::parse_next` on any status and any set of headers, looked up the
//! way both transports do (the first header of that name, ignoring case).
//!
//! The input is text: the first line is the status, each further line one
//! `name:value` header (a value may hold anything but a newline, as after
//! the transports' line reader). What must hold:
//!
//! - only a 200 with a request id gives a context;
//! - the request id is never empty and can never change the URL path it is
//!   put into: no byte outside a path segment's own characters, and not a
//!   `.` or `..` segment;
//! - what is echoed back to Lambda as a header (the invocation id) can be
//!   written as one: no control characters;
//! - a deadline is the header's number exactly when the header is a number.
#![no_main]

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use tiny_lambda::protocol::{self, DEADLINE_MS, REQUEST_ID, parse_next};
use tiny_lambda::{Config, Error};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut lines = text.split('\n');
    let status = lines
        .next()
        .unwrap_or("")
        .trim()
        .parse::<u16>()
        .unwrap_or(200);
    let headers: Vec<(&str, &str)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim(), value.trim()))
        .collect();
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    };
    let result = parse_next(status, &header, &Arc::new(Config::default()));
    let ctx = match result {
        Err(Error::NextStatus(s)) => return assert_ne!(s, 200),
        Err(Error::MissingRequestId) => {
            return assert!(header(REQUEST_ID).is_none_or(|id| id.trim().is_empty()));
        }
        Err(Error::BadRequestId(id)) => return assert!(!id.is_empty()),
        Err(other) => panic!("parse_next cannot fail with {other:?}"),
        Ok(ctx) => ctx,
    };
    assert_eq!(status, 200);
    let id = &ctx.request_id;
    assert!(!id.is_empty());
    assert!(
        id.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@".contains(&b)),
        "{id:?} has a byte that changes the path"
    );
    assert!(id != "." && id != "..", "{id:?} is a dot segment");
    // The post goes exactly to that invocation's path.
    let post = protocol::response(&ctx, b"");
    assert_eq!(post.path, format!("/invocation/{id}/response"));
    if let Some(nonce) = post.invocation_id {
        assert!(
            nonce
                .bytes()
                .all(|b| b == b'\t' || (b' '..0x7f).contains(&b) || b >= 0x80),
            "{nonce:?} cannot be sent back as a header value"
        );
    }
    match header(DEADLINE_MS).map(|v| v.trim().parse::<u64>()) {
        Some(Ok(ms)) => assert_eq!(ctx.deadline_ms, ms),
        _ => assert_eq!(ctx.deadline_ms, 0),
    }
});
