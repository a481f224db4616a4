//! Inventory in a job: line-item rows get their product's price, Zoho's line rules and computed
//! amounts before their chunk is applied; once every resource ran, each inventory record the job
//! touched gets its totals from its stored lines (see `bulkwrite_core::inventory`). Totals are
//! derived from stored state, so a resumed job computes them the same way.

use std::collections::HashMap;

use bulkwrite_core::ids::RecordId;
use bulkwrite_core::inventory::{
    check_price_ranges, fill_from_stored, line_item_module, line_item_parent, lookup_id, price_lines,
};
use bulkwrite_core::jobspec::ResourceSpec;
use bulkwrite_core::mapping::{FindKey, RowDraft};
use bulkwrite_core::schema::OrgSchema;
use bulkwrite_store::inventory::{changed_totals, line_catalogue};
use bulkwrite_store::{Job, RecordWrite};
use bulkwrite_wire::Operation;

use crate::pipeline::{with_retries, Stop};
use crate::WorkerContext;

/// Result rows read per page, and inventory records updated per write.
const PAGE: u32 = 5000;
const WRITE_BATCH: usize = 100;

/// The CSV column each mapped field is read from.
fn columns(resource: &ResourceSpec) -> HashMap<String, String> {
    resource
        .mappings
        .iter()
        .map(|m| {
            let header = m.index.and_then(|i| resource.header.get(i as usize)).filter(|h| !h.is_empty());
            (m.api_name.clone(), header.cloned().unwrap_or_else(|| m.api_name.clone()))
        })
        .collect()
}

/// Prices a chunk of line items (or checks a chunk of price ranges); other modules pass.
pub(crate) async fn check_chunk(
    ctx: &WorkerContext,
    job: &Job,
    resource: &ResourceSpec,
    module: &str,
    rows: &mut [RowDraft],
) -> Result<(), Stop> {
    if module == "Pricing_Details" {
        check_price_ranges(rows, &columns(resource));
        return Ok(());
    }
    if line_item_parent(module).is_none() {
        return Ok(());
    }
    if job.spec.operation != Operation::Insert {
        for row in rows.iter_mut().filter(|row| row.errors.is_empty()) {
            let Some(FindKey::Id { id, .. }) = &row.find_key else { continue };
            let id = *id;
            if let Some(stored) = with_retries(|| ctx.store.get_record(job.org, module, id)).await? {
                fill_from_stored(row, &stored.values);
            }
        }
    }
    let lines: &[RowDraft] = rows;
    let catalogue = with_retries(|| line_catalogue(ctx.store.as_ref(), job.org, lines)).await?;
    price_lines(rows, &catalogue, &columns(resource));
    Ok(())
}

/// Record ids of a resource's result rows.
async fn result_records(ctx: &WorkerContext, job: &Job, resource: usize) -> Result<Vec<RecordId>, Stop> {
    let mut ids = Vec::new();
    let mut after = 0;
    loop {
        let rows = with_retries(|| ctx.store.result_rows(job.org, job.id, resource, after, PAGE)).await?;
        ids.extend(rows.iter().filter_map(|row| row.record_id));
        match rows.last() {
            Some(last) if rows.len() == PAGE as usize => after = last.row_no,
            _ => break,
        }
    }
    Ok(ids)
}

/// Writes the totals of every inventory record the job wrote (its first resource) or wrote
/// lines of (a line-item job on its own). A dry run changes nothing.
pub(crate) async fn update_totals(ctx: &WorkerContext, job: &Job, schema: &OrgSchema) -> Result<(), Stop> {
    let Some(first) = job.spec.resources.first() else { return Ok(()) };
    let Some(module) = schema.module(&first.module) else { return Ok(()) };
    if job.spec.dry_run {
        return Ok(());
    }
    let (parent, lines, mut parents) = if let Some(lines) = line_item_module(&module.api_name) {
        (module.api_name.clone(), lines, result_records(ctx, job, 0).await?)
    } else if let Some(parent) = line_item_parent(&module.api_name) {
        let mut parents = Vec::new();
        for id in result_records(ctx, job, 0).await? {
            let line = with_retries(|| ctx.store.get_record(job.org, &module.api_name, id)).await?;
            parents.extend(line.and_then(|l| lookup_id(l.values.get("Parent_Id"))));
        }
        (parent.to_string(), line_item_module(parent).unwrap_or_default(), parents)
    } else {
        return Ok(());
    };
    parents.sort_unstable();
    parents.dedup();
    let mut rows = Vec::new();
    for id in parents {
        let changed = with_retries(|| changed_totals(ctx.store.as_ref(), job.org, (&parent, lines), id)).await?;
        let Some(totals) = changed else { continue };
        let mut row = RowDraft::new(rows.len() as u64 + 1, Vec::new());
        row.values = totals.into();
        row.find_key = Some(FindKey::Id { id, column: "id".into() });
        rows.push(row);
        if rows.len() == WRITE_BATCH {
            write_totals(ctx, job, &parent, std::mem::take(&mut rows)).await?;
        }
    }
    if !rows.is_empty() {
        write_totals(ctx, job, &parent, rows).await?;
    }
    Ok(())
}

async fn write_totals(ctx: &WorkerContext, job: &Job, module: &str, rows: Vec<RowDraft>) -> Result<(), Stop> {
    let write = RecordWrite {
        module: module.to_string(),
        operation: Operation::Update,
        rows,
        default_owner: job.created_by,
        default_layout: None,
        actor: job.created_by,
        now: ctx.now(),
        full_name: false,
    };
    // One attempt: the rows move into the write (a failure gives the job back, and the resumed
    // run computes the totals again from the stored lines).
    ctx.store.write_records(job.org, write).await?;
    Ok(())
}
