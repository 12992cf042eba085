//! The benchmarks that need the namespace testbed: RTT of the AF_XDP path against the udp
//! backend, and the forwarder's packet rate against the in-kernel XDP_TX reflector. Each side
//! runs in a thread that entered its namespace (A: ping, B: forwarder or reflector), pinned to
//! its own CPU.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::Context;
use probe::Knobs;
use probe::fwd::FwdConfig;
use serde_json::json;

use super::Figure;
use crate::cmd::fwd::{FwdPlan, serve};
use crate::cmd::ping::{PingPlan, measure};

/// Set by SIGINT/SIGTERM: the running ping stops early.
pub static STOP: std::sync::OnceLock<Arc<AtomicBool>> = std::sync::OnceLock::new();

/// A testbed for the benchmarks, removed on drop; also a scratch directory for run directories.
pub struct Bed {
    pub status: host::testbed::Status,
    pub scratch: PathBuf,
}

impl Bed {
    pub fn up() -> anyhow::Result<Bed> {
        let name = format!("xb{}", std::process::id() % 100_000_000);
        let spec = host::testbed::TestbedSpec {
            name,
            queues: 1,
            with_c: false,
        };
        let scratch = std::env::temp_dir().join(format!("xdplat-bench-{}", std::process::id()));
        std::fs::create_dir_all(&scratch)
            .with_context(|| format!("mkdir {}", scratch.display()))?;
        // the guard first, so a half-made testbed is removed too
        let mut bed = Bed {
            status: host::testbed::Status {
                name: spec.name.clone(),
                kind: host::testbed::Kind::Netns,
                links: Vec::new(),
                vm: None,
            },
            scratch,
        };
        bed.status = host::testbed::up(&spec).map_err(crate::exit::classify)?;
        Ok(bed)
    }

    pub fn link(&self) -> &host::testbed::Link {
        &self.status.links[0]
    }

    /// A fresh run directory path.
    pub fn run_dir(&self, what: &str) -> PathBuf {
        use std::sync::atomic::AtomicU32;
        static N: AtomicU32 = AtomicU32::new(0);
        self.scratch
            .join(format!("{what}-{}", N.fetch_add(1, Ordering::Relaxed)))
    }
}

impl Drop for Bed {
    fn drop(&mut self) {
        if let Err(e) = host::testbed::down(&self.status.name) {
            eprintln!("xdplat bench: removing testbed {}: {e}", self.status.name);
        }
        let _ = std::fs::remove_dir_all(&self.scratch);
    }
}

/// CPUs for (A, B): as asked, else the first two this process may use, else none.
pub fn cpus(asked: Option<(usize, usize)>) -> (Option<usize>, Option<usize>) {
    if let Some((a, b)) = asked {
        return (Some(a), Some(b));
    }
    match probe::knobs::allowed_cpus().unwrap_or_default().as_slice() {
        [a, b, ..] => (Some(*a), Some(*b)),
        _ => (None, None),
    }
}

/// What runs on B while A pings.
enum BSide {
    Forwarder(FwdPlan),
    Reflector,
}

/// Runs `b` in B's namespace, a ping in A's, and returns the ping's summary and (for the
/// reflector) the packets it reflected.
fn ping_through(
    bed: &Bed,
    b: BSide,
    ping: PingPlan,
    b_cpu: Option<usize>,
) -> anyhow::Result<(results::Summary, u64)> {
    let link = bed.link();
    let stop = Arc::new(AtomicBool::new(false));
    let (ready_tx, ready_rx) = mpsc::channel::<Result<(), String>>();
    let b_thread = {
        let stop = Arc::clone(&stop);
        let ns = link.b.netns.clone();
        let iface = link.b.iface.clone();
        std::thread::spawn(move || -> anyhow::Result<u64> {
            let _g = host::netns::enter(&ns).map_err(crate::exit::classify)?;
            let fail = |e: &anyhow::Error, tx: &mpsc::Sender<Result<(), String>>| {
                let _ = tx.send(Err(format!("{e:#}")));
            };
            match b {
                BSide::Forwarder(plan) => {
                    let r = serve(&plan, &stop, &mut |_| {
                        let _ = ready_tx.send(Ok(()));
                    });
                    if let Err(e) = &r {
                        fail(e, &ready_tx);
                    }
                    r.map(|o| o.forwarded)
                }
                BSide::Reflector => {
                    let r = (|| -> anyhow::Result<xdp::ReflectProgram> {
                        if let Some(cpu) = b_cpu {
                            probe::knobs::pin_current_thread(cpu)?;
                        }
                        let info = host::iface::info(&iface).map_err(crate::exit::classify)?;
                        Ok(xdp::ReflectProgram::attach(
                            info.ifindex,
                            xdp::XdpMode::Drv,
                            probe::DEFAULT_PROBE_PORT,
                        )?)
                    })();
                    let prog = match r {
                        Ok(p) => p,
                        Err(e) => {
                            fail(&e, &ready_tx);
                            return Err(e);
                        }
                    };
                    let _ = ready_tx.send(Ok(()));
                    while !stop.load(Ordering::Relaxed) {
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    Ok(prog.reflected()?)
                }
            }
        })
    };
    let started = match ready_rx.recv_timeout(Duration::from_secs(10)) {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(anyhow::anyhow!("B side failed to start: {e}")),
        Err(_) => Err(anyhow::anyhow!("B side did not start within 10 s")),
    };
    let result = started.and_then(|()| {
        let ns = link.a.netns.clone();
        let dir = bed.run_dir("ping");
        let stop = STOP
            .get()
            .cloned()
            .unwrap_or_else(|| Arc::new(AtomicBool::new(false)));
        std::thread::spawn(move || -> anyhow::Result<results::Summary> {
            let _g = host::netns::enter(&ns).map_err(crate::exit::classify)?;
            measure(&ping, &dir, &stop, &mut |_| {})
        })
        .join()
        .map_err(|_| anyhow::anyhow!("ping thread panicked"))?
    });
    stop.store(true, Ordering::Relaxed);
    let b_count = b_thread
        .join()
        .map_err(|_| anyhow::anyhow!("B thread panicked"))?;
    let summary = result?;
    Ok((summary, b_count?))
}

fn plans(
    bed: &Bed,
    udp: bool,
    knobs: Knobs,
    cpus: (Option<usize>, Option<usize>),
) -> anyhow::Result<(FwdPlan, PingPlan)> {
    let link = bed.link();
    let fwd = FwdPlan {
        iface: link.b.iface.clone(),
        queue: 0,
        queues: 1,
        udp,
        port: probe::DEFAULT_PROBE_PORT,
        knobs: Knobs {
            cpu: cpus.1,
            ..knobs.clone()
        },
        cfg: FwdConfig {
            stamp: false,
            swap_l3: true,
            duration: None,
            hold: Duration::ZERO,
        },
    };
    let ping = PingPlan {
        iface: link.a.iface.clone(),
        queue: 0,
        dst_ip: link.b.ip().context("testbed B end has no address")?,
        dst_mac: link.b.mac_bytes(),
        udp,
        port: probe::DEFAULT_PROBE_PORT,
        size: wire::MIN_PROBE_SIZE,
        interval: Duration::from_micros(200),
        count: 1000,
        warmup: 50,
        linger: Duration::from_millis(200),
        stamp_room: false,
        repetition: 0,
        window: 0,
        sample_every: 1,
        knobs: Knobs {
            cpu: cpus.0,
            ..knobs
        },
    };
    Ok((fwd, ping))
}

fn rtt(s: &results::Summary, what: &str) -> anyhow::Result<results::Describe> {
    s.rtt_ns
        .with_context(|| format!("{what}: no reply came back"))
}

/// Median RTT of AF_XDP over udp (p99 beside it), same probes, same forwarder host, same CPUs.
/// The backends alternate (`reps` times each); the medians over repetitions are compared.
pub fn rtt_vs_udp(bed: &Bed, quick: bool, asked: Option<(usize, usize)>) -> anyhow::Result<Figure> {
    let cpus = cpus(asked);
    let (count, reps) = if quick { (300, 1) } else { (10_000, 3) };
    let (mut med, mut p99, mut runs) = (
        [Vec::new(), Vec::new()],
        [Vec::new(), Vec::new()],
        Vec::new(),
    );
    for _ in 0..reps {
        let mut run = serde_json::Map::new();
        for (i, udp) in [false, true].into_iter().enumerate() {
            let what = if udp { "udp" } else { "afxdp" };
            let (fwd, mut ping) = plans(bed, udp, Knobs::default(), cpus)?;
            ping.count = count;
            let (s, _) = ping_through(bed, BSide::Forwarder(fwd), ping, cpus.1)?;
            let r = rtt(&s, what)?;
            med[i].push(r.median);
            p99[i].push(r.p99);
            run.insert(
                what.into(),
                json!({ "median_ns": r.median, "p99_ns": r.p99, "lost": s.packets.lost }),
            );
        }
        runs.push(serde_json::Value::Object(run));
    }
    let [xm, um] = med;
    let [xp, up] = p99;
    let (xp, up) = (median(xp), median(up));
    let mut f = Figure::new(
        median(xm),
        median(um),
        "ns",
        "AF_XDP median RTT / udp backend median RTT (target at most 0.6)",
    );
    f.extra.insert(
        "p99".into(),
        json!({ "value": xp, "baseline": up, "ratio": xp / up }),
    );
    f.extra.insert(
        "probes".into(),
        json!({ "per_run": count, "interval_us": 200, "size": wire::MIN_PROBE_SIZE, "repetitions": reps }),
    );
    f.extra.insert("runs".into(), json!(runs));
    Ok(f)
}

/// Median of a few values.
fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Packets per second A gets back at maximum rate (64 B, a window in flight) through the AF_XDP
/// forwarder, over the same through the XDP_TX reflector. The two alternate (`reps` times
/// each) so that drifting background load hits both alike; the medians are compared.
pub fn fwd_vs_xdp_tx(
    bed: &Bed,
    quick: bool,
    asked: Option<(usize, usize)>,
) -> anyhow::Result<Figure> {
    let cpus = cpus(asked);
    let (count, reps) = if quick { (50_000, 1) } else { (1_000_000, 5) };
    // copy mode sends at most 32 frames per sendto: batches of 32 on both sides
    let knobs = Knobs {
        batch: GEN_BATCH,
        ..Knobs::default()
    };
    let max_rate = |mut p: PingPlan| {
        p.interval = Duration::ZERO;
        p.count = count;
        p.warmup = 1000;
        p.window = GEN_WINDOW;
        p.sample_every = 1000;
        p.linger = Duration::from_millis(100);
        p
    };
    let pps = |s: &results::Summary| {
        s.extra
            .get("received_pps")
            .and_then(|v| v.as_f64())
            .context("a maximum-rate ping reported no rate")
    };
    let (mut fwd_pps, mut refl_pps, mut runs) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..reps {
        let (fwd, ping) = plans(bed, false, knobs.clone(), cpus)?;
        let (fs, forwarded) = ping_through(bed, BSide::Forwarder(fwd), max_rate(ping), cpus.1)?;
        let (_, ping) = plans(bed, false, knobs.clone(), cpus)?;
        let (rs, reflected) = ping_through(bed, BSide::Reflector, max_rate(ping), cpus.1)?;
        fwd_pps.push(pps(&fs)? / 1e6);
        refl_pps.push(pps(&rs)? / 1e6);
        runs.push(json!({
            "forwarder": { "mpps": pps(&fs)? / 1e6, "lost": fs.packets.lost, "b_forwarded": forwarded,
                           "rtt_median_ns": fs.rtt_ns.as_ref().map(|r| r.median) },
            "reflector": { "mpps": pps(&rs)? / 1e6, "lost": rs.packets.lost, "b_reflected": reflected,
                           "rtt_median_ns": rs.rtt_ns.as_ref().map(|r| r.median) },
        }));
    }
    let mut f = Figure::new(
        median(fwd_pps),
        median(refl_pps),
        "Mpps",
        "AF_XDP forwarder Mpps (64 B) / XDP_TX reflector Mpps, same generator (target at least 0.9)",
    );
    f.extra.insert(
        "generator".into(),
        json!({ "size": wire::MIN_PROBE_SIZE, "batch": GEN_BATCH, "window": GEN_WINDOW, "probes": count, "repetitions": reps }),
    );
    f.extra.insert("runs".into(), json!(runs));
    Ok(f)
}

/// The maximum-rate generator's batch and window (probes in flight).
const GEN_BATCH: u32 = 32;
const GEN_WINDOW: u32 = 64;
