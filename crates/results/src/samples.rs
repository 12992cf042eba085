//! `samples.parquet`: one row per probe packet, streamed to disk in record
//! batches (bounded memory at any packet count), and read back by column.
//!
//! Columns: `seq` UInt64, `tx_ns` Int64, then nullable Int64 `rx_ns`,
//! `rtt_ns` and the stage stamps: CLOCK_MONOTONIC nanoseconds of the host
//! that took them, except `tx_hw_ns` and `rx_hw_ns`, which are in the NIC's
//! clock (comparable only with each other). A stage column that was never
//! measured is all null. Readers accept files without some of the nullable
//! columns (all null then), so files written before a column existed still read.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::builder::{Int64Builder, UInt64Builder};
use arrow_array::{Array, ArrayRef, Int64Array, RecordBatch, UInt64Array};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use crate::Error;

/// File name of the samples inside a run directory.
pub const SAMPLES_FILE: &str = "samples.parquet";
const TMP_FILE: &str = ".samples.parquet.tmp";
const BATCH_ROWS: usize = 65_536;

/// The nullable Int64 columns after `seq` and `tx_ns`, in file order.
const OPTIONAL: [&str; N_OPTIONAL] = [
    "rx_ns",
    "rtt_ns",
    "sched_ns",
    "kick_ns",
    "tx_done_ns",
    "fwd_xdp_ns",
    "fwd_rx_ns",
    "fwd_tx_ns",
    "xdp_ns",
    "tx_stack_ns",
    "tx_hw_ns",
    "rx_hw_ns",
];
const N_OPTIONAL: usize = 12;

/// One probe packet. Every stamp is CLOCK_MONOTONIC nanoseconds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sample {
    pub seq: u64,
    /// A's send stamp, taken right before the TX ring is published.
    pub tx_ns: i64,
    /// A's receive stamp, right after the RX ring is read; `None` when lost.
    pub rx_ns: Option<i64>,
    pub rtt_ns: Option<i64>,
    /// When the packet was scheduled to be sent (coordinated omission).
    pub sched_ns: Option<i64>,
    /// A's TX kick (sendto) returned.
    pub kick_ns: Option<i64>,
    /// A saw the frame on the completion ring.
    pub tx_done_ns: Option<i64>,
    /// Forwarder B's XDP hook.
    pub fwd_xdp_ns: Option<i64>,
    /// Forwarder B read the frame from its RX ring.
    pub fwd_rx_ns: Option<i64>,
    /// Forwarder B published the frame on its TX ring.
    pub fwd_tx_ns: Option<i64>,
    /// A's XDP hook for the reply.
    pub xdp_ns: Option<i64>,
    /// The kernel's software TX timestamp of A's frame (copy mode: taken when the driver freed
    /// the frame's skb after sending it), converted from CLOCK_TAI to CLOCK_MONOTONIC.
    pub tx_stack_ns: Option<i64>,
    /// A's NIC TX timestamp (zero-copy with AF_XDP TX metadata), in the NIC's clock.
    pub tx_hw_ns: Option<i64>,
    /// A's NIC RX timestamp of the reply (device-bound XDP program), in the NIC's clock.
    pub rx_hw_ns: Option<i64>,
}

impl Sample {
    fn optional(&self) -> [Option<i64>; N_OPTIONAL] {
        [
            self.rx_ns,
            self.rtt_ns,
            self.sched_ns,
            self.kick_ns,
            self.tx_done_ns,
            self.fwd_xdp_ns,
            self.fwd_rx_ns,
            self.fwd_tx_ns,
            self.xdp_ns,
            self.tx_stack_ns,
            self.tx_hw_ns,
            self.rx_hw_ns,
        ]
    }
}

fn schema() -> SchemaRef {
    let mut fields = vec![
        Field::new("seq", DataType::UInt64, false),
        Field::new("tx_ns", DataType::Int64, false),
    ];
    fields.extend(
        OPTIONAL
            .iter()
            .map(|n| Field::new(*n, DataType::Int64, true)),
    );
    Arc::new(Schema::new(fields))
}

/// Streams samples into `DIR/samples.parquet` (snappy). The data goes to a
/// temporary name first and is renamed on [`SamplesWriter::finish`], so a
/// crash never leaves a half-written file under the final name; dropping the
/// writer without `finish` removes the temporary file.
pub struct SamplesWriter {
    dir: PathBuf,
    tmp: PathBuf,
    writer: Option<ArrowWriter<BufWriter<File>>>,
    schema: SchemaRef,
    seq: UInt64Builder,
    tx: Int64Builder,
    opt: [Int64Builder; N_OPTIONAL],
    pending: usize,
    rows: u64,
    /// Set once the file is under its final name; until then drop removes the temporary file.
    renamed: bool,
}

impl std::fmt::Debug for SamplesWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SamplesWriter")
            .field("tmp", &self.tmp)
            .field("rows", &self.rows)
            .finish_non_exhaustive()
    }
}

impl SamplesWriter {
    pub fn create(dir: &Path) -> Result<Self, Error> {
        let tmp = dir.join(TMP_FILE);
        let file = File::create(&tmp).map_err(|e| Error::io("create", &tmp, e))?;
        let schema = schema();
        let props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_max_row_group_size(1 << 20)
            .build();
        let writer = ArrowWriter::try_new(BufWriter::new(file), schema.clone(), Some(props))
            .map_err(|source| Error::Parquet {
                path: tmp.clone(),
                source,
            })?;
        Ok(Self {
            dir: dir.to_path_buf(),
            tmp,
            writer: Some(writer),
            schema,
            seq: UInt64Builder::with_capacity(BATCH_ROWS),
            tx: Int64Builder::with_capacity(BATCH_ROWS),
            opt: std::array::from_fn(|_| Int64Builder::with_capacity(BATCH_ROWS)),
            pending: 0,
            rows: 0,
            renamed: false,
        })
    }

    pub fn push(&mut self, s: &Sample) -> Result<(), Error> {
        self.seq.append_value(s.seq);
        self.tx.append_value(s.tx_ns);
        for (b, v) in self.opt.iter_mut().zip(s.optional()) {
            b.append_option(v);
        }
        self.pending += 1;
        self.rows += 1;
        if self.pending >= BATCH_ROWS {
            self.flush_batch()?;
        }
        Ok(())
    }

    fn flush_batch(&mut self) -> Result<(), Error> {
        if self.pending == 0 {
            return Ok(());
        }
        let mut cols: Vec<ArrayRef> = vec![Arc::new(self.seq.finish()), Arc::new(self.tx.finish())];
        cols.extend(
            self.opt
                .iter_mut()
                .map(|b| Arc::new(b.finish()) as ArrayRef),
        );
        self.pending = 0;
        let batch =
            RecordBatch::try_new(self.schema.clone(), cols).map_err(|source| Error::Arrow {
                path: self.tmp.clone(),
                source,
            })?;
        let w = self.writer.as_mut().expect("writer present until finish");
        w.write(&batch).map_err(|source| Error::Parquet {
            path: self.tmp.clone(),
            source,
        })
    }

    /// Writes the footer, syncs, and renames to `samples.parquet`; returns the row count.
    pub fn finish(mut self) -> Result<u64, Error> {
        self.flush_batch()?;
        let w = self.writer.take().expect("writer present until finish");
        let buf = w.into_inner().map_err(|source| Error::Parquet {
            path: self.tmp.clone(),
            source,
        })?;
        let file = buf
            .into_inner()
            .map_err(|e| Error::io("write", &self.tmp, e.into_error()))?;
        file.sync_all()
            .map_err(|e| Error::io("fsync", &self.tmp, e))?;
        let dst = self.dir.join(SAMPLES_FILE);
        std::fs::rename(&self.tmp, &dst).map_err(|e| Error::io("rename", &dst, e))?;
        self.renamed = true;
        crate::summary::sync_dir(&self.dir)?;
        Ok(self.rows)
    }
}

impl Drop for SamplesWriter {
    fn drop(&mut self) {
        // also after a failed finish (a full disk while writing the footer or syncing)
        if !self.renamed {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// All columns of a samples file. Optional columns absent from the file are
/// all `None` (same length as `seq`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SamplesColumns {
    pub seq: Vec<u64>,
    pub tx_ns: Vec<i64>,
    pub rx_ns: Vec<Option<i64>>,
    pub rtt_ns: Vec<Option<i64>>,
    pub sched_ns: Vec<Option<i64>>,
    pub kick_ns: Vec<Option<i64>>,
    pub tx_done_ns: Vec<Option<i64>>,
    pub fwd_xdp_ns: Vec<Option<i64>>,
    pub fwd_rx_ns: Vec<Option<i64>>,
    pub fwd_tx_ns: Vec<Option<i64>>,
    pub xdp_ns: Vec<Option<i64>>,
    pub tx_stack_ns: Vec<Option<i64>>,
    pub tx_hw_ns: Vec<Option<i64>>,
    pub rx_hw_ns: Vec<Option<i64>>,
}

impl SamplesColumns {
    pub fn len(&self) -> usize {
        self.seq.len()
    }

    pub fn is_empty(&self) -> bool {
        self.seq.is_empty()
    }

    /// Row `i` as a [`Sample`].
    pub fn row(&self, i: usize) -> Sample {
        Sample {
            seq: self.seq[i],
            tx_ns: self.tx_ns[i],
            rx_ns: self.rx_ns[i],
            rtt_ns: self.rtt_ns[i],
            sched_ns: self.sched_ns[i],
            kick_ns: self.kick_ns[i],
            tx_done_ns: self.tx_done_ns[i],
            fwd_xdp_ns: self.fwd_xdp_ns[i],
            fwd_rx_ns: self.fwd_rx_ns[i],
            fwd_tx_ns: self.fwd_tx_ns[i],
            xdp_ns: self.xdp_ns[i],
            tx_stack_ns: self.tx_stack_ns[i],
            tx_hw_ns: self.tx_hw_ns[i],
            rx_hw_ns: self.rx_hw_ns[i],
        }
    }

    fn optional_mut(&mut self) -> [&mut Vec<Option<i64>>; N_OPTIONAL] {
        [
            &mut self.rx_ns,
            &mut self.rtt_ns,
            &mut self.sched_ns,
            &mut self.kick_ns,
            &mut self.tx_done_ns,
            &mut self.fwd_xdp_ns,
            &mut self.fwd_rx_ns,
            &mut self.fwd_tx_ns,
            &mut self.xdp_ns,
            &mut self.tx_stack_ns,
            &mut self.tx_hw_ns,
            &mut self.rx_hw_ns,
        ]
    }
}

fn open(path: &Path) -> Result<ParquetRecordBatchReaderBuilder<File>, Error> {
    let file = File::open(path).map_err(|e| Error::io("open", path, e))?;
    ParquetRecordBatchReaderBuilder::try_new(file).map_err(|source| Error::Parquet {
        path: path.to_path_buf(),
        source,
    })
}

fn column_error(path: &Path, column: &str, why: impl Into<String>) -> Error {
    Error::Column {
        path: path.to_path_buf(),
        column: column.to_string(),
        why: why.into(),
    }
}

fn int64<'a>(
    path: &Path,
    batch: &'a RecordBatch,
    name: &str,
) -> Result<Option<&'a Int64Array>, Error> {
    match batch.column_by_name(name) {
        None => Ok(None),
        Some(a) => a
            .as_any()
            .downcast_ref::<Int64Array>()
            .map(Some)
            .ok_or_else(|| {
                column_error(
                    path,
                    name,
                    format!("expected Int64, found {}", a.data_type()),
                )
            }),
    }
}

/// The record batches of `builder`'s file, with errors naming `path`.
fn batches(
    path: &Path,
    builder: ParquetRecordBatchReaderBuilder<File>,
) -> Result<impl Iterator<Item = Result<RecordBatch, Error>> + '_, Error> {
    let reader = builder
        .with_batch_size(BATCH_ROWS)
        .build()
        .map_err(|source| Error::Parquet {
            path: path.to_path_buf(),
            source,
        })?;
    Ok(reader.map(move |batch| {
        batch.map_err(|source| Error::Arrow {
            path: path.to_path_buf(),
            source,
        })
    }))
}

/// Reads every column of a samples file.
pub fn read_samples(path: &Path) -> Result<SamplesColumns, Error> {
    let mut out = SamplesColumns::default();
    for batch in batches(path, open(path)?)? {
        let batch = batch?;
        let n = batch.num_rows();
        let seq = batch
            .column_by_name("seq")
            .ok_or_else(|| column_error(path, "seq", "missing"))?;
        let seq = seq.as_any().downcast_ref::<UInt64Array>().ok_or_else(|| {
            column_error(
                path,
                "seq",
                format!("expected UInt64, found {}", seq.data_type()),
            )
        })?;
        if seq.null_count() > 0 {
            return Err(column_error(path, "seq", "contains nulls"));
        }
        out.seq.extend(seq.values().iter().copied());
        let tx =
            int64(path, &batch, "tx_ns")?.ok_or_else(|| column_error(path, "tx_ns", "missing"))?;
        if tx.null_count() > 0 {
            return Err(column_error(path, "tx_ns", "contains nulls"));
        }
        out.tx_ns.extend(tx.values().iter().copied());
        let arrays = OPTIONAL
            .iter()
            .map(|name| int64(path, &batch, name))
            .collect::<Result<Vec<_>, _>>()?;
        for (dst, arr) in out.optional_mut().into_iter().zip(arrays) {
            match arr {
                Some(a) => dst.extend(a.iter()),
                None => dst.extend(std::iter::repeat_n(None, n)),
            }
        }
    }
    Ok(out)
}

/// Fast path for the analysis: only the non-null `rtt_ns` values, in file order.
pub fn read_rtts(path: &Path) -> Result<Vec<i64>, Error> {
    let builder = open(path)?;
    let idx = builder
        .parquet_schema()
        .columns()
        .iter()
        .position(|c| c.name() == "rtt_ns")
        .ok_or_else(|| column_error(path, "rtt_ns", "missing"))?;
    let mask = ProjectionMask::leaves(builder.parquet_schema(), [idx]);
    let mut out = Vec::new();
    for batch in batches(path, builder.with_projection(mask))? {
        let batch = batch?;
        let a = int64(path, &batch, "rtt_ns")?
            .ok_or_else(|| column_error(path, "rtt_ns", "missing"))?;
        if a.null_count() == 0 {
            out.extend_from_slice(a.values());
        } else {
            out.extend(a.iter().flatten());
        }
    }
    Ok(out)
}
