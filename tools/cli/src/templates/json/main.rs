//! {{name}}: answers `{"name": "Ada"}` with `{"greeting": "Hello, Ada!"}`.
//! An empty name is an error, which Lambda reports to the caller.
use miniserde::{Deserialize, Serialize};
use tiny_lambda::Context;

#[derive(Deserialize)]
struct Request {
    name: String,
}

#[derive(Serialize)]
struct Response {
    greeting: String,
}

fn main() {
    tiny_lambda::run(|req: Request, _ctx: &Context| {
        if req.name.is_empty() {
            return Err("name must not be empty");
        }
        Ok(Response {
            greeting: format!("Hello, {}!", req.name),
        })
    })
}
