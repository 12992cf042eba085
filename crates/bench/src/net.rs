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
use probe::{Backend, Knobs, Role};
use serde_json::json;

use crate::bed::{Bed, cpus};
use crate::error::{Error, Result};
use crate::{Figure, median};

/// What runs on B while A pings.
pub(crate) enum BSide {
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
pub(crate) fn ping_through(
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

/// Each role's own defaults with `backend`, the ping sending `ping_batch` per interval and the
/// forwarder handling up to `fwd_batch` per ring operation.
fn role_knobs(backend: Backend, ping_batch: u32, fwd_batch: u32) -> (Knobs, Knobs) {
    (
        Knobs {
            backend,
            batch: ping_batch,
            ..Knobs::defaults(Role::Ping)
        },
        Knobs {
            backend,
            batch: fwd_batch,
            ..Knobs::defaults(Role::Fwd)
        },
    )
}

pub(crate) fn plans(
    bed: &Bed,
    (knobs, fwd_knobs): (Knobs, Knobs),
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
            ..fwd_knobs
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

/// Median RTT at one probe per 200 µs of the first configuration over the second (p99 beside
/// it), same probes, same hosts, same CPUs. The two alternate (`reps` times each) so that
/// drifting background load hits both alike; the medians over repetitions are compared. Each
/// run's figures are kept under the configuration's label.
fn rtt_first_over_second(
    bed: &Bed,
    quick: bool,
    cpus: (Option<usize>, Option<usize>),
    stop: &AtomicBool,
    sides: [(String, (Knobs, Knobs)); 2],
    meaning: &'static str,
) -> Result<Figure> {
    let (count, reps) = if quick { (300, 1) } else { (10_000, 3) };
    let (mut med, mut p99, mut runs) = ([vec![], vec![]], [vec![], vec![]], Vec::new());
    for _ in 0..reps {
        let mut run = serde_json::Map::new();
        for (i, (label, knobs)) in sides.iter().enumerate() {
            let (fwd, mut ping) = plans(bed, knobs.clone(), cpus)?;
            ping.count = count;
            let (s, _) = ping_through(bed, BSide::Forwarder(fwd), ping, cpus.1, stop)?;
            let r = rtt(&s, label)?;
            med[i].push(r.median);
            p99[i].push(r.p99);
            run.insert(
                label.clone(),
                json!({ "median_ns": r.median, "p99_ns": r.p99, "lost": s.packets.lost }),
            );
        }
        runs.push(serde_json::Value::Object(run));
    }
    let [m0, m1] = med;
    let [p0, p1] = p99;
    let (p0, p1) = (median(p0), median(p1));
    let mut f = Figure::new(median(m0), median(m1), "ns", meaning);
    f.extra.insert(
        "p99".into(),
        json!({ "value": p0, "baseline": p1, "ratio": p0 / p1 }),
    );
    f.extra.insert(
        "probes".into(),
        json!({ "per_run": count, "interval_us": 200, "size": wire::MIN_PROBE_SIZE, "repetitions": reps }),
    );
    f.extra.insert("runs".into(), json!(runs));
    Ok(f)
}

/// Median RTT of AF_XDP over udp (p99 beside it), same probes, same forwarder host, same CPUs.
pub fn rtt_vs_udp(
    bed: &Bed,
    quick: bool,
    asked: Option<(usize, usize)>,
    stop: &AtomicBool,
) -> Result<Figure> {
    let fwd_batch = Knobs::defaults(Role::Fwd).batch;
    let side = |b: Backend| (b.to_string(), role_knobs(b, 1, fwd_batch));
    rtt_first_over_second(
        bed,
        quick,
        cpus(asked),
        stop,
        [side(Backend::Afxdp), side(Backend::Udp)],
        "AF_XDP median RTT / udp backend median RTT (target at most 0.6)",
    )
}

/// The maximum-rate generator's batch and window (probes in flight): batches of 64, as the
/// reference AF_XDP sample (xdpsock) sends them, so that the generator can saturate the
/// forwarder and the figure measures the forwarder, not the generator.
const GEN_BATCH: u32 = 64;
const GEN_WINDOW: u32 = 256;
/// The forwarder's batch before it took up to 64 per ring operation: measured beside the
/// default in the same run.
const FWD_BATCH_BEFORE: u32 = 1;

/// A maximum-rate ping of `count` probes (64 B, batches of [`GEN_BATCH`], [`GEN_WINDOW`] in
/// flight).
fn max_rate(mut p: PingPlan, count: u64) -> PingPlan {
    p.interval = Duration::ZERO;
    p.count = count;
    p.warmup = 1000;
    p.window = GEN_WINDOW;
    p.sample_every = 1000;
    p.linger = Duration::from_millis(100);
    p
}

fn pps(s: &results::Summary) -> Result<f64> {
    s.extra
        .get("received_pps")
        .and_then(|v| v.as_f64())
        .ok_or_else(|| Error::Failed("a maximum-rate ping reported no rate".into()))
}

/// Packets per second A gets back at maximum rate (64 B, batches of 64, 256 in flight) through
/// the AF_XDP forwarder at its default batch, over the same through the XDP_TX reflector. The
/// forwarder at batch 1 (before) runs beside them: `batch1` is its figure against the same
/// reflector runs, `batch64_vs_batch1` the gain. The three alternate (`reps` times each) so that
/// drifting background load hits all alike; the medians are compared.
pub fn fwd_vs_xdp_tx(
    bed: &Bed,
    quick: bool,
    asked: Option<(usize, usize)>,
    stop: &AtomicBool,
) -> Result<Figure> {
    let cpus = cpus(asked);
    let (count, reps) = if quick { (50_000, 1) } else { (1_000_000, 5) };
    let fwd_batch = Knobs::defaults(Role::Fwd).batch;
    let (mut fwd_pps, mut before_pps, mut refl_pps, mut runs) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let through_fwd = |batch: u32| -> Result<(results::Summary, u64)> {
        let (fwd, ping) = plans(bed, role_knobs(Backend::Afxdp, GEN_BATCH, batch), cpus)?;
        ping_through(
            bed,
            BSide::Forwarder(fwd),
            max_rate(ping, count),
            cpus.1,
            stop,
        )
    };
    for _ in 0..reps {
        let (fs, forwarded) = through_fwd(fwd_batch)?;
        let (_, ping) = plans(bed, role_knobs(Backend::Afxdp, GEN_BATCH, 1), cpus)?;
        let (rs, reflected) =
            ping_through(bed, BSide::Reflector, max_rate(ping, count), cpus.1, stop)?;
        let (bs, before) = through_fwd(FWD_BATCH_BEFORE)?;
        fwd_pps.push(pps(&fs)? / 1e6);
        refl_pps.push(pps(&rs)? / 1e6);
        before_pps.push(pps(&bs)? / 1e6);
        let side = |s: &results::Summary, handled: u64| -> Result<serde_json::Value> {
            Ok(
                json!({ "mpps": pps(s)? / 1e6, "lost": s.packets.lost, "b_handled": handled,
                       "rtt_median_ns": s.rtt_ns.as_ref().map(|r| r.median) }),
            )
        };
        runs.push(json!({
            "forwarder": side(&fs, forwarded)?,
            "reflector": side(&rs, reflected)?,
            "forwarder_batch1": side(&bs, before)?,
        }));
    }
    let (fwd, before, refl) = (median(fwd_pps), median(before_pps), median(refl_pps));
    let mut f = Figure::new(
        fwd,
        refl,
        "Mpps",
        "AF_XDP forwarder Mpps (64 B, generator batch 64) / XDP_TX reflector Mpps, same generator (target at least 0.9)",
    );
    f.extra.insert(
        "batches".into(),
        json!({ "generator": GEN_BATCH, "forwarder": fwd_batch, "forwarder_before": FWD_BATCH_BEFORE }),
    );
    f.extra.insert(
        "batch1".into(),
        json!({ "value": before, "baseline": refl, "ratio": before / refl }),
    );
    f.extra.insert(
        "batch64_vs_batch1".into(),
        json!({ "value": fwd, "baseline": before, "ratio": fwd / before }),
    );
    f.extra.insert(
        "generator".into(),
        json!({ "size": wire::MIN_PROBE_SIZE, "batch": GEN_BATCH, "window": GEN_WINDOW, "probes": count, "repetitions": reps }),
    );
    f.extra.insert("runs".into(), json!(runs));
    Ok(f)
}

/// Median RTT at one probe per 200 µs through the forwarder at its default batch (64) over the
/// same at batch 1: taking up to a batch must not delay a lone probe (ratio about 1).
pub fn fwd_batch_rtt(
    bed: &Bed,
    quick: bool,
    asked: Option<(usize, usize)>,
    stop: &AtomicBool,
) -> Result<Figure> {
    let fwd_batch = Knobs::defaults(Role::Fwd).batch;
    let side = |b: u32| (format!("fwd_batch{b}"), role_knobs(Backend::Afxdp, 1, b));
    let mut f = rtt_first_over_second(
        bed,
        quick,
        cpus(asked),
        stop,
        [side(fwd_batch), side(FWD_BATCH_BEFORE)],
        "median RTT at 1 probe / 200 µs, forwarder batch 64 / forwarder batch 1 (target about 1)",
    )?;
    f.extra.insert(
        "batches".into(),
        json!({ "ping": 1, "forwarder": fwd_batch, "forwarder_before": FWD_BATCH_BEFORE }),
    );
    Ok(f)
}
