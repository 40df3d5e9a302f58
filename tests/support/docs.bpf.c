// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Doc comments on every kind of declaration, for tests/ecc_package.rs. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

/// packets above this size are counted
/// as large ones,
/// measured in bytes
/// @cmdarg {"default": 512, "short": "t", "long": "threshold",
///          "help": "large packet size"}
const volatile unsigned int threshold = 512;

/** counting mode
 * @value 2
 * @unit level
 */
const volatile int mode = 1;

/* a plain comment is no doc */
unsigned long long large;

/// packet sizes
/// @sample {"interval": 1000, "type": "log2_hist", "unit": "bytes"}
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 32);
	__type(key, __u32);
	__type(value, __u64);
} sizes SEC(".maps");

/**
 * @brief packet size statistics
 * @version 1.2
 * @author ecc team
 * @details counts packets by size
 *          on tc ingress and xdp
 */
char LICENSE[] SEC("license") = "Dual BSD/GPL";

static __always_inline void count(__u32 len)
{
	__u32 slot = len >> 6;
	__u64 *v;

	if (slot > 31)
		slot = 31;
	v = bpf_map_lookup_elem(&sizes, &slot);
	if (v)
		__sync_fetch_and_add(v, 1);
	if (len > threshold && mode)
		__sync_fetch_and_add(&large, 1);
}

/// counts packets on ingress
/// @tchook {"ifindex": 1, "attach_point": "BPF_TC_INGRESS"}
/// @tcopts {"handle": 1, "priority": 1}
SEC("tc")
int count_tc(struct __sk_buff *skb)
{
	count(skb->len);
	return 0; /* TC_ACT_OK */
}

/// @ifindex 1
/// @flags 0
/// @xdpopts {"old_prog_fd": 0}
SEC("xdp")
int count_xdp(struct xdp_md *ctx)
{
	count(ctx->data_end - ctx->data);
	return XDP_PASS;
}
