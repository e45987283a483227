//! The seed article's function: an HTTP API in front of DynamoDB and SQS,
//! on the HTTP adapter and the blocking AWS client (features `aws` and
//! `http-adapter`), for API Gateway HTTP API (v2) and REST API (v1) events.
//!
//! - Settings `TABLE_NAME` and `QUEUE_URL`, read during init: a missing one
//!   fails init, and the report names it.
//! - `POST /orders` with `{"item": non-empty text, "qty": integer >= 1}`:
//!   `PutItem` of exactly `id` (S), `item` (S) and `qty` (N) under the
//!   condition `attribute_not_exists(id)`, then `SendMessage` of
//!   `{"id", "item", "qty"}` to the queue, then 201 `{"id"}`. The id is the
//!   invocation's request id.
//! - Any other body: 400 `{"error": what is wrong}`, nothing written.
//! - `GET /orders/{id}`: 200 `{"id", "item", "qty"}`, or 404
//!   `{"error": "not found"}`.
//! - Another path: 404 `{"error": "not found"}`; another method on these
//!   paths: 405 `{"error": "method not allowed"}`.
//! - A failed AWS call: 502 `{"error": the AWS error code}` and one ERROR
//!   line; the function goes on serving. A failed `PutItem` sends nothing.
use miniserde::json::{self, Number, Value as Json};
use miniserde::{Deserialize, Serialize};
use tiny_lambda::aws::dynamodb::{Expr, Item, Value};
use tiny_lambda::aws::sqs::Message;
use tiny_lambda::aws::{Aws, Error as AwsError};
use tiny_lambda::http_adapter::{Request, Response};
use tiny_lambda::{Context, Diagnostic, Runtime};

/// An order, as stored, queued and answered.
#[derive(Serialize, Deserialize)]
struct Order {
    id: String,
    item: String,
    qty: u64,
}

#[derive(Serialize)]
struct Created {
    id: String,
}

#[derive(Serialize)]
struct ApiError {
    error: String,
}

struct Orders {
    aws: Aws,
    table: String,
    queue_url: String,
}

fn error(status: u16, why: &str) -> Response {
    Response::json(status, &ApiError { error: why.into() })
}

/// A failed AWS call: logged once, answered with its code.
fn aws_failure(what: &str, e: &AwsError) -> Response {
    log::error!("{what} failed: {e}");
    error(502, &e.code)
}

/// The new order's `item` and `qty`, or what is wrong with the body.
fn parse_new_order(body: Option<&str>) -> Result<(String, u64), &'static str> {
    let body = body.ok_or("the body must be JSON text")?;
    let Ok(Json::Object(fields)) = json::from_str::<Json>(body) else {
        return Err("the body must be a JSON object: {\"item\": text, \"qty\": integer >= 1}");
    };
    let item = match fields.get("item") {
        Some(Json::String(item)) if !item.is_empty() => item.clone(),
        Some(Json::String(_)) => return Err("item must not be empty"),
        Some(_) => return Err("item must be a string"),
        None => return Err("item is missing"),
    };
    let qty = match fields.get("qty") {
        Some(Json::Number(Number::U64(qty))) if *qty >= 1 => *qty,
        Some(Json::Number(_)) => return Err("qty must be an integer of at least 1"),
        Some(_) => return Err("qty must be a number"),
        None => return Err("qty is missing"),
    };
    Ok((item, qty))
}

impl Orders {
    fn from_env() -> Result<Orders, String> {
        let setting = |name: &str| match std::env::var(name) {
            Ok(value) if !value.is_empty() => Ok(value),
            _ => Err(format!("{name} is not set")),
        };
        let table = setting("TABLE_NAME")?;
        let queue_url = setting("QUEUE_URL")?;
        let aws = Aws::from_env().map_err(|e| e.to_string())?;
        Ok(Orders {
            aws,
            table,
            queue_url,
        })
    }

    fn handle(&self, req: &Request, ctx: &Context) -> Response {
        let path = req.path.trim_end_matches('/');
        match (req.method.as_str(), path) {
            ("POST", "/orders") => self.create(req, ctx),
            (_, "/orders") => error(405, "method not allowed"),
            (method, _)
                if path.starts_with("/orders/") && !path["/orders/".len()..].contains('/') =>
            {
                if method != "GET" {
                    return error(405, "method not allowed");
                }
                let id = req
                    .path_parameters
                    .get("id")
                    .map(String::as_str)
                    .unwrap_or(&path["/orders/".len()..]);
                self.read(id, ctx)
            }
            _ => error(404, "not found"),
        }
    }

    fn create(&self, req: &Request, ctx: &Context) -> Response {
        let (item, qty) = match parse_new_order(req.body_text()) {
            Ok(order) => order,
            Err(why) => return error(400, why),
        };
        let order = Order {
            id: ctx.request_id.clone(),
            item,
            qty,
        };
        let mut record = Item::new();
        record.insert("id".into(), Value::from(order.id.as_str()));
        record.insert("item".into(), Value::from(order.item.as_str()));
        record.insert("qty".into(), Value::from(order.qty));
        let written = self.aws.dynamodb(ctx).put_item(
            &self.table,
            &record,
            &Expr::new().condition("attribute_not_exists(id)"),
        );
        if let Err(e) = written {
            return aws_failure("PutItem", &e);
        }
        let message = json::to_string(&order);
        if let Err(e) = self
            .aws
            .sqs(ctx)
            .send_message(&self.queue_url, &Message::new(&message))
        {
            return aws_failure("SendMessage", &e);
        }
        Response::json(201, &Created { id: order.id })
    }

    fn read(&self, id: &str, ctx: &Context) -> Response {
        let key = Item::from([("id".to_string(), Value::from(id))]);
        let found = match self.aws.dynamodb(ctx).get_item(&self.table, &key) {
            Ok(found) => found,
            Err(e) => return aws_failure("GetItem", &e),
        };
        let Some(found) = found else {
            return error(404, "not found");
        };
        let order = (|| {
            Some(Order {
                id: found.get("id")?.as_s()?.to_string(),
                item: found.get("item")?.as_s()?.to_string(),
                qty: found.get("qty")?.as_n()?,
            })
        })();
        match order {
            Some(order) => Response::json(200, &order),
            None => {
                log::error!("GetItem: the item for {id} is not an order");
                error(502, "MalformedItem")
            }
        }
    }
}

fn main() {
    let runtime = Runtime::from_env();
    let orders = runtime.init(Orders::from_env);
    runtime.serve(tiny_lambda::http_adapter::handler(
        move |req: Request, ctx: &Context| Ok::<_, Diagnostic>(orders.handle(&req, ctx)),
    ))
}
