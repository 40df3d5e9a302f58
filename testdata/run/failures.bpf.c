// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* `ecc run` test program that the kernel refuses, for the load-failure classes: built
 * with -DBAD_HELPER it calls a helper no kernel has; with -DBAD_MAP its ring buffer size
 * is not a power-of-two number of pages. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

#ifdef BAD_MAP
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4097);
} badrb SEC(".maps");
#endif

SEC("tp/sched/sched_process_exec")
int handle_exec(void *ctx)
{
#ifdef BAD_HELPER
	long (*no_such_helper)(void) = (void *)9999;
	return no_such_helper();
#endif
#ifdef BAD_MAP
	bpf_ringbuf_output(&badrb, &ctx, sizeof(ctx), 0);
#endif
	return 0;
}
