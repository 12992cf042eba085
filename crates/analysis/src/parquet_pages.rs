//! A check of every page header of a Parquet file before the Parquet reader decodes a page.
//! parquet 57 sizes a dictionary from the value count its page header claims: it fills a
//! vector of that many values (`set_dict`) or reserves offsets for them before it finds the
//! page short. Two files found by fuzzing make a 2 KB file cost 8.5 GB of resident memory
//! (a DOUBLE dictionary claiming a billion values) or reserve 6.5 GB (a BYTE_ARRAY one).
//!
//! The check walks each column chunk's pages as the reader will (header, then the page's
//! bytes), with the footer's Thrift rules (`parquet_footer`), and refuses a page that runs past
//! its chunk, a negative size or count, a dictionary claiming more values than its bytes can
//! encode (PLAIN: at least 4 bytes per INT32, 8 per DOUBLE, 4 per BYTE_ARRAY length...), or a
//! page whose decoded form would not fit in half the available memory. Data pages are only
//! checked for sane counts: run-length encoding makes any number of values fit in a few bytes,
//! and the reader decodes them in batches.

use std::fs::File;
use std::os::unix::fs::FileExt;

use parquet::basic::Type as Physical;
use parquet::file::metadata::ParquetMetaData;

use crate::parquet_footer::{Damage, PageHeader, page_header};

/// Memory the reader holds per dictionary value beyond its bytes (a byte array's view).
const VALUE_BYTES: u64 = 32;

/// Bytes read at a time while walking a chunk's pages.
const WINDOW: u64 = 64 << 10;

/// Walks the pages of every column chunk of `f`, whose footer `meta` the reader parsed, with
/// `budget` bytes of memory for one page's decoded form.
pub fn check(f: &File, meta: &ParquetMetaData, budget: u64) -> std::io::Result<Result<(), Damage>> {
    let len = f.metadata()?.len();
    for (g, group) in meta.row_groups().iter().enumerate() {
        for chunk in group.columns() {
            let column = chunk.column_path().string();
            let start = chunk
                .dictionary_page_offset()
                .unwrap_or(chunk.data_page_offset());
            let size = chunk.compressed_size();
            let (Ok(start), Ok(size)) = (u64::try_from(start), u64::try_from(size)) else {
                return Ok(Err(format!(
                    "column {column} of row group {g} starts at byte {start} with {size} bytes"
                )));
            };
            if start.checked_add(size).is_none_or(|end| end > len) {
                return Ok(Err(format!(
                    "column {column} of row group {g} ends past the file ({start} + {size} bytes \
                     in a {len}-byte file)"
                )));
            }
            let plain = min_plain_bits(chunk.column_type(), chunk.column_descr().type_length());
            let mut pages = Pages {
                f,
                end: start + size,
                at: start,
                buf: Vec::new(),
                base: start,
            };
            let place = |n: usize| format!("page {n} of column {column} in row group {g}");
            let mut n = 0;
            while pages.at < pages.end {
                let h = match pages.header(budget)? {
                    Ok(h) => h,
                    Err(why) => return Ok(Err(format!("{}: {why}", place(n)))),
                };
                let body = match page(&h, plain, budget) {
                    Ok(body) => body,
                    Err(why) => return Ok(Err(format!("{}: {why}", place(n)))),
                };
                let left = pages.end - pages.at - h.len as u64;
                if body > left {
                    return Ok(Err(format!(
                        "{}: {body} bytes of data with {left} bytes of the chunk left",
                        place(n)
                    )));
                }
                pages.at += h.len as u64 + body;
                n += 1;
            }
        }
    }
    Ok(Ok(()))
}

/// The fewest bits a PLAIN value of the column's physical type takes.
fn min_plain_bits(t: Physical, type_length: i32) -> u64 {
    match t {
        Physical::BOOLEAN => 1,
        Physical::INT32 | Physical::FLOAT | Physical::BYTE_ARRAY => 32,
        Physical::INT64 | Physical::DOUBLE => 64,
        Physical::INT96 => 96,
        Physical::FIXED_LEN_BYTE_ARRAY => 8 * u64::try_from(type_length).unwrap_or(0).max(1),
    }
}

/// Checks one page header; returns the length of the page's data (`compressed_page_size`).
fn page(h: &PageHeader, plain_bits: u64, budget: u64) -> Result<u64, Damage> {
    let count = |v: Option<i64>, what: &str| -> Result<u64, Damage> {
        let v = v.ok_or_else(|| format!("the header has no {what}"))?;
        u64::try_from(v)
            .ok()
            .filter(|&v| v <= i32::MAX as u64)
            .ok_or_else(|| format!("{what} is {v}"))
    };
    let kind = h.kind.ok_or("the header has no page type")?;
    let compressed = count(h.compressed, "compressed_page_size")?;
    let uncompressed = count(h.uncompressed, "uncompressed_page_size")?;
    if uncompressed > budget {
        return Err(format!(
            "a page of {uncompressed} bytes decoded, more than half the available memory"
        ));
    }
    match kind {
        2 => {
            let values = count(h.dictionary_values, "dictionary num_values")?;
            if values.saturating_mul(plain_bits) > uncompressed.saturating_mul(8) {
                return Err(format!(
                    "a dictionary claims {values} values in {uncompressed} bytes (at least {} \
                     bits each)",
                    plain_bits
                ));
            }
            if uncompressed + values * VALUE_BYTES > budget {
                return Err(format!(
                    "a dictionary of {values} values would take more than half the available \
                     memory"
                ));
            }
        }
        0 | 3 => {
            let values = count(h.data_values, "data page num_values")?;
            if kind == 3 && count(h.data_nulls, "data page num_nulls")? > values {
                return Err("a data page has more nulls than values".to_string());
            }
        }
        1 => {}
        other => return Err(format!("unknown page type {other}")),
    }
    Ok(compressed)
}

/// A column chunk's bytes, read a window at a time.
struct Pages<'f> {
    f: &'f File,
    end: u64,
    /// The next page header's offset.
    at: u64,
    buf: Vec<u8>,
    /// The file offset of `buf[0]`.
    base: u64,
}

impl Pages<'_> {
    /// The page header at `at`. A header longer than the window is read again with a wider
    /// one, up to the end of the chunk.
    fn header(&mut self, budget: u64) -> std::io::Result<Result<PageHeader, Damage>> {
        let mut want = 4096u64;
        loop {
            let left = self.end - self.at;
            let want_now = want.min(left);
            let have = (self.base + self.buf.len() as u64).saturating_sub(self.at);
            if self.at < self.base || have < want_now {
                let n = WINDOW.max(want_now).min(left);
                self.buf.resize(n as usize, 0);
                self.f.read_exact_at(&mut self.buf, self.at)?;
                self.base = self.at;
            }
            let from = (self.at - self.base) as usize;
            let to = from + want_now as usize;
            match page_header(&self.buf[from..to], budget) {
                Err(_) if want_now < left => want *= 4,
                result => return Ok(result),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{PageHeader, page};

    const BUDGET: u64 = 1 << 30;

    fn dictionary(values: i64, bytes: i64) -> PageHeader {
        PageHeader {
            kind: Some(2),
            uncompressed: Some(bytes),
            compressed: Some(bytes),
            dictionary_values: Some(values),
            ..PageHeader::default()
        }
    }

    #[test]
    fn a_dictionary_that_its_bytes_can_hold_passes() {
        // 3 doubles in 24 bytes; 10 booleans in 2 bytes
        assert_eq!(page(&dictionary(3, 24), 64, BUDGET), Ok(24));
        assert_eq!(page(&dictionary(10, 2), 1, BUDGET), Ok(2));
    }

    #[test]
    fn the_fuzzers_dictionaries_are_refused() {
        // a billion doubles in a few hundred bytes
        let e = page(&dictionary(1_000_000_000, 300), 64, BUDGET).unwrap_err();
        assert!(e.contains("claims 1000000000 values in 300 bytes"), "{e}");
        // byte arrays: each takes at least its 4-byte length
        assert!(page(&dictionary(101, 400), 32, BUDGET).is_err());
        // values that fit in the bytes but not in memory
        let e = page(&dictionary(1000, 8000), 64, 16_000).unwrap_err();
        assert!(e.contains("half the available memory"), "{e}");
    }

    #[test]
    fn negative_missing_and_unknown_fields_are_refused() {
        let e = page(&dictionary(-1, 8), 64, BUDGET).unwrap_err();
        assert!(e.contains("dictionary num_values is -1"), "{e}");
        let mut h = dictionary(1, 8);
        h.compressed = Some(-5);
        assert!(
            page(&h, 64, BUDGET)
                .unwrap_err()
                .contains("compressed_page_size is -5")
        );
        h = dictionary(1, 8);
        h.kind = Some(9);
        assert!(
            page(&h, 64, BUDGET)
                .unwrap_err()
                .contains("unknown page type 9")
        );
        h = PageHeader {
            kind: Some(3),
            uncompressed: Some(8),
            compressed: Some(8),
            data_values: Some(2),
            data_nulls: Some(3),
            ..PageHeader::default()
        };
        assert!(page(&h, 64, BUDGET).unwrap_err().contains("more nulls"));
        h.data_values = None;
        assert!(
            page(&h, 64, BUDGET)
                .unwrap_err()
                .contains("no data page num_values")
        );
    }

    #[test]
    fn a_data_page_may_hold_many_run_length_encoded_values() {
        let h = PageHeader {
            kind: Some(0),
            uncompressed: Some(10),
            compressed: Some(10),
            data_values: Some(1 << 30),
            ..PageHeader::default()
        };
        assert_eq!(page(&h, 64, BUDGET), Ok(10));
    }
}
