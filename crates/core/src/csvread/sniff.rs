//! Delimiter detection from the header line, and the "blank line" rules shared with the reader.

/// Delimiters Zoho accepts, in tie-break order.
pub(super) const DELIMITERS: [u8; 4] = [b',', b';', b':', b'|'];

/// Builds the CSV dialect used for every read: RFC 4180, ragged rows allowed, no header handling.
pub(super) fn csv_builder(delimiter: u8) -> csv::ReaderBuilder {
    let mut builder = csv::ReaderBuilder::new();
    builder.delimiter(delimiter).flexible(true).has_headers(false);
    builder
}

/// Picks the delimiter of the header line found in the decoded `text` (a bounded prefix).
///
/// For each candidate, the text is parsed as CSV with that delimiter (so quotes, `""` escapes and
/// quoted newlines count exactly as the reader will later see them), and the header line's
/// delimiters outside quotes are counted. Most wins; ties go to the earlier candidate; `,` if none.
pub(super) fn sniff_delimiter(text: &[u8]) -> u8 {
    let mut best = (b',', 0);
    for delimiter in DELIMITERS {
        let count = header_width(text, delimiter).saturating_sub(1);
        if count > best.1 {
            best = (delimiter, count);
        }
    }
    best.0
}

/// Cells of the first non-blank record of `text` read with `delimiter`; 0 if none.
fn header_width(text: &[u8], delimiter: u8) -> usize {
    let mut reader = csv_builder(delimiter).from_reader(text);
    let mut record = csv::ByteRecord::new();
    while let Ok(true) = reader.read_byte_record(&mut record) {
        if !record.iter().all(|cell| is_blank_header_cell(&String::from_utf8_lossy(cell))) {
            return record.len();
        }
    }
    0
}

/// Whether a cell cannot be part of a header line: only whitespace, BOMs and delimiter characters.
///
/// Lines made only of such cells (`,,,`, `;;`, spaces) are skipped before the header, whichever
/// delimiter is tried, so every candidate looks at the same header line.
pub(super) fn is_blank_header_cell(cell: &str) -> bool {
    cell.chars().all(|c| c.is_whitespace() || matches!(c, '\u{feff}' | ',' | ';' | ':' | '|'))
}

/// Whether a data row carries nothing: every cell empty or whitespace.
pub(super) fn is_blank_row(row: &csv::StringRecord) -> bool {
    row.iter().all(|cell| cell.trim().is_empty())
}
