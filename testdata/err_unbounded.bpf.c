// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Compiles cleanly, but the verifier MUST reject it: the map value is
 * indexed with a value that has no upper bound. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct counters {
	unsigned long long slots[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct counters);
} counts SEC(".maps");

SEC("tp/sched/sched_process_exec")
int handle_exec(void *ctx)
{
	__u32 zero = 0;
	__u32 idx = bpf_get_current_pid_tgid() >> 32;	/* any value up to 2^32-1 */
	struct counters *c;

	c = bpf_map_lookup_elem(&counts, &zero);
	if (!c)
		return 0;
	/* BUG (on purpose): no `if (idx >= 16)` check */
	c->slots[idx] += 1;
	return 0;
}
