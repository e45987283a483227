//! `protocol::api_address` on any `AWS_LAMBDA_RUNTIME_API` value.
//!
//! What must hold for every value it accepts: the authority is plain ASCII
//! with a host and a numeric port, the root is a path ending in the API's
//! version and `/runtime`, and feeding the address (without its API suffix)
//! back gives the same address.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tiny_lambda::protocol::{API_VERSION, api_address};

fuzz_target!(|data: &[u8]| {
    let Ok(value) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(api) = api_address(value) else {
        return;
    };
    let suffix = format!("/{API_VERSION}/runtime");
    let clean = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_graphic() && !b"?#@".contains(&b))
    };
    assert!(clean(&api.authority) && clean(&api.root), "{api:?}");
    assert!(!api.authority.contains('/'), "{api:?}");
    let (host, port) = api.authority.rsplit_once(':').expect("a port");
    assert!(!host.is_empty(), "{api:?}");
    assert!(!port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()));
    let prefix = api.root.strip_suffix(&suffix).expect("always ends with the API path");
    assert!(prefix.is_empty() || prefix.starts_with('/'), "{api:?}");
    // A fixed point: the address's own front gives the address back.
    let front = format!("http://{}{prefix}", api.authority);
    assert_eq!(api_address(&front).as_ref(), Ok(&api), "{value:?}");
});
