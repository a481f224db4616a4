//! The one error type of the client, and how Zoho's error bodies become it.

use std::time::Duration;

use bulkwrite_wire::ErrorCode;
use serde_json::{Map, Value};

/// `Result` with the client's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything a client call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The server answered with an error body.
    ///
    /// The CRM shape `{"status":"error","code":…,"message":…,"details":{…}}` fills the fields as
    /// sent. The upload and download hosts' gateway shapes map as follows: `code` is the `info`
    /// word (`{"x-error":…,"info":"Forbidden"}` → `Forbidden`), the `ERROR_CODE` number as text
    /// (`{"ERROR_CODE":401,…}` → `401`) or `LINK_NOT_VALID` for `x-info`; `message` is the
    /// `x-error`, `ERROR_MESSAGE` or `x-info` text; `details` is the whole body. A body that is
    /// no JSON at all gives `code` `HTTP_<status>` and the start of the text as `message`.
    #[error("{code} (HTTP {http_status}): {message}")]
    Api {
        /// The HTTP status of the answer (Zoho sometimes answers errors with 200).
        http_status: u16,
        /// The error code, e.g. `INVALID_DATA`.
        code: String,
        /// The human text.
        message: String,
        /// The `details` object (often empty).
        details: Map<String, Value>,
    },
    /// The accounts server refused to issue a token: `{"error":"invalid_code"}` and friends,
    /// whatever the HTTP status.
    #[error("OAuth token request refused: {error} (HTTP {http_status})")]
    OAuth {
        /// The `error` word, e.g. `invalid_code`, `invalid_client`.
        error: String,
        /// The HTTP status of the answer (Zoho often sends 200).
        http_status: u16,
    },
    /// The request could not be sent or the answer not received (connection, TLS, request timeout).
    #[error("transport error: {0}")]
    Transport(#[from] reqwest::Error),
    /// An answer arrived but is not what the API promises (bad JSON, bad zip, bad CSV).
    #[error("could not decode the answer: {0}")]
    Decode(String),
    /// [`crate::Client::wait_for_job`] gave up before the job finished.
    #[error("job {job_id} not finished after {waited:?} (last status {last_status})")]
    Timeout {
        /// The job waited for.
        job_id: String,
        /// How long it waited.
        waited: Duration,
        /// The job status seen last.
        last_status: String,
    },
    /// Reading or writing a local file failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The call cannot be made as asked (bad endpoint URL, file name, a job without result, …).
    #[error("invalid use: {0}")]
    Invalid(String),
}

impl Error {
    /// The Zoho error code of an [`Error::Api`], e.g. `Some("INVALID_TOKEN")`.
    pub fn api_code(&self) -> Option<&str> {
        match self {
            Error::Api { code, .. } => Some(code),
            _ => None,
        }
    }

    /// The code of an [`Error::Api`] looked up in the shared table; `None` for other errors and
    /// codes the table does not know.
    pub fn error_code(&self) -> Option<ErrorCode> {
        self.api_code().and_then(ErrorCode::parse)
    }

    /// The HTTP status behind an [`Error::Api`] or [`Error::OAuth`].
    pub fn http_status(&self) -> Option<u16> {
        match self {
            Error::Api { http_status, .. } | Error::OAuth { http_status, .. } => Some(*http_status),
            Error::Transport(error) => error.status().map(|s| s.as_u16()),
            _ => None,
        }
    }
}

fn text_of(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(text) => Some(text.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// Reads an error out of a JSON object, if it has one of the known error shapes.
pub(crate) fn error_from_object(http_status: u16, object: &Map<String, Value>) -> Option<Error> {
    let is_crm_error = object.get("status").and_then(Value::as_str) == Some("error")
        || (http_status >= 400 && object.contains_key("code") && object.contains_key("message"));
    if is_crm_error {
        let details = match object.get("details") {
            Some(Value::Object(details)) => details.clone(),
            _ => Map::new(),
        };
        return Some(Error::Api {
            http_status,
            code: text_of(object.get("code")).unwrap_or_else(|| format!("HTTP_{http_status}")),
            message: text_of(object.get("message")).unwrap_or_default(),
            details,
        });
    }
    let gateway = |code: String, message: Option<String>| Error::Api {
        http_status,
        code,
        message: message.unwrap_or_default(),
        details: object.clone(),
    };
    if let Some(message) = text_of(object.get("x-error")) {
        let code = text_of(object.get("info")).unwrap_or_else(|| "X_ERROR".to_string());
        return Some(gateway(code, Some(message)));
    }
    if object.contains_key("ERROR_CODE") {
        let code = text_of(object.get("ERROR_CODE")).unwrap_or_default();
        return Some(gateway(code, text_of(object.get("ERROR_MESSAGE"))));
    }
    if let Some(message) = text_of(object.get("x-info")) {
        return Some(gateway("LINK_NOT_VALID".to_string(), Some(message)));
    }
    None
}

/// The error for a non-success answer with this body.
pub(crate) fn error_from_body(http_status: u16, body: &[u8]) -> Error {
    if let Ok(Value::Object(object)) = serde_json::from_slice::<Value>(body) {
        if let Some(error) = error_from_object(http_status, &object) {
            return error;
        }
        if let Some(code) = text_of(object.get("code")) {
            let message = text_of(object.get("message")).unwrap_or_default();
            return Error::Api { http_status, code, message, details: object.clone() };
        }
    }
    let text = String::from_utf8_lossy(body);
    let message: String = text.trim().chars().take(300).collect();
    Error::Api { http_status, code: format!("HTTP_{http_status}"), message, details: Map::new() }
}

/// Whether a 401 body says the access token is no longer good (so renewing it can help).
pub(crate) fn is_stale_token(body: &[u8]) -> bool {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(object)) => {
            object.get("code").and_then(Value::as_str) == Some(ErrorCode::InvalidToken.as_str())
                || object.get("ERROR_CODE").and_then(Value::as_u64) == Some(401)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(error: Error) -> (u16, String, String, Map<String, Value>) {
        match error {
            Error::Api { http_status, code, message, details } => (http_status, code, message, details),
            other => panic!("not an API error: {other:?}"),
        }
    }

    #[test]
    fn crm_error_body_keeps_code_message_and_details() {
        let body = br#"{"status":"error","code":"INVALID_CALLBACK_URL","message":"Invalid URL 'x' for callback.","details":{"reason":"possible ssrf attempt"}}"#;
        let (status, code, message, details) = api(error_from_body(400, body));
        assert_eq!((status, code.as_str()), (400, "INVALID_CALLBACK_URL"));
        assert_eq!(message, "Invalid URL 'x' for callback.");
        assert_eq!(details["reason"], "possible ssrf attempt");
    }

    #[test]
    fn gateway_shapes_map_to_api_errors() {
        let (_, code, message, details) = api(error_from_body(
            403,
            br#"{"x-error":"check if headers [feature, X-CRM-ORG] are present and valid","info":"Forbidden"}"#,
        ));
        assert_eq!(code, "Forbidden");
        assert!(message.starts_with("check if headers"));
        assert!(details.contains_key("x-error"));
        let (_, code, message, _) = api(error_from_body(401, br#"{"ERROR_CODE":401,"ERROR_MESSAGE":"Unauthorized"}"#));
        assert_eq!((code.as_str(), message.as_str()), ("401", "Unauthorized"));
        let (_, code, _, _) = api(error_from_body(404, br#"{"x-info":"Link not valid"}"#));
        assert_eq!(code, "LINK_NOT_VALID");
    }

    #[test]
    fn non_json_bodies_become_http_codes() {
        let (status, code, message, _) = api(error_from_body(502, b"<html>Bad gateway</html>"));
        assert_eq!((status, code.as_str()), (502, "HTTP_502"));
        assert!(message.contains("Bad gateway"));
    }

    #[test]
    fn stale_token_detection() {
        assert!(is_stale_token(
            br#"{"code":"INVALID_TOKEN","details":{},"message":"invalid oauth token","status":"error"}"#
        ));
        assert!(is_stale_token(br#"{"ERROR_CODE":401,"ERROR_MESSAGE":"Unauthorized"}"#));
        assert!(!is_stale_token(br#"{"code":"OAUTH_SCOPE_MISMATCH","details":{},"message":"x","status":"error"}"#));
    }

    #[test]
    fn error_code_looks_up_the_table() {
        let error = error_from_body(
            401,
            br#"{"code":"INVALID_TOKEN","details":{},"message":"invalid oauth token","status":"error"}"#,
        );
        assert_eq!(error.error_code(), Some(ErrorCode::InvalidToken));
        assert_eq!(error.http_status(), Some(401));
    }
}
