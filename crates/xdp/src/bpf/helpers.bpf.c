// SPDX-License-Identifier: GPL-2.0
//
// One tiny XDP program per BPF helper that xdplat's XDP programs call. Each is
// "?xdp": user space loads them one at a time (crates/xdp/src/caps.rs), and
// the verifier's answer tells whether this kernel gives the helper to XDP
// programs. A kernel can refuse a helper at load ("program of this type cannot
// use helper bpf_xdp_adjust_meta#54") although its version has it.
// Keep the names in sync with HELPERS in crates/xdp/src/caps.rs.

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} probe_xsks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} probe_array SEC(".maps");

SEC("?xdp")
int has_ktime_get_ns(struct xdp_md *ctx)
{
	return bpf_ktime_get_ns() ? XDP_PASS : XDP_DROP;
}

SEC("?xdp")
int has_map_lookup_elem(struct xdp_md *ctx)
{
	__u32 k = 0;

	return bpf_map_lookup_elem(&probe_array, &k) ? XDP_PASS : XDP_DROP;
}

SEC("?xdp")
int has_redirect_map(struct xdp_md *ctx)
{
	return bpf_redirect_map(&probe_xsks, 0, XDP_PASS);
}

SEC("?xdp")
int has_xdp_adjust_meta(struct xdp_md *ctx)
{
	return bpf_xdp_adjust_meta(ctx, -8) ? XDP_DROP : XDP_PASS;
}

SEC("?xdp")
int has_xdp_adjust_head(struct xdp_md *ctx)
{
	return bpf_xdp_adjust_head(ctx, -8) ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
