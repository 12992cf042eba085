//! Benchmark: reading a long table (`--table`) of 5 million rows, CSV and
//! Parquet, in rows per second, and the whole analysis of it; and the cost of the Parquet page
//! check as a share of the load it guards.
//! Run: `cargo bench -p analysis --bench table`.

use std::sync::Arc;
use std::time::Instant;

use arrow_array::{ArrayRef, BooleanArray, Int64Array, RecordBatch, StringArray};

const ROWS: usize = 5_000_000;
const CONFIGS: usize = 100;

fn row(i: usize) -> (String, i64, i64, bool, i64) {
    let c = i % CONFIGS;
    let rep = ((i / CONFIGS) % 3) as i64;
    let rtt =
        10_000 + (c as i64 % 4) * 20_000 + ((i as i64).wrapping_mul(2_654_435_761) % 3_000).abs();
    (
        format!("c{c}"),
        rep,
        rtt,
        c.is_multiple_of(2),
        (c % 5) as i64,
    )
}

fn main() {
    let dir = std::env::temp_dir().join(format!("analysis-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let csv = dir.join("t.csv");
    let mut s = String::with_capacity(ROWS * 30);
    s += "config,rep,rtt_ns,bp,cs\n";
    for i in 0..ROWS {
        let (c, rep, rtt, bp, cs) = row(i);
        s += &format!("{c},{rep},{rtt},{bp},{cs}\n");
    }
    std::fs::write(&csv, &s).unwrap();
    drop(s);

    let pq = dir.join("t.parquet");
    let f = std::fs::File::create(&pq).unwrap();
    let mut w: Option<parquet::arrow::ArrowWriter<std::fs::File>> = None;
    let mut f = Some(f);
    for chunk in (0..ROWS).collect::<Vec<_>>().chunks(1 << 20) {
        let rows: Vec<_> = chunk.iter().map(|&i| row(i)).collect();
        let batch = RecordBatch::try_from_iter(vec![
            (
                "config",
                Arc::new(StringArray::from_iter_values(
                    rows.iter().map(|r| r.0.as_str()),
                )) as ArrayRef,
            ),
            (
                "rep",
                Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.1))),
            ),
            (
                "rtt_ns",
                Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.2))),
            ),
            (
                "bp",
                Arc::new(BooleanArray::from(
                    rows.iter().map(|r| r.3).collect::<Vec<_>>(),
                )),
            ),
            (
                "cs",
                Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.4))),
            ),
        ])
        .unwrap();
        let w = w.get_or_insert_with(|| {
            parquet::arrow::ArrowWriter::try_new(f.take().unwrap(), batch.schema(), None).unwrap()
        });
        w.write(&batch).unwrap();
    }
    w.unwrap().close().unwrap();

    for p in [&csv, &pq] {
        let t = Instant::now();
        let ds = analysis::load_table(p).unwrap();
        let load = t.elapsed();
        let t = Instant::now();
        let a = analysis::analyze(&ds, &analysis::Options::default()).unwrap();
        let an = t.elapsed();
        println!(
            "{}: {ROWS} rows loaded in {load:?} ({:.1} M rows/s); analysis of {} configurations in {an:?} (k = {})",
            p.extension().unwrap().to_string_lossy(),
            ROWS as f64 / load.as_secs_f64() / 1e6,
            ds.configs.len(),
            a.k
        );
    }
    // the page walk before the reader (parquet_pages), against the whole load measured here
    let t = Instant::now();
    analysis::parquet_page_check(&pq).unwrap();
    let check = t.elapsed();
    let t = Instant::now();
    analysis::load_table(&pq).unwrap();
    let load = t.elapsed();
    println!(
        "parquet page check: {check:?} of a {load:?} load (check_over_load {:.4})",
        check.as_secs_f64() / load.as_secs_f64()
    );
    let _ = std::fs::remove_dir_all(&dir);
}
