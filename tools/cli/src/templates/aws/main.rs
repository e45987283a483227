//! {{name}}: stores each event in a DynamoDB table, under the invocation's
//! request id, and answers `{"id": that id}`.
//!
//! Settings, read once during init: `TABLE_NAME` (a table whose partition
//! key is `id`, a string), and the region and credentials Lambda gives every
//! function. A missing one fails init, and Lambda's log names it. A failed
//! DynamoDB call fails the invocation with the AWS error code as its
//! `errorType`.
use miniserde::Serialize;
use miniserde::json::{self, Value as Json};
use tiny_lambda::aws::Aws;
use tiny_lambda::aws::dynamodb::{Expr, Item, Value};
use tiny_lambda::{Context, Diagnostic, Handler, Runtime};

#[derive(Serialize)]
struct Stored {
    id: String,
}

/// What init prepares once for every invocation: the AWS client (no
/// request is sent yet) and the table's name.
struct Store {
    aws: Aws,
    table: String,
}

impl Store {
    fn from_env() -> Result<Store, String> {
        let table = match std::env::var("TABLE_NAME") {
            Ok(table) if !table.is_empty() => table,
            _ => return Err("TABLE_NAME is not set".to_owned()),
        };
        let aws = Aws::from_env().map_err(|e| e.to_string())?;
        Ok(Store { aws, table })
    }

    fn put(&self, event: &Json, ctx: &Context) -> Result<Stored, Diagnostic> {
        let mut item = Item::new();
        item.insert("id".into(), Value::from(ctx.request_id.as_str()));
        item.insert("event".into(), Value::from(json::to_string(event).as_str()));
        // Bounded by this invocation's deadline, retries included.
        self.aws.dynamodb(ctx).put_item(
            &self.table,
            &item,
            &Expr::new().condition("attribute_not_exists(id)"),
        )?;
        Ok(Stored {
            id: ctx.request_id.clone(),
        })
    }
}

fn main() {
    let runtime = Runtime::from_env();
    let store = runtime.init(Store::from_env);
    runtime.serve(Handler::json(move |event: Json, ctx: &Context| {
        store.put(&event, ctx)
    }))
}
