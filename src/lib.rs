//! A minimal AWS Lambda custom runtime: one blocking thread (N under Lambda
//! Managed Instances), no async executor.
//!
//! ```no_run
//! use tiny_lambda::Context;
//!
//! #[derive(miniserde::Deserialize)]
//! struct Request { name: String }
//!
//! #[derive(miniserde::Serialize)]
//! struct Response { greeting: String }
//!
//! fn main() {
//!     tiny_lambda::run(|req: Request, _ctx: &Context| {
//!         Ok::<_, String>(Response { greeting: format!("Hello, {}!", req.name) })
//!     })
//! }
//! ```
//!
//! Build that as a binary named `bootstrap`, zip it, deploy it on the
//! `provided.al2023` runtime. Lambda starts the process; the process asks the
//! Runtime API for an event, answers it, and asks again, until Lambda freezes
//! or stops it.
//!
//! # Goals
//!
//! - **Small and fast to start.** Every cold start pays for the bytes Lambda
//!   downloads and for the time from process start to the first request for an
//!   event. Dependencies: ureq (HTTP/1.1), miniserde (JSON), log and
//!   env_logger, with ureq's agent assembled from only the parts a local,
//!   plain-HTTP peer needs. Turning the `ureq` feature off swaps in a socket
//!   around [`http1`], our own HTTP/1.1: the smallest tier (size-report has
//!   the figures).
//! - **Correct against the Runtime API**, including its unhappy paths: every
//!   status it can answer, malformed headers, panics, a failed init.
//! - **Readable.** `src/` teaches how a Lambda runtime works, in one sitting.
//! - **Sans-IO core.** The protocol is plain data in, plain data out, on `core`
//!   and `alloc`; `std` is a thin shell behind the default `std` feature.
//! - **One loop, any handler kind.** A user picks a kind ([`Handler`]: typed
//!   JSON, raw bytes, streamed, HTTP) and the environment picks the mode
//!   (SnapStart, and under [`Runtime::serve_concurrent`] Lambda Managed
//!   Instances); every kind goes through the same loop, so every mode applies
//!   to every kind. A streaming handler writes into a [`ResponseStream`], a
//!   plain `std::io::Write`; what it flushes reaches the caller while it goes
//!   on working. A bootstrap that does not stream links none of it.
//! - **Real functions without an executor.** Most functions call DynamoDB,
//!   SQS or S3, and the AWS SDK for Rust is async only: its first call
//!   would bring tokio back, and the bytes and start-up this crate saves
//!   with it. The `aws` client (feature `aws`) signs and sends those calls
//!   on the handler's own thread, over the ureq the runtime already links.
//!
//! # Non-goals
//!
//! - **Async handlers.** Lambda sends a process one invocation at a time, or,
//!   under Lambda Managed Instances, up to `AWS_LAMBDA_MAX_CONCURRENCY` at
//!   once, which [`Runtime::serve_concurrent`] serves on as many blocking
//!   threads; an
//!   executor would buy nothing but bytes. The AWS calls most handlers make
//!   are blocking too (`aws`); if yours needs async clients of its own, use
//!   the official `lambda_runtime` crate.
//! - **serde.** miniserde is a fraction of the code. If your types need serde's
//!   attributes, use [`run_raw`] and parse with serde yourself.
//! - **TLS, proxies, redirects, compression for the Runtime API.** It is plain
//!   HTTP on the same host; both transports do what that peer needs and
//!   nothing more. TLS is for AWS calls only: it comes with the `aws`
//!   feature, and a bootstrap without it compiles and links none.
//! - **A general HTTP client for your handler.** The `aws` client talks to
//!   AWS endpoints, signed; for anything else bring your own (ureq is
//!   already in the default build). The runtime's own client stays private.
//! - **A generated client per AWS service.** `aws` covers what most
//!   functions call (DynamoDB, SQS, S3) by hand, and any other service on
//!   the AWS JSON protocol through one generic call; for the rest of the AWS
//!   API use the SDK, and its executor.
//!
//! # Reading order
//!
//! 1. [`protocol`]: the Runtime API as constants and pure functions: paths
//!    below the API's root, headers, what a `/next` answer means, what is
//!    posted back.
//! 2. [`context`]: what Lambda tells a handler, per invocation and per function.
//! 3. [`error`]: the runtime's faults and the report a failure sends.
//! 4. [`runtime`]: the loop, init, panics, the after-response hook. Start at
//!    `Runtime::run_loop`: next, handle, answer, hook, repeat; it is the
//!    only loop. In front of it the handler kinds (`runtime/handler.rs`),
//!    behind it where answers go (`runtime/sink.rs`: posted whole, or
//!    through a streaming kind's sink, and `runtime/response_stream/` for
//!    streams); around it the two modes:
//!    `concurrency` (Lambda Managed Instances: the same loop on N threads)
//!    and `snapstart` (hooks around a snapshot).
//! 5. `client`: the Runtime API calls, as HTTP requests; it alone knows
//!    where the API is.
//! 6. [`http1`]: HTTP/1.1 as plain data, heads and chunks, with one set of
//!    limits; `http1::read` pulls a message off a socket with it.
//! 7. `transport`: how the client's requests travel, one kept-alive
//!    connection: `transport/ureq_agent.rs` (ureq) or `transport/builtin.rs`
//!    (a socket around [`http1`]), behind one small trait; a streamed answer
//!    goes through `transport/stream_post.rs` in both builds.
//! 8. `events` (features `events-*`): event types for the AWS services that
//!    invoke functions, one file per source, on miniserde.
//! 9. `http_adapter` (feature `http-adapter`): one request/response model for
//!    API Gateway v1 and v2, function URLs and ALB, answering each source in
//!    its own shape; a handler kind. Not the Runtime API transport: that is
//!    `client` and `transport`, how the runtime talks to Lambda.
//! 10. `aws` (feature `aws`): a blocking client for AWS itself: SigV4 signing
//!     as a pure function, credentials, retries within the invocation's
//!     deadline, and DynamoDB, SQS, S3 and any JSON-protocol service.
//! 11. `extension` (feature `extension`): the Extensions and Telemetry APIs
//!     as plain data, for extensions (beside a function, or inside it to
//!     learn of its shutdown): registration, `INVOKE` and `SHUTDOWN` events,
//!     telemetry subscriptions and records. With `std`, a blocking
//!     `Extension` client over the runtime's own transport, and a small
//!     telemetry `Listener`; and `runtime/shutdown.rs`, which registers an
//!     internal extension so that `Runtime::on_shutdown` hears of SIGTERM.
//!     Extensions share the function's cold start, which is why they belong
//!     in a tiny runtime too.
//!
//! Beside `src/`, not linked by any bootstrap: the mock Runtime API
//! (`tools/mock`, crate `tiny-lambda-mock`, on [`http1`] too) that the tests
//! and the command drive bootstraps with, and the `tiny-lambda` command
//! (`tools/cli`: `new`, `invoke`, `bench`, `package`).
//!
//! # Features
//!
//! - `std` (default): the runtime shell, with the built-in HTTP/1.1 client.
//!   Without it, only the sans-IO core builds, on any target with an
//!   allocator (`x86_64-unknown-none` is checked).
//! - `ureq` (default): talk to the Runtime API through ureq instead of the
//!   built-in client. `default-features = false, features = ["std",
//!   "env_logger"]` is the smallest tier, with no ureq compiled or linked.
//! - `env_logger` (default): install env_logger at start.
//! - `events-apigw`, `events-alb`, `events-lambda-url`, `events-sqs`,
//!   `events-sns`, `events-s3`, `events-eventbridge` (scheduled events too),
//!   `events-dynamodb`, `events-kinesis`, `events-cloudwatch-logs`: one event
//!   source each, none by default, so a bootstrap pays only for the sources it
//!   names; `events` turns on all of them. They need `alloc`, not `std`.
//! - `http-adapter`: the HTTP adapter, with the four HTTP sources.
//! - `extension`: the Extensions and Telemetry APIs as data (alloc only);
//!   with `std`, the blocking extension client, the telemetry listener and
//!   `Runtime::on_shutdown`. A bootstrap that never calls `on_shutdown`
//!   links none of it.
//! - `aws`: the AWS client, with rustls for HTTPS. It needs ureq, so it turns
//!   on the default transport too.
#![no_std]
// On docs.rs (`--cfg docsrs`, nightly): each item shows the feature it needs.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_op_in_unsafe_fn)]
#![deny(missing_docs)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod context;
pub mod error;
pub mod http1;
pub mod protocol;

#[cfg(feature = "std")]
mod client;
#[cfg(feature = "std")]
pub mod runtime;
#[cfg(feature = "std")]
mod transport;

#[cfg(any(
    feature = "events-apigw",
    feature = "events-alb",
    feature = "events-lambda-url",
    feature = "events-sqs",
    feature = "events-sns",
    feature = "events-s3",
    feature = "events-eventbridge",
    feature = "events-dynamodb",
    feature = "events-kinesis",
    feature = "events-cloudwatch-logs",
))]
pub mod events;
#[cfg(feature = "http-adapter")]
pub mod http_adapter;

#[cfg(feature = "aws")]
pub mod aws;
#[cfg(feature = "extension")]
pub mod extension;

// The private parsers, for the fuzz targets in `fuzz/` only: cargo-fuzz
// builds with `--cfg fuzzing`, no other build sees this module.
#[cfg(fuzzing)]
#[doc(hidden)]
#[path = "fuzzing.rs"]
pub mod __fuzz;

pub use context::{ClientApplication, ClientContext, CognitoIdentity, Config, Context};
pub use error::{Diagnostic, Error};
#[cfg(feature = "std")]
pub use runtime::{Handler, ResponseStream, Runtime, run, run_raw};
