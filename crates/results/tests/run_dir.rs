//! Round trips of a run directory through the writer and the readers, and
//! (when a Python with pyarrow is found) a check that other tools read it.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use results::{
    Describe, Environment, PacketCounts, Sample, SamplesWriter, Summary, read_rtts, read_samples,
    read_summary, write_summary,
};

/// A fresh directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let p = std::env::temp_dir().join(format!(
            "results-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&p).unwrap();
        Self(p)
    }
    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn sample(i: u64) -> Sample {
    let tx = 1_000_000 + i as i64 * 1000;
    let lost = i % 10 == 3;
    Sample {
        seq: i,
        tx_ns: tx,
        rx_ns: (!lost).then_some(tx + 20_000 + (i % 7) as i64),
        rtt_ns: (!lost).then_some(20_000 + (i % 7) as i64),
        sched_ns: Some(tx - 5),
        kick_ns: i.is_multiple_of(2).then_some(tx + 100),
        xdp_ns: (!lost).then_some(tx + 19_000),
        tx_stack_ns: Some(tx + 2_000),
        rx_hw_ns: (!lost && i.is_multiple_of(3)).then_some(7_000_000_000 + i as i64),
        ..Default::default()
    }
}

#[test]
fn samples_round_trip_across_batches() {
    let dir = TempDir::new();
    let n = 150_000u64;
    let mut w = SamplesWriter::create(dir.path()).unwrap();
    for i in 0..n {
        w.push(&sample(i)).unwrap();
    }
    assert!(
        !dir.path().join("samples.parquet").exists(),
        "final name appears only on finish"
    );
    assert_eq!(w.finish().unwrap(), n);
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        names,
        vec![std::ffi::OsString::from("samples.parquet")],
        "no temporary file left"
    );

    let cols = read_samples(&dir.path().join("samples.parquet")).unwrap();
    assert_eq!(cols.len(), n as usize);
    for i in [0u64, 3, 65_535, 65_536, 149_999] {
        assert_eq!(cols.row(i as usize), sample(i));
    }
    assert!(cols.fwd_tx_ns.iter().all(Option::is_none));
    assert!(cols.tx_hw_ns.iter().all(Option::is_none));

    let rtts = read_rtts(&dir.path().join("samples.parquet")).unwrap();
    assert_eq!(rtts.len(), (0..n).filter(|i| i % 10 != 3).count());
    assert_eq!(rtts[..3], [20_000, 20_001, 20_002]);
    assert_eq!(rtts[3], 20_004);
}

#[test]
fn empty_samples_file() {
    let dir = TempDir::new();
    assert_eq!(
        SamplesWriter::create(dir.path()).unwrap().finish().unwrap(),
        0
    );
    let p = dir.path().join("samples.parquet");
    assert!(read_samples(&p).unwrap().is_empty());
    assert!(read_rtts(&p).unwrap().is_empty());
}

#[test]
fn dropped_writer_leaves_nothing() {
    let dir = TempDir::new();
    let mut w = SamplesWriter::create(dir.path()).unwrap();
    w.push(&sample(1)).unwrap();
    drop(w);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn missing_file_names_path() {
    let err = read_samples(Path::new("/nonexistent/x/samples.parquet")).unwrap_err();
    assert!(
        err.to_string().contains("/nonexistent/x/samples.parquet"),
        "{err}"
    );
}

fn summary() -> Summary {
    let mut s = Summary::default();
    s.params.insert("xdp_mode".into(), "drv".into());
    s.params.insert("need_wakeup".into(), true.into());
    s.params.insert("batch".into(), 64.into());
    s.effective.insert("napi_id".into(), 0.into());
    s.warnings
        .push("busy-poll requested but the socket has no NAPI id: no-op".into());
    s.packets = PacketCounts {
        sent: 30,
        received: 29,
        lost: 1,
        ..Default::default()
    };
    s.rtt_ns = Some(Describe {
        mean: 1.5,
        median: 1.0,
        std: 0.5,
        q1: 1.0,
        q3: 2.0,
        min: 1.0,
        max: 2.0,
        p99: 2.0,
        p999: 2.0,
        count: 29,
    });
    s.repetition = 2;
    s.warmup_packets = 10;
    s.environment = Environment::detect();
    s
}

#[test]
fn summary_round_trip() {
    let dir = TempDir::new();
    let s = summary();
    write_summary(dir.path(), &s).unwrap();
    assert_eq!(read_summary(&dir.path().join("summary.json")).unwrap(), s);
    assert!(!s.environment.kernel_release.is_empty());
}

#[test]
fn summary_reads_design_example_and_keeps_unknown_fields() {
    let dir = TempDir::new();
    let p = dir.path().join("summary.json");
    std::fs::write(
        &p,
        r#"{ "schema": 1,
  "params": { "xdp_mode": "drv", "bind": "copy", "need_wakeup": true },
  "effective": { "bind": "copy", "xdp_mode": "drv", "napi_id": 0 },
  "warnings": [ "busy-poll requested but the socket has no NAPI id: no-op" ],
  "packets": { "sent": 30, "received": 30, "lost": 0, "duplicates": 0, "reordered": 0 },
  "rtt_ns": { "mean": 0, "median": 0, "std": 0, "q1": 0, "q3": 0, "min": 0, "max": 0, "p99": 0, "p999": 0 },
  "repetition": 0, "future_field": [1, 2] }"#,
    )
    .unwrap();
    let s = read_summary(&p).unwrap();
    assert_eq!(s.packets.sent, 30);
    assert_eq!(s.extra["future_field"], serde_json::json!([1, 2]));
    write_summary(dir.path(), &s).unwrap();
    assert_eq!(read_summary(&p).unwrap(), s);
}

#[test]
fn newer_schema_is_refused() {
    let dir = TempDir::new();
    let mut s = summary();
    s.schema = results::SCHEMA + 1;
    write_summary(dir.path(), &s).unwrap();
    let err = read_summary(&dir.path().join("summary.json")).unwrap_err();
    assert!(err.to_string().contains("schema"), "{err}");
}

/// A Python that imports pyarrow: `$XDPLAT_TEST_PYTHON`, the venv of scripts/bench-setup.sh
/// (which scripts/test.sh runs), or the system's python3.
fn python_with_pyarrow() -> Option<PathBuf> {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-venv/bin/python");
    std::env::var_os("XDPLAT_TEST_PYTHON")
        .map(PathBuf::from)
        .into_iter()
        .chain([venv, PathBuf::from("python3")])
        .find(|p| {
            std::process::Command::new(p)
                .args(["-c", "import pyarrow"])
                .output()
                .is_ok_and(|o| o.status.success())
        })
}

#[test]
fn python_reads_samples() {
    let Some(python) = python_with_pyarrow() else {
        host::test_support::skip(
            "python_reads_samples",
            host::test_support::Missing::Tool("python3 with pyarrow (scripts/bench-setup.sh)"),
        );
        return;
    };
    let dir = TempDir::new();
    let mut w = SamplesWriter::create(dir.path()).unwrap();
    for i in 0..1000 {
        w.push(&sample(i)).unwrap();
    }
    w.finish().unwrap();
    let script = "import sys, pyarrow.parquet as pq\n\
        t = pq.read_table(sys.argv[1])\n\
        print(t.num_rows, t.column('rtt_ns').null_count, t.schema.field('seq').type, t.column('rtt_ns').to_pylist()[:3])";
    let out = std::process::Command::new(&python)
        .args([
            "-c",
            script,
            dir.path().join("samples.parquet").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "1000 100 uint64 [20000, 20001, 20002]"
    );
}

/// A file written before the stage and hardware columns existed (only `seq`, `tx_ns`,
/// `rtt_ns`) still reads, with the missing columns all null.
#[test]
fn older_file_without_the_newer_columns_reads() {
    use std::sync::Arc;

    use arrow_array::{ArrayRef, Int64Array, RecordBatch, UInt64Array};
    use arrow_schema::{DataType, Field, Schema};

    let dir = TempDir::new();
    let path = dir.path().join("samples.parquet");
    let schema = Arc::new(Schema::new(vec![
        Field::new("seq", DataType::UInt64, false),
        Field::new("tx_ns", DataType::Int64, false),
        Field::new("rtt_ns", DataType::Int64, true),
    ]));
    let cols: Vec<ArrayRef> = vec![
        Arc::new(UInt64Array::from(vec![0, 1])),
        Arc::new(Int64Array::from(vec![10, 20])),
        Arc::new(Int64Array::from(vec![Some(5), None])),
    ];
    let batch = RecordBatch::try_new(schema.clone(), cols).unwrap();
    let mut w =
        parquet::arrow::ArrowWriter::try_new(std::fs::File::create(&path).unwrap(), schema, None)
            .unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();

    let cols = read_samples(&path).unwrap();
    assert_eq!(cols.len(), 2);
    assert_eq!(cols.rtt_ns, [Some(5), None]);
    assert_eq!(cols.tx_stack_ns, [None, None]);
    assert_eq!(cols.rx_hw_ns, [None, None]);
    assert_eq!(cols.row(1).tx_ns, 20);
}
