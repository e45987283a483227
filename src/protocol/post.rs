//! What the runtime posts, as data ([`Post`]): a handler's answer, an error
//! report for an invocation, the init or a SnapStart restore, and how to
//! read the Runtime API's answer to each.
use super::*;

/// One request the runtime sends, as data: where, which headers, what body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Post<'a> {
    /// The endpoint's path, below the API's root (the client owns the root).
    pub path: String,
    /// `Content-Type` of the body.
    pub content_type: &'static str,
    /// `Lambda-Runtime-Function-Error-Type`, on error reports only.
    pub error_type: Option<String>,
    /// `Lambda-Runtime-Invocation-Id`, echoed exactly when `/next` sent one.
    pub invocation_id: Option<&'a str>,
    /// The body, borrowed when it is the handler's own bytes.
    pub body: Cow<'a, [u8]>,
}

/// The post that delivers a handler's result.
pub fn response<'a>(ctx: &'a Context, body: &'a [u8]) -> Post<'a> {
    Post {
        path: format!("/invocation/{}/response", ctx.request_id),
        content_type: "application/json",
        error_type: None,
        invocation_id: ctx.invocation_id.as_deref(),
        body: Cow::Borrowed(body),
    }
}

/// The post that reports a failed invocation.
pub fn error<'a>(ctx: &'a Context, diagnostic: &Diagnostic) -> Post<'a> {
    Post {
        path: format!("/invocation/{}/error", ctx.request_id),
        content_type: ERROR_CONTENT_TYPE,
        error_type: Some(diagnostic.header_value()),
        invocation_id: ctx.invocation_id.as_deref(),
        body: Cow::Owned(error_body(diagnostic).into_bytes()),
    }
}

/// The post that reports a failed initialisation; the process exits after it.
pub fn init_error(diagnostic: &Diagnostic) -> Post<'static> {
    Post {
        path: "/init/error".to_string(),
        content_type: ERROR_CONTENT_TYPE,
        error_type: Some(diagnostic.header_value()),
        invocation_id: None,
        body: Cow::Owned(error_body(diagnostic).into_bytes()),
    }
}

/// SnapStart: `GET` this after init (and the before-snapshot hooks); Lambda
/// answers once the snapshot has been restored.
pub const RESTORE_NEXT: &str = "/restore/next";

/// SnapStart: what a `/restore/next` answer's status means. 200 is the only
/// success: the process was restored and may run its after-restore hooks.
pub fn judge_restore_next(status: u16) -> Result<(), Error> {
    match status {
        200 => Ok(()),
        _ => Err(Error::RestoreStatus(status)),
    }
}

/// SnapStart: the post that reports a failed after-restore hook. The header
/// says `Runtime.AfterRestoreError`, as Lambda's own runtimes send it; the
/// body carries the hook's own error type and message. The process exits
/// after it.
pub fn restore_error(diagnostic: &Diagnostic) -> Post<'static> {
    Post {
        path: "/restore/error".to_string(),
        content_type: ERROR_CONTENT_TYPE,
        error_type: Some(AFTER_RESTORE_ERROR.to_string()),
        invocation_id: None,
        body: Cow::Owned(error_body(diagnostic).into_bytes()),
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    #[serde(rename = "errorMessage")]
    error_message: &'a str,
    #[serde(rename = "errorType")]
    error_type: &'a str,
    #[serde(rename = "stackTrace")]
    stack_trace: Vec<String>,
}

/// The JSON body of `/error` and `/init/error`:
/// `{"errorMessage":"...","errorType":"...","stackTrace":[]}`.
///
/// The stack trace stays empty: a release bootstrap has no symbols to walk.
pub fn error_body(diagnostic: &Diagnostic) -> String {
    json::to_string(&ErrorBody {
        error_message: &diagnostic.error_message,
        error_type: &diagnostic.error_type,
        stack_trace: vec![],
    })
}

/// Judge the API's answer to a post. `body` is what it said, for the log.
///
/// 202 is the documented success. A 4xx is about this one invocation (400 bad
/// request id, 403 a second answer, 410 too late, 413 too large): the post is
/// lost but the environment is fine. 5xx means the environment is broken.
pub fn judge_post(status: u16, body: &str) -> Result<(), Error> {
    match status {
        200..=299 => Ok(()),
        500..=599 => Err(Error::ApiFailed(status)),
        _ => Err(Error::Refused {
            status,
            message: body.trim().to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn posts_carry_the_id_and_the_nonce() {
        let ctx = Context {
            request_id: "r1".into(),
            invocation_id: Some("n1".into()),
            ..Context::default()
        };
        let ok = response(&ctx, b"{}");
        assert_eq!(ok.path, "/invocation/r1/response");
        assert_eq!(ok.invocation_id, Some("n1"));
        assert_eq!(ok.error_type, None);
        assert_eq!(&*ok.body, b"{}");

        let failed = error(&ctx, &Diagnostic::new("Boom", "it \"broke\"\n"));
        assert_eq!(failed.path, "/invocation/r1/error");
        assert_eq!(failed.content_type, "application/vnd.aws.lambda.error+json");
        assert_eq!(failed.error_type.as_deref(), Some("Function.Boom"));
        assert_eq!(
            &*failed.body,
            br#"{"errorMessage":"it \"broke\"\n","errorType":"Boom","stackTrace":[]}"#
        );

        let no_nonce = Context {
            request_id: "r2".into(),
            ..Context::default()
        };
        assert_eq!(response(&no_nonce, b"").invocation_id, None);

        let init = init_error(&Diagnostic::new("NoConfig", "missing"));
        assert_eq!(init.path, "/init/error");
        assert_eq!(init.error_type.as_deref(), Some("Function.NoConfig"));
        assert_eq!(
            &*init.body,
            br#"{"errorMessage":"missing","errorType":"NoConfig","stackTrace":[]}"#
        );
    }

    #[test]
    fn post_answers_are_judged() {
        assert_eq!(judge_post(202, ""), Ok(()));
        for status in [400, 403, 410, 413] {
            let e = judge_post(status, " {\"errorType\":\"X\"}\n").unwrap_err();
            assert_eq!(
                e,
                Error::Refused {
                    status,
                    message: "{\"errorType\":\"X\"}".into()
                }
            );
            assert!(!e.is_fatal());
        }
        assert_eq!(judge_post(500, ""), Err(Error::ApiFailed(500)));
        assert!(judge_post(502, "").unwrap_err().is_fatal());
    }

    #[test]
    fn snapstart_endpoints() {
        assert_eq!(judge_restore_next(200), Ok(()));
        for status in [202, 403, 500] {
            let e = judge_restore_next(status).unwrap_err();
            assert_eq!(e, Error::RestoreStatus(status));
            assert!(e.is_fatal());
        }
        let post = restore_error(&Diagnostic::new("CacheCold", "no cache"));
        assert_eq!(post.path, "/restore/error");
        assert_eq!(
            post.error_type.as_deref(),
            Some("Runtime.AfterRestoreError")
        );
        assert_eq!(post.content_type, ERROR_CONTENT_TYPE);
        assert_eq!(
            post.body.as_ref(),
            br#"{"errorMessage":"no cache","errorType":"CacheCold","stackTrace":[]}"#
        );
    }
}
