// SPDX-License-Identifier: GPL-2.0
//
// The in-kernel baseline of the forwarder benchmark: an XDP_TX reflector that
// sends every probe (IPv4/UDP to `probe_port`) back out of the port it came in
// on, swapping MAC and IPv4 addresses (what the AF_XDP forwarder does by
// default; UDP ports are equal in probe traffic, and swapping addresses keeps
// the IPv4 checksum valid). Everything else passes to the kernel. This is the
// best a forwarder could do on this port: no copy to user space at all.
//
// On veth, XDP_TX frames reach the peer only when the peer has an XDP program
// of its own (the ping's probe program is one).

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

const volatile __u16 probe_port = 0;

// Index 0: probes reflected (XDP_TX), 1: packets passed.
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} reflect_counters SEC(".maps");

static __always_inline void count(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&reflect_counters, &idx);

	if (v)
		*v += 1;
}

SEC("xdp")
int xdplat_reflect(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip;
	struct udphdr *udp;
	unsigned char mac[ETH_ALEN];
	__be32 addr;

	if ((void *)(eth + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		goto pass;
	ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > data_end || ip->ihl != 5 || ip->protocol != IPPROTO_UDP)
		goto pass;
	udp = (void *)(ip + 1);
	if ((void *)(udp + 1) > data_end || udp->dest != bpf_htons(probe_port))
		goto pass;
	__builtin_memcpy(mac, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, mac, ETH_ALEN);
	addr = ip->saddr;
	ip->saddr = ip->daddr;
	ip->daddr = addr;
	count(0);
	return XDP_TX;
pass:
	count(1);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
