//! The job beside the floor, run by run on the same file: the floor's whole job, then the same
//! file through a fresh server (insert, then upsert by Email over the records it created). Every
//! run gets a fresh data directory (and, on PostgreSQL, a fresh database), since the file's
//! emails are unique and a second insert of it would only find duplicates.

use std::path::Path;

use serde_json::Value;

use super::callbacks::CallbackReceiver;
use super::cpu::{wal_mib, wal_position};
use super::floor::{self, InputFile};
use super::summary::Size;
use super::trip::{mappings_for, round_trip, ServerProcess};
use super::{BenchArgs, Printer, ScratchDatabase};

/// Columns the job leaves unmapped: `gen_leads.py`'s owners are the floor's 20 made-up user ids,
/// unknown to a fresh server (its records then belong to the bench's user).
pub(super) const UNMAPPED: &[&str] = &["Owner"];

/// All runs of one file.
pub async fn bench_file(
    args: &BenchArgs,
    input: &InputFile,
    floor_binary: Option<&Path>,
    http: &reqwest::Client,
    callbacks: &mut CallbackReceiver,
    printer: &Printer,
) -> anyhow::Result<Size> {
    let zip = std::fs::read(&input.zip)?;
    let mappings: Vec<Value> = mappings_for(input.header.iter().map(String::as_str), UNMAPPED);
    let mut size = Size { rows: input.rows, ..Size::default() };
    // The floor's own database on PostgreSQL: one per size, its tables made again every run.
    let floor_database = match (&args.database_url, floor_binary) {
        (Some(url), Some(_)) => Some(ScratchDatabase::create(url).await?),
        _ => None,
    };
    let outcome = async {
        for run in 1..=args.runs {
            if let Some(binary) = floor_binary {
                let scratch = tempfile::tempdir()?;
                let url = floor_database.as_ref().map(|d| d.url.clone());
                let wal_before = wal_position(url.as_deref()).await;
                let measured = tokio::task::spawn_blocking({
                    let (binary, zip, dir) = (binary.to_path_buf(), input.zip.clone(), scratch.path().to_path_buf());
                    let url = url.clone();
                    move || floor::run(&binary, &zip, &dir, url.as_deref())
                })
                .await??;
                let wal = wal_mib(wal_before, wal_position(url.as_deref()).await);
                let wal_line = wal.map_or_else(String::new, |wal| format!(" (WAL {wal:.0} MiB)"));
                printer.line(format_args!("run {run}: floor {:.1} ms{wal_line}", measured.ms));
                size.floor_ms.push(measured.ms);
                size.floor_peak_rss_mib.extend(measured.peak_rss_mib);
                size.floor_wal_mib.extend(wal);
            }
            job_run(args, input, &zip, &mappings, http, callbacks, printer, run, &mut size).await?;
        }
        anyhow::Ok(())
    }
    .await;
    if let Some(database) = floor_database {
        database.drop_now().await?;
    }
    outcome?;
    Ok(size)
}

/// One run of the job: a fresh server, the insert, the upsert, the server's peak memory.
#[allow(clippy::too_many_arguments)]
async fn job_run(
    args: &BenchArgs,
    input: &InputFile,
    zip: &[u8],
    mappings: &[Value],
    http: &reqwest::Client,
    callbacks: &mut CallbackReceiver,
    printer: &Printer,
    run: usize,
    size: &mut Size,
) -> anyhow::Result<()> {
    let database = match &args.database_url {
        Some(url) => Some(ScratchDatabase::create(url).await?),
        None => None,
    };
    let outcome = async {
        let dir = tempfile::tempdir()?;
        let server = ServerProcess::start(dir.path(), input.rows, database.as_ref().map(|d| d.url.as_str()))?;
        let insert = round_trip(http, &server, callbacks, zip.to_vec(), "insert", mappings).await?;
        printer.line(format_args!(
            "run {run}: insert {:.1} ms ({}; server job {:.0} ms; added {}, skipped {})",
            insert.total,
            insert.phases(),
            insert.server_job,
            insert.added,
            insert.skipped
        ));
        size.skipped.push(insert.skipped);
        size.insert_ms.push(insert.total);
        size.insert_server_job_ms.push(insert.server_job);
        size.insert_server_cpu_ms.extend(insert.server_cpu);
        size.insert_database_cpu_ms.extend(insert.database_cpu);
        size.insert_wal_mib.extend(insert.wal_mib);
        if args.upsert {
            let upsert = round_trip(http, &server, callbacks, zip.to_vec(), "upsert", mappings).await?;
            printer.line(format_args!(
                "run {run}: upsert {:.1} ms ({}; server job {:.0} ms; updated {}, skipped {})",
                upsert.total,
                upsert.phases(),
                upsert.server_job,
                upsert.updated,
                upsert.skipped
            ));
            size.upsert_ms.push(upsert.total);
            size.upsert_server_job_ms.push(upsert.server_job);
            size.upsert_server_cpu_ms.extend(upsert.server_cpu);
            size.upsert_database_cpu_ms.extend(upsert.database_cpu);
            size.upsert_wal_mib.extend(upsert.wal_mib);
        }
        size.peak_rss_mib.extend(server.peak_rss_mib());
        anyhow::Ok(())
    }
    .await;
    if let Some(database) = database {
        database.drop_now().await?;
    }
    outcome
}
