//! How backends store a chunk's result rows: one JSON array per chunk, so a chunk writes one
//! row instead of hundreds, and reading expands them back in input order. A chunk with failed
//! rows also stores their reasons (field, cell, sentence), beside it in `job_row_reasons`, for
//! the full error report. Shared, so both backends keep the same encoding.

use bulkwrite_core::ids::RecordId;
use bulkwrite_core::result::{ErrorsCell, ReportError, ResultRow, RowStatus};

use crate::{StoreError, StoreResult};

/// Encodes a chunk's result rows as `[[row_no, status, record_id, errors, [echo cells]], …]`.
pub fn encode(rows: &[ResultRow]) -> StoreResult<String> {
    String::from_utf8(write_rows(rows, true)?.text).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// A chunk's result rows encoded before their record ids are final: [`encode`]'s text with
/// `null` where each id goes, and where, with the provisional id it stands for. A store whose
/// writer reserves the ids encodes the rows beforehand, on another thread, and the writer only
/// puts the ids in ([`EncodedApart::with_ids`]): encoding the rows on SQLite's writer was 6% of
/// its time in the 1,000,000-row insert.
#[derive(Debug)]
pub struct EncodedApart {
    text: Vec<u8>,
    ids: Vec<(usize, u64)>,
}

/// [`encode`] of `rows`, their record ids left apart (see [`EncodedApart`]).
pub fn encode_apart(rows: &[ResultRow]) -> StoreResult<EncodedApart> {
    write_rows(rows, false)
}

/// The one writer of the stored form: each row's record id written in place (`with_ids`), or
/// `null` with its place and id kept apart (then `ids` lists them).
fn write_rows(rows: &[ResultRow], with_ids: bool) -> StoreResult<EncodedApart> {
    let corrupt = |e: serde_json::Error| StoreError::Corrupt(e.to_string());
    let mut text = Vec::with_capacity(2 + rows.len() * 64);
    let mut ids = Vec::new();
    text.push(b'[');
    for (at, row) in rows.iter().enumerate() {
        if at > 0 {
            text.push(b',');
        }
        text.push(b'[');
        serde_json::to_writer(&mut text, &row.row_no).map_err(corrupt)?;
        text.push(b',');
        serde_json::to_writer(&mut text, &row.status).map_err(corrupt)?;
        text.push(b',');
        match row.record_id {
            Some(id) if with_ids => serde_json::to_writer(&mut text, &id.get()).map_err(corrupt)?,
            Some(id) => {
                ids.push((text.len(), id.get()));
                text.extend_from_slice(b"null");
            }
            None => text.extend_from_slice(b"null"),
        }
        text.push(b',');
        serde_json::to_writer(&mut text, &row.errors).map_err(corrupt)?;
        text.push(b',');
        serde_json::to_writer(&mut text, &row.echo).map_err(corrupt)?;
        text.push(b']');
    }
    text.push(b']');
    Ok(EncodedApart { text, ids })
}

impl EncodedApart {
    /// [`encode`]'s text of the rows, each provisional id `id` written as `final_id(id)`.
    pub fn with_ids(&self, final_id: impl Fn(u64) -> u64) -> StoreResult<String> {
        let mut text = Vec::with_capacity(self.text.len() + self.ids.len() * 20);
        let mut from = 0;
        for &(at, id) in &self.ids {
            text.extend_from_slice(&self.text[from..at]);
            serde_json::to_writer(&mut text, &final_id(id)).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            from = at + "null".len();
        }
        text.extend_from_slice(&self.text[from..]);
        String::from_utf8(text).map_err(|e| StoreError::Corrupt(e.to_string()))
    }
}

/// Encodes the reasons of a chunk's failed rows as `[[row_no, [reason, …]], …]`; `None` when no
/// row of the chunk failed (nothing is stored then).
pub fn encode_reasons(rows: &[ResultRow]) -> StoreResult<Option<String>> {
    let items: Vec<(u64, &[ReportError])> =
        rows.iter().filter(|row| !row.reasons.is_empty()).map(|row| (row.row_no, &row.reasons[..])).collect();
    if items.is_empty() {
        return Ok(None);
    }
    serde_json::to_string(&items).map(Some).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// `[row_no, status, record_id, errors, echo]` as stored.
type StoredRow = (u64, RowStatus, Option<u64>, ErrorsCell, Vec<String>);

/// Appends the rows of one encoded chunk with `row_no > after` to `out`, until it holds `limit`,
/// each with its reasons when the chunk stored them.
pub fn decode(
    text: &str,
    reasons: Option<&str>,
    out: &mut Vec<ResultRow>,
    after: u64,
    limit: usize,
) -> StoreResult<()> {
    let items: Vec<StoredRow> = serde_json::from_str(text).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let reasons: Vec<(u64, Vec<ReportError>)> = match reasons {
        Some(text) => serde_json::from_str(text).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        None => Vec::new(),
    };
    let mut reasons = reasons.into_iter().peekable();
    for (row_no, status, record_id, errors, echo) in items {
        let mut row_reasons = Vec::new();
        while let Some((reason_row, _)) = reasons.peek() {
            if *reason_row > row_no {
                break;
            }
            let (reason_row, found) = reasons.next().expect("peeked");
            if reason_row == row_no {
                row_reasons = found;
            }
        }
        if row_no <= after || out.len() >= limit {
            continue;
        }
        out.push(ResultRow {
            row_no,
            echo,
            status,
            record_id: record_id.map(RecordId::new),
            errors,
            reasons: row_reasons,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use bulkwrite_core::result::{RowError, RowErrorCode};

    use super::*;

    fn row(row_no: u64, status: RowStatus) -> ResultRow {
        let errors = if status == RowStatus::Skipped {
            vec![RowError::new(RowErrorCode::InvalidData, "Email").on("Email", format!("bad {row_no}")).because("no @")]
        } else {
            Vec::new()
        };
        ResultRow {
            row_no,
            echo: vec![format!("cell {row_no}")],
            status,
            record_id: (status == RowStatus::Added).then(|| RecordId::new(500 + row_no)),
            errors: bulkwrite_core::result::errors_cell(&errors),
            reasons: errors.iter().map(RowError::to_report).collect(),
        }
    }

    #[test]
    fn rows_round_trip_from_a_cursor_with_their_reasons() {
        let rows = vec![row(1, RowStatus::Added), row(2, RowStatus::Skipped), row(3, RowStatus::Added)];
        let reasons = encode_reasons(&rows).unwrap().unwrap();
        let mut out = Vec::new();
        decode(&encode(&rows).unwrap(), Some(&reasons), &mut out, 1, 10).unwrap();
        assert_eq!(out, rows[1..]);
        assert_eq!(out[0].reasons[0].value, "bad 2");
        assert!(encode_reasons(&rows[..1]).unwrap().is_none());
        // Without the reasons (a chunk stored before them) the rows still read, reasons empty.
        let mut bare = Vec::new();
        decode(&encode(&rows).unwrap(), None, &mut bare, 0, 10).unwrap();
        assert_eq!(bare[1].errors, rows[1].errors);
        assert!(bare[1].reasons.is_empty());
        assert!(decode("[[1, \"LOST\", null, \"\", []]]", None, &mut Vec::new(), 0, 10).is_err());
        assert!(decode("[[1, \"SKIPPED\", null, \"LOST-Email\", []]]", None, &mut Vec::new(), 0, 10).is_err());
        // Encoded apart, with the ids put in after: the same text.
        let mut provisional = rows.clone();
        for row in &mut provisional {
            row.record_id = row.record_id.map(|id| RecordId::new(id.get() - 500));
        }
        let apart = encode_apart(&provisional).unwrap();
        assert_eq!(apart.with_ids(|id| id + 500).unwrap(), encode(&rows).unwrap());
        assert_eq!(encode_apart(&[]).unwrap().with_ids(|id| id).unwrap(), encode(&[]).unwrap());
        // The stored form itself: rows written by earlier versions read back the same way.
        assert_eq!(
            encode(&rows[..2]).unwrap(),
            r#"[[1,"ADDED",501,"",["cell 1"]],[2,"SKIPPED",null,"INVALID_DATA-Email",["cell 2"]]]"#
        );
    }
}
