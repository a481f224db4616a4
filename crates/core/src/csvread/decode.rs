//! Character encodings: label lookup, detection from a bounded prefix, streaming decode to UTF-8.

use std::io::{self, Read};

use encoding_rs::{CoderResult, Decoder, Encoding, REPLACEMENT, UTF_8, WINDOWS_1252};

/// Raw bytes read ahead to detect the encoding.
pub(super) const SNIFF_BYTES: usize = 64 * 1024;
/// Raw bytes handed to the decoder per read of the underlying reader.
const INPUT_CHUNK: usize = 8 * 1024;
/// Decoded bytes buffered; a chunk of any encoding decodes to at most ~3 × [`INPUT_CHUNK`].
const OUTPUT_CHUNK: usize = 32 * 1024;

/// Labels clients use that the WHATWG label table does not know.
const EXTRA_LABELS: &[(&str, &Encoding)] = &[("latin-1", WINDOWS_1252), ("cp-1252", WINDOWS_1252)];

/// Looks up a `character_encoding` label: trimmed, case-insensitive, `_` read as `-`.
///
/// Labels that map to the WHATWG "replacement" encoding (e.g. `iso-2022-kr`) are refused:
/// decoding with it would turn the whole file into one U+FFFD.
pub(super) fn lookup_label(label: &str) -> Option<&'static Encoding> {
    let trimmed = label.trim();
    let dashed = trimmed.replace('_', "-");
    Encoding::for_label(trimmed.as_bytes())
        .or_else(|| Encoding::for_label(dashed.as_bytes()))
        .or_else(|| extra_label(&dashed))
        .filter(|encoding| *encoding != REPLACEMENT)
}

fn extra_label(label: &str) -> Option<&'static Encoding> {
    EXTRA_LABELS.iter().find(|(name, _)| name.eq_ignore_ascii_case(label)).map(|(_, encoding)| *encoding)
}

/// Detects the encoding from the first bytes of a file and names it for `character_encoding`.
///
/// `complete` says whether `prefix` is the whole file (so a multi-byte sequence cut at its end
/// is really broken, not just cut by the sniff window).
pub(super) fn detect(prefix: &[u8], complete: bool) -> (&'static Encoding, &'static str) {
    if let Some((encoding, _)) = Encoding::for_bom(prefix) {
        return (encoding, encoding.name());
    }
    if looks_like_utf8(prefix, complete) {
        return (UTF_8, "UTF-8");
    }
    if prefix.iter().any(|byte| (0x80..=0x9F).contains(byte)) {
        return (WINDOWS_1252, "windows-1252");
    }
    (WINDOWS_1252, "ISO-8859-1")
}

fn looks_like_utf8(prefix: &[u8], complete: bool) -> bool {
    match std::str::from_utf8(prefix) {
        Ok(_) => true,
        // `error_len() == None`: the only problem is a sequence cut at the end of the window.
        Err(error) => error.error_len().is_none() && !complete,
    }
}

/// Reads up to `limit` bytes (fewer only at the end of the stream).
pub(super) fn read_prefix(reader: &mut impl Read, limit: usize) -> io::Result<Vec<u8>> {
    let mut prefix = Vec::new();
    reader.take(u64::try_from(limit).unwrap_or(u64::MAX)).read_to_end(&mut prefix)?;
    Ok(prefix)
}

/// Decodes a byte stream of any `encoding_rs` encoding to UTF-8 with fixed buffers.
///
/// Malformed input becomes U+FFFD; BOM handling is left to the caller (no BOM is sniffed here).
pub(super) struct DecodeReader<R> {
    inner: R,
    decoder: Decoder,
    input: Vec<u8>,
    input_pos: usize,
    input_len: usize,
    output: Vec<u8>,
    output_pos: usize,
    output_len: usize,
    eof: bool,
    finished: bool,
}

impl<R: Read> DecodeReader<R> {
    /// Wraps `inner`, whose bytes are in `encoding` (without a leading BOM).
    pub(super) fn new(inner: R, encoding: &'static Encoding) -> Self {
        DecodeReader {
            inner,
            decoder: encoding.new_decoder_without_bom_handling(),
            input: vec![0; INPUT_CHUNK],
            input_pos: 0,
            input_len: 0,
            output: vec![0; OUTPUT_CHUNK],
            output_pos: 0,
            output_len: 0,
            eof: false,
            finished: false,
        }
    }

    /// Decodes the next piece of input into the (empty) output buffer.
    fn decode_more(&mut self) -> io::Result<()> {
        if self.input_pos >= self.input_len && !self.eof {
            self.refill()?;
        }
        let input = self.input.get(self.input_pos..self.input_len).unwrap_or_default();
        let (result, read, written, _) = self.decoder.decode_to_utf8(input, &mut self.output, self.eof);
        self.input_pos += read;
        self.output_pos = 0;
        self.output_len = written;
        if self.eof && result == CoderResult::InputEmpty {
            self.finished = true;
        }
        Ok(())
    }

    fn refill(&mut self) -> io::Result<()> {
        let read = loop {
            match self.inner.read(&mut self.input) {
                Ok(read) => break read,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => return Err(error),
            }
        };
        self.input_pos = 0;
        self.input_len = read.min(self.input.len());
        self.eof = read == 0;
        Ok(())
    }
}

impl<R: Read> Read for DecodeReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        while self.output_pos >= self.output_len {
            if self.finished {
                return Ok(0);
            }
            self.decode_more()?;
        }
        let pending = self.output.get(self.output_pos..self.output_len).unwrap_or_default();
        let count = pending.len().min(buf.len());
        if let (Some(target), Some(source)) = (buf.get_mut(..count), pending.get(..count)) {
            target.copy_from_slice(source);
        }
        self.output_pos += count;
        Ok(count)
    }
}
