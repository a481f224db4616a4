//! Zoho's limit on Bulk Read downloads: "Only 10 requests for download are allowed for one-minute
//! interval. Crossing the limit will result in an error (HTTP code: 429)" (Zoho CRM API docs,
//! bulk-read/download-result, v2 … v8). Counted per user in a sliding minute, in the store
//! ([`bulkwrite_store::ReadStore::count_download`]), so every node of one database counts the
//! same downloads.
//!
//! The docs give the status only. The body's code is `TOO_MANY_REQUESTS` and its message the
//! one the official SDKs list for that code in Bulk Read's error model (`zohocrmsdk2-0`,
//! `bulk_read.APIException`); `details` stays empty as in Zoho's other Bulk Read errors without
//! particulars. The docs are silent on headers: we add `Retry-After` (RFC 9110 §10.2.3), the
//! whole seconds until the oldest counted download leaves the window, so a client knows when to
//! retry.

use axum::http::header::RETRY_AFTER;
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use bulkwrite_store::{DownloadVerdict, DownloadWindow, Timestamp};
use bulkwrite_wire::{ApiError, ErrorCode};

use crate::error::ErrorResponse;

/// Downloads one user may start in a minute: Zoho's, the default of
/// [`ApiConfig::read_downloads_per_minute`](crate::ApiConfig::read_downloads_per_minute).
pub const DOWNLOADS_PER_MINUTE: u32 = 10;

/// The window downloads are counted in: `limit` a minute.
pub fn window(limit: u32) -> DownloadWindow {
    DownloadWindow { limit, length: chrono::Duration::seconds(60) }
}

/// The message of Bulk Read's `TOO_MANY_REQUESTS` in the SDKs' error model.
pub const TOO_MANY_DOWNLOADS: &str = "Many requests fired in concurrent than the allowed limit";

/// The 429 answer of a refused download, or `None` when the download may start.
pub fn refusal(verdict: DownloadVerdict, now: Timestamp) -> Option<Response> {
    let DownloadVerdict::Refused { retry_at } = verdict else { return None };
    let error = ApiError::with_message(ErrorCode::TooManyRequests, TOO_MANY_DOWNLOADS);
    let mut response = ErrorResponse(error).into_response();
    let millis = (retry_at - now).num_milliseconds().max(0);
    // Whole seconds, rounded up, at least one: retrying at once would be refused again.
    let seconds = ((millis + 999) / 1000).max(1);
    response.headers_mut().insert(RETRY_AFTER, HeaderValue::from(seconds));
    Some(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_is_zoho_shaped_with_retry_after() {
        let now = chrono::Utc::now();
        assert!(refusal(DownloadVerdict::Allowed, now).is_none());
        let retry_at = now + chrono::Duration::milliseconds(12_300);
        let response = refusal(DownloadVerdict::Refused { retry_at }, now).expect("refused");
        assert_eq!(response.status(), 429);
        assert_eq!(response.headers()[RETRY_AFTER], "13");
        let past = refusal(DownloadVerdict::Refused { retry_at: now }, now).expect("refused");
        assert_eq!(past.headers()[RETRY_AFTER], "1", "never zero");
    }
}
