//! A check of a Parquet file's footer before the Parquet reader decodes it. The footer is a
//! Thrift compact-protocol struct (`FileMetaData`), and parquet 57 sizes its vectors from the
//! list lengths it reads (`Vec::with_capacity`), choosing what to read by field id whatever
//! type the bytes declare. A 1 KB file found by fuzzing gives field 2 (the schema list) the
//! type i32: the reader takes the next bytes as a list of about 2^30 schema elements, asks for
//! 75 GB and the process aborts, which `catch_unwind` cannot stop.
//!
//! This module walks the footer as the reader will, without building anything: the fields the
//! reader knows (per struct, from parquet's `parquet.thrift`) must carry their declared type,
//! and every list, set, map or string must fit in the bytes the footer has left (every element
//! takes at least one byte, except a boolean in a list, which the reader skips without reading
//! its byte: those are walked as the reader does and bounded by the footer's length). The
//! elements the lists claim, at an assumed 1 KiB each in memory, must fit in half the available
//! memory. A footer a Parquet writer made always passes. The same walk reads each page header
//! for the page check (`parquet_pages`).

use std::io::{Read, Seek, SeekFrom};

/// Deepest nesting of structs and containers a footer may have (parquet's own is under 10).
const MAX_DEPTH: u32 = 64;

/// Container elements that take no bytes (booleans) allowed beyond one per byte.
const FREE_SLACK: u64 = 4096;

/// Memory assumed per list element the reader will hold (its structs take a few hundred bytes).
const ELEMENT_BYTES: u64 = 1024;

/// Why a footer was refused.
pub type Damage = String;

/// Reads the footer of `f` and walks it. Files without a plain footer (too short, another magic,
/// a length past the start) are left to the Parquet reader, which refuses them itself.
pub fn check(f: &mut std::fs::File) -> std::io::Result<Result<(), Damage>> {
    let len = f.metadata()?.len();
    if len < 12 {
        return Ok(Ok(()));
    }
    let mut tail = [0u8; 8];
    f.seek(SeekFrom::End(-8))?;
    f.read_exact(&mut tail)?;
    let meta_len = u64::from(u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]));
    if &tail[4..] != b"PAR1" || meta_len + 8 > len {
        return Ok(Ok(()));
    }
    let mut meta = vec![0u8; meta_len as usize];
    f.seek(SeekFrom::End(-8 - meta_len as i64))?;
    f.read_exact(&mut meta)?;
    f.seek(SeekFrom::Start(0))?;
    Ok(walk(&meta, available_memory() / 2))
}

/// MemAvailable of /proc/meminfo, or 8 GiB where it cannot be read.
pub fn available_memory() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            let line = m.lines().find(|l| l.starts_with("MemAvailable:"))?;
            let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(kb * 1024)
        })
        .unwrap_or(8 << 30)
}

/// Walks a footer (`FileMetaData`), with `budget` bytes for the elements its lists claim.
pub fn walk(bytes: &[u8], budget: u64) -> Result<(), Damage> {
    let mut c = Cursor::new(bytes, budget, false);
    c.structure(S::FileMetaData, 0)
}

/// What a page header says, as far as the page check needs it (`None`: the field is absent).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct PageHeader {
    /// 0 data page, 1 index page, 2 dictionary page, 3 data page v2.
    pub kind: Option<i64>,
    pub uncompressed: Option<i64>,
    pub compressed: Option<i64>,
    /// `num_values` of the dictionary page header.
    pub dictionary_values: Option<i64>,
    /// `num_values` and `num_nulls` of the data page header (v1 or v2).
    pub data_values: Option<i64>,
    pub data_nulls: Option<i64>,
    /// The header's length in bytes: the page's data follows it.
    pub len: usize,
}

/// Walks the page header (`PageHeader`) at the start of `bytes` with the footer's rules, and
/// returns what it says.
pub fn page_header(bytes: &[u8], budget: u64) -> Result<PageHeader, Damage> {
    let mut c = Cursor::new(bytes, budget, true);
    c.structure(S::PageHeader, 0)?;
    let mut h = PageHeader {
        len: c.at,
        ..PageHeader::default()
    };
    for (s, id, v) in c.ints.unwrap_or_default() {
        let slot = match (s, id) {
            (S::PageHeader, 1) => &mut h.kind,
            (S::PageHeader, 2) => &mut h.uncompressed,
            (S::PageHeader, 3) => &mut h.compressed,
            (S::DictionaryPageHeader, 1) => &mut h.dictionary_values,
            (S::DataPageHeader | S::DataPageHeaderV2, 1) => &mut h.data_values,
            (S::DataPageHeaderV2, 2) => &mut h.data_nulls,
            _ => continue,
        };
        *slot = Some(v);
    }
    Ok(h)
}

/// The structs of the footer that the reader decodes field by field.
#[derive(Debug, Clone, Copy, PartialEq)]
enum S {
    FileMetaData,
    SchemaElement,
    LogicalType,
    Decimal,
    /// TimeType and TimestampType.
    Time,
    TimeUnit,
    Int,
    Variant,
    Geometry,
    Geography,
    RowGroup,
    ColumnChunk,
    ColumnMetaData,
    Statistics,
    SizeStatistics,
    GeospatialStatistics,
    BoundingBox,
    KeyValue,
    SortingColumn,
    PageEncodingStats,
    ColumnOrder,
    EncryptionAlgorithm,
    Aes,
    ColumnCryptoMetaData,
    EncryptionWithColumnKey,
    PageHeader,
    DataPageHeader,
    DictionaryPageHeader,
    DataPageHeaderV2,
    /// A struct whose fields the reader skips (an empty struct, an unknown field's struct).
    Opaque,
}

/// A field's type as the reader reads it.
#[derive(Debug, Clone, Copy, PartialEq)]
enum T {
    Bool,
    I8,
    I16,
    I32,
    I64,
    Double,
    Binary,
    Struct(S),
    List(Elem),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Elem {
    I32,
    I64,
    Binary,
    Struct(S),
}

impl T {
    /// The compact protocol's type code (a boolean field says 1 or 2).
    fn code(self) -> u8 {
        match self {
            T::Bool => 1,
            T::I8 => 3,
            T::I16 => 4,
            T::I32 => 5,
            T::I64 => 6,
            T::Double => 7,
            T::Binary => 8,
            T::List(_) => 9,
            T::Struct(_) => 12,
        }
    }
}

impl Elem {
    fn code(self) -> u8 {
        match self {
            Elem::I32 => 5,
            Elem::I64 => 6,
            Elem::Binary => 8,
            Elem::Struct(_) => 12,
        }
    }
}

/// The type the reader gives field `id` of struct `s` (parquet 57's readers), `None` for a
/// field it skips.
fn field(s: S, id: i64) -> Option<T> {
    use T::*;
    let st = Struct;
    Some(match (s, id) {
        (S::FileMetaData, 1) => I32,
        (S::FileMetaData, 2) => List(Elem::Struct(S::SchemaElement)),
        (S::FileMetaData, 3) => I64,
        (S::FileMetaData, 4) => List(Elem::Struct(S::RowGroup)),
        (S::FileMetaData, 5) => List(Elem::Struct(S::KeyValue)),
        (S::FileMetaData, 6 | 9) => Binary,
        (S::FileMetaData, 7) => List(Elem::Struct(S::ColumnOrder)),
        (S::FileMetaData, 8) => st(S::EncryptionAlgorithm),
        (S::SchemaElement, 1..=3 | 5..=9) => I32,
        (S::SchemaElement, 4) => Binary,
        (S::SchemaElement, 10) => st(S::LogicalType),
        (S::LogicalType, 1..=4 | 6 | 11..=15) => st(S::Opaque),
        (S::LogicalType, 5) => st(S::Decimal),
        (S::LogicalType, 7 | 8) => st(S::Time),
        (S::LogicalType, 10) => st(S::Int),
        (S::LogicalType, 16) => st(S::Variant),
        (S::LogicalType, 17) => st(S::Geometry),
        (S::LogicalType, 18) => st(S::Geography),
        (S::Decimal, 1 | 2) => I32,
        (S::Time, 1) => Bool,
        (S::Time, 2) => st(S::TimeUnit),
        (S::TimeUnit, 1..=3) => st(S::Opaque),
        (S::Int, 1) => I8,
        (S::Int, 2) => Bool,
        (S::Variant, 1) => I8,
        (S::Geometry, 1) => Binary,
        (S::Geography, 1) => Binary,
        (S::Geography, 2) => I32,
        (S::RowGroup, 1) => List(Elem::Struct(S::ColumnChunk)),
        (S::RowGroup, 2 | 3 | 5) => I64,
        (S::RowGroup, 4) => List(Elem::Struct(S::SortingColumn)),
        (S::RowGroup, 7) => I16,
        (S::ColumnChunk, 1 | 9) => Binary,
        (S::ColumnChunk, 2 | 4 | 6) => I64,
        (S::ColumnChunk, 3) => st(S::ColumnMetaData),
        (S::ColumnChunk, 5 | 7) => I32,
        (S::ColumnChunk, 8) => st(S::ColumnCryptoMetaData),
        (S::ColumnMetaData, 1 | 4 | 15) => I32,
        (S::ColumnMetaData, 2) => List(Elem::I32),
        (S::ColumnMetaData, 5..=7 | 9..=11 | 14) => I64,
        (S::ColumnMetaData, 12) => st(S::Statistics),
        (S::ColumnMetaData, 13) => List(Elem::Struct(S::PageEncodingStats)),
        (S::ColumnMetaData, 16) => st(S::SizeStatistics),
        (S::ColumnMetaData, 17) => st(S::GeospatialStatistics),
        (S::Statistics, 1 | 2 | 5 | 6) => Binary,
        (S::Statistics, 3 | 4) => I64,
        (S::Statistics, 7 | 8) => Bool,
        (S::SizeStatistics, 1) => I64,
        (S::SizeStatistics, 2 | 3) => List(Elem::I64),
        (S::GeospatialStatistics, 1) => st(S::BoundingBox),
        (S::GeospatialStatistics, 2) => List(Elem::I32),
        (S::BoundingBox, 1..=8) => Double,
        (S::KeyValue, 1 | 2) => Binary,
        (S::SortingColumn, 1) => I32,
        (S::SortingColumn, 2 | 3) => Bool,
        (S::PageEncodingStats, 1..=3) => I32,
        (S::ColumnOrder, 1) => st(S::Opaque),
        (S::EncryptionAlgorithm, 1 | 2) => st(S::Aes),
        (S::Aes, 1 | 2) => Binary,
        (S::Aes, 3) => Bool,
        (S::ColumnCryptoMetaData, 1) => st(S::Opaque),
        (S::ColumnCryptoMetaData, 2) => st(S::EncryptionWithColumnKey),
        (S::EncryptionWithColumnKey, 1) => List(Elem::Binary),
        (S::EncryptionWithColumnKey, 2) => Binary,
        (S::PageHeader, 1..=4) => I32,
        (S::PageHeader, 5) => st(S::DataPageHeader),
        (S::PageHeader, 6) => st(S::Opaque),
        (S::PageHeader, 7) => st(S::DictionaryPageHeader),
        (S::PageHeader, 8) => st(S::DataPageHeaderV2),
        (S::DataPageHeader, 1..=4) => I32,
        (S::DataPageHeader, 5) => st(S::Statistics),
        (S::DictionaryPageHeader, 1 | 2) => I32,
        (S::DictionaryPageHeader, 3) => Bool,
        (S::DataPageHeaderV2, 1..=6) => I32,
        (S::DataPageHeaderV2, 7) => Bool,
        (S::DataPageHeaderV2, 8) => st(S::Statistics),
        _ => return None,
    })
}

fn zigzag(z: u64) -> i64 {
    ((z >> 1) as i64) ^ -((z & 1) as i64)
}

struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
    /// Memory the lists met so far would take in the reader.
    claimed: u64,
    budget: u64,
    /// Container elements met that take no bytes (booleans, as the reader skips them).
    free: u64,
    /// The i32 fields met, as (struct, field id, value), when the caller wants them.
    ints: Option<Vec<(S, i64, i64)>>,
}

impl<'a> Cursor<'a> {
    /// A walk from the start of `bytes`; `record`: keep the i32 fields met (`ints`).
    fn new(bytes: &'a [u8], budget: u64, record: bool) -> Self {
        Self {
            bytes,
            at: 0,
            claimed: 0,
            budget,
            free: 0,
            ints: record.then(Vec::new),
        }
    }

    fn left(&self) -> usize {
        self.bytes.len() - self.at
    }

    fn byte(&mut self) -> Result<u8, Damage> {
        let b = *self
            .bytes
            .get(self.at)
            .ok_or_else(|| format!("the footer ends inside a value (byte {})", self.at))?;
        self.at += 1;
        Ok(b)
    }

    fn skip(&mut self, n: usize, what: &str) -> Result<(), Damage> {
        if n > self.left() {
            return Err(format!(
                "{what} of {n} bytes at byte {} of a {}-byte footer",
                self.at,
                self.bytes.len()
            ));
        }
        self.at += n;
        Ok(())
    }

    fn varint(&mut self) -> Result<u64, Damage> {
        let mut v = 0u64;
        for shift in (0..70).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f).checked_shl(shift).unwrap_or(0);
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(format!("a varint longer than 10 bytes at byte {}", self.at))
    }

    /// A container's element count, refused when the elements cannot fit in what is left or
    /// would take more memory than the budget.
    fn count(&mut self, n: u64, kind: &str) -> Result<usize, Damage> {
        let left = self.left();
        if n > left as u64 {
            return Err(format!(
                "a {kind} claims {n} elements with {left} bytes of the footer left"
            ));
        }
        self.claimed += n * ELEMENT_BYTES;
        if self.claimed > self.budget {
            return Err(format!(
                "its lists claim more elements than half the available memory holds \
                 (about {} MiB at {ELEMENT_BYTES} bytes each)",
                self.claimed >> 20
            ));
        }
        Ok(n as usize)
    }

    /// One struct of kind `s`, up to its stop byte.
    fn structure(&mut self, s: S, depth: u32) -> Result<(), Damage> {
        if depth > MAX_DEPTH {
            return Err(format!("structs nested deeper than {MAX_DEPTH}"));
        }
        let mut last = 0i64;
        loop {
            let header = self.byte()?;
            let wire = header & 0x0f;
            // the reader takes any header of type 0 for the stop
            if wire == 0 {
                return Ok(());
            }
            // field ids as the reader reads them: an i16, a long form cut to 16 bits, a delta
            // past i16::MAX refused
            let id = match header >> 4 {
                0 => i64::from(zigzag(self.varint()?) as i16),
                delta => last + i64::from(delta),
            };
            if id > i64::from(i16::MAX) {
                return Err(format!("field id {id} past 32767 at byte {}", self.at));
            }
            last = id;
            match field(s, id) {
                Some(t) => {
                    let ok = if t == T::Bool {
                        matches!(wire, 1 | 2)
                    } else {
                        wire == t.code()
                    };
                    if !ok {
                        return Err(format!(
                            "field {id} of {s:?} has type code {wire}, the format says {t:?}"
                        ));
                    }
                    match (t, self.ints.is_some()) {
                        (T::I32, true) => {
                            let v = zigzag(self.varint()?);
                            self.ints.get_or_insert_default().push((s, id, v));
                        }
                        _ => self.typed(t, depth)?,
                    }
                }
                // booleans carry their value in the field header
                None if matches!(wire, 1 | 2) => {}
                None => self.value(wire, depth)?,
            }
        }
    }

    /// A field of known type `t` whose type code was checked.
    fn typed(&mut self, t: T, depth: u32) -> Result<(), Damage> {
        match t {
            T::Bool => Ok(()),
            T::Struct(k) => self.structure(k, depth + 1),
            T::List(e) => {
                let (n, code) = self.list_header("list")?;
                if n > 0 && code != e.code() {
                    return Err(format!(
                        "a list of {e:?} has elements of type code {code} at byte {}",
                        self.at
                    ));
                }
                (0..n).try_for_each(|_| match e {
                    Elem::Struct(k) => self.structure(k, depth + 1),
                    _ => self.value(code, depth + 1),
                })
            }
            other => self.value(other.code(), depth),
        }
    }

    /// A list or set header: the element count (checked) and the elements' type code.
    fn list_header(&mut self, kind: &str) -> Result<(usize, u8), Damage> {
        let header = self.byte()?;
        if header == 0 {
            // some writers give an empty list the element type 0; the reader takes it
            return Ok((0, 0));
        }
        let n = match header >> 4 {
            15 => self.varint()?,
            n => u64::from(n),
        };
        let code = header & 0x0f;
        if matches!(code, 1 | 2) {
            // booleans take no bytes in the reader: `value` bounds them one by one
            return Ok((usize::try_from(n).unwrap_or(usize::MAX), code));
        }
        Ok((self.count(n, kind)?, code))
    }

    /// A value of type code `t` that the reader skips (or reads as the encoding says).
    fn value(&mut self, t: u8, depth: u32) -> Result<(), Damage> {
        if depth > MAX_DEPTH {
            return Err(format!("values nested deeper than {MAX_DEPTH}"));
        }
        match t {
            // a boolean inside a container: the compact protocol gives it a byte, but parquet
            // 57 skips it as a field's boolean, reading nothing; walk it as the reader does, and
            // bound the elements that cost the reader work without bytes (a fuzzed 1 KB footer
            // whose lists of lists of booleans kept it looping for seconds)
            1 | 2 => {
                self.free += 1;
                let most = self.bytes.len() as u64 + FREE_SLACK;
                if self.free > most {
                    return Err(format!(
                        "lists of booleans claim more than {most} elements in {} bytes",
                        self.bytes.len()
                    ));
                }
                Ok(())
            }
            3 => self.skip(1, "a byte"),
            4..=6 => self.varint().map(drop),
            7 => self.skip(8, "a double"),
            8 => {
                let n = self.varint()?;
                self.skip(usize::try_from(n).unwrap_or(usize::MAX), "a string")
            }
            9 | 10 => {
                let (n, code) = self.list_header(if t == 9 { "list" } else { "set" })?;
                (0..n).try_for_each(|_| self.value(code, depth + 1))
            }
            11 => {
                let n = self.varint()?;
                if n == 0 {
                    return Ok(());
                }
                let types = self.byte()?;
                let n = self.count(n, "map")?;
                (0..n).try_for_each(|_| {
                    self.value(types >> 4, depth + 1)?;
                    self.value(types & 0x0f, depth + 1)
                })
            }
            12 => self.structure(S::Opaque, depth + 1),
            13 => self.skip(16, "a uuid"),
            other => Err(format!("unknown value type {other} at byte {}", self.at)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{PageHeader, page_header, walk};

    const BUDGET: u64 = 1 << 30;

    #[test]
    fn a_footer_with_known_and_unknown_fields_passes() {
        // version 2; schema: one element named "ab"; num_rows 1; an unknown field 20 holding a
        // map {i32 -> i32} of one entry; an unknown bool field; stop
        let footer = [
            0x15, 0x04, // field 1 (version), i32, zigzag 2
            0x19, 0x1c, // field 2 (schema), list: 1 struct
            0x48, 0x02, b'a', b'b', 0x00, // { field 4 (name) "ab" }
            0x16, 0x02, // field 3 (num_rows), i64 1
            0x0b, 0x28, 0x01, 0x55, 0x02, 0x04, // field 20 (id zigzag 40), map of 1: 1 -> 2
            0x11, // field 21, bool true
            0x00,
        ];
        assert_eq!(walk(&footer, BUDGET), Ok(()));
    }

    #[test]
    fn the_fuzzers_footer_a_schema_typed_i32_is_refused() {
        // field 2 with type i32: the reader would take f2 f2 ... as a list of 2^30 elements
        let footer = [
            0x25, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0x00, 0x00,
        ];
        let e = walk(&footer, BUDGET).unwrap_err();
        assert!(e.contains("field 2 of FileMetaData has type code 5"), "{e}");
    }

    #[test]
    fn a_list_longer_than_the_footer_is_refused() {
        // field 4 (row groups), list of structs, long form: count 2^30
        let footer = [0x49, 0xfc, 0x80, 0x80, 0x80, 0x80, 0x04, 0x00, 0x00];
        let e = walk(&footer, BUDGET).unwrap_err();
        assert!(e.contains("list claims 1073741824 elements"), "{e}");
        // elements that fit in the bytes but not in the memory budget
        let e = walk(&[0x49, 0x3c, 0x00, 0x00, 0x00, 0x00], 2048).unwrap_err();
        assert!(e.contains("half the available memory"), "{e}");
    }

    #[test]
    fn a_string_or_a_map_past_the_end_is_refused() {
        let e = walk(&[0x68, 0xff, 0x01, b'a', 0x00], BUDGET).unwrap_err();
        assert!(e.contains("a string of 255 bytes"), "{e}");
        let e = walk(&[0x0b, 0x28, 0x80, 0x01, 0x55, 0x00], BUDGET).unwrap_err();
        assert!(e.contains("map claims 128 elements"), "{e}");
    }

    #[test]
    fn field_ids_and_empty_lists_as_the_reader_reads_them() {
        // field 2 (schema) as an empty list with element type 0, as some writers write it
        assert_eq!(walk(&[0x15, 0x04, 0x19, 0x00, 0x00], BUDGET), Ok(()));
        // a long-form id 65538 is field 2 to the reader (cut to 16 bits): its type is checked
        let e = walk(&[0x05, 0x84, 0x80, 0x08, 0x02, 0x00], BUDGET).unwrap_err();
        assert!(e.contains("field 2 of FileMetaData has type code 5"), "{e}");
    }

    #[test]
    fn booleans_in_a_list_take_no_bytes_as_in_the_reader() {
        // an unknown field 20 holding a list of 5 booleans (no bytes), then the stop
        assert_eq!(walk(&[0x09, 0x28, 0x51, 0x00], BUDGET), Ok(()));
        // a list of 50 lists of 100 booleans: 5000 elements the reader loops over in 105 bytes
        let mut f = vec![0x09, 0x28, 0xf9, 50];
        f.extend([0xf1, 100].repeat(50));
        f.push(0x00);
        let e = walk(&f, BUDGET).unwrap_err();
        assert!(
            e.contains("lists of booleans claim more than 4201 elements"),
            "{e}"
        );
    }

    #[test]
    fn truncation_and_deep_nesting_are_refused() {
        assert!(walk(&[0x15], BUDGET).unwrap_err().contains("ends inside"));
        // an unknown struct field holding struct fields, 100 deep
        let deep: Vec<u8> = std::iter::repeat_n(0x1c, 100).collect();
        let mut f = vec![0x0c, 0x28];
        f.extend(deep);
        assert!(walk(&f, BUDGET).unwrap_err().contains("nested deeper"));
    }

    #[test]
    fn a_dictionary_page_header_is_read() {
        // type 2 (dictionary), 16 bytes uncompressed and compressed, dictionary page header
        // { num_values 100, encoding 0 }, then the page's data
        let bytes = [
            0x15, 0x04, 0x15, 0x20, 0x15, 0x20, 0x4c, 0x15, 0xc8, 0x01, 0x15, 0x00, 0x00, 0x00,
            0xaa,
        ];
        let h = page_header(&bytes, BUDGET).unwrap();
        let want = PageHeader {
            kind: Some(2),
            uncompressed: Some(16),
            compressed: Some(16),
            dictionary_values: Some(100),
            len: 14,
            ..PageHeader::default()
        };
        assert_eq!(h, want);
        // the dictionary page header typed i32: the reader would misread what follows
        let e = page_header(&[0x15, 0x04, 0x65, 0x02, 0x00], BUDGET).unwrap_err();
        assert!(e.contains("field 7 of PageHeader has type code 5"), "{e}");
    }
}
