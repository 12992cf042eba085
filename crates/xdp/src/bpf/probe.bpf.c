// SPDX-License-Identifier: GPL-2.0
//
// xdplat's XDP program: probe packets (IPv4/UDP to `probe_port`) go to the
// AF_XDP socket bound to the receiving queue, stamped with the XDP-hook time in
// the metadata area in front of the packet; everything else (ARP, ICMP, SSH,
// ...) passes to the kernel untouched.
//
// Two programs share this logic: `xdplat_probe` (generic, skb or drv mode) and
// `xdplat_probe_hw` (device-bound, drv mode only), which also reads the NIC's
// RX hardware timestamp through the bpf_xdp_metadata_rx_timestamp kfunc. The
// second one does not load unless user space asks for it ("?xdp").

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
	XDPLAT_CNT_META_FAIL = 2,  // probes redirected without metadata
	XDPLAT_CNT_NO_SOCKET = 3,  // probes passed: no socket for their queue
	XDPLAT_CNT_MAX = 4,
};

// Set by user space before load.
const volatile __u16 probe_port = 0;

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

// Returns 1 for an unfragmented IPv4/UDP packet to probe_port.
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
	return udp->dest == bpf_htons(probe_port);
}

static __always_inline int handle(struct xdp_md *ctx, int dev_bound)
{
	__u64 now = bpf_ktime_get_ns();
	__u64 hw_ns = 0;
	__u32 flags = XDPLAT_META_F_XDP_NS;
	__u32 queue = ctx->rx_queue_index;
	struct xdplat_meta *meta;
	void *data;

	if (!is_probe(ctx)) {
		count(XDPLAT_CNT_PASSED);
		return XDP_PASS;
	}
	if (!bpf_map_lookup_elem(&xsks_map, &queue)) {
		count(XDPLAT_CNT_NO_SOCKET);
		return XDP_PASS;
	}
	if (dev_bound) {
		flags |= XDPLAT_META_F_DEV_BOUND;
		if (bpf_ksym_exists(bpf_xdp_metadata_rx_timestamp) &&
		    bpf_xdp_metadata_rx_timestamp(ctx, &hw_ns) == 0 && hw_ns != 0)
			flags |= XDPLAT_META_F_HW_RX;
		else
			hw_ns = 0;
	}
	if (bpf_xdp_adjust_meta(ctx, -(int)sizeof(struct xdplat_meta)) == 0) {
		data = (void *)(long)ctx->data;
		meta = (void *)(long)ctx->data_meta;
		if ((void *)(meta + 1) <= data) {
			meta->xdp_ns = now;
			meta->hw_rx_ns = hw_ns;
			meta->flags = flags;
			meta->magic = XDPLAT_META_MAGIC;
		} else {
			count(XDPLAT_CNT_META_FAIL);
		}
	} else {
		count(XDPLAT_CNT_META_FAIL);
	}
	count(XDPLAT_CNT_REDIRECTED);
	return bpf_redirect_map(&xsks_map, queue, XDP_PASS);
}

SEC("xdp")
int xdplat_probe(struct xdp_md *ctx)
{
	return handle(ctx, 0);
}

SEC("?xdp")
int xdplat_probe_hw(struct xdp_md *ctx)
{
	return handle(ctx, 1);
}

char LICENSE[] SEC("license") = "GPL";
