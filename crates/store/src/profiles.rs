//! Profiles and their permissions (see `bulkwrite_core::perms`). The store keeps what differs
//! from the defaults: the custom profiles, and what was taken from `Standard`; users name their
//! profile on their row.

use async_trait::async_trait;
use bulkwrite_core::ids::{OrgId, UserId};
use bulkwrite_core::perms::Profile;

use crate::error::StoreResult;

/// The org's profiles and which one each user has.
#[async_trait]
pub trait ProfileStore: Send + Sync {
    /// The profiles stored for the org, in the order they were first stored (the built-in ones
    /// only when something was stored for them; `bulkwrite_core::perms::with_built_ins` adds the
    /// rest). Empty for an unknown org.
    async fn stored_profiles(&self, org: OrgId) -> StoreResult<Vec<Profile>>;
    /// Stores a profile, replacing the one of the same name (case-insensitive), whose place in
    /// the order it keeps. [`crate::StoreError::NotFound`] when the org does not exist.
    async fn put_profile(&self, org: OrgId, profile: Profile) -> StoreResult<()>;
    /// Gives the user the profile `name`; [`crate::StoreError::NotFound`] when the org has no
    /// such user. The caller checks the profile exists.
    async fn set_user_profile(&self, org: OrgId, user: UserId, name: &str) -> StoreResult<()>;
}
