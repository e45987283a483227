//! The HTTP peer subject of the size report: tiny-lambda's `http_echo`
//! example written the way the `lambda_http` documentation shows. It answers
//! every request with 200 and `{"method", "path", "query", "cookies", "body"}`,
//! except `/binary` (the bytes 0 to 255), `/cookies` (204, setting `a=1` and
//! `b=2`) and `/missing` (404, `not found`). Only measured, never deployed;
//! keep it the plain idiomatic version so the comparison stays fair.

use lambda_http::http::header::{CONTENT_TYPE, SET_COOKIE};
use lambda_http::{run, service_fn, Body, Error, Request, RequestExt, Response};
use serde_json::{json, Map, Value};

async fn echo(req: Request) -> Result<Response<Body>, Error> {
    let path = req.raw_http_path().to_string();
    let response = match path.as_str() {
        "/binary" => Response::builder()
            .status(200)
            .header(CONTENT_TYPE, "application/octet-stream")
            .body(Body::Binary((0..=255).collect()))?,
        "/cookies" => Response::builder()
            .status(204)
            .header(SET_COOKIE, "a=1")
            .header(SET_COOKIE, "b=2")
            .body(Body::Empty)?,
        "/missing" => Response::builder()
            .status(404)
            .header(CONTENT_TYPE, "text/plain; charset=utf-8")
            .body(Body::Text("not found".into()))?,
        _ => {
            let mut query = Map::new();
            for (name, value) in req.query_string_parameters_ref().into_iter().flat_map(|q| q.iter()) {
                query.entry(name).or_insert_with(|| Value::from(value));
            }
            let cookies: Vec<&str> = req
                .headers()
                .get_all("cookie")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|line| line.split(';'))
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .collect();
            let body = String::from_utf8_lossy(req.body().as_ref()).into_owned();
            let echo = json!({
                "method": req.method().as_str(),
                "path": path,
                "query": query,
                "cookies": cookies,
                "body": body,
            });
            Response::builder()
                .status(200)
                .header(CONTENT_TYPE, "application/json")
                .body(Body::Text(echo.to_string()))?
        }
    };
    Ok(response)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    run(service_fn(echo)).await
}
