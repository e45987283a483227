//! The Graviton bootstrap, exercised for real: aarch64 static-musl examples
//! run under qemu user-mode emulation against the mock Runtime API.
//!
//! Ignored by default (it needs cross-built binaries and qemu); `.ci/run`
//! builds them and runs `cargo test --all-features --test arm64 -- --ignored`
//! with `TINY_LAMBDA_ARM64_EXAMPLES` set to their directory.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::Bootstrap;
use tiny_lambda_mock::{Event, RuntimeApi};

fn arm64(name: &str) -> Bootstrap {
    let dir = std::env::var("TINY_LAMBDA_ARM64_EXAMPLES").expect(
        "set TINY_LAMBDA_ARM64_EXAMPLES to target/aarch64-unknown-linux-musl/size/examples",
    );
    let binary = PathBuf::from(dir).join(name);
    let header = std::fs::read(&binary).unwrap_or_else(|e| panic!("{}: {e}", binary.display()));
    // ELF, 64-bit, machine 0xB7 (AArch64): make sure this is not a host binary.
    assert_eq!(&header[..5], b"\x7fELF\x02");
    assert_eq!(
        u16::from_le_bytes([header[18], header[19]]),
        0xB7,
        "{} is not aarch64",
        binary.display()
    );
    let qemu = std::env::var("TINY_LAMBDA_QEMU").unwrap_or_else(|_| "qemu-aarch64-static".into());
    let mut command = Command::new(qemu);
    command.arg(binary).env_clear();
    Bootstrap::spawn(RuntimeApi::start().expect("mock starts"), command)
}

#[test]
#[ignore = "needs aarch64 binaries and qemu; run by .ci/run"]
fn arm64_echo_answers() {
    let b = arm64("echo");
    let event = r#"{"arch":"aarch64","n":[1,2.5,null]}"#;
    assert_eq!(b.respond(Event::new(event)).body_str(), event);
    assert_eq!(b.respond(Event::new("\"again\"")).body_str(), "\"again\"");
}

#[test]
#[ignore = "needs aarch64 binaries and qemu; run by .ci/run"]
fn arm64_errors_are_reported() {
    let mut b = arm64("errors");
    let failed = b.fail(Event::new(r#"{"do":"error"}"#));
    assert_eq!(
        failed.header("Lambda-Runtime-Function-Error-Type"),
        Some("Function.ParseIntError")
    );
    let invalid = b.fail(Event::new("[]"));
    assert_eq!(
        invalid.header("Lambda-Runtime-Function-Error-Type"),
        Some("Runtime.InvalidEvent")
    );
    // The size profile aborts on panic: the hook reports first, then the process dies.
    let panicked = b.fail(Event::new(r#"{"do":"panic"}"#));
    assert_eq!(
        panicked.body_str(),
        r#"{"errorMessage":"the handler panicked on purpose","errorType":"Panic","stackTrace":[]}"#
    );
    assert!(!b.wait_exit().success());
}
