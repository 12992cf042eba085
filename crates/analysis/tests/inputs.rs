//! Inputs: long tables (CSV and Parquet) and run directories, with the
//! bad-input errors that name the file, row and column.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use analysis::{Options, analyze, load_runs, load_table};
use serde_json::json;

struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let p = std::env::temp_dir().join(format!(
            "analysis-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&p).unwrap();
        Self(p)
    }
    fn file(&self, name: &str, body: &str) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, body).unwrap();
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn csv_table_types_missing_values_and_statistics() {
    let t = TempDir::new();
    let p = t.file(
        "t.csv",
        "config,rep,rtt_ns,zc,mode,size\n\
         a,0,100,true,drv,64\na,0,200,true,drv,64\na,0,,true,drv,64\na,1,300,true,drv,64\na,1,NaN,true,drv,64\n\
         b,0,1000.4,FALSE,skb,1.5\nb,0,2000,false,skb,1.5\n",
    );
    let ds = load_table(&p).unwrap();
    assert_eq!(ds.configs.len(), 2);
    let a = &ds.configs[0];
    assert_eq!(a.id, "a");
    assert_eq!(
        serde_json::to_value(&a.params).unwrap(),
        json!({"zc": true, "mode": "drv", "size": 64})
    );
    assert_eq!(a.runs.len(), 2);
    assert_eq!(
        (a.runs[0].sent, a.runs[0].lost),
        (3, 1),
        "empty cell = lost packet"
    );
    assert_eq!(
        (a.runs[1].sent, a.runs[1].lost),
        (2, 1),
        "NaN = lost packet"
    );
    assert_eq!(a.runs[0].rtt.unwrap().mean, 150.0);
    let b = &ds.configs[1];
    assert_eq!(
        serde_json::to_value(&b.params).unwrap(),
        json!({"zc": false, "mode": "skb", "size": 1.5})
    );
    assert_eq!(b.runs[0].rtt.unwrap().min, 1000.0, "rounded to the ns");
    let an = analyze(
        &ds,
        &Options {
            max_loss: None,
            ..Default::default()
        },
    )
    .unwrap();
    let sa = an.configs[0].stats.unwrap();
    assert_eq!(sa.mean, (150.0 + 300.0) / 2.0, "averaged over repetitions");
    assert!((sa.loss_rate - 0.4).abs() < 1e-12);
}

fn err_of(body: &str) -> String {
    let t = TempDir::new();
    let p = t.file("bad.csv", body);
    let e = load_table(&p).unwrap_err();
    assert!(e.is_bad_input(), "{e}");
    let s = e.to_string();
    assert!(s.contains("bad.csv"), "names the file: {s}");
    s
}

#[test]
fn bad_tables_name_file_row_and_column() {
    let s = err_of("config,rep,latency\na,0,1\n");
    assert!(s.contains("column rtt_ns") && s.contains("missing"), "{s}");
    let s = err_of("config,rep,rtt_ns,zc\na,0,1,true\na,0,2,true\na,1,3,false\n");
    assert!(
        s.contains("row 4")
            && s.contains("column zc")
            && s.contains("varies within configuration a"),
        "{s}"
    );
    let s = err_of("config,rep,rtt_ns\na,0,1\na,0,fast\n");
    assert!(
        s.contains("row 3") && s.contains("column rtt_ns") && s.contains("not a number"),
        "{s}"
    );
    let s = err_of("config,rep,rtt_ns\na,x,1\n");
    assert!(s.contains("row 2") && s.contains("column rep"), "{s}");
    let s = err_of("config,rep,rtt_ns\na,0,-5\n");
    assert!(s.contains("column rtt_ns"), "{s}");
    let s = err_of("config,rep,rtt_ns\n");
    assert!(s.contains("no rows"), "{s}");
    let s = err_of("");
    assert!(s.contains("missing column config"), "{s}");
    let s = err_of("config,rep,rtt_ns\na,0,1,extra\n");
    assert!(s.contains("row 2") || s.contains("line"), "{s}");
}

#[test]
fn unreadable_table() {
    let e = load_table(Path::new("/nonexistent/table.csv")).unwrap_err();
    assert!(
        e.is_bad_input() && e.to_string().contains("/nonexistent/table.csv"),
        "{e}"
    );
}

#[test]
fn parquet_table() {
    use arrow_array::{ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray};
    let t = TempDir::new();
    let p = t.0.join("t.parquet");
    let cols: Vec<(&str, ArrayRef)> = vec![
        (
            "config",
            Arc::new(StringArray::from(vec!["x", "x", "y", "y"])),
        ),
        ("rep", Arc::new(Int64Array::from(vec![0, 0, 0, 1]))),
        (
            "rtt_ns",
            Arc::new(Float64Array::from(vec![
                Some(10.0),
                None,
                Some(30.0),
                Some(f64::NAN),
            ])),
        ),
        (
            "bp",
            Arc::new(BooleanArray::from(vec![true, true, false, false])),
        ),
        (
            "mode",
            Arc::new(StringArray::from(vec!["drv", "drv", "skb", "skb"])),
        ),
    ];
    let batch = RecordBatch::try_from_iter(cols).unwrap();
    let f = std::fs::File::create(&p).unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(f, batch.schema(), None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    let ds = load_table(&p).unwrap();
    assert_eq!(ds.configs.len(), 2);
    assert_eq!(
        serde_json::to_value(&ds.configs[1].params).unwrap(),
        json!({"bp": false, "mode": "skb"})
    );
    assert_eq!(
        (ds.configs[0].runs[0].sent, ds.configs[0].runs[0].lost),
        (2, 1)
    );
    assert_eq!(ds.configs[1].runs.len(), 2);
    assert!(ds.configs[1].runs[1].rtt.is_none());

    // a parameter that varies inside a configuration
    let batch = RecordBatch::try_from_iter(vec![
        (
            "config",
            Arc::new(StringArray::from(vec!["x", "x"])) as ArrayRef,
        ),
        ("rep", Arc::new(Int64Array::from(vec![0, 0]))),
        ("rtt_ns", Arc::new(Int64Array::from(vec![1, 2]))),
        ("bp", Arc::new(BooleanArray::from(vec![true, false]))),
    ])
    .unwrap();
    let f = std::fs::File::create(&p).unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(f, batch.schema(), None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    let e = load_table(&p).unwrap_err().to_string();
    assert!(e.contains("row 2") && e.contains("column bp"), "{e}");
}

fn write_run(dir: &Path, name: &str, params: serde_json::Value, rep: u32, rtts: &[Option<i64>]) {
    let d = dir.join("runs").join(name);
    std::fs::create_dir_all(&d).unwrap();
    let mut w = results::SamplesWriter::create(&d).unwrap();
    for (i, r) in rtts.iter().enumerate() {
        w.push(&results::Sample {
            seq: i as u64,
            tx_ns: i as i64 * 1000,
            rx_ns: r.map(|r| i as i64 * 1000 + r),
            rtt_ns: *r,
            ..Default::default()
        })
        .unwrap();
    }
    w.finish().unwrap();
    let mut s = results::Summary {
        params: params.as_object().unwrap().clone(),
        repetition: rep,
        ..Default::default()
    };
    s.params.insert("repetition".into(), rep.into());
    s.packets.sent = rtts.len() as u64;
    s.packets.lost = rtts.iter().filter(|r| r.is_none()).count() as u64;
    s.packets.received = s.packets.sent - s.packets.lost;
    s.extra
        .insert("cpu_ns".into(), (1_000_000 * (rep as u64 + 1)).into());
    s.stages.insert(
        "b_processing".into(),
        json!({"median": 1000.0 * f64::from(rep + 1), "mean": 0.0}),
    );
    results::write_summary(&d, &s).unwrap();
}

#[test]
fn run_directories_group_repetitions_into_configurations() {
    let t = TempDir::new();
    write_run(
        &t.0,
        "r0",
        json!({"bp": true, "mode": "drv"}),
        0,
        &[Some(10), Some(20), None],
    );
    write_run(
        &t.0,
        "r1",
        json!({"bp": true, "mode": "drv"}),
        1,
        &[Some(30), Some(40)],
    );
    write_run(
        &t.0,
        "r2",
        json!({"bp": false, "mode": "drv"}),
        0,
        &[Some(1000), Some(1001), Some(1002), Some(1000)],
    );
    let ds = load_runs(&t.0).unwrap();
    assert_eq!(ds.configs.len(), 2);
    let c = ds.configs.iter().find(|c| c.id == "bp=true").unwrap();
    assert_eq!(c.runs.len(), 2);
    assert_eq!(
        serde_json::to_value(&c.params).unwrap(),
        json!({"bp": true, "mode": "drv"}),
        "repetition is not a parameter"
    );
    assert_eq!(c.runs[0].rtt.unwrap().mean, 15.0);
    assert_eq!((c.runs[0].sent, c.runs[0].lost), (3, 1));
    assert_eq!(c.runs[1].cpu_ns, Some(2e6));
    let a = analyze(
        &ds,
        &Options {
            max_loss: None,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(
        a.configs
            .iter()
            .find(|x| x.id == "bp=true")
            .unwrap()
            .stats
            .unwrap()
            .mean,
        25.0
    );
    assert_eq!(
        a.configs
            .iter()
            .find(|x| x.id == "bp=true")
            .unwrap()
            .stats
            .unwrap()
            .cpu_ns,
        Some(1.5e6)
    );
    let bp = a.configs.iter().find(|x| x.id == "bp=true").unwrap();
    assert_eq!(
        bp.stages["b_processing"], 1500.0,
        "stage medians averaged over repetitions"
    );
    assert_eq!(
        a.clusters
            .iter()
            .map(|c| c.stages["b_processing"])
            .collect::<Vec<_>>(),
        [1500.0, 1000.0]
    );
    let out = t.0.join("report");
    let files = analysis::write_outputs(&a, &ds, &Options::default(), &out).unwrap();
    assert!(
        files.iter().any(|f| f.ends_with("stages.svg"))
            && files.iter().any(|f| f.ends_with("pareto.svg")),
        "{files:?}"
    );
    assert!(
        std::fs::read_to_string(out.join("report.html"))
            .unwrap()
            .contains("Where the time goes")
    );
}

#[test]
fn empty_and_broken_run_directories() {
    let t = TempDir::new();
    let e = load_runs(&t.0).unwrap_err();
    assert!(
        e.is_bad_input() && e.to_string().contains("no run directories"),
        "{e}"
    );
    let d = t.0.join("runs/r0");
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join("summary.json"), "{ not json").unwrap();
    let e = load_runs(&t.0).unwrap_err();
    assert!(
        e.is_bad_input() && e.to_string().contains("r0/summary.json"),
        "{e}"
    );
}

#[test]
fn a_column_twice_is_refused_not_guessed() {
    let s = err_of("config,rep,rtt_ns,rtt_ns\na,0,1,2\n");
    assert!(
        s.contains("column rtt_ns") && s.contains("appears twice") && s.contains("3 and 4"),
        "{s}"
    );
    let s = err_of("config,rep,rtt_ns,zc, zc\na,0,1,true,true\n");
    assert!(
        s.contains("column zc") && s.contains("appears twice"),
        "{s}"
    );
}

#[test]
fn a_binary_or_unbroken_file_is_refused_before_it_is_buffered() {
    // a sparse file of zero bytes: refused at the first NUL, not read whole
    let t = TempDir::new();
    let p = t.0.join("sparse.csv");
    std::fs::File::create(&p)
        .unwrap()
        .set_len(64 << 20)
        .unwrap();
    let e = load_table(&p).unwrap_err();
    assert!(
        e.is_bad_input() && e.to_string().contains("NUL byte"),
        "{e}"
    );
    // a line longer than the bound: refused at that line
    let long = format!("config,rep,rtt_ns\na,0,{}\n", "1".repeat(2 << 20));
    let s = err_of(&long);
    assert!(s.contains("line 2 is longer than 1 MiB"), "{s}");
}

#[test]
fn compare_refuses_to_pool_a_sweep_and_compares_its_configurations_by_id() {
    let t = TempDir::new();
    write_run(&t.0, "r0", json!({"bp": true}), 0, &[Some(10), Some(12)]);
    write_run(&t.0, "r1", json!({"bp": false}), 0, &[Some(100), Some(90)]);
    let one = TempDir::new();
    write_run(&one.0, "r0", json!({"bp": true}), 0, &[Some(10), Some(11)]);
    write_run(&one.0, "r1", json!({"bp": true}), 1, &[Some(12), Some(13)]);
    let opts = |a: &Path, b: &Path, table: Option<&Path>| analysis::CompareOptions {
        a: a.display().to_string(),
        b: b.display().to_string(),
        table: table.map(Path::to_path_buf),
        bootstrap: 100,
        seed: 1,
    };
    let e = analysis::compare_inputs(&opts(&one.0, &t.0, None)).unwrap_err();
    let s = e.to_string();
    assert!(
        e.is_bad_input() && s.contains("2 configurations") && s.contains("--table"),
        "{s}"
    );
    // one configuration's repetitions are pooled
    let c = analysis::compare_inputs(&opts(&one.0, &one.0.join("runs/r0"), None)).unwrap();
    assert_eq!((c.n_a, c.n_b), (4, 2));
    // configurations of a sweep directory by id
    let c = analysis::compare_inputs(&opts(
        Path::new("bp=true"),
        Path::new("bp=false"),
        Some(&t.0),
    ))
    .unwrap();
    assert_eq!((c.median_a_ns, c.median_b_ns), (11.0, 95.0));
    let e = analysis::compare_inputs(&opts(
        Path::new("bp=maybe"),
        Path::new("bp=false"),
        Some(&t.0),
    ))
    .unwrap_err();
    assert!(
        e.to_string().contains("its ids: `bp=false`, `bp=true`"),
        "{e}"
    );
}

/// A dictionary page whose header claims more values than its bytes hold is refused before the
/// reader sizes the dictionary (parquet 57 fills a vector of the claimed count: a fuzzed 2 KB
/// file cost 8.5 GB); the same file as written, in many pages, loads.
#[test]
fn parquet_dictionary_claiming_more_values_than_its_page_holds() {
    use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
    let t = TempDir::new();
    let p = t.0.join("dict.parquet");
    let rows = 1000;
    let batch = RecordBatch::try_from_iter(vec![
        (
            "config",
            Arc::new(StringArray::from(vec!["x"; rows])) as ArrayRef,
        ),
        ("rep", Arc::new(Int64Array::from(vec![0; rows]))),
        (
            "rtt_ns",
            Arc::new(Float64Array::from_iter_values(
                (0..rows).map(|i| (i % 100) as f64),
            )),
        ),
    ])
    .unwrap();
    let props = parquet::file::properties::WriterProperties::builder()
        .set_data_page_row_count_limit(64)
        .set_write_batch_size(64)
        .build();
    let f = std::fs::File::create(&p).unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(f, batch.schema(), Some(props)).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    assert_eq!(load_table(&p).unwrap().configs[0].runs[0].sent, rows as u64);

    // the DOUBLE dictionary's header: field 7 (a struct) holding field 1 (i32) = 100 (zigzag
    // 200: c8 01); claim 8191 values (zigzag 16382: fe 7f) in the same 800 bytes
    let mut bytes = std::fs::read(&p).unwrap();
    let at = bytes
        .windows(4)
        .position(|w| w == [0x4c, 0x15, 0xc8, 0x01])
        .expect("the rtt_ns dictionary page header");
    bytes[at + 2..at + 4].copy_from_slice(&[0xfe, 0x7f]);
    std::fs::write(&p, &bytes).unwrap();
    let e = load_table(&p).unwrap_err();
    let s = e.to_string();
    assert!(e.is_bad_input(), "{s}");
    assert!(
        s.contains("column rtt_ns") && s.contains("claims 8191 values in 800 bytes"),
        "{s}"
    );
}

/// A codec this build does not decode is named with the fix (the reader alone says "Disabled
/// feature at compile time: zstd"). The file: pyarrow 26, `compression="zstd"`, three rows.
#[test]
fn parquet_with_a_codec_this_build_lacks() {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/zstd-pyarrow26.parquet");
    let e = load_table(&p).unwrap_err();
    let s = e.to_string();
    assert!(e.is_bad_input(), "{s}");
    assert!(
        s.contains("compressed with zstd") && s.contains("compression=\"snappy\""),
        "{s}"
    );
}
