//! A small HTTP API behind API Gateway v2 (HTTP API), the shape of a typical
//! serverless endpoint, with an in-memory table standing in for a database:
//!
//! - `POST /orders` takes `{"customer": text, "item": text, "quantity": 1..=100}`,
//!   answers 400 with `{"error": why}` on bad input, else stores the order
//!   and answers 201 with it and its `id`, and a `location` header.
//! - `GET /orders/{id}` answers 200 with the order, or 404 `{"error": why}`.
//! - Anything else: 404, or 405 for a known path with another method.
//!
//! The table lives as long as the process: a warm function keeps it, a cold
//! start empties it (a real function would use DynamoDB).
use std::collections::BTreeMap;

use miniserde::{Deserialize, Serialize, json};
use tiny_lambda::http_adapter::{Request, Response};
use tiny_lambda::{Context, Runtime};

/// What a client posts.
#[derive(Deserialize)]
struct NewOrder {
    customer: String,
    item: String,
    quantity: u32,
}

/// What the table stores and the API answers.
#[derive(Serialize, Clone)]
struct Order {
    id: String,
    customer: String,
    item: String,
    quantity: u32,
    /// API Gateway's id of the request that created it.
    request_id: String,
}

#[derive(Serialize)]
struct ApiError {
    error: String,
}

const MAX_QUANTITY: u32 = 100;

fn error(status: u16, why: &str) -> Response {
    Response::json(status, &ApiError { error: why.into() })
}

struct Orders {
    table: BTreeMap<String, Order>,
    next_id: u64,
}

impl Orders {
    fn handle(&mut self, req: &Request) -> Response {
        let path = req.path.trim_end_matches('/');
        match (req.method.as_str(), path) {
            ("POST", "/orders") => self.create(req),
            (_, "/orders") => error(405, "use POST on /orders"),
            ("GET", _) if path.starts_with("/orders/") => {
                // The route `GET /orders/{id}` gives the id as a path
                // parameter; behind `$default` it is read from the path.
                let id = req
                    .path_parameters
                    .get("id")
                    .map(String::as_str)
                    .unwrap_or(&path["/orders/".len()..]);
                match self.table.get(id) {
                    Some(order) => Response::json(200, order),
                    None => error(404, "no such order"),
                }
            }
            (_, _) if path.starts_with("/orders/") => error(405, "use GET on /orders/{id}"),
            _ => error(404, "no such route"),
        }
    }

    fn create(&mut self, req: &Request) -> Response {
        let new: NewOrder = match req.body_text().map(json::from_str) {
            Some(Ok(new)) => new,
            _ => {
                return error(
                    400,
                    "the body must be a JSON order: {\"customer\": text, \"item\": text, \"quantity\": number}",
                );
            }
        };
        if new.customer.trim().is_empty() || new.item.trim().is_empty() {
            return error(400, "customer and item must not be empty");
        }
        if !(1..=MAX_QUANTITY).contains(&new.quantity) {
            return error(400, &format!("quantity must be from 1 to {MAX_QUANTITY}"));
        }
        self.next_id += 1;
        let order = Order {
            id: format!("ord-{}", self.next_id),
            customer: new.customer,
            item: new.item,
            quantity: new.quantity,
            request_id: req.context.request_id.clone().unwrap_or_default(),
        };
        self.table.insert(order.id.clone(), order.clone());
        Response::json(201, &order).header("location", &format!("/orders/{}", order.id))
    }
}

fn main() {
    let runtime = Runtime::from_env();
    let mut orders = runtime.init(|| {
        Ok::<_, String>(Orders {
            table: BTreeMap::new(),
            next_id: 0,
        })
    });
    runtime.serve(tiny_lambda::http_adapter::handler(
        move |req: Request, _ctx: &Context| Ok::<_, tiny_lambda::Diagnostic>(orders.handle(&req)),
    ))
}
