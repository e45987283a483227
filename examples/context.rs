//! Returns every field of the invocation's `Context`, and `_X_AMZN_TRACE_ID`,
//! as JSON: a window on what Lambda tells a handler.
use miniserde::Serialize;
use miniserde::json::Value;
use tiny_lambda::{ClientContext, CognitoIdentity, Context};

#[derive(Serialize)]
struct Seen {
    request_id: String,
    deadline_ms: u64,
    remaining_ms: u64,
    invoked_function_arn: String,
    xray_trace_id: Option<String>,
    client_context: Option<ClientContext>,
    client_context_raw: Option<String>,
    identity: Option<CognitoIdentity>,
    identity_raw: Option<String>,
    tenant_id: Option<String>,
    invocation_id: Option<String>,
    function_name: String,
    memory_size: u32,
    function_version: String,
    log_group_name: String,
    log_stream_name: String,
    env_trace_id: Option<String>,
}

fn main() {
    tiny_lambda::run(|_event: Value, ctx: &Context| {
        Ok::<_, tiny_lambda::Diagnostic>(Seen {
            request_id: ctx.request_id.clone(),
            deadline_ms: ctx.deadline_ms,
            remaining_ms: ctx.remaining().as_millis() as u64,
            invoked_function_arn: ctx.invoked_function_arn.clone(),
            xray_trace_id: ctx.xray_trace_id.clone(),
            client_context: ctx.client_context.clone(),
            client_context_raw: ctx.client_context_raw.clone(),
            identity: ctx.identity.clone(),
            identity_raw: ctx.identity_raw.clone(),
            tenant_id: ctx.tenant_id.clone(),
            invocation_id: ctx.invocation_id.clone(),
            function_name: ctx.config.function_name.clone(),
            memory_size: ctx.config.memory_size,
            function_version: ctx.config.function_version.clone(),
            log_group_name: ctx.config.log_group_name.clone(),
            log_stream_name: ctx.config.log_stream_name.clone(),
            env_trace_id: std::env::var("_X_AMZN_TRACE_ID").ok(),
        })
    })
}
