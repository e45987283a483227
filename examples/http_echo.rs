//! Echoes each HTTP request as JSON, from API Gateway v1 or v2, a function
//! URL or a load balancer: the HTTP adapter's comparison workload for `bench`
//! and size-report (beside the same function on `lambda_http`).
//!
//! Every request gets 200 and `{"method", "path", "query", "cookies", "body"}`
//! (`query` holds the first value of each parameter, `body` the body as
//! text), except `/binary` (the bytes 0 to 255, binary), `/cookies` (204,
//! setting `a=1` and `b=2`) and `/missing` (404, `not found`).
use std::collections::BTreeMap;

use miniserde::Serialize;
use tiny_lambda::Context;
use tiny_lambda::http_adapter::{Request, Response};

#[derive(Serialize)]
struct Echo<'a> {
    method: &'a str,
    path: &'a str,
    query: BTreeMap<&'a str, &'a str>,
    cookies: &'a [String],
    body: String,
}

fn main() {
    tiny_lambda::http_adapter::run(|req: Request, _ctx: &Context| {
        let response = match req.path.as_str() {
            "/binary" => Response::binary(200, (0..=255).collect()),
            "/cookies" => Response::new(204).cookie("a=1").cookie("b=2"),
            "/missing" => Response::text(404, "not found"),
            _ => {
                let mut query = BTreeMap::new();
                for (name, value) in req.query.iter() {
                    query.entry(name).or_insert(value);
                }
                let echo = Echo {
                    method: &req.method,
                    path: &req.path,
                    query,
                    cookies: &req.cookies,
                    body: String::from_utf8_lossy(&req.body).into_owned(),
                };
                Response::json(200, &echo)
            }
        };
        Ok::<_, tiny_lambda::Diagnostic>(response)
    })
}
