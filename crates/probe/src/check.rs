//! The one validation pass of the roles: every value of a ping or a forwarder is checked before
//! the first network, host or file action, so bad input ends with a message naming the parameter
//! and the fix and nothing changed. In order: the values alone and together ([`ping`], [`fwd`]:
//! ranges, address classes, the knobs, the memory a run would take), then what the interface
//! says (a read: [`ping_iface`], [`fwd_iface`]: its address, queues and MTU) and the output
//! directory ([`out_dir`]). The sweep runs the same value checks on every configuration of an
//! experiment before its first run.

use std::net::Ipv4Addr;
use std::path::Path;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::knobs::{Backend, Knobs};
use crate::measure::PingPlan;
use crate::serve::FwdPlan;

/// Bytes of raw rows (one [`results::Sample`] per kept probe) one ping may hold in memory.
pub const ROW_BUDGET: u64 = 2 << 30;

/// Bytes one raw row takes in memory.
pub const ROW_BYTES: u64 = std::mem::size_of::<results::Sample>() as u64;

/// Most raw rows one ping keeps ([`ROW_BUDGET`]).
pub const MAX_ROWS: u64 = ROW_BUDGET / ROW_BYTES;

/// Longest `--interval` and `--linger`.
pub const MAX_WAIT: Duration = Duration::from_secs(3600);

/// Longest `--duration` of a ping or a forwarder (30 days).
pub const MAX_DURATION: Duration = Duration::from_secs(30 * 86_400);

/// Longest `--hold` of a forwarder (a busy wait per packet).
pub const MAX_HOLD: Duration = Duration::from_secs(1);

/// Largest `--window` (the in-flight ring holds 64 windows).
pub const MAX_WINDOW: u32 = 1 << 16;

/// The memory the kernel says is available (MemAvailable), in bytes.
pub fn memory_available() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// A probe UDP port (`--port`, or the experiment's `port`): 1 to 65535.
pub fn port(param: &str, p: u16) -> Result<()> {
    if p == 0 {
        return Err(Error::config(
            param,
            p,
            "port 0 is not a port one can send to: give 1 to 65535 (default 9099)",
        ));
    }
    Ok(())
}

/// The forwarder's address (`--dst-ip`): one host's unicast address.
pub fn dst_ip(ip: Ipv4Addr) -> Result<()> {
    let why = if ip.is_unspecified() {
        "0.0.0.0 is no host's address"
    } else if ip.is_broadcast() {
        "a broadcast address reaches every host, not the forwarder"
    } else if ip.is_multicast() {
        "a multicast address is a group, not the forwarder"
    } else if ip.octets()[0] >= 240 {
        "240.0.0.0/4 is reserved, no host's address"
    } else {
        return Ok(());
    };
    Err(Error::config(
        "--dst-ip",
        ip,
        format!("{why}: give the forwarder's own IPv4 address"),
    ))
}

/// The forwarder's MAC (`--dst-mac`): one interface's unicast address.
pub fn dst_mac(mac: &[u8; 6]) -> Result<()> {
    let why = if *mac == [0xff; 6] {
        "the broadcast MAC reaches every host on the link, not the forwarder"
    } else if mac[0] & 1 == 1 {
        "a multicast MAC (lowest bit of the first byte set) is a group, not the forwarder"
    } else if *mac == [0; 6] {
        "00:00:00:00:00:00 is no interface's address"
    } else {
        return Ok(());
    };
    Err(Error::config(
        "--dst-mac",
        host::iface::format_mac(mac),
        format!("{why}: give the forwarder interface's MAC, or auto"),
    ))
}

fn at_most(param: &str, d: Duration, max: Duration) -> Result<()> {
    if d > max {
        return Err(Error::config(
            param,
            humantime::format_duration(d),
            format!("at most {}", humantime::format_duration(max)),
        ));
    }
    Ok(())
}

/// The largest frame the ping's backend sends (after the knobs were checked).
pub fn max_frame(knobs: &Knobs) -> usize {
    match knobs.backend {
        Backend::Udp => crate::udp::MAX_FRAME,
        Backend::Afxdp => knobs.umem().max_packet() as usize,
    }
}

/// Probes of a ping given by `--duration` at one batch per `--interval`.
pub fn count_for(duration: Duration, interval: Duration, batch: u32) -> Result<u64> {
    if interval.is_zero() {
        return Err(Error::Input(
            "--interval 0 needs --count (how many probes to send back to back)".into(),
        ));
    }
    if duration.is_zero() {
        return Err(Error::config(
            "--duration",
            "0s",
            "must be above 0: give how long to send (30s), or --count",
        ));
    }
    at_most("--duration", duration, MAX_DURATION)?;
    let batches = (duration.as_nanos() / interval.as_nanos()).max(1);
    u64::try_from(batches)
        .ok()
        .and_then(|b| b.checked_mul(u64::from(batch)))
        .ok_or_else(|| {
            Error::config(
                "--duration",
                humantime::format_duration(duration),
                "too many probes",
            )
        })
}

/// The probe ports `port..port + flows` must all be ports.
pub fn flow_ports(port: u16, flows: u32) -> Result<()> {
    if u32::from(port) + flows > 65_536 {
        return Err(Error::config(
            "--flows",
            flows,
            format!(
                "with --port {port} the flows' ports {port}..{} pass 65535: lower --port or --flows",
                u32::from(port) + flows - 1
            ),
        ));
    }
    Ok(())
}

/// Every value of a ping, alone and together, before anything is touched: the knobs, the
/// probe size against the frame, the counts against the memory their raw rows take, the
/// waits, the window, the port and the forwarder's addresses.
pub fn ping(plan: &PingPlan) -> Result<()> {
    port("--port", plan.port)?;
    flow_ports(plan.port, plan.knobs.flows)?;
    dst_ip(plan.dst_ip)?;
    if let Some(mac) = &plan.dst_mac {
        dst_mac(mac)?;
    }
    plan.knobs.validate()?;
    let min = wire::min_probe_size(plan.stamp_room);
    if plan.size < min {
        let why = if plan.stamp_room {
            format!("with forwarder stamps (--stamp-room) a probe needs at least {min} bytes")
        } else {
            format!("a probe needs at least {min} bytes (the paper's minimum)")
        };
        return Err(Error::config("--size", plan.size, why));
    }
    let max = max_frame(&plan.knobs).min(wire::MAX_PROBE_SIZE);
    if plan.size > max {
        return Err(Error::config(
            "--size",
            plan.size,
            format!(
                "larger than a frame can hold ({max} bytes); raise --frame-size or lower --size"
            ),
        ));
    }
    at_most("--interval", plan.interval, MAX_WAIT)?;
    at_most("--linger", plan.linger, MAX_WAIT)?;
    if plan.count == 0 {
        return Err(Error::config("--count", 0, "must send at least one probe"));
    }
    if plan.sample_every == 0 {
        return Err(Error::config(
            "--sample-every",
            0,
            "must be 1 or more (1 keeps a row for every probe)",
        ));
    }
    if plan.window > MAX_WINDOW {
        return Err(Error::config(
            "--window",
            plan.window,
            format!("at most {MAX_WINDOW} probes in flight"),
        ));
    }
    let total = plan.count.checked_add(plan.warmup).ok_or_else(|| {
        Error::config(
            "--warmup",
            plan.warmup,
            "--count + --warmup overflows: lower them",
        )
    })?;
    let rows = total.div_ceil(plan.sample_every);
    if rows > MAX_ROWS {
        let every = total.div_ceil(MAX_ROWS);
        return Err(Error::config(
            "--count",
            plan.count,
            format!(
                "a raw row for each of {rows} probes would take {} MiB, above the {} MiB one run may hold: add --sample-every {every} or more (the RTT statistics still cover every probe), or lower --count",
                rows.saturating_mul(ROW_BYTES) >> 20,
                ROW_BUDGET >> 20
            ),
        ));
    }
    if let Some(avail) = memory_available() {
        let need = rows * ROW_BYTES;
        if need > avail / 2 {
            return Err(Error::config(
                "--count",
                plan.count,
                format!(
                    "its raw rows would take {} MiB, more than half of the {} MiB available: raise --sample-every or lower --count",
                    need >> 20,
                    avail >> 20
                ),
            ));
        }
    }
    Ok(())
}

/// Every value of a forwarder before anything is touched.
pub fn fwd(plan: &FwdPlan) -> Result<()> {
    port("--port", plan.port)?;
    flow_ports(plan.port, plan.knobs.flows)?;
    plan.knobs.validate()?;
    let udp = plan.knobs.backend == Backend::Udp;
    if plan.queues == 0 || (plan.queues > 1 && udp) {
        return Err(Error::config(
            "--queues",
            plan.queues,
            "at least 1, and more than 1 only with the afxdp backend",
        ));
    }
    if plan.queue.checked_add(plan.queues).is_none() {
        return Err(Error::config(
            "--queues",
            plan.queues,
            "--queue + --queues overflows",
        ));
    }
    if let Some(d) = plan.cfg.duration {
        if d.is_zero() {
            return Err(Error::config(
                "--duration",
                "0s",
                "must be above 0 (leave it out to run until Ctrl-C)",
            ));
        }
        at_most("--duration", d, MAX_DURATION)?;
    }
    at_most("--hold", plan.cfg.hold, MAX_HOLD)
}

/// `queue..queue + n` must be queues of the interface.
pub(crate) fn queues(
    iface: &host::iface::IfaceInfo,
    queue: u32,
    n: u32,
    param: &str,
) -> Result<()> {
    let have = iface.num_rx_queues.min(iface.num_tx_queues).max(1);
    if u64::from(queue) + u64::from(n) > u64::from(have) {
        let range = if have == 1 {
            "queue 0 only".to_string()
        } else {
            format!("queues 0 to {}", have - 1)
        };
        let fix = if n > 1 {
            "lower --queue or --queues (or add channels: ethtool -L)"
        } else {
            "choose one of those with --queue (or add channels: ethtool -L)"
        };
        return Err(Error::config(
            param,
            if n > 1 { n } else { queue },
            format!("{} has {range}: {fix}", iface.name),
        ));
    }
    Ok(())
}

/// What the ping's interface must offer (read in its namespace, before anything is changed):
/// an IPv4 address (returned: the probes' source), the queue, an MTU the probes fit, and a
/// forwarder address that is not the subnet's broadcast or the interface's own.
pub fn ping_iface(plan: &PingPlan, iface: &host::iface::IfaceInfo) -> Result<Ipv4Addr> {
    let (src, prefix) = iface.ipv4.ok_or_else(|| {
        Error::Input(format!(
            "--iface {} has no IPv4 address: give it one (ip addr add)",
            plan.iface
        ))
    })?;
    if plan.knobs.backend == Backend::Afxdp {
        queues(iface, plan.queue, 1, "--queue")?;
    }
    if prefix < 31 {
        let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
        let bcast = Ipv4Addr::from(u32::from(src) | !mask);
        if plan.dst_ip == bcast {
            return Err(Error::config(
                "--dst-ip",
                plan.dst_ip,
                format!(
                    "the broadcast address of {}'s subnet {src}/{prefix} reaches every host: give the forwarder's own address",
                    plan.iface
                ),
            ));
        }
    }
    if plan.dst_ip == src {
        return Err(Error::config(
            "--dst-ip",
            plan.dst_ip,
            format!(
                "is {}'s own address: give the forwarder's address",
                plan.iface
            ),
        ));
    }
    // an Ethernet frame (no FCS) holds the MTU plus its 14-byte header
    let frame_limit = iface.mtu as usize + 14;
    if iface.mtu > 0 && plan.size > frame_limit {
        return Err(Error::config(
            "--size",
            plan.size,
            format!(
                "{} has MTU {}: its frames hold at most {frame_limit} bytes; lower --size or raise the MTU",
                plan.iface, iface.mtu
            ),
        ));
    }
    Ok(src)
}

/// What the forwarder's interface must offer: its queues (and an address for the udp backend).
pub fn fwd_iface(plan: &FwdPlan, iface: &host::iface::IfaceInfo) -> Result<()> {
    if plan.knobs.backend == Backend::Afxdp {
        queues(
            iface,
            plan.queue,
            plan.queues,
            if plan.queues > 1 {
                "--queues"
            } else {
                "--queue"
            },
        )?;
    } else if iface.ipv4.is_none() {
        return Err(Error::Input(format!(
            "--iface {} has no IPv4 address for the udp backend: give it one (ip addr add)",
            plan.iface
        )));
    }
    Ok(())
}

/// The run directory of a ping (`--out`): writable, and not a finished run (results are never
/// overwritten).
pub fn out_dir(out: &Path) -> Result<()> {
    host::owner::check_out_dir("--out", out).map_err(Error::Input)?;
    if out.join(results::SUMMARY_FILE).exists() {
        return Err(Error::Input(format!(
            "--out {} already holds a finished run (summary.json): choose another directory",
            out.display()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_classes() {
        assert!(dst_ip(Ipv4Addr::new(10, 77, 1, 2)).is_ok());
        for bad in [
            Ipv4Addr::UNSPECIFIED,
            Ipv4Addr::BROADCAST,
            Ipv4Addr::new(224, 0, 0, 1),
            Ipv4Addr::new(239, 1, 2, 3),
            Ipv4Addr::new(250, 0, 0, 1),
        ] {
            let e = dst_ip(bad).unwrap_err().to_string();
            assert!(e.contains("--dst-ip"), "{e}");
        }
        assert!(dst_mac(&[2, 0, 0, 0, 0, 1]).is_ok());
        for bad in [[0xff; 6], [1, 0, 0x5e, 0, 0, 1], [0; 6]] {
            assert!(dst_mac(&bad).unwrap_err().to_string().contains("--dst-mac"));
        }
        assert!(
            port("--port", 0)
                .unwrap_err()
                .to_string()
                .contains("--port")
        );
    }

    #[test]
    fn durations_and_counts() {
        let ms = Duration::from_millis;
        assert!(
            count_for(Duration::ZERO, ms(1), 1)
                .unwrap_err()
                .to_string()
                .contains("--duration")
        );
        assert_eq!(count_for(ms(10), ms(1), 2).unwrap(), 20);
        assert!(count_for(MAX_DURATION * 2, ms(1), 1).is_err());
        assert!(count_for(MAX_DURATION, Duration::from_nanos(1), u32::MAX).is_err());
    }
}
