//! `xdplat demo`: the whole measurement on the local namespace testbed, end to end: testbed up,
//! AF_XDP forwarder in B, pings from A over AF_XDP and then over kernel UDP (the baseline), a
//! summary of each, testbed down (also on error).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use probe::Knobs;
use probe::fwd::FwdConfig;

use crate::cmd::common::{require_root, stop_flag};
use crate::cmd::fwd::{FwdPlan, serve};
use crate::cmd::ping::{PingPlan, measure, print_summary};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where to write the run directories.
    #[arg(long, default_value = "xdplat-out/demo")]
    pub out: PathBuf,
    /// Testbed name (namespaces NAME-a and NAME-b).
    #[arg(long, default_value = "xdpdemo")]
    pub name: String,
    /// Seconds of pings per backend.
    #[arg(long, default_value_t = 5)]
    pub seconds: u64,
}

/// Removes the demo's testbed however the demo ends.
struct TestbedGuard(String);

impl Drop for TestbedGuard {
    fn drop(&mut self) {
        if let Err(e) = host::testbed::down(&self.0) {
            eprintln!("xdplat demo: removing testbed {}: {e}", self.0);
        }
    }
}

pub fn run(args: Args) -> anyhow::Result<()> {
    require_root("xdplat demo")?;
    let stop = stop_flag()?;
    let spec = host::testbed::TestbedSpec {
        name: args.name.clone(),
        queues: 1,
        with_c: false,
    };
    let status = host::testbed::up(&spec).map_err(crate::exit::classify)?;
    let _down = TestbedGuard(args.name.clone());
    let link = status
        .links
        .first()
        .ok_or_else(|| anyhow::anyhow!("testbed {} has no link", args.name))?;
    println!(
        "testbed {}: {} ({}) <-> {} ({})",
        status.name, link.a.netns, link.a.ipv4, link.b.netns, link.b.ipv4
    );
    let stamp = true;
    let interval = Duration::from_millis(10);
    let count = args.seconds * 1000 / 10;
    let run_stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    for udp in [false, true] {
        let backend = if udp { "udp" } else { "afxdp" };
        let knobs = Knobs {
            bind: xsk::BindMode::Auto,
            ..Knobs::default()
        };
        let fwd = FwdPlan {
            iface: link.b.iface.clone(),
            queue: 0,
            udp,
            port: probe::DEFAULT_PROBE_PORT,
            knobs: knobs.clone(),
            cfg: FwdConfig {
                stamp,
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
                .ok_or_else(|| anyhow::anyhow!("testbed B end has no address"))?,
            dst_mac: link.b.mac_bytes(),
            udp,
            port: probe::DEFAULT_PROBE_PORT,
            size: wire::MIN_STAMPED_PROBE_SIZE,
            interval,
            count,
            warmup: 10,
            linger: Duration::from_millis(500),
            stamp_room: stamp,
            repetition: 0,
            knobs,
        };
        let dir = args.out.join(format!("{run_stamp}-{backend}"));
        println!(
            "\n== {backend}: forwarder in {}, {} probes of {} B every {:?} from {}",
            link.b.netns, count, ping.size, interval, link.a.netns
        );
        let summary =
            ping_against_forwarder(&link.b.netns, &link.a.netns, fwd, ping, dir.clone(), &stop)?;
        print_summary(&summary, &dir);
        if let Some(st) = summary
            .stages
            .get("b_xdp_to_user")
            .and_then(|v| v.get("median"))
        {
            println!(
                "forwarder B: XDP hook to user space median {:.1} µs",
                st.as_f64().unwrap_or(0.0) / 1000.0
            );
        }
        if stop.load(Ordering::Relaxed) {
            break;
        }
    }
    Ok(())
}

/// Runs a forwarder thread in `fwd_ns` and a ping in `ping_ns` until the ping is done.
pub fn ping_against_forwarder(
    fwd_ns: &str,
    ping_ns: &str,
    fwd: FwdPlan,
    ping: PingPlan,
    dir: PathBuf,
    stop: &Arc<AtomicBool>,
) -> anyhow::Result<results::Summary> {
    let fwd_stop = Arc::new(AtomicBool::new(false));
    let (ready_tx, ready_rx) = mpsc::channel::<Result<(), String>>();
    let fwd_thread = {
        let fwd_stop = Arc::clone(&fwd_stop);
        let ns = fwd_ns.to_string();
        std::thread::spawn(move || -> anyhow::Result<()> {
            let _g = host::netns::enter(&ns).map_err(crate::exit::classify)?;
            let mut ready = |line: String| {
                println!("{line}");
                let _ = ready_tx.send(Ok(()));
            };
            let r = serve(&fwd, &fwd_stop, &mut ready);
            if let Err(e) = &r {
                let _ = ready_tx.send(Err(format!("{e:#}")));
            }
            r.map(|_| ())
        })
    };
    match ready_rx.recv_timeout(Duration::from_secs(10)) {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            let _ = fwd_thread.join();
            anyhow::bail!("forwarder failed to start: {e}");
        }
        Err(_) => anyhow::bail!("forwarder did not start within 10 s"),
    }
    let result = {
        let stop = Arc::clone(stop);
        let ns = ping_ns.to_string();
        std::thread::spawn(move || -> anyhow::Result<results::Summary> {
            let _g = host::netns::enter(&ns).map_err(crate::exit::classify)?;
            measure(&ping, &dir, &stop, &mut |_| {})
        })
        .join()
        .map_err(|_| anyhow::anyhow!("ping thread panicked"))?
    };
    fwd_stop.store(true, Ordering::Relaxed);
    fwd_thread
        .join()
        .map_err(|_| anyhow::anyhow!("forwarder thread panicked"))??;
    result
}
