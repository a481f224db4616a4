//! `FILE.errors.csv`, written by `bulkwrite import` beside the input: only the rows that were
//! not applied, in the input's own columns, plus an `ERROR` column saying why in words. A user
//! fixes the cells in a spreadsheet and imports the file again (the server maps by header and
//! leaves the `ERROR` column alone). Built from the server's full report
//! (`GET /bulkwrite/v1/jobs/{id}/report`), read line by line.

use std::fs::File;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use anyhow::Context;
use bulkwrite_client::wire::rows::{error_sentence, FIX_FILE_COLUMN};
use bulkwrite_client::{Client, ReportLine};

/// Where the fix file of `input` goes: `{stem}.errors.csv` beside it.
pub fn fix_path(input: &Path) -> PathBuf {
    let stem = input.file_stem().and_then(|s| s.to_str()).unwrap_or("import");
    input.with_file_name(format!("{stem}.errors.csv"))
}

/// The fix file, created with its header when the first failing row arrives.
pub struct FixFile {
    path: PathBuf,
    header: Vec<String>,
    writer: Option<csv::Writer<File>>,
    /// Failing rows written so far.
    pub rows: u64,
}

impl FixFile {
    /// A fix file at `path` for an input with `header`.
    pub fn new(path: PathBuf, header: Vec<String>) -> FixFile {
        FixFile { path, header, writer: None, rows: 0 }
    }

    /// Where it is (or would be).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends the failing rows of job `job_id`, read from its report.
    pub async fn append_job(&mut self, client: &Client, job_id: &str) -> anyhow::Result<()> {
        let mut failed: anyhow::Result<()> = Ok(());
        client
            .report(job_id, |line| match self.write_line(&line) {
                Ok(()) => ControlFlow::Continue(()),
                Err(error) => {
                    failed = Err(error);
                    ControlFlow::Break(())
                }
            })
            .await
            .with_context(|| format!("reading the report of job {job_id}"))?;
        failed
    }

    fn write_line(&mut self, line: &ReportLine) -> anyhow::Result<()> {
        if line.status.is_applied() {
            return Ok(());
        }
        let writer = match self.writer.as_mut() {
            Some(writer) => writer,
            None => {
                let file = File::create(&self.path).with_context(|| format!("writing {}", self.path.display()))?;
                let mut fresh = csv::Writer::from_writer(file);
                let mut header = self.header.clone();
                header.push(FIX_FILE_COLUMN.to_string());
                fresh.write_record(&header)?;
                self.writer.insert(fresh)
            }
        };
        let mut cells: Vec<String> = self
            .header
            .iter()
            .map(|name| line.values.get(name).and_then(|v| v.as_str()).unwrap_or("").to_string())
            .collect();
        let why = if line.errors.is_empty() {
            line.status.sentence().to_string()
        } else {
            line.errors.iter().map(error_sentence).collect::<Vec<_>>().join("; ")
        };
        cells.push(why);
        writer.write_record(&cells)?;
        self.rows += 1;
        Ok(())
    }

    /// Flushes what was written.
    pub fn finish(&mut self) -> anyhow::Result<()> {
        if let Some(writer) = self.writer.as_mut() {
            writer.flush().with_context(|| format!("writing {}", self.path.display()))?;
        }
        Ok(())
    }
}
