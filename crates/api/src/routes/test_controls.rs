//! The switch of the test controls (`--test-controls`, `BULKWRITE_TEST_CONTROLS=1`): faults, the
//! clock, queue stepping, the inbox, reset and snapshots answer only when it is on, and only to
//! the admin credential or an org's token granted `bulkwrite.test`. Off, their paths answer
//! Zoho's 404 `INVALID_URL_PATTERN`, as any unknown URL does, so nothing reveals they exist.

pub mod clock;
pub mod faults;
pub mod inbox;
pub mod org_state;
pub mod queue;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use bulkwrite_core::ids::OrgId;
use bulkwrite_wire::ErrorCode;

use crate::auth::{Auth, TEST_CONTROLS_SCOPE};
use crate::error::ErrorResponse;
use crate::routes::admin::AdminAuth;
use crate::AppState;

/// Who called a test control.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TestCaller {
    /// The admin credential: every org.
    Admin,
    /// An org's token with the `bulkwrite.test` scope: that org only.
    Org(OrgId),
}

impl TestCaller {
    /// Whether this caller may act on `org`.
    pub fn may_act_on(&self, org: OrgId) -> bool {
        match self {
            TestCaller::Admin => true,
            TestCaller::Org(own) => *own == org,
        }
    }

    /// The org a rule or action is limited to when the caller names none: an org token's own
    /// org, or every org for the admin.
    pub fn own_org(&self) -> Option<OrgId> {
        match self {
            TestCaller::Admin => None,
            TestCaller::Org(org) => Some(*org),
        }
    }
}

/// A request to a test control: the switch is on and the caller may use it.
#[derive(Debug, Clone)]
pub struct TestControls(pub TestCaller);

impl FromRequestParts<AppState> for TestControls {
    type Rejection = ErrorResponse;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<TestControls, ErrorResponse> {
        if !state.config.test_controls {
            return Err(ErrorCode::InvalidUrlPattern.into());
        }
        if AdminAuth::from_request_parts(parts, state).await.is_ok() {
            return Ok(TestControls(TestCaller::Admin));
        }
        let auth = Auth::from_request_parts(parts, state).await?;
        auth.require(&[TEST_CONTROLS_SCOPE])?;
        Ok(TestControls(TestCaller::Org(auth.0.org)))
    }
}
