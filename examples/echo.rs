//! Returns its JSON event unchanged: the comparison workload for `bench`.
use miniserde::json::Value;
use tiny_lambda::Context;

fn main() {
    tiny_lambda::run(|event: Value, _ctx: &Context| Ok::<_, tiny_lambda::Diagnostic>(event))
}
