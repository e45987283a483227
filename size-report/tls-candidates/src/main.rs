//! One ureq agent made as tiny-lambda's `src/aws/http.rs` makes it, with the
//! TLS configuration of the candidate chosen by a feature, and one request
//! that makes ureq build the rustls `ClientConfig` exactly as at a thread's
//! first HTTPS call.
//!
//! ureq builds that config in `RustlsConnector::connect` (tls/rustls.rs,
//! `get_cached_config` -> `build_config`), after the TCP connection is made
//! and before the handshake. So a listener on 127.0.0.1 that accepts and
//! closes at once is enough: the connection is made, the config is built,
//! the handshake fails. Nothing leaves the machine.
//!
//! Prints nothing and exits 0 when the request got that far; prints why and
//! exits 1 otherwise (say, it could not connect). With `TLS_CANDIDATES_VERBOSE`
//! set it also prints the error it got, and for `ring-native` the roots read.

#[cfg(not(any(
    feature = "ring-webpki",
    feature = "ring-native",
    feature = "awslc-webpki",
    feature = "none",
    feature = "ring-webpki-tls13",
)))]
compile_error!(
    "choose one candidate: --features ring-webpki | ring-native | awslc-webpki | none | ring-webpki-tls13"
);

use std::net::TcpListener;
use std::process::ExitCode;
use std::time::Duration;

fn main() -> ExitCode {
    let verbose = std::env::var_os("TLS_CANDIDATES_VERBOSE").is_some();

    // The peer: accept one connection and close it.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
    let port = listener.local_addr().expect("local address").port();
    let peer = std::thread::spawn(move || {
        if let Ok((stream, _)) = listener.accept() {
            drop(stream);
        }
    });

    let agent = new_agent(verbose);
    let scheme = if cfg!(feature = "none") {
        "http"
    } else {
        "https"
    };
    let url = format!("{scheme}://127.0.0.1:{port}/");
    let result = agent.get(&url).call();
    let _ = peer.join();

    match result {
        Ok(answer) => {
            eprintln!(
                "unexpected answer {} from the closing peer",
                answer.status()
            );
            ExitCode::FAILURE
        }
        // Never connected: the TLS config was not built.
        Err(
            e @ (ureq::Error::ConnectionFailed
            | ureq::Error::HostNotFound
            | ureq::Error::Timeout(_)),
        ) => {
            eprintln!("did not connect, so no TLS config was built: {e}");
            ExitCode::FAILURE
        }
        // Connected, then the peer hung up (handshake or request failed).
        Err(e) => {
            if verbose {
                eprintln!("expected failure after connect: {e}");
            }
            ExitCode::SUCCESS
        }
    }
}

/// The agent of `src/aws/http.rs::new_agent`, plus the candidate's TLS config.
fn new_agent(verbose: bool) -> ureq::Agent {
    let _ = verbose;
    let builder = ureq::config::Config::builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .user_agent("tiny-lambda/0.1.0")
        .max_idle_age(Duration::from_secs(50));
    #[cfg(not(feature = "none"))]
    let builder = builder.tls_config(tls_config(verbose));
    ureq::Agent::new_with_config(builder.build())
}

/// 1. Today's choice: ureq's defaults under its `rustls` feature (ring, and
/// webpki-roots), as tiny-lambda gets them without naming a TlsConfig.
#[cfg(feature = "ring-webpki")]
fn tls_config(_verbose: bool) -> ureq::tls::TlsConfig {
    ureq::tls::TlsConfig::builder().build()
}

/// 2. ring, and the system's roots: what a user would do at init (or at the
/// first call) to trust the image's CA bundle instead of the compiled-in one.
#[cfg(feature = "ring-native")]
fn tls_config(verbose: bool) -> ureq::tls::TlsConfig {
    use std::sync::Arc;
    use ureq::tls::{Certificate, RootCerts, TlsConfig};

    let native = rustls_native_certs::load_native_certs();
    if verbose {
        eprintln!(
            "rustls-native-certs: {} roots, {} errors",
            native.certs.len(),
            native.errors.len()
        );
    }
    let roots: Vec<Certificate<'static>> = native
        .certs
        .iter()
        .map(|der| Certificate::from_der(der.as_ref()).to_owned())
        .collect();
    TlsConfig::builder()
        .unversioned_rustls_crypto_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .root_certs(RootCerts::Specific(Arc::new(roots)))
        .build()
}

/// 3. aws-lc-rs as the provider, webpki-roots as the roots.
#[cfg(feature = "awslc-webpki")]
fn tls_config(_verbose: bool) -> ureq::tls::TlsConfig {
    use std::sync::Arc;
    ureq::tls::TlsConfig::builder()
        .unversioned_rustls_crypto_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .root_certs(ureq::tls::RootCerts::WebPki)
        .build()
}

/// 5. As 1, with a provider of the three TLS 1.3 suites and X25519 + P-256.
/// ureq's `build_config` always calls `with_protocol_versions(ALL_VERSIONS)`
/// (no TlsConfig setting for versions), but rustls offers a version only if
/// the provider has a suite for it (`ClientConfig::supports_version`), so
/// this client offers TLS 1.3 alone.
#[cfg(feature = "ring-webpki-tls13")]
fn tls_config(_verbose: bool) -> ureq::tls::TlsConfig {
    use rustls::crypto::ring::{cipher_suite, default_provider, kx_group};
    use rustls::crypto::CryptoProvider;
    use std::sync::Arc;

    let provider = CryptoProvider {
        cipher_suites: vec![
            cipher_suite::TLS13_AES_256_GCM_SHA384,
            cipher_suite::TLS13_AES_128_GCM_SHA256,
            cipher_suite::TLS13_CHACHA20_POLY1305_SHA256,
        ],
        kx_groups: vec![kx_group::X25519, kx_group::SECP256R1],
        ..default_provider()
    };
    ureq::tls::TlsConfig::builder()
        .unversioned_rustls_crypto_provider(Arc::new(provider))
        .build()
}
