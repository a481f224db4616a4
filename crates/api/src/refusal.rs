//! Zoho-shaped bodies for requests refused before a handler runs.
//!
//! Two places refuse without a handler: axum (plain-text rejections, handled by
//! [`crate::observe::zoho_shaped_errors`]) and hyper itself, which answers a request it cannot
//! parse (a raw `<` in the query, a malformed header, a request line or head over its limits)
//! with a bare `400`/`414`/`431` and no body, before any service sees it. hyper 1.x has no hook
//! for that answer (`on_error` in its h1 role is private), so [`ZohoRefusals`] wraps each
//! connection's IO and replaces exactly that answer on its way out: a response head with one of
//! those statuses, no `content-type` and `content-length: 0`. Every answer of ours has a
//! `content-type`, so nothing else can match. hyper closes the connection after such an answer.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use axum::serve::Listener;
use bulkwrite_wire::{ApiError, ErrorCode};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::observe::{new_request_id, HTTP_REFUSALS, REQUEST_ID_HEADER};
use crate::response::RECORDED_HEADERS;

/// The Zoho error for an answer that has only a status: the code whose table status fits, with
/// a message naming the refusal. The HTTP status sent is the table's.
pub fn refusal_for_status(status: u16) -> ApiError {
    match status {
        404 => ApiError::new(ErrorCode::InvalidUrlPattern),
        405 => ApiError::new(ErrorCode::InvalidRequestMethod),
        413 => ApiError::with_message(ErrorCode::FileTooLarge, "the request body is too large to process"),
        414 => ApiError::with_message(ErrorCode::InvalidRequest, "the request URI is too long"),
        415 => ApiError::new(ErrorCode::RequestBodyNotSupported),
        431 => ApiError::with_message(ErrorCode::InvalidRequest, "the request headers are too large"),
        429 => ApiError::new(ErrorCode::TooManyRequests),
        500..=599 => ApiError::new(ErrorCode::InternalError),
        _ => ApiError::with_message(ErrorCode::InvalidRequest, "the request could not be read"),
    }
}

/// The statuses hyper answers on its own when a request head cannot be parsed.
const HYPER_REFUSALS: &[&[u8]] = &[b"400", b"414", b"431"];

/// The status of a response head written by hyper for a request it refused, if `bytes` is one.
fn hyper_refusal_status(bytes: &[u8]) -> Option<u16> {
    let rest = bytes.strip_prefix(b"HTTP/1.1 ").or_else(|| bytes.strip_prefix(b"HTTP/1.0 "))?;
    let code = rest.get(..3)?;
    if !HYPER_REFUSALS.contains(&code) || !bytes.ends_with(b"\r\n\r\n") {
        return None;
    }
    let head = std::str::from_utf8(bytes).ok()?.to_ascii_lowercase();
    let mut lines = head.split("\r\n").skip(1).filter(|line| !line.is_empty());
    let mut empty_body = false;
    let only_bare_headers = lines.all(|line| {
        let name = line.split(':').next().unwrap_or("").trim();
        if name == "content-length" {
            empty_body = line.split(':').nth(1).map(str::trim) == Some("0");
        }
        matches!(name, "content-length" | "date" | "connection")
    });
    let status = std::str::from_utf8(code).ok()?.parse().ok()?;
    (only_bare_headers && empty_body).then_some(status)
}

/// The `date` header line of hyper's head, kept in the answer that replaces it.
fn date_line(head: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(head).ok()?;
    text.split("\r\n").find(|line| line.len() > 5 && line[..5].eq_ignore_ascii_case("date:"))
}

/// The complete answer sent instead of hyper's bare one.
fn zoho_refusal_response(hyper_status: u16, date: Option<&str>, hsts: bool) -> Vec<u8> {
    let error = refusal_for_status(hyper_status);
    let status = axum::http::StatusCode::from_u16(error.http_status()).unwrap_or(axum::http::StatusCode::BAD_REQUEST);
    let body = serde_json::to_vec(&error.to_body()).unwrap_or_default();
    let request_id = new_request_id();
    tracing::debug!(request_id = %request_id, hyper_status, "refused a request the HTTP layer could not read");
    metrics::counter!(HTTP_REFUSALS, "status" => hyper_status.to_string()).increment(1);
    let mut head = format!(
        "HTTP/1.1 {} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n{REQUEST_ID_HEADER}: {request_id}\r\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or(""),
        body.len()
    );
    if let Some(date) = date {
        head.push_str(&format!("{date}\r\n"));
    }
    for (name, value) in RECORDED_HEADERS {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if hsts {
        head.push_str("strict-transport-security: max-age=63072000\r\n");
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(&body);
    bytes
}

/// A listener whose connections answer hyper's own refusals in Zoho's shape.
pub struct ZohoRefusals<L> {
    inner: L,
    hsts: bool,
}

impl<L> ZohoRefusals<L> {
    /// Wraps `inner`; `hsts` adds `Strict-Transport-Security` as the API's answers have it.
    pub fn new(inner: L, hsts: bool) -> ZohoRefusals<L> {
        ZohoRefusals { inner, hsts }
    }
}

impl<L: Listener> Listener for ZohoRefusals<L> {
    type Io = RefusalShaped<L::Io>;
    type Addr = L::Addr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (io, addr) = self.inner.accept().await;
        (RefusalShaped { inner: io, hsts: self.hsts, replacement: None }, addr)
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// A connection whose bare refusal heads are replaced by Zoho-shaped answers.
pub struct RefusalShaped<IO> {
    inner: IO,
    hsts: bool,
    /// The answer being written instead of hyper's, and how much of it is written.
    replacement: Option<(Vec<u8>, usize)>,
}

impl<IO: AsyncWrite + Unpin> RefusalShaped<IO> {
    /// Writes what is left of a replacement answer; ready once none is left.
    fn poll_replacement(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some((bytes, written)) = self.replacement.as_mut() {
            if *written >= bytes.len() {
                self.replacement = None;
                break;
            }
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &bytes[*written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            *written += n;
        }
        Poll::Ready(Ok(()))
    }

    /// Starts the replacement if `buf` is a refusal head; returns whether it did.
    fn replace(&mut self, buf: &[u8]) -> bool {
        let Some(status) = hyper_refusal_status(buf) else { return false };
        self.replacement = Some((zoho_refusal_response(status, date_line(buf), self.hsts), 0));
        true
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for RefusalShaped<IO> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for RefusalShaped<IO> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.poll_replacement(cx))?;
        if this.replace(buf) {
            // hyper's bytes count as written; ours go out now and on the next polls.
            let _ = this.poll_replacement(cx)?;
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.poll_replacement(cx))?;
        let mut filled = bufs.iter().filter(|b| !b.is_empty());
        if let (Some(only), None) = (filled.next(), filled.next()) {
            if this.replace(only) {
                let _ = this.poll_replacement(cx)?;
                return Poll::Ready(Ok(only.len()));
            }
        }
        Pin::new(&mut this.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_replacement(cx))?;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_replacement(cx))?;
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    const BARE_400: &[u8] =
        b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\ndate: Wed, 02 Dec 2026 06:00:00 GMT\r\n\r\n";

    #[test]
    fn only_hypers_bare_refusals_match() {
        assert_eq!(hyper_refusal_status(BARE_400), Some(400));
        let too_large = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\ndate: x\r\n\r\n";
        assert_eq!(hyper_refusal_status(too_large), Some(431));
        let ours = b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: 95\r\n\r\n";
        assert_eq!(hyper_refusal_status(ours), None, "our answers have a content-type");
        let with_body = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 3\r\ndate: x\r\n\r\n";
        assert_eq!(hyper_refusal_status(with_body), None);
        let not_found = b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n";
        assert_eq!(hyper_refusal_status(not_found), None, "hyper never answers 404 itself");
        assert_eq!(hyper_refusal_status(b"{\"status\":\"error\"}"), None);
    }

    #[test]
    fn statuses_map_to_table_codes() {
        assert_eq!(refusal_for_status(400).code, ErrorCode::InvalidRequest);
        assert_eq!(refusal_for_status(431).code.http_status(), 400);
        assert_eq!(refusal_for_status(404).code, ErrorCode::InvalidUrlPattern);
        assert_eq!(refusal_for_status(405).code, ErrorCode::InvalidRequestMethod);
        assert_eq!(refusal_for_status(503).code, ErrorCode::InternalError);
    }

    async fn written_through(writes: &[&[u8]]) -> String {
        let (client, server) = tokio::io::duplex(64);
        let mut shaped = RefusalShaped { inner: server, hsts: false, replacement: None };
        let reader = tokio::spawn(async move {
            let mut client = client;
            let mut out = Vec::new();
            client.read_to_end(&mut out).await.unwrap();
            String::from_utf8(out).unwrap()
        });
        for bytes in writes {
            shaped.write_all(bytes).await.unwrap();
        }
        shaped.shutdown().await.unwrap();
        drop(shaped);
        reader.await.unwrap()
    }

    #[tokio::test]
    async fn a_bare_refusal_goes_out_as_a_zoho_answer() {
        // The duplex takes 64 bytes at a time, so the replacement is written over many polls.
        let text = written_through(&[BARE_400]).await;
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{head}");
        assert!(head.contains("content-type: application/json"), "{head}");
        assert!(head.contains("x-request-id: "), "{head}");
        assert!(head.contains("x-content-type-options: nosniff"), "{head}");
        assert!(head.contains("\r\ndate: Wed, 02 Dec 2026 06:00:00 GMT\r\n"), "hyper's date is kept: {head}");
        assert!(head.contains(&format!("content-length: {}", body.len())), "{head}");
        let value: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(value["status"], "error");
        assert_eq!(value["code"], "INVALID_REQUEST");
        assert_eq!(value["details"], serde_json::json!({}));
    }

    #[tokio::test]
    async fn other_answers_pass_untouched() {
        let answer: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}";
        assert_eq!(written_through(&[answer, b"HTTP/1.1 400 "]).await.as_bytes(), [answer, b"HTTP/1.1 400 "].concat());
    }
}
