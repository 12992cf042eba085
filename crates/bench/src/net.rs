//! The benchmarks that need the namespace testbed: RTT of the AF_XDP path against the udp
//! backend, and the forwarder's packet rate against the in-kernel XDP_TX reflector. Each side
//! runs in a thread that entered its namespace (A: ping, B: forwarder or reflector), pinned to
//! its own CPU.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use probe::fwd::FwdConfig;
use probe::measure::{PingPlan, measure};
use probe::serve::{FwdPlan, serve};
use probe::{Backend, Knobs};
use serde_json::json;

use crate::bed::{Bed, cpus};
use crate::error::{Error, Result};
use crate::{Figure, median};

/// What runs on B while A pings.
enum BSide {
    Forwarder(Box<FwdPlan>),
    Reflector,
}

/// Runs B's side until the ping is done; the packets it handled.
fn b_side(
    bed: &Bed,
    b: BSide,
    cpu: Option<usize>,
    stop: &AtomicBool,
    ready: &mpsc::Sender<std::result::Result<(), String>>,
) -> Result<u64> {
    let link = bed.link();
    let _ns = host::netns::enter(&link.b.netns)?;
    let started = |r: &Result<()>| {
        let _ = ready.send(r.as_ref().map(|_| ()).map_err(ToString::to_string));
    };
    match b {
        BSide::Forwarder(plan) => {
            let r = serve(&plan, stop, &mut |_| {
                let _ = ready.send(Ok(()));
            });
            if let Err(e) = &r {
                let _ = ready.send(Err(e.to_string()));
            }
            Ok(r?.forwarded)
        }
        BSide::Reflector => {
            let attach = || -> Result<xdp::ReflectProgram> {
                if let Some(cpu) = cpu {
                    probe::knobs::pin_current_thread(cpu)?;
                }
                let info = host::iface::info(&link.b.iface)?;
                Ok(xdp::ReflectProgram::attach(
                    info.ifindex,
                    xdp::XdpMode::Drv,
                    probe::DEFAULT_PROBE_PORT,
                )?)
            };
            let prog = attach();
            started(
                &prog
                    .as_ref()
                    .map(|_| ())
                    .map_err(|e| Error::Failed(e.to_string())),
            );
            let prog = prog?;
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(5));
            }
            Ok(prog.reflected()?)
        }
    }
}

/// Runs `b` in B's namespace and a ping in A's; the ping's summary and the packets B handled.
fn ping_through(
    bed: &Bed,
    b: BSide,
    ping: PingPlan,
    b_cpu: Option<usize>,
    user_stop: &AtomicBool,
) -> Result<(results::Summary, u64)> {
    let b_stop = AtomicBool::new(false);
    let (ready_tx, ready_rx) = mpsc::channel();
    std::thread::scope(|s| {
        let b_thread = s.spawn(|| b_side(bed, b, b_cpu, &b_stop, &ready_tx));
        let started = match ready_rx.recv_timeout(Duration::from_secs(10)) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(Error::Failed(format!("B side failed to start: {e}"))),
            Err(_) => Err(Error::Failed("B side did not start within 10 s".into())),
        };
        let result = started.and_then(|()| {
            let dir = bed.run_dir("ping");
            let ns = &bed.link().a.netns;
            let ping = &ping;
            s.spawn(move || -> Result<results::Summary> {
                let _g = host::netns::enter(ns)?;
                Ok(measure(ping, &dir, user_stop, &mut |_| {})?)
            })
            .join()
            .map_err(|_| Error::Failed("ping thread panicked".into()))?
        });
        b_stop.store(true, Ordering::Relaxed);
        let b_count = b_thread
            .join()
            .map_err(|_| Error::Failed("B thread panicked".into()))?;
        Ok((result?, b_count?))
    })
}

fn plans(
    bed: &Bed,
    knobs: Knobs,
    cpus: (Option<usize>, Option<usize>),
) -> Result<(Box<FwdPlan>, PingPlan)> {
    let link = bed.link();
    let fwd = FwdPlan {
        iface: link.b.iface.clone(),
        queue: 0,
        queues: 1,
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
        dst_ip: link
            .b
            .ip()
            .ok_or_else(|| Error::Failed("testbed B end has no address".into()))?,
        dst_mac: link.b.mac_bytes(),
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
    Ok((Box::new(fwd), ping))
}

fn rtt(s: &results::Summary, what: &str) -> Result<results::Describe> {
    s.rtt_ns
        .ok_or_else(|| Error::Failed(format!("{what}: no reply came back")))
}

/// Median RTT of AF_XDP over udp (p99 beside it), same probes, same forwarder host, same CPUs.
/// The backends alternate (`reps` times each); the medians over repetitions are compared.
pub fn rtt_vs_udp(
    bed: &Bed,
    quick: bool,
    asked: Option<(usize, usize)>,
    stop: &AtomicBool,
) -> Result<Figure> {
    let cpus = cpus(asked);
    let (count, reps) = if quick { (300, 1) } else { (10_000, 3) };
    let (mut med, mut p99, mut runs) = (
        [Vec::new(), Vec::new()],
        [Vec::new(), Vec::new()],
        Vec::new(),
    );
    for _ in 0..reps {
        let mut run = serde_json::Map::new();
        for (i, backend) in [Backend::Afxdp, Backend::Udp].into_iter().enumerate() {
            let knobs = Knobs {
                backend,
                ..Knobs::default()
            };
            let (fwd, mut ping) = plans(bed, knobs, cpus)?;
            ping.count = count;
            let (s, _) = ping_through(bed, BSide::Forwarder(fwd), ping, cpus.1, stop)?;
            let what = backend.to_string();
            let r = rtt(&s, &what)?;
            med[i].push(r.median);
            p99[i].push(r.p99);
            run.insert(
                what,
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

/// The maximum-rate generator's batch and window (probes in flight).
const GEN_BATCH: u32 = 32;
const GEN_WINDOW: u32 = 64;

/// Packets per second A gets back at maximum rate (64 B, a window in flight) through the AF_XDP
/// forwarder, over the same through the XDP_TX reflector. The two alternate (`reps` times
/// each) so that drifting background load hits both alike; the medians are compared.
pub fn fwd_vs_xdp_tx(
    bed: &Bed,
    quick: bool,
    asked: Option<(usize, usize)>,
    stop: &AtomicBool,
) -> Result<Figure> {
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
            .ok_or_else(|| Error::Failed("a maximum-rate ping reported no rate".into()))
    };
    let (mut fwd_pps, mut refl_pps, mut runs) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..reps {
        let (fwd, ping) = plans(bed, knobs.clone(), cpus)?;
        let (fs, forwarded) =
            ping_through(bed, BSide::Forwarder(fwd), max_rate(ping), cpus.1, stop)?;
        let (_, ping) = plans(bed, knobs.clone(), cpus)?;
        let (rs, reflected) = ping_through(bed, BSide::Reflector, max_rate(ping), cpus.1, stop)?;
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
