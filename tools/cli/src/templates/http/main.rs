//! {{name}}: an HTTP API behind API Gateway. `GET /hello?name=Ada` answers
//! 200 `{"greeting": "Hello, Ada!"}` (`world` without a name), another method
//! on `/hello` 405, any other path 404.
//!
//! tiny-lambda's HTTP adapter reads API Gateway's REST (v1) and HTTP API (v2)
//! events, function URLs and load balancers into one `Request`, and answers
//! each in its own shape.
use miniserde::Serialize;
use tiny_lambda::Context;
use tiny_lambda::http_adapter::{Request, Response};

#[derive(Serialize)]
struct Greeting {
    greeting: String,
}

fn main() {
    tiny_lambda::http_adapter::run(|req: Request, _ctx: &Context| {
        let response = match (req.method.as_str(), req.path.as_str()) {
            ("GET", "/hello") => {
                let name = req.query.get("name").unwrap_or("world");
                let greeting = format!("Hello, {name}!");
                Response::json(200, &Greeting { greeting })
            }
            (_, "/hello") => Response::text(405, "method not allowed"),
            _ => Response::text(404, "not found"),
        };
        Ok::<_, tiny_lambda::Diagnostic>(response)
    })
}
