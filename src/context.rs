//! The invocation context: what Lambda tells the handler about one event
//! ([`Context`]) and about the function itself ([`Config`]).
//!
//! Everything here is plain data on `core` + `alloc`. The `/next` headers are
//! turned into a `Context` by [`crate::protocol::parse_next`]; the reserved
//! environment variables are read once at start into a `Config` by the std shell.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::sync::Arc;
use miniserde::{Deserialize, Serialize};

/// The function's configuration, from Lambda's reserved environment variables.
///
/// Read once when the runtime starts, not per invocation: Lambda sets them
/// before the process starts and they cannot change while it lives.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {
    /// `AWS_LAMBDA_FUNCTION_NAME`.
    pub function_name: String,
    /// `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`, in MB (0 when unset or not a number).
    pub memory_size: u32,
    /// `AWS_LAMBDA_FUNCTION_VERSION`, e.g. `$LATEST`.
    pub function_version: String,
    /// `AWS_LAMBDA_LOG_GROUP_NAME`.
    pub log_group_name: String,
    /// `AWS_LAMBDA_LOG_STREAM_NAME`.
    pub log_stream_name: String,
}

impl Config {
    /// Build the configuration from a variable lookup (`std::env::var` in the
    /// std shell, a closure over a table in tests).
    pub fn from_lookup(var: &dyn Fn(&str) -> Option<String>) -> Config {
        Config {
            function_name: var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_default(),
            memory_size: var("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0),
            function_version: var("AWS_LAMBDA_FUNCTION_VERSION").unwrap_or_default(),
            log_group_name: var("AWS_LAMBDA_LOG_GROUP_NAME").unwrap_or_default(),
            log_stream_name: var("AWS_LAMBDA_LOG_STREAM_NAME").unwrap_or_default(),
        }
    }
}

/// What Lambda says about one invocation, from the headers of `/next`.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// `Lambda-Runtime-Aws-Request-Id`: names this invocation in every post.
    pub request_id: String,
    /// `Lambda-Runtime-Deadline-Ms`: when Lambda stops the function, in
    /// milliseconds since the Unix epoch (0 when the header was missing or malformed).
    pub deadline_ms: u64,
    /// `Lambda-Runtime-Invoked-Function-Arn`: the ARN the caller used, alias or version included.
    pub invoked_function_arn: String,
    /// `Lambda-Runtime-Trace-Id`: the X-Ray tracing header, also set as `_X_AMZN_TRACE_ID`.
    pub xray_trace_id: Option<String>,
    /// `Lambda-Runtime-Client-Context`, parsed (None when absent or malformed).
    pub client_context: Option<ClientContext>,
    /// `Lambda-Runtime-Client-Context` as sent, kept even when it does not parse.
    pub client_context_raw: Option<String>,
    /// `Lambda-Runtime-Cognito-Identity`, parsed (None when absent or malformed).
    pub identity: Option<CognitoIdentity>,
    /// `Lambda-Runtime-Cognito-Identity` as sent, kept even when it does not parse.
    pub identity_raw: Option<String>,
    /// `Lambda-Runtime-Aws-Tenant-Id`: the tenant, for functions in tenant isolation mode.
    pub tenant_id: Option<String>,
    /// `Lambda-Runtime-Invocation-Id`: a nonce the runtime echoes on its answer so
    /// Lambda can refuse a late answer to an invocation that already timed out.
    pub invocation_id: Option<String>,
    /// The function's configuration, shared by every invocation.
    pub config: Arc<Config>,
}

impl Context {
    /// Milliseconds left before the deadline, given the current time in
    /// milliseconds since the epoch; 0 once it has passed.
    pub fn remaining_ms_at(&self, now_ms: u64) -> u64 {
        self.deadline_ms.saturating_sub(now_ms)
    }

    /// Time left before Lambda stops this invocation.
    ///
    /// ```
    /// let ctx = tiny_lambda::Context::default();
    /// // No deadline header: nothing is left.
    /// assert_eq!(ctx.remaining(), std::time::Duration::ZERO);
    /// ```
    #[cfg(feature = "std")]
    pub fn remaining(&self) -> core::time::Duration {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        core::time::Duration::from_millis(self.remaining_ms_at(now.as_millis() as u64))
    }

    /// The deadline as a point in time.
    #[cfg(feature = "std")]
    pub fn deadline(&self) -> std::time::SystemTime {
        std::time::UNIX_EPOCH + core::time::Duration::from_millis(self.deadline_ms)
    }
}

/// The client context an AWS Mobile SDK caller sends (`Lambda-Runtime-Client-Context`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientContext {
    /// The calling application.
    pub client: Option<ClientApplication>,
    /// Values the caller chose to send.
    pub custom: Option<BTreeMap<String, String>>,
    /// The caller's environment (platform, make, model, locale...).
    pub env: Option<BTreeMap<String, String>>,
}

/// The calling application, inside a [`ClientContext`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientApplication {
    /// The installation id of the app.
    #[serde(rename = "installationId")]
    pub installation_id: Option<String>,
    /// The app's title.
    #[serde(rename = "appTitle")]
    pub app_title: Option<String>,
    /// The app's version name.
    #[serde(rename = "appVersionName")]
    pub app_version_name: Option<String>,
    /// The app's version code.
    #[serde(rename = "appVersionCode")]
    pub app_version_code: Option<String>,
    /// The app's package name.
    #[serde(rename = "appPackageName")]
    pub app_package_name: Option<String>,
}

/// The Amazon Cognito identity of the caller (`Lambda-Runtime-Cognito-Identity`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CognitoIdentity {
    /// The authenticated Cognito identity.
    #[serde(rename = "cognitoIdentityId")]
    pub cognito_identity_id: Option<String>,
    /// The identity pool that authorised the call.
    #[serde(rename = "cognitoIdentityPoolId")]
    pub cognito_identity_pool_id: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::borrow::ToOwned;

    #[test]
    fn config_reads_the_reserved_variables() {
        let table = [
            ("AWS_LAMBDA_FUNCTION_NAME", "fn"),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512"),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
            ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/fn"),
            ("AWS_LAMBDA_LOG_STREAM_NAME", "2026/11/23/[$LATEST]abc"),
        ];
        let lookup = |k: &str| {
            table
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_owned())
        };
        let c = Config::from_lookup(&lookup);
        assert_eq!(c.function_name, "fn");
        assert_eq!(c.memory_size, 512);
        assert_eq!(c.function_version, "$LATEST");
        assert_eq!(c.log_group_name, "/aws/lambda/fn");
        assert_eq!(c.log_stream_name, "2026/11/23/[$LATEST]abc");
    }

    #[test]
    fn config_tolerates_missing_and_bad_values() {
        let lookup = |k: &str| (k == "AWS_LAMBDA_FUNCTION_MEMORY_SIZE").then(|| "lots".to_owned());
        assert_eq!(Config::from_lookup(&lookup), Config::default());
    }

    #[test]
    fn remaining_saturates_at_zero() {
        let ctx = Context {
            deadline_ms: 1_000,
            ..Context::default()
        };
        assert_eq!(ctx.remaining_ms_at(400), 600);
        assert_eq!(ctx.remaining_ms_at(2_000), 0);
    }
}
