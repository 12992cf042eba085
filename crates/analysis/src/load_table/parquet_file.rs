//! The Parquet side of `--table`: the checks before the reader (footer, codecs, pages), the
//! reader's panics turned into input errors, and each row handed to the table's `Builder`.

use std::fs::File;
use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, UInt8Type, UInt16Type,
    UInt32Type, UInt64Type,
};
use arrow_array::{Array, ArrayRef};
use arrow_schema::DataType;
use parquet::arrow::arrow_reader::{ArrowReaderOptions, ParquetRecordBatchReaderBuilder};
use parquet::basic::Compression;
use parquet::file::metadata::{ParquetMetaData, ParquetMetaDataReader};

use super::{Builder, Cell, required_index};
use crate::Error;
use crate::model::Dataset;

fn cell(a: &ArrayRef, i: usize) -> Option<Cell<'_>> {
    if a.is_null(i) {
        return Some(Cell::Null);
    }
    Some(match a.data_type() {
        DataType::Boolean => Cell::Bool(a.as_boolean().value(i)),
        DataType::Int8 => Cell::Int(a.as_primitive::<Int8Type>().value(i).into()),
        DataType::Int16 => Cell::Int(a.as_primitive::<Int16Type>().value(i).into()),
        DataType::Int32 => Cell::Int(a.as_primitive::<Int32Type>().value(i).into()),
        DataType::Int64 => Cell::Int(a.as_primitive::<Int64Type>().value(i)),
        DataType::UInt8 => Cell::Int(a.as_primitive::<UInt8Type>().value(i).into()),
        DataType::UInt16 => Cell::Int(a.as_primitive::<UInt16Type>().value(i).into()),
        DataType::UInt32 => Cell::Int(a.as_primitive::<UInt32Type>().value(i).into()),
        DataType::UInt64 => Cell::UInt(a.as_primitive::<UInt64Type>().value(i)),
        DataType::Float32 => Cell::Float(a.as_primitive::<Float32Type>().value(i).into()),
        DataType::Float64 => Cell::Float(a.as_primitive::<Float64Type>().value(i)),
        DataType::Utf8 => Cell::Str(a.as_string::<i32>().value(i)),
        DataType::LargeUtf8 => Cell::Str(a.as_string::<i64>().value(i)),
        DataType::Utf8View => Cell::Str(a.as_string_view().value(i)),
        _ => return None,
    })
}

/// The Parquet and Arrow readers panic on some malformed files (found by fuzzing: an embedded
/// Arrow schema declaring an integer 262159 bits wide): a damaged file is an input error, not a
/// crash. The embedded Arrow schema is not read at all (the Parquet types say enough).
pub(super) fn load_parquet(path: &Path) -> Result<Dataset, Error> {
    quiet_panics(|| load_parquet_unguarded(path)).unwrap_or_else(|panic| {
        let why = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        Err(Error::input(
            path.display().to_string(),
            None,
            None,
            format!("the Parquet reader failed on this file (damaged?): {why}"),
        ))
    })
}

thread_local! {
    /// Set while this thread runs a reader whose panics become input errors.
    static QUIET: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// `catch_unwind` without the panic message on stderr: the caught panic is reported as an input
/// error, so the library's own message (and a backtrace) would only confuse. The process-wide
/// hook is wrapped once; it stays silent only on a thread inside this function.
fn quiet_panics<T>(f: impl FnOnce() -> T) -> std::thread::Result<T> {
    static WRAP: std::sync::Once = std::sync::Once::new();
    WRAP.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET.with(std::cell::Cell::get) {
                previous(info);
            }
        }));
    });
    QUIET.with(|q| q.set(true));
    let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    QUIET.with(|q| q.set(false));
    out
}

fn load_parquet_unguarded(path: &Path) -> Result<Dataset, Error> {
    let file = path.display().to_string();
    let read_err = |source| Error::Read {
        path: path.to_path_buf(),
        source,
    };
    let mut f = File::open(path).map_err(read_err)?;
    // before the reader sizes anything from what the footer claims
    if let Err(why) = crate::parquet_footer::check(&mut f).map_err(read_err)? {
        return Err(Error::input(
            &file,
            None,
            None,
            format!("damaged Parquet footer: {why}"),
        ));
    }
    let pq_err = |e: parquet::errors::ParquetError| Error::input(&file, None, None, e.to_string());
    let options = ArrowReaderOptions::new().with_skip_arrow_metadata(true);
    let builder =
        ParquetRecordBatchReaderBuilder::try_new_with_options(f, options).map_err(pq_err)?;
    // this build decodes two codecs; the reader would only say "Disabled feature at compile time"
    for c in builder
        .metadata()
        .row_groups()
        .iter()
        .flat_map(|g| g.columns())
    {
        let name = match c.compression() {
            Compression::UNCOMPRESSED | Compression::SNAPPY => continue,
            Compression::GZIP(_) => "gzip",
            Compression::BROTLI(_) => "brotli",
            Compression::ZSTD(_) => "zstd",
            Compression::LZ4 | Compression::LZ4_RAW => "lz4",
            Compression::LZO => "lzo",
        };
        return Err(Error::input(
            &file,
            None,
            Some(&c.column_path().string()),
            format!(
                "compressed with {name}: xdplat reads uncompressed or Snappy Parquet; write the \
                 table again with compression=\"snappy\" (pandas, pyarrow, polars) or as CSV"
            ),
        ));
    }
    // before the reader sizes a dictionary from what a page header claims
    check_pages(path, builder.metadata())?;
    let schema = builder.schema().clone();
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    let ([ci, ri, ti], params) = required_index(&file, &names)?;
    for f in schema.fields() {
        if !matches!(f.data_type(), DataType::Null) && cell_type_supported(f.data_type()).is_none()
        {
            return Err(Error::input(
                &file,
                None,
                Some(f.name()),
                format!("unsupported column type {}", f.data_type()),
            ));
        }
    }
    let mut b = Builder::new(&file, params.iter().map(|(_, n)| n.clone()).collect());
    let reader = builder.with_batch_size(65_536).build().map_err(pq_err)?;
    let mut row0 = 0u64;
    for batch in reader {
        let batch = batch.map_err(|e| Error::input(&file, None, None, e.to_string()))?;
        let cols = batch.columns();
        for i in 0..batch.num_rows() {
            let row = row0 + i as u64 + 1;
            let get = |c: usize| cell(&cols[c], i).unwrap_or(Cell::Null);
            let config = match get(ci) {
                Cell::Str(s) => std::borrow::Cow::Borrowed(s),
                Cell::Null => std::borrow::Cow::Borrowed(""),
                other => std::borrow::Cow::Owned(other.render()),
            };
            b.row(row, &config, get(ri), get(ti), |j| get(params[j].0))?;
        }
        row0 += batch.num_rows() as u64;
    }
    b.finish()
}

/// The page check (`parquet_pages`) of the file at `path`, whose footer the reader parsed.
fn check_pages(path: &Path, meta: &ParquetMetaData) -> Result<(), Error> {
    let read_err = |source| Error::Read {
        path: path.to_path_buf(),
        source,
    };
    let f = File::open(path).map_err(read_err)?;
    let budget = crate::parquet_footer::available_memory() / 2;
    crate::parquet_pages::check(&f, meta, budget)
        .map_err(read_err)?
        .map_err(|why| {
            Error::input(
                path.display(),
                None,
                None,
                format!("damaged Parquet page: {why}"),
            )
        })
}

/// The page check alone, for the cost figure of `cargo bench -p analysis --bench table`.
#[doc(hidden)]
pub fn parquet_page_check(path: &Path) -> Result<(), Error> {
    let f = File::open(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let meta = ParquetMetaDataReader::new()
        .parse_and_finish(&f)
        .map_err(|e| Error::input(path.display(), None, None, e.to_string()))?;
    check_pages(path, &meta)
}

fn cell_type_supported(t: &DataType) -> Option<()> {
    matches!(
        t,
        DataType::Boolean
            | DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32
            | DataType::UInt64
            | DataType::Float32
            | DataType::Float64
            | DataType::Utf8
            | DataType::LargeUtf8
            | DataType::Utf8View
    )
    .then_some(())
}
