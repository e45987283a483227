//! Fails on demand, chosen by the event's `do` field:
//! `"ok"` answers, `"error"` returns a handler error (a `ParseIntError`, so
//! `errorType` is `ParseIntError`), `"custom"` returns a `Diagnostic` with its
//! own `errorType`, `"panic"` panics, `"log"` logs a line at every level.
use miniserde::{Deserialize, Serialize};
use tiny_lambda::{Context, Diagnostic};

#[derive(Deserialize)]
struct Request {
    #[serde(rename = "do")]
    action: String,
}

#[derive(Serialize)]
struct Response {
    done: String,
}

fn main() {
    tiny_lambda::run(|req: Request, _ctx: &Context| match req.action.as_str() {
        "ok" => Ok(Response { done: req.action }),
        "error" => match "twelve".parse::<u32>() {
            Ok(n) => Ok(Response {
                done: n.to_string(),
            }),
            Err(e) => Err(Diagnostic::from_error(&e)),
        },
        "custom" => Err(Diagnostic::new("OrderRejected", "the order has no items")),
        "panic" => panic!("the handler panicked on purpose"),
        "log" => {
            log::error!("an error line");
            log::warn!("a warn line");
            log::info!("an info line");
            log::debug!("a debug line");
            log::trace!("a trace line");
            Ok(Response { done: req.action })
        }
        other => Err(Diagnostic::new("UnknownAction", other)),
    })
}
