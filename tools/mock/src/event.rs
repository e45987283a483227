//! Building the events the mock hands out: the [`Event`] builder, the
//! `/next` headers it becomes, and fresh request ids and trace headers.

use std::borrow::ToOwned;
use std::format;
use std::string::{String, ToString};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use std::vec::Vec;

use super::{DEFAULT_FUNCTION_ARN, DEFAULT_TIMEOUT, Event, INVOCATION_ID};

impl Event {
    /// An event with this body and realistic defaults: a fresh request id,
    /// a 30-second timeout, the ARN of a function named `tiny-lambda-local`,
    /// a fresh trace id and a fresh invocation-id nonce.
    pub fn new(body: impl Into<Vec<u8>>) -> Event {
        Event {
            request_id: fresh_uuid(),
            body: body.into(),
            timeout: DEFAULT_TIMEOUT,
            function_arn: DEFAULT_FUNCTION_ARN.to_owned(),
            trace_id: Some(fresh_trace_id()),
            client_context: None,
            identity: None,
            tenant_id: None,
            invocation_id: Some(fresh_uuid()),
            overrides: Vec::new(),
            omitted: Vec::new(),
        }
    }

    /// Sets the request id.
    pub fn request_id(mut self, id: &str) -> Self {
        self.request_id = id.to_owned();
        self
    }

    /// Sets how long the invocation may run, counted from when `/next`
    /// hands it out; the deadline header is that instant in epoch
    /// milliseconds.
    pub fn timeout(mut self, d: Duration) -> Self {
        self.timeout = d;
        self
    }

    /// Sets the invoked function's ARN.
    pub fn function_arn(mut self, arn: &str) -> Self {
        self.function_arn = arn.to_owned();
        self
    }

    /// Sets the X-Ray trace header, or leaves it out with `None`.
    pub fn trace_id(mut self, t: Option<&str>) -> Self {
        self.trace_id = t.map(ToOwned::to_owned);
        self
    }

    /// Sends this JSON as `Lambda-Runtime-Client-Context` (sent only when
    /// set, as Lambda does).
    pub fn client_context(mut self, json: &str) -> Self {
        self.client_context = Some(json.to_owned());
        self
    }

    /// Sends this JSON as `Lambda-Runtime-Cognito-Identity` (sent only when
    /// set, as Lambda does).
    pub fn identity(mut self, json: &str) -> Self {
        self.identity = Some(json.to_owned());
        self
    }

    /// Sends this tenant id as `Lambda-Runtime-Aws-Tenant-Id`.
    pub fn tenant_id(mut self, t: &str) -> Self {
        self.tenant_id = Some(t.to_owned());
        self
    }

    /// Sets the invocation-id nonce, or leaves it out with `None`.
    pub fn invocation_id(mut self, nonce: Option<&str>) -> Self {
        self.invocation_id = nonce.map(ToOwned::to_owned);
        self
    }

    /// Sends this header verbatim, in place of any default of the same name
    /// (compared without regard to case). For malformed-input tests. The
    /// name and value must be printable ASCII, as the mock sends nothing else; a
    /// header that is not is left out.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.overrides
            .retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.overrides.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Does not send this header at all, such as
    /// `Lambda-Runtime-Aws-Request-Id`.
    pub fn without(mut self, name: &str) -> Self {
        self.omitted.push(name.to_owned());
        self
    }

    /// The request id this event will be handed out with.
    pub fn id(&self) -> &str {
        &self.request_id
    }

    /// The headers `/next` sends for this event, with a deadline in epoch
    /// milliseconds.
    pub(super) fn headers(&self, deadline_ms: u128) -> Vec<(String, String)> {
        let optional = [
            ("Lambda-Runtime-Trace-Id", &self.trace_id),
            ("Lambda-Runtime-Client-Context", &self.client_context),
            ("Lambda-Runtime-Cognito-Identity", &self.identity),
            ("Lambda-Runtime-Aws-Tenant-Id", &self.tenant_id),
            (INVOCATION_ID, &self.invocation_id),
        ];
        let mut headers = Vec::new();
        headers.push((
            "Lambda-Runtime-Aws-Request-Id".to_owned(),
            self.request_id.clone(),
        ));
        headers.push((
            "Lambda-Runtime-Deadline-Ms".to_owned(),
            deadline_ms.to_string(),
        ));
        headers.push((
            "Lambda-Runtime-Invoked-Function-Arn".to_owned(),
            self.function_arn.clone(),
        ));
        for (name, value) in optional {
            if let Some(value) = value {
                headers.push((name.to_owned(), value.clone()));
            }
        }
        headers.push(("Content-Type".to_owned(), "application/json".to_owned()));
        for (name, value) in &self.overrides {
            headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
            headers.push((name.clone(), value.clone()));
        }
        headers.retain(|(n, _)| !self.omitted.iter().any(|o| o.eq_ignore_ascii_case(n)));
        headers
    }
}

/// 64 bits that differ on every call in this process and very likely
/// between processes: a counter, the process id and the clock, mixed.
/// Good enough for ids in tests; not for anything secret.
pub(super) fn fresh_bits() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos() as u64 ^ d.as_secs().rotate_left(32));
    mix(nanos ^ mix(count) ^ (u64::from(std::process::id()) << 40))
}

/// The splitmix64 finalizer: spreads every input bit over the output.
pub(super) fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// A version-4-shaped UUID, as Lambda's request ids are.
pub(super) fn fresh_uuid() -> String {
    let a = fresh_bits();
    let b = fresh_bits();
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        ((b >> 48) & 0x3fff) | 0x8000,
        b & 0xffff_ffff_ffff
    )
}

/// An X-Ray trace header: the root holds the epoch seconds in hex, as X-Ray
/// ids do.
pub(super) fn fresh_trace_id() -> String {
    let seconds = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let a = fresh_bits();
    let b = fresh_bits();
    let parent = fresh_bits();
    format!(
        "Root=1-{:08x}-{:016x}{:08x};Parent={:016x};Sampled=0",
        seconds & 0xffff_ffff,
        a,
        b >> 32,
        parent
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn makes_distinct_well_shaped_ids() {
        let a = Event::new("").request_id;
        let b = Event::new("").request_id;
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(a.as_bytes()[14], b'4');
        let trace = fresh_trace_id();
        let root = trace.split(';').next().unwrap();
        assert_eq!(root.len(), "Root=1-".len() + 8 + 1 + 24);
    }
}
