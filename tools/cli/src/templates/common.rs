//! Runs the bootstrap that `cargo test` built as Lambda would: a process of
//! its own, talking to tiny-lambda's mock Lambda Runtime API.
// Not every test uses every helper.
#![allow(dead_code)]

use std::process::{Child, Command};
use std::time::Duration;

use tiny_lambda_mock::{Event, Outcome, Posted, RuntimeApi};

/// Long enough for a loaded machine, short enough to fail fast.
pub const WAIT: Duration = Duration::from_secs(10);

/// The function, running, and the mock it asks for events.
pub struct Function {
    pub api: RuntimeApi,
    process: Child,
}

impl Function {
    /// Starts the bootstrap with the variables Lambda sets, plus `env`. The
    /// rest of this environment is left out, so no AWS profile or key of
    /// yours reaches the function; set `RUST_LOG` to see its DEBUG lines.
    pub fn start(env: &[(&str, &str)]) -> Function {
        let api = RuntimeApi::start().expect("the mock Runtime API should start");
        let mut command = Command::new(env!("CARGO_BIN_EXE_bootstrap"));
        command
            .env_clear()
            .env("AWS_LAMBDA_RUNTIME_API", api.address())
            .env("AWS_LAMBDA_FUNCTION_NAME", "{{name}}")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_LEVEL", "WARN")
            .envs(env.iter().copied());
        if let Ok(filters) = std::env::var("RUST_LOG") {
            command.env("RUST_LOG", filters);
        }
        let process = command.spawn().expect("the bootstrap should start");
        Function { api, process }
    }

    /// Hands the function one event and waits for what it posted back.
    pub fn invoke(&self, event: &str) -> Outcome {
        let id = self.api.push(Event::new(event));
        self.api
            .wait_outcome(&id, WAIT)
            .unwrap_or_else(|| panic!("no answer to {id} within {WAIT:?}"))
    }

    /// The answer to `event`, which must be a response, not an error.
    pub fn respond(&self, event: &str) -> Posted {
        match self.invoke(event) {
            Outcome::Response(posted) => posted,
            Outcome::Error(posted) => panic!("expected a response, got {}", posted.body_str()),
        }
    }

    /// The error report for `event`, which must not be answered.
    pub fn fail(&self, event: &str) -> Posted {
        match self.invoke(event) {
            Outcome::Error(posted) => posted,
            Outcome::Response(posted) => panic!("expected an error, got {}", posted.body_str()),
        }
    }
}

impl Drop for Function {
    fn drop(&mut self) {
        // A bootstrap never ends by itself: it waits for the next event.
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}
