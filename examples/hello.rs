//! A typed request and a typed response: `{"name":"Ada"}` in,
//! `{"greeting":"Hello, Ada!","request_id":"..."}` out.
use miniserde::{Deserialize, Serialize};
use tiny_lambda::Context;

#[derive(Deserialize)]
struct Request {
    name: String,
}

#[derive(Serialize)]
struct Response {
    greeting: String,
    request_id: String,
}

fn main() {
    tiny_lambda::run(|req: Request, ctx: &Context| {
        if req.name.is_empty() {
            return Err("name must not be empty");
        }
        Ok(Response {
            greeting: format!("Hello, {}!", req.name),
            request_id: ctx.request_id.clone(),
        })
    })
}
