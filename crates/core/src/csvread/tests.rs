//! Unit and property tests of the CSV reader.

use std::io::{self, Read};

use proptest::prelude::*;

use super::decode::SNIFF_BYTES;
use super::sniff::DELIMITERS;
use super::*;

/// What a successful read of a whole file gave.
#[derive(Debug, PartialEq)]
struct Read_ {
    encoding: String,
    delimiter: char,
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

fn read_all_from(reader: impl Read, requested: Option<&str>, max_columns: usize) -> Result<Read_, CsvError> {
    let mut csv = CsvRows::open(reader, requested, max_columns)?;
    let mut row = StringRecord::new();
    let mut rows = Vec::new();
    while csv.read_row(&mut row)? {
        rows.push(row.iter().map(str::to_string).collect::<Vec<_>>());
        assert_eq!(csv.rows_read(), u64::try_from(rows.len()).unwrap());
    }
    Ok(Read_ {
        encoding: csv.encoding_name().to_string(),
        delimiter: char::from(csv.delimiter()),
        header: csv.header().to_vec(),
        rows,
    })
}

fn read_all(bytes: &[u8], requested: Option<&str>) -> Read_ {
    read_all_from(bytes, requested, 200).unwrap_or_else(|error| panic!("{bytes:?}: {error}"))
}

fn strings(cells: &[&str]) -> Vec<String> {
    cells.iter().map(|cell| cell.to_string()).collect()
}

fn utf16(text: &str, big_endian: bool) -> Vec<u8> {
    let bom: &[u8] = if big_endian { &[0xFE, 0xFF] } else { &[0xFF, 0xFE] };
    let units = text.encode_utf16();
    let body = units.flat_map(|unit| if big_endian { unit.to_be_bytes() } else { unit.to_le_bytes() });
    bom.iter().copied().chain(body).collect()
}

/// Name, file bytes, requested encoding, reported encoding, the one data row.
type EncodingCase = (&'static str, Vec<u8>, Option<&'static str>, &'static str, [&'static str; 2]);

#[test]
fn encodings_are_detected_or_taken_from_the_request() {
    let utf8 = "Name,City\nMüller,Köln\n";
    let latin1 = b"Name,City\nM\xFCller,K\xF6ln\n".to_vec();
    let with_bom = [b"\xEF\xBB\xBF".as_slice(), utf8.as_bytes()].concat();
    let cases: Vec<EncodingCase> = vec![
        ("utf-8", utf8.as_bytes().to_vec(), None, "UTF-8", ["Müller", "Köln"]),
        ("utf-8 bom", with_bom.clone(), None, "UTF-8", ["Müller", "Köln"]),
        ("utf-16le bom", utf16(utf8, false), None, "UTF-16LE", ["Müller", "Köln"]),
        ("utf-16be bom", utf16(utf8, true), None, "UTF-16BE", ["Müller", "Köln"]),
        ("iso-8859-1", latin1.clone(), None, "ISO-8859-1", ["Müller", "Köln"]),
        ("windows-1252", b"Name,City\n\x805,K\xF6ln\n".to_vec(), None, "windows-1252", ["€5", "Köln"]),
        ("request latin1 over utf-8", utf8.as_bytes().to_vec(), Some("ISO-8859-1"), "ISO-8859-1", ["MÃ¼ller", "KÃ¶ln"]),
        ("request utf-8 over latin1", latin1.clone(), Some("UTF-8"), "UTF-8", ["M\u{FFFD}ller", "K\u{FFFD}ln"]),
        ("label as written", latin1.clone(), Some(" latin1 "), " latin1 ", ["Müller", "Köln"]),
        ("UTF8", utf8.as_bytes().to_vec(), Some("UTF8"), "UTF8", ["Müller", "Köln"]),
        ("cp1252", b"Name,City\n\x80,x\n".to_vec(), Some("cp1252"), "cp1252", ["€", "x"]),
        ("latin_1 underscore", latin1.clone(), Some("ISO_8859-1"), "ISO_8859-1", ["Müller", "Köln"]),
        ("latin-1 alias", latin1.clone(), Some("Latin-1"), "Latin-1", ["Müller", "Köln"]),
        ("utf-16 is le", utf16(utf8, false)[2..].to_vec(), Some("UTF-16"), "UTF-16", ["Müller", "Köln"]),
        ("bom beats request", utf16(utf8, true), Some("UTF-16"), "UTF-16", ["Müller", "Köln"]),
        ("bom removed under request", with_bom, Some("utf-8"), "utf-8", ["Müller", "Köln"]),
        ("blank request detects", latin1, Some("  "), "ISO-8859-1", ["Müller", "Köln"]),
    ];
    for (name, bytes, requested, encoding, row) in cases {
        let read = read_all(&bytes, requested);
        assert_eq!(read.encoding, encoding, "{name}");
        assert_eq!(read.header, ["Name", "City"], "{name}");
        assert_eq!(read.rows, [strings(&row)], "{name}");
    }
}

#[test]
fn unknown_encodings_are_refused() {
    for label in ["klingon", "iso-2022-kr", "utf-9"] {
        let result = CsvRows::open(&b"a\n1\n"[..], Some(label), 200);
        assert!(matches!(result, Err(CsvError::UnknownEncoding(ref l)) if l == label), "{label}");
    }
}

#[test]
fn detection_looks_at_a_bounded_prefix() {
    let ascii = format!("Name\n{}\n", "a".repeat(SNIFF_BYTES));
    let cases: Vec<(&str, Vec<u8>, &str, &str)> = vec![
        // Invalid UTF-8 past the sniff window decodes as U+FFFD.
        ("late invalid utf-8", [ascii.as_bytes(), b"M\xFCller\n"].concat(), "UTF-8", "M\u{FFFD}ller"),
        // A character cut by the window edge is not mistaken for Latin-1.
        (
            "utf-8 across window edge",
            [&b"Name\n"[..], &[b'a'; SNIFF_BYTES - 6], "é\nMüller\n".as_bytes()].concat(),
            "UTF-8",
            "Müller",
        ),
        // But a lone lead byte at the very end of a small file is Latin-1.
        ("lead byte at end", b"Name\nCaf\xE9".to_vec(), "ISO-8859-1", "Café"),
    ];
    for (name, bytes, encoding, last) in cases {
        let read = read_all(&bytes, None);
        assert_eq!(read.encoding, encoding, "{name}");
        assert_eq!(read.rows.last().map(|row| row[0].as_str()), Some(last), "{name}");
    }
}

#[test]
fn delimiter_comes_from_the_header_line() {
    let cases: [(&str, &str, char, &[&str]); 14] = [
        ("comma", "a,b\n1,2\n", ',', &["a", "b"]),
        ("semicolon", "a;b\n1;2\n", ';', &["a", "b"]),
        ("colon", "a:b\n1:2\n", ':', &["a", "b"]),
        ("pipe", "a|b\n1|2\n", '|', &["a", "b"]),
        ("none is comma", "a\n1\n", ',', &["a"]),
        ("most frequent", "a;b;c,d\n", ';', &["a", "b", "c,d"]),
        ("tie comma first", "a,b;c\n", ',', &["a", "b;c"]),
        ("tie in order", "a|b:c\n", ':', &["a|b", "c"]),
        ("quoted ignored", "\"x;y;z\",b\n", ',', &["x;y;z", "b"]),
        ("quoted newline", "\"x\n;;\",b\n", ',', &["x\n;;", "b"]),
        ("escaped quotes", "\"x\"\";;\"\"\",b\n", ',', &["x\";;\"", "b"]),
        ("blank lines first", "\n \r\n\t\na;b\n", ';', &["a", "b"]),
        ("delimiter-only lines first", ",,,\n;;\na|b\n", '|', &["a", "b"]),
        ("header only decides", "a,b\n1;2;3;4\n", ',', &["a", "b"]),
    ];
    for (name, text, delimiter, header) in cases {
        let read = read_all(text.as_bytes(), None);
        assert_eq!(read.delimiter, delimiter, "{name}");
        assert_eq!(read.header, strings(header), "{name}");
    }
}

#[test]
fn rows_follow_rfc_4180() {
    let cases: [(&str, &str, &[&[&str]]); 14] = [
        ("quoted delimiter", "Name,Other\n\"Smith, John\",x\n", &[&["Smith, John", "x"]]),
        ("quoted semicolon", "a;b\n\"1;2\";3\n", &[&["1;2", "3"]]),
        ("embedded newline", "a,b\n\"line1\nline2\",x\n", &[&["line1\nline2", "x"]]),
        ("embedded crlf", "a,b\r\n\"l1\r\nl2\",x\r\n", &[&["l1\r\nl2", "x"]]),
        ("crlf", "a,b\r\n1,2\r\n3,4\r\n", &[&["1", "2"], &["3", "4"]]),
        ("cr only", "a,b\r1,2\r3,4", &[&["1", "2"], &["3", "4"]]),
        ("no trailing newline", "a,b\n1,2", &[&["1", "2"]]),
        ("ragged", "a,b,c\n1\n1,2,3,4\n", &[&["1"], &["1", "2", "3", "4"]]),
        ("trailing empty lines", "a\n1\n\n\n\r\n", &[&["1"]]),
        ("delimiter-only rows skipped", "a,b\n,\n , \n1,2\n,,,,\n", &[&["1", "2"]]),
        ("whitespace rows skipped", "a\n  \n\t\n\"\"\n2\n", &[&["2"]]),
        ("doubled quotes", "a\n\"say \"\"hi\"\"\"\n", &[&["say \"hi\""]]),
        ("stray quote kept", "a,b\nx\"y,z\n", &[&["x\"y", "z"]]),
        ("data cells not trimmed", "a,b\n 1 , 2\n", &[&[" 1 ", " 2"]]),
    ];
    for (name, text, rows) in cases {
        let read = read_all(text.as_bytes(), None);
        let expected: Vec<Vec<String>> = rows.iter().map(|row| strings(row)).collect();
        assert_eq!(read.rows, expected, "{name}");
    }
}

#[test]
fn header_cells_are_cleaned() {
    let cases: [(&str, &[u8], &[&str]); 4] = [
        ("bom and spaces", b"\xEF\xBB\xBF Last_Name , Email \n", &["Last_Name", "Email"]),
        ("quoted spaces", b"\" A \",\tB\t\n", &["A", "B"]),
        ("after blank lines", b"\r\n\r\n Email\r\n", &["Email"]),
        ("stray inner bom", b"\xEF\xBB\xBF\xEF\xBB\xBFName\n", &["Name"]),
    ];
    for (name, bytes, header) in cases {
        assert_eq!(read_all(bytes, None).header, strings(header), "{name}");
    }
}

#[test]
fn header_errors() {
    let cases: [(&str, &[u8], usize, &str); 8] = [
        ("empty", b"", 200, "NoHeader"),
        ("blank lines", b"\n\r\n  \n", 200, "NoHeader"),
        ("delimiters only", b",,,\n;\n", 200, "NoHeader"),
        ("utf-8 bom only", b"\xEF\xBB\xBF", 200, "NoHeader"),
        ("utf-16 bom only", b"\xFF\xFE\n\x00", 200, "NoHeader"),
        ("too many", b"a,b,c\n1,2,3\n", 2, "TooManyColumns 3/2"),
        ("at the limit", b"a,b\n", 2, "ok"),
        ("zero allowed", b"a\n", 0, "TooManyColumns 1/0"),
    ];
    for (name, bytes, max_columns, expected) in cases {
        let outcome = match CsvRows::open(bytes, None, max_columns) {
            Ok(_) => "ok".to_string(),
            Err(CsvError::NoHeader) => "NoHeader".to_string(),
            Err(CsvError::TooManyColumns { found, limit }) => {
                format!("TooManyColumns {found}/{limit}")
            }
            Err(other) => format!("{other:?}"),
        };
        assert_eq!(outcome, expected, "{name}");
    }
}

/// A reader that yields `data` and then fails.
struct FailAfter<'a> {
    data: &'a [u8],
}

impl Read for FailAfter<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.data.is_empty() {
            return Err(io::Error::other("disk on fire"));
        }
        self.data.read(buf)
    }
}

#[test]
fn errors_carry_the_data_row() {
    let mut csv = CsvRows::open(FailAfter { data: b"a\n\n1\n \n2\n3" }, None, 200);
    // The sniff window hits the failure first: reported as a plain I/O error.
    assert!(matches!(csv, Err(CsvError::Io(_))), "{csv:?}");

    let body = format!("a\n1\n\n2\n{}", "x".repeat(3 * SNIFF_BYTES));
    csv = CsvRows::open(FailAfter { data: body.as_bytes() }, None, 200);
    let mut csv = csv.unwrap();
    let mut row = StringRecord::new();
    assert!(csv.read_row(&mut row).unwrap());
    assert!(csv.read_row(&mut row).unwrap());
    assert_eq!(csv.rows_read(), 2);
    let error = csv.read_row(&mut row).unwrap_err();
    assert!(matches!(error, CsvError::Read { row: Some(3), .. }), "{error:?}");
    assert!(error.to_string().contains("at data row 3"), "{error}");
}

fn bounds(header: u64, record: u64) -> CsvBounds {
    let limits = Limits { max_header_bytes: header, max_record_bytes: record, ..Limits::default() };
    CsvBounds::new(&limits)
}

#[test]
fn overlong_records_are_refused_naming_the_bound() {
    let text = format!("a,b\n1,2\n\"{}\",3\n4,5\n", "x".repeat(100_000));
    let mut csv = CsvRows::open_bounded(text.as_bytes(), None, bounds(50_000, 50_000)).unwrap();
    let mut row = StringRecord::new();
    assert!(csv.read_row(&mut row).unwrap());
    let error = csv.read_row(&mut row).unwrap_err();
    assert!(
        matches!(error, CsvError::TooLarge { row: Some(2), bound } if bound.setting == "BULKWRITE_MAX_RECORD_BYTES"),
        "{error:?}"
    );
    assert!(error.to_string().contains("data row 2"), "{error}");
}

#[test]
fn a_hostile_header_stops_at_the_header_bound() {
    // A 30 MB header cell, and a header of a million commas: refused after the bound, whatever follows.
    for header in ["x".repeat(30_000_000), ",".repeat(1_000_000) + "a"] {
        let text = format!("{header}\n1\n");
        let error = CsvRows::open_bounded(text.as_bytes(), None, bounds(64 * 1024, 1024 * 1024)).unwrap_err();
        assert!(
            matches!(error, CsvError::TooLarge { row: None, bound } if bound.setting == "BULKWRITE_MAX_HEADER_BYTES"),
            "{error:?}"
        );
    }
}

#[test]
fn a_flood_of_blank_lines_counts_toward_the_next_record() {
    let text = format!("a,b\n1,2\n{}3,4\n", "\n".repeat(200_000));
    let mut csv = CsvRows::open_bounded(text.as_bytes(), None, bounds(64 * 1024, 100_000)).unwrap();
    let mut row = StringRecord::new();
    assert!(csv.read_row(&mut row).unwrap());
    assert!(matches!(csv.read_row(&mut row), Err(CsvError::TooLarge { row: Some(2), .. })));
    // Within the bound, blank lines are skipped as before.
    let text = format!("a,b\n1,2\n{}3,4\n", "\n".repeat(1_000));
    let read = read_all_from(text.as_bytes(), None, 200).unwrap();
    assert_eq!(read.rows.len(), 2);
}

#[test]
fn a_bound_of_the_reader_below_is_named() {
    struct Capped<'a>(&'a [u8]);
    impl Read for Capped<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.0.is_empty() {
                return Err(BoundExceeded(Limits::default().entry_bytes()).into_io());
            }
            self.0.read(buf)
        }
    }
    let body = format!("a\n{}", "1\n".repeat(50_000));
    let mut csv = CsvRows::open(Capped(body.as_bytes()), None, 200).unwrap();
    let mut row = StringRecord::new();
    let error = loop {
        match csv.read_row(&mut row) {
            Ok(true) => continue,
            Ok(false) => panic!("the reader's bound was not reported"),
            Err(error) => break error,
        }
    };
    assert!(
        matches!(error, CsvError::TooLarge { bound, .. } if bound.setting == "BULKWRITE_MAX_ENTRY_BYTES"),
        "{error:?}"
    );
}

#[test]
fn reads_a_zip_entry() {
    use std::io::Write;
    let mut writer = zip::ZipWriter::new(io::Cursor::new(Vec::new()));
    writer.start_file("leads.csv", zip::write::SimpleFileOptions::default()).unwrap();
    writer.write_all(b"Last_Name;Email\nSmith;a@b.co\n").unwrap();
    let bytes = writer.finish().unwrap().into_inner();
    let mut archive = zip::ZipArchive::new(io::Cursor::new(bytes)).unwrap();
    let read = read_all_from(archive.by_index(0).unwrap(), None, 200).unwrap();
    assert_eq!((read.delimiter, read.header), (';', strings(&["Last_Name", "Email"])));
    assert_eq!(read.rows, [strings(&["Smith", "a@b.co"])]);
}

#[test]
fn memory_stays_flat_on_long_files() {
    /// Endless-ish generator of rows, never materialised.
    struct Rows {
        left: u64,
        pending: Vec<u8>,
    }
    impl Read for Rows {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.pending.is_empty() {
                if self.left == 0 {
                    return Ok(0);
                }
                self.left -= 1;
                self.pending = format!("{},name {},x\r\n", self.left, self.left).into_bytes();
            }
            let count = self.pending.len().min(buf.len());
            buf[..count].copy_from_slice(&self.pending[..count]);
            self.pending.drain(..count);
            Ok(count)
        }
    }
    let source = Rows { left: 300_000, pending: b"id,name,x\n".to_vec() };
    let mut csv = CsvRows::open(source, None, 200).unwrap();
    let mut row = StringRecord::new();
    while csv.read_row(&mut row).unwrap() {}
    assert_eq!(csv.rows_read(), 300_000);
}

fn noisy_byte() -> impl Strategy<Value = u8> {
    prop_oneof![any::<u8>(), prop::sample::select(b",;:|\"\r\n \xEF\xBB\xBF\xFF\xFE\x00".to_vec())]
}

fn cell_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => any::<char>().prop_map(|c| if c.is_control() { '?' } else { c }),
        1 => prop::sample::select(vec![',', ';', ':', '|', '"', '\n', '\r', ' ', '\t']),
    ]
}

fn encode(text: &str, form: u8) -> Vec<u8> {
    match form {
        0 => text.as_bytes().to_vec(),
        1 => [b"\xEF\xBB\xBF".as_slice(), text.as_bytes()].concat(),
        2 => utf16(text, false),
        _ => utf16(text, true),
    }
}

fn write_csv(delimiter: u8, header: &[String], records: &[Vec<String>]) -> String {
    let mut writer = csv::WriterBuilder::new().delimiter(delimiter).from_writer(Vec::new());
    writer.write_record(header).unwrap();
    for record in records {
        writer.write_record(record).unwrap();
    }
    String::from_utf8(writer.into_inner().unwrap()).unwrap()
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(
        bytes in prop::collection::vec(noisy_byte(), 0..3000),
        requested in prop::option::of(prop::sample::select(vec!["UTF-8", "UTF-16", "UTF-16BE", "latin1", "Shift_JIS"])),
        max_columns in 0usize..8,
    ) {
        if let Ok(mut csv) = CsvRows::open(bytes.as_slice(), requested, max_columns) {
            let mut row = StringRecord::new();
            while let Ok(true) = csv.read_row(&mut row) {}
        }
    }

    #[test]
    fn written_records_read_back(
        delimiter in prop::sample::select(DELIMITERS.to_vec()),
        width in 1usize..6,
        form in 0u8..4,
        cells in prop::collection::vec(prop::collection::vec(prop::collection::vec(cell_char(), 0..8), 6), 0..12),
    ) {
        let delimiter = if width == 1 { b',' } else { delimiter };
        let header: Vec<String> = (0..width).map(|index| format!("col_{index}")).collect();
        let records: Vec<Vec<String>> = cells
            .into_iter()
            .map(|record| record.into_iter().take(width).map(String::from_iter).collect())
            .collect();
        let text = write_csv(delimiter, &header, &records);
        let read = read_all_from(encode(&text, form).as_slice(), None, 200).unwrap();
        let expected: Vec<Vec<String>> =
            records.into_iter().filter(|record| !record.iter().all(|cell| cell.trim().is_empty())).collect();
        prop_assert_eq!(read.delimiter, char::from(delimiter));
        prop_assert_eq!(read.header, header);
        prop_assert_eq!(read.rows, expected);
    }
}
