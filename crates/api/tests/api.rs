//! The router on its own: every Zoho error shape it answers, driven in-process with
//! `tower::ServiceExt::oneshot` over a SQLite store in a temp dir. Each answer is checked whole:
//! status, the four body keys in order (`status`, `code`, `message`, `details`) and the recorded
//! headers. The token endpoint answers OAuth's `{"error": word}` instead, checked in `oauth`.

mod api {
    pub mod fixture;

    mod auth;
    mod create_job;
    mod credits;
    mod events;
    mod expiry;
    mod jobs;
    mod lint;
    mod oauth;
    mod org_events;
    mod query;
    mod reads;
    mod records;
    mod test_controls;
    mod upload;
}
