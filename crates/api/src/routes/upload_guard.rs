//! Bounds an upload's multipart stream before the multipart parser sees it.
//!
//! The parser buffers a part's headers (and the preamble before the first part) until it finds
//! their end, however long they are, and the upload route reads bodies of any length (a chunked
//! body has no `Content-Length` to refuse up front). So the body passes through [`guard`] first:
//! it counts every byte against the upload limit, and the bytes from a boundary to the end of the
//! part's headers against [`MAX_PART_HEAD_BYTES`]. Past either, the stream ends with an error and
//! [`Tripped`] tells the route which bound it was.

use std::sync::{Arc, OnceLock};

use axum::body::Body;
use bytes::Bytes;
use futures_util::StreamExt;

/// Bytes from a boundary to the end of its part's headers (a browser's are a few hundred).
pub(crate) const MAX_PART_HEAD_BYTES: usize = 16 * 1024;

/// Which bound stopped the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tripped {
    /// More bytes than the upload limit (plus the room for the multipart framing).
    TooLarge,
    /// A part's headers, or the preamble, longer than [`MAX_PART_HEAD_BYTES`].
    PartHeadTooLong,
}

#[derive(Debug, thiserror::Error)]
#[error("the upload passed a bound: {0:?}")]
struct GuardError(Tripped);

/// The body, bounded; the cell says which bound stopped it, if one did.
pub(crate) fn guard(body: Body, content_type: Option<&str>, max_bytes: u64) -> (Body, Arc<OnceLock<Tripped>>) {
    let tripped = Arc::new(OnceLock::new());
    let mut scanner = content_type.and_then(boundary).map(|boundary| Scanner::new(&boundary));
    let cell = Arc::clone(&tripped);
    let mut total: u64 = 0;
    let stream = body.into_data_stream().map(move |chunk| {
        let chunk: Bytes = chunk.map_err(|error| Box::new(error) as Box<dyn std::error::Error + Send + Sync>)?;
        total = total.saturating_add(chunk.len() as u64);
        let verdict = if total > max_bytes {
            Some(Tripped::TooLarge)
        } else {
            scanner.as_mut().and_then(|scanner| scanner.scan(&chunk))
        };
        if let Some(tripped) = verdict {
            let _ = cell.set(tripped);
            return Err(Box::new(GuardError(tripped)) as Box<dyn std::error::Error + Send + Sync>);
        }
        Ok(chunk)
    });
    (Body::from_stream(stream), tripped)
}

/// The `boundary` parameter of a `multipart/form-data` content type.
fn boundary(content_type: &str) -> Option<String> {
    let (kind, parameters) = content_type.split_once(';')?;
    if !kind.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    parameters.split(';').find_map(|parameter| {
        let (name, value) = parameter.split_once('=')?;
        let value = value.trim().trim_matches('"');
        (name.trim().eq_ignore_ascii_case("boundary") && !value.is_empty()).then(|| value.to_string())
    })
}

/// Follows the multipart framing: in a part's head (from a boundary to `\r\n\r\n`) it counts
/// bytes; in its data it looks for the next `\r\n--boundary`.
struct Scanner {
    in_head: bool,
    head_bytes: usize,
    head_end: Matcher,
    delimiter: Matcher,
}

impl Scanner {
    fn new(boundary: &str) -> Scanner {
        Scanner {
            // The preamble and the first part's head come before any delimiter.
            in_head: true,
            head_bytes: 0,
            head_end: Matcher::new(b"\r\n\r\n"),
            delimiter: Matcher::new(format!("\r\n--{boundary}").as_bytes()),
        }
    }

    fn scan(&mut self, chunk: &[u8]) -> Option<Tripped> {
        let mut rest = chunk;
        while !rest.is_empty() {
            if self.in_head {
                let (consumed, found) = self.head_end.find(rest);
                self.head_bytes += consumed;
                if self.head_bytes > MAX_PART_HEAD_BYTES {
                    return Some(Tripped::PartHeadTooLong);
                }
                if found {
                    self.in_head = false;
                    self.delimiter.reset();
                }
                rest = &rest[consumed..];
            } else {
                let (consumed, found) = self.delimiter.find(rest);
                if found {
                    self.in_head = true;
                    self.head_bytes = 0;
                    self.head_end.reset();
                }
                rest = &rest[consumed..];
            }
        }
        None
    }
}

/// Finds a pattern in a stream of pieces (Knuth–Morris–Pratt, so a match may straddle pieces).
struct Matcher {
    pattern: Vec<u8>,
    /// `failure[i]`: the longest proper prefix of `pattern[..=i]` that is also its suffix.
    failure: Vec<usize>,
    matched: usize,
}

impl Matcher {
    fn new(pattern: &[u8]) -> Matcher {
        let mut failure = vec![0; pattern.len()];
        let mut length = 0;
        for i in 1..pattern.len() {
            while length > 0 && pattern[i] != pattern[length] {
                length = failure[length - 1];
            }
            if pattern[i] == pattern[length] {
                length += 1;
            }
            failure[i] = length;
        }
        Matcher { pattern: pattern.to_vec(), failure, matched: 0 }
    }

    fn reset(&mut self) {
        self.matched = 0;
    }

    /// Feeds `bytes` until a match completes: the bytes consumed, and whether it completed.
    fn find(&mut self, bytes: &[u8]) -> (usize, bool) {
        let mut at = 0;
        while at < bytes.len() {
            if self.matched == 0 {
                // Skip straight to the next byte that can start a match.
                match bytes[at..].iter().position(|&b| b == self.pattern[0]) {
                    Some(offset) => at += offset,
                    None => return (bytes.len(), false),
                }
            }
            let byte = bytes[at];
            while self.matched > 0 && byte != self.pattern[self.matched] {
                self.matched = self.failure[self.matched - 1];
            }
            if byte == self.pattern[self.matched] {
                self.matched += 1;
            }
            at += 1;
            if self.matched == self.pattern.len() {
                self.matched = 0;
                return (at, true);
            }
        }
        (at, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan_all(boundary: &str, pieces: &[&[u8]]) -> Option<Tripped> {
        let mut scanner = Scanner::new(boundary);
        pieces.iter().find_map(|piece| scanner.scan(piece))
    }

    #[test]
    fn a_normal_body_passes_in_any_pieces() {
        let head = b"--XB\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.zip\"\r\n\r\n".to_vec();
        let data = vec![b'\r'; 100_000];
        let mut body = head.clone();
        body.extend_from_slice(&data);
        body.extend_from_slice(b"\r\n--XB\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\nv\r\n--XB--\r\n");
        assert_eq!(scan_all("XB", &[&body]), None);
        let bytes: Vec<&[u8]> = body.chunks(7).collect();
        assert_eq!(scan_all("XB", &bytes), None);
    }

    #[test]
    fn a_long_part_head_or_preamble_trips_wherever_the_pieces_cut() {
        let mut long = b"--XB\r\nContent-Disposition: form-data; name=\"file\"; filename=\"".to_vec();
        long.extend(std::iter::repeat_n(b'a', MAX_PART_HEAD_BYTES));
        long.extend_from_slice(b"\"\r\n\r\nPK");
        assert_eq!(scan_all("XB", &[&long]), Some(Tripped::PartHeadTooLong));
        let bytes: Vec<&[u8]> = long.chunks(1000).collect();
        assert_eq!(scan_all("XB", &bytes), Some(Tripped::PartHeadTooLong));
        // A second part's head is counted afresh, and bounded the same.
        let mut second = b"--XB\r\nA: b\r\n\r\ndata\r\n--XB\r\nA: ".to_vec();
        second.extend(std::iter::repeat_n(b'b', MAX_PART_HEAD_BYTES));
        assert_eq!(scan_all("XB", &[&second]), Some(Tripped::PartHeadTooLong));
    }

    #[test]
    fn boundaries_are_read_from_the_content_type() {
        assert_eq!(boundary("multipart/form-data; boundary=XB").as_deref(), Some("XB"));
        assert_eq!(boundary("Multipart/Form-Data; charset=x; boundary=\"a b\"").as_deref(), Some("a b"));
        assert_eq!(boundary("application/json"), None);
    }

    #[test]
    fn the_matcher_finds_overlapping_patterns_across_pieces() {
        let mut matcher = Matcher::new(b"\r\n\r\n");
        assert_eq!(matcher.find(b"ab\r\n\r"), (5, false));
        assert_eq!(matcher.find(b"\r\n\r\nz"), (4, true));
    }
}
