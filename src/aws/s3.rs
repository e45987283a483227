//! S3 on its REST protocol: `GetObject`, `PutObject` and `HeadObject`.
//!
//! Buckets are addressed virtual-hosted style on AWS
//! (`https://bucket.s3.region.amazonaws.com/key`) and path style on an
//! endpoint URL or for a bucket name with dots (`endpoint/bucket/key`). The
//! body is signed (`x-amz-content-sha256` is its hash), not sent as
//! `UNSIGNED-PAYLOAD`: the objects a function handles fit in memory anyway.
//!
//! ```no_run
//! use tiny_lambda::aws::{Aws, Deadline};
//!
//! let aws = Aws::from_env()?;
//! let s3 = aws.s3(Deadline::NONE);
//! s3.put_object("my-bucket", "reports/today.json", b"{}", "application/json")?;
//! let object = s3.get_object("my-bucket", "reports/today.json")?;
//! assert_eq!(object.body, b"{}");
//! # Ok::<(), tiny_lambda::aws::Error>(())
//! ```
//!
//! A missing key is an [`Error`] with the code `NoSuchKey` from a get, and
//! `NotFound` from a head (whose answer has no body to name it).

use std::string::{String, ToString};
use std::time::Duration;
use std::vec::Vec;

use super::sigv4::uri_encode;
use super::{Aws, Call, Deadline, Endpoint, Error};

const SERVICE: &str = "s3";

/// What S3 says of an object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectInfo {
    /// `Content-Type`.
    pub content_type: Option<String>,
    /// `Content-Length`.
    pub content_length: Option<u64>,
    /// `ETag`, quotes included.
    pub etag: Option<String>,
    /// `Last-Modified`, as S3 writes it.
    pub last_modified: Option<String>,
}

/// An object read with `GetObject`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Object {
    /// Its headers.
    pub info: ObjectInfo,
    /// Its bytes.
    pub body: Vec<u8>,
}

/// S3, with the deadline its calls must keep: from [`Aws::s3`].
pub struct S3<'a> {
    aws: &'a Aws,
    deadline: Deadline,
}

impl<'a> S3<'a> {
    pub(super) fn new(aws: &'a Aws, deadline: Deadline) -> S3<'a> {
        S3 { aws, deadline }
    }

    /// `GetObject`: the whole object.
    pub fn get_object(&self, bucket: &str, key: &str) -> Result<Object, Error> {
        let answer = self.call("GET", bucket, key, &[], &[])?;
        Ok(Object {
            info: info(&answer),
            body: answer.body,
        })
    }

    /// `HeadObject`: what S3 says of the object, without its bytes.
    pub fn head_object(&self, bucket: &str, key: &str) -> Result<ObjectInfo, Error> {
        self.call("HEAD", bucket, key, &[], &[])
            .map(|answer| info(&answer))
    }

    /// `PutObject`: store `body` under `key`; returns the new `ETag`.
    pub fn put_object(
        &self,
        bucket: &str,
        key: &str,
        body: &[u8],
        content_type: &str,
    ) -> Result<Option<String>, Error> {
        let answer = self.call("PUT", bucket, key, &[("content-type", content_type)], body)?;
        Ok(answer.header("etag").map(str::to_string))
    }

    fn call(
        &self,
        method: &str,
        bucket: &str,
        key: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<super::http::Answer, Error> {
        if bucket.is_empty() || key.is_empty() {
            return Err(Error::local(
                SERVICE,
                "InvalidRequest",
                "the bucket and the key must not be empty",
            ));
        }
        let (endpoint, path) = self.locate(bucket, key)?;
        self.aws.call(
            self.deadline,
            &Call {
                service: SERVICE,
                endpoint: &endpoint,
                method,
                path: &path,
                query: &[],
                headers,
                body,
                s3: true,
                body_limit: u64::MAX,
                wait: Duration::ZERO,
            },
        )
    }

    /// The endpoint and the path of one object.
    fn locate(&self, bucket: &str, key: &str) -> Result<(Endpoint, String), Error> {
        let endpoint = self.aws.endpoint("AWS_ENDPOINT_URL_S3", SERVICE)?;
        let key = uri_encode(key, false);
        if endpoint.overridden || bucket.contains('.') {
            return Ok((
                endpoint,
                ["/", &uri_encode(bucket, true), "/", &key].concat(),
            ));
        }
        let host = [bucket, ".", &endpoint.host].concat();
        let virtual_hosted = Endpoint {
            origin: ["https://", &host].concat(),
            host,
            prefix: String::new(),
            overridden: false,
        };
        Ok((virtual_hosted, ["/", &key].concat()))
    }
}

fn info(answer: &super::http::Answer) -> ObjectInfo {
    let header = |name: &str| answer.header(name).map(str::to_string);
    ObjectInfo {
        content_type: header("content-type"),
        content_length: answer.header("content-length").and_then(|n| n.parse().ok()),
        etag: header("etag"),
        last_modified: header("last-modified"),
    }
}
