// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* `ecc run` test program that the kernel refuses, for the load-failure classes: built
 * with -DBAD_HELPER it calls a helper no kernel has; with -DBAD_MAP it declares a map of
 * a type no kernel has yet (as a program written for a newer kernel would). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

#ifdef BAD_MAP
struct {
	__uint(type, 250);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} newmap SEC(".maps");
#endif

SEC("tp/sched/sched_process_exec")
int handle_exec(void *ctx)
{
#ifdef BAD_HELPER
	long (*no_such_helper)(void) = (void *)9999;
	return no_such_helper();
#endif
#ifdef BAD_MAP
	__u32 k = 0;

	bpf_map_lookup_elem(&newmap, &k);
#endif
	return 0;
}
