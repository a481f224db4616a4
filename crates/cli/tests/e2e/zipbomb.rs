//! Builds hostile zips cheaply: an entry is pieces of bytes, each repeated, and a piece repeated
//! a billion times costs one deflate segment written a billion times over, never the inflated
//! bytes. Each piece is deflated once by a fresh compressor and ends with a full flush, so its
//! compressed bytes refer to nothing before them and can be repeated as they are; the CRC of a
//! repetition is combined from the piece's (`crc32fast::Hasher::combine`) by doubling.

use flate2::{Compress, Compression, FlushCompress};

/// One entry of a hostile zip.
pub struct Entry {
    pub name: String,
    /// `(bytes, times)`: the content is each piece's bytes repeated its times, in order.
    pub pieces: Vec<(Vec<u8>, u64)>,
    /// The uncompressed size written in the headers; `None`: the true size.
    pub declared_size: Option<u64>,
}

impl Entry {
    pub fn new(name: &str, pieces: &[(&[u8], u64)]) -> Entry {
        Entry {
            name: name.to_string(),
            pieces: pieces.iter().map(|(bytes, times)| (bytes.to_vec(), *times)).collect(),
            declared_size: None,
        }
    }

    /// Headers that understate the entry's size as `size` bytes.
    pub fn declaring(mut self, size: u64) -> Entry {
        self.declared_size = Some(size);
        self
    }
}

/// The raw deflate bytes of `data`, ending byte-aligned after a full flush (not a final block).
fn deflate_segment(data: &[u8]) -> Vec<u8> {
    let mut compress = Compress::new(Compression::best(), false);
    let mut out = Vec::with_capacity(data.len() / 100 + 1024);
    loop {
        let consumed = usize::try_from(compress.total_in()).unwrap();
        out.reserve(64 * 1024);
        compress.compress_vec(&data[consumed..], &mut out, FlushCompress::Full).unwrap();
        if usize::try_from(compress.total_in()).unwrap() == data.len() && out.capacity() > out.len() {
            return out;
        }
    }
}

/// `hasher` repeated `times` times, as one hasher.
fn repeated(hasher: &crc32fast::Hasher, times: u64) -> crc32fast::Hasher {
    let mut result = crc32fast::Hasher::new();
    let mut power = hasher.clone();
    let mut left = times;
    while left > 0 {
        if left & 1 == 1 {
            result.combine(&power);
        }
        let doubled = power.clone();
        power.combine(&doubled);
        left >>= 1;
    }
    result
}

/// A zip (zip64 where a size needs it) holding `entries`.
pub fn build(entries: &[Entry]) -> Vec<u8> {
    let mut zip = Vec::new();
    let mut central = Vec::new();
    for entry in entries {
        let mut crc = crc32fast::Hasher::new();
        let mut size: u64 = 0;
        let mut data = Vec::new();
        for (bytes, times) in &entry.pieces {
            let mut piece = crc32fast::Hasher::new();
            piece.update(bytes);
            crc.combine(&repeated(&piece, *times));
            size += bytes.len() as u64 * times;
            let segment = deflate_segment(bytes);
            for _ in 0..*times {
                data.extend_from_slice(&segment);
            }
        }
        // The final block: fixed Huffman, empty.
        data.extend_from_slice(&[0x03, 0x00]);
        let declared = entry.declared_size.unwrap_or(size);
        let offset = zip.len() as u64;
        let zip64 = declared >= u64::from(u32::MAX) || data.len() as u64 >= u64::from(u32::MAX);
        let header = Header { name: &entry.name, crc: crc.finalize(), compressed: data.len() as u64, declared, zip64 };
        zip.extend_from_slice(&header.local());
        zip.extend_from_slice(&data);
        central.extend_from_slice(&header.central(offset));
    }
    let directory_offset = zip.len() as u64;
    let directory_size = central.len() as u64;
    zip.extend_from_slice(&central);
    let count = entries.len() as u64;
    let end64_offset = zip.len() as u64;
    // The zip64 end record and its locator, then the classic end record.
    zip.extend_from_slice(b"PK\x06\x06");
    zip.extend_from_slice(&44u64.to_le_bytes());
    zip.extend_from_slice(&45u16.to_le_bytes());
    zip.extend_from_slice(&45u16.to_le_bytes());
    zip.extend_from_slice(&0u32.to_le_bytes());
    zip.extend_from_slice(&0u32.to_le_bytes());
    zip.extend_from_slice(&count.to_le_bytes());
    zip.extend_from_slice(&count.to_le_bytes());
    zip.extend_from_slice(&directory_size.to_le_bytes());
    zip.extend_from_slice(&directory_offset.to_le_bytes());
    zip.extend_from_slice(b"PK\x06\x07");
    zip.extend_from_slice(&0u32.to_le_bytes());
    zip.extend_from_slice(&end64_offset.to_le_bytes());
    zip.extend_from_slice(&1u32.to_le_bytes());
    zip.extend_from_slice(b"PK\x05\x06");
    zip.extend_from_slice(&[0, 0, 0, 0]);
    zip.extend_from_slice(&u16::try_from(count).unwrap_or(u16::MAX).to_le_bytes());
    zip.extend_from_slice(&u16::try_from(count).unwrap_or(u16::MAX).to_le_bytes());
    zip.extend_from_slice(&u32::try_from(directory_size).unwrap().to_le_bytes());
    zip.extend_from_slice(&u32::try_from(directory_offset).unwrap_or(u32::MAX).to_le_bytes());
    zip.extend_from_slice(&0u16.to_le_bytes());
    zip
}

struct Header<'a> {
    name: &'a str,
    crc: u32,
    compressed: u64,
    declared: u64,
    zip64: bool,
}

impl Header<'_> {
    fn sizes32(&self) -> [u32; 2] {
        if self.zip64 {
            [u32::MAX, u32::MAX]
        } else {
            [self.compressed as u32, self.declared as u32]
        }
    }

    fn extra(&self) -> Vec<u8> {
        if !self.zip64 {
            return Vec::new();
        }
        let mut extra = vec![0x01, 0x00, 16, 0];
        extra.extend_from_slice(&self.declared.to_le_bytes());
        extra.extend_from_slice(&self.compressed.to_le_bytes());
        extra
    }

    fn local(&self) -> Vec<u8> {
        let [compressed, declared] = self.sizes32();
        let extra = self.extra();
        let mut out = b"PK\x03\x04".to_vec();
        out.extend_from_slice(&45u16.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(&8u16.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(&0x21u16.to_le_bytes());
        out.extend_from_slice(&self.crc.to_le_bytes());
        out.extend_from_slice(&compressed.to_le_bytes());
        out.extend_from_slice(&declared.to_le_bytes());
        out.extend_from_slice(&(self.name.len() as u16).to_le_bytes());
        out.extend_from_slice(&(extra.len() as u16).to_le_bytes());
        out.extend_from_slice(self.name.as_bytes());
        out.extend_from_slice(&extra);
        out
    }

    fn central(&self, offset: u64) -> Vec<u8> {
        let [compressed, declared] = self.sizes32();
        let extra = self.extra();
        let mut out = b"PK\x01\x02".to_vec();
        out.extend_from_slice(&45u16.to_le_bytes());
        out.extend_from_slice(&45u16.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(&8u16.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(&0x21u16.to_le_bytes());
        out.extend_from_slice(&self.crc.to_le_bytes());
        out.extend_from_slice(&compressed.to_le_bytes());
        out.extend_from_slice(&declared.to_le_bytes());
        out.extend_from_slice(&(self.name.len() as u16).to_le_bytes());
        out.extend_from_slice(&(extra.len() as u16).to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&u32::try_from(offset).unwrap().to_le_bytes());
        out.extend_from_slice(self.name.as_bytes());
        out.extend_from_slice(&extra);
        out
    }
}

#[test]
fn a_built_zip_reads_back_whole() {
    use std::io::Read;
    let entry = Entry::new("a.csv", &[(b"h\n", 1), (b"a,\n", 100_000), (b"end\n", 1)]);
    let bytes = build(&[entry]);
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut text = String::new();
    archive.by_name("a.csv").unwrap().read_to_string(&mut text).unwrap();
    assert_eq!(text, format!("h\n{}end\n", "a,\n".repeat(100_000)));
}
