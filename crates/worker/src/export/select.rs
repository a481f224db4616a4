//! What the export reads: the records of its module matching its criteria, by id after the
//! last committed part (keyset, never an offset past the first part), selected inside the store.

use bulkwrite_core::ids::RecordId;
use bulkwrite_core::query::{Filter, Select};
use bulkwrite_core::readspec::{criteria_filter, ReadSpec};
use bulkwrite_core::schema::Module;
use bulkwrite_store::{Job, RecordQuery, RecordSort, StoreError, StoredRecord};

use crate::WorkerContext;

/// The export's filter on its module.
pub(crate) struct RecordFilter {
    module: String,
    filter: Filter,
}

impl RecordFilter {
    /// The filter of the job's criteria; `Err` says why they no longer apply (the schema changed
    /// since the job was created), as [`bulkwrite_store::read_failure`] keeps it.
    pub(crate) fn build(module: &Module, spec: &ReadSpec, time_zone: chrono_tz::Tz) -> Result<RecordFilter, String> {
        let filter = criteria_filter(module, spec.criteria.as_ref(), time_zone)
            .map_err(|error| bulkwrite_store::read_failure(&error))?;
        Ok(RecordFilter { module: module.api_name.clone(), filter })
    }

    /// Up to `limit` matching records with ids after `after`, in id order, skipping `skip`.
    pub(crate) async fn select(
        &self,
        ctx: &WorkerContext,
        job: &Job,
        after: Option<u64>,
        skip: u64,
        limit: u32,
    ) -> Result<Vec<StoredRecord>, StoreError> {
        let select = Select {
            filter: self.filter.clone(),
            order_by: Vec::new(),
            after_id: after.map(RecordId::new),
            offset: skip,
            limit,
        };
        ctx.store.select_records(job.org, &self.module, &select).await
    }
}

/// Records of `module` with these ids (the targets of a part's lookups).
pub(crate) async fn records_by_id(
    ctx: &WorkerContext,
    job: &Job,
    module: &str,
    ids: &[RecordId],
) -> Result<Vec<StoredRecord>, StoreError> {
    let query = RecordQuery {
        page: 1,
        per_page: ids.len() as u32,
        sort_by: RecordSort::Id,
        descending: false,
        ids: Some(ids.to_vec()),
        offset: None,
    };
    Ok(ctx.store.list_records(job.org, module, &query).await?.records)
}
