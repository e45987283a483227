//! `protocol::base_url` on any `AWS_LAMBDA_RUNTIME_API` value.
//!
//! What must hold for every value it accepts: the URL is plain ASCII
//! `http://` with an authority that has a host and a numeric port, every URL
//! the client derives from it stays inside the Runtime API's path, and
//! feeding the URL (without its API suffix) back gives the same URL.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tiny_lambda::protocol::{API_VERSION, base_url, next_url};

fuzz_target!(|data: &[u8]| {
    let Ok(value) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(url) = base_url(value) else {
        return;
    };
    let suffix = format!("/{API_VERSION}/runtime");
    let rest = url.strip_prefix("http://").expect("always http://");
    let prefix = url
        .strip_suffix(&suffix)
        .expect("always ends with the API path");
    assert!(
        url.bytes()
            .all(|b| b.is_ascii_graphic() && !b"?#@".contains(&b)),
        "{url:?}"
    );
    // What `Client::new` takes as the authority: host and numeric port.
    let authority = rest.split('/').next().unwrap();
    let (host, port) = authority.rsplit_once(':').expect("a port");
    assert!(!host.is_empty(), "{url:?}");
    assert!(!port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()));
    // Every endpoint is the base plus a fixed tail.
    assert_eq!(next_url(&url), format!("{url}/invocation/next"));
    // A fixed point: the URL's own front gives the URL back.
    assert_eq!(base_url(prefix).as_deref(), Ok(url.as_str()), "{value:?}");
});
