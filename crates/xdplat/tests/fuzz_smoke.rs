//! The fuzz targets of `fuzz/` on stable, as a CI-sized smoke run: every seed (generated here,
//! `fuzz/seeds/TARGET/`) and every regression input (`fuzz/regressions/TARGET/`, crashes found
//! by earlier fuzzing) through each target, then seeded random mutations of them for a time
//! budget (`XDPLAT_FUZZ_SECS` per target, default 1). A crashing input is written under the
//! target's tmp dir and named in the failure, ready to become a regression file.
//! `XDPLAT_FUZZ_SEEDS_OUT=DIR` writes the seed corpus for cargo-fuzz (scripts/fuzz.sh).

#[path = "../../../fuzz/targets.rs"]
mod targets;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

type Target = fn(&[u8]);

const TARGETS: [(&str, Target); 5] = [
    ("probe_packet", targets::probe_packet),
    ("emit_roundtrip", targets::emit_roundtrip),
    ("experiment", targets::experiment),
    ("table_csv", targets::table_csv),
    ("table_parquet", targets::table_parquet),
];

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn files_in(dir: &Path) -> Vec<Vec<u8>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| p.is_file())
                .collect()
        })
        .unwrap_or_default();
    paths.sort();
    paths.iter().filter_map(|p| std::fs::read(p).ok()).collect()
}

fn probe(flow: &wire::FlowRepr, size: usize, stamps: Option<wire::FwdStamps>, seq: u64) -> Vec<u8> {
    let mut buf = vec![0u8; size];
    let p = wire::ProbeRepr {
        run_id: 0x5a5a,
        seq,
        tx_ns: seq.wrapping_mul(1_000_000_007),
        stamps,
        fwd_queue: None,
    };
    wire::emit_probe(&mut buf, flow, &p).expect("seed probe");
    buf
}

fn probe_seeds() -> Vec<Vec<u8>> {
    let flow = wire::FlowRepr {
        src_mac: wire::MacAddr([2, 0, 0, 0, 0, 1]),
        dst_mac: wire::MacAddr([2, 0, 0, 0, 0, 2]),
        src_ip: [10, 77, 1, 1].into(),
        dst_ip: [10, 77, 1, 2].into(),
        src_port: 9099,
        dst_port: 9099,
    };
    let set = wire::FwdStamps {
        xdp_ns: 1,
        rx_ns: 2,
        tx_ns: 3,
    };
    let mut v = vec![
        probe(&flow, 64, None, 1),
        probe(&flow, 88, Some(wire::FwdStamps::default()), 2),
        probe(&flow, 88, Some(set), 3),
        probe(&flow, 1500, None, u64::MAX),
        probe(&flow, 200, Some(wire::FwdStamps::default()), 0),
    ];
    let mut reflected = v[1].clone();
    wire::reflect_in_place(&mut reflected, true).expect("reflect");
    v.push(reflected);
    // foreign traffic: ARP, IPv4 TCP, UDP without the magic
    let mut arp = vec![0u8; 60];
    arp[12..14].copy_from_slice(&[0x08, 0x06]);
    v.push(arp);
    let mut tcp = v[0].clone();
    tcp[23] = 6;
    v.push(tcp);
    let mut other = v[0].clone();
    other[42] ^= 0xff;
    v.push(other);
    v
}

fn experiment_seeds() -> Vec<Vec<u8>> {
    let mut v = files_in(&repo().join("examples"));
    v.extend(
        files_in(&repo().join("crates/sweep/tests"))
            .into_iter()
            .filter(|f| f.starts_with(b"#") || f.starts_with(b"[")),
    );
    v
}

fn parquet_table(rows: &[(&str, i64, Option<f64>, bool)]) -> Vec<u8> {
    use arrow_array::{ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray};
    let config: ArrayRef = Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.0)));
    let rep: ArrayRef = Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.1)));
    let rtt: ArrayRef = Arc::new(Float64Array::from_iter(rows.iter().map(|r| r.2)));
    let bp: ArrayRef = Arc::new(BooleanArray::from_iter(rows.iter().map(|r| Some(r.3))));
    let batch = RecordBatch::try_from_iter([
        ("config", config),
        ("rep", rep),
        ("rtt_ns", rtt),
        ("busy_poll", bp),
    ])
    .expect("batch");
    let mut out = Vec::new();
    let mut w =
        parquet::arrow::ArrowWriter::try_new(&mut out, batch.schema(), None).expect("writer");
    w.write(&batch).expect("write");
    w.close().expect("close");
    out
}

fn seeds(target: &str) -> Vec<Vec<u8>> {
    let mut v = match target {
        "probe_packet" => probe_seeds(),
        "emit_roundtrip" => vec![vec![0; 80], (0u8..80).collect(), vec![0xff; 80], {
            let mut s = vec![7u8; 60];
            s[20] = 2;
            s
        }],
        "experiment" => experiment_seeds(),
        "table_parquet" => vec![
            parquet_table(&[
                ("a", 0, Some(12e3), true),
                ("a", 1, None, true),
                ("b", 0, Some(4e4), false),
            ]),
            parquet_table(&[]),
        ],
        _ => Vec::new(),
    };
    v.extend(files_in(&repo().join("fuzz/seeds").join(target)));
    v
}

/// xorshift64*: reproducible randomness without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// One random mutation of a corpus entry (bit flips, interesting bytes, cuts, inserts, splices).
fn mutate(rng: &mut Rng, corpus: &[Vec<u8>]) -> Vec<u8> {
    let mut d = corpus
        .get(rng.below(corpus.len()))
        .cloned()
        .unwrap_or_default();
    for _ in 0..1 + rng.below(4) {
        let len = d.len();
        match rng.below(8) {
            0 if len > 0 => {
                let i = rng.below(len);
                d[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                d[i] = [0, 1, 0x7f, 0x80, 0xff, b',', b'"', b'\n', b'=', b'['][rng.below(10)];
            }
            2 if len > 0 => d.truncate(rng.below(len)),
            3 => {
                let i = rng.below(len + 1);
                let n = 1 + rng.below(16);
                let bytes: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
                d.splice(i..i, bytes);
            }
            4 if len > 1 => {
                let a = rng.below(len);
                let b = a + rng.below(len - a);
                d.drain(a..b);
            }
            5 if len > 1 => {
                let a = rng.below(len);
                let b = (a + 1 + rng.below(32)).min(len);
                let chunk = d[a..b].to_vec();
                let at = rng.below(len + 1);
                d.splice(at..at, chunk);
            }
            6 => {
                let other = &corpus[rng.below(corpus.len())];
                let cut = rng.below(d.len() + 1);
                let from = rng.below(other.len() + 1);
                d.truncate(cut);
                d.extend_from_slice(&other[from..]);
            }
            _ if len >= 8 => {
                // a random 16/32/64-bit word: lengths, counts and offsets
                let i = rng.below(len - 7);
                let w = [0u64, u64::MAX, 1 << 63, rng.next()][rng.below(4)];
                let n = [2, 4, 8][rng.below(3)];
                d[i..i + n].copy_from_slice(&w.to_le_bytes()[..n]);
            }
            _ => d.push(rng.next() as u8),
        }
    }
    d
}

fn crash(name: &str, input: &[u8]) -> String {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("fuzz-crashes");
    let _ = std::fs::create_dir_all(&dir);
    let hash = input.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3)
    });
    let path = dir.join(format!("{name}-{hash:016x}"));
    let _ = std::fs::write(&path, input);
    format!(
        "{name} panicked on {} ({} bytes); copy it to fuzz/regressions/{name}/",
        path.display(),
        input.len()
    )
}

fn run_one(name: &str, f: Target, input: &[u8]) {
    if catch_unwind(AssertUnwindSafe(|| f(input))).is_err() {
        panic!("{}", crash(name, input));
    }
}

fn budget() -> Duration {
    std::env::var("XDPLAT_FUZZ_SECS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .map_or(Duration::from_secs(1), Duration::from_secs_f64)
}

fn fuzz(name: &str, f: Target) {
    let mut corpus = seeds(name);
    let regressions = files_in(&repo().join("fuzz/regressions").join(name));
    if let Some(out) = std::env::var_os("XDPLAT_FUZZ_SEEDS_OUT") {
        let dir = Path::new(&out).join(name);
        std::fs::create_dir_all(&dir).expect("seed dir");
        for (i, s) in corpus.iter().chain(&regressions).enumerate() {
            std::fs::write(dir.join(format!("seed-{i:03}")), s).expect("write seed");
        }
    }
    for input in corpus.iter().chain(&regressions) {
        run_one(name, f, input);
    }
    corpus.extend(regressions);
    if corpus.is_empty() {
        corpus.push(Vec::new());
    }
    let mut rng = Rng(0x00de_c0de ^ (name.len() as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    let start = Instant::now();
    let mut execs = corpus.len() as u64;
    while start.elapsed() < budget() {
        let input = mutate(&mut rng, &corpus);
        run_one(name, f, &input);
        execs += 1;
        // keep some mutants as new starting points
        if execs.is_multiple_of(64) && corpus.len() < 4096 {
            corpus.push(input);
        }
    }
    println!(
        "{name}: {execs} executions in {:.1} s",
        start.elapsed().as_secs_f64()
    );
}

#[test]
fn probe_packet() {
    fuzz(TARGETS[0].0, TARGETS[0].1);
}

#[test]
fn emit_roundtrip() {
    fuzz(TARGETS[1].0, TARGETS[1].1);
}

#[test]
fn experiment() {
    fuzz(TARGETS[2].0, TARGETS[2].1);
}

#[test]
fn table_csv() {
    fuzz(TARGETS[3].0, TARGETS[3].1);
}

#[test]
fn table_parquet() {
    fuzz(TARGETS[4].0, TARGETS[4].1);
}
