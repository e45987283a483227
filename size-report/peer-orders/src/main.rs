//! The "orders" peer of the benchmarks (the tokio peer): tiny-lambda's
//! `orders` example written the plain, idiomatic way on the official crates,
//! `lambda_http`, `aws-config`, `aws-sdk-dynamodb` and `aws-sdk-sqs` on tokio.
//!
//! - `POST /orders` with `{"item": non-empty string, "qty": integer >= 1}`
//!   puts `{id, item, qty}` into the table `TABLE_NAME` (only if that id is
//!   new), sends the same order as JSON to the queue `QUEUE_URL`, and answers
//!   201 with `{"id"}`. The id is the invocation's request id. Any other body
//!   answers 400 `{"error": why}` and writes nothing.
//! - `GET /orders/{id}` answers 200 with `{"id", "item", "qty"}`, or 404.
//! - Anything else answers 404 `{"error": "not found"}`.
//! - A failed AWS call answers 502 `{"error": the AWS error code}` and logs
//!   one line; the process carries on.
//!
//! Only measured, never deployed; keep it the plain idiomatic version (default
//! credential chain, default HTTPS client, `AWS_ENDPOINT_URL` honoured by the
//! SDK) so the comparison stays fair.

use std::collections::HashMap;
use std::error::Error as StdError;
use std::fmt::Debug;

use aws_config::BehaviorVersion;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;
use lambda_http::http::header::CONTENT_TYPE;
use lambda_http::http::Method;
use lambda_http::{run, service_fn, Body, Error, Request, RequestExt, Response};
use serde_json::{json, Value};

/// What the handler needs, built once during init.
struct Orders {
    dynamodb: aws_sdk_dynamodb::Client,
    sqs: aws_sdk_sqs::Client,
    table: String,
    queue_url: String,
}

/// An order as the API takes it.
struct NewOrder {
    item: String,
    qty: u64,
}

impl Orders {
    async fn handle(&self, req: Request) -> Result<Response<Body>, Error> {
        let path = req.raw_http_path().trim_end_matches('/').to_string();
        if req.method() == Method::POST && path == "/orders" {
            return self.create(&req).await;
        }
        if req.method() == Method::GET {
            if let Some(rest) = path.strip_prefix("/orders/") {
                // The route `GET /orders/{id}` gives the id as a path
                // parameter; behind `$default` it is read from the path.
                let id = req
                    .path_parameters_ref()
                    .and_then(|p| p.first("id"))
                    .unwrap_or(rest)
                    .to_string();
                if !id.is_empty() && !id.contains('/') {
                    return self.fetch(&id).await;
                }
            }
        }
        json_response(404, json!({"error": "not found"}))
    }

    async fn create(&self, req: &Request) -> Result<Response<Body>, Error> {
        let order = match parse_order(req.body().as_ref()) {
            Ok(order) => order,
            Err(why) => return json_response(400, json!({"error": why})),
        };
        let id = req
            .lambda_context_ref()
            .ok_or("the request carries no Lambda context")?
            .request_id
            .clone();

        let put = self
            .dynamodb
            .put_item()
            .table_name(&self.table)
            .item("id", AttributeValue::S(id.clone()))
            .item("item", AttributeValue::S(order.item.clone()))
            .item("qty", AttributeValue::N(order.qty.to_string()))
            .condition_expression("attribute_not_exists(id)")
            .send()
            .await;
        if let Err(err) = put {
            return aws_failure("PutItem", &err);
        }

        let message = json!({"id": id, "item": order.item, "qty": order.qty});
        let sent = self
            .sqs
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(message.to_string())
            .send()
            .await;
        if let Err(err) = sent {
            return aws_failure("SendMessage", &err);
        }

        json_response(201, json!({"id": id}))
    }

    async fn fetch(&self, id: &str) -> Result<Response<Body>, Error> {
        let got = self
            .dynamodb
            .get_item()
            .table_name(&self.table)
            .key("id", AttributeValue::S(id.to_string()))
            .send()
            .await;
        let output = match got {
            Ok(output) => output,
            Err(err) => return aws_failure("GetItem", &err),
        };
        match output.item() {
            None => json_response(404, json!({"error": "not found"})),
            Some(item) => match order_json(item) {
                Some(order) => json_response(200, order),
                None => {
                    eprintln!("ERROR GetItem {id}: the stored item is not an order: {item:?}");
                    json_response(502, json!({"error": "the stored item is not an order"}))
                }
            },
        }
    }
}

/// Reads `{"item": non-empty string, "qty": integer >= 1}`, or says what is
/// wrong with the body.
fn parse_order(body: &[u8]) -> Result<NewOrder, &'static str> {
    let value: Value = serde_json::from_slice(body).map_err(|_| "the body is not JSON")?;
    let fields = value.as_object().ok_or("the body must be a JSON object")?;
    let item = match fields.get("item") {
        None => return Err("item is missing"),
        Some(Value::String(item)) if !item.is_empty() => item.clone(),
        Some(_) => return Err("item must be a non-empty string"),
    };
    let qty = match fields.get("qty") {
        None => return Err("qty is missing"),
        Some(qty) => qty
            .as_u64()
            .filter(|&qty| qty >= 1)
            .ok_or("qty must be an integer >= 1")?,
    };
    Ok(NewOrder { item, qty })
}

/// `{"id", "item", "qty"}` from a DynamoDB item, if it has them.
fn order_json(item: &HashMap<String, AttributeValue>) -> Option<Value> {
    let id = item.get("id")?.as_s().ok()?;
    let name = item.get("item")?.as_s().ok()?;
    let qty: u64 = item.get("qty")?.as_n().ok()?.parse().ok()?;
    Some(json!({"id": id, "item": name, "qty": qty}))
}

/// A 502 naming the AWS error code, and one line in the log.
fn aws_failure<E, R>(operation: &str, err: &SdkError<E, R>) -> Result<Response<Body>, Error>
where
    E: ProvideErrorMetadata + StdError + 'static,
    R: Debug,
{
    let code = match err.code() {
        Some(code) => code,
        // No response from the service, so no code: name what went wrong.
        None => match err {
            SdkError::ConstructionFailure(_) => "ConstructionFailure",
            SdkError::TimeoutError(_) => "TimeoutError",
            SdkError::DispatchFailure(_) => "DispatchFailure",
            SdkError::ResponseError(_) => "ResponseError",
            _ => "ServiceError",
        },
    };
    // One line: the error chain can hold line breaks (the credential chain
    // lists every provider it tried on a line of its own).
    let detail = DisplayErrorContext(err).to_string().replace('\n', " ");
    eprintln!("ERROR {operation} failed: {code}: {detail}");
    json_response(502, json!({"error": code}))
}

fn json_response(status: u16, body: Value) -> Result<Response<Body>, Error> {
    Ok(Response::builder()
        .status(status)
        .header(CONTENT_TYPE, "application/json")
        .body(Body::Text(body.to_string()))?)
}

/// A setting the function cannot do without.
fn setting(name: &str) -> Result<String, Error> {
    std::env::var(name).map_err(|_| format!("the environment variable {name} is not set").into())
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let table = setting("TABLE_NAME")?;
    let queue_url = setting("QUEUE_URL")?;
    let config = aws_config::load_defaults(BehaviorVersion::latest()).await;
    let orders = Orders {
        dynamodb: aws_sdk_dynamodb::Client::new(&config),
        sqs: aws_sdk_sqs::Client::new(&config),
        table,
        queue_url,
    };
    let orders = &orders;
    run(service_fn(move |req: Request| async move { orders.handle(req).await })).await
}
