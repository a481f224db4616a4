//! What a job does with a file, shared by `import` and `lint`: module, operation, `find_by`,
//! mappings and `ignore_empty`, turned into a [`BulkWriteJob`].

use anyhow::bail;
use bulkwrite_client::BulkWriteJob;
use clap::Args;

/// Options that shape the job.
#[derive(Debug, Clone, Args)]
pub struct JobArgs {
    /// Target module API name, e.g. Leads.
    #[arg(long)]
    pub module: String,
    /// Column mappings `Field=column[:format][@find_by],…`; a column is a 0-based index or a
    /// header name, e.g. `Last_Name=0,Date_3=2:yyyy/MM/dd,Account_Name=4@id`. Without it the
    /// header row names the fields.
    #[arg(long)]
    pub map: Option<String>,
    /// insert, update or upsert.
    #[arg(long, default_value = "insert", value_parser = ["insert", "update", "upsert"])]
    pub operation: String,
    /// The unique field (or `id`) that finds existing records, for update and upsert.
    #[arg(long)]
    pub find_by: Option<String>,
    /// Empty cells leave fields untouched instead of clearing them.
    #[arg(long)]
    pub ignore_empty: bool,
}

impl JobArgs {
    /// The job for an uploaded file whose header is `header`.
    pub fn job(&self, header: &[String], file_id: &str) -> anyhow::Result<BulkWriteJob> {
        let mut job = match self.operation.as_str() {
            "insert" => BulkWriteJob::insert(&self.module, file_id),
            "update" => BulkWriteJob::update(&self.module, file_id),
            "upsert" => BulkWriteJob::upsert(&self.module, file_id),
            other => bail!("--operation must be insert, update or upsert, not {other}"),
        };
        if let Some(find_by) = &self.find_by {
            job = job.find_by(find_by.clone());
        }
        if self.ignore_empty {
            job = job.ignore_empty(true);
        }
        match &self.map {
            Some(map) => add_mappings(map, header, job),
            // A fix file (`FILE.errors.csv`) imported again: its columns map by header as the
            // server's auto-mapping would, all but the trailing `ERROR` it carries for people.
            None if header.last().map(String::as_str) == Some(bulkwrite_client::wire::rows::FIX_FILE_COLUMN) => {
                let mut job = job;
                for (index, name) in header[..header.len() - 1].iter().enumerate() {
                    job = job.map(name.clone(), u32::try_from(index)?);
                }
                Ok(job)
            }
            None => Ok(job),
        }
    }
}

/// Adds `Field=column[:format]` pairs; a column may be a header name.
fn add_mappings(text: &str, header: &[String], mut job: BulkWriteJob) -> anyhow::Result<BulkWriteJob> {
    for item in text.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let Some((field, rest)) = item.split_once('=') else { bail!("--map: '{item}' is not Field=column") };
        let (rest, find_by) = match rest.rsplit_once('@') {
            Some((rest, find_by)) => (rest, Some(find_by.trim().to_string())),
            None => (rest, None),
        };
        let (column, format) = match rest.split_once(':') {
            Some((column, format)) => (column.trim(), Some(format.to_string())),
            None => (rest.trim(), None),
        };
        let index = match column.parse::<u32>() {
            Ok(index) => index,
            Err(_) => match header.iter().position(|h| h == column) {
                Some(index) => index as u32,
                None => bail!("--map: '{column}' is neither a column number nor a header of the file"),
            },
        };
        job = if format.is_none() && find_by.is_none() {
            job.map(field.trim(), index)
        } else {
            job.map_with(field.trim(), index, |mut mapping| {
                if let Some(format) = format {
                    mapping = mapping.format(format);
                }
                if let Some(find_by) = find_by {
                    mapping = mapping.find_by(find_by);
                }
                mapping
            })
        };
    }
    Ok(job)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bulkwrite_client::ApiVersion;

    fn args(map: &str) -> JobArgs {
        JobArgs {
            module: "Leads".into(),
            map: Some(map.into()),
            operation: "upsert".into(),
            find_by: Some("Email".into()),
            ignore_empty: true,
        }
    }

    #[test]
    fn mappings_take_indexes_header_names_and_formats() {
        let header = vec!["Name".to_string(), "Mail".to_string(), "Born".to_string()];
        let job = args("Last_Name=0, Email=Mail,Date_3=2:yyyy/MM/dd,Account_Name=Name@id").job(&header, "111").unwrap();
        let body = serde_json::to_value(job.to_request(ApiVersion::V2)).unwrap();
        let mappings = &body["resource"][0]["field_mappings"];
        assert_eq!(mappings[0]["api_name"], "Last_Name");
        assert_eq!(mappings[0]["index"], 0);
        assert_eq!(mappings[1]["index"], 1);
        assert_eq!(mappings[2]["format"], "yyyy/MM/dd");
        assert_eq!(mappings[3]["find_by"], "id");
        assert_eq!(mappings[3]["index"], 0);
        assert_eq!(body["operation"], "upsert");
        assert_eq!(body["resource"][0]["find_by"], "Email");
        assert_eq!(body["ignore_empty"], true);
    }

    #[test]
    fn unknown_columns_and_bad_pairs_are_refused() {
        let header = vec!["Name".to_string()];
        let error = args("Last_Name=Surname").job(&header, "1").unwrap_err().to_string();
        assert!(error.contains("neither a column number nor a header"), "{error}");
        let error = args("Last_Name").job(&header, "1").unwrap_err().to_string();
        assert!(error.contains("is not Field=column"), "{error}");
    }
}
