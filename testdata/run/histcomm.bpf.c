// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* `ecc run` test program: a sampled log2 histogram whose value also holds the command
 * name, which the printout must keep. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct hist {
	__u32 slots[8];
	char comm[16];
};

/// @sample {"interval": 500, "type": "log2_hist", "unit": "execs"}
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct hist);
} hists SEC(".maps");

static struct hist zero;

SEC("tp/sched/sched_process_exec")
int handle_exec(void *ctx)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	struct hist *h;

	bpf_map_update_elem(&hists, &pid, &zero, BPF_NOEXIST);
	h = bpf_map_lookup_elem(&hists, &pid);
	if (!h)
		return 0;
	bpf_get_current_comm(h->comm, sizeof(h->comm));
	__sync_fetch_and_add(&h->slots[2], 1);
	return 0;
}
