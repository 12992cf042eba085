// SPDX-License-Identifier: GPL-2.0
//
// xdplat's XDP program: probe packets (IPv4/UDP to `probe_port`) go to the
// AF_XDP socket bound to the receiving queue, stamped with the XDP-hook time;
// everything else (ARP, ICMP, SSH, ...) passes to the kernel untouched.
//
// Where the stamp goes depends on what the kernel and the driver allow:
// - metadata (bpf_xdp_adjust_meta): in front of the packet, read at `data - len`;
// - head (bpf_xdp_adjust_head): the same 24 bytes put in front of the frame
//   inside the packet data, in the headroom metadata would use, and cut off
//   by user space before the frame is parsed or sent back. Some kernels refuse
//   adjust_meta to XDP programs at load, and drivers without metadata support
//   (ENA) fail it per packet; adjust_head is older and more widely given. (A
//   trailer, bpf_xdp_adjust_tail, was tried first: on veth in drv mode a
//   frame from the kernel stack often has fewer than 24 bytes of tailroom.)
// - none: the probe is redirected unstamped.
// One source, one program per (stamp, device-bound) pair; every program is
// "?xdp", so only the one user space picks is loaded and verified, and a
// kernel that refuses one helper still loads the programs that do not call it.
//
// `xdplat_probe` tries metadata and falls back to the head per packet (the
// driver's refusal at run time); `*_head` never calls adjust_meta;
// `xdplat_probe_bare` stamps nothing. The `_hw` programs are device-bound (drv
// mode only) and also read the NIC's RX hardware timestamp through the
// bpf_xdp_metadata_rx_timestamp kfunc.

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#ifndef bpf_ksym_exists // libbpf headers before 1.2
#define bpf_ksym_exists(sym) (!!(sym))
#endif

// Keep in sync with crates/xdp/src/meta.rs (XdpMeta, META_MAGIC, flag bits).
struct xdplat_meta {
	__u64 xdp_ns;    // bpf_ktime_get_ns() at the hook (CLOCK_MONOTONIC)
	__u64 hw_rx_ns;  // NIC RX timestamp (NIC clock), 0 when absent
	__u32 flags;     // XDPLAT_META_F_*
	__u32 magic;     // XDPLAT_META_MAGIC
};

#define XDPLAT_META_MAGIC 0x584c4154u /* "XLAT" */
#define XDPLAT_META_F_XDP_NS (1u << 0)
#define XDPLAT_META_F_HW_RX (1u << 1)
#define XDPLAT_META_F_DEV_BOUND (1u << 2)

// Keep in sync with crates/xdp/src/counters.rs.
enum xdplat_counter {
	XDPLAT_CNT_REDIRECTED = 0, // probes handed to bpf_redirect_map
	XDPLAT_CNT_PASSED = 1,     // non-probe packets passed to the kernel
	XDPLAT_CNT_META_FAIL = 2,  // bpf_xdp_adjust_meta failed on a probe (the driver)
	XDPLAT_CNT_NO_SOCKET = 3,  // probes passed: no socket for their queue
	XDPLAT_CNT_HEAD = 4,       // probes stamped in front of the frame
	XDPLAT_CNT_UNSTAMPED = 5,  // probes redirected with no stamp at all
	XDPLAT_CNT_MAX = 6,
};

// Where a program puts its stamp (a compile-time constant per program).
enum xdplat_stamp {
	STAMP_META = 0, // metadata, else the head of the frame
	STAMP_HEAD = 1, // the head of the frame only
	STAMP_NONE = 2,    // no stamp
};



// Set by user space before load: probes go to ports probe_port .. probe_port + probe_ports - 1
// (a sender spreading probes over several flows, for RSS, uses one port per flow).
const volatile __u16 probe_port = 0;
const volatile __u16 probe_ports = 1;

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u32);
} xsks_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XDPLAT_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

extern int bpf_xdp_metadata_rx_timestamp(const struct xdp_md *ctx,
					 __u64 *timestamp) __ksym __weak;

static __always_inline void count(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &idx);

	if (v)
		*v += 1;
}

// Returns 1 for an unfragmented IPv4/UDP packet to one of the probe ports.
static __always_inline int is_probe(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip;
	struct udphdr *udp;
	__u32 ihl;

	if ((void *)(eth + 1) > data_end)
		return 0;
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return 0;
	ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > data_end)
		return 0;
	if (ip->version != 4 || ip->ihl < 5)
		return 0;
	if (ip->protocol != IPPROTO_UDP)
		return 0;
	if (ip->frag_off & bpf_htons(0x3fff)) // MF flag or a fragment offset
		return 0;
	ihl = ip->ihl * 4;
	udp = (void *)ip + ihl;
	if ((void *)(udp + 1) > data_end)
		return 0;
	return (__u16)(bpf_ntohs(udp->dest) - probe_port) < probe_ports;
}

// Puts the stamp in front of the frame, inside the packet data
// (bpf_xdp_adjust_head): the headroom metadata would use, reached by a helper
// more kernels and drivers give. Returns 0 when written.
static __always_inline int write_head(struct xdp_md *ctx, const struct xdplat_meta *m)
{
	struct xdplat_meta *h;
	void *data_end;

	if (bpf_xdp_adjust_head(ctx, -(int)sizeof(*m)))
		return -1;
	h = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if ((void *)(h + 1) > data_end) {
		bpf_xdp_adjust_head(ctx, (int)sizeof(*m));
		return -1;
	}
	__builtin_memcpy(h, m, sizeof(*m));
	return 0;
}

// Puts the stamp in front of the packet (bpf_xdp_adjust_meta). Returns 0 when written.
static __always_inline int write_meta(struct xdp_md *ctx, const struct xdplat_meta *m)
{
	struct xdplat_meta *meta;
	void *data;

	if (bpf_xdp_adjust_meta(ctx, -(int)sizeof(*m)))
		return -1;
	data = (void *)(long)ctx->data;
	meta = (void *)(long)ctx->data_meta;
	if ((void *)(meta + 1) > data) {
		bpf_xdp_adjust_meta(ctx, (int)sizeof(*m));
		return -1;
	}
	__builtin_memcpy(meta, m, sizeof(*m));
	return 0;
}

static __always_inline int handle(struct xdp_md *ctx, int dev_bound, enum xdplat_stamp stamp)
{
	__u64 now = bpf_ktime_get_ns();
	__u32 queue = ctx->rx_queue_index;
	struct xdplat_meta m = {
		.xdp_ns = now,
		.flags = XDPLAT_META_F_XDP_NS,
		.magic = XDPLAT_META_MAGIC,
	};
	__u64 hw_ns = 0;

	if (!is_probe(ctx)) {
		count(XDPLAT_CNT_PASSED);
		return XDP_PASS;
	}
	if (!bpf_map_lookup_elem(&xsks_map, &queue)) {
		count(XDPLAT_CNT_NO_SOCKET);
		return XDP_PASS;
	}
	if (dev_bound) {
		m.flags |= XDPLAT_META_F_DEV_BOUND;
		if (bpf_ksym_exists(bpf_xdp_metadata_rx_timestamp) &&
		    bpf_xdp_metadata_rx_timestamp(ctx, &hw_ns) == 0 && hw_ns != 0) {
			m.flags |= XDPLAT_META_F_HW_RX;
			m.hw_rx_ns = hw_ns;
		}
	}
	if (stamp == STAMP_NONE) {
		count(XDPLAT_CNT_UNSTAMPED);
	} else if (stamp == STAMP_META && write_meta(ctx, &m) == 0) {
		// the common case: nothing more to do
	} else {
		if (stamp == STAMP_META)
			count(XDPLAT_CNT_META_FAIL);
		if (write_head(ctx, &m) == 0)
			count(XDPLAT_CNT_HEAD);
		else
			count(XDPLAT_CNT_UNSTAMPED);
	}
	count(XDPLAT_CNT_REDIRECTED);
	return bpf_redirect_map(&xsks_map, queue, XDP_PASS);
}

// Keep the names in sync with crates/xdp/src/variant.rs.
SEC("?xdp")
int xdplat_probe(struct xdp_md *ctx)
{
	return handle(ctx, 0, STAMP_META);
}

SEC("?xdp")
int xdplat_probe_head(struct xdp_md *ctx)
{
	return handle(ctx, 0, STAMP_HEAD);
}

SEC("?xdp")
int xdplat_probe_bare(struct xdp_md *ctx)
{
	return handle(ctx, 0, STAMP_NONE);
}

SEC("?xdp")
int xdplat_probe_hw(struct xdp_md *ctx)
{
	return handle(ctx, 1, STAMP_META);
}

SEC("?xdp")
int xdplat_probe_hw_head(struct xdp_md *ctx)
{
	return handle(ctx, 1, STAMP_HEAD);
}

char LICENSE[] SEC("license") = "GPL";
