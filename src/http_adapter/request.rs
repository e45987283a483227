//! The request a handler sees, whatever sent it: method, path, parameters,
//! headers, cookies, body, and the context the front door adds.
//!
//! Headers and query parameters are lists of pairs, in the order the event
//! gave them, because both may repeat; header lookup ignores case, as HTTP
//! does, and query lookup does not.

use std::collections::BTreeMap;
use std::string::String;
use std::vec::Vec;

/// Which front door sent the request; it decides the shape of the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// API Gateway REST API, or an HTTP API with payload format 1.0.
    ApiGatewayV1,
    /// API Gateway HTTP API, payload format 2.0.
    ApiGatewayV2,
    /// A function URL.
    FunctionUrl,
    /// An Application Load Balancer target group.
    Alb {
        /// The target group has multi-value headers turned on: it sent
        /// `multiValueHeaders` and reads only `multiValueHeaders` back.
        multi_value_headers: bool,
    },
}

/// A request from API Gateway (v1 or v2), a function URL or a load balancer.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// The method, e.g. `GET`.
    pub method: String,
    /// The path as the event gives it: `path` from API Gateway v1 and ALB,
    /// `rawPath` from API Gateway v2 and function URLs. Not decoded.
    pub path: String,
    /// The values of the route's variables (`/orders/{id}` gives `id`), from
    /// API Gateway; empty for function URLs and ALB, which have no routes.
    pub path_parameters: BTreeMap<String, String>,
    /// The query parameters, decoded, every value of each.
    pub query: QueryParams,
    /// The headers, every value of each.
    pub headers: Headers,
    /// The cookies sent, each `name=value`.
    pub cookies: Vec<String>,
    /// The body, base64-decoded when the event said `isBase64Encoded`; empty
    /// when there was none.
    pub body: Vec<u8>,
    /// What the front door knows about the request.
    pub context: RequestContext,
}

/// What the front door adds to a request.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestContext {
    /// Who sent it.
    pub source: Source,
    /// The front door's request id (API Gateway's, the function URL's). A load
    /// balancer has none: its trace id is in the `x-amzn-trace-id` header.
    pub request_id: Option<String>,
    /// The API Gateway stage (`prod`, `$default`), or `$default` for a
    /// function URL; none from a load balancer.
    pub stage: Option<String>,
    /// The matched route: v1's `resource` (`/orders/{id}`), v2's `routeKey`
    /// (`GET /orders/{id}`).
    pub route: Option<String>,
    /// The caller's address: `sourceIp` from API Gateway and function URLs,
    /// the first address of `x-forwarded-for` from a load balancer.
    pub source_ip: Option<String>,
    /// The authorizer's claims, where there are any: a Cognito user pool
    /// authorizer's (v1 `authorizer.claims`) or a JWT authorizer's (v2
    /// `authorizer.jwt.claims`). Values that are not strings come as JSON text.
    pub claims: BTreeMap<String, String>,
}

impl Request {
    /// The body as text, if it is UTF-8.
    pub fn body_text(&self) -> Option<&str> {
        std::str::from_utf8(&self.body).ok()
    }

    /// The value of the cookie called `name`, if the request sent it.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.cookies.iter().find_map(|cookie| {
            let (n, v) = cookie.split_once('=')?;
            (n.trim() == name).then(|| v.trim())
        })
    }
}

/// Header names and values; lookup ignores the case of the name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers {
    pairs: Vec<(String, String)>,
}

impl Headers {
    /// No headers.
    pub fn new() -> Headers {
        Headers::default()
    }

    /// The first value of `name`, in any case.
    pub fn get(&self, name: &str) -> Option<&str> {
        let (_, value) = self
            .pairs
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))?;
        Some(value)
    }

    /// Every value of `name`, in any case, in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.pairs
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Add a value, keeping the ones `name` has.
    pub fn append(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.pairs.push((name.into(), value.into()));
    }

    /// Set `name` to this one value, replacing any it had.
    pub fn insert(&mut self, name: impl Into<String>, value: impl Into<String>) {
        let name = name.into();
        self.remove(&name);
        self.pairs.push((name, value.into()));
    }

    /// Remove every value of `name`.
    pub fn remove(&mut self, name: &str) {
        self.pairs.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    }

    /// Every (name, value) pair, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// How many values there are, counting repeats.
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }
}

/// Query parameter names and values, decoded; names are case-sensitive.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueryParams {
    pairs: Vec<(String, String)>,
}

impl QueryParams {
    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        let (_, value) = self.pairs.iter().find(|(n, _)| n == name)?;
        Some(value)
    }

    /// Every value of `name`, in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.pairs
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Add a value.
    pub fn append(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.pairs.push((name.into(), value.into()));
    }

    /// Every (name, value) pair, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_lookup_ignores_case_and_keeps_every_value() {
        let mut h = Headers::new();
        h.append("Accept", "text/html");
        h.append("accept", "application/json");
        h.append("X-One", "1");
        assert_eq!(h.get("ACCEPT"), Some("text/html"));
        assert_eq!(
            h.get_all("accept").collect::<Vec<_>>(),
            ["text/html", "application/json"]
        );
        h.insert("x-one", "2");
        assert_eq!(h.get_all("X-ONE").collect::<Vec<_>>(), ["2"]);
        h.remove("Accept");
        assert_eq!(h.len(), 1);
        assert_eq!(h.get("missing"), None);
    }

    #[test]
    fn query_lookup_is_exact() {
        let mut q = QueryParams::default();
        q.append("a", "1");
        q.append("a", "2");
        assert_eq!(q.get_all("a").collect::<Vec<_>>(), ["1", "2"]);
        assert_eq!(q.get("A"), None);
    }
}
