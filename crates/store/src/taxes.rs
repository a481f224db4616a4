//! The org's taxes (see `bulkwrite_core::inventory::tax`): named rates that inventory records
//! and their lines apply, listed by `GET /crm/{v}/org/taxes` and set by `bulkwrite admin taxes`.

use async_trait::async_trait;
use bulkwrite_core::ids::OrgId;
use bulkwrite_core::inventory::tax::OrgTax;

use crate::error::StoreResult;

/// The org's taxes.
#[async_trait]
pub trait TaxStore: Send + Sync {
    /// The org's taxes in their order (`sequence_number` 1, 2, …); empty for an unknown org.
    async fn org_taxes(&self, org: OrgId) -> StoreResult<Vec<OrgTax>>;
    /// Stores a tax: the one of the same name (case-insensitive) gets the new spelling and rate
    /// and keeps its id and place; otherwise a new tax with id `new_id` goes last. Answers the
    /// tax as stored; [`crate::StoreError::NotFound`] when the org does not exist.
    async fn put_tax(&self, org: OrgId, new_id: u64, name: &str, value: f64) -> StoreResult<OrgTax>;
    /// Deletes the tax `id`; the later ones move up one place. `false` when the org has no such tax.
    async fn delete_tax(&self, org: OrgId, id: u64) -> StoreResult<bool>;
}
